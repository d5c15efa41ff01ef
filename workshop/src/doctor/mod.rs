//! `workshop doctor`: is this machine ready for the workshop, which of its two paths can the
//! attendee take now, and if none, what to do.
//!
//! It probes, judges, then renders: the probes below each make a line with ✓ (fine),
//! i (differs on this system), ! (a warning) or ✗ (to fix) and, when not ✓, the fix on the
//! next line; [`paths`] judges from those lines which path is ready; [`render`] prints them.
//!
//! - system: which one, and what differs on it from Linux ([`system`]);
//! - toolchain: `rustc` at least the workspace's `rust-version`, `cargo nextest`;
//! - ports: the services' (5000-5003) and the platform's (3000, 4317, 4318, 9090): free,
//!   or taken by what should be there (the check asks), or taken by something else;
//! - Docker: the client, the Compose plugin (2.22+ for the all-in-compose `watch`), the
//!   daemon;
//! - the platform: the collector, Prometheus, Grafana, and Loki and Tempo through Grafana
//!   (they are not published), ready or not; then whether data arrives in each;
//! - section 6: the OpenTelemetry Collector program that `check 6` runs, and `up
//!   --collector` without Docker (`WORKSHOP_OTELCOL`, or the `build-platform` build).
//!
//! Only Grafana (3000), Prometheus (9090) and the collector's OTLP ports (4317, 4318) are
//! published by docker-compose.yml. So the collector is checked by an OTLP/HTTP export of
//! an empty request (its health check on 13133 is not published), and Loki and Tempo by
//! Grafana's datasource health API and datasource proxy (uids `loki` and `tempo`, from
//! platform/grafana/provisioning/datasources/datasources.yaml).
//!
//! Every command and HTTP call has a timeout (`--timeout`); commands run in their own process
//! group (a job object on Windows), which is killed on timeout or Ctrl-C, so nothing is left
//! behind. The exit code is 0 when at least one path is ready, 1 when none is.

use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::process::Stdio;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::bail;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::process::Tree;
use crate::stop::StopSignal;
use report::{Check, Need, Section, Status, fail, ok, warn};

mod paths;
mod render;
mod report;
mod system;

#[derive(clap::Args)]
pub struct Args {
    /// Prometheus' base URL.
    #[arg(long, value_name = "URL", default_value = "http://127.0.0.1:9090", value_parser = parse_url)]
    prometheus: Box<reqwest::Url>,
    /// Grafana's base URL (Loki and Tempo are checked through it: they are not published).
    #[arg(long, value_name = "URL", default_value = "http://127.0.0.1:3000", value_parser = parse_url)]
    grafana: Box<reqwest::Url>,
    /// The collector's OTLP/HTTP base URL.
    #[arg(long, value_name = "URL", default_value = "http://127.0.0.1:4318", value_parser = parse_url)]
    otlp: Box<reqwest::Url>,
    /// The collector's OTLP gRPC address (only checked to speak HTTP/2).
    #[arg(long, value_name = "URL", default_value = "http://127.0.0.1:4317", value_parser = parse_url)]
    otlp_grpc: Box<reqwest::Url>,
    /// The frontend's port, as for `up --port`; gateway, geolocator and iss-distance use the
    /// next three.
    #[arg(long, default_value_t = 5000,
          value_parser = clap::value_parser!(u16).range(1..=i64::from(u16::MAX - 3)))]
    port: u16,
    /// Timeout of each HTTP call and each command (e.g. 3s, 500ms).
    #[arg(long, default_value = "5s", value_parser = parse_timeout)]
    timeout: Duration,
    /// The docker program to run.
    #[arg(
        long,
        value_name = "PROGRAM",
        env = "WORKSHOP_DOCKER",
        default_value = "docker"
    )]
    docker: String,
    /// The rustc program to run.
    #[arg(
        long,
        value_name = "PROGRAM",
        env = "WORKSHOP_RUSTC",
        default_value = "rustc",
        hide = true
    )]
    rustc: String,
    /// The cargo program to run.
    #[arg(
        long,
        value_name = "PROGRAM",
        env = "WORKSHOP_CARGO",
        default_value = "cargo",
        hide = true
    )]
    cargo: String,
    /// Print the checks as one JSON object instead of lines.
    #[arg(long)]
    json: bool,
}

/// Boxed: four URLs inline would make `Command` four times as big as any other command.
fn parse_url(text: &str) -> Result<Box<reqwest::Url>, String> {
    let why = "the platform publishes plain HTTP on 127.0.0.1";
    crate::base_url::parse(text, "http://127.0.0.1:9090", why).map(Box::new)
}

/// From 50 ms to 2 minutes.
fn parse_timeout(text: &str) -> Result<Duration, String> {
    let timeout = crate::duration::parse(text)?;
    if !(Duration::from_millis(50)..=Duration::from_secs(120)).contains(&timeout) {
        return Err("--timeout must be from 50ms to 120s".into());
    }
    Ok(timeout)
}

const START_PLATFORM: &str =
    "start the platform in the repository root: `docker compose up -d`, then `docker compose ps`";

pub async fn run(args: Args) -> anyhow::Result<()> {
    let mut stop = StopSignal::listen()?;
    let sections = tokio::select! {
        sections = checks(&args) => sections?,
        // Dropping the checks kills the commands they started (see `command`).
        () = stop.recv() => bail!("interrupted"),
    };
    let verdicts = paths::judge(sections.iter().flat_map(|s| &s.checks));
    if args.json {
        println!("{}", render::json(&sections, &verdicts)?);
    } else {
        print!("{}", render::text(&sections, &verdicts));
    }
    if paths::recommended(&verdicts).is_none() {
        bail!("no path is ready yet; each ✗ above says how to fix it");
    }
    Ok(())
}

async fn checks(args: &Args) -> anyhow::Result<Vec<Section>> {
    let http = reqwest::Client::builder()
        .timeout(args.timeout)
        .connect_timeout(args.timeout)
        .no_proxy()
        .build()?;
    let probe = Probe { http: &http };
    // Everything at once: the slowest check, not the sum, is what you wait for.
    let (toolchain, (docker, docker_installed), ports, platform, collector) = tokio::join!(
        toolchain(args),
        docker(args),
        ports(args, &probe),
        platform(args, &probe),
        collector_program(args),
    );
    let mut sections = vec![
        Section::needed_by(
            "System",
            Need::Neither,
            system::notes(std::env::consts::OS, std::env::consts::ARCH),
        ),
        Section {
            title: "Toolchain (both paths)",
            checks: toolchain,
        },
        Section {
            title: "Ports",
            checks: ports,
        },
        Section::needed_by("Docker (path b)", Need::Docker, docker),
        Section::needed_by(
            "Section 6 (check 6, and up --collector without Docker)",
            Need::Neither,
            collector,
        ),
    ];
    let (ready, data) = platform;
    if docker_installed {
        sections.push(Section::needed_by(
            "Platform (path b: docker compose up -d)",
            Need::Docker,
            ready,
        ));
        sections.push(Section::needed_by(
            "Data arriving (path b, last 15 minutes)",
            Need::Neither,
            data,
        ));
    } else {
        // Without Docker the platform cannot be running here: one line, not ten red ones.
        sections.push(Section::needed_by(
            "Platform (path b: docker compose up -d)",
            Need::Docker,
            vec![fail(
                "platform",
                "not checked: it runs in Docker, which is not installed",
                "install Docker first (above), or take path (a)",
            )],
        ));
    }
    Ok(sections)
}

// ---------------------------------------------------------------------------------------
// Commands

/// What a command printed, or why it did not run.
enum Ran {
    Output {
        success: bool,
        stdout: String,
        stderr: String,
    },
    NotFound,
    TimedOut,
    Failed(String),
}

/// Runs `program args…` with no input, as a [`Tree`] of its own, for at most `timeout`.
async fn command(program: &str, args: &[&str], timeout: Duration) -> Ran {
    let mut command = tokio::process::Command::new(program);
    command
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    Tree::prepare(&mut command);
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ran::NotFound,
        Err(e) => return Ran::Failed(e.to_string()),
    };
    // Declared after the child, so dropped before it: the tree is killed while the child is
    // not reaped yet.
    let mut tree = Tree::of(&child);
    let mut stdout = child.stdout.take().expect("piped");
    let mut stderr = child.stderr.take().expect("piped");
    let read_all = async {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let _ = tokio::join!(stdout.read_to_end(&mut out), stderr.read_to_end(&mut err));
        (out, err)
    };
    let outcome = tokio::time::timeout(timeout, async {
        let (out, err) = read_all.await;
        (child.wait().await, out, err)
    })
    .await;
    match outcome {
        Ok((Ok(status), out, err)) => {
            // It exited and closed its output: nothing of it is left to kill.
            tree.disarm();
            Ran::Output {
                success: status.success(),
                stdout: String::from_utf8_lossy(&out).into_owned(),
                stderr: String::from_utf8_lossy(&err).into_owned(),
            }
        }
        Ok((Err(e), _, _)) => Ran::Failed(e.to_string()),
        Err(_) => {
            tree.kill();
            let _ = child.kill().await;
            Ran::TimedOut
        }
    }
}

/// The first `major.minor[.patch]` in `text`, e.g. from "Docker Compose version v2.29.1".
fn version_in(text: &str) -> Option<(u64, u64, u64)> {
    text.split(|c: char| !(c.is_ascii_digit() || c == '.'))
        .filter(|word| word.contains('.'))
        .find_map(|word| {
            let mut parts = word.split('.').filter(|p| !p.is_empty());
            let major = parts.next()?.parse().ok()?;
            let minor = parts.next()?.parse().ok()?;
            let patch = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
            Some((major, minor, patch))
        })
}

fn version_string((major, minor, patch): (u64, u64, u64)) -> String {
    format!("{major}.{minor}.{patch}")
}

fn first_line(text: &str) -> String {
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    let mut line: String = line.chars().take(160).collect();
    if line.is_empty() {
        line = "no output".into();
    }
    line
}

/// The workspace's `rust-version`, which this binary was built with.
const RUST_VERSION: &str = env!("CARGO_PKG_RUST_VERSION");

async fn toolchain(args: &Args) -> Vec<Check> {
    let (rustc, nextest) = tokio::join!(
        command(&args.rustc, &["--version"], args.timeout),
        command(&args.cargo, &["nextest", "--version"], args.timeout),
    );
    let needed = version_in(RUST_VERSION).unwrap_or((1, 88, 0));
    let update = format!(
        "`rustup update stable` (the workspace needs Rust {RUST_VERSION} or newer); without \
         rustup, install it from https://rustup.rs"
    );
    let rust = match rustc {
        Ran::Output {
            success: true,
            stdout,
            ..
        } => match version_in(&stdout) {
            Some(version) if version >= needed => ok(
                "Rust",
                format!(
                    "{} (needs {RUST_VERSION} or newer)",
                    first_line(&stdout).trim_start_matches("rustc ")
                ),
            ),
            Some(version) => fail(
                "Rust",
                format!(
                    "rustc {} is older than the workspace's rust-version {RUST_VERSION}",
                    version_string(version)
                ),
                update,
            ),
            None => fail(
                "Rust",
                format!("cannot read a version in {:?}", first_line(&stdout)),
                update,
            ),
        },
        Ran::Output { stderr, .. } => fail(
            "Rust",
            format!("`{} --version` failed: {}", args.rustc, first_line(&stderr)),
            update,
        ),
        Ran::NotFound => fail(
            "Rust",
            format!("`{}` is not on PATH", args.rustc),
            "install Rust with rustup: https://rustup.rs (then open a new terminal)",
        ),
        Ran::TimedOut => fail(
            "Rust",
            format!(
                "`{} --version` did not answer within {:?}",
                args.rustc, args.timeout
            ),
            update,
        ),
        Ran::Failed(e) => fail("Rust", format!("cannot run `{}`: {e}", args.rustc), update),
    };
    let install = "`cargo install cargo-nextest --locked` (the workshop's tests run with it)";
    let nextest = match nextest {
        Ran::Output {
            success: true,
            stdout,
            ..
        } => ok("cargo-nextest", first_line(&stdout)),
        Ran::Output { .. } | Ran::NotFound => warn("cargo-nextest", "not installed", install),
        Ran::TimedOut => warn(
            "cargo-nextest",
            format!(
                "`cargo nextest --version` did not answer within {:?}",
                args.timeout
            ),
            install,
        ),
        Ran::Failed(e) => warn("cargo-nextest", format!("cannot run cargo: {e}"), install),
    };
    vec![rust, nextest.needed_by(Need::Neither)]
}

/// The collector program section 6 runs: `WORKSHOP_OTELCOL`, or the build of
/// `build-platform -- otelcol`. Only section 6 needs it (with Docker, only its check).
async fn collector_program(args: &Args) -> Vec<Check> {
    const NAME: &str = "OpenTelemetry Collector";
    let fix = "`cargo run -p platform-live --bin build-platform -- otelcol` (needs Go 1.25 or \
               newer; about 3 minutes), or download the otelcol-contrib 0.159.0 release binary \
               and set WORKSHOP_OTELCOL to its path";
    let program = match std::env::var_os("WORKSHOP_OTELCOL") {
        Some(program) => std::path::PathBuf::from(program),
        None => match platform_live::programs::collector_binary(&crate::build::workspace_root()) {
            Ok(program) => program,
            Err(_) => {
                return vec![warn(
                    NAME,
                    "not built, and WORKSHOP_OTELCOL is not set",
                    fix,
                )];
            }
        },
    };
    let shown = program.display().to_string();
    let check = match command(&shown, &["--version"], args.timeout).await {
        Ran::Output {
            success: true,
            stdout,
            ..
        } => ok(NAME, format!("{} ({shown})", first_line(&stdout))),
        Ran::NotFound => warn(NAME, format!("{shown} does not exist"), fix),
        Ran::Output { stderr, stdout, .. } => warn(
            NAME,
            format!(
                "`{shown} --version` failed: {}",
                first_line(&(stderr + &stdout))
            ),
            fix,
        ),
        Ran::TimedOut => warn(
            NAME,
            format!(
                "`{shown} --version` did not answer within {:?}",
                args.timeout
            ),
            fix,
        ),
        Ran::Failed(e) => warn(NAME, format!("cannot run {shown}: {e}"), fix),
    };
    vec![check]
}

/// The Docker checks, and whether a docker client is installed at all.
async fn docker(args: &Args) -> (Vec<Check>, bool) {
    let docker = args.docker.as_str();
    let t = args.timeout;
    let (version, compose, info) = tokio::join!(
        command(docker, &["--version"], t),
        command(docker, &["compose", "version"], t),
        command(docker, &["info", "--format", "{{.ServerVersion}}"], t),
    );
    let install = "install Docker Desktop (macOS, Windows) or Docker Engine with the compose \
                   plugin (Linux): https://docs.docker.com/get-started/get-docker/ \
                   (`workshop up` runs the services without Docker, but the platform needs it)";
    let client = match version {
        Ran::Output {
            success: true,
            stdout,
            ..
        } => ok("Docker", first_line(&stdout)),
        Ran::NotFound => {
            let absent = format!("`{docker}` is not installed (not on PATH)");
            let checks = vec![
                fail("Docker", absent, install),
                fail(
                    "Docker Compose",
                    "needs Docker",
                    "install Docker first (above)",
                ),
                fail(
                    "Docker daemon",
                    "needs Docker",
                    "install Docker first (above)",
                ),
            ];
            return (checks, false);
        }
        Ran::Output { stderr, stdout, .. } => fail(
            "Docker",
            format!(
                "`{docker} --version` failed: {}",
                first_line(&(stderr + &stdout))
            ),
            install,
        ),
        Ran::TimedOut => fail(
            "Docker",
            format!("`{docker} --version` did not answer within {t:?}"),
            install,
        ),
        Ran::Failed(e) => fail("Docker", format!("cannot run `{docker}`: {e}"), install),
    };
    let plugin = "install the Compose plugin: it comes with Docker Desktop; on Linux \
                  `sudo apt-get install docker-compose-plugin` (Docker's apt repository) or \
                  see https://docs.docker.com/compose/install/linux/";
    let compose = match compose {
        Ran::Output {
            success: true,
            stdout,
            ..
        } => match version_in(&stdout) {
            Some(version) if version >= (2, 22, 0) => ok(
                "Docker Compose",
                format!("{} (watch needs 2.22 or newer)", version_string(version)),
            ),
            // Only the all-in-compose alternative watches; the platform itself runs on any
            // Compose v2.
            Some(version) => warn(
                "Docker Compose",
                format!(
                    "{} is too old for `docker compose up --watch` (needs 2.22 or newer), which \
                     only the all-in-compose alternative uses",
                    version_string(version)
                ),
                "update Docker Desktop, or the docker-compose-plugin package on Linux",
            ),
            None => fail(
                "Docker Compose",
                format!("cannot read a version in {:?}", first_line(&stdout)),
                plugin,
            ),
        },
        Ran::Output { stderr, stdout, .. } => fail(
            "Docker Compose",
            format!(
                "`{docker} compose version` failed: {}",
                first_line(&(stderr + &stdout))
            ),
            plugin,
        ),
        Ran::NotFound => fail(
            "Docker Compose",
            "needs Docker",
            "install Docker first (above)",
        ),
        Ran::TimedOut => fail(
            "Docker Compose",
            format!("`{docker} compose version` did not answer within {t:?}"),
            plugin,
        ),
        Ran::Failed(e) => fail(
            "Docker Compose",
            format!("cannot run `{docker}`: {e}"),
            plugin,
        ),
    };
    let start = "start Docker Desktop (macOS, Windows), or the daemon on Linux: \
                 `sudo systemctl start docker` (and `sudo usermod -aG docker $USER`, then log \
                 in again, to use it without sudo)";
    let daemon = match info {
        Ran::Output {
            success: true,
            stdout,
            ..
        } if !stdout.trim().is_empty() => ok(
            "Docker daemon",
            format!("reachable (Docker Engine {})", stdout.trim()),
        ),
        Ran::Output { stderr, stdout, .. } => fail(
            "Docker daemon",
            format!("not reachable: {}", first_line(&(stderr + &stdout))),
            start,
        ),
        Ran::NotFound => fail(
            "Docker daemon",
            "needs Docker",
            "install Docker first (above)",
        ),
        Ran::TimedOut => fail(
            "Docker daemon",
            format!("`{docker} info` did not answer within {t:?}"),
            "the daemon seems stuck: restart Docker Desktop, or `sudo systemctl restart docker`",
        ),
        Ran::Failed(e) => fail(
            "Docker daemon",
            format!("cannot run `{docker}`: {e}"),
            start,
        ),
    };
    (vec![client, compose, daemon], true)
}

// ---------------------------------------------------------------------------------------
// HTTP

struct Probe<'a> {
    http: &'a reqwest::Client,
}

/// An HTTP answer, or why there is none.
enum Answer {
    Got { status: u16, body: String },
    Unreachable(String),
    TimedOut,
}

impl Answer {
    fn json(&self) -> Option<Value> {
        match self {
            Answer::Got { body, .. } => serde_json::from_str(body).ok(),
            _ => None,
        }
    }

    /// How to say what came back, for a ✗ line: "503 Service Unavailable: starting".
    fn describe(&self) -> String {
        match self {
            Answer::Got { status, body } => {
                let reason = reqwest::StatusCode::from_u16(*status)
                    .ok()
                    .and_then(|s| s.canonical_reason())
                    .unwrap_or("");
                let body = first_line(body);
                format!("{status} {reason}: {body}")
            }
            Answer::Unreachable(why) => format!("not reachable ({why})"),
            Answer::TimedOut => "no answer in time".into(),
        }
    }
}

impl Probe<'_> {
    async fn send(&self, request: reqwest::RequestBuilder) -> Answer {
        let response = match request.send().await {
            Ok(response) => response,
            Err(e) => return failure(&e),
        };
        let status = response.status().as_u16();
        match response.text().await {
            Ok(body) => Answer::Got { status, body },
            Err(e) => failure(&e),
        }
    }

    async fn get(&self, url: &reqwest::Url, path: &str, query: &[(&str, &str)]) -> Answer {
        self.send(self.http.get(join(url, path)).query(query)).await
    }
}

fn failure(error: &reqwest::Error) -> Answer {
    if error.is_timeout() {
        return Answer::TimedOut;
    }
    // The innermost cause says it best: "Connection refused (os error 111)".
    let mut cause: &dyn std::error::Error = error;
    while let Some(inner) = cause.source() {
        cause = inner;
    }
    Answer::Unreachable(cause.to_string())
}

/// A base URL as people write it: without the trailing slash.
fn show(url: &reqwest::Url) -> &str {
    url.as_str().trim_end_matches('/')
}

/// `base` with `path` appended to its own path.
fn join(base: &reqwest::Url, path: &str) -> reqwest::Url {
    let mut url = base.clone();
    let joined = format!("{}{}", base.path().trim_end_matches('/'), path);
    url.set_path(&joined);
    url
}

/// An OTLP/HTTP export of an empty ExportTraceServiceRequest, in its JSON encoding.
async fn otlp_export(probe: &Probe<'_>, base: &reqwest::Url) -> Answer {
    probe
        .send(
            probe
                .http
                .post(join(base, "/v1/traces"))
                .header("content-type", "application/json")
                .body("{}"),
        )
        .await
}

/// Whether `addr` speaks HTTP/2 with prior knowledge, as a gRPC server does: it answers the
/// client preface and an empty SETTINGS frame with a SETTINGS frame.
async fn speaks_http2(addr: SocketAddr, timeout: Duration) -> Result<bool, String> {
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(addr).await?;
        let mut hello = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
        hello.extend_from_slice(&[0, 0, 0, 4, 0, 0, 0, 0, 0]);
        stream.write_all(&hello).await?;
        let mut header = [0u8; 9];
        stream.read_exact(&mut header).await?;
        Ok::<bool, std::io::Error>(header[3] == 4)
    };
    match tokio::time::timeout(timeout, exchange).await {
        Ok(Ok(answer)) => Ok(answer),
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(false),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("no answer in time".into()),
    }
}

// ---------------------------------------------------------------------------------------
// Ports

/// What should listen on a port, and how to recognise it.
#[derive(Clone, Copy)]
enum Expected {
    Service(&'static str),
    Grafana,
    Prometheus,
    OtlpHttp,
    OtlpGrpc,
}

/// The local port of `url`, if its host is this machine.
fn local_port(url: &reqwest::Url) -> Option<u16> {
    let host = url.host_str()?;
    let local = matches!(
        host,
        "127.0.0.1" | "localhost" | "[::1]" | "::1" | "0.0.0.0"
    );
    local.then(|| url.port_or_known_default()).flatten()
}

async fn ports(args: &Args, probe: &Probe<'_>) -> Vec<Check> {
    let mut wanted: Vec<(u16, Expected)> = ["frontend", "gateway", "geolocator", "iss-distance"]
        .into_iter()
        .enumerate()
        .map(|(i, name)| (args.port + i as u16, Expected::Service(name)))
        .collect();
    for (url, expected) in [
        (&args.grafana, Expected::Grafana),
        (&args.otlp_grpc, Expected::OtlpGrpc),
        (&args.otlp, Expected::OtlpHttp),
        (&args.prometheus, Expected::Prometheus),
    ] {
        if let Some(port) = local_port(url) {
            wanted.push((port, expected));
        }
    }
    let needs: Vec<Need> = wanted
        .iter()
        .map(|(_, expected)| match expected {
            // Only the platform uses these; the OTLP ports matter to `up` on both paths.
            Expected::Grafana | Expected::Prometheus => Need::Docker,
            Expected::Service(_) | Expected::OtlpHttp | Expected::OtlpGrpc => Need::Both,
        })
        .collect();
    let checks = wanted
        .into_iter()
        .map(|(port, expected)| port_check(args, probe, port, expected));
    join_all(checks)
        .await
        .into_iter()
        .zip(needs)
        .map(|(check, need)| check.needed_by(need))
        .collect()
}

/// Runs the futures concurrently (on this task: they borrow) and returns their outputs in
/// order.
async fn join_all<F: std::future::Future>(futures: impl IntoIterator<Item = F>) -> Vec<F::Output> {
    let mut pinned: Vec<_> = futures.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = pinned.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (future, output) in pinned.iter_mut().zip(outputs.iter_mut()) {
            if output.is_none() {
                match future.as_mut().poll(cx) {
                    std::task::Poll::Ready(value) => *output = Some(value),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    outputs
        .into_iter()
        .map(|o| o.expect("every future finished"))
        .collect()
}

/// Whether the macOS AirPlay Receiver answers at `base` (its server header says AirTunes).
async fn is_airplay(probe: &Probe<'_>, base: &reqwest::Url) -> bool {
    match probe.http.get(join(base, "/")).send().await {
        Ok(response) => response
            .headers()
            .get(reqwest::header::SERVER)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("AirTunes")),
        Err(_) => false,
    }
}

async fn port_check(args: &Args, probe: &Probe<'_>, port: u16, expected: Expected) -> Check {
    let what = match expected {
        Expected::Service(name) => name,
        Expected::Grafana => "Grafana",
        Expected::Prometheus => "Prometheus",
        Expected::OtlpHttp => "OTLP/HTTP",
        Expected::OtlpGrpc => "OTLP gRPC",
    };
    let name = format!("port {port} ({what})");
    if TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_ok() {
        return ok(name, "free");
    }
    let base: reqwest::Url = format!("http://127.0.0.1:{port}")
        .parse()
        .expect("a valid URL");
    let who = match expected {
        Expected::Service(_) => match probe.get(&base, "/healthz", &[]).await {
            Answer::Got { status: 200, body } if body.trim() == "ok" => Some(
                "in use by a workshop service (answers /healthz): `workshop up` or the \
                 services' compose file is running",
            ),
            _ => None,
        },
        Expected::Grafana => probe
            .get(&base, "/api/health", &[])
            .await
            .json()
            .filter(|v| v.get("database").is_some())
            .map(|_| "in use by Grafana (answers /api/health)"),
        Expected::Prometheus => match probe.get(&base, "/-/ready", &[]).await {
            Answer::Got { body, .. } if body.contains("Prometheus") => {
                Some("in use by Prometheus (answers /-/ready)")
            }
            _ => None,
        },
        Expected::OtlpHttp => match otlp_export(probe, &base).await {
            Answer::Got { status: 200, .. } => Some(
                "in use by an OTLP receiver: the platform's collector, or the one `workshop up` \
                 starts when no collector is running",
            ),
            _ => None,
        },
        Expected::OtlpGrpc => {
            match speaks_http2(SocketAddr::from((Ipv4Addr::LOCALHOST, port)), args.timeout).await {
                Ok(true) => Some(
                    "in use by an HTTP/2 (gRPC) server: the platform's collector, or the receiver \
                 `workshop up` starts",
                ),
                _ => None,
            }
        }
    };
    if let Some(who) = who {
        return ok(name, who);
    }
    let find = if cfg!(target_os = "macos") {
        format!("`lsof -nP -iTCP:{port} -sTCP:LISTEN` shows which program")
    } else {
        format!(
            "`ss -ltnp 'sport = :{port}'` (or `lsof -nP -iTCP:{port} -sTCP:LISTEN`) shows which program"
        )
    };
    match expected {
        Expected::Service(_) => {
            let airplay = port == 5000 && is_airplay(probe, &base).await;
            let (detail, mac) = if airplay {
                (
                    "taken by the macOS AirPlay Receiver",
                    "turn the AirPlay Receiver off in System Settings → General → AirDrop & \
                     Handoff, or ",
                )
            } else if port == 5000 && cfg!(target_os = "macos") {
                (
                    "taken by another program",
                    "on macOS this is usually the AirPlay Receiver: turn it off in System \
                     Settings → General → AirDrop & Handoff, or ",
                )
            } else {
                ("taken by another program", "")
            };
            fail(
                name,
                detail,
                format!(
                    "{mac}run the services on other ports: `cargo run -p workshop -- up --port 8000` \
                     (uses 8000-8003); {find}"
                ),
            )
        }
        _ => fail(
            name,
            format!("taken by something that is not {what}"),
            format!(
                "stop it ({find}), or publish the platform on another port in docker-compose.yml"
            ),
        ),
    }
}

// ---------------------------------------------------------------------------------------
// The platform

async fn platform(args: &Args, probe: &Probe<'_>) -> (Vec<Check>, Vec<Check>) {
    let (collector, prometheus, grafana, loki, tempo) = tokio::join!(
        collector(args, probe),
        prometheus_ready(args, probe),
        grafana_ready(args, probe),
        datasource_ready(args, probe, "Loki", "loki"),
        datasource_ready(args, probe, "Tempo", "tempo"),
    );
    let (metrics, logs, traces) = tokio::join!(
        metrics_arriving(args, probe, prometheus.status == Status::Ok),
        logs_arriving(args, probe, loki.status == Status::Ok),
        traces_arriving(args, probe, tempo.status == Status::Ok),
    );
    (
        vec![collector, prometheus, grafana, loki, tempo],
        vec![metrics, logs, traces],
    )
}

/// The fix when an address does not answer at all.
fn unreachable_fix(option: &str) -> String {
    format!("{START_PLATFORM} (or point {option} at where it runs)")
}

async fn collector(args: &Args, probe: &Probe<'_>) -> Check {
    let name = "collector";
    let url = join(&args.otlp, "/v1/traces");
    let answer = otlp_export(probe, &args.otlp).await;
    match &answer {
        Answer::Got { status: 200, .. } => ok(
            name,
            format!(
                "{} accepts OTLP/HTTP (an empty trace export; its health check on 13133 is not \
                 published)",
                show(&args.otlp)
            ),
        ),
        Answer::Got { status, .. } => fail(
            name,
            format!("POST {url} answered {}", answer.describe()),
            if *status == 404 || *status == 405 || *status == 415 {
                "something else answers there, not an OTLP receiver: check --otlp, and \
                 `docker compose ps otel-collector`"
                    .to_owned()
            } else {
                "see what it says: `docker compose logs otel-collector`; restart it with \
                 `docker compose restart otel-collector`"
                    .to_owned()
            },
        ),
        _ => fail(
            name,
            format!("{} {}", show(&args.otlp), answer.describe()),
            unreachable_fix("--otlp"),
        ),
    }
}

async fn prometheus_ready(args: &Args, probe: &Probe<'_>) -> Check {
    let name = "Prometheus";
    let answer = probe.get(&args.prometheus, "/-/ready", &[]).await;
    match &answer {
        Answer::Got { status: 200, .. } => ok(name, format!("{} is ready", show(&args.prometheus))),
        Answer::Got { .. } => fail(
            name,
            format!(
                "{} not ready: {}",
                show(&args.prometheus),
                answer.describe()
            ),
            "it may still be starting (wait a few seconds); otherwise \
             `docker compose logs prometheus`",
        ),
        _ => fail(
            name,
            format!("{} {}", show(&args.prometheus), answer.describe()),
            unreachable_fix("--prometheus"),
        ),
    }
}

async fn grafana_ready(args: &Args, probe: &Probe<'_>) -> Check {
    let name = "Grafana";
    let answer = probe.get(&args.grafana, "/api/health", &[]).await;
    let database = answer
        .json()
        .and_then(|v| v.get("database").and_then(Value::as_str).map(str::to_owned));
    match (&answer, database.as_deref()) {
        (Answer::Got { status: 200, .. }, Some("ok")) => {
            ok(name, format!("{} is healthy", show(&args.grafana)))
        }
        (Answer::Got { .. }, _) => fail(
            name,
            format!("{} not healthy: {}", show(&args.grafana), answer.describe()),
            "it may still be starting (wait a few seconds); otherwise \
             `docker compose logs grafana`",
        ),
        _ => fail(
            name,
            format!("{} {}", show(&args.grafana), answer.describe()),
            unreachable_fix("--grafana"),
        ),
    }
}

/// Loki and Tempo are not published: Grafana's health check of their datasource tells.
async fn datasource_ready(args: &Args, probe: &Probe<'_>, name: &str, uid: &str) -> Check {
    let service = uid;
    let path = format!("/api/datasources/uid/{uid}/health");
    let answer = probe.get(&args.grafana, &path, &[]).await;
    let body = answer.json();
    let message = body
        .as_ref()
        .and_then(|v| v.get("message").and_then(Value::as_str))
        .map(str::to_owned);
    let status = body
        .as_ref()
        .and_then(|v| v.get("status").and_then(Value::as_str))
        .map(str::to_ascii_uppercase);
    match (&answer, status.as_deref()) {
        (Answer::Got { status: 200, .. }, Some("OK")) => ok(
            name,
            format!(
                "ready, through Grafana (datasource {uid}: {})",
                message.as_deref().unwrap_or("OK")
            ),
        ),
        (Answer::Got { status: 404, .. }, _) => fail(
            name,
            format!("Grafana has no datasource with uid {uid:?}"),
            "Grafana did not load platform/grafana/provisioning/datasources/datasources.yaml: \
             `docker compose up -d --force-recreate grafana`",
        ),
        (Answer::Got { .. }, Some(_)) => fail(
            name,
            format!(
                "Grafana cannot reach it: {}",
                message.unwrap_or_else(|| answer.describe())
            ),
            format!(
                "`docker compose ps {service}` (should be healthy) and \
                 `docker compose logs {service}`; start it with `docker compose up -d`"
            ),
        ),
        (Answer::Got { .. }, None) => fail(
            name,
            format!(
                "cannot tell: Grafana's datasource health answered {}",
                answer.describe()
            ),
            "fix Grafana first (above); is --grafana really Grafana?",
        ),
        _ => fail(
            name,
            format!("cannot tell: Grafana {}", answer.describe()),
            format!(
                "{name} is only reachable inside the compose network, through Grafana: \
                 {START_PLATFORM}"
            ),
        ),
    }
}

const METRICS: [&str; 4] = [
    "traces_span_metrics_calls_total",
    "iss_requests_total",
    "incoming_requests_total",
    "target_info",
];

const SEND_DATA: &str = "run the services (`cargo run -p workshop -- up`) with traffic \
                         (`cargo run -p workshop -- load`) and wait a minute: the SDK exports \
                         metrics every 60 s";

async fn metrics_arriving(args: &Args, probe: &Probe<'_>, ready: bool) -> Check {
    let name = "metrics";
    if !ready {
        return warn(
            name,
            "cannot tell: Prometheus is not ready",
            "fix Prometheus first (above)",
        );
    }
    let query = format!(
        "count by (__name__) ({{__name__=~\"{}\"}})",
        METRICS.join("|")
    );
    let answer = probe
        .get(&args.prometheus, "/api/v1/query", &[("query", &query)])
        .await;
    let Some(body) = answer.json().filter(|v| v["status"] == "success") else {
        return fail(
            name,
            format!("the query failed: {}", answer.describe()),
            "is --prometheus really Prometheus? `docker compose logs prometheus`",
        );
    };
    let mut found: Vec<&str> = body["data"]["result"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|series| series["metric"]["__name__"].as_str())
        .collect();
    found.sort_by_key(|name| METRICS.iter().position(|m| m == name));
    if found.is_empty() {
        warn(
            name,
            format!("none of {} in the last 5 minutes", METRICS.join(", ")),
            SEND_DATA,
        )
    } else {
        ok(name, format!("Prometheus has {}", found.join(", ")))
    }
}

fn since(minutes: u64) -> (String, String) {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    ((now - minutes * 60).to_string(), now.to_string())
}

async fn logs_arriving(args: &Args, probe: &Probe<'_>, ready: bool) -> Check {
    let name = "logs";
    if !ready {
        return warn(
            name,
            "cannot tell: Loki is not ready",
            "fix Loki first (above)",
        );
    }
    let answer = probe
        .get(
            &args.grafana,
            "/api/datasources/proxy/uid/loki/loki/api/v1/query_range",
            &[
                ("query", r#"{service_name=~".+"}"#),
                ("since", "15m"),
                ("limit", "100"),
                ("direction", "backward"),
            ],
        )
        .await;
    let Some(body) = answer.json().filter(|v| v["status"] == "success") else {
        return fail(
            name,
            format!("the query through Grafana failed: {}", answer.describe()),
            "`docker compose logs loki grafana`",
        );
    };
    let mut services: Vec<&str> = body["data"]["result"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|stream| stream["values"].as_array().is_some_and(|v| !v.is_empty()))
        .filter_map(|stream| stream["stream"]["service_name"].as_str())
        .collect();
    services.sort_unstable();
    services.dedup();
    if services.is_empty() {
        warn(
            name,
            "no log line in Loki",
            SEND_DATA.replace(" metrics every 60 s", " logs every second"),
        )
    } else {
        ok(
            name,
            format!("Loki has log lines from {}", services.join(", ")),
        )
    }
}

async fn traces_arriving(args: &Args, probe: &Probe<'_>, ready: bool) -> Check {
    let name = "traces";
    if !ready {
        return warn(
            name,
            "cannot tell: Tempo is not ready",
            "fix Tempo first (above)",
        );
    }
    let (start, end) = since(15);
    let answer = probe
        .get(
            &args.grafana,
            "/api/datasources/proxy/uid/tempo/api/search",
            &[("limit", "20"), ("start", &start), ("end", &end)],
        )
        .await;
    let Some(body) = answer.json().filter(|v| v["traces"].is_array()) else {
        return fail(
            name,
            format!("the search through Grafana failed: {}", answer.describe()),
            "`docker compose logs tempo grafana`",
        );
    };
    let mut services: Vec<&str> = body["traces"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|trace| trace["rootServiceName"].as_str())
        .collect();
    let count = body["traces"].as_array().map_or(0, Vec::len);
    services.sort_unstable();
    services.dedup();
    if count == 0 {
        warn(
            name,
            "no trace in Tempo",
            "traces come with section 3: run the services (`cargo run -p workshop -- up`) with \
             traffic (`cargo run -p workshop -- load`)",
        )
    } else {
        ok(
            name,
            format!(
                "Tempo has traces{}",
                if services.is_empty() {
                    String::new()
                } else {
                    format!(" from {}", services.join(", "))
                }
            ),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        assert_eq!(
            version_in("rustc 1.95.0 (59807616e 2026-04-14)"),
            Some((1, 95, 0))
        );
        assert_eq!(
            version_in("Docker Compose version v2.29.1"),
            Some((2, 29, 1))
        );
        assert_eq!(
            version_in("Docker Compose version 2.21.0-desktop.1"),
            Some((2, 21, 0))
        );
        assert_eq!(
            version_in("Docker version 28.2.2, build e6534b4"),
            Some((28, 2, 2))
        );
        assert_eq!(version_in("1.88"), Some((1, 88, 0)));
        assert_eq!(version_in("no version here"), None);
        assert!(version_in(RUST_VERSION).is_some());
    }

    #[test]
    fn timeouts() {
        assert_eq!(parse_timeout("3s"), Ok(Duration::from_secs(3)));
        assert_eq!(parse_timeout("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_timeout("2"), Ok(Duration::from_secs(2)));
        assert!(parse_timeout("0").is_err());
        assert!(parse_timeout("soon").is_err());
    }

    #[test]
    fn urls() {
        let base: reqwest::Url = "http://127.0.0.1:3000".parse().unwrap();
        assert_eq!(
            join(&base, "/api/health").as_str(),
            "http://127.0.0.1:3000/api/health"
        );
        let prefixed: reqwest::Url = "http://127.0.0.1:3000/grafana/".parse().unwrap();
        assert_eq!(
            join(&prefixed, "/api/health").as_str(),
            "http://127.0.0.1:3000/grafana/api/health"
        );
        assert_eq!(local_port(&base), Some(3000));
        assert_eq!(local_port(&"http://grafana:3000".parse().unwrap()), None);
        assert!(parse_url("https://x").is_err());
        assert!(parse_url("localhost:3000").is_err());
    }
}
