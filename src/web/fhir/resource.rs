//! The FHIR R4 JSON the endpoint writes: searchset Bundles, HealthcareService resources built
//! from stored offers, OperationOutcomes and the CapabilityStatement.

use chrono::{NaiveDateTime, SecondsFormat};
use serde::Serialize;
use utoipa::ToSchema;

use super::params::SEARCH_PARAMETERS;
use crate::directory::fhir::{
    SYSTEM_ACTIVITE_OPERATIONNELLE, SYSTEM_CHAMP_ACTIVITE, SYSTEM_MODE_PRISE_EN_CHARGE, SYSTEM_PUBLIC_PRIS_EN_CHARGE,
};
use crate::directory::offers::{Label, Offer};

/// The core R4 extension that carries the distance of a match from the `near` point, on
/// `Bundle.entry.search`. DOMAIN.md §2.1 names it (`location-distance`, source S2); S2, the ROR's
/// Location page, links to its R4 definition, whose canonical URL is this one.
pub const DISTANCE_EXTENSION: &str = "http://hl7.org/fhir/StructureDefinition/location-distance";
/// UCUM, for the distance (km) and the age range (years).
const UCUM: &str = "http://unitsofmeasure.org";
/// The ROR extension of the public and age range of an offer (DOMAIN.md §1.3, S6, S8).
const PATIENT_TYPE_EXTENSION: &str =
    "https://interop.esante.gouv.fr/ig/fhir/ror/StructureDefinition/ror-healthcareservice-patient-type";
/// Type d'offre (TRE_R244-CategorieOrganisation), the offer's `category` (DOMAIN.md §1.3; URL after
/// the canonical pattern of §1.6).
pub const SYSTEM_TYPE_OFFRE: &str =
    "https://mos.esante.gouv.fr/NOS/TRE_R244-CategorieOrganisation/FHIR/TRE-R244-CategorieOrganisation";

/// A FHIR instant: UTC, to the second.
pub fn instant(t: NaiveDateTime) -> String {
    t.and_utc().to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A searchset Bundle (FHIR R4 `Bundle`, type `searchset`).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Bundle {
    /// Always `Bundle`.
    #[schema(example = "Bundle")]
    pub resource_type: &'static str,
    /// Always `searchset`.
    #[serde(rename = "type")]
    #[schema(example = "searchset")]
    pub kind: &'static str,
    /// When the Bundle was assembled.
    pub timestamp: String,
    /// Matches of the whole search, all pages.
    pub total: usize,
    /// `self`, and `next` / `previous` when there are more pages.
    pub link: Vec<BundleLink>,
    /// The matches of this page, and an OperationOutcome entry for ignored parameters.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub entry: Vec<BundleEntry>,
}

/// A link of a Bundle.
#[derive(Debug, Serialize, ToSchema)]
pub struct BundleLink {
    /// `self`, `next` or `previous`.
    pub relation: &'static str,
    /// The URL.
    pub url: String,
}

/// An entry of a Bundle.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BundleEntry {
    /// Absolute URL of the resource (absent for the OperationOutcome).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub full_url: Option<String>,
    /// A HealthcareService, or an OperationOutcome.
    #[schema(value_type = Object)]
    pub resource: Resource,
    /// Why it is in the Bundle.
    pub search: EntrySearch,
}

/// `Bundle.entry.search`.
#[derive(Debug, Serialize, ToSchema)]
pub struct EntrySearch {
    /// `match`, or `outcome` for the OperationOutcome.
    pub mode: &'static str,
    /// The distance from the `location.near` point ([`DISTANCE_EXTENSION`]).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Vec<Object>)]
    pub extension: Vec<DistanceExtension>,
}

/// The `location-distance` extension.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DistanceExtension {
    url: &'static str,
    value_distance: Quantity,
}

impl DistanceExtension {
    /// The distance in km, rounded to the metre.
    pub fn km(d: f64) -> Self {
        let value = (d * 1000.0).round() / 1000.0;
        Self { url: DISTANCE_EXTENSION, value_distance: Quantity { value, unit: Some("km"), system: UCUM, code: "km" } }
    }
}

/// A FHIR Quantity with a UCUM unit.
#[derive(Debug, Serialize)]
struct Quantity {
    value: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    unit: Option<&'static str>,
    system: &'static str,
    code: &'static str,
}

/// What an entry holds.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum Resource {
    /// An offer.
    HealthcareService(Box<HealthcareService>),
    /// Warnings about the search.
    OperationOutcome(OperationOutcome),
}

/// An OperationOutcome: what went wrong, or what was ignored, in French.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OperationOutcome {
    /// Always `OperationOutcome`.
    #[schema(example = "OperationOutcome")]
    pub resource_type: &'static str,
    /// The issues.
    pub issue: Vec<Issue>,
}

/// One issue of an OperationOutcome.
#[derive(Debug, Serialize, ToSchema)]
pub struct Issue {
    /// `error` or `warning`.
    pub severity: &'static str,
    /// FHIR issue type: `invalid`, `not-found`, `not-supported`, `throttled`, `exception`…
    pub code: &'static str,
    /// The explanation, in French.
    pub diagnostics: String,
}

impl OperationOutcome {
    /// An outcome of one issue.
    pub fn one(severity: &'static str, code: &'static str, diagnostics: impl Into<String>) -> Self {
        Self {
            resource_type: "OperationOutcome",
            issue: vec![Issue { severity, code, diagnostics: diagnostics.into() }],
        }
    }
}

/// A HealthcareService (RORHealthcareService) as this endpoint publishes it: public data only.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HealthcareService {
    resource_type: &'static str,
    id: String,
    meta: Meta,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    extension: Vec<Extension>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    identifier: Vec<Identifier>,
    active: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    provided_by: Option<Reference>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    category: Vec<CodeableConcept>,
    #[serde(rename = "type", skip_serializing_if = "Vec::is_empty")]
    kind: Vec<CodeableConcept>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    specialty: Vec<CodeableConcept>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    location: Vec<Reference>,
    name: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    telecom: Vec<ContactPoint>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    characteristic: Vec<CodeableConcept>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Meta {
    last_updated: String,
}

#[derive(Debug, Serialize)]
struct Identifier {
    #[serde(skip_serializing_if = "Option::is_none")]
    system: Option<String>,
    value: String,
}

#[derive(Debug, Serialize)]
struct Reference {
    reference: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    display: Option<String>,
}

#[derive(Debug, Serialize)]
struct CodeableConcept {
    coding: [Coding; 1],
}

#[derive(Debug, Serialize)]
struct Coding {
    system: &'static str,
    code: String,
    display: String,
}

#[derive(Debug, Serialize)]
struct ContactPoint {
    system: String,
    value: String,
}

/// A (complex) extension: a value, or sub-extensions.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Extension {
    url: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    extension: Vec<Extension>,
    #[serde(skip_serializing_if = "Option::is_none")]
    value_codeable_concept: Option<CodeableConcept>,
    #[serde(skip_serializing_if = "Option::is_none")]
    value_range: Option<Range>,
}

#[derive(Debug, Serialize)]
struct Range {
    #[serde(skip_serializing_if = "Option::is_none")]
    low: Option<Quantity>,
    #[serde(skip_serializing_if = "Option::is_none")]
    high: Option<Quantity>,
}

fn concepts(system: &'static str, labels: Vec<Label>) -> Vec<CodeableConcept> {
    labels
        .into_iter()
        .map(|l| CodeableConcept { coding: [Coding { system, code: l.code, display: l.label }] })
        .collect()
}

fn years(v: i32) -> Quantity {
    Quantity { value: f64::from(v), unit: Some("ans"), system: UCUM, code: "a" }
}

/// The ROR patient-type extension: publics taken and age range, when the offer says.
fn patient_type(o: &Offer) -> Option<Extension> {
    let mut parts: Vec<Extension> = concepts(SYSTEM_PUBLIC_PRIS_EN_CHARGE, Offer::labels(&o.publics))
        .into_iter()
        .map(|c| Extension {
            url: "supportedPatientInfo",
            extension: vec![],
            value_codeable_concept: Some(c),
            value_range: None,
        })
        .collect();
    if o.age_min.is_some() || o.age_max.is_some() {
        parts.push(Extension {
            url: "ageRange",
            extension: vec![],
            value_codeable_concept: None,
            value_range: Some(Range { low: o.age_min.map(years), high: o.age_max.map(years) }),
        });
    }
    (!parts.is_empty()).then_some(Extension {
        url: PATIENT_TYPE_EXTENSION,
        extension: parts,
        value_codeable_concept: None,
        value_range: None,
    })
}

impl HealthcareService {
    /// The resource of a stored offer. Only what visitors may see: no contact person, and only the
    /// telecoms stated « accès libre » (DIR-4); sensitive units never get here (the caller checks).
    pub fn from_offer(o: &Offer) -> Self {
        let details = o.ror_details();
        let town = [o.postal_code.as_deref(), o.city.as_deref()].into_iter().flatten().collect::<Vec<_>>().join(" ");
        let place = [o.address_line.as_deref().unwrap_or(""), &town]
            .into_iter()
            .filter(|p| !p.is_empty())
            .collect::<Vec<_>>()
            .join(", ");
        Self {
            resource_type: "HealthcareService",
            id: o.source_key.clone(),
            meta: Meta { last_updated: instant(o.last_updated()) },
            extension: patient_type(o).into_iter().collect(),
            identifier: details
                .identifier
                .into_iter()
                .map(|i| Identifier { system: i.system, value: i.value })
                .collect(),
            active: o.status == "active",
            provided_by: details
                .provided_by
                .map(|id| Reference { reference: format!("Organization/{id}"), display: o.site_name.clone() }),
            category: concepts(SYSTEM_TYPE_OFFRE, details.types),
            kind: concepts(SYSTEM_CHAMP_ACTIVITE, details.activity_field.into_iter().collect()),
            specialty: concepts(SYSTEM_ACTIVITE_OPERATIONNELLE, Offer::labels(&o.activities)),
            location: details
                .location
                .map(|id| Reference {
                    reference: format!("Location/{id}"),
                    display: Some(place).filter(|p| !p.is_empty()),
                })
                .into_iter()
                .collect(),
            name: o.name.clone(),
            telecom: details.telecoms.into_iter().map(|t| ContactPoint { system: t.system, value: t.value }).collect(),
            characteristic: concepts(SYSTEM_MODE_PRISE_EN_CHARGE, Offer::labels(&o.care_modes)),
        }
    }
}

/// The CapabilityStatement of `GET /fhir/metadata` (minimal: one resource, read and search).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CapabilityStatement {
    /// Always `CapabilityStatement`.
    #[schema(example = "CapabilityStatement")]
    pub resource_type: &'static str,
    /// `active`.
    pub status: &'static str,
    /// When it was written (the server's start).
    pub date: String,
    /// `instance`: this server.
    pub kind: &'static str,
    /// `4.0.1`.
    pub fhir_version: &'static str,
    /// `application/fhir+json`, `json`.
    pub format: Vec<&'static str>,
    /// The software.
    #[schema(value_type = Object)]
    pub software: serde_json::Value,
    /// This installation.
    #[schema(value_type = Object)]
    pub implementation: serde_json::Value,
    /// The REST interface: HealthcareService, read and search, with its parameters.
    #[schema(value_type = Vec<Object>)]
    pub rest: Vec<serde_json::Value>,
}

impl CapabilityStatement {
    /// The statement of this server, whose base is `base` (`https://…/fhir`).
    pub fn new(base: &str, date: NaiveDateTime) -> Self {
        let params: Vec<serde_json::Value> = SEARCH_PARAMETERS
            .iter()
            .filter(|p| !p.result)
            .map(|p| serde_json::json!({ "name": p.name, "type": p.kind, "documentation": p.doc }))
            .collect();
        Self {
            resource_type: "CapabilityStatement",
            status: "active",
            date: instant(date),
            kind: "instance",
            fhir_version: "4.0.1",
            format: vec!["application/fhir+json", "json"],
            software: serde_json::json!({ "name": "Atomes", "version": env!("CARGO_PKG_VERSION") }),
            implementation: serde_json::json!({
                "description": "Annuaire de l'offre du territoire (offres opérationnelles du ROR), en lecture seule et public",
                "url": base,
            }),
            rest: vec![serde_json::json!({
                "mode": "server",
                "documentation": "Lecture seule. Les unités sensibles et les contacts confidentiels ne sont jamais publiés. \
                                  Paramètres inconnus : ignorés et signalés par une entrée OperationOutcome \
                                  (search.mode = outcome), ou refusés avec l'en-tête Prefer: handling=strict.",
                "resource": [{
                    "type": "HealthcareService",
                    "interaction": [{ "code": "read" }, { "code": "search-type" }],
                    "searchParam": params,
                }],
            })],
        }
    }
}
