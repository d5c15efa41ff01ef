//! Where `workshop up` sends the services' telemetry: to a collector that is already
//! listening (the Docker platform, `workshop inspect`, or whatever `OTEL_EXPORTER_OTLP_ENDPOINT`
//! names), or else to a receiver built into `up` itself, so that attendees without Docker
//! see their telemetry arrive too.

use std::net::{Ipv4Addr, TcpListener};

use otlp_receiver::{Receiver, ReceiverConfig, Stats, Store};

/// The standard OTLP ports.
const GRPC_PORT: u16 = 4317;
const HTTP_PORT: u16 = 4318;

pub enum Collector {
    /// Our own receiver, on 127.0.0.1:4317 and :4318.
    BuiltIn(Receiver),
    /// Someone else's; the services are pointed at it (or left to their environment).
    External {
        endpoint: Option<String>,
        reason: String,
    },
}

impl Collector {
    /// Uses a collector that is already there, or starts the built-in receiver.
    pub async fn find_or_start() -> anyhow::Result<Collector> {
        if let Ok(endpoint) = std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT") {
            let reason = format!("exporting to {endpoint} (from OTEL_EXPORTER_OTLP_ENDPOINT)");
            return Ok(Collector::External {
                endpoint: None,
                reason,
            });
        }
        if taken(GRPC_PORT) || taken(HTTP_PORT) {
            let reason = "a collector is already listening on 4317/4318 (the Docker platform, or `workshop inspect`): exporting to it".into();
            return Ok(Collector::External {
                endpoint: Some(format!("http://127.0.0.1:{HTTP_PORT}")),
                reason,
            });
        }
        Ok(Collector::BuiltIn(
            Receiver::start(ReceiverConfig::default()).await?,
        ))
    }

    /// What the services need to export here.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        let endpoint = match self {
            Collector::BuiltIn(receiver) => Some(receiver.http_endpoint()),
            Collector::External { endpoint, .. } => endpoint.clone(),
        };
        match endpoint {
            Some(endpoint) => vec![
                ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint),
                ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf".into()),
            ],
            None => Vec::new(),
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Collector::BuiltIn(_) => {
                "built-in OTLP receiver on 127.0.0.1:4317 (gRPC) and :4318 (HTTP); watch what arrives with `cargo run -p workshop -- inspect`".into()
            }
            Collector::External { reason, .. } => reason.clone(),
        }
    }

    pub fn store(&self) -> Option<Store> {
        match self {
            Collector::BuiltIn(receiver) => Some(receiver.store()),
            Collector::External { .. } => None,
        }
    }

    pub async fn shutdown(self) {
        if let Collector::BuiltIn(receiver) = self {
            receiver.shutdown().await;
        }
    }
}

fn taken(port: u16) -> bool {
    TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_err()
}

/// One line about what the built-in receiver got, e.g. `telemetry received: 42 spans,
/// 18 log records, 6 metric points, from frontend, gateway`.
pub fn summary(store: &Store) -> String {
    let Stats {
        spans,
        logs,
        metric_points,
        ..
    } = store.stats();
    let total = |s: otlp_receiver::SignalStats| s.received.grpc + s.received.http;
    let mut services: Vec<String> = store
        .spans()
        .iter()
        .filter_map(|s| s.service_name().map(str::to_owned))
        .chain(
            store
                .logs()
                .iter()
                .filter_map(|l| l.service_name().map(str::to_owned)),
        )
        .chain(
            store
                .metrics()
                .iter()
                .filter_map(|m| m.service_name().map(str::to_owned)),
        )
        .collect();
    services.sort();
    services.dedup();
    let from = if services.is_empty() {
        String::new()
    } else {
        format!(", from {}", services.join(", "))
    };
    format!(
        "telemetry received: {} spans, {} log records, {} metric points{from}",
        total(spans),
        total(logs),
        total(metric_points)
    )
}
