//! `tower-otel-http-metrics` 0.16.0 (the contrib crate's predecessor) depends on
//! opentelemetry 0.30: its builder takes a 0.30 `Meter`, which our 0.33 SDK cannot give it,
//! so whatever it records goes to the 0.30 global meter provider, a no-op.

use axum::Router;
use axum::routing::get;
use library_evaluation::{Backend, app_runtime, get as fetch, serve};
use tower_otel_http_metrics::HTTPMetricsLayerBuilder;

#[test]
fn next_to_opentelemetry_0_33_it_records_nothing() {
    let backend = Backend::start();
    let meters = backend.meter_provider("tower-otel-http-metrics");
    opentelemetry::global::set_meter_provider(meters.clone());
    // As its documentation shows; `with_meter` wants an `opentelemetry::metrics::Meter` of
    // 0.30, so the only meter it can have is one of 0.30's global provider.
    let layer = HTTPMetricsLayerBuilder::builder()
        .with_meter(opentelemetry_0_30::global::meter("tower-otel-http-metrics"))
        .build()
        .expect("the layer builds");
    let app = Router::new()
        .route("/distance", get(|| async { "ok" }))
        .layer(layer);
    // A control: a histogram of our own, through the same 0.33 provider.
    let control = opentelemetry::global::meter("control")
        .f64_histogram("control.duration")
        .with_unit("s")
        .build();

    app_runtime().block_on(async {
        let addr = serve(app).await;
        for _ in 0..3 {
            assert_eq!(fetch(&format!("http://{addr}/distance")).await, 200);
        }
        control.record(0.01, &[]);
    });
    meters.force_flush().expect("metrics exported");
    let store = backend.store();

    assert!(
        store.latest_metric("control.duration").is_some(),
        "the control arrives, so the pipeline works: {:?}",
        store.stats()
    );
    let names: Vec<String> = store
        .metrics()
        .iter()
        .map(|m| m.name().to_owned())
        .collect();
    assert!(
        !names.iter().any(|n| n.starts_with("http.server")),
        "nothing of the library's arrives: {names:?}"
    );
}
