//! Counters that tell whether telemetry arrived, how, and whether any was lost.

use crate::origin::Protocol;

/// A snapshot of the store's counters, from [`Store::stats`](crate::Store::stats).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub spans: SignalStats,
    pub logs: SignalStats,
    /// Counted by data point, like [`Limits::max_metric_points`](crate::Limits).
    pub metric_points: SignalStats,
    /// Export requests decoded successfully, whatever they contained.
    pub requests: ByProtocol,
    /// HTTP requests answered with an error (bad body, content type or size). gRPC
    /// decode errors are answered inside tonic before they reach the receiver and are
    /// not counted here.
    pub http_rejected: u64,
}

/// Counters for one signal.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SignalStats {
    /// Everything ever received, including what was evicted since.
    pub received: ByProtocol,
    /// Evicted (oldest first) to stay within the limit. `clear` does not count.
    pub dropped: u64,
    /// Currently held, i.e. what `spans()`/`logs()`/`metrics()` returns.
    pub stored: u64,
}

/// A count split by transport.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ByProtocol {
    pub grpc: u64,
    pub http: u64,
}

impl ByProtocol {
    pub fn total(&self) -> u64 {
        self.grpc + self.http
    }

    pub fn get(&self, protocol: Protocol) -> u64 {
        match protocol {
            Protocol::Grpc => self.grpc,
            Protocol::Http => self.http,
        }
    }

    pub(crate) fn add(&mut self, protocol: Protocol, n: u64) {
        match protocol {
            Protocol::Grpc => self.grpc += n,
            Protocol::Http => self.http += n,
        }
    }
}
