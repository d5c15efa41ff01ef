//! Which ports each platform service listens on, read from its own config, and whether an
//! endpoint that names a service reaches one of them from another container.

use std::collections::BTreeMap;
use std::path::Path;

use serde_yaml_ng::Value;

use crate::compose::{command_args, compose_services, flag_values};
use crate::configs::{collector_config, collector_env_defaults, config_file_of};
use crate::endpoint::Endpoint;
use crate::yaml::{entries, get, get_str, parse_yaml};

/// Ports a service listens on, with whether the listener is reachable from other
/// containers (bound to all interfaces).
pub type Listeners = BTreeMap<String, BTreeMap<u16, bool>>;

fn add_listener(l: &mut Listeners, service: &str, endpoint: &str, default_port: Option<u16>) {
    if let Some(ep) = Endpoint::parse(endpoint)
        && let Some(port) = ep.port.or(default_port)
    {
        l.entry(service.to_owned())
            .or_default()
            .insert(port, ep.binds_all_interfaces(service));
    }
}

/// Receiver and extension endpoints of an OpenTelemetry-Collector-style config (the
/// collector and Jaeger v2).
fn collector_listeners(l: &mut Listeners, service: &str, cfg: &Value) {
    for (_, receiver) in entries(cfg, &["receivers"]) {
        if let Some(e) = get_str(receiver, &["endpoint"]) {
            add_listener(l, service, e, None);
        }
        for (proto, settings) in entries(receiver, &["protocols"]) {
            let default = match proto.as_str() {
                Some("grpc") => "localhost:4317",
                Some("http") => "localhost:4318",
                _ => "",
            };
            let e = get_str(settings, &["endpoint"]).unwrap_or(default);
            add_listener(l, service, e, None);
        }
    }
    for (_, ext) in entries(cfg, &["extensions"]) {
        for e in [
            get_str(ext, &["endpoint"]),
            get_str(ext, &["http", "endpoint"]),
        ]
        .into_iter()
        .flatten()
        {
            add_listener(l, service, e, None);
        }
    }
}

/// What every service of a platform compose file listens on, read from each
/// component's own config (Tempo's OTLP receivers, Loki's and Tempo's HTTP ports, ...).
pub fn platform_listeners(doc: &Value, root: &Path) -> (Listeners, Vec<String>) {
    let mut l = Listeners::new();
    let mut problems = Vec::new();
    for (name, svc) in compose_services(doc) {
        let image = get_str(&svc, &["image"]).unwrap_or("");
        let cfg = || -> Option<Value> {
            let path = config_file_of(&svc, root)?;
            let name = path.display().to_string();
            let text = std::fs::read_to_string(&path).ok()?;
            // Collector-style configs (the collector's, Jaeger's) may use ${env:X:-d}.
            let text = collector_env_defaults(&text, &name).ok()?;
            parse_yaml(&text, &name).ok()
        };
        if image.contains("opentelemetry-collector") {
            let (cfg, p) = collector_config(&svc, root, "compose");
            problems.extend(p);
            collector_listeners(&mut l, &name, &cfg);
        } else if image.contains("prometheus/prometheus") {
            let args = command_args(&svc);
            let addr = flag_values(&args, "web.listen-address")
                .pop()
                .unwrap_or_else(|| "0.0.0.0:9090".to_owned());
            add_listener(&mut l, &name, &addr, None);
        } else if image.contains("grafana/tempo") {
            let Some(cfg) = cfg() else {
                problems.push(format!("service `{name}`: Tempo config not found"));
                continue;
            };
            let port = get(&cfg, &["server", "http_listen_port"])
                .and_then(Value::as_u64)
                .unwrap_or(3200) as u16;
            l.entry(name.clone()).or_default().insert(port, true);
            let protocols = ["distributor", "receivers", "otlp", "protocols"];
            for (proto, settings) in entries(&cfg, &protocols) {
                // Tempo 2.7+ binds its receivers to localhost unless told otherwise.
                let default = match proto.as_str() {
                    Some("grpc") => "localhost:4317",
                    _ => "localhost:4318",
                };
                let e = get_str(settings, &["endpoint"]).unwrap_or(default);
                add_listener(&mut l, &name, e, None);
            }
        } else if image.contains("grafana/loki") {
            let port = cfg()
                .and_then(|c| get(&c, &["server", "http_listen_port"]).and_then(Value::as_u64))
                .unwrap_or(3100) as u16;
            l.entry(name.clone()).or_default().insert(port, true);
        } else if image.contains("grafana/grafana") {
            l.entry(name.clone()).or_default().insert(3000, true);
        } else if image.contains("jaeger") {
            if let Some(cfg) = cfg() {
                collector_listeners(&mut l, &name, &cfg);
            }
            l.entry(name.clone()).or_default().insert(16686, true);
        }
    }
    (l, problems)
}

/// `host:port` of an endpoint must be a compose service listening there on all
/// interfaces.
pub fn check_endpoint_target(
    what: &str,
    endpoint: &str,
    listeners: &Listeners,
    file: &str,
) -> Option<String> {
    let Some(ep) = Endpoint::parse(endpoint) else {
        return Some(format!(
            "{file}: {what}: cannot parse endpoint `{endpoint}`"
        ));
    };
    let Some(ports) = listeners.get(&ep.host) else {
        return Some(format!(
            "{file}: {what} sends to `{endpoint}`, but `{}` is not a service of the compose file",
            ep.host
        ));
    };
    let Some(port) = ep.port else {
        return Some(format!("{file}: {what}: endpoint `{endpoint}` has no port"));
    };
    match ports.get(&port) {
        None => Some(format!(
            "{file}: {what} sends to `{endpoint}`, but `{}` listens on {:?}, not on {port}",
            ep.host,
            ports.keys().collect::<Vec<_>>()
        )),
        Some(false) => Some(format!(
            "{file}: {what} sends to `{endpoint}`, but `{}` binds port {port} to localhost only (unreachable from other containers)",
            ep.host
        )),
        Some(true) => None,
    }
}
