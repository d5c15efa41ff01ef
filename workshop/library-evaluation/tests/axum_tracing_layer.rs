//! `axum-tracing-opentelemetry` 0.42.1 (with `tracing-opentelemetry-instrumentation-sdk`
//! 0.42.1): built for opentelemetry 0.33 and tracing-opentelemetry 0.34, so it fits. Its
//! SERVER span is a `tracing` span at TRACE level, target `otel::tracing` (unless the
//! `tracing_level_info` feature is on): the services' span filter (INFO and above) drops it.
//! It records no metrics (its only metrics feature is for the `prometheus` crate), and its
//! span carries the query string.

use axum::Router;
use axum::routing::get;
use axum_tracing_opentelemetry::middleware::OtelAxumLayer;
use library_evaluation::{
    Backend, app_runtime, get_with, serve, span_layer_as_the_services_have_it,
    span_layer_for_everything,
};
use opentelemetry::global;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use otlp_receiver::{AttrValue, ReceivedSpan, SpanKind};
use tracing_subscriber::layer::SubscriberExt as _;

const TRACE_ID: &str = "0af7651916cd43dd8448eb211c80319c";
const TRACEPARENT: &str = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

/// Serves one request through its layer, with a `handler` span of our own inside.
fn one_request() {
    global::set_text_map_propagator(TraceContextPropagator::new());
    let app = Router::new()
        .route(
            "/distance",
            get(|| async { tracing::info_span!("handler").in_scope(|| "ok") }),
        )
        .layer(OtelAxumLayer::default());
    app_runtime().block_on(async {
        let addr = serve(app).await;
        let url = format!("http://{addr}/distance?location=Berlin");
        assert_eq!(get_with(&url, &[("traceparent", TRACEPARENT)]).await, 200);
    });
}

fn server_spans(spans: &[ReceivedSpan]) -> Vec<&ReceivedSpan> {
    spans
        .iter()
        .filter(|s| s.kind() == SpanKind::Server)
        .collect()
}

#[test]
fn the_services_span_filter_drops_its_server_span() {
    let backend = Backend::start();
    let tracers = backend.tracer_provider("services-filter");
    let subscriber =
        tracing_subscriber::registry().with(span_layer_as_the_services_have_it(&tracers));
    let _subscriber = tracing::subscriber::set_default(subscriber);
    one_request();
    tracers.force_flush().expect("spans exported");

    let spans = backend.store().spans();
    let handler = spans
        .iter()
        .find(|s| s.name() == "handler")
        .expect("our own INFO span arrives");
    assert_eq!(server_spans(&spans).len(), 0, "{spans:#?}");
    // It still extracts the caller's context (as the current OpenTelemetry context), so our
    // span continues the trace, with no SERVER span between.
    assert_eq!(handler.trace_id(), TRACE_ID);
    assert_eq!(
        handler.parent_span_id().as_deref(),
        Some("b7ad6b7169203331")
    );
}

#[test]
fn without_a_filter_its_server_span_has_target_otel_tracing_and_the_query() {
    let backend = Backend::start();
    let tracers = backend.tracer_provider("no-filter");
    let subscriber = tracing_subscriber::registry().with(span_layer_for_everything(&tracers));
    let _subscriber = tracing::subscriber::set_default(subscriber);
    one_request();
    tracers.force_flush().expect("spans exported");

    let spans = backend.store().spans();
    let servers = server_spans(&spans);
    assert_eq!(servers.len(), 1, "{spans:#?}");
    let server = servers[0];
    assert_eq!(server.name(), "GET /distance");
    assert_eq!(
        server.trace_id(),
        TRACE_ID,
        "it continues the caller's trace"
    );
    assert_eq!(
        server.attribute("target"),
        Some(AttrValue::from("otel::tracing"))
    );
    assert_eq!(
        server.attribute("http.route"),
        Some(AttrValue::from("/distance"))
    );
    assert_eq!(
        server.attribute("url.query"),
        Some(AttrValue::from("location=Berlin"))
    );
}
