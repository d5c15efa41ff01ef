//! Section 2 · logs: every service sends log records; iss-distance's say what happened, at
//! the right severity, without the client's IP address.

use std::ops::{Bound, RangeBounds};

use otlp_receiver::{Level, ReceivedLog};

use super::evidence::hint;
use super::evidence::{
    CALCULATING, Evidence, ISS_FAILED, REJECTED, SERVICES, excerpt, none_of, ok_unless, tally,
};
use super::report::{Check, first, list};

pub const TITLE: &str = "Section 2 · logs";

/// The client's address in the check's requests.
pub const CLIENT_IP: &str = "127.0.0.1";

pub fn check(evidence: &Evidence) -> Vec<Check> {
    let silent = SERVICES
        .into_iter()
        .filter(|s| evidence.logs_of(s).next().is_none());
    let scenario = &evidence.scenario;
    let requests = scenario.requests_to("iss-distance");
    let failed_calls: usize = scenario
        .iss_calls()
        .iter()
        .filter(|(call, _)| call.error_type.is_some())
        .map(|(_, n)| n)
        .sum();
    vec![
        Check::new(
            "every service sends log records",
            hint::LOGGER_PROVIDER,
            none_of(silent, |silent| format!("none from {}", list(&silent))),
        ),
        Check::new(
            "iss-distance logs `listening on …` at INFO when it starts",
            hint::BRIDGE,
            records(evidence, "listening on", Level::Info, 1..),
        ),
        Check::new(
            format!("iss-distance logs `{CALCULATING}` at INFO once per request ({requests})"),
            hint::HANDLER,
            records(evidence, CALCULATING, Level::Info, requests..=requests),
        ),
        Check::new(
            format!("iss-distance logs a WARN about the rejected `{REJECTED}`"),
            hint::HANDLER,
            records(evidence, REJECTED, Level::Warn, scenario.rejected()..),
        ),
        Check::new(
            format!("iss-distance logs an ERROR when it cannot get the `{ISS_FAILED}`"),
            hint::POSITION,
            records(evidence, ISS_FAILED, Level::Error, failed_calls..),
        ),
        Check::new(
            format!("no log record contains the client's IP address {CLIENT_IP} (personal data)"),
            hint::HANDLER,
            no_client_ip(evidence),
        ),
    ]
}

/// iss-distance's records whose body contains `text`: as many as `count` says at `level`
/// (`n..` for at least n, `n..=n` for exactly n).
fn records(
    evidence: &Evidence,
    text: &str,
    level: Level,
    count: impl RangeBounds<usize>,
) -> Result<(), String> {
    let matching: Vec<&ReceivedLog> = evidence
        .logs_of("iss-distance")
        .filter(|l| l.body_text().contains(text))
        .collect();
    let at_level = matching.iter().filter(|l| l.level() == level).count();
    if count.contains(&at_level) {
        return Ok(());
    }
    if evidence.logs_of("iss-distance").next().is_none() {
        return Err("iss-distance sent no log records".to_owned());
    }
    // The others, counted by severity: "1 at INFO (severity_number 9)".
    let wrong: Vec<String> = tally(
        matching
            .iter()
            .filter(|l| l.level() != level)
            .map(|l| format!("at {} (severity_number {})", l.level(), l.severity_number())),
    )
    .into_iter()
    .map(|(at, n)| format!("{n} {at}"))
    .collect();
    let mut problem = format!("got {at_level} at {level}");
    if !wrong.is_empty() {
        problem.push_str(&format!(", and {}", first(&wrong, 2)));
    }
    if let Bound::Included(expected) = count.end_bound() {
        problem.push_str(&format!(", expected {expected}"));
    }
    Err(problem)
}

/// No body or attribute mentions the client's address. Servers' own addresses
/// (`127.0.0.1:<port>` of a service, the stub or the receiver) are allowed: `listening on
/// http://127.0.0.1:5003` is not personal data.
fn no_client_ip(evidence: &Evidence) -> Result<(), String> {
    if evidence.logs.is_empty() {
        return Err("no log records to look at".to_owned());
    }
    let found: Vec<String> = evidence
        .logs
        .iter()
        .flat_map(|log| {
            let attributes = log.attributes().into_iter();
            let texts = attributes.map(|(key, value)| (key, value.to_string()));
            let texts = std::iter::once(("body".to_owned(), log.body_text())).chain(texts);
            let service = log.service_name().unwrap_or("?");
            texts
                .filter(|(_, text)| mentions_client(text, &evidence.server_addresses))
                .map(move |(place, text)| format!("{service} {place}: {}", excerpt(&text, 60)))
        })
        .collect();
    ok_unless(&found, 2)
}

fn mentions_client(text: &str, servers: &[String]) -> bool {
    text.match_indices(CLIENT_IP).any(|(at, _)| {
        let from = &text[at..];
        // A server's address, and not the start of a longer port number.
        !servers.iter().any(|server| {
            from.starts_with(server.as_str())
                && !from[server.len()..].starts_with(|c: char| c.is_ascii_digit())
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_addresses_are_not_the_client() {
        let servers = vec!["127.0.0.1:5003".to_owned()];
        assert!(!mentions_client(
            "iss-distance listening on http://127.0.0.1:5003",
            &servers
        ));
        assert!(mentions_client("request from 127.0.0.1", &servers));
        assert!(mentions_client("request from 127.0.0.1:40112", &servers));
        assert!(mentions_client("request from 127.0.0.1:50031", &servers));
    }
}
