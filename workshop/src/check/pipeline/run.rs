//! Runs section 6's scenario: the services export to the real collector on the attendee's
//! config, and the collector exports to stand-ins for Tempo, Jaeger, Loki and Prometheus.
//!
//! The order matters: the services are stopped first (they flush what they hold), then the
//! collector gets `decision_wait` to decide on the last traces and a flush of the span
//! metrics, its own metrics are read, and last it is stopped (it flushes its queues), so
//! that the stand-ins hold everything it would ever send.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use otlp_receiver::{Receiver, ReceiverConfig};
use platform_live::collector::{Collector, Wiring, config_files};
use platform_live::process::Ports as PlatformPorts;

use super::scenario::{self, Request};
use super::settings::{self, Settings};
use super::{Backend, LogFact, Observed, SpanFact, server_calls};
use crate::check::scenario::{Pace, drive};
use crate::harness::{self, Binaries, Env, Harness, Options, Sockets};

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

    /// The collector's wiring: fresh ports for its own listeners, these as its backends.
    fn wiring(&self) -> Wiring {
        Wiring::new(
            &mut PlatformPorts::default(),
            self.tempo.grpc_addr(),
            self.prometheus.http_addr(),
            self.loki.http_addr(),
            self.jaeger.grpc_addr(),
        )
    }

    /// The frontend's `GET /` SERVER spans in the span metrics that reached Prometheus.
    fn page_calls(&self) -> Option<f64> {
        server_calls(&self.prometheus.store().metrics(), "frontend", "GET /")
    }

    fn backends(&self) -> Vec<Backend> {
        let spans =
            |receiver: &Receiver| receiver.store().spans().iter().map(SpanFact::of).collect();
        vec![
            Backend {
                name: "Tempo",
                spans: spans(&self.tempo),
            },
            Backend {
                name: "Jaeger",
                spans: spans(&self.jaeger),
            },
        ]
    }
}

/// Runs section 6's scenario through `collector` (a program) on `tree`'s config, with the
/// services in `binaries`.
pub async fn observe(
    collector: &Path,
    tree: &Path,
    binaries: &Binaries,
    verbose: bool,
) -> anyhow::Result<Observed> {
    let files = config_files(tree, &OVERLAYS);
    let config: Vec<String> = files
        .iter()
        .map(|f| f.strip_prefix(tree).unwrap_or(f).display().to_string())
        .collect();
    let config = config.join(" + ");
    let (settings, slow_ms) = sampling(&files);
    let stand_ins = StandIns::start().await?;
    let wiring = stand_ins.wiring();
    let mut otelcol = match Collector::start(collector, &files, &wiring).await {
        Ok(otelcol) => otelcol,
        Err(why) => return Ok(Observed::without_collector(config, why)),
    };
    let slowest = Duration::from_millis(slow_ms + scenario::SLOWER_BY_MS);
    let options = Options {
        echo: verbose,
        without_our_otel_env: true,
    };
    let env = services_env(&wiring, slowest);
    let mut harness = Harness::start(binaries, Sockets::any()?, env, options)?;
    harness
        .wait_healthy(HEALTHY)
        .await
        .context("the services did not start for section 6")?;
    let pace = Pace {
        at_once: CONCURRENCY,
        timeout: slowest + Duration::from_secs(10),
        budget: None,
    };
    let requests = scenario::requests(slowest.as_millis() as u64);
    let outcomes = drive(&requests, &harness, None, pace).await?;
    let requests: Vec<_> = outcomes.into_iter().map(|o| (o.step, o.answer)).collect();
    harness.stop(GRACE).await;
    settle(&stand_ins, &requests, settings.decision_wait).await;
    let own = otelcol.samples().await.unwrap_or_default();
    otelcol.stop().await;
    if verbose {
        for line in otelcol.process.output().lines() {
            eprintln!("{:>12} | {line}", "otelcol");
        }
    }
    let observed = Observed {
        config,
        settings,
        collector: Ok(()),
        slow_ms,
        requests,
        backends: stand_ins.backends(),
        logs: stand_ins
            .loki
            .store()
            .logs()
            .iter()
            .map(LogFact::of)
            .collect(),
        page_calls: stand_ins.page_calls(),
        own,
    };
    if verbose {
        eprint!("{}", left_the_collector(&observed));
    }
    Ok(observed)
}

/// The sampling settings `files` give, and how slow a slow request is made: the config's
/// threshold (the chapter's if it has none), at most [`SLOWEST_MS`].
fn sampling(files: &[PathBuf]) -> (Settings, u64) {
    let mut settings = settings::read(files);
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
    (settings, slow_ms)
}

/// After the services have stopped: waits for the collector's last decisions, and for the
/// span metrics of every page sent.
async fn settle(stand_ins: &StandIns, requests: &[(Request, Result<u16, String>)], wait: Duration) {
    let pages = requests.iter().filter(|(r, _)| r.is_page()).count();
    let decided = Instant::now() + wait + Duration::from_secs(2);
    let deadline = decided + SETTLE;
    loop {
        let counted = stand_ins.page_calls().is_some_and(|n| n as usize >= pages);
        let now = Instant::now();
        if (now >= decided && counted) || now >= deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
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

/// The services' environment: the collector as their OTLP endpoint, quick exports, and
/// timeouts longer than the slowest request.
fn services_env(collector: &Wiring, slowest: Duration) -> Env {
    let after = |extra: u64| (slowest.as_millis() as u64 + extra).to_string();
    harness::env([
        (
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            collector.otlp_http_endpoint(),
        ),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf".to_owned()),
        ("OTEL_METRIC_EXPORT_INTERVAL", "1000".to_owned()),
        ("OTEL_BSP_SCHEDULE_DELAY", "200".to_owned()),
        ("OTEL_BLRP_SCHEDULE_DELAY", "200".to_owned()),
        ("RUST_LOG", "info".to_owned()),
        ("NO_COLOR", "1".to_owned()),
        ("ISS_API_MAX_AGE_MS", "0".to_owned()),
        ("ISS_API_BACKOFF_MS", "0".to_owned()),
        ("ISS_API_TIMEOUT_MS", after(3_000)),
        ("UPSTREAM_TIMEOUT_MS", after(4_000)),
        ("GATEWAY_TIMEOUT_MS", after(5_000)),
    ])
}
