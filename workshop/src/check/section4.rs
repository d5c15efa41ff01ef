//! Section 4 · distributed tracing: SERVER and CLIENT spans in every service, one trace per
//! request across all four, correct parent links, and an incoming `traceparent` honoured
//! all the way to the ISS API.

use std::collections::{BTreeMap, BTreeSet};

use otlp_receiver::{ReceivedSpan, SpanKind};

use super::evidence::{
    CALCULATING_SPAN, Evidence, GETTING_SPAN, SERVICES, is_stub_url, short, status_code,
};
use super::report::{Check, counted, first, list};
use super::scenario::{BAGGAGE, OUR_BAGGAGE, ROUTES, TRACESTATE, baggage_keys, by_status};

pub const TITLE: &str = "Section 4 · distributed tracing";
const SERVER: &str = "services/service-kit/src/spans.rs";
const UPSTREAM: &str = "services/service-kit/src/upstream.rs";
const PROPAGATOR: &str = "services/telemetry/src/propagation.rs";
const BOUNDARY: &str = "services/service-kit/src/upstream.rs (self.boundary.release)";
const EDGE: &str = "services/service-kit/src/spans.rs (callers.admit)";

/// The services that the check's baggage to the gateway must reach.
const BEHIND_THE_GATEWAY: [&str; 2] = ["geolocator", "iss-distance"];
const POSITION: &str = "services/iss-distance/src/position.rs";

/// The services that call others, in the order of a request.
const CALLERS: [&str; 3] = ["frontend", "gateway", "iss-distance"];

pub fn check(evidence: &Evidence) -> Vec<Check> {
    let mut checks = Vec::new();
    for (service, route) in ROUTES {
        checks.push(Check::new(
            format!(
                "{service}: a SERVER span `GET {route}` per request ({}) with http.request.method, http.route, http.response.status_code",
                evidence.scenario.requests_to(service)
            ),
            SERVER,
            server_spans(evidence, service, route),
        ));
    }
    for caller in CALLERS {
        let calls = evidence.scenario.calls_from(caller);
        checks.push(Check::new(
            format!(
                "{caller}: a CLIENT span `GET` per outgoing call ({}) with http.request.method, url.full, server.address, http.response.status_code",
                calls.values().sum::<usize>()
            ),
            UPSTREAM,
            client_spans(evidence, caller),
        ));
    }

    // Only pages answered 200 went through all four services.
    let pages: Vec<&ReceivedSpan> = frontend_servers(evidence)
        .filter(|p| status_code(p) == Some(200))
        .collect();
    let walks: Vec<Walk> = pages.iter().map(|p| walk(evidence, p)).collect();
    let expected = evidence.scenario.traced_pages();
    let gather = |pick: fn(&Walk) -> &Vec<String>| -> Result<(), String> {
        if pages.len() != expected {
            return Err(format!(
                "found {} frontend SERVER spans `GET /` that answered 200, expected {expected}",
                pages.len()
            ));
        }
        let problems: Vec<String> = walks.iter().flat_map(|w| pick(w).clone()).collect();
        if problems.is_empty() {
            Ok(())
        } else {
            Err(first(&problems, 2))
        }
    };
    checks.push(Check::new(
        format!("each successful request through the frontend ({expected}) is one trace with spans from all four services"),
        UPSTREAM,
        gather(|w| &w.services),
    ));
    checks.push(Check::new(
        "each SERVER span's parent is the caller's CLIENT span",
        SERVER,
        gather(|w| &w.links),
    ));
    checks.push(Check::new(
        format!("in iss-distance: SERVER → `{CALCULATING_SPAN}` → `{GETTING_SPAN}` → CLIENT to the ISS API"),
        POSITION,
        gather(|w| &w.nesting),
    ));

    let context = &evidence.scenario.context;
    let continued = frontend_servers(evidence).find(|p| p.trace_id() == context.trace_id);
    checks.push(Check::new(
        format!(
            "the frontend continues an incoming traceparent (trace {}…, parent {})",
            short(&context.trace_id),
            context.parent_id
        ),
        SERVER,
        match continued {
            None => Err(format!(
                "no frontend SERVER span has trace id {}",
                context.trace_id
            )),
            Some(span) => match span.parent_span_id() {
                Some(parent) if parent == context.parent_id => Ok(()),
                Some(parent) => Err(format!("its parent span id is {parent}")),
                None => Err("it is a root span (no parent span id)".to_owned()),
            },
        },
    ));
    checks.push(Check::new(
        "every span of that request has its trace id, in all four services",
        UPSTREAM,
        match continued {
            None => Err("no span of that request has its trace id".to_owned()),
            Some(span) => {
                let walk = walk(evidence, span);
                let problems: Vec<String> = [walk.services, walk.links, walk.nesting].concat();
                if problems.is_empty() {
                    Ok(())
                } else {
                    Err(first(&problems, 2))
                }
            }
        },
    ));
    checks.push(Check::new(
        "the ISS API receives that trace id in traceparent",
        PROPAGATOR,
        stub_got_trace(evidence),
    ));
    checks.push(Check::new(
        format!("its tracestate `{TRACESTATE}` travels to iss-distance's spans"),
        PROPAGATOR,
        tracestate_inside(evidence),
    ));
    checks.extend(baggage(evidence));
    checks.push(Check::new(
        "nothing else of the context leaves for the ISS API: no baggage, no tracestate",
        BOUNDARY,
        leaks_to_third_party(evidence),
    ));
    checks.push(Check::new(
        "every ISS API request's traceparent names iss-distance's CLIENT span",
        UPSTREAM,
        stub_parents(evidence),
    ));
    checks
}

fn frontend_servers(evidence: &Evidence) -> impl Iterator<Item = &ReceivedSpan> {
    evidence
        .spans_named("frontend", "GET /")
        .filter(|s| s.kind() == SpanKind::Server)
}

fn server_spans(evidence: &Evidence, service: &str, route: &str) -> Result<(), String> {
    let name = format!("GET {route}");
    let named: Vec<&ReceivedSpan> = evidence.spans_named(service, &name).collect();
    let servers: Vec<&ReceivedSpan> = named
        .iter()
        .filter(|s| s.kind() == SpanKind::Server)
        .copied()
        .collect();
    if servers.is_empty() {
        if let Some(span) = named.first() {
            return Err(format!("`{name}` has kind {}, not Server", span.kind()));
        }
        let others: BTreeSet<String> = evidence
            .spans
            .iter()
            .filter(|s| s.service_name() == Some(service) && s.kind() == SpanKind::Server)
            .map(|s| format!("`{}`", s.name()))
            .collect();
        return Err(if others.is_empty() {
            "got no SERVER spans".to_owned()
        } else {
            format!(
                "got none; its SERVER spans are {}",
                list(&others.into_iter().collect::<Vec<_>>())
            )
        });
    }
    let mut problems = Vec::new();
    let mut statuses = BTreeMap::new();
    for span in &servers {
        let text = |key: &str| span.attribute(key).map(|v| v.to_string());
        if text("http.request.method").as_deref() != Some("GET") {
            problems.push(format!(
                "http.request.method is {:?}",
                text("http.request.method")
            ));
        }
        if text("http.route").as_deref() != Some(route) {
            problems.push(format!("http.route is {:?}", text("http.route")));
        }
        match status_code(span) {
            Some(status) => *statuses.entry(status as u16).or_insert(0) += 1,
            None => problems.push("no integer http.response.status_code".to_owned()),
        }
    }
    problems.dedup();
    if problems.is_empty() && servers.len() != evidence.scenario.requests_to(service) {
        problems.push(format!("got {}", servers.len()));
    }
    verdict(problems, &statuses, &evidence.scenario.statuses_at(service))
}

/// The span problems found, or else whether the status codes are the scenario's.
fn verdict(
    problems: Vec<String>,
    statuses: &BTreeMap<u16, usize>,
    expected: &BTreeMap<u16, usize>,
) -> Result<(), String> {
    if !problems.is_empty() {
        return Err(first(&problems, 2));
    }
    if statuses != expected {
        return Err(format!(
            "status codes {}, expected {}",
            counted(statuses),
            counted(expected)
        ));
    }
    Ok(())
}

fn client_spans(evidence: &Evidence, service: &str) -> Result<(), String> {
    let clients: Vec<&ReceivedSpan> = evidence
        .spans
        .iter()
        .filter(|s| s.service_name() == Some(service) && s.kind() == SpanKind::Client)
        .collect();
    if clients.is_empty() {
        return Err("got no CLIENT spans".to_owned());
    }
    let mut problems = Vec::new();
    let mut statuses = BTreeMap::new();
    for span in &clients {
        if span.name() != "GET" {
            problems.push(format!("a CLIENT span is named `{}`", span.name()));
        }
        let text = |key: &str| span.attribute(key).map(|v| v.to_string());
        if text("http.request.method").as_deref() != Some("GET") {
            problems.push(format!(
                "http.request.method is {:?}",
                text("http.request.method")
            ));
        }
        for key in ["url.full", "server.address"] {
            if text(key).is_none_or(|v| v.is_empty()) {
                problems.push(format!("no {key}"));
            }
        }
        match status_code(span) {
            Some(status) => *statuses.entry(status as u16).or_insert(0) += 1,
            None => problems.push("no integer http.response.status_code".to_owned()),
        }
    }
    let mut seen = BTreeSet::new();
    problems.retain(|p| seen.insert(p.clone()));
    // Their status and error.type are section 3's check (span_status).
    verdict(
        problems,
        &statuses,
        &by_status(&evidence.scenario.calls_from(service)),
    )
}

/// What is wrong with the trace of one frontend request, by kind of problem.
#[derive(Default)]
struct Walk {
    /// Services with no span in the trace.
    services: Vec<String>,
    /// SERVER spans whose parent is not the caller's CLIENT span.
    links: Vec<String>,
    /// iss-distance's spans not nested as promised.
    nesting: Vec<String>,
}

fn walk(evidence: &Evidence, page: &ReceivedSpan) -> Walk {
    let mut walk = Walk::default();
    let trace_id = page.trace_id();
    let trace = format!("trace {}…", short(&trace_id));
    let in_trace: Vec<&ReceivedSpan> = evidence
        .spans
        .iter()
        .filter(|s| s.span.trace_id == page.span.trace_id)
        .collect();
    let missing: Vec<String> = SERVICES
        .iter()
        .filter(|s| !in_trace.iter().any(|span| span.service_name() == Some(s)))
        .map(|s| s.to_string())
        .collect();
    if !missing.is_empty() {
        walk.services
            .push(format!("{trace} has no spans from {}", list(&missing)));
    }
    let of = |service: &str, kind: SpanKind| -> Vec<&ReceivedSpan> {
        in_trace
            .iter()
            .filter(|s| s.service_name() == Some(service) && s.kind() == kind)
            .copied()
            .collect()
    };
    // frontend SERVER → frontend CLIENT → gateway SERVER.
    let frontend_clients: Vec<&ReceivedSpan> = of("frontend", SpanKind::Client)
        .into_iter()
        .filter(|c| evidence.descends_from(c, page))
        .collect();
    let link = |walk: &mut Walk, service: &str, callers: &[&ReceivedSpan], caller: &str| {
        let servers = of(service, SpanKind::Server);
        if servers.is_empty() {
            walk.links
                .push(format!("{trace}: no {service} SERVER span in it"));
        }
        for server in servers {
            if !callers.iter().any(|c| server.is_child_of(c)) {
                let parent = server.parent_span_id().unwrap_or_else(|| "none".into());
                walk.links.push(format!(
                    "{trace}: {service}'s SERVER span has parent {parent}, not {caller}'s CLIENT span"
                ));
            }
        }
    };
    if frontend_clients.is_empty() {
        walk.links.push(format!(
            "{trace}: no frontend CLIENT span under its SERVER span"
        ));
    }
    link(&mut walk, "gateway", &frontend_clients, "frontend");
    let gateway_clients: Vec<&ReceivedSpan> = of("gateway", SpanKind::Client);
    link(&mut walk, "geolocator", &gateway_clients, "gateway");
    link(&mut walk, "iss-distance", &gateway_clients, "gateway");

    // iss-distance: SERVER → calculating → getting → CLIENT (to the ISS API).
    let iss_servers = of("iss-distance", SpanKind::Server);
    let named = |name: &str| -> Vec<&ReceivedSpan> {
        in_trace
            .iter()
            .filter(|s| s.service_name() == Some("iss-distance") && s.name() == name)
            .copied()
            .collect()
    };
    if let Some(server) = iss_servers.first() {
        let calculating = named(CALCULATING_SPAN);
        let getting = named(GETTING_SPAN);
        match calculating
            .iter()
            .find(|c| evidence.descends_from(c, server))
        {
            None => walk.nesting.push(format!(
                "{trace}: no `{CALCULATING_SPAN}` under iss-distance's SERVER span"
            )),
            Some(calc) => match getting.iter().find(|g| g.is_child_of(calc)) {
                None => walk.nesting.push(format!(
                    "{trace}: no `{GETTING_SPAN}` child of `{CALCULATING_SPAN}`"
                )),
                Some(get) => {
                    let to_api = of("iss-distance", SpanKind::Client).into_iter().any(|c| {
                        evidence.descends_from(c, get)
                            && c.attribute("url.full")
                                .is_some_and(|u| is_stub_url(&u.to_string(), &evidence.stub_url))
                    });
                    if !to_api {
                        walk.nesting.push(format!(
                            "{trace}: no CLIENT span to the ISS API under `{GETTING_SPAN}`"
                        ));
                    }
                }
            },
        }
    }
    walk
}

/// `traceparent` → (trace id, parent id), lower-case.
fn parse_traceparent(value: &str) -> Option<(String, String)> {
    let parts: Vec<&str> = value.trim().split('-').collect();
    match parts[..] {
        [_, trace, parent, _] if trace.len() == 32 && parent.len() == 16 => {
            Some((trace.to_ascii_lowercase(), parent.to_ascii_lowercase()))
        }
        _ => None,
    }
}

fn stub_got_trace(evidence: &Evidence) -> Result<(), String> {
    let context = &evidence.scenario.context;
    let calls = &evidence.stub_calls;
    if calls.iter().all(|c| c.traceparent.is_none()) {
        return Err("its requests had no traceparent header".to_owned());
    }
    let reached = calls.iter().any(|c| {
        c.traceparent
            .as_deref()
            .and_then(parse_traceparent)
            .is_some_and(|(trace, _)| trace == context.trace_id)
    });
    if reached {
        Ok(())
    } else {
        Err(format!(
            "no request had trace id {}…",
            short(&context.trace_id)
        ))
    }
}

/// The check's `tracestate` reaches iss-distance's spans of its trace: our own services
/// pass the whole context on.
fn tracestate_inside(evidence: &Evidence) -> Result<(), String> {
    let context = &evidence.scenario.context;
    let spans: Vec<&ReceivedSpan> = evidence
        .spans
        .iter()
        .filter(|s| s.service_name() == Some("iss-distance") && s.trace_id() == context.trace_id)
        .collect();
    if spans.is_empty() {
        return Err(format!(
            "iss-distance has no spans with trace id {}…",
            short(&context.trace_id)
        ));
    }
    let wrong: BTreeSet<String> = spans
        .iter()
        .filter(|s| !s.trace_state().split(',').any(|e| e.trim() == TRACESTATE))
        .map(|s| format!("`{}` has tracestate {:?}", s.name(), s.trace_state()))
        .collect();
    if wrong.is_empty() {
        Ok(())
    } else {
        Err(first(&wrong.into_iter().collect::<Vec<_>>(), 2))
    }
}

/// Baggage between our services, as the check's relays saw it: a stranger's stops at the
/// edge, ours travels from hop to hop (and stops at the third party: the next line).
fn baggage(evidence: &Evidence) -> [Check; 2] {
    [
        Check::new(
            format!("a stranger's baggage (`{BAGGAGE}`, sent to the frontend) goes no further"),
            EDGE,
            stranger_stops_at_the_edge(evidence),
        ),
        Check::new(
            format!(
                "our own baggage (`{OUR_BAGGAGE}`, sent to the gateway) travels on to {}",
                BEHIND_THE_GATEWAY.join(" and ")
            ),
            PROPAGATOR,
            ours_travels_on(evidence),
        ),
    ]
}

/// Whether a `baggage` header holds the entry of `baggage` (the check's header, one entry).
fn carries(header: Option<&str>, baggage: &str) -> bool {
    let key = baggage_keys(baggage)
        .next()
        .expect("the check's baggage has an entry");
    header.is_some_and(|h| baggage_keys(h).any(|k| k == key))
}

/// The check's relays between our services never saw the stranger's baggage: the frontend
/// dropped it.
fn stranger_stops_at_the_edge(evidence: &Evidence) -> Result<(), String> {
    if !evidence.relayed.iter().any(|c| c.to == "gateway") {
        return Err("no call from the frontend reached the gateway".to_owned());
    }
    let reached: BTreeSet<String> = evidence
        .relayed
        .iter()
        .filter(|c| carries(c.baggage.as_deref(), BAGGAGE))
        .map(|c| c.to.clone())
        .collect();
    if reached.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "it reached {}: the frontend takes requests from anyone, and drops their baggage",
            list(&reached.into_iter().collect::<Vec<_>>())
        ))
    }
}

/// The check's baggage to the gateway reached geolocator and iss-distance with every call
/// the gateway made for those requests.
fn ours_travels_on(evidence: &Evidence) -> Result<(), String> {
    let mut problems = Vec::new();
    for upstream in BEHIND_THE_GATEWAY {
        let expected = evidence
            .scenario
            .steps
            .iter()
            .filter(|s| s.baggage() == Some(OUR_BAGGAGE) && s.status_at(upstream).is_some())
            .count();
        let got = evidence
            .relayed
            .iter()
            .filter(|c| c.to == upstream && carries(c.baggage.as_deref(), OUR_BAGGAGE))
            .count();
        if got != expected {
            problems.push(format!("{upstream} got it {got} times, not {expected}"));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{}: the W3C Baggage propagator extracts and injects it",
            problems.join(", ")
        ))
    }
}

/// What reached the ISS API, a third party, besides `traceparent`: each one a leak.
fn leaks_to_third_party(evidence: &Evidence) -> Result<(), String> {
    if evidence.stub_calls.is_empty() {
        return Err("the ISS API got no requests".to_owned());
    }
    let mut leaks = BTreeSet::new();
    for call in &evidence.stub_calls {
        if let Some(baggage) = &call.baggage {
            leaks.insert(format!(
                "baggage {baggage:?}: baggage is for our own services (a stranger's stops at the frontend, ours at the third party)"
            ));
        }
        match call.tracestate.as_deref() {
            Some("") => {
                leaks.insert("an empty tracestate header".to_owned());
            }
            Some(state) => {
                leaks.insert(format!(
                    "tracestate {state:?}: it is our vendors' state, not a third party's"
                ));
            }
            None => {}
        }
    }
    if leaks.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "the ISS API received {}",
            leaks.into_iter().collect::<Vec<_>>().join("; ")
        ))
    }
}

fn stub_parents(evidence: &Evidence) -> Result<(), String> {
    let expected: usize = evidence.scenario.iss_calls().values().sum();
    let calls = &evidence.stub_calls;
    if calls.len() != expected {
        return Err(format!(
            "the ISS API got {} requests, expected {expected}",
            calls.len()
        ));
    }
    let mut problems = Vec::new();
    for (n, call) in calls.iter().enumerate() {
        let Some((trace, parent)) = call.traceparent.as_deref().and_then(parse_traceparent) else {
            problems.push(format!("request {} had no valid traceparent", n + 1));
            continue;
        };
        let named = evidence.spans.iter().any(|s| {
            s.service_name() == Some("iss-distance")
                && s.kind() == SpanKind::Client
                && s.trace_id() == trace
                && s.span_id() == parent
        });
        if !named {
            problems.push(format!(
                "request {}'s parent {parent} is no CLIENT span of iss-distance",
                n + 1
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(first(&problems, 2))
    }
}
