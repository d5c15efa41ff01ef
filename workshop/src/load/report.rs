//! The summary of a run: a typed report, serialised as JSON (`--json`) or written as text,
//! to any `Write` (as ripgrep's `print_stats`); and the progress line.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::time::Duration;

use serde::Serialize;

use super::inputs::KINDS;
use super::stats::{Class, Stats};
use crate::latency::{Latency, ms};

/// Everything `load` reports at the end.
#[derive(Serialize, Debug)]
pub struct Summary {
    pub target: &'static str,
    pub url: String,
    pub rate_per_second: f64,
    pub duration_seconds: Option<f64>,
    pub elapsed_seconds: f64,
    pub interrupted: bool,
    pub requests: u64,
    /// Over the sending window (from the start to one period after the last send).
    pub sending_seconds: f64,
    pub sent_per_second: f64,
    pub completed: u64,
    pub dropped: u64,
    pub cancelled: u64,
    pub max_in_flight: u32,
    pub outcomes: Outcomes,
    pub errors: u64,
    pub unexpected: u64,
    pub by_input: ByInput,
    pub latency_ms: Latency,
    pub note: Option<String>,
}

/// Requests by how they ended.
#[derive(Serialize, Debug)]
pub struct Outcomes {
    #[serde(rename = "2xx")]
    pub success: u64,
    #[serde(rename = "4xx")]
    pub client_error: u64,
    #[serde(rename = "5xx")]
    pub server_error: u64,
    pub other_status: u64,
    pub timeout: u64,
    pub connection_error: u64,
    pub other_error: u64,
}

/// Requests by kind of input, with the answers each got.
#[derive(Serialize, Debug)]
pub struct ByInput {
    pub known: Input,
    pub unknown: Input,
    pub bad: Input,
}

#[derive(Serialize, Debug)]
pub struct Input {
    pub requests: u64,
    /// By status (`"200"`) or kind of failure (`"timeout"`).
    pub answers: BTreeMap<String, u64>,
}

/// What the run was asked to do, for the summary.
pub struct Asked<'a> {
    pub target: &'static str,
    pub url: &'a reqwest::Url,
    pub rate: f64,
    pub duration: Option<Duration>,
    pub max_in_flight: u32,
}

/// How the run went, besides the counts.
pub struct Ran {
    pub elapsed: Duration,
    pub window: Duration,
    pub interrupted: bool,
    pub cancelled: u64,
}

impl Summary {
    pub fn new(asked: &Asked, ran: &Ran, stats: &Stats) -> Self {
        let input = |i: usize| Input {
            requests: stats.sent_by_kind[i],
            answers: stats.answers_by_kind[i].clone(),
        };
        let nothing_answered = stats.sent > 0
            && stats.completed > 0
            && stats.count(Class::ConnectionError) == stats.completed;
        let note = nothing_answered.then(|| {
            format!(
                "nothing answered at {}: start the services (`cargo run -p workshop -- up`) or \
                 point --url at them ({})",
                asked.url,
                stats
                    .first_failure
                    .as_deref()
                    .unwrap_or("connection failed")
            )
        });
        let millis_3 = |d: Duration| (d.as_secs_f64() * 1000.0).round() / 1000.0;
        Summary {
            target: asked.target,
            url: asked.url.to_string(),
            rate_per_second: asked.rate,
            duration_seconds: asked.duration.map(|d| d.as_secs_f64()),
            elapsed_seconds: millis_3(ran.elapsed),
            interrupted: ran.interrupted,
            requests: stats.sent,
            sending_seconds: millis_3(ran.window),
            sent_per_second: if ran.window > Duration::ZERO {
                (stats.sent as f64 / ran.window.as_secs_f64() * 100.0).round() / 100.0
            } else {
                0.0
            },
            completed: stats.completed,
            dropped: stats.dropped,
            cancelled: ran.cancelled,
            max_in_flight: asked.max_in_flight,
            outcomes: Outcomes {
                success: stats.count(Class::Success),
                client_error: stats.count(Class::ClientError),
                server_error: stats.count(Class::ServerError),
                other_status: stats.count(Class::OtherStatus),
                timeout: stats.count(Class::Timeout),
                connection_error: stats.count(Class::ConnectionError),
                other_error: stats.count(Class::OtherError),
            },
            errors: stats.errors(),
            unexpected: stats.unexpected,
            by_input: ByInput {
                known: input(0),
                unknown: input(1),
                bad: input(2),
            },
            latency_ms: Latency::from_micros(|q| stats.latency.quantile(q), stats.latency.max),
            note,
        }
    }

    /// The summary as people read it.
    pub fn write_text(&self, out: &mut impl Write) -> io::Result<()> {
        let o = &self.outcomes;
        writeln!(
            out,
            "\n{} requests to {} in {:.2} s ({}/s asked, {:.1}/s sent){}",
            self.requests,
            self.url,
            self.elapsed_seconds,
            format_rate(self.rate_per_second),
            self.sent_per_second,
            if self.interrupted {
                ", stopped by Ctrl-C"
            } else {
                ""
            },
        )?;
        writeln!(
            out,
            "  answers     2xx {}   4xx {}   5xx {}   other {}",
            o.success, o.client_error, o.server_error, o.other_status
        )?;
        writeln!(
            out,
            "  failures    timeout {}   connection error {}   other error {}",
            o.timeout, o.connection_error, o.other_error
        )?;
        writeln!(
            out,
            "  errors      {} (5xx, other statuses, timeouts, connection errors; 4xx are the \
             answer unknown places and bad input deserve)",
            self.errors
        )?;
        let inputs = [
            &self.by_input.known,
            &self.by_input.unknown,
            &self.by_input.bad,
        ];
        let by_input: Vec<String> = KINDS
            .iter()
            .zip(inputs)
            .filter(|(_, input)| input.requests > 0)
            .map(|(kind, input)| {
                let answers: Vec<String> = input
                    .answers
                    .iter()
                    .map(|(key, count)| format!("{} ×{count}", key.replace('_', " ")))
                    .collect();
                let answers = if answers.is_empty() {
                    "no answer".to_owned()
                } else {
                    answers.join(", ")
                };
                format!("{kind} {} ({answers})", input.requests)
            })
            .collect();
        writeln!(out, "  by input    {}", by_input.join("   "))?;
        writeln!(
            out,
            "  unexpected  {} (known place not 2xx, unknown place not 404, bad input not 400)",
            self.unexpected
        )?;
        if self.dropped > 0 {
            writeln!(
                out,
                "  dropped     {} (due while {} requests were waiting for an answer; not sent)",
                self.dropped, self.max_in_flight
            )?;
        }
        if self.cancelled > 0 {
            writeln!(
                out,
                "  cancelled   {} (still waiting for an answer at the end)",
                self.cancelled
            )?;
        }
        let answered = o.success + o.client_error + o.server_error + o.other_status;
        if answered == 0 {
            writeln!(out, "  latency     no answers")?;
        } else {
            let l = &self.latency_ms;
            writeln!(
                out,
                "  latency     p50 {:.1} ms   p90 {:.1} ms   p99 {:.1} ms   max {:.1} ms",
                l.p50, l.p90, l.p99, l.max
            )?;
        }
        if let Some(note) = &self.note {
            writeln!(out, "\n{note}")?;
        }
        Ok(())
    }
}

/// The one line of progress, rewritten in place on a terminal.
pub fn progress_line(
    stats: &Stats,
    elapsed: Duration,
    duration: Option<Duration>,
    waiting: usize,
) -> String {
    let seconds = elapsed.as_secs_f64();
    let of = duration.map_or(String::new(), |d| {
        let total = format!("{:.1}", d.as_secs_f64());
        format!("/{}", total.trim_end_matches(".0"))
    });
    let mut line = format!(
        "\r{seconds:.0}{of} s  sent {} ({:.1}/s)  2xx {}  4xx {}  errors {}",
        stats.sent,
        stats.sent as f64 / seconds.max(0.001),
        stats.count(Class::Success),
        stats.count(Class::ClientError),
        stats.errors(),
    );
    if stats.dropped > 0 {
        line += &format!("  dropped {}", stats.dropped);
    }
    line += &format!(
        "  in flight {waiting}  p50 {:.1} ms  p99 {:.1} ms\x1b[K",
        ms(stats.latency.quantile(0.5)),
        ms(stats.latency.quantile(0.99)),
    );
    line
}

pub fn format_rate(rate: f64) -> String {
    if rate.fract() == 0.0 {
        format!("{rate:.0}")
    } else {
        format!("{rate:.2}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::stats::Outcome;

    /// Seven known places answered, one 404, one timeout.
    fn stats() -> Stats {
        let mut stats = Stats::new();
        stats.sent = 9;
        stats.sent_by_kind = [8, 1, 0];
        for _ in 0..7 {
            stats.record(0, Outcome::Status(200), Duration::from_millis(12), None);
        }
        stats.record(1, Outcome::Status(404), Duration::from_millis(3), None);
        stats.record(
            0,
            Outcome::Timeout,
            Duration::from_secs(15),
            Some("timed out".into()),
        );
        stats
    }

    fn summary() -> Summary {
        let url = reqwest::Url::parse("http://127.0.0.1:5000/").unwrap();
        let asked = Asked {
            target: "frontend",
            url: &url,
            rate: 5.0,
            duration: Some(Duration::from_secs(2)),
            max_in_flight: 256,
        };
        let ran = Ran {
            elapsed: Duration::from_millis(2_345),
            window: Duration::from_secs(2),
            interrupted: false,
            cancelled: 0,
        };
        Summary::new(&asked, &ran, &stats())
    }

    #[test]
    fn the_json_keeps_its_names() {
        let json = serde_json::to_value(summary()).unwrap();
        assert_eq!(json["outcomes"]["2xx"], 7);
        assert_eq!(json["outcomes"]["4xx"], 1);
        assert_eq!(json["outcomes"]["timeout"], 1);
        assert_eq!(json["errors"], 1);
        assert_eq!(json["unexpected"], 1);
        assert_eq!(json["by_input"]["known"]["answers"]["200"], 7);
        assert_eq!(json["by_input"]["known"]["answers"]["timeout"], 1);
        assert_eq!(json["sent_per_second"], 4.5);
        assert_eq!(json["elapsed_seconds"], 2.345);
        assert_eq!(json["note"], serde_json::Value::Null);
    }

    #[test]
    fn the_text_says_what_happened() {
        let mut out = Vec::new();
        summary().write_text(&mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.contains("9 requests to http://127.0.0.1:5000/ in 2.35 s (5/s asked, 4.5/s sent)"),
            "{text}"
        );
        assert!(
            text.contains("answers     2xx 7   4xx 1   5xx 0   other 0"),
            "{text}"
        );
        assert!(
            text.contains("failures    timeout 1   connection error 0"),
            "{text}"
        );
        assert!(
            text.contains("by input    known 8 (200 ×7, timeout ×1)   unknown 1 (404 ×1)"),
            "{text}"
        );
        assert!(text.contains("latency     p50 12.0 ms"), "{text}");
        assert!(!text.contains("dropped"), "{text}");
    }

    #[test]
    fn nothing_answering_is_explained() {
        let mut stats = Stats::new();
        stats.sent = 2;
        for _ in 0..2 {
            stats.record(
                0,
                Outcome::Connection,
                Duration::ZERO,
                Some("refused".into()),
            );
        }
        let url = reqwest::Url::parse("http://127.0.0.1:5000/").unwrap();
        let asked = Asked {
            target: "frontend",
            url: &url,
            rate: 1.0,
            duration: None,
            max_in_flight: 1,
        };
        let ran = Ran {
            elapsed: Duration::from_secs(2),
            window: Duration::from_secs(2),
            interrupted: true,
            cancelled: 0,
        };
        let summary = Summary::new(&asked, &ran, &stats);
        let note = summary.note.as_deref().unwrap();
        assert!(
            note.contains("nothing answered at http://127.0.0.1:5000/")
                && note.contains("(refused)")
        );
        let mut out = Vec::new();
        summary.write_text(&mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.contains("stopped by Ctrl-C") && text.contains("latency     no answers"),
            "{text}"
        );
    }
}
