//! `opentelemetry-instrumentation-tower` 0.19.0, from opentelemetry-rust-contrib: built for
//! opentelemetry 0.33, so it fits our SDK. It records `http.server.request.duration` by the
//! conventions (name, unit, buckets, method, route, status), which no other library here
//! does; what keeps section 5 from adopting it is shown here too: an empty `url.scheme` on
//! every request a server receives, no `error.type` on a 5xx, and a SERVER span of its own
//! that carries the query string.

use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use library_evaluation::{Backend, CONVENTION_BOUNDARIES, app_runtime, get as fetch, serve};
use opentelemetry::global;
use opentelemetry_instrumentation_tower::http::server::Layer as ContribLayer;
use otlp_receiver::{AttrValue, DataPoint, MetricKind, PointValue, SpanKind};

fn bounds_and_count(point: &DataPoint) -> (Vec<f64>, u64) {
    match &point.value {
        PointValue::Histogram { bounds, count, .. } => (bounds.clone(), *count),
        other => panic!("not a histogram point: {other:?}"),
    }
}

#[test]
fn it_records_the_conventions_histogram_but_an_empty_url_scheme_and_no_error_type() {
    let backend = Backend::start();
    let meters = backend.meter_provider("contrib-tower");
    let tracers = backend.tracer_provider("contrib-tower");
    // It reads the global providers when the layer is built, as its documentation says.
    global::set_meter_provider(meters.clone());
    global::set_tracer_provider(tracers.clone());
    let app = Router::new()
        .route("/distance", get(|| async { "ok" }))
        .route("/boom", get(|| async { StatusCode::INTERNAL_SERVER_ERROR }))
        .layer(ContribLayer::new());

    app_runtime().block_on(async {
        let addr = serve(app).await;
        assert_eq!(
            fetch(&format!("http://{addr}/distance?location=Berlin")).await,
            200
        );
        assert_eq!(fetch(&format!("http://{addr}/boom")).await, 500);
    });
    meters.force_flush().expect("metrics exported");
    tracers.force_flush().expect("spans exported");
    let store = backend.store();

    // What it gets right: the conventions' name, unit, kind and buckets, from its own scope.
    let duration = store
        .latest_metric("http.server.request.duration")
        .expect("http.server.request.duration arrives");
    assert_eq!(duration.unit(), "s");
    assert!(
        matches!(duration.kind(), MetricKind::Histogram { .. }),
        "{}",
        duration.kind()
    );
    assert_eq!(
        duration.origin.scope.name,
        "opentelemetry-instrumentation-tower"
    );
    let ok = duration
        .point_with("http.route", "/distance")
        .expect("a point for the route /distance");
    assert_eq!(ok.attributes["http.request.method"], AttrValue::from("GET"));
    assert_eq!(
        ok.attributes["http.response.status_code"],
        AttrValue::Int(200)
    );
    assert_eq!(bounds_and_count(&ok), (CONVENTION_BOUNDARIES.to_vec(), 1));

    // Defect 1: `url.scheme` (required) is read from the request target, which a request to
    // a server carries without a scheme (`GET /distance HTTP/1.1`): it is always empty.
    assert_eq!(ok.attributes.get("url.scheme"), Some(&AttrValue::from("")));

    // Defect 2: a 5xx is a server's own failure, and the conventions want its status code
    // in `error.type`; there is none.
    let boom = duration
        .point_with("http.route", "/boom")
        .expect("a point for the route /boom");
    assert_eq!(
        boom.attributes["http.response.status_code"],
        AttrValue::Int(500)
    );
    assert_eq!(boom.attributes.get("error.type"), None);

    // Its SERVER span, made with the OpenTelemetry API (not `tracing`), records the query
    // string: what people typed. (Only credential-like keys such as `sig` are redacted.)
    let span = store
        .find_span("GET /distance")
        .expect("its SERVER span arrives");
    assert_eq!(span.kind(), SpanKind::Server);
    assert_eq!(
        span.attribute("url.query"),
        Some(AttrValue::from("location=Berlin"))
    );
}
