//! The directory of the regional offer (SPEC DIR): ROR-shaped records of legal entities,
//! establishments and their offers, imported from FINESS and the ROR / Annuaire Santé FHIR
//! flows, searched by professionals. This module holds the parsers of the public formats;
//! storage, imports and search build on them.

pub mod finess;
pub mod finess_csv;
pub mod finess_json;
pub mod geo;
