//! Prometheus metrics, exposed on a private address or behind a token (never public).

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HttpLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RuleLabels {
    rule: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct JobLabels {
    job: String,
    ok: bool,
}

type HistogramFamily = Family<RouteLabels, Histogram, fn() -> Histogram>;

/// The metrics of one node.
pub struct Metrics {
    registry: Registry,
    requests: Family<HttpLabels, Counter>,
    durations: HistogramFamily,
    jobs: Family<JobLabels, Counter>,
    rate_limited: Family<RuleLabels, Counter>,
    pool_connections: Gauge,
    pool_idle: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Registers every metric.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("atomes");
        let requests = Family::<HttpLabels, Counter>::default();
        let durations: HistogramFamily =
            Family::new_with_constructor(|| Histogram::new(exponential_buckets(0.000_5, 2.0, 16)));
        let jobs = Family::<JobLabels, Counter>::default();
        let rate_limited = Family::<RuleLabels, Counter>::default();
        let pool_connections = Gauge::default();
        let pool_idle = Gauge::default();
        registry.register("http_requests", "HTTP requests by route and status", requests.clone());
        registry.register("http_request_duration_seconds", "Time to answer, by route", durations.clone());
        registry.register("job_runs", "Job runs by outcome", jobs.clone());
        registry.register("rate_limited", "Requests refused by a rate limit (429), by rule", rate_limited.clone());
        registry.register("db_pool_connections", "Open database connections", pool_connections.clone());
        registry.register("db_pool_idle", "Idle database connections", pool_idle.clone());
        Self { registry, requests, durations, jobs, rate_limited, pool_connections, pool_idle }
    }

    /// Counts one answered request; `route` is the matched pattern, never the raw path.
    pub fn http_request(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let route = route.to_owned();
        self.requests.get_or_create(&HttpLabels { method: method.to_owned(), route: route.clone(), status }).inc();
        self.durations.get_or_create(&RouteLabels { route }).observe(seconds);
    }

    /// Counts one job run.
    pub fn job_runs(&self, job: &str, ok: bool) {
        self.jobs.get_or_create(&JobLabels { job: job.to_owned(), ok }).inc();
    }

    /// Counts one request refused by the rate-limit `rule`.
    pub fn rate_limited(&self, rule: &str) {
        self.rate_limited.get_or_create(&RuleLabels { rule: rule.to_owned() }).inc();
    }

    /// The text exposition, with the pool gauges refreshed.
    pub fn render(&self, pool: (u32, u32)) -> String {
        self.pool_connections.set(i64::from(pool.0));
        self.pool_idle.set(i64::from(pool.1));
        let mut out = String::new();
        encode(&mut out, &self.registry).expect("writing to a String cannot fail");
        out
    }
}
