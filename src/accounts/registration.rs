//! Self-registration and the other flows that go through a link sent by e-mail (ACC-1):
//! address check, optional approval, forgotten password, change of address, closure (ACC-6).
//! None of them tells whether an address has an account: the page shown is the same, and the
//! owner of a known address gets a message instead.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::email::canonical_email;
use super::login::{dummy_hash, password_problem};
use super::mails::Links;
use super::model::{User, find_by_email, find_by_id};
use super::password::{hash_password, verify_password};
use super::profile::{FieldErrors, ProfileInput, validate};
use super::session::delete_user_sessions;
use super::tokens::{self, Purpose};
use crate::db::schema::{recovery_codes, users};
use crate::db::{self, DbConn, PooledConn};
use crate::journal::{self, AccessContext, Action, Actor, ActorRole, Object, Outcome};
use crate::mail;

/// A registration form.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct RegistrationInput {
    /// Identity, profession, structure, phone.
    #[serde(flatten)]
    pub profile: ProfileInput,
    /// E-mail as typed.
    #[serde(default)]
    pub email: String,
    /// Password.
    #[serde(default)]
    pub password: String,
    /// Password again.
    #[serde(default)]
    pub confirm: String,
}

fn is_unique_violation(e: &diesel::result::Error) -> bool {
    matches!(e, diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _))
}

/// Creates a pending account and sends the address check; blocking (hashes the password).
/// `Ok(Err(..))` lists the fields to correct. A known address gets a notice by e-mail and the
/// caller shows the same page as for a new one.
pub fn register(
    conn: &mut PooledConn,
    ctx: &AccessContext,
    links: &Links,
    input: &RegistrationInput,
) -> anyhow::Result<Result<(), FieldErrors>> {
    let mut errors = FieldErrors::new();
    let profile = validate(&input.profile).map_err(|e| errors.extend(e)).ok();
    let canonical = canonical_email(&input.email).map_err(|e| errors.push(("email", e.to_string()))).ok();
    let (given, family) = (input.profile.given_name.trim(), input.profile.family_name.trim());
    if let Some(problem) = password_problem(&input.password, canonical.as_deref().unwrap_or(""), given, family) {
        errors.push(("password", problem));
    }
    // After the password, as in the form (the errors summary follows this order).
    if input.password != input.confirm {
        errors.push(("confirm", "Les deux saisies du mot de passe sont différentes.".into()));
    }
    let (Some(profile), Some(canonical), true) = (profile, canonical, errors.is_empty()) else {
        return Ok(Err(errors));
    };
    // Hashed whether or not the address is known: the time spent does not tell.
    let hash = hash_password(&input.password)?;
    let now = ctx.at.naive_utc();
    let email = input.email.trim().to_owned();
    db::write_tx(conn, |c| {
        if let Some(existing) = find_by_email(c, &canonical)? {
            mail::enqueue(c, &links.already_registered(&existing.email, &existing.given_name), now)?;
            return journal::record(c, ctx, Action::Creation, Object::new("user", existing.id), Outcome::Failure);
        }
        let inserted = diesel::insert_into(users::table)
            .values((
                users::email.eq(&email),
                users::email_canonical.eq(&canonical),
                users::given_name.eq(&profile.given_name),
                users::family_name.eq(&profile.family_name),
                users::civility.eq(&profile.civility),
                users::profession.eq(&profile.profession),
                users::rpps.eq(&profile.rpps),
                users::structure.eq(&profile.structure),
                users::phone.eq(&profile.phone),
                users::role.eq("professional"),
                users::status.eq("pending"),
                users::password_hash.eq(&hash),
                users::created_at.eq(now),
                users::updated_at.eq(now),
            ))
            .returning(users::id)
            .get_result::<i64>(c);
        let id = match inserted {
            Ok(id) => id,
            Err(e) if is_unique_violation(&e) => {
                // Registered by a concurrent request: same answer.
                return journal::record(c, ctx, Action::Creation, Object::kind("user"), Outcome::Failure);
            }
            Err(e) => return Err(e),
        };
        let token = tokens::issue(c, id, Purpose::VerifyEmail, None, now)?;
        let lifetime = Purpose::VerifyEmail.lifetime_fr();
        mail::enqueue(c, &links.verify_email(&email, &profile.given_name, &token, lifetime), now)?;
        let actor = Actor { id: Some(id), role: ActorRole::Professional };
        journal::record(c, &ctx.with_actor(actor), Action::Creation, Object::new("user", id), Outcome::Success)
    })?;
    Ok(Ok(()))
}

/// What following the verification link did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verified {
    /// The account can log in.
    Active,
    /// The address is proved; an administrator must now approve the account.
    AwaitingApproval,
    /// The link is unknown, used or expired.
    Invalid,
}

/// Uses a verification link. With `approval_required`, administrators are told by e-mail.
pub fn verify_email(
    conn: &mut PooledConn,
    ctx: &AccessContext,
    links: &Links,
    token: &str,
    approval_required: bool,
) -> anyhow::Result<Verified> {
    let now = ctx.at.naive_utc();
    let outcome = db::write_tx(conn, |c| {
        let Some(grant) = tokens::consume(c, token, Purpose::VerifyEmail, now)? else {
            return Ok(Verified::Invalid);
        };
        let Some(user) = find_by_id(c, grant.user_id)? else { return Ok(Verified::Invalid) };
        if user.status != "pending" {
            return Ok(Verified::Invalid);
        }
        let active = !approval_required;
        diesel::update(users::table.find(user.id))
            .set((
                users::email_verified_at.eq(now),
                users::status.eq(if active { "active" } else { "pending" }),
                users::approved_at.eq(active.then_some(now)),
                users::updated_at.eq(now),
            ))
            .execute(c)?;
        let actor = Actor { id: Some(user.id), role: ActorRole::Professional };
        journal::record(
            c,
            &ctx.with_actor(actor),
            Action::Modification,
            Object::new("user", user.id),
            Outcome::Success,
        )?;
        if active {
            return Ok(Verified::Active);
        }
        let admins: Vec<String> = users::table
            .filter(users::role.eq("administrator"))
            .filter(users::status.eq("active"))
            .select(users::email)
            .load(c)?;
        let who = format!(
            "{} ({})",
            user.display_name(),
            super::profile::profession_label(user.profession.as_deref().unwrap_or(""))
        );
        for to in admins {
            mail::enqueue(c, &links.approval_needed(&to, &who, user.id), now)?;
        }
        Ok::<_, diesel::result::Error>(Verified::AwaitingApproval)
    })?;
    Ok(outcome)
}

/// Sends a new verification link to a pending, unverified account (after a correct password).
pub fn resend_verification(c: &mut DbConn, links: &Links, user: &User, now: NaiveDateTime) -> QueryResult<()> {
    let token = tokens::issue(c, user.id, Purpose::VerifyEmail, None, now)?;
    mail::enqueue(
        c,
        &links.verify_email(&user.email, &user.given_name, &token, Purpose::VerifyEmail.lifetime_fr()),
        now,
    )?;
    Ok(())
}

/// Sends a reset link to the stored address of a usable account; does nothing visible for
/// an unknown address (the caller shows the same page).
pub fn request_reset(conn: &mut PooledConn, ctx: &AccessContext, links: &Links, email: &str) -> anyhow::Result<()> {
    let now = ctx.at.naive_utc();
    let canonical = canonical_email(email).ok();
    db::write_tx(conn, |c| {
        let user = match &canonical {
            Some(k) => find_by_email(c, k)?,
            None => None,
        };
        match user.filter(|u| matches!(u.status.as_str(), "active" | "pending")) {
            Some(user) => {
                let token = tokens::issue(c, user.id, Purpose::ResetPassword, None, now)?;
                let lifetime = Purpose::ResetPassword.lifetime_fr();
                // Always the stored address, never the one typed (T4).
                mail::enqueue(c, &links.reset_password(&user.email, &user.given_name, &token, lifetime), now)?;
                journal::record(c, ctx, Action::Modification, Object::new("user_password", user.id), Outcome::Pending)
            }
            None => journal::record(c, ctx, Action::Modification, Object::kind("user_password"), Outcome::Failure),
        }
    })?;
    Ok(())
}

/// Why a new password set from a link was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkPasswordError {
    /// The link is unknown, used or expired.
    InvalidLink,
    /// The password (field, French message).
    Field(&'static str, String),
}

/// Sets a new password from a reset link: every session ends, the login delay is lifted, and
/// the link proves the address. Blocking.
pub fn reset_password(
    conn: &mut PooledConn,
    ctx: &AccessContext,
    token: &str,
    new: &str,
    confirm: &str,
) -> anyhow::Result<Result<User, LinkPasswordError>> {
    let now = ctx.at.naive_utc();
    let Some(grant) = tokens::peek(conn, token, Purpose::ResetPassword, now)? else {
        return Ok(Err(LinkPasswordError::InvalidLink));
    };
    let Some(user) = find_by_id(conn, grant.user_id)? else { return Ok(Err(LinkPasswordError::InvalidLink)) };
    if new != confirm {
        return Ok(Err(LinkPasswordError::Field(
            "confirm",
            "Les deux saisies du mot de passe sont différentes.".into(),
        )));
    }
    if let Some(p) = password_problem(new, &user.email_canonical, &user.given_name, &user.family_name) {
        return Ok(Err(LinkPasswordError::Field("password", p)));
    }
    let hash = hash_password(new)?;
    let done = db::write_tx(conn, |c| {
        if tokens::consume(c, token, Purpose::ResetPassword, now)?.is_none() {
            return Ok(None);
        }
        diesel::update(users::table.find(user.id))
            .set((
                users::password_hash.eq(&hash),
                users::must_change_password.eq(false),
                users::failed_logins.eq(0),
                users::login_blocked_until.eq(None::<NaiveDateTime>),
                users::email_verified_at.eq(user.email_verified_at.unwrap_or(now)),
                users::updated_at.eq(now),
            ))
            .execute(c)?;
        delete_user_sessions(c, user.id, None)?;
        let actor = super::login::actor_of(&user);
        journal::record(
            c,
            &ctx.with_actor(actor),
            Action::Modification,
            Object::new("user_password", user.id),
            Outcome::Success,
        )?;
        Ok::<_, diesel::result::Error>(Some(()))
    })?;
    Ok(match done {
        Some(()) => Ok(user),
        None => Err(LinkPasswordError::InvalidLink),
    })
}

/// Why a change of address was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EmailChangeError {
    /// The current password is wrong.
    WrongPassword,
    /// The new address (French message).
    Email(String),
}

/// Sends a link to the new address (and a notice to the old one); the address changes only
/// when the link is used. A new address that belongs to another account gets a notice, and the
/// caller shows the same page. Blocking.
pub fn request_email_change(
    conn: &mut PooledConn,
    ctx: &AccessContext,
    links: &Links,
    user: &User,
    new_email: &str,
    password: &str,
) -> anyhow::Result<Result<(), EmailChangeError>> {
    let phc = user.password_hash.as_deref().unwrap_or_else(|| dummy_hash());
    if !verify_password(password, phc) {
        return Ok(Err(EmailChangeError::WrongPassword));
    }
    let canonical = match canonical_email(new_email) {
        Ok(c) => c,
        Err(e) => return Ok(Err(EmailChangeError::Email(e.to_string()))),
    };
    if canonical == user.email_canonical {
        return Ok(Err(EmailChangeError::Email("C'est déjà l'adresse de votre compte.".into())));
    }
    let now = ctx.at.naive_utc();
    let typed = new_email.trim().to_owned();
    db::write_tx(conn, |c| {
        if find_by_email(c, &canonical)?.is_some() {
            mail::enqueue(c, &links.address_taken(&typed), now)?;
        } else {
            let token = tokens::issue(c, user.id, Purpose::ChangeEmail, Some(&typed), now)?;
            let lifetime = Purpose::ChangeEmail.lifetime_fr();
            mail::enqueue(c, &links.change_email(&typed, &user.given_name, &token, lifetime), now)?;
            mail::enqueue(c, &links.email_change_notice(&user.email, &user.given_name), now)?;
        }
        journal::record(c, ctx, Action::Modification, Object::new("user", user.id), Outcome::Pending)
    })?;
    Ok(Ok(()))
}

/// Uses a change-of-address link; `false` if the link is invalid or the address was taken
/// in the meantime.
pub fn confirm_email_change(conn: &mut PooledConn, ctx: &AccessContext, token: &str) -> anyhow::Result<bool> {
    let now = ctx.at.naive_utc();
    let done = db::write_tx(conn, |c| {
        let Some(grant) = tokens::consume(c, token, Purpose::ChangeEmail, now)? else { return Ok(false) };
        let Some(typed) = grant.new_email else { return Ok(false) };
        let Ok(canonical) = canonical_email(&typed) else { return Ok(false) };
        if find_by_email(c, &canonical)?.is_some() {
            return Ok(false);
        }
        diesel::update(users::table.find(grant.user_id))
            .set((
                users::email.eq(&typed),
                users::email_canonical.eq(&canonical),
                users::email_verified_at.eq(now),
                users::updated_at.eq(now),
            ))
            .execute(c)?;
        journal::record(c, ctx, Action::Modification, Object::new("user", grant.user_id), Outcome::Success)?;
        Ok::<_, diesel::result::Error>(true)
    })?;
    Ok(done)
}

/// Closes an account at its owner's request (ACC-6), after the password: sessions end, the
/// credentials and contact details are erased, the address is freed for a new account.
/// Kept, as the terms say: the name and address on the closed record until it is archived,
/// the journal, and the proof of acceptance of the terms. Blocking.
pub fn close_account(
    conn: &mut PooledConn,
    ctx: &AccessContext,
    links: &Links,
    user: &User,
    password: &str,
) -> anyhow::Result<bool> {
    let phc = user.password_hash.as_deref().unwrap_or_else(|| dummy_hash());
    if !verify_password(password, phc) {
        return Ok(false);
    }
    db::write_tx(conn, |c| close(c, ctx, Some(links), user))?;
    Ok(true)
}

/// The closure itself, also used by the back office; call inside a write transaction.
pub fn close(c: &mut DbConn, ctx: &AccessContext, links: Option<&Links>, user: &User) -> QueryResult<()> {
    let now = ctx.at.naive_utc();
    let freed = format!("closed:{}:{}", user.id, user.email_canonical);
    diesel::update(users::table.find(user.id))
        .set((
            users::status.eq("closed"),
            users::closed_at.eq(now),
            users::email_canonical.eq(freed),
            users::password_hash.eq(None::<String>),
            users::totp_secret.eq(None::<String>),
            users::totp_pending_secret.eq(None::<String>),
            users::phone.eq(""),
            users::rpps.eq(None::<String>),
            users::updated_at.eq(now),
        ))
        .execute(c)?;
    delete_user_sessions(c, user.id, None)?;
    tokens::revoke_all(c, user.id)?;
    diesel::delete(recovery_codes::table.filter(recovery_codes::user_id.eq(user.id))).execute(c)?;
    if let Some(links) = links {
        mail::enqueue(c, &links.account_closed(&user.email, &user.given_name), now)?;
    }
    journal::record(c, ctx, Action::Deletion, Object::new("user", user.id), Outcome::Success).map(drop)
}
