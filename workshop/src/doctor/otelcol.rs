//! Section 6's OpenTelemetry Collector program, which `check 6` and `up --collector` without
//! Docker run: `WORKSHOP_OTELCOL`, or the build of `build-platform -- otelcol`. Only section 6
//! needs it, so every line here is a warning at worst.

use std::time::Duration;

use super::command::{Ran, Trouble, command, first_line};
use crate::report::Verdict;

const NAME: &str = "OpenTelemetry Collector";

/// Where the program was looked for, and what it said to `--version`.
#[derive(Clone, Debug)]
pub enum Seen {
    /// Not built, and `WORKSHOP_OTELCOL` is not set: nothing to run.
    NotBuilt,
    Asked {
        program: String,
        timeout: Duration,
        version: Ran,
    },
}

pub async fn probe(timeout: Duration) -> Seen {
    let program = match std::env::var_os("WORKSHOP_OTELCOL") {
        Some(program) => std::path::PathBuf::from(program),
        None => match platform_live::programs::collector_binary(&crate::build::workspace_root()) {
            Ok(program) => program,
            Err(_) => return Seen::NotBuilt,
        },
    };
    let program = program.display().to_string();
    let version = command(&program, &["--version"], timeout).await;
    Seen::Asked {
        program,
        timeout,
        version,
    }
}

pub fn judge(seen: &Seen) -> Verdict {
    let fix = "`cargo run -p platform-live --bin build-platform -- otelcol` (needs Go 1.25 or \
               newer; about 3 minutes), or download the otelcol-contrib 0.159.0 release binary \
               and set WORKSHOP_OTELCOL to its path";
    let Seen::Asked {
        program,
        timeout,
        version,
    } = seen
    else {
        return Verdict::warn(NAME, "not built, and WORKSHOP_OTELCOL is not set", fix);
    };
    match version.printed(program, &format!("{program} --version"), *timeout) {
        Ok(printed) => Verdict::ok(NAME, format!("{} ({program})", first_line(printed.stdout))),
        Err(Trouble::Missing) => Verdict::warn(NAME, format!("{program} does not exist"), fix),
        Err(trouble) => Verdict::warn(NAME, trouble.detail(), fix),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Status;

    fn asked(version: Ran) -> Seen {
        Seen::Asked {
            program: "/opt/otelcol-contrib".into(),
            timeout: Duration::from_secs(5),
            version,
        }
    }

    #[test]
    fn a_collector_that_answers_is_named_with_its_path() {
        let check = judge(&asked(Ran::succeeded("otelcol-contrib version 0.159.0\n")));
        assert_eq!(check.status, Status::Ok);
        assert_eq!(
            check.detail,
            "otelcol-contrib version 0.159.0 (/opt/otelcol-contrib)"
        );
    }

    #[test]
    fn anything_else_is_a_warning_naming_the_build() {
        for (seen, detail) in [
            (Seen::NotBuilt, "not built, and WORKSHOP_OTELCOL is not set"),
            (asked(Ran::NotFound), "/opt/otelcol-contrib does not exist"),
            (
                asked(Ran::TimedOut),
                "`/opt/otelcol-contrib --version` did not answer within 5s",
            ),
        ] {
            let check = judge(&seen);
            assert_eq!(check.status, Status::Warn, "{check:?}");
            assert_eq!(check.detail, detail);
            assert!(check.hint.unwrap().contains("build-platform -- otelcol"));
        }
    }
}
