//! The tap: a second store, following a receiver over `GET /v1/tap`, ends up with what
//! real SDK exporters sent to the receiver, also what they sent before it connected; a
//! follower that reconnects gets nothing twice from the same receiver and everything from a
//! new one; a reader that falls behind misses nothing; and the tap ends when the receiver
//! shuts down.

use crate::common;
use std::time::Duration;

use common::{Sdk, start_receiver, trace_request};
use otlp_receiver::proto::common::v1::{AnyValue, KeyValue, any_value};
use otlp_receiver::{Limits, Protocol, Receiver, Store, tap};

/// Reads tap lines from `url` into `store` until the connection ends.
async fn follow(url: String, store: Store) {
    let mut response = reqwest::get(&url).await.expect("the tap answers");
    assert_eq!(response.status(), 200);
    let mut pending = String::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        pending.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = pending.find('\n') {
            let line: String = pending.drain(..=end).collect();
            tap::ingest_line(&store, &line).expect("a valid tap line");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follower_sees_what_the_receiver_gets_over_both_protocols() {
    let receiver = start_receiver().await;
    let copy = Store::new(Limits::default());
    let url = format!("{}/v1/tap", receiver.http_endpoint());
    tokio::spawn(follow(url, copy.clone()));
    // The tap only carries what arrives after the follower connected.
    let connected = |s: &Store| s.followers() > 0;
    assert!(
        receiver
            .store()
            .wait_until(Duration::from_secs(5), connected)
            .await
    );

    for (sdk, service) in [
        (Sdk::grpc(&receiver, "tapped-grpc"), "tapped-grpc"),
        (Sdk::http(&receiver, "tapped-http"), "tapped-http"),
    ] {
        sdk.emit_sample();
        sdk.shutdown().await;
        let arrived = |s: &Store| {
            s.spans()
                .iter()
                .filter(|x| x.service_name() == Some(service))
                .count()
                == 2
        };
        assert!(
            copy.wait_until(Duration::from_secs(10), arrived).await,
            "{service}'s spans reach the follower"
        );
    }

    let (original, copied) = (receiver.store(), copy);
    let names = |s: &Store| {
        let mut names: Vec<String> = s
            .spans()
            .iter()
            .map(|x| format!("{}:{}", x.service_name().unwrap_or("?"), x.name()))
            .collect();
        names.sort();
        names
    };
    assert_eq!(names(&original), names(&copied));
    let ids = |s: &Store| {
        let mut ids: Vec<(String, Option<String>)> = s
            .spans()
            .iter()
            .map(|x| (x.span_id(), x.parent_span_id()))
            .collect();
        ids.sort();
        ids
    };
    assert_eq!(
        ids(&original),
        ids(&copied),
        "ids and parent links survive the round trip"
    );
    assert!(
        copied
            .wait_until(Duration::from_secs(5), |s| s.logs().len() == 2)
            .await
    );
    assert!(copied.latest_metric("orders").is_some());
    let protocols: Vec<Protocol> = copied.spans().iter().map(|x| x.protocol()).collect();
    assert!(protocols.contains(&Protocol::Grpc) && protocols.contains(&Protocol::Http));
    receiver.shutdown().await;
}

#[test]
fn a_line_that_is_not_a_tap_line_is_an_error_not_a_panic() {
    let store = Store::new(Limits::default());
    assert!(tap::ingest_line(&store, "garbage").is_err());
    assert!(
        tap::ingest_line(
            &store,
            r#"{"signal":"pings","protocol":"http","request":{}}"#
        )
        .is_err()
    );
    assert!(
        tap::ingest_line(
            &store,
            r#"{"signal":"traces","protocol":"http","request":{"resourceSpans":"x"}}"#
        )
        .is_err()
    );
    assert!(store.spans().is_empty());
}

/// Opens the tap of `receiver`, with `query` (e.g. `?instance=…&after=…`).
async fn open(receiver: &Receiver, query: &str) -> reqwest::Response {
    let url = format!("{}/v1/tap{query}", receiver.http_endpoint());
    let response = reqwest::get(&url).await.expect("the tap answers");
    assert_eq!(response.status(), 200);
    response
}

fn instance(response: &reqwest::Response) -> String {
    response.headers()[tap::INSTANCE_HEADER]
        .to_str()
        .unwrap()
        .to_owned()
}

/// Reads tap lines into `store` until `count` lines came (or the answer ended); returns
/// each line's `seq`.
async fn read(response: &mut reqwest::Response, store: &Store, count: usize) -> Vec<u64> {
    let mut seqs = Vec::new();
    let mut pending = Vec::new();
    while seqs.len() < count {
        let chunk = tokio::time::timeout(Duration::from_secs(20), response.chunk())
            .await
            .expect("tap lines come")
            .expect("the tap does not break");
        let Some(chunk) = chunk else { break };
        pending.extend_from_slice(&chunk);
        while let Some(end) = pending.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = pending.drain(..=end).collect();
            let seq = tap::ingest_line(store, &String::from_utf8_lossy(&line)).unwrap();
            seqs.push(seq);
        }
    }
    seqs
}

fn span_names(store: &Store) -> Vec<String> {
    let mut names: Vec<String> = store
        .spans()
        .iter()
        .map(|s| {
            format!(
                "{}:{}:{}",
                s.service_name().unwrap_or("?"),
                s.name(),
                s.span_id()
            )
        })
        .collect();
    names.sort();
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follower_that_connects_late_gets_what_the_receiver_holds_first() {
    let receiver = start_receiver().await;
    let early = Sdk::grpc(&receiver, "early");
    early.emit_sample();
    early.shutdown().await;
    let held = receiver.store().stats().requests;
    let held = (held.grpc + held.http) as usize;
    assert!(
        held >= 3,
        "spans, a metric and a log record arrived: {held} requests"
    );

    let copy = Store::new(Limits::default());
    let mut response = open(&receiver, "").await;
    let mut seqs = read(&mut response, &copy, held).await;
    assert_eq!(
        seqs,
        (1..=held as u64).collect::<Vec<_>>(),
        "the backlog: every request the receiver holds, once, in the order they came"
    );
    let late = Sdk::http(&receiver, "late");
    late.emit_sample();
    late.shutdown().await;
    let all = receiver.store().stats().requests;
    let all = (all.grpc + all.http) as usize;
    seqs.extend(read(&mut response, &copy, all - held).await);
    assert_eq!(seqs, (1..=all as u64).collect::<Vec<_>>(), "then live");

    let original = receiver.store();
    assert_eq!(span_names(&copy), span_names(&original));
    assert_eq!(copy.logs().len(), 2);
    for service in ["early", "late"] {
        let record = copy
            .logs()
            .into_iter()
            .find(|l| l.service_name() == Some(service))
            .unwrap();
        assert_eq!(record.body_text(), "disk almost full");
        assert_eq!(
            record.origin.scope.name,
            common::SCOPE,
            "the scope came along"
        );
    }
    let protocols: Vec<Protocol> = copy.spans().iter().map(|x| x.protocol()).collect();
    assert!(protocols.contains(&Protocol::Grpc) && protocols.contains(&Protocol::Http));
    receiver.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnecting_gets_nothing_twice_from_the_same_receiver_and_all_from_a_new_one() {
    let receiver = start_receiver().await;
    let store = receiver.store();
    for name in ["a", "b", "c"] {
        store.ingest_traces(trace_request("svc", &[name]), Protocol::Http);
    }
    let copy = Store::new(Limits::default());
    let mut first = open(&receiver, "").await;
    let seen = instance(&first);
    assert_eq!(seen, store.instance().to_string());
    assert_eq!(read(&mut first, &copy, 2).await, [1, 2]);
    drop(first);

    store.ingest_traces(trace_request("svc", &["d"]), Protocol::Http);
    // The same receiver: what came after the last line read, and no more.
    let mut again = open(&receiver, &format!("?instance={seen}&after=2")).await;
    assert_eq!(read(&mut again, &copy, 2).await, [3, 4]);
    let names: Vec<String> = copy.spans().iter().map(|s| s.name().to_owned()).collect();
    assert_eq!(names, ["a", "b", "c", "d"], "each span once, in order");

    // Another receiver's instance: this one is new to the follower, all of it is sent.
    let other = store.instance().wrapping_add(1);
    let mut fresh = open(&receiver, &format!("?instance={other}&after=3")).await;
    assert_eq!(read(&mut fresh, &Store::default(), 4).await, [1, 2, 3, 4]);
    receiver.shutdown().await;
}

/// Far more than the tap's live channel holds (1024 requests) and than the sockets buffer
/// between the two ends: the tap falls behind while nobody reads.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_that_falls_behind_misses_nothing_the_store_holds() {
    const REQUESTS: u64 = 5_000;
    let receiver = start_receiver().await;
    let store = receiver.store();
    let mut response = open(&receiver, "").await;
    let padding = KeyValue {
        key: "padding".into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue("x".repeat(4096))),
        }),
        ..Default::default()
    };
    for n in 0..REQUESTS {
        let mut request = trace_request("svc", &[&n.to_string()]);
        request.resource_spans[0].scope_spans[0].spans[0]
            .attributes
            .push(padding.clone());
        store.ingest_traces(request, Protocol::Http);
    }
    let copy = Store::new(Limits::default());
    let seqs = read(&mut response, &copy, REQUESTS as usize).await;
    assert_eq!(seqs, (1..=REQUESTS).collect::<Vec<_>>());
    let names: Vec<String> = copy.spans().iter().map(|s| s.name().to_owned()).collect();
    let expected: Vec<String> = (0..REQUESTS).map(|n| n.to_string()).collect();
    assert_eq!(names, expected);
    receiver.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tap_ends_cleanly_when_the_receiver_shuts_down() {
    let receiver = start_receiver().await;
    receiver
        .store()
        .ingest_traces(trace_request("svc", &["a"]), Protocol::Http);
    let mut response = open(&receiver, "").await;
    assert_eq!(read(&mut response, &Store::default(), 1).await, [1]);
    receiver.shutdown().await;
    // The answer ends as an HTTP answer ends, not cut off by the shutdown's grace period.
    let end = tokio::time::timeout(Duration::from_secs(10), response.chunk())
        .await
        .expect("the tap's answer ends");
    assert!(matches!(end, Ok(None)), "{end:?}");
}
