//! Fixture data for section 6's checks: what the collector on the chapter's config lets
//! through for the scenario, built request by request. Tests break one thing at a time.

use std::collections::BTreeMap;
use std::time::Duration;

use otlp_receiver::SpanKind;
use platform_live::collector::Sample;

use super::scenario::{self, Kind, Request};
use super::settings::Settings;
use super::{Backend, LogFact, Observed, SpanFact};

/// The chapter's settings.
pub fn settings() -> Settings {
    Settings {
        share_percent: Ok(10.0),
        slow_ms: Ok(500),
        keeps_errors: Ok(()),
        decision_wait: Duration::from_secs(5),
    }
}

/// A trace of two spans, the entry's SERVER span and a CLIENT span under it, lasting
/// `millis`; the CLIENT span is ERROR with `message` when there is one.
pub fn trace(n: usize, request: &Request, millis: u64, message: Option<&str>) -> Vec<SpanFact> {
    let trace_id = format!("{n:032x}");
    let start = 1_700_000_000_000_000_000 + n as u64 * 1_000_000_000;
    let end = start + millis * 1_000_000;
    let server = SpanFact {
        trace_id: trace_id.clone(),
        span_id: format!("{:016x}", 2 * n + 1),
        parent_id: None,
        service: request.entry().to_owned(),
        name: format!("GET {}", request.path().split('?').next().unwrap_or("/")),
        kind: SpanKind::Server,
        error: false,
        start_ns: start,
        end_ns: end,
        route: Some(request.path().split('?').next().unwrap_or("/").to_owned()),
        texts: vec![("status message".into(), String::new())],
    };
    let client = SpanFact {
        span_id: format!("{:016x}", 2 * n + 2),
        parent_id: Some(server.span_id.clone()),
        name: "GET".into(),
        kind: SpanKind::Client,
        error: message.is_some(),
        start_ns: start + 1_000,
        end_ns: end - 1_000,
        route: None,
        texts: vec![(
            "status message".into(),
            message.unwrap_or_default().to_owned(),
        )],
        ..server.clone()
    };
    vec![server, client]
}

/// What the chapter's config lets through: every error and slow trace, every tenth
/// ordinary one, no stylesheet; status messages and log bodies redacted.
pub fn perfect() -> Observed {
    let requests = scenario::requests(800);
    let mut spans = Vec::new();
    let mut sent_spans = 0;
    let mut ordinary = 0;
    for (n, request) in requests.iter().enumerate() {
        sent_spans += 2;
        match request.kind() {
            Kind::Error => spans.extend(trace(
                n,
                request,
                5,
                Some("no place <redacted> in the gazetteer"),
            )),
            Kind::Slow => spans.extend(trace(n, request, 800, None)),
            Kind::Ordinary => {
                if ordinary % 10 == 0 {
                    spans.extend(trace(n, request, 5, None));
                }
                ordinary += 1;
            }
            Kind::Stylesheet => {}
        }
    }
    let logs = vec![LogFact {
        service: "iss-distance".into(),
        texts: vec![(
            "body".into(),
            "rejected request: latitude must be a finite number, <redacted>".into(),
        )],
    }];
    let pages = requests.iter().filter(|r| r.is_page()).count();
    let own = vec![
        sample(
            "otelcol_receiver_accepted_spans",
            &[("receiver", "otlp")],
            sent_spans as f64,
        ),
        sample(
            "otelcol_exporter_sent_spans",
            &[("exporter", "otlp_grpc/tempo")],
            spans.len() as f64,
        ),
        sample(
            "otelcol_exporter_sent_spans",
            &[("exporter", "otlp_grpc/jaeger")],
            spans.len() as f64,
        ),
        // The filter runs in three pipelines: to the span metrics, to Tempo, to Jaeger.
        sample(
            "otelcol_processor_filter_spans_filtered",
            &[("filter", "filter/assets")],
            3.0 * scenario::STYLESHEETS as f64,
        ),
    ];
    Observed {
        config: "platform/otel-collector/config.yaml + overlays".into(),
        settings: settings(),
        collector: Ok(()),
        slow_ms: 500,
        requests: requests
            .into_iter()
            .map(|r| {
                let status = r.expected_status();
                (r, Ok(status))
            })
            .collect(),
        backends: vec![
            Backend {
                name: "Tempo",
                spans: spans.clone(),
            },
            Backend {
                name: "Jaeger",
                spans,
            },
        ],
        logs,
        page_calls: Some(pages as f64),
        own,
    }
}

pub fn sample(name: &str, labels: &[(&str, &str)], value: f64) -> Sample {
    Sample {
        name: name.to_owned(),
        labels: labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<BTreeMap<_, _>>(),
        value,
    }
}
