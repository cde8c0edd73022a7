//! The published documents, rendered once per node: the legal pages are read by every visitor
//! (CGU-1) and rendering the terms is the costly part of serving them. An entry is kept at
//! most [`TTL`], so that a version published on another node shows within a minute; the node
//! that publishes empties its own cache at once.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use chrono::{DateTime, Duration, Utc};
use diesel::QueryResult;

use super::model::{LegalDoc, LegalDocument, VersionInfo, find_current, list_published};
use super::render::Rendered;
use crate::db::DbConn;

/// How long a node keeps a rendered document without looking at the database again.
pub const TTL: Duration = Duration::seconds(60);

/// The version in force of a document, rendered, and the list of its published versions.
#[derive(Debug)]
pub struct Published {
    /// The version in force.
    pub document: LegalDocument,
    /// Its body as safe HTML.
    pub rendered: Rendered,
    /// Every published version, newest (the one in force) first.
    pub versions: Vec<VersionInfo>,
}

impl Published {
    /// The versions before the one in force, newest first.
    pub fn previous(&self) -> &[VersionInfo] {
        self.versions.get(1..).unwrap_or(&[])
    }
}

/// Loads and renders the version in force of `doc` (CPU work: call it off the async runtime).
pub fn load_published(conn: &mut DbConn, doc: &LegalDoc) -> QueryResult<Option<Published>> {
    let Some(document) = find_current(conn, doc)? else { return Ok(None) };
    let versions = list_published(conn, doc)?;
    let rendered = document.render();
    Ok(Some(Published { document, rendered, versions }))
}

type Entry = (DateTime<Utc>, Option<Arc<Published>>);

/// Each node's cache of [`Published`] documents, held by the application state.
#[derive(Default)]
pub struct PublishedCache {
    entries: RwLock<HashMap<LegalDoc, Entry>>,
}

impl PublishedCache {
    /// The cached state of `doc` (`Some(None)`: known to have no published version), if fresh.
    pub fn get(&self, doc: &LegalDoc, now: DateTime<Utc>) -> Option<Option<Arc<Published>>> {
        let entries = self.entries.read().unwrap_or_else(|p| p.into_inner());
        entries.get(doc).filter(|(at, _)| now - *at < TTL).map(|(_, v)| v.clone())
    }

    /// Keeps what was loaded for `doc` at `now`.
    pub fn put(&self, doc: LegalDoc, now: DateTime<Utc>, value: Option<Arc<Published>>) {
        self.entries.write().unwrap_or_else(|p| p.into_inner()).insert(doc, (now, value));
    }

    /// Forgets everything (after a publication).
    pub fn invalidate(&self) {
        self.entries.write().unwrap_or_else(|p| p.into_inner()).clear();
    }
}
