//! The real platform programs as the workshop runs them: the OpenTelemetry Collector (built
//! with the Collector Builder from `platform/otel-collector/builder.yaml`), Prometheus and
//! Jaeger, each at the release the compose files pin. What `workshop up --collector` and
//! `workshop check 6` need at run time, and the build that chapter 08 asks for; the live
//! tests' own parts (Prometheus and Jaeger runners, the queries and their judgement) are
//! in `platform-harness`, which the workshop's day never builds.
//!
//! - [`programs`]: which releases, and where their builds are cached;
//! - [`builder`]: builds them (`cargo run -p platform-live --bin build-platform`);
//! - [`collector`]: runs the collector on the repository's own config files, wired to
//!   whatever stands behind it, and reads its own metrics;
//! - [`prometheus`]: runs Prometheus with the flags compose gives it (`workshop room serve`,
//!   the live tests);
//! - [`process`]: the one runner of child processes (the services, the collector, the
//!   tests' Prometheus and Jaeger, the doctor's probes), and free ports for the programs;
//! - [`usage`]: what a process used, CPU time and peak memory, from `/proc`.

pub mod builder;
pub mod collector;
mod exposition;
pub mod http;
pub mod process;
pub mod programs;
pub mod prometheus;
pub mod usage;
