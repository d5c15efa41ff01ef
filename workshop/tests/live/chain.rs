//! The live chain: the finished workshop's services → the real collector (on the
//! repository's config) → the real Prometheus, the real Jaeger, and the project's own OTLP
//! receiver standing in for Tempo (OTLP/gRPC) and Loki (OTLP/HTTP at `/otlp`).

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use otlp_receiver::{Receiver, ReceiverConfig, Store};
use platform_harness::jaeger::Jaeger;
use platform_harness::prometheus::{COLLECTOR_TARGET, Prometheus};
use platform_live::collector::{Collector, Wiring, config_files};
use platform_live::process::Ports;
use platform_live::programs::Programs;

/// A backend that does not run here, stood in for by an OTLP receiver on a fixed port (so
/// that it can refuse for a while and come back where the collector expects it).
pub struct StandIn {
    pub name: &'static str,
    pub config: ReceiverConfig,
    receiver: Option<Receiver>,
    /// Everything received, across restarts.
    stores: Vec<Store>,
}

impl StandIn {
    pub async fn start(name: &'static str, config: ReceiverConfig) -> StandIn {
        let receiver = Receiver::start(config.clone())
            .await
            .unwrap_or_else(|e| panic!("the {name} stand-in cannot listen: {e}"));
        StandIn {
            name,
            stores: vec![receiver.store()],
            config,
            receiver: Some(receiver),
        }
    }

    /// Stops listening: connections are refused until [`StandIn::resume`].
    pub async fn refuse(&mut self) {
        if let Some(receiver) = self.receiver.take() {
            receiver.shutdown().await;
        }
    }

    pub async fn resume(&mut self) {
        let receiver = Receiver::start(self.config.clone())
            .await
            .unwrap_or_else(|e| panic!("the {} stand-in cannot listen again: {e}", self.name));
        self.stores.push(receiver.store());
        self.receiver = Some(receiver);
    }

    pub fn spans(&self) -> Vec<otlp_receiver::ReceivedSpan> {
        self.stores.iter().flat_map(Store::spans).collect()
    }

    pub fn logs(&self) -> Vec<otlp_receiver::ReceivedLog> {
        self.stores.iter().flat_map(Store::logs).collect()
    }
}

pub struct Chain {
    pub tempo: StandIn,
    pub loki: StandIn,
    pub prometheus: Prometheus,
    pub jaeger: Jaeger,
    pub collector: Collector,
    pub files: Vec<PathBuf>,
    pub wiring: Wiring,
    /// The console output of collectors that were restarted.
    pub earlier_collector_output: Vec<String>,
    binary: PathBuf,
    data: PathBuf,
}

impl Chain {
    /// Starts everything, the collector last, on its config with `overlays`.
    pub async fn start(programs: &Programs, ports: &mut Ports, overlays: &[&str]) -> Chain {
        let repo = platform_check::repo_root();
        Chain::start_on(programs, ports, config_files(&repo, overlays)).await
    }

    /// Starts everything, the collector last, on the config `files`.
    pub async fn start_on(programs: &Programs, ports: &mut Ports, files: Vec<PathBuf>) -> Chain {
        let repo = platform_check::repo_root();
        let loopback = |port: u16| SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let tempo = StandIn::start(
            "Tempo",
            ReceiverConfig {
                grpc: loopback(ports.take()),
                http: loopback(0),
                ..ReceiverConfig::ephemeral()
            },
        )
        .await;
        // Loki takes OTLP/HTTP at /otlp (the collector's exporter appends /v1/logs).
        let loki = StandIn::start(
            "Loki",
            ReceiverConfig {
                grpc: loopback(0),
                http: loopback(ports.take()),
                ..ReceiverConfig::ephemeral()
            }
            .with_http_path_prefix("/otlp"),
        )
        .await;
        let data = std::env::temp_dir().join(format!("iss-live-prometheus-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&data);
        let port = ports.take();
        // Prometheus scrapes the collector's own metrics where the collector will serve them.
        let telemetry = ports.take();
        let prometheus = Prometheus::start_scraping(
            &programs.prometheus,
            &repo,
            port,
            &data,
            &[(COLLECTOR_TARGET, loopback(telemetry))],
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        let jaeger = Jaeger::start(&programs.jaeger, &repo, ports)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let wiring = Wiring {
            telemetry,
            ..Wiring::new(
                ports,
                tempo.config.grpc,
                prometheus.addr(),
                loki.config.http,
                jaeger.otlp_addr(),
            )
        };
        let collector = Collector::start(&programs.collector, &files, &wiring)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        Chain {
            tempo,
            loki,
            prometheus,
            jaeger,
            collector,
            files,
            wiring,
            earlier_collector_output: Vec::new(),
            binary: programs.collector.clone(),
            data,
        }
    }

    /// SIGTERM to the collector (it drains what it holds, as `docker compose restart`
    /// lets it), then a new one on the same ports after `down`.
    pub async fn restart_collector(&mut self, down: std::time::Duration) {
        self.collector.stop().await;
        let output = self.collector.process.output().lines();
        self.earlier_collector_output.extend(output);
        tokio::time::sleep(down).await;
        self.collector = Collector::start(&self.binary, &self.files, &self.wiring)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }

    /// Everything every collector of this chain printed.
    pub fn collector_output(&self) -> Vec<String> {
        let mut lines = self.earlier_collector_output.clone();
        lines.extend(self.collector.process.output().lines());
        lines
    }

    /// The environment of services that export to this chain's collector, quickly (metrics
    /// every second, spans every half second), and fall back on their orbital model when
    /// the ISS API (the harness's stand-in) fails them.
    pub fn services_env(&self) -> Vec<(&'static str, String)> {
        vec![
            (
                "OTEL_EXPORTER_OTLP_ENDPOINT",
                self.wiring.otlp_http_endpoint(),
            ),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf".into()),
            ("OTEL_METRIC_EXPORT_INTERVAL", "1000".into()),
            ("OTEL_BSP_SCHEDULE_DELAY", "500".into()),
            ("ISS_SOURCE", "auto".into()),
        ]
    }

    /// What the programs printed, for a failure message.
    pub fn logs(&self) -> String {
        format!(
            "--- collector\n{}\n--- prometheus\n{}\n--- jaeger\n{}",
            self.collector.process.output().tail(40),
            self.prometheus.process.output().tail(20),
            self.jaeger.process.output().tail(20)
        )
    }
}

impl Drop for Chain {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.data);
        // Prometheus' config with the test's scrape addresses.
        let _ = std::fs::remove_file(self.data.with_extension("yaml"));
    }
}
