//! Public pages: home, the services announced in the navigation, the accessibility statement;
//! and the catalogue of applications. The legal documents are in `web::terms`.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::http::Uri;
use axum::response::Response;
use axum::routing::{MethodRouter, get};

use super::layout::{Layout, NAV};
use super::session::{SignedIn, Viewer};
use super::terms::require_feature_conditions;
use crate::app::AppState;

/// The home page.
#[derive(Template, WebTemplate)]
#[template(path = "pages/home.html")]
pub struct HomePage {
    layout: Layout,
}

/// `GET /`.
pub async fn home(State(state): State<AppState>, viewer: Viewer) -> HomePage {
    HomePage { layout: Layout::new(&state, &viewer, None, "Accueil") }
}

/// A service that is announced but not open yet.
#[derive(Template, WebTemplate)]
#[template(path = "pages/soon.html")]
pub struct SoonPage {
    layout: Layout,
    heading: &'static str,
    purpose: &'static str,
}

/// What each announced service will offer, shown until it opens.
fn purpose(key: &str) -> &'static str {
    match key {
        "actualites" => "Suivez les actualités du dispositif d'appui à la coordination et des acteurs du territoire.",
        "evenements" => "Découvrez les évènements du territoire et inscrivez-vous en ligne.",
        "adhesion" => "Demandez l'adhésion à l'association, pour vous-même ou pour votre structure.",
        "contact" => {
            "Écrivez à l'équipe du dispositif : assistance technique, suggestion, exercice de vos droits, signalement d'un contenu illicite."
        }
        _ => "",
    }
}

/// The route of a service announced in the navigation but not open yet.
pub fn soon_route(key: &'static str) -> MethodRouter<AppState> {
    get(move |State(state): State<AppState>, viewer: Viewer| async move { soon(&state, &viewer, key) })
}

fn soon(state: &AppState, viewer: &Viewer, key: &'static str) -> SoonPage {
    let heading = NAV.iter().find(|n| n.key == key).map_or("Service", |n| n.label);
    SoonPage { layout: Layout::new(state, viewer, Some(key), heading), heading, purpose: purpose(key) }
}

/// The catalogue of regional applications and third-party services (APP-1, APP-2): for
/// logged-in professionals who accepted its complementary conditions (CGU-3, §4).
#[derive(Template, WebTemplate)]
#[template(path = "pages/applications.html")]
pub struct ApplicationsPage {
    layout: Layout,
}

/// `GET /applications`.
pub async fn applications(
    State(state): State<AppState>,
    viewer: Viewer,
    SignedIn(current): SignedIn,
    uri: Uri,
) -> Result<ApplicationsPage, Response> {
    require_feature_conditions(&state, &current, "applications", &uri).await?;
    Ok(ApplicationsPage { layout: Layout::new(&state, &viewer, Some("applications"), "Applications") })
}

/// The accessibility statement (RGAA).
#[derive(Template, WebTemplate)]
#[template(path = "pages/accessibility.html")]
pub struct AccessibilityPage {
    layout: Layout,
}

/// `GET /accessibilite`.
pub async fn accessibility(State(state): State<AppState>, viewer: Viewer) -> AccessibilityPage {
    AccessibilityPage { layout: Layout::new(&state, &viewer, None, "Accessibilité") }
}
