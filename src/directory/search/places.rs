//! The places one can search around: every commune that has geolocated entries, with the centre
//! of those entries, found by postal code, INSEE code or name (accents and case ignored). Kept
//! in memory and refreshed with the index.

use std::collections::HashMap;

use diesel::dsl::{avg, count_star};
use diesel::prelude::*;

use super::text::fold_words;
use crate::db::DbConn;
use crate::db::schema::{dir_offers, dir_sites};
use crate::directory::model::Place;

/// A commune of the gazetteer.
#[derive(Debug, Clone)]
struct Entry {
    place: Place,
    folded: String,
    postal_codes: Vec<String>,
    weight: i64,
}

/// The gazetteer.
#[derive(Debug, Default)]
pub struct Places {
    entries: Vec<Entry>,
    /// Position in `entries` by INSEE code (facet labels are looked up on every page).
    by_insee: HashMap<String, usize>,
}

/// A group of entries of one commune: (insee, town, postal code, latitude, longitude, count).
pub type Row = (Option<String>, Option<String>, Option<String>, Option<f64>, Option<f64>, i64);

impl Places {
    /// Loads the communes of the sites and offers of the directory.
    pub fn load(conn: &mut DbConn) -> QueryResult<Self> {
        let sites: Vec<Row> = dir_sites::table
            .filter(dir_sites::status.eq("active").and(dir_sites::lat.is_not_null()))
            .group_by((dir_sites::commune_insee, dir_sites::city, dir_sites::postal_code))
            .select((
                dir_sites::commune_insee,
                dir_sites::city,
                dir_sites::postal_code,
                avg(dir_sites::lat),
                avg(dir_sites::lon),
                count_star(),
            ))
            .load(conn)?;
        let offers: Vec<Row> = dir_offers::table
            // Sensitive units do not lend their position to a commune anyone can search around.
            .filter(dir_offers::status.eq("active").and(dir_offers::lat.is_not_null()))
            .filter(dir_offers::sensitive.eq(false))
            .group_by((dir_offers::commune_insee, dir_offers::city, dir_offers::postal_code))
            .select((
                dir_offers::commune_insee,
                dir_offers::city,
                dir_offers::postal_code,
                avg(dir_offers::lat),
                avg(dir_offers::lon),
                count_star(),
            ))
            .load(conn)?;
        Ok(Self::from_rows(sites.into_iter().chain(offers)))
    }

    /// Builds the gazetteer from (insee, town, postal code, latitude, longitude, entries) groups.
    pub fn from_rows(rows: impl Iterator<Item = Row>) -> Self {
        let mut by_insee: HashMap<String, Entry> = HashMap::new();
        for (insee, city, postal, lat, lon, n) in rows {
            let (Some(insee), Some(city), Some(lat), Some(lon)) = (insee, city, lat, lon) else { continue };
            let city = city.trim_end_matches(" CEDEX").trim().to_owned();
            let e = by_insee.entry(insee.clone()).or_insert_with(|| Entry {
                place: Place { name: pretty(&city), insee, lat: 0.0, lon: 0.0 },
                folded: fold_words(&city).join(" "),
                postal_codes: Vec::new(),
                weight: 0,
            });
            // Weighted mean of the groups' centres.
            let total = (e.weight + n) as f64;
            e.place.lat = (e.place.lat * e.weight as f64 + lat * n as f64) / total;
            e.place.lon = (e.place.lon * e.weight as f64 + lon * n as f64) / total;
            e.weight += n;
            if let Some(p) = postal.filter(|p| !e.postal_codes.contains(p)) {
                e.postal_codes.push(p);
            }
            if city.chars().any(char::is_lowercase) {
                e.place.name = city;
            }
        }
        let entries: Vec<Entry> = by_insee.into_values().collect();
        let by_insee = entries.iter().enumerate().map(|(i, e)| (e.place.insee.clone(), i)).collect();
        Self { entries, by_insee }
    }

    /// INSEE codes of the communes whose folded name is exactly `folded` (« saint denis » is
    /// several communes).
    pub fn codes_named(&self, folded: &str) -> Vec<&str> {
        self.entries.iter().filter(|e| e.folded == folded).map(|e| e.place.insee.as_str()).collect()
    }

    /// The commune a user means: postal code, INSEE code, exact name, then name prefix; the
    /// one with the most entries wins.
    pub fn find(&self, input: &str) -> Option<Place> {
        let input = input.trim();
        let best = |it: &mut dyn Iterator<Item = &Entry>| it.max_by_key(|e| e.weight).map(|e| e.place.clone());
        if input.len() == 5 && input.bytes().all(|b| b.is_ascii_alphanumeric()) {
            if let Some(p) = best(
                &mut self
                    .entries
                    .iter()
                    .filter(|e| e.place.insee == input || e.postal_codes.iter().any(|p| p == input)),
            ) {
                return Some(p);
            }
        }
        let folded = fold_words(input).join(" ");
        if folded.is_empty() {
            return None;
        }
        best(&mut self.entries.iter().filter(|e| e.folded == folded))
            .or_else(|| best(&mut self.entries.iter().filter(|e| e.folded.starts_with(&folded))))
    }

    /// The name of a commune, by INSEE code.
    pub fn name_of(&self, insee: &str) -> Option<&str> {
        self.by_insee.get(insee).map(|&i| self.entries[i].place.name.as_str())
    }

    /// A commune by INSEE code.
    pub fn place_of(&self, insee: &str) -> Option<Place> {
        self.by_insee.get(insee).map(|&i| self.entries[i].place.clone())
    }

    /// The postal codes seen for a commune (several for large towns, none if no entry gave one).
    pub fn postal_codes_of(&self, insee: &str) -> &[String] {
        self.by_insee.get(insee).map_or(&[], |&i| self.entries[i].postal_codes.as_slice())
    }

    /// Number of communes known.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no commune is known.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// "ASNIERES SUR SEINE" → "Asnieres Sur Seine" (FINESS prints towns in capitals).
fn pretty(city: &str) -> String {
    if city.chars().any(char::is_lowercase) {
        return city.to_owned();
    }
    city.split(' ')
        .map(|w| {
            let mut c = w.chars();
            c.next().map(|f| f.to_string() + &c.as_str().to_lowercase()).unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join(" ")
}
