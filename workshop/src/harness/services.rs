//! The four services as child processes: each started on its socket with the right
//! environment, its output kept (and shown, prefixed with its name), waited for until
//! healthy, and stopped together.
//!
//! They run as separate processes (not as tasks in this one) because each has its own
//! telemetry: its own service name and its own global providers.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::net::TcpListener;
use std::process::ExitStatus;
use std::time::Duration;

use anyhow::{Context, bail};
use futures_util::future::join_all;
use platform_live::process::{Output, Process};
use tokio::process::Command;
use tokio::time::sleep;

use super::Env;
use crate::build::Binaries;
use crate::ports::Sockets;

/// How [`Services::start`] treats the services' environment and output.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// Copy their output to our stderr, prefixed with the service's name.
    pub echo: bool,
    /// Do not pass on our own `OTEL_*` variables, so that a setting in the caller's shell
    /// cannot change what is checked.
    pub without_our_otel_env: bool,
}

/// How each service ended: its exit status, or `None` if it had to be killed.
pub type Ended = Vec<(&'static str, Option<ExitStatus>)>;

/// The services that were started. Dropping it kills them; [`Services::stop`] stops them
/// gracefully.
pub struct Services {
    running: Vec<(&'static str, u16, Process)>,
}

impl Services {
    /// Starts the services in `binaries` whose socket `sockets` holds (iss-distance first,
    /// frontend last), each on its socket, with `env` on top of our own environment.
    pub fn start(
        binaries: &Binaries,
        mut sockets: Sockets,
        env: &Env,
        options: Options,
    ) -> anyhow::Result<Services> {
        let mut running = Vec::new();
        for (name, port) in sockets.ports().all().into_iter().rev() {
            let Some(socket) = sockets.take(name) else {
                continue;
            };
            let binary = &binaries[name];
            let mut command = Command::new(binary);
            if options.without_our_otel_env {
                let ours = std::env::vars_os().map(|(key, _)| key);
                for key in ours.filter(|k| k.to_string_lossy().starts_with("OTEL_")) {
                    command.env_remove(key);
                }
            }
            if !(options.echo && std::io::stderr().is_terminal()) {
                // The services colour their console lines unless NO_COLOR is set
                // (tracing-subscriber cannot see that a pipe to us is not where they end
                // up). Set before `env`, so that a caller's own NO_COLOR wins.
                command.env("NO_COLOR", "1");
            }
            command.envs(env.iter().map(|(k, v)| (k, v)));
            hand_over(&mut command, socket)?;
            let process = Process::spawn(name, command, options.echo)
                .with_context(|| format!("cannot start {}", binary.display()))?;
            running.push((name, port, process));
        }
        Ok(Services { running })
    }

    /// The pids of the services still running, by name.
    pub fn pids(&self) -> BTreeMap<&'static str, u32> {
        let pids = self.running.iter();
        pids.filter_map(|(name, _, p)| Some((*name, p.pid()?)))
            .collect()
    }

    /// What each service printed so far (and, after [`Services::stop`], all it printed),
    /// by name.
    pub fn outputs(&self) -> Vec<(&'static str, Output)> {
        let running = self.running.iter();
        running.map(|(name, _, p)| (*name, p.output())).collect()
    }

    /// Waits until every service answers `GET /healthz`, or fails if one exits first or
    /// `timeout` passes.
    pub async fn wait_healthy(&mut self, timeout: Duration) -> anyhow::Result<()> {
        let deadline = tokio::time::Instant::now() + timeout;
        for (_, port, process) in &mut self.running {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let url = format!("http://127.0.0.1:{port}/healthz");
            if let Err(why) = process.ready(&url, left).await {
                bail!("{why}; see its output above");
            }
        }
        Ok(())
    }

    /// Completes when any service exits, with its name and exit status.
    pub async fn first_exit(&mut self) -> (&'static str, ExitStatus) {
        loop {
            for (name, _, process) in &mut self.running {
                if let Some(status) = process.exited() {
                    return (name, status);
                }
            }
            sleep(Duration::from_millis(200)).await;
        }
    }

    /// Asks every service to stop (they finish in-flight requests and flush their
    /// telemetry), waits up to `grace` for each, then kills what is left; says how each
    /// ended.
    pub async fn stop(&mut self, grace: Duration) -> Ended {
        let stopping = self
            .running
            .iter_mut()
            .map(|(name, _, process)| async move {
                let status = process.stop(grace).await;
                if status.is_none() {
                    eprintln!("{name} did not stop within {grace:?}; killing it");
                }
                (*name, status)
            });
        join_all(stopping).await
    }
}

/// Gives the child `socket` as its file descriptor 3, with `LISTEN_FDS=1`: the
/// socket-activation protocol that `service_kit::listener` accepts. Our own copy closes when
/// `command` is dropped, so once the child is gone, connections are refused, not queued.
#[cfg(unix)]
fn hand_over(command: &mut Command, socket: TcpListener) -> anyhow::Result<()> {
    use command_fds::{CommandFdExt, FdMapping};

    command
        .env("LISTEN_FDS", "1")
        .env_remove("LISTEN_PID")
        .env_remove("LISTEN_FDS_FIRST_FD");
    let mapping = FdMapping {
        parent_fd: socket.into(),
        child_fd: 3,
    };
    command
        .fd_mappings(vec![mapping])
        .map_err(|e| anyhow::anyhow!("cannot hand the socket over: {e:?}"))?;
    Ok(())
}

/// Windows has no socket handover that a child can pick up by number (sockets are handles,
/// passed with `WSADuplicateSocket` through a channel the child must know about): the port
/// was bound to check that it is free, and is released just before the service binds it
/// again. Another program could take it in between; the service then fails at start with
/// "cannot listen on 127.0.0.1:PORT", and `up` says so. The window is a few milliseconds.
#[cfg(not(unix))]
fn hand_over(command: &mut Command, socket: TcpListener) -> anyhow::Result<()> {
    command.env_remove("LISTEN_FDS");
    drop(socket);
    Ok(())
}
