//! A read-only FHIR R4 endpoint over the directory's offers, compatible with the main searches of
//! the ROR API (DOMAIN.md §2.1): `GET /fhir/HealthcareService?specialty=…&location.near=…`
//! answers a searchset Bundle, sorted by distance with the `location-distance` extension when a
//! point is given; `GET /fhir/HealthcareService/{id}` reads one offer; `GET /fhir/metadata` says
//! what is supported.
//!
//! Anonymous and public: sensitive units (never indexed, refused on read) and contacts not stated
//! « accès libre » are never published (DIR-4). No journal entry is written (JNL): the endpoint
//! serves the public directory only — establishments and their offers, no practitioner and no
//! contact person — so no personal data is consulted through it.

mod params;
mod resource;

use std::collections::HashMap;

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::error::{AppError, OwnBody, describe};
use crate::app::AppState;
use crate::directory::offers::{self, ROR};
use crate::directory::search::SearchResults;
pub use params::{DEFAULT_COUNT, MAX_COUNT, MAX_OFFSET, ParamDoc, SEARCH_PARAMETERS};
pub use resource::{
    Bundle, BundleEntry, BundleLink, CapabilityStatement, DISTANCE_EXTENSION, EntrySearch, Issue, OperationOutcome,
};
use resource::{DistanceExtension, HealthcareService, Resource};

/// The media type of every answer.
pub const FHIR_JSON: &str = "application/fhir+json; charset=utf-8";

/// A FHIR JSON response.
fn fhir_json(status: StatusCode, body: &impl Serialize) -> Response {
    match serde_json::to_vec(body) {
        Ok(bytes) => {
            let mut res = (status, bytes).into_response();
            res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(FHIR_JSON));
            res
        }
        Err(e) => AppError::Internal(e.into()).into_response(),
    }
}

/// An OperationOutcome response, left alone by `render_errors`.
fn outcome(status: StatusCode, code: &'static str, diagnostics: Vec<String>) -> Response {
    let issue = diagnostics.into_iter().map(|d| Issue { severity: "error", code, diagnostics: d }).collect();
    let mut res = fhir_json(status, &OperationOutcome { resource_type: "OperationOutcome", issue });
    res.extensions_mut().insert(OwnBody);
    res
}

/// The body of an error under `/fhir` that no handler wrote (unknown path, 405, 429, 5xx): an
/// OperationOutcome in French, for `render_errors`.
pub fn error_response(status: StatusCode, message: Option<String>) -> Response {
    let code = match status.as_u16() {
        400 | 422 => "invalid",
        404 => "not-found",
        405 | 415 => "not-supported",
        413 => "too-costly",
        429 => "throttled",
        503 => "transient",
        _ if status.is_server_error() => "exception",
        _ => "processing",
    };
    let text = message.unwrap_or_else(|| match status.as_u16() {
        404 => {
            "Ressource introuvable : ce serveur FHIR ne propose que /fhir/HealthcareService et /fhir/metadata.".into()
        }
        _ => describe(status).1.to_owned(),
    });
    outcome(status, code, vec![text])
}

/// The base of the endpoint's URLs: `public_url` + `/fhir`.
fn base(state: &AppState) -> String {
    format!("{}/fhir", state.config.public_url.as_str().trim_end_matches('/'))
}

/// Whether the client asked for strict handling of unknown parameters (FHIR `Prefer`).
fn strict(headers: &HeaderMap) -> bool {
    headers
        .get_all("prefer")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split([',', ';']))
        .any(|p| p.trim().eq_ignore_ascii_case("handling=strict"))
}

/// `GET /fhir/HealthcareService`: a searchset Bundle of offers.
#[utoipa::path(
    get,
    path = "/fhir/HealthcareService",
    tag = "fhir",
    summary = "Recherche d'offres (FHIR R4, compatible avec les recherches principales de l'API ROR)",
    description = "Bundle `searchset` : `total`, liens `self` / `next` / `previous`, une entrée par offre \
                   (`search.mode = match`, avec l'extension `http://hl7.org/fhir/StructureDefinition/location-distance` \
                   quand `location.near` ou `location.near-insee-code` est donné), et une entrée OperationOutcome \
                   (`search.mode = outcome`) qui liste les paramètres inconnus ignorés.",
    responses(
        (status = 200, description = "Bundle searchset", content_type = "application/fhir+json", body = Bundle),
        (status = 400, description = "Paramètre invalide (OperationOutcome, diagnostics en français)", content_type = "application/fhir+json", body = OperationOutcome),
        (status = 429, description = "Trop de requêtes (OperationOutcome)", content_type = "application/fhir+json", body = OperationOutcome),
        (status = 503, description = "Service momentanément indisponible (OperationOutcome)", content_type = "application/fhir+json", body = OperationOutcome),
    )
)]
pub async fn search(State(state): State<AppState>, headers: HeaderMap, RawQuery(query): RawQuery) -> Response {
    let places = state.search.places();
    let q = match params::parse(query.as_deref().unwrap_or(""), &places, strict(&headers)) {
        Ok(q) => q,
        Err(errors) => return outcome(StatusCode::BAD_REQUEST, "invalid", errors),
    };
    let index = state.search.clone();
    let engine_params = q.search.clone();
    let found = tokio::task::spawn_blocking(move || index.search(&engine_params)).await;
    let results = match found {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => return AppError::Internal(e).into_response(),
        Err(e) => return AppError::Internal(e.into()).into_response(),
    };
    let ids: Vec<i64> = results.hits.iter().filter(|h| h.card.kind == "offer").map(|h| h.card.id).collect();
    let stored = state.db.run(move |c| offers::list_offers(c, &ids).map_err(AppError::from)).await;
    match stored {
        Ok(stored) => fhir_json(StatusCode::OK, &bundle(&state, &q, results, stored)),
        Err(e) => e.into_response(),
    }
}

/// The Bundle of a page of results, in the engine's order. An offer that became sensitive or
/// closed since the index last caught up is left out.
fn bundle(state: &AppState, q: &params::FhirQuery, results: SearchResults, stored: Vec<offers::Offer>) -> Bundle {
    let base = base(state);
    let mut by_id: HashMap<i64, offers::Offer> = stored.into_iter().map(|o| (o.id, o)).collect();
    let mut entry: Vec<BundleEntry> = Vec::new();
    if !q.ignored.is_empty() {
        let text = format!("Paramètres non pris en charge, ignorés : {}.", q.ignored.join(", "));
        entry.push(BundleEntry {
            full_url: None,
            resource: Resource::OperationOutcome(OperationOutcome::one("warning", "not-supported", text)),
            search: EntrySearch { mode: "outcome", extension: vec![] },
        });
    }
    let hits = if q.count == 0 { Vec::new() } else { results.hits };
    for hit in hits {
        let Some(o) = by_id.remove(&hit.card.id).filter(|o| !o.sensitive && o.status == "active") else { continue };
        entry.push(BundleEntry {
            full_url: Some(format!("{base}/HealthcareService/{}", o.source_key)),
            resource: Resource::HealthcareService(Box::new(HealthcareService::from_offer(&o))),
            search: EntrySearch {
                mode: "match",
                extension: hit.distance_km.filter(|_| q.is_near()).map(DistanceExtension::km).into_iter().collect(),
            },
        });
    }
    Bundle {
        resource_type: "Bundle",
        kind: "searchset",
        timestamp: resource::instant(state.clock.now().naive_utc()),
        total: results.total,
        link: links(&base, q, results.total),
        entry,
    }
}

/// `self`, and `previous` / `next` when there are other pages.
fn links(base: &str, q: &params::FhirQuery, total: usize) -> Vec<BundleLink> {
    let url = |offset: usize| {
        let mut s = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in &q.echo {
            s.append_pair(k, v);
        }
        s.append_pair("_count", &q.count.to_string());
        if offset > 0 {
            s.append_pair("_getpagesoffset", &offset.to_string());
        }
        format!("{base}/HealthcareService?{}", s.finish())
    };
    let mut out = vec![BundleLink { relation: "self", url: url(q.offset) }];
    let step = q.count.max(1);
    if q.count > 0 && q.offset + step < total && q.offset + step <= MAX_OFFSET {
        out.push(BundleLink { relation: "next", url: url(q.offset + step) });
    }
    if q.count > 0 && q.offset > 0 {
        out.push(BundleLink { relation: "previous", url: url(q.offset.saturating_sub(step)) });
    }
    out
}

/// `GET /fhir/HealthcareService/{id}`: one offer, by its ROR id.
#[utoipa::path(
    get,
    path = "/fhir/HealthcareService/{id}",
    tag = "fhir",
    summary = "Lecture d'une offre (FHIR R4 read)",
    params(
        ("id" = String, Path, description = "Identifiant technique de l'offre (id de la ressource ROR)",
         pattern = "^[A-Za-z0-9.-]{1,64}$", example = "demo-offre-0001")
    ),
    responses(
        (status = 200, description = "HealthcareService", content_type = "application/fhir+json", body = Object),
        (status = 404, description = "Offre inconnue ou non publique (OperationOutcome)", content_type = "application/fhir+json", body = OperationOutcome),
        (status = 429, description = "Trop de requêtes (OperationOutcome)", content_type = "application/fhir+json", body = OperationOutcome),
        (status = 503, description = "Service momentanément indisponible (OperationOutcome)", content_type = "application/fhir+json", body = OperationOutcome),
    )
)]
pub async fn read(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    let valid = (1..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
    let found = if valid {
        let key = id.clone();
        match state.db.run(move |c| offers::find_offer_by_key(c, ROR, &key).map_err(AppError::from)).await {
            Ok(found) => found,
            Err(e) => return e.into_response(),
        }
    } else {
        None
    };
    // A sensitive unit is answered exactly as an unknown id: no existence oracle.
    match found.filter(|o| !o.sensitive) {
        Some(o) => fhir_json(StatusCode::OK, &HealthcareService::from_offer(&o)),
        None => {
            let shown = if valid { format!("« {id} »") } else { "demandée".to_owned() };
            outcome(StatusCode::NOT_FOUND, "not-found", vec![format!("L'offre {shown} n'existe pas dans l'annuaire.")])
        }
    }
}

/// `GET /fhir/metadata`: the CapabilityStatement.
#[utoipa::path(
    get,
    path = "/fhir/metadata",
    tag = "fhir",
    summary = "CapabilityStatement : ressources, interactions et paramètres de recherche pris en charge",
    responses(
        (status = 200, description = "CapabilityStatement", content_type = "application/fhir+json", body = CapabilityStatement),
        (status = 429, description = "Trop de requêtes (OperationOutcome)", content_type = "application/fhir+json", body = OperationOutcome),
    )
)]
pub async fn metadata(State(state): State<AppState>) -> Response {
    fhir_json(StatusCode::OK, &CapabilityStatement::new(&base(&state), state.clock.now().naive_utc()))
}
