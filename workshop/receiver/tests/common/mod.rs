//! Shared test helpers: a receiver on free ports, real SDK providers pointed at it, and
//! a minimal raw HTTP/1.1 client for sending deliberately broken requests.

#![allow(dead_code)] // each test binary uses a different subset

use std::net::SocketAddr;
use std::time::Duration;

use opentelemetry::KeyValue;
use opentelemetry::logs::{AnyValue, LogRecord as _, Logger as _, LoggerProvider as _, Severity};
use opentelemetry::metrics::MeterProvider as _;
use opentelemetry::trace::{
    Span as _, SpanKind, Status, TraceContextExt as _, Tracer as _, TracerProvider as _,
};
use opentelemetry_otlp::{
    Compression, LogExporter, MetricExporter, SpanExporter, WithExportConfig as _,
    WithHttpConfig as _, WithTonicConfig as _,
};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::logs::SdkLoggerProvider;
use opentelemetry_sdk::metrics::SdkMeterProvider;
use opentelemetry_sdk::trace::SdkTracerProvider;
use otlp_receiver::proto::collector::trace::v1::ExportTraceServiceRequest;
use otlp_receiver::proto::common::v1::{
    AnyValue as ProtoAny, KeyValue as ProtoKeyValue, any_value,
};
use otlp_receiver::proto::resource::v1::Resource as ProtoResource;
use otlp_receiver::proto::trace::v1::{ResourceSpans, ScopeSpans, Span as ProtoSpan};
use otlp_receiver::{Receiver, ReceiverConfig};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// The instrumentation scope every sample item is emitted under.
pub const SCOPE: &str = "receiver-tests";

pub async fn start_receiver() -> Receiver {
    Receiver::start(ReceiverConfig::ephemeral())
        .await
        .expect("receiver starts on free ports")
}

/// The three SDK providers of one simulated service.
pub struct Sdk {
    tracer: SdkTracerProvider,
    meter: SdkMeterProvider,
    logger: SdkLoggerProvider,
}

impl Sdk {
    /// OTLP/gRPC exporters (logs gzip-compressed). Must be called inside a tokio runtime.
    pub fn grpc(receiver: &Receiver, service: &str) -> Sdk {
        let endpoint = receiver.grpc_endpoint();
        let spans = SpanExporter::builder()
            .with_tonic()
            .with_endpoint(&endpoint)
            .build();
        let metrics = MetricExporter::builder()
            .with_tonic()
            .with_endpoint(&endpoint)
            .build();
        let logs = LogExporter::builder()
            .with_tonic()
            .with_endpoint(&endpoint)
            .with_compression(Compression::Gzip)
            .build();
        Sdk::new(service, spans.unwrap(), metrics.unwrap(), logs.unwrap())
    }

    /// OTLP/HTTP protobuf exporters (logs gzip-compressed) on the blocking reqwest client.
    pub fn http(receiver: &Receiver, service: &str) -> Sdk {
        let base = receiver.http_endpoint();
        let spans = SpanExporter::builder()
            .with_http()
            .with_endpoint(format!("{base}/v1/traces"))
            .build();
        let metrics = MetricExporter::builder()
            .with_http()
            .with_endpoint(format!("{base}/v1/metrics"))
            .build();
        let logs = LogExporter::builder()
            .with_http()
            .with_endpoint(format!("{base}/v1/logs"))
            .with_compression(Compression::Gzip)
            .build();
        Sdk::new(service, spans.unwrap(), metrics.unwrap(), logs.unwrap())
    }

    fn new(service: &str, spans: SpanExporter, metrics: MetricExporter, logs: LogExporter) -> Sdk {
        let resource = Resource::builder()
            .with_service_name(service.to_owned())
            .build();
        Sdk {
            tracer: SdkTracerProvider::builder()
                .with_batch_exporter(spans)
                .with_resource(resource.clone())
                .build(),
            meter: SdkMeterProvider::builder()
                .with_periodic_exporter(metrics)
                .with_resource(resource.clone())
                .build(),
            logger: SdkLoggerProvider::builder()
                .with_batch_exporter(logs)
                .with_resource(resource)
                .build(),
        }
    }

    /// Emits the sample the tests assert on: a server span `checkout` with a client
    /// child `lookup` (status error), counter `orders` = 5 + 2 for region=eu, and one
    /// WARN log record.
    pub fn emit_sample(&self) {
        let tracer = self.tracer.tracer(SCOPE);
        let parent = tracer
            .span_builder("checkout")
            .with_kind(SpanKind::Server)
            .with_attributes([KeyValue::new("http.route", "/orbit")])
            .start(&tracer);
        let cx = opentelemetry::Context::current_with_span(parent);
        let mut child = tracer
            .span_builder("lookup")
            .with_kind(SpanKind::Client)
            .with_attributes([KeyValue::new("db.rows", 3_i64)])
            .start_with_context(&tracer, &cx);
        child.set_status(Status::error("boom"));
        child.end();
        cx.span().end();

        let orders = self.meter.meter(SCOPE).u64_counter("orders").build();
        orders.add(5, &[KeyValue::new("region", "eu")]);
        orders.add(2, &[KeyValue::new("region", "eu")]);

        let logger = self.logger.logger(SCOPE);
        let mut record = logger.create_log_record();
        record.set_severity_number(Severity::Warn);
        record.set_severity_text("WARN");
        record.set_body(AnyValue::from("disk almost full"));
        record.add_attribute("disk", "/dev/sda");
        logger.emit(record);
    }

    /// Flushes and stops all providers. Shutdown blocks, so it runs on the blocking pool
    /// of a multi-thread runtime (REFERENCE pitfall 3).
    pub async fn shutdown(self) {
        tokio::task::spawn_blocking(move || {
            self.tracer.shutdown().expect("tracer provider flushes");
            self.meter.shutdown().expect("meter provider flushes");
            self.logger.shutdown().expect("logger provider flushes");
        })
        .await
        .expect("shutdown task");
    }
}

/// A trace export with one span per name, for tests that bypass the SDK.
pub fn trace_request(service: &str, names: &[&str]) -> ExportTraceServiceRequest {
    let spans = names
        .iter()
        .enumerate()
        .map(|(i, name)| ProtoSpan {
            trace_id: vec![1; 16],
            span_id: vec![i as u8 + 1; 8],
            name: (*name).to_owned(),
            ..Default::default()
        })
        .collect();
    let service_name = ProtoKeyValue {
        key: "service.name".into(),
        value: Some(ProtoAny {
            value: Some(any_value::Value::StringValue(service.into())),
        }),
        ..Default::default()
    };
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(ProtoResource {
                attributes: vec![service_name],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                spans,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

/// What a raw HTTP exchange returned.
pub struct RawResponse {
    pub status: u16,
    /// The response head, lower-cased, for header checks.
    pub head: String,
    pub body: Vec<u8>,
}

/// Sends one HTTP/1.1 request byte for byte, so tests control every header and body.
pub async fn raw_http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> RawResponse {
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\ncontent-length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");

    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream
        .write_all(request.as_bytes())
        .await
        .expect("write head");
    stream.write_all(body).await.expect("write body");
    let mut response = Vec::new();
    let read = stream.read_to_end(&mut response);
    tokio::time::timeout(Duration::from_secs(10), read)
        .await
        .expect("response in time")
        .expect("read");
    parse_response(&response)
}

fn parse_response(raw: &[u8]) -> RawResponse {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("complete response head");
    let head = String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status code");
    RawResponse {
        status,
        head,
        body: raw[split + 4..].to_vec(),
    }
}
