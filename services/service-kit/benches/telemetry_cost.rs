//! What the services' telemetry costs, piece by piece, set up exactly as the services set it
//! up: `telemetry::init` (the global subscriber with its layers, the providers with their
//! batch processors and OTLP/HTTP exporters, the propagators, the global meter provider),
//! exporting to the workshop's OTLP receiver on loopback, and the spans, propagation and
//! HTTP metrics of `service_kit`.
//!
//! ```sh
//! cargo run -p workshop -- solve 5     # the finished workshop: on `main` the sections'
//!                                      # parts are empty and measure (almost) nothing
//! cargo bench -p service-kit --bench telemetry_cost
//! cargo bench -p service-kit --bench telemetry_variants   # the alternatives, and export
//! ```
//!
//! Times are the benchmark thread's CPU time (see `support::ThreadCpu`); what the batch
//! processors do on their own threads (encoding and sending) is `telemetry_variants`'
//! `export` group. BENCHMARKS.md ("Telemetry piece by piece") has the figures.

mod support;

use std::hint::black_box;
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::http::HeaderMap;
use criterion::{Criterion, criterion_group, criterion_main};
use service_kit::http_metrics::{self, Call, Served};
use service_kit::spans;
use service_kit::upstream::CallOutcome;
use telemetry::opentelemetry::metrics::Counter;
use telemetry::opentelemetry::{KeyValue, global};
use tracing::Instrument;
use url::Url;

use support::{LocalReceiver, ThreadCpu};

/// A `traceparent` as the gateway sends it to geolocator.
const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

/// `telemetry::init` as a service calls it, exporting to a local receiver over
/// OTLP/HTTP, with the console at `warn` as in `workshop bench --env RUST_LOG=warn`.
fn init() -> telemetry::Telemetry {
    let receiver = LocalReceiver::start();
    // SAFETY: set before any other thread of this process reads the environment: the
    // receiver's thread reads none, and the SDK's threads start in `init`, below.
    unsafe {
        std::env::set_var("OTEL_EXPORTER_OTLP_ENDPOINT", &receiver.http_endpoint);
        std::env::set_var("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf");
        std::env::set_var("RUST_LOG", "warn");
    }
    telemetry::init("telemetry-cost", "0.0.0")
}

fn request() -> Request {
    Request::builder()
        .uri("/distance?location=Berlin")
        .body(Body::empty())
        .expect("a valid request")
}

fn geolocator_url() -> Url {
    Url::parse("http://127.0.0.1:8082/coordinates").expect("a valid URL")
}

/// Polls `future` to its end once, as a request's future is polled (every poll enters and
/// leaves its `.instrument` span).
fn run_once<F: Future>(future: F) -> F::Output {
    futures_executor::block_on(future)
}

fn spans(c: &mut Criterion<ThreadCpu>) {
    let mut group = c.benchmark_group("span");
    let request = request();
    // The SERVER span of `spans::trace_request`: made, entered and left once, its status
    // code recorded, closed.
    group.bench_function("server span (service-kit)", |b| {
        b.iter(|| {
            let span = spans::server_span("GET", "/distance", &request);
            span.in_scope(|| black_box(()));
            span.record("http.response.status_code", 200_i64);
        })
    });
    let url = geolocator_url();
    // The CLIENT span of `Upstream::get_json`, around a future that completes at once.
    group.bench_function("client span (service-kit)", |b| {
        b.iter(|| {
            let span = spans::client_span(&url);
            run_once(async { spans::record_status(200) }.instrument(span.clone()));
        })
    });
    // iss-distance's `calculating-iss-distance`: an `#[instrument(skip_all)]` span without
    // fields.
    group.bench_function("instrument span, no fields", |b| {
        b.iter(|| run_once(calculating()))
    });
    // Entering and leaving a span that exists: what every poll of an instrumented future
    // costs.
    let span = spans::server_span("GET", "/distance", &request);
    group.bench_function("enter and exit", |b| {
        b.iter(|| span.in_scope(|| black_box(())))
    });
    group.finish();
}

#[tracing::instrument(name = "calculating-iss-distance", skip_all)]
async fn calculating() {
    black_box(());
}

fn logs(c: &mut Criterion<ThreadCpu>) {
    let mut group = c.benchmark_group("log");
    let span = spans::server_span("GET", "/distance", &request());
    let _entered = span.enter();
    // iss-distance's one log line per request, inside its request's span: a log record
    // through the bridge (the console drops it at `warn`).
    group.bench_function("info! in a span", |b| {
        b.iter(|| tracing::info!("calculating the ISS distance"))
    });
    group.finish();
}

fn propagation(c: &mut Criterion<ThreadCpu>) {
    let mut group = c.benchmark_group("propagation");
    let mut incoming = HeaderMap::new();
    incoming.insert("traceparent", TRACEPARENT.parse().expect("a valid header"));
    group.bench_function("extract", |b| {
        b.iter(|| telemetry::propagation::extract(black_box(&incoming)))
    });
    let span = spans::client_span(&geolocator_url());
    let _entered = span.enter();
    group.bench_function("inject", |b| {
        b.iter(|| {
            let mut headers = HeaderMap::new();
            telemetry::propagation::inject_current(&mut headers);
            headers
        })
    });
    group.finish();
}

fn metrics(c: &mut Criterion<ThreadCpu>) {
    let mut group = c.benchmark_group("metric");
    let meter = global::meter("telemetry-cost");
    let counter: Counter<u64> = meter.u64_counter("incoming.requests").build();
    // iss-distance's `incoming.requests`: no attributes.
    group.bench_function("counter add", |b| b.iter(|| counter.add(1, &[])));
    // iss-distance's `iss.requests`: one attribute.
    let calls: Counter<u64> = meter.u64_counter("iss.requests").build();
    group.bench_function("counter add, 1 attribute", |b| {
        b.iter(|| calls.add(1, &[KeyValue::new("http.response.status_code", 200_i64)]))
    });
    // Section 5's histograms, through service-kit's own functions.
    group.bench_function("record_served (histogram)", |b| {
        b.iter(|| {
            let served = Served {
                method: "GET",
                route: "/distance",
                status: 200,
            };
            http_metrics::record_served(Duration::from_micros(700), served)
        })
    });
    let url = geolocator_url();
    let answered = CallOutcome {
        status_code: Some(200),
        error_type: None,
    };
    group.bench_function("record_call (histogram)", |b| {
        b.iter(|| {
            http_metrics::record_call(Duration::from_micros(400), Call::to(&url, answered.clone()))
        })
    });
    group.finish();
}

fn criterion() -> Criterion<ThreadCpu> {
    Criterion::default()
        .with_measurement(ThreadCpu)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
}

fn all(c: &mut Criterion<ThreadCpu>) {
    // Kept until the process ends: shutting down would flush for nothing.
    let telemetry = init();
    spans(c);
    logs(c);
    propagation(c);
    metrics(c);
    std::mem::forget(telemetry);
}

criterion_group! {
    name = benches;
    config = criterion();
    targets = all
}
criterion_main!(benches);
