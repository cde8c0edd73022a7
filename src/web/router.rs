//! Every URL of the portal, grouped by audience.

use axum::Router;
use axum::routing::get;

use super::{assets, health, pages};
use crate::app::AppState;

/// The public router (the metrics listener has its own, see [`metrics_router`]).
pub fn routes() -> Router<AppState> {
    Router::new().merge(public()).merge(operations()).nest("/api", api())
}

/// Visitors: home, services, legal pages (CGU-1: always consultable), static files.
fn public() -> Router<AppState> {
    Router::new()
        .route("/", get(pages::home))
        .route("/annuaire", pages::soon_route("annuaire"))
        .route("/actualites", pages::soon_route("actualites"))
        .route("/evenements", pages::soon_route("evenements"))
        .route("/adhesion", pages::soon_route("adhesion"))
        .route("/applications", pages::soon_route("applications"))
        .route("/contact", pages::soon_route("contact"))
        .route("/cgu", get(pages::terms))
        .route("/donnees-personnelles", get(pages::privacy))
        .route("/mentions-legales", get(pages::legal_notice))
        .route("/accessibilite", get(pages::accessibility))
        .route("/static/{hash}/{name}", get(assets::serve))
}

/// Probes for load balancers and orchestrators; metrics only with the token.
fn operations() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics_with_token))
}

/// The JSON API (its routes arrive with the directory and accounts issues).
fn api() -> Router<AppState> {
    Router::new()
}

/// The private metrics listener (`metrics_listen`).
pub fn metrics_router() -> Router<AppState> {
    Router::new().route("/metrics", get(health::metrics))
}
