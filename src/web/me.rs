//! "Mon compte" (ACC-2, ACC-6, JNL-3): one's own data, its rectification, the change of
//! address, the access history, the data download and the closure of the account.

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use diesel::prelude::*;
use serde::Deserialize;

use super::error::{AppError, invalid_form};
use super::extract::Ctx;
use super::layout::{Layout, paris_time};
use super::register::{ConfirmLinkPage, MessagePage, TokenForm, TokenQuery, links};
use super::session::{
    SESSION_COOKIE, SignedIn, Viewer, clear_cookie, csrf_refused, form_csrf, form_csrf_ok, token_matches,
    with_csrf_cookie,
};
use crate::accounts::profile::{self, CIVILITIES, FieldErrors, PROFESSIONS, ProfileInput};
use crate::accounts::{self, EmailChangeError, HistoryRow, User};
use crate::app::AppState;
use crate::db::schema::organisations;
use crate::journal::{self, Action, Object, Outcome};

/// The "Mon compte" page.
#[derive(Template, WebTemplate)]
#[template(path = "account/me.html")]
pub struct MePage {
    layout: Layout,
    input: ProfileInput,
    errors: FieldErrors,
    saved: Option<&'static str>,
    email: String,
    mfa: bool,
    organisation: Option<String>,
    civilities: &'static [(&'static str, &'static str)],
    professions: &'static [(&'static str, &'static str, bool)],
}

impl MePage {
    fn err(&self, field: &str) -> Option<String> {
        self.errors.iter().find(|(f, _)| *f == field).map(|(_, m)| m.clone())
    }
}

fn input_of(u: &User) -> ProfileInput {
    ProfileInput {
        civility: u.civility.clone().unwrap_or_default(),
        given_name: u.given_name.clone(),
        family_name: u.family_name.clone(),
        profession: u.profession.clone().unwrap_or_default(),
        rpps: u.rpps.clone().unwrap_or_default(),
        structure: u.structure.clone(),
        phone: u.phone.clone(),
    }
}

/// `?fait=` after a redirect.
#[derive(Deserialize)]
pub struct Done {
    #[serde(default)]
    fait: String,
}

/// `GET /compte`: the owner's data, journaled as a consultation.
pub async fn me(
    State(state): State<AppState>,
    viewer: Viewer,
    SignedIn(current): SignedIn,
    Ctx(ctx): Ctx,
    Query(done): Query<Done>,
) -> Result<Response, AppError> {
    let user_id = current.user.id;
    let (user, organisation) = state
        .db
        .write(move |c| {
            journal::record(c, &ctx, Action::Consultation, Object::new("user", user_id), Outcome::Success)?;
            let user = accounts::find_by_id(c, user_id)?.ok_or(AppError::NotFound)?;
            let org = match user.organisation_id {
                Some(id) => organisations::table.find(id).select(organisations::name).first::<String>(c).optional()?,
                None => None,
            };
            Ok::<_, AppError>((user, org))
        })
        .await?;
    let saved = match done.fait.as_str() {
        "profil" => Some("Vos informations sont enregistrées."),
        "courriel" => Some(
            "Un lien de confirmation a été envoyé à la nouvelle adresse. Elle remplacera l'actuelle une fois confirmée.",
        ),
        "mot-de-passe" => Some("Votre mot de passe est changé. Vos autres sessions ont été fermées."),
        "securite" => Some("Vos réglages de double authentification sont enregistrés."),
        _ => None,
    };
    Ok(MePage {
        layout: Layout::new(&state, &viewer, None, "Mon compte"),
        input: input_of(&user),
        errors: Vec::new(),
        saved,
        email: user.email.clone(),
        mfa: user.totp_secret.is_some(),
        organisation,
        civilities: CIVILITIES,
        professions: PROFESSIONS,
    }
    .into_response())
}

/// The profile form.
#[derive(Deserialize)]
pub struct ProfileForm {
    csrf: String,
    #[serde(flatten)]
    input: ProfileInput,
}

/// `POST /compte/profil`: rectification (GDPR art. 16).
pub async fn profile_submit(
    State(state): State<AppState>,
    viewer: Viewer,
    SignedIn(current): SignedIn,
    Ctx(ctx): Ctx,
    Form(form): Form<ProfileForm>,
) -> Result<Response, AppError> {
    if !token_matches(&form.csrf, &current.session.csrf_token) {
        return Ok(csrf_refused());
    }
    match profile::validate(&form.input) {
        Ok(p) => {
            let user_id = current.user.id;
            state.db.write(move |c| profile::update_profile(c, &ctx, user_id, &p).map_err(AppError::from)).await?;
            Ok(Redirect::to("/compte?fait=profil").into_response())
        }
        Err(errors) => {
            let page = MePage {
                layout: Layout::new(&state, &viewer, None, "Mon compte"),
                input: form.input,
                errors,
                saved: None,
                email: current.user.email.clone(),
                mfa: current.user.totp_secret.is_some(),
                organisation: None,
                civilities: CIVILITIES,
                professions: PROFESSIONS,
            };
            Ok(invalid_form(page))
        }
    }
}

/// The change-of-address page.
#[derive(Template, WebTemplate)]
#[template(path = "account/email.html")]
pub struct EmailPage {
    layout: Layout,
    current: String,
    email: String,
    errors: FieldErrors,
}

impl EmailPage {
    fn err(&self, field: &str) -> Option<String> {
        self.errors.iter().find(|(f, _)| *f == field).map(|(_, m)| m.clone())
    }
}

/// `GET /compte/courriel`.
pub async fn email_form(State(state): State<AppState>, viewer: Viewer, SignedIn(current): SignedIn) -> EmailPage {
    EmailPage {
        layout: Layout::new(&state, &viewer, None, "Changer d'adresse e-mail"),
        current: current.user.email.clone(),
        email: String::new(),
        errors: Vec::new(),
    }
}

/// The change-of-address form.
#[derive(Deserialize)]
pub struct EmailForm {
    csrf: String,
    email: String,
    password: String,
}

/// `POST /compte/courriel`.
pub async fn email_submit(
    State(state): State<AppState>,
    viewer: Viewer,
    SignedIn(current): SignedIn,
    Ctx(ctx): Ctx,
    Form(form): Form<EmailForm>,
) -> Result<Response, AppError> {
    if !token_matches(&form.csrf, &current.session.csrf_token) {
        return Ok(csrf_refused());
    }
    let links = links(&state);
    let user = current.user.clone();
    let (email, password) = (form.email.clone(), form.password);
    let result = state
        .db
        .run(move |c| accounts::request_email_change(c, &ctx, &links, &user, &email, &password).map_err(AppError::from))
        .await?;
    let errors = match result {
        Ok(()) => return Ok(Redirect::to("/compte?fait=courriel").into_response()),
        Err(EmailChangeError::WrongPassword) => vec![("password", "Le mot de passe est incorrect.".to_owned())],
        Err(EmailChangeError::Email(m)) => vec![("email", m)],
    };
    let page = EmailPage {
        layout: Layout::new(&state, &viewer, None, "Changer d'adresse e-mail"),
        current: current.user.email.clone(),
        email: form.email.chars().take(254).collect(),
        errors,
    };
    Ok(invalid_form(page))
}

/// `GET /compte/courriel/confirmation?jeton=…`: a button that confirms the new address.
pub async fn email_confirm_page(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    Query(q): Query<TokenQuery>,
) -> Response {
    let (csrf, set) = form_csrf(&headers);
    let page = ConfirmLinkPage::new(
        &state,
        &viewer,
        "Confirmer votre nouvelle adresse e-mail",
        "Confirmez que cette adresse est bien la vôtre : elle deviendra celle de votre compte.",
        "/compte/courriel/confirmation",
        "Confirmer la nouvelle adresse",
        q.token(),
        csrf,
    );
    super::register::link_page(with_csrf_cookie(page.into_response(), set))
}

/// `POST /compte/courriel/confirmation`.
pub async fn email_confirm_submit(
    State(state): State<AppState>,
    viewer: Viewer,
    Ctx(ctx): Ctx,
    headers: HeaderMap,
    Form(form): Form<TokenForm>,
) -> Result<Response, AppError> {
    if !form_csrf_ok(&headers, &form.csrf) {
        return Ok(csrf_refused());
    }
    let token = form.jeton;
    let done = state.db.run(move |c| accounts::confirm_email_change(c, &ctx, &token).map_err(AppError::from)).await?;
    let page = if done {
        MessagePage::new(
            &state,
            &viewer,
            "Adresse e-mail changée",
            &["Votre nouvelle adresse est enregistrée : utilisez-la désormais pour vous connecter."],
        )
        .link("/compte", "Mon compte")
    } else {
        MessagePage::new(
            &state,
            &viewer,
            "Ce lien n'est plus valable",
            &["Le lien a déjà été utilisé, a expiré, a été remplacé par un plus récent, ou l'adresse est entre-temps devenue celle d'un autre compte. Vous pouvez refaire la demande depuis Mon compte."],
        )
        .link("/compte/courriel", "Changer d'adresse e-mail")
    };
    Ok(page.into_response())
}

/// The access history.
#[derive(Template, WebTemplate)]
#[template(path = "account/history.html")]
pub struct HistoryPage {
    layout: Layout,
    rows: Vec<(String, HistoryRow)>,
}

/// `GET /compte/historique` (JNL-3, the user's view), itself journaled.
pub async fn history(
    State(state): State<AppState>,
    viewer: Viewer,
    SignedIn(current): SignedIn,
    Ctx(ctx): Ctx,
) -> Result<HistoryPage, AppError> {
    let user = current.user.clone();
    let rows = state.db.write(move |c| accounts::access_history(c, &ctx, &user, 200).map_err(AppError::from)).await?;
    Ok(HistoryPage {
        layout: Layout::new(&state, &viewer, None, "Historique d'accès"),
        rows: rows.into_iter().map(|r| (paris_time(r.at), r)).collect(),
    })
}

/// `GET /compte/export`: everything the portal holds about the account, as a JSON download
/// (GDPR art. 15 and 20), journaled as an export. Reachable while the terms are pending.
pub async fn export(
    State(state): State<AppState>,
    SignedIn(current): SignedIn,
    Ctx(ctx): Ctx,
) -> Result<Response, AppError> {
    let user_id = current.user.id;
    let doc = state
        .db
        .write(move |c| {
            let user = accounts::find_by_id(c, user_id)?.ok_or(AppError::NotFound)?;
            accounts::export_data(c, &ctx, &user).map_err(AppError::from)
        })
        .await?;
    let body = serde_json::to_vec_pretty(&doc).map_err(|e| AppError::Internal(e.into()))?;
    let mut res = body.into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json; charset=utf-8"));
    h.insert(header::CONTENT_DISPOSITION, HeaderValue::from_static("attachment; filename=\"mes-donnees-atomes.json\""));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}

/// The closure page.
#[derive(Template, WebTemplate)]
#[template(path = "account/close.html")]
pub struct ClosePage {
    layout: Layout,
    error: bool,
}

/// `GET /compte/fermeture`.
pub async fn close_form(State(state): State<AppState>, viewer: Viewer, SignedIn(_): SignedIn) -> ClosePage {
    ClosePage { layout: Layout::new(&state, &viewer, None, "Clôturer mon compte"), error: false }
}

/// The closure form.
#[derive(Deserialize)]
pub struct CloseForm {
    csrf: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    confirm: String,
}

/// `POST /compte/fermeture` (ACC-6): asks the password and a ticked box, ends every session.
pub async fn close_submit(
    State(state): State<AppState>,
    viewer: Viewer,
    SignedIn(current): SignedIn,
    Ctx(ctx): Ctx,
    Form(form): Form<CloseForm>,
) -> Result<Response, AppError> {
    if !token_matches(&form.csrf, &current.session.csrf_token) {
        return Ok(csrf_refused());
    }
    let closed = if form.confirm == "oui" {
        let links = links(&state);
        let user = current.user.clone();
        let password = form.password;
        state
            .db
            .run(move |c| accounts::close_account(c, &ctx, &links, &user, &password).map_err(AppError::from))
            .await?
    } else {
        false
    };
    if !closed {
        let page = ClosePage { layout: Layout::new(&state, &viewer, None, "Clôturer mon compte"), error: true };
        return Ok(invalid_form(page));
    }
    let page = MessagePage::new(
        &state,
        &Viewer(None),
        "Votre compte est clôturé",
        &["Votre compte est clôturé et vos sessions sont fermées. Un e-mail de confirmation vous a été envoyé. Merci d'avoir utilisé le service."],
    )
    .link("/", "Retour à l'accueil");
    let mut res = page.into_response();
    res.headers_mut().append(header::SET_COOKIE, clear_cookie(SESSION_COOKIE));
    Ok(res)
}
