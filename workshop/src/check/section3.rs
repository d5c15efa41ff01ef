//! Section 3 · traces in iss-distance: `calculating-iss-distance` with a child
//! `getting-iss-coordinates`, the HTTP attributes of the ISS API call, error statuses, and
//! log records that point at their span.

use std::collections::BTreeMap;

use otlp_receiver::{AttrValue, ReceivedSpan, SpanKind, StatusCode};

use super::evidence::hint;
use super::evidence::{
    CALCULATING, CALCULATING_SPAN, Evidence, GETTING_SPAN, ISS_FAILED, REJECTED, STATUS,
    is_stub_url, ok_unless, paired, short_trace, status_code, text,
};
use super::report::{Check, counted, list};
use super::scenario::{IssAnswer, by_status};
use super::span_status;
use crate::harness;

pub const TITLE: &str = "Section 3 · traces";
/// The tracer every span comes from: named after the instrumentation that makes the spans,
/// the `tracing` bridge, not after a service (a test reads it from the section's patch).
pub const TRACER: &str = "tracing-opentelemetry";

/// A `getting-iss-coordinates` span with what the check found about its HTTP call.
struct Getting<'a> {
    span: &'a ReceivedSpan,
    /// Where the HTTP attributes are: the span itself or its CLIENT child.
    http: &'a ReceivedSpan,
    /// What the ISS API answered this call, if the spans and the calls pair up.
    answer: Option<IssAnswer>,
}

pub fn check(evidence: &Evidence) -> Vec<Check> {
    let scenario = &evidence.scenario;
    let calculating: Vec<&ReceivedSpan> = evidence
        .spans_named("iss-distance", CALCULATING_SPAN)
        .collect();
    let mut getting: Vec<&ReceivedSpan> =
        evidence.spans_named("iss-distance", GETTING_SPAN).collect();
    getting.sort_by_key(|s| s.span.start_time_unix_nano);
    let answers = scenario.iss_answers();
    let calls = getting_calls(evidence, &getting, &answers);
    let failed_answers: Vec<String> = answers
        .iter()
        .filter(|a| **a != IssAnswer::Position)
        .map(ToString::to_string)
        .collect();
    let requests = scenario.requests_to("iss-distance");
    vec![
        Check::new(
            format!(
                "spans come from the tracer `{TRACER}`, named after the instrumentation (the resource names the service)"
            ),
            hint::BRIDGE,
            tracer_scopes(evidence),
        ),
        Check::new(
            format!("iss-distance records a `{CALCULATING_SPAN}` span per request ({requests})"),
            hint::HANDLER,
            count(calculating.len(), requests),
        ),
        Check::new(
            format!(
                "a child `{GETTING_SPAN}` per request that passed validation ({})",
                answers.len()
            ),
            hint::POSITION,
            count(getting.len(), answers.len()).and_then(|()| children(&getting, &calculating)),
        ),
        Check::new(
            format!(
                "the ISS API call has http.request.method = GET, url.full = {}, http.response.status_code",
                evidence.stub_url
            ),
            hint::POSITION,
            http_attributes(evidence, &calls),
        ),
        Check::new(
            format!("`{GETTING_SPAN}` records iss.latitude and iss.longitude (doubles) on success"),
            hint::POSITION,
            position(&calls),
        ),
        Check::new(
            format!(
                "the ISS API's failed answers ({}) set status ERROR on `{GETTING_SPAN}` and `{CALCULATING_SPAN}`",
                list(&failed_answers)
            ),
            hint::POSITION,
            failure_status(evidence, &calls),
        ),
        Check::new(
            format!("the rejected request sets status ERROR on `{CALCULATING_SPAN}`"),
            hint::HANDLER,
            rejected_status(evidence, &calculating),
        ),
        Check::new(
            "successful requests' spans have status OK or unset",
            hint::HANDLER,
            success_status(evidence, &calls),
        ),
        Check::new(
            "every SERVER and CLIENT span's status follows the semantic conventions (ERROR for a server's 5xx but not its 4xx, and for every failed call of a client; error.type exactly when ERROR)",
            hint::SPANS,
            span_status::check(evidence),
        ),
        Check::new(
            "log records written in a request carry the trace_id and span_id of one of its spans",
            hint::BRIDGE,
            log_context(evidence),
        ),
    ]
}

/// Every span's instrumentation scope is [`TRACER`]; the services whose spans' is not, once
/// each.
fn tracer_scopes(evidence: &Evidence) -> Result<(), String> {
    if evidence.spans.is_empty() {
        return Err("no spans arrived".to_owned());
    }
    let mut wrong: BTreeMap<String, String> = BTreeMap::new();
    for span in evidence
        .spans
        .iter()
        .filter(|s| s.origin.scope.name != TRACER)
    {
        let service = span.service_name().unwrap_or("an unnamed service");
        wrong
            .entry(service.to_owned())
            .or_insert_with(|| span.origin.scope.name.clone());
    }
    let found: Vec<String> = wrong
        .into_iter()
        .map(|(service, scope)| match scope.as_str() {
            "" => format!("{service}'s from a tracer without a name"),
            _ if scope == service => {
                format!("{service}'s from the tracer {scope:?}, the service's name")
            }
            _ => format!("{service}'s from the tracer {scope:?}"),
        })
        .collect();
    ok_unless(&found, 2)
}

fn count(got: usize, expected: usize) -> Result<(), String> {
    match got == expected {
        true => Ok(()),
        false => Err(format!("got {got}")),
    }
}

/// Every `getting-iss-coordinates` span is the child of a `calculating-iss-distance` one.
fn children(getting: &[&ReceivedSpan], calculating: &[&ReceivedSpan]) -> Result<(), String> {
    let orphans: Vec<String> = getting
        .iter()
        .filter(|g| !calculating.iter().any(|c| g.is_child_of(c)))
        .map(|g| short_trace(g))
        .collect();
    ok_unless(&orphans, 2)
        .map_err(|orphans| format!("not a child of `{CALCULATING_SPAN}`: {orphans}"))
}

/// The `getting-iss-coordinates` spans (in the order they started), with the ISS API's
/// answers to them when there are as many of each.
fn getting_calls<'a>(
    evidence: &'a Evidence,
    getting: &[&'a ReceivedSpan],
    answers: &[IssAnswer],
) -> Vec<Getting<'a>> {
    match paired(getting, answers) {
        Some(pairs) => pairs
            .into_iter()
            .map(|(span, answer)| getting_call(evidence, span, Some(answer)))
            .collect(),
        None => getting
            .iter()
            .map(|span| getting_call(evidence, span, None))
            .collect(),
    }
}

fn getting_call<'a>(
    evidence: &'a Evidence,
    span: &'a ReceivedSpan,
    answer: Option<IssAnswer>,
) -> Getting<'a> {
    let has_http = |s: &ReceivedSpan| s.attribute("http.request.method").is_some();
    let http = match has_http(span) {
        true => span,
        false => evidence
            .children_of(span)
            .find(|c| c.kind() == SpanKind::Client && has_http(c))
            .unwrap_or(span),
    };
    Getting { span, http, answer }
}

fn http_attributes(evidence: &Evidence, calls: &[Getting]) -> Result<(), String> {
    if calls.is_empty() {
        return Err(format!("no `{GETTING_SPAN}` spans"));
    }
    let mut problems = Vec::new();
    let mut statuses: BTreeMap<u16, usize> = BTreeMap::new();
    for call in calls {
        let trace = short_trace(call.span);
        match text(call.http, "http.request.method").as_deref() {
            Some("GET") => {}
            Some(other) => problems.push(format!("{trace}: http.request.method is {other:?}")),
            None => problems.push(format!(
                "{trace}: no http.request.method on the span or a CLIENT child"
            )),
        }
        match text(call.http, "url.full") {
            Some(url) if is_stub_url(&url, &evidence.stub_url) => {}
            Some(url) => problems.push(format!("{trace}: url.full is {url:?}")),
            None => problems.push(format!("{trace}: no url.full")),
        }
        match (status_code(call.http), call.http.attribute(STATUS)) {
            (Some(status), _) => *statuses.entry(status as u16).or_default() += 1,
            (None, Some(other)) => problems.push(format!(
                "{trace}: http.response.status_code is {other:?}, not an integer"
            )),
            (None, None) => problems.push(format!("{trace}: no http.response.status_code")),
        }
    }
    let expected = by_status(&evidence.scenario.iss_calls());
    if problems.is_empty() && statuses != expected {
        problems.push(format!(
            "status codes {}, expected {}",
            counted(&statuses),
            counted(&expected)
        ));
    }
    ok_unless(&problems, 2)
}

/// The problems `judge` finds with each call the ISS API answered as `pick` says, one of
/// the `kind` (successful, failed) ones; or why there are none to judge.
fn each_answered(
    calls: &[Getting],
    pick: fn(IssAnswer) -> bool,
    kind: &str,
    judge: impl Fn(&Getting, IssAnswer) -> Vec<String>,
) -> Result<(), String> {
    if calls.iter().any(|c| c.answer.is_none()) {
        return Err(format!(
            "cannot tell which ISS API answer each of the {} `{GETTING_SPAN}` spans got",
            calls.len()
        ));
    }
    let picked: Vec<(&Getting, IssAnswer)> = calls
        .iter()
        .filter_map(|c| Some((c, c.answer.filter(|a| pick(*a))?)))
        .collect();
    if picked.is_empty() {
        return Err(format!("no {kind} ISS API call to look at"));
    }
    let problems: Vec<String> = picked.into_iter().flat_map(|(c, a)| judge(c, a)).collect();
    ok_unless(&problems, 2)
}

fn successful(answer: IssAnswer) -> bool {
    answer == IssAnswer::Position
}

fn position(calls: &[Getting]) -> Result<(), String> {
    let expected = |text: &str| text.parse::<f64>().expect("the stub's position is numeric");
    let keys = [
        ("iss.latitude", expected(harness::LATITUDE)),
        ("iss.longitude", expected(harness::LONGITUDE)),
    ];
    each_answered(calls, successful, "successful", |call, _| {
        let wrong = keys
            .iter()
            .map(|&(key, value)| match call.span.attribute(key) {
                Some(AttrValue::Double(d)) if (d - value).abs() < 1e-6 => None,
                Some(AttrValue::Double(d)) => {
                    Some(format!("{key} is {d}, the ISS API said {value}"))
                }
                Some(other) => Some(format!("{key} is {other:?}, not a double")),
                None => Some(format!("{}: no {key}", short_trace(call.span))),
            });
        wrong.flatten().collect()
    })
}

fn failure_status(evidence: &Evidence, calls: &[Getting]) -> Result<(), String> {
    each_answered(
        calls,
        |a| !successful(a),
        "failed",
        |call, answer| {
            let parent = evidence.parent_of(call.span);
            let mut problems = Vec::new();
            for span in [Some(call.span), parent].into_iter().flatten() {
                if span.status().code != StatusCode::Error {
                    problems.push(format!(
                        "`{}` of the answer {answer} has status {}",
                        span.name(),
                        span.status().code
                    ));
                }
            }
            if parent.is_none() {
                problems.push(format!("`{GETTING_SPAN}` has no parent"));
            }
            problems
        },
    )
}

fn rejected_status(evidence: &Evidence, calculating: &[&ReceivedSpan]) -> Result<(), String> {
    // The rejected request is the one that never got to ask for coordinates.
    let rejected: Vec<&&ReceivedSpan> = calculating
        .iter()
        .filter(|c| !evidence.children_of(c).any(|s| s.name() == GETTING_SPAN))
        .collect();
    if rejected.len() != evidence.scenario.rejected() {
        return Err(format!(
            "found {} `{CALCULATING_SPAN}` spans without a `{GETTING_SPAN}` child, expected {}",
            rejected.len(),
            evidence.scenario.rejected()
        ));
    }
    let wrong: Vec<String> = rejected
        .iter()
        .filter(|c| c.status().code != StatusCode::Error)
        .map(|c| format!("status {}", c.status().code))
        .collect();
    ok_unless(&wrong, usize::MAX).map_err(|_| format!("got {}", wrong.join(", ")))
}

fn success_status(evidence: &Evidence, calls: &[Getting]) -> Result<(), String> {
    each_answered(calls, successful, "successful", |call, _| {
        [Some(call.span), evidence.parent_of(call.span)]
            .into_iter()
            .flatten()
            .filter(|span| span.status().code == StatusCode::Error)
            .map(|span| format!("{}: `{}` has status ERROR", short_trace(span), span.name()))
            .collect()
    })
}

/// iss-distance's records from inside a request point at a received span of their trace.
fn log_context(evidence: &Evidence) -> Result<(), String> {
    let in_request: Vec<_> = evidence
        .logs_of("iss-distance")
        .filter(|l| {
            let body = l.body_text();
            body.contains(CALCULATING) || body.contains(ISS_FAILED) || body.contains(REJECTED)
        })
        .collect();
    if in_request.is_empty() {
        return Err(format!("no `{CALCULATING}` log records to look at"));
    }
    let (mut without, mut dangling) = (0, 0);
    for log in &in_request {
        match (log.trace_id(), log.span_id()) {
            (Some(trace), Some(span)) => {
                let arrived = evidence
                    .spans
                    .iter()
                    .any(|s| s.trace_id() == trace && s.span_id() == span);
                dangling += usize::from(!arrived);
            }
            _ => without += 1,
        }
    }
    let n = in_request.len();
    let problems = [
        (without > 0).then(|| format!("{without} of {n} have no trace_id/span_id")),
        (dangling > 0).then(|| format!("{dangling} of {n} name a span that never arrived")),
    ];
    ok_unless(&problems.into_iter().flatten().collect::<Vec<_>>(), 2)
}
