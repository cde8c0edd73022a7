//! One error type for every handler. `IntoResponse` logs internal causes once and returns an
//! empty response carrying [`ErrorKind`]; the `render_errors` middleware, which knows the
//! request path, turns it (and any error produced outside handlers: unknown routes, body
//! limits, extractor rejections) into a French HTML page, or JSON under `/api`.

use axum::http::StatusCode;
use axum::http::header::{self, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::{Unavailable, is_transient};

/// Seconds a client is told to wait after a 503.
pub const RETRY_AFTER_SECS: u64 = 2;

/// What went wrong, as shown to the user.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// 400, with a French message for the user.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// 401.
    #[error("login required")]
    Unauthorized,
    /// 403.
    #[error("forbidden")]
    Forbidden,
    /// 404 (also for objects that exist but are not the caller's: no existence oracle).
    #[error("not found")]
    NotFound,
    /// 413: the request body is too large.
    #[error("payload too large")]
    PayloadTooLarge,
    /// 409, with a French message.
    #[error("conflict: {0}")]
    Conflict(String),
    /// 429: over a rate limit (SPEC ACC-7); the client may retry after that many seconds.
    #[error("too many requests")]
    TooManyRequests {
        /// Seconds to wait, sent as `Retry-After` (at least 1).
        retry_after_secs: u64,
    },
    /// 503: the database is busy or unreachable; the client should retry.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// A database error.
    #[error("database error: {0}")]
    Db(#[from] diesel::result::Error),
    /// Anything else: logged, shown as a generic 500.
    #[error("internal error: {0:#}")]
    Internal(#[from] anyhow::Error),
}

impl From<Unavailable> for AppError {
    fn from(e: Unavailable) -> Self {
        Self::Unavailable(e.0)
    }
}

impl AppError {
    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::Forbidden => StatusCode::FORBIDDEN,
            Self::NotFound | Self::Db(diesel::result::Error::NotFound) => StatusCode::NOT_FOUND,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Db(e) if is_transient(e) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Db(_) | Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The message for the user, when it says more than the status page does.
    fn user_message(&self) -> Option<String> {
        match self {
            Self::BadRequest(m) | Self::Conflict(m) => Some(m.clone()),
            Self::TooManyRequests { retry_after_secs: n } => {
                let unit = if *n > 1 { "secondes" } else { "seconde" };
                Some(format!(
                    "Vous avez envoyé beaucoup de requêtes en peu de temps : merci de réessayer dans {n} {unit}."
                ))
            }
            _ => None,
        }
    }
}

/// The JSON body of an error under `/api` (written by `render_errors`, documented in the OpenAPI
/// document).
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiError {
    /// What went wrong.
    pub error: ApiErrorDetail,
}

/// The detail of an [`ApiError`].
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiErrorDetail {
    /// HTTP status.
    #[schema(example = 400)]
    pub status: u16,
    /// Stable machine code (see [`code`]).
    #[schema(example = "bad_request")]
    pub code: &'static str,
    /// What happened, in French, for the user.
    pub message: String,
}

/// Attached to error responses so that `render_errors` renders them.
#[derive(Clone, Debug)]
pub struct ErrorKind {
    /// A specific French message, if any.
    pub message: Option<String>,
}

/// Attached by handlers that render their own error page (a form with its errors), so that
/// `render_errors` leaves the body alone.
#[derive(Clone, Copy, Debug)]
pub struct OwnBody;

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = self.status();
        match status {
            StatusCode::INTERNAL_SERVER_ERROR => tracing::error!(error = %self, "request failed"),
            StatusCode::SERVICE_UNAVAILABLE => tracing::warn!(error = %self, "database unavailable"),
            _ => {}
        }
        let mut response = status.into_response();
        if let Self::TooManyRequests { retry_after_secs } = self {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs.max(1)));
        }
        response.extensions_mut().insert(ErrorKind { message: self.user_message() });
        response
    }
}

/// Title and explanation of an error page, in French.
pub fn describe(status: StatusCode) -> (&'static str, &'static str) {
    match status.as_u16() {
        400 => (
            "Requête invalide",
            "La requête envoyée n'a pas pu être comprise. Vérifiez les informations saisies et réessayez.",
        ),
        401 => ("Connexion requise", "Cette page est réservée aux professionnels connectés."),
        403 => {
            ("Accès refusé", "Vous n'avez pas accès à cette page. Si vous pensez que c'est une erreur, contactez-nous.")
        }
        404 => (
            "Page introuvable",
            "La page demandée n'existe pas ou a été déplacée. Vérifiez l'adresse, ou repartez de l'accueil.",
        ),
        405 => ("Méthode non autorisée", "Cette adresse n'accepte pas ce type de requête."),
        408 => ("Délai dépassé", "La requête a mis trop de temps à arriver. Réessayez."),
        409 => ("Conflit", "L'opération n'a pas pu aboutir car les données ont changé entre-temps. Réessayez."),
        413 => ("Envoi trop volumineux", "Les données ou le fichier envoyés dépassent la taille autorisée."),
        415 => ("Format non pris en charge", "Le format des données envoyées n'est pas accepté."),
        422 => ("Données invalides", "Certaines informations saisies ne sont pas valides. Vérifiez-les et réessayez."),
        429 => (
            "Trop de requêtes",
            "Pour protéger le portail et ses utilisateurs, le nombre de requêtes envoyées en peu de temps est limité.",
        ),
        503 => (
            "Service momentanément indisponible",
            "Le portail est très sollicité ou en maintenance. Réessayez dans quelques instants.",
        ),
        _ if status.is_server_error() => (
            "Erreur inattendue",
            "Une erreur inattendue s'est produite. Elle a été enregistrée ; réessayez dans quelques instants.",
        ),
        _ => ("Erreur", "La requête n'a pas pu aboutir."),
    }
}

/// The stable machine code of a status, for JSON errors.
pub fn code(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "bad_request",
        401 => "unauthorized",
        403 => "forbidden",
        404 => "not_found",
        405 => "method_not_allowed",
        408 => "timeout",
        409 => "conflict",
        413 => "payload_too_large",
        415 => "unsupported_media_type",
        422 => "invalid",
        429 => "too_many_requests",
        503 => "unavailable",
        _ if status.is_server_error() => "internal",
        _ => "error",
    }
}

/// A form shown again with its errors: 422, and the page kept as rendered.
pub fn invalid_form(page: impl IntoResponse) -> Response {
    let mut res = (StatusCode::UNPROCESSABLE_ENTITY, page).into_response();
    res.extensions_mut().insert(OwnBody);
    res
}
