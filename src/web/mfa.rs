//! The second factor in the browser: the second step of the login, and the enrolment, recovery
//! codes and deactivation under "Mon compte" (ACC-5; mandatory for administrators).

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::error::{AppError, invalid_form};
use super::extract::Ctx;
use super::layout::Layout;
use super::session::{
    PendingMfa, SESSION_COOKIE, SignedIn, Viewer, clear_cookie, csrf_refused, landing, redirect_with_cookie,
    set_cookie, token_matches,
};
use crate::accounts::mfa::{self, SecondFactorOutcome};
use crate::accounts::{self, Role, totp};
use crate::app::AppState;

/// The second step of the login.
#[derive(Template, WebTemplate)]
#[template(path = "account/second_factor.html")]
pub struct SecondFactorPage {
    layout: Layout,
    csrf: String,
    error: bool,
}

/// `GET /connexion/second-facteur`.
pub async fn second_factor_page(State(state): State<AppState>, PendingMfa(pending): PendingMfa) -> SecondFactorPage {
    SecondFactorPage {
        layout: Layout::new(&state, &Viewer(None), None, "Double authentification"),
        csrf: pending.session.csrf_token.clone(),
        error: false,
    }
}

/// The code form.
#[derive(Deserialize)]
pub struct CodeForm {
    csrf: String,
    #[serde(default)]
    code: String,
}

/// `POST /connexion/second-facteur`: a new session replaces the waiting one.
pub async fn second_factor_submit(
    State(state): State<AppState>,
    PendingMfa(pending): PendingMfa,
    Ctx(ctx): Ctx,
    Form(form): Form<CodeForm>,
) -> Result<Response, AppError> {
    if !token_matches(&form.csrf, &pending.session.csrf_token) {
        return Ok(csrf_refused());
    }
    let session = pending.session.clone();
    let code: String = form.code.chars().take(64).collect();
    let outcome = state.db.run(move |c| mfa::complete_login(c, &ctx, &session, &code).map_err(AppError::from)).await?;
    Ok(match outcome {
        SecondFactorOutcome::Success { token, user } => {
            redirect_with_cookie(landing(&user), set_cookie(SESSION_COOKIE, &token))
        }
        SecondFactorOutcome::Refused => invalid_form(SecondFactorPage {
            layout: Layout::new(&state, &Viewer(None), None, "Double authentification"),
            csrf: pending.session.csrf_token.clone(),
            error: true,
        }),
        SecondFactorOutcome::Expired => redirect_with_cookie("/connexion", clear_cookie(SESSION_COOKIE)),
    })
}

/// An enrolment in progress.
pub struct Pending {
    qr_svg: String,
    secret_grouped: String,
}

/// The second-factor settings.
#[derive(Template, WebTemplate)]
#[template(path = "account/security.html")]
pub struct SecurityPage {
    layout: Layout,
    required: bool,
    enabled: bool,
    remaining: i64,
    pending: Option<Pending>,
    error: Option<&'static str>,
}

async fn security_page(
    state: &AppState,
    viewer: &Viewer,
    user_id: i64,
    error: Option<&'static str>,
) -> Result<SecurityPage, AppError> {
    let (user, remaining) = state
        .db
        .run(move |c| {
            let user = accounts::find_by_id(c, user_id)?.ok_or(AppError::NotFound)?;
            Ok::<_, AppError>((user, mfa::remaining_codes(c, user_id)?))
        })
        .await?;
    let pending = user.totp_pending_secret.as_deref().filter(|_| user.totp_secret.is_none()).map(|secret| {
        let uri = totp::otpauth_uri(secret, &user.email, &state.config.portal.name);
        let grouped = secret.as_bytes().chunks(4).map(|c| String::from_utf8_lossy(c).into_owned()).collect::<Vec<_>>();
        Pending { qr_svg: totp::qr_svg(&uri), secret_grouped: grouped.join(" ") }
    });
    Ok(SecurityPage {
        layout: Layout::new(state, viewer, None, "Double authentification"),
        required: user.role() == Role::Administrator,
        enabled: user.totp_secret.is_some(),
        remaining,
        pending,
        error,
    })
}

/// `GET /compte/securite`. The page holds a secret while enrolling: never cached.
pub async fn security(
    State(state): State<AppState>,
    viewer: Viewer,
    SignedIn(current): SignedIn,
) -> Result<Response, AppError> {
    let mut res = security_page(&state, &viewer, current.user.id, None).await?.into_response();
    res.headers_mut().insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
    Ok(res)
}

/// A form with only the token.
#[derive(Deserialize)]
pub struct CsrfOnly {
    csrf: String,
}

/// `POST /compte/securite/commencer`: a new secret, shown on the settings page.
pub async fn begin(
    State(state): State<AppState>,
    SignedIn(current): SignedIn,
    Ctx(ctx): Ctx,
    Form(form): Form<CsrfOnly>,
) -> Result<Response, AppError> {
    if !token_matches(&form.csrf, &current.session.csrf_token) {
        return Ok(csrf_refused());
    }
    if current.user.totp_secret.is_none() {
        let id = current.user.id;
        state.db.write(move |c| mfa::begin_enrolment(c, &ctx, id).map_err(AppError::from)).await?;
    }
    Ok(Redirect::to("/compte/securite").into_response())
}

/// Recovery codes, shown once.
#[derive(Template, WebTemplate)]
#[template(path = "account/recovery_codes.html")]
pub struct CodesPage {
    layout: Layout,
    intro: &'static str,
    codes: Vec<String>,
    next: &'static str,
}

/// `POST /compte/securite/activer`: the first code confirms the secret; the session id changes.
pub async fn activate(
    State(state): State<AppState>,
    viewer: Viewer,
    SignedIn(current): SignedIn,
    Ctx(ctx): Ctx,
    Form(form): Form<CodeForm>,
) -> Result<Response, AppError> {
    if !token_matches(&form.csrf, &current.session.csrf_token) {
        return Ok(csrf_refused());
    }
    let (id, hash, now) = (current.user.id, current.session.token_hash.clone(), ctx.at.naive_utc());
    let code: String = form.code.chars().take(64).collect();
    let done = state
        .db
        .write(move |c| {
            let Some(codes) = mfa::confirm_enrolment(c, &ctx, id, &code)? else { return Ok::<_, AppError>(None) };
            let (token, session) = mfa::rotate_session(c, id, &hash, now)?;
            Ok(Some((codes, token, session)))
        })
        .await?;
    let Some((codes, token, session)) = done else {
        let page = security_page(
            &state,
            &viewer,
            id,
            Some("Ce code n'est pas valable : vérifiez l'heure de votre téléphone et saisissez le code affiché."),
        )
        .await?;
        return Ok(invalid_form(page));
    };
    let mut user = current.user.clone();
    user.totp_secret = Some(String::new());
    // The page is shown under the new session (its header's logout form carries the new token).
    let renewed = Viewer(Some(std::sync::Arc::new(super::session::CurrentUser {
        user: user.clone(),
        session,
        terms: current.terms.clone(),
    })));
    let page = CodesPage {
        layout: Layout::new(&state, &renewed, None, "Vos codes de secours"),
        intro: "La double authentification est activée.",
        codes,
        next: landing(&user),
    };
    let mut res = page.into_response();
    res.headers_mut().insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
    res.headers_mut().append(header::SET_COOKIE, set_cookie(SESSION_COOKIE, &token));
    Ok(res)
}

/// A form with the password.
#[derive(Deserialize)]
pub struct PasswordForm {
    csrf: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    code: String,
}

/// `POST /compte/securite/codes`: new recovery codes after the password.
pub async fn new_codes(
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
    let password = form.password;
    let codes = state
        .db
        .run(move |c| {
            let ok = user.totp_secret.is_some()
                && accounts::verify_password(&password, user.password_hash.as_deref().unwrap_or_default());
            if !ok {
                return Ok::<_, AppError>(None);
            }
            Ok(Some(crate::db::write_tx(c, |c| mfa::regenerate_codes(c, &ctx, user.id))?))
        })
        .await?;
    let Some(codes) = codes else {
        return Ok(invalid_form(
            security_page(&state, &viewer, current.user.id, Some("Le mot de passe est incorrect.")).await?,
        ));
    };
    let page = CodesPage {
        layout: Layout::new(&state, &viewer, None, "Vos codes de secours"),
        intro: "Vos nouveaux codes de secours remplacent les anciens, qui ne fonctionnent plus.",
        codes,
        next: "/compte/securite",
    };
    let mut res = page.into_response();
    res.headers_mut().insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
    Ok(res)
}

/// `POST /compte/securite/desactiver`: after the password and a code; not for administrators.
pub async fn deactivate(
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
    let (password, code) = (form.password, form.code);
    let done = state.db.run(move |c| mfa::disable(c, &ctx, &user, &password, &code).map_err(AppError::from)).await?;
    if done {
        return Ok(Redirect::to("/compte?fait=securite").into_response());
    }
    let message = if current.user.role() == Role::Administrator {
        "La double authentification est obligatoire pour les administrateurs."
    } else {
        "Le mot de passe ou le code est incorrect."
    };
    Ok(invalid_form(security_page(&state, &viewer, current.user.id, Some(message)).await?))
}
