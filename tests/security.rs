//! SECURITY-TESTS T2 (distributed brute force), T6 (session fixation), T8 (every cookie) and
//! T11 (CSRF on every state-changing route, the list checked against the router's source).
//! Each test prints its figures (`cargo test security -- --nocapture`), recorded in
//! docs/SECURITY.md.

use std::net::SocketAddr;

use atomes::accounts::Role;
use atomes::db::schema::{mail_outbox, users};
use atomes::journal;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Method, Request, StatusCode};
use diesel::prelude::*;

use crate::support::{TestApp, TestResponse};

const PASSWORD: &str = "une phrase de passe solide";

/// T2: 300 wrong passwords on one account from 100 addresses. The per-account delay holds
/// whatever the address; the owner gets in once the delay is over.
#[tokio::test]
async fn a_distributed_guess_is_held_by_the_per_account_delay() {
    let app = TestApp::new();
    let victim = app.create_user("victime@example.org", PASSWORD, Role::Professional, false);
    let csrf = app.login_csrf().await;
    let mut accepted = 0;
    let mut throttled_after = None;
    for i in 0..300u32 {
        let ip = [10, 0, (i % 100 / 250) as u8, (i % 100 + 1) as u8];
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs([
                ("csrf", csrf.as_str()),
                ("email", "victime@example.org"),
                ("password", &format!("essai numéro {i}")),
            ])
            .finish();
        let mut req = Request::post("/connexion")
            .header("content-type", "application/x-www-form-urlencoded")
            .header("cookie", format!("__Host-atomes_csrf={csrf}"))
            .body(Body::from(body))
            .unwrap();
        req.extensions_mut().insert(ConnectInfo(SocketAddr::from((ip, 40000))));
        let r = app.send(req).await;
        accepted += usize::from(r.session_token().is_some());
        let blocked: Option<chrono::NaiveDateTime> =
            users::table.find(victim.id).select(users::login_blocked_until).first(&mut *app.conn()).unwrap();
        if throttled_after.is_none() && blocked.is_some() {
            throttled_after = Some(i + 1);
        }
    }
    let checked: i32 = users::table.find(victim.id).select(users::failed_logins).first(&mut *app.conn()).unwrap();
    eprintln!(
        "T2 figures: attempts sent 300 from 100 addresses / checked against the hash {checked} / delay from attempt {} / accepted {accepted}",
        throttled_after.unwrap_or(0)
    );
    assert_eq!(accepted, 0);
    assert_eq!(checked, 5, "only the free attempts are checked; the rest wait for the delay");
    // No lasting lock-out of the victim: after the delay, the right password works.
    app.clock.advance(chrono::Duration::seconds(61));
    assert!(app.try_login("victime@example.org", PASSWORD).await.session_token().is_some());
    eprintln!("T2 figures: locked-out victims after the delay 0");
}

/// T6: a session cookie planted before login is never adopted; the login sets a new one and
/// the planted value stays worthless.
#[tokio::test]
async fn a_planted_session_cookie_is_not_adopted() {
    let app = TestApp::new();
    app.create_user("helene@example.org", PASSWORD, Role::Professional, false);
    let planted = "ab".repeat(32);
    let csrf = app.login_csrf().await;
    let r = app
        .post_form(
            "/connexion",
            &[("csrf", &csrf), ("email", "helene@example.org"), ("password", PASSWORD)],
            &format!("__Host-atomes_csrf={csrf}; __Host-atomes_session={planted}"),
        )
        .await;
    let issued = r.session_token().unwrap();
    assert_ne!(issued, planted);
    let r = app.get_with("/compte", &format!("__Host-atomes_session={planted}")).await;
    assert_eq!(r.header("location"), "/connexion");
    eprintln!("T6 figures: cookie rotated yes / planted cookie accepted 0");
}

fn set_cookies(r: &TestResponse) -> Vec<String> {
    r.headers.get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_owned()).collect()
}

/// T8: every `Set-Cookie` the portal sends, on every kind of page, has all the attributes.
#[tokio::test]
async fn every_cookie_is_host_only_secure_httponly_and_lax() {
    let app = TestApp::new();
    app.create_user("helene@example.org", PASSWORD, Role::Professional, false);
    let mut cookies = Vec::new();
    for path in ["/", "/connexion", "/inscription", "/mot-de-passe-oublie", "/annuaire", "/cgu"] {
        cookies.extend(set_cookies(&app.get(path).await));
    }
    cookies.extend(set_cookies(&app.try_login("helene@example.org", PASSWORD).await));
    let cookie = app.login("helene@example.org", PASSWORD).await;
    let token = app.get_with("/compte", &cookie).await.csrf_field();
    cookies.extend(set_cookies(&app.post_form("/deconnexion", &[("csrf", &token)], &cookie).await));
    let mut violations = 0;
    for c in &cookies {
        let ok = c.starts_with("__Host-")
            && c.contains("; Path=/")
            && c.contains("; Secure")
            && c.contains("; HttpOnly")
            && c.contains("; SameSite=Lax")
            && !c.to_lowercase().contains("domain=");
        violations += usize::from(!ok);
        assert!(ok, "{c}");
    }
    eprintln!("T8 figures: cookies {} / violations {violations}", cookies.len());
    assert!(cookies.len() >= 4);
}

/// Every state-changing route of the portal (method, path with ids filled in).
const STATE_CHANGING: &[&str] = &[
    "/connexion",
    "/deconnexion",
    "/compte/mot-de-passe",
    "/inscription",
    "/compte/verification",
    "/mot-de-passe-oublie",
    "/mot-de-passe/nouveau",
    "/compte/profil",
    "/compte/courriel",
    "/compte/courriel/confirmation",
    "/compte/fermeture",
    "/connexion/second-facteur",
    "/compte/securite/commencer",
    "/compte/securite/activer",
    "/compte/securite/codes",
    "/compte/securite/desactiver",
    "/invitation",
    "/organisation/invitations",
    "/organisation/membres/{id}/action",
    "/admin/comptes/{id}/action",
    "/admin/comptes/{id}/role",
    "/admin/organisations",
    "/admin/organisations/{id}/invitations",
    "/admin/organisations/{id}/statut",
    "/conditions/accepter",
    "/conditions/refuser",
    "/conditions/fonction/{key}/accepter",
    "/admin/documents/nouveau",
    "/admin/documents/{id}",
    "/admin/documents/{id}/publier",
    "/admin/documents/{id}/supprimer",
    "/annuaire/{id}/signaler",
    "/admin/signalements/{id}",
    "/admin/annuaire/entrees/nouvelle",
    "/admin/annuaire/entrees/{id}",
    "/admin/annuaire/entrees/{id}/statut",
    "/admin/annuaire/imports",
];

/// The POST routes declared in the router's source, so that a new route cannot miss the matrix.
fn post_routes_in_router() -> Vec<String> {
    let src = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/src/web/router.rs")).unwrap();
    let mut out = Vec::new();
    for line in src.lines().map(str::trim).filter(|l| l.starts_with(".route(") && l.contains("post(")) {
        if let Some(path) = line.split('"').nth(1) {
            out.push(path.to_owned());
        }
    }
    for writer in ["put(", "patch(", "delete("] {
        assert!(!src.contains(writer), "the CSRF guard covers POST only: {writer} needs it too");
    }
    out
}

fn counts(app: &TestApp) -> (i64, i64, Vec<(String, String)>) {
    let mut c = app.conn();
    let journal = journal::count(&mut c).unwrap();
    let mails: i64 = mail_outbox::table.count().get_result(&mut *c).unwrap();
    let people: Vec<(String, String)> =
        users::table.select((users::status, users::role)).order(users::id).load(&mut *c).unwrap();
    (journal, mails, people)
}

/// T11: every state-changing route, with a valid session, refuses (a) no token, (b) another
/// session's token, (c) a foreign `Origin`, (d) GET; nothing is journaled or changed.
#[tokio::test]
async fn every_state_changing_route_refuses_forged_requests() {
    // What refuses these requests must be the CSRF check, not the rate limits (tested apart).
    let app = TestApp::with_config(|c| c.rate_limits.enabled = false);
    let admin = app.create_user("admin@dac.example", PASSWORD, Role::Administrator, false);
    let other = app.create_user("autre@dac.example", PASSWORD, Role::Administrator, false);
    let mut declared = post_routes_in_router();
    declared.sort();
    let mut listed: Vec<String> = STATE_CHANGING.iter().map(|s| (*s).to_owned()).collect();
    listed.sort();
    assert_eq!(declared, listed, "the T11 list must name every POST route of src/web/router.rs");

    let cookie = app.login("admin@dac.example", PASSWORD).await;
    let other_cookie = app.login("autre@dac.example", PASSWORD).await;
    let other_token = app.get_with("/compte", &other_cookie).await.csrf_field();
    let _ = (admin, other);
    let before = counts(&app);
    let mut sent = 0;
    let mut accepted = Vec::new();
    for route in STATE_CHANGING {
        let path = route.replace("{id}", "1").replace("{key}", "applications");
        let fields = [("email", "x@example.org"), ("password", PASSWORD), ("action", "desactiver"), ("name", "X")];
        let variants: Vec<(&str, Request<Body>)> = vec![
            ("no token", form(&path, &fields, None, &cookie, None)),
            ("other session's token", form(&path, &fields, Some(&other_token), &cookie, None)),
            ("foreign origin", form(&path, &fields, Some(&other_token), &cookie, Some("https://evil.example"))),
            (
                "GET",
                Request::builder()
                    .method(Method::GET)
                    .uri(&path)
                    .header("cookie", &cookie)
                    .body(Body::empty())
                    .unwrap(),
            ),
        ];
        for (name, req) in variants {
            sent += 1;
            // Each from its own address: the rate limits are not what refuses them here.
            let mut req = req;
            req.extensions_mut()
                .insert(ConnectInfo(SocketAddr::from(([10, 1, (sent / 250) as u8, (sent % 250) as u8], 40000))));
            let r = app.send(req).await;
            // A POST is refused by the CSRF check itself (403), whatever its other fields; a GET
            // either has no route (405) or shows a page without changing anything.
            // (what a GET may answer does not matter: the counts below show it changed nothing).
            let refused = name == "GET" || r.status == StatusCode::FORBIDDEN;
            if !refused {
                accepted.push(format!("{route} [{name}] → {}", r.status));
            }
        }
    }
    // A GET that shows a page may journal a consultation (the page itself); nothing else moves.
    let after = counts(&app);
    assert_eq!(after.1, before.1, "no mail sent");
    assert_eq!(after.2, before.2, "no account changed");
    let mut c = app.conn();
    let new_entries = journal::list_after(&mut c, before.0, 1000).unwrap();
    let writes: Vec<_> = new_entries.iter().filter(|e| e.action != "consultation").collect();
    eprintln!(
        "T11 figures: routes {} × 4 variants = {sent} requests / accepted {}",
        STATE_CHANGING.len(),
        accepted.len()
    );
    assert!(writes.is_empty(), "journaled writes: {writes:?}");
    assert!(accepted.is_empty(), "{accepted:#?}");
}

fn form(path: &str, fields: &[(&str, &str)], csrf: Option<&str>, cookie: &str, origin: Option<&str>) -> Request<Body> {
    let mut all: Vec<(&str, &str)> = fields.to_vec();
    if let Some(t) = csrf {
        all.push(("csrf", t));
    }
    let body = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(all).finish();
    let mut b =
        Request::post(path).header("content-type", "application/x-www-form-urlencoded").header("cookie", cookie);
    if let Some(o) = origin {
        b = b.header("origin", o).header("host", "127.0.0.1:8080");
    }
    b.body(Body::from(body)).unwrap()
}

/// T4: the Unicode disguises of two existing addresses, tried at registration, login and reset.
/// Figures: variants / duplicate accounts / reset mails to an address not on file / 5xx.
#[tokio::test]
async fn unicode_disguises_never_reach_another_account() {
    let app = TestApp::new();
    app.create_user("admin@example.org", PASSWORD, Role::Professional, false);
    app.create_user("hélène@example.org", PASSWORD, Role::Professional, false);
    app.create_user("info@example.org", PASSWORD, Role::Professional, false);
    app.create_user("karim@example.org", PASSWORD, Role::Professional, false);
    app.create_user("sophie@example.org", PASSWORD, Role::Professional, false);
    app.create_user("finance@example.org", PASSWORD, Role::Professional, false);
    let variants = [
        "ａｄｍｉｎ@example.org",
        "\u{212A}arim@example.org",
        "\u{017F}ophie@example.org",
        "\u{0131}nfo@example.org",
        "\u{FB01}nance@example.org",
        "he\u{0301}le\u{0300}ne@example.org",
        "ad\u{200B}min@example.org",
        "\u{202E}admin@example.org",
    ];
    let long = "a".repeat(100_000);
    let mut server_errors = 0;
    let csrf = app.login_csrf().await;
    let cookie = format!("__Host-atomes_csrf={csrf}");
    for (i, v) in variants.iter().copied().chain([long.as_str()]).enumerate() {
        let n = u8::try_from(i + 1).unwrap();
        let from = |mut r: Request<Body>| {
            r.extensions_mut().insert(ConnectInfo(SocketAddr::from(([10, 2, 0, n], 40000))));
            r
        };
        let fields = [
            ("csrf", csrf.as_str()),
            ("given_name", "Test"),
            ("family_name", "Variante"),
            ("profession", "medecin"),
            ("structure", "Cabinet"),
            ("phone", "0612345678"),
            ("email", v),
            ("password", PASSWORD),
            ("confirm", PASSWORD),
        ];
        for (path, body) in [
            ("/inscription", url::form_urlencoded::Serializer::new(String::new()).extend_pairs(fields).finish()),
            ("/connexion", url::form_urlencoded::Serializer::new(String::new()).extend_pairs(&fields[..]).finish()),
            (
                "/mot-de-passe-oublie",
                url::form_urlencoded::Serializer::new(String::new()).extend_pairs(&fields[..]).finish(),
            ),
        ] {
            let req = Request::post(path)
                .header("content-type", "application/x-www-form-urlencoded")
                .header("cookie", &cookie)
                .body(Body::from(body))
                .unwrap();
            let r = app.send(from(req)).await;
            server_errors += usize::from(r.status.is_server_error());
        }
    }
    let mut c = app.conn();
    let accounts: i64 = users::table.count().get_result(&mut *c).unwrap();
    let stored: Vec<String> = users::table.select(users::email).load(&mut *c).unwrap();
    let stray: i64 = mail_outbox::table
        .filter(mail_outbox::subject.like("%nouveau mot de passe%"))
        .filter(mail_outbox::recipient.ne_all(&stored))
        .count()
        .get_result(&mut *c)
        .unwrap();
    eprintln!(
        "T4 figures: variants {} / duplicate accounts {} / reset mails to an address not on file {stray} / 5xx {server_errors}",
        variants.len() + 1,
        accounts - 6
    );
    assert_eq!((accounts, stray, server_errors), (6, 0, 0));
}
