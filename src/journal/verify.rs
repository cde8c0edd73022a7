//! Verification of the chain (`atomes journal verify`): recomputes every hash in order and
//! reports the first entry that was edited, removed or reordered.

use std::fmt;

use super::JournalKey;
use super::model::{head, list_after};
use crate::db::DbConn;

/// Entries read per query while verifying.
const PAGE: i64 = 5_000;

/// The first inconsistency found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// Entry `id`'s content does not match its hash: it was edited.
    Altered {
        /// The entry.
        id: i64,
    },
    /// Entry `expected` is missing (the next one found is `found`): removed.
    Missing {
        /// The id that should come next.
        expected: i64,
        /// The id found instead.
        found: i64,
    },
    /// Entry `id` does not follow the previous one: the chain was reordered or spliced.
    BrokenLink {
        /// The entry.
        id: i64,
    },
    /// The last entries are gone: the head says `head_last`, the table ends at `found_last`.
    Truncated {
        /// Last id according to the head.
        head_last: i64,
        /// Last id in the table.
        found_last: i64,
    },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Altered { id } => write!(f, "entry {id} was altered: its content does not match its hash"),
            Self::Missing { expected, found } => {
                write!(f, "entry {expected} is missing (removed): the next entry found is {found}")
            }
            Self::BrokenLink { id } => {
                write!(f, "entry {id} does not follow the previous entry: the chain was reordered or spliced")
            }
            Self::Truncated { head_last, found_last } => write!(
                f,
                "the journal ends at entry {found_last} but its head records {head_last}: the last entries were removed"
            ),
        }
    }
}

/// What `verify` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    /// Entries checked.
    pub checked: u64,
    /// Last entry id of the chain.
    pub last_id: i64,
    /// The first inconsistency, if any.
    pub problem: Option<Problem>,
}

/// Checks the whole active chain against `key`.
pub fn verify(conn: &mut DbConn, key: &JournalKey) -> diesel::QueryResult<VerifyReport> {
    let (base_id, base_hash, head_last, head_hash) = head(conn)?;
    let mut expected = base_id + 1;
    let mut prev = base_hash;
    let mut checked = 0u64;
    loop {
        let page = list_after(conn, expected - 1, PAGE)?;
        let Some(last) = page.last().map(|e| e.id) else { break };
        for entry in &page {
            let problem = if entry.id != expected {
                Some(Problem::Missing { expected, found: entry.id })
            } else if entry.prev_hash != prev {
                Some(Problem::BrokenLink { id: entry.id })
            } else if entry.fields().hash(key) != entry.hash {
                Some(Problem::Altered { id: entry.id })
            } else {
                None
            };
            if problem.is_some() {
                return Ok(VerifyReport { checked, last_id: entry.id, problem });
            }
            prev.clone_from(&entry.hash);
            expected += 1;
            checked += 1;
        }
        if last < expected - 1 {
            break;
        }
    }
    let found_last = expected - 1;
    let problem = if found_last != head_last || prev != head_hash {
        Some(Problem::Truncated { head_last, found_last })
    } else {
        None
    };
    Ok(VerifyReport { checked, last_id: found_last, problem })
}
