//! The places one can search around: every commune that has geolocated entries, with the centre
//! of those entries, found by postal code, INSEE code or name (accents and case ignored). Kept
//! in memory and refreshed with the index.

use std::collections::HashMap;

use levenshtein_automata::{DFA, Distance, SINK_STATE};
use tantivy_fst::{IntoStreamer, Streamer};

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
#[derive(Debug)]
pub struct Places {
    entries: Vec<Entry>,
    /// Position in `entries` by INSEE code (facet labels are looked up on every page).
    by_insee: HashMap<String, usize>,
    /// Positions in `entries` by folded name (every query's last words are looked up).
    by_name: HashMap<String, Vec<usize>>,
    /// The folded names, for the typo search (a Levenshtein automaton walks them).
    names: tantivy_fst::Map<Vec<u8>>,
}

/// A group of entries of one commune: (insee, town, postal code, latitude, longitude, count).
pub type Row = (Option<String>, Option<String>, Option<String>, Option<f64>, Option<f64>, i64);

impl Default for Places {
    fn default() -> Self {
        Self::from_rows(std::iter::empty())
    }
}

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
        let mut by_name: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, e) in entries.iter().enumerate() {
            by_name.entry(e.folded.clone()).or_default().push(i);
        }
        // Homonyms, the commune with the most entries first (the one a user most likely means).
        for same in by_name.values_mut() {
            same.sort_by_key(|&i| (std::cmp::Reverse(entries[i].weight), i));
        }
        let by_insee = entries.iter().enumerate().map(|(i, e)| (e.place.insee.clone(), i)).collect();
        let mut names: Vec<&str> = by_name.keys().map(String::as_str).collect();
        names.sort_unstable();
        let names = tantivy_fst::Map::from_iter(names.into_iter().map(|n| (n, 0))).expect("sorted, unique names");
        Self { entries, by_insee, by_name, names }
    }

    /// INSEE codes of the communes whose folded name is exactly `folded` (« saint denis » is
    /// several communes), the one with the most entries first.
    pub fn codes_named(&self, folded: &str) -> Vec<&str> {
        self.by_name
            .get(folded)
            .map_or_else(Vec::new, |found| found.iter().map(|&i| self.entries[i].place.insee.as_str()).collect())
    }

    /// INSEE codes of the communes whose folded name is within `max` typos of `folded` (an
    /// insertion, deletion, substitution or swap of two neighbours each), the closest only:
    /// « marxseille » is Marseille, « sanit egfreve » Saint-Égrève. Empty when none is close.
    pub fn codes_near(&self, folded: &str, max: usize) -> Vec<&str> {
        let dfa = super::expand::builder(max.min(2) as u8).build_dfa(folded);
        let mut stream = self.names.search(Automaton(&dfa)).into_stream();
        let mut best: (u8, Vec<&str>) = (u8::MAX, Vec::new());
        while let Some((name, _)) = stream.next() {
            let Ok(name) = std::str::from_utf8(name) else { continue };
            let Distance::Exact(d) = dfa.eval(name) else { continue };
            if d < best.0 {
                best = (d, Vec::new());
            }
            if d == best.0 {
                best.1.extend(self.codes_named(name));
            }
        }
        best.1
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
        let named = self.by_name.get(&folded).map(Vec::as_slice).unwrap_or_default();
        best(&mut named.iter().map(|&i| &self.entries[i]))
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

/// The optimal-string-alignment distance between `a` and `b` (one typo: an insertion, a
/// deletion, a substitution or two neighbours swapped), or `None` once it exceeds `max`.
/// A Levenshtein automaton over the names' bytes (it counts typos in characters); a swap of
/// two neighbours is one typo.
struct Automaton<'a>(&'a DFA);

impl tantivy_fst::Automaton for Automaton<'_> {
    type State = u32;

    fn start(&self) -> u32 {
        self.0.initial_state()
    }

    fn is_match(&self, state: &u32) -> bool {
        matches!(self.0.distance(*state), Distance::Exact(_))
    }

    fn can_match(&self, state: &u32) -> bool {
        *state != SINK_STATE
    }

    fn accept(&self, state: &u32, byte: u8) -> u32 {
        self.0.transition(*state, byte)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_closest_communes_win() {
        let row = |insee: &str, city: &str| (Some(insee.into()), Some(city.into()), None, Some(45.0), Some(5.0), 1);
        let places = Places::from_rows(
            [row("13055", "Marseille"), row("38382", "Saint-Égrève"), row("37261", "Tours"), row("37999", "Tour")]
                .into_iter(),
        );
        assert_eq!(places.codes_near("marxseille", 2), vec!["13055"]);
        assert_eq!(places.codes_near("sanit egfreve", 2), vec!["38382"]);
        // One typo from « tours » (a swap) and from « tour » (an extra letter): both are meant.
        let mut tours = places.codes_near("tousr", 1);
        tours.sort_unstable();
        assert_eq!(tours, vec!["37261", "37999"]);
        assert!(places.codes_near("lyon", 1).is_empty());
        // The exact name beats the one a typo away.
        assert_eq!(places.codes_near("tour", 1), vec!["37999"]);
        // A word is not a typo of the longer name that ends with it.
        assert!(places.codes_near("seille", 2).is_empty());
        let more = Places::from_rows(
            [row("95280", "Goussainville"), row("74040", "Boëge"), row("03013", "Ainay-le-Château")].into_iter(),
        );
        assert_eq!(more.codes_near("goussaivnille", 2), vec!["95280"]);
        assert_eq!(more.codes_near("boge", 1), vec!["74040"]);
        assert_eq!(more.codes_near("ainay chatteau", 2), vec!["03013"]);
        assert!(more.codes_near("ainay", 2).is_empty());
    }
}
