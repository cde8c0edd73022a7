//! Probes and metrics (SPEC OPS-1).

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use diesel::connection::SimpleConnection;

use super::error::AppError;
use super::middleware::plain;
use super::session::token_matches;
use crate::app::AppState;

/// `GET /healthz`: the process answers.
pub async fn healthz() -> Response {
    plain(StatusCode::OK, "ok")
}

/// `GET /readyz`: the database answers too, and this node's search index is built.
pub async fn readyz(State(state): State<AppState>) -> Response {
    let ok = state.db.run(|conn| conn.batch_execute("SELECT 1").map_err(AppError::from)).await;
    match ok {
        Ok(()) if state.search.applied_change().is_none() => {
            let mut res = plain(StatusCode::SERVICE_UNAVAILABLE, "search index building");
            res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(super::error::RETRY_AFTER_SECS));
            res
        }
        Ok(()) => plain(StatusCode::OK, "ready"),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            let mut res = plain(StatusCode::SERVICE_UNAVAILABLE, "database unavailable");
            res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(super::error::RETRY_AFTER_SECS));
            res
        }
    }
}

/// `GET /metrics` on the private metrics listener.
pub async fn metrics(State(state): State<AppState>) -> Response {
    let body = state.metrics.render(state.db.pool_state());
    let mut res = body.into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
    );
    res
}

/// `GET /metrics` on the public listener: only with `Authorization: Bearer <metrics_token>`;
/// anyone else gets a plain 404, as if the route did not exist.
pub async fn metrics_with_token(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, AppError> {
    let expected = state.config.metrics_token.as_ref().ok_or(AppError::NotFound)?;
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if !token_matches(given, expected.expose()) {
        return Err(AppError::NotFound);
    }
    Ok(metrics(State(state)).await)
}
