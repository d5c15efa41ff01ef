//! Ctrl-C and SIGTERM (their console events on Windows), listened for from the moment a command starts: a signal that
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

/// On Windows: Ctrl-C and Ctrl-Break typed in the console, and the console window closing
/// (which leaves a few seconds to stop the services).
#[cfg(windows)]
pub struct StopSignal {
    interrupt: tokio::signal::windows::CtrlC,
    brk: tokio::signal::windows::CtrlBreak,
    close: tokio::signal::windows::CtrlClose,
}

#[cfg(windows)]
impl StopSignal {
    /// Starts listening now, as on Unix.
    pub fn listen() -> std::io::Result<Self> {
        use tokio::signal::windows::{ctrl_break, ctrl_c, ctrl_close};
        Ok(Self {
            interrupt: ctrl_c()?,
            brk: ctrl_break()?,
            close: ctrl_close()?,
        })
    }

    /// Completes on the next Ctrl-C, Ctrl-Break or console close.
    pub async fn recv(&mut self) {
        tokio::select! {
            _ = self.interrupt.recv() => {}
            _ = self.brk.recv() => {}
            _ = self.close.recv() => {}
        }
    }
}
