//! The system this runs on, and what differs there from the Linux the workshop is developed
//! and tested on: a pure function of the OS and architecture names, so that each system's
//! lines are tested here on any of them.

use crate::report::Verdict;

/// The lines of the "System" section for `os` and `arch` (`std::env::consts` names).
pub fn notes(os: &str, arch: &str) -> Vec<Verdict> {
    let name = match os {
        "linux" => "Linux",
        "macos" => "macOS",
        "windows" => "Windows",
        other => other,
    };
    let mut checks = vec![Verdict::ok("system", format!("{name} on {arch}"))];
    match os {
        "linux" => checks.push(Verdict::ok(
            "differences",
            "none: the workshop is developed and tested on Linux",
        )),
        "macos" => checks.extend([
            Verdict::info(
                "port 5000",
                "the AirPlay Receiver listens on 5000: turn it off (System Settings → General → \
                 AirDrop & Handoff) or run `cargo run -p workshop -- up --port 8000`",
            ),
            Verdict::info(
                "stopping",
                "Ctrl-C stops the services; if `up` itself is killed (kill -9), they keep \
                 running: `lsof -nP -iTCP:5000-5003 -sTCP:LISTEN` finds them",
            ),
        ]),
        "windows" => checks.extend([
            Verdict::info(
                "environment variables",
                "the chapters show both shells: `$env:OTEL_SERVICE_NAME = \"x\"` in PowerShell \
                 where bash has `OTEL_SERVICE_NAME=x` (PowerShell keeps it for the session: \
                 `Remove-Item Env:OTEL_SERVICE_NAME` to unset)",
            ),
            Verdict::info(
                "second terminal",
                "`inspect` and `load` run next to `up`: open another tab, or split the pane in \
                 Windows Terminal (Alt+Shift+D)",
            ),
            Verdict::info(
                "ports",
                "no socket handover on Windows: `up` checks that each port is free, releases \
                 it, and the service binds it a moment later (another program could take it \
                 in between; the service then says so)",
            ),
            Verdict::info(
                "stopping",
                "Ctrl-C reaches `up`, which passes it on to each service as Ctrl-Break; the \
                 services end with `up`, also when its window is closed (a job object)",
            ),
            Verdict::info(
                "WSL",
                "the Linux commands work as they are in WSL 2 (Ubuntu), with Docker Desktop's \
                 WSL integration for the platform",
            ),
        ]),
        _ => checks.push(Verdict::info(
            "differences",
            "not a system the workshop is checked on (Linux, macOS, Windows)",
        )),
    }
    checks
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Status;

    fn names(checks: &[Verdict]) -> Vec<&str> {
        checks.iter().map(|c| c.what.as_str()).collect()
    }

    #[test]
    fn linux_has_nothing_that_differs() {
        let checks = notes("linux", "x86_64");
        assert_eq!(checks[0].detail, "Linux on x86_64");
        assert_eq!(names(&checks), ["system", "differences"]);
        assert!(checks.iter().all(|c| c.status == Status::Ok));
    }

    #[test]
    fn macos_names_airplay_and_stopping() {
        let checks = notes("macos", "aarch64");
        assert_eq!(checks[0].detail, "macOS on aarch64");
        assert_eq!(names(&checks), ["system", "port 5000", "stopping"]);
        assert!(checks[1].detail.contains("AirPlay"));
    }

    #[test]
    fn windows_names_the_shell_the_ports_and_wsl() {
        let checks = notes("windows", "x86_64");
        assert_eq!(
            names(&checks),
            [
                "system",
                "environment variables",
                "second terminal",
                "ports",
                "stopping",
                "WSL"
            ]
        );
        assert!(checks[1].detail.contains("$env:OTEL_SERVICE_NAME"));
        // Differences are to know, never problems.
        assert!(checks[1..].iter().all(|c| c.status == Status::Info));
    }
}
