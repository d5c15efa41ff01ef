//! `workshop fault`: the game's commands on a switch file, and the switch at work in the
//! services that `workshop up` runs, which only the switch file can reach.
#![cfg_attr(not(unix), allow(dead_code, unused_imports))]

use crate::common;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{assert_help_lists, assert_refused, free_base_port, text};

/// A switch file of its own for each test.
fn switch_file(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("fault-command-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir.join("fault")
}

fn fault(file: &Path, port: u16, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_workshop"))
        .arg("fault")
        .args(args)
        .args(["--port", &port.to_string()])
        .env("WORKSHOP_FAULT_FILE", file)
        .output()
        .expect("workshop runs")
}

/// `fault ARGS` succeeds; its stdout.
fn ok(file: &Path, port: u16, args: &[&str]) -> String {
    let output = fault(file, port, args);
    assert!(
        output.status.success(),
        "fault {args:?}: {}",
        text(&output.stderr)
    );
    text(&output.stdout)
}

/// `fault ARGS` fails with exit code 1 and this in its message.
fn refused(file: &Path, port: u16, args: &[&str], reason: &str) {
    let output = fault(file, port, args);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "fault {args:?}: {stderr}");
    assert!(stderr.contains(reason), "fault {args:?}: {stderr}");
}

fn switched(file: &Path) -> String {
    std::fs::read_to_string(file).unwrap().trim().to_owned()
}

/// A frontend stand-in that answers `/healthz`, so that `fault on` finds "the services".
fn frontend_stand_in() -> u16 {
    let app = axum::Router::new().route("/healthz", axum::routing::get(|| async { "ok" }));
    common::serve_on_own_thread(app).port()
}

#[test]
fn a_round_switches_on_guesses_reveals_and_switches_off() {
    let file = switch_file("round");
    let closed = common::closed_port();
    let listed = ok(&file, closed, &["list"]);
    assert!(
        listed.starts_with("7 faults, by number: #1  #2  #3  #4  #5  #6  #7."),
        "{listed}"
    );
    for name in [
        "captive-portal",
        "connection-leak",
        "lost-context",
        "memory-leak",
        "retry-storm",
        "sign-bug",
        "slow-lookups",
    ] {
        assert!(listed.contains(&format!("\n  {name} ")), "{name}: {listed}");
    }
    assert!(listed.contains("Now: no fault is on"), "{listed}");

    refused(
        &file,
        closed,
        &["on", "3"],
        "the services do not answer on port",
    );
    assert!(!file.exists(), "nothing was switched");

    let port = frontend_stand_in();
    let on = ok(&file, port, &["on", "3"]);
    assert!(on.starts_with("Fault #3 is on."), "{on}");
    assert_eq!(switched(&file), "3");
    refused(&file, port, &["on"], "a fault is on already");

    let wrong = ok(&file, port, &["guess", "retry-storm"]);
    assert!(wrong.starts_with("No: it is not retry-storm."), "{wrong}");
    let right = ok(&file, port, &["guess", "Connection-Leak"]);
    assert!(
        right.starts_with("Right: fault #3 is connection-leak. Found after "),
        "{right}"
    );
    assert_eq!(switched(&file), "3", "it stays on after the guess");
    assert!(ok(&file, port, &["list"]).contains("Found so far: 1 of 7 (connection-leak)."));

    let revealed = ok(&file, port, &["reveal"]);
    assert!(
        revealed.starts_with("Fault #3 is connection-leak: "),
        "{revealed}"
    );
    assert!(revealed.contains("\nWhere it shows:\n"), "{revealed}");

    let off = ok(&file, port, &["off"]);
    assert!(off.starts_with("Fault #3 is off"), "{off}");
    assert_eq!(switched(&file), "off");
    assert_eq!(ok(&file, port, &["off"]), "No fault was on.\n");
    refused(&file, port, &["guess", "sign-bug"], "no fault is on");
    refused(&file, port, &["reveal"], "no fault is on");
}

#[test]
fn a_random_fault_is_one_not_found_yet_and_stays_unnamed() {
    let file = switch_file("random");
    // Found: every fault but #6.
    std::fs::write(
        PathBuf::from(format!("{}.found", file.display())),
        "1 2 3 4 5 7\n",
    )
    .unwrap();
    let on = ok(&file, frontend_stand_in(), &["on"]);
    assert_eq!(switched(&file), "6");
    assert!(
        on.starts_with("A fault is on: one of the 1 you have not found yet."),
        "{on}"
    );
    assert!(!on.contains('#') && !on.contains("memory-leak"), "{on}");
}

#[test]
fn bad_arguments_and_a_bad_switch_file_are_clear_errors() {
    assert_refused(
        "fault",
        &[
            (&["on", "8"], "8 is not in 1..=7"),
            (&["on", "two"], "invalid value 'two'"),
            (&["guess", "gremlins"], "no fault is called \"gremlins\""),
            (
                &["guess"],
                "the following required arguments were not provided",
            ),
            (&["shout"], "unrecognized subcommand 'shout'"),
        ],
    );
    assert_help_lists(
        "fault",
        &["list", "on", "guess", "reveal", "off", "--file", "--port"],
    );
    let file = switch_file("bad");
    std::fs::write(&file, "banana\n").unwrap();
    refused(
        &file,
        common::closed_port(),
        &["list"],
        "expected a fault's number or `off`, found \"banana\"",
    );
}

// ---------------------------------------------------------------------------------------
// With `workshop up`: the services follow the switch, and nothing else reaches it.

/// The TCP ports process `pid` listens on, from /proc: its sockets (`/proc/PID/fd`)
/// matched with the listening ones of `/proc/net/tcp` and `tcp6`.
#[cfg(unix)]
fn listening_ports(pid: u32) -> BTreeSet<u16> {
    let inodes: BTreeSet<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .flatten()
        .filter_map(|fd| std::fs::read_link(fd.path()).ok())
        .filter_map(|target| {
            let target = target.to_string_lossy().into_owned();
            Some(
                target
                    .strip_prefix("socket:[")?
                    .strip_suffix(']')?
                    .to_owned(),
            )
        })
        .collect();
    let mut ports = BTreeSet::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(table) else {
            continue;
        };
        for row in text.lines().skip(1) {
            let fields: Vec<&str> = row.split_whitespace().collect();
            // local_address is HEX_IP:HEX_PORT; state 0A is LISTEN; the inode is field 9.
            if fields.get(3) == Some(&"0A") && fields.get(9).is_some_and(|i| inodes.contains(*i)) {
                let port = fields[1].rsplit_once(':').unwrap().1;
                ports.insert(u16::from_str_radix(port, 16).unwrap());
            }
        }
    }
    ports
}

/// The status of a GET of `url` (0 if no answer came). Blocking: these tests drive
/// processes from one thread.
fn get(url: reqwest::Url) -> u16 {
    send(reqwest::Method::GET, url, &[], "")
}

/// The status of a `method` request to `url` with `headers` and `body` (0 if no answer
/// came).
fn send(method: reqwest::Method, url: reqwest::Url, headers: &[(&str, &str)], body: &str) -> u16 {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut request = reqwest::Client::new()
            .request(method, url)
            .timeout(Duration::from_secs(20))
            .body(body.to_owned());
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send().await.map_or(0, |r| r.status().as_u16())
    })
}

/// Everything a visitor could send to try and switch fault `number` on: on the page and on
/// every service's port (only the page is public, but a container binds 0.0.0.0), as a path,
/// a query parameter, a header, baggage, or a form posted. Returns what was tried, with the
/// status each got.
fn try_to_switch_from_outside(base: u16, number: &str) -> Vec<String> {
    let mut tried = Vec::new();
    for port in base..base + 4 {
        let at = |path: &str| -> reqwest::Url {
            format!("http://127.0.0.1:{port}{path}").parse().unwrap()
        };
        for path in ["/fault", "/faults", "/admin", "/fault/on"] {
            let status = get(at(&format!("{path}?n={number}")));
            tried.push(format!("GET :{port}{path}?n={number} -> {status}"));
        }
        let query = format!(
            "/?location=Z%C3%BCrich&fault={number}&{}={number}",
            faults::SWITCH_VARIABLE
        );
        let headers = [
            ("x-fault", number),
            ("x-workshop-fault", number),
            ("baggage", &*format!("fault={number}")),
        ];
        let status = send(reqwest::Method::GET, at(&query), &headers, "");
        tried.push(format!(
            "GET :{port}{query} with headers {headers:?} -> {status}"
        ));
        let form = format!("fault={number}");
        let status = send(
            reqwest::Method::POST,
            at("/"),
            &[("content-type", "application/x-www-form-urlencoded")],
            &form,
        );
        tried.push(format!("POST :{port}/ {form} -> {status}"));
    }
    tried
}

/// How long the page takes to answer for `place`, and with what status.
fn ask(port: u16, place: &str) -> (Duration, u16) {
    let url = reqwest::Url::parse_with_params(
        &format!("http://127.0.0.1:{port}/"),
        &[("location", place)],
    )
    .unwrap();
    let started = Instant::now();
    let status = get(url);
    (started.elapsed(), status)
}

#[cfg(unix)]
#[test]
fn the_services_of_up_follow_the_switch_and_listen_on_nothing_else() {
    let _ports = common::otlp_ports();
    let file = switch_file("up");
    // Left on by an earlier run: `up` starts with every fault off.
    std::fs::write(&file, "5\n").unwrap();
    let base = free_base_port();
    let mut up = Command::new(env!("CARGO_BIN_EXE_workshop"))
        .args(["up", "--port", &base.to_string()])
        .env("ISS_SOURCE", "model")
        // Above slow-lookups' 1.2 s; what a call waits for a leaked connection.
        .env("UPSTREAM_TIMEOUT_MS", "2000")
        .env("WORKSHOP_FAULT_FILE", &file)
        .env_remove("FRONTEND_PORT")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    common::wait_for_up(&mut up, base);
    assert_eq!(switched(&file), "off", "up switched the earlier fault off");
    assert_eq!(ask(base, "Sydney").1, 200, "sign-bug is off");

    // Each service listens on its own port and nothing else: no admin port for the switch.
    let services = common::children(up.id());
    assert_eq!(services.len(), 4, "{services:?}");
    let mut ports = BTreeSet::new();
    for pid in &services {
        let listening = listening_ports(*pid);
        assert_eq!(listening.len(), 1, "process {pid} listens on {listening:?}");
        ports.extend(listening);
    }
    assert_eq!(ports, (base..base + 4).collect(), "the four service ports");
    // And nothing a visitor sends reaches it: no route, parameter, header or form
    // switches slow-lookups (#2) on; the switch still says off, and Zürich stays fast.
    for path in ["/fault", "/faults", "/admin", "/fault/on?n=2"] {
        let status = get(format!("http://127.0.0.1:{base}{path}").parse().unwrap());
        assert_eq!(status, 404, "{path}");
    }
    let tried = try_to_switch_from_outside(base, "2");
    std::thread::sleep(Duration::from_millis(700));
    assert_eq!(switched(&file), "off", "tried: {tried:#?}");
    let (took, status) = ask(base, "Zürich");
    assert!(
        status == 200 && took < Duration::from_millis(1000),
        "after {tried:#?}\nZürich answered {status} in {took:?}: a visitor switched slow-lookups on"
    );

    let (fast, status) = ask(base, "Zürich");
    assert_eq!(status, 200);
    let on = ok(&file, base, &["on", "2"]);
    assert!(on.starts_with("Fault #2 is on."), "{on}");
    std::thread::sleep(Duration::from_millis(700));
    let (slow, status) = ask(base, "Zürich");
    assert_eq!(status, 200, "slow, but answered");
    assert!(
        slow >= Duration::from_millis(1200) && fast < Duration::from_millis(1000),
        "Zürich took {fast:?}, then {slow:?} with slow-lookups on"
    );
    assert!(
        ask(base, "Berlin").0 < Duration::from_millis(1000),
        "only some places"
    );
    ok(&file, base, &["off"]);
    std::thread::sleep(Duration::from_millis(700));
    assert!(
        ask(base, "Zürich").0 < Duration::from_millis(1000),
        "off: fast again"
    );

    // `load` keeps traffic flowing through the fault that holds requests longest: with
    // connection-leak on, once the pool is empty every call to iss-distance waits until the
    // gateway's timeout; every request is still sent on time and gets its outcome.
    ok(&file, base, &["on", "3"]);
    std::thread::sleep(Duration::from_millis(700));
    let load = Command::new(env!("CARGO_BIN_EXE_workshop"))
        .args(["load", "--url", &format!("http://127.0.0.1:{base}")])
        .args(["--rate", "10", "--duration", "2s", "--json"])
        .output()
        .unwrap();
    assert!(load.status.success(), "load: {}", text(&load.stderr));
    let summary: serde_json::Value = serde_json::from_slice(&load.stdout).unwrap();
    let count = |key: &str| summary[key].as_u64().unwrap();
    let outcomes = &summary["outcomes"];
    assert!(
        count("requests") == 20 && count("dropped") == 0 && count("completed") == 20,
        "every request sent on time and answered: {summary:#}"
    );
    assert!(
        outcomes["2xx"].as_u64() > Some(0) && outcomes["5xx"].as_u64() > Some(0),
        "answers until the pool ran out, then the gateway's timeouts: {summary:#}"
    );
    ok(&file, base, &["off"]);
    std::thread::sleep(Duration::from_millis(700));
    let (took, status) = ask(base, "Berlin");
    assert!(
        status == 200 && took < Duration::from_millis(1000),
        "off: the pool is back, Berlin answered {status} in {took:?}"
    );

    common::signal(up.id(), nix::sys::signal::Signal::SIGINT);
    let status = up.wait().unwrap();
    assert!(status.success(), "up exits cleanly: {status}");
}
