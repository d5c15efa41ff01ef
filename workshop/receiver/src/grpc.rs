//! OTLP/gRPC: the three collector services, served by tonic.
//!
//! tonic decodes (and gunzips) the request before our code runs, so a malformed message
//! is answered by tonic with an error status and never reaches the store.

use std::future::Future;

use opentelemetry_proto::tonic::collector::logs::v1::logs_service_server::{
    LogsService, LogsServiceServer,
};
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_server::{
    MetricsService, MetricsServiceServer,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use tokio::net::TcpListener;
use tonic::codec::CompressionEncoding;
use tonic::transport::server::TcpIncoming;
use tonic::{Request, Response, Status};

use crate::origin::Protocol;
use crate::store::Store;

/// Implements all three services by handing requests to the store.
#[derive(Clone)]
struct Sink(Store);

#[tonic::async_trait]
impl TraceService for Sink {
    async fn export(
        &self,
        request: Request<ExportTraceServiceRequest>,
    ) -> Result<Response<ExportTraceServiceResponse>, Status> {
        self.0.ingest_traces(request.into_inner(), Protocol::Grpc);
        Ok(Response::new(ExportTraceServiceResponse::default()))
    }
}

#[tonic::async_trait]
impl LogsService for Sink {
    async fn export(
        &self,
        request: Request<ExportLogsServiceRequest>,
    ) -> Result<Response<ExportLogsServiceResponse>, Status> {
        self.0.ingest_logs(request.into_inner(), Protocol::Grpc);
        Ok(Response::new(ExportLogsServiceResponse::default()))
    }
}

#[tonic::async_trait]
impl MetricsService for Sink {
    async fn export(
        &self,
        request: Request<ExportMetricsServiceRequest>,
    ) -> Result<Response<ExportMetricsServiceResponse>, Status> {
        self.0.ingest_metrics(request.into_inner(), Protocol::Grpc);
        Ok(Response::new(ExportMetricsServiceResponse::default()))
    }
}

/// Serves the three services on `listener` until `shutdown` resolves.
///
/// Each service accepts gzip (SDKs enable it with `OTEL_EXPORTER_OTLP_COMPRESSION=gzip`)
/// and refuses messages over `max_bytes` (tonic answers OUT_OF_RANGE).
pub(crate) async fn serve(
    listener: TcpListener,
    store: Store,
    max_bytes: usize,
    shutdown: impl Future<Output = ()>,
) -> Result<(), tonic::transport::Error> {
    let sink = Sink(store);
    let traces = TraceServiceServer::new(sink.clone())
        .accept_compressed(CompressionEncoding::Gzip)
        .max_decoding_message_size(max_bytes);
    let logs = LogsServiceServer::new(sink.clone())
        .accept_compressed(CompressionEncoding::Gzip)
        .max_decoding_message_size(max_bytes);
    let metrics = MetricsServiceServer::new(sink)
        .accept_compressed(CompressionEncoding::Gzip)
        .max_decoding_message_size(max_bytes);
    tonic::transport::Server::builder()
        .add_service(traces)
        .add_service(logs)
        .add_service(metrics)
        .serve_with_incoming_shutdown(TcpIncoming::from(listener), shutdown)
        .await
}
