//! Builds the pinned programs from their Go modules into the cache (see [`crate::programs`]).
//!
//! - the collector with the OpenTelemetry Collector Builder (ocb), from the repository's
//!   manifest, holding only the components the configs use;
//! - Prometheus and Jaeger with `go build` in a copy of their module: both modules' go.mod
//!   have `replace` directives, so `go install module@version` refuses them.
//!
//! Everything is built with `CGO_ENABLED=0` and `-trimpath`, and shares Go's module and
//! build caches. A build goes to a temporary directory first and is renamed into place, so
//! an interrupted build never looks finished.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::programs::{MANIFEST, Pinned, Program, cache_root, pinned};

/// What happened to one program.
#[derive(Debug)]
pub struct Outcome {
    pub program: Program,
    pub release: String,
    pub dir: PathBuf,
    /// `None`: it was in the cache already.
    pub built_in: Option<Duration>,
}

/// Builds whatever of the pinned programs is not in the cache; progress goes to `log`.
pub fn build_all(repo: &Path, log: &mut dyn Write) -> Result<Vec<Outcome>, String> {
    build(repo, &Program::ALL, log)
}

/// Builds whatever of `programs` is not in the cache; progress goes to `log`.
pub fn build(
    repo: &Path,
    programs: &[Program],
    log: &mut dyn Write,
) -> Result<Vec<Outcome>, String> {
    let root = cache_root();
    std::fs::create_dir_all(&root)
        .map_err(|e| format!("cannot create the cache {}: {e}", root.display()))?;
    check_go()?;
    let pinned: Vec<Pinned> = pinned(repo)?
        .into_iter()
        .filter(|p| programs.contains(&p.program))
        .collect();
    let mut outcomes = Vec::new();
    for (i, program) in pinned.iter().enumerate() {
        let step = format!(
            "[{}/{}] {} {}",
            i + 1,
            pinned.len(),
            program.program.name(),
            program.release
        );
        let dir = program.dir(&root);
        if program.is_built(&root) {
            say(log, &format!("{step}: cached in {}", dir.display()));
            outcomes.push(Outcome {
                program: program.program,
                release: program.release.clone(),
                dir,
                built_in: None,
            });
            continue;
        }
        say(log, &format!("{step}: building into {} …", dir.display()));
        let started = Instant::now();
        let staging = root.join(format!(
            ".staging-{}-{}",
            program.program.name(),
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&staging);
        std::fs::create_dir_all(staging.join("bin")).map_err(|e| e.to_string())?;
        let result = match program.program {
            Program::Collector => build_collector(repo, program, &root, &staging, log),
            Program::Prometheus => build_prometheus(program, &staging, log),
            Program::Jaeger => build_jaeger(program, &staging, log),
        };
        if let Err(e) = result {
            let _ = remove_tree(&staging);
            return Err(format!("{step}: {e}"));
        }
        let _ = remove_tree(&dir);
        std::fs::rename(staging.join("bin"), &dir)
            .map_err(|e| format!("{step}: cannot move the build into place: {e}"))?;
        let _ = remove_tree(&staging);
        let took = started.elapsed();
        say(log, &format!("{step}: built in {}", minutes(took)));
        outcomes.push(Outcome {
            program: program.program,
            release: program.release.clone(),
            dir,
            built_in: Some(took),
        });
    }
    Ok(outcomes)
}

/// The collector: install ocb at the same release (cached too), then let it generate and
/// compile the distribution of the manifest.
fn build_collector(
    repo: &Path,
    pinned: &Pinned,
    root: &Path,
    staging: &Path,
    log: &mut dyn Write,
) -> Result<(), String> {
    let ocb_dir = root.join(format!("ocb-{}", pinned.module_version));
    let ocb = ocb_dir.join("builder");
    if !ocb.is_file() {
        say(
            log,
            &format!("    installing ocb {} (go install)", pinned.module_version),
        );
        let mut install = go();
        install
            .env("GOBIN", staging.join("ocb"))
            .args(["install", "-trimpath"])
            .arg(format!("{}@{}", pinned.module, pinned.module_version));
        run(&mut install, "go install of the Collector Builder")?;
        let _ = remove_tree(&ocb_dir);
        std::fs::rename(staging.join("ocb"), &ocb_dir).map_err(|e| e.to_string())?;
    }
    // The manifest names no output directory (that is this machine's business): a copy of
    // it with one, in the staging directory.
    let manifest = std::fs::read_to_string(repo.join(MANIFEST)).map_err(|e| e.to_string())?;
    let mut manifest = platform_check::parse_yaml(&manifest, MANIFEST)?;
    let sources = staging.join("src");
    if let Some(dist) = manifest.get_mut("dist").and_then(|d| d.as_mapping_mut()) {
        dist.insert(
            "output_path".into(),
            sources.to_string_lossy().into_owned().into(),
        );
    }
    let copy = staging.join("builder.yaml");
    std::fs::write(
        &copy,
        serde_yaml_ng::to_string(&manifest).map_err(|e| e.to_string())?,
    )
    .map_err(|e| e.to_string())?;
    say(log, "    generating and compiling the collector (ocb)");
    let mut build = go_env(Command::new(&ocb));
    build.arg("--config").arg(&copy);
    run(&mut build, "the Collector Builder")?;
    let name = platform_check::get_str(&manifest, &["dist", "name"]).unwrap_or("otelcol");
    std::fs::rename(sources.join(name), staging.join("bin/otelcol-workshop"))
        .map_err(|e| format!("ocb left no {name} binary: {e}"))?;
    Ok(())
}

/// Prometheus and promtool, without service discovery plugins (`remove_all_sd`) and
/// without the web UI's assets (`builtinassets` is not set): the API and the receivers
/// are all the tests use.
fn build_prometheus(pinned: &Pinned, staging: &Path, log: &mut dyn Write) -> Result<(), String> {
    let source = module_copy(pinned, staging, log)?;
    let version = std::fs::read_to_string(source.join("VERSION")).unwrap_or_default();
    if version.trim() != pinned.release {
        return Err(format!(
            "{}@{} says it is Prometheus {:?}, not {}",
            pinned.module,
            pinned.module_version,
            version.trim(),
            pinned.release
        ));
    }
    say(log, "    compiling prometheus and promtool (go build)");
    let ldflags = format!(
        "-s -w -X github.com/prometheus/common/version.Version={} \
         -X github.com/prometheus/common/version.BuildUser=iss-workshop",
        pinned.release
    );
    let mut build = go();
    build
        .current_dir(&source)
        .args(["build", "-trimpath", "-tags", "netgo,remove_all_sd"])
        .arg(format!("-ldflags={ldflags}"))
        .arg("-o")
        .arg(staging.join("bin/"))
        .args(["./cmd/prometheus", "./cmd/promtool"]);
    run(&mut build, "go build of Prometheus")
}

/// Jaeger v2 (the `jaeger` binary, built on the collector), checked against the module's
/// CHANGELOG so that the v1 module version really is the pinned v2 release.
fn build_jaeger(pinned: &Pinned, staging: &Path, log: &mut dyn Write) -> Result<(), String> {
    let source = module_copy(pinned, staging, log)?;
    let changelog = std::fs::read_to_string(source.join("CHANGELOG.md")).unwrap_or_default();
    let heading = format!("{} / v{}", pinned.module_version, pinned.release);
    if !changelog.lines().any(|line| line.starts_with(&heading)) {
        return Err(format!(
            "{}@{}: its CHANGELOG has no `{heading}` entry, so it is not Jaeger {}",
            pinned.module, pinned.module_version, pinned.release
        ));
    }
    say(log, "    compiling jaeger (go build)");
    let mut build = go();
    build
        .current_dir(&source)
        .args(["build", "-trimpath", "-ldflags=-s -w", "-o"])
        .arg(staging.join("bin/jaeger"))
        .arg("./cmd/jaeger");
    run(&mut build, "go build of Jaeger")
}

/// Downloads a module (into Go's module cache) and copies it, writable, into the staging
/// directory, where it can be built as the main module.
fn module_copy(pinned: &Pinned, staging: &Path, log: &mut dyn Write) -> Result<PathBuf, String> {
    say(
        log,
        &format!(
            "    go mod download {}@{}",
            pinned.module, pinned.module_version
        ),
    );
    let mut download = go();
    download
        .args(["mod", "download", "-json"])
        .arg(format!("{}@{}", pinned.module, pinned.module_version));
    let output = download
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run go: {e}"))?;
    let info: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap_or_default();
    if !output.status.success() || info.get("Error").is_some() {
        return Err(format!(
            "go mod download failed: {}",
            info["Error"].as_str().unwrap_or("see above")
        ));
    }
    let dir = info["Dir"]
        .as_str()
        .ok_or("go mod download named no directory")?;
    let source = staging.join("src");
    copy_tree(Path::new(dir), &source).map_err(|e| format!("cannot copy {dir}: {e}"))?;
    Ok(source)
}

/// `go` with the settings every build here uses.
fn go() -> Command {
    go_env(Command::new("go"))
}

fn go_env(mut command: Command) -> Command {
    command
        .env("CGO_ENABLED", "0")
        // Prometheus ships a go.work naming modules its zip leaves out.
        .env("GOWORK", "off");
    command
}

fn check_go() -> Result<(), String> {
    let output = Command::new("go").arg("version").output().map_err(|e| {
        format!("cannot run `go` ({e}): install Go 1.25 or newer (https://go.dev/dl/)")
    })?;
    if !output.status.success() {
        return Err("`go version` failed".into());
    }
    Ok(())
}

/// Runs a command with its output passed through (go and ocb print their own progress);
/// fails with `what` and the exit status.
fn run(command: &mut Command, what: &str) -> Result<(), String> {
    let status = command
        .stdin(Stdio::null())
        .status()
        .map_err(|e| format!("cannot run {what}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{what} failed ({status})"))
    }
}

fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        let kind = entry.file_type()?;
        if kind.is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else if kind.is_file() {
            std::fs::copy(entry.path(), &target)?;
            // The module cache is read-only; the copy must be removable.
            let mut permissions = std::fs::metadata(&target)?.permissions();
            #[allow(clippy::permissions_set_readonly_false)]
            permissions.set_readonly(false);
            std::fs::set_permissions(&target, permissions)?;
        }
    }
    Ok(())
}

/// Removes a directory tree, making read-only parts writable first (Go's module cache
/// copies are read-only).
fn remove_tree(dir: &Path) -> std::io::Result<()> {
    if !dir.exists() {
        return Ok(());
    }
    let _ = Command::new("chmod").arg("-R").arg("u+w").arg(dir).status();
    std::fs::remove_dir_all(dir)
}

fn say(log: &mut dyn Write, line: &str) {
    let _ = writeln!(log, "build-platform: {line}");
    let _ = log.flush();
}

/// `2m39s`, `14s`.
pub fn minutes(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 60 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{s}s")
    }
}
