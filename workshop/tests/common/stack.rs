//! The four service binaries of a tree as real processes, through the harness that `check`,
//! `bench` and `up` run them with (`workshop::harness`), for the tests of the instrumented
//! (final) state.

use std::path::Path;
use std::time::Duration;

pub use workshop::harness::{Binaries, Harness, IssAnswer};
use workshop::harness::{Options, Sockets, build_services_with, env};

use super::target_dir;

pub const SERVICES: [&str; 4] = ["iss-distance", "geolocator", "gateway", "frontend"];

/// Builds the services of the final tree (into `target_dir("final")`) and returns their
/// executables.
pub async fn build(tree: &Path) -> Binaries {
    let target = [("CARGO_TARGET_DIR", target_dir("final").into_os_string())];
    let built = build_services_with(tree, false, &target, &[]).await;
    built.unwrap_or_else(|e| panic!("{e:#}"))
}

/// Builds the services of this repository (uninstrumented, in its usual target directory)
/// and returns their executables.
pub async fn build_main() -> Binaries {
    let built = build_services_with(&super::workspace(), false, &[], &[]).await;
    built.unwrap_or_else(|e| panic!("{e:#}"))
}

/// The four services with `env` on top of their wiring and the harness's ISS API stand-in,
/// once they answer `/healthz`.
pub async fn start(binaries: &Binaries, vars: &[(&str, String)]) -> Harness {
    let vars = env(vars.iter().cloned());
    let options = Options {
        echo: false,
        without_our_otel_env: false,
    };
    let sockets = Sockets::any().unwrap();
    let mut harness = Harness::start(binaries, sockets, vars, options).unwrap();
    if let Err(e) = harness.wait_healthy(Duration::from_secs(30)).await {
        panic!("{e:#}: {:#?}", output(&harness));
    }
    harness
}

/// Stops the services: every one must exit by itself within `grace`, successfully.
pub async fn stop_cleanly(harness: &mut Harness, grace: Duration) {
    let ended = harness.stop(grace).await;
    assert!(
        ended.iter().all(|(_, s)| s.is_some_and(|s| s.success())),
        "{ended:?}"
    );
}

/// Everything the services printed so far, each line prefixed with its service.
pub fn output(harness: &Harness) -> Vec<String> {
    let outputs = harness.services.outputs().into_iter();
    let lines = outputs.flat_map(|(name, o)| o.lines().into_iter().map(move |l| (name, l)));
    lines
        .map(|(name, line)| format!("{name}: {line}"))
        .collect()
}

/// The pid of `service`.
pub fn pid(harness: &Harness, service: &str) -> u32 {
    harness.services.pids()[service]
}
