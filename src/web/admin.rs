//! The back office (administrators only). For now: the mail outbox (foundation issue), with
//! every consultation journaled since messages hold personal data (JNL-1).

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};

use super::error::AppError;
use super::extract::Ctx;
use super::layout::Layout;
use super::session::{AdminUser, Viewer};
use crate::app::AppState;
use crate::journal::{self, Action, Object, Outcome};
use crate::mail::{self, OutboxMail};

/// Messages shown on the outbox page.
const OUTBOX_PAGE: i64 = 200;

/// The back office home.
#[derive(Template, WebTemplate)]
#[template(path = "admin/dashboard.html")]
pub struct DashboardPage {
    layout: Layout,
    outbox: Vec<(String, i64)>,
    journal_entries: i64,
    awaiting: i64,
    new_reports: i64,
}

/// `GET /admin`.
pub async fn dashboard(
    State(state): State<AppState>,
    viewer: Viewer,
    _admin: AdminUser,
) -> Result<DashboardPage, AppError> {
    let (outbox, journal_entries, awaiting, new_reports) = state
        .db
        .run(|c| {
            Ok::<_, AppError>((
                mail::count_by_status(c)?,
                journal::count(c)?,
                crate::accounts::manage::count_awaiting_approval(c)?,
                crate::directory::reports::count_new(c)?,
            ))
        })
        .await?;
    Ok(DashboardPage {
        layout: Layout::new(&state, &viewer, None, "Administration"),
        outbox,
        journal_entries,
        awaiting,
        new_reports,
    })
}

/// The outbox list.
#[derive(Template, WebTemplate)]
#[template(path = "admin/outbox.html")]
pub struct OutboxPage {
    layout: Layout,
    mails: Vec<OutboxMail>,
}

/// `GET /admin/courriels`: the most recent messages, journaled as a consultation.
pub async fn outbox(
    State(state): State<AppState>,
    viewer: Viewer,
    _admin: AdminUser,
    Ctx(ctx): Ctx,
) -> Result<OutboxPage, AppError> {
    let mails = state
        .db
        .write(move |c| {
            let mails = mail::list_recent(c, OUTBOX_PAGE)?;
            journal::record(c, &ctx, Action::Consultation, Object::kind("mail_outbox"), Outcome::Success)?;
            Ok::<_, AppError>(mails)
        })
        .await?;
    Ok(OutboxPage { layout: Layout::new(&state, &viewer, None, "Courriels envoyés"), mails })
}

/// One message.
#[derive(Template, WebTemplate)]
#[template(path = "admin/mail.html")]
pub struct MailPage {
    layout: Layout,
    mail: OutboxMail,
}

/// `GET /admin/courriels/{id}`, journaled as a consultation of that message.
pub async fn mail(
    State(state): State<AppState>,
    viewer: Viewer,
    _admin: AdminUser,
    Ctx(ctx): Ctx,
    Path(id): Path<i64>,
) -> Result<MailPage, AppError> {
    let mail = state
        .db
        .write(move |c| {
            let mail = mail::find(c, id)?.ok_or(AppError::NotFound)?;
            journal::record(c, &ctx, Action::Consultation, Object::new("mail_outbox", id), Outcome::Success)?;
            Ok::<_, AppError>(mail)
        })
        .await?;
    Ok(MailPage { layout: Layout::new(&state, &viewer, None, &format!("Courriel n° {id}")), mail })
}
