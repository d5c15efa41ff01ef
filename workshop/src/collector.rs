//! Where `workshop up` sends the services' telemetry: to a collector that is already
//! listening (the Docker platform, `workshop inspect`, or whatever `OTEL_EXPORTER_OTLP_ENDPOINT`
//! names), or else to a receiver built into `up` itself, so that attendees without Docker
//! see their telemetry arrive too.
//!
//! With `--collector` (section 6 without Docker), `up` runs the real OpenTelemetry
//! Collector on the working tree's `platform/otel-collector/config.yaml`, with the
//! `no-docker` overlay that points its exporters at the built-in receiver (on 4319 and
//! 4320): the services send to the collector, and what the collector lets through arrives
//! at the receiver, where `workshop inspect --from http://127.0.0.1:4320` shows it.

use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail};
use otlp_receiver::{Receiver, ReceiverConfig, Store};
use platform_live::collector::{Collector, Wiring, config_files};

use crate::harness::{self, Env};
use crate::inspect::{lines::received, model};

/// The standard OTLP ports.
const GRPC_PORT: u16 = 4317;
const HTTP_PORT: u16 = 4318;
/// Where the built-in receiver listens behind the real collector (the `no-docker`
/// overlay's defaults).
const BEHIND_GRPC_PORT: u16 = 4319;
const BEHIND_HTTP_PORT: u16 = 4320;
/// The real collector's health check and own metrics, as in compose.
const HEALTH_PORT: u16 = 13133;
const TELEMETRY_PORT: u16 = 8888;
/// The overlays `up --collector` runs the config with.
const NO_DOCKER: [&str; 2] = ["quiet", "no-docker"];

/// Where `up` sends the services' telemetry.
pub enum Telemetry {
    /// Our own receiver, on 127.0.0.1:4317 and :4318.
    BuiltIn(Receiver),
    /// The real collector on 4317 and 4318, sending on to our receiver on 4319 and 4320
    /// (declared first: it is stopped, and drains into the receiver, first).
    Real {
        collector: Box<Collector>,
        program: PathBuf,
        receiver: Receiver,
    },
    /// Someone else's; the services are pointed at it (or left to their environment).
    External {
        endpoint: Option<String>,
        reason: String,
    },
}

impl Telemetry {
    /// Uses a collector that is already there, or starts the built-in receiver.
    pub async fn find_or_start() -> anyhow::Result<Telemetry> {
        if let Ok(endpoint) = std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT") {
            let reason = format!("exporting to {endpoint} (from OTEL_EXPORTER_OTLP_ENDPOINT)");
            return Ok(Telemetry::External {
                endpoint: None,
                reason,
            });
        }
        if taken(GRPC_PORT) || taken(HTTP_PORT) {
            let reason = "a collector is already listening on 4317/4318 (the Docker platform, or `workshop inspect`): exporting to it".into();
            return Ok(Telemetry::External {
                endpoint: Some(format!("http://127.0.0.1:{HTTP_PORT}")),
                reason,
            });
        }
        Ok(Telemetry::BuiltIn(
            Receiver::start(ReceiverConfig::default()).await?,
        ))
    }

    /// Starts the real collector (`program`, or the build of
    /// `cargo run -p platform-live --bin build-platform -- otelcol`) on `tree`'s config, in
    /// front of the built-in receiver.
    pub async fn start_real(tree: &Path, program: Option<PathBuf>) -> anyhow::Result<Telemetry> {
        let program = match program {
            Some(program) => program,
            None => platform_live::programs::collector_binary(tree).map_err(|e| {
                anyhow!("{e}; or pass the otelcol-contrib release binary (0.159.0) with --collector PROGRAM")
            })?,
        };
        for port in [GRPC_PORT, HTTP_PORT] {
            if taken(port) {
                bail!(
                    "port {port} is taken (the Docker platform's collector, or `workshop inspect`?): stop it, or run `up` without --collector"
                );
            }
        }
        let loopback = |port: u16| SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let receiver = Receiver::start(ReceiverConfig {
            grpc: loopback(BEHIND_GRPC_PORT),
            http: loopback(BEHIND_HTTP_PORT),
            ..ReceiverConfig::default()
        })
        .await?;
        let wiring = Wiring {
            otlp_grpc: GRPC_PORT,
            otlp_http: HTTP_PORT,
            health: HEALTH_PORT,
            telemetry: TELEMETRY_PORT,
            tempo: receiver.grpc_addr(),
            prometheus: receiver.http_addr(),
            loki: receiver.http_addr(),
            jaeger: receiver.grpc_addr(),
        };
        let files = config_files(tree, &NO_DOCKER);
        let collector = Collector::start(&program, &files, &wiring)
            .await
            .map_err(|why| anyhow!("the collector ({}) did not start: {why}", program.display()))?;
        Ok(Telemetry::Real {
            collector: Box::new(collector),
            program,
            receiver,
        })
    }

    /// What the services need to export here.
    pub fn env(&self) -> Env {
        let endpoint = match self {
            Telemetry::BuiltIn(receiver) => Some(receiver.http_endpoint()),
            Telemetry::Real { .. } => Some(format!("http://127.0.0.1:{HTTP_PORT}")),
            Telemetry::External { endpoint, .. } => endpoint.clone(),
        };
        let protocol = "http/protobuf".to_owned();
        let pairs = endpoint.map(|endpoint| {
            [
                ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint),
                ("OTEL_EXPORTER_OTLP_PROTOCOL", protocol),
            ]
        });
        harness::env(pairs.into_iter().flatten())
    }

    pub fn describe(&self) -> String {
        match self {
            Telemetry::BuiltIn(_) => {
                "built-in OTLP receiver on 127.0.0.1:4317 (gRPC) and :4318 (HTTP); watch what arrives with `cargo run -p workshop -- inspect`".into()
            }
            Telemetry::Real { program, .. } => format!(
                "the OpenTelemetry Collector ({}) on 127.0.0.1:{GRPC_PORT} and :{HTTP_PORT}, with \
                 platform/otel-collector/config.yaml; what it lets through goes to the built-in \
                 receiver on :{BEHIND_GRPC_PORT} and :{BEHIND_HTTP_PORT}: watch it with `cargo run \
                 -p workshop -- inspect --from http://127.0.0.1:{BEHIND_HTTP_PORT}`; the \
                 collector's own metrics are on http://127.0.0.1:{TELEMETRY_PORT}/metrics",
                program.display()
            ),
            Telemetry::External { reason, .. } => reason.clone(),
        }
    }

    pub fn store(&self) -> Option<Store> {
        match self {
            Telemetry::BuiltIn(receiver) | Telemetry::Real { receiver, .. } => {
                Some(receiver.store())
            }
            Telemetry::External { .. } => None,
        }
    }

    /// Stops what `up` started. The real collector first: it drains its queues (and
    /// decides the traces it still holds) into the receiver.
    pub async fn shutdown(self) {
        match self {
            Telemetry::BuiltIn(receiver) => receiver.shutdown().await,
            Telemetry::Real {
                mut collector,
                receiver,
                ..
            } => {
                collector.stop().await;
                receiver.shutdown().await;
            }
            Telemetry::External { .. } => {}
        }
    }
}

fn taken(port: u16) -> bool {
    TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_err()
}

/// One line about what the built-in receiver got, e.g. `telemetry received: 42 spans,
/// 18 log records, 6 metric points, from frontend, gateway`.
pub fn summary(store: &Store) -> String {
    let services = model::services(&store.spans(), &store.logs(), &store.metrics());
    let from = if services.is_empty() {
        String::new()
    } else {
        format!(", from {}", services.join(", "))
    };
    format!("telemetry received: {}{from}", received(&store.stats()))
}
