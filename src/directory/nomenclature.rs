//! National nomenclatures (NOS `TRE_R*` FHIR CodeSystems), loaded as data: the copies shipped
//! in `data/nos/`, or newer files given on the command line. Retired codes (`dateFin` in the
//! past) are kept, flagged, so that old records still show a label.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Deserialize;

use crate::db::DbConn;
use crate::db::schema::nomenclature_codes;

/// System URL of the FINESS establishment categories (TRE_R66).
pub const CATEGORY_SYSTEM: &str =
    "https://mos.esante.gouv.fr/NOS/TRE_R66-CategorieEtablissement/FHIR/TRE-R66-CategorieEtablissement";

/// The code systems shipped with the binary.
pub const EMBEDDED: &[(&str, &str)] = &[
    ("TRE-R66", include_str!("../../data/nos/CodeSystem-TRE-R66-CategorieEtablissement.json")),
    ("TRE-R211", include_str!("../../data/nos/CodeSystem-TRE-R211-ActiviteOperationnelle.json")),
    ("TRE-R213", include_str!("../../data/nos/CodeSystem-TRE-R213-ModePriseEnCharge.json")),
    ("TRE-R227", include_str!("../../data/nos/CodeSystem-TRE-R227-ChampActivite.json")),
    ("TRE-R239", include_str!("../../data/nos/CodeSystem-TRE-R239-PublicPrisEnCharge.json")),
    ("TRE-R329", include_str!("../../data/nos/CodeSystem-TRE-R329-NatureCapacite.json")),
    ("TRE-R330", include_str!("../../data/nos/CodeSystem-TRE-R330-TypeStatutCapacite.json")),
];

/// One code of a code system.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Code {
    /// The code system's canonical URL.
    pub system: String,
    /// The code.
    pub code: String,
    /// The label (`LibelleAdapte`, else `display`).
    pub label: String,
    /// Whether the code was retired (`dateFin` reached).
    pub retired: bool,
}

#[derive(Deserialize)]
struct CodeSystem {
    #[serde(rename = "resourceType")]
    resource_type: String,
    url: String,
    #[serde(default)]
    concept: Vec<Concept>,
}

#[derive(Deserialize)]
struct Concept {
    code: String,
    display: Option<String>,
    #[serde(default)]
    designation: Vec<Designation>,
    #[serde(default)]
    property: Vec<Property>,
    #[serde(default)]
    concept: Vec<Concept>,
}

#[derive(Deserialize)]
struct Designation {
    #[serde(rename = "use")]
    usage: Option<Usage>,
    value: String,
}

#[derive(Deserialize)]
struct Usage {
    code: String,
}

#[derive(Deserialize)]
struct Property {
    code: String,
    #[serde(rename = "valueDateTime")]
    value_date_time: Option<String>,
}

/// Parses a FHIR CodeSystem; `today` (YYYY-MM-DD) decides which `dateFin` are past.
pub fn parse_code_system(json: &str, today: &str) -> Result<Vec<Code>, String> {
    let cs: CodeSystem =
        serde_json::from_str(json).map_err(|e| format!("line {}, column {}: {e}", e.line(), e.column()))?;
    if cs.resource_type != "CodeSystem" {
        return Err(format!("resourceType is {:?}, not CodeSystem", cs.resource_type));
    }
    let mut out = Vec::new();
    flatten(&cs.url, &cs.concept, today, &mut out);
    Ok(out)
}

fn flatten(system: &str, concepts: &[Concept], today: &str, out: &mut Vec<Code>) {
    for c in concepts {
        let adapted = c
            .designation
            .iter()
            .find(|d| d.usage.as_ref().is_some_and(|u| u.code == "LibelleAdapte"))
            .map(|d| d.value.clone());
        let label = adapted.or_else(|| c.display.clone()).unwrap_or_else(|| c.code.clone());
        let retired = c.property.iter().any(|p| {
            p.code == "dateFin" && p.value_date_time.as_deref().is_some_and(|d| d.get(..10).is_some_and(|d| d <= today))
        });
        out.push(Code { system: system.to_owned(), code: c.code.clone(), label, retired });
        flatten(system, &c.concept, today, out);
    }
}

/// Stores codes, updating labels and retirement of those already there; returns how many.
pub fn upsert_codes(conn: &mut DbConn, codes: &[Code], now: NaiveDateTime) -> QueryResult<usize> {
    for chunk in codes.chunks(500) {
        let rows: Vec<_> = chunk
            .iter()
            .map(|c| {
                (
                    nomenclature_codes::system.eq(&c.system),
                    nomenclature_codes::code.eq(&c.code),
                    nomenclature_codes::label.eq(&c.label),
                    nomenclature_codes::retired.eq(c.retired),
                    nomenclature_codes::created_at.eq(now),
                    nomenclature_codes::updated_at.eq(now),
                )
            })
            .collect();
        let q = diesel::insert_into(nomenclature_codes::table).values(&rows);
        let set = (
            nomenclature_codes::label.eq(diesel::upsert::excluded(nomenclature_codes::label)),
            nomenclature_codes::retired.eq(diesel::upsert::excluded(nomenclature_codes::retired)),
            nomenclature_codes::updated_at.eq(now),
        );
        match conn {
            DbConn::Pg(c) => {
                q.on_conflict((nomenclature_codes::system, nomenclature_codes::code)).do_update().set(set).execute(c)?
            }
            DbConn::Sqlite(c) => {
                q.on_conflict((nomenclature_codes::system, nomenclature_codes::code)).do_update().set(set).execute(c)?
            }
        };
    }
    Ok(codes.len())
}

/// Loads the code systems shipped with the binary.
pub fn load_embedded(conn: &mut DbConn, now: NaiveDateTime) -> anyhow::Result<usize> {
    let today = now.date().to_string();
    let mut n = 0;
    for (name, json) in EMBEDDED {
        let codes = parse_code_system(json, &today).map_err(|e| anyhow::anyhow!("{name}: {e}"))?;
        n += upsert_codes(conn, &codes, now)?;
    }
    Ok(n)
}

/// Labels of one system, by code.
pub fn labels(conn: &mut DbConn, system: &str) -> QueryResult<HashMap<String, String>> {
    let rows: Vec<(String, String)> = nomenclature_codes::table
        .filter(nomenclature_codes::system.eq(system))
        .select((nomenclature_codes::code, nomenclature_codes::label))
        .load(conn)?;
    Ok(rows.into_iter().collect())
}

/// Which of `codes` the loaded copy of `system` holds (retired ones included: they were valid
/// codes); `None` when no code of that system is loaded, so nothing can be checked.
pub fn known_codes(conn: &mut DbConn, system: &str, codes: &[&str]) -> QueryResult<Option<HashSet<String>>> {
    let loaded: i64 =
        nomenclature_codes::table.filter(nomenclature_codes::system.eq(system)).count().get_result(conn)?;
    if loaded == 0 {
        return Ok(None);
    }
    let found: Vec<String> = nomenclature_codes::table
        .filter(nomenclature_codes::system.eq(system))
        .filter(nomenclature_codes::code.eq_any(codes))
        .select(nomenclature_codes::code)
        .load(conn)?;
    Ok(Some(found.into_iter().collect()))
}

/// Active (not retired) codes of a system, for pickers.
pub fn list_active(conn: &mut DbConn, system: &str) -> QueryResult<Vec<(String, String)>> {
    nomenclature_codes::table
        .filter(nomenclature_codes::system.eq(system))
        .filter(nomenclature_codes::retired.eq(false))
        .order(nomenclature_codes::code.asc())
        .select((nomenclature_codes::code, nomenclature_codes::label))
        .load(conn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_code_systems_parse_with_adapted_labels() {
        let codes = parse_code_system(EMBEDDED[0].1, "2026-11-26").unwrap();
        let ehpad = codes.iter().find(|c| c.code == "500").unwrap();
        assert_eq!(ehpad.system, CATEGORY_SYSTEM);
        assert_eq!(ehpad.label, "Etablissement d'hébergement pour personnes âgées dépendantes");
        for (name, json) in EMBEDDED {
            assert!(!parse_code_system(json, "2026-11-26").unwrap().is_empty(), "{name}");
        }
    }

    #[test]
    fn retired_codes_are_flagged_by_date_fin() {
        let json = r#"{"resourceType":"CodeSystem","url":"u","concept":[
            {"code":"1","display":"Ancien","property":[{"code":"dateFin","valueDateTime":"2020-01-01T00:00:00+01:00"}]},
            {"code":"2","display":"Futur","property":[{"code":"dateFin","valueDateTime":"2030-01-01T00:00:00+01:00"}]},
            {"code":"3","display":"Actuel"}]}"#;
        let codes = parse_code_system(json, "2026-11-26").unwrap();
        assert_eq!(codes.iter().map(|c| c.retired).collect::<Vec<_>>(), vec![true, false, false]);
        assert!(parse_code_system(r#"{"resourceType":"Patient","url":"u"}"#, "x").is_err());
        assert!(parse_code_system("{", "x").unwrap_err().starts_with("line 1"));
    }
}
