//! The toolchain both paths need: `rustc` at least the workspace's `rust-version`, and
//! `cargo nextest` (a warning only: the workshop runs without it, its tests do not).

use std::time::Duration;

use super::command::{Ran, Trouble, command, first_line, version_in, version_string};
use crate::report::Verdict;

/// The workspace's `rust-version`, which this binary was built with.
pub const RUST_VERSION: &str = env!("CARGO_PKG_RUST_VERSION");

/// What `rustc --version` and `cargo nextest --version` said.
#[derive(Clone, Debug)]
pub struct Seen {
    pub rustc: String,
    pub cargo: String,
    pub timeout: Duration,
    pub rustc_version: Ran,
    pub nextest_version: Ran,
}

pub async fn probe(rustc: &str, cargo: &str, timeout: Duration) -> Seen {
    let (rustc_version, nextest_version) = tokio::join!(
        command(rustc, &["--version"], timeout),
        command(cargo, &["nextest", "--version"], timeout),
    );
    Seen {
        rustc: rustc.to_owned(),
        cargo: cargo.to_owned(),
        timeout,
        rustc_version,
        nextest_version,
    }
}

/// Both lines. Both paths need them, but nextest's is a warning at worst, which blocks none.
pub fn judge(seen: &Seen) -> Vec<Verdict> {
    vec![rust(seen), nextest(seen)]
}

fn rust(seen: &Seen) -> Verdict {
    const NAME: &str = "Rust";
    let rustc = &seen.rustc;
    let needed = version_in(RUST_VERSION).unwrap_or((1, 88, 0));
    let update = format!(
        "`rustup update stable` (the workspace needs Rust {RUST_VERSION} or newer); without \
         rustup, install it from https://rustup.rs"
    );
    let command = format!("{rustc} --version");
    match seen.rustc_version.printed(rustc, &command, seen.timeout) {
        Ok(printed) => match version_in(printed.stdout) {
            Some(version) if version >= needed => Verdict::ok(
                NAME,
                format!(
                    "{} (needs {RUST_VERSION} or newer)",
                    first_line(printed.stdout).trim_start_matches("rustc ")
                ),
            ),
            Some(version) => Verdict::fail(
                NAME,
                format!(
                    "rustc {} is older than the workspace's rust-version {RUST_VERSION}",
                    version_string(version)
                ),
                &update,
            ),
            None => Verdict::fail(
                NAME,
                format!("cannot read a version in {:?}", first_line(printed.stdout)),
                &update,
            ),
        },
        Err(Trouble::Missing) => Verdict::fail(
            NAME,
            format!("`{rustc}` is not on PATH"),
            "Install Rust with rustup: https://rustup.rs (then open a new terminal)",
        ),
        Err(trouble) => Verdict::fail(NAME, trouble.detail(), &update),
    }
}

fn nextest(seen: &Seen) -> Verdict {
    const NAME: &str = "cargo-nextest";
    let install = "`cargo install cargo-nextest --locked` (the workshop's tests run with it)";
    let command = format!("{} nextest --version", seen.cargo);
    match seen
        .nextest_version
        .printed(&seen.cargo, &command, seen.timeout)
    {
        Ok(printed) => Verdict::ok(NAME, first_line(printed.stdout)),
        // Cargo says "no such command: `nextest`" and fails: that is not installed too.
        Err(Trouble::Missing | Trouble::Exited { .. }) => {
            Verdict::warn(NAME, "not installed", install)
        }
        Err(trouble) => Verdict::warn(NAME, trouble.detail(), install),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Status;

    fn good() -> Seen {
        Seen {
            rustc: "rustc".into(),
            cargo: "cargo".into(),
            timeout: Duration::from_secs(5),
            rustc_version: Ran::succeeded("rustc 1.95.0 (59807616e 2026-04-14)\n"),
            nextest_version: Ran::succeeded("cargo-nextest 0.9.100\n"),
        }
    }

    #[test]
    fn the_workspaces_rust_version_is_readable() {
        assert!(version_in(RUST_VERSION).is_some());
    }

    #[test]
    fn a_new_rust_and_nextest_are_ticks() {
        let checks = judge(&good());
        assert!(checks.iter().all(|c| c.status == Status::Ok), "{checks:#?}");
        assert!(
            checks[0].detail.starts_with("1.95.0 (59807616e"),
            "{checks:#?}"
        );
        assert_eq!(checks[1].status, Status::Ok);
    }

    #[test]
    fn an_old_or_unreadable_rust_is_a_failure_with_rustup() {
        let mut seen = good();
        seen.rustc_version = Ran::succeeded("rustc 1.80.1 (3f5fd8dd4 2024-08-06)");
        let rust = &judge(&seen)[0];
        assert_eq!(rust.status, Status::Fail);
        assert!(rust.detail.starts_with("rustc 1.80.1 is older"), "{rust:?}");
        assert!(
            rust.hint
                .as_deref()
                .unwrap()
                .contains("rustup update stable")
        );

        seen.rustc_version = Ran::succeeded("who knows");
        let rust = &judge(&seen)[0];
        assert_eq!(rust.detail, "cannot read a version in \"who knows\"");
    }

    #[test]
    fn a_missing_rustc_says_how_to_install_it() {
        let mut seen = good();
        seen.rustc_version = Ran::NotFound;
        let rust = &judge(&seen)[0];
        assert_eq!(rust.status, Status::Fail);
        assert_eq!(rust.detail, "`rustc` is not on PATH");
        assert!(rust.hint.as_deref().unwrap().contains("https://rustup.rs"));
    }

    #[test]
    fn nextest_missing_is_a_warning_either_way_it_shows() {
        let mut seen = good();
        for ran in [
            Ran::NotFound,
            Ran::Output {
                success: false,
                stdout: String::new(),
                stderr: "error: no such command: `nextest`".into(),
            },
        ] {
            seen.nextest_version = ran;
            let nextest = &judge(&seen)[1];
            assert_eq!(nextest.status, Status::Warn);
            assert_eq!(nextest.detail, "not installed");
        }
        seen.nextest_version = Ran::TimedOut;
        assert_eq!(
            judge(&seen)[1].detail,
            "`cargo nextest --version` did not answer within 5s"
        );
    }
}
