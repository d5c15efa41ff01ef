//! `workshop load` against a stand-in for the gateway in this test (not the real services,
//! to keep it fast): the rate it keeps, the mix it sends, what a dead or slow target does,
//! Ctrl-C, and bad arguments.

use crate::common;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::process::{Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::Query;
use axum::http::StatusCode;
use serde_json::Value;

/// Fictional places the stub does not know: the ones `load` sends as unknown.
const FICTIONAL: [&str; 10] = [
    "Narnia",
    "Gondor",
    "Mordor",
    "Hogwarts",
    "Lilliput",
    "Wakanda",
    "Gotham",
    "Rivendell",
    "Camelot",
    "Brigadoon",
];

type Hits = Arc<Mutex<Vec<(Instant, String)>>>;

/// A gateway stand-in: `GET /distance?location=…` answers 400 for bad input (empty, blank or
/// over 200 characters), 404 for fictional places, 200 otherwise, after `delay`. Every request
/// is recorded with the time it arrived.
async fn stub(delay: Duration) -> (SocketAddr, Hits) {
    let hits: Hits = Arc::default();
    let record = Arc::clone(&hits);
    let app = axum::Router::new().route(
        "/distance",
        axum::routing::get(move |Query(query): Query<HashMap<String, String>>| {
            let record = Arc::clone(&record);
            async move {
                let location = query.get("location").cloned().unwrap_or_default();
                record
                    .lock()
                    .unwrap()
                    .push((Instant::now(), location.clone()));
                tokio::time::sleep(delay).await;
                if location.trim().is_empty() || location.chars().count() > 200 {
                    (StatusCode::BAD_REQUEST, r#"{"error":"bad location"}"#)
                } else if FICTIONAL.contains(&location.as_str()) {
                    (StatusCode::NOT_FOUND, r#"{"error":"no such place"}"#)
                } else {
                    (StatusCode::OK, r#"{"distance_km":1234.5}"#)
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (addr, hits)
}

fn workshop(args: &[&str]) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_workshop"));
    command
        .arg("load")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    command
}

/// Runs `workshop load args…` to the end (at most `limit`) and parses its JSON summary.
async fn load(args: &[&str], limit: Duration) -> (Value, Output) {
    let child = workshop(args).arg("--json").spawn().unwrap();
    let output = tokio::time::timeout(limit, child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("load {args:?} did not finish within {limit:?}"))
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "load {args:?} failed: {stderr}");
    let summary: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is one JSON object ({e}): {}\n{stderr}",
            String::from_utf8_lossy(&output.stdout)
        )
    });
    (summary, output)
}

/// [`load`] against the gateway at `url`, with `args` added.
async fn load_gateway(url: &str, args: &[&str], limit: Duration) -> (Value, Output) {
    let mut all = vec!["--target", "gateway", "--url", url];
    all.extend_from_slice(args);
    load(&all, limit).await
}

fn within(actual: f64, expected: f64, share: f64) -> bool {
    (actual - expected).abs() <= expected * share
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fixed_rate_delivers_that_many_requests_within_5_percent() {
    let (addr, hits) = stub(Duration::ZERO).await;
    let url = format!("http://{addr}");
    let (summary, _) = load_gateway(
        &url,
        &["--rate", "50/s", "--duration", "4s"],
        Duration::from_secs(30),
    )
    .await;
    let hits = hits.lock().unwrap().clone();

    // Counted where they arrive: 50/s for 4 s is 200 requests.
    let arrived = hits.len() as f64;
    assert!(within(arrived, 200.0, 0.05), "{arrived} arrived: {summary}");
    assert_eq!(summary["requests"], hits.len(), "{summary}");
    assert_eq!(summary["completed"], hits.len(), "{summary}");
    assert_eq!(summary["dropped"], 0, "{summary}");
    assert_eq!(summary["errors"], 0, "{summary}");
    assert_eq!(summary["unexpected"], 0, "{summary}");
    // The rate the stub saw, from the first arrival to the last: 199 gaps of 20 ms.
    let spread = hits.last().unwrap().0 - hits.first().unwrap().0;
    let arrival_rate = (arrived - 1.0) / spread.as_secs_f64();
    assert!(
        within(arrival_rate, 50.0, 0.05),
        "the stub saw {arrival_rate:.2}/s over {spread:?}"
    );
    let sent_rate = summary["sent_per_second"].as_f64().unwrap();
    assert!(within(sent_rate, 50.0, 0.05), "{summary}");
    eprintln!(
        "asked 50/s for 4 s: {arrived} arrived, {arrival_rate:.2}/s at the stub, {sent_rate}/s \
         reported"
    );

    // The default mix, exactly: 70% known (200), 20% unknown (404), 10% bad (400).
    let outcomes = &summary["outcomes"];
    assert_eq!(outcomes["2xx"], 140, "{summary}");
    assert_eq!(outcomes["4xx"], 60, "{summary}");
    let by_input = &summary["by_input"];
    assert_eq!(by_input["known"]["answers"]["200"], 140, "{summary}");
    assert_eq!(by_input["unknown"]["answers"]["404"], 40, "{summary}");
    assert_eq!(by_input["bad"]["answers"]["400"], 20, "{summary}");
    let latency = &summary["latency_ms"];
    let (p50, p99, max) = (
        latency["p50"].as_f64().unwrap(),
        latency["p99"].as_f64().unwrap(),
        latency["max"].as_f64().unwrap(),
    );
    assert!(0.0 < p50 && p50 <= p99 && p99 <= max, "{latency}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_mix_sends_unknown_places_and_bad_input() {
    let (addr, hits) = stub(Duration::ZERO).await;
    let url = format!("http://{addr}");
    let (summary, _) = load_gateway(
        &url,
        &[
            "--rate",
            "200",
            "--duration",
            "1s",
            "--mix",
            "unknown=1,bad=1",
        ],
        Duration::from_secs(30),
    )
    .await;
    let locations: Vec<String> = hits.lock().unwrap().iter().map(|h| h.1.clone()).collect();
    assert_eq!(locations.len(), 200, "{summary}");
    let unknown: Vec<&String> = locations
        .iter()
        .filter(|l| FICTIONAL.contains(&l.as_str()))
        .collect();
    let bad: Vec<&String> = locations
        .iter()
        .filter(|l| l.trim().is_empty() || l.chars().count() > 200)
        .collect();
    assert_eq!(unknown.len(), 100, "{locations:?}");
    assert_eq!(bad.len(), 100, "{locations:?}");
    assert!(locations.iter().any(String::is_empty), "an empty location");
    assert!(
        locations.iter().any(|l| l.chars().count() == 201),
        "a location of 201 characters"
    );
    assert!(!locations.iter().any(|l| l == "Atlantis"));
    // More than one unknown place, rotating.
    let mut distinct: Vec<&String> = unknown.clone();
    distinct.sort();
    distinct.dedup();
    assert!(distinct.len() >= 5, "{distinct:?}");
    assert_eq!(summary["by_input"]["known"]["requests"], 0, "{summary}");
    assert_eq!(summary["by_input"]["unknown"]["answers"]["404"], 100);
    assert_eq!(summary["by_input"]["bad"]["answers"]["400"], 100);
    assert_eq!(summary["unexpected"], 0, "{summary}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_frontend_gets_the_page_with_a_location() {
    // The frontend's path is `/`: a stub that only serves /distance answers 404 to all.
    let (addr, hits) = stub(Duration::ZERO).await;
    let url = format!("http://{addr}");
    let (summary, _) = load(
        &["--url", &url, "--rate", "20", "--duration", "500ms"],
        Duration::from_secs(30),
    )
    .await;
    assert_eq!(summary["target"], "frontend");
    assert_eq!(summary["url"], format!("http://{addr}/"));
    assert_eq!(summary["requests"], 10, "{summary}");
    assert_eq!(summary["outcomes"]["4xx"], 10, "{summary}");
    assert!(hits.lock().unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_target_gets_the_schedule_anyway_up_to_the_cap() {
    // Every answer takes 5 s; requests time out after 400 ms; at most 4 wait at a time.
    let (addr, hits) = stub(Duration::from_secs(5)).await;
    let url = format!("http://{addr}");
    let started = Instant::now();
    let (summary, _) = load_gateway(
        &url,
        &[
            "--rate",
            "40",
            "--duration",
            "1s",
            "--timeout",
            "400ms",
            "--max-in-flight",
            "4",
        ],
        Duration::from_secs(30),
    )
    .await;
    let took = started.elapsed();
    let (sent, dropped) = (
        summary["requests"].as_u64().unwrap(),
        summary["dropped"].as_u64().unwrap(),
    );
    // Open loop: all 40 fell due; those due while 4 waited were dropped, not queued.
    assert_eq!(sent + dropped, 40, "{summary}");
    assert!(dropped >= 20, "{summary}");
    assert!((4..=20).contains(&sent), "{summary}");
    assert_eq!(summary["outcomes"]["timeout"], sent, "{summary}");
    assert_eq!(summary["errors"], sent, "{summary}");
    assert_eq!(hits.lock().unwrap().len() as u64, sent);
    // Nobody waits for the 5 s answers.
    assert!(took < Duration::from_secs(4), "took {took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_target_is_connection_errors_and_a_hint() {
    let port = common::closed_port();
    let url = format!("http://127.0.0.1:{port}");
    let (summary, _) = load_gateway(
        &url,
        &["--rate", "20", "--duration", "1s"],
        Duration::from_secs(30),
    )
    .await;
    assert_eq!(summary["requests"], 20, "{summary}");
    assert_eq!(summary["outcomes"]["connection_error"], 20, "{summary}");
    let note = summary["note"].as_str().unwrap();
    assert!(
        note.contains("nothing answered") && note.contains("up"),
        "{note}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg(unix)]
async fn ctrl_c_prints_the_summary_and_stops_sending() {
    let (addr, hits) = stub(Duration::ZERO).await;
    let url = format!("http://{addr}");
    // No --duration: it would run forever.
    let child = workshop(&[
        "--target", "gateway", "--url", &url, "--rate", "20", "--json",
    ])
    .spawn()
    .unwrap();
    let pid = child.id().unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(common::signal(pid, nix::sys::signal::Signal::SIGINT));
    let output = tokio::time::timeout(Duration::from_secs(5), child.wait_with_output())
        .await
        .expect("load exits within 5 s of Ctrl-C")
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "exit {:?}: {stderr}",
        output.status
    );
    let summary: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(summary["interrupted"], true, "{summary}");
    let sent = summary["requests"].as_u64().unwrap();
    // 1.5 s at 20/s, give or take the start-up of the process.
    assert!((15..=32).contains(&sent), "{summary}");
    let arrived = hits.lock().unwrap().len();
    assert_eq!(arrived as u64, sent, "{summary}");
    // Nothing keeps sending after the exit.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(hits.lock().unwrap().len(), arrived);
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}")).exists(),
        "the process is gone"
    );
}

#[test]
fn bad_arguments_are_refused_with_a_reason() {
    common::assert_refused(
        "load",
        &[
            (&["--rate", "0"][..], "must be more than 0"),
            (&["--rate", "fast"], "is not a rate"),
            (&["--duration", "5x"], "unknown time unit"),
            (&["--duration", "0s"], "must be more than 0"),
            (&["--mix", "known=70,weird=30"], "unknown kind \"weird\""),
            (&["--mix", "known=0"], "at least one weight"),
            (&["--target", "geolocator"], "invalid value 'geolocator'"),
            (&["--url", "https://example.com"], "only http://"),
            (&["--url", "localhost:5000"], "is not a URL"),
            (&["--max-in-flight", "0"], "--max-in-flight"),
            (&["--bogus"], "unexpected argument '--bogus'"),
        ],
    );
    common::assert_help_lists(
        "load",
        &[
            "--target",
            "--url",
            "--rate",
            "--duration",
            "--mix",
            "--timeout",
            "--max-in-flight",
            "--json",
        ],
    );
}
