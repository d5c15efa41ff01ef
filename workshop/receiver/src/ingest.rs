//! Unpacks OTLP export requests (resource → scope → items) into flat received items.
//!
//! Both transports decode into the same request types, so this is the one place that
//! walks the nesting; gRPC and HTTP only decide the [`Protocol`]. `crate::repack` is the
//! way back, for the tap.

use std::sync::Arc;
use std::time::SystemTime;

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;

use crate::log::ReceivedLog;
use crate::metric::ReceivedMetric;
use crate::origin::{Origin, Protocol, Sent};
use crate::span::ReceivedSpan;

pub(crate) fn spans(request: ExportTraceServiceRequest, protocol: Protocol) -> Vec<ReceivedSpan> {
    let now = SystemTime::now();
    let mut out = Vec::new();
    for resource_spans in request.resource_spans {
        for scope_spans in resource_spans.scope_spans {
            let sent = Sent {
                resource: resource_spans.resource.clone(),
                resource_schema_url: resource_spans.schema_url.clone(),
                scope: scope_spans.scope,
                scope_schema_url: scope_spans.schema_url,
            };
            let origin = Arc::new(Origin::new(sent, protocol, now));
            out.extend(scope_spans.spans.into_iter().map(|span| ReceivedSpan {
                origin: origin.clone(),
                span,
            }));
        }
    }
    out
}

pub(crate) fn logs(request: ExportLogsServiceRequest, protocol: Protocol) -> Vec<ReceivedLog> {
    let now = SystemTime::now();
    let mut out = Vec::new();
    for resource_logs in request.resource_logs {
        for scope_logs in resource_logs.scope_logs {
            let sent = Sent {
                resource: resource_logs.resource.clone(),
                resource_schema_url: resource_logs.schema_url.clone(),
                scope: scope_logs.scope,
                scope_schema_url: scope_logs.schema_url,
            };
            let origin = Arc::new(Origin::new(sent, protocol, now));
            out.extend(
                scope_logs
                    .log_records
                    .into_iter()
                    .map(|record| ReceivedLog {
                        origin: origin.clone(),
                        record,
                    }),
            );
        }
    }
    out
}

pub(crate) fn metrics(
    request: ExportMetricsServiceRequest,
    protocol: Protocol,
) -> Vec<ReceivedMetric> {
    let now = SystemTime::now();
    let mut out = Vec::new();
    for resource_metrics in request.resource_metrics {
        for scope_metrics in resource_metrics.scope_metrics {
            let sent = Sent {
                resource: resource_metrics.resource.clone(),
                resource_schema_url: resource_metrics.schema_url.clone(),
                scope: scope_metrics.scope,
                scope_schema_url: scope_metrics.schema_url,
            };
            let origin = Arc::new(Origin::new(sent, protocol, now));
            out.extend(
                scope_metrics
                    .metrics
                    .into_iter()
                    .map(|metric| ReceivedMetric {
                        origin: origin.clone(),
                        metric,
                    }),
            );
        }
    }
    out
}
