//! What the HTTP metrics cost per request: `http_metrics::record_served` and
//! `record_call`, called with the attributes of a request through the gateway, against a
//! real SDK meter provider (the aggregation the services do; no export during the loop).
//!
//! ```sh
//! cargo run -p service-kit --release --example http_metrics_cost
//! cargo run -p service-kit --release --example http_metrics_cost -- --threads 2
//! ```
//!
//! With `--threads N`, N threads record at once into the same instruments, as the tokio
//! worker threads of a service do (the SDK locks each attribute set's histogram). Times are
//! each thread's own CPU time (`CLOCK_THREAD_CPUTIME_ID`), so a busy machine that preempts
//! the threads does not inflate them.
//!
//! Run it on a tree with section 5 done (`workshop solve 5`); on `main` the two functions
//! are empty and it says so. BENCHMARKS.md has the figures and the end-to-end cost.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData, ResourceMetrics};
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider, Temporality};
use service_kit::http_metrics::{self, Call, Served};
use service_kit::upstream::CallOutcome;
use telemetry::opentelemetry::global;
use url::Url;

/// Requests to time: enough for a stable mean, short enough to run in seconds.
const REQUESTS: u32 = 1_000_000;

fn main() {
    let threads = threads();
    let recorded = Arc::new(AtomicU64::new(0));
    let exporter = Counting(recorded.clone());
    // The default interval (60 s) is longer than the run: the loop measures recording only.
    let reader = PeriodicReader::builder(exporter).build();
    let provider = SdkMeterProvider::builder().with_reader(reader).build();
    global::set_meter_provider(provider.clone());

    let timings: Vec<(Duration, Duration)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| scope.spawn(|| record_requests(REQUESTS / threads)))
            .collect();
        workers
            .into_iter()
            .map(|worker| worker.join().expect("a worker finishes"))
            .collect()
    });
    let served: Duration = timings.iter().map(|(served, _)| *served).sum();
    let called: Duration = timings.iter().map(|(_, called)| *called).sum();
    let requests = REQUESTS / threads * threads;

    provider
        .force_flush()
        .expect("the counting exporter never fails");
    let measurements = recorded.load(Ordering::Relaxed);
    let per = |total: Duration| total.as_nanos() as f64 / f64::from(requests * 3);
    println!(
        "{requests} requests on {threads} thread(s), each recording 3 server and 3 client durations"
    );
    println!("record_served: {:.0} ns a call", per(served));
    println!("record_call:   {:.0} ns a call", per(called));
    println!(
        "per request:   {:.2} µs of CPU",
        (served + called).as_secs_f64() * 1e6 / f64::from(requests)
    );
    println!("measurements the SDK aggregated: {measurements}");
    if measurements == 0 {
        println!("(none: the record functions are empty here; run it after section 5)");
    }
    let _ = provider.shutdown();
}

/// `--threads N`, default 1.
fn threads() -> u32 {
    let args: Vec<String> = std::env::args().collect();
    match args.iter().position(|a| a == "--threads") {
        None => 1,
        Some(at) => args
            .get(at + 1)
            .and_then(|n| n.parse().ok())
            .filter(|n| *n > 0)
            .unwrap_or_else(|| {
                eprintln!("usage: http_metrics_cost [--threads N], N > 0");
                std::process::exit(2)
            }),
    }
}

/// Records what `requests` requests through the gateway do: three services answer, three
/// calls; returns the CPU time spent recording the servers' durations, then the calls'.
fn record_requests(requests: u32) -> (Duration, Duration) {
    let started = thread_cpu_time();
    for n in 0..requests {
        for route in ["/distance", "/coordinates", "/distance"] {
            let request = Served {
                method: "GET",
                route,
                status: status(n),
            };
            http_metrics::record_served(ELAPSED, request);
        }
    }
    let served = thread_cpu_time() - started;

    let geolocator = Url::parse("http://127.0.0.1:5002/coordinates").expect("a URL");
    let iss_distance = Url::parse("http://127.0.0.1:5003/distance").expect("a URL");
    let iss_api = Url::parse("http://api.open-notify.org/iss-now.json").expect("a URL");
    let answered = |status: u16| CallOutcome {
        status_code: Some(i64::from(status)),
        error_type: (status >= 400).then(|| status.to_string()),
    };
    let started = thread_cpu_time();
    for n in 0..requests {
        http_metrics::record_call(ELAPSED, Call::to(&geolocator, answered(status(n))));
        http_metrics::record_call(ELAPSED, Call::to(&iss_distance, answered(200)));
        http_metrics::record_call(ELAPSED, Call::to(&iss_api, answered(200)));
    }
    (served, thread_cpu_time() - started)
}

/// The duration recorded: what a request through the gateway takes.
const ELAPSED: Duration = Duration::from_micros(1500);

/// One request in a hundred is a 404, as an unknown place would be.
fn status(n: u32) -> u16 {
    if n.is_multiple_of(100) { 404 } else { 200 }
}

/// The CPU time this thread has used (`cpu-time` reads the system's per-thread clock on
/// Linux, macOS and Windows, so that other processes' load does not inflate the figure).
fn thread_cpu_time() -> Duration {
    cpu_time::ThreadTime::now().as_duration()
}

/// An exporter that adds up the histograms' counts, to show that the SDK really
/// aggregated what the loop recorded.
struct Counting(Arc<AtomicU64>);

impl PushMetricExporter for Counting {
    async fn export(&self, metrics: &ResourceMetrics) -> OTelSdkResult {
        let mut count = 0;
        for metric in metrics.scope_metrics().flat_map(|scope| scope.metrics()) {
            if let AggregatedMetrics::F64(MetricData::Histogram(histogram)) = metric.data() {
                count += histogram.data_points().map(|p| p.count()).sum::<u64>();
            }
        }
        self.0.store(count, Ordering::Relaxed);
        Ok(())
    }

    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        Ok(())
    }

    fn temporality(&self) -> Temporality {
        Temporality::Cumulative
    }
}
