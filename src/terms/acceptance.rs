//! Acceptances (CGU-2, CGU-3): the proof that an account accepted a version — who, which
//! version, when, through what and from which address — and the decision, at each request,
//! whether the account must accept a version before going on.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::model::{LegalDoc, TermsError, VersionInfo};
use crate::db::DbConn;
use crate::db::schema::{legal_acceptances, legal_documents, users};
use crate::journal::{self, AccessContext, Action, Object, Outcome};

/// The proof of one acceptance.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = legal_acceptances)]
pub struct Acceptance {
    /// Id.
    pub id: i64,
    /// The version accepted.
    pub document_id: i64,
    /// Who accepted it.
    pub user_id: i64,
    /// When (UTC).
    pub accepted_at: NaiveDateTime,
    /// Through what: `web` (the acceptance page), or another channel added later.
    pub source: String,
    /// The client address, under the trusted-proxy rule.
    pub source_ip: Option<String>,
    /// Insertion time.
    pub created_at: NaiveDateTime,
    /// Last change (never changed).
    pub updated_at: NaiveDateTime,
}

/// Records that `user_id` accepted the published version `document_id`, with the time and
/// address of `ctx`, and journals it. Idempotent: accepting the same version again records
/// nothing and returns `false`. A draft or unknown version is refused (`NotFound`).
pub fn accept(
    conn: &mut DbConn,
    ctx: &AccessContext,
    user_id: i64,
    document_id: i64,
    source: &str,
) -> Result<bool, TermsError> {
    let published: i64 = legal_documents::table
        .find(document_id)
        .filter(legal_documents::published_at.is_not_null())
        .count()
        .get_result(conn)?;
    if published == 0 {
        return Err(TermsError::NotFound);
    }
    let now = ctx.at.naive_utc();
    let ip = ctx.source_ip.map(|ip| ip.to_string());
    let row = || {
        (
            legal_acceptances::document_id.eq(document_id),
            legal_acceptances::user_id.eq(user_id),
            legal_acceptances::accepted_at.eq(now),
            legal_acceptances::source.eq(source),
            legal_acceptances::source_ip.eq(ip.clone()),
            legal_acceptances::created_at.eq(now),
            legal_acceptances::updated_at.eq(now),
        )
    };
    // One statement, so that a double click or two tabs cannot record two acceptances.
    let inserted = match conn {
        DbConn::Pg(c) => {
            diesel::insert_into(legal_acceptances::table).values(row()).on_conflict_do_nothing().execute(c)?
        }
        DbConn::Sqlite(c) => diesel::insert_or_ignore_into(legal_acceptances::table).values(row()).execute(c)?,
    };
    if inserted == 0 {
        return Ok(false);
    }
    let id = find_acceptance(conn, user_id, document_id)?.map(|a| a.id).ok_or(TermsError::NotFound)?;
    journal::record(conn, ctx, Action::Creation, Object::new("legal_acceptance", id), Outcome::Success)?;
    Ok(true)
}

/// The acceptance of one version by one account, if any.
pub fn find_acceptance(conn: &mut DbConn, user_id: i64, document_id: i64) -> QueryResult<Option<Acceptance>> {
    legal_acceptances::table
        .filter(legal_acceptances::user_id.eq(user_id))
        .filter(legal_acceptances::document_id.eq(document_id))
        .select(Acceptance::as_select())
        .first(conn)
        .optional()
}

/// Every acceptance of an account with the version accepted, newest first (for the account's
/// own page and the export of its data).
pub fn list_acceptances(conn: &mut DbConn, user_id: i64) -> QueryResult<Vec<(Acceptance, VersionInfo)>> {
    legal_acceptances::table
        .inner_join(legal_documents::table)
        .filter(legal_acceptances::user_id.eq(user_id))
        .order((legal_acceptances::accepted_at.desc(), legal_acceptances::id.desc()))
        .select((Acceptance::as_select(), VersionInfo::as_select()))
        .load(conn)
}

/// A version an account has to accept, or is told about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    /// The version to accept (the newest published).
    pub document_id: i64,
    /// Its number.
    pub version: i32,
    /// When it was published.
    pub published_at: NaiveDateTime,
    /// The newest version the account accepted before, if any (its summary of changes is then shown).
    pub last_accepted: Option<i32>,
}

/// What the terms of use ask of an account now.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Gate {
    /// Nothing: the version in force, or a later one, is accepted.
    #[default]
    Clear,
    /// The account never accepted the terms, or not since the latest major version: nothing
    /// but the terms, the data export, account closure and contact until it does (CGU-2).
    MustAccept(Pending),
    /// Only minor versions were published since the account's last acceptance: a notice.
    Notify(Pending),
}

impl Gate {
    /// The minor update to announce, if that is all there is.
    pub fn notice(&self) -> Option<&Pending> {
        match self {
            Self::Notify(p) => Some(p),
            _ => None,
        }
    }
}

/// One published version, newest first, and whether the account accepted it.
#[derive(Debug, Clone, Copy)]
struct VersionRow {
    id: i64,
    version: i32,
    major: bool,
    published_at: NaiveDateTime,
    accepted: bool,
}

/// The published versions of `doc` with, for each, whether `user_id` accepted it: one query on
/// two indexes (`legal_documents_version`, `legal_acceptances_once`), a handful of rows.
fn versions_for(conn: &mut DbConn, doc: &LegalDoc, user_id: i64) -> QueryResult<Vec<VersionRow>> {
    type Row = (i64, i32, bool, Option<NaiveDateTime>, Option<i64>);
    let rows: Vec<Row> = legal_documents::table
        .left_join(
            legal_acceptances::table
                .on(legal_acceptances::document_id.eq(legal_documents::id).and(legal_acceptances::user_id.eq(user_id))),
        )
        .filter(legal_documents::kind.eq(doc.kind()))
        .filter(legal_documents::feature_key.eq(doc.feature_key()))
        .filter(legal_documents::published_at.is_not_null())
        .order(legal_documents::version.desc())
        .select((
            legal_documents::id,
            legal_documents::version,
            legal_documents::major,
            legal_documents::published_at,
            legal_acceptances::id.nullable(),
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, version, major, published_at, acceptance)| {
            Some(VersionRow { id, version, major, published_at: published_at?, accepted: acceptance.is_some() })
        })
        .collect())
}

/// What the terms ask of `user_id` (the gate of every request of a professional).
pub fn pending_terms(conn: &mut DbConn, user_id: i64) -> QueryResult<Gate> {
    Ok(decide_terms(&versions_for(conn, &LegalDoc::Terms, user_id)?))
}

/// The version of a feature's conditions `user_id` must accept before using it, if any: the
/// newest published one, unless accepted (CGU-3: once per version).
pub fn pending_feature(conn: &mut DbConn, user_id: i64, key: &str) -> Result<Option<Pending>, TermsError> {
    let rows = versions_for(conn, &LegalDoc::feature(key)?, user_id)?;
    let last_accepted = rows.iter().find(|r| r.accepted).map(|r| r.version);
    Ok(rows.first().filter(|r| !r.accepted).map(|r| pending(r, last_accepted)))
}

fn pending(row: &VersionRow, last_accepted: Option<i32>) -> Pending {
    Pending { document_id: row.id, version: row.version, published_at: row.published_at, last_accepted }
}

/// The rule of CGU-2 on the published versions (newest first): the newest must be accepted if
/// the account never accepted any version, or none since the newest major one; otherwise a
/// newer minor version is only notified. Accepting the newest version settles both.
fn decide_terms(rows: &[VersionRow]) -> Gate {
    let Some(newest) = rows.first() else { return Gate::Clear };
    let last_accepted = rows.iter().find(|r| r.accepted).map(|r| r.version);
    let last_major = rows.iter().find(|r| r.major).map(|r| r.version);
    match (last_accepted, last_major) {
        (None, _) => Gate::MustAccept(pending(newest, None)),
        (Some(a), Some(m)) if a < m => Gate::MustAccept(pending(newest, last_accepted)),
        (Some(a), _) if a < newest.version => Gate::Notify(pending(newest, last_accepted)),
        _ => Gate::Clear,
    }
}

/// Acceptance figures for the back office: per version, the number of acceptances, and the
/// share of the accounts that can use the service now (active, not administrators) that
/// accepted that very version.
#[derive(Debug, Clone, Default)]
pub struct AcceptanceStats {
    /// Active accounts other than administrators (the denominator of the shares).
    pub active_accounts: i64,
    /// Per version id: (every acceptance, acceptances by currently active accounts).
    counts: HashMap<i64, (i64, i64)>,
}

impl AcceptanceStats {
    /// How many acceptances version `id` received (closed accounts included).
    pub fn accepted(&self, id: i64) -> i64 {
        self.counts.get(&id).map_or(0, |c| c.0)
    }

    /// How many of today's active accounts accepted version `id`.
    pub fn accepted_by_active(&self, id: i64) -> i64 {
        self.counts.get(&id).map_or(0, |c| c.1)
    }

    /// The share of today's active accounts that accepted version `id`, in whole percent
    /// (none without active accounts).
    pub fn share_percent(&self, id: i64) -> Option<i64> {
        (self.active_accounts > 0)
            .then(|| (self.accepted_by_active(id) * 100 + self.active_accounts / 2) / self.active_accounts)
    }
}

/// Counts acceptances per version: three aggregate queries.
pub fn acceptance_stats(conn: &mut DbConn) -> QueryResult<AcceptanceStats> {
    use diesel::dsl::count_star;
    let active_accounts: i64 = users::table
        .filter(users::status.eq("active"))
        .filter(users::role.ne("administrator"))
        .count()
        .get_result(conn)?;
    let all: Vec<(i64, i64)> = legal_acceptances::table
        .group_by(legal_acceptances::document_id)
        .select((legal_acceptances::document_id, count_star()))
        .load(conn)?;
    let active: Vec<(i64, i64)> = legal_acceptances::table
        .inner_join(users::table)
        .filter(users::status.eq("active"))
        .filter(users::role.ne("administrator"))
        .group_by(legal_acceptances::document_id)
        .select((legal_acceptances::document_id, count_star()))
        .load(conn)?;
    let mut counts: HashMap<i64, (i64, i64)> = all.into_iter().map(|(id, n)| (id, (n, 0))).collect();
    for (id, n) in active {
        counts.entry(id).or_default().1 = n;
    }
    Ok(AcceptanceStats { active_accounts, counts })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(spec: &[(i32, bool, bool)]) -> Vec<VersionRow> {
        let at = chrono::DateTime::UNIX_EPOCH.naive_utc();
        let mut v: Vec<VersionRow> = spec
            .iter()
            .map(|&(version, major, accepted)| VersionRow {
                id: i64::from(version) * 10,
                version,
                major,
                published_at: at,
                accepted,
            })
            .collect();
        v.sort_by_key(|r| std::cmp::Reverse(r.version));
        v
    }

    fn kind(g: &Gate) -> (&'static str, Option<i32>, Option<i32>) {
        match g {
            Gate::Clear => ("clear", None, None),
            Gate::MustAccept(p) => ("must", Some(p.version), p.last_accepted),
            Gate::Notify(p) => ("notify", Some(p.version), p.last_accepted),
        }
    }

    #[test]
    fn the_gate_follows_major_and_minor_versions() {
        // Nothing published: nothing to accept.
        assert_eq!(kind(&decide_terms(&[])), ("clear", None, None));
        // Never accepted: the newest must be, even if it is minor.
        assert_eq!(kind(&decide_terms(&rows(&[(1, true, false), (2, false, false)]))), ("must", Some(2), None));
        // Accepted the newest.
        assert_eq!(kind(&decide_terms(&rows(&[(1, true, true)]))), ("clear", None, None));
        // A major version since: must accept again, and the last accepted one is known.
        assert_eq!(kind(&decide_terms(&rows(&[(1, true, true), (2, true, false)]))), ("must", Some(2), Some(1)));
        // A minor version since: notified only.
        assert_eq!(kind(&decide_terms(&rows(&[(1, true, true), (2, false, false)]))), ("notify", Some(2), Some(1)));
        // Major then minor, only the first accepted: must accept the newest (which includes the major change).
        assert_eq!(
            kind(&decide_terms(&rows(&[(1, true, true), (2, true, false), (3, false, false)]))),
            ("must", Some(3), Some(1))
        );
        // First accepted at the minor version 3, after the major 2: clear.
        assert_eq!(
            kind(&decide_terms(&rows(&[(1, true, false), (2, true, false), (3, false, true)]))),
            ("clear", None, None)
        );
    }

    #[test]
    fn shares_are_rounded_whole_percents() {
        let stats = AcceptanceStats { active_accounts: 3, counts: HashMap::from([(1, (5, 2))]) };
        assert_eq!((stats.accepted(1), stats.accepted_by_active(1), stats.share_percent(1)), (5, 2, Some(67)));
        assert_eq!((stats.accepted(2), stats.share_percent(2)), (0, Some(0)));
        assert_eq!(AcceptanceStats::default().share_percent(1), None);
    }
}
