//! A service listens on the socket it is handed (`LISTEN_FDS`, see
//! `services/service-kit/src/listener.rs`) instead of binding its configured port, which is
//! how `workshop up` and `check` start them without racing other programs for the ports.
//!
//! Unix only: Windows has no such handover (see `workshop/src/process.rs`).
#![cfg(unix)]

use crate::common;
use std::io::{BufRead, BufReader};
use std::net::{Ipv4Addr, TcpListener};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// geolocator configured for `port`, its stderr piped.
fn geolocator(port: u16) -> Command {
    let binaries = common::stack::build_main();
    let mut command = Command::new(&binaries["geolocator"]);
    command
        .env("GEOLOCATOR_PORT", port.to_string())
        .env("BIND_ADDR", "127.0.0.1")
        .env("NO_COLOR", "1")
        .env_remove("LISTEN_FDS")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    command
}

fn stderr_lines(child: &mut Child) -> std::sync::mpsc::Receiver<String> {
    let (sender, lines) = std::sync::mpsc::channel();
    let stderr = BufReader::new(child.stderr.take().unwrap());
    std::thread::spawn(move || {
        for line in stderr.lines().map_while(Result::ok) {
            let _ = sender.send(line);
        }
    });
    lines
}

#[test]
fn a_handed_over_socket_is_used_instead_of_the_configured_port() {
    // The configured port is taken: binding it would fail.
    let taken = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let handed = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let port = handed.local_addr().unwrap().port();
    let mut command = geolocator(taken.local_addr().unwrap().port());
    common::hand_over(&mut command, handed);
    let mut child = command.spawn().unwrap();
    drop(command);
    let lines = stderr_lines(&mut child);

    let deadline = Instant::now() + Duration::from_secs(30);
    while !common::healthy(port) {
        assert!(child.try_wait().unwrap().is_none(), "geolocator exited");
        assert!(
            Instant::now() < deadline,
            "no answer on the handed-over port"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let said = format!("geolocator listening on http://127.0.0.1:{port}");
    let announced = std::iter::from_fn(|| lines.recv_timeout(Duration::from_secs(5)).ok())
        .any(|line| line.contains(&said));
    assert!(announced, "no line saying {said:?}");

    // A child we spawned and have not reaped.
    common::signal(child.id(), nix::sys::signal::Signal::SIGTERM);
    assert!(child.wait().unwrap().success());
    // Our copy of the socket was closed when the command was dropped: nobody listens now.
    assert!(
        !common::healthy(port),
        "the port still accepts after the service stopped"
    );
}

#[test]
fn without_one_a_taken_port_is_a_one_line_error() {
    let taken = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let port = taken.local_addr().unwrap().port();
    let output = geolocator(port).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    let expected = format!("geolocator: cannot listen on 127.0.0.1:{port}: Address already in use");
    assert!(stderr.contains(&expected), "{stderr}");
}
