//! `workshop check` for real: it builds the services, runs them through its scenario with
//! the stub ISS API and the OTLP receiver, stops them, and prints the checklist.
//!
//! The tree checked here is this workspace as it is (section 0 not done yet on `main`).
//! Builds share this test's target directory (`CARGO_TARGET_DIR`, when set, is honoured).

use std::process::{Command, Output};
use std::time::{Duration, Instant};

use platform_check::repo_root as workspace;

fn check(args: &[&str]) -> (Output, Duration) {
    let started = Instant::now();
    let output = Command::new(env!("CARGO_BIN_EXE_workshop"))
        .arg("check")
        .args(args)
        .output()
        .expect("workshop runs");
    (output, started.elapsed())
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Seconds the check took after the build, from its last line `(… s after the build)`.
fn seconds_after_build(stdout: &str) -> f64 {
    let at = stdout.rfind(" s after the build").expect("the timing line");
    let start = stdout[..at].rfind('(').expect("(") + 1;
    stdout[start..at].parse().expect("a number")
}

#[test]
fn section_0_is_not_done_on_the_uninstrumented_services() {
    let tree = workspace();
    let (output, _) = check(&["0", "--tree", tree.to_str().unwrap()]);
    let stdout = text(&output.stdout);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stdout}\n{stderr}");

    // The setup worked for real: build, start, scenario, graceful stop.
    for line in [
        "✓ the services build",
        "✓ the services start and answer /healthz",
        "✓ the scenario's 8 requests get the expected answers",
        "✓ the services stop within 10 s of SIGTERM and exit 0",
    ] {
        assert!(
            stdout.contains(line),
            "{line:?} missing:\n{stdout}\n{stderr}"
        );
    }
    // Main prints the resource, but it is still empty: every line after the first is a ✗
    // with a hint.
    assert!(stdout.contains("Section 0 · resource\n"), "{stdout}");
    let section0: Vec<&str> = stdout
        .split("Section 0 · resource\n")
        .nth(1)
        .unwrap()
        .lines()
        .take_while(|l| !l.is_empty())
        .collect();
    assert_eq!(section0.len(), 8, "{stdout}");
    assert_eq!(
        section0[0],
        "  ✓ every service prints `OpenTelemetry resource: {…}` at start-up"
    );
    for line in &section0[1..] {
        assert!(
            line.starts_with("  ✗ ")
                && line.ends_with("Look at services/telemetry/src/resource.rs"),
            "{line}"
        );
    }
    assert!(
        section0[1].contains("frontend: no service.name; gateway: no service.name"),
        "{}",
        section0[1]
    );
    // Only the section asked for (and those before it).
    assert!(!stdout.contains("Section 1"), "{stdout}");
    assert!(stdout.contains("7 of 12 checks fail"), "{stdout}");
    // The services' own output is not mixed into the checklist without --verbose.
    assert!(!stderr.contains("listening on"), "{stderr}");

    let took = seconds_after_build(&stdout);
    eprintln!("check 0 took {took} s after the build");
    assert!(took < 15.0, "check 0 took {took} s after the build");
}

#[test]
fn every_section_is_checked_over_grpc_too_and_verbose_shows_what_arrived() {
    let tree = workspace();
    let (output, _) = check(&[
        "5",
        "--tree",
        tree.to_str().unwrap(),
        "--protocol",
        "grpc",
        "--verbose",
    ]);
    let stdout = text(&output.stdout);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stdout}\n{stderr}");
    for title in [
        "Section 0 · resource",
        "Section 1 · metrics",
        "Section 2 · logs",
        "Section 3 · traces",
        "Section 4 · distributed tracing",
        "Section 5 · HTTP metrics",
    ] {
        assert!(stdout.contains(title), "{title} missing:\n{stdout}");
    }
    assert!(stdout.contains("✓ the scenario's 8 requests get the expected answers"));
    // --verbose: the requests, the stub's view and the services' output.
    assert!(stdout.contains("What arrived"), "{stdout}");
    assert!(
        stdout.contains(
            "request GET gateway /distance?location=Berlin with baggage (ISS API answering 500) → 502"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("ISS API request 5: answered 500"),
        "{stdout}"
    );
    assert!(stderr.contains("iss-distance listening on"), "{stderr}");
    // Nothing is exported yet: nothing vacuously passes.
    assert!(
        stdout.contains("✗ telemetry arrives over OTLP grpc"),
        "{stdout}"
    );
    assert!(seconds_after_build(&stdout) < 20.0, "{stdout}");
}

/// `--json`: the same checklist, as one object of sections of verdicts, and nothing else on
/// stdout.
#[test]
fn json_is_the_checklist_as_sections_of_verdicts() {
    let tree = workspace();
    let (output, _) = check(&["0", "--tree", tree.to_str().unwrap(), "--json"]);
    let stdout = text(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    let report: serde_json::Value = serde_json::from_str(&stdout).expect("one JSON object");
    let titles: Vec<&str> = report["sections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["Setup", "Section 0 · resource"], "{report}");
    let setup = &report["sections"][0]["verdicts"][0];
    assert_eq!(
        *setup,
        serde_json::json!({"status": "ok", "what": "the services build", "detail": "", "hint": null})
    );
    let resource = report["sections"][1]["verdicts"].as_array().unwrap();
    assert_eq!(resource.len(), 8, "{report}");
    assert_eq!(resource[1]["status"], "fail");
    assert_eq!(
        resource[1]["what"],
        "service.name is each service's own name"
    );
    assert!(
        resource[1]["detail"]
            .as_str()
            .unwrap()
            .contains("frontend: no service.name"),
        "{report}"
    );
    assert_eq!(
        resource[1]["hint"],
        "Look at services/telemetry/src/resource.rs"
    );
    assert_eq!(report["failures"], 7, "{report}");
    assert_eq!(report["warnings"], 0, "{report}");
    let conclusion = report["conclusion"].as_str().unwrap();
    assert!(
        conclusion.starts_with("7 of 12 checks fail ("),
        "{conclusion}"
    );
}

#[test]
fn a_tree_that_does_not_build_is_a_failed_check() {
    let dir = std::env::temp_dir().join(format!("workshop-check-broken-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // A workspace without the services: cargo cannot build them.
    std::fs::write(dir.join("Cargo.toml"), "[workspace]\nmembers = []\n").unwrap();
    let (output, _) = check(&["1", "--tree", dir.to_str().unwrap()]);
    let _ = std::fs::remove_dir_all(&dir);
    let stdout = text(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("✗ the services build — "), "{stdout}");
    assert!(!stdout.contains("Section 1"), "{stdout}");
    assert!(text(&output.stderr).contains("the services do not build"));
}

#[test]
fn wrong_arguments_get_clap_errors() {
    for (args, expected) in [
        (
            vec!["9"],
            "there is no section 9: choose 0, 1, 2, 3, 4, 5 or 6",
        ),
        (vec!["one"], "invalid value 'one' for '<SECTION>'"),
        (
            vec!["1", "--protocol", "http/json"],
            "invalid value 'http/json' for '--protocol <PROTOCOL>'",
        ),
        (vec![], "the following required arguments were not provided"),
        (
            vec!["1", "--json", "--verbose"],
            "'--json' cannot be used with '--verbose'",
        ),
    ] {
        let (output, _) = check(&args);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let stderr = text(&output.stderr);
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
    let (missing, _) = check(&["0", "--tree", "/nonexistent/tree"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(text(&missing.stderr).contains("--tree /nonexistent/tree"));
}
