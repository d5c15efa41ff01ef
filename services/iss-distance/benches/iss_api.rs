//! How iss-distance treats the ISS API, measured on the real binary: how fast it answers
//! when the API hangs, how many calls reach the API, and how old the positions it answers
//! with are. The figures and how to read them are in BENCHMARKS.md.
//!
//! ```sh
//! cargo bench -p iss-distance --bench iss_api                       # both stand-ins, 50/s for 20 s
//! cargo bench -p iss-distance --bench iss_api -- --api hanging --binary OTHER/iss-distance
//! ```
//!
//! For each stand-in for the API (`hanging`: accepts connections and never answers;
//! `healthy`: answers at once, each time with a new position), it starts iss-distance
//! (`ISS_SOURCE=auto`, telemetry off) against it, sends one request and waits for its answer
//! (with the hanging API, that is the first failure), then sends `--rate` requests a second
//! for `--duration` seconds, open loop: each at its time, whether or not earlier ones were
//! answered. It reports the latency of those requests, which source answered them, the calls
//! that reached the stand-in meanwhile, the WARN lines iss-distance wrote in all, and, with the
//! healthy API, how old each position was when its answer arrived: the stand-in writes a
//! serial number into every position it serves and notes when it served it.
//!
//! It is a benchmark, not a test: `cargo test --benches` only builds it.

use std::io::{BufRead, BufReader, Read};
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clap::{Parser, ValueEnum};
use serde_json::{Value, json};
use tokio::io::AsyncReadExt;

#[derive(Parser)]
#[command(about = "iss-distance against a hanging and a healthy ISS API stand-in")]
struct Args {
    /// Which stand-ins to run against.
    #[arg(long, value_enum, default_value = "both")]
    api: Which,
    /// Requests per second, sent open loop.
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=2000))]
    rate: u32,
    /// Seconds of load after the first answer.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..=600))]
    duration: u64,
    /// The iss-distance binary to measure [default: this checkout's, built by cargo bench].
    #[arg(long)]
    binary: Option<PathBuf>,
    /// An environment variable for iss-distance, as KEY=VALUE; repeat for more.
    #[arg(long = "env", value_name = "KEY=VALUE", value_parser = parse_env)]
    env: Vec<(String, String)>,
    /// Print one JSON object per stand-in instead of a summary.
    #[arg(long)]
    json: bool,
    /// Passed by `cargo bench`; without it (`cargo test --benches`) nothing is measured.
    #[arg(long, hide = true)]
    bench: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Which {
    Hanging,
    Healthy,
    Both,
}

fn parse_env(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_owned(), value.to_owned())),
        _ => Err("must be KEY=VALUE, e.g. ISS_API_MAX_AGE_MS=0".into()),
    }
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if !args.bench {
        println!("iss_api: a benchmark; run it with `cargo bench -p iss-distance --bench iss_api`");
        return Ok(());
    }
    let runtime = tokio::runtime::Runtime::new()?;
    let stand_ins = match args.api {
        Which::Hanging => vec![StandIn::Hanging],
        Which::Healthy => vec![StandIn::Healthy],
        Which::Both => vec![StandIn::Hanging, StandIn::Healthy],
    };
    for stand_in in stand_ins {
        let report = runtime.block_on(run(&args, stand_in))?;
        if args.json {
            println!("{}", serde_json::to_string_pretty(&report)?);
        } else {
            print_summary(&report);
        }
    }
    Ok(())
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum StandIn {
    Hanging,
    Healthy,
}

impl StandIn {
    fn name(self) -> &'static str {
        match self {
            StandIn::Hanging => "hanging",
            StandIn::Healthy => "healthy",
        }
    }
}

/// One answer iss-distance gave.
struct Answer {
    latency: Duration,
    /// `None` when no answer arrived.
    status: Option<u16>,
    source: Option<String>,
    /// The stand-in's serial number of the position, and when the answer arrived.
    serial: Option<usize>,
    arrived: Instant,
}

async fn run(args: &Args, which: StandIn) -> anyhow::Result<Value> {
    let stand_in = Api::start(which)?;
    let port = free_port()?;
    let binary = args
        .binary
        .clone()
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_iss-distance")));
    let service = Service::start(&binary, port, &stand_in, &args.env)?;
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()?;
    service.wait_healthy(&client, &base).await?;
    let url = format!("{base}/distance?latitude=52.52&longitude=13.405");

    let first = ask(&client, &url).await;
    let calls_before = stand_in.calls();
    let answers = load(&client, &url, args.rate, Duration::from_secs(args.duration)).await;
    let calls = stand_in.calls() - calls_before;
    let ages_ms: Vec<f64> = answers
        .iter()
        .filter_map(|a| Some(a.arrived.duration_since(stand_in.served_at(a.serial?)?)))
        .map(|age| age.as_secs_f64() * 1000.0)
        .collect();
    let log = service.stop();
    // The whole run's, the first request's included: that is when the API first fails.
    let warnings: Vec<&String> = log.iter().filter(|line| line.contains("WARN")).collect();

    let mut latencies: Vec<Duration> = answers.iter().map(|a| a.latency).collect();
    latencies.sort_unstable();
    let count = |source: &str| {
        answers
            .iter()
            .filter(|a| a.source.as_deref() == Some(source))
            .count()
    };
    let errors = answers.iter().filter(|a| a.status != Some(200)).count();
    Ok(json!({
        "api": which.name(),
        "binary": binary.display().to_string(),
        "env": args.env.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>(),
        "rate_per_s": args.rate,
        "duration_s": args.duration,
        "first_answer_ms": ms(first.latency),
        "first_answer_source": first.source,
        "requests": answers.len(),
        "errors": errors,
        "from_open_notify": count("open-notify"),
        "from_orbital_model": count("orbital-model"),
        "latency_ms": {
            "p50": ms(quantile(&latencies, 0.50)),
            "p90": ms(quantile(&latencies, 0.90)),
            "p99": ms(quantile(&latencies, 0.99)),
            "max": ms(quantile(&latencies, 1.0)),
        },
        "api_calls": calls,
        "api_calls_per_s": round2(calls as f64 / args.duration as f64),
        "warn_lines": warnings.len(),
        "position_age_ms": if ages_ms.is_empty() { Value::Null } else { json!({
            "max": round2(ages_ms.iter().copied().fold(0.0, f64::max)),
            "mean": round2(ages_ms.iter().sum::<f64>() / ages_ms.len() as f64),
            "answers_older_than_1s": ages_ms.iter().filter(|age| **age > 1000.0).count(),
        })},
        "warn_log": warnings.iter().take(5).collect::<Vec<_>>(),
    }))
}

async fn ask(client: &reqwest::Client, url: &str) -> Answer {
    let sent = Instant::now();
    let response = client.get(url).send().await;
    let (status, body) = match response {
        Ok(response) => {
            let status = response.status().as_u16();
            (Some(status), response.json::<Value>().await.ok())
        }
        Err(_) => (None, None),
    };
    let arrived = Instant::now();
    let iss = body.as_ref().map(|b| &b["iss"]);
    let source = iss.and_then(|i| i["source"].as_str()).map(str::to_owned);
    let serial = match source.as_deref() {
        Some("open-notify") => iss
            .and_then(|i| i["latitude"].as_f64())
            .map(|latitude| (latitude * 1000.0).round() as usize),
        _ => None,
    };
    Answer {
        latency: arrived - sent,
        status,
        source,
        serial,
        arrived,
    }
}

/// `rate` requests a second for `duration`, each sent at its time (open loop).
async fn load(client: &reqwest::Client, url: &str, rate: u32, duration: Duration) -> Vec<Answer> {
    let mut ticks = tokio::time::interval(Duration::from_secs(1) / rate);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let total = u64::from(rate) * duration.as_secs();
    let mut requests = Vec::new();
    for _ in 0..total {
        ticks.tick().await;
        let (client, url) = (client.clone(), url.to_owned());
        requests.push(tokio::spawn(async move { ask(&client, &url).await }));
    }
    let mut answers = Vec::new();
    for request in requests {
        answers.push(request.await.expect("a request task panicked"));
    }
    answers
}

fn quantile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    // Nearest rank.
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn ms(duration: Duration) -> f64 {
    round2(duration.as_secs_f64() * 1000.0)
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn print_summary(report: &Value) {
    let latency = &report["latency_ms"];
    println!(
        "{} API, {}/s for {} s ({}):",
        report["api"].as_str().unwrap_or("?"),
        report["rate_per_s"],
        report["duration_s"],
        report["binary"].as_str().unwrap_or("?"),
    );
    println!(
        "  first answer {} ms ({}); then {} requests, {} errors: {} from open-notify, {} from the model",
        report["first_answer_ms"],
        report["first_answer_source"]
            .as_str()
            .unwrap_or("no answer"),
        report["requests"],
        report["errors"],
        report["from_open_notify"],
        report["from_orbital_model"],
    );
    println!(
        "  latency ms: p50 {}  p90 {}  p99 {}  max {}",
        latency["p50"], latency["p90"], latency["p99"], latency["max"]
    );
    println!(
        "  calls reaching the API during the load: {} ({}/s); WARN lines in the whole run: {}",
        report["api_calls"], report["api_calls_per_s"], report["warn_lines"]
    );
    let age = &report["position_age_ms"];
    if !age.is_null() {
        println!(
            "  position age at arrival ms: max {}  mean {}; answers older than 1 s: {}",
            age["max"], age["mean"], age["answers_older_than_1s"]
        );
    }
    for line in report["warn_log"].as_array().into_iter().flatten() {
        println!("  | {}", line.as_str().unwrap_or_default());
    }
}

/// A port nobody listens on, for iss-distance to bind (free when we looked; this is a
/// benchmark on a quiet machine, not a test among others).
fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?
        .local_addr()?
        .port())
}

// ---------------------------------------------------------------------------------------
// The stand-in for the ISS API: on a thread and runtime of its own, so that the load does
// not slow it down.

struct Api {
    addr: SocketAddr,
    calls: Arc<AtomicUsize>,
    /// When each position was served, by serial number (healthy only).
    served: Arc<Mutex<Vec<Instant>>>,
}

impl Api {
    fn start(which: StandIn) -> std::io::Result<Api> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let calls = Arc::new(AtomicUsize::new(0));
        let served = Arc::new(Mutex::new(Vec::new()));
        let (calls_, served_) = (Arc::clone(&calls), Arc::clone(&served));
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime for the stand-in");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                match which {
                    StandIn::Hanging => hang(listener, calls_).await,
                    StandIn::Healthy => answer(listener, calls_, served_).await,
                }
            });
        });
        Ok(Api {
            addr,
            calls,
            served,
        })
    }

    fn url(&self) -> String {
        format!("http://{}/iss-now.json", self.addr)
    }

    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    fn served_at(&self, serial: usize) -> Option<Instant> {
        self.served.lock().unwrap().get(serial).copied()
    }
}

/// Reads each request's head, counts it, and never answers (until the caller gives up).
async fn hang(listener: tokio::net::TcpListener, calls: Arc<AtomicUsize>) {
    while let Ok((mut stream, _)) = listener.accept().await {
        let calls = Arc::clone(&calls);
        tokio::spawn(async move {
            let mut head = Vec::new();
            let mut buffer = [0u8; 1024];
            while let Ok(n) = stream.read(&mut buffer).await {
                if n == 0 {
                    return;
                }
                head.extend_from_slice(&buffer[..n]);
                // Every request head that arrives on this connection is one call.
                while let Some(end) = head.windows(4).position(|w| w == b"\r\n\r\n") {
                    calls.fetch_add(1, Ordering::SeqCst);
                    head.drain(..end + 4);
                }
            }
        });
    }
}

/// open-notify's format, each answer with the next serial number as its latitude
/// (thousandths of a degree: up to 90,000 answers).
async fn answer(
    listener: tokio::net::TcpListener,
    calls: Arc<AtomicUsize>,
    served: Arc<Mutex<Vec<Instant>>>,
) {
    let app = axum::Router::new().route(
        "/iss-now.json",
        axum::routing::get(move || {
            let (calls, served) = (Arc::clone(&calls), Arc::clone(&served));
            async move {
                let serial = calls.fetch_add(1, Ordering::SeqCst);
                let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
                let body = json!({
                    "message": "success",
                    "timestamp": now.as_secs(),
                    "iss_position": {
                        "latitude": format!("{:.3}", (serial % 90_000) as f64 / 1000.0),
                        "longitude": "0.000",
                    }
                });
                {
                    let mut served = served.lock().unwrap();
                    served.resize(serial + 1, Instant::now());
                    served[serial] = Instant::now();
                }
                axum::Json(body)
            }
        }),
    );
    let _ = axum::serve(listener, app).await;
}

// ---------------------------------------------------------------------------------------
// iss-distance itself.

struct Service {
    child: Child,
    log: Arc<Mutex<Vec<String>>>,
}

impl Service {
    fn start(
        binary: &PathBuf,
        port: u16,
        api: &Api,
        env: &[(String, String)],
    ) -> std::io::Result<Service> {
        let mut command = Command::new(binary);
        command
            .env("ISS_DISTANCE_PORT", port.to_string())
            .env("BIND_ADDR", "127.0.0.1")
            .env("ISS_API_URL", api.url())
            .env("ISS_SOURCE", "auto")
            .env("OTEL_SDK_DISABLED", "true")
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn()?;
        let log = Arc::new(Mutex::new(Vec::new()));
        for output in [
            child
                .stdout
                .take()
                .map(|o| Box::new(o) as Box<dyn Read + Send>),
            child
                .stderr
                .take()
                .map(|e| Box::new(e) as Box<dyn Read + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let log = Arc::clone(&log);
            std::thread::spawn(move || {
                for line in BufReader::new(output).lines().map_while(Result::ok) {
                    log.lock().unwrap().push(line);
                }
            });
        }
        Ok(Service { child, log })
    }

    async fn wait_healthy(&self, client: &reqwest::Client, base: &str) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(response) = client.get(format!("{base}/healthz")).send().await
                && response.status().is_success()
            {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let log = self.log.lock().unwrap().join("\n");
        anyhow::bail!("iss-distance did not answer /healthz within 30 s:\n{log}")
    }

    /// Stops it (SIGTERM, then SIGKILL after 10 s) and returns everything it wrote.
    fn stop(mut self) -> Vec<String> {
        // Our own child, not waited for yet, so the pid is still its own.
        #[cfg(unix)]
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.child.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        );
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        // Let the reader threads see the last lines.
        std::thread::sleep(Duration::from_millis(50));
        self.log.lock().unwrap().clone()
    }
}
