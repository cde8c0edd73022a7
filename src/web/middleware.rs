//! Middleware of every request: request id and client address, method filter, error pages,
//! security headers and metrics. The order is set in `web::app`.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Instant;

use axum::body::Body;
use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use ipnet::IpNet;
use rand::RngCore;
use tracing::Instrument;

use super::error::{ApiError, ApiErrorDetail, ErrorKind, OwnBody, RETRY_AFTER_SECS, code, describe};
use super::layout::{ErrorPage, Layout};
use super::session::Viewer;
use crate::app::AppState;

/// The request id and the client address, computed once per request.
#[derive(Clone, Debug)]
pub struct RequestMeta {
    /// 128-bit random id, sent back as `x-request-id` and stored in journal entries.
    pub id: String,
    /// The client address under the trusted-proxy rule.
    pub client_ip: IpAddr,
}

/// The route pattern that served a request, copied to the response for the metrics.
#[derive(Clone, Debug)]
struct RouteName(String);

const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; \
                   form-action 'self'; frame-ancestors 'none'";

/// The client address: the peer, unless the peer is a trusted proxy, in which case the
/// right-most address of `X-Forwarded-For` that is not itself a trusted proxy. A header sent
/// by anyone else is ignored, so it cannot be used to dodge rate limits or forge the journal.
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|n| n.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let hops: Vec<&str> =
        headers.get_all("x-forwarded-for").iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(',')).collect();
    let mut client = peer;
    for hop in hops.iter().rev() {
        match hop.trim().parse::<IpAddr>() {
            Ok(ip) => {
                client = ip;
                if !is_trusted(&ip) {
                    break;
                }
            }
            Err(_) => break,
        }
    }
    client
}

fn new_request_id() -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// Assigns the request id and client address, logs the request and counts it.
pub async fn request_meta(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let started = Instant::now();
    let peer = req.extensions().get::<ConnectInfo<SocketAddr>>().map_or(IpAddr::V4(Ipv4Addr::LOCALHOST), |c| c.0.ip());
    let meta =
        RequestMeta { id: new_request_id(), client_ip: client_ip(peer, req.headers(), &state.config.trusted_proxies) };
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    req.extensions_mut().insert(meta.clone());
    let span = tracing::info_span!("request", id = %meta.id, %method);
    let mut res = next.run(req).instrument(span.clone()).await;
    let route = res.extensions().get::<RouteName>().map_or("unmatched", |r| r.0.as_str()).to_owned();
    let elapsed = started.elapsed();
    state.metrics.http_request(method.as_str(), &route, res.status().as_u16(), elapsed.as_secs_f64());
    // The path, not the query string: a query may carry personal data.
    span.in_scope(|| {
        tracing::info!(status = res.status().as_u16(), %path, ms = elapsed.as_millis() as u64, "answered");
    });
    if let Ok(v) = HeaderValue::from_str(&meta.id) {
        res.headers_mut().insert(HeaderName::from_static("x-request-id"), v);
    }
    res
}

/// Copies the matched route pattern onto the response (a route layer: it sees `MatchedPath`).
pub async fn route_name(req: Request, next: Next) -> Response {
    let route = req.extensions().get::<MatchedPath>().map(|m| m.as_str().to_owned());
    let mut res = next.run(req).await;
    if let Some(route) = route {
        res.extensions_mut().insert(RouteName(route));
    }
    res
}

/// Refuses TRACE, CONNECT and unknown methods with 405 before any routing.
pub async fn allowed_methods(req: Request, next: Next) -> Response {
    let allowed =
        [Method::GET, Method::HEAD, Method::POST, Method::PUT, Method::PATCH, Method::DELETE, Method::OPTIONS];
    if allowed.contains(req.method()) {
        return next.run(req).await;
    }
    let mut res = StatusCode::METHOD_NOT_ALLOWED.into_response();
    res.headers_mut().insert(header::ALLOW, HeaderValue::from_static("GET, HEAD, POST"));
    res
}

/// Replaces the body of every error response by the portal's own page (HTML) or object
/// (JSON under `/api`, a FHIR OperationOutcome under `/fhir`), so that no framework message, stack
/// trace or SQL ever reaches a client.
pub async fn render_errors(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let path = req.uri().path();
    let is_api = path == "/api" || path.starts_with("/api/");
    let is_fhir = path == "/fhir" || path.starts_with("/fhir/");
    let request_id = req.extensions().get::<RequestMeta>().map(|m| m.id.clone());
    let viewer = req.extensions().get::<Viewer>().cloned().unwrap_or_default();
    let res = next.run(req).await;
    let status = res.status();
    if !(status.is_client_error() || status.is_server_error()) || res.extensions().get::<OwnBody>().is_some() {
        return res;
    }
    let message = res.extensions().get::<ErrorKind>().and_then(|k| k.message.clone());
    let kept: Vec<(HeaderName, HeaderValue)> = [header::ALLOW, header::RETRY_AFTER, header::WWW_AUTHENTICATE]
        .into_iter()
        .filter_map(|h| res.headers().get(&h).map(|v| (h, v.clone())))
        .collect();
    let route = res.extensions().get::<RouteName>().cloned();
    let (title, text) = describe(status);
    let mut out = if is_fhir {
        super::fhir::error_response(status, message)
    } else if is_api {
        let message = message.unwrap_or_else(|| text.to_owned());
        let body = ApiError { error: ApiErrorDetail { status: status.as_u16(), code: code(status), message } };
        (status, axum::Json(body)).into_response()
    } else {
        let page = ErrorPage {
            layout: Layout::new(&state, &viewer, None, title),
            status: status.as_u16(),
            title,
            text,
            message,
            request_id: status.is_server_error().then_some(request_id).flatten(),
        };
        (status, page).into_response()
    };
    for (h, v) in kept {
        out.headers_mut().insert(h, v);
    }
    if status == StatusCode::SERVICE_UNAVAILABLE && !out.headers().contains_key(header::RETRY_AFTER) {
        out.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECS));
    }
    if let Some(route) = route {
        out.extensions_mut().insert(route);
    }
    out
}

/// Sets the security headers on every response, errors and static files included.
pub async fn security_headers(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    let mut set_default = |name: HeaderName, value: &'static str| {
        if !h.contains_key(&name) {
            h.insert(name, HeaderValue::from_static(value));
        }
    };
    set_default(header::CONTENT_SECURITY_POLICY, CSP);
    set_default(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set_default(header::X_FRAME_OPTIONS, "DENY");
    set_default(header::REFERRER_POLICY, "same-origin");
    set_default(HeaderName::from_static("cross-origin-opener-policy"), "same-origin");
    set_default(HeaderName::from_static("cross-origin-resource-policy"), "same-origin");
    set_default(
        HeaderName::from_static("permissions-policy"),
        "camera=(), microphone=(), payment=(), usb=(), geolocation=(self), interest-cohort=()",
    );
    // Personal pages must not be stored by browsers or proxies; static files set their own.
    set_default(header::CACHE_CONTROL, "no-store");
    if state.config.is_https() {
        set_default(header::STRICT_TRANSPORT_SECURITY, "max-age=63072000; includeSubDomains");
    }
    h.remove(header::SERVER);
    h.remove(HeaderName::from_static("x-powered-by"));
    res
}

/// A body that says only "ok", for probes.
pub fn plain(status: StatusCode, text: &'static str) -> Response {
    let mut res = Response::new(Body::from(text));
    *res.status_mut() = status;
    res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    res
}

/// The request body limit: `max_body_bytes`, except on the directory import upload
/// (`import_max_bytes`), which streams the file to disk. A declared length over it is refused
/// at once (413); a body that grows past it fails where it is read.
pub async fn body_limit(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let limit = if *req.method() == Method::POST && req.uri().path() == super::imports::UPLOAD_PATH {
        state.config.import_max_bytes
    } else {
        state.config.max_body_bytes
    };
    let declared = req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return super::error::AppError::PayloadTooLarge.into_response();
    }
    next.run(req.map(|body| Body::new(http_body_util::Limited::new(body, limit)))).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(xff: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in xff {
            h.append("x-forwarded-for", HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let client: IpAddr = "203.0.113.7".parse().unwrap();
        let proxy: IpAddr = "10.1.2.3".parse().unwrap();
        // A client spoofing the header directly: ignored.
        assert_eq!(client_ip(client, &headers(&["1.2.3.4"]), &trusted), client);
        // Through the proxy: the right-most untrusted hop, not the spoofable left-most one.
        assert_eq!(client_ip(proxy, &headers(&["1.2.3.4, 203.0.113.7"]), &trusted), client);
        assert_eq!(client_ip(proxy, &headers(&["1.2.3.4", "203.0.113.7, 10.9.9.9"]), &trusted), client);
        // Garbage stops the walk at the last good hop.
        assert_eq!(client_ip(proxy, &headers(&["nonsense"]), &trusted), proxy);
    }
}
