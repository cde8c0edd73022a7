//! Rate limits against robots (SPEC ACC-7, CGU §5.3.1; SECURITY-TESTS T19, ASVS 2.4.1): the
//! default thresholds, the French 429 with `Retry-After` (JSON under `/api`), time moved with the
//! clock, and the evasions that must fail: another address in `X-Forwarded-For` from an untrusted
//! peer, switching between pages and the API, changing address while logged in.

use std::net::SocketAddr;

use atomes::accounts::Role;
use atomes::journal;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode};
use chrono::Duration;

use crate::support::{TestApp, TestResponse};

const PASSWORD: &str = "une phrase de passe solide";
/// The default anonymous burst (`rate_limits.anonymous.burst`).
const ANONYMOUS_BURST: usize = 60;
/// The default account burst (`rate_limits.account.burst`).
const ACCOUNT_BURST: usize = 120;

/// `GET path` from the TCP peer `peer`, with extra headers.
async fn get_from(app: &TestApp, peer: &str, path: &str, headers: &[(&str, &str)]) -> TestResponse {
    let mut req = Request::get(path);
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    let mut req = req.body(Body::empty()).unwrap();
    let addr = SocketAddr::new(peer.parse().unwrap(), 40000);
    req.extensions_mut().insert(ConnectInfo(addr));
    app.send(req).await
}

/// Sends `n` anonymous page views from 127.0.0.1 and checks that they were all served.
async fn spend(app: &TestApp, n: usize) {
    for i in 0..n {
        let r = app.get("/cgu").await;
        assert_eq!(r.status, StatusCode::OK, "request {} of {n}", i + 1);
    }
}

fn rate_limited_count(app: &TestApp, rule: &str) -> String {
    let text = app.state.metrics.render(app.state.db.pool_state());
    let prefix = format!("atomes_rate_limited_total{{rule=\"{rule}\"}} ");
    text.lines().find_map(|l| l.strip_prefix(&prefix)).unwrap_or("0").to_owned()
}

#[tokio::test]
async fn a_burst_over_the_limit_gets_a_french_429_until_the_clock_moves() {
    let app = TestApp::new();
    spend(&app, ANONYMOUS_BURST).await;
    let r = app.get("/cgu").await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    // 300 a minute: the next request is allowed 200 ms later, announced as one whole second.
    assert_eq!(r.header("retry-after"), "1");
    assert_eq!(r.texts("h1"), vec!["Trop de requêtes"]);
    assert_eq!(
        r.texts("p.notice"),
        vec!["Vous avez envoyé beaucoup de requêtes en peu de temps : merci de réessayer dans 1 seconde."]
    );
    assert!(r.body.contains("<html lang=\"fr\">"));
    assert!(!r.header("content-security-policy").is_empty(), "security headers on the 429 too");
    assert!(!r.header("x-request-id").is_empty());
    assert_eq!(rate_limited_count(&app, "anonymous"), "1");
    // Refused requests do not push the wait further.
    for _ in 0..20 {
        assert_eq!(app.get("/").await.status, StatusCode::TOO_MANY_REQUESTS);
    }
    app.clock.advance(Duration::seconds(1));
    assert_eq!(app.get("/cgu").await.status, StatusCode::OK);
    // After a quiet minute the whole burst is back.
    app.clock.advance(Duration::minutes(1));
    spend(&app, ANONYMOUS_BURST).await;
    assert_eq!(app.get("/cgu").await.status, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn the_api_shares_the_budget_and_answers_in_json() {
    let app = TestApp::new();
    spend(&app, ANONYMOUS_BURST).await;
    let r = app.get("/api/directory/search?q=ssiad").await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.header("retry-after"), "1");
    assert!(r.header("content-type").starts_with("application/json"));
    let j = r.json();
    assert_eq!(j["error"]["status"], 429);
    assert_eq!(j["error"]["code"], "too_many_requests");
    let message = j["error"]["message"].as_str().unwrap();
    assert!(message.contains("réessayer dans 1 seconde"), "{message}");
    app.clock.advance(Duration::seconds(1));
    assert_eq!(app.get("/api/directory/search?q=ssiad").await.status, StatusCode::OK);
}

#[tokio::test]
async fn another_address_keeps_its_own_budget() {
    let app = TestApp::new();
    spend(&app, ANONYMOUS_BURST).await;
    assert_eq!(app.get("/cgu").await.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(get_from(&app, "192.0.2.10", "/cgu", &[]).await.status, StatusCode::OK);
    assert_eq!(get_from(&app, "2001:db8:1:2::10", "/cgu", &[]).await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_forwarded_for_header_from_an_untrusted_peer_earns_no_fresh_budget() {
    let app = TestApp::new();
    spend(&app, ANONYMOUS_BURST).await;
    for i in 1..=20 {
        let forged = format!("198.51.100.{i}");
        let headers = [
            ("x-forwarded-for", forged.as_str()),
            ("x-real-ip", forged.as_str()),
            ("forwarded", &format!("for={forged}")),
        ];
        let r = get_from(&app, "127.0.0.1", "/cgu", &headers).await;
        assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "forged address {forged}");
    }
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_client_has_its_own_budget() {
    let app = TestApp::with_config(|c| c.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()]);
    let first = [("x-forwarded-for", "203.0.113.1")];
    for _ in 0..ANONYMOUS_BURST {
        assert_eq!(get_from(&app, "127.0.0.1", "/cgu", &first).await.status, StatusCode::OK);
    }
    assert_eq!(get_from(&app, "127.0.0.1", "/cgu", &first).await.status, StatusCode::TOO_MANY_REQUESTS);
    // The same client writing another address in front of the one the proxy appends: refused.
    let spoofed = [("x-forwarded-for", "203.0.113.99, 203.0.113.1")];
    assert_eq!(get_from(&app, "127.0.0.1", "/cgu", &spoofed).await.status, StatusCode::TOO_MANY_REQUESTS);
    // Another client of the same proxy, and the proxy's own requests: served.
    let second = [("x-forwarded-for", "203.0.113.2")];
    assert_eq!(get_from(&app, "127.0.0.1", "/cgu", &second).await.status, StatusCode::OK);
    assert_eq!(get_from(&app, "127.0.0.1", "/cgu", &[]).await.status, StatusCode::OK);
}

#[tokio::test]
async fn static_files_and_probes_are_never_limited() {
    let app = TestApp::new();
    let home = app.get("/").await;
    let doc = scraper::Html::parse_document(&home.body);
    let link = scraper::Selector::parse("link[rel=stylesheet]").unwrap();
    let css = doc.select(&link).next().unwrap().value().attr("href").unwrap().to_owned();
    spend(&app, ANONYMOUS_BURST - 1).await;
    assert_eq!(app.get("/").await.status, StatusCode::TOO_MANY_REQUESTS);
    for _ in 0..100 {
        assert_eq!(app.get(&css).await.status, StatusCode::OK);
    }
    assert_eq!(app.get("/healthz").await.status, StatusCode::OK);
    assert_eq!(app.get("/readyz").await.status, StatusCode::OK);
    assert_eq!(app.get("/metrics").await.status, StatusCode::NOT_FOUND, "no token: hidden, not limited");
}

#[tokio::test]
async fn logged_in_professionals_are_counted_per_account_wherever_they_are() {
    let app = TestApp::new();
    app.create_user("helene@example.org", PASSWORD, Role::Professional, false);
    app.create_user("karim@example.org", PASSWORD, Role::Professional, false);
    let helene = app.login("helene@example.org", PASSWORD).await;
    let karim = app.login("karim@example.org", PASSWORD).await;
    // The visitors of the address have spent its budget; the professionals behind it have not.
    app.clock.advance(Duration::minutes(1));
    spend(&app, ANONYMOUS_BURST).await;
    assert_eq!(app.get("/cgu").await.status, StatusCode::TOO_MANY_REQUESTS);
    for i in 0..ACCOUNT_BURST {
        let r = app.get_with("/cgu", &helene).await;
        assert_eq!(r.status, StatusCode::OK, "request {} of the account", i + 1);
    }
    let r = app.get_with("/cgu", &helene).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.header("retry-after"), "1", "600 a minute: 100 ms, announced as one second");
    assert_eq!(rate_limited_count(&app, "account"), "1");
    // Another address does not give the account a new budget; another account has its own.
    let cookie = [("cookie", helene.as_str())];
    assert_eq!(get_from(&app, "192.0.2.30", "/cgu", &cookie).await.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(app.get_with("/cgu", &karim).await.status, StatusCode::OK);
    app.clock.advance(Duration::seconds(1));
    assert_eq!(app.get_with("/cgu", &helene).await.status, StatusCode::OK);
}

#[tokio::test]
async fn login_submissions_have_a_stricter_budget_and_refusals_are_not_journaled() {
    let app = TestApp::new();
    // Ten attempts at once (unknown accounts: no per-account delay gets in the way).
    for i in 0..10 {
        let r = app.try_login(&format!("inconnu{i}@example.org"), "mauvais mot de passe").await;
        assert_eq!(r.status, StatusCode::OK, "attempt {}", i + 1);
    }
    let before = journal::count(&mut app.conn()).unwrap();
    let r = app.try_login("inconnu@example.org", "mauvais mot de passe").await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    // 10 a minute: one attempt every 6 seconds once the burst is spent.
    assert_eq!(r.header("retry-after"), "6");
    assert_eq!(r.texts("h1"), vec!["Trop de requêtes"]);
    assert!(r.texts("p.notice")[0].ends_with("réessayer dans 6 secondes."));
    assert_eq!(journal::count(&mut app.conn()).unwrap(), before, "a refused request reaches no handler");
    assert_eq!(rate_limited_count(&app, "authentication"), "1");
    // Reading pages, the login form included, is still allowed; another address may log in.
    assert_eq!(app.get("/connexion").await.status, StatusCode::OK);
    let csrf = app.login_csrf().await;
    let mut req = Request::post("/connexion")
        .header("content-type", "application/x-www-form-urlencoded")
        .header("cookie", format!("__Host-atomes_csrf={csrf}"))
        .body(Body::from(format!("csrf={csrf}&email=x%40example.org&password=y")))
        .unwrap();
    req.extensions_mut().insert(ConnectInfo(SocketAddr::from(([192, 0, 2, 40], 40000))));
    assert_eq!(app.send(req).await.status, StatusCode::OK);
    app.clock.advance(Duration::seconds(6));
    assert_eq!(app.try_login("inconnu@example.org", "mauvais mot de passe").await.status, StatusCode::OK);
}

#[tokio::test]
async fn limits_can_be_turned_off_for_benchmarks() {
    let app = TestApp::with_config(|c| c.rate_limits.enabled = false);
    spend(&app, 3 * ANONYMOUS_BURST).await;
    assert_eq!(rate_limited_count(&app, "anonymous"), "0");
}
