//! Managing other people's accounts (ACC-4): administrators for every account, organisation
//! managers for the members of their organisation only. Each function checks who may act on
//! which account, and journals the action (or the refusal) in the same transaction.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::mails::Links;
use super::model::{Role, User, find_by_id};
use super::session::delete_user_sessions;
use super::tokens::{self, Purpose};
use crate::db::DbConn;
use crate::db::schema::{organisations, users};
use crate::journal::{self, AccessContext, Action, Object, Outcome};
use crate::mail;

/// Who acts on an account: an administrator, or the manager of an organisation.
#[derive(Clone, Debug)]
pub enum Manager {
    /// A site administrator: every account.
    Administrator(i64),
    /// An organisation manager: the members of that organisation.
    Organisation {
        /// The manager's account.
        user_id: i64,
        /// Their organisation.
        organisation_id: i64,
    },
}

impl Manager {
    /// The manager role of an account, if it has one.
    pub fn of(user: &User) -> Option<Self> {
        match (user.role(), user.organisation_id) {
            (Role::Administrator, _) => Some(Self::Administrator(user.id)),
            (Role::OrganisationManager, Some(org)) => {
                Some(Self::Organisation { user_id: user.id, organisation_id: org })
            }
            _ => None,
        }
    }

    /// Whether this manager may act on `target`. Nobody manages administrators but
    /// administrators; nobody manages themselves here ("Mon compte" is for that).
    pub fn may_manage(&self, target: &User) -> bool {
        match self {
            Self::Administrator(me) => *me != target.id,
            Self::Organisation { user_id, organisation_id } => {
                *user_id != target.id
                    && target.organisation_id == Some(*organisation_id)
                    && target.role() != Role::Administrator
            }
        }
    }
}

/// A row of the account lists.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct AccountRow {
    /// Id.
    pub id: i64,
    /// Address.
    pub email: String,
    /// Prénom.
    pub given_name: String,
    /// Nom.
    pub family_name: String,
    /// Role name.
    pub role: String,
    /// Status.
    pub status: String,
    /// Profession code.
    pub profession: Option<String>,
    /// Structure.
    pub structure: String,
    /// Address proved.
    pub email_verified_at: Option<NaiveDateTime>,
    /// Last login.
    pub last_login_at: Option<NaiveDateTime>,
    /// Creation.
    pub created_at: NaiveDateTime,
}

impl AccountRow {
    /// The state in French.
    pub fn status_label(&self) -> &'static str {
        status_label(&self.status, self.email_verified_at.is_some())
    }

    /// The role in French.
    pub fn role_label(&self) -> &'static str {
        role_label(&self.role)
    }
}

/// A status in French.
pub fn status_label(status: &str, verified: bool) -> &'static str {
    match (status, verified) {
        ("pending", false) => "Adresse à confirmer",
        ("pending", true) => "À valider",
        ("active", _) => "Actif",
        ("disabled", _) => "Désactivé",
        ("closed", _) => "Clôturé",
        _ => "Inconnu",
    }
}

/// A role in French.
pub fn role_label(role: &str) -> &'static str {
    match role {
        "administrator" => "Administrateur",
        "organisation_manager" => "Responsable d'organisation",
        _ => "Professionnel",
    }
}

/// Filters of the account list.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct AccountFilter {
    /// Words searched in names, address and structure.
    #[serde(default)]
    pub q: String,
    /// `a-valider`, `actif`, `desactive`, `cloture`, or empty for all.
    #[serde(default)]
    pub statut: String,
}

/// Lists accounts a manager may see, newest first, at most `limit`; journaled as a
/// consultation of the list.
pub fn list_accounts(
    c: &mut DbConn,
    ctx: &AccessContext,
    manager: &Manager,
    filter: &AccountFilter,
    limit: i64,
) -> QueryResult<Vec<AccountRow>> {
    let mut q = users::table.select(AccountRow::as_select()).order(users::id.desc()).limit(limit).into_boxed();
    if let Manager::Organisation { organisation_id, .. } = manager {
        q = q.filter(users::organisation_id.eq(*organisation_id));
    }
    q = match filter.statut.as_str() {
        "a-valider" => q.filter(users::status.eq("pending")).filter(users::email_verified_at.is_not_null()),
        "a-confirmer" => q.filter(users::status.eq("pending")).filter(users::email_verified_at.is_null()),
        "actif" => q.filter(users::status.eq("active")),
        "desactive" => q.filter(users::status.eq("disabled")),
        "cloture" => q.filter(users::status.eq("closed")),
        _ => q,
    };
    for word in filter.q.split_whitespace().take(5) {
        let pattern = format!("%{}%", word.replace(['%', '_', '\\'], "").to_lowercase());
        q = q.filter(
            users::email_canonical
                .like(pattern.clone())
                .or(lower(users::family_name).like(pattern.clone()))
                .or(lower(users::given_name).like(pattern.clone()))
                .or(lower(users::structure).like(pattern)),
        );
    }
    let rows = q.load(c)?;
    journal::record(c, ctx, Action::Consultation, Object::kind("user"), Outcome::Success)?;
    Ok(rows)
}

diesel::define_sql_function!(fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text);

/// Counts of accounts waiting for an administrator.
pub fn count_awaiting_approval(c: &mut DbConn) -> QueryResult<i64> {
    users::table
        .filter(users::status.eq("pending"))
        .filter(users::email_verified_at.is_not_null())
        .count()
        .get_result(c)
}

/// Loads an account for a manager: `None` if it does not exist or is not theirs (the refusal
/// is journaled, and the caller answers 404 either way).
pub fn load_managed(c: &mut DbConn, ctx: &AccessContext, manager: &Manager, id: i64) -> QueryResult<Option<User>> {
    let user = find_by_id(c, id)?;
    match user {
        Some(u) if manager.may_manage(&u) => {
            journal::record(c, ctx, Action::Consultation, Object::new("user", id), Outcome::Success)?;
            Ok(Some(u))
        }
        Some(_) => {
            journal::record(c, ctx, Action::Consultation, Object::new("user", id), Outcome::Denied)?;
            Ok(None)
        }
        None => Ok(None),
    }
}

/// What a manager does to an account.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccountAction {
    /// Lets a verified pending account in (administrators).
    Approve,
    /// Suspends the account: its sessions end at once.
    Disable,
    /// Lifts a suspension.
    Enable,
}

/// Applies `action` to account `id` if the manager may; returns whether anything changed.
pub fn apply(
    c: &mut DbConn,
    ctx: &AccessContext,
    links: &Links,
    manager: &Manager,
    id: i64,
    action: AccountAction,
) -> QueryResult<bool> {
    let now = ctx.at.naive_utc();
    let Some(user) = find_by_id(c, id)?.filter(|u| manager.may_manage(u)) else {
        journal::record(c, ctx, Action::Modification, Object::new("user", id), Outcome::Denied)?;
        return Ok(false);
    };
    let (from, to) = match action {
        AccountAction::Approve if matches!(manager, Manager::Administrator(_)) => ("pending", "active"),
        AccountAction::Approve => return Ok(false),
        AccountAction::Disable => ("active", "disabled"),
        AccountAction::Enable => ("disabled", "active"),
    };
    if user.status != from || (action == AccountAction::Approve && user.email_verified_at.is_none()) {
        return Ok(false);
    }
    let mut update = diesel::update(users::table.find(id).filter(users::status.eq(from)))
        .set((users::status.eq(to), users::updated_at.eq(now)))
        .execute(c)?;
    if action == AccountAction::Approve && update == 1 {
        update = diesel::update(users::table.find(id)).set(users::approved_at.eq(now)).execute(c)?;
        mail::enqueue(c, &links.approved(&user.email, &user.given_name), now)?;
    }
    if action == AccountAction::Disable {
        delete_user_sessions(c, id, None)?;
        tokens::revoke_all(c, id)?;
    }
    journal::record(c, ctx, Action::Modification, Object::new("user", id), Outcome::Success)?;
    Ok(update == 1)
}

/// Sets the role and organisation of an account (administrators only). A manager needs an
/// organisation; an administrator has none. Sessions end so that the new rights apply at the
/// next login (the session id changes with the privilege).
pub fn set_role(
    c: &mut DbConn,
    ctx: &AccessContext,
    manager: &Manager,
    id: i64,
    role: Role,
    organisation_id: Option<i64>,
) -> QueryResult<Result<(), &'static str>> {
    let now = ctx.at.naive_utc();
    if !matches!(manager, Manager::Administrator(_)) {
        journal::record(c, ctx, Action::Modification, Object::new("user", id), Outcome::Denied)?;
        return Ok(Err("Seul un administrateur peut changer un rôle."));
    }
    let Some(user) = find_by_id(c, id)?.filter(|u| manager.may_manage(u)) else {
        return Ok(Err("Ce compte n'existe pas, ou c'est le vôtre."));
    };
    if role == Role::OrganisationManager && organisation_id.is_none() {
        return Ok(Err("Un responsable d'organisation doit être rattaché à une organisation."));
    }
    if let Some(org) = organisation_id {
        if organisations::table.find(org).count().get_result::<i64>(c)? == 0 {
            return Ok(Err("Cette organisation n'existe pas."));
        }
    }
    let org = if role == Role::Administrator { None } else { organisation_id };
    diesel::update(users::table.find(id))
        .set((users::role.eq(role.as_str()), users::organisation_id.eq(org), users::updated_at.eq(now)))
        .execute(c)?;
    if user.role() != role {
        delete_user_sessions(c, id, None)?;
    }
    journal::record(c, ctx, Action::Modification, Object::new("user", id), Outcome::Success)?;
    Ok(Ok(()))
}

/// An organisation (ACC-4).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = organisations)]
pub struct Organisation {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// SIRET (14 digits), if given.
    pub siret: Option<String>,
    /// FINESS (9 characters), if given.
    pub finess: Option<String>,
    /// Postal address.
    pub address: String,
    /// `active` or `disabled`.
    pub status: String,
    /// Creation.
    pub created_at: NaiveDateTime,
    /// Last change.
    pub updated_at: NaiveDateTime,
}

/// Checks a SIRET: 14 digits whose Luhn sum is a multiple of 10 (La Poste's establishments,
/// SIREN 356000000, follow another rule and are accepted as they are).
pub fn valid_siret(s: &str) -> bool {
    if s.len() != 14 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    if s.starts_with("356000000") {
        return s.bytes().map(|b| u32::from(b - b'0')).sum::<u32>() % 5 == 0;
    }
    let sum: u32 = s
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 1 {
                let x = d * 2;
                if x > 9 { x - 9 } else { x }
            } else {
                d
            }
        })
        .sum();
    sum % 10 == 0
}

/// The fields of an organisation, as submitted.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct OrganisationInput {
    /// Name.
    #[serde(default)]
    pub name: String,
    /// SIRET.
    #[serde(default)]
    pub siret: String,
    /// FINESS.
    #[serde(default)]
    pub finess: String,
    /// Address.
    #[serde(default)]
    pub address: String,
}

/// Creates an organisation (administrators); `Ok(Err(..))` lists the fields to correct.
pub fn create_organisation(
    c: &mut DbConn,
    ctx: &AccessContext,
    input: &OrganisationInput,
) -> QueryResult<Result<i64, Vec<(&'static str, String)>>> {
    let mut errors = Vec::new();
    let name = input.name.split_whitespace().collect::<Vec<_>>().join(" ");
    if name.is_empty() || name.chars().count() > 200 {
        errors.push(("name", "Indiquez le nom de l'organisation (200 caractères au plus).".to_owned()));
    }
    let siret: String = input.siret.chars().filter(|c| !c.is_whitespace()).collect();
    if !siret.is_empty() && !valid_siret(&siret) {
        errors.push(("siret", "Le numéro SIRET compte 14 chiffres et sa clé doit être valide.".to_owned()));
    }
    let finess: String = input.finess.trim().to_uppercase();
    if !finess.is_empty() && (finess.len() != 9 || !finess.bytes().all(|b| b.is_ascii_alphanumeric())) {
        errors.push(("finess", "Le numéro FINESS compte 9 caractères (exemple : 920000650).".to_owned()));
    }
    let address = input.address.split_whitespace().collect::<Vec<_>>().join(" ");
    if address.chars().count() > 300 {
        errors.push(("address", "L'adresse ne peut dépasser 300 caractères.".to_owned()));
    }
    if !siret.is_empty()
        && organisations::table.filter(organisations::siret.eq(&siret)).count().get_result::<i64>(c)? > 0
    {
        errors.push(("siret", "Une organisation avec ce numéro SIRET existe déjà.".to_owned()));
    }
    if !errors.is_empty() {
        return Ok(Err(errors));
    }
    let now = ctx.at.naive_utc();
    let id: i64 = diesel::insert_into(organisations::table)
        .values((
            organisations::name.eq(&name),
            organisations::siret.eq((!siret.is_empty()).then_some(&siret)),
            organisations::finess.eq((!finess.is_empty()).then_some(&finess)),
            organisations::address.eq(&address),
            organisations::status.eq("active"),
            organisations::created_at.eq(now),
            organisations::updated_at.eq(now),
        ))
        .returning(organisations::id)
        .get_result(c)?;
    journal::record(c, ctx, Action::Creation, Object::new("organisation", id), Outcome::Success)?;
    Ok(Ok(id))
}

/// Suspends (`false`) or restores (`true`) an organisation; while suspended its managers cannot
/// manage or invite (their own accounts and the members' stay as they are). Administrators only.
pub fn set_organisation_active(c: &mut DbConn, ctx: &AccessContext, id: i64, active: bool) -> QueryResult<bool> {
    let (from, to) = if active { ("disabled", "active") } else { ("active", "disabled") };
    let n = diesel::update(organisations::table.find(id).filter(organisations::status.eq(from)))
        .set((organisations::status.eq(to), organisations::updated_at.eq(ctx.at.naive_utc())))
        .execute(c)?;
    if n == 1 {
        journal::record(c, ctx, Action::Modification, Object::new("organisation", id), Outcome::Success)?;
    }
    Ok(n == 1)
}

/// Whether an organisation is active (its managers may manage).
pub fn organisation_active(c: &mut DbConn, id: i64) -> QueryResult<bool> {
    organisations::table
        .find(id)
        .select(organisations::status)
        .first::<String>(c)
        .optional()
        .map(|s| s.as_deref() == Some("active"))
}

/// The organisations whose name, SIRET or FINESS contains every word of `q`, by name, with their
/// number of members.
pub fn search_organisations(c: &mut DbConn, q: &str) -> QueryResult<Vec<(Organisation, i64)>> {
    let mut query =
        organisations::table.order(organisations::name.asc()).select(Organisation::as_select()).into_boxed();
    for word in q.split_whitespace().take(5) {
        let pattern = format!("%{}%", word.replace(['%', '_', '\\'], "").to_lowercase());
        query = query.filter(
            lower(organisations::name)
                .like(pattern.clone())
                .or(organisations::siret.like(pattern.clone()))
                .or(organisations::finess.like(pattern.to_uppercase())),
        );
    }
    let orgs = query.load(c)?;
    with_member_counts(c, orgs)
}

/// All organisations, by name, with their number of members.
pub fn list_organisations(c: &mut DbConn) -> QueryResult<Vec<(Organisation, i64)>> {
    let orgs: Vec<Organisation> =
        organisations::table.order(organisations::name.asc()).select(Organisation::as_select()).load(c)?;
    with_member_counts(c, orgs)
}

fn with_member_counts(c: &mut DbConn, orgs: Vec<Organisation>) -> QueryResult<Vec<(Organisation, i64)>> {
    let counts: Vec<(Option<i64>, i64)> = users::table
        .filter(users::organisation_id.is_not_null())
        .group_by(users::organisation_id)
        .select((users::organisation_id, diesel::dsl::count_star()))
        .load(c)?;
    Ok(orgs
        .into_iter()
        .map(|o| {
            let n = counts.iter().find(|(id, _)| *id == Some(o.id)).map_or(0, |(_, n)| *n);
            (o, n)
        })
        .collect())
}

/// One organisation.
pub fn find_organisation(c: &mut DbConn, id: i64) -> QueryResult<Option<Organisation>> {
    organisations::table.find(id).select(Organisation::as_select()).first(c).optional()
}

/// The person invited.
#[derive(Clone, Copy, Debug)]
pub struct Invitee<'a> {
    /// Address as typed.
    pub email: &'a str,
    /// Prénom.
    pub given_name: &'a str,
    /// Nom.
    pub family_name: &'a str,
}

/// Why an invitation was refused.
pub type InviteErrors = Vec<(&'static str, String)>;

/// An organisation manager (or an administrator, for an organisation) invites a member: the
/// account is created as pending and its owner sets a password from the link, which also
/// proves the address; the manager vouches for the person (CGU §1, "se porte fort"), so no
/// approval is needed. An address that already has an account is refused with a message (the
/// manager is trusted and needs to know).
pub fn invite(
    c: &mut DbConn,
    ctx: &AccessContext,
    links: &Links,
    inviter: &User,
    organisation_id: i64,
    invitee: &Invitee<'_>,
) -> QueryResult<Result<i64, InviteErrors>> {
    let Invitee { email, given_name, family_name } = *invitee;
    let may = match Manager::of(inviter) {
        Some(Manager::Administrator(_)) => true,
        Some(Manager::Organisation { organisation_id: own, .. }) => own == organisation_id,
        None => false,
    };
    if !may {
        journal::record(c, ctx, Action::Creation, Object::kind("user"), Outcome::Denied)?;
        return Ok(Err(vec![("email", "Vous ne pouvez pas inviter de membre dans cette organisation.".into())]));
    }
    let mut errors = InviteErrors::new();
    let canonical = super::canonical_email(email).map_err(|e| errors.push(("email", e.to_string()))).ok();
    let clean = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    let (given, family) = (clean(given_name), clean(family_name));
    if given.is_empty() || given.chars().count() > 100 {
        errors.push(("given_name", "Indiquez le prénom.".into()));
    }
    if family.is_empty() || family.chars().count() > 100 {
        errors.push(("family_name", "Indiquez le nom.".into()));
    }
    let Some(canonical) = canonical.filter(|_| errors.is_empty()) else { return Ok(Err(errors)) };
    if super::find_by_email(c, &canonical)?.is_some() {
        return Ok(Err(vec![("email", "Cette adresse est déjà celle d'un compte du portail.".into())]));
    }
    let Some(org) = find_organisation(c, organisation_id)? else {
        return Ok(Err(vec![("email", "Cette organisation n'existe pas.".into())]));
    };
    let now = ctx.at.naive_utc();
    let id: i64 = diesel::insert_into(users::table)
        .values((
            users::email.eq(email.trim()),
            users::email_canonical.eq(&canonical),
            users::given_name.eq(&given),
            users::family_name.eq(&family),
            users::role.eq("professional"),
            users::status.eq("pending"),
            users::structure.eq(&org.name),
            users::organisation_id.eq(organisation_id),
            users::created_at.eq(now),
            users::updated_at.eq(now),
        ))
        .returning(users::id)
        .get_result(c)?;
    let token = tokens::issue(c, id, Purpose::Invitation, None, now)?;
    let by = inviter.display_name();
    mail::enqueue(c, &links.invitation(email.trim(), &org.name, &by, &token, Purpose::Invitation.lifetime_fr()), now)?;
    journal::record(c, ctx, Action::Creation, Object::new("user", id), Outcome::Success)?;
    Ok(Ok(id))
}

/// Accepts an invitation: sets the password (already hashed by the caller), proves the
/// address, activates the account. `false` if the link is invalid.
pub fn accept_invitation(c: &mut DbConn, ctx: &AccessContext, token: &str, password_hash: &str) -> QueryResult<bool> {
    let now = ctx.at.naive_utc();
    let Some(grant) = tokens::consume(c, token, Purpose::Invitation, now)? else { return Ok(false) };
    let n = diesel::update(users::table.find(grant.user_id).filter(users::status.eq("pending")))
        .set((
            users::password_hash.eq(password_hash),
            users::status.eq("active"),
            users::email_verified_at.eq(now),
            users::approved_at.eq(now),
            users::updated_at.eq(now),
        ))
        .execute(c)?;
    if n == 0 {
        return Ok(false);
    }
    let actor = crate::journal::Actor { id: Some(grant.user_id), role: crate::journal::ActorRole::Professional };
    journal::record(
        c,
        &ctx.with_actor(actor),
        Action::Modification,
        Object::new("user_password", grant.user_id),
        Outcome::Success,
    )?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::valid_siret;

    #[test]
    fn siret_keys() {
        assert!(valid_siret("73282932000074"));
        assert!(!valid_siret("73282932000075"));
        assert!(!valid_siret("7328293200007"));
        assert!(valid_siret("35600000000006"), "La Poste: digit sum multiple of 5");
    }
}
