//! The history of directory imports (SPEC DIR-3), for the back office: every import with its
//! counts, and the records each one left out. Reading it is journaled (the actor is a person).

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::schema::{dir_imports, users};
use crate::journal::{self, AccessContext, Action, Object, Outcome};

/// One import, as listed.
#[derive(Debug, Clone)]
pub struct ImportRow {
    /// Id.
    pub id: i64,
    /// When it ran (UTC).
    pub created_at: NaiveDateTime,
    /// `finess-csv`, `finess-json`, `fhir`.
    pub format: String,
    /// The file's name as given.
    pub file_name: String,
    /// The territory, when it was limited.
    pub scope: Option<String>,
    /// Who ran it (`None`: the command line or a job).
    pub actor: Option<String>,
    /// New records.
    pub created: i32,
    /// Changed records.
    pub updated: i32,
    /// Identical records.
    pub unchanged: i32,
    /// Records closed because the file no longer had them.
    pub closed: i32,
    /// Records outside the scope.
    pub skipped: i32,
    /// Records left out.
    pub rejected: i32,
}

/// One record an import left out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectedLine {
    /// Where in the file (`line 12`, `pmej[3].ege[1]`).
    pub position: String,
    /// The faulty field, when one is.
    pub field: Option<String>,
    /// Why.
    pub reason: String,
    /// Its FINESS number, when one could be read.
    pub finess: Option<String>,
}

type Columns = (i64, NaiveDateTime, String, String, Option<String>, Option<i64>, i32, i32, i32, i32, i32, i32);

const COLUMNS: (
    dir_imports::id,
    dir_imports::created_at,
    dir_imports::format,
    dir_imports::file_name,
    dir_imports::scope,
    dir_imports::actor_id,
    dir_imports::created_count,
    dir_imports::updated_count,
    dir_imports::unchanged_count,
    dir_imports::closed_count,
    dir_imports::skipped_count,
    dir_imports::rejected_count,
) = (
    dir_imports::id,
    dir_imports::created_at,
    dir_imports::format,
    dir_imports::file_name,
    dir_imports::scope,
    dir_imports::actor_id,
    dir_imports::created_count,
    dir_imports::updated_count,
    dir_imports::unchanged_count,
    dir_imports::closed_count,
    dir_imports::skipped_count,
    dir_imports::rejected_count,
);

fn rows(conn: &mut DbConn, found: Vec<Columns>) -> QueryResult<Vec<ImportRow>> {
    let ids: Vec<i64> = found.iter().filter_map(|r| r.5).collect();
    let names: HashMap<i64, String> = users::table
        .filter(users::id.eq_any(ids))
        .select((users::id, users::given_name, users::family_name))
        .load::<(i64, String, String)>(conn)?
        .into_iter()
        .map(|(id, given, family)| (id, format!("{given} {family}")))
        .collect();
    Ok(found
        .into_iter()
        .map(|r| ImportRow {
            id: r.0,
            created_at: r.1,
            format: r.2,
            file_name: r.3,
            scope: r.4,
            actor: r.5.and_then(|id| names.get(&id).cloned()),
            created: r.6,
            updated: r.7,
            unchanged: r.8,
            closed: r.9,
            skipped: r.10,
            rejected: r.11,
        })
        .collect())
}

/// One page of the history, newest first, with the total number of imports; journaled.
pub fn list(conn: &mut DbConn, ctx: &AccessContext, page: i64, per_page: i64) -> QueryResult<(Vec<ImportRow>, i64)> {
    let total: i64 = dir_imports::table.count().get_result(conn)?;
    let found: Vec<Columns> = dir_imports::table
        .order(dir_imports::id.desc())
        .offset(page.max(0) * per_page)
        .limit(per_page)
        .select(COLUMNS)
        .load(conn)?;
    let rows = rows(conn, found)?;
    journal::record(conn, ctx, Action::Consultation, Object::kind("directory_imports"), Outcome::Success)?;
    Ok((rows, total))
}

/// One import with the records it left out; journaled.
pub fn find(conn: &mut DbConn, ctx: &AccessContext, id: i64) -> QueryResult<Option<(ImportRow, Vec<RejectedLine>)>> {
    let found: Option<(Columns, String)> =
        dir_imports::table.find(id).select((COLUMNS, dir_imports::report)).first(conn).optional()?;
    let Some((columns, report)) = found else { return Ok(None) };
    let row = rows(conn, vec![columns])?.pop().expect("one row in, one row out");
    journal::record(conn, ctx, Action::Consultation, Object::new("directory_import", id), Outcome::Success)?;
    Ok(Some((row, rejected_lines(&report))))
}

/// The rejected records of a stored report: structured (`records`) when the import wrote
/// them, else the lines of text of older imports.
pub fn rejected_lines(report: &str) -> Vec<RejectedLine> {
    let value: serde_json::Value = serde_json::from_str(report).unwrap_or_default();
    let text = |v: &serde_json::Value, k: &str| v.get(k).and_then(|x| x.as_str()).map(str::to_owned);
    if let Some(records) = value.get("records").and_then(|r| r.as_array()) {
        return records
            .iter()
            .map(|r| RejectedLine {
                position: text(r, "position").unwrap_or_default(),
                field: text(r, "field"),
                reason: text(r, "reason").unwrap_or_default(),
                finess: text(r, "finess"),
            })
            .collect();
    }
    value
        .get("rejected")
        .and_then(|r| r.as_array())
        .map(|lines| {
            lines
                .iter()
                .filter_map(|l| l.as_str())
                .map(|l| RejectedLine { position: String::new(), field: None, reason: l.to_owned(), finess: None })
                .collect()
        })
        .unwrap_or_default()
}
