//! The platform, live: the real OpenTelemetry Collector on `platform/otel-collector/config.yaml`
//! (and its overlays), the real Prometheus on `platform/prometheus/prometheus.yaml` with the
//! flags of `docker-compose.yml`, the real Jaeger on `platform/jaeger/config.yaml`, and the
//! project's OTLP receiver standing in for Tempo and Loki (AGPL: never built or run here),
//! fed by the finished workshop's services (every section applied).
//!
//! The programs are built by `cargo run -p platform-live --bin build-platform` (.ci/run
//! does it); without them these tests fail and say so.
//!
//! What is checked is read from the files users run: every query of the dashboards, the
//! chapters' query blocks and the Grafana datasources' links.
//!
//! Unix only, like the rest of the final state's tests (the services are stopped with SIGTERM).
#![cfg(unix)]

use crate::{common, live};
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use common::final_tree;
use common::stack::{Binaries, Harness, build, start, stop_cleanly};
use live::chain::Chain;
use live::scenario::{Sent, client, get, hang};
use live::standins::{log_line, service_graph_edges, span_view};
use otlp_receiver::SpanKind;
use platform_check::{
    Value, check_every_pipeline_redacts, check_span_metrics_before_sampling,
    collector_env_defaults, merge, parse_yaml, repo_root,
};
use platform_harness::collector::{
    built_components, compare_components, export_trouble, used_components, validate,
};
use platform_harness::logql::{LogLine, LogQuery};
use platform_harness::prometheus::check_config;
use platform_harness::queries::{
    Language, Query, Variables, chapter_queries, dashboard_queries, datasource_queries,
    instantiate, judge, only_tempo_answers, tempo_generated_prefixes,
};
use platform_harness::sections::{collector_chapters, finished_collector_config};
use platform_harness::traceql::SpanFilter;
use platform_live::collector::{Wiring, config_files, room_config_files};
use platform_live::process::Ports;
use platform_live::programs::Programs;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// The overlay combinations compose can select: OTELCOL_OVERLAY=quiet|debug, with or
/// without platform/jaeger/compose.yml; and the one `workshop up --collector` runs.
const VARIANTS: [&[&str]; 5] = [
    &["quiet"],
    &["debug"],
    &["quiet", "jaeger"],
    &["debug", "jaeger"],
    // `workshop up --collector`: no Docker, the built-in receiver behind the collector.
    &["quiet", "no-docker"],
];

fn programs() -> Programs {
    let programs = Programs::locate(&repo_root()).unwrap_or_else(|e| panic!("{e}"));
    let releases: Vec<String> = programs
        .releases
        .iter()
        .map(|(p, r)| format!("{} {r}", p.name()))
        .collect();
    eprintln!("live platform: running {}", releases.join(", "));
    programs
}

/// `config.yaml + overlays/quiet.yaml + …`: the files, relative to the root they are under.
fn names(repo: &std::path::Path, files: &[std::path::PathBuf]) -> String {
    files
        .iter()
        .map(|f| {
            let under = f.parent().and_then(|d| d.parent()).unwrap_or(repo);
            f.strip_prefix(under).unwrap_or(f).display().to_string()
        })
        .collect::<Vec<_>>()
        .join(" + ")
}

/// The collector config with overlays, merged as the collector merges them.
fn merged_config(files: &[std::path::PathBuf]) -> Value {
    let mut merged = Value::Mapping(Default::default());
    for file in files {
        let name = file.display().to_string();
        let text = std::fs::read_to_string(file).unwrap();
        let text = collector_env_defaults(&text, &name).unwrap_or_else(|e| panic!("{e}"));
        merge(&mut merged, &parse_yaml(&text, &name).unwrap());
    }
    merged
}

#[test]
fn the_collector_accepts_every_overlay_and_holds_exactly_the_components_they_use() {
    let programs = programs();
    let repo = repo_root();
    let mut ports = Ports::default();
    let loopback = |port: u16| std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let wiring = Wiring::new(
        &mut ports,
        loopback(4317),
        loopback(9090),
        loopback(3100),
        loopback(4317),
    );
    let mut problems = Vec::new();
    let mut used = BTreeMap::new();
    // The config as main has it, and as the sections leave it (section 6 adds processors).
    let finished =
        std::env::temp_dir().join(format!("iss-finished-collector-{}", std::process::id()));
    finished_collector_config(&repo, &finished).unwrap_or_else(|e| panic!("{e}"));
    let mut variants: Vec<(&str, Vec<std::path::PathBuf>)> = Vec::new();
    for (state, root) in [("main", &repo), ("after the sections", &finished)] {
        variants.extend(
            VARIANTS
                .iter()
                .map(|overlays| (state, config_files(root, overlays))),
        );
    }
    // The room's overlay (`workshop room serve`, docker-compose.room.yml) on main's config:
    // the room is an instructor's checkout, not an attendee's exercise.
    variants.push(("main", room_config_files(&repo)));
    for (state, files) in variants {
        let label = format!("{} ({state})", names(&repo, &files));
        if let Err(e) = validate(&programs.collector, &files, &wiring) {
            problems.push(format!("`otelcol validate` refuses {label}:\n{e}"));
        }
        let merged = merged_config(&files);
        for (kind, types) in used_components(&merged) {
            used.entry(kind).or_insert_with(BTreeSet::new).extend(types);
        }
        // Once section 6 redacts, no overlay's pipeline may send out what people typed,
        // and the span metrics and the service graph still see every span.
        problems.extend(check_every_pipeline_redacts(&merged, &label));
        problems.extend(check_span_metrics_before_sampling(&merged, &label));
    }
    let _ = std::fs::remove_dir_all(&finished);
    let built = built_components(&programs.collector).unwrap_or_else(|e| panic!("{e}"));
    problems.extend(compare_components(&built, &used));
    match check_config(&programs.promtool, &repo) {
        Ok(out) => eprintln!("promtool check config: {}", out.trim()),
        Err(e) => problems.push(format!(
            "promtool check config refuses platform/prometheus/prometheus.yaml:\n{e}"
        )),
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The services of the finished workshop, exporting to the chain's collector.
async fn services(binaries: &Binaries, chain: &Chain) -> Harness {
    let mut env = chain.services_env();
    env.extend([
        // Shorter than iss-distance's wait for a hanging ISS API (1.5 s, after which it
        // answers from its orbital model): the page times out and answers 504.
        ("GATEWAY_TIMEOUT_MS", "1000".into()),
        // Every request asks the ISS API, and a failure does not pause it: so each
        // request meets the hanging API, and the slow and failed requests the dashboard
        // and the chapters look for are there to find.
        ("ISS_API_MAX_AGE_MS", "0".into()),
        ("ISS_API_BACKOFF_MS", "0".into()),
    ]);
    start(binaries, &env).await
}

/// Browser-like traffic (no traceparent, as a page's form would send): places found and
/// not, empty input, a bad coordinate straight to iss-distance, and a spell of a hanging
/// ISS API, during which iss-distance falls back to its orbital model (asked through the
/// gateway) and the page gives up on the gateway (504). Returns the number of requests.
async fn scenario(stack: &Harness) -> usize {
    let client = client();
    let mut requests = 0;
    let plain = |url: String| {
        let client = client.clone();
        async move {
            client
                .get(url)
                .send()
                .await
                .map(|r| r.status().as_u16())
                .unwrap_or(0)
        }
    };
    for round in 0..8 {
        for (path, expected) in [
            ("/?location=Berlin", 200),
            ("/?location=Tokyo", 200),
            ("/?location=Narnia", 404),
            ("/?location=", 400),
        ] {
            let status = plain(stack.url("frontend", path)).await;
            // The frontend renders every answer as a page; the status is the gateway's.
            assert!(status == expected || status == 200, "{path}: {status}");
            requests += 1;
        }
        let status = plain(stack.url("iss-distance", "/distance?latitude=north&longitude=1")).await;
        assert_eq!(status, 400, "a bad latitude");
        requests += 1;
        if round == 3 {
            hang(stack, true);
            for _ in 0..3 {
                let status = plain(stack.url("gateway", "/distance?location=Lima")).await;
                assert_eq!(
                    status, 200,
                    "the orbital model answers while the ISS API hangs"
                );
                let status = plain(stack.url("frontend", "/?location=Lima")).await;
                assert_eq!(status, 504, "the page gives up on the gateway after 1 s");
                requests += 2;
            }
            hang(stack, false);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    requests
}

/// The results of running every PromQL query that can run here.
struct PromqlRound {
    problems: Vec<String>,
    lines: Vec<String>,
}

/// Runs every PromQL query in the real Prometheus until each finds what it should (at
/// most a minute: the data comes every few seconds), then asserts that they did.
async fn promql_finds_everything(
    chain: &Chain,
    queries: &[Query],
    vars: &Variables,
    tempo_prefixes: &[(&'static str, String)],
) {
    let deadline = Instant::now() + Duration::from_secs(60);
    let round = loop {
        let round = run_promql(chain, queries, vars, tempo_prefixes).await;
        if round.problems.is_empty() || Instant::now() > deadline {
            break round;
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    };
    eprintln!("PromQL, in Prometheus:\n  {}", round.lines.join("\n  "));
    assert!(
        round.problems.is_empty(),
        "{}\n{}",
        round.problems.join("\n"),
        chain.logs()
    );
}

async fn run_promql(
    chain: &Chain,
    queries: &[Query],
    vars: &Variables,
    tempo_prefixes: &[(&'static str, String)],
) -> PromqlRound {
    let mut round = PromqlRound {
        problems: Vec::new(),
        lines: Vec::new(),
    };
    for query in queries.iter().filter(|q| q.language == Language::PromQL) {
        if let Some(why) = only_tempo_answers(query, tempo_prefixes) {
            round.lines.push(format!(
                "not run  {}: {why}; Tempo does not run here",
                query.origin
            ));
            continue;
        }
        let run = instantiate(&query.expr, vars);
        match chain.prometheus.query(&run).await {
            Err(e) => round.problems.push(format!("{}: {e}", query.origin)),
            Ok(result) => {
                let problems = judge(query, &run, &result);
                round.lines.push(format!(
                    "{}  {}: {} series, grouped by {:?}",
                    if problems.is_empty() {
                        "ok     "
                    } else {
                        "FAILED "
                    },
                    query.origin,
                    result.len(),
                    query.grouping_labels()
                ));
                round.problems.extend(problems);
            }
        }
    }
    round
}

#[tokio::test(flavor = "multi_thread")]
async fn every_query_of_the_dashboards_and_chapters_finds_the_finished_workshops_telemetry() {
    let started = Instant::now();
    let programs = programs();
    let repo = repo_root();
    let (tree, _lock) = final_tree();
    let binaries = build(&tree).await;
    let mut ports = Ports::default();
    // Compose with platform/jaeger/compose.yml: the default overlay and Jaeger's.
    let chain = Chain::start(&programs, &mut ports, &["quiet", "jaeger"]).await;
    let mut stack = services(&binaries, &chain).await;
    let scenario_started = Instant::now();
    let requests = scenario(&stack).await;
    eprintln!(
        "scenario: {requests} requests in {:.0?}",
        scenario_started.elapsed()
    );

    // The scenario's trace: a Berlin request, from the page to iss-distance.
    let tempo_spans = wait_for_spans(&chain).await;
    let root = tempo_spans
        .iter()
        .find(|s| {
            s.service_name() == Some("frontend") && s.kind() == SpanKind::Server && s.is_root()
        })
        .unwrap_or_else(|| {
            panic!(
                "no frontend root span reached the Tempo stand-in:\n{}",
                chain.logs()
            )
        });
    let trace_id = root.trace_id();
    let trace_services: BTreeSet<String> = tempo_spans
        .iter()
        .filter(|s| s.trace_id() == trace_id)
        .filter_map(|s| s.service_name().map(str::to_owned))
        .collect();
    let server_span = tempo_spans
        .iter()
        .find(|s| {
            s.trace_id() == trace_id
                && s.service_name() == Some("gateway")
                && s.kind() == SpanKind::Server
        })
        .expect("the gateway's SERVER span of the trace");
    let vars = Variables {
        tags: "service_name=\"gateway\"".into(),
        span_name: server_span.name().to_owned(),
        trace_id: trace_id.clone(),
    };

    // Every query, from the files.
    let mut queries = dashboard_queries(&repo, "platform/grafana/dashboards").unwrap();
    // The chapters of sections that change the collector's config query what that config
    // does: the_collector_chapters_queries_find_what_the_finished_config_does runs them on
    // the config as the sections leave it.
    let later = collector_chapters(&repo).unwrap();
    queries.extend(
        chapter_queries(&repo, "workshop/chapters")
            .unwrap()
            .into_iter()
            .filter(|q| {
                !later
                    .iter()
                    .any(|chapter| q.origin.starts_with(chapter.as_str()))
            }),
    );
    for file in [
        "platform/grafana/provisioning/datasources/datasources.yaml",
        "platform/jaeger/grafana-datasource.yaml",
    ] {
        queries.extend(datasource_queries(file, &platform_check::load_yaml(file)));
    }
    let tempo_prefixes =
        tempo_generated_prefixes(&platform_check::load_yaml("platform/tempo/tempo.yaml"));

    // PromQL: in the real Prometheus, once the data is there (metrics every second, span
    // metrics every 5 s; at most a minute).
    promql_finds_everything(&chain, &queries, &vars, &tempo_prefixes).await;

    // Exemplars: the datasource links them to traces by `trace_id`; they must name traces
    // that really reached Tempo.
    let exemplars = chain
        .prometheus
        .exemplars(
            "traces_span_metrics_duration_seconds_bucket",
            Duration::from_secs(300),
        )
        .await
        .unwrap();
    let trace_ids: BTreeSet<String> = tempo_spans.iter().map(|s| s.trace_id()).collect();
    let linked = exemplars
        .iter()
        .filter(|e| e.get("trace_id").is_some_and(|t| trace_ids.contains(t)))
        .count();
    eprintln!(
        "exemplars: {} on span metrics, {linked} naming a trace the Tempo stand-in has",
        exemplars.len()
    );
    assert!(
        linked > 0,
        "no exemplar links a span metric to a received trace: {exemplars:?}"
    );

    // LogQL and TraceQL, on what the Loki and Tempo stand-ins received. A trace's link to
    // the logs is followed from a span of a service that logs during the request.
    // The batches of the last requests may still be on their way: read the spans after the
    // logs, until every trace a log record names has arrived (or 15 s have passed).
    let (logs, tempo_spans) = logs_and_their_traces(&chain, Duration::from_secs(15)).await;
    let trace_ids: BTreeSet<String> = tempo_spans.iter().map(|s| s.trace_id()).collect();
    let views: Vec<_> = tempo_spans.iter().map(span_view).collect();
    let logging: BTreeSet<&String> = logs
        .iter()
        .filter(|l| l.metadata.get("trace_id") == Some(&trace_id))
        .filter_map(|l| l.labels.get("service_name"))
        .collect();
    eprintln!("services that log with trace {trace_id}'s id: {logging:?}");
    let Some(logging_service) = logging.iter().next() else {
        panic!("no log record carries the id of trace {trace_id} (services {trace_services:?})");
    };
    let log_vars = Variables {
        tags: format!("service_name=\"{logging_service}\""),
        ..vars.clone()
    };
    let mut problems = Vec::new();
    let mut lines = Vec::new();
    for query in &queries {
        match query.language {
            Language::LogQL => {
                let run = instantiate(&query.expr, &log_vars);
                match LogQuery::parse(&run) {
                    Err(e) => problems.push(format!("{}: {e}", query.origin)),
                    Ok(q) => {
                        let hits = logs.iter().filter(|l| q.matches(l)).count();
                        lines.push(format!(
                            "{}: `{run}` matches {hits} log records",
                            query.origin
                        ));
                        if hits == 0 {
                            problems.push(format!(
                                "{}: `{run}` matches none of the {} log records at the Loki stand-in",
                                query.origin,
                                logs.len()
                            ));
                        }
                    }
                }
            }
            Language::TraceQL => {
                match SpanFilter::parse(&query.expr) {
                    Err(e) => problems.push(format!("{}: {e}", query.origin)),
                    Ok(filter) => {
                        let hits = views.iter().filter(|s| filter.matches(s)).count();
                        lines.push(format!(
                            "{}: `{}` matches {hits} spans",
                            query.origin, query.expr
                        ));
                        if hits == 0 {
                            problems.push(format!(
                                "{}: `{}` matches none of the {} spans at the Tempo stand-in",
                                query.origin,
                                query.expr,
                                views.len()
                            ));
                        }
                    }
                }
            }
            Language::ServiceMap => lines.push(format!(
                "not run  {}: Tempo's service map (its service-graph metrics); Tempo does not run here",
                query.origin
            )),
            Language::PromQL => {}
        }
    }
    // Every trace id a log record carries is one of a received trace.
    let orphans: BTreeSet<&String> = logs
        .iter()
        .filter_map(|l| l.metadata.get("trace_id"))
        .filter(|t| !trace_ids.contains(*t))
        .collect();
    if !orphans.is_empty() {
        problems.push(format!(
            "log records carry trace ids of no received trace: {orphans:?}"
        ));
    }
    // Tempo's service graph: the edges its processor would pair from these spans.
    let edges = service_graph_edges(&tempo_spans);
    lines.push(format!("service graph edges Tempo would draw: {edges:?}"));
    let servers: BTreeSet<&String> = edges.iter().map(|(_, server)| server).collect();
    for service in ["frontend", "gateway", "geolocator", "iss-distance"] {
        if !servers.iter().any(|s| *s == service) {
            problems.push(format!(
                "no service-graph edge leads to {service}: {edges:?}"
            ));
        }
    }
    if !edges.iter().any(|(client, _)| client == "user") {
        problems.push(format!(
            "no edge from `user` (a request from outside): {edges:?}"
        ));
    }
    eprintln!("At the stand-ins:\n  {}", lines.join("\n  "));
    assert!(problems.is_empty(), "{}", problems.join("\n"));

    // Jaeger, through the Jaeger overlay: the same trace, all four services.
    let mut jaeger_services = BTreeSet::new();
    for _ in 0..50 {
        jaeger_services = chain.jaeger.trace_services(&trace_id).await.unwrap();
        if jaeger_services == trace_services {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    eprintln!("Jaeger has trace {trace_id} with {jaeger_services:?}");
    assert_eq!(
        trace_services.len(),
        4,
        "the trace spans all four services: {trace_services:?}"
    );
    assert_eq!(
        jaeger_services, trace_services,
        "Jaeger's API returns the trace with every service"
    );
    stop_cleanly(&mut stack, Duration::from_secs(15)).await;
    eprintln!("live chain: {:.0?} in all", started.elapsed());
}

/// The Loki stand-in's log lines and the Tempo stand-in's spans, read in that order until
/// every trace id of a log line is a received trace's (the batches travel separately).
async fn logs_and_their_traces(
    chain: &Chain,
    patience: Duration,
) -> (Vec<LogLine>, Vec<otlp_receiver::ReceivedSpan>) {
    let deadline = Instant::now() + patience;
    loop {
        let logs: Vec<_> = chain.loki.logs().iter().map(log_line).collect();
        let spans = chain.tempo.spans();
        let traces: BTreeSet<String> = spans.iter().map(|s| s.trace_id()).collect();
        let complete = logs
            .iter()
            .filter_map(|l| l.metadata.get("trace_id"))
            .all(|t| traces.contains(t));
        if complete || Instant::now() > deadline {
            return (logs, spans);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Spans at the Tempo stand-in once every service has sent some.
async fn wait_for_spans(chain: &Chain) -> Vec<otlp_receiver::ReceivedSpan> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let spans = chain.tempo.spans();
        let services: BTreeSet<&str> = spans.iter().filter_map(|s| s.service_name()).collect();
        if services.len() >= 4 || Instant::now() > deadline {
            return spans;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// One fault and what it cost.
struct FaultReport {
    name: &'static str,
    window: (Instant, Instant),
    sent: Vec<Sent>,
    /// Traces of the window's requests: with all three services' spans, with some, none.
    complete: usize,
    partial: usize,
    lost: usize,
    /// Samples of one series exported every second that Prometheus holds for the window,
    /// and for a window as long just before it (what "everything" is).
    samples: f64,
    baseline: f64,
    /// The collector's export queues at the end of the outage (batches waiting).
    queued: String,
}

impl FaultReport {
    fn render(&self) -> String {
        let seconds = (self.window.1 - self.window.0).as_secs_f64();
        let answered = self.sent.iter().filter(|s| s.status == 200).count();
        format!(
            "{}: {} requests in {seconds:.0} s, {answered} answered 200; traces at Tempo: {} complete, {} partial, {} lost; \
             samples of iss-distance's incoming_requests_total in Prometheus for the window: {} (as long a window before it: {})",
            self.name,
            self.sent.len(),
            self.complete,
            self.partial,
            self.lost,
            self.samples,
            self.baseline
        ) + &if self.queued.is_empty() {
            String::new()
        } else {
            format!("; queued in the collector when it ended: {}", self.queued)
        }
    }
}

/// The collector's non-empty export queues: `otlp_http/prometheus 12`.
async fn queued(chain: &Chain) -> String {
    let telemetry = chain.collector.telemetry().await.unwrap_or_default();
    let queued: Vec<String> = telemetry
        .iter()
        .filter(|(k, v)| k.starts_with("otelcol_exporter_queue_size") && **v > 0.0)
        .map(|(k, v)| {
            format!(
                "{} {v} batches",
                k.trim_start_matches("otelcol_exporter_queue_size{")
                    .trim_end_matches('}')
            )
        })
        .collect();
    if queued.is_empty() {
        "nothing".to_owned()
    } else {
        queued.join(", ")
    }
}

/// Gateway requests every 100 ms, each a trace of its own, until `stop`.
fn start_traffic(
    stack: &Harness,
    stop: Arc<AtomicBool>,
) -> (Arc<Mutex<Vec<Sent>>>, tokio::task::JoinHandle<()>) {
    let sent = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&sent);
    let url = stack.url("gateway", "/distance?location=Paris");
    let task = tokio::spawn(async move {
        let client = client();
        while !stop.load(Ordering::SeqCst) {
            let request = get(&client, &url).await;
            sink.lock().unwrap().push(request);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    (sent, task)
}

#[tokio::test(flavor = "multi_thread")]
async fn faults_leave_the_services_answering_and_the_collector_delivers_what_its_queue_holds() {
    let programs = programs();
    let (tree, _lock) = final_tree();
    let binaries = build(&tree).await;
    let mut ports = Ports::default();
    let mut chain = Chain::start(&programs, &mut ports, &["quiet"]).await;
    let mut stack = services(&binaries, &chain).await;
    let stop = Arc::new(AtomicBool::new(false));
    let (sent, traffic) = start_traffic(&stack, Arc::clone(&stop));
    tokio::time::sleep(Duration::from_secs(5)).await;

    let mut windows = Vec::new();
    let started = Instant::now();
    chain.prometheus.stop().await;
    tokio::time::sleep(Duration::from_secs(10)).await;
    let queued_prometheus = queued(&chain).await;
    let restarted = chain.prometheus.restart().await;
    restarted.unwrap_or_else(|e| panic!("{e}"));
    windows.push((
        "Prometheus stopped for 10 s, then started again",
        started,
        Instant::now(),
        queued_prometheus,
    ));
    tokio::time::sleep(Duration::from_secs(5)).await;

    let started = Instant::now();
    chain.restart_collector(Duration::from_secs(3)).await;
    windows.push((
        "collector stopped (SIGTERM) and started again 3 s later",
        started,
        Instant::now(),
        String::new(),
    ));
    tokio::time::sleep(Duration::from_secs(5)).await;

    let started = Instant::now();
    chain.tempo.refuse().await;
    tokio::time::sleep(Duration::from_secs(10)).await;
    let queued_tempo = queued(&chain).await;
    chain.tempo.resume().await;
    windows.push((
        "Tempo stand-in refusing connections for 10 s",
        started,
        Instant::now(),
        queued_tempo,
    ));

    // Let the queues drain: the retries back off up to 30 s between tries.
    let deadline = Instant::now() + Duration::from_secs(45);
    let telemetry = loop {
        tokio::time::sleep(Duration::from_secs(2)).await;
        let telemetry = chain.collector.telemetry().await.unwrap_or_default();
        let queued: f64 = telemetry
            .iter()
            .filter(|(k, _)| k.starts_with("otelcol_exporter_queue_size"))
            .map(|(_, v)| v)
            .sum();
        if (queued == 0.0 && !telemetry.is_empty()) || Instant::now() > deadline {
            break telemetry;
        }
    };
    stop.store(true, Ordering::SeqCst);
    traffic.await.unwrap();
    let sent = sent.lock().unwrap().clone();
    // The last requests' traces still travel (batching in the SDKs and the collector).
    let last: Vec<String> = sent[sent.len().saturating_sub(20)..]
        .iter()
        .map(|s| s.trace_id.clone())
        .collect();
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline {
        let arrived: BTreeSet<String> = chain.tempo.spans().iter().map(|s| s.trace_id()).collect();
        if last.iter().filter(|t| arrived.contains(*t)).count() >= 15 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let spans = chain.tempo.spans();
    let mut services_of: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for span in &spans {
        if let Some(service) = span.service_name() {
            services_of
                .entry(span.trace_id())
                .or_default()
                .insert(service.to_owned());
        }
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let mut reports = Vec::new();
    for (name, from, to, queued) in windows {
        let in_window: Vec<Sent> = sent
            .iter()
            .filter(|s| s.at >= from && s.at <= to)
            .cloned()
            .collect();
        let (mut complete, mut partial, mut lost) = (0, 0, 0);
        for request in &in_window {
            match services_of
                .get(&request.trace_id)
                .map(BTreeSet::len)
                .unwrap_or(0)
            {
                0 => lost += 1,
                n if n >= 3 => complete += 1,
                _ => partial += 1,
            }
        }
        let seconds = (to - from).as_secs().max(1);
        let at = now - Instant::now().duration_since(to).as_secs_f64();
        let count = format!(
            "max(count_over_time(incoming_requests_total{{service_name=\"iss-distance\"}}[{seconds}s]))"
        );
        let samples_at = |at: f64| {
            let prometheus = &chain.prometheus;
            let count = count.clone();
            async move {
                prometheus
                    .query_at(&count, Some(at))
                    .await
                    .ok()
                    .and_then(|r| r.first().map(|s| s.value))
                    .unwrap_or(0.0)
            }
        };
        let samples = samples_at(at).await;
        let baseline = samples_at(at - seconds as f64).await;
        reports.push(FaultReport {
            name,
            window: (from, to),
            sent: in_window,
            complete,
            partial,
            lost,
            samples,
            baseline,
            queued,
        });
    }
    let counters: Vec<String> = telemetry
        .iter()
        .filter(|(k, v)| {
            **v > 0.0
                && (k.contains("_sent_")
                    || k.contains("failed")
                    || k.contains("refused")
                    || k.contains("accepted"))
        })
        .map(|(k, v)| format!("{k} = {v}"))
        .collect();
    let trouble: Vec<String> = export_trouble(&chain.collector_output())
        .iter()
        .map(|(exporter, t)| {
            format!(
                "{exporter}: {} retries, {} items dropped",
                t.retries, t.dropped_items
            )
        })
        .collect();
    eprintln!(
        "Faults, with traffic every 100 ms:\n  {}\nThe collectors' logs: {}\nThe counters of the collector started last:\n  {}",
        reports
            .iter()
            .map(FaultReport::render)
            .collect::<Vec<_>>()
            .join("\n  "),
        if trouble.is_empty() {
            "no failed export".to_owned()
        } else {
            trouble.join("; ")
        },
        counters.join("\n  ")
    );

    // The services answered throughout.
    let failed: Vec<&Sent> = sent.iter().filter(|s| s.status != 200).collect();
    assert!(
        failed.is_empty(),
        "requests failed during the faults: {failed:?}"
    );
    assert!(sent.len() > 100, "only {} requests", sent.len());
    // After every fault the chain works again: the last requests' traces and metrics arrive.
    let last = &sent[sent.len() - 20..];
    let arrived = last
        .iter()
        .filter(|s| services_of.get(&s.trace_id).is_some_and(|v| v.len() >= 3))
        .count();
    assert!(
        arrived >= 15,
        "only {arrived} of the last 20 traces arrived after the faults\n{}",
        chain.logs()
    );
    let recent = chain
        .prometheus
        .query("max(count_over_time(incoming_requests_total{service_name=\"iss-distance\"}[10s]))")
        .await
        .unwrap();
    assert!(
        recent.first().is_some_and(|s| s.value >= 5.0),
        "Prometheus gets metrics again: {recent:?}"
    );
    // What the queue holds is delivered once the backend is back: a refusing Tempo and a
    // stopped Prometheus lose nothing.
    for report in &reports {
        if !report.name.starts_with("collector") {
            assert_eq!(report.lost + report.partial, 0, "{}", report.render());
        }
    }
    stop_cleanly(&mut stack, Duration::from_secs(15)).await;
}

/// The chapters of sections that change the collector's config (section 6: redaction, a
/// filter, tail sampling) ask about what that config does: their queries run here, on the
/// collector's config as the sections leave it, with the finished workshop's traffic
/// through it, including stylesheet fetches and what a person might type. The debug
/// overlay is on: what it prints to the collector's log must be redacted too.
#[tokio::test(flavor = "multi_thread")]
async fn the_collector_chapters_queries_find_what_the_finished_config_does() {
    let started = Instant::now();
    let programs = programs();
    let repo = repo_root();
    let chapters = collector_chapters(&repo).unwrap();
    assert!(
        !chapters.is_empty(),
        "no section changes the collector's config"
    );
    let finished = std::env::temp_dir().join(format!(
        "iss-live-finished-collector-{}",
        std::process::id()
    ));
    finished_collector_config(&repo, &finished).unwrap_or_else(|e| panic!("{e}"));
    let (tree, _lock) = final_tree();
    let binaries = build(&tree).await;
    let mut ports = Ports::default();
    let files = config_files(&finished, &["debug", "jaeger"]);
    let chain = Chain::start_on(&programs, &mut ports, files).await;
    let mut stack = services(&binaries, &chain).await;
    let client = client();
    let mut requests = 0;
    for _ in 0..10 {
        for path in [
            "/?location=Berlin",
            "/?location=Tokyo",
            "/?location=Narnia",
            "/style.css",
        ] {
            get(&client, &stack.url("frontend", path)).await;
            requests += 1;
        }
        let bad = stack.url("iss-distance", "/distance?latitude=north&longitude=1");
        get(&client, &bad).await;
        requests += 1;
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    eprintln!("{requests} requests through the finished collector config");

    let queries: Vec<Query> = chapters
        .iter()
        .flat_map(|chapter| {
            let text = std::fs::read_to_string(repo.join(chapter)).unwrap();
            platform_harness::queries::queries_of_markdown(chapter, &text)
        })
        .collect();
    let vars = Variables {
        tags: String::new(),
        span_name: String::new(),
        trace_id: String::new(),
    };
    // The tail sampler decides after 5 s, Prometheus scrapes the collector every 5 s.
    promql_finds_everything(&chain, &queries, &vars, &[]).await;

    let spans = chain.tempo.spans();
    let logs: Vec<_> = chain.loki.logs().iter().map(log_line).collect();
    let views: Vec<_> = spans.iter().map(span_view).collect();
    let mut problems = Vec::new();
    for query in &queries {
        let hits = match query.language {
            Language::LogQL => match LogQuery::parse(&query.expr) {
                Ok(q) => logs.iter().filter(|l| q.matches(l)).count(),
                Err(e) => {
                    problems.push(format!("{}: {e}", query.origin));
                    continue;
                }
            },
            Language::TraceQL => match SpanFilter::parse(&query.expr) {
                Ok(filter) => views.iter().filter(|s| filter.matches(s)).count(),
                Err(e) => {
                    problems.push(format!("{}: {e}", query.origin));
                    continue;
                }
            },
            _ => continue,
        };
        eprintln!("{}: `{}` matches {hits}", query.origin, query.expr);
        if hits == 0 {
            problems.push(format!(
                "{}: `{}` matches nothing",
                query.origin, query.expr
            ));
        }
    }
    // What the chapter promises of the config, at the backends' stand-ins.
    let typed = ["Narnia", "north"];
    for span in &spans {
        let message = span.status().message;
        if typed.iter().any(|t| message.contains(t)) {
            problems.push(format!("a typed value reached Tempo: {message:?}"));
        }
        if span
            .attribute("http.route")
            .and_then(|r| r.as_str().map(str::to_owned))
            .as_deref()
            == Some("/style.css")
        {
            problems.push("a stylesheet span reached Tempo".to_owned());
        }
    }
    for log in &logs {
        if typed.iter().any(|t| log.line.contains(t)) {
            problems.push(format!("a typed value reached Loki: {:?}", log.line));
        }
    }
    // The debug overlay prints every span and log record it gets to the collector's log.
    let printed = chain.collector_output();
    if !printed.iter().any(|l| l.contains("rejected request")) {
        problems.push("the debug overlay printed no log record of a rejected request".to_owned());
    }
    for line in printed
        .iter()
        .filter(|l| typed.iter().any(|t| l.contains(t)))
    {
        problems.push(format!(
            "a typed value reached the collector's log (debug overlay): {line}"
        ));
    }
    stop_cleanly(&mut stack, Duration::from_secs(15)).await;
    let _ = std::fs::remove_dir_all(&finished);
    eprintln!(
        "the finished collector config, live: {:.0?} in all",
        started.elapsed()
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Chapter 03 says why the services export cumulative sums: Prometheus 3.14, started as
/// compose starts it, refuses a request that holds a delta sum, cumulative metrics and all.
#[tokio::test(flavor = "multi_thread")]
async fn prometheus_refuses_delta_temporality_as_chapter_03_says() {
    let programs = programs();
    let repo = repo_root();
    let mut ports = Ports::default();
    let data = std::env::temp_dir().join(format!("iss-live-delta-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    let prometheus = platform_harness::prometheus::Prometheus::start(
        &programs.prometheus,
        &repo,
        ports.take(),
        &data,
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let sum = |name: &str, temporality: u8| {
        serde_json::json!({"name": name, "sum": {"aggregationTemporality": temporality,
            "isMonotonic": true, "dataPoints": [{"asInt": "3",
            "startTimeUnixNano": (now - 5_000_000_000).to_string(), "timeUnixNano": now.to_string()}]}})
    };
    // 1 = delta, 2 = cumulative (OTLP's AggregationTemporality).
    let body = serde_json::json!({"resourceMetrics": [{"resource": {"attributes": [
        {"key": "service.name", "value": {"stringValue": "delta-test"}}]},
        "scopeMetrics": [{"metrics": [sum("cumulative.calls", 2), sum("delta.calls", 1)]}]}]});
    let response = client()
        .post(format!(
            "http://{}/api/v1/otlp/v1/metrics",
            prometheus.addr()
        ))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap_or_default();
    let stored = prometheus
        .query("{__name__=~\"cumulative_calls_total|delta_calls_total\"}")
        .await
        .unwrap();
    let chapter = std::fs::read_to_string(repo.join("workshop/chapters/03-section-1-metrics.md"))
        .unwrap()
        .replace('\n', " ");
    let _ = std::fs::remove_dir_all(&data);
    eprintln!(
        "Prometheus answered a delta sum with {status}: {}",
        text.trim()
    );
    assert!(
        status >= 400,
        "Prometheus took a delta sum: {status} {text}"
    );
    assert!(
        text.contains("invalid temporality and type combination"),
        "{text}"
    );
    assert!(
        chapter.contains("invalid temporality and type combination"),
        "chapter 03 does not quote what Prometheus answers"
    );
    assert!(stored.is_empty(), "stored after a refusal: {stored:?}");
}

/// Chapter 08 says a capture group in an OTTL replacement needs no escaping: the collector
/// expands only `${…}` (and turns `$$` into `$`). The real collector, on a transform that
/// writes `$1`, sends the captured text.
#[tokio::test(flavor = "multi_thread")]
async fn an_ottl_replacement_takes_dollar_one_as_written() {
    let programs = programs();
    let mut ports = Ports::default();
    let loki = live::chain::StandIn::start(
        "Loki",
        otlp_receiver::ReceiverConfig {
            grpc: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
            http: std::net::SocketAddr::from(([127, 0, 0, 1], ports.take())),
            ..otlp_receiver::ReceiverConfig::ephemeral()
        }
        .with_http_path_prefix("/otlp"),
    )
    .await;
    let loopback = |port: u16| std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let wiring = Wiring::new(
        &mut ports,
        loopback(9),
        loopback(9),
        loki.config.http,
        loopback(9),
    );
    let config = std::env::temp_dir().join(format!("iss-ottl-dollar-{}.yaml", std::process::id()));
    std::fs::write(
        &config,
        r#"extensions:
  health_check:
    endpoint: ${env:OTELCOL_HEALTH_ENDPOINT}
receivers:
  otlp:
    protocols:
      http:
        endpoint: ${env:OTELCOL_OTLP_HTTP_ENDPOINT}
processors:
  transform/groups:
    log_statements:
      - replace_pattern(log.body, "called \"([^\"]*)\"", "called <$1>")
exporters:
  otlp_http/loki:
    endpoint: http://${env:LOKI_ADDRESS}/otlp
service:
  extensions: [health_check]
  telemetry:
    metrics:
      level: none
  pipelines:
    logs:
      receivers: [otlp]
      processors: [transform/groups]
      exporters: [otlp_http/loki]
"#,
    )
    .unwrap();
    let collector = platform_live::collector::Collector::start(
        &programs.collector,
        std::slice::from_ref(&config),
        &wiring,
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let body = serde_json::json!({"resourceLogs": [{"resource": {"attributes": []},
        "scopeLogs": [{"logRecords": [{"body": {"stringValue": "no place called \"Narnia\" in the gazetteer"}}]}]}]});
    let sent = client()
        .post(format!("{}/v1/logs", wiring.otlp_http_endpoint()))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(sent.status().is_success(), "{sent:?}");
    let deadline = Instant::now() + Duration::from_secs(10);
    let bodies = loop {
        let bodies: Vec<String> = loki.logs().iter().map(|l| l.body_text()).collect();
        if !bodies.is_empty() || Instant::now() > deadline {
            break bodies;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let _ = std::fs::remove_file(&config);
    drop(collector);
    assert_eq!(bodies, ["no place called <Narnia> in the gazetteer"]);
}
