//! Running a search: the text plan (every word must match, exactly, with a typo, or as the
//! prefix of the last word), filters, facets, and the distance mode.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::ops::Bound;

use serde::Serialize;
use tantivy::aggregation::AggregationCollector;
use tantivy::aggregation::agg_req::Aggregations;
use tantivy::collector::{Collector, Count, SegmentCollector, TopDocs};
use tantivy::query::{
    AllQuery, BooleanQuery, BoostQuery, ConstScoreQuery, FuzzyTermQuery, Occur, Query, RangeQuery, TermQuery,
};
use tantivy::schema::{Field, IndexRecordOption, Value};
use tantivy::{DocAddress, DocId, Score, Searcher, SegmentOrdinal, SegmentReader, TantivyDocument, Term};
use utoipa::ToSchema;

use super::expand;
use super::index::{CELL_DEGREES, Card, Fields, SearchIndex, cell_at};
use super::text::{fold_words, french_analyzer, query_words, stem};
use crate::directory::geo::haversine_km;

/// Radii tried in turn when searching around a point and too few results are found (the ROR's
/// « offre rare » rule widens the search instead of answering nothing).
const RADII_KM: &[f64] = &[5.0, 10.0, 20.0, 50.0, 100.0];
/// Fewer results than this within a radius: try the next one.
const ENOUGH_NEARBY: usize = 5;

/// What the user asks.
#[derive(Debug, Clone, Default)]
pub struct SearchParams {
    /// Free text.
    pub text: String,
    /// Establishment category codes (any of them).
    pub categories: Vec<String>,
    /// INSEE département.
    pub departement: Option<String>,
    /// INSEE commune.
    pub commune: Option<String>,
    /// Publics taken (codes; any of them).
    pub publics: Vec<String>,
    /// Whether to count facets (pages and the API do; a bare top-k does not need them).
    pub facets: bool,
    /// The patient's age: only offers whose age range includes it.
    pub age: Option<i64>,
    /// Only offers with places available now (status « disponible », immediate temporality,
    /// count > 0: DOMAIN.md §1.4, [`crate::directory::capacities`]).
    pub available_only: bool,
    /// Search around this point (lat, lon), sorted by distance.
    pub near: Option<(f64, f64)>,
    /// A fixed radius in km (otherwise widened step by step).
    pub radius_km: Option<f64>,
    /// 1-based page.
    pub page: usize,
    /// Results per page.
    pub per_page: usize,
    /// Whether sensitive units may be found: only for logged-in accounts (DIR-4).
    pub include_sensitive: bool,
    /// Results to skip, when not whole pages (FHIR `_getpagesoffset`); overrides `page`.
    pub offset: Option<usize>,
    /// Filters on exact codes (see `index::code`): every one must hold.
    pub codes: Vec<CodeFilter>,
    /// Filters on numeric ranges: every one must hold.
    pub ranges: Vec<RangeFilter>,
    /// Match the text against names only, every word, without typos (FHIR `name`).
    pub name_only: bool,
}

/// A filter on the `codes` field: any of the terms (a FHIR token list `a,b`), or none of them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CodeFilter {
    /// The terms (`index::code::term`), any of which matches.
    pub any: Vec<CodeMatch>,
    /// Keep the entries that match none of them instead (FHIR `:not`).
    pub negate: bool,
}

/// One term of a [`CodeFilter`].
#[derive(Debug, Clone, PartialEq)]
pub struct CodeMatch {
    /// The term.
    pub term: String,
    /// Match every term that starts with it (FHIR string search) rather than it exactly.
    pub prefix: bool,
}

/// A numeric field that can be filtered by range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeField {
    /// Youngest age taken (0 when the entry does not say).
    AgeMin,
    /// Oldest age taken (200 when the entry does not say).
    AgeMax,
    /// Last change, seconds since 1970 (UTC).
    Updated,
}

/// A filter on a numeric field: within bounds, or outside them.
#[derive(Debug, Clone, PartialEq)]
pub struct RangeFilter {
    /// The field.
    pub field: RangeField,
    /// Lower bound.
    pub low: Bound<i64>,
    /// Upper bound.
    pub high: Bound<i64>,
    /// Keep the entries outside the bounds instead (FHIR `ne`).
    pub negate: bool,
}

/// A part of a highlighted name.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, ToSchema)]
pub struct Segment {
    /// The text.
    pub text: String,
    /// Whether it matched the query.
    pub matched: bool,
}

/// One result.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Hit {
    /// What the result shows.
    #[serde(flatten)]
    pub card: Card,
    /// Distance from the search point, in km.
    pub distance_km: Option<f64>,
    /// The name cut into matched and unmatched parts.
    pub highlighted: Vec<Segment>,
    /// The URL of the entry's sheet.
    pub url: String,
}

/// A facet value and how many results have it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, ToSchema)]
pub struct Facet {
    /// The value (a code).
    pub value: String,
    /// Results with it.
    pub count: u64,
}

/// A page of results.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SearchResults {
    /// Results matching, all pages.
    pub total: usize,
    /// This page.
    pub hits: Vec<Hit>,
    /// The radius used, when searching around a point.
    pub radius_km: Option<f64>,
    /// Counts by category code.
    pub categories: Vec<Facet>,
    /// Counts by département.
    pub departements: Vec<Facet>,
    /// Counts by commune (INSEE).
    pub communes: Vec<Facet>,
}

impl SearchIndex {
    /// Runs a search.
    pub fn search(&self, p: &SearchParams) -> anyhow::Result<SearchResults> {
        let loaded = self.loaded();
        let searcher = loaded.reader.searcher();
        let f = &loaded.fields;
        let (query, hits, radius, total) = match p.near {
            Some(center) => plan_near(&searcher, f, p, center)?,
            None => self.plan_text(&searcher, f, p)?,
        };
        let words = fold_words(&p.text);
        let hits = hits
            .into_iter()
            .map(|(addr, distance_km)| {
                let card = card(&searcher, f, addr)?;
                let highlighted = highlight(&card.name, &words);
                let url = card.href();
                Ok(Hit { card, distance_km, highlighted, url })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let (categories, departements, communes) =
            if p.facets { facets(&searcher, &query)? } else { Default::default() };
        Ok(SearchResults { total, hits, radius_km: radius, categories, departements, communes })
    }

    /// Free text, no point: the plans from the cheapest to the most lenient.
    fn plan_text(&self, searcher: &Searcher, f: &Fields, p: &SearchParams) -> anyhow::Result<Planned> {
        let tokens = query_words(&p.text);
        let filters = filters(f, p);
        let per_page = p.per_page.clamp(1, 100);
        let offset = p.offset.unwrap_or(p.page.saturating_sub(1) * per_page);
        let places = self.places();
        let boost = if p.name_only { None } else { commune_boost(f, &places, &p.text) };
        let top = || TopDocs::with_limit(per_page).and_offset(offset).order_by_score();
        let enough = per_page.min(10);
        // « ehpad lyon », « cmp adultes gennevilliers »: when the query ends with a commune and no
        // commune or point is given, first look in that commune only (the other words must match
        // there); if that finds less than a page, the general plans below run, with the commune as
        // a boost.
        let scoped_plan = |codes: &[String], rest: &str, plan: Plan| -> anyhow::Result<Box<dyn Query>> {
            let mut scoped: Vec<(Occur, Box<dyn Query>)> = filters.iter().map(|(o, q)| (*o, q.box_clone())).collect();
            scoped.push((Occur::Must, any_term(f.insee, codes)));
            build(searcher, f, &query_words(rest), &format!("{rest} "), &scoped, plan, None)
        };
        let scoped_query = |codes: &[String], rest: &str, fuzzy: bool| -> anyhow::Result<Box<dyn Query>> {
            scoped_plan(codes, rest, Plan { fuzzy, ..Plan::exact() })
        };
        let trailing = if p.commune.is_none() && p.near.is_none() && !p.name_only {
            trailing_commune(&places, &p.text).filter(|(_, rest, _)| !analyze(rest).is_empty())
        } else {
            None
        };
        // Hits found in the commune the query ends with, shown before the general plans' when
        // they are fewer than a page (first page only).
        let mut first: Vec<(f32, DocAddress)> = Vec::new();
        let mut in_commune = None;
        if let Some((all_codes, rest, _)) = &trailing {
            // Homonyms (« pharmacie saint-nazaire »): the commune with the most entries alone
            // first, the one a user most likely means; all of them if it has less than a page.
            let mut scoped = None;
            if all_codes.len() > 1 {
                let q = scoped_query(&all_codes[..1], rest, false)?;
                let (n, hits) = searcher.search(&q, &(Count, top()))?;
                if n >= enough {
                    scoped = Some((&all_codes[..1], q, n, hits));
                }
            }
            let (codes, q, n, mut hits) = match scoped {
                Some(found) => found,
                None => {
                    let q = scoped_query(all_codes, rest, false)?;
                    let (n, hits) = searcher.search(&q, &(Count, top()))?;
                    (&all_codes[..], q, n, hits)
                }
            };
            // In the commune, what the entry *is* comes first, as around a point: the entries
            // whose name or category holds the words (« soins infirmiers à domicile »: the SSIAD
            // before the nurses' practices that also care at home), each tier by score.
            if offset == 0 && n > 0 {
                let titles = scoped_plan(codes, rest, Plan { titles: true, ..Plan::exact() })?;
                let both = BooleanQuery::new(vec![
                    (Occur::Must, q.box_clone()),
                    (Occur::Must, Box::new(ConstScoreQuery::new(titles, 0.0))),
                ]);
                let mut tiered = searcher.search(&both, &top())?;
                if !tiered.is_empty() {
                    let others: Vec<_> =
                        hits.iter().filter(|(_, a)| !tiered.iter().any(|(_, b)| a == b)).cloned().collect();
                    tiered.extend(others);
                    tiered.truncate(per_page);
                    hits = tiered;
                }
            }
            if n >= enough {
                in_commune = Some((q, (n, hits)));
            } else if offset == 0 {
                first = hits;
            }
        }
        // Cheapest plan first: exact words (and the prefix of the last one). Typos are tried only
        // when that finds fewer than a page; « any word » only when nothing has every word.
        let mut plan = Plan { names_only: p.name_only, ..Plan::exact() };
        let found_in_commune = in_commune.is_some();
        let (mut query, (mut total, mut best)) = match in_commune {
            Some((q, (n, mut scoped))) => {
                // Entries whose own name holds the commune's name (« Pharmacie Fontaine »,
                // « EHPAD de Nanterre »), wherever they are, come first.
                if offset == 0 {
                    if let Some((_, rest, tail)) = &trailing {
                        // Every word, the commune's included, in the name itself.
                        let mut clauses: Vec<(Occur, Box<dyn Query>)> =
                            filters.iter().map(|(o, q)| (*o, q.box_clone())).collect();
                        for t in analyze(rest).into_iter().chain(analyze(tail)) {
                            let term = Term::from_field_text(f.name, &t);
                            clauses.push((Occur::Must, Box::new(TermQuery::new(term, IndexRecordOption::Basic))));
                        }
                        let named = BooleanQuery::new(clauses);
                        let named_first: Vec<(f32, DocAddress)> = searcher
                            .search(&named, &TopDocs::with_limit(3).order_by_score())?
                            .into_iter()
                            .filter(|(_, a)| !scoped.iter().any(|(_, b)| b == a))
                            .collect();
                        if !named_first.is_empty() {
                            scoped.splice(0..0, named_first);
                            scoped.truncate(per_page);
                        }
                    }
                }
                (q, (n, scoped))
            }
            None => {
                let q = build(searcher, f, &tokens, &p.text, &filters, plan, boost.as_deref())?;
                // Without words every match scores the same: list them in index order, without
                // scoring (a category over the whole country is a fifth of the directory).
                let r = if tokens.is_empty() {
                    searcher.search(&q, &FirstDocs { limit: per_page, offset })?
                } else {
                    searcher.search(&q, &(Count, top()))?
                };
                (q, r)
            }
        };
        // A name search (FHIR `name`) is a filter: no typos, no « any word ».
        let lenient = !p.name_only && !found_in_commune;
        if lenient && total < enough && tokens.iter().any(|(w, _)| w.chars().count() >= 4) {
            // Typos, in the commune first: the one the query ends with when nothing matched
            // there exactly, else a commune within a typo or two of its last words
            // (« marxseille ») — when those words are not words of the directory themselves.
            // When every word matched exactly in the commune (a few hits), the words are right:
            // no typo plan at all.
            let near_commune = match &trailing {
                Some((codes, rest, _)) if first.is_empty() => Some((codes.clone(), rest.clone())),
                Some(_) => None,
                None if p.commune.is_none() => misspelt_commune(searcher, f, &places, &p.text),
                None => None,
            };
            let mut found_near = false;
            if let Some((codes, rest)) = near_commune {
                let q = scoped_query(&codes, &rest, true)?;
                let (n, hits) = searcher.search(&q, &(Count, top()))?;
                if n > 0 && offset == 0 {
                    first.extend(hits);
                    total = total.max(n);
                    found_near = true;
                }
            }
            if !found_near && (trailing.is_none() || first.is_empty()) {
                plan.fuzzy = true;
                query = build(searcher, f, &tokens, &p.text, &filters, plan, boost.as_deref())?;
                (total, best) = searcher.search(&query, &(Count, top()))?;
            }
        }
        if lenient && total == 0 && tokens.len() > 1 {
            plan.occur = Occur::Should;
            query = build(searcher, f, &tokens, &p.text, &filters, plan, boost.as_deref())?;
            (total, best) = searcher.search(&query, &(Count, top()))?;
        }
        if !first.is_empty() {
            total = total.max(first.len());
            for hit in best {
                if !first.iter().any(|(_, a)| *a == hit.1) {
                    first.push(hit);
                }
            }
            first.truncate(per_page);
            best = first;
        }
        Ok((query, best.into_iter().map(|(_, a)| (a, None)).collect(), None, total))
    }
}

/// Around a point: the same plans, each read only in the grid cells of the radius (never
/// over the whole country first), sorted by distance.
fn plan_near(searcher: &Searcher, f: &Fields, p: &SearchParams, center: (f64, f64)) -> anyhow::Result<Planned> {
    let tokens = query_words(&p.text);
    let filters = filters(f, p);
    let per_page = p.per_page.clamp(1, 100);
    let offset = p.offset.unwrap_or(p.page.saturating_sub(1) * per_page);
    let mut plan = Plan { names_only: p.name_only, ..Plan::exact() };
    let mut query = build(searcher, f, &tokens, &p.text, &filters, plan, None)?;
    let mut found = nearest(searcher, f, &query, center, p.radius_km, offset + per_page)?;
    let lenient = !p.name_only;
    if lenient && found.2 == 0 && tokens.iter().any(|(w, _)| w.chars().count() >= 4) {
        plan.fuzzy = true;
        query = build(searcher, f, &tokens, &p.text, &filters, plan, None)?;
        found = nearest(searcher, f, &query, center, p.radius_km, offset + per_page)?;
    }
    if lenient && found.2 == 0 && tokens.len() > 1 {
        plan.occur = Occur::Should;
        query = build(searcher, f, &tokens, &p.text, &filters, plan, None)?;
        found = nearest(searcher, f, &query, center, p.radius_km, offset + per_page)?;
    }
    let (mut hits, radius, total) = found;
    // What the entry *is* comes before distance (Meilisearch's « attribute » rule before its
    // « sort »): within the radius, the entries whose name or category holds the words (« cabinet
    // infirmier ») first, nearest first, then those that only mention them in their activities
    // or publics (an SSIAD's « soins infirmiers »), nearest first.
    if !tokens.is_empty() && !p.name_only && total > 0 {
        let titles = build(searcher, f, &tokens, &p.text, &filters, Plan { titles: true, ..plan }, None)?;
        let (mut first, _, _) = nearest(searcher, f, &titles, center, radius, offset + per_page)?;
        if !first.is_empty() {
            first.extend(hits.into_iter().filter(|(a, _)| !first.iter().any(|(b, _)| a == b)).collect::<Vec<_>>());
            first.truncate(offset + per_page);
            hits = first;
        }
    }
    Ok((query, hits.into_iter().skip(offset).collect(), radius, total))
}

/// The analysed tokens of the query (folded, stop words out, stemmed), in order.
fn analyze(text: &str) -> Vec<String> {
    let mut analyzer = french_analyzer();
    let mut stream = analyzer.token_stream(text);
    let mut out = Vec::new();
    while stream.advance() {
        out.push(stream.token().text.clone());
    }
    out
}

/// The filters of a search, each with how it must occur (`Must`, or `MustNot` for negations).
fn filters(f: &Fields, p: &SearchParams) -> Vec<(Occur, Box<dyn Query>)> {
    let term = |field: Field, v: &str| -> Box<dyn Query> {
        Box::new(TermQuery::new(Term::from_field_text(field, v), IndexRecordOption::Basic))
    };
    let mut out: Vec<(Occur, Box<dyn Query>)> = structured(f, p);
    if !p.include_sensitive {
        // Excluding the few sensitive entries costs a walk through their short list; requiring
        // « public » would intersect every search with a list of almost every entry.
        out.push((Occur::MustNot, term(f.public, super::index::SENSITIVE)));
    }
    let mut push = |q: Box<dyn Query>| out.push((Occur::Must, q));
    if !p.categories.is_empty() {
        let any: Vec<(Occur, Box<dyn Query>)> =
            p.categories.iter().map(|c| (Occur::Should, term(f.category_code, c))).collect();
        push(Box::new(BooleanQuery::new(any)));
    }
    if !p.publics.is_empty() {
        let any: Vec<(Occur, Box<dyn Query>)> = p.publics.iter().map(|c| (Occur::Should, term(f.publics, c))).collect();
        push(Box::new(BooleanQuery::new(any)));
    }
    if let Some(d) = &p.departement {
        push(term(f.departement, d));
    }
    if let Some(c) = &p.commune {
        push(term(f.insee, c));
    }
    if let Some(age) = p.age {
        push(Box::new(RangeQuery::new(Bound::Unbounded, Bound::Included(Term::from_field_i64(f.age_min, age)))));
        push(Box::new(RangeQuery::new(Bound::Included(Term::from_field_i64(f.age_max, age)), Bound::Unbounded)));
    }
    if p.available_only {
        push(term(f.available, "1"));
    }
    out
}

/// The code and range filters (the FHIR endpoint's).
fn structured(f: &Fields, p: &SearchParams) -> Vec<(Occur, Box<dyn Query>)> {
    let mut out: Vec<(Occur, Box<dyn Query>)> = Vec::new();
    for filter in &p.codes {
        let any: Vec<(Occur, Box<dyn Query>)> = filter
            .any
            .iter()
            .map(|m| -> (Occur, Box<dyn Query>) {
                let t = Term::from_field_text(f.codes, &m.term);
                let q: Box<dyn Query> = if m.prefix {
                    Box::new(FuzzyTermQuery::new_prefix(t, 0, true))
                } else {
                    Box::new(TermQuery::new(t, IndexRecordOption::Basic))
                };
                (Occur::Should, q)
            })
            .collect();
        out.push((if filter.negate { Occur::MustNot } else { Occur::Must }, Box::new(BooleanQuery::new(any))));
    }
    for r in &p.ranges {
        let field = match r.field {
            RangeField::AgeMin => f.age_min,
            RangeField::AgeMax => f.age_max,
            RangeField::Updated => f.updated,
        };
        let term = |v: &i64| Term::from_field_i64(field, *v);
        let q = RangeQuery::new(r.low.as_ref().map(term), r.high.as_ref().map(term));
        out.push((if r.negate { Occur::MustNot } else { Occur::Must }, Box::new(q)));
    }
    out
}

/// How strict a text plan is.
#[derive(Clone, Copy)]
struct Plan {
    /// `Must`: every word; `Should`: any word.
    occur: Occur,
    /// Whether words may match with one or two typos.
    fuzzy: bool,
    /// Whether only names are searched.
    names_only: bool,
    /// Whether the words must be in what the entry is (name, category, their synonyms): a
    /// filter, for the first tier of a search around a point or in a commune.
    titles: bool,
}

impl Plan {
    /// Every word, exactly (or the prefix of the last one), anywhere in the entry.
    fn exact() -> Self {
        Plan { occur: Occur::Must, fuzzy: false, names_only: false, titles: false }
    }
}

/// A query that ends with the name of a commune: the INSEE codes of that name, the words before
/// it (there must be some) and the commune's words.
fn trailing_commune(places: &super::places::Places, text: &str) -> Option<(Vec<String>, String, String)> {
    let words = fold_words(text);
    for n in (1..=4.min(words.len().saturating_sub(1))).rev() {
        let tail = words[words.len() - n..].join(" ");
        let codes = places.codes_named(&tail);
        if !codes.is_empty() {
            let codes = codes.into_iter().map(str::to_owned).collect();
            return Some((codes, words[..words.len() - n].join(" "), tail));
        }
    }
    None
}

/// A query whose last words name a commune with a typo or two (« … marxseille »), when those
/// words are not words of the directory themselves: the communes' INSEE codes and the words
/// before them.
fn misspelt_commune(
    searcher: &Searcher,
    f: &Fields,
    places: &super::places::Places,
    text: &str,
) -> Option<(Vec<String>, String)> {
    let words = fold_words(text);
    for n in (1..=4.min(words.len().saturating_sub(1))).rev() {
        let tail = words[words.len() - n..].join(" ");
        let len = tail.chars().count();
        if len < 4 {
            continue;
        }
        let known =
            analyze(&tail).iter().all(|t| searcher.doc_freq(&Term::from_field_text(f.all, t)).is_ok_and(|n| n > 0));
        if known {
            continue;
        }
        let codes = places.codes_near(&tail, if len >= 9 { 2 } else { 1 });
        if !codes.is_empty() {
            return Some((codes.into_iter().map(str::to_owned).collect(), words[..words.len() - n].join(" ")));
        }
    }
    None
}

fn any_term(field: Field, values: &[String]) -> Box<dyn Query> {
    let any: Vec<(Occur, Box<dyn Query>)> = values
        .iter()
        .map(|v| -> (Occur, Box<dyn Query>) {
            (Occur::Should, Box::new(TermQuery::new(Term::from_field_text(field, v), IndexRecordOption::Basic)))
        })
        .collect();
    Box::new(BooleanQuery::new(any))
}

/// When the query ends with the name of a commune (« ehpad lyon »), entries of that commune
/// rank first: a clause that adds score, not a filter, so that « EHPAD Les Colombes » elsewhere
/// is still found.
fn commune_boost(f: &Fields, places: &super::places::Places, text: &str) -> Option<Box<dyn Query>> {
    let words = fold_words(text);
    for n in (1..=4.min(words.len().saturating_sub(1))).rev() {
        let tail = words[words.len() - n..].join(" ");
        let codes = places.codes_named(&tail);
        if !codes.is_empty() {
            let any: Vec<(Occur, Box<dyn Query>)> = codes
                .into_iter()
                .map(|c| -> (Occur, Box<dyn Query>) {
                    (
                        Occur::Should,
                        Box::new(TermQuery::new(Term::from_field_text(f.insee, c), IndexRecordOption::Basic)),
                    )
                })
                .collect();
            return Some(Box::new(BoostQuery::new(Box::new(BooleanQuery::new(any)), 1.5)));
        }
    }
    None
}

/// Typo expansions kept per query word.
const TYPO_TERMS: usize = 8;
/// Completions kept for the word being typed.
const PREFIX_TERMS: usize = 12;

/// Every word (or some, with `Occur::Should`) must match one of the text fields, exactly,
/// within one or two typos when the plan allows, or, for the last word as typed, as a prefix;
/// typos and prefixes are rewritten into the commonest terms they match (`expand`).
fn build(
    searcher: &Searcher,
    f: &Fields,
    tokens: &[(String, String)],
    raw: &str,
    filters: &[(Occur, Box<dyn Query>)],
    plan: Plan,
    boost: Option<&dyn Query>,
) -> anyhow::Result<Box<dyn Query>> {
    let word_occur = plan.occur;
    let typing_last = !raw.ends_with(char::is_whitespace);
    // A word must be somewhere (`all` holds every text field, or the name alone for a name
    // search): one posting list per word, which intersections skip through. Words found in
    // the name add to the score, as optional clauses read only for the matching entries.
    let lookup = if plan.names_only {
        f.name
    } else if plan.titles {
        f.title
    } else {
        f.all
    };
    // Typos and completions are looked up among unstemmed words (the name's stems for a name
    // search), then each term found must be there, and counts more in the name.
    let near = if plan.names_only { f.name } else { f.words };
    let scored = |field: Field, text: &str, weight: f32| -> Box<dyn Query> {
        let q = TermQuery::new(Term::from_field_text(field, text), IndexRecordOption::WithFreqs);
        Box::new(BoostQuery::new(Box::new(q), weight))
    };
    // A fixed score, not BM25, for the terms a typo or a prefix stands for: a rare completion
    // (« garnache » for « ga… ») or a rare near-miss must not outrank the exact word or the
    // common term the user more likely meant.
    let fixed = |field: Field, text: &str, score: f32| -> Box<dyn Query> {
        let q = TermQuery::new(Term::from_field_text(field, text), IndexRecordOption::Basic);
        Box::new(ConstScoreQuery::new(Box::new(q), score))
    };
    // A word that many entries hold is a word: no typo automaton, no completions for it.
    let common = (searcher.num_docs() / 1000).max(50);
    let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
    // With « any word », the words are one required clause: at least one of them must match
    // (left beside the filters, optional words would let every filtered entry match).
    let mut any_word: Vec<(Occur, Box<dyn Query>)> = Vec::new();
    let words = if word_occur == Occur::Should { &mut any_word } else { &mut clauses };
    for (i, (word, token)) in tokens.iter().enumerate() {
        let last = i + 1 == tokens.len() && typing_last;
        let key = if plan.names_only { token } else { word };
        let len = key.chars().count();
        let (typo, typing) = (plan.fuzzy && len >= 4, last && len >= 2);
        let frequent = (typo || typing) && searcher.doc_freq(&Term::from_field_text(lookup, token))? >= common;
        let mut expansions = Vec::new();
        if typo && !frequent {
            let distance = if len >= 8 { 2 } else { 1 };
            expansions.extend(
                expand::typo_terms(searcher, near, key, distance, TYPO_TERMS)?
                    .into_iter()
                    .map(|e| (e.term, if e.typos == 1 { 1.0 } else { 0.6 })),
            );
        }
        if typing && !frequent {
            expansions
                .extend(expand::prefix_terms(searcher, near, key, PREFIX_TERMS)?.into_iter().map(|e| (e.term, 1.0)));
        }
        // The word's clause: what must match, then the same in the name, optional, read only
        // for the entries that match — per word, so that each is a skip in one or a few name
        // lists rather than in a union of every word's.
        let mut in_name: Vec<(Occur, Box<dyn Query>)> = vec![(Occur::Should, scored(f.name, token, 2.0))];
        let matcher: Box<dyn Query> = if expansions.is_empty() {
            scored(lookup, token, 1.0)
        } else {
            let mut alternatives: Vec<(Occur, Box<dyn Query>)> = vec![(Occur::Should, scored(lookup, token, 1.0))];
            for (term, weight) in expansions {
                let found = if plan.titles { fixed(f.title, &stem(&term), weight) } else { fixed(near, &term, weight) };
                alternatives.push((Occur::Should, found));
                in_name.push((Occur::Should, fixed(f.name, &stem(&term), 2.0 * weight)));
            }
            Box::new(BooleanQuery::new(alternatives))
        };
        if plan.names_only || plan.titles {
            words.push((word_occur, matcher));
        } else {
            in_name.insert(0, (Occur::Must, matcher));
            words.push((word_occur, Box::new(BooleanQuery::new(in_name))));
        }
    }
    if !any_word.is_empty() {
        clauses.push((Occur::Must, Box::new(BooleanQuery::new(any_word))));
    }
    if clauses.is_empty() {
        clauses.push((Occur::Must, Box::new(AllQuery)));
    }
    for (occur, filter) in filters {
        clauses.push((*occur, filter.box_clone()));
    }
    if let Some(b) = boost {
        clauses.push((Occur::Should, b.box_clone()));
    }
    Ok(Box::new(BooleanQuery::new(clauses)))
}

fn card(searcher: &Searcher, f: &Fields, addr: DocAddress) -> anyhow::Result<Card> {
    let doc: TantivyDocument = searcher.doc(addr)?;
    let json = doc.get_first(f.card).and_then(|v| v.as_str()).unwrap_or("{}");
    Ok(serde_json::from_str(json)?)
}

/// Cuts `name` into parts, marking the words that match a query word (same folded form, or the
/// query word is a prefix of at least three letters).
pub fn highlight(name: &str, query_words: &[String]) -> Vec<Segment> {
    let mut out: Vec<Segment> = Vec::new();
    let mut push = |text: String, matched: bool| match out.last_mut() {
        Some(last) if last.matched == matched => last.text.push_str(&text),
        _ => out.push(Segment { text, matched }),
    };
    let mut word = String::new();
    for c in name.chars().chain(std::iter::once(' ')) {
        if c.is_alphanumeric() {
            word.push(c);
            continue;
        }
        if !word.is_empty() {
            let folded = fold_words(&word).join("");
            let matched = !folded.is_empty()
                && query_words.iter().any(|q| folded == *q || (q.len() >= 3 && folded.starts_with(q.as_str())));
            push(std::mem::take(&mut word), matched);
        }
        push(c.to_string(), false);
    }
    if let Some(last) = out.last_mut() {
        last.text.pop();
    }
    out.retain(|s| !s.text.is_empty());
    out
}

fn facets(searcher: &Searcher, query: &dyn Query) -> anyhow::Result<(Vec<Facet>, Vec<Facet>, Vec<Facet>)> {
    let req: Aggregations = serde_json::from_value(serde_json::json!({
        "categories": { "terms": { "field": "category_code", "size": 40 } },
        "departements": { "terms": { "field": "departement", "size": 20 } },
        "communes": { "terms": { "field": "insee", "size": 30 } },
    }))?;
    let collector = AggregationCollector::from_aggs(req, Default::default());
    let res = serde_json::to_value(searcher.search(query, &collector)?)?;
    let read = |name: &str| -> Vec<Facet> {
        res[name]["buckets"]
            .as_array()
            .map(|b| {
                b.iter()
                    .filter_map(|x| {
                        Some(Facet { value: x["key"].as_str()?.to_owned(), count: x["doc_count"].as_u64()? })
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    Ok((read("categories"), read("departements"), read("communes")))
}

type Nearest = (Vec<(DocAddress, Option<f64>)>, Option<f64>, usize);
/// The query that ran (facets count over it), the hits of the page with their distance, the
/// radius used, the number of matches.
type Planned = (Box<dyn Query>, Vec<(DocAddress, Option<f64>)>, Option<f64>, usize);

/// The `limit` nearest matches within the fixed radius, or within the first radius of
/// `RADII_KM` that holds enough of them.
fn nearest(
    searcher: &Searcher,
    f: &Fields,
    query: &dyn Query,
    center: (f64, f64),
    fixed: Option<f64>,
    limit: usize,
) -> anyhow::Result<Nearest> {
    let radii: Vec<f64> = match fixed {
        Some(r) => vec![r.clamp(0.1, 500.0)],
        None => RADII_KM.to_vec(),
    };
    let mut found = (Vec::new(), 0usize);
    let mut used = radii[0];
    for r in &radii {
        used = *r;
        let clauses: Vec<(Occur, Box<dyn Query>)> =
            vec![(Occur::Must, query.box_clone()), (Occur::Must, any_term(f.cells, &covering_cells(center, *r)))];
        let around = BooleanQuery::new(clauses);
        let collector = NearestCollector { center, max_km: *r, limit, lat: f.lat, lon: f.lon };
        found = searcher.search(&around, &collector)?;
        if found.1 >= ENOUGH_NEARBY {
            break;
        }
    }
    let hits = found.0.into_iter().map(|(d, a)| (a, Some(d))).collect();
    Ok((hits, Some(used), found.1))
}

/// The grid cells (`index::cell`) that cover the circle of `radius_km` around `center`: those
/// of the finest size that needs no more than 16 of them.
fn covering_cells(center: (f64, f64), radius_km: f64) -> Vec<String> {
    let (lat, lon) = center;
    let dlat = radius_km / 111.0;
    // Degrees of longitude shrink towards the poles; never divide by (almost) zero.
    let dlon = radius_km / (111.0 * lat.to_radians().cos().max(0.05));
    for (level, size) in CELL_DEGREES.iter().enumerate() {
        let (y0, y1) = (((lat - dlat) / size).floor() as i64, ((lat + dlat) / size).floor() as i64);
        let (x0, x1) = (((lon - dlon) / size).floor() as i64, ((lon + dlon) / size).floor() as i64);
        if (y1 - y0 + 1) * (x1 - x0 + 1) <= 16 || level + 1 == CELL_DEGREES.len() {
            return (y0..=y1).flat_map(|y| (x0..=x1).map(move |x| cell_at(level, y, x))).collect();
        }
    }
    Vec::new()
}

/// The matches in index order, `limit` of them after `offset`, and the count of all of them;
/// no score is computed (a search without words: every match would score the same).
struct FirstDocs {
    limit: usize,
    offset: usize,
}

struct FirstDocsSegment {
    segment: SegmentOrdinal,
    keep: usize,
    docs: Vec<DocId>,
    count: usize,
}

impl Collector for FirstDocs {
    type Fruit = (usize, Vec<(Score, DocAddress)>);
    type Child = FirstDocsSegment;

    fn for_segment(&self, segment: SegmentOrdinal, _reader: &SegmentReader) -> tantivy::Result<FirstDocsSegment> {
        let keep = self.offset + self.limit;
        Ok(FirstDocsSegment { segment, keep, docs: Vec::with_capacity(keep.min(1024)), count: 0 })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<(usize, Vec<DocAddress>)>) -> tantivy::Result<Self::Fruit> {
        let count = fruits.iter().map(|f| f.0).sum();
        let mut all: Vec<DocAddress> = fruits.into_iter().flat_map(|f| f.1).collect();
        all.sort_unstable();
        let page = all.into_iter().skip(self.offset).take(self.limit).map(|a| (1.0, a)).collect();
        Ok((count, page))
    }
}

impl SegmentCollector for FirstDocsSegment {
    type Fruit = (usize, Vec<DocAddress>);

    fn collect(&mut self, doc: DocId, _score: Score) {
        self.count += 1;
        if self.docs.len() < self.keep {
            self.docs.push(doc);
        }
    }

    fn harvest(mut self) -> Self::Fruit {
        // Documents come in increasing order within a segment; sort anyway, cheaply.
        self.docs.sort_unstable();
        let segment = self.segment;
        (self.count, self.docs.into_iter().map(|d| DocAddress::new(segment, d)).collect())
    }
}

/// Keeps the `limit` matches nearest to `center` within `max_km`, and counts all of them.
struct NearestCollector {
    center: (f64, f64),
    max_km: f64,
    limit: usize,
    lat: Field,
    lon: Field,
}

#[derive(PartialEq)]
struct ByDistance(f64, DocAddress);

impl Eq for ByDistance {}

impl PartialOrd for ByDistance {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for ByDistance {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.total_cmp(&other.0).then_with(|| self.1.cmp(&other.1))
    }
}

struct NearestSegment {
    segment: SegmentOrdinal,
    lat: tantivy::columnar::Column<f64>,
    lon: tantivy::columnar::Column<f64>,
    center: (f64, f64),
    max_km: f64,
    limit: usize,
    heap: BinaryHeap<ByDistance>,
    count: usize,
}

impl Collector for NearestCollector {
    type Fruit = (Vec<(f64, DocAddress)>, usize);
    type Child = NearestSegment;

    fn for_segment(&self, segment: SegmentOrdinal, reader: &SegmentReader) -> tantivy::Result<NearestSegment> {
        let schema = reader.schema();
        let lat = reader.fast_fields().f64(schema.get_field_name(self.lat))?;
        let lon = reader.fast_fields().f64(schema.get_field_name(self.lon))?;
        Ok(NearestSegment {
            segment,
            lat,
            lon,
            center: self.center,
            max_km: self.max_km,
            limit: self.limit,
            heap: BinaryHeap::new(),
            count: 0,
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<(Vec<(f64, DocAddress)>, usize)>) -> tantivy::Result<Self::Fruit> {
        let count = fruits.iter().map(|f| f.1).sum();
        let mut all: Vec<(f64, DocAddress)> = fruits.into_iter().flat_map(|f| f.0).collect();
        all.sort_by(|a, b| a.0.total_cmp(&b.0).then_with(|| a.1.cmp(&b.1)));
        all.truncate(self.limit);
        Ok((all, count))
    }
}

impl SegmentCollector for NearestSegment {
    type Fruit = (Vec<(f64, DocAddress)>, usize);

    fn collect(&mut self, doc: DocId, _score: Score) {
        let (Some(lat), Some(lon)) = (self.lat.first(doc), self.lon.first(doc)) else { return };
        // A cheap box test before the trigonometry.
        if (lat - self.center.0).abs() * 111.0 > self.max_km {
            return;
        }
        let d = haversine_km(self.center, (lat, lon));
        if d > self.max_km {
            return;
        }
        self.count += 1;
        self.heap.push(ByDistance(d, DocAddress::new(self.segment, doc)));
        if self.heap.len() > self.limit {
            self.heap.pop();
        }
    }

    fn harvest(self) -> Self::Fruit {
        (self.heap.into_iter().map(|b| (b.0, b.1)).collect(), self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn covering_cells_hold_every_point_of_the_radius() {
        use super::super::index::cell;
        for (center, km) in [((48.92, 2.25), 2.0), ((48.92, 2.25), 5.0), ((43.3, 5.4), 20.0), ((-21.1, 55.5), 50.0)] {
            let cells = covering_cells(center, km);
            assert!(!cells.is_empty() && cells.len() <= 16, "{} cells for {km} km", cells.len());
            let level: usize = cells[0][..1].parse().expect("a level");
            // Points on the circle, every 10 degrees, and the centre.
            for step in 0..=36 {
                let a = f64::from(step) * 10f64.to_radians();
                let lat = center.0 + km / 111.0 * a.sin() * 0.999;
                let lon = center.1 + km / (111.0 * center.0.to_radians().cos()) * a.cos() * 0.999;
                assert!(haversine_km(center, (lat, lon)) <= km * 1.01);
                assert!(cells.contains(&cell(level, lat, lon)), "{lat},{lon} outside the cells of {center:?} {km} km");
            }
        }
    }

    #[test]
    fn highlight_marks_matching_words_only() {
        let segs = highlight("EHPAD Les Colombes", &fold_words("ehpad colomb"));
        assert_eq!(
            segs,
            vec![
                Segment { text: "EHPAD".into(), matched: true },
                Segment { text: " Les ".into(), matched: false },
                Segment { text: "Colombes".into(), matched: true },
            ]
        );
    }
}
