//! Parser of FHIR R4 JSON from the ROR and the Annuaire Santé (DOMAIN.md §1.2–§1.5 and §2).
//!
//! Input, detected from the bytes: a `Bundle` (`{"resourceType": "Bundle", "entry": [{"resource":
//! …}]}`, e.g. one ROR `searchset` page), NDJSON (one resource per line, as in bulk exports), a
//! lone resource, or a lone Bundle entry `{fullUrl, resource}` (the shape of the Annuaire Santé
//! samples). Bundle entries are streamed one at a time; each resource is read from a
//! `serde_json::Value`, so memory grows with the output, not with the largest entry count.
//!
//! Output: the five resources the directory uses — [`FhirOrganization`] (EJ, EG or OI),
//! [`FhirHealthcareService`] (the "offre opérationnelle"), [`FhirLocation`] (address, position,
//! capacities), [`FhirPractitioner`] and [`FhirPractitionerRole`] — with every coded field as a
//! [`Coding`]. Other resource types are counted, not rejected. A resource the model cannot use (no
//! id, an unparseable position, an inverted age range…) is [`Rejected`] with its position (NDJSON
//! line, or `entry[i]`) and a precise reason, and the import goes on; a file that is not JSON, or
//! not FHIR, is a [`FhirError`]. No input makes the parser panic.
//!
//! Matching rules:
//! - Extensions are recognised by their StructureDefinition id, the last segment of their URL
//!   (`…/StructureDefinition/ror-commune-cog`), so the IG base
//!   `https://interop.esante.gouv.fr/ig/fhir/ror/StructureDefinition/` (DOMAIN.md §1.3) and older
//!   bases both match. Sub-extensions use the short names of the IG (`ageRange`, `nbCapacity`…).
//! - Code systems are recognised by their NOS table (`TRE_R213-…`) or by the ROR value set built on
//!   it (`JDV_J19-…`): ANS examples use both as `Coding.system`.
//! - Where the sources disagree on a spelling, every plausible one is accepted; each such place says
//!   so in a comment.
//! - `null` is read as absent (the Annuaire Santé v1 samples are full of `"code": null`); a value
//!   of the wrong JSON type in a field the model reads rejects the resource.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use serde::Serialize;
use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use super::finess::{FieldError, RecordPosition, Rejected, check_finess, department_of_insee, quoted};

/// Canonical system of the champ d'activité (TRE_R227), the offer's `type`.
pub const SYSTEM_CHAMP_ACTIVITE: &str =
    "https://mos.esante.gouv.fr/NOS/TRE_R227-ChampActivite/FHIR/TRE-R227-ChampActivite";
/// Canonical system of the activités opérationnelles (TRE_R211), the offer's `specialty`.
pub const SYSTEM_ACTIVITE_OPERATIONNELLE: &str =
    "https://mos.esante.gouv.fr/NOS/TRE_R211-ActiviteOperationnelle/FHIR/TRE-R211-ActiviteOperationnelle";
/// Canonical system of the modes de prise en charge (TRE_R213), the `careMode` characteristic.
pub const SYSTEM_MODE_PRISE_EN_CHARGE: &str =
    "https://mos.esante.gouv.fr/NOS/TRE_R213-ModePriseEnCharge/FHIR/TRE-R213-ModePriseEnCharge";
/// Canonical system of the publics pris en charge (TRE_R239).
pub const SYSTEM_PUBLIC_PRIS_EN_CHARGE: &str =
    "https://mos.esante.gouv.fr/NOS/TRE_R239-PublicPrisEnCharge/FHIR/TRE-R239-PublicPrisEnCharge";
/// Canonical system of the natures de capacité (TRE_R329: `01` lit, `02` place).
pub const SYSTEM_NATURE_CAPACITE: &str =
    "https://mos.esante.gouv.fr/NOS/TRE_R329-NatureCapacite/FHIR/TRE-R329-NatureCapacite";
/// Canonical system of the statuts de capacité (TRE_R330: `01` installé, `02` disponible…).
pub const SYSTEM_STATUT_CAPACITE: &str =
    "https://mos.esante.gouv.fr/NOS/TRE_R330-TypeStatutCapacite/FHIR/TRE-R330-TypeStatutCapacite";
/// Canonical system of the niveaux de confidentialité (TRE_R283), read by [`ConfidentialityLevel`].
pub const SYSTEM_NIVEAU_CONFIDENTIALITE: &str =
    "https://mos.esante.gouv.fr/NOS/TRE_R283-NiveauConfidentialite/FHIR/TRE-R283-NiveauConfidentialite";
/// Canonical system of the communes (TRE_R13, INSEE COG codes).
pub const SYSTEM_COMMUNE: &str = "https://mos.esante.gouv.fr/NOS/TRE_R13-Commune/FHIR/TRE-R13-Commune";

/// FINESS identifier systems: v2 of the Annuaire Santé, and the v1 spelling (DOMAIN.md §2.2).
const FINESS_SYSTEMS: [&str; 2] = ["https://finess.esante.gouv.fr", "http://finess.sante.gouv.fr"];
/// National structure id (IDNST), `"1"` + FINESS for FINESS-registered structures (DOMAIN.md §2.2).
const IDNST_SYSTEM: &str = "urn:oid:1.2.250.1.71.4.2.2";
/// SIREN/SIRET system of FR Core examples (ANS IG examples; not in DOMAIN.md, which names no system).
const SIRENE_SYSTEMS: [&str; 2] = ["https://sirene.fr", "http://sirene.fr"];
/// RPPS system (DOMAIN.md §2.2).
const RPPS_SYSTEM: &str = "https://rpps.esante.gouv.fr";
/// National health-professional id (IDNPS), `"8"` + RPPS or `"0"` + ADELI (DOMAIN.md §2.2).
const IDNPS_SYSTEM: &str = "urn:oid:1.2.250.1.71.4.2.1";

// StructureDefinition ids of the extensions read (DOMAIN.md §1.3–§1.4, checked against the IG FSH).
const EXT_PATIENT_TYPE: &[&str] = &["ror-healthcareservice-patient-type"];
const EXT_TERRITORIAL_DIVISION: &[&str] = &["ror-territorial-division"];
/// DOMAIN.md §1.3 elides the prefix ("…-sensitive-unit"); the IG names it
/// `ror-healthcareservice-sensitive-unit`. The shorter spelling is accepted too (unverified).
const EXT_SENSITIVE_UNIT: &[&str] = &["ror-healthcareservice-sensitive-unit", "ror-sensitive-unit"];
/// Same elision as the sensitive unit ("…-psychiatric-sector"): both spellings accepted.
const EXT_PSYCHIATRIC_SECTOR: &[&str] = &["ror-healthcareservice-psychiatric-sector", "ror-psychiatric-sector"];
const EXT_CONTACT: &[&str] = &["ror-healthcareservice-contact"];
const EXT_CONTACT_TELECOM: &[&str] = &["ror-healthcareservice-contact-telecom"];
/// Confidentiality of a contact: `ror-confidentiality-level` in the IG profile and examples,
/// `ror-contact-confidentiality-level` in an ANS API documentation example; both accepted.
const EXT_CONFIDENTIALITY: &[&str] = &["ror-confidentiality-level", "ror-contact-confidentiality-level"];
/// Confidentiality of a telecom: `ror-telecom-confidentiality-level` (IG profile); the
/// `ror-contact-telecom-confidentiality-level` of Organization contacts is accepted too.
const EXT_TELECOM_CONFIDENTIALITY: &[&str] =
    &["ror-telecom-confidentiality-level", "ror-contact-telecom-confidentiality-level"];
const EXT_TELECOM_CHANNEL: &[&str] = &["ror-telecom-communication-channel"];
const EXT_TELECOM_USAGE: &[&str] = &["ror-telecom-usage"];
/// The IG has two files for it (`RORContactFunctionContact`, `RORContactFonctionContact`); the
/// contact extension names the slice `ror-function-contact`. Both plausible ids accepted.
const EXT_FUNCTION_CONTACT: &[&str] = &["ror-function-contact", "ror-contact-function-contact"];
const EXT_CREATION_DATE: &[&str] = &["ror-meta-creation-date"];
/// `ror-commune-cog` (DOMAIN.md §1.4, IG example); the IG also has a `RORLocationCommuneCog` file
/// whose id was not read: `ror-location-commune-cog` is accepted as a guess.
const EXT_COMMUNE_COG: &[&str] = &["ror-commune-cog", "ror-location-commune-cog"];
const EXT_SUPPORTED_CAPACITY: &[&str] = &["ror-location-supported-capacity"];
/// The Location profile names the slice `ror-location-equipment`; one version of the extension has
/// the id `ror-location-equipement` (French spelling, sub-extension `equipementType`). Both accepted.
const EXT_EQUIPMENT: &[&str] = &["ror-location-equipment", "ror-location-equipement"];
const EXT_TIME_TYPE: &[&str] =
    &["ror-available-time-type-of-time", "ror-healthcareservice-available-time-type-of-time"];
const EXT_TIME_DAY_NUMBER: &[&str] = &["ror-available-time-number-days-of-week"];
const EXT_TIME_EFFECTIVE: &[&str] = &["ror-available-time-effective-opening-closing-date"];
/// INSEE code of an Annuaire Santé v1 address.
const EXT_INSEE_CODE: &[&str] = &["fr-address-insee-code"];
/// Name carried by a PractitionerRole: `practitionerRole-name` in the Annuaire Santé v1 samples;
/// the ROR spelling `ror-practitionerrole-name` is a guess from its FSH file name. Case-insensitive.
const EXT_ROLE_NAME: &[&str] = &["practitionerRole-name", "ror-practitionerrole-name"];
const ADXP_HOUSE_NUMBER: &[&str] = &["iso21090-ADXP-houseNumber"];
const ADXP_STREET_TYPE: &[&str] = &["iso21090-ADXP-streetNameType"];
const ADXP_STREET_NAME: &[&str] = &["iso21090-ADXP-streetNameBase"];

/// A NOS table as it appears in a code system URL: the TRE name and the ROR value set (JDV).
#[derive(Clone, Copy)]
struct Table {
    tre: &'static str,
    jdv: &'static str,
}

const R211_ACTIVITE: Table = Table { tre: "R211", jdv: "J17" };
const R213_MODE: Table = Table { tre: "R213", jdv: "J19" };
const R13_COMMUNE: Table = Table { tre: "R13", jdv: "J124" };
const R201_DIVISION: Table = Table { tre: "R201", jdv: "J223" };

mod model;
mod read;
#[cfg(test)]
mod tests;

pub use model::*;
use read::*;

/// The parser's message without its " at line L column C" tail.
fn json_message(err: &serde_json::Error) -> String {
    let message = err.to_string();
    message.split(" at line ").next().unwrap_or_default().to_owned()
}

/// Parses FHIR JSON held in memory: a Bundle, NDJSON, a lone resource or a lone Bundle entry.
pub fn parse(bytes: &[u8]) -> Result<FhirImport, FhirError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(FhirError::Empty);
    }
    match parse_document(bytes) {
        Ok(import) => Ok(import),
        // Several lines, one of which is a resource on its own: NDJSON (bad lines get rejected).
        Err(_) if looks_like_ndjson(bytes) => Ok(parse_ndjson(bytes)),
        Err(err) => Err(err),
    }
}

/// Fuzzing entry point: parses arbitrary bytes and checks the output's invariants.
pub fn fuzz_parse(bytes: &[u8]) {
    let Ok(import) = parse(bytes) else {
        return;
    };
    let ids = import
        .organizations
        .iter()
        .map(|r| &r.id)
        .chain(import.healthcare_services.iter().map(|r| &r.id))
        .chain(import.locations.iter().map(|r| &r.id))
        .chain(import.practitioners.iter().map(|r| &r.id))
        .chain(import.practitioner_roles.iter().map(|r| &r.id));
    for id in ids {
        assert!(is_fhir_id(id), "{id}");
    }
    for s in &import.healthcare_services {
        if let (Some(min), Some(max)) = (s.age_min, s.age_max) {
            assert!(min <= max, "{min} > {max}");
        }
    }
    for l in &import.locations {
        if let Some(p) = l.position {
            assert!(p.lat.abs() <= 90.0 && p.lon.abs() <= 180.0, "{p:?}");
        }
        if let Some(cog) = l.address.as_ref().and_then(|a| a.insee_code.as_deref()) {
            assert_eq!(cog.len(), 5, "{cog}");
        }
    }
    for o in &import.organizations {
        if let Some(finess) = &o.finess {
            assert!(check_finess("", finess).is_ok(), "{finess}");
        }
    }
    for r in &import.rejected {
        assert!(!r.to_string().is_empty());
    }
}

/// Several non-blank lines, at least one of which is on its own a JSON object with a
/// `resourceType` (a pretty-printed document has no such line).
fn looks_like_ndjson(bytes: &[u8]) -> bool {
    let mut lines = bytes.split(|b| *b == b'\n').map(trim_ascii).filter(|l| !l.is_empty());
    let first = lines.next();
    let mut rest = lines.peekable();
    if rest.peek().is_none() {
        return false;
    }
    first.into_iter().chain(rest).any(|line| {
        line.starts_with(b"{")
            && line.ends_with(b"}")
            && serde_json::from_slice::<Value>(line).is_ok_and(|v| v.get("resourceType").is_some_and(Value::is_string))
    })
}

fn trim_ascii(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|b| !b.is_ascii_whitespace()).unwrap_or(bytes.len());
    let end = bytes.iter().rposition(|b| !b.is_ascii_whitespace()).map_or(start, |i| i + 1);
    bytes.get(start..end).unwrap_or_default()
}

/// Reads one resource per line; blank lines are skipped; positions are 1-based line numbers.
fn parse_ndjson(bytes: &[u8]) -> FhirImport {
    let mut collector = Collector::new(SourceFormat::Ndjson);
    for (index, line) in bytes.split(|b| *b == b'\n').enumerate() {
        let position = RecordPosition::Line(index as u64 + 1);
        let line = trim_ascii(line);
        if line.is_empty() {
            continue;
        }
        match serde_json::from_slice::<Value>(line) {
            Ok(value) => collector.add_resource(&value, position),
            Err(err) => {
                let reason = format!("invalid JSON at column {}: {}", err.column(), json_message(&err));
                collector.import.rejected.push(FieldError::record(reason).reject(position, None));
            }
        }
    }
    collector.import
}

/// Reads the input as one JSON document, streaming a Bundle's entries.
fn parse_document(bytes: &[u8]) -> Result<FhirImport, FhirError> {
    let mut root = Root {
        collector: Collector::new(SourceFormat::Bundle),
        resource_type: None,
        saw_entry: false,
        rest: Map::new(),
    };
    let mut de = serde_json::Deserializer::from_slice(bytes);
    RootSeed { root: &mut root }.deserialize(&mut de)?;
    de.end()?;
    root.finish()
}

/// State of the top-level object while it is read.
struct Root {
    collector: Collector,
    resource_type: Option<String>,
    saw_entry: bool,
    /// Top-level members other than `entry` (small for a Bundle; the whole resource otherwise).
    rest: Map<String, Value>,
}

impl Root {
    fn finish(mut self) -> Result<FhirImport, FhirError> {
        match self.resource_type.take() {
            Some(t) if t == "Bundle" => {
                let import = &mut self.collector.import;
                import.bundle_type = self.rest.get("type").and_then(Value::as_str).map(str::to_owned);
                import.bundle_total = self.rest.get("total").and_then(Value::as_u64);
                Ok(self.collector.import)
            }
            Some(t) if self.saw_entry => Err(FhirError::NotFhir(format!(
                "resourceType {} with an entry array (only a Bundle has one)",
                quoted(&t)
            ))),
            Some(t) if DIRECTORY_TYPES.contains(&t.as_str()) => {
                self.rest.insert("resourceType".to_owned(), Value::String(t));
                let mut collector = Collector::new(SourceFormat::Resource);
                collector.add_resource(&Value::Object(self.rest), RecordPosition::JsonPath("$".to_owned()));
                Ok(collector.import)
            }
            Some(t) => Err(FhirError::NotFhir(format!(
                "resourceType {} is neither a Bundle nor one of {}",
                quoted(&t),
                DIRECTORY_TYPES.join(", ")
            ))),
            None if self.saw_entry => Err(FhirError::NotFhir("entry array without resourceType Bundle".to_owned())),
            None => match self.rest.get("resource") {
                Some(resource) => {
                    let mut collector = Collector::new(SourceFormat::Entry);
                    collector.add_resource(resource, RecordPosition::JsonPath("resource".to_owned()));
                    Ok(collector.import)
                }
                None => Err(FhirError::NotFhir("no resourceType".to_owned())),
            },
        }
    }
}

/// Visits the top-level object.
struct RootSeed<'a> {
    root: &'a mut Root,
}

impl<'de> DeserializeSeed<'de> for RootSeed<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for RootSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a FHIR Bundle or resource (a JSON object)")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "resourceType" => {
                    let value: Value = map.next_value()?;
                    match value {
                        Value::String(s) => self.root.resource_type = Some(s),
                        other => {
                            let msg = format!("resourceType must be a string, found {}", kind(&other));
                            return Err(serde::de::Error::custom(msg));
                        }
                    }
                }
                "entry" => {
                    self.root.saw_entry = true;
                    map.next_value_seed(EntrySeed { collector: &mut self.root.collector })?;
                }
                _ => {
                    let value: Value = map.next_value()?;
                    self.root.rest.insert(key, value);
                }
            }
        }
        Ok(())
    }
}

/// Visits `Bundle.entry` one element at a time.
struct EntrySeed<'a> {
    collector: &'a mut Collector,
}

impl<'de> DeserializeSeed<'de> for EntrySeed<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for EntrySeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of Bundle entries")
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<(), E> {
        Ok(()) // "entry": null
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut index = 0usize;
        while let Some(entry) = seq.next_element::<Value>()? {
            let position = RecordPosition::JsonPath(format!("entry[{index}]"));
            index += 1;
            match entry.get("resource") {
                Some(resource) if !resource.is_null() => self.collector.add_resource(resource, position),
                _ if !entry.is_object() => {
                    let reason = format!("expected an entry object, found {}", kind(&entry));
                    self.collector.import.rejected.push(FieldError::record(reason).reject(position, None));
                }
                _ => {
                    let err = FieldError::new("resource", "entry has no resource");
                    self.collector.import.rejected.push(err.reject(position, None));
                }
            }
        }
        Ok(())
    }
}

/// Accumulates the output and detects duplicates.
struct Collector {
    import: FhirImport,
    /// `Type/id` → position where it was first seen.
    seen: HashMap<String, String>,
}

impl Collector {
    fn new(format: SourceFormat) -> Self {
        Collector { import: FhirImport::new(format), seen: HashMap::new() }
    }

    fn add_resource(&mut self, value: &Value, position: RecordPosition) {
        let reject = |err: FieldError, finess: Option<&str>| err.reject(position.clone(), finess);
        let Some(obj) = value.as_object() else {
            let err = FieldError::record(format!("expected a resource object, found {}", kind(value)));
            self.import.rejected.push(reject(err, None));
            return;
        };
        let resource_type = match obj.get("resourceType") {
            Some(Value::String(t)) => t.as_str(),
            Some(other) => {
                let err = FieldError::new("resourceType", format!("expected a string, found {}", kind(other)));
                self.import.rejected.push(reject(err, None));
                return;
            }
            None => {
                self.import.rejected.push(reject(FieldError::new("resourceType", "missing"), None));
                return;
            }
        };
        if !DIRECTORY_TYPES.contains(&resource_type) {
            *self.import.other_resources.entry(resource_type.to_owned()).or_default() += 1;
            return;
        }
        let r = Res(obj);
        let label = match obj.get("id").and_then(Value::as_str).filter(|id| is_fhir_id(id)) {
            Some(id) => format!("{resource_type}/{id}"),
            None => resource_type.to_owned(),
        };
        let finess = if resource_type == "Organization" { organization_finess(r) } else { None };
        let key = match r.id() {
            Ok(id) => format!("{resource_type}/{id}"),
            Err(err) => {
                self.import.rejected.push(reject(labelled(err, &label), finess.as_deref()));
                return;
            }
        };
        if let Some(first) = self.seen.get(&key) {
            let err = FieldError::new("id", format!("duplicate {key}, first seen at {first}"));
            self.import.rejected.push(reject(err, finess.as_deref()));
            return;
        }
        let result = match resource_type {
            "Organization" => read_organization(r).map(|o| self.import.organizations.push(o)),
            "HealthcareService" => read_healthcare_service(r).map(|s| self.import.healthcare_services.push(s)),
            "Location" => read_location(r).map(|l| self.import.locations.push(l)),
            "Practitioner" => read_practitioner(r).map(|p| self.import.practitioners.push(p)),
            _ => read_practitioner_role(r).map(|p| self.import.practitioner_roles.push(p)),
        };
        match result {
            Ok(()) => {
                self.seen.insert(key, position.to_string());
            }
            Err(err) => self.import.rejected.push(reject(labelled(err, &label), finess.as_deref())),
        }
    }
}

/// Puts the resource's `Type/id` in front of the reason.
fn labelled(err: FieldError, label: &str) -> FieldError {
    FieldError { reason: format!("{label}: {}", err.reason), ..err }
}

/// The FINESS number of an organization, if one can be read, for the report of a rejection.
fn organization_finess(r: Res) -> Option<String> {
    read_identifiers(r, "identifier").ok().and_then(|ids| structure_ids(&ids).ok()).and_then(|s| s.finess)
}

/// FHIR `id`: 1 to 64 characters among `A-Z a-z 0-9 - .`.
fn is_fhir_id(id: &str) -> bool {
    (1..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
}

/// Whether a code system URL names the NOS table (its TRE or its ROR value set).
fn in_table(system: &str, table: Table) -> bool {
    [("TRE", table.tre), ("JDV", table.jdv)].iter().any(|(prefix, name)| {
        ['_', '-'].iter().any(|sep| {
            let needle = format!("{prefix}{sep}{name}-");
            system.contains(&needle)
        })
    })
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Joins a field path: `child("a", "b")` is `a.b`; `child("", "b")` is `b`.
fn child(path: &str, key: &str) -> String {
    if path.is_empty() { key.to_owned() } else { format!("{path}.{key}") }
}
