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
pub struct Telemetry {
    service_name: &'static str,
}

/// Sets up telemetry for the service called `service_name`.
pub fn init(service_name: &'static str) -> Telemetry {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::registry()
        .with(filter)
        .with(tracing_subscriber::fmt::layer().with_writer(std::io::stderr))
        .init();
    Telemetry { service_name }
}

impl Telemetry {
    pub fn service_name(&self) -> &'static str {
        self.service_name
    }

    /// Flushes whatever telemetry is still buffered. Nothing is buffered yet.
    pub fn shutdown(self) {}
}
