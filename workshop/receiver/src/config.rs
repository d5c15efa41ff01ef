//! Where the receiver listens and how much it keeps.

use std::net::{Ipv4Addr, SocketAddr};

/// Addresses to bind and limits to enforce. Port 0 picks a free port (tests do this).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceiverConfig {
    /// OTLP/gRPC listener; the OTLP default is 4317.
    pub grpc: SocketAddr,
    /// OTLP/HTTP listener; the OTLP default is 4318.
    pub http: SocketAddr,
    /// A path before OTLP/HTTP's `/v1/traces` etc., as some backends have one: Loki
    /// takes OTLP at `/otlp/v1/logs`. Empty (the OTLP default) or starting with `/`.
    pub http_path_prefix: String,
    pub limits: Limits,
}

impl Default for ReceiverConfig {
    /// The standard OTLP ports on loopback only: SDKs on this machine and browser pages
    /// served from it can reach the receiver, nothing on the network can. Containers that
    /// export to it need `0.0.0.0` instead.
    fn default() -> Self {
        ReceiverConfig {
            grpc: SocketAddr::from((Ipv4Addr::LOCALHOST, 4317)),
            http: SocketAddr::from((Ipv4Addr::LOCALHOST, 4318)),
            http_path_prefix: String::new(),
            limits: Limits::default(),
        }
    }
}

impl ReceiverConfig {
    /// Free loopback ports for both protocols, so parallel tests never collide.
    pub fn ephemeral() -> Self {
        ReceiverConfig {
            grpc: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            http: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            http_path_prefix: String::new(),
            limits: Limits::default(),
        }
    }

    /// Serves OTLP/HTTP under `prefix` (`/otlp` gives `/otlp/v1/logs`), to stand in for a
    /// backend whose OTLP endpoint has a path.
    pub fn with_http_path_prefix(mut self, prefix: &str) -> Self {
        self.http_path_prefix = prefix.trim_end_matches('/').to_owned();
        self
    }

    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }
}

/// Caps that keep a long-running receiver's memory bounded.
///
/// When a signal is over its cap the oldest items are evicted and counted as dropped in
/// [`Stats`](crate::Stats); a request is never refused because the store is full.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    pub max_spans: usize,
    pub max_logs: usize,
    /// Metrics are counted by data point: one histogram with 20 attribute sets is 20.
    pub max_metric_points: usize,
    /// Largest accepted request, after gzip decompression (so a small gzip bomb cannot
    /// expand past it). Larger HTTP bodies get 413; larger gRPC messages get OUT_OF_RANGE
    /// from tonic.
    pub max_request_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_spans: 10_000,
            max_logs: 10_000,
            max_metric_points: 10_000,
            max_request_bytes: 8 * 1024 * 1024,
        }
    }
}
