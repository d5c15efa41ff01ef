//! Published ports: each one bound to 127.0.0.1 on a fixed host port.

use serde_yaml_ng::Value;

use super::compose_services;
use crate::yaml::{get, get_str};

/// A published port: host address, host port, container port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedPort {
    pub host_ip: Option<String>,
    pub host_port: Option<String>,
    pub container_port: String,
}

/// A number or a string, as text: compose takes ports either way.
fn text(value: &Value) -> Option<String> {
    match value {
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) => Some(s.clone()),
        _ => None,
    }
}

/// One `ports` entry: `ip:host:container`, `host:container` or `container` (an IPv6 host
/// ip in [], a `/protocol` after), or the long syntax.
fn published_port(port: &Value) -> Option<PublishedPort> {
    if let Value::Mapping(_) = port {
        return Some(PublishedPort {
            host_ip: get_str(port, &["host_ip"]).map(str::to_owned),
            host_port: get(port, &["published"]).map(|v| text(v).unwrap_or_default()),
            container_port: get(port, &["target"]).and_then(text).unwrap_or_default(),
        });
    }
    let short = text(port)?;
    let short = short.split('/').next().unwrap_or_default();
    let (ip, rest) = match short.strip_prefix('[') {
        Some(r) => {
            let end = r.find(']').unwrap_or(r.len());
            (Some(r[..end].to_owned()), r.get(end + 2..).unwrap_or(""))
        }
        None => match short.splitn(3, ':').collect::<Vec<_>>()[..] {
            [ip, _, _] => (Some(ip.to_owned()), &short[ip.len() + 1..]),
            _ => (None, short),
        },
    };
    let (host_port, container_port) = match rest.split_once(':') {
        Some((h, c)) => (Some(h.to_owned()), c.to_owned()),
        None => (None, rest.to_owned()),
    };
    Some(PublishedPort {
        host_ip: ip,
        host_port,
        container_port,
    })
}

/// Every published port must be bound to 127.0.0.1 (attendees sit on shared wifi).
pub fn check_ports_loopback(doc: &Value, file: &str) -> Vec<String> {
    let mut problems = Vec::new();
    for (name, svc) in compose_services(doc) {
        for p in published_ports(&svc) {
            if p.host_ip.as_deref() != Some("127.0.0.1") {
                problems.push(format!(
                    "{file}: service `{name}` publishes container port {} on {} instead of 127.0.0.1 (reachable from the network)",
                    p.container_port,
                    p.host_ip.as_deref().unwrap_or("every interface"),
                ));
            }
            if p.host_port.is_none() {
                problems.push(format!(
                    "{file}: service `{name}` publishes container port {} on a random host port",
                    p.container_port
                ));
            }
        }
    }
    problems
}

/// The published ports of a service (short and long syntax).
pub fn published_ports(service: &Value) -> Vec<PublishedPort> {
    super::entries(service, "ports")
        .filter_map(published_port)
        .collect()
}
