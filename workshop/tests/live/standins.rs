//! What reached the Tempo and Loki stand-ins, in the shapes the queries are asked of.

use std::collections::{BTreeMap, BTreeSet};

use otlp_receiver::{AttrValue, ReceivedLog, ReceivedSpan, SpanKind, StatusCode};
use platform_harness::logql::{self, LogLine};
use platform_harness::traceql::{SpanView, Value};

fn value(v: &AttrValue) -> Option<Value> {
    match v {
        AttrValue::String(s) => Some(Value::Str(s.clone())),
        AttrValue::Int(i) => Some(Value::Num(*i as f64)),
        AttrValue::Double(d) => Some(Value::Num(*d)),
        AttrValue::Bool(b) => Some(Value::Bool(*b)),
        _ => None,
    }
}

fn text(v: &AttrValue) -> String {
    match v {
        AttrValue::String(s) => s.clone(),
        AttrValue::Int(i) => i.to_string(),
        AttrValue::Double(d) => d.to_string(),
        AttrValue::Bool(b) => b.to_string(),
        other => format!("{other:?}"),
    }
}

/// A span as Tempo's TraceQL sees it.
pub fn span_view(span: &ReceivedSpan) -> SpanView {
    let kind = match span.kind() {
        SpanKind::Server => "server",
        SpanKind::Client => "client",
        SpanKind::Internal => "internal",
        SpanKind::Producer => "producer",
        SpanKind::Consumer => "consumer",
        SpanKind::Unspecified => "unspecified",
    };
    let status = match span.status().code {
        StatusCode::Error => "error",
        StatusCode::Ok => "ok",
        StatusCode::Unset => "unset",
    };
    SpanView {
        name: span.name().to_owned(),
        kind: kind.into(),
        status: status.into(),
        duration: span.duration().as_secs_f64(),
        resource: span
            .origin
            .resource
            .iter()
            .filter_map(|(k, v)| Some((k.clone(), value(v)?)))
            .collect(),
        attributes: span
            .attributes()
            .iter()
            .filter_map(|(k, v)| Some((k.clone(), value(v)?)))
            .collect(),
    }
}

/// A log record as Loki stores it from OTLP.
pub fn log_line(log: &ReceivedLog) -> LogLine {
    let strings = |attrs: &BTreeMap<String, AttrValue>| -> BTreeMap<String, String> {
        attrs.iter().map(|(k, v)| (k.clone(), text(v))).collect()
    };
    logql::from_otlp(
        &strings(&log.origin.resource),
        &strings(&log.attributes()),
        &log.body_text(),
        log.severity_text(),
        log.trace_id().as_deref(),
        log.span_id().as_deref(),
    )
}

/// The edges Tempo's service-graphs processor would draw from these spans: a CLIENT span
/// and the SERVER span it called in another service, or `user` for a SERVER span without
/// a parent (a request from outside).
pub fn service_graph_edges(spans: &[ReceivedSpan]) -> BTreeSet<(String, String)> {
    let by_id: BTreeMap<(String, String), &ReceivedSpan> = spans
        .iter()
        .map(|s| ((s.trace_id(), s.span_id()), s))
        .collect();
    let mut edges = BTreeSet::new();
    for server in spans.iter().filter(|s| s.kind() == SpanKind::Server) {
        let Some(service) = server.service_name() else {
            continue;
        };
        match server.parent_span_id() {
            None => {
                edges.insert(("user".to_owned(), service.to_owned()));
            }
            Some(parent) => {
                if let Some(client) = by_id.get(&(server.trace_id(), parent))
                    && client.kind() == SpanKind::Client
                    && let Some(caller) = client.service_name()
                    && caller != service
                {
                    edges.insert((caller.to_owned(), service.to_owned()));
                }
            }
        }
    }
    edges
}

/// Calls and failed calls on one edge of the service graph.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EdgeCount {
    pub calls: u64,
    pub failed: u64,
}

/// The service graph the collector's `service_graph` connector (v0.159.0) makes of these
/// spans, counted as it counts: a CLIENT span and the SERVER span whose parent it is, in
/// another service; a CLIENT span that nothing answered with a span, to the node its
/// `peer.service`, else `server.address`, names; a SERVER span without a parent, from
/// `user`. An edge failed when either half has status ERROR.
pub fn service_graph_counts(spans: &[ReceivedSpan]) -> BTreeMap<(String, String), EdgeCount> {
    let servers_by_parent: BTreeMap<(String, String), &ReceivedSpan> = spans
        .iter()
        .filter(|s| s.kind() == SpanKind::Server)
        .filter_map(|s| Some(((s.trace_id(), s.parent_span_id()?), s)))
        .collect();
    let error = |s: &ReceivedSpan| s.status().code == StatusCode::Error;
    let mut counts: BTreeMap<(String, String), EdgeCount> = BTreeMap::new();
    let mut count = |client: &str, server: &str, failed: bool| {
        let edge = counts
            .entry((client.to_owned(), server.to_owned()))
            .or_default();
        edge.calls += 1;
        edge.failed += u64::from(failed);
    };
    for span in spans {
        let Some(service) = span.service_name() else {
            continue;
        };
        match span.kind() {
            SpanKind::Client => match servers_by_parent.get(&(span.trace_id(), span.span_id())) {
                Some(server) => count(
                    service,
                    server.service_name().unwrap_or_default(),
                    error(span) || error(server),
                ),
                None => {
                    let peer = ["peer.service", "server.address"]
                        .iter()
                        .find_map(|key| span.attribute(key).map(|v| text(&v)))
                        .unwrap_or_else(|| "unknown".to_owned());
                    count(service, &peer, error(span));
                }
            },
            SpanKind::Server if span.parent_span_id().is_none() => {
                count("user", service, error(span));
            }
            _ => {}
        }
    }
    counts
}
