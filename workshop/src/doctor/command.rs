//! Probing by command: run a program with a timeout and keep what it printed, or why it did
//! not run; and reading versions and first lines out of what it printed.

use std::time::Duration;

use platform_live::process::{Process, Stream};

/// What a command printed, or why it did not run.
#[derive(Clone, Debug)]
pub enum Ran {
    Output {
        success: bool,
        stdout: String,
        stderr: String,
    },
    NotFound,
    TimedOut,
    Failed(String),
}

/// Runs `program args…` with no input for at most `timeout`; then kills it, with whatever
/// it started.
pub async fn command(program: &str, args: &[&str], timeout: Duration) -> Ran {
    let mut command = tokio::process::Command::new(program);
    command.args(args);
    let mut process = match Process::spawn(program, command, false) {
        Ok(process) => process,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ran::NotFound,
        Err(e) => return Ran::Failed(e.to_string()),
    };
    match tokio::time::timeout(timeout, process.wait()).await {
        Ok(Ok(status)) => Ran::Output {
            success: status.success(),
            stdout: process.output().text(Stream::Stdout),
            stderr: process.output().text(Stream::Stderr),
        },
        Ok(Err(e)) => Ran::Failed(e.to_string()),
        Err(_) => {
            process.kill().await;
            Ran::TimedOut
        }
    }
}

/// Why a run gave nothing to judge. Every command's line says these alike, so that each
/// check only says what is its own: what a good output means, and what a missing program
/// means.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Trouble {
    /// The program is not there (not on PATH, or no such file).
    Missing,
    /// It exited with a failure; the first line it printed (its errors first).
    Exited {
        command: String,
        said: String,
    },
    TimedOut {
        command: String,
        timeout: Duration,
    },
    /// It could not be started (other than missing), e.g. permission denied.
    CannotRun {
        program: String,
        error: String,
    },
}

impl Trouble {
    /// The detail of the line: "`docker compose version` failed: …", "`docker info` did not
    /// answer within 5s", "cannot run `docker`: …".
    pub fn detail(&self) -> String {
        match self {
            Trouble::Missing => "not installed".into(),
            Trouble::Exited { command, said } => format!("`{command}` failed: {said}"),
            Trouble::TimedOut { command, timeout } => {
                format!("`{command}` did not answer within {timeout:?}")
            }
            Trouble::CannotRun { program, error } => format!("cannot run `{program}`: {error}"),
        }
    }
}

/// What a successful run printed.
#[derive(Clone, Copy, Debug)]
pub struct Printed<'a> {
    pub stdout: &'a str,
    pub stderr: &'a str,
}

impl Printed<'_> {
    /// The first line it printed, its errors first.
    pub fn first_line(&self) -> String {
        first_line(&format!("{}{}", self.stderr, self.stdout))
    }
}

impl Ran {
    /// A run that exited 0 and printed `stdout`: the judgements' fixtures.
    #[cfg(test)]
    pub fn succeeded(stdout: &str) -> Ran {
        Ran::Output {
            success: true,
            stdout: stdout.into(),
            stderr: String::new(),
        }
    }

    /// What the run printed when it succeeded, or why it gave nothing to judge, naming it as
    /// `command` (e.g. "docker compose version") and its program as `program`.
    pub fn printed(
        &self,
        program: &str,
        command: &str,
        timeout: Duration,
    ) -> Result<Printed<'_>, Trouble> {
        match self {
            Ran::Output {
                success: true,
                stdout,
                stderr,
            } => Ok(Printed { stdout, stderr }),
            Ran::Output { stdout, stderr, .. } => Err(Trouble::Exited {
                command: command.to_owned(),
                said: Printed { stdout, stderr }.first_line(),
            }),
            Ran::NotFound => Err(Trouble::Missing),
            Ran::TimedOut => Err(Trouble::TimedOut {
                command: command.to_owned(),
                timeout,
            }),
            Ran::Failed(error) => Err(Trouble::CannotRun {
                program: program.to_owned(),
                error: error.clone(),
            }),
        }
    }
}

/// The first `major.minor[.patch]` in `text`, e.g. from "Docker Compose version v2.29.1".
pub fn version_in(text: &str) -> Option<(u64, u64, u64)> {
    text.split(|c: char| !(c.is_ascii_digit() || c == '.'))
        .filter(|word| word.contains('.'))
        .find_map(|word| {
            let mut parts = word.split('.').filter(|p| !p.is_empty());
            let major = parts.next()?.parse().ok()?;
            let minor = parts.next()?.parse().ok()?;
            let patch = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
            Some((major, minor, patch))
        })
}

pub fn version_string((major, minor, patch): (u64, u64, u64)) -> String {
    format!("{major}.{minor}.{patch}")
}

/// The first non-blank line of `text`, trimmed and at most 160 characters, or "no output".
pub fn first_line(text: &str) -> String {
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    let mut line: String = line.chars().take(160).collect();
    if line.is_empty() {
        line = "no output".into();
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        assert_eq!(
            version_in("rustc 1.95.0 (59807616e 2026-04-14)"),
            Some((1, 95, 0))
        );
        assert_eq!(
            version_in("Docker Compose version v2.29.1"),
            Some((2, 29, 1))
        );
        assert_eq!(
            version_in("Docker Compose version 2.21.0-desktop.1"),
            Some((2, 21, 0))
        );
        assert_eq!(
            version_in("Docker version 28.2.2, build e6534b4"),
            Some((28, 2, 2))
        );
        assert_eq!(version_in("1.88"), Some((1, 88, 0)));
        assert_eq!(version_in("no version here"), None);
    }

    #[test]
    fn every_way_a_run_goes_wrong_is_said_alike() {
        let t = Duration::from_secs(5);
        let said = |ran: Ran| {
            ran.printed("docker", "docker info", t)
                .unwrap_err()
                .detail()
        };
        let exited = Ran::Output {
            success: false,
            stdout: "partial\n".into(),
            stderr: "\n  Cannot connect to the Docker daemon  \nmore\n".into(),
        };
        assert_eq!(
            said(exited),
            "`docker info` failed: Cannot connect to the Docker daemon"
        );
        assert_eq!(
            said(Ran::TimedOut),
            "`docker info` did not answer within 5s"
        );
        assert_eq!(
            said(Ran::Failed("permission denied".into())),
            "cannot run `docker`: permission denied"
        );
        assert_eq!(
            Ran::NotFound
                .printed("docker", "docker info", t)
                .unwrap_err(),
            Trouble::Missing
        );
        let quiet = Ran::Output {
            success: false,
            stdout: String::new(),
            stderr: String::new(),
        };
        assert_eq!(said(quiet), "`docker info` failed: no output");
    }
}
