//! `workshop up`: build the four services and run them natively until Ctrl-C.

use std::time::Duration;

use crate::build::{build_services, workspace_root};
use crate::ports::Ports;
use crate::services::{self, wiring};
use crate::stop::StopSignal;

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
    let mut stop = StopSignal::listen()?;
    let ports = Ports::from_base(args.port)?;
    ports.check_free()?;
    let workspace = workspace_root();
    let binaries = tokio::select! {
        built = build_services(&workspace, args.release) => built?,
        () = stop.recv() => return Ok(()),
    };
    let mut running = services::start(&binaries, &ports, &wiring(&ports))?;
    let started = tokio::select! {
        ready = running.wait_healthy(Duration::from_secs(30)) => Some(ready),
        () = stop.recv() => None,
    };
    // None: Ctrl-C while the services were starting; stop them all the same.
    if let Some(Ok(())) = started {
        announce(&ports);
        tokio::select! {
            () = stop.recv() => {}
            (name, status) = running.first_exit() => {
                eprintln!("{name} stopped unexpectedly ({status}); stopping the others");
            }
        }
    }
    eprintln!("stopping the services…");
    running.stop(Duration::from_secs(10)).await;
    eprintln!("all services stopped");
    started.unwrap_or(Ok(()))
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
