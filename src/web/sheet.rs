//! The detail sheet of a directory entry (DIR-2) with what the viewer may see of it (DIR-4), and
//! « Signaler une erreur » on every sheet (DIR-5). A logged-in viewer's consultation of restricted
//! data (a sensitive unit, a restricted contact) is journaled in the transaction that reads it.

use std::collections::HashMap;

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::error::{AppError, OwnBody, invalid_form};
use super::extract::Ctx;
use super::layout::{Layout, french_date, paris_time};
use super::register::MessagePage;
use super::session::{Viewer, csrf_refused, form_csrf, form_csrf_ok, token_matches, with_csrf_cookie};
use crate::app::AppState;
use crate::directory::completeness::{Completeness, Rule};
use crate::directory::details::{CapacityRow, ContactPoint, OfferDetails, OpeningSlot};
use crate::directory::model::Site;
use crate::directory::offers::{Label, Offer};
use crate::directory::practitioners::SheetPractitioner;
use crate::directory::reports::{self, KINDS, MAX_MESSAGE_CHARS, ReportInput};
use crate::directory::sheet::{self, EntryRef, JOURNAL_OFFER, Sheet, Visible};
use crate::journal::{self, Action, Object, Outcome};

/// « Source : FINESS, mise à jour dans la source le 15 janvier 2026 » (CGU §8.5).
fn provenance(source: &str, updated: Option<chrono::NaiveDate>) -> String {
    let source = match source {
        "finess" => "fichier national des établissements sanitaires et sociaux (FINESS)",
        "ror" => "répertoire opérationnel des ressources (ROR)",
        "annuaire" => "Annuaire Santé",
        _ => {
            return match updated {
                Some(d) => format!("Source : saisie locale (DAC), mise à jour le {}.", french_date(d)),
                None => "Source : saisie locale (DAC).".to_owned(),
            };
        }
    };
    match updated {
        Some(d) => format!("Source : {source}, mise à jour dans la source le {}.", french_date(d)),
        None => format!("Source : {source}, date de mise à jour dans la source inconnue."),
    }
}

/// « Latitude 48,92310, longitude 2,25304 ».
fn coordinates(lat: Option<f64>, lon: Option<f64>) -> Option<String> {
    let (lat, lon) = (lat?, lon?);
    Some(format!("Latitude {lat:.5}, longitude {lon:.5}").replace('.', ","))
}

/// « 12 rue de la Paix, 92700 Colombes ».
fn address(line: &Option<String>, postal_code: &Option<String>, city: &Option<String>) -> Option<String> {
    let town = [postal_code.as_deref(), city.as_deref()].into_iter().flatten().collect::<Vec<_>>().join(" ");
    let parts: Vec<&str> =
        [line.as_deref(), Some(town.as_str())].into_iter().flatten().filter(|s| !s.is_empty()).collect();
    (!parts.is_empty()).then(|| parts.join(", "))
}

/// « de 18 à 59 ans », « à partir de 60 ans ».
fn ages(min: Option<i32>, max: Option<i32>) -> Option<String> {
    match (min, max) {
        (Some(a), Some(b)) if b < 120 => Some(format!("de {a} à {b} ans")),
        (Some(a), _) if a > 0 => Some(format!("à partir de {a} ans")),
        (_, Some(b)) if b < 120 => Some(format!("jusqu'à {b} ans")),
        (Some(_), Some(_)) => Some("tous âges".to_owned()),
        _ => None,
    }
}

/// The sheet of an offer.
#[derive(Template, WebTemplate)]
#[template(path = "directory/offer.html")]
pub struct OfferPage {
    layout: Layout,
    entry: EntryRef,
    offer: Offer,
    details: OfferDetails,
    visible: Visible,
    completeness: Completeness,
    practitioners: Vec<SheetPractitioner>,
    commune_names: HashMap<String, String>,
    today: chrono::NaiveDate,
}

impl OfferPage {
    fn labels(json: &str) -> Vec<String> {
        Offer::labels(json).into_iter().map(|l| l.label).collect()
    }

    /// The site's name under the title, when it is not the offer's.
    pub fn subtitle(&self) -> Option<&str> {
        self.offer.site_name.as_deref().filter(|s| *s != self.offer.name)
    }

    /// What the completeness rule is.
    pub fn rule_text(&self) -> &'static str {
        rule_text(&self.completeness)
    }

    /// The ANS status of the unit.
    pub fn status_sentence(&self) -> Option<String> {
        status_sentence(&self.completeness)
    }

    /// Activités opérationnelles.
    pub fn activities(&self) -> Vec<String> {
        Self::labels(&self.offer.activities)
    }

    /// Modes de prise en charge.
    pub fn care_modes(&self) -> Vec<String> {
        Self::labels(&self.offer.care_modes)
    }

    /// Publics.
    pub fn publics(&self) -> Vec<String> {
        Self::labels(&self.offer.publics)
    }

    /// Ages taken, as a sentence start: « À partir de 15 ans ».
    pub fn ages(&self) -> Option<String> {
        ages(self.offer.age_min, self.offer.age_max).map(|a| {
            let mut c = a.chars();
            c.next().map(|first| first.to_uppercase().chain(c).collect()).unwrap_or_default()
        })
    }

    /// Types d'offre.
    pub fn offer_categories(&self) -> Vec<String> {
        self.details.offer_categories.iter().map(|l| l.label.clone()).collect()
    }

    /// The intervention zone, communes named.
    pub fn zones(&self) -> Vec<String> {
        self.details
            .zones
            .iter()
            .map(|Label { code, label }| {
                if label != code {
                    label.clone()
                } else {
                    self.commune_names.get(code).map_or_else(|| code.clone(), |n| format!("{n} ({code})"))
                }
            })
            .collect()
    }

    /// The postal address.
    pub fn address(&self) -> Option<String> {
        address(&self.offer.address_line, &self.offer.postal_code, &self.offer.city)
    }

    /// WGS84 coordinates, as text.
    pub fn coordinates(&self) -> Option<String> {
        coordinates(self.offer.lat, self.offer.lon)
    }

    /// Where the data comes from and how fresh it is.
    pub fn provenance(&self) -> String {
        provenance(&self.offer.source, self.offer.source_updated_at.map(|t| t.date()))
    }

    /// When this portal last changed the record.
    pub fn stored_at(&self) -> String {
        paris_time(self.offer.updated_at)
    }

    /// The closure notice, if the offer is closed or about to close.
    pub fn closed_notice(&self) -> Option<String> {
        let reopening = match self.details.reopening_on {
            Some(d) => format!(" Réouverture prévue le {}.", french_date(d)),
            None => String::new(),
        };
        if self.offer.status == "closed" {
            let since = match self.details.closed_from {
                Some(d) => format!(" depuis le {}", french_date(d)),
                None => String::new(),
            };
            return Some(format!("Cette offre est fermée{since}.{reopening}"));
        }
        let planned = self.details.closed_from.filter(|d| *d > self.today)?;
        Some(format!("Cette offre sera fermée à partir du {}.{reopening}", french_date(planned)))
    }

    /// What a local entry adds (description, opening hours as written); `None` for imports.
    pub fn local(&self) -> Option<crate::directory::local::LocalDetails> {
        (self.offer.source == crate::directory::local::LOCAL)
            .then(|| crate::directory::local::LocalDetails::parse(&self.offer.local_details))
    }

    /// Whether a local entry gives its opening hours as text.
    pub fn has_local_hours(&self) -> bool {
        self.local().is_some_and(|l| l.opening_hours.is_some())
    }

    /// Whether the viewer may edit this entry in the back office (a local entry, an administrator).
    pub fn editable(&self) -> bool {
        self.offer.source == crate::directory::local::LOCAL && self.layout.is_admin()
    }

    /// The opening slots, as sentences.
    pub fn opening(&self) -> Vec<String> {
        self.details.opening_hours.iter().map(OpeningSlot::describe).collect()
    }

    /// When a capacity count was given.
    pub fn capacity_date(&self, c: &CapacityRow) -> String {
        c.updated_at.map_or_else(|| "date non précisée".to_owned(), paris_time)
    }

    /// The access label of a contact.
    pub fn access(&self, c: &ContactPoint) -> &'static str {
        c.access().label()
    }

    /// The sheet of another offer of the site.
    pub fn sibling_href(&self, o: &Offer) -> String {
        EntryRef::Offer(o.id).href()
    }

    /// Activities of another offer of the site.
    pub fn sibling_activities(&self, o: &Offer) -> String {
        Self::labels(&o.activities).join(", ")
    }
}

/// The sheet of an establishment.
#[derive(Template, WebTemplate)]
#[template(path = "directory/site.html")]
pub struct SitePage {
    layout: Layout,
    entry: EntryRef,
    site: Site,
    completeness: Completeness,
}

impl SitePage {
    /// The long name under the title, when it says more.
    pub fn subtitle(&self) -> Option<&str> {
        self.site.long_name.as_deref().filter(|s| *s != self.site.name)
    }

    /// What the completeness rule is.
    pub fn rule_text(&self) -> &'static str {
        rule_text(&self.completeness)
    }

    /// No ANS status for an establishment.
    pub fn status_sentence(&self) -> Option<String> {
        status_sentence(&self.completeness)
    }

    /// The postal address.
    pub fn address(&self) -> Option<String> {
        address(&self.site.address_line, &self.site.postal_code, &self.site.city)
    }

    /// WGS84 coordinates, as text.
    pub fn coordinates(&self) -> Option<String> {
        coordinates(self.site.lat, self.site.lon)
    }

    /// Where the data comes from and how fresh it is.
    pub fn provenance(&self) -> String {
        provenance(&self.site.source, self.site.source_updated_on)
    }

    /// When this portal last changed the record.
    pub fn stored_at(&self) -> String {
        paris_time(self.site.updated_at)
    }

    /// The closure notice, if the establishment is closed.
    pub fn closed_notice(&self) -> Option<String> {
        (self.site.status == "closed").then(|| match self.site.closed_on {
            Some(d) => format!("Cet établissement est fermé depuis le {}.", french_date(d)),
            None => "Cet établissement est fermé.".to_owned(),
        })
    }

    /// « Ouvert le 13 février 1979 ».
    pub fn opened(&self) -> Option<String> {
        self.site.opened_on.map(french_date)
    }

    /// The telephone link target.
    pub fn tel(&self, phone: &str) -> String {
        format!("tel:{}", phone.replace(' ', ""))
    }
}

/// « peuplement finalisé selon l'ANS » for a unit; nothing for an establishment.
fn status_sentence(c: &Completeness) -> Option<String> {
    (c.rule == Rule::AnsUnit).then(|| format!("peuplement {} selon l'ANS", c.status()))
}

/// What the completeness block says of its rule.
fn rule_text(c: &Completeness) -> &'static str {
    match c.rule {
        Rule::AnsUnit => {
            "Calcul selon la règle de l'Agence du numérique en santé (ANS) pour une unité du ROR : champ d'activité, activité opérationnelle, mode de prise en charge, âges, adresse, contact et, pour les services d'aide et de soins à domicile (SSIAD, SPASAD, SAAD), catégorie d'organisation ; chaque critère compte autant."
        }
        Rule::Establishment => {
            "Calcul propre au portail pour un établissement : catégorie, adresse, téléphone et position géographique ; chaque critère compte autant."
        }
    }
}

/// The page shown instead of a sensitive unit to a visitor who is not logged in (401).
fn reserved(state: &AppState, viewer: &Viewer) -> Response {
    let page = MessagePage {
        layout: Layout::new(state, viewer, Some("annuaire"), "Fiche réservée aux professionnels connectés"),
        heading: "Fiche réservée aux professionnels connectés".to_owned(),
        paragraphs: vec![
            "Cette unité est signalée comme sensible dans le répertoire opérationnel des ressources : sa fiche n'est consultable qu'après connexion à un compte professionnel.".to_owned(),
        ],
        link: Some(("/connexion".to_owned(), "Se connecter".to_owned())),
    };
    let mut res = (StatusCode::UNAUTHORIZED, page).into_response();
    res.extensions_mut().insert(OwnBody);
    res
}

/// Loads a sheet; for a logged-in viewer whose view holds restricted data, reads it again in a
/// transaction that journals each consultation (JNL-1: a read is not served if its entry cannot
/// be written).
async fn load(
    state: &AppState,
    viewer: &Viewer,
    ctx: journal::AccessContext,
    entry: EntryRef,
) -> Result<Sheet, AppError> {
    let sheet =
        state.db.run(move |c| sheet::load(c, entry).map_err(AppError::from)).await?.ok_or(AppError::NotFound)?;
    if viewer.0.is_none() || sheet.consulted_when_logged_in().is_empty() {
        return Ok(sheet);
    }
    state
        .db
        .write(move |c| {
            let sheet = sheet::load(c, entry)?.ok_or(AppError::NotFound)?;
            for id in sheet.consulted_when_logged_in() {
                journal::record(c, &ctx, Action::Consultation, Object::new(JOURNAL_OFFER, id), Outcome::Success)?;
            }
            Ok(sheet)
        })
        .await
}

/// `GET /annuaire/{id}`: `offre-12` or `etablissement-34`.
pub async fn show(
    State(state): State<AppState>,
    viewer: Viewer,
    Ctx(ctx): Ctx,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let entry = EntryRef::parse(&id).ok_or(AppError::NotFound)?;
    match load(&state, &viewer, ctx, entry).await? {
        Sheet::Site(s) => {
            let layout = Layout::new(&state, &viewer, Some("annuaire"), &s.site.name);
            Ok(SitePage { layout, entry, site: s.site, completeness: s.completeness }.into_response())
        }
        Sheet::Offer(o) => {
            let visible = o.visible_to(viewer.0.is_some());
            if visible.hidden {
                return Ok(reserved(&state, &viewer));
            }
            let places = state.search.places();
            let commune_names = o
                .details
                .zones
                .iter()
                .filter_map(|z| Some((z.code.clone(), places.name_of(&z.code)?.to_owned())))
                .collect();
            let layout = Layout::new(&state, &viewer, Some("annuaire"), &o.offer.name);
            let o = *o;
            let page = OfferPage {
                layout,
                entry,
                offer: o.offer,
                details: o.details,
                visible,
                completeness: o.completeness,
                practitioners: o.practitioners,
                commune_names,
                today: state.clock.now_naive().date(),
            };
            Ok(page.into_response())
        }
    }
}

/// The report form of a sheet.
#[derive(Template, WebTemplate)]
#[template(path = "directory/report.html")]
pub struct ReportPage {
    layout: Layout,
    entry: EntryRef,
    title: String,
    csrf: String,
    anonymous: bool,
    input: ReportInput,
    errors: Vec<(&'static str, String)>,
    kinds: &'static [(&'static str, &'static str)],
    max_chars: usize,
}

impl ReportPage {
    fn err(&self, field: &str) -> Option<String> {
        self.errors.iter().find(|(f, _)| *f == field).map(|(_, m)| m.clone())
    }
}

/// The name of a sheet's entry, refused like the sheet itself: 404 if unknown, the reserved page
/// for a sensitive unit and a visitor.
async fn entry_title(
    state: &AppState,
    viewer: &Viewer,
    id: &str,
) -> Result<Result<(EntryRef, String), Response>, AppError> {
    let entry = EntryRef::parse(id).ok_or(AppError::NotFound)?;
    let found = state.db.run(move |c| sheet::find_title(c, entry).map_err(AppError::from)).await?;
    match found {
        None => Err(AppError::NotFound),
        Some((_, true)) if viewer.0.is_none() => Ok(Err(reserved(state, viewer))),
        Some((title, _)) => Ok(Ok((entry, title))),
    }
}

/// `GET /annuaire/{id}/signaler`.
pub async fn report_form(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let (entry, title) = match entry_title(&state, &viewer, &id).await? {
        Ok(found) => found,
        Err(reserved) => return Ok(reserved),
    };
    // A visitor's form carries the double-submit token of its cookie; an account's, its session's.
    let (csrf, set) = match viewer.csrf() {
        Some(t) => (t.to_owned(), None),
        None => form_csrf(&headers),
    };
    let page = ReportPage {
        layout: Layout::new(&state, &viewer, Some("annuaire"), "Signaler une erreur"),
        entry,
        title,
        csrf,
        anonymous: viewer.0.is_none(),
        input: ReportInput::default(),
        errors: Vec::new(),
        kinds: KINDS,
        max_chars: MAX_MESSAGE_CHARS,
    };
    Ok(with_csrf_cookie(page.into_response(), set))
}

/// The report form as posted.
#[derive(Deserialize)]
pub struct ReportForm {
    csrf: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    message: String,
    #[serde(default)]
    email: String,
}

/// `POST /annuaire/{id}/signaler`: stored, journaled, thanked; 422 with the errors otherwise.
pub async fn report_submit(
    State(state): State<AppState>,
    viewer: Viewer,
    Ctx(ctx): Ctx,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<ReportForm>,
) -> Result<Response, AppError> {
    let csrf_ok = match viewer.csrf() {
        Some(t) => token_matches(&form.csrf, t),
        None => form_csrf_ok(&headers, &form.csrf),
    };
    if !csrf_ok {
        return Ok(csrf_refused());
    }
    let (entry, title) = match entry_title(&state, &viewer, &id).await? {
        Ok(found) => found,
        Err(reserved) => return Ok(reserved),
    };
    let anonymous = viewer.0.is_none();
    let input = ReportInput { kind: form.kind, message: form.message, email: form.email };
    let valid = match reports::validate(&input, anonymous) {
        Ok(v) => v,
        Err(errors) => {
            let page = ReportPage {
                layout: Layout::new(&state, &viewer, Some("annuaire"), "Signaler une erreur"),
                entry,
                title,
                csrf: form.csrf,
                anonymous,
                input,
                errors,
                kinds: KINDS,
                max_chars: MAX_MESSAGE_CHARS,
            };
            return Ok(invalid_form(page));
        }
    };
    state.db.write(move |c| reports::create_report(c, &ctx, entry, &valid).map_err(AppError::from)).await?;
    let page = MessagePage {
        layout: Layout::new(&state, &viewer, Some("annuaire"), "Merci pour votre signalement"),
        heading: "Merci pour votre signalement".to_owned(),
        paragraphs: vec![
            format!(
                "Votre signalement sur la fiche « {title} » a bien été transmis à l'équipe du dispositif d'appui à la coordination."
            ),
            "Elle vérifiera l'information auprès de la source et fera corriger la fiche si nécessaire.".to_owned(),
        ],
        link: Some((entry.href(), "Retour à la fiche".to_owned())),
    };
    Ok(page.into_response())
}
