//! Running the four services as child processes: start them with the right environment,
//! show their output with a prefix, wait until they are healthy, and stop them all.
//!
//! They run as separate processes (not as tasks in this one) because each has its own
//! telemetry: its own service name and its own global providers.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use anyhow::{Context, bail};
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};
use tokio::task::JoinHandle;
use tokio::time::{Instant, sleep};

use crate::ports::{Ports, Sockets};
use crate::process;

/// One running service.
pub struct Service {
    pub name: &'static str,
    pub port: u16,
    child: Child,
    /// Its output lines, when started with [`Options::capture`].
    output: Option<Output>,
    /// The tasks copying its stdout and stderr; they end when the process closes them.
    readers: Vec<JoinHandle<()>>,
}

/// How [`start_with`] treats the services' environment and output.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// Keep every output line (up to [`Output::MAX_LINES`]) for [`Running::output`].
    pub capture: bool,
    /// Copy the output to our stderr, prefixed with the service's name.
    pub echo: bool,
    /// Do not pass on our own environment variables whose names start with this (e.g.
    /// `OTEL_`, so that a setting in the caller's shell cannot change what is checked).
    pub drop_env_prefix: Option<&'static str>,
}

impl Default for Options {
    /// What `up` does: show the output, keep nothing, pass the whole environment on.
    fn default() -> Self {
        Self {
            capture: false,
            echo: true,
            drop_env_prefix: None,
        }
    }
}

/// The captured output lines (stdout and stderr, interleaved as they arrived) of one
/// service. Cloning is cheap; every clone sees the same lines.
#[derive(Clone, Debug, Default)]
pub struct Output {
    lines: Arc<Mutex<Vec<String>>>,
}

impl Output {
    /// Lines beyond this many are dropped, so a chatty service cannot exhaust memory.
    pub const MAX_LINES: usize = 20_000;

    pub fn lines(&self) -> Vec<String> {
        self.lines
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn push(&self, line: &str) {
        let mut lines = self.lines.lock().unwrap_or_else(PoisonError::into_inner);
        if lines.len() < Self::MAX_LINES {
            lines.push(line.to_owned());
        }
    }
}

/// All the services that were started; stopping it stops them all.
pub struct Running {
    services: Vec<Service>,
}

/// The environment that wires the services to each other on `ports`.
pub fn wiring(ports: &Ports) -> Vec<(&'static str, String)> {
    let url = |port: u16| format!("http://127.0.0.1:{port}");
    vec![
        ("BIND_ADDR", "127.0.0.1".into()),
        ("FRONTEND_PORT", ports.frontend.to_string()),
        ("GATEWAY_PORT", ports.gateway.to_string()),
        ("GEOLOCATOR_PORT", ports.geolocator.to_string()),
        ("ISS_DISTANCE_PORT", ports.iss_distance.to_string()),
        ("GATEWAY_URL", url(ports.gateway)),
        ("GEOLOCATOR_URL", url(ports.geolocator)),
        ("ISS_DISTANCE_URL", url(ports.iss_distance)),
    ]
}

/// Starts the four services in `binaries` (iss-distance first, frontend last), each on its
/// socket from `sockets`, with `env` on top of this process's own environment.
pub fn start(
    binaries: &BTreeMap<String, PathBuf>,
    sockets: Sockets,
    env: &[(&'static str, String)],
) -> anyhow::Result<Running> {
    start_with(binaries, sockets, env, Options::default())
}

/// [`start`], with a choice of what happens to the environment and the output. Only the
/// services whose socket `sockets` still holds start (see [`Sockets::keep_only`]).
pub fn start_with(
    binaries: &BTreeMap<String, PathBuf>,
    mut sockets: Sockets,
    env: &[(&'static str, String)],
    options: Options,
) -> anyhow::Result<Running> {
    let mut running = Running {
        services: Vec::new(),
    };
    for (name, port) in sockets.ports().all().into_iter().rev() {
        let Some(socket) = sockets.take(name) else {
            continue;
        };
        let binary = &binaries[name];
        let output = options.capture.then(Output::default);
        let (child, readers) = spawn(name, binary, socket, env, options, output.clone())
            .with_context(|| format!("cannot start {}", binary.display()))?;
        running.services.push(Service {
            name,
            port,
            child,
            output,
            readers,
        });
    }
    Ok(running)
}

fn spawn(
    name: &'static str,
    binary: &PathBuf,
    socket: TcpListener,
    env: &[(&'static str, String)],
    options: Options,
    output: Option<Output>,
) -> std::io::Result<(Child, Vec<JoinHandle<()>>)> {
    let mut command = Command::new(binary);
    if let Some(prefix) = options.drop_env_prefix {
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with(prefix) {
                command.env_remove(key);
            }
        }
    }
    if !(options.echo && std::io::stderr().is_terminal()) {
        // The services colour their console lines unless NO_COLOR is set (tracing-subscriber
        // cannot see that a pipe to us is not where they end up): no escape codes in a file
        // or a log. Set before `env`, so that a caller's own NO_COLOR wins.
        command.env("NO_COLOR", "1");
    }
    command
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    process::prepare_service(&mut command, socket)?;
    let mut child = command.spawn()?;
    process::after_spawn(&child);
    let stdout = child.stdout.take().expect("piped");
    let stderr = child.stderr.take().expect("piped");
    let readers = vec![
        forward(name, stdout, options.echo, output.clone()),
        forward(name, stderr, options.echo, output),
    ];
    Ok((child, readers))
}

/// Copies a child's output to our stderr (if `echo`), each line prefixed with the service's
/// name, and into `capture` (if any).
fn forward(
    name: &'static str,
    output: impl AsyncRead + Unpin + Send + 'static,
    echo: bool,
    capture: Option<Output>,
) -> JoinHandle<()> {
    let prefix = if std::io::stderr().is_terminal() {
        format!("\x1b[1;36m{name:>12}\x1b[0m |")
    } else {
        format!("{name:>12} |")
    };
    tokio::spawn(async move {
        let mut lines = BufReader::new(output).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            if let Some(capture) = &capture {
                capture.push(&line);
            }
            if echo {
                eprintln!("{prefix} {line}");
            }
        }
    })
}

impl Running {
    /// The captured output of the service called `name` (`None` without
    /// [`Options::capture`]). The handle stays valid after [`Running::stop`], which waits
    /// until the output is read to the end.
    pub fn output(&self, name: &str) -> Option<Output> {
        self.services
            .iter()
            .find(|s| s.name == name)
            .and_then(|s| s.output.clone())
    }

    /// Waits until every service answers `GET /healthz`, or fails if one exits first or
    /// `timeout` passes.
    pub async fn wait_healthy(&mut self, timeout: Duration) -> anyhow::Result<()> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(1))
            .build()?;
        let deadline = Instant::now() + timeout;
        for service in &mut self.services {
            let url = format!("http://127.0.0.1:{}/healthz", service.port);
            loop {
                if let Some(status) = service.child.try_wait()? {
                    bail!(
                        "{} exited before it was ready ({status}); see its output above",
                        service.name
                    );
                }
                if client
                    .get(&url)
                    .send()
                    .await
                    .is_ok_and(|r| r.status().is_success())
                {
                    break;
                }
                if Instant::now() > deadline {
                    bail!("{} did not become healthy within {timeout:?}", service.name);
                }
                sleep(Duration::from_millis(100)).await;
            }
        }
        Ok(())
    }

    /// Completes when any service exits, with its name and exit status.
    pub async fn first_exit(&mut self) -> (&'static str, ExitStatus) {
        loop {
            for service in &mut self.services {
                if let Ok(Some(status)) = service.child.try_wait() {
                    return (service.name, status);
                }
            }
            sleep(Duration::from_millis(200)).await;
        }
    }

    /// Asks every service to stop (SIGTERM, CTRL_BREAK on Windows: they finish in-flight
    /// requests and flush their telemetry), waits up to `grace` for each, then kills what is
    /// left.
    ///
    /// Returns how each one ended: its exit status, or `None` if it had to be killed.
    pub async fn stop(mut self, grace: Duration) -> Vec<(&'static str, Option<ExitStatus>)> {
        for service in &self.services {
            process::ask_to_stop(&service.child);
        }
        let deadline = Instant::now() + grace;
        let mut ended = Vec::new();
        for service in &mut self.services {
            let left = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, service.child.wait()).await {
                Ok(status) => ended.push((service.name, status.ok())),
                Err(_) => {
                    eprintln!("{} did not stop within {grace:?}; killing it", service.name);
                    let _ = service.child.kill().await;
                    ended.push((service.name, None));
                }
            }
        }
        // The processes are gone, so their pipes are closed: the readers finish at once
        // (a grandchild holding a pipe open could keep one going; do not wait for that).
        for service in &mut self.services {
            for reader in service.readers.drain(..) {
                let _ = tokio::time::timeout(Duration::from_millis(500), reader).await;
            }
        }
        ended
    }
}
