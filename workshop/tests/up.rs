//! `workshop up` for real: it builds and starts the four services, and SIGINT (Ctrl-C)
//! stops every one of them.
//!
//! The tests that send SIGINT and read /proc are Unix only; on Windows the rest still
//! compiles, without the helpers only those use.
#![cfg_attr(not(unix), allow(dead_code, unused_imports))]

use crate::common;
use std::io::{BufRead, BufReader};
use std::net::{Ipv4Addr, TcpListener};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{alive, free_base_port, healthy};

fn workshop(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_workshop"));
    // The orbital model: the test must not depend on the internet.
    command
        .args(args)
        .env("ISS_SOURCE", "model")
        .env_remove("FRONTEND_PORT");
    command
}

fn wait_for(child: &mut Child, timeout: Duration) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    None
}

// Sends SIGINT and reads /proc: Unix (Linux) only.
#[cfg(unix)]
#[test]
fn up_starts_the_four_services_and_ctrl_c_stops_them_all() {
    let _ports = common::otlp_ports();
    let base = free_base_port();
    let mut up = workshop(&["up", "--port", &base.to_string()])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();

    // Wait for what a person waits for: the URL to open. The first run may build.
    common::wait_for_up(&mut up, base);
    assert!(
        (0..4).all(|i| healthy(base + i)),
        "all four services answer /healthz"
    );
    let services = common::children(up.id());
    assert_eq!(
        services.len(),
        4,
        "four service processes, got {services:?}"
    );

    common::signal(up.id(), nix::sys::signal::Signal::SIGINT);
    let status =
        wait_for(&mut up, Duration::from_secs(30)).expect("up stops within 30 s of Ctrl-C");
    assert!(status.success(), "up exits cleanly after Ctrl-C: {status}");

    for pid in services {
        assert!(!alive(pid), "service process {pid} is still running");
    }
    for i in 0..4 {
        assert!(!healthy(base + i), "port {} still answers", base + i);
    }
}

/// Lines of a child's pipe, as they come.
fn lines_of(pipe: impl std::io::Read + Send + 'static) -> std::sync::mpsc::Receiver<String> {
    let (sender, lines) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines().map_while(Result::ok) {
            let _ = sender.send(line);
        }
    });
    lines
}

/// Waits for a line containing all of `parts`; returns it.
fn wait_for_line(
    lines: &std::sync::mpsc::Receiver<String>,
    parts: &[&str],
    within: Duration,
) -> String {
    let deadline = Instant::now() + within;
    loop {
        let line = lines
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .unwrap_or_else(|_| panic!("no line with {parts:?} within {within:?}"));
        if parts.iter().all(|part| line.contains(part)) {
            return line;
        }
    }
}

/// The embedded default, finished: `up --solution` builds the last section apart from the
/// working tree, and its built-in receiver reports telemetry from all four services.
// Sends SIGINT and reads /proc: Unix (Linux) only.
#[cfg(unix)]
#[test]
fn up_solution_runs_the_finished_workshop_into_the_built_in_receiver() {
    let _ports = common::otlp_ports();
    assert!(
        TcpListener::bind((Ipv4Addr::LOCALHOST, 4318)).is_ok()
            && TcpListener::bind((Ipv4Addr::LOCALHOST, 4317)).is_ok(),
        "this test needs 4317 and 4318 free for up's built-in receiver"
    );
    let base = free_base_port();
    let mut up = workshop(&["up", "--solution", "--port", &base.to_string()])
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = lines_of(up.stdout.take().unwrap());
    let stderr = lines_of(up.stderr.take().unwrap());
    // The first run builds the solution: allow for a full build.
    wait_for_line(
        &stdout,
        &[
            "finished ISS workshop",
            &format!("open http://127.0.0.1:{base}/"),
        ],
        Duration::from_secs(900),
    );
    for place in ["Berlin", "Tokyo", "Zurich"] {
        let page = std::process::Command::new("curl")
            .args([
                "-s",
                "-o",
                "/dev/null",
                "-w",
                "%{http_code}",
                &format!("http://127.0.0.1:{base}/?location={place}"),
            ])
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&page.stdout), "200");
    }
    let summary = wait_for_line(
        &stderr,
        &[
            "telemetry received:",
            "frontend",
            "gateway",
            "geolocator",
            "iss-distance",
        ],
        Duration::from_secs(60),
    );
    assert!(!summary.contains(" 0 spans"), "{summary}");
    // up exports metrics every 5 s (the SDK's default is a minute): within the 60 s above,
    // some have arrived.
    let with_metrics = if summary.contains(" 0 metric points") {
        wait_for_line(&stderr, &["telemetry received:"], Duration::from_secs(30))
    } else {
        summary
    };
    assert!(!with_metrics.contains(" 0 metric points"), "{with_metrics}");
    common::signal(up.id(), nix::sys::signal::Signal::SIGINT);
    let status =
        wait_for(&mut up, Duration::from_secs(30)).expect("up stops within 30 s of Ctrl-C");
    assert!(status.success());
    // up's stderr is a pipe here, so the services' lines come without colour codes.
    let rest: Vec<String> = stderr.try_iter().collect();
    assert!(
        rest.iter().any(|line| line.contains("shutting down")),
        "{rest:#?}"
    );
    assert!(
        rest.iter().all(|line| !line.contains('\x1b')),
        "escape codes in {rest:#?}"
    );
    // The attendee's working tree was not touched.
    let workspace = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap();
    let traces = std::fs::read_to_string(workspace.join("services/telemetry/src/traces.rs"))
        .expect("traces.rs is on main");
    assert!(
        traces.contains("TODO(section 3)"),
        "solution leaked into the working tree:\n{traces}"
    );
}

/// Section 6 without Docker: `up --collector` runs the real collector (the build of
/// `build-platform -- otelcol`) on the finished config, in front of the built-in receiver.
/// What arrives there has been through the collector: the stylesheet's spans dropped and
/// counted, traces sampled; and Ctrl-C stops the services before the collector, so their
/// last exports still arrive.
// Sends SIGINT: Unix only.
#[cfg(unix)]
#[test]
fn up_collector_runs_the_real_collector_in_front_of_the_built_in_receiver() {
    let _ports = common::otlp_ports();
    for port in [4317, 4318, 4319, 4320, 8888, 13133] {
        assert!(
            TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_ok(),
            "this test needs port {port} free for up --collector"
        );
    }
    let workspace = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap();
    platform_live::programs::collector_binary(workspace).unwrap_or_else(|e| panic!("{e}"));
    let base = free_base_port();
    // The sections start from the commit under test (main, in CI).
    let mut up = workshop(&[
        "up",
        "--solution",
        "--base",
        "HEAD",
        "--collector",
        "--port",
        &base.to_string(),
    ])
    .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
    .env_remove("WORKSHOP_OTELCOL")
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let stdout = lines_of(up.stdout.take().unwrap());
    let stderr = lines_of(up.stderr.take().unwrap());
    wait_for_line(
        &stdout,
        &["finished ISS workshop", "open http"],
        Duration::from_secs(900),
    );
    let get = |path: &str| {
        let output = std::process::Command::new("curl")
            .args(["-s", "-o", "/dev/null", "-w", "%{http_code}"])
            .arg(format!("http://127.0.0.1:{base}{path}"))
            .output()
            .unwrap();
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    for _ in 0..20 {
        assert_eq!(get("/?location=Berlin"), "200");
        assert_eq!(get("/style.css"), "200");
    }
    assert_eq!(get("/?location=Narnia"), "404");
    // The tail sampler decides 5 s after a trace's first span; then the spans arrive.
    let summary = wait_for_line(
        &stderr,
        &["telemetry received:", "frontend"],
        Duration::from_secs(60),
    );
    let summary = if summary.contains(" 0 spans") {
        wait_for_line(&stderr, &["telemetry received:"], Duration::from_secs(30))
    } else {
        summary
    };
    assert!(!summary.contains(" 0 spans"), "{summary}");
    let own = std::process::Command::new("curl")
        .args(["-s", "http://127.0.0.1:8888/metrics"])
        .output()
        .unwrap();
    let own = String::from_utf8_lossy(&own.stdout);
    let total = |name: &str| -> f64 {
        own.lines()
            .filter(|l| l.starts_with(name))
            .filter_map(|l| l.rsplit_once(' ')?.1.parse::<f64>().ok())
            .sum()
    };
    assert!(
        total("otelcol_processor_filter_spans_filtered") >= 20.0,
        "the 20 stylesheet spans are dropped and counted:\n{own}"
    );
    let accepted = total("otelcol_receiver_accepted_spans");
    let sent = total("otelcol_exporter_sent_spans");
    assert!(
        sent > 0.0 && sent < accepted,
        "sampled: {sent} of {accepted} spans sent on"
    );

    common::signal(up.id(), nix::sys::signal::Signal::SIGINT);
    let status =
        wait_for(&mut up, Duration::from_secs(40)).expect("up stops within 40 s of Ctrl-C");
    assert!(status.success());
    let rest: Vec<String> = stderr.try_iter().collect();
    assert!(
        rest.iter().all(|line| !line.contains("Export.Failed")),
        "the services' last exports reached the collector: {rest:#?}"
    );
    assert!(
        TcpListener::bind((Ipv4Addr::LOCALHOST, 4318)).is_ok(),
        "the collector stopped with up"
    );
}

#[test]
fn a_taken_port_is_refused_before_anything_starts() {
    let taken = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let port = taken.local_addr().unwrap().port();
    let output = workshop(&["up", "--port", &port.to_string()])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!("port {port} (for frontend) is already in use"))
            && stderr.contains("--port"),
        "{stderr}"
    );
}

#[test]
fn wrong_arguments_get_a_one_line_reason() {
    let output = workshop(&["up", "--port", "http"]).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("invalid value 'http' for '--port <PORT>'"),
        "{stderr}"
    );
    let help = workshop(&["up", "--help"]).output().unwrap();
    assert!(help.status.success());
    assert!(String::from_utf8_lossy(&help.stdout).contains("Usage: workshop up"));
}
