//! The directory of the regional offer (SPEC DIR): ROR-shaped records of legal entities,
//! establishments and their offers, imported from FINESS and the ROR / Annuaire Santé FHIR
//! flows, searched by professionals.
//!
//! - [`finess_csv`], [`finess_json`], [`fhir`], [`finess`], [`geo`]: parsers of the public formats and
//!   reprojection to WGS84.
//! - [`nomenclature`]: the national NOS code systems, loaded as data.
//! - [`model`]: stored sites and the change feed; [`import`]: idempotent, scoped imports;
//!   [`history`]: their history for the back office.
//! - [`offers`]: ROR offers and their import; [`local`]: entries the DAC enters itself; [`details`]: what an offer's sheet shows, with the
//!   confidentiality of each contact (DIR-4).
//! - [`practitioners`]: professionals and their roles; [`capacities`]: capacity rows and the
//!   available places.
//! - [`sheet`]: the detail sheet of an entry (DIR-2) and what each viewer may see of it (DIR-4);
//!   [`completeness`]: its completeness score (ANS rule); [`reports`]: error reports (DIR-5).

pub mod capacities;
pub mod completeness;
pub mod csv_export;
pub mod details;
pub mod fhir;
pub mod finess;
pub mod finess_csv;
pub mod finess_json;
pub mod geo;
pub mod history;
pub mod import;
pub mod local;
pub mod model;
pub mod nomenclature;
pub mod offers;
pub mod practitioners;
pub mod reports;
pub mod search;
pub mod sheet;

use std::time::Duration;

use crate::app::AppState;
use crate::jobs::{Job, JobReport};

/// Keeps this node's search index in step with the change feed (every node, no lease).
pub struct IndexSyncJob;

impl Job for IndexSyncJob {
    fn name(&self) -> &'static str {
        "directory-index"
    }

    fn interval(&self) -> Duration {
        Duration::from_secs(5)
    }

    fn per_node(&self) -> bool {
        true
    }

    fn run(&self, state: &AppState) -> anyhow::Result<JobReport> {
        let mut conn = state.db.get()?;
        let n = state.search.sync(&mut conn)?;
        Ok(JobReport { done: n, failed: 0, detail: format!("{} documents", state.search.num_docs()) })
    }
}
