//! The alternatives to what the services do, to see what each part of a span or a log
//! record costs, and what the batch processors' export costs (encoding and sending 512
//! spans over OTLP/HTTP and OTLP/gRPC to the workshop's receiver on loopback).
//!
//! ```sh
//! cargo bench -p service-kit --bench telemetry_variants
//! ```
//!
//! Each variant has its own subscriber (`with_default`), made with the same filters as the
//! services' (`telemetry::filter`) and the span layer's options of section 3, and only one
//! subscriber exists at a time, so that `tracing` caches every call site's interest as it
//! does in a service. Span and log times are the thread's CPU time (`support::ThreadCpu`);
//! export times are wall-clock (they include the loopback and the receiver decoding).

mod support;

use std::borrow::Cow;
use std::hint::black_box;
use std::time::{Duration, SystemTime};

use axum::body::Body;
use axum::extract::Request;
use criterion::measurement::WallTime;
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use opentelemetry_appender_tracing::layer::OpenTelemetryTracingBridge;
use opentelemetry_otlp::{LogExporter, SpanExporter, WithExportConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::logs::SdkLoggerProvider;
use opentelemetry_sdk::trace::{SdkTracerProvider, SpanData, SpanEvents, SpanLinks};
use service_kit::spans;
use telemetry::filter;
use telemetry::opentelemetry::trace::{
    SpanContext, SpanId, SpanKind, Status, TraceContextExt, TraceFlags, TraceId, TraceState,
    Tracer, TracerProvider,
};
use telemetry::opentelemetry::{Context, InstrumentationScope, KeyValue};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::SubscriberExt;

use support::{LocalReceiver, ThreadCpu};

fn resource() -> Resource {
    Resource::builder()
        .with_service_name("telemetry-variants")
        .build()
}

/// A tracer provider as section 3 builds it, exporting to `receiver` over OTLP/HTTP.
fn tracer_provider(receiver: &LocalReceiver) -> SdkTracerProvider {
    let exporter = SpanExporter::builder()
        .with_http()
        .with_endpoint(format!("{}/v1/traces", receiver.http_endpoint))
        .build()
        .expect("an exporter");
    SdkTracerProvider::builder()
        .with_resource(resource())
        .with_batch_exporter(exporter)
        .build()
}

/// A logger provider as section 2 builds it, exporting to `receiver` over OTLP/HTTP.
fn logger_provider(receiver: &LocalReceiver) -> SdkLoggerProvider {
    let exporter = LogExporter::builder()
        .with_http()
        .with_endpoint(format!("{}/v1/logs", receiver.http_endpoint))
        .build()
        .expect("an exporter");
    SdkLoggerProvider::builder()
        .with_resource(resource())
        .with_batch_exporter(exporter)
        .build()
}

fn request() -> Request {
    Request::builder()
        .uri("/distance?location=Berlin")
        .body(Body::empty())
        .expect("a valid request")
}

/// The SERVER span's life in `spans::trace_request`: made, entered and left once, its
/// status code recorded, closed.
fn server_span(request: &Request) {
    let span = spans::server_span("GET", "/distance", request);
    span.in_scope(|| black_box(()));
    span.record("http.response.status_code", 200_i64);
}

fn span_variants(c: &mut Criterion<ThreadCpu>, receiver: &LocalReceiver) {
    let mut group = c.benchmark_group("span variants");
    let request = request();
    let provider = tracer_provider(receiver);
    // No OpenTelemetry layer: a console layer that ignores spans, and nothing else. The
    // span is disabled at its call site and costs next to nothing.
    let console = tracing_subscriber::fmt::layer()
        .with_writer(std::io::sink)
        .with_filter(filter::console());
    let subscriber = tracing_subscriber::registry().with(console);
    tracing::subscriber::with_default(subscriber, || {
        group.bench_function("console layer only", |b| b.iter(|| server_span(&request)));
    });
    // What `telemetry::init` builds with OTEL_SDK_DISABLED=true once sections 2 and 3 are
    // done: the console, and the two OpenTelemetry layers as `None`. A `None` layer enables
    // every call site (`Interest::always`), so the span is made after all.
    let console = tracing_subscriber::fmt::layer()
        .with_writer(std::io::sink)
        .with_filter(filter::console());
    let no_logs: Option<OpenTelemetryTracingBridge<SdkLoggerProvider, _>> = None;
    let no_spans: Option<
        tracing_opentelemetry::OpenTelemetryLayer<_, opentelemetry_sdk::trace::SdkTracer>,
    > = None;
    let subscriber = tracing_subscriber::registry()
        .with(console)
        .with(no_logs.map(|bridge| bridge.with_filter(filter::logs())))
        .with(no_spans.map(|layer| layer.with_filter(filter::spans())));
    tracing::subscriber::with_default(subscriber, || {
        group.bench_function("SDK off as init builds it (None layers)", |b| {
            b.iter(|| server_span(&request))
        });
    });
    // The span layer with the default code location, as section 3 has it (without), and
    // without context activation too (log records would lose the span's ids).
    let layers = [
        ("layer with code location (the default)", true, true),
        ("layer as section 3 (no code location)", false, true),
        (
            "layer without code location or context activation",
            false,
            false,
        ),
    ];
    for (name, location, activation) in layers {
        let layer = tracing_opentelemetry::layer()
            .with_tracer(provider.tracer("telemetry-variants"))
            .with_tracked_inactivity(false)
            .with_threads(false)
            .with_target(false)
            .with_location(location)
            .with_context_activation(activation)
            .with_filter(filter::spans());
        let subscriber = tracing_subscriber::registry().with(layer);
        tracing::subscriber::with_default(subscriber, || {
            group.bench_function(name, |b| b.iter(|| server_span(&request)));
        });
    }
    // The same span with the OpenTelemetry API, no `tracing`: the attributes given when it
    // starts, its context made current once (as entering does), the status code added.
    let tracer = provider.tracer("telemetry-variants");
    group.bench_function("OpenTelemetry API directly", |b| {
        b.iter(|| {
            let path = request.uri().path().to_owned();
            let span = tracer
                .span_builder("GET /distance")
                .with_kind(SpanKind::Server)
                .with_attributes([
                    KeyValue::new("http.request.method", "GET"),
                    KeyValue::new("http.route", "/distance"),
                    KeyValue::new("url.path", path),
                    KeyValue::new("url.scheme", "http"),
                ])
                .start(&tracer);
            let cx = Context::current_with_span(span);
            drop(black_box(cx.clone().attach()));
            cx.span()
                .set_attribute(KeyValue::new("http.response.status_code", 200_i64));
            cx.span().end();
        })
    });
    group.finish();
}

fn log_variants(c: &mut Criterion<ThreadCpu>, receiver: &LocalReceiver) {
    let mut group = c.benchmark_group("log variants");
    let provider = logger_provider(receiver);
    let bridge = OpenTelemetryTracingBridge::new(&provider).with_filter(filter::logs());
    tracing::subscriber::with_default(tracing_subscriber::registry().with(bridge), || {
        group.bench_function("info! through the bridge", |b| {
            b.iter(|| tracing::info!("calculating the ISS distance"))
        });
    });
    // The console as the services have it at the default level (`info`), printing to
    // nowhere: formatting the line, not writing it.
    let console = tracing_subscriber::fmt::layer()
        .with_writer(std::io::sink)
        .with_filter(filter::console());
    tracing::subscriber::with_default(tracing_subscriber::registry().with(console), || {
        group.bench_function("info! on the console (to a sink)", |b| {
            b.iter(|| tracing::info!("calculating the ISS distance"))
        });
    });
    group.finish();
}

/// `count` spans like a SERVER span of the services, as the batch processor hands them to
/// the exporter: with the layer's code location (three attributes more), or without.
fn batch(count: u64, location: bool) -> Vec<SpanData> {
    let now = SystemTime::now();
    let scope = InstrumentationScope::builder("telemetry-variants").build();
    (0..count)
        .map(|i| SpanData {
            span_context: SpanContext::new(
                TraceId::from(u128::from(i) + 1),
                SpanId::from(i + 1),
                TraceFlags::SAMPLED,
                false,
                TraceState::default(),
            ),
            parent_span_id: SpanId::from(i + 1_000_000),
            parent_span_is_remote: true,
            span_kind: SpanKind::Server,
            name: Cow::Borrowed("GET /distance"),
            start_time: now,
            end_time: now + Duration::from_micros(700),
            attributes: attributes(location),
            dropped_attributes_count: 0,
            events: SpanEvents::default(),
            links: SpanLinks::default(),
            status: Status::Unset,
            instrumentation_scope: scope.clone(),
        })
        .collect()
}

fn attributes(location: bool) -> Vec<KeyValue> {
    let mut attributes = vec![
        KeyValue::new("http.request.method", "GET"),
        KeyValue::new("http.route", "/distance"),
        KeyValue::new("url.path", "/distance"),
        KeyValue::new("url.scheme", "http"),
        KeyValue::new("http.response.status_code", 200_i64),
    ];
    if location {
        attributes.extend([
            KeyValue::new("code.file.path", "services/service-kit/src/spans.rs"),
            KeyValue::new("code.module.name", "service_kit::spans"),
            KeyValue::new("code.line.number", 74_i64),
        ]);
    }
    attributes
}

/// The batch processor's default batch size.
const BATCH: u64 = 512;

fn export(c: &mut Criterion<WallTime>, receiver: &LocalReceiver) {
    use opentelemetry_sdk::trace::SpanExporter as _;
    let mut group = c.benchmark_group("export 512 spans");
    let spans = batch(BATCH, true);
    let without_location = batch(BATCH, false);
    // OTLP/HTTP with the blocking client, waited for outside any runtime, as on the batch
    // processor's thread.
    let mut http = SpanExporter::builder()
        .with_http()
        .with_endpoint(format!("{}/v1/traces", receiver.http_endpoint))
        .build()
        .expect("an exporter");
    http.set_resource(&resource());
    group.bench_function("OTLP/HTTP", |b| {
        b.iter_batched(
            || spans.clone(),
            |spans| futures_executor::block_on(http.export(spans)).expect("exported"),
            BatchSize::SmallInput,
        )
    });
    group.bench_function("OTLP/HTTP, without code location", |b| {
        b.iter_batched(
            || without_location.clone(),
            |spans| futures_executor::block_on(http.export(spans)).expect("exported"),
            BatchSize::SmallInput,
        )
    });
    // OTLP/gRPC: tonic needs a runtime, to build the exporter in and to export on.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a runtime");
    let mut grpc = runtime.block_on(async {
        SpanExporter::builder()
            .with_tonic()
            .with_endpoint(&receiver.grpc_endpoint)
            .build()
            .expect("an exporter")
    });
    grpc.set_resource(&resource());
    group.bench_function("OTLP/gRPC", |b| {
        b.iter_batched(
            || spans.clone(),
            |spans| runtime.block_on(grpc.export(spans)).expect("exported"),
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

fn quick<M: criterion::measurement::Measurement>(criterion: Criterion<M>) -> Criterion<M> {
    criterion
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
}

fn cpu_benches(c: &mut Criterion<ThreadCpu>) {
    let receiver = LocalReceiver::start();
    span_variants(c, &receiver);
    log_variants(c, &receiver);
}

fn export_benches(c: &mut Criterion<WallTime>) {
    let receiver = LocalReceiver::start();
    export(c, &receiver);
}

criterion_group! {
    name = cpu;
    config = quick(Criterion::default().with_measurement(ThreadCpu));
    targets = cpu_benches
}
criterion_group! {
    name = wall;
    config = quick(Criterion::default());
    targets = export_benches
}
criterion_main!(cpu, wall);
