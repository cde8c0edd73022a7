//! The search parameters of `GET /fhir/HealthcareService`, read the way the ROR API writes them
//! (DOMAIN.md §2.1, sources S1, S2, S5), and mapped onto the directory's search engine.
//!
//! Values follow FHIR R4 search: `a,b` is « a or b », a repeated parameter is « and », a token is
//! `system|code`, `code` or `|code`, a date or quantity may start with a prefix (`ge`, `lt`…). A
//! parameter this server does not know is ignored and reported (or refused under
//! `Prefer: handling=strict`); a known parameter with a value it cannot read, or a modifier it
//! does not support, makes the whole request invalid (400), as FHIR asks.

use std::ops::Bound;

use chrono::{DateTime, NaiveDate, NaiveDateTime};

use crate::directory::search::places::Places;
use crate::directory::search::text::fold_words;
use crate::directory::search::{CodeFilter, CodeMatch, RangeField, RangeFilter, SearchParams, code};

/// Entries per page when `_count` is not given.
pub const DEFAULT_COUNT: usize = 20;
/// Most entries per page; a larger `_count` is lowered to it (FHIR lets a server return fewer).
pub const MAX_COUNT: usize = 100;
/// Deepest offset: past it, narrow the search (each page costs its offset).
pub const MAX_OFFSET: usize = 10_000;
/// Largest radius of `location.near`, in km (the engine's).
const MAX_RADIUS_KM: f64 = 500.0;
/// Longest text of `name` or `_content`.
const MAX_TEXT: usize = 200;
/// Most parameters in one request, and most values in one parameter (`a,b,…`): each is a clause of
/// the query, so their number bounds its cost (ASVS 15.2.2).
const MAX_PARAMS: usize = 50;
const MAX_VALUES: usize = 100;

/// A parameter of the endpoint, as documented in the CapabilityStatement and the OpenAPI document.
#[derive(Debug, Clone, Copy)]
pub struct ParamDoc {
    /// Name, as sent (`location.near`).
    pub name: &'static str,
    /// FHIR type: `token`, `string`, `date`, `quantity`, `special`, or `number` for paging.
    pub kind: &'static str,
    /// Whether it shapes the result (`_count`…) rather than selecting offers.
    pub result: bool,
    /// What it does, in French.
    pub doc: &'static str,
}

const fn param(name: &'static str, kind: &'static str, doc: &'static str) -> ParamDoc {
    ParamDoc { name, kind, result: false, doc }
}

/// Every parameter the endpoint reads; anything else is ignored and reported.
pub const SEARCH_PARAMETERS: &[ParamDoc] = &[
    param(
        "_id",
        "token",
        "Identifiant technique de l'offre (id de la ressource ROR). Plusieurs : séparés par des virgules.",
    ),
    param("identifier", "token", "Identifiant de l'offre (identifiantOffre) : `valeur` ou `système|valeur`."),
    param(
        "name",
        "string",
        "Nom de l'offre : chaque mot doit y figurer, le dernier peut n'être qu'un début de mot (modificateur `:contains` accepté).",
    ),
    param(
        "_content",
        "string",
        "Recherche plein texte (nom, catégorie, activités, publics, lieu), tolérante aux fautes de frappe.",
    ),
    param("active", "token", "`true` ou `false`. Seules les offres actives sont recherchées : `false` ne trouve rien."),
    param("service-category", "token", "Type d'offre (category, TRE_R244-CategorieOrganisation / JDV_J238)."),
    param(
        "service-type",
        "token",
        "Champ d'activité (type, TRE_R227-ChampActivite / JDV_J20), par exemple `04` médico-social.",
    ),
    param(
        "specialty",
        "token",
        "Activité opérationnelle (specialty, TRE_R211-ActiviteOperationnelle / JDV_J17), par exemple `https://mos.esante.gouv.fr/NOS/TRE_R211-ActiviteOperationnelle/FHIR/TRE-R211-ActiviteOperationnelle|157`.",
    ),
    param("characteristic", "token", "Mode de prise en charge (characteristic, TRE_R213-ModePriseEnCharge / JDV_J19)."),
    param("patient-type", "token", "Public pris en charge (TRE_R239-PublicPrisEnCharge / JDV_J29)."),
    param(
        "age-range-low",
        "quantity",
        "Âge minimum de la patientèle, en années, avec préfixe : `le35` ou `le35|http://unitsofmeasure.org|a`.",
    ),
    param(
        "age-range-high",
        "quantity",
        "Âge maximum de la patientèle, en années, avec préfixe : `ge35`. Avec `age-range-low=le35`, trouve les offres qui acceptent 35 ans.",
    ),
    param(
        "location.near",
        "special",
        "Autour d'un point WGS84 : `lat|lon|distance|unité` (km ou m) ou `lat|lon|distance` (km). Sans distance, le rayon s'élargit de 5 à 100 km. Résultats triés par distance, donnée par l'extension location-distance de chaque entrée. 500 km au plus.",
    ),
    param(
        "location.near-insee-code",
        "special",
        "Autour d'une commune (code INSEE) : `92025|5|km`. Même tri et même extension que location.near.",
    ),
    param(
        "location.address-city",
        "string",
        "Commune du lieu : début du nom, sans tenir compte des accents ni de la casse (`:exact` : le nom entier).",
    ),
    param("address-city", "string", "Synonyme de location.address-city."),
    param("location.address-postalcode", "string", "Code postal du lieu, ou son début (`92` : tout le département)."),
    param("address-postalcode", "string", "Synonyme de location.address-postalcode."),
    param("location.commune-cog", "token", "Commune du lieu, par son code officiel géographique (TRE_R13-Commune)."),
    param(
        "_lastUpdated",
        "date",
        "Date de dernière mise à jour dans la source, avec préfixe (eq, ne, lt, le, gt, ge, sa, eb) : `ge2026-01-01`, `ge2022-11-06T15:00`. Répétable (entre deux dates). Sans fuseau : UTC.",
    ),
    ParamDoc {
        name: "_count",
        kind: "number",
        result: true,
        doc: "Entrées par page : 20 par défaut, 100 au plus ; 0 donne seulement le total.",
    },
    ParamDoc {
        name: "_getpagesoffset",
        kind: "number",
        result: true,
        doc: "Nombre de résultats à sauter (pagination, comme dans le lien `next`) ; 10 000 au plus.",
    },
    ParamDoc {
        name: "_format",
        kind: "special",
        result: true,
        doc: "`json` ou `application/fhir+json` : le seul format proposé.",
    },
];

/// A search, read and checked.
#[derive(Debug, Clone)]
pub struct FhirQuery {
    /// The search for the engine.
    pub search: SearchParams,
    /// Entries asked for (0: the total only).
    pub count: usize,
    /// Matches skipped.
    pub offset: usize,
    /// The accepted selection parameters as received, for the `self` and `next` links.
    pub echo: Vec<(String, String)>,
    /// Names of the parameters ignored.
    pub ignored: Vec<String>,
}

impl FhirQuery {
    /// Whether results are sorted by distance (and carry the distance extension).
    pub fn is_near(&self) -> bool {
        self.search.near.is_some()
    }
}

/// Reads a query string. `strict` (`Prefer: handling=strict`) refuses unknown parameters.
/// Errors are French messages, one per faulty parameter.
pub fn parse(query: &str, places: &Places, strict: bool) -> Result<FhirQuery, Vec<String>> {
    let mut q = FhirQuery {
        search: SearchParams {
            codes: vec![only(code::KIND, "offer")],
            per_page: DEFAULT_COUNT,
            page: 1,
            ..Default::default()
        },
        count: DEFAULT_COUNT,
        offset: 0,
        echo: Vec::new(),
        ignored: Vec::new(),
    };
    let mut errors = Vec::new();
    let mut seen_text = false;
    let pairs: Vec<_> = url::form_urlencoded::parse(query.as_bytes()).collect();
    if pairs.len() > MAX_PARAMS {
        return Err(vec![format!("Trop de paramètres : {MAX_PARAMS} au plus par recherche.")]);
    }
    for (raw_name, value) in pairs {
        let (name, modifier) = match raw_name.split_once(':') {
            Some((n, m)) => (n, Some(m)),
            None => (raw_name.as_ref(), None),
        };
        let Some(doc) = SEARCH_PARAMETERS.iter().find(|p| p.name == name) else {
            if strict {
                errors.push(format!("Paramètre inconnu : « {} » (en-tête Prefer: handling=strict).", short(&raw_name)));
            } else if !q.ignored.contains(&raw_name.to_string()) {
                q.ignored.push(raw_name.to_string());
            }
            continue;
        };
        // FHIR: a parameter without value is ignored.
        if value.is_empty() {
            continue;
        }
        if (name == "name" || name == "_content") && std::mem::replace(&mut seen_text, true) {
            errors.push("Un seul critère de texte (name ou _content) est pris en charge par recherche.".into());
            continue;
        }
        match apply(&mut q, doc, modifier, &value, places) {
            Ok(()) if !doc.result => q.echo.push((raw_name.to_string(), value.to_string())),
            Ok(()) => {}
            Err(e) => errors.push(e),
        }
    }
    q.search.offset = Some(q.offset);
    if errors.is_empty() { Ok(q) } else { Err(errors) }
}

/// A name or value cut for an error message.
fn short(s: &str) -> String {
    let cut: String = s.chars().take(60).collect();
    if cut.len() < s.len() { format!("{cut}…") } else { cut }
}

/// A filter on one code.
fn only(kind: &str, value: &str) -> CodeFilter {
    CodeFilter { any: vec![CodeMatch { term: code::term(kind, value), prefix: false }], negate: false }
}

/// Applies one parameter to the query.
fn apply(
    q: &mut FhirQuery,
    doc: &ParamDoc,
    modifier: Option<&str>,
    value: &str,
    places: &Places,
) -> Result<(), String> {
    let name = doc.name;
    let allowed: &[&str] = match doc.kind {
        "token" if name != "active" => &["not"],
        "string" if name == "name" => &["contains"],
        "string" if name != "_content" => &["exact"],
        _ => &[],
    };
    if let Some(m) = modifier.filter(|m| !allowed.contains(m)) {
        return Err(format!("Le modificateur « :{} » n'est pas pris en charge pour {name}.", short(m)));
    }
    if value.split(',').nth(MAX_VALUES).is_some() {
        return Err(format!("{name} : {MAX_VALUES} valeurs au plus."));
    }
    let negate = modifier == Some("not");
    let s = &mut q.search;
    match name {
        "_id" => s.codes.push(tokens(value, code::SOURCE_ID, &[], negate)),
        "identifier" => s.codes.push(identifiers(value, negate)),
        "service-category" => s.codes.push(tokens(value, code::OFFER_TYPE, &["TRE_R244-", "JDV_J238-"], negate)),
        "service-type" => s.codes.push(tokens(value, code::ACTIVITY_FIELD, &["TRE_R227-", "JDV_J20-"], negate)),
        "specialty" => s.codes.push(tokens(value, code::SPECIALTY, &["TRE_R211-", "JDV_J17-"], negate)),
        "characteristic" => s.codes.push(tokens(value, code::CARE_MODE, &["TRE_R213-", "JDV_J19-"], negate)),
        "patient-type" => s.codes.push(tokens(value, code::PUBLIC, &["TRE_R239-", "JDV_J29-"], negate)),
        "location.commune-cog" => s.codes.push(tokens(value, code::COMMUNE, &["TRE_R13-"], negate)),
        "active" => match value {
            "true" => {}
            // Closed offers are not in the index: nothing matches.
            "false" => s.codes.push(CodeFilter::default()),
            _ => return Err("active vaut « true » ou « false ».".into()),
        },
        "name" | "_content" => {
            s.text = value.chars().take(MAX_TEXT).collect();
            s.name_only = name == "name";
        }
        "location.address-city" | "address-city" => {
            let exact = modifier == Some("exact");
            s.codes.push(strings(value, code::CITY, exact, |v| fold_words(v).join(" ")));
        }
        "location.address-postalcode" | "address-postalcode" => {
            let exact = modifier == Some("exact");
            s.codes.push(strings(value, code::POSTAL_CODE, exact, |v| v.trim().to_uppercase()));
        }
        "age-range-low" | "age-range-high" => {
            let field = if name == "age-range-low" { RangeField::AgeMin } else { RangeField::AgeMax };
            s.ranges.push(age(name, value, field)?);
        }
        "_lastUpdated" => s.ranges.push(last_updated(value)?),
        "location.near" | "location.near-insee-code" => {
            if s.near.is_some() {
                return Err(
                    "Un seul critère de proximité (location.near ou location.near-insee-code) par recherche.".into()
                );
            }
            let (point, radius) = if name == "location.near" { near(value)? } else { near_commune(value, places)? };
            s.near = Some(point);
            s.radius_km = radius;
        }
        "_count" => {
            let n: usize =
                digits(value).ok_or_else(|| "_count doit être un nombre entier positif ou nul.".to_owned())?;
            q.count = n.min(MAX_COUNT);
            s.per_page = q.count.max(1);
        }
        "_getpagesoffset" => {
            let n: usize = digits(value)
                .filter(|n| *n <= MAX_OFFSET)
                .ok_or_else(|| format!("_getpagesoffset doit être un nombre entier entre 0 et {MAX_OFFSET} (affinez la recherche pour aller plus loin)."))?;
            q.offset = n;
        }
        "_format" => {
            if !value.contains("json") {
                return Err("Seul le format JSON (application/fhir+json) est proposé.".into());
            }
        }
        _ => unreachable!("every documented parameter is handled"),
    }
    Ok(())
}

/// A whole number written with digits only (no sign, no space: what the OpenAPI document says).
fn digits(value: &str) -> Option<usize> {
    value.bytes().all(|b| b.is_ascii_digit()).then(|| value.parse().ok()).flatten()
}

/// A token list (`a,b`): codes of `kind`. A code given with a system other than the expected one
/// (recognised by its NOS table, `accept`) matches nothing, as FHIR asks.
fn tokens(value: &str, kind: &str, accept: &[&str], negate: bool) -> CodeFilter {
    let any = value
        .split(',')
        .filter_map(|v| {
            let (system, code) = match v.split_once('|') {
                Some((s, c)) => (s, c),
                None => ("", v),
            };
            let system_ok = system.is_empty() || accept.iter().any(|a| system.contains(a));
            (system_ok && !code.is_empty()).then(|| CodeMatch { term: code::term(kind, code), prefix: false })
        })
        .collect();
    CodeFilter { any, negate }
}

/// An identifier list: `value`, or `system|value`.
fn identifiers(value: &str, negate: bool) -> CodeFilter {
    let any = value
        .split(',')
        .filter_map(|v| {
            let v = v.strip_prefix('|').unwrap_or(v);
            (!v.is_empty()).then(|| CodeMatch { term: code::term(code::IDENTIFIER, v), prefix: false })
        })
        .collect();
    CodeFilter { any, negate }
}

/// A string list (`a,b`), normalised by `norm`: each value is a prefix, or the whole text with `:exact`.
fn strings(value: &str, kind: &str, exact: bool, norm: impl Fn(&str) -> String) -> CodeFilter {
    let any = value
        .split(',')
        .map(norm)
        .filter(|v| !v.is_empty())
        .map(|v| CodeMatch { term: code::term(kind, &v), prefix: !exact })
        .collect();
    CodeFilter { any, negate: false }
}

/// A FHIR prefix (`eq` when none) and the rest of the value.
fn prefix(value: &str) -> (&str, &str) {
    for p in ["eq", "ne", "lt", "le", "gt", "ge", "sa", "eb", "ap"] {
        if let Some(rest) = value.strip_prefix(p) {
            return (p, rest);
        }
    }
    ("eq", value)
}

/// The range a prefix selects, for a value that stands for `[lo, hi)` (its precision).
fn bounds(p: &str, lo: i64, hi: i64) -> Option<(Bound<i64>, Bound<i64>, bool)> {
    use Bound::{Excluded, Included, Unbounded};
    Some(match p {
        "eq" => (Included(lo), Excluded(hi), false),
        "ne" => (Included(lo), Excluded(hi), true),
        "lt" | "eb" => (Unbounded, Excluded(lo), false),
        "le" => (Unbounded, Excluded(hi), false),
        "gt" | "sa" => (Included(hi), Unbounded, false),
        "ge" => (Included(lo), Unbounded, false),
        _ => return None,
    })
}

/// An age bound: `[prefix]years[|http://unitsofmeasure.org|a]`.
fn age(name: &str, value: &str, field: RangeField) -> Result<RangeFilter, String> {
    let bad = || {
        format!(
            "{name} attend un âge entier en années, avec un préfixe : `le35` ou `le35|http://unitsofmeasure.org|a`."
        )
    };
    let (p, rest) = prefix(value);
    let mut parts = rest.split('|');
    let years: i64 = parts.next().and_then(|n| n.parse().ok()).filter(|n| (0..=200).contains(n)).ok_or_else(bad)?;
    let system = parts.next().unwrap_or("");
    let unit = parts.next().unwrap_or("a");
    let ucum = ["", "http://unitsofmeasure.org", "https://unitsofmeasure.org"].contains(&system);
    if !ucum || !matches!(unit, "a" | "") || parts.next().is_some() {
        return Err(bad());
    }
    let (low, high, negate) = bounds(p, years, years + 1).ok_or_else(bad)?;
    Ok(RangeFilter { field, low, high, negate })
}

/// `_lastUpdated`: `[prefix]date`, the date at any FHIR precision (year to seconds).
fn last_updated(value: &str) -> Result<RangeFilter, String> {
    let bad = || {
        format!(
            "_lastUpdated « {} » n'est pas une date lisible : utilisez par exemple `ge2026-01-01` ou `le2026-01-31T23:59:59+01:00` (préfixes eq, ne, lt, le, gt, ge, sa, eb).",
            short(value)
        )
    };
    let (p, rest) = prefix(value);
    let (lo, hi) = date_span(rest).ok_or_else(bad)?;
    let (low, high, negate) = bounds(p, lo, hi).ok_or_else(bad)?;
    Ok(RangeFilter { field: RangeField::Updated, low, high, negate })
}

/// The span of seconds a FHIR date stands for: `2026` is the whole year, `2026-01-31T10:00`
/// that minute. A time without zone is read as UTC.
fn date_span(v: &str) -> Option<(i64, i64)> {
    if !v.is_ascii() {
        return None;
    }
    let day = |y: i32, m: u32, d: u32| NaiveDate::from_ymd_opt(y, m, d).and_then(|d| d.and_hms_opt(0, 0, 0));
    let secs = |t: NaiveDateTime| t.and_utc().timestamp();
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    let parts: Vec<&str> = v.splitn(3, '-').collect();
    match parts.as_slice() {
        [y] if digits(y, 4) => {
            let y: i32 = y.parse().ok()?;
            Some((secs(day(y, 1, 1)?), secs(day(y + 1, 1, 1)?)))
        }
        [y, m] if digits(y, 4) && digits(m, 2) => {
            let (y, m): (i32, u32) = (y.parse().ok()?, m.parse().ok()?);
            let next = if m == 12 { day(y + 1, 1, 1) } else { day(y, m + 1, 1) };
            Some((secs(day(y, m, 1)?), secs(next?)))
        }
        [y, m, d] if digits(y, 4) && digits(m, 2) && digits(d, 2) => {
            let start = day(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?)?;
            Some((secs(start), secs(start) + 86_400))
        }
        [y, m, rest] if digits(y, 4) && digits(m, 2) && rest.len() > 2 && rest.as_bytes()[2] == b'T' => {
            date_time_span(v)
        }
        _ => None,
    }
}

/// `YYYY-MM-DDThh:mm[:ss[.fff]][Z|±hh:mm]` (ASCII, `T` at index 10): the minute or second it names.
fn date_time_span(v: &str) -> Option<(i64, i64)> {
    let zone_at = v[10..].find(['Z', '+', '-']).map(|i| i + 10);
    let (local, zone) = match zone_at {
        Some(i) => (&v[..i], &v[i..]),
        None => (v, "Z"),
    };
    let zone = if zone == "Z" { "+00:00" } else { zone };
    let (text, step) = match local.len() {
        16 => (format!("{local}:00{zone}"), 60),
        19 => (format!("{local}{zone}"), 1),
        n if n > 20 && local.as_bytes()[19] == b'.' => (format!("{}{zone}", &local[..19]), 1),
        _ => return None,
    };
    let t = DateTime::parse_from_rfc3339(&text).ok()?;
    Some((t.timestamp(), t.timestamp() + step))
}

/// `lat|lon`, `lat|lon|distance` (km) or `lat|lon|distance|unit` (`km` or `m`).
fn near(value: &str) -> Result<((f64, f64), Option<f64>), String> {
    let bad = || {
        format!(
            "location.near « {} » n'est pas lisible : attendu latitude|longitude|distance|unité en WGS84, par exemple `48.92|2.25|5|km`.",
            short(value)
        )
    };
    let parts: Vec<&str> = value.split('|').collect();
    if !(2..=4).contains(&parts.len()) {
        return Err(bad());
    }
    let number = |s: &str| s.trim().parse::<f64>().ok().filter(|n| n.is_finite());
    let lat = number(parts[0]).filter(|l| (-90.0..=90.0).contains(l)).ok_or_else(bad)?;
    let lon = number(parts[1]).filter(|l| (-180.0..=180.0).contains(l)).ok_or_else(bad)?;
    let radius = radius(parts.get(2).copied(), parts.get(3).copied(), "location.near")?;
    Ok(((lat, lon), radius))
}

/// `insee|distance|unit` around the centre of a commune of the directory.
fn near_commune(value: &str, places: &Places) -> Result<((f64, f64), Option<f64>), String> {
    let parts: Vec<&str> = value.split('|').collect();
    if parts.len() > 3 {
        return Err("location.near-insee-code attend code INSEE|distance|unité, par exemple `92025|5|km`.".into());
    }
    let insee = parts[0].trim();
    let place = places
        .find(insee)
        .filter(|p| p.insee == insee)
        .ok_or_else(|| format!("La commune de code INSEE « {} » n'est pas connue de l'annuaire.", short(insee)))?;
    let radius = radius(parts.get(1).copied(), parts.get(2).copied(), "location.near-insee-code")?;
    Ok(((place.lat, place.lon), radius))
}

/// A distance and its unit, in km; none when the distance is not given (the radius widens).
fn radius(distance: Option<&str>, unit: Option<&str>, name: &str) -> Result<Option<f64>, String> {
    let Some(d) = distance.map(str::trim).filter(|d| !d.is_empty()) else { return Ok(None) };
    let d: f64 = d
        .parse()
        .ok()
        .filter(|d: &f64| d.is_finite() && *d > 0.0)
        .ok_or_else(|| format!("{name} : la distance doit être un nombre positif."))?;
    let km = match unit.map(str::trim).unwrap_or("km") {
        "km" | "" => d,
        "m" => d / 1000.0,
        u => return Err(format!("{name} : unité « {} » non prise en charge (km ou m).", short(u))),
    };
    if km > MAX_RADIUS_KM {
        return Err(format!("{name} : la distance ne peut dépasser {MAX_RADIUS_KM} km."));
    }
    Ok(Some(km))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn places() -> Places {
        Places::from_rows(std::iter::once((
            Some("92025".to_owned()),
            Some("Colombes".to_owned()),
            Some("92700".to_owned()),
            Some(48.92),
            Some(2.25),
            3,
        )))
    }

    #[test]
    fn dates_stand_for_their_precision() {
        let day = date_span("2026-01-31").unwrap();
        assert_eq!(day.1 - day.0, 86_400);
        assert_eq!(date_span("2026").unwrap().0, date_span("2026-01-01").unwrap().0);
        let minute = date_span("2022-11-06T15:00").unwrap();
        assert_eq!(minute.1 - minute.0, 60);
        let paris = date_span("2022-11-06T16:00:00+01:00").unwrap();
        assert_eq!(paris.0, minute.0);
        assert_eq!(date_span("2026-02-30"), None);
        assert_eq!(date_span("2026-13"), None);
        assert_eq!(date_span("hier"), None);
        assert_eq!(date_span("2026-01-01T25:00"), None);
        assert!(date_span("2026-01-01T10:00:00.123Z").is_some());
    }

    #[test]
    fn prefixes_select_the_right_side() {
        let (lo, hi) = date_span("2026-01-01").unwrap();
        let ge = last_updated("ge2026-01-01").unwrap();
        assert_eq!((ge.low, ge.high), (Bound::Included(lo), Bound::Unbounded));
        let gt = last_updated("gt2026-01-01").unwrap();
        assert_eq!(gt.low, Bound::Included(hi));
        let le = last_updated("le2026-01-01").unwrap();
        assert_eq!(le.high, Bound::Excluded(hi));
        assert!(last_updated("ne2026-01-01").unwrap().negate);
        assert!(last_updated("ap2026-01-01").is_err());
        let a = age("age-range-low", "le35|http://unitsofmeasure.org|a", RangeField::AgeMin).unwrap();
        assert_eq!(a.high, Bound::Excluded(36));
        assert!(age("age-range-low", "le35|http://unitsofmeasure.org|mo", RangeField::AgeMin).is_err());
        assert!(age("age-range-low", "le-1", RangeField::AgeMin).is_err());
    }

    #[test]
    fn near_accepts_the_ror_and_fhir_forms() {
        assert_eq!(near("48.9|2.25|5|km").unwrap(), ((48.9, 2.25), Some(5.0)));
        assert_eq!(near("48.9|2.25|5").unwrap(), ((48.9, 2.25), Some(5.0)));
        assert_eq!(near("48.9|2.25|500|m").unwrap(), ((48.9, 2.25), Some(0.5)));
        assert_eq!(near("48.9|2.25").unwrap(), ((48.9, 2.25), None));
        for bad in ["48.9", "91|2|5", "48.9|2.25|-1", "48.9|2.25|5|mi", "NaN|2|5", "48.9|2.25|600", "a|b", "1|2|3|km|x"]
        {
            assert!(near(bad).is_err(), "{bad}");
        }
        let ((lat, lon), radius) = near_commune("92025|5|km", &places()).unwrap();
        assert!((lat - 48.92).abs() < 1e-9 && (lon - 2.25).abs() < 1e-9 && radius == Some(5.0));
        assert!(near_commune("92700|5|km", &places()).is_err(), "a postal code is not an INSEE code");
    }

    #[test]
    fn unknown_parameters_are_ignored_known_ones_checked() {
        let q =
            parse("specialty=157,158&_include=HealthcareService:organization&_count=500", &places(), false).unwrap();
        assert_eq!(q.ignored, vec!["_include".to_owned()]);
        assert_eq!(q.count, MAX_COUNT);
        assert_eq!(q.search.codes.len(), 2, "kind and specialty");
        assert_eq!(q.echo, vec![("specialty".to_owned(), "157,158".to_owned())]);
        assert!(parse("_include=x", &places(), true).is_err());
        let errors = parse("_lastUpdated=hier&location.near=1&specialty:below=1", &places(), false).unwrap_err();
        assert_eq!(errors.len(), 3, "{errors:?}");
        assert!(parse("specialty=", &places(), false).is_ok(), "an empty value is ignored");
        let many = vec!["1"; 101].join(",");
        assert!(parse(&format!("specialty={many}"), &places(), false).is_err());
        assert!(parse(&vec!["specialty=1"; 51].join("&"), &places(), false).is_err());
        let other_system = parse("specialty=http://loinc.org|157", &places(), false).unwrap();
        assert!(other_system.search.codes[1].any.is_empty(), "another system matches nothing");
    }
}
