//! Login, sessions, CSRF and the password change (SECURITY-TESTS T2, T3, T6, T7, T8, T11), with
//! the journal entry asserted next to each HTTP result.

use atomes::accounts::Role;
use atomes::journal;
use axum::http::StatusCode;
use chrono::Duration;

use crate::support::{TestApp, TestResponse};

const PASSWORD: &str = "une phrase de passe solide";

fn last_entry(app: &TestApp) -> journal::JournalEntry {
    let mut conn = app.conn();
    let n = journal::count(&mut conn).unwrap();
    journal::list_all(&mut conn).unwrap().into_iter().find(|e| e.id == n).unwrap()
}

#[tokio::test]
async fn login_sets_a_strict_host_cookie_and_is_journaled() {
    let app = TestApp::new();
    let admin = app.create_user("camille@example.org", PASSWORD, Role::Professional, false);
    let r = app.try_login("Camille@Example.org", PASSWORD).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.header("location"), "/");
    // T8: every attribute, and at least 128 bits of randomness.
    let set = r.headers.get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_owned()).collect::<Vec<_>>();
    let session = set.iter().find(|c| c.starts_with("__Host-atomes_session=")).unwrap();
    for attr in ["; Path=/", "; Secure", "; HttpOnly", "; SameSite=Lax"] {
        assert!(session.contains(attr), "{attr} missing: {session}");
    }
    assert!(!session.to_lowercase().contains("domain="));
    assert_eq!(r.session_token().unwrap().len(), 64, "256 bits, hex");
    let e = last_entry(&app);
    assert_eq!((e.action.as_str(), e.outcome.as_str(), e.actor_id), ("login", "success", Some(admin.id)));
    assert_eq!(e.object_id, Some(admin.id.to_string()));
    // The header now greets the account and offers to log out.
    let cookie = format!("__Host-atomes_session={}", r.session_token().unwrap());
    let page = app.get_with("/", &cookie).await;
    assert_eq!(page.texts(".account-links .who"), vec!["Camille Durand"]);
    assert_eq!(page.count("form[action='/deconnexion']"), 1);
}

/// The body without what legitimately differs: the echoed e-mail and the form's own token.
fn without(r: &TestResponse, email: &str) -> String {
    r.body.replace(email, "EMAIL").replace(&r.csrf_field(), "TOKEN")
}

#[tokio::test]
async fn wrong_password_and_unknown_account_get_the_same_answer() {
    let app = TestApp::new();
    let user = app.create_user("helene@example.org", PASSWORD, Role::Professional, false);
    let wrong = app.try_login("helene@example.org", "pas le bon mot de passe").await;
    let unknown = app.try_login("personne@example.org", "pas le bon mot de passe").await;
    assert_eq!(wrong.status, StatusCode::OK);
    assert_eq!(wrong.status, unknown.status);
    assert_eq!(without(&wrong, "helene@example.org"), without(&unknown, "personne@example.org"));
    assert!(wrong.session_token().is_none() && unknown.session_token().is_none());
    assert_eq!(wrong.texts("[role=alert] p").len(), 1);
    // Both are journaled as failures; the known account is named by id, the unknown one not at all.
    let mut conn = app.conn();
    let entries = journal::list_all(&mut conn).unwrap();
    let failures: Vec<_> = entries.iter().filter(|e| e.action == "login" && e.outcome == "failure").collect();
    assert_eq!(failures.len(), 2);
    assert_eq!(failures[0].object_id, Some(user.id.to_string()));
    assert_eq!(failures[1].object_id, None);
}

#[tokio::test]
async fn repeated_failures_impose_a_growing_delay_that_expires() {
    let app = TestApp::new();
    app.create_user("helene@example.org", PASSWORD, Role::Professional, false);
    for _ in 0..5 {
        assert_eq!(app.try_login("helene@example.org", "mauvais mot de passe").await.status, StatusCode::OK);
    }
    // Throttled: even the right password is refused, with the same answer.
    let r = app.try_login("HELENE@example.org ", PASSWORD).await;
    assert!(r.session_token().is_none());
    // Attempts during the delay do not lengthen it.
    for _ in 0..3 {
        app.try_login("helene@example.org", "mauvais mot de passe").await;
    }
    app.clock.advance(Duration::seconds(61));
    let r = app.try_login("helene@example.org", PASSWORD).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "the delay is one minute after five failures");
}

#[tokio::test]
async fn forms_without_a_valid_csrf_token_change_nothing() {
    let app = TestApp::new();
    app.create_user("camille@example.org", PASSWORD, Role::Administrator, false);
    let before = journal::count(&mut app.conn()).unwrap();
    // Login without the double-submit cookie, or with another token.
    let r = app
        .post_form("/connexion", &[("csrf", "ab"), ("email", "camille@example.org"), ("password", PASSWORD)], "")
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = app
        .post_form(
            "/connexion",
            &[("csrf", "ab"), ("email", "camille@example.org"), ("password", PASSWORD)],
            "__Host-atomes_csrf=cd",
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(journal::count(&mut app.conn()).unwrap(), before, "no attempt was even made");

    let cookie = app.login("camille@example.org", PASSWORD).await;
    let after_login = journal::count(&mut app.conn()).unwrap();
    // Logout with another session's token, without token, from another site, or as GET.
    assert_eq!(app.post_form("/deconnexion", &[("csrf", "0000")], &cookie).await.status, StatusCode::FORBIDDEN);
    let token = app.get_with("/", &cookie).await.csrf_field();
    let req = axum::http::Request::post("/deconnexion")
        .header("content-type", "application/x-www-form-urlencoded")
        .header("cookie", &cookie)
        .header("origin", "https://evil.example")
        .header("host", "127.0.0.1:8080")
        .body(axum::body::Body::from(format!("csrf={token}")))
        .unwrap();
    assert_eq!(app.send(req).await.status, StatusCode::FORBIDDEN);
    assert_eq!(app.get_with("/deconnexion", &cookie).await.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(journal::count(&mut app.conn()).unwrap(), after_login);
    assert_eq!(app.get_with("/admin", &cookie).await.status, StatusCode::OK, "still logged in");
}

#[tokio::test]
async fn logout_ends_the_server_session() {
    let app = TestApp::new();
    let admin = app.create_user("camille@example.org", PASSWORD, Role::Administrator, false);
    let cookie = app.login("camille@example.org", PASSWORD).await;
    let token = app.get_with("/admin", &cookie).await.csrf_field();
    let r = app.post_form("/deconnexion", &[("csrf", &token)], &cookie).await;
    assert_eq!((r.status, r.header("location")), (StatusCode::SEE_OTHER, "/"));
    assert!(r.header("set-cookie").contains("Max-Age=0"));
    let e = last_entry(&app);
    assert_eq!((e.action.as_str(), e.actor_id), ("logout", Some(admin.id)));
    // Replaying the old cookie: not logged in any more.
    let r = app.get_with("/admin", &cookie).await;
    assert_eq!((r.status, r.header("location")), (StatusCode::SEE_OTHER, "/connexion"));
}

#[tokio::test]
async fn sessions_expire_when_idle_and_after_twelve_hours() {
    let app = TestApp::new();
    app.create_user("camille@example.org", PASSWORD, Role::Administrator, false);
    let cookie = app.login("camille@example.org", PASSWORD).await;
    app.clock.advance(Duration::minutes(29));
    assert_eq!(app.get_with("/admin", &cookie).await.status, StatusCode::OK);
    app.clock.advance(Duration::minutes(31));
    assert_eq!(app.get_with("/admin", &cookie).await.status, StatusCode::SEE_OTHER, "idle timeout");

    let cookie = app.login("camille@example.org", PASSWORD).await;
    for _ in 0..(12 * 3 - 1) {
        app.clock.advance(Duration::minutes(20));
        assert_eq!(app.get_with("/admin", &cookie).await.status, StatusCode::OK);
    }
    app.clock.advance(Duration::minutes(20));
    assert_eq!(app.get_with("/admin", &cookie).await.status, StatusCode::SEE_OTHER, "absolute timeout");
}

#[tokio::test]
async fn a_given_password_must_be_changed_and_the_change_rotates_sessions() {
    let app = TestApp::new();
    let admin = app.create_user("camille@example.org", PASSWORD, Role::Administrator, true);
    let other_device = app.login("camille@example.org", PASSWORD).await;
    // After the second factor, the password change comes first.
    let cookie = app.login("camille@example.org", PASSWORD).await;
    // The back office is closed until the password is changed.
    assert_eq!(app.get_with("/admin", &cookie).await.header("location"), "/compte/mot-de-passe");
    let page = app.get_with("/compte/mot-de-passe", &cookie).await;
    assert_eq!(page.texts("h1"), vec!["Changer de mot de passe"]);
    let csrf = page.csrf_field();
    // Refusals say why, in French.
    let short = [("csrf", csrf.as_str()), ("current", PASSWORD), ("new", "court"), ("confirm", "court")];
    let r = app.post_form("/compte/mot-de-passe", &short, &cookie).await;
    assert!(r.texts("[role=alert]")[0].contains("au moins 12 caractères"), "{:?}", r.texts("[role=alert]"));
    let wrong = [
        ("csrf", csrf.as_str()),
        ("current", "faux mot de passe"),
        ("new", "nouvelle phrase secrète"),
        ("confirm", "nouvelle phrase secrète"),
    ];
    let r = app.post_form("/compte/mot-de-passe", &wrong, &cookie).await;
    assert!(r.texts("[role=alert]")[0].contains("actuel est incorrect"));

    let good = [
        ("csrf", csrf.as_str()),
        ("current", PASSWORD),
        ("new", "nouvelle phrase secrète"),
        ("confirm", "nouvelle phrase secrète"),
    ];
    let r = app.post_form("/compte/mot-de-passe", &good, &cookie).await;
    assert_eq!((r.status, r.header("location")), (StatusCode::SEE_OTHER, "/admin"));
    let new_cookie = format!("__Host-atomes_session={}", r.session_token().unwrap());
    assert_ne!(new_cookie, cookie, "the session id changes with the privilege");
    let e = last_entry(&app);
    assert_eq!(
        (e.action.as_str(), e.object_type.as_str(), e.actor_id),
        ("modification", "user_password", Some(admin.id))
    );
    assert_eq!(app.get_with("/admin", &new_cookie).await.status, StatusCode::OK);
    assert_eq!(app.get_with("/admin", &cookie).await.header("location"), "/connexion", "old session ended");
    assert_eq!(app.get_with("/admin", &other_device).await.header("location"), "/connexion", "other sessions ended");
    assert!(app.try_login("camille@example.org", PASSWORD).await.session_token().is_none());
    assert!(app.try_login("camille@example.org", "nouvelle phrase secrète").await.session_token().is_some());
}

#[tokio::test]
async fn a_proxy_that_rewrites_host_is_accepted_when_the_origin_is_the_public_url() {
    let app = TestApp::with_config(|c| c.public_url = "https://atomes.example.org".parse().unwrap());
    let csrf = app.login_csrf().await;
    let post = |origin: &'static str| {
        axum::http::Request::post("/connexion")
            .header("content-type", "application/x-www-form-urlencoded")
            .header("cookie", format!("__Host-atomes_csrf={csrf}"))
            .header("host", "backend:8080")
            .header("origin", origin)
            .body(axum::body::Body::from(format!("csrf={csrf}&email=x%40example.org&password=nope")))
            .unwrap()
    };
    assert_eq!(app.send(post("https://atomes.example.org")).await.status, StatusCode::OK);
    assert_eq!(app.send(post("https://evil.example")).await.status, StatusCode::FORBIDDEN);
}
