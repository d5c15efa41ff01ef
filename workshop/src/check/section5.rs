//! Section 5 · HTTP metrics: `http.server.request.duration` in every service and
//! `http.client.request.duration` for every call they make, as the semantic conventions
//! define them: histograms in seconds with the conventions' buckets and attributes, from
//! service-kit's meter, counting exactly the scenario's requests and calls.

use std::collections::{BTreeMap, BTreeSet};

use otlp_receiver::{AttrValue, Attributes, DataPoint, PointValue, ReceivedMetric, SpanKind};

use super::evidence::hint;
use super::evidence::{ERROR_TYPE, Evidence, SERVICES, STATUS, ok_unless, unique};
use super::report::{Check, counted, first};
use super::scenario::{CallOutcome, REQUEST_TIMEOUT, ROUTES};
use super::section1::{cumulative, describe, from_meter};

pub const TITLE: &str = "Section 5 · HTTP metrics";
pub const SERVER_DURATION: &str = "http.server.request.duration";
pub const CLIENT_DURATION: &str = "http.client.request.duration";
/// The meter service-kit records them with.
pub const METER: &str = "service-kit";
/// The semantic conventions' bucket boundaries for HTTP durations, in seconds.
pub const BOUNDARIES: [f64; 14] = [
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
];
/// The SDK's default boundaries, made for milliseconds: the likeliest wrong ones.
const SDK_DEFAULT_BOUNDARIES: [f64; 15] = [
    0.0, 5.0, 10.0, 25.0, 50.0, 75.0, 100.0, 250.0, 500.0, 750.0, 1000.0, 2500.0, 5000.0, 7500.0,
    10000.0,
];

const METHOD: &str = "http.request.method";
const ROUTE: &str = "http.route";
const SCHEME: &str = "url.scheme";
const ADDRESS: &str = "server.address";
const PORT: &str = "server.port";
/// Attributes that hold what people typed or a value per request: never on a metric.
const UNBOUNDED: [&str; 4] = ["url.full", "url.path", "url.query", "client.address"];

pub fn check(evidence: &Evidence) -> Vec<Check> {
    let scenario = &evidence.scenario;
    let callers: Vec<&str> = SERVICES
        .into_iter()
        .filter(|s| !scenario.calls_to_upstreams(s).is_empty())
        .collect();
    let histograms = histograms(evidence, &callers);
    let mut checks = vec![(
        format!(
            "{SERVER_DURATION} and {CLIENT_DURATION} are histograms in seconds (unit `s`, cumulative) from the meter `{METER}`, with the conventions' buckets 0.005 … 10"
        ),
        instruments(&histograms),
    )];
    for (service, route) in ROUTES {
        checks.push((
            format!(
                "{service}: {SERVER_DURATION} counts its {} requests by status ({}), with {METHOD}, {ROUTE} = {route}, {SCHEME} = http and {ERROR_TYPE} on a 5xx",
                scenario.requests_to(service),
                counted(&scenario.statuses_at(service))
            ),
            served(evidence, service, route),
        ));
    }
    for caller in &callers {
        let calls = scenario.calls_to_upstreams(caller);
        let mut upstreams: Vec<&str> = calls.keys().map(|(upstream, _)| *upstream).collect();
        upstreams.dedup();
        checks.push((
            format!(
                "{caller}: {CLIENT_DURATION} counts its {} calls to {} by {ADDRESS}, {PORT}, {STATUS} and {ERROR_TYPE}, with {METHOD} and {SCHEME}",
                calls.values().sum::<usize>(),
                upstreams.join(" and ")
            ),
            called(evidence, caller),
        ));
    }
    checks.push((
        "the durations are in seconds: each service's histograms add up to what its SERVER and CLIENT spans lasted".to_owned(),
        in_seconds(evidence, &histograms),
    ));
    // All of it is service-kit's middleware.
    let checks = checks.into_iter();
    checks
        .map(|(what, result)| Check::new(what, hint::HTTP_METRICS, result))
        .collect()
}

/// One expected histogram that arrived: whose, which, and the spans it measures.
struct Histogram<'a> {
    service: &'a str,
    name: &'static str,
    kind: SpanKind,
    metric: &'a ReceivedMetric,
}

/// The expected histograms that arrived: every service's of its requests, and every
/// caller's of its calls.
fn histograms<'a>(evidence: &'a Evidence, callers: &[&'a str]) -> Vec<Histogram<'a>> {
    let servers = SERVICES.map(|s| (s, SERVER_DURATION, SpanKind::Server));
    let clients = callers
        .iter()
        .map(|s| (*s, CLIENT_DURATION, SpanKind::Client));
    servers
        .into_iter()
        .chain(clients)
        .filter_map(|(service, name, kind)| {
            let metric = evidence.latest_metric(service, name)?;
            Some(Histogram {
                service,
                name,
                kind,
                metric,
            })
        })
        .collect()
}

/// Each expected metric's shape: kind, temporality, unit, meter and buckets.
fn instruments(histograms: &[Histogram]) -> Result<(), String> {
    if histograms.is_empty() {
        return Err(format!(
            "none arrived: no service exports {SERVER_DURATION} or {CLIENT_DURATION}"
        ));
    }
    let problems: Vec<String> = histograms
        .iter()
        .filter_map(|h| {
            let problem = shape(h.metric).err()?;
            Some(format!("{}'s {}: {problem}", h.service, h.name))
        })
        .collect();
    ok_unless(&problems, 2)
}

fn shape(metric: &ReceivedMetric) -> Result<(), String> {
    cumulative(metric, "histogram")?;
    if metric.unit() != "s" {
        return Err(format!(
            "its unit is {:?}; the conventions' is \"s\" (seconds)",
            metric.unit()
        ));
    }
    from_meter(metric, METER)?;
    let bounds = metric
        .points()
        .into_iter()
        .find_map(|point| match point.value {
            PointValue::Histogram { bounds, .. } if bounds.as_slice() != BOUNDARIES => Some(bounds),
            _ => None,
        });
    match bounds {
        None => Ok(()),
        Some(bounds) if bounds.as_slice() == SDK_DEFAULT_BOUNDARIES => Err("its buckets are the SDK's default ones (0, 5, 10 … 10000), made for milliseconds: every request falls into the first; give it the conventions' (with_boundaries)".to_owned()),
        Some(bounds) => Err(format!("its buckets are {bounds:?}")),
    }
}

/// A histogram point's count and sum (0 for anything else).
fn count_and_sum(point: &DataPoint) -> (u64, f64) {
    match &point.value {
        PointValue::Histogram { count, sum, .. } => (*count, sum.unwrap_or(0.0)),
        other => (other.count().unwrap_or(0), 0.0),
    }
}

fn text(attributes: &Attributes, key: &str) -> Option<String> {
    attributes.get(key).map(ToString::to_string)
}

/// Problems with the attributes every point of both metrics shares: the method, the
/// scheme, the status code as an integer, and nothing unbounded.
fn common_attributes(attributes: &Attributes, problems: &mut Vec<String>) {
    for (key, expected) in [(METHOD, "GET"), (SCHEME, "http")] {
        if text(attributes, key).as_deref() != Some(expected) {
            problems.push(format!("{key} is {:?}", text(attributes, key)));
        }
    }
    if let Some(AttrValue::String(status)) = attributes.get(STATUS) {
        problems.push(format!(
            "{STATUS} is the string \"{status}\"; record it as an integer"
        ));
    }
    for key in UNBOUNDED
        .into_iter()
        .filter(|key| attributes.contains_key(*key))
    {
        problems.push(format!(
            "a point has {key}, a value per request: never on a metric (one series each)"
        ));
    }
}

/// A point's integer status code; else what is wrong, added to `problems`.
fn status_of(attributes: &Attributes, problems: &mut Vec<String>) -> Option<u16> {
    let status = attributes.get(STATUS).and_then(AttrValue::as_i64);
    let status = status.and_then(|s| u16::try_from(s).ok());
    if status.is_none() {
        problems.push(format!("a point has no integer {STATUS}"));
    }
    status
}

/// How many requests or calls the points of `service`'s `name` count, by what `read`
/// makes of each point's attributes (adding what is wrong with them to the problems, with
/// those every point may have); else the problems.
fn tally<K: Ord>(
    evidence: &Evidence,
    service: &str,
    name: &str,
    read: impl Fn(&Attributes, &mut Vec<String>) -> Option<K>,
) -> Result<BTreeMap<K, usize>, String> {
    let metric = evidence
        .latest_metric(service, name)
        .ok_or_else(|| nothing(evidence, service))?;
    let mut problems = Vec::new();
    let mut counts = BTreeMap::new();
    for point in metric.points() {
        common_attributes(&point.attributes, &mut problems);
        if let Some(key) = read(&point.attributes, &mut problems) {
            *counts.entry(key).or_insert(0) += count_and_sum(&point).0 as usize;
        }
    }
    ok_unless(&unique(problems), 2)?;
    Ok(counts)
}

/// `service`'s requests in `http.server.request.duration`, by status, against the scenario.
fn served(evidence: &Evidence, service: &str, route: &str) -> Result<(), String> {
    let statuses = tally(
        evidence,
        service,
        SERVER_DURATION,
        |attributes, problems| {
            let routed = text(attributes, ROUTE);
            if routed.as_deref() != Some(route) {
                problems.push(format!("{ROUTE} is {routed:?}"));
            }
            let status = status_of(attributes, problems)?;
            problems.extend(server_error_type(status, text(attributes, ERROR_TYPE)));
            Some(status)
        },
    )?;
    let expected = evidence.scenario.statuses_at(service);
    match statuses == expected {
        true => Ok(()),
        false => Err(format!(
            "it counts {}, expected {}",
            counted(&statuses),
            counted(&expected)
        )),
    }
}

/// What is wrong with a server's `error.type` for `status`: the status code on a 5xx, else
/// none.
fn server_error_type(status: u16, error_type: Option<String>) -> Option<String> {
    match (status >= 500, error_type) {
        (true, None) => Some(format!(
            "the point with {STATUS}={status} has no {ERROR_TYPE}; a server's 5xx is its own error: add {ERROR_TYPE}=\"{status}\""
        )),
        (true, Some(found)) if found != status.to_string() => Some(format!(
            "the point with {STATUS}={status} has {ERROR_TYPE}={found:?}; the conventions use the status code, \"{status}\""
        )),
        (false, Some(found)) => Some(format!(
            "the point with {STATUS}={status} has {ERROR_TYPE}={found:?}; a server's {status} is no error of its own"
        )),
        _ => None,
    }
}

/// Why a service's metric is missing: what it does export, if anything.
fn nothing(evidence: &Evidence, service: &str) -> String {
    let names: BTreeSet<&str> = evidence
        .metrics
        .iter()
        .filter(|m| m.service_name() == Some(service))
        .map(ReceivedMetric::name)
        .collect();
    match names.is_empty() {
        true => "got nothing".to_owned(),
        false => format!(
            "got nothing; {service} exports {}",
            Vec::from_iter(names).join(", ")
        ),
    }
}

/// Calls as the client's metric counts them: by address, port and how they ended.
type Calls = BTreeMap<(String, i64, CallOutcome), usize>;

/// `caller`'s calls in `http.client.request.duration`, by upstream and outcome, against
/// the scenario.
fn called(evidence: &Evidence, caller: &str) -> Result<(), String> {
    let calls = tally(evidence, caller, CLIENT_DURATION, |attributes, problems| {
        let address = text(attributes, ADDRESS).filter(|a| !a.is_empty());
        let port = attributes.get(PORT).and_then(AttrValue::as_i64);
        let (Some(address), Some(port)) = (address, port) else {
            problems.push(format!(
                "a point lacks {ADDRESS} or an integer {PORT}: {}",
                describe(attributes)
            ));
            return None;
        };
        // Every call of the scenario gets an answer, so each has a status code.
        let status = status_of(attributes, problems)?;
        let error_type = text(attributes, ERROR_TYPE);
        Some((address, port, CallOutcome { status, error_type }))
    })?;
    let expected = expected_calls(evidence, caller)?;
    if calls == expected {
        return Ok(());
    }
    let differ = |these: &Calls, those: &Calls| {
        let differ: Vec<String> = these
            .iter()
            .filter(|(call, n)| those.get(*call) != Some(n))
            .map(|((address, port, outcome), n)| format!("{address}:{port} {outcome} ×{n}"))
            .collect();
        first(&differ, 2)
    };
    let unexpected = match differ(&calls, &expected) {
        none if none.is_empty() => "none of those".to_owned(),
        some => some,
    };
    Err(format!(
        "expected {}, got {unexpected}",
        differ(&expected, &calls)
    ))
}

/// The scenario's calls from `caller`, with each upstream's address and port from the URL
/// the services were given.
fn expected_calls(evidence: &Evidence, caller: &str) -> Result<Calls, String> {
    let calls = evidence.scenario.calls_to_upstreams(caller).into_iter();
    calls
        .map(|((upstream, outcome), n)| {
            let url = evidence
                .upstream_urls
                .get(upstream)
                .and_then(|u| reqwest::Url::parse(u).ok())
                .ok_or_else(|| format!("the check knows no URL of {upstream}"))?;
            let address = url.host_str().unwrap_or_default().to_owned();
            let port = i64::from(url.port_or_known_default().unwrap_or_default());
            Ok(((address, port, outcome), n))
        })
        .collect()
}

/// The histograms' sums against the spans around the same requests and calls: equal to a
/// millisecond a request, they are seconds; a thousand times more, milliseconds.
fn in_seconds(evidence: &Evidence, histograms: &[Histogram]) -> Result<(), String> {
    let judged: Vec<Result<(), String>> = histograms
        .iter()
        .filter_map(|histogram| seconds(evidence, histogram))
        .collect();
    if judged.is_empty() {
        return Err("no histogram to compare with the spans".to_owned());
    }
    ok_unless(
        &judged
            .into_iter()
            .filter_map(Result::err)
            .collect::<Vec<_>>(),
        2,
    )
}

/// Whether one histogram's sum is in seconds; `None` if there is nothing to compare it
/// with.
fn seconds(evidence: &Evidence, histogram: &Histogram) -> Option<Result<(), String>> {
    let (service, name) = (histogram.service, histogram.name);
    let (count, sum) = histogram
        .metric
        .points()
        .iter()
        .map(count_and_sum)
        .fold((0, 0.0), |(c, s), (count, sum)| (c + count, s + sum));
    if sum > count as f64 * REQUEST_TIMEOUT.as_secs_f64() {
        return Some(Err(format!(
            "{service}'s {name} adds up to {sum} for {count} requests, more than {} s each, which none took",
            REQUEST_TIMEOUT.as_secs()
        )));
    }
    let (kind, spans) = (
        histogram.kind,
        evidence.spans_in_order(service, histogram.kind),
    );
    if spans.is_empty() {
        return None;
    }
    let lasted: f64 = spans.iter().map(|s| s.duration().as_secs_f64()).sum();
    // A millisecond of slack a request: the span and the measurement start a few
    // instructions apart.
    let slack = 0.001 * count.max(spans.len() as u64) as f64;
    if sum < lasted / 2.0 - slack || sum > lasted * 2.0 + slack {
        let hint = if sum > lasted * 100.0 {
            ": record elapsed.as_secs_f64(), not milliseconds"
        } else if sum == 0.0 {
            ": record elapsed.as_secs_f64(), which keeps the fraction"
        } else {
            ""
        };
        return Some(Err(format!(
            "{service}'s {name} adds up to {sum:.4} s, its {kind} spans to {lasted:.4} s{hint}"
        )));
    }
    Some(Ok(()))
}
