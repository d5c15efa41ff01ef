//! Child processes on Linux, macOS and Windows: asking one to stop, making sure none
//! outlives us, handing a listening socket over, and killing a command's whole tree.
//!
//! | | Unix | Windows |
//! | --- | --- | --- |
//! | ask a service to stop | SIGTERM | CTRL_BREAK to its own console process group |
//! | none outlives us | `kill_on_drop`; on Linux also `PR_SET_PDEATHSIG` | a job object that kills its processes when we end |
//! | the service's port | bound here, handed over as fd 3 (`LISTEN_FDS`) | checked here, released, then bound by the service |
//! | a command's tree | its own process group, killed as one | a job object, closed |
//!
//! Everything below goes through maintained crates: nix and command-fds on Unix, send_ctrlc
//! and win32job on Windows. The one `unsafe` left is `pre_exec` for `PR_SET_PDEATHSIG`:
//! standard library API that is unsafe by nature, which no crate wraps for this.

use std::net::TcpListener;

use tokio::process::{Child, Command};

/// Prepares `command` to run a service: it ends with us, it can be asked to stop, and it
/// gets `socket` (see [`hand_over`]).
pub fn prepare_service(command: &mut Command, socket: TcpListener) -> std::io::Result<()> {
    command.kill_on_drop(true);
    end_with_us(command);
    own_console_group(command);
    hand_over(command, socket)
}

/// What must happen right after a service is spawned (on Windows: joining the job that ends
/// it with us).
pub fn after_spawn(child: &Child) {
    #[cfg(windows)]
    windows::join_services_job(child);
    #[cfg(not(windows))]
    let _ = child;
}

/// On Linux, the kernel sends the child SIGTERM if we die, even by SIGKILL, so no service
/// is ever left behind. (`kill_on_drop` covers every way we exit normally.)
#[cfg(target_os = "linux")]
fn end_with_us(command: &mut Command) {
    // SAFETY: `pre_exec` is unsafe because the closure runs between fork and exec; prctl is
    // async-signal-safe, which is all it requires.
    unsafe {
        command.pre_exec(|| {
            nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGTERM)
                .map_err(std::io::Error::from)
        });
    }
}

/// On Windows the services' job object does this (see [`after_spawn`]); macOS has no
/// equivalent, and `kill_on_drop` covers every way we exit normally.
#[cfg(not(target_os = "linux"))]
fn end_with_us(_command: &mut Command) {}

/// On Windows, a console process group of its own, so that CTRL_BREAK reaches this service
/// alone (see [`ask_to_stop`]). A Ctrl-C typed in the console then reaches only us, and we
/// pass it on, as on Unix.
#[cfg(windows)]
fn own_console_group(command: &mut Command) {
    /// `CREATE_NEW_PROCESS_GROUP` from winbase.h.
    const CREATE_NEW_PROCESS_GROUP: u32 = 0x0000_0200;
    command.creation_flags(CREATE_NEW_PROCESS_GROUP);
}

#[cfg(not(windows))]
fn own_console_group(_command: &mut Command) {}

/// Gives the child `socket` as its file descriptor 3, with `LISTEN_FDS=1`: the
/// socket-activation protocol that `service_kit::listener` accepts. Our own copy closes when
/// `command` is dropped, so once the child is gone, connections are refused, not queued.
#[cfg(unix)]
pub fn hand_over(command: &mut Command, socket: TcpListener) -> std::io::Result<()> {
    use command_fds::{CommandFdExt, FdMapping};

    command
        .env("LISTEN_FDS", "1")
        .env_remove("LISTEN_PID")
        .env_remove("LISTEN_FDS_FIRST_FD");
    command
        .fd_mappings(vec![FdMapping {
            parent_fd: socket.into(),
            child_fd: 3,
        }])
        .map(|_| ())
        .map_err(|e| std::io::Error::other(format!("cannot hand the socket over: {e:?}")))
}

/// Windows has no socket handover that a child can pick up by number (sockets are handles,
/// passed with `WSADuplicateSocket` through a channel the child must know about): the port
/// was bound to check that it is free, and is released just before the service binds it
/// again. Another program could take it in between; the service then fails at start with
/// "cannot listen on 127.0.0.1:PORT", and `up` says so. The window is a few milliseconds.
#[cfg(not(unix))]
pub fn hand_over(command: &mut Command, socket: TcpListener) -> std::io::Result<()> {
    command.env_remove("LISTEN_FDS");
    drop(socket);
    Ok(())
}

/// Asks a service to stop gracefully: it stops accepting, finishes what is in flight and
/// flushes its telemetry. SIGTERM on Unix; CTRL_BREAK on Windows, which the services treat
/// as their SIGTERM.
pub fn ask_to_stop(child: &Child) {
    let Some(pid) = child.id() else {
        return; // already reaped
    };
    #[cfg(unix)]
    {
        use nix::sys::signal::{Signal, kill};
        let Ok(pid) = i32::try_from(pid) else {
            return;
        };
        // We have not reaped the child, so the pid is still ours.
        let _ = kill(nix::unistd::Pid::from_raw(pid), Signal::SIGTERM);
    }
    #[cfg(windows)]
    {
        use send_ctrlc::Interruptible;
        let _ = windows::ConsoleGroup(pid).terminate();
    }
}

/// A command's whole process tree (it and whatever it starts), killed together when
/// dropped unless disarmed: a command that times out, or whose caller is dropped (Ctrl-C),
/// takes its children with it.
pub struct Tree {
    #[cfg(unix)]
    group: Option<nix::unistd::Pid>,
    #[cfg(windows)]
    job: Option<win32job::Job>,
}

impl Tree {
    /// Prepares `command` so that what it starts can be found again: on Unix, a process
    /// group of its own.
    pub fn prepare(command: &mut Command) {
        command.kill_on_drop(true);
        #[cfg(unix)]
        command.process_group(0);
    }

    /// The tree of `child`, spawned from a command given to [`Tree::prepare`].
    pub fn of(child: &Child) -> Tree {
        #[cfg(unix)]
        {
            let group = child
                .id()
                .and_then(|id| i32::try_from(id).ok())
                .map(nix::unistd::Pid::from_raw);
            Tree { group }
        }
        #[cfg(windows)]
        {
            Tree {
                job: windows::job_of(child),
            }
        }
        #[cfg(not(any(unix, windows)))]
        {
            let _ = child;
            Tree {}
        }
    }

    /// Kills every process of the tree (once).
    pub fn kill(&mut self) {
        #[cfg(unix)]
        if let Some(group) = self.group.take() {
            // The child leads the group and is not reaped yet, so the group is still ours.
            let _ = nix::sys::signal::killpg(group, nix::sys::signal::Signal::SIGKILL);
        }
        #[cfg(windows)]
        if let Some(job) = self.job.take() {
            // Closing the job's last handle kills its processes (kill on job close).
            drop(job);
        }
    }

    /// The command ended and closed its output: leave whatever it started alone (on Unix its
    /// group id may soon belong to someone else).
    pub fn disarm(&mut self) {
        #[cfg(unix)]
        {
            self.group = None;
        }
        #[cfg(windows)]
        if let Some(job) = self.job.take() {
            windows::release(job);
        }
    }
}

impl Drop for Tree {
    fn drop(&mut self) {
        self.kill();
    }
}

#[cfg(windows)]
mod windows {
    use std::sync::OnceLock;

    use tokio::process::Child;
    use win32job::{ExtendedLimitInfo, Job};

    /// A process group id, for send_ctrlc (a service leads its own group: see
    /// `own_console_group`).
    pub struct ConsoleGroup(pub u32);

    impl send_ctrlc::Interruptible for ConsoleGroup {
        fn pid(&mut self) -> std::io::Result<Option<u32>> {
            Ok(Some(self.0))
        }
    }

    /// A job whose processes are killed when its last handle closes: when it is dropped, or
    /// when this process ends in any way.
    fn kill_on_close() -> Result<Job, win32job::JobError> {
        let mut limits = ExtendedLimitInfo::new();
        limits.limit_kill_on_job_close();
        Job::create_with_limit_info(&limits)
    }

    /// The job of the services: lives as long as we do, so they cannot outlive us.
    pub fn join_services_job(child: &Child) {
        static SERVICES: OnceLock<Option<Job>> = OnceLock::new();
        let job = SERVICES.get_or_init(|| match kill_on_close() {
            Ok(job) => Some(job),
            Err(e) => {
                eprintln!(
                    "workshop: cannot create a job object ({e}); if this command is killed, \
                     stop the services in the Task Manager"
                );
                None
            }
        });
        if let (Some(job), Some(handle)) = (job, child.raw_handle()) {
            let _ = job.assign_process(handle as isize);
        }
    }

    /// A job of its own for `child`, or none when the system refuses one.
    pub fn job_of(child: &Child) -> Option<Job> {
        let job = kill_on_close().ok()?;
        job.assign_process(child.raw_handle()? as isize).ok()?;
        Some(job)
    }

    /// Closes `job` without killing what is left in it.
    pub fn release(job: Job) {
        let _ = job.set_extended_limit_info(&ExtendedLimitInfo::new());
    }
}
