//! The room's programs, natively, from the builds the live tests use (`cargo run -p
//! platform-live --bin build-platform`): the real collector on config.yaml + the quiet
//! overlay + the room's overlay, and the real Prometheus on the repository's config with
//! compose's flags. Without Docker there is no Tempo or Loki: the collector sends traces
//! and logs to the workshop's own OTLP receiver, in this process, where `workshop inspect`
//! can watch them.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::time::Duration;

use otlp_receiver::{Receiver, ReceiverConfig};
use platform_live::collector::{Collector, Wiring, room_config_files};
use platform_live::process::Process;
use platform_live::programs::{Program, executable};
use platform_live::prometheus::{self, COLLECTOR_TARGET};

use super::dir::RoomDir;
use super::settings::Settings;

/// Where the room listens: the OTLP ports on `bind` (the venue's network), the rest on
/// this machine only.
#[derive(Clone, Copy, Debug)]
pub struct Ports {
    pub bind: IpAddr,
    pub grpc: u16,
    pub http: u16,
    pub prometheus: u16,
    pub health: u16,
    pub telemetry: u16,
}

pub struct RoomPlatform {
    collector: Collector,
    prometheus: Process,
    receiver: Receiver,
    pub ports: Ports,
}

impl RoomPlatform {
    /// Starts the receiver, Prometheus and then the collector, which sends to both.
    pub async fn start(repo: &Path, room: &RoomDir, ports: Ports) -> Result<RoomPlatform, String> {
        let collector_binary = executable(repo, Program::Collector, "otelcol-workshop")?;
        let prometheus_binary = executable(repo, Program::Prometheus, "prometheus")?;
        let loopback = |port: u16| SocketAddr::from((Ipv4Addr::LOCALHOST, port));

        // Loki takes OTLP under /otlp; the collector's exporter appends /v1/logs to it.
        let receiver = Receiver::start(ReceiverConfig::ephemeral().with_http_path_prefix("/otlp"))
            .await
            .map_err(|e| format!("cannot start the receiver for traces and logs: {e}"))?;

        let data = room.prometheus_data();
        let mut flags = prometheus::flags(repo, loopback(ports.prometheus), &data)?;
        prometheus::scrape(
            &mut flags,
            &data.with_extension("yaml"),
            &[(COLLECTOR_TARGET, loopback(ports.telemetry))],
        )?;
        let prometheus = prometheus::launch(&prometheus_binary, &flags, ports.prometheus).await?;

        let wiring = Wiring {
            otlp_grpc: ports.grpc,
            otlp_http: ports.http,
            health: ports.health,
            telemetry: ports.telemetry,
            tempo: receiver.grpc_addr(),
            prometheus: loopback(ports.prometheus),
            loki: receiver.http_addr(),
            jaeger: receiver.grpc_addr(),
        };
        let env = room_env(room, &ports);
        let files = room_config_files(repo);
        let collector = Collector::start_with(&collector_binary, &files, &wiring, &env).await?;
        Ok(RoomPlatform {
            collector,
            prometheus,
            receiver,
            ports,
        })
    }

    /// Where `workshop inspect --from` finds the traces and logs.
    pub fn receiver_url(&self) -> String {
        format!("http://{}/otlp", self.receiver.http_addr())
    }

    /// The program that has stopped by itself, if one has, with its last lines.
    pub fn stopped(&mut self) -> Option<String> {
        let programs = [&mut self.collector.process, &mut self.prometheus];
        programs.into_iter().find_map(|p| {
            p.exited()
                .map(|status| format!("{} stopped ({status}):\n{}", p.name(), p.output().tail(20)))
        })
    }

    /// The collector first, so that what it still holds reaches Prometheus and the
    /// receiver; then those two.
    pub async fn stop(mut self) {
        self.collector.stop().await;
        self.prometheus.stop(Duration::from_secs(15)).await;
        self.receiver.shutdown().await;
    }
}

/// The room overlay's variables: its files in the room's directory, its OTLP listeners on
/// `bind` (the wiring puts them on loopback).
fn room_env(room: &RoomDir, ports: &Ports) -> Vec<(&'static str, String)> {
    let path = |p: std::path::PathBuf| p.display().to_string();
    vec![
        ("ROOM_TOKENS", path(room.tokens())),
        ("ROOM_TLS_CERT", path(room.server_cert())),
        ("ROOM_TLS_KEY", path(room.server_key())),
        (
            "OTELCOL_OTLP_GRPC_ENDPOINT",
            SocketAddr::new(ports.bind, ports.grpc).to_string(),
        ),
        (
            "OTELCOL_OTLP_HTTP_ENDPOINT",
            SocketAddr::new(ports.bind, ports.http).to_string(),
        ),
    ]
}

/// The room's files as `room init` left them, checked before anything starts: the
/// settings, a token file the collector reads as meant, and the TLS files.
pub fn check(room: &RoomDir) -> Result<Settings, String> {
    let settings_file = room.settings();
    let shown = settings_file.display().to_string();
    let text = std::fs::read_to_string(&settings_file).map_err(|e| {
        format!(
            "{shown}: {e}: is {} a room? (`workshop room init` makes one)",
            room.root().display()
        )
    })?;
    let settings = Settings::parse(&text, &shown)?;
    let tokens_file = room.tokens();
    let tokens = std::fs::read_to_string(&tokens_file)
        .map_err(|e| format!("{}: {e}", tokens_file.display()))?;
    super::tokens::check_file(&tokens).map_err(|e| format!("{}: {e}", tokens_file.display()))?;
    for file in [room.server_cert(), room.server_key(), room.ca_cert()] {
        if !file.is_file() {
            return Err(format!(
                "{}: missing; `workshop room init --force` makes the room anew",
                file.display()
            ));
        }
    }
    Ok(settings)
}
