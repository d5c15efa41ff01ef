//! Section 6: the collector at work. `check 6` sends traffic through the real
//! OpenTelemetry Collector, running the attendee's `platform/otel-collector/config.yaml`
//! (with the overlays compose uses: `quiet`, and `jaeger` for the second trace backend),
//! and looks at what leaves it: at stand-ins for Tempo, Jaeger and Loki (OTLP receivers on
//! the same protocols and paths), at a stand-in for Prometheus' OTLP endpoint, and at the
//! collector's own metrics.
//!
//! - [`scenario`]: the requests and what each is for (ordinary, error, slow, stylesheet);
//! - [`settings`]: the sampling numbers the attendee's config gives;
//! - [`run`]: starts everything and collects the observations (the only impure part);
//! - here: the observations, reduced to what section 6 judges, and how traces are told
//!   apart; `section6` holds the checks.

#[cfg(test)]
pub mod fixtures;
pub mod run;
pub mod scenario;
pub mod settings;

use std::collections::BTreeMap;

use otlp_receiver::{AttrValue, ReceivedLog, ReceivedMetric, ReceivedSpan, SpanKind, StatusCode};
use platform_live::collector::Sample;

use scenario::{Kind, Request};
use settings::Settings;

/// A span as a trace backend received it, reduced to what section 6 judges.
#[derive(Clone, Debug, PartialEq)]
pub struct SpanFact {
    pub trace_id: String,
    pub span_id: String,
    pub parent_id: Option<String>,
    pub service: String,
    pub name: String,
    pub kind: SpanKind,
    pub error: bool,
    pub start_ns: u64,
    pub end_ns: u64,
    /// `http.route`, to recognise the stylesheet.
    pub route: Option<String>,
    /// Every text the span carries, with where: `("status message", "…")`,
    /// `("attribute url.full", "…")`, event names and attributes.
    pub texts: Vec<(String, String)>,
}

impl SpanFact {
    pub fn of(span: &ReceivedSpan) -> SpanFact {
        let status = span.status();
        let mut texts = vec![
            ("name".to_owned(), span.name().to_owned()),
            ("status message".to_owned(), status.message.clone()),
        ];
        texts.extend(attribute_texts("attribute", &span.attributes()));
        for event in &span.span.events {
            texts.push(("event".to_owned(), event.name.clone()));
            for pair in &event.attributes {
                let value = pair
                    .value
                    .as_ref()
                    .map_or(AttrValue::Empty, AttrValue::from);
                texts.push((format!("event attribute {}", pair.key), value.to_string()));
            }
        }
        SpanFact {
            trace_id: span.trace_id(),
            span_id: span.span_id(),
            parent_id: span.parent_span_id(),
            service: span.service_name().unwrap_or("?").to_owned(),
            name: span.name().to_owned(),
            kind: span.kind(),
            error: status.code == StatusCode::Error,
            start_ns: span.span.start_time_unix_nano,
            end_ns: span.span.end_time_unix_nano,
            route: span
                .attribute("http.route")
                .and_then(|v| v.as_str().map(str::to_owned)),
            texts,
        }
    }

    pub fn status_message(&self) -> &str {
        self.text("status message")
    }

    fn text(&self, place: &str) -> &str {
        self.texts
            .iter()
            .find(|(p, _)| p == place)
            .map_or("", |(_, text)| text)
    }

    /// `gateway's CLIENT span "GET"`.
    pub fn describe(&self) -> String {
        format!(
            "{}'s {} span {:?}",
            self.service,
            self.kind.to_string().to_uppercase(),
            self.name
        )
    }
}

/// A log record as the log backend received it: its service and every text it carries.
#[derive(Clone, Debug, PartialEq)]
pub struct LogFact {
    pub service: String,
    pub texts: Vec<(String, String)>,
}

impl LogFact {
    pub fn body(&self) -> &str {
        self.texts
            .iter()
            .find(|(place, _)| place == "body")
            .map_or("", |(_, text)| text)
    }

    pub fn of(log: &ReceivedLog) -> LogFact {
        let mut texts = vec![("body".to_owned(), log.body_text())];
        texts.extend(attribute_texts("attribute", &log.attributes()));
        LogFact {
            service: log.service_name().unwrap_or("?").to_owned(),
            texts,
        }
    }
}

fn attribute_texts(what: &str, attributes: &BTreeMap<String, AttrValue>) -> Vec<(String, String)> {
    attributes
        .iter()
        .map(|(key, value)| (format!("{what} {key}"), value.to_string()))
        .collect()
}

/// The spans one trace backend received.
#[derive(Clone, Debug, PartialEq)]
pub struct Backend {
    pub name: &'static str,
    pub spans: Vec<SpanFact>,
}

/// One trace at a backend, as the checks see it.
#[derive(Clone, Debug, PartialEq)]
pub struct TraceFact {
    pub trace_id: String,
    /// What the request behind it was, judged from the spans.
    pub kind: Kind,
    /// One root, and every span's parent present.
    pub complete: bool,
    pub spans: usize,
}

impl Backend {
    /// Its traces, each classed like the requests: a stylesheet fetch, an error (some span
    /// is ERROR), slow (first start to last end at least `slow_ms`), or ordinary.
    pub fn traces(&self, slow_ms: u64) -> Vec<TraceFact> {
        let mut by_trace: BTreeMap<&str, Vec<&SpanFact>> = BTreeMap::new();
        for span in &self.spans {
            by_trace.entry(&span.trace_id).or_default().push(span);
        }
        by_trace
            .into_iter()
            .map(|(trace_id, spans)| {
                let start = spans.iter().map(|s| s.start_ns).min().unwrap_or(0);
                let end = spans.iter().map(|s| s.end_ns).max().unwrap_or(0);
                let kind = if spans
                    .iter()
                    .any(|s| s.route.as_deref() == Some("/style.css"))
                {
                    Kind::Stylesheet
                } else if spans.iter().any(|s| s.error) {
                    Kind::Error
                } else if end.saturating_sub(start) >= slow_ms * 1_000_000 {
                    Kind::Slow
                } else {
                    Kind::Ordinary
                };
                let ids: Vec<&str> = spans.iter().map(|s| s.span_id.as_str()).collect();
                let roots = spans.iter().filter(|s| s.parent_id.is_none()).count();
                let orphans = spans
                    .iter()
                    .filter_map(|s| s.parent_id.as_deref())
                    .filter(|p| !ids.contains(p))
                    .count();
                TraceFact {
                    trace_id: trace_id.to_owned(),
                    kind,
                    complete: roots == 1 && orphans == 0,
                    spans: spans.len(),
                }
            })
            .collect()
    }
}

/// The span metric the RED panels count requests with (`traces_span_metrics_calls_total`
/// in Prometheus), as the connector names it over OTLP.
pub const CALLS_METRIC: &str = "traces.span.metrics.calls";

/// The latest count of `service`'s `span_name` SERVER spans in the span metrics that
/// reached Prometheus' stand-in, summed over status codes; `None` if none arrived.
pub fn server_calls(metrics: &[ReceivedMetric], service: &str, span_name: &str) -> Option<f64> {
    // Cumulative counts arrive again with every flush: keep the newest of each series.
    let mut latest: BTreeMap<String, (u64, f64)> = BTreeMap::new();
    for metric in metrics.iter().filter(|m| m.name() == CALLS_METRIC) {
        if metric.service_name() != Some(service) {
            continue;
        }
        for point in metric.points() {
            let attr = |key: &str| point.attributes.get(key).map(ToString::to_string);
            if attr("span.name").as_deref() != Some(span_name)
                || attr("span.kind").as_deref() != Some("SPAN_KIND_SERVER")
            {
                continue;
            }
            let Some(value) = point.value.as_f64() else {
                continue;
            };
            let series = format!("{:?}", point.attributes);
            let newest = latest.entry(series).or_insert((0, value));
            if point.time_unix_nano >= newest.0 {
                *newest = (point.time_unix_nano, value);
            }
        }
    }
    (!latest.is_empty()).then(|| latest.values().map(|(_, v)| v).sum())
}

/// Everything `check 6` observed.
#[derive(Clone, Debug, PartialEq)]
pub struct Observed {
    /// The config files the collector ran, as given to it (for messages).
    pub config: String,
    pub settings: Settings,
    /// Whether the collector started on them; `Err` holds its own words.
    pub collector: Result<(), String>,
    /// What slow requests took at least.
    pub slow_ms: u64,
    /// The requests sent, and what each got back.
    pub requests: Vec<(Request, Result<u16, String>)>,
    /// Tempo's and Jaeger's stand-ins.
    pub backends: Vec<Backend>,
    /// Loki's stand-in.
    pub logs: Vec<LogFact>,
    /// The frontend's `GET /` SERVER spans in the span metrics at Prometheus' stand-in.
    pub page_calls: Option<f64>,
    /// The collector's own metrics, read just before it stopped.
    pub own: Vec<Sample>,
}

impl Observed {
    /// A run that could not start the collector, for `why`.
    pub fn without_collector(config: String, why: String) -> Observed {
        Observed {
            config,
            settings: Settings::unreadable(&why),
            collector: Err(why),
            slow_ms: Settings::CHAPTER_SLOW_MS,
            requests: Vec::new(),
            backends: Vec::new(),
            logs: Vec::new(),
            page_calls: None,
            own: Vec::new(),
        }
    }

    pub fn sent(&self, kind: Kind) -> usize {
        self.requests
            .iter()
            .filter(|(r, _)| r.kind() == kind)
            .count()
    }

    pub fn pages(&self) -> usize {
        self.requests.iter().filter(|(r, _)| r.is_page()).count()
    }

    /// The sum of the collector's own metric `name` over the samples whose labels include
    /// every pair of `labels`. A counter is `name` in the collector's own text format and
    /// `name_total` in OpenMetrics (what Prometheus stores): either counts.
    pub fn own_total(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let matching: Vec<f64> = self
            .own
            .iter()
            .filter(|s| s.name.strip_suffix("_total").unwrap_or(&s.name) == name)
            .filter(|s| labels.iter().all(|(k, v)| s.label(k) == Some(v)))
            .map(|s| s.value)
            .collect();
        (!matching.is_empty()).then(|| matching.iter().sum())
    }
}
