//! The detail sheet of a directory entry (DIR-2), what visitors and logged-in professionals see
//! of it and of search results (DIR-4, with the journal entries of restricted consultations), and
//! « Signaler une erreur » with its back-office queue (DIR-5).

use atomes::accounts::Role;
use atomes::db::schema::{dir_offers, dir_reports, dir_sites};
use atomes::directory::import::{self, ImportRequest, Mode, Scope};
use atomes::directory::{finess_csv, nomenclature};
use atomes::journal::{self, JournalEntry};
use axum::http::StatusCode;
use diesel::prelude::*;

use crate::support::{TestApp, TestResponse};

const PASSWORD: &str = "une phrase de passe solide";
const DEMO: &str = include_str!("../data/demo/ror-92nord.ndjson");
const CSV: &str = include_str!("fixtures/finess/synthetic-40-utf8.csv");

/// The demo offer « Urgences adultes »: contacts at the three levels of TRE_R283.
const URGENCES: &str = "demo-offre-0001";
const PUBLIC_PHONE: &str = "0199001260";
const RESTRICTED_PHONE: &str = "0199007638";
const REGULATION_PHONE: &str = "0639982208";
/// A sensitive unit of the same site.
const SENSITIVE: &str = "demo-offre-0013";

fn import_fhir(app: &TestApp, ndjson: &str) {
    let parsed = atomes::directory::fhir::parse(ndjson.as_bytes()).unwrap();
    let scope = Scope::default();
    let request = ImportRequest { format: "fhir", file_name: "demo.ndjson", scope: &scope, mode: Mode::Delta };
    atomes::directory::offers::import_fhir(&mut app.conn(), &app.state.system_context(), &request, &parsed).unwrap();
    app.state.search.sync(&mut app.conn()).unwrap();
}

/// The demo directory and the NOS tables (so that codes are checked against them).
fn demo_app() -> TestApp {
    let app = TestApp::new();
    let now = app.clock_now();
    atomes::db::write_tx(&mut app.conn(), |c| nomenclature::load_embedded(c, now)).unwrap();
    import_fhir(&app, DEMO);
    app
}

fn load_csv(app: &TestApp, csv: &str) {
    let parsed = finess_csv::parse_bytes(csv.as_bytes()).unwrap();
    let scope = Scope::default();
    let request = ImportRequest {
        format: "finess-csv",
        file_name: "t.csv",
        scope: &scope,
        mode: Mode::Full { max_closing_share: 1.0 },
    };
    let ctx = app.state.system_context();
    import::import_finess(&mut app.conn(), &ctx, &request, &parsed.establishments, parsed.rejected, &|_| {}).unwrap();
    app.state.search.sync(&mut app.conn()).unwrap();
}

fn offer_id(app: &TestApp, key: &str) -> i64 {
    dir_offers::table.filter(dir_offers::source_key.eq(key)).select(dir_offers::id).first(&mut *app.conn()).unwrap()
}

fn site_id(app: &TestApp, finess: &str) -> i64 {
    dir_sites::table.filter(dir_sites::source_key.eq(finess)).select(dir_sites::id).first(&mut *app.conn()).unwrap()
}

/// The organisations and place of [`URGENCES`], to import a variant of it with its context.
fn urgences_context() -> String {
    DEMO.lines()
        .filter(|l| {
            ["demo-oi-0001", "demo-eg-0001", "demo-ej-0001", "demo-lieu-0001"]
                .iter()
                .any(|id| l.contains(&format!("\"id\":\"{id}\"")))
        })
        .map(|l| format!("{l}\n"))
        .collect()
}

/// The demo line of one resource, changed by `edit`.
fn demo_line(id: &str, edit: impl FnOnce(&mut serde_json::Value)) -> String {
    let line = DEMO.lines().find(|l| l.contains(&format!("\"id\":\"{id}\""))).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(line).unwrap();
    edit(&mut v);
    v.to_string()
}

fn journal_after(app: &TestApp, before: i64) -> Vec<JournalEntry> {
    journal::list_after(&mut app.conn(), before, 1000).unwrap()
}

fn consultations(entries: &[JournalEntry]) -> Vec<(Option<i64>, String)> {
    entries
        .iter()
        .filter(|e| e.action == "consultation" && e.object_type == "dir_offer")
        .map(|e| (e.actor_id, e.object_id.clone().unwrap_or_default()))
        .collect()
}

fn journal_count(app: &TestApp) -> i64 {
    journal::count(&mut app.conn()).unwrap()
}

async fn professional(app: &TestApp) -> (i64, String) {
    let user = app.create_user("pro@example.org", PASSWORD, Role::Professional, false);
    (user.id, app.login("pro@example.org", PASSWORD).await)
}

#[tokio::test]
async fn an_offer_sheet_shows_identity_address_contacts_offer_freshness_and_completeness() {
    let app = demo_app();
    let id = offer_id(&app, URGENCES);
    let before = journal_count(&app);
    let r = app.get(&format!("/annuaire/offre-{id}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.texts("h1"), vec!["Urgences adultes"]);
    assert_eq!(r.count("main"), 1);
    let summary = r.texts("dl.summary dd").join(" | ");
    for expected in [
        "Centre hospitalier des Boucles de Seine",
        "Centre Hospitalier (C.H.)",
        "92025",
        "Latitude 48,93350, longitude 2,25662 (WGS 84)",
        "Médecine Chirurgie Obstétrique (MCO)",
        "Urgences polyvalentes",
        "Accueil des urgences",
        "Tout public",
        "À partir de 15 ans",
    ] {
        assert!(summary.contains(expected), "{expected:?} in {summary}");
    }
    assert_eq!(r.texts("address"), vec!["140 rue Danton, 92700 Colombes"]);
    assert_eq!(r.texts(".opening li"), vec!["Tous les jours, 24 h sur 24"]);
    // DIR-4: a visitor sees the public contacts only, with their level, and is told why.
    let contacts = r.texts("table.contacts tbody tr").join(" | ");
    assert!(contacts.contains(PUBLIC_PHONE) && contacts.contains("Accès libre"), "{contacts}");
    assert!(contacts.contains("0199001150") && contacts.contains("(établissement)"), "{contacts}");
    assert!(!r.body.contains(RESTRICTED_PHONE) && !r.body.contains(REGULATION_PHONE));
    assert_eq!(r.texts(".restricted"), vec!["Coordonnées réservées aux professionnels connectés — Se connecter"]);
    assert_eq!(r.count(".restricted a[href='/connexion']"), 1);
    // The sensitive unit of the same site is not listed to a visitor.
    let siblings = r.texts(".siblings li").join(" | ");
    assert!(siblings.contains("Urgences pédiatriques") && !siblings.contains("médico-judiciaire"), "{siblings}");
    // Source and freshness (CGU §8.5), completeness (ANS rule: every criterion met).
    assert_eq!(
        r.texts(".sheet-source"),
        vec!["Source : répertoire opérationnel des ressources (ROR), mise à jour dans la source le 3 octobre 2026."]
    );
    assert_eq!(
        r.texts(".completeness"),
        vec!["100 % des informations attendues sont renseignées (peuplement finalisé selon l'ANS)."]
    );
    assert_eq!(r.count(".missing li"), 0);
    assert_eq!(r.count(&format!("a[href='/annuaire/offre-{id}/signaler']")), 1);
    // Public data read by a visitor: nothing to journal.
    assert_eq!(journal_count(&app), before);
}

#[tokio::test]
async fn capacities_show_their_date_and_missing_fields_lower_the_score() {
    let app = demo_app();
    // An offer of the demo whose place has capacity records.
    let with_capacity = DEMO
        .lines()
        .filter(|l| l.contains("\"resourceType\":\"HealthcareService\""))
        .find(|l| l.contains("Location/demo-lieu-0002"))
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["id"].as_str().unwrap().to_owned())
        .unwrap();
    let r = app.get(&format!("/annuaire/offre-{}", offer_id(&app, &with_capacity))).await;
    let rows = r.texts("table.capacities tbody tr");
    assert!(
        rows.iter().any(|row| row.starts_with("Lit Installé") && row.contains("35 11/09/2026 à 13 h 43")),
        "{rows:?}"
    );

    // The same offer without ages nor contacts: 4 of the 6 criteria of the ANS rule.
    let bare = demo_line(URGENCES, |v| {
        v["id"] = "demo-offre-9001".into();
        let exts = v["extension"].as_array_mut().unwrap();
        exts.retain(|e| !e["url"].as_str().unwrap().ends_with("-contact"));
        for e in exts.iter_mut().filter(|e| e["url"].as_str().unwrap().ends_with("patient-type")) {
            e["extension"].as_array_mut().unwrap().retain(|x| x["url"] != "ageRange");
        }
    });
    import_fhir(&app, &format!("{}{bare}\n", urgences_context()));
    let r = app.get(&format!("/annuaire/offre-{}", offer_id(&app, "demo-offre-9001"))).await;
    assert_eq!(
        r.texts(".completeness"),
        vec!["66 % des informations attendues sont renseignées (peuplement en cours selon l'ANS)."]
    );
    assert_eq!(
        r.texts(".missing li"),
        vec!["Âges minimum et maximum", "Contact avec sa nature, son canal et son niveau de confidentialité"]
    );
    // Only the establishment's switchboard is left.
    assert_eq!(r.count("table.contacts tbody tr"), 1);
}

#[tokio::test]
async fn an_establishment_sheet_shows_finess_identity_and_its_own_rule() {
    let app = TestApp::new();
    load_csv(&app, CSV);
    let id = site_id(&app, "380619817");
    let r = app.get(&format!("/annuaire/etablissement-{id}")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.texts("h1"), vec!["CENTRE MEDICO-PSYCHOLOGIQUE D'EYBENS"]);
    let summary = r.texts("dl.summary dd").join(" | ");
    assert!(summary.contains("380619817") && summary.contains("Centre médico-psychologique"), "{summary}");
    assert!(r.texts("address")[0].ends_with("38320 EYBENS"), "{:?}", r.texts("address"));
    assert_eq!(r.count("a[href='tel:0491390996']"), 1);
    assert_eq!(r.texts(".completeness"), vec!["100 % des informations attendues sont renseignées."]);
    assert!(r.texts(".help").iter().any(|t| t.starts_with("Calcul propre au portail pour un établissement")));
    assert_eq!(
        r.texts(".sheet-source"),
        vec![
            "Source : fichier national des établissements sanitaires et sociaux (FINESS), mise à jour dans la source le 15 janvier 2026."
        ]
    );
    // Search results link to their sheet.
    let j = app.get("/api/directory/search?q=eybens").await.json();
    let hit = j["hits"].as_array().unwrap().iter().find(|h| h["id"] == id).expect("the CMP is found");
    assert_eq!(hit["url"], format!("/annuaire/etablissement-{id}"));
    let page = app.get("/annuaire?q=eybens").await;
    assert!(page.count(&format!(".result-name a[href='/annuaire/etablissement-{id}']")) == 1, "{}", page.body);
}

#[tokio::test]
async fn unknown_entries_are_french_404_pages() {
    let app = demo_app();
    for path in [
        "/annuaire/offre-999999",
        "/annuaire/etablissement-4",
        "/annuaire/fiche-1",
        "/annuaire/offre-1x",
        "/annuaire/offre-999999/signaler",
    ] {
        let r = app.get(path).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(r.texts("h1"), vec!["Page introuvable"], "{path}");
    }
}

#[tokio::test]
async fn closed_entries_carry_a_closed_notice() {
    let app = demo_app();
    let closed = demo_line(URGENCES, |v| v["active"] = false.into());
    import_fhir(&app, &format!("{}{closed}\n", urgences_context()));
    let id = offer_id(&app, URGENCES);
    let r = app.get(&format!("/annuaire/offre-{id}")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.texts(".notice-closed"), vec!["Fermé — Cette offre est fermée."]);
    // Closed entries leave the search, not their sheet.
    let j = app.get("/api/directory/search?q=urgences+adultes").await.json();
    assert!(j["hits"].as_array().unwrap().iter().all(|h| h["id"] != id || h["kind"] != "offer"));

    load_csv(&app, CSV);
    let without: String = CSV.lines().filter(|l| !l.contains(";380619817;")).map(|l| format!("{l}\n")).collect();
    load_csv(&app, &without);
    let r = app.get(&format!("/annuaire/etablissement-{}", site_id(&app, "380619817"))).await;
    assert_eq!(r.status, StatusCode::OK);
    let notice = r.texts(".notice-closed");
    assert_eq!(notice.len(), 1);
    assert!(notice[0].starts_with("Fermé — Cet établissement est fermé depuis le "), "{notice:?}");
}

#[tokio::test]
async fn sensitive_units_and_restricted_contacts_are_for_logged_in_professionals_and_journaled() {
    let app = demo_app();
    let urgences = offer_id(&app, URGENCES);
    let sensitive = offer_id(&app, SENSITIVE);

    // A visitor: the sensitive unit's sheet is withheld, nothing is journaled.
    let before = journal_count(&app);
    let r = app.get(&format!("/annuaire/offre-{sensitive}")).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.texts("h1"), vec!["Fiche réservée aux professionnels connectés"]);
    assert!(!r.body.contains("médico-judiciaire"));
    assert_eq!(r.count("main a[href='/connexion']"), 1);
    assert_eq!(app.get(&format!("/annuaire/offre-{sensitive}/signaler")).await.status, StatusCode::UNAUTHORIZED);
    // … and absent from the search, page and API, which carry public telephones only.
    let page = app.get("/annuaire?q=unite+medico+judiciaire").await;
    assert!(!page.body.contains("Unité médico-judiciaire"), "{}", page.body);
    let api = app.get("/api/directory/search?q=unite+medico+judiciaire").await;
    assert!(api.json()["hits"].as_array().unwrap().iter().all(|h| h["id"] != sensitive));
    let api = app.get("/api/directory/search?q=urgences+adultes").await;
    assert!(api.body.contains(PUBLIC_PHONE), "{}", api.body);
    assert!(!api.body.contains(RESTRICTED_PHONE) && !api.body.contains(REGULATION_PHONE));
    assert_eq!(journal_count(&app), before);

    // A logged-in professional sees the restricted contact (never the regulation one), the
    // sensitive sibling, and each restricted consultation is journaled under their account.
    let (user_id, cookie) = professional(&app).await;
    let before = journal_count(&app);
    let r = app.get_with(&format!("/annuaire/offre-{urgences}"), &cookie).await;
    assert_eq!(r.status, StatusCode::OK);
    let contacts = r.texts("table.contacts tbody tr").join(" | ");
    assert!(contacts.contains(RESTRICTED_PHONE) && contacts.contains("Réservé aux professionnels"), "{contacts}");
    assert!(!r.body.contains(REGULATION_PHONE));
    assert_eq!(r.count(".restricted"), 0);
    assert!(r.texts(".siblings li").iter().any(|s| s.contains("Unité médico-judiciaire (unité sensible)")));
    assert_eq!(
        consultations(&journal_after(&app, before)),
        vec![(Some(user_id), urgences.to_string()), (Some(user_id), sensitive.to_string())]
    );

    let before = journal_count(&app);
    let r = app.get_with(&format!("/annuaire/offre-{sensitive}"), &cookie).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.texts("h1"), vec!["Unité médico-judiciaire"]);
    assert!(consultations(&journal_after(&app, before)).contains(&(Some(user_id), sensitive.to_string())));

    // The search finds the sensitive unit for them, and journals that it was shown.
    let before = journal_count(&app);
    let page = app.get_with("/annuaire?q=unite+medico+judiciaire", &cookie).await;
    assert!(page.texts(".result-name").iter().any(|n| n == "Unité médico-judiciaire"), "{}", page.body);
    assert_eq!(page.count(".result-restricted"), 1);
    assert_eq!(consultations(&journal_after(&app, before)), vec![(Some(user_id), sensitive.to_string())]);
    let before = journal_count(&app);
    let api = app.get_with("/api/directory/search?q=unite+medico+judiciaire", &cookie).await.json();
    let hit = api["hits"].as_array().unwrap().iter().find(|h| h["id"] == sensitive).expect("found when logged in");
    assert_eq!(hit["sensitive"], true);
    assert_eq!(consultations(&journal_after(&app, before)), vec![(Some(user_id), sensitive.to_string())]);
}

async fn report_form(app: &TestApp, path: &str, cookie: &str) -> (String, String) {
    let r = app.get_with(path, cookie).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.texts("h1"), vec!["Signaler une erreur"]);
    let set = r.header("set-cookie");
    let form_cookie = if set.starts_with("__Host-atomes_csrf=") {
        set.split(';').next().unwrap().to_owned()
    } else {
        cookie.to_owned()
    };
    (r.csrf_field(), form_cookie)
}

/// Entry kind and id, kind, message, contact address, reporter, status.
type StoredReport = (String, i64, String, String, Option<String>, Option<i64>, String);

fn stored_reports(app: &TestApp) -> Vec<StoredReport> {
    dir_reports::table
        .order(dir_reports::id)
        .select((
            dir_reports::entry_kind,
            dir_reports::entry_id,
            dir_reports::kind,
            dir_reports::message,
            dir_reports::contact_email,
            dir_reports::reporter_id,
            dir_reports::status,
        ))
        .load(&mut *app.conn())
        .unwrap()
}

fn error_summary(r: &TestResponse) -> Vec<String> {
    r.texts("#erreurs li")
}

#[tokio::test]
async fn visitors_and_professionals_report_errors_and_administrators_handle_them() {
    let app = demo_app();
    let id = offer_id(&app, URGENCES);
    let path = format!("/annuaire/offre-{id}/signaler");

    // A visitor: the double-submit token; invalid input comes back with its messages (422).
    let (token, cookie) = report_form(&app, &path, "").await;
    assert!(cookie.starts_with("__Host-atomes_csrf="));
    let r = app
        .post_form(&path, &[("csrf", &token), ("kind", ""), ("message", " "), ("email", "pas-une-adresse")], &cookie)
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        error_summary(&r),
        vec![
            "Choisissez ce qui est erroné dans la liste.",
            "Décrivez l'erreur constatée.",
            "L'adresse e-mail n'est pas valide (exemple : prenom.nom@exemple.fr)."
        ]
    );
    assert_eq!(r.count("[aria-invalid=true]"), 3);
    let long = "x".repeat(2001);
    let r =
        app.post_form(&path, &[("csrf", &token), ("kind", "autre"), ("message", &long), ("email", "")], &cookie).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_summary(&r), vec!["La description ne peut dépasser 2 000 caractères : raccourcissez-la."]);
    assert_eq!(r.texts("textarea#message"), vec![long.clone()], "what was typed is kept");
    // No token, or a token without its cookie: refused, nothing stored.
    for (fields, cookie) in [
        (vec![("kind", "telephone"), ("message", "Faux numéro")], cookie.as_str()),
        (vec![("csrf", token.as_str()), ("kind", "telephone"), ("message", "Faux numéro")], ""),
    ] {
        assert_eq!(app.post_form(&path, &fields, cookie).await.status, StatusCode::FORBIDDEN);
    }
    assert!(stored_reports(&app).is_empty());
    let before = journal_count(&app);
    let r = app
        .post_form(
            &path,
            &[
                ("csrf", &token),
                ("kind", "telephone"),
                ("message", "Le standard ne répond plus."),
                ("email", "Marie@Exemple.fr"),
            ],
            &cookie,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.texts("h1"), vec!["Merci pour votre signalement"]);
    assert_eq!(r.count(&format!("main a[href='/annuaire/offre-{id}']")), 1);
    let created: Vec<_> = journal_after(&app, before)
        .into_iter()
        .filter(|e| e.object_type == "dir_report")
        .map(|e| (e.action, e.actor_id))
        .collect();
    assert_eq!(created, vec![("creation".to_owned(), None)]);

    // A logged-in professional: linked by account, no address asked.
    let (user_id, pro) = professional(&app).await;
    let (token, pro_cookie) = report_form(&app, &path, &pro).await;
    assert_eq!(pro_cookie, pro);
    let r = app.get_with(&path, &pro).await;
    assert_eq!(r.count("input[name=email]"), 0);
    let r =
        app.post_form(&path, &[("csrf", &token), ("kind", "horaires"), ("message", "Fermé le dimanche.")], &pro).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let expected: Vec<StoredReport> = vec![
        (
            "offer".into(),
            id,
            "telephone".into(),
            "Le standard ne répond plus.".into(),
            Some("marie@exemple.fr".into()),
            None,
            "new".into(),
        ),
        ("offer".into(), id, "horaires".into(), "Fermé le dimanche.".into(), None, Some(user_id), "new".into()),
    ];
    assert_eq!(stored_reports(&app), expected);

    // The back office: closed to professionals; listed new first with links; each reading journaled.
    assert_eq!(app.get_with("/admin/signalements", &pro).await.status, StatusCode::FORBIDDEN);
    app.create_user("admin@example.org", PASSWORD, Role::Administrator, false);
    let admin = app.login("admin@example.org", PASSWORD).await;
    let dashboard = app.get_with("/admin", &admin).await;
    assert!(dashboard.texts("main p").iter().any(|p| p == "Signalements d'erreurs (2 nouveaux)"), "{}", dashboard.body);
    let before = journal_count(&app);
    let r = app.get_with("/admin/signalements", &admin).await;
    assert_eq!(r.status, StatusCode::OK);
    let titles = r.texts(".report h2");
    assert_eq!(titles.len(), 2);
    assert!(titles[0].ends_with("Horaires") && titles[1].ends_with("Téléphone"), "newest first: {titles:?}");
    assert_eq!(r.count(&format!(".report a[href='/annuaire/offre-{id}']")), 2);
    let text = r.texts(".report dd").join(" | ");
    assert!(
        text.contains("Camille Durand <pro@example.org>") && text.contains("Visiteur : marie@exemple.fr"),
        "{text}"
    );
    let listed: Vec<_> = journal_after(&app, before)
        .into_iter()
        .filter(|e| e.object_type == "dir_report")
        .map(|e| (e.action, e.object_id))
        .collect();
    assert_eq!(listed, vec![("consultation".to_owned(), None)]);

    // Marking one handled, with a note; twice changes nothing; an unknown one is a 404.
    let report_id: i64 = dir_reports::table
        .filter(dir_reports::kind.eq("telephone"))
        .select(dir_reports::id)
        .first(&mut *app.conn())
        .unwrap();
    let csrf = r.csrf_field();
    let target = format!("/admin/signalements/{report_id}");
    assert_eq!(app.post_form(&target, &[("note", "Corrigé")], &admin).await.status, StatusCode::FORBIDDEN);
    let before = journal_count(&app);
    let done = app.post_form(&target, &[("csrf", &csrf), ("note", "Numéro corrigé dans le ROR.")], &admin).await;
    assert_eq!((done.status, done.header("location")), (StatusCode::SEE_OTHER, "/admin/signalements?fait=traite"));
    let changed: Vec<_> =
        journal_after(&app, before).into_iter().map(|e| (e.action, e.object_type, e.object_id)).collect();
    assert_eq!(changed, vec![("modification".to_owned(), "dir_report".to_owned(), Some(report_id.to_string()))]);
    let again = app.post_form(&target, &[("csrf", &csrf), ("note", "")], &admin).await;
    assert_eq!(again.header("location"), "/admin/signalements?fait=deja");
    assert_eq!(
        app.post_form("/admin/signalements/99999", &[("csrf", &csrf)], &admin).await.status,
        StatusCode::NOT_FOUND
    );
    let r = app.get_with("/admin/signalements?fait=traite", &admin).await;
    assert_eq!(r.texts("[role=status]"), vec!["Le signalement est marqué comme traité."]);
    let text = r.texts(".report-handled dd").join(" | ");
    assert!(
        text.contains("Traité le 15/01/2027 à 10 h 00 par Camille Durand")
            && text.contains("Numéro corrigé dans le ROR."),
        "{text}"
    );
    assert_eq!(r.count(".report-new form"), 1);
}
