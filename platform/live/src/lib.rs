//! The real platform programs, for the live tests: the OpenTelemetry Collector (built with
//! the Collector Builder from `platform/otel-collector/builder.yaml`), Prometheus and
//! Jaeger, each at the release the compose files pin.
//!
//! - [`programs`]: which releases, and where their builds are cached;
//! - [`builder`]: builds them (`cargo run -p platform-live --bin build-platform`).

pub mod builder;
pub mod programs;
