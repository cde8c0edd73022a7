//! Self-registration, the address check, the forgotten password (ACC-1). Links from e-mails
//! open a page whose button posts the token: a GET never changes anything (mail scanners
//! follow links), and the page is not cached nor sent as a referrer to other sites.

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::error::{AppError, invalid_form};
use super::extract::Ctx;
use super::layout::Layout;
use super::session::{Viewer, csrf_refused, form_csrf, form_csrf_ok, with_csrf_cookie};
use crate::accounts::profile::{CIVILITIES, FieldErrors, PROFESSIONS};
use crate::accounts::{self, LinkPasswordError, Links, RegistrationInput, Verified};
use crate::app::AppState;

/// A page opened by a link that carries a token: never cached. Its URL is never sent to another
/// site (the portal-wide `Referrer-Policy: same-origin`); `no-referrer` would make browsers send
/// `Origin: null` with the form, which the same-origin check rightly refuses.
pub fn link_page(mut res: Response) -> Response {
    use axum::http::{HeaderValue, header};
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// The e-mail links of this portal.
pub fn links(state: &AppState) -> Links {
    Links::new(&state.config.public_url, &state.config.portal.name)
}

/// A page with a heading, some paragraphs and an optional link.
#[derive(Template, WebTemplate)]
#[template(path = "account/message.html")]
pub struct MessagePage {
    /// Layout.
    pub layout: Layout,
    /// The h1.
    pub heading: String,
    /// Paragraphs.
    pub paragraphs: Vec<String>,
    /// A link (href, label).
    pub link: Option<(String, String)>,
}

impl MessagePage {
    /// A message page.
    pub fn new(state: &AppState, viewer: &Viewer, heading: &str, paragraphs: &[&str]) -> Self {
        Self {
            layout: Layout::new(state, viewer, None, heading),
            heading: heading.to_owned(),
            paragraphs: paragraphs.iter().map(|p| (*p).to_owned()).collect(),
            link: None,
        }
    }

    /// With a link.
    pub fn link(mut self, href: &str, label: &str) -> Self {
        self.link = Some((href.to_owned(), label.to_owned()));
        self
    }
}

/// The registration page.
#[derive(Template, WebTemplate)]
#[template(path = "account/register.html")]
pub struct RegisterPage {
    layout: Layout,
    csrf: String,
    input: RegistrationInput,
    errors: FieldErrors,
    approval: bool,
    civilities: &'static [(&'static str, &'static str)],
    professions: &'static [(&'static str, &'static str, bool)],
}

impl RegisterPage {
    fn err(&self, field: &str) -> Option<String> {
        self.errors.iter().find(|(f, _)| *f == field).map(|(_, m)| m.clone())
    }
}

fn register_page(
    state: &AppState,
    viewer: &Viewer,
    csrf: String,
    input: RegistrationInput,
    errors: FieldErrors,
) -> RegisterPage {
    RegisterPage {
        layout: Layout::new(state, viewer, None, "Créer un compte"),
        csrf,
        input,
        errors,
        approval: state.config.accounts.approval_required,
        civilities: CIVILITIES,
        professions: PROFESSIONS,
    }
}

/// `GET /inscription`.
pub async fn register_form(State(state): State<AppState>, viewer: Viewer, headers: HeaderMap) -> Response {
    let (csrf, set) = form_csrf(&headers);
    with_csrf_cookie(
        register_page(&state, &viewer, csrf, RegistrationInput::default(), Vec::new()).into_response(),
        set,
    )
}

/// The registration form, with its token.
#[derive(Deserialize)]
pub struct RegisterForm {
    csrf: String,
    #[serde(flatten)]
    input: RegistrationInput,
}

/// `POST /inscription`: the same page whether or not the address already has an account.
pub async fn register_submit(
    State(state): State<AppState>,
    viewer: Viewer,
    Ctx(ctx): Ctx,
    headers: HeaderMap,
    Form(form): Form<RegisterForm>,
) -> Result<Response, AppError> {
    if !form_csrf_ok(&headers, &form.csrf) {
        return Ok(csrf_refused());
    }
    let links = links(&state);
    let input = form.input.clone();
    let result = state.db.run(move |c| accounts::register(c, &ctx, &links, &input).map_err(AppError::from)).await?;
    match result {
        Ok(()) => Ok(MessagePage::new(
            &state,
            &viewer,
            "Vérifiez votre boîte de réception",
            &[
                "Si cette adresse peut être utilisée, un message vient de vous être envoyé avec un lien pour confirmer votre adresse e-mail. Le lien est valable 48 heures.",
                "Pensez à regarder dans les courriers indésirables. Si vous avez déjà un compte, le message vous l'indique et vous propose de choisir un nouveau mot de passe.",
            ],
        )
        .into_response()),
        Err(errors) => {
            let mut input = form.input;
            input.password.clear();
            input.confirm.clear();
            let page = register_page(&state, &viewer, form.csrf, input, errors);
            Ok(invalid_form(page))
        }
    }
}

/// `?jeton=` of a link.
#[derive(Deserialize)]
pub struct TokenQuery {
    #[serde(default)]
    jeton: String,
}

impl TokenQuery {
    /// The token, capped.
    pub fn token(&self) -> String {
        self.jeton.chars().take(64).collect()
    }
}

/// A page whose button posts the token of a link.
#[derive(Template, WebTemplate)]
#[template(path = "account/confirm_link.html")]
pub struct ConfirmLinkPage {
    layout: Layout,
    heading: String,
    text: String,
    action: &'static str,
    button: &'static str,
    token: String,
    csrf: String,
}

impl ConfirmLinkPage {
    /// A page with one button that posts `token` to `action`.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        state: &AppState,
        viewer: &Viewer,
        heading: &str,
        text: &str,
        action: &'static str,
        button: &'static str,
        token: String,
        csrf: String,
    ) -> Self {
        Self {
            layout: Layout::new(state, viewer, None, heading),
            heading: heading.to_owned(),
            text: text.to_owned(),
            action,
            button,
            token,
            csrf,
        }
    }
}

/// `GET /compte/verification?jeton=…`: a button that confirms the address.
pub async fn verify_page(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    Query(q): Query<TokenQuery>,
) -> Response {
    let (csrf, set) = form_csrf(&headers);
    let page = ConfirmLinkPage::new(
        &state,
        &viewer,
        "Confirmer votre adresse e-mail",
        "Pour terminer votre inscription, confirmez que cette adresse e-mail est bien la vôtre.",
        "/compte/verification",
        "Confirmer mon adresse",
        q.token(),
        csrf,
    );
    link_page(with_csrf_cookie(page.into_response(), set))
}

/// A posted link token.
#[derive(Deserialize)]
pub struct TokenForm {
    /// The form's token.
    pub csrf: String,
    /// The link's token.
    pub jeton: String,
}

/// `POST /compte/verification`.
pub async fn verify_submit(
    State(state): State<AppState>,
    viewer: Viewer,
    Ctx(ctx): Ctx,
    headers: HeaderMap,
    Form(form): Form<TokenForm>,
) -> Result<Response, AppError> {
    if !form_csrf_ok(&headers, &form.csrf) {
        return Ok(csrf_refused());
    }
    let links = links(&state);
    let approval = state.config.accounts.approval_required;
    let token = form.jeton;
    let outcome = state
        .db
        .run(move |c| accounts::verify_email(c, &ctx, &links, &token, approval).map_err(AppError::from))
        .await?;
    let page = match outcome {
        Verified::Active => MessagePage::new(
            &state,
            &viewer,
            "Adresse confirmée",
            &["Votre compte est actif : vous pouvez vous connecter."],
        )
        .link("/connexion", "Se connecter"),
        Verified::AwaitingApproval => MessagePage::new(
            &state,
            &viewer,
            "Adresse confirmée",
            &[
                "Merci ! Votre adresse e-mail est confirmée. L'équipe du DAC va maintenant valider votre inscription ; vous recevrez un e-mail dès que votre compte sera activé.",
            ],
        ),
        Verified::Invalid => invalid_link(&state, &viewer),
    };
    Ok(page.into_response())
}

fn invalid_link(state: &AppState, viewer: &Viewer) -> MessagePage {
    MessagePage::new(
        state,
        viewer,
        "Ce lien n'est plus valable",
        &["Le lien a déjà été utilisé, a expiré, ou a été remplacé par un lien plus récent. Vous pouvez en demander un nouveau : pour une inscription, connectez-vous avec votre adresse et votre mot de passe, un nouveau lien vous sera envoyé."],
    )
    .link("/connexion", "Se connecter")
}

/// The forgotten-password page.
#[derive(Template, WebTemplate)]
#[template(path = "account/forgot.html")]
pub struct ForgotPage {
    layout: Layout,
    csrf: String,
}

/// `GET /mot-de-passe-oublie`.
pub async fn forgot_form(State(state): State<AppState>, viewer: Viewer, headers: HeaderMap) -> Response {
    let (csrf, set) = form_csrf(&headers);
    let page = ForgotPage { layout: Layout::new(&state, &viewer, None, "Mot de passe oublié"), csrf };
    with_csrf_cookie(page.into_response(), set)
}

/// The forgotten-password form.
#[derive(Deserialize)]
pub struct ForgotForm {
    csrf: String,
    email: String,
}

/// `POST /mot-de-passe-oublie`: the same page for any address.
pub async fn forgot_submit(
    State(state): State<AppState>,
    viewer: Viewer,
    Ctx(ctx): Ctx,
    headers: HeaderMap,
    Form(form): Form<ForgotForm>,
) -> Result<Response, AppError> {
    if !form_csrf_ok(&headers, &form.csrf) {
        return Ok(csrf_refused());
    }
    let links = links(&state);
    let email: String = form.email.chars().take(300).collect();
    state.db.run(move |c| accounts::request_reset(c, &ctx, &links, &email).map_err(AppError::from)).await?;
    Ok(MessagePage::new(
        &state,
        &viewer,
        "Vérifiez votre boîte de réception",
        &["Si un compte utilise cette adresse, un message vient de lui être envoyé avec un lien pour choisir un nouveau mot de passe. Le lien est valable une heure et ne sert qu'une fois."],
    )
    .into_response())
}

/// The page that sets a password from a link (reset or invitation).
#[derive(Template, WebTemplate)]
#[template(path = "account/reset.html")]
pub struct ResetPage {
    layout: Layout,
    action: &'static str,
    button: &'static str,
    csrf: String,
    token: String,
    errors: FieldErrors,
}

impl ResetPage {
    fn err(&self, field: &str) -> Option<String> {
        self.errors.iter().find(|(f, _)| *f == field).map(|(_, m)| m.clone())
    }
}

/// The set-a-password page of a link (reset, invitation).
pub fn reset_like_page(
    state: &AppState,
    viewer: &Viewer,
    action: &'static str,
    button: &'static str,
    csrf: String,
    token: String,
    errors: FieldErrors,
) -> ResetPage {
    ResetPage {
        layout: Layout::new(state, viewer, None, "Choisir un mot de passe"),
        action,
        button,
        csrf,
        token,
        errors,
    }
}

/// `GET /mot-de-passe/nouveau?jeton=…`.
pub async fn reset_form(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    Query(q): Query<TokenQuery>,
) -> Result<Response, AppError> {
    let token: String = q.jeton.chars().take(64).collect();
    let now = state.clock.now_naive();
    let t = token.clone();
    let valid = state
        .db
        .run(move |c| {
            accounts::tokens::peek(c, &t, accounts::tokens::Purpose::ResetPassword, now).map_err(AppError::from)
        })
        .await?
        .is_some();
    if !valid {
        return Ok(invalid_link(&state, &viewer).into_response());
    }
    let (csrf, set) = form_csrf(&headers);
    let page = ResetPage {
        layout: Layout::new(&state, &viewer, None, "Choisir un nouveau mot de passe"),
        action: "/mot-de-passe/nouveau",
        button: "Enregistrer le mot de passe",
        csrf,
        token,
        errors: Vec::new(),
    };
    Ok(link_page(with_csrf_cookie(page.into_response(), set)))
}

/// The new-password form.
#[derive(Deserialize)]
pub struct ResetForm {
    csrf: String,
    jeton: String,
    password: String,
    confirm: String,
}

/// `POST /mot-de-passe/nouveau`: every session of the account ends.
pub async fn reset_submit(
    State(state): State<AppState>,
    viewer: Viewer,
    Ctx(ctx): Ctx,
    headers: HeaderMap,
    Form(form): Form<ResetForm>,
) -> Result<Response, AppError> {
    if !form_csrf_ok(&headers, &form.csrf) {
        return Ok(csrf_refused());
    }
    let (token, password, confirm) = (form.jeton.clone(), form.password, form.confirm);
    let result = state
        .db
        .run(move |c| accounts::reset_password(c, &ctx, &token, &password, &confirm).map_err(AppError::from))
        .await?;
    match result {
        Ok(_) => Ok(MessagePage::new(
            &state,
            &viewer,
            "Mot de passe enregistré",
            &["Votre nouveau mot de passe est enregistré. Par sécurité, toutes vos sessions ouvertes ont été fermées : connectez-vous à nouveau."],
        )
        .link("/connexion", "Se connecter")
        .into_response()),
        Err(LinkPasswordError::InvalidLink) => Ok(invalid_link(&state, &viewer).into_response()),
        Err(LinkPasswordError::Field(field, message)) => {
            let page = ResetPage {
                layout: Layout::new(&state, &viewer, None, "Choisir un nouveau mot de passe"),
                action: "/mot-de-passe/nouveau",
                button: "Enregistrer le mot de passe",
                csrf: form.csrf,
                token: form.jeton,
                errors: vec![(field, message)],
            };
            Ok(invalid_form(page))
        }
    }
}
