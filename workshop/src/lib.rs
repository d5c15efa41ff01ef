//! `cargo run -p workshop -- <command>`: the workshop's command line. A library with a
//! three-line `main.rs`, so that the integration tests run the services through the same
//! [`harness`] as `check`, `bench` and `up`.

mod base_url;
mod bench;
mod build;
mod check;
mod collector;
mod doctor;
mod duration;
mod fault;
pub mod harness;
mod inspect;
mod latency;
mod load;
mod ports;
mod prepare;
mod report;
#[cfg(feature = "room")]
mod room;
// Without the feature, a stand-in that says how to build the instructor's command.
#[cfg(not(feature = "room"))]
#[path = "room/missing.rs"]
mod room;
mod solution;
mod steps;
mod stop;
mod up;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(version, about = "Run and check the ISS workshop's services")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Compile everything the workshop's commands run (the day before, chapter 00): your
    /// services, the finished workshop, this command itself.
    Prepare(prepare::Args),
    /// Build and run the four services natively; Ctrl-C stops them all.
    Up(up::Args),
    /// Load-test GET /distance through the gateway (release builds, local ISS API stub).
    Bench(bench::Args),
    /// Check section N of the workshop (0-6): run the services through a fixed scenario and
    /// check the telemetry that arrives.
    Check(check::Args),
    /// Create the git branches section-0-resources … section-6-collector, one per patch.
    Branches(steps::BranchesArgs),
    /// Bring the working tree to the end of section N (0-6), e.g. when you are stuck.
    Solve(steps::SolveArgs),
    /// Send realistic traffic (known places, unknown places, bad input) at a fixed rate, so
    /// that telemetry keeps flowing; prints a summary at the end or on Ctrl-C.
    Load(load::Args),
    /// Check this machine for the workshop (toolchain, Docker, ports, the platform and its
    /// data) and say what to fix.
    Doctor(doctor::Args),
    /// Watch the telemetry that arrives over OTLP, live: span trees, metrics, logs.
    Inspect(inspect::Args),
    /// Give the running services a fault to find (list, on, guess, reveal, off): the
    /// troubleshooting chapter.
    Fault(fault::Args),
    /// The instructor's room: one platform for everyone's telemetry, each attendee's
    /// labelled by their own token (`--features room`).
    Room(room::Args),
}

/// Parses the command line and runs the command.
#[tokio::main]
pub async fn main() -> ExitCode {
    restore_sigpipe();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Prepare(args) => prepare::run(args).await,
        Command::Up(args) => up::run(args).await,
        Command::Bench(args) => bench::run(args).await,
        Command::Check(args) => check::run(args).await,
        Command::Branches(args) => steps::branches(args),
        Command::Solve(args) => steps::solve(args),
        Command::Load(args) => load::run(args).await,
        Command::Doctor(args) => doctor::run(args).await,
        Command::Inspect(args) => inspect::run(args).await,
        Command::Fault(args) => fault::run(args).await,
        Command::Room(args) => room::run(args).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("workshop: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// Rust ignores SIGPIPE, so `workshop load | head` would panic in `println!` once `head`
/// exits. Like any Unix tool, end quietly instead. (Windows has no SIGPIPE.)
fn restore_sigpipe() {
    #[cfg(unix)]
    {
        use nix::sys::signal::{SigHandler, Signal, signal};
        // SAFETY: restoring a signal's default disposition; no handler of ours is involved.
        // (Changing a disposition is unsafe in every crate: nix's `signal` is the maintained
        // wrapper.)
        unsafe {
            let _ = signal(Signal::SIGPIPE, SigHandler::SigDfl);
        }
    }
}
