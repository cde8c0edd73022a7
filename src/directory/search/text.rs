//! French text handling shared by indexing and querying: folding (case, accents, elision),
//! the analyser registered in tantivy, and the health-French synonym groups.

use std::collections::HashMap;
use std::sync::OnceLock;

use tantivy::tokenizer::{
    AsciiFoldingFilter, Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer, StopWordFilter, TextAnalyzer,
};

/// Name of the French analyser in the index's tokenizer manager.
pub const FRENCH: &str = "fr_atomes";
/// The name of the same analyser without stemming: where typos and prefixes are looked up
/// (a typo changes a stem too much: « terrases » stems to « terras », « terrasses » to « terr »).
pub const FRENCH_WORDS: &str = "fr_atomes_words";

/// Words too common to help (articles, prepositions, elided forms split off by the tokenizer).
const STOP_WORDS: &[&str] = &[
    "a", "au", "aux", "d", "de", "des", "du", "en", "et", "l", "la", "le", "les", "pour", "un", "une", "sur", "sous",
    "s", "qu", "j", "n", "m", "t", "c", "y",
];

/// The analyser: words, lowercase, accents folded, stop words and elisions dropped, French
/// stemming (so « hébergements » finds « hébergement »).
pub fn french_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .filter(StopWordFilter::remove(STOP_WORDS.iter().map(|w| (*w).to_owned())))
        .filter(Stemmer::new(Language::French))
        .build()
}

/// [`french_analyzer`] without its stemmer: lowercase ASCII words, stop words out.
pub fn french_words_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .filter(StopWordFilter::remove(STOP_WORDS.iter().map(|w| (*w).to_owned())))
        .build()
}

/// The French stem of one folded word, as the index holds it.
pub fn stem(word: &str) -> String {
    let mut stemmer = TextAnalyzer::builder(tantivy::tokenizer::RawTokenizer::default())
        .filter(Stemmer::new(Language::French))
        .build();
    let mut s = stemmer.token_stream(word);
    if s.advance() { s.token().text.clone() } else { word.to_owned() }
}

/// The words of a query as [`french_words_analyzer`] and [`french_analyzer`] see them, in
/// order: (folded word, its stem).
pub fn query_words(text: &str) -> Vec<(String, String)> {
    let mut words = french_words_analyzer();
    let mut stream = words.token_stream(text);
    let mut out = Vec::new();
    while stream.advance() {
        let word = stream.token().text.clone();
        let stemmed = stem(&word);
        out.push((word, stemmed));
    }
    out
}

/// Lowercase ASCII words of `text` (accents folded), in order, without stop words: the form
/// synonyms are matched on and highlighting compares.
pub fn fold_words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    for c in text.chars() {
        if c.is_alphanumeric() {
            for l in c.to_lowercase() {
                push_folded(&mut current, l);
            }
        } else if !current.is_empty() {
            words.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        words.push(current);
    }
    words.retain(|w| !STOP_WORDS.contains(&w.as_str()));
    words
}

fn push_folded(out: &mut String, c: char) {
    match c {
        'à' | 'á' | 'â' | 'ä' | 'ã' | 'å' => out.push('a'),
        'ç' => out.push('c'),
        'è' | 'é' | 'ê' | 'ë' => out.push('e'),
        'ì' | 'í' | 'î' | 'ï' => out.push('i'),
        'ñ' => out.push('n'),
        'ò' | 'ó' | 'ô' | 'ö' | 'õ' => out.push('o'),
        'ù' | 'ú' | 'û' | 'ü' => out.push('u'),
        'ý' | 'ÿ' => out.push('y'),
        'œ' => out.push_str("oe"),
        'æ' => out.push_str("ae"),
        c if c.is_ascii_alphanumeric() => out.push(c),
        _ => {}
    }
}

/// A phrase of the synonym file, as folded words.
type Phrase = Vec<String>;

/// The synonym groups of `data/synonymes-sante.txt`, as folded word sequences.
pub struct Synonyms {
    groups: Vec<Vec<Phrase>>,
    /// One-way rules (`a | b => c`): an entry that holds `a` or `b` also receives `c`, not the
    /// other way round (an EHPAD is an EHPA, an EHPA is not an EHPAD).
    rules: Vec<(Vec<Phrase>, Vec<Phrase>)>,
    /// First word of a phrase → (group, phrase) pairs, to find phrases quickly.
    by_first_word: HashMap<String, Vec<(usize, usize)>>,
}

impl Synonyms {
    /// Parses the synonym file format: one group per line, phrases separated by `|`, `#` comments;
    /// a line `a | b => c | d` is a one-way rule (see [`Synonyms::expand`]).
    pub fn parse(text: &str) -> Self {
        let lines = || text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#'));
        let phrases = |l: &str| l.split('|').map(fold_words).filter(|p| !p.is_empty()).collect::<Vec<_>>();
        let rules = lines()
            .filter_map(|l| l.split_once("=>"))
            .map(|(from, to)| (phrases(from), phrases(to)))
            .filter(|(from, to)| !from.is_empty() && !to.is_empty())
            .collect();
        let groups: Vec<Vec<Phrase>> =
            lines().filter(|l| !l.contains("=>")).map(phrases).filter(|g: &Vec<Phrase>| g.len() > 1).collect();
        let mut by_first_word: HashMap<String, Vec<(usize, usize)>> = HashMap::new();
        for (g, group) in groups.iter().enumerate() {
            for (p, phrase) in group.iter().enumerate() {
                by_first_word.entry(phrase[0].clone()).or_default().push((g, p));
            }
        }
        Self { groups, rules, by_first_word }
    }

    /// The groups shipped with Atomes.
    pub fn shipped() -> &'static Self {
        static S: OnceLock<Synonyms> = OnceLock::new();
        S.get_or_init(|| Self::parse(include_str!("../../../data/synonymes-sante.txt")))
    }

    /// Number of groups.
    pub fn len(&self) -> usize {
        self.groups.len()
    }

    /// Whether there is no group.
    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    /// The other phrases of every group one of whose phrases occurs in `words`, joined as text
    /// (what an indexed document receives in its keywords), and the right side of every one-way
    /// rule one of whose left phrases occurs in `words`. Phrases are matched longest first
    /// and the words they cover are not matched again (as Lucene's synonym graph does): « service
    /// de soins infirmiers à domicile » is an SSIAD, not also a « soins infirmiers » (a nurse's
    /// practice), and an EHPAD's long name does not make it an EHPA (« résidence autonomie »).
    pub fn expand(&self, words: &[String]) -> String {
        let mut hit = vec![false; self.groups.len()];
        let mut i = 0;
        while i < words.len() {
            let longest = self
                .by_first_word
                .get(&words[i])
                .map(Vec::as_slice)
                .unwrap_or(&[])
                .iter()
                .map(|&(g, p)| (g, &self.groups[g][p]))
                .filter(|(_, phrase)| words.len() >= i + phrase.len() && words[i..i + phrase.len()] == phrase[..])
                .max_by_key(|(_, phrase)| phrase.len());
            match longest {
                Some((g, phrase)) => {
                    hit[g] = true;
                    i += phrase.len();
                }
                None => i += 1,
            }
        }
        let mut out = String::new();
        let holds = |phrase: &Phrase| words.windows(phrase.len()).any(|w| w == &phrase[..]);
        for (_, to) in self.rules.iter().filter(|(from, _)| from.iter().any(holds)) {
            for phrase in to {
                out.push_str(&phrase.join(" "));
                out.push(' ');
            }
        }
        for (g, _) in hit.iter().enumerate().filter(|(_, h)| **h) {
            for phrase in &self.groups[g] {
                out.push_str(&phrase.join(" "));
                out.push(' ');
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_drops_accents_case_elision_and_stop_words() {
        assert_eq!(
            fold_words("Centre Médico-Psychologique d'Asnières-sur-Seine"),
            vec!["centre", "medico", "psychologique", "asnieres", "seine"]
        );
        assert_eq!(fold_words("ŒUVRE L'ÉTÉ"), vec!["oeuvre", "ete"]);
    }

    #[test]
    fn synonyms_expand_in_both_directions() {
        let s = Synonyms::shipped();
        assert!(s.len() >= 100, "{} groups", s.len());
        let ehpad = s.expand(&fold_words("EHPAD Les Tilleuls"));
        assert!(ehpad.contains("maison retraite"), "{ehpad}");
        let lay = s.expand(&fold_words("Maison de retraite du parc"));
        assert!(lay.contains("ehpad"), "{lay}");
        let kine = s.expand(&fold_words("Cabinet de kiné Durand"));
        assert!(kine.contains("masseur kinesitherapeute"), "{kine}");
        assert!(!s.expand(&fold_words("Pharmacie de la Gare")).contains("ehpad"));
        // The longest phrase wins, and its words are taken: an SSIAD is not a nurse's practice,
        // an EHPAD not a « résidence autonomie »; the shorter phrase alone still expands.
        let ssiad = s.expand(&fold_words("Service de soins infirmiers à domicile"));
        assert!(ssiad.contains("ssiad") && !ssiad.contains("cabinet infirmier"), "{ssiad}");
        assert!(s.expand(&fold_words("Soins infirmiers Durand")).contains("cabinet infirmier"));
        let ehpad = s.expand(&fold_words("Établissement d'hébergement pour personnes âgées dépendantes"));
        assert!(ehpad.contains("maison retraite") && !ehpad.contains("residence autonomie"), "{ehpad}");
        assert!(
            s.expand(&fold_words("Établissement d'hébergement pour personnes âgées")).contains("residence autonomie")
        );
        // One-way rules: an EHPAD is an EHPA, a CMP is a psychiatric service; not the reverse.
        assert!(ehpad.split(' ').any(|w| w == "ehpa"), "{ehpad}");
        assert!(!s.expand(&fold_words("Résidence autonomie Les Lilas")).contains("ehpad"));
        assert!(s.expand(&fold_words("CMP adultes de Nanterre")).contains("psychiatrie"));
        assert!(!s.expand(&fold_words("Service de psychiatrie générale")).contains("cmp"));
    }

    #[test]
    fn the_analyzer_stems_french() {
        let mut a = french_analyzer();
        let mut tokens = Vec::new();
        let mut stream = a.token_stream("Hébergements temporaires d'urgence");
        while stream.advance() {
            tokens.push(stream.token().text.clone());
        }
        let mut b = french_analyzer();
        let mut single = Vec::new();
        let mut stream = b.token_stream("hebergement temporaire urgence");
        while stream.advance() {
            single.push(stream.token().text.clone());
        }
        assert_eq!(tokens, single);
    }
}

#[cfg(test)]
mod query_word_tests {
    use super::*;

    #[test]
    fn query_words_pair_each_folded_word_with_the_stem_the_index_holds() {
        let pairs = query_words("SSIAD les Terrasses à Meyzieu");
        let stems: Vec<String> = pairs.iter().map(|(_, s)| s.clone()).collect();
        let mut analyzer = french_analyzer();
        let mut stream = analyzer.token_stream("SSIAD les Terrasses à Meyzieu");
        let mut expected = Vec::new();
        while stream.advance() {
            expected.push(stream.token().text.clone());
        }
        assert_eq!(stems, expected);
        assert_eq!(pairs[1].0, "terrasses");
        assert_eq!(pairs[0].0, "ssiad");
    }
}
