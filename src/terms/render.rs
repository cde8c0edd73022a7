//! Markdown to safe HTML: raw HTML becomes text, links keep only harmless schemes, images
//! become their text, headings get stable anchors and level-2 headings form the contents.

use pulldown_cmark::{CowStr, Event, HeadingLevel, Options, Parser, Tag, TagEnd, html};

/// A document rendered to HTML, with the table of contents of its sections.
#[derive(Clone, Debug)]
pub struct Rendered {
    /// The level-1 heading (empty for [`render_body`], whose title is stored apart).
    pub title: String,
    /// The body as safe HTML (raw HTML in the source is escaped, not passed through).
    pub html: String,
    /// Anchor and title of each level-2 section.
    pub toc: Vec<(String, String)>,
}

/// Renders a Markdown document whose first level-1 heading is its title: the heading is taken
/// out (the page template shows it) and returned as `title`.
pub fn render_markdown(source: &str) -> Rendered {
    render(source, true)
}

/// Renders the body of a versioned document, whose title is stored apart: a level-1 heading in
/// the body is shown as a level-2 one, since a page has a single `h1`.
pub fn render_body(source: &str) -> Rendered {
    render(source, false)
}

fn render(source: &str, take_title: bool) -> Rendered {
    let events: Vec<Event<'_>> = Parser::new_ext(source, Options::ENABLE_SMART_PUNCTUATION).collect();
    let mut out = Vec::with_capacity(events.len());
    let mut title = String::new();
    let mut toc = Vec::new();
    let mut i = 0;
    while i < events.len() {
        match &events[i] {
            Event::Start(Tag::Heading { level, .. }) => {
                let end = events[i..]
                    .iter()
                    .position(|e| matches!(e, Event::End(TagEnd::Heading(_))))
                    .map_or(events.len(), |p| i + p);
                let text = plain_text(&events[i + 1..end]);
                if *level == HeadingLevel::H1 && take_title && title.is_empty() {
                    title = text;
                    i = end + 1;
                    continue;
                }
                let level = if *level == HeadingLevel::H1 { HeadingLevel::H2 } else { *level };
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
            Event::End(TagEnd::Heading(HeadingLevel::H1)) => out.push(Event::End(TagEnd::Heading(HeadingLevel::H2))),
            Event::Html(raw) | Event::InlineHtml(raw) => out.push(Event::Text(raw.clone())),
            Event::Start(Tag::Link { link_type, dest_url, title, id }) => out.push(Event::Start(Tag::Link {
                link_type: *link_type,
                dest_url: if is_safe_url(dest_url) { dest_url.clone() } else { CowStr::from("#") },
                title: title.clone(),
                id: id.clone(),
            })),
            // An image would load from wherever its author chose: only its text is kept.
            Event::Start(Tag::Image { .. }) | Event::End(TagEnd::Image) => {}
            other => out.push(other.clone()),
        }
        i += 1;
    }
    let mut body = String::with_capacity(source.len() * 3 / 2);
    html::push_html(&mut body, out.into_iter());
    Rendered { title, html: body, toc }
}

/// Whether a link target is harmless: relative, an anchor, or `http(s)`, `mailto`, `tel`.
/// Browsers ignore whitespace and control characters inside a scheme (`java\tscript:`), so
/// they are removed before looking.
fn is_safe_url(url: &str) -> bool {
    let compact: String = url.chars().filter(|c| !c.is_whitespace() && !c.is_control()).collect();
    let Some(colon) = compact.find(':') else { return true };
    if compact[..colon].contains(['/', '?', '#']) {
        return true;
    }
    let scheme = compact[..colon].to_ascii_lowercase();
    matches!(scheme.as_str(), "http" | "https" | "mailto" | "tel")
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
    fn dangerous_links_and_images_are_neutralised() {
        let r = render_body(
            "[a](javascript:alert(1)) [b](<JaVa&#9;ScRiPt:alert(1)>) [c](data:text/html,x) [d](/cgu#x) \
             [e](https://example.org/p?q=1:2) [f](mailto:dac@example.org)\n\n\
             ![pisteur](https://evil.example/t.png)\n",
        );
        assert!(!r.html.to_lowercase().contains("javascript"), "{}", r.html);
        assert!(!r.html.contains("data:"), "{}", r.html);
        assert_eq!(r.html.matches("href=\"#\"").count(), 3, "{}", r.html);
        for kept in ["href=\"/cgu#x\"", "href=\"https://example.org/p?q=1:2\"", "href=\"mailto:dac@example.org\""] {
            assert!(r.html.contains(kept), "{kept} in {}", r.html);
        }
        assert!(!r.html.contains("<img") && r.html.contains("pisteur"), "{}", r.html);
    }

    #[test]
    fn a_body_keeps_a_single_h1_for_the_page() {
        let r = render_body("# Article premier\n\nTexte.\n");
        assert_eq!(r.title, "");
        assert!(r.html.starts_with("<h2 id=\"article-premier\">Article premier</h2>"), "{}", r.html);
        assert_eq!(r.toc.len(), 1);
    }
}
