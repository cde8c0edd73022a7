//! The `atomes` binary: clear configuration errors, migrate, create-admin, journal verify.

use std::process::{Command, Output, Stdio};

use diesel::connection::SimpleConnection;
use diesel::prelude::*;

use crate::support::TestDb;

const KEY: &str = "cli-test-journal-key-0123456789abcdef";

fn atomes(dir: &std::path::Path, db_url: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_atomes"));
    cmd.current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("ATOMES_JOURNAL_KEY", KEY)
        .env("ATOMES_LOG", "warn")
        .args(["--data-dir", dir.join("data").to_str().unwrap(), "--database-url", db_url])
        .args(args);
    cmd
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

#[test]
fn an_unreachable_postgresql_is_named_without_its_password() {
    let dir = tempfile::tempdir().unwrap();
    let o = atomes(dir.path(), "postgres://atomes:hunter2@127.0.0.1:1/atomes", &["migrate"]).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    let t = text(&o);
    assert!(t.contains("cannot connect to the database postgres://atomes:***@127.0.0.1:1/atomes"), "{t}");
    assert!(!t.contains("hunter2"), "{t}");
}

#[test]
fn an_unwritable_data_dir_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, "x").unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_atomes"))
        .env_clear()
        .args(["--data-dir", file.join("sub").to_str().unwrap(), "migrate"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("`data_dir`"), "{}", text(&o));
}

#[test]
fn a_bad_environment_setting_is_named_with_its_variable() {
    let dir = tempfile::tempdir().unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_atomes"))
        .current_dir(dir.path())
        .env_clear()
        .env("ATOMES_LISTEN", "partout")
        .arg("migrate")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let t = text(&o);
    assert!(t.contains("`listen`") && t.contains("ATOMES_LISTEN"), "{t}");
    let o = Command::new(env!("CARGO_BIN_EXE_atomes"))
        .current_dir(dir.path())
        .env_clear()
        .args(["--config", "missing.toml", "migrate"])
        .output()
        .unwrap();
    assert!(text(&o).contains("missing.toml"), "{}", text(&o));
}

#[test]
fn migrate_create_admin_and_verify_then_detect_tampering() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::new(dir.path());
    let o = atomes(dir.path(), &db.url, &["migrate"]).output().unwrap();
    assert!(o.status.success(), "{}", text(&o));

    let mut child = atomes(
        dir.path(),
        &db.url,
        &[
            "admin",
            "create-admin",
            "--email",
            "Camille.Durand@Example.org",
            "--given-name",
            "Camille",
            "--family-name",
            "Durand",
            "--password-stdin",
        ],
    )
    .stdin(Stdio::piped())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(b"une phrase de passe assez longue\n").unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert!(!text(&o).contains("phrase de passe"), "the password is not echoed");

    // The same address in fullwidth letters is the same account.
    let o = atomes(
        dir.path(),
        &db.url,
        &[
            "admin",
            "create-admin",
            "--email",
            "ｃａｍｉｌｌｅ.durand@example.org",
            "--given-name",
            "X",
            "--family-name",
            "Y",
        ],
    )
    .output()
    .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("already exists"), "{}", text(&o));

    let o = atomes(dir.path(), &db.url, &["journal", "verify"]).output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("journal intact: 1 entries verified"), "{}", text(&o));

    // The export is JSON lines, and the export itself is journaled before it is written.
    let o = atomes(dir.path(), &db.url, &["journal", "export"]).output().unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let lines: Vec<serde_json::Value> =
        String::from_utf8_lossy(&o.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 2);
    assert_eq!((lines[0]["action"].as_str(), lines[0]["object_type"].as_str()), (Some("creation"), Some("user")));
    assert_eq!((lines[1]["action"].as_str(), lines[1]["object_type"].as_str()), (Some("export"), Some("journal")));
    assert_eq!(lines[1]["prev_hash"], lines[0]["hash"]);
    let o = atomes(dir.path(), &db.url, &["journal", "verify"]).output().unwrap();
    assert!(text(&o).contains("journal intact: 2 entries verified"), "{}", text(&o));

    // Someone with direct access edits the entry.
    let sql = if db.is_pg() {
        "ALTER TABLE journal_entries DISABLE TRIGGER USER; UPDATE journal_entries SET actor_role = 'administrator' WHERE id = 1;"
    } else {
        "DROP TRIGGER journal_entries_no_update; UPDATE journal_entries SET actor_role = 'administrator' WHERE id = 1;"
    };
    let url = db.url.strip_prefix("sqlite://").unwrap_or(&db.url).to_owned();
    if db.is_pg() {
        diesel::PgConnection::establish(&url).unwrap().batch_execute(sql).unwrap();
    } else {
        diesel::SqliteConnection::establish(&url).unwrap().batch_execute(sql).unwrap();
    }
    let o = atomes(dir.path(), &db.url, &["journal", "verify"]).output().unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("entry 1 was altered"), "{}", text(&o));
}

#[test]
fn unknown_job_lists_the_known_ones() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::new(dir.path());
    let o = atomes(dir.path(), &db.url, &["jobs", "run-once", "nope"]).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("mail-outbox"), "{}", text(&o));
    let o = atomes(dir.path(), &db.url, &["jobs", "run-once", "mail-outbox"]).output().unwrap();
    assert!(o.status.success(), "{}", text(&o));
}

/// Runs `atomes demo` in `dir` until it serves, then stops it; returns what it printed.
fn run_demo(dir: &std::path::Path) -> String {
    use std::io::{BufRead, BufReader};
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_atomes"))
        .current_dir(dir)
        .env_clear()
        .env("ATOMES_LOG", "warn")
        .args(["--listen", &format!("127.0.0.1:{port}"), "demo"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut out = String::new();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    for line in lines.by_ref() {
        let line = line.unwrap();
        out.push_str(&line);
        out.push('\n');
        if line.contains("Ctrl-C") {
            break;
        }
    }
    // It answers, in French.
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    use std::io::{Read, Write};
    stream.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").unwrap();
    let mut page = String::new();
    stream.read_to_string(&mut page).unwrap();
    assert!(page.starts_with("HTTP/1.1 200") && page.contains("<html lang=\"fr\">"), "{page}");
    child.kill().unwrap();
    child.wait().unwrap();
    out
}

#[test]
fn demo_seeds_an_administrator_once_and_keeps_its_data() {
    let dir = tempfile::tempdir().unwrap();
    let first = run_demo(dir.path());
    assert!(first.contains("mot de passe à usage unique"), "{first}");
    assert!(dir.path().join("atomes-data/atomes.db").exists());
    assert!(dir.path().join("atomes-data/journal.key").exists());
    let second = run_demo(dir.path());
    assert!(second.contains("existantes conservées"), "{second}");
    assert!(!second.contains("usage unique"), "no new password: {second}");
}
