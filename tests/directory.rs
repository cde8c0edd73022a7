//! Directory imports (DIR-3) on both backends: idempotence, updates, closing, scope, the
//! mass-closing guard, rejected records, delta flows, the change feed and the journal.

use atomes::clock::Clock;
use atomes::directory::finess::FinessEstablishment;
use atomes::directory::import::{self, ImportError, ImportReport, ImportRequest, Mode, Scope};
use atomes::directory::{finess_csv, finess_json, model, nomenclature};
use atomes::journal;

use crate::support::TestApp;

const CSV: &str = include_str!("fixtures/finess/synthetic-40-utf8.csv");
const CSV_CP1252: &[u8] = include_bytes!("fixtures/finess/synthetic-40-cp1252.csv");
const JSON: &[u8] = include_bytes!("fixtures/finess/sample-finess-structures-journalier-20260309.json");
const FULL: Mode = Mode::Full { max_closing_share: 0.2 };

fn run(app: &TestApp, bytes: &[u8], scope: &Scope, mode: Mode) -> Result<ImportReport, ImportError> {
    let parsed = finess_csv::parse_bytes(bytes).unwrap();
    let ctx = app.state.system_context();
    let request = ImportRequest { format: "finess-csv", file_name: "test.csv", scope, mode };
    import::import_finess(&mut app.conn(), &ctx, &request, &parsed.establishments, parsed.rejected, &|_| {})
}

/// The extract without one establishment (its `structureet` and `geolocalisation` lines).
fn csv_without(finess: &str) -> String {
    CSV.lines().filter(|l| !l.contains(&format!(";{finess};"))).map(|l| format!("{l}\n")).collect()
}

#[test]
fn the_same_file_twice_changes_nothing_even_in_another_encoding() {
    let app = TestApp::new();
    let first = run(&app, CSV.as_bytes(), &Scope::default(), FULL).unwrap();
    assert_eq!((first.created, first.updated, first.unchanged, first.closed), (40, 0, 0, 0));
    assert_eq!(model::count_changes(&mut app.conn()).unwrap(), 40);
    let second = run(&app, CSV_CP1252, &Scope::default(), FULL).unwrap();
    assert_eq!((second.created, second.updated, second.unchanged, second.closed), (0, 0, 40, 0));
    assert_eq!(model::count_changes(&mut app.conn()).unwrap(), 40, "nothing new for the indexers");
    assert_eq!(model::count_sites(&mut app.conn(), "active").unwrap(), 40);
}

#[test]
fn changed_rows_are_updated_and_vanished_rows_closed_not_deleted() {
    let app = TestApp::new();
    run(&app, CSV.as_bytes(), &Scope::default(), FULL).unwrap();
    let changed = CSV.replace("0491390996", "0140000000");
    let r = run(&app, changed.as_bytes(), &Scope::default(), FULL).unwrap();
    assert_eq!((r.updated, r.unchanged), (1, 39));
    let site = model::find_site_by_key(&mut app.conn(), "finess", "380619817").unwrap().unwrap();
    assert_eq!(site.phone.as_deref(), Some("0140000000"));
    assert_eq!(site.commune_insee.as_deref(), Some("38158"));
    assert_eq!(site.category_code.as_deref(), Some("156"));
    assert!(site.lat.is_some() && site.lon.is_some(), "reprojected from Lambert-93");

    let r = run(&app, csv_without("380619817").as_bytes(), &Scope::default(), FULL).unwrap();
    assert_eq!((r.closed, r.unchanged), (1, 39));
    let site = model::find_site_by_key(&mut app.conn(), "finess", "380619817").unwrap().unwrap();
    assert_eq!(site.status, "closed");
    assert_eq!(model::count_sites(&mut app.conn(), "closed").unwrap(), 1);
}

#[test]
fn a_scoped_import_touches_only_its_territory() {
    let app = TestApp::new();
    let scope = Scope { departements: vec!["33".into(), "38".into()], communes: vec![] };
    let r = run(&app, CSV.as_bytes(), &scope, FULL).unwrap();
    assert_eq!(r.created + r.skipped, 40);
    assert!(r.created >= 6 && r.skipped > 0, "{r:?}");
    // Another scope's full extract does not close this one's records.
    let other = Scope { departements: vec!["29".into()], communes: vec![] };
    let r = run(&app, CSV.as_bytes(), &other, FULL).unwrap();
    assert_eq!(r.closed, 0);
}

#[test]
fn a_file_that_would_close_most_of_the_directory_is_refused_whole() {
    let app = TestApp::new();
    run(&app, CSV.as_bytes(), &Scope::default(), FULL).unwrap();
    let truncated: String = CSV.lines().take(10).map(|l| format!("{l}\n")).collect();
    let changes = model::count_changes(&mut app.conn()).unwrap();
    let journal_before = journal::count(&mut app.conn()).unwrap();
    let err = run(&app, truncated.as_bytes(), &Scope::default(), FULL).unwrap_err();
    assert!(err.to_string().contains("would close 31 of the 40 active records"), "{err}");
    assert_eq!(model::count_sites(&mut app.conn(), "active").unwrap(), 40, "nothing changed");
    assert_eq!(model::count_changes(&mut app.conn()).unwrap(), changes);
    assert_eq!(journal::count(&mut app.conn()).unwrap(), journal_before);
    // Accepted when asked explicitly.
    let r = run(&app, truncated.as_bytes(), &Scope::default(), Mode::Full { max_closing_share: 1.0 }).unwrap();
    assert_eq!(r.closed, 31);
}

#[test]
fn a_rejected_line_does_not_close_its_stored_record() {
    let app = TestApp::new();
    run(&app, CSV.as_bytes(), &Scope::default(), FULL).unwrap();
    // Break the SIRET field of line 2 the way a spreadsheet does.
    let broken = CSV.replacen(";2001-01-01;2001-01-01;2026-01-15;", ";2001-02-30;2001-01-01;2026-01-15;", 1);
    let r = run(&app, broken.as_bytes(), &Scope::default(), FULL).unwrap();
    assert_eq!((r.closed, r.unchanged), (0, 39));
    assert!(r.rejected[0].to_string().starts_with("line 2, field dateouv"), "{}", r.rejected[0]);
    // Its geolocalisation line is reported too, and nothing else.
    assert!(r.rejected.iter().all(|x| x.finess.as_deref() == Some("380619817")), "{:?}", r.rejected);
}

#[test]
fn the_json_daily_flow_is_a_delta_and_gets_category_labels_from_the_nomenclature() {
    let app = TestApp::new();
    let now = app.clock.now_naive();
    atomes::db::write_tx(&mut app.conn(), |c| nomenclature::load_embedded(c, now)).unwrap();
    run(&app, CSV.as_bytes(), &Scope::default(), FULL).unwrap();
    let parsed = finess_json::parse_slice(JSON).unwrap();
    let inactive = parsed.establishments.iter().filter(|e| e.closed_on.is_some()).count();
    let ctx = app.state.system_context();
    let scope = Scope::default();
    let request = ImportRequest { format: "finess-json", file_name: "flux.json", scope: &scope, mode: Mode::Delta };
    let r = import::import_finess(&mut app.conn(), &ctx, &request, &parsed.establishments, parsed.rejected, &|_| {})
        .unwrap();
    assert_eq!((r.created, r.closed), (27, 0), "a delta closes nothing it does not mention");
    assert_eq!(model::count_sites(&mut app.conn(), "active").unwrap(), 40 + 27 - inactive as i64);
    let first: &FinessEstablishment = &parsed.establishments[0];
    let site = model::find_site_by_key(&mut app.conn(), "finess", &first.finess_et).unwrap().unwrap();
    let label = site.category_label.expect("label from TRE_R66");
    assert!(!label.is_empty() && label != site.category_code.unwrap());
    // The import is in the history and in the journal.
    let entries = journal::list_all(&mut app.conn()).unwrap();
    let imports: Vec<_> = entries.iter().filter(|e| e.object_type == "directory_import").collect();
    assert_eq!(imports.len(), 2);
    assert_eq!(imports[1].object_id, Some(r.import_id.to_string()));
}
