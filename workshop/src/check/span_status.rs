//! The semantic conventions' rules for the status of HTTP spans, which section 3's chapter
//! teaches and section 3 checks on every SERVER and CLIENT span that arrives:
//!
//! - a SERVER span is ERROR exactly when it answered 5xx: its own failure. A 4xx is the
//!   caller's mistake, and the span's status stays unset;
//! - a CLIENT span is ERROR exactly when the call failed: an error status (4xx included:
//!   the request was refused), no answer, or an answer that cannot be used (the scenario
//!   says which of iss-distance's calls got one; another 200 marked ERROR with an
//!   `error.type` is taken at its word);
//! - `error.type` is on a span exactly when it is ERROR: the status code of an error
//!   answer, else a short class of failure (`invalid_response` for an unusable answer).
//!
//! [`judge`] applies them to one span; [`check`] to all of a run's.

use otlp_receiver::{ReceivedSpan, SpanKind, StatusCode};

use super::evidence::{Evidence, SERVICES, ok_unless, status_code, tally, text};
use super::scenario::{INVALID_RESPONSE, IssAnswer};

/// The rule `span` (a SERVER or CLIENT span of `service`) breaks, if any, as one sentence
/// naming the span, its status code and the rule. `unusable`: the call got an answer that
/// cannot be used, which only the scenario knows (the ISS API's garbage is a 200); `false`
/// for SERVER spans.
pub fn judge(service: &str, span: &ReceivedSpan, unusable: bool) -> Option<String> {
    let (code, name) = (status_code(span), span.name());
    let error_type = text(span, "error.type");
    let status = span.status().code;
    let (who, rule) = match (span.kind(), code) {
        // Without it, nobody can tell whether the server failed.
        (SpanKind::Server, None) => {
            return Some(format!(
                "{service}'s SERVER span `{name}` has no integer http.response.status_code, so its status cannot be judged"
            ));
        }
        (SpanKind::Server, Some(code)) => (
            format!("{service}'s SERVER span `{name}` answered {code}"),
            server_rule(code, status, error_type.as_deref()),
        ),
        (SpanKind::Client, _) => {
            let url = text(span, "url.full").map_or_else(String::new, |u| format!(" to {u}"));
            let what = match code {
                None => "got no answer".to_owned(),
                Some(code) if unusable => format!("got an unusable answer ({code})"),
                Some(code) => format!("answered {code}"),
            };
            (
                format!("{service}'s CLIENT span `{name}`{url} {what}"),
                client_rule(code, unusable, status, error_type.as_deref()),
            )
        }
        _ => return None,
    };
    rule.map(|rule| format!("{who} {rule}"))
}

/// The SERVER rules: ERROR exactly for a 5xx, with the status code as `error.type`. The
/// text says what the span has and the rule.
fn server_rule(code: i64, status: StatusCode, error_type: Option<&str>) -> Option<String> {
    let is_error = status == StatusCode::Error;
    let failed = code >= 500;
    let expected_type = code.to_string();
    match (failed, is_error, error_type) {
        (true, false, _) => Some(format!(
            "but has status {status}: a server's 5xx is its own failure, set status ERROR"
        )),
        (false, true, _) if (400..500).contains(&code) => Some(
            "but has status ERROR: a server's 4xx is the caller's mistake, leave the status unset"
                .to_owned(),
        ),
        (false, true, _) => Some(
            "but has status ERROR: a server fails only with a 5xx, leave the status unset"
                .to_owned(),
        ),
        (true, true, None) => Some(format!(
            "and has status ERROR but no error.type: a failed span says why, here error.type = \"{expected_type}\""
        )),
        (true, true, Some(found)) if found != expected_type => Some(format!(
            "but has error.type = \"{found}\": a server's error.type is its status code, \"{expected_type}\""
        )),
        (false, false, Some(found)) => Some(format!(
            "but has error.type = \"{found}\": error.type goes only with status ERROR, on a server's 5xx"
        )),
        _ => None,
    }
}

/// The CLIENT rules: ERROR exactly when the call failed, with `error.type` saying why.
fn client_rule(
    code: Option<i64>,
    unusable: bool,
    status: StatusCode,
    error_type: Option<&str>,
) -> Option<String> {
    let is_error = status == StatusCode::Error;
    // The class the failure must have, when the evidence tells it.
    let expected_type = match code {
        Some(code) if code >= 400 => Some(code.to_string()),
        Some(_) if unusable => Some(INVALID_RESPONSE.to_owned()),
        _ => None,
    };
    let failed = code.is_none_or(|c| c >= 400) || unusable;
    match (failed, is_error, error_type) {
        (true, false, _) => Some(format!(
            "but has status {status}: for a client every failed call is an error (an error status, no answer, an unusable answer), set status ERROR"
        )),
        (false, false, Some(found)) => Some(format!(
            "but has error.type = \"{found}\" and status {status}: error.type goes only with status ERROR, on a failed call"
        )),
        (false, true, None) => Some(
            "but has status ERROR: the call succeeded, leave the status unset".to_owned(),
        ),
        (true, true, None) => Some(match &expected_type {
            Some(expected) => format!(
                "and has status ERROR but no error.type: a failed call says why, here error.type = \"{expected}\""
            ),
            None => "and has status ERROR but no error.type: a failed call says why (timeout, unreachable, invalid_response)".to_owned(),
        }),
        (true, true, Some(found)) => match expected_type {
            Some(expected) if found != expected => Some(format!(
                "but has error.type = \"{found}\": for this failure error.type is \"{expected}\""
            )),
            _ => None,
        },
        // A failure the service itself found in a 200 answer (it could not decode it):
        // consistent, and the scenario expects none but the ISS API's, which is known.
        (false, true, Some(_)) | (false, false, None) => None,
    }
}

/// Every SERVER and CLIENT span of the run follows the rules, and there is one per request
/// each service answers and per call it makes, so that none goes unjudged.
pub fn check(evidence: &Evidence) -> Result<(), String> {
    let scenario = &evidence.scenario;
    // Only iss-distance's calls can get an answer that looks fine but is not: its CLIENT
    // spans, in order, go with the ISS API's answers (when there are as many of each).
    let garbage: Vec<bool> = scenario
        .iss_answers()
        .into_iter()
        .map(|answer| answer == IssAnswer::Garbage)
        .collect();
    let (mut broken, mut missing) = (Vec::new(), Vec::new());
    for service in SERVICES {
        let servers = evidence.spans_in_order(service, SpanKind::Server);
        let clients = evidence.spans_in_order(service, SpanKind::Client);
        let requests = scenario.requests_to(service);
        let calls: usize = scenario.calls_from(service).values().sum();
        if servers.len() != requests {
            missing.push(format!(
                "{service} sent {} SERVER spans but answers {requests} requests",
                servers.len()
            ));
        }
        if clients.len() != calls {
            missing.push(format!(
                "{service} sent {} CLIENT spans but makes {calls} calls",
                clients.len()
            ));
        }
        let paired = service == "iss-distance" && clients.len() == garbage.len();
        let clients = clients
            .iter()
            .zip(0..)
            .map(|(c, n)| (c, paired && garbage[n]));
        let spans = servers.iter().map(|span| (span, false)).chain(clients);
        broken.extend(spans.filter_map(|(span, unusable)| judge(service, span, unusable)));
    }
    // The same sentence once, with how many spans it is about.
    let mut problems: Vec<String> = tally(broken)
        .into_iter()
        .map(|(sentence, n)| match n {
            1 => sentence,
            n => format!("{sentence} ({n} spans)"),
        })
        .collect();
    problems.extend(missing);
    ok_unless(&problems, 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The rules alone, on (status code, status, error.type) triples.
    fn status(error: bool) -> StatusCode {
        if error {
            StatusCode::Error
        } else {
            StatusCode::Unset
        }
    }

    fn server(code: i64, error: bool, error_type: Option<&str>) -> Option<String> {
        server_rule(code, status(error), error_type)
    }

    fn client(code: Option<i64>, unusable: bool, error: bool, ty: Option<&str>) -> Option<String> {
        client_rule(code, unusable, status(error), ty)
    }

    #[test]
    fn server_rules() {
        assert_eq!(server(200, false, None), None);
        assert_eq!(server(404, false, None), None);
        assert_eq!(server(502, true, Some("502")), None);
        assert!(
            server(404, true, None)
                .unwrap()
                .contains("4xx is the caller's mistake")
        );
        assert!(
            server(502, false, Some("502"))
                .unwrap()
                .contains("set status ERROR")
        );
        assert!(server(500, true, None).unwrap().contains("no error.type"));
        assert!(server(500, true, Some("boom")).unwrap().contains("\"500\""));
        assert!(
            server(404, false, Some("404"))
                .unwrap()
                .contains("error.type goes only with status ERROR")
        );
    }

    #[test]
    fn client_rules() {
        assert_eq!(client(Some(200), false, false, None), None);
        assert_eq!(client(Some(404), false, true, Some("404")), None);
        assert_eq!(
            client(Some(200), true, true, Some("invalid_response")),
            None
        );
        assert_eq!(client(None, false, true, Some("timeout")), None);
        assert!(
            client(Some(404), false, false, None)
                .unwrap()
                .contains("set status ERROR")
        );
        assert!(
            client(Some(200), true, false, None)
                .unwrap()
                .contains("set status ERROR")
        );
        assert!(
            client(Some(200), false, false, Some("invalid_response"))
                .unwrap()
                .contains("error.type goes only with status ERROR")
        );
        assert_eq!(
            client(Some(200), false, true, Some("invalid_response")),
            None
        );
        assert!(
            client(None, false, false, None)
                .unwrap()
                .contains("set status ERROR")
        );
        assert!(
            client(Some(200), false, true, None)
                .unwrap()
                .contains("leave the status unset")
        );
        assert!(
            client(Some(500), false, true, None)
                .unwrap()
                .contains("here error.type = \"500\"")
        );
        assert!(
            client(Some(200), true, true, Some("500"))
                .unwrap()
                .contains("error.type is \"invalid_response\"")
        );
    }
}
