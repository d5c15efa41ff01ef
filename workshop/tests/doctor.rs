//! `workshop doctor` against stand-ins in this test: a platform that answers every readiness
//! and data endpoint as it should, one that answers 503 and garbage, one that is half broken
//! (Grafana up, Loki unreachable behind it, no data yet), and one that is absent (closed
//! ports). Docker is replaced by scripts (too old, hanging, missing) through WORKSHOP_DOCKER,
//! and the real client of this machine is checked not to hang when there is no daemon.
//!
//! The fake programs are shell scripts, so the tests that use them are Unix only; on Windows
//! the rest still compiles, without the helpers only those use.
#![cfg_attr(not(unix), allow(dead_code, unused_imports))]

use crate::common;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::Path as UrlPath;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use serde_json::{Value, json};

/// What the stub platform answers.
#[derive(Clone, Copy, PartialEq)]
enum Platform {
    /// Everything ready, data in Prometheus, Loki and Tempo.
    Good,
    /// 503 "garbage" for everything.
    Broken,
    /// Ready, but Grafana cannot reach Loki, has no Tempo datasource, and there is no data.
    NoData,
}

type Seen = Arc<Mutex<Vec<String>>>;

/// Serves `app` on a port below the kernel's ephemeral range whose next three ports are free
/// too: some tests pass this port as `--port`, and the services' other three ports must not
/// be taken at random by another test's connection (as an ephemeral port could be).
async fn serve(app: axum::Router) -> SocketAddr {
    let listener = loop {
        // Another test process may take the same base first: then look again.
        if let Ok(listener) =
            tokio::net::TcpListener::bind(("127.0.0.1", common::free_base_port())).await
        {
            break listener;
        }
    };
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

/// One stand-in for Prometheus, Grafana (with Loki and Tempo behind it) and the collector's
/// OTLP/HTTP port; every request's path and query is recorded.
async fn platform(kind: Platform) -> (SocketAddr, Seen) {
    let seen: Seen = Arc::default();
    let record = Arc::clone(&seen);
    let app = if kind == Platform::Broken {
        axum::Router::new().fallback(|| async { (StatusCode::SERVICE_UNAVAILABLE, "garbage") })
    } else {
        let good = kind == Platform::Good;
        axum::Router::new()
            .route(
                "/-/ready",
                get(|| async { "Prometheus Server is Ready.\n" }),
            )
            .route(
                "/api/health",
                get(|| async {
                    axum::Json(json!({"database": "ok", "version": "13.2.0"}))
                }),
            )
            .route(
                "/api/datasources/uid/{uid}/health",
                get(move |UrlPath(uid): UrlPath<String>| async move {
                    match (good, uid.as_str()) {
                        (true, _) | (false, "prometheus") => (
                            StatusCode::OK,
                            axum::Json(json!({"status": "OK", "message": "Data source is working"})),
                        ),
                        (false, "loki") => (
                            StatusCode::BAD_REQUEST,
                            axum::Json(json!({
                                "status": "ERROR",
                                "message": "Unable to connect with Loki. Please check the server logs for more details."
                            })),
                        ),
                        _ => (
                            StatusCode::NOT_FOUND,
                            axum::Json(json!({"message": "Data source not found"})),
                        ),
                    }
                }),
            )
            .route(
                "/v1/traces",
                post(|| async { ([("content-type", "application/json")], "{}") }),
            )
            .route(
                "/api/v1/query",
                get(move || async move {
                    let result = if good {
                        json!([{"metric": {"__name__": "traces_span_metrics_calls_total"}, "value": [0, "12"]},
                               {"metric": {"__name__": "target_info"}, "value": [0, "4"]}])
                    } else {
                        json!([])
                    };
                    axum::Json(json!({"status": "success", "data": {"resultType": "vector", "result": result}}))
                }),
            )
            .route(
                "/api/datasources/proxy/uid/loki/loki/api/v1/query_range",
                get(move || async move {
                    if good {
                        axum::Json(json!({"status": "success", "data": {"resultType": "streams", "result": [
                            {"stream": {"service_name": "gateway"}, "values": [["1700000000000000000", "GET /distance 200"]]},
                            {"stream": {"service_name": "geolocator"}, "values": [["1700000000000000000", "found Berlin"]]}
                        ]}}))
                        .into_response()
                    } else {
                        (StatusCode::OK, "<html>login</html>").into_response()
                    }
                }),
            )
            .route(
                "/api/datasources/proxy/uid/tempo/api/search",
                get(move || async move {
                    let traces = if good {
                        json!([{"traceID": "4bf92f3577b34da6a3ce929d0e0e4736", "rootServiceName": "frontend", "rootTraceName": "GET /"}])
                    } else {
                        json!([])
                    };
                    axum::Json(json!({"traces": traces, "metrics": {}}))
                }),
            )
    };
    let app = app.layer(axum::middleware::from_fn(
        move |request: axum::extract::Request, next: axum::middleware::Next| {
            let record = Arc::clone(&record);
            async move {
                record.lock().unwrap().push(request.uri().to_string());
                next.run(request).await
            }
        },
    ));
    (serve(app).await, seen)
}

/// A stand-in for a workshop service on the frontend's port: `/healthz` answers "ok".
async fn service() -> SocketAddr {
    serve(axum::Router::new().route("/healthz", get(|| async { "ok" }))).await
}

/// A fake docker (or rustc) in its own directory, from a shell script body.
#[cfg(unix)]
struct Script {
    dir: PathBuf,
}

#[cfg(unix)]
impl Script {
    fn new(name: &str, body: &str) -> Script {
        use std::os::unix::fs::PermissionsExt;
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "workshop-doctor-{name}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        Script { dir }
    }

    fn path(&self, name: &str) -> String {
        self.dir.join(name).to_string_lossy().into_owned()
    }
}

#[cfg(unix)]
impl Drop for Script {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A docker that is fine in every way the doctor asks.
#[cfg(unix)]
fn good_docker() -> Script {
    Script::new(
        "docker",
        r#"case "$1" in
  --version) echo "Docker version 28.2.2, build e6534b4" ;;
  compose) echo "Docker Compose version v2.29.1" ;;
  info) echo "28.2.2" ;;
  *) exit 1 ;;
esac"#,
    )
}

struct Run {
    stdout: String,
    output: Output,
    took: Duration,
}

impl Run {
    /// The mark of check `name`'s line, and the rest of the line after its name: its detail
    /// and, unless it is ✓, its fix.
    fn check(&self, name: &str) -> (&str, &str) {
        for line in self.stdout.lines().map(str::trim_start) {
            for mark in ["✓", "!", "✗"] {
                if let Some(rest) = line.strip_prefix(&format!("{mark} {name} — ")) {
                    return (mark, rest);
                }
            }
        }
        panic!("no check {name:?} in\n{}", self.stdout)
    }

    /// The verdict line of path `letter` ("a" or "b"): its mark and the rest of the line.
    fn path(&self, letter: &str) -> (&str, &str) {
        let after = self
            .stdout
            .split_once("\nPaths\n")
            .unwrap_or_else(|| panic!("no Paths section in\n{}", self.stdout))
            .1;
        after
            .lines()
            .find_map(|line| {
                let (mark, rest) = line.trim_start().split_once(' ')?;
                rest.strip_prefix(&format!("({letter}) "))
                    .map(|rest| (mark, rest))
            })
            .unwrap_or_else(|| panic!("no path ({letter}) in\n{}", self.stdout))
    }

    /// Check `name` stands in the way of path (b), not of path (a). (Whether (a) is ready
    /// depends on the services' ports too, which tests running alongside may take.)
    fn assert_blocks_only_path_b(&self, name: &str) {
        let blocking = |letter| {
            let (_, line) = self.path(letter);
            line.split_once("to fix first (✗ above): ")
                .is_some_and(|(_, names)| names.split(", ").any(|n| n == name))
        };
        assert!(blocking("b"), "{name} blocks path (b):\n{}", self.stdout);
        assert!(
            !blocking("a"),
            "{name} does not block path (a):\n{}",
            self.stdout
        );
    }

    /// The last line: which path to take now.
    fn take(&self) -> &str {
        self.stdout.lines().last().unwrap_or_default()
    }

    /// Check `name` is marked `mark`, says `detail`, and says `fix`, or (None) is ✓ and so
    /// has no fix.
    fn assert(&self, name: &str, mark: &str, detail: &str, fix: Option<&str>) {
        let (got_mark, rest) = self.check(name);
        assert_eq!(got_mark, mark, "{name}: {rest}\n{}", self.stdout);
        for said in [Some(detail), fix].into_iter().flatten() {
            assert!(
                rest.contains(said),
                "{name}: {rest:?} should contain {said:?}\n{}",
                self.stdout
            );
        }
        assert_eq!(fix.is_none(), mark == "✓", "{name}: a fix unless ✓");
    }
}

/// Runs `workshop doctor` pointed at `platform` (all three URLs) with the services' base port
/// `port`, and `docker` as the docker program.
async fn doctor(platform: &str, port: u16, docker: &str, extra: &[&str]) -> Run {
    doctor_with(platform, port, docker, extra, &[]).await
}

/// [`doctor`] with more environment variables.
async fn doctor_with(
    platform: &str,
    port: u16,
    docker: &str,
    extra: &[&str],
    env: &[(&str, &str)],
) -> Run {
    let port = port.to_string();
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_workshop"));
    command.args(["doctor", "--prometheus", platform, "--grafana", platform]);
    // `extra` may point these elsewhere. A collector's health check and metrics are looked
    // for on a closed port unless a test gives some: another test's collector may be on
    // this machine's 13133 and 8888.
    let closed = format!("http://127.0.0.1:{}", common::closed_port());
    for (option, default) in [
        ("--otlp", platform),
        ("--otlp-grpc", platform),
        ("--collector-health", &closed),
        ("--collector-metrics", &closed),
    ] {
        if !extra.contains(&option) {
            command.args([option, default]);
        }
    }
    command
        .args(["--port", &port, "--timeout", "2s"])
        .args(extra)
        .envs(env.iter().copied())
        .env("WORKSHOP_DOCKER", docker)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let started = Instant::now();
    let output = tokio::time::timeout(Duration::from_secs(30), command.output())
        .await
        .expect("doctor finishes within 30 s")
        .unwrap();
    Run {
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        took: started.elapsed(),
        output,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg(unix)]
async fn a_platform_that_answers_everything_is_all_ticks() {
    let (addr, seen) = platform(Platform::Good).await;
    let frontend = service().await;
    let docker = good_docker();
    let run = doctor(
        &format!("http://{addr}"),
        frontend.port(),
        &docker.path("docker"),
        &[],
    )
    .await;
    let p = addr.port();
    run.assert("collector", "✓", "accepts OTLP/HTTP", None);
    run.assert("Prometheus", "✓", "is ready", None);
    run.assert("Grafana", "✓", "is healthy", None);
    run.assert("Loki", "✓", "ready, through Grafana", None);
    run.assert("Tempo", "✓", "ready, through Grafana", None);
    run.assert(
        "metrics",
        "✓",
        "traces_span_metrics_calls_total, target_info",
        None,
    );
    run.assert("logs", "✓", "log lines from gateway, geolocator", None);
    run.assert("traces", "✓", "traces from frontend", None);
    run.assert(
        &format!("port {p} (Grafana)"),
        "✓",
        "in use by Grafana",
        None,
    );
    run.assert(
        &format!("port {p} (Prometheus)"),
        "✓",
        "in use by Prometheus",
        None,
    );
    run.assert(
        &format!("port {p} (OTLP/HTTP)"),
        "✓",
        "in use by an OTLP receiver without a tap, a collector",
        None,
    );
    run.assert(
        "collector",
        "✓",
        "is a collector, not the workshop's built-in receiver (it has no tap)",
        None,
    );
    run.assert(
        &format!("port {} (frontend)", frontend.port()),
        "✓",
        "in use by a workshop service",
        None,
    );
    run.assert("Docker", "✓", "Docker version 28.2.2", None);
    run.assert("Docker Compose", "✓", "2.29.1", None);
    run.assert("Docker daemon", "✓", "Docker Engine 28.2.2", None);
    run.assert("Rust", "✓", "needs 1.88 or newer", None);
    assert_eq!(run.output.status.code(), Some(0), "{}", run.stdout);
    assert!(run.path("a").1.contains(" — ready: "), "{}", run.stdout);
    assert!(run.path("b").1.contains(" — ready: "), "{}", run.stdout);
    assert!(
        run.take()
            .starts_with("You can take path (b) now: `docker compose up -d`"),
        "{}",
        run.stdout
    );

    // The queries the doctor made: a known metric, any service's logs, a trace search.
    let seen = seen.lock().unwrap().join("\n");
    for expected in [
        "/api/v1/query?query=count+by+%28__name__%29",
        "iss_requests_total",
        "/api/datasources/uid/loki/health",
        "/api/datasources/uid/tempo/health",
        "/api/datasources/proxy/uid/loki/loki/api/v1/query_range?query=%7Bservice_name%3D%7E%22.%2B%22%7D",
        "/api/datasources/proxy/uid/tempo/api/search?",
    ] {
        assert!(seen.contains(expected), "{expected} in\n{seen}");
    }
}

/// `workshop up` runs with its built-in receiver on the OTLP ports: that is path (a) at work,
/// and the collector line must not pass it off as the platform's collector.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg(unix)]
async fn with_up_running_the_collector_line_names_ups_receiver() {
    let (addr, _) = platform(Platform::Good).await;
    // The receiver `up` starts, as it is.
    let receiver = otlp_receiver::Receiver::start(otlp_receiver::ReceiverConfig::ephemeral())
        .await
        .unwrap();
    let docker = good_docker();
    let otlp = receiver.http_endpoint();
    let grpc = receiver.grpc_endpoint();
    let run = doctor(
        &format!("http://{addr}"),
        common::free_base_port(),
        &docker.path("docker"),
        &["--otlp", &otlp, "--otlp-grpc", &grpc],
    )
    .await;
    run.assert(
        "collector",
        "✗",
        &format!(
            "{otlp} is the workshop's built-in OTLP receiver (`workshop up`'s, or `workshop \
             inspect`'s: it has a tap, /v1/tap), not the platform's collector"
        ),
        Some("For path (b): stop `workshop up` (Ctrl-C), start the platform"),
    );
    run.assert(
        &format!("port {} (OTLP/HTTP)", receiver.http_addr().port()),
        "✓",
        "in use by the workshop's built-in OTLP receiver (it has a tap)",
        None,
    );
    run.assert_blocks_only_path_b("collector");
    receiver.shutdown().await;
}

/// `workshop up --collector` runs the real collector on the OTLP ports, outside Docker: its
/// health check (13133) and metrics (8888) answer on this machine, which compose never
/// publishes. The stand-in answers as the real one (contrib 0.159.0) does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg(unix)]
async fn a_collector_outside_docker_is_told_from_the_platforms() {
    let (addr, _) = platform(Platform::Good).await;
    let collector = serve(
        axum::Router::new()
            .route(
                "/v1/traces",
                post(|| async {
                    (
                        [("content-type", "application/json")],
                        r#"{"partialSuccess":{}}"#,
                    )
                }),
            )
            .route(
                "/",
                get(|| async {
                    axum::Json(json!({
                        "status": "Server available",
                        "upSince": "2026-12-07T21:31:01.10092401Z",
                        "uptime": "2.884208618s"
                    }))
                }),
            )
            .route(
                "/metrics",
                get(|| async { "otelcol_process_uptime 2.906926075\n" }),
            ),
    )
    .await;
    let collector = format!("http://{collector}");
    let docker = good_docker();
    let run = doctor(
        &format!("http://{addr}"),
        common::free_base_port(),
        &docker.path("docker"),
        &[
            "--otlp",
            &collector,
            "--collector-health",
            &collector,
            "--collector-metrics",
            &collector,
        ],
    )
    .await;
    run.assert(
        "collector",
        "✗",
        &format!(
            "{collector} is an OpenTelemetry Collector running on this machine outside Docker \
             (its health check on {collector} says \"Server available\", its own metrics are on \
             {collector}/metrics; compose publishes neither): `workshop up --collector`'s"
        ),
        Some("then `workshop up` without --collector"),
    );
    run.assert(
        &format!("port {} (OTLP/HTTP)", collector.rsplit(':').next().unwrap()),
        "✓",
        "in use by an OTLP receiver without a tap, a collector",
        None,
    );
    run.assert_blocks_only_path_b("collector");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg(unix)]
async fn a_platform_answering_503_and_garbage_is_crosses_with_fixes() {
    let (addr, _) = platform(Platform::Broken).await;
    // The frontend's port is taken by something that is not a workshop service.
    let stranger = addr;
    let docker = good_docker();
    let run = doctor(
        &format!("http://{addr}"),
        stranger.port(),
        &docker.path("docker"),
        &[],
    )
    .await;
    assert_eq!(run.output.status.code(), Some(1), "{}", run.stdout);
    let p = addr.port();
    run.assert(
        "collector",
        "✗",
        "answered 503 Service Unavailable: garbage",
        Some("docker compose logs otel-collector"),
    );
    run.assert(
        "Prometheus",
        "✗",
        "not ready: 503",
        Some("docker compose logs prometheus"),
    );
    run.assert(
        "Grafana",
        "✗",
        "not healthy: 503",
        Some("docker compose logs grafana"),
    );
    run.assert(
        "Loki",
        "✗",
        "Grafana's datasource health answered 503",
        Some("Fix Grafana first"),
    );
    run.assert("Tempo", "✗", "answered 503", Some("Fix Grafana first"));
    // Data cannot arrive in what is not ready: worth knowing, not a problem of its own.
    run.assert(
        "metrics",
        "!",
        "Prometheus is not ready",
        Some("Fix Prometheus first"),
    );
    run.assert("logs", "!", "Loki is not ready", Some("Fix Loki first"));
    run.assert("traces", "!", "Tempo is not ready", Some("Fix Tempo first"));
    run.assert(
        &format!("port {p} (Grafana)"),
        "✗",
        "taken by something that is not Grafana",
        Some(&format!("{p}")),
    );
    run.assert(
        &format!("port {p} (frontend)"),
        "✗",
        "taken by another program",
        Some("up --port 8000"),
    );
    // The frontend's port is taken by a stranger: neither path can run the services.
    assert_eq!(run.path("a").0, "✗", "{}", run.stdout);
    assert!(
        run.path("a").1.ends_with(&format!(
            "to fix first (✗ above): port {p} (frontend), port {p} (OTLP/HTTP)"
        )),
        "{}",
        run.stdout
    );
    assert_eq!(run.path("b").0, "✗", "{}", run.stdout);
    assert!(
        run.take().starts_with("No path is ready yet"),
        "{}",
        run.stdout
    );
    let stderr = String::from_utf8_lossy(&run.output.stderr);
    assert!(stderr.contains("no path is ready yet"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg(unix)]
async fn backends_grafana_cannot_reach_and_missing_data_are_reported() {
    let (addr, _) = platform(Platform::NoData).await;
    let docker = good_docker();
    let run = doctor(
        &format!("http://{addr}"),
        common::free_base_port(),
        &docker.path("docker"),
        &[],
    )
    .await;
    run.assert("Grafana", "✓", "is healthy", None);
    run.assert(
        "Loki",
        "✗",
        "Grafana cannot reach it: Unable to connect with Loki",
        Some("docker compose logs loki"),
    );
    run.assert(
        "Tempo",
        "✗",
        "Grafana has no datasource with uid \"tempo\"",
        Some("--force-recreate grafana"),
    );
    // No data yet is expected until the services run: a warning, and path (b) needs none.
    run.assert(
        "metrics",
        "!",
        "none of traces_span_metrics_calls_total",
        Some("workshop -- load"),
    );
    run.assert("logs", "!", "Loki is not ready", Some("Fix Loki first"));
    run.assert("traces", "!", "Tempo is not ready", Some("Fix Tempo first"));
    assert_eq!(
        run.path("b"),
        (
            "✗",
            "the platform in Docker (collector, Prometheus, Loki, Tempo, Grafana) — to fix first (✗ above): Loki, Tempo"
        ),
        "{}",
        run.stdout
    );
}

/// Docker is there, the platform is not started: path (b) lists what is missing, while
/// path (a) is ready and doctor says to take it (exit 0).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg(unix)]
async fn with_docker_but_no_platform_path_a_is_ready_and_b_says_what_is_missing() {
    let closed = common::closed_port();
    let docker = good_docker();
    let run = doctor(
        &format!("http://127.0.0.1:{closed}"),
        common::free_base_port(),
        &docker.path("docker"),
        &[],
    )
    .await;
    assert_eq!(run.output.status.code(), Some(0), "{}", run.stdout);
    for name in ["collector", "Prometheus", "Grafana"] {
        run.assert(name, "✗", "not reachable", Some("docker compose up -d"));
    }
    for name in ["Loki", "Tempo"] {
        run.assert(
            name,
            "✗",
            "Grafana not reachable",
            Some("only reachable inside the compose network"),
        );
    }
    run.assert(&format!("port {closed} (Grafana)"), "✓", "free", None);
    run.assert(&format!("port {closed} (Prometheus)"), "✓", "free", None);
    assert_eq!(
        run.path("a"),
        (
            "✓",
            "without Docker: the services and a built-in receiver — ready: `cargo run -p workshop -- up`, then `cargo run -p workshop -- inspect` in a second terminal"
        ),
        "{}",
        run.stdout
    );
    assert_eq!(
        run.path("b"),
        (
            "✗",
            "the platform in Docker (collector, Prometheus, Loki, Tempo, Grafana) — to fix first (✗ above): collector, Prometheus, Grafana, Loki, Tempo"
        ),
        "{}",
        run.stdout
    );
    assert!(
        run.take()
            .starts_with("You can take path (a) now: `cargo run -p workshop -- up`"),
        "{}",
        run.stdout
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg(unix)]
async fn old_compose_old_rust_and_a_hanging_daemon_are_reported_without_leftovers() {
    let marker = format!("hang-{}", std::process::id());
    // `docker info` starts a child and waits: both must be killed at the timeout.
    let docker = Script::new(
        "docker",
        &format!(
            r#"case "$1" in
  --version) echo "Docker version 24.0.7, build afdd53b" ;;
  compose) echo "Docker Compose version v2.21.0" ;;
  info) sh -c 'sleep 30; echo {marker}' ; echo done ;;
esac"#
        ),
    );
    let rustc = Script::new("rustc", r#"echo "rustc 1.80.1 (3f5fd8dd4 2024-08-06)""#);
    let closed = common::closed_port();
    let started = Instant::now();
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_workshop"));
    command
        .args(["doctor", "--timeout", "1s"])
        .args(["--prometheus", &format!("http://127.0.0.1:{closed}")])
        .args(["--grafana", &format!("http://127.0.0.1:{closed}")])
        .args(["--otlp", &format!("http://127.0.0.1:{closed}")])
        .env("WORKSHOP_DOCKER", docker.path("docker"))
        .env("WORKSHOP_RUSTC", rustc.path("rustc"))
        .kill_on_drop(true);
    let output = tokio::time::timeout(Duration::from_secs(20), command.output())
        .await
        .expect("doctor does not hang")
        .unwrap();
    let run = Run {
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        took: started.elapsed(),
        output,
    };
    assert!(run.took < Duration::from_secs(6), "took {:?}", run.took);
    // Only the all-in-compose alternative needs watch.
    run.assert(
        "Docker Compose",
        "!",
        "2.21.0 is too old for `docker compose up --watch` (needs 2.22 or newer)",
        Some("Update Docker Desktop"),
    );
    run.assert(
        "Docker daemon",
        "✗",
        "info` did not answer within 1s",
        Some("restart"),
    );
    run.assert(
        "Rust",
        "✗",
        "rustc 1.80.1 is older than the workspace's rust-version 1.88",
        Some("rustup update stable"),
    );
    assert_no_process_with(&marker);
    assert_no_process_with(&docker.path("docker"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg(unix)]
async fn ctrl_c_stops_the_commands_it_started() {
    let marker = format!("ctrlc-{}", std::process::id());
    let docker = Script::new("docker", &format!(r#"sh -c 'sleep 30; echo {marker}'"#));
    let closed = common::closed_port();
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_workshop"));
    command
        .args(["doctor", "--timeout", "60s"])
        .args(["--prometheus", &format!("http://127.0.0.1:{closed}")])
        .args(["--grafana", &format!("http://127.0.0.1:{closed}")])
        .args(["--otlp", &format!("http://127.0.0.1:{closed}")])
        .env("WORKSHOP_DOCKER", docker.path("docker"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let child = command.spawn().unwrap();
    let pid = child.id().unwrap();
    // Until the three docker commands are running.
    let deadline = Instant::now() + Duration::from_secs(10);
    while count_processes_with(&marker) < 3 {
        assert!(
            Instant::now() < deadline,
            "the docker commands did not start"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(common::signal(pid, nix::sys::signal::Signal::SIGINT));
    let output = tokio::time::timeout(Duration::from_secs(5), child.wait_with_output())
        .await
        .expect("doctor exits within 5 s of Ctrl-C")
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("interrupted"), "{stderr}");
    assert_no_process_with(&marker);
}

#[cfg(unix)]
fn processes_with(text: &str) -> Vec<String> {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().parse::<u32>().is_ok())
        .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
        .map(|c| String::from_utf8_lossy(&c).replace('\0', " "))
        .filter(|c| c.contains(text))
        .collect()
}

#[cfg(unix)]
fn count_processes_with(text: &str) -> usize {
    processes_with(text).len()
}

/// No process on this machine has `text` in its command line.
#[cfg(unix)]
fn assert_no_process_with(text: &str) {
    // Killed processes may take a moment to be reaped by their new parent.
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let left = processes_with(text);
        if left.is_empty() {
            return;
        }
        assert!(Instant::now() < deadline, "left behind: {left:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A laptop without Docker, where `workshop up` works: doctor says path (a) is ready and
/// exits 0; path (b) needs Docker, and the platform is not probed line by line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_docker_path_a_is_ready_and_doctor_exits_0() {
    let closed = common::closed_port();
    let run = doctor(
        &format!("http://127.0.0.1:{closed}"),
        common::free_base_port(),
        "/nonexistent/docker",
        &[],
    )
    .await;
    run.assert(
        "Docker",
        "✗",
        "`/nonexistent/docker` is not installed",
        Some("https://docs.docker.com/get-started/get-docker/"),
    );
    run.assert(
        "Docker Compose",
        "✗",
        "needs Docker",
        Some("Install Docker first"),
    );
    run.assert(
        "Docker daemon",
        "✗",
        "needs Docker",
        Some("Install Docker first"),
    );
    run.assert(
        "platform",
        "✗",
        "not checked: it runs in Docker, which is not installed",
        Some("take path (a)"),
    );
    for name in ["collector", "Prometheus", "Grafana", "metrics"] {
        assert!(
            !run.stdout.contains(&format!(" {name} — ")),
            "{name} is not probed without Docker:\n{}",
            run.stdout
        );
    }
    assert_eq!(run.output.status.code(), Some(0), "{}", run.stdout);
    assert_eq!(run.path("a").0, "✓", "{}", run.stdout);
    assert!(
        run.path("b")
            .1
            .ends_with("to fix first (✗ above): Docker, Docker Compose, Docker daemon, platform"),
        "{}",
        run.stdout
    );
    assert!(
        run.take().starts_with("You can take path (a) now"),
        "{}",
        run.stdout
    );
}

/// The real docker of this machine: on the machines this was built on, a client without a
/// daemon, which must be reported as such, quickly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_real_docker_is_reported_without_hanging() {
    let closed = common::closed_port();
    let run = doctor(
        &format!("http://127.0.0.1:{closed}"),
        common::free_base_port(),
        "docker",
        &[],
    )
    .await;
    assert!(run.took < Duration::from_secs(10), "took {:?}", run.took);
    let has_client = std::process::Command::new("docker")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    let has_daemon = has_client
        && std::process::Command::new("docker")
            .args(["info", "--format", "{{.ServerVersion}}"])
            .output()
            .is_ok_and(|o| o.status.success());
    match (has_client, has_daemon) {
        (false, _) => run.assert("Docker", "✗", "is not installed", Some("Install Docker")),
        (true, false) => run.assert(
            "Docker daemon",
            "✗",
            "not reachable",
            Some("sudo systemctl start docker"),
        ),
        (true, true) => run.assert("Docker daemon", "✓", "reachable", None),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg(unix)]
async fn json_output_has_every_check() {
    let (addr, _) = platform(Platform::Good).await;
    let docker = good_docker();
    let run = doctor(
        &format!("http://{addr}"),
        common::free_base_port(),
        &docker.path("docker"),
        &["--json"],
    )
    .await;
    let report: Value = serde_json::from_str(&run.stdout).unwrap();
    let verdicts = |title: &str| -> HashMap<String, String> {
        report["sections"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| title.is_empty() || s["title"] == title)
            .flat_map(|s| s["verdicts"].as_array().unwrap().clone())
            .map(|v| {
                (
                    v["what"].as_str().unwrap().to_owned(),
                    v["status"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    let checks = verdicts("");
    for name in [
        "collector",
        "Prometheus",
        "Grafana",
        "Loki",
        "Tempo",
        "metrics",
        "logs",
        "traces",
    ] {
        assert_eq!(checks[name], "ok", "{name}: {report}");
    }
    assert!(checks.contains_key("Docker daemon") && checks.contains_key("Rust"));
    let paths = verdicts("Paths");
    assert_eq!(paths.len(), 2, "{report}");
    assert!(paths.values().all(|status| status == "ok"), "{report}");
    let conclusion = report["conclusion"].as_str().unwrap();
    assert!(
        conclusion.starts_with("You can take path (b) now"),
        "{report}"
    );
    assert_eq!(report["failures"], 0, "{report}");
}

/// Section 6's collector program (`check 6`, `up --collector`): asked for its version, or
/// named with how to get one; a warning either way, which no path waits for.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg(unix)]
async fn section_6s_collector_is_found_or_its_fix_named() {
    let (addr, _) = platform(Platform::Good).await;
    let docker = good_docker();
    let collector = Script::new(
        "otelcol-contrib",
        r#"echo "otelcol-contrib version 0.159.0""#,
    );
    let platform_url = format!("http://{addr}");
    let port = common::free_base_port();
    let program = collector.path("otelcol-contrib");
    let run = doctor_with(
        &platform_url,
        port,
        &docker.path("docker"),
        &[],
        &[("WORKSHOP_OTELCOL", &program)],
    )
    .await;
    run.assert(
        "OpenTelemetry Collector",
        "✓",
        "otelcol-contrib version 0.159.0",
        None,
    );
    let run = doctor_with(
        &platform_url,
        port,
        &docker.path("docker"),
        &[],
        &[("WORKSHOP_OTELCOL", "/nonexistent/otelcol-contrib")],
    )
    .await;
    run.assert(
        "OpenTelemetry Collector",
        "!",
        "does not exist",
        Some("build-platform -- otelcol"),
    );
    assert_eq!(run.path("a").0, "✓", "{}", run.stdout);
}

#[test]
fn bad_arguments_are_refused_with_a_reason() {
    common::assert_refused(
        "doctor",
        &[
            (&["--prometheus", "localhost:9090"][..], "is not a URL"),
            (&["--grafana", "https://grafana"], "only http://"),
            (&["--otlp", "http://127.0.0.1:4318/?x"], "without ?query"),
            (&["--timeout", "0"], "must be from 50ms to 120s"),
            (&["--timeout", "soon"], "is not a duration"),
            (&["--port", "0"], "--port"),
            (&["--bogus"], "unexpected argument '--bogus'"),
        ],
    );
    common::assert_help_lists(
        "doctor",
        &[
            "--prometheus",
            "--grafana",
            "--otlp",
            "--otlp-grpc",
            "--port",
            "--timeout",
            "--docker",
            "WORKSHOP_DOCKER",
            "--json",
        ],
    );
}
