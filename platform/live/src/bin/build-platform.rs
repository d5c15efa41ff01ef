//! Builds the OpenTelemetry Collector, Prometheus and Jaeger that the live platform tests
//! run, at the releases the repository pins, into a cache that later runs reuse.
//!
//! ```sh
//! cargo run -p platform-live --bin build-platform
//! ```

use std::process::ExitCode;

use platform_live::builder::{build_all, minutes};
use platform_live::programs::cache_root;

fn main() -> ExitCode {
    let repo = platform_check::repo_root();
    let started = std::time::Instant::now();
    match build_all(&repo, &mut std::io::stderr()) {
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
