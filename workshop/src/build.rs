//! Building the service binaries with cargo, and finding where cargo put them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use anyhow::{Context, bail};
use serde::Deserialize;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

/// The four services, in the order they are started (dependencies first).
pub const SERVICES: [&str; 4] = ["iss-distance", "geolocator", "gateway", "frontend"];

/// The workspace this binary was built from: `cargo run -p workshop` runs it from there.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workshop/ has a parent")
        .to_path_buf()
}

/// One line of `cargo build --message-format=json`; we only need built executables.
#[derive(Deserialize)]
struct Message {
    reason: String,
    executable: Option<PathBuf>,
    target: Option<Target>,
}

#[derive(Deserialize)]
struct Target {
    name: String,
}

/// Where cargo should put what it builds, if the caller chose: `CARGO_TARGET_DIR`, made
/// absolute against our own working directory (cargo would resolve a relative one against
/// the workspace it builds, which is not what the caller meant). Tests set it so that every
/// build of a checked tree shares one target directory.
pub fn target_dir_override() -> Option<PathBuf> {
    let dir = PathBuf::from(std::env::var_os("CARGO_TARGET_DIR").filter(|d| !d.is_empty())?);
    if dir.is_absolute() {
        return Some(dir);
    }
    Some(std::env::current_dir().map_or(dir.clone(), |cwd| cwd.join(dir)))
}

/// Builds the services in `workspace` and returns each one's executable, by name.
/// Cargo's progress and any compiler errors go to the terminal as usual. The target
/// directory is the workspace's own unless `CARGO_TARGET_DIR` says otherwise.
pub async fn build_services(
    workspace: &Path,
    release: bool,
) -> anyhow::Result<BTreeMap<String, PathBuf>> {
    build_services_into(workspace, release, target_dir_override()).await
}

/// Like [`build_services`], into `target_dir` when one is given.
pub async fn build_services_into(
    workspace: &Path,
    release: bool,
    target_dir: Option<PathBuf>,
) -> anyhow::Result<BTreeMap<String, PathBuf>> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .current_dir(workspace)
        .args(["build", "--message-format=json-render-diagnostics"])
        .args(SERVICES.iter().flat_map(|s| ["-p", s]))
        .stdout(Stdio::piped())
        .kill_on_drop(true);
    if release {
        command.arg("--release");
    }
    if let Some(target) = target_dir {
        command.env("CARGO_TARGET_DIR", target);
    }
    let mut child = command.spawn().context("cannot run cargo")?;
    let mut lines = BufReader::new(child.stdout.take().expect("piped")).lines();
    let mut executables = BTreeMap::new();
    while let Some(line) = lines.next_line().await? {
        if let Ok(message) = serde_json::from_str::<Message>(&line)
            && message.reason == "compiler-artifact"
            && let (Some(path), Some(target)) = (message.executable, message.target)
        {
            executables.insert(target.name, path);
        }
    }
    if !child.wait().await?.success() {
        bail!("building the services failed (see cargo's errors above)");
    }
    for service in SERVICES {
        if !executables.contains_key(service) {
            bail!("cargo built no executable for {service}");
        }
    }
    Ok(executables)
}
