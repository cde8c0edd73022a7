//! One CSRF check for every state-changing form, before any handler runs (ASVS 3.5.1; the
//! habit of Django's `CsrfViewMiddleware`): no route can forget it. The form's `csrf` field must
//! be the session's token (logged in, or waiting for the second factor) or the double-submit
//! token of the `__Host-` form cookie (forms shown to anyone). Handlers check again.
//! It runs on matched routes only (a `route_layer`), inside the global body limit; the portal's
//! forms only POST (the T11 test checks the router declares no other writing method).

use axum::body::{Body, to_bytes};
use axum::extract::Request;
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::AppError;
use super::session::{CSRF_COOKIE, PendingMfa, Viewer, cookie, token_matches};

/// Bodies larger than this are refused before reading (forms are small; uploads will get their
/// own route and check).
const MAX_FORM_BYTES: usize = 256 * 1024;

/// The middleware.
pub async fn guard(req: Request, next: Next) -> Response {
    // `/api` and `/fhir` take no form and no POST (a POST there is a 405, not a forgery).
    let path = req.uri().path();
    if *req.method() != Method::POST || path.starts_with("/api/") || path.starts_with("/fhir/") {
        return next.run(req).await;
    }
    let is_form = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|ct| {
        ct.split(';').next().is_some_and(|t| t.trim().eq_ignore_ascii_case("application/x-www-form-urlencoded"))
    });
    if !is_form {
        return AppError::Forbidden.into_response();
    }
    let mut expected: Vec<String> = Vec::new();
    if let Some(Viewer(Some(current))) = req.extensions().get::<Viewer>() {
        expected.push(current.session.csrf_token.clone());
    }
    if let Some(PendingMfa(pending)) = req.extensions().get::<PendingMfa>() {
        expected.push(pending.session.csrf_token.clone());
    }
    if let Some(c) = cookie(req.headers(), CSRF_COOKIE) {
        expected.push(c);
    }
    let (parts, body) = req.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_FORM_BYTES).await else {
        return AppError::PayloadTooLarge.into_response();
    };
    let given = url::form_urlencoded::parse(&bytes).find(|(k, _)| k == "csrf").map(|(_, v)| v.into_owned());
    let ok = given.is_some_and(|g| !g.is_empty() && expected.iter().any(|e| token_matches(&g, e)));
    if !ok {
        return AppError::Forbidden.into_response();
    }
    next.run(Request::from_parts(parts, Body::from(bytes))).await
}
