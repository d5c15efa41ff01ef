//! Running the four services as child processes: start them with the right environment,
//! show their output with a prefix, wait until they are healthy, and stop them all.
//!
//! They run as separate processes (not as tasks in this one) because each has its own
//! telemetry: its own service name and its own global providers.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use anyhow::{Context, bail};
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};
use tokio::time::{Instant, sleep};

use crate::ports::Ports;

/// One running service.
pub struct Service {
    pub name: &'static str,
    pub port: u16,
    child: Child,
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

/// Starts every service in `binaries` (iss-distance first, frontend last) with `env` on top
/// of this process's own environment.
pub fn start(
    binaries: &BTreeMap<String, PathBuf>,
    ports: &Ports,
    env: &[(&'static str, String)],
) -> anyhow::Result<Running> {
    let mut running = Running {
        services: Vec::new(),
    };
    for (name, port) in ports.all().into_iter().rev() {
        let binary = &binaries[name];
        let child = spawn(name, binary, env)
            .with_context(|| format!("cannot start {}", binary.display()))?;
        running.services.push(Service { name, port, child });
    }
    Ok(running)
}

fn spawn(
    name: &'static str,
    binary: &PathBuf,
    env: &[(&'static str, String)],
) -> std::io::Result<Child> {
    let mut command = Command::new(binary);
    command
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    stop_with_parent(&mut command);
    let mut child = command.spawn()?;
    forward(name, child.stdout.take().expect("piped"));
    forward(name, child.stderr.take().expect("piped"));
    Ok(child)
}

/// On Linux, the kernel sends the child SIGTERM if we die, even by SIGKILL, so no service
/// is ever left behind. (`kill_on_drop` covers every way we exit normally.)
#[cfg(target_os = "linux")]
fn stop_with_parent(command: &mut Command) {
    // SAFETY: prctl is async-signal-safe, which is all pre_exec requires.
    unsafe {
        command.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

#[cfg(not(target_os = "linux"))]
fn stop_with_parent(_command: &mut Command) {}

/// Copies a child's output to our stderr, each line prefixed with the service's name.
fn forward(name: &'static str, output: impl AsyncRead + Unpin + Send + 'static) {
    let prefix = if std::io::stderr().is_terminal() {
        format!("\x1b[1;36m{name:>12}\x1b[0m |")
    } else {
        format!("{name:>12} |")
    };
    tokio::spawn(async move {
        let mut lines = BufReader::new(output).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            eprintln!("{prefix} {line}");
        }
    });
}

impl Running {
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

    /// Asks every service to stop (SIGTERM: they finish in-flight requests and flush their
    /// telemetry), waits up to `grace` for each, then kills what is left.
    pub async fn stop(mut self, grace: Duration) {
        for service in &self.services {
            terminate(&service.child);
        }
        for service in &mut self.services {
            match tokio::time::timeout(grace, service.child.wait()).await {
                Ok(_) => {}
                Err(_) => {
                    eprintln!("{} did not stop within {grace:?}; killing it", service.name);
                    let _ = service.child.kill().await;
                }
            }
        }
    }
}

#[cfg(unix)]
fn terminate(child: &Child) {
    if let Some(pid) = child.id() {
        // SAFETY: kill(2) with a pid we spawned and have not yet reaped.
        unsafe {
            libc::kill(pid as libc::pid_t, libc::SIGTERM);
        }
    }
}

#[cfg(not(unix))]
fn terminate(child: &Child) {
    // No SIGTERM on Windows: Ctrl-C reaches the children through the console instead.
    let _ = child;
}
