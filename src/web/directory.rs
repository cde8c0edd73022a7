//! The directory search (DIR-1): the page (works without JavaScript) and its JSON twin. Every
//! result links to its sheet (`web::sheet`). Sensitive units are found by logged-in accounts
//! only, and each one shown to them is journaled as a consultation (DIR-4); results carry public
//! telephones only.

use std::collections::HashMap;

use askama::Template;
use askama_web::WebTemplate;
use axum::Json;
use axum::extract::{Query, State};
use axum::http::header::{self, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::error::{ApiError, AppError};
use super::extract::Ctx;
use super::layout::Layout;
use super::session::Viewer;
use crate::app::AppState;
use crate::directory::csv_export;
use crate::directory::model::Place;
use crate::directory::nomenclature::{self, CATEGORY_SYSTEM};
use crate::directory::offers::{self, Offer};
use crate::directory::search::{SearchParams, SearchResults};
use crate::directory::sheet::JOURNAL_OFFER;
use crate::journal::{self, AccessContext, Action, Object, Outcome};

/// Results per page.
const PER_PAGE: usize = 20;

/// Results per search when exporting (the engine's largest page).
const EXPORT_PAGE: usize = 100;

/// The query string of a search (French parameter names: they show in the address bar). Its
/// `param` attributes are the OpenAPI description of `GET /api/directory/search`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchForm {
    /// Free text.
    #[serde(default)]
    #[param(required = false, example = "ssiad")]
    pub q: String,
    /// Commune name or postal code to search around.
    #[serde(default)]
    #[param(required = false, example = "Colombes")]
    pub autour: String,
    /// Patient's age.
    #[serde(default)]
    #[param(required = false, value_type = Option<String>, pattern = r"^[0-9]{0,3}$", example = "58")]
    pub age: String,
    /// Category code.
    #[serde(default)]
    #[param(required = false, example = "354")]
    pub categorie: String,
    /// `1`: only offers with places available now (capacity « disponible » at the immediate
    /// temporality, count above 0).
    #[serde(default)]
    #[param(required = false, value_type = Option<String>, pattern = r"^[01]?$", example = "1")]
    pub places: String,
    /// INSEE département.
    #[serde(default)]
    #[param(required = false, example = "92")]
    pub departement: String,
    /// INSEE commune.
    #[serde(default)]
    #[param(required = false, example = "92025")]
    pub commune: String,
    /// Page number (the API refuses pages past 500; the page shows the last one).
    #[serde(default)]
    #[param(minimum = 1, maximum = 500)]
    pub page: Option<usize>,
    /// API only: also count the facets (`facettes=1`); the page always shows them.
    #[serde(default)]
    #[param(minimum = 0, maximum = 1)]
    pub facettes: Option<u8>,
}

impl SearchForm {
    fn is_empty(&self) -> bool {
        [&self.q, &self.autour, &self.age, &self.categorie, &self.departement, &self.commune, &self.places]
            .iter()
            .all(|s| s.trim().is_empty())
    }

    /// The same search with one parameter changed, as a URL (facet links, pages).
    pub fn with(&self, key: &str, value: &str) -> String {
        let mut f = self.clone();
        match key {
            "categorie" => f.categorie = value.to_owned(),
            "departement" => f.departement = value.to_owned(),
            "commune" => f.commune = value.to_owned(),
            "reset" => {
                f.categorie.clear();
                f.departement.clear();
                f.commune.clear();
            }
            _ => {}
        }
        f.page = if key == "page" { value.parse().ok() } else { None };
        let mut s = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in [
            ("q", &f.q),
            ("autour", &f.autour),
            ("age", &f.age),
            ("categorie", &f.categorie),
            ("departement", &f.departement),
            ("commune", &f.commune),
            ("places", &f.places),
        ] {
            if !v.trim().is_empty() {
                s.append_pair(k, v.trim());
            }
        }
        if let Some(p) = f.page.filter(|p| *p > 1) {
            s.append_pair("page", &p.to_string());
        }
        format!("/annuaire?{}", s.finish())
    }
}

/// A search, validated, with the place it is around.
struct Resolved {
    params: SearchParams,
    place: Option<Place>,
    errors: Vec<String>,
}

async fn resolve(state: &AppState, viewer: &Viewer, form: &SearchForm) -> Result<Resolved, AppError> {
    let mut errors = Vec::new();
    // Digits only (no sign, no spaces): what the OpenAPI document promises.
    let age = match form.age.as_str() {
        "" => None,
        a => match a.parse::<i64>() {
            Ok(n) if (0..=130).contains(&n) && a.bytes().all(|b| b.is_ascii_digit()) => Some(n),
            _ => {
                errors.push("L'âge doit être un nombre entier d'années, entre 0 et 130.".to_owned());
                None
            }
        },
    };
    // Exactly what the OpenAPI pattern allows (no spaces).
    let available_only = match form.places.as_str() {
        "" | "0" => false,
        "1" => true,
        _ => {
            errors.push("Le filtre des places disponibles vaut 1 (coché) ou 0.".to_owned());
            false
        }
    };
    let around = form.autour.trim().to_owned();
    let place = if around.is_empty() {
        None
    } else {
        let found = state.search.places().find(&around);
        if found.is_none() {
            errors.push(format!("La commune « {} » n'a pas été trouvée dans l'annuaire. Vérifiez l'orthographe ou indiquez le code postal.", form.autour.trim()));
        }
        found
    };
    let opt = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
    let params = SearchParams {
        text: form.q.chars().take(200).collect(),
        categories: opt(&form.categorie).into_iter().collect(),
        departement: opt(&form.departement),
        commune: opt(&form.commune),
        age,
        available_only,
        near: place.as_ref().map(|p| (p.lat, p.lon)),
        radius_km: None,
        page: form.page.unwrap_or(1).clamp(1, 500),
        per_page: PER_PAGE,
        publics: Vec::new(),
        facets: true,
        // DIR-4: sensitive units are found by logged-in accounts only.
        include_sensitive: viewer.0.is_some(),
        ..Default::default()
    };
    Ok(Resolved { params, place, errors })
}

/// Runs a search; the sensitive units among the results are journaled as consulted before the
/// results are served (JNL-1: no entry, no answer).
/// Searches run at most one per core at a time: more would only share the cores between them
/// (each one slower, the blocking pool's threads switching), and the others wait their turn in
/// order. At 64 connections this is what keeps the slowest answers near the median.
fn search_permits() -> &'static tokio::sync::Semaphore {
    static PERMITS: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    PERMITS.get_or_init(|| tokio::sync::Semaphore::new(std::thread::available_parallelism().map_or(2, |n| n.get())))
}

async fn run(state: &AppState, ctx: AccessContext, params: SearchParams) -> Result<SearchResults, AppError> {
    let search = state.search.clone();
    let permit = search_permits().acquire().await.map_err(|e| AppError::Internal(e.into()))?;
    let results = tokio::task::spawn_blocking(move || search.search(&params))
        .await
        .map_err(|e| AppError::Internal(e.into()))?
        .map_err(AppError::Internal)?;
    drop(permit);
    let sensitive: Vec<i64> =
        results.hits.iter().filter(|h| h.card.sensitive && h.card.kind == "offer").map(|h| h.card.id).collect();
    if !sensitive.is_empty() {
        state
            .db
            .write(move |c| {
                for id in sensitive {
                    journal::record(c, &ctx, Action::Consultation, Object::new(JOURNAL_OFFER, id), Outcome::Success)?;
                }
                Ok::<_, AppError>(())
            })
            .await?;
    }
    Ok(results)
}

/// What the results region of the search page shows: the errors, the facets, the results and
/// their pages. Rendered inside the page, and alone as the fragment that search-as-you-type
/// swaps in (`?fragment=1`).
pub struct ResultsView {
    form: SearchForm,
    searched: bool,
    errors: Vec<String>,
    results: Option<SearchResults>,
    place: Option<Place>,
    category_labels: HashMap<String, String>,
    commune_names: HashMap<String, String>,
}

impl ResultsView {
    /// The label of a category code.
    pub fn category(&self, code: &str) -> String {
        self.category_labels.get(code).cloned().unwrap_or_else(|| format!("Catégorie {code}"))
    }

    /// The name of a commune.
    pub fn commune_name(&self, code: &str) -> String {
        self.commune_names.get(code).cloned().unwrap_or_else(|| code.to_owned())
    }

    /// "1,2 km".
    pub fn km(&self, d: &f64) -> String {
        format!("{d:.1} km").replace('.', ",")
    }

    /// "de 18 à 59 ans", "à partir de 60 ans", when the offer says.
    pub fn ages(&self, h: &crate::directory::search::Hit) -> Option<String> {
        match (h.card.age_min, h.card.age_max) {
            (Some(a), Some(b)) if b < 120 => Some(format!("de {a} à {b} ans")),
            (Some(a), _) if a > 0 => Some(format!("à partir de {a} ans")),
            (_, Some(b)) if b < 120 => Some(format!("jusqu'à {b} ans")),
            _ => None,
        }
    }

    /// « Source : FINESS, mise à jour le 15/01/2026 » (CGU §8.5).
    pub fn provenance(&self, h: &crate::directory::search::Hit) -> Option<String> {
        let source = match h.card.source.as_deref()? {
            "finess" => "FINESS",
            "ror" => "Répertoire opérationnel des ressources (ROR)",
            "annuaire" => "Annuaire Santé",
            _ => "saisie locale (DAC)",
        };
        Some(match h.card.updated_on {
            Some(d) => format!("Source : {source}, mise à jour le {}", d.format("%d/%m/%Y")),
            None => format!("Source : {source}, date de mise à jour inconnue"),
        })
    }

    /// « 12 résultats », what the results heading and the live region say.
    pub fn count_text(&self, total: &usize) -> String {
        match total {
            0 => "Aucun résultat".to_owned(),
            1 => "1 résultat".to_owned(),
            n => format!("{n} résultats"),
        }
    }

    /// Number of pages.
    pub fn pages(&self) -> usize {
        self.results.as_ref().map_or(0, |r| r.total.div_ceil(PER_PAGE))
    }

    /// The URL of page `n` of this search.
    pub fn page_url(&self, n: usize) -> String {
        self.form.with("page", &n.to_string())
    }

    /// Current page.
    pub fn page(&self) -> usize {
        self.form.page.unwrap_or(1)
    }

    /// The CSV export of this search (every page, up to the export's limit).
    pub fn export_url(&self) -> String {
        let url = self.form.with("page", "1");
        url.replacen("/annuaire?", "/annuaire/export.csv?", 1)
    }

    /// Rows of one export at most, « 1 000 » (French thousands separator, a narrow no-break space).
    pub fn export_max(&self) -> String {
        let n = csv_export::MAX_ROWS;
        if n >= 1000 { format!("{}\u{202f}{:03}", n / 1000, n % 1000) } else { n.to_string() }
    }
}

/// The search page.
#[derive(Template, WebTemplate)]
#[template(path = "directory/search.html")]
pub struct SearchPage {
    layout: Layout,
    form: SearchForm,
    view: ResultsView,
    categories: Vec<(String, String)>,
    script_url: String,
}

/// The results region alone (search as you type).
#[derive(Template, WebTemplate)]
#[template(path = "directory/results_fragment.html")]
pub struct ResultsFragment {
    view: ResultsView,
}

/// `?fragment=1`: the results region only.
#[derive(Debug, Default, Deserialize)]
pub struct FragmentFlag {
    #[serde(default)]
    fragment: Option<String>,
}

/// `GET /annuaire`; with `fragment=1`, the results region only (the script of the page asks for
/// it as the user types; the address it shows is the one without the flag).
pub async fn search_page(
    State(state): State<AppState>,
    viewer: Viewer,
    Ctx(ctx): Ctx,
    Query(form): Query<SearchForm>,
    Query(flag): Query<FragmentFlag>,
) -> Result<Response, AppError> {
    let categories: Vec<(String, String)> =
        state.db.run(|c| nomenclature::list_active(c, CATEGORY_SYSTEM).map_err(AppError::from)).await?;
    let category_labels: HashMap<String, String> = categories.iter().cloned().collect();
    let view = if form.is_empty() {
        ResultsView {
            form: form.clone(),
            searched: false,
            errors: vec![],
            results: None,
            place: None,
            category_labels,
            commune_names: HashMap::new(),
        }
    } else {
        let resolved = resolve(&state, &viewer, &form).await?;
        let results = if resolved.errors.is_empty() { Some(run(&state, ctx, resolved.params).await?) } else { None };
        let places = state.search.places();
        let commune_names: HashMap<String, String> = results
            .iter()
            .flat_map(|r| r.communes.iter())
            .filter_map(|f| Some((f.value.clone(), places.name_of(&f.value)?.to_owned())))
            .collect();
        ResultsView {
            form: form.clone(),
            searched: true,
            errors: resolved.errors,
            results,
            place: resolved.place,
            category_labels,
            commune_names,
        }
    };
    if flag.fragment.as_deref() == Some("1") {
        let mut res = ResultsFragment { view }.into_response();
        // The fragment and the page share a URL but for the flag: no cache may mix them up.
        res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        return Ok(res);
    }
    let layout = Layout::new(&state, &viewer, Some("annuaire"), "Annuaire de l'offre");
    let script_url = state.assets.url("search.js");
    Ok(SearchPage { layout, form, view, categories, script_url }.into_response())
}

/// The JSON answer of the search API.
#[derive(Serialize, ToSchema)]
pub struct SearchResponse {
    /// The place searched around, if any.
    place: Option<PlaceJson>,
    /// The results.
    #[serde(flatten)]
    results: SearchResults,
}

/// The commune a search is around.
#[derive(Serialize, ToSchema)]
struct PlaceJson {
    /// Name.
    name: String,
    /// INSEE code.
    insee: String,
    /// Latitude of the centre of its entries (WGS84).
    lat: f64,
    /// Longitude.
    lon: f64,
}

/// `GET /api/directory/search`: the same parameters as the page.
#[utoipa::path(
    get,
    path = "/api/directory/search",
    tag = "annuaire",
    summary = "Recherche dans l'annuaire de l'offre (établissements FINESS et offres du ROR)",
    description = "Les mêmes paramètres que la page /annuaire. Autour d'une commune (`autour`), les résultats sont \
                   triés par distance (`distance_km`) et le rayon s'élargit jusqu'à trouver assez de résultats \
                   (`radius_km`). Avec `places=1`, seules les offres ayant des places disponibles maintenant \
                   (`available_places`, à la date `available_on`) sont données. Les unités sensibles n'y \
                   figurent que pour les professionnels connectés.",
    params(SearchForm),
    responses(
        (status = 200, description = "Une page de résultats (20 par page)", body = SearchResponse),
        (status = 400, description = "Paramètre invalide (âge, commune inconnue…), message en français", body = ApiError),
        (status = 429, description = "Trop de requêtes", body = ApiError),
        (status = 503, description = "Service momentanément indisponible", body = ApiError),
    )
)]
pub async fn search_api(
    State(state): State<AppState>,
    viewer: Viewer,
    Ctx(ctx): Ctx,
    Query(form): Query<SearchForm>,
) -> Result<Json<SearchResponse>, AppError> {
    if form.facettes.is_some_and(|f| f > 1) {
        return Err(AppError::BadRequest("Le paramètre facettes vaut 0 ou 1 : indiquez facettes=1 pour compter les catégories, départements et communes.".into()));
    }
    if form.page.is_some_and(|p| !(1..=500).contains(&p)) {
        return Err(AppError::BadRequest(
            "page est un nombre entre 1 et 500 : affinez la recherche pour aller plus loin.".into(),
        ));
    }
    let mut resolved = resolve(&state, &viewer, &form).await?;
    // Counting facets over every match is the costliest part of a search: clients ask for it.
    resolved.params.facets = form.facettes == Some(1);
    if let Some(e) = resolved.errors.first() {
        return Err(AppError::BadRequest(e.clone()));
    }
    let results = run(&state, ctx, resolved.params).await?;
    let place = resolved.place.map(|p| PlaceJson { name: p.name, insee: p.insee, lat: p.lat, lon: p.lon });
    Ok(Json(SearchResponse { place, results }))
}

/// One row of the CSV export of a result.
fn csv_row(h: &crate::directory::search::Hit, offer: Option<&Offer>, base: &str) -> csv_export::Row {
    let c = &h.card;
    let labels = |json: &str| Offer::labels(json).into_iter().map(|l| l.label).collect::<Vec<_>>().join(", ");
    let num = |n: Option<i64>| n.map(|n| n.to_string()).unwrap_or_default();
    let source = match c.source.as_deref() {
        Some("finess") => "FINESS",
        Some("ror") => "ROR",
        Some("annuaire") => "Annuaire Santé",
        Some(_) => "Saisie locale (DAC)",
        None => "",
    };
    [
        c.name.clone(),
        c.subtitle.clone().unwrap_or_default(),
        c.category.clone().unwrap_or_default(),
        offer.map(|o| labels(&o.activities)).unwrap_or_default(),
        c.publics.join(", "),
        num(c.age_min),
        num(c.age_max),
        c.address.clone().unwrap_or_default(),
        c.postal_code.clone().unwrap_or_default(),
        c.city.clone().unwrap_or_default(),
        // The public telephone only, as on the page (DIR-4).
        c.phone.clone().unwrap_or_default(),
        h.distance_km.map(|d| format!("{d:.1}").replace('.', ",")).unwrap_or_default(),
        c.updated_on.map(|d| d.format("%d/%m/%Y").to_string()).unwrap_or_default(),
        source.to_owned(),
        format!("{base}{}", h.url),
    ]
}

/// `GET /annuaire/export.csv`: the results of the search of the same query string, in the same
/// order, as a CSV file (at most [`csv_export::MAX_ROWS`] rows). Sensitive units are included for
/// logged-in accounts only and journaled as consulted, as on the page (DIR-4).
pub async fn export_csv(
    State(state): State<AppState>,
    viewer: Viewer,
    Ctx(ctx): Ctx,
    Query(form): Query<SearchForm>,
) -> Result<Response, AppError> {
    if form.is_empty() {
        // The page lists nothing before a search: nor does its export.
        return Err(AppError::BadRequest(
            "Indiquez d'abord une recherche (mots, commune, âge ou catégorie) : l'export reprend ses résultats.".into(),
        ));
    }
    let resolved = resolve(&state, &viewer, &form).await?;
    if let Some(e) = resolved.errors.first() {
        return Err(AppError::BadRequest(e.clone()));
    }
    let mut hits = Vec::new();
    let mut params = resolved.params;
    params.facets = false;
    params.per_page = EXPORT_PAGE;
    for page in 1..=csv_export::MAX_ROWS.div_ceil(EXPORT_PAGE) {
        params.page = page;
        let results = run(&state, ctx.clone(), params.clone()).await?;
        let done = results.hits.len() < EXPORT_PAGE || page * EXPORT_PAGE >= results.total;
        hits.extend(results.hits);
        if done {
            break;
        }
    }
    hits.truncate(csv_export::MAX_ROWS);
    let ids: Vec<i64> = hits.iter().filter(|h| h.card.kind == "offer").map(|h| h.card.id).collect();
    let offers: HashMap<i64, Offer> = state
        .db
        .run(move |c| offers::list_offers(c, &ids).map_err(AppError::from))
        .await?
        .into_iter()
        .map(|o| (o.id, o))
        .collect();
    let base = state.config.public_url.as_str().trim_end_matches('/').to_owned();
    let rows: Vec<csv_export::Row> = hits
        .iter()
        .map(|h| csv_row(h, if h.card.kind == "offer" { offers.get(&h.card.id) } else { None }, &base))
        .collect();
    let body = csv_export::write(&rows);
    let name = format!("annuaire-{}.csv", state.clock.now_naive().date().format("%Y-%m-%d"));
    let mut res = body.into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")).expect("ASCII file name"),
    );
    // What a logged-in account downloads may hold sensitive units: never kept by a cache.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}
