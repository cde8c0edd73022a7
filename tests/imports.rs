//! Directory imports, streamed (DIR-3): the two-pass CSV import equals the in-memory one,
//! stays idempotent, writes in batches yet all-or-nothing; the upload page of the back office
//! (multipart, CSRF, French errors, nothing written on failure) and the import history.

use atomes::accounts::Role;
use atomes::directory::import::{self, FileFormat, ImportError, ImportReport, ImportRequest, Mode, Pass, Scope};
use atomes::directory::{finess_csv, model};
use atomes::journal;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use diesel::prelude::*;

use crate::support::{TestApp, TestResponse};

const PASSWORD: &str = "une phrase de passe solide";
const FULL: Mode = Mode::Full { max_closing_share: 0.2 };

macro_rules! fixture {
    ($name:literal) => {
        include_bytes!(concat!("fixtures/finess/", $name)).as_slice()
    };
}

fn streamed(app: &TestApp, bytes: &[u8], mode: Mode) -> Result<ImportReport, ImportError> {
    let ctx = app.state.system_context();
    let scope = Scope::default();
    let request = ImportRequest { format: "finess-csv", file_name: "test.csv", scope: &scope, mode };
    let open = |_: Pass| Ok(std::io::BufReader::with_capacity(64, bytes));
    import::import_finess_csv(&mut app.conn(), &ctx, &request, &open)
}

fn in_memory(app: &TestApp, bytes: &[u8], mode: Mode) -> Result<ImportReport, ImportError> {
    let parsed = finess_csv::parse_bytes(bytes).unwrap();
    let ctx = app.state.system_context();
    let scope = Scope::default();
    let request = ImportRequest { format: "finess-csv", file_name: "test.csv", scope: &scope, mode };
    import::import_finess(&mut app.conn(), &ctx, &request, &parsed.establishments, parsed.rejected, &|_| {})
}

/// A stored site: key, hash, latitude, longitude, status.
type SiteRow = (String, String, Option<f64>, Option<f64>, String);

/// Every stored FINESS site.
fn sites(app: &TestApp) -> Vec<SiteRow> {
    use atomes::db::schema::dir_sites;
    let mut conn = app.conn();
    let q = dir_sites::table.order(dir_sites::source_key.asc()).select((
        dir_sites::source_key,
        dir_sites::content_hash,
        dir_sites::lat,
        dir_sites::lon,
        dir_sites::status,
    ));
    match &mut *conn {
        atomes::db::DbConn::Sqlite(c) => q.load(c).unwrap(),
        atomes::db::DbConn::Pg(c) => q.load(c).unwrap(),
    }
}

fn imports_count(app: &TestApp) -> i64 {
    use atomes::db::schema::dir_imports;
    let mut conn = app.conn();
    match &mut *conn {
        atomes::db::DbConn::Sqlite(c) => dir_imports::table.count().get_result(c).unwrap(),
        atomes::db::DbConn::Pg(c) => dir_imports::table.count().get_result(c).unwrap(),
    }
}

#[test]
fn the_streamed_import_equals_the_in_memory_one_on_every_fixture() {
    for (name, bytes) in [
        ("synthetic utf-8", fixture!("synthetic-40-utf8.csv")),
        ("synthetic cp1252", fixture!("synthetic-40-cp1252.csv")),
        ("etalab excerpt", fixture!("etalab-excerpt-utf8.csv")),
        ("etalab accents", fixture!("etalab-accents-cp1252.csv")),
        ("etalab malformed", fixture!("etalab-malformed.csv")),
    ] {
        let (a, b) = (TestApp::new(), TestApp::new());
        let old = in_memory(&a, bytes, FULL).unwrap();
        let new = streamed(&b, bytes, FULL).unwrap();
        assert_eq!(old, new, "{name}");
        assert!(old.created > 0, "{name}");
        assert_eq!(sites(&a), sites(&b), "{name}");
        // Either way of reading, the same file again changes nothing.
        let again = streamed(&a, bytes, FULL).unwrap();
        assert_eq!((again.created, again.updated, again.closed), (0, 0, 0), "{name}");
        assert_eq!(again.unchanged, old.created, "{name}");
    }
}

#[test]
fn a_streamed_import_twice_changes_nothing() {
    let app = TestApp::new();
    let first = streamed(&app, fixture!("synthetic-40-utf8.csv"), FULL).unwrap();
    assert_eq!((first.created, first.rejected.len()), (40, 0));
    let changes = model::count_changes(&mut app.conn()).unwrap();
    let second = streamed(&app, fixture!("synthetic-40-cp1252.csv"), FULL).unwrap();
    assert_eq!((second.created, second.updated, second.unchanged, second.closed), (0, 0, 40, 0));
    assert_eq!(model::count_changes(&mut app.conn()).unwrap(), changes);
    // A coordinate moved: that one record changes (the hash covers the geolocation).
    let csv = std::str::from_utf8(fixture!("synthetic-40-utf8.csv")).unwrap();
    let moved = csv.replace("917118.6;6453683.4", "917128.6;6453683.4");
    assert_ne!(moved, csv);
    let third = streamed(&app, moved.as_bytes(), FULL).unwrap();
    assert_eq!((third.updated, third.unchanged), (1, 39));
}

/// A synthetic extract of `n` establishments numbered from `first`, all in Eybens (38), each
/// with a geolocation; the line `broken` (1-based record number), if any, has a bad date.
fn extract(first: u32, n: u32, broken: Option<u32>) -> String {
    let csv = std::str::from_utf8(fixture!("synthetic-40-utf8.csv")).unwrap();
    let structure = csv.lines().nth(1).unwrap();
    let geo = csv.lines().find(|l| l.starts_with("geolocalisation;380619817;")).unwrap();
    let mut out = String::from("finess;etalab;1;2026-05-12\n");
    for i in 0..n {
        let finess = format!("38{:07}", first + i);
        let mut line = structure.replace("380619817", &finess);
        if broken == Some(i + 1) {
            line = line.replace(";2001-01-01;2001-01-01;", ";2001-02-30;2001-01-01;");
        }
        out.push_str(&line);
        out.push('\n');
    }
    for i in 0..n {
        out.push_str(&geo.replace("380619817", &format!("38{:07}", first + i)));
        out.push('\n');
    }
    out
}

#[test]
fn batches_are_one_transaction_a_refusal_after_several_batches_leaves_nothing() {
    let app = TestApp::new();
    // More rows than one batch (2,000), one of them rejected.
    let first = extract(100_000, 4_500, Some(2_345));
    let r = streamed(&app, first.as_bytes(), FULL).unwrap();
    // The broken record, and its geolocation left without an establishment.
    assert_eq!((r.created, r.rejected.len()), (4_499, 2), "{:?}", r.rejected);
    assert!(r.rejected[0].to_string().starts_with("line 2346, field dateouv"), "{}", r.rejected[0]);
    assert!(r.rejected[1].to_string().starts_with("line 6846, field nofinesset"), "{}", r.rejected[1]);
    assert_eq!(r, in_memory(&TestApp::new(), first.as_bytes(), FULL).unwrap());
    let stored = sites(&app);
    assert_eq!(stored.len(), 4_499);
    assert!(stored.iter().all(|s| s.2.is_some() && s.3.is_some()), "every site got its geolocation");
    let again = streamed(&app, first.as_bytes(), FULL).unwrap();
    assert_eq!((again.created, again.updated, again.unchanged, again.closed), (0, 0, 4_499, 0));

    // Another territory's worth of new rows (several batches written) that would close
    // everything stored: refused at the end, and every batch is rolled back.
    let (changes, journal_before, imports) =
        (model::count_changes(&mut app.conn()).unwrap(), journal::count(&mut app.conn()).unwrap(), imports_count(&app));
    let other = extract(900_000, 4_100, None);
    let err = streamed(&app, other.as_bytes(), FULL).unwrap_err();
    assert!(matches!(err, ImportError::MassClosing { closing: 4_499, active: 4_499, .. }), "{err}");
    assert_eq!(sites(&app), stored, "nothing written");
    assert_eq!(model::count_changes(&mut app.conn()).unwrap(), changes);
    assert_eq!(journal::count(&mut app.conn()).unwrap(), journal_before);
    assert_eq!(imports_count(&app), imports);

    // A file-level error found in the second pass (a quote never closed at the end of the
    // file) after several batches: nothing written either.
    let mut cut = extract(500_000, 4_100, None);
    cut.push_str("structureet;385000000;385000000;\"OPEN QUOTE\n");
    let err = streamed(&app, cut.as_bytes(), Mode::Delta).unwrap_err();
    assert!(err.to_string().contains("quoted field still open at end of file"), "{err}");
    assert_eq!(sites(&app), stored);
    assert_eq!(imports_count(&app), imports);
}

// ---------------------------------------------------------------------------------------------
// The upload page.

/// A multipart body: the text fields in order, then the file.
fn multipart(fields: &[(&str, &str)], file: Option<(&str, &[u8])>) -> (String, Vec<u8>) {
    let boundary = "----atomes-test-boundary-7MA4YWxkTrZu0gW";
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").as_bytes(),
        );
    }
    if let Some((file_name, bytes)) = file {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"fichier\"; filename=\"{file_name}\"\r\n\
                 Content-Type: text/csv\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// Posts the form as a browser streams it: in chunks that arrive one after the other, without
/// a declared length.
async fn upload(app: &TestApp, cookie: &str, fields: &[(&str, &str)], file: Option<(&str, &[u8])>) -> TestResponse {
    use futures_util::StreamExt;
    let (content_type, body) = multipart(fields, file);
    let chunks: Vec<Vec<u8>> = body.chunks(1024).map(<[u8]>::to_vec).collect();
    let arriving = futures_util::stream::iter(chunks).then(|c| async move {
        tokio::task::yield_now().await;
        Ok::<_, std::io::Error>(c)
    });
    let req = Request::post("/admin/annuaire/imports")
        .header("content-type", content_type)
        .header("cookie", cookie)
        .body(Body::from_stream(arriving))
        .unwrap();
    app.send(req).await
}

async fn admin(app: &TestApp) -> (String, String) {
    app.create_user("admin@example.org", PASSWORD, Role::Administrator, false);
    let cookie = app.login("admin@example.org", PASSWORD).await;
    let page = app.get_with("/admin/annuaire/imports", &cookie).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    (cookie, page.csrf_field())
}

fn no_temp_file_left(app: &TestApp) {
    let dir = app.dir.path().join("imports");
    let left: Vec<_> = std::fs::read_dir(&dir).map(|d| d.flatten().map(|e| e.path()).collect()).unwrap_or_default();
    assert!(left.is_empty(), "{left:?}");
}

#[tokio::test]
async fn an_administrator_uploads_an_extract_and_reads_its_history() {
    let app = TestApp::new();
    let (cookie, csrf) = admin(&app).await;
    let fields = [("csrf", csrf.as_str()), ("format", "finess-csv"), ("mode", "full"), ("departements", "")];
    let file = ("../Exports/etalab.csv", fixture!("etalab-malformed.csv"));
    let r = upload(&app, &cookie, &fields, Some(file)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let location = r.header("location").to_owned();
    assert!(location.starts_with("/admin/annuaire/imports/") && location.ends_with("?nouveau=1"), "{location}");
    no_temp_file_left(&app);

    // The detail page: counts and every rejected record with its position, field and reason.
    let expected = finess_csv::parse_bytes(fixture!("etalab-malformed.csv")).unwrap();
    assert!(!expected.rejected.is_empty());
    let detail = app.get_with(&location, &cookie).await;
    assert_eq!(detail.status, StatusCode::OK);
    assert_eq!(
        detail.texts("[role=status]"),
        vec!["L'import est terminé. Les fiches modifiées apparaissent dans la recherche d'ici quelques secondes."]
    );
    let dd = detail.texts("dl.summary dd");
    assert_eq!(dd[2], "etalab.csv", "the name shown has no path and no control character");
    assert_eq!(dd[5], expected.establishments.len().to_string(), "created");
    assert_eq!(dd[10], expected.rejected.len().to_string(), "rejected");
    let rows = detail.texts("tr.rejected");
    assert_eq!(rows.len(), expected.rejected.len());
    for (row, rejected) in rows.iter().zip(&expected.rejected) {
        assert!(row.starts_with(&rejected.position.to_string()), "{row} / {rejected}");
        assert!(row.contains(rejected.reason.split_whitespace().next().unwrap()), "{row} / {rejected}");
        if let Some(field) = &rejected.field {
            assert!(row.contains(field.as_str()), "{row} / {rejected}");
        }
    }

    // The history lists it, with who ran it; the same file again changes nothing.
    let r = upload(&app, &cookie, &fields, Some(("etalab.csv", fixture!("etalab-malformed.csv")))).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let list = app.get_with("/admin/annuaire/imports", &cookie).await;
    let rows = list.texts("tbody tr");
    assert_eq!(rows.len(), 2);
    assert!(rows[0].contains("Camille Durand") && rows[0].contains("etalab.csv"), "{}", rows[0]);
    assert!(
        rows[0].contains(&format!(
            "Camille Durand 0 0 {} 0 0 {}",
            expected.establishments.len(),
            expected.rejected.len()
        )),
        "{}",
        rows[0]
    );
    // Reading the history is journaled.
    let entries = journal::list_all(&mut app.conn()).unwrap();
    assert!(entries.iter().any(|e| e.object_type == "directory_imports" && e.action == "consultation"));
    assert!(entries.iter().any(|e| e.object_type == "directory_import" && e.action == "consultation"));
}

#[tokio::test]
async fn a_refused_file_is_explained_in_french_and_writes_nothing() {
    let app = TestApp::new();
    let (cookie, csrf) = admin(&app).await;
    let base =
        |format: &'static str| vec![("csrf", csrf.clone()), ("format", format.to_owned()), ("mode", "full".to_owned())];
    type Case<'a> = (Vec<(&'a str, String)>, Option<(&'a str, &'a [u8])>, &'a str);
    let cases: Vec<Case> = vec![
        (
            base("finess-csv"),
            Some(("notes.txt", b"bonjour\n".as_slice())),
            "Ce fichier n'est pas un extrait FINESS etalab",
        ),
        (
            base("finess-csv"),
            Some(("t.csv", fixture!("etalab-truncated-quote.csv"))),
            "des guillemets ouverts ne sont jamais refermés",
        ),
        (
            base("finess-csv"),
            Some(("u16.csv", b"\xFF\xFEf\0i\0".as_slice())),
            "L'encodage du fichier n'est pas reconnu",
        ),
        (base("finess-csv"), Some(("vide.csv", b"".as_slice())), "Le fichier envoyé est vide"),
        (base("finess-csv"), None, "Choisissez le fichier à importer"),
        (base("xml"), Some(("a.csv", fixture!("synthetic-40-utf8.csv"))), "Choisissez le format du fichier"),
        (base("finess-json"), Some(("a.json", b"{\"a\": [1, 2".as_slice())), "Le JSON est invalide à la ligne 1"),
        (base("fhir"), Some(("a.json", b"[1, 2, 3]".as_slice())), "n'est pas un Bundle ni un NDJSON FHIR"),
        (
            [base("finess-csv"), vec![("departements", "92, 9Z".to_owned())]].concat(),
            Some(("a.csv", fixture!("synthetic-40-utf8.csv"))),
            "« 9Z » n'est pas un code de département INSEE",
        ),
    ];
    for (fields, file, message) in cases {
        let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let r = upload(&app, &cookie, &fields, file).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{message}: {}", r.body);
        let alert = r.texts("[role=alert]").join(" ");
        assert!(alert.contains(message), "{message}: {alert}");
        assert_eq!((sites(&app).len(), imports_count(&app)), (0, 0), "{message}");
        no_temp_file_left(&app);
    }
    // The truncated quote names its line and field, as the parser does.
    let fields = [("csrf", csrf.as_str()), ("format", "finess-csv"), ("mode", "full")];
    let r = upload(&app, &cookie, &fields, Some(("t.csv", fixture!("etalab-truncated-quote.csv")))).await;
    let err = finess_csv::parse_bytes(fixture!("etalab-truncated-quote.csv")).unwrap_err();
    let finess_csv::FinessCsvError::TruncatedQuote { line, field } = err else { panic!("{err}") };
    assert!(r.texts("[role=alert]")[0].contains(&format!("La ligne {line}, champ {field} :")), "{}", r.body);

    // A mass closing is refused with its figures, and accepted once the box is ticked.
    let full = [("csrf", csrf.as_str()), ("format", "finess-csv"), ("mode", "full")];
    let r = upload(&app, &cookie, &full, Some(("a.csv", fixture!("synthetic-40-utf8.csv")))).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let truncated: String = std::str::from_utf8(fixture!("synthetic-40-utf8.csv"))
        .unwrap()
        .lines()
        .take(10)
        .map(|l| format!("{l}\n"))
        .collect();
    let r = upload(&app, &cookie, &full, Some(("b.csv", truncated.as_bytes()))).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.texts("[role=alert]")[0].contains("Ce fichier fermerait 31 des 40 fiches actives"), "{}", r.body);
    assert_eq!(imports_count(&app), 1);
    let ticked = [full.as_slice(), &[("fermeture_massive", "oui")]].concat();
    let r = upload(&app, &cookie, &ticked, Some(("b.csv", truncated.as_bytes()))).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(model::count_sites(&mut app.conn(), "closed").unwrap(), 31);
}

#[tokio::test]
async fn the_upload_needs_an_administrator_its_token_first_and_a_size_under_the_limit() {
    let app = TestApp::with_config(|c| c.import_max_bytes = 8192);
    app.create_user("pro@example.org", PASSWORD, Role::Professional, false);
    let pro = app.login("pro@example.org", PASSWORD).await;
    let pro_csrf = app.get_with("/compte", &pro).await.csrf_field();
    let csv = fixture!("etalab-excerpt-utf8.csv");
    assert!(csv.len() < 7000);
    for path in ["/admin/annuaire/imports", "/admin/annuaire/imports/1"] {
        assert_eq!(app.get(path).await.status, StatusCode::SEE_OTHER, "{path}");
        assert_eq!(app.get_with(path, &pro).await.status, StatusCode::FORBIDDEN, "{path}");
    }
    let fields = [("csrf", pro_csrf.as_str()), ("format", "finess-csv"), ("mode", "full")];
    let r = upload(&app, &pro, &fields, Some(("a.csv", csv))).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    let (cookie, csrf) = admin(&app).await;
    // The token must come first, and be this session's.
    let late = [("format", "finess-csv"), ("mode", "full"), ("csrf", csrf.as_str())];
    assert_eq!(upload(&app, &cookie, &late, Some(("a.csv", csv))).await.status, StatusCode::FORBIDDEN);
    let other = [("csrf", pro_csrf.as_str()), ("format", "finess-csv"), ("mode", "full")];
    assert_eq!(upload(&app, &cookie, &other, Some(("a.csv", csv))).await.status, StatusCode::FORBIDDEN);
    assert_eq!(imports_count(&app), 0);

    // Over the limit: refused while streaming (French message), or at once when declared.
    let big = extract(100_000, 40, None);
    assert!(big.len() > 8192);
    let fields = [("csrf", csrf.as_str()), ("format", "finess-csv"), ("mode", "full")];
    let r = upload(&app, &cookie, &fields, Some(("big.csv", big.as_bytes()))).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.texts("[role=alert]")[0].contains("Le fichier dépasse la taille maximale acceptée"), "{}", r.body);
    let (content_type, body) = multipart(&fields, Some(("big.csv", big.as_bytes())));
    let req = Request::post("/admin/annuaire/imports")
        .header("content-type", content_type)
        .header("content-length", body.len().to_string())
        .header("cookie", &cookie)
        .body(Body::from(body))
        .unwrap();
    assert_eq!(app.send(req).await.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!((sites(&app).len(), imports_count(&app)), (0, 0));
    no_temp_file_left(&app);
    // Under it, accepted.
    let r = upload(&app, &cookie, &fields, Some(("a.csv", csv))).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
}

#[tokio::test]
async fn the_history_is_paginated() {
    let app = TestApp::new();
    let (cookie, _) = admin(&app).await;
    let file = app.dir.path().join("header-only.csv");
    std::fs::write(&file, "finess;etalab;1;2026-05-12\n").unwrap();
    let ctx = app.state.system_context();
    let scope = Scope::default();
    for i in 0..51 {
        let name = format!("extrait-{i}.csv");
        let request = ImportRequest { format: "finess-csv", file_name: &name, scope: &scope, mode: Mode::Delta };
        import::import_file(&mut app.conn(), &ctx, &request, FileFormat::FinessCsv, &file).unwrap();
    }
    let first = app.get_with("/admin/annuaire/imports", &cookie).await;
    assert_eq!(first.count("tbody tr"), 50);
    assert!(first.texts("tbody tr")[0].contains("extrait-50.csv"), "newest first");
    assert!(first.texts("tbody tr")[0].contains("Ligne de commande"));
    assert_eq!(first.texts("a[rel=next]"), vec!["Page suivante"]);
    let second = app.get_with("/admin/annuaire/imports?page=2", &cookie).await;
    assert_eq!(second.count("tbody tr"), 1);
    assert!(second.texts("tbody tr")[0].contains("extrait-0.csv"));
    assert_eq!(second.count("a[rel=next]"), 0);
    assert_eq!(app.get_with("/admin/annuaire/imports/999", &cookie).await.status, StatusCode::NOT_FOUND);
    // The back office home links to the page.
    let home = app.get_with("/admin", &cookie).await;
    assert!(home.body.contains("href=\"/admin/annuaire/imports\""));
}
