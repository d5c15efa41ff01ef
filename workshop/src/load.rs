//! `workshop load`: realistic traffic through the frontend or the gateway, so that telemetry
//! keeps flowing while you look at it.
//!
//! Open loop: request `i` is due at `start + i / rate`, whatever happened to the ones before
//! (a closed loop would slow down with the service and hide exactly the latency you want to
//! see). At most `--max-in-flight` requests wait for an answer; a request that falls due while
//! that many are waiting is not sent and is counted as dropped, so a dead or hung service
//! cannot make this process grow without bound. Every request has a timeout.
//!
//! The mix is deterministic (smooth weighted round robin): with the default 70/20/10, every
//! ten requests are seven known places, two unknown places and one bad input. Each kind has
//! the answer it deserves: known places 200, unknown places 404, bad input 400; anything else
//! is counted as unexpected.
//!
//! Progress goes to stderr (one line, updated in place, only when stderr is a terminal); the
//! summary goes to stdout, as text or `--json`. Ctrl-C (or SIGTERM) stops sending, waits a
//! moment for the answers in flight and prints the summary; the exit code is then 0.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::{Value, json};
use tokio::sync::Semaphore;

use crate::stop::StopSignal;

#[derive(clap::Args)]
pub struct Args {
    /// Where to send the requests: frontend (GET /?location=…, the page, which calls all
    /// the other services) or gateway (GET /distance?location=…, JSON).
    #[arg(long, value_enum, default_value_t = Target::Frontend)]
    target: Target,
    /// The target's base URL [default: http://127.0.0.1:5000 for the frontend,
    /// http://127.0.0.1:5001 for the gateway].
    #[arg(long, value_name = "BASE", value_parser = parse_base_url)]
    url: Option<reqwest::Url>,
    /// Requests per second, sent on schedule whatever the response times: e.g. 5, 50/s,
    /// 0.5, 30/m.
    #[arg(long, value_name = "N/s", default_value = "5", value_parser = parse_rate)]
    rate: f64,
    /// How long to run: e.g. 60s, 10m, 1h, 500ms [default: until Ctrl-C].
    #[arg(long, value_parser = parse_duration)]
    duration: Option<Duration>,
    /// Shares of known places, unknown places and bad input (empty, or 201 characters).
    #[arg(
        long,
        value_name = "known=N,unknown=N,bad=N",
        default_value = "known=70,unknown=20,bad=10",
        value_parser = parse_mix
    )]
    mix: Mix,
    /// Timeout of each request.
    #[arg(long, default_value = "15s", value_parser = parse_duration)]
    timeout: Duration,
    /// At most this many requests waiting for an answer; requests due meanwhile are dropped
    /// (not sent) and counted.
    #[arg(long, value_name = "N", default_value_t = 256,
          value_parser = clap::value_parser!(u32).range(1..=100_000))]
    max_in_flight: u32,
    /// Print the summary as one JSON object.
    #[arg(long)]
    json: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug, clap::ValueEnum)]
enum Target {
    Frontend,
    Gateway,
}

impl Target {
    fn default_base(self) -> &'static str {
        match self {
            Target::Frontend => "http://127.0.0.1:5000",
            Target::Gateway => "http://127.0.0.1:5001",
        }
    }

    fn path(self) -> &'static str {
        match self {
            Target::Frontend => "/",
            Target::Gateway => "/distance",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Target::Frontend => "frontend",
            Target::Gateway => "gateway",
        }
    }
}

/// Places in the embedded gazetteer (GeoNames, 15,000 people or more), with diacritics,
/// spaces, other spellings and a country to choose among namesakes.
const KNOWN: [&str; 20] = [
    "Berlin",
    "Tokyo",
    "Zürich",
    "zurich",
    "Paris, US",
    "Paris",
    "São Paulo",
    "Nairobi",
    "Sydney",
    "Reykjavík",
    "lodz",
    "Mumbai",
    "Buenos Aires",
    "Cape Town",
    "New York City",
    "Mexico City",
    "Kyiv",
    "Montréal",
    "Wellington, NZ",
    "Honolulu",
];

/// Places that are in no gazetteer (checked: none of them is a GeoNames name or alternate
/// name of a place of 15,000; "Atlantis" is, in Florida, so it is not here).
const UNKNOWN: [&str; 10] = [
    "Narnia",
    "Gondor",
    "Mordor",
    "Hogwarts",
    "Lilliput",
    "Wakanda",
    "Gotham",
    "Rivendell",
    "Camelot",
    "Brigadoon",
];

/// The three kinds of request, in the order of [`Mix`].
const KINDS: [&str; 3] = ["known", "unknown", "bad"];

/// The answer each kind deserves: known places 2xx, unknown places 404, bad input 400.
fn expected(kind: usize, status: u16) -> bool {
    match kind {
        0 => (200..300).contains(&status),
        1 => status == 404,
        _ => status == 400,
    }
}

/// Bad input: empty, blank, and one character over the 200 the services accept.
fn bad_inputs() -> [String; 3] {
    let long: String = "Llanfairpwllgwyngyll ".chars().cycle().take(201).collect();
    [String::new(), "   ".into(), long]
}

/// Weights of known, unknown and bad requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mix([u32; 3]);

fn parse_mix(text: &str) -> Result<Mix, String> {
    let mut weights = [None; 3];
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let Some((key, value)) = part.split_once('=') else {
            return Err(format!(
                "{part:?} is not NAME=WEIGHT: use e.g. known=70,unknown=20,bad=10"
            ));
        };
        let Some(index) = KINDS.iter().position(|k| *k == key.trim()) else {
            return Err(format!(
                "unknown kind {:?}: the kinds are known, unknown and bad",
                key.trim()
            ));
        };
        if weights[index].is_some() {
            return Err(format!("{} is given twice", KINDS[index]));
        }
        let weight: u32 = value
            .trim()
            .parse()
            .ok()
            .filter(|w| *w <= 1_000_000)
            .ok_or_else(|| {
                format!(
                    "the weight of {} must be a whole number from 0 to 1000000, got {:?}",
                    KINDS[index],
                    value.trim()
                )
            })?;
        weights[index] = Some(weight);
    }
    let weights = weights.map(|w| w.unwrap_or(0));
    if weights.iter().all(|w| *w == 0) {
        return Err(
            "at least one weight must be more than 0, e.g. known=70,unknown=20,bad=10".into(),
        );
    }
    Ok(Mix(weights))
}

/// Smooth weighted round robin: every `sum of weights` picks contain each kind exactly
/// `weight` times, spread out evenly.
struct Picker {
    weights: [i64; 3],
    current: [i64; 3],
}

impl Picker {
    fn new(mix: Mix) -> Self {
        Self {
            weights: mix.0.map(i64::from),
            current: [0; 3],
        }
    }

    fn next(&mut self) -> usize {
        let total: i64 = self.weights.iter().sum();
        for (current, weight) in self.current.iter_mut().zip(self.weights) {
            *current += weight;
        }
        let mut best = 0;
        for i in 1..3 {
            if self.current[i] > self.current[best] {
                best = i;
            }
        }
        self.current[best] -= total;
        best
    }
}

fn parse_base_url(text: &str) -> Result<reqwest::Url, String> {
    let why = "the workshop's services speak plain HTTP";
    crate::base_url::parse(text, "http://127.0.0.1:5001", why)
}

/// `5`, `50/s`, `0.5`, `30/m`: requests per second, more than 0 and at most 100,000.
fn parse_rate(text: &str) -> Result<f64, String> {
    let text = text.trim();
    let (number, per_seconds) = if let Some(n) = text.strip_suffix("/s") {
        (n, 1.0)
    } else if let Some(n) = text.strip_suffix("/m") {
        (n, 60.0)
    } else {
        (text, 1.0)
    };
    let number: f64 = number
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a rate: use e.g. 5, 50/s or 30/m"))?;
    let rate = number / per_seconds;
    if !rate.is_finite() || rate <= 0.0 {
        return Err("must be more than 0".into());
    }
    if rate > 100_000.0 {
        return Err("must be at most 100000/s".into());
    }
    Ok(rate)
}

/// More than 0, at most 30 days (leave `--duration` out to run until Ctrl-C).
fn parse_duration(text: &str) -> Result<Duration, String> {
    crate::duration::within(
        crate::duration::parse(text)?,
        false,
        Duration::from_secs(30 * 86_400),
        "--duration",
    )
}

/// Latencies in microseconds, in buckets 1/64 of a power of two wide (at most 1.6% off), so
/// that a run of days takes the same few kilobytes as a run of seconds.
#[derive(Clone)]
struct Histogram {
    counts: Vec<u64>,
    total: u64,
    max: u64,
}

const SUB_BUCKETS: u64 = 64;

impl Histogram {
    fn new() -> Self {
        Self {
            counts: vec![0; 64 * SUB_BUCKETS as usize],
            total: 0,
            max: 0,
        }
    }

    fn index(value: u64) -> usize {
        if value < SUB_BUCKETS {
            return value as usize;
        }
        let exponent = 63 - u64::from(value.leading_zeros()); // 6 or more
        let sub = (value >> (exponent - 6)) - SUB_BUCKETS;
        ((exponent - 5) * SUB_BUCKETS + sub) as usize
    }

    /// The middle of bucket `index`.
    fn value(index: usize) -> u64 {
        let index = index as u64;
        if index < SUB_BUCKETS {
            return index;
        }
        let exponent = index / SUB_BUCKETS + 5;
        let width = 1u64 << (exponent - 6);
        (SUB_BUCKETS + index % SUB_BUCKETS) * width + width / 2
    }

    fn record(&mut self, micros: u64) {
        let index = Self::index(micros).min(self.counts.len() - 1);
        self.counts[index] += 1;
        self.total += 1;
        self.max = self.max.max(micros);
    }

    /// The `q` quantile (0 to 1) by nearest rank, within the bucket's precision.
    fn quantile(&self, q: f64) -> u64 {
        if self.total == 0 {
            return 0;
        }
        let rank = ((q * self.total as f64).ceil() as u64).clamp(1, self.total);
        let mut seen = 0;
        for (index, count) in self.counts.iter().enumerate() {
            seen += count;
            if seen >= rank {
                return Self::value(index).min(self.max);
            }
        }
        self.max
    }
}

/// How a request ended.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Status(u16),
    Timeout,
    Connection,
    Other,
}

/// The outcome classes of the summary, in order.
const CLASSES: [&str; 7] = [
    "2xx",
    "4xx",
    "5xx",
    "other_status",
    "timeout",
    "connection_error",
    "other_error",
];

impl Outcome {
    fn class(self) -> usize {
        match self {
            Outcome::Status(s) if (200..300).contains(&s) => 0,
            Outcome::Status(s) if (400..500).contains(&s) => 1,
            Outcome::Status(s) if (500..600).contains(&s) => 2,
            Outcome::Status(_) => 3,
            Outcome::Timeout => 4,
            Outcome::Connection => 5,
            Outcome::Other => 6,
        }
    }

    /// The key under which `by_input` counts it: the status, or the kind of failure.
    fn key(self) -> String {
        match self {
            Outcome::Status(s) => s.to_string(),
            other => CLASSES[other.class()].to_owned(),
        }
    }
}

#[derive(Clone)]
struct Stats {
    sent: u64,
    dropped: u64,
    completed: u64,
    classes: [u64; 7],
    sent_by_kind: [u64; 3],
    answers_by_kind: [BTreeMap<String, u64>; 3],
    unexpected: u64,
    latency: Histogram,
    /// The first failure's message, to say why when nothing answers.
    first_failure: Option<String>,
}

impl Stats {
    fn new() -> Self {
        Self {
            sent: 0,
            dropped: 0,
            completed: 0,
            classes: [0; 7],
            sent_by_kind: [0; 3],
            answers_by_kind: Default::default(),
            unexpected: 0,
            latency: Histogram::new(),
            first_failure: None,
        }
    }

    /// 5xx, other statuses, timeouts and failed connections: what the input did not ask for.
    fn errors(&self) -> u64 {
        self.classes[2..].iter().sum()
    }

    fn record(
        &mut self,
        kind: usize,
        outcome: Outcome,
        latency: Duration,
        failure: Option<String>,
    ) {
        self.completed += 1;
        self.classes[outcome.class()] += 1;
        *self.answers_by_kind[kind].entry(outcome.key()).or_insert(0) += 1;
        match outcome {
            Outcome::Status(status) => {
                self.latency.record(latency.as_micros() as u64);
                if !expected(kind, status) {
                    self.unexpected += 1;
                }
            }
            _ => {
                self.unexpected += 1;
                if self.first_failure.is_none() {
                    self.first_failure = failure;
                }
            }
        }
    }
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    let mut stop = StopSignal::listen()?;
    let mut url = args
        .url
        .clone()
        .unwrap_or_else(|| reqwest::Url::parse(args.target.default_base()).expect("a valid URL"));
    let path = format!("{}{}", url.path().trim_end_matches('/'), args.target.path());
    url.set_path(&path);

    let client = reqwest::Client::builder()
        .timeout(args.timeout)
        .connect_timeout(args.timeout.min(Duration::from_secs(3)))
        .no_proxy()
        .build()
        .context("cannot build the HTTP client")?;
    let places: [Vec<String>; 3] = [
        KNOWN.iter().map(|s| s.to_string()).collect(),
        UNKNOWN.iter().map(|s| s.to_string()).collect(),
        bad_inputs().to_vec(),
    ];
    let mix = args.mix.0;
    let total_weight: u32 = mix.iter().sum();
    let shares: Vec<String> = KINDS
        .iter()
        .zip(mix)
        .filter(|(_, w)| *w > 0)
        .map(|(k, w)| format!("{k} {:.0}%", 100.0 * f64::from(w) / f64::from(total_weight)))
        .collect();
    eprintln!(
        "load: GET {url}?location=… at {}/s {}; {}",
        format_rate(args.rate),
        match args.duration {
            Some(d) => format!("for {}", format_duration(d)),
            None => "until Ctrl-C".into(),
        },
        shares.join(", ")
    );

    let stats = Arc::new(Mutex::new(Stats::new()));
    let in_flight = Arc::new(Semaphore::new(args.max_in_flight as usize));
    let mut tasks = tokio::task::JoinSet::new();
    let started = Instant::now();
    let progress = std::io::stderr().is_terminal().then(|| {
        let stats = Arc::clone(&stats);
        let in_flight = Arc::clone(&in_flight);
        let max = args.max_in_flight as usize;
        let duration = args.duration;
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(250));
            loop {
                tick.tick().await;
                let snapshot = stats.lock().expect("stats lock").clone();
                let waiting = max - in_flight.available_permits();
                progress_line(&snapshot, started.elapsed(), duration, waiting);
            }
        })
    });

    // The number of requests due within --duration: exactly rate × duration.
    let total = args
        .duration
        .map(|d| (d.as_secs_f64() * args.rate + 1e-6).floor() as u64);
    let mut picker = Picker::new(args.mix);
    let mut next_place = [0usize; 3];
    let mut interrupted = false;
    // The end of the sending window: the last send plus one period, or the Ctrl-C.
    let mut window_end = started;
    let mut i: u64 = 0;
    while total.is_none_or(|total| i < total) {
        let due = started + Duration::from_secs_f64(i as f64 / args.rate);
        tokio::select! {
            () = tokio::time::sleep_until(due.into()) => {}
            () = stop.recv() => {
                interrupted = true;
                window_end = Instant::now();
                break;
            }
        }
        window_end = Instant::now() + Duration::from_secs_f64(1.0 / args.rate);
        // Reap finished tasks as we go, so that a run of days keeps no handles around.
        while tasks.try_join_next().is_some() {}
        let kind = picker.next();
        let place = places[kind][next_place[kind] % places[kind].len()].clone();
        next_place[kind] += 1;
        i += 1;
        let Ok(permit) = Arc::clone(&in_flight).try_acquire_owned() else {
            stats.lock().expect("stats lock").dropped += 1;
            continue;
        };
        {
            let mut stats = stats.lock().expect("stats lock");
            stats.sent += 1;
            stats.sent_by_kind[kind] += 1;
        }
        let client = client.clone();
        let url = url.clone();
        let stats = Arc::clone(&stats);
        tasks.spawn(async move {
            let (outcome, failure) = request(&client, url, &place).await;
            // From when it was due: a late send counts against the latency too.
            let latency = due.elapsed();
            stats
                .lock()
                .expect("stats lock")
                .record(kind, outcome, latency, failure);
            drop(permit);
        });
    }

    // Wait for the answers in flight: all of them (each has a timeout) after a full run, a
    // moment after Ctrl-C; a (further) Ctrl-C abandons them.
    let grace = if interrupted {
        Duration::from_secs(1)
    } else {
        args.timeout + Duration::from_secs(1)
    };
    let all_back = in_flight.acquire_many(args.max_in_flight);
    tokio::select! {
        _ = all_back => {}
        () = tokio::time::sleep(grace) => {}
        () = stop.recv() => interrupted = true,
    }
    let elapsed = started.elapsed();
    let cancelled = (args.max_in_flight as usize - in_flight.available_permits()) as u64;
    tasks.abort_all();
    if let Some(progress) = progress {
        progress.abort();
        let _ = progress.await;
        eprint!("\r\x1b[K");
    }
    let stats = stats.lock().expect("stats lock").clone();
    let window = window_end.saturating_duration_since(started);
    let summary = summary(&args, &url, &stats, elapsed, window, interrupted, cancelled);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        print_summary(&summary);
    }
    Ok(())
}

/// One GET, with its body read to the end.
async fn request(
    client: &reqwest::Client,
    url: reqwest::Url,
    place: &str,
) -> (Outcome, Option<String>) {
    let failure = |e: reqwest::Error| {
        let outcome = if e.is_timeout() {
            Outcome::Timeout
        } else if e.is_connect() || e.is_request() || e.is_body() {
            Outcome::Connection
        } else {
            Outcome::Other
        };
        (outcome, Some(error_chain(&e)))
    };
    match client.get(url).query(&[("location", place)]).send().await {
        Ok(response) => {
            let status = response.status().as_u16();
            match response.bytes().await {
                Ok(_) => (Outcome::Status(status), None),
                Err(e) => failure(e),
            }
        }
        Err(e) => failure(e),
    }
}

/// An error with its causes, e.g. "error sending request …: Connection refused (os error 111)".
fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

fn ms(micros: u64) -> f64 {
    (micros as f64 / 10.0).round() / 100.0
}

fn format_rate(rate: f64) -> String {
    if rate.fract() == 0.0 {
        format!("{rate:.0}")
    } else {
        format!("{rate:.2}")
    }
}

fn format_duration(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s < 1.0 {
        format!("{} ms", d.as_millis())
    } else if s < 120.0 {
        format!("{s:.3}")
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_owned()
            + " s"
    } else if s < 7200.0 {
        format!("{:.1} min", s / 60.0)
    } else {
        format!("{:.1} h", s / 3600.0)
    }
}

fn progress_line(stats: &Stats, elapsed: Duration, duration: Option<Duration>, waiting: usize) {
    let seconds = elapsed.as_secs_f64();
    let of = duration.map_or(String::new(), |d| {
        let total = format!("{:.1}", d.as_secs_f64());
        format!("/{}", total.trim_end_matches(".0"))
    });
    let mut line = format!(
        "\r{seconds:.0}{of} s  sent {} ({:.1}/s)  2xx {}  4xx {}  errors {}",
        stats.sent,
        stats.sent as f64 / seconds.max(0.001),
        stats.classes[0],
        stats.classes[1],
        stats.errors(),
    );
    if stats.dropped > 0 {
        line += &format!("  dropped {}", stats.dropped);
    }
    line += &format!(
        "  in flight {waiting}  p50 {:.1} ms  p99 {:.1} ms\x1b[K",
        ms(stats.latency.quantile(0.5)),
        ms(stats.latency.quantile(0.99)),
    );
    let mut stderr = std::io::stderr().lock();
    let _ = stderr.write_all(line.as_bytes());
    let _ = stderr.flush();
}

fn summary(
    args: &Args,
    url: &reqwest::Url,
    stats: &Stats,
    elapsed: Duration,
    window: Duration,
    interrupted: bool,
    cancelled: u64,
) -> Value {
    let classes: serde_json::Map<String, Value> = CLASSES
        .iter()
        .zip(stats.classes)
        .map(|(name, count)| ((*name).to_owned(), json!(count)))
        .collect();
    let by_input: serde_json::Map<String, Value> = KINDS
        .iter()
        .enumerate()
        .map(|(i, kind)| {
            (
                (*kind).to_owned(),
                json!({
                    "requests": stats.sent_by_kind[i],
                    "answers": stats.answers_by_kind[i],
                }),
            )
        })
        .collect();
    let seconds = elapsed.as_secs_f64();
    let note = if stats.sent > 0 && stats.classes[5] == stats.completed && stats.completed > 0 {
        Some(format!(
            "nothing answered at {url}: start the services (`cargo run -p workshop -- up`) or \
             point --url at them ({})",
            stats
                .first_failure
                .as_deref()
                .unwrap_or("connection failed")
        ))
    } else {
        None
    };
    json!({
        "target": args.target.name(),
        "url": url.as_str(),
        "rate_per_second": args.rate,
        "duration_seconds": args.duration.map(|d| d.as_secs_f64()),
        "elapsed_seconds": (seconds * 1000.0).round() / 1000.0,
        "interrupted": interrupted,
        "requests": stats.sent,
        // Over the sending window (from the start to one period after the last send).
        "sending_seconds": (window.as_secs_f64() * 1000.0).round() / 1000.0,
        "sent_per_second": if window > Duration::ZERO {
            (stats.sent as f64 / window.as_secs_f64() * 100.0).round() / 100.0
        } else {
            0.0
        },
        "completed": stats.completed,
        "dropped": stats.dropped,
        "cancelled": cancelled,
        "max_in_flight": args.max_in_flight,
        "outcomes": classes,
        "errors": stats.errors(),
        "unexpected": stats.unexpected,
        "by_input": by_input,
        "latency_ms": {
            "p50": ms(stats.latency.quantile(0.50)),
            "p90": ms(stats.latency.quantile(0.90)),
            "p99": ms(stats.latency.quantile(0.99)),
            "max": ms(stats.latency.max),
        },
        "note": note,
    })
}

fn print_summary(s: &Value) {
    let n = |v: &Value| v.as_u64().unwrap_or(0);
    let o = &s["outcomes"];
    println!(
        "\n{} requests to {} in {:.2} s ({}/s asked, {:.1}/s sent){}",
        n(&s["requests"]),
        s["url"].as_str().unwrap_or(""),
        s["elapsed_seconds"].as_f64().unwrap_or(0.0),
        format_rate(s["rate_per_second"].as_f64().unwrap_or(0.0)),
        s["sent_per_second"].as_f64().unwrap_or(0.0),
        if s["interrupted"] == true {
            ", stopped by Ctrl-C"
        } else {
            ""
        },
    );
    println!(
        "  answers     2xx {}   4xx {}   5xx {}   other {}",
        n(&o["2xx"]),
        n(&o["4xx"]),
        n(&o["5xx"]),
        n(&o["other_status"])
    );
    println!(
        "  failures    timeout {}   connection error {}   other error {}",
        n(&o["timeout"]),
        n(&o["connection_error"]),
        n(&o["other_error"])
    );
    println!(
        "  errors      {} (5xx, other statuses, timeouts, connection errors; 4xx are the \
         answer unknown places and bad input deserve)",
        n(&s["errors"])
    );
    let mut by_input = Vec::new();
    for kind in KINDS {
        let k = &s["by_input"][kind];
        if n(&k["requests"]) == 0 {
            continue;
        }
        let answers: Vec<String> = k["answers"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(key, count)| format!("{} ×{count}", key.replace('_', " ")))
            .collect();
        by_input.push(format!(
            "{kind} {} ({})",
            n(&k["requests"]),
            if answers.is_empty() {
                "no answer".into()
            } else {
                answers.join(", ")
            }
        ));
    }
    println!("  by input    {}", by_input.join("   "));
    println!(
        "  unexpected  {} (known place not 2xx, unknown place not 404, bad input not 400)",
        n(&s["unexpected"])
    );
    if n(&s["dropped"]) > 0 {
        println!(
            "  dropped     {} (due while {} requests were waiting for an answer; not sent)",
            n(&s["dropped"]),
            n(&s["max_in_flight"])
        );
    }
    if n(&s["cancelled"]) > 0 {
        println!(
            "  cancelled   {} (still waiting for an answer at the end)",
            n(&s["cancelled"])
        );
    }
    let l = &s["latency_ms"];
    let f = |v: &Value| v.as_f64().unwrap_or(0.0);
    if n(&s["outcomes"]["2xx"])
        + n(&s["outcomes"]["4xx"])
        + n(&s["outcomes"]["5xx"])
        + n(&s["outcomes"]["other_status"])
        == 0
    {
        println!("  latency     no answers");
    } else {
        println!(
            "  latency     p50 {:.1} ms   p90 {:.1} ms   p99 {:.1} ms   max {:.1} ms",
            f(&l["p50"]),
            f(&l["p90"]),
            f(&l["p99"]),
            f(&l["max"])
        );
    }
    if let Some(note) = s["note"].as_str() {
        println!("\n{note}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mixes() {
        assert_eq!(
            parse_mix("known=70,unknown=20,bad=10"),
            Ok(Mix([70, 20, 10]))
        );
        assert_eq!(parse_mix("bad=1"), Ok(Mix([0, 0, 1])));
        assert_eq!(parse_mix(" known = 3 , bad=1 "), Ok(Mix([3, 0, 1])));
        assert!(parse_mix("known=0").unwrap_err().contains("more than 0"));
        assert!(parse_mix("known=70,weird=3").unwrap_err().contains("weird"));
        assert!(parse_mix("known=1,known=2").unwrap_err().contains("twice"));
        assert!(parse_mix("known").is_err());
        assert!(parse_mix("known=-1").is_err());
        assert!(parse_mix("known=1.5").is_err());
    }

    #[test]
    fn the_mix_is_exact_in_every_round() {
        let mut picker = Picker::new(Mix([70, 20, 10]));
        let mut counts = [0; 3];
        for _ in 0..100 {
            counts[picker.next()] += 1;
        }
        assert_eq!(counts, [70, 20, 10]);
        // Spread out: one bad request in every ten.
        let mut picker = Picker::new(Mix([7, 2, 1]));
        for _ in 0..5 {
            let round: Vec<usize> = (0..10).map(|_| picker.next()).collect();
            assert_eq!(round.iter().filter(|k| **k == 2).count(), 1, "{round:?}");
        }
        let mut picker = Picker::new(Mix([0, 0, 5]));
        assert!((0..10).all(|_| picker.next() == 2));
    }

    #[test]
    fn rates_and_durations() {
        assert_eq!(parse_rate("50"), Ok(50.0));
        assert_eq!(parse_rate("50/s"), Ok(50.0));
        assert_eq!(parse_rate("30/m"), Ok(0.5));
        assert_eq!(parse_rate("0.5"), Ok(0.5));
        assert!(parse_rate("0").is_err());
        assert!(parse_rate("-3").is_err());
        assert!(parse_rate("fast").is_err());
        assert!(parse_rate("NaN").is_err());
        assert!(parse_rate("1e9").is_err());
        assert_eq!(parse_duration("60s"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_duration("2h"), Ok(Duration::from_secs(7200)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("4"), Ok(Duration::from_secs(4)));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("5x").is_err());
        assert!(parse_duration("forever").is_err());
        assert!(parse_duration("90d").is_err());
    }

    #[test]
    fn base_urls() {
        assert!(parse_base_url("http://127.0.0.1:5001").is_ok());
        assert!(parse_base_url("http://localhost:8000/prefix").is_ok());
        assert!(
            parse_base_url("https://example.com")
                .unwrap_err()
                .contains("http://")
        );
        assert!(parse_base_url("localhost:5000").is_err());
        assert!(parse_base_url("http://127.0.0.1:5001/?x=1").is_err());
        assert!(parse_base_url("not a url").is_err());
    }

    #[test]
    fn inputs_are_what_their_kind_says() {
        let [empty, blank, long] = bad_inputs();
        assert!(empty.is_empty() && blank.trim().is_empty());
        assert_eq!(long.chars().count(), 201);
        assert!(!UNKNOWN.contains(&"Atlantis"));
        assert!(KNOWN.iter().all(|p| !UNKNOWN.contains(p)));
    }

    #[test]
    fn histogram_quantiles_are_within_two_percent() {
        let mut h = Histogram::new();
        for v in 1..=10_000u64 {
            h.record(v * 100);
        }
        for (q, exact) in [(0.5, 500_000.0), (0.9, 900_000.0), (0.99, 990_000.0)] {
            let got = h.quantile(q) as f64;
            assert!((got - exact).abs() / exact < 0.02, "q{q}: {got} vs {exact}");
        }
        assert_eq!(h.quantile(1.0), 1_000_000);
        assert_eq!(h.max, 1_000_000);
        for v in [0, 1, 63, 64, 65, 127, 128, 1000, 123_456_789] {
            let back = Histogram::value(Histogram::index(v)) as f64;
            assert!(
                (back - v as f64).abs() <= (v as f64 / 64.0).max(0.5),
                "{v} -> {back}"
            );
        }
        assert_eq!(Histogram::new().quantile(0.5), 0);
    }
}
