//! The socket a service listens on: its configured address, or a socket it was handed.
//!
//! Whoever starts a service may bind its port first and pass the listening socket on, by the
//! systemd socket-activation protocol: `LISTEN_FDS=1`, and the socket as file descriptor 3.
//! `workshop check` and `workshop up` do this, so that no other program can take a port
//! between being chosen and the service listening on it; `systemfd` does it to keep a port
//! open while `cargo watch` rebuilds. The listenfd crate reads the protocol (as in axum's
//! auto-reload example).

use std::io;
use std::net::SocketAddr;

use listenfd::ListenFd;
use tokio::net::TcpListener;

/// The socket handed over, if there is one; otherwise a new one bound to `addr`.
pub async fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
    if let Some(listener) = handed_over()? {
        return Ok(listener);
    }
    TcpListener::bind(addr)
        .await
        .map_err(|e| io::Error::new(e.kind(), format!("cannot listen on {addr}: {e}")))
}

/// The TCP listener passed as `LISTEN_FDS`, taken at most once per process.
fn handed_over() -> io::Result<Option<TcpListener>> {
    let taken = ListenFd::from_env().take_tcp_listener(0).map_err(|e| {
        io::Error::new(
            e.kind(),
            format!("LISTEN_FDS is set, but fd 3 is unusable: {e}"),
        )
    })?;
    let Some(listener) = taken else {
        return Ok(None);
    };
    // Tokio needs the socket in non-blocking mode; a handed-over one may not be.
    listener.set_nonblocking(true)?;
    TcpListener::from_std(listener).map(Some)
}
