//! Public pages: home, the services announced in the navigation, and the legal pages.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::routing::{MethodRouter, get};

use super::layout::{Layout, NAV};
use super::session::Viewer;
use crate::app::AppState;
use crate::terms::{LegalDoc, Rendered};

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
        "applications" => "Accédez aux applications régionales de l'espace numérique régional de santé (ENRS).",
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

/// A legal document rendered from Markdown.
#[derive(Template, WebTemplate)]
#[template(path = "pages/legal.html")]
pub struct LegalPage {
    layout: Layout,
    doc: &'static Rendered,
}

fn legal(state: &AppState, viewer: &Viewer, doc: LegalDoc) -> LegalPage {
    let doc = doc.rendered();
    LegalPage { layout: Layout::new(state, viewer, None, &doc.title), doc }
}

/// `GET /cgu`.
pub async fn terms(State(state): State<AppState>, viewer: Viewer) -> LegalPage {
    legal(&state, &viewer, LegalDoc::Terms)
}

/// `GET /donnees-personnelles`.
pub async fn privacy(State(state): State<AppState>, viewer: Viewer) -> LegalPage {
    legal(&state, &viewer, LegalDoc::Privacy)
}

/// The legal notice, built from the configuration (publisher, host: CGU §8.4).
#[derive(Template, WebTemplate)]
#[template(path = "pages/legal_notice.html")]
pub struct LegalNoticePage {
    layout: Layout,
}

/// `GET /mentions-legales`.
pub async fn legal_notice(State(state): State<AppState>, viewer: Viewer) -> LegalNoticePage {
    LegalNoticePage { layout: Layout::new(&state, &viewer, None, "Mentions légales") }
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
