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

/// The published ports of a service (short and long syntax).
pub fn published_ports(service: &Value) -> Vec<PublishedPort> {
    let mut out = Vec::new();
    for p in service
        .get("ports")
        .and_then(Value::as_sequence)
        .into_iter()
        .flatten()
    {
        match p {
            Value::String(_) | Value::Number(_) => {
                let s = match p {
                    Value::String(s) => s.clone(),
                    Value::Number(n) => n.to_string(),
                    _ => unreachable!(),
                };
                let s = s.split('/').next().unwrap_or(&s).to_owned();
                // ip:host:container, host:container or container; an IPv6 host ip is in [].
                let (ip, rest) = if let Some(r) = s.strip_prefix('[') {
                    let end = r.find(']').unwrap_or(r.len());
                    (
                        Some(r[..end].to_owned()),
                        r.get(end + 2..).unwrap_or("").to_owned(),
                    )
                } else {
                    let parts: Vec<&str> = s.split(':').collect();
                    if parts.len() == 3 {
                        (
                            Some(parts[0].to_owned()),
                            format!("{}:{}", parts[1], parts[2]),
                        )
                    } else {
                        (None, s.clone())
                    }
                };
                let (host_port, container_port) = match rest.split_once(':') {
                    Some((h, c)) => (Some(h.to_owned()), c.to_owned()),
                    None => (None, rest),
                };
                out.push(PublishedPort {
                    host_ip: ip,
                    host_port,
                    container_port,
                });
            }
            Value::Mapping(_) => out.push(PublishedPort {
                host_ip: get_str(p, &["host_ip"]).map(str::to_owned),
                host_port: get(p, &["published"]).map(|v| match v {
                    Value::Number(n) => n.to_string(),
                    Value::String(s) => s.clone(),
                    _ => String::new(),
                }),
                container_port: get(p, &["target"])
                    .map(|v| match v {
                        Value::Number(n) => n.to_string(),
                        Value::String(s) => s.clone(),
                        _ => String::new(),
                    })
                    .unwrap_or_default(),
            }),
            _ => {}
        }
    }
    out
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
