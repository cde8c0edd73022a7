//! Outbox rows.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::schema::mail_outbox;

/// A message to send.
#[derive(Debug, Clone)]
pub struct NewMail {
    /// Recipient address.
    pub recipient: String,
    /// Subject line.
    pub subject: String,
    /// Plain-text body.
    pub body_text: String,
}

/// A message in the outbox.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = mail_outbox)]
pub struct OutboxMail {
    /// Id.
    pub id: i64,
    /// Recipient address.
    pub recipient: String,
    /// Subject line.
    pub subject: String,
    /// Plain-text body.
    pub body_text: String,
    /// `pending`, `sent` (SMTP) or `written` (on-disk outbox).
    pub status: String,
    /// Failed attempts so far.
    pub attempts: i32,
    /// When the next attempt is due.
    pub next_attempt_at: NaiveDateTime,
    /// The last delivery error.
    pub last_error: Option<String>,
    /// When it was delivered.
    pub sent_at: Option<NaiveDateTime>,
    /// When it was queued.
    pub created_at: NaiveDateTime,
    /// Last change.
    pub updated_at: NaiveDateTime,
}

impl OutboxMail {
    /// The state in French, for the back office.
    pub fn status_label(&self) -> &'static str {
        status_label(&self.status)
    }
}

/// A status in French, for the back office.
pub fn status_label(status: &str) -> &'static str {
    match status {
        "pending" => "En attente d'envoi",
        "sent" => "Envoyé",
        "written" => "Déposé dans la boîte d'envoi locale",
        _ => "Inconnu",
    }
}

/// Queues a message; call it in the transaction of the action that sends it.
pub fn enqueue(conn: &mut DbConn, mail: &NewMail, now: NaiveDateTime) -> QueryResult<i64> {
    diesel::insert_into(mail_outbox::table)
        .values((
            mail_outbox::recipient.eq(&mail.recipient),
            mail_outbox::subject.eq(&mail.subject),
            mail_outbox::body_text.eq(&mail.body_text),
            mail_outbox::status.eq("pending"),
            mail_outbox::attempts.eq(0),
            mail_outbox::next_attempt_at.eq(now),
            mail_outbox::created_at.eq(now),
            mail_outbox::updated_at.eq(now),
        ))
        .returning(mail_outbox::id)
        .get_result(conn)
}

/// Pending messages whose next attempt is due, oldest first.
pub(super) fn list_due(conn: &mut DbConn, now: NaiveDateTime, limit: i64) -> QueryResult<Vec<OutboxMail>> {
    mail_outbox::table
        .filter(mail_outbox::status.eq("pending"))
        .filter(mail_outbox::next_attempt_at.le(now))
        .order(mail_outbox::id.asc())
        .limit(limit)
        .select(OutboxMail::as_select())
        .load(conn)
}

/// The most recent messages, newest first (back office).
pub fn list_recent(conn: &mut DbConn, limit: i64) -> QueryResult<Vec<OutboxMail>> {
    mail_outbox::table.order(mail_outbox::id.desc()).limit(limit).select(OutboxMail::as_select()).load(conn)
}

/// One message.
pub fn find(conn: &mut DbConn, id: i64) -> QueryResult<Option<OutboxMail>> {
    mail_outbox::table.find(id).select(OutboxMail::as_select()).first(conn).optional()
}

/// Number of messages per status.
pub fn count_by_status(conn: &mut DbConn) -> QueryResult<Vec<(String, i64)>> {
    mail_outbox::table.group_by(mail_outbox::status).select((mail_outbox::status, diesel::dsl::count_star())).load(conn)
}

/// Marks a message delivered (`sent` or `written`).
pub(super) fn mark_delivered(conn: &mut DbConn, id: i64, status: &str, now: NaiveDateTime) -> QueryResult<()> {
    diesel::update(mail_outbox::table.find(id))
        .set((
            mail_outbox::status.eq(status),
            mail_outbox::sent_at.eq(now),
            mail_outbox::last_error.eq(None::<String>),
            mail_outbox::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// Records a failed attempt and when to try again.
pub(super) fn mark_failed(
    conn: &mut DbConn,
    id: i64,
    attempts: i32,
    now: NaiveDateTime,
    next: NaiveDateTime,
    error: &str,
) -> QueryResult<()> {
    let error: String = error.chars().take(500).collect();
    diesel::update(mail_outbox::table.find(id))
        .set((
            mail_outbox::attempts.eq(attempts),
            mail_outbox::next_attempt_at.eq(next),
            mail_outbox::last_error.eq(error),
            mail_outbox::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}
