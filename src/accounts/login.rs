//! Password login with per-account throttling (SECURITY-TESTS T2, T3): the same answer and
//! the same amount of hashing for a wrong password, an unknown account or a throttled one.

use std::sync::OnceLock;

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use super::email::canonical_email;
use super::mails::Links;
use super::model::{User, find_by_email};
use super::password::{hash_password, verify_password};
use super::session::{Session, create_session, delete_user_sessions};
use crate::db::schema::users;
use crate::db::{self, PooledConn};
use crate::journal::{self, AccessContext, Action, Actor, ActorRole, Object, Outcome};

/// Failures allowed before the delay starts.
const FREE_FAILURES: i32 = 5;
/// The longest delay between two checked attempts.
const MAX_DELAY_MINUTES: i64 = 60;

/// How a login attempt ended.
pub enum LoginOutcome {
    /// Logged in: the cookie token of the new session, and the account.
    Success {
        /// Cookie value.
        token: String,
        /// The account.
        user: Box<User>,
    },
    /// Wrong e-mail or password, or throttled: the caller shows one message for all.
    Refused,
    /// The right password; the second factor is due. The cookie token of a session that
    /// reaches only the second-factor page.
    SecondFactor {
        /// Cookie value.
        token: String,
    },
    /// The right password, but the address is not proved yet (a new link was sent).
    Unverified,
    /// The right password, the address proved, but an administrator has not approved yet.
    AwaitingApproval,
}

/// The delay after `failures` consecutive failures: none for the first five, then 1, 2, 4…
/// minutes, at most an hour. A delay, not a lock: the owner can still log in after it.
pub fn delay_after(failures: i32) -> Option<Duration> {
    (failures >= FREE_FAILURES).then(|| {
        let exp = (failures - FREE_FAILURES).clamp(0, 10) as u32;
        Duration::minutes((1i64 << exp).min(MAX_DELAY_MINUTES))
    })
}

/// A hash to verify against when the account does not exist, so that the time spent
/// does not tell whether it does.
pub(crate) fn dummy_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| hash_password(&super::session::random_token()).expect("hashing a random password"))
}

/// The role an account acts in, for the journal.
pub fn actor_of(user: &User) -> Actor {
    let role = match user.role() {
        super::Role::Administrator => ActorRole::Administrator,
        super::Role::OrganisationManager => ActorRole::OrganisationManager,
        super::Role::Professional => ActorRole::Professional,
    };
    Actor { id: Some(user.id), role }
}

/// Checks an e-mail and password; blocking (argon2 runs here, outside any transaction).
/// With a second factor, the session opened waits for it (`pending_mfa`).
pub fn login(
    conn: &mut PooledConn,
    ctx: &AccessContext,
    links: &Links,
    email: &str,
    password: &str,
) -> anyhow::Result<LoginOutcome> {
    let now = ctx.at.naive_utc();
    let user = match canonical_email(email) {
        Ok(canonical) => find_by_email(conn, &canonical)?,
        Err(_) => None,
    };
    let throttled = user.as_ref().is_some_and(|u| u.login_blocked_until.is_some_and(|t| t > now));
    let phc = user.as_ref().and_then(|u| u.password_hash.as_deref()).unwrap_or_else(|| dummy_hash());
    // Always hash once, whatever the case, so that timing reveals nothing.
    let password_ok = verify_password(password, phc) && !throttled;
    match user {
        Some(user) if password_ok && user.password_hash.is_some() && user.status == "active" => {
            db::write_tx(conn, |c| succeed(c, ctx, user, now)).map_err(Into::into)
        }
        Some(user) if password_ok && user.password_hash.is_some() && user.status == "pending" => {
            db::write_tx(conn, |c| {
                reset_failures(c, user.id, now)?;
                if user.email_verified_at.is_none() {
                    super::registration::resend_verification(c, links, &user, now)?;
                }
                journal::record(c, ctx, Action::Login, Object::new("user", user.id), Outcome::Denied)
            })?;
            Ok(if user.email_verified_at.is_none() { LoginOutcome::Unverified } else { LoginOutcome::AwaitingApproval })
        }
        Some(user) => {
            db::write_tx(conn, |c| {
                if !throttled {
                    record_failure(c, user.id, now)?;
                }
                journal::record(c, ctx, Action::Login, Object::new("user", user.id), Outcome::Failure)
            })?;
            Ok(LoginOutcome::Refused)
        }
        None => {
            db::write_tx(conn, |c| journal::record(c, ctx, Action::Login, Object::kind("user"), Outcome::Failure))?;
            Ok(LoginOutcome::Refused)
        }
    }
}

pub(crate) fn reset_failures(c: &mut crate::db::DbConn, user_id: i64, now: NaiveDateTime) -> QueryResult<()> {
    diesel::update(users::table.find(user_id))
        .set((
            users::failed_logins.eq(0),
            users::login_blocked_until.eq(None::<NaiveDateTime>),
            users::updated_at.eq(now),
        ))
        .execute(c)
        .map(drop)
}

fn succeed(
    c: &mut crate::db::DbConn,
    ctx: &AccessContext,
    user: User,
    now: NaiveDateTime,
) -> QueryResult<LoginOutcome> {
    reset_failures(c, user.id, now)?;
    if user.totp_secret.is_some() {
        // The password is right; the login completes with the second factor.
        let (token, _) = create_session(c, user.id, now, true)?;
        journal::record(c, ctx, Action::Login, Object::new("user", user.id), Outcome::Pending)?;
        return Ok(LoginOutcome::SecondFactor { token });
    }
    diesel::update(users::table.find(user.id)).set(users::last_login_at.eq(now)).execute(c)?;
    let (token, _) = create_session(c, user.id, now, false)?;
    journal::record(
        c,
        &ctx.with_actor(actor_of(&user)),
        Action::Login,
        Object::new("user", user.id),
        Outcome::Success,
    )?;
    Ok(LoginOutcome::Success { token, user: Box::new(user) })
}

/// Counts a failure with one conditional statement, then sets the delay it earns.
pub(crate) fn record_failure(c: &mut crate::db::DbConn, user_id: i64, now: NaiveDateTime) -> QueryResult<()> {
    let failures: i32 = diesel::update(users::table.find(user_id))
        .set((users::failed_logins.eq(users::failed_logins + 1), users::updated_at.eq(now)))
        .returning(users::failed_logins)
        .get_result(c)?;
    if let Some(delay) = delay_after(failures) {
        diesel::update(users::table.find(user_id)).set(users::login_blocked_until.eq(now + delay)).execute(c)?;
    }
    Ok(())
}

/// Why a new password was refused; the `Display` text is the French message.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PasswordChangeError {
    /// The current password is wrong.
    #[error("Le mot de passe actuel est incorrect.")]
    WrongCurrent,
    /// The two new entries differ.
    #[error("Les deux saisies du nouveau mot de passe sont différentes.")]
    Mismatch,
    /// Too short, too long, or the same as before.
    #[error("{0}")]
    Policy(String),
}

/// What is wrong with a new password under the policy (docs/SECURITY.md, `policy`), in French.
pub fn password_problem(new: &str, email_canonical: &str, given_name: &str, family_name: &str) -> Option<String> {
    let ctx = super::policy::PasswordContext { email: email_canonical, given_name, family_name };
    super::policy::check_password(new, &ctx).err().map(|e| e.to_string())
}

/// The policy applied to a logged-in account's new password.
pub fn check_new_password(user: &User, new: &str) -> Result<(), PasswordChangeError> {
    match password_problem(new, &user.email_canonical, &user.given_name, &user.family_name) {
        Some(p) => Err(PasswordChangeError::Policy(p)),
        None => Ok(()),
    }
}

/// Changes the password of a logged-in account, ends its other sessions and opens a new one
/// (the session id changes with the privilege); blocking.
pub fn change_password(
    conn: &mut PooledConn,
    ctx: &AccessContext,
    user: &User,
    current: &str,
    new: &str,
    confirm: &str,
) -> anyhow::Result<Result<(String, Session), PasswordChangeError>> {
    let phc = user.password_hash.as_deref().unwrap_or_else(|| dummy_hash());
    if !verify_password(current, phc) {
        return Ok(Err(PasswordChangeError::WrongCurrent));
    }
    if new != confirm {
        return Ok(Err(PasswordChangeError::Mismatch));
    }
    if new == current {
        return Ok(Err(PasswordChangeError::Policy("Choisissez un mot de passe différent de l'actuel.".into())));
    }
    if let Err(e) = check_new_password(user, new) {
        return Ok(Err(e));
    }
    let hash = hash_password(new)?;
    let now = ctx.at.naive_utc();
    let user_id = user.id;
    let rotated = db::write_tx(conn, |c| {
        diesel::update(users::table.find(user_id))
            .set((users::password_hash.eq(&hash), users::must_change_password.eq(false), users::updated_at.eq(now)))
            .execute(c)?;
        delete_user_sessions(c, user_id, None)?;
        let opened = create_session(c, user_id, now, false)?;
        journal::record(c, ctx, Action::Modification, Object::new("user_password", user_id), Outcome::Success)?;
        Ok::<_, diesel::result::Error>(opened)
    })?;
    Ok(Ok(rotated))
}

#[cfg(test)]
mod tests {
    use super::delay_after;

    #[test]
    fn the_delay_grows_and_caps_without_locking_for_good() {
        assert_eq!(delay_after(4), None);
        assert_eq!(delay_after(5).unwrap().num_minutes(), 1);
        assert_eq!(delay_after(7).unwrap().num_minutes(), 4);
        assert_eq!(delay_after(50).unwrap().num_minutes(), 60);
    }
}
