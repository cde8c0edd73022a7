//! Tests of the FHIR parser on the real Annuaire Santé samples, ROR fixtures and the demo file.

use super::*;

macro_rules! fixture {
    ($name:literal) => {
        include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/fhir/", $name)).as_slice()
    };
}

const BUNDLE: &[u8] = fixture!("ror-searchset-bundle.json");
const DEMO: &[u8] = include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/data/demo/ror-92nord.ndjson"));

fn utc(text: &str) -> Option<DateTime<Utc>> {
    Some(DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc))
}

fn date(y: i32, m: u32, d: u32) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(y, m, d)
}

fn codes(codings: &[Coding]) -> Vec<&str> {
    codings.iter().map(|c| c.code.as_str()).collect()
}

fn service<'a>(import: &'a FhirImport, id: &str) -> &'a FhirHealthcareService {
    import.healthcare_services.iter().find(|s| s.id == id).expect(id)
}

fn location<'a>(import: &'a FhirImport, id: &str) -> &'a FhirLocation {
    import.locations.iter().find(|l| l.id == id).expect(id)
}

fn organization<'a>(import: &'a FhirImport, id: &str) -> &'a FhirOrganization {
    import.organizations.iter().find(|o| o.id == id).expect(id)
}

#[test]
fn annuaire_sante_situation_of_practice() {
    let import = parse(fixture!("PP16-organizationalRole_SituExe.json")).unwrap();
    assert_eq!((import.format, import.resource_count(), import.rejected.len()), (SourceFormat::Entry, 1, 0));
    let role = &import.practitioner_roles[0];
    assert_eq!((role.id.as_str(), role.active), ("5015602", Some(true)));
    assert_eq!(role.identifiers[0].system.as_deref(), Some("https://annuaire.sante.fr"));
    assert_eq!(role.identifiers[0].value, "F58000880311022013");
    assert_eq!(codes(&role.codes), ["FON-AU", "GENR01", "L"]);
    assert_eq!(role.codes[0].system, "urn:oid:1.2.250.1.213.1.6.1.17");
    // The structure is referenced by its IDNST, "1" + FINESS.
    let org = role.organization.as_ref().unwrap();
    assert_eq!(org.reference, None);
    let idnst = org.identifier.as_ref().unwrap();
    assert_eq!((idnst.system.as_deref(), idnst.value.as_str()), (Some(IDNST_SYSTEM), "1580008803"));
    assert_eq!(idnst.id_type.as_ref().map(|t| t.code.as_str()), Some("IDNST"));
    assert_eq!(org.finess(), Some("580008803"));
    assert_eq!(role.locations[0].reference.as_deref(), Some("-2"));
    // Four telecoms, all with a null value: none kept.
    assert!(role.telecoms.is_empty());
    assert_eq!((role.period_start, role.period_end), (date(2019, 1, 31), None));
    assert_eq!(role.last_updated, utc("2019-08-31T00:00:00Z"));
    assert_eq!((role.practitioner.as_ref(), role.name.as_ref()), (None, None));
}

#[test]
fn annuaire_sante_professional_roles() {
    let import = parse(fixture!("PP19-professionalRole_ExePro.json")).unwrap();
    assert_eq!((import.format, import.rejected.len()), (SourceFormat::Entry, 0));
    let role = &import.practitioner_roles[0];
    assert_eq!(role.id, "414150");
    let name = role.name.as_ref().unwrap();
    assert_eq!((name.family.as_deref(), name.given.as_slice()), (Some("BONNET"), ["Jerome".to_owned()].as_slice()));
    assert_eq!(codes(&role.codes), ["10", "C"]);
    assert_eq!(role.codes[0].system, "urn:oid:1.2.250.1.71.1.2.7");
    assert!(role.specialties.is_empty()); // "specialty": null
    assert_eq!((role.period_start, role.period_end), (date(2019, 3, 10), None));
    assert_eq!(role.last_updated, utc("2019-09-05T00:00:00Z"));

    let import = parse(fixture!("PP16-professionalRole_ExePro.json")).unwrap();
    let role = &import.practitioner_roles[0];
    assert_eq!((role.id.as_str(), codes(&role.codes)), ("3775792", vec!["21", "C"]));
    assert_eq!(role.name.as_ref().and_then(|n| n.family.as_deref()), Some("CHATELIER"));
    assert_eq!((role.period_start, role.last_updated), (date(2019, 1, 15), utc("2019-08-31T00:00:00Z")));
}

#[test]
fn ror_bundle_reads_offers_with_their_codings() {
    let import = parse(BUNDLE).unwrap();
    assert_eq!(import.rejected, vec![]);
    assert_eq!(
        (import.format, import.bundle_type.as_deref(), import.bundle_total),
        (SourceFormat::Bundle, Some("searchset"), Some(2))
    );
    assert_eq!(import.other_resources, BTreeMap::from([("OperationOutcome".to_owned(), 1)]));

    let saad = service(&import, "964");
    assert_eq!(saad.name.as_deref(), Some("Services à domicile quiétude Bois Colombes"));
    // `identifier`, `category` and `type` are objects in the ANS example, not arrays.
    assert_eq!((saad.identifiers[0].value.as_str(), codes(&saad.categories)), ("ZZZ", vec!["30"]));
    assert_eq!(saad.activity_fields, [Coding::new(SYSTEM_CHAMP_ACTIVITE, "04", Some("Médico-social (MS)"))]);
    assert_eq!(codes(&saad.operational_activities), ["298", "299", "302"]);
    assert_eq!(codes(&saad.other_specialties), ["019", "020", "023"]);
    assert_eq!(codes(&saad.care_modes), ["59"]);
    assert_eq!(saad.care_modes[0].system, SYSTEM_MODE_PRISE_EN_CHARGE);
    assert_eq!(codes(&saad.other_characteristics), ["02", "0784", "0785"]);
    assert_eq!((codes(&saad.publics), saad.age_min, saad.age_max), (vec!["01"], Some(60), Some(120)));
    // The example codes commune 92036 and displays it "Bois-Colombes (92009)": kept as given.
    assert_eq!(saad.intervention_communes().collect::<Vec<_>>(), ["92036"]);
    assert_eq!(saad.intervention_zones[0].code.display.as_deref(), Some("Bois-Colombes (92009)"));
    assert_eq!(saad.provided_by.as_ref().and_then(|r| r.target_id("Organization")), Some("2424"));
    assert_eq!(saad.locations[0].target_id("Location"), Some("654"));
    assert_eq!(saad.contacts.len(), 2);
    let standard = &saad.contacts[0];
    assert_eq!(standard.purpose.as_ref().map(|p| p.code.as_str()), Some("06"));
    assert_eq!(standard.confidentiality_level(), Some(ConfidentialityLevel::Free));
    let phone = &standard.telecoms[0];
    assert_eq!((phone.system.as_deref(), phone.value.as_str()), (Some("phone"), "01.01.01.01.01"));
    assert_eq!(phone.confidentiality_level(), Some(ConfidentialityLevel::Free));
    assert_eq!(saad.contacts[1].telecoms[0].value, "01.01.01.01.03");
    // Day numbers written as strings ("1"); four weekday slots.
    let days: Vec<_> = saad.available_times.iter().map(|t| t.day_number).collect();
    assert_eq!(days, [Some(1), Some(2), Some(4), Some(5)]);
    let slot = &saad.available_times[0];
    assert_eq!((slot.start, slot.end), (NaiveTime::from_hms_opt(9, 0, 0), NaiveTime::from_hms_opt(18, 0, 0)));
    assert_eq!(slot.time_type.as_ref().map(|t| t.code.as_str()), Some("02"));
    assert!(!saad.sensitive_unit);
    assert_eq!((saad.created_at, saad.last_updated), (utc("2023-12-09T13:30:00Z"), utc("2023-12-20T09:00:00Z")));

    let neuro = service(&import, "ror-healthcareservice-exemple");
    assert_eq!((codes(&neuro.operational_activities), codes(&neuro.care_modes)), (vec!["183"], vec!["28"]));
    assert_eq!(codes(&neuro.other_characteristics), ["0320"]);
    assert_eq!((neuro.age_min, neuro.age_max, neuro.publics.len()), (Some(18), Some(90), 0));
    assert_eq!(neuro.contacts[0].telecoms, vec![]);
}

#[test]
fn ror_bundle_reads_organizations_locations_and_people() {
    let import = parse(BUNDLE).unwrap();
    let eg = organization(&import, "2424");
    assert_eq!(eg.name.as_deref(), Some("Quiétude BOIS COLOMBES"));
    assert_eq!(
        (eg.finess.as_deref(), eg.siret.as_deref(), eg.siren.as_deref()),
        (Some("458174839"), Some("92131725800020"), None)
    );
    assert_eq!(eg.identifiers.len(), 3);
    // The label of the example ("Service autonomie aide (SAA)") is kept, not the NOS one.
    assert_eq!(eg.types[0].display.as_deref(), Some("Service autonomie aide (SAA)"));
    assert_eq!(eg.part_of.as_ref().and_then(|p| p.target_id("Organization")), Some("1111"));
    let address = &eg.addresses[0];
    assert_eq!((address.house_number.as_deref(), address.street_type.as_deref()), (Some("45"), Some("RUE")));
    assert_eq!(
        (address.street_name.as_deref(), address.postal_code.as_deref()),
        (Some("du général Leclerc"), Some("92270"))
    );
    let contact = &eg.contacts[0];
    assert_eq!(
        (contact.purpose.as_ref().map(|p| p.code.as_str()), contact.confidentiality_level()),
        (Some("06"), Some(ConfidentialityLevel::Free))
    );
    assert_eq!(contact.telecoms[0].channel.as_ref().map(|c| c.code.as_str()), Some("2"));
    assert_eq!(organization(&import, "1111").last_updated, utc("2023-06-30T00:00:00Z"));

    let versailles = location(&import, "5253");
    assert_eq!(
        versailles.commune_cog.as_ref().map(|c| (c.code.as_str(), c.display.as_deref())),
        Some(("78646", Some("Versailles")))
    );
    let address = versailles.address.as_ref().unwrap();
    assert_eq!((address.insee_code.as_deref(), address.city.as_deref()), (Some("78646"), Some("Versailles")));
    assert_eq!(address.street_name.as_deref(), Some("porte de Buc"));
    assert_eq!(versailles.position, Some(Position { lat: 48.8049, lon: 2.1204 }));
    assert_eq!(codes(&versailles.functions), ["001"]);
    let [installed, extra] = versailles.capacities.as_slice() else { panic!("{:?}", versailles.capacities) };
    assert_eq!((installed.nature.code.as_str(), installed.status.code.as_str(), installed.count), ("01", "01", 15));
    assert_eq!(installed.temporality.as_ref().map(|t| t.code.as_str()), Some("01"));
    assert_eq!(installed.updated_at, utc("2024-07-08T18:15:39Z"));
    assert_eq!(
        (
            installed.source.as_ref().map(|s| s.code.as_str()),
            installed.temporary_assignment.as_ref().map(|s| s.code.as_str())
        ),
        (Some("01"), Some("01"))
    );
    assert_eq!((extra.status.code.as_str(), extra.count, codes(&extra.other)), ("06", 0, vec!["03", "02"]));
    assert_eq!(location(&import, "654").address.as_ref().and_then(|a| a.insee_code.as_deref()), Some("92009"));

    let person = &import.practitioners[0];
    assert_eq!((person.rpps.as_deref(), person.idnps.as_deref()), (Some("10003461033"), Some("810003461033")));
    assert_eq!(person.names[0].given, ["Claire", "Marie"]);
    assert_eq!(codes(&person.qualifications), ["DE", "DE05", "SM13"]);
    let role = &import.practitioner_roles[0];
    assert_eq!(role.practitioner.as_ref().and_then(|r| r.target_id("Practitioner")), Some("p-1"));
    assert_eq!(role.healthcare_services[0].target_id("HealthcareService"), Some("964"));
    assert_eq!(role.telecoms[0].system.as_deref(), Some("email"));
}

#[test]
fn alternative_spellings_are_accepted() {
    let import = parse(fixture!("ror-variants.ndjson")).unwrap();
    assert_eq!(import.rejected, vec![]);
    assert_eq!((import.format, import.other_resources.get("Patient")), (SourceFormat::Ndjson, Some(&1)));
    let offer = service(&import, "variant-offer");
    assert!(offer.sensitive_unit); // `ror-sensitive-unit`
    assert_eq!((offer.age_min, offer.age_max), (Some(0), Some(3))); // 6 to 30 months
    // JDV_J17 / JDV_J19 systems count as activité opérationnelle / mode de prise en charge.
    assert_eq!((codes(&offer.operational_activities), codes(&offer.care_modes)), (vec!["227"], vec!["32"]));
    assert_eq!(codes(&offer.activity_fields), ["03"]); // `coding` as an object
    let contact = &offer.contacts[0];
    assert_eq!(contact.confidentiality_level(), Some(ConfidentialityLevel::HighlyRestricted));
    assert_eq!(contact.name.as_ref().and_then(|n| n.family.as_deref()), Some("GREDIN"));
    assert_eq!(contact.telecoms[0].system.as_deref(), Some("email")); // channel 3
    assert_eq!(offer.telecoms[0].confidentiality_level(), Some(ConfidentialityLevel::Restricted));
    assert_eq!((offer.closed_from, offer.reopening_on), (date(2026, 7, 1), date(2026, 9, 1)));
    assert_eq!(offer.psychiatric_sectors, ["92I03"]);
    let slot = &offer.available_times[0];
    assert_eq!(
        (slot.start, slot.effective_from, slot.effective_until),
        (NaiveTime::from_hms_opt(8, 30, 0), date(2025, 1, 6), date(2025, 12, 19))
    );
    assert_eq!(offer.last_updated, utc("2025-01-15T00:00:00Z"));

    let place = location(&import, "variant-location");
    assert_eq!(place.address.as_ref().and_then(|a| a.insee_code.as_deref()), Some("2A004"));
    assert_eq!(place.position, Some(Position { lat: 41.9192, lon: 8.7386 }));
    assert_eq!((codes(&[place.equipment[0].kind.clone()]), place.equipment[0].in_service), (vec!["012"], Some(2)));
    assert_eq!((place.capacities[0].count, place.capacities[0].temporality.as_ref()), (12, None));

    let org = organization(&import, "variant-organization");
    assert_eq!((org.finess.as_deref(), org.siren.as_deref()), (Some("2A0000123"), Some("263500076")));
    assert_eq!(org.aliases, ["Alias 1", "Alias 2"]);
    assert_eq!(organization(&import, "variant-idnst-only").finess.as_deref(), Some("754567860"));
    assert_eq!(import.practitioners[0].rpps.as_deref(), Some("10003461033"));
    let role = &import.practitioner_roles[0];
    assert_eq!(role.practitioner.as_ref().and_then(Reference::rpps), Some("10003461033"));
    assert_eq!(role.name.as_ref().and_then(|n| n.family.as_deref()), Some("DUPONT"));
    assert_eq!((role.period_start, role.period_end), (date(2020, 2, 1), date(2024, 1, 1)));
}

#[test]
fn demo_directory_parses_without_rejections() {
    let import = parse(DEMO).unwrap();
    assert_eq!(import.rejected, vec![]);
    assert_eq!(import.format, SourceFormat::Ndjson);
    let counts = (
        import.organizations.len(),
        import.locations.len(),
        import.healthcare_services.len(),
        import.practitioners.len(),
        import.practitioner_roles.len(),
    );
    assert_eq!(counts, (179, 191, 262, 29, 29));
    assert!(import.other_resources.is_empty());
    let sites = import.organizations.iter().filter(|o| o.id.starts_with("demo-eg-")).count();
    assert_eq!(sites, 145);
    // Demo identifiers are never taken for FINESS numbers.
    assert!(import.organizations.iter().all(|o| o.finess.is_none()
        && (o.id.starts_with("demo-oi-") || o.identifiers[0].system.as_deref() == Some("urn:atomes:demo:finess"))));
    let ehpad = import.organizations.iter().filter(|o| o.types.iter().any(|t| t.code == "500")).count();
    assert_eq!(ehpad, 24);

    let communes = [
        "92004", "92009", "92024", "92025", "92036", "92078", "92035", "92026", "92044", "92050", "92051", "95018",
        "93070", "75117",
    ];
    let org_ids: std::collections::HashSet<_> = import.organizations.iter().map(|o| o.id.as_str()).collect();
    let location_ids: std::collections::HashSet<_> = import.locations.iter().map(|l| l.id.as_str()).collect();
    for l in &import.locations {
        let cog = l.address.as_ref().and_then(|a| a.insee_code.as_deref()).unwrap();
        assert!(communes.contains(&cog), "{cog}");
        let p = l.position.unwrap();
        assert!((48.80..49.0).contains(&p.lat) && (2.15..2.40).contains(&p.lon), "{p:?}");
        assert!(l.capacities.iter().all(|c| c.updated_at.is_some() && c.temporality.is_some()));
    }
    for s in &import.healthcare_services {
        assert_eq!((s.activity_fields.len(), s.care_modes.len()), (1, 1), "{}", s.id);
        assert!(!s.operational_activities.is_empty() && !s.publics.is_empty(), "{}", s.id);
        assert!(s.age_min.is_some() && s.age_max.is_some() && s.last_updated.is_some(), "{}", s.id);
        assert!(org_ids.contains(s.provided_by.as_ref().and_then(|r| r.target_id("Organization")).unwrap()));
        assert!(location_ids.contains(s.locations[0].target_id("Location").unwrap()));
        assert!(s.contacts.iter().all(|c| c.confidentiality_level().is_some()), "{}", s.id);
        assert!(s.intervention_communes().all(|c| communes.contains(&c)), "{}", s.id);
    }
    let sensitive: Vec<_> =
        import.healthcare_services.iter().filter(|s| s.sensitive_unit).map(|s| s.name.as_deref().unwrap()).collect();
    assert_eq!(
        sensitive,
        [
            "Unité médico-judiciaire",
            "Unité de soins intensifs psychiatriques",
            "Accueil et orientation des victimes de violences sexuelles"
        ]
    );
    let levels =
        import.healthcare_services.iter().flat_map(|s| &s.contacts).filter_map(ServiceContact::confidentiality_level);
    let restricted = levels.clone().filter(|l| *l == ConfidentialityLevel::Restricted).count();
    let highly = levels.filter(|l| *l == ConfidentialityLevel::HighlyRestricted).count();
    assert_eq!((restricted, highly), (22, 9));
    // SSIAD for people with disabilities: public 02, 18 to 59.
    let ssiad_ph = import
        .healthcare_services
        .iter()
        .find(|s| s.name.as_deref() == Some("Soins infirmiers à domicile - personnes handicapées"))
        .unwrap();
    assert_eq!((codes(&ssiad_ph.publics), ssiad_ph.age_min, ssiad_ph.age_max), (vec!["02"], Some(18), Some(59)));
    // Last updates spread over the 18 months before 2026-11-01.
    let updates = import.healthcare_services.iter().filter_map(|s| s.last_updated);
    assert!(updates.clone().min() > utc("2025-05-01T00:00:00Z") && updates.max() <= utc("2026-11-01T09:00:00+01:00"));
}

#[test]
fn malformed_resources_are_rejected_with_their_line() {
    let import = parse(fixture!("malformed.ndjson")).unwrap();
    let got: Vec<String> = import.rejected.iter().map(ToString::to_string).collect();
    let age_range = "extension[0:ror-healthcareservice-patient-type].extension[0:ageRange].valueRange";
    let want = [
        "line 2, field id: HealthcareService: required field is missing or empty".to_owned(),
        "line 3: invalid JSON at column 44: EOF while parsing a value".to_owned(),
        format!("line 4, field {age_range}: HealthcareService/bad-age: age range 90-18: minimum above maximum"),
        "line 5, field position: Location/bad-latitude: (148.2, 2.25) is not a latitude/longitude pair".to_owned(),
        "line 6, field position.longitude: Location/half-position: missing while latitude is given".to_owned(),
        "line 7: expected a resource object, found an array".to_owned(),
        "line 8, field resourceType: missing".to_owned(),
        "line 9, field id: HealthcareService: not a FHIR id 'bad id!' (1-64 of A-Z a-z 0-9 - .)".to_owned(),
        "line 10, field id: duplicate Organization/ok-1, first seen at line 1".to_owned(),
        "line 11, field identifier[0].value: Organization/bad-finess: not a FINESS number '12345'".to_owned(),
        "line 12, field extension[0:ror-location-supported-capacity].nbCapacity: \
         Location/capacity-without-count: required sub-extension missing"
            .to_owned(),
        "line 13, field name: HealthcareService/numeric-name: expected a string, found a number".to_owned(),
        "line 14, field meta.lastUpdated: HealthcareService/bad-date: not a FHIR date-time 'hier'".to_owned(),
        "line 16, field identifier[0].value: Practitioner/bad-rpps: RPPS must be 11 digits, found '123'".to_owned(),
        format!("line 17, field {age_range}.low.code: HealthcareService/weeks: unsupported age unit 'wk'"),
        "line 19, field availableTime[0].availableStartTime: HealthcareService/bad-time: not a time '25:00:00'"
            .to_owned(),
        "line 20, field extension[0:ror-territorial-division].codeTerritorialDivision: \
         HealthcareService/bad-commune: not an INSEE commune code '9200'"
            .to_owned(),
    ];
    assert_eq!(got, want);
    assert_eq!(
        (organization(&import, "ok-1").name.as_deref(), service(&import, "ok-2").id.as_str()),
        (Some("Valide"), "ok-2")
    );
    assert_eq!((import.resource_count(), import.other_resources.get("Observation")), (2, Some(&1)));
}

#[test]
fn one_bad_ndjson_line_among_good_ones() {
    let mut lines: Vec<&[u8]> = DEMO.split(|b| *b == b'\n').take(40).collect();
    let good = parse(&lines.join(&b'\n')).unwrap();
    assert_eq!((good.resource_count(), good.rejected.len()), (40, 0));
    let cut = &lines[16][..lines[16].len() / 2];
    lines[16] = cut;
    let import = parse(&lines.join(&b"\r\n"[..])).unwrap();
    assert_eq!(import.resource_count(), 39);
    let [rejected] = import.rejected.as_slice() else { panic!("{:?}", import.rejected) };
    assert_eq!((&rejected.position, rejected.field.as_ref()), (&RecordPosition::Line(17), None));
    assert!(rejected.reason.starts_with("invalid JSON at column "), "{}", rejected.reason);
    // The first line itself may be the bad one.
    let import = parse(&[&b"{\"resourceType\": \"Organiz"[..], lines[0], lines[1]].join(&b'\n')).unwrap();
    assert_eq!((import.resource_count(), import.rejected[0].position.clone()), (2, RecordPosition::Line(1)));
}

#[test]
fn file_level_problems_are_errors() {
    let err = |bytes: &[u8]| parse(bytes).unwrap_err();
    assert_eq!(err(b""), FhirError::Empty);
    assert_eq!(err(b" \r\n\t\n"), FhirError::Empty);
    assert_eq!(err(b"\xEF\xBB\xBF\n"), FhirError::Empty);
    assert_eq!(err(b"not json").to_string(), "line 1, column 2: invalid JSON: expected ident");
    let truncated = err(&BUNDLE[..BUNDLE.len() / 2]);
    assert!(matches!(truncated, FhirError::Syntax { line, .. } if line > 100), "{truncated}");
    assert!(matches!(err(&BUNDLE[..BUNDLE.len() - 3]), FhirError::Syntax { .. }));
    let nos = include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/data/nos/CodeSystem-TRE-R227-ChampActivite.json"));
    assert_eq!(
        err(nos).to_string(),
        "not FHIR directory data: resourceType 'CodeSystem' is neither a Bundle nor one of \
         Organization, HealthcareService, Location, Practitioner, PractitionerRole"
    );
    assert!(matches!(err(b"[1, 2]"), FhirError::NotFhir(_)));
    assert!(matches!(err(b"\"Bundle\""), FhirError::NotFhir(_)));
    assert_eq!(err(br#"{"id": "x"}"#), FhirError::NotFhir("no resourceType".to_owned()));
    assert!(matches!(err(br#"{"resourceType": 12}"#), FhirError::NotFhir(_)));
    assert!(matches!(err(br#"{"resourceType": "Bundle", "entry": {}}"#), FhirError::NotFhir(_)));
    assert!(matches!(err(br#"{"resourceType": "Organization", "entry": []}"#), FhirError::NotFhir(_)));
    assert!(matches!(err(br#"{"resourceType": "Bundle"} {"resourceType": "Bundle"} x"#), FhirError::Syntax { .. }));
    // A pretty-printed document followed by junk is not taken for NDJSON.
    let mut junk = BUNDLE.to_vec();
    junk.extend_from_slice(b"}\n");
    assert!(matches!(err(&junk), FhirError::Syntax { .. }));
}

#[test]
fn layout_is_detected() {
    // A Bundle on one line, with a byte-order mark; entry keys before resourceType.
    let bundle = concat!(
        r#"{"entry": [{"resource": {"resourceType": "Location", "id": "a"}}, {"fullUrl": "x"}, 3], "#,
        r#""resourceType": "Bundle", "type": "collection"}"#
    )
    .as_bytes();
    let import = parse(&[&b"\xEF\xBB\xBF"[..], bundle].concat()).unwrap();
    assert_eq!(
        (import.format, import.locations.len(), import.bundle_type.as_deref()),
        (SourceFormat::Bundle, 1, Some("collection"))
    );
    let got: Vec<String> = import.rejected.iter().map(ToString::to_string).collect();
    assert_eq!(
        got,
        ["entry[1], field resource: entry has no resource", "entry[2]: expected an entry object, found a number"]
    );
    let empty = parse(br#"{"resourceType": "Bundle", "type": "searchset", "total": 0}"#).unwrap();
    assert_eq!((empty.resource_count(), empty.bundle_total), (0, Some(0)));
    let lone = parse(b"{\n  \"resourceType\": \"Location\",\n  \"id\": \"solo\"\n}\n").unwrap();
    assert_eq!((lone.format, lone.locations[0].id.as_str()), (SourceFormat::Resource, "solo"));
    let bad_lone = parse(br#"{"resourceType": "Location"}"#).unwrap();
    assert_eq!(bad_lone.rejected[0].to_string(), "$, field id: Location: required field is missing or empty");
    let ndjson =
        parse(b"\n{\"resourceType\":\"Location\",\"id\":\"a\"}\r\n\r\n{\"resourceType\":\"Location\",\"id\":\"b\"}")
            .unwrap();
    assert_eq!((ndjson.format, ndjson.locations.len()), (SourceFormat::Ndjson, 2));
    // A reference to an offer from another server.
    let r = Reference {
        reference: Some("https://ror.example/fhir/HealthcareService/12/_history/3".to_owned()),
        identifier: None,
        display: None,
    };
    assert_eq!((r.target_id("HealthcareService"), r.target_id("Location")), (Some("12"), None));
}

#[test]
fn never_panics_on_truncated_or_mutated_input() {
    let demo_head: Vec<u8> = DEMO.split(|b| *b == b'\n').take(12).collect::<Vec<_>>().join(&b'\n');
    let inputs = [BUNDLE, fixture!("ror-variants.ndjson"), fixture!("malformed.ndjson"), &demo_head];
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for bytes in inputs {
        for end in (0..=bytes.len()).step_by(61) {
            fuzz_parse(&bytes[..end]);
        }
        for _ in 0..400 {
            let mut mutated = bytes.to_vec();
            for _ in 0..3 {
                let at = (next() % mutated.len() as u64) as usize;
                const NASTY: &[u8] = b"\"{}[],:0-9.e \n\\\x00\xff";
                mutated[at] = NASTY[(next() % NASTY.len() as u64) as usize];
            }
            fuzz_parse(&mutated);
        }
    }
    for nasty in
        [&b"{\"resourceType\":\"Bundle\",\"entry\":[null,{},{\"resource\":null}]}"[..], b"{}\n{}", b"\n\n{\n", b"null"]
    {
        fuzz_parse(nasty);
    }
}
