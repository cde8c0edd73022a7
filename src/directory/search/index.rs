//! The index: schema, (re)building from the database, applying the change feed.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use tantivy::schema::{FAST, Field, INDEXED, STORED, STRING, Schema, TextFieldIndexing, TextOptions};
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term, doc};

use super::places::Places;
use super::text::{FRENCH, FRENCH_WORDS, Synonyms, fold_words, french_analyzer, french_words_analyzer};
use crate::db::DbConn;
use crate::db::schema::{dir_changes, dir_offers, dir_sites};
use crate::directory::capacities::{self, Availability};
use crate::directory::model::Site;
use crate::directory::offers::Offer;

/// Bumped whenever the schema or the analysis changes: an index of another version is rebuilt.
pub const SCHEMA_VERSION: u32 = 14;

/// The `public` term of the sensitive units (DIR-4), which anonymous searches exclude; the
/// other entries hold `1`.
pub const SENSITIVE: &str = "0";

/// Memory of the writer that only merges segments (tantivy's minimum is 15 MB).
const MERGE_HEAP: usize = 16 * 1024 * 1024;

/// Memory given to the index writer.
const WRITER_HEAP: usize = 64 * 1024 * 1024;

/// The fields of the schema.
#[derive(Clone, Copy)]
pub(super) struct Fields {
    pub id: Field,
    pub name: Field,
    /// Every text field at once: where typos and prefixes are looked up (one automaton per word).
    pub all: Field,
    pub category_code: Field,
    pub departement: Field,
    pub insee: Field,
    pub lat: Field,
    pub lon: Field,
    pub age_min: Field,
    pub age_max: Field,
    pub publics: Field,
    /// `1` on entries anyone may find, [`SENSITIVE`] on sensitive units (DIR-4: logged-in
    /// accounts only).
    pub public: Field,
    /// `1` on offers with places available now ([`crate::directory::capacities`]).
    pub available: Field,
    pub card: Field,
    /// Exact codes for structured filters (see [`code`]).
    pub codes: Field,
    /// Last change, seconds since 1970 (UTC).
    pub updated: Field,
    /// Every text, unstemmed: where a word with a typo and the word being typed are looked up.
    pub words: Field,
    /// The grid cells of the entry's position at each of [`CELL_DEGREES`] (see [`cell`]).
    pub cells: Field,
    /// What the entry is: its name, its category and their synonyms, without its activities,
    /// publics or address (a search around a point lists these matches first).
    pub title: Field,
}

/// Sizes, in degrees, of the grid cells an entry's position is indexed in: a search around a
/// point first keeps the entries of the few cells that cover its radius (a dozen at most),
/// so the distance is computed for those only, not for every match in France.
pub const CELL_DEGREES: [f64; 3] = [0.05, 0.2, 1.0];

/// The term of the cell of size `CELL_DEGREES[level]` that holds (lat, lon).
pub fn cell(level: usize, lat: f64, lon: f64) -> String {
    let size = CELL_DEGREES[level];
    cell_at(level, (lat / size).floor() as i64, (lon / size).floor() as i64)
}

/// The term of the cell at row `y`, column `x` of the grid of size `CELL_DEGREES[level]`.
pub fn cell_at(level: usize, y: i64, x: i64) -> String {
    format!("{level}:{y}:{x}")
}

/// The terms of the `codes` field: `<kind>:<value>`, e.g. `specialty:157`; city names are folded.
pub mod code {
    /// `kind:site` or `kind:offer`.
    pub const KIND: &str = "kind";
    /// The id in the source (FHIR id of a ROR offer).
    pub const SOURCE_ID: &str = "id";
    /// A business identifier, as `value` and as `system|value`.
    pub const IDENTIFIER: &str = "identifier";
    /// Champ d'activité (TRE_R227).
    pub const ACTIVITY_FIELD: &str = "type";
    /// Type d'offre (TRE_R244).
    pub const OFFER_TYPE: &str = "category";
    /// Activité opérationnelle (TRE_R211).
    pub const SPECIALTY: &str = "specialty";
    /// Mode de prise en charge (TRE_R213).
    pub const CARE_MODE: &str = "characteristic";
    /// Public pris en charge (TRE_R239).
    pub const PUBLIC: &str = "public";
    /// Postal code.
    pub const POSTAL_CODE: &str = "postalcode";
    /// Town, folded (« asnieres sur seine »).
    pub const CITY: &str = "city";
    /// INSEE commune.
    pub const COMMUNE: &str = "commune";

    /// The term of a code.
    pub fn term(kind: &str, value: &str) -> String {
        format!("{kind}:{value}")
    }
}

fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let text = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(FRENCH)
            // No phrase query reads positions: frequencies are all BM25 needs.
            .set_index_option(tantivy::schema::IndexRecordOption::WithFreqs),
    );
    // Words that only select entries: no frequencies, no length norms.
    let unscored = |tokenizer: &str| {
        TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(tokenizer)
                .set_index_option(tantivy::schema::IndexRecordOption::Basic)
                .set_fieldnorms(false),
        )
    };
    let fields = Fields {
        id: b.add_u64_field("id", INDEXED | FAST | STORED),
        name: b.add_text_field("name", text.clone()),
        all: b.add_text_field("all", text),
        category_code: b.add_text_field("category_code", STRING | FAST),
        departement: b.add_text_field("departement", STRING | FAST),
        insee: b.add_text_field("insee", STRING | FAST),
        // Read per match by the distance sort; the grid cells are what is searched.
        lat: b.add_f64_field("lat", FAST),
        lon: b.add_f64_field("lon", FAST),
        age_min: b.add_i64_field("age_min", INDEXED | FAST),
        age_max: b.add_i64_field("age_max", INDEXED | FAST),
        publics: b.add_text_field("publics", STRING),
        public: b.add_text_field("public", STRING),
        available: b.add_text_field("available", STRING),
        card: b.add_text_field("card", STORED),
        codes: b.add_text_field("codes", STRING),
        updated: b.add_i64_field("updated", INDEXED | FAST),
        cells: b.add_text_field("cells", STRING),
        // Looked up for typos and completions, scored with a constant.
        words: b.add_text_field("words", unscored(FRENCH_WORDS)),
        // A filter: never scored.
        title: b.add_text_field("title", unscored(FRENCH)),
    };
    (b.build(), fields)
}

/// What the index knows of one searchable entry, whatever its source (a FINESS site today,
/// ROR offers next).
#[derive(Debug, Clone, Default)]
pub struct Entry {
    /// Key of the document: the site id, or [`OFFER_KEY_BASE`] + the offer id.
    pub key: u64,
    /// `site` or `offer`.
    pub kind: &'static str,
    /// Id of the site or the offer.
    pub id: i64,
    /// The site an offer belongs to.
    pub subtitle: Option<String>,
    /// Name.
    pub name: String,
    /// Category code.
    pub category_code: Option<String>,
    /// Category label.
    pub category_label: Option<String>,
    /// Category abbreviation (EHPAD, CMP…).
    pub category_sigle: Option<String>,
    /// Activities, as labels.
    pub activities: Vec<String>,
    /// Publics, as codes (filters).
    pub publics: Vec<String>,
    /// Publics, as labels (text).
    pub public_labels: Vec<String>,
    /// Youngest age taken.
    pub age_min: Option<i64>,
    /// Oldest age taken.
    pub age_max: Option<i64>,
    /// Street address.
    pub address: Option<String>,
    /// Postal code.
    pub postal_code: Option<String>,
    /// Town.
    pub city: Option<String>,
    /// INSEE commune.
    pub insee: Option<String>,
    /// INSEE département.
    pub departement: Option<String>,
    /// Latitude.
    pub lat: Option<f64>,
    /// Longitude.
    pub lon: Option<f64>,
    /// Telephone.
    pub phone: Option<String>,
    /// Where the data comes from (`finess`, `ror`).
    pub source: Option<String>,
    /// When the source last changed it (CGU §8.5: the data is declarative, show its freshness).
    pub updated_on: Option<chrono::NaiveDate>,
    /// A sensitive unit: found by logged-in accounts only (DIR-4).
    pub sensitive: bool,
    /// When it last changed, in its source if known (FHIR `_lastUpdated`).
    pub last_updated: Option<chrono::NaiveDateTime>,
    /// Exact codes for structured filters, as [`code::term`]s.
    pub codes: Vec<String>,
    /// Places available now (offers whose place has some).
    pub available: Option<Availability>,
}

/// The codes of a place: postal code, folded town and INSEE commune.
fn place_codes(postal_code: Option<&str>, city: Option<&str>, insee: Option<&str>) -> Vec<String> {
    let city = city.map(|c| fold_words(c).join(" ")).filter(|c| !c.is_empty());
    [(code::POSTAL_CODE, postal_code), (code::CITY, city.as_deref()), (code::COMMUNE, insee)]
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| code::term(k, v)))
        .collect()
}

/// Offers and sites share the index; an offer's key is its id plus this.
pub const OFFER_KEY_BASE: u64 = 1 << 40;

impl From<&Site> for Entry {
    fn from(site: &Site) -> Self {
        Self {
            key: site.id as u64,
            kind: "site",
            id: site.id,
            name: site.name.clone(),
            category_code: site.category_code.clone(),
            category_label: site.category_label.clone(),
            address: site.address_line.clone(),
            postal_code: site.postal_code.clone(),
            city: site.city.clone(),
            insee: site.commune_insee.clone(),
            departement: site.departement.clone(),
            lat: site.lat,
            lon: site.lon,
            phone: site.phone.clone(),
            source: Some(site.source.clone()),
            updated_on: site.source_updated_on,
            last_updated: Some(site.source_updated_on.and_then(|d| d.and_hms_opt(0, 0, 0)).unwrap_or(site.updated_at)),
            codes: std::iter::once(code::term(code::KIND, "site"))
                .chain(place_codes(site.postal_code.as_deref(), site.city.as_deref(), site.commune_insee.as_deref()))
                .collect(),
            ..Default::default()
        }
    }
}

impl From<&Offer> for Entry {
    fn from(o: &Offer) -> Self {
        let publics = Offer::labels(&o.publics);
        let (specialties, care_modes) = (Offer::labels(&o.activities), Offer::labels(&o.care_modes));
        let details = o.ror_details();
        let mut codes = vec![code::term(code::KIND, "offer"), code::term(code::SOURCE_ID, &o.source_key)];
        if let Some(id) = &details.identifier {
            codes.push(code::term(code::IDENTIFIER, &id.value));
            if let Some(system) = &id.system {
                codes.push(code::term(code::IDENTIFIER, &format!("{system}|{}", id.value)));
            }
        }
        let coded = [
            (code::ACTIVITY_FIELD, details.activity_field.as_slice()),
            (code::OFFER_TYPE, details.types.as_slice()),
            (code::SPECIALTY, specialties.as_slice()),
            (code::CARE_MODE, care_modes.as_slice()),
            (code::PUBLIC, publics.as_slice()),
        ];
        for (kind, labels) in coded {
            codes.extend(labels.iter().map(|l| code::term(kind, &l.code)));
        }
        codes.extend(place_codes(o.postal_code.as_deref(), o.city.as_deref(), o.commune_insee.as_deref()));
        let activities = specialties.into_iter().chain(care_modes).map(|l| l.label);
        Self {
            key: OFFER_KEY_BASE + o.id as u64,
            kind: "offer",
            id: o.id,
            subtitle: o.site_name.clone().filter(|s| *s != o.name),
            name: o.name.clone(),
            category_code: o.category_code.clone(),
            category_label: o.category_label.clone(),
            category_sigle: None,
            activities: o.activity_field.iter().cloned().chain(activities).collect(),
            publics: publics.iter().map(|p| p.code.clone()).collect(),
            public_labels: publics.into_iter().map(|p| p.label).collect(),
            age_min: o.age_min.map(i64::from),
            age_max: o.age_max.map(i64::from),
            address: o.address_line.clone(),
            postal_code: o.postal_code.clone(),
            city: o.city.clone(),
            insee: o.commune_insee.clone(),
            departement: o.departement.clone(),
            lat: o.lat,
            lon: o.lon,
            phone: o.phone.clone(),
            source: Some(o.source.clone()),
            updated_on: o.source_updated_at.map(|t| t.date()),
            sensitive: o.sensitive,
            last_updated: Some(o.last_updated()),
            codes,
            available: None,
        }
    }
}

/// What a result shows, stored with the document so that a page of results needs no query to
/// the database.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct Card {
    /// `site` or `offer`.
    pub kind: String,
    /// Id of the site or offer.
    pub id: i64,
    /// Name.
    pub name: String,
    /// The site of an offer.
    pub subtitle: Option<String>,
    /// Publics, as labels.
    #[serde(default)]
    pub publics: Vec<String>,
    /// Youngest age taken.
    pub age_min: Option<i64>,
    /// Oldest age taken.
    pub age_max: Option<i64>,
    /// Category label.
    pub category: Option<String>,
    /// Street address.
    pub address: Option<String>,
    /// Postal code.
    pub postal_code: Option<String>,
    /// Town.
    pub city: Option<String>,
    /// Telephone.
    pub phone: Option<String>,
    /// Latitude.
    pub lat: Option<f64>,
    /// Longitude.
    pub lon: Option<f64>,
    /// Where the data comes from.
    #[serde(default)]
    pub source: Option<String>,
    /// When the source last changed it.
    #[serde(default)]
    pub updated_on: Option<chrono::NaiveDate>,
    /// A sensitive unit, shown to logged-in accounts only (DIR-4).
    #[serde(default)]
    pub sensitive: bool,
    /// Places available now (status « disponible » at the immediate temporality), when any.
    #[serde(default)]
    pub available_places: Option<u32>,
    /// `lit` when they are all beds, else `place`.
    #[serde(default)]
    pub available_nature: Option<String>,
    /// The date of the latest count among them.
    #[serde(default)]
    pub available_on: Option<chrono::NaiveDate>,
}

impl Card {
    /// « 3 places disponibles (au 12/11/2026) », when the offer has some.
    pub fn availability(&self) -> Option<String> {
        let n = self.available_places.filter(|n| *n > 0)?;
        Some(crate::directory::capacities::describe(
            n,
            self.available_nature.as_deref().unwrap_or("place"),
            self.available_on,
        ))
    }

    /// The URL of the entry's sheet.
    pub fn href(&self) -> String {
        crate::directory::sheet::EntryRef::of_kind(&self.kind, self.id)
            .map_or_else(|| "/annuaire".to_owned(), |e| e.href())
    }
}

/// Postal code, sums of latitudes and longitudes, and count of a commune's entries.
type CommuneSum = (Option<String>, f64, f64, i64);

/// The commit payload: which schema and how far in the change feed the index is.
#[derive(Debug, Serialize, Deserialize)]
struct Payload {
    version: u32,
    last_change: i64,
}

pub(super) struct Loaded {
    pub index: Index,
    pub reader: IndexReader,
    pub fields: Fields,
}

/// The search index of this node.
pub struct SearchIndex {
    dir: PathBuf,
    /// The communes one can search around, refreshed with the index.
    places: RwLock<Arc<Places>>,
    loaded: RwLock<Arc<Loaded>>,
    /// One writer at a time (sync job, reindex).
    writing: std::sync::Mutex<()>,
}

impl SearchIndex {
    /// Opens the index in `dir`, creating an empty one if there is none (or one of another
    /// schema version, which `needs_rebuild` then reports).
    pub fn open(dir: &Path) -> anyhow::Result<Self> {
        let current = dir.join("current");
        std::fs::create_dir_all(&current)?;
        let loaded = load(&current)?;
        Ok(Self {
            dir: dir.to_owned(),
            places: RwLock::new(Arc::new(Places::default())),
            loaded: RwLock::new(Arc::new(loaded)),
            writing: std::sync::Mutex::new(()),
        })
    }

    /// The gazetteer of the communes in the directory.
    pub fn places(&self) -> Arc<Places> {
        self.places.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn refresh_places(&self, conn: &mut DbConn) -> anyhow::Result<()> {
        let places = Places::load(conn)?;
        *self.places.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(places);
        Ok(())
    }

    pub(super) fn loaded(&self) -> Arc<Loaded> {
        self.loaded.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The last change-feed id applied, or `None` if the index must be rebuilt.
    pub fn applied_change(&self) -> Option<i64> {
        let metas = self.loaded().index.load_metas().ok()?;
        let p: Payload = serde_json::from_str(metas.payload.as_deref()?).ok()?;
        (p.version == SCHEMA_VERSION).then_some(p.last_change)
    }

    /// Number of documents searchable now.
    pub fn num_docs(&self) -> u64 {
        self.loaded().reader.searcher().num_docs()
    }

    /// Builds a new index from the database in a side directory, then swaps it in: searches
    /// keep running on the old one meanwhile. Returns the number of documents.
    pub fn rebuild(&self, conn: &mut DbConn) -> anyhow::Result<u64> {
        let _w = self.writing.lock().unwrap_or_else(|p| p.into_inner());
        let fresh = self.dir.join(format!("building-{}", std::process::id()));
        if fresh.exists() {
            std::fs::remove_dir_all(&fresh)?;
        }
        std::fs::create_dir_all(&fresh)?;
        let loaded = load(&fresh)?;
        let last_change: i64 =
            dir_changes::table.select(diesel::dsl::max(dir_changes::id)).first::<Option<i64>>(conn)?.unwrap_or(0);
        let mut writer: IndexWriter = loaded.index.writer(WRITER_HEAP)?;
        let mut n = 0u64;
        let mut after = 0i64;
        loop {
            let page: Vec<Site> = dir_sites::table
                .filter(dir_sites::id.gt(after))
                .filter(dir_sites::status.eq("active"))
                .order(dir_sites::id.asc())
                .limit(10_000)
                .select(Site::as_select())
                .load(conn)?;
            let Some(last) = page.last() else { break };
            after = last.id;
            for site in &page {
                writer.add_document(document(&loaded.fields, &Entry::from(site)))?;
                n += 1;
            }
        }
        let mut after = 0i64;
        loop {
            let page: Vec<Offer> = dir_offers::table
                .filter(dir_offers::id.gt(after))
                .filter(dir_offers::status.eq("active"))
                .order(dir_offers::id.asc())
                .limit(10_000)
                .select(Offer::as_select())
                .load(conn)?;
            let Some(last) = page.last() else { break };
            after = last.id;
            let available = availability(conn, &page)?;
            for offer in &page {
                writer.add_document(document(&loaded.fields, &offer_entry(offer, &available)))?;
                n += 1;
            }
        }
        commit(&mut writer, last_change)?;
        merge_into_one(&loaded.index, writer)?;
        drop(loaded);
        let current = self.dir.join("current");
        let old = self.dir.join(format!("old-{}", std::process::id()));
        std::fs::rename(&current, &old)?;
        std::fs::rename(&fresh, &current)?;
        *self.loaded.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(load(&current)?);
        let _ = std::fs::remove_dir_all(&old);
        self.refresh_places(conn)?;
        Ok(n)
    }

    /// Applies the change feed from where the index stopped; rebuilds if the index is of
    /// another version. Returns the number of sites re-indexed.
    pub fn sync(&self, conn: &mut DbConn) -> anyhow::Result<u64> {
        let Some(from) = self.applied_change() else {
            return self.rebuild(conn);
        };
        if self.places().is_empty() {
            self.refresh_places(conn)?;
        }
        let _w = self.writing.lock().unwrap_or_else(|p| p.into_inner());
        let changes: Vec<(i64, String, i64)> = dir_changes::table
            .filter(dir_changes::id.gt(from))
            .order(dir_changes::id.asc())
            .limit(50_000)
            .select((dir_changes::id, dir_changes::entity_type, dir_changes::entity_id))
            .load(conn)?;
        let Some(&(last, _, _)) = changes.last() else { return Ok(0) };
        let loaded = self.loaded();
        let mut writer: IndexWriter = loaded.index.writer(WRITER_HEAP)?;
        let ids = |kind: &str| {
            let mut v: Vec<i64> = changes.iter().filter(|c| c.1 == kind).map(|c| c.2).collect();
            v.sort_unstable();
            v.dedup();
            v
        };
        let (site_ids, offer_ids) = (ids("site"), ids("offer"));
        for chunk in site_ids.chunks(1000) {
            let sites: Vec<Site> =
                dir_sites::table.filter(dir_sites::id.eq_any(chunk)).select(Site::as_select()).load(conn)?;
            for id in chunk {
                writer.delete_term(Term::from_field_u64(loaded.fields.id, *id as u64));
            }
            for site in sites.iter().filter(|s| s.status == "active") {
                writer.add_document(document(&loaded.fields, &Entry::from(site)))?;
            }
        }
        for chunk in offer_ids.chunks(1000) {
            let offers: Vec<Offer> =
                dir_offers::table.filter(dir_offers::id.eq_any(chunk)).select(Offer::as_select()).load(conn)?;
            for id in chunk {
                writer.delete_term(Term::from_field_u64(loaded.fields.id, OFFER_KEY_BASE + *id as u64));
            }
            let available = availability(conn, &offers)?;
            for offer in offers.iter().filter(|o| o.status == "active") {
                writer.add_document(document(&loaded.fields, &offer_entry(offer, &available)))?;
            }
        }
        let n = (site_ids.len() + offer_ids.len()) as u64;
        commit(&mut writer, last)?;
        loaded.reader.reload()?;
        drop(_w);
        self.refresh_places(conn)?;
        Ok(n)
    }
}

/// The available places of offers, read from their capacity rows.
fn availability(conn: &mut DbConn, offers: &[Offer]) -> QueryResult<HashMap<i64, Availability>> {
    capacities::availability(conn, &offers.iter().map(|o| o.id).collect::<Vec<_>>())
}

/// The entry of an offer, with its available places.
fn offer_entry(offer: &Offer, available: &HashMap<i64, Availability>) -> Entry {
    Entry { available: available.get(&offer.id).cloned(), ..Entry::from(offer) }
}

/// Stored cards are compressed by blocks of this many bytes: each result shown decompresses
/// its block, so a small block (a few cards) costs less per result than tantivy's 16 KiB.
const DOCSTORE_BLOCK: usize = 4096;

fn settings() -> tantivy::IndexSettings {
    tantivy::IndexSettings { docstore_blocksize: DOCSTORE_BLOCK, ..Default::default() }
}

fn load(dir: &Path) -> anyhow::Result<Loaded> {
    let (schema, fields) = schema();
    let mmap = tantivy::directory::MmapDirectory::open(dir)?;
    let builder = || Index::builder().schema(schema.clone()).settings(settings());
    let index = match builder().open_or_create(mmap) {
        Ok(index) => index,
        Err(tantivy::TantivyError::SchemaError(_)) => {
            // An index of an older schema: start over (the caller rebuilds it).
            std::fs::remove_dir_all(dir)?;
            std::fs::create_dir_all(dir)?;
            builder().create_in_dir(dir)?
        }
        Err(e) => return Err(e.into()),
    };
    index.tokenizers().register(FRENCH, french_analyzer());
    index.tokenizers().register(FRENCH_WORDS, french_words_analyzer());
    let reader = index.reader_builder().reload_policy(ReloadPolicy::Manual).try_into()?;
    Ok(Loaded { index, reader, fields })
}

/// Merges every segment of a freshly built index into one (then waits for the writer's
/// threads): a search visits each segment in turn — its term dictionaries, its typo
/// automatons, its scorers — so one segment instead of a dozen makes each search cheaper.
/// The indexing writer is let go first: its memory is not needed to merge.
fn merge_into_one(index: &Index, writer: IndexWriter) -> anyhow::Result<()> {
    writer.wait_merging_threads()?;
    let segments = index.searchable_segment_ids()?;
    if segments.len() > 1 {
        let mut merger: IndexWriter = index.writer_with_num_threads(1, MERGE_HEAP)?;
        merger.merge(&segments).wait()?;
        merger.wait_merging_threads()?;
    }
    Ok(())
}

fn commit(writer: &mut IndexWriter, last_change: i64) -> anyhow::Result<()> {
    let payload = serde_json::to_string(&Payload { version: SCHEMA_VERSION, last_change })?;
    let mut prepared = writer.prepare_commit()?;
    prepared.set_payload(&payload);
    prepared.commit()?;
    Ok(())
}

/// The indexed document of an entry. Synonyms are added at index time, so that a query in lay
/// words (« maison de retraite ») matches the technical label (EHPAD) without query rewriting.
pub(super) fn document(f: &Fields, e: &Entry) -> TantivyDocument {
    let category =
        [e.category_label.as_deref(), e.category_sigle.as_deref()].into_iter().flatten().collect::<Vec<_>>().join(" ");
    let detail = [e.activities.join(" "), e.public_labels.join(" ")].join(" ");
    let mut words = fold_words(&e.name);
    words.extend(fold_words(&category));
    let title = format!("{} {category} {}", e.name, Synonyms::shipped().expand(&words));
    words.extend(fold_words(&detail));
    let keywords = format!("{detail} {}", Synonyms::shipped().expand(&words));
    let place = [e.city.as_deref(), e.postal_code.as_deref(), e.address.as_deref()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    let card = Card {
        kind: e.kind.to_owned(),
        id: e.id,
        name: e.name.clone(),
        subtitle: e.subtitle.clone(),
        publics: e.public_labels.clone(),
        age_min: e.age_min,
        age_max: e.age_max,
        category: e.category_label.clone(),
        address: e.address.clone(),
        postal_code: e.postal_code.clone(),
        city: e.city.clone(),
        phone: e.phone.clone(),
        lat: e.lat,
        lon: e.lon,
        source: e.source.clone(),
        updated_on: e.updated_on,
        sensitive: e.sensitive,
        available_places: e.available.as_ref().map(|a| a.count),
        available_nature: e.available.as_ref().map(|a| a.nature.to_owned()),
        available_on: e.available.as_ref().and_then(|a| a.updated_on),
    };
    let all = format!("{} {category} {keywords} {place}", e.name);
    let mut d = doc!(
        f.id => e.key,
        f.words => all.clone(),
        f.title => title,
        f.all => all,
        f.name => e.name.clone(),
        f.card => serde_json::to_string(&card).expect("serialisable card"),
        f.age_min => e.age_min.unwrap_or(0),
        f.age_max => e.age_max.unwrap_or(200),
    );
    for (field, value) in [(f.category_code, &e.category_code), (f.departement, &e.departement), (f.insee, &e.insee)] {
        if let Some(v) = value {
            d.add_text(field, v);
        }
    }
    for p in &e.publics {
        d.add_text(f.publics, p);
    }
    d.add_text(f.public, if e.sensitive { SENSITIVE } else { "1" });
    if e.available.as_ref().is_some_and(|a| a.count > 0) {
        d.add_text(f.available, "1");
    }
    for c in &e.codes {
        d.add_text(f.codes, c);
    }
    if let Some(t) = e.last_updated {
        d.add_i64(f.updated, t.and_utc().timestamp());
    }
    if let (Some(lat), Some(lon)) = (e.lat, e.lon) {
        d.add_f64(f.lat, lat);
        d.add_f64(f.lon, lon);
        for level in 0..CELL_DEGREES.len() {
            d.add_text(f.cells, cell(level, lat, lon));
        }
    }
    d
}

impl SearchIndex {
    /// Builds a standalone index in `dir` from entries (benchmarks, tests); returns it ready.
    pub fn build_from(dir: &Path, entries: impl Iterator<Item = Entry>, threads: usize) -> anyhow::Result<Self> {
        Self::standalone(dir, entries, Some(threads))
    }

    /// Opens a standalone index that `build_from` made earlier in `dir`, with the gazetteer of
    /// the same entries (benchmark iterations that skip the load).
    pub fn reopen_from(dir: &Path, entries: impl Iterator<Item = Entry>) -> anyhow::Result<Self> {
        Self::standalone(dir, entries, None)
    }

    fn standalone(dir: &Path, entries: impl Iterator<Item = Entry>, build: Option<usize>) -> anyhow::Result<Self> {
        let current = dir.join("current");
        std::fs::create_dir_all(&current)?;
        let loaded = load(&current)?;
        let mut writer: Option<IndexWriter> = match build {
            Some(threads) => Some(loaded.index.writer_with_num_threads(threads.max(1), WRITER_HEAP * threads.max(1))?),
            None => None,
        };
        // The gazetteer of the entries' communes (centre of their entries).
        let mut communes: HashMap<(String, String), CommuneSum> = HashMap::new();
        for e in entries {
            if let (Some(insee), Some(city), Some(lat), Some(lon)) = (&e.insee, &e.city, e.lat, e.lon) {
                let c = communes.entry((insee.clone(), city.clone())).or_insert((e.postal_code.clone(), 0.0, 0.0, 0));
                (c.1, c.2, c.3) = (c.1 + lat, c.2 + lon, c.3 + 1);
            }
            if let Some(w) = writer.as_mut() {
                w.add_document(document(&loaded.fields, &e))?;
            }
        }
        let places = Places::from_rows(communes.into_iter().map(|((insee, city), (postal, lat, lon, n))| {
            (Some(insee), Some(city), postal, Some(lat / n as f64), Some(lon / n as f64), n)
        }));
        if let Some(mut w) = writer {
            commit(&mut w, 0)?;
            merge_into_one(&loaded.index, w)?;
        }
        loaded.reader.reload()?;
        Ok(Self {
            dir: dir.to_owned(),
            places: RwLock::new(Arc::new(places)),
            loaded: RwLock::new(Arc::new(loaded)),
            writing: std::sync::Mutex::new(()),
        })
    }
}
