//! The web layer: router, middleware, error pages, extractors and page structs.

mod account;
mod admin;
pub mod assets;
mod csrf;
mod directory;
mod documents;
pub mod error;
pub mod extract;
pub mod fhir;
mod health;
mod imports;
pub mod layout;
mod local_entries;
mod me;
mod mfa;
pub mod middleware;
pub mod openapi;
mod pages;
mod people;
pub mod ratelimit;
mod register;
mod reports;
pub mod router;
pub mod session;
mod sheet;
pub mod terms;

use std::net::SocketAddr;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware::{from_fn, from_fn_with_state};
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;

use crate::app::AppState;

/// The whole application: routes and middleware, outermost first.
pub fn app(state: AppState) -> Router {
    let limit = state.config.max_body_bytes;
    router::routes()
        .route_layer(from_fn(middleware::route_name))
        .route_layer(from_fn(csrf::guard))
        .fallback(|| async { error::AppError::NotFound })
        .layer(
            ServiceBuilder::new()
                .layer(from_fn_with_state(state.clone(), middleware::request_meta))
                .layer(from_fn_with_state(state.clone(), middleware::security_headers))
                .layer(from_fn_with_state(state.clone(), session::load_session))
                .layer(from_fn_with_state(state.clone(), middleware::render_errors))
                .layer(from_fn_with_state(state.clone(), ratelimit::rate_limit))
                .layer(from_fn_with_state(state.clone(), terms::gate))
                .layer(CatchPanicLayer::new())
                .layer(from_fn(middleware::allowed_methods))
                .layer(from_fn_with_state(state.clone(), session::same_origin))
                .layer(from_fn_with_state(state.clone(), middleware::body_limit))
                .layer(DefaultBodyLimit::max(limit))
                .layer(CompressionLayer::new()),
        )
        .with_state(state)
}

/// Serves the portal (and the metrics listener, if configured) until Ctrl-C or SIGTERM;
/// requests in flight are allowed to finish.
/// `on_ready` runs once the listeners are bound (the demo prints its address then).
pub async fn serve(
    state: AppState,
    shutdown: tokio::sync::watch::Receiver<bool>,
    on_ready: impl FnOnce(),
) -> anyhow::Result<()> {
    let addr = state.config.listen;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("`listen` {addr}: cannot listen: {e}"))?;
    if let Some(maddr) = state.config.metrics_listen {
        let mlistener = tokio::net::TcpListener::bind(maddr)
            .await
            .map_err(|e| anyhow::anyhow!("`metrics_listen` {maddr}: cannot listen: {e}"))?;
        let mapp = router::metrics_router().with_state(state.clone());
        let mut stop = shutdown.clone();
        tokio::spawn(async move {
            let _ = axum::serve(mlistener, mapp)
                .with_graceful_shutdown(async move {
                    let _ = stop.changed().await;
                })
                .await;
        });
        tracing::info!(%maddr, "metrics listening");
    }
    tracing::info!(%addr, "portal listening");
    on_ready();
    let mut stop = shutdown;
    axum::serve(listener, app(state).into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(async move {
            let _ = stop.changed().await;
        })
        .await?;
    Ok(())
}
