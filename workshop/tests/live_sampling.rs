//! Section 6's collector config, live, with the services exporting as `workshop up` and
//! compose run them: the SDK's default batch delay (5 s, each service on its own timer),
//! not the quick exports of the other tests.
//!
//! - The service graph is computed before sampling: what the `service_graph` connector
//!   writes into the real Prometheus counts every call and every failed call that the
//!   spans show, edge by edge, while Tempo gets a sample.
//! - `decision_wait` and the connector's `store.ttl` (read from the config) cover how far
//!   apart one trace's spans really reach the collector, and every trace with an error
//!   and every slow one reaches the Tempo stand-in whole.
//!
//! An extra overlay (written here, not in the repository) sends every span the collector
//! receives to one more stand-in, unsampled: what the graph and the sampler are judged by.
#![cfg(unix)]

use std::collections::{BTreeMap, BTreeSet};
use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant, SystemTime};

use otlp_receiver::{ReceivedSpan, ReceiverConfig, SpanKind, StatusCode};
use platform_check::{Value, collector_env_defaults, get, get_str, merge, parse_yaml, repo_root};
use platform_harness::sections::finished_collector_config;
use platform_live::collector::config_files;
use platform_live::process::Ports;
use platform_live::programs::Programs;

use crate::common::final_tree;
use crate::common::stack::{Harness, build, start, stop_cleanly};
use crate::live::chain::{Chain, StandIn};
use crate::live::scenario::{client, hang};
use crate::live::standins::{EdgeCount, service_graph_counts};

/// A Go duration as the configs write them: `10s`, `500ms`.
fn go_duration(text: &str) -> Duration {
    if let Some(ms) = text.strip_suffix("ms") {
        Duration::from_millis(ms.parse().expect("a duration in ms"))
    } else if let Some(s) = text.strip_suffix('s') {
        Duration::from_secs_f64(s.parse().expect("a duration in s"))
    } else {
        panic!("`{text}` is not a duration this test reads")
    }
}

/// The overlay that sends every span, unsampled, to `addr`.
fn everything_overlay(addr: SocketAddr) -> String {
    format!(
        "exporters:\n  otlp_grpc/everything:\n    endpoint: {addr}\n    tls:\n      insecure: true\n\
         service:\n  pipelines:\n    traces/everything:\n      receivers: [otlp]\n      \
         processors: [memory_limiter]\n      exporters: [otlp_grpc/everything]\n"
    )
}

/// The config files merged as the collector merges them.
fn merged(files: &[std::path::PathBuf]) -> Value {
    let mut merged = Value::Mapping(Default::default());
    for file in files {
        let name = file.display().to_string();
        let text = std::fs::read_to_string(file).unwrap();
        let text = collector_env_defaults(&text, &name).unwrap_or_else(|e| panic!("{e}"));
        merge(&mut merged, &parse_yaml(&text, &name).unwrap());
    }
    merged
}

/// Page requests as a browser sends them (no `traceparent`: the frontend starts the
/// trace). Returns how many were sent.
async fn pages(stack: &Harness) -> usize {
    let client = client();
    let get = |path: String| {
        let client = client.clone();
        async move {
            // The page carries the gateway's status (404 for Narnia): any answer will do.
            let answered = client.get(&path).send().await.is_ok();
            assert!(answered, "{path}: the page answers");
        }
    };
    let mut sent = 0;
    for round in 0..6 {
        for place in ["Berlin", "Narnia", "Tokyo"] {
            get(stack.url("frontend", &format!("/?location={place}"))).await;
            sent += 1;
        }
        if round % 3 == 1 {
            // Slow requests: the ISS API hangs and iss-distance waits for it (2.5 s) before
            // it answers from its orbital model. Six at once.
            hang(stack, true);
            let slow: Vec<_> = (0..6)
                .map(|_| tokio::spawn(get(stack.url("frontend", "/?location=Lima"))))
                .collect();
            for request in slow {
                request.await.unwrap();
            }
            hang(stack, false);
            sent += 6;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    sent
}

/// One trace's spans, each with the moment it reached the collector.
type Arrivals<'a> = Vec<(SystemTime, &'a ReceivedSpan)>;

/// When each span reached the collector (its arrival at the unsampled stand-in), by trace.
fn arrivals(spans: &[ReceivedSpan]) -> BTreeMap<String, Arrivals<'_>> {
    let mut out: BTreeMap<String, Arrivals<'_>> = BTreeMap::new();
    for span in spans {
        out.entry(span.trace_id())
            .or_default()
            .push((span.origin.received_at, span));
    }
    out
}

fn spread(times: impl Iterator<Item = SystemTime> + Clone) -> Duration {
    let first = times.clone().min().unwrap();
    let last = times.max().unwrap();
    last.duration_since(first).unwrap_or_default()
}

/// The service graph in Prometheus, by (client, server).
async fn graph_in_prometheus(chain: &Chain) -> BTreeMap<(String, String), EdgeCount> {
    let mut graph: BTreeMap<(String, String), EdgeCount> = BTreeMap::new();
    for (metric, failed) in [
        ("traces_service_graph_request_total", false),
        ("traces_service_graph_request_failed_total", true),
    ] {
        let query = format!("sum by (client, server) ({metric})");
        for series in chain.prometheus.query(&query).await.unwrap_or_default() {
            let edge = graph
                .entry((
                    series.labels.get("client").cloned().unwrap_or_default(),
                    series.labels.get("server").cloned().unwrap_or_default(),
                ))
                .or_default();
            if failed {
                edge.failed = series.value as u64;
            } else {
                edge.calls = series.value as u64;
            }
        }
    }
    graph
}

#[tokio::test(flavor = "multi_thread")]
async fn the_service_graph_counts_every_call_and_the_sampler_keeps_whole_traces_at_the_sdks_default_delay()
 {
    let started = Instant::now();
    let programs = Programs::locate(&repo_root()).unwrap_or_else(|e| panic!("{e}"));
    let repo = repo_root();
    let dest = std::env::temp_dir().join(format!("iss-live-sampling-{}", std::process::id()));
    let finished = finished_collector_config(&repo, &dest).unwrap_or_else(|e| panic!("{e}"));
    let (tree, _lock) = final_tree();
    let binaries = build(&tree).await;
    let mut ports = Ports::default();
    let everything = StandIn::start(
        "every span",
        ReceiverConfig {
            grpc: SocketAddr::from((Ipv4Addr::LOCALHOST, ports.take())),
            http: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            ..ReceiverConfig::ephemeral()
        },
    )
    .await;
    std::fs::write(
        finished.join("overlays/everything.yaml"),
        everything_overlay(everything.config.grpc),
    )
    .unwrap();
    let files = config_files(&dest, &["quiet", "everything"]);
    let config = merged(&files);
    let decision_wait = go_duration(
        get_str(&config, &["processors", "tail_sampling", "decision_wait"])
            .expect("section 6 sets tail_sampling's decision_wait"),
    );
    let ttl = go_duration(
        get_str(&config, &["connectors", "service_graph", "store", "ttl"])
            .expect("the service_graph connector sets store.ttl"),
    );
    let slow_ms = get(&config, &["processors", "tail_sampling", "policies"])
        .and_then(Value::as_sequence)
        .into_iter()
        .flatten()
        .find_map(|p| get(p, &["latency", "threshold_ms"]).and_then(Value::as_u64))
        .expect("a latency policy");

    let chain = Chain::start_on(&programs, &mut ports, files).await;
    // As `workshop up` runs them: no OTEL_BSP_SCHEDULE_DELAY, so the SDK's default (5 s).
    let mut env: Vec<(&str, String)> = chain
        .services_env()
        .into_iter()
        .filter(|(k, _)| *k != "OTEL_BSP_SCHEDULE_DELAY")
        .collect();
    env.extend([
        ("ISS_API_TIMEOUT_MS", "2500".into()),
        ("ISS_API_MAX_AGE_MS", "0".into()),
        ("ISS_API_BACKOFF_MS", "0".into()),
    ]);
    let mut stack = start(&binaries, &env).await;
    let sent = pages(&stack).await;
    // The services flush what they hold when they stop (SIGTERM).
    stop_cleanly(&mut stack, Duration::from_secs(15)).await;

    // Every page's trace, unsampled: its frontend root span, and all four services.
    let deadline = Instant::now() + Duration::from_secs(30);
    let spans = loop {
        let spans = everything.spans();
        let roots = spans
            .iter()
            .filter(|s| s.service_name() == Some("frontend") && s.is_root())
            .count();
        if roots >= sent || Instant::now() > deadline {
            break spans;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    let expected = service_graph_counts(&spans);

    // The service graph in Prometheus: after the connector's ttl (edges from `user` and to
    // the ISS API are counted when it runs out), its flush and the export.
    let deadline = Instant::now() + ttl + Duration::from_secs(40);
    let graph = loop {
        let graph = graph_in_prometheus(&chain).await;
        if graph == expected || Instant::now() > deadline {
            break graph;
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    };
    // The sampler's last decisions.
    tokio::time::sleep(decision_wait + Duration::from_secs(3)).await;
    let tempo = chain.tempo.spans();

    let by_trace = arrivals(&spans);
    let widest = by_trace
        .values()
        .map(|spans| spread(spans.iter().map(|(at, _)| *at)))
        .max()
        .unwrap_or_default();
    // The two halves of each edge: a CLIENT span and the SERVER span it called.
    let widest_edge = by_trace
        .values()
        .flat_map(|spans| {
            spans.iter().filter_map(|(at, server)| {
                let parent = server.parent_span_id()?;
                let (client_at, _) = spans.iter().find(|(_, client)| {
                    client.kind() == SpanKind::Client && client.span_id() == parent
                })?;
                Some(spread([*at, *client_at].into_iter()))
            })
        })
        .max()
        .unwrap_or_default();
    let tempo_by_trace: BTreeMap<String, usize> =
        tempo.iter().fold(BTreeMap::new(), |mut counts, span| {
            *counts.entry(span.trace_id()).or_default() += 1;
            counts
        });
    let must_keep: Vec<(&String, &Arrivals<'_>, &str)> = by_trace
        .iter()
        .filter_map(|(trace, spans)| {
            let error = spans
                .iter()
                .any(|(_, s)| s.status().code == StatusCode::Error);
            let slow = spans
                .iter()
                .any(|(_, s)| s.duration() > Duration::from_millis(slow_ms));
            match (error, slow) {
                (true, _) => Some((trace, spans, "an error")),
                (false, true) => Some((trace, spans, "slow")),
                _ => None,
            }
        })
        .collect();
    let broken: Vec<String> = must_keep
        .iter()
        .filter(|(trace, spans, _)| tempo_by_trace.get(*trace).copied().unwrap_or(0) < spans.len())
        .map(|(trace, spans, why)| {
            format!(
                "trace {trace} ({why}): {} of its {} spans reached Tempo; they reached the collector over {:.1?}",
                tempo_by_trace.get(*trace).copied().unwrap_or(0),
                spans.len(),
                spread(spans.iter().map(|(at, _)| *at))
            )
        })
        .collect();
    let services: BTreeSet<&str> = spans.iter().filter_map(|s| s.service_name()).collect();
    eprintln!(
        "{sent} pages, {} traces, {} spans from {services:?}; Tempo got {} spans of {} traces\n\
         one trace's spans reached the collector at most {widest:.1?} apart (decision_wait {decision_wait:?}), \
         an edge's two halves at most {widest_edge:.1?} apart (service_graph store.ttl {ttl:?})\n\
         {} traces with an error or slow, {} of them not whole at Tempo\n\
         service graph, from the spans: {expected:?}\n\
         service graph, in Prometheus:  {graph:?}\n\
         {:.0?} in all",
        by_trace.len(),
        spans.len(),
        tempo.len(),
        tempo_by_trace.len(),
        must_keep.len(),
        broken.len(),
        started.elapsed()
    );
    let _ = std::fs::remove_dir_all(&dest);

    let mut problems = Vec::new();
    if services.len() != 4 {
        problems.push(format!(
            "the spans come from {services:?}, not the four services"
        ));
    }
    // The edges the workshop draws, with every call counted, sampled or not.
    let pages_called = expected
        .get(&("frontend".to_owned(), "gateway".to_owned()))
        .map(|e| e.calls);
    if pages_called != Some(sent as u64) {
        problems.push(format!(
            "the spans show {pages_called:?} calls from frontend to gateway for {sent} pages"
        ));
    }
    for (client, server) in [
        ("frontend", "gateway"),
        ("gateway", "geolocator"),
        ("gateway", "iss-distance"),
        ("user", "frontend"),
        // The ISS API sends no spans: a virtual node named by its server.address.
        ("iss-distance", "127.0.0.1"),
    ] {
        let edge = (client.to_owned(), server.to_owned());
        if !expected.contains_key(&edge) {
            problems.push(format!("the spans make no edge {client} → {server}"));
        }
    }
    if !expected.values().any(|e| e.failed > 0) {
        problems.push("no edge has a failed call (Narnia is unknown)".to_owned());
    }
    if graph != expected {
        problems.push(format!(
            "the service graph in Prometheus is not that of the spans:\n  in Prometheus: {graph:?}\n  from the spans: {expected:?}\n{}",
            chain.logs()
        ));
    }
    // The histograms Grafana's service map reads, under the names Prometheus gives them.
    for histogram in [
        "traces_service_graph_request_server_seconds_bucket",
        "traces_service_graph_request_client_seconds_bucket",
    ] {
        let query = format!("sum by (client, server, le) ({histogram})");
        let series = chain.prometheus.query(&query).await.unwrap_or_default();
        if series.is_empty() {
            problems.push(format!("Prometheus has no {histogram}"));
        }
    }
    if tempo.len() >= spans.len() {
        problems.push("Tempo got every span: nothing was sampled".to_owned());
    }
    // The rule chapter 08 gives: decision_wait covers the longest request plus the SDK's
    // default export delay (opentelemetry_sdk's OTEL_BSP_SCHEDULE_DELAY_DEFAULT, 5 s), since
    // each service exports on its own timer.
    let longest = by_trace
        .values()
        .map(|spans| {
            spans
                .iter()
                .map(|(_, s)| s.duration())
                .max()
                .unwrap_or_default()
        })
        .max()
        .unwrap_or_default();
    let sdk_delay = Duration::from_secs(5);
    if decision_wait <= longest + sdk_delay {
        problems.push(format!(
            "decision_wait ({decision_wait:?}) does not cover the longest request ({longest:.1?}) plus the SDK's {sdk_delay:?} export delay"
        ));
    }
    // The waits the config sets cover what really happens at the SDK's default delay.
    if widest >= decision_wait {
        problems.push(format!(
            "one trace's spans reached the collector {widest:.1?} apart, longer than decision_wait ({decision_wait:?}): its late spans take a decision made without them"
        ));
    }
    if widest_edge >= ttl {
        problems.push(format!(
            "an edge's two spans reached the collector {widest_edge:.1?} apart, longer than the service_graph connector's store.ttl ({ttl:?})"
        ));
    }
    if must_keep.is_empty() {
        problems.push("no trace with an error or a slow one was made".to_owned());
    }
    problems.extend(broken);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
