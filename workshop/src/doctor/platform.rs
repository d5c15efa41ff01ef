//! Whether the platform of path (b) is ready: the collector, Prometheus, Grafana, and Loki
//! and Tempo through Grafana.
//!
//! Only Grafana (3000), Prometheus (9090) and the collector's OTLP ports (4317, 4318) are
//! published by docker-compose.yml. So the collector is checked by an OTLP/HTTP export of an
//! empty request, and Loki and Tempo by Grafana's datasource health API (uids `loki` and
//! `tempo`, from platform/grafana/provisioning/datasources/datasources.yaml).
//!
//! Something else may answer OTLP on 4318, and the attendee must know which, for only the
//! platform's collector feeds Prometheus, Loki and Tempo: `workshop up`'s built-in receiver
//! (or `workshop inspect`'s) has a tap (`GET /v1/tap`), which no collector has; a collector
//! that runs on this machine outside Docker (`workshop up --collector`) answers its health
//! check on 13133 and its own metrics on 8888, which compose does not publish.

use super::http::{Answer, Probe, join, show};
use super::parse_url;
use crate::report::Verdict;

pub const START_PLATFORM: &str =
    "Start the platform in the repository root: `docker compose up -d`, then `docker compose ps`";

/// Where the platform is asked: the doctor's options.
#[derive(Clone, Debug, clap::Args)]
pub struct Urls {
    /// Prometheus' base URL.
    #[arg(long, value_name = "URL", default_value = "http://127.0.0.1:9090", value_parser = parse_url)]
    pub prometheus: reqwest::Url,
    /// Grafana's base URL (Loki and Tempo are checked through it: they are not published).
    #[arg(long, value_name = "URL", default_value = "http://127.0.0.1:3000", value_parser = parse_url)]
    pub grafana: reqwest::Url,
    /// The collector's OTLP/HTTP base URL.
    #[arg(long, value_name = "URL", default_value = "http://127.0.0.1:4318", value_parser = parse_url)]
    pub otlp: reqwest::Url,
    /// Where a collector running on this machine outside Docker (`up --collector`) answers
    /// its health check; compose does not publish it. Tells that collector from the
    /// platform's.
    #[arg(long, value_name = "URL", default_value = "http://127.0.0.1:13133", value_parser = parse_url)]
    pub collector_health: reqwest::Url,
    /// Where such a collector serves its own metrics (`/metrics`).
    #[arg(long, value_name = "URL", default_value = "http://127.0.0.1:8888", value_parser = parse_url)]
    pub collector_metrics: reqwest::Url,
    /// The collector's OTLP gRPC address (only checked to speak HTTP/2).
    #[arg(long, value_name = "URL", default_value = "http://127.0.0.1:4317", value_parser = parse_url)]
    pub otlp_grpc: reqwest::Url,
}

/// What each part answered to its readiness question.
#[derive(Clone, Debug)]
pub struct Seen {
    pub urls: Urls,
    pub collector: Answer,
    /// Whether the OTLP/HTTP port has a tap: the workshop's own receiver.
    pub tap: bool,
    /// The answers of a collector's health check (`GET /`) and metrics (`GET /metrics`)
    /// on this machine.
    pub collector_health: Answer,
    pub collector_metrics: Answer,
    pub prometheus: Answer,
    pub grafana: Answer,
    pub loki: Answer,
    pub tempo: Answer,
}

pub async fn probe(probe: &Probe<'_>, urls: &Urls) -> Seen {
    let (collector, tap, collector_health, collector_metrics, prometheus, grafana, loki, tempo) = tokio::join!(
        probe.otlp_export(&urls.otlp),
        probe.has_tap(&urls.otlp),
        probe.get(&urls.collector_health, "/", &[]),
        probe.get(&urls.collector_metrics, "/metrics", &[]),
        probe.get(&urls.prometheus, "/-/ready", &[]),
        probe.get(&urls.grafana, "/api/health", &[]),
        probe.get(&urls.grafana, "/api/datasources/uid/loki/health", &[]),
        probe.get(&urls.grafana, "/api/datasources/uid/tempo/health", &[]),
    );
    Seen {
        urls: urls.clone(),
        collector,
        tap,
        collector_health,
        collector_metrics,
        prometheus,
        grafana,
        loki,
        tempo,
    }
}

/// The collector, Prometheus, Grafana, Loki and Tempo lines, in that order.
pub fn judge(seen: &Seen) -> Vec<Verdict> {
    let urls = &seen.urls;
    // Grafana's body says whether its database is ok.
    let database = seen.grafana.json().is_some_and(|v| v["database"] == "ok");
    vec![
        collector(seen),
        health(
            "Prometheus",
            &urls.prometheus,
            &seen.prometheus,
            "ready",
            true,
        ),
        health("Grafana", &urls.grafana, &seen.grafana, "healthy", database),
        datasource("Loki", "loki", &seen.loki),
        datasource("Tempo", "tempo", &seen.tempo),
    ]
}

/// The line when `url` gave no HTTP answer at all: the platform is not up there.
fn unreachable(name: &str, url: &reqwest::Url, answer: &Answer, option: &str) -> Verdict {
    Verdict::fail(
        name,
        format!("{} {}", show(url), answer.describe()),
        &format!("{START_PLATFORM} (or point {option} at where it runs)"),
    )
}

fn collector(seen: &Seen) -> Verdict {
    let name = "collector";
    let (otlp, answer) = (&seen.urls.otlp, &seen.collector);
    match answer {
        Answer::Got { status: 200, .. } if seen.tap => Verdict::fail(
            name,
            format!(
                "{} is the workshop's built-in OTLP receiver (`workshop up`'s, or `workshop \
                 inspect`'s: it has a tap, /v1/tap), not the platform's collector: what the \
                 services send stays there, where `inspect` shows it, and Prometheus, Loki and \
                 Tempo get none of it",
                show(otlp)
            ),
            "For path (a) this is as it should be. For path (b): stop `workshop up` (Ctrl-C), \
             start the platform (`docker compose up -d`), then `workshop up` again: it sends to \
             the collector when one listens on 4318",
        ),
        Answer::Got { status: 200, .. } => match outside_docker(seen) {
            Some(evidence) => Verdict::fail(
                name,
                format!(
                    "{} is an OpenTelemetry Collector running on this machine outside Docker \
                     ({evidence}; compose publishes neither): `workshop up --collector`'s, \
                     which sends what it lets through to `up`'s own receiver on 4320 (`inspect \
                     --from http://127.0.0.1:4320` shows it), not to Prometheus, Loki or Tempo",
                    show(otlp)
                ),
                "For section 6 without Docker this is as it should be. For path (b): stop \
                 `workshop up --collector` (Ctrl-C), start the platform (`docker compose up \
                 -d`), then `workshop up` without --collector",
            ),
            None => Verdict::ok(
                name,
                format!(
                    "{} accepts OTLP/HTTP (an empty trace export) and is a collector, not the \
                     workshop's built-in receiver (it has no tap); its health check (13133) and \
                     metrics (8888) are not published, so the data lines below tell whether it \
                     forwards",
                    show(otlp)
                ),
            ),
        },
        Answer::Got { status, .. } => Verdict::fail(
            name,
            format!(
                "POST {} answered {}",
                join(otlp, "/v1/traces"),
                answer.describe()
            ),
            if matches!(status, 404 | 405 | 415) {
                "Something else answers there, not an OTLP receiver: check --otlp, and \
                 `docker compose ps otel-collector`"
            } else {
                "See what it says: `docker compose logs otel-collector`; restart it with \
                 `docker compose restart otel-collector`"
            },
        ),
        _ => unreachable(name, otlp, answer, "--otlp"),
    }
}

/// What shows a collector running outside Docker: its health check's status (the
/// `health_check` extension answers `{"status":"Server available",…}`) or its own metrics
/// (`otelcol_process_uptime`), on this machine's ports, which compose does not publish.
fn outside_docker(seen: &Seen) -> Option<String> {
    let mut evidence = Vec::new();
    if let Answer::Got { status: 200, .. } = seen.collector_health
        && let Some(body) = seen.collector_health.json()
        && let Some(health) = body["status"].as_str()
    {
        evidence.push(format!(
            "its health check on {} says {health:?}",
            show(&seen.urls.collector_health)
        ));
    }
    if let Answer::Got { status: 200, body } = &seen.collector_metrics
        && body.contains("otelcol_process_uptime")
    {
        evidence.push(format!(
            "its own metrics are on {}",
            join(&seen.urls.collector_metrics, "/metrics")
        ));
    }
    (!evidence.is_empty()).then(|| evidence.join(", "))
}

/// Prometheus' or Grafana's line from its own health check: `word` (ready, healthy) when
/// it answers 200 and its body agrees.
fn health(name: &str, url: &reqwest::Url, answer: &Answer, word: &str, body: bool) -> Verdict {
    let service = name.to_lowercase();
    match answer {
        Answer::Got { status: 200, .. } if body => {
            Verdict::ok(name, format!("{} is {word}", show(url)))
        }
        Answer::Got { .. } => Verdict::fail(
            name,
            format!("{} not {word}: {}", show(url), answer.describe()),
            &format!(
                "It may still be starting (wait a few seconds); otherwise `docker compose logs \
                 {service}`"
            ),
        ),
        _ => unreachable(name, url, answer, &format!("--{service}")),
    }
}

/// Loki and Tempo are not published: Grafana's health check of their datasource tells.
/// Their compose services are named as their uids.
fn datasource(name: &str, uid: &str, answer: &Answer) -> Verdict {
    let service = uid;
    let body = answer.json().unwrap_or_default();
    let message = body["message"].as_str();
    let status = body["status"].as_str().map(str::to_ascii_uppercase);
    match (answer, status.as_deref()) {
        (Answer::Got { status: 200, .. }, Some("OK")) => Verdict::ok(
            name,
            format!(
                "ready, through Grafana (datasource {uid}: {})",
                message.unwrap_or("OK")
            ),
        ),
        (Answer::Got { status: 404, .. }, _) => Verdict::fail(
            name,
            format!("Grafana has no datasource with uid {uid:?}"),
            "Grafana did not load platform/grafana/provisioning/datasources/datasources.yaml: \
             `docker compose up -d --force-recreate grafana`",
        ),
        (Answer::Got { .. }, Some(_)) => Verdict::fail(
            name,
            format!(
                "Grafana cannot reach it: {}",
                message.map_or_else(|| answer.describe(), str::to_owned)
            ),
            &format!(
                "`docker compose ps {service}` (should be healthy) and \
                 `docker compose logs {service}`; start it with `docker compose up -d`"
            ),
        ),
        (Answer::Got { .. }, None) => Verdict::fail(
            name,
            format!(
                "cannot tell: Grafana's datasource health answered {}",
                answer.describe()
            ),
            "Fix Grafana first (above); is --grafana really Grafana?",
        ),
        _ => Verdict::fail(
            name,
            format!("cannot tell: Grafana {}", answer.describe()),
            &format!(
                "{name} is only reachable inside the compose network, through Grafana. \
                 {START_PLATFORM}"
            ),
        ),
    }
}
