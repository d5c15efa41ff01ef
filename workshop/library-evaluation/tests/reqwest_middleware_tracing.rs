//! `reqwest-middleware` 0.5.2 + `reqwest-tracing` 0.7.1: the tracing middleware for reqwest.
//! Its OpenTelemetry features stop at `opentelemetry_0_32` (with tracing-opentelemetry 0.33).
//! Next to our 0.33 / 0.34 it compiles, its CLIENT span is a plain `tracing` span that our
//! layer exports, but it injects through 0.32's global propagator and reads the span's
//! context through 0.33's extension: no `traceparent` goes out.

use axum::http::HeaderMap;
use library_evaluation::{app_runtime, span_layer_as_the_services_have_it};
use opentelemetry::global;
use opentelemetry::trace::TraceContextExt as _;
use opentelemetry_http::HeaderInjector;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use reqwest_tracing::TracingMiddleware;
use tracing::Instrument as _;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;
use tracing_subscriber::layer::SubscriberExt as _;
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, ResponseTemplate};

#[test]
fn next_to_opentelemetry_0_33_its_calls_carry_no_traceparent() {
    // Spans are recorded, not exported: what matters here is what the server receives.
    let tracers = SdkTracerProvider::builder().build();
    // Section 4's propagator, for our OpenTelemetry.
    global::set_text_map_propagator(TraceContextPropagator::new());
    let subscriber =
        tracing_subscriber::registry().with(span_layer_as_the_services_have_it(&tracers));
    let _subscriber = tracing::subscriber::set_default(subscriber);

    app_runtime().block_on(async {
        let server = MockServer::start().await;
        Mock::given(any())
            .respond_with(ResponseTemplate::new(200))
            .mount(&server)
            .await;
        let span = tracing::info_span!("calling", otel.kind = "client");
        let trace_id = span.context().span().span_context().trace_id().to_string();
        assert_ne!(
            trace_id, "00000000000000000000000000000000",
            "the span is recorded"
        );

        async {
            // Ours (section 4): the span's context, injected with the global propagator.
            let mut headers = HeaderMap::new();
            let context = tracing::Span::current().context();
            global::get_text_map_propagator(|propagator| {
                propagator.inject_context(&context, &mut HeaderInjector(&mut headers));
            });
            let ours = reqwest::Client::new();
            let sent = ours.get(format!("{}/ours", server.uri())).headers(headers);
            sent.send().await.expect("our call");

            // The library's: a reqwest client with the tracing middleware.
            let library = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
                .with(TracingMiddleware::default())
                .build();
            let sent = library.get(format!("{}/library", server.uri()));
            sent.send().await.expect("the library's call");
        }
        .instrument(span)
        .await;

        let received = server.received_requests().await.expect("recording");
        let traceparent = |path: &str| {
            received
                .iter()
                .find(|r| r.url.path() == path)
                .unwrap_or_else(|| panic!("no request to {path}"))
                .headers
                .get("traceparent")
                .map(|v| v.to_str().unwrap().to_owned())
        };
        let ours = traceparent("/ours").expect("our call carries traceparent");
        assert!(ours.contains(&trace_id), "{ours} names trace {trace_id}");
        assert_eq!(
            traceparent("/library"),
            None,
            "the library's call carries none"
        );
    });
}
