//! Job leases: one node at a time, expiry, release.

use atomes::jobs::{self, RunOutcome};
use atomes::mail::OutboxJob;
use chrono::Duration;

use crate::support::{TestApp, epoch};

#[test]
fn a_lease_is_exclusive_until_it_expires_or_is_released() {
    let app = TestApp::new();
    let mut conn = app.conn();
    let t0 = epoch();
    assert!(jobs::acquire(&mut conn, "x", "node-a", t0, t0 + Duration::minutes(5)).unwrap());
    assert!(!jobs::acquire(&mut conn, "x", "node-b", t0 + Duration::minutes(1), t0 + Duration::minutes(6)).unwrap());
    // The holder may renew.
    assert!(jobs::acquire(&mut conn, "x", "node-a", t0 + Duration::minutes(1), t0 + Duration::minutes(6)).unwrap());
    // After expiry (a crashed node), another node takes over.
    assert!(jobs::acquire(&mut conn, "x", "node-b", t0 + Duration::minutes(7), t0 + Duration::minutes(12)).unwrap());
    jobs::release(&mut conn, "x", "node-b", t0 + Duration::minutes(8), "ok").unwrap();
    assert!(jobs::acquire(&mut conn, "x", "node-a", t0 + Duration::minutes(8), t0 + Duration::minutes(13)).unwrap());
}

#[test]
fn run_once_skips_a_job_another_node_is_running() {
    let app = TestApp::new();
    let now = epoch();
    jobs::acquire(&mut app.conn(), "mail-outbox", "other-node", now, now + Duration::minutes(5)).unwrap();
    assert_eq!(jobs::run_once(&app.state, &OutboxJob, "this-node").unwrap(), RunOutcome::Busy);
    app.clock.advance(Duration::minutes(6));
    assert!(matches!(jobs::run_once(&app.state, &OutboxJob, "this-node").unwrap(), RunOutcome::Ran(_)));
}

#[test]
fn jobs_are_found_by_name() {
    assert!(jobs::find("mail-outbox").is_some());
    assert!(jobs::find("nope").is_none());
}
