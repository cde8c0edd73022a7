//! The mail outbox: a real SMTP exchange, the on-disk outbox, and nothing lost when SMTP is down.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::mpsc;

use atomes::config::Secret;
use atomes::jobs::{self, RunOutcome};
use atomes::mail::{self, NewMail, OutboxJob};

use crate::support::TestApp;

fn queue(app: &TestApp, subject: &str) -> i64 {
    let mut conn = app.conn();
    let mail = NewMail {
        recipient: "helene.martin@example.org".into(),
        subject: subject.into(),
        body_text: "Bonjour,\nvotre inscription est confirmée.\n".into(),
    };
    mail::enqueue(&mut conn, &mail, app.clock.now_naive()).unwrap()
}

use atomes::clock::Clock;

fn run(app: &TestApp) -> atomes::jobs::JobReport {
    match jobs::run_once(&app.state, &OutboxJob, "test-node").unwrap() {
        RunOutcome::Ran(r) => r,
        RunOutcome::Busy => panic!("lease unexpectedly busy"),
    }
}

/// A minimal SMTP server that speaks the protocol for one message and hands back its DATA.
fn smtp_sink() -> (u16, mpsc::Receiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut out = stream.try_clone().unwrap();
        let mut input = BufReader::new(stream);
        let mut say = |s: &str| out.write_all(format!("{s}\r\n").as_bytes()).unwrap();
        say("220 sink.test ESMTP");
        let mut data = String::new();
        let mut in_data = false;
        let mut line = String::new();
        while input.read_line(&mut line).unwrap_or(0) > 0 {
            let cmd = line.trim_end().to_owned();
            line.clear();
            if in_data {
                if cmd == "." {
                    in_data = false;
                    say("250 2.0.0 queued");
                } else {
                    data.push_str(&cmd);
                    data.push('\n');
                }
                continue;
            }
            let verb = cmd.split_whitespace().next().unwrap_or("").to_ascii_uppercase();
            match verb.as_str() {
                "EHLO" | "HELO" => say("250 sink.test"),
                "MAIL" | "RCPT" | "RSET" | "NOOP" => say("250 2.1.0 ok"),
                "DATA" => {
                    in_data = true;
                    say("354 go ahead");
                }
                "QUIT" => {
                    say("221 bye");
                    break;
                }
                _ => say("502 unknown"),
            }
        }
        let _ = tx.send(data);
    });
    (port, rx)
}

#[test]
fn without_smtp_mail_is_written_to_the_on_disk_outbox() {
    let app = TestApp::new();
    let id = queue(&app, "Confirmation d'inscription");
    let report = run(&app);
    assert_eq!((report.done, report.failed), (1, 0));
    let mail = mail::find(&mut app.conn(), id).unwrap().unwrap();
    assert_eq!(mail.status, "written");
    let file = app.dir.path().join("outbox").join(format!("{id:08}.eml"));
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains("Subject: Confirmation d'inscription"), "{text}");
    assert!(text.contains("To: helene.martin@example.org"));
    // Idempotent: a second run sends nothing again.
    assert_eq!(run(&app).done, 0);
}

#[test]
fn mail_goes_through_a_real_smtp_exchange() {
    let (port, received) = smtp_sink();
    let app = TestApp::with_config(|c| c.mail.smtp_url = Some(Secret::new(format!("smtp://127.0.0.1:{port}"))));
    let id = queue(&app, "Réinitialisation du mot de passe");
    assert_eq!(run(&app).done, 1);
    let data = received.recv_timeout(std::time::Duration::from_secs(10)).unwrap();
    assert!(data.contains("helene.martin@example.org"), "{data}");
    assert!(data.contains("Subject: =?utf-8?"), "non-ASCII subjects are encoded: {data}");
    let mail = mail::find(&mut app.conn(), id).unwrap().unwrap();
    assert_eq!(mail.status, "sent");
    assert!(mail.sent_at.is_some());
}

#[test]
fn when_smtp_is_down_mail_stays_in_the_outbox_and_is_retried_with_backoff() {
    // A port nobody listens on.
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let app = TestApp::with_config(|c| c.mail.smtp_url = Some(Secret::new(format!("smtp://127.0.0.1:{port}"))));
    let id = queue(&app, "Bienvenue");
    let report = run(&app);
    assert_eq!((report.done, report.failed), (0, 1));
    let mail = mail::find(&mut app.conn(), id).unwrap().unwrap();
    assert_eq!((mail.status.as_str(), mail.attempts), ("pending", 1));
    assert!(mail.last_error.is_some());
    assert_eq!(mail.next_attempt_at, app.clock.now_naive() + chrono::Duration::seconds(60));
    // Not due yet: nothing is attempted.
    assert_eq!(run(&app).failed, 0);
    // Due again: a second attempt, then a longer wait.
    app.clock.advance(chrono::Duration::seconds(61));
    assert_eq!(run(&app).failed, 1);
    let mail = mail::find(&mut app.conn(), id).unwrap().unwrap();
    assert_eq!(mail.attempts, 2);
    assert_eq!(mail.next_attempt_at, app.clock.now_naive() + chrono::Duration::seconds(120));
    // Many failures later the message is still there, waiting at most six hours.
    for _ in 0..12 {
        app.clock.advance(chrono::Duration::hours(7));
        run(&app);
    }
    let mail = mail::find(&mut app.conn(), id).unwrap().unwrap();
    assert_eq!((mail.status.as_str(), mail.attempts), ("pending", 14));
    assert_eq!(mail.next_attempt_at, app.clock.now_naive() + chrono::Duration::hours(6));
}
