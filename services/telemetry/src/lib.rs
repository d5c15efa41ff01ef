//! Telemetry setup shared by all four services.
//!
//! Every service calls [`init`] first thing in `main` and [`Telemetry::shutdown`] last, after
//! its server has stopped. Keeping the setup here, in one crate, means that when the workshop
//! adds a signal (metrics, logs, traces) all four services gain it at once, while the
//! telemetry that is specific to one service (its counters, spans and log lines) is written
//! where it belongs, in that service.
//!
//! One module per part of OpenTelemetry, each filled in by one section of the workshop:
//! [`resource`] (section 0: who is sending), `metrics` (section 1), `logs` (section 2),
//! `traces` (section 3) and [`propagation`] (section 4). What is not OpenTelemetry is here
//! already: console logging ([`filter`]), the off switch, and flushing on shutdown.
//!
//! Where the telemetry goes is configured by the standard environment variables, read by
//! the OpenTelemetry SDK itself: `OTEL_EXPORTER_OTLP_ENDPOINT` (default
//! `http://localhost:4318`), `OTEL_EXPORTER_OTLP_PROTOCOL` (`http/protobuf` by default, or
//! `grpc`), `OTEL_EXPORTER_OTLP_HEADERS`, and their per-signal variants. `OTEL_SDK_DISABLED=true`
//! turns everything but the console off.

pub mod filter;
mod logs;
mod metrics;
pub mod propagation;
pub mod resource;
mod traces;

// Re-exported so that the services use the same versions as the setup.
pub use opentelemetry;
pub use opentelemetry_semantic_conventions as semconv;
pub use tracing_opentelemetry::OpenTelemetrySpanExt;

use opentelemetry_otlp::ExporterBuildError;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::logs::SdkLoggerProvider;
use opentelemetry_sdk::metrics::SdkMeterProvider;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tokio::task::JoinHandle;
use tracing_subscriber::Layer;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// Handle to the telemetry of one service; shut it down when the service stops.
#[must_use = "call shutdown() when the service stops"]
#[derive(Default)]
pub struct Telemetry {
    meter_provider: Option<SdkMeterProvider>,
    logger_provider: Option<SdkLoggerProvider>,
    tracer_provider: Option<SdkTracerProvider>,
}

/// Sets up telemetry for the service called `service_name`, at version `version`.
pub fn init(service_name: &'static str, version: &'static str) -> Telemetry {
    let resource = resource::build(service_name, version);
    propagation::install();
    // The providers come first, so that the very first log line is exported too.
    let telemetry = if sdk_disabled() {
        Telemetry::default()
    } else {
        Telemetry::exporting(&resource)
    };
    let console = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_filter(filter::console());
    // TODO(section 2): a layer that turns `tracing` events into log records.
    // TODO(section 3): a layer that turns `tracing` spans into OpenTelemetry spans.
    tracing_subscriber::registry()
        .with(console)
        // TODO(section 2 and 3): add the layers here.
        .init();
    tracing::info!("{service_name} {version} starting");
    tracing::info!("OpenTelemetry resource: {}", resource::to_json(&resource));
    telemetry
}

impl Telemetry {
    /// A provider for every signal that the service exports.
    fn exporting(resource: &Resource) -> Self {
        Self {
            meter_provider: enabled("metrics", metrics::provider(resource)),
            logger_provider: enabled("logs", logs::provider(resource)),
            tracer_provider: enabled("traces", traces::provider(resource)),
        }
    }

    /// Flushes whatever telemetry is still buffered: call it after the server has stopped.
    /// It is `async` because flushing means network I/O, which must not block the runtime.
    pub async fn shutdown(self) {
        let mut flushes = Vec::new();
        if let Some(provider) = self.tracer_provider {
            flushes.push(flush("traces", move || provider.shutdown()));
        }
        if let Some(provider) = self.logger_provider {
            flushes.push(flush("logs", move || provider.shutdown()));
        }
        if let Some(provider) = self.meter_provider {
            flushes.push(flush("metrics", move || provider.shutdown()));
        }
        for flush in flushes {
            let _ = flush.await;
        }
    }
}

/// A signal's provider, or `None` when the service does not export that signal (yet). A
/// provider that cannot be built (a malformed endpoint, say) is reported and left out:
/// telemetry must never take a service down. (On stderr: the subscriber is not installed
/// yet.)
fn enabled<P>(signal: &str, provider: Result<Option<P>, ExporterBuildError>) -> Option<P> {
    provider.unwrap_or_else(|error| {
        eprintln!("{signal} are not exported: {error}");
        None
    })
}

/// Shuts a provider down on a thread meant for blocking: the SDK's shutdown blocks until the
/// last export is done (or times out), and the runtime must keep driving the exporters' I/O
/// meanwhile. Each provider gets a thread of its own, so that with a collector that hangs
/// they time out together, not one after another (past a container's stop timeout).
fn flush(
    signal: &'static str,
    shutdown: impl FnOnce() -> OTelSdkResult + Send + 'static,
) -> JoinHandle<()> {
    tokio::task::spawn_blocking(move || {
        if let Err(error) = shutdown() {
            eprintln!("{signal} not flushed: {error}");
        }
    })
}

/// The specification's off switch; the Rust SDK does not read it itself.
fn sdk_disabled() -> bool {
    std::env::var("OTEL_SDK_DISABLED").is_ok_and(|v| v.trim().eq_ignore_ascii_case("true"))
}
