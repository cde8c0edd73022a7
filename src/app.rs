//! The application state shared by handlers, jobs and commands.

use std::sync::Arc;

use crate::clock::SharedClock;
use crate::config::Config;
use crate::db::Db;
use crate::directory::search::SearchIndex;
use crate::journal::{AccessContext, JournalKey};
use crate::ops::Metrics;
use crate::terms::PublishedCache;
use crate::web::assets::Assets;
use crate::web::ratelimit::RateLimiter;

/// Everything a request, a job or a command needs; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// The database.
    pub db: Db,
    /// The configuration.
    pub config: Arc<Config>,
    /// The clock.
    pub clock: SharedClock,
    /// The journal's signing key.
    pub journal_key: Arc<JournalKey>,
    /// Prometheus metrics.
    pub metrics: Arc<Metrics>,
    /// Static files, compressed once.
    pub assets: Arc<Assets>,
    /// This node's directory search index.
    pub search: Arc<SearchIndex>,
    /// This node's request rate limits.
    pub rate_limiter: Arc<RateLimiter>,
    /// This node's rendered legal documents (emptied when one is published).
    pub terms: Arc<PublishedCache>,
}

impl AppState {
    /// Builds the state; the data directory must exist (see `Config::prepare_data_dir`).
    pub fn new(config: Config, db: Db, clock: SharedClock) -> anyhow::Result<Self> {
        let journal_key = match &config.journal_key {
            Some(secret) => JournalKey::from_bytes(secret.expose().as_bytes()),
            None => JournalKey::load_or_create(&config.data_dir)?,
        };
        Ok(Self {
            db,
            clock,
            journal_key: Arc::new(journal_key),
            metrics: Arc::new(Metrics::new()),
            assets: Arc::new(Assets::load()),
            search: Arc::new(SearchIndex::open(&config.data_dir.join("index"))?),
            rate_limiter: Arc::new(RateLimiter::new(&config.rate_limits)),
            terms: Arc::new(PublishedCache::default()),
            config: Arc::new(config),
        })
    }

    /// The journal context of the platform itself, now.
    pub fn system_context(&self) -> AccessContext {
        AccessContext::system(self.journal_key.clone(), self.clock.now())
    }
}
