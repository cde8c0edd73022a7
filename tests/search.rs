//! Directory search (DIR-1) over imported FINESS data: French analysis, synonyms, typos,
//! prefixes, facets, distance, the change feed, the page and the API.

use atomes::directory::finess_csv;
use atomes::directory::import::{self, ImportRequest, Mode, Scope};
use atomes::directory::search::SearchParams;
use axum::http::StatusCode;

use crate::support::TestApp;

const CSV: &str = include_str!("fixtures/finess/synthetic-40-utf8.csv");

fn load(app: &TestApp, csv: &str) {
    let parsed = finess_csv::parse_bytes(csv.as_bytes()).unwrap();
    let ctx = app.state.system_context();
    let scope = Scope::default();
    let request = ImportRequest {
        format: "finess-csv",
        file_name: "t.csv",
        scope: &scope,
        mode: Mode::Full { max_closing_share: 1.0 },
    };
    import::import_finess(&mut app.conn(), &ctx, &request, &parsed.establishments, parsed.rejected, &|_| {}).unwrap();
    app.state.search.sync(&mut app.conn()).unwrap();
}

fn names(app: &TestApp, p: SearchParams) -> Vec<String> {
    let p = SearchParams { per_page: 20, page: 1, ..p };
    app.state.search.search(&p).unwrap().hits.into_iter().map(|h| h.card.name).collect()
}

fn text(q: &str) -> SearchParams {
    SearchParams { text: q.into(), ..Default::default() }
}

#[test]
fn accents_case_typos_prefixes_and_lay_words_find_the_same_entry() {
    let app = TestApp::new();
    load(&app, CSV);
    let target = "CENTRE MEDICO-PSYCHOLOGIQUE D'EYBENS";
    for q in [
        "centre médico-psychologique eybens",
        "CENTRE MEDICO PSYCHOLOGIQUE EYBENS",
        "centre medico psychologiqe eybens",
        "cmp eybens",
        "centre medico psychologique eyb",
    ] {
        assert_eq!(names(&app, text(q)).first().map(String::as_str), Some(target), "query {q:?}");
    }
    // Lay words through the synonym file: « maison de retraite » finds EHPAD.
    let found = names(&app, text("maison de retraite"));
    assert!(found.iter().any(|n| n.starts_with("EHPAD")), "{found:?}");
}

#[test]
fn facets_filters_and_distance() {
    let app = TestApp::new();
    load(&app, CSV);
    let all =
        app.state.search.search(&SearchParams { per_page: 5, page: 1, facets: true, ..Default::default() }).unwrap();
    assert_eq!(all.total, 40);
    let cmp = all.categories.iter().find(|f| f.value == "156").expect("a CMP facet");
    let only = app
        .state
        .search
        .search(&SearchParams { categories: vec!["156".into()], per_page: 50, page: 1, ..Default::default() })
        .unwrap();
    assert_eq!(only.total as u64, cmp.count);
    assert!(only.hits.iter().all(|h| h.card.category.as_deref() == Some("Centre médico-psychologique")));
    // Around Eybens (Isère): sorted by distance, distance shown, radius widened until enough.
    let center = (45.148, 5.763);
    let near = app
        .state
        .search
        .search(&SearchParams { near: Some(center), per_page: 10, page: 1, ..Default::default() })
        .unwrap();
    let d: Vec<f64> = near.hits.iter().map(|h| h.distance_km.unwrap()).collect();
    assert!(d.windows(2).all(|w| w[0] <= w[1]), "{d:?}");
    assert!(d[0] < 1.0);
    // The radius was widened until five results or its maximum; the count is exact.
    let radius = near.radius_km.unwrap();
    let everything = app.state.search.search(&SearchParams { per_page: 100, page: 1, ..Default::default() }).unwrap();
    let within = everything
        .hits
        .iter()
        .filter(|h| {
            h.card
                .lat
                .is_some_and(|lat| atomes::directory::geo::haversine_km(center, (lat, h.card.lon.unwrap())) <= radius)
        })
        .count();
    assert_eq!(near.total, within);
    assert!(within >= 5 || radius == 100.0, "{within} within {radius} km");
}

#[test]
fn a_search_without_words_pages_through_every_match_and_any_word_needs_one() {
    let app = TestApp::new();
    load(&app, CSV);
    let search = |p: SearchParams| app.state.search.search(&p).unwrap();
    // No words: every entry, counted exactly, the pages in one order without repeats.
    let whole = search(SearchParams { per_page: 40, page: 1, ..Default::default() });
    assert_eq!(whole.total, 40);
    let mut paged = Vec::new();
    for page in 1..=8 {
        let r = search(SearchParams { per_page: 5, page, ..Default::default() });
        assert_eq!(r.total, 40);
        paged.extend(r.hits.into_iter().map(|h| h.card.id));
    }
    assert_eq!(paged, whole.hits.iter().map(|h| h.card.id).collect::<Vec<_>>());
    assert!(search(SearchParams { per_page: 5, page: 9, ..Default::default() }).hits.is_empty());
    // No entry has both words: « any word » finds those with one of them, not the whole
    // directory (the filters every search carries must not make the words optional).
    let eybens = search(SearchParams { text: "eybens".into(), per_page: 50, page: 1, ..Default::default() });
    assert!(eybens.total > 0 && eybens.total < 40, "{}", eybens.total);
    let either = search(SearchParams { text: "eybens qwxzkvj".into(), per_page: 50, page: 1, ..Default::default() });
    assert_eq!(either.total, eybens.total);
}

/// An entry of a standalone index, at `km` kilometres north of 45°N 5°E.
fn entry(key: u64, name: &str, category: &str, activities: &[&str], km: f64) -> atomes::directory::search::Entry {
    atomes::directory::search::Entry {
        key,
        kind: "site",
        id: key as i64,
        name: name.into(),
        category_code: Some("X".into()),
        category_label: Some(category.into()),
        activities: activities.iter().map(|a| (*a).to_owned()).collect(),
        city: Some("Vienne-la-Petite".into()),
        insee: Some("38999".into()),
        lat: Some(45.0 + km / 111.0),
        lon: Some(5.0),
        ..Default::default()
    }
}

#[test]
fn what_an_entry_is_comes_before_what_it_mentions() {
    let dir = tempfile::tempdir().unwrap();
    let entries = vec![
        // Nearest, and a fine match of the words, but only through its activities.
        entry(
            1,
            "Maison de santé du Port",
            "Maison de santé pluriprofessionnelle",
            &["Cabinet infirmier", "Soins à domicile"],
            0.5,
        ),
        entry(2, "Cabinet infirmier Durand", "Cabinet infirmier", &["Pansements"], 3.0),
        entry(3, "SSIAD du Val", "Service de soins infirmiers à domicile", &["Toilette"], 4.0),
        entry(4, "Cabinet de soins infirmiers Lacroix", "Cabinet infirmier", &["Soins à domicile"], 1.0),
    ];
    let index = atomes::directory::search::SearchIndex::build_from(dir.path(), entries.into_iter(), 1).unwrap();
    let ids = |p: SearchParams| -> Vec<i64> {
        index.search(&SearchParams { per_page: 10, page: 1, ..p }).unwrap().hits.iter().map(|h| h.card.id).collect()
    };
    // Around a point: the nurses' practices by distance, then the health centre that offers one.
    let near = ids(SearchParams { text: "cabinet infirmier".into(), near: Some((45.0, 5.0)), ..Default::default() });
    assert_eq!(near, vec![4, 2, 1]);
    // In a commune: the home nursing service first, then the practice that also cares at home.
    let home = ids(text("soins infirmiers à domicile vienne la petite"));
    assert_eq!(home.first(), Some(&3), "{home:?}");
    assert!(home.contains(&4), "{home:?}");
}

#[test]
fn the_index_follows_the_change_feed() {
    let app = TestApp::new();
    load(&app, CSV);
    assert_eq!(app.state.search.num_docs(), 40);
    // The establishment disappears from a full extract: closed in the database, gone from search.
    let without: String = CSV.lines().filter(|l| !l.contains(";380619817;")).map(|l| format!("{l}\n")).collect();
    load(&app, &without);
    assert_eq!(app.state.search.num_docs(), 39);
    assert!(names(&app, text("eybens")).iter().all(|n| !n.contains("EYBENS") || !n.contains("MEDICO")));
    // A rebuild gives the same index.
    assert_eq!(app.state.search.rebuild(&mut app.conn()).unwrap(), 39);
}

#[tokio::test]
async fn the_page_works_without_javascript_and_the_api_answers_json() {
    let app = TestApp::new();
    load(&app, CSV);
    let r = app.get("/annuaire").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.count("form[role=search] input[name=q]"), 1);
    let r = app.get("/annuaire?q=centre&autour=38320").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.texts("#resultats")[0].contains("résultat"), "{:?}", r.texts("#resultats"));
    assert!(r.count("li.result") >= 1);
    assert!(r.texts(".distance").iter().all(|t| t.contains("km")));
    assert!(r.count(".result-name mark") >= 1, "matches are highlighted");
    // CGU §8.5: every result says where its data comes from and how fresh it is.
    let sources = r.texts(".result-source");
    assert_eq!(sources.len(), r.count("li.result"));
    assert!(sources.iter().all(|s| s.starts_with("Source : FINESS, mise à jour le ")), "{sources:?}");
    // « Retirer les filtres » keeps the words and removes the filters.
    let r = app.get("/annuaire?q=centre&categorie=156&commune=38158").await;
    let doc = scraper::Html::parse_document(&r.body);
    let sel = scraper::Selector::parse(".facets p a").unwrap();
    let reset = doc.select(&sel).next().expect("a reset link").value().attr("href").unwrap().to_owned();
    assert_eq!(reset, "/annuaire?q=centre");
    let r = app.get("/annuaire?q=ehpad&autour=Nullepart-sur-Mer").await;
    assert!(r.texts("[role=alert]")[0].contains("n'a pas été trouvée"));
    let r = app.get("/annuaire?age=deux").await;
    assert!(r.texts("[role=alert]")[0].contains("nombre entier"));

    let r = app.get("/api/directory/search?q=cmp&per_page=5").await;
    assert_eq!(r.status, StatusCode::OK);
    let j = r.json();
    assert!(j["total"].as_u64().unwrap() >= 1);
    assert!(
        j["hits"][0]["name"].as_str().unwrap().contains("CMP")
            || j["hits"][0]["category"].as_str().unwrap().contains("psychologique")
    );
    assert!(j["categories"].as_array().unwrap().is_empty(), "facets only on request");
    let j = app.get("/api/directory/search?q=cmp&facettes=1").await.json();
    assert!(!j["categories"].as_array().unwrap().is_empty());
    let r = app.get("/api/directory/search?age=-3").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.json()["error"]["message"].as_str().unwrap().contains("âge"));
}

const DEMO: &[u8] = include_bytes!("../data/demo/ror-92nord.ndjson");

fn load_demo(app: &TestApp) -> atomes::directory::import::ImportReport {
    let parsed = atomes::directory::fhir::parse(DEMO).unwrap();
    let scope = Scope::default();
    let request = ImportRequest { format: "fhir", file_name: "demo.ndjson", scope: &scope, mode: Mode::Delta };
    let r = atomes::directory::offers::import_fhir(&mut app.conn(), &app.state.system_context(), &request, &parsed)
        .unwrap();
    app.state.search.sync(&mut app.conn()).unwrap();
    r
}

/// The example: « the nearest SSIAD that takes a 58-year-old in Colombes ».
#[test]
fn ror_offers_answer_the_coordinators_questions() {
    let app = TestApp::new();
    let first = load_demo(&app);
    assert_eq!((first.created, first.rejected.len()), (262, 0));
    let again = load_demo(&app);
    assert_eq!((again.created, again.updated, again.unchanged), (0, 0, 262), "idempotent");

    let colombes = app.state.search.places().find("Colombes").expect("Colombes is a known place");
    assert_eq!(colombes.insee, "92025");
    assert_eq!(app.state.search.places().find("92700").unwrap().insee, "92025");
    let p = SearchParams {
        text: "ssiad".into(),
        age: Some(58),
        near: Some((colombes.lat, colombes.lon)),
        page: 1,
        per_page: 10,
        ..Default::default()
    };
    let r = app.state.search.search(&p).unwrap();
    assert!(!r.hits.is_empty());
    for h in &r.hits {
        assert!(h.card.age_min.unwrap_or(0) <= 58 && h.card.age_max.unwrap_or(200) >= 58, "{:?}", h.card);
        assert!(h.card.subtitle.as_deref().unwrap_or("").contains("SSIAD"), "{:?}", h.card);
    }
    let d: Vec<f64> = r.hits.iter().map(|h| h.distance_km.unwrap()).collect();
    assert!(d.windows(2).all(|w| w[0] <= w[1]));

    let cmp = names(&app, text("cmp adultes gennevilliers"));
    assert!(!cmp.is_empty());
    let temp = app
        .state
        .search
        .search(&SearchParams {
            text: "hébergement temporaire alzheimer".into(),
            page: 1,
            per_page: 5,
            ..Default::default()
        })
        .unwrap();
    assert!(
        temp.hits.iter().all(|h| h.card.name.contains("temporaire") || h.card.name.contains("Alzheimer")),
        "{:?}",
        temp.hits.iter().map(|h| &h.card.name).collect::<Vec<_>>()
    );
}

/// DIR-4: sensitive units are indexed, but only a search for a logged-in account finds them.
#[test]
fn sensitive_units_are_found_by_logged_in_searches_only() {
    let app = TestApp::new();
    load_demo(&app);
    let parsed = atomes::directory::fhir::parse(DEMO).unwrap();
    let sensitive: Vec<&str> =
        parsed.healthcare_services.iter().filter(|s| s.sensitive_unit).filter_map(|s| s.name.as_deref()).collect();
    assert_eq!(sensitive.len(), 3);
    let active = atomes::directory::offers::count_offers(&mut app.conn(), "active").unwrap();
    assert_eq!(app.state.search.num_docs() as i64, active);
    let all = |include_sensitive| SearchParams { per_page: 100, page: 1, include_sensitive, ..Default::default() };
    let anonymous = app.state.search.search(&all(false)).unwrap();
    assert_eq!(anonymous.total as i64, active - 3);
    let logged_in = app.state.search.search(&all(true)).unwrap();
    assert_eq!(logged_in.total as i64, active);
    for name in sensitive {
        let p = |include_sensitive| SearchParams {
            text: name.into(),
            page: 1,
            per_page: 20,
            include_sensitive,
            ..Default::default()
        };
        let found = |r: atomes::directory::search::SearchResults| {
            r.hits.iter().any(|h| h.card.name == name && h.card.sensitive)
        };
        assert!(!found(app.state.search.search(&p(false)).unwrap()), "{name}");
        assert!(found(app.state.search.search(&p(true)).unwrap()), "{name}");
    }
}
