//! The real Prometheus, run as compose runs it: the flags of the `prometheus` service in
//! docker-compose.yml, with the two that name places in the container (the config file,
//! the storage directory) turned into places here, and a listen address of our own.
//! `workshop room serve` runs it so; the live tests' harness adds its API on top.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use platform_check::{command_args, compose_services, host_path_of};

use tokio::process::Command;

use crate::process::Process;

/// The compose address Prometheus scrapes the collector's own metrics at (the
/// `otel-collector` job of prometheus.yaml).
pub const COLLECTOR_TARGET: &str = "otel-collector:8888";

/// The flags of the `prometheus` service in `repo`'s docker-compose.yml, with the config
/// file mapped to the repository through its mount, the storage at `data`, listening on
/// `listen`.
pub fn flags(repo: &Path, listen: SocketAddr, data: &Path) -> Result<Vec<String>, String> {
    let text = std::fs::read_to_string(repo.join("docker-compose.yml"))
        .map_err(|e| format!("docker-compose.yml: cannot read it: {e}"))?;
    let compose = platform_check::parse_yaml(&text, "docker-compose.yml")?;
    let service = compose_services(&compose)
        .remove("prometheus")
        .ok_or("docker-compose.yml: no prometheus service")?;
    let mut flags = Vec::new();
    for arg in command_args(&service) {
        if let Some(path) = arg.strip_prefix("--config.file=") {
            let host = host_path_of(&service, path, repo)
                .ok_or_else(|| format!("docker-compose.yml: {path} is not mounted"))?;
            flags.push(format!("--config.file={}", host.display()));
        } else if arg.starts_with("--storage.tsdb.path=") {
            flags.push(format!("--storage.tsdb.path={}", data.display()));
        } else if arg.starts_with("--web.listen-address") {
            return Err(
                "docker-compose.yml sets --web.listen-address; the caller sets its own".into(),
            );
        } else {
            flags.push(arg);
        }
    }
    flags.push(format!("--web.listen-address={listen}"));
    Ok(flags)
}

/// Points the config of `flags` at `copy`: the repository's, with scrape targets that are
/// compose addresses (e.g. [`COLLECTOR_TARGET`]) replaced by where they run here. The copy
/// differs from the repository's file in those addresses only.
pub fn scrape(
    flags: &mut [String],
    copy: &Path,
    targets: &[(&str, SocketAddr)],
) -> Result<(), String> {
    for flag in flags.iter_mut() {
        let Some(config) = flag.strip_prefix("--config.file=") else {
            continue;
        };
        let mut text =
            std::fs::read_to_string(config).map_err(|e| format!("cannot read {config}: {e}"))?;
        for (target, addr) in targets {
            let quoted = format!("\"{target}\"");
            if !text.contains(&quoted) {
                return Err(format!("{config} scrapes no {quoted}"));
            }
            text = text.replace(&quoted, &format!("\"{addr}\""));
        }
        std::fs::write(copy, text).map_err(|e| format!("cannot write {}: {e}", copy.display()))?;
        *flag = format!("--config.file={}", copy.display());
    }
    Ok(())
}

/// Starts Prometheus with `flags` and waits until it is ready on 127.0.0.1:`port`.
pub async fn launch(binary: &Path, flags: &[String], port: u16) -> Result<Process, String> {
    let mut command = Command::new(binary);
    command.args(flags);
    let mut process = Process::spawn("prometheus", command, false)
        .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
    let ready = format!("http://127.0.0.1:{port}/-/ready");
    if let Err(why) = process.ready(&ready, Duration::from_secs(30)).await {
        let output = process.output().tail(30);
        return Err(format!(
            "Prometheus did not become ready ({why}):\n{output}"
        ));
    }
    Ok(process)
}
