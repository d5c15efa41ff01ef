//! `workshop up`: build the four services and run them natively until Ctrl-C.

use std::time::Duration;

use anyhow::Context;

use crate::build::{build_services, workspace_root};
use crate::ports::Ports;
use crate::services::{self, wiring};

#[derive(clap::Args)]
pub struct Args {
    /// The frontend's port; gateway, geolocator and iss-distance use the next three.
    #[arg(long, env = "FRONTEND_PORT", default_value_t = 5000)]
    port: u16,
    /// Build and run optimised binaries (slower to build, faster to run).
    #[arg(long)]
    release: bool,
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    let ports = Ports::from_base(args.port)?;
    ports.check_free()?;
    let binaries = build_services(&workspace_root(), args.release).await?;
    let mut running = services::start(&binaries, &ports, &wiring(&ports))?;
    if let Err(error) = running.wait_healthy(Duration::from_secs(30)).await {
        running.stop(Duration::from_secs(5)).await;
        return Err(error);
    }
    announce(&ports);
    tokio::select! {
        signal = shutdown_signal() => signal.context("cannot listen for Ctrl-C")?,
        (name, status) = running.first_exit() => eprintln!("{name} stopped unexpectedly ({status}); stopping the others"),
    }
    eprintln!("stopping the services…");
    running.stop(Duration::from_secs(10)).await;
    eprintln!("all services stopped");
    Ok(())
}

fn announce(ports: &Ports) {
    for (service, port) in ports.all() {
        eprintln!("  {service:>12}  http://127.0.0.1:{port}");
    }
    println!(
        "\nThe ISS workshop is running: open http://127.0.0.1:{}/\nPress Ctrl-C to stop.",
        ports.frontend
    );
}

async fn shutdown_signal() -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut terminate = signal(SignalKind::terminate())?;
        tokio::select! {
            result = tokio::signal::ctrl_c() => result,
            _ = terminate.recv() => Ok(()),
        }
    }
    #[cfg(not(unix))]
    tokio::signal::ctrl_c().await
}
