//! A professional's view of their own data (JNL-3, GDPR access and portability): who consulted
//! or changed it, and everything the portal holds about them as JSON. Both are journaled.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::json;

use super::model::User;
use super::profile::{civility_label, profession_label};
use crate::db::DbConn;
use crate::db::schema::{journal_entries, mail_outbox, organisations, sessions, users};
use crate::journal::{self, AccessContext, Action, JournalEntry, Object, Outcome};

/// The journal object kinds that name an account by its id.
const USER_OBJECTS: &[&str] = &["user", "user_password", "user_mfa"];

/// One line of "Historique d'accès".
#[derive(Debug, Clone)]
pub struct HistoryRow {
    /// When.
    pub at: NaiveDateTime,
    /// Who, in words ("Vous", "Administrateur : Prénom Nom", "Le portail"…).
    pub who: String,
    /// What, in words.
    pub what: String,
    /// Outcome, in words.
    pub outcome: &'static str,
    /// Source address, shown for the owner's own actions only.
    pub source_ip: Option<String>,
}

fn action_fr(action: &str, object: &str) -> String {
    let base = match (action, object) {
        ("login", _) => "Connexion",
        ("logout", _) => "Déconnexion",
        ("consultation", _) => "Consultation de vos données",
        ("export", _) => "Téléchargement de vos données",
        ("creation", _) => "Création du compte",
        ("deletion", _) => "Clôture du compte",
        ("modification", "user_password") => "Mot de passe",
        ("modification", "user_mfa") => "Double authentification",
        ("modification", _) => "Modification de vos données",
        _ => "Autre action",
    };
    base.to_owned()
}

fn outcome_fr(outcome: &str) -> &'static str {
    match outcome {
        "success" => "Réussi",
        "failure" => "Échec",
        "denied" => "Refusé",
        "pending" => "En attente de confirmation",
        _ => "Inconnu",
    }
}

/// The latest `limit` journal entries about `user` (newest first), with actors in words; the
/// consultation itself is journaled first.
pub fn access_history(c: &mut DbConn, ctx: &AccessContext, user: &User, limit: i64) -> QueryResult<Vec<HistoryRow>> {
    journal::record(c, ctx, Action::Consultation, Object::new("user", user.id), Outcome::Success)?;
    let id = user.id.to_string();
    let rows: Vec<JournalEntry> = journal_entries::table
        .filter(journal_entries::object_type.eq_any(USER_OBJECTS))
        .filter(journal_entries::object_id.eq(&id))
        .order(journal_entries::id.desc())
        .limit(limit)
        .select(JournalEntry::as_select())
        .load(c)?;
    let mut actor_ids: Vec<i64> = rows.iter().filter_map(|r| r.actor_id).filter(|a| *a != user.id).collect();
    actor_ids.sort_unstable();
    actor_ids.dedup();
    let names: Vec<(i64, String, String)> = users::table
        .filter(users::id.eq_any(&actor_ids))
        .select((users::id, users::given_name, users::family_name))
        .load(c)?;
    Ok(rows
        .into_iter()
        .map(|e| {
            let JournalEntry {
                occurred_at: at,
                actor_id: actor,
                actor_role: role,
                action,
                object_type: object,
                outcome,
                source_ip: ip,
                ..
            } = e;
            let own = actor == Some(user.id);
            let name = actor.and_then(|a| names.iter().find(|n| n.0 == a)).map(|n| format!("{} {}", n.1, n.2));
            let who = match (own, role.as_str(), name) {
                (true, _, _) => "Vous".to_owned(),
                (_, "administrator", Some(n)) => format!("Administrateur du DAC : {n}"),
                (_, "organisation_manager", Some(n)) => format!("Responsable de votre organisation : {n}"),
                (_, "system", _) => "Le portail (traitement automatique)".to_owned(),
                (_, "anonymous", _) => "Personne non connectée".to_owned(),
                (_, _, Some(n)) => n,
                _ => "Inconnu".to_owned(),
            };
            HistoryRow {
                at,
                who,
                what: action_fr(&action, &object),
                outcome: outcome_fr(&outcome),
                source_ip: if own || role == "anonymous" { ip } else { None },
            }
        })
        .collect())
}

fn ts(t: Option<NaiveDateTime>) -> serde_json::Value {
    t.map_or(serde_json::Value::Null, |t| json!(t.and_utc().to_rfc3339()))
}

/// Everything the portal holds about `user`, as one JSON document (GDPR art. 15 and 20);
/// journaled as an export. Secrets (password hash, second-factor secret, tokens) are described,
/// not copied.
pub fn export_data(c: &mut DbConn, ctx: &AccessContext, user: &User) -> QueryResult<serde_json::Value> {
    journal::record(c, ctx, Action::Export, Object::new("user", user.id), Outcome::Success)?;
    let organisation: Option<(String, Option<String>)> = match user.organisation_id {
        Some(id) => {
            organisations::table.find(id).select((organisations::name, organisations::siret)).first(c).optional()?
        }
        None => None,
    };
    let session_rows: Vec<(NaiveDateTime, NaiveDateTime, NaiveDateTime)> = sessions::table
        .filter(sessions::user_id.eq(user.id))
        .select((sessions::created_at, sessions::last_seen_at, sessions::expires_at))
        .load(c)?;
    let acceptances: Vec<(String, String, i32, NaiveDateTime, String)> = {
        use crate::db::schema::{legal_acceptances as a, legal_documents as d};
        a::table
            .inner_join(d::table)
            .filter(a::user_id.eq(user.id))
            .order(a::accepted_at.asc())
            .select((d::kind, d::feature_key, d::version, a::accepted_at, a::source))
            .load(c)?
    };
    let mails: Vec<(NaiveDateTime, String, String)> = mail_outbox::table
        .filter(mail_outbox::recipient.eq(&user.email))
        .order(mail_outbox::id.asc())
        .select((mail_outbox::created_at, mail_outbox::subject, mail_outbox::status))
        .load(c)?;
    let id = user.id.to_string();
    let journal_rows: Vec<JournalEntry> = journal_entries::table
        .filter(journal_entries::object_type.eq_any(USER_OBJECTS).and(journal_entries::object_id.eq(&id)))
        .or_filter(journal_entries::actor_id.eq(user.id))
        .order(journal_entries::id.asc())
        .select(JournalEntry::as_select())
        .load(c)?;
    Ok(json!({
        "format": "atomes-export-donnees-personnelles/1",
        "exported_at": ctx.at.to_rfc3339(),
        "account": {
            "id": user.id,
            "email": user.email,
            "civility": civility_label(user.civility.as_deref()),
            "given_name": user.given_name,
            "family_name": user.family_name,
            "profession": user.profession.as_deref().map(profession_label),
            "rpps": user.rpps,
            "structure": user.structure,
            "phone": user.phone,
            "role": user.role,
            "status": user.status,
            "created_at": ts(Some(user.created_at)),
            "email_verified_at": ts(user.email_verified_at),
            "approved_at": ts(user.approved_at),
            "last_login_at": ts(user.last_login_at),
            "password": "défini (seule une empreinte argon2id est conservée)",
            "second_factor": if user.totp_secret.is_some() { "activé (application d'authentification)" } else { "désactivé" },
        },
        "organisation": organisation.map(|(name, siret)| json!({"name": name, "siret": siret})),
        "sessions": session_rows.iter().map(|(created, seen, expires)| json!({
            "opened_at": ts(Some(*created)), "last_seen_at": ts(Some(*seen)), "expires_at": ts(Some(*expires)),
        })).collect::<Vec<_>>(),
        "terms_acceptances": acceptances.iter().map(|(kind, key, version, at, source)| json!({
            "document": kind, "feature": key, "version": version, "accepted_at": ts(Some(*at)), "source": source,
        })).collect::<Vec<_>>(),
        "emails_sent": mails.iter().map(|(at, subject, status)| json!({
            "queued_at": ts(Some(*at)), "subject": subject, "status": status,
        })).collect::<Vec<_>>(),
        "journal": journal_rows.iter().map(|e| json!({
            "id": e.id, "occurred_at": ts(Some(e.occurred_at)), "actor_id": e.actor_id, "actor_role": e.actor_role,
            "action": e.action, "object": e.object_type, "outcome": e.outcome, "source_ip": e.source_ip,
        })).collect::<Vec<_>>(),
    }))
}
