//! The way back from stored items to export requests, for the tap: each item keeps the
//! resource and scope it came with (`Origin::sent`), so a batch of items becomes the
//! request that carried them (the same groups, in the same order, schema URLs included).

use std::sync::Arc;

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::logs::v1::{ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::metrics::v1::{ResourceMetrics, ScopeMetrics};
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans};

use crate::log::ReceivedLog;
use crate::metric::ReceivedMetric;
use crate::origin::{Origin, Sent};
use crate::span::ReceivedSpan;

/// Items of one resource, by scope, in order.
struct ResourceGroup<'a, T> {
    sent: &'a Sent,
    scopes: Vec<(&'a Sent, Vec<&'a T>)>,
}

/// Splits `items` into their resource and scope groups: items of one group share one
/// `Origin` (see `crate::ingest`); consecutive groups with the same resource share a
/// resource group, as they did in the request.
fn groups<'a, T>(items: &'a [T], origin: impl Fn(&T) -> &Arc<Origin>) -> Vec<ResourceGroup<'a, T>> {
    let mut out: Vec<ResourceGroup<'a, T>> = Vec::new();
    let mut last: Option<&Arc<Origin>> = None;
    for item in items {
        let this = origin(item);
        let same_scope = last.is_some_and(|last| Arc::ptr_eq(last, this));
        last = Some(this);
        let sent = &this.sent;
        match out.last_mut() {
            Some(group) if same_scope => group
                .scopes
                .last_mut()
                .expect("a group has a scope")
                .1
                .push(item),
            Some(group)
                if group.sent.resource == sent.resource
                    && group.sent.resource_schema_url == sent.resource_schema_url =>
            {
                group.scopes.push((sent, vec![item]));
            }
            _ => out.push(ResourceGroup {
                sent,
                scopes: vec![(sent, vec![item])],
            }),
        }
    }
    out
}

pub(crate) fn traces(spans: &[ReceivedSpan]) -> ExportTraceServiceRequest {
    let resource_spans = groups(spans, |s| &s.origin)
        .into_iter()
        .map(|group| ResourceSpans {
            resource: group.sent.resource.clone(),
            schema_url: group.sent.resource_schema_url.clone(),
            scope_spans: group
                .scopes
                .into_iter()
                .map(|(sent, spans)| ScopeSpans {
                    scope: sent.scope.clone(),
                    schema_url: sent.scope_schema_url.clone(),
                    spans: spans.into_iter().map(|s| s.span.clone()).collect(),
                })
                .collect(),
        })
        .collect();
    ExportTraceServiceRequest { resource_spans }
}

pub(crate) fn logs(logs: &[ReceivedLog]) -> ExportLogsServiceRequest {
    let resource_logs = groups(logs, |l| &l.origin)
        .into_iter()
        .map(|group| ResourceLogs {
            resource: group.sent.resource.clone(),
            schema_url: group.sent.resource_schema_url.clone(),
            scope_logs: group
                .scopes
                .into_iter()
                .map(|(sent, logs)| ScopeLogs {
                    scope: sent.scope.clone(),
                    schema_url: sent.scope_schema_url.clone(),
                    log_records: logs.into_iter().map(|l| l.record.clone()).collect(),
                })
                .collect(),
        })
        .collect();
    ExportLogsServiceRequest { resource_logs }
}

pub(crate) fn metrics(metrics: &[ReceivedMetric]) -> ExportMetricsServiceRequest {
    let resource_metrics = groups(metrics, |m| &m.origin)
        .into_iter()
        .map(|group| ResourceMetrics {
            resource: group.sent.resource.clone(),
            schema_url: group.sent.resource_schema_url.clone(),
            scope_metrics: group
                .scopes
                .into_iter()
                .map(|(sent, metrics)| ScopeMetrics {
                    scope: sent.scope.clone(),
                    schema_url: sent.scope_schema_url.clone(),
                    metrics: metrics.into_iter().map(|m| m.metric.clone()).collect(),
                })
                .collect(),
        })
        .collect();
    ExportMetricsServiceRequest { resource_metrics }
}
