//! Outgoing mail. Every message goes into the `mail_outbox` table first, inside the
//! transaction of the action that sends it; the `mail-outbox` job then delivers it through
//! SMTP when `mail.smtp_url` is set, or writes it as an `.eml` file under
//! `data_dir/outbox/` otherwise (the demo works offline). A failed delivery is retried with
//! a growing delay and never dropped; administrators read the outbox in the back office.

mod model;

use std::path::Path;
use std::time::Duration;

use lettre::message::{Mailbox, header::ContentType};
use lettre::{Message, SmtpTransport, Transport};

pub use model::{NewMail, OutboxMail, count_by_status, enqueue, find, list_recent, status_label};

use crate::app::AppState;
use crate::jobs::{Job, JobReport};

/// Messages handled per run of the job.
const BATCH: i64 = 100;
/// The longest wait between two attempts.
const MAX_BACKOFF_SECS: i64 = 6 * 3600;

/// The delay before attempt `attempts + 1`, after `attempts` failures: 1, 2, 4… minutes,
/// capped at six hours.
pub fn backoff(attempts: i32) -> chrono::Duration {
    let exp = attempts.clamp(1, 20) as u32 - 1;
    chrono::Duration::seconds((60i64 << exp).min(MAX_BACKOFF_SECS))
}

/// The job that delivers the outbox.
pub struct OutboxJob;

impl Job for OutboxJob {
    fn name(&self) -> &'static str {
        "mail-outbox"
    }

    fn interval(&self) -> Duration {
        Duration::from_secs(30)
    }

    fn run(&self, state: &AppState) -> anyhow::Result<JobReport> {
        let mut conn = state.db.get()?;
        let due = model::list_due(&mut conn, state.clock.now_naive(), BATCH)?;
        let sender = Sender::new(state)?;
        let mut report = JobReport::default();
        for mail in due {
            let result = build(&state.config.mail.from, &mail).and_then(|m| sender.deliver(&mail, &m));
            let now = state.clock.now_naive();
            match result {
                Ok(status) => {
                    model::mark_delivered(&mut conn, mail.id, status, now)?;
                    report.done += 1;
                }
                Err(e) => {
                    let attempts = mail.attempts + 1;
                    tracing::warn!(mail_id = mail.id, attempts, error = %e, "mail delivery failed; will retry");
                    model::mark_failed(&mut conn, mail.id, attempts, now, now + backoff(attempts), &format!("{e:#}"))?;
                    report.failed += 1;
                }
            }
        }
        report.detail = sender.describe().into();
        Ok(report)
    }
}

/// Where the job delivers.
enum Sender {
    Smtp(Box<SmtpTransport>),
    Directory(std::path::PathBuf),
}

impl Sender {
    fn new(state: &AppState) -> anyhow::Result<Self> {
        match &state.config.mail.smtp_url {
            Some(url) => {
                let transport = SmtpTransport::from_url(url.expose())
                    .map_err(|e| anyhow::anyhow!("`mail.smtp_url` is not a valid SMTP URL: {e}"))?
                    .timeout(Some(Duration::from_secs(15)))
                    .build();
                Ok(Self::Smtp(Box::new(transport)))
            }
            None => Ok(Self::Directory(state.config.data_dir.join("outbox"))),
        }
    }

    fn describe(&self) -> &'static str {
        match self {
            Self::Smtp(_) => "smtp",
            Self::Directory(_) => "outbox directory",
        }
    }

    fn deliver(&self, mail: &OutboxMail, message: &Message) -> anyhow::Result<&'static str> {
        match self {
            Self::Smtp(t) => {
                t.send(message)?;
                Ok("sent")
            }
            Self::Directory(dir) => {
                write_eml(dir, mail.id, &message.formatted())?;
                Ok("written")
            }
        }
    }
}

fn build(from: &str, mail: &OutboxMail) -> anyhow::Result<Message> {
    let from: Mailbox = from.parse().map_err(|e| anyhow::anyhow!("`mail.from` is not an address: {e}"))?;
    let to: Mailbox = mail.recipient.parse().map_err(|e| anyhow::anyhow!("invalid recipient: {e}"))?;
    Ok(Message::builder()
        .from(from)
        .to(to)
        .subject(mail.subject.clone())
        .header(ContentType::TEXT_PLAIN)
        .body(mail.body_text.clone())?)
}

/// Writes the message atomically (temporary file, then rename), so a reader never sees half.
fn write_eml(dir: &Path, id: i64, bytes: &[u8]) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(".{id}.eml.tmp"));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, dir.join(format!("{id:08}.eml")))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::backoff;

    #[test]
    fn backoff_grows_then_caps() {
        assert_eq!(backoff(1).num_seconds(), 60);
        assert_eq!(backoff(2).num_seconds(), 120);
        assert_eq!(backoff(5).num_seconds(), 960);
        assert_eq!(backoff(30).num_seconds(), 6 * 3600);
    }
}
