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

use super::report::{Check, Need, Status};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Path {
    WithoutDocker,
    Docker,
}

impl Path {
    pub const ALL: [Path; 2] = [Path::WithoutDocker, Path::Docker];

    pub fn letter(self) -> &'static str {
        match self {
            Path::WithoutDocker => "a",
            Path::Docker => "b",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Path::WithoutDocker => "without Docker: the services and a built-in receiver",
            Path::Docker => "the platform in Docker (collector, Prometheus, Loki, Tempo, Grafana)",
        }
    }

    /// What to run once the path is ready.
    pub fn next(self) -> &'static str {
        match self {
            Path::WithoutDocker => {
                "`cargo run -p workshop -- up`, then `cargo run -p workshop -- inspect` in a \
                 second terminal"
            }
            Path::Docker => {
                "`docker compose up -d` (if not up yet), then `cargo run -p workshop -- up`; \
                 Grafana is on http://localhost:3000"
            }
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

/// Whether one path is ready, and if not, which checks stand in its way.
#[derive(Clone, Debug)]
pub struct Verdict {
    pub path: Path,
    /// The names of the failed checks this path needs, in the order shown.
    pub missing: Vec<String>,
}

impl Verdict {
    pub fn ready(&self) -> bool {
        self.missing.is_empty()
    }
}

/// Judges each path by the checks it needs: a failure blocks it, a warning never does.
pub fn judge<'a>(checks: impl IntoIterator<Item = &'a Check> + Clone) -> Vec<Verdict> {
    Path::ALL
        .into_iter()
        .map(|path| Verdict {
            path,
            missing: checks
                .clone()
                .into_iter()
                .filter(|c| c.status == Status::Fail && path.needs(c.need))
                .map(|c| c.name.clone())
                .collect(),
        })
        .collect()
}

/// The path to take now: the platform when it is ready (it shows more), else the one without
/// Docker, else none.
pub fn recommended(verdicts: &[Verdict]) -> Option<Path> {
    [Path::Docker, Path::WithoutDocker]
        .into_iter()
        .find(|path| verdicts.iter().any(|v| v.path == *path && v.ready()))
}

#[cfg(test)]
mod tests {
    use super::super::report::{fail, ok, warn};
    use super::*;

    fn verdict(verdicts: &[Verdict], path: Path) -> &Verdict {
        verdicts.iter().find(|v| v.path == path).unwrap()
    }

    #[test]
    fn without_docker_only_the_platform_path_is_blocked() {
        let checks = [
            ok("Rust", "1.95.0"),
            warn("cargo-nextest", "not installed", "install it").needed_by(Need::Neither),
            fail("Docker", "not installed", "install it").needed_by(Need::Docker),
            fail("Docker daemon", "needs Docker", "install it").needed_by(Need::Docker),
            ok("port 5000 (frontend)", "free"),
            fail("metrics", "cannot tell", "fix Prometheus").needed_by(Need::Neither),
        ];
        let verdicts = judge(&checks);
        assert!(verdict(&verdicts, Path::WithoutDocker).ready());
        assert_eq!(
            verdict(&verdicts, Path::Docker).missing,
            ["Docker", "Docker daemon"]
        );
        assert_eq!(recommended(&verdicts), Some(Path::WithoutDocker));
    }

    #[test]
    fn a_ready_platform_is_recommended() {
        let checks = [
            ok("Rust", "1.95.0"),
            ok("Docker", "28.2.2").needed_by(Need::Docker),
            ok("collector", "accepts OTLP/HTTP").needed_by(Need::Docker),
        ];
        let verdicts = judge(&checks);
        assert!(verdicts.iter().all(Verdict::ready));
        assert_eq!(recommended(&verdicts), Some(Path::Docker));
    }

    #[test]
    fn what_both_need_blocks_both() {
        let checks = [
            fail("Rust", "too old", "rustup update"),
            fail("port 5000 (frontend)", "taken", "up --port 8000"),
            ok("Docker", "28.2.2").needed_by(Need::Docker),
        ];
        let verdicts = judge(&checks);
        for path in Path::ALL {
            assert_eq!(
                verdict(&verdicts, path).missing,
                ["Rust", "port 5000 (frontend)"]
            );
        }
        assert_eq!(recommended(&verdicts), None);
    }
}
