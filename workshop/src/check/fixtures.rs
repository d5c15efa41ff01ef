//! Fixture data for the checks' tests: what perfectly instrumented services (sections 0 to
//! N) would send for the standard scenario, built as real OTLP protos and passed through
//! the receiver's [`Store`]. Tests then break one thing at a time.

use std::collections::BTreeMap;

use otlp_receiver::proto::collector::logs::v1::ExportLogsServiceRequest;
use otlp_receiver::proto::collector::metrics::v1::ExportMetricsServiceRequest;
use otlp_receiver::proto::collector::trace::v1::ExportTraceServiceRequest;
use otlp_receiver::proto::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use otlp_receiver::proto::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use otlp_receiver::proto::metrics::v1::{
    AggregationTemporality, Histogram, HistogramDataPoint, Metric, NumberDataPoint,
    ResourceMetrics, ScopeMetrics, Sum, metric, number_data_point,
};
use otlp_receiver::proto::resource::v1::Resource;
use otlp_receiver::proto::trace::v1::{ResourceSpans, ScopeSpans, Span, Status, span, status};
use otlp_receiver::{Protocol, Store};

use super::evidence::{CALCULATING_SPAN, Evidence, GETTING_SPAN, RESOURCE_MARKER, SERVICES};
use super::relay::Relayed;
use super::scenario::{
    CallOutcome, ISS_API, IssAnswer, OUR_BAGGAGE, Outcome, REPLICA_NAME, Scenario, Step,
    TRACESTATE, TraceContext,
};
use super::{section1, section3, section5};
use crate::harness::{self, IssCall};

pub const RUN_ID: &str = "c0ffee0000000001";
pub const STUB_URL: &str = "http://127.0.0.1:4000/iss-now.json";

/// Calls by outcome, from `(status, error.type, how many)`.
pub fn calls(outcomes: &[(u16, Option<&str>, usize)]) -> Vec<(CallOutcome, usize)> {
    outcomes
        .iter()
        .map(|(status, error_type, n)| {
            let call = CallOutcome {
                status: *status,
                error_type: error_type.map(str::to_owned),
            };
            (call, *n)
        })
        .collect()
}

pub fn scenario() -> Scenario {
    Scenario::standard(TraceContext {
        trace_id: "4bf92f3577b34da6a3ce929d0e0e4736".into(),
        parent_id: "00f067aa0ba902b7".into(),
    })
}

fn port(service: &str) -> u16 {
    5000 + SERVICES.iter().position(|s| *s == service).unwrap() as u16
}

/// A value for a proto attribute.
pub enum V {
    S(String),
    I(i64),
    D(f64),
}

impl From<&str> for V {
    fn from(s: &str) -> V {
        V::S(s.to_owned())
    }
}
impl From<String> for V {
    fn from(s: String) -> V {
        V::S(s)
    }
}
impl From<i64> for V {
    fn from(i: i64) -> V {
        V::I(i)
    }
}
impl From<f64> for V {
    fn from(d: f64) -> V {
        V::D(d)
    }
}

pub fn kv(key: &str, value: impl Into<V>) -> KeyValue {
    let value = match value.into() {
        V::S(s) => any_value::Value::StringValue(s),
        V::I(i) => any_value::Value::IntValue(i),
        V::D(d) => any_value::Value::DoubleValue(d),
    };
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue { value: Some(value) }),
        ..Default::default()
    }
}

/// Each service's `service.instance.id`, and the replica's (section 0).
pub fn instance_id(service: &str) -> String {
    let n = SERVICES
        .iter()
        .position(|s| *s == service)
        .unwrap_or(SERVICES.len());
    format!("6f1c9e2a-0d4b-4c7e-9a3f-{:012x}", 0xa1 + n)
}

pub fn resource(service: &str) -> Resource {
    Resource {
        attributes: vec![
            kv("service.name", service),
            kv("service.version", "0.1.0"),
            kv("deployment.environment.name", "dev"),
            kv("service.instance.id", instance_id(service)),
            kv("workshop.check.run", RUN_ID),
            kv("telemetry.sdk.language", "rust"),
        ],
        ..Default::default()
    }
}

/// The line a service prints at start-up with its resource, as JSON (section 0).
fn resource_line(name: &str, instance: &str) -> String {
    let json = serde_json::json!({
        "service.name": name,
        "service.version": "0.1.0",
        "deployment.environment.name": "dev",
        "service.instance.id": instance,
        "workshop.check.run": RUN_ID,
        "telemetry.sdk.language": "rust",
    });
    format!("2026-11-20T10:00:00.000000Z  INFO telemetry: {RESOURCE_MARKER}{json}")
}

fn scope(name: &str) -> Option<InstrumentationScope> {
    Some(InstrumentationScope {
        name: name.to_owned(),
        ..Default::default()
    })
}

/// Builds the evidence of a run, one telemetry item at a time.
pub struct World {
    store: Store,
    evidence: Evidence,
    next_span: u64,
    /// The last section done: what the services export (metrics from 1, logs from 2,
    /// spans from 3), whether traces cross services (4) and the HTTP metrics (5).
    section: u8,
    /// Each service's histogram points (section 5).
    durations: BTreeMap<(String, &'static str), Points>,
}

/// One histogram's points, by their attributes (keys and values, as text).
type Points = BTreeMap<Vec<(String, String)>, Point>;

/// One histogram point being built: the attributes (as sent), count and sum.
#[derive(Clone, Default)]
struct Point {
    attributes: Vec<KeyValue>,
    count: u64,
    sum: f64,
}

/// How long each fixture span lasts (`span` below): what the histograms record too.
const SPAN_SECONDS: f64 = 0.002;

/// A span as sent: its ids, for children and log records.
#[derive(Clone)]
pub struct Ids {
    trace: Vec<u8>,
    span: Vec<u8>,
}

fn unhex(hex: &str) -> Vec<u8> {
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl World {
    pub fn new() -> World {
        let scenario = scenario();
        let console = SERVICES
            .iter()
            .map(|service| {
                let lines = vec![
                    resource_line(service, &instance_id(service)),
                    format!("2026-11-20T10:00:00.000100Z  INFO service_kit::server: {service} listening on http://127.0.0.1:{}", port(service)),
                ];
                (service.to_string(), lines)
            })
            .collect();
        let replica = vec![resource_line(REPLICA_NAME, &instance_id(REPLICA_NAME))];
        let outcomes = scenario
            .steps
            .iter()
            .map(|step| Outcome {
                step: step.clone(),
                answer: Ok(step.expected_status()),
            })
            .collect();
        let mut server_addresses: Vec<String> = SERVICES
            .iter()
            .map(|s| format!("127.0.0.1:{}", port(s)))
            .collect();
        server_addresses.push("127.0.0.1:4000".into());
        let mut upstream_urls: BTreeMap<String, String> = SERVICES
            .iter()
            .map(|s| (s.to_string(), format!("http://127.0.0.1:{}", port(s))))
            .collect();
        upstream_urls.insert(ISS_API.to_owned(), STUB_URL.to_owned());
        World {
            store: Store::default(),
            evidence: Evidence {
                run_id: RUN_ID.into(),
                protocol: Protocol::Http,
                scenario,
                outcomes,
                console,
                replica,
                stub_url: STUB_URL.into(),
                stub_calls: Vec::new(),
                relayed: Vec::new(),
                server_addresses,
                upstream_urls,
                spans: Vec::new(),
                logs: Vec::new(),
                metrics: Vec::new(),
                collector: None,
            },
            next_span: 0x1000,
            section: 5,
            durations: BTreeMap::new(),
        }
    }

    /// Perfect telemetry from all sections for the whole scenario.
    pub fn perfect() -> Evidence {
        World::done(5)
    }

    /// Perfect telemetry from sections 0 to `section` for the whole scenario.
    pub fn done(section: u8) -> Evidence {
        let mut world = World::new();
        world.section = section;
        for service in SERVICES {
            world.log(
                service,
                9,
                &format!("{service} listening on http://127.0.0.1:{}", port(service)),
                None,
            );
        }
        let steps = world.evidence.scenario.steps.clone();
        for (n, step) in steps.iter().enumerate() {
            world.step(n, step);
        }
        // An early export, then the final one.
        world.counters(3, &[(CallOutcome::answered(200), 2)]);
        let requests = world.evidence.scenario.requests_to("iss-distance");
        let calls: Vec<(CallOutcome, usize)> =
            world.evidence.scenario.iss_calls().into_iter().collect();
        world.counters(requests, &calls);
        world.finish()
    }

    pub fn finish(mut self) -> Evidence {
        self.histograms();
        self.evidence.refresh(&self.store);
        self.evidence
    }

    /// Counts one request or call of `service` in the histogram `name` (section 5).
    fn observe(&mut self, service: &str, name: &'static str, attributes: Vec<KeyValue>) {
        let key: Vec<(String, String)> = attributes
            .iter()
            .map(|kv| (kv.key.clone(), format!("{:?}", kv.value)))
            .collect();
        let point = self
            .durations
            .entry((service.to_owned(), name))
            .or_default()
            .entry(key)
            .or_insert_with(|| Point {
                attributes,
                ..Point::default()
            });
        point.count += 1;
        point.sum += SPAN_SECONDS;
    }

    /// One export of every service's HTTP duration histograms, from section 5 on.
    fn histograms(&mut self) {
        if self.section < 5 {
            return;
        }
        let mut by_service: BTreeMap<String, Vec<Metric>> = BTreeMap::new();
        for ((service, name), points) in &self.durations {
            let data_points = points
                .values()
                .map(|p| {
                    // Every fixture request takes 2 ms: all in the first bucket.
                    let mut bucket_counts = vec![0; section5::BOUNDARIES.len() + 1];
                    bucket_counts[0] = p.count;
                    HistogramDataPoint {
                        attributes: p.attributes.clone(),
                        count: p.count,
                        sum: Some(p.sum),
                        bucket_counts,
                        explicit_bounds: section5::BOUNDARIES.to_vec(),
                        min: Some(SPAN_SECONDS),
                        max: Some(SPAN_SECONDS),
                        ..Default::default()
                    }
                })
                .collect();
            by_service.entry(service.clone()).or_default().push(Metric {
                name: (*name).to_owned(),
                unit: "s".to_owned(),
                data: Some(metric::Data::Histogram(Histogram {
                    data_points,
                    aggregation_temporality: AggregationTemporality::Cumulative as i32,
                })),
                ..Default::default()
            });
        }
        for (service, metrics) in by_service {
            self.store.ingest_metrics(
                ExportMetricsServiceRequest {
                    resource_metrics: vec![ResourceMetrics {
                        resource: Some(resource(&service)),
                        scope_metrics: vec![ScopeMetrics {
                            scope: scope(section5::METER),
                            metrics,
                            ..Default::default()
                        }],
                        ..Default::default()
                    }],
                },
                Protocol::Http,
            );
        }
    }

    fn step(&mut self, n: usize, step: &Step) {
        let context = self.evidence.scenario.context.clone();
        let trace = if step.propagates() {
            unhex(&context.trace_id)
        } else {
            unhex(&format!("{:032x}", 0xabc0_0000 + n))
        };
        let parent = step.propagates().then(|| unhex(&context.parent_id));
        match step.entry() {
            "frontend" => {
                let status = step.status_at("frontend").unwrap();
                let page = self.server("frontend", "/", status, &trace, parent);
                let url = format!("http://127.0.0.1:{}/distance", port("gateway"));
                let [call] = step.calls_from("frontend").try_into().unwrap();
                let call = self.client("frontend", &page, &url, &call);
                self.relay("gateway", &call, None);
                self.gateway(step, &call.trace, Some(call.span));
            }
            "gateway" => self.gateway(step, &trace, None),
            _ => self.iss_distance(step, &trace, None),
        }
    }

    fn gateway(&mut self, step: &Step, trace: &[u8], parent: Option<Vec<u8>>) {
        let status = step.status_at("gateway").unwrap();
        let server = self.server("gateway", "/distance", status, trace, parent);
        let calls = step.calls_from("gateway");
        let url = format!("http://127.0.0.1:{}/coordinates", port("geolocator"));
        let geo = self.client("gateway", &server, &url, &calls[0]);
        self.relay("geolocator", &geo, step.baggage());
        let found = step.status_at("geolocator").unwrap();
        self.server(
            "geolocator",
            "/coordinates",
            found,
            &geo.trace,
            Some(geo.span),
        );
        if let Some(call) = calls.get(1) {
            let url = format!("http://127.0.0.1:{}/distance", port("iss-distance"));
            let iss = self.client("gateway", &server, &url, call);
            self.relay("iss-distance", &iss, step.baggage());
            self.iss_distance(step, &iss.trace, Some(iss.span));
        }
    }

    fn iss_distance(&mut self, step: &Step, trace: &[u8], parent: Option<Vec<u8>>) {
        let status = step.status_at("iss-distance").unwrap();
        let server = self.server("iss-distance", "/distance", status, trace, parent);
        let failed = status != 200;
        let calculating = self.span(
            "iss-distance",
            CALCULATING_SPAN,
            span::SpanKind::Internal,
            &server.trace,
            Some(server.span.clone()),
            vec![],
            failed,
        );
        self.log(
            "iss-distance",
            9,
            "calculating the ISS distance",
            Some(&calculating),
        );
        let Some(answer) = step.iss_call() else {
            self.log(
                "iss-distance",
                13,
                "rejected request: latitude must be a finite number, got \"abc\"",
                Some(&calculating),
            );
            return;
        };
        let mut attributes = vec![];
        if answer == IssAnswer::Position {
            attributes.push(kv(
                "iss.latitude",
                harness::LATITUDE.parse::<f64>().unwrap(),
            ));
            attributes.push(kv(
                "iss.longitude",
                harness::LONGITUDE.parse::<f64>().unwrap(),
            ));
        }
        let call = answer.call();
        let getting = self.span(
            "iss-distance",
            GETTING_SPAN,
            span::SpanKind::Internal,
            &server.trace,
            Some(calculating.span.clone()),
            attributes,
            call.error_type.is_some(),
        );
        let client = self.client("iss-distance", &getting, STUB_URL, &call);
        let propagated = self.section >= 4;
        self.evidence.stub_calls.push(IssCall {
            answer,
            traceparent: propagated
                .then(|| format!("00-{}-{}-01", hex(&client.trace), hex(&client.span))),
            // Only the trace id leaves for a third party: no tracestate, no baggage.
            tracestate: None,
            baggage: None,
        });
        let reason = match answer {
            IssAnswer::Position | IssAnswer::Slow(_) => return,
            IssAnswer::Status(status) => {
                format!("open-notify failed with {status}: Internal Server Error")
            }
            IssAnswer::Garbage => format!(
                "open-notify sent an invalid response: longitude \"{}\" is not a number",
                harness::GARBAGE_LONGITUDE
            ),
        };
        self.log(
            "iss-distance",
            17,
            &format!("could not get the ISS position: {reason}"),
            Some(&calculating),
        );
    }

    /// A call between two of our services, as the check's relay saw it: from section 4 on
    /// with the trace context and the baggage the gateway got from one of ours.
    fn relay(&mut self, to: &str, client: &Ids, baggage: Option<&str>) {
        let propagated = self.section >= 4;
        let continued = hex(&client.trace) == self.evidence.scenario.context.trace_id;
        self.evidence.relayed.push(Relayed {
            to: to.to_owned(),
            traceparent: propagated
                .then(|| format!("00-{}-{}-01", hex(&client.trace), hex(&client.span))),
            tracestate: (propagated && continued).then(|| TRACESTATE.to_owned()),
            baggage: baggage
                .filter(|b| propagated && *b == OUR_BAGGAGE)
                .map(str::to_owned),
        });
    }

    /// A SERVER span: ERROR, with the status code as `error.type`, for a 5xx only. Before
    /// section 4 it starts a trace of its own.
    fn server(
        &mut self,
        service: &str,
        route: &str,
        status: u16,
        trace: &[u8],
        parent: Option<Vec<u8>>,
    ) -> Ids {
        let (trace, parent) = if self.section >= 4 {
            (trace.to_vec(), parent)
        } else {
            (
                unhex(&format!("{:032x}", 0xdef0_0000 + self.next_span)),
                None,
            )
        };
        let mut attributes = vec![
            kv("http.request.method", "GET"),
            kv("http.route", route),
            kv("http.response.status_code", i64::from(status)),
            kv("url.path", route),
        ];
        if status >= 500 {
            attributes.push(kv("error.type", status.to_string()));
        }
        let mut measured = vec![
            kv("http.request.method", "GET"),
            kv("http.route", route),
            kv("http.response.status_code", i64::from(status)),
            kv("url.scheme", "http"),
        ];
        if status >= 500 {
            measured.push(kv("error.type", status.to_string()));
        }
        self.observe(service, section5::SERVER_DURATION, measured);
        self.span(
            service,
            &format!("GET {route}"),
            span::SpanKind::Server,
            &trace,
            parent,
            attributes,
            status >= 500,
        )
    }

    /// A CLIENT span: ERROR, with `error.type`, for every failed call.
    fn client(&mut self, service: &str, parent: &Ids, url: &str, call: &CallOutcome) -> Ids {
        let mut attributes = vec![
            kv("http.request.method", "GET"),
            kv("url.full", url),
            kv("server.address", "127.0.0.1"),
            kv("http.response.status_code", i64::from(call.status)),
        ];
        if let Some(error_type) = &call.error_type {
            attributes.push(kv("error.type", error_type.as_str()));
        }
        let upstream = reqwest::Url::parse(url).expect("a fixture URL");
        let mut measured = vec![
            kv("http.request.method", "GET"),
            kv("server.address", upstream.host_str().unwrap()),
            kv("server.port", i64::from(upstream.port().unwrap())),
            kv("url.scheme", "http"),
            kv("http.response.status_code", i64::from(call.status)),
        ];
        if let Some(error_type) = &call.error_type {
            measured.push(kv("error.type", error_type.as_str()));
        }
        self.observe(service, section5::CLIENT_DURATION, measured);
        self.span(
            service,
            "GET",
            span::SpanKind::Client,
            &parent.trace,
            Some(parent.span.clone()),
            attributes,
            call.error_type.is_some(),
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn span(
        &mut self,
        service: &str,
        name: &str,
        kind: span::SpanKind,
        trace: &[u8],
        parent: Option<Vec<u8>>,
        attributes: Vec<KeyValue>,
        error: bool,
    ) -> Ids {
        self.next_span += 1;
        let id = unhex(&format!("{:016x}", self.next_span));
        // The check's own trace carries its tracestate, to every span of ours.
        let continued = hex(trace) == self.evidence.scenario.context.trace_id;
        let span = Span {
            trace_state: if continued {
                TRACESTATE.to_owned()
            } else {
                String::new()
            },
            trace_id: trace.to_vec(),
            span_id: id.clone(),
            parent_span_id: parent.unwrap_or_default(),
            name: name.to_owned(),
            kind: kind as i32,
            start_time_unix_nano: 1_000 + self.next_span,
            end_time_unix_nano: 1_000 + self.next_span + (SPAN_SECONDS * 1e9) as u64,
            attributes,
            status: error.then(|| Status {
                code: status::StatusCode::Error as i32,
                message: "failed".into(),
            }),
            ..Default::default()
        };
        let ids = Ids {
            trace: trace.to_vec(),
            span: id,
        };
        if self.section < 3 {
            return ids;
        }
        self.store.ingest_traces(
            ExportTraceServiceRequest {
                resource_spans: vec![ResourceSpans {
                    resource: Some(resource(service)),
                    scope_spans: vec![ScopeSpans {
                        scope: scope(section3::TRACER),
                        spans: vec![span],
                        ..Default::default()
                    }],
                    ..Default::default()
                }],
            },
            Protocol::Http,
        );
        ids
    }

    /// A log record, from section 2 on; from section 3 on it carries the span it was
    /// written `inside`.
    pub fn log(&mut self, service: &str, severity: i32, body: &str, inside: Option<&Ids>) {
        if self.section < 2 {
            return;
        }
        let inside = inside.filter(|_| self.section >= 3);
        let record = LogRecord {
            time_unix_nano: 1_500,
            severity_number: severity,
            severity_text: match severity {
                9 => "INFO",
                13 => "WARN",
                _ => "ERROR",
            }
            .into(),
            body: Some(AnyValue {
                value: Some(any_value::Value::StringValue(body.to_owned())),
            }),
            trace_id: inside.map(|i| i.trace.clone()).unwrap_or_default(),
            span_id: inside.map(|i| i.span.clone()).unwrap_or_default(),
            ..Default::default()
        };
        self.store.ingest_logs(
            ExportLogsServiceRequest {
                resource_logs: vec![ResourceLogs {
                    resource: Some(resource(service)),
                    scope_logs: vec![ScopeLogs {
                        // opentelemetry-appender-tracing's logger has no name.
                        scope: scope(""),
                        log_records: vec![record],
                        ..Default::default()
                    }],
                    ..Default::default()
                }],
            },
            Protocol::Http,
        );
    }

    /// One export of iss-distance's two counters, from section 1 on.
    pub fn counters(&mut self, incoming: usize, iss: &[(CallOutcome, usize)]) {
        if self.section < 1 {
            return;
        }
        let point = |attributes: Vec<KeyValue>, value: usize| NumberDataPoint {
            attributes,
            value: Some(number_data_point::Value::AsInt(value as i64)),
            ..Default::default()
        };
        let counter = |name: &str, points: Vec<NumberDataPoint>| Metric {
            name: name.to_owned(),
            unit: section1::UNIT.to_owned(),
            data: Some(metric::Data::Sum(Sum {
                data_points: points,
                aggregation_temporality: AggregationTemporality::Cumulative as i32,
                is_monotonic: true,
            })),
            ..Default::default()
        };
        let metrics = vec![
            counter("incoming.requests", vec![point(vec![], incoming)]),
            counter(
                "iss.requests",
                iss.iter()
                    .map(|(call, n)| {
                        let mut attributes =
                            vec![kv("http.response.status_code", i64::from(call.status))];
                        if let Some(error_type) = &call.error_type {
                            attributes.push(kv("error.type", error_type.as_str()));
                        }
                        point(attributes, *n)
                    })
                    .collect(),
            ),
        ];
        self.store.ingest_metrics(
            ExportMetricsServiceRequest {
                resource_metrics: vec![ResourceMetrics {
                    resource: Some(resource("iss-distance")),
                    scope_metrics: vec![ScopeMetrics {
                        scope: scope(section1::METER),
                        metrics,
                        ..Default::default()
                    }],
                    ..Default::default()
                }],
            },
            Protocol::Http,
        );
    }
}

/// The evidence of the uninstrumented services: console lines without a resource, nothing
/// received, the ISS API called without trace headers.
pub fn uninstrumented() -> Evidence {
    let mut evidence = World::new().finish();
    for (service, lines) in &mut evidence.console {
        *lines = vec![format!(
            "2026-11-20T10:00:00Z  INFO service_kit::server: {service} listening on http://127.0.0.1:5000"
        )];
    }
    evidence.replica = vec![
        "2026-11-20T10:00:00Z  INFO service_kit::server: geolocator listening on http://127.0.0.1:5002".to_owned(),
    ];
    evidence.stub_calls = evidence
        .scenario
        .steps
        .iter()
        .filter_map(Step::iss_call)
        .map(|answer| IssCall {
            answer,
            traceparent: None,
            tracestate: None,
            baggage: None,
        })
        .collect();
    evidence
}

/// Failed lines of sections 0..=`section`, by what they check.
pub fn failures(evidence: &Evidence, section: u8) -> BTreeMap<String, String> {
    super::evaluate(evidence, section)
        .into_iter()
        .flat_map(|(_, checks)| checks)
        .filter(|c| !c.passed())
        .map(|c| (c.what.clone(), c.to_string()))
        .collect()
}
