//! The directory of the regional offer (SPEC DIR): ROR-shaped records of legal entities,
//! establishments and their offers, imported from FINESS and the ROR / Annuaire Santé FHIR
//! flows, searched by professionals.
//!
//! - [`finess_csv`], [`finess_json`], [`finess`], [`geo`]: parsers of the public formats and
//!   reprojection to WGS84.
//! - [`nomenclature`]: the national NOS code systems, loaded as data.
//! - [`model`]: stored sites and the change feed; [`import`]: idempotent, scoped imports.

pub mod finess;
pub mod finess_csv;
pub mod finess_json;
pub mod geo;
pub mod import;
pub mod model;
pub mod nomenclature;
