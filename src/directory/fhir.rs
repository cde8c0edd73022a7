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

/// The FHIR resource types this parser reads.
const DIRECTORY_TYPES: [&str; 5] =
    ["Organization", "HealthcareService", "Location", "Practitioner", "PractitionerRole"];

/// A coded value (FHIR `Coding`), with the label the source printed beside it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Coding {
    /// Code system URL, e.g. [`SYSTEM_CHAMP_ACTIVITE`]; empty when the source gave none.
    pub system: String,
    /// The code, e.g. `04`.
    pub code: String,
    /// The label given with the code, if any (labels drift: keep it as imported).
    pub display: Option<String>,
}

impl Coding {
    /// Builds a coding.
    pub fn new(system: &str, code: &str, display: Option<&str>) -> Self {
        Coding { system: system.to_owned(), code: code.to_owned(), display: display.map(str::to_owned) }
    }
}

/// A business identifier (FHIR `Identifier`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Identifier {
    /// Namespace of the value, e.g. `https://finess.esante.gouv.fr`.
    pub system: Option<String>,
    /// The identifier.
    pub value: String,
    /// First coding of `Identifier.type` (e.g. `IDNST`, `FINEG`, `RPPS`), if any.
    pub id_type: Option<Coding>,
}

/// A link to another resource (FHIR `Reference`): literal, logical (by identifier), or both.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reference {
    /// Literal reference as written: `Organization/123`, an absolute URL, or a contained `#id`.
    pub reference: Option<String>,
    /// Logical reference by business identifier (Annuaire Santé v1: the IDNST of the structure).
    pub identifier: Option<Identifier>,
    /// Text shown for the target, if any.
    pub display: Option<String>,
}

impl Reference {
    /// The target's id when the literal reference points to a `resource_type`
    /// (`Organization/123`, `https://host/fhir/Organization/123/_history/2` → `123`).
    pub fn target_id(&self, resource_type: &str) -> Option<&str> {
        let reference = self.reference.as_deref()?;
        let mut parts = reference.split('/');
        while let Some(part) = parts.next() {
            if part == resource_type {
                return parts.next().filter(|id| is_fhir_id(id));
            }
        }
        None
    }

    /// FINESS number of a structure referenced by identifier: a FINESS identifier, or an IDNST
    /// `"1"` + FINESS (inferred prefix rule, DOMAIN.md §2.2), as in Annuaire Santé v1 roles.
    pub fn finess(&self) -> Option<&str> {
        let id = self.identifier.as_ref()?;
        let finess = match structure_id_kind(id)? {
            StructureIdKind::Finess => id.value.as_str(),
            StructureIdKind::Idnst => id.value.strip_prefix('1')?,
            StructureIdKind::Siret | StructureIdKind::Siren => return None,
        };
        check_finess("", finess).is_ok().then_some(finess)
    }

    /// RPPS number of a professional referenced by identifier: an RPPS identifier, or an IDNPS
    /// `"8"` + RPPS (inferred prefix rule, DOMAIN.md §2.2).
    pub fn rpps(&self) -> Option<&str> {
        let id = self.identifier.as_ref()?;
        let rpps = if system_in(id, &[RPPS_SYSTEM]) || type_code(id) == "RPPS" {
            id.value.as_str()
        } else if system_in(id, &[IDNPS_SYSTEM]) || type_code(id) == "IDNPS" {
            id.value.strip_prefix('8')?
        } else {
            return None;
        };
        is_digits(rpps, 11).then_some(rpps)
    }
}

/// A person's name (FHIR `HumanName`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct HumanName {
    /// Family name.
    pub family: Option<String>,
    /// Given names, in order.
    pub given: Vec<String>,
    /// Prefixes such as `Dr`.
    pub prefix: Vec<String>,
    /// Suffixes.
    pub suffix: Vec<String>,
    /// The whole name as text, when given.
    pub text: Option<String>,
}

/// A postal address (FHIR `Address`, with the French ISO 21090 street parts of the ROR).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct FhirAddress {
    /// The address as one text, when given.
    pub text: Option<String>,
    /// Address lines, in order.
    pub lines: Vec<String>,
    /// Street number (`iso21090-ADXP-houseNumber`).
    pub house_number: Option<String>,
    /// Street type, e.g. `rue` (`iso21090-ADXP-streetNameType`).
    pub street_type: Option<String>,
    /// Street name (`iso21090-ADXP-streetNameBase`).
    pub street_name: Option<String>,
    /// Postal code.
    pub postal_code: Option<String>,
    /// Town or CEDEX office.
    pub city: Option<String>,
    /// Country.
    pub country: Option<String>,
    /// INSEE commune code: `ror-commune-cog` of a Location, or `fr-address-insee-code`.
    pub insee_code: Option<String>,
}

/// Access level of a contact or telecom (TRE_R283-NiveauConfidentialite, codes read in IG-NOS).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ConfidentialityLevel {
    /// `1` Accès libre: may be shown to anyone.
    Free,
    /// `2` Accès restreint: health professionals only.
    Restricted,
    /// `3` Accès très restreint: regulation and crisis management only.
    HighlyRestricted,
}

impl ConfidentialityLevel {
    /// Reads a TRE_R283 code; `None` for any other code.
    pub fn from_code(code: &str) -> Option<Self> {
        match code {
            "1" => Some(ConfidentialityLevel::Free),
            "2" => Some(ConfidentialityLevel::Restricted),
            "3" => Some(ConfidentialityLevel::HighlyRestricted),
            _ => None,
        }
    }
}

/// A telephone, e-mail… (FHIR `ContactPoint`, or the `ror-healthcareservice-contact-telecom`
/// extension), with the ROR channel, usage and confidentiality extensions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Telecom {
    /// `phone`, `email`, `fax`, `url`…; for an extension-borne telecom, derived from the channel
    /// (TRE_R200: 1, 2, 8 phone; 3, 9 email; 4 url; 6 fax).
    pub system: Option<String>,
    /// The number or address.
    pub value: String,
    /// `ContactPoint.use` (`work`, `mobile`…).
    pub usage: Option<String>,
    /// Channel (`ror-telecom-communication-channel`, TRE_R200).
    pub channel: Option<Coding>,
    /// ROR usage (`ror-telecom-usage`).
    pub ror_usage: Option<Coding>,
    /// Access level (`ror-telecom-confidentiality-level`, TRE_R283).
    pub confidentiality: Option<Coding>,
}

impl Telecom {
    /// The access level; `None` when not stated or not a TRE_R283 code (treat as restricted).
    pub fn confidentiality_level(&self) -> Option<ConfidentialityLevel> {
        self.confidentiality.as_ref().and_then(|c| ConfidentialityLevel::from_code(&c.code))
    }
}

/// A contact of an offer (`ror-healthcareservice-contact`, DOMAIN.md §1.3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct ServiceContact {
    /// Person's name (`name`).
    pub name: Option<HumanName>,
    /// Function of the contact (`ror-function-contact`).
    pub function: Option<Coding>,
    /// Nature of the contact (`purposeContact`, TRE_R287: `06` Standard…).
    pub purpose: Option<Coding>,
    /// Free text (`description`).
    pub description: Option<String>,
    /// Access level of the whole contact (`ror-confidentiality-level`, TRE_R283).
    pub confidentiality: Option<Coding>,
    /// Its telephones and addresses (`ror-healthcareservice-contact-telecom`).
    pub telecoms: Vec<Telecom>,
}

impl ServiceContact {
    /// The access level; `None` when not stated or not a TRE_R283 code (treat as restricted).
    pub fn confidentiality_level(&self) -> Option<ConfidentialityLevel> {
        self.confidentiality.as_ref().and_then(|c| ConfidentialityLevel::from_code(&c.code))
    }
}

/// One opening slot of an offer (`availableTime`, with the ROR time extensions).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct AvailableTime {
    /// FHIR days: `mon` … `sun`.
    pub days_of_week: Vec<String>,
    /// Open all day.
    pub all_day: Option<bool>,
    /// Opening time.
    pub start: Option<NaiveTime>,
    /// Closing time.
    pub end: Option<NaiveTime>,
    /// Kind of slot (`ror-available-time-type-of-time`, TRE_R252: `01` horaire d'ouverture…).
    pub time_type: Option<Coding>,
    /// Day number, 1 = Monday (`ror-available-time-number-days-of-week`).
    pub day_number: Option<u8>,
    /// First day the slot applies (`ror-available-time-effective-opening-closing-date`).
    pub effective_from: Option<NaiveDate>,
    /// Last day the slot applies.
    pub effective_until: Option<NaiveDate>,
}

/// One zone where an offer intervenes (`ror-territorial-division`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TerritorialDivision {
    /// Kind of zone (`typeTerritorialDivision`, TRE_R201: `3` commune, `2` département…).
    pub kind: Option<Coding>,
    /// The zone's code (`codeTerritorialDivision`), e.g. an INSEE commune code.
    pub code: Coding,
}

impl TerritorialDivision {
    /// Whether the zone is a commune: kind `3` of TRE_R201, or a code from the commune table.
    pub fn is_commune(&self) -> bool {
        let by_kind = self.kind.as_ref().is_some_and(|k| k.code == "3" && in_table(&k.system, R201_DIVISION));
        by_kind || in_table(&self.code.system, R13_COMMUNE)
    }
}

/// An organization of the ROR (EJ, EG or OI, DOMAIN.md §1.2, §1.5) or of the Annuaire Santé.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FhirOrganization {
    /// Technical id (not stable across Annuaire Santé versions: DOMAIN.md §7.1).
    pub id: String,
    /// Every business identifier, in order.
    pub identifiers: Vec<Identifier>,
    /// FINESS number, from a FINESS-system identifier, else from an IDNST `"1"` + FINESS (inferred
    /// prefix rule, DOMAIN.md §2.2).
    pub finess: Option<String>,
    /// SIRET (identifier typed `SIRET`, or 14 digits in the SIRENE system).
    pub siret: Option<String>,
    /// SIREN (identifier typed `SIREN` with 9 digits, or 9 digits in the SIRENE system).
    pub siren: Option<String>,
    /// Whether the organization is active.
    pub active: Option<bool>,
    /// Name (raison sociale, dénomination EG, nom OI).
    pub name: Option<String>,
    /// Other names.
    pub aliases: Vec<String>,
    /// Every `type` coding: catégorie d'établissement (TRE_R66), type d'OI, FR Core type…
    pub types: Vec<Coding>,
    /// Parent in the EJ → EG → OI tree (`partOf`).
    pub part_of: Option<Reference>,
    /// Addresses.
    pub addresses: Vec<FhirAddress>,
    /// Telephones, e-mails.
    pub telecoms: Vec<Telecom>,
    /// Contacts (`contact`: purpose, name, telecoms, `ror-contact-confidentiality-level`).
    pub contacts: Vec<ServiceContact>,
    /// `meta.lastUpdated`.
    pub last_updated: Option<DateTime<Utc>>,
}

/// An "offre opérationnelle" (RORHealthcareService, DOMAIN.md §1.3), the searchable unit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FhirHealthcareService {
    /// Technical id.
    pub id: String,
    /// Business identifiers (identifiantOffre).
    pub identifiers: Vec<Identifier>,
    /// Whether the offer is active.
    pub active: Option<bool>,
    /// Name (nomOffre).
    pub name: Option<String>,
    /// The EG or OI providing the offer.
    pub provided_by: Option<Reference>,
    /// Where it takes place (RORLocation).
    pub locations: Vec<Reference>,
    /// Type d'offre (`category`, TRE_R244).
    pub categories: Vec<Coding>,
    /// Champ d'activité (`type`, TRE_R227: `01` MCO … `05` Ambulatoire).
    pub activity_fields: Vec<Coding>,
    /// Activités opérationnelles (`specialty` from TRE_R211 / JDV_J17).
    pub operational_activities: Vec<Coding>,
    /// Other `specialty` codings (familles d'activité, SERAFIN prestations…).
    pub other_specialties: Vec<Coding>,
    /// Modes de prise en charge (`characteristic[careMode]`: TRE_R213 / JDV_J19).
    pub care_modes: Vec<Coding>,
    /// Other characteristics (temporalité, modalité d'accueil, actes spécifiques…).
    pub other_characteristics: Vec<Coding>,
    /// Publics pris en charge (`ror-healthcareservice-patient-type`.supportedPatientInfo, TRE_R239).
    pub publics: Vec<Coding>,
    /// Minimum age in years (`ageRange.low`).
    pub age_min: Option<u16>,
    /// Maximum age in years (`ageRange.high`).
    pub age_max: Option<u16>,
    /// Zone d'intervention (`ror-territorial-division`).
    pub intervention_zones: Vec<TerritorialDivision>,
    /// Secteurs psychiatriques.
    pub psychiatric_sectors: Vec<String>,
    /// Opening slots.
    pub available_times: Vec<AvailableTime>,
    /// Telecoms of the offer itself (MSS mailboxes…).
    pub telecoms: Vec<Telecom>,
    /// Contacts (`ror-healthcareservice-contact`), each with its access level.
    pub contacts: Vec<ServiceContact>,
    /// Unité sensible: the whole description is confidential. Absent counts as `false` (the ROR
    /// makes the extension mandatory; other sources do not have it).
    pub sensitive_unit: bool,
    /// Start of a closure (`notAvailable.during.start`, dateFermeture).
    pub closed_from: Option<NaiveDate>,
    /// Planned reopening (`notAvailable.during.end`, datePrevisionnelleReouverture).
    pub reopening_on: Option<NaiveDate>,
    /// Creation in the ROR (`ror-meta-creation-date`).
    pub created_at: Option<DateTime<Utc>>,
    /// `meta.lastUpdated` (dateMiseJour).
    pub last_updated: Option<DateTime<Utc>>,
}

impl FhirHealthcareService {
    /// INSEE codes of the communes of the intervention zone.
    pub fn intervention_communes(&self) -> impl Iterator<Item = &str> {
        self.intervention_zones.iter().filter(|z| z.is_commune()).map(|z| z.code.code.as_str())
    }
}

/// A WGS84 point.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Position {
    /// Latitude in degrees.
    pub lat: f64,
    /// Longitude in degrees.
    pub lon: f64,
}

/// One capacity record of a location (`ror-location-supported-capacity`, DOMAIN.md §1.4): a count
/// for one nature × status × temporality.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Capacity {
    /// Lit or place (`capacityType`, TRE_R329).
    pub nature: Coding,
    /// Installé, disponible… (`capacityStatus`, TRE_R330).
    pub status: Coding,
    /// Courant, prévisionnel… (`temporalityCapacity`, TRE_R331).
    pub temporality: Option<Coding>,
    /// How many (`nbCapacity`).
    pub count: u32,
    /// When the count was given (`capacityUpdateDate`): always show it.
    pub updated_at: Option<DateTime<Utc>>,
    /// Gender of the available beds (`genderCapacityAvailable`, TRE_R332).
    pub gender: Option<Coding>,
    /// Source of the count (`capacitySourceType`, TRE_R335).
    pub source: Option<Coding>,
    /// Temporary assignment (`temporaryAssignement`, TRE_R337).
    pub temporary_assignment: Option<Coding>,
    /// Closing type (`capacityClosingType`), additional bed type and crisis type, when given.
    pub other: Vec<Coding>,
}

/// A specific equipment of a location (`ror-location-equipment`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Equipment {
    /// The equipment (`equipmentType`, TRE_R212).
    pub kind: Coding,
    /// How many are in service (`nbInService`).
    pub in_service: Option<u32>,
}

/// A place where offers take place (RORLocation, DOMAIN.md §1.4).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FhirLocation {
    /// Technical id.
    pub id: String,
    /// Business identifiers.
    pub identifiers: Vec<Identifier>,
    /// `active`, `suspended` or `inactive`.
    pub status: Option<String>,
    /// Name.
    pub name: Option<String>,
    /// How to get there.
    pub description: Option<String>,
    /// Fonction du lieu (`type`, TRE_R343).
    pub functions: Vec<Coding>,
    /// Address, with the commune of `ror-commune-cog` in `insee_code`.
    pub address: Option<FhirAddress>,
    /// Commune (`ror-commune-cog`, TRE_R13) as coded.
    pub commune_cog: Option<Coding>,
    /// WGS84 position.
    pub position: Option<Position>,
    /// Telecoms.
    pub telecoms: Vec<Telecom>,
    /// Organization in charge.
    pub managing_organization: Option<Reference>,
    /// Capacity records.
    pub capacities: Vec<Capacity>,
    /// Specific equipment.
    pub equipment: Vec<Equipment>,
    /// Creation in the ROR (`ror-meta-creation-date`).
    pub created_at: Option<DateTime<Utc>>,
    /// `meta.lastUpdated`.
    pub last_updated: Option<DateTime<Utc>>,
}

/// A health professional (RORPractitioner, Annuaire Santé Practitioner).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FhirPractitioner {
    /// Technical id (differs between Annuaire Santé v1 and v2: DOMAIN.md §2.2).
    pub id: String,
    /// Business identifiers.
    pub identifiers: Vec<Identifier>,
    /// RPPS number (11 digits), from an RPPS identifier, else from an IDNPS `"8"` + RPPS (inferred
    /// prefix rule, DOMAIN.md §2.2).
    pub rpps: Option<String>,
    /// IDNPS, the national id (`"8"` + RPPS or `"0"` + ADELI).
    pub idnps: Option<String>,
    /// Whether the record is active.
    pub active: Option<bool>,
    /// Names.
    pub names: Vec<HumanName>,
    /// Every coding of every `qualification.code` (diplomas, specialités ordinales…), flattened.
    pub qualifications: Vec<Coding>,
    /// `meta.lastUpdated`.
    pub last_updated: Option<DateTime<Utc>>,
}

/// A professional's role in an organization or offer (RORPractitionerRole, Annuaire Santé
/// PractitionerRole).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FhirPractitionerRole {
    /// Technical id.
    pub id: String,
    /// Business identifiers.
    pub identifiers: Vec<Identifier>,
    /// Whether the role is active.
    pub active: Option<bool>,
    /// The professional.
    pub practitioner: Option<Reference>,
    /// The organization (by IDNST in the Annuaire Santé v1).
    pub organization: Option<Reference>,
    /// Offers the role takes part in.
    pub healthcare_services: Vec<Reference>,
    /// Locations.
    pub locations: Vec<Reference>,
    /// Every `code` coding (profession, fonction, genre d'activité, mode d'exercice…), flattened.
    pub codes: Vec<Coding>,
    /// Every `specialty` coding, flattened.
    pub specialties: Vec<Coding>,
    /// Name carried by the role itself (`practitionerRole-name` extension).
    pub name: Option<HumanName>,
    /// Telecoms (entries without a value are dropped).
    pub telecoms: Vec<Telecom>,
    /// Start of the role (`period.start`).
    pub period_start: Option<NaiveDate>,
    /// End of the role (`period.end`).
    pub period_end: Option<NaiveDate>,
    /// `meta.lastUpdated`.
    pub last_updated: Option<DateTime<Utc>>,
}

/// How the input was laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum SourceFormat {
    /// A `Bundle`.
    Bundle,
    /// One resource per line.
    Ndjson,
    /// A single resource.
    Resource,
    /// A single Bundle entry `{fullUrl, resource}`.
    Entry,
}

/// Everything read from one input.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FhirImport {
    /// Layout of the input.
    pub format: SourceFormat,
    /// `Bundle.type` (`searchset`, `collection`…).
    pub bundle_type: Option<String>,
    /// `Bundle.total` (a ROR search page holds at most 200 of them: DOMAIN.md §2.1).
    pub bundle_total: Option<u64>,
    /// Organizations, in input order.
    pub organizations: Vec<FhirOrganization>,
    /// Offers, in input order.
    pub healthcare_services: Vec<FhirHealthcareService>,
    /// Locations, in input order.
    pub locations: Vec<FhirLocation>,
    /// Practitioners, in input order.
    pub practitioners: Vec<FhirPractitioner>,
    /// Practitioner roles, in input order.
    pub practitioner_roles: Vec<FhirPractitionerRole>,
    /// Resources of other types, counted by type (not rejected).
    pub other_resources: BTreeMap<String, usize>,
    /// Records left out, in input order.
    pub rejected: Vec<Rejected>,
}

impl FhirImport {
    fn new(format: SourceFormat) -> Self {
        FhirImport {
            format,
            bundle_type: None,
            bundle_total: None,
            organizations: Vec::new(),
            healthcare_services: Vec::new(),
            locations: Vec::new(),
            practitioners: Vec::new(),
            practitioner_roles: Vec::new(),
            other_resources: BTreeMap::new(),
            rejected: Vec::new(),
        }
    }

    /// Number of directory resources read (all five types).
    pub fn resource_count(&self) -> usize {
        self.organizations.len()
            + self.healthcare_services.len()
            + self.locations.len()
            + self.practitioners.len()
            + self.practitioner_roles.len()
    }
}

/// A problem with the input as a whole.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FhirError {
    /// Nothing but white space.
    #[error("empty input")]
    Empty,
    /// Not valid JSON (nor NDJSON), or cut short.
    #[error("line {line}, column {column}: invalid JSON: {message}")]
    Syntax {
        /// 1-based line of the error.
        line: usize,
        /// 1-based column of the error.
        column: usize,
        /// The JSON parser's message.
        message: String,
    },
    /// Valid JSON, but neither a Bundle, nor NDJSON, nor a directory resource.
    #[error("not FHIR directory data: {0}")]
    NotFhir(String),
}

impl From<serde_json::Error> for FhirError {
    fn from(err: serde_json::Error) -> Self {
        use serde_json::error::Category;
        match err.classify() {
            Category::Data => FhirError::NotFhir(err.to_string()),
            Category::Syntax | Category::Eof | Category::Io => {
                let (line, column) = (err.line(), err.column());
                FhirError::Syntax { line, column, message: json_message(&err) }
            }
        }
    }
}

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

/// Read access to one JSON object of a resource. Missing and `null` members are absent.
#[derive(Clone, Copy)]
struct Res<'a>(&'a Map<String, Value>);

impl<'a> Res<'a> {
    fn get(self, key: &str) -> Option<&'a Value> {
        self.0.get(key).filter(|v| !v.is_null())
    }

    /// The resource's id, which must be a FHIR id.
    fn id(self) -> Result<String, FieldError> {
        let id = self.string("id", "id")?.ok_or_else(|| FieldError::new("id", "required field is missing or empty"))?;
        if is_fhir_id(&id) {
            Ok(id)
        } else {
            Err(FieldError::new("id", format!("not a FHIR id {} (1-64 of A-Z a-z 0-9 - .)", quoted(&id))))
        }
    }

    /// Trimmed string; blank becomes `None`; another JSON type is an error at `path`.
    fn string(self, key: &str, path: &str) -> Result<Option<String>, FieldError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.trim()).filter(|s| !s.is_empty()).map(str::to_owned)),
            Some(other) => Err(FieldError::new(path.to_owned(), format!("expected a string, found {}", kind(other)))),
        }
    }

    fn boolean(self, key: &str, path: &str) -> Result<Option<bool>, FieldError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(other) => Err(FieldError::new(path.to_owned(), format!("expected a boolean, found {}", kind(other)))),
        }
    }

    /// The object at `key`, if any.
    fn object(self, key: &str, path: &str) -> Result<Option<Res<'a>>, FieldError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Object(o)) => Ok(Some(Res(o))),
            Some(other) => Err(FieldError::new(path.to_owned(), format!("expected an object, found {}", kind(other)))),
        }
    }

    /// The elements at `key`: an array (nulls skipped), or one value where an array belongs (ANS
    /// examples write `"identifier": {…}` and `"category": {…}`), or nothing.
    fn many(self, key: &str) -> Vec<&'a Value> {
        match self.get(key) {
            None => Vec::new(),
            Some(Value::Array(items)) => items.iter().filter(|v| !v.is_null()).collect(),
            Some(one) => vec![one],
        }
    }

    /// The objects at `key`, with their index; a non-object element is an error.
    fn objects(self, key: &str, path: &str) -> Result<Vec<(usize, Res<'a>)>, FieldError> {
        self.many(key)
            .into_iter()
            .enumerate()
            .map(|(i, v)| match v {
                Value::Object(o) => Ok((i, Res(o))),
                other => {
                    Err(FieldError::new(format!("{path}[{i}]"), format!("expected an object, found {}", kind(other))))
                }
            })
            .collect()
    }

    /// Non-blank strings at `key` (nulls skipped).
    fn strings(self, key: &str, path: &str) -> Result<Vec<String>, FieldError> {
        self.many(key)
            .into_iter()
            .enumerate()
            .filter_map(|(i, v)| match v {
                Value::String(s) => Some(s.trim()).filter(|s| !s.is_empty()).map(|s| Ok(s.to_owned())),
                other => Some(Err(FieldError::new(
                    format!("{path}[{i}]"),
                    format!("expected a string, found {}", kind(other)),
                ))),
            })
            .collect()
    }

    /// The extensions of this element, named by their StructureDefinition id; those without a
    /// `url` are skipped. Error paths read `extension[2:ror-location-supported-capacity]`.
    fn extensions(self, path: &str) -> Result<Vec<Ext<'a>>, FieldError> {
        let path = child(path, "extension");
        Ok(self
            .objects("extension", &path)?
            .into_iter()
            .filter_map(|(i, e)| {
                let url = e.get("url")?.as_str()?;
                let name = url.rsplit('/').next().unwrap_or(url);
                Some(Ext { name, obj: e, path: format!("{path}[{i}:{name}]") })
            })
            .collect())
    }

    /// Every coding of the CodeableConcepts at `key`, flattened.
    fn codings(self, key: &str, path: &str) -> Result<Vec<Coding>, FieldError> {
        let path = child(path, key);
        let mut out = Vec::new();
        for (i, concept) in self.objects(key, &path)? {
            out.extend(concept_codings(concept, &format!("{path}[{i}]"))?);
        }
        Ok(out)
    }

    fn instant(self, key: &str, path: &str) -> Result<Option<DateTime<Utc>>, FieldError> {
        self.string(key, path)?.map(|t| parse_instant(path, &t)).transpose()
    }

    fn date(self, key: &str, path: &str) -> Result<Option<NaiveDate>, FieldError> {
        self.string(key, path)?.map(|t| parse_date(path, &t)).transpose()
    }
}

/// One extension, named by its StructureDefinition id, with its path for error messages.
struct Ext<'a> {
    name: &'a str,
    obj: Res<'a>,
    path: String,
}

impl<'a> Ext<'a> {
    fn is(&self, ids: &[&str]) -> bool {
        ids.iter().any(|id| self.name.eq_ignore_ascii_case(id))
    }

    fn value_path(&self, key: &str) -> String {
        child(&self.path, key)
    }

    /// Codings of `valueCodeableConcept`, or the one `valueCoding`.
    fn codings(&self) -> Result<Vec<Coding>, FieldError> {
        if let Some(concept) = self.obj.object("valueCodeableConcept", &self.value_path("valueCodeableConcept"))? {
            return concept_codings(concept, &self.value_path("valueCodeableConcept"));
        }
        match self.obj.object("valueCoding", &self.value_path("valueCoding"))? {
            Some(coding) => Ok(read_coding(coding, &self.value_path("valueCoding"))?.into_iter().collect()),
            None => Ok(Vec::new()),
        }
    }

    fn coding(&self) -> Result<Option<Coding>, FieldError> {
        Ok(self.codings()?.into_iter().next())
    }

    fn required_coding(&self) -> Result<Coding, FieldError> {
        self.coding()?.ok_or_else(|| FieldError::new(self.path.clone(), "no coded value"))
    }

    fn string(&self) -> Result<Option<String>, FieldError> {
        self.obj.string("valueString", &self.value_path("valueString"))
    }

    fn boolean(&self) -> Result<Option<bool>, FieldError> {
        self.obj.boolean("valueBoolean", &self.value_path("valueBoolean"))
    }

    /// `valueDateTime`, `valueInstant` or `valueDate`.
    fn instant(&self) -> Result<Option<DateTime<Utc>>, FieldError> {
        let Some((key, value)) =
            ["valueDateTime", "valueInstant", "valueDate"].iter().find_map(|k| self.obj.get(k).map(|v| (*k, v)))
        else {
            return Ok(None);
        };
        let path = self.value_path(key);
        match value {
            Value::String(s) => parse_instant(&path, s.trim()).map(Some),
            other => Err(FieldError::new(path, format!("expected a date-time, found {}", kind(other)))),
        }
    }

    /// `valueInteger` (or unsignedInt/positiveInt) as a non-negative count. A string of digits is
    /// accepted: ANS documentation examples write `"valueInteger": "1"`.
    fn count(&self) -> Result<Option<u32>, FieldError> {
        let value = ["valueInteger", "valueUnsignedInt", "valuePositiveInt"].iter().find_map(|k| self.obj.get(k));
        let path = self.value_path("valueInteger");
        let n = match value {
            None => return Ok(None),
            Some(Value::Number(n)) => n.as_u64(),
            Some(Value::String(s)) => s.trim().parse::<u64>().ok(),
            Some(other) => {
                return Err(FieldError::new(path, format!("expected an integer, found {}", kind(other))));
            }
        };
        match n.and_then(|n| u32::try_from(n).ok()) {
            Some(n) => Ok(Some(n)),
            None => {
                Err(FieldError::new(path, format!("not a count {}", value.map(Value::to_string).unwrap_or_default())))
            }
        }
    }

    /// Sub-extensions.
    fn subs(&self) -> Result<Vec<Ext<'a>>, FieldError> {
        self.obj.extensions(&self.path)
    }
}

/// First extension matching `ids`.
fn find<'e, 'a>(exts: &'e [Ext<'a>], ids: &[&str]) -> Option<&'e Ext<'a>> {
    exts.iter().find(|e| e.is(ids))
}

fn concept_codings(concept: Res, path: &str) -> Result<Vec<Coding>, FieldError> {
    let path = child(path, "coding");
    let mut out = Vec::new();
    for (i, coding) in concept.objects("coding", &path)? {
        out.extend(read_coding(coding, &format!("{path}[{i}]"))?);
    }
    Ok(out)
}

/// A coding; `None` when it has no code (the Annuaire Santé v1 samples hold `"code": null`).
fn read_coding(coding: Res, path: &str) -> Result<Option<Coding>, FieldError> {
    let Some(code) = coding.string("code", &child(path, "code"))? else {
        return Ok(None);
    };
    Ok(Some(Coding {
        system: coding.string("system", &child(path, "system"))?.unwrap_or_default(),
        code,
        display: coding.string("display", &child(path, "display"))?,
    }))
}

/// An identifier; `None` when it has no value.
fn read_identifier(id: Res, path: &str) -> Result<Option<Identifier>, FieldError> {
    let Some(value) = id.string("value", &child(path, "value"))? else {
        return Ok(None);
    };
    let id_type = match id.object("type", &child(path, "type"))? {
        Some(t) => concept_codings(t, &child(path, "type"))?.into_iter().next(),
        None => None,
    };
    Ok(Some(Identifier { system: id.string("system", &child(path, "system"))?, value, id_type }))
}

fn read_identifiers(r: Res, key: &str) -> Result<Vec<Identifier>, FieldError> {
    let mut out = Vec::new();
    for (i, id) in r.objects(key, key)? {
        out.extend(read_identifier(id, &format!("{key}[{i}]"))?);
    }
    Ok(out)
}

/// A reference; `None` when it has neither a literal reference nor an identifier.
fn read_reference(r: Res, path: &str) -> Result<Option<Reference>, FieldError> {
    let reference = r.string("reference", &child(path, "reference"))?;
    let identifier = match r.object("identifier", &child(path, "identifier"))? {
        Some(id) => read_identifier(id, &child(path, "identifier"))?,
        None => None,
    };
    if reference.is_none() && identifier.is_none() {
        return Ok(None);
    }
    Ok(Some(Reference { reference, identifier, display: r.string("display", &child(path, "display"))? }))
}

fn reference_at(r: Res, key: &str) -> Result<Option<Reference>, FieldError> {
    match r.object(key, key)? {
        Some(obj) => read_reference(obj, key),
        None => Ok(None),
    }
}

fn references_at(r: Res, key: &str) -> Result<Vec<Reference>, FieldError> {
    let mut out = Vec::new();
    for (i, obj) in r.objects(key, key)? {
        out.extend(read_reference(obj, &format!("{key}[{i}]"))?);
    }
    Ok(out)
}

fn read_human_name(n: Res, path: &str) -> Result<HumanName, FieldError> {
    Ok(HumanName {
        family: n.string("family", &child(path, "family"))?,
        given: n.strings("given", &child(path, "given"))?,
        prefix: n.strings("prefix", &child(path, "prefix"))?,
        suffix: n.strings("suffix", &child(path, "suffix"))?,
        text: n.string("text", &child(path, "text"))?,
    })
}

fn read_address(a: Res, path: &str) -> Result<FhirAddress, FieldError> {
    let mut address = FhirAddress {
        text: a.string("text", &child(path, "text"))?,
        lines: a.strings("line", &child(path, "line"))?,
        postal_code: a.string("postalCode", &child(path, "postalCode"))?,
        city: a.string("city", &child(path, "city"))?,
        country: a.string("country", &child(path, "country"))?,
        ..FhirAddress::default()
    };
    // The ISO 21090 street parts are extensions of the `line` elements, i.e. of `_line[i]`.
    let line_path = child(path, "_line");
    for (i, line) in a.objects("_line", &line_path)? {
        for ext in line.extensions(&format!("{line_path}[{i}]"))? {
            let slot = if ext.is(ADXP_HOUSE_NUMBER) {
                &mut address.house_number
            } else if ext.is(ADXP_STREET_TYPE) {
                &mut address.street_type
            } else if ext.is(ADXP_STREET_NAME) {
                &mut address.street_name
            } else {
                continue;
            };
            if slot.is_none() {
                *slot = ext.string()?;
            }
        }
    }
    for ext in a.extensions(path)? {
        if ext.is(EXT_INSEE_CODE) {
            let code = match ext.obj.string("valueCode", &ext.value_path("valueCode"))? {
                Some(code) => Some(code),
                None => ext.coding()?.map(|c| c.code),
            };
            if let Some(code) = code {
                department_of_insee("", &code).map_err(|e| FieldError::new(ext.path.clone(), e.reason))?;
                address.insee_code = Some(code);
            }
        }
    }
    Ok(address)
}

fn read_addresses(r: Res) -> Result<Vec<FhirAddress>, FieldError> {
    r.objects("address", "address")?.into_iter().map(|(i, a)| read_address(a, &format!("address[{i}]"))).collect()
}

/// TRE_R200 channel → FHIR ContactPoint system (codes read in IG-NOS).
fn channel_system(channel: &Coding) -> Option<&'static str> {
    match channel.code.as_str() {
        "1" | "2" | "8" => Some("phone"),
        "3" | "9" => Some("email"),
        "4" => Some("url"),
        "6" => Some("fax"),
        _ => None,
    }
}

/// ROR channel, usage and confidentiality extensions of a telecom.
struct TelecomExtensions {
    channel: Option<Coding>,
    usage: Option<Coding>,
    confidentiality: Option<Coding>,
}

fn telecom_extensions(exts: &[Ext]) -> Result<TelecomExtensions, FieldError> {
    let coding = |ids: &[&str]| find(exts, ids).map(Ext::coding).transpose().map(Option::flatten);
    Ok(TelecomExtensions {
        channel: coding(EXT_TELECOM_CHANNEL)?,
        usage: coding(EXT_TELECOM_USAGE)?,
        confidentiality: coding(EXT_TELECOM_CONFIDENTIALITY)?,
    })
}

/// The `telecom` ContactPoints of `r` (at `base`); those without a value (nulls of the v1
/// samples) are dropped.
fn read_telecoms(r: Res, base: &str) -> Result<Vec<Telecom>, FieldError> {
    let mut out = Vec::new();
    let key_path = child(base, "telecom");
    for (i, t) in r.objects("telecom", &key_path)? {
        let path = format!("{key_path}[{i}]");
        let Some(value) = t.string("value", &child(&path, "value"))? else {
            continue;
        };
        let ext = telecom_extensions(&t.extensions(&path)?)?;
        out.push(Telecom {
            system: t.string("system", &child(&path, "system"))?,
            value,
            usage: t.string("use", &child(&path, "use"))?,
            channel: ext.channel,
            ror_usage: ext.usage,
            confidentiality: ext.confidentiality,
        });
    }
    Ok(out)
}

/// `meta.lastUpdated`.
fn last_updated(r: Res) -> Result<Option<DateTime<Utc>>, FieldError> {
    match r.object("meta", "meta")? {
        Some(meta) => meta.instant("lastUpdated", "meta.lastUpdated"),
        None => Ok(None),
    }
}

/// Parses a FHIR `instant`, `dateTime` or `date`. A partial date (`2024`, `2024-07`, `2024-07-08`)
/// is its first instant in UTC; a date-time without offset (not valid FHIR, seen in feeds) is
/// read as UTC.
fn parse_instant(field: &str, text: &str) -> Result<DateTime<Utc>, FieldError> {
    let bad = || FieldError::new(field.to_owned(), format!("not a FHIR date-time {}", quoted(text)));
    if let Ok(d) = DateTime::parse_from_rfc3339(text) {
        return Ok(d.with_timezone(&Utc));
    }
    if let Ok(d) = NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f") {
        return Ok(d.and_utc());
    }
    let day = match text.len() {
        4 => format!("{text}-01-01"),
        7 => format!("{text}-01"),
        10 => text.to_owned(),
        _ => return Err(bad()),
    };
    let date = NaiveDate::parse_from_str(&day, "%Y-%m-%d").map_err(|_| bad())?;
    Ok(date.and_time(NaiveTime::MIN).and_utc())
}

/// The calendar day of a FHIR `date` or `dateTime` as written (no time-zone shift); a partial date
/// is its first day.
fn parse_date(field: &str, text: &str) -> Result<NaiveDate, FieldError> {
    match text.get(..10) {
        Some(day) if text.len() == 10 || text[10..].starts_with('T') => NaiveDate::parse_from_str(day, "%Y-%m-%d")
            .map_err(|_| FieldError::new(field.to_owned(), format!("not a FHIR date {}", quoted(text)))),
        _ => parse_instant(field, text).map(|d| d.date_naive()),
    }
}

fn parse_time(field: &str, text: &str) -> Result<NaiveTime, FieldError> {
    NaiveTime::parse_from_str(text, "%H:%M:%S%.f")
        .or_else(|_| NaiveTime::parse_from_str(text, "%H:%M"))
        .map_err(|_| FieldError::new(field.to_owned(), format!("not a time {}", quoted(text))))
}

/// Identifiers of a structure, classified (DOMAIN.md §2.2, §7.1).
struct StructureIds {
    finess: Option<String>,
    siret: Option<String>,
    siren: Option<String>,
}

/// Kinds of structure identifier the directory keeps.
#[derive(Clone, Copy, PartialEq, Eq)]
enum StructureIdKind {
    Finess,
    Idnst,
    Siret,
    Siren,
}

/// Classifies an identifier by its type (FR Core `fr-core-cs-v2-0203` text codes, or the
/// TRE_G07 numeric codes of the ROR examples: 1 FINESS, 2 SIREN, 3 SIRET, 40 IDNST), else by
/// its system; a SIRENE-system value is a SIRET with 14 digits and a SIREN with 9.
fn structure_id_kind(id: &Identifier) -> Option<StructureIdKind> {
    use StructureIdKind::{Finess, Idnst, Siren, Siret};
    let id_type = id.id_type.as_ref();
    let g07 = id_type.filter(|t| t.system.contains("TRE_G07") || t.system.contains("TRE-G07")).map(|t| t.code.as_str());
    let by_type = match (g07, id_type.map(|t| t.code.as_str())) {
        (Some("1" | "5" | "6"), _) | (None, Some("FINEG" | "FINEJ" | "FINESS")) => Some(Finess),
        (Some("2"), _) | (None, Some("SIREN")) => Some(Siren),
        (Some("3"), _) | (None, Some("SIRET")) => Some(Siret),
        (Some("40"), _) | (None, Some("IDNST")) => Some(Idnst),
        _ => None,
    };
    let digits = id.value.bytes().all(|b| b.is_ascii_digit());
    by_type.or(if system_in(id, &FINESS_SYSTEMS) {
        Some(Finess)
    } else if system_in(id, &[IDNST_SYSTEM]) {
        Some(Idnst)
    } else if system_in(id, &SIRENE_SYSTEMS) && digits && id.value.len() == 14 {
        Some(Siret)
    } else if system_in(id, &SIRENE_SYSTEMS) && digits && id.value.len() == 9 {
        Some(Siren)
    } else {
        None
    })
}

fn type_code(id: &Identifier) -> &str {
    id.id_type.as_ref().map_or("", |t| t.code.as_str())
}

fn system_in(id: &Identifier, systems: &[&str]) -> bool {
    id.system.as_deref().is_some_and(|s| systems.iter().any(|known| s.trim_end_matches('/') == *known))
}

fn is_digits(value: &str, len: usize) -> bool {
    value.len() == len && value.bytes().all(|b| b.is_ascii_digit())
}

fn structure_ids(ids: &[Identifier]) -> Result<StructureIds, FieldError> {
    let mut out = StructureIds { finess: None, siret: None, siren: None };
    let (mut finess_from_idnst, mut siret_from_idnst) = (None, None);
    for (i, id) in ids.iter().enumerate() {
        let field = || format!("identifier[{i}].value");
        match structure_id_kind(id) {
            Some(StructureIdKind::Finess) => {
                check_finess("", &id.value).map_err(|e| FieldError::new(field(), e.reason))?;
                out.finess.get_or_insert_with(|| id.value.clone());
            }
            Some(StructureIdKind::Siret) => {
                if !is_digits(&id.value, 14) {
                    let reason = format!("SIRET must be 14 digits, found {}", quoted(&id.value));
                    return Err(FieldError::new(field(), reason));
                }
                out.siret.get_or_insert_with(|| id.value.clone());
            }
            // A 14-digit value typed SIREN (seen in an ANS example) is not guessed at.
            Some(StructureIdKind::Siren) if is_digits(&id.value, 9) => {
                out.siren.get_or_insert_with(|| id.value.clone());
            }
            // "1" + FINESS, "3" + SIRET (inferred prefix rule, DOMAIN.md §2.2; the ROR EG example
            // has IDNST 392131725800020 beside SIRET 92131725800020).
            Some(StructureIdKind::Idnst) => match id.value.split_at_checked(1) {
                Some(("1", finess)) if check_finess("", finess).is_ok() => {
                    finess_from_idnst.get_or_insert_with(|| finess.to_owned());
                }
                Some(("3", siret)) if is_digits(siret, 14) => {
                    siret_from_idnst.get_or_insert_with(|| siret.to_owned());
                }
                _ => {}
            },
            Some(StructureIdKind::Siren) | None => {}
        }
    }
    out.finess = out.finess.or(finess_from_idnst);
    out.siret = out.siret.or(siret_from_idnst);
    Ok(out)
}

fn read_organization(r: Res) -> Result<FhirOrganization, FieldError> {
    let identifiers = read_identifiers(r, "identifier")?;
    let ids = structure_ids(&identifiers)?;
    Ok(FhirOrganization {
        id: r.id()?,
        finess: ids.finess,
        siret: ids.siret,
        siren: ids.siren,
        identifiers,
        active: r.boolean("active", "active")?,
        name: r.string("name", "name")?,
        aliases: r.strings("alias", "alias")?,
        types: r.codings("type", "")?,
        part_of: reference_at(r, "partOf")?,
        addresses: read_addresses(r)?,
        telecoms: read_telecoms(r, "")?,
        contacts: read_organization_contacts(r)?,
        last_updated: last_updated(r)?,
    })
}

/// `Organization.contact`, read into the shape of an offer's contact.
fn read_organization_contacts(r: Res) -> Result<Vec<ServiceContact>, FieldError> {
    let mut out = Vec::new();
    for (i, c) in r.objects("contact", "contact")? {
        let path = format!("contact[{i}]");
        let name = match c.object("name", &child(&path, "name"))? {
            Some(n) => Some(read_human_name(n, &child(&path, "name"))?),
            None => None,
        };
        let purpose = match c.object("purpose", &child(&path, "purpose"))? {
            Some(p) => concept_codings(p, &child(&path, "purpose"))?.into_iter().next(),
            None => None,
        };
        let exts = c.extensions(&path)?;
        let confidentiality = find(&exts, EXT_CONFIDENTIALITY).map(Ext::coding).transpose()?.flatten();
        let telecoms = read_telecoms(c, &path)?;
        out.push(ServiceContact { name, purpose, confidentiality, telecoms, ..ServiceContact::default() });
    }
    Ok(out)
}

fn read_healthcare_service(r: Res) -> Result<FhirHealthcareService, FieldError> {
    let exts = r.extensions("")?;
    let (operational_activities, other_specialties) =
        r.codings("specialty", "")?.into_iter().partition(|c| in_table(&c.system, R211_ACTIVITE));
    let (care_modes, other_characteristics) =
        r.codings("characteristic", "")?.into_iter().partition(|c| in_table(&c.system, R213_MODE));
    let patient = find(&exts, EXT_PATIENT_TYPE).map(read_patient_type).transpose()?.unwrap_or_default();
    let sensitive_unit = find(&exts, EXT_SENSITIVE_UNIT).map(Ext::boolean).transpose()?.flatten().unwrap_or(false);
    let (closed_from, reopening_on) = read_closure(r)?;
    let mut intervention_zones = Vec::new();
    let mut psychiatric_sectors = Vec::new();
    let mut contacts = Vec::new();
    for ext in &exts {
        if ext.is(EXT_TERRITORIAL_DIVISION) {
            intervention_zones.push(read_territorial_division(ext)?);
        } else if ext.is(EXT_PSYCHIATRIC_SECTOR) {
            psychiatric_sectors.extend(ext.string()?);
        } else if ext.is(EXT_CONTACT) {
            contacts.push(read_service_contact(ext)?);
        }
    }
    Ok(FhirHealthcareService {
        id: r.id()?,
        identifiers: read_identifiers(r, "identifier")?,
        active: r.boolean("active", "active")?,
        name: r.string("name", "name")?,
        provided_by: reference_at(r, "providedBy")?,
        locations: references_at(r, "location")?,
        categories: r.codings("category", "")?,
        activity_fields: r.codings("type", "")?,
        operational_activities,
        other_specialties,
        care_modes,
        other_characteristics,
        publics: patient.publics,
        age_min: patient.age_min,
        age_max: patient.age_max,
        intervention_zones,
        psychiatric_sectors,
        available_times: read_available_times(r)?,
        telecoms: read_telecoms(r, "")?,
        contacts,
        sensitive_unit,
        closed_from,
        reopening_on,
        created_at: find(&exts, EXT_CREATION_DATE).map(Ext::instant).transpose()?.flatten(),
        last_updated: last_updated(r)?,
    })
}

/// Publics and age range of `ror-healthcareservice-patient-type`.
#[derive(Default)]
struct PatientType {
    publics: Vec<Coding>,
    age_min: Option<u16>,
    age_max: Option<u16>,
}

fn read_patient_type(ext: &Ext) -> Result<PatientType, FieldError> {
    let mut out = PatientType::default();
    for sub in ext.subs()? {
        if sub.is(&["supportedPatientInfo"]) {
            out.publics.extend(sub.codings()?);
        } else if sub.is(&["ageRange"]) && out.age_min.is_none() && out.age_max.is_none() {
            let path = sub.value_path("valueRange");
            let Some(range) = sub.obj.object("valueRange", &path)? else {
                continue;
            };
            let low = range.object("low", &child(&path, "low"))?;
            let high = range.object("high", &child(&path, "high"))?;
            out.age_min = low.map(|q| read_age(q, &child(&path, "low"), false)).transpose()?.flatten();
            out.age_max = high.map(|q| read_age(q, &child(&path, "high"), true)).transpose()?.flatten();
            if let (Some(min), Some(max)) = (out.age_min, out.age_max) {
                if min > max {
                    return Err(FieldError::new(path, format!("age range {min}-{max}: minimum above maximum")));
                }
            }
        }
    }
    Ok(out)
}

/// Largest age accepted, in years (the ROR writes 120 or 150 for "no upper limit").
const MAX_AGE_YEARS: f64 = 999.0;

/// An age `Quantity` in whole years (UCUM `a`, the default); months (`mo`) are converted,
/// rounding down a minimum and up a maximum.
fn read_age(q: Res, path: &str, upper: bool) -> Result<Option<u16>, FieldError> {
    let value_path = child(path, "value");
    let value = match q.get("value") {
        None => return Ok(None),
        Some(Value::Number(n)) => n.as_f64(),
        Some(other) => return Err(FieldError::new(value_path, format!("expected a number, found {}", kind(other)))),
    };
    let unit = match q.string("code", &child(path, "code"))? {
        Some(code) => Some(code),
        None => q.string("unit", &child(path, "unit"))?,
    };
    let years = match (value, unit.as_deref()) {
        (Some(v), None | Some("a" | "ans" | "an" | "year" | "years")) if v.fract() == 0.0 => v,
        (Some(v), Some("mo")) => {
            let y = v / 12.0;
            if upper { y.ceil() } else { y.floor() }
        }
        (Some(v), None | Some("a" | "ans" | "an" | "year" | "years")) => {
            return Err(FieldError::new(value_path, format!("age {v} is not a whole number of years")));
        }
        (Some(_), Some(other)) => {
            return Err(FieldError::new(child(path, "code"), format!("unsupported age unit {}", quoted(other))));
        }
        (None, _) => return Err(FieldError::new(value_path, "not a number")),
    };
    if !(0.0..=MAX_AGE_YEARS).contains(&years) {
        return Err(FieldError::new(value_path, format!("age {years} is outside 0-{MAX_AGE_YEARS}")));
    }
    Ok(Some(years as u16))
}

fn read_territorial_division(ext: &Ext) -> Result<TerritorialDivision, FieldError> {
    let subs = ext.subs()?;
    let kind = find(&subs, &["typeTerritorialDivision"]).map(Ext::coding).transpose()?.flatten();
    let code = match find(&subs, &["codeTerritorialDivision"]) {
        Some(sub) => sub.required_coding()?,
        None => {
            return Err(FieldError::new(child(&ext.path, "codeTerritorialDivision"), "required sub-extension missing"));
        }
    };
    let division = TerritorialDivision { kind, code };
    if division.is_commune() {
        department_of_insee("", &division.code.code)
            .map_err(|e| FieldError::new(child(&ext.path, "codeTerritorialDivision"), e.reason))?;
    }
    Ok(division)
}

fn read_service_contact(ext: &Ext) -> Result<ServiceContact, FieldError> {
    let mut contact = ServiceContact::default();
    for sub in ext.subs()? {
        if sub.is(&["name"]) {
            let path = sub.value_path("valueHumanName");
            if let Some(name) = sub.obj.object("valueHumanName", &path)? {
                contact.name = Some(read_human_name(name, &path)?);
            }
        } else if sub.is(EXT_FUNCTION_CONTACT) {
            contact.function = sub.coding()?;
        } else if sub.is(&["purposeContact"]) {
            contact.purpose = sub.coding()?;
        } else if sub.is(&["description"]) {
            contact.description = sub.string()?;
        } else if sub.is(EXT_CONFIDENTIALITY) {
            contact.confidentiality = sub.coding()?;
        } else if sub.is(EXT_CONTACT_TELECOM) {
            let parts = sub.subs()?;
            let ext = telecom_extensions(&parts)?;
            let value = find(&parts, &["telecomAddress"]).map(Ext::string).transpose()?.flatten();
            if let Some(value) = value {
                contact.telecoms.push(Telecom {
                    system: ext.channel.as_ref().and_then(channel_system).map(str::to_owned),
                    value,
                    usage: None,
                    channel: ext.channel,
                    ror_usage: ext.usage,
                    confidentiality: ext.confidentiality,
                });
            }
        }
    }
    Ok(contact)
}

fn read_available_times(r: Res) -> Result<Vec<AvailableTime>, FieldError> {
    let mut out = Vec::new();
    for (i, t) in r.objects("availableTime", "availableTime")? {
        let path = format!("availableTime[{i}]");
        let time = |key: &str| -> Result<Option<NaiveTime>, FieldError> {
            let field = child(&path, key);
            t.string(key, &field)?.map(|s| parse_time(&field, &s)).transpose()
        };
        let mut slot = AvailableTime {
            days_of_week: t.strings("daysOfWeek", &child(&path, "daysOfWeek"))?,
            all_day: t.boolean("allDay", &child(&path, "allDay"))?,
            start: time("availableStartTime")?,
            end: time("availableEndTime")?,
            ..AvailableTime::default()
        };
        for ext in t.extensions(&path)? {
            if ext.is(EXT_TIME_TYPE) {
                slot.time_type = ext.coding()?;
            } else if ext.is(EXT_TIME_DAY_NUMBER) {
                slot.day_number = match ext.count()? {
                    Some(n @ 1..=7) => Some(n as u8),
                    Some(n) => return Err(FieldError::new(ext.path.clone(), format!("day number {n} is not 1-7"))),
                    None => None,
                };
            } else if ext.is(EXT_TIME_EFFECTIVE) {
                let period_path = ext.value_path("valuePeriod");
                if let Some(period) = ext.obj.object("valuePeriod", &period_path)? {
                    slot.effective_from = period.date("start", &child(&period_path, "start"))?;
                    slot.effective_until = period.date("end", &child(&period_path, "end"))?;
                }
            }
        }
        out.push(slot);
    }
    Ok(out)
}

/// First `notAvailable` with a `during` period (the `closingReopeningDate` slice).
fn read_closure(r: Res) -> Result<(Option<NaiveDate>, Option<NaiveDate>), FieldError> {
    for (i, na) in r.objects("notAvailable", "notAvailable")? {
        let path = format!("notAvailable[{i}].during");
        if let Some(during) = na.object("during", &path)? {
            return Ok((during.date("start", &child(&path, "start"))?, during.date("end", &child(&path, "end"))?));
        }
    }
    Ok((None, None))
}

fn read_location(r: Res) -> Result<FhirLocation, FieldError> {
    let exts = r.extensions("")?;
    let commune_cog = match find(&exts, EXT_COMMUNE_COG) {
        Some(ext) => {
            let coding = ext.required_coding()?;
            department_of_insee("", &coding.code).map_err(|e| FieldError::new(ext.path.clone(), e.reason))?;
            Some(coding)
        }
        None => None,
    };
    let mut address = r.object("address", "address")?.map(|a| read_address(a, "address")).transpose()?;
    if let Some(cog) = &commune_cog {
        address.get_or_insert_with(FhirAddress::default).insee_code = Some(cog.code.clone());
    }
    let mut capacities = Vec::new();
    let mut equipment = Vec::new();
    for ext in &exts {
        if ext.is(EXT_SUPPORTED_CAPACITY) {
            capacities.push(read_capacity(ext)?);
        } else if ext.is(EXT_EQUIPMENT) {
            equipment.push(read_equipment(ext)?);
        }
    }
    Ok(FhirLocation {
        id: r.id()?,
        identifiers: read_identifiers(r, "identifier")?,
        status: r.string("status", "status")?,
        name: r.string("name", "name")?,
        description: r.string("description", "description")?,
        functions: r.codings("type", "")?,
        address,
        commune_cog,
        position: read_position(r)?,
        telecoms: read_telecoms(r, "")?,
        managing_organization: reference_at(r, "managingOrganization")?,
        capacities,
        equipment,
        created_at: find(&exts, EXT_CREATION_DATE).map(Ext::instant).transpose()?.flatten(),
        last_updated: last_updated(r)?,
    })
}

/// `position.latitude/longitude` in WGS84; a number, or a string holding one.
fn read_position(r: Res) -> Result<Option<Position>, FieldError> {
    let Some(p) = r.object("position", "position")? else {
        return Ok(None);
    };
    let coordinate = |key: &str| -> Result<Option<f64>, FieldError> {
        let field = child("position", key);
        let n = match p.get(key) {
            None => return Ok(None),
            Some(Value::Number(n)) => n.as_f64(),
            Some(Value::String(s)) => s.trim().parse::<f64>().ok(),
            Some(other) => return Err(FieldError::new(field, format!("expected a number, found {}", kind(other)))),
        };
        match n.filter(|v| v.is_finite()) {
            Some(v) => Ok(Some(v)),
            None => Err(FieldError::new(
                field,
                format!("not a number {}", p.get(key).map(Value::to_string).unwrap_or_default()),
            )),
        }
    };
    match (coordinate("latitude")?, coordinate("longitude")?) {
        (None, None) => Ok(None),
        (Some(lat), Some(lon)) if lat.abs() <= 90.0 && lon.abs() <= 180.0 => Ok(Some(Position { lat, lon })),
        (Some(lat), Some(lon)) => {
            Err(FieldError::new("position", format!("({lat}, {lon}) is not a latitude/longitude pair")))
        }
        (None, Some(_)) => Err(FieldError::new("position.latitude", "missing while longitude is given")),
        (Some(_), None) => Err(FieldError::new("position.longitude", "missing while latitude is given")),
    }
}

fn read_capacity(ext: &Ext) -> Result<Capacity, FieldError> {
    let subs = ext.subs()?;
    let required = |name: &str| -> Result<&Ext, FieldError> {
        find(&subs, &[name]).ok_or_else(|| FieldError::new(child(&ext.path, name), "required sub-extension missing"))
    };
    let optional = |name: &str| find(&subs, &[name]).map(Ext::coding).transpose().map(Option::flatten);
    let count_ext = required("nbCapacity")?;
    let count = count_ext.count()?.ok_or_else(|| FieldError::new(count_ext.path.clone(), "no integer value"))?;
    let mut other = Vec::new();
    for name in ["capacityClosingType", "additionalBedType", "crisisType"] {
        other.extend(optional(name)?);
    }
    Ok(Capacity {
        nature: required("capacityType")?.required_coding()?,
        status: required("capacityStatus")?.required_coding()?,
        temporality: optional("temporalityCapacity")?,
        count,
        updated_at: find(&subs, &["capacityUpdateDate"]).map(Ext::instant).transpose()?.flatten(),
        gender: optional("genderCapacityAvailable")?,
        source: optional("capacitySourceType")?,
        temporary_assignment: optional("temporaryAssignement")?,
        other,
    })
}

fn read_equipment(ext: &Ext) -> Result<Equipment, FieldError> {
    let subs = ext.subs()?;
    // `equipmentType` in the current IG, `equipementType` in the French-spelled version.
    let kind = match find(&subs, &["equipmentType", "equipementType"]) {
        Some(sub) => sub.required_coding()?,
        None => return Err(FieldError::new(child(&ext.path, "equipmentType"), "required sub-extension missing")),
    };
    let in_service = find(&subs, &["nbInService"]).map(Ext::count).transpose()?.flatten();
    Ok(Equipment { kind, in_service })
}

fn read_practitioner(r: Res) -> Result<FhirPractitioner, FieldError> {
    let identifiers = read_identifiers(r, "identifier")?;
    let mut rpps = None;
    let mut idnps = None;
    for (i, id) in identifiers.iter().enumerate() {
        if system_in(id, &[RPPS_SYSTEM]) || type_code(id) == "RPPS" {
            if !is_digits(&id.value, 11) {
                let reason = format!("RPPS must be 11 digits, found {}", quoted(&id.value));
                return Err(FieldError::new(format!("identifier[{i}].value"), reason));
            }
            rpps.get_or_insert_with(|| id.value.clone());
        } else if system_in(id, &[IDNPS_SYSTEM]) || type_code(id) == "IDNPS" {
            idnps.get_or_insert_with(|| id.value.clone());
        }
    }
    // "8" + RPPS (inferred prefix rule, DOMAIN.md §2.2).
    let from_idnps = idnps.as_deref().and_then(|v| v.strip_prefix('8')).filter(|v| is_digits(v, 11));
    let rpps = rpps.or_else(|| from_idnps.map(str::to_owned));
    let mut qualifications = Vec::new();
    for (i, q) in r.objects("qualification", "qualification")? {
        qualifications.extend(q.codings("code", &format!("qualification[{i}]"))?);
    }
    let mut names = Vec::new();
    for (i, n) in r.objects("name", "name")? {
        names.push(read_human_name(n, &format!("name[{i}]"))?);
    }
    Ok(FhirPractitioner {
        id: r.id()?,
        identifiers,
        rpps,
        idnps,
        active: r.boolean("active", "active")?,
        names,
        qualifications,
        last_updated: last_updated(r)?,
    })
}

fn read_practitioner_role(r: Res) -> Result<FhirPractitionerRole, FieldError> {
    let mut name = None;
    for ext in r.extensions("")? {
        if ext.is(EXT_ROLE_NAME) && name.is_none() {
            let path = ext.value_path("valueHumanName");
            if let Some(n) = ext.obj.object("valueHumanName", &path)? {
                name = Some(read_human_name(n, &path)?);
            }
        }
    }
    let (period_start, period_end) = match r.object("period", "period")? {
        Some(p) => (p.date("start", "period.start")?, p.date("end", "period.end")?),
        None => (None, None),
    };
    Ok(FhirPractitionerRole {
        id: r.id()?,
        identifiers: read_identifiers(r, "identifier")?,
        active: r.boolean("active", "active")?,
        practitioner: reference_at(r, "practitioner")?,
        organization: reference_at(r, "organization")?,
        healthcare_services: references_at(r, "healthcareService")?,
        locations: references_at(r, "location")?,
        codes: r.codings("code", "")?,
        specialties: r.codings("specialty", "")?,
        name,
        telecoms: read_telecoms(r, "")?,
        period_start,
        period_end,
        last_updated: last_updated(r)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    macro_rules! fixture {
        ($name:literal) => {
            include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/fhir/", $name)).as_slice()
        };
    }

    const BUNDLE: &[u8] = fixture!("ror-searchset-bundle.json");
    const DEMO: &[u8] = include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/data/demo/ror-92nord.ndjson"));

    fn utc(text: &str) -> Option<DateTime<Utc>> {
        Some(DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc))
    }

    fn date(y: i32, m: u32, d: u32) -> Option<NaiveDate> {
        NaiveDate::from_ymd_opt(y, m, d)
    }

    fn codes(codings: &[Coding]) -> Vec<&str> {
        codings.iter().map(|c| c.code.as_str()).collect()
    }

    fn service<'a>(import: &'a FhirImport, id: &str) -> &'a FhirHealthcareService {
        import.healthcare_services.iter().find(|s| s.id == id).expect(id)
    }

    fn location<'a>(import: &'a FhirImport, id: &str) -> &'a FhirLocation {
        import.locations.iter().find(|l| l.id == id).expect(id)
    }

    fn organization<'a>(import: &'a FhirImport, id: &str) -> &'a FhirOrganization {
        import.organizations.iter().find(|o| o.id == id).expect(id)
    }

    #[test]
    fn annuaire_sante_situation_of_practice() {
        let import = parse(fixture!("PP16-organizationalRole_SituExe.json")).unwrap();
        assert_eq!((import.format, import.resource_count(), import.rejected.len()), (SourceFormat::Entry, 1, 0));
        let role = &import.practitioner_roles[0];
        assert_eq!((role.id.as_str(), role.active), ("5015602", Some(true)));
        assert_eq!(role.identifiers[0].system.as_deref(), Some("https://annuaire.sante.fr"));
        assert_eq!(role.identifiers[0].value, "F58000880311022013");
        assert_eq!(codes(&role.codes), ["FON-AU", "GENR01", "L"]);
        assert_eq!(role.codes[0].system, "urn:oid:1.2.250.1.213.1.6.1.17");
        // The structure is referenced by its IDNST, "1" + FINESS.
        let org = role.organization.as_ref().unwrap();
        assert_eq!(org.reference, None);
        let idnst = org.identifier.as_ref().unwrap();
        assert_eq!((idnst.system.as_deref(), idnst.value.as_str()), (Some(IDNST_SYSTEM), "1580008803"));
        assert_eq!(idnst.id_type.as_ref().map(|t| t.code.as_str()), Some("IDNST"));
        assert_eq!(org.finess(), Some("580008803"));
        assert_eq!(role.locations[0].reference.as_deref(), Some("-2"));
        // Four telecoms, all with a null value: none kept.
        assert!(role.telecoms.is_empty());
        assert_eq!((role.period_start, role.period_end), (date(2019, 1, 31), None));
        assert_eq!(role.last_updated, utc("2019-08-31T00:00:00Z"));
        assert_eq!((role.practitioner.as_ref(), role.name.as_ref()), (None, None));
    }

    #[test]
    fn annuaire_sante_professional_roles() {
        let import = parse(fixture!("PP19-professionalRole_ExePro.json")).unwrap();
        assert_eq!((import.format, import.rejected.len()), (SourceFormat::Entry, 0));
        let role = &import.practitioner_roles[0];
        assert_eq!(role.id, "414150");
        let name = role.name.as_ref().unwrap();
        assert_eq!((name.family.as_deref(), name.given.as_slice()), (Some("BONNET"), ["Jerome".to_owned()].as_slice()));
        assert_eq!(codes(&role.codes), ["10", "C"]);
        assert_eq!(role.codes[0].system, "urn:oid:1.2.250.1.71.1.2.7");
        assert!(role.specialties.is_empty()); // "specialty": null
        assert_eq!((role.period_start, role.period_end), (date(2019, 3, 10), None));
        assert_eq!(role.last_updated, utc("2019-09-05T00:00:00Z"));

        let import = parse(fixture!("PP16-professionalRole_ExePro.json")).unwrap();
        let role = &import.practitioner_roles[0];
        assert_eq!((role.id.as_str(), codes(&role.codes)), ("3775792", vec!["21", "C"]));
        assert_eq!(role.name.as_ref().and_then(|n| n.family.as_deref()), Some("CHATELIER"));
        assert_eq!((role.period_start, role.last_updated), (date(2019, 1, 15), utc("2019-08-31T00:00:00Z")));
    }

    #[test]
    fn ror_bundle_reads_offers_with_their_codings() {
        let import = parse(BUNDLE).unwrap();
        assert_eq!(import.rejected, vec![]);
        assert_eq!(
            (import.format, import.bundle_type.as_deref(), import.bundle_total),
            (SourceFormat::Bundle, Some("searchset"), Some(2))
        );
        assert_eq!(import.other_resources, BTreeMap::from([("OperationOutcome".to_owned(), 1)]));

        let saad = service(&import, "964");
        assert_eq!(saad.name.as_deref(), Some("Services à domicile quiétude Bois Colombes"));
        // `identifier`, `category` and `type` are objects in the ANS example, not arrays.
        assert_eq!((saad.identifiers[0].value.as_str(), codes(&saad.categories)), ("ZZZ", vec!["30"]));
        assert_eq!(saad.activity_fields, [Coding::new(SYSTEM_CHAMP_ACTIVITE, "04", Some("Médico-social (MS)"))]);
        assert_eq!(codes(&saad.operational_activities), ["298", "299", "302"]);
        assert_eq!(codes(&saad.other_specialties), ["019", "020", "023"]);
        assert_eq!(codes(&saad.care_modes), ["59"]);
        assert_eq!(saad.care_modes[0].system, SYSTEM_MODE_PRISE_EN_CHARGE);
        assert_eq!(codes(&saad.other_characteristics), ["02", "0784", "0785"]);
        assert_eq!((codes(&saad.publics), saad.age_min, saad.age_max), (vec!["01"], Some(60), Some(120)));
        // The example codes commune 92036 and displays it "Bois-Colombes (92009)": kept as given.
        assert_eq!(saad.intervention_communes().collect::<Vec<_>>(), ["92036"]);
        assert_eq!(saad.intervention_zones[0].code.display.as_deref(), Some("Bois-Colombes (92009)"));
        assert_eq!(saad.provided_by.as_ref().and_then(|r| r.target_id("Organization")), Some("2424"));
        assert_eq!(saad.locations[0].target_id("Location"), Some("654"));
        assert_eq!(saad.contacts.len(), 2);
        let standard = &saad.contacts[0];
        assert_eq!(standard.purpose.as_ref().map(|p| p.code.as_str()), Some("06"));
        assert_eq!(standard.confidentiality_level(), Some(ConfidentialityLevel::Free));
        let phone = &standard.telecoms[0];
        assert_eq!((phone.system.as_deref(), phone.value.as_str()), (Some("phone"), "01.01.01.01.01"));
        assert_eq!(phone.confidentiality_level(), Some(ConfidentialityLevel::Free));
        assert_eq!(saad.contacts[1].telecoms[0].value, "01.01.01.01.03");
        // Day numbers written as strings ("1"); four weekday slots.
        let days: Vec<_> = saad.available_times.iter().map(|t| t.day_number).collect();
        assert_eq!(days, [Some(1), Some(2), Some(4), Some(5)]);
        let slot = &saad.available_times[0];
        assert_eq!((slot.start, slot.end), (NaiveTime::from_hms_opt(9, 0, 0), NaiveTime::from_hms_opt(18, 0, 0)));
        assert_eq!(slot.time_type.as_ref().map(|t| t.code.as_str()), Some("02"));
        assert!(!saad.sensitive_unit);
        assert_eq!((saad.created_at, saad.last_updated), (utc("2023-12-09T13:30:00Z"), utc("2023-12-20T09:00:00Z")));

        let neuro = service(&import, "ror-healthcareservice-exemple");
        assert_eq!((codes(&neuro.operational_activities), codes(&neuro.care_modes)), (vec!["183"], vec!["28"]));
        assert_eq!(codes(&neuro.other_characteristics), ["0320"]);
        assert_eq!((neuro.age_min, neuro.age_max, neuro.publics.len()), (Some(18), Some(90), 0));
        assert_eq!(neuro.contacts[0].telecoms, vec![]);
    }

    #[test]
    fn ror_bundle_reads_organizations_locations_and_people() {
        let import = parse(BUNDLE).unwrap();
        let eg = organization(&import, "2424");
        assert_eq!(eg.name.as_deref(), Some("Quiétude BOIS COLOMBES"));
        assert_eq!(
            (eg.finess.as_deref(), eg.siret.as_deref(), eg.siren.as_deref()),
            (Some("458174839"), Some("92131725800020"), None)
        );
        assert_eq!(eg.identifiers.len(), 3);
        // The label of the example ("Service autonomie aide (SAA)") is kept, not the NOS one.
        assert_eq!(eg.types[0].display.as_deref(), Some("Service autonomie aide (SAA)"));
        assert_eq!(eg.part_of.as_ref().and_then(|p| p.target_id("Organization")), Some("1111"));
        let address = &eg.addresses[0];
        assert_eq!((address.house_number.as_deref(), address.street_type.as_deref()), (Some("45"), Some("RUE")));
        assert_eq!(
            (address.street_name.as_deref(), address.postal_code.as_deref()),
            (Some("du général Leclerc"), Some("92270"))
        );
        let contact = &eg.contacts[0];
        assert_eq!(
            (contact.purpose.as_ref().map(|p| p.code.as_str()), contact.confidentiality_level()),
            (Some("06"), Some(ConfidentialityLevel::Free))
        );
        assert_eq!(contact.telecoms[0].channel.as_ref().map(|c| c.code.as_str()), Some("2"));
        assert_eq!(organization(&import, "1111").last_updated, utc("2023-06-30T00:00:00Z"));

        let versailles = location(&import, "5253");
        assert_eq!(
            versailles.commune_cog.as_ref().map(|c| (c.code.as_str(), c.display.as_deref())),
            Some(("78646", Some("Versailles")))
        );
        let address = versailles.address.as_ref().unwrap();
        assert_eq!((address.insee_code.as_deref(), address.city.as_deref()), (Some("78646"), Some("Versailles")));
        assert_eq!(address.street_name.as_deref(), Some("porte de Buc"));
        assert_eq!(versailles.position, Some(Position { lat: 48.8049, lon: 2.1204 }));
        assert_eq!(codes(&versailles.functions), ["001"]);
        let [installed, extra] = versailles.capacities.as_slice() else { panic!("{:?}", versailles.capacities) };
        assert_eq!((installed.nature.code.as_str(), installed.status.code.as_str(), installed.count), ("01", "01", 15));
        assert_eq!(installed.temporality.as_ref().map(|t| t.code.as_str()), Some("01"));
        assert_eq!(installed.updated_at, utc("2024-07-08T18:15:39Z"));
        assert_eq!(
            (
                installed.source.as_ref().map(|s| s.code.as_str()),
                installed.temporary_assignment.as_ref().map(|s| s.code.as_str())
            ),
            (Some("01"), Some("01"))
        );
        assert_eq!((extra.status.code.as_str(), extra.count, codes(&extra.other)), ("06", 0, vec!["03", "02"]));
        assert_eq!(location(&import, "654").address.as_ref().and_then(|a| a.insee_code.as_deref()), Some("92009"));

        let person = &import.practitioners[0];
        assert_eq!((person.rpps.as_deref(), person.idnps.as_deref()), (Some("10003461033"), Some("810003461033")));
        assert_eq!(person.names[0].given, ["Claire", "Marie"]);
        assert_eq!(codes(&person.qualifications), ["DE", "DE05", "SM13"]);
        let role = &import.practitioner_roles[0];
        assert_eq!(role.practitioner.as_ref().and_then(|r| r.target_id("Practitioner")), Some("p-1"));
        assert_eq!(role.healthcare_services[0].target_id("HealthcareService"), Some("964"));
        assert_eq!(role.telecoms[0].system.as_deref(), Some("email"));
    }

    #[test]
    fn alternative_spellings_are_accepted() {
        let import = parse(fixture!("ror-variants.ndjson")).unwrap();
        assert_eq!(import.rejected, vec![]);
        assert_eq!((import.format, import.other_resources.get("Patient")), (SourceFormat::Ndjson, Some(&1)));
        let offer = service(&import, "variant-offer");
        assert!(offer.sensitive_unit); // `ror-sensitive-unit`
        assert_eq!((offer.age_min, offer.age_max), (Some(0), Some(3))); // 6 to 30 months
        // JDV_J17 / JDV_J19 systems count as activité opérationnelle / mode de prise en charge.
        assert_eq!((codes(&offer.operational_activities), codes(&offer.care_modes)), (vec!["227"], vec!["32"]));
        assert_eq!(codes(&offer.activity_fields), ["03"]); // `coding` as an object
        let contact = &offer.contacts[0];
        assert_eq!(contact.confidentiality_level(), Some(ConfidentialityLevel::HighlyRestricted));
        assert_eq!(contact.name.as_ref().and_then(|n| n.family.as_deref()), Some("GREDIN"));
        assert_eq!(contact.telecoms[0].system.as_deref(), Some("email")); // channel 3
        assert_eq!(offer.telecoms[0].confidentiality_level(), Some(ConfidentialityLevel::Restricted));
        assert_eq!((offer.closed_from, offer.reopening_on), (date(2026, 7, 1), date(2026, 9, 1)));
        assert_eq!(offer.psychiatric_sectors, ["92I03"]);
        let slot = &offer.available_times[0];
        assert_eq!(
            (slot.start, slot.effective_from, slot.effective_until),
            (NaiveTime::from_hms_opt(8, 30, 0), date(2025, 1, 6), date(2025, 12, 19))
        );
        assert_eq!(offer.last_updated, utc("2025-01-15T00:00:00Z"));

        let place = location(&import, "variant-location");
        assert_eq!(place.address.as_ref().and_then(|a| a.insee_code.as_deref()), Some("2A004"));
        assert_eq!(place.position, Some(Position { lat: 41.9192, lon: 8.7386 }));
        assert_eq!((codes(&[place.equipment[0].kind.clone()]), place.equipment[0].in_service), (vec!["012"], Some(2)));
        assert_eq!((place.capacities[0].count, place.capacities[0].temporality.as_ref()), (12, None));

        let org = organization(&import, "variant-organization");
        assert_eq!((org.finess.as_deref(), org.siren.as_deref()), (Some("2A0000123"), Some("263500076")));
        assert_eq!(org.aliases, ["Alias 1", "Alias 2"]);
        assert_eq!(organization(&import, "variant-idnst-only").finess.as_deref(), Some("754567860"));
        assert_eq!(import.practitioners[0].rpps.as_deref(), Some("10003461033"));
        let role = &import.practitioner_roles[0];
        assert_eq!(role.practitioner.as_ref().and_then(Reference::rpps), Some("10003461033"));
        assert_eq!(role.name.as_ref().and_then(|n| n.family.as_deref()), Some("DUPONT"));
        assert_eq!((role.period_start, role.period_end), (date(2020, 2, 1), date(2024, 1, 1)));
    }

    #[test]
    fn demo_directory_parses_without_rejections() {
        let import = parse(DEMO).unwrap();
        assert_eq!(import.rejected, vec![]);
        assert_eq!(import.format, SourceFormat::Ndjson);
        let counts = (
            import.organizations.len(),
            import.locations.len(),
            import.healthcare_services.len(),
            import.practitioners.len(),
            import.practitioner_roles.len(),
        );
        assert_eq!(counts, (179, 191, 262, 29, 29));
        assert!(import.other_resources.is_empty());
        let sites = import.organizations.iter().filter(|o| o.id.starts_with("demo-eg-")).count();
        assert_eq!(sites, 145);
        // Demo identifiers are never taken for FINESS numbers.
        assert!(import.organizations.iter().all(|o| o.finess.is_none()
            && (o.id.starts_with("demo-oi-") || o.identifiers[0].system.as_deref() == Some("urn:atomes:demo:finess"))));
        let ehpad = import.organizations.iter().filter(|o| o.types.iter().any(|t| t.code == "500")).count();
        assert_eq!(ehpad, 24);

        let communes = [
            "92004", "92009", "92024", "92025", "92036", "92078", "92035", "92026", "92044", "92050", "92051", "95018",
            "93070", "75117",
        ];
        let org_ids: std::collections::HashSet<_> = import.organizations.iter().map(|o| o.id.as_str()).collect();
        let location_ids: std::collections::HashSet<_> = import.locations.iter().map(|l| l.id.as_str()).collect();
        for l in &import.locations {
            let cog = l.address.as_ref().and_then(|a| a.insee_code.as_deref()).unwrap();
            assert!(communes.contains(&cog), "{cog}");
            let p = l.position.unwrap();
            assert!((48.80..49.0).contains(&p.lat) && (2.15..2.40).contains(&p.lon), "{p:?}");
            assert!(l.capacities.iter().all(|c| c.updated_at.is_some() && c.temporality.is_some()));
        }
        for s in &import.healthcare_services {
            assert_eq!((s.activity_fields.len(), s.care_modes.len()), (1, 1), "{}", s.id);
            assert!(!s.operational_activities.is_empty() && !s.publics.is_empty(), "{}", s.id);
            assert!(s.age_min.is_some() && s.age_max.is_some() && s.last_updated.is_some(), "{}", s.id);
            assert!(org_ids.contains(s.provided_by.as_ref().and_then(|r| r.target_id("Organization")).unwrap()));
            assert!(location_ids.contains(s.locations[0].target_id("Location").unwrap()));
            assert!(s.contacts.iter().all(|c| c.confidentiality_level().is_some()), "{}", s.id);
            assert!(s.intervention_communes().all(|c| communes.contains(&c)), "{}", s.id);
        }
        let sensitive: Vec<_> = import
            .healthcare_services
            .iter()
            .filter(|s| s.sensitive_unit)
            .map(|s| s.name.as_deref().unwrap())
            .collect();
        assert_eq!(
            sensitive,
            [
                "Unité médico-judiciaire",
                "Unité de soins intensifs psychiatriques",
                "Accueil et orientation des victimes de violences sexuelles"
            ]
        );
        let levels = import
            .healthcare_services
            .iter()
            .flat_map(|s| &s.contacts)
            .filter_map(ServiceContact::confidentiality_level);
        let restricted = levels.clone().filter(|l| *l == ConfidentialityLevel::Restricted).count();
        let highly = levels.filter(|l| *l == ConfidentialityLevel::HighlyRestricted).count();
        assert_eq!((restricted, highly), (22, 9));
        // SSIAD for people with disabilities: public 02, 18 to 59.
        let ssiad_ph = import
            .healthcare_services
            .iter()
            .find(|s| s.name.as_deref() == Some("Soins infirmiers à domicile - personnes handicapées"))
            .unwrap();
        assert_eq!((codes(&ssiad_ph.publics), ssiad_ph.age_min, ssiad_ph.age_max), (vec!["02"], Some(18), Some(59)));
        // Last updates spread over the 18 months before 2026-11-01.
        let updates = import.healthcare_services.iter().filter_map(|s| s.last_updated);
        assert!(
            updates.clone().min() > utc("2025-05-01T00:00:00Z") && updates.max() <= utc("2026-11-01T09:00:00+01:00")
        );
    }

    #[test]
    fn malformed_resources_are_rejected_with_their_line() {
        let import = parse(fixture!("malformed.ndjson")).unwrap();
        let got: Vec<String> = import.rejected.iter().map(ToString::to_string).collect();
        let age_range = "extension[0:ror-healthcareservice-patient-type].extension[0:ageRange].valueRange";
        let want = [
            "line 2, field id: HealthcareService: required field is missing or empty".to_owned(),
            "line 3: invalid JSON at column 44: EOF while parsing a value".to_owned(),
            format!("line 4, field {age_range}: HealthcareService/bad-age: age range 90-18: minimum above maximum"),
            "line 5, field position: Location/bad-latitude: (148.2, 2.25) is not a latitude/longitude pair".to_owned(),
            "line 6, field position.longitude: Location/half-position: missing while latitude is given".to_owned(),
            "line 7: expected a resource object, found an array".to_owned(),
            "line 8, field resourceType: missing".to_owned(),
            "line 9, field id: HealthcareService: not a FHIR id 'bad id!' (1-64 of A-Z a-z 0-9 - .)".to_owned(),
            "line 10, field id: duplicate Organization/ok-1, first seen at line 1".to_owned(),
            "line 11, field identifier[0].value: Organization/bad-finess: not a FINESS number '12345'".to_owned(),
            "line 12, field extension[0:ror-location-supported-capacity].nbCapacity: \
             Location/capacity-without-count: required sub-extension missing"
                .to_owned(),
            "line 13, field name: HealthcareService/numeric-name: expected a string, found a number".to_owned(),
            "line 14, field meta.lastUpdated: HealthcareService/bad-date: not a FHIR date-time 'hier'".to_owned(),
            "line 16, field identifier[0].value: Practitioner/bad-rpps: RPPS must be 11 digits, found '123'".to_owned(),
            format!("line 17, field {age_range}.low.code: HealthcareService/weeks: unsupported age unit 'wk'"),
            "line 19, field availableTime[0].availableStartTime: HealthcareService/bad-time: not a time '25:00:00'"
                .to_owned(),
            "line 20, field extension[0:ror-territorial-division].codeTerritorialDivision: \
             HealthcareService/bad-commune: not an INSEE commune code '9200'"
                .to_owned(),
        ];
        assert_eq!(got, want);
        assert_eq!(
            (organization(&import, "ok-1").name.as_deref(), service(&import, "ok-2").id.as_str()),
            (Some("Valide"), "ok-2")
        );
        assert_eq!((import.resource_count(), import.other_resources.get("Observation")), (2, Some(&1)));
    }

    #[test]
    fn one_bad_ndjson_line_among_good_ones() {
        let mut lines: Vec<&[u8]> = DEMO.split(|b| *b == b'\n').take(40).collect();
        let good = parse(&lines.join(&b'\n')).unwrap();
        assert_eq!((good.resource_count(), good.rejected.len()), (40, 0));
        let cut = &lines[16][..lines[16].len() / 2];
        lines[16] = cut;
        let import = parse(&lines.join(&b"\r\n"[..])).unwrap();
        assert_eq!(import.resource_count(), 39);
        let [rejected] = import.rejected.as_slice() else { panic!("{:?}", import.rejected) };
        assert_eq!((&rejected.position, rejected.field.as_ref()), (&RecordPosition::Line(17), None));
        assert!(rejected.reason.starts_with("invalid JSON at column "), "{}", rejected.reason);
        // The first line itself may be the bad one.
        let import = parse(&[&b"{\"resourceType\": \"Organiz"[..], lines[0], lines[1]].join(&b'\n')).unwrap();
        assert_eq!((import.resource_count(), import.rejected[0].position.clone()), (2, RecordPosition::Line(1)));
    }

    #[test]
    fn file_level_problems_are_errors() {
        let err = |bytes: &[u8]| parse(bytes).unwrap_err();
        assert_eq!(err(b""), FhirError::Empty);
        assert_eq!(err(b" \r\n\t\n"), FhirError::Empty);
        assert_eq!(err(b"\xEF\xBB\xBF\n"), FhirError::Empty);
        assert_eq!(err(b"not json").to_string(), "line 1, column 2: invalid JSON: expected ident");
        let truncated = err(&BUNDLE[..BUNDLE.len() / 2]);
        assert!(matches!(truncated, FhirError::Syntax { line, .. } if line > 100), "{truncated}");
        assert!(matches!(err(&BUNDLE[..BUNDLE.len() - 3]), FhirError::Syntax { .. }));
        let nos =
            include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/data/nos/CodeSystem-TRE-R227-ChampActivite.json"));
        assert_eq!(
            err(nos).to_string(),
            "not FHIR directory data: resourceType 'CodeSystem' is neither a Bundle nor one of \
             Organization, HealthcareService, Location, Practitioner, PractitionerRole"
        );
        assert!(matches!(err(b"[1, 2]"), FhirError::NotFhir(_)));
        assert!(matches!(err(b"\"Bundle\""), FhirError::NotFhir(_)));
        assert_eq!(err(br#"{"id": "x"}"#), FhirError::NotFhir("no resourceType".to_owned()));
        assert!(matches!(err(br#"{"resourceType": 12}"#), FhirError::NotFhir(_)));
        assert!(matches!(err(br#"{"resourceType": "Bundle", "entry": {}}"#), FhirError::NotFhir(_)));
        assert!(matches!(err(br#"{"resourceType": "Organization", "entry": []}"#), FhirError::NotFhir(_)));
        assert!(matches!(err(br#"{"resourceType": "Bundle"} {"resourceType": "Bundle"} x"#), FhirError::Syntax { .. }));
        // A pretty-printed document followed by junk is not taken for NDJSON.
        let mut junk = BUNDLE.to_vec();
        junk.extend_from_slice(b"}\n");
        assert!(matches!(err(&junk), FhirError::Syntax { .. }));
    }

    #[test]
    fn layout_is_detected() {
        // A Bundle on one line, with a byte-order mark; entry keys before resourceType.
        let bundle = concat!(
            r#"{"entry": [{"resource": {"resourceType": "Location", "id": "a"}}, {"fullUrl": "x"}, 3], "#,
            r#""resourceType": "Bundle", "type": "collection"}"#
        )
        .as_bytes();
        let import = parse(&[&b"\xEF\xBB\xBF"[..], bundle].concat()).unwrap();
        assert_eq!(
            (import.format, import.locations.len(), import.bundle_type.as_deref()),
            (SourceFormat::Bundle, 1, Some("collection"))
        );
        let got: Vec<String> = import.rejected.iter().map(ToString::to_string).collect();
        assert_eq!(
            got,
            ["entry[1], field resource: entry has no resource", "entry[2]: expected an entry object, found a number"]
        );
        let empty = parse(br#"{"resourceType": "Bundle", "type": "searchset", "total": 0}"#).unwrap();
        assert_eq!((empty.resource_count(), empty.bundle_total), (0, Some(0)));
        let lone = parse(b"{\n  \"resourceType\": \"Location\",\n  \"id\": \"solo\"\n}\n").unwrap();
        assert_eq!((lone.format, lone.locations[0].id.as_str()), (SourceFormat::Resource, "solo"));
        let bad_lone = parse(br#"{"resourceType": "Location"}"#).unwrap();
        assert_eq!(bad_lone.rejected[0].to_string(), "$, field id: Location: required field is missing or empty");
        let ndjson = parse(
            b"\n{\"resourceType\":\"Location\",\"id\":\"a\"}\r\n\r\n{\"resourceType\":\"Location\",\"id\":\"b\"}",
        )
        .unwrap();
        assert_eq!((ndjson.format, ndjson.locations.len()), (SourceFormat::Ndjson, 2));
        // A reference to an offer from another server.
        let r = Reference {
            reference: Some("https://ror.example/fhir/HealthcareService/12/_history/3".to_owned()),
            identifier: None,
            display: None,
        };
        assert_eq!((r.target_id("HealthcareService"), r.target_id("Location")), (Some("12"), None));
    }

    #[test]
    fn never_panics_on_truncated_or_mutated_input() {
        let demo_head: Vec<u8> = DEMO.split(|b| *b == b'\n').take(12).collect::<Vec<_>>().join(&b'\n');
        let inputs = [BUNDLE, fixture!("ror-variants.ndjson"), fixture!("malformed.ndjson"), &demo_head];
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for bytes in inputs {
            for end in (0..=bytes.len()).step_by(61) {
                fuzz_parse(&bytes[..end]);
            }
            for _ in 0..400 {
                let mut mutated = bytes.to_vec();
                for _ in 0..3 {
                    let at = (next() % mutated.len() as u64) as usize;
                    const NASTY: &[u8] = b"\"{}[],:0-9.e \n\\\x00\xff";
                    mutated[at] = NASTY[(next() % NASTY.len() as u64) as usize];
                }
                fuzz_parse(&mutated);
            }
        }
        for nasty in [
            &b"{\"resourceType\":\"Bundle\",\"entry\":[null,{},{\"resource\":null}]}"[..],
            b"{}\n{}",
            b"\n\n{\n",
            b"null",
        ] {
            fuzz_parse(nasty);
        }
    }
}
