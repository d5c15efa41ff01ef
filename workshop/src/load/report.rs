//! The summary of a run: a typed report, serialised as JSON (`--json`) or written as text,
//! to any `Write` (as ripgrep's `print_stats`); and the progress line.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::time::Duration;

use comfy_table::Table;
use serde::{Serialize, Serializer};

use super::Args;
use super::inputs::KINDS;
use super::stats::{Class, Stats};
use crate::latency::{Latency, ms};

/// Everything `load` reports at the end.
#[derive(Serialize, Debug)]
pub struct Summary {
    pub target: String,
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

/// Requests by how they ended, in the order of [`Class::ALL`], named by [`Class::name`].
#[derive(Debug)]
pub struct Outcomes([u64; 7]);

impl Outcomes {
    fn get(&self, class: Class) -> u64 {
        self.0[class as usize]
    }
}

impl Serialize for Outcomes {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(Class::ALL.iter().map(|c| (c.name(), self.get(*c))))
    }
}

/// Requests by kind of input (named by [`KINDS`]), with the answers each got.
#[derive(Debug)]
pub struct ByInput([Input; 3]);

impl Serialize for ByInput {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(KINDS.iter().zip(&self.0))
    }
}

#[derive(Serialize, Debug)]
pub struct Input {
    pub requests: u64,
    /// By status (`"200"`) or kind of failure (`"timeout"`).
    pub answers: BTreeMap<String, u64>,
}

/// How the run went, besides the counts.
pub struct Ran {
    pub elapsed: Duration,
    pub window: Duration,
    pub interrupted: bool,
    pub cancelled: u64,
}

impl Summary {
    pub fn new(asked: &Args, url: &reqwest::Url, ran: &Ran, stats: &Stats) -> Self {
        let nothing_answered =
            stats.completed > 0 && stats.count(Class::ConnectionError) == stats.completed;
        let note = nothing_answered.then(|| {
            let why = stats.first_failure.as_deref();
            format!(
                "nothing answered at {}: start the services (`cargo run -p workshop -- up`) or \
                 point --url at them ({})",
                url,
                why.unwrap_or("connection failed")
            )
        });
        let round = |value: f64, places: i32| {
            let scale = 10f64.powi(places);
            (value * scale).round() / scale
        };
        let window = ran.window.as_secs_f64();
        Summary {
            target: format!("{:?}", asked.target).to_lowercase(),
            url: url.to_string(),
            rate_per_second: asked.rate,
            duration_seconds: asked.duration.map(|d| d.as_secs_f64()),
            elapsed_seconds: round(ran.elapsed.as_secs_f64(), 3),
            interrupted: ran.interrupted,
            requests: stats.sent,
            sending_seconds: round(window, 3),
            sent_per_second: if window > 0.0 {
                round(stats.sent as f64 / window, 2)
            } else {
                0.0
            },
            completed: stats.completed,
            dropped: stats.dropped,
            cancelled: ran.cancelled,
            max_in_flight: asked.max_in_flight,
            outcomes: Outcomes(stats.classes),
            errors: stats.errors(),
            unexpected: stats.unexpected,
            by_input: ByInput(std::array::from_fn(|i| Input {
                requests: stats.sent_by_kind[i],
                answers: stats.answers_by_kind[i].clone(),
            })),
            latency_ms: Latency::of(&stats.latency),
            note,
        }
    }

    /// The summary as people read it: a title, then a table of labelled rows.
    pub fn write_text(&self, out: &mut impl Write) -> io::Result<()> {
        let stopped = if self.interrupted {
            ", stopped by Ctrl-C"
        } else {
            ""
        };
        writeln!(
            out,
            "\n{} requests to {} in {:.2} s ({}/s asked, {:.1}/s sent){stopped}",
            self.requests,
            self.url,
            self.elapsed_seconds,
            format_rate(self.rate_per_second),
            self.sent_per_second,
        )?;
        writeln!(out, "{}", self.table().trim_fmt())?;
        if let Some(note) = &self.note {
            writeln!(out, "\n{note}")?;
        }
        Ok(())
    }

    /// Labelled rows, indented under the title; `dropped` and `cancelled` only when there
    /// are some.
    fn table(&self) -> Table {
        let counts = |classes: &[Class]| {
            let counts = classes.iter().map(|c| {
                let name = if *c == Class::OtherStatus {
                    "other"
                } else {
                    c.name()
                };
                format!("{} {}", name.replace('_', " "), self.outcomes.get(*c))
            });
            counts.collect::<Vec<_>>().join("   ")
        };
        let by_input = KINDS.iter().zip(&self.by_input.0);
        let by_input = by_input
            .filter(|(_, input)| input.requests > 0)
            .map(|(kind, input)| {
                let answers = (input.answers.iter())
                    .map(|(key, count)| format!("{} ×{count}", key.replace('_', " ")))
                    .collect::<Vec<_>>();
                let answers = if answers.is_empty() {
                    "no answer".into()
                } else {
                    answers.join(", ")
                };
                format!("{kind} {} ({answers})", input.requests)
            });
        let answered: u64 = Class::ALL[..4].iter().map(|c| self.outcomes.get(*c)).sum();
        let l = &self.latency_ms;
        let latency = format!(
            "p50 {:.1} ms   p90 {:.1} ms   p99 {:.1} ms   max {:.1} ms",
            l.p50, l.p90, l.p99, l.max
        );
        let mut table = Table::new();
        table.load_style(comfy_table::presets::NOTHING);
        table.add_row(["answers", &counts(&Class::ALL[..4])]);
        table.add_row(["failures", &counts(&Class::ALL[4..])]);
        table.add_row(["errors", &format!("{} {ERRORS}", self.errors)]);
        table.add_row(["by input", &by_input.collect::<Vec<_>>().join("   ")]);
        table.add_row(["unexpected", &format!("{} {UNEXPECTED}", self.unexpected)]);
        if self.dropped > 0 {
            let waiting = self.max_in_flight;
            table.add_row([
                "dropped",
                &format!("{} (due while {waiting} {DROPPED}", self.dropped),
            ]);
        }
        if self.cancelled > 0 {
            table.add_row(["cancelled", &format!("{} {CANCELLED}", self.cancelled)]);
        }
        table.add_row([
            "latency",
            if answered == 0 {
                "no answers"
            } else {
                &latency
            },
        ]);
        if let Some(labels) = table.column_mut(0) {
            labels.set_padding((2, 1));
        }
        table
    }
}

/// What the text says of the counts.
const ERRORS: &str = "(5xx, other statuses, timeouts, connection errors; 4xx are the answer unknown places and bad input deserve)";
const UNEXPECTED: &str = "(known place not 2xx, unknown place not 404, bad input not 400)";
const DROPPED: &str = "requests were waiting for an answer; not sent)";
const CANCELLED: &str = "(still waiting for an answer at the end)";

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
    let at = |q| ms(stats.latency.value_at_quantile(q));
    line += &format!(
        "  in flight {waiting}  p50 {:.1} ms  p99 {:.1} ms\x1b[K",
        at(0.5),
        at(0.99)
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

    /// The summary of `load ARGS…` to the frontend, which took 2.345 s.
    fn summary(stats: &Stats, args: &[&str], interrupted: bool) -> Summary {
        #[derive(clap::Parser)]
        struct Load {
            #[command(flatten)]
            args: Args,
        }
        let args = <Load as clap::Parser>::parse_from([&["load"], args].concat()).args;
        let url = reqwest::Url::parse("http://127.0.0.1:5000/").unwrap();
        let ran = Ran {
            elapsed: Duration::from_millis(2_345),
            window: Duration::from_secs(2),
            interrupted,
            cancelled: 0,
        };
        Summary::new(&args, &url, &ran, stats)
    }

    fn text(summary: &Summary) -> String {
        let mut out = Vec::new();
        summary.write_text(&mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn the_json_keeps_its_names() {
        let json = serde_json::to_value(summary(&stats(), &[], false)).unwrap();
        assert_eq!(json["outcomes"]["2xx"], 7);
        assert_eq!(json["outcomes"]["4xx"], 1);
        assert_eq!(json["outcomes"]["timeout"], 1);
        assert_eq!(json["outcomes"]["connection_error"], 0);
        assert_eq!(json["errors"], 1);
        assert_eq!(json["unexpected"], 1);
        assert_eq!(json["by_input"]["known"]["answers"]["200"], 7);
        assert_eq!(json["by_input"]["known"]["answers"]["timeout"], 1);
        assert_eq!(json["by_input"]["bad"]["requests"], 0);
        assert_eq!(json["sent_per_second"], 4.5);
        assert_eq!(json["elapsed_seconds"], 2.345);
        assert_eq!(json["latency_ms"]["p50"], 12.01);
        assert_eq!(json["note"], serde_json::Value::Null);
    }

    #[test]
    fn the_text_says_what_happened() {
        let summary = summary(&stats(), &["--duration", "2s"], false);
        insta::assert_snapshot!(text(&summary));
    }

    #[test]
    fn nothing_answering_is_explained() {
        let mut stats = Stats::new();
        stats.sent = 2;
        stats.sent_by_kind = [2, 0, 0];
        for _ in 0..2 {
            let refused = Some("refused".into());
            stats.record(0, Outcome::Connection, Duration::ZERO, refused);
        }
        let summary = summary(&stats, &[], true);
        let note = summary.note.as_deref().unwrap();
        assert!(
            note.contains("nothing answered at http://127.0.0.1:5000/")
                && note.contains("(refused)")
        );
        insta::assert_snapshot!(text(&summary));
    }
}
