//! Every URL of the portal, grouped by audience.

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};

use super::{
    account, admin, assets, directory, documents, fhir, health, imports, local_entries, me, mfa, openapi, pages,
    people, register, reports, sheet, terms,
};
use crate::app::AppState;
use crate::terms::LegalDoc;

/// The public router (the metrics listener has its own, see [`metrics_router`]).
pub fn routes() -> Router<AppState> {
    Router::new()
        .merge(public())
        .merge(account())
        .merge(professional())
        .merge(admin())
        .merge(operations())
        .nest("/api", api())
        .nest("/fhir", fhir())
}

/// Visitors: home, services (the directory, its sheets and their error reports: DIR-1, DIR-2,
/// DIR-5; what a sheet shows depends on who asks, DIR-4), legal pages (CGU-1: always
/// consultable), static files.
fn public() -> Router<AppState> {
    Router::new()
        .route("/", get(pages::home))
        .route("/annuaire", get(directory::search_page))
        .route("/annuaire/export.csv", get(directory::export_csv))
        .route("/annuaire/{id}", get(sheet::show))
        .route("/annuaire/{id}/signaler", get(sheet::report_form).post(sheet::report_submit))
        .route("/actualites", pages::soon_route("actualites"))
        .route("/evenements", pages::soon_route("evenements"))
        .route("/adhesion", pages::soon_route("adhesion"))
        .route("/contact", pages::soon_route("contact"))
        .route("/cgu", terms::current_route(LegalDoc::Terms))
        .route("/cgu/versions/{version}", terms::version_route(LegalDoc::Terms))
        .route("/donnees-personnelles", terms::current_route(LegalDoc::Privacy))
        .route("/donnees-personnelles/versions/{version}", terms::version_route(LegalDoc::Privacy))
        .route("/mentions-legales", terms::current_route(LegalDoc::LegalNotice))
        .route("/mentions-legales/versions/{version}", terms::version_route(LegalDoc::LegalNotice))
        .route("/accessibilite", get(pages::accessibility))
        .route("/static/{hash}/{name}", get(assets::serve))
}

/// Login, logout, registration, links from e-mails, "Mon compte".
fn account() -> Router<AppState> {
    Router::new()
        .route("/connexion", get(account::login_page).post(account::login_submit))
        .route("/deconnexion", post(account::logout))
        .route("/compte/mot-de-passe", get(account::password_page).post(account::password_submit))
        .route("/inscription", get(register::register_form).post(register::register_submit))
        .route("/compte/verification", get(register::verify_page).post(register::verify_submit))
        .route("/mot-de-passe-oublie", get(register::forgot_form).post(register::forgot_submit))
        .route("/mot-de-passe/nouveau", get(register::reset_form).post(register::reset_submit))
        .route("/compte", get(me::me))
        .route("/compte/profil", post(me::profile_submit))
        .route("/compte/courriel", get(me::email_form).post(me::email_submit))
        .route("/compte/courriel/confirmation", get(me::email_confirm_page).post(me::email_confirm_submit))
        .route("/compte/historique", get(me::history))
        .route("/compte/export", get(me::export))
        .route("/compte/fermeture", get(me::close_form).post(me::close_submit))
        .route("/connexion/second-facteur", get(mfa::second_factor_page).post(mfa::second_factor_submit))
        .route("/compte/securite", get(mfa::security))
        .route("/compte/securite/commencer", post(mfa::begin))
        .route("/compte/securite/activer", post(mfa::activate))
        .route("/compte/securite/codes", post(mfa::new_codes))
        .route("/compte/securite/desactiver", post(mfa::deactivate))
        .route("/invitation", get(people::invitation_form).post(people::invitation_submit))
        .route("/organisation", get(people::my_organisation))
        .route("/organisation/invitations", post(people::manager_invite))
        .route("/organisation/membres/{id}", get(people::member))
        .route("/organisation/membres/{id}/action", post(people::member_action))
}

/// Logged-in professionals: accepting the terms (CGU-2; every other page waits for it, see
/// `terms::gate`), the complementary conditions of features (CGU-3), and the features.
fn professional() -> Router<AppState> {
    Router::new()
        .route("/conditions", get(terms::conditions_page))
        .route("/conditions/accepter", post(terms::accept_terms))
        .route("/conditions/refuser", post(terms::refuse_terms))
        .route("/conditions/fonction/{key}", get(terms::feature_page))
        .route("/conditions/fonction/{key}/accepter", post(terms::accept_feature))
        .route("/applications", get(pages::applications))
}

/// The back office: administrators only (the `AdminUser` extractor on every handler).
fn admin() -> Router<AppState> {
    Router::new()
        .route("/admin", get(admin::dashboard))
        .route("/admin/courriels", get(admin::outbox))
        .route("/admin/courriels/{id}", get(admin::mail))
        .route("/admin/comptes", get(people::accounts))
        .route("/admin/comptes/{id}", get(people::account))
        .route("/admin/comptes/{id}/action", post(people::account_action))
        .route("/admin/comptes/{id}/role", post(people::account_role))
        .route("/admin/organisations", get(people::organisations).post(people::organisation_create))
        .route("/admin/organisations/{id}", get(people::organisation))
        .route("/admin/organisations/{id}/invitations", post(people::admin_invite))
        .route("/admin/organisations/{id}/statut", post(people::organisation_status))
        .route("/admin/documents", get(documents::list))
        .route("/admin/documents/nouveau", get(documents::new_form).post(documents::create))
        .route("/admin/documents/{id}", get(documents::show).post(documents::update))
        .route("/admin/documents/{id}/publier", get(documents::confirm_publish).post(documents::publish))
        .route("/admin/documents/{id}/supprimer", post(documents::delete))
        .route("/admin/signalements", get(reports::list))
        .route("/admin/signalements/{id}", post(reports::handle))
        .route("/admin/annuaire/entrees", get(local_entries::list))
        .route("/admin/annuaire/entrees/nouvelle", get(local_entries::new_form).post(local_entries::create))
        .route("/admin/annuaire/entrees/{id}", get(local_entries::edit_form).post(local_entries::update))
        .route("/admin/annuaire/entrees/{id}/statut", post(local_entries::set_status))
        // The upload streams its file: no default body limit here (see `middleware::body_limit`).
        .route("/admin/annuaire/imports", get(imports::list).post(imports::upload).layer(DefaultBodyLimit::disable()))
        .route("/admin/annuaire/imports/{id}", get(imports::show))
}

/// Probes for load balancers and orchestrators; metrics only with the token.
fn operations() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics_with_token))
}

/// The JSON API, and its OpenAPI document.
fn api() -> Router<AppState> {
    Router::new()
        .route("/directory/search", get(directory::search_api))
        .route("/openapi.json", get(openapi::openapi_json))
}

/// The read-only FHIR R4 endpoint over the directory's offers (public data only).
fn fhir() -> Router<AppState> {
    Router::new()
        .route("/metadata", get(fhir::metadata))
        .route("/HealthcareService", get(fhir::search))
        .route("/HealthcareService/{id}", get(fhir::read))
}

/// The private metrics listener (`metrics_listen`).
pub fn metrics_router() -> Router<AppState> {
    Router::new().route("/metrics", get(health::metrics))
}
