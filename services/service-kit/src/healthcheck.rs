//! `<service> healthcheck`: the probe a container runtime runs inside the container.
//!
//! The runtime image has no curl, so the binary probes itself. It speaks just enough
//! HTTP/1.1 over a std `TcpStream` to read one status line: pulling an HTTP client and an
//! async runtime into a probe that runs every few seconds would be wasteful.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::ExitCode;
use std::time::Duration;

/// If the first argument is `healthcheck`, probes `GET /healthz` on this service's port and
/// returns the exit code to use; otherwise returns `None` and the service starts normally.
pub fn run_if_requested(addr: SocketAddr) -> Option<ExitCode> {
    if std::env::args().nth(1).as_deref() != Some("healthcheck") {
        return None;
    }
    Some(match probe(local(addr)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(problem) => {
            eprintln!("unhealthy: {problem}");
            ExitCode::FAILURE
        }
    })
}

/// A service bound to 0.0.0.0 is reached on 127.0.0.1.
fn local(mut addr: SocketAddr) -> SocketAddr {
    if addr.ip().is_unspecified() {
        addr.set_ip([127, 0, 0, 1].into());
    }
    addr
}

fn probe(addr: SocketAddr) -> Result<(), String> {
    let timeout = Duration::from_secs(2);
    let mut stream =
        TcpStream::connect_timeout(&addr, timeout).map_err(|e| format!("{addr}: {e}"))?;
    stream
        .set_read_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    let request = format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream
        .write_all(request.as_bytes())
        .map_err(|e| e.to_string())?;
    let mut head = [0u8; 32];
    let read = stream.read(&mut head).map_err(|e| e.to_string())?;
    let status_line = String::from_utf8_lossy(&head[..read]);
    if status_line.starts_with("HTTP/1.1 200") {
        Ok(())
    } else {
        Err(format!(
            "GET /healthz answered {:?}",
            status_line.lines().next().unwrap_or("")
        ))
    }
}
