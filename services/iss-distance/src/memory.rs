//! What iss-distance remembers about the ISS API, so that it asks it less: its last position
//! (reused while it is fresh), and whether it is failing (then it is left alone for a pause,
//! see [`crate::backoff`]).
//!
//! This is the bookkeeping alone: every method is given the time, nothing here waits or
//! calls, so the tests can walk through hours in microseconds. [`crate::position`] does
//! the calling, and logs the [`Change`]s this reports.

use std::time::{Duration, Instant};

use service_kit::upstream::UpstreamError;

use crate::backoff::Backoff;
use crate::position::IssPosition;

/// How gently the ISS API is used: `ISS_API_MAX_AGE_MS`, `ISS_API_BACKOFF_MS` and
/// `ISS_API_BACKOFF_MAX_MS`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Courtesy {
    /// How long a position from the API serves every request; zero: every request asks
    /// the API itself (no reuse, no shared call).
    pub max_age: Duration,
    pub backoff: Backoff,
}

impl Courtesy {
    /// Every request asks the API, whatever it answered before: iss-distance as it was
    /// before it remembered anything. For tests that count one call per request.
    pub const OFF: Courtesy = Courtesy {
        max_age: Duration::ZERO,
        backoff: Backoff::OFF,
    };

    /// Whether requests that find no fresh position wait for one call in flight instead of
    /// making their own.
    pub fn shares_calls(&self) -> bool {
        !self.max_age.is_zero()
    }
}

impl Default for Courtesy {
    /// open-notify's position changes once a second: asking more often only adds load.
    fn default() -> Self {
        Courtesy {
            max_age: Duration::from_secs(1),
            backoff: Backoff::default(),
        }
    }
}

/// Where the time comes from: the system's monotonic clock, or in tests one they move.
#[derive(Clone)]
pub struct Clock(std::sync::Arc<dyn Fn() -> Instant + Send + Sync>);

impl Clock {
    pub fn system() -> Self {
        Clock(std::sync::Arc::new(Instant::now))
    }

    pub fn with(now: impl Fn() -> Instant + Send + Sync + 'static) -> Self {
        Clock(std::sync::Arc::new(now))
    }

    pub fn now(&self) -> Instant {
        (self.0)()
    }
}

/// The API has been failing: since when, how many calls in a row, the last reason, and
/// when to ask it again.
#[derive(Debug, Clone, PartialEq)]
pub struct Trouble {
    pub since: Instant,
    pub failures: u32,
    pub reason: String,
    pub next_try: Instant,
}

/// What a request should do, by what is remembered.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Use this position: it was asked for less than `max_age` ago.
    Fresh(IssPosition),
    /// Leave the API alone: it failed (`reason`), and its pause ends in `remaining`.
    Pause { reason: String, remaining: Duration },
    /// Ask the API.
    Ask,
}

/// A change worth a log line, reported by [`Memory::remember`].
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// The API failed after it had answered (or on the first call): from now on, it is
    /// left alone for `pause`.
    Failing { reason: String, pause: Duration },
    /// It failed again, when asked after a pause: the next pause is `pause`.
    StillFailing {
        failures: u32,
        reason: String,
        pause: Duration,
    },
    /// It answered again, after `failures` failed calls over `after`.
    Answering { failures: u32, after: Duration },
}

/// The memory itself; see the module's documentation.
#[derive(Debug)]
pub struct Memory {
    courtesy: Courtesy,
    /// The last position the API gave, and when it was asked for.
    last: Option<(IssPosition, Instant)>,
    /// Set from a failed call until the next successful one.
    trouble: Option<Trouble>,
    /// How many answers (or failures) have been taken in: tells a request that waited for
    /// a call whether that call has ended.
    answers: u64,
}

impl Memory {
    pub fn new(courtesy: Courtesy) -> Self {
        Memory {
            courtesy,
            last: None,
            trouble: None,
            answers: 0,
        }
    }

    pub fn courtesy(&self) -> Courtesy {
        self.courtesy
    }

    /// What a request at `now` should do.
    pub fn decide(&self, now: Instant) -> Decision {
        if let Some((position, asked)) = &self.last
            && now.saturating_duration_since(*asked) < self.courtesy.max_age
        {
            return Decision::Fresh(position.clone());
        }
        match &self.trouble {
            Some(trouble) if now < trouble.next_try => Decision::Pause {
                reason: trouble.reason.clone(),
                remaining: trouble.next_try - now,
            },
            _ => Decision::Ask,
        }
    }

    /// The API's trouble, if it is failing (its pause may be over).
    pub fn trouble(&self) -> Option<&Trouble> {
        self.trouble.as_ref()
    }

    /// A count that changes with every call that ends, for [`Memory::failed_since`].
    pub fn answers(&self) -> u64 {
        self.answers
    }

    /// Why the API failed, if a call has ended since [`Memory::answers`] said `seen` and
    /// the last one failed.
    pub fn failed_since(&self, seen: u64) -> Option<&str> {
        let trouble = self.trouble.as_ref().filter(|_| self.answers != seen)?;
        Some(&trouble.reason)
    }

    /// Takes in the answer of a call made at `asked`, which ended at `now`; says what
    /// changed, if anything worth a log line did.
    pub fn remember(
        &mut self,
        asked: Instant,
        now: Instant,
        answer: Result<&IssPosition, &UpstreamError>,
    ) -> Option<Change> {
        self.answers += 1;
        match answer {
            Ok(position) => {
                // Its age counts from before the call: the API answered after that.
                self.last = Some((position.clone(), asked));
                let trouble = self.trouble.take()?;
                Some(Change::Answering {
                    failures: trouble.failures,
                    after: now.saturating_duration_since(trouble.since),
                })
            }
            Err(error) => {
                let reason = error.to_string();
                let previous = self.trouble.take();
                let failures = previous
                    .as_ref()
                    .map_or(0, |t| t.failures)
                    .saturating_add(1);
                let pause = self.courtesy.backoff.pause(failures, error.retry_after());
                self.trouble = Some(Trouble {
                    since: previous.as_ref().map_or(asked, |t| t.since),
                    failures,
                    reason: reason.clone(),
                    next_try: now + pause,
                });
                Some(match previous {
                    None => Change::Failing { reason, pause },
                    Some(_) => Change::StillFailing {
                        failures,
                        reason,
                        pause,
                    },
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use axum::http::StatusCode;

    fn ms(ms: u64) -> Duration {
        Duration::from_millis(ms)
    }

    fn position(latitude: f64) -> IssPosition {
        IssPosition {
            latitude,
            longitude: 0.0,
            source: "open-notify".into(),
            timestamp: 1,
        }
    }

    fn failed(retry_after: Option<Duration>) -> UpstreamError {
        UpstreamError::Failed {
            upstream: "open-notify",
            status: StatusCode::SERVICE_UNAVAILABLE,
            message: "busy".into(),
            retry_after,
        }
    }

    fn timeout() -> UpstreamError {
        UpstreamError::Timeout {
            upstream: "open-notify",
            timeout: ms(1500),
        }
    }

    fn memory() -> Memory {
        Memory::new(Courtesy::default())
    }

    #[test]
    fn a_position_serves_until_it_is_max_age_old_counted_from_the_call() {
        let t0 = Instant::now();
        let mut memory = memory();
        assert_eq!(memory.decide(t0), Decision::Ask, "nothing known yet");
        assert_eq!(memory.remember(t0, t0 + ms(300), Ok(&position(1.0))), None);
        assert_eq!(memory.decide(t0 + ms(999)), Decision::Fresh(position(1.0)));
        assert_eq!(memory.decide(t0 + ms(1000)), Decision::Ask);
    }

    #[test]
    fn max_age_zero_remembers_nothing_worth_using() {
        let t0 = Instant::now();
        let mut memory = Memory::new(Courtesy {
            max_age: Duration::ZERO,
            ..Courtesy::default()
        });
        memory.remember(t0, t0, Ok(&position(1.0)));
        assert_eq!(memory.decide(t0), Decision::Ask);
        assert!(!memory.courtesy().shares_calls());
        assert!(Courtesy::default().shares_calls());
    }

    #[test]
    fn a_failure_pauses_the_api_and_the_pause_grows() {
        let t0 = Instant::now();
        let mut memory = memory();
        let failing = memory.remember(t0, t0 + ms(1500), Err(&timeout()));
        assert_eq!(
            failing,
            Some(Change::Failing {
                reason: "open-notify did not answer within 1500 ms".into(),
                pause: ms(1000),
            })
        );
        // The pause counts from the end of the failed call.
        assert_eq!(
            memory.decide(t0 + ms(1600)),
            Decision::Pause {
                reason: "open-notify did not answer within 1500 ms".into(),
                remaining: ms(900),
            }
        );
        assert_eq!(memory.decide(t0 + ms(2500)), Decision::Ask, "pause over");
        let again = memory.remember(t0 + ms(2500), t0 + ms(4000), Err(&timeout()));
        assert!(
            matches!(again, Some(Change::StillFailing { failures: 2, pause, .. }) if pause == ms(2000)),
            "{again:?}"
        );
        assert!(matches!(
            memory.decide(t0 + ms(5999)),
            Decision::Pause { .. }
        ));
        assert_eq!(memory.decide(t0 + ms(6000)), Decision::Ask);
    }

    #[test]
    fn an_answer_ends_the_trouble_and_says_how_long_it_lasted() {
        let t0 = Instant::now();
        let mut memory = memory();
        memory.remember(t0, t0 + ms(1500), Err(&timeout()));
        memory.remember(t0 + ms(2500), t0 + ms(4000), Err(&timeout()));
        let back = memory.remember(t0 + ms(6000), t0 + ms(6010), Ok(&position(2.0)));
        assert_eq!(
            back,
            Some(Change::Answering {
                failures: 2,
                after: ms(6010),
            })
        );
        assert!(memory.trouble().is_none());
        assert_eq!(memory.decide(t0 + ms(6500)), Decision::Fresh(position(2.0)));
        // And the next failure starts from the first pause again.
        let failing = memory.remember(t0 + ms(7000), t0 + ms(7001), Err(&timeout()));
        assert!(
            matches!(failing, Some(Change::Failing { pause, .. }) if pause == ms(1000)),
            "{failing:?}"
        );
    }

    #[test]
    fn a_stale_position_is_not_used_during_a_pause() {
        let t0 = Instant::now();
        let mut memory = memory();
        memory.remember(t0, t0, Ok(&position(1.0)));
        memory.remember(t0 + ms(1000), t0 + ms(1100), Err(&timeout()));
        assert!(matches!(
            memory.decide(t0 + ms(1200)),
            Decision::Pause { .. }
        ));
    }

    #[test]
    fn retry_after_sets_the_pause() {
        let t0 = Instant::now();
        let mut memory = memory();
        let change = memory.remember(t0, t0, Err(&failed(Some(Duration::from_secs(120)))));
        assert!(
            matches!(change, Some(Change::Failing { pause, .. }) if pause == Duration::from_secs(120)),
            "{change:?}"
        );
        assert!(matches!(
            memory.decide(t0 + Duration::from_secs(119)),
            Decision::Pause { .. }
        ));
        assert_eq!(memory.decide(t0 + Duration::from_secs(120)), Decision::Ask);
    }

    #[test]
    fn a_request_that_waited_learns_whether_the_call_it_waited_for_failed() {
        let t0 = Instant::now();
        let mut memory = Memory::new(Courtesy::OFF);
        let seen = memory.answers();
        assert_eq!(memory.failed_since(seen), None, "no call ended");
        memory.remember(t0, t0, Err(&timeout()));
        assert_eq!(
            memory.failed_since(seen),
            Some("open-notify did not answer within 1500 ms")
        );
        let seen = memory.answers();
        assert_eq!(memory.failed_since(seen), None, "a failure from before");
        memory.remember(t0, t0, Ok(&position(1.0)));
        assert_eq!(memory.failed_since(seen), None, "the call answered");
    }

    #[test]
    fn with_back_off_off_every_request_asks_but_changes_are_still_reported() {
        let t0 = Instant::now();
        let mut memory = Memory::new(Courtesy::OFF);
        let change = memory.remember(t0, t0, Err(&failed(Some(Duration::from_secs(60)))));
        assert!(matches!(change, Some(Change::Failing { .. })), "{change:?}");
        assert_eq!(memory.decide(t0), Decision::Ask);
        let change = memory.remember(t0, t0, Ok(&position(1.0)));
        assert!(matches!(
            change,
            Some(Change::Answering { failures: 1, .. })
        ));
    }
}
