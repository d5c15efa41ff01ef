//! `workshop room serve DIR`: runs the room made by `room init` on this machine, without
//! Docker — the real collector (OTLP over TLS with the attendees' tokens, on the venue's
//! network) and the real Prometheus (on this machine only) — says where they listen, and
//! stops them on Ctrl-C.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{anyhow, bail};

use super::dir::RoomDir;
use super::platform::{self, Ports, RoomPlatform};
use crate::build::workspace_root;
use crate::stop::StopSignal;

#[derive(clap::Args)]
pub struct Args {
    /// The room's directory, as `workshop room init` made it.
    dir: PathBuf,
    /// The address the OTLP receivers listen on: every interface by default, so that the
    /// attendees' laptops reach them (the ports are those of the join files).
    #[arg(long, default_value = "0.0.0.0")]
    bind: IpAddr,
    /// Prometheus' port, on 127.0.0.1 only.
    #[arg(long, default_value_t = 9090)]
    prometheus_port: u16,
    /// The collector's health check, on 127.0.0.1.
    #[arg(long, default_value_t = 13133)]
    health_port: u16,
    /// The collector's own metrics, on 127.0.0.1 (Prometheus scrapes them).
    #[arg(long, default_value_t = 8888)]
    metrics_port: u16,
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    let mut stop = StopSignal::listen()?;
    let room = RoomDir::at(&args.dir);
    let settings = platform::check(&room).map_err(|e| anyhow!(e))?;
    let ports = Ports {
        bind: args.bind,
        grpc: settings.grpc_port,
        http: settings.http_port,
        prometheus: args.prometheus_port,
        health: args.health_port,
        telemetry: args.metrics_port,
    };
    eprintln!("starting Prometheus and the collector …");
    let mut running = RoomPlatform::start(&workspace_root(), &room, ports)
        .await
        .map_err(|e| anyhow!(e))?;
    println!("{}", listening(&settings.hosts, &running));

    let mut check = tokio::time::interval(Duration::from_secs(1));
    let stopped = loop {
        tokio::select! {
            _ = stop.recv() => break None,
            _ = check.tick() => {
                if let Some(why) = running.stopped() {
                    break Some(why);
                }
            }
        }
    };
    eprintln!("stopping the room …");
    running.stop().await;
    match stopped {
        Some(why) => bail!("{why}"),
        None => Ok(()),
    }
}

/// Where everything listens, for the instructor.
fn listening(hosts: &[String], running: &RoomPlatform) -> String {
    let ports = running.ports;
    let at = |port: u16| {
        hosts
            .iter()
            .map(|h| format!("https://{}:{port}", url_host(h)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!(
        "the room is open (Ctrl-C closes it):\n\
         \x20 OTLP/gRPC   {grpc}  (listening on {bind}:{grpc_port}; TLS, an attendee's token on every request)\n\
         \x20 OTLP/HTTP   {http}  (listening on {bind}:{http_port}; the same)\n\
         \x20 Prometheus  http://127.0.0.1:{prometheus}  (this machine only; every attendee's series has a workshop_attendee label)\n\
         \x20 collector   http://127.0.0.1:{telemetry}/metrics  (its own metrics: what it accepted and refused)\n\
         \x20 traces and logs (no Tempo or Loki without Docker): cargo run -p workshop -- inspect --from {receiver}",
        grpc = at(ports.grpc),
        http = at(ports.http),
        bind = ports.bind,
        grpc_port = ports.grpc,
        http_port = ports.http,
        prometheus = ports.prometheus,
        telemetry = ports.telemetry,
        receiver = running.receiver_url(),
    )
}

/// IPv6 addresses go in brackets in a URL.
fn url_host(host: &str) -> String {
    if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_owned()
    }
}
