//! Offers (ROR HealthcareService): storage and the FHIR import that fills it.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::details::{self, OfferDetails};
use super::fhir::{Coding, ConfidentialityLevel, FhirHealthcareService, FhirImport, FhirLocation, FhirOrganization};
use super::import::{ImportError, ImportReport, ImportRequest, Mode, record_import};
use super::nomenclature::{self, CATEGORY_SYSTEM};
use super::{capacities, practitioners};
use crate::db::schema::dir_offers;
use crate::db::{self, DbConn, PooledConn};
use crate::journal::AccessContext;

/// The source name of ROR records.
pub const ROR: &str = "ror";

/// A code and its label, as stored in the JSON lists of an offer.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Label {
    /// Code.
    pub code: String,
    /// Label.
    pub label: String,
}

/// An offer as stored.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = dir_offers)]
pub struct Offer {
    /// Id.
    pub id: i64,
    /// Source (`ror`).
    pub source: String,
    /// Id in the source.
    pub source_key: String,
    /// Id of its site in the source.
    pub site_key: Option<String>,
    /// Name of its site.
    pub site_name: Option<String>,
    /// Name of the offer.
    pub name: String,
    /// Site category code (TRE_R66).
    pub category_code: Option<String>,
    /// Site category label.
    pub category_label: Option<String>,
    /// Champ d'activité label.
    pub activity_field: Option<String>,
    /// Activités opérationnelles, JSON list of labels.
    pub activities: String,
    /// Modes de prise en charge, JSON.
    pub care_modes: String,
    /// Publics, JSON.
    pub publics: String,
    /// Youngest age taken.
    pub age_min: Option<i32>,
    /// Oldest age taken.
    pub age_max: Option<i32>,
    /// Street address.
    pub address_line: Option<String>,
    /// Postal code.
    pub postal_code: Option<String>,
    /// Town.
    pub city: Option<String>,
    /// INSEE commune.
    pub commune_insee: Option<String>,
    /// INSEE département.
    pub departement: Option<String>,
    /// Latitude.
    pub lat: Option<f64>,
    /// Longitude.
    pub lon: Option<f64>,
    /// A public telephone.
    pub phone: Option<String>,
    /// Sensitive unit: never shown to visitors.
    pub sensitive: bool,
    /// `active` or `closed`.
    pub status: String,
    /// Last change in the source.
    pub source_updated_at: Option<NaiveDateTime>,
    /// Digest of the source records.
    pub content_hash: String,
    /// Created here.
    pub created_at: NaiveDateTime,
    /// Changed here.
    pub updated_at: NaiveDateTime,
    /// What the sheet shows beyond these columns, JSON ([`OfferDetails`]).
    pub details: String,
    /// What the FHIR endpoint republishes besides the searched fields, JSON of [`RorDetails`].
    pub ror_details: String,
    /// What only a local entry has, JSON of [`super::local::LocalDetails`] (`{}` for imports).
    pub local_details: String,
    /// The account that last changed a local entry.
    pub updated_by: Option<i64>,
}

impl Offer {
    /// A JSON list column, parsed.
    pub fn labels(json: &str) -> Vec<Label> {
        serde_json::from_str(json).unwrap_or_default()
    }

    /// The sheet details, parsed.
    pub fn details(&self) -> OfferDetails {
        OfferDetails::parse(&self.details)
    }

    /// The FHIR details column, parsed (empty for an offer not re-imported since the column came).
    pub fn ror_details(&self) -> RorDetails {
        serde_json::from_str(&self.ror_details).unwrap_or_default()
    }

    /// When the offer last changed: in its source (`meta.lastUpdated`) if known, else here.
    pub fn last_updated(&self) -> NaiveDateTime {
        self.source_updated_at.unwrap_or(self.updated_at)
    }
}

/// A business identifier of an offer (identifiantOffre).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct OfferIdentifier {
    /// Namespace, when the source gave one.
    pub system: Option<String>,
    /// The identifier.
    pub value: String,
}

/// A telephone or address anyone may see.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct PublicTelecom {
    /// FHIR `ContactPoint.system` (`phone`, `email`, `url`…; `other` when the source did not say).
    pub system: String,
    /// The number or address.
    pub value: String,
}

/// What an offer keeps for the FHIR endpoint and search does not use (column `ror_details`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct RorDetails {
    /// First business identifier.
    pub identifier: Option<OfferIdentifier>,
    /// ROR id of the Organization providing it (the OI or EG of `providedBy`).
    pub provided_by: Option<String>,
    /// ROR id of its first Location.
    pub location: Option<String>,
    /// Champ d'activité (`type`, TRE_R227) with its code.
    pub activity_field: Option<Label>,
    /// Types d'offre (`category`, TRE_R244).
    pub types: Vec<Label>,
    /// Telecoms whose access level is stated « accès libre » (DIR-4).
    pub telecoms: Vec<PublicTelecom>,
}

/// The columns an import writes.
#[derive(Debug, Clone, Insertable, AsChangeset)]
#[diesel(table_name = dir_offers, treat_none_as_null = true, treat_none_as_default_value = false)]
pub struct OfferValues {
    source: String,
    source_key: String,
    site_key: Option<String>,
    site_name: Option<String>,
    name: String,
    category_code: Option<String>,
    category_label: Option<String>,
    activity_field: Option<String>,
    activities: String,
    care_modes: String,
    publics: String,
    age_min: Option<i32>,
    age_max: Option<i32>,
    address_line: Option<String>,
    postal_code: Option<String>,
    city: Option<String>,
    commune_insee: Option<String>,
    departement: Option<String>,
    lat: Option<f64>,
    lon: Option<f64>,
    phone: Option<String>,
    sensitive: bool,
    status: String,
    source_updated_at: Option<NaiveDateTime>,
    content_hash: String,
    updated_at: NaiveDateTime,
    details: String,
    ror_details: String,
}

/// Bumped when the import stores more of the source (the sheet's `details` of 2026-11-27, the
/// FHIR endpoint's `ror_details` of 2026-11-28, the capacity rows of 2026-11-29): the digest of every offer changes, so that the
/// next import rewrites them all once.
const DIGEST_VERSION: &[u8] = b"offer-v4";

/// Labels of the NOS systems an offer uses, to fill codings that come without a display.
type Labels = HashMap<String, HashMap<String, String>>;

fn label_of(c: &Coding, labels: &Labels) -> String {
    c.display
        .clone()
        .or_else(|| labels.get(&c.system).and_then(|m| m.get(&c.code)).cloned())
        .unwrap_or_else(|| c.code.clone())
}

fn label_list(codings: &[Coding], labels: &Labels) -> Vec<Label> {
    codings.iter().map(|c| Label { code: c.code.clone(), label: label_of(c, labels) }).collect()
}

/// The telecoms anyone may see: the offer's own, and those of its contacts, whose access level is
/// stated « accès libre » (TRE_R283 `1`; a telecom without a level takes its contact's). A level
/// that is not stated counts as restricted, and a contact restricted as a whole hides all its
/// telecoms (DIR-4: this list feeds an anonymous endpoint).
fn public_telecoms(s: &FhirHealthcareService) -> Vec<PublicTelecom> {
    let free = |l: Option<ConfidentialityLevel>| l == Some(ConfidentialityLevel::Free);
    let own = s.telecoms.iter().filter(|t| free(t.confidentiality_level()));
    let of_contacts = s
        .contacts
        .iter()
        .filter(|c| matches!(c.confidentiality_level(), None | Some(ConfidentialityLevel::Free)))
        .flat_map(|c| c.telecoms.iter().map(move |t| (c, t)))
        .filter(|(c, t)| free(t.confidentiality_level().or(c.confidentiality_level())))
        .map(|(_, t)| t);
    let mut out: Vec<PublicTelecom> = Vec::new();
    for t in own.chain(of_contacts) {
        let p = PublicTelecom { system: t.system.clone().unwrap_or_else(|| "other".into()), value: t.value.clone() };
        if !out.contains(&p) {
            out.push(p);
        }
    }
    out
}

struct Refs<'a> {
    orgs: HashMap<&'a str, &'a FhirOrganization>,
    locations: HashMap<&'a str, &'a FhirLocation>,
}

impl<'a> Refs<'a> {
    /// The first location of an offer found in the file.
    fn location_of(&self, s: &FhirHealthcareService) -> Option<&'a FhirLocation> {
        s.locations.iter().filter_map(|r| r.target_id("Location")).find_map(|id| self.locations.get(id)).copied()
    }

    /// The geographic entity (the first ancestor with an establishment category) of an org.
    fn site(&self, mut org: &'a FhirOrganization) -> &'a FhirOrganization {
        for _ in 0..4 {
            if org.types.iter().any(|t| t.system == CATEGORY_SYSTEM) {
                return org;
            }
            match org.part_of.as_ref().and_then(|r| r.target_id("Organization")).and_then(|id| self.orgs.get(id)) {
                Some(parent) => org = parent,
                None => break,
            }
        }
        org
    }
}

fn values(s: &FhirHealthcareService, refs: &Refs<'_>, labels: &Labels, now: NaiveDateTime) -> OfferValues {
    let org = s.provided_by.as_ref().and_then(|r| r.target_id("Organization")).and_then(|id| refs.orgs.get(id));
    let site = org.map(|o| refs.site(o));
    let location = refs.location_of(s);
    let category = site.and_then(|o| o.types.iter().find(|t| t.system == CATEGORY_SYSTEM));
    let address = location.and_then(|l| l.address.as_ref()).or_else(|| site.and_then(|o| o.addresses.first()));
    let insee = location
        .and_then(|l| l.commune_cog.as_ref().map(|c| c.code.clone()))
        .or_else(|| address.and_then(|a| a.insee_code.clone()));
    let departement =
        insee.as_deref().map(|i| i.get(..if i.starts_with("97") { 3 } else { 2 }).unwrap_or(i).to_owned());
    let street = address.map(|a| {
        let parts: Vec<&str> = [a.house_number.as_deref(), a.street_type.as_deref(), a.street_name.as_deref()]
            .into_iter()
            .flatten()
            .collect();
        if parts.is_empty() { a.lines.join(", ") } else { parts.join(" ") }
    });
    let entity = site
        .and_then(|o| o.part_of.as_ref())
        .and_then(|r| r.target_id("Organization"))
        .and_then(|id| refs.orgs.get(id))
        .copied();
    let sources = details::Sources { service: s, provider: org.copied(), site, entity };
    let details = details::from_fhir(&sources, &|c| label_of(c, labels));
    let json = |v: Vec<Label>| serde_json::to_string(&v).expect("serialisable labels");
    let today = now.date();
    let closed = s.active == Some(false)
        || s.closed_from.is_some_and(|d| d <= today && s.reopening_on.is_none_or(|r| r > today));
    let digest = Sha256::new()
        .chain_update(DIGEST_VERSION)
        .chain_update(serde_json::to_vec(s).unwrap_or_default())
        .chain_update(serde_json::to_vec(&site).unwrap_or_default())
        .chain_update(serde_json::to_vec(&entity).unwrap_or_default())
        .chain_update(serde_json::to_vec(&location).unwrap_or_default());
    let ror = RorDetails {
        identifier: s.identifiers.first().map(|i| OfferIdentifier { system: i.system.clone(), value: i.value.clone() }),
        provided_by: s.provided_by.as_ref().and_then(|r| r.target_id("Organization")).map(str::to_owned),
        location: s.locations.iter().find_map(|r| r.target_id("Location")).map(str::to_owned),
        activity_field: label_list(&s.activity_fields, labels).into_iter().next(),
        types: label_list(&s.categories, labels),
        telecoms: public_telecoms(s),
    };
    OfferValues {
        source: ROR.to_owned(),
        source_key: s.id.clone(),
        site_key: site.map(|o| o.id.clone()),
        site_name: site.and_then(|o| o.name.clone()),
        name: s.name.clone().or_else(|| site.and_then(|o| o.name.clone())).unwrap_or_else(|| s.id.clone()),
        category_code: category.map(|c| c.code.clone()),
        category_label: category.map(|c| label_list(std::slice::from_ref(c), labels)[0].label.clone()),
        activity_field: label_list(&s.activity_fields, labels).into_iter().next().map(|l| l.label),
        activities: json(label_list(&s.operational_activities, labels)),
        care_modes: json(label_list(&s.care_modes, labels)),
        publics: json(label_list(&s.publics, labels)),
        age_min: s.age_min.map(i32::from),
        age_max: s.age_max.map(i32::from),
        address_line: street,
        postal_code: address.and_then(|a| a.postal_code.clone()),
        city: address.and_then(|a| a.city.clone()),
        commune_insee: insee,
        departement,
        lat: location.and_then(|l| l.position.map(|p| p.lat)),
        lon: location.and_then(|l| l.position.map(|p| p.lon)),
        phone: details.public_phone(),
        sensitive: s.sensitive_unit,
        status: if closed { "closed" } else { "active" }.to_owned(),
        source_updated_at: s.last_updated.map(|t| t.naive_utc()),
        content_hash: hex::encode(digest.finalize()),
        updated_at: now,
        details: serde_json::to_string(&details).expect("serialisable details"),
        ror_details: serde_json::to_string(&ror).expect("serialisable details"),
    }
}

/// Imports the offers of a parsed FHIR file in one transaction (organisations and locations are
/// read for the site, address and position they give the offers).
pub fn import_fhir(
    conn: &mut PooledConn,
    ctx: &AccessContext,
    request: &ImportRequest<'_>,
    parsed: &FhirImport,
) -> Result<ImportReport, ImportError> {
    let now = ctx.at.naive_utc();
    let refs = Refs {
        orgs: parsed.organizations.iter().map(|o| (o.id.as_str(), o)).collect(),
        locations: parsed.locations.iter().map(|l| (l.id.as_str(), l)).collect(),
    };
    db::write_tx(conn, |c| {
        let mut labels: Labels = HashMap::new();
        for (_, json) in nomenclature::EMBEDDED {
            if let Some(url) =
                serde_json::from_str::<serde_json::Value>(json).ok().and_then(|v| v["url"].as_str().map(str::to_owned))
            {
                labels.insert(url.clone(), nomenclature::labels(c, &url)?);
            }
        }
        // (id, content hash, status, in the import's territory)
        type Key = (String, i64, String, String, Option<String>, Option<String>);
        let stored: HashMap<String, (i64, String, String, bool)> = dir_offers::table
            .filter(dir_offers::source.eq(ROR))
            .select((
                dir_offers::source_key,
                dir_offers::id,
                dir_offers::content_hash,
                dir_offers::status,
                dir_offers::departement,
                dir_offers::commune_insee,
            ))
            .load::<Key>(c)?
            .into_iter()
            .map(|(k, id, h, s, d, insee)| {
                let in_scope = request.scope.contains(d.as_deref(), insee.as_deref());
                (k, (id, h, s, in_scope))
            })
            .collect();
        let mut report = ImportReport { rejected: parsed.rejected.clone(), ..Default::default() };
        let mut seen = HashSet::new();
        let mut changed = Vec::new();
        for s in &parsed.healthcare_services {
            let v = values(s, &refs, &labels, now);
            if !request.scope.contains(v.departement.as_deref(), v.commune_insee.as_deref()) {
                report.skipped += 1;
                continue;
            }
            if !seen.insert(s.id.clone()) {
                continue;
            }
            let id = match stored.get(&s.id) {
                Some((_, hash, _, _)) if *hash == v.content_hash => {
                    report.unchanged += 1;
                    continue;
                }
                Some((id, _, _, _)) => {
                    diesel::update(dir_offers::table.find(*id)).set(&v).execute(c)?;
                    report.updated += 1;
                    *id
                }
                None => {
                    report.created += 1;
                    diesel::insert_into(dir_offers::table)
                        .values((&v, dir_offers::created_at.eq(now)))
                        .returning(dir_offers::id)
                        .get_result(c)?
                }
            };
            changed.push(id);
            // The location is in the offer's digest: its capacities change only with the offer.
            capacities::replace(c, id, refs.location_of(s), &|cd| label_of(cd, &labels), now)?;
        }
        // A file without offers (an Annuaire Santé extract of professionals) says nothing of them.
        // Only the offers of the import's territory can vanish from it; a file that would close
        // more than the allowed share of them is refused, as a FINESS extract is.
        if let (Mode::Full { max_closing_share }, false) = (request.mode, parsed.healthcare_services.is_empty()) {
            let active = stored.values().filter(|v| v.2 == "active" && v.3).count();
            let vanished: Vec<i64> =
                stored.iter().filter(|(k, v)| v.2 == "active" && v.3 && !seen.contains(*k)).map(|(_, v)| v.0).collect();
            let share = vanished.len() as f64 / active.max(1) as f64;
            if active >= 20 && share > max_closing_share {
                return Err(ImportError::MassClosing { closing: vanished.len(), active, share: share * 100.0 });
            }
            for chunk in vanished.chunks(500) {
                diesel::update(dir_offers::table.filter(dir_offers::id.eq_any(chunk)))
                    .set((dir_offers::status.eq("closed"), dir_offers::updated_at.eq(now)))
                    .execute(c)?;
            }
            report.closed = vanished.len();
            changed.extend(vanished);
        }
        super::model::feed_changes(c, "offer", &changed, now)?;
        (report.practitioners, report.roles) =
            practitioners::import(c, parsed, request, &|cd| label_of(cd, &labels), now)?;
        report.import_id = record_import(c, ctx, request, &report)?;
        Ok(report)
    })
}

/// Number of offers per status.
pub fn count_offers(conn: &mut DbConn, status: &str) -> QueryResult<i64> {
    dir_offers::table.filter(dir_offers::status.eq(status)).count().get_result(conn)
}

/// One offer.
pub fn find_offer(conn: &mut DbConn, id: i64) -> QueryResult<Option<Offer>> {
    dir_offers::table.find(id).select(Offer::as_select()).first(conn).optional()
}

/// One offer by its id in a source (the FHIR id of a ROR offer).
pub fn find_offer_by_key(conn: &mut DbConn, source: &str, key: &str) -> QueryResult<Option<Offer>> {
    dir_offers::table
        .filter(dir_offers::source.eq(source))
        .filter(dir_offers::source_key.eq(key))
        .select(Offer::as_select())
        .first(conn)
        .optional()
}

/// The offers of these ids, in no particular order (a page of search results: one query).
pub fn list_offers(conn: &mut DbConn, ids: &[i64]) -> QueryResult<Vec<Offer>> {
    dir_offers::table.filter(dir_offers::id.eq_any(ids)).select(Offer::as_select()).load(conn)
}
