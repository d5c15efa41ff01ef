//! The reference implementation (every section applied) under stress: malformed trace
//! headers, SIGTERM right after traffic, a collector that is down or hangs, and context that
//! must stop at the trust boundaries.
//!
//! Unix only: the services are stopped with SIGTERM and measured through /proc.
#![cfg(unix)]

use crate::common;
use std::collections::BTreeSet;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use common::final_tree;
use common::stack::{Harness, build, output, pid, start, stop_cleanly};
use otlp_receiver::{AttrValue, Receiver, ReceiverConfig, SpanKind};
use platform_live::usage::peak_rss_kib;
use wiremock::matchers::path;
use wiremock::{Mock, MockServer, ResponseTemplate};
use workshop::harness::Blackhole;

/// The services export to `endpoint` and ask the harness's ISS API stand-in.
fn env_for(endpoint: String) -> Vec<(&'static str, String)> {
    vec![
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf".into()),
    ]
}

/// Kinds of broken `traceparent` (W3C Trace Context level 1).
const MALFORMED: [&str; 13] = [
    "",
    "garbage",
    "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331",
    "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-extra",
    "00-00000000000000000000000000000000-b7ad6b7169203331-01",
    "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",
    "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    "00-0af7651916cd43dd8448eb211c80319-b7ad6b7169203331-01",
    "00-0af7651916cd43dd8448eb211c80319cz-b7ad6b7169203331-01",
    "00-0af7651916cd43dd8448eb211c80319c-b7ad6b71692033-01",
    "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-0g",
    "00_0af7651916cd43dd8448eb211c80319c_b7ad6b7169203331_01",
    "00-xyz7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
];

#[tokio::test(flavor = "multi_thread")]
async fn malformed_traceparent_headers_start_a_fresh_trace_and_never_fail_the_request() {
    let (tree, _lock) = final_tree();
    let binaries = build(&tree).await;
    let receiver = Receiver::start(ReceiverConfig::ephemeral()).await.unwrap();
    let mut stack = start(&binaries, &env_for(receiver.http_endpoint())).await;
    let client = reqwest::Client::new();
    for (i, traceparent) in MALFORMED.iter().enumerate() {
        let response = client
            .get(stack.url("frontend", "/?location=Berlin"))
            .header("traceparent", *traceparent)
            .header("tracestate", "workshop=malformed")
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            200,
            "request {i} with traceparent {traceparent:?}"
        );
    }
    stop_cleanly(&mut stack, Duration::from_secs(15)).await;

    let spans = receiver.store().spans();
    let roots: Vec<_> = spans
        .iter()
        .filter(|s| s.service_name() == Some("frontend") && s.kind() == SpanKind::Server)
        .collect();
    assert_eq!(
        roots.len(),
        MALFORMED.len(),
        "one frontend SERVER span per request"
    );
    let mut traces = BTreeSet::new();
    for root in &roots {
        assert!(
            root.is_root(),
            "{} continues a malformed parent: {:?}",
            root.name(),
            root.parent_span_id()
        );
        assert_ne!(
            root.trace_id(),
            "0af7651916cd43dd8448eb211c80319c",
            "a malformed header's trace id was used"
        );
        traces.insert(root.trace_id());
    }
    assert_eq!(
        traces.len(),
        MALFORMED.len(),
        "each request is a trace of its own"
    );
    for trace in &traces {
        let services: BTreeSet<_> = spans
            .iter()
            .filter(|s| &s.trace_id() == trace)
            .filter_map(|s| s.service_name())
            .collect();
        assert_eq!(
            services.len(),
            4,
            "trace {trace} still spans all four services: {services:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_right_after_the_requests_loses_no_telemetry() {
    const REQUESTS: usize = 20;
    let (tree, _lock) = final_tree();
    let binaries = build(&tree).await;
    let receiver = Receiver::start(ReceiverConfig::ephemeral()).await.unwrap();
    let mut stack = start(&binaries, &env_for(receiver.http_endpoint())).await;
    let client = reqwest::Client::new();
    let requests: Vec<_> = (0..REQUESTS)
        .map(|_| tokio::spawn(client.get(stack.url("frontend", "/?location=Tokyo")).send()))
        .collect();
    for request in requests {
        assert_eq!(request.await.unwrap().unwrap().status(), 200);
    }
    // At once: long before the batch processors' own schedule (5 s for spans) comes round.
    stop_cleanly(&mut stack, Duration::from_secs(15)).await;

    let store = receiver.store();
    let traces: BTreeSet<String> = store
        .spans()
        .iter()
        .filter(|s| {
            s.service_name() == Some("iss-distance") && s.name() == "calculating-iss-distance"
        })
        .map(|s| s.trace_id())
        .collect();
    assert_eq!(
        traces.len(),
        REQUESTS,
        "every request's trace reached iss-distance and was exported"
    );
    let logs = store
        .logs()
        .into_iter()
        .filter(|l| l.body_text() == "calculating the ISS distance")
        .filter(|l| l.trace_id().is_some_and(|t| traces.contains(&t)))
        .count();
    assert_eq!(
        logs, REQUESTS,
        "and every request's log record, with its trace id"
    );
    // The requests came together, so they shared iss-distance's call to the ISS API: most
    // have no `getting-iss-coordinates`, and `iss.source` says where their position came from.
    let iss_spans = |name: &str| {
        store
            .spans()
            .into_iter()
            .filter(|s| s.service_name() == Some("iss-distance") && s.name() == name)
            .collect::<Vec<_>>()
    };
    for span in iss_spans("calculating-iss-distance") {
        assert_eq!(
            span.attribute("iss.source"),
            Some(AttrValue::String("open-notify".into())),
            "{:?}",
            span.attributes()
        );
    }
    let calls = iss_spans("getting-iss-coordinates").len();
    assert!(
        (1..REQUESTS).contains(&calls),
        "{calls} calls to the ISS API for {REQUESTS} requests at once"
    );
}

/// Sends requests through the gateway for `duration`; returns (count, slowest).
async fn traffic(stack: &Harness, duration: Duration) -> (usize, Duration) {
    let client = reqwest::Client::new();
    let deadline = Instant::now() + duration;
    let (mut count, mut slowest) = (0, Duration::ZERO);
    while Instant::now() < deadline {
        let started = Instant::now();
        let response = client
            .get(stack.url("gateway", "/distance?location=Paris"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        slowest = slowest.max(started.elapsed());
        count += 1;
    }
    (count, slowest)
}

async fn with_a_broken_collector(endpoint: SocketAddr, protocol: &str) {
    let (tree, _lock) = final_tree();
    let binaries = build(&tree).await;
    let mut env = env_for(format!("http://{endpoint}"));
    env.extend([
        ("OTEL_EXPORTER_OTLP_PROTOCOL", protocol.to_string()),
        // Export often, to provoke as many failures as possible. The export timeout stays
        // the SDK's default, so that the shutdown below meets real timeouts.
        ("OTEL_BSP_SCHEDULE_DELAY", "100".to_string()),
        ("OTEL_BLRP_SCHEDULE_DELAY", "100".to_string()),
        ("OTEL_METRIC_EXPORT_INTERVAL", "100".to_string()),
    ]);
    let mut stack = start(&binaries, &env).await;
    let (count, slowest) = traffic(&stack, Duration::from_secs(6)).await;
    // Exports run on the SDK's own threads: a request never waits for the collector (a
    // request that did would take the exporter's timeout, seconds). The bound is loose because
    // other tests share the cores; normal requests take a few milliseconds.
    assert!(count > 50, "only {count} requests in 6 s");
    assert!(
        slowest < Duration::from_secs(2),
        "a request took {slowest:?}"
    );
    for service in ["gateway", "iss-distance"] {
        let peak = peak_rss_kib(pid(&stack, service)).unwrap();
        assert!(
            peak < 64 * 1024,
            "{service} peaked at {peak} KiB: the export queue must be bounded"
        );
    }
    let exporter_lines: Vec<String> = output(&stack)
        .into_iter()
        .filter(|line| {
            line.contains("opentelemetry") && (line.contains("ERROR") || line.contains("WARN"))
        })
        .collect();
    // Every 100 ms each signal fails to export; the console shows one line per 30 s.
    assert!(
        exporter_lines.len() <= 4 * 2,
        "{} exporter error lines in 6 s:\n{}",
        exporter_lines.len(),
        exporter_lines.join("\n")
    );
    // The providers flush at the same time, each giving up after its own timeout: the
    // services stop within a container's 10 s stop timeout instead of being killed.
    let ended = stack.stop(Duration::from_secs(9)).await;
    assert!(
        ended.iter().all(|(_, status)| status.is_some()),
        "every service stops by itself within 9 s: {ended:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_collector_that_refuses_connections_does_not_hurt_the_requests() {
    let refusing = SocketAddr::from((Ipv4Addr::LOCALHOST, common::closed_port()));
    with_a_broken_collector(refusing, "http/protobuf").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_collector_that_never_answers_does_not_hurt_the_requests() {
    let blackhole = Blackhole::start().await.unwrap();
    with_a_broken_collector(blackhole.addr(), "http/protobuf").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_grpc_collector_that_never_answers_does_not_hurt_the_requests() {
    let blackhole = Blackhole::start().await.unwrap();
    with_a_broken_collector(blackhole.addr(), "grpc").await;
}

/// An authenticated collector: `OTEL_EXPORTER_OTLP_HEADERS` goes along with every export.
#[tokio::test(flavor = "multi_thread")]
async fn otlp_headers_reach_the_collector() {
    use std::sync::{Arc, Mutex};
    let (tree, _lock) = final_tree();
    let binaries = build(&tree).await;
    // A collector stand-in that records the headers of each export and accepts it.
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let record = Arc::clone(&seen);
    let app = axum::Router::new().route(
        "/v1/{signal}",
        axum::routing::post(move |headers: axum::http::HeaderMap| async move {
            let auth = headers
                .get("authorization")
                .map(|v| v.to_str().unwrap_or("?").to_owned());
            record.lock().unwrap().push(auth.unwrap_or_default());
            axum::http::StatusCode::OK
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });

    let mut env = env_for(endpoint);
    env.push((
        "OTEL_EXPORTER_OTLP_HEADERS",
        "authorization=Bearer%20workshop-token".into(),
    ));
    let mut stack = start(&binaries, &env).await;
    let response = reqwest::get(stack.url("frontend", "/?location=Berlin"))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    stack.stop(Duration::from_secs(15)).await;

    let seen = seen.lock().unwrap();
    assert!(!seen.is_empty(), "exports arrived");
    assert!(
        seen.iter().all(|auth| auth == "Bearer workshop-token"),
        "every export carries the (URL-decoded) header: {seen:?}"
    );
}

/// `OTEL_TRACES_SAMPLER` is honoured: with `always_off` no span is exported, while logs
/// and metrics still are.
#[tokio::test(flavor = "multi_thread")]
async fn the_sampler_comes_from_the_environment() {
    let (tree, _lock) = final_tree();
    let binaries = build(&tree).await;
    let receiver = Receiver::start(ReceiverConfig::ephemeral()).await.unwrap();
    let mut env = env_for(receiver.http_endpoint());
    env.push(("OTEL_TRACES_SAMPLER", "always_off".into()));
    let mut stack = start(&binaries, &env).await;
    let response = reqwest::get(stack.url("frontend", "/?location=Berlin"))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    stack.stop(Duration::from_secs(15)).await;

    let store = receiver.store();
    assert!(store.spans().is_empty(), "always_off exports no span");
    assert!(!store.logs().is_empty(), "logs still flow");
    assert!(
        store.latest_metric("incoming.requests").is_some(),
        "metrics still flow"
    );
}

/// `service.instance.id` is a new UUID at every start, unless the operator gives one in
/// `OTEL_RESOURCE_ATTRIBUTES`: that one wins (section 0's comment says why).
#[tokio::test(flavor = "multi_thread")]
async fn an_operator_may_give_the_instance_id() {
    const GIVEN: &str = "4d63009a-8d0f-11ee-aad7-4c796ed8e320";
    let (tree, _lock) = final_tree();
    let binaries = build(&tree).await;
    let receiver = Receiver::start(ReceiverConfig::ephemeral()).await.unwrap();
    let mut env = env_for(receiver.http_endpoint());
    env.push((
        "OTEL_RESOURCE_ATTRIBUTES",
        format!("service.instance.id={GIVEN}"),
    ));
    let mut stack = start(&binaries, &env).await;
    let response = reqwest::get(stack.url("frontend", "/?location=Berlin"))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    stop_cleanly(&mut stack, Duration::from_secs(15)).await;

    let store = receiver.store();
    let origins: Vec<_> = store
        .spans()
        .into_iter()
        .map(|s| s.origin)
        .chain(store.logs().into_iter().map(|l| l.origin))
        .chain(store.metrics().into_iter().map(|m| m.origin))
        .collect();
    let services: BTreeSet<&str> = origins.iter().filter_map(|o| o.service_name()).collect();
    assert_eq!(services.len(), 4, "{services:?}");
    for origin in &origins {
        assert_eq!(
            origin.resource.get("service.instance.id"),
            Some(&AttrValue::String(GIVEN.into())),
            "{:?}",
            origin.resource
        );
    }
}

/// One request an upstream stand-in got: the trace context it carried.
#[derive(Debug)]
struct Call {
    traceparent: Option<String>,
    tracestate: Option<String>,
    baggage: Option<String>,
}

/// A stand-in for any upstream (wiremock), answering each path with its JSON.
async fn upstream(answers: &[(&str, &str)]) -> MockServer {
    let server = MockServer::start().await;
    for (at, body) in answers {
        let answer = ResponseTemplate::new(200).set_body_raw(*body, "application/json");
        Mock::given(path(*at))
            .respond_with(answer)
            .mount(&server)
            .await;
    }
    server
}

/// The requests `server` got at `at`.
async fn calls_to(server: &MockServer, at: &str) -> Vec<Call> {
    let requests = server.received_requests().await.unwrap_or_default();
    let header =
        |r: &wiremock::Request, name: &str| Some(r.headers.get(name)?.to_str().unwrap().to_owned());
    (requests.iter().filter(|r| r.url.path() == at))
        .map(|r| Call {
            traceparent: header(r, "traceparent"),
            tracestate: header(r, "tracestate"),
            baggage: header(r, "baggage"),
        })
        .collect()
}

/// The trust boundaries of `services/service-kit/src/boundary.rs`, on the real services:
/// each service's calls go to a stand-in that records them, and requests come in with all
/// three headers.
#[tokio::test(flavor = "multi_thread")]
async fn context_stops_at_the_trust_boundaries() {
    const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
    let (tree, _lock) = final_tree();
    let binaries = build(&tree).await;
    let receiver = Receiver::start(ReceiverConfig::ephemeral()).await.unwrap();
    // Our own services, as seen by their callers (gateway's, frontend's upstreams).
    let ours = upstream(&[
        (
            "/coordinates",
            r#"{"name":"Berlin","country":"DE","latitude":52.5,"longitude":13.4}"#,
        ),
        (
            "/distance",
            r#"{"distance_km":1.0,"iss":{"latitude":1.0,"longitude":2.0,"source":"open-notify","timestamp":1}}"#,
        ),
    ])
    .await;
    // The third parties: the ISS API (the harness's stand-in) and Nominatim.
    let nominatim = upstream(&[(
        "/search",
        r#"[{"lat":"52.5","lon":"13.4","name":"Berlin","display_name":"Berlin, Germany","address":{"country_code":"de"}}]"#,
    )])
    .await;
    let mut env = env_for(receiver.http_endpoint());
    env.extend([
        ("GATEWAY_URL", ours.uri()),
        ("GEOLOCATOR_URL", ours.uri()),
        ("ISS_DISTANCE_URL", ours.uri()),
        ("GEOCODER", "nominatim".to_owned()),
        ("NOMINATIM_URL", nominatim.uri()),
    ]);
    let mut stack = start(&binaries, &env).await;
    let client = reqwest::Client::new();
    let send = |url: String, baggage: &'static str, tracestate: Option<&'static str>| {
        let mut request = client
            .get(url)
            .header("traceparent", TRACEPARENT)
            .header("baggage", baggage);
        if let Some(state) = tracestate {
            request = request.header("tracestate", state);
        }
        request.send()
    };

    // A stranger's baggage stops at the frontend; the trace context goes on.
    send(
        stack.url("frontend", "/?location=Berlin"),
        "user.email=alice@example.com",
        Some("vendor=a"),
    )
    .await
    .unwrap();
    // Our own baggage goes on to our own services, without an empty tracestate.
    send(
        stack.url("gateway", "/distance?location=Berlin"),
        "session=abc",
        None,
    )
    .await
    .unwrap();
    // And never to a third party, nor our tracestate.
    send(
        stack.url("iss-distance", "/distance?latitude=1&longitude=2"),
        "session=abc",
        Some("vendor=a"),
    )
    .await
    .unwrap();
    send(
        stack.url("geolocator", "/coordinates?location=Berlin"),
        "session=abc",
        Some("vendor=a"),
    )
    .await
    .unwrap();
    stop_cleanly(&mut stack, Duration::from_secs(15)).await;

    let continues = |call: &Call| {
        call.traceparent
            .as_deref()
            .is_some_and(|tp| tp.contains(TRACE_ID))
    };
    let from_frontend = calls_to(&ours, "/distance").await;
    let frontend_call = from_frontend
        .iter()
        .find(|c| c.baggage.is_none() && c.tracestate.as_deref() == Some("vendor=a"))
        .unwrap_or_else(|| panic!("the frontend's call: {from_frontend:#?}"));
    assert!(continues(frontend_call), "{frontend_call:?}");
    assert!(
        from_frontend
            .iter()
            .all(|c| c.baggage.as_deref() != Some("user.email=alice@example.com")),
        "a stranger's baggage went past the frontend: {from_frontend:#?}"
    );

    let from_gateway = calls_to(&ours, "/coordinates").await;
    assert_eq!(from_gateway.len(), 1, "{from_gateway:#?}");
    let call = &from_gateway[0];
    assert_eq!(call.baggage.as_deref(), Some("session=abc"), "{call:?}");
    assert_eq!(call.tracestate, None, "no empty tracestate: {call:?}");
    assert!(continues(call), "{call:?}");

    let iss_api = stack.iss_api.calls().into_iter().map(|c| Call {
        traceparent: c.traceparent,
        tracestate: c.tracestate,
        baggage: c.baggage,
    });
    let third_parties = [
        ("the ISS API", iss_api.collect()),
        ("Nominatim", calls_to(&nominatim, "/search").await),
    ];
    for (party, calls) in third_parties {
        assert_eq!(calls.len(), 1, "{party}: {calls:#?}");
        let call = &calls[0];
        assert!(
            continues(call),
            "{party}: the trace id goes along: {call:?}"
        );
        assert_eq!(call.baggage, None, "{party}: no baggage for a third party");
        assert_eq!(
            call.tracestate, None,
            "{party}: no tracestate for a third party"
        );
    }
}
