//! The back office of the versioned documents (CGU-1..3): every document with its versions and
//! acceptance figures, drafts (prefilled with the version in force) with a safe preview, and
//! publication after a confirmation. Every change is journaled by the `terms` functions.

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::error::AppError;
use super::extract::Ctx;
use super::layout::{Layout, french_date};
use super::session::{AdminUser, Viewer, csrf_refused, token_matches};
use crate::app::AppState;
use crate::terms::{self, AcceptanceStats, DraftInput, LegalDoc, LegalDocument, Rendered, TermsError, VersionInfo};

/// The versions of one document.
pub struct DocGroup {
    /// Which document.
    pub doc: LegalDoc,
    /// Its versions, newest first (a draft, if any, comes first).
    pub versions: Vec<VersionInfo>,
}

impl DocGroup {
    /// The draft being written, if any.
    pub fn draft(&self) -> Option<&VersionInfo> {
        self.versions.iter().find(|v| v.published_at.is_none())
    }

    /// The query string of a new draft of this document.
    pub fn new_query(&self) -> String {
        match &self.doc {
            LegalDoc::Feature(key) => format!("document=feature&fonction={key}"),
            doc => format!("document={}", doc.kind()),
        }
    }
}

/// `/admin/documents`.
#[derive(Template, WebTemplate)]
#[template(path = "admin/documents.html")]
pub struct DocumentsPage {
    layout: Layout,
    groups: Vec<DocGroup>,
    stats: AcceptanceStats,
    published: Option<String>,
}

impl DocumentsPage {
    /// The state of a version, in words.
    fn state(&self, group: &DocGroup, v: &VersionInfo) -> String {
        let in_force = group.versions.iter().find(|x| x.published_at.is_some()).map(|x| x.id) == Some(v.id);
        match v.published_at {
            None => "Brouillon".into(),
            Some(at) if in_force => format!("En vigueur depuis le {}", french_date(at.date())),
            Some(at) => format!("Publiée le {}", french_date(at.date())),
        }
    }

    /// "majeure", "mineure", or a dash where the distinction does not apply.
    fn nature(&self, group: &DocGroup, v: &VersionInfo) -> &'static str {
        match (&group.doc, v.major) {
            (LegalDoc::Terms, true) => "majeure",
            (LegalDoc::Terms, false) => "mineure",
            _ => "—",
        }
    }

    /// The acceptance figures of a version, in words.
    fn acceptances(&self, group: &DocGroup, v: &VersionInfo) -> String {
        if !group.doc.is_accepted() || v.published_at.is_none() {
            return "—".into();
        }
        figures(&self.stats, v.id)
    }
}

/// "12 ; 40 % des comptes actifs (10 sur 25)": acceptances of version `id`, then the share of
/// today's active accounts that accepted it.
fn figures(stats: &AcceptanceStats, id: i64) -> String {
    let n = stats.accepted(id);
    match stats.share_percent(id) {
        Some(p) => {
            format!("{n} ; {p} % des comptes actifs ({} sur {})", stats.accepted_by_active(id), stats.active_accounts)
        }
        None => n.to_string(),
    }
}

/// `?publiee=ID` after a publication.
#[derive(Deserialize)]
pub struct ListQuery {
    publiee: Option<i64>,
}

/// `GET /admin/documents`.
pub async fn list(
    State(state): State<AppState>,
    viewer: Viewer,
    _admin: AdminUser,
    Query(q): Query<ListQuery>,
) -> Result<DocumentsPage, AppError> {
    let (versions, stats) =
        state.db.run(|c| Ok::<_, AppError>((terms::list_versions(c)?, terms::acceptance_stats(c)?))).await?;
    let mut groups: Vec<DocGroup> =
        LegalDoc::BASE.into_iter().map(|doc| DocGroup { doc, versions: Vec::new() }).collect();
    for v in versions {
        let Some(doc) = v.doc() else { continue };
        match groups.iter_mut().find(|g| g.doc == doc) {
            Some(g) => g.versions.push(v),
            None => groups.push(DocGroup { doc, versions: vec![v] }),
        }
    }
    let published = q.publiee.and_then(|id| {
        let g = groups.iter().find(|g| g.versions.iter().any(|v| v.id == id))?;
        let v = g.versions.iter().find(|v| v.id == id)?;
        Some(format!("La version {} du document « {} » est publiée.", v.version, g.doc.label()))
    });
    let layout = Layout::new(&state, &viewer, None, "Documents légaux");
    Ok(DocumentsPage { layout, groups, stats, published })
}

/// A draft's form, new or existing, with the preview of what was saved.
#[derive(Template, WebTemplate)]
#[template(path = "admin/document_form.html")]
pub struct DraftPage {
    layout: Layout,
    doc: LegalDoc,
    /// The saved draft, if it exists yet.
    draft: Option<LegalDocument>,
    title: String,
    summary: String,
    body: String,
    /// Major or minor, once chosen (terms only).
    major: Option<bool>,
    error: Option<String>,
    saved: bool,
    preview: Option<Rendered>,
}

impl DraftPage {
    /// The action of the form.
    fn action(&self) -> String {
        self.draft.as_ref().map_or_else(|| "/admin/documents/nouveau".into(), |d| format!("/admin/documents/{}", d.id))
    }
}

/// `?document=terms|privacy|legal_notice|feature&fonction=key`.
#[derive(Deserialize)]
pub struct NewQuery {
    document: String,
    fonction: Option<String>,
}

fn parse_doc(kind: &str, key: Option<&str>) -> Result<LegalDoc, AppError> {
    match kind {
        "feature" => Ok(LegalDoc::feature(key.unwrap_or("").trim())?),
        other => LegalDoc::from_stored(other, "").ok_or_else(|| AppError::BadRequest("Document inconnu.".into())),
    }
}

/// `GET /admin/documents/nouveau`: a new version prefilled with the one in force; the existing
/// draft if there is one.
pub async fn new_form(
    State(state): State<AppState>,
    viewer: Viewer,
    _admin: AdminUser,
    Query(q): Query<NewQuery>,
) -> Result<Response, AppError> {
    let doc = parse_doc(&q.document, q.fonction.as_deref())?;
    let d = doc.clone();
    let (draft, current) =
        state.db.run(move |c| Ok::<_, AppError>((terms::find_draft(c, &d)?, terms::find_current(c, &d)?))).await?;
    if let Some(draft) = draft {
        return Ok(Redirect::to(&format!("/admin/documents/{}", draft.id)).into_response());
    }
    let (title, body) = match current {
        Some(c) => (c.title, c.body),
        None => (String::new(), String::new()),
    };
    let layout = Layout::new(&state, &viewer, None, &format!("Nouvelle version : {}", doc.label()));
    let major = if doc == LegalDoc::Terms { None } else { Some(true) };
    let page = DraftPage {
        layout,
        doc,
        draft: None,
        title,
        summary: String::new(),
        body,
        major,
        error: None,
        saved: false,
        preview: None,
    };
    Ok(page.into_response())
}

/// The draft form.
#[derive(Deserialize)]
pub struct DraftForm {
    csrf: String,
    #[serde(default)]
    document: String,
    #[serde(default)]
    fonction: String,
    title: String,
    #[serde(default)]
    summary: String,
    body: String,
    /// `majeure` or `mineure` (terms only).
    #[serde(default)]
    nature: String,
}

impl DraftForm {
    fn major(&self, doc: &LegalDoc) -> Option<bool> {
        match (doc, self.nature.as_str()) {
            (LegalDoc::Terms, "majeure") => Some(true),
            (LegalDoc::Terms, "mineure") => Some(false),
            (LegalDoc::Terms, _) => None,
            _ => Some(true),
        }
    }

    /// The input, or the French reason it cannot be saved.
    fn input(&self, doc: &LegalDoc) -> Result<DraftInput, String> {
        let major = self.major(doc).ok_or("Indiquez s'il s'agit d'une modification majeure ou mineure.")?;
        let input =
            DraftInput { title: self.title.clone(), summary: self.summary.clone(), body: self.body.clone(), major };
        input.validated().map_err(|e| match e {
            TermsError::Invalid(m) => m,
            other => other.to_string(),
        })
    }

    /// The form shown again with its error.
    fn page(
        self,
        state: &AppState,
        viewer: &Viewer,
        doc: LegalDoc,
        draft: Option<LegalDocument>,
        error: String,
    ) -> DraftPage {
        let layout = Layout::new(state, viewer, None, &format!("Nouvelle version : {}", doc.label()));
        let major = self.major(&doc);
        DraftPage {
            layout,
            doc,
            draft,
            title: self.title,
            summary: self.summary,
            body: self.body,
            major,
            error: Some(error),
            saved: false,
            preview: None,
        }
    }
}

/// `POST /admin/documents/nouveau`: saves a new draft.
pub async fn create(
    State(state): State<AppState>,
    viewer: Viewer,
    AdminUser(admin): AdminUser,
    Ctx(ctx): Ctx,
    Form(form): Form<DraftForm>,
) -> Result<Response, AppError> {
    if !token_matches(&form.csrf, &admin.session.csrf_token) {
        return Ok(csrf_refused());
    }
    let doc = parse_doc(&form.document, Some(&form.fonction))?;
    let input = match form.input(&doc) {
        Ok(input) => input,
        Err(m) => return Ok(form.page(&state, &viewer, doc, None, m).into_response()),
    };
    let d = doc.clone();
    let created = state.db.write(move |c| Ok::<_, AppError>(terms::create_draft(c, &ctx, &d, &input))).await?;
    match created {
        Ok(draft) => Ok(Redirect::to(&format!("/admin/documents/{}?enregistre=1", draft.id)).into_response()),
        Err(TermsError::DraftExists(id)) => Ok(Redirect::to(&format!("/admin/documents/{id}")).into_response()),
        Err(e) => Err(e.into()),
    }
}

/// A published version, read only, with its figures.
#[derive(Template, WebTemplate)]
#[template(path = "admin/document.html")]
pub struct PublishedPage {
    layout: Layout,
    doc: LegalDoc,
    document: LegalDocument,
    rendered: Rendered,
    stats: AcceptanceStats,
}

impl PublishedPage {
    fn published_on(&self) -> String {
        self.document.published_at.map(|d| french_date(d.date())).unwrap_or_default()
    }

    /// The acceptance figures, in words.
    fn acceptances(&self) -> String {
        figures(&self.stats, self.document.id)
    }
}

/// `?enregistre=1` after a save.
#[derive(Deserialize)]
pub struct ShowQuery {
    enregistre: Option<u8>,
}

/// `GET /admin/documents/{id}`: a draft's form and preview, or a published version.
pub async fn show(
    State(state): State<AppState>,
    viewer: Viewer,
    _admin: AdminUser,
    Path(id): Path<i64>,
    Query(q): Query<ShowQuery>,
) -> Result<Response, AppError> {
    let (document, rendered, stats) = state
        .db
        .run(move |c| {
            let document = terms::find(c, id)?.ok_or(AppError::NotFound)?;
            let rendered = document.render();
            Ok::<_, AppError>((document, rendered, terms::acceptance_stats(c)?))
        })
        .await?;
    let doc = document.doc().ok_or(AppError::NotFound)?;
    let title = format!("{}, version {}", doc.label(), document.version);
    let layout = Layout::new(&state, &viewer, None, &title);
    if document.published_at.is_some() {
        return Ok(PublishedPage { layout, doc, document, rendered, stats }.into_response());
    }
    let page = DraftPage {
        layout,
        title: document.title.clone(),
        summary: document.summary.clone(),
        body: document.body.clone(),
        major: if doc == LegalDoc::Terms { Some(document.major) } else { Some(true) },
        doc,
        draft: Some(document),
        error: None,
        saved: q.enregistre.is_some(),
        preview: Some(rendered),
    };
    Ok(page.into_response())
}

/// `POST /admin/documents/{id}`: saves a draft (a published version is refused: 409).
pub async fn update(
    State(state): State<AppState>,
    viewer: Viewer,
    AdminUser(admin): AdminUser,
    Ctx(ctx): Ctx,
    Path(id): Path<i64>,
    Form(form): Form<DraftForm>,
) -> Result<Response, AppError> {
    if !token_matches(&form.csrf, &admin.session.csrf_token) {
        return Ok(csrf_refused());
    }
    let existing = state.db.run(move |c| Ok::<_, AppError>(terms::find(c, id)?)).await?.ok_or(AppError::NotFound)?;
    let doc = existing.doc().ok_or(AppError::NotFound)?;
    let input = match form.input(&doc) {
        Ok(input) => input,
        Err(m) => return Ok(form.page(&state, &viewer, doc, Some(existing), m).into_response()),
    };
    state.db.write(move |c| Ok::<_, AppError>(terms::update_draft(c, &ctx, id, &input)?)).await?;
    Ok(Redirect::to(&format!("/admin/documents/{id}?enregistre=1#apercu")).into_response())
}

/// The confirmation before publishing.
#[derive(Template, WebTemplate)]
#[template(path = "admin/document_publish.html")]
pub struct PublishPage {
    layout: Layout,
    doc: LegalDoc,
    document: LegalDocument,
    in_force: Option<i32>,
}

/// `GET /admin/documents/{id}/publier`.
pub async fn confirm_publish(
    State(state): State<AppState>,
    viewer: Viewer,
    _admin: AdminUser,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let (document, in_force) = state
        .db
        .run(move |c| {
            let document = terms::find(c, id)?.ok_or(AppError::NotFound)?;
            let doc = document.doc().ok_or(AppError::NotFound)?;
            let in_force = terms::find_current(c, &doc)?.map(|d| d.version);
            Ok::<_, AppError>((document, in_force))
        })
        .await?;
    if document.published_at.is_some() {
        return Ok(Redirect::to(&format!("/admin/documents/{id}")).into_response());
    }
    let doc = document.doc().ok_or(AppError::NotFound)?;
    let layout = Layout::new(&state, &viewer, None, &format!("Publier la version {}", document.version));
    Ok(PublishPage { layout, doc, document, in_force }.into_response())
}

/// A form that carries only the CSRF token.
#[derive(Deserialize)]
pub struct CsrfForm {
    csrf: String,
}

/// `POST /admin/documents/{id}/publier`: the draft becomes the version in force.
pub async fn publish(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    Ctx(ctx): Ctx,
    Path(id): Path<i64>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, AppError> {
    if !token_matches(&form.csrf, &admin.session.csrf_token) {
        return Ok(csrf_refused());
    }
    let publisher = admin.user.id;
    state.db.write(move |c| Ok::<_, AppError>(terms::publish(c, &ctx, id, Some(publisher))?)).await?;
    // This node at once; the others within `terms::cache::TTL`.
    state.terms.invalidate();
    Ok(Redirect::to(&format!("/admin/documents?publiee={id}")).into_response())
}

/// `POST /admin/documents/{id}/supprimer`: abandons a draft.
pub async fn delete(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    Ctx(ctx): Ctx,
    Path(id): Path<i64>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, AppError> {
    if !token_matches(&form.csrf, &admin.session.csrf_token) {
        return Ok(csrf_refused());
    }
    state.db.write(move |c| Ok::<_, AppError>(terms::delete_draft(c, &ctx, id)?)).await?;
    Ok(Redirect::to("/admin/documents").into_response())
}
