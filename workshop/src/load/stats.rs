//! What came back: every request's outcome, counted by class and by kind of input, and its
//! latency.

use std::collections::BTreeMap;
use std::time::Duration;

use hdrhistogram::Histogram;

use super::inputs::expected;

/// How a request ended.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Outcome {
    Status(u16),
    Timeout,
    Connection,
    Other,
}

/// The classes outcomes are counted in (see [`Outcome::class`]).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Class {
    Success,
    ClientError,
    ServerError,
    OtherStatus,
    Timeout,
    ConnectionError,
    OtherError,
}

impl Class {
    /// Every class, in the order of [`Stats::classes`].
    pub const ALL: [Class; 7] = [
        Class::Success,
        Class::ClientError,
        Class::ServerError,
        Class::OtherStatus,
        Class::Timeout,
        Class::ConnectionError,
        Class::OtherError,
    ];

    /// Its name in the summary.
    pub fn name(self) -> &'static str {
        let names = [
            "2xx",
            "4xx",
            "5xx",
            "other_status",
            "timeout",
            "connection_error",
        ];
        names.get(self as usize).unwrap_or(&"other_error")
    }

    /// 5xx, other statuses, timeouts and failed connections: what no input asks for.
    pub fn is_error(self) -> bool {
        !matches!(self, Class::Success | Class::ClientError)
    }
}

impl Outcome {
    pub fn class(self) -> Class {
        match self {
            Outcome::Status(s) if (200..300).contains(&s) => Class::Success,
            Outcome::Status(s) if (400..500).contains(&s) => Class::ClientError,
            Outcome::Status(s) if (500..600).contains(&s) => Class::ServerError,
            Outcome::Status(_) => Class::OtherStatus,
            Outcome::Timeout => Class::Timeout,
            Outcome::Connection => Class::ConnectionError,
            Outcome::Other => Class::OtherError,
        }
    }

    /// The key under which `by_input` counts it: the status, or the kind of failure.
    fn key(self) -> String {
        match self {
            Outcome::Status(s) => s.to_string(),
            other => other.class().name().to_owned(),
        }
    }
}

/// The counts of a run so far; a copy is taken for each progress line and for the summary.
#[derive(Clone)]
pub struct Stats {
    pub sent: u64,
    pub dropped: u64,
    pub completed: u64,
    /// Outcomes by class, in the order of [`Class::ALL`].
    pub classes: [u64; 7],
    pub sent_by_kind: [u64; 3],
    pub answers_by_kind: [BTreeMap<String, u64>; 3],
    pub unexpected: u64,
    /// The latencies of the requests that got an answer, in microseconds.
    pub latency: Histogram<u64>,
    /// The first failure's message, to say why when nothing answers.
    pub first_failure: Option<String>,
}

impl Stats {
    pub fn new() -> Self {
        Self {
            sent: 0,
            dropped: 0,
            completed: 0,
            classes: [0; 7],
            sent_by_kind: [0; 3],
            answers_by_kind: Default::default(),
            unexpected: 0,
            latency: crate::latency::histogram(),
            first_failure: None,
        }
    }

    pub fn count(&self, class: Class) -> u64 {
        self.classes[class as usize]
    }

    /// 5xx, other statuses, timeouts and failed connections: what the input did not ask for.
    pub fn errors(&self) -> u64 {
        Class::ALL
            .iter()
            .filter(|c| c.is_error())
            .map(|c| self.count(*c))
            .sum()
    }

    /// A request of `kind` (an index of `KINDS`) went out.
    pub fn sent(&mut self, kind: usize) {
        self.sent += 1;
        self.sent_by_kind[kind] += 1;
    }

    pub fn record(
        &mut self,
        kind: usize,
        outcome: Outcome,
        latency: Duration,
        failure: Option<String>,
    ) {
        self.completed += 1;
        self.classes[outcome.class() as usize] += 1;
        *self.answers_by_kind[kind].entry(outcome.key()).or_insert(0) += 1;
        match outcome {
            Outcome::Status(status) => {
                self.latency
                    .saturating_record(latency.as_micros().try_into().unwrap_or(u64::MAX));
                if !expected(kind, status) {
                    self.unexpected += 1;
                }
            }
            _ => {
                self.unexpected += 1;
                if self.first_failure.is_none() {
                    self.first_failure = failure;
                }
            }
        }
    }
}
