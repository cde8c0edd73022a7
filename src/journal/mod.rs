//! The access journal (SPEC JNL-1, JNL-2; CGU §5.5, §6): every consultation, creation,
//! modification and deletion of personal data is recorded with who, what, which record,
//! when, from where and the outcome, in the same transaction as the action itself.
//! Entries form an HMAC-SHA256 hash chain so that an edited, removed or reordered entry is
//! detected by `atomes journal verify`; the database refuses UPDATE and DELETE on them.

mod chain;
mod key;
mod model;
mod verify;

use std::net::IpAddr;
use std::sync::Arc;

use chrono::{DateTime, Utc};

pub use chain::GENESIS_HASH;
pub use key::JournalKey;
pub use model::{JournalEntry, count, list_after, list_all, list_for_object, record};
pub use verify::{Problem, VerifyReport, verify};

/// What was done.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Personal data was read (a page, an export, a download).
    Consultation,
    /// Personal data was created.
    Creation,
    /// Personal data was changed.
    Modification,
    /// Personal data was deleted.
    Deletion,
    /// Personal data left the platform as a file (CSV, JSON).
    Export,
    /// Someone logged in, or tried to.
    Login,
    /// Someone logged out.
    Logout,
}

impl Action {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Consultation => "consultation",
            Self::Creation => "creation",
            Self::Modification => "modification",
            Self::Deletion => "deletion",
            Self::Export => "export",
            Self::Login => "login",
            Self::Logout => "logout",
        }
    }
}

/// How the action ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// It was done.
    Success,
    /// It was refused by an authorisation rule.
    Denied,
    /// It failed (wrong credentials, invalid input).
    Failure,
    /// It was requested and waits for a confirmation (a link sent by e-mail).
    Pending,
}

impl Outcome {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Denied => "denied",
            Self::Failure => "failure",
            Self::Pending => "pending",
        }
    }
}

/// The role an actor acted in; stored with the entry since roles change over time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ActorRole {
    /// A visitor who is not logged in.
    Anonymous,
    /// A logged-in professional.
    Professional,
    /// A professional acting for an organisation.
    OrganisationManager,
    /// A site administrator.
    Administrator,
    /// The platform itself (jobs, imports, the command line).
    System,
}

impl ActorRole {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Anonymous => "anonymous",
            Self::Professional => "professional",
            Self::OrganisationManager => "organisation_manager",
            Self::Administrator => "administrator",
            Self::System => "system",
        }
    }
}

/// The JSON line of one entry in an export (JNL-2: the journal is exportable evidence).
pub fn export_line(e: &JournalEntry) -> String {
    serde_json::json!({
        "id": e.id,
        "occurred_at": e.occurred_at.and_utc().to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        "actor_id": e.actor_id,
        "actor_role": e.actor_role,
        "action": e.action,
        "object_type": e.object_type,
        "object_id": e.object_id,
        "outcome": e.outcome,
        "source_ip": e.source_ip,
        "request_id": e.request_id,
        "prev_hash": e.prev_hash,
        "hash": e.hash,
    })
    .to_string()
}

/// Who acts: an account id (none for visitors and the system) and the role.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Actor {
    /// The account, if any.
    pub id: Option<i64>,
    /// The role acted in.
    pub role: ActorRole,
}

impl Actor {
    /// A visitor who is not logged in.
    pub const ANONYMOUS: Self = Self { id: None, role: ActorRole::Anonymous };
    /// The platform itself.
    pub const SYSTEM: Self = Self { id: None, role: ActorRole::System };
}

/// The record an action is about: a type (`user`, `registration`, …) and its identifier.
/// Identifiers only: never a name, an e-mail or any other personal payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Object {
    /// The kind of record.
    pub kind: &'static str,
    /// Its identifier, if the action is about one record.
    pub id: Option<String>,
}

impl Object {
    /// One record of a kind.
    pub fn new(kind: &'static str, id: impl ToString) -> Self {
        Self { kind, id: Some(id.to_string()) }
    }

    /// A kind as a whole (a list, a search, an export).
    pub fn kind(kind: &'static str) -> Self {
        Self { kind, id: None }
    }
}

/// Who acts, from where and when, plus the key that signs the entries. Built once per
/// request by the web layer, or by `AccessContext::system` for jobs and commands.
#[derive(Clone, Debug)]
pub struct AccessContext {
    /// Signing key of the chain.
    pub key: Arc<JournalKey>,
    /// Who acts.
    pub actor: Actor,
    /// The client address, from the trusted-proxy rule.
    pub source_ip: Option<IpAddr>,
    /// The request id, to join the journal with the logs.
    pub request_id: Option<String>,
    /// When the action happens (the application clock).
    pub at: DateTime<Utc>,
}

impl AccessContext {
    /// The context of the platform itself (jobs, commands).
    pub fn system(key: Arc<JournalKey>, at: DateTime<Utc>) -> Self {
        Self { key, actor: Actor::SYSTEM, source_ip: None, request_id: None, at }
    }

    /// The same context acting as someone else (after a login, say).
    pub fn with_actor(&self, actor: Actor) -> Self {
        Self { actor, ..self.clone() }
    }
}
