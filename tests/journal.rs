//! The access journal (JNL-1, JNL-2; SECURITY-TESTS T18): one entry per action, written in the
//! same transaction, append-only in the database, and tamper-evident.

use std::sync::Arc;

use atomes::accounts::{self, NewUser, Role};
use atomes::db::{self, DbConn, PooledConn};
use atomes::journal::{self, AccessContext, Action, Actor, ActorRole, Object, Outcome, Problem};
use diesel::connection::SimpleConnection;

use crate::support::{TestApp, epoch};

fn new_user<'a>(email: &'a str, canonical: &'a str) -> NewUser<'a> {
    NewUser {
        email,
        email_canonical: canonical,
        given_name: "Hélène",
        family_name: "Martin",
        role: Role::Professional,
        password_hash: None,
        must_change_password: false,
    }
}

fn request_ctx(app: &TestApp) -> AccessContext {
    AccessContext {
        key: app.state.journal_key.clone(),
        actor: Actor { id: Some(7), role: ActorRole::Administrator },
        source_ip: Some("192.0.2.10".parse().unwrap()),
        request_id: Some("req-1".into()),
        at: app.clock.now_naive().and_utc(),
    }
}

fn append(app: &TestApp, conn: &mut PooledConn, n: usize) {
    let ctx = app.state.system_context();
    for i in 0..n {
        db::write_tx(conn, |c| {
            journal::record(c, &ctx, Action::Consultation, Object::new("user", i), Outcome::Success)
        })
        .unwrap();
    }
}

/// Makes the journal table writable again, as someone with direct database access could.
fn disable_protection(app: &TestApp, conn: &mut DbConn) {
    if app.is_pg() {
        conn.batch_execute("ALTER TABLE journal_entries DISABLE TRIGGER USER").unwrap();
    } else {
        conn.batch_execute("DROP TRIGGER journal_entries_no_update; DROP TRIGGER journal_entries_no_delete").unwrap();
    }
}

use atomes::clock::Clock;

#[test]
fn a_creation_writes_exactly_one_entry_with_identifiers_only() {
    let app = TestApp::new();
    let mut conn = app.conn();
    let ctx = request_ctx(&app);
    let user =
        db::write_tx(&mut conn, |c| accounts::create_user(c, &ctx, &new_user("helene@x.fr", "helene@x.fr"))).unwrap();
    let entries = journal::list_for_object(&mut conn, "user", &user.id.to_string(), 10).unwrap();
    assert_eq!(entries.len(), 1);
    let e = &entries[0];
    assert_eq!((e.action.as_str(), e.outcome.as_str()), ("creation", "success"));
    assert_eq!((e.actor_id, e.actor_role.as_str()), (Some(7), "administrator"));
    assert_eq!(e.source_ip.as_deref(), Some("192.0.2.10"));
    assert_eq!(e.request_id.as_deref(), Some("req-1"));
    assert_eq!(e.occurred_at, epoch().naive_utc());
    assert_eq!(journal::count(&mut conn).unwrap(), 1);
    let all = format!("{e:?}");
    assert!(!all.contains("helene") && !all.contains("Martin"), "no personal payload: {all}");
}

#[test]
fn a_rolled_back_transaction_leaves_neither_data_nor_entry() {
    let app = TestApp::new();
    let mut conn = app.conn();
    let ctx = request_ctx(&app);
    let result: Result<(), anyhow::Error> = db::write_tx(&mut conn, |c| {
        accounts::create_user(c, &ctx, &new_user("a@x.fr", "a@x.fr"))?;
        anyhow::bail!("the action failed after journaling")
    });
    assert!(result.is_err());
    assert_eq!(journal::count(&mut conn).unwrap(), 0);
    assert!(accounts::find_by_email(&mut conn, "a@x.fr").unwrap().is_none());
    // The chain continues from where it was: no gap left by the rolled-back entry.
    append(&app, &mut conn, 2);
    let report = journal::verify(&mut conn, &app.state.journal_key).unwrap();
    assert_eq!((report.checked, report.problem), (2, None));
}

#[test]
fn update_delete_and_truncate_are_refused() {
    let app = TestApp::new();
    let mut conn = app.conn();
    append(&app, &mut conn, 3);
    let attempts =
        ["UPDATE journal_entries SET outcome = 'denied' WHERE id = 2", "DELETE FROM journal_entries WHERE id = 3"];
    for sql in attempts {
        let err = conn.batch_execute(sql).unwrap_err().to_string();
        assert!(err.contains("append-only"), "{sql}: {err}");
    }
    if app.is_pg() {
        let err = conn.batch_execute("TRUNCATE journal_entries").unwrap_err().to_string();
        assert!(err.contains("append-only"), "{err}");
    }
    assert_eq!(journal::count(&mut conn).unwrap(), 3);
    assert_eq!(journal::verify(&mut conn, &app.state.journal_key).unwrap().problem, None);
}

#[test]
fn verify_detects_an_edited_entry() {
    let app = TestApp::new();
    let mut conn = app.conn();
    append(&app, &mut conn, 5);
    disable_protection(&app, &mut conn);
    conn.batch_execute("UPDATE journal_entries SET object_id = '999' WHERE id = 3").unwrap();
    let report = journal::verify(&mut conn, &app.state.journal_key).unwrap();
    assert_eq!(report.problem, Some(Problem::Altered { id: 3 }));
    assert_eq!(report.checked, 2);
}

#[test]
fn verify_detects_a_removed_entry_and_a_truncated_tail() {
    let app = TestApp::new();
    let mut conn = app.conn();
    append(&app, &mut conn, 5);
    disable_protection(&app, &mut conn);
    conn.batch_execute("DELETE FROM journal_entries WHERE id = 5").unwrap();
    let report = journal::verify(&mut conn, &app.state.journal_key).unwrap();
    assert_eq!(report.problem, Some(Problem::Truncated { head_last: 5, found_last: 4 }));
    conn.batch_execute("DELETE FROM journal_entries WHERE id = 2").unwrap();
    let report = journal::verify(&mut conn, &app.state.journal_key).unwrap();
    assert_eq!(report.problem, Some(Problem::Missing { expected: 2, found: 3 }));
}

#[test]
fn verify_detects_reordered_entries_and_a_forged_hash() {
    let app = TestApp::new();
    let mut conn = app.conn();
    append(&app, &mut conn, 4);
    disable_protection(&app, &mut conn);
    // Swap the content of entries 2 and 3, hashes included.
    conn.batch_execute(
        "UPDATE journal_entries SET id = 100 WHERE id = 2;
         UPDATE journal_entries SET id = 2 WHERE id = 3;
         UPDATE journal_entries SET id = 3 WHERE id = 100;",
    )
    .unwrap();
    let report = journal::verify(&mut conn, &app.state.journal_key).unwrap();
    assert_eq!(report.problem, Some(Problem::BrokenLink { id: 2 }));
    // A forger without the key cannot produce a consistent chain: recomputing with another
    // key fails at the very first entry.
    let other = journal::JournalKey::from_bytes(b"another-key-another-key-another-key");
    let report = journal::verify(&mut conn, &other).unwrap();
    assert_eq!(report.problem, Some(Problem::Altered { id: 1 }));
}

#[test]
fn concurrent_appends_keep_a_gapless_valid_chain() {
    let app = TestApp::new();
    let state = Arc::new(app.state.clone());
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let state = state.clone();
            std::thread::spawn(move || {
                let ctx = state.system_context();
                let mut conn = state.db.get().unwrap();
                for i in 0..25 {
                    db::write_tx(&mut conn, |c| {
                        journal::record(
                            c,
                            &ctx,
                            Action::Modification,
                            Object::new("user", t * 100 + i),
                            Outcome::Success,
                        )
                    })
                    .unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let mut conn = app.conn();
    let report = journal::verify(&mut conn, &app.state.journal_key).unwrap();
    assert_eq!((report.checked, report.last_id, report.problem), (200, 200, None));
}

#[test]
fn control_characters_in_identifiers_are_stored_escaped() {
    let app = TestApp::new();
    let mut conn = app.conn();
    let mut ctx = app.state.system_context();
    ctx.request_id = Some("x\r\nFAKE ENTRY\u{1b}[2J".into());
    db::write_tx(&mut conn, |c| journal::record(c, &ctx, Action::Login, Object::new("user", "a\nb"), Outcome::Failure))
        .unwrap();
    let e = &journal::list_for_object(&mut conn, "user", "a\\u{a}b", 1).unwrap()[0];
    assert!(!e.request_id.as_deref().unwrap().contains('\n'));
    assert!(!e.request_id.as_deref().unwrap().contains('\u{1b}'));
    assert_eq!(journal::verify(&mut conn, &app.state.journal_key).unwrap().problem, None);
}

#[test]
fn the_clock_dates_entries() {
    let app = TestApp::new();
    let mut conn = app.conn();
    app.clock.advance(chrono::Duration::days(15));
    append(&app, &mut conn, 1);
    let e = &journal::list_for_object(&mut conn, "user", "0", 1).unwrap()[0];
    assert_eq!(e.occurred_at, (epoch() + chrono::Duration::days(15)).naive_utc());
    assert_eq!(app.state.clock.now(), epoch() + chrono::Duration::days(15));
}
