//! Types and field rules shared by the two FINESS importers: the etalab CSV extract
//! (`finess_csv`) and the FINESS+ JSON flow (`finess_json`). See DOMAIN.md §3.

use std::borrow::Cow;
use std::fmt;

use chrono::NaiveDate;
use serde::Serialize;

use super::geo::{self, GeoError};

/// A coded value with the label the source printed beside it (labels drift: DOMAIN.md §3.3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Coded {
    /// The code as given, e.g. `355`.
    pub code: String,
    /// The label as given in the same file, when the source carries one.
    pub label: Option<String>,
}

/// Administrative state of a FINESS record (`etatObjet` in the JSON flow).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum RecordStatus {
    /// Open (`A`); every record of the etalab CSV extract is open.
    Active,
    /// Closed or otherwise inactive (`I`); kept, flagged, never dropped.
    Inactive,
}

/// Planar coordinates of the source, in (easting, northing) order once any swap is undone.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ProjectedPoint {
    /// EPSG code of the coordinate system.
    pub epsg: u32,
    /// Easting in metres.
    pub x: f64,
    /// Northing in metres.
    pub y: f64,
}

/// Position of an establishment in WGS84 and where it came from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Geolocation {
    /// Latitude in degrees (WGS84).
    pub lat: f64,
    /// Longitude in degrees (WGS84).
    pub lon: f64,
    /// The planar coordinates of the source, if it gave usable ones.
    pub projected: Option<ProjectedPoint>,
    /// True when the source had easting and northing in each other's place and this was fixed.
    pub axes_swapped: bool,
    /// Raw provenance text (`sourcecoordet` of the CSV).
    pub source: Option<String>,
    /// BAN interoperability key of the geocoded address (JSON flow).
    pub ban_key: Option<String>,
    /// BAN geocoding score between 0 and 1 (JSON flow).
    pub ban_score: Option<f64>,
    /// Date the coordinates were last updated (`datemaj` of the CSV).
    pub updated_on: Option<NaiveDate>,
}

/// Postal address of an establishment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct Address {
    /// Street number (`numvoie`, `numeroVoie`).
    pub street_number: Option<String>,
    /// Repetition index after the number: B, T, C… (`compvoie`, `complementVoie`).
    pub street_number_suffix: Option<String>,
    /// Abbreviated street type: R, AV, BD, RTE… (`typvoie`, `typeVoie`).
    pub street_type: Option<String>,
    /// Street name (`voie`, `libelleVoie`).
    pub street_name: Option<String>,
    /// Address complement (`compldistrib`, `complementPointGeographique`).
    pub complement: Option<String>,
    /// Lieu-dit or post-office box (`lieuditbp`, `lieuDit`).
    pub locality: Option<String>,
    /// Three-digit commune part of the INSEE code as FINESS writes it (`commune`).
    pub commune_code: String,
    /// FINESS département code: `01`…`95`, `2A`, `2B`, `9A`…`9F`, `9J` (`departement`).
    pub department_code: Option<String>,
    /// Département name (`libdepartement`).
    pub department_name: Option<String>,
    /// Five-character INSEE commune code (COG), computed for the CSV (`cogCommune` in JSON).
    pub insee_code: String,
    /// Postal code (first 5 digits of `ligneacheminement`, or `codePostal`).
    pub postal_code: Option<String>,
    /// Town part of the routing line, possibly with `CEDEX`.
    pub city: Option<String>,
    /// Routing line exactly as given (`ligneacheminement`, `ligneAcheminement`).
    pub routing_line: Option<String>,
}

/// One FINESS geographic establishment (ET / EG), whichever flow it came from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FinessEstablishment {
    /// FINESS number of the establishment (`nofinesset`, `numFinessEge`).
    pub finess_et: String,
    /// FINESS number of its legal entity (`nofinessej`, `numFinessPm`).
    pub finess_ej: String,
    /// Short name, at most 38 characters in the CSV (`rs`, `nomEgeCourt`).
    pub short_name: String,
    /// Long name (`rslongue`, `nomEgeLong`).
    pub long_name: Option<String>,
    /// Name complement (`complrs`, `complementDenominationEg`).
    pub name_complement: Option<String>,
    /// Postal address and commune.
    pub address: Address,
    /// Telephone number (`telephone`).
    pub phone: Option<String>,
    /// Fax number (`telecopie`).
    pub fax: Option<String>,
    /// E-mail address (`courriel`, JSON flow only).
    pub email: Option<String>,
    /// Establishment category, TRE_R66 (`categetab` + `libcategetab`; JSON: category code only).
    pub category: Coded,
    /// Category aggregate (`categagretab`/`libcategagretab`; absent from the JSON flow).
    pub category_aggregate: Option<Coded>,
    /// SIRET, 14 digits (`siret`).
    pub siret: Option<String>,
    /// APE/NAF code without dot, e.g. `8610Z` (CSV: the establishment's; JSON: its legal entity's).
    pub ape_code: Option<String>,
    /// Pricing mode, TRE_R74 (`codemft`/`libmft`, `modefixationtarifaire`).
    pub pricing_mode: Option<Coded>,
    /// Public hospital service status (`codesph`/`libsph`; JSON: first `espic` code, same list assumed).
    pub public_hospital_service: Option<Coded>,
    /// Opening date (`dateouv`, `dateOuverture`).
    pub opened_on: Option<NaiveDate>,
    /// First authorisation date (`dateautor`, `datePremiereAutorisation`).
    pub authorized_on: Option<NaiveDate>,
    /// Last update of the record (`maj`, `dateDerniereMaj`).
    pub updated_on: Option<NaiveDate>,
    /// UAI, the Education nationale number (`numuai`, `numeroEducationNationale`).
    pub uai: Option<String>,
    /// Administrative state of the establishment.
    pub status: RecordStatus,
    /// Closing date, when closed (`dateFermeture`).
    pub closed_on: Option<NaiveDate>,
    /// Administrative state of the legal entity (JSON flow only).
    pub legal_entity_status: Option<RecordStatus>,
    /// WGS84 position, when the source had a usable one.
    pub geolocation: Option<Geolocation>,
}

impl FinessEstablishment {
    /// INSEE département of the commune: `92`, `2A`, or three characters overseas (`971`, `986`).
    pub fn insee_department(&self) -> &str {
        let insee = self.address.insee_code.as_str();
        let len = if insee.starts_with("97") || insee.starts_with("98") { 3 } else { 2 };
        insee.get(..len).unwrap_or(insee)
    }
}

/// Where a record sits in its source file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum RecordPosition {
    /// 1-based physical line where a CSV record starts.
    Line(u64),
    /// Path of a JSON record, e.g. `pmej[3].ege[1]`.
    JsonPath(String),
}

impl fmt::Display for RecordPosition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecordPosition::Line(n) => write!(f, "line {n}"),
            RecordPosition::JsonPath(p) => f.write_str(p),
        }
    }
}

/// A record left out of an import, with a precise reason; the import goes on without it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rejected {
    /// Where the record is.
    pub position: RecordPosition,
    /// Its FINESS number, when one could be read.
    pub finess: Option<String>,
    /// The source's name of the faulty field, when one field is at fault.
    pub field: Option<String>,
    /// What is wrong.
    pub reason: String,
}

impl fmt::Display for Rejected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.position)?;
        if let Some(field) = &self.field {
            write!(f, ", field {field}")?;
        }
        write!(f, ": {}", self.reason)?;
        match &self.finess {
            Some(finess) => write!(f, " (FINESS {finess})"),
            None => Ok(()),
        }
    }
}

/// A problem with one named field of a record (or with the whole record when `field` is empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct FieldError {
    /// The source's name of the field; empty when no single field is at fault.
    pub field: Cow<'static, str>,
    /// What is wrong.
    pub reason: String,
}

impl FieldError {
    /// Builds a field error.
    pub fn new(field: impl Into<Cow<'static, str>>, reason: impl Into<String>) -> Self {
        FieldError { field: field.into(), reason: reason.into() }
    }

    /// Prefixes the field name with the path of the object that holds it (`adresse[0]`).
    pub fn within(mut self, prefix: &str) -> Self {
        self.field = if self.field.is_empty() {
            Cow::Owned(prefix.to_owned())
        } else {
            Cow::Owned(format!("{prefix}.{}", self.field))
        };
        self
    }

    /// Builds an error about the record as a whole (no single field at fault).
    pub fn record(reason: impl Into<String>) -> Self {
        FieldError { field: Cow::Borrowed(""), reason: reason.into() }
    }

    /// Turns it into a rejected record at `position`.
    pub fn reject(self, position: RecordPosition, finess: Option<&str>) -> Rejected {
        Rejected {
            position,
            finess: finess.map(str::to_owned),
            field: (!self.field.is_empty()).then(|| self.field.into_owned()),
            reason: self.reason,
        }
    }
}

/// Trims padding; an empty or blank value becomes `None`.
pub(super) fn clean(value: &str) -> Option<String> {
    let trimmed = value.trim();
    (!trimmed.is_empty()).then(|| trimmed.to_owned())
}

/// Shows a raw value in an error message, shortened so a garbage field cannot flood a report.
pub(super) fn quoted(value: &str) -> String {
    let short: String = value.chars().take(40).collect();
    let ellipsis = if short.len() < value.len() { "…" } else { "" };
    format!("'{}{ellipsis}'", short.escape_debug())
}

/// Checks the FINESS number pattern `[0-9][0-9A-Z][0-9]{7}` of the etalab XSD (DOMAIN.md §3.1).
pub(super) fn check_finess(field: &'static str, value: &str) -> Result<(), FieldError> {
    let b = value.as_bytes();
    let ok = b.len() == 9
        && b[0].is_ascii_digit()
        && (b[1].is_ascii_digit() || b[1].is_ascii_uppercase())
        && b[2..].iter().all(u8::is_ascii_digit);
    if ok { Ok(()) } else { Err(FieldError::new(field, format!("not a FINESS number {}", quoted(value)))) }
}

/// Parses a date written `YYYY-MM-DD` (optionally followed by a time) or `DD/MM/YYYY`.
pub(super) fn parse_date(field: &'static str, value: &str) -> Result<NaiveDate, FieldError> {
    let date_part = value.split([' ', 'T']).next().unwrap_or(value);
    NaiveDate::parse_from_str(date_part, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(date_part, "%d/%m/%Y"))
        .map_err(|_| FieldError::new(field, format!("not a date {}", quoted(value))))
}

/// Parses an optional date field.
pub(super) fn optional_date(field: &'static str, value: Option<&str>) -> Result<Option<NaiveDate>, FieldError> {
    value.map(|v| parse_date(field, v)).transpose()
}

/// Checks that an optional SIRET has 14 digits (a spreadsheet may have turned it into `2,601E+13`).
pub(super) fn check_siret(field: &'static str, value: Option<&str>) -> Result<(), FieldError> {
    match value {
        Some(v) if v.len() != 14 || !v.bytes().all(|b| b.is_ascii_digit()) => {
            Err(FieldError::new(field, format!("SIRET must be 14 digits, found {}", quoted(v))))
        }
        _ => Ok(()),
    }
}

/// APE code without the dot that the JSON flow writes (`86.10Z` → `8610Z`).
pub(super) fn normalize_ape(value: &str) -> String {
    value.chars().filter(|c| *c != '.').collect::<String>().to_ascii_uppercase()
}

/// Parses a decimal number, accepting a decimal comma; rejects NaN and infinities.
pub(super) fn parse_decimal(field: &'static str, value: &str) -> Result<f64, FieldError> {
    value
        .replace(',', ".")
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .ok_or_else(|| FieldError::new(field, format!("not a number {}", quoted(value))))
}

/// INSEE commune code from FINESS `departement` + `commune` (DOMAIN.md §3.1 rule).
pub(super) fn insee_from_finess(department: &str, commune: &str) -> Result<String, FieldError> {
    if commune.len() != 3 || !commune.bytes().all(|b| b.is_ascii_digit()) {
        return Err(FieldError::new("commune", format!("expected 3 digits, found {}", quoted(commune))));
    }
    let prefix = match department.as_bytes() {
        [b'9', b'A'..=b'F'] => "97",
        [b'9', b'J'] => "98",
        [b'2', b'A' | b'B'] => department,
        [a, b] if a.is_ascii_digit() && b.is_ascii_digit() && is_mainland(department) => department,
        _ => {
            let reason = format!("unknown département code {}", quoted(department));
            return Err(FieldError::new("departement", reason));
        }
    };
    Ok(format!("{prefix}{commune}"))
}

/// Mainland numeric département codes: 01 to 95, without 20 (split into 2A and 2B).
fn is_mainland(code: &str) -> bool {
    matches!(code.parse::<u8>(), Ok(1..=95)) && code != "20"
}

/// Checks a 5-character INSEE commune code; returns the FINESS département code it implies
/// (`None` overseas, where FINESS uses letters this code does not carry).
pub(super) fn department_of_insee(field: &'static str, insee: &str) -> Result<Option<String>, FieldError> {
    let bad = || FieldError::new(field, format!("not an INSEE commune code {}", quoted(insee)));
    let b = insee.as_bytes();
    if b.len() != 5 || !b[2..].iter().all(u8::is_ascii_digit) {
        return Err(bad());
    }
    let dep = &insee[..2];
    match dep {
        "2A" | "2B" => Ok(Some(dep.to_owned())),
        "97" | "98" => Ok(None),
        _ if is_mainland(dep) && b[..2].iter().all(u8::is_ascii_digit) => Ok(Some(dep.to_owned())),
        _ => Err(bad()),
    }
}

/// Splits a routing line `01440 VIRIAT` into postal code and town; no postal code if none leads.
pub(super) fn split_routing_line(line: &str) -> (Option<String>, Option<String>) {
    let code = line.get(..5).filter(|c| c.bytes().all(|b| b.is_ascii_digit()));
    match code {
        Some(code) if line.len() == 5 || line[5..].starts_with(' ') => (Some(code.to_owned()), clean(&line[5..])),
        _ => (None, clean(line)),
    }
}

/// Reprojects to WGS84; if the point falls outside the system's area but the swapped pair
/// does not, the axes were swapped at the source: returns the fixed point with `true`.
pub(super) fn reproject(epsg: u32, x: f64, y: f64) -> Result<(ProjectedPoint, (f64, f64), bool), GeoError> {
    match geo::to_wgs84(epsg, x, y) {
        Ok(latlon) => Ok((ProjectedPoint { epsg, x, y }, latlon, false)),
        Err(err @ GeoError::OutsideArea { .. }) => match geo::to_wgs84(epsg, y, x) {
            Ok(latlon) => Ok((ProjectedPoint { epsg, x: y, y: x }, latlon, true)),
            Err(_) => Err(err),
        },
        Err(err) => Err(err),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insee_codes_follow_the_domain_rules() {
        assert_eq!(insee_from_finess("01", "451").unwrap(), "01451");
        assert_eq!(insee_from_finess("2A", "004").unwrap(), "2A004");
        assert_eq!(insee_from_finess("9C", "302").unwrap(), "97302"); // Cayenne
        assert_eq!(insee_from_finess("9F", "606").unwrap(), "97606"); // Mayotte
        assert_eq!(insee_from_finess("9A", "701").unwrap(), "97701"); // Saint-Barthélemy under 9A
        assert_eq!(insee_from_finess("9J", "613").unwrap(), "98613"); // Wallis
        for (dep, commune) in [("20", "004"), ("96", "001"), ("9G", "101"), ("1", "451"), ("01", "45"), ("01", "4a1")] {
            assert!(insee_from_finess(dep, commune).is_err(), "{dep} {commune}");
        }
        assert_eq!(insee_from_finess("9Z", "101").unwrap_err().field, "departement");
        assert_eq!(insee_from_finess("92", "04").unwrap_err().field, "commune");
    }

    #[test]
    fn insee_department_of_json_codes() {
        assert_eq!(department_of_insee("f", "01053").unwrap().as_deref(), Some("01"));
        assert_eq!(department_of_insee("f", "2B033").unwrap().as_deref(), Some("2B"));
        assert_eq!(department_of_insee("f", "98613").unwrap(), None);
        for bad in ["1053", "20004", "99001", "0105A", "ABCDE", "01053 "] {
            assert!(department_of_insee("f", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn finess_numbers_follow_the_xsd_pattern() {
        for ok in ["010000024", "2A0000123", "9A0000123", "980600027"] {
            assert!(check_finess("f", ok).is_ok(), "{ok}");
        }
        for bad in ["10000024", "0100000240", "01000002A", "a10000024", "2a0000123", "", "０１0000024"] {
            assert!(check_finess("f", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn dates_siret_ape_and_routing_lines() {
        let d = NaiveDate::from_ymd_opt(1979, 2, 13).unwrap();
        assert_eq!(parse_date("f", "1979-02-13").unwrap(), d);
        assert_eq!(parse_date("f", "13/02/1979").unwrap(), d);
        assert_eq!(parse_date("f", "1979-02-13 00:00:00").unwrap(), d);
        assert!(parse_date("f", "1979-02-30").is_err());
        assert!(check_siret("siret", Some("26010004500012")).is_ok());
        assert!(check_siret("siret", Some("2,601E+13")).is_err());
        assert_eq!(normalize_ape("86.10z"), "8610Z");
        let (cp, city) = split_routing_line("01440 VIRIAT");
        assert_eq!((cp.as_deref(), city.as_deref()), (Some("01440"), Some("VIRIAT")));
        let (cp, city) = split_routing_line("BOURG EN BRESSE");
        assert_eq!((cp, city.as_deref()), (None, Some("BOURG EN BRESSE")));
        assert_eq!(split_routing_line("014400 X").0, None);
        assert_eq!(split_routing_line("0144é").0, None);
    }

    #[test]
    fn rejected_records_print_line_field_and_reason() {
        let r = FieldError::new("siret", "SIRET must be 14 digits").reject(RecordPosition::Line(12), Some("010000024"));
        assert_eq!(r.to_string(), "line 12, field siret: SIRET must be 14 digits (FINESS 010000024)");
        assert_eq!(quoted(&"x".repeat(100)).chars().count(), 43);
    }

    #[test]
    fn reproject_fixes_swapped_lambert93_axes() {
        let (p, (lat, lon), swapped) = reproject(2154, 6_570_414.61, 873_766.07).unwrap();
        assert!(swapped);
        assert_eq!((p.x, p.y), (873_766.07, 6_570_414.61));
        assert!(geo::haversine_km((lat, lon), (46.211257, 5.254203)) < 0.001);
        assert!(!reproject(2154, 873_766.07, 6_570_414.61).unwrap().2);
        assert!(matches!(reproject(2154, 1.0, 2.0), Err(GeoError::OutsideArea { .. })));
    }
}
