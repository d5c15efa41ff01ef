//! Runs the four service binaries of a tree as real processes, with a stub ISS API, for
//! the tests of the instrumented (final) state.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub use super::serve_on_own_thread;
use super::target_dir;

pub const SERVICES: [&str; 4] = ["iss-distance", "geolocator", "gateway", "frontend"];

/// Builds the services of the final tree and returns their executables.
pub fn build(tree: &Path) -> BTreeMap<String, PathBuf> {
    let mut command = Command::new(env!("CARGO"));
    command
        .current_dir(tree)
        .env("CARGO_TARGET_DIR", target_dir("final"));
    build_with(command)
}

/// Builds the services of this repository (uninstrumented, in its usual target directory)
/// and returns their executables.
pub fn build_main() -> BTreeMap<String, PathBuf> {
    let mut command = Command::new(env!("CARGO"));
    command.current_dir(super::workspace());
    build_with(command)
}

fn build_with(mut command: Command) -> BTreeMap<String, PathBuf> {
    command.args(["build", "--message-format=json-render-diagnostics"]);
    for service in SERVICES {
        command.args(["-p", service]);
    }
    let output = command
        .stderr(Stdio::inherit())
        .output()
        .expect("cargo runs");
    assert!(output.status.success(), "the services build");
    let mut binaries = BTreeMap::new();
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let message: serde_json::Value = serde_json::from_str(line).unwrap_or_default();
        if let (Some(name), Some(path)) = (
            message["target"]["name"].as_str(),
            message["executable"].as_str(),
        ) {
            binaries.insert(name.to_owned(), PathBuf::from(path));
        }
    }
    binaries
}

/// The four services, started with `env` on top of their wiring.
pub struct Stack {
    ports: BTreeMap<&'static str, u16>,
    children: Vec<(&'static str, Child)>,
    stderr: Arc<Mutex<Vec<String>>>,
}

impl Stack {
    pub fn start(binaries: &BTreeMap<String, PathBuf>, env: &[(&str, String)]) -> Stack {
        // Each service gets a socket bound here, so no other test can take its port first.
        let sockets: BTreeMap<&'static str, TcpListener> = SERVICES
            .iter()
            .map(|service| {
                (
                    *service,
                    TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap(),
                )
            })
            .collect();
        let ports: BTreeMap<&'static str, u16> = sockets
            .iter()
            .map(|(service, socket)| (*service, socket.local_addr().unwrap().port()))
            .collect();
        let url = |service: &str| format!("http://127.0.0.1:{}", ports[service]);
        let wiring = [
            ("FRONTEND_PORT", ports["frontend"].to_string()),
            ("GATEWAY_PORT", ports["gateway"].to_string()),
            ("GEOLOCATOR_PORT", ports["geolocator"].to_string()),
            ("ISS_DISTANCE_PORT", ports["iss-distance"].to_string()),
            ("GATEWAY_URL", url("gateway")),
            ("GEOLOCATOR_URL", url("geolocator")),
            ("ISS_DISTANCE_URL", url("iss-distance")),
            ("NO_COLOR", "1".into()),
        ];
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let mut children = Vec::new();
        for (service, socket) in sockets {
            let mut command = Command::new(&binaries[service]);
            command
                .envs(wiring.iter().map(|(k, v)| (*k, v.as_str())))
                .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
                .stdout(Stdio::null())
                .stderr(Stdio::piped());
            super::hand_over(&mut command, socket);
            let mut child = command.spawn().expect("the service starts");
            let lines = BufReader::new(child.stderr.take().unwrap()).lines();
            let sink = Arc::clone(&stderr);
            std::thread::spawn(move || {
                for line in lines.map_while(Result::ok) {
                    sink.lock().unwrap().push(format!("{service}: {line}"));
                }
            });
            children.push((service, child));
        }
        let stack = Stack {
            ports,
            children,
            stderr,
        };
        stack.wait_healthy();
        stack
    }

    fn wait_healthy(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        for (service, port) in &self.ports {
            while !super::healthy(*port) {
                assert!(
                    Instant::now() < deadline,
                    "{service} never answered /healthz: {:?}",
                    self.stderr()
                );
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }

    pub fn frontend(&self, path_and_query: &str) -> String {
        self.url("frontend", path_and_query)
    }

    /// `http://127.0.0.1:<port of service><path_and_query>`.
    pub fn url(&self, service: &str, path_and_query: &str) -> String {
        format!("http://127.0.0.1:{}{path_and_query}", self.ports[service])
    }

    pub fn gateway(&self, path_and_query: &str) -> String {
        self.url("gateway", path_and_query)
    }

    pub fn pid(&self, service: &str) -> u32 {
        self.children
            .iter()
            .find(|(name, _)| *name == service)
            .unwrap()
            .1
            .id()
    }

    /// Everything the services wrote to stderr so far, each line prefixed with its service.
    pub fn stderr(&self) -> Vec<String> {
        self.stderr.lock().unwrap().clone()
    }

    /// [`Stack::terminate`], and every service must exit by itself, successfully.
    pub fn stop_cleanly(self, grace: Duration) {
        let ended = self.terminate(grace);
        assert!(
            ended
                .iter()
                .all(|(_, status)| status.is_some_and(|s| s.success())),
            "{ended:?}"
        );
    }

    /// SIGTERM to all, then waits (at most `grace`) for each to exit.
    pub fn terminate(mut self, grace: Duration) -> Vec<(&'static str, Option<ExitStatus>)> {
        for (_, child) in &self.children {
            // A child we spawned and have not reaped.
            super::signal(child.id(), nix::sys::signal::Signal::SIGTERM);
        }
        let deadline = Instant::now() + grace;
        let mut ended = Vec::new();
        for (name, child) in &mut self.children {
            let status = loop {
                if let Some(status) = child.try_wait().unwrap() {
                    break Some(status);
                }
                if Instant::now() > deadline {
                    let _ = child.kill();
                    break None;
                }
                std::thread::sleep(Duration::from_millis(20));
            };
            ended.push((*name, status));
        }
        self.children.clear();
        ended
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        for (_, child) in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Peak resident memory of a process, in KiB (VmHWM).
pub fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// What open-notify answers, with a fixed position.
pub const ISS_NOW: &str = r#"{"message":"success","timestamp":1763800000,"iss_position":{"latitude":"10.5","longitude":"20.25"}}"#;

/// An ISS API stub: always the same position.
pub fn iss_stub() -> SocketAddr {
    serve_on_own_thread(axum::Router::new().route(
        "/iss-now.json",
        axum::routing::get(|| async { ([("content-type", "application/json")], ISS_NOW) }),
    ))
}

/// A TCP port that accepts connections and never answers: a collector that hangs.
pub fn blackhole() -> SocketAddr {
    let listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
        }
    });
    addr
}

/// A port nothing listens on: a collector that is down.
pub fn refusing() -> SocketAddr {
    (Ipv4Addr::LOCALHOST, super::closed_port()).into()
}

/// A stand-in for any upstream: answers each path with a fixed JSON body and records the
/// trace headers of every request it gets.
pub struct Recorder {
    pub addr: SocketAddr,
    calls: Arc<Mutex<Vec<RecordedCall>>>,
}

/// One request a [`Recorder`] got: its path and trace headers.
#[derive(Clone, Debug)]
pub struct RecordedCall {
    pub path: String,
    pub traceparent: Option<String>,
    pub tracestate: Option<String>,
    pub baggage: Option<String>,
}

impl Recorder {
    /// Starts on its own thread; `answers` maps a path to the JSON it answers with (other
    /// paths get a 404).
    pub fn start(answers: &[(&'static str, &'static str)]) -> Recorder {
        let calls = Arc::new(Mutex::new(Vec::new()));
        let answers: BTreeMap<&'static str, &'static str> = answers.iter().copied().collect();
        let recorded = calls.clone();
        let app = axum::Router::new().fallback(
            move |uri: axum::http::Uri, headers: axum::http::HeaderMap| async move {
                let header = |name: &str| {
                    headers
                        .get(name)
                        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                };
                recorded.lock().unwrap().push(RecordedCall {
                    path: uri.path().to_owned(),
                    traceparent: header("traceparent"),
                    tracestate: header("tracestate"),
                    baggage: header("baggage"),
                });
                let (status, body) = match answers.get(uri.path()) {
                    Some(body) => (axum::http::StatusCode::OK, *body),
                    None => (axum::http::StatusCode::NOT_FOUND, r#"{"error":"not here"}"#),
                };
                (status, [("content-type", "application/json")], body)
            },
        );
        Recorder {
            addr: serve_on_own_thread(app),
            calls,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The requests so far to `path`.
    pub fn calls_to(&self, path: &str) -> Vec<RecordedCall> {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .filter(|c| c.path == path)
            .cloned()
            .collect()
    }
}
