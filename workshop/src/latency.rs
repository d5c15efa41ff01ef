//! The latency summary that `load` and `bench` both report: three quantiles and the
//! maximum, in milliseconds with two decimals, from an HDR histogram.

use hdrhistogram::Histogram;
use serde::Serialize;

/// Latencies in microseconds, from 1 µs to an hour, to three significant digits: the same
/// fixed size for a run of days as for a run of seconds. Longer values count as an hour.
pub fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("1 µs to 1 h is a valid range")
}

#[derive(Serialize, Debug, Clone, Copy, PartialEq)]
pub struct Latency {
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
}

impl Latency {
    /// By nearest rank, within the histogram's precision (0.1 %); all 0 when empty.
    pub fn of(micros: &Histogram<u64>) -> Self {
        let at = |q| ms(micros.value_at_quantile(q));
        Latency {
            p50: at(0.50),
            p90: at(0.90),
            p99: at(0.99),
            max: ms(micros.max()),
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
    fn quantiles_by_nearest_rank_to_three_digits() {
        assert_eq!(ms(12_345), 12.35);
        let mut micros = histogram();
        assert_eq!(Latency::of(&micros).max, 0.0, "nothing recorded");
        for value in 1..=10_000u64 {
            micros.record(value * 100).unwrap();
        }
        let latency = Latency::of(&micros);
        for (got, exact) in [
            (latency.p50, 500.0),
            (latency.p90, 900.0),
            (latency.p99, 990.0),
            (latency.max, 1000.0),
        ] {
            assert!((got - exact).abs() <= exact / 1000.0, "{got} vs {exact}");
        }
        micros.saturating_record(u64::MAX);
        let hour = 3_600_000.0;
        assert!(
            (Latency::of(&micros).max - hour).abs() <= hour / 1000.0,
            "an hour at most"
        );
    }
}
