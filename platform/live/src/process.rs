//! A platform program running as a child process: its output kept for failure messages,
//! stopped with SIGTERM (as `docker stop` does) and killed if it does not exit.

use std::io::{BufRead, BufReader};
use std::net::{Ipv4Addr, TcpListener};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub struct Running {
    name: String,
    child: Option<Child>,
    output: Arc<Mutex<Vec<String>>>,
}

impl Running {
    /// Starts `command`, collecting its stdout and stderr lines. It gets a process group
    /// of its own: a Ctrl-C typed in the terminal goes to whoever started it (say `workshop
    /// up`), which stops it in its turn, after whatever still sends to it.
    pub fn spawn(name: &str, mut command: Command) -> Result<Running, String> {
        own_process_group(&mut command);
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start {name} ({:?}): {e}", command.get_program()))?;
        let output = Arc::new(Mutex::new(Vec::new()));
        let stdout = child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>);
        let stderr = child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>);
        for stream in [stdout, stderr].into_iter().flatten() {
            let sink = Arc::clone(&output);
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    sink.lock().unwrap().push(line);
                }
            });
        }
        Ok(Running {
            name: name.to_owned(),
            child: Some(child),
            output,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Everything it printed so far.
    pub fn output(&self) -> Vec<String> {
        self.output.lock().unwrap().clone()
    }

    /// The last `n` lines it printed, for a failure message.
    pub fn tail(&self, n: usize) -> String {
        let output = self.output();
        let start = output.len().saturating_sub(n);
        output[start..].join("\n")
    }

    /// `Some(status)` once it has exited.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child
            .as_mut()
            .and_then(|c| c.try_wait().ok().flatten())
    }

    /// SIGTERM, then at most `grace` for it to exit, then SIGKILL. Returns how it ended
    /// (`None`: it had to be killed).
    pub fn stop(&mut self, grace: Duration) -> Option<ExitStatus> {
        let mut child = self.child.take()?;
        terminate(&mut child);
        let deadline = Instant::now() + grace;
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return Some(status);
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
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

/// Waits until `check` holds, polling every 100 ms, at most `timeout`.
pub fn wait_for(timeout: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if check() {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Whether `GET http://127.0.0.1:<port><path>` answers 200 within a second. Plain
/// std so that it can be polled from anywhere (the programs' health endpoints).
pub fn http_ok(port: u16, path: &str) -> bool {
    use std::io::{Read, Write};
    let Ok(mut stream) = std::net::TcpStream::connect_timeout(
        &(Ipv4Addr::LOCALHOST, port).into(),
        Duration::from_secs(1),
    ) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
    let request = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    let mut answer = String::new();
    stream.write_all(request.as_bytes()).is_ok()
        && stream.read_to_string(&mut answer).is_ok()
        && answer.starts_with("HTTP/1.1 200")
}

#[cfg(unix)]
fn own_process_group(command: &mut Command) {
    use std::os::unix::process::CommandExt;
    command.process_group(0);
}

#[cfg(windows)]
fn own_process_group(command: &mut Command) {
    use std::os::windows::process::CommandExt;
    /// From the Windows API: the console's Ctrl-C does not reach the new group.
    const CREATE_NEW_PROCESS_GROUP: u32 = 0x0000_0200;
    command.creation_flags(CREATE_NEW_PROCESS_GROUP);
}

#[cfg(not(any(unix, windows)))]
fn own_process_group(_: &mut Command) {}

/// Asks a child to stop: SIGTERM on Unix; elsewhere there is no gentler way than killing it.
#[cfg(unix)]
fn terminate(child: &mut Child) {
    use nix::sys::signal::{Signal, kill};
    use nix::unistd::Pid;
    // The child is ours and not reaped yet, so the pid is still its own.
    let _ = kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM);
}

#[cfg(not(unix))]
fn terminate(child: &mut Child) {
    let _ = child.kill();
}
