//! `workshop bench` works end to end: it builds and starts the services, loads the gateway,
//! reports in JSON and stops everything. It checks that the benchmark runs, never how fast
//! the services are (that depends on the machine; see BENCHMARKS.md).
//!
//! It uses debug builds (the hidden `--debug`), which the other tests build anyway: release
//! builds of the four services would add minutes to a clean CI run.

use crate::common;
use std::process::Command;

use serde_json::Value;

use common::alive;

fn workshop(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_workshop"));
    command.args(args);
    command
}

/// A short `bench --json --debug` with `extra` options, which must succeed; its report.
fn bench(extra: &[&str]) -> Value {
    let mut args = vec!["bench", "--duration", "2s", "--warmup", "1s"];
    args.extend_from_slice(extra);
    // Debug binaries on a machine busy with other tests: generous timeouts, so that a slow
    // moment is not counted as an error (this test checks that bench works, not how fast
    // the services are).
    args.extend([
        "--env",
        "RUST_LOG=warn",
        "--env",
        "ISS_API_TIMEOUT_MS=20000",
        "--env",
        "UPSTREAM_TIMEOUT_MS=20000",
        // Every request asks the stub, as the test below checks (by default iss-distance
        // asks it at most once a second).
        "--env",
        "ISS_API_MAX_AGE_MS=0",
        "--env",
        "ISS_API_BACKOFF_MS=0",
        "--json",
        "--debug",
    ]);
    let output = workshop(&args).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "bench failed: {stderr}");
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("stdout is one JSON object ({e}): {stderr}"))
}

#[test]
fn bench_loads_the_gateway_and_reports_json() {
    let report = bench(&["--connections", "4"]);

    assert!(report["requests"].as_u64().unwrap() > 0, "{report}");
    assert_eq!(report["errors"], 0, "{report}");
    assert!(report["requests_per_second"].as_f64().unwrap() > 0.0);
    let latency = &report["latency_ms"];
    let p50 = latency["p50"].as_f64().unwrap();
    let p90 = latency["p90"].as_f64().unwrap();
    let p99 = latency["p99"].as_f64().unwrap();
    let max = latency["max"].as_f64().unwrap();
    assert!(
        0.0 < p50 && p50 <= p90 && p90 <= p99 && p99 <= max,
        "{latency}"
    );
    assert_eq!(report["connections"], 4);
    assert_eq!(report["env"]["RUST_LOG"], "warn");
    // Every request reaches the stub. The two counts come from slightly different windows
    // (requests started in the window, stub hits between two snapshots), so at each edge
    // one request per connection may fall on the other side.
    let (stub, requests) = (
        report["iss_stub_requests"].as_u64().unwrap(),
        report["requests"].as_u64().unwrap(),
    );
    assert!(
        stub + 2 * 4 >= requests,
        "stub saw {stub} of {requests} requests"
    );

    let services = report["services"].as_array().unwrap();
    let mut names: Vec<&str> = services
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    names.sort_unstable();
    assert_eq!(
        names,
        ["frontend", "gateway", "geolocator", "iss-distance"],
        "{report}"
    );
    for service in services {
        if cfg!(target_os = "linux") {
            assert!(service["peak_rss_kib"].as_u64().unwrap() > 0, "{service}");
            let pid = u32::try_from(service["pid"].as_u64().unwrap()).unwrap();
            assert!(
                !alive(pid),
                "{} (pid {pid}) is still running",
                service["name"]
            );
        }
    }
}

#[test]
fn bench_with_a_receiver_reports_what_it_received() {
    let report = bench(&["--connections", "2", "--receiver"]);
    assert!(report["requests"].as_u64().unwrap() > 0, "{report}");
    let receiver = &report["receiver"];
    assert!(
        receiver["endpoint"]
            .as_str()
            .is_some_and(|e| e.starts_with("http://127.0.0.1:")),
        "{report}"
    );
    assert_eq!(receiver["protocol"], "http/protobuf", "{report}");
    // On main the services are not instrumented yet, so the counts may well be 0: this
    // checks that they are reported, not what they are.
    for window in ["measured", "total"] {
        for count in [
            "export_requests",
            "spans",
            "logs",
            "metric_points",
            "evicted",
        ] {
            assert!(
                receiver[window][count].is_u64(),
                "receiver.{window}.{count} in {report}"
            );
        }
    }
    assert!(
        report["workshop_cpu_seconds"]
            .as_object()
            .unwrap()
            .contains_key("receiver"),
        "{report}"
    );
    assert!(report["blackhole"].is_null(), "{report}");
}

#[test]
fn telemetry_destinations_cannot_be_combined() {
    let output = workshop(&["bench", "--receiver", "--blackhole"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("the argument '--receiver' cannot be used with '--blackhole'"),
        "{stderr}"
    );
    assert_eq!(
        stderr.lines().filter(|l| l.starts_with("error:")).count(),
        1,
        "{stderr}"
    );

    // Checked before anything is built, so these fail at once, with one line.
    for (args, expected) in [
        (
            &["bench", "--receiver", "--env", "OTEL_SDK_DISABLED=true"][..],
            "workshop: --receiver sets where the telemetry goes: leave out --env OTEL_SDK_DISABLED",
        ),
        (
            &[
                "bench",
                "--blackhole",
                "--env",
                "OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:9",
            ],
            "workshop: --blackhole sets where the telemetry goes: leave out --env \
             OTEL_EXPORTER_OTLP_ENDPOINT",
        ),
        (
            &["bench", "--tree", "/nonexistent/workshop"],
            "workshop: --tree /nonexistent/workshop: no Cargo.toml there",
        ),
    ] {
        let output = workshop(args).output().unwrap();
        assert_eq!(output.status.code(), Some(1), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(stderr.trim_end(), expected, "{args:?}");
    }
}

#[test]
fn bad_values_get_a_one_line_reason() {
    for (args, expected) in [
        (
            &["bench", "--connections", "0"][..],
            "invalid value '0' for '--connections <CONNECTIONS>'",
        ),
        (
            &["bench", "--duration", "fast"],
            "invalid value 'fast' for '--duration <DURATION>'",
        ),
        (
            &["bench", "--warmup", "2h"],
            "invalid value '2h' for '--warmup <WARMUP>'",
        ),
        (
            &["bench", "--env", "NOVALUE"],
            "invalid value 'NOVALUE' for '--env <KEY=VALUE>'",
        ),
        (
            &["bench", "--port", "65535"],
            "invalid value '65535' for '--port <PORT>'",
        ),
    ] {
        let output = workshop(args).output().unwrap();
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
        assert_eq!(
            stderr.lines().filter(|l| l.starts_with("error:")).count(),
            1,
            "{stderr}"
        );
    }
    let help = workshop(&["bench", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    for option in [
        "--connections",
        "--duration",
        "--warmup",
        "--env",
        "--port",
        "--json",
        "--tree",
        "--receiver",
        "--blackhole",
    ] {
        assert!(help.contains(option), "{option} in {help}");
    }
    assert!(!help.contains("--debug"), "--debug is hidden: {help}");
}
