//! Section 1 · metrics: iss-distance's two counters, and from here on the resource of
//! everything that arrives.

use std::collections::{BTreeMap, BTreeSet};

use otlp_receiver::{
    AttrValue, Attributes, DataPoint, MetricKind, Origin, ReceivedMetric, Temporality,
};

use super::evidence::hint;
use super::evidence::{
    ERROR_TYPE, Evidence, ResourceProblems, STATUS, none_of, ok_unless, protocol_name,
};
use super::report::Check;
use super::scenario::CallOutcome;

pub const TITLE: &str = "Section 1 · metrics";
pub const METER: &str = "iss-distance";
/// The counters' unit: requests, in the notation of the semantic conventions for counts
/// (chapter 03 says so; a test reads it from the section's patch).
pub const UNIT: &str = "{request}";

pub fn check(evidence: &Evidence) -> Vec<Check> {
    let incoming = evidence.latest_metric("iss-distance", "incoming.requests");
    let iss = evidence.latest_metric("iss-distance", "iss.requests");
    let expected = evidence.scenario.requests_to("iss-distance");
    let mut checks = vec![resource_of_everything(evidence), protocol(evidence)];
    checks.extend(counter("incoming.requests", incoming));
    checks.push(Check::new(
        format!("iss-distance exports incoming.requests = {expected}"),
        hint::COUNTERS,
        value_without_attributes(incoming, expected),
    ));
    checks.extend(counter("iss.requests", iss));
    checks.push(Check::new(
        format!("incoming.requests and iss.requests have the unit `{UNIT}`"),
        hint::COUNTERS,
        units([("incoming.requests", incoming), ("iss.requests", iss)]),
    ));
    let calls = evidence.scenario.iss_calls().into_iter();
    checks.extend(calls.map(|(call, count)| {
        Check::new(
            format!("iss.requests{{{}}} = {count}", point_name(&call)),
            hint::COUNTERS,
            value_for_call(iss, &call, count),
        )
    }));
    checks
}

/// iss-distance exports the counter `name` (`metric`), from its meter.
fn counter(name: &str, metric: Option<&ReceivedMetric>) -> [Check; 2] {
    [
        Check::new(
            format!("iss-distance exports the counter {name} (meter `{METER}`)"),
            hint::COUNTERS,
            got(metric).and_then(|metric| from_meter(metric, METER)),
        ),
        Check::new(
            format!("{name} is a monotonic counter with cumulative temporality"),
            hint::METER_PROVIDER,
            got(metric).and_then(|metric| cumulative(metric, "counter")),
        ),
    ]
}

/// Every span, log record and metric that arrived carries the resource.
fn resource_of_everything(evidence: &Evidence) -> Check {
    // Problems by the service that sent them, once each.
    let mut problems: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (origin, what) in evidence.origins() {
        for found in ResourceProblems::of(&origin.resource, None, &evidence.run_id).of_exported() {
            let seen = problems
                .entry(format!("{}'s {what}s", sender(origin)))
                .or_default();
            if !seen.contains(&found) {
                seen.push(found);
            }
        }
    }
    let lines: Vec<String> = problems
        .into_iter()
        .map(|(who, p)| format!("{who}: {}", p.join(", ")))
        .collect();
    Check::new(
        "everything exported carries the resource (service.name, deployment.environment.name = dev, workshop.check.run)",
        hint::METER_PROVIDER,
        arrived(evidence).and_then(|()| ok_unless(&lines, 3)),
    )
}

/// `Err` if nothing arrived at all.
fn arrived(evidence: &Evidence) -> Result<(), String> {
    match evidence.origins().next() {
        None => Err("nothing arrived at the OTLP receiver".to_owned()),
        Some(_) => Ok(()),
    }
}

fn sender(origin: &Origin) -> &str {
    origin.service_name().unwrap_or("an unnamed service")
}

/// Everything arrived over the protocol `OTEL_EXPORTER_OTLP_PROTOCOL` names.
fn protocol(evidence: &Evidence) -> Check {
    let wrong: BTreeSet<String> = evidence
        .origins()
        .filter(|(o, _)| o.protocol != evidence.protocol)
        .map(|(o, _)| format!("{} over {}", sender(o), o.protocol))
        .collect();
    Check::new(
        format!(
            "telemetry arrives over OTLP {} (OTEL_EXPORTER_OTLP_PROTOCOL is honoured)",
            protocol_name(evidence.protocol)
        ),
        hint::METER_PROVIDER,
        arrived(evidence)
            .and_then(|()| none_of(wrong, |wrong| format!("got {}", wrong.join(", ")))),
    )
}

fn got(metric: Option<&ReceivedMetric>) -> Result<&ReceivedMetric, String> {
    metric.ok_or_else(|| "got nothing".to_owned())
}

/// `metric` comes from the meter `meter`.
pub(super) fn from_meter(metric: &ReceivedMetric, meter: &str) -> Result<(), String> {
    let scope = &metric.origin.scope.name;
    match scope == meter {
        true => Ok(()),
        false => Err(format!("it comes from the meter {scope:?}, not {meter:?}")),
    }
}

/// `metric` is a `kind` (a monotonic "counter", or a "histogram") with cumulative
/// temporality, as Prometheus needs.
pub(super) fn cumulative(metric: &ReceivedMetric, kind: &str) -> Result<(), String> {
    let temporality = match metric.kind() {
        MetricKind::Sum {
            monotonic: true,
            temporality,
        } if kind == "counter" => temporality,
        MetricKind::Histogram { temporality } if kind == "histogram" => temporality,
        other => return Err(format!("it is a {other}, not a {kind}")),
    };
    match temporality {
        Temporality::Cumulative => Ok(()),
        other => Err(format!(
            "its temporality is {other:?}; Prometheus needs Cumulative"
        )),
    }
}

/// Each counter that arrived has [`UNIT`] (a missing one is another line's failure).
fn units(counters: [(&str, Option<&ReceivedMetric>); 2]) -> Result<(), String> {
    let arrived: Vec<(&str, &ReceivedMetric)> = counters
        .into_iter()
        .filter_map(|(name, metric)| Some((name, metric?)))
        .collect();
    if arrived.is_empty() {
        return Err("got neither counter".to_owned());
    }
    let wrong = arrived
        .iter()
        .filter_map(|(name, metric)| match metric.unit() {
            UNIT => None,
            "" => Some(format!("{name} has no unit")),
            unit => Some(format!("{name} has the unit {unit:?}")),
        });
    none_of(wrong, |wrong| wrong.join(", "))
}

fn value_without_attributes(
    metric: Option<&ReceivedMetric>,
    expected: usize,
) -> Result<(), String> {
    let points = got(metric)?.points();
    match (
        points.iter().find(|p| p.attributes.is_empty()),
        points.first(),
    ) {
        (Some(point), _) => compare(point.value.as_f64(), expected),
        (None, Some(p)) => Err(format!(
            "its points have attributes ({}); it should have none",
            describe(&p.attributes)
        )),
        (None, None) => Err("it has no data points".to_owned()),
    }
}

/// The attributes of `call`'s point, as the check lines show them:
/// `http.response.status_code=500, error.type="500"`.
fn point_name(call: &CallOutcome) -> String {
    match &call.error_type {
        None => format!("{STATUS}={}", call.status),
        Some(error_type) => format!("{STATUS}={}, {ERROR_TYPE}={error_type:?}", call.status),
    }
}

/// The points counting calls that ended like `call` (other attributes are allowed) add up
/// to `expected`; else what is wrong with the points there are.
fn value_for_call(
    metric: Option<&ReceivedMetric>,
    call: &CallOutcome,
    expected: usize,
) -> Result<(), String> {
    let points = got(metric)?.points();
    let status = AttrValue::Int(i64::from(call.status));
    let error_type = call.error_type.clone().map(AttrValue::String);
    let values: Vec<Option<f64>> = points
        .iter()
        .filter(|p| p.attributes.get(STATUS) == Some(&status))
        .filter(|p| p.attributes.get(ERROR_TYPE) == error_type.as_ref())
        .map(|p| p.value.as_f64())
        .collect();
    match values.is_empty() {
        true => Err(missing_point(&points, call)),
        false => compare(values.into_iter().sum(), expected),
    }
}

/// Why no point counts the calls that ended like `call`: the likeliest mistakes first.
fn missing_point(points: &[DataPoint], call: &CallOutcome) -> String {
    let status = call.status;
    let status_is = |p: &DataPoint, value: AttrValue| p.attributes.get(STATUS) == Some(&value);
    if points
        .iter()
        .any(|p| status_is(p, AttrValue::String(status.to_string())))
    {
        return format!("{STATUS} is the string \"{status}\"; record it as an integer");
    }
    let error_type_of = |p: &DataPoint| p.attributes.get(ERROR_TYPE).map(ToString::to_string);
    let with_status: Vec<&DataPoint> = points
        .iter()
        .filter(|p| status_is(p, AttrValue::Int(status.into())))
        .collect();
    let typed = with_status.iter().find_map(|p| error_type_of(p));
    let found = match (&call.error_type, typed, with_status.first()) {
        (Some(expected), Some(found), _) => Some(format!(
            "the point with {STATUS}={status} has {ERROR_TYPE}={found:?}; this failure's is {expected:?}"
        )),
        // A success status: the failures hide among the successes.
        (Some(expected), None, Some(point)) if status < 400 => Some(format!(
            "no point with {STATUS}={status} has {ERROR_TYPE}: the failed calls are counted with the successful ones ({} has {}); add {ERROR_TYPE}={expected:?} when a call fails",
            describe(&point.attributes),
            point.value.as_f64().unwrap_or(f64::NAN)
        )),
        (Some(expected), None, Some(_)) => Some(format!(
            "the point with {STATUS}={status} has no {ERROR_TYPE}; add {ERROR_TYPE}={expected:?} when a call fails"
        )),
        (Some(expected), None, None) => points
            .iter()
            .any(|p| {
                !p.attributes.contains_key(STATUS) && error_type_of(p).as_deref() == Some(expected)
            })
            .then(|| format!(
                "the point with {ERROR_TYPE}={expected:?} has no {STATUS}; record the status of every answer, {status} here"
            )),
        (None, Some(found), _) => Some(format!(
            "every point with {STATUS}={status} has an {ERROR_TYPE} ({found:?}); a successful call has none"
        )),
        (None, None, _) => None,
    };
    let seen: Vec<String> = points.iter().map(|p| describe(&p.attributes)).collect();
    found.unwrap_or_else(|| match seen.is_empty() {
        true => "got nothing".to_owned(),
        false => format!("got nothing; its points have {}", seen.join(" / ")),
    })
}

fn compare(value: Option<f64>, expected: usize) -> Result<(), String> {
    match value {
        Some(v) if v == expected as f64 => Ok(()),
        Some(v) => Err(format!("got {v}")),
        None => Err("its point has no number".to_owned()),
    }
}

/// A point's attributes as the checks show them: `http.route="/", http.response.status_code=200`.
pub(super) fn describe(attributes: &Attributes) -> String {
    if attributes.is_empty() {
        return "no attributes".to_owned();
    }
    attributes
        .iter()
        .map(|(k, v)| match v {
            AttrValue::String(s) => format!("{k}={s:?}"),
            v => format!("{k}={v}"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use otlp_receiver::PointValue;

    fn point(attributes: &[(&str, AttrValue)], value: i64) -> DataPoint {
        DataPoint {
            attributes: attributes
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
            value: PointValue::Int(value),
            start_time_unix_nano: 0,
            time_unix_nano: 0,
        }
    }

    fn failed(status: u16, error_type: &str) -> CallOutcome {
        CallOutcome {
            status,
            error_type: Some(error_type.to_owned()),
        }
    }

    #[test]
    fn a_missing_point_says_what_is_wrong_with_the_others() {
        let garbage = failed(200, "invalid_response");
        let typed_only = [point(&[(ERROR_TYPE, "invalid_response".into())], 1)];
        assert_eq!(
            missing_point(&typed_only, &garbage),
            r#"the point with error.type="invalid_response" has no http.response.status_code; record the status of every answer, 200 here"#
        );
        let other_type = [point(
            &[
                (STATUS, AttrValue::Int(500)),
                (ERROR_TYPE, "server_error".into()),
            ],
            1,
        )];
        assert_eq!(
            missing_point(&other_type, &failed(500, "500")),
            r#"the point with http.response.status_code=500 has error.type="server_error"; this failure's is "500""#
        );
        let text_status = [point(&[(STATUS, "500".into())], 1)];
        assert_eq!(
            missing_point(&text_status, &failed(500, "500")),
            r#"http.response.status_code is the string "500"; record it as an integer"#
        );
        let unrelated = [point(&[("outcome", "ok".into())], 1)];
        assert_eq!(
            missing_point(&unrelated, &CallOutcome::answered(200)),
            r#"got nothing; its points have outcome="ok""#
        );
    }
}
