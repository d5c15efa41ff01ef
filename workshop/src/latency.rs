//! The latency summary that `load` and `bench` both report: three quantiles and the
//! maximum, in milliseconds with two decimals.

use serde::Serialize;

#[derive(Serialize, Debug, Clone, Copy, PartialEq)]
pub struct Latency {
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
}

impl Latency {
    /// From a quantile function over latencies in microseconds, and the largest one.
    pub fn from_micros(quantile: impl Fn(f64) -> u64, max: u64) -> Self {
        Latency {
            p50: ms(quantile(0.50)),
            p90: ms(quantile(0.90)),
            p99: ms(quantile(0.99)),
            max: ms(max),
        }
    }
}

/// Microseconds as milliseconds with two decimals.
pub fn ms(micros: u64) -> f64 {
    (micros as f64 / 10.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn milliseconds_with_two_decimals() {
        assert_eq!(ms(12_345), 12.35);
        assert_eq!(ms(0), 0.0);
        let latency = Latency::from_micros(|q| (q * 1000.0) as u64, 2_000);
        assert_eq!(
            latency,
            Latency {
                p50: 0.5,
                p90: 0.9,
                p99: 0.99,
                max: 2.0
            }
        );
    }
}
