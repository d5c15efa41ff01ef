//! The tap: a second store, following a receiver over `GET /v1/tap`, ends up with what
//! real SDK exporters sent to the receiver.

use crate::common;
use std::time::Duration;

use common::{Sdk, start_receiver};
use otlp_receiver::{Limits, Protocol, Store, tap};

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
    let connected = |s: &Store| s.tap_listeners() > 0;
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
