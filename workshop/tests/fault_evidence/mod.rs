//! What the troubleshooting chapter teaches to look for, as functions of the telemetry
//! that arrived while some traffic ran: the symptom (a service's SERVER spans slower,
//! failing or more numerous), the trace (a span's status, duration or missing parent), the
//! logs of that trace. Each fault's evidence is a list of findings, one line each; empty
//! means the route finds nothing.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, SystemTime};

use faults::Fault;
use otlp_receiver::{Level, ReceivedLog, ReceivedSpan, SpanKind, StatusCode};

/// The telemetry of one window of traffic: spans that started in it, logs written in it,
/// and how `iss.requests` grew over it, by `error.type`.
#[derive(Clone, Debug, Default)]
pub struct Window {
    pub spans: Vec<ReceivedSpan>,
    pub logs: Vec<ReceivedLog>,
    pub iss_requests_added: BTreeMap<String, f64>,
}

impl Window {
    /// What of `spans` and `logs` happened between `from` and `to`.
    pub fn cut(
        spans: &[ReceivedSpan],
        logs: &[ReceivedLog],
        from: SystemTime,
        to: SystemTime,
    ) -> Window {
        let within = |t: SystemTime| t >= from && t <= to;
        Window {
            spans: spans
                .iter()
                .filter(|s| within(s.start_time()))
                .cloned()
                .collect(),
            logs: logs
                .iter()
                .filter(|l| within(l.timestamp()))
                .cloned()
                .collect(),
            iss_requests_added: BTreeMap::new(),
        }
    }

    fn server_spans<'a>(&'a self, service: &'a str) -> impl Iterator<Item = &'a ReceivedSpan> {
        self.spans
            .iter()
            .filter(move |s| s.service_name() == Some(service) && s.kind() == SpanKind::Server)
    }

    /// The CLIENT spans of `caller` whose URL ends with `path` (the gateway calls
    /// geolocator's `/coordinates` and iss-distance's `/distance`).
    fn calls<'a>(
        &'a self,
        caller: &'a str,
        path: &'a str,
    ) -> impl Iterator<Item = &'a ReceivedSpan> {
        self.spans.iter().filter(move |s| {
            s.service_name() == Some(caller)
                && s.kind() == SpanKind::Client
                && text(s, "url.full").is_some_and(|url| url.ends_with(path))
        })
    }

    fn children(&self, parent: &ReceivedSpan) -> Vec<&ReceivedSpan> {
        self.spans
            .iter()
            .filter(|s| s.is_child_of(parent))
            .collect()
    }

    /// Log records of `service` in `trace`, at `level` or above, whose body contains
    /// `text`.
    fn logs_in_trace(
        &self,
        service: &str,
        trace: &str,
        level: Level,
        text: &str,
    ) -> Vec<&ReceivedLog> {
        self.logs
            .iter()
            .filter(|l| l.service_name() == Some(service))
            .filter(|l| l.trace_id().as_deref() == Some(trace))
            .filter(|l| l.level() >= level)
            .filter(|l| l.body_text().contains(text))
            .collect()
    }
}

fn text(span: &ReceivedSpan, key: &str) -> Option<String> {
    span.attribute(key)?.as_str().map(str::to_owned)
}

fn number(span: &ReceivedSpan, key: &str) -> Option<i64> {
    span.attribute(key)?.as_i64()
}

fn millis(d: Duration) -> u128 {
    d.as_millis()
}

/// A span's own time: its duration less that of its children.
fn own_time(window: &Window, span: &ReceivedSpan) -> Duration {
    let children: Duration = window.children(span).iter().map(|c| c.duration()).sum();
    span.duration().saturating_sub(children)
}

/// What the chapter's route finds of `fault` in `window`.
pub fn evidence(fault: Fault, window: &Window) -> Vec<String> {
    match fault {
        Fault::LostContext => lost_context(window),
        Fault::SlowLookups => slow_lookups(window),
        Fault::ConnectionLeak => connection_leak(window),
        Fault::CaptivePortal => captive_portal(window),
        Fault::SignBug => sign_bug(window),
        Fault::MemoryLeak => memory_leak(window),
        Fault::RetryStorm => retry_storm(window),
    }
}

/// A missing parent: iss-distance's SERVER spans start traces of their own, while the
/// gateway's calls to it have no child; and the request's trace has no log from
/// iss-distance, whose logs sit in those other traces.
fn lost_context(window: &Window) -> Vec<String> {
    let roots: Vec<&ReceivedSpan> = window
        .server_spans("iss-distance")
        .filter(|s| s.is_root())
        .collect();
    let childless: Vec<&ReceivedSpan> = window
        .calls("gateway", "/distance")
        .filter(|call| window.children(call).is_empty())
        .collect();
    let front_traces: BTreeSet<String> = window
        .server_spans("frontend")
        .map(ReceivedSpan::trace_id)
        .collect();
    let stray_logs = window
        .logs
        .iter()
        .filter(|l| l.service_name() == Some("iss-distance"))
        .filter(|l| l.body_text() == "calculating the ISS distance")
        .filter(|l| l.trace_id().is_some_and(|t| !front_traces.contains(&t)))
        .count();
    if roots.is_empty() || childless.is_empty() || stray_logs == 0 {
        return Vec::new();
    }
    vec![format!(
        "{} iss-distance SERVER spans without a parent, {} gateway calls to it without a child, \
         {stray_logs} of its logs in traces the frontend never started",
        roots.len(),
        childless.len()
    )]
}

/// A slow trace whose time is geolocator's own, and geolocator's warning in that trace.
fn slow_lookups(window: &Window) -> Vec<String> {
    window
        .server_spans("geolocator")
        .filter(|s| own_time(window, s) >= Duration::from_secs(1))
        .filter_map(|s| {
            let warnings =
                window.logs_in_trace("geolocator", &s.trace_id(), Level::Warn, "slow lookup");
            let warning = warnings.first()?;
            Some(format!(
                "geolocator `{}` took {} ms of its own in trace {}: {} {:?}",
                s.name(),
                millis(own_time(window, s)),
                s.trace_id(),
                warning.level(),
                warning.body_text()
            ))
        })
        .collect()
}

/// The gateway's calls to iss-distance fail as timeouts without a child: they never
/// reached iss-distance, which served fewer requests than the gateway tried.
fn connection_leak(window: &Window) -> Vec<String> {
    let calls: Vec<&ReceivedSpan> = window.calls("gateway", "/distance").collect();
    let served = window.server_spans("iss-distance").count();
    calls
        .iter()
        .filter(|call| call.status().code == StatusCode::Error)
        .filter(|call| text(call, "error.type").as_deref() == Some("timeout"))
        .filter(|call| window.children(call).is_empty())
        .filter(|_| served < calls.len())
        .map(|call| {
            format!(
                "gateway call to iss-distance in trace {}: {} after {} ms, no child ({served} of {} calls served)",
                call.trace_id(),
                call.status().message,
                millis(call.duration()),
                calls.len()
            )
        })
        .collect()
}

/// iss-distance's calls to the ISS API fail with a 200 that is not JSON, its log says
/// so in the same trace, and `iss.requests` counts them.
fn captive_portal(window: &Window) -> Vec<String> {
    let counted = window
        .iss_requests_added
        .get("invalid_response")
        .copied()
        .unwrap_or(0.0);
    if counted < 1.0 {
        return Vec::new();
    }
    window
        .spans
        .iter()
        .filter(|s| s.service_name() == Some("iss-distance") && s.kind() == SpanKind::Client)
        .filter(|s| text(s, "error.type").as_deref() == Some("invalid_response"))
        .filter(|s| number(s, "http.response.status_code") == Some(200))
        .filter_map(|s| {
            let logs = window.logs_in_trace("iss-distance", &s.trace_id(), Level::Warn, "invalid response");
            let log = logs.first()?;
            Some(format!(
                "iss-distance call to the ISS API in trace {}: 200, {:?}; {} {:?}; iss.requests +{counted} invalid_response",
                s.trace_id(),
                s.status().message,
                log.level(),
                log.body_text()
            ))
        })
        .collect()
}

/// geolocator's SERVER spans fail with a 500; the gateway's call that got it says why, a
/// negative latitude; and geolocator's error log says so in the same trace.
fn sign_bug(window: &Window) -> Vec<String> {
    window
        .server_spans("geolocator")
        .filter(|s| s.status().code == StatusCode::Error)
        .filter(|s| number(s, "http.response.status_code") == Some(500))
        .filter_map(|s| {
            let call = window
                .calls("gateway", "/coordinates")
                .find(|call| s.is_child_of(call))?;
            if !call.status().message.contains("latitude -") {
                return None;
            }
            let logs =
                window.logs_in_trace("geolocator", &s.trace_id(), Level::Error, "latitude -");
            let log = logs.first()?;
            Some(format!(
                "geolocator `{}` in trace {}: 500; the gateway's call: {:?}; {} {:?}",
                s.name(),
                s.trace_id(),
                call.status().message,
                log.level(),
                log.body_text()
            ))
        })
        .collect()
}

/// The gateway's own time grows from request to request: by least squares, at least
/// 2 ms a request, and at least 40 ms from the first third to the last.
fn memory_leak(window: &Window) -> Vec<String> {
    let mut spans: Vec<&ReceivedSpan> = window.server_spans("gateway").collect();
    spans.sort_by_key(|s| s.start_time());
    let own: Vec<f64> = spans
        .iter()
        .map(|s| own_time(window, s).as_secs_f64() * 1000.0)
        .collect();
    if own.len() < 9 {
        return Vec::new();
    }
    let n = own.len() as f64;
    let mean_x = (n - 1.0) / 2.0;
    let mean_y = own.iter().sum::<f64>() / n;
    let (mut sxy, mut sxx) = (0.0, 0.0);
    for (i, y) in own.iter().enumerate() {
        let dx = i as f64 - mean_x;
        sxy += dx * (y - mean_y);
        sxx += dx * dx;
    }
    let slope = sxy / sxx;
    let third = own.len() / 3;
    let median = |values: &[f64]| {
        let mut v = values.to_vec();
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let first = median(&own[..third]);
    let last = median(&own[own.len() - third..]);
    if slope < 2.0 || last - first < 40.0 {
        return Vec::new();
    }
    vec![format!(
        "the gateway's own time grows by {slope:.1} ms a request: {first:.0} ms in the first third of {} requests, {last:.0} ms in the last",
        own.len()
    )]
}

/// One request, several calls to geolocator: each failed, and the gateway's warning says
/// it tries again.
fn retry_storm(window: &Window) -> Vec<String> {
    let mut by_trace: BTreeMap<String, Vec<&ReceivedSpan>> = BTreeMap::new();
    for call in window.calls("gateway", "/coordinates") {
        by_trace.entry(call.trace_id()).or_default().push(call);
    }
    by_trace
        .into_iter()
        .filter(|(_, calls)| calls.len() > 1)
        .filter_map(|(trace, calls)| {
            let warnings =
                window.logs_in_trace("gateway", &trace, Level::Warn, "trying again at once");
            let last = warnings.last()?;
            let statuses: Vec<String> = calls
                .iter()
                .map(|c| {
                    number(c, "http.response.status_code").map_or("-".into(), |s| s.to_string())
                })
                .collect();
            Some(format!(
                "trace {trace}: {} calls to geolocator ({}); {} warnings, the last {:?}",
                calls.len(),
                statuses.join(", "),
                warnings.len(),
                last.body_text()
            ))
        })
        .collect()
}
