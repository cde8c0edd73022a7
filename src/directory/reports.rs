//! « Signaler une erreur » (DIR-5): anyone may report an error on a sheet; reports wait in a
//! queue until an administrator marks them handled. A report may hold personal data (the free
//! text, the reporter's address), so every write and every consultation is journaled (JNL-1).

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::sheet::{self, EntryRef};
use crate::db::DbConn;
use crate::db::schema::{dir_reports, users};
use crate::journal::{self, AccessContext, Action, Object, Outcome};

/// The journal object kind of a report.
pub const JOURNAL_REPORT: &str = "dir_report";

/// Longest description accepted, in characters.
pub const MAX_MESSAGE_CHARS: usize = 2000;

/// What can be wrong on a sheet: stored code, label.
pub const KINDS: &[(&str, &str)] = &[
    ("adresse", "Adresse"),
    ("telephone", "Téléphone"),
    ("horaires", "Horaires"),
    ("offre_fermee", "Offre fermée"),
    ("autre", "Autre"),
];

/// The label of a kind code.
pub fn kind_label(code: &str) -> &'static str {
    KINDS.iter().find(|(c, _)| *c == code).map_or("Autre", |(_, l)| l)
}

/// A stored report.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = dir_reports)]
pub struct Report {
    /// Id.
    pub id: i64,
    /// `offer` or `site`.
    pub entry_kind: String,
    /// Id of the offer or site.
    pub entry_id: i64,
    /// One of [`KINDS`].
    pub kind: String,
    /// What is wrong, as written.
    pub message: String,
    /// Address an anonymous reporter left, canonical.
    pub contact_email: Option<String>,
    /// The logged-in reporter.
    pub reporter_id: Option<i64>,
    /// `new` or `handled`.
    pub status: String,
    /// The administrator who handled it.
    pub handled_by: Option<i64>,
    /// When.
    pub handled_at: Option<NaiveDateTime>,
    /// The administrator's note.
    pub handling_note: Option<String>,
    /// Sent at.
    pub created_at: NaiveDateTime,
    /// Changed at.
    pub updated_at: NaiveDateTime,
}

impl Report {
    /// The sheet it is about.
    pub fn entry(&self) -> Option<EntryRef> {
        EntryRef::of_kind(&self.entry_kind, self.entry_id)
    }
}

/// A report as typed in the form.
#[derive(Debug, Clone, Default)]
pub struct ReportInput {
    /// Kind code.
    pub kind: String,
    /// Description.
    pub message: String,
    /// Contact address (anonymous reporters only).
    pub email: String,
}

/// A checked report, ready to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidReport {
    /// Kind code, one of [`KINDS`].
    pub kind: &'static str,
    /// Description, trimmed.
    pub message: String,
    /// Canonical contact address, if given.
    pub contact_email: Option<String>,
}

/// Checks a report; the errors are (field, French message).
pub fn validate(input: &ReportInput, anonymous: bool) -> Result<ValidReport, Vec<(&'static str, String)>> {
    let mut errors = Vec::new();
    let kind = KINDS.iter().find(|(c, _)| *c == input.kind).map(|(c, _)| *c);
    if kind.is_none() {
        errors.push(("kind", "Choisissez ce qui est erroné dans la liste.".to_owned()));
    }
    let message = input.message.trim();
    if message.is_empty() {
        errors.push(("message", "Décrivez l'erreur constatée.".to_owned()));
    } else if message.chars().count() > MAX_MESSAGE_CHARS {
        // MAX_MESSAGE_CHARS, written the French way.
        errors
            .push(("message", "La description ne peut dépasser 2\u{a0}000 caractères : raccourcissez-la.".to_owned()));
    } else if message.chars().any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t') {
        errors.push(("message", "La description contient des caractères non autorisés.".to_owned()));
    }
    let contact_email = match input.email.trim() {
        "" => None,
        _ if !anonymous => None,
        raw => match crate::accounts::canonical_email(raw) {
            Ok(e) => Some(e),
            Err(e) => {
                errors.push(("email", e.to_string()));
                None
            }
        },
    };
    match kind {
        Some(kind) if errors.is_empty() => Ok(ValidReport { kind, message: message.to_owned(), contact_email }),
        _ => Err(errors),
    }
}

/// Stores a report and journals it; returns its id.
pub fn create_report(
    conn: &mut DbConn,
    ctx: &AccessContext,
    entry: EntryRef,
    report: &ValidReport,
) -> QueryResult<i64> {
    let now = ctx.at.naive_utc();
    let id: i64 = diesel::insert_into(dir_reports::table)
        .values((
            dir_reports::entry_kind.eq(entry.kind()),
            dir_reports::entry_id.eq(entry.id()),
            dir_reports::kind.eq(report.kind),
            dir_reports::message.eq(&report.message),
            dir_reports::contact_email.eq(&report.contact_email),
            dir_reports::reporter_id.eq(ctx.actor.id),
            dir_reports::status.eq("new"),
            dir_reports::created_at.eq(now),
            dir_reports::updated_at.eq(now),
        ))
        .returning(dir_reports::id)
        .get_result(conn)?;
    journal::record(conn, ctx, Action::Creation, Object::new(JOURNAL_REPORT, id), Outcome::Success)?;
    Ok(id)
}

/// A report with what the back office shows of it.
#[derive(Debug, Clone)]
pub struct ReportRow {
    /// The report.
    pub report: Report,
    /// The sheet it is about.
    pub entry: Option<EntryRef>,
    /// The name of that entry, if it still exists.
    pub entry_title: Option<String>,
    /// « Prénom Nom <adresse> » of the logged-in reporter.
    pub reporter: Option<String>,
    /// « Prénom Nom » of the administrator who handled it.
    pub handler: Option<String>,
}

/// The most recent reports, new ones first, with the names they point to (no query per row);
/// journaled as a consultation of the list.
pub fn list_reports(conn: &mut DbConn, ctx: &AccessContext, limit: i64) -> QueryResult<Vec<ReportRow>> {
    let rows: Vec<Report> = dir_reports::table
        // `new` sorts after `handled`: descending puts the queue first.
        .order((dir_reports::status.desc(), dir_reports::created_at.desc(), dir_reports::id.desc()))
        .limit(limit)
        .select(Report::as_select())
        .load(conn)?;
    let entries: Vec<EntryRef> = rows.iter().filter_map(Report::entry).collect();
    let titles = sheet::titles(conn, &entries)?;
    let people: Vec<i64> = rows.iter().flat_map(|r| [r.reporter_id, r.handled_by]).flatten().collect();
    let people: HashMap<i64, (String, String)> = users::table
        .filter(users::id.eq_any(people))
        .select((users::id, users::given_name, users::family_name, users::email))
        .load::<(i64, String, String, String)>(conn)?
        .into_iter()
        .map(|(id, given, family, email)| (id, (format!("{given} {family}"), email)))
        .collect();
    journal::record(conn, ctx, Action::Consultation, Object::kind(JOURNAL_REPORT), Outcome::Success)?;
    Ok(rows
        .into_iter()
        .map(|report| {
            let entry = report.entry();
            ReportRow {
                entry,
                entry_title: entry.and_then(|e| titles.get(&e).cloned()),
                reporter: report.reporter_id.and_then(|id| people.get(&id)).map(|(n, e)| format!("{n} <{e}>")),
                handler: report.handled_by.and_then(|id| people.get(&id)).map(|(n, _)| n.clone()),
                report,
            }
        })
        .collect())
}

/// Number of reports waiting.
pub fn count_new(conn: &mut DbConn) -> QueryResult<i64> {
    dir_reports::table.filter(dir_reports::status.eq("new")).count().get_result(conn)
}

/// What marking a report handled did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handling {
    /// It is handled now.
    Done,
    /// Someone handled it already: nothing changed.
    AlreadyHandled,
    /// No such report.
    NotFound,
}

/// Marks a report handled by the acting administrator, with an optional note (one conditional
/// statement: two administrators cannot both handle it).
pub fn mark_handled(conn: &mut DbConn, ctx: &AccessContext, id: i64, note: Option<&str>) -> QueryResult<Handling> {
    let now = ctx.at.naive_utc();
    let changed = diesel::update(dir_reports::table.find(id).filter(dir_reports::status.eq("new")))
        .set((
            dir_reports::status.eq("handled"),
            dir_reports::handled_by.eq(ctx.actor.id),
            dir_reports::handled_at.eq(now),
            dir_reports::handling_note.eq(note),
            dir_reports::updated_at.eq(now),
        ))
        .execute(conn)?;
    if changed == 1 {
        journal::record(conn, ctx, Action::Modification, Object::new(JOURNAL_REPORT, id), Outcome::Success)?;
        return Ok(Handling::Done);
    }
    let exists: i64 = dir_reports::table.find(id).count().get_result(conn)?;
    Ok(if exists == 0 { Handling::NotFound } else { Handling::AlreadyHandled })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(kind: &str, message: &str, email: &str) -> ReportInput {
        ReportInput { kind: kind.into(), message: message.into(), email: email.into() }
    }

    #[test]
    fn a_report_needs_a_known_kind_and_a_description_of_at_most_2000_characters() {
        let ok = validate(&input("telephone", "  Le numéro ne répond plus.  ", " Marie@Exemple.FR "), true).unwrap();
        assert_eq!(ok.message, "Le numéro ne répond plus.");
        assert_eq!(ok.contact_email.as_deref(), Some("marie@exemple.fr"));
        let fields = |r: Result<ValidReport, Vec<(&'static str, String)>>| -> Vec<&'static str> {
            r.unwrap_err().into_iter().map(|(f, _)| f).collect()
        };
        assert_eq!(fields(validate(&input("x", "", "pas-une-adresse"), true)), vec!["kind", "message", "email"]);
        assert_eq!(fields(validate(&input("autre", &"é".repeat(2001), ""), true)), vec!["message"]);
        assert!(validate(&input("autre", &"é".repeat(2000), ""), true).is_ok());
        // A logged-in reporter is linked by account: an address typed anyway is not kept.
        assert_eq!(validate(&input("autre", "x", "a@b.fr"), false).unwrap().contact_email, None);
    }
}
