//! The second factor (ACC-5; ASVS 6.5, SECURITY-TESTS T5): TOTP enrolment confirmed by a first
//! code, ten single-use recovery codes, the second step of the login, and its failures counted
//! with the password's (the same growing delay). Mandatory for administrators.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use super::login::{actor_of, record_failure, reset_failures};
use super::model::{Role, User, find_by_id};
use super::password::verify_password;
use super::session::{Session, create_session, delete_session};
use super::totp;
use crate::db::schema::{recovery_codes, sessions, users};
use crate::db::{self, DbConn, PooledConn};
use crate::journal::{self, AccessContext, Action, Object, Outcome};

/// A password-checked session waits this long for its second factor.
pub const SECOND_FACTOR_WINDOW: Duration = Duration::minutes(5);

/// Starts an enrolment: a new secret is kept aside until a first code confirms it.
pub fn begin_enrolment(c: &mut DbConn, ctx: &AccessContext, user_id: i64) -> QueryResult<String> {
    let secret = totp::generate_secret();
    diesel::update(users::table.find(user_id))
        .set((users::totp_pending_secret.eq(&secret), users::updated_at.eq(ctx.at.naive_utc())))
        .execute(c)?;
    Ok(secret)
}

fn new_recovery_codes(c: &mut DbConn, user_id: i64, now: NaiveDateTime) -> QueryResult<Vec<String>> {
    diesel::delete(recovery_codes::table.filter(recovery_codes::user_id.eq(user_id))).execute(c)?;
    let codes = totp::generate_recovery_codes();
    for code in &codes {
        diesel::insert_into(recovery_codes::table)
            .values((
                recovery_codes::user_id.eq(user_id),
                recovery_codes::code_hash.eq(totp::hash_recovery_code(code)),
                recovery_codes::created_at.eq(now),
                recovery_codes::updated_at.eq(now),
            ))
            .execute(c)?;
    }
    Ok(codes)
}

/// Confirms an enrolment with a code from the app: the second factor is on, and the recovery
/// codes (shown once) are returned. `None` if the code is wrong or no enrolment is pending.
pub fn confirm_enrolment(
    c: &mut DbConn,
    ctx: &AccessContext,
    user_id: i64,
    code: &str,
) -> QueryResult<Option<Vec<String>>> {
    let now = ctx.at.naive_utc();
    let Some(user) = find_by_id(c, user_id)? else { return Ok(None) };
    let Some(secret) = user.totp_pending_secret.as_deref() else { return Ok(None) };
    let Some(step) = totp::verify(secret, code, ctx.at.timestamp(), None) else {
        journal::record(c, ctx, Action::Modification, Object::new("user_mfa", user_id), Outcome::Failure)?;
        return Ok(None);
    };
    diesel::update(users::table.find(user_id))
        .set((
            users::totp_secret.eq(secret),
            users::totp_pending_secret.eq(None::<String>),
            users::totp_last_step.eq(step),
            users::updated_at.eq(now),
        ))
        .execute(c)?;
    let codes = new_recovery_codes(c, user_id, now)?;
    journal::record(c, ctx, Action::Modification, Object::new("user_mfa", user_id), Outcome::Success)?;
    Ok(Some(codes))
}

/// Replaces the recovery codes (the old ones stop working).
pub fn regenerate_codes(c: &mut DbConn, ctx: &AccessContext, user_id: i64) -> QueryResult<Vec<String>> {
    let codes = new_recovery_codes(c, user_id, ctx.at.naive_utc())?;
    journal::record(c, ctx, Action::Modification, Object::new("user_mfa", user_id), Outcome::Success)?;
    Ok(codes)
}

/// Number of recovery codes not used yet.
pub fn remaining_codes(c: &mut DbConn, user_id: i64) -> QueryResult<i64> {
    recovery_codes::table
        .filter(recovery_codes::user_id.eq(user_id))
        .filter(recovery_codes::used_at.is_null())
        .count()
        .get_result(c)
}

/// Checks a TOTP code or a recovery code and uses it up; call in a write transaction.
fn use_second_factor(c: &mut DbConn, user: &User, input: &str, ctx: &AccessContext) -> QueryResult<bool> {
    let now = ctx.at.naive_utc();
    let Some(secret) = user.totp_secret.as_deref() else { return Ok(false) };
    if let Some(step) = totp::verify(secret, input, ctx.at.timestamp(), user.totp_last_step) {
        // Conditional: a concurrent use of the same code finds the step already taken.
        let n = diesel::update(
            users::table.find(user.id).filter(users::totp_last_step.is_null().or(users::totp_last_step.lt(step))),
        )
        .set(users::totp_last_step.eq(step))
        .execute(c)?;
        return Ok(n == 1);
    }
    let hash = totp::hash_recovery_code(input);
    let n = diesel::update(
        recovery_codes::table
            .filter(recovery_codes::user_id.eq(user.id))
            .filter(recovery_codes::code_hash.eq(hash))
            .filter(recovery_codes::used_at.is_null()),
    )
    .set((recovery_codes::used_at.eq(now), recovery_codes::updated_at.eq(now)))
    .execute(c)?;
    Ok(n == 1)
}

/// Turns the second factor off after the password and a current code; refused for
/// administrators, for whom it is mandatory. Blocking (hashes the password).
pub fn disable(
    conn: &mut PooledConn,
    ctx: &AccessContext,
    user: &User,
    password: &str,
    code: &str,
) -> anyhow::Result<bool> {
    if user.role() == Role::Administrator || user.password_hash.is_none() {
        return Ok(false);
    }
    if !verify_password(password, user.password_hash.as_deref().unwrap_or_default()) {
        return Ok(false);
    }
    let now = ctx.at.naive_utc();
    let done = db::write_tx(conn, |c| {
        if !use_second_factor(c, user, code, ctx)? {
            journal::record(c, ctx, Action::Modification, Object::new("user_mfa", user.id), Outcome::Failure)?;
            return Ok(false);
        }
        diesel::update(users::table.find(user.id))
            .set((
                users::totp_secret.eq(None::<String>),
                users::totp_last_step.eq(None::<i64>),
                users::updated_at.eq(now),
            ))
            .execute(c)?;
        diesel::delete(recovery_codes::table.filter(recovery_codes::user_id.eq(user.id))).execute(c)?;
        journal::record(c, ctx, Action::Modification, Object::new("user_mfa", user.id), Outcome::Success)?;
        Ok::<_, diesel::result::Error>(true)
    })?;
    Ok(done)
}

/// How the second step of a login ended.
pub enum SecondFactorOutcome {
    /// Logged in: the cookie token of a new session (the waiting one is deleted).
    Success {
        /// Cookie value.
        token: String,
        /// The account.
        user: Box<User>,
    },
    /// Wrong or reused code, or throttled: try again.
    Refused,
    /// The waiting session is too old: log in again.
    Expired,
}

/// The second step of a login: the waiting session `pending` and a TOTP or recovery code.
/// Failures count with the password's and impose the same delay.
pub fn complete_login(
    conn: &mut PooledConn,
    ctx: &AccessContext,
    pending: &Session,
    code: &str,
) -> anyhow::Result<SecondFactorOutcome> {
    let now = ctx.at.naive_utc();
    let out = db::write_tx(conn, |c| {
        let Some(user) = find_by_id(c, pending.user_id)? else { return Ok(SecondFactorOutcome::Expired) };
        if !pending.pending_mfa || pending.created_at + SECOND_FACTOR_WINDOW <= now || user.status != "active" {
            delete_session(c, &pending.token_hash)?;
            return Ok(SecondFactorOutcome::Expired);
        }
        let throttled = user.login_blocked_until.is_some_and(|t| t > now);
        if throttled || !use_second_factor(c, &user, code, ctx)? {
            if !throttled {
                record_failure(c, user.id, now)?;
            }
            journal::record(c, ctx, Action::Login, Object::new("user", user.id), Outcome::Failure)?;
            return Ok(SecondFactorOutcome::Refused);
        }
        delete_session(c, &pending.token_hash)?;
        reset_failures(c, user.id, now)?;
        diesel::update(users::table.find(user.id)).set(users::last_login_at.eq(now)).execute(c)?;
        let (token, _) = create_session(c, user.id, now, false)?;
        journal::record(
            c,
            &ctx.with_actor(actor_of(&user)),
            Action::Login,
            Object::new("user", user.id),
            Outcome::Success,
        )?;
        Ok::<_, diesel::result::Error>(SecondFactorOutcome::Success { token, user: Box::new(user) })
    })?;
    Ok(out)
}

/// Opens a fresh session after a change of privilege (the second factor was just turned on),
/// ending the current one.
pub fn rotate_session(
    c: &mut DbConn,
    user_id: i64,
    current_hash: &str,
    now: NaiveDateTime,
) -> QueryResult<(String, Session)> {
    diesel::delete(sessions::table.find(current_hash)).execute(c)?;
    create_session(c, user_id, now, false)
}
