//! `workshop inspect` as a real process, mostly with `--lines`: it receives our instrumented services'
//! telemetry over OTLP/HTTP and OTLP/gRPC, takes another language's SDK (the official
//! Python one, from PyPI) over both, follows the tap of a receiver that holds its port,
//! filters by service, and rejects bad arguments and taken ports in one line. The refreshing
//! screen runs in a real terminal (a tmux pane) and answers its keys.
//!
//! The tests that stop inspect with SIGTERM, or run it in tmux, are Unix only; on Windows the
//! rest still compiles, without the helpers only those use.
#![cfg_attr(not(unix), allow(dead_code, unused_imports))]

use crate::common;
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[cfg(unix)]
use common::stack::{build, start, stop_cleanly};
use common::{final_tree, text, workspace};

/// How long to wait for lines that should come (generous: tests share 2 cores).
const PATIENCE: Duration = Duration::from_secs(60);

/// A running `workshop inspect --lines`, with what it printed so far.
struct Inspector {
    child: Child,
    stdout: Arc<Mutex<Vec<String>>>,
    stderr: Arc<Mutex<Vec<String>>>,
}

impl Inspector {
    /// Starts it on free ports (plus `args`) and waits until it says where it listens.
    fn start(args: &[&str]) -> Inspector {
        let mut all = vec!["inspect", "--lines"];
        all.extend_from_slice(args);
        let mut child = Command::new(env!("CARGO_BIN_EXE_workshop"))
            .args(&all)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("workshop runs");
        let stdout = collect(child.stdout.take().unwrap());
        let stderr = collect(child.stderr.take().unwrap());
        let inspector = Inspector {
            child,
            stdout,
            stderr,
        };
        inspector.wait_stderr("workshop inspect: ");
        inspector
    }

    /// Listening on ephemeral ports.
    fn listen(extra: &[&str]) -> Inspector {
        let mut args = vec!["--grpc", "127.0.0.1:0", "--http", "127.0.0.1:0"];
        args.extend_from_slice(extra);
        Inspector::start(&args)
    }

    /// The addresses from `receiving OTLP/gRPC on A and OTLP/HTTP on B`.
    fn addresses(&self) -> (SocketAddr, SocketAddr) {
        let line = self.wait_stderr("receiving OTLP/gRPC on ");
        let words: Vec<&str> = line.split_whitespace().collect();
        let at = |after: &str| -> SocketAddr {
            let i = words.iter().position(|w| *w == after).unwrap();
            words[i + 2].parse().unwrap()
        };
        (at("OTLP/gRPC"), at("OTLP/HTTP"))
    }

    fn lines(&self) -> Vec<String> {
        self.stdout.lock().unwrap().clone()
    }

    fn wait_stderr(&self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(line) = self
                .stderr
                .lock()
                .unwrap()
                .iter()
                .find(|l| l.contains(needle))
            {
                return line.clone();
            }
            assert!(
                Instant::now() < deadline,
                "inspect never printed {needle:?} to stderr: {:?}",
                self.stderr.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits until the printed lines satisfy `check` (which explains what is missing).
    fn wait_until(&self, check: impl Fn(&[String]) -> Result<(), String>) -> Vec<String> {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let lines = self.lines();
            match check(&lines) {
                Ok(()) => return lines,
                Err(missing) if Instant::now() > deadline => panic!(
                    "{missing}\nprinted:\n{}\nstderr: {:?}",
                    lines.join("\n"),
                    self.stderr.lock().unwrap()
                ),
                Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    }

    /// Waits until `needle` is on stderr `times` times (a message that comes again).
    fn wait_stderr_times(&self, needle: &str, times: usize) {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let stderr = self.stderr.lock().unwrap().clone();
            if stderr.iter().filter(|l| l.contains(needle)).count() >= times {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "inspect did not print {needle:?} {times} times to stderr: {stderr:#?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// SIGTERM, then it must exit successfully within a few seconds.
    #[cfg(unix)]
    fn stop(self) -> Vec<String> {
        self.signal_and_exit(nix::sys::signal::Signal::SIGTERM)
    }

    /// `signal`, then it must exit successfully within a few seconds.
    #[cfg(unix)]
    fn signal_and_exit(mut self, signal: nix::sys::signal::Signal) -> Vec<String> {
        common::signal(self.child.id(), signal);
        let status = self.wait_exit(Duration::from_secs(15));
        assert!(status.success(), "inspect ended with {status}");
        self.lines()
    }

    fn wait_exit(&mut self, limit: Duration) -> std::process::ExitStatus {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                // Let the reader threads take the last lines.
                std::thread::sleep(Duration::from_millis(100));
                return status;
            }
            assert!(Instant::now() < deadline, "inspect did not exit");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Inspector {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn collect(stream: impl std::io::Read + Send + 'static) -> Arc<Mutex<Vec<String>>> {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&lines);
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines().map_while(Result::ok) {
            sink.lock().unwrap().push(line);
        }
    });
    lines
}

/// `key=value` from a line (`value` up to the next space; quoted values are not split).
fn field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let start = line.find(&format!(" {key}="))? + key.len() + 2;
    let rest = &line[start..];
    if let Some(quoted) = rest.strip_prefix('"') {
        let end = quoted.find("\" ")?;
        return Some(&rest[..end + 2]);
    }
    Some(rest.split(' ').next().unwrap_or(rest))
}

fn kind_lines<'a>(lines: &'a [String], kind: &str) -> Vec<&'a String> {
    lines
        .iter()
        .filter(|l| l.starts_with(&format!("{kind} ")))
        .collect()
}

fn is_hex(text: &str, len: usize) -> bool {
    text.len() == len && text.bytes().all(|b| b.is_ascii_hexdigit())
}

// ---------------------------------------------------------------------------------------
// Our services

/// One request through the frontend, traced across all four services.
#[cfg(unix)]
fn our_services(protocol: &str) {
    let (tree, _lock) = final_tree();
    let inspector = Inspector::listen(&[]);
    let (grpc, http) = inspector.addresses();
    let endpoint = if protocol == "grpc" { grpc } else { http };
    let env = [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", format!("http://{endpoint}")),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", protocol.to_owned()),
    ];
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let binaries = build(&tree).await;
        let mut stack = start(&binaries, &env).await;
        let page = reqwest::get(stack.url("frontend", "/?location=Berlin")).await;
        assert_eq!(page.unwrap().status(), 200);
        // SIGTERM makes every service flush its spans, metrics and logs.
        stop_cleanly(&mut stack, Duration::from_secs(20)).await;
    });

    inspector.wait_until(|lines| {
        let spans = kind_lines(lines, "span");
        for service in common::stack::SERVICES {
            if !spans.iter().any(|l| field(l, "service") == Some(service)) {
                return Err(format!("no span line from {service}"));
            }
        }
        if !kind_lines(lines, "metric")
            .iter()
            .any(|l| field(l, "name") == Some("iss.requests"))
        {
            return Err("no metric line for iss.requests".into());
        }
        if !kind_lines(lines, "log")
            .iter()
            .any(|l| field(l, "trace").is_some_and(|t| is_hex(t, 32)))
        {
            return Err("no log line with a trace id".into());
        }
        Ok(())
    });
    let lines = inspector.stop();

    // The request's trace: the frontend's SERVER span is its root, and every span of the
    // trace leads back to it through parent ids that were printed.
    let spans = kind_lines(&lines, "span");
    let root = spans
        .iter()
        .find(|l| {
            field(l, "service") == Some("frontend")
                && field(l, "kind") == Some("server")
                && field(l, "parent") == Some("-")
        })
        .unwrap_or_else(|| panic!("no frontend root span: {spans:#?}"));
    let trace = field(root, "trace").unwrap();
    assert!(is_hex(trace, 32), "{root}");
    assert!(is_hex(field(root, "span").unwrap(), 16), "{root}");
    let in_trace: Vec<&&String> = spans
        .iter()
        .filter(|l| field(l, "trace") == Some(trace))
        .collect();
    let parents: HashMap<&str, &str> = in_trace
        .iter()
        .map(|l| (field(l, "span").unwrap(), field(l, "parent").unwrap()))
        .collect();
    let service_of: HashMap<&str, &str> = in_trace
        .iter()
        .map(|l| (field(l, "span").unwrap(), field(l, "service").unwrap()))
        .collect();
    for line in &in_trace {
        let mut at = field(line, "span").unwrap();
        let mut hops = 0;
        while parents[at] != "-" {
            at = parents
                .get(at)
                .and_then(|p| parents.contains_key(p).then_some(*p))
                .unwrap_or_else(|| panic!("the parent of {at} was not printed: {line}"));
            hops += 1;
            assert!(hops < 50, "a parent cycle at {line}");
        }
        assert_eq!(at, field(root, "span").unwrap(), "{line}");
    }
    let services: std::collections::BTreeSet<&str> = service_of.values().copied().collect();
    let latitude = format!("iss.latitude={}", workshop::harness::LATITUDE);
    assert_eq!(
        services.into_iter().collect::<Vec<_>>(),
        ["frontend", "gateway", "geolocator", "iss-distance"],
        "the trace crosses all four services"
    );
    assert!(
        in_trace
            .iter()
            .any(|l| l.contains(&latitude) && field(l, "status").is_some()),
        "the ISS position is an attribute: {in_trace:#?}"
    );
    let logs = kind_lines(&lines, "log");
    assert!(
        logs.iter().any(|l| field(l, "trace") == Some(trace)),
        "a log line links to the request's trace {trace}: {logs:#?}"
    );
    let requests: Vec<_> = kind_lines(&lines, "metric")
        .into_iter()
        .filter(|l| field(l, "name") == Some("iss.requests"))
        .collect();
    assert!(
        requests
            .iter()
            .any(|l| field(l, "service") == Some("iss-distance")
                && field(l, "kind") == Some("sum")
                && field(l, "value") == Some("1")
                && l.contains("http.response.status_code=200")),
        "{requests:#?}"
    );
}

#[test]
#[cfg(unix)]
fn our_services_over_http() {
    our_services("http/protobuf");
}

#[test]
#[cfg(unix)]
fn our_services_over_grpc() {
    our_services("grpc");
}

// ---------------------------------------------------------------------------------------
// The official Python SDK

/// The packages (pinned; `.ci/run` installs the same) into `target/py-otel`.
const PYTHON_PACKAGES: &str = "opentelemetry-sdk==1.45.2 \
     opentelemetry-exporter-otlp-proto-grpc==1.45.2 \
     opentelemetry-exporter-otlp-proto-http==1.45.2";

/// The venv's python, which must have the SDK and both exporters: if not, the test fails
/// and says how to install them.
fn python() -> PathBuf {
    let python = workspace().join("target/py-otel/bin/python");
    let install = format!(
        "the Python OpenTelemetry SDK is missing: install it with\n  \
         python3 -m venv target/py-otel && target/py-otel/bin/pip install {PYTHON_PACKAGES}\n\
         (from {}; .ci/run does this)",
        workspace().display()
    );
    let imports = "import opentelemetry.sdk, opentelemetry.exporter.otlp.proto.grpc.trace_exporter, \
                   opentelemetry.exporter.otlp.proto.http.trace_exporter";
    let ok = Command::new(&python)
        .args(["-c", imports])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(ok, "{install}");
    python
}

fn emit(protocol: &str, endpoint: &str) {
    let script = workspace().join("workshop/tests/python/emit.py");
    let output = Command::new(python())
        .arg(&script)
        .args([protocol, endpoint])
        .output()
        .expect("python runs");
    assert!(
        output.status.success(),
        "emit.py {protocol} {endpoint}: {}{}",
        text(&output.stdout),
        text(&output.stderr)
    );
}

/// What emit.py sends, as lines: a parent and a failing child, a counter, a WARN log in
/// the child's context.
fn python_check(lines: &[String]) -> Result<(), String> {
    let ours = |kind: &str| -> Vec<&String> {
        kind_lines(lines, kind)
            .into_iter()
            .filter(|l| field(l, "service") == Some("python-check"))
            .collect()
    };
    let spans = ours("span");
    let parent = spans
        .iter()
        .find(|l| l.contains("name=\"GET /checkout\""))
        .ok_or("no GET /checkout span")?;
    let child = spans
        .iter()
        .find(|l| l.contains("name=\"SELECT stock\""))
        .ok_or("no SELECT stock span")?;
    let log = ours("log").into_iter().next().ok_or("no log line")?;
    let metric = ours("metric")
        .into_iter()
        .find(|l| field(l, "name") == Some("python.orders"))
        .ok_or("no python.orders metric")?;

    let expect = |ok: bool, what: &str| if ok { Ok(()) } else { Err(what.to_owned()) };
    expect(field(parent, "parent") == Some("-"), "the parent is a root")?;
    expect(
        field(parent, "kind") == Some("server"),
        "the parent is a server span",
    )?;
    expect(
        parent.contains("http.route=\"/checkout\"")
            && parent.contains("http.response.status_code=200"),
        "the parent's attributes",
    )?;
    expect(
        field(child, "trace") == field(parent, "trace")
            && field(child, "parent") == field(parent, "span"),
        "the child is the parent's child",
    )?;
    expect(
        field(child, "kind") == Some("client")
            && field(child, "status") == Some("error")
            && child.contains("status_message=\"stock below threshold\"")
            && child.contains("db.rows=3")
            && child.contains("db.system.name=\"postgresql\""),
        "the child's kind, status and attributes",
    )?;
    expect(
        field(metric, "kind") == Some("sum")
            && field(metric, "value") == Some("2")
            && metric.contains("attrs={payment=\"card\"}"),
        "the counter",
    )?;
    expect(
        field(log, "severity") == Some("WARN")
            && field(log, "trace") == field(parent, "trace")
            && field(log, "span") == field(child, "span")
            && log.contains("body=\"stock is low for item 42\""),
        "the log record, in the child's context",
    )
}

#[test]
#[cfg(unix)]
fn python_sdk_over_grpc() {
    python();
    let inspector = Inspector::listen(&[]);
    let (grpc, _) = inspector.addresses();
    emit("grpc", &format!("http://{grpc}"));
    inspector.wait_until(python_check);
    let lines = inspector.stop();
    assert!(lines.iter().all(|l| l.contains("service=python-check")));
}

#[test]
#[cfg(unix)]
fn python_sdk_over_http() {
    python();
    let inspector = Inspector::listen(&["--service", "python-check"]);
    let (_, http) = inspector.addresses();
    emit("http", &format!("http://{http}"));
    inspector.wait_until(python_check);
    inspector.stop();
}

#[test]
fn the_service_filter_leaves_out_other_services_and_for_ends_the_run() {
    python();
    let mut inspector = Inspector::listen(&["--service", "gateway", "--for", "3s"]);
    let (_, http) = inspector.addresses();
    let started = Instant::now();
    emit("http", &format!("http://{http}"));
    let status = inspector.wait_exit(Duration::from_secs(30));
    assert!(status.success(), "{status}");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "--for 3s ended the run"
    );
    assert_eq!(
        inspector.lines(),
        Vec::<String>::new(),
        "python-check is filtered out"
    );
}

// ---------------------------------------------------------------------------------------
// The refreshing screen, in a real terminal: tmux runs inspect in a pane and shows what an
// attendee would see.

/// A tmux server of the test's own (`-L`), with one 120x40 window running `command`;
/// killed on drop.
#[cfg(unix)]
struct Pane {
    server: String,
}

#[cfg(unix)]
impl Pane {
    fn start(command: &str) -> Pane {
        // One server per pane, also when two tests run in one process.
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let server = format!("workshop-inspect-{}-{n}", std::process::id());
        let pane = Pane { server };
        let output = pane
            .tmux(&["-f", "/dev/null", "new-session", "-d", "-s", "view"])
            .args(["-x", "120", "-y", "40", command])
            .output()
            .expect("tmux is needed for this test: `apt-get install tmux` (.ci/run does this)");
        assert!(output.status.success(), "tmux: {}", text(&output.stderr));
        pane
    }

    fn tmux(&self, args: &[&str]) -> Command {
        let mut command = Command::new("tmux");
        command.args(["-L", &self.server]).args(args);
        command
    }

    fn screen(&self) -> String {
        text(
            &self
                .tmux(&["capture-pane", "-p", "-t", "view"])
                .output()
                .unwrap()
                .stdout,
        )
    }

    /// A tmux format variable of the pane, e.g. `alternate_on`.
    fn variable(&self, name: &str) -> String {
        let format = format!("#{{{name}}}");
        let output = self
            .tmux(&["display", "-p", "-t", "view", &format])
            .output();
        text(&output.unwrap().stdout).trim().to_owned()
    }

    fn keys(&self, keys: &str) {
        assert!(
            self.tmux(&["send-keys", "-t", "view", keys])
                .status()
                .unwrap()
                .success()
        );
    }

    /// Waits until the screen satisfies `check`; returns it.
    fn wait_for(&self, what: &str, check: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let screen = self.screen();
            if check(&screen) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "{what}; the screen:\n{screen}\nthe pane's processes:\n{}",
                self.processes()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

#[cfg(unix)]
impl Pane {
    /// The pane's process and its children, with their states, for a failure message.
    fn processes(&self) -> String {
        let pid = self.variable("pane_pid");
        let output = Command::new("ps")
            .args([
                "-o",
                "pid,ppid,stat,wchan:32,args",
                "--ppid",
                &pid,
                "-p",
                &pid,
            ])
            .output();
        let mut report = output.map(|o| text(&o.stdout)).unwrap_or_default();
        for task in std::fs::read_dir(format!("/proc/{pid}/task"))
            .into_iter()
            .flatten()
        {
            let task = task.unwrap().path();
            let stack = std::fs::read_to_string(task.join("stat")).unwrap_or_default();
            let wchan = std::fs::read_to_string(task.join("wchan")).unwrap_or_default();
            report.push_str(&format!("{}: {wchan} {stack}\n", task.display()));
        }
        report
    }
}

#[cfg(unix)]
impl Drop for Pane {
    fn drop(&mut self) {
        let _ = self.tmux(&["kill-server"]).output();
    }
}

#[test]
#[cfg(unix)]
fn the_screen_in_a_terminal_draws_the_tree_and_answers_keys() {
    python();
    // The shell says how inspect ended, and the pane stays open to show it. (tmux's own
    // record of a pane's exit status proved unreliable: now and then the server does not
    // reap the process, which stays a zombie.)
    let command = format!(
        "env NO_COLOR=1 '{}' inspect --grpc 127.0.0.1:0 --http 127.0.0.1:0; \
         echo \"inspect exited with $?\"; exec sleep 600",
        env!("CARGO_BIN_EXE_workshop")
    );
    let pane = Pane::start(&command);
    // The hint is the last line of the waiting screen: with it there, the header is too.
    let waiting = pane.wait_for("no hint where to send telemetry", |s| {
        s.contains("OTEL_EXPORTER_OTLP_ENDPOINT=")
    });
    let http = waiting
        .split_whitespace()
        .skip_while(|word| *word != "HTTP")
        .nth(1)
        .unwrap()
        .to_owned();
    assert!(
        waiting.contains(&format!("OTEL_EXPORTER_OTLP_ENDPOINT=http://{http}")),
        "the hint names the port: {waiting}"
    );
    assert_eq!(
        pane.variable("alternate_on"),
        "1",
        "the view uses the alternate screen"
    );

    emit("http", &format!("http://{http}"));
    // The screen is drawn top to bottom: with the log line there, the rest is complete too.
    let screen = pane.wait_for("not every signal is on the screen", |s| {
        s.contains("└─ SELECT stock")
            && s.contains("python.orders")
            && s.contains("WARN  python-check")
    });
    let tree: Vec<&str> = screen
        .lines()
        .filter(|l| l.contains("python-check"))
        .collect();
    let parent = tree
        .iter()
        .position(|l| l.trim_start().starts_with("GET /checkout "));
    let child = tree
        .iter()
        .position(|l| l.trim_start().starts_with("└─ SELECT stock"));
    assert!(
        matches!((parent, child), (Some(p), Some(c)) if c == p + 1),
        "the child is drawn under its parent: {screen}"
    );
    assert!(
        tree[child.unwrap()].contains("ERROR stock below threshold"),
        "{screen}"
    );

    pane.keys("t");
    pane.wait_for("t did not keep only the traces", |s| {
        s.contains("── Traces (1)") && !s.contains("── Logs") && !s.contains("── Metrics")
    });

    pane.keys("q");
    let screen = pane.wait_for("q did not end the view", |s| s.contains("inspect exited"));
    assert!(screen.contains("inspect exited with 0"), "{screen}");
    assert_eq!(
        pane.variable("alternate_on"),
        "0",
        "the terminal is restored"
    );
}

/// Raw mode turns Ctrl-C into a key (see `workshop/src/inspect/term.rs`): it must still end
/// the view cleanly and give the terminal back.
#[cfg(unix)]
#[test]
fn ctrl_c_in_the_terminal_ends_the_view_and_restores_the_terminal() {
    let command = format!(
        "env NO_COLOR=1 '{}' inspect --grpc 127.0.0.1:0 --http 127.0.0.1:0; \
         echo \"inspect exited with $?\"; exec sleep 600",
        env!("CARGO_BIN_EXE_workshop")
    );
    let pane = Pane::start(&command);
    pane.wait_for("the view did not start", |s| {
        s.contains("OTEL_EXPORTER_OTLP_ENDPOINT=")
    });
    pane.keys("C-c");
    let screen = pane.wait_for("Ctrl-C did not end the view", |s| {
        s.contains("inspect exited")
    });
    assert!(screen.contains("inspect exited with 0"), "{screen}");
    assert_eq!(
        pane.variable("alternate_on"),
        "0",
        "the terminal is restored"
    );
    // Echo and line editing are back: typed text shows up in the pane.
    pane.keys("echo typed-after");
    pane.wait_for("the terminal does not echo again", |s| {
        s.contains("typed-after")
    });
}

/// `workshop up` holds 4317/4318 with its own receiver: inspect follows that one's tap.
#[tokio::test(flavor = "multi_thread")]
#[cfg(unix)]
async fn a_receiver_on_the_port_is_followed_through_its_tap() {
    python();
    let receiver = otlp_receiver::Receiver::start(otlp_receiver::ReceiverConfig::ephemeral())
        .await
        .unwrap();
    let http = receiver.http_addr().to_string();
    let inspector = Inspector::start(&["--grpc", "127.0.0.1:0", "--http", &http]);
    inspector.wait_stderr(&format!("following the receiver at http://{http}/v1/tap"));
    let store = receiver.store();
    assert!(
        store
            .wait_until(Duration::from_secs(10), |s| s.followers() > 0)
            .await
    );
    let endpoint = receiver.http_endpoint();
    tokio::task::spawn_blocking(move || emit("http", &endpoint))
        .await
        .unwrap();
    tokio::task::spawn_blocking(move || {
        inspector.wait_until(python_check);
        inspector.stop();
    })
    .await
    .unwrap();
    receiver.shutdown().await;
}

// ---------------------------------------------------------------------------------------
// Following `workshop up`'s receiver: what it already holds, and across its restarts (every
// section restarts `up`).

/// What a span line says that makes it one span: its trace and span ids.
fn span_ids(lines: &[String]) -> Vec<String> {
    kind_lines(lines, "span")
        .iter()
        .map(|l| {
            format!(
                "{}/{}",
                field(l, "trace").unwrap(),
                field(l, "span").unwrap()
            )
        })
        .collect()
}

/// Every span printed once; `traces` checkout traces in all.
fn each_span_once(lines: &[String], traces: usize) -> Result<(), String> {
    let ids = span_ids(lines);
    let unique: std::collections::BTreeSet<&String> = ids.iter().collect();
    if unique.len() != ids.len() {
        return Err(format!("a span was printed twice: {ids:#?}"));
    }
    let checkouts = lines
        .iter()
        .filter(|l| l.contains("name=\"GET /checkout\""))
        .count();
    if checkouts != traces {
        return Err(format!("{checkouts} GET /checkout spans, not {traces}"));
    }
    Ok(())
}

/// A receiver as `workshop up` runs it, on `http` (port 0: a free one).
#[cfg(unix)]
async fn up_receiver(http: SocketAddr) -> otlp_receiver::Receiver {
    let config = otlp_receiver::ReceiverConfig {
        http,
        ..otlp_receiver::ReceiverConfig::ephemeral()
    };
    otlp_receiver::Receiver::start(config).await.unwrap()
}

/// Python's SDK sends its sample to `receiver`, which then holds all of it.
#[cfg(unix)]
async fn emit_to(receiver: &otlp_receiver::Receiver) {
    let endpoint = receiver.http_endpoint();
    let before = receiver.store().spans().len();
    tokio::task::spawn_blocking(move || emit("http", &endpoint))
        .await
        .unwrap();
    let held = receiver
        .store()
        .wait_until(PATIENCE, |s| s.spans().len() >= before + 2)
        .await;
    assert!(held, "the receiver got the spans: {:?}", receiver.store());
}

/// The chapters start inspect after sending requests: what the receiver got before is
/// shown, once.
#[tokio::test(flavor = "multi_thread")]
#[cfg(unix)]
async fn what_the_receiver_held_before_inspect_started_is_shown() {
    python();
    let receiver = up_receiver("127.0.0.1:0".parse().unwrap()).await;
    emit_to(&receiver).await;
    let inspector = Inspector::start(&["--from", &receiver.http_endpoint()]);
    tokio::task::spawn_blocking(move || {
        inspector.wait_until(python_check);
        let lines = inspector.stop();
        each_span_once(&lines, 1).unwrap();
    })
    .await
    .unwrap();
    receiver.shutdown().await;
}

/// `up` stops: inspect says so and waits; `up` starts again: inspect follows the new
/// receiver, from what that one already holds; Ctrl-C while it waits ends it cleanly.
#[tokio::test(flavor = "multi_thread")]
#[cfg(unix)]
async fn when_the_receiver_restarts_inspect_says_so_and_follows_the_new_one() {
    python();
    let first = up_receiver("127.0.0.1:0".parse().unwrap()).await;
    let http = first.http_addr();
    let inspector = Inspector::start(&["--from", &first.http_endpoint()]);
    emit_to(&first).await;
    let inspector = tokio::task::spawn_blocking(move || {
        inspector.wait_until(python_check);
        inspector
    })
    .await
    .unwrap();

    first.shutdown().await;
    let mut inspector = tokio::task::spawn_blocking(move || {
        inspector.wait_stderr("went away (did `workshop up` stop?); waiting for it to come back");
        inspector
    })
    .await
    .unwrap();
    assert!(inspector.running(), "inspect waits for the receiver");

    // The new receiver gets its first data before or after inspect finds it: either way,
    // it is shown, once, next to the first receiver's.
    let second = up_receiver(http).await;
    emit_to(&second).await;
    let inspector = tokio::task::spawn_blocking(move || {
        inspector.wait_stderr("a new receiver is at");
        inspector.wait_until(|lines| each_span_once(lines, 2));
        inspector
    })
    .await
    .unwrap();

    second.shutdown().await;
    tokio::task::spawn_blocking(move || {
        inspector.wait_stderr_times("went away", 2);
        let lines = inspector.signal_and_exit(nix::sys::signal::Signal::SIGINT);
        each_span_once(&lines, 2).unwrap();
    })
    .await
    .unwrap();
}

/// Stands between inspect and a receiver: `cut` breaks the connections it carries, as a
/// network would, while the receiver stays up.
#[cfg(unix)]
struct Proxy {
    addr: SocketAddr,
    connections: Arc<Mutex<Vec<tokio::task::JoinHandle<()>>>>,
}

#[cfg(unix)]
impl Proxy {
    async fn start(to: SocketAddr) -> Proxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let connections: Arc<Mutex<Vec<tokio::task::JoinHandle<()>>>> = Arc::default();
        let carried = Arc::clone(&connections);
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let connection = tokio::spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(to).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                carried.lock().unwrap().push(connection);
            }
        });
        Proxy { addr, connections }
    }

    fn cut(&self) {
        for connection in self.connections.lock().unwrap().drain(..) {
            connection.abort();
        }
    }
}

/// The connection breaks but the receiver stays: inspect reconnects and gets only what came
/// after the last request it saw, though the receiver still holds everything.
#[tokio::test(flavor = "multi_thread")]
#[cfg(unix)]
async fn a_broken_connection_to_the_same_receiver_shows_nothing_twice() {
    python();
    let receiver = up_receiver("127.0.0.1:0".parse().unwrap()).await;
    let proxy = Proxy::start(receiver.http_addr()).await;
    let inspector = Inspector::start(&["--from", &format!("http://{}", proxy.addr)]);
    emit_to(&receiver).await;
    let inspector = tokio::task::spawn_blocking(move || {
        inspector.wait_until(python_check);
        inspector
    })
    .await
    .unwrap();

    proxy.cut();
    let inspector = tokio::task::spawn_blocking(move || {
        inspector.wait_stderr("went away");
        inspector.wait_stderr("is back: following it again");
        inspector
    })
    .await
    .unwrap();
    emit_to(&receiver).await;
    tokio::task::spawn_blocking(move || {
        inspector.wait_until(|lines| each_span_once(lines, 2));
        let lines = inspector.stop();
        each_span_once(&lines, 2).unwrap();
    })
    .await
    .unwrap();
    receiver.shutdown().await;
}

/// The same in a terminal: the backlog on the screen, a line while the receiver is gone,
/// gone again when it is back, and Ctrl-C while waiting gives the terminal back.
#[test]
#[cfg(unix)]
fn the_screen_says_when_the_receiver_is_gone_and_follows_it_when_back() {
    python();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let first = runtime.block_on(up_receiver("127.0.0.1:0".parse().unwrap()));
    let http = first.http_addr();
    runtime.block_on(emit_to(&first));
    let command = format!(
        "env NO_COLOR=1 '{}' inspect --from http://{http}; \
         echo \"inspect exited with $?\"; exec sleep 600",
        env!("CARGO_BIN_EXE_workshop")
    );
    let pane = Pane::start(&command);
    pane.wait_for("what the receiver held is not on the screen", |s| {
        s.contains("└─ SELECT stock") && s.contains("WARN  python-check")
    });

    runtime.block_on(first.shutdown());
    let gone = "went away (did `workshop up` stop?)";
    pane.wait_for("the screen does not say the receiver went away", |s| {
        s.contains(gone) && s.contains("└─ SELECT stock")
    });
    assert_eq!(pane.variable("alternate_on"), "1", "still the view");

    let second = runtime.block_on(up_receiver(http));
    runtime.block_on(emit_to(&second));
    let screen = pane.wait_for("the view did not follow the new receiver", |s| {
        !s.contains(gone) && s.contains("── Traces (2)")
    });
    assert_eq!(
        screen.matches("└─ SELECT stock").count(),
        2,
        "each trace once: {screen}"
    );

    runtime.block_on(second.shutdown());
    pane.wait_for(
        "the screen does not say the receiver went away again",
        |s| s.contains(gone),
    );
    pane.keys("C-c");
    let screen = pane.wait_for("Ctrl-C did not end the waiting view", |s| {
        s.contains("inspect exited")
    });
    assert!(screen.contains("inspect exited with 0"), "{screen}");
    assert_eq!(
        pane.variable("alternate_on"),
        "0",
        "the terminal is restored"
    );
}

// ---------------------------------------------------------------------------------------
// Bad input

fn inspect(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_workshop"))
        .arg("inspect")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("workshop runs")
}

#[test]
fn wrong_arguments_get_a_one_line_reason() {
    common::assert_refused(
        "inspect",
        &[
            (
                &["--grpc", "nonsense"][..],
                "invalid value 'nonsense' for '--grpc <ADDR>'",
            ),
            (
                &["--http", "127.0.0.1"],
                "invalid value '127.0.0.1' for '--http <ADDR>'",
            ),
            (&["--for", "0s"], "must be more than 0"),
            (&["--for", "ten"], "is not a duration"),
            (&["--service", ""], "a service name cannot be empty"),
            (&["--colour"], "unexpected argument '--colour'"),
            (
                &["--from", "http://127.0.0.1:4318", "--grpc", "127.0.0.1:0"],
                "cannot be used with",
            ),
            (&["extra"], "unexpected argument 'extra'"),
        ],
    );
    common::assert_help_lists(
        "inspect",
        &[
            "--grpc",
            "--http",
            "--service",
            "--lines",
            "--for",
            "--from",
        ],
    );
}

#[test]
fn a_taken_port_is_one_line_saying_what_may_hold_it() {
    // Holds the port and never answers, like a collector that is not ours.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let addr = format!("127.0.0.1:{port}");
    for args in [
        ["--grpc", addr.as_str(), "--http", "127.0.0.1:0"],
        ["--grpc", "127.0.0.1:0", "--http", addr.as_str()],
    ] {
        let output = inspect(&args);
        assert_eq!(output.status.code(), Some(1), "{args:?}");
        let stderr = text(&output.stderr);
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(
            stderr.starts_with(&format!(
                "workshop: port {port} is in use: is a collector or `workshop up` already running?"
            )),
            "{stderr}"
        );
    }
    let output = inspect(&["--from", &format!("http://{addr}")]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = text(&output.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("cannot follow the receiver's tap"),
        "{stderr}"
    );
}
