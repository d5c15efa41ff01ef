//! Whether telemetry arrives in the platform: metrics in Prometheus, logs in Loki and traces
//! in Tempo (the last two through Grafana's datasource proxy: they are not published). One
//! question and one judgement, parameterised by the [`Signal`]: what differs between the
//! three is only where to ask and how to read the answer.

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::Value;

use super::http::{Answer, Probe};
use super::platform::Urls;
use crate::report::Verdict;

/// The metrics the workshop's sections produce; any one of them is data arriving.
const METRICS: [&str; 4] = [
    "traces_span_metrics_calls_total",
    "iss_requests_total",
    "incoming_requests_total",
    "target_info",
];

const SEND_DATA: &str = "Run the services (`cargo run -p workshop -- up`) with traffic \
                         (`cargo run -p workshop -- load`) and wait a minute: the SDK exports \
                         metrics every 60 s";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signal {
    Metrics,
    Logs,
    Traces,
}

/// What a backend holds of one signal: whether anything, and from which services (or, for
/// metrics, which of [`METRICS`]).
struct Arrived {
    any: bool,
    names: Vec<String>,
}

impl Signal {
    pub const ALL: [Signal; 3] = [Signal::Metrics, Signal::Logs, Signal::Traces];

    fn name(self) -> &'static str {
        match self {
            Signal::Metrics => "metrics",
            Signal::Logs => "logs",
            Signal::Traces => "traces",
        }
    }

    /// Where the signal is stored: also the name of that backend's readiness line.
    pub fn backend(self) -> &'static str {
        match self {
            Signal::Metrics => "Prometheus",
            Signal::Logs => "Loki",
            Signal::Traces => "Tempo",
        }
    }

    /// Asks the backend what it holds of the last minutes.
    pub async fn ask(self, probe: &Probe<'_>, urls: &Urls) -> Answer {
        match self {
            Signal::Metrics => {
                let query = format!(
                    "count by (__name__) ({{__name__=~\"{}\"}})",
                    METRICS.join("|")
                );
                let query = [("query", query.as_str())];
                probe.get(&urls.prometheus, "/api/v1/query", &query).await
            }
            Signal::Logs => {
                let query = [
                    ("query", r#"{service_name=~".+"}"#),
                    ("since", "15m"),
                    ("limit", "100"),
                    ("direction", "backward"),
                ];
                let path = "/api/datasources/proxy/uid/loki/loki/api/v1/query_range";
                probe.get(&urls.grafana, path, &query).await
            }
            Signal::Traces => {
                let (start, end) = since(15);
                let query = [("limit", "20"), ("start", &start), ("end", &end)];
                let path = "/api/datasources/proxy/uid/tempo/api/search";
                probe.get(&urls.grafana, path, &query).await
            }
        }
    }

    /// What arrived, read from the backend's answer; `None` when the body is not an answer
    /// to the question.
    fn arrived(self, body: &Value) -> Option<Arrived> {
        let success = body["status"] == "success";
        let result = list(&body["data"]["result"]);
        let mut names: Vec<&str> = match self {
            Signal::Metrics if success => result
                .filter_map(|series| series["metric"]["__name__"].as_str())
                .collect(),
            Signal::Logs if success => result
                .filter(|stream| stream["values"].as_array().is_some_and(|v| !v.is_empty()))
                .filter_map(|stream| stream["stream"]["service_name"].as_str())
                .collect(),
            Signal::Traces if body["traces"].is_array() => list(&body["traces"])
                .filter_map(|trace| trace["rootServiceName"].as_str())
                .collect(),
            _ => return None,
        };
        // Metrics in the order of METRICS, which is from the most telling one; services by
        // name.
        names.sort_by_key(|name| (METRICS.iter().position(|m| m == name), *name));
        names.dedup();
        Some(Arrived {
            // A trace without a root service name (its root span not arrived yet) is a trace
            // all the same.
            any: !names.is_empty() || list(&body["traces"]).next().is_some(),
            names: names.into_iter().map(str::to_owned).collect(),
        })
    }
}

/// The elements of a JSON array, none if it is not one.
fn list(value: &Value) -> impl Iterator<Item = &Value> {
    value.as_array().into_iter().flatten()
}

/// The last `minutes` as Unix seconds (Tempo's search takes `start` and `end`).
fn since(minutes: u64) -> (String, String) {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    ((now - minutes * 60).to_string(), now.to_string())
}

/// The signal's line from the backend's answer, or `None` when the backend was not ready
/// and so not asked.
pub fn judge(signal: Signal, answer: Option<&Answer>) -> Verdict {
    let name = signal.name();
    let backend = signal.backend();
    let Some(answer) = answer else {
        return Verdict::warn(
            name,
            format!("cannot tell: {backend} is not ready"),
            &format!("Fix {backend} first (above)"),
        );
    };
    let Some(arrived) = answer.json().and_then(|body| signal.arrived(&body)) else {
        let (what, fix) = match signal {
            Signal::Metrics => (
                "the query",
                "Is --prometheus really Prometheus? `docker compose logs prometheus`",
            ),
            Signal::Logs => (
                "the query through Grafana",
                "`docker compose logs loki grafana`",
            ),
            Signal::Traces => (
                "the search through Grafana",
                "`docker compose logs tempo grafana`",
            ),
        };
        return Verdict::fail(name, format!("{what} failed: {}", answer.describe()), fix);
    };
    let names = arrived.names.join(", ");
    match (signal, arrived.any) {
        (Signal::Metrics, false) => Verdict::warn(
            name,
            format!("none of {} in the last 5 minutes", METRICS.join(", ")),
            SEND_DATA,
        ),
        (Signal::Metrics, true) => Verdict::ok(name, format!("Prometheus has {names}")),
        (Signal::Logs, false) => Verdict::warn(
            name,
            "no log line in Loki",
            &SEND_DATA.replace(" metrics every 60 s", " logs every second"),
        ),
        (Signal::Logs, true) => Verdict::ok(name, format!("Loki has log lines from {names}")),
        (Signal::Traces, false) => Verdict::warn(
            name,
            "no trace in Tempo",
            "Traces come with section 3: run the services (`cargo run -p workshop -- up`) with \
             traffic (`cargo run -p workshop -- load`)",
        ),
        (Signal::Traces, true) if names.is_empty() => Verdict::ok(name, "Tempo has traces"),
        (Signal::Traces, true) => Verdict::ok(name, format!("Tempo has traces from {names}")),
    }
}
