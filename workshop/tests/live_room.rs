//! The room, live: `workshop room init` and `workshop room serve` as the instructor runs
//! them (the real collector and Prometheus, from the builds of `cargo run -p platform-live
//! --bin build-platform`), on free loopback ports, and attendees' real OTLP exporters
//! (opentelemetry-otlp over TLS, trusting the room's CA) sending to it.
//!
//! What the room promises, checked on what Prometheus stores: a sender holding alice's
//! token that claims to be bob is stored as alice, over gRPC and over HTTP; a request
//! without a token, or with a wrong one, is refused (401 over HTTP, Unauthenticated over
//! gRPC); the token reaches no backend.
//!
//! With the workshop's `room` feature, on Linux (the TLS clients' provider, aws-lc-rs,
//! compiles C): `cargo nextest run -p workshop --features room live_room::`.

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use opentelemetry::KeyValue;
use opentelemetry::metrics::MeterProvider as _;
use opentelemetry::trace::{Tracer as _, TracerProvider as _};
use opentelemetry_otlp::tonic_types::metadata::MetadataMap;
use opentelemetry_otlp::tonic_types::transport::{Certificate, ClientTlsConfig};
use opentelemetry_otlp::{
    MetricExporter, SpanExporter, WithExportConfig, WithHttpConfig, WithTonicConfig,
};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_client::MetricsServiceClient;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider};
use opentelemetry_sdk::trace::SdkTracerProvider;
use platform_live::process::Ports;
use platform_live::programs::{Program, executable};

use crate::common::{TreeLock, alive, children, live_ports, signal, text, workspace};

/// How long the collector and Prometheus may take to start (Prometheus replays its WAL).
const START: Duration = Duration::from_secs(90);
/// How long a sample may take to become queryable (the exporters' batches, Prometheus).
const ARRIVAL: Duration = Duration::from_secs(30);

#[test]
fn the_room_stores_each_attendees_telemetry_under_the_name_of_the_token_that_sent_it() {
    for program in [Program::Collector, Program::Prometheus] {
        if let Err(e) = executable(&workspace(), program, "") {
            panic!("{e}");
        }
    }
    let started = Instant::now();
    let room = Room::open("identity");
    let alice = room.join("alice");
    let bob = room.join("bob");

    // alice's token, bob's name on the resource and on the data point: stored as alice.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    for protocol in ["grpc", "http"] {
        let service = format!("room-test-{protocol}");
        let provider = {
            let _entered = runtime.enter();
            sender(&room, protocol, &alice.token, &service)
        };
        let counter = provider
            .meter("room-test")
            .u64_counter("room.test.sends")
            .build();
        counter.add(1, &[KeyValue::new("workshop.attendee", "bob")]);
        provider
            .force_flush()
            .unwrap_or_else(|e| panic!("alice's {protocol} export: {e}\n{}", room.log()));
        provider.shutdown().unwrap();

        let series = room.series_until(&format!(
            "room_test_sends_total{{service_name=\"{service}\"}}"
        ));
        assert_eq!(series.len(), 1, "{protocol}: {series:?}");
        assert_eq!(
            series[0].get("workshop_attendee").map(String::as_str),
            Some("alice"),
            "{protocol}: stored under the token's name: {series:?}"
        );
        let info = room.series_until(&format!("target_info{{service_name=\"{service}\"}}"));
        assert_eq!(info[0]["workshop_attendee"], "alice", "{info:?}");
    }
    // A span too: the span metrics that the collector computes from it carry the name.
    let tracer = span_sender(&room, &alice.token, "room-test-traces");
    tracer.tracer("room-test").in_span("room test", |_| {});
    tracer
        .force_flush()
        .unwrap_or_else(|e| panic!("alice's span: {e}\n{}", room.log()));
    tracer.shutdown().unwrap();
    let calls =
        room.series_until("traces_span_metrics_calls_total{service_name=\"room-test-traces\"}");
    assert_eq!(calls[0]["workshop_attendee"], "alice", "{calls:?}");

    assert_eq!(
        room.query("{workshop_attendee=\"bob\"}"),
        Vec::new(),
        "bob sent nothing: no series may claim him"
    );

    // No token, a wrong one, bob's name on alice's secret: refused, over both protocols.
    let (_, alice_secret) = alice.token.split_once('.').unwrap();
    let wrong = [
        ("no token", None),
        ("a wrong token", Some(format!("alice.{}", "0".repeat(32)))),
        (
            "bob's name on alice's secret",
            Some(format!("bob.{alice_secret}")),
        ),
        (
            "alice's token without the scheme",
            Some(alice.token.clone()),
        ),
    ];
    for (what, token) in &wrong {
        let header = token.as_ref().map(|t| {
            if t == &alice.token {
                t.clone()
            } else {
                format!("Bearer {t}")
            }
        });
        assert_eq!(
            room.post_http(header.as_deref()),
            401,
            "OTLP/HTTP with {what}"
        );
        let code = runtime.block_on(room.export_grpc(header.as_deref()));
        assert_eq!(code, tonic::Code::Unauthenticated, "OTLP/gRPC with {what}");
    }
    // The same requests with a token pass: the refusals are the tokens'.
    let bearer = format!("Bearer {}", bob.token);
    assert_eq!(room.post_http(Some(&bearer)), 200);
    assert_eq!(
        runtime.block_on(room.export_grpc(Some(&bearer))),
        tonic::Code::Ok
    );

    // No token, nor any part of one, in anything Prometheus stores: the senders' series,
    // `target_info` with every resource attribute, the collector's own metrics (scraped
    // every 5 s: waited for).
    room.series_until(
        "{job=\"otel-collector\", __name__=~\"otelcol_receiver_accepted_metric_points.*\"}",
    );
    let stored = room.every_label_value();
    for expected in [
        "alice",
        "room-test-grpc",
        "room-test-http",
        "otel-collector",
    ] {
        assert!(stored.contains(expected), "{expected} among {stored:?}");
    }
    for attendee in [&alice, &bob] {
        let (_, secret) = attendee.token.split_once('.').unwrap();
        let leaks: Vec<&String> = stored.iter().filter(|v| v.contains(secret)).collect();
        assert!(
            leaks.is_empty(),
            "{}'s secret is stored: {leaks:?}",
            attendee.name
        );
    }

    // Traces and logs go to the receiver in `serve`, whose tap `inspect --from` follows.
    let from = room.log();
    let from = from
        .split("inspect --from ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("serve names the receiver for inspect:\n{from}"))
        .to_owned();
    let tap = reqwest::blocking::Client::new()
        .get(format!("{from}/v1/tap"))
        .timeout(Duration::from_secs(5))
        .send()
        .unwrap();
    assert_eq!(tap.status(), 200, "{from}/v1/tap");
    drop(tap);

    room.close();
    eprintln!(
        "live room: init, serve, three exporters, 8 refusals and the checks in {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

/// The room board, live: alice has finished (her four services' resource, metrics, spans
/// in one trace, HTTP histograms), bob stopped after section 1 (iss-distance's counter),
/// carol sent nothing. Each attendee's telemetry is shaped like the services' at that
/// section, sent on the OpenTelemetry SDK through the room's real collector with their own
/// token. The dashboard "Room"'s queries (tested equal to `workshop/src/room/board.rs`)
/// and `room status --json` put each of them where they are.
#[test]
fn the_board_puts_each_attendee_at_the_section_their_telemetry_shows() {
    for program in [Program::Collector, Program::Prometheus] {
        if let Err(e) = executable(&workspace(), program, "") {
            panic!("{e}");
        }
    }
    let started = Instant::now();
    let room = Room::open_with("board", "alice,bob,carol");
    let alice = room.join("alice");
    let bob = room.join("bob");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let _entered = runtime.enter();

    // bob, after section 1: iss-distance's resource and its counter, nothing else.
    let bob_meters = attendee_meters(&room, &bob.token, &["iss-distance"], false);
    // alice, finished: the four services' resources, counters and HTTP histograms, and a
    // page request a second for 15 s, each one trace across the four services; every
    // fourth fails at the frontend.
    let alice_meters = attendee_meters(&room, &alice.token, &SERVICES, true);
    let tracers: Vec<SdkTracerProvider> = SERVICES
        .iter()
        .map(|service| span_sender(&room, &alice.token, service))
        .collect();
    for request in 0..15 {
        one_page_request(&tracers, request % 4 == 3);
        std::thread::sleep(Duration::from_secs(1));
    }
    for provider in tracers {
        provider
            .force_flush()
            .unwrap_or_else(|e| panic!("alice's spans: {e}\n{}", room.log()));
        provider.shutdown().unwrap();
    }
    for provider in bob_meters.into_iter().chain(alice_meters) {
        provider
            .force_flush()
            .unwrap_or_else(|e| panic!("metrics: {e}\n{}", room.log()));
        provider.shutdown().unwrap();
    }

    // The dashboard's queries, with its variable at "everyone in the room".
    let text =
        std::fs::read_to_string(workspace().join("platform/grafana/dashboards/room.json")).unwrap();
    let dashboard: serde_json::Value = serde_json::from_str(&text).unwrap();
    let table = &dashboard["panels"][0];
    let titles = &table["transformations"][1]["options"]["renameByName"];
    let queries: Vec<(String, String)> = table["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            let title = titles[format!("Value #{}", t["refId"].as_str().unwrap())]
                .as_str()
                .unwrap()
                .to_owned();
            (
                title,
                t["expr"].as_str().unwrap().replace("$attendee", ".+"),
            )
        })
        .collect();
    let expected = |title: &str| -> Vec<&str> {
        match title {
            "0 resource" | "1 metrics" | "last seen" => vec!["alice", "bob"],
            _ => vec!["alice"],
        }
    };
    let deadline = Instant::now() + ARRIVAL * 2;
    let answers = loop {
        let answers: Vec<(String, Vec<String>)> = queries
            .iter()
            .map(|(title, expr)| {
                let mut who: Vec<String> = room
                    .query(expr)
                    .into_iter()
                    .filter_map(|labels| labels.get("workshop_attendee").cloned())
                    .collect();
                who.sort();
                (title.clone(), who)
            })
            .collect();
        if answers.iter().all(|(t, who)| *who == expected(t)) || Instant::now() > deadline {
            break answers;
        }
        std::thread::sleep(Duration::from_secs(1));
    };
    for (title, who) in &answers {
        assert_eq!(
            who,
            &expected(title),
            "the dashboard's `{title}`: {answers:?}"
        );
    }

    // `room status`: the same, a row for carol too, and for dave, a latecomer whose token
    // line was added to the token file during the day.
    let mut tokens = std::fs::OpenOptions::new()
        .append(true)
        .open(room.dir.join("tokens"))
        .unwrap();
    std::io::Write::write_all(
        &mut tokens,
        format!("dave.{}\n", "0a".repeat(16)).as_bytes(),
    )
    .unwrap();
    let status = workshop(&[
        "room",
        "status",
        room.dir.to_str().unwrap(),
        "--prometheus",
        &format!("http://127.0.0.1:{}", room.prometheus),
        "--json",
    ])
    .output()
    .unwrap();
    assert!(
        status.status.success(),
        "room status: {}",
        text_of(&status.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    let rows = report["attendees"].as_array().unwrap();
    let names: Vec<&str> = rows
        .iter()
        .map(|r| r["attendee"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["alice", "bob", "carol", "dave"], "{report}");
    let sections = |row: &serde_json::Value| -> Vec<bool> {
        [
            "section_0",
            "section_1",
            "section_3",
            "section_4",
            "section_5",
        ]
        .iter()
        .map(|k| row[*k].as_bool().unwrap())
        .collect()
    };
    assert_eq!(sections(&rows[0]), [true; 5], "alice: {report}");
    assert_eq!(
        sections(&rows[1]),
        [true, true, false, false, false],
        "bob: {report}"
    );
    assert_eq!(sections(&rows[2]), [false; 5], "carol: {report}");
    assert_eq!(sections(&rows[3]), [false; 5], "dave: {report}");
    let requests = rows[0]["requests_per_second"].as_f64().unwrap();
    assert!(requests > 0.0, "alice's requests: {report}");
    let errors = rows[0]["error_ratio"].as_f64().unwrap();
    assert!(errors > 0.0 && errors < 1.0, "alice's errors: {report}");
    for row in &rows[..2] {
        let ago = row["last_seen_seconds_ago"].as_f64().unwrap();
        assert!((0.0..120.0).contains(&ago), "{report}");
    }
    assert!(rows[1]["requests_per_second"].is_null(), "bob: {report}");
    assert!(
        rows[2]["last_seen_seconds_ago"].is_null(),
        "carol: {report}"
    );

    // The table, as the instructor reads it.
    let table = workshop(&[
        "room",
        "status",
        room.dir.to_str().unwrap(),
        "--prometheus",
        &format!("http://127.0.0.1:{}", room.prometheus),
    ])
    .output()
    .unwrap();
    let table = text_of(&table.stdout);
    eprintln!("{table}");
    let carol = table.lines().find(|l| l.starts_with("carol")).unwrap();
    assert!(!carol.contains('✓'), "{table}");
    drop(_entered);
    room.close();
    eprintln!(
        "live board: 4 attendees (a latecomer among them), 15 traces, dashboard and status agree, in {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

const SERVICES: [&str; 4] = ["frontend", "gateway", "geolocator", "iss-distance"];

fn text_of(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// An attendee's services' metrics after section 0 (the resource: name, environment,
/// instance id): iss-distance's `incoming.requests` (section 1) and, `finished`, every
/// service's `http.server.request.duration` (section 5). Exported over OTLP/HTTP every
/// second until shut down.
fn attendee_meters(
    room: &Room,
    token: &str,
    services: &[&str],
    finished: bool,
) -> Vec<SdkMeterProvider> {
    services
        .iter()
        .map(|service| {
            let exporter = http_metric_exporter(room, token);
            let provider = SdkMeterProvider::builder()
                .with_resource(service_resource(service))
                .with_reader(
                    PeriodicReader::builder(exporter)
                        .with_interval(Duration::from_secs(1))
                        .build(),
                )
                .build();
            let meter = provider.meter("board-test");
            if *service == "iss-distance" {
                meter.u64_counter("incoming.requests").build().add(1, &[]);
            }
            if finished {
                meter
                    .f64_histogram("http.server.request.duration")
                    .with_unit("s")
                    .build()
                    .record(
                        0.012,
                        &[
                            KeyValue::new("http.request.method", "GET"),
                            KeyValue::new("http.route", "/"),
                            KeyValue::new("http.response.status_code", 200),
                        ],
                    );
            }
            provider
        })
        .collect()
}

/// A service's resource as section 0 builds it.
fn service_resource(service: &str) -> Resource {
    Resource::builder_empty()
        .with_attributes([
            KeyValue::new("service.name", service.to_owned()),
            KeyValue::new("service.version", "0.1.0"),
            KeyValue::new("deployment.environment.name", "dev"),
            KeyValue::new("service.instance.id", uuid::Uuid::new_v4().to_string()),
        ])
        .build()
}

/// One page request across the four services, as section 4 makes it: the frontend's
/// SERVER span, its CLIENT call to the gateway, whose SERVER span calls geolocator and
/// iss-distance (CLIENT → SERVER each), all in one trace. `failed`: the frontend's span
/// has status ERROR.
fn one_page_request(tracers: &[SdkTracerProvider], failed: bool) {
    use opentelemetry::Context;
    use opentelemetry::trace::{SpanKind, Status, TraceContextExt as _};
    let tracer = |i: usize| tracers[i].tracer("board-test");
    let span = |i: usize, name: &str, kind: SpanKind, parent: &Context| {
        let tracer = tracer(i);
        let span = tracer
            .span_builder(name.to_owned())
            .with_kind(kind)
            .start_with_context(&tracer, parent);
        parent.with_span(span)
    };
    let page = span(0, "GET /", SpanKind::Server, &Context::new());
    let to_gateway = span(0, "GET", SpanKind::Client, &page);
    let gateway = span(1, "GET /api/iss", SpanKind::Server, &to_gateway);
    for (i, name) in [(2, "geolocator"), (3, "iss-distance")] {
        let call = span(1, "GET", SpanKind::Client, &gateway);
        let server = span(i, &format!("GET /{name}"), SpanKind::Server, &call);
        server.span().end();
        call.span().end();
    }
    gateway.span().end();
    to_gateway.span().end();
    if failed {
        page.span().set_status(Status::error("the ISS API failed"));
    }
    page.span().end();
}

/// One attendee's join file, as far as the test needs it.
struct Join {
    name: String,
    token: String,
}

/// A room made by `room init` and run by `room serve`, stopped (Ctrl-C) when dropped.
struct Room {
    dir: PathBuf,
    serve: Option<Child>,
    output: mpsc::Receiver<String>,
    printed: std::cell::RefCell<Vec<String>>,
    grpc: u16,
    http: u16,
    prometheus: u16,
    ca: String,
    /// Held until the room stops: its ports are its own.
    _ports: TreeLock,
}

impl Room {
    fn open(name: &str) -> Room {
        Room::open_with(name, "alice,bob")
    }

    fn open_with(name: &str, attendees: &str) -> Room {
        let dir = std::env::temp_dir().join(format!("iss-live-room-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let lock = live_ports();
        let mut ports = Ports::default();
        let (grpc, http, prometheus, health, metrics) = (
            ports.take(),
            ports.take(),
            ports.take(),
            ports.take(),
            ports.take(),
        );
        let init = workshop(&[
            "room",
            "init",
            dir.to_str().unwrap(),
            "--attendees",
            attendees,
            "--host",
            "127.0.0.1",
            "--grpc-port",
            &grpc.to_string(),
            "--http-port",
            &http.to_string(),
        ])
        .output()
        .unwrap();
        assert!(init.status.success(), "room init: {}", text(&init.stderr));

        let mut serve = workshop(&[
            "room",
            "serve",
            dir.to_str().unwrap(),
            "--bind",
            "127.0.0.1",
            "--prometheus-port",
            &prometheus.to_string(),
            "--health-port",
            &health.to_string(),
            "--metrics-port",
            &metrics.to_string(),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
        let (lines, output) = mpsc::channel();
        for stream in [
            Box::new(serve.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
            Box::new(serve.stderr.take().unwrap()),
        ] {
            let lines = lines.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    let _ = lines.send(line);
                }
            });
        }
        let ca = std::fs::read_to_string(dir.join("tls/ca.crt")).unwrap();
        let room = Room {
            dir,
            serve: Some(serve),
            output,
            printed: Default::default(),
            grpc,
            http,
            prometheus,
            ca,
            _ports: lock,
        };
        room.wait_open();
        room
    }

    /// Until `serve` says where it listens (and says what the join files say).
    fn wait_open(&self) {
        let deadline = Instant::now() + START;
        while Instant::now() < deadline {
            if let Ok(line) = self.output.recv_timeout(Duration::from_millis(200)) {
                self.printed.borrow_mut().push(line);
            }
            let printed = self.printed.borrow().join("\n");
            if printed.contains("the room is open") && printed.contains("traces and logs") {
                for expected in [
                    format!("OTLP/gRPC   https://127.0.0.1:{}", self.grpc),
                    format!("OTLP/HTTP   https://127.0.0.1:{}", self.http),
                    format!("Prometheus  http://127.0.0.1:{}", self.prometheus),
                ] {
                    assert!(printed.contains(&expected), "{expected} in:\n{printed}");
                }
                return;
            }
            if printed.contains("workshop: ") {
                break;
            }
        }
        panic!("room serve did not open:\n{}", self.log());
    }

    /// What `serve` printed so far.
    fn log(&self) -> String {
        self.printed.borrow_mut().extend(self.output.try_iter());
        self.printed.borrow().join("\n")
    }

    fn join(&self, name: &str) -> Join {
        let text = std::fs::read_to_string(self.dir.join(format!("join/{name}.toml"))).unwrap();
        let join: toml::Table = toml::from_str(&text).unwrap();
        Join {
            name: name.to_owned(),
            token: join["token"].as_str().unwrap().to_owned(),
        }
    }

    fn http_client(&self) -> reqwest::blocking::Client {
        reqwest::blocking::Client::builder()
            .tls_certs_only([reqwest::Certificate::from_pem(self.ca.as_bytes()).unwrap()])
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap()
    }

    fn tls(&self) -> ClientTlsConfig {
        ClientTlsConfig::new()
            .ca_certificate(Certificate::from_pem(&self.ca))
            .domain_name("127.0.0.1")
    }

    /// An empty OTLP/HTTP metrics export with this `Authorization` header: the status.
    fn post_http(&self, authorization: Option<&str>) -> u16 {
        let mut request = self
            .http_client()
            .post(format!("https://127.0.0.1:{}/v1/metrics", self.http))
            .header("content-type", "application/x-protobuf")
            .body(prost::Message::encode_to_vec(
                &ExportMetricsServiceRequest::default(),
            ));
        if let Some(value) = authorization {
            request = request.header("authorization", value);
        }
        request.send().unwrap().status().as_u16()
    }

    /// An empty OTLP/gRPC metrics export with this `authorization` metadata: the code.
    async fn export_grpc(&self, authorization: Option<&str>) -> tonic::Code {
        let channel =
            tonic::transport::Channel::from_shared(format!("https://127.0.0.1:{}", self.grpc))
                .unwrap()
                .tls_config(self.tls())
                .unwrap()
                .timeout(Duration::from_secs(10))
                .connect()
                .await
                .unwrap();
        let mut request = tonic::Request::new(ExportMetricsServiceRequest::default());
        if let Some(value) = authorization {
            request
                .metadata_mut()
                .insert("authorization", value.parse().unwrap());
        }
        match MetricsServiceClient::new(channel).export(request).await {
            Ok(_) => tonic::Code::Ok,
            Err(status) => status.code(),
        }
    }

    /// The label sets of an instant query.
    fn query(&self, expr: &str) -> Vec<BTreeMap<String, String>> {
        let body: serde_json::Value = reqwest::blocking::Client::new()
            .get(format!("http://127.0.0.1:{}/api/v1/query", self.prometheus))
            .query(&[("query", expr)])
            .timeout(Duration::from_secs(10))
            .send()
            .unwrap()
            .json()
            .unwrap();
        assert_eq!(body["status"], "success", "{expr}: {body}");
        labels(&body["data"]["result"], "metric")
    }

    /// The label sets of `expr`, once it finds any.
    fn series_until(&self, expr: &str) -> Vec<BTreeMap<String, String>> {
        let deadline = Instant::now() + ARRIVAL;
        loop {
            let series = self.query(expr);
            if !series.is_empty() {
                return series;
            }
            assert!(
                Instant::now() < deadline,
                "{expr}: nothing in {ARRIVAL:?}\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    /// Every label value of every series Prometheus holds (the collector's own metrics,
    /// `target_info` with every resource attribute, the senders').
    fn every_label_value(&self) -> std::collections::BTreeSet<String> {
        let body: serde_json::Value = reqwest::blocking::Client::new()
            .get(format!(
                "http://127.0.0.1:{}/api/v1/series",
                self.prometheus
            ))
            .query(&[("match[]", "{__name__=~\".+\"}")])
            .timeout(Duration::from_secs(10))
            .send()
            .unwrap()
            .json()
            .unwrap();
        labels(&body["data"], "")
            .into_iter()
            .flat_map(|series| series.into_values())
            .collect()
    }

    /// Ctrl-C: `serve` stops the collector and Prometheus, and exits 0.
    fn close(mut self) {
        let mut serve = self.serve.take().unwrap();
        let programs = children(serve.id());
        assert!(
            programs.len() >= 2,
            "the collector and Prometheus run under serve: {programs:?}"
        );
        assert!(signal(serve.id(), Signal::SIGINT));
        let status = wait(&mut serve, Duration::from_secs(40));
        assert_eq!(status.and_then(|s| s.code()), Some(0), "{}", self.log());
        for pid in programs {
            assert!(!alive(pid), "{pid} still runs after serve stopped");
        }
    }
}

impl Drop for Room {
    fn drop(&mut self) {
        if let Some(mut serve) = self.serve.take() {
            signal(serve.id(), Signal::SIGINT);
            if wait(&mut serve, Duration::from_secs(40)).is_none() {
                let _ = serve.kill();
                let _ = serve.wait();
            }
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// An attendee's meter provider, exporting to the room over `protocol` with `token`:
/// exactly what the SDK does with OTEL_EXPORTER_OTLP_HEADERS and a trusted CA. The
/// resource claims to be bob's. (gRPC: call inside a tokio runtime.)
fn sender(room: &Room, protocol: &str, token: &str, service: &str) -> SdkMeterProvider {
    let exporter = match protocol {
        "grpc" => {
            let mut metadata = MetadataMap::new();
            let authorization = format!("Bearer {token}");
            metadata.insert("authorization", authorization.parse().unwrap());
            MetricExporter::builder()
                .with_tonic()
                .with_endpoint(format!("https://127.0.0.1:{}", room.grpc))
                .with_tls_config(room.tls())
                .with_metadata(metadata)
                .build()
                .unwrap()
        }
        _ => http_metric_exporter(room, token),
    };
    SdkMeterProvider::builder()
        .with_resource(
            Resource::builder_empty()
                .with_attributes([
                    KeyValue::new("service.name", service.to_owned()),
                    KeyValue::new("workshop.attendee", "bob"),
                ])
                .build(),
        )
        .with_reader(PeriodicReader::builder(exporter).build())
        .build()
}

/// The room's OTLP/HTTP metric exporter with `token`.
fn http_metric_exporter(room: &Room, token: &str) -> MetricExporter {
    MetricExporter::builder()
        .with_http()
        .with_endpoint(format!("https://127.0.0.1:{}/v1/metrics", room.http))
        .with_http_client(room.http_client())
        .with_headers(bearer(token))
        .build()
        .unwrap()
}

/// The header OTEL_EXPORTER_OTLP_HEADERS=authorization=Bearer%20TOKEN gives an exporter.
fn bearer(token: &str) -> HashMap<String, String> {
    HashMap::from([("authorization".to_owned(), format!("Bearer {token}"))])
}

/// An attendee's tracer provider, exporting to the room over OTLP/HTTP with `token`; the
/// resource claims to be bob's.
fn span_sender(room: &Room, token: &str, service: &str) -> SdkTracerProvider {
    let exporter = SpanExporter::builder()
        .with_http()
        .with_endpoint(format!("https://127.0.0.1:{}/v1/traces", room.http))
        .with_http_client(room.http_client())
        .with_headers(bearer(token))
        .build()
        .unwrap();
    SdkTracerProvider::builder()
        .with_resource(
            Resource::builder_empty()
                .with_attributes([
                    KeyValue::new("service.name", service.to_owned()),
                    KeyValue::new("workshop.attendee", "bob"),
                ])
                .build(),
        )
        .with_batch_exporter(exporter)
        .build()
}

fn workshop(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_workshop"));
    command.args(args).stdin(Stdio::null());
    command
}

fn labels(result: &serde_json::Value, key: &str) -> Vec<BTreeMap<String, String>> {
    result
        .as_array()
        .into_iter()
        .flatten()
        .map(|item| {
            let labels = if key.is_empty() { item } else { &item[key] };
            labels
                .as_object()
                .into_iter()
                .flatten()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                .collect()
        })
        .collect()
}

fn wait(child: &mut Child, longest: Duration) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + longest;
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    None
}
