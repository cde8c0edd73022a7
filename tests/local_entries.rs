//! Local entries of the directory (issue 4): administrators create, edit, close and reopen
//! offers of source `local`; each write is journaled and reaches search; imports leave them
//! alone. Also the CSV export of a result list and the results fragment of search as you type.

use atomes::accounts::Role;
use atomes::db::schema::{dir_offers, nomenclature_codes};
use atomes::directory::import::{ImportRequest, Mode, Scope};
use atomes::directory::local::{ACTIVITY_SYSTEM, LocalDetails};
use atomes::directory::nomenclature;
use atomes::journal::{self, JournalEntry};
use axum::http::StatusCode;
use diesel::prelude::*;

use crate::support::{TestApp, TestResponse};

const PASSWORD: &str = "une phrase de passe solide";
const DEMO: &str = include_str!("../data/demo/ror-92nord.ndjson");

fn import_fhir(app: &TestApp, ndjson: &str, mode: Mode) {
    let parsed = atomes::directory::fhir::parse(ndjson.as_bytes()).unwrap();
    let scope = Scope::default();
    let request = ImportRequest { format: "fhir", file_name: "demo.ndjson", scope: &scope, mode };
    atomes::directory::offers::import_fhir(&mut app.conn(), &app.state.system_context(), &request, &parsed).unwrap();
    app.state.search.sync(&mut app.conn()).unwrap();
}

/// The demo directory (its communes make the gazetteer) and the NOS tables.
fn demo_app() -> TestApp {
    let app = TestApp::with_config(|c| c.rate_limits.enabled = false);
    let now = app.clock_now();
    atomes::db::write_tx(&mut app.conn(), |c| nomenclature::load_embedded(c, now)).unwrap();
    import_fhir(&app, DEMO, Mode::Delta);
    app
}

async fn admin(app: &TestApp) -> (i64, String) {
    let user = app.create_user("admin@dac.example", PASSWORD, Role::Administrator, false);
    (user.id, app.login("admin@dac.example", PASSWORD).await)
}

/// A complete, valid form.
fn valid_form() -> Vec<(&'static str, &'static str)> {
    vec![
        ("name", "Groupe de parole des aidants Zéphyrin"),
        ("site_name", "Association Les Aidants du Nord"),
        ("activity_field", "03"),
        ("activities", "001"),
        ("activities", "004"),
        ("publics", "01"),
        ("age_min", "18"),
        ("age_max", "99"),
        ("address", "12 rue de la Paix"),
        ("postal_code", "92700"),
        ("commune", "Colombes"),
        ("phone", "01.23.45.67.89"),
        ("email", "contact@aidants.example"),
        ("website", "https://aidants.example"),
        ("description", "Un groupe de parole mensuel.\nOuvert à tous les aidants."),
        ("opening_hours", "Le premier mardi du mois, de 14 h à 16 h"),
        ("contact_public", "1"),
    ]
}

async fn post_entry(app: &TestApp, path: &str, cookie: &str, fields: &[(&str, &str)]) -> TestResponse {
    let csrf = app.get_with("/admin/annuaire/entrees/nouvelle", cookie).await.csrf_field();
    let mut all = fields.to_vec();
    all.push(("csrf", &csrf));
    app.post_form(path, &all, cookie).await
}

fn local_offers(app: &TestApp) -> Vec<(i64, String, String, Option<i64>)> {
    dir_offers::table
        .filter(dir_offers::source.eq("local"))
        .select((dir_offers::id, dir_offers::name, dir_offers::status, dir_offers::updated_by))
        .order(dir_offers::id)
        .load(&mut *app.conn())
        .unwrap()
}

fn journal_after(app: &TestApp, before: i64) -> Vec<JournalEntry> {
    journal::list_after(&mut app.conn(), before, 1000).unwrap()
}

fn last_journal_id(app: &TestApp) -> i64 {
    journal::list_after(&mut app.conn(), 0, 100_000).unwrap().last().map_or(0, |e| e.id)
}

fn search_names(r: &TestResponse) -> Vec<String> {
    r.texts(".result-name")
}

#[tokio::test]
async fn invalid_fields_are_refused_with_french_messages_and_nothing_is_written() {
    let app = demo_app();
    let (_, cookie) = admin(&app).await;
    // A retired code is neither listed nor accepted.
    diesel::update(
        nomenclature_codes::table
            .filter(nomenclature_codes::system.eq(ACTIVITY_SYSTEM))
            .filter(nomenclature_codes::code.eq("003")),
    )
    .set(nomenclature_codes::retired.eq(true))
    .execute(&mut *app.conn())
    .unwrap();
    let form = app.get_with("/admin/annuaire/entrees/nouvelle", &cookie).await;
    assert_eq!(form.status, StatusCode::OK);
    assert_eq!(form.count("#activities option[value='001']"), 1);
    assert_eq!(form.count("#activities option[value='003']"), 0, "a retired code is offered");
    // 002 is retired in the shipped TRE_R211 (dateFin 2019).
    assert_eq!(form.count("#activities option[value='002']"), 0, "a retired code is offered");

    let before = last_journal_id(&app);
    let changes = atomes::directory::model::count_changes(&mut app.conn()).unwrap();
    let fields = [
        ("name", "  "),
        ("category", "999999"),
        ("activities", "003"),
        ("age_min", "70"),
        ("age_max", "12"),
        ("postal_code", "92600"),
        ("commune", "Colombes"),
        ("lat", "2,25"),
        ("lon", "48,92"),
        ("phone", "12345"),
        ("email", "pas une adresse"),
        ("website", "javascript:alert(1)"),
        ("description", "Garde le texte saisi"),
    ];
    let r = post_entry(&app, "/admin/annuaire/entrees/nouvelle", &cookie, &fields).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let messages = r.texts(".field-error");
    for expected in [
        "Indiquez le nom de la ressource.",
        "Choisissez une catégorie dans la liste.",
        "Choisissez les activités dans la liste proposée.",
        "L'âge maximum doit être supérieur ou égal à l'âge minimum.",
        "Le code postal 92600 ne correspond pas à la commune Colombes",
        "La position est à plus de 30 km de Colombes",
        "Le numéro de téléphone n'est pas valide",
        "L'adresse e-mail n'est pas valide",
        "L'adresse du site internet doit commencer par https://",
    ] {
        assert!(messages.iter().any(|m| m.starts_with(expected)), "missing {expected:?} in {messages:#?}");
    }
    // The summary lists them too, and the values are kept.
    assert_eq!(r.count("#erreurs li"), messages.len());
    assert_eq!(r.texts("#description"), ["Garde le texte saisi"]);
    assert!(r.body.contains("value=\"pas une adresse\""));
    // An unknown commune.
    let r = post_entry(
        &app,
        "/admin/annuaire/entrees/nouvelle",
        &cookie,
        &[("name", "X"), ("activity_field", "03"), ("commune", "Gotham City")],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.texts(".field-error").iter().any(|m| m.contains("« Gotham City » est inconnue")),
        "{:?}",
        r.texts(".field-error")
    );
    // Nothing written: no offer, no journal entry, no change feed row.
    assert!(local_offers(&app).is_empty());
    assert!(
        journal_after(&app, before).iter().all(|e| e.action == "consultation"),
        "{:?}",
        journal_after(&app, before)
    );
    assert_eq!(atomes::directory::model::count_changes(&mut app.conn()).unwrap(), changes);
}

#[tokio::test]
async fn administrators_create_edit_close_and_reopen_local_entries_which_search_follows() {
    let app = demo_app();
    let (admin_id, cookie) = admin(&app).await;
    let before = last_journal_id(&app);
    let r = post_entry(&app, "/admin/annuaire/entrees/nouvelle", &cookie, &valid_form()).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let stored = local_offers(&app);
    assert_eq!(stored.len(), 1);
    let (id, _, status, by) = stored[0].clone();
    assert_eq!((status.as_str(), by), ("active", Some(admin_id)));
    assert_eq!(r.header("location"), format!("/admin/annuaire/entrees/{id}?enregistre=1"));
    let (key, insee, lat, phone, local): (String, Option<String>, Option<f64>, Option<String>, String) =
        dir_offers::table
            .find(id)
            .select((
                dir_offers::source_key,
                dir_offers::commune_insee,
                dir_offers::lat,
                dir_offers::phone,
                dir_offers::local_details,
            ))
            .first(&mut *app.conn())
            .unwrap();
    assert!(key.starts_with("local-"), "{key}");
    assert_eq!(insee.as_deref(), Some("92025"));
    assert!(lat.is_some(), "placed at its commune's centre");
    assert_eq!(phone.as_deref(), Some("01 23 45 67 89"));
    let local = LocalDetails::parse(&local);
    assert_eq!(local.description.as_deref(), Some("Un groupe de parole mensuel.\nOuvert à tous les aidants."));

    // Journaled in the same transaction, and found by search at once.
    let entries = journal_after(&app, before);
    let writes: Vec<(&str, Option<i64>, Option<String>)> = entries
        .iter()
        .filter(|e| e.object_type == "dir_offer")
        .map(|e| (e.action.as_str(), e.actor_id, e.object_id.clone()))
        .collect();
    assert_eq!(writes, [("creation", Some(admin_id), Some(id.to_string()))]);
    let found = app.get("/annuaire?q=zephyrin").await;
    assert_eq!(search_names(&found), ["Groupe de parole des aidants Zéphyrin"]);
    assert!(found.texts(".result-source")[0].starts_with("Source : saisie locale (DAC), mise à jour le"));

    // The sheet: « Saisie locale (DAC) », the description, « Modifier » for administrators only.
    let sheet = app.get_with(&format!("/annuaire/offre-{id}"), &cookie).await;
    assert_eq!(sheet.status, StatusCode::OK);
    assert!(sheet.texts(".sheet-source")[0].starts_with("Source : saisie locale (DAC), mise à jour le"));
    assert!(sheet.body.contains("Un groupe de parole mensuel."));
    assert_eq!(sheet.texts(&format!("a[href='/admin/annuaire/entrees/{id}']")), ["Modifier"]);
    let anonymous = app.get(&format!("/annuaire/offre-{id}")).await;
    assert_eq!(anonymous.count(&format!("a[href='/admin/annuaire/entrees/{id}']")), 0);
    assert!(anonymous.body.contains("0123456789") || anonymous.body.contains("01 23 45 67 89"));

    // Edit: the form shows the stored values; the change reaches search.
    let before_form = last_journal_id(&app);
    let form = app.get_with(&format!("/admin/annuaire/entrees/{id}"), &cookie).await;
    assert_eq!(form.status, StatusCode::OK);
    // Who changed it last, a read of that account that is journaled.
    assert!(form.body.contains("par Camille Durand"), "{}", form.body);
    assert!(
        journal_after(&app, before_form).iter().any(|e| e.action == "consultation"
            && e.object_type == "user"
            && e.object_id == Some(admin_id.to_string()))
    );
    assert!(form.body.contains("value=\"Groupe de parole des aidants Zéphyrin\""));
    assert_eq!(form.count("#activities option[selected]"), 2);
    let mut edited = valid_form();
    edited[0] = ("name", "Café des aidants Zéphyrin");
    edited.retain(|(k, _)| *k != "contact_public");
    let before = last_journal_id(&app);
    let r = post_entry(&app, &format!("/admin/annuaire/entrees/{id}"), &cookie, &edited).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(search_names(&app.get("/annuaire?q=zephyrin").await), ["Café des aidants Zéphyrin"]);
    // The contact is now restricted: no public telephone, and the sheet withholds it from visitors.
    let anonymous = app.get(&format!("/annuaire/offre-{id}")).await;
    assert!(!anonymous.body.contains("01 23 45 67 89"), "a restricted telephone shown to a visitor");
    assert_eq!(anonymous.count(".restricted"), 1);
    let modifications: Vec<_> = journal_after(&app, before)
        .into_iter()
        .filter(|e| e.action == "modification" && e.object_type == "dir_offer")
        .collect();
    assert_eq!(modifications.len(), 1);

    // Close: kept, hidden from search; reopen: back.
    let csrf = app.get_with("/admin/annuaire/entrees", &cookie).await.csrf_field();
    let path = format!("/admin/annuaire/entrees/{id}/statut");
    let r = app.post_form(&path, &[("csrf", &csrf), ("action", "fermer")], &cookie).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(local_offers(&app)[0].2, "closed");
    assert!(search_names(&app.get("/annuaire?q=zephyrin").await).is_empty());
    let list = app.get_with("/admin/annuaire/entrees?q=zephyrin", &cookie).await;
    assert_eq!(list.texts("tbody tr td:nth-child(4)"), ["Fermée"]);
    let r = app.post_form(&path, &[("csrf", &csrf), ("action", "rouvrir")], &cookie).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(search_names(&app.get("/annuaire?q=zephyrin").await), ["Café des aidants Zéphyrin"]);
    let list = app.get_with("/admin/annuaire/entrees?q=cafe", &cookie).await;
    assert_eq!(list.texts("tbody tr td:first-child"), ["Café des aidants Zéphyrin"]);
    assert_eq!(app.get_with("/admin/annuaire/entrees?q=introuvable", &cookie).await.count("tbody tr"), 0);
}

#[tokio::test]
async fn imported_offers_are_not_edited_here_and_non_administrators_are_refused() {
    let app = demo_app();
    let (_, cookie) = admin(&app).await;
    let ror: i64 =
        dir_offers::table.filter(dir_offers::source.eq("ror")).select(dir_offers::id).first(&mut *app.conn()).unwrap();
    let r = app.get_with(&format!("/admin/annuaire/entrees/{ror}"), &cookie).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(r.body.contains("se corrige à sa source"), "{}", r.body);
    let r = post_entry(&app, &format!("/admin/annuaire/entrees/{ror}"), &cookie, &valid_form()).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    let csrf = app.get_with("/admin/annuaire/entrees", &cookie).await.csrf_field();
    let r = app
        .post_form(&format!("/admin/annuaire/entrees/{ror}/statut"), &[("csrf", &csrf), ("action", "fermer")], &cookie)
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    let status: String = dir_offers::table.find(ror).select(dir_offers::status).first(&mut *app.conn()).unwrap();
    assert_eq!(status, "active");
    // The sheet of an imported offer has no « Modifier ».
    let sheet = app.get_with(&format!("/annuaire/offre-{ror}"), &cookie).await;
    assert_eq!(sheet.count(&format!("a[href='/admin/annuaire/entrees/{ror}']")), 0);

    // A professional and a visitor.
    app.create_user("pro@example.org", PASSWORD, Role::Professional, false);
    let pro = app.login("pro@example.org", PASSWORD).await;
    for path in ["/admin/annuaire/entrees", "/admin/annuaire/entrees/nouvelle"] {
        assert_eq!(app.get_with(path, &pro).await.status, StatusCode::FORBIDDEN, "{path}");
        assert_ne!(app.get(path).await.status, StatusCode::OK, "{path}");
    }
    let csrf = app.get_with("/compte", &pro).await.csrf_field();
    let mut fields = valid_form();
    fields.push(("csrf", &csrf));
    let r = app.post_form("/admin/annuaire/entrees/nouvelle", &fields, &pro).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(local_offers(&app).is_empty());
}

#[tokio::test]
async fn local_entries_survive_a_full_fhir_import() {
    let app = demo_app();
    let (_, cookie) = admin(&app).await;
    let r = post_entry(&app, "/admin/annuaire/entrees/nouvelle", &cookie, &valid_form()).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    // A full import of a file holding a single offer closes every other ROR offer…
    let one: String = DEMO
        .lines()
        .filter(|l| !l.contains("\"resourceType\":\"HealthcareService\"") || l.contains("\"id\":\"demo-offre-0001\""))
        .map(|l| format!("{l}\n"))
        .collect();
    import_fhir(&app, &one, Mode::Full { max_closing_share: 1.0 });
    let closed_ror: i64 = dir_offers::table
        .filter(dir_offers::source.eq("ror").and(dir_offers::status.eq("closed")))
        .count()
        .get_result(&mut *app.conn())
        .unwrap();
    assert!(closed_ror > 10, "the full import closed the vanished ROR offers ({closed_ror})");
    // …but not the local entry, which search still finds.
    assert_eq!(local_offers(&app)[0].2, "active");
    assert_eq!(search_names(&app.get("/annuaire?q=zephyrin").await), ["Groupe de parole des aidants Zéphyrin"]);
}

fn csv_lines(r: &TestResponse) -> Vec<String> {
    r.body.trim_start_matches('\u{feff}').split("\r\n").map(str::to_owned).collect()
}

#[tokio::test]
async fn the_csv_export_follows_the_search_and_escapes_formulas() {
    let app = demo_app();
    let (_, cookie) = admin(&app).await;
    let mut fields = valid_form();
    fields[0] = ("name", "=HYPERLINK(\"http://evil.example\";\"Zéphyrin\")");
    let r = post_entry(&app, "/admin/annuaire/entrees/nouvelle", &cookie, &fields).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);

    let page = app.get("/annuaire?q=zephyrin").await;
    let link = page.texts("a[href^='/annuaire/export.csv']");
    assert_eq!(link, ["Exporter ces résultats (CSV)"]);
    let r = app.get("/annuaire/export.csv?q=zephyrin").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.header("content-type"), "text/csv; charset=utf-8");
    let disposition = r.header("content-disposition");
    assert!(
        disposition.starts_with("attachment; filename=\"annuaire-") && disposition.ends_with(".csv\""),
        "{disposition}"
    );
    assert!(r.body.starts_with('\u{feff}'), "a BOM for French Excel");
    let lines = csv_lines(&r);
    assert_eq!(
        lines[0],
        "Nom;Structure;Catégorie;Activités;Publics;Âge min;Âge max;Adresse;Code postal;Commune;Téléphone;Distance (km);Dernière mise à jour;Source;Lien"
    );
    assert_eq!(lines.len(), 3, "{lines:#?}");
    assert!(
        lines[1].starts_with(
            "\"'=HYPERLINK(\"\"http://evil.example\"\";\"\"Zéphyrin\"\")\";Association Les Aidants du Nord;;"
        ),
        "{}",
        lines[1]
    );
    assert!(lines[1].contains(";18;99;12 rue de la Paix;92700;Colombes;01 23 45 67 89;;"), "{}", lines[1]);
    assert!(lines[1].contains(";Saisie locale (DAC);http://127.0.0.1:8080/annuaire/offre-"), "{}", lines[1]);

    // Same filters, same order as the page; a distance column around a commune.
    let page = app.get("/annuaire?q=ehpad&autour=Colombes").await;
    let shown = search_names(&page);
    assert!(shown.len() > 2, "{shown:?}");
    let r = app.get("/annuaire/export.csv?q=ehpad&autour=Colombes").await;
    let lines = csv_lines(&r);
    let names: Vec<String> =
        lines[1..].iter().filter(|l| !l.is_empty()).map(|l| l.split(';').next().unwrap().to_owned()).collect();
    assert_eq!(&names[..shown.len().min(names.len())], &shown[..], "the first rows are the first page, in its order");
    assert!(lines[1].split(';').nth(11).is_some_and(|d| d.contains(',')), "{}", lines[1]);
    // A bad parameter is a French 400, not a file.
    let r = app.get("/annuaire/export.csv?age=abc").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.texts("[role=alert]")[0].starts_with("L'âge doit être un nombre entier"), "{}", r.body);
    // No search, no export (the page lists nothing either).
    let r = app.get("/annuaire/export.csv").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn the_csv_export_keeps_sensitive_units_and_restricted_contacts_for_logged_in_users() {
    let app = demo_app();
    let (_, cookie) = admin(&app).await;
    let mut fields = valid_form();
    fields.retain(|(k, _)| *k != "contact_public");
    fields.push(("sensitive", "1"));
    let r = post_entry(&app, "/admin/annuaire/entrees/nouvelle", &cookie, &fields).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let id = local_offers(&app)[0].0;
    // A visitor: the sensitive unit is not in the file.
    let r = app.get("/annuaire/export.csv?q=zephyrin").await;
    assert_eq!(csv_lines(&r).len(), 2, "header and the final line break only: {}", r.body);
    // A professional gets it, without the restricted telephone, and the read is journaled as on the page.
    app.create_user("pro@example.org", PASSWORD, Role::Professional, false);
    let pro = app.login("pro@example.org", PASSWORD).await;
    let before = last_journal_id(&app);
    let r = app.get_with("/annuaire/export.csv?q=zephyrin", &pro).await;
    let lines = csv_lines(&r);
    assert_eq!(lines.len(), 3, "{lines:#?}");
    assert!(!r.body.contains("01 23 45 67 89"), "a restricted telephone in the file");
    assert_eq!(r.header("cache-control"), "no-store");
    let consulted: Vec<_> = journal_after(&app, before)
        .into_iter()
        .filter(|e| e.action == "consultation" && e.object_type == "dir_offer")
        .map(|e| e.object_id.unwrap_or_default())
        .collect();
    assert_eq!(consulted, [id.to_string()]);
}

#[tokio::test]
async fn the_results_fragment_is_the_results_region_alone() {
    let app = demo_app();
    let page = app.get("/annuaire?q=ehpad").await;
    assert_eq!(page.count("#search-results"), 1);
    assert_eq!(page.count("#search-status[aria-live=polite]"), 1);
    assert_eq!(page.count("script[src^='/static/'][src$='/search.js']"), 1);
    let fragment = app.get("/annuaire?q=ehpad&fragment=1").await;
    assert_eq!(fragment.status, StatusCode::OK);
    assert!(fragment.header("content-type").starts_with("text/html"));
    assert_eq!(fragment.header("cache-control"), "no-store");
    assert!(!fragment.body.contains("<html"), "a fragment, not a page");
    assert_eq!(fragment.count("form"), 0);
    assert_eq!(search_names(&fragment), search_names(&page));
    assert_eq!(fragment.texts("#resultats"), page.texts("#resultats"));
    let status = fragment.texts("[data-status]");
    assert_eq!(status.len(), 1);
    assert!(status[0].ends_with("résultats"), "{status:?}");
    // Facets come with it, and their links are page URLs, without the flag.
    assert!(fragment.count(".facets a") > 0);
    assert!(!fragment.body.contains("fragment=1"));
    // Errors come in the fragment too.
    let bad = app.get("/annuaire?q=ehpad&autour=Gotham&fragment=1").await;
    assert_eq!(bad.count("[role=alert]"), 1);
    // The script is served, same origin, with a JavaScript type.
    let src = page.body.split("src=\"").find(|s| s.starts_with("/static/") && s.contains("search.js")).unwrap();
    let src = &src[..src.find('"').unwrap()];
    let js = app.get(src).await;
    assert_eq!(js.status, StatusCode::OK);
    assert!(js.header("content-type").starts_with("text/javascript"));
}
