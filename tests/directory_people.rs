//! Professionals and their roles (ROR and Annuaire Santé FHIR), capacities as rows, and the
//! « places disponibles » filter of the search (issue 4: DIR-1, DIR-3).

use atomes::db::schema::{dir_capacities, dir_offers, dir_practitioner_roles, dir_practitioners};
use atomes::directory::import::{ImportReport, ImportRequest, Mode, Scope};
use atomes::directory::practitioners::{self, ANNUAIRE_SANTE, KindCounts};
use axum::http::StatusCode;
use diesel::prelude::*;

use crate::support::TestApp;

const DEMO: &str = include_str!("../data/demo/ror-92nord.ndjson");
const FULL: Mode = Mode::Full { max_closing_share: 1.0 };

macro_rules! annuaire {
    ($name:literal) => {
        include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/fhir/", $name))
    };
}

/// A test app with the NOS tables loaded (capacity labels come from them).
fn new_app() -> TestApp {
    let app = TestApp::new();
    let now = app.clock_now();
    atomes::db::write_tx(&mut app.conn(), |c| atomes::directory::nomenclature::load_embedded(c, now)).unwrap();
    app
}

fn import(app: &TestApp, text: &str, mode: Mode) -> ImportReport {
    import_in(app, text, mode, &Scope::default())
}

fn import_in(app: &TestApp, text: &str, mode: Mode, scope: &Scope) -> ImportReport {
    let parsed = atomes::directory::fhir::parse(text.as_bytes()).unwrap();
    let request = ImportRequest { format: "fhir", file_name: "t.json", scope, mode };
    let r = atomes::directory::offers::import_fhir(&mut app.conn(), &app.state.system_context(), &request, &parsed)
        .unwrap();
    app.state.search.sync(&mut app.conn()).unwrap();
    r
}

fn counts(created: usize, updated: usize, unchanged: usize, closed: usize) -> KindCounts {
    KindCounts { created, updated, unchanged, closed }
}

/// The demo line of one resource, changed by `edit`.
fn demo_line(id: &str, edit: impl FnOnce(&mut serde_json::Value)) -> String {
    let line = DEMO.lines().find(|l| l.contains(&format!("\"id\":\"{id}\""))).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(line).unwrap();
    edit(&mut v);
    v.to_string()
}

fn demo_lines(ids: &[&str]) -> String {
    ids.iter().map(|id| demo_line(id, |_| {}) + "\n").collect()
}

fn offer_id(app: &TestApp, key: &str) -> i64 {
    dir_offers::table.filter(dir_offers::source_key.eq(key)).select(dir_offers::id).first(&mut *app.conn()).unwrap()
}

#[test]
fn annuaire_sante_samples_import_once() {
    let app = new_app();
    // Each real sample is one PractitionerRole; they carry the name on the role (no Practitioner).
    let samples = [
        (annuaire!("PP16-professionalRole_ExePro.json"), "3775792", Some("CHATELIER"), Some("David"), Some("21")),
        (annuaire!("PP19-professionalRole_ExePro.json"), "414150", Some("BONNET"), Some("Jerome"), Some("10")),
        (annuaire!("PP16-organizationalRole_SituExe.json"), "5015602", None, None, None),
    ];
    for (text, key, family, given, profession) in samples {
        let r = import(&app, text, Mode::Delta);
        assert_eq!((r.rejected.len(), r.created, r.practitioners), (0, 0, counts(0, 0, 0, 0)), "{key}");
        assert_eq!(r.roles, counts(1, 0, 0, 0), "{key}");
        let role = practitioners::find_role(&mut app.conn(), ANNUAIRE_SANTE, key).unwrap().expect(key);
        assert_eq!((role.family_name.as_deref(), role.given_names.as_deref()), (family, given));
        assert_eq!(role.profession_code.as_deref(), profession);
        assert_eq!(role.status, "active");
        let again = import(&app, text, Mode::Delta);
        assert_eq!(again.roles, counts(0, 0, 1, 0), "same file twice: no change ({key})");
    }
    let pharmacist = practitioners::find_role(&mut app.conn(), ANNUAIRE_SANTE, "3775792").unwrap().unwrap();
    assert_eq!(pharmacist.profession_system.as_deref(), Some("urn:oid:1.2.250.1.71.1.2.7"));
    assert_eq!(pharmacist.profession_label.as_deref(), Some("Pharmacien"));
    // Mode d'exercice « C », kept as (system, code, label).
    assert_eq!(
        (pharmacist.role_system.as_deref(), pharmacist.role_code.as_deref()),
        (Some("urn:oid:1.2.250.1.213.1.6.1.10"), Some("C"))
    );
    let situation = practitioners::find_role(&mut app.conn(), ANNUAIRE_SANTE, "5015602").unwrap().unwrap();
    assert_eq!(situation.organization_identifier.as_deref(), Some("1580008803"));
    assert_eq!(situation.role_code.as_deref(), Some("FON-AU"));
    assert!(situation.codings.contains("GENR01"));
    // Four telecoms without a value: nothing public to keep.
    assert_eq!(situation.public_telecoms, "[]");
}

/// An Annuaire Santé v2-shaped Practitioner (DOMAIN.md §2.2 identifiers): its RPPS is kept.
const AS_PRACTITIONER: &str = r#"{"resourceType":"Practitioner","id":"003-138-7485",
 "meta":{"source":"https://annuaire.sante.fr","lastUpdated":"2024-05-02T10:00:00+02:00"},
 "identifier":[{"system":"urn:oid:1.2.250.1.71.4.2.1","value":"810003461033"}],
 "active":true,"name":[{"family":"EXEMPLE","given":["Camille"],"prefix":["MME"]}],
 "qualification":[{"code":{"coding":[{"system":"https://mos.esante.gouv.fr/NOS/TRE_G15-ProfessionSante/FHIR/TRE-G15-ProfessionSante","code":"60"}]}}]}"#;

#[test]
fn a_practitioner_keeps_its_rpps_and_profession() {
    let app = new_app();
    let r = import(&app, AS_PRACTITIONER, Mode::Delta);
    assert_eq!(r.practitioners, counts(1, 0, 0, 0));
    let p = practitioners::find_practitioner(&mut app.conn(), ANNUAIRE_SANTE, "003-138-7485").unwrap().unwrap();
    assert_eq!(p.rpps.as_deref(), Some("10003461033"), "IDNPS \"8\" + RPPS");
    assert_eq!((p.identifier.as_deref(), p.civility.as_deref()), (Some("810003461033"), Some("MME")));
    assert_eq!((p.family_name.as_deref(), p.given_names.as_deref()), (Some("EXEMPLE"), Some("Camille")));
    assert_eq!((p.profession_code.as_deref(), p.profession_label.as_deref()), (Some("60"), Some("Infirmier")));
    assert_eq!(import(&app, AS_PRACTITIONER, Mode::Delta).practitioners, counts(0, 0, 1, 0));
}

#[test]
fn a_full_extract_closes_vanished_professionals_and_a_delta_does_not() {
    let app = new_app();
    let people = ["demo-ps-0001", "demo-ps-0002", "demo-role-0001", "demo-role-0002"];
    let first = import(&app, &demo_lines(&people), FULL);
    assert_eq!((first.practitioners, first.roles), (counts(2, 0, 0, 0), counts(2, 0, 0, 0)));
    let role = practitioners::find_role(&mut app.conn(), "ror", "demo-role-0001").unwrap().unwrap();
    let ps = practitioners::find_practitioner(&mut app.conn(), "ror", "demo-ps-0001").unwrap().unwrap();
    assert_eq!(role.practitioner_id, Some(ps.id), "the role points at its practitioner");
    assert_eq!((role.profession_code.as_deref(), role.profession_label.as_deref()), (Some("10"), Some("Médecin")));
    assert_eq!(
        (role.specialty_code.as_deref(), role.specialty_label.as_deref()),
        (Some("437"), Some("Médecine générale"))
    );
    assert_eq!((ps.family_name.as_deref(), ps.civility.as_deref()), (Some("Bonnet"), Some("Dr")));

    // A role imported before its practitioner is linked when the practitioner comes.
    let r = import(&app, &demo_lines(&["demo-role-0003"]), Mode::Delta);
    assert_eq!(r.roles, counts(1, 0, 0, 0));
    let early = practitioners::find_role(&mut app.conn(), "ror", "demo-role-0003").unwrap().unwrap();
    assert_eq!(early.practitioner_id, None);
    let r = import(&app, &demo_lines(&["demo-ps-0003", "demo-role-0003"]), Mode::Delta);
    assert_eq!((r.practitioners, r.roles), (counts(1, 0, 0, 0), counts(0, 0, 1, 0)));
    let linked = practitioners::find_role(&mut app.conn(), "ror", "demo-role-0003").unwrap().unwrap();
    let ps3 = practitioners::find_practitioner(&mut app.conn(), "ror", "demo-ps-0003").unwrap().unwrap();
    assert_eq!(linked.practitioner_id, Some(ps3.id));
    let people = ["demo-ps-0001", "demo-ps-0002", "demo-ps-0003", "demo-role-0001", "demo-role-0002", "demo-role-0003"];
    assert_eq!(import(&app, &demo_lines(&people), FULL).roles, counts(0, 0, 3, 0));

    let fewer = demo_lines(&["demo-ps-0001", "demo-role-0001"]);
    let delta = import(&app, &fewer, Mode::Delta);
    assert_eq!((delta.practitioners, delta.roles), (counts(0, 0, 1, 0), counts(0, 0, 1, 0)));
    assert_eq!(practitioners::count_practitioners(&mut app.conn(), "closed").unwrap(), 0);

    // Professionals have no territory: an extract scoped to one closes none of them.
    let scope = Scope { departements: vec!["92".into()], communes: vec![] };
    let scoped = import_in(&app, &fewer, FULL, &scope);
    assert_eq!((scoped.practitioners, scoped.roles), (counts(0, 0, 1, 0), counts(0, 0, 1, 0)));

    let full = import(&app, &fewer, FULL);
    assert_eq!((full.practitioners, full.roles), (counts(0, 0, 1, 2), counts(0, 0, 1, 2)));
    let closed: Vec<String> = dir_practitioners::table
        .filter(dir_practitioners::status.eq("closed"))
        .order(dir_practitioners::source_key.asc())
        .select(dir_practitioners::source_key)
        .load(&mut *app.conn())
        .unwrap();
    assert_eq!(closed, ["demo-ps-0002", "demo-ps-0003"], "closed, not deleted");
    let role = practitioners::find_role(&mut app.conn(), "ror", "demo-role-0002").unwrap().unwrap();
    assert_eq!(role.status, "closed");
    // The same full file again: nothing more to close.
    let again = import(&app, &fewer, FULL);
    assert_eq!((again.practitioners, again.roles), (counts(0, 0, 1, 0), counts(0, 0, 1, 0)));
}

#[test]
fn a_file_of_professionals_alone_closes_no_offer_even_in_full_mode() {
    let app = new_app();
    let demo = import(&app, DEMO, Mode::Delta);
    assert_eq!((demo.created, demo.practitioners.created, demo.roles.created), (262, 29, 29));
    let r = import(&app, annuaire!("PP19-professionalRole_ExePro.json"), FULL);
    assert_eq!((r.closed, r.practitioners.closed, r.roles.closed), (0, 0, 0));
    assert_eq!(atomes::directory::offers::count_offers(&mut app.conn(), "closed").unwrap(), 0);
    // The ROR's roles are not the Annuaire Santé's: none of them closed either.
    let closed: i64 = dir_practitioner_roles::table
        .filter(dir_practitioner_roles::status.eq("closed"))
        .count()
        .get_result(&mut *app.conn())
        .unwrap();
    assert_eq!(closed, 0);
}

/// (status, temporality, count) of an offer's capacity rows, in order.
fn capacity_rows(app: &TestApp, offer: i64) -> Vec<(String, Option<String>, i32, i64)> {
    dir_capacities::table
        .filter(dir_capacities::offer_id.eq(offer))
        .order(dir_capacities::id.asc())
        .select((
            dir_capacities::status_code,
            dir_capacities::temporality_code,
            dir_capacities::count,
            dir_capacities::id,
        ))
        .load(&mut *app.conn())
        .unwrap()
}

/// « Médecine polyvalente » of the demo: 35 beds installed, 1 available, at `demo-lieu-0002`.
const MEDECINE: &str = "demo-offre-0003";
const MEDECINE_CONTEXT: [&str; 4] = ["demo-oi-0002", "demo-eg-0001", "demo-ej-0001", "demo-lieu-0002"];

#[test]
fn capacity_rows_are_replaced_when_the_offer_changes() {
    let app = new_app();
    import(&app, DEMO, Mode::Delta);
    let id = offer_id(&app, MEDECINE);
    let before = capacity_rows(&app, id);
    let shape = |rows: &[(String, Option<String>, i32, i64)]| {
        rows.iter().map(|(s, t, n, _)| (s.clone(), t.clone(), *n)).collect::<Vec<_>>()
    };
    let current = Some("01".to_owned());
    assert_eq!(shape(&before), [("01".to_owned(), current.clone(), 35), ("02".to_owned(), current.clone(), 1)]);
    let label: (String, String, Option<String>) = dir_capacities::table
        .filter(dir_capacities::offer_id.eq(id))
        .filter(dir_capacities::status_code.eq("02"))
        .select((dir_capacities::nature_label, dir_capacities::status_label, dir_capacities::temporality_label))
        .first(&mut *app.conn())
        .unwrap();
    assert_eq!(label, ("Lit".to_owned(), "Disponible".to_owned(), Some("Courant".to_owned())));

    // The same offer and place again: the rows are left as they are.
    let mut context: Vec<&str> = MEDECINE_CONTEXT.to_vec();
    context.push(MEDECINE);
    let same = import(&app, &demo_lines(&context), Mode::Delta);
    assert_eq!((same.updated, same.unchanged), (0, 1));
    assert_eq!(capacity_rows(&app, id), before);

    // Four beds free now: the offer changes, its rows are replaced.
    let location = demo_line("demo-lieu-0002", |v| {
        v["extension"][3]["extension"][3]["valueInteger"] = 4.into();
    });
    let text = demo_lines(&["demo-oi-0002", "demo-eg-0001", "demo-ej-0001", MEDECINE]) + &location + "\n";
    let changed = import(&app, &text, Mode::Delta);
    assert_eq!((changed.updated, changed.unchanged), (1, 0));
    let after = capacity_rows(&app, id);
    assert_eq!(shape(&after), [("01".to_owned(), current.clone(), 35), ("02".to_owned(), current, 4)]);
    assert!(after.iter().all(|r| before.iter().all(|b| b.3 != r.3)), "new rows, not edited ones");
    let total: i64 =
        dir_capacities::table.filter(dir_capacities::offer_id.eq(id)).count().get_result(&mut *app.conn()).unwrap();
    assert_eq!(total, 2, "the old rows are gone");
}

/// The offers anyone may find that have places free now, by the stored rows.
fn available_offers(app: &TestApp) -> Vec<i64> {
    let mut ids: Vec<i64> = dir_capacities::table
        .inner_join(dir_offers::table)
        .filter(dir_offers::status.eq("active"))
        .filter(dir_offers::sensitive.eq(false))
        .filter(dir_capacities::status_code.eq("02"))
        .filter(dir_capacities::temporality_code.eq("01"))
        .filter(dir_capacities::count.gt(0))
        .select(dir_offers::id)
        .distinct()
        .load(&mut *app.conn())
        .unwrap();
    ids.sort_unstable();
    ids
}

#[tokio::test]
async fn the_available_places_filter_keeps_only_offers_with_places_free_now() {
    let app = new_app();
    import(&app, DEMO, Mode::Delta);
    let expected = available_offers(&app);
    assert!(expected.len() > 10, "the demo has offers with places free: {}", expected.len());
    let all = app.get("/api/directory/search?q=medecine").await.json();
    let only = app.get("/api/directory/search?q=medecine&places=1").await.json();
    let (all_total, only_total) = (all["total"].as_u64().unwrap(), only["total"].as_u64().unwrap());
    assert!(0 < only_total && only_total < all_total, "{only_total} of {all_total}");
    for h in only["hits"].as_array().unwrap() {
        let id = h["id"].as_i64().unwrap();
        assert_eq!(h["kind"], "offer");
        assert!(expected.contains(&id), "offer {id} has no place free");
        assert!(h["available_places"].as_u64().unwrap() > 0);
        assert!(h["available_on"].is_string());
    }

    // Every page of the filtered search, without text: exactly the offers with places free.
    let mut found = Vec::new();
    for page in 1..=10 {
        let j = app.get(&format!("/api/directory/search?places=1&page={page}")).await.json();
        let hits = j["hits"].as_array().unwrap();
        found.extend(hits.iter().map(|h| h["id"].as_i64().unwrap()));
        if hits.is_empty() {
            break;
        }
    }
    found.sort_unstable();
    assert_eq!(found, expected);

    let medecine = offer_id(&app, MEDECINE);
    let hit = only["hits"].as_array().unwrap().iter().find(|h| h["id"] == medecine).cloned();
    let hit = hit.expect("« Médecine polyvalente » has a bed free");
    assert_eq!((hit["available_places"].as_u64(), hit["available_nature"].as_str()), (Some(1), Some("lit")));
    assert_eq!(hit["available_on"], "2026-09-10");

    let bad = app.get("/api/directory/search?places=oui").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.json()["error"]["message"].as_str().unwrap().contains("places disponibles"));

    // The page: the box stays ticked, and each result says how many places are free, as of when.
    let page = app.get("/annuaire?q=medecine&places=1").await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.count("input#places[checked]"), 1);
    let notes = page.texts(".result-available");
    assert_eq!(notes.len(), page.count(".result"), "{notes:?}");
    assert!(notes.contains(&"1 lit disponible (au 10/09/2026)".to_owned()), "{notes:?}");
    let unfiltered = app.get("/annuaire?q=medecine").await;
    assert_eq!(unfiltered.count("input#places[checked]"), 0);
    assert!(unfiltered.count(".result") > page.count(".result") || all_total > only_total);
}

#[tokio::test]
async fn the_sheet_lists_professionals_and_capacity_rows() {
    let app = new_app();
    import(&app, DEMO, Mode::Delta);
    import(&app, AS_PRACTITIONER, Mode::Delta);
    // demo-role-0001: Dr Nadia Bonnet, médecin in general practice, at demo-offre-0213.
    let id = offer_id(&app, "demo-offre-0213");
    let r = app.get(&format!("/annuaire/offre-{id}")).await;
    assert_eq!(r.status, StatusCode::OK);
    let people = r.texts(".practitioners li");
    assert!(people.contains(&"Dr Nadia Bonnet — Médecin, Médecine générale".to_owned()), "{people:?}");
    assert!(!people.iter().any(|p| p.contains("EXEMPLE")), "another source's professional: {people:?}");

    // The centre's other offer: its doctor names her offer, so she is not listed there.
    let (site, centre): (Option<String>, String) =
        dir_offers::table.find(id).select((dir_offers::site_key, dir_offers::name)).first(&mut *app.conn()).unwrap();
    let sibling: i64 = dir_offers::table
        .filter(dir_offers::site_key.eq(site))
        .filter(dir_offers::id.ne(id))
        .select(dir_offers::id)
        .first(&mut *app.conn())
        .unwrap();
    let r = app.get(&format!("/annuaire/offre-{sibling}")).await;
    assert_eq!(r.count(".practitioners li"), 0, "{centre}: {:?}", r.texts(".practitioners li"));
    // A role of the organization that names no offer is listed on each of its offers.
    let provider = demo_line("demo-offre-0213", |_| {});
    let provider: serde_json::Value = serde_json::from_str(&provider).unwrap();
    let org_role = demo_line("demo-role-0002", |v| {
        v["id"] = "demo-role-9001".into();
        v["organization"] = provider["providedBy"].clone();
        v.as_object_mut().unwrap().remove("healthcareService");
    });
    import(&app, &(org_role + "\n"), Mode::Delta);
    for offer in [id, sibling] {
        let r = app.get(&format!("/annuaire/offre-{offer}")).await;
        assert!(r.texts(".practitioners li").contains(&"Dr Laure Marchand — Médecin, Médecine générale".to_owned()));
    }

    let r = app.get(&format!("/annuaire/offre-{}", offer_id(&app, MEDECINE))).await;
    let rows = r.texts("table.capacities tbody tr");
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert!(rows[0].starts_with("Lit Installé (Courant) 35 "), "{rows:?}");
    assert!(rows[1].starts_with("Lit Disponible (Courant) 1 "), "{rows:?}");
    assert_eq!(r.count(".practitioners li"), 0, "nobody works at a hospital ward in the demo");
}

fn active_offers(app: &TestApp, in_92: bool) -> i64 {
    let q = dir_offers::table.filter(dir_offers::status.eq("active")).filter(dir_offers::source.eq("ror"));
    if in_92 {
        q.filter(dir_offers::departement.eq("92")).count().get_result(&mut *app.conn()).unwrap()
    } else {
        q.filter(dir_offers::departement.ne("92")).count().get_result(&mut *app.conn()).unwrap()
    }
}

#[test]
fn a_full_import_limited_to_a_territory_closes_only_what_vanished_from_it() {
    let app = new_app();
    import(&app, DEMO, Mode::Delta);
    let (inside, outside) = (active_offers(&app, true), active_offers(&app, false));
    assert!(inside > 20 && outside > 0, "{inside} in 92, {outside} elsewhere");
    let scope = Scope { departements: vec!["92".into()], communes: vec![] };

    // The same file, full mode, for the 92 only: nothing vanished, nothing closes elsewhere.
    let r = import_in(&app, DEMO, FULL, &scope);
    assert_eq!((r.closed, r.created, r.updated), (0, 0, 0));
    assert_eq!((active_offers(&app, true), active_offers(&app, false)), (inside, outside));

    // A file that lost all but three of its offers, imported in full for the 92: most offers
    // of the 92 would close — refused beyond the allowed share, and nothing changes.
    let mut kept = 0;
    let not_92: String = DEMO
        .lines()
        .filter(|l| {
            let offer = l.contains("\"resourceType\":\"HealthcareService\"");
            kept += usize::from(offer);
            !offer || kept <= 3
        })
        .map(|l| format!("{l}\n"))
        .collect();
    let parsed = atomes::directory::fhir::parse(not_92.as_bytes()).unwrap();
    let request = ImportRequest {
        format: "fhir",
        file_name: "t.json",
        scope: &scope,
        mode: Mode::Full { max_closing_share: 0.2 },
    };
    let err = atomes::directory::offers::import_fhir(&mut app.conn(), &app.state.system_context(), &request, &parsed)
        .unwrap_err();
    assert!(matches!(err, atomes::directory::import::ImportError::MassClosing { .. }), "{err}");
    assert_eq!((active_offers(&app, true), active_offers(&app, false)), (inside, outside));
}
