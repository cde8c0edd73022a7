//! The extract read in two passes over a file, so an import of a million records never holds
//! them all (SPEC DIR-3).
//!
//! The etalab file lists every `structureet` line, then every `geolocalisation` line; the
//! content hash of an establishment covers its coordinates, so it can only be computed once
//! both are known. Pass 1 ([`scan_geolocations`]) keeps the geolocations only, in a compact
//! sorted index (about 80 bytes each); pass 2 ([`GeoIndex::stream`]) yields the establishments
//! one at a time with their geolocation. The result is exactly the one of
//! [`super::parse_reader`]: same establishments in the same order, same rejected records
//! (checked by the tests on every fixture).

use std::collections::HashMap;
use std::io::BufRead;

use chrono::NaiveDate;

use super::{
    FieldError, FileHeader, FinessCsvError, FinessCsvImport, FinessEstablishment, GEOLOCALISATION_COLUMNS, Geolocation,
    Next, RawRecord, RecordPosition, RecordReader, Rejected, STRUCTUREET_COLUMNS, SourceEncoding, build_establishment,
    build_geolocation, check_finess, checked_row, quoted,
};
use crate::directory::finess::ProjectedPoint;

/// A FINESS number as its 9 ASCII bytes (checked before it becomes a key).
type Key = [u8; 9];

fn key_of(finess: &str) -> Option<Key> {
    finess.as_bytes().try_into().ok()
}

/// A geolocation without its strings: the provenance text is interned.
#[derive(Debug, Clone, Copy)]
struct CompactGeo {
    lat: f64,
    lon: f64,
    projected: Option<ProjectedPoint>,
    axes_swapped: bool,
    /// Index in [`GeoIndex::sources`], `u32::MAX` when absent.
    source: u32,
    updated_on: Option<NaiveDate>,
}

/// What pass 1 found for one `geolocalisation` line with a valid FINESS number.
#[derive(Debug, Clone, Copy)]
enum GeoOutcome {
    /// Valid; `None` when the line has no coordinates.
    Valid(Option<CompactGeo>),
    /// Invalid: the error is `GeoIndex::errors[i]` (its line is rejected unless it follows a valid one).
    Invalid(u32),
}

#[derive(Debug, Clone, Copy)]
struct GeoEntry {
    key: Key,
    line: u64,
    outcome: GeoOutcome,
    /// Set in pass 2 when an establishment took it.
    used: bool,
}

/// The geolocations of an extract (pass 1), sorted by FINESS number.
#[derive(Debug, Default)]
pub struct GeoIndex {
    entries: Vec<GeoEntry>,
    errors: Vec<FieldError>,
    sources: Vec<String>,
    source_ids: HashMap<String, u32>,
    rejected: Vec<Rejected>,
}

/// Pass 1: reads the header and keeps the geolocations; everything else is left to pass 2.
pub fn scan_geolocations<R: BufRead>(reader: R) -> Result<GeoIndex, FinessCsvError> {
    let mut records = RecordReader::new(reader);
    records.skip = Some("structureet;");
    records.read_header()?;
    let mut index = GeoIndex::default();
    loop {
        match records.next_record()? {
            Next::End => break,
            // Line-level problems are reported once, by pass 2.
            Next::Rejected(_) => {}
            Next::Record(record) => {
                if record.fields.first().map(|s| s.trim()) == Some("geolocalisation") {
                    index.add(&record);
                }
            }
        }
    }
    index.settle();
    Ok(index)
}

impl GeoIndex {
    fn add(&mut self, record: &RawRecord) {
        let checked =
            checked_row(record, "geolocalisation", &GEOLOCALISATION_COLUMNS).and_then(|row| Ok((row.finess(1)?, row)));
        let (finess, row) = match checked {
            Ok(found) => found,
            Err(err) => {
                let finess = record.fields.get(1).map(|f| f.trim()).filter(|f| check_finess("", f).is_ok());
                self.rejected.push(err.reject(RecordPosition::Line(record.line), finess));
                return;
            }
        };
        let key = key_of(&finess).expect("a checked FINESS number has 9 bytes");
        let outcome = match build_geolocation(&row) {
            Ok(geo) => GeoOutcome::Valid(geo.map(|g| self.compact(g))),
            Err(err) => {
                self.errors.push(err);
                GeoOutcome::Invalid(u32::try_from(self.errors.len() - 1).unwrap_or(u32::MAX))
            }
        };
        self.entries.push(GeoEntry { key, line: record.line, outcome, used: false });
    }

    fn compact(&mut self, g: Geolocation) -> CompactGeo {
        let source = match g.source {
            None => u32::MAX,
            Some(text) => match self.source_ids.get(&text) {
                Some(&id) => id,
                None => {
                    let id = u32::try_from(self.sources.len()).unwrap_or(u32::MAX - 1);
                    self.sources.push(text.clone());
                    self.source_ids.insert(text, id);
                    id
                }
            },
        };
        CompactGeo {
            lat: g.lat,
            lon: g.lon,
            projected: g.projected,
            axes_swapped: g.axes_swapped,
            source,
            updated_on: g.updated_on,
        }
    }

    /// Applies the in-memory parser's rule per FINESS number, in line order: invalid lines
    /// before the first valid one are rejected with their own error; every line after it is a
    /// duplicate. Keeps the first valid line of each number.
    fn settle(&mut self) {
        self.entries.sort_unstable_by_key(|e| (e.key, e.line));
        let (errors, rejected) = (&self.errors, &mut self.rejected);
        let mut first_valid: Option<(Key, u64)> = None;
        // In place: a second copy of a million entries is what this index avoids.
        self.entries.retain(|entry| {
            let finess = || String::from_utf8_lossy(&entry.key).into_owned();
            if let Some((_, first)) = first_valid.filter(|(k, _)| *k == entry.key) {
                let reason = format!("duplicate geolocalisation, first seen on line {first}");
                let err = FieldError::new("nofinesset", reason);
                rejected.push(err.reject(RecordPosition::Line(entry.line), Some(&finess())));
                return false;
            }
            match entry.outcome {
                GeoOutcome::Invalid(i) => {
                    let err = errors[i as usize].clone();
                    rejected.push(err.reject(RecordPosition::Line(entry.line), Some(&finess())));
                    false
                }
                GeoOutcome::Valid(_) => {
                    first_valid = Some((entry.key, entry.line));
                    true
                }
            }
        });
        self.entries.shrink_to_fit();
        self.errors = Vec::new();
        self.source_ids = HashMap::new();
    }

    fn take(&mut self, finess: &str) -> Option<Geolocation> {
        let key = key_of(finess)?;
        let at = self.entries.binary_search_by_key(&key, |e| e.key).ok()?;
        let entry = &mut self.entries[at];
        entry.used = true;
        let GeoOutcome::Valid(Some(g)) = entry.outcome else { return None };
        Some(Geolocation {
            lat: g.lat,
            lon: g.lon,
            projected: g.projected,
            axes_swapped: g.axes_swapped,
            source: self.sources.get(g.source as usize).cloned(),
            ban_key: None,
            ban_score: None,
            updated_on: g.updated_on,
        })
    }

    /// Pass 2 over the same bytes: yields the establishments in file order.
    pub fn stream<R: BufRead>(self, reader: R) -> Result<EstablishmentStream<R>, FinessCsvError> {
        let mut records = RecordReader::new(reader);
        records.skip = Some("geolocalisation;");
        let header = records.read_header()?;
        Ok(EstablishmentStream { records, header, geo: self, seen: HashMap::new(), rejected: Vec::new() })
    }
}

/// Pass 2: the establishments of the extract, one at a time.
pub struct EstablishmentStream<R> {
    records: RecordReader<R>,
    header: FileHeader,
    geo: GeoIndex,
    /// FINESS ET → line of its `structureet`, to reject duplicates (`u32::MAX`: beyond).
    seen: HashMap<Key, u32>,
    rejected: Vec<Rejected>,
}

impl<R: BufRead> EstablishmentStream<R> {
    /// The metadata first line.
    pub fn header(&self) -> &FileHeader {
        &self.header
    }

    /// The next valid establishment, `None` at the end of the file.
    pub fn next_establishment(&mut self) -> Result<Option<FinessEstablishment>, FinessCsvError> {
        loop {
            let record = match self.records.next_record()? {
                Next::End => return Ok(None),
                Next::Rejected(rejected) => {
                    self.rejected.push(rejected);
                    continue;
                }
                Next::Record(record) => record,
            };
            let section = record.fields.first().map(|s| s.trim()).unwrap_or_default();
            let result = match section {
                "structureet" => self.structure(&record),
                // Read by pass 1.
                "geolocalisation" => Ok(None),
                other => Err(FieldError::new("section", format!("unknown section {}", quoted(other)))),
            };
            match result {
                Ok(Some(establishment)) => return Ok(Some(establishment)),
                Ok(None) => {}
                Err(err) => {
                    let finess = record.fields.get(1).map(|f| f.trim()).filter(|f| check_finess("", f).is_ok());
                    self.rejected.push(err.reject(RecordPosition::Line(record.line), finess));
                }
            }
        }
    }

    fn structure(&mut self, record: &RawRecord) -> Result<Option<FinessEstablishment>, FieldError> {
        let row = checked_row(record, "structureet", &STRUCTUREET_COLUMNS)?;
        let mut establishment = build_establishment(&row)?;
        let key = key_of(&establishment.finess_et).expect("a checked FINESS number has 9 bytes");
        if let Some(&first) = self.seen.get(&key) {
            let first =
                if first == u32::MAX { "a line past 4,294,967,294".to_owned() } else { format!("line {first}") };
            return Err(FieldError::new("nofinesset", format!("duplicate structureet, first seen on {first}")));
        }
        self.seen.insert(key, u32::try_from(record.line).unwrap_or(u32::MAX));
        establishment.geolocation = self.geo.take(&establishment.finess_et);
        Ok(Some(establishment))
    }

    /// Ends the stream: the rejected records of both passes in line order, with the
    /// geolocations no establishment took; the encoding; the number of lines.
    pub fn finish(mut self) -> (Vec<Rejected>, SourceEncoding, u64) {
        let mut rejected = std::mem::take(&mut self.geo.rejected);
        rejected.append(&mut self.rejected);
        for entry in self.geo.entries.iter().filter(|e| !e.used) {
            if let GeoOutcome::Valid(Some(_)) = entry.outcome {
                let finess = String::from_utf8_lossy(&entry.key).into_owned();
                let error = FieldError::new("nofinesset", "no structureet line has this FINESS number");
                rejected.push(error.reject(RecordPosition::Line(entry.line), Some(&finess)));
            }
        }
        rejected.sort_by_key(|r| match r.position {
            RecordPosition::Line(n) => n,
            RecordPosition::JsonPath(_) => u64::MAX,
        });
        (rejected, self.records.lines.encoding, self.records.lines.line_no)
    }
}

/// Both passes over bytes in memory, collected: equal to [`super::parse_bytes`] (for tests).
pub fn parse_two_pass(bytes: &[u8]) -> Result<FinessCsvImport, FinessCsvError> {
    let mut stream = scan_geolocations(bytes)?.stream(bytes)?;
    let mut establishments = Vec::new();
    while let Some(e) = stream.next_establishment()? {
        establishments.push(e);
    }
    let header = stream.header().clone();
    let (rejected, encoding, lines) = stream.finish();
    Ok(FinessCsvImport { header, encoding, establishments, rejected, lines })
}
