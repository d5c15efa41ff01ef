//! Real OpenTelemetry SDK exporters send to the receiver over the network, and the store
//! reports exactly what they sent. One test per transport.

use crate::common;
use std::time::Duration;

use common::{SCOPE, Sdk, start_receiver};
use otlp_receiver::{
    AttrValue, Level, MetricKind, PointValue, Protocol, SpanKind, StatusCode, Store, Temporality,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_exporters_deliver_spans_metrics_and_logs() {
    let receiver = start_receiver().await;
    let sdk = Sdk::grpc(&receiver, "grpc-service");
    sdk.emit_sample();
    sdk.shutdown().await;

    assert_sample(&receiver.store(), "grpc-service", Protocol::Grpc).await;
    receiver.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_exporters_deliver_spans_metrics_and_logs() {
    let receiver = start_receiver().await;
    let sdk = Sdk::http(&receiver, "http-service");
    sdk.emit_sample();
    sdk.shutdown().await;

    assert_sample(&receiver.store(), "http-service", Protocol::Http).await;
    receiver.shutdown().await;
}

/// Checks everything `Sdk::emit_sample` produced, field by field.
async fn assert_sample(store: &Store, service: &str, protocol: Protocol) {
    let complete = |s: &Store| {
        s.spans().len() == 2 && s.logs().len() == 1 && s.latest_metric("orders").is_some()
    };
    assert!(
        store.wait_until(Duration::from_secs(10), complete).await,
        "sample incomplete: {:?}",
        store.stats()
    );
    assert_spans(store, service, protocol);
    assert_counter(store, service, protocol);
    assert_log(store, service, protocol);

    let stats = store.stats();
    assert_eq!(stats.spans.received.get(protocol), 2);
    assert_eq!(stats.spans.dropped, 0);
    assert_eq!(stats.logs.received.total(), 1);
    assert!(
        stats.requests.get(protocol) >= 3,
        "one request per signal at least"
    );
    assert_eq!(stats.http_rejected, 0);
}

fn assert_spans(store: &Store, service: &str, protocol: Protocol) {
    let parent = store.find_span("checkout").expect("parent span");
    let child = store.find_span("lookup").expect("child span");

    assert!(parent.is_root());
    assert!(child.is_child_of(&parent));
    assert_eq!(child.parent_span_id(), Some(parent.span_id()));
    assert_eq!(child.trace_id(), parent.trace_id());
    assert_eq!(parent.trace_id().len(), 32);
    assert_eq!(parent.span_id().len(), 16);

    assert_eq!(parent.kind(), SpanKind::Server);
    assert_eq!(child.kind(), SpanKind::Client);
    assert_eq!(
        parent.attribute("http.route"),
        Some(AttrValue::from("/orbit"))
    );
    assert_eq!(child.attribute("db.rows"), Some(AttrValue::Int(3)));
    assert_eq!(child.status().code, StatusCode::Error);
    assert_eq!(child.status().message, "boom");
    assert_eq!(parent.status().code, StatusCode::Unset);

    for span in [&parent, &child] {
        assert_eq!(span.service_name(), Some(service));
        assert_eq!(span.protocol(), protocol);
        assert_eq!(span.origin.scope.name, SCOPE);
    }
}

fn assert_counter(store: &Store, service: &str, protocol: Protocol) {
    let orders = store.latest_metric("orders").expect("counter");
    assert_eq!(
        orders.kind(),
        MetricKind::Sum {
            monotonic: true,
            temporality: Temporality::Cumulative
        }
    );
    let point = orders
        .point_with("region", "eu")
        .expect("point for region=eu");
    assert_eq!(point.value, PointValue::Int(7));
    assert_eq!(orders.point_count(), 1);
    assert_eq!(orders.service_name(), Some(service));
    assert_eq!(orders.protocol(), protocol);
}

fn assert_log(store: &Store, service: &str, protocol: Protocol) {
    let log = &store.logs()[0];
    assert_eq!(log.level(), Level::Warn);
    assert_eq!(log.severity_text(), "WARN");
    assert_eq!(log.body_text(), "disk almost full");
    assert_eq!(log.attribute("disk"), Some(AttrValue::from("/dev/sda")));
    assert_eq!(log.trace_id(), None, "emitted outside any span");
    assert_eq!(log.service_name(), Some(service));
    assert_eq!(log.protocol(), protocol);
}
