//! An in-process OTLP receiver: the smallest "collector" that lets a program check what
//! an OpenTelemetry SDK actually sent.
//!
//! It serves OTLP/gRPC (default port 4317) and OTLP/HTTP (default port 4318, protobuf or
//! JSON, gzip, open CORS) and keeps what arrives in a bounded [`Store`] that tests, the
//! `workshop check` command and the `workshop inspect` viewer read.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use std::time::Duration;
//! use otlp_receiver::{Receiver, ReceiverConfig};
//!
//! let receiver = Receiver::start(ReceiverConfig::ephemeral()).await?;
//! // ... point an exporter at receiver.grpc_endpoint(), send, flush ...
//! let store = receiver.store();
//! let arrived = store
//!     .wait_until(Duration::from_secs(5), |s| s.find_span("GET /orbit").is_some())
//!     .await;
//! assert!(arrived, "no span named GET /orbit: {:?}", store.stats());
//! receiver.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! Every received item keeps the proto message it came in (`span`, `record`, `metric`)
//! next to an [`Origin`] (resource attributes, scope, protocol), and offers helpers such
//! as `service_name()`, hex ids, `attribute(key)` and readable enums so that callers do
//! not have to match on proto oneofs.

mod buffer;
mod config;
mod grpc;
mod http;
mod ingest;
mod log;
mod metric;
mod origin;
mod receiver;
mod repack;
mod span;
mod stats;
mod store;
pub mod tap;
mod time;
mod value;

pub use config::{Limits, ReceiverConfig};
pub use log::{Level, ReceivedLog};
pub use metric::{DataPoint, MetricKind, PointValue, ReceivedMetric, Temporality};
pub use origin::{Origin, Protocol, Scope};
pub use receiver::Receiver;
pub use span::{ReceivedSpan, SpanKind, SpanStatus, StatusCode};
pub use stats::{ByProtocol, SignalStats, Stats};
pub use store::{Arrival, Batch, Follow, Store};
pub use value::{AttrValue, Attributes, hex};

/// The generated OTLP types, for callers that need the raw protos.
pub use opentelemetry_proto::tonic as proto;
