//! The second factor (ACC-5; SECURITY-TESTS T5, T2, T6): enrolment, a code works once,
//! recovery codes, failures counted with the password's, mandatory for administrators.

use atomes::accounts::{self, Role, totp};
use atomes::db::schema::users;
use atomes::journal;
use axum::http::StatusCode;
use chrono::Duration;
use diesel::prelude::*;

use crate::support::{TEST_TOTP_SECRET, TestApp};

const PASSWORD: &str = "une phrase de passe solide";

fn code_now(app: &TestApp, secret: &str, offset: i64) -> String {
    totp::code_at(secret, app.state.clock.now().timestamp() / totp::STEP_SECONDS + offset).unwrap()
}

fn last_entry(app: &TestApp) -> journal::JournalEntry {
    let mut conn = app.conn();
    let n = journal::count(&mut conn).unwrap();
    journal::list_after(&mut conn, n - 1, 1).unwrap().remove(0)
}

#[tokio::test]
async fn an_administrator_must_enrol_before_the_back_office() {
    let app = TestApp::new();
    let admin = app.create_user("admin@dac.example", PASSWORD, Role::Administrator, false);
    diesel::update(users::table.find(admin.id))
        .set(users::totp_secret.eq(None::<String>))
        .execute(&mut *app.conn())
        .unwrap();
    let r = app.try_login("admin@dac.example", PASSWORD).await;
    assert_eq!(r.header("location"), "/compte/securite");
    let cookie = format!("__Host-atomes_session={}", r.session_token().unwrap());
    assert_eq!(app.get_with("/admin", &cookie).await.header("location"), "/compte/securite");
    let page = app.get_with("/compte/securite", &cookie).await;
    assert!(page.body.contains("vous devez activer la double authentification"));
    let csrf = page.csrf_field();
    let r = app.post_form("/compte/securite/commencer", &[("csrf", &csrf)], &cookie).await;
    assert_eq!(r.header("location"), "/compte/securite");
    let page = app.get_with("/compte/securite", &cookie).await;
    assert_eq!(page.header("cache-control"), "no-store");
    assert_eq!(page.count(".qr svg[role=img]"), 1);
    let secret: String = page.texts("code.secret")[0].split_whitespace().collect();
    let r = app.post_form("/compte/securite/activer", &[("csrf", &csrf), ("code", "000000")], &cookie).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(last_entry(&app).outcome, "failure");
    let r = app
        .post_form("/compte/securite/activer", &[("csrf", &csrf), ("code", &code_now(&app, &secret, 0))], &cookie)
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let codes = r.texts(".recovery-codes code");
    assert_eq!(codes.len(), 10);
    let e = last_entry(&app);
    assert_eq!((e.object_type.as_str(), e.outcome.as_str()), ("user_mfa", "success"));
    // The session id changed with the privilege (T6); the old cookie is dead.
    let new_cookie = format!("__Host-atomes_session={}", r.session_token().unwrap());
    assert_ne!(new_cookie, cookie);
    assert_eq!(app.get_with("/admin", &cookie).await.header("location"), "/connexion");
    assert_eq!(app.get_with("/admin", &new_cookie).await.status, StatusCode::OK);
    // The codes page is shown under the new session: its header's logout form carries its token.
    assert_eq!(r.count("form[action='/deconnexion']"), 1);
    let logout_token = r.csrf_field();
    // Administrators cannot turn it off.
    let csrf = app.get_with("/compte/securite", &new_cookie).await.csrf_field();
    let r = app
        .post_form(
            "/compte/securite/desactiver",
            &[("csrf", &csrf), ("password", PASSWORD), ("code", &code_now(&app, &secret, 1))],
            &new_cookie,
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(accounts::find_by_id(&mut app.conn(), admin.id).unwrap().unwrap().totp_secret.is_some());
    let r = app.post_form("/deconnexion", &[("csrf", &logout_token)], &new_cookie).await;
    assert_eq!((r.status, r.header("location")), (StatusCode::SEE_OTHER, "/"));
}

#[tokio::test]
async fn a_code_works_once_and_a_waiting_session_reaches_nothing_else() {
    let app = TestApp::new();
    let admin = app.create_user("admin@dac.example", PASSWORD, Role::Administrator, false);
    let r = app.try_login("admin@dac.example", PASSWORD).await;
    assert_eq!(r.header("location"), "/connexion/second-facteur");
    let e = last_entry(&app);
    assert_eq!((e.action.as_str(), e.outcome.as_str()), ("login", "pending"));
    let waiting = format!("__Host-atomes_session={}", r.session_token().unwrap());
    // Password given, code not yet: nothing but the second-factor page.
    for path in ["/admin", "/compte", "/compte/export"] {
        assert_eq!(app.get_with(path, &waiting).await.header("location"), "/connexion", "{path}");
    }
    let csrf = app.get_with("/connexion/second-facteur", &waiting).await.csrf_field();
    let code = code_now(&app, TEST_TOTP_SECRET, 0);
    let r = app.post_form("/connexion/second-facteur", &[("csrf", &csrf), ("code", &code)], &waiting).await;
    assert_eq!(r.header("location"), "/admin");
    let full = format!("__Host-atomes_session={}", r.session_token().unwrap());
    assert_ne!(full, waiting, "a new session id after the second factor");
    let e = last_entry(&app);
    assert_eq!((e.action.as_str(), e.outcome.as_str(), e.actor_id), ("login", "success", Some(admin.id)));
    // The same code again, in the same 30 s: refused (ASVS 6.5.1).
    let r = app.try_login("admin@dac.example", PASSWORD).await;
    let waiting = format!("__Host-atomes_session={}", r.session_token().unwrap());
    let csrf = app.get_with("/connexion/second-facteur", &waiting).await.csrf_field();
    let r = app.post_form("/connexion/second-facteur", &[("csrf", &csrf), ("code", &code)], &waiting).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.session_token().is_none());
    // The next step's code is accepted.
    app.clock.advance(Duration::seconds(30));
    let r = app
        .post_form(
            "/connexion/second-facteur",
            &[("csrf", &csrf), ("code", &code_now(&app, TEST_TOTP_SECRET, 0))],
            &waiting,
        )
        .await;
    assert_eq!(r.header("location"), "/admin");
}

#[tokio::test]
async fn second_factor_failures_count_with_the_password_and_waiting_sessions_expire() {
    let app = TestApp::new();
    app.create_user("admin@dac.example", PASSWORD, Role::Administrator, false);
    let r = app.try_login("admin@dac.example", PASSWORD).await;
    let waiting = format!("__Host-atomes_session={}", r.session_token().unwrap());
    let csrf = app.get_with("/connexion/second-facteur", &waiting).await.csrf_field();
    for _ in 0..5 {
        let r = app.post_form("/connexion/second-facteur", &[("csrf", &csrf), ("code", "123456")], &waiting).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    }
    // Throttled now: even the right code is refused until the delay ends.
    let r = app
        .post_form(
            "/connexion/second-facteur",
            &[("csrf", &csrf), ("code", &code_now(&app, TEST_TOTP_SECRET, 0))],
            &waiting,
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    // The waiting session lasts five minutes.
    app.clock.advance(Duration::minutes(5));
    let r = app
        .post_form(
            "/connexion/second-facteur",
            &[("csrf", &csrf), ("code", &code_now(&app, TEST_TOTP_SECRET, 0))],
            &waiting,
        )
        .await;
    assert_eq!(r.header("location"), "/connexion");
}

#[tokio::test]
async fn recovery_codes_work_once_and_a_professional_may_turn_it_off() {
    let app = TestApp::new();
    let pro = app.create_user("helene@example.org", PASSWORD, Role::Professional, false);
    let cookie = app.login("helene@example.org", PASSWORD).await;
    let csrf = app.get_with("/compte/securite", &cookie).await.csrf_field();
    app.post_form("/compte/securite/commencer", &[("csrf", &csrf)], &cookie).await;
    let secret = accounts::find_by_id(&mut app.conn(), pro.id).unwrap().unwrap().totp_pending_secret.unwrap();
    let r = app
        .post_form("/compte/securite/activer", &[("csrf", &csrf), ("code", &code_now(&app, &secret, 0))], &cookie)
        .await;
    let codes = r.texts(".recovery-codes code");
    let cookie = format!("__Host-atomes_session={}", r.session_token().unwrap());
    // A recovery code instead of the app, typed in capitals with spaces: accepted once.
    let login_with = |code: String| {
        let app = &app;
        async move {
            let r = app.try_login("helene@example.org", PASSWORD).await;
            let waiting = format!("__Host-atomes_session={}", r.session_token().unwrap());
            let csrf = app.get_with("/connexion/second-facteur", &waiting).await.csrf_field();
            app.post_form("/connexion/second-facteur", &[("csrf", &csrf), ("code", &code)], &waiting).await
        }
    };
    let typed = format!(" {} ", codes[0].to_uppercase().replace('-', " - "));
    assert_eq!(login_with(typed.clone()).await.status, StatusCode::SEE_OTHER);
    assert_eq!(login_with(typed).await.status, StatusCode::UNPROCESSABLE_ENTITY);
    // Turning it off needs the password and a current code.
    let csrf = app.get_with("/compte/securite", &cookie).await.csrf_field();
    let r = app
        .post_form(
            "/compte/securite/desactiver",
            &[("csrf", &csrf), ("password", PASSWORD), ("code", "000000")],
            &cookie,
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    app.clock.advance(Duration::seconds(30));
    let r = app
        .post_form(
            "/compte/securite/desactiver",
            &[("csrf", &csrf), ("password", PASSWORD), ("code", &code_now(&app, &secret, 0))],
            &cookie,
        )
        .await;
    assert_eq!(r.header("location"), "/compte?fait=securite");
    assert!(app.try_login("helene@example.org", PASSWORD).await.header("location") == "/");
}
