//! The directory search on the shared benchmark (`../shared/bench/`): loads the synthetic
//! directory, runs the 1,000 queries in-process through the same engine the portal uses, and
//! writes one line per query (`{"qid", "ids", "micros"}`) for the harness's `eval_external.py`.
//!
//! `cargo bench --bench directory_search -- DIR.jsonl QUERIES.txt OUT.jsonl [--threads 2]`

use std::io::{BufRead, BufReader, BufWriter, Write};
use std::time::Instant;

use atomes::directory::search::{Entry, SearchIndex, SearchParams};
use serde::Deserialize;

#[derive(Deserialize)]
struct Category {
    code: String,
    label: String,
    sigle: String,
}

#[derive(Deserialize)]
struct Row {
    id: String,
    name: String,
    category: Category,
    activities: Vec<String>,
    publics: Vec<String>,
    public_labels: Vec<String>,
    age_min: Option<i64>,
    age_max: Option<i64>,
    address: String,
    postcode: String,
    commune: String,
    insee: String,
    departement: String,
    lat: f64,
    lon: f64,
    phone: Option<String>,
}

#[derive(Deserialize)]
struct Geo {
    lat: f64,
    lon: f64,
    km: f64,
}

#[derive(Deserialize, Default)]
struct Filters {
    category: Option<String>,
    departement: Option<String>,
    public: Option<String>,
}

#[derive(Deserialize)]
struct Q {
    qid: u64,
    text: String,
    #[serde(default)]
    filters: Option<Filters>,
    geo: Option<Geo>,
}

fn entry(r: Row) -> anyhow::Result<Entry> {
    let id: i64 = r.id.parse()?;
    Ok(Entry {
        key: id as u64,
        kind: "entry",
        id,
        subtitle: None,
        name: r.name,
        category_code: Some(r.category.code),
        category_label: Some(r.category.label),
        category_sigle: Some(r.category.sigle),
        activities: r.activities,
        publics: r.publics,
        public_labels: r.public_labels,
        age_min: r.age_min,
        age_max: r.age_max,
        address: Some(r.address),
        postal_code: Some(r.postcode),
        city: Some(r.commune),
        insee: Some(r.insee),
        departement: Some(r.departement),
        lat: Some(r.lat),
        lon: Some(r.lon),
        phone: r.phone,
        source: None,
        updated_on: None,
        ..Default::default()
    })
}

fn params(q: &Q) -> SearchParams {
    let f = q.filters.as_ref();
    SearchParams {
        text: q.text.clone(),
        categories: f.and_then(|f| f.category.clone()).into_iter().collect(),
        departement: f.and_then(|f| f.departement.clone()),
        publics: f.and_then(|f| f.public.clone()).into_iter().collect(),
        near: q.geo.as_ref().map(|g| (g.lat, g.lon)),
        radius_km: q.geo.as_ref().map(|g| g.km),
        page: 1,
        per_page: 10,
        ..Default::default()
    }
}

fn dir_bytes(path: &std::path::Path) -> u64 {
    std::fs::read_dir(path)
        .map(|rd| {
            rd.flatten()
                .map(|e| if e.path().is_dir() { dir_bytes(&e.path()) } else { e.metadata().map_or(0, |m| m.len()) })
                .sum()
        })
        .unwrap_or(0)
}

fn rss_mb(field: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with(field)).and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    anyhow::ensure!(args.len() >= 3, "usage: directory_search DIR.jsonl QUERIES.txt OUT.jsonl [--threads N]");
    let threads = args.iter().position(|a| a == "--threads").and_then(|i| args.get(i + 1)?.parse().ok()).unwrap_or(2);
    // BENCH_INDEX=DIR keeps the index there and reuses it on the next run (iterations on the
    // query side only; the load time printed is then not a load time).
    let tmp = tempfile::tempdir()?;
    let kept = std::env::var_os("BENCH_INDEX").map(std::path::PathBuf::from);
    let reuse = kept.as_ref().is_some_and(|d| d.join("current").join("meta.json").exists());
    let index_dir = kept.clone().unwrap_or_else(|| tmp.path().to_owned());
    let started = Instant::now();
    let reader = BufReader::new(std::fs::File::open(&args[0])?);
    let entries = reader.lines().map_while(Result::ok).filter(|l| !l.trim().is_empty()).map(|l| {
        let row: Row = serde_json::from_str(&l).expect("a directory line");
        entry(row).expect("a numeric id")
    });
    let index = if reuse {
        SearchIndex::reopen_from(&index_dir, entries)?
    } else {
        SearchIndex::build_from(&index_dir, entries, threads)?
    };
    let load_s = started.elapsed().as_secs_f64();
    let docs = index.num_docs();
    let queries: Vec<Q> = BufReader::new(std::fs::File::open(&args[1])?)
        .lines()
        .map_while(Result::ok)
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(&l))
        .collect::<Result<_, _>>()?;
    for q in queries.iter().take(100) {
        index.search(&params(q))?;
    }
    let mut out = BufWriter::new(std::fs::File::create(&args[2])?);
    let by_cpu = std::env::var("BENCH_CPU").is_ok_and(|v| v == "1");
    let wall = Instant::now();
    for q in &queries {
        let p = params(q);
        let (t, cpu0) = (Instant::now(), thread_cpu_micros());
        let res = index.search(&p)?;
        // BENCH_CPU=1: this thread's CPU time instead of the wall clock (comparisons on a busy
        // machine; the published figures are wall-clock).
        let micros = if by_cpu { thread_cpu_micros() - cpu0 } else { t.elapsed().as_micros() as u64 };
        let ids: Vec<String> = res.hits.iter().map(|h| format!("{:09}", h.card.id)).collect();
        writeln!(out, "{}", serde_json::json!({ "qid": q.qid, "ids": ids, "micros": micros }))?;
    }
    let wall_s = wall.elapsed().as_secs_f64();
    out.flush()?;
    eprintln!(
        "docs={docs} load_s={load_s:.2} index_bytes={} queries={} wall_s={wall_s:.3} qps={:.0} rss_mb={:.0} peak_rss_mb={:.0}",
        dir_bytes(&index_dir),
        queries.len(),
        queries.len() as f64 / wall_s,
        rss_mb("VmRSS:"),
        rss_mb("VmHWM:")
    );
    Ok(())
}

/// CPU time of the calling thread.
fn thread_cpu_micros() -> u64 {
    cpu_time::ThreadTime::try_now().map_or(0, |t| t.as_duration().as_micros() as u64)
}
