//! Everything a check run observed, in one value that the section checks read: the
//! services' console output, what the ISS API stub was asked, and what the OTLP receiver
//! got. Checks are pure functions of it, so tests build one from fixtures.

use std::collections::BTreeMap;
use std::fmt::Display;

use otlp_receiver::{
    AttrValue, Attributes, Origin, Protocol, ReceivedLog, ReceivedMetric, ReceivedSpan, SpanKind,
    Store,
};
use serde_json::Value;

use super::relay::Relayed;
use super::report::first;
use super::scenario::{Outcome, Scenario};
use crate::harness::IssCall;

/// The four services, in the order checks list them.
pub const SERVICES: [&str; 4] = ["frontend", "gateway", "geolocator", "iss-distance"];

/// What section 0 asks every service to print at start-up, before a JSON object.
pub const RESOURCE_MARKER: &str = "OpenTelemetry resource: ";

/// iss-distance's span around each request (section 3).
pub const CALCULATING_SPAN: &str = "calculating-iss-distance";
/// Its child around each call to the ISS API (section 3).
pub const GETTING_SPAN: &str = "getting-iss-coordinates";

/// Where a ✗ sends people to look: the files (and the parts of them) the sections change.
pub mod hint {
    pub const RESOURCE: &str = "services/telemetry/src/resource.rs";
    pub const METER_PROVIDER: &str = "services/telemetry/src/metrics.rs";
    pub const COUNTERS: &str = "services/iss-distance/src/metrics.rs";
    pub const LOGGER_PROVIDER: &str = "services/telemetry/src/logs.rs";
    pub const BRIDGE: &str = "services/telemetry/src/lib.rs";
    pub const HANDLER: &str = "services/iss-distance/src/lib.rs";
    pub const POSITION: &str = "services/iss-distance/src/position.rs";
    pub const SPANS: &str = "services/service-kit/src/spans.rs";
    pub const UPSTREAM: &str = "services/service-kit/src/upstream.rs";
    pub const PROPAGATOR: &str = "services/telemetry/src/propagation.rs";
    pub const BOUNDARY: &str = "services/service-kit/src/upstream.rs (self.boundary.release)";
    pub const EDGE: &str = "services/service-kit/src/spans.rs (callers.admit)";
    pub const HTTP_METRICS: &str = "services/service-kit/src/http_metrics.rs";
    pub const COLLECTOR: &str = "platform/otel-collector/config.yaml";
    pub const REDACT: &str = "the transform processor in platform/otel-collector/config.yaml";
    pub const FILTER: &str = "the filter processor in platform/otel-collector/config.yaml";
    pub const SAMPLE: &str = "the tail_sampling processor and the traces pipelines in platform/otel-collector/config.yaml (and overlays/jaeger.yaml)";
    pub const SPAN_METRICS: &str = "the traces pipeline that feeds span_metrics in platform/otel-collector/config.yaml: it must not sample";
}

/// Attribute keys of the semantic conventions that several sections' checks read.
pub const STATUS: &str = "http.response.status_code";
pub const ERROR_TYPE: &str = "error.type";

/// The body iss-distance logs once per request to /distance (section 2; section 3 finds it
/// inside the request's span).
pub const CALCULATING: &str = "calculating the ISS distance";
/// Part of the WARN body when coordinates are rejected.
pub const REJECTED: &str = "latitude";
/// Part of the ERROR body when the ISS API fails.
pub const ISS_FAILED: &str = "ISS position";

/// The protocol's name in `OTEL_EXPORTER_OTLP_PROTOCOL`.
pub fn protocol_name(protocol: otlp_receiver::Protocol) -> &'static str {
    match protocol {
        otlp_receiver::Protocol::Grpc => "grpc",
        otlp_receiver::Protocol::Http => "http/protobuf",
    }
}

#[derive(Clone, Debug)]
pub struct Evidence {
    /// The `workshop.check.run` value given in `OTEL_RESOURCE_ATTRIBUTES`.
    pub run_id: String,
    /// The protocol the services were told to export with.
    pub protocol: Protocol,
    pub scenario: Scenario,
    /// What each step got back (empty if the services never became healthy).
    pub outcomes: Vec<Outcome>,
    /// Each service's console output lines, by service name.
    pub console: BTreeMap<String, Vec<String>>,
    /// The console output of the second copy of [`super::scenario::REPLICA_OF`], started
    /// with `OTEL_SERVICE_NAME` (section 0).
    pub replica: Vec<String>,
    /// `ISS_API_URL`.
    pub stub_url: String,
    /// The ISS API stub's requests, in order.
    pub stub_calls: Vec<IssCall>,
    /// The requests between our own services, as the check's relays saw them (section 4).
    pub relayed: Vec<Relayed>,
    /// `127.0.0.1:<port>` of every server in the run (services, stub, relays, receiver):
    /// these may appear in logs, unlike the client's address.
    pub server_addresses: Vec<String>,
    /// Where each upstream is, as the services are told (`GATEWAY_URL`, `GEOLOCATOR_URL`,
    /// `ISS_DISTANCE_URL`: the check's relays; `ISS_API_URL`), by the upstream's name (a
    /// service, or [`super::scenario::ISS_API`]).
    pub upstream_urls: BTreeMap<String, String>,
    pub spans: Vec<ReceivedSpan>,
    pub logs: Vec<ReceivedLog>,
    pub metrics: Vec<ReceivedMetric>,
    /// Section 6: the traffic sent through the real collector, and what left it.
    pub collector: Option<super::pipeline::Observed>,
}

impl Evidence {
    /// Replaces the received telemetry with what `store` holds now.
    pub fn refresh(&mut self, store: &Store) {
        self.spans = store.spans();
        self.logs = store.logs();
        self.metrics = store.metrics();
    }

    /// The resource a service printed on its console (section 0), as attributes; `Err`
    /// says why there is none.
    pub fn console_resource(&self, service: &str) -> Result<Attributes, String> {
        let lines = self.console.get(service).map(Vec::as_slice).unwrap_or(&[]);
        printed_resource(lines, service)
    }

    /// The resource the second copy of [`super::scenario::REPLICA_OF`] printed.
    pub fn replica_resource(&self) -> Result<Attributes, String> {
        printed_resource(
            &self.replica,
            &format!("the second {}", super::scenario::REPLICA_OF),
        )
    }

    /// Spans of `service`.
    pub fn spans_of<'a>(&'a self, service: &str) -> impl Iterator<Item = &'a ReceivedSpan> {
        self.spans
            .iter()
            .filter(move |s| s.service_name() == Some(service))
    }

    /// Spans of `service`, by name.
    pub fn spans_named<'a>(
        &'a self,
        service: &'a str,
        name: &'a str,
    ) -> impl Iterator<Item = &'a ReceivedSpan> + 'a {
        self.spans_of(service).filter(move |s| s.name() == name)
    }

    /// The spans whose parent is `parent`.
    pub fn children_of<'a>(
        &'a self,
        parent: &'a ReceivedSpan,
    ) -> impl Iterator<Item = &'a ReceivedSpan> + 'a {
        self.spans.iter().filter(move |s| s.is_child_of(parent))
    }

    /// The span `child`'s parent, if it arrived.
    pub fn parent_of(&self, child: &ReceivedSpan) -> Option<&ReceivedSpan> {
        self.spans.iter().find(|s| child.is_child_of(s))
    }

    /// True if `ancestor` is `span`'s parent, grandparent, ….
    pub fn descends_from(&self, span: &ReceivedSpan, ancestor: &ReceivedSpan) -> bool {
        // A parent is in its child's trace. At most 64 generations up, so that a loop of
        // parents cannot hang the check.
        span.span.trace_id == ancestor.span.trace_id
            && std::iter::successors(self.parent_of(span), |s| self.parent_of(s))
                .take(64)
                .any(|parent| parent.span.span_id == ancestor.span.span_id)
    }

    /// `service`'s spans of `kind`, in the order they started. The scenario sends one
    /// request at a time, so the n-th of them belongs to the n-th request that makes one.
    pub fn spans_in_order<'a>(&'a self, service: &str, kind: SpanKind) -> Vec<&'a ReceivedSpan> {
        let mut spans: Vec<&ReceivedSpan> = self
            .spans_of(service)
            .filter(|s| s.kind() == kind)
            .collect();
        spans.sort_by_key(|s| s.span.start_time_unix_nano);
        spans
    }

    /// Where each span, log record and metric that arrived came from, and what it is.
    pub fn origins(&self) -> impl Iterator<Item = (&Origin, &'static str)> {
        let spans = self.spans.iter().map(|s| (&*s.origin, "span"));
        let logs = self.logs.iter().map(|l| (&*l.origin, "log record"));
        let metrics = self.metrics.iter().map(|m| (&*m.origin, "metric"));
        spans.chain(logs).chain(metrics)
    }

    /// Log records of `service`.
    pub fn logs_of<'a>(&'a self, service: &'a str) -> impl Iterator<Item = &'a ReceivedLog> + 'a {
        self.logs
            .iter()
            .filter(move |l| l.service_name() == Some(service))
    }

    /// The newest entry of the metric `name` sent by `service`.
    pub fn latest_metric(&self, service: &str, name: &str) -> Option<&ReceivedMetric> {
        self.metrics
            .iter()
            .rev()
            .find(|m| m.service_name() == Some(service) && m.name() == name)
    }
}

/// `spans` (in the order they started) with what the scenario expects of each, in order;
/// `None` if their numbers differ, when nothing can be said of any one span.
pub fn paired<'a, T: Clone>(
    spans: &[&'a ReceivedSpan],
    expected: &[T],
) -> Option<Vec<(&'a ReceivedSpan, T)>> {
    (spans.len() == expected.len()).then(|| {
        spans
            .iter()
            .copied()
            .zip(expected.iter().cloned())
            .collect()
    })
}

/// A span's integer `http.response.status_code`.
pub fn status_code(span: &ReceivedSpan) -> Option<i64> {
    span.attribute(STATUS).and_then(|v| v.as_i64())
}

/// A span's attribute `key`, as text.
pub fn text(span: &ReceivedSpan, key: &str) -> Option<String> {
    span.attribute(key).map(|v| v.to_string())
}

/// A check's result from the problems found: `Ok` without any, else the first `shown`.
pub fn ok_unless<T: Display>(problems: &[T], shown: usize) -> Result<(), String> {
    match problems {
        [] => Ok(()),
        _ => Err(first(problems, shown)),
    }
}

/// A check's result from what was found wrong: `Ok` without any, else what `say` makes of
/// it all.
pub fn none_of<T>(
    found: impl IntoIterator<Item = T>,
    say: impl FnOnce(Vec<T>) -> String,
) -> Result<(), String> {
    let found: Vec<T> = found.into_iter().collect();
    match found.is_empty() {
        true => Ok(()),
        false => Err(say(found)),
    }
}

/// `items` without repeats, in the order they came.
pub fn unique(items: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut seen = std::collections::BTreeSet::new();
    items
        .into_iter()
        .filter(|item| seen.insert(item.clone()))
        .collect()
}

/// `items` once each, with how many times each came, in the order they first came.
pub fn tally(items: impl IntoIterator<Item = String>) -> Vec<(String, usize)> {
    let mut counted: Vec<(String, usize)> = Vec::new();
    for item in items {
        match counted.iter_mut().find(|(seen, _)| *seen == item) {
            Some((_, n)) => *n += 1,
            None => counted.push((item, 1)),
        }
    }
    counted
}

/// `trace 4bf92f35…`: a span's trace, as problems name it.
pub fn short_trace(span: &ReceivedSpan) -> String {
    format!("trace {}…", short(&span.trace_id()))
}

/// `url.full` of a call to the stub: its URL, perhaps with an (empty) query.
pub fn is_stub_url(url: &str, stub_url: &str) -> bool {
    url.strip_prefix(stub_url)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('?'))
}

/// Problems with a resource, against the contract: `service.name` as expected (or, when
/// `service` is `None`, one of the four), a non-empty `service.version`,
/// `deployment.environment.name` = `dev` and not the deprecated `deployment.environment`,
/// a UUID as `service.instance.id`, and `workshop.check.run` = the run's id.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ResourceProblems {
    pub name: Option<String>,
    pub version: Option<String>,
    pub environment: Option<String>,
    pub instance: Option<String>,
    pub run: Option<String>,
}

/// A resource's `service.instance.id`, if it is a UUID (in any of the forms the `uuid`
/// crate reads; the nil UUID is none: every copy would have it); else what is wrong.
pub fn instance_id(resource: &Attributes) -> Result<uuid::Uuid, String> {
    let id = match resource.get("service.instance.id") {
        None => return Err("no service.instance.id".to_owned()),
        Some(AttrValue::String(id)) => id,
        Some(other) => {
            return Err(format!(
                "service.instance.id is {other}, not a string holding a UUID"
            ));
        }
    };
    match uuid::Uuid::try_parse(id) {
        Ok(uuid) if uuid.is_nil() || uuid.is_max() => Err(format!(
            "service.instance.id is {id:?}, a UUID that every copy would have"
        )),
        Ok(uuid) => Ok(uuid),
        Err(_) => Err(format!("service.instance.id {id:?} is not a UUID")),
    }
}

impl ResourceProblems {
    pub fn of(resource: &Attributes, service: Option<&str>, run_id: &str) -> ResourceProblems {
        let text = |key: &str| resource.get(key).map(|v| v.to_string());
        let environment = (
            text("deployment.environment.name"),
            text("deployment.environment"),
        );
        ResourceProblems {
            name: match (text("service.name"), service) {
                (None, _) => Some("no service.name".to_owned()),
                (Some(name), Some(expected)) if name != expected => {
                    Some(format!("service.name is {name:?}, not {expected:?}"))
                }
                (Some(name), None) if !SERVICES.contains(&name.as_str()) => Some(format!(
                    "service.name {name:?} is none of the four services"
                )),
                _ => None,
            },
            version: match resource.get("service.version") {
                Some(AttrValue::String(v)) if !v.trim().is_empty() => None,
                Some(other) => Some(format!("service.version is {:?}", other.to_string())),
                None => Some("no service.version".to_owned()),
            },
            environment: match environment {
                (_, Some(_)) => Some("has the deprecated deployment.environment".to_owned()),
                (Some(env), None) if env == "dev" => None,
                (Some(env), None) => Some(format!(
                    "deployment.environment.name is {env:?}, not \"dev\""
                )),
                (None, None) => Some("no deployment.environment.name".to_owned()),
            },
            instance: instance_id(resource).err(),
            run: match text("workshop.check.run") {
                Some(id) if id == run_id => None,
                Some(id) => Some(format!("workshop.check.run is {id:?}, not {run_id:?}")),
                None => Some("no workshop.check.run (OTEL_RESOURCE_ATTRIBUTES ignored)".to_owned()),
            },
        }
    }

    /// What the contract asks of every exported item's resource: all but the version and
    /// the instance id (section 0 checks them once, on the printed resource).
    pub fn of_exported(&self) -> Vec<String> {
        [&self.name, &self.environment, &self.run]
            .into_iter()
            .flatten()
            .cloned()
            .collect()
    }
}

/// The resource printed in `lines` (`OpenTelemetry resource: {…}`), as attributes; `Err`
/// says why there is none, naming `who` printed them.
fn printed_resource(lines: &[String], who: &str) -> Result<Attributes, String> {
    let line = lines
        .iter()
        .map(|l| strip_ansi(l))
        .find(|l| l.contains(RESOURCE_MARKER))
        .ok_or_else(|| format!("{who} printed no `{RESOURCE_MARKER}{{…}}` line"))?;
    let (_, json) = line.split_once(RESOURCE_MARKER).expect("found");
    // The object, and not whatever follows it on the line.
    match serde_json::Deserializer::from_str(json).into_iter().next() {
        Some(Ok(Value::Object(map))) => Ok(map
            .into_iter()
            .map(|(key, value)| (key, attr_value(value)))
            .collect()),
        _ => Err(format!(
            "{who}'s line does not continue with a JSON object: {}",
            excerpt(json, 60)
        )),
    }
}

fn attr_value(value: Value) -> AttrValue {
    match value {
        Value::String(s) => AttrValue::String(s),
        Value::Bool(b) => AttrValue::Bool(b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => AttrValue::Int(i),
            None => AttrValue::Double(n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::Null => AttrValue::Empty,
        Value::Array(items) => AttrValue::Array(items.into_iter().map(attr_value).collect()),
        Value::Object(map) => {
            AttrValue::Map(map.into_iter().map(|(k, v)| (k, attr_value(v))).collect())
        }
    }
}

/// Removes ANSI colour sequences (`ESC [ … letter`), in case `NO_COLOR` was ignored.
pub fn strip_ansi(line: &str) -> String {
    let mut pieces = line.split('\x1b');
    let mut out = pieces.next().unwrap_or_default().to_owned();
    for piece in pieces {
        match piece.strip_prefix('[') {
            Some(sequence) => {
                let end = sequence.find(|c: char| c.is_ascii_alphabetic());
                out.push_str(end.map_or("", |end| &sequence[end + 1..]));
            }
            None => out.push_str(piece),
        }
    }
    out
}

/// The first `n` characters of `text`, with … if cut.
pub fn excerpt(text: &str, n: usize) -> String {
    let mut cut: String = text.chars().take(n).collect();
    if cut.len() < text.len() {
        cut.push('…');
    }
    cut
}

/// Trace ids are long; lists show their first 8 digits.
pub fn short(id: &str) -> &str {
    &id[..id.len().min(8)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ansi_colours_are_removed() {
        assert_eq!(
            strip_ansi("\x1b[2m2026\x1b[0m \x1b[32m INFO\x1b[0m x"),
            "2026  INFO x"
        );
    }

    #[test]
    fn resource_rules() {
        let resource: Attributes = [
            ("service.name", "gateway"),
            ("service.version", "0.1.0"),
            ("deployment.environment.name", "dev"),
            (
                "service.instance.id",
                "627cc493-f310-47de-96bd-71410b7dec09",
            ),
            ("workshop.check.run", "ab12"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), AttrValue::from(v)))
        .collect();
        assert_eq!(
            ResourceProblems::of(&resource, Some("gateway"), "ab12"),
            ResourceProblems::default()
        );
        assert_eq!(
            ResourceProblems::of(&resource, None, "ab12").of_exported(),
            Vec::<String>::new()
        );
        let problems = ResourceProblems::of(&resource, Some("frontend"), "cd34");
        assert_eq!(
            problems.name.unwrap(),
            r#"service.name is "gateway", not "frontend""#
        );
        assert!(problems.run.unwrap().contains("not \"cd34\""));
        let mut deprecated = resource.clone();
        deprecated.insert("deployment.environment".into(), "dev".into());
        assert!(
            ResourceProblems::of(&deprecated, Some("gateway"), "ab12")
                .environment
                .unwrap()
                .contains("deprecated")
        );
    }

    #[test]
    fn an_instance_id_is_a_uuid_that_is_not_the_same_for_everyone() {
        let of = |value: Option<AttrValue>| {
            let mut resource = Attributes::new();
            if let Some(value) = value {
                resource.insert("service.instance.id".into(), value);
            }
            instance_id(&resource)
        };
        let id = "627cc493-f310-47de-96bd-71410b7dec09";
        assert_eq!(of(Some(id.into())).unwrap().to_string(), id);
        assert_eq!(of(None).unwrap_err(), "no service.instance.id");
        assert_eq!(
            of(Some("12345".into())).unwrap_err(),
            r#"service.instance.id "12345" is not a UUID"#
        );
        assert!(
            of(Some(AttrValue::Int(7)))
                .unwrap_err()
                .contains("not a string")
        );
        for everyone in [
            "00000000-0000-0000-0000-000000000000",
            "ffffffff-ffff-ffff-ffff-ffffffffffff",
        ] {
            assert!(
                of(Some(everyone.into()))
                    .unwrap_err()
                    .contains("every copy would have"),
                "{everyone}"
            );
        }
    }
}
