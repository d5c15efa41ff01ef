//! `workshop bench`: a reproducible load benchmark of `GET /distance` through the gateway.
//!
//! It builds the services (release by default), starts a local stand-in for the open-notify
//! ISS API in this process, starts the four services wired to it (`ISS_SOURCE=api`), and
//! drives closed-loop load: `--connections` keep-alive HTTP/1.1 clients, each sending its
//! next request as soon as the previous answer has arrived, rotating through known places.
//! After `--warmup` (not counted) it measures for `--duration`, then reports the request
//! rate, latency percentiles, each service's peak RSS (`VmHWM`) and the CPU time every
//! process used during the measurement, as a table or (`--json`) one JSON object.
//!
//! Each gateway request is three HTTP exchanges: client → gateway, gateway → geolocator,
//! gateway → iss-distance; iss-distance asks the stub about once a second (a position
//! serves for `ISS_API_MAX_AGE_MS`). `--env ISS_API_MAX_AGE_MS=0 --env ISS_API_BACKOFF_MS=0`
//! makes it ask on every request, a fourth exchange, as it did before. Everything, this load
//! generator included, shares the machine's cores; the report says how the CPU time was split.
//!
//! For the telemetry's overhead, `--tree` benchmarks another checkout (e.g. the workshop's
//! final state), `--receiver` gives the services a live OTLP receiver in this process (on its
//! own thread, so its CPU time is reported apart) and `--blackhole` a collector that accepts
//! connections and never answers.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use otlp_receiver::{Limits, Receiver, ReceiverConfig, SignalStats, Stats};
use serde_json::{Value, json};

use crate::build::{SERVICES, build_services, workspace_root};
use crate::ports::{Ports, Sockets};
use crate::services::{self, wiring};
use crate::stop::StopSignal;

#[derive(clap::Args)]
pub struct Args {
    /// Concurrent keep-alive connections to the gateway (closed loop: one request in flight
    /// on each).
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u32).range(1..=4096))]
    connections: u32,
    /// How long to measure, after the warm-up: e.g. 20s, 1m, 500ms (a bare number is seconds).
    #[arg(long, default_value = "20s", value_parser = parse_duration)]
    duration: Duration,
    /// How long to load the services before measuring (not counted); 0 for none.
    #[arg(long, default_value = "3s", value_parser = parse_warmup)]
    warmup: Duration,
    /// An environment variable for all four services, as KEY=VALUE; repeat for more
    /// (e.g. --env OTEL_SDK_DISABLED=true --env RUST_LOG=warn).
    #[arg(long = "env", value_name = "KEY=VALUE", value_parser = parse_env)]
    env: Vec<(String, String)>,
    /// The frontend's port; gateway, geolocator and iss-distance use the next three
    /// [default: four free ports].
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=i64::from(u16::MAX - 3)))]
    port: Option<u16>,
    /// Print one JSON object on stdout instead of a table.
    #[arg(long)]
    json: bool,
    /// The workspace whose services are built and benchmarked, e.g. a checkout of the
    /// workshop's final state [default: the one this binary was built from]. Give each
    /// checkout its own CARGO_TARGET_DIR.
    #[arg(long, value_name = "DIR")]
    tree: Option<PathBuf>,
    /// Export the services' telemetry to an OTLP receiver in this process (OTLP/HTTP), and
    /// report what it received.
    #[arg(long, conflicts_with = "blackhole")]
    receiver: bool,
    /// Point the services' OTLP exporters at a port that accepts connections and never
    /// answers (a blackholed collector).
    #[arg(long)]
    blackhole: bool,
    /// Benchmark debug builds (quicker to build; for testing the benchmark itself).
    #[arg(long, hide = true)]
    debug: bool,
}

/// The places the load rotates through: all in the embedded gazetteer, with spaces and
/// diacritics among them so that the query string needs encoding as it would from a browser.
const PLACES: [&str; 12] = [
    "Berlin",
    "Paris",
    "Tokyo",
    "São Paulo",
    "Zurich",
    "New York City",
    "London",
    "Sydney",
    "Nairobi",
    "Mumbai",
    "Buenos Aires",
    "Reykjavik",
];

/// A measured duration: more than 0, at most an hour.
fn parse_duration(text: &str) -> Result<Duration, String> {
    crate::duration::within(
        crate::duration::parse(text)?,
        false,
        Duration::from_secs(3600),
        "the duration",
    )
}

/// A warm-up: from 0 to an hour.
fn parse_warmup(text: &str) -> Result<Duration, String> {
    crate::duration::within(
        crate::duration::parse(text)?,
        true,
        Duration::from_secs(3600),
        "the warm-up",
    )
}

fn parse_env(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.is_empty() && !key.contains(char::is_whitespace) => {
            Ok((key.to_owned(), value.to_owned()))
        }
        _ => Err("must be KEY=VALUE, e.g. OTEL_SDK_DISABLED=true".into()),
    }
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    let mut stop = StopSignal::listen()?;
    let sockets = match args.port {
        Some(port) => Sockets::bind(Ports::from_base(port)?)?,
        None => Sockets::any()?,
    };
    let ports = sockets.ports();
    if args.receiver || args.blackhole {
        let flag = if args.receiver {
            "--receiver"
        } else {
            "--blackhole"
        };
        if let Some((key, _)) = args
            .env
            .iter()
            .find(|(key, _)| key == "OTEL_SDK_DISABLED" || key.starts_with("OTEL_EXPORTER_OTLP_"))
        {
            bail!("{flag} sets where the telemetry goes: leave out --env {key}");
        }
    }
    let workspace = match &args.tree {
        Some(tree) if tree.join("Cargo.toml").is_file() => std::path::absolute(tree)?,
        Some(tree) => bail!("--tree {}: no Cargo.toml there", tree.display()),
        None => workspace_root(),
    };
    let binaries = tokio::select! {
        built = build_services(&workspace, !args.debug) => built?,
        () = stop.recv() => bail!("interrupted"),
    };
    let stub = IssStub::start()?;
    let receiver = if args.receiver {
        Some(ReceiverThread::start()?)
    } else {
        None
    };
    let blackhole = if args.blackhole {
        Some(Blackhole::start().await?)
    } else {
        None
    };
    let mut env = wiring(&ports);
    env.push(("ISS_SOURCE", "api".into()));
    env.push(("ISS_API_URL", stub.url()));
    let collector = match (&receiver, &blackhole) {
        (Some(receiver), _) => Some(receiver.endpoint.clone()),
        (_, Some(blackhole)) => Some(blackhole.endpoint()),
        _ => None,
    };
    if let Some(endpoint) = collector {
        env.push(("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint));
        env.push(("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf".into()));
    }
    for (key, value) in &args.env {
        // services::start takes 'static names; a handful of short strings, once per run.
        env.push((Box::leak(key.clone().into_boxed_str()), value.clone()));
    }
    let mut running = services::start(&binaries, sockets, &env)?;
    let result = tokio::select! {
        result = async {
            running.wait_healthy(Duration::from_secs(60)).await?;
            let pids = service_pids()?;
            tokio::select! {
                report = measure(&args, &ports, &pids, &stub, receiver.as_ref()) => report,
                (name, status) = running.first_exit() => {
                    bail!("{name} stopped during the benchmark ({status}); see its output above")
                }
            }
        } => result,
        () = stop.recv() => Err(anyhow::anyhow!("interrupted")),
    };
    // The services flush their telemetry as they stop: the receiver's totals come after.
    running.stop(Duration::from_secs(10)).await;
    stub.stop();
    let mut report = result?;
    report["tree"] = workspace.display().to_string().into();
    if let Some(receiver) = receiver {
        let total = receiver.stop();
        report["receiver"]["total"] = received(&total, None);
    }
    if let Some(blackhole) = blackhole {
        report["blackhole"] = json!({
            "endpoint": blackhole.endpoint(),
            "connections_accepted": blackhole.stop(),
        });
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_table(&report);
    }
    Ok(())
}

/// The four services' pids, by name: our children whose command name is a service's.
fn service_pids() -> anyhow::Result<BTreeMap<&'static str, u32>> {
    let mut pids = BTreeMap::new();
    if !cfg!(target_os = "linux") {
        return Ok(pids);
    }
    let me = std::process::id();
    for entry in std::fs::read_dir("/proc")?.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Some((comm, fields)) = proc_stat(&format!("/proc/{pid}/stat")) else {
            continue;
        };
        if fields.get(1).and_then(|f| f.parse::<u32>().ok()) != Some(me) {
            continue;
        }
        if let Some(name) = SERVICES.iter().find(|s| **s == comm) {
            pids.insert(*name, pid);
        }
    }
    if pids.len() != SERVICES.len() {
        bail!("found the processes of {pids:?} only, expected all four services");
    }
    Ok(pids)
}

/// `/proc/<pid>/stat`: the command name and the fields after it (state is the first).
fn proc_stat(path: &str) -> Option<(String, Vec<String>)> {
    let stat = std::fs::read_to_string(path).ok()?;
    let (head, tail) = stat.rsplit_once(')')?;
    let comm = head.split_once('(')?.1.to_owned();
    Some((comm, tail.split_whitespace().map(str::to_owned).collect()))
}

/// User plus system CPU time of a process or thread, in clock ticks.
fn cpu_ticks(path: &str) -> Option<u64> {
    let (_, fields) = proc_stat(path)?;
    // utime and stime are fields 14 and 15 of stat(5); 12 and 13 after the command name.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// The whole machine's CPU time, in clock ticks, from `/proc/stat`.
#[derive(Clone, Copy)]
struct MachineTicks {
    busy: u64,
    total: u64,
    /// Interrupt handling, which no process is charged for: on loopback, most of the
    /// network stack's work runs in softirq context.
    interrupts: u64,
}

fn machine_ticks() -> Option<MachineTicks> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().next()?;
    let values: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .take(8)
        .filter_map(|v| v.parse().ok())
        .collect();
    let [user, nice, system, idle, iowait, irq, softirq, steal] = values[..] else {
        return None;
    };
    let busy = user + nice + system + irq + softirq + steal;
    Some(MachineTicks {
        busy,
        total: busy + idle + iowait,
        interrupts: irq + softirq,
    })
}

fn ticks_per_second() -> f64 {
    #[cfg(unix)]
    if let Ok(Some(ticks)) = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        && ticks > 0
    {
        return ticks as f64;
    }
    100.0
}

/// A service's peak resident set size in KiB (`VmHWM`), on Linux.
fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// CPU time of everything that takes part, read at the start and at the end of the
/// measurement.
struct CpuSnapshot {
    services: BTreeMap<&'static str, Option<u64>>,
    workshop: Option<u64>,
    stub: Option<u64>,
    receiver: Option<u64>,
    machine: Option<MachineTicks>,
}

impl CpuSnapshot {
    fn take(
        pids: &BTreeMap<&'static str, u32>,
        stub: &IssStub,
        receiver: Option<&ReceiverThread>,
    ) -> Self {
        Self {
            services: pids
                .iter()
                .map(|(name, pid)| (*name, cpu_ticks(&format!("/proc/{pid}/stat"))))
                .collect(),
            workshop: cpu_ticks("/proc/self/stat"),
            stub: stub.cpu_ticks(),
            receiver: receiver.and_then(ReceiverThread::cpu_ticks),
            machine: machine_ticks(),
        }
    }
}

/// What one connection saw during the measurement.
#[derive(Default)]
struct Tally {
    /// Latency of each answer that arrived during the measurement, in microseconds.
    latencies_us: Vec<u64>,
    /// Non-200 answers by status, and failed requests by kind.
    errors: BTreeMap<String, u64>,
}

async fn measure(
    args: &Args,
    ports: &Ports,
    pids: &BTreeMap<&'static str, u32>,
    stub: &IssStub,
    receiver: Option<&ReceiverThread>,
) -> anyhow::Result<Value> {
    let base = format!("http://127.0.0.1:{}/distance", ports.gateway);
    let urls: Vec<reqwest::Url> = PLACES
        .iter()
        .map(|place| reqwest::Url::parse_with_params(&base, [("location", place)]))
        .collect::<Result<_, _>>()?;
    preflight(&urls).await?;
    let urls = Arc::new(urls);

    let started = Instant::now();
    let measure_from = started + args.warmup;
    let measure_until = measure_from + args.duration;
    let mut connections = Vec::new();
    for n in 0..args.connections as usize {
        let urls = Arc::clone(&urls);
        connections.push(tokio::spawn(async move {
            connection(urls, n, measure_from, measure_until).await
        }));
    }
    tokio::time::sleep_until(measure_from.into()).await;
    let before = CpuSnapshot::take(pids, stub, receiver);
    let stub_before = stub.requests();
    let received_before = receiver.map(ReceiverThread::stats);
    tokio::time::sleep_until(measure_until.into()).await;
    let after = CpuSnapshot::take(pids, stub, receiver);
    let stub_requests = stub.requests() - stub_before;
    let received_after = receiver.map(ReceiverThread::stats);
    let mut latencies = Vec::new();
    let mut errors = BTreeMap::new();
    for connection in connections {
        let tally = connection.await.context("a load connection panicked")??;
        latencies.extend(tally.latencies_us);
        for (kind, count) in tally.errors {
            *errors.entry(kind).or_insert(0) += count;
        }
    }
    // Read after the load: VmHWM is the peak over the process's life so far.
    let rss: BTreeMap<&str, Option<u64>> = pids
        .iter()
        .map(|(n, pid)| (*n, peak_rss_kib(*pid)))
        .collect();
    let mut report = report(
        args,
        latencies,
        errors,
        stub_requests,
        &rss,
        pids,
        &before,
        &after,
    );
    if let (Some(receiver), Some(b), Some(a)) = (receiver, received_before, received_after) {
        let limits = RECEIVER_LIMITS;
        report["receiver"] = json!({
            "endpoint": receiver.endpoint,
            "protocol": "http/protobuf",
            "limits": {
                "max_spans": limits.max_spans,
                "max_logs": limits.max_logs,
                "max_metric_points": limits.max_metric_points,
            },
            "measured": received(&a, Some(&b)),
        });
    }
    Ok(report)
}

/// What a receiver got, for the report: counts since it started, or the difference
/// between two snapshots.
fn received(after: &Stats, before: Option<&Stats>) -> Value {
    let zero = Stats::default();
    let before = before.unwrap_or(&zero);
    let signal = |a: &SignalStats, b: &SignalStats| a.received.total() - b.received.total();
    let evicted = |s: &Stats| s.spans.dropped + s.logs.dropped + s.metric_points.dropped;
    json!({
        "export_requests": after.requests.total() - before.requests.total(),
        "spans": signal(&after.spans, &before.spans),
        "logs": signal(&after.logs, &before.logs),
        "metric_points": signal(&after.metric_points, &before.metric_points),
        "evicted": evicted(after) - evicted(before),
        "http_rejected": after.http_rejected - before.http_rejected,
    })
}

/// One request per place before the load: every place must resolve, and the ISS position
/// must come from the stub, or the benchmark would measure error paths.
async fn preflight(urls: &[reqwest::Url]) -> anyhow::Result<()> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()?;
    for url in urls {
        let response = client.get(url.clone()).send().await?;
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            bail!("GET {url} answered {status}: {body}");
        }
        if body["iss"]["source"] != "open-notify" {
            bail!("GET {url}: the ISS position did not come from the stub: {body}");
        }
    }
    Ok(())
}

/// One closed-loop client on its own keep-alive connection.
async fn connection(
    urls: Arc<Vec<reqwest::Url>>,
    first: usize,
    measure_from: Instant,
    measure_until: Instant,
) -> anyhow::Result<Tally> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .pool_max_idle_per_host(1)
        .build()?;
    let mut tally = Tally::default();
    for i in first.. {
        let sent = Instant::now();
        if sent >= measure_until {
            break;
        }
        let url = urls[i % urls.len()].clone();
        let outcome = match client.get(url).send().await {
            Ok(response) => {
                let status = response.status();
                match response.bytes().await {
                    Ok(_) if status == reqwest::StatusCode::OK => None,
                    Ok(_) => Some(status.as_u16().to_string()),
                    Err(_) => Some("body".to_owned()),
                }
            }
            Err(e) if e.is_timeout() => Some("timeout".to_owned()),
            Err(e) if e.is_connect() => Some("connect".to_owned()),
            Err(_) => Some("request".to_owned()),
        };
        let answered = Instant::now();
        if answered < measure_from {
            continue;
        }
        if answered > measure_until {
            break;
        }
        match outcome {
            None => tally
                .latencies_us
                .push((answered - sent).as_micros() as u64),
            Some(kind) => *tally.errors.entry(kind).or_insert(0) += 1,
        }
    }
    Ok(tally)
}

/// The `q` quantile (0 to 1) of sorted values, by nearest rank.
fn quantile(sorted: &[u64], q: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn ms(us: u64) -> f64 {
    (us as f64 / 10.0).round() / 100.0
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

#[allow(clippy::too_many_arguments)]
fn report(
    args: &Args,
    mut latencies: Vec<u64>,
    errors: BTreeMap<String, u64>,
    stub_requests: u64,
    rss: &BTreeMap<&str, Option<u64>>,
    pids: &BTreeMap<&'static str, u32>,
    before: &CpuSnapshot,
    after: &CpuSnapshot,
) -> Value {
    latencies.sort_unstable();
    let ok = latencies.len() as u64;
    let error_count: u64 = errors.values().sum();
    let seconds = args.duration.as_secs_f64();
    let hz = ticks_per_second();
    let cpu = |b: Option<u64>, a: Option<u64>| match (b, a) {
        (Some(b), Some(a)) => Some(round2(a.saturating_sub(b) as f64 / hz)),
        _ => None,
    };
    let mut services = Vec::new();
    let mut ours = 0.0;
    // In the order a request goes through them; frontend is not on the path but is reported.
    for name in ["gateway", "geolocator", "iss-distance", "frontend"] {
        let cpu_s = cpu(before.services[name], after.services[name]);
        ours += cpu_s.unwrap_or(0.0);
        services.push(json!({
            "name": name,
            "pid": pids[name],
            "peak_rss_kib": rss[name],
            "cpu_seconds": cpu_s,
        }));
    }
    let workshop = cpu(before.workshop, after.workshop);
    let stub = cpu(before.stub, after.stub);
    let receiver = cpu(before.receiver, after.receiver);
    ours += workshop.unwrap_or(0.0);
    let machine = match (before.machine, after.machine) {
        (Some(b), Some(a)) => {
            let busy = a.busy.saturating_sub(b.busy) as f64 / hz;
            let total = a.total.saturating_sub(b.total) as f64 / hz;
            let interrupts = a.interrupts.saturating_sub(b.interrupts) as f64 / hz;
            json!({
                "cpus": std::thread::available_parallelism().map_or(0, |n| n.get()),
                "busy_cpu_seconds": round2(busy),
                "busy_percent": if total > 0.0 { round2(100.0 * busy / total) } else { 0.0 },
                "interrupts_cpu_seconds": round2(interrupts),
                // What processes other than the services and this one used meanwhile.
                "other_processes_cpu_seconds": round2((busy - interrupts - ours).max(0.0)),
            })
        }
        _ => json!({
            "cpus": std::thread::available_parallelism().map_or(0, |n| n.get()),
        }),
    };
    let env: BTreeMap<&str, &str> = args
        .env
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    json!({
        "target": "GET /distance?location=<place> through the gateway",
        "connections": args.connections,
        "warmup_seconds": args.warmup.as_secs_f64(),
        "duration_seconds": seconds,
        "release": !args.debug,
        "env": env,
        "requests": ok + error_count,
        "errors": error_count,
        "errors_by_kind": errors,
        "requests_per_second": round2((ok + error_count) as f64 / seconds),
        "latency_ms": {
            "p50": ms(quantile(&latencies, 0.50)),
            "p90": ms(quantile(&latencies, 0.90)),
            "p99": ms(quantile(&latencies, 0.99)),
            "max": ms(latencies.last().copied().unwrap_or(0)),
        },
        "services": services,
        "workshop_cpu_seconds": {
            "total": workshop,
            "iss_stub": stub,
            "receiver": receiver,
            "load_generator": match (workshop, stub) {
                (Some(w), Some(s)) => Some(round2((w - s - receiver.unwrap_or(0.0)).max(0.0))),
                _ => None,
            },
        },
        "iss_stub_requests": stub_requests,
        "machine": machine,
    })
}

fn print_table(report: &Value) {
    let f = |v: &Value| v.as_f64().unwrap_or(f64::NAN);
    let cpu = |v: &Value| v.as_f64().map_or("n/a".to_owned(), |s| format!("{s:.2} s"));
    println!(
        "\nGET /distance through the gateway: {} connections, {} s measured after {} s warm-up{}",
        report["connections"],
        report["duration_seconds"],
        report["warmup_seconds"],
        if report["release"] == true {
            ""
        } else {
            " (debug builds)"
        }
    );
    if let Some(env) = report["env"].as_object().filter(|e| !e.is_empty()) {
        let pairs: Vec<String> = env
            .iter()
            .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
            .collect();
        println!("services' extra environment: {}", pairs.join(" "));
    }
    println!();
    println!("  requests      {}", report["requests"]);
    println!(
        "  errors        {} {}",
        report["errors"],
        if report["errors"] == 0 {
            String::new()
        } else {
            report["errors_by_kind"].to_string()
        }
    );
    println!("  requests/s    {:.1}", f(&report["requests_per_second"]));
    let l = &report["latency_ms"];
    println!(
        "  latency       p50 {:.2} ms   p90 {:.2} ms   p99 {:.2} ms   max {:.2} ms",
        f(&l["p50"]),
        f(&l["p90"]),
        f(&l["p99"]),
        f(&l["max"])
    );
    println!();
    println!(
        "  {:<16} {:>12} {:>14}",
        "process", "peak RSS", "CPU (measured)"
    );
    for service in report["services"].as_array().into_iter().flatten() {
        let rss = service["peak_rss_kib"]
            .as_u64()
            .map_or("n/a".to_owned(), |kib| {
                format!("{:.1} MiB", kib as f64 / 1024.0)
            });
        println!(
            "  {:<16} {:>12} {:>14}",
            service["name"].as_str().unwrap_or("?"),
            rss,
            cpu(&service["cpu_seconds"])
        );
    }
    let w = &report["workshop_cpu_seconds"];
    println!(
        "  {:<16} {:>12} {:>14}",
        "load generator",
        "",
        cpu(&w["load_generator"])
    );
    println!(
        "  {:<16} {:>12} {:>14}",
        "ISS stub",
        "",
        cpu(&w["iss_stub"])
    );
    if w["receiver"].is_number() {
        println!(
            "  {:<16} {:>12} {:>14}",
            "OTLP receiver",
            "",
            cpu(&w["receiver"])
        );
    }
    let r = &report["receiver"];
    for (what, counts) in [("measured", &r["measured"]), ("in all", &r["total"])] {
        if counts.is_object() {
            println!(
                "\n  receiver got ({what}): {} spans, {} log records, {} metric points in {} \
                 export requests",
                counts["spans"], counts["logs"], counts["metric_points"], counts["export_requests"]
            );
        }
    }
    let b = &report["blackhole"];
    if b.is_object() {
        println!(
            "\n  blackhole {}: accepted {} connections, answered none",
            b["endpoint"].as_str().unwrap_or("?"),
            b["connections_accepted"]
        );
    }
    let m = &report["machine"];
    if m["busy_percent"].is_number() {
        println!(
            "\n  machine: {} CPUs, {:.0}% busy during the measurement; interrupts (loopback \
             networking) {:.2} CPU s, other processes {:.2} CPU s",
            m["cpus"],
            f(&m["busy_percent"]),
            f(&m["interrupts_cpu_seconds"]),
            f(&m["other_processes_cpu_seconds"])
        );
    }
}

/// A stand-in for open-notify's `iss-now.json`, on its own thread and single-threaded
/// runtime, so that its CPU time can be told apart from the load generator's.
struct IssStub {
    addr: SocketAddr,
    requests: Arc<AtomicU64>,
    /// The stub thread's id, for its CPU time (0 until known, or off Linux).
    thread_id: Arc<AtomicI64>,
    shutdown: tokio::sync::oneshot::Sender<()>,
    thread: std::thread::JoinHandle<()>,
}

impl IssStub {
    fn start() -> anyhow::Result<Self> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .context("cannot listen for the ISS API stub")?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let requests = Arc::new(AtomicU64::new(0));
        let thread_id = Arc::new(AtomicI64::new(0));
        let (shutdown, stopped) = tokio::sync::oneshot::channel::<()>();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let app = {
            let requests = Arc::clone(&requests);
            axum::Router::new().route(
                "/iss-now.json",
                axum::routing::get(move || {
                    requests.fetch_add(1, Ordering::Relaxed);
                    std::future::ready(iss_now())
                }),
            )
        };
        let tid = Arc::clone(&thread_id);
        let thread = std::thread::Builder::new()
            .name("iss-stub".into())
            .spawn(move || {
                tid.store(current_thread_id(), Ordering::Relaxed);
                runtime.block_on(async move {
                    let listener = tokio::net::TcpListener::from_std(listener)
                        .expect("a non-blocking listener");
                    let _ = axum::serve(listener, app)
                        .with_graceful_shutdown(async move {
                            let _ = stopped.await;
                        })
                        .await;
                });
            })?;
        Ok(Self {
            addr,
            requests,
            thread_id,
            shutdown,
            thread,
        })
    }

    fn url(&self) -> String {
        format!("http://{}/iss-now.json", self.addr)
    }

    fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    fn cpu_ticks(&self) -> Option<u64> {
        match self.thread_id.load(Ordering::Relaxed) {
            0 => None,
            tid => cpu_ticks(&format!("/proc/self/task/{tid}/stat")),
        }
    }

    /// Stops serving. The services are stopped first, so no connection holds it open.
    fn stop(self) {
        let _ = self.shutdown.send(());
        let _ = self.thread.join();
    }
}

/// How much the `--receiver` keeps. Under load the services send far more than this (about
/// ten spans and a log record per request); the oldest are evicted, which keeps the bench
/// process's memory bounded, and the counts received include what was evicted.
const RECEIVER_LIMITS: Limits = Limits {
    max_spans: 10_000,
    max_logs: 10_000,
    max_metric_points: 10_000,
    max_request_bytes: 8 * 1024 * 1024,
};

/// An OTLP receiver on its own thread and single-threaded runtime, like the ISS stub, so
/// that its CPU time is reported apart from the load generator's.
struct ReceiverThread {
    endpoint: String,
    store: otlp_receiver::Store,
    thread_id: i64,
    shutdown: tokio::sync::oneshot::Sender<()>,
    thread: std::thread::JoinHandle<()>,
}

impl ReceiverThread {
    fn start() -> anyhow::Result<Self> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let (started, receiver) = std::sync::mpsc::channel();
        let (shutdown, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("otlp-receiver".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let config = ReceiverConfig::ephemeral().with_limits(RECEIVER_LIMITS);
                    match Receiver::start(config).await {
                        Ok(receiver) => {
                            let _ = started.send(Ok((
                                receiver.http_endpoint(),
                                receiver.store(),
                                current_thread_id(),
                            )));
                            let _ = stopped.await;
                            receiver.shutdown().await;
                        }
                        Err(e) => {
                            let _ = started.send(Err(e));
                        }
                    }
                });
            })?;
        let (endpoint, store, thread_id) = receiver
            .recv()
            .context("the OTLP receiver's thread ended")?
            .context("cannot start the OTLP receiver")?;
        Ok(Self {
            endpoint,
            store,
            thread_id,
            shutdown,
            thread,
        })
    }

    fn stats(&self) -> Stats {
        self.store.stats()
    }

    fn cpu_ticks(&self) -> Option<u64> {
        match self.thread_id {
            0 => None,
            tid => cpu_ticks(&format!("/proc/self/task/{tid}/stat")),
        }
    }

    /// Stops the receiver (after the services, which flush as they stop) and returns what
    /// it received in all.
    fn stop(self) -> Stats {
        let _ = self.shutdown.send(());
        let _ = self.thread.join();
        self.store.stats()
    }
}

/// A collector that is up but blackholed: it accepts TCP connections and holds them open,
/// never reading or answering, so every export waits for the exporter's timeout.
struct Blackhole {
    addr: SocketAddr,
    accepted: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl Blackhole {
    async fn start() -> anyhow::Result<Self> {
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .context("cannot listen for the blackhole")?;
        let addr = listener.local_addr()?;
        let accepted = Arc::new(AtomicU64::new(0));
        let count = Arc::clone(&accepted);
        let task = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                count.fetch_add(1, Ordering::Relaxed);
                held.push(socket);
            }
        });
        Ok(Self {
            addr,
            accepted,
            task,
        })
    }

    fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Closes the listener and every held connection; returns how many it accepted.
    fn stop(self) -> u64 {
        self.task.abort();
        self.accepted.load(Ordering::Relaxed)
    }
}

#[cfg(target_os = "linux")]
fn current_thread_id() -> i64 {
    i64::from(nix::unistd::gettid().as_raw())
}

#[cfg(not(target_os = "linux"))]
fn current_thread_id() -> i64 {
    0
}

/// open-notify's answer, for a station circling at 51.6° inclination once every 92.9 min
/// (close enough to the real orbit for distances to look right; nobody checks it here).
fn iss_now() -> ([(axum::http::HeaderName, &'static str); 1], String) {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let t = now.as_secs_f64();
    let phase = t / 5574.0 * std::f64::consts::TAU;
    let latitude = 51.64 * phase.sin();
    // The ground track drifts west as the Earth turns underneath.
    let longitude = (t / 5574.0 * 360.0 - t / 86_164.0 * 360.0).rem_euclid(360.0) - 180.0;
    let body = format!(
        r#"{{"message": "success", "timestamp": {}, "iss_position": {{"latitude": "{latitude:.4}", "longitude": "{longitude:.4}"}}}}"#,
        now.as_secs()
    );
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        body,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("20s"), Ok(Duration::from_secs(20)));
        assert_eq!(parse_duration("2"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("1m"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_warmup("0"), Ok(Duration::ZERO));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("fast").is_err());
        assert!(parse_duration("3h").is_err());
        assert!(parse_duration("-1s").is_err());
        assert!(parse_duration("2h0").is_err());
    }

    #[test]
    fn env_pairs() {
        assert_eq!(
            parse_env("OTEL_SDK_DISABLED=true"),
            Ok(("OTEL_SDK_DISABLED".into(), "true".into()))
        );
        assert_eq!(parse_env("A=b=c"), Ok(("A".into(), "b=c".into())));
        assert_eq!(parse_env("EMPTY="), Ok(("EMPTY".into(), String::new())));
        assert!(parse_env("NOVALUE").is_err());
        assert!(parse_env("=x").is_err());
    }

    #[test]
    fn quantiles_by_nearest_rank() {
        let values: Vec<u64> = (1..=100).collect();
        assert_eq!(quantile(&values, 0.5), 50);
        assert_eq!(quantile(&values, 0.99), 99);
        assert_eq!(quantile(&values, 1.0), 100);
        assert_eq!(quantile(&[7], 0.99), 7);
        assert_eq!(quantile(&[], 0.5), 0);
    }

    #[test]
    fn the_stub_answers_like_open_notify() {
        let (_, body) = iss_now();
        let value: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(value["message"], "success");
        assert!(value["timestamp"].as_i64().unwrap() > 1_700_000_000);
        let latitude: f64 = value["iss_position"]["latitude"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        let longitude: f64 = value["iss_position"]["longitude"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!(latitude.abs() <= 51.64 && longitude.abs() <= 180.0);
    }
}
