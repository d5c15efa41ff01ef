//! Unpacks OTLP export requests (resource → scope → items) into flat received items.
//!
//! Both transports decode into the same request types, so this is the one place that
//! walks the nesting; gRPC and HTTP only decide the [`Protocol`].

use std::sync::Arc;
use std::time::SystemTime;

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;

use crate::log::ReceivedLog;
use crate::metric::ReceivedMetric;
use crate::origin::{Origin, Protocol};
use crate::span::ReceivedSpan;

pub(crate) fn spans(request: ExportTraceServiceRequest, protocol: Protocol) -> Vec<ReceivedSpan> {
    let now = SystemTime::now();
    let mut out = Vec::new();
    for resource_spans in request.resource_spans {
        for scope_spans in resource_spans.scope_spans {
            let origin = Arc::new(Origin::new(
                resource_spans.resource.as_ref(),
                scope_spans.scope.as_ref(),
                protocol,
                now,
            ));
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
            let origin = Arc::new(Origin::new(
                resource_logs.resource.as_ref(),
                scope_logs.scope.as_ref(),
                protocol,
                now,
            ));
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
            let origin = Arc::new(Origin::new(
                resource_metrics.resource.as_ref(),
                scope_metrics.scope.as_ref(),
                protocol,
                now,
            ));
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
