//! Health professionals and their roles (`dir_practitioners`, `dir_practitioner_roles`), from the
//! ROR and the Annuaire Santé FHIR flows (DOMAIN.md §1.2, §2.2), written by the FHIR import in
//! its transaction and shown on the sheets of the offers they work in.
//!
//! Like offers: a record whose digest did not change is left alone (the same file twice changes
//! nothing), a full extract closes the records of its source that it no longer holds (only for a
//! kind it holds at least one record of: an Annuaire Santé file of roles says nothing of the ROR's
//! practitioners; and not when the import is scoped to a territory, which professionals are not
//! tied to), nothing is deleted. Every coded field is kept as (system, code, label at
//! import). The directory data of professionals is public (the Annuaire Santé publishes it);
//! only the telecoms stated « accès libre » are kept (DIR-4), so showing a role needs no journal.

use std::collections::{BTreeSet, HashMap, HashSet};

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::fhir::{Coding, ConfidentialityLevel, FhirImport, FhirPractitioner, FhirPractitionerRole, HumanName};
use super::import::{ImportRequest, Mode};
use super::offers::PublicTelecom;
use crate::db::DbConn;
use crate::db::schema::{dir_practitioner_role_offers, dir_practitioner_roles, dir_practitioners};

/// Source name of records from the Annuaire Santé (`ror` for the others).
pub const ANNUAIRE_SANTE: &str = "annuaire-sante";

/// Bumped when the import stores more of the source: every record then counts as changed once.
const DIGEST_VERSION: &[u8] = b"practitioner-v1";

/// The profession code systems: TRE_G15 by its OID (Annuaire Santé) or its NOS URL.
fn is_profession_system(system: &str) -> bool {
    system == "urn:oid:1.2.250.1.71.1.2.7" || system.contains("TRE_G15") || system.contains("TRE-G15")
}

/// Labels of the common TRE_G15 professions, for codings without a display (the table is not in
/// `data/nos/`; codes as in the Annuaire Santé extracts: `10` médecin, `21` pharmacien…).
fn profession_label(code: &str) -> Option<&'static str> {
    Some(match code {
        "10" => "Médecin",
        "21" => "Pharmacien",
        "26" => "Audioprothésiste",
        "28" => "Opticien-lunetier",
        "40" => "Chirurgien-dentiste",
        "50" => "Sage-femme",
        "60" => "Infirmier",
        "70" => "Masseur-kinésithérapeute",
        "80" => "Pédicure-podologue",
        "81" => "Orthoprothésiste",
        "91" => "Orthophoniste",
        "92" => "Orthoptiste",
        "93" => "Psychomotricien",
        "94" => "Ergothérapeute",
        "95" => "Diététicien",
        "96" => "Psychologue",
        "98" => "Manipulateur ERM",
        _ => return None,
    })
}

/// A code as stored: system, code and label at import.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct StoredCoding {
    /// Code system.
    pub system: String,
    /// Code.
    pub code: String,
    /// Label at import (the display, else the NOS label, else the code).
    pub label: String,
}

/// How many records of one kind an import created, changed, left, closed.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct KindCounts {
    /// New records.
    pub created: usize,
    /// Records whose content changed.
    pub updated: usize,
    /// Records identical to what was stored.
    pub unchanged: usize,
    /// Stored records absent from a full extract, now closed.
    pub closed: usize,
}

/// A stored professional.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = dir_practitioners)]
pub struct Practitioner {
    /// Id.
    pub id: i64,
    /// `ror` or `annuaire-sante`.
    pub source: String,
    /// FHIR id in the source.
    pub source_key: String,
    /// RPPS number.
    pub rpps: Option<String>,
    /// System of the first business identifier.
    pub identifier_system: Option<String>,
    /// First business identifier.
    pub identifier: Option<String>,
    /// Civility or title.
    pub civility: Option<String>,
    /// Family name.
    pub family_name: Option<String>,
    /// Given names.
    pub given_names: Option<String>,
    /// Profession system (TRE_G15).
    pub profession_system: Option<String>,
    /// Profession code.
    pub profession_code: Option<String>,
    /// Profession label at import.
    pub profession_label: Option<String>,
    /// `active` or `closed`.
    pub status: String,
    /// Digest of the source record.
    pub content_hash: String,
    /// `meta.lastUpdated`.
    pub source_updated_at: Option<NaiveDateTime>,
    /// Created here.
    pub created_at: NaiveDateTime,
    /// Changed here.
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Insertable, AsChangeset)]
#[diesel(table_name = dir_practitioners, treat_none_as_null = true)]
struct PractitionerValues {
    source: String,
    source_key: String,
    rpps: Option<String>,
    identifier_system: Option<String>,
    identifier: Option<String>,
    civility: Option<String>,
    family_name: Option<String>,
    given_names: Option<String>,
    profession_system: Option<String>,
    profession_code: Option<String>,
    profession_label: Option<String>,
    status: String,
    content_hash: String,
    source_updated_at: Option<NaiveDateTime>,
    updated_at: NaiveDateTime,
}

/// A stored role.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = dir_practitioner_roles)]
pub struct PractitionerRole {
    /// Id.
    pub id: i64,
    /// `ror` or `annuaire-sante`.
    pub source: String,
    /// FHIR id in the source.
    pub source_key: String,
    /// FHIR id of the practitioner.
    pub practitioner_key: Option<String>,
    /// The stored practitioner, when known.
    pub practitioner_id: Option<i64>,
    /// Family name carried by the role (Annuaire Santé).
    pub family_name: Option<String>,
    /// Given names carried by the role.
    pub given_names: Option<String>,
    /// FHIR id of the organization.
    pub organization_key: Option<String>,
    /// Business identifier of the organization (IDNST), when referenced by it.
    pub organization_identifier: Option<String>,
    /// Profession system.
    pub profession_system: Option<String>,
    /// Profession code.
    pub profession_code: Option<String>,
    /// Profession label at import.
    pub profession_label: Option<String>,
    /// Role system (fonction, genre d'activité…).
    pub role_system: Option<String>,
    /// Role code.
    pub role_code: Option<String>,
    /// Role label at import.
    pub role_label: Option<String>,
    /// Specialty system.
    pub specialty_system: Option<String>,
    /// Specialty code.
    pub specialty_code: Option<String>,
    /// Specialty label at import.
    pub specialty_label: Option<String>,
    /// Every code, JSON of [`StoredCoding`]s.
    pub codings: String,
    /// Public telecoms, JSON of [`PublicTelecom`]s.
    pub public_telecoms: String,
    /// `active` or `closed`.
    pub status: String,
    /// Digest of the source record.
    pub content_hash: String,
    /// `meta.lastUpdated`.
    pub source_updated_at: Option<NaiveDateTime>,
    /// Created here.
    pub created_at: NaiveDateTime,
    /// Changed here.
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Insertable, AsChangeset)]
#[diesel(table_name = dir_practitioner_roles, treat_none_as_null = true)]
struct RoleValues {
    source: String,
    source_key: String,
    practitioner_key: Option<String>,
    practitioner_id: Option<i64>,
    family_name: Option<String>,
    given_names: Option<String>,
    organization_key: Option<String>,
    organization_identifier: Option<String>,
    profession_system: Option<String>,
    profession_code: Option<String>,
    profession_label: Option<String>,
    role_system: Option<String>,
    role_code: Option<String>,
    role_label: Option<String>,
    specialty_system: Option<String>,
    specialty_code: Option<String>,
    specialty_label: Option<String>,
    codings: String,
    public_telecoms: String,
    status: String,
    content_hash: String,
    source_updated_at: Option<NaiveDateTime>,
    updated_at: NaiveDateTime,
}

fn source_of(from_annuaire_sante: bool) -> &'static str {
    if from_annuaire_sante { ANNUAIRE_SANTE } else { super::offers::ROR }
}

/// The name to show: the first name with a family name, else the first one.
fn main_name(names: &[HumanName]) -> Option<&HumanName> {
    names.iter().find(|n| n.family.is_some()).or_else(|| names.first())
}

fn joined(parts: &[String]) -> Option<String> {
    Some(parts.join(" ")).filter(|s| !s.trim().is_empty())
}

fn digest(version: &[u8], record: &impl Serialize) -> String {
    hex::encode(
        Sha256::new().chain_update(version).chain_update(serde_json::to_vec(record).unwrap_or_default()).finalize(),
    )
}

type Triple = (Option<String>, Option<String>, Option<String>);

fn triple(c: Option<&Coding>, label: &dyn Fn(&Coding) -> String) -> Triple {
    match c {
        Some(c) => (Some(c.system.clone()), Some(c.code.clone()), Some(label(c))),
        None => (None, None, None),
    }
}

/// The label of a profession coding: its display, else the NOS label, else the built-in one.
fn profession_coding_label(c: &Coding, label: &dyn Fn(&Coding) -> String) -> String {
    match c.display {
        Some(ref d) => d.clone(),
        None => {
            let l = label(c);
            if l == c.code { profession_label(&c.code).map_or(l, str::to_owned) } else { l }
        }
    }
}

fn practitioner_values(
    p: &FhirPractitioner,
    label: &dyn Fn(&Coding) -> String,
    now: NaiveDateTime,
) -> PractitionerValues {
    let name = main_name(&p.names);
    let profession = p.qualifications.iter().find(|c| is_profession_system(&c.system));
    let first = p.identifiers.first();
    PractitionerValues {
        source: source_of(p.from_annuaire_sante).to_owned(),
        source_key: p.id.clone(),
        rpps: p.rpps.clone(),
        identifier_system: first.and_then(|i| i.system.clone()),
        identifier: first.map(|i| i.value.clone()),
        civility: name.and_then(|n| joined(&n.prefix)),
        family_name: name.and_then(|n| n.family.clone()),
        given_names: name.and_then(|n| joined(&n.given)),
        profession_system: profession.map(|c| c.system.clone()),
        profession_code: profession.map(|c| c.code.clone()),
        profession_label: profession.map(|c| profession_coding_label(c, label)),
        status: if p.active == Some(false) { "closed" } else { "active" }.to_owned(),
        content_hash: digest(DIGEST_VERSION, p),
        source_updated_at: p.last_updated.map(|t| t.naive_utc()),
        updated_at: now,
    }
}

fn role_values(
    r: &FhirPractitionerRole,
    practitioner_id: Option<i64>,
    label: &dyn Fn(&Coding) -> String,
    now: NaiveDateTime,
) -> RoleValues {
    let profession = r.codes.iter().find(|c| is_profession_system(&c.system));
    let role = r.codes.iter().find(|c| !is_profession_system(&c.system));
    let (role_system, role_code, role_label) = triple(role, label);
    let (specialty_system, specialty_code, specialty_label) = triple(r.specialties.first(), label);
    let codings: Vec<StoredCoding> = r
        .codes
        .iter()
        .chain(&r.specialties)
        .map(|c| StoredCoding { system: c.system.clone(), code: c.code.clone(), label: label(c) })
        .collect();
    let mut telecoms: Vec<PublicTelecom> = Vec::new();
    for t in r.telecoms.iter().filter(|t| t.confidentiality_level() == Some(ConfidentialityLevel::Free)) {
        let p = PublicTelecom { system: t.system.clone().unwrap_or_else(|| "other".into()), value: t.value.clone() };
        if !telecoms.contains(&p) {
            telecoms.push(p);
        }
    }
    let ended = r.period_end.is_some_and(|d| d <= now.date());
    RoleValues {
        source: source_of(r.from_annuaire_sante).to_owned(),
        source_key: r.id.clone(),
        practitioner_key: r.practitioner.as_ref().and_then(|p| p.target_id("Practitioner")).map(str::to_owned),
        practitioner_id,
        family_name: r.name.as_ref().and_then(|n| n.family.clone()),
        given_names: r.name.as_ref().and_then(|n| joined(&n.given)),
        organization_key: r.organization.as_ref().and_then(|o| o.target_id("Organization")).map(str::to_owned),
        organization_identifier: r.organization.as_ref().and_then(|o| o.identifier.as_ref()).map(|i| i.value.clone()),
        profession_system: profession.map(|c| c.system.clone()),
        profession_code: profession.map(|c| c.code.clone()),
        profession_label: profession.map(|c| profession_coding_label(c, label)),
        role_system,
        role_code,
        role_label,
        specialty_system,
        specialty_code,
        specialty_label,
        codings: serde_json::to_string(&codings).expect("serialisable codings"),
        public_telecoms: serde_json::to_string(&telecoms).expect("serialisable telecoms"),
        status: if r.active == Some(false) || ended { "closed" } else { "active" }.to_owned(),
        // The practitioner's id is not in it: a role stays unchanged when its practitioner comes later.
        content_hash: digest(DIGEST_VERSION, r),
        source_updated_at: r.last_updated.map(|t| t.naive_utc()),
        updated_at: now,
    }
}

/// Stored (id, digest, status) by source key, of the given sources.
type Stored = HashMap<(String, String), (i64, String, String)>;

/// Closes the active records of `sources` that the file did not hold; returns their ids.
fn vanished(stored: &Stored, seen: &HashSet<(String, String)>, sources: &BTreeSet<String>) -> Vec<i64> {
    stored
        .iter()
        .filter(|(k, v)| v.2 == "active" && sources.contains(&k.0) && !seen.contains(*k))
        .map(|(_, v)| v.0)
        .collect()
}

/// Stores the practitioners and roles of a parsed file (in the caller's transaction).
pub(super) fn import(
    c: &mut DbConn,
    parsed: &FhirImport,
    request: &ImportRequest<'_>,
    label: &dyn Fn(&Coding) -> String,
    now: NaiveDateTime,
) -> QueryResult<(KindCounts, KindCounts)> {
    // Professionals have no territory here: they are imported whatever the scope, and a scoped
    // extract (one département of the ROR) closes none of them.
    let scoped = !request.scope.departements.is_empty() || !request.scope.communes.is_empty();
    let full = matches!(request.mode, Mode::Full { .. }) && !scoped;
    // Practitioners.
    let mut counts = KindCounts::default();
    let p_sources: BTreeSet<String> =
        parsed.practitioners.iter().map(|p| source_of(p.from_annuaire_sante).to_owned()).collect();
    let stored: Stored = dir_practitioners::table
        .filter(dir_practitioners::source.eq_any(&p_sources))
        .select((
            dir_practitioners::source,
            dir_practitioners::source_key,
            dir_practitioners::id,
            dir_practitioners::content_hash,
            dir_practitioners::status,
        ))
        .load::<(String, String, i64, String, String)>(c)?
        .into_iter()
        .map(|(s, k, id, h, st)| ((s, k), (id, h, st)))
        .collect();
    let mut ids: HashMap<(String, String), i64> = stored.iter().map(|(k, v)| (k.clone(), v.0)).collect();
    let mut seen = HashSet::new();
    for p in &parsed.practitioners {
        let v = practitioner_values(p, label, now);
        let key = (v.source.clone(), v.source_key.clone());
        if !seen.insert(key.clone()) {
            continue;
        }
        match stored.get(&key) {
            Some((_, hash, _)) if *hash == v.content_hash => counts.unchanged += 1,
            Some((id, _, _)) => {
                diesel::update(dir_practitioners::table.find(*id)).set(&v).execute(c)?;
                counts.updated += 1;
            }
            None => {
                let id: i64 = diesel::insert_into(dir_practitioners::table)
                    .values((&v, dir_practitioners::created_at.eq(now)))
                    .returning(dir_practitioners::id)
                    .get_result(c)?;
                // Roles stored before their practitioner now point at it.
                diesel::update(
                    dir_practitioner_roles::table
                        .filter(dir_practitioner_roles::source.eq(&key.0))
                        .filter(dir_practitioner_roles::practitioner_key.eq(&key.1))
                        .filter(dir_practitioner_roles::practitioner_id.is_null()),
                )
                .set(dir_practitioner_roles::practitioner_id.eq(id))
                .execute(c)?;
                ids.insert(key, id);
                counts.created += 1;
            }
        }
    }
    if full {
        let gone = vanished(&stored, &seen, &p_sources);
        for chunk in gone.chunks(500) {
            diesel::update(dir_practitioners::table.filter(dir_practitioners::id.eq_any(chunk)))
                .set((dir_practitioners::status.eq("closed"), dir_practitioners::updated_at.eq(now)))
                .execute(c)?;
        }
        counts.closed = gone.len();
    }
    let practitioners = counts;

    // Roles; a practitioner stored by an earlier import is found by its key.
    let mut counts = KindCounts::default();
    let r_sources: BTreeSet<String> =
        parsed.practitioner_roles.iter().map(|r| source_of(r.from_annuaire_sante).to_owned()).collect();
    let wanted: Vec<(String, String)> = parsed
        .practitioner_roles
        .iter()
        .filter_map(|r| {
            let key = r.practitioner.as_ref()?.target_id("Practitioner")?;
            Some((source_of(r.from_annuaire_sante).to_owned(), key.to_owned()))
        })
        .filter(|k| !ids.contains_key(k))
        .collect();
    for source in &r_sources {
        let keys: Vec<&str> = wanted.iter().filter(|k| &k.0 == source).map(|k| k.1.as_str()).collect();
        for chunk in keys.chunks(500) {
            let found: Vec<(String, i64)> = dir_practitioners::table
                .filter(dir_practitioners::source.eq(source))
                .filter(dir_practitioners::source_key.eq_any(chunk))
                .select((dir_practitioners::source_key, dir_practitioners::id))
                .load(c)?;
            ids.extend(found.into_iter().map(|(k, id)| ((source.clone(), k), id)));
        }
    }
    let stored: Stored = dir_practitioner_roles::table
        .filter(dir_practitioner_roles::source.eq_any(&r_sources))
        .select((
            dir_practitioner_roles::source,
            dir_practitioner_roles::source_key,
            dir_practitioner_roles::id,
            dir_practitioner_roles::content_hash,
            dir_practitioner_roles::status,
        ))
        .load::<(String, String, i64, String, String)>(c)?
        .into_iter()
        .map(|(s, k, id, h, st)| ((s, k), (id, h, st)))
        .collect();
    let mut seen = HashSet::new();
    for r in &parsed.practitioner_roles {
        let source = source_of(r.from_annuaire_sante).to_owned();
        let practitioner_id = r
            .practitioner
            .as_ref()
            .and_then(|p| p.target_id("Practitioner"))
            .and_then(|k| ids.get(&(source.clone(), k.to_owned())).copied());
        let v = role_values(r, practitioner_id, label, now);
        let key = (source, v.source_key.clone());
        if !seen.insert(key.clone()) {
            continue;
        }
        let id = match stored.get(&key) {
            Some((_, hash, _)) if *hash == v.content_hash => {
                counts.unchanged += 1;
                continue;
            }
            Some((id, _, _)) => {
                diesel::update(dir_practitioner_roles::table.find(*id)).set(&v).execute(c)?;
                counts.updated += 1;
                *id
            }
            None => {
                counts.created += 1;
                diesel::insert_into(dir_practitioner_roles::table)
                    .values((&v, dir_practitioner_roles::created_at.eq(now)))
                    .returning(dir_practitioner_roles::id)
                    .get_result(c)?
            }
        };
        diesel::delete(dir_practitioner_role_offers::table.filter(dir_practitioner_role_offers::role_id.eq(id)))
            .execute(c)?;
        let offers: BTreeSet<&str> =
            r.healthcare_services.iter().filter_map(|s| s.target_id("HealthcareService")).collect();
        for k in offers {
            diesel::insert_into(dir_practitioner_role_offers::table)
                .values((
                    dir_practitioner_role_offers::role_id.eq(id),
                    dir_practitioner_role_offers::offer_key.eq(k),
                    dir_practitioner_role_offers::created_at.eq(now),
                    dir_practitioner_role_offers::updated_at.eq(now),
                ))
                .execute(c)?;
        }
    }
    if full {
        let gone = vanished(&stored, &seen, &r_sources);
        for chunk in gone.chunks(500) {
            diesel::update(dir_practitioner_roles::table.filter(dir_practitioner_roles::id.eq_any(chunk)))
                .set((dir_practitioner_roles::status.eq("closed"), dir_practitioner_roles::updated_at.eq(now)))
                .execute(c)?;
        }
        counts.closed = gone.len();
    }
    Ok((practitioners, counts))
}

/// One professional as an offer's sheet lists them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SheetPractitioner {
    /// « Dr Nadia Bonnet ».
    pub name: String,
    /// Profession, specialty or function, as labelled at import.
    pub role: Option<String>,
    /// RPPS number, when known.
    pub rpps: Option<String>,
    /// Telecoms stated « accès libre ».
    pub telecoms: Vec<PublicTelecom>,
}

/// The active professionals whose active role links to the offer (`source_key`), or to the
/// organization providing it (`provided_by`) without naming offers, by name; at most 100.
pub fn of_offer(
    conn: &mut DbConn,
    source: &str,
    offer_key: &str,
    provided_by: Option<&str>,
) -> QueryResult<Vec<SheetPractitioner>> {
    let by_offer = || {
        dir_practitioner_role_offers::table
            .filter(dir_practitioner_role_offers::offer_key.eq(offer_key))
            .select(dir_practitioner_role_offers::role_id)
    };
    let query = dir_practitioner_roles::table
        .left_join(dir_practitioners::table)
        .filter(dir_practitioner_roles::source.eq(source))
        .filter(dir_practitioner_roles::status.eq("active"))
        .into_boxed();
    let query = match provided_by {
        // A role of the organization counts only when it names no offer of its own (otherwise a
        // general practitioner would show on the centre's dental care too).
        Some(org) => {
            let has_offers = diesel::dsl::exists(
                dir_practitioner_role_offers::table
                    .filter(dir_practitioner_role_offers::role_id.eq(dir_practitioner_roles::id)),
            );
            query.filter(
                dir_practitioner_roles::id
                    .eq_any(by_offer())
                    .or(dir_practitioner_roles::organization_key.eq(org).and(diesel::dsl::not(has_offers))),
            )
        }
        None => query.filter(dir_practitioner_roles::id.eq_any(by_offer())),
    };
    let rows: Vec<(PractitionerRole, Option<Practitioner>)> = query
        .order(dir_practitioner_roles::id.asc())
        .limit(100)
        .select((PractitionerRole::as_select(), Option::<Practitioner>::as_select()))
        .load(conn)?;
    let mut out: Vec<(String, SheetPractitioner)> = Vec::new();
    for (role, p) in rows {
        if p.as_ref().is_some_and(|p| p.status != "active") {
            continue;
        }
        let family = p.as_ref().and_then(|p| p.family_name.clone()).or_else(|| role.family_name.clone());
        let given = p.as_ref().and_then(|p| p.given_names.clone()).or_else(|| role.given_names.clone());
        let civility = p.as_ref().and_then(|p| p.civility.clone());
        let name = [civility, given, family.clone()].into_iter().flatten().collect::<Vec<_>>().join(" ");
        if name.is_empty() {
            continue;
        }
        // « Médecin, Médecine générale »: the profession and the specialty, else the function.
        let profession = role.profession_label.clone().or_else(|| p.as_ref().and_then(|p| p.profession_label.clone()));
        let described: Vec<String> = profession.into_iter().chain(role.specialty_label.clone()).collect();
        let role_label = if described.is_empty() { role.role_label.clone() } else { Some(described.join(", ")) };
        let line = SheetPractitioner {
            name,
            role: role_label,
            rpps: p.as_ref().and_then(|p| p.rpps.clone()),
            telecoms: serde_json::from_str(&role.public_telecoms).unwrap_or_default(),
        };
        if !out.iter().any(|(_, l)| *l == line) {
            out.push((family.unwrap_or_default().to_lowercase(), line));
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.name.cmp(&b.1.name)));
    Ok(out.into_iter().map(|(_, l)| l).collect())
}

/// Number of professionals per status.
pub fn count_practitioners(conn: &mut DbConn, status: &str) -> QueryResult<i64> {
    dir_practitioners::table.filter(dir_practitioners::status.eq(status)).count().get_result(conn)
}

/// One role by its key in a source.
pub fn find_role(conn: &mut DbConn, source: &str, key: &str) -> QueryResult<Option<PractitionerRole>> {
    dir_practitioner_roles::table
        .filter(dir_practitioner_roles::source.eq(source))
        .filter(dir_practitioner_roles::source_key.eq(key))
        .select(PractitionerRole::as_select())
        .first(conn)
        .optional()
}

/// One practitioner by its key in a source.
pub fn find_practitioner(conn: &mut DbConn, source: &str, key: &str) -> QueryResult<Option<Practitioner>> {
    dir_practitioners::table
        .filter(dir_practitioners::source.eq(source))
        .filter(dir_practitioners::source_key.eq(key))
        .select(Practitioner::as_select())
        .first(conn)
        .optional()
}
