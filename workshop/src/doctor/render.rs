//! The doctor's report as lines for a person, or as one JSON object for scripts, written to
//! any `Write` (stdout, or a buffer in a test).

use std::io::{self, Write};

use serde_json::{Value, json};

use super::paths::{self, Verdict};
use super::report::{Section, Status};

/// Every section, then each path's verdict, then the path to take now.
pub fn text(out: &mut impl Write, sections: &[Section], verdicts: &[Verdict]) -> io::Result<()> {
    for section in sections {
        writeln!(out, "{}", section.title)?;
        for check in &section.checks {
            writeln!(
                out,
                "  {} {}: {}",
                check.status.mark(),
                check.name,
                check.detail
            )?;
            if let Some(fix) = check.fix.as_ref().filter(|_| check.status != Status::Ok) {
                writeln!(out, "      fix: {fix}")?;
            }
        }
        writeln!(out)?;
    }
    writeln!(out, "Paths")?;
    for verdict in verdicts {
        let path = verdict.path;
        if verdict.ready() {
            writeln!(
                out,
                "  ✓ ({}) {}: ready: {}",
                path.letter(),
                path.title(),
                path.next()
            )?;
        } else {
            writeln!(
                out,
                "  ✗ ({}) {}: to fix first (✗ above): {}",
                path.letter(),
                path.title(),
                verdict.missing.join(", ")
            )?;
        }
    }
    writeln!(out)?;
    match paths::recommended(verdicts) {
        Some(path) => writeln!(
            out,
            "You can take path ({}) now: {}.",
            path.letter(),
            path.next()
        ),
        None => writeln!(
            out,
            "No path is ready yet: fix the ✗ lines that both paths need (toolchain, ports)."
        ),
    }
}

/// The same as one JSON object: `sections` (each with its `checks`), `paths`, `take`
/// (the path to take now, or null), and counts of failures and warnings.
pub fn json(out: &mut impl Write, sections: &[Section], verdicts: &[Verdict]) -> io::Result<()> {
    let all = sections.iter().flat_map(|s| &s.checks);
    let failures = all.clone().filter(|c| c.status == Status::Fail).count();
    let warnings = all.filter(|c| c.status == Status::Warn).count();
    let sections: Vec<Value> = sections
        .iter()
        .map(|section| {
            json!({
                "section": section.title,
                "checks": section.checks.iter().map(|c| json!({
                    "status": c.status.word(),
                    "name": c.name,
                    "detail": c.detail,
                    "fix": c.fix,
                    "needed_by": c.need.word(),
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    let paths: Vec<Value> = verdicts
        .iter()
        .map(|v| {
            json!({
                "path": v.path.letter(),
                "title": v.path.title(),
                "ready": v.ready(),
                "missing": v.missing,
                "next": v.path.next(),
            })
        })
        .collect();
    let report = json!({
        "sections": sections,
        "paths": paths,
        "take": paths::recommended(verdicts).map(|p| p.letter()),
        "failures": failures,
        "warnings": warnings,
    });
    serde_json::to_writer_pretty(&mut *out, &report)?;
    writeln!(out)
}

#[cfg(test)]
mod tests {
    use super::super::paths::judge;
    use super::super::report::{Need, fail, ok};
    use super::*;

    fn no_docker() -> Vec<Section> {
        vec![
            Section {
                title: "Toolchain (both paths)",
                checks: vec![ok("Rust", "1.95.0")],
            },
            Section::needed_by(
                "Docker (path b)",
                Need::Docker,
                vec![fail(
                    "Docker",
                    "`docker` is not installed",
                    "install Docker",
                )],
            ),
        ]
    }

    #[test]
    fn text_says_which_path_to_take() {
        let sections = no_docker();
        let verdicts = judge(sections.iter().flat_map(|s| &s.checks));
        let mut out = Vec::new();
        text(&mut out, &sections, &verdicts).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.contains("  ✓ (a) without Docker: the services and a built-in receiver: ready: `cargo run -p workshop -- up`"),
            "{text}"
        );
        assert!(
            text.contains("  ✗ (b) the platform in Docker (collector, Prometheus, Loki, Tempo, Grafana): to fix first (✗ above): Docker\n"),
            "{text}"
        );
        assert!(
            text.ends_with("You can take path (a) now: `cargo run -p workshop -- up`, then `cargo run -p workshop -- inspect` in a second terminal.\n"),
            "{text}"
        );
        assert!(text.contains("      fix: install Docker\n"), "{text}");
    }

    #[test]
    fn json_has_the_paths_and_the_one_to_take() {
        let sections = no_docker();
        let verdicts = judge(sections.iter().flat_map(|s| &s.checks));
        let mut out = Vec::new();
        json(&mut out, &sections, &verdicts).unwrap();
        let report: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(report["take"], "a");
        assert_eq!(report["paths"][0]["ready"], true);
        assert_eq!(report["paths"][1]["missing"], json!(["Docker"]));
        assert_eq!(report["failures"], 1);
        assert_eq!(
            report["sections"][1]["checks"][0]["needed_by"],
            json!("docker")
        );
    }
}
