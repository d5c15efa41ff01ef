//! A bad setting stops iss-distance at start-up with one line that names it, and exit code
//! 2, rather than surfacing later on the first request.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Runs the binary with `env` and returns its exit code and stderr; fails if it is still
/// running after 10 s (it accepted the settings and started serving).
fn start_with(env: &[(&str, &str)]) -> (Option<i32>, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_iss-distance"))
        .env_clear()
        // A port nobody else uses in these tests, should the settings be accepted.
        .env("ISS_DISTANCE_PORT", "5993")
        .env("OTEL_SDK_DISABLED", "true")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("iss-distance started with {env:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let output = child.wait_with_output().unwrap();
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn bad_courtesy_settings_are_one_line_errors() {
    let cases: [(&[(&str, &str)], &str); 4] = [
        (
            &[("ISS_API_MAX_AGE_MS", "1s")],
            r#"iss-distance: invalid ISS_API_MAX_AGE_MS="1s": expected a whole number of milliseconds from 0 (off) to 3600000"#,
        ),
        (
            &[("ISS_API_BACKOFF_MS", "-1")],
            r#"iss-distance: invalid ISS_API_BACKOFF_MS="-1": expected a whole number of milliseconds from 0 (off) to 3600000"#,
        ),
        (
            &[("ISS_API_BACKOFF_MAX_MS", "86400000")],
            r#"iss-distance: invalid ISS_API_BACKOFF_MAX_MS="86400000": expected a whole number of milliseconds from 0 (off) to 3600000"#,
        ),
        (
            &[
                ("ISS_API_BACKOFF_MS", "5000"),
                ("ISS_API_BACKOFF_MAX_MS", "1000"),
            ],
            r#"iss-distance: invalid ISS_API_BACKOFF_MAX_MS="1000": must be at least ISS_API_BACKOFF_MS (5000)"#,
        ),
    ];
    for (env, expected) in cases {
        let (code, stderr) = start_with(env);
        assert_eq!(code, Some(2), "{env:?}: {stderr}");
        assert_eq!(stderr.trim_end(), expected, "{env:?}");
    }
}
