//! The two ways to do the workshop, and whether this machine is ready for each: a pure
//! judgement over the checks, so that a laptop without Docker is told it is ready (path a)
//! instead of being shown a wall of red platform lines.
//!
//! - **(a) without Docker**: `workshop up` runs the services with its built-in OTLP
//!   receiver, and `workshop inspect` shows what arrives. Needs the toolchain and free
//!   ports (or ports held by what should be there).
//! - **(b) the platform in Docker**: `docker compose up -d` runs the collector, Prometheus,
//!   Loki, Tempo and Grafana, and `workshop up` runs the services, exporting to that
//!   collector. Needs everything (a) needs, plus Docker, Compose and a ready platform.
//!
//! (Everything in compose, `docker-compose-services.yml`, remains an alternative to (b).)

use crate::report::{Report, Section, Status, Verdict};

/// Which path needs a section's verdicts to pass.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Need {
    /// Both paths: the toolchain, the services' ports, the OTLP ports.
    Both,
    /// Only the platform in Docker: Docker, Compose, the platform and its ports.
    Docker,
    /// Neither: good to know (the system's differences, section 6's collector, data).
    Neither,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Path {
    WithoutDocker,
    Docker,
}

impl Path {
    /// The platform last: it is the one to take when both are ready (it shows more).
    pub const ALL: [Path; 2] = [Path::WithoutDocker, Path::Docker];

    /// Its letter, what it is, and what to run once it is ready.
    fn describe(self) -> [&'static str; 3] {
        match self {
            Path::WithoutDocker => [
                "a",
                "without Docker: the services and a built-in receiver",
                "`cargo run -p workshop -- up`, then `cargo run -p workshop -- inspect` in a \
                 second terminal",
            ],
            Path::Docker => [
                "b",
                "the platform in Docker (collector, Prometheus, Loki, Tempo, Grafana)",
                "`docker compose up -d` (if not up yet), then `cargo run -p workshop -- up`; \
                 Grafana is on http://localhost:3000",
            ],
        }
    }

    fn needs(self, need: Need) -> bool {
        match need {
            Need::Both => true,
            Need::Docker => self == Path::Docker,
            Need::Neither => false,
        }
    }
}

/// What stands in `path`'s way: the failed verdicts of the sections it needs, in the order
/// shown. A warning never does.
pub fn missing(path: Path, sections: &[(Need, Section)]) -> Vec<String> {
    sections
        .iter()
        .filter(|(need, _)| path.needs(*need))
        .flat_map(|(_, section)| &section.verdicts)
        .filter(|verdict| verdict.status == Status::Fail)
        .map(|verdict| verdict.what.clone())
        .collect()
}

/// The report: the sections, then each path's verdict, then the path to take now, which it
/// also returns (none when no path is ready).
pub fn report(sections: Vec<(Need, Section)>) -> (Report, Option<Path>) {
    let mut take = None;
    let verdicts = Path::ALL.map(|path| {
        let [letter, title, next] = path.describe();
        let what = format!("({letter}) {title}");
        let missing = missing(path, &sections);
        if missing.is_empty() {
            take = Some(path);
            return Verdict::ok(what, format!("ready: {next}"));
        }
        let detail = format!("to fix first (✗ above): {}", missing.join(", "));
        Verdict::of(Status::Fail, what, detail, None)
    });
    let conclusion = match take.map(Path::describe) {
        Some([letter, _, next]) => format!("You can take path ({letter}) now: {next}."),
        None => {
            "No path is ready yet: fix the ✗ lines that both paths need (toolchain, ports).".into()
        }
    };
    let mut sections: Vec<Section> = sections.into_iter().map(|(_, section)| section).collect();
    sections.push(Section::new("Paths", verdicts.into()));
    (
        Report {
            sections,
            conclusion,
        },
        take,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn section(need: Need, verdicts: Vec<Verdict>) -> (Need, Section) {
        (need, Section::new("", verdicts))
    }

    fn text(report: &Report) -> String {
        report.to_string()
    }

    #[test]
    fn without_docker_only_the_platform_path_is_blocked() {
        let sections = vec![
            section(
                Need::Both,
                vec![
                    Verdict::ok("Rust", "1.95.0"),
                    Verdict::warn("cargo-nextest", "not installed", "Install it"),
                    Verdict::ok("port 5000 (frontend)", "free"),
                ],
            ),
            section(
                Need::Docker,
                vec![
                    Verdict::fail("Docker", "not installed", "Install it"),
                    Verdict::fail("Docker daemon", "needs Docker", "Install it"),
                ],
            ),
            section(
                Need::Neither,
                vec![Verdict::fail("metrics", "cannot tell", "Fix it")],
            ),
        ];
        assert!(missing(Path::WithoutDocker, &sections).is_empty());
        assert_eq!(
            missing(Path::Docker, &sections),
            ["Docker", "Docker daemon"]
        );
        let (report, take) = report(sections);
        assert_eq!(take, Some(Path::WithoutDocker));
        let text = text(&report);
        assert!(
            text.contains("\nPaths\n  ✓ (a) without Docker: the services and a built-in receiver — ready: `cargo run -p workshop -- up`, then `cargo run -p workshop -- inspect` in a second terminal\n"),
            "{text}"
        );
        assert!(
            text.contains("  ✗ (b) the platform in Docker (collector, Prometheus, Loki, Tempo, Grafana) — to fix first (✗ above): Docker, Docker daemon\n"),
            "{text}"
        );
        assert!(
            text.ends_with("\nYou can take path (a) now: `cargo run -p workshop -- up`, then `cargo run -p workshop -- inspect` in a second terminal.\n"),
            "{text}"
        );
    }

    #[test]
    fn a_ready_platform_is_taken() {
        let sections = vec![
            section(Need::Both, vec![Verdict::ok("Rust", "1.95.0")]),
            section(
                Need::Docker,
                vec![Verdict::ok("collector", "accepts OTLP/HTTP")],
            ),
        ];
        let (report, take) = report(sections);
        assert_eq!(take, Some(Path::Docker));
        assert!(report.passed());
        assert!(
            report
                .conclusion
                .starts_with("You can take path (b) now: `docker compose up -d`")
        );
    }

    #[test]
    fn what_both_need_blocks_both() {
        let sections = vec![
            section(
                Need::Both,
                vec![
                    Verdict::fail("Rust", "too old", "Update it"),
                    Verdict::fail("port 5000 (frontend)", "taken", "Move"),
                ],
            ),
            section(Need::Docker, vec![Verdict::ok("Docker", "28.2.2")]),
        ];
        for path in Path::ALL {
            assert_eq!(missing(path, &sections), ["Rust", "port 5000 (frontend)"]);
        }
        let (report, take) = report(sections);
        assert_eq!(take, None);
        assert!(report.conclusion.starts_with("No path is ready yet"));
    }
}
