//! What the published instrumentation libraries do next to OpenTelemetry 0.33, each claim of chapter 8 tested.
//!
//! One test binary for the crate (as ripgrep's `tests/tests.rs`): each file below is a
//! module, so the dependencies are linked once, not once per file. `cargo nextest run -p
//! library-evaluation MODULE::` runs one module's tests.

// `axum-tracing-opentelemetry` 0.42.1 (with `tracing-opentelemetry-instrumentation-sdk` 0.42.1).
mod axum_tracing_layer;
// `opentelemetry-instrumentation-tower` 0.19.0, from opentelemetry-rust-contrib.
mod contrib_tower_layer;
// `reqwest-middleware` 0.5.2 + `reqwest-tracing` 0.7.1.
mod reqwest_middleware_tracing;
// `tower-http`'s `TraceLayer` (0.6).
mod tower_http_trace_layer;
// `tower-otel-http-metrics` 0.16.0 (the contrib crate's predecessor) depends on opentelemetry 0.30.
mod tower_otel_metrics;
