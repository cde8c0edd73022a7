//! Single-use links sent by e-mail (verification, password reset, change of address,
//! invitation): a 256-bit random token, only its SHA-256 stored, an expiry, consumed by one
//! conditional update so that two clicks cannot both succeed.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use super::session::{hash_token, random_token};
use crate::db::DbConn;
use crate::db::schema::account_tokens;

/// What a link is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// Proves the address given at registration.
    VerifyEmail,
    /// Sets a new password without the old one.
    ResetPassword,
    /// Proves a new address before it replaces the old one.
    ChangeEmail,
    /// An organisation manager invites a member, who sets a password.
    Invitation,
}

impl Purpose {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::VerifyEmail => "verify_email",
            Self::ResetPassword => "reset_password",
            Self::ChangeEmail => "change_email",
            Self::Invitation => "invitation",
        }
    }

    /// How long a link stays valid: short for a password reset (it opens the account),
    /// longer for an address check or an invitation (mail can wait in a queue).
    pub fn lifetime(self) -> Duration {
        match self {
            Self::ResetPassword => Duration::hours(1),
            Self::VerifyEmail | Self::ChangeEmail => Duration::hours(48),
            Self::Invitation => Duration::days(7),
        }
    }

    /// The lifetime in words, for the e-mail.
    pub fn lifetime_fr(self) -> &'static str {
        match self {
            Self::ResetPassword => "une heure",
            Self::VerifyEmail | Self::ChangeEmail => "48 heures",
            Self::Invitation => "7 jours",
        }
    }
}

/// A valid link's content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenGrant {
    /// The account.
    pub user_id: i64,
    /// The address being proved (change of e-mail).
    pub new_email: Option<String>,
}

/// Issues a link for `user_id`, replacing any unused link of the same purpose (only the last
/// mail works); returns the token to put in the mail, never stored in clear.
pub fn issue(
    c: &mut DbConn,
    user_id: i64,
    purpose: Purpose,
    new_email: Option<&str>,
    now: NaiveDateTime,
) -> QueryResult<String> {
    revoke(c, user_id, purpose)?;
    let token = random_token();
    diesel::insert_into(account_tokens::table)
        .values((
            account_tokens::token_hash.eq(hash_token(&token)),
            account_tokens::user_id.eq(user_id),
            account_tokens::purpose.eq(purpose.as_str()),
            account_tokens::new_email.eq(new_email),
            account_tokens::expires_at.eq(now + purpose.lifetime()),
            account_tokens::created_at.eq(now),
            account_tokens::updated_at.eq(now),
        ))
        .execute(c)?;
    Ok(token)
}

/// Deletes the unused links of a purpose (a new one was sent, or the account changed).
pub fn revoke(c: &mut DbConn, user_id: i64, purpose: Purpose) -> QueryResult<usize> {
    diesel::delete(
        account_tokens::table
            .filter(account_tokens::user_id.eq(user_id))
            .filter(account_tokens::purpose.eq(purpose.as_str()))
            .filter(account_tokens::used_at.is_null()),
    )
    .execute(c)
}

/// Deletes every unused link of an account (closure, disabling).
pub fn revoke_all(c: &mut DbConn, user_id: i64) -> QueryResult<usize> {
    diesel::delete(
        account_tokens::table.filter(account_tokens::user_id.eq(user_id)).filter(account_tokens::used_at.is_null()),
    )
    .execute(c)
}

/// What a link grants, without using it (to show the form it opens).
pub fn peek(c: &mut DbConn, token: &str, purpose: Purpose, now: NaiveDateTime) -> QueryResult<Option<TokenGrant>> {
    if !well_formed(token) {
        return Ok(None);
    }
    account_tokens::table
        .filter(account_tokens::token_hash.eq(hash_token(token)))
        .filter(account_tokens::purpose.eq(purpose.as_str()))
        .filter(account_tokens::used_at.is_null())
        .filter(account_tokens::expires_at.gt(now))
        .select((account_tokens::user_id, account_tokens::new_email))
        .first::<(i64, Option<String>)>(c)
        .optional()
        .map(|o| o.map(|(user_id, new_email)| TokenGrant { user_id, new_email }))
}

/// Uses a link: one conditional update, so a second use (or a race) finds nothing.
/// Call inside the transaction that does what the link allows.
pub fn consume(c: &mut DbConn, token: &str, purpose: Purpose, now: NaiveDateTime) -> QueryResult<Option<TokenGrant>> {
    if !well_formed(token) {
        return Ok(None);
    }
    diesel::update(
        account_tokens::table
            .filter(account_tokens::token_hash.eq(hash_token(token)))
            .filter(account_tokens::purpose.eq(purpose.as_str()))
            .filter(account_tokens::used_at.is_null())
            .filter(account_tokens::expires_at.gt(now)),
    )
    .set((account_tokens::used_at.eq(now), account_tokens::updated_at.eq(now)))
    .returning((account_tokens::user_id, account_tokens::new_email))
    .get_result::<(i64, Option<String>)>(c)
    .optional()
    .map(|o| o.map(|(user_id, new_email)| TokenGrant { user_id, new_email }))
}

/// Tokens are 64 hex characters; anything else is not looked up.
fn well_formed(token: &str) -> bool {
    token.len() == 64 && token.bytes().all(|b| b.is_ascii_hexdigit())
}
