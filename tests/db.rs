//! The database layer on both backends: migrations, SQLite pragmas, busy → 503.

use atomes::db::{self, DbConn};
use atomes::journal::{self, Action, Object, Outcome};
use atomes::web::error::AppError;
use axum::http::StatusCode;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

use crate::support::TestApp;

#[derive(QueryableByName)]
struct Row {
    #[diesel(sql_type = Text)]
    v: String,
}

#[derive(QueryableByName)]
struct Num {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[test]
fn migrations_apply_from_empty_and_are_idempotent() {
    let app = TestApp::new();
    let mut conn = app.conn();
    // Already applied by TestApp: a second run applies nothing.
    assert!(db::run_migrations(&mut conn).unwrap().is_empty());
    for table in ["users", "journal_entries", "journal_head", "job_leases", "mail_outbox"] {
        let n: Num = diesel::sql_query(format!("SELECT COUNT(*) AS n FROM {table}")).get_result(&mut *conn).unwrap();
        assert!(n.n >= 0);
    }
    assert_eq!(journal::count(&mut conn).unwrap(), 0);
}

#[test]
fn sqlite_pragmas_are_set_on_every_connection() {
    let app = TestApp::new();
    if app.is_pg() {
        return;
    }
    // Several connections, not just the first one.
    let mut conns: Vec<_> = (0..3).map(|_| app.conn()).collect();
    for conn in &mut conns {
        let pragma = |c: &mut DbConn, name: &str| -> String {
            diesel::sql_query(format!("SELECT CAST({name} AS TEXT) AS v FROM pragma_{name}"))
                .get_result::<Row>(c)
                .unwrap()
                .v
        };
        assert_eq!(pragma(conn, "journal_mode"), "wal");
        assert_eq!(pragma(conn, "synchronous"), "2", "synchronous must be FULL (2)");
        assert_eq!(pragma(conn, "foreign_keys"), "1");
        assert_eq!(
            diesel::sql_query("SELECT CAST(timeout AS TEXT) AS v FROM pragma_busy_timeout")
                .get_result::<Row>(&mut **conn)
                .unwrap()
                .v,
            "5000"
        );
    }
}

/// Another session holds the journal head (a long transaction elsewhere): the write times out
/// with a lock error, which maps to 503 (with Retry-After, see web tests), never to 500.
#[test]
fn lock_contention_maps_to_503() {
    let app = TestApp::new();
    let mut holder = app.conn();
    holder
        .batch_execute(if app.is_pg() {
            "BEGIN; UPDATE journal_head SET updated_at = updated_at WHERE id = 1"
        } else {
            "BEGIN IMMEDIATE"
        })
        .unwrap();
    let mut conn = app.conn();
    conn.batch_execute(if app.is_pg() { "SET lock_timeout = '100ms'" } else { "PRAGMA busy_timeout = 100" }).unwrap();
    let ctx = app.state.system_context();
    let err = db::write_tx(&mut conn, |c| {
        journal::record(c, &ctx, Action::Creation, Object::new("user", 1), Outcome::Success).map_err(AppError::from)
    })
    .unwrap_err();
    assert_eq!(err.status(), StatusCode::SERVICE_UNAVAILABLE, "{err}");
    holder.batch_execute("ROLLBACK").unwrap();
    // And the connection is usable again afterwards.
    db::write_tx(&mut conn, |c| journal::record(c, &ctx, Action::Creation, Object::new("user", 1), Outcome::Success))
        .unwrap();
}

#[test]
fn database_urls_are_parsed_and_redacted() {
    use atomes::db::{Backend, DbTarget};
    assert_eq!(DbTarget::parse("postgres://u:p@h/db").unwrap().backend(), Backend::Postgres);
    assert_eq!(DbTarget::parse("postgresql://h/db").unwrap().backend(), Backend::Postgres);
    assert_eq!(DbTarget::parse("sqlite://data/a.db").unwrap().sqlite_path(), Some("data/a.db"));
    assert_eq!(DbTarget::parse("data/a.db").unwrap().sqlite_path(), Some("data/a.db"));
    assert!(DbTarget::parse("mysql://h/db").is_err());
    let t = DbTarget::parse("postgres://user:hunter2@db.example/atomes").unwrap();
    assert!(!t.redacted().contains("hunter2"));
    assert!(!format!("{t:?}").contains("hunter2"));
}
