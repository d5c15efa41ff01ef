//! OTLP/HTTP edge cases: bad bodies, content types, gzip, size limits, JSON and CORS.

use crate::common;
use std::io::Write as _;

use common::{raw_http, start_receiver, trace_request};
use flate2::Compression;
use flate2::write::GzEncoder;
use otlp_receiver::{Limits, Receiver, ReceiverConfig};
use prost::Message as _;

const PROTOBUF: (&str, &str) = ("content-type", "application/x-protobuf");
const JSON: (&str, &str) = ("content-type", "application/json");

/// Field 1 (resource_spans) announcing 127 bytes that never come.
const TRUNCATED_PROTOBUF: &[u8] = &[0x0a, 0x7f, 0x01];

/// `google.rpc.Status` as the receiver encodes it in error bodies.
#[derive(Clone, PartialEq, prost::Message)]
struct RpcStatus {
    #[prost(int32, tag = "1")]
    code: i32,
    #[prost(string, tag = "2")]
    message: String,
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

#[tokio::test]
async fn garbage_protobuf_gets_400_and_the_receiver_keeps_working() {
    let receiver = start_receiver().await;
    let addr = receiver.http_addr();

    let bad = raw_http(addr, "POST", "/v1/traces", &[PROTOBUF], TRUNCATED_PROTOBUF).await;
    assert_eq!(bad.status, 400);
    let status = RpcStatus::decode(bad.body.as_slice()).expect("google.rpc.Status body");
    assert_eq!(status.code, tonic::Code::InvalidArgument as i32);
    assert!(status.message.contains("decode"), "{}", status.message);

    let good = trace_request("svc", &["after-garbage"]).encode_to_vec();
    let ok = raw_http(addr, "POST", "/v1/traces", &[PROTOBUF], &good).await;
    assert_eq!(ok.status, 200);
    assert!(ok.head.contains("content-type: application/x-protobuf"));

    let store = receiver.store();
    assert_eq!(store.spans()[0].name(), "after-garbage");
    assert_eq!(store.stats().http_rejected, 1);
    receiver.shutdown().await;
}

#[tokio::test]
async fn unsupported_content_type_gets_415() {
    let receiver = start_receiver().await;
    let body = trace_request("svc", &["x"]).encode_to_vec();

    let plain = [("content-type", "text/plain")];
    let response = raw_http(receiver.http_addr(), "POST", "/v1/logs", &plain, &body).await;
    assert_eq!(response.status, 415);
    let status: serde_json::Value = serde_json::from_slice(&response.body).expect("JSON status");
    assert!(
        status["message"].as_str().unwrap().contains("text/plain"),
        "{status}"
    );

    let missing = raw_http(receiver.http_addr(), "POST", "/v1/logs", &[], &body).await;
    assert_eq!(missing.status, 415);
    assert!(receiver.store().logs().is_empty());
    receiver.shutdown().await;
}

#[tokio::test]
async fn gzip_bodies_are_decompressed() {
    let receiver = start_receiver().await;
    let body = gzip(&trace_request("svc", &["zipped"]).encode_to_vec());

    let headers = [PROTOBUF, ("content-encoding", "gzip")];
    let response = raw_http(receiver.http_addr(), "POST", "/v1/traces", &headers, &body).await;
    assert_eq!(response.status, 200);
    assert_eq!(receiver.store().spans()[0].name(), "zipped");
    receiver.shutdown().await;
}

#[tokio::test]
async fn bodies_over_the_limit_get_413_even_when_they_compress_well() {
    let limits = Limits {
        max_request_bytes: 1024,
        ..Limits::default()
    };
    let receiver = Receiver::start(ReceiverConfig::ephemeral().with_limits(limits))
        .await
        .unwrap();
    let addr = receiver.http_addr();

    let large = vec![0_u8; 4096];
    let response = raw_http(addr, "POST", "/v1/metrics", &[PROTOBUF], &large).await;
    assert_eq!(response.status, 413);

    // A few dozen bytes on the wire, 4 KiB once inflated: the limit applies after gzip.
    let bomb = gzip(&large);
    assert!(bomb.len() < 1024);
    let headers = [PROTOBUF, ("content-encoding", "gzip")];
    let response = raw_http(addr, "POST", "/v1/metrics", &headers, &bomb).await;
    assert_eq!(response.status, 413);
    let status = RpcStatus::decode(response.body.as_slice()).expect("google.rpc.Status body");
    assert_eq!(status.code, tonic::Code::ResourceExhausted as i32);
    receiver.shutdown().await;
}

#[tokio::test]
async fn otlp_json_is_accepted_and_answered_in_json() {
    let receiver = start_receiver().await;
    let body = serde_json::json!({
        "resourceSpans": [{
            "resource": { "attributes": [
                { "key": "service.name", "value": { "stringValue": "browser" } }
            ]},
            "scopeSpans": [{
                "scope": { "name": "web", "version": "1.2" },
                "spans": [{
                    "traceId": "5b8efff798038103d269b633813fc60c",
                    "spanId": "eee19b7ec3c1b174",
                    "name": "click",
                    "kind": 3,
                    "startTimeUnixNano": "1544712660000000000",
                    "endTimeUnixNano": "1544712661000000000",
                    "attributes": [{ "key": "clicks", "value": { "intValue": "2" } }]
                }]
            }]
        }]
    });
    let bytes = serde_json::to_vec(&body).unwrap();
    let response = raw_http(receiver.http_addr(), "POST", "/v1/traces", &[JSON], &bytes).await;
    assert_eq!(
        response.status,
        200,
        "{}",
        String::from_utf8_lossy(&response.body)
    );
    assert!(response.head.contains("content-type: application/json"));

    let span = &receiver.store().spans()[0];
    assert_eq!(span.trace_id(), "5b8efff798038103d269b633813fc60c");
    assert_eq!(span.span_id(), "eee19b7ec3c1b174");
    assert_eq!(span.kind(), otlp_receiver::SpanKind::Client);
    assert_eq!(span.attribute("clicks").and_then(|v| v.as_i64()), Some(2));
    assert_eq!(span.duration(), std::time::Duration::from_secs(1));
    assert_eq!(span.service_name(), Some("browser"));
    assert_eq!(span.origin.scope.version, "1.2");
    receiver.shutdown().await;
}

#[tokio::test]
async fn invalid_json_gets_400_with_a_json_status() {
    let receiver = start_receiver().await;
    let response = raw_http(
        receiver.http_addr(),
        "POST",
        "/v1/traces",
        &[JSON],
        b"{\"resourceSpans\": 7}",
    )
    .await;
    assert_eq!(response.status, 400);
    let status: serde_json::Value = serde_json::from_slice(&response.body).expect("JSON status");
    assert_eq!(status["code"], tonic::Code::InvalidArgument as i32);
    assert!(
        status["message"].as_str().unwrap().contains("OTLP/JSON"),
        "{status}"
    );
    receiver.shutdown().await;
}

#[tokio::test]
async fn cors_preflight_allows_any_origin() {
    let receiver = start_receiver().await;
    let headers = [
        ("origin", "http://localhost:3000"),
        ("access-control-request-method", "POST"),
        ("access-control-request-headers", "content-type"),
    ];
    let response = raw_http(receiver.http_addr(), "OPTIONS", "/v1/traces", &headers, b"").await;
    assert_eq!(response.status, 200);
    assert!(
        response.head.contains("access-control-allow-origin: *"),
        "{}",
        response.head
    );
    receiver.shutdown().await;
}

#[tokio::test]
async fn a_path_prefix_serves_otlp_where_a_backend_has_it_and_only_there() {
    // Loki takes OTLP at /otlp/v1/logs; the live platform test stands in for it.
    let receiver = Receiver::start(ReceiverConfig::ephemeral().with_http_path_prefix("/otlp/"))
        .await
        .unwrap();
    let addr = receiver.http_addr();
    let body = trace_request("svc", &["under-prefix"]).encode_to_vec();

    let plain = raw_http(addr, "POST", "/v1/traces", &[PROTOBUF], &body).await;
    assert_eq!(plain.status, 404, "the unprefixed path is not served");
    let prefixed = raw_http(addr, "POST", "/otlp/v1/traces", &[PROTOBUF], &body).await;
    assert_eq!(prefixed.status, 200);
    assert_eq!(receiver.store().spans()[0].name(), "under-prefix");
    receiver.shutdown().await;
}
