//! Capacities of the place of an offer, as rows (`dir_capacities`, DOMAIN.md §1.4): one per
//! nature (TRE_R329: lit, place) × status (TRE_R330: installé, disponible…) × temporality
//! (TRE_R331) with its count and the date the count was given, each code kept as (system, code,
//! label at import). The FHIR import replaces an offer's rows whenever the offer changes, in its
//! transaction; the sheet reads them; the search index reads the available places from them.

use std::collections::HashMap;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::details::CapacityRow;
use super::fhir::{Coding, FhirLocation};
use crate::db::DbConn;
use crate::db::schema::dir_capacities;

/// TRE_R330 « Disponible » (DOMAIN.md §1.4: `01` Installé, `02` Disponible, `03` Occupé…).
pub const STATUS_AVAILABLE: &str = "02";
/// TRE_R331 code of the immediate temporality (« Courant »), the one the ROR flows and the demo
/// use for the count of now. DOMAIN.md §1.4: "available beds" = status 02 at the "immediate"
/// temporality. A record without a temporality is read as immediate (the IG makes it mandatory:
/// its absence is a defect of the record, not a forecast).
pub const TEMPORALITY_IMMEDIATE: &str = "01";
/// TRE_R329 « Lit » (`02` is « Place »).
pub const NATURE_BED: &str = "01";

/// A stored capacity row.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = dir_capacities)]
pub struct Capacity {
    /// Id.
    pub id: i64,
    /// The offer.
    pub offer_id: i64,
    /// FHIR id of the Location it was read from.
    pub location_key: Option<String>,
    /// TRE_R329 system.
    pub nature_system: String,
    /// TRE_R329 code.
    pub nature_code: String,
    /// Label at import.
    pub nature_label: String,
    /// TRE_R330 system.
    pub status_system: String,
    /// TRE_R330 code.
    pub status_code: String,
    /// Label at import.
    pub status_label: String,
    /// TRE_R331 system.
    pub temporality_system: Option<String>,
    /// TRE_R331 code.
    pub temporality_code: Option<String>,
    /// Label at import.
    pub temporality_label: Option<String>,
    /// How many.
    pub count: i32,
    /// When the count was given (`capacityUpdateDate`, UTC).
    pub updated_on: Option<NaiveDateTime>,
    /// Created here.
    pub created_at: NaiveDateTime,
    /// Changed here.
    pub updated_at: NaiveDateTime,
}

impl Capacity {
    /// Whether it counts places free now (see [`STATUS_AVAILABLE`], [`TEMPORALITY_IMMEDIATE`]).
    pub fn is_available_now(&self) -> bool {
        is_available_now(&self.status_code, self.temporality_code.as_deref(), self.count)
    }

    /// As the sheet shows it.
    pub fn row(&self) -> CapacityRow {
        CapacityRow {
            nature: self.nature_label.clone(),
            status: self.status_label.clone(),
            temporality: self.temporality_label.clone(),
            count: u32::try_from(self.count).unwrap_or(0),
            updated_at: self.updated_on,
        }
    }
}

fn is_available_now(status: &str, temporality: Option<&str>, count: i32) -> bool {
    status == STATUS_AVAILABLE && temporality.is_none_or(|t| t == TEMPORALITY_IMMEDIATE) && count > 0
}

/// The columns the import writes.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = dir_capacities)]
struct CapacityValues {
    offer_id: i64,
    location_key: Option<String>,
    nature_system: String,
    nature_code: String,
    nature_label: String,
    status_system: String,
    status_code: String,
    status_label: String,
    temporality_system: Option<String>,
    temporality_code: Option<String>,
    temporality_label: Option<String>,
    count: i32,
    updated_on: Option<NaiveDateTime>,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

/// Labels of TRE_R331 codes, which `data/nos/` does not hold (transcribed from ansforge/IG-NOS
/// as the demo generator does); other codes keep their display, else their code.
fn temporality_label(c: &Coding) -> String {
    c.display.clone().unwrap_or_else(|| match c.code.as_str() {
        TEMPORALITY_IMMEDIATE => "Courant".to_owned(),
        other => other.to_owned(),
    })
}

/// Replaces the capacity rows of an offer by those of its location (none when it has none).
pub(super) fn replace(
    c: &mut DbConn,
    offer_id: i64,
    location: Option<&FhirLocation>,
    label: &dyn Fn(&Coding) -> String,
    now: NaiveDateTime,
) -> QueryResult<()> {
    diesel::delete(dir_capacities::table.filter(dir_capacities::offer_id.eq(offer_id))).execute(c)?;
    let Some(location) = location else { return Ok(()) };
    let rows: Vec<CapacityValues> = location
        .capacities
        .iter()
        .map(|cap| CapacityValues {
            offer_id,
            location_key: Some(location.id.clone()),
            nature_system: cap.nature.system.clone(),
            nature_code: cap.nature.code.clone(),
            nature_label: label(&cap.nature),
            status_system: cap.status.system.clone(),
            status_code: cap.status.code.clone(),
            status_label: label(&cap.status),
            temporality_system: cap.temporality.as_ref().map(|t| t.system.clone()),
            temporality_code: cap.temporality.as_ref().map(|t| t.code.clone()),
            temporality_label: cap.temporality.as_ref().map(temporality_label),
            count: i32::try_from(cap.count).unwrap_or(i32::MAX),
            updated_on: cap.updated_at.map(|t| t.naive_utc()),
            created_at: now,
            updated_at: now,
        })
        .collect();
    // One statement per row: the multi-backend connection has no batch insert (a place has a
    // handful of records).
    for row in &rows {
        diesel::insert_into(dir_capacities::table).values(row).execute(c)?;
    }
    Ok(())
}

/// The capacity rows of an offer, in the order of its source.
pub fn of_offer(conn: &mut DbConn, offer_id: i64) -> QueryResult<Vec<Capacity>> {
    dir_capacities::table
        .filter(dir_capacities::offer_id.eq(offer_id))
        .order(dir_capacities::id.asc())
        .select(Capacity::as_select())
        .load(conn)
}

/// The places free now of an offer: how many, of what nature, as of when.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Availability {
    /// Sum of the available counts.
    pub count: u32,
    /// `lit` when every counted record is of beds, `place` otherwise.
    pub nature: &'static str,
    /// The latest update date of the counted records.
    pub updated_on: Option<NaiveDate>,
}

/// Offer, status, temporality, nature, count and date of a capacity row.
type AvailabilityRow = (i64, String, Option<String>, String, i32, Option<NaiveDateTime>);

/// The available places of offers (only those that have some), one query per 500 offers.
pub fn availability(conn: &mut DbConn, offer_ids: &[i64]) -> QueryResult<HashMap<i64, Availability>> {
    let mut out: HashMap<i64, Availability> = HashMap::new();
    let mut beds_only: HashMap<i64, bool> = HashMap::new();
    for chunk in offer_ids.chunks(500) {
        let rows: Vec<AvailabilityRow> = dir_capacities::table
            .filter(dir_capacities::offer_id.eq_any(chunk))
            .filter(dir_capacities::status_code.eq(STATUS_AVAILABLE))
            .filter(dir_capacities::count.gt(0))
            .select((
                dir_capacities::offer_id,
                dir_capacities::status_code,
                dir_capacities::temporality_code,
                dir_capacities::nature_code,
                dir_capacities::count,
                dir_capacities::updated_on,
            ))
            .load(conn)?;
        for (offer, status, temporality, nature, count, on) in rows {
            if !is_available_now(&status, temporality.as_deref(), count) {
                continue;
            }
            let a = out.entry(offer).or_default();
            a.count = a.count.saturating_add(u32::try_from(count).unwrap_or(0));
            a.updated_on = a.updated_on.max(on.map(|t| t.date()));
            let beds = beds_only.entry(offer).or_insert(true);
            *beds &= nature == NATURE_BED;
            a.nature = if *beds { "lit" } else { "place" };
        }
    }
    Ok(out)
}

/// « 3 places disponibles (au 12/11/2026) », « 1 lit disponible ».
pub fn describe(count: u32, nature: &str, on: Option<NaiveDate>) -> String {
    let plural = if count > 1 { "s" } else { "" };
    let nature = if nature == "lit" { "lit" } else { "place" };
    let date = on.map(|d| format!(" (au {})", d.format("%d/%m/%Y"))).unwrap_or_default();
    format!("{count} {nature}{plural} disponible{plural}{date}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_positive_available_counts_of_now_count() {
        assert!(is_available_now("02", Some("01"), 3));
        assert!(is_available_now("02", None, 1));
        assert!(!is_available_now("02", Some("01"), 0));
        assert!(!is_available_now("01", Some("01"), 35));
        assert!(!is_available_now("02", Some("02"), 4));
    }

    #[test]
    fn availability_reads_as_french() {
        let d = NaiveDate::from_ymd_opt(2026, 11, 12);
        assert_eq!(describe(3, "place", d), "3 places disponibles (au 12/11/2026)");
        assert_eq!(describe(1, "lit", None), "1 lit disponible");
    }
}
