//! Query words that stand for several terms of the index: a word with a typo or two, and the
//! word being typed (a prefix). Each is rewritten into the few terms it matches that the most
//! entries hold, so that every one is then scored like an exact word (Lucene's "top terms"
//! rewrite) instead of matching as one unscored set: « servkce » ranks the entries named
//! « Service … » above those that only mention it, and a common prefix costs a few posting
//! lists rather than a bitset of every document.
//!
//! Typos are looked for after the first letter only (Lucene's `prefixLength` 1, what
//! Elasticsearch and Meilisearch advise too): a first letter is rarely mistyped, and anchoring
//! it divides the part of the term dictionary the automaton walks by about twenty.

use std::collections::HashMap;
use std::sync::OnceLock;

use levenshtein_automata::{DFA, Distance, LevenshteinAutomatonBuilder, SINK_STATE};
use tantivy::Searcher;
use tantivy::schema::Field;
use tantivy_fst::Automaton;

/// Terms looked at, at most, for one prefix (a two-letter prefix has thousands).
const PREFIX_SCAN: usize = 20_000;

/// A term a query word stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Expansion {
    /// The term, as indexed.
    pub term: String,
    /// Typos between the word and the term (0 for a prefix's completions).
    pub typos: u8,
    /// Entries holding it, over every segment.
    pub doc_freq: u64,
}

pub(super) fn builder(distance: u8) -> &'static LevenshteinAutomatonBuilder {
    static BUILDERS: [OnceLock<LevenshteinAutomatonBuilder>; 3] = [OnceLock::new(), OnceLock::new(), OnceLock::new()];
    // A swap of two neighbours counts as one typo.
    BUILDERS[usize::from(distance.min(2))].get_or_init(|| LevenshteinAutomatonBuilder::new(distance.min(2), true))
}

/// The Levenshtein automaton of the rest of a word, behind its first character taken as is.
struct Anchored<'a> {
    head: &'a [u8],
    dfa: &'a DFA,
}

#[derive(Clone)]
enum State {
    Head(usize),
    Rest(u32),
    Sink,
}

impl Automaton for Anchored<'_> {
    type State = State;

    fn start(&self) -> State {
        if self.head.is_empty() { State::Rest(self.dfa.initial_state()) } else { State::Head(0) }
    }

    fn is_match(&self, state: &State) -> bool {
        matches!(state, State::Rest(s) if matches!(self.dfa.distance(*s), Distance::Exact(_)))
    }

    fn can_match(&self, state: &State) -> bool {
        match state {
            State::Head(_) => true,
            State::Rest(s) => *s != SINK_STATE,
            State::Sink => false,
        }
    }

    fn accept(&self, state: &State, byte: u8) -> State {
        match state {
            State::Head(i) if self.head[*i] == byte => {
                if i + 1 == self.head.len() {
                    State::Rest(self.dfa.initial_state())
                } else {
                    State::Head(i + 1)
                }
            }
            State::Head(_) | State::Sink => State::Sink,
            State::Rest(s) => State::Rest(self.dfa.transition(*s, byte)),
        }
    }
}

/// The terms of `field` within `distance` typos of `word` (its first letter kept), the closest
/// then the most frequent first, at most `max`, the word itself left out.
pub(super) fn typo_terms(
    searcher: &Searcher,
    field: Field,
    word: &str,
    distance: u8,
    max: usize,
) -> tantivy::Result<Vec<Expansion>> {
    let split = word.char_indices().nth(1).map_or(word.len(), |(i, _)| i);
    let (head, rest) = word.split_at(split);
    let dfa = builder(distance).build_dfa(rest);
    let mut found: HashMap<Vec<u8>, u64> = HashMap::new();
    for segment in searcher.segment_readers() {
        let index = segment.inverted_index(field)?;
        let mut stream = index.terms().search(Anchored { head: head.as_bytes(), dfa: &dfa }).into_stream()?;
        while let Some((key, info)) = stream.next() {
            *found.entry(key.to_vec()).or_default() += u64::from(info.doc_freq);
        }
    }
    let mut out: Vec<Expansion> = found
        .into_iter()
        .filter_map(|(key, doc_freq)| {
            let typos = match dfa.eval(&key[head.len()..]) {
                Distance::Exact(d) if d > 0 => d,
                _ => return None,
            };
            Some(Expansion { term: String::from_utf8(key).ok()?, typos, doc_freq })
        })
        .collect();
    out.sort_by(|a, b| a.typos.cmp(&b.typos).then(b.doc_freq.cmp(&a.doc_freq)).then(a.term.cmp(&b.term)));
    out.truncate(max);
    Ok(out)
}

/// The terms of `field` that start with `prefix` (the prefix itself left out), the most
/// frequent first, at most `max`.
pub(super) fn prefix_terms(
    searcher: &Searcher,
    field: Field,
    prefix: &str,
    max: usize,
) -> tantivy::Result<Vec<Expansion>> {
    let mut found: HashMap<Vec<u8>, u64> = HashMap::new();
    let mut upper = prefix.as_bytes().to_vec();
    upper.push(0xff);
    for segment in searcher.segment_readers() {
        let index = segment.inverted_index(field)?;
        let mut stream = index.terms().range().gt(prefix.as_bytes()).lt(&upper).into_stream()?;
        let mut scanned = 0;
        while let Some((key, info)) = stream.next() {
            *found.entry(key.to_vec()).or_default() += u64::from(info.doc_freq);
            scanned += 1;
            if scanned == PREFIX_SCAN {
                break;
            }
        }
    }
    let mut out: Vec<Expansion> = found
        .into_iter()
        .filter_map(|(key, doc_freq)| Some(Expansion { term: String::from_utf8(key).ok()?, typos: 0, doc_freq }))
        .collect();
    out.sort_by(|a, b| b.doc_freq.cmp(&a.doc_freq).then(a.term.cmp(&b.term)));
    out.truncate(max);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use tantivy::schema::{STRING, Schema};
    use tantivy::{Index, IndexWriter, doc};

    use super::*;

    fn searcher(words: &[&str]) -> (Searcher, Field) {
        let mut b = Schema::builder();
        let field = b.add_text_field("w", STRING);
        let index = Index::create_in_ram(b.build());
        let mut writer: IndexWriter = index.writer_with_num_threads(1, 15_000_000).expect("writer");
        for w in words {
            writer.add_document(doc!(field => *w)).expect("add");
        }
        writer.commit().expect("commit");
        (index.reader().expect("reader").searcher(), field)
    }

    fn terms(found: Vec<Expansion>) -> Vec<String> {
        found.into_iter().map(|e| e.term).collect()
    }

    #[test]
    fn typos_keep_the_first_letter_and_rank_closest_then_commonest() {
        let (s, f) = searcher(&["service", "service", "servis", "sertice", "cervice", "servitude", "services"]);
        let found = typo_terms(&s, f, "servkce", 1, 10).expect("search");
        assert_eq!(terms(found.clone()), vec!["service"]);
        assert_eq!(found[0].doc_freq, 2);
        // « cervice » is two typos away too, but one is on the first letter.
        assert_eq!(terms(typo_terms(&s, f, "servkce", 2, 10).expect("search")), vec!["service", "sertice", "services"]);
        // The word itself is the exact clause's business.
        assert_eq!(terms(typo_terms(&s, f, "service", 1, 10).expect("search")), vec!["sertice", "services"]);
        assert_eq!(typo_terms(&s, f, "servkce", 1, 1).expect("search").len(), 1);
    }

    #[test]
    fn prefixes_give_their_commonest_completions() {
        let (s, f) = searcher(&["colombes", "colombes", "colomiers", "colomb", "col", "cologne", "dole"]);
        assert_eq!(terms(prefix_terms(&s, f, "colom", 10).expect("search")), vec!["colombes", "colomb", "colomiers"]);
        assert_eq!(terms(prefix_terms(&s, f, "colom", 1).expect("search")), vec!["colombes"]);
        assert!(prefix_terms(&s, f, "zz", 10).expect("search").is_empty());
    }
}
