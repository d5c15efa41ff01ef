//! What the collector's span_metrics connector costs: the real collector on the
//! repository's config, fed the same spans twice, with the connector (as shipped) and
//! without it (an overlay that takes it out of the pipelines). Prints the collector's CPU
//! time per 1,000 spans, its peak memory, and how long the first span's RED metrics take
//! to leave the collector.
//!
//! ```sh
//! cargo run --release -p platform-harness --bin bench-span-metrics [-- SPANS]
//! ```
//!
//! The backends are OTLP receivers (the project's own): nothing else needs to run. The
//! programs come from `build-platform`.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use otlp_receiver::proto::collector::trace::v1::ExportTraceServiceRequest;
use otlp_receiver::proto::common::v1::{AnyValue, KeyValue, any_value};
use otlp_receiver::proto::resource::v1::Resource;
use otlp_receiver::proto::trace::v1::{ResourceSpans, ScopeSpans, Span, span};
use otlp_receiver::{Receiver, ReceiverConfig};
use platform_live::collector::{Collector, Wiring, config_files};
use platform_live::process::Ports;
use platform_live::programs::Programs;
use platform_live::usage::{cpu_time, peak_rss_kib};
use prost::Message;

/// Restates the base pipelines without the connector (lists are replaced when merged).
const WITHOUT_CONNECTOR: &str = "\
service:
  pipelines:
    traces:
      exporters: [otlp_grpc/tempo]
    metrics:
      receivers: [otlp]
";

const SERVICES: [&str; 4] = ["frontend", "gateway", "geolocator", "iss-distance"];
const BATCH: usize = 500;

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let spans: usize = std::env::args()
        .nth(1)
        .map(|n| n.parse().expect("SPANS is a number"))
        .unwrap_or(200_000);
    let repo = platform_check::repo_root();
    let programs = Programs::locate(&repo).unwrap_or_else(|e| panic!("{e}"));
    let overlay =
        std::env::temp_dir().join(format!("without-span-metrics-{}.yaml", std::process::id()));
    std::fs::write(&overlay, WITHOUT_CONNECTOR).unwrap();

    println!(
        "span_metrics connector, collector {}: {spans} spans in batches of {BATCH}",
        programs.releases[0].1
    );
    println!(
        "{:<22} {:>14} {:>14} {:>22}",
        "config", "CPU ms/1k spans", "peak RSS MiB", "first RED metric after"
    );
    for (label, with_overlay) in [("with the connector", false), ("without it", true)] {
        let mut files = config_files(&repo, &["quiet"]);
        if with_overlay {
            files.push(overlay.clone());
        }
        let run = run(&programs, &files, spans).await;
        println!(
            "{label:<22} {:>14.1} {:>14.1} {:>22}",
            run.cpu.as_secs_f64() * 1000.0 / (spans as f64 / 1000.0),
            run.peak_rss_kib as f64 / 1024.0,
            run.first_metric
                .map(|d| format!("{:.1} s", d.as_secs_f64()))
                .unwrap_or_else(|| "none".into())
        );
    }
    let _ = std::fs::remove_file(overlay);
}

struct Run {
    cpu: Duration,
    peak_rss_kib: u64,
    first_metric: Option<Duration>,
}

async fn run(programs: &Programs, files: &[std::path::PathBuf], spans: usize) -> Run {
    let mut ports = Ports::default();
    let [tempo, prometheus, loki] = backends(&mut ports).await;
    // No Jaeger: the jaeger overlay is not used here.
    let nowhere = SocketAddr::from((Ipv4Addr::LOCALHOST, ports.take()));
    let wiring = Wiring::new(
        &mut ports,
        tempo.grpc_addr(),
        prometheus.http_addr(),
        loki.http_addr(),
        nowhere,
    );
    let collector = Collector::start(&programs.collector, files, &wiring)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let pid = collector.process.pid().unwrap();
    let cpu_before = cpu_time(pid).unwrap();
    let started = Instant::now();
    let url = format!("{}/v1/traces", wiring.otlp_http_endpoint());
    let mut first_metric = send(&url, spans, &prometheus, started).await;
    // Everything forwarded to the Tempo stand-in, and (with the connector) a metric.
    let with_connector = !files
        .iter()
        .any(|f| f.to_string_lossy().contains("without"));
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline
        && (tempo.store().stats().spans.received.total() < spans as u64
            || (first_metric.is_none() && with_connector))
    {
        if first_metric.is_none() && has_red_metric(&prometheus) {
            first_metric = Some(started.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let cpu = cpu_time(pid).unwrap() - cpu_before;
    let peak_rss_kib = peak_rss_kib(pid).unwrap_or(0);
    drop(collector);
    Run {
        cpu,
        peak_rss_kib,
        first_metric,
    }
}

/// The backends' stand-ins: Tempo (OTLP/gRPC), Prometheus (OTLP/HTTP at /api/v1/otlp) and
/// Loki (at /otlp).
async fn backends(ports: &mut Ports) -> [Receiver; 3] {
    let loopback = |port: u16| SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let mut http = |prefix: &str| {
        let http = loopback(ports.take());
        ReceiverConfig {
            http,
            ..ReceiverConfig::ephemeral()
        }
        .with_http_path_prefix(prefix)
    };
    let (prometheus, loki) = (http("/api/v1/otlp"), http("/otlp"));
    let tempo = ReceiverConfig {
        grpc: loopback(ports.take()),
        ..ReceiverConfig::ephemeral()
    };
    let mut started = Vec::new();
    for config in [tempo, prometheus, loki] {
        started.push(Receiver::start(config).await.unwrap());
    }
    started
        .try_into()
        .unwrap_or_else(|_| unreachable!("three configs"))
}

/// Sends `spans` spans in batches to the collector at `url`; when the first RED metric
/// reached Prometheus's stand-in after `started`, if it did meanwhile.
async fn send(
    url: &str,
    spans: usize,
    prometheus: &Receiver,
    started: Instant,
) -> Option<Duration> {
    let client = reqwest::Client::new();
    let mut first_metric = None;
    for batch in 0..spans.div_ceil(BATCH) {
        let body = request(batch, BATCH).encode_to_vec();
        let response = client
            .post(url)
            .header("content-type", "application/x-protobuf")
            .body(body)
            .send()
            .await
            .expect("the collector answers");
        assert!(response.status().is_success(), "{}", response.status());
        if first_metric.is_none() && has_red_metric(prometheus) {
            first_metric = Some(started.elapsed());
        }
    }
    first_metric
}

fn has_red_metric(prometheus: &Receiver) -> bool {
    prometheus
        .store()
        .metrics()
        .iter()
        .any(|m| m.name().starts_with("traces.span.metrics"))
}

/// `n` SERVER spans, spread over the four services and a few operations.
fn request(batch: usize, n: usize) -> ExportTraceServiceRequest {
    let resource_spans = SERVICES
        .iter()
        .map(|service| ResourceSpans {
            resource: Some(Resource {
                attributes: vec![string("service.name", service)],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                spans: (0..n / SERVICES.len())
                    .map(|i| {
                        let id = (batch * n + i) as u64;
                        Span {
                            trace_id: [id.to_be_bytes(), (id ^ 0x5a5a).to_be_bytes()].concat(),
                            span_id: (id | 1).to_be_bytes().to_vec(),
                            name: format!("GET /route{}", i % 5),
                            kind: span::SpanKind::Server as i32,
                            start_time_unix_nano: now_nanos() - 3_000_000,
                            end_time_unix_nano: now_nanos(),
                            attributes: vec![string("http.request.method", "GET")],
                            ..Default::default()
                        }
                    })
                    .collect(),
                ..Default::default()
            }],
            ..Default::default()
        })
        .collect();
    ExportTraceServiceRequest { resource_spans }
}

fn string(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value.into())),
        }),
        ..Default::default()
    }
}

fn now_nanos() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
}
