//! The directory search (`directory::search`), fed the way the search page builds its query
//! (`web::directory::resolve`: text cut at 200 characters, age 0..=130, the place found for
//! `autour`, page 1..=500, 20 per page) over a small index built once: every search answers,
//! pages hold at most 20 hits, each within the age asked (an offer without an age range takes
//! every age) and the radius used, and highlighting a name loses nothing. Input: the query text
//! on the first line, then the other fields.
#![no_main]

use std::sync::OnceLock;

use arbitrary::{Arbitrary, Unstructured};
use atomes::directory::search::text::fold_words;
use atomes::directory::search::{Entry, SearchIndex, SearchParams, Segment, highlight};
use libfuzzer_sys::fuzz_target;

/// The rest of the search form (`web::directory::SearchForm`).
#[derive(Arbitrary, Debug)]
struct Form {
    autour: String,
    age: String,
    categorie: String,
    departement: String,
    commune: String,
    page: Option<usize>,
}

const PER_PAGE: usize = 20;

fuzz_target!(|data: &[u8]| {
    let (q, rest) = match data.iter().position(|b| *b == b'\n') {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, &[][..]),
    };
    let q = String::from_utf8_lossy(q);
    let Ok(form) = Form::arbitrary_take_rest(Unstructured::new(rest)) else { return };
    let index = index();
    // As web::directory::resolve does.
    let age = form.age.trim().parse::<i64>().ok().filter(|a| (0..=130).contains(a));
    let place = Some(form.autour.trim()).filter(|a| !a.is_empty()).and_then(|a| index.places().find(a));
    let opt = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
    let params = SearchParams {
        text: q.chars().take(200).collect(),
        categories: opt(&form.categorie).into_iter().collect(),
        departement: opt(&form.departement),
        commune: opt(&form.commune),
        age,
        near: place.as_ref().map(|p| (p.lat, p.lon)),
        radius_km: None,
        page: form.page.unwrap_or(1).clamp(1, 500),
        per_page: PER_PAGE,
        publics: Vec::new(),
        facets: true,
    };
    let results = index.search(&params).unwrap_or_else(|e| panic!("search failed: {e:#} for {params:?}"));
    assert!(results.hits.len() <= PER_PAGE && results.hits.len() <= results.total, "{params:?}");
    for hit in &results.hits {
        assert_eq!(joined(&hit.highlighted), hit.card.name);
        if let Some(age) = age {
            // An offer without an age range takes every age (indexed as 0..=200).
            let (min, max) = (hit.card.age_min.unwrap_or(0), hit.card.age_max.unwrap_or(200));
            assert!(min <= age && age <= max, "age {age}: {min}..={max}, {params:?}");
        }
        match (hit.distance_km, results.radius_km) {
            (Some(d), Some(r)) => assert!(params.near.is_some() && d <= r, "{d} km beyond {r} km"),
            (None, None) => assert!(params.near.is_none()),
            other => panic!("distance and radius disagree: {other:?}"),
        }
    }
    // Highlighting any text with any words gives the text back, cut into parts.
    assert_eq!(joined(&highlight(&q, &fold_words(&form.autour))), q);
});

fn joined(segments: &[Segment]) -> String {
    segments.iter().map(|s| s.text.as_str()).collect()
}

/// A small index (three communes, categories, publics, age ranges), built once per process in a
/// temporary directory named after the process; directories of finished runs are removed.
fn index() -> &'static SearchIndex {
    static INDEX: OnceLock<SearchIndex> = OnceLock::new();
    INDEX.get_or_init(|| {
        let tmp = std::env::temp_dir();
        let prefix = "atomes-fuzz-search-";
        for old in std::fs::read_dir(&tmp).into_iter().flatten().flatten() {
            let name = old.file_name().to_string_lossy().into_owned();
            if let Some(pid) = name.strip_prefix(prefix)
                && !std::path::Path::new("/proc").join(pid).exists()
            {
                let _ = std::fs::remove_dir_all(old.path());
            }
        }
        let dir = tmp.join(format!("{prefix}{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        SearchIndex::build_from(&dir, entries().into_iter(), 1).expect("index")
    })
}

fn entries() -> Vec<Entry> {
    let communes = [
        ("92025", "92700", "COLOMBES", 48.9226, 2.2522),
        ("92004", "92600", "ASNIERES SUR SEINE", 48.9147, 2.2853),
        ("92036", "92230", "GENNEVILLIERS", 48.9331, 2.2930),
        ("95018", "95100", "ARGENTEUIL", 48.9472, 2.2467),
    ];
    let kinds = [
        (
            "500",
            "Établissement d'hébergement pour personnes âgées dépendantes",
            "EHPAD",
            "EHPAD Les Tilleuls",
            Some((60, 120)),
        ),
        ("354", "Service de soins infirmiers à domicile", "SSIAD", "SSIAD du Val de Seine", Some((60, 130))),
        ("156", "Centre médico-psychologique", "CMP", "Centre Médico-Psychologique d'Asnières", Some((18, 120))),
        ("124", "Centre de santé", "CDS", "Centre de santé municipal", None),
        ("189", "Centre médico-psycho-pédagogique", "CMPP", "CMPP Œuvre de l'Enfance", Some((0, 20))),
    ];
    let mut out = Vec::new();
    for (i, (insee, postal, city, lat, lon)) in communes.iter().enumerate() {
        for (j, (code, label, sigle, name, ages)) in kinds.iter().enumerate() {
            let id = (i * kinds.len() + j) as i64 + 1;
            out.push(Entry {
                key: id as u64,
                kind: "site",
                id,
                name: format!("{name} {}", city.to_lowercase()),
                category_code: Some((*code).to_owned()),
                category_label: Some((*label).to_owned()),
                category_sigle: Some((*sigle).to_owned()),
                activities: vec!["Hébergement permanent".to_owned(), "Soins infirmiers".to_owned()],
                publics: vec!["11".to_owned()],
                public_labels: vec!["Personnes âgées".to_owned()],
                age_min: ages.map(|a| a.0),
                age_max: ages.map(|a| a.1),
                address: Some(format!("{} rue de la République", id * 3)),
                postal_code: Some((*postal).to_owned()),
                city: Some((*city).to_owned()),
                insee: Some((*insee).to_owned()),
                departement: Some(insee[..2].to_owned()),
                lat: Some(lat + j as f64 * 0.003),
                lon: Some(lon - j as f64 * 0.002),
                phone: Some("01 47 00 00 00".to_owned()),
                source: Some("finess".to_owned()),
                updated_on: None,
                ..Entry::default()
            });
        }
    }
    out
}
