//! Directory search (SPEC DIR-1): an embedded tantivy index in the data directory, fed from
//! the database's change feed (each node keeps its own index), French analysis, health-French
//! synonyms, typo tolerance, prefix search on the last word, facets, age filter, and distance
//! from a point with the radius widened when too few results are found.

mod expand;
mod index;
pub mod places;
mod query;
pub mod text;

pub use index::{Card, Entry, OFFER_KEY_BASE, SCHEMA_VERSION, SearchIndex, code};
pub use query::{
    CodeFilter, CodeMatch, Facet, Hit, RangeField, RangeFilter, SearchParams, SearchResults, Segment, highlight,
};
