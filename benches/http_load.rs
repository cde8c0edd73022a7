//! HTTP load generator for the search API, in two modes:
//!
//! - **open loop** (`--rate N`): requests are *scheduled* at N per second over the connections,
//!   whatever the server's speed, and each latency is measured from the request's scheduled
//!   time, not from when a free connection could send it (Gil Tene's "coordinated omission"
//!   correction, as wrk2 does): a server that falls behind sees its queueing counted.
//! - **closed loop** (`--rate 0`): every connection sends its next request as soon as the last
//!   answer arrived (what wrk does); the throughput is the server's capacity and the latency is
//!   mostly the time spent waiting behind the other connections' requests.
//!
//! ```sh
//! cargo bench --bench http_load -- --addr 127.0.0.1:18383 --paths paths.txt \
//!     --connections 64 --rate 1000 --seconds 20
//! ```
//!
//! `paths.txt` holds one request path per line (`/api/directory/search?q=…`), taken in turn.
//! Plain HTTP/1.1 with keep-alive over loopback; every answer must be `200` with a
//! `Content-Length` (what the JSON API gives), anything else counts as an error.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

struct Args {
    addr: String,
    paths: Vec<String>,
    connections: usize,
    rate: f64,
    seconds: f64,
    warmup: f64,
}

fn parse_args() -> Result<Args, String> {
    let mut addr = "127.0.0.1:18383".to_owned();
    let mut paths_file = None;
    let (mut connections, mut rate, mut seconds, mut warmup) = (64usize, 1000.0f64, 20.0f64, 2.0f64);
    let mut it = std::env::args().skip(1).filter(|a| a != "--bench");
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--addr" => addr = value()?,
            "--paths" => paths_file = Some(value()?),
            "--connections" => connections = value()?.parse().map_err(|e| format!("--connections: {e}"))?,
            "--rate" => rate = value()?.parse().map_err(|e| format!("--rate: {e}"))?,
            "--seconds" => seconds = value()?.parse().map_err(|e| format!("--seconds: {e}"))?,
            "--warmup" => warmup = value()?.parse().map_err(|e| format!("--warmup: {e}"))?,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    let file = paths_file.ok_or("--paths FILE is required (one request path per line)")?;
    let text = std::fs::read_to_string(&file).map_err(|e| format!("{file}: {e}"))?;
    let paths: Vec<String> = text.lines().map(str::trim).filter(|l| l.starts_with('/')).map(str::to_owned).collect();
    if paths.is_empty() {
        return Err(format!("{file}: no line starts with /"));
    }
    if connections == 0 || seconds <= 0.0 || rate < 0.0 {
        return Err("--connections and --seconds must be positive, --rate 0 or more".into());
    }
    Ok(Args { addr, paths, connections, rate, seconds, warmup })
}

/// Reads one response; returns its status. Headers up to the blank line, then the body by its
/// `Content-Length`; `buf` keeps what was read past it (nothing, with one request in flight).
async fn read_response(stream: &mut TcpStream, buf: &mut Vec<u8>) -> std::io::Result<u16> {
    let bad = |m: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, m.to_owned());
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let mut chunk = [0u8; 16 * 1024];
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(bad("connection closed"));
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = std::str::from_utf8(&buf[..head_end]).map_err(|_| bad("headers not UTF-8"))?;
    let status: u16 = head.get(9..12).and_then(|s| s.parse().ok()).ok_or_else(|| bad("no status"))?;
    let length: usize = head
        .lines()
        .find_map(|l| l.split_once(':').filter(|(k, _)| k.eq_ignore_ascii_case("content-length")))
        .and_then(|(_, v)| v.trim().parse().ok())
        .ok_or_else(|| bad("no Content-Length"))?;
    while buf.len() < head_end + length {
        let mut chunk = [0u8; 64 * 1024];
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(bad("connection closed in the body"));
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    buf.drain(..head_end + length);
    Ok(status)
}

struct Shared {
    args: Args,
    start: Instant,
    next: AtomicU64,
    errors: AtomicU64,
}

/// One connection: takes the next request number, waits for its scheduled time (open loop),
/// sends it, reads the answer; returns the latencies (µs) of the requests after the warm-up.
async fn connection(shared: Arc<Shared>) -> Vec<u64> {
    let a = &shared.args;
    let mut out = Vec::new();
    let mut stream: Option<TcpStream> = None;
    let mut buf = Vec::new();
    let end = Duration::from_secs_f64(a.warmup + a.seconds);
    loop {
        let i = shared.next.fetch_add(1, Ordering::Relaxed);
        let scheduled = if a.rate > 0.0 {
            let at = Duration::from_secs_f64(i as f64 / a.rate);
            if at >= end {
                break;
            }
            tokio::time::sleep_until((shared.start + at).into()).await;
            shared.start + at
        } else {
            let now = Instant::now();
            if now - shared.start >= end {
                break;
            }
            now
        };
        let path = &a.paths[i as usize % a.paths.len()];
        let request = format!("GET {path} HTTP/1.1\r\nHost: {}\r\nAccept: application/json\r\n\r\n", a.addr);
        let result = async {
            if stream.is_none() {
                let s = TcpStream::connect(&a.addr).await?;
                s.set_nodelay(true)?;
                stream = Some(s);
                buf.clear();
            }
            let s = stream.as_mut().expect("connected");
            s.write_all(request.as_bytes()).await?;
            read_response(s, &mut buf).await
        }
        .await;
        let done = Instant::now();
        match result {
            Ok(200) => {}
            Ok(_) => {
                shared.errors.fetch_add(1, Ordering::Relaxed);
            }
            Err(_) => {
                shared.errors.fetch_add(1, Ordering::Relaxed);
                stream = None;
            }
        }
        if scheduled - shared.start >= Duration::from_secs_f64(a.warmup) {
            out.push((done - scheduled).as_micros() as u64);
        }
    }
    out
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1] as f64 / 1000.0
}

fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("http_load: {e}");
            std::process::exit(2);
        }
    };
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("a tokio runtime");
    let (connections, rate, seconds) = (args.connections, args.rate, args.seconds);
    let shared = Arc::new(Shared { args, start: Instant::now(), next: AtomicU64::new(0), errors: AtomicU64::new(0) });
    let mut latencies: Vec<u64> = runtime.block_on(async {
        let tasks: Vec<_> = (0..connections).map(|_| tokio::spawn(connection(shared.clone()))).collect();
        let mut all = Vec::new();
        for t in tasks {
            all.extend(t.await.expect("a connection task"));
        }
        all
    });
    latencies.sort_unstable();
    let n = latencies.len();
    let mode = if rate > 0.0 { format!("open loop, {rate} req/s scheduled") } else { "closed loop".to_owned() };
    println!(
        "{{\"mode\": \"{mode}\", \"connections\": {connections}, \"seconds\": {seconds}, \"requests\": {n}, \
         \"errors\": {}, \"throughput\": {:.1}, \"p50_ms\": {:.2}, \"p90_ms\": {:.2}, \"p99_ms\": {:.2}, \
         \"p999_ms\": {:.2}, \"max_ms\": {:.2}}}",
        shared.errors.load(Ordering::Relaxed),
        n as f64 / seconds,
        percentile(&latencies, 50.0),
        percentile(&latencies, 90.0),
        percentile(&latencies, 99.0),
        percentile(&latencies, 99.9),
        latencies.last().copied().unwrap_or(0) as f64 / 1000.0,
    );
}
