//! Journal rows: appending (under the head-row lock) and reading.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::chain::Fields;
use super::{AccessContext, Action, Object, Outcome};
use crate::db::DbConn;
use crate::db::schema::{journal_entries, journal_head};

/// Longest text kept in one field; longer values are cut (identifiers only belong here).
const MAX_FIELD_CHARS: usize = 200;

/// One stored journal entry.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = journal_entries)]
pub struct JournalEntry {
    /// Position in the chain, from 1, without gaps.
    pub id: i64,
    /// When the action happened (UTC).
    pub occurred_at: NaiveDateTime,
    /// The acting account, if any.
    pub actor_id: Option<i64>,
    /// The role acted in.
    pub actor_role: String,
    /// What was done.
    pub action: String,
    /// The kind of record.
    pub object_type: String,
    /// The record's identifier.
    pub object_id: Option<String>,
    /// How it ended.
    pub outcome: String,
    /// Client address.
    pub source_ip: Option<String>,
    /// Request id.
    pub request_id: Option<String>,
    /// Hash of the previous entry.
    pub prev_hash: String,
    /// This entry's hash.
    pub hash: String,
    /// Insertion time (same as `occurred_at`; kept for the house rule on timestamps).
    pub created_at: NaiveDateTime,
}

impl JournalEntry {
    pub(super) fn fields(&self) -> Fields<'_> {
        Fields {
            id: self.id,
            occurred_at: self.occurred_at,
            actor_id: self.actor_id,
            actor_role: &self.actor_role,
            action: &self.action,
            object_type: &self.object_type,
            object_id: self.object_id.as_deref(),
            outcome: &self.outcome,
            source_ip: self.source_ip.as_deref(),
            request_id: self.request_id.as_deref(),
            prev_hash: &self.prev_hash,
        }
    }
}

/// Appends one entry. Call it inside the transaction of the action it describes (see
/// `db::write_tx`), after the change: the head-row lock it takes is held until commit, which
/// orders the chain; if the transaction rolls back, neither the change nor the entry remain.
pub fn record(
    conn: &mut DbConn,
    ctx: &AccessContext,
    action: Action,
    object: Object,
    outcome: Outcome,
) -> QueryResult<JournalEntry> {
    let (id, prev_hash): (i64, String) = diesel::update(journal_head::table.find(1))
        .set(journal_head::last_id.eq(journal_head::last_id + 1))
        .returning((journal_head::last_id, journal_head::last_hash))
        .get_result(conn)?;
    let occurred_at = ctx.at.naive_utc();
    let object_id = object.id.as_deref().map(clean);
    let source_ip = ctx.source_ip.map(|ip| ip.to_string());
    let request_id = ctx.request_id.as_deref().map(clean);
    let fields = Fields {
        id,
        occurred_at,
        actor_id: ctx.actor.id,
        actor_role: ctx.actor.role.as_str(),
        action: action.as_str(),
        object_type: object.kind,
        object_id: object_id.as_deref(),
        outcome: outcome.as_str(),
        source_ip: source_ip.as_deref(),
        request_id: request_id.as_deref(),
        prev_hash: &prev_hash,
    };
    let hash = fields.hash(&ctx.key);
    let entry = diesel::insert_into(journal_entries::table)
        .values((
            journal_entries::id.eq(id),
            journal_entries::occurred_at.eq(occurred_at),
            journal_entries::actor_id.eq(ctx.actor.id),
            journal_entries::actor_role.eq(fields.actor_role),
            journal_entries::action.eq(fields.action),
            journal_entries::object_type.eq(fields.object_type),
            journal_entries::object_id.eq(fields.object_id),
            journal_entries::outcome.eq(fields.outcome),
            journal_entries::source_ip.eq(fields.source_ip),
            journal_entries::request_id.eq(fields.request_id),
            journal_entries::prev_hash.eq(&prev_hash),
            journal_entries::hash.eq(&hash),
            journal_entries::created_at.eq(occurred_at),
        ))
        .returning(journal_entries::all_columns)
        .get_result::<JournalEntry>(conn)?;
    diesel::update(journal_head::table.find(1))
        .set((journal_head::last_hash.eq(&hash), journal_head::updated_at.eq(occurred_at)))
        .execute(conn)?;
    Ok(entry)
}

/// Escapes control characters (CR, LF, ANSI escapes…) and caps the length, so that a value
/// taken from a request cannot forge lines in an export or a terminal (SECURITY-TESTS T18).
fn clean(value: &str) -> String {
    let mut out = String::with_capacity(value.len().min(MAX_FIELD_CHARS));
    for c in value.chars().take(MAX_FIELD_CHARS) {
        if c.is_control() {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    out
}

/// Number of entries in the active journal.
pub fn count(conn: &mut DbConn) -> QueryResult<i64> {
    journal_entries::table.count().get_result(conn)
}

/// The entries about one record, newest first (JNL-3: specific checks per record).
pub fn list_for_object(conn: &mut DbConn, kind: &str, id: &str, limit: i64) -> QueryResult<Vec<JournalEntry>> {
    journal_entries::table
        .filter(journal_entries::object_type.eq(kind))
        .filter(journal_entries::object_id.eq(id))
        .order(journal_entries::id.desc())
        .limit(limit)
        .select(JournalEntry::as_select())
        .load(conn)
}

/// Every entry in chain order (tests and small exports; use `list_after` pages for more).
pub fn list_all(conn: &mut DbConn) -> QueryResult<Vec<JournalEntry>> {
    list_after(conn, 0, i64::MAX)
}

/// A page of entries after `after_id`, in chain order (exports read the journal page by page).
pub fn list_after(conn: &mut DbConn, after_id: i64, limit: i64) -> QueryResult<Vec<JournalEntry>> {
    journal_entries::table
        .filter(journal_entries::id.gt(after_id))
        .order(journal_entries::id.asc())
        .limit(limit)
        .select(JournalEntry::as_select())
        .load(conn)
}

/// The chain's head: (base id, base hash, last id, last hash).
pub(super) fn head(conn: &mut DbConn) -> QueryResult<(i64, String, i64, String)> {
    journal_head::table
        .find(1)
        .select((journal_head::base_id, journal_head::base_hash, journal_head::last_id, journal_head::last_hash))
        .get_result(conn)
}

#[cfg(test)]
mod tests {
    use super::clean;

    #[test]
    fn control_characters_are_escaped_and_length_capped() {
        assert_eq!(clean("a\r\nb\u{1b}[31m"), "a\\u{d}\\u{a}b\\u{1b}[31m");
        assert_eq!(clean(&"x".repeat(1000)).len(), 200);
    }
}
