//! The real platform programs, for the live tests: the OpenTelemetry Collector (built with
//! the Collector Builder from `platform/otel-collector/builder.yaml`), Prometheus and
//! Jaeger, each at the release the compose files pin.
//!
//! - [`programs`]: which releases, and where their builds are cached;
//! - [`builder`]: builds them (`cargo run -p platform-live --bin build-platform`);
//! - [`collector`], [`prometheus`], [`jaeger`]: run them on the repository's own config
//!   files, and talk to their APIs;
//! - [`sections`]: the collector's config as the workshop's sections leave it;
//! - [`queries`], [`logql`], [`traceql`]: the queries of the dashboards and chapters, and
//!   the judgement of what they find (pure functions, tested with fixtures).

pub mod builder;
pub mod collector;
mod exposition;
mod http;
pub mod jaeger;
pub mod logql;
pub mod process;
pub mod programs;
pub mod prometheus;
pub mod queries;
pub mod sections;
pub mod traceql;
