//! Imports (SPEC DIR-3): idempotent (the same file twice changes nothing), scoped to a
//! territory when asked, all-or-nothing (one transaction), with a report of rejected records
//! and an import history row. Vanished records are marked closed, never deleted.

use std::collections::{HashMap, HashSet};
use std::io::BufRead;
use std::time::{Duration, Instant};

use diesel::prelude::*;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::finess::{FinessEstablishment, RecordPosition, RecordStatus, Rejected};
use super::finess_csv::{self, FinessCsvError};
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
    /// The file cannot be read as a whole (header, encoding, truncated quote, read error).
    #[error(transparent)]
    File(#[from] FinessCsvError),
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

/// Inserts are written in batches of this many rows.
const BATCH: usize = 2000;

/// What the import knows of one stored site. Compact on purpose: with its key, a million of
/// them take about 100 MB.
struct KeyState {
    id: i64,
    /// The stored content hash (raw SHA-256; zeros when unreadable, which never matches).
    hash: [u8; 32],
    active: bool,
    /// Whether the stored record is in the scope of this import.
    in_scope: bool,
    /// 1-based index of the record of this file that had the key; 0 when not seen.
    seen: u32,
}

fn raw_hash(hex_digest: &str) -> [u8; 32] {
    let mut raw = [0; 32];
    if hex::decode_to_slice(hex_digest, &mut raw).is_err() {
        raw = [0; 32];
    }
    raw
}

/// The keys of an import: the stored ones (sorted, searched by bisection), and the new ones
/// seen in the file when the source may repeat a key (the CSV parser already refuses repeats).
struct Keys {
    stored: Vec<(Box<str>, KeyState)>,
    new: Option<HashMap<Box<str>, u32>>,
}

impl Keys {
    fn stored_mut(&mut self, key: &str) -> Option<&mut KeyState> {
        let at = self.stored.binary_search_by(|(k, _)| k.as_ref().cmp(key)).ok()?;
        Some(&mut self.stored[at].1)
    }
}

/// Where an import's time goes, logged at debug level (`ATOMES_LOG=atomes::directory::import=debug`).
#[derive(Debug, Default)]
struct Timing {
    /// Reading the stored keys.
    keys: Duration,
    /// Writing new rows.
    insert: Duration,
    /// Rewriting changed rows.
    update: Duration,
    /// Closing what vanished, the change feed, the history row.
    finish: Duration,
}

/// One FINESS import inside its transaction: records are added one at a time, new ones are
/// inserted in batches, changed ones rewritten at once; [`FinessImporter::finish`] closes the
/// vanished ones and writes the history row.
struct FinessImporter<'r> {
    request: &'r ImportRequest<'r>,
    now: chrono::NaiveDateTime,
    labels: HashMap<String, String>,
    keys: Keys,
    inserts: Vec<SiteValues>,
    changed_ids: Vec<i64>,
    report: ImportReport,
    duplicates: Vec<Rejected>,
    count: u32,
    timing: Timing,
}

impl<'r> FinessImporter<'r> {
    /// `unique`: the source never yields a key twice (no need to remember the new ones).
    fn begin(c: &mut DbConn, ctx: &AccessContext, request: &'r ImportRequest<'r>, unique: bool) -> QueryResult<Self> {
        let started = Instant::now();
        let labels = nomenclature::labels(c, CATEGORY_SYSTEM)?;
        let mut stored = Vec::new();
        model::for_each_key(c, FINESS, |k| {
            let state = KeyState {
                id: k.id,
                hash: raw_hash(&k.content_hash),
                active: k.status == "active",
                in_scope: request.scope.contains(k.departement.as_deref(), k.commune_insee.as_deref()),
                seen: 0,
            };
            stored.push((k.source_key.into_boxed_str(), state));
        })?;
        stored.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        stored.shrink_to_fit();
        Ok(FinessImporter {
            request,
            now: ctx.at.naive_utc(),
            labels,
            keys: Keys { stored, new: (!unique).then(HashMap::new) },
            inserts: Vec::new(),
            changed_ids: Vec::new(),
            report: ImportReport::default(),
            duplicates: Vec::new(),
            count: 0,
            timing: Timing { keys: started.elapsed(), ..Timing::default() },
        })
    }

    fn add(&mut self, c: &mut DbConn, e: &FinessEstablishment) -> QueryResult<()> {
        self.count = self.count.saturating_add(1);
        let values = finess_values(e, &self.labels, self.now);
        if !self.request.scope.contains(values.departement.as_deref(), values.commune_insee.as_deref()) {
            self.report.skipped += 1;
            return Ok(());
        }
        let count = self.count;
        let Some(state) = self.keys.stored_mut(&e.finess_et) else {
            if let Some(new) = &mut self.keys.new {
                if let Some(&first) = new.get(e.finess_et.as_str()) {
                    self.duplicates.push(duplicate(e, first as usize - 1));
                    return Ok(());
                }
                new.insert(e.finess_et.as_str().into(), count);
            }
            self.inserts.push(values);
            self.report.created += 1;
            if self.inserts.len() >= BATCH {
                self.flush(c)?;
            }
            return Ok(());
        };
        if state.seen != 0 {
            self.duplicates.push(duplicate(e, state.seen as usize - 1));
            return Ok(());
        }
        state.seen = count;
        if state.hash == raw_hash(&values.content_hash) {
            self.report.unchanged += 1;
        } else {
            let id = state.id;
            let started = Instant::now();
            model::update_site(c, id, &values)?;
            self.timing.update += started.elapsed();
            self.changed_ids.push(id);
            self.report.updated += 1;
        }
        Ok(())
    }

    fn flush(&mut self, c: &mut DbConn) -> QueryResult<()> {
        let started = Instant::now();
        let ids = model::insert_sites(c, &self.inserts, self.now)?;
        self.changed_ids.extend(ids);
        self.inserts.clear();
        self.timing.insert += started.elapsed();
        Ok(())
    }

    /// Closes what vanished (full mode), records the changes and the history row.
    fn finish(
        mut self,
        c: &mut DbConn,
        ctx: &AccessContext,
        mut rejected: Vec<Rejected>,
    ) -> Result<(ImportReport, Timing), ImportError> {
        self.flush(c)?;
        let started = Instant::now();
        rejected.append(&mut self.duplicates);
        let vanished = vanished(&self.keys, &rejected, self.request.mode)?;
        model::close_sites(c, &vanished, self.now)?;
        self.report.closed = vanished.len();
        self.changed_ids.extend(vanished);
        model::feed_changes(c, "site", &self.changed_ids, self.now)?;
        self.report.rejected = rejected;
        self.report.import_id = record_import(c, ctx, self.request, &self.report)?;
        self.timing.finish = started.elapsed();
        Ok((self.report, self.timing))
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
    db::write_tx(conn, |c| {
        let mut importer = FinessImporter::begin(c, ctx, request, false)?;
        for (i, e) in establishments.iter().enumerate() {
            if i % 1000 == 0 {
                progress(i as u64);
            }
            importer.add(c, e)?;
        }
        progress(establishments.len() as u64);
        importer.finish(c, ctx, rejected).map(|(report, _)| report)
    })
}

/// Imports an etalab FINESS CSV extract without holding it: `open` is called twice, for the
/// two passes over the file (see [`finess_csv::scan_geolocations`]); the second pass writes
/// in batches inside the one transaction. A file-level error in either pass changes nothing.
pub fn import_finess_csv<R: BufRead>(
    conn: &mut PooledConn,
    ctx: &AccessContext,
    request: &ImportRequest<'_>,
    open: &dyn Fn(Pass) -> std::io::Result<R>,
) -> Result<ImportReport, ImportError> {
    let started = Instant::now();
    let geo = finess_csv::scan_geolocations(open(Pass::Geolocations).map_err(FinessCsvError::Io)?)?;
    let reader = open(Pass::Establishments).map_err(FinessCsvError::Io)?;
    let mut stream = geo.stream(reader)?;
    let geolocations = started.elapsed();
    let mut tx_done = Instant::now();
    let (report, timing) = db::write_tx(conn, |c| {
        let mut importer = FinessImporter::begin(c, ctx, request, true)?;
        while let Some(e) = stream.next_establishment()? {
            importer.add(c, &e)?;
        }
        let (rejected, _, _) = stream.finish();
        let done = importer.finish(c, ctx, rejected);
        tx_done = Instant::now();
        done
    })?;
    let commit = tx_done.elapsed();
    let total = started.elapsed();
    let written = timing.keys + timing.insert + timing.update + timing.finish;
    tracing::debug!(
        total_ms = total.as_millis(),
        geolocations_ms = geolocations.as_millis(),
        keys_ms = timing.keys.as_millis(),
        parse_and_compare_ms = total.saturating_sub(geolocations + written + commit).as_millis(),
        insert_ms = timing.insert.as_millis(),
        update_ms = timing.update.as_millis(),
        close_feed_history_ms = timing.finish.as_millis(),
        commit_ms = commit.as_millis(),
        "finess-csv import phases"
    );
    Ok(report)
}

/// The two passes of [`import_finess_csv`] over its file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pass {
    /// The first: the geolocations are kept.
    Geolocations,
    /// The second: the establishments are written.
    Establishments,
}

/// The stored active records in scope that a full extract does not mention. A record the file
/// has but that was rejected is not "vanished": a malformed line must not close anything.
fn vanished(keys: &Keys, rejected: &[Rejected], mode: Mode) -> Result<Vec<i64>, ImportError> {
    let Mode::Full { max_closing_share } = mode else { return Ok(Vec::new()) };
    let rejected_keys: HashSet<&str> = rejected.iter().filter_map(|r| r.finess.as_deref()).collect();
    let active = keys.stored.iter().filter(|(_, k)| k.active && k.in_scope);
    let active_count = active.clone().count();
    let mut closing: Vec<i64> =
        active.filter(|(key, k)| k.seen == 0 && !rejected_keys.contains(key.as_ref())).map(|(_, k)| k.id).collect();
    closing.sort_unstable();
    let share = closing.len() as f64 / active_count.max(1) as f64;
    if active_count >= 20 && share > max_closing_share {
        return Err(ImportError::MassClosing { closing: closing.len(), active: active_count, share: share * 100.0 });
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
    let records: Vec<serde_json::Value> = report
        .rejected
        .iter()
        .map(|r| {
            serde_json::json!({
                "position": r.position.to_string(), "field": r.field, "reason": r.reason, "finess": r.finess,
            })
        })
        .collect();
    let mut details = serde_json::json!({
        "rejected": report.rejected.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "records": records,
    });
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

/// The formats a file import reads (the command line's `--format`, the upload page's list).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileFormat {
    /// The etalab FINESS CSV extract (streamed).
    FinessCsv,
    /// The FINESS+ JSON structures flow.
    FinessJson,
    /// FHIR R4 of the ROR or the Annuaire Santé (Bundle or NDJSON).
    Fhir,
}

impl FileFormat {
    /// Every format, in the order the upload page lists them.
    pub const ALL: [FileFormat; 3] = [FileFormat::FinessCsv, FileFormat::FinessJson, FileFormat::Fhir];

    /// `finess-csv`, `finess-json`, `fhir` (the history's and the command line's name).
    pub fn name(self) -> &'static str {
        match self {
            FileFormat::FinessCsv => "finess-csv",
            FileFormat::FinessJson => "finess-json",
            FileFormat::Fhir => "fhir",
        }
    }

    /// The format of a name, if it is one.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.name() == name)
    }
}

/// Why a file import changed nothing.
#[derive(Debug, thiserror::Error)]
pub enum FileImportError {
    /// The file has no byte.
    #[error("the file is empty")]
    Empty,
    /// Refused as a whole (mass closing, unreadable CSV, database).
    #[error(transparent)]
    Import(#[from] ImportError),
    /// The FINESS+ JSON cannot be read.
    #[error(transparent)]
    Json(#[from] super::finess_json::FinessJsonError),
    /// The FHIR file cannot be read.
    #[error(transparent)]
    Fhir(#[from] super::fhir::FhirError),
    /// The file cannot be read.
    #[error("read error: {0}")]
    Io(#[from] std::io::Error),
}

/// Imports a file from disk in its format: the CSV extract is streamed; the JSON flow is read
/// through a buffer; a FHIR file is read whole (Bundles are one document).
pub fn import_file(
    conn: &mut PooledConn,
    ctx: &AccessContext,
    request: &ImportRequest<'_>,
    format: FileFormat,
    path: &std::path::Path,
) -> Result<ImportReport, FileImportError> {
    if std::fs::metadata(path)?.len() == 0 {
        return Err(FileImportError::Empty);
    }
    match format {
        FileFormat::FinessCsv => {
            let open = |_: Pass| Ok(std::io::BufReader::with_capacity(256 * 1024, std::fs::File::open(path)?));
            Ok(import_finess_csv(conn, ctx, request, &open)?)
        }
        FileFormat::FinessJson => {
            let parsed = super::finess_json::parse_reader(std::fs::File::open(path)?)?;
            Ok(import_finess(conn, ctx, request, &parsed.establishments, parsed.rejected, &|_| {})?)
        }
        FileFormat::Fhir => {
            let parsed = super::fhir::parse(&std::fs::read(path)?)?;
            Ok(super::offers::import_fhir(conn, ctx, request, &parsed)?)
        }
    }
}
