//! Extractors for cross-cutting needs, so handlers never parse headers themselves.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use super::error::AppError;
use super::middleware::RequestMeta;
use super::session::Viewer;
use crate::accounts::actor_of;
use crate::app::AppState;
use crate::journal::{AccessContext, Actor};

/// The journal context of the current request: who (the logged-in account or anonymous), from
/// where (trusted-proxy rule), which request, and when (the application clock).
pub struct Ctx(pub AccessContext);

impl FromRequestParts<AppState> for Ctx {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let meta = parts
            .extensions
            .get::<RequestMeta>()
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("request_meta middleware missing")))?;
        let actor =
            parts.extensions.get::<Viewer>().and_then(|v| v.0.as_ref()).map_or(Actor::ANONYMOUS, |c| actor_of(&c.user));
        Ok(Self(AccessContext {
            key: state.journal_key.clone(),
            actor,
            source_ip: Some(meta.client_ip),
            request_id: Some(meta.id.clone()),
            at: state.clock.now(),
        }))
    }
}
