//! OTLP/gRPC edge cases: a message that is not valid protobuf is refused with an error
//! status, and the server goes on serving.

use crate::common;
use common::{start_receiver, trace_request};
use otlp_receiver::proto::collector::trace::v1::trace_service_client::TraceServiceClient;
use prost::bytes::{Buf as _, BufMut as _};
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::codegen::http::uri::PathAndQuery;
use tonic::transport::Channel;
use tonic::{Code, Status};

/// Passes bytes through untouched, so the test can put any payload in a gRPC frame.
#[derive(Clone, Copy, Default)]
struct RawCodec;

impl Codec for RawCodec {
    type Encode = Vec<u8>;
    type Decode = Vec<u8>;
    type Encoder = RawCodec;
    type Decoder = RawCodec;

    fn encoder(&mut self) -> RawCodec {
        RawCodec
    }

    fn decoder(&mut self) -> RawCodec {
        RawCodec
    }
}

impl Encoder for RawCodec {
    type Item = Vec<u8>;
    type Error = Status;

    fn encode(&mut self, item: Vec<u8>, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put_slice(&item);
        Ok(())
    }
}

impl Decoder for RawCodec {
    type Item = Vec<u8>;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Vec<u8>>, Status> {
        Ok(Some(src.copy_to_bytes(src.remaining()).to_vec()))
    }
}

const EXPORT_TRACES: &str = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

#[tokio::test]
async fn garbage_message_gets_an_error_status_and_the_server_keeps_serving() {
    let receiver = start_receiver().await;
    let channel = Channel::from_shared(receiver.grpc_endpoint())
        .unwrap()
        .connect()
        .await
        .unwrap();

    let mut raw = tonic::client::Grpc::new(channel.clone());
    raw.ready().await.unwrap();
    let garbage = vec![0x0a, 0x7f, 0x01]; // a field announcing 127 bytes that never come
    let path = PathAndQuery::from_static(EXPORT_TRACES);
    let status = raw
        .unary(tonic::Request::new(garbage), path, RawCodec)
        .await
        .expect_err("garbage must be refused");
    // tonic answers undecodable messages with INTERNAL ("failed to decode Protobuf message").
    assert!(
        matches!(status.code(), Code::Internal | Code::InvalidArgument),
        "{status:?}"
    );
    assert!(receiver.store().spans().is_empty());

    let mut client = TraceServiceClient::new(channel);
    client
        .export(trace_request("svc", &["after-garbage"]))
        .await
        .expect("valid export");
    assert_eq!(receiver.store().spans()[0].name(), "after-garbage");
    receiver.shutdown().await;
}

#[tokio::test]
async fn messages_over_the_limit_are_refused() {
    let limits = otlp_receiver::Limits {
        max_request_bytes: 64,
        ..Default::default()
    };
    let config = otlp_receiver::ReceiverConfig::ephemeral().with_limits(limits);
    let receiver = otlp_receiver::Receiver::start(config).await.unwrap();
    let mut client = TraceServiceClient::connect(receiver.grpc_endpoint())
        .await
        .unwrap();

    let names: Vec<String> = (0..20).map(|i| format!("span-{i}")).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let status = client
        .export(trace_request("svc", &names))
        .await
        .expect_err("too large");
    assert_eq!(status.code(), Code::OutOfRange, "{status:?}"); // tonic's answer to oversized messages
    receiver.shutdown().await;
}
