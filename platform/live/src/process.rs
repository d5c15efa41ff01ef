//! Programs running as our children, on Linux, macOS and Windows: the workshop's services,
//! the collector, the live tests' Prometheus and Jaeger, the doctor's probes. One runner for
//! all of them: their output kept (and echoed, prefixed with their name, if asked), their
//! readiness awaited, a graceful stop that kills after a grace, and nothing left behind.
//!
//! | | Unix | Windows |
//! | --- | --- | --- |
//! | ask it to stop | SIGTERM | CTRL_BREAK to its own console process group |
//! | none outlives us | `kill_on_drop`; on Linux also `PR_SET_PDEATHSIG` | a job object that kills its processes when we end |
//! | kill it and what it started | its own process group, killed as one | its job object, closed |
//!
//! Its own process group (console group on Windows) also means that a Ctrl-C typed in the
//! terminal reaches only whoever started it (say `workshop up`), which stops it in its turn,
//! after whatever still sends to it.
//!
//! Everything goes through maintained crates: tokio and nix on Unix, send_ctrlc and win32job
//! on Windows. The one `unsafe` left is `pre_exec` for `PR_SET_PDEATHSIG`: standard library
//! API that is unsafe by nature, which no crate wraps for this.

use std::io;
use std::net::{Ipv4Addr, TcpListener};
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};
use tokio::task::JoinHandle;
use tokio::time::{Instant, sleep, timeout};

/// One program running as our child. Dropping it kills it, and whatever it started, unless
/// it has ended.
pub struct Process {
    name: String,
    child: Child,
    output: Output,
    /// The tasks copying its stdout and stderr; they end when its output closes.
    readers: Vec<JoinHandle<()>>,
    #[cfg(windows)]
    job: Option<win32job::Job>,
}

/// Which of its streams a line came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

/// The lines a process printed, both streams interleaved as they arrived. Cloning is cheap;
/// every clone sees the same lines, also after the process is gone.
#[derive(Clone, Debug, Default)]
pub struct Output(Arc<Mutex<Vec<(Stream, String)>>>);

impl Output {
    /// Lines beyond this many are dropped, so a chatty program cannot exhaust our memory.
    pub const MAX_LINES: usize = 20_000;

    pub fn lines(&self) -> Vec<String> {
        self.locked().iter().map(|(_, line)| line.clone()).collect()
    }

    /// What one stream printed, one line after the other.
    pub fn text(&self, stream: Stream) -> String {
        let lines = self.locked();
        let of_stream = lines.iter().filter(|(s, _)| *s == stream);
        of_stream.map(|(_, line)| format!("{line}\n")).collect()
    }

    /// The last `n` lines, for a failure message.
    pub fn tail(&self, n: usize) -> String {
        let lines = self.lines();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }

    fn locked(&self) -> std::sync::MutexGuard<'_, Vec<(Stream, String)>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn push(&self, stream: Stream, line: String) {
        let mut lines = self.locked();
        if lines.len() < Self::MAX_LINES {
            lines.push((stream, line));
        }
    }
}

impl Process {
    /// Starts `command` (with no input) as `name`, keeping its output; with `echo`, every
    /// line also goes to our stderr, prefixed with the name. The error is the system's, as
    /// is (`NotFound`: no such program).
    pub fn spawn(name: &str, mut command: Command, echo: bool) -> io::Result<Process> {
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        os::prepare(&mut command);
        let mut child = command.spawn()?;
        let output = Output::default();
        let prefix = echo.then(|| prefix(name));
        let readers = vec![
            copy(child.stdout.take(), Stream::Stdout, &output, prefix.clone()),
            copy(child.stderr.take(), Stream::Stderr, &output, prefix),
        ];
        Ok(Process {
            name: name.to_owned(),
            #[cfg(windows)]
            job: os::job_of(&child),
            child,
            output,
            readers,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its process id, until it has ended.
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    pub fn output(&self) -> Output {
        self.output.clone()
    }

    /// `Some(status)` once it has exited.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Waits until `GET url` answers with a success, or fails if the process exits first or
    /// `within` passes.
    pub async fn ready(&mut self, url: &str, within: Duration) -> Result<(), String> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(1))
            .build()
            .map_err(|e| e.to_string())?;
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.exited() {
                return Err(format!(
                    "{} exited before it was ready ({status})",
                    self.name
                ));
            }
            let answer = client.get(url).send().await;
            if answer.is_ok_and(|r| r.status().is_success()) {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!("{} was not ready within {within:?}", self.name));
            }
            sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until it has exited and closed its output, which is then read to the end.
    pub async fn wait(&mut self) -> io::Result<ExitStatus> {
        for reader in self.readers.drain(..) {
            let _ = reader.await;
        }
        self.child.wait().await
    }

    /// Asks it to stop (SIGTERM; CTRL_BREAK on Windows): it finishes what it is doing and
    /// flushes what it holds. After `grace`, kills it. Returns how it ended: its exit
    /// status, or `None` if it had to be killed.
    pub async fn stop(&mut self, grace: Duration) -> Option<ExitStatus> {
        if let Some(pid) = self.child.id() {
            os::ask_to_stop(pid);
        }
        let status = match timeout(grace, self.child.wait()).await {
            Ok(status) => status.ok(),
            Err(_) => {
                self.kill().await;
                None
            }
        };
        // It is gone, so its pipes are closed and the readers finish at once (something it
        // started could hold a pipe open: do not wait for that).
        for reader in self.readers.drain(..) {
            let _ = timeout(Duration::from_millis(500), reader).await;
        }
        status
    }

    /// Kills it and whatever it started, at once.
    pub async fn kill(&mut self) {
        self.kill_tree();
        let _ = self.child.kill().await;
    }

    fn kill_tree(&mut self) {
        #[cfg(unix)]
        if let Some(pid) = self.child.id() {
            // It leads its group and is not reaped yet, so the group is still its own.
            os::kill_group(pid);
        }
        #[cfg(windows)]
        drop(self.job.take()); // kill on job close
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if self.child.id().is_some() {
            self.kill_tree();
        }
        // Ended and reaped: leave alone what it started (on Unix its group id may soon be
        // someone else's; on Windows, close the job without killing).
        #[cfg(windows)]
        if let Some(job) = self.job.take() {
            os::release(job);
        }
    }
}

fn prefix(name: &str) -> String {
    if io::IsTerminal::is_terminal(&io::stderr()) {
        format!("\x1b[1;36m{name:>12}\x1b[0m |")
    } else {
        format!("{name:>12} |")
    }
}

/// Copies one of a child's streams into `output`, and to our stderr after `echo` if any.
fn copy(
    stream: Option<impl AsyncRead + Unpin + Send + 'static>,
    kind: Stream,
    output: &Output,
    echo: Option<String>,
) -> JoinHandle<()> {
    let output = output.clone();
    tokio::spawn(async move {
        let Some(stream) = stream else { return };
        let mut lines = BufReader::new(stream).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            if let Some(prefix) = &echo {
                eprintln!("{prefix} {line}");
            }
            output.push(kind, line);
        }
    })
}

#[cfg(unix)]
mod os {
    use nix::sys::signal::{Signal, kill, killpg};
    use nix::unistd::Pid;
    use tokio::process::Command;

    pub fn prepare(command: &mut Command) {
        command.process_group(0);
        end_with_us(command);
    }

    /// On Linux, the kernel sends the child SIGTERM if we die, even by SIGKILL, so nothing
    /// is ever left behind. (`kill_on_drop` covers every way we exit normally; macOS has no
    /// equivalent.)
    fn end_with_us(command: &mut Command) {
        #[cfg(target_os = "linux")]
        // SAFETY: `pre_exec` is unsafe because the closure runs between fork and exec;
        // prctl is async-signal-safe, which is all it requires.
        unsafe {
            command.pre_exec(|| {
                nix::sys::prctl::set_pdeathsig(Signal::SIGTERM).map_err(std::io::Error::from)
            });
        }
        #[cfg(not(target_os = "linux"))]
        let _ = command;
    }

    fn pid(pid: u32) -> Option<Pid> {
        i32::try_from(pid).ok().map(Pid::from_raw)
    }

    /// SIGTERM, to a child not reaped yet (so the pid is still its own).
    pub fn ask_to_stop(child: u32) {
        if let Some(pid) = pid(child) {
            let _ = kill(pid, Signal::SIGTERM);
        }
    }

    pub fn kill_group(leader: u32) {
        if let Some(group) = pid(leader) {
            let _ = killpg(group, Signal::SIGKILL);
        }
    }
}

#[cfg(windows)]
mod os {
    use send_ctrlc::Interruptible;
    use tokio::process::{Child, Command};
    use win32job::{ExtendedLimitInfo, Job};

    /// A console process group of its own, so that CTRL_BREAK reaches this child alone.
    pub fn prepare(command: &mut Command) {
        /// `CREATE_NEW_PROCESS_GROUP` from winbase.h.
        const CREATE_NEW_PROCESS_GROUP: u32 = 0x0000_0200;
        command.creation_flags(CREATE_NEW_PROCESS_GROUP);
    }

    /// A process group id, for send_ctrlc (each child leads its own group).
    struct ConsoleGroup(u32);

    impl Interruptible for ConsoleGroup {
        fn pid(&mut self) -> std::io::Result<Option<u32>> {
            Ok(Some(self.0))
        }
    }

    /// CTRL_BREAK, which Rust and Go programs alike take as their SIGTERM.
    pub fn ask_to_stop(pid: u32) {
        let _ = ConsoleGroup(pid).terminate();
    }

    /// A job of its own for `child`, whose processes are killed when it is dropped or when
    /// we end in any way; none when the system refuses one.
    pub fn job_of(child: &Child) -> Option<Job> {
        let mut limits = ExtendedLimitInfo::new();
        limits.limit_kill_on_job_close();
        let job = Job::create_with_limit_info(&limits).ok()?;
        job.assign_process(child.raw_handle()? as isize).ok()?;
        Some(job)
    }

    /// Closes `job` without killing what is left in it.
    pub fn release(job: Job) {
        let _ = job.set_extended_limit_info(&ExtendedLimitInfo::new());
    }
}

#[cfg(not(any(unix, windows)))]
mod os {
    pub fn prepare(_: &mut tokio::process::Command) {}
    pub fn ask_to_stop(_: u32) {}
}

/// Loopback ports for the platform programs, which take port numbers, not sockets.
///
/// They come from 15000-19999: below the kernel's ephemeral range (where connections and
/// port-0 binds land) and below the ports the workshop tests pick for `up --port`
/// (20000 and up). The live tests hold a lock while they run (see
/// `workshop/tests/live_platform.rs`), so no two of them hand out the same port.
pub struct Ports {
    next: u16,
}

impl Default for Ports {
    fn default() -> Self {
        // Start somewhere in the range that depends on the process, so that a port left in
        // TIME_WAIT by the previous test is not the first one tried.
        Ports {
            next: 15_000 + (std::process::id() % 4_000) as u16,
        }
    }
}

impl Ports {
    /// A port that nothing listens on right now.
    pub fn take(&mut self) -> u16 {
        for _ in 0..5_000 {
            let port = self.next;
            self.next = if self.next >= 19_999 {
                15_000
            } else {
                self.next + 1
            };
            if TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_ok() {
                return port;
            }
        }
        panic!("no free port between 15000 and 19999");
    }
}
