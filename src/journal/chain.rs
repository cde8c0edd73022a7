//! The hash of one entry: HMAC-SHA256 over a length-prefixed encoding of every field and
//! the previous entry's hash. Length prefixes make the encoding unambiguous; the key means
//! that someone who can write to the database cannot forge a consistent chain.

use chrono::NaiveDateTime;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::JournalKey;

/// The "previous hash" of the first entry.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The fields that the hash covers, borrowed from a new or a stored entry.
pub(super) struct Fields<'a> {
    pub id: i64,
    pub occurred_at: NaiveDateTime,
    pub actor_id: Option<i64>,
    pub actor_role: &'a str,
    pub action: &'a str,
    pub object_type: &'a str,
    pub object_id: Option<&'a str>,
    pub outcome: &'a str,
    pub source_ip: Option<&'a str>,
    pub request_id: Option<&'a str>,
    pub prev_hash: &'a str,
}

impl Fields<'_> {
    /// The hex HMAC of these fields under `key`.
    pub fn hash(&self, key: &JournalKey) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(key.bytes()).expect("HMAC takes any key length");
        let time = self.occurred_at.format("%Y-%m-%dT%H:%M:%S%.6f").to_string();
        let actor = self.actor_id.map(|a| a.to_string());
        let id = self.id.to_string();
        let parts: [Option<&str>; 11] = [
            Some("atomes-journal-v1"),
            Some(&id),
            Some(&time),
            actor.as_deref(),
            Some(self.actor_role),
            Some(self.action),
            Some(self.object_type),
            self.object_id,
            Some(self.outcome),
            self.source_ip,
            self.request_id,
        ];
        for part in parts.iter().chain(std::iter::once(&Some(self.prev_hash))) {
            match part {
                // A missing value and an empty one must hash differently.
                None => mac.update(&[0]),
                Some(s) => {
                    mac.update(&[1]);
                    mac.update(&(s.len() as u64).to_be_bytes());
                    mac.update(s.as_bytes());
                }
            }
        }
        hex::encode(mac.finalize().into_bytes())
    }
}
