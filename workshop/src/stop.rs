//! Ctrl-C and SIGTERM, listened for from the moment a command starts: a signal that
//! arrives while services are still starting must stop them too, not kill us and leave
//! them running.

#[cfg(unix)]
pub struct StopSignal {
    interrupt: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
}

#[cfg(unix)]
impl StopSignal {
    /// Starts listening now (registering the handlers is what keeps the default action,
    /// exiting at once, from happening).
    pub fn listen() -> std::io::Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Self {
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
        })
    }

    /// Completes on the next SIGINT or SIGTERM.
    pub async fn recv(&mut self) {
        tokio::select! {
            _ = self.interrupt.recv() => {}
            _ = self.terminate.recv() => {}
        }
    }
}

#[cfg(not(unix))]
pub struct StopSignal;

#[cfg(not(unix))]
impl StopSignal {
    pub fn listen() -> std::io::Result<Self> {
        Ok(Self)
    }

    pub async fn recv(&mut self) {
        let _ = tokio::signal::ctrl_c().await;
    }
}
