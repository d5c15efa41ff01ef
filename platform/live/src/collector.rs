//! The real collector on the project's own config files, run with the backends wherever
//! its caller put them (`workshop up --collector`, `check 6`, the live tests).
//!
//! The config files are used as they are: only the `${env:…}` variables they declare
//! (listen addresses, backend addresses) are set.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::process::Command;

pub use crate::exposition::Sample;
use crate::process::{Ports, Process};

pub const CONFIG: &str = "platform/otel-collector/config.yaml";
pub const OVERLAYS: &str = "platform/otel-collector/overlays";
/// The room's overlay (`workshop room serve`, docker-compose.room.yml): authentication,
/// TLS, and each resource's `workshop.attendee` from the token that sent it.
pub const ROOM_OVERLAY: &str = "platform/room/collector.yaml";

/// The config file followed by the named overlays, as compose passes them.
pub fn config_files(repo: &Path, overlays: &[&str]) -> Vec<PathBuf> {
    std::iter::once(repo.join(CONFIG))
        .chain(
            overlays
                .iter()
                .map(|o| repo.join(OVERLAYS).join(format!("{o}.yaml"))),
        )
        .collect()
}

/// The room's files, as compose passes them: config.yaml, the quiet overlay, the room's.
pub fn room_config_files(repo: &Path) -> Vec<PathBuf> {
    let mut files = config_files(repo, &["quiet"]);
    files.push(repo.join(ROOM_OVERLAY));
    files
}

/// Where the collector listens and where its backends are, as `${env:…}` values.
#[derive(Clone, Debug)]
pub struct Wiring {
    pub otlp_grpc: u16,
    pub otlp_http: u16,
    pub health: u16,
    pub telemetry: u16,
    pub tempo: SocketAddr,
    pub prometheus: SocketAddr,
    pub loki: SocketAddr,
    pub jaeger: SocketAddr,
}

impl Wiring {
    /// Fresh ports for the collector's own listeners; the backends' addresses are given.
    pub fn new(
        ports: &mut Ports,
        tempo: SocketAddr,
        prometheus: SocketAddr,
        loki: SocketAddr,
        jaeger: SocketAddr,
    ) -> Wiring {
        Wiring {
            otlp_grpc: ports.take(),
            otlp_http: ports.take(),
            health: ports.take(),
            telemetry: ports.take(),
            tempo,
            prometheus,
            loki,
            jaeger,
        }
    }

    /// The variables, by the names the config files use.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            (
                "OTELCOL_OTLP_GRPC_ENDPOINT",
                format!("127.0.0.1:{}", self.otlp_grpc),
            ),
            (
                "OTELCOL_OTLP_HTTP_ENDPOINT",
                format!("127.0.0.1:{}", self.otlp_http),
            ),
            (
                "OTELCOL_HEALTH_ENDPOINT",
                format!("127.0.0.1:{}", self.health),
            ),
            ("OTELCOL_TELEMETRY_HOST", "127.0.0.1".into()),
            ("OTELCOL_TELEMETRY_PORT", self.telemetry.to_string()),
            ("TEMPO_ADDRESS", self.tempo.to_string()),
            ("PROMETHEUS_ADDRESS", self.prometheus.to_string()),
            ("LOKI_ADDRESS", self.loki.to_string()),
            ("JAEGER_ADDRESS", self.jaeger.to_string()),
        ]
    }

    /// `http://127.0.0.1:<port>`, for the services' OTEL_EXPORTER_OTLP_ENDPOINT.
    pub fn otlp_http_endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.otlp_http)
    }
}

/// A running collector.
pub struct Collector {
    pub process: Process,
    pub wiring: Wiring,
}

impl Collector {
    /// Starts the collector on `files` and waits for its health check (a config it refuses
    /// ends it at once).
    pub async fn start(
        binary: &Path,
        files: &[PathBuf],
        wiring: &Wiring,
    ) -> Result<Collector, String> {
        Collector::start_with(binary, files, wiring, &[]).await
    }

    /// Like [`Collector::start`], with more variables for the files (the room overlay's
    /// `ROOM_*`), which override the wiring's.
    pub async fn start_with(
        binary: &Path,
        files: &[PathBuf],
        wiring: &Wiring,
        env: &[(&str, String)],
    ) -> Result<Collector, String> {
        let mut command = Command::new(binary);
        command.envs(wiring.env());
        command.envs(env.iter().map(|(k, v)| (k, v)));
        for file in files {
            command.arg(format!("--config={}", file.display()));
        }
        let mut process = Process::spawn("otelcol", command, false)
            .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
        let health = format!("http://127.0.0.1:{}/", wiring.health);
        if let Err(why) = process.ready(&health, Duration::from_secs(20)).await {
            let output = process.output().tail(30);
            return Err(format!(
                "the collector did not become healthy ({why}):\n{output}"
            ));
        }
        Ok(Collector {
            process,
            wiring: wiring.clone(),
        })
    }

    /// Stops it gracefully: it drains its queues into the backends first.
    pub async fn stop(&mut self) {
        self.process.stop(Duration::from_secs(15)).await;
    }

    /// Its own metrics (`otelcol_*`), summed by metric name and the label `exporter` or
    /// `receiver` when there is one: `otelcol_exporter_sent_spans_total{otlp_grpc/tempo}`.
    pub async fn telemetry(&self) -> Result<BTreeMap<String, f64>, String> {
        Ok(crate::exposition::totals_by_component(
            &self.telemetry_text().await?,
        ))
    }

    /// Its own metrics, every sample with all its labels.
    pub async fn samples(&self) -> Result<Vec<Sample>, String> {
        Ok(crate::exposition::samples(&self.telemetry_text().await?))
    }

    async fn telemetry_text(&self) -> Result<String, String> {
        let url = format!("http://127.0.0.1:{}/metrics", self.wiring.telemetry);
        crate::http::client()
            .get(&url)
            .send()
            .await
            .map_err(|e| format!("{url}: {e}"))?
            .text()
            .await
            .map_err(|e| format!("{url}: {e}"))
    }
}
