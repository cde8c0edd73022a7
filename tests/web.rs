//! The web skeleton: French pages, legal pages, security headers, error pages that leak
//! nothing, body limits, methods, static files, probes and metrics.

use axum::http::{Method, StatusCode};

use atomes::config::Secret;

use crate::support::{TestApp, TestResponse};

/// Words that must never reach a client: framework names, SQL, stack traces, versions.
const LEAKS: &[&str] = &[
    "axum",
    "diesel",
    "hyper",
    "tokio",
    "sqlite",
    "postgres",
    "SELECT",
    "panicked",
    "stack",
    "src/",
    env!("CARGO_PKG_VERSION"),
];

fn assert_security_headers(r: &TestResponse) {
    let csp = r.header("content-security-policy");
    assert!(csp.contains("frame-ancestors 'none'"), "CSP: {csp}");
    assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"), "CSP: {csp}");
    assert_eq!(r.header("x-content-type-options"), "nosniff");
    assert_eq!(r.header("referrer-policy"), "same-origin");
    assert_eq!(r.header("x-frame-options"), "DENY");
    assert!(r.header("server").is_empty());
    let id = r.header("x-request-id");
    assert!(id.len() == 32 && id.chars().all(|c| c.is_ascii_hexdigit()), "request id {id:?}");
}

fn assert_no_leak(r: &TestResponse) {
    for word in LEAKS {
        assert!(
            !r.body.to_lowercase().contains(&word.to_lowercase()),
            "{word:?} leaked in {} body: {}",
            r.status,
            r.body
        );
    }
}

#[tokio::test]
async fn home_page_is_french_and_accessible_in_structure() {
    let app = TestApp::new();
    let r = app.get("/").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_security_headers(&r);
    assert_eq!(r.header("cache-control"), "no-store");
    assert!(r.body.contains("<html lang=\"fr\">"));
    assert_eq!(r.count("h1"), 1);
    assert_eq!(r.texts("a.skip-link"), vec!["Aller au contenu"]);
    assert_eq!(r.count("main#contenu"), 1);
    assert_eq!(r.count("header"), 1);
    assert_eq!(r.count("footer"), 1);
    let nav = r.texts("nav.main-nav a");
    assert_eq!(nav, vec!["Annuaire", "Actualités", "Évènements", "Adhésion", "Applications", "Contact"]);
    let legal = r.texts("footer a");
    for l in ["Conditions générales d'utilisation", "Données personnelles", "Mentions légales"] {
        assert!(legal.iter().any(|t| t == l), "{l} missing from footer: {legal:?}");
    }
    // Every image has an alt attribute (empty for decoration).
    let doc = scraper::Html::parse_document(&r.body);
    let img = scraper::Selector::parse("img").unwrap();
    assert!(doc.select(&img).all(|i| i.value().attr("alt").is_some()));
    // The configured territory is listed.
    assert!(r.texts("ul.communes li").contains(&"Colombes".to_owned()));
}

#[tokio::test]
async fn announced_services_say_they_are_coming_and_mark_the_current_link() {
    let app = TestApp::new();
    for (path, label) in [("/actualites", "Actualités"), ("/evenements", "Évènements"), ("/contact", "Contact")] {
        let r = app.get(path).await;
        assert_eq!(r.status, StatusCode::OK, "{path}");
        assert_eq!(r.texts("h1"), vec![label]);
        assert!(r.body.contains("bientôt disponible"));
        assert_eq!(r.texts("nav.main-nav a[aria-current=page]"), vec![label]);
    }
}

#[tokio::test]
async fn legal_pages_are_public_and_name_the_configured_host() {
    let app = TestApp::with_config(|c| {
        c.portal.host.name = "Hébergeur Certifié Test SAS".into();
        c.portal.association = "DAC Test".into();
    });
    let r = app.get("/cgu").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.texts("h1"), vec!["Conditions générales d’utilisation"]);
    assert!(r.count("nav.toc li") >= 9, "the CGU has a table of contents");
    assert!(r.body.contains("hébergeur"));
    let r = app.get("/donnees-personnelles").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.count("h1"), 1);
    let r = app.get("/mentions-legales").await;
    assert_eq!(r.status, StatusCode::OK);
    // Version 1 of the legal notice is written from the configuration (later ones in the back office).
    assert!(r.texts(".prose p").iter().any(|p| p.contains("Hébergeur Certifié Test SAS")));
    assert!(r.body.contains("DAC Test"));
    assert_eq!(app.get("/accessibilite").await.status, StatusCode::OK);
}

#[tokio::test]
async fn not_found_is_a_french_page_that_leaks_nothing() {
    let app = TestApp::new();
    let r = app.get("/wp-admin/../../etc/passwd").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.texts("h1"), vec!["Page introuvable"]);
    assert_security_headers(&r);
    assert_no_leak(&r);
}

#[tokio::test]
async fn trace_unknown_and_wrong_methods_get_405() {
    let app = TestApp::new();
    for method in [Method::TRACE, Method::CONNECT, Method::from_bytes(b"PROPFIND").unwrap()] {
        let r = app.request(method.clone(), "/", "").await;
        assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED, "{method}");
        assert!(!r.header("allow").is_empty());
        assert_no_leak(&r);
    }
    // A known route with a method it does not take.
    let r = app.request(Method::DELETE, "/cgu", "").await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(r.texts("h1"), vec!["Méthode non autorisée"]);
    assert!(r.header("allow").contains("GET"));
    assert_security_headers(&r);
}

#[tokio::test]
async fn oversized_bodies_get_a_french_413() {
    let app = TestApp::with_config(|c| c.max_body_bytes = 4096);
    let req = axum::http::Request::post("/contact")
        .header("content-length", "10000")
        .body(axum::body::Body::from(vec![b'a'; 10_000]))
        .unwrap();
    let r = app.send(req).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(r.texts("h1"), vec!["Envoi trop volumineux"]);
    assert_no_leak(&r);
    assert_security_headers(&r);
}

#[tokio::test]
async fn api_errors_are_json() {
    let app = TestApp::new();
    let r = app.get("/api/nothing-here").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(r.header("content-type").starts_with("application/json"));
    let j = r.json();
    assert_eq!(j["error"]["code"], "not_found");
    assert_eq!(j["error"]["status"], 404);
    assert!(j["error"]["message"].as_str().unwrap().contains("page demandée"));
    assert_security_headers(&r);
}

#[tokio::test]
async fn hsts_only_over_https() {
    let app = TestApp::new();
    assert!(app.get("/").await.header("strict-transport-security").is_empty());
    let app = TestApp::with_config(|c| c.public_url = "https://atomes.example.org".parse().unwrap());
    let hsts = app.get("/").await.header("strict-transport-security").to_owned();
    assert!(hsts.contains("max-age=63072000") && hsts.contains("includeSubDomains"), "{hsts}");
    assert!(!app.get("/nope").await.header("strict-transport-security").is_empty(), "errors too");
}

#[tokio::test]
async fn static_files_are_fingerprinted_precompressed_and_cached() {
    let app = TestApp::new();
    let home = app.get("/").await;
    let doc = scraper::Html::parse_document(&home.body);
    let link = scraper::Selector::parse("link[rel=stylesheet]").unwrap();
    let href = doc.select(&link).next().unwrap().value().attr("href").unwrap().to_owned();
    let req =
        axum::http::Request::get(&href).header("accept-encoding", "gzip, br").body(axum::body::Body::empty()).unwrap();
    let r = app.send(req).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.header("content-encoding"), "br");
    assert_eq!(r.header("content-type"), "text/css; charset=utf-8");
    assert_eq!(r.header("cache-control"), "public, max-age=31536000, immutable");
    assert_security_headers(&r);
    let etag = r.header("etag").to_owned();
    let req = axum::http::Request::get(&href).header("if-none-match", etag).body(axum::body::Body::empty()).unwrap();
    assert_eq!(app.send(req).await.status, StatusCode::NOT_MODIFIED);
    assert_eq!(app.get("/static/0/nothing.js").await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn probes_answer_and_metrics_are_not_public() {
    let app = TestApp::new();
    assert_eq!(app.get("/healthz").await.body, "ok");
    let r = app.get("/readyz").await;
    assert_eq!((r.status, r.body.as_str()), (StatusCode::OK, "ready"));
    assert_eq!(app.get("/metrics").await.status, StatusCode::NOT_FOUND);

    let app = TestApp::with_config(|c| c.metrics_token = Some(Secret::new("s3cret-metrics-token")));
    assert_eq!(app.get("/metrics").await.status, StatusCode::NOT_FOUND);
    let wrong = axum::http::Request::get("/metrics")
        .header("authorization", "Bearer nope")
        .body(axum::body::Body::empty())
        .unwrap();
    assert_eq!(app.send(wrong).await.status, StatusCode::NOT_FOUND);
    app.get("/cgu").await;
    let ok = axum::http::Request::get("/metrics")
        .header("authorization", "Bearer s3cret-metrics-token")
        .body(axum::body::Body::empty())
        .unwrap();
    let r = app.send(ok).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.body.contains("atomes_http_requests_total{method=\"GET\",route=\"/cgu\",status=\"200\"} 1"),
        "{}",
        r.body
    );
    assert!(r.body.contains("atomes_db_pool_connections"));
}

#[tokio::test]
async fn an_exhausted_pool_gives_503_with_retry_after_not_500() {
    let app = TestApp::new();
    // Hold every connection of the pool (8), as a stuck batch would.
    let held: Vec<_> = (0..8).map(|_| app.conn()).collect();
    let r = app.get("/readyz").await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(r.header("retry-after"), "2");
    drop(held);
    assert_eq!(app.get("/readyz").await.status, StatusCode::OK, "the pool recovers by itself");
}
