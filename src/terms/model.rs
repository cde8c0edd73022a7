//! Versioned documents: which document (terms, privacy policy, legal notice, conditions of a
//! feature), its versions, drafts and publication. A version is numbered when its draft is
//! created (the previous highest number plus one; one draft at a time per document), and a
//! published version is never changed again: every write below is conditional on
//! `published_at IS NULL`.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};

use super::render::{Rendered, render_body};
use crate::db::DbConn;
use crate::db::schema::legal_documents;
use crate::journal::{self, AccessContext, Action, Object, Outcome};

/// Longest title, summary and body accepted from the back office.
const MAX_TITLE: usize = 200;
const MAX_SUMMARY: usize = 4_000;
const MAX_BODY: usize = 300_000;
/// Longest feature key.
const MAX_FEATURE_KEY: usize = 40;

/// Which document: the terms of use, the privacy policy, the legal notice, or the
/// complementary conditions of a feature or third-party service (CGU-3), named by its key.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum LegalDoc {
    /// Conditions générales d'utilisation: accepted by every professional (CGU-2).
    Terms,
    /// Protection des données personnelles: informative, never accepted.
    Privacy,
    /// Mentions légales, naming the certified health-data host (CGU §8.4): informative.
    LegalNotice,
    /// Conditions of a feature or third-party service, accepted once per version (CGU-3).
    Feature(String),
}

impl LegalDoc {
    /// The three documents every portal has, in the order of the back office.
    pub const BASE: [LegalDoc; 3] = [LegalDoc::Terms, LegalDoc::Privacy, LegalDoc::LegalNotice];

    /// The feature document of `key`, if the key is valid (`a-z`, `0-9`, `-`, at most 40).
    pub fn feature(key: &str) -> Result<Self, TermsError> {
        let ok = !key.is_empty()
            && key.len() <= MAX_FEATURE_KEY
            && key.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if ok {
            Ok(Self::Feature(key.to_owned()))
        } else {
            Err(TermsError::Invalid(
                "La clé de la fonction ne peut contenir que des lettres minuscules sans accent, des chiffres et des \
                 tirets (40 caractères au plus)."
                    .into(),
            ))
        }
    }

    /// The document named by stored columns.
    pub fn from_stored(kind: &str, feature_key: &str) -> Option<Self> {
        match kind {
            "terms" => Some(Self::Terms),
            "privacy" => Some(Self::Privacy),
            "legal_notice" => Some(Self::LegalNotice),
            "feature" => Self::feature(feature_key).ok(),
            _ => None,
        }
    }

    /// The stored `kind`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Terms => "terms",
            Self::Privacy => "privacy",
            Self::LegalNotice => "legal_notice",
            Self::Feature(_) => "feature",
        }
    }

    /// The stored `feature_key` (empty except for features).
    pub fn feature_key(&self) -> &str {
        match self {
            Self::Feature(key) => key,
            _ => "",
        }
    }

    /// The French name of the document.
    pub fn label(&self) -> String {
        match self {
            Self::Terms => "Conditions générales d'utilisation".into(),
            Self::Privacy => "Données personnelles".into(),
            Self::LegalNotice => "Mentions légales".into(),
            Self::Feature(key) => format!("Conditions complémentaires « {key} »"),
        }
    }

    /// Where the current version is published for everyone (CGU-1), if it is.
    pub fn public_path(&self) -> Option<&'static str> {
        match self {
            Self::Terms => Some("/cgu"),
            Self::Privacy => Some("/donnees-personnelles"),
            Self::LegalNotice => Some("/mentions-legales"),
            Self::Feature(_) => None,
        }
    }

    /// Whether professionals accept this document (the terms and feature conditions do; the
    /// privacy policy and the legal notice inform).
    pub fn is_accepted(&self) -> bool {
        matches!(self, Self::Terms | Self::Feature(_))
    }
}

/// A version of a document, draft or published.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = legal_documents)]
pub struct LegalDocument {
    /// Id.
    pub id: i64,
    /// `terms`, `privacy`, `legal_notice` or `feature`.
    pub kind: String,
    /// The feature's key, or empty.
    pub feature_key: String,
    /// 1, 2, 3… per document.
    pub version: i32,
    /// A major version of the terms must be accepted again; a minor one is only notified.
    pub major: bool,
    /// The page's title.
    pub title: String,
    /// What changed since the previous version, for those who accepted it.
    pub summary: String,
    /// Markdown.
    pub body: String,
    /// None while a draft.
    pub published_at: Option<NaiveDateTime>,
    /// The administrator who published it (none for the versions the platform installed).
    pub published_by: Option<i64>,
    /// Creation of the draft.
    pub created_at: NaiveDateTime,
    /// Last change.
    pub updated_at: NaiveDateTime,
}

impl LegalDocument {
    /// Which document this is a version of.
    pub fn doc(&self) -> Option<LegalDoc> {
        LegalDoc::from_stored(&self.kind, &self.feature_key)
    }

    /// The body as safe HTML (CPU work: call it off the async runtime).
    pub fn render(&self) -> Rendered {
        render_body(&self.body)
    }
}

/// A version without its body, for lists.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = legal_documents)]
pub struct VersionInfo {
    /// Id.
    pub id: i64,
    /// Stored kind.
    pub kind: String,
    /// Stored feature key.
    pub feature_key: String,
    /// Number.
    pub version: i32,
    /// Major or minor.
    pub major: bool,
    /// Title.
    pub title: String,
    /// What changed.
    pub summary: String,
    /// None while a draft.
    pub published_at: Option<NaiveDateTime>,
    /// Last change.
    pub updated_at: NaiveDateTime,
}

impl VersionInfo {
    /// Which document this is a version of.
    pub fn doc(&self) -> Option<LegalDoc> {
        LegalDoc::from_stored(&self.kind, &self.feature_key)
    }
}

/// What an administrator writes in a draft.
#[derive(Debug, Clone, Default)]
pub struct DraftInput {
    /// Title.
    pub title: String,
    /// Summary of the changes.
    pub summary: String,
    /// Markdown body.
    pub body: String,
    /// Major (acceptance required again) or minor (notified).
    pub major: bool,
}

impl DraftInput {
    /// Trims the fields and checks them; the error is a French message for the form.
    pub fn validated(&self) -> Result<Self, TermsError> {
        let (title, summary, body) = (self.title.trim(), self.summary.trim(), self.body.trim());
        let invalid = |m: &str| Err(TermsError::Invalid(m.into()));
        if title.is_empty() {
            return invalid("Indiquez un titre.");
        }
        if title.chars().count() > MAX_TITLE {
            return invalid("Le titre est trop long (200 caractères au plus).");
        }
        if body.is_empty() {
            return invalid("Le texte du document est vide.");
        }
        if body.len() > MAX_BODY || summary.len() > MAX_SUMMARY {
            return invalid("Le texte est trop long.");
        }
        Ok(Self { title: title.into(), summary: summary.into(), body: body.replace("\r\n", "\n"), major: self.major })
    }
}

/// Why a change to a document was refused.
#[derive(Debug, thiserror::Error)]
pub enum TermsError {
    /// No such version (or not published, where a published one is required).
    #[error("legal document not found")]
    NotFound,
    /// A published version is never changed.
    #[error("legal document {0} is published and can no longer be changed")]
    AlreadyPublished(i64),
    /// One draft at a time per document: this one.
    #[error("legal document {0} is already a draft of this document")]
    DraftExists(i64),
    /// Invalid input, with a French message for the user.
    #[error("invalid: {0}")]
    Invalid(String),
    /// Two administrators numbered a version at the same time.
    #[error("version number taken concurrently")]
    Conflict,
    /// A database error.
    #[error("database error: {0}")]
    Db(DieselError),
}

impl From<DieselError> for TermsError {
    fn from(e: DieselError) -> Self {
        match e {
            DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => Self::Conflict,
            other => Self::Db(other),
        }
    }
}

fn of(doc: &LegalDoc) -> legal_documents::BoxedQuery<'static, crate::db::MultiBackend> {
    legal_documents::table
        .filter(legal_documents::kind.eq(doc.kind()))
        .filter(legal_documents::feature_key.eq(doc.feature_key().to_owned()))
        .into_boxed()
}

/// A version by id, draft or published.
pub fn find(conn: &mut DbConn, id: i64) -> QueryResult<Option<LegalDocument>> {
    legal_documents::table.find(id).select(LegalDocument::as_select()).first(conn).optional()
}

/// The version in force: the highest published one.
pub fn find_current(conn: &mut DbConn, doc: &LegalDoc) -> QueryResult<Option<LegalDocument>> {
    of(doc)
        .filter(legal_documents::published_at.is_not_null())
        .order(legal_documents::version.desc())
        .select(LegalDocument::as_select())
        .first(conn)
        .optional()
}

/// A published version by number (CGU-1: every version stays consultable).
pub fn find_published(conn: &mut DbConn, doc: &LegalDoc, version: i32) -> QueryResult<Option<LegalDocument>> {
    of(doc)
        .filter(legal_documents::published_at.is_not_null())
        .filter(legal_documents::version.eq(version))
        .select(LegalDocument::as_select())
        .first(conn)
        .optional()
}

/// The draft of a document, if one is being written.
pub fn find_draft(conn: &mut DbConn, doc: &LegalDoc) -> QueryResult<Option<LegalDocument>> {
    of(doc).filter(legal_documents::published_at.is_null()).select(LegalDocument::as_select()).first(conn).optional()
}

/// The published versions of a document, newest first.
pub fn list_published(conn: &mut DbConn, doc: &LegalDoc) -> QueryResult<Vec<VersionInfo>> {
    of(doc)
        .filter(legal_documents::published_at.is_not_null())
        .order(legal_documents::version.desc())
        .select(VersionInfo::as_select())
        .load(conn)
}

/// Every version of every document (drafts included), by document then newest first.
pub fn list_versions(conn: &mut DbConn) -> QueryResult<Vec<VersionInfo>> {
    legal_documents::table
        .order((legal_documents::kind, legal_documents::feature_key, legal_documents::version.desc()))
        .select(VersionInfo::as_select())
        .load(conn)
}

/// Starts the next version of `doc` as a draft, numbered after the highest existing one, and
/// journals it. Refused while another draft of the same document exists.
pub fn create_draft(
    conn: &mut DbConn,
    ctx: &AccessContext,
    doc: &LegalDoc,
    input: &DraftInput,
) -> Result<LegalDocument, TermsError> {
    let input = input.validated()?;
    if let Some(draft) = find_draft(conn, doc)? {
        return Err(TermsError::DraftExists(draft.id));
    }
    let last: Option<i32> = of(doc).select(diesel::dsl::max(legal_documents::version)).first(conn)?;
    let row = insert(conn, ctx, doc, last.unwrap_or(0) + 1, &input, false)?;
    journal::record(conn, ctx, Action::Creation, Object::new("legal_document", row.id), Outcome::Success)?;
    Ok(row)
}

/// Inserts a version; published at once (by the platform) when `published` is set.
pub(super) fn insert(
    conn: &mut DbConn,
    ctx: &AccessContext,
    doc: &LegalDoc,
    version: i32,
    input: &DraftInput,
    published: bool,
) -> QueryResult<LegalDocument> {
    let now = ctx.at.naive_utc();
    diesel::insert_into(legal_documents::table)
        .values((
            legal_documents::kind.eq(doc.kind()),
            legal_documents::feature_key.eq(doc.feature_key()),
            legal_documents::version.eq(version),
            legal_documents::major.eq(input.major),
            legal_documents::title.eq(&input.title),
            legal_documents::summary.eq(&input.summary),
            legal_documents::body.eq(&input.body),
            legal_documents::published_at.eq(published.then_some(now)),
            legal_documents::created_at.eq(now),
            legal_documents::updated_at.eq(now),
        ))
        .returning(legal_documents::all_columns)
        .get_result(conn)
}

/// The reason a conditional write on version `id` changed nothing.
fn why_unchanged(conn: &mut DbConn, id: i64) -> TermsError {
    match find(conn, id) {
        Ok(Some(d)) if d.published_at.is_some() => TermsError::AlreadyPublished(id),
        Ok(_) => TermsError::NotFound,
        Err(e) => e.into(),
    }
}

/// Changes a draft; a published version is refused (one conditional statement).
pub fn update_draft(
    conn: &mut DbConn,
    ctx: &AccessContext,
    id: i64,
    input: &DraftInput,
) -> Result<LegalDocument, TermsError> {
    let input = input.validated()?;
    let now = ctx.at.naive_utc();
    let updated: Option<LegalDocument> =
        diesel::update(legal_documents::table.find(id).filter(legal_documents::published_at.is_null()))
            .set((
                legal_documents::title.eq(&input.title),
                legal_documents::summary.eq(&input.summary),
                legal_documents::body.eq(&input.body),
                legal_documents::major.eq(input.major),
                legal_documents::updated_at.eq(now),
            ))
            .returning(legal_documents::all_columns)
            .get_result(conn)
            .optional()?;
    let Some(doc) = updated else { return Err(why_unchanged(conn, id)) };
    journal::record(conn, ctx, Action::Modification, Object::new("legal_document", id), Outcome::Success)?;
    Ok(doc)
}

/// Abandons a draft; a published version is refused.
pub fn delete_draft(conn: &mut DbConn, ctx: &AccessContext, id: i64) -> Result<(), TermsError> {
    let n = diesel::delete(legal_documents::table.find(id).filter(legal_documents::published_at.is_null()))
        .execute(conn)?;
    if n == 0 {
        return Err(why_unchanged(conn, id));
    }
    journal::record(conn, ctx, Action::Deletion, Object::new("legal_document", id), Outcome::Success)?;
    Ok(())
}

/// Publishes a draft: from now on it is the version in force, and it is never changed again.
/// Nodes' caches of the published documents must then be refreshed (`PublishedCache`).
pub fn publish(
    conn: &mut DbConn,
    ctx: &AccessContext,
    id: i64,
    publisher: Option<i64>,
) -> Result<LegalDocument, TermsError> {
    let now = ctx.at.naive_utc();
    let published: Option<LegalDocument> =
        diesel::update(legal_documents::table.find(id).filter(legal_documents::published_at.is_null()))
            .set((
                legal_documents::published_at.eq(now),
                legal_documents::published_by.eq(publisher),
                legal_documents::updated_at.eq(now),
            ))
            .returning(legal_documents::all_columns)
            .get_result(conn)
            .optional()?;
    let Some(doc) = published else { return Err(why_unchanged(conn, id)) };
    journal::record(conn, ctx, Action::Modification, Object::new("legal_document", id), Outcome::Success)?;
    Ok(doc)
}
