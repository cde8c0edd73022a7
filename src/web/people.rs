//! Accounts and organisations managed by others (ACC-4): the back office lists, searches,
//! approves, disables and re-enables accounts and creates organisations; an organisation
//! manager sees and manages the members of their organisation only, and invites new ones.
//! Every object is checked against the acting manager (`accounts::manage::Manager`).

use std::sync::Arc;

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::error::{AppError, invalid_form};
use super::extract::Ctx;
use super::layout::Layout;
use super::register::{MessagePage, TokenQuery, links};
use super::session::{
    AdminUser, CurrentUser, SignedIn, Viewer, csrf_refused, form_csrf, form_csrf_ok, token_matches, with_csrf_cookie,
};
use crate::accounts::manage::{
    self, AccountAction, AccountFilter, AccountRow, Manager, Organisation, OrganisationInput,
};
use crate::accounts::{self, Role, User};
use crate::app::AppState;

const LIST_LIMIT: i64 = 200;

/// A logged-in organisation manager.
pub struct OrgManager(pub Arc<CurrentUser>, pub i64);

impl FromRequestParts<AppState> for OrgManager {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let SignedIn(current) = SignedIn::from_request_parts(parts, state).await?;
        let (Role::OrganisationManager, Some(org)) = (current.user.role(), current.user.organisation_id) else {
            return Err(AppError::Forbidden.into_response());
        };
        // A suspended organisation's managers cannot manage.
        let active = state
            .db
            .run(move |c| manage::organisation_active(c, org).map_err(AppError::from))
            .await
            .map_err(IntoResponse::into_response)?;
        if !active {
            return Err(AppError::Forbidden.into_response());
        }
        Ok(Self(current, org))
    }
}

/// The account list.
#[derive(Template, WebTemplate)]
#[template(path = "admin/accounts.html")]
pub struct AccountsPage {
    layout: Layout,
    base: &'static str,
    filter: AccountFilter,
    rows: Vec<AccountRow>,
    awaiting: i64,
    limit: i64,
    statuses: &'static [(&'static str, &'static str)],
}

const STATUSES: &[(&str, &str)] = &[
    ("", "Tous"),
    ("a-valider", "À valider"),
    ("a-confirmer", "Adresse à confirmer"),
    ("actif", "Actifs"),
    ("desactive", "Désactivés"),
    ("cloture", "Clôturés"),
];

/// `GET /admin/comptes`.
pub async fn accounts(
    State(state): State<AppState>,
    viewer: Viewer,
    AdminUser(admin): AdminUser,
    Ctx(ctx): Ctx,
    Query(filter): Query<AccountFilter>,
) -> Result<AccountsPage, AppError> {
    let manager = Manager::Administrator(admin.user.id);
    let f = filter.clone();
    let (rows, awaiting) = state
        .db
        .write(move |c| {
            let rows = manage::list_accounts(c, &ctx, &manager, &f, LIST_LIMIT)?;
            Ok::<_, AppError>((rows, manage::count_awaiting_approval(c)?))
        })
        .await?;
    Ok(AccountsPage {
        layout: Layout::new(&state, &viewer, None, "Comptes"),
        base: "/admin/comptes",
        filter,
        rows,
        awaiting,
        limit: LIST_LIMIT,
        statuses: STATUSES,
    })
}

/// One account, for a manager.
#[derive(Template, WebTemplate)]
#[template(path = "admin/account.html")]
pub struct AccountPage {
    layout: Layout,
    base: &'static str,
    user: User,
    status: &'static str,
    role: &'static str,
    organisation: Option<String>,
    actions: Vec<(&'static str, &'static str)>,
    is_admin_view: bool,
    organisations: Vec<(i64, String)>,
    message: Option<&'static str>,
    error: Option<&'static str>,
}

impl AccountPage {
    fn is_org(&self, id: impl std::borrow::Borrow<i64>) -> bool {
        self.user.organisation_id == Some(*id.borrow())
    }
}

/// `?fait=` after an action.
#[derive(Deserialize, Default)]
pub struct Done {
    #[serde(default)]
    fait: String,
}

fn done_message(fait: &str) -> Option<&'static str> {
    match fait {
        "valider" => Some("Le compte est validé ; la personne en est informée par e-mail."),
        "desactiver" => Some("Le compte est désactivé ; ses sessions ont été fermées."),
        "reactiver" => Some("Le compte est réactivé."),
        "role" => Some("Le rôle est enregistré ; il s'applique à la prochaine connexion."),
        "invitation" => Some("L'invitation est envoyée."),
        "suspendre" => Some("L'organisation est suspendue : ses responsables ne peuvent plus gérer ses membres."),
        "reactiver-organisation" => Some("L'organisation est réactivée."),
        _ => None,
    }
}

#[allow(clippy::too_many_arguments)]
async fn account_page(
    state: &AppState,
    viewer: &Viewer,
    ctx: crate::journal::AccessContext,
    manager: Manager,
    base: &'static str,
    id: i64,
    message: Option<&'static str>,
    error: Option<&'static str>,
) -> Result<AccountPage, AppError> {
    let is_admin_view = matches!(manager, Manager::Administrator(_));
    let (user, organisations) = state
        .db
        .write(move |c| {
            // A refusal is journaled and committed; the 404 comes after the transaction.
            let user = manage::load_managed(c, &ctx, &manager, id)?;
            let orgs = manage::list_organisations(c)?.into_iter().map(|(o, _)| (o.id, o.name)).collect::<Vec<_>>();
            Ok::<_, AppError>((user, orgs))
        })
        .await?;
    let user = user.ok_or(AppError::NotFound)?;
    let organisation =
        user.organisation_id.and_then(|id| organisations.iter().find(|(i, _)| *i == id).map(|(_, n)| n.clone()));
    let mut actions = Vec::new();
    match (user.status.as_str(), user.email_verified_at.is_some()) {
        ("pending", true) if is_admin_view => actions.push(("valider", "Valider l'inscription")),
        ("active", _) => actions.push(("desactiver", "Désactiver le compte")),
        ("disabled", _) => actions.push(("reactiver", "Réactiver le compte")),
        _ => {}
    }
    Ok(AccountPage {
        layout: Layout::new(state, viewer, None, &user.display_name()),
        base,
        status: manage::status_label(&user.status, user.email_verified_at.is_some()),
        role: manage::role_label(&user.role),
        organisation,
        actions,
        is_admin_view,
        organisations: if is_admin_view { organisations } else { Vec::new() },
        user,
        message,
        error,
    })
}

/// `GET /admin/comptes/{id}`, journaled as a consultation of that account.
pub async fn account(
    State(state): State<AppState>,
    viewer: Viewer,
    AdminUser(admin): AdminUser,
    Ctx(ctx): Ctx,
    Path(id): Path<i64>,
    Query(done): Query<Done>,
) -> Result<AccountPage, AppError> {
    let manager = Manager::Administrator(admin.user.id);
    account_page(&state, &viewer, ctx, manager, "/admin/comptes", id, done_message(&done.fait), None).await
}

/// An action on an account.
#[derive(Deserialize)]
pub struct ActionForm {
    csrf: String,
    action: String,
}

async fn act(
    state: &AppState,
    current: &CurrentUser,
    ctx: crate::journal::AccessContext,
    manager: Manager,
    base: &str,
    id: i64,
    form: ActionForm,
) -> Result<Response, AppError> {
    if !token_matches(&form.csrf, &current.session.csrf_token) {
        return Ok(csrf_refused());
    }
    let action = match form.action.as_str() {
        "valider" => AccountAction::Approve,
        "desactiver" => AccountAction::Disable,
        "reactiver" => AccountAction::Enable,
        _ => return Err(AppError::BadRequest("Action inconnue.".into())),
    };
    let links = links(state);
    let m = manager.clone();
    let exists = state
        .db
        .write(move |c| {
            let target = accounts::find_by_id(c, id)?;
            let allowed = target.as_ref().is_some_and(|t| m.may_manage(t));
            manage::apply(c, &ctx, &links, &m, id, action)?;
            Ok::<_, AppError>(allowed)
        })
        .await?;
    if !exists {
        return Err(AppError::NotFound);
    }
    Ok(Redirect::to(&format!("{base}/{id}?fait={}", form.action)).into_response())
}

/// `POST /admin/comptes/{id}/action`: approve, disable, re-enable.
pub async fn account_action(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    Ctx(ctx): Ctx,
    Path(id): Path<i64>,
    Form(form): Form<ActionForm>,
) -> Result<Response, AppError> {
    let manager = Manager::Administrator(admin.user.id);
    act(&state, &admin, ctx, manager, "/admin/comptes", id, form).await
}

/// The role form.
#[derive(Deserialize)]
pub struct RoleForm {
    csrf: String,
    role: String,
    #[serde(default)]
    organisation_id: String,
}

/// `POST /admin/comptes/{id}/role`.
pub async fn account_role(
    State(state): State<AppState>,
    viewer: Viewer,
    AdminUser(admin): AdminUser,
    Ctx(ctx): Ctx,
    Path(id): Path<i64>,
    Form(form): Form<RoleForm>,
) -> Result<Response, AppError> {
    if !token_matches(&form.csrf, &admin.session.csrf_token) {
        return Ok(csrf_refused());
    }
    let role = match form.role.as_str() {
        "professional" => Role::Professional,
        "organisation_manager" => Role::OrganisationManager,
        "administrator" => Role::Administrator,
        _ => return Err(AppError::BadRequest("Rôle inconnu.".into())),
    };
    let org = match form.organisation_id.trim() {
        "" => None,
        s => Some(s.parse::<i64>().map_err(|_| AppError::BadRequest("Organisation inconnue.".into()))?),
    };
    let manager = Manager::Administrator(admin.user.id);
    let m = manager.clone();
    let c2 = ctx.clone();
    let result = state.db.write(move |c| manage::set_role(c, &c2, &m, id, role, org).map_err(AppError::from)).await?;
    match result {
        Ok(()) => Ok(Redirect::to(&format!("/admin/comptes/{id}?fait=role")).into_response()),
        Err(e) => {
            let page = account_page(&state, &viewer, ctx, manager, "/admin/comptes", id, None, Some(e)).await?;
            Ok(invalid_form(page))
        }
    }
}

/// The organisation list.
#[derive(Template, WebTemplate)]
#[template(path = "admin/organisations.html")]
pub struct OrganisationsPage {
    layout: Layout,
    orgs: Vec<(Organisation, i64)>,
    q: String,
    input: OrganisationInput,
    errors: Vec<(&'static str, String)>,
}

impl OrganisationsPage {
    fn err(&self, field: &str) -> Option<String> {
        self.errors.iter().find(|(f, _)| *f == field).map(|(_, m)| m.clone())
    }
}

/// `?q=` of the organisation list.
#[derive(Deserialize, Default)]
pub struct OrgSearch {
    #[serde(default)]
    q: String,
}

/// `GET /admin/organisations`.
pub async fn organisations(
    State(state): State<AppState>,
    viewer: Viewer,
    _admin: AdminUser,
    Query(search): Query<OrgSearch>,
) -> Result<OrganisationsPage, AppError> {
    let q: String = search.q.chars().take(200).collect();
    let q2 = q.clone();
    let orgs = state.db.run(move |c| manage::search_organisations(c, &q2).map_err(AppError::from)).await?;
    Ok(OrganisationsPage {
        layout: Layout::new(&state, &viewer, None, "Organisations"),
        orgs,
        q,
        input: OrganisationInput::default(),
        errors: Vec::new(),
    })
}

/// The suspend/restore form.
#[derive(Deserialize)]
pub struct OrgStatusForm {
    csrf: String,
    action: String,
}

/// `POST /admin/organisations/{id}/statut`: suspends or restores an organisation.
pub async fn organisation_status(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    Ctx(ctx): Ctx,
    Path(id): Path<i64>,
    Form(form): Form<OrgStatusForm>,
) -> Result<Response, AppError> {
    if !token_matches(&form.csrf, &admin.session.csrf_token) {
        return Ok(csrf_refused());
    }
    let active = match form.action.as_str() {
        "suspendre" => false,
        "reactiver" => true,
        _ => return Err(AppError::BadRequest("Action inconnue.".into())),
    };
    let exists = state
        .db
        .write(move |c| {
            let exists = manage::find_organisation(c, id)?.is_some();
            manage::set_organisation_active(c, &ctx, id, active)?;
            Ok::<_, AppError>(exists)
        })
        .await?;
    if !exists {
        return Err(AppError::NotFound);
    }
    let done = if active { "reactiver-organisation" } else { "suspendre" };
    Ok(Redirect::to(&format!("/admin/organisations/{id}?fait={done}")).into_response())
}

/// The organisation form.
#[derive(Deserialize)]
pub struct OrganisationForm {
    csrf: String,
    #[serde(flatten)]
    input: OrganisationInput,
}

/// `POST /admin/organisations`.
pub async fn organisation_create(
    State(state): State<AppState>,
    viewer: Viewer,
    AdminUser(admin): AdminUser,
    Ctx(ctx): Ctx,
    Form(form): Form<OrganisationForm>,
) -> Result<Response, AppError> {
    if !token_matches(&form.csrf, &admin.session.csrf_token) {
        return Ok(csrf_refused());
    }
    let input = form.input.clone();
    let result = state.db.write(move |c| manage::create_organisation(c, &ctx, &input).map_err(AppError::from)).await?;
    match result {
        Ok(id) => Ok(Redirect::to(&format!("/admin/organisations/{id}")).into_response()),
        Err(errors) => {
            let orgs = state.db.run(|c| manage::list_organisations(c).map_err(AppError::from)).await?;
            let layout = Layout::new(&state, &viewer, None, "Organisations");
            Ok(invalid_form(OrganisationsPage { layout, orgs, q: String::new(), input: form.input, errors }))
        }
    }
}

/// An invitation form.
#[derive(Deserialize, Default, Clone)]
pub struct InviteInput {
    #[serde(default)]
    given_name: String,
    #[serde(default)]
    family_name: String,
    #[serde(default)]
    email: String,
}

/// An organisation, its members and the invitation form.
#[derive(Template, WebTemplate)]
#[template(path = "org/organisation.html")]
pub struct OrganisationPage {
    layout: Layout,
    org: Organisation,
    members: Vec<AccountRow>,
    me: i64,
    member_base: String,
    invite_action: String,
    is_admin_view: bool,
    input: InviteInput,
    errors: Vec<(&'static str, String)>,
    message: Option<&'static str>,
}

impl OrganisationPage {
    fn err(&self, field: &str) -> Option<String> {
        self.errors.iter().find(|(f, _)| *f == field).map(|(_, m)| m.clone())
    }
}

#[allow(clippy::too_many_arguments)]
async fn organisation_page(
    state: &AppState,
    viewer: &Viewer,
    ctx: crate::journal::AccessContext,
    manager: Manager,
    org_id: i64,
    me: i64,
    input: InviteInput,
    errors: Vec<(&'static str, String)>,
    message: Option<&'static str>,
) -> Result<OrganisationPage, AppError> {
    let admin = matches!(manager, Manager::Administrator(_));
    let filter = AccountFilter::default();
    let (org, members) = state
        .db
        .write(move |c| {
            let org = manage::find_organisation(c, org_id)?.ok_or(AppError::NotFound)?;
            let scope = Manager::Organisation { user_id: me, organisation_id: org_id };
            let members = manage::list_accounts(c, &ctx, &scope, &filter, 1000)?;
            let _ = manager;
            Ok::<_, AppError>((org, members))
        })
        .await?;
    let (member_base, invite_action) = if admin {
        ("/admin/comptes".to_owned(), format!("/admin/organisations/{org_id}/invitations"))
    } else {
        ("/organisation/membres".to_owned(), "/organisation/invitations".to_owned())
    };
    Ok(OrganisationPage {
        layout: Layout::new(state, viewer, None, &org.name),
        org,
        members,
        me,
        member_base,
        invite_action,
        is_admin_view: admin,
        input,
        errors,
        message,
    })
}

/// `GET /admin/organisations/{id}`.
pub async fn organisation(
    State(state): State<AppState>,
    viewer: Viewer,
    AdminUser(admin): AdminUser,
    Ctx(ctx): Ctx,
    Path(id): Path<i64>,
    Query(done): Query<Done>,
) -> Result<OrganisationPage, AppError> {
    let manager = Manager::Administrator(admin.user.id);
    let msg = done_message(&done.fait);
    organisation_page(&state, &viewer, ctx, manager, id, admin.user.id, InviteInput::default(), Vec::new(), msg).await
}

/// `GET /organisation`: the manager's own organisation.
pub async fn my_organisation(
    State(state): State<AppState>,
    viewer: Viewer,
    OrgManager(current, org): OrgManager,
    Ctx(ctx): Ctx,
    Query(done): Query<Done>,
) -> Result<OrganisationPage, AppError> {
    let manager = Manager::Organisation { user_id: current.user.id, organisation_id: org };
    let msg = done_message(&done.fait);
    organisation_page(&state, &viewer, ctx, manager, org, current.user.id, InviteInput::default(), Vec::new(), msg)
        .await
}

/// The invitation form with its token.
#[derive(Deserialize)]
pub struct InviteForm {
    csrf: String,
    #[serde(flatten)]
    input: InviteInput,
}

async fn invite(
    state: &AppState,
    viewer: &Viewer,
    current: &CurrentUser,
    ctx: crate::journal::AccessContext,
    org_id: i64,
    form: InviteForm,
    back: String,
) -> Result<Response, AppError> {
    if !token_matches(&form.csrf, &current.session.csrf_token) {
        return Ok(csrf_refused());
    }
    let links = links(state);
    let inviter = current.user.clone();
    let input = form.input.clone();
    let c2 = ctx.clone();
    let result = state
        .db
        .write(move |c| {
            let invitee =
                manage::Invitee { email: &input.email, given_name: &input.given_name, family_name: &input.family_name };
            manage::invite(c, &c2, &links, &inviter, org_id, &invitee).map_err(AppError::from)
        })
        .await?;
    match result {
        Ok(_) => Ok(Redirect::to(&back).into_response()),
        Err(errors) => {
            let manager = Manager::of(&current.user).ok_or(AppError::Forbidden)?;
            let page =
                organisation_page(state, viewer, ctx, manager, org_id, current.user.id, form.input, errors, None)
                    .await?;
            Ok(invalid_form(page))
        }
    }
}

/// `POST /admin/organisations/{id}/invitations`.
pub async fn admin_invite(
    State(state): State<AppState>,
    viewer: Viewer,
    AdminUser(admin): AdminUser,
    Ctx(ctx): Ctx,
    Path(id): Path<i64>,
    Form(form): Form<InviteForm>,
) -> Result<Response, AppError> {
    invite(&state, &viewer, &admin, ctx, id, form, format!("/admin/organisations/{id}?fait=invitation")).await
}

/// `POST /organisation/invitations`.
pub async fn manager_invite(
    State(state): State<AppState>,
    viewer: Viewer,
    OrgManager(current, org): OrgManager,
    Ctx(ctx): Ctx,
    Form(form): Form<InviteForm>,
) -> Result<Response, AppError> {
    invite(&state, &viewer, &current, ctx, org, form, "/organisation?fait=invitation".to_owned()).await
}

/// `GET /organisation/membres/{id}`: a member, for their manager (404 for anyone else's).
pub async fn member(
    State(state): State<AppState>,
    viewer: Viewer,
    OrgManager(current, org): OrgManager,
    Ctx(ctx): Ctx,
    Path(id): Path<i64>,
    Query(done): Query<Done>,
) -> Result<AccountPage, AppError> {
    let manager = Manager::Organisation { user_id: current.user.id, organisation_id: org };
    account_page(&state, &viewer, ctx, manager, "/organisation/membres", id, done_message(&done.fait), None).await
}

/// `POST /organisation/membres/{id}/action`: disable or re-enable a member.
pub async fn member_action(
    State(state): State<AppState>,
    OrgManager(current, org): OrgManager,
    Ctx(ctx): Ctx,
    Path(id): Path<i64>,
    Form(form): Form<ActionForm>,
) -> Result<Response, AppError> {
    let manager = Manager::Organisation { user_id: current.user.id, organisation_id: org };
    act(&state, &current, ctx, manager, "/organisation/membres", id, form).await
}

/// `GET /invitation?jeton=…`: the invited person chooses a password.
pub async fn invitation_form(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    Query(q): Query<TokenQuery>,
) -> Result<Response, AppError> {
    let token = q.token();
    let now = state.clock.now_naive();
    let t = token.clone();
    let valid = state
        .db
        .run(move |c| accounts::tokens::peek(c, &t, accounts::tokens::Purpose::Invitation, now).map_err(AppError::from))
        .await?
        .is_some();
    if !valid {
        return Ok(MessagePage::new(
            &state,
            &viewer,
            "Ce lien n'est plus valable",
            &["L'invitation a déjà été utilisée ou a expiré. Demandez au responsable de votre organisation de vous inviter à nouveau."],
        )
        .into_response());
    }
    let (csrf, set) = form_csrf(&headers);
    let page =
        super::register::reset_like_page(&state, &viewer, "/invitation", "Activer mon compte", csrf, token, Vec::new());
    Ok(super::register::link_page(with_csrf_cookie(page.into_response(), set)))
}

/// The invitation's password form.
#[derive(Deserialize)]
pub struct InvitationForm {
    csrf: String,
    jeton: String,
    password: String,
    confirm: String,
}

/// `POST /invitation`: the account becomes active with the chosen password.
pub async fn invitation_submit(
    State(state): State<AppState>,
    viewer: Viewer,
    Ctx(ctx): Ctx,
    headers: HeaderMap,
    Form(form): Form<InvitationForm>,
) -> Result<Response, AppError> {
    if !form_csrf_ok(&headers, &form.csrf) {
        return Ok(csrf_refused());
    }
    let now = state.clock.now_naive();
    let token = form.jeton.clone();
    let (password, confirm) = (form.password.clone(), form.confirm.clone());
    let outcome = state
        .db
        .run(move |c| {
            let Some(grant) = accounts::tokens::peek(c, &token, accounts::tokens::Purpose::Invitation, now)? else {
                return Ok::<_, AppError>(Err(None));
            };
            let user = accounts::find_by_id(c, grant.user_id)?.ok_or(AppError::NotFound)?;
            if password != confirm {
                return Ok(Err(Some(("confirm", "Les deux saisies du mot de passe sont différentes.".to_owned()))));
            }
            if let Some(p) =
                accounts::password_problem(&password, &user.email_canonical, &user.given_name, &user.family_name)
            {
                return Ok(Err(Some(("password", p))));
            }
            let hash = accounts::hash_password(&password)?;
            let ok = crate::db::write_tx(c, |c| manage::accept_invitation(c, &ctx, &token, &hash))?;
            Ok(if ok { Ok(()) } else { Err(None) })
        })
        .await?;
    match outcome {
        Ok(()) => Ok(MessagePage::new(&state, &viewer, "Compte activé", &["Votre compte est actif : vous pouvez vous connecter avec votre adresse e-mail et le mot de passe choisi."])
            .link("/connexion", "Se connecter")
            .into_response()),
        Err(None) => Ok(MessagePage::new(
            &state,
            &viewer,
            "Ce lien n'est plus valable",
            &["L'invitation a déjà été utilisée ou a expiré. Demandez au responsable de votre organisation de vous inviter à nouveau."],
        )
        .into_response()),
        Err(Some(error)) => {
            let page = super::register::reset_like_page(&state, &viewer, "/invitation", "Activer mon compte", form.csrf, form.jeton, vec![error]);
            Ok(invalid_form(page))
        }
    }
}
