//! `tower-http`'s `TraceLayer` (0.6): a `tracing` span per request, named `request`, at DEBUG
//! level, with fields of its own (`method`, `uri`, `version`), not the conventions'; it
//! neither extracts nor injects context and records no metrics. It is a hook to build an
//! instrumentation on (`make_span_with`), not one.

use axum::Router;
use axum::routing::get;
use library_evaluation::{
    Backend, app_runtime, get_with, serve, span_layer_as_the_services_have_it,
    span_layer_for_everything,
};
use opentelemetry_sdk::trace::SdkTracerProvider;
use otlp_receiver::{AttrValue, ReceivedSpan};
use tower_http::trace::TraceLayer;
use tracing_subscriber::layer::SubscriberExt as _;

const TRACE_ID: &str = "0af7651916cd43dd8448eb211c80319c";
const TRACEPARENT: &str = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

fn one_request(backend: &Backend, tracers: &SdkTracerProvider) -> Vec<ReceivedSpan> {
    let app = Router::new()
        .route("/distance", get(|| async { "ok" }))
        .layer(TraceLayer::new_for_http());
    app_runtime().block_on(async {
        let addr = serve(app).await;
        let url = format!("http://{addr}/distance?location=Berlin");
        assert_eq!(get_with(&url, &[("traceparent", TRACEPARENT)]).await, 200);
    });
    tracers.force_flush().expect("spans exported");
    backend.store().spans()
}

#[test]
fn the_services_span_filter_drops_its_debug_span() {
    let backend = Backend::start();
    let tracers = backend.tracer_provider("services-filter");
    let subscriber =
        tracing_subscriber::registry().with(span_layer_as_the_services_have_it(&tracers));
    let _subscriber = tracing::subscriber::set_default(subscriber);
    let spans = one_request(&backend, &tracers);
    assert!(spans.is_empty(), "{spans:#?}");
}

#[test]
fn without_a_filter_its_span_has_its_own_field_names_and_starts_a_new_trace() {
    let backend = Backend::start();
    let tracers = backend.tracer_provider("no-filter");
    let subscriber = tracing_subscriber::registry().with(span_layer_for_everything(&tracers));
    let _subscriber = tracing::subscriber::set_default(subscriber);
    let spans = one_request(&backend, &tracers);

    assert_eq!(spans.len(), 1, "{spans:#?}");
    let span = &spans[0];
    assert_eq!(span.name(), "request");
    assert_eq!(span.attribute("method"), Some(AttrValue::from("GET")));
    assert_eq!(
        span.attribute("uri"),
        Some(AttrValue::from("/distance?location=Berlin"))
    );
    assert_eq!(span.attribute("http.request.method"), None);
    assert_eq!(span.attribute("http.route"), None);
    assert_ne!(
        span.trace_id(),
        TRACE_ID,
        "the caller's traceparent is ignored"
    );
}
