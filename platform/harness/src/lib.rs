//! The live platform tests' harness, on top of `platform-live`: Prometheus and Jaeger run
//! on the repository's own config files, the collector judged (its configs validated, its
//! components compared with the manifest), and the queries of the dashboards and chapters
//! extracted and judged on what arrives. Only the tests and `bench-span-metrics` build it:
//! `cargo build` (the workspace's default members) leaves it out.
//!
//! - [`collector`]: `otelcol validate` and `components`, and what its log says;
//! - [`prometheus`], [`jaeger`]: run them, and talk to their APIs;
//! - [`sections`]: the collector's config as the workshop's sections leave it;
//! - [`queries`], [`logql`], [`traceql`]: the queries of the dashboards and chapters, and
//!   the judgement of what they find (pure functions, tested with fixtures).

pub mod collector;
pub mod jaeger;
pub mod logql;
pub mod prometheus;
pub mod queries;
pub mod sections;
pub mod traceql;
