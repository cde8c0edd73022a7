//! Periodic jobs. Each job is idempotent and holds a lease in the database while it runs,
//! so that among several nodes on one PostgreSQL only one runs it at a time; every run is
//! logged and leaves its outcome on the lease row.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;

use crate::app::AppState;
use crate::db::DbConn;
use crate::db::schema::job_leases;

/// A periodic job.
pub trait Job: Send + Sync + 'static {
    /// The stable name (`mail-outbox`), used by `atomes jobs run-once NAME` and the lease.
    fn name(&self) -> &'static str;
    /// How often the scheduler runs it.
    fn interval(&self) -> Duration;
    /// Does one pass of work; must be safe to run again at any time.
    fn run(&self, state: &AppState) -> anyhow::Result<JobReport>;
    /// Whether every node runs it for itself (its own search index) instead of one node
    /// holding a lease.
    fn per_node(&self) -> bool {
        false
    }
}

/// What one run did, for the log and the lease row.
#[derive(Debug, Default, Clone, Serialize, PartialEq, Eq)]
pub struct JobReport {
    /// Items handled successfully.
    pub done: u64,
    /// Items that failed and will be retried.
    pub failed: u64,
    /// Free text summary.
    pub detail: String,
}

/// How a `run_once` call ended.
#[derive(Debug, PartialEq, Eq)]
pub enum RunOutcome {
    /// The job ran.
    Ran(JobReport),
    /// Another node holds the lease.
    Busy,
}

/// The jobs this binary knows.
pub fn all() -> Vec<Arc<dyn Job>> {
    vec![Arc::new(crate::mail::OutboxJob), Arc::new(crate::directory::IndexSyncJob)]
}

/// Finds a job by name.
pub fn find(name: &str) -> Option<Arc<dyn Job>> {
    all().into_iter().find(|j| j.name() == name)
}

/// Runs a job once if its lease is free; blocking.
pub fn run_once(state: &AppState, job: &dyn Job, holder: &str) -> anyhow::Result<RunOutcome> {
    if job.per_node() {
        let result = job.run(state);
        state.metrics.job_runs(job.name(), result.is_ok());
        return result.map(RunOutcome::Ran);
    }
    let now = state.clock.now();
    let ttl = chrono::Duration::from_std(job.interval().max(Duration::from_secs(60)) * 5)?;
    let mut conn = state.db.get()?;
    if !acquire(&mut conn, job.name(), holder, now, now + ttl)? {
        tracing::info!(job = job.name(), "lease held by another node; skipped");
        return Ok(RunOutcome::Busy);
    }
    drop(conn);
    let result = job.run(state);
    let outcome = match &result {
        Ok(r) => format!("ok: {} done, {} failed{}", r.done, r.failed, suffix(&r.detail)),
        Err(e) => format!("error: {e:#}"),
    };
    let mut conn = state.db.get()?;
    release(&mut conn, job.name(), holder, state.clock.now(), &outcome)?;
    match &result {
        Ok(r) => tracing::info!(job = job.name(), done = r.done, failed = r.failed, "job ran"),
        Err(e) => tracing::error!(job = job.name(), error = %format!("{e:#}"), "job failed"),
    }
    state.metrics.job_runs(job.name(), result.is_ok());
    result.map(RunOutcome::Ran)
}

fn suffix(detail: &str) -> String {
    if detail.is_empty() { String::new() } else { format!(" ({detail})") }
}

/// Takes the lease of `name` until `until` if it is free, expired or already ours:
/// one conditional UPDATE, so two nodes can never both succeed.
pub fn acquire(
    conn: &mut DbConn,
    name: &str,
    holder: &str,
    now: DateTime<Utc>,
    until: DateTime<Utc>,
) -> QueryResult<bool> {
    let now = now.naive_utc();
    let row = (job_leases::name.eq(name), job_leases::created_at.eq(now), job_leases::updated_at.eq(now));
    match conn {
        DbConn::Pg(c) => {
            diesel::insert_into(job_leases::table).values(row).on_conflict_do_nothing().execute(c)?;
        }
        DbConn::Sqlite(c) => {
            diesel::insert_or_ignore_into(job_leases::table).values(row).execute(c)?;
        }
    }
    let taken = diesel::update(job_leases::table.filter(job_leases::name.eq(name)).filter(
        job_leases::lease_until.is_null().or(job_leases::lease_until.lt(now)).or(job_leases::holder.eq(holder)),
    ))
    .set((
        job_leases::holder.eq(holder),
        job_leases::lease_until.eq(until.naive_utc()),
        job_leases::last_started_at.eq(now),
        job_leases::updated_at.eq(now),
    ))
    .execute(conn)?;
    Ok(taken == 1)
}

/// Gives the lease back and records the outcome.
pub fn release(conn: &mut DbConn, name: &str, holder: &str, now: DateTime<Utc>, outcome: &str) -> QueryResult<()> {
    let now = now.naive_utc();
    diesel::update(job_leases::table.filter(job_leases::name.eq(name)).filter(job_leases::holder.eq(holder)))
        .set((
            job_leases::holder.eq(None::<String>),
            job_leases::lease_until.eq(None::<chrono::NaiveDateTime>),
            job_leases::last_finished_at.eq(now),
            job_leases::last_outcome.eq(outcome),
            job_leases::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// Starts one scheduler task per job; they stop when `shutdown` fires.
pub fn spawn_scheduler(state: AppState, holder: String, shutdown: tokio::sync::watch::Receiver<bool>) {
    for job in all() {
        let state = state.clone();
        let holder = holder.clone();
        let mut shutdown = shutdown.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(job.interval());
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    _ = shutdown.changed() => break,
                }
                let (state, holder, job) = (state.clone(), holder.clone(), job.clone());
                let run = tokio::task::spawn_blocking(move || run_once(&state, job.as_ref(), &holder)).await;
                if let Ok(Err(e)) = run {
                    tracing::warn!(error = %format!("{e:#}"), "job run failed");
                }
            }
        });
    }
}
