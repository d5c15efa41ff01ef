//! The collector's own metrics, from end to end: the dashboard's Collector row queries them,
//! the collector serves them, and Prometheus scrapes them under the names the row queries.

use serde_yaml_ng::Value;

use crate::yaml::get;

/// What the dashboard's Collector row must show of the collector's own metrics: what it
/// takes in, refuses, sends on, and holds in its exporters' queues.
pub const COLLECTOR_ROW_METRICS: [&str; 4] = [
    "otelcol_receiver_accepted_spans",
    "otelcol_receiver_refused_spans",
    "otelcol_exporter_sent_spans",
    "otelcol_exporter_queue_size",
];

/// The ports on which the collector serves its own metrics for scraping
/// (`service.telemetry.metrics.readers[].pull.exporter.prometheus.port`).
pub fn collector_telemetry_ports(cfg: &Value) -> Vec<String> {
    get(cfg, &["service", "telemetry", "metrics", "readers"])
        .and_then(Value::as_sequence)
        .into_iter()
        .flatten()
        .filter_map(|reader| get(reader, &["pull", "exporter", "prometheus", "port"]))
        .filter_map(|port| match port {
            Value::Number(n) => Some(n.to_string()),
            Value::String(s) => Some(s.clone()),
            _ => None,
        })
        .collect()
}

/// The dashboard's panels about the collector (`dashboard_promql`'s expressions) show the
/// metrics of [`COLLECTOR_ROW_METRICS`], and those metrics reach Prometheus: the collector
/// (`collector`, its merged config; `host`, its compose service) serves them on a port,
/// and a scrape job of `prometheus` (prometheus.yaml) reads that port. The job must ask for
/// underscore names: some of the collector's own names and labels hold dots
/// (`otelcol_processor_filter_spans.filtered`, `otel.signal`), which Prometheus 3 would
/// otherwise store as they are, while the dashboard and chapters query underscores.
/// `files` names the dashboard, the collector's config and prometheus.yaml in the messages.
#[cfg(feature = "promql")]
pub fn check_collector_self_metrics(
    dashboard_promql: &[(String, String)],
    collector: &Value,
    host: &str,
    prometheus: &Value,
    files: (&str, &str, &str),
) -> Vec<String> {
    use crate::yaml::{get_str, strings};
    let (dashboard, collector_file, prometheus_file) = files;
    let mut problems = Vec::new();
    let mut queried = std::collections::BTreeSet::new();
    for (panel, expr) in dashboard_promql {
        match crate::promql::promql_metric_names(expr) {
            Ok(names) => queried.extend(names.into_iter().filter(|n| n.starts_with("otelcol_"))),
            Err(why) => problems.push(format!("{dashboard}: {panel}: {why}")),
        }
    }
    for metric in COLLECTOR_ROW_METRICS {
        if !queried.contains(metric) {
            problems.push(format!(
                "{dashboard}: no panel shows the collector's `{metric}`"
            ));
        }
    }
    if queried.is_empty() {
        return problems;
    }
    let ports = collector_telemetry_ports(collector);
    if ports.is_empty() {
        problems.push(format!(
            "{collector_file}: the collector serves no metrics of its own to scrape (service.telemetry.metrics.readers: pull, prometheus), yet {dashboard} queries {}",
            queried.iter().cloned().collect::<Vec<_>>().join(", ")
        ));
        return problems;
    }
    let targets: Vec<String> = ports.iter().map(|port| format!("{host}:{port}")).collect();
    let jobs = get(prometheus, &["scrape_configs"])
        .and_then(Value::as_sequence)
        .cloned()
        .unwrap_or_default();
    let job = jobs.iter().find(|job| {
        get(job, &["static_configs"])
            .and_then(Value::as_sequence)
            .into_iter()
            .flatten()
            .flat_map(|config| strings(get(config, &["targets"])))
            .any(|target| targets.contains(&target))
    });
    match job {
        None => problems.push(format!(
            "{prometheus_file}: no scrape job reads the collector's own metrics at {}, which {dashboard} queries",
            targets.join(" or ")
        )),
        Some(job) => {
            if get_str(job, &["metric_name_escaping_scheme"]) != Some("underscores") {
                problems.push(format!(
                    "{prometheus_file}: scrape job `{}` keeps the collector's dotted names and labels; {dashboard} queries underscore names: set `metric_name_escaping_scheme: underscores`",
                    get_str(job, &["job_name"]).unwrap_or("?")
                ));
            }
        }
    }
    problems
}
