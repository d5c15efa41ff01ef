//! Building the service binaries with cargo, and finding where cargo put them.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use anyhow::{Context, bail};
use serde::Deserialize;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

/// Each service's executable, by name.
pub type Binaries = BTreeMap<String, PathBuf>;

/// The four services, in the order they are started (dependencies first).
pub const SERVICES: [&str; 4] = ["iss-distance", "geolocator", "gateway", "frontend"];

/// The workspace this binary was built from: `cargo run -p workshop` runs it from there.
pub use platform_check::repo_root as workspace_root;

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
pub async fn build_services(workspace: &Path, release: bool) -> anyhow::Result<Binaries> {
    let env: Vec<(&str, OsString)> = target_dir_override()
        .map(|dir| ("CARGO_TARGET_DIR", dir.into_os_string()))
        .into_iter()
        .collect();
    build_services_with(workspace, release, &env, &[]).await
}

/// Like [`build_services`], with `env` set for cargo and `args` added to its command line.
///
/// The packages are always the four services, selected alike by every command (`up`,
/// `check`, `bench`, `prepare`): cargo resolves the dependencies' features for the packages
/// a build selects, and the same selection finds what `workshop prepare` compiled.
pub async fn build_services_with(
    workspace: &Path,
    release: bool,
    env: &[(&str, OsString)],
    args: &[String],
) -> anyhow::Result<Binaries> {
    let mut command = Command::new(cargo());
    command
        .current_dir(workspace)
        .args(["build", "--message-format=json-render-diagnostics"])
        .args(SERVICES.iter().flat_map(|s| ["-p", s]))
        .args(args)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdout(Stdio::piped())
        .kill_on_drop(true);
    if release {
        command.arg("--release");
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

/// The cargo that runs us (`cargo run` says which in `CARGO`), else the one on the `PATH`.
pub fn cargo() -> OsString {
    std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into())
}

/// What `cargo metadata --no-deps` says of a workspace, as far as we use it.
#[derive(Deserialize)]
pub struct Metadata {
    /// Where cargo puts what it builds (its `target/`, or wherever `CARGO_TARGET_DIR` or a
    /// `.cargo/config.toml` says).
    pub target_directory: PathBuf,
    /// The workspace's own packages.
    pub packages: Vec<Package>,
}

#[derive(Deserialize)]
pub struct Package {
    pub name: String,
}

/// `cargo metadata --no-deps` of `workspace`, offline (everything is fetched by then).
pub async fn metadata(workspace: &Path) -> anyhow::Result<Metadata> {
    let mut command = Command::new(cargo());
    command
        .current_dir(workspace)
        .args(["metadata", "--format-version=1", "--no-deps", "--offline"])
        .stderr(Stdio::inherit());
    if let Some(dir) = target_dir_override() {
        command.env("CARGO_TARGET_DIR", dir);
    }
    let output = command
        .output()
        .await
        .context("cannot run cargo metadata")?;
    if !output.status.success() {
        bail!("cargo metadata failed in {}", workspace.display());
    }
    serde_json::from_slice(&output.stdout).context("cargo metadata's answer")
}
