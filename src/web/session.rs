//! Who is asking: the session cookie is read once per request by [`load_session`], then
//! extractors ([`Viewer`], [`SignedIn`], [`AdminUser`]) hand the result to handlers.
//! CSRF: a per-session token on every form of a logged-in user, a double-submit cookie on
//! the login form, and a same-origin check on every state-changing request.

use std::sync::Arc;

use axum::extract::{FromRequestParts, Request, State};
use axum::http::Method;
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};

use super::error::AppError;
use crate::accounts::{Role, Session, User, find_active};
use crate::app::AppState;
use crate::terms::Gate;

/// The session cookie: `__Host-` binds it to this exact origin over HTTPS (browsers treat
/// http://127.0.0.1 and localhost as secure, so the demo works too).
pub const SESSION_COOKIE: &str = "__Host-atomes_session";
/// The login form's double-submit CSRF cookie.
pub const CSRF_COOKIE: &str = "__Host-atomes_csrf";

/// A logged-in account and its session.
#[derive(Debug, Clone)]
pub struct CurrentUser {
    /// The account.
    pub user: User,
    /// The session.
    pub session: Session,
    /// What the terms of use ask of the account, set by the terms gate (`web::terms::gate`);
    /// always `Clear` for administrators, who are not gated.
    pub terms: Gate,
}

/// The person behind the request: logged in or not.
#[derive(Debug, Clone, Default)]
pub struct Viewer(pub Option<Arc<CurrentUser>>);

/// A session waiting for its second factor (see [`load_session`]).
#[derive(Debug, Clone)]
pub struct PendingMfa(pub Arc<CurrentUser>);

impl<S: Send + Sync> FromRequestParts<S> for PendingMfa {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Response> {
        parts.extensions.get::<PendingMfa>().cloned().ok_or_else(|| Redirect::to("/connexion").into_response())
    }
}

/// Set when the session could not be loaded (database unavailable).
#[derive(Debug, Clone, Copy)]
struct SessionUnavailable;

impl Viewer {
    /// The CSRF token forms must carry, if logged in.
    pub fn csrf(&self) -> Option<&str> {
        self.0.as_ref().map(|c| c.session.csrf_token.as_str())
    }
}

/// The value of cookie `name` in the request, if any.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
        .filter(|v| !v.is_empty() && v.len() <= 128 && v.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// `Set-Cookie` for a strictly necessary cookie (no `Max-Age`: it ends with the browser;
/// the server enforces the session timeouts).
pub fn set_cookie(name: &str, value: &str) -> HeaderValue {
    HeaderValue::from_str(&format!("{name}={value}; Path=/; Secure; HttpOnly; SameSite=Lax"))
        .expect("hex token is a valid header")
}

/// `Set-Cookie` that deletes a cookie.
pub fn clear_cookie(name: &str) -> HeaderValue {
    HeaderValue::from_str(&format!("{name}=; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=0"))
        .expect("static header")
}

/// Loads the session named by the cookie, once per request.
pub async fn load_session(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let mut viewer = Viewer(None);
    let mut clear = false;
    if let Some(token) = cookie(req.headers(), SESSION_COOKIE) {
        let now = state.clock.now_naive();
        match state.db.run(move |conn| find_active(conn, &token, now).map_err(AppError::from)).await {
            Ok(Some((session, user))) if session.pending_mfa => {
                // Password given, second factor due: logged in for nothing but that page.
                req.extensions_mut().insert(PendingMfa(Arc::new(CurrentUser { user, session, terms: Gate::Clear })));
            }
            Ok(Some((session, user))) => {
                viewer = Viewer(Some(Arc::new(CurrentUser { user, session, terms: Gate::Clear })))
            }
            Ok(None) => clear = true,
            Err(e) => {
                tracing::warn!(error = %e, "session could not be loaded");
                req.extensions_mut().insert(SessionUnavailable);
            }
        }
    }
    req.extensions_mut().insert(viewer);
    let mut res = next.run(req).await;
    if clear && !res.headers().contains_key(header::SET_COOKIE) {
        res.headers_mut().append(header::SET_COOKIE, clear_cookie(SESSION_COOKIE));
    }
    res
}

/// Refuses a state-changing request sent from another site (`Origin` or `Sec-Fetch-Site`),
/// before any handler runs (ASVS 3.5.3). The origin may be the `Host` the request was sent to or
/// the configured `public_url` (a reverse proxy may rewrite `Host`).
pub async fn same_origin(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(req).await;
    }
    let h = req.headers();
    let host = h.get(header::HOST).and_then(|v| v.to_str().ok());
    let origin_host = h
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .map(|o| o.split_once("://").map_or(o, |(_, rest)| rest).trim_end_matches('/').to_owned());
    let cross_site = h.get("sec-fetch-site").and_then(|v| v.to_str().ok()) == Some("cross-site");
    let public = &state.config.public_url;
    let public_host = match (public.host_str(), public.port()) {
        (Some(h), Some(p)) => Some(format!("{h}:{p}")),
        (Some(h), None) => Some(h.to_owned()),
        _ => None,
    };
    let foreign_origin = match origin_host.as_deref() {
        None => false,
        Some("null") => true,
        Some(o) => Some(o) != host && Some(o) != public_host.as_deref(),
    };
    if cross_site || foreign_origin {
        return AppError::Forbidden.into_response();
    }
    next.run(req).await
}

/// Whether `given` is the expected secret, in a time that depends neither on where they differ
/// nor on their lengths (digests are compared, not the inputs).
pub fn token_matches(given: &str, expected: &str) -> bool {
    use sha2::{Digest, Sha256};
    let (a, b) = (Sha256::digest(given.as_bytes()), Sha256::digest(expected.as_bytes()));
    a.iter().zip(b.iter()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl<S: Send + Sync> FromRequestParts<S> for Viewer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(parts.extensions.get::<Viewer>().cloned().unwrap_or_default())
    }
}

/// Any logged-in account (may still have to change its password).
pub struct SignedIn(pub Arc<CurrentUser>);

impl<S: Send + Sync> FromRequestParts<S> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Response> {
        if parts.extensions.get::<SessionUnavailable>().is_some() {
            return Err(AppError::Unavailable("session store".into()).into_response());
        }
        match parts.extensions.get::<Viewer>().and_then(|v| v.0.clone()) {
            Some(current) => Ok(Self(current)),
            None => Err(Redirect::to("/connexion").into_response()),
        }
    }
}

/// A site administrator with a password of their own (ACC-4, back office).
pub struct AdminUser(pub Arc<CurrentUser>);

impl<S: Send + Sync> FromRequestParts<S> for AdminUser {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Response> {
        let SignedIn(current) = SignedIn::from_request_parts(parts, state).await?;
        if current.user.role() != Role::Administrator {
            return Err(AppError::Forbidden.into_response());
        }
        if current.user.must_change_password {
            return Err(Redirect::to("/compte/mot-de-passe").into_response());
        }
        if current.user.totp_secret.is_none() {
            // The second factor is mandatory for the back office (ACC-5).
            return Err(Redirect::to("/compte/securite").into_response());
        }
        Ok(Self(current))
    }
}

/// A 303 redirect that also sets a cookie.
pub fn redirect_with_cookie(to: &str, cookie: HeaderValue) -> Response {
    let mut res = Redirect::to(to).into_response();
    res.headers_mut().append(header::SET_COOKIE, cookie);
    res
}

/// Where to go after logging in.
pub fn landing(user: &User) -> &'static str {
    if user.must_change_password {
        "/compte/mot-de-passe"
    } else if user.role() == Role::Administrator && user.totp_secret.is_none() {
        "/compte/securite"
    } else if user.role() == Role::Administrator {
        "/admin"
    } else {
        "/"
    }
}

/// The double-submit token of a form shown to anyone (login, registration, reset): the
/// token of the request's cookie, or a new one with the `Set-Cookie` that stores it.
pub fn form_csrf(headers: &HeaderMap) -> (String, Option<HeaderValue>) {
    match cookie(headers, CSRF_COOKIE) {
        Some(t) => (t, None),
        None => {
            let t = crate::accounts::random_token();
            let set = set_cookie(CSRF_COOKIE, &t);
            (t, Some(set))
        }
    }
}

/// Whether a form shown to anyone came back with the token of its cookie.
pub fn form_csrf_ok(headers: &HeaderMap, given: &str) -> bool {
    cookie(headers, CSRF_COOKIE).is_some_and(|expected| token_matches(given, &expected))
}

/// Adds the `Set-Cookie` of a new form token, if any.
pub fn with_csrf_cookie(mut res: Response, set: Option<HeaderValue>) -> Response {
    if let Some(v) = set {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res
}

/// A 403 for a form whose CSRF token is missing or wrong.
pub fn csrf_refused() -> Response {
    AppError::Forbidden.into_response()
}
