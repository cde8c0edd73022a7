//! Server-side sessions (ASVS 7): a random 256-bit token in a `__Host-` cookie, only its
//! SHA-256 stored; idle and absolute timeouts; a CSRF token per session.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use rand::RngCore;
use sha2::{Digest, Sha256};

use super::model::User;
use crate::db::schema::{sessions, users};
use crate::db::{self, DbConn, PooledConn};

/// A session ends after this long without a request.
pub const IDLE_TIMEOUT: Duration = Duration::minutes(30);
/// A session ends this long after login, whatever happens.
pub const ABSOLUTE_TIMEOUT: Duration = Duration::hours(12);
/// `last_seen_at` is written at most this often (a write per request would serialise reads).
const TOUCH_EVERY: Duration = Duration::minutes(1);

/// A stored session.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = sessions)]
pub struct Session {
    /// SHA-256 of the cookie token, hex.
    pub token_hash: String,
    /// The account.
    pub user_id: i64,
    /// The token every state-changing form must carry.
    pub csrf_token: String,
    /// Absolute end.
    pub expires_at: NaiveDateTime,
    /// Last request seen.
    pub last_seen_at: NaiveDateTime,
    /// Login time.
    pub created_at: NaiveDateTime,
    /// Last change.
    pub updated_at: NaiveDateTime,
    /// Password given, second factor still due: only the second-factor page is reachable.
    pub pending_mfa: bool,
}

/// A random token of 256 bits, hex-encoded.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// The stored form of a cookie token.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Opens a session for `user_id`; returns the cookie token (never stored in clear).
pub fn create_session(
    conn: &mut DbConn,
    user_id: i64,
    now: NaiveDateTime,
    pending_mfa: bool,
) -> QueryResult<(String, Session)> {
    let token = random_token();
    let session = diesel::insert_into(sessions::table)
        .values((
            sessions::token_hash.eq(hash_token(&token)),
            sessions::user_id.eq(user_id),
            sessions::csrf_token.eq(random_token()),
            sessions::expires_at.eq(now + ABSOLUTE_TIMEOUT),
            sessions::last_seen_at.eq(now),
            sessions::created_at.eq(now),
            sessions::updated_at.eq(now),
            sessions::pending_mfa.eq(pending_mfa),
        ))
        .returning(sessions::all_columns)
        .get_result(conn)?;
    Ok((token, session))
}

/// The live session of a cookie token and its active account; refreshes `last_seen_at`.
/// Expired sessions are deleted on sight.
pub fn find_active(conn: &mut PooledConn, token: &str, now: NaiveDateTime) -> QueryResult<Option<(Session, User)>> {
    let hash = hash_token(token);
    let found: Option<(Session, User)> = sessions::table
        .inner_join(users::table)
        .filter(sessions::token_hash.eq(&hash))
        .select((Session::as_select(), User::as_select()))
        .first(&mut **conn)
        .optional()?;
    let Some((session, user)) = found else { return Ok(None) };
    let expired = session.expires_at <= now || session.last_seen_at + IDLE_TIMEOUT <= now || user.status != "active";
    if expired {
        db::write_tx(conn, |c| delete_session(c, &hash))?;
        return Ok(None);
    }
    if now - session.last_seen_at >= TOUCH_EVERY {
        db::write_tx(conn, |c| {
            diesel::update(sessions::table.find(&hash))
                .set((sessions::last_seen_at.eq(now), sessions::updated_at.eq(now)))
                .execute(c)
        })?;
    }
    Ok(Some((session, user)))
}

/// Ends one session.
pub fn delete_session(conn: &mut DbConn, token_hash: &str) -> QueryResult<usize> {
    diesel::delete(sessions::table.find(token_hash)).execute(conn)
}

/// Ends every session of an account (password change, disabling), except `keep` if given.
pub fn delete_user_sessions(conn: &mut DbConn, user_id: i64, keep: Option<&str>) -> QueryResult<usize> {
    let q = sessions::table.filter(sessions::user_id.eq(user_id));
    match keep {
        Some(k) => diesel::delete(q.filter(sessions::token_hash.ne(k))).execute(conn),
        None => diesel::delete(q).execute(conn),
    }
}
