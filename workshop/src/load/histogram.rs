//! Latencies in a fixed few kilobytes, however long `load` runs.

/// Latencies in microseconds, in buckets 1/64 of a power of two wide (at most 1.6% off), so
/// that a run of days takes the same few kilobytes as a run of seconds.
#[derive(Clone)]
pub struct Histogram {
    counts: Vec<u64>,
    total: u64,
    pub max: u64,
}

const SUB_BUCKETS: u64 = 64;

impl Histogram {
    pub fn new() -> Self {
        Self {
            counts: vec![0; 64 * SUB_BUCKETS as usize],
            total: 0,
            max: 0,
        }
    }

    fn index(value: u64) -> usize {
        if value < SUB_BUCKETS {
            return value as usize;
        }
        let exponent = 63 - u64::from(value.leading_zeros()); // 6 or more
        let sub = (value >> (exponent - 6)) - SUB_BUCKETS;
        ((exponent - 5) * SUB_BUCKETS + sub) as usize
    }

    /// The middle of bucket `index`.
    fn value(index: usize) -> u64 {
        let index = index as u64;
        if index < SUB_BUCKETS {
            return index;
        }
        let exponent = index / SUB_BUCKETS + 5;
        let width = 1u64 << (exponent - 6);
        (SUB_BUCKETS + index % SUB_BUCKETS) * width + width / 2
    }

    pub fn record(&mut self, micros: u64) {
        let index = Self::index(micros).min(self.counts.len() - 1);
        self.counts[index] += 1;
        self.total += 1;
        self.max = self.max.max(micros);
    }

    /// The `q` quantile (0 to 1) by nearest rank, within the bucket's precision.
    pub fn quantile(&self, q: f64) -> u64 {
        if self.total == 0 {
            return 0;
        }
        let rank = ((q * self.total as f64).ceil() as u64).clamp(1, self.total);
        let mut seen = 0;
        for (index, count) in self.counts.iter().enumerate() {
            seen += count;
            if seen >= rank {
                return Self::value(index).min(self.max);
            }
        }
        self.max
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_quantiles_are_within_two_percent() {
        let mut h = Histogram::new();
        for v in 1..=10_000u64 {
            h.record(v * 100);
        }
        for (q, exact) in [(0.5, 500_000.0), (0.9, 900_000.0), (0.99, 990_000.0)] {
            let got = h.quantile(q) as f64;
            assert!((got - exact).abs() / exact < 0.02, "q{q}: {got} vs {exact}");
        }
        assert_eq!(h.quantile(1.0), 1_000_000);
        assert_eq!(h.max, 1_000_000);
        for v in [0, 1, 63, 64, 65, 127, 128, 1000, 123_456_789] {
            let back = Histogram::value(Histogram::index(v)) as f64;
            assert!(
                (back - v as f64).abs() <= (v as f64 / 64.0).max(0.5),
                "{v} -> {back}"
            );
        }
        assert_eq!(Histogram::new().quantile(0.5), 0);
    }
}
