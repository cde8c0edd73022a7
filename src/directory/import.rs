//! Imports (SPEC DIR-3): idempotent (the same file twice changes nothing), scoped to a
//! territory when asked, all-or-nothing (one transaction), with a report of rejected records
//! and an import history row. Vanished records are marked closed, never deleted.

use std::collections::{HashMap, HashSet};

use diesel::prelude::*;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::finess::{FinessEstablishment, RecordPosition, RecordStatus, Rejected};
use super::model::{self, SiteValues};
use super::nomenclature::{self, CATEGORY_SYSTEM};
use crate::db::schema::dir_imports;
use crate::db::{self, DbConn, PooledConn};
use crate::journal::{self, AccessContext, Action, Object, Outcome};

/// The source name of FINESS records.
pub const FINESS: &str = "finess";

/// Which part of the country to import: INSEE départements and communes (empty: everything).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Scope {
    /// INSEE département codes (`92`, `2A`, `971`).
    pub departements: Vec<String>,
    /// INSEE commune codes.
    pub communes: Vec<String>,
}

impl Scope {
    /// Whether a record in `departement` / `commune` is in scope.
    pub fn contains(&self, departement: Option<&str>, commune: Option<&str>) -> bool {
        if self.departements.is_empty() && self.communes.is_empty() {
            return true;
        }
        departement.is_some_and(|d| self.departements.iter().any(|x| x == d))
            || commune.is_some_and(|c| self.communes.iter().any(|x| x == c))
    }

    fn describe(&self) -> Option<String> {
        let mut parts = Vec::new();
        if !self.departements.is_empty() {
            parts.push(format!("départements {}", self.departements.join(", ")));
        }
        if !self.communes.is_empty() {
            parts.push(format!("communes {}", self.communes.join(", ")));
        }
        (!parts.is_empty()).then(|| parts.join(" ; "))
    }
}

/// How an import treats stored records that the file does not mention.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Mode {
    /// The file is a full extract (the etalab stock): what it lacks has vanished and is closed.
    Full {
        /// Refuse the import when it would close more than this share of the active records
        /// in scope (a truncated download must not close the directory). 1.0 disables it.
        max_closing_share: f64,
    },
    /// The file is a delta (the FINESS+ daily flow): what it lacks is left as it is.
    Delta,
}

/// Why an import was refused as a whole (nothing was written).
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The full extract would close too many records.
    #[error(
        "this file would close {closing} of the {active} active records in scope ({share:.0} %): it looks truncated \
         or of another territory; nothing was changed (use --allow-mass-closing if it is right)"
    )]
    MassClosing {
        /// Records that would be closed.
        closing: usize,
        /// Active records in scope.
        active: usize,
        /// Percentage.
        share: f64,
    },
    /// The database failed.
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
}

/// What is imported, from where, how.
#[derive(Debug, Clone)]
pub struct ImportRequest<'a> {
    /// `finess-csv`, `finess-json`…
    pub format: &'a str,
    /// The file's name, for the history.
    pub file_name: &'a str,
    /// The territory.
    pub scope: &'a Scope,
    /// Full extract or delta.
    pub mode: Mode,
}

/// What an import did.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct ImportReport {
    /// The history row.
    pub import_id: i64,
    /// New records.
    pub created: usize,
    /// Records whose content changed.
    pub updated: usize,
    /// Records identical to what was stored.
    pub unchanged: usize,
    /// Stored records absent from the file (in scope), now marked closed.
    pub closed: usize,
    /// Records outside the scope.
    pub skipped: usize,
    /// Records left out, with where and why.
    pub rejected: Vec<Rejected>,
    /// Professionals of a FHIR import (the counts above are of its offers, or of FINESS sites).
    pub practitioners: super::practitioners::KindCounts,
    /// Professionals' roles of a FHIR import.
    pub roles: super::practitioners::KindCounts,
}

/// Maps a parsed FINESS establishment to the stored columns.
pub fn finess_values(
    e: &FinessEstablishment,
    category_labels: &HashMap<String, String>,
    now: chrono::NaiveDateTime,
) -> SiteValues {
    let a = &e.address;
    let street: Vec<&str> = [&a.street_number, &a.street_number_suffix, &a.street_type, &a.street_name]
        .into_iter()
        .filter_map(|p| p.as_deref())
        .filter(|p| !p.is_empty())
        .collect();
    let address_line = (!street.is_empty()).then(|| street.join(" ")).or_else(|| a.locality.clone());
    let label = e.category.label.clone().or_else(|| category_labels.get(&e.category.code).cloned());
    let digest = hex::encode(Sha256::digest(serde_json::to_vec(e).expect("serialisable record")));
    SiteValues {
        source: FINESS.to_owned(),
        source_key: e.finess_et.clone(),
        finess_et: Some(e.finess_et.clone()),
        finess_ej: Some(e.finess_ej.clone()),
        name: e.long_name.clone().filter(|n| !n.is_empty()).unwrap_or_else(|| e.short_name.clone()),
        long_name: e.long_name.clone(),
        category_system: Some(CATEGORY_SYSTEM.to_owned()),
        category_code: Some(e.category.code.clone()),
        category_label: label,
        address_line,
        postal_code: a.postal_code.clone(),
        city: a.city.clone(),
        commune_insee: Some(a.insee_code.clone()),
        departement: Some(e.insee_department().to_owned()),
        lat: e.geolocation.as_ref().map(|g| g.lat),
        lon: e.geolocation.as_ref().map(|g| g.lon),
        phone: e.phone.clone(),
        siret: e.siret.clone(),
        status: if e.status == RecordStatus::Active { "active" } else { "closed" }.to_owned(),
        opened_on: e.opened_on,
        closed_on: e.closed_on,
        source_updated_on: e.updated_on,
        content_hash: digest,
        updated_at: now,
    }
}

/// Imports parsed FINESS establishments in one transaction; `progress` is called with the
/// number of records handled so far.
pub fn import_finess(
    conn: &mut PooledConn,
    ctx: &AccessContext,
    request: &ImportRequest<'_>,
    establishments: &[FinessEstablishment],
    rejected: Vec<Rejected>,
    progress: &dyn Fn(u64),
) -> Result<ImportReport, ImportError> {
    let scope = request.scope;
    let now = ctx.at.naive_utc();
    db::write_tx(conn, |c| {
        let labels = nomenclature::labels(c, CATEGORY_SYSTEM)?;
        let mut report = ImportReport { rejected, ..Default::default() };
        let stored: HashMap<String, model::StoredKey> =
            model::list_keys(c, FINESS)?.into_iter().map(|k| (k.source_key.clone(), k)).collect();
        let mut seen: HashMap<&str, usize> = HashMap::new();
        let (mut inserts, mut changed_ids) = (Vec::new(), Vec::new());
        for (i, e) in establishments.iter().enumerate() {
            if i % 1000 == 0 {
                progress(i as u64);
            }
            let values = finess_values(e, &labels, now);
            if !scope.contains(values.departement.as_deref(), values.commune_insee.as_deref()) {
                report.skipped += 1;
                continue;
            }
            if let Some(first) = seen.insert(&e.finess_et, i) {
                report.rejected.push(duplicate(e, first));
                continue;
            }
            match stored.get(&e.finess_et) {
                None => inserts.push(values),
                Some(k) if k.content_hash == values.content_hash => report.unchanged += 1,
                Some(k) => {
                    model::update_site(c, k.id, &values)?;
                    changed_ids.push(k.id);
                    report.updated += 1;
                }
            }
        }
        progress(establishments.len() as u64);
        report.created = inserts.len();
        changed_ids.extend(model::insert_sites(c, &inserts, now)?);
        let vanished = vanished(&stored, &seen, &report.rejected, scope, request.mode)?;
        model::close_sites(c, &vanished, now)?;
        report.closed = vanished.len();
        changed_ids.extend(vanished);
        model::feed_changes(c, "site", &changed_ids, now)?;
        report.import_id = record_import(c, ctx, request, &report)?;
        Ok(report)
    })
}

/// The stored active records in scope that a full extract does not mention. A record the file
/// has but that was rejected is not "vanished": a malformed line must not close anything.
fn vanished(
    stored: &HashMap<String, model::StoredKey>,
    seen: &HashMap<&str, usize>,
    rejected: &[Rejected],
    scope: &Scope,
    mode: Mode,
) -> Result<Vec<i64>, ImportError> {
    let Mode::Full { max_closing_share } = mode else { return Ok(Vec::new()) };
    let rejected_keys: HashSet<&str> = rejected.iter().filter_map(|r| r.finess.as_deref()).collect();
    let active: Vec<&model::StoredKey> = stored
        .values()
        .filter(|k| k.status == "active" && scope.contains(k.departement.as_deref(), k.commune_insee.as_deref()))
        .collect();
    let closing: Vec<i64> = active
        .iter()
        .filter(|k| !seen.contains_key(k.source_key.as_str()) && !rejected_keys.contains(k.source_key.as_str()))
        .map(|k| k.id)
        .collect();
    let share = closing.len() as f64 / active.len().max(1) as f64;
    if active.len() >= 20 && share > max_closing_share {
        return Err(ImportError::MassClosing { closing: closing.len(), active: active.len(), share: share * 100.0 });
    }
    Ok(closing)
}

fn duplicate(e: &FinessEstablishment, first_index: usize) -> Rejected {
    Rejected {
        position: RecordPosition::JsonPath(format!("record {}", first_index + 1)),
        finess: Some(e.finess_et.clone()),
        field: Some("nofinesset".into()),
        reason: format!("duplicate FINESS number: record {} already has it", first_index + 1),
    }
}

pub(super) fn record_import(
    c: &mut DbConn,
    ctx: &AccessContext,
    request: &ImportRequest<'_>,
    report: &ImportReport,
) -> QueryResult<i64> {
    let now = ctx.at.naive_utc();
    let count = |n: usize| i32::try_from(n).unwrap_or(i32::MAX);
    let mut details =
        serde_json::json!({ "rejected": report.rejected.iter().map(ToString::to_string).collect::<Vec<_>>() });
    let none = super::practitioners::KindCounts::default();
    if report.practitioners != none || report.roles != none {
        details["practitioners"] = serde_json::json!(report.practitioners);
        details["roles"] = serde_json::json!(report.roles);
    }
    let id: i64 = diesel::insert_into(dir_imports::table)
        .values((
            dir_imports::format.eq(request.format),
            dir_imports::file_name.eq(request.file_name),
            dir_imports::scope.eq(request.scope.describe()),
            dir_imports::actor_id.eq(ctx.actor.id),
            dir_imports::created_count.eq(count(report.created)),
            dir_imports::updated_count.eq(count(report.updated)),
            dir_imports::unchanged_count.eq(count(report.unchanged)),
            dir_imports::closed_count.eq(count(report.closed)),
            dir_imports::skipped_count.eq(count(report.skipped)),
            dir_imports::rejected_count.eq(count(report.rejected.len())),
            dir_imports::report.eq(details.to_string()),
            dir_imports::created_at.eq(now),
            dir_imports::updated_at.eq(now),
        ))
        .returning(dir_imports::id)
        .get_result(c)?;
    journal::record(c, ctx, Action::Creation, Object::new("directory_import", id), Outcome::Success)?;
    Ok(id)
}
