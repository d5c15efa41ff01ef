//! Docker for path (b): the client, the Compose plugin (2.22+ for the all-in-compose
//! `watch`), and the daemon. Each is one command; how a command goes wrong is said alike for
//! all three (see [`Ran::printed`]), so each line only says what its own output means.

use std::time::Duration;

use super::command::{Printed, Ran, Trouble, command, first_line, version_in, version_string};
use crate::report::Verdict;

const CLIENT: &str = "Docker";
const COMPOSE: &str = "Docker Compose";
const DAEMON: &str = "Docker daemon";

const INSTALL: &str = "Install Docker Desktop (macOS, Windows) or Docker Engine with the compose \
                       plugin (Linux): https://docs.docker.com/get-started/get-docker/ \
                       (`workshop up` runs the services without Docker, but the platform needs \
                       it)";

/// What `docker --version`, `docker compose version` and `docker info` said.
#[derive(Clone, Debug)]
pub struct Seen {
    pub docker: String,
    pub timeout: Duration,
    pub version: Ran,
    pub compose: Ran,
    pub info: Ran,
}

impl Seen {
    /// Whether there is a docker client at all: without one, the platform cannot run here.
    pub fn installed(&self) -> bool {
        !matches!(self.version, Ran::NotFound)
    }

    /// What `ran` printed, or its trouble, naming it `docker {args}`.
    fn printed<'a>(&self, ran: &'a Ran, args: &str) -> Result<Printed<'a>, Trouble> {
        let docker = &self.docker;
        ran.printed(docker, &format!("{docker} {args}"), self.timeout)
    }
}

pub async fn probe(docker: &str, timeout: Duration) -> Seen {
    let (version, compose, info) = tokio::join!(
        command(docker, &["--version"], timeout),
        command(docker, &["compose", "version"], timeout),
        command(docker, &["info", "--format", "{{.ServerVersion}}"], timeout),
    );
    Seen {
        docker: docker.to_owned(),
        timeout,
        version,
        compose,
        info,
    }
}

pub fn judge(seen: &Seen) -> Vec<Verdict> {
    if !seen.installed() {
        let absent = format!("`{}` is not installed (not on PATH)", seen.docker);
        return vec![
            Verdict::fail(CLIENT, absent, INSTALL),
            needs_docker(COMPOSE),
            needs_docker(DAEMON),
        ];
    }
    vec![client(seen), compose(seen), daemon(seen)]
}

/// A line that cannot be checked without the client.
fn needs_docker(name: &str) -> Verdict {
    Verdict::fail(name, "needs Docker", "Install Docker first (above)")
}

fn client(seen: &Seen) -> Verdict {
    match seen.printed(&seen.version, "--version") {
        Ok(printed) => Verdict::ok(CLIENT, first_line(printed.stdout)),
        Err(trouble) => Verdict::fail(CLIENT, trouble.detail(), INSTALL),
    }
}

fn compose(seen: &Seen) -> Verdict {
    let plugin = "Install the Compose plugin: it comes with Docker Desktop; on Linux \
                  `sudo apt-get install docker-compose-plugin` (Docker's apt repository) or \
                  see https://docs.docker.com/compose/install/linux/";
    let printed = match seen.printed(&seen.compose, "compose version") {
        Ok(printed) => printed,
        Err(Trouble::Missing) => return needs_docker(COMPOSE),
        Err(trouble) => return Verdict::fail(COMPOSE, trouble.detail(), plugin),
    };
    match version_in(printed.stdout) {
        Some(version) if version >= (2, 22, 0) => Verdict::ok(
            COMPOSE,
            format!("{} (watch needs 2.22 or newer)", version_string(version)),
        ),
        // Only the all-in-compose alternative watches; the platform itself runs on any
        // Compose v2.
        Some(version) => Verdict::warn(
            COMPOSE,
            format!(
                "{} is too old for `docker compose up --watch` (needs 2.22 or newer), which \
                 only the all-in-compose alternative uses",
                version_string(version)
            ),
            "Update Docker Desktop, or the docker-compose-plugin package on Linux",
        ),
        None => Verdict::fail(
            COMPOSE,
            format!("cannot read a version in {:?}", first_line(printed.stdout)),
            plugin,
        ),
    }
}

fn daemon(seen: &Seen) -> Verdict {
    let start = "Start Docker Desktop (macOS, Windows), or the daemon on Linux: \
                 `sudo systemctl start docker` (and `sudo usermod -aG docker $USER`, then log \
                 in again, to use it without sudo)";
    // Shown without its `--format`: that is how people type it.
    match seen.printed(&seen.info, "info") {
        Ok(printed) if !printed.stdout.trim().is_empty() => Verdict::ok(
            DAEMON,
            format!("reachable (Docker Engine {})", printed.stdout.trim()),
        ),
        // The client answers for a daemon it cannot reach: with an error, or with nothing.
        Ok(printed) => Verdict::fail(
            DAEMON,
            format!("not reachable: {}", printed.first_line()),
            start,
        ),
        Err(Trouble::Exited { said, .. }) => {
            Verdict::fail(DAEMON, format!("not reachable: {said}"), start)
        }
        Err(Trouble::Missing) => needs_docker(DAEMON),
        Err(trouble @ Trouble::TimedOut { .. }) => Verdict::fail(
            DAEMON,
            trouble.detail(),
            "The daemon seems stuck: restart Docker Desktop, or `sudo systemctl restart docker`",
        ),
        Err(trouble) => Verdict::fail(DAEMON, trouble.detail(), start),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Status;

    fn good() -> Seen {
        Seen {
            docker: "docker".into(),
            timeout: Duration::from_secs(1),
            version: Ran::succeeded("Docker version 28.2.2, build e6534b4\n"),
            compose: Ran::succeeded("Docker Compose version v2.29.1\n"),
            info: Ran::succeeded("28.2.2\n"),
        }
    }

    fn line(seen: &Seen, name: &str) -> Verdict {
        judge(seen).into_iter().find(|c| c.what == name).unwrap()
    }

    #[test]
    fn a_good_docker_is_three_ticks() {
        let checks = judge(&good());
        let details: Vec<_> = checks
            .iter()
            .map(|c| (c.status, c.detail.as_str()))
            .collect();
        assert_eq!(
            details,
            [
                (Status::Ok, "Docker version 28.2.2, build e6534b4"),
                (Status::Ok, "2.29.1 (watch needs 2.22 or newer)"),
                (Status::Ok, "reachable (Docker Engine 28.2.2)"),
            ]
        );
    }

    #[test]
    fn without_a_client_the_other_two_need_it() {
        let mut seen = good();
        seen.version = Ran::NotFound;
        assert!(!seen.installed());
        let checks = judge(&seen);
        assert_eq!(checks[0].detail, "`docker` is not installed (not on PATH)");
        for check in &checks[1..] {
            assert_eq!(check.detail, "needs Docker");
        }
        assert!(checks.iter().all(|c| c.status == Status::Fail));
    }

    #[test]
    fn an_old_compose_is_only_a_warning() {
        let mut seen = good();
        seen.compose = Ran::succeeded("Docker Compose version v2.21.0");
        let compose = line(&seen, COMPOSE);
        assert_eq!(compose.status, Status::Warn);
        assert!(
            compose.detail.starts_with("2.21.0 is too old"),
            "{compose:?}"
        );
    }

    #[test]
    fn a_failing_compose_names_the_plugin() {
        let mut seen = good();
        seen.compose = Ran::Output {
            success: false,
            stdout: String::new(),
            stderr: "docker: 'compose' is not a docker command.\n".into(),
        };
        let compose = line(&seen, COMPOSE);
        assert_eq!(compose.status, Status::Fail);
        assert_eq!(
            compose.detail,
            "`docker compose version` failed: docker: 'compose' is not a docker command."
        );
        assert!(compose.hint.unwrap().contains("docker-compose-plugin"));
    }

    #[test]
    fn an_unreachable_daemon_says_what_the_client_said() {
        let mut seen = good();
        seen.info = Ran::Output {
            success: false,
            stdout: "\n".into(),
            stderr: "Cannot connect to the Docker daemon at unix:///var/run/docker.sock\n".into(),
        };
        let daemon = line(&seen, DAEMON);
        assert_eq!(
            daemon.detail,
            "not reachable: Cannot connect to the Docker daemon at unix:///var/run/docker.sock"
        );
        assert!(daemon.hint.unwrap().contains("systemctl start docker"));
        // Succeeding with no server version is no daemon either.
        seen.info = Ran::succeeded("\n");
        assert_eq!(line(&seen, DAEMON).detail, "not reachable: no output");
    }

    #[test]
    fn a_hanging_daemon_is_told_to_restart() {
        let mut seen = good();
        seen.info = Ran::TimedOut;
        let daemon = line(&seen, DAEMON);
        assert_eq!(daemon.detail, "`docker info` did not answer within 1s");
        assert!(daemon.hint.unwrap().contains("restart"));
    }
}
