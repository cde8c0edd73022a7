//! Tests of the etalab CSV parser on generated, real and malformed extracts.

use super::*;

macro_rules! fixture {
    ($name:literal) => {
        include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/finess/", $name)).as_slice()
    };
}

fn find<'a>(import: &'a FinessCsvImport, finess: &str) -> &'a FinessEstablishment {
    import.establishments.iter().find(|e| e.finess_et == finess).expect(finess)
}

fn latlon(e: &FinessEstablishment) -> (f64, f64) {
    let g = e.geolocation.as_ref().expect(&e.finess_et);
    (g.lat, g.lon)
}

fn date(y: i32, m: u32, d: u32) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(y, m, d)
}

#[test]
fn synthetic_extract_matches_its_generator() {
    // Written by bench/to_finess_csv.py from gen_directory.py 40 7; the expected file is the
    // generator's own INSEE code and WGS84 point for each entry.
    let import = parse_bytes(fixture!("synthetic-40-utf8.csv")).unwrap();
    assert_eq!(import.header, FileHeader { number: 40, date: date(2026, 5, 12).unwrap() });
    assert_eq!(import.encoding, SourceEncoding::Utf8);
    assert_eq!((import.establishments.len(), import.rejected.len(), import.lines), (40, 0, 81));
    let expected = std::str::from_utf8(fixture!("synthetic-40-expected.csv")).unwrap();
    for line in expected.lines().filter(|l| !l.starts_with('#')) {
        let f: Vec<&str> = line.split(';').collect();
        let e = find(&import, f[0]);
        assert_eq!(e.address.insee_code, f[1], "{}", f[0]);
        assert_eq!(e.category.code, f[4]);
        let want = (f[2].parse().unwrap(), f[3].parse().unwrap());
        // The CSV rounds Lambert-93 to 0.1 m; the generator's point is recovered to < 0.1 m.
        assert!(geo::haversine_km(latlon(e), want) < 0.0001, "{}: {:?} vs {want:?}", f[0], latlon(e));
        assert_eq!(e.geolocation.as_ref().unwrap().projected.unwrap().epsg, 2154);
    }
}

#[test]
fn windows_1252_and_utf8_extracts_read_the_same() {
    let utf8 = parse_bytes(fixture!("synthetic-40-utf8.csv")).unwrap();
    let cp1252 = parse_bytes(fixture!("synthetic-40-cp1252.csv")).unwrap();
    assert_eq!(cp1252.encoding, SourceEncoding::Windows1252);
    assert_eq!(cp1252.establishments, utf8.establishments);
    let e = find(&cp1252, "380619817");
    assert_eq!(e.address.street_name.as_deref(), Some("JEAN JAURÈS"));
    assert_eq!(e.pricing_mode, Some(Coded { code: "99".into(), label: Some("Indéterminé".into()) }));
}

#[test]
fn real_fleyriat_line_maps_every_column() {
    let import = parse_bytes(fixture!("etalab-excerpt-utf8.csv")).unwrap();
    assert_eq!(import.rejected, vec![]);
    let e = find(&import, "010000024");
    assert_eq!((e.finess_ej.as_str(), e.short_name.as_str()), ("010780054", "CH DE FLEYRIAT"));
    assert_eq!(e.long_name.as_deref(), Some("CENTRE HOSPITALIER DE BOURG-EN-BRESSE FLEYRIAT"));
    let a = &e.address;
    assert_eq!((a.street_number.as_deref(), a.street_type.as_deref()), (Some("900"), Some("RTE")));
    assert_eq!(a.street_name.as_deref(), Some("DE PARIS"));
    assert_eq!((a.commune_code.as_str(), a.insee_code.as_str()), ("451", "01451"));
    assert_eq!((a.department_code.as_deref(), a.department_name.as_deref()), (Some("01"), Some("AIN")));
    assert_eq!((a.postal_code.as_deref(), a.city.as_deref()), (Some("01440"), Some("VIRIAT")));
    assert_eq!((e.phone.as_deref(), e.fax.as_deref()), (Some("0474454647"), Some("0474454114")));
    assert_eq!(e.category, Coded { code: "355".into(), label: Some("Centre Hospitalier (C.H.)".into()) });
    assert_eq!(e.category_aggregate.as_ref().unwrap().label.as_deref(), Some("Centres Hospitaliers"));
    assert_eq!((e.siret.as_deref(), e.ape_code.as_deref()), (Some("26010004500012"), Some("8610Z")));
    assert_eq!(e.pricing_mode.as_ref().unwrap().code, "03");
    assert_eq!(e.public_hospital_service.as_ref().unwrap().label.as_deref(), Some("Etablissement public de santé"));
    assert_eq!((e.opened_on, e.authorized_on, e.updated_on), (date(1979, 2, 13), date(1979, 2, 13), date(2020, 2, 4)));
    assert_eq!((e.uai.as_ref(), e.status, e.insee_department()), (None, RecordStatus::Active, "01"));
    let g = e.geolocation.as_ref().unwrap();
    assert_eq!(g.source.as_deref(), Some("1,ATLASANTE,96,BAN,EPSG:2154 RGF93 / Lambert-93 (Métropole)"));
    assert!(!g.axes_swapped && g.updated_on == date(2020, 2, 4));
    // PROJ 9.5 puts these coordinates at 46.2222857, 5.2091811 (Viriat).
    assert!(geo::haversine_km((g.lat, g.lon), (46.222_285_7, 5.209_181_1)) < 0.0001);
}

#[test]
fn overseas_departments_get_insee_codes_and_utm_coordinates() {
    let import = parse_bytes(fixture!("etalab-excerpt-utf8.csv")).unwrap();
    // (FINESS, INSEE, INSEE département, expected WGS84 point or none)
    let cases = [
        ("970100012", "97120", "971", Some((16.234_004_3, -61.528_737_1))), // real EPSG:5490 pair (S18)
        ("972000015", "97209", "972", Some((14.6037, -61.0742))),
        ("973000013", "97302", "973", Some((4.9224, -52.3135))),
        ("974000016", "97411", "974", Some((-20.8823, 55.4504))),
        ("975000019", "97502", "975", Some((46.7811, -56.1764))),
        ("976000017", "97611", "976", Some((-12.7806, 45.2279))),
        ("980600027", "98613", "986", None),
        ("2A0000018", "2A004", "2A", Some((41.9192, 8.7386))), // older LAMBERT_93 source text
    ];
    for (finess, insee, department, point) in cases {
        let e = find(&import, finess);
        assert_eq!((e.address.insee_code.as_str(), e.insee_department()), (insee, department));
        match point {
            Some(p) => assert!(geo::haversine_km(latlon(e), p) < 0.01, "{finess}: {:?}", latlon(e)),
            None => assert_eq!(e.geolocation, None),
        }
    }
    let guadeloupe = find(&import, "970100012");
    assert_eq!(guadeloupe.geolocation.as_ref().unwrap().projected.unwrap().epsg, 5490);
    assert_eq!(guadeloupe.address.city.as_deref(), Some("POINTE A PITRE CEDEX"));
    assert_eq!(find(&import, "973000021").short_name, r#"LIEU DE VIE "MAVOUNA MEMA 1""#);
    assert_eq!(import.establishments.len(), 10);
}

#[test]
fn windows_1252_accents_are_decoded() {
    let import = parse_bytes(fixture!("etalab-accents-cp1252.csv")).unwrap();
    assert_eq!((import.encoding, import.rejected.len()), (SourceEncoding::Windows1252, 0));
    let lyon = find(&import, "690000013");
    assert_eq!(lyon.short_name, "HÔPITAL DE LA CROIX-ROUSSE");
    assert_eq!(lyon.long_name.as_deref(), Some("Hôpital de la Croix-Rousse"));
    assert_eq!(lyon.address.department_name.as_deref(), Some("RHÔNE"));
    assert!(geo::haversine_km(latlon(lyon), (45.771_836_6, 4.831_436_7)) < 0.0001);
    // Œ (0x8C) and ’ (0x92) exist in Windows-1252 only, not in ISO-8859-1.
    let dijon = find(&import, "210000016");
    assert_eq!(dijon.short_name, "EHPAD LA SŒUR MARIE-ÉLISE");
    assert_eq!(dijon.address.department_name.as_deref(), Some("CÔTE-D’OR"));
    let label = dijon.category_aggregate.as_ref().and_then(|c| c.label.as_deref());
    assert_eq!(label, Some("Etablissements d'Hébergement pour Personnes Âgées"));
}

#[test]
fn malformed_records_are_rejected_with_line_and_field() {
    let import = parse_bytes(fixture!("etalab-malformed.csv")).unwrap();
    let got: Vec<String> = import.rejected.iter().map(ToString::to_string).collect();
    let want = [
        "line 3, field rs: unexpected 'L' after the closing quote (FINESS 920000021)",
        "line 4: expected 32 fields for structureet, found 30 (FINESS 920000039)",
        "line 5, field nofinesset: not a FINESS number '92000002'",
        "line 6, field departement: unknown département code '96' (FINESS 920000070)",
        "line 7, field commune: expected 3 digits, found '4' (FINESS 920000088)",
        "line 8, field siret: SIRET must be 14 digits, found '2,601E+13' (FINESS 920000096)",
        "line 9, field dateouv: not a date '2020-02-30' (FINESS 920000104)",
        "line 10, field nofinesset: duplicate structureet, first seen on line 2 (FINESS 920000013)",
        "line 11, field section: unknown section 'structureej' (FINESS 920000112)",
        "line 12, field rs: quoted field not closed at the end of the line (FINESS 920000120)",
        "line 14: invalid UTF-8 at byte 34 although line 2 showed the file is UTF-8",
        "line 17, field rs: required field is empty (FINESS 920000146)",
        "line 21, field sourcecoordet: unsupported coordinate system EPSG:4326 (FINESS 920000047)",
        "line 22, field sourcecoordet: no EPSG code in '1,ATLASANTE,96,BAN' (FINESS 920000047)",
        "line 23, field nofinesset: no structureet line has this FINESS number (FINESS 920000997)",
        "line 24, field coordyet: empty while coordxet is given (FINESS 920000054)",
        "line 25, field coordxet: point (-5.98386, -1.36308) lies outside the area of use of EPSG:2154 \
         (coordxet 0, coordyet 0) (FINESS 920000054)",
        "line 26, field coordxet: not a number 'abc' (FINESS 920000054)",
        "line 27, field nofinesset: duplicate geolocalisation, first seen on line 20 (FINESS 920000013)",
        "line 29: expected 6 fields for geolocalisation, found 5 (FINESS 920000054)",
        "line 30, field sourcecoordet: unsupported coordinate system EPSG:27572 (FINESS 920000047)",
    ];
    assert_eq!(got, want);
    let kept: Vec<&str> = import.establishments.iter().map(|e| e.finess_et.as_str()).collect();
    assert_eq!(kept, ["920000013", "920000047", "920000054", "920000062"]);
    assert_eq!(find(&import, "920000013").short_name, "CENTRE MÉDICO-PSYCHOLOGIQUE ASNIÈRES");
    assert_eq!(find(&import, "920000047").geolocation, None);
    let multi_line = find(&import, "920000062");
    assert_eq!(multi_line.long_name.as_deref(), Some("CENTRE DE SANTE\nMUNICIPAL"));
    let swapped = multi_line.geolocation.as_ref().unwrap();
    assert!(swapped.axes_swapped);
    assert_eq!(swapped.projected.map(|p| (p.x, p.y)), Some((645_201.9, 6_869_483.3)));
    assert_eq!((import.encoding, import.lines), (SourceEncoding::Utf8, 30));
}

#[test]
fn truncated_quote_at_end_of_file_is_a_file_error() {
    let err = parse_bytes(fixture!("etalab-truncated-quote.csv")).unwrap_err();
    assert!(matches!(&err, FinessCsvError::TruncatedQuote { line: 3, field } if field == "rs"), "{err:?}");
    assert_eq!(err.to_string(), "line 3, field rs: quoted field still open at end of file");
}

#[test]
fn file_level_problems_are_errors() {
    let not_finess = |bytes: &[u8]| matches!(parse_bytes(bytes), Err(FinessCsvError::NotFinessFile(_)));
    assert!(not_finess(b""));
    assert!(not_finess(b"nom;prenom;ville\nDupont;Jean;Paris\n"));
    assert!(not_finess(b"structureet;010000024;010780054\n"));
    let encoding = |bytes: &[u8]| matches!(parse_bytes(bytes), Err(FinessCsvError::UnknownEncoding { line: 1, .. }));
    assert!(encoding(b"\xff\xfef\x00i\x00n\x00"));
    assert!(encoding(b"f\x00i\x00n\x00e\x00s\x00s\x00"));
    let header = |bytes: &[u8]| parse_bytes(bytes).unwrap_err().to_string();
    assert_eq!(header(b"finess;etalab;x;2026-05-12\n"), "line 1, field n: not a number 'x'");
    assert_eq!(header(b"finess;etalab;96;12-05-2026\n"), "line 1, field date: not a date '12-05-2026'");
    assert_eq!(header(b"finess;etalab;96\n"), "line 1, field n: expected finess;etalab;<n>;<date>, found 3 fields");
}

#[test]
fn header_variants_and_empty_bodies_are_accepted() {
    let import = parse_bytes(b"\xef\xbb\xbffiness;etalab;111;2026-05-12;\r\n\r\n").unwrap();
    assert_eq!((import.header.number, import.encoding), (111, SourceEncoding::Utf8));
    assert!(import.establishments.is_empty() && import.rejected.is_empty());
    let ascii = parse_bytes(b"finess;etalab;1;2026-05-12").unwrap();
    assert_eq!((ascii.encoding, ascii.lines), (SourceEncoding::Ascii, 1));
}

#[test]
fn buffered_reader_and_bytes_agree() {
    for bytes in [fixture!("etalab-malformed.csv"), fixture!("synthetic-40-cp1252.csv")] {
        let from_reader = parse_reader(std::io::BufReader::with_capacity(7, bytes)).unwrap();
        assert_eq!(from_reader, parse_bytes(bytes).unwrap());
    }
}

/// Deterministic xorshift64 generator, so failures replay.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// One random edit among those that break CSV and encodings.
fn mutate(rng: &mut Rng, bytes: &mut Vec<u8>) {
    const NASTY: [&[u8]; 10] =
        [b"\"", b";", b"\n", b"\r", b"\0", b"\xe9", b"\xc3", b"\xef\xbb\xbf", b"\"\"", b"EPSG:99999999999"];
    let at = rng.below(bytes.len() + 1);
    match rng.below(4) {
        0 if at < bytes.len() => bytes[at] = rng.next() as u8,
        1 => {
            let piece = NASTY[rng.below(NASTY.len())];
            bytes.splice(at..at, piece.iter().copied());
        }
        2 => {
            let end = (at + rng.below(64)).min(bytes.len());
            bytes.drain(at..end);
        }
        _ => {
            let end = (at + rng.below(200)).min(bytes.len());
            let copy = bytes[at..end].to_vec();
            let to = rng.below(bytes.len() + 1);
            bytes.splice(to..to, copy);
        }
    }
}

#[test]
fn never_panics_on_truncated_or_mutated_fixtures() {
    let fixtures = [
        fixture!("etalab-excerpt-utf8.csv"),
        fixture!("etalab-malformed.csv"),
        fixture!("etalab-accents-cp1252.csv"),
        fixture!("etalab-truncated-quote.csv"),
        fixture!("synthetic-40-cp1252.csv"),
    ];
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut runs = 0;
    for bytes in fixtures {
        let step = (bytes.len() / 1500).max(1);
        for end in (0..=bytes.len()).step_by(step) {
            fuzz_parse(&bytes[..end]);
            runs += 1;
        }
        for _ in 0..600 {
            let mut mutated = bytes.to_vec();
            for _ in 0..=rng.below(4) {
                mutate(&mut rng, &mut mutated);
            }
            fuzz_parse(&mutated);
            runs += 1;
        }
    }
    assert!(runs > 8000, "{runs}");
}

#[test]
fn two_pass_reading_equals_the_in_memory_parser_on_every_fixture() {
    let fixtures: [&[u8]; 7] = [
        fixture!("synthetic-40-utf8.csv"),
        fixture!("synthetic-40-cp1252.csv"),
        fixture!("etalab-excerpt-utf8.csv"),
        fixture!("etalab-accents-cp1252.csv"),
        fixture!("etalab-malformed.csv"),
        fixture!("etalab-truncated-quote.csv"),
        b"finess;etalab;1;2026-01-01\ngeolocalisation;010000024;873766.07;6570414.61;1,ATLASANTE,100,IGN,BD_ADRESSE,V2.2,LAMBERT_93;2026-01-01\ngeolocalisation;010000024;1;2;x;\n",
    ];
    for (i, bytes) in fixtures.iter().enumerate() {
        match (parse_bytes(bytes), parse_two_pass(bytes)) {
            (Ok(a), Ok(b)) => assert_eq!(a, b, "fixture {i}"),
            (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string(), "fixture {i}"),
            (a, b) => panic!("fixture {i}: {a:?} vs {b:?}"),
        }
    }
    let malformed = parse_two_pass(fixture!("etalab-malformed.csv")).unwrap();
    assert!(!malformed.rejected.is_empty());
}
