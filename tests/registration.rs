//! Self-registration, address check, approval, forgotten password, change of address, closure,
//! history and export (ACC-1, ACC-2, ACC-6, JNL-3; SECURITY-TESTS T1–T4, T7, T11), with the
//! journal entry asserted next to each HTTP result.

use atomes::accounts::{self, Role};
use atomes::db::schema::{mail_outbox, users};
use atomes::journal;
use axum::http::StatusCode;
use chrono::Duration;
use diesel::prelude::*;

use crate::support::{TestApp, TestResponse};

const PASSWORD: &str = "une phrase de passe solide";

fn last_entry(app: &TestApp) -> journal::JournalEntry {
    let mut conn = app.conn();
    let n = journal::count(&mut conn).unwrap();
    journal::list_after(&mut conn, n - 1, 1).unwrap().remove(0)
}

/// The last message queued for `to`: (subject, body).
fn last_mail(app: &TestApp, to: &str) -> Option<(String, String)> {
    mail_outbox::table
        .filter(mail_outbox::recipient.eq(to))
        .order(mail_outbox::id.desc())
        .select((mail_outbox::subject, mail_outbox::body_text))
        .first(&mut *app.conn())
        .optional()
        .unwrap()
}

fn mail_count(app: &TestApp) -> i64 {
    mail_outbox::table.count().get_result(&mut *app.conn()).unwrap()
}

/// The token of the link to `path` in a message.
fn link_token(body: &str, path: &str) -> String {
    let start = body.find(&format!("{path}?jeton=")).unwrap_or_else(|| panic!("no link to {path} in:\n{body}"));
    body[start + path.len() + 7..].chars().take_while(char::is_ascii_hexdigit).collect()
}

fn status_of(app: &TestApp, email_canonical: &str) -> Option<String> {
    users::table
        .filter(users::email_canonical.eq(email_canonical))
        .select(users::status)
        .first(&mut *app.conn())
        .optional()
        .unwrap()
}

async fn register(app: &TestApp, email: &str, password: &str) -> TestResponse {
    let csrf = app.login_csrf().await;
    app.post_form(
        "/inscription",
        &[
            ("csrf", &csrf),
            ("civility", "mme"),
            ("given_name", "Hélène"),
            ("family_name", "Martin"),
            ("profession", "infirmier"),
            ("rpps", ""),
            ("structure", "Cabinet infirmier de Colombes"),
            ("phone", "06 12 34 56 78"),
            ("email", email),
            ("password", password),
            ("confirm", password),
        ],
        &format!("__Host-atomes_csrf={csrf}"),
    )
    .await
}

/// Posts a link's token the way the page's button does.
async fn follow(app: &TestApp, path: &str, token: &str) -> TestResponse {
    let page = app.get(&format!("{path}?jeton={token}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.count("form button"), 1, "a GET changes nothing: the page has a button");
    assert_eq!((page.header("referrer-policy"), page.header("cache-control")), ("same-origin", "no-store"));
    let csrf = app.login_csrf().await;
    app.post_form(path, &[("csrf", &csrf), ("jeton", token)], &format!("__Host-atomes_csrf={csrf}")).await
}

#[tokio::test]
async fn registration_verification_and_approval() {
    let app = TestApp::new();
    let admin = app.create_user("admin@dac.example", PASSWORD, Role::Administrator, false);
    let r = register(&app, "Helene.Martin@Example.org", PASSWORD).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.texts("h1"), vec!["Vérifiez votre boîte de réception"]);
    let e = last_entry(&app);
    assert_eq!((e.action.as_str(), e.object_type.as_str(), e.outcome.as_str()), ("creation", "user", "success"));
    assert_eq!(status_of(&app, "helene.martin@example.org").as_deref(), Some("pending"));
    // Not usable before the address is proved: the right password says so and resends a link.
    let r = app.try_login("helene.martin@example.org", PASSWORD).await;
    assert!(r.session_token().is_none());
    assert_eq!(r.texts("h1"), vec!["Adresse e-mail à confirmer"]);
    let (subject, body) = last_mail(&app, "Helene.Martin@Example.org").unwrap();
    assert!(subject.contains("confirmez votre adresse"), "{subject}");
    let token = link_token(&body, "/compte/verification");
    // The link is single-use; its first use proves the address and asks an administrator.
    let r = follow(&app, "/compte/verification", &token).await;
    assert!(r.body.contains("valider votre inscription"), "{}", r.body);
    let e = last_entry(&app);
    assert_eq!((e.action.as_str(), e.outcome.as_str()), ("modification", "success"));
    assert!(last_mail(&app, "admin@dac.example").unwrap().0.contains("attend votre validation"));
    assert_eq!(follow(&app, "/compte/verification", &token).await.texts("h1"), vec!["Ce lien n'est plus valable"]);
    let r = app.try_login("helene.martin@example.org", PASSWORD).await;
    assert!(r.session_token().is_none());
    assert_eq!(r.texts("h1"), vec!["Inscription en cours de validation"]);
    let _ = admin;
}

#[tokio::test]
async fn without_approval_the_verified_account_logs_in() {
    let app = TestApp::with_config(|c| c.accounts.approval_required = false);
    register(&app, "helene@example.org", PASSWORD).await;
    let token = link_token(&last_mail(&app, "helene@example.org").unwrap().1, "/compte/verification");
    let r = follow(&app, "/compte/verification", &token).await;
    assert_eq!(r.texts("h1"), vec!["Adresse confirmée"]);
    let cookie = app.login("helene@example.org", PASSWORD).await;
    let me = app.get_with("/compte", &cookie).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.texts("h1"), vec!["Mon compte"]);
}

#[tokio::test]
async fn verification_links_expire() {
    let app = TestApp::with_config(|c| c.accounts.approval_required = false);
    register(&app, "helene@example.org", PASSWORD).await;
    let token = link_token(&last_mail(&app, "helene@example.org").unwrap().1, "/compte/verification");
    app.clock.advance(Duration::hours(48) + Duration::seconds(1));
    assert_eq!(follow(&app, "/compte/verification", &token).await.texts("h1"), vec!["Ce lien n'est plus valable"]);
    assert_eq!(status_of(&app, "helene@example.org").as_deref(), Some("pending"));
}

#[tokio::test]
async fn invalid_registrations_list_every_field_and_create_nothing() {
    let app = TestApp::new();
    let csrf = app.login_csrf().await;
    let before = (mail_count(&app), journal::count(&mut app.conn()).unwrap());
    let r = app
        .post_form(
            "/inscription",
            &[
                ("csrf", &csrf),
                ("given_name", ""),
                ("family_name", "Martin"),
                ("profession", "astronaute"),
                ("rpps", "123"),
                ("structure", "Cabinet"),
                ("phone", "12"),
                ("email", "pas-une-adresse"),
                ("password", "court"),
                ("confirm", "autre"),
            ],
            &format!("__Host-atomes_csrf={csrf}"),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields: Vec<String> = r.texts("[aria-invalid=true]");
    assert_eq!(r.count("[aria-invalid=true]"), 7, "{fields:?}");
    assert_eq!(r.count("#erreurs li"), 7);
    assert!(r.body.contains("11 chiffres") && r.body.contains("au moins 12 caractères"));
    assert_eq!(r.count("input[name=password][value='court']"), 0, "passwords are not echoed");
    assert_eq!((mail_count(&app), journal::count(&mut app.conn()).unwrap()), before);
}

/// T3/T4: a known address, in any of its Unicode disguises, gets the same page as a new one,
/// the same number of password hashes, no second account, and a notice at the stored address.
#[tokio::test]
async fn registering_a_known_address_reveals_nothing_and_creates_nothing() {
    let app = TestApp::new();
    app.create_user("admin@example.org", PASSWORD, Role::Administrator, false);
    let fresh = register(&app, "nouveau@example.org", PASSWORD).await;
    let strip = |r: &TestResponse| r.body.replace(&r.csrf_field(), "TOKEN");
    for variant in ["ＡＤＭＩＮ@example.org", "Admin@Example.ORG", " admin@example.org"] {
        let r = register(&app, variant, PASSWORD).await;
        assert_eq!(r.status, fresh.status, "{variant}");
        assert_eq!(strip(&r), strip(&fresh), "{variant}");
    }
    let n: i64 = users::table
        .filter(users::email_canonical.eq("admin@example.org"))
        .count()
        .get_result(&mut *app.conn())
        .unwrap();
    assert_eq!(n, 1);
    let (subject, _) = last_mail(&app, "admin@example.org").unwrap();
    assert!(subject.contains("tentative d'inscription"), "{subject}");
    for spoof in ["ad\u{200B}min@example.org", "\u{202E}admin@example.org"] {
        let r = register(&app, spoof, PASSWORD).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{spoof:?}");
        assert!(r.body.contains("invisibles"));
    }
    let r = register(&app, &"a".repeat(100_000), PASSWORD).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);

    // The same amount of hashing for a known and an unknown address, counted on this thread.
    let ctx = app.state.system_context();
    let links = accounts::Links::new(&app.state.config.public_url, "Atomes");
    let mut input = accounts::RegistrationInput {
        email: "admin@example.org".into(),
        password: PASSWORD.into(),
        confirm: PASSWORD.into(),
        ..Default::default()
    };
    input.profile.given_name = "Hélène".into();
    input.profile.family_name = "Martin".into();
    input.profile.profession = "medecin".into();
    input.profile.structure = "Cabinet".into();
    input.profile.phone = "0612345678".into();
    let mut count = |email: &str| {
        input.email = email.into();
        let before = accounts::hash_calls_on_this_thread();
        accounts::register(&mut app.conn(), &ctx, &links, &input).unwrap().unwrap();
        accounts::hash_calls_on_this_thread() - before
    };
    assert_eq!(count("admin@example.org"), count("personne-d-autre@example.org"));
    let login_cost = |email: &str| {
        let before = accounts::hash_calls_on_this_thread();
        accounts::login(&mut app.conn(), &ctx, &links, email, "mauvais mot de passe").unwrap();
        accounts::hash_calls_on_this_thread() - before
    };
    assert_eq!(login_cost("admin@example.org"), 1);
    assert_eq!(login_cost("inconnu@example.org"), 1);
}

#[tokio::test]
async fn a_forgotten_password_is_reset_once_from_the_stored_address() {
    let app = TestApp::new();
    let user = app.create_user("helene@example.org", PASSWORD, Role::Professional, false);
    let old_session = app.login("helene@example.org", PASSWORD).await;
    // Throttle the account: the reset lifts the delay.
    for _ in 0..6 {
        app.try_login("helene@example.org", "mauvais").await;
    }
    let csrf = app.login_csrf().await;
    let cookie = format!("__Host-atomes_csrf={csrf}");
    let known =
        app.post_form("/mot-de-passe-oublie", &[("csrf", &csrf), ("email", "ＨＥＬＥＮＥ@example.org")], &cookie).await;
    let unknown =
        app.post_form("/mot-de-passe-oublie", &[("csrf", &csrf), ("email", "nobody@example.org")], &cookie).await;
    assert_eq!(known.status, unknown.status);
    assert_eq!(known.body, unknown.body);
    // The link went to the stored address only, never to the typed variant.
    assert!(last_mail(&app, "ＨＥＬＥＮＥ@example.org").is_none());
    let (_, body) = last_mail(&app, "helene@example.org").unwrap();
    let token = link_token(&body, "/mot-de-passe/nouveau");
    let page = app.get(&format!("/mot-de-passe/nouveau?jeton={token}")).await;
    assert_eq!(page.texts("h1"), vec!["Choisir un nouveau mot de passe"]);
    let post = |pw: &'static str, confirm: &'static str| {
        let (csrf, cookie, token) = (csrf.clone(), cookie.clone(), token.clone());
        let app = &app;
        async move {
            app.post_form(
                "/mot-de-passe/nouveau",
                &[("csrf", &csrf), ("jeton", &token), ("password", pw), ("confirm", confirm)],
                &cookie,
            )
            .await
        }
    };
    let r = post("court", "court").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = post("une toute nouvelle phrase", "une toute nouvelle phrase").await;
    assert_eq!(r.texts("h1"), vec!["Mot de passe enregistré"]);
    let e = last_entry(&app);
    assert_eq!(
        (e.action.as_str(), e.object_type.as_str(), e.actor_id),
        ("modification", "user_password", Some(user.id))
    );
    assert_eq!(app.get_with("/compte", &old_session).await.header("location"), "/connexion", "sessions ended");
    assert_eq!(
        post("encore une autre phrase", "encore une autre phrase").await.texts("h1"),
        vec!["Ce lien n'est plus valable"]
    );
    assert!(app.try_login("helene@example.org", "une toute nouvelle phrase").await.session_token().is_some());
}

#[tokio::test]
async fn reset_links_expire_after_an_hour() {
    let app = TestApp::new();
    app.create_user("helene@example.org", PASSWORD, Role::Professional, false);
    let csrf = app.login_csrf().await;
    let cookie = format!("__Host-atomes_csrf={csrf}");
    app.post_form("/mot-de-passe-oublie", &[("csrf", &csrf), ("email", "helene@example.org")], &cookie).await;
    let token = link_token(&last_mail(&app, "helene@example.org").unwrap().1, "/mot-de-passe/nouveau");
    app.clock.advance(Duration::minutes(61));
    let r = app.get(&format!("/mot-de-passe/nouveau?jeton={token}")).await;
    assert_eq!(r.texts("h1"), vec!["Ce lien n'est plus valable"]);
}

#[tokio::test]
async fn mon_compte_rectification_is_journaled() {
    let app = TestApp::new();
    let user = app.create_user("helene@example.org", PASSWORD, Role::Professional, false);
    let cookie = app.login("helene@example.org", PASSWORD).await;
    let page = app.get_with("/compte", &cookie).await;
    let e = last_entry(&app);
    assert_eq!(
        (e.action.as_str(), e.object_id.clone(), e.actor_id),
        ("consultation", Some(user.id.to_string()), Some(user.id))
    );
    let csrf = page.csrf_field();
    let mut fields = vec![
        ("csrf", csrf.as_str()),
        ("civility", "mme"),
        ("given_name", "Hélène"),
        ("family_name", "Martin-Durand"),
        ("profession", "medecin"),
        ("rpps", "10001234567"),
        ("structure", "Maison de santé de Gennevilliers"),
        ("phone", "+33 1 40 00 00 00"),
    ];
    let r = app.post_form("/compte/profil", &fields, &cookie).await;
    assert_eq!((r.status, r.header("location")), (StatusCode::SEE_OTHER, "/compte?fait=profil"));
    let e = last_entry(&app);
    assert_eq!((e.action.as_str(), e.object_type.as_str()), ("modification", "user"));
    let u = accounts::find_by_id(&mut app.conn(), user.id).unwrap().unwrap();
    assert_eq!((u.family_name.as_str(), u.phone.as_str()), ("Martin-Durand", "01 40 00 00 00"));
    fields[7] = ("phone", "pas un numéro");
    let before = journal::count(&mut app.conn()).unwrap();
    let r = app.post_form("/compte/profil", &fields, &cookie).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(journal::count(&mut app.conn()).unwrap(), before);
    // CSRF: no token, another token → 403, nothing written.
    fields[0] = ("csrf", "00");
    assert_eq!(app.post_form("/compte/profil", &fields, &cookie).await.status, StatusCode::FORBIDDEN);
    assert_eq!(journal::count(&mut app.conn()).unwrap(), before);
}

#[tokio::test]
async fn a_new_address_replaces_the_old_one_once_proved() {
    let app = TestApp::new();
    app.create_user("helene@example.org", PASSWORD, Role::Professional, false);
    app.create_user("pris@example.org", PASSWORD, Role::Professional, false);
    let cookie = app.login("helene@example.org", PASSWORD).await;
    let csrf = app.get_with("/compte", &cookie).await.csrf_field();
    let r = app
        .post_form(
            "/compte/courriel",
            &[("csrf", &csrf), ("email", "helene@nouveau.example"), ("password", "faux")],
            &cookie,
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = app
        .post_form(
            "/compte/courriel",
            &[("csrf", &csrf), ("email", "helene@nouveau.example"), ("password", PASSWORD)],
            &cookie,
        )
        .await;
    assert_eq!(r.header("location"), "/compte?fait=courriel");
    assert!(last_mail(&app, "helene@example.org").unwrap().0.contains("changement d'adresse"));
    let token = link_token(&last_mail(&app, "helene@nouveau.example").unwrap().1, "/compte/courriel/confirmation");
    // Still the old address until the link is used.
    assert!(app.try_login("helene@nouveau.example", PASSWORD).await.session_token().is_none());
    let r = follow(&app, "/compte/courriel/confirmation", &token).await;
    assert_eq!(r.texts("h1"), vec!["Adresse e-mail changée"]);
    assert!(app.try_login("helene@nouveau.example", PASSWORD).await.session_token().is_some());
    assert!(app.try_login("helene@example.org", PASSWORD).await.session_token().is_none());
    // An address of another account: same answer, a notice there, nothing changes.
    let r = app
        .post_form(
            "/compte/courriel",
            &[("csrf", &csrf), ("email", "Pris@example.org"), ("password", PASSWORD)],
            &cookie,
        )
        .await;
    assert_eq!(r.header("location"), "/compte?fait=courriel");
    assert!(last_mail(&app, "Pris@example.org").unwrap().0.contains("déjà utilisée"));
}

#[tokio::test]
async fn closing_an_account_ends_it_and_frees_the_address() {
    let app = TestApp::new();
    let user = app.create_user("helene@example.org", PASSWORD, Role::Professional, false);
    let other = app.login("helene@example.org", PASSWORD).await;
    let cookie = app.login("helene@example.org", PASSWORD).await;
    let page = app.get_with("/compte/fermeture", &cookie).await;
    assert!(page.body.contains("Ce qui est conservé"));
    let csrf = page.csrf_field();
    let before = journal::count(&mut app.conn()).unwrap();
    let r = app.post_form("/compte/fermeture", &[("csrf", &csrf), ("password", PASSWORD)], &cookie).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "the box must be ticked");
    let r =
        app.post_form("/compte/fermeture", &[("csrf", &csrf), ("password", "faux"), ("confirm", "oui")], &cookie).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(journal::count(&mut app.conn()).unwrap(), before);
    let r = app
        .post_form("/compte/fermeture", &[("csrf", &csrf), ("password", PASSWORD), ("confirm", "oui")], &cookie)
        .await;
    assert_eq!(r.texts("h1"), vec!["Votre compte est clôturé"]);
    let e = last_entry(&app);
    assert_eq!((e.action.as_str(), e.object_id.clone()), ("deletion", Some(user.id.to_string())));
    for c in [&cookie, &other] {
        assert_eq!(app.get_with("/compte", c).await.header("location"), "/connexion");
    }
    assert!(app.try_login("helene@example.org", PASSWORD).await.session_token().is_none());
    let closed = accounts::find_by_id(&mut app.conn(), user.id).unwrap().unwrap();
    assert_eq!((closed.status.as_str(), closed.password_hash.is_none()), ("closed", true));
    // The address can serve a new account.
    register(&app, "helene@example.org", PASSWORD).await;
    assert_eq!(status_of(&app, "helene@example.org").as_deref(), Some("pending"));
}

#[tokio::test]
async fn history_names_administrators_and_the_export_holds_everything() {
    let app = TestApp::new();
    let user = app.create_user("helene@example.org", PASSWORD, Role::Professional, false);
    let admin = app.create_user("admin@example.org", PASSWORD, Role::Administrator, false);
    // An administrator reads the account (as the back office does).
    let ctx = app.state.system_context().with_actor(accounts::actor_of(&admin));
    atomes::db::write_tx(&mut app.conn(), |c| {
        journal::record(
            c,
            &ctx,
            journal::Action::Consultation,
            journal::Object::new("user", user.id),
            journal::Outcome::Success,
        )
    })
    .unwrap();
    let cookie = app.login("helene@example.org", PASSWORD).await;
    let page = app.get_with("/compte/historique", &cookie).await;
    assert_eq!(page.status, StatusCode::OK);
    let rows = page.texts("tbody tr");
    assert!(rows.iter().any(|r| r.contains("Administrateur du DAC : Camille Durand")), "{rows:?}");
    assert!(rows.iter().any(|r| r.contains("Connexion") && r.contains("Vous") && r.contains("127.0.0.1")), "{rows:?}");
    let e = last_entry(&app);
    assert_eq!(e.action, "consultation");

    let r = app.get_with("/compte/export", &cookie).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.header("content-disposition").starts_with("attachment"));
    assert_eq!(r.header("cache-control"), "no-store");
    let doc = r.json();
    assert_eq!(doc["account"]["email"], "helene@example.org");
    assert!(doc["journal"].as_array().unwrap().len() >= 3);
    assert!(!r.body.contains("$argon2id$"), "no secret in the export");
    let e = last_entry(&app);
    assert_eq!((e.action.as_str(), e.actor_id), ("export", Some(user.id)));
}

#[tokio::test]
async fn account_pages_need_a_login() {
    let app = TestApp::new();
    for path in ["/compte", "/compte/historique", "/compte/export", "/compte/fermeture", "/compte/courriel"] {
        let r = app.get(path).await;
        assert_eq!((r.status, r.header("location")), (StatusCode::SEE_OTHER, "/connexion"), "{path}");
    }
}
