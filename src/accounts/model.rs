//! User rows.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::schema::users;
use crate::journal::{self, AccessContext, Action, Object, Outcome};

/// Roles of ACC-4.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// A professional of the territory.
    Professional,
    /// A professional managing the accounts of an organisation.
    OrganisationManager,
    /// DAC staff.
    Administrator,
}

impl Role {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Professional => "professional",
            Self::OrganisationManager => "organisation_manager",
            Self::Administrator => "administrator",
        }
    }
}

/// An account.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct User {
    /// Id.
    pub id: i64,
    /// The address as typed.
    pub email: String,
    /// The canonical address (unique).
    pub email_canonical: String,
    /// Prénom.
    pub given_name: String,
    /// Nom.
    pub family_name: String,
    /// Role name.
    pub role: String,
    /// `pending`, `active`, `disabled` or `closed`.
    pub status: String,
    /// argon2id PHC string.
    pub password_hash: Option<String>,
    /// The password was given by someone else and must be changed at the next login.
    pub must_change_password: bool,
    /// Last successful login.
    pub last_login_at: Option<NaiveDateTime>,
    /// Creation time.
    pub created_at: NaiveDateTime,
    /// Last change.
    pub updated_at: NaiveDateTime,
    /// Consecutive failed logins.
    pub failed_logins: i32,
    /// No password is checked before this time.
    pub login_blocked_until: Option<NaiveDateTime>,
    /// Civilité (`M.`, `Mme`), if given.
    pub civility: Option<String>,
    /// Profession code (see `accounts::professions`).
    pub profession: Option<String>,
    /// RPPS number, if given (11 digits, checked).
    pub rpps: Option<String>,
    /// Structure the professional works for, as typed.
    pub structure: String,
    /// Phone number, as typed (checked).
    pub phone: String,
    /// The organisation (ACC-4), if any.
    pub organisation_id: Option<i64>,
    /// When the address was proved; none until then.
    pub email_verified_at: Option<NaiveDateTime>,
    /// When the account was let in (administrator approval or the setting).
    pub approved_at: Option<NaiveDateTime>,
    /// When the account was closed (ACC-6).
    pub closed_at: Option<NaiveDateTime>,
    /// Confirmed TOTP secret (base32); MFA is on when set.
    pub totp_secret: Option<String>,
    /// Secret shown during enrolment, until a first code confirms it.
    pub totp_pending_secret: Option<String>,
    /// Last TOTP time step accepted: a code works once.
    pub totp_last_step: Option<i64>,
}

impl User {
    /// The role, parsed.
    pub fn role(&self) -> Role {
        match self.role.as_str() {
            "administrator" => Role::Administrator,
            "organisation_manager" => Role::OrganisationManager,
            _ => Role::Professional,
        }
    }

    /// "Prénom Nom".
    pub fn display_name(&self) -> String {
        format!("{} {}", self.given_name, self.family_name)
    }
}

/// What `create_user` needs.
#[derive(Debug, Clone)]
pub struct NewUser<'a> {
    /// The address as typed.
    pub email: &'a str,
    /// Its canonical form (`canonical_email`).
    pub email_canonical: &'a str,
    /// Prénom.
    pub given_name: &'a str,
    /// Nom.
    pub family_name: &'a str,
    /// Role.
    pub role: Role,
    /// argon2id PHC string.
    pub password_hash: Option<&'a str>,
    /// Whether the password must be changed at the next login.
    pub must_change_password: bool,
}

/// Creates an active account and journals it; call inside a write transaction.
pub fn create_user(conn: &mut DbConn, ctx: &AccessContext, new: &NewUser<'_>) -> QueryResult<User> {
    let now = ctx.at.naive_utc();
    let user: User = diesel::insert_into(users::table)
        .values((
            users::email.eq(new.email),
            users::email_canonical.eq(new.email_canonical),
            users::given_name.eq(new.given_name),
            users::family_name.eq(new.family_name),
            users::role.eq(new.role.as_str()),
            users::status.eq("active"),
            users::password_hash.eq(new.password_hash),
            users::must_change_password.eq(new.must_change_password),
            // Created by an administrator or the command line: nothing left to prove.
            users::email_verified_at.eq(now),
            users::approved_at.eq(now),
            users::created_at.eq(now),
            users::updated_at.eq(now),
        ))
        .returning(users::all_columns)
        .get_result(conn)?;
    journal::record(conn, ctx, Action::Creation, Object::new("user", user.id), Outcome::Success)?;
    Ok(user)
}

/// Finds an account by canonical e-mail, without journaling (callers journal what they do).
pub fn find_by_email(conn: &mut DbConn, canonical: &str) -> QueryResult<Option<User>> {
    users::table.filter(users::email_canonical.eq(canonical)).select(User::as_select()).first(conn).optional()
}

/// Finds an account by id, without journaling.
pub fn find_by_id(conn: &mut DbConn, id: i64) -> QueryResult<Option<User>> {
    users::table.find(id).select(User::as_select()).first(conn).optional()
}

/// Number of accounts with a role.
pub fn count_users(conn: &mut DbConn, role: Role) -> QueryResult<i64> {
    users::table.filter(users::role.eq(role.as_str())).count().get_result(conn)
}
