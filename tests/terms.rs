//! Versioned terms (CGU-1..3): the gate before any use, acceptance as journaled proof, major
//! and minor versions, refusal, the conditions of a feature, the back office and the public
//! pages of every version.

use atomes::accounts::{Role, User};
use atomes::db;
use atomes::journal;
use atomes::terms::{self, DraftInput, LegalDoc, TermsError};
use axum::http::StatusCode;
use chrono::Duration;
use diesel::prelude::*;

use crate::support::TestApp;

const PASSWORD: &str = "une phrase de passe solide";

fn last_entry(app: &TestApp) -> journal::JournalEntry {
    let mut conn = app.conn();
    let n = journal::count(&mut conn).unwrap();
    journal::list_all(&mut conn).unwrap().into_iter().find(|e| e.id == n).unwrap()
}

fn journal_count(app: &TestApp) -> i64 {
    journal::count(&mut app.conn()).unwrap()
}

/// Publishes a new version of `doc` as the platform; returns its id.
fn publish(app: &TestApp, doc: &LegalDoc, title: &str, summary: &str, major: bool) -> i64 {
    let ctx = app.state.system_context();
    let input =
        DraftInput { title: title.into(), summary: summary.into(), body: format!("## {title}\n\nTexte."), major };
    db::write_tx(&mut app.conn(), |c| {
        let draft = terms::create_draft(c, &ctx, doc, &input)?;
        terms::publish(c, &ctx, draft.id, None)
    })
    .unwrap()
    .id
}

fn terms_id(app: &TestApp) -> i64 {
    terms::find_current(&mut app.conn(), &LegalDoc::Terms).unwrap().unwrap().id
}

/// A professional who has not accepted the terms yet, logged in.
async fn pending_professional(app: &TestApp, email: &str) -> (User, String) {
    let user = app.create_user_pending_terms(email, PASSWORD, Role::Professional, false);
    let cookie = app.login(email, PASSWORD).await;
    (user, cookie)
}

#[tokio::test]
async fn a_new_account_accepts_the_terms_before_any_use_and_the_acceptance_is_proof() {
    let app = TestApp::new();
    let (user, cookie) = pending_professional(&app, "helene@example.org").await;

    // Every page of the service leads to the terms, keeping where the person was going.
    let r = app.get_with("/annuaire?q=ssiad&age=58", &cookie).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.header("location"), "/conditions?suite=%2Fannuaire%3Fq%3Dssiad%26age%3D58");
    assert_eq!(app.get_with("/", &cookie).await.header("location"), "/conditions");
    // The API answers 403 in JSON.
    let r = app.get_with("/api/directory/search?q=ssiad", &cookie).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let json = r.json();
    assert_eq!(json["error"]["code"], "forbidden");
    assert!(json["error"]["message"].as_str().unwrap().contains("/conditions"), "{json}");
    // A form posted elsewhere is not carried out.
    let r = app.post_form("/compte/mot-de-passe", &[("csrf", "x")], &cookie).await;
    assert_eq!((r.status, r.header("location")), (StatusCode::SEE_OTHER, "/conditions"));
    // What stays open: the documents, accessibility, contact.
    for path in ["/cgu", "/donnees-personnelles", "/mentions-legales", "/accessibilite", "/contact"] {
        let r = app.get_with(path, &cookie).await;
        assert_eq!(r.status, StatusCode::OK, "{path}");
        assert_eq!(r.texts(".account-links .who"), vec!["Camille Durand"], "still logged in on {path}");
    }

    // The acceptance page.
    let page = app.get_with("/conditions?suite=%2Fannuaire%3Fq%3Dssiad", &cookie).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.texts("h1"), vec!["Acceptation des conditions d'utilisation"]);
    assert!(page.texts("h2").iter().any(|t| t.starts_with("Conditions générales d’utilisation, version 1")));
    assert_eq!(page.texts(".decision button"), vec!["J'accepte", "Je refuse"]);
    assert_eq!(page.count(".terms-notice"), 0);
    let csrf = page.csrf_field();
    let id = terms_id(&app).to_string();

    // Without the session's token: refused, nothing recorded.
    let before = journal_count(&app);
    let r = app.post_form("/conditions/accepter", &[("csrf", "0000"), ("document", &id)], &cookie).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(journal_count(&app), before);
    assert!(terms::list_acceptances(&mut app.conn(), user.id).unwrap().is_empty());

    // Accepting: back to where the person was going; who, which version, when, how, from where.
    let fields = [("csrf", csrf.as_str()), ("document", id.as_str()), ("suite", "/annuaire?q=ssiad")];
    let r = app.post_form("/conditions/accepter", &fields, &cookie).await;
    assert_eq!((r.status, r.header("location")), (StatusCode::SEE_OTHER, "/annuaire?q=ssiad"));
    let acceptances = terms::list_acceptances(&mut app.conn(), user.id).unwrap();
    assert_eq!(acceptances.len(), 1);
    let (a, v) = &acceptances[0];
    assert_eq!((v.kind.as_str(), v.version, a.user_id), ("terms", 1, user.id));
    assert_eq!((a.source.as_str(), a.source_ip.as_deref()), ("web", Some("127.0.0.1")));
    assert_eq!(a.accepted_at, crate::support::epoch().naive_utc());
    let e = last_entry(&app);
    assert_eq!(
        (e.action.as_str(), e.object_type.as_str(), e.object_id.clone(), e.actor_id),
        ("creation", "legal_acceptance", Some(a.id.to_string()), Some(user.id))
    );
    assert_eq!(e.source_ip.as_deref(), Some("127.0.0.1"));
    // Twice is once.
    let count = journal_count(&app);
    let r = app.post_form("/conditions/accepter", &fields, &cookie).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(journal_count(&app), count);
    assert_eq!(terms::list_acceptances(&mut app.conn(), user.id).unwrap().len(), 1);

    // The service is open; the acceptance page sends on.
    assert_eq!(app.get_with("/annuaire", &cookie).await.status, StatusCode::OK);
    assert_eq!(app.get_with("/", &cookie).await.status, StatusCode::OK);
    let r = app.get_with("/conditions?suite=/annuaire", &cookie).await;
    assert_eq!((r.status, r.header("location")), (StatusCode::SEE_OTHER, "/annuaire"));
}

#[tokio::test]
async fn only_a_local_path_is_followed_after_accepting() {
    let app = TestApp::new();
    let (_, cookie) = pending_professional(&app, "helene@example.org").await;
    let csrf = app.get_with("/conditions", &cookie).await.csrf_field();
    let id = terms_id(&app).to_string();
    let fields = [("csrf", csrf.as_str()), ("document", id.as_str()), ("suite", "//evil.example/x")];
    let r = app.post_form("/conditions/accepter", &fields, &cookie).await;
    assert_eq!((r.status, r.header("location")), (StatusCode::SEE_OTHER, "/"));
    // A draft, or another document, cannot be accepted as the terms.
    let privacy = terms::find_current(&mut app.conn(), &LegalDoc::Privacy).unwrap().unwrap().id.to_string();
    let r = app.post_form("/conditions/accepter", &[("csrf", &csrf), ("document", &privacy)], &cookie).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_gated_account_can_still_log_out() {
    let app = TestApp::new();
    let (user, cookie) = pending_professional(&app, "helene@example.org").await;
    let csrf = app.get_with("/cgu", &cookie).await.csrf_field();
    let r = app.post_form("/deconnexion", &[("csrf", &csrf)], &cookie).await;
    assert_eq!((r.status, r.header("location")), (StatusCode::SEE_OTHER, "/"));
    assert_eq!((last_entry(&app).action.as_str(), last_entry(&app).actor_id), ("logout", Some(user.id)));
}

#[tokio::test]
async fn refusing_ends_the_session_and_is_journaled() {
    let app = TestApp::new();
    let (user, cookie) = pending_professional(&app, "helene@example.org").await;
    let csrf = app.get_with("/conditions", &cookie).await.csrf_field();
    // Without the token: nothing happens.
    let before = journal_count(&app);
    assert_eq!(app.post_form("/conditions/refuser", &[("csrf", "00")], &cookie).await.status, StatusCode::FORBIDDEN);
    assert_eq!(journal_count(&app), before);

    let r = app.post_form("/conditions/refuser", &[("csrf", &csrf)], &cookie).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.header("set-cookie").contains("Max-Age=0"));
    assert_eq!(r.texts("h1"), vec!["Conditions d'utilisation non acceptées"]);
    assert!(r.count("main a[href='/cgu']") == 1 && r.count("main a[href='/contact']") >= 1);
    assert_eq!(r.texts(".account-links a"), vec!["Se connecter", "Créer un compte"], "shown as logged out");
    let e = last_entry(&app);
    assert_eq!(
        (e.action.as_str(), e.object_type.as_str(), e.object_id.clone(), e.actor_id),
        ("logout", "legal_document", Some(terms_id(&app).to_string()), Some(user.id))
    );
    // The old cookie is worth nothing, and nothing was accepted.
    let r = app.get_with("/conditions", &cookie).await;
    assert_eq!((r.status, r.header("location")), (StatusCode::SEE_OTHER, "/connexion"));
    assert!(terms::list_acceptances(&mut app.conn(), user.id).unwrap().is_empty());
    // Logging in again: the terms are asked again.
    let cookie = app.login("helene@example.org", PASSWORD).await;
    assert_eq!(app.get_with("/annuaire", &cookie).await.header("location"), "/conditions?suite=%2Fannuaire");
}

#[tokio::test]
async fn a_major_version_gates_again_and_a_minor_one_is_only_announced() {
    let app = TestApp::new();
    let user = app.create_user("helene@example.org", PASSWORD, Role::Professional, false);
    let cookie = app.login("helene@example.org", PASSWORD).await;
    assert_eq!(app.get_with("/annuaire", &cookie).await.status, StatusCode::OK);

    // Major: the next request is gated, and the changes are summarised.
    let v2 = publish(
        &app,
        &LegalDoc::Terms,
        "Conditions générales d'utilisation",
        "Nouvel article sur la messagerie.",
        true,
    );
    assert_eq!(app.get_with("/annuaire", &cookie).await.header("location"), "/conditions?suite=%2Fannuaire");
    let page = app.get_with("/conditions?suite=%2Fannuaire", &cookie).await;
    assert!(page.texts("p.lead")[0].contains("ont changé le 15 janvier 2027"), "{:?}", page.texts("p.lead"));
    let changes = page.texts("#changements + ul li");
    assert_eq!(
        changes,
        vec!["Version 2 du 15 janvier 2027 (modification majeure) : Nouvel article sur la messagerie."]
    );
    let (csrf, id) = (page.csrf_field(), v2.to_string());
    let r = app
        .post_form("/conditions/accepter", &[("csrf", &csrf), ("document", &id), ("suite", "/annuaire")], &cookie)
        .await;
    assert_eq!(r.header("location"), "/annuaire");
    assert_eq!(app.get_with("/annuaire", &cookie).await.count(".terms-notice"), 0);

    // Minor: a banner on every page, no gate, acceptance optional.
    app.clock.advance(Duration::days(31));
    let cookie = app.login("helene@example.org", PASSWORD).await;
    let v3 = publish(&app, &LegalDoc::Terms, "Conditions générales d'utilisation", "Coquilles corrigées.", false);
    let r = app.get_with("/annuaire", &cookie).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        r.texts(".terms-notice"),
        vec![
            "Les conditions d'utilisation ont été mises à jour le 15 février 2027 (modification mineure). Consulter \
             les changements."
        ]
    );
    assert_eq!(r.count(".terms-notice a[href='/conditions']"), 1);
    assert_eq!(r.count("main h1"), 1);
    let page = app.get_with("/conditions", &cookie).await;
    assert_eq!(page.texts("h1"), vec!["Mise à jour des conditions d'utilisation"]);
    assert_eq!(page.texts(".decision button"), vec!["J'accepte"], "no refusal of a minor version");
    assert_eq!(page.texts(".decision a"), vec!["Plus tard"]);
    assert_eq!(page.count(".terms-notice"), 0);
    let csrf = page.csrf_field();
    let fields = [("csrf", csrf.as_str()), ("document", &v3.to_string()), ("suite", "/")];
    assert_eq!(app.post_form("/conditions/accepter", &fields, &cookie).await.status, StatusCode::SEE_OTHER);
    assert_eq!(app.get_with("/annuaire", &cookie).await.count(".terms-notice"), 0);
    let versions: Vec<i32> =
        terms::list_acceptances(&mut app.conn(), user.id).unwrap().iter().map(|(_, v)| v.version).collect();
    assert_eq!(versions, vec![3, 2, 1]);
}

#[tokio::test]
async fn an_account_new_after_a_minor_version_accepts_the_newest() {
    let app = TestApp::new();
    app.ensure_terms();
    let v2 = publish(&app, &LegalDoc::Terms, "CGU", "Précisions.", false);
    let (user, cookie) = pending_professional(&app, "helene@example.org").await;
    let page = app.get_with("/conditions", &cookie).await;
    assert_eq!(page.texts("h1"), vec!["Acceptation des conditions d'utilisation"]);
    assert_eq!(page.count("#changements"), 0, "nothing changed for a newcomer");
    let fields = [("csrf", page.csrf_field()), ("document", v2.to_string())];
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    app.post_form("/conditions/accepter", &fields, &cookie).await;
    assert_eq!(app.get_with("/annuaire", &cookie).await.count(".terms-notice"), 0);
    assert_eq!(terms::pending_terms(&mut app.conn(), user.id).unwrap(), terms::Gate::Clear);
}

#[tokio::test]
async fn administrators_are_not_gated() {
    let app = TestApp::new();
    let admin = app.create_user("camille@example.org", PASSWORD, Role::Administrator, false);
    let cookie = app.login("camille@example.org", PASSWORD).await;
    for path in ["/admin", "/annuaire", "/"] {
        assert_eq!(app.get_with(path, &cookie).await.status, StatusCode::OK, "{path}");
    }
    assert!(terms::list_acceptances(&mut app.conn(), admin.id).unwrap().is_empty());
}

#[tokio::test]
async fn the_conditions_of_a_feature_are_accepted_once_per_version() {
    let app = TestApp::new();
    assert_eq!(app.get("/applications").await.header("location"), "/connexion");
    let user = app.create_user("helene@example.org", PASSWORD, Role::Professional, false);
    let cookie = app.login("helene@example.org", PASSWORD).await;
    // No conditions published for the feature: open.
    let r = app.get_with("/applications", &cookie).await;
    assert_eq!((r.status, r.texts("h1")), (StatusCode::OK, vec!["Applications".to_owned()]));

    let feature = LegalDoc::feature("applications").unwrap();
    let v1 = publish(&app, &feature, "Conditions des services tiers", "", true);
    let r = app.get_with("/applications", &cookie).await;
    assert_eq!(r.header("location"), "/conditions/fonction/applications?suite=%2Fapplications");
    let page = app.get_with("/conditions/fonction/applications?suite=%2Fapplications", &cookie).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.texts("h1"), vec!["Conditions des services tiers"]);
    assert!(page.texts("p.lead")[0].contains("première utilisation"));
    assert_eq!(page.texts(".decision button"), vec!["J'accepte"]);
    assert_eq!(page.texts(".decision a[href='/']"), vec!["Je refuse"], "refusing is going home, logged in");
    // The rest of the portal is not gated by a feature's conditions.
    assert_eq!(app.get_with("/annuaire", &cookie).await.status, StatusCode::OK);

    let csrf = page.csrf_field();
    let fields = [("csrf", csrf.as_str()), ("document", &v1.to_string()), ("suite", "/applications")];
    // Not with another feature's key.
    let r = app.post_form("/conditions/fonction/autre/accepter", &fields, &cookie).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = app.post_form("/conditions/fonction/applications/accepter", &fields, &cookie).await;
    assert_eq!((r.status, r.header("location")), (StatusCode::SEE_OTHER, "/applications"));
    let e = last_entry(&app);
    assert_eq!(
        (e.action.as_str(), e.object_type.as_str(), e.actor_id),
        ("creation", "legal_acceptance", Some(user.id))
    );
    assert_eq!(app.get_with("/applications", &cookie).await.status, StatusCode::OK);
    let r = app.get_with("/conditions/fonction/applications?suite=%2Fapplications", &cookie).await;
    assert_eq!(r.header("location"), "/applications", "nothing left to accept");

    // A new version, whatever its nature, is accepted again.
    publish(&app, &feature, "Conditions des services tiers", "Un nouvel éditeur.", false);
    let r = app.get_with("/applications", &cookie).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let page = app.get_with("/conditions/fonction/applications", &cookie).await;
    assert!(page.texts("p.lead")[0].contains("ont changé"));
    assert_eq!(page.texts("p.notice"), vec!["Ce qui change : Un nouvel éditeur."]);
}

#[tokio::test]
async fn administrators_write_preview_and_publish_a_version() {
    let app = TestApp::new();
    let admin = app.create_user("camille@example.org", PASSWORD, Role::Administrator, false);
    let pro = app.create_user("helene@example.org", PASSWORD, Role::Professional, false);
    let cookie = app.login("camille@example.org", PASSWORD).await;
    assert_eq!(app.get_with("/admin", &cookie).await.count("a[href='/admin/documents']"), 1);

    let list = app.get_with("/admin/documents", &cookie).await;
    assert_eq!(list.status, StatusCode::OK);
    assert_eq!(list.count("h1"), 1);
    let h2 = list.texts("h2");
    for label in ["Conditions générales d'utilisation", "Données personnelles", "Mentions légales"] {
        assert!(h2.iter().any(|t| t == label), "{label} in {h2:?}");
    }
    let first_row = list.texts("table tbody tr");
    assert_eq!(
        first_row[0],
        "Version 1 En vigueur depuis le 15 janvier 2027 majeure 1 ; 100 % des comptes actifs (1 sur 1)"
    );

    // A new draft starts from the text in force; the nature must be chosen.
    let form = app.get_with("/admin/documents/nouveau?document=terms", &cookie).await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.texts("textarea#body")[0].contains("## 1. Objet des présentes Conditions Générales"));
    assert_eq!(form.count("input[name=nature][checked]"), 0);
    let csrf = form.csrf_field();
    let body = "## Article 1\n\nTexte <script>alert(1)</script> et [lien](javascript:alert(1)).";
    let mut fields = vec![
        ("csrf", csrf.as_str()),
        ("document", "terms"),
        ("title", "Conditions générales d'utilisation"),
        ("summary", "Article 1 réécrit."),
        ("body", body),
    ];
    let before = journal_count(&app);
    let r = app.post_form("/admin/documents/nouveau", &fields, &cookie).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.texts("[role=alert]")[0].contains("majeure ou mineure"));
    fields.push(("nature", "majeure"));
    let mut no_token = fields.clone();
    no_token[0] = ("csrf", "");
    assert_eq!(app.post_form("/admin/documents/nouveau", &no_token, &cookie).await.status, StatusCode::FORBIDDEN);
    assert_eq!(journal_count(&app), before, "nothing written by refused forms");
    assert!(terms::find_draft(&mut app.conn(), &LegalDoc::Terms).unwrap().is_none());

    let r = app.post_form("/admin/documents/nouveau", &fields, &cookie).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let draft = terms::find_draft(&mut app.conn(), &LegalDoc::Terms).unwrap().unwrap();
    assert_eq!((draft.version, draft.major), (2, true));
    assert_eq!(r.header("location"), format!("/admin/documents/{}?enregistre=1", draft.id));
    let e = last_entry(&app);
    assert_eq!(
        (e.action.as_str(), e.object_type.as_str(), e.object_id.clone(), e.actor_id),
        ("creation", "legal_document", Some(draft.id.to_string()), Some(admin.id))
    );
    // The preview is safe.
    let page = app.get_with(r.header("location"), &cookie).await;
    assert_eq!(
        page.texts("[role=status]"),
        vec!["Brouillon enregistré. Relisez l'aperçu ci-dessous avant de publier."]
    );
    let preview = page.texts("#apercu .prose").join(" ");
    assert!(preview.contains("<script>alert(1)</script>"), "shown as text: {preview}");
    assert_eq!(page.count("#apercu script") + page.count("#apercu a[href^='javascript']"), 0);
    // A second "new version" goes to the draft.
    let r = app.get_with("/admin/documents/nouveau?document=terms", &cookie).await;
    assert_eq!(r.header("location"), format!("/admin/documents/{}", draft.id));

    // Edited; still invisible to the public and to professionals.
    fields[2] = ("title", "Conditions générales d'utilisation du portail");
    let path = format!("/admin/documents/{}", draft.id);
    let r = app.post_form(&path, &fields, &cookie).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(last_entry(&app).action, "modification");
    assert_eq!(app.get("/cgu").await.texts(".version-line"), vec!["Version 1, en vigueur depuis le 15 janvier 2027."]);
    assert_eq!(app.get("/cgu/versions/2").await.status, StatusCode::NOT_FOUND);

    // Publication: a confirmation, then a POST with the token.
    let confirm = app.get_with(&format!("{path}/publier"), &cookie).await;
    assert_eq!(confirm.status, StatusCode::OK);
    assert!(confirm.texts("li")[..].iter().any(|t| t.starts_with("Modification majeure")));
    let before = journal_count(&app);
    let r = app.post_form(&format!("{path}/publier"), &[("csrf", "nope")], &cookie).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(journal_count(&app), before);
    assert!(terms::find(&mut app.conn(), draft.id).unwrap().unwrap().published_at.is_none());
    let r = app.post_form(&format!("{path}/publier"), &[("csrf", &csrf)], &cookie).await;
    assert_eq!(
        (r.status, r.header("location")),
        (StatusCode::SEE_OTHER, format!("/admin/documents?publiee={}", draft.id).as_str())
    );
    let e = last_entry(&app);
    assert_eq!(
        (e.action.as_str(), e.object_id.clone(), e.actor_id),
        ("modification", Some(draft.id.to_string()), Some(admin.id))
    );
    let published = terms::find(&mut app.conn(), draft.id).unwrap().unwrap();
    assert_eq!(published.published_by, Some(admin.id));
    let list = app.get_with(r.header("location"), &cookie).await;
    assert_eq!(
        list.texts("[role=status]"),
        vec!["La version 2 du document « Conditions générales d'utilisation » est publiée."]
    );
    // The public page shows it at once on this node; the professional is asked to accept it.
    let public = app.get("/cgu").await;
    assert_eq!(public.texts("h1"), vec!["Conditions générales d'utilisation du portail"]);
    assert_eq!(public.texts(".version-line"), vec!["Version 2, en vigueur depuis le 15 janvier 2027."]);
    assert_eq!(public.count(".versions a[href='/cgu/versions/1']"), 1);
    let pro_cookie = app.login("helene@example.org", PASSWORD).await;
    assert_eq!(app.get_with("/annuaire", &pro_cookie).await.header("location"), "/conditions?suite=%2Fannuaire");
    assert_eq!(terms::pending_terms(&mut app.conn(), pro.id).unwrap().notice(), None);

    // A published version is never changed again.
    let before = journal_count(&app);
    let r = app.post_form(&path, &fields, &cookie).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(
        app.post_form(&format!("{path}/supprimer"), &[("csrf", &csrf)], &cookie).await.status,
        StatusCode::CONFLICT
    );
    assert_eq!(
        app.post_form(&format!("{path}/publier"), &[("csrf", &csrf)], &cookie).await.status,
        StatusCode::CONFLICT
    );
    assert_eq!(journal_count(&app), before);
    let again = terms::find(&mut app.conn(), draft.id).unwrap().unwrap();
    assert_eq!(
        (again.title, again.published_at, again.updated_at),
        (published.title, published.published_at, published.updated_at)
    );
    let page = app.get_with(&path, &cookie).await;
    assert_eq!(page.count("textarea"), 0, "read only");
    assert!(page.texts("dd")[0].contains("ne peut plus être modifiée"));
}

#[tokio::test]
async fn an_abandoned_draft_can_be_deleted_and_the_next_one_takes_its_number() {
    let app = TestApp::new();
    app.create_user("camille@example.org", PASSWORD, Role::Administrator, false);
    let cookie = app.login("camille@example.org", PASSWORD).await;
    let csrf = app.get_with("/admin/documents", &cookie).await.csrf_field();
    let fields = [
        ("csrf", csrf.as_str()),
        ("document", "feature"),
        ("fonction", "messagerie"),
        ("title", "Messagerie"),
        ("body", "Texte."),
    ];
    let r = app.post_form("/admin/documents/nouveau", &fields, &cookie).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let doc = LegalDoc::feature("messagerie").unwrap();
    let draft = terms::find_draft(&mut app.conn(), &doc).unwrap().unwrap();
    assert_eq!((draft.version, draft.major), (1, true));
    let r = app.post_form(&format!("/admin/documents/{}/supprimer", draft.id), &[("csrf", &csrf)], &cookie).await;
    assert_eq!((r.status, r.header("location")), (StatusCode::SEE_OTHER, "/admin/documents"));
    let e = last_entry(&app);
    assert_eq!((e.action.as_str(), e.object_id), ("deletion", Some(draft.id.to_string())));
    assert!(terms::find(&mut app.conn(), draft.id).unwrap().is_none());
    app.post_form("/admin/documents/nouveau", &fields, &cookie).await;
    assert_eq!(terms::find_draft(&mut app.conn(), &doc).unwrap().unwrap().version, 1);
    // A malformed key is refused in French.
    let bad =
        [("csrf", csrf.as_str()), ("document", "feature"), ("fonction", "Clé Invalide"), ("title", "x"), ("body", "y")];
    let r = app.post_form("/admin/documents/nouveau", &bad, &cookie).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body.contains("lettres minuscules"));
}

#[tokio::test]
async fn published_versions_are_immutable() {
    let app = TestApp::new();
    app.ensure_terms();
    let ctx = app.state.system_context();
    let mut conn = app.conn();
    let v1 = terms::find_current(&mut conn, &LegalDoc::Terms).unwrap().unwrap();
    let input = DraftInput { title: "Autre".into(), summary: String::new(), body: "Autre texte.".into(), major: true };
    let results = [
        db::write_tx(&mut conn, |c| terms::update_draft(c, &ctx, v1.id, &input).map(|_| ())),
        db::write_tx(&mut conn, |c| terms::publish(c, &ctx, v1.id, None).map(|_| ())),
        db::write_tx(&mut conn, |c| terms::delete_draft(c, &ctx, v1.id)),
    ];
    for r in results {
        assert!(matches!(r, Err(TermsError::AlreadyPublished(id)) if id == v1.id), "{r:?}");
    }
    let same = terms::find(&mut conn, v1.id).unwrap().unwrap();
    assert_eq!((same.title, same.body, same.updated_at), (v1.title, v1.body, v1.updated_at));
    assert!(matches!(
        db::write_tx(&mut conn, |c| terms::update_draft(c, &ctx, 999_999, &input).map(|_| ())),
        Err(TermsError::NotFound)
    ));
    // Version 1 is published once, however often the start-up runs.
    let again = db::write_tx(&mut conn, |c| terms::ensure_initial_versions(c, &ctx, &app.state.config.portal)).unwrap();
    assert!(again.is_empty());
}

#[tokio::test]
async fn every_version_stays_public() {
    let app = TestApp::with_config(|c| c.portal.host.name = "Hébergeur Certifié Test SAS".into());
    // The first visit publishes version 1 if the start-up did not.
    let r = app.get("/mentions-legales").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.texts("h1"), vec!["Mentions légales"]);
    assert!(r.texts(".prose p").iter().any(|p| p.contains("Hébergeur Certifié Test SAS")));
    assert_eq!(r.count(".versions"), 0, "a single version: no list");
    publish(&app, &LegalDoc::LegalNotice, "Mentions légales", "Nouvel hébergeur.", true);
    // Another node would see it within a minute: the cache of this one was not told.
    assert_eq!(
        app.get("/mentions-legales").await.texts(".version-line"),
        vec!["Version 1, en vigueur depuis le 15 janvier 2027."]
    );
    app.clock.advance(terms::cache::TTL + Duration::seconds(1));
    let r = app.get("/mentions-legales").await;
    assert_eq!(r.texts(".version-line"), vec!["Version 2, en vigueur depuis le 15 janvier 2027."]);
    assert_eq!(
        r.texts(".versions li")[0],
        "Version 2 (affichée), publiée le 15 janvier 2027, en vigueur — Nouvel hébergeur."
    );

    let old = app.get("/mentions-legales/versions/1").await;
    assert_eq!(old.status, StatusCode::OK);
    assert_eq!(old.count("h1"), 1);
    assert!(old.texts(".notice")[0].contains("n'est plus en vigueur"));
    assert!(old.texts(".prose p").iter().any(|p| p.contains("Hébergeur Certifié Test SAS")));
    assert_eq!(app.get("/mentions-legales/versions/2").await.header("location"), "/mentions-legales");
    assert_eq!(app.get("/mentions-legales/versions/3").await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.get("/cgu/versions/2").await.status, StatusCode::NOT_FOUND);
    let cgu = app.get("/cgu").await;
    assert_eq!(cgu.texts(".version-line"), vec!["Version 1, en vigueur depuis le 15 janvier 2027."]);
}

#[tokio::test]
async fn acceptance_rates_count_active_accounts_other_than_administrators() {
    use atomes::db::schema::users;
    let app = TestApp::new();
    app.create_user("camille@example.org", PASSWORD, Role::Administrator, false);
    for i in 0..3 {
        app.create_user(&format!("pro{i}@example.org"), PASSWORD, Role::Professional, false);
    }
    app.create_user_pending_terms("nouveau@example.org", PASSWORD, Role::Professional, false);
    let gone = app.create_user("parti@example.org", PASSWORD, Role::Professional, false);
    diesel::update(users::table.find(gone.id)).set(users::status.eq("disabled")).execute(&mut *app.conn()).unwrap();

    let stats = terms::acceptance_stats(&mut app.conn()).unwrap();
    let id = terms_id(&app);
    // 4 acceptances (the disabled account's included); 3 of the 4 active professionals: 75 %.
    assert_eq!((stats.accepted(id), stats.accepted_by_active(id), stats.active_accounts), (4, 3, 4));
    assert_eq!(stats.share_percent(id), Some(75));

    let cookie = app.login("camille@example.org", PASSWORD).await;
    let list = app.get_with("/admin/documents", &cookie).await;
    assert!(list.texts("p")[1].contains("4 comptes actifs"), "{:?}", list.texts("p"));
    assert_eq!(list.texts("table tbody tr td:nth-child(4)")[0], "4 ; 75 % des comptes actifs (3 sur 4)");
    // The privacy policy and the legal notice are not accepted: no figures.
    let page = app.get_with(&format!("/admin/documents/{id}"), &cookie).await;
    assert!(page.texts("dd").iter().any(|d| d == "4 ; 75 % des comptes actifs (3 sur 4)"));
}
