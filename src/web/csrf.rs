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

/// Bodies larger than this are refused before reading (forms are small; the import upload is
/// multipart, see [`multipart_guard`]).
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
        if path == super::imports::UPLOAD_PATH {
            return multipart_guard(req, next).await;
        }
        return AppError::Forbidden.into_response();
    }
    let expected = expected_tokens(&req);
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

/// The tokens a form of this request may carry.
fn expected_tokens(req: &Request) -> Vec<String> {
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
    expected
}

/// The first part of a multipart body is read at most this far.
const MAX_MULTIPART_PREFIX: usize = 16 * 1024;

/// A `multipart/form-data` upload (the import page only): its file is far too large to buffer,
/// so the token must be the body's first part (`csrf`, first field of the form, which browsers
/// send in order). That part is read and checked; the body goes on unchanged, streamed.
async fn multipart_guard(req: Request, next: Next) -> Response {
    use futures_util::StreamExt;
    let boundary = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|ct| multer::parse_boundary(ct).ok());
    let Some(boundary) = boundary else {
        return AppError::Forbidden.into_response();
    };
    let expected = expected_tokens(&req);
    let (parts, body) = req.into_parts();
    let mut stream = body.into_data_stream();
    let mut prefix: Vec<u8> = Vec::new();
    let token = loop {
        match first_part_csrf(&prefix, &boundary) {
            FirstPart::Token(t) => break t,
            FirstPart::Refused => return AppError::Forbidden.into_response(),
            FirstPart::NeedMore if prefix.len() >= MAX_MULTIPART_PREFIX => {
                return AppError::Forbidden.into_response();
            }
            FirstPart::NeedMore => {}
        }
        match stream.next().await {
            Some(Ok(chunk)) => prefix.extend_from_slice(&chunk),
            Some(Err(e)) => {
                let inner = e.into_inner();
                let too_large = inner.is::<http_body_util::LengthLimitError>();
                let error = if too_large { AppError::PayloadTooLarge } else { AppError::Forbidden };
                return error.into_response();
            }
            None => return AppError::Forbidden.into_response(),
        }
    };
    if token.is_empty() || !expected.iter().any(|e| token_matches(&token, e)) {
        return AppError::Forbidden.into_response();
    }
    let head = futures_util::stream::once(async move { Ok(axum::body::Bytes::from(prefix)) });
    next.run(Request::from_parts(parts, Body::from_stream(head.chain(stream)))).await
}

enum FirstPart {
    Token(String),
    Refused,
    NeedMore,
}

/// The value of the body's first part when it is the `csrf` field.
fn first_part_csrf(prefix: &[u8], boundary: &str) -> FirstPart {
    let opening = format!("--{boundary}\r\n");
    if prefix.len() < opening.len() {
        return if opening.as_bytes().starts_with(prefix) { FirstPart::NeedMore } else { FirstPart::Refused };
    }
    if !prefix.starts_with(opening.as_bytes()) {
        return FirstPart::Refused;
    }
    let rest = &prefix[opening.len()..];
    let Some(headers_end) = find(rest, b"\r\n\r\n") else { return FirstPart::NeedMore };
    let headers = String::from_utf8_lossy(&rest[..headers_end]).to_ascii_lowercase();
    let named_csrf = headers.lines().any(|l| {
        l.starts_with("content-disposition:")
            && l.contains("form-data")
            && l.split(';').any(|p| p.trim() == "name=\"csrf\"")
    });
    if !named_csrf {
        return FirstPart::Refused;
    }
    let value = &rest[headers_end + 4..];
    let closing = format!("\r\n--{boundary}");
    match find(value, closing.as_bytes()) {
        Some(end) => match std::str::from_utf8(&value[..end]) {
            Ok(token) => FirstPart::Token(token.to_owned()),
            Err(_) => FirstPart::Refused,
        },
        None => FirstPart::NeedMore,
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_multipart_part_must_be_the_token() {
        let body = b"--b1\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\nT0K\r\n--b1\r\nContent-Disposition: form-data; name=\"f\"\r\n\r\nx\r\n--b1--\r\n";
        assert!(matches!(first_part_csrf(body, "b1"), FirstPart::Token(t) if t == "T0K"));
        for cut in [0, 3, 10, 50, 55] {
            assert!(matches!(first_part_csrf(&body[..cut], "b1"), FirstPart::NeedMore), "{cut}");
        }
        let other = b"--b1\r\nContent-Disposition: form-data; name=\"format\"\r\n\r\nfhir\r\n--b1--";
        assert!(matches!(first_part_csrf(other, "b1"), FirstPart::Refused));
        let spoof = b"--b1\r\nContent-Disposition: form-data; name=\"csrfx\"\r\n\r\nT\r\n--b1--";
        assert!(matches!(first_part_csrf(spoof, "b1"), FirstPart::Refused));
        assert!(matches!(first_part_csrf(b"--b2\r\n", "b1"), FirstPart::Refused));
    }
}
