//! What each subcommand says, as a report of the shared model ([`crate::report`]):
//! paragraphs, and tables of the faults' names and of where one shows.

use std::collections::BTreeSet;
use std::time::Duration;

use faults::Fault;

use super::explain;
use crate::report::{Report, Section};

const COMMAND: &str = "cargo run -p workshop --";
const ALL: usize = Fault::ALL.len();

/// The faults by number, their names in alphabetical order (so that neither tells the
/// other), and where the attendee stands: whether one is on (not which: it may have been
/// chosen at random), and those found.
pub fn list(on: Option<Duration>, found: &BTreeSet<Fault>) -> Report {
    let numbers: Vec<String> = Fault::ALL.map(|f| format!("#{}", f.number())).into();
    let mut names = Fault::ALL;
    names.sort_by_key(|f| f.name());
    let now = match on {
        Some(after) => format!("Now: a fault is on, for {}.", minutes(after)),
        None => format!("Now: no fault is on (`{COMMAND} fault on`)."),
    };
    let found_names: Vec<&str> = found.iter().map(|f| f.name()).collect();
    let found_names = match found_names.as_slice() {
        [] => String::new(),
        names => format!(" ({})", names.join(", ")),
    };
    Report {
        sections: vec![
            paragraph(format!(
                "{ALL} faults, by number: {}. Which number is which name is for you to find out.",
                numbers.join("  ")
            )),
            Section::table(
                "The names to guess from:",
                names.map(|f| (f.name(), f.hint())),
            ),
        ],
        conclusion: format!(
            "{now}\nFound so far: {} of {ALL}{found_names}.",
            found.len()
        ),
    }
}

/// A fault went on: the chosen one, or (None) one at random among `left` not found.
pub fn on(chosen: Option<Fault>, left: usize) -> Report {
    let which = match chosen {
        Some(fault) => format!("Fault #{} is on.", fault.number()),
        None if left == 0 => {
            "A fault is on: you have found all of them once, so it may be any.".into()
        }
        None => format!("A fault is on: one of the {left} you have not found yet."),
    };
    said(format!(
        "{which}\nThe services have it within a second. Keep traffic flowing (`{COMMAND} load`),\n\
         look for it in the telemetry, and when you know: `{COMMAND} fault guess NAME`."
    ))
}

pub fn right(fault: Fault, after: Duration, found: usize) -> Report {
    said(format!(
        "Right: fault #{} is {}. Found after {}; that makes {found} of {ALL}.\nIt stays on until \
         `{COMMAND} fault off`; `{COMMAND} fault reveal` says where it shows.",
        fault.number(),
        fault.name(),
        minutes(after),
    ))
}

pub fn wrong(guess: Fault) -> Report {
    let guess = guess.name();
    said(format!(
        "No: it is not {guess}. Look again: which service, which signal, since when?"
    ))
}

/// Which fault it is, what it does, and where it shows along the chapter's route.
pub fn reveal(fault: Fault, after: Duration) -> Report {
    let places = ["dashboard", "trace", "logs"];
    Report {
        sections: vec![
            paragraph(format!(
                "Fault #{} is {}: {}. It has been on for {}.",
                fault.number(),
                fault.name(),
                fault.hint(),
                minutes(after)
            )),
            Section::table("What it does:", [(explain::what(fault), "")]),
            Section::table(
                "Where it shows:",
                places.into_iter().zip(explain::where_it_shows(fault)),
            ),
        ],
        conclusion: format!("Switch it off: `{COMMAND} fault off`."),
    }
}

pub fn off(was: Option<Fault>) -> Report {
    said(match was {
        Some(fault) => format!(
            "Fault #{} is off: the services are back to normal within a second.",
            fault.number()
        ),
        None => "No fault was on.".into(),
    })
}

/// A report that is one paragraph.
fn said(text: String) -> Report {
    Report {
        sections: Vec::new(),
        conclusion: text,
    }
}

/// A section without verdicts: its title is a paragraph.
fn paragraph(text: String) -> Section {
    Section::new(text, Vec::new())
}

/// `4 min 32 s`, `45 s`.
fn minutes(duration: Duration) -> String {
    let seconds = duration.as_secs();
    match seconds / 60 {
        0 => format!("{seconds} s"),
        m => format!("{m} min {} s", seconds % 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_hides_which_number_is_which_name() {
        let text = list(Some(Duration::from_secs(75)), &[Fault::RetryStorm].into()).to_string();
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
        let text = on(None, 6).to_string();
        assert!(text.starts_with("A fault is on: one of the 6 you have not found yet."));
        assert!(!text.contains('#'), "{text}");
        assert!(
            Fault::ALL.iter().all(|f| !text.contains(f.name())),
            "{text}"
        );
    }

    #[test]
    fn reveal_says_what_and_where_in_lines_that_fit() {
        let text = reveal(Fault::ConnectionLeak, Duration::from_secs(30)).to_string();
        assert!(text.starts_with(
            "Fault #3 is connection-leak: connections are taken from a pool and never given back. It has been on for 30 s."
        ), "{text}");
        assert!(
            text.contains("\n\nWhat it does:\n  the gateway takes a connection from a pool"),
            "{text}"
        );
        assert!(
            text.contains("\n\nWhere it shows:\n  dashboard  "),
            "{text}"
        );
        for place in ["trace", "logs"] {
            assert!(text.contains(&format!("\n  {place} ")), "{place}: {text}");
        }
        assert!(
            text.lines().skip(1).all(|l| l.chars().count() <= 92),
            "{text}"
        );
        assert!(text.ends_with("\n\nSwitch it off: `cargo run -p workshop -- fault off`.\n"));
    }

    #[test]
    fn durations_read_as_minutes_and_seconds() {
        assert_eq!(minutes(Duration::from_secs(45)), "45 s");
        assert_eq!(minutes(Duration::from_secs(272)), "4 min 32 s");
    }
}
