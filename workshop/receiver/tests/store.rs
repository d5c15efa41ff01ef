//! Store behaviour without the network: eviction, stats, waiting and the live feed.

use crate::common;
use std::time::Duration;

use common::trace_request;
use otlp_receiver::proto::collector::metrics::v1::ExportMetricsServiceRequest;
use otlp_receiver::proto::metrics::v1::{
    Gauge, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, metric, number_data_point,
};
use otlp_receiver::{Arrival, Limits, Protocol, Store};

fn limited(max: usize) -> Store {
    Store::new(Limits {
        max_spans: max,
        max_logs: max,
        max_metric_points: max,
        ..Limits::default()
    })
}

/// A gauge named `name` with `points` data points.
fn gauge_request(name: &str, points: usize) -> ExportMetricsServiceRequest {
    let point = NumberDataPoint {
        value: Some(number_data_point::Value::AsDouble(1.5)),
        ..Default::default()
    };
    let metric = Metric {
        name: name.into(),
        data: Some(metric::Data::Gauge(Gauge {
            data_points: vec![point; points],
        })),
        ..Default::default()
    };
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            scope_metrics: vec![ScopeMetrics {
                metrics: vec![metric],
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

#[test]
fn eviction_keeps_the_newest_spans_and_counts_the_dropped() {
    let store = limited(3);
    store.ingest_traces(trace_request("svc", &["a", "b"]), Protocol::Grpc);
    store.ingest_traces(trace_request("svc", &["c", "d", "e"]), Protocol::Http);

    let names: Vec<String> = store.spans().iter().map(|s| s.name().to_owned()).collect();
    assert_eq!(names, ["c", "d", "e"]);
    let stats = store.stats().spans;
    assert_eq!((stats.received.grpc, stats.received.http), (2, 3));
    assert_eq!(stats.dropped, 2);
    assert_eq!(stats.stored, 3);
}

#[test]
fn metric_limit_counts_data_points() {
    let store = limited(5);
    store.ingest_metrics(gauge_request("old", 3), Protocol::Grpc);
    store.ingest_metrics(gauge_request("new", 4), Protocol::Grpc);

    let names: Vec<String> = store
        .metrics()
        .iter()
        .map(|m| m.name().to_owned())
        .collect();
    assert_eq!(names, ["new"]);
    let stats = store.stats().metric_points;
    assert_eq!(
        (stats.received.total(), stats.dropped, stats.stored),
        (7, 3, 4)
    );
    assert_eq!(
        store.latest_metric("new").unwrap().points()[0]
            .value
            .as_f64(),
        Some(1.5)
    );
}

#[test]
fn clear_empties_without_counting_drops() {
    let store = limited(10);
    store.ingest_traces(trace_request("svc", &["a"]), Protocol::Grpc);
    store.clear();
    assert!(store.spans().is_empty());
    assert_eq!(store.stats().spans.dropped, 0);
    assert_eq!(store.stats().spans.received.total(), 1);
}

#[tokio::test]
async fn wait_until_sees_later_arrivals_and_times_out_otherwise() {
    let store = Store::default();
    let writer = store.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(50)).await;
        writer.ingest_traces(trace_request("svc", &["late"]), Protocol::Grpc);
    });
    let found = store
        .wait_until(Duration::from_secs(5), |s| s.find_span("late").is_some())
        .await;
    assert!(found);

    let never = store
        .wait_until(Duration::from_millis(50), |s| s.spans().len() > 1)
        .await;
    assert!(!never);
}

#[tokio::test]
async fn subscribers_get_each_batch() {
    let store = Store::default();
    let mut arrivals = store.subscribe();
    store.ingest_traces(trace_request("svc", &["a", "b"]), Protocol::Http);
    store.ingest_metrics(gauge_request("g", 1), Protocol::Grpc);

    match arrivals.recv().await.unwrap().arrival {
        Arrival::Spans(spans) => {
            assert_eq!(spans.len(), 2);
            assert_eq!(spans[0].service_name(), Some("svc"));
        }
        other => panic!("expected spans, got {other:?}"),
    }
    assert!(
        matches!(arrivals.recv().await.unwrap().arrival, Arrival::Metrics(m) if m[0].name() == "g")
    );
}

#[test]
fn a_follower_starts_from_what_is_stored_in_the_order_it_came() {
    let store = limited(2);
    store.ingest_traces(trace_request("svc", &["a"]), Protocol::Http);
    store.ingest_metrics(gauge_request("g", 1), Protocol::Grpc);
    store.ingest_traces(trace_request("svc", &["b"]), Protocol::Http);
    let follow = store.follow(0);
    let backlog: Vec<(u64, usize)> = follow
        .backlog
        .iter()
        .map(|b| (b.seq, b.arrival.len()))
        .collect();
    assert_eq!(
        backlog,
        [(1, 1), (2, 1), (3, 1)],
        "requests by number, signals mixed"
    );
    assert!(matches!(&follow.backlog[1].arrival, Arrival::Metrics(m) if m[0].name() == "g"));
    assert_eq!(
        store.follow(2).backlog.len(),
        1,
        "only what came after request 2"
    );
    assert!(store.follow(3).backlog.is_empty());

    // Evicted items are gone from the backlog too: it is what the store holds.
    store.ingest_traces(trace_request("svc", &["c"]), Protocol::Http);
    let spans: Vec<u64> = store
        .follow(0)
        .backlog
        .iter()
        .filter(|b| matches!(b.arrival, Arrival::Spans(_)))
        .map(|b| b.seq)
        .collect();
    assert_eq!(spans, [3, 4]);
}

#[tokio::test]
async fn what_arrives_after_follow_is_live_and_not_in_the_backlog() {
    let store = Store::default();
    store.ingest_traces(trace_request("svc", &["a"]), Protocol::Http);
    let mut follow = store.follow(0);
    store.ingest_traces(trace_request("svc", &["b"]), Protocol::Http);
    assert_eq!(follow.backlog.len(), 1);
    assert_eq!(follow.live.recv().await.unwrap().seq, 2);
    assert!(
        follow.live.try_recv().is_err(),
        "request 1 is not sent live"
    );
}
