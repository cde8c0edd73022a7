//! Parser of the FINESS+ JSON "structures" open-data flow (DOMAIN.md §3.4).
//!
//! Shape: `{schemaVersion, generatedAt, gcc[], gco[], pmej[]}`; each `pmej` is a legal entity
//! with its geographic establishments in `ege[]`. One establishment is produced per `ege`.
//! The `pmej` array is streamed one legal entity at a time. Strings are trimmed (older records
//! are padded with spaces), the Lambert-93 easting/northing that the flow stores in
//! `coordonneeY`/`coordonneeX` are put back in order, and inactive (`etatObjet` `I`) records are
//! kept with their status. A bad record is rejected with its JSON path; a file that is not JSON
//! or not a structures flow is a [`FinessJsonError`].

use std::collections::HashMap;
use std::fmt;
use std::io::{BufReader, Read};

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use super::finess::{
    Address, Coded, FieldError, FinessEstablishment, Geolocation, RecordPosition, RecordStatus, Rejected, check_finess,
    check_siret, department_of_insee, normalize_ape, optional_date, parse_decimal, quoted, reproject,
};
use super::geo;

/// Largest distance, in metres, between the flow's WGS84 point and its reprojected Lambert-93
/// point for the latter to be kept (the real sample agrees to 6 mm).
const MAX_PROJECTION_GAP_M: f64 = 10.0;

/// Key spellings of the first published schema, tried when the current spelling is missing.
const KEY_ALIASES: [(&str, &str); 3] = [
    ("informationsGeneralesPMEJ", "informationsGeneralesPmej"),
    ("categorieentiteGeographiqueExercice", "categorieEntiteGeographiqueExercice"),
    ("modefixationtarifaire", "modeFixationTarifaire"),
];

/// Everything read from one structures file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FinessJsonImport {
    /// `schemaVersion`, e.g. `v1.0.0`.
    pub schema_version: Option<String>,
    /// `generatedAt`, the time the file was produced.
    pub generated_at: Option<DateTime<Utc>>,
    /// Number of legal entities (`pmej`) read, with or without establishments.
    pub legal_entities: usize,
    /// Valid establishments in file order, active and inactive.
    pub establishments: Vec<FinessEstablishment>,
    /// Records left out, in file order.
    pub rejected: Vec<Rejected>,
}

/// A problem with the file as a whole.
#[derive(Debug, thiserror::Error)]
pub enum FinessJsonError {
    /// Valid JSON, but not shaped like a structures flow.
    #[error("not a FINESS+ structures file: {0}")]
    NotFinessFile(String),
    /// Not valid JSON, or cut short.
    #[error("line {line}, column {column}: invalid JSON: {message}")]
    Syntax {
        /// 1-based line of the error.
        line: usize,
        /// 1-based column of the error.
        column: usize,
        /// The JSON parser's message.
        message: String,
    },
    /// The reader failed.
    #[error("read error: {0}")]
    Io(std::io::Error),
}

impl From<serde_json::Error> for FinessJsonError {
    fn from(err: serde_json::Error) -> Self {
        use serde_json::error::Category;
        match err.classify() {
            Category::Io => FinessJsonError::Io(err.into()),
            Category::Data => FinessJsonError::NotFinessFile(err.to_string()),
            Category::Syntax | Category::Eof => {
                let (line, column) = (err.line(), err.column());
                let message = err.to_string();
                let message = message.split(" at line ").next().unwrap_or_default().to_owned();
                FinessJsonError::Syntax { line, column, message }
            }
        }
    }
}

/// Parses a structures file held in memory.
pub fn parse_slice(bytes: &[u8]) -> Result<FinessJsonImport, FinessJsonError> {
    let mut collector = Collector::default();
    let mut de = serde_json::Deserializer::from_slice(bytes);
    RootSeed { out: &mut collector }.deserialize(&mut de)?;
    de.end()?;
    collector.finish()
}

/// Parses a structures file from a reader, one legal entity at a time.
pub fn parse_reader<R: Read>(reader: R) -> Result<FinessJsonImport, FinessJsonError> {
    let mut collector = Collector::default();
    let mut de = serde_json::Deserializer::from_reader(BufReader::new(reader));
    RootSeed { out: &mut collector }.deserialize(&mut de)?;
    de.end()?;
    collector.finish()
}

/// Accumulates the output while the document is read.
#[derive(Default)]
struct Collector {
    schema_version: Option<String>,
    generated_at: Option<String>,
    saw_pmej: bool,
    legal_entities: usize,
    establishments: Vec<FinessEstablishment>,
    /// FINESS ET → JSON path where it was first seen.
    seen: HashMap<String, String>,
    rejected: Vec<Rejected>,
}

/// Visits the top-level object, streaming the `pmej` array and skipping the groupings.
struct RootSeed<'a> {
    out: &'a mut Collector,
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
        f.write_str("a FINESS+ structures object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "schemaVersion" => self.out.schema_version = map.next_value()?,
                "generatedAt" => self.out.generated_at = map.next_value()?,
                "pmej" => map.next_value_seed(PmejSeed { out: &mut *self.out })?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

/// Visits the `pmej` array one element at a time.
struct PmejSeed<'a> {
    out: &'a mut Collector,
}

impl<'de> DeserializeSeed<'de> for PmejSeed<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for PmejSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of legal entities (pmej)")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        self.out.saw_pmej = true;
        while let Some(value) = seq.next_element::<Value>()? {
            self.out.add_legal_entity(&value);
        }
        Ok(())
    }
}

/// What an establishment inherits from its legal entity.
struct LegalEntity {
    finess: String,
    status: RecordStatus,
    ape_code: Option<String>,
}

impl Collector {
    fn add_legal_entity(&mut self, value: &Value) {
        let index = self.legal_entities;
        self.legal_entities += 1;
        let path = format!("pmej[{index}]");
        let legal = match read_legal_entity(Obj(value)) {
            Ok(legal) => legal,
            Err(err) => {
                let count = Obj(value).array("ege").map_or(0, <[Value]>::len);
                let err = FieldError { reason: format!("{} ({count} establishments left out)", err.reason), ..err };
                let finess = valid_finess(Obj(value), "informationsGeneralesPMEJ.numFinessPm");
                self.rejected.push(err.reject(RecordPosition::JsonPath(path), finess.as_deref()));
                return;
            }
        };
        let eges = match Obj(value).array("ege") {
            Ok(eges) => eges,
            Err(err) => {
                let finess = Some(legal.finess.as_str());
                self.rejected.push(err.reject(RecordPosition::JsonPath(path), finess));
                return;
            }
        };
        for (j, ege) in eges.iter().enumerate() {
            self.add_establishment(format!("{path}.ege[{j}]"), ege, &legal);
        }
    }

    fn add_establishment(&mut self, path: String, ege: &Value, legal: &LegalEntity) {
        let finess = valid_finess(Obj(ege), "informationsGeneralesEGE.numFinessEge");
        let result = read_establishment(Obj(ege), legal).and_then(|e| match self.seen.get(&e.finess_et) {
            Some(first) => Err(FieldError::new(
                "informationsGeneralesEGE.numFinessEge",
                format!("duplicate establishment, first seen at {first}"),
            )),
            None => Ok(e),
        });
        match result {
            Ok(establishment) => {
                self.seen.insert(establishment.finess_et.clone(), path);
                self.establishments.push(establishment);
            }
            Err(err) => self.rejected.push(err.reject(RecordPosition::JsonPath(path), finess.as_deref())),
        }
    }

    fn finish(self) -> Result<FinessJsonImport, FinessJsonError> {
        if !self.saw_pmej {
            return Err(FinessJsonError::NotFinessFile("no pmej array".to_owned()));
        }
        let generated_at = match self.generated_at.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(text) => Some(DateTime::parse_from_rfc3339(text).map(|d| d.with_timezone(&Utc)).map_err(|_| {
                FinessJsonError::NotFinessFile(format!("generatedAt is not a date-time: {}", quoted(text)))
            })?),
        };
        Ok(FinessJsonImport {
            schema_version: self.schema_version.map(|v| v.trim().to_owned()),
            generated_at,
            legal_entities: self.legal_entities,
            establishments: self.establishments,
            rejected: self.rejected,
        })
    }
}

/// Read access to one JSON object; errors name the field by its dotted path.
#[derive(Clone, Copy)]
struct Obj<'a>(&'a Value);

impl<'a> Obj<'a> {
    /// The value at a dotted path; `None` when missing or null. Old key spellings are tried too.
    fn get(self, path: &str) -> Option<&'a Value> {
        let mut value = self.0;
        for key in path.split('.') {
            let object = value.as_object()?;
            let alias = KEY_ALIASES.iter().find(|(current, _)| *current == key).map(|(_, old)| *old);
            value = object.get(key).or_else(|| alias.and_then(|old| object.get(old)))?;
        }
        (!value.is_null()).then_some(value)
    }

    /// Trimmed string at `path`; blank becomes `None`; a non-string is an error.
    fn text(self, path: &'static str) -> Result<Option<String>, FieldError> {
        match self.get(path) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.trim()).filter(|s| !s.is_empty()).map(str::to_owned)),
            Some(other) => Err(FieldError::new(path, format!("expected a string, found {}", kind(other)))),
        }
    }

    /// Like [`Obj::text`], but a missing value is an error.
    fn required(self, path: &'static str) -> Result<String, FieldError> {
        self.text(path)?.ok_or_else(|| FieldError::new(path, "required field is missing or empty"))
    }

    /// A code, written as a string or (first schema) as `{"code": …, "system": …}`.
    fn code(self, path: &'static str) -> Result<Option<String>, FieldError> {
        match self.get(path) {
            Some(object @ Value::Object(_)) => Obj(object).text("code").map_err(|e| e.within(path)),
            _ => self.text(path),
        }
    }

    /// The array at `key`; missing or null is empty.
    fn array(self, key: &'static str) -> Result<&'a [Value], FieldError> {
        match self.get(key) {
            None => Ok(&[]),
            Some(Value::Array(items)) => Ok(items),
            Some(other) => Err(FieldError::new(key, format!("expected an array, found {}", kind(other)))),
        }
    }

    /// This value itself as a trimmed string.
    fn text_self(self) -> Result<Option<String>, FieldError> {
        match self.0 {
            Value::Null => Ok(None),
            Value::String(s) => Ok(Some(s.trim()).filter(|s| !s.is_empty()).map(str::to_owned)),
            other => Err(FieldError::new("[0]", format!("expected a string, found {}", kind(other)))),
        }
    }

    fn date(self, path: &'static str) -> Result<Option<NaiveDate>, FieldError> {
        optional_date(path, self.text(path)?.as_deref())
    }

    fn decimal(self, path: &'static str) -> Result<Option<f64>, FieldError> {
        self.text(path)?.map(|t| parse_decimal(path, &t)).transpose()
    }
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

fn read_status(obj: Obj, path: &'static str) -> Result<RecordStatus, FieldError> {
    match obj.code(path)?.as_deref() {
        Some("A") => Ok(RecordStatus::Active),
        Some("I") => Ok(RecordStatus::Inactive),
        Some(other) => Err(FieldError::new(path, format!("unknown state {} (expected A or I)", quoted(other)))),
        None => Err(FieldError::new(path, "required field is missing or empty")),
    }
}

fn read_finess(obj: Obj, path: &'static str) -> Result<String, FieldError> {
    let finess = obj.required(path)?;
    check_finess(path, &finess)?;
    Ok(finess)
}

/// The FINESS number at `path` if it is a valid one, for the report.
fn valid_finess(obj: Obj, path: &'static str) -> Option<String> {
    read_finess(obj, path).ok()
}

fn read_legal_entity(pm: Obj) -> Result<LegalEntity, FieldError> {
    Ok(LegalEntity {
        finess: read_finess(pm, "informationsGeneralesPMEJ.numFinessPm")?,
        status: read_status(pm, "etatObjet")?,
        ape_code: pm.text("informationsGeneralesPMEJ.codeApe")?.map(|a| normalize_ape(&a)),
    })
}

fn read_establishment(ege: Obj, legal: &LegalEntity) -> Result<FinessEstablishment, FieldError> {
    let siret = ege.text("informationsGeneralesEGE.siret")?;
    check_siret("informationsGeneralesEGE.siret", siret.as_deref())?;
    let (address, geolocation) = read_first_address(ege)?;
    let contact = read_contact(ege)?;
    let category = ege
        .code("categorieentiteGeographiqueExercice")?
        .ok_or_else(|| FieldError::new("categorieentiteGeographiqueExercice", "required field is missing or empty"))?;
    Ok(FinessEstablishment {
        finess_et: read_finess(ege, "informationsGeneralesEGE.numFinessEge")?,
        finess_ej: legal.finess.clone(),
        short_name: ege.required("informationsGeneralesEGE.nomEgeCourt")?,
        long_name: ege.text("informationsGeneralesEGE.nomEgeLong")?,
        name_complement: ege.text("informationsGeneralesEGE.complementDenominationEg")?,
        address,
        phone: contact.phone,
        fax: contact.fax,
        email: contact.email,
        category: Coded { code: category, label: None },
        category_aggregate: None,
        siret,
        ape_code: legal.ape_code.clone(),
        pricing_mode: ege.code("modefixationtarifaire")?.map(|code| Coded { code, label: None }),
        public_hospital_service: read_espic(ege)?,
        opened_on: ege.date("informationsGeneralesEGE.dateOuverture")?,
        authorized_on: ege.date("informationsGeneralesEGE.datePremiereAutorisation")?,
        updated_on: ege.date("dateDerniereMaj")?,
        uai: ege.text("informationsGeneralesEGE.numeroEducationNationale")?,
        status: read_status(ege, "etatObjet")?,
        closed_on: ege.date("informationsGeneralesEGE.dateFermeture")?,
        legal_entity_status: Some(legal.status),
        geolocation,
    })
}

/// First `espic` code (TRE_R73), read as the CSV's `codesph`: the CSV shows 0 and 1, the JSON
/// 0, 1 and 3; that they are one list is assumed, not documented.
fn read_espic(ege: Obj) -> Result<Option<Coded>, FieldError> {
    let path = "informationsGeneralesEGE.espic";
    let list = match ege.get(path) {
        None => return Ok(None),
        Some(Value::Array(items)) => items,
        Some(other) => {
            return Err(FieldError::new(path, format!("expected an array, found {}", kind(other))));
        }
    };
    let first = list.first().map(|v| Obj(v).text_self()).transpose().map_err(|e| e.within(path))?;
    Ok(first.flatten().map(|code| Coded { code, label: None }))
}

/// The first address (the flow gives one per establishment) and its geolocation.
fn read_first_address(ege: Obj) -> Result<(Address, Option<Geolocation>), FieldError> {
    let first = ege.array("adresse")?.first();
    let first = first.ok_or_else(|| FieldError::new("adresse", "no address"))?;
    let address = read_address(Obj(first)).map_err(|e| e.within("adresse[0]"))?;
    let metropolitan = address.department_code.is_some();
    let geolocation = match Obj(first).get("coordonneesGeographique") {
        Some(coords) => {
            read_geolocation(Obj(coords), metropolitan).map_err(|e| e.within("adresse[0].coordonneesGeographique"))?
        }
        None => None,
    };
    Ok((address, geolocation))
}

fn read_address(a: Obj) -> Result<Address, FieldError> {
    let insee_code = a.required("cogCommune")?;
    let department_code = department_of_insee("cogCommune", &insee_code)?;
    let routing_line = a.text("ligneAcheminement")?;
    Ok(Address {
        street_number: a.text("numeroVoie")?,
        street_number_suffix: a.text("complementVoie")?,
        street_type: a.text("typeVoie")?,
        street_name: a.text("libelleVoie")?,
        complement: a.text("complementPointGeographique")?,
        locality: a.text("lieuDit")?,
        commune_code: insee_code[2..].to_owned(),
        department_code,
        department_name: None,
        postal_code: a.text("codePostal")?,
        city: routing_line.clone(),
        routing_line,
        insee_code,
    })
}

/// WGS84 point of the flow, with its Lambert-93 pair (axes fixed) when consistent with it.
fn read_geolocation(c: Obj, metropolitan: bool) -> Result<Option<Geolocation>, FieldError> {
    let latlon = read_latlon(c)?;
    let planar = match (c.decimal("coordonneeX")?, c.decimal("coordonneeY")?) {
        (Some(x), Some(y)) if metropolitan => reproject(2154, x, y).ok(),
        _ => None,
    };
    // Overseas the flow does not say which system X/Y are in: they are not guessed.
    let ((lat, lon), planar) = match (latlon, planar) {
        (Some(point), Some(p)) if geo::haversine_km(point, p.1) * 1000.0 <= MAX_PROJECTION_GAP_M => (point, Some(p)),
        (Some(point), _) => (point, None),
        (None, Some(p)) => (p.1, Some(p)),
        (None, None) => return Ok(None),
    };
    Ok(Some(Geolocation {
        lat,
        lon,
        projected: planar.map(|p| p.0),
        axes_swapped: planar.is_some_and(|p| p.2),
        source: None,
        ban_key: c.text("cleInInteropBAN")?,
        ban_score: c.decimal("scoreBAN")?,
        updated_on: None,
    }))
}

fn read_latlon(c: Obj) -> Result<Option<(f64, f64)>, FieldError> {
    match (c.decimal("directionLatitude")?, c.decimal("directionLongitude")?) {
        (None, None) => Ok(None),
        (Some(lat), Some(lon)) if lat.abs() <= 90.0 && lon.abs() <= 180.0 => Ok(Some((lat, lon))),
        (Some(lat), Some(lon)) => {
            Err(FieldError::new("directionLatitude", format!("({lat}, {lon}) is not a latitude/longitude pair")))
        }
        (None, Some(_)) => Err(FieldError::new("directionLatitude", "missing while directionLongitude is given")),
        (Some(_), None) => Err(FieldError::new("directionLongitude", "missing while directionLatitude is given")),
    }
}

/// Telephone, fax and e-mail of an establishment.
#[derive(Default)]
struct Contact {
    phone: Option<String>,
    fax: Option<String>,
    email: Option<String>,
}

/// First telephone, fax and e-mail found in the `contact` list.
fn read_contact(ege: Obj) -> Result<Contact, FieldError> {
    let mut found = Contact::default();
    for (i, contact) in ege.array("contact")?.iter().enumerate() {
        let c = Obj(contact);
        let within = |e: FieldError| e.within(&format!("contact[{i}]"));
        found.phone = found.phone.or(c.text("telecom.telephone").map_err(within)?);
        found.fax = found.fax.or(c.text("telecom.telecopie").map_err(within)?);
        found.email = found.email.or(c.text("telecom.courriel").map_err(within)?);
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    macro_rules! fixture {
        ($name:literal) => {
            include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/finess/", $name)).as_slice()
        };
    }

    const SAMPLE: &[u8] = fixture!("sample-finess-structures-journalier-20260309.json");

    fn find<'a>(import: &'a FinessJsonImport, finess: &str) -> &'a FinessEstablishment {
        import.establishments.iter().find(|e| e.finess_et == finess).expect(finess)
    }

    fn date(y: i32, m: u32, d: u32) -> Option<NaiveDate> {
        NaiveDate::from_ymd_opt(y, m, d)
    }

    #[test]
    fn real_sample_reads_every_establishment() {
        let import = parse_slice(SAMPLE).unwrap();
        assert_eq!(import.schema_version.as_deref(), Some("v1.0.0"));
        let generated = import.generated_at.unwrap().to_rfc3339();
        assert_eq!(generated, "2026-03-09T15:49:37.615611300+00:00");
        // PROVENANCE.md: 23 pmej with 27 ege.
        assert_eq!((import.legal_entities, import.establishments.len()), (23, 27));
        assert_eq!(import.rejected, vec![]);
        let inactive = import.establishments.iter().filter(|e| e.status == RecordStatus::Inactive);
        assert!(inactive.clone().all(|e| e.closed_on.is_some()));
        assert_eq!(inactive.count(), 12);
        let located: Vec<_> = import.establishments.iter().filter_map(|e| e.geolocation.as_ref()).collect();
        assert_eq!(located.len(), 18);
        // Every Lambert-93 pair of the sample has northing and easting swapped (DOMAIN.md §3.4).
        assert!(located.iter().all(|g| g.axes_swapped && g.projected.is_some_and(|p| p.x < p.y)));
    }

    #[test]
    fn active_clinic_maps_every_field() {
        let import = parse_slice(SAMPLE).unwrap();
        let e = find(&import, "010780195");
        assert_eq!((e.finess_ej.as_str(), e.short_name.as_str()), ("010000156", "CLINIQUE CONVERT"));
        assert_eq!(e.long_name.as_deref(), Some("CLINIQUE DOCTEUR CONVERT"));
        assert_eq!(e.category, Coded { code: "365".into(), label: None });
        assert_eq!(e.pricing_mode.as_ref().map(|c| c.code.as_str()), Some("07"));
        assert_eq!(e.public_hospital_service.as_ref().map(|c| c.code.as_str()), Some("0"));
        assert_eq!((e.siret.as_deref(), e.ape_code.as_deref()), (Some("77220148900022"), Some("8610Z")));
        assert_eq!(e.phone.as_deref(), Some("0428631234"));
        assert_eq!(
            (e.opened_on, e.status, e.legal_entity_status),
            (date(1956, 11, 16), RecordStatus::Active, Some(RecordStatus::Active))
        );
        let a = &e.address;
        assert_eq!(
            (a.insee_code.as_str(), a.commune_code.as_str(), a.department_code.as_deref()),
            ("01053", "053", Some("01"))
        );
        assert_eq!((a.postal_code.as_deref(), a.city.as_deref()), (Some("01000"), Some("BOURG EN BRESSE")));
        assert_eq!((a.street_type.as_deref(), a.locality.as_deref()), (Some("AV"), Some("BP 132")));
        let g = e.geolocation.as_ref().unwrap();
        assert_eq!((g.lat, g.lon), (46.211257, 5.254203));
        assert_eq!(g.projected.map(|p| (p.epsg, p.x, p.y)), Some((2154, 873_766.07, 6_570_414.61)));
        assert_eq!((g.ban_key.as_deref(), g.ban_score), (Some("01053_1950_00062"), Some(0.972_353_636_363_636_1)));
    }

    #[test]
    fn padded_inactive_records_are_trimmed_and_flagged() {
        let import = parse_slice(SAMPLE).unwrap();
        let smur = find(&import, "010787190");
        assert_eq!(smur.short_name, "SMUR POLYCLINIQUE AMBERIEU");
        assert_eq!(smur.long_name.as_deref(), Some("SMUR POLYCLINIQUE AMBERIEU EN BUGEY"));
        assert_eq!(smur.address.street_type.as_deref(), Some("R"));
        assert_eq!(smur.address.street_name.as_deref(), Some("AIME VINGTRINIER"));
        assert_eq!((smur.status, smur.closed_on), (RecordStatus::Inactive, date(1993, 1, 1)));
        assert_eq!((smur.legal_entity_status, smur.geolocation.as_ref()), (Some(RecordStatus::Inactive), None));
        // The legal entity closed on 2026-03-02 but its EHPAD stays open: both states are kept.
        let ehpad = find(&import, "010780906");
        assert_eq!((ehpad.status, ehpad.legal_entity_status), (RecordStatus::Active, Some(RecordStatus::Inactive)));
        assert_eq!(ehpad.long_name.as_deref(), Some("EHPAD RÉSIDENCE FONTELUNE AMBERIEU-EN-BUGEY"));
    }

    #[test]
    fn overseas_establishment_without_coordinates() {
        let import = parse_slice(SAMPLE).unwrap();
        let sia = find(&import, "980600027");
        assert_eq!((sia.address.insee_code.as_str(), sia.address.department_code.as_deref()), ("98613", None));
        assert_eq!((sia.insee_department(), sia.address.commune_code.as_str()), ("986", "613"));
        assert_eq!(sia.address.locality.as_deref(), Some("BP 4 - MATA'UTU"));
        assert_eq!(sia.geolocation, None);
    }

    #[test]
    fn reader_and_slice_agree() {
        let from_reader = parse_reader(std::io::BufReader::with_capacity(5, SAMPLE)).unwrap();
        assert_eq!(from_reader, parse_slice(SAMPLE).unwrap());
    }

    #[test]
    fn bad_records_are_rejected_with_their_json_path() {
        let import = parse_slice(fixture!("structures-malformed.json")).unwrap();
        let got: Vec<String> = import.rejected.iter().map(ToString::to_string).collect();
        let want = [
            "pmej[1].ege[0], field informationsGeneralesEGE.numFinessEge: not a FINESS number '01078031'",
            "pmej[1].ege[1], field etatObjet: unknown state 'X' (expected A or I) (FINESS 010780328)",
            "pmej[1].ege[2], field adresse: no address (FINESS 010011641)",
            "pmej[2].ege[0], field informationsGeneralesEGE.numFinessEge: expected a string, found a number",
            "pmej[2].ege[1], field adresse[0].cogCommune: not an INSEE commune code '1053' (FINESS 010008183)",
            "pmej[2].ege[2], field adresse[0].coordonneesGeographique.directionLatitude: \
             (146.362063, 6.139885) is not a latitude/longitude pair (FINESS 010790061)",
            "pmej[2].ege[3], field informationsGeneralesEGE.numFinessEge: duplicate establishment, \
             first seen at pmej[0].ege[0] (FINESS 010780195)",
            "pmej[3], field informationsGeneralesPMEJ.numFinessPm: not a FINESS number 'ABC' \
             (2 establishments left out)",
            "pmej[5], field informationsGeneralesPMEJ.numFinessPm: required field is missing or empty \
             (0 establishments left out)",
        ];
        assert_eq!(got, want);
        let kept: Vec<&str> = import.establishments.iter().map(|e| e.finess_et.as_str()).collect();
        assert_eq!(kept, ["010780195", "010011914", "010780914"]);
        // Escaped quotes and padding; X/Y that disagree with lat/lon are dropped, lat/lon kept.
        let pole = find(&import, "010011914");
        assert_eq!(pole.long_name.as_deref(), Some(r#"POLE RESSOURCES "SURDITE""#));
        let g = pole.geolocation.as_ref().unwrap();
        assert_eq!((g.lat, g.lon, g.projected, g.axes_swapped), (46.200985, 5.226104, None, false));
        // First-schema spellings (informationsGeneralesPmej, {code, system} objects) still read.
        let urfe = find(&import, "010780914");
        assert_eq!((urfe.category.code.as_str(), urfe.legal_entity_status), ("500", Some(RecordStatus::Active)));
        assert_eq!(urfe.pricing_mode.as_ref().map(|c| c.code.as_str()), Some("41"));
        assert_eq!(import.legal_entities, 6);
    }

    #[test]
    fn file_level_problems_are_errors() {
        let err = |bytes: &[u8]| parse_slice(bytes).unwrap_err();
        assert!(matches!(err(b"[1, 2]"), FinessJsonError::NotFinessFile(_)));
        assert!(
            matches!(err(br#"{"schemaVersion": "v1"}"#), FinessJsonError::NotFinessFile(m) if m == "no pmej array")
        );
        assert!(matches!(err(br#"{"pmej": {}}"#), FinessJsonError::NotFinessFile(_)));
        assert!(matches!(err(br#"{"pmej": [], "generatedAt": "hier"}"#), FinessJsonError::NotFinessFile(_)));
        let truncated = err(&SAMPLE[..SAMPLE.len() / 2]);
        assert!(matches!(truncated, FinessJsonError::Syntax { .. }), "{truncated}");
        let garbage = err(b"{\"pmej\": [}\n");
        assert_eq!(garbage.to_string(), "line 1, column 11: invalid JSON: expected value");
        assert!(matches!(err(b"{\"pmej\": []} trailing"), FinessJsonError::Syntax { .. }));
        assert!(parse_slice(br#"{"pmej": []}"#).unwrap().establishments.is_empty());
    }

    #[test]
    fn never_panics_on_truncated_or_mutated_json() {
        let bytes = fixture!("structures-malformed.json");
        let mut state: u64 = 0x2545_F491_4F6C_DD1D;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for end in (0..=bytes.len()).step_by(97) {
            let _ = parse_slice(&bytes[..end]);
        }
        for _ in 0..1500 {
            let mut mutated = bytes.to_vec();
            for _ in 0..3 {
                let at = (next() % mutated.len() as u64) as usize;
                const NASTY: &[u8] = b"\"{}[],:0a \\\x00\xff";
                mutated[at] = NASTY[(next() % NASTY.len() as u64) as usize];
            }
            if let Ok(import) = parse_slice(&mutated) {
                assert!(import.establishments.iter().all(|e| check_finess("", &e.finess_et).is_ok()));
            }
        }
    }
}
