//! The resources and values the FHIR parser produces.

use super::*;

/// The FHIR resource types this parser reads.
pub(super) const DIRECTORY_TYPES: [&str; 5] =
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
    /// From the Annuaire Santé (`meta.source`, a `meta.profile` or an identifier system of
    /// `annuaire.sante.fr`) rather than the ROR.
    pub from_annuaire_sante: bool,
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
    /// From the Annuaire Santé rather than the ROR (see [`FhirPractitioner::from_annuaire_sante`]).
    pub from_annuaire_sante: bool,
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
    pub(super) fn new(format: SourceFormat) -> Self {
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
