//! Every fault of the troubleshooting chapter (`workshop/chapters/09-find-the-fault.md`)
//! can be found, and does no lasting harm.
//!
//! For each fault, the finished workshop's services (every section applied) run as real
//! processes, exporting to an in-process OTLP receiver, with a switch file as `workshop up`
//! gives them. The same traffic runs three times through the frontend, as a user's would:
//! before the fault, while it is on, and after it is off again. The chapter's route
//! ([`fault_evidence`]: the symptom, then the trace, then its logs) finds the fault in the
//! telemetry of the middle window, and nothing in the other two. Throughout, every request
//! gets an answer and every request's telemetry arrives; after `off` the answers are those
//! of before; and at the end every service stops cleanly, by itself.
//!
//! Unix only, like the other tests of the finished workshop (SIGTERM, /proc).
#![cfg(unix)]

use crate::{common, fault_evidence};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use common::final_tree;
use common::stack::{Harness, build, output, start, stop_cleanly};
use fault_evidence::{Window, evidence};
use faults::Fault;
use otlp_receiver::{Receiver, ReceiverConfig, SpanKind, Store};

/// What people type into the page: places north and south of the equator, with and
/// without letters beyond ASCII, and places that do not exist.
const PLACES: [&str; 13] = [
    "Berlin",
    "Zürich",
    "Sydney",
    "Narnia",
    "Tokyo",
    "São Paulo",
    "Reykjavík",
    "Cape Town",
    "Paris",
    "Gondor",
    "Montréal",
    "Buenos Aires",
    "New York City",
];

/// Requests in flight at once.
const CONCURRENCY: usize = 3;

/// Longer than the services take to read the switch (every 250 ms).
const SWITCH_SETTLES: Duration = Duration::from_millis(700);

/// Longer than the metric export interval below: `iss.requests` is up to date.
const METRICS_SETTLE: Duration = Duration::from_millis(800);

/// One request's place and the status the page answered with (0: no answer at all).
#[derive(Clone, Debug, PartialEq, Eq)]
struct Answer {
    place: &'static str,
    status: u16,
}

/// Sends every place `rounds` times through the frontend, [`CONCURRENCY`] at a time.
async fn traffic(stack: &Harness, rounds: usize) -> Vec<Answer> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    let slots = Arc::new(tokio::sync::Semaphore::new(CONCURRENCY));
    let mut requests = Vec::new();
    for place in PLACES.iter().cycle().take(PLACES.len() * rounds) {
        let slot = Arc::clone(&slots).acquire_owned().await.unwrap();
        let request = client
            .get(stack.url("frontend", "/"))
            .query(&[("location", place)]);
        requests.push(tokio::spawn(async move {
            let status = request.send().await.map_or(0, |r| r.status().as_u16());
            drop(slot);
            Answer { place, status }
        }));
    }
    let mut answers = Vec::new();
    for request in requests {
        answers.push(request.await.unwrap());
    }
    answers
}

/// How many `iss.requests` iss-distance has counted so far, by `error.type` (`none` for
/// the calls that worked).
fn iss_requests(store: &Store) -> BTreeMap<String, f64> {
    let mut counts = BTreeMap::new();
    if let Some(metric) = store.latest_metric("iss.requests") {
        for point in metric.points() {
            let error = point
                .attributes
                .get("error.type")
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_else(|| "none".to_owned());
            *counts.entry(error).or_insert(0.0) += point.value.as_f64().unwrap_or(0.0);
        }
    }
    counts
}

fn added(before: &BTreeMap<String, f64>, after: &BTreeMap<String, f64>) -> BTreeMap<String, f64> {
    after
        .iter()
        .map(|(k, v)| (k.clone(), v - before.get(k).copied().unwrap_or(0.0)))
        .filter(|(_, v)| *v > 0.0)
        .collect()
}

/// One window of traffic: when it ran, what the page answered.
struct Run {
    from: SystemTime,
    to: SystemTime,
    answers: Vec<Answer>,
    iss_requests_added: BTreeMap<String, f64>,
}

async fn run_window(stack: &Harness, store: &Store, rounds: usize) -> Run {
    let counted = iss_requests(store);
    let from = SystemTime::now();
    let answers = traffic(stack, rounds).await;
    let to = SystemTime::now();
    tokio::time::sleep(METRICS_SETTLE).await;
    Run {
        from,
        to,
        answers,
        iss_requests_added: added(&counted, &iss_requests(store)),
    }
}

fn switch(file: &Path, fault: Option<Fault>) {
    let partial = file.with_extension("partial");
    std::fs::write(&partial, faults::switch_text(fault)).unwrap();
    std::fs::rename(&partial, file).unwrap();
}

/// Runs the traffic before, during and after `fault`, and checks that the chapter's route
/// finds it during only, and that it did no lasting harm.
async fn find(fault: Fault) {
    let started = Instant::now();
    let (tree, _lock) = final_tree();
    let binaries = build(&tree).await;
    let receiver = Receiver::start(ReceiverConfig::ephemeral()).await.unwrap();
    let dir: PathBuf =
        std::env::temp_dir().join(format!("fault-{}-{}", fault.name(), std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("fault");
    let env = [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.http_endpoint()),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf".into()),
        ("OTEL_BSP_SCHEDULE_DELAY", "200".into()),
        ("OTEL_BLRP_SCHEDULE_DELAY", "200".into()),
        ("OTEL_METRIC_EXPORT_INTERVAL", "250".into()),
        ("ISS_SOURCE", "auto".into()),
        // Above the 1.2 s of a slow lookup; what a leaked connection makes a call wait.
        ("UPSTREAM_TIMEOUT_MS", "2000".into()),
        (faults::SWITCH_VARIABLE, file.to_string_lossy().into_owned()),
    ];
    let mut stack = start(&binaries, &env).await;
    let store = receiver.store();
    // The memory leak shows as a trend: it needs more requests to rise above the noise.
    let rounds = if fault == Fault::MemoryLeak { 2 } else { 1 };

    let before = run_window(&stack, &store, rounds).await;
    switch(&file, Some(fault));
    tokio::time::sleep(SWITCH_SETTLES).await;
    let during = run_window(&stack, &store, rounds).await;
    switch(&file, None);
    tokio::time::sleep(SWITCH_SETTLES).await;
    let after = run_window(&stack, &store, rounds).await;

    // No crash: every service still answers, then stops by itself, successfully (which
    // flushes the last telemetry).
    for service in common::stack::SERVICES {
        let health = reqwest::get(stack.url(service, "/healthz")).await;
        assert!(
            health.is_ok_and(|r| r.status().is_success()),
            "{service} stopped answering after {fault}: {:?}",
            output(&stack)
        );
    }
    stop_cleanly(&mut stack, Duration::from_secs(15)).await;

    let spans = store.spans();
    let logs = store.logs();
    let window = |run: &Run| Window {
        iss_requests_added: run.iss_requests_added.clone(),
        ..Window::cut(&spans, &logs, run.from, run.to)
    };
    let found: Vec<Vec<String>> = [&before, &during, &after]
        .map(|run| evidence(fault, &window(run)))
        .into();
    eprintln!(
        "{fault} ({:.0?} in all), found while on:\n  {}",
        started.elapsed(),
        found[1].join("\n  ")
    );
    assert!(
        !found[1].is_empty(),
        "the chapter's route does not find {fault} while it is on"
    );
    assert!(
        found[0].is_empty(),
        "before {fault} was on, the route already finds: {:#?}",
        found[0]
    );
    assert!(
        found[2].is_empty(),
        "after {fault} went off, the route still finds: {:#?}",
        found[2]
    );

    // Every request was answered, and its telemetry arrived: one frontend SERVER span each.
    for (name, run) in [("before", &before), ("during", &during), ("after", &after)] {
        let unanswered: Vec<&Answer> = run.answers.iter().filter(|a| a.status == 0).collect();
        assert!(
            unanswered.is_empty(),
            "{name} {fault}: no answer to {unanswered:?}"
        );
        let received = window(run)
            .spans
            .iter()
            .filter(|s| s.service_name() == Some("frontend") && s.kind() == SpanKind::Server)
            .count();
        assert_eq!(
            received,
            run.answers.len(),
            "{name} {fault}: one frontend trace per request"
        );
    }
    // Healthy, the page finds the places that exist and no others; off, it does again.
    for answer in &before.answers {
        let expected = if ["Narnia", "Gondor"].contains(&answer.place) {
            404
        } else {
            200
        };
        assert_eq!(answer.status, expected, "before {fault}: {answer:?}");
    }
    assert_eq!(
        after.answers, before.answers,
        "after {fault} went off, the page answers as before"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn lost_context_shows_as_spans_without_a_parent() {
    find(Fault::LostContext).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn slow_lookups_show_as_a_slow_span_and_its_warning() {
    find(Fault::SlowLookups).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_connection_leak_shows_as_timeouts_that_never_reach_the_callee() {
    find(Fault::ConnectionLeak).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_captive_portal_shows_as_answers_that_are_no_json_in_spans_logs_and_metrics() {
    find(Fault::CaptivePortal).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sign_bug_shows_as_errors_with_negative_latitudes() {
    find(Fault::SignBug).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_memory_leak_shows_as_time_that_grows_with_every_request() {
    find(Fault::MemoryLeak).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_retry_storm_shows_as_calls_repeated_within_one_trace() {
    find(Fault::RetryStorm).await;
}
