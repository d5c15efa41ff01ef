//! What each subcommand says, as data, and its rendering as text.

use std::collections::BTreeSet;
use std::fmt::Write;
use std::time::Duration;

use faults::Fault;

use super::explain;

/// What a subcommand says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Report {
    /// The faults by number, the names to guess from, and where the attendee stands.
    List {
        on: Option<(Fault, Duration)>,
        found: BTreeSet<Fault>,
    },
    /// A fault went on: the chosen one, or (None) one at random among `left` not found.
    On {
        chosen: Option<Fault>,
        left: usize,
    },
    Right {
        fault: Fault,
        after: Duration,
        found: usize,
    },
    Wrong {
        guess: Fault,
    },
    Reveal {
        fault: Fault,
        after: Duration,
    },
    Off {
        was: Option<Fault>,
    },
}

const COMMAND: &str = "cargo run -p workshop --";
const WIDTH: usize = 92;

pub fn render(report: &Report) -> String {
    let mut out = String::new();
    match report {
        Report::List { on, found } => {
            let numbers: Vec<String> = Fault::ALL
                .iter()
                .map(|f| format!("#{}", f.number()))
                .collect();
            let _ = writeln!(
                out,
                "{} faults, by number: {}. Which number is which name is for you to find out.\n",
                Fault::ALL.len(),
                numbers.join("  ")
            );
            let _ = writeln!(out, "The names to guess from:");
            let mut names = Fault::ALL;
            names.sort_by_key(|f| f.name());
            for fault in names {
                let _ = writeln!(out, "  {:<16} {}", fault.name(), fault.hint());
            }
            let _ = writeln!(out);
            match on {
                // Not which one: it may have been chosen at random.
                Some((_, after)) => {
                    let _ = writeln!(out, "Now: a fault is on, for {}.", minutes(*after));
                }
                None => {
                    let _ = writeln!(out, "Now: no fault is on (`{COMMAND} fault on`).");
                }
            }
            let names: Vec<&str> = found.iter().map(|f| f.name()).collect();
            let _ = writeln!(
                out,
                "Found so far: {} of {}{}",
                found.len(),
                Fault::ALL.len(),
                if names.is_empty() {
                    ".".to_owned()
                } else {
                    format!(" ({}).", names.join(", "))
                }
            );
        }
        Report::On { chosen, left } => {
            match chosen {
                Some(fault) => {
                    let _ = writeln!(out, "Fault #{} is on.", fault.number());
                }
                None if *left == 0 => {
                    let _ = writeln!(
                        out,
                        "A fault is on: you have found all of them once, so it may be any."
                    );
                }
                None => {
                    let _ = writeln!(
                        out,
                        "A fault is on: one of the {left} you have not found yet."
                    );
                }
            }
            let _ = writeln!(
                out,
                "The services have it within a second. Keep traffic flowing (`{COMMAND} load`),\n\
                 look for it in the telemetry, and when you know: `{COMMAND} fault guess NAME`."
            );
        }
        Report::Right {
            fault,
            after,
            found,
        } => {
            let _ = writeln!(
                out,
                "Right: fault #{} is {}. Found after {}; that makes {found} of {}.",
                fault.number(),
                fault.name(),
                minutes(*after),
                Fault::ALL.len()
            );
            let _ = writeln!(
                out,
                "It stays on until `{COMMAND} fault off`; `{COMMAND} fault reveal` says where it shows."
            );
        }
        Report::Wrong { guess } => {
            let _ = writeln!(
                out,
                "No: it is not {}. Look again: which service, which signal, since when?",
                guess.name()
            );
        }
        Report::Reveal { fault, after } => {
            let _ = writeln!(
                out,
                "Fault #{} is {}: {}. It has been on for {}.\n",
                fault.number(),
                fault.name(),
                fault.hint(),
                minutes(*after)
            );
            out.push_str(&wrap("What it does: ", explain::what(*fault)));
            let _ = writeln!(out, "\nWhere it shows:");
            for (place, how) in explain::where_it_shows(*fault) {
                out.push_str(&wrap(&format!("  {place:<10} "), how));
            }
            let _ = writeln!(out, "\nSwitch it off: `{COMMAND} fault off`.");
        }
        Report::Off { was: Some(fault) } => {
            let _ = writeln!(
                out,
                "Fault #{} is off: the services are back to normal within a second.",
                fault.number()
            );
        }
        Report::Off { was: None } => {
            let _ = writeln!(out, "No fault was on.");
        }
    }
    out
}

/// `4 min 32 s`, `45 s`.
fn minutes(duration: Duration) -> String {
    let seconds = duration.as_secs();
    match seconds / 60 {
        0 => format!("{seconds} s"),
        m => format!("{m} min {} s", seconds % 60),
    }
}

/// `text` after `lead`, in lines of at most [`WIDTH`] characters, the next lines indented
/// as far as `lead`.
fn wrap(lead: &str, text: &str) -> String {
    let indent = " ".repeat(lead.chars().count());
    let mut out = String::new();
    let mut line = lead.to_owned();
    let mut empty = true;
    for word in text.split_whitespace() {
        if !empty && line.chars().count() + 1 + word.chars().count() > WIDTH {
            out.push_str(line.trim_end());
            out.push('\n');
            line = indent.clone();
            empty = true;
        }
        if !empty {
            line.push(' ');
        }
        line.push_str(word);
        empty = false;
    }
    out.push_str(line.trim_end());
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_hides_which_number_is_which_name() {
        let text = render(&Report::List {
            on: Some((Fault::SignBug, Duration::from_secs(75))),
            found: [Fault::RetryStorm].into(),
        });
        assert!(text.starts_with("7 faults, by number: #1  #2  #3  #4  #5  #6  #7."));
        let names: Vec<&str> = text
            .lines()
            .skip_while(|l| !l.starts_with("The names"))
            .skip(1)
            .take(7)
            .map(|l| l.split_whitespace().next().unwrap())
            .collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        assert_eq!(names, sorted, "alphabetical, not by number");
        assert!(
            text.contains("Now: a fault is on, for 1 min 15 s."),
            "{text}"
        );
        assert!(
            text.contains("Found so far: 1 of 7 (retry-storm)."),
            "{text}"
        );
        assert!(!text.contains("fault #5"), "not even its number: {text}");
    }

    #[test]
    fn a_random_fault_is_not_named_nor_numbered() {
        let text = render(&Report::On {
            chosen: None,
            left: 6,
        });
        assert!(text.starts_with("A fault is on: one of the 6 you have not found yet."));
        assert!(!text.contains('#'), "{text}");
        assert!(
            Fault::ALL.iter().all(|f| !text.contains(f.name())),
            "{text}"
        );
    }

    #[test]
    fn reveal_says_what_and_where_in_lines_that_fit() {
        let text = render(&Report::Reveal {
            fault: Fault::ConnectionLeak,
            after: Duration::from_secs(30),
        });
        assert!(text.starts_with(
            "Fault #3 is connection-leak: connections are taken from a pool and never given back. It has been on for 30 s."
        ), "{text}");
        for place in ["dashboard", "trace", "logs"] {
            assert!(text.contains(&format!("\n  {place} ")), "{place}: {text}");
        }
        assert!(
            text.lines().skip(1).all(|l| l.chars().count() <= WIDTH),
            "{text}"
        );
    }

    #[test]
    fn wrapping_keeps_every_word_and_indents_under_the_lead() {
        let long = "word ".repeat(40);
        let text = wrap("  lead: ", &long);
        assert_eq!(text.split_whitespace().filter(|w| *w == "word").count(), 40);
        assert!(text.lines().skip(1).all(|l| l.starts_with("        word")));
        assert!(text.lines().all(|l| l.chars().count() <= WIDTH));
    }

    #[test]
    fn durations_read_as_minutes_and_seconds() {
        assert_eq!(minutes(Duration::from_secs(45)), "45 s");
        assert_eq!(minutes(Duration::from_secs(272)), "4 min 32 s");
    }
}
