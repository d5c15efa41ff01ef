//! The faults the services can be told to have, and the switch that turns one on.
//!
//! The troubleshooting chapter (`workshop/chapters/09-find-the-fault.md`) ends the workshop
//! with something to diagnose: `workshop fault on` gives the running services one of these
//! faults, and the attendee finds which from the telemetry alone. This crate is the
//! catalogue both sides read: the services (`service_kit::faults` does what each fault
//! does) and the `workshop` command (which switches them, and hides their names behind
//! numbers).
//!
//! # The switch is a file
//!
//! Which fault is on is one line in a file whose path the services get in
//! [`SWITCH_VARIABLE`] (`workshop up` sets it). Without that variable a service never looks
//! for faults at all: they are off by default. A file, rather than an admin endpoint, a
//! signal or a command-line flag, because:
//!
//! - nothing listens. There is no port and no route to protect, so the public page cannot
//!   reach the switch whatever `BIND_ADDR` says (containers bind 0.0.0.0, and an admin
//!   route on a service's own port would be one path away from the public);
//! - only who can write the file, the attendee's own user on their own machine, can switch;
//!   the services only read it;
//! - one write reaches all four services at once, on every system (a signal carries no
//!   name, and Windows has none);
//! - it happens at run time, without a rebuild or a restart.
//!
//! The file names the fault by number only (`3`), so that a look at it does not give the
//! game away. A missing file, an empty one, or `off` means no fault.

use std::fmt;

/// The environment variable that holds the switch file's path.
pub const SWITCH_VARIABLE: &str = "WORKSHOP_FAULT_FILE";

/// A fault the services can be told to have. Each is off until switched on, and each shows
/// in the telemetry that the workshop's sections build: a span's status or duration, a
/// missing parent, a log record, a metric.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Fault {
    /// iss-distance ignores the trace context it is sent (as a proxy that drops the headers
    /// it does not know would): its spans start traces of their own.
    LostContext,
    /// geolocator takes 1.2 s more to look up a name with letters beyond ASCII (Zürich,
    /// São Paulo), and logs a warning about the slow lookup.
    SlowLookups,
    /// The gateway takes a connection from a pool of eight for every call to iss-distance
    /// and never gives it back: after eight calls, every call waits for one until its
    /// timeout, without reaching iss-distance.
    ConnectionLeak,
    /// Something between iss-distance and the ISS API (a captive portal) answers every
    /// other call in its place, with a login page: 200 OK, and HTML instead of JSON.
    CaptivePortal,
    /// geolocator fails (500) for every place south of the equator: a range check that
    /// forgot the sign.
    SignBug,
    /// The gateway keeps every request it serves in a list that is never trimmed, and goes
    /// through the whole list each time: each request takes a little longer than the last.
    MemoryLeak,
    /// The gateway tries a failed call to geolocator again at once, up to five times in
    /// all, even when it failed for good (404: no such place).
    RetryStorm,
}

impl Fault {
    /// Every fault, in the order of their numbers (1 first). The order hides the names: it
    /// is neither alphabetical nor by service.
    pub const ALL: [Fault; 7] = [
        Fault::LostContext,
        Fault::SlowLookups,
        Fault::ConnectionLeak,
        Fault::CaptivePortal,
        Fault::SignBug,
        Fault::MemoryLeak,
        Fault::RetryStorm,
    ];

    /// Its number, from 1.
    pub fn number(self) -> u8 {
        let index = Fault::ALL
            .iter()
            .position(|fault| *fault == self)
            .expect("every fault is in ALL");
        u8::try_from(index + 1).expect("fewer than 256 faults")
    }

    pub fn from_number(number: u8) -> Option<Fault> {
        let index = usize::from(number).checked_sub(1)?;
        Fault::ALL.get(index).copied()
    }

    /// The name an attendee guesses.
    pub fn name(self) -> &'static str {
        match self {
            Fault::LostContext => "lost-context",
            Fault::SlowLookups => "slow-lookups",
            Fault::ConnectionLeak => "connection-leak",
            Fault::CaptivePortal => "captive-portal",
            Fault::SignBug => "sign-bug",
            Fault::MemoryLeak => "memory-leak",
            Fault::RetryStorm => "retry-storm",
        }
    }

    /// The fault called `name`, ignoring case and surrounding blanks.
    pub fn from_name(name: &str) -> Option<Fault> {
        let name = name.trim();
        Fault::ALL
            .into_iter()
            .find(|fault| fault.name().eq_ignore_ascii_case(name))
    }

    /// What the name means, vaguely enough to leave the finding to the telemetry: no
    /// service is named.
    pub fn hint(self) -> &'static str {
        match self {
            Fault::LostContext => "a hop forgets which trace its requests belong to",
            Fault::SlowLookups => "some places take far longer to find than others",
            Fault::ConnectionLeak => "connections are taken from a pool and never given back",
            Fault::CaptivePortal => {
                "now and then, something else answers in place of a third party"
            }
            Fault::SignBug => "some places fail, because of a sign",
            Fault::MemoryLeak => "something remembers every request, for ever",
            Fault::RetryStorm => "a failed call is tried again at once, and again",
        }
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What a switch file's text says: a fault, or none (empty, or `off`).
pub fn parse_switch(text: &str) -> Result<Option<Fault>, String> {
    let text = text.trim();
    if text.is_empty() || text.eq_ignore_ascii_case("off") {
        return Ok(None);
    }
    let number: u8 = text
        .parse()
        .map_err(|_| format!("expected a fault's number or `off`, found {text:?}"))?;
    Fault::from_number(number).map(Some).ok_or_else(|| {
        format!(
            "there is no fault number {number}: they go from 1 to {}",
            Fault::ALL.len()
        )
    })
}

/// The text of a switch file that turns `fault` on (or every fault off).
pub fn switch_text(fault: Option<Fault>) -> String {
    match fault {
        Some(fault) => format!("{}\n", fault.number()),
        None => "off\n".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_names_go_both_ways_and_are_unique() {
        let mut names = std::collections::BTreeSet::new();
        for (i, fault) in Fault::ALL.into_iter().enumerate() {
            assert_eq!(usize::from(fault.number()), i + 1);
            assert_eq!(Fault::from_number(fault.number()), Some(fault));
            assert_eq!(Fault::from_name(fault.name()), Some(fault));
            assert!(names.insert(fault.name()), "{fault:?}");
        }
        assert_eq!(Fault::from_number(0), None);
        assert_eq!(Fault::from_number(8), None);
        assert_eq!(
            Fault::from_name(" Retry-Storm "),
            Some(Fault::RetryStorm),
            "case and blanks do not matter"
        );
        assert_eq!(Fault::from_name("retry storm"), None);
    }

    #[test]
    fn the_numbers_do_not_follow_the_names() {
        let mut sorted = Fault::ALL.map(Fault::name);
        sorted.sort_unstable();
        assert_ne!(sorted, Fault::ALL.map(Fault::name));
    }

    #[test]
    fn the_switch_reads_back_what_was_written() {
        for fault in Fault::ALL.map(Some).into_iter().chain([None]) {
            assert_eq!(parse_switch(&switch_text(fault)), Ok(fault));
        }
        assert_eq!(parse_switch(""), Ok(None));
        assert_eq!(parse_switch("  OFF \n"), Ok(None));
        assert_eq!(parse_switch(" 4\r\n"), Ok(Some(Fault::CaptivePortal)));
    }

    #[test]
    fn a_switch_that_makes_no_sense_says_why() {
        assert_eq!(
            parse_switch("9"),
            Err("there is no fault number 9: they go from 1 to 7".into())
        );
        assert_eq!(
            parse_switch("slow-lookups"),
            Err("expected a fault's number or `off`, found \"slow-lookups\"".into())
        );
        assert!(parse_switch("-1").is_err());
        assert!(parse_switch("300").is_err());
    }
}
