//! One line of `atomes journal export` (`journal::export_line`): whatever the stored strings
//! hold (quotes, control characters, any Unicode), the line is one JSON object on one line whose
//! fields read back as stored, the time to the microsecond.
#![no_main]

use arbitrary::Arbitrary;
use atomes::journal::{JournalEntry, export_line};
use chrono::{DateTime, Datelike};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

#[derive(Arbitrary, Debug)]
struct Input {
    id: i64,
    seconds: i64,
    nanos: u32,
    actor_id: Option<i64>,
    actor_role: String,
    action: String,
    object_type: String,
    object_id: Option<String>,
    outcome: String,
    source_ip: Option<String>,
    request_id: Option<String>,
    prev_hash: String,
    hash: String,
}

fuzz_target!(|i: Input| {
    let Some(at) = DateTime::from_timestamp(i.seconds, i.nanos % 1_000_000_000) else { return };
    let e = JournalEntry {
        id: i.id,
        occurred_at: at.naive_utc(),
        actor_id: i.actor_id,
        actor_role: i.actor_role,
        action: i.action,
        object_type: i.object_type,
        object_id: i.object_id,
        outcome: i.outcome,
        source_ip: i.source_ip,
        request_id: i.request_id,
        prev_hash: i.prev_hash,
        hash: i.hash,
        created_at: at.naive_utc(),
    };
    let line = export_line(&e);
    assert!(!line.contains('\n') && !line.contains('\r'), "{line}");
    let v: Value = serde_json::from_str(&line).expect("not JSON");
    let text = |k: &str| v[k].as_str().map(str::to_owned);
    assert_eq!(v["id"].as_i64(), Some(e.id));
    assert_eq!(v["actor_id"].as_i64(), e.actor_id);
    assert_eq!(text("actor_role").as_ref(), Some(&e.actor_role));
    assert_eq!(text("action").as_ref(), Some(&e.action));
    assert_eq!(text("object_type").as_ref(), Some(&e.object_type));
    assert_eq!(text("object_id"), e.object_id);
    assert_eq!(text("outcome").as_ref(), Some(&e.outcome));
    assert_eq!(text("source_ip"), e.source_ip);
    assert_eq!(text("request_id"), e.request_id);
    assert_eq!(text("prev_hash").as_ref(), Some(&e.prev_hash));
    assert_eq!(text("hash").as_ref(), Some(&e.hash));
    let occurred = text("occurred_at").expect("occurred_at");
    if (0..=9999).contains(&at.year()) {
        let back = DateTime::parse_from_rfc3339(&occurred).unwrap_or_else(|e| panic!("{occurred}: {e}"));
        let micros = at.timestamp_micros();
        assert_eq!(back.timestamp_micros(), micros, "{occurred}");
        assert!(occurred.ends_with('Z'), "{occurred}");
    }
});
