//! The doctor's judgement on fixture evidence: a perfect machine is all ticks with both paths
//! ready, and breaking one piece turns the right line into a ✗ (or !) with the right fix, and
//! blocks only the path that needs it.

use std::time::Duration;

use serde_json::json;

use super::command::Ran;
use super::data::Signal;
use super::http::Answer;
use super::paths::{self, Path};
use super::ports::{Expected, Holder};
use super::*;
use crate::report::{Status, Verdict};

fn got(status: u16, body: impl ToString) -> Answer {
    Answer::Got {
        status,
        body: body.to_string(),
    }
}

fn url(text: &str) -> reqwest::Url {
    text.parse().unwrap()
}

/// A Linux machine with everything installed, the services' ports free and the platform in
/// Docker up, with data in every backend.
fn perfect() -> Evidence {
    let timeout = Duration::from_secs(5);
    let ok_datasource = json!({"status": "OK", "message": "Data source successfully connected."});
    Evidence {
        os: "linux",
        arch: "x86_64",
        toolchain: toolchain::Seen {
            rustc: "rustc".into(),
            cargo: "cargo".into(),
            timeout,
            rustc_version: Ran::succeeded("rustc 1.95.0 (59807616e 2026-04-14)\n"),
            nextest_version: Ran::succeeded("cargo-nextest 0.9.100\n"),
        },
        ports: ["frontend", "gateway", "geolocator", "iss-distance"]
            .into_iter()
            .enumerate()
            .map(|(i, name)| ports::Seen {
                port: 5000 + i as u16,
                expected: Expected::Service(name),
                holder: Holder::Free,
            })
            .collect(),
        docker: docker::Seen {
            docker: "docker".into(),
            timeout,
            version: Ran::succeeded("Docker version 28.2.2, build e6534b4\n"),
            compose: Ran::succeeded("Docker Compose version v2.29.1\n"),
            info: Ran::succeeded("28.2.2\n"),
        },
        otelcol: otelcol::Seen::Asked {
            program: "/opt/otelcol-contrib".into(),
            timeout,
            version: Ran::succeeded("otelcol-contrib version 0.159.0\n"),
        },
        platform: platform::Seen {
            urls: platform::Urls {
                prometheus: url("http://127.0.0.1:9090"),
                grafana: url("http://127.0.0.1:3000"),
                otlp: url("http://127.0.0.1:4318"),
                collector_health: url("http://127.0.0.1:13133"),
                collector_metrics: url("http://127.0.0.1:8888"),
                otlp_grpc: url("http://127.0.0.1:4317"),
            },
            collector: got(200, "{}"),
            tap: false,
            collector_health: Answer::Unreachable("Connection refused".into()),
            collector_metrics: Answer::Unreachable("Connection refused".into()),
            prometheus: got(200, "Prometheus Server is Ready."),
            grafana: got(200, json!({"database": "ok", "version": "12.0.0"})),
            loki: got(200, &ok_datasource),
            tempo: got(200, &ok_datasource),
        },
        data: vec![
            (
                Signal::Metrics,
                Some(got(
                    200,
                    json!({"status": "success", "data": {"result": [
                        {"metric": {"__name__": "target_info"}},
                        {"metric": {"__name__": "iss_requests_total"}},
                    ]}}),
                )),
            ),
            (
                Signal::Logs,
                Some(got(
                    200,
                    json!({"status": "success", "data": {"result": [
                        {"stream": {"service_name": "gateway"}, "values": [["1", "a"]]},
                        {"stream": {"service_name": "frontend"}, "values": [["2", "b"]]},
                        {"stream": {"service_name": "gateway"}, "values": [["3", "c"]]},
                        {"stream": {"service_name": "geolocator"}, "values": []},
                    ]}}),
                )),
            ),
            (
                Signal::Traces,
                Some(got(
                    200,
                    json!({"traces": [
                        {"rootServiceName": "frontend"},
                        {"rootServiceName": "frontend"},
                    ]}),
                )),
            ),
        ],
    }
}

fn checks(evidence: &Evidence) -> Vec<Verdict> {
    judge(evidence)
        .into_iter()
        .flat_map(|(_, section)| section.verdicts)
        .collect()
}

fn line(evidence: &Evidence, name: &str) -> Verdict {
    checks(evidence)
        .into_iter()
        .find(|c| c.what == name)
        .unwrap_or_else(|| panic!("no line {name}"))
}

/// The lines that are not ✓ nor i, by name.
fn not_fine(evidence: &Evidence) -> Vec<(String, Status)> {
    checks(evidence)
        .into_iter()
        .filter(|c| !matches!(c.status, Status::Ok | Status::Info))
        .map(|c| (c.what, c.status))
        .collect()
}

fn missing(evidence: &Evidence, path: Path) -> Vec<String> {
    paths::missing(path, &judge(evidence))
}

fn take(evidence: &Evidence) -> Option<Path> {
    paths::report(judge(evidence)).1
}

fn data(evidence: &mut Evidence, signal: Signal) -> &mut Option<Answer> {
    &mut evidence
        .data
        .iter_mut()
        .find(|(s, _)| *s == signal)
        .unwrap()
        .1
}

fn assert_line(check: &Verdict, status: Status, detail: &str, fix: &str) {
    assert_eq!(check.status, status, "{check:?}");
    assert!(check.detail.contains(detail), "{detail:?} not in {check:?}");
    assert!(
        check.hint.as_deref().unwrap_or("").contains(fix),
        "{fix:?} not in {check:?}"
    );
}

#[test]
fn a_perfect_machine_is_all_ticks_and_takes_the_platform() {
    let evidence = perfect();
    assert_eq!(not_fine(&evidence), []);
    let sections = judge(&evidence);
    let titles: Vec<&str> = sections.iter().map(|(_, s)| s.title.as_str()).collect();
    assert_eq!(
        titles,
        [
            "System",
            "Toolchain (both paths)",
            "Ports (both paths)",
            "Docker (path b)",
            "Section 6 (check 6, and up --collector without Docker)",
            "Platform (path b: docker compose up -d)",
            "Data arriving (path b, last 15 minutes)",
        ]
    );
    assert_eq!(
        line(&evidence, "metrics").detail,
        "Prometheus has iss_requests_total, target_info"
    );
    assert_eq!(
        line(&evidence, "logs").detail,
        "Loki has log lines from frontend, gateway"
    );
    assert_eq!(
        line(&evidence, "traces").detail,
        "Tempo has traces from frontend"
    );
    assert_eq!(take(&evidence), Some(Path::Docker));
}

#[test]
fn prometheus_not_ready_blocks_only_the_platform_and_data_cannot_be_told() {
    let mut evidence = perfect();
    evidence.platform.prometheus = got(503, "starting");
    *data(&mut evidence, Signal::Metrics) = None;
    assert_eq!(
        not_fine(&evidence),
        [
            ("Prometheus".to_owned(), Status::Fail),
            ("metrics".to_owned(), Status::Warn)
        ]
    );
    assert_line(
        &line(&evidence, "Prometheus"),
        Status::Fail,
        "http://127.0.0.1:9090 not ready: 503 Service Unavailable: starting",
        "docker compose logs prometheus",
    );
    assert_line(
        &line(&evidence, "metrics"),
        Status::Warn,
        "cannot tell: Prometheus is not ready",
        "Fix Prometheus first",
    );
    assert_eq!(missing(&evidence, Path::Docker), ["Prometheus"]);
    assert_eq!(missing(&evidence, Path::WithoutDocker), [] as [&str; 0]);
}

#[test]
fn an_unreachable_platform_says_to_start_it() {
    let mut evidence = perfect();
    evidence.platform.collector = Answer::Unreachable("Connection refused".into());
    assert_line(
        &line(&evidence, "collector"),
        Status::Fail,
        "http://127.0.0.1:4318 not reachable (Connection refused)",
        "`docker compose up -d`, then `docker compose ps` (or point --otlp at where it runs)",
    );
    evidence.platform.collector = got(404, "404 page not found");
    assert_line(
        &line(&evidence, "collector"),
        Status::Fail,
        "POST http://127.0.0.1:4318/v1/traces answered 404 Not Found",
        "not an OTLP receiver",
    );
}

#[test]
fn the_platforms_collector_is_told_from_the_workshops_receiver_and_from_up_collector() {
    let evidence = perfect();
    assert_line(
        &line(&evidence, "collector"),
        Status::Ok,
        "accepts OTLP/HTTP (an empty trace export) and is a collector, not the workshop's \
         built-in receiver (it has no tap)",
        "",
    );

    // `workshop up` holds 4318 with its own receiver: path (a) as it should be, not (b).
    let mut up = perfect();
    up.platform.tap = true;
    assert_line(
        &line(&up, "collector"),
        Status::Fail,
        "http://127.0.0.1:4318 is the workshop's built-in OTLP receiver (`workshop up`'s",
        "For path (b): stop `workshop up` (Ctrl-C), start the platform (`docker compose up -d`)",
    );
    assert!(
        line(&up, "collector")
            .detail
            .contains("Prometheus, Loki and Tempo get none of it")
    );
    assert_eq!(missing(&up, Path::Docker), ["collector"]);
    assert_eq!(missing(&up, Path::WithoutDocker), [] as [&str; 0]);

    // `up --collector`: a real collector, but outside Docker, sending to `up`'s receiver.
    // Its answers as the real one (0.159.0) gives them.
    let mut real = perfect();
    real.platform.collector_health = got(
        200,
        json!({"status": "Server available", "upSince": "2026-12-07T21:31:01.10092401Z", "uptime": "2.884208618s"}),
    );
    let outside = "http://127.0.0.1:4318 is an OpenTelemetry Collector running on this machine \
                   outside Docker (its health check on http://127.0.0.1:13133 says \"Server available\"";
    assert_line(
        &line(&real, "collector"),
        Status::Fail,
        outside,
        "then `workshop up` without --collector",
    );
    assert!(line(&real, "collector").detail.contains("on 4320"));
    // Its own metrics alone tell it too.
    let mut metrics_only = perfect();
    metrics_only.platform.collector_metrics = got(200, "otelcol_process_uptime 2.906926075\n");
    assert_line(
        &line(&metrics_only, "collector"),
        Status::Fail,
        "(its own metrics are on http://127.0.0.1:8888/metrics; compose publishes neither)",
        "`workshop up --collector`",
    );
    // Whatever else answers there is no collector's health check.
    let mut stranger = perfect();
    stranger.platform.collector_health = got(200, "<html>hello</html>");
    stranger.platform.collector_metrics = got(200, "go_goroutines 8\n");
    assert_eq!(line(&stranger, "collector").status, Status::Ok);
}

#[test]
fn grafana_with_a_broken_database_is_not_healthy() {
    let mut evidence = perfect();
    evidence.platform.grafana = got(200, json!({"database": "failing"}));
    assert_eq!(not_fine(&evidence), [("Grafana".to_owned(), Status::Fail)]);
    assert_line(
        &line(&evidence, "Grafana"),
        Status::Fail,
        "not healthy: 200 OK",
        "docker compose logs grafana",
    );
}

#[test]
fn a_backend_grafana_cannot_reach_is_named_with_its_service() {
    let mut evidence = perfect();
    evidence.platform.loki = got(
        400,
        json!({"status": "ERROR", "message": "Unable to connect with Loki"}),
    );
    *data(&mut evidence, Signal::Logs) = None;
    assert_line(
        &line(&evidence, "Loki"),
        Status::Fail,
        "Grafana cannot reach it: Unable to connect with Loki",
        "`docker compose ps loki`",
    );
    evidence.platform.tempo = got(404, json!({"message": "Data source not found"}));
    assert_line(
        &line(&evidence, "Tempo"),
        Status::Fail,
        "Grafana has no datasource with uid \"tempo\"",
        "--force-recreate grafana",
    );
}

#[test]
fn no_data_yet_is_a_warning_that_says_how_to_send_some() {
    let mut evidence = perfect();
    *data(&mut evidence, Signal::Metrics) = Some(got(
        200,
        json!({"status": "success", "data": {"result": []}}),
    ));
    *data(&mut evidence, Signal::Logs) = Some(got(
        200,
        json!({"status": "success", "data": {"result": [
            {"stream": {"service_name": "gateway"}, "values": []},
        ]}}),
    ));
    *data(&mut evidence, Signal::Traces) = Some(got(200, json!({"traces": []})));
    assert_line(
        &line(&evidence, "metrics"),
        Status::Warn,
        "none of traces_span_metrics_calls_total, iss_requests_total, incoming_requests_total, \
         target_info in the last 5 minutes",
        "metrics every 60 s",
    );
    assert_line(
        &line(&evidence, "logs"),
        Status::Warn,
        "no log line in Loki",
        "logs every second",
    );
    assert_line(
        &line(&evidence, "traces"),
        Status::Warn,
        "no trace in Tempo",
        "Traces come with section 3",
    );
    // Data is good to know: no path waits for it.
    assert_eq!(missing(&evidence, Path::Docker), [] as [&str; 0]);
}

#[test]
fn an_answer_that_is_not_the_backends_is_a_failed_query() {
    let mut evidence = perfect();
    *data(&mut evidence, Signal::Metrics) = Some(got(200, "<html>"));
    *data(&mut evidence, Signal::Logs) = Some(got(502, json!({"status": "error"})));
    *data(&mut evidence, Signal::Traces) = Some(Answer::TimedOut);
    assert_line(
        &line(&evidence, "metrics"),
        Status::Fail,
        "the query failed: 200 OK: <html>",
        "Is --prometheus really Prometheus?",
    );
    assert_line(
        &line(&evidence, "logs"),
        Status::Fail,
        "the query through Grafana failed: 502 Bad Gateway",
        "docker compose logs loki grafana",
    );
    assert_line(
        &line(&evidence, "traces"),
        Status::Fail,
        "the search through Grafana failed: no answer in time",
        "docker compose logs tempo grafana",
    );
}

#[test]
fn traces_without_a_root_service_are_traces_all_the_same() {
    let mut evidence = perfect();
    *data(&mut evidence, Signal::Traces) = Some(got(200, json!({"traces": [{"traceID": "1"}]})));
    let traces = line(&evidence, "traces");
    assert_eq!(
        (traces.status, traces.detail.as_str()),
        (Status::Ok, "Tempo has traces")
    );
}

#[test]
fn without_docker_the_platform_is_one_line_and_path_a_is_taken() {
    let mut evidence = perfect();
    evidence.docker.version = Ran::NotFound;
    evidence.docker.compose = Ran::NotFound;
    evidence.docker.info = Ran::NotFound;
    let sections = judge(&evidence);
    let (_, platform) = sections.last().unwrap();
    assert_eq!(platform.title, "Platform (path b: docker compose up -d)");
    assert_eq!(platform.verdicts.len(), 1);
    assert_eq!(
        missing(&evidence, Path::Docker),
        ["Docker", "Docker Compose", "Docker daemon", "platform"]
    );
    assert_eq!(take(&evidence), Some(Path::WithoutDocker));
}

#[test]
fn a_taken_services_port_blocks_both_paths() {
    let mut evidence = perfect();
    evidence.ports[1].holder = Holder::Taken {
        reply: ports::Reply::Http(got(404, "")),
        airplay: false,
    };
    assert_eq!(
        not_fine(&evidence),
        [("port 5001 (gateway)".to_owned(), Status::Fail)]
    );
    for path in Path::ALL {
        assert_eq!(missing(&evidence, path), ["port 5001 (gateway)"]);
    }
}

#[test]
fn an_old_rust_blocks_both_paths_but_a_missing_collector_program_neither() {
    let mut evidence = perfect();
    evidence.toolchain.rustc_version = Ran::succeeded("rustc 1.80.1 (3f5fd8dd4 2024-08-06)");
    evidence.otelcol = otelcol::Seen::NotBuilt;
    assert_eq!(
        not_fine(&evidence),
        [
            ("Rust".to_owned(), Status::Fail),
            ("OpenTelemetry Collector".to_owned(), Status::Warn)
        ]
    );
    for path in Path::ALL {
        assert_eq!(missing(&evidence, path), ["Rust"]);
    }
}

#[test]
fn timeouts() {
    assert_eq!(parse_timeout("3s"), Ok(Duration::from_secs(3)));
    assert_eq!(parse_timeout("500ms"), Ok(Duration::from_millis(500)));
    assert_eq!(parse_timeout("2"), Ok(Duration::from_secs(2)));
    assert!(parse_timeout("0").is_err());
    assert!(parse_timeout("soon").is_err());
}

#[test]
fn urls() {
    assert!(parse_url("http://127.0.0.1:3000").is_ok());
    assert!(parse_url("https://x").is_err());
    assert!(parse_url("localhost:3000").is_err());
}
