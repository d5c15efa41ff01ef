//! Runs section 6's scenario: the services export to the real collector on the attendee's
//! config, and the collector exports to stand-ins for Tempo, Jaeger, Loki and Prometheus.
//!
//! The order matters: the services are stopped first (they flush what they hold), then the
//! collector gets `decision_wait` to decide on the last traces and a flush of the span
//! metrics, its own metrics are read, and last it is stopped (it flushes its queues), so
//! that the stand-ins hold everything it would ever send.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use otlp_receiver::{Receiver, ReceiverConfig};
use platform_live::collector::{Collector, Wiring, config_files};
use platform_live::process::Ports as PlatformPorts;

use super::scenario::{self, Request};
use super::settings::{self, Settings};
use super::{Backend, LogFact, Observed, SpanFact, server_calls};
use crate::check::stub::IssStub;
use crate::ports::Sockets;
use crate::services::{self, Options, wiring};

/// The overlays compose starts the collector with when Jaeger is added: the second trace
/// backend must get what Tempo gets, no more.
pub const OVERLAYS: [&str; 2] = ["quiet", "jaeger"];
/// The slowest a slow request may be made; a threshold above it cannot be checked.
const SLOWEST_MS: u64 = 10_000;
/// Requests in flight at once.
const CONCURRENCY: usize = 8;
/// How long the services get to answer /healthz, and to stop and flush.
const HEALTHY: Duration = Duration::from_secs(15);
const GRACE: Duration = Duration::from_secs(10);
/// How long, beyond `decision_wait`, to wait for the last decisions and span metrics.
const SETTLE: Duration = Duration::from_secs(20);

/// Where the collector runs from, and with what.
pub struct Setup<'a> {
    pub collector: &'a Path,
    /// The workspace whose `platform/otel-collector` config is run.
    pub tree: &'a Path,
    pub binaries: &'a BTreeMap<String, PathBuf>,
    pub verbose: bool,
}

/// The stand-ins for the backends.
struct StandIns {
    tempo: Receiver,
    jaeger: Receiver,
    loki: Receiver,
    prometheus: Receiver,
}

impl StandIns {
    async fn start() -> anyhow::Result<StandIns> {
        Ok(StandIns {
            tempo: Receiver::start(ReceiverConfig::ephemeral()).await?,
            jaeger: Receiver::start(ReceiverConfig::ephemeral()).await?,
            // Loki takes OTLP at /otlp, Prometheus at /api/v1/otlp (the exporters append
            // /v1/logs and /v1/metrics).
            loki: Receiver::start(ReceiverConfig::ephemeral().with_http_path_prefix("/otlp"))
                .await?,
            prometheus: Receiver::start(
                ReceiverConfig::ephemeral().with_http_path_prefix("/api/v1/otlp"),
            )
            .await?,
        })
    }

    async fn shutdown(self) {
        for receiver in [self.tempo, self.jaeger, self.loki, self.prometheus] {
            receiver.shutdown().await;
        }
    }
}

pub async fn observe(setup: Setup<'_>) -> anyhow::Result<Observed> {
    let files = config_files(setup.tree, &OVERLAYS);
    let config = files
        .iter()
        .map(|f| {
            f.strip_prefix(setup.tree)
                .unwrap_or(f)
                .display()
                .to_string()
        })
        .collect::<Vec<_>>()
        .join(" + ");
    let mut settings = settings::read(&files);
    let slow_ms = match settings.slow_ms {
        Ok(ms) if ms > SLOWEST_MS => {
            settings.slow_ms = Err(format!(
                "threshold_ms is {ms}: the check makes requests of at most {SLOWEST_MS} ms"
            ));
            SLOWEST_MS
        }
        Ok(ms) => ms,
        Err(_) => Settings::CHAPTER_SLOW_MS,
    };
    let requests = scenario::requests(slow_ms + scenario::SLOWER_BY_MS);
    let stand_ins = StandIns::start().await?;
    let loopback = |receiver: &Receiver, grpc: bool| -> SocketAddr {
        let addr = if grpc {
            receiver.grpc_addr()
        } else {
            receiver.http_addr()
        };
        SocketAddr::from((Ipv4Addr::LOCALHOST, addr.port()))
    };
    let wiring = Wiring::new(
        &mut PlatformPorts::default(),
        loopback(&stand_ins.tempo, true),
        loopback(&stand_ins.prometheus, false),
        loopback(&stand_ins.loki, false),
        loopback(&stand_ins.jaeger, true),
    );
    let started =
        tokio::task::block_in_place(|| Collector::start(setup.collector, &files, &wiring));
    let mut observed = Observed {
        config,
        settings: settings.clone(),
        collector: Ok(()),
        slow_ms,
        requests: Vec::new(),
        backends: Vec::new(),
        logs: Vec::new(),
        page_calls: None,
        own: Vec::new(),
    };
    let mut collector = match started {
        Ok(collector) => collector,
        Err(why) => {
            stand_ins.shutdown().await;
            return Ok(Observed::without_collector(observed.config, why));
        }
    };

    let stub = IssStub::start().await?;
    let sockets = Sockets::any()?;
    let ports = sockets.ports();
    let slowest = Duration::from_millis(slow_ms + scenario::SLOWER_BY_MS);
    let mut env = wiring_env(&ports, &wiring, &stub, slowest);
    env.push(("NO_COLOR", "1".to_owned()));
    let options = Options {
        capture: true,
        echo: setup.verbose,
        drop_env_prefix: Some("OTEL_"),
    };
    let mut running = services::start_with(setup.binaries, sockets, &env, options)?;
    if let Err(e) = running.wait_healthy(HEALTHY).await {
        running.stop(GRACE).await;
        collector.process.stop(GRACE);
        stand_ins.shutdown().await;
        anyhow::bail!("the services did not start for section 6: {e:#}");
    }
    observed.requests = drive(&requests, &ports, &stub, slowest).await?;
    running.stop(GRACE).await;
    stub.stop();

    // The last decisions, and the span metrics of every page.
    let pages = observed.pages();
    let stopped = Instant::now();
    let decided = stopped + settings.decision_wait + Duration::from_secs(2);
    let deadline = decided + SETTLE;
    loop {
        observed.page_calls =
            server_calls(&stand_ins.prometheus.store().metrics(), "frontend", "GET /");
        let now = Instant::now();
        let counted = observed.page_calls.is_some_and(|n| n as usize >= pages);
        if (now >= decided && counted) || now >= deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    observed.own = collector.samples().await.unwrap_or_default();
    tokio::task::block_in_place(|| collector.process.stop(Duration::from_secs(15)));
    if setup.verbose {
        for line in collector.process.output() {
            eprintln!("{:>12} | {line}", "otelcol");
        }
    }

    observed.backends = vec![
        Backend {
            name: "Tempo",
            spans: stand_ins
                .tempo
                .store()
                .spans()
                .iter()
                .map(SpanFact::of)
                .collect(),
        },
        Backend {
            name: "Jaeger",
            spans: stand_ins
                .jaeger
                .store()
                .spans()
                .iter()
                .map(SpanFact::of)
                .collect(),
        },
    ];
    observed.logs = stand_ins
        .loki
        .store()
        .logs()
        .iter()
        .map(LogFact::of)
        .collect();
    observed.page_calls =
        server_calls(&stand_ins.prometheus.store().metrics(), "frontend", "GET /");
    stand_ins.shutdown().await;
    if setup.verbose {
        eprint!("{}", left_the_collector(&observed));
    }
    Ok(observed)
}

/// `--verbose`: what the stand-ins got, in short: traces by kind, and every distinct
/// status message and log body (where redaction shows).
fn left_the_collector(observed: &Observed) -> String {
    use std::collections::BTreeSet;
    use std::fmt::Write;
    let mut out = String::from("What left the collector\n");
    for backend in &observed.backends {
        let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
        for trace in backend.traces(observed.slow_ms) {
            *kinds.entry(trace.kind.to_string()).or_default() += 1;
        }
        let _ = writeln!(
            out,
            "  {:<7} {} spans; traces: {kinds:?}",
            backend.name,
            backend.spans.len()
        );
        let messages: BTreeSet<String> = backend
            .spans
            .iter()
            .filter(|s| s.error)
            .map(|s| format!("{}: {:?}", s.describe(), s.status_message()))
            .collect();
        for message in messages {
            let _ = writeln!(out, "          status  {message}");
        }
    }
    let bodies: BTreeSet<String> = observed
        .logs
        .iter()
        .map(|l| format!("{}: {:?}", l.service, l.body()))
        .collect();
    for body in bodies {
        let _ = writeln!(out, "  Loki    log     {body}");
    }
    let _ = writeln!(
        out,
        "  Prometheus: the span metrics count {:?} frontend pages",
        observed.page_calls
    );
    out
}

/// The services' environment: their ports, the collector as their OTLP endpoint, quick
/// exports, the stub as the ISS API, and timeouts longer than the slowest request.
fn wiring_env(
    ports: &crate::ports::Ports,
    collector: &Wiring,
    stub: &IssStub,
    slowest: Duration,
) -> Vec<(&'static str, String)> {
    let after = |extra: u64| (slowest.as_millis() as u64 + extra).to_string();
    let mut env = wiring(ports);
    env.extend([
        (
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            collector.otlp_http_endpoint(),
        ),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf".to_owned()),
        ("OTEL_METRIC_EXPORT_INTERVAL", "1000".to_owned()),
        ("OTEL_BSP_SCHEDULE_DELAY", "200".to_owned()),
        ("OTEL_BLRP_SCHEDULE_DELAY", "200".to_owned()),
        ("RUST_LOG", "info".to_owned()),
        ("ISS_API_TIMEOUT_MS", after(3_000)),
        ("UPSTREAM_TIMEOUT_MS", after(4_000)),
        ("GATEWAY_TIMEOUT_MS", after(5_000)),
    ]);
    env.extend(stub.services_env());
    env
}

/// Sends the requests: runs of requests that need the same ISS API answer go
/// [`CONCURRENCY`] at a time, the stub switched between runs.
async fn drive(
    requests: &[Request],
    ports: &crate::ports::Ports,
    stub: &IssStub,
    slowest: Duration,
) -> anyhow::Result<Vec<(Request, Result<u16, String>)>> {
    let client = reqwest::Client::builder()
        .timeout(slowest + Duration::from_secs(10))
        .build()?;
    let port_of = |service: &str| {
        ports
            .all()
            .into_iter()
            .find(|(name, _)| *name == service)
            .map(|(_, port)| port)
            .expect("every entry is a service")
    };
    let mut out = Vec::new();
    for run in requests.chunk_by(|a, b| a.iss_api() == b.iss_api()) {
        stub.answer_with(run[0].iss_api());
        for batch in run.chunks(CONCURRENCY) {
            let mut tasks = tokio::task::JoinSet::new();
            for (i, request) in batch.iter().enumerate() {
                let url = format!(
                    "http://127.0.0.1:{}{}",
                    port_of(request.entry()),
                    request.path()
                );
                let client = client.clone();
                tasks.spawn(async move {
                    let answer = match client.get(url).send().await {
                        Ok(response) => {
                            let status = response.status().as_u16();
                            let _ = response.bytes().await;
                            Ok(status)
                        }
                        Err(error) => Err(error.to_string()),
                    };
                    (i, answer)
                });
            }
            let mut answers: Vec<(usize, Result<u16, String>)> = tasks.join_all().await;
            answers.sort_by_key(|(i, _)| *i);
            out.extend(
                answers
                    .into_iter()
                    .map(|(i, answer)| (batch[i].clone(), answer)),
            );
        }
    }
    Ok(out)
}
