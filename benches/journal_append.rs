//! Journal append throughput: W writer threads, each committing one transaction per entry
//! (the shape of a consultation: one journal entry, nothing else), for S seconds.
//!
//! `cargo bench --bench journal_append -- [--database-url URL] [--writers 1,16] [--seconds 5]`
//! Without `--database-url` a fresh SQLite file in a temporary directory is used. With a
//! PostgreSQL URL, the database must be empty or already migrated; the bench appends to it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use atomes::app::AppState;
use atomes::clock::SystemClock;
use atomes::config::{Config, Secret};
use atomes::db::{self, Db, DbTarget};
use atomes::journal::{self, Action, Object, Outcome};

struct Args {
    url: Option<String>,
    writers: Vec<usize>,
    seconds: u64,
}

fn parse_args() -> Args {
    let mut args = Args { url: None, writers: vec![1, 16], seconds: 5 };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--database-url" => args.url = it.next(),
            "--writers" => {
                args.writers = it.next().unwrap_or_default().split(',').filter_map(|w| w.parse().ok()).collect();
            }
            "--seconds" => args.seconds = it.next().and_then(|s| s.parse().ok()).unwrap_or(5),
            _ => {} // cargo bench passes --bench
        }
    }
    args
}

fn main() -> anyhow::Result<()> {
    let args = parse_args();
    let dir = tempfile::tempdir()?;
    let url = args.url.clone().unwrap_or_else(|| format!("sqlite://{}", dir.path().join("bench.db").display()));
    let config = Config {
        database_url: Secret::new(url.clone()),
        data_dir: dir.path().to_path_buf(),
        journal_key: Some(Secret::new("bench-journal-key-0123456789abcdef0123")),
        ..Config::default()
    };
    let target = DbTarget::parse(&url).map_err(anyhow::Error::msg)?;
    let max_writers = args.writers.iter().copied().max().unwrap_or(1) as u32;
    let db = Db::connect(&target, max_writers + 1)?;
    db::run_migrations(&mut *db.get()?)?;
    let state = Arc::new(AppState::new(config, db, Arc::new(SystemClock))?);
    println!("backend: {:?}, {} s per run", target.backend(), args.seconds);
    for &writers in &args.writers {
        let rate = run(&state, writers, Duration::from_secs(args.seconds));
        println!("writers={writers:>3}  entries/s={rate:>9.0}");
    }
    let report = journal::verify(&mut *state.db.get()?, &state.journal_key)?;
    println!("chain verified: {} entries, problem: {:?}", report.checked, report.problem);
    Ok(())
}

fn run(state: &Arc<AppState>, writers: usize, duration: Duration) -> f64 {
    let stop = Arc::new(AtomicBool::new(false));
    let count = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let handles: Vec<_> = (0..writers)
        .map(|w| {
            let (state, stop, count) = (state.clone(), stop.clone(), count.clone());
            std::thread::spawn(move || {
                let mut conn = state.db.get().expect("connection");
                let mut i = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let ctx = state.system_context();
                    db::write_tx(&mut conn, |c| {
                        journal::record(
                            c,
                            &ctx,
                            Action::Consultation,
                            Object::new("user", w as u64 * 1_000_000 + i),
                            Outcome::Success,
                        )
                    })
                    .expect("append");
                    i += 1;
                    count.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    std::thread::sleep(duration);
    stop.store(true, Ordering::Relaxed);
    for h in handles {
        h.join().expect("writer");
    }
    count.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64()
}
