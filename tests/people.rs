//! Accounts managed by others (ACC-4, ACC-5; SECURITY-TESTS T7, T9, T10, T11): approval,
//! suspension, roles, organisations, invitations, and nobody reaching an account that is not
//! theirs to manage.

use atomes::accounts::{self, Role};
use atomes::db::schema::{mail_outbox, users};
use atomes::journal;
use axum::http::StatusCode;
use diesel::prelude::*;

use crate::support::TestApp;

const PASSWORD: &str = "une phrase de passe solide";

fn last_entry(app: &TestApp) -> journal::JournalEntry {
    let mut conn = app.conn();
    let n = journal::count(&mut conn).unwrap();
    journal::list_after(&mut conn, n - 1, 1).unwrap().remove(0)
}

fn last_mail(app: &TestApp, to: &str) -> Option<(String, String)> {
    mail_outbox::table
        .filter(mail_outbox::recipient.eq(to))
        .order(mail_outbox::id.desc())
        .select((mail_outbox::subject, mail_outbox::body_text))
        .first(&mut *app.conn())
        .optional()
        .unwrap()
}

fn set(app: &TestApp, id: i64, status: &str, verified: bool, org: Option<i64>, role: &str) {
    let now = app.clock_now();
    diesel::update(users::table.find(id))
        .set((
            users::status.eq(status),
            users::email_verified_at.eq(verified.then_some(now)),
            users::organisation_id.eq(org),
            users::role.eq(role),
        ))
        .execute(&mut *app.conn())
        .unwrap();
}

fn org(app: &TestApp, name: &str) -> i64 {
    let ctx = app.state.system_context();
    let input = accounts::manage::OrganisationInput { name: name.into(), ..Default::default() };
    atomes::db::write_tx(&mut app.conn(), |c| accounts::manage::create_organisation(c, &ctx, &input)).unwrap().unwrap()
}

#[tokio::test]
async fn an_administrator_approves_disables_and_reenables() {
    let app = TestApp::new();
    let admin = app.create_user("admin@dac.example", PASSWORD, Role::Administrator, false);
    let pro = app.create_user("helene@example.org", PASSWORD, Role::Professional, false);
    set(&app, pro.id, "pending", true, None, "professional");
    let cookie = app.login("admin@dac.example", PASSWORD).await;
    let list = app.get_with("/admin/comptes?statut=a-valider", &cookie).await;
    assert_eq!(list.status, StatusCode::OK);
    assert_eq!(list.count("tbody tr"), 1);
    let e = last_entry(&app);
    assert_eq!((e.action.as_str(), e.object_type.as_str(), e.actor_id), ("consultation", "user", Some(admin.id)));
    let page = app.get_with(&format!("/admin/comptes/{}", pro.id), &cookie).await;
    assert_eq!(last_entry(&app).object_id, Some(pro.id.to_string()));
    let csrf = page.csrf_field();
    let path = format!("/admin/comptes/{}/action", pro.id);
    let r = app.post_form(&path, &[("csrf", &csrf), ("action", "valider")], &cookie).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(last_mail(&app, "helene@example.org").unwrap().0.contains("activé"));
    let e = last_entry(&app);
    assert_eq!(
        (e.action.as_str(), e.object_id.clone(), e.outcome.as_str()),
        ("modification", Some(pro.id.to_string()), "success")
    );
    // Active: the professional logs in; disabling ends the session at once (T7).
    let pro_cookie = app.login("helene@example.org", PASSWORD).await;
    assert_eq!(app.get_with("/compte", &pro_cookie).await.status, StatusCode::OK);
    app.post_form(&path, &[("csrf", &csrf), ("action", "desactiver")], &cookie).await;
    assert_eq!(app.get_with("/compte", &pro_cookie).await.header("location"), "/connexion");
    assert!(app.try_login("helene@example.org", PASSWORD).await.session_token().is_none());
    app.post_form(&path, &[("csrf", &csrf), ("action", "reactiver")], &cookie).await;
    assert!(app.try_login("helene@example.org", PASSWORD).await.session_token().is_some());
    // CSRF (T11): without the token, nothing changes and nothing is journaled.
    let before = journal::count(&mut app.conn()).unwrap();
    let r = app.post_form(&path, &[("csrf", "00"), ("action", "desactiver")], &cookie).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(journal::count(&mut app.conn()).unwrap(), before);
    assert_eq!(accounts::find_by_id(&mut app.conn(), pro.id).unwrap().unwrap().status, "active");
}

#[tokio::test]
async fn the_back_office_is_closed_to_everyone_else() {
    let app = TestApp::new();
    let pro = app.create_user("helene@example.org", PASSWORD, Role::Professional, false);
    let cookie = app.login("helene@example.org", PASSWORD).await;
    let get_routes = [
        "/admin",
        "/admin/comptes",
        &format!("/admin/comptes/{}", pro.id),
        "/admin/organisations",
        "/admin/organisations/1",
        "/admin/courriels",
        "/organisation",
        "/organisation/membres/1",
    ];
    let mut leaks = 0;
    for path in get_routes {
        let anonymous = app.get(path).await;
        let professional = app.get_with(path, &cookie).await;
        leaks += usize::from(anonymous.status.is_success()) + usize::from(professional.status.is_success());
        assert_eq!(anonymous.header("location"), "/connexion", "{path}");
        assert_eq!(professional.status, StatusCode::FORBIDDEN, "{path}");
    }
    let csrf = app.get_with("/compte", &cookie).await.csrf_field();
    for path in [
        format!("/admin/comptes/{}/action", pro.id),
        format!("/admin/comptes/{}/role", pro.id),
        "/admin/organisations".into(),
        "/organisation/invitations".into(),
    ] {
        let r = app
            .post_form(
                &path,
                &[
                    ("csrf", &csrf),
                    ("action", "valider"),
                    ("role", "administrator"),
                    ("name", "x"),
                    ("email", "x@example.org"),
                    ("given_name", "x"),
                    ("family_name", "x"),
                ],
                &cookie,
            )
            .await;
        leaks += usize::from(r.status.is_success() || r.status.is_redirection());
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{path}");
    }
    assert_eq!(leaks, 0);
    assert_eq!(accounts::find_by_id(&mut app.conn(), pro.id).unwrap().unwrap().role, "professional");
}

#[tokio::test]
async fn a_manager_manages_their_members_and_nobody_else() {
    let app = TestApp::new();
    let (a, b) = (org(&app, "Centre de santé A"), org(&app, "Centre de santé B"));
    let manager = app.create_user("responsable@a.example", PASSWORD, Role::Professional, false);
    set(&app, manager.id, "active", true, Some(a), "organisation_manager");
    let member = app.create_user("membre@a.example", PASSWORD, Role::Professional, false);
    set(&app, member.id, "active", true, Some(a), "professional");
    let stranger = app.create_user("autre@b.example", PASSWORD, Role::Professional, false);
    set(&app, stranger.id, "active", true, Some(b), "professional");
    let admin = app.create_user("admin@dac.example", PASSWORD, Role::Administrator, false);
    set(&app, admin.id, "active", true, Some(a), "administrator");

    let cookie = app.login("responsable@a.example", PASSWORD).await;
    let page = app.get_with("/organisation", &cookie).await;
    assert_eq!(page.status, StatusCode::OK);
    let rows = page.texts("tbody tr");
    assert!(rows.iter().any(|r| r.contains("membre@a.example")));
    assert!(!rows.iter().any(|r| r.contains("autre@b.example")));
    let csrf = page.csrf_field();
    // T9: another organisation's member, an administrator, oneself: 404, and the refusal journaled.
    for id in [stranger.id, admin.id] {
        let r = app.get_with(&format!("/organisation/membres/{id}"), &cookie).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
        let e = last_entry(&app);
        assert_eq!((e.outcome.as_str(), e.object_id.clone()), ("denied", Some(id.to_string())));
        let r = app
            .post_form(
                &format!("/organisation/membres/{id}/action"),
                &[("csrf", &csrf), ("action", "desactiver")],
                &cookie,
            )
            .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
        assert_eq!(accounts::find_by_id(&mut app.conn(), id).unwrap().unwrap().status, "active");
    }
    // Their own member: disabled, then re-enabled.
    let path = format!("/organisation/membres/{}/action", member.id);
    let r = app.post_form(&path, &[("csrf", &csrf), ("action", "desactiver")], &cookie).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(accounts::find_by_id(&mut app.conn(), member.id).unwrap().unwrap().status, "disabled");
    let e = last_entry(&app);
    assert_eq!((e.actor_role.as_str(), e.actor_id), ("organisation_manager", Some(manager.id)));
    // A manager cannot approve (administrators only).
    app.post_form(&path, &[("csrf", &csrf), ("action", "reactiver")], &cookie).await;
    assert_eq!(accounts::find_by_id(&mut app.conn(), member.id).unwrap().unwrap().status, "active");

    // Invitation: the member sets a password from the link and is active at once.
    let r = app
        .post_form(
            "/organisation/invitations",
            &[("csrf", &csrf), ("given_name", "Nora"), ("family_name", "Benali"), ("email", "nora@a.example")],
            &cookie,
        )
        .await;
    assert_eq!(r.header("location"), "/organisation?fait=invitation");
    let r = app
        .post_form(
            "/organisation/invitations",
            &[("csrf", &csrf), ("given_name", "Nora"), ("family_name", "Benali"), ("email", "NORA@a.example")],
            &cookie,
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "an address already in use is refused");
    let (_, body) = last_mail(&app, "nora@a.example").unwrap();
    let start = body.find("/invitation?jeton=").unwrap();
    let token: String = body[start + 18..].chars().take_while(char::is_ascii_hexdigit).collect();
    let page = app.get(&format!("/invitation?jeton={token}")).await;
    assert_eq!(page.status, StatusCode::OK);
    let form_csrf = app.login_csrf().await;
    let r = app
        .post_form(
            "/invitation",
            &[
                ("csrf", &form_csrf),
                ("jeton", &token),
                ("password", "la phrase de Nora"),
                ("confirm", "la phrase de Nora"),
            ],
            &format!("__Host-atomes_csrf={form_csrf}"),
        )
        .await;
    assert_eq!(r.texts("h1"), vec!["Compte activé"]);
    let cookie_nora = app.login("nora@a.example", "la phrase de Nora").await;
    // Like every new account, Nora accepts the terms before anything else.
    assert!(app.get_with("/compte", &cookie_nora).await.header("location").starts_with("/conditions"));
    let nora = accounts::find_by_email(&mut app.conn(), "nora@a.example").unwrap().unwrap();
    app.accept_current_terms(nora.id);
    let me = app.get_with("/compte", &cookie_nora).await;
    assert!(me.body.contains("Centre de santé A"));
}

#[tokio::test]
async fn a_role_change_ends_the_sessions_of_the_account() {
    let app = TestApp::new();
    let a = org(&app, "Centre de santé A");
    app.create_user("admin@dac.example", PASSWORD, Role::Administrator, false);
    let pro = app.create_user("helene@example.org", PASSWORD, Role::Professional, false);
    let pro_cookie = app.login("helene@example.org", PASSWORD).await;
    let cookie = app.login("admin@dac.example", PASSWORD).await;
    let csrf = app.get_with("/admin/comptes", &cookie).await.csrf_field();
    let path = format!("/admin/comptes/{}/role", pro.id);
    let r = app
        .post_form(&path, &[("csrf", &csrf), ("role", "organisation_manager"), ("organisation_id", "")], &cookie)
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "a manager needs an organisation");
    let r = app
        .post_form(
            &path,
            &[("csrf", &csrf), ("role", "organisation_manager"), ("organisation_id", &a.to_string())],
            &cookie,
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(app.get_with("/compte", &pro_cookie).await.header("location"), "/connexion");
    let new_cookie = app.login("helene@example.org", PASSWORD).await;
    assert_eq!(app.get_with("/organisation", &new_cookie).await.status, StatusCode::OK);
}

#[tokio::test]
async fn organisations_are_checked_before_creation() {
    let app = TestApp::new();
    app.create_user("admin@dac.example", PASSWORD, Role::Administrator, false);
    let cookie = app.login("admin@dac.example", PASSWORD).await;
    let csrf = app.get_with("/admin/organisations", &cookie).await.csrf_field();
    let r = app
        .post_form("/admin/organisations", &[("csrf", &csrf), ("name", ""), ("siret", "12345678901234")], &cookie)
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.count("#erreurs li"), 2);
    let r = app
        .post_form(
            "/admin/organisations",
            &[("csrf", &csrf), ("name", "Maison de santé"), ("siret", "732 829 320 00074")],
            &cookie,
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let e = last_entry(&app);
    assert_eq!((e.action.as_str(), e.object_type.as_str()), ("creation", "organisation"));
    let r = app
        .post_form(
            "/admin/organisations",
            &[("csrf", &csrf), ("name", "Doublon"), ("siret", "73282932000074")],
            &cookie,
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn a_suspended_organisation_cannot_be_managed_and_the_list_is_searchable() {
    let app = TestApp::new();
    let a = org(&app, "Centre de santé des Agnettes");
    org(&app, "Maison de santé du Luth");
    let manager = app.create_user("responsable@a.example", PASSWORD, Role::Professional, false);
    set(&app, manager.id, "active", true, Some(a), "organisation_manager");
    app.create_user("admin@dac.example", PASSWORD, Role::Administrator, false);
    let admin = app.login("admin@dac.example", PASSWORD).await;
    let list = app.get_with("/admin/organisations?q=agnettes", &admin).await;
    assert_eq!(list.count("tbody tr"), 1);
    let csrf = app.get_with(&format!("/admin/organisations/{a}"), &admin).await.csrf_field();
    let r = app
        .post_form(&format!("/admin/organisations/{a}/statut"), &[("csrf", &csrf), ("action", "suspendre")], &admin)
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let e = last_entry(&app);
    assert_eq!((e.action.as_str(), e.object_type.as_str()), ("modification", "organisation"));
    let cookie = app.login("responsable@a.example", PASSWORD).await;
    assert_eq!(app.get_with("/organisation", &cookie).await.status, StatusCode::FORBIDDEN);
    app.post_form(&format!("/admin/organisations/{a}/statut"), &[("csrf", &csrf), ("action", "reactiver")], &admin)
        .await;
    assert_eq!(app.get_with("/organisation", &cookie).await.status, StatusCode::OK);
}
