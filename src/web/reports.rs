//! The queue of error reports on directory sheets (DIR-5), in the back office: listed new first
//! (the consultation is journaled: reports may hold personal data), marked handled one by one.

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::error::AppError;
use super::extract::Ctx;
use super::layout::{Layout, paris_time};
use super::session::{AdminUser, Viewer, csrf_refused, token_matches};
use crate::app::AppState;
use crate::directory::reports::{self, Handling, MAX_MESSAGE_CHARS, ReportRow};

/// Reports shown, at most.
const LIST_LIMIT: i64 = 200;

/// The list of reports.
#[derive(Template, WebTemplate)]
#[template(path = "admin/reports.html")]
pub struct ReportsPage {
    layout: Layout,
    rows: Vec<ReportRow>,
    waiting: usize,
    message: Option<&'static str>,
    limit: i64,
    max_chars: usize,
}

impl ReportsPage {
    /// When it was sent: « 26/11/2026 à 12 h 53 ».
    pub fn received(&self, r: &ReportRow) -> String {
        paris_time(r.report.created_at)
    }

    /// The label of its kind.
    pub fn kind(&self, r: &ReportRow) -> &'static str {
        reports::kind_label(&r.report.kind)
    }

    /// « Nouveau », « Traité le … par … ».
    pub fn state(&self, r: &ReportRow) -> String {
        if r.report.status == "new" {
            return "Nouveau".to_owned();
        }
        let when = r.report.handled_at.map(|t| format!(" le {}", paris_time(t))).unwrap_or_default();
        let who = r.handler.as_ref().map(|h| format!(" par {h}")).unwrap_or_default();
        format!("Traité{when}{who}")
    }

    /// Whether the list was cut at its limit.
    pub fn truncated(&self) -> bool {
        self.rows.len() as i64 >= self.limit
    }
}

/// `?fait=` after handling one.
#[derive(Deserialize, Default)]
pub struct Done {
    #[serde(default)]
    fait: String,
}

/// `GET /admin/signalements`.
pub async fn list(
    State(state): State<AppState>,
    viewer: Viewer,
    _admin: AdminUser,
    Ctx(ctx): Ctx,
    Query(done): Query<Done>,
) -> Result<ReportsPage, AppError> {
    let rows = state.db.write(move |c| reports::list_reports(c, &ctx, LIST_LIMIT).map_err(AppError::from)).await?;
    let message = match done.fait.as_str() {
        "traite" => Some("Le signalement est marqué comme traité."),
        "deja" => Some("Ce signalement avait déjà été traité : rien n'a été modifié."),
        _ => None,
    };
    Ok(ReportsPage {
        layout: Layout::new(&state, &viewer, None, "Signalements d'erreurs dans l'annuaire"),
        waiting: rows.iter().filter(|r| r.report.status == "new").count(),
        rows,
        message,
        limit: LIST_LIMIT,
        max_chars: MAX_MESSAGE_CHARS,
    })
}

/// The handling form.
#[derive(Deserialize)]
pub struct HandleForm {
    csrf: String,
    #[serde(default)]
    note: String,
}

/// `POST /admin/signalements/{id}`: marks the report handled, with an optional note.
pub async fn handle(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    Ctx(ctx): Ctx,
    Path(id): Path<i64>,
    Form(form): Form<HandleForm>,
) -> Result<Response, AppError> {
    if !token_matches(&form.csrf, &admin.session.csrf_token) {
        return Ok(csrf_refused());
    }
    let note: String = form.note.trim().chars().take(MAX_MESSAGE_CHARS).collect();
    let note = Some(note).filter(|n| !n.is_empty());
    let done =
        state.db.write(move |c| reports::mark_handled(c, &ctx, id, note.as_deref()).map_err(AppError::from)).await?;
    match done {
        Handling::Done => Ok(Redirect::to("/admin/signalements?fait=traite").into_response()),
        Handling::AlreadyHandled => Ok(Redirect::to("/admin/signalements?fait=deja").into_response()),
        Handling::NotFound => Err(AppError::NotFound),
    }
}
