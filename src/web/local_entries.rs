//! The back office of local entries (issue 4): the list with its search, the form to create and
//! edit an entry, closing and reopening. Only entries of source `local` are edited here: an
//! imported offer belongs to its import. After each write this node's index is brought up to
//! date at once (the other nodes follow the change feed within seconds).

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::error::{AppError, invalid_form};
use super::extract::Ctx;
use super::layout::{Layout, paris_time};
use super::session::{AdminUser, Viewer, csrf_refused, token_matches};
use crate::accounts::profile::FieldErrors;
use crate::app::AppState;
use crate::directory::local::{self, LocalError, LocalInput, Pickers};
use crate::directory::offers::Offer;
use crate::journal::{self, AccessContext, Action, Object, Outcome};

/// Entries listed at most.
const LIST_LIMIT: usize = 500;

impl From<LocalError> for AppError {
    fn from(e: LocalError) -> Self {
        match e {
            LocalError::NotFound => AppError::NotFound,
            LocalError::NotLocal => AppError::Conflict(
                "Cette offre provient d'un import (ROR) : elle se corrige à sa source, l'import suivant écraserait une modification faite ici."
                    .into(),
            ),
            LocalError::Db(e) => AppError::Db(e),
        }
    }
}

/// Applies the change feed to this node's index, so that the entry shows in search at once; a
/// failure is logged only (the sync job retries).
async fn refresh_index(state: &AppState) {
    let state = state.clone();
    let done = tokio::task::spawn_blocking(move || -> anyhow::Result<u64> {
        let mut conn = state.db.get()?;
        state.search.sync(&mut conn)
    })
    .await;
    match done {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => {
            tracing::warn!(error = %format!("{e:#}"), "search index not refreshed after a local entry change")
        }
        Err(e) => tracing::warn!(error = %e, "search index refresh panicked"),
    }
}

/// `/admin/annuaire/entrees`.
#[derive(Template, WebTemplate)]
#[template(path = "admin/local_entries.html")]
pub struct ListPage {
    layout: Layout,
    q: String,
    entries: Vec<Offer>,
    limit: usize,
    message: Option<&'static str>,
}

impl ListPage {
    /// « 12/03/2026 à 14:05 ».
    fn updated(&self, o: &Offer) -> String {
        paris_time(o.last_updated())
    }
}

/// `?q=` and `?fait=`.
#[derive(Deserialize, Default)]
pub struct ListQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    fait: String,
}

/// `GET /admin/annuaire/entrees`.
pub async fn list(
    State(state): State<AppState>,
    viewer: Viewer,
    _admin: AdminUser,
    Query(query): Query<ListQuery>,
) -> Result<ListPage, AppError> {
    let q: String = query.q.trim().chars().take(200).collect();
    let needle = q.clone();
    let entries = state.db.run(move |c| local::list(c, &needle, LIST_LIMIT + 1).map_err(AppError::from)).await?;
    let message = match query.fait.as_str() {
        "ferme" => {
            Some("L'entrée est fermée : elle n'apparaît plus dans l'annuaire. Vous pouvez la rouvrir à tout moment.")
        }
        "rouvert" => Some("L'entrée est rouverte : elle apparaît de nouveau dans l'annuaire."),
        _ => None,
    };
    Ok(ListPage {
        layout: Layout::new(&state, &viewer, None, "Entrées locales de l'annuaire"),
        q,
        entries,
        limit: LIST_LIMIT,
        message,
    })
}

/// The form of a local entry, new or existing.
#[derive(Template, WebTemplate)]
#[template(path = "admin/local_entry_form.html")]
pub struct FormPage {
    layout: Layout,
    /// The stored entry being edited.
    offer: Option<Offer>,
    input: LocalInput,
    pickers: Pickers,
    errors: FieldErrors,
    saved: bool,
    /// Who changed it last, « Camille Durand ».
    updated_by: Option<String>,
}

impl FormPage {
    fn err(&self, field: &str) -> Option<String> {
        self.errors.iter().find(|(f, _)| *f == field).map(|(_, m)| m.clone())
    }

    fn action(&self) -> String {
        self.offer
            .as_ref()
            .map_or_else(|| "/admin/annuaire/entrees/nouvelle".into(), |o| format!("/admin/annuaire/entrees/{}", o.id))
    }

    fn has(list: &[String], code: &str) -> bool {
        list.iter().any(|c| c == code)
    }

    fn updated(&self, o: &Offer) -> String {
        paris_time(o.last_updated())
    }
}

/// The form page; `edited` is the stored entry with the name of its last author.
fn form_page(
    state: &AppState,
    viewer: &Viewer,
    edited: Option<(Offer, Option<String>)>,
    input: LocalInput,
    pickers: Pickers,
    errors: FieldErrors,
) -> FormPage {
    let title = match &edited {
        Some((o, _)) => format!("Modifier « {} »", o.name),
        None => "Nouvelle entrée locale".to_owned(),
    };
    let (offer, updated_by) = edited.map_or((None, None), |(o, by)| (Some(o), by));
    let layout = Layout::new(state, viewer, None, &title);
    FormPage { layout, offer, input, pickers, errors, saved: false, updated_by }
}

/// `GET /admin/annuaire/entrees/nouvelle`.
pub async fn new_form(State(state): State<AppState>, viewer: Viewer, _admin: AdminUser) -> Result<FormPage, AppError> {
    let pickers = state.db.run(|c| Pickers::load(c).map_err(AppError::from)).await?;
    let input = LocalInput { contact_public: true, ..Default::default() };
    Ok(form_page(&state, &viewer, None, input, pickers, Vec::new()))
}

/// Reads the posted form: its CSRF token and the entry.
fn read_form(pairs: &[(String, String)]) -> (String, LocalInput) {
    let csrf = pairs.iter().find(|(k, _)| k == "csrf").map(|(_, v)| v.clone()).unwrap_or_default();
    (csrf, LocalInput::from_pairs(pairs))
}

/// `POST /admin/annuaire/entrees/nouvelle`.
pub async fn create(
    State(state): State<AppState>,
    viewer: Viewer,
    AdminUser(admin): AdminUser,
    Ctx(ctx): Ctx,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let (csrf, input) = read_form(&pairs);
    if !token_matches(&csrf, &admin.session.csrf_token) {
        return Ok(csrf_refused());
    }
    let pickers = state.db.run(|c| Pickers::load(c).map_err(AppError::from)).await?;
    let entry = match local::validate(&input, &pickers, &state.search.places()) {
        Ok(e) => e,
        Err(errors) => return Ok(invalid_form(form_page(&state, &viewer, None, input, pickers, errors))),
    };
    let id = state.db.write(move |c| local::create(c, &ctx, &entry).map_err(AppError::from)).await?;
    refresh_index(&state).await;
    Ok(Redirect::to(&format!("/admin/annuaire/entrees/{id}?enregistre=1")).into_response())
}

/// `?enregistre=1` after saving.
#[derive(Deserialize, Default)]
pub struct Saved {
    #[serde(default)]
    enregistre: Option<u8>,
}

/// The name of the account that last changed an entry; reading it is journaled (a user's
/// personal data), in the transaction of the read.
fn author(c: &mut crate::db::DbConn, ctx: &AccessContext, offer: &Offer) -> Result<Option<String>, AppError> {
    let Some(id) = offer.updated_by else { return Ok(None) };
    let Some(user) = crate::accounts::find_by_id(c, id)? else { return Ok(None) };
    journal::record(c, ctx, Action::Consultation, Object::new("user", id), Outcome::Success)?;
    Ok(Some(format!("{} {}", user.given_name, user.family_name)))
}

/// `GET /admin/annuaire/entrees/{id}`.
pub async fn edit_form(
    State(state): State<AppState>,
    viewer: Viewer,
    _admin: AdminUser,
    Ctx(ctx): Ctx,
    Path(id): Path<i64>,
    Query(saved): Query<Saved>,
) -> Result<FormPage, AppError> {
    let (offer, pickers, by) = state
        .db
        .write(move |c| {
            let offer = local::find_local(c, id)?;
            let by = author(c, &ctx, &offer)?;
            Ok::<_, AppError>((offer, Pickers::load(c)?, by))
        })
        .await?;
    let input = LocalInput::of_offer(&offer);
    let mut page = form_page(&state, &viewer, Some((offer, by)), input, pickers, Vec::new());
    page.saved = saved.enregistre == Some(1);
    Ok(page)
}

/// `POST /admin/annuaire/entrees/{id}`.
pub async fn update(
    State(state): State<AppState>,
    viewer: Viewer,
    AdminUser(admin): AdminUser,
    Ctx(ctx): Ctx,
    Path(id): Path<i64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let (csrf, input) = read_form(&pairs);
    if !token_matches(&csrf, &admin.session.csrf_token) {
        return Ok(csrf_refused());
    }
    let read_ctx = ctx.clone();
    let (offer, pickers, by) = state
        .db
        .write(move |c| {
            let offer = local::find_local(c, id)?;
            let by = author(c, &read_ctx, &offer)?;
            Ok::<_, AppError>((offer, Pickers::load(c)?, by))
        })
        .await?;
    let entry = match local::validate(&input, &pickers, &state.search.places()) {
        Ok(e) => e,
        Err(errors) => {
            return Ok(invalid_form(form_page(&state, &viewer, Some((offer, by)), input, pickers, errors)));
        }
    };
    state.db.write(move |c| local::update(c, &ctx, id, &entry).map_err(AppError::from)).await?;
    refresh_index(&state).await;
    Ok(Redirect::to(&format!("/admin/annuaire/entrees/{id}?enregistre=1")).into_response())
}

/// The close/reopen form.
#[derive(Deserialize)]
pub struct StatusForm {
    csrf: String,
    /// `fermer` or `rouvrir`.
    action: String,
}

/// `POST /admin/annuaire/entrees/{id}/statut`: closes (never deletes) or reopens an entry.
pub async fn set_status(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    Ctx(ctx): Ctx,
    Path(id): Path<i64>,
    Form(form): Form<StatusForm>,
) -> Result<Response, AppError> {
    if !token_matches(&form.csrf, &admin.session.csrf_token) {
        return Ok(csrf_refused());
    }
    let closed = match form.action.as_str() {
        "fermer" => true,
        "rouvrir" => false,
        _ => {
            return Err(AppError::BadRequest(
                "Action inconnue : choisissez « fermer » ou « rouvrir » depuis la liste des entrées locales.".into(),
            ));
        }
    };
    state.db.write(move |c| local::set_closed(c, &ctx, id, closed).map_err(AppError::from)).await?;
    refresh_index(&state).await;
    let done = if closed { "ferme" } else { "rouvert" };
    Ok(Redirect::to(&format!("/admin/annuaire/entrees?fait={done}")).into_response())
}
