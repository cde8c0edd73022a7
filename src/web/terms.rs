//! The terms in the web layer (CGU-1..3): the gate every request of a professional passes, the
//! acceptance pages (`/conditions`), the complementary conditions of a feature, and the public
//! pages of the documents and of their past versions.

use std::sync::Arc;

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Path, Query, Request, State};
use axum::http::{Method, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{MethodRouter, get};
use serde::Deserialize;

use super::error::{AppError, ErrorKind};
use super::extract::Ctx;
use super::layout::{Layout, french_date};
use super::session::{CurrentUser, SESSION_COOKIE, SignedIn, Viewer, clear_cookie, csrf_refused, token_matches};
use crate::accounts::{self, Role};
use crate::app::AppState;
use crate::db;
use crate::journal::{self, Action, Object, Outcome};
use crate::terms::{self, Gate, LegalDoc, LegalDocument, Published, Rendered, VersionInfo};

/// Paths a professional who has yet to accept the terms can still reach (CGU-2, §1): the
/// documents, the export of their data, the closure of their account, the contact form and
/// logout; and what serves no page.
const OPEN_WHILE_GATED: &[&str] = &[
    "/cgu",
    "/donnees-personnelles",
    "/mentions-legales",
    "/accessibilite",
    "/conditions",
    "/compte/export",
    "/compte/fermeture",
    "/contact",
    "/deconnexion",
    "/static",
    "/healthz",
    "/readyz",
    "/metrics",
];

/// Paths without a page, where the gate does not even look at the terms.
const WITHOUT_PAGE: &[&str] = &["/static", "/healthz", "/readyz", "/metrics"];

fn under(path: &str, prefixes: &[&str]) -> bool {
    prefixes.iter().any(|p| path.strip_prefix(p).is_some_and(|rest| rest.is_empty() || rest.starts_with('/')))
}

/// The terms gate, layered after `session::load_session`: for a logged-in account other than an
/// administrator, one indexed query tells what the terms ask ([`terms::pending_terms`]); the
/// answer rides with the request (`CurrentUser::terms`, read by the layout's banner and the
/// acceptance page). While a first or major acceptance is due, any other path is refused: a
/// redirect to `/conditions` for pages, a 403 under `/api`. Anonymous requests cost nothing.
pub async fn gate(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let path = req.uri().path();
    let current = req.extensions().get::<Viewer>().and_then(|v| v.0.clone());
    let Some(current) = current.filter(|c| c.user.role() != Role::Administrator && !c.session.pending_mfa) else {
        return next.run(req).await;
    };
    if under(path, WITHOUT_PAGE) {
        return next.run(req).await;
    }
    let user_id = current.user.id;
    let gate = match state.db.run(move |c| terms::pending_terms(c, user_id).map_err(AppError::from)).await {
        Ok(gate) => gate,
        Err(e) => return e.into_response(),
    };
    if matches!(gate, Gate::MustAccept(_)) && !under(path, OPEN_WHILE_GATED) {
        return refuse_while_gated(&req);
    }
    if gate != Gate::Clear {
        let mut with_terms = CurrentUser::clone(&current);
        with_terms.terms = gate;
        req.extensions_mut().insert(Viewer(Some(Arc::new(with_terms))));
    }
    next.run(req).await
}

fn refuse_while_gated(req: &Request) -> Response {
    let path = req.uri().path();
    if under(path, &["/api", "/fhir"]) {
        let mut res = StatusCode::FORBIDDEN.into_response();
        res.extensions_mut().insert(ErrorKind {
            message: Some(
                "Acceptez les conditions générales d'utilisation en vigueur, sur la page /conditions du portail, pour \
                 continuer à utiliser le service."
                    .into(),
            ),
        });
        return res;
    }
    if matches!(*req.method(), Method::GET | Method::HEAD) {
        let target = req.uri().path_and_query().map_or(path, |pq| pq.as_str());
        return Redirect::to(&conditions_url("/conditions", target)).into_response();
    }
    // A form posted while gated: what it carried cannot be replayed by a redirect.
    Redirect::to("/conditions").into_response()
}

/// `base?suite=target`, the target encoded.
fn conditions_url(base: &str, target: &str) -> String {
    if target == "/" {
        return base.to_owned();
    }
    let encoded: String = url::form_urlencoded::byte_serialize(target.as_bytes()).collect();
    format!("{base}?suite={encoded}")
}

/// Where to go after accepting: a path of this site (one leading `/`, no scheme, no host), or the home page.
pub fn safe_suite(suite: Option<&str>) -> String {
    match suite {
        Some(s)
            if s.starts_with('/')
                && !s.starts_with("//")
                && !s.starts_with("/\\")
                && s.len() <= 2000
                && !s.chars().any(|c| c.is_control() || c == '\\')
                && !s.starts_with("/conditions") =>
        {
            s.to_owned()
        }
        _ => "/".to_owned(),
    }
}

/// The version in force of `doc`, from this node's cache or loaded and rendered. The first
/// versions are published here if the start-up did not (a database created by another tool).
pub async fn published(state: &AppState, doc: &LegalDoc) -> Result<Option<Arc<Published>>, AppError> {
    let now = state.clock.now();
    if let Some(hit) = state.terms.get(doc, now) {
        return Ok(hit);
    }
    let (d, config, ctx) = (doc.clone(), state.config.clone(), state.system_context());
    let loaded = state
        .db
        .run(move |conn| {
            let mut found = terms::load_published(conn, &d)?;
            if found.is_none() && LegalDoc::BASE.contains(&d) {
                db::write_tx(conn, |c| terms::ensure_initial_versions(c, &ctx, &config.portal))?;
                found = terms::load_published(conn, &d)?;
            }
            Ok::<_, AppError>(found.map(Arc::new))
        })
        .await?;
    state.terms.put(doc.clone(), now, loaded.clone());
    Ok(loaded)
}

// ---------------------------------------------------------------------------------------------
// Public pages (CGU-1).

/// A published version of a document, for everyone.
#[derive(Template, WebTemplate)]
#[template(path = "pages/legal.html")]
pub struct LegalPage {
    layout: Layout,
    shown: Arc<Published>,
    /// The page of the document (`/cgu`…).
    base: &'static str,
    /// The version shown is the one in force.
    in_force: bool,
}

impl LegalPage {
    /// "15 janvier 2027" for a version's publication.
    fn date(&self, v: &VersionInfo) -> String {
        v.published_at.map(|d| french_date(d.date())).unwrap_or_default()
    }

    /// The publication date of the version shown.
    fn shown_date(&self) -> String {
        self.shown.document.published_at.map(|d| french_date(d.date())).unwrap_or_default()
    }
}

/// `GET /cgu`, `/donnees-personnelles`, `/mentions-legales`: the version in force.
pub fn current_route(doc: LegalDoc) -> MethodRouter<AppState> {
    get(move |State(state): State<AppState>, viewer: Viewer| async move {
        let base = doc.public_path().ok_or(AppError::NotFound)?;
        let shown = published(&state, &doc).await?.ok_or(AppError::NotFound)?;
        let layout = Layout::new(&state, &viewer, None, &shown.document.title);
        Ok::<_, AppError>(LegalPage { layout, shown, base, in_force: true })
    })
}

/// `GET /cgu/versions/{n}` and the like: any published version, in force or not.
pub fn version_route(doc: LegalDoc) -> MethodRouter<AppState> {
    get(move |State(state): State<AppState>, viewer: Viewer, Path(version): Path<i32>| async move {
        let base = doc.public_path().ok_or(AppError::NotFound)?;
        let current = published(&state, &doc).await?.ok_or(AppError::NotFound)?;
        if current.document.version == version {
            return Ok(Redirect::to(base).into_response());
        }
        let d = doc.clone();
        let shown = state
            .db
            .run(move |c| {
                let document = terms::find_published(c, &d, version)?.ok_or(AppError::NotFound)?;
                let versions = terms::list_published(c, &d)?;
                let rendered = document.render();
                Ok::<_, AppError>(Published { document, rendered, versions })
            })
            .await?;
        let title = format!("{} (version {version})", shown.document.title);
        let layout = Layout::new(&state, &viewer, None, &title);
        Ok::<_, AppError>(LegalPage { layout, shown: Arc::new(shown), base, in_force: false }.into_response())
    })
}

// ---------------------------------------------------------------------------------------------
// Accepting the terms (CGU-2).

/// `?suite=…`: where the person was going.
#[derive(Deserialize)]
pub struct SuiteQuery {
    suite: Option<String>,
}

/// The page asking to accept the terms.
#[derive(Template, WebTemplate)]
#[template(path = "terms/conditions.html")]
pub struct ConditionsPage {
    layout: Layout,
    document: LegalDocument,
    rendered: Rendered,
    /// Versions published since the last one accepted, with their summaries, newest first.
    changes: Vec<VersionInfo>,
    /// Acceptance is required (first time, or a major version); otherwise only offered.
    required: bool,
    first_time: bool,
    suite: String,
}

impl ConditionsPage {
    fn date(&self, v: &VersionInfo) -> String {
        v.published_at.map(|d| french_date(d.date())).unwrap_or_default()
    }

    fn in_force_since(&self) -> String {
        self.document.published_at.map(|d| french_date(d.date())).unwrap_or_default()
    }
}

/// `GET /conditions`: the version to accept, or back to where the person was going.
pub async fn conditions_page(
    State(state): State<AppState>,
    viewer: Viewer,
    SignedIn(current): SignedIn,
    Query(q): Query<SuiteQuery>,
) -> Result<Response, AppError> {
    let suite = safe_suite(q.suite.as_deref());
    let (pending, required) = match &current.terms {
        Gate::MustAccept(p) => (p.clone(), true),
        Gate::Notify(p) => (p.clone(), false),
        Gate::Clear => return Ok(Redirect::to(&suite).into_response()),
    };
    // Read afresh, not from this node's cache: the version the gate asks for may be minutes old.
    let id = pending.document_id;
    let since = pending.last_accepted.unwrap_or(i32::MAX);
    let (document, rendered, changes) = state
        .db
        .run(move |c| {
            let document = terms::find(c, id)?.ok_or(AppError::NotFound)?;
            let changes = terms::list_published(c, &LegalDoc::Terms)?
                .into_iter()
                .filter(|v| v.version > since && v.version <= document.version)
                .collect::<Vec<_>>();
            let rendered = document.render();
            Ok::<_, AppError>((document, rendered, changes))
        })
        .await?;
    let title =
        if required { "Acceptation des conditions d'utilisation" } else { "Mise à jour des conditions d'utilisation" };
    let mut layout = Layout::new(&state, &viewer, None, title);
    layout.terms_notice = None;
    let first_time = pending.last_accepted.is_none();
    Ok(ConditionsPage { layout, document, rendered, changes, required, first_time, suite }.into_response())
}

/// The accept form: the version shown, and where to go next.
#[derive(Deserialize)]
pub struct AcceptForm {
    csrf: String,
    document: i64,
    #[serde(default)]
    suite: String,
}

/// `POST /conditions/accepter`: records the acceptance of the version shown (CGU-2 proof).
pub async fn accept_terms(
    State(state): State<AppState>,
    SignedIn(current): SignedIn,
    Ctx(ctx): Ctx,
    Form(form): Form<AcceptForm>,
) -> Result<Response, AppError> {
    if !token_matches(&form.csrf, &current.session.csrf_token) || current.session.pending_mfa {
        return Ok(csrf_refused());
    }
    let (user_id, id) = (current.user.id, form.document);
    state
        .db
        .write(move |c| {
            let doc = terms::find(c, id)?.ok_or(AppError::NotFound)?;
            if doc.doc() != Some(LegalDoc::Terms) {
                return Err(AppError::NotFound);
            }
            terms::accept(c, &ctx, user_id, id, "web")?;
            Ok(())
        })
        .await?;
    Ok(Redirect::to(&safe_suite(Some(&form.suite))).into_response())
}

/// The page after a refusal.
#[derive(Template, WebTemplate)]
#[template(path = "terms/refused.html")]
pub struct RefusedPage {
    layout: Layout,
}

/// A form that carries only the CSRF token.
#[derive(Deserialize)]
pub struct CsrfForm {
    csrf: String,
}

/// `POST /conditions/refuser`: the service cannot be used without the terms (CGU §1): the
/// session ends, the refusal of the version in force is journaled, and a page says what
/// remains possible.
pub async fn refuse_terms(
    State(state): State<AppState>,
    SignedIn(current): SignedIn,
    Ctx(ctx): Ctx,
    Form(form): Form<CsrfForm>,
) -> Result<Response, AppError> {
    if !token_matches(&form.csrf, &current.session.csrf_token) {
        return Ok(csrf_refused());
    }
    let hash = current.session.token_hash.clone();
    state
        .db
        .write(move |c| {
            let current = terms::find_current(c, &LegalDoc::Terms)?.ok_or(AppError::NotFound)?;
            accounts::delete_session(c, &hash)?;
            journal::record(c, &ctx, Action::Logout, Object::new("legal_document", current.id), Outcome::Success)?;
            Ok::<_, AppError>(())
        })
        .await?;
    let layout = Layout::new(&state, &Viewer(None), None, "Conditions d'utilisation non acceptées");
    let mut res = RefusedPage { layout }.into_response();
    res.headers_mut().append(axum::http::header::SET_COOKIE, clear_cookie(SESSION_COOKIE));
    Ok(res)
}

// ---------------------------------------------------------------------------------------------
// Complementary conditions of a feature or third-party service (CGU-3, CGU §4).

/// Sends `current` to the conditions of feature `key` when a published version of them is not
/// accepted yet; `Ok(())` lets the handler go on. Call it at the top of the feature's handlers.
pub async fn require_feature_conditions(
    state: &AppState,
    current: &CurrentUser,
    key: &'static str,
    uri: &Uri,
) -> Result<(), Response> {
    let user_id = current.user.id;
    let pending = state
        .db
        .run(move |c| terms::pending_feature(c, user_id, key).map_err(AppError::from))
        .await
        .map_err(IntoResponse::into_response)?;
    match pending {
        None => Ok(()),
        Some(_) => {
            let target = uri.path_and_query().map_or(uri.path(), |pq| pq.as_str());
            Err(Redirect::to(&conditions_url(&format!("/conditions/fonction/{key}"), target)).into_response())
        }
    }
}

/// The conditions of a feature.
#[derive(Template, WebTemplate)]
#[template(path = "terms/feature.html")]
pub struct FeatureConditionsPage {
    layout: Layout,
    key: String,
    document: LegalDocument,
    rendered: Rendered,
    suite: String,
    renewed: bool,
}

/// `GET /conditions/fonction/{key}`: the version to accept, or on to the feature.
pub async fn feature_page(
    State(state): State<AppState>,
    viewer: Viewer,
    SignedIn(current): SignedIn,
    Path(key): Path<String>,
    Query(q): Query<SuiteQuery>,
) -> Result<Response, AppError> {
    let suite = safe_suite(q.suite.as_deref());
    let (user_id, k) = (current.user.id, key.clone());
    let found = state
        .db
        .run(move |c| {
            let Some(pending) = terms::pending_feature(c, user_id, &k)? else { return Ok(None) };
            let doc = terms::find(c, pending.document_id)?.ok_or(AppError::NotFound)?;
            let rendered = doc.render();
            Ok::<_, AppError>(Some((doc, rendered, pending.last_accepted.is_some())))
        })
        .await?;
    let Some((document, rendered, renewed)) = found else { return Ok(Redirect::to(&suite).into_response()) };
    let mut layout = Layout::new(&state, &viewer, None, &document.title);
    layout.terms_notice = None;
    Ok(FeatureConditionsPage { layout, key, document, rendered, suite, renewed }.into_response())
}

/// `POST /conditions/fonction/{key}/accepter`.
pub async fn accept_feature(
    State(state): State<AppState>,
    SignedIn(current): SignedIn,
    Ctx(ctx): Ctx,
    Path(key): Path<String>,
    Form(form): Form<AcceptForm>,
) -> Result<Response, AppError> {
    if !token_matches(&form.csrf, &current.session.csrf_token) || current.session.pending_mfa {
        return Ok(csrf_refused());
    }
    let doc_key = LegalDoc::feature(&key).map_err(|_| AppError::NotFound)?;
    let (user_id, id) = (current.user.id, form.document);
    state
        .db
        .write(move |c| {
            let doc = terms::find(c, id)?.ok_or(AppError::NotFound)?;
            if doc.doc() != Some(doc_key) {
                return Err(AppError::NotFound);
            }
            terms::accept(c, &ctx, user_id, id, "web")?;
            Ok(())
        })
        .await?;
    Ok(Redirect::to(&safe_suite(Some(&form.suite))).into_response())
}

impl From<terms::TermsError> for AppError {
    fn from(e: terms::TermsError) -> Self {
        use terms::TermsError as E;
        match e {
            E::NotFound => Self::NotFound,
            E::AlreadyPublished(_) => {
                Self::Conflict("Cette version est publiée : elle ne peut plus être modifiée.".into())
            }
            E::DraftExists(_) => Self::Conflict("Un brouillon de ce document est déjà en cours de rédaction.".into()),
            E::Conflict => Self::Conflict(
                "Une autre version de ce document vient d'être créée. Rechargez la page et réessayez.".into(),
            ),
            E::Invalid(m) => Self::BadRequest(m),
            E::Db(e) => Self::Db(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_followed_after_accepting() {
        for ok in ["/annuaire?q=ssiad&age=5", "/", "/compte"] {
            assert_eq!(safe_suite(Some(ok)), ok);
        }
        for bad in ["//evil.example", "/\\evil.example", "https://evil.example", "evil", "/a\r\nb", "/conditions"] {
            assert_eq!(safe_suite(Some(bad)), "/", "{bad:?}");
        }
        assert_eq!(safe_suite(None), "/");
    }

    #[test]
    fn the_gate_leaves_open_only_whole_path_segments() {
        assert!(under("/cgu", OPEN_WHILE_GATED) && under("/cgu/versions/2", OPEN_WHILE_GATED));
        assert!(under("/conditions/fonction/applications", OPEN_WHILE_GATED));
        assert!(!under("/cgu-fausse", OPEN_WHILE_GATED) && !under("/annuaire", OPEN_WHILE_GATED));
        assert!(!under("/compte/mot-de-passe", OPEN_WHILE_GATED));
        assert_eq!(conditions_url("/conditions", "/annuaire?q=a b"), "/conditions?suite=%2Fannuaire%3Fq%3Da+b");
    }
}
