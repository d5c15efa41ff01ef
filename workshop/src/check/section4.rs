//! Section 4 · distributed tracing: SERVER and CLIENT spans in every service, one trace per
//! request across all four, correct parent links, and an incoming `traceparent` honoured
//! all the way to the ISS API.

use std::collections::{BTreeMap, BTreeSet};

use otlp_receiver::{ReceivedSpan, SpanKind};

use super::evidence::hint;
use super::evidence::{
    CALCULATING_SPAN, Evidence, GETTING_SPAN, SERVICES, is_stub_url, none_of, ok_unless, short,
    short_trace, status_code, text, unique,
};
use super::report::{Check, counted, first, list};
use super::scenario::{BAGGAGE, OUR_BAGGAGE, ROUTES, TRACESTATE, baggage_keys, by_status};

pub const TITLE: &str = "Section 4 · distributed tracing";

/// The services that the check's baggage to the gateway must reach.
const BEHIND_THE_GATEWAY: [&str; 2] = ["geolocator", "iss-distance"];

/// The services that call others, in the order of a request.
const CALLERS: [&str; 3] = ["frontend", "gateway", "iss-distance"];

pub fn check(evidence: &Evidence) -> Vec<Check> {
    let mut checks = http_spans(evidence);
    checks.extend(traces(evidence));
    checks.extend(incoming_context(evidence));
    checks.extend(hops(evidence));
    checks
}

/// A SERVER span per request each service answers, and a CLIENT span per call each makes.
fn http_spans(evidence: &Evidence) -> Vec<Check> {
    let scenario = &evidence.scenario;
    let servers = ROUTES.into_iter().map(|(service, route)| {
        Check::new(
            format!(
                "{service}: a SERVER span `GET {route}` per request ({}) with http.request.method, http.route, http.response.status_code",
                scenario.requests_to(service)
            ),
            hint::SPANS,
            server_spans(evidence, service, route),
        )
    });
    let clients = CALLERS.into_iter().map(|caller| {
        Check::new(
            format!(
                "{caller}: a CLIENT span `GET` per outgoing call ({}) with http.request.method, url.full, server.address, http.response.status_code",
                scenario.calls_from(caller).values().sum::<usize>()
            ),
            hint::UPSTREAM,
            client_spans(evidence, caller),
        )
    });
    servers.chain(clients).collect()
}

/// Each successful request through the frontend, followed through its trace.
fn traces(evidence: &Evidence) -> [Check; 3] {
    // Only pages answered 200 went through all four services.
    let traces: Vec<Trace> = frontend_servers(evidence)
        .filter(|p| status_code(p) == Some(200))
        .map(|page| Trace::of(evidence, page))
        .collect();
    let expected = evidence.scenario.traced_pages();
    let gather = |pick: fn(&Trace) -> Vec<String>| -> Result<(), String> {
        if traces.len() != expected {
            return Err(format!(
                "found {} frontend SERVER spans `GET /` that answered 200, expected {expected}",
                traces.len()
            ));
        }
        ok_unless(&traces.iter().flat_map(pick).collect::<Vec<_>>(), 2)
    };
    [
        Check::new(
            format!(
                "each successful request through the frontend ({expected}) is one trace with spans from all four services"
            ),
            hint::UPSTREAM,
            gather(|trace| trace.services()),
        ),
        Check::new(
            "each SERVER span's parent is the caller's CLIENT span",
            hint::SPANS,
            gather(|trace| trace.links()),
        ),
        Check::new(
            format!(
                "in iss-distance: SERVER → `{CALCULATING_SPAN}` → `{GETTING_SPAN}` → CLIENT to the ISS API"
            ),
            hint::POSITION,
            gather(|trace| trace.nesting().into_iter().collect()),
        ),
    ]
}

/// The check's own `traceparent` and `tracestate`, sent to the frontend, followed.
fn incoming_context(evidence: &Evidence) -> [Check; 4] {
    let context = &evidence.scenario.context;
    let continued = frontend_servers(evidence).find(|p| p.trace_id() == context.trace_id);
    let continues = match continued.map(ReceivedSpan::parent_span_id) {
        None => Err(format!(
            "no frontend SERVER span has trace id {}",
            context.trace_id
        )),
        Some(Some(parent)) if parent == context.parent_id => Ok(()),
        Some(Some(parent)) => Err(format!("its parent span id is {parent}")),
        Some(None) => Err("it is a root span (no parent span id)".to_owned()),
    };
    let whole = match continued.map(|page| Trace::of(evidence, page)) {
        None => Err("no span of that request has its trace id".to_owned()),
        Some(trace) => {
            let nesting = trace.nesting().into_iter().collect();
            ok_unless(&[trace.services(), trace.links(), nesting].concat(), 2)
        }
    };
    [
        Check::new(
            format!(
                "the frontend continues an incoming traceparent (trace {}…, parent {})",
                short(&context.trace_id),
                context.parent_id
            ),
            hint::SPANS,
            continues,
        ),
        Check::new(
            "every span of that request has its trace id, in all four services",
            hint::UPSTREAM,
            whole,
        ),
        Check::new(
            "the ISS API receives that trace id in traceparent",
            hint::PROPAGATOR,
            stub_got_trace(evidence),
        ),
        Check::new(
            format!("its tracestate `{TRACESTATE}` travels to iss-distance's spans"),
            hint::PROPAGATOR,
            tracestate_inside(evidence),
        ),
    ]
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
        .copied()
        .filter(|s| s.kind() == SpanKind::Server)
        .collect();
    match (servers.is_empty(), named.first()) {
        (true, Some(span)) => Err(format!("`{name}` has kind {}, not Server", span.kind())),
        (true, None) => {
            let others: BTreeSet<String> = evidence
                .spans_in_order(service, SpanKind::Server)
                .iter()
                .map(|s| format!("`{}`", s.name()))
                .collect();
            let others: Vec<String> = others.into_iter().collect();
            Err(match others.as_slice() {
                [] => "got no SERVER spans".to_owned(),
                _ => format!("got none; its SERVER spans are {}", list(&others)),
            })
        }
        (false, _) => {
            let routed = |span: &ReceivedSpan| match text(span, "http.route") {
                Some(found) if found == route => None,
                found => Some(format!("http.route is {found:?}")),
            };
            let requests = evidence.scenario.requests_to(service);
            let miscounted = (servers.len() != requests).then(|| format!("got {}", servers.len()));
            http_attributes(
                &servers,
                routed,
                miscounted,
                &evidence.scenario.statuses_at(service),
            )
        }
    }
}

fn client_spans(evidence: &Evidence, service: &str) -> Result<(), String> {
    let clients = evidence.spans_in_order(service, SpanKind::Client);
    if clients.is_empty() {
        return Err("got no CLIENT spans".to_owned());
    }
    let wrong = |span: &ReceivedSpan| {
        let named =
            (span.name() != "GET").then(|| format!("a CLIENT span is named `{}`", span.name()));
        let missing = ["url.full", "server.address"]
            .into_iter()
            .filter(|key| text(span, key).is_none_or(|v| v.is_empty()))
            .map(|key| format!("no {key}"));
        named.into_iter().chain(missing).collect::<Vec<_>>()
    };
    // Their status and error.type are section 3's check (span_status).
    let expected = by_status(&evidence.scenario.calls_from(service));
    http_attributes(&clients, wrong, None, &expected)
}

/// What is wrong with each of `spans` (its method, what `wrong` finds, its status code),
/// once each; else how they are `miscounted`, if they are; else whether their status codes
/// are the `expected` ones.
fn http_attributes<I: IntoIterator<Item = String>>(
    spans: &[&ReceivedSpan],
    wrong: impl Fn(&ReceivedSpan) -> I,
    miscounted: Option<String>,
    expected: &BTreeMap<u16, usize>,
) -> Result<(), String> {
    let mut problems = Vec::new();
    let mut statuses = BTreeMap::new();
    for span in spans {
        let method = text(span, "http.request.method");
        if method.as_deref() != Some("GET") {
            problems.push(format!("http.request.method is {method:?}"));
        }
        problems.extend(wrong(span));
        match status_code(span) {
            Some(status) => *statuses.entry(status as u16).or_insert(0) += 1,
            None => problems.push("no integer http.response.status_code".to_owned()),
        }
    }
    ok_unless(&unique(problems), 2)?;
    miscounted.map_or(Ok(()), Err)?;
    match statuses == *expected {
        true => Ok(()),
        false => Err(format!(
            "status codes {}, expected {}",
            counted(&statuses),
            counted(expected)
        )),
    }
}

/// The trace of one request through the frontend, and what is wrong with it, by kind of
/// problem.
struct Trace<'a> {
    evidence: &'a Evidence,
    /// The frontend's SERVER span.
    page: &'a ReceivedSpan,
    /// `trace 4bf92f35…`, for the problems.
    label: String,
}

impl<'a> Trace<'a> {
    fn of(evidence: &'a Evidence, page: &'a ReceivedSpan) -> Trace<'a> {
        let label = short_trace(page);
        Trace {
            evidence,
            page,
            label,
        }
    }

    /// The trace's spans of `service`.
    fn spans(&self, service: &str) -> impl Iterator<Item = &'a ReceivedSpan> {
        let trace = &self.page.span.trace_id;
        self.evidence
            .spans_of(service)
            .filter(move |s| s.span.trace_id == *trace)
    }

    fn of_kind(&self, service: &str, kind: SpanKind) -> impl Iterator<Item = &'a ReceivedSpan> {
        self.spans(service).filter(move |s| s.kind() == kind)
    }

    /// The services with no span in the trace.
    fn services(&self) -> Vec<String> {
        let missing: Vec<&str> = SERVICES
            .into_iter()
            .filter(|s| self.spans(s).next().is_none())
            .collect();
        let services = (!missing.is_empty())
            .then(|| format!("{} has no spans from {}", self.label, list(&missing)));
        services.into_iter().collect()
    }

    /// frontend SERVER → frontend CLIENT → gateway SERVER → gateway CLIENT → geolocator
    /// and iss-distance SERVER.
    fn links(&self) -> Vec<String> {
        let label = &self.label;
        let frontend: Vec<&ReceivedSpan> = self
            .of_kind("frontend", SpanKind::Client)
            .filter(|c| self.evidence.descends_from(c, self.page))
            .collect();
        let gateway: Vec<&ReceivedSpan> = self.of_kind("gateway", SpanKind::Client).collect();
        let mut problems = Vec::new();
        if frontend.is_empty() {
            problems.push(format!(
                "{label}: no frontend CLIENT span under its SERVER span"
            ));
        }
        let hops = [
            ("gateway", &frontend, "frontend"),
            ("geolocator", &gateway, "gateway"),
            ("iss-distance", &gateway, "gateway"),
        ];
        for (service, callers, caller) in hops {
            let servers: Vec<&ReceivedSpan> = self.of_kind(service, SpanKind::Server).collect();
            if servers.is_empty() {
                problems.push(format!("{label}: no {service} SERVER span in it"));
            }
            problems.extend(
                servers
                    .into_iter()
                    .filter(|server| !callers.iter().any(|c| server.is_child_of(c)))
                    .map(|server| {
                        let parent = server.parent_span_id().unwrap_or_else(|| "none".into());
                        format!(
                            "{label}: {service}'s SERVER span has parent {parent}, not {caller}'s CLIENT span"
                        )
                    }),
            );
        }
        problems
    }

    /// iss-distance: SERVER → calculating → getting → CLIENT (to the ISS API).
    fn nesting(&self) -> Option<String> {
        let label = &self.label;
        let server = self.of_kind("iss-distance", SpanKind::Server).next()?;
        let named =
            |name: &'static str| self.spans("iss-distance").filter(move |s| s.name() == name);
        let Some(calculating) =
            named(CALCULATING_SPAN).find(|c| self.evidence.descends_from(c, server))
        else {
            return Some(format!(
                "{label}: no `{CALCULATING_SPAN}` under iss-distance's SERVER span"
            ));
        };
        let Some(getting) = named(GETTING_SPAN).find(|g| g.is_child_of(calculating)) else {
            return Some(format!(
                "{label}: no `{GETTING_SPAN}` child of `{CALCULATING_SPAN}`"
            ));
        };
        let to_api = self.of_kind("iss-distance", SpanKind::Client).any(|c| {
            self.evidence.descends_from(c, getting)
                && text(c, "url.full").is_some_and(|u| is_stub_url(&u, &self.evidence.stub_url))
        });
        (!to_api).then(|| format!("{label}: no CLIENT span to the ISS API under `{GETTING_SPAN}`"))
    }
}

/// `traceparent` → (trace id, parent id), lower-case.
fn parse_traceparent(value: &str) -> Option<(String, String)> {
    match value.trim().split('-').collect::<Vec<_>>()[..] {
        [_, trace, parent, _] if trace.len() == 32 && parent.len() == 16 => {
            Some((trace.to_ascii_lowercase(), parent.to_ascii_lowercase()))
        }
        _ => None,
    }
}

fn stub_got_trace(evidence: &Evidence) -> Result<(), String> {
    let trace_id = &evidence.scenario.context.trace_id;
    let sent: Vec<&str> = evidence
        .stub_calls
        .iter()
        .filter_map(|c| c.traceparent.as_deref())
        .collect();
    if sent.is_empty() {
        return Err("its requests had no traceparent header".to_owned());
    }
    match sent
        .into_iter()
        .filter_map(parse_traceparent)
        .any(|(trace, _)| trace == *trace_id)
    {
        true => Ok(()),
        false => Err(format!("no request had trace id {}…", short(trace_id))),
    }
}

/// The check's `tracestate` reaches iss-distance's spans of its trace: our own services
/// pass the whole context on.
fn tracestate_inside(evidence: &Evidence) -> Result<(), String> {
    let trace_id = &evidence.scenario.context.trace_id;
    let spans: Vec<&ReceivedSpan> = evidence
        .spans_of("iss-distance")
        .filter(|s| s.trace_id() == *trace_id)
        .collect();
    if spans.is_empty() {
        return Err(format!(
            "iss-distance has no spans with trace id {}…",
            short(trace_id)
        ));
    }
    let wrong: BTreeSet<String> = spans
        .iter()
        .filter(|s| !s.trace_state().split(',').any(|e| e.trim() == TRACESTATE))
        .map(|s| format!("`{}` has tracestate {:?}", s.name(), s.trace_state()))
        .collect();
    none_of(wrong, |wrong| first(&wrong, 2))
}

/// The context on the wire, hop by hop: baggage between our services, as the check's relays
/// saw it (a stranger's stops at the edge, ours travels from hop to hop), and at the third
/// party nothing but a `traceparent` naming the call's span.
fn hops(evidence: &Evidence) -> [Check; 4] {
    [
        Check::new(
            format!("a stranger's baggage (`{BAGGAGE}`, sent to the frontend) goes no further"),
            hint::EDGE,
            stranger_stops_at_the_edge(evidence),
        ),
        Check::new(
            format!(
                "our own baggage (`{OUR_BAGGAGE}`, sent to the gateway) travels on to {}",
                BEHIND_THE_GATEWAY.join(" and ")
            ),
            hint::PROPAGATOR,
            ours_travels_on(evidence),
        ),
        Check::new(
            "nothing else of the context leaves for the ISS API: no baggage, no tracestate",
            hint::BOUNDARY,
            leaks_to_third_party(evidence),
        ),
        Check::new(
            "every ISS API request's traceparent names iss-distance's CLIENT span",
            hint::UPSTREAM,
            stub_parents(evidence),
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
    let reached: BTreeSet<&str> = evidence
        .relayed
        .iter()
        .filter(|c| carries(c.baggage.as_deref(), BAGGAGE))
        .map(|c| c.to.as_str())
        .collect();
    none_of(reached, |reached| {
        format!(
            "it reached {}: the frontend takes requests from anyone, and drops their baggage",
            list(&reached)
        )
    })
}

/// The check's baggage to the gateway reached geolocator and iss-distance with every call
/// the gateway made for those requests.
fn ours_travels_on(evidence: &Evidence) -> Result<(), String> {
    let problems = BEHIND_THE_GATEWAY.into_iter().filter_map(|upstream| {
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
        (got != expected).then(|| format!("{upstream} got it {got} times, not {expected}"))
    });
    none_of(problems, |problems| {
        format!(
            "{}: the W3C Baggage propagator extracts and injects it",
            problems.join(", ")
        )
    })
}

/// What reached the ISS API, a third party, besides `traceparent`: each one a leak.
fn leaks_to_third_party(evidence: &Evidence) -> Result<(), String> {
    if evidence.stub_calls.is_empty() {
        return Err("the ISS API got no requests".to_owned());
    }
    let leaks: BTreeSet<String> = evidence
        .stub_calls
        .iter()
        .flat_map(|call| {
            let baggage = call.baggage.as_ref().map(|baggage| format!(
                "baggage {baggage:?}: baggage is for our own services (a stranger's stops at the frontend, ours at the third party)"
            ));
            let tracestate = call.tracestate.as_deref().map(|state| match state {
                "" => "an empty tracestate header".to_owned(),
                state => format!("tracestate {state:?}: it is our vendors' state, not a third party's"),
            });
            baggage.into_iter().chain(tracestate)
        })
        .collect();
    none_of(leaks, |leaks| {
        format!("the ISS API received {}", leaks.join("; "))
    })
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
    let clients = evidence.spans_in_order("iss-distance", SpanKind::Client);
    let problems: Vec<String> = (1..)
        .zip(calls)
        .filter_map(|(n, call)| {
            let Some((trace, parent)) = call.traceparent.as_deref().and_then(parse_traceparent)
            else {
                return Some(format!("request {n} had no valid traceparent"));
            };
            let named = clients
                .iter()
                .any(|s| s.trace_id() == trace && s.span_id() == parent);
            (!named)
                .then(|| format!("request {n}'s parent {parent} is no CLIENT span of iss-distance"))
        })
        .collect();
    ok_unless(&problems, 2)
}
