//! Reading FHIR JSON objects into the model: the resource readers and their helpers.

use super::*;

/// Read access to one JSON object of a resource. Missing and `null` members are absent.
#[derive(Clone, Copy)]
pub(super) struct Res<'a>(pub(super) &'a Map<String, Value>);

impl<'a> Res<'a> {
    pub(super) fn get(self, key: &str) -> Option<&'a Value> {
        self.0.get(key).filter(|v| !v.is_null())
    }

    /// The resource's id, which must be a FHIR id.
    pub(super) fn id(self) -> Result<String, FieldError> {
        let id = self.string("id", "id")?.ok_or_else(|| FieldError::new("id", "required field is missing or empty"))?;
        if is_fhir_id(&id) {
            Ok(id)
        } else {
            Err(FieldError::new("id", format!("not a FHIR id {} (1-64 of A-Z a-z 0-9 - .)", quoted(&id))))
        }
    }

    /// Trimmed string; blank becomes `None`; another JSON type is an error at `path`.
    pub(super) fn string(self, key: &str, path: &str) -> Result<Option<String>, FieldError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.trim()).filter(|s| !s.is_empty()).map(str::to_owned)),
            Some(other) => Err(FieldError::new(path.to_owned(), format!("expected a string, found {}", kind(other)))),
        }
    }

    pub(super) fn boolean(self, key: &str, path: &str) -> Result<Option<bool>, FieldError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(other) => Err(FieldError::new(path.to_owned(), format!("expected a boolean, found {}", kind(other)))),
        }
    }

    /// The object at `key`, if any.
    pub(super) fn object(self, key: &str, path: &str) -> Result<Option<Res<'a>>, FieldError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Object(o)) => Ok(Some(Res(o))),
            Some(other) => Err(FieldError::new(path.to_owned(), format!("expected an object, found {}", kind(other)))),
        }
    }

    /// The elements at `key`: an array (nulls skipped), or one value where an array belongs (ANS
    /// examples write `"identifier": {…}` and `"category": {…}`), or nothing.
    pub(super) fn many(self, key: &str) -> Vec<&'a Value> {
        match self.get(key) {
            None => Vec::new(),
            Some(Value::Array(items)) => items.iter().filter(|v| !v.is_null()).collect(),
            Some(one) => vec![one],
        }
    }

    /// The objects at `key`, with their index; a non-object element is an error.
    pub(super) fn objects(self, key: &str, path: &str) -> Result<Vec<(usize, Res<'a>)>, FieldError> {
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
    pub(super) fn strings(self, key: &str, path: &str) -> Result<Vec<String>, FieldError> {
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
    pub(super) fn extensions(self, path: &str) -> Result<Vec<Ext<'a>>, FieldError> {
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
    pub(super) fn codings(self, key: &str, path: &str) -> Result<Vec<Coding>, FieldError> {
        let path = child(path, key);
        let mut out = Vec::new();
        for (i, concept) in self.objects(key, &path)? {
            out.extend(concept_codings(concept, &format!("{path}[{i}]"))?);
        }
        Ok(out)
    }

    pub(super) fn instant(self, key: &str, path: &str) -> Result<Option<DateTime<Utc>>, FieldError> {
        self.string(key, path)?.map(|t| parse_instant(path, &t)).transpose()
    }

    pub(super) fn date(self, key: &str, path: &str) -> Result<Option<NaiveDate>, FieldError> {
        self.string(key, path)?.map(|t| parse_date(path, &t)).transpose()
    }
}

/// One extension, named by its StructureDefinition id, with its path for error messages.
pub(super) struct Ext<'a> {
    name: &'a str,
    obj: Res<'a>,
    path: String,
}

impl<'a> Ext<'a> {
    pub(super) fn is(&self, ids: &[&str]) -> bool {
        ids.iter().any(|id| self.name.eq_ignore_ascii_case(id))
    }

    pub(super) fn value_path(&self, key: &str) -> String {
        child(&self.path, key)
    }

    /// Codings of `valueCodeableConcept`, or the one `valueCoding`.
    pub(super) fn codings(&self) -> Result<Vec<Coding>, FieldError> {
        if let Some(concept) = self.obj.object("valueCodeableConcept", &self.value_path("valueCodeableConcept"))? {
            return concept_codings(concept, &self.value_path("valueCodeableConcept"));
        }
        match self.obj.object("valueCoding", &self.value_path("valueCoding"))? {
            Some(coding) => Ok(read_coding(coding, &self.value_path("valueCoding"))?.into_iter().collect()),
            None => Ok(Vec::new()),
        }
    }

    pub(super) fn coding(&self) -> Result<Option<Coding>, FieldError> {
        Ok(self.codings()?.into_iter().next())
    }

    pub(super) fn required_coding(&self) -> Result<Coding, FieldError> {
        self.coding()?.ok_or_else(|| FieldError::new(self.path.clone(), "no coded value"))
    }

    pub(super) fn string(&self) -> Result<Option<String>, FieldError> {
        self.obj.string("valueString", &self.value_path("valueString"))
    }

    pub(super) fn boolean(&self) -> Result<Option<bool>, FieldError> {
        self.obj.boolean("valueBoolean", &self.value_path("valueBoolean"))
    }

    /// `valueDateTime`, `valueInstant` or `valueDate`.
    pub(super) fn instant(&self) -> Result<Option<DateTime<Utc>>, FieldError> {
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
    pub(super) fn count(&self) -> Result<Option<u32>, FieldError> {
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
    pub(super) fn subs(&self) -> Result<Vec<Ext<'a>>, FieldError> {
        self.obj.extensions(&self.path)
    }
}

/// First extension matching `ids`.
pub(super) fn find<'e, 'a>(exts: &'e [Ext<'a>], ids: &[&str]) -> Option<&'e Ext<'a>> {
    exts.iter().find(|e| e.is(ids))
}

pub(super) fn concept_codings(concept: Res, path: &str) -> Result<Vec<Coding>, FieldError> {
    let path = child(path, "coding");
    let mut out = Vec::new();
    for (i, coding) in concept.objects("coding", &path)? {
        out.extend(read_coding(coding, &format!("{path}[{i}]"))?);
    }
    Ok(out)
}

/// A coding; `None` when it has no code (the Annuaire Santé v1 samples hold `"code": null`).
pub(super) fn read_coding(coding: Res, path: &str) -> Result<Option<Coding>, FieldError> {
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
pub(super) fn read_identifier(id: Res, path: &str) -> Result<Option<Identifier>, FieldError> {
    let Some(value) = id.string("value", &child(path, "value"))? else {
        return Ok(None);
    };
    let id_type = match id.object("type", &child(path, "type"))? {
        Some(t) => concept_codings(t, &child(path, "type"))?.into_iter().next(),
        None => None,
    };
    Ok(Some(Identifier { system: id.string("system", &child(path, "system"))?, value, id_type }))
}

pub(super) fn read_identifiers(r: Res, key: &str) -> Result<Vec<Identifier>, FieldError> {
    let mut out = Vec::new();
    for (i, id) in r.objects(key, key)? {
        out.extend(read_identifier(id, &format!("{key}[{i}]"))?);
    }
    Ok(out)
}

/// A reference; `None` when it has neither a literal reference nor an identifier.
pub(super) fn read_reference(r: Res, path: &str) -> Result<Option<Reference>, FieldError> {
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

pub(super) fn reference_at(r: Res, key: &str) -> Result<Option<Reference>, FieldError> {
    match r.object(key, key)? {
        Some(obj) => read_reference(obj, key),
        None => Ok(None),
    }
}

pub(super) fn references_at(r: Res, key: &str) -> Result<Vec<Reference>, FieldError> {
    let mut out = Vec::new();
    for (i, obj) in r.objects(key, key)? {
        out.extend(read_reference(obj, &format!("{key}[{i}]"))?);
    }
    Ok(out)
}

pub(super) fn read_human_name(n: Res, path: &str) -> Result<HumanName, FieldError> {
    Ok(HumanName {
        family: n.string("family", &child(path, "family"))?,
        given: n.strings("given", &child(path, "given"))?,
        prefix: n.strings("prefix", &child(path, "prefix"))?,
        suffix: n.strings("suffix", &child(path, "suffix"))?,
        text: n.string("text", &child(path, "text"))?,
    })
}

pub(super) fn read_address(a: Res, path: &str) -> Result<FhirAddress, FieldError> {
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

pub(super) fn read_addresses(r: Res) -> Result<Vec<FhirAddress>, FieldError> {
    r.objects("address", "address")?.into_iter().map(|(i, a)| read_address(a, &format!("address[{i}]"))).collect()
}

/// TRE_R200 channel → FHIR ContactPoint system (codes read in IG-NOS).
pub(super) fn channel_system(channel: &Coding) -> Option<&'static str> {
    match channel.code.as_str() {
        "1" | "2" | "8" => Some("phone"),
        "3" | "9" => Some("email"),
        "4" => Some("url"),
        "6" => Some("fax"),
        _ => None,
    }
}

/// ROR channel, usage and confidentiality extensions of a telecom.
pub(super) struct TelecomExtensions {
    channel: Option<Coding>,
    usage: Option<Coding>,
    confidentiality: Option<Coding>,
}

pub(super) fn telecom_extensions(exts: &[Ext]) -> Result<TelecomExtensions, FieldError> {
    let coding = |ids: &[&str]| find(exts, ids).map(Ext::coding).transpose().map(Option::flatten);
    Ok(TelecomExtensions {
        channel: coding(EXT_TELECOM_CHANNEL)?,
        usage: coding(EXT_TELECOM_USAGE)?,
        confidentiality: coding(EXT_TELECOM_CONFIDENTIALITY)?,
    })
}

/// The `telecom` ContactPoints of `r` (at `base`); those without a value (nulls of the v1
/// samples) are dropped.
pub(super) fn read_telecoms(r: Res, base: &str) -> Result<Vec<Telecom>, FieldError> {
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
/// Host of the Annuaire Santé in `meta.source`, `meta.profile` and identifier systems.
const ANNUAIRE_SANTE_HOST: &str = "annuaire.sante.fr";

/// The identifiers of a resource, or none if they cannot be read (the reader reports that).
fn identifiers_of(r: Res) -> Vec<Identifier> {
    read_identifiers(r, "identifier").unwrap_or_default()
}

/// Whether a resource comes from the Annuaire Santé: its `meta.source` or one of its
/// `meta.profile`s is there (all the ANS samples), or one of its identifiers is in its namespace.
pub(super) fn from_annuaire_sante(r: Res, identifiers: &[Identifier]) -> bool {
    let in_meta = r.get("meta").and_then(Value::as_object).is_some_and(|meta| {
        let source = meta.get("source").and_then(Value::as_str).is_some_and(|s| s.contains(ANNUAIRE_SANTE_HOST));
        let profile = meta
            .get("profile")
            .and_then(Value::as_array)
            .is_some_and(|p| p.iter().filter_map(Value::as_str).any(|s| s.contains(ANNUAIRE_SANTE_HOST)));
        source || profile
    });
    in_meta || identifiers.iter().any(|i| i.system.as_deref().is_some_and(|s| s.contains(ANNUAIRE_SANTE_HOST)))
}

pub(super) fn last_updated(r: Res) -> Result<Option<DateTime<Utc>>, FieldError> {
    match r.object("meta", "meta")? {
        Some(meta) => meta.instant("lastUpdated", "meta.lastUpdated"),
        None => Ok(None),
    }
}

/// Parses a FHIR `instant`, `dateTime` or `date`. A partial date (`2024`, `2024-07`, `2024-07-08`)
/// is its first instant in UTC; a date-time without offset (not valid FHIR, seen in feeds) is
/// read as UTC.
pub(super) fn parse_instant(field: &str, text: &str) -> Result<DateTime<Utc>, FieldError> {
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
pub(super) fn parse_date(field: &str, text: &str) -> Result<NaiveDate, FieldError> {
    match text.get(..10) {
        Some(day) if text.len() == 10 || text[10..].starts_with('T') => NaiveDate::parse_from_str(day, "%Y-%m-%d")
            .map_err(|_| FieldError::new(field.to_owned(), format!("not a FHIR date {}", quoted(text)))),
        _ => parse_instant(field, text).map(|d| d.date_naive()),
    }
}

pub(super) fn parse_time(field: &str, text: &str) -> Result<NaiveTime, FieldError> {
    NaiveTime::parse_from_str(text, "%H:%M:%S%.f")
        .or_else(|_| NaiveTime::parse_from_str(text, "%H:%M"))
        .map_err(|_| FieldError::new(field.to_owned(), format!("not a time {}", quoted(text))))
}

/// Identifiers of a structure, classified (DOMAIN.md §2.2, §7.1).
pub(super) struct StructureIds {
    pub(super) finess: Option<String>,
    pub(super) siret: Option<String>,
    pub(super) siren: Option<String>,
}

/// Kinds of structure identifier the directory keeps.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum StructureIdKind {
    Finess,
    Idnst,
    Siret,
    Siren,
}

/// Classifies an identifier by its type (FR Core `fr-core-cs-v2-0203` text codes, or the
/// TRE_G07 numeric codes of the ROR examples: 1 FINESS, 2 SIREN, 3 SIRET, 40 IDNST), else by
/// its system; a SIRENE-system value is a SIRET with 14 digits and a SIREN with 9.
pub(super) fn structure_id_kind(id: &Identifier) -> Option<StructureIdKind> {
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

pub(super) fn type_code(id: &Identifier) -> &str {
    id.id_type.as_ref().map_or("", |t| t.code.as_str())
}

pub(super) fn system_in(id: &Identifier, systems: &[&str]) -> bool {
    id.system.as_deref().is_some_and(|s| systems.iter().any(|known| s.trim_end_matches('/') == *known))
}

pub(super) fn is_digits(value: &str, len: usize) -> bool {
    value.len() == len && value.bytes().all(|b| b.is_ascii_digit())
}

pub(super) fn structure_ids(ids: &[Identifier]) -> Result<StructureIds, FieldError> {
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

pub(super) fn read_organization(r: Res) -> Result<FhirOrganization, FieldError> {
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
pub(super) fn read_organization_contacts(r: Res) -> Result<Vec<ServiceContact>, FieldError> {
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

pub(super) fn read_healthcare_service(r: Res) -> Result<FhirHealthcareService, FieldError> {
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
pub(super) struct PatientType {
    publics: Vec<Coding>,
    age_min: Option<u16>,
    age_max: Option<u16>,
}

pub(super) fn read_patient_type(ext: &Ext) -> Result<PatientType, FieldError> {
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
pub(super) const MAX_AGE_YEARS: f64 = 999.0;

/// An age `Quantity` in whole years (UCUM `a`, the default); months (`mo`) are converted,
/// rounding down a minimum and up a maximum.
pub(super) fn read_age(q: Res, path: &str, upper: bool) -> Result<Option<u16>, FieldError> {
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

pub(super) fn read_territorial_division(ext: &Ext) -> Result<TerritorialDivision, FieldError> {
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

pub(super) fn read_service_contact(ext: &Ext) -> Result<ServiceContact, FieldError> {
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

pub(super) fn read_available_times(r: Res) -> Result<Vec<AvailableTime>, FieldError> {
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
pub(super) fn read_closure(r: Res) -> Result<(Option<NaiveDate>, Option<NaiveDate>), FieldError> {
    for (i, na) in r.objects("notAvailable", "notAvailable")? {
        let path = format!("notAvailable[{i}].during");
        if let Some(during) = na.object("during", &path)? {
            return Ok((during.date("start", &child(&path, "start"))?, during.date("end", &child(&path, "end"))?));
        }
    }
    Ok((None, None))
}

pub(super) fn read_location(r: Res) -> Result<FhirLocation, FieldError> {
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
pub(super) fn read_position(r: Res) -> Result<Option<Position>, FieldError> {
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

pub(super) fn read_capacity(ext: &Ext) -> Result<Capacity, FieldError> {
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

pub(super) fn read_equipment(ext: &Ext) -> Result<Equipment, FieldError> {
    let subs = ext.subs()?;
    // `equipmentType` in the current IG, `equipementType` in the French-spelled version.
    let kind = match find(&subs, &["equipmentType", "equipementType"]) {
        Some(sub) => sub.required_coding()?,
        None => return Err(FieldError::new(child(&ext.path, "equipmentType"), "required sub-extension missing")),
    };
    let in_service = find(&subs, &["nbInService"]).map(Ext::count).transpose()?.flatten();
    Ok(Equipment { kind, in_service })
}

pub(super) fn read_practitioner(r: Res) -> Result<FhirPractitioner, FieldError> {
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
        from_annuaire_sante: from_annuaire_sante(r, &identifiers_of(r)),
        last_updated: last_updated(r)?,
    })
}

pub(super) fn read_practitioner_role(r: Res) -> Result<FhirPractitionerRole, FieldError> {
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
        from_annuaire_sante: from_annuaire_sante(r, &identifiers_of(r)),
        last_updated: last_updated(r)?,
    })
}
