//! The first versions: at the first start, version 1 of the terms and of the privacy policy
//! is published from the texts shipped with the portal (`content/legal/`), and version 1 of
//! the legal notice from the configuration (publisher, certified host: CGU §8.4). Later
//! versions are written and published from the back office.

use askama::Template;
use diesel::prelude::*;

use super::model::{DraftInput, LegalDoc, find_current};
use crate::config::PortalConfig;
use crate::db::DbConn;
use crate::db::schema::legal_documents;
use crate::journal::{self, AccessContext, Action, Object, Outcome};

/// The legal notice's first text: Markdown with the configured publisher and host.
#[derive(Template)]
#[template(path = "legal/mentions-legales.md", escape = "none")]
struct LegalNoticeSource<'a> {
    portal: &'a PortalConfig,
}

/// The Markdown of a legal notice naming the configured publisher and host.
pub fn legal_notice_markdown(portal: &PortalConfig) -> String {
    LegalNoticeSource { portal }.render().expect("a template without fallible parts")
}

/// Title and body of a shipped Markdown text whose first line is its level-1 heading.
fn split_title(source: &str) -> (String, String) {
    let source = source.trim_start();
    match source.strip_prefix("# ").and_then(|rest| rest.split_once('\n')) {
        Some((title, body)) => (title.trim().to_owned(), body.trim().to_owned()),
        None => (String::new(), source.trim().to_owned()),
    }
}

/// The first version of a base document.
fn first_version(doc: &LegalDoc, portal: &PortalConfig) -> DraftInput {
    let (title, body) = match doc {
        LegalDoc::Terms => split_title(include_str!("../../content/legal/cgu.md")),
        LegalDoc::Privacy => split_title(include_str!("../../content/legal/donnees-personnelles.md")),
        _ => ("Mentions légales".to_owned(), legal_notice_markdown(portal)),
    };
    DraftInput { title, summary: "Première version publiée sur le portail.".into(), body, major: true }
}

/// Publishes version 1 of the terms, the privacy policy and the legal notice where none
/// exists, journaled as `ctx` (the platform); returns the documents published. Idempotent,
/// and safe when several nodes start at once (a version taken by another node is skipped).
pub fn ensure_initial_versions(
    conn: &mut DbConn,
    ctx: &AccessContext,
    portal: &PortalConfig,
) -> QueryResult<Vec<LegalDoc>> {
    let mut published = Vec::new();
    for doc in LegalDoc::BASE {
        let exists: i64 = legal_documents::table
            .filter(legal_documents::kind.eq(doc.kind()))
            .filter(legal_documents::feature_key.eq(""))
            .count()
            .get_result(conn)?;
        if exists > 0 {
            continue;
        }
        let input = first_version(&doc, portal);
        let now = ctx.at.naive_utc();
        let row = || {
            (
                legal_documents::kind.eq(doc.kind()),
                legal_documents::feature_key.eq(""),
                legal_documents::version.eq(1),
                legal_documents::major.eq(true),
                legal_documents::title.eq(input.title.clone()),
                legal_documents::summary.eq(input.summary.clone()),
                legal_documents::body.eq(input.body.clone()),
                legal_documents::published_at.eq(Some(now)),
                legal_documents::created_at.eq(now),
                legal_documents::updated_at.eq(now),
            )
        };
        let inserted = match conn {
            DbConn::Pg(c) => {
                diesel::insert_into(legal_documents::table).values(row()).on_conflict_do_nothing().execute(c)?
            }
            DbConn::Sqlite(c) => diesel::insert_or_ignore_into(legal_documents::table).values(row()).execute(c)?,
        };
        if inserted == 0 {
            continue;
        }
        let id = find_current(conn, &doc)?.map(|d| d.id).ok_or(diesel::result::Error::NotFound)?;
        journal::record(conn, ctx, Action::Creation, Object::new("legal_document", id), Outcome::Success)?;
        published.push(doc);
    }
    Ok(published)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_texts_split_into_title_and_body() {
        let portal = PortalConfig::default();
        for doc in LegalDoc::BASE {
            let v = first_version(&doc, &portal);
            assert!(!v.title.is_empty() && !v.body.starts_with("# "), "{doc:?}: {}", v.title);
            assert!(v.validated().is_ok());
        }
        let notice = legal_notice_markdown(&portal);
        assert!(notice.contains(&portal.host.name) && notice.contains("## Hébergement"), "{notice}");
        let html = super::super::render_body(&notice).html;
        assert!(html.contains("<br />") && html.contains("href=\"/cgu\""), "{html}");
    }
}
