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
    /// `folded`'s characters (the typo distance compares characters).
    chars: Vec<char>,
    postal_codes: Vec<String>,
    weight: i64,
}

/// The gazetteer.
#[derive(Debug, Default)]
pub struct Places {
    entries: Vec<Entry>,
    /// Position in `entries` by INSEE code (facet labels are looked up on every page).
    by_insee: HashMap<String, usize>,
    /// Positions in `entries` by folded name (every query's last words are looked up).
    by_name: HashMap<String, Vec<usize>>,
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
                chars: Vec::new(),
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
        let mut entries: Vec<Entry> = by_insee.into_values().collect();
        let mut by_name: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, e) in entries.iter_mut().enumerate() {
            e.chars = e.folded.chars().collect();
            by_name.entry(e.folded.clone()).or_default().push(i);
        }
        let by_insee = entries.iter().enumerate().map(|(i, e)| (e.place.insee.clone(), i)).collect();
        Self { entries, by_insee, by_name }
    }

    /// INSEE codes of the communes whose folded name is exactly `folded` (« saint denis » is
    /// several communes).
    pub fn codes_named(&self, folded: &str) -> Vec<&str> {
        self.by_name
            .get(folded)
            .map_or_else(Vec::new, |found| found.iter().map(|&i| self.entries[i].place.insee.as_str()).collect())
    }

    /// INSEE codes of the communes whose folded name is within `max` typos of `folded` (an
    /// insertion, deletion, substitution or swap of two neighbours each), the closest only:
    /// « marxseille » is Marseille, « sanit egfreve » Saint-Égrève. Empty when none is close.
    pub fn codes_near(&self, folded: &str, max: usize) -> Vec<&str> {
        let target: Vec<char> = folded.chars().collect();
        let mut best = (max + 1, Vec::new());
        for e in &self.entries {
            if e.chars.len().abs_diff(target.len()) > max {
                continue;
            }
            let Some(d) = typos_within(&target, &e.chars, best.0.min(max)) else { continue };
            if d > max {
                continue;
            }
            if d < best.0 {
                best = (d, Vec::new());
            }
            if d == best.0 {
                best.1.push(e.place.insee.as_str());
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
fn typos_within(a: &[char], b: &[char], max: usize) -> Option<usize> {
    let width = b.len() + 1;
    // Three rows: the one before the previous (for swaps), the previous, the current.
    let mut rows = vec![vec![0usize; width]; 3];
    for (j, cell) in rows[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        let (cur, prev, prev2) = (i % 3, (i + 2) % 3, (i + 1) % 3);
        rows[cur][0] = i;
        let mut row_min = i;
        for j in 1..width {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut d = (rows[prev][j] + 1).min(rows[cur][j - 1] + 1).min(rows[prev][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(rows[prev2][j - 2] + 1);
            }
            rows[cur][j] = d;
            row_min = row_min.min(d);
        }
        if row_min > max {
            return None;
        }
    }
    let d = rows[a.len() % 3][b.len()];
    (d <= max).then_some(d)
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

    fn chars(s: &str) -> Vec<char> {
        s.chars().collect()
    }

    #[test]
    fn typos_count_insertions_deletions_substitutions_and_swaps() {
        assert_eq!(typos_within(&chars("marseille"), &chars("marseille"), 2), Some(0));
        assert_eq!(typos_within(&chars("marxseille"), &chars("marseille"), 2), Some(1));
        assert_eq!(typos_within(&chars("goussaivnille"), &chars("goussainville"), 2), Some(1));
        assert_eq!(typos_within(&chars("sanit egfreve"), &chars("saint egreve"), 2), Some(2));
        assert_eq!(typos_within(&chars("boge"), &chars("boege"), 1), Some(1));
        assert_eq!(typos_within(&chars("lyon"), &chars("nancy"), 2), None);
        assert_eq!(typos_within(&chars(""), &chars("ab"), 2), Some(2));
        // A word is not a typo of the longer name that ends with it.
        assert_eq!(typos_within(&chars("seille"), &chars("marseille"), 2), None);
    }

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
    }
}
