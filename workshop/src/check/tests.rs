//! The section checks on fixture data: a perfect run passes everything, and breaking one
//! promise turns the right line into a ✗ with the right hint.

use std::sync::Arc;

use otlp_receiver::proto::common::v1::{AnyValue, KeyValue, any_value};
use otlp_receiver::proto::metrics::v1::{AggregationTemporality, HistogramDataPoint, metric};
use otlp_receiver::proto::trace::v1::{Status, status};
use otlp_receiver::{AttrValue, Protocol, ReceivedSpan, SpanKind};

use super::evidence::Evidence;
use super::fixtures::{World, calls, failures, kv, uninstrumented};

fn perfect() -> Evidence {
    World::perfect()
}

/// The one failing line of section `section` and below, asserting there is exactly one.
fn only_failure(evidence: &Evidence, section: u8) -> String {
    let failed = failures(evidence, section);
    assert_eq!(failed.len(), 1, "expected one ✗, got {failed:#?}");
    failed.into_values().next().unwrap()
}

fn assert_line(line: &str, parts: &[&str]) {
    assert!(line.starts_with("✗ "), "{line}");
    for part in parts {
        assert!(line.contains(part), "{part:?} not in {line:?}");
    }
}

fn rename_console(evidence: &mut Evidence, service: &str, from: &str, to: &str) {
    for line in evidence.console.get_mut(service).unwrap() {
        *line = line.replace(from, to);
    }
}

#[test]
fn a_perfect_run_passes_every_section() {
    let evidence = perfect();
    assert_eq!(failures(&evidence, 5), Default::default());
    for (_, checks) in super::evaluate(&evidence, 5) {
        for check in checks {
            assert!(check.to_string().starts_with("✓ "), "{}", check.to_string());
        }
    }
}

#[test]
fn the_uninstrumented_services_fail_every_section() {
    let evidence = uninstrumented();
    let sections = super::evaluate(&evidence, 5);
    assert_eq!(sections.len(), 6);
    for (title, checks) in &sections {
        assert!(!checks.is_empty(), "{title}");
        assert!(
            checks.iter().any(|c| !c.passed()),
            "{title} passes with nothing instrumented"
        );
    }
    // Section 0: every check fails, naming the line that was not printed.
    let (_, section0) = &sections[0];
    assert!(section0.iter().all(|c| !c.passed()));
    assert_line(
        &section0[0].to_string(),
        &[
            "every service prints `OpenTelemetry resource: {…}` at start-up",
            "no such line from frontend, gateway, geolocator and iss-distance",
            "Look at services/telemetry/src/resource.rs",
        ],
    );
    assert_line(
        &section0[1].to_string(),
        &["no resource printed by frontend, gateway, geolocator and iss-distance"],
    );
    // Section 1 says nothing arrived rather than passing vacuously.
    let (_, section1) = &sections[1];
    assert_line(
        &section1[0].to_string(),
        &["nothing arrived at the OTLP receiver"],
    );
}

/// Every line the uninstrumented services get, word for word: the chapters quote them,
/// so a change of wording shows here first (`cargo insta review` accepts it).
#[test]
fn the_uninstrumented_services_checklist_reads_as_reviewed() {
    let rendered: String = super::evaluate(&uninstrumented(), 6)
        .into_iter()
        .map(|(title, checks)| {
            let lines: Vec<String> = checks.iter().map(|c| format!("  {c}\n")).collect();
            format!("{title}\n{}", lines.concat())
        })
        .collect();
    insta::assert_snapshot!(rendered);
}

#[test]
fn section0_wrong_service_name() {
    let mut evidence = perfect();
    rename_console(
        &mut evidence,
        "gateway",
        r#""service.name":"gateway""#,
        r#""service.name":"unknown_service:gateway""#,
    );
    let line = only_failure(&evidence, 0);
    assert_line(
        &line,
        &[
            "service.name is each service's own name",
            r#"gateway: service.name is "unknown_service:gateway", not "gateway""#,
            "Look at services/telemetry/src/resource.rs",
        ],
    );
}

#[test]
fn section0_deprecated_deployment_environment() {
    let mut evidence = perfect();
    rename_console(
        &mut evidence,
        "iss-distance",
        "deployment.environment.name",
        "deployment.environment",
    );
    assert_line(
        &only_failure(&evidence, 0),
        &[
            "deployment.environment.name = dev",
            "iss-distance: has the deprecated deployment.environment",
        ],
    );
}

#[test]
fn section0_resource_attributes_from_the_environment_are_required() {
    let mut evidence = perfect();
    rename_console(&mut evidence, "frontend", super::fixtures::RUN_ID, "other");
    assert_line(
        &only_failure(&evidence, 0),
        &[
            "OTEL_RESOURCE_ATTRIBUTES is honoured",
            "frontend: workshop.check.run is \"other\"",
        ],
    );
    let mut garbled = perfect();
    rename_console(&mut garbled, "geolocator", "resource: {", "resource: [");
    let failed = failures(&garbled, 0);
    assert!(
        failed
            .values()
            .any(|l| l.contains("geolocator's line does not continue with a JSON object"))
    );
}

#[test]
fn section1_exported_items_need_the_resource_too() {
    let mut evidence = perfect();
    let span = evidence
        .spans
        .iter_mut()
        .find(|s| s.service_name() == Some("geolocator"))
        .unwrap();
    Arc::make_mut(&mut span.origin)
        .resource
        .insert("deployment.environment".into(), AttrValue::from("dev"));
    assert_line(
        &only_failure(&evidence, 1),
        &[
            "everything exported carries the resource",
            "geolocator's spans: has the deprecated deployment.environment",
        ],
    );
}

#[test]
fn section1_the_protocol_must_be_the_one_asked_for() {
    let mut evidence = perfect();
    evidence.protocol = Protocol::Grpc;
    assert_line(
        &only_failure(&evidence, 1),
        &["telemetry arrives over OTLP grpc", "iss-distance over http"],
    );
}

#[test]
fn section1_missing_counter() {
    let mut evidence = perfect();
    evidence.metrics.retain(|m| m.name() != "iss.requests");
    let failed = failures(&evidence, 1);
    assert_eq!(failed.len(), 5, "{failed:#?}");
    assert_eq!(
        failed[r#"iss.requests{http.response.status_code=500, error.type="500"} = 1"#],
        r#"✗ iss.requests{http.response.status_code=500, error.type="500"} = 1 — got nothing. Look at services/iss-distance/src/metrics.rs"#
    );
    assert!(
        failed.contains_key("iss-distance exports the counter iss.requests (meter `iss-distance`)")
    );
}

#[test]
fn section1_wrong_count_uses_the_latest_export() {
    let mut world = World::new();
    let calls: Vec<_> = super::fixtures::scenario()
        .iss_calls()
        .into_iter()
        .collect();
    world.counters(7, &calls);
    world.counters(6, &calls);
    let evidence = world.finish();
    let line = &failures(&evidence, 1)["iss-distance exports incoming.requests = 7"];
    assert_line(
        line,
        &["got 6", "Look at services/iss-distance/src/metrics.rs"],
    );
}

#[test]
fn section1_delta_temporality_and_string_status_codes() {
    let mut evidence = perfect();
    for m in &mut evidence.metrics {
        if let Some(metric::Data::Sum(sum)) = &mut m.metric.data {
            sum.aggregation_temporality = AggregationTemporality::Delta as i32;
            if m.metric.name == "iss.requests" {
                for point in &mut sum.data_points {
                    let status = point.attributes[0].value.clone().unwrap();
                    let text = AttrValue::from(&status).to_string();
                    point.attributes = vec![kv("http.response.status_code", text)];
                }
            }
        }
    }
    let failed = failures(&evidence, 1);
    assert_line(
        &failed["incoming.requests is a monotonic counter with cumulative temporality"],
        &[
            "its temporality is Delta; Prometheus needs Cumulative",
            "services/telemetry/src/metrics.rs",
        ],
    );
    assert_line(
        &failed["iss.requests{http.response.status_code=200} = 4"],
        &["is the string \"200\"; record it as an integer"],
    );
}

#[test]
fn section2_every_service_logs() {
    let mut evidence = perfect();
    evidence
        .logs
        .retain(|l| l.service_name() != Some("geolocator"));
    assert_line(
        &only_failure(&evidence, 2),
        &["every service sends log records", "none from geolocator"],
    );
}

#[test]
fn section2_severity_and_counts() {
    let mut evidence = perfect();
    for log in &mut evidence.logs {
        if log.body_text().starts_with("rejected request") {
            log.record.severity_number = 9;
        }
    }
    assert_line(
        &only_failure(&evidence, 2),
        &[
            "WARN about the rejected `latitude`",
            "got 0 at WARN, and 1 at INFO (severity_number 9)",
        ],
    );
    let mut fewer = perfect();
    let first = fewer
        .logs
        .iter()
        .position(|l| l.body_text() == "calculating the ISS distance")
        .unwrap();
    fewer.logs.remove(first);
    assert_line(
        &only_failure(&fewer, 2),
        &["once per request (7)", "got 6 at INFO, expected 7"],
    );
}

#[test]
fn section2_no_client_ip_address() {
    let mut world = World::new();
    world.log(
        "iss-distance",
        9,
        "received request from IP address: 127.0.0.1",
        None,
    );
    let evidence = world.finish();
    assert_line(
        &failures(&evidence, 2)["no log record contains the client's IP address 127.0.0.1 (personal data)"],
        &["iss-distance body: received request from IP address: 127.0.0.1"],
    );
    // Its own address, in `listening on`, is fine.
    assert!(
        !failures(&perfect(), 2).contains_key(
            "no log record contains the client's IP address 127.0.0.1 (personal data)"
        )
    );
}

#[test]
fn section3_missing_error_status() {
    let mut evidence = perfect();
    for span in &mut evidence.spans {
        if span.name() == "getting-iss-coordinates" {
            span.span.status = None;
        }
    }
    assert_line(
        &only_failure(&evidence, 3),
        &[
            "the ISS API's failed answers (500 and 200 with an unusable position) set status ERROR on `getting-iss-coordinates`",
            "`getting-iss-coordinates` of the answer 500 has status Unset",
            "`getting-iss-coordinates` of the answer 200 with an unusable position has status Unset",
            "Look at services/iss-distance/src/position.rs",
        ],
    );
    let mut rejected = perfect();
    let parents: Vec<Vec<u8>> = rejected
        .spans
        .iter()
        .filter(|s| s.name() == "getting-iss-coordinates")
        .map(|s| s.span.parent_span_id.clone())
        .collect();
    for span in &mut rejected.spans {
        if span.name() == "calculating-iss-distance" && !parents.contains(&span.span.span_id) {
            span.span.status = None;
        }
    }
    assert_line(
        &only_failure(&rejected, 3),
        &[
            "the rejected request sets status ERROR on `calculating-iss-distance`",
            "got status Unset",
            "services/iss-distance/src/lib.rs",
        ],
    );
}

#[test]
fn section3_attributes_on_the_span_or_its_client_child() {
    // The HTTP attributes are on the CLIENT child (service-kit's); on
    // getting-iss-coordinates itself they are found too, but the CLIENT spans are missed.
    let mut evidence = perfect();
    let clients: Vec<_> = evidence
        .spans
        .iter()
        .filter(|s| s.service_name() == Some("iss-distance") && s.kind() == SpanKind::Client)
        .map(|s| (s.span.parent_span_id.clone(), s.span.attributes.clone()))
        .collect();
    evidence
        .spans
        .retain(|s| !(s.service_name() == Some("iss-distance") && s.kind() == SpanKind::Client));
    for span in &mut evidence.spans {
        if let Some((_, attributes)) = clients.iter().find(|(p, _)| *p == span.span.span_id) {
            span.span.attributes.extend(attributes.clone());
        }
    }
    assert_line(
        &only_failure(&evidence, 3),
        &[
            "every SERVER and CLIENT span's status follows the semantic conventions",
            "iss-distance sent 0 CLIENT spans but makes 6 calls",
        ],
    );
    // Without them anywhere:
    for span in &mut evidence.spans {
        span.span.attributes.retain(|kv| kv.key != "url.full");
    }
    assert_line(
        &failures(&evidence, 3)
            .into_iter()
            .find(|(what, _)| what.starts_with("the ISS API call has"))
            .unwrap()
            .1,
        &["no url.full"],
    );
}

#[test]
fn section3_lat_lon_must_be_doubles() {
    let mut evidence = perfect();
    for span in &mut evidence.spans {
        for kv in &mut span.span.attributes {
            if kv.key == "iss.latitude" {
                *kv = super::fixtures::kv("iss.latitude", "48.8566");
            }
        }
    }
    assert_line(
        &only_failure(&evidence, 3),
        &["iss.latitude is String(\"48.8566\"), not a double"],
    );
}

#[test]
fn section3_logs_need_the_trace_context() {
    let mut evidence = perfect();
    for log in &mut evidence.logs {
        log.record.trace_id.clear();
        log.record.span_id.clear();
    }
    assert_line(
        &only_failure(&evidence, 3),
        &[
            "carry the trace_id and span_id",
            "10 of 10 have no trace_id/span_id",
        ],
    );
}

#[test]
fn section4_broken_parent_link() {
    let mut evidence = perfect();
    // The first request's geolocator SERVER span does not continue the gateway's trace.
    let span = evidence
        .spans
        .iter_mut()
        .find(|s| s.service_name() == Some("geolocator"))
        .unwrap();
    span.span.parent_span_id = vec![0xee; 8];
    let failed = failures(&evidence, 4);
    assert_eq!(failed.len(), 1, "{failed:#?}");
    assert_line(
        &failed["each SERVER span's parent is the caller's CLIENT span"],
        &[
            "geolocator's SERVER span has parent eeeeeeeeeeeeeeee, not gateway's CLIENT span",
            "services/service-kit/src/spans.rs",
        ],
    );
}

#[test]
fn section4_a_new_trace_per_service() {
    let mut evidence = perfect();
    // The gateway does not extract: each of its SERVER spans starts a new trace, which
    // everything downstream of it continues.
    let pages: Vec<Vec<u8>> = evidence
        .spans
        .iter()
        .filter(|s| s.service_name() == Some("frontend"))
        .map(|s| s.span.trace_id.clone())
        .collect();
    for span in &mut evidence.spans {
        if span.service_name() != Some("frontend") && pages.contains(&span.span.trace_id) {
            span.span.trace_id[0] ^= 0xff;
            if span.service_name() == Some("gateway") && span.kind() == SpanKind::Server {
                span.span.parent_span_id.clear();
            }
        }
    }
    let failed = failures(&evidence, 4);
    assert_line(
        &failed["each successful request through the frontend (4) is one trace with spans from all four services"],
        &["has no spans from gateway, geolocator and iss-distance"],
    );
    assert!(failed.contains_key("each SERVER span's parent is the caller's CLIENT span"));
    assert!(
        failed.contains_key("every span of that request has its trace id, in all four services")
    );
}

#[test]
fn section4_wrong_trace_id() {
    let mut evidence = perfect();
    // The frontend ignores the incoming traceparent: the Paris request gets its own trace.
    let given = super::fixtures::scenario().context;
    let given_trace: Vec<u8> = (0..16)
        .map(|i| u8::from_str_radix(&given.trace_id[2 * i..2 * i + 2], 16).unwrap())
        .collect();
    for span in &mut evidence.spans {
        if span.span.trace_id == given_trace {
            span.span.trace_id = vec![0x77; 16];
            if span.service_name() == Some("frontend") && span.kind() == SpanKind::Server {
                span.span.parent_span_id.clear();
            }
        }
    }
    for log in &mut evidence.logs {
        if log.record.trace_id == given_trace {
            log.record.trace_id = vec![0x77; 16];
        }
    }
    for call in &mut evidence.stub_calls {
        if let Some(tp) = &mut call.traceparent {
            *tp = tp.replace(&given.trace_id, &"77".repeat(16));
        }
    }
    let failed = failures(&evidence, 4);
    assert_line(
        &failed["the frontend continues an incoming traceparent (trace 4bf92f35…, parent 00f067aa0ba902b7)"],
        &["no frontend SERVER span has trace id 4bf92f3577b34da6a3ce929d0e0e4736"],
    );
    assert_line(
        &failed["the ISS API receives that trace id in traceparent"],
        &[
            "no request had trace id 4bf92f35…",
            "services/telemetry/src/propagation.rs",
        ],
    );
    assert!(
        failed.contains_key("every span of that request has its trace id, in all four services")
    );
    assert!(failed.contains_key("its tracestate `workshop=check` travels to iss-distance's spans"));
    assert_eq!(failed.len(), 4, "{failed:#?}");
}

#[test]
fn section4_client_injection() {
    let mut evidence = perfect();
    evidence.stub_calls[0].traceparent = None;
    assert_line(
        &only_failure(&evidence, 4),
        &[
            "every ISS API request's traceparent names iss-distance's CLIENT span",
            "request 1 had no valid traceparent",
        ],
    );
}

#[test]
fn section4_tracestate_must_travel_inside() {
    let mut evidence = perfect();
    for span in &mut evidence.spans {
        if span.service_name() == Some("iss-distance") {
            span.span.trace_state.clear();
        }
    }
    assert_line(
        &only_failure(&evidence, 4),
        &[
            "its tracestate `workshop=check` travels to iss-distance's spans",
            "`GET /distance` has tracestate \"\"",
            "services/telemetry/src/propagation.rs",
        ],
    );
}

#[test]
fn section4_a_leak_to_the_third_party_is_named() {
    let leaks = [
        (
            Some("workshop.check=from-outside"),
            None,
            "baggage \"workshop.check=from-outside\"",
        ),
        (
            Some("session.kind=demo"),
            None,
            "baggage \"session.kind=demo\"",
        ),
        (
            None,
            Some("workshop=check"),
            "tracestate \"workshop=check\"",
        ),
        (None, Some(""), "an empty tracestate header"),
    ];
    for (baggage, tracestate, named) in leaks {
        let mut evidence = perfect();
        evidence.stub_calls[1].baggage = baggage.map(str::to_owned);
        evidence.stub_calls[1].tracestate = tracestate.map(str::to_owned);
        assert_line(
            &only_failure(&evidence, 4),
            &[
                "nothing else of the context leaves for the ISS API",
                "the ISS API received ",
                named,
                "self.boundary.release",
            ],
        );
    }
}

#[test]
fn section4_server_span_names_and_statuses() {
    let mut evidence = perfect();
    for span in &mut evidence.spans {
        if span.service_name() == Some("iss-distance") && span.kind() == SpanKind::Server {
            span.span.name = "GET".into();
        }
    }
    let failed = failures(&evidence, 4);
    assert_line(
        &failed["iss-distance: a SERVER span `GET /distance` per request (7) with http.request.method, http.route, http.response.status_code"],
        &["got none; its SERVER spans are `GET`"],
    );
}

#[test]
fn each_section_passes_its_check_and_fails_the_next() {
    for section in 0..=5 {
        let evidence = World::done(section);
        assert_eq!(
            failures(&evidence, section),
            Default::default(),
            "sections 0 to {section} done"
        );
        if section == 5 {
            break;
        }
        let next = super::evaluate(&evidence, section + 1);
        let (title, checks) = next.last().unwrap();
        assert!(
            checks.iter().any(|c| !c.passed()),
            "{title} passes after section {section}"
        );
        let failed_before: usize = next[..next.len() - 1]
            .iter()
            .map(|(_, checks)| checks.iter().filter(|c| !c.passed()).count())
            .sum();
        assert_eq!(failed_before, 0, "sections 0 to {section} done");
    }
    // Section 4 adds propagation only: the SERVER and CLIENT spans are there before it.
    let failed = failures(&World::done(3), 4);
    for what in failed.keys() {
        assert!(
            !what.contains("a SERVER span `GET") && !what.contains("a CLIENT span `GET`"),
            "{what}"
        );
    }
}

/// The rule check's line in `check 3` and `check 4`, asserting it is the only failure.
fn span_status_line(evidence: &Evidence) -> String {
    let line = only_failure(evidence, 4);
    assert_eq!(only_failure(evidence, 3), line);
    assert_line(
        &line,
        &[
            "every SERVER and CLIENT span's status follows the semantic conventions",
            "Look at services/service-kit/src/spans.rs",
        ],
    );
    line
}

fn code(span: &ReceivedSpan) -> Option<i64> {
    span.attribute("http.response.status_code")
        .and_then(|v| v.as_i64())
}

fn set_error(span: &mut ReceivedSpan, error: bool) {
    span.span.status = error.then(|| Status {
        code: status::StatusCode::Error as i32,
        message: "failed".into(),
    });
}

fn remove_error_type(span: &mut ReceivedSpan) {
    span.span.attributes.retain(|kv| kv.key != "error.type");
}

#[test]
fn section3_a_server_4xx_marked_error() {
    // As `if status.is_client_error() || status.is_server_error()` in the middleware would.
    let mut evidence = perfect();
    for span in &mut evidence.spans {
        if let Some(code @ 400..500) = code(span).filter(|_| span.kind() == SpanKind::Server) {
            set_error(span, true);
            span.span
                .attributes
                .push(kv("error.type", code.to_string()));
        }
    }
    assert_line(
        &span_status_line(&evidence),
        &[
            "frontend's SERVER span `GET /` answered 404 but has status ERROR: a server's 4xx is the caller's mistake, leave the status unset",
            "gateway's SERVER span `GET /distance` answered 404 but has status ERROR: a server's 4xx is the caller's mistake, leave the status unset",
            "(and 2 more)",
        ],
    );
}

#[test]
fn section3_a_server_5xx_left_unset() {
    let mut evidence = perfect();
    for span in &mut evidence.spans {
        if span.kind() == SpanKind::Server && code(span).is_some_and(|c| c >= 500) {
            set_error(span, false);
        }
    }
    assert_line(
        &span_status_line(&evidence),
        &[
            "gateway's SERVER span `GET /distance` answered 502 but has status Unset: a server's 5xx is its own failure, set status ERROR (2 spans)",
            "iss-distance's SERVER span `GET /distance` answered 502 but has status Unset",
        ],
    );
}

#[test]
fn section3_a_failed_client_call_left_unset() {
    let mut evidence = perfect();
    for span in &mut evidence.spans {
        if span.kind() == SpanKind::Client {
            set_error(span, false);
        }
    }
    assert_line(
        &span_status_line(&evidence),
        &[
            "frontend's CLIENT span `GET` to http://127.0.0.1:5001/distance answered 404 but has status Unset: for a client every failed call is an error (an error status, no answer, an unusable answer), set status ERROR",
            "gateway's CLIENT span `GET` to http://127.0.0.1:5003/distance answered 502 but has status Unset: for a client every failed call is an error (an error status, no answer, an unusable answer), set status ERROR (2 spans)",
            "(and 3 more)",
        ],
    );

    // Only the scenario knows that the ISS API's 200 was unusable: a CLIENT span that
    // records neither status nor error.type for it looks fine on its own.
    let mut evidence = perfect();
    for span in &mut evidence.spans {
        let unusable = span
            .attribute("error.type")
            .is_some_and(|t| t.to_string() == "invalid_response");
        if span.kind() == SpanKind::Client && unusable {
            set_error(span, false);
            remove_error_type(span);
        }
    }
    assert_line(
        &span_status_line(&evidence),
        &[
            "iss-distance's CLIENT span `GET` to http://127.0.0.1:4000/iss-now.json got an unusable answer (200) but has status Unset: for a client every failed call is an error",
        ],
    );
}

#[test]
fn section3_error_type_exactly_on_failed_calls() {
    let mut evidence = perfect();
    for span in &mut evidence.spans {
        if span.kind() == SpanKind::Client {
            remove_error_type(span);
        }
    }
    assert_line(
        &span_status_line(&evidence),
        &[
            r#"frontend's CLIENT span `GET` to http://127.0.0.1:5001/distance answered 404 and has status ERROR but no error.type: a failed call says why, here error.type = "404""#,
            r#"gateway's CLIENT span `GET` to http://127.0.0.1:5003/distance answered 502 and has status ERROR but no error.type: a failed call says why, here error.type = "502" (2 spans)"#,
        ],
    );

    let mut evidence = perfect();
    let first_call = evidence
        .spans
        .iter_mut()
        .find(|s| s.service_name() == Some("gateway") && s.kind() == SpanKind::Client)
        .unwrap();
    first_call.span.attributes.push(kv("error.type", "none"));
    assert_line(
        &span_status_line(&evidence),
        &[
            r#"gateway's CLIENT span `GET` to http://127.0.0.1:5002/coordinates answered 200 but has error.type = "none" and status Unset: error.type goes only with status ERROR, on a failed call"#,
        ],
    );
}

#[test]
fn section3_every_http_span_is_judged() {
    // A SERVER span that never arrived cannot be judged: the check says so rather than
    // passing on the others.
    let mut evidence = perfect();
    let lost = evidence
        .spans
        .iter()
        .position(|s| s.service_name() == Some("geolocator") && code(s) == Some(404))
        .unwrap();
    evidence.spans.remove(lost);
    let failed = failures(&evidence, 3);
    assert_line(
        &failed["every SERVER and CLIENT span's status follows the semantic conventions (ERROR for a server's 5xx but not its 4xx, and for every failed call of a client; error.type exactly when ERROR)"],
        &["geolocator sent 6 SERVER spans but answers 7 requests"],
    );
}

#[test]
fn section1_the_unusable_answer_counted_without_error_type() {
    // The garbage answer counted as a success.
    let mut world = World::new();
    world.counters(7, &calls(&[(200, None, 5), (500, Some("500"), 1)]));
    let failed = failures(&world.finish(), 1);
    assert_eq!(failed.len(), 2, "{failed:#?}");
    assert_line(
        &failed["iss.requests{http.response.status_code=200} = 4"],
        &["got 5"],
    );
    assert_line(
        &failed[r#"iss.requests{http.response.status_code=200, error.type="invalid_response"} = 1"#],
        &[
            r#"no point with http.response.status_code=200 has error.type: the failed calls are counted with the successful ones (http.response.status_code=200 has 5); add error.type="invalid_response" when a call fails"#,
            "Look at services/iss-distance/src/metrics.rs",
        ],
    );
    // The 500 counted by its status alone.
    let mut world = World::new();
    world.counters(
        7,
        &calls(&[
            (200, None, 4),
            (200, Some("invalid_response"), 1),
            (500, None, 1),
        ]),
    );
    assert_line(
        &only_failure(&world.finish(), 1),
        &[
            r#"iss.requests{http.response.status_code=500, error.type="500"} = 1"#,
            r#"the point with http.response.status_code=500 has no error.type; add error.type="500" when a call fails"#,
        ],
    );
    // error.type on a success.
    let mut world = World::new();
    world.counters(
        7,
        &calls(&[
            (200, Some("ok"), 4),
            (200, Some("invalid_response"), 1),
            (500, Some("500"), 1),
        ]),
    );
    assert_line(
        &only_failure(&world.finish(), 1),
        &[
            "iss.requests{http.response.status_code=200} = 4",
            r#"every point with http.response.status_code=200 has an error.type ("ok"); a successful call has none"#,
        ],
    );
}

// ---------------------------------------------------------------------------------------
// Section 5: the HTTP metrics.

/// Applies `change` to every histogram point of `name` sent by `service` (any service if
/// `None`).
fn change_points(
    evidence: &mut Evidence,
    service: Option<&str>,
    name: &str,
    mut change: impl FnMut(&mut HistogramDataPoint),
) {
    let mut changed = 0;
    for m in &mut evidence.metrics {
        if m.name() != name || service.is_some_and(|s| m.service_name() != Some(s)) {
            continue;
        }
        if let Some(metric::Data::Histogram(h)) = &mut m.metric.data {
            for point in &mut h.data_points {
                change(point);
                changed += 1;
            }
        }
    }
    assert!(changed > 0, "no point of {name} to change");
}

fn code_of(point: &HistogramDataPoint) -> Option<i64> {
    point
        .attributes
        .iter()
        .find(|kv| kv.key == "http.response.status_code")
        .map(code_of_kv)
}

const SERVER: &str = "http.server.request.duration";
const CLIENT: &str = "http.client.request.duration";

#[test]
fn section5_buckets_made_for_milliseconds() {
    let mut evidence = perfect();
    let sdk_default = vec![
        0.0, 5.0, 10.0, 25.0, 50.0, 75.0, 100.0, 250.0, 500.0, 750.0, 1000.0, 2500.0, 5000.0,
        7500.0, 10000.0,
    ];
    change_points(&mut evidence, Some("geolocator"), SERVER, |p| {
        p.explicit_bounds = sdk_default.clone();
        p.bucket_counts = vec![0; 16];
        p.bucket_counts[1] = p.count;
    });
    assert_line(
        &only_failure(&evidence, 5),
        &[
            "are histograms in seconds (unit `s`, cumulative) from the meter `service-kit`, with the conventions' buckets 0.005 … 10",
            "geolocator's http.server.request.duration: its buckets are the SDK's default ones (0, 5, 10 … 10000), made for milliseconds",
            "with_boundaries",
            "Look at services/service-kit/src/http_metrics.rs",
        ],
    );
}

#[test]
fn section5_unit_kind_and_meter() {
    let mut evidence = perfect();
    for m in &mut evidence.metrics {
        if m.name() == CLIENT && m.service_name() == Some("frontend") {
            m.metric.unit = "ms".into();
        }
    }
    assert_line(
        &only_failure(&evidence, 5),
        &[
            r#"frontend's http.client.request.duration: its unit is "ms"; the conventions' is "s" (seconds)"#,
        ],
    );

    let mut evidence = perfect();
    for m in &mut evidence.metrics {
        if m.name() == SERVER && m.service_name() == Some("gateway") {
            Arc::make_mut(&mut m.origin).scope.name = "gateway".into();
        }
    }
    assert_line(
        &only_failure(&evidence, 5),
        &[
            r#"gateway's http.server.request.duration: it comes from the meter "gateway", not "service-kit""#,
        ],
    );
}

#[test]
fn section5_recorded_in_milliseconds() {
    let mut evidence = perfect();
    change_points(&mut evidence, Some("iss-distance"), SERVER, |p| {
        p.sum = p.sum.map(|s| s * 1000.0);
    });
    assert_line(
        &only_failure(&evidence, 5),
        &[
            "the durations are in seconds",
            "iss-distance's http.server.request.duration adds up to 14.0000 s, its Server spans to 0.0140 s: record elapsed.as_secs_f64(), not milliseconds",
        ],
    );
}

#[test]
fn section5_a_server_error_type_exactly_on_a_5xx() {
    let mut evidence = perfect();
    change_points(&mut evidence, Some("gateway"), SERVER, |p| {
        p.attributes.retain(|kv| kv.key != "error.type");
    });
    assert_line(
        &only_failure(&evidence, 5),
        &[
            "gateway: http.server.request.duration counts its 7 requests by status (200 ×4, 404 ×1, 502 ×2), with http.request.method, http.route = /distance, url.scheme = http and error.type on a 5xx",
            r#"the point with http.response.status_code=502 has no error.type; a server's 5xx is its own error: add error.type="502""#,
        ],
    );

    let mut evidence = perfect();
    change_points(&mut evidence, Some("frontend"), SERVER, |p| {
        if let Some(code @ 400..500) = code_of(p) {
            p.attributes.push(kv("error.type", code.to_string()));
        }
    });
    assert_line(
        &only_failure(&evidence, 5),
        &[
            r#"the point with http.response.status_code=404 has error.type="404"; a server's 404 is no error of its own"#,
        ],
    );
}

#[test]
fn section5_the_conventions_attributes() {
    // url.scheme forgotten on the client's points.
    let mut evidence = perfect();
    change_points(&mut evidence, Some("gateway"), CLIENT, |p| {
        p.attributes.retain(|kv| kv.key != "url.scheme");
    });
    assert_line(
        &only_failure(&evidence, 5),
        &[
            "gateway: http.client.request.duration counts its 13 calls to geolocator and iss-distance by server.address, server.port, http.response.status_code and error.type, with http.request.method and url.scheme",
            "url.scheme is None",
        ],
    );
    // The status code as a string.
    let mut evidence = perfect();
    change_points(&mut evidence, Some("geolocator"), SERVER, |p| {
        for kv in &mut p.attributes {
            if kv.key == "http.response.status_code" {
                let code = code_of_kv(kv);
                *kv = super::fixtures::kv("http.response.status_code", code.to_string());
            }
        }
    });
    let failed = failures(&evidence, 5);
    assert_line(
        failed.values().find(|l| l.contains("geolocator:")).unwrap(),
        &[r#"http.response.status_code is the string "200"; record it as an integer"#],
    );
    // What people typed, on a metric.
    let mut evidence = perfect();
    change_points(&mut evidence, Some("frontend"), SERVER, |p| {
        p.attributes.push(kv("url.query", "location=Berlin"));
    });
    assert_line(
        &only_failure(&evidence, 5),
        &["a point has url.query, a value per request: never on a metric"],
    );
}

fn code_of_kv(kv: &KeyValue) -> i64 {
    match &kv.value {
        Some(AnyValue {
            value: Some(any_value::Value::IntValue(i)),
        }) => *i,
        _ => -1,
    }
}

#[test]
fn section5_counts_follow_the_scenario() {
    // One request of iss-distance not recorded.
    let mut evidence = perfect();
    let mut once = true;
    change_points(&mut evidence, Some("iss-distance"), SERVER, |p| {
        if once && code_of(p) == Some(200) {
            p.count -= 1;
            p.bucket_counts[0] -= 1;
            once = false;
        }
    });
    assert_line(
        &only_failure(&evidence, 5),
        &["it counts 200 ×3, 400 ×1, 502 ×2, expected 200 ×4, 400 ×1, 502 ×2"],
    );
    // The calls to the ISS API recorded with the wrong port.
    let mut evidence = perfect();
    change_points(&mut evidence, Some("iss-distance"), CLIENT, |p| {
        for kv in &mut p.attributes {
            if kv.key == "server.port" {
                *kv = super::fixtures::kv("server.port", 80_i64);
            }
        }
    });
    assert_line(
        &only_failure(&evidence, 5),
        &[
            "iss-distance: http.client.request.duration counts its 6 calls to the ISS API",
            "expected 127.0.0.1:4000 200 ×4",
            "got 127.0.0.1:80 200 ×4",
        ],
    );
}

#[test]
fn section5_missing_metrics_say_what_is_there() {
    let mut evidence = perfect();
    evidence
        .metrics
        .retain(|m| !(m.name() == CLIENT && m.service_name() == Some("frontend")));
    assert_line(
        &only_failure(&evidence, 5),
        &[
            "frontend: http.client.request.duration",
            "got nothing; frontend exports http.server.request.duration",
        ],
    );
}

// ---------------------------------------------------------------------------------------
// The promises of issue 21: service.instance.id, the standard resource variables, the
// counters' unit, the tracer's name, and baggage hop by hop. Each broken alone fails alone.

/// Replaces `from` by `to` in the replica's console.
fn rename_replica(evidence: &mut Evidence, from: &str, to: &str) {
    for line in &mut evidence.replica {
        *line = line.replace(from, to);
    }
}

#[test]
fn section0_every_service_needs_an_instance_id_that_is_a_uuid() {
    let mut missing = perfect();
    rename_console(
        &mut missing,
        "gateway",
        r#""service.instance.id""#,
        r#""service.instance""#,
    );
    assert_line(
        &only_failure(&missing, 0),
        &[
            "service.instance.id is a UUID, a different one in each service",
            "gateway: no service.instance.id",
            "Look at services/telemetry/src/resource.rs",
        ],
    );
    // The process id: new at every start, but not a UUID.
    let mut pid = perfect();
    for (n, service) in super::evidence::SERVICES.into_iter().enumerate() {
        let id = super::fixtures::instance_id(service);
        rename_console(&mut pid, service, &id, &format!("4821{n}"));
    }
    let replica = super::fixtures::instance_id(super::scenario::REPLICA_NAME);
    rename_replica(&mut pid, &replica, "48219");
    assert_line(
        &only_failure(&pid, 0),
        &[r#"gateway: service.instance.id "48211" is not a UUID"#],
    );
}

#[test]
fn section0_a_constant_instance_id_is_shared_by_the_four() {
    let mut evidence = perfect();
    let constant = "627cc493-f310-47de-96bd-71410b7dec09";
    for service in super::evidence::SERVICES {
        let id = super::fixtures::instance_id(service);
        rename_console(&mut evidence, service, &id, constant);
    }
    assert_line(
        &only_failure(&evidence, 0),
        &[&format!(
            "frontend, gateway, geolocator and iss-distance have the same service.instance.id {constant}: make it at every start, not once"
        )],
    );
}

#[test]
fn section0_an_instance_id_derived_from_the_name_is_the_same_at_every_start() {
    let mut evidence = perfect();
    let first = super::fixtures::instance_id("geolocator");
    let second = super::fixtures::instance_id(super::scenario::REPLICA_NAME);
    rename_replica(&mut evidence, &second, &first);
    assert_line(
        &only_failure(&evidence, 0),
        &[
            "service.instance.id is new at every start: geolocator started a second time has another",
            &format!("both have service.instance.id {first}: make a new one at every start"),
        ],
    );
}

#[test]
fn section0_otel_service_name_must_name_the_replica() {
    use super::scenario::{REPLICA_NAME, REPLICA_NAME_IN_ATTRIBUTES};
    let quoted = |name: &str| format!(r#""service.name":"{name}""#);
    for (name, says) in [
        (
            "geolocator",
            r#"it kept its own name "geolocator": OTEL_SERVICE_NAME must win over it"#,
        ),
        (
            REPLICA_NAME_IN_ATTRIBUTES,
            r#"it is "geolocator-from-resource-attributes", from OTEL_RESOURCE_ATTRIBUTES: OTEL_SERVICE_NAME must win over it"#,
        ),
    ] {
        let mut evidence = perfect();
        rename_replica(&mut evidence, &quoted(REPLICA_NAME), &quoted(name));
        assert_line(
            &only_failure(&evidence, 0),
            &[
                "OTEL_SERVICE_NAME is honoured: the second geolocator, started with OTEL_SERVICE_NAME=geolocator-replica, is named so",
                says,
            ],
        );
    }
}

#[test]
fn section0_a_replica_that_printed_nothing_fails_both_of_its_lines() {
    let mut evidence = perfect();
    evidence.replica.clear();
    let failed = failures(&evidence, 0);
    assert_eq!(failed.len(), 2, "{failed:#?}");
    for line in failed.values() {
        assert!(
            line.contains("the second geolocator printed no `OpenTelemetry resource: {…}` line"),
            "{line}"
        );
    }
}

#[test]
fn section1_the_counters_unit_is_checked() {
    for (counter, unit, says) in [
        (
            "iss.requests",
            "requests",
            r#"iss.requests has the unit "requests""#,
        ),
        ("incoming.requests", "", "incoming.requests has no unit"),
    ] {
        let mut evidence = perfect();
        for m in &mut evidence.metrics {
            if m.name() == counter {
                m.metric.unit = unit.into();
            }
        }
        assert_line(
            &only_failure(&evidence, 1),
            &[
                "incoming.requests and iss.requests have the unit `{request}`",
                says,
                "Look at services/iss-distance/src/metrics.rs",
            ],
        );
    }
}

#[test]
fn section3_the_tracer_is_named_after_the_instrumentation() {
    let mut evidence = perfect();
    for span in &mut evidence.spans {
        if let Some(service) = span.service_name().map(str::to_owned) {
            Arc::make_mut(&mut span.origin).scope.name = service;
        }
    }
    assert_line(
        &only_failure(&evidence, 3),
        &[
            "spans come from the tracer `tracing-opentelemetry`",
            r#"frontend's from the tracer "frontend", the service's name"#,
            "(and 2 more)",
            "Look at services/telemetry/src/lib.rs",
        ],
    );
}

#[test]
fn section4_a_strangers_baggage_past_the_frontend_fails_alone() {
    let mut evidence = perfect();
    for call in &mut evidence.relayed {
        if call.to == "gateway" && call.tracestate.is_some() {
            call.baggage = Some(super::scenario::BAGGAGE.to_owned());
        }
    }
    assert_line(
        &only_failure(&evidence, 4),
        &[
            "a stranger's baggage (`workshop.check=from-outside`, sent to the frontend) goes no further",
            "it reached gateway: the frontend takes requests from anyone, and drops their baggage",
            "Look at services/service-kit/src/spans.rs (callers.admit)",
        ],
    );
}

#[test]
fn section4_our_baggage_not_carried_on_fails_alone() {
    let mut evidence = perfect();
    for call in &mut evidence.relayed {
        if call.to == "iss-distance" {
            call.baggage = None;
        }
    }
    assert_line(
        &only_failure(&evidence, 4),
        &[
            "our own baggage (`workshop.check.ours=from-inside`, sent to the gateway) travels on to geolocator and iss-distance",
            "iss-distance got it 0 times, not 2: the W3C Baggage propagator extracts and injects it",
            "Look at services/telemetry/src/propagation.rs",
        ],
    );
    // Carried, but beside other entries: still carried.
    let mut evidence = perfect();
    for call in &mut evidence.relayed {
        if let Some(baggage) = &mut call.baggage {
            *baggage = format!("session.kind=demo,{baggage}");
        }
    }
    assert_eq!(failures(&evidence, 4), Default::default());
}

#[test]
fn section4_our_baggage_leaking_to_the_third_party_fails_alone() {
    let mut evidence = perfect();
    for call in &mut evidence.stub_calls {
        call.baggage = Some(super::scenario::OUR_BAGGAGE.to_owned());
    }
    assert_line(
        &only_failure(&evidence, 4),
        &[
            "nothing else of the context leaves for the ISS API",
            r#"baggage "workshop.check.ours=from-inside""#,
        ],
    );
}

/// What the checks expect is what the sections type: the counters' unit and meter, the
/// tracer's name (the chapters show the patches' lines, `tests/chapters.rs` checks that).
#[test]
fn the_checks_expect_what_the_patches_type() {
    let steps = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("steps");
    let patch = |name: &str| std::fs::read_to_string(steps.join(name)).unwrap();
    let added = |text: &str, call: &str| -> Vec<String> {
        text.lines()
            .filter(|l| l.starts_with('+'))
            .filter_map(|l| {
                let at = l.find(call)? + call.len();
                let rest = &l[at..];
                Some(rest[..rest.find('"')?].to_owned())
            })
            .collect()
    };
    let metrics = patch("section-1-metrics.patch");
    assert_eq!(
        added(&metrics, ".with_unit(\""),
        [super::section1::UNIT, super::section1::UNIT]
    );
    assert_eq!(
        added(&metrics, "global::meter(\""),
        [super::section1::METER, super::section1::METER]
    );
    let tracing = patch("section-3-tracing.patch");
    assert_eq!(
        added(&tracing, "provider.tracer(\""),
        [super::section3::TRACER]
    );
    let http = patch("section-5-instrumentation-libraries.patch");
    assert_eq!(added(&http, "global::meter(\""), [super::section5::METER]);
}
