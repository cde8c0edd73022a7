//! Terms of use, privacy policy and legal notice (SPEC CGU-1: always consultable). For now
//! the texts shipped with the binary (`content/legal/`); versioned documents published from
//! the back office replace them with the accounts issue.

use std::sync::OnceLock;

use pulldown_cmark::{CowStr, Event, HeadingLevel, Options, Parser, Tag, TagEnd, html};

/// A document shipped with the portal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LegalDoc {
    /// Conditions générales d'utilisation.
    Terms,
    /// Protection des données personnelles.
    Privacy,
}

/// A document rendered to HTML, with the table of contents of its sections.
pub struct Rendered {
    /// The level-1 heading.
    pub title: String,
    /// The body as safe HTML (raw HTML in the source is escaped, not passed through).
    pub html: String,
    /// Anchor and title of each level-2 section.
    pub toc: Vec<(String, String)>,
}

impl LegalDoc {
    fn source(self) -> &'static str {
        match self {
            Self::Terms => include_str!("../../content/legal/cgu.md"),
            Self::Privacy => include_str!("../../content/legal/donnees-personnelles.md"),
        }
    }

    /// The rendered document, computed once.
    pub fn rendered(self) -> &'static Rendered {
        static TERMS: OnceLock<Rendered> = OnceLock::new();
        static PRIVACY: OnceLock<Rendered> = OnceLock::new();
        let cell = match self {
            Self::Terms => &TERMS,
            Self::Privacy => &PRIVACY,
        };
        cell.get_or_init(|| render_markdown(self.source()))
    }
}

/// Renders Markdown safely: raw HTML becomes text, headings get stable anchors, the level-1
/// heading is taken out (the page template shows it) and level-2 headings form the contents.
pub fn render_markdown(source: &str) -> Rendered {
    let events: Vec<Event<'_>> = Parser::new_ext(source, Options::ENABLE_SMART_PUNCTUATION).collect();
    let mut out = Vec::with_capacity(events.len());
    let mut title = String::new();
    let mut toc = Vec::new();
    let mut i = 0;
    while i < events.len() {
        match &events[i] {
            Event::Start(Tag::Heading { level, .. }) => {
                let level = *level;
                let end = events[i..]
                    .iter()
                    .position(|e| matches!(e, Event::End(TagEnd::Heading(_))))
                    .map_or(events.len(), |p| i + p);
                let text = plain_text(&events[i + 1..end]);
                if level == HeadingLevel::H1 && title.is_empty() {
                    title = text;
                    i = end + 1;
                    continue;
                }
                let id = slug(&text);
                if level == HeadingLevel::H2 {
                    toc.push((id.clone(), text));
                }
                out.push(Event::Start(Tag::Heading {
                    level,
                    id: Some(CowStr::from(id)),
                    classes: vec![],
                    attrs: vec![],
                }));
            }
            Event::Html(raw) | Event::InlineHtml(raw) => out.push(Event::Text(raw.clone())),
            other => out.push(other.clone()),
        }
        i += 1;
    }
    let mut body = String::with_capacity(source.len() * 3 / 2);
    html::push_html(&mut body, out.into_iter());
    Rendered { title, html: body, toc }
}

fn plain_text(events: &[Event<'_>]) -> String {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Text(t) | Event::Code(t) => Some(t.as_ref()),
            _ => None,
        })
        .collect()
}

/// An ASCII anchor from a heading ("5.1 Accès au Service" → "5-1-acces-au-service").
fn slug(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        let c = fold_accent(c).to_ascii_lowercase();
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_owned()
}

fn fold_accent(c: char) -> char {
    match c {
        'à' | 'â' | 'ä' | 'À' | 'Â' => 'a',
        'é' | 'è' | 'ê' | 'ë' | 'É' | 'È' | 'Ê' => 'e',
        'î' | 'ï' | 'Î' => 'i',
        'ô' | 'ö' | 'Ô' => 'o',
        'ù' | 'û' | 'ü' | 'Û' => 'u',
        'ç' | 'Ç' => 'c',
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_html_is_escaped_and_sections_are_anchored() {
        let r = render_markdown("# Titre\n\n## 5.1 Accès au Service\n\n<script>alert(1)</script>\n");
        assert_eq!(r.title, "Titre");
        assert_eq!(r.toc, vec![("5-1-acces-au-service".to_owned(), "5.1 Accès au Service".to_owned())]);
        assert!(!r.html.contains("<script>"), "{}", r.html);
        assert!(r.html.contains("&lt;script&gt;"));
    }

    #[test]
    fn shipped_documents_have_a_title_and_sections() {
        for doc in [LegalDoc::Terms, LegalDoc::Privacy] {
            let r = doc.rendered();
            assert!(!r.title.is_empty());
            assert!(r.toc.len() >= 3);
        }
    }
}
