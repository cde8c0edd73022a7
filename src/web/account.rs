//! Login, logout and the password change (ACC-1, ACC-5). Registration, reset and MFA come
//! with the accounts issue.

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::error::AppError;
use super::extract::Ctx;
use super::layout::Layout;
use super::register::MessagePage;
use super::session::{
    CSRF_COOKIE, SESSION_COOKIE, SignedIn, Viewer, clear_cookie, cookie, csrf_refused, landing, redirect_with_cookie,
    set_cookie, token_matches,
};
use crate::accounts::{self, LoginOutcome};
use crate::app::AppState;
use crate::journal::{self, Action, Object, Outcome};

/// The login page.
#[derive(Template, WebTemplate)]
#[template(path = "account/login.html")]
pub struct LoginPage {
    layout: Layout,
    csrf: String,
    email: String,
    error: bool,
}

/// The login form.
#[derive(Deserialize)]
pub struct LoginForm {
    email: String,
    password: String,
    csrf: String,
}

/// `GET /connexion`.
pub async fn login_page(State(state): State<AppState>, viewer: Viewer, headers: HeaderMap) -> Response {
    if let Some(current) = &viewer.0 {
        return Redirect::to(landing(&current.user)).into_response();
    }
    let (csrf, fresh) = match cookie(&headers, CSRF_COOKIE) {
        Some(t) => (t, false),
        None => (accounts::random_token(), true),
    };
    let page = LoginPage {
        layout: Layout::new(&state, &viewer, None, "Connexion"),
        csrf: csrf.clone(),
        email: String::new(),
        error: false,
    };
    let mut res = page.into_response();
    if fresh {
        res.headers_mut().append(axum::http::header::SET_COOKIE, set_cookie(CSRF_COOKIE, &csrf));
    }
    res
}

/// `POST /connexion`: one answer for every failure (wrong password, unknown or throttled account).
pub async fn login_submit(
    State(state): State<AppState>,
    viewer: Viewer,
    Ctx(ctx): Ctx,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Result<Response, AppError> {
    let expected = cookie(&headers, CSRF_COOKIE).unwrap_or_default();
    if expected.is_empty() || !token_matches(&form.csrf, &expected) {
        return Ok(csrf_refused());
    }
    let (email, password) = (form.email.clone(), form.password);
    let links = super::register::links(&state);
    let outcome = state
        .db
        .run(move |conn| accounts::login(conn, &ctx, &links, &email, &password).map_err(AppError::from))
        .await?;
    match outcome {
        LoginOutcome::Success { token, user, .. } => {
            Ok(redirect_with_cookie(landing(&user), set_cookie(SESSION_COOKIE, &token)))
        }
        LoginOutcome::SecondFactor { token } => {
            Ok(redirect_with_cookie("/connexion/second-facteur", set_cookie(SESSION_COOKIE, &token)))
        }
        LoginOutcome::Unverified => Ok(MessagePage::new(
            &state,
            &viewer,
            "Adresse e-mail à confirmer",
            &["Votre adresse e-mail n'est pas encore confirmée. Nous venons de vous renvoyer un lien de confirmation, valable 48 heures : ouvrez-le pour activer votre compte."],
        )
        .into_response()),
        LoginOutcome::AwaitingApproval => Ok(MessagePage::new(
            &state,
            &viewer,
            "Inscription en cours de validation",
            &["Votre adresse e-mail est confirmée ; l'équipe du DAC doit encore valider votre inscription. Vous recevrez un e-mail dès que votre compte sera activé."],
        )
        .into_response()),
        LoginOutcome::Refused => {
            let email: String = form.email.chars().take(254).collect();
            let layout = Layout::new(&state, &viewer, None, "Connexion");
            Ok(LoginPage { layout, csrf: expected, email, error: true }.into_response())
        }
    }
}

/// A form that carries only the CSRF token.
#[derive(Deserialize)]
pub struct CsrfForm {
    csrf: String,
}

/// `POST /deconnexion`: ends the server session, not just the cookie.
pub async fn logout(
    State(state): State<AppState>,
    SignedIn(current): SignedIn,
    Ctx(ctx): Ctx,
    Form(form): Form<CsrfForm>,
) -> Result<Response, AppError> {
    if !token_matches(&form.csrf, &current.session.csrf_token) {
        return Ok(csrf_refused());
    }
    let (hash, user_id) = (current.session.token_hash.clone(), current.user.id);
    state
        .db
        .write(move |c| {
            accounts::delete_session(c, &hash)?;
            journal::record(c, &ctx, Action::Logout, Object::new("user", user_id), Outcome::Success)?;
            Ok::<_, AppError>(())
        })
        .await?;
    Ok(redirect_with_cookie("/", clear_cookie(SESSION_COOKIE)))
}

/// The password change page.
#[derive(Template, WebTemplate)]
#[template(path = "account/password.html")]
pub struct PasswordPage {
    layout: Layout,
    forced: bool,
    error: Option<String>,
}

/// `GET /compte/mot-de-passe`.
pub async fn password_page(State(state): State<AppState>, viewer: Viewer, SignedIn(current): SignedIn) -> PasswordPage {
    let layout = Layout::new(&state, &viewer, None, "Changer de mot de passe");
    PasswordPage { layout, forced: current.user.must_change_password, error: None }
}

/// The password change form.
#[derive(Deserialize)]
pub struct PasswordForm {
    csrf: String,
    current: String,
    new: String,
    confirm: String,
}

/// `POST /compte/mot-de-passe`: other sessions end, this one gets a new id.
pub async fn password_submit(
    State(state): State<AppState>,
    viewer: Viewer,
    SignedIn(current): SignedIn,
    Ctx(ctx): Ctx,
    Form(form): Form<PasswordForm>,
) -> Result<Response, AppError> {
    if !token_matches(&form.csrf, &current.session.csrf_token) {
        return Ok(csrf_refused());
    }
    let user = current.user.clone();
    let changed = state
        .db
        .run(move |conn| {
            accounts::change_password(conn, &ctx, &user, &form.current, &form.new, &form.confirm)
                .map_err(AppError::from)
        })
        .await?;
    match changed {
        Ok((token, _)) => {
            let mut user = current.user.clone();
            user.must_change_password = false;
            Ok(redirect_with_cookie(landing(&user), set_cookie(SESSION_COOKIE, &token)))
        }
        Err(e) => {
            let layout = Layout::new(&state, &viewer, None, "Changer de mot de passe");
            let page = PasswordPage { layout, forced: current.user.must_change_password, error: Some(e.to_string()) };
            Ok(page.into_response())
        }
    }
}
