//! Telemetry setup shared by all four services.
//!
//! Every service calls [`init`] first thing in `main` and [`Telemetry::shutdown`] last, after
//! its server has stopped. Keeping the setup here, in one crate, means that when the workshop
//! adds a signal (metrics, logs, traces) all four services gain it at once, while the
//! telemetry that is specific to one service (its counters, spans and log lines) is written
//! where it belongs, in that service.
//!
//! For now the setup is console logging only: `tracing` events printed to stderr, filtered
//! by `RUST_LOG` (default `info`).

use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// Handle to the telemetry of one service; shut it down when the service stops.
#[must_use = "call shutdown() when the service stops"]
pub struct Telemetry {}

/// Sets up telemetry for the service called `service_name`, at version `version`.
pub fn init(service_name: &'static str, version: &'static str) -> Telemetry {
    tracing_subscriber::registry()
        .with(console_filter())
        .with(tracing_subscriber::fmt::layer().with_writer(std::io::stderr))
        .init();
    tracing::info!("{service_name} {version} starting");
    Telemetry {}
}

/// `RUST_LOG`, or `info` when it is unset or invalid.
fn console_filter() -> EnvFilter {
    EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"))
}

impl Telemetry {
    /// Flushes whatever telemetry is still buffered: call it after the server has stopped.
    /// It is `async` because flushing means network I/O, which must not block the runtime.
    /// Nothing is buffered yet.
    pub async fn shutdown(self) {}
}
