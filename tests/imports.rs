//! Directory imports, streamed (DIR-3): the two-pass CSV import equals the in-memory one,
//! stays idempotent, writes in batches yet all-or-nothing; the upload page of the back office
//! (multipart, CSRF, French errors, nothing written on failure) and the import history.

use atomes::accounts::Role;
use atomes::directory::import::{self, FileFormat, ImportError, ImportReport, ImportRequest, Mode, Pass, Scope};
use atomes::directory::model::SiteValues;
use atomes::directory::{finess_csv, model, nomenclature};
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
// The bulk writes: `COPY … FROM STDIN` on PostgreSQL, multi-row INSERTs on SQLite.

/// A site whose text holds every character a text format would have to escape.
fn awkward_site(key: &str, now: chrono::NaiveDateTime) -> SiteValues {
    let date = |y, m, d| chrono::NaiveDate::from_ymd_opt(y, m, d);
    SiteValues {
        source: "test".into(),
        source_key: key.into(),
        finess_et: Some(r"a;b	c\d\N".into()),
        finess_ej: Some(String::new()),
        name: "L'ÉTABLISSEMENT \"LE PHARE\"; côté\tmer\\nord\nligne 2\r\nfin ü Ø 😀".into(),
        long_name: None,
        category_system: Some("\\.".into()),
        category_code: Some("\\N".into()),
        category_label: Some("NULL".into()),
        address_line: Some("  espaces  ".into()),
        postal_code: None,
        city: Some("Saint-Étienne".into()),
        commune_insee: Some("42218".into()),
        departement: Some("2A".into()),
        lat: Some(0.1 + 0.2),
        lon: Some(-179.999_999_999_999_97),
        phone: None,
        siret: Some("12345678901234".into()),
        status: "active".into(),
        opened_on: date(1899, 12, 31),
        closed_on: date(2099, 2, 28),
        source_updated_on: None,
        content_hash: "ab".repeat(32),
        updated_at: now + chrono::Duration::nanoseconds(123_456_789),
    }
}

/// Every stored site of the `test` source, by key.
fn test_sites(app: &TestApp) -> Vec<model::Site> {
    use atomes::db::schema::dir_sites;
    let mut conn = app.conn();
    dir_sites::table
        .filter(dir_sites::source.eq("test"))
        .order(dir_sites::source_key.asc())
        .select(model::Site::as_select())
        .load(&mut *conn)
        .unwrap()
}

/// A site's stored columns, its id and key left out.
fn content(site: &model::Site) -> String {
    let mut s = site.clone();
    s.id = 0;
    s.source_key = String::new();
    format!("{s:?}")
}

#[test]
fn bulk_inserts_write_exactly_what_one_row_inserts_write() {
    use atomes::db::schema::{dir_changes, dir_sites};
    let app = TestApp::new();
    let now = app.clock_now();
    let mut nulls = awkward_site("b-nulls", now);
    (nulls.finess_et, nulls.finess_ej, nulls.category_system, nulls.category_code) = (None, None, None, None);
    (nulls.category_label, nulls.address_line, nulls.city, nulls.commune_insee) = (None, None, None, None);
    (nulls.departement, nulls.lat, nulls.lon, nulls.siret) = (None, None, None, None);
    (nulls.opened_on, nulls.closed_on, nulls.name, nulls.status) = (None, None, "x".into(), "closed".into());
    let rows = vec![awkward_site("a-awkward", now), nulls];
    let ids = atomes::db::write_tx(&mut app.conn(), |c| model::insert_sites(c, &rows, now)).unwrap();
    // The same rows, one plain INSERT each, under other keys.
    for r in &rows {
        let mut r = r.clone();
        r.source_key = format!("z-{}", r.source_key);
        diesel::insert_into(dir_sites::table)
            .values((&r, dir_sites::created_at.eq(now)))
            .execute(&mut *app.conn())
            .unwrap();
    }
    let stored = test_sites(&app);
    assert_eq!(stored.len(), 4);
    let (bulk, single) = stored.split_at(2);
    assert_eq!(bulk.iter().map(|s| s.id).collect::<Vec<_>>(), ids, "ids in the order of the rows");
    assert!(ids[0] < ids[1]);
    for (b, s) in bulk.iter().zip(single) {
        assert_eq!(content(b), content(s), "{}", b.source_key);
    }
    let a = &bulk[0];
    assert_eq!(a.name, rows[0].name);
    assert_eq!(a.finess_et.as_deref(), Some(r"a;b	c\d\N"));
    assert_eq!(a.finess_ej.as_deref(), Some(""), "an empty text is not NULL");
    assert_eq!((a.category_system.as_deref(), a.category_code.as_deref()), (Some("\\."), Some("\\N")));
    assert_eq!(a.category_label.as_deref(), Some("NULL"));
    assert_eq!(a.address_line.as_deref(), Some("  espaces  "));
    assert_eq!((a.lat, a.lon), (Some(0.1 + 0.2), Some(-179.999_999_999_999_97)), "the exact bits");
    assert_eq!((a.opened_on, a.closed_on, a.source_updated_on), (rows[0].opened_on, rows[0].closed_on, None));
    assert_eq!((a.long_name.as_deref(), a.postal_code.as_deref(), a.phone.as_deref()), (None, None, None));
    assert_eq!(a.created_at, now);
    assert_eq!(a.updated_at.and_utc().timestamp(), now.and_utc().timestamp());
    assert_eq!(content(&bulk[1]), content(&single[1]));
    assert_eq!((bulk[1].lat, bulk[1].departement.as_deref(), bulk[1].status.as_str()), (None, None, "closed"));

    // The change feed keeps the order it is given.
    let feed = [ids[1], ids[0], 7, ids[1]];
    atomes::db::write_tx(&mut app.conn(), |c| model::feed_changes(c, "site", &feed, now)).unwrap();
    let got: Vec<(String, i64, chrono::NaiveDateTime)> = dir_changes::table
        .order(dir_changes::id.asc())
        .select((dir_changes::entity_type, dir_changes::entity_id, dir_changes::created_at))
        .load(&mut *app.conn())
        .unwrap();
    assert_eq!(got, feed.iter().map(|id| ("site".to_owned(), *id, now)).collect::<Vec<_>>());
}

#[test]
fn a_failed_bulk_insert_leaves_nothing_and_the_connection_usable() {
    let app = TestApp::new();
    let now = app.clock_now();
    let mut conn = app.conn();
    let changes = model::count_changes(&mut conn).unwrap();
    let err = atomes::db::write_tx(&mut conn, |c| {
        model::insert_sites(c, &[awkward_site("first", now)], now)?;
        model::feed_changes(c, "site", &[1, 2, 3], now)?;
        // The same key twice: the unique index refuses the second batch.
        model::insert_sites(c, &[awkward_site("twice", now), awkward_site("twice", now)], now)
    })
    .unwrap_err();
    assert!(err.to_string().contains("unique") || err.to_string().contains("UNIQUE"), "{err}");
    assert!(test_sites(&app).is_empty(), "the first batch is rolled back too");
    assert_eq!(model::count_changes(&mut conn).unwrap(), changes);
    // The same connection writes again.
    atomes::db::write_tx(&mut conn, |c| model::insert_sites(c, &[awkward_site("after", now)], now)).unwrap();
    assert_eq!(test_sites(&app).len(), 1);
}

#[test]
fn a_streamed_import_stores_every_column_the_importer_computed() {
    let csv = std::str::from_utf8(fixture!("synthetic-40-utf8.csv")).unwrap();
    // A long name with a quote, `;`, a tab, a backslash, a line break and accents (the CSV
    // quotes it, doubling its quote).
    let awkward = "\"LE \"\"PHARE\"\"; CÔTÉ\tMER \\ NORD\nSECOND LIGNE ü\"";
    let line = csv.lines().nth(1).unwrap();
    let changed = line.replacen(
        "CENTRE MEDICO-PSYCHOLOGIQUE D'EYBENS;CENTRE MEDICO-PSYCHOLOGIQUE D'EYBENS",
        &format!("CENTRE MEDICO-PSYCHOLOGIQUE D'EYBENS;{awkward}"),
        1,
    );
    assert_ne!(changed, line);
    let csv = csv.replacen(line, &changed, 1);
    let app = TestApp::new();
    let report = streamed(&app, csv.as_bytes(), FULL).unwrap();
    assert_eq!((report.created, report.rejected.len()), (40, 0), "{:?}", report.rejected);
    let parsed = finess_csv::parse_bytes(csv.as_bytes()).unwrap();
    let labels = nomenclature::labels(&mut app.conn(), nomenclature::CATEGORY_SYSTEM).unwrap();
    let now = app.clock_now();
    for e in &parsed.establishments {
        let expected = import::finess_values(e, &labels, now);
        let site = model::find_site_by_key(&mut app.conn(), "finess", &e.finess_et).unwrap().unwrap();
        let mut stored = SiteValues {
            source: site.source,
            source_key: site.source_key,
            finess_et: site.finess_et,
            finess_ej: site.finess_ej,
            name: site.name,
            long_name: site.long_name,
            category_system: site.category_system,
            category_code: site.category_code,
            category_label: site.category_label,
            address_line: site.address_line,
            postal_code: site.postal_code,
            city: site.city,
            commune_insee: site.commune_insee,
            departement: site.departement,
            lat: site.lat,
            lon: site.lon,
            phone: site.phone,
            siret: site.siret,
            status: site.status,
            opened_on: site.opened_on,
            closed_on: site.closed_on,
            source_updated_on: site.source_updated_on,
            content_hash: site.content_hash,
            updated_at: site.updated_at,
        };
        assert_eq!(site.created_at, now);
        stored.updated_at = expected.updated_at;
        assert_eq!(format!("{stored:?}"), format!("{expected:?}"), "{}", e.finess_et);
    }
    let eybens = model::find_site_by_key(&mut app.conn(), "finess", "380619817").unwrap().unwrap();
    assert_eq!(eybens.long_name.as_deref(), Some("LE \"PHARE\"; CÔTÉ\tMER \\ NORD\nSECOND LIGNE ü"));
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
