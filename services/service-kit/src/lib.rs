//! What the four services share, so that each service's own code is only about its job.
//!
//! - [`config`]: reading ports, URLs and timeouts from environment variables, failing early
//!   with one clear line.
//! - [`error`]: the JSON error every service answers with (`{"error": "..."}`).
//! - [`params`]: validation of the query parameters the services accept.
//! - [`upstream`]: calling another service (or the ISS API) with timeouts, and turning
//!   every way that can fail into a clear error.
//! - [`retry_after`]: reading how long an upstream asks us to wait.
//! - [`listener`]: the socket a service listens on, bound here or handed over by whoever
//!   started it.
//! - [`boundary`]: which trace context crosses to and from the outside.
//! - [`server`]: serving a router with `/healthz`, a JSON 404 and graceful shutdown.
//! - [`spans`]: a SERVER span for every request, a CLIENT span for every call, by the
//!   semantic conventions.
//! - [`http_metrics`]: how long every request and every call took, by the semantic
//!   conventions.
//! - [`healthcheck`]: `<service> healthcheck`, the probe Docker runs inside the container.
//! - [`faults`]: the faults of the workshop's troubleshooting chapter, off unless switched
//!   on.

pub mod boundary;
pub mod config;
pub mod error;
pub mod faults;
pub mod healthcheck;
pub mod http_metrics;
pub mod listener;
pub mod params;
pub mod retry_after;
pub mod server;
pub mod spans;
pub mod upstream;

pub use error::ApiError;
pub use params::Query;
pub use server::{serve, serve_public};

use std::fmt::Display;
use std::process::ExitCode;

/// Reports a configuration error as one line on stderr and returns exit code 2 (the
/// convention for "used wrongly"), before anything else starts.
pub fn exit_with_error(service: &str, error: impl Display) -> ExitCode {
    eprintln!("{service}: {error}");
    ExitCode::from(2)
}

/// The exit code for how the service ended.
pub fn exit<E: Display>(service: &str, result: Result<(), E>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => exit_with_error(service, error),
    }
}
