//! Request rate limits (SPEC ACC-7: robots are forbidden, CGU §5.3.1; ASVS 2.4.1;
//! SECURITY-TESTS T19), with the generic cell rate algorithm (GCRA).
//!
//! Each (rule, key) pair keeps one number, its theoretical arrival time (TAT): the time at which
//! its budget would be whole again if it sent nothing more. A request at `now` is allowed when
//! `max(TAT, now) + interval - burst × interval <= now`, and then pushes the TAT one interval
//! further. A pair whose TAT is past holds a whole budget, exactly as one never seen, so it can be
//! forgotten: that is how stale entries are pruned, and why memory stays bounded. Time comes from
//! the application clock (tests move it). Counts live in the memory of each node: behind a load
//! balancer spreading a client over N nodes, that client gets up to N budgets.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Mutex;

use axum::extract::{Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::AppError;
use super::middleware::RequestMeta;
use super::session::Viewer;
use crate::app::AppState;
use crate::config::{RateLimit, RateLimitsConfig};

/// Locks the table is split under, so that concurrent requests rarely wait for each other.
const SHARDS: usize = 16;
/// Paths that change credentials or create accounts, limited more strictly when posted
/// (and any path below them, such as a second-factor step).
const AUTHENTICATION_PATHS: &[&str] = &["/connexion", "/inscription", "/mot-de-passe-oublie"];

/// A rate-limit rule: what is counted, and against which key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Rule {
    /// Requests of visitors who are not logged in, per client address.
    Anonymous,
    /// Login, registration and password-reset submissions, per client address.
    Authentication,
    /// Requests of a logged-in account, per account.
    Account,
}

impl Rule {
    /// The name used in the settings and the metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Anonymous => "anonymous",
            Self::Authentication => "authentication",
            Self::Account => "account",
        }
    }
}

/// A rule's parameters in microseconds of the clock.
#[derive(Clone, Copy, Debug)]
struct Quota {
    /// Time between two requests at the sustained rate.
    interval: i64,
    /// `burst × interval`: how far ahead of `now` the TAT may run.
    span: i64,
}

impl From<RateLimit> for Quota {
    fn from(limit: RateLimit) -> Self {
        let interval = (60_000_000 / i64::from(limit.per_minute.max(1))).max(1);
        Self { interval, span: interval * i64::from(limit.burst.max(1)) }
    }
}

/// One lock's part of the table.
struct Shard {
    /// TAT of each (rule, key), in microseconds.
    cells: HashMap<(Rule, String), i64>,
    /// A lower bound of every TAT in `cells`: before it, nothing can be pruned.
    earliest: i64,
}

/// The limiter of one node: GCRA cells in a sharded, bounded in-memory table.
pub struct RateLimiter {
    enabled: bool,
    anonymous: Quota,
    authentication: Quota,
    account: Quota,
    shards: Box<[Mutex<Shard>]>,
    shard_capacity: usize,
    hasher: RandomState,
}

impl RateLimiter {
    /// A limiter with the configured rules, remembering at most about `max_keys` pairs.
    pub fn new(config: &RateLimitsConfig) -> Self {
        let shards = (0..SHARDS).map(|_| Mutex::new(Shard { cells: HashMap::new(), earliest: i64::MAX })).collect();
        Self {
            enabled: config.enabled,
            anonymous: config.anonymous.into(),
            authentication: config.authentication.into(),
            account: config.account.into(),
            shards,
            shard_capacity: config.max_keys.div_ceil(SHARDS).max(1),
            hasher: RandomState::new(),
        }
    }

    /// Whether requests are limited at all.
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    fn quota(&self, rule: Rule) -> Quota {
        match rule {
            Rule::Anonymous => self.anonymous,
            Rule::Authentication => self.authentication,
            Rule::Account => self.account,
        }
    }

    /// Counts one request of `key` under `rule` at `now_us` (microseconds of the application
    /// clock). `Err` holds the microseconds to wait when the request is over the limit (it is then
    /// not counted), or when the table is full of clients that are all still counted.
    pub fn check(&self, rule: Rule, key: &str, now_us: i64) -> Result<(), i64> {
        let quota = self.quota(rule);
        let index = (self.hasher.hash_one((rule, key)) % SHARDS as u64) as usize;
        let mut shard = self.shards[index].lock().unwrap_or_else(|p| p.into_inner());
        let id = (rule, key.to_owned());
        if let Some(tat) = shard.cells.get_mut(&id) {
            let start = (*tat).max(now_us);
            let allowed_at = start + quota.interval - quota.span;
            if now_us < allowed_at {
                return Err(allowed_at - now_us);
            }
            *tat = start + quota.interval;
            return Ok(());
        }
        if shard.cells.len() >= self.shard_capacity {
            shard.prune(now_us);
            if shard.cells.len() >= self.shard_capacity {
                // Full of live clients: the newcomer waits rather than the table growing.
                return Err((shard.earliest - now_us).max(1));
            }
        }
        let tat = now_us + quota.interval;
        shard.earliest = shard.earliest.min(tat);
        shard.cells.insert(id, tat);
        Ok(())
    }

    /// The number of (rule, key) pairs remembered.
    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| s.lock().unwrap_or_else(|p| p.into_inner()).cells.len()).sum()
    }

    /// Whether nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Shard {
    /// Forgets the pairs whose budget is whole again (TAT past), unless none can be yet.
    fn prune(&mut self, now: i64) {
        if now < self.earliest {
            return;
        }
        self.cells.retain(|_, tat| *tat > now);
        self.earliest = self.cells.values().copied().min().unwrap_or(i64::MAX);
    }
}

/// The key of a client address: the address itself for IPv4 (and IPv4-mapped IPv6), the /64
/// prefix for IPv6, since a single subscriber usually holds a whole /64.
pub fn address_key(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

/// Paths never limited: static files (a page pulls several), probes and metrics.
fn is_exempt(path: &str) -> bool {
    path.starts_with("/static/") || matches!(path, "/healthz" | "/readyz" | "/metrics")
}

/// Whether `path` is one of [`AUTHENTICATION_PATHS`] or below one.
fn is_authentication(path: &str) -> bool {
    AUTHENTICATION_PATHS
        .iter()
        .any(|p| path.strip_prefix(p).is_some_and(|rest| rest.is_empty() || rest.starts_with('/')))
}

/// Applies the rules to a request; layered inside `load_session` (it needs the account) and
/// `render_errors` (which renders the 429 as a French page, or JSON under `/api`). A refused
/// request reaches no handler, writes nothing to the journal, and is counted in
/// `atomes_rate_limited_total{rule}`.
pub async fn rate_limit(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let limiter = &state.rate_limiter;
    let path = req.uri().path();
    if !limiter.enabled() || is_exempt(path) {
        return next.run(req).await;
    }
    let client = req.extensions().get::<RequestMeta>().map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |m| m.client_ip);
    let account = req.extensions().get::<Viewer>().and_then(|v| v.0.as_ref()).map(|c| c.user.id);
    let mut checks = Vec::with_capacity(2);
    if req.method() == Method::POST && is_authentication(path) {
        checks.push((Rule::Authentication, address_key(client)));
    }
    // Logged-in professionals are counted per account, not per address: colleagues behind one
    // hospital gateway do not share a budget, and changing address does not earn a new one.
    checks.push(match account {
        Some(id) => (Rule::Account, id.to_string()),
        None => (Rule::Anonymous, address_key(client)),
    });
    let now = state.clock.now().timestamp_micros();
    for (rule, key) in checks {
        if let Err(wait_us) = limiter.check(rule, &key, now) {
            state.metrics.rate_limited(rule.as_str());
            let retry_after_secs = u64::try_from(wait_us.max(1)).unwrap_or(1).div_ceil(1_000_000);
            return AppError::TooManyRequests { retry_after_secs }.into_response();
        }
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: i64 = 1_000_000;

    fn limiter(per_minute: u32, burst: u32, max_keys: usize) -> RateLimiter {
        let limit = RateLimit { per_minute, burst };
        RateLimiter::new(&RateLimitsConfig {
            enabled: true,
            max_keys,
            anonymous: limit,
            authentication: limit,
            account: limit,
        })
    }

    #[test]
    fn a_burst_then_the_sustained_rate() {
        let l = limiter(60, 3, 1000);
        let t0 = 1_000 * SECOND;
        for _ in 0..3 {
            assert_eq!(l.check(Rule::Anonymous, "a", t0), Ok(()));
        }
        assert_eq!(l.check(Rule::Anonymous, "a", t0), Err(SECOND), "one per second once the burst is spent");
        assert_eq!(l.check(Rule::Anonymous, "a", t0 + SECOND / 2), Err(SECOND / 2));
        assert_eq!(l.check(Rule::Anonymous, "a", t0 + SECOND), Ok(()));
        assert!(l.check(Rule::Anonymous, "a", t0 + SECOND).is_err());
        // Other keys and other rules have their own budgets.
        assert_eq!(l.check(Rule::Anonymous, "b", t0), Ok(()));
        assert_eq!(l.check(Rule::Account, "a", t0), Ok(()));
        // After a quiet time the whole burst is back, not more.
        let later = t0 + 60 * SECOND;
        for _ in 0..3 {
            assert_eq!(l.check(Rule::Anonymous, "a", later), Ok(()));
        }
        assert!(l.check(Rule::Anonymous, "a", later).is_err());
    }

    #[test]
    fn refused_requests_do_not_lengthen_the_wait() {
        let l = limiter(60, 1, 1000);
        assert_eq!(l.check(Rule::Authentication, "a", 0), Ok(()));
        for _ in 0..100 {
            assert!(l.check(Rule::Authentication, "a", 0).is_err());
        }
        assert_eq!(l.check(Rule::Authentication, "a", SECOND), Ok(()));
    }

    #[test]
    fn memory_is_bounded_and_stale_entries_are_forgotten() {
        let l = limiter(60, 5, 1000);
        let t0 = 1_000 * SECOND;
        let allowed =
            (0..5000).filter(|i| l.check(Rule::Anonymous, &format!("10.0.{}.{}", i / 256, i % 256), t0).is_ok());
        let allowed = allowed.count();
        let capacity = 1000usize.div_ceil(SHARDS) * SHARDS;
        assert!(l.len() <= capacity && allowed == l.len(), "{} kept, {allowed} allowed", l.len());
        assert!(allowed >= 900, "the table fills up before refusing: {allowed}");
        // A newcomer to a full table waits until the oldest entry could be forgotten.
        let refused = (0..200).find_map(|i| l.check(Rule::Anonymous, &format!("new-{i}"), t0).err());
        assert_eq!(refused, Some(SECOND));
        // Once those clients' budgets are whole again, their entries make room.
        let later = t0 + 2 * SECOND;
        assert_eq!(l.check(Rule::Anonymous, "newcomer", later), Ok(()));
        for i in 0..5000 {
            let _ = l.check(Rule::Anonymous, &format!("192.0.{}.{}", i / 256, i % 256), later);
        }
        assert!(l.len() <= capacity);
    }

    #[test]
    fn ipv6_clients_are_counted_by_their_64_prefix() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::2".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(address_key(a), address_key(b));
        assert_ne!(address_key(a), address_key(c));
        assert_eq!(address_key("::ffff:192.0.2.7".parse().unwrap()), "192.0.2.7");
        assert_eq!(address_key("192.0.2.7".parse().unwrap()), "192.0.2.7");
    }

    #[test]
    fn which_paths_are_exempt_or_strict() {
        for p in ["/static/abc/site.css", "/healthz", "/readyz", "/metrics"] {
            assert!(is_exempt(p), "{p}");
        }
        for p in ["/", "/annuaire", "/api/directory/search", "/fhir/HealthcareService", "/healthz/x", "/staticx"] {
            assert!(!is_exempt(p), "{p}");
        }
        for p in ["/connexion", "/connexion/second-facteur", "/inscription", "/mot-de-passe-oublie"] {
            assert!(is_authentication(p), "{p}");
        }
        for p in ["/connexions", "/", "/compte/mot-de-passe", "/mot-de-passe-oublie-x"] {
            assert!(!is_authentication(p), "{p}");
        }
    }
}
