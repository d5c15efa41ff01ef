//! A service listens on the socket it is handed (`LISTEN_FDS`, see
//! `services/service-kit/src/listener.rs`) instead of binding its configured port, which is
//! how `workshop up` and `check` start them without racing other programs for the ports.
//!
//! Unix only: Windows has no such handover (see `workshop/src/harness/services.rs`).
#![cfg(unix)]

use crate::common;
use std::net::{Ipv4Addr, TcpListener};
use std::time::Duration;

use workshop::harness::{Options, Services, Sockets, env};

#[tokio::test(flavor = "multi_thread")]
async fn a_handed_over_socket_is_used_instead_of_the_configured_port() {
    let binaries = common::stack::build_main().await;
    // The configured port is taken: binding it would fail.
    let taken = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let configured = taken.local_addr().unwrap().port().to_string();
    let mut sockets = Sockets::any().unwrap();
    sockets.keep_only("geolocator");
    let port = sockets.ports().geolocator;
    let options = Options {
        echo: false,
        without_our_otel_env: true,
    };
    let vars = env([
        ("GEOLOCATOR_PORT", configured),
        ("BIND_ADDR", "127.0.0.1".into()),
    ]);
    let mut geolocator = Services::start(&binaries, sockets, &vars, options).unwrap();
    let healthy = geolocator.wait_healthy(Duration::from_secs(30)).await;
    let ended = geolocator.stop(Duration::from_secs(10)).await;
    let output = geolocator.outputs()[0].1.lines();
    healthy.unwrap_or_else(|e| panic!("{e:#}: {output:#?}"));
    let said = format!("geolocator listening on http://127.0.0.1:{port}");
    assert!(output.iter().any(|l| l.contains(&said)), "{output:#?}");
    assert!(ended[0].1.is_some_and(|s| s.success()), "{ended:?}");
    // Our copy of the socket was closed once handed over: nobody listens now.
    assert!(
        !common::healthy(port),
        "the port still accepts after the service stopped"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn without_one_a_taken_port_is_a_one_line_error() {
    let binaries = common::stack::build_main().await;
    let taken = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let port = taken.local_addr().unwrap().port();
    let output = std::process::Command::new(&binaries["geolocator"])
        .env("GEOLOCATOR_PORT", port.to_string())
        .env("BIND_ADDR", "127.0.0.1")
        .env("NO_COLOR", "1")
        .env_remove("LISTEN_FDS")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    let expected = format!("geolocator: cannot listen on 127.0.0.1:{port}: Address already in use");
    assert!(stderr.contains(&expected), "{stderr}");
}
