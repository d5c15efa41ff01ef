//! Whether the platform of path (b) is ready: the collector, Prometheus, Grafana, and Loki
//! and Tempo through Grafana.
//!
//! Only Grafana (3000), Prometheus (9090) and the collector's OTLP ports (4317, 4318) are
//! published by docker-compose.yml. So the collector is checked by an OTLP/HTTP export of an
//! empty request (its health check on 13133 is not published), and Loki and Tempo by
//! Grafana's datasource health API (uids `loki` and `tempo`, from
//! platform/grafana/provisioning/datasources/datasources.yaml).

use serde_json::Value;

use super::http::{Answer, Probe, join, show};
use super::report::{Check, fail, ok};

pub const START_PLATFORM: &str =
    "start the platform in the repository root: `docker compose up -d`, then `docker compose ps`";

/// Where the platform is asked.
#[derive(Clone, Debug)]
pub struct Urls {
    pub prometheus: reqwest::Url,
    pub grafana: reqwest::Url,
    pub otlp: reqwest::Url,
}

/// What each part answered to its readiness question.
#[derive(Clone, Debug)]
pub struct Seen {
    pub urls: Urls,
    pub collector: Answer,
    pub prometheus: Answer,
    pub grafana: Answer,
    pub loki: Answer,
    pub tempo: Answer,
}

pub async fn probe(probe: &Probe<'_>, urls: &Urls) -> Seen {
    let (collector, prometheus, grafana, loki, tempo) = tokio::join!(
        probe.otlp_export(&urls.otlp),
        probe.get(&urls.prometheus, "/-/ready", &[]),
        probe.get(&urls.grafana, "/api/health", &[]),
        probe.get(&urls.grafana, "/api/datasources/uid/loki/health", &[]),
        probe.get(&urls.grafana, "/api/datasources/uid/tempo/health", &[]),
    );
    Seen {
        urls: urls.clone(),
        collector,
        prometheus,
        grafana,
        loki,
        tempo,
    }
}

/// The collector, Prometheus, Grafana, Loki and Tempo lines, in that order.
pub fn judge(seen: &Seen) -> Vec<Check> {
    vec![
        collector(&seen.urls.otlp, &seen.collector),
        prometheus(&seen.urls.prometheus, &seen.prometheus),
        grafana(&seen.urls.grafana, &seen.grafana),
        datasource("Loki", "loki", &seen.loki),
        datasource("Tempo", "tempo", &seen.tempo),
    ]
}

/// The line when `url` gave no HTTP answer at all: the platform is not up there.
fn unreachable(name: &str, url: &reqwest::Url, answer: &Answer, option: &str) -> Check {
    fail(
        name,
        format!("{} {}", show(url), answer.describe()),
        format!("{START_PLATFORM} (or point {option} at where it runs)"),
    )
}

fn collector(otlp: &reqwest::Url, answer: &Answer) -> Check {
    let name = "collector";
    match answer {
        Answer::Got { status: 200, .. } => ok(
            name,
            format!(
                "{} accepts OTLP/HTTP (an empty trace export; its health check on 13133 is not \
                 published)",
                show(otlp)
            ),
        ),
        Answer::Got { status, .. } => fail(
            name,
            format!(
                "POST {} answered {}",
                join(otlp, "/v1/traces"),
                answer.describe()
            ),
            if matches!(status, 404 | 405 | 415) {
                "something else answers there, not an OTLP receiver: check --otlp, and \
                 `docker compose ps otel-collector`"
            } else {
                "see what it says: `docker compose logs otel-collector`; restart it with \
                 `docker compose restart otel-collector`"
            },
        ),
        _ => unreachable(name, otlp, answer, "--otlp"),
    }
}

fn prometheus(url: &reqwest::Url, answer: &Answer) -> Check {
    let name = "Prometheus";
    match answer {
        Answer::Got { status: 200, .. } => ok(name, format!("{} is ready", show(url))),
        Answer::Got { .. } => fail(
            name,
            format!("{} not ready: {}", show(url), answer.describe()),
            "it may still be starting (wait a few seconds); otherwise \
             `docker compose logs prometheus`",
        ),
        _ => unreachable(name, url, answer, "--prometheus"),
    }
}

fn grafana(url: &reqwest::Url, answer: &Answer) -> Check {
    let name = "Grafana";
    let database = answer
        .json()
        .and_then(|v| v.get("database").and_then(Value::as_str).map(str::to_owned));
    match (answer, database.as_deref()) {
        (Answer::Got { status: 200, .. }, Some("ok")) => {
            ok(name, format!("{} is healthy", show(url)))
        }
        (Answer::Got { .. }, _) => fail(
            name,
            format!("{} not healthy: {}", show(url), answer.describe()),
            "it may still be starting (wait a few seconds); otherwise \
             `docker compose logs grafana`",
        ),
        _ => unreachable(name, url, answer, "--grafana"),
    }
}

/// Loki and Tempo are not published: Grafana's health check of their datasource tells.
/// Their compose services are named as their uids.
fn datasource(name: &str, uid: &str, answer: &Answer) -> Check {
    let service = uid;
    let body = answer.json();
    let message = body
        .as_ref()
        .and_then(|v| v.get("message").and_then(Value::as_str))
        .map(str::to_owned);
    let status = body
        .as_ref()
        .and_then(|v| v.get("status").and_then(Value::as_str))
        .map(str::to_ascii_uppercase);
    match (answer, status.as_deref()) {
        (Answer::Got { status: 200, .. }, Some("OK")) => ok(
            name,
            format!(
                "ready, through Grafana (datasource {uid}: {})",
                message.as_deref().unwrap_or("OK")
            ),
        ),
        (Answer::Got { status: 404, .. }, _) => fail(
            name,
            format!("Grafana has no datasource with uid {uid:?}"),
            "Grafana did not load platform/grafana/provisioning/datasources/datasources.yaml: \
             `docker compose up -d --force-recreate grafana`",
        ),
        (Answer::Got { .. }, Some(_)) => fail(
            name,
            format!(
                "Grafana cannot reach it: {}",
                message.unwrap_or_else(|| answer.describe())
            ),
            format!(
                "`docker compose ps {service}` (should be healthy) and \
                 `docker compose logs {service}`; start it with `docker compose up -d`"
            ),
        ),
        (Answer::Got { .. }, None) => fail(
            name,
            format!(
                "cannot tell: Grafana's datasource health answered {}",
                answer.describe()
            ),
            "fix Grafana first (above); is --grafana really Grafana?",
        ),
        _ => fail(
            name,
            format!("cannot tell: Grafana {}", answer.describe()),
            format!(
                "{name} is only reachable inside the compose network, through Grafana: \
                 {START_PLATFORM}"
            ),
        ),
    }
}
