//! `workshop up`: build the four services and run them natively until Ctrl-C, sending their
//! telemetry to a collector that is already listening, or else to a built-in receiver.

use std::path::PathBuf;
use std::time::Duration;

use crate::build::{Binaries, build_services, workspace_root};
use crate::collector::{self, Telemetry};
use crate::fault;
use crate::harness::{self, Env, Options, Ports, Services, Sockets, wiring};
use crate::solution;
use crate::stop::StopSignal;

#[derive(clap::Args)]
pub struct Args {
    /// The frontend's port; gateway, geolocator and iss-distance use the next three.
    #[arg(long, env = "FRONTEND_PORT", default_value_t = 5000)]
    port: u16,
    /// Build and run optimised binaries (slower to build, faster to run).
    #[arg(long)]
    release: bool,
    /// Run the finished workshop (every section applied), built apart from your own code.
    #[arg(long)]
    solution: bool,
    /// Run the real OpenTelemetry Collector on your platform/otel-collector/config.yaml,
    /// in front of the built-in receiver (section 6 without Docker). PROGRAM is a collector
    /// to run [default: the one `cargo run -p platform-live --bin build-platform -- otelcol`
    /// built].
    #[arg(long, value_name = "PROGRAM", num_args = 0..=1)]
    collector: Option<Option<PathBuf>>,
    /// With --solution: the commit the sections start from.
    #[arg(long, default_value = "main", requires = "solution")]
    base: String,
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    let mut stop = StopSignal::listen()?;
    let sockets = Sockets::bind(Ports::from_base(args.port)?)?;
    let ports = sockets.ports();
    let telemetry = match &args.collector {
        None => Telemetry::find_or_start().await?,
        Some(program) => {
            let tree = if args.solution {
                solution::prepare(&workspace_root(), &args.base)?
            } else {
                workspace_root()
            };
            // WORKSHOP_OTELCOL names the program too, as for `check 6`.
            let program = program
                .clone()
                .or_else(|| std::env::var_os("WORKSHOP_OTELCOL").map(PathBuf::from));
            Telemetry::start_real(&tree, program).await?
        }
    };
    let binaries = tokio::select! {
        built = build(&args) => built?,
        () = stop.recv() => return Ok(()),
    };
    let mut env = wiring(&ports);
    env.extend(telemetry.env());
    env.extend(workshop_defaults());
    // Where `workshop fault` switches faults: every fault off to start with.
    let (key, file) = fault::prepare_for_up()?;
    env.extend(harness::env([(key, file)]));
    let options = Options {
        echo: true,
        without_our_otel_env: false,
    };
    let mut services = Services::start(&binaries, sockets, &env, options)?;
    let started = tokio::select! {
        ready = services.wait_healthy(Duration::from_secs(30)) => Some(ready),
        () = stop.recv() => None,
    };
    // None: Ctrl-C while the services were starting; stop them all the same.
    if let Some(Ok(())) = started {
        announce(&ports, &telemetry, args.solution);
        tokio::select! {
            () = stop.recv() => {}
            (name, status) = services.first_exit() => {
                eprintln!("{name} stopped unexpectedly ({status}); stopping the others");
            }
            () = report_telemetry(&telemetry) => {}
        }
    }
    eprintln!("stopping the services…");
    services.stop(Duration::from_secs(10)).await;
    telemetry.shutdown().await;
    eprintln!("all services stopped");
    started.unwrap_or(Ok(()))
}

/// Settings that suit a workshop better than the SDK's defaults, unless already set: metrics
/// every 5 s rather than every minute, so that a counter shows up while you look for it.
fn workshop_defaults() -> Env {
    let defaults = [("OTEL_METRIC_EXPORT_INTERVAL", "5000")].into_iter();
    let unset = defaults.filter(|(name, _)| std::env::var_os(name).is_none());
    harness::env(unset.map(|(name, value)| (name, value.to_owned())))
}

/// The attendee's own code, or the solution.
async fn build(args: &Args) -> anyhow::Result<Binaries> {
    if !args.solution {
        return build_services(&workspace_root(), args.release).await;
    }
    solution::build(&workspace_root(), &args.base, args.release).await
}

/// Every 10 s, when something new arrived at the built-in receiver, says so in one line.
/// Never completes (it is one arm of a `select!`).
async fn report_telemetry(telemetry: &Telemetry) {
    let Some(store) = telemetry.store() else {
        return std::future::pending().await;
    };
    let mut seen_requests = 0;
    let mut said_nothing_yet = false;
    loop {
        tokio::time::sleep(Duration::from_secs(10)).await;
        let requests = store.stats().requests;
        let received = requests.grpc + requests.http;
        if received == 0 && !said_nothing_yet {
            eprintln!(
                "no telemetry has arrived yet: expected until you export it (section 1 onwards)"
            );
            said_nothing_yet = true;
        } else if received != seen_requests {
            // Only now: the summary reads the whole store.
            eprintln!("{}", collector::summary(&store));
            seen_requests = received;
        }
    }
}

fn announce(ports: &Ports, telemetry: &Telemetry, solution: bool) {
    eprintln!("  telemetry: {}", telemetry.describe());
    for (service, port) in ports.all() {
        eprintln!("  {service:>12}  http://127.0.0.1:{port}");
    }
    let which = if solution {
        "The finished ISS workshop (--solution)"
    } else {
        "The ISS workshop"
    };
    println!(
        "\n{which} is running: open http://127.0.0.1:{}/\nPress Ctrl-C to stop.",
        ports.frontend
    );
}
