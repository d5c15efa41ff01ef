//! Builds the OpenTelemetry Collector, Prometheus and Jaeger that the live platform tests
//! run, at the releases the repository pins, into a cache that later runs reuse.
//!
//! ```sh
//! cargo run -p platform-live --bin build-platform            # all three
//! cargo run -p platform-live --bin build-platform -- otelcol  # only the collector
//! ```
//!
//! The collector alone is what `workshop check 6` and `workshop up --collector` need.

use std::process::ExitCode;

use platform_live::builder::{build, minutes};
use platform_live::programs::{Program, cache_root};

fn main() -> ExitCode {
    let programs = match chosen(std::env::args().skip(1)) {
        Ok(programs) => programs,
        Err(e) => {
            eprintln!("build-platform: {e}");
            return ExitCode::from(2);
        }
    };
    let repo = platform_check::repo_root();
    let started = std::time::Instant::now();
    match build(&repo, &programs, &mut std::io::stderr()) {
        Ok(outcomes) => {
            let built = outcomes.iter().filter(|o| o.built_in.is_some()).count();
            eprintln!(
                "build-platform: {} program(s) built, {} reused from {}, {} in all",
                built,
                outcomes.len() - built,
                cache_root().display(),
                minutes(started.elapsed())
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("build-platform: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The programs named on the command line (`otelcol`, `prometheus`, `jaeger`), or all.
fn chosen(args: impl Iterator<Item = String>) -> Result<Vec<Program>, String> {
    let mut programs = Vec::new();
    for arg in args {
        let program = Program::ALL
            .into_iter()
            .find(|p| p.name() == arg)
            .ok_or_else(|| {
                let names: Vec<&str> = Program::ALL.iter().map(|p| p.name()).collect();
                format!("no program `{arg}`: choose from {}", names.join(", "))
            })?;
        programs.push(program);
    }
    if programs.is_empty() {
        programs = Program::ALL.to_vec();
    }
    Ok(programs)
}
