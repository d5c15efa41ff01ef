//! The collector's pipelines and exporters: every component a pipeline names is defined, and
//! every exporter reaches a backend that listens where it sends.

use std::collections::BTreeSet;

use serde_yaml_ng::Value;

use crate::listeners::{Listeners, check_endpoint_target};
use crate::yaml::{get, get_str, keys, strings};

/// The component type of an id: `otlp_grpc/tempo` -> `otlp_grpc`.
pub fn component_type(id: &str) -> &str {
    id.split('/').next().unwrap_or(id)
}

/// Every pipeline names only receivers, processors, exporters (and connectors) that
/// are defined; every defined pipeline has a receiver and an exporter; every extension
/// in `service.extensions` is defined.
pub fn check_collector_pipelines(cfg: &Value, file: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let receivers: BTreeSet<String> = keys(cfg.get("receivers")).into_iter().collect();
    let processors: BTreeSet<String> = keys(cfg.get("processors")).into_iter().collect();
    let exporters: BTreeSet<String> = keys(cfg.get("exporters")).into_iter().collect();
    let connectors: BTreeSet<String> = keys(cfg.get("connectors")).into_iter().collect();
    let extensions: BTreeSet<String> = keys(cfg.get("extensions")).into_iter().collect();
    for ext in strings(get(cfg, &["service", "extensions"])) {
        if !extensions.contains(&ext) {
            problems.push(format!(
                "{file}: service.extensions names `{ext}`, which is not defined under extensions"
            ));
        }
    }
    let pipelines = get(cfg, &["service", "pipelines"]).and_then(Value::as_mapping);
    let Some(pipelines) = pipelines.filter(|p| !p.is_empty()) else {
        problems.push(format!("{file}: no service.pipelines"));
        return problems;
    };
    for (name, p) in pipelines {
        let name = name.as_str().unwrap_or("?");
        let signal = component_type(name);
        if !matches!(signal, "traces" | "metrics" | "logs" | "profiles") {
            problems.push(format!(
                "{file}: pipeline `{name}` is not traces, metrics, logs or profiles"
            ));
        }
        for (kind, defined, extra) in [
            ("receivers", &receivers, Some(&connectors)),
            ("processors", &processors, None),
            ("exporters", &exporters, Some(&connectors)),
        ] {
            let ids = strings(p.get(kind));
            if kind != "processors" && ids.is_empty() {
                problems.push(format!("{file}: pipeline `{name}` has no {kind}"));
            }
            for id in ids {
                if !defined.contains(&id) && !extra.is_some_and(|c| c.contains(&id)) {
                    problems.push(format!(
                        "{file}: pipeline `{name}` uses {kind} `{id}`, which is not defined under {kind}"
                    ));
                }
            }
        }
        let procs = strings(p.get("processors"));
        if procs.first().map(|s| component_type(s)) != Some("memory_limiter") {
            problems.push(format!(
                "{file}: pipeline `{name}` does not start with the memory_limiter processor"
            ));
        }
    }
    problems
}

/// The exporters that some pipeline uses.
pub fn used_exporters(cfg: &Value) -> BTreeSet<String> {
    get(cfg, &["service", "pipelines"])
        .and_then(Value::as_mapping)
        .into_iter()
        .flatten()
        .flat_map(|(_, p)| strings(p.get("exporters")))
        .collect()
}

/// Every used exporter with an endpoint sends to a compose service on a port it
/// listens on; gRPC exporters to plain-text backends say so (`tls.insecure` or
/// `http://`); receivers are reachable from outside the container.
pub fn check_collector_endpoints(cfg: &Value, listeners: &Listeners, file: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let used = used_exporters(cfg);
    for (id, exporter) in cfg
        .get("exporters")
        .and_then(Value::as_mapping)
        .into_iter()
        .flatten()
    {
        let Some(id) = id.as_str() else { continue };
        let Some(endpoint) = get_str(exporter, &["endpoint"]) else {
            if matches!(
                component_type(id),
                "otlp_grpc" | "otlp_http" | "otlp" | "otlphttp"
            ) {
                problems.push(format!("{file}: exporter `{id}` has no endpoint"));
            }
            continue;
        };
        if !used.contains(id) {
            continue;
        }
        if let Some(p) =
            check_endpoint_target(&format!("exporter `{id}`"), endpoint, listeners, file)
        {
            problems.push(p);
        }
        let ty = component_type(id);
        if matches!(ty, "otlp" | "otlphttp") {
            problems.push(format!(
                "{file}: exporter `{id}` uses the deprecated type name `{ty}` (otlp_grpc / otlp_http since v0.144)"
            ));
        }
        if ty == "otlp_grpc" || ty == "otlp" {
            let insecure =
                get(exporter, &["tls", "insecure"]).and_then(Value::as_bool) == Some(true);
            if !insecure && !endpoint.starts_with("http://") {
                problems.push(format!(
                    "{file}: exporter `{id}` would use TLS towards `{endpoint}`: set tls.insecure: true or an http:// endpoint"
                ));
            }
        }
        if ty == "otlp_http"
            && !endpoint.starts_with("http://")
            && !endpoint.starts_with("https://")
        {
            problems.push(format!(
                "{file}: exporter `{id}`: `{endpoint}` needs a scheme"
            ));
        }
    }
    problems
}

/// The connectors that turn spans into metrics for Prometheus.
const SPANS_TO_METRICS: [&str; 2] = ["span_metrics", "service_graph"];

/// One pipeline of a config, by the names of its components.
struct Pipeline {
    name: String,
    receivers: Vec<String>,
    processors: Vec<String>,
    exporters: Vec<String>,
}

impl Pipeline {
    /// `traces`, `metrics` or `logs`.
    fn signal(&self) -> &str {
        component_type(&self.name)
    }
}

/// The pipelines of a config.
fn pipelines(cfg: &Value) -> Vec<Pipeline> {
    get(cfg, &["service", "pipelines"])
        .and_then(Value::as_mapping)
        .into_iter()
        .flatten()
        .map(|(name, p)| Pipeline {
            name: name.as_str().unwrap_or("?").to_owned(),
            receivers: strings(p.get("receivers")),
            processors: strings(p.get("processors")),
            exporters: strings(p.get("exporters")),
        })
        .collect()
}

/// The RED metrics (`span_metrics`) and the service graph (`service_graph`) are computed in
/// the collector, from every span: each connector is fed by a traces pipeline, no traces
/// pipeline that feeds it samples (`tail_sampling`), and a metrics pipeline takes its
/// output. A sampler in front of one would count a tenth of the calls, and inflate the
/// share of errors (every error trace is kept).
pub fn check_span_metrics_before_sampling(cfg: &Value, file: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let pipelines = pipelines(cfg);
    for connector in SPANS_TO_METRICS {
        let ids: Vec<String> = keys(cfg.get("connectors"))
            .into_iter()
            .filter(|id| component_type(id) == connector)
            .collect();
        if ids.is_empty() {
            problems.push(format!(
                "{file}: no `{connector}` connector: the collector must compute it from every span"
            ));
        }
        for id in ids {
            let feeding: Vec<_> = pipelines
                .iter()
                .filter(|p| p.signal() == "traces" && p.exporters.contains(&id))
                .collect();
            if feeding.is_empty() {
                problems.push(format!("{file}: no traces pipeline exports to `{id}`"));
            }
            for pipeline in feeding {
                if pipeline
                    .processors
                    .iter()
                    .any(|p| component_type(p) == "tail_sampling")
                {
                    let name = &pipeline.name;
                    problems.push(format!(
                        "{file}: pipeline `{name}` samples (tail_sampling) before `{id}`: it would count only the sampled traces"
                    ));
                }
            }
            if !pipelines
                .iter()
                .any(|p| p.signal() == "metrics" && p.receivers.contains(&id))
            {
                problems.push(format!(
                    "{file}: no metrics pipeline receives from `{id}`: its metrics go nowhere"
                ));
            }
        }
    }
    problems
}

/// Once a config redacts (it defines `transform/redact`, section 6), every traces and logs
/// pipeline that receives what the services send and exports it (to a backend, to Jaeger,
/// to the debug exporter's console) runs that processor: an overlay's pipeline that skips
/// it sends out what people typed.
pub fn check_every_pipeline_redacts(cfg: &Value, file: &str) -> Vec<String> {
    const REDACT: &str = "transform/redact";
    if get(cfg, &["processors", REDACT]).is_none() {
        return Vec::new();
    }
    let receivers: BTreeSet<String> = keys(cfg.get("receivers")).into_iter().collect();
    pipelines(cfg)
        .into_iter()
        .filter(|p| {
            matches!(p.signal(), "traces" | "logs")
                && p.receivers.iter().any(|r| receivers.contains(r))
        })
        .filter(|p| !p.processors.iter().any(|name| name == REDACT))
        .map(|Pipeline { name, exporters, .. }| {
            format!(
                "{file}: pipeline `{name}` sends to {exporters:?} without `{REDACT}`: what people typed leaves the collector there"
            )
        })
        .collect()
}
