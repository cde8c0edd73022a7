//! The read-only FHIR endpoint (`/fhir`, ROR-compatible searches) and the OpenAPI document, over
//! the demo directory, on both backends: distance sort and extension, code filters, paging,
//! `_lastUpdated`, read, metadata, French OperationOutcomes, and nothing confidential published.

use std::collections::HashSet;

use atomes::directory::fhir::{
    ConfidentialityLevel, FhirHealthcareService, FhirImport, SYSTEM_ACTIVITE_OPERATIONNELLE,
};
use atomes::directory::geo::haversine_km;
use atomes::directory::import::{ImportRequest, Mode, Scope};
use atomes::directory::offers;
use atomes::web::fhir::{DISTANCE_EXTENSION, SEARCH_PARAMETERS};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::Value;

use crate::support::{TestApp, TestResponse};

const DEMO: &[u8] = include_bytes!("../data/demo/ror-92nord.ndjson");
const BASE: &str = "http://127.0.0.1:8080/fhir";

/// An application with the demo directory imported and indexed, and the parsed file.
fn demo() -> (TestApp, FhirImport) {
    let app = TestApp::new();
    let parsed = atomes::directory::fhir::parse(DEMO).unwrap();
    let scope = Scope::default();
    let request = ImportRequest { format: "fhir", file_name: "demo.ndjson", scope: &scope, mode: Mode::Delta };
    offers::import_fhir(&mut app.conn(), &app.state.system_context(), &request, &parsed).unwrap();
    app.state.search.sync(&mut app.conn()).unwrap();
    (app, parsed)
}

/// The offers anyone may find.
fn public(parsed: &FhirImport) -> impl Iterator<Item = &FhirHealthcareService> {
    parsed.healthcare_services.iter().filter(|s| !s.sensitive_unit)
}

/// `GET path`, checked to be FHIR JSON with `status`.
async fn fhir(app: &TestApp, path: &str, status: StatusCode) -> Value {
    let r = app.get(path).await;
    assert_eq!(r.status, status, "{path}: {}", r.body);
    assert_eq!(r.header("content-type"), "application/fhir+json; charset=utf-8", "{path}");
    r.json()
}

/// The HealthcareService entries of a Bundle.
fn matches(bundle: &Value) -> Vec<&Value> {
    bundle["entry"]
        .as_array()
        .map(|e| e.iter().filter(|e| e["search"]["mode"] == "match").collect())
        .unwrap_or_default()
}

fn ids(bundle: &Value) -> Vec<String> {
    matches(bundle).iter().map(|e| e["resource"]["id"].as_str().unwrap().to_owned()).collect()
}

fn total(bundle: &Value) -> usize {
    bundle["total"].as_u64().unwrap() as usize
}

/// The `next` link of a Bundle, as a path.
fn next(bundle: &Value) -> Option<String> {
    bundle["link"].as_array().unwrap().iter().find(|l| l["relation"] == "next").map(|l| {
        let url = l["url"].as_str().unwrap();
        url.strip_prefix("http://127.0.0.1:8080").unwrap().to_owned()
    })
}

/// Every page of a search, following `next`.
async fn all_pages(app: &TestApp, first: &str) -> (Vec<Value>, Vec<String>) {
    let mut pages = Vec::new();
    let mut ids_seen = Vec::new();
    let mut path = Some(first.to_owned());
    while let Some(p) = path {
        let b = fhir(app, &p, StatusCode::OK).await;
        ids_seen.extend(ids(&b));
        path = next(&b);
        pages.push(b);
        assert!(pages.len() < 50, "paging ends");
    }
    (pages, ids_seen)
}

fn codes(resource: &Value, element: &str) -> Vec<String> {
    resource[element]
        .as_array()
        .map(|a| a.iter().map(|c| c["coding"][0]["code"].as_str().unwrap().to_owned()).collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn a_near_search_is_sorted_by_distance_with_the_distance_extension() {
    let (app, _) = demo();
    let colombes = app.state.search.places().find("Colombes").unwrap();
    let (lat, lon) = (colombes.lat, colombes.lon);
    let b =
        fhir(&app, &format!("/fhir/HealthcareService?location.near={lat}|{lon}|3|km&_count=100"), StatusCode::OK).await;
    assert_eq!((b["resourceType"].as_str(), b["type"].as_str()), (Some("Bundle"), Some("searchset")));
    let entries = matches(&b);
    assert!(entries.len() >= 10 && entries.len() == total(&b).min(100), "{} of {}", entries.len(), total(&b));
    let mut previous = 0.0;
    for e in &entries {
        let ext = &e["search"]["extension"][0];
        assert_eq!(ext["url"], DISTANCE_EXTENSION);
        let d = &ext["valueDistance"];
        assert_eq!((d["system"].as_str(), d["code"].as_str()), (Some("http://unitsofmeasure.org"), Some("km")));
        let km = d["value"].as_f64().unwrap();
        assert!(km >= previous && km <= 3.0, "{km} after {previous}");
        previous = km;
        // The distance is the one from the point to the offer's location.
        let id = e["resource"]["id"].as_str().unwrap();
        assert_eq!(e["fullUrl"].as_str().unwrap(), format!("{BASE}/HealthcareService/{id}"));
        let o = offers::find_offer_by_key(&mut app.conn(), "ror", id).unwrap().unwrap();
        let expected = haversine_km((lat, lon), (o.lat.unwrap(), o.lon.unwrap()));
        assert!((km - expected).abs() < 0.001, "{id}: {km} vs {expected}");
    }
    // The same search in metres, in the issue's `lat|lon|km` form, and around the INSEE code.
    let ids_km = ids(&b);
    for near in [format!("location.near={lat}|{lon}|3000|m"), format!("location.near={lat}|{lon}|3")] {
        let other = fhir(&app, &format!("/fhir/HealthcareService?{near}&_count=100"), StatusCode::OK).await;
        assert_eq!(ids(&other), ids_km, "{near}");
    }
    let around =
        fhir(&app, "/fhir/HealthcareService?location.near-insee-code=92025|3|km&_count=100", StatusCode::OK).await;
    assert_eq!(ids(&around), ids_km);
    // Without a distance, the radius widens; no point, no extension.
    let widened = fhir(&app, &format!("/fhir/HealthcareService?location.near={lat}|{lon}"), StatusCode::OK).await;
    assert!(total(&widened) >= 5);
    let plain = fhir(&app, "/fhir/HealthcareService?_count=5", StatusCode::OK).await;
    assert!(matches(&plain).iter().all(|e| e["search"].get("extension").is_none()));
}

#[tokio::test]
async fn specialty_type_and_characteristic_filter_like_the_ror() {
    let (app, parsed) = demo();
    let has = |s: &FhirHealthcareService, code: &str| s.operational_activities.iter().any(|c| c.code == code);
    let general = public(&parsed).filter(|s| has(s, "437")).count();
    assert!(general > 0);
    let b = fhir(
        &app,
        &format!("/fhir/HealthcareService?specialty={SYSTEM_ACTIVITE_OPERATIONNELLE}|437&_count=100"),
        StatusCode::OK,
    )
    .await;
    assert_eq!(total(&b), general);
    assert!(matches(&b).iter().all(|e| codes(&e["resource"], "specialty").contains(&"437".to_owned())));
    let bare = fhir(&app, "/fhir/HealthcareService?specialty=437", StatusCode::OK).await;
    assert_eq!(total(&bare), general, "a code without system");
    let foreign = fhir(&app, "/fhir/HealthcareService?specialty=http://loinc.org|437", StatusCode::OK).await;
    assert_eq!(total(&foreign), 0, "a code of another system matches nothing");
    let either = public(&parsed).filter(|s| has(s, "437") || has(s, "285")).count();
    let b = fhir(&app, "/fhir/HealthcareService?specialty=437,285", StatusCode::OK).await;
    assert_eq!(total(&b), either, "a comma is « or »");
    let all = public(&parsed).count();
    let b = fhir(&app, "/fhir/HealthcareService?specialty:not=437", StatusCode::OK).await;
    assert_eq!(total(&b), all - general);

    let field = |s: &FhirHealthcareService, code: &str| s.activity_fields.iter().any(|c| c.code == code);
    let medico_social = public(&parsed).filter(|s| field(s, "04")).count();
    let b = fhir(&app, "/fhir/HealthcareService?service-type=04&_count=100", StatusCode::OK).await;
    assert_eq!(total(&b), medico_social);
    assert!(matches(&b).iter().all(|e| codes(&e["resource"], "type") == ["04"]));
    // Repeated parameters are « and ».
    let both = public(&parsed).filter(|s| field(s, "04") && has(s, "293")).count();
    let b = fhir(&app, "/fhir/HealthcareService?service-type=04&specialty=293", StatusCode::OK).await;
    assert_eq!(total(&b), both);
    let care = |s: &FhirHealthcareService| s.care_modes.iter().any(|c| c.code == "33");
    let b = fhir(&app, "/fhir/HealthcareService?characteristic=33", StatusCode::OK).await;
    assert_eq!(total(&b), public(&parsed).filter(|s| care(s)).count());
    // Age range as the ROR writes it (patient of 35), town and postal code of the location.
    let takes_35 = public(&parsed).filter(|s| s.age_min.unwrap_or(0) <= 35 && s.age_max.unwrap_or(200) >= 35).count();
    let b = fhir(
        &app,
        "/fhir/HealthcareService?age-range-low=le35|http://unitsofmeasure.org|a&age-range-high=ge35",
        StatusCode::OK,
    )
    .await;
    assert_eq!(total(&b), takes_35);
    let in_colombes = fhir(&app, "/fhir/HealthcareService?address-city=colombes&_count=100", StatusCode::OK).await;
    let by_code =
        fhir(&app, "/fhir/HealthcareService?location.address-postalcode=92700&_count=100", StatusCode::OK).await;
    let by_cog = fhir(&app, "/fhir/HealthcareService?location.commune-cog=92025&_count=100", StatusCode::OK).await;
    assert!(total(&in_colombes) > 0);
    assert_eq!(ids(&in_colombes).into_iter().collect::<HashSet<_>>(), ids(&by_code).into_iter().collect());
    assert_eq!(total(&by_cog), total(&by_code));
    // `name`: every word, the last one as a prefix, names only.
    let b = fhir(&app, "/fhir/HealthcareService?name=soins%20infirm&_count=100", StatusCode::OK).await;
    let named = public(&parsed).filter(|s| s.name.as_deref().unwrap().starts_with("Soins infirmiers")).count();
    assert_eq!(total(&b), named);
    assert!(matches(&b).iter().all(|e| e["resource"]["name"].as_str().unwrap().starts_with("Soins infirmiers")));
}

#[tokio::test]
async fn count_and_next_links_page_through_every_public_offer() {
    let (app, parsed) = demo();
    let all = public(&parsed).count();
    let first = fhir(&app, "/fhir/HealthcareService", StatusCode::OK).await;
    assert_eq!(total(&first), all);
    assert_eq!(matches(&first).len(), 20, "20 by default");
    let self_link = first["link"][0]["url"].as_str().unwrap();
    assert_eq!(
        (first["link"][0]["relation"].as_str(), self_link),
        (Some("self"), "http://127.0.0.1:8080/fhir/HealthcareService?_count=20")
    );
    let (pages, seen) = all_pages(&app, "/fhir/HealthcareService?service-type=04,05,01,02,03&_count=70").await;
    assert_eq!(pages.len(), all.div_ceil(70));
    assert_eq!(seen.len(), all);
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), all, "no offer twice");
    assert!(next(pages.last().unwrap()).is_none());
    let second = pages[1]["link"].as_array().unwrap();
    assert!(second.iter().any(|l| l["relation"] == "previous"));
    assert!(second[0]["url"].as_str().unwrap().contains("service-type=04%2C05%2C01%2C02%2C03"), "{second:?}");
    // `_count` is capped, and 0 gives the total alone.
    let capped = fhir(&app, "/fhir/HealthcareService?_count=1000", StatusCode::OK).await;
    assert_eq!(matches(&capped).len(), 100);
    let counted = fhir(&app, "/fhir/HealthcareService?_count=0", StatusCode::OK).await;
    assert_eq!((total(&counted), counted.get("entry")), (all, None));
    let offset = fhir(&app, "/fhir/HealthcareService?_count=10&_getpagesoffset=15", StatusCode::OK).await;
    let wide = fhir(&app, "/fhir/HealthcareService?_count=25", StatusCode::OK).await;
    assert_eq!(ids(&offset), ids(&wide)[15..25]);
}

#[tokio::test]
async fn last_updated_selects_by_date_with_prefixes() {
    let (app, parsed) = demo();
    let cut = chrono::DateTime::parse_from_rfc3339("2026-06-01T00:00:00Z").unwrap();
    let since = public(&parsed).filter(|s| s.last_updated.unwrap() >= cut).count();
    assert!(since > 0 && since < public(&parsed).count());
    let b = fhir(&app, "/fhir/HealthcareService?_lastUpdated=ge2026-06-01&_count=100", StatusCode::OK).await;
    assert_eq!(total(&b), since);
    assert!(
        matches(&b).iter().all(|e| e["resource"]["meta"]["lastUpdated"].as_str().unwrap() >= "2026-06-01T00:00:00Z")
    );
    let before = fhir(&app, "/fhir/HealthcareService?_lastUpdated=lt2026-06-01", StatusCode::OK).await;
    assert_eq!(total(&before) + since, public(&parsed).count());
    // A span, with a time and a zone as in the ROR's examples.
    let (lo, hi) = ("2026-01-01T00:00:00+01:00", "2026-01-31T23:59:59+01:00");
    let in_january = public(&parsed)
        .filter(|s| {
            let t = s.last_updated.unwrap();
            t >= chrono::DateTime::parse_from_rfc3339(lo).unwrap()
                && t < chrono::DateTime::parse_from_rfc3339(hi).unwrap() + chrono::Duration::seconds(1)
        })
        .count();
    let path = format!(
        "/fhir/HealthcareService?_lastUpdated=ge{}&_lastUpdated=le{}",
        lo.replace('+', "%2B"),
        hi.replace('+', "%2B")
    );
    assert_eq!(total(&fhir(&app, &path, StatusCode::OK).await), in_january);
    let year = fhir(&app, "/fhir/HealthcareService?_lastUpdated=2025", StatusCode::OK).await;
    let in_2025 = public(&parsed).filter(|s| s.last_updated.unwrap().format("%Y").to_string() == "2025").count();
    assert_eq!(total(&year), in_2025);
}

#[tokio::test]
async fn read_by_id_metadata_and_operation_outcomes() {
    let (app, _) = demo();
    let r = fhir(&app, "/fhir/HealthcareService/demo-offre-0001", StatusCode::OK).await;
    assert_eq!(r["resourceType"], "HealthcareService");
    assert_eq!(r["id"], "demo-offre-0001");
    assert_eq!(r["identifier"][0]["value"], "92D-OFF-00001");
    assert_eq!(r["active"], true);
    assert_eq!(r["providedBy"]["reference"], "Organization/demo-oi-0001");
    assert_eq!(r["location"][0]["reference"], "Location/demo-lieu-0001");
    assert_eq!(codes(&r, "type"), ["01"]);
    assert_eq!(codes(&r, "specialty"), ["157"]);
    assert_eq!(codes(&r, "characteristic"), ["33"]);
    assert_eq!(r["name"], "Urgences adultes");
    assert_eq!(r["meta"]["lastUpdated"], "2026-10-03T16:58:40Z");
    // Only the « accès libre » telephone; the secretariat (restricted) and the H24 line (regulation) are not.
    assert_eq!(r["telecom"], serde_json::json!([{ "system": "phone", "value": "0199001260" }]));

    for id in ["demo-offre-9999", "demo-offre-0013", "x%20y"] {
        let o = fhir(&app, &format!("/fhir/HealthcareService/{id}"), StatusCode::NOT_FOUND).await;
        assert_eq!(o["resourceType"], "OperationOutcome");
        assert_eq!(o["issue"][0]["code"], "not-found");
        assert!(o["issue"][0]["diagnostics"].as_str().unwrap().contains("n'existe pas"), "{o}");
    }
    let unknown = fhir(&app, "/fhir/Patient", StatusCode::NOT_FOUND).await;
    assert_eq!(unknown["resourceType"], "OperationOutcome");

    let m = fhir(&app, "/fhir/metadata", StatusCode::OK).await;
    assert_eq!((m["resourceType"].as_str(), m["fhirVersion"].as_str()), (Some("CapabilityStatement"), Some("4.0.1")));
    let resource = &m["rest"][0]["resource"][0];
    assert_eq!(resource["type"], "HealthcareService");
    let names: Vec<&str> =
        resource["searchParam"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    for p in ["specialty", "service-type", "location.near", "_lastUpdated", "_id"] {
        assert!(names.contains(&p), "{p}");
    }
    assert_eq!(names.len(), SEARCH_PARAMETERS.iter().filter(|p| !p.result).count());
    // Read only.
    for method in [axum::http::Method::DELETE, axum::http::Method::POST, axum::http::Method::PUT] {
        let r = app.request(method.clone(), "/fhir/HealthcareService/demo-offre-0001", Body::empty()).await;
        assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED, "{method}");
        assert_eq!(r.json()["resourceType"], "OperationOutcome");
    }
}

#[tokio::test]
async fn bad_values_are_refused_in_french_and_unknown_parameters_reported() {
    let (app, _) = demo();
    for (query, word) in [
        ("location.near=abc", "location.near"),
        ("location.near=48.9|2.2|5|mi", "unité"),
        ("location.near-insee-code=99999|5|km", "99999"),
        ("_lastUpdated=hier", "date"),
        ("_lastUpdated=ap2026-01-01", "préfixes"),
        ("_count=-1", "_count"),
        ("_getpagesoffset=20000", "_getpagesoffset"),
        ("specialty:below=437", "modificateur"),
        ("age-range-low=le35|http://unitsofmeasure.org|mo", "âge"),
        ("active=peut-etre", "active"),
        ("_format=xml", "JSON"),
    ] {
        let o = fhir(&app, &format!("/fhir/HealthcareService?{query}"), StatusCode::BAD_REQUEST).await;
        assert_eq!(o["resourceType"], "OperationOutcome", "{query}");
        assert_eq!(
            (o["issue"][0]["severity"].as_str(), o["issue"][0]["code"].as_str()),
            (Some("error"), Some("invalid"))
        );
        let text = o["issue"][0]["diagnostics"].as_str().unwrap();
        assert!(text.contains(word), "{query}: {text}");
    }
    // Two faults, two issues.
    let o = fhir(&app, "/fhir/HealthcareService?_count=x&_lastUpdated=y", StatusCode::BAD_REQUEST).await;
    assert_eq!(o["issue"].as_array().unwrap().len(), 2);

    // FHIR lenient handling: unknown parameters are ignored, and said so.
    let b = fhir(
        &app,
        "/fhir/HealthcareService?specialty=437&_include=HealthcareService:organization&foo=1",
        StatusCode::OK,
    )
    .await;
    let outcome: Vec<&Value> =
        b["entry"].as_array().unwrap().iter().filter(|e| e["search"]["mode"] == "outcome").collect();
    assert_eq!(outcome.len(), 1);
    assert_eq!(outcome[0]["resource"]["resourceType"], "OperationOutcome");
    let text = outcome[0]["resource"]["issue"][0]["diagnostics"].as_str().unwrap();
    assert!(text.contains("_include") && text.contains("foo") && text.contains("ignorés"), "{text}");
    let plain = fhir(&app, "/fhir/HealthcareService?specialty=437", StatusCode::OK).await;
    assert_eq!(total(&b), total(&plain));
    assert!(!b["link"][0]["url"].as_str().unwrap().contains("foo"), "the self link holds what was used");
    // ...unless the client asks for strict handling.
    let req =
        Request::get("/fhir/HealthcareService?foo=1").header("prefer", "handling=strict").body(Body::empty()).unwrap();
    let r: TestResponse = app.send(req).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.json()["issue"][0]["diagnostics"].as_str().unwrap().contains("foo"));
}

#[tokio::test]
async fn no_sensitive_unit_and_no_confidential_contact_is_published() {
    let (app, parsed) = demo();
    let sensitive: Vec<&FhirHealthcareService> =
        parsed.healthcare_services.iter().filter(|s| s.sensitive_unit).collect();
    assert_eq!(sensitive.len(), 3);
    // Telecoms of restricted contacts (or restricted themselves), unless also published as free elsewhere.
    let free = |l: Option<ConfidentialityLevel>| l == Some(ConfidentialityLevel::Free);
    let mut restricted = HashSet::new();
    let mut open = HashSet::new();
    for s in &parsed.healthcare_services {
        for c in &s.contacts {
            for t in &c.telecoms {
                let public = matches!(c.confidentiality_level(), None | Some(ConfidentialityLevel::Free))
                    && free(t.confidentiality_level().or(c.confidentiality_level()));
                if public && !s.sensitive_unit {
                    open.insert(t.value.clone())
                } else {
                    restricted.insert(t.value.clone())
                };
            }
        }
    }
    let hidden: Vec<&String> = restricted.difference(&open).collect();
    assert!(hidden.len() > 20, "the demo has many confidential numbers: {}", hidden.len());
    let (pages, seen) = all_pages(&app, "/fhir/HealthcareService?_count=100").await;
    let body = pages.iter().map(Value::to_string).collect::<String>();
    for s in &sensitive {
        assert!(!seen.contains(&s.id), "{}", s.id);
        assert!(!body.contains(s.name.as_deref().unwrap()), "{:?}", s.name);
        let by_id = fhir(&app, &format!("/fhir/HealthcareService?_id={}", s.id), StatusCode::OK).await;
        assert_eq!(total(&by_id), 0);
        fhir(&app, &format!("/fhir/HealthcareService/{}", s.id), StatusCode::NOT_FOUND).await;
    }
    for value in hidden {
        assert!(!body.contains(value.as_str()), "confidential telecom {value} published");
    }
    assert!(body.contains("0199001260"), "public numbers are");
    // No contact person and no practitioner: nothing here is personal data.
    assert!(!body.contains("Practitioner") && !body.contains("\"contact\""));
}

#[tokio::test]
async fn fhir_requests_are_rate_limited_like_the_api() {
    let app = TestApp::new();
    for i in 0..60 {
        assert_eq!(app.get("/fhir/metadata").await.status, StatusCode::OK, "request {}", i + 1);
    }
    let r = app.get("/fhir/metadata").await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(!r.header("retry-after").is_empty());
    let o = r.json();
    assert_eq!(
        (o["resourceType"].as_str(), o["issue"][0]["code"].as_str()),
        (Some("OperationOutcome"), Some("throttled"))
    );
}

#[tokio::test]
async fn the_openapi_document_describes_the_search_api_and_the_fhir_endpoint() {
    let app = TestApp::new();
    let r = app.get("/api/openapi.json").await;
    assert_eq!(r.status, StatusCode::OK);
    let doc = r.json();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    for path in ["/api/directory/search", "/fhir/HealthcareService", "/fhir/HealthcareService/{id}", "/fhir/metadata"] {
        assert!(doc["paths"][path]["get"]["responses"]["200"].is_object(), "{path}");
    }
    let documented: HashSet<&str> = doc["paths"]["/api/directory/search"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    for p in ["q", "autour", "age", "categorie", "places", "departement", "commune", "page", "facettes"] {
        assert!(documented.contains(p), "{p}");
    }
    assert_eq!(documented.len(), 9);
    let error = &doc["components"]["schemas"]["ApiError"];
    assert!(error.is_object(), "the error schema");
    let fhir_params = doc["paths"]["/fhir/HealthcareService"]["get"]["parameters"].as_array().unwrap();
    assert_eq!(fhir_params.len(), SEARCH_PARAMETERS.len());
}
