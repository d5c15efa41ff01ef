//! How long to leave the ISS API alone after it failed: the arithmetic alone, with no
//! clock, so that it can be tested with plain numbers.
//!
//! The pause starts at `first` and doubles with every further failure in a row, up to
//! `max`: a brief hiccup costs a second, a dead API is asked about once every `max`. When
//! the API itself says how long to wait (`Retry-After`, with a 429 or a 503), the pause is at
//! least that long.
//!
//! There is no random jitter: it spreads the retries of many clients of one service, and
//! here each iss-distance is the API's only client on its machine and starts at its own
//! moment.

use std::time::Duration;

/// The longest `Retry-After` honoured. A server may ask for days; after an hour we ask
/// again anyway, rather than stay on the model until someone restarts the service.
pub const RETRY_AFTER_LIMIT: Duration = Duration::from_secs(3600);

/// The back-off policy: `ISS_API_BACKOFF_MS` and `ISS_API_BACKOFF_MAX_MS`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The pause after the first failure; zero turns back-off off (and with it
    /// `Retry-After`): every request asks the API.
    pub first: Duration,
    /// The longest pause the doubling reaches; at least `first`.
    pub max: Duration,
}

impl Backoff {
    /// No back-off: every request asks the API, whatever it answered before.
    pub const OFF: Backoff = Backoff {
        first: Duration::ZERO,
        max: Duration::ZERO,
    };

    pub fn is_off(&self) -> bool {
        self.first.is_zero()
    }

    /// The pause after the `failures`-th failure in a row (1 for the first), when the last
    /// answer asked for `retry_after`.
    pub fn pause(&self, failures: u32, retry_after: Option<Duration>) -> Duration {
        if self.is_off() {
            return Duration::ZERO;
        }
        let doublings = failures.saturating_sub(1);
        // 2^doublings, saturating: after 31 failures the pause is long past `max` anyway.
        let factor = 1u32.checked_shl(doublings).unwrap_or(u32::MAX);
        let pause = self.first.saturating_mul(factor).min(self.max);
        match retry_after {
            Some(asked) => pause.max(asked.min(RETRY_AFTER_LIMIT)),
            None => pause,
        }
    }
}

impl Default for Backoff {
    /// 1 s, then 2, 4, 8, 16, and 30 s from the sixth failure on.
    fn default() -> Self {
        Backoff {
            first: Duration::from_secs(1),
            max: Duration::from_secs(30),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn doubles_from_first_up_to_max() {
        let backoff = Backoff::default();
        let pauses: Vec<u64> = (1..=8).map(|n| backoff.pause(n, None).as_secs()).collect();
        assert_eq!(pauses, [1, 2, 4, 8, 16, 30, 30, 30]);
    }

    #[test]
    fn stays_at_max_however_many_failures() {
        let backoff = Backoff {
            first: Duration::from_millis(250),
            max: secs(10),
        };
        assert_eq!(backoff.pause(31, None), secs(10));
        assert_eq!(backoff.pause(32, None), secs(10));
        assert_eq!(backoff.pause(u32::MAX, None), secs(10));
    }

    #[test]
    fn zero_failures_counts_as_the_first() {
        assert_eq!(Backoff::default().pause(0, None), secs(1));
    }

    #[test]
    fn retry_after_lengthens_the_pause_but_never_shortens_it() {
        let backoff = Backoff::default();
        assert_eq!(
            backoff.pause(1, Some(secs(120))),
            secs(120),
            "beyond max too"
        );
        assert_eq!(backoff.pause(3, Some(secs(1))), secs(4));
        assert_eq!(backoff.pause(1, Some(Duration::ZERO)), secs(1));
    }

    #[test]
    fn retry_after_is_honoured_up_to_an_hour() {
        let asked = Some(secs(7 * 24 * 3600));
        assert_eq!(Backoff::default().pause(1, asked), RETRY_AFTER_LIMIT);
    }

    #[test]
    fn off_means_no_pause_at_all() {
        assert!(Backoff::OFF.is_off());
        assert_eq!(Backoff::OFF.pause(1, None), Duration::ZERO);
        assert_eq!(Backoff::OFF.pause(9, Some(secs(60))), Duration::ZERO);
    }
}
