//! The troubleshooting chapter's worked example, through the platform as attendees with
//! Docker see it: the finished workshop's services, the real OpenTelemetry Collector on
//! `platform/otel-collector/config.yaml` (its span_metrics connector makes the latency
//! histogram and its exemplars) and the real Prometheus, with the project's OTLP receiver
//! standing in for Tempo and Loki (AGPL: never built or run here).
//!
//! The route is the chapter's, and its queries are read from the chapter: the p99 latency
//! per service (the symptom, in Prometheus), an exemplar of geolocator's latency (the
//! example, a trace at the Tempo stand-in), the chapter's TraceQL for slow SERVER spans, and
//! the Tempo datasource's trace-to-logs query (the logs, at the Loki stand-in).
//!
//! The programs are built by `cargo run -p platform-live --bin build-platform` (.ci/run
//! does it). Unix only, like the other tests of the finished workshop.
#![cfg(unix)]

use crate::{common, live};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::final_tree;
use common::stack::{Harness, build, start, stop_cleanly};
use faults::Fault;
use live::chain::Chain;
use live::scenario::client;
use live::standins::{log_line, span_view};
use otlp_receiver::SpanKind;
use platform_check::repo_root;
use platform_harness::logql::LogQuery;
use platform_harness::queries::{Variables, chapter_queries, datasource_queries, instantiate};
use platform_harness::traceql::SpanFilter;
use platform_live::process::Ports;
use platform_live::programs::Programs;

const CHAPTER: &str = "workshop/chapters/09-find-the-fault.md";

/// The chapter's query (PromQL, TraceQL) that contains `needle`.
fn chapter_query(needle: &str) -> String {
    let queries = chapter_queries(&repo_root(), "workshop/chapters").unwrap();
    let found: Vec<_> = queries
        .into_iter()
        .filter(|q| q.origin.starts_with(CHAPTER) && q.expr.contains(needle))
        .collect();
    assert_eq!(
        found.len(),
        1,
        "one query of {CHAPTER} has {needle:?}: {found:#?}"
    );
    found[0].expr.clone()
}

/// Page requests, one every 100 ms, cycling through places of both kinds, until `stop`.
fn start_traffic(stack: &Harness, stop: Arc<AtomicBool>) -> tokio::task::JoinHandle<usize> {
    const PLACES: [&str; 7] = [
        "Berlin",
        "Zürich",
        "Tokyo",
        "Narnia",
        "São Paulo",
        "Paris",
        "Reykjavík",
    ];
    let url = stack.url("frontend", "/");
    tokio::spawn(async move {
        let client = client();
        let mut sent = 0;
        while !stop.load(Ordering::SeqCst) {
            let place = PLACES[sent % PLACES.len()];
            let _ = client.get(&url).query(&[("location", place)]).send().await;
            sent += 1;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        sent
    })
}

/// The p99 per service, as Prometheus answers the chapter's query now.
async fn p99(chain: &Chain, query: &str) -> BTreeMap<String, f64> {
    chain
        .prometheus
        .query(query)
        .await
        .unwrap()
        .into_iter()
        .filter_map(|s| Some((s.labels.get("service_name")?.clone(), s.value)))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_worked_example_is_found_by_the_latency_panel_an_exemplar_and_the_traces_logs() {
    let started = Instant::now();
    let programs = Programs::locate(&repo_root()).unwrap_or_else(|e| panic!("{e}"));
    let latency = chapter_query("histogram_quantile(0.99");
    let slow_spans = SpanFilter::parse(&chapter_query("duration >")).unwrap();
    let (tree, _lock) = final_tree();
    let binaries = build(&tree).await;
    let mut ports = Ports::default();
    let chain = Chain::start(&programs, &mut ports, &["quiet"]).await;
    let dir = std::env::temp_dir().join(format!("live-faults-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let switch = dir.join("fault");
    let mut env = chain.services_env();
    env.push((
        faults::SWITCH_VARIABLE,
        switch.to_string_lossy().into_owned(),
    ));
    let mut stack = start(&binaries, &env).await;
    let stop = Arc::new(AtomicBool::new(false));
    let traffic = start_traffic(&stack, Arc::clone(&stop));

    // The healthy state: what p99 is before anything goes wrong.
    tokio::time::sleep(Duration::from_secs(15)).await;
    let before = p99(&chain, &latency).await;
    std::fs::write(&switch, faults::switch_text(Some(Fault::SlowLookups))).unwrap();
    let on = Instant::now();

    // The symptom: p99 of geolocator and the services above it passes a second, while
    // iss-distance's does not move (span metrics are written every 5 s).
    let deadline = Instant::now() + Duration::from_secs(60);
    let during = loop {
        tokio::time::sleep(Duration::from_secs(3)).await;
        let now = p99(&chain, &latency).await;
        let slow = ["frontend", "gateway", "geolocator"]
            .iter()
            .all(|s| now.get(*s).is_some_and(|v| *v >= 1.0));
        if slow || Instant::now() > deadline {
            break now;
        }
    };
    eprintln!(
        "the chapter's p99 query, in Prometheus:\n  before: {before:?}\n  {:.0?} after slow-lookups went on: {during:?}",
        on.elapsed()
    );
    for service in ["frontend", "gateway", "geolocator", "iss-distance"] {
        assert!(
            before.get(service).is_some_and(|v| *v < 0.5),
            "healthy, {service}'s p99 is well under a second: {before:?}"
        );
    }
    for service in ["frontend", "gateway", "geolocator"] {
        assert!(
            during.get(service).is_some_and(|v| *v >= 1.0),
            "with slow-lookups on, {service}'s p99 passes a second: {during:?}\n{}",
            chain.logs()
        );
    }
    assert!(
        during.get("iss-distance").is_some_and(|v| *v < 0.5),
        "iss-distance is not slow: {during:?}"
    );

    // The example: as a person would, while the fault goes on, an exemplar of geolocator's
    // latency that names a trace whose geolocator span took over a second. (The collector
    // picks a few requests per bucket and flush; a slow one comes within seconds.)
    let deadline = Instant::now() + Duration::from_secs(45);
    let (slow, exemplar_count) = loop {
        let exemplars = chain
            .prometheus
            .exemplars(
                "traces_span_metrics_duration_seconds_bucket{service_name=\"geolocator\"}",
                Duration::from_secs(120),
            )
            .await
            .unwrap();
        let exemplar_traces: Vec<String> = exemplars
            .iter()
            .filter_map(|e| e.get("trace_id").cloned())
            .collect();
        let slow = chain
            .tempo
            .spans()
            .into_iter()
            .filter(|s| exemplar_traces.contains(&s.trace_id()))
            .find(|s| {
                s.service_name() == Some("geolocator")
                    && s.kind() == SpanKind::Server
                    && slow_spans.matches(&span_view(s))
            });
        if slow.is_some() || Instant::now() > deadline {
            break (slow, exemplar_traces.len());
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    };
    stop.store(true, Ordering::SeqCst);
    let sent = traffic.await.unwrap();
    let slow = slow.unwrap_or_else(|| {
        panic!(
            "none of the {exemplar_count} exemplars of geolocator's latency names a trace with \
             a slow geolocator span at the Tempo stand-in"
        )
    });
    let trace_id = slow.trace_id();
    eprintln!(
        "exemplar: trace {trace_id}, geolocator `{}` took {:?}",
        slow.name(),
        slow.duration()
    );

    // Its logs: the datasource's trace-to-logs query, from geolocator's span.
    let link = datasource_queries(
        "platform/grafana/provisioning/datasources/datasources.yaml",
        &platform_check::load_yaml("platform/grafana/provisioning/datasources/datasources.yaml"),
    )
    .into_iter()
    .find(|q| q.origin.contains("trace-to-logs"))
    .expect("the Tempo datasource links traces to logs");
    let run = instantiate(
        &link.expr,
        &Variables {
            tags: "service_name=\"geolocator\"".into(),
            span_name: slow.name().to_owned(),
            trace_id: trace_id.clone(),
        },
    );
    let query = LogQuery::parse(&run).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let warnings = loop {
        let warnings: Vec<String> = chain
            .loki
            .logs()
            .iter()
            .map(log_line)
            .filter(|l| query.matches(l))
            .map(|l| l.line)
            .collect();
        if !warnings.is_empty() || Instant::now() > deadline {
            break warnings;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    eprintln!("`{run}` at the Loki stand-in: {warnings:?}");
    assert!(
        warnings.iter().any(|l| l.starts_with("slow lookup: ")),
        "the trace's logs hold geolocator's warning: {warnings:?}"
    );

    std::fs::write(&switch, faults::switch_text(None)).unwrap();
    stop_cleanly(&mut stack, Duration::from_secs(15)).await;
    let _ = std::fs::remove_dir_all(&dir);
    eprintln!(
        "worked example, live: {sent} requests, {:.0?} in all",
        started.elapsed()
    );
}
