//! Static files, embedded in the binary (no CDN, no files to deploy), compressed once at
//! start-up (brotli and gzip) and served under a content-hashed URL with a one-year cache.

use std::collections::HashMap;
use std::io::Write;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use super::error::AppError;
use crate::app::AppState;

const FILES: &[(&str, &str, &[u8])] = &[
    ("atomes.css", "text/css; charset=utf-8", include_bytes!("../../static/atomes.css")),
    ("logo.svg", "image/svg+xml", include_bytes!("../../static/logo.svg")),
    ("favicon.svg", "image/svg+xml", include_bytes!("../../static/favicon.svg")),
    // Search as you type on /annuaire (the page works without it).
    ("search.js", "text/javascript; charset=utf-8", include_bytes!("../../static/search.js")),
];

struct Asset {
    mime: &'static str,
    hash: String,
    identity: &'static [u8],
    gzip: Vec<u8>,
    brotli: Vec<u8>,
}

/// The embedded files.
pub struct Assets {
    files: HashMap<&'static str, Asset>,
}

impl Assets {
    /// Hashes and compresses every embedded file.
    pub fn load() -> Self {
        let files = FILES
            .iter()
            .map(|&(name, mime, bytes)| {
                let hash = hex::encode(&Sha256::digest(bytes)[..6]);
                (name, Asset { mime, hash, identity: bytes, gzip: gzip(bytes), brotli: brotli(bytes) })
            })
            .collect();
        Self { files }
    }

    /// The URL of `name`, with its content hash so that a new version is fetched at once.
    pub fn url(&self, name: &str) -> String {
        let hash = self.files.get(name).map_or("0", |a| a.hash.as_str());
        format!("/static/{hash}/{name}")
    }
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(bytes).expect("in-memory write");
    enc.finish().expect("in-memory write")
}

fn brotli(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut w = brotli::CompressorWriter::new(&mut out, 4096, 11, 22);
    w.write_all(bytes).expect("in-memory write");
    drop(w);
    out
}

/// `GET /static/{hash}/{name}`.
pub async fn serve(
    State(state): State<AppState>,
    Path((hash, name)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let asset = state.assets.files.get(name.as_str()).ok_or(AppError::NotFound)?;
    let etag = format!("\"{}\"", asset.hash);
    let cache = if hash == asset.hash { "public, max-age=31536000, immutable" } else { "no-cache" };
    let mut res = if headers.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()) == Some(etag.as_str()) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let accepts = headers.get(header::ACCEPT_ENCODING).and_then(|v| v.to_str().ok()).unwrap_or("");
        let (body, encoding) = if accepts.contains("br") {
            (asset.brotli.clone(), Some("br"))
        } else if accepts.contains("gzip") {
            (asset.gzip.clone(), Some("gzip"))
        } else {
            (asset.identity.to_vec(), None)
        };
        let mut res = body.into_response();
        if let Some(e) = encoding {
            res.headers_mut().insert(header::CONTENT_ENCODING, HeaderValue::from_static(e));
        }
        res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(asset.mime));
        res
    };
    let h = res.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    h.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    h.insert(header::ETAG, HeaderValue::from_str(&etag).expect("hex is a valid header"));
    Ok(res)
}
