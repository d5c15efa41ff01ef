//! The receiver's integration tests.
//!
//! One test binary for the crate (as ripgrep's `tests/tests.rs`): each file below is a
//! module, so the dependencies are linked once, not once per file. `cargo nextest run -p
//! otlp-receiver MODULE::` runs one module's tests.

// Helpers shared by the modules.
mod common;

// OTLP/gRPC edge cases.
mod grpc_errors;
// OTLP/HTTP edge cases.
mod http_errors;
// Real OpenTelemetry SDK exporters send to the receiver over the network, and the store reports exactly what they sent.
mod sdk_export;
// Store behaviour without the network.
mod store;
// The tap.
mod tap;
