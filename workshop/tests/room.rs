//! `workshop room`: the instructor's room. `init` run as the instructor runs it, and the
//! files it makes read back the way the collector and the attendees read them.
//!
//! The room is behind the workshop's `room` feature: `cargo nextest run -p workshop
//! --features room room::` runs these tests (.ci/run does); without the feature, the
//! command says how to get it, and that is what is tested then.

use std::path::Path;
use std::process::{Command, Output};

use crate::common::text;

/// Runs `workshop room <args>`.
fn room(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_workshop"))
        .arg("room")
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("workshop runs")
}

/// A directory for one test's room, removed first and when dropped.
#[cfg(feature = "room")]
struct Scratch(std::path::PathBuf);

#[cfg(feature = "room")]
impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("iss-room-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        Scratch(dir)
    }

    fn room(&self) -> std::path::PathBuf {
        self.0.join("room")
    }

    fn arg(&self) -> String {
        self.room().display().to_string()
    }
}

#[cfg(feature = "room")]
impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[cfg(not(feature = "room"))]
#[test]
fn without_the_feature_room_says_how_to_get_it() {
    let output = room(&["init", "r", "--attendees", "alice", "--host", "10.0.0.2"]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains(
            "cargo run -p workshop --features room -- room init r --attendees alice --host 10.0.0.2"
        ),
        "{stderr}"
    );
    assert!(!Path::new("r").exists());
}

#[cfg(feature = "room")]
mod init {
    use super::*;
    use std::collections::BTreeMap;
    use std::path::PathBuf;

    /// A join file, as an attendee's tools will read it.
    #[derive(serde::Deserialize, Debug)]
    struct Join {
        attendee: String,
        token: String,
        grpc: Vec<String>,
        http: Vec<String>,
        otel_exporter_otlp_headers: String,
        ca_certificate: String,
    }

    fn init(scratch: &Scratch, extra: &[&str]) -> Output {
        let dir = scratch.arg();
        let mut args = vec!["init", dir.as_str()];
        args.extend(extra);
        room(&args)
    }

    fn read(path: &Path) -> String {
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    fn joins(dir: &Path) -> BTreeMap<String, Join> {
        std::fs::read_dir(dir.join("join"))
            .unwrap()
            .map(|entry| {
                let path = entry.unwrap().path();
                let join: Join = toml::from_str(&read(&path)).unwrap();
                (
                    path.file_stem().unwrap().to_string_lossy().into_owned(),
                    join,
                )
            })
            .collect()
    }

    #[test]
    fn init_makes_a_token_and_a_join_file_per_attendee_and_certificates_for_the_hosts() {
        let scratch = Scratch::new("init");
        let output = init(
            &scratch,
            &[
                "--attendees",
                "alice,bob,carol-3",
                "--host",
                "192.168.1.20",
                "--host",
                "room.local",
            ],
        );
        assert!(output.status.success(), "{}", text(&output.stderr));
        let dir = scratch.room();
        let summary = text(&output.stdout);
        assert!(
            summary.contains("3 attendees (alice, bob, carol-3)"),
            "{summary}"
        );
        assert!(summary.contains("room serve"), "{summary}");

        // The token file: one `name.secret` a line, the secret 128 bits in hex.
        let tokens: Vec<String> = read(&dir.join("tokens"))
            .lines()
            .map(String::from)
            .collect();
        assert_eq!(tokens.len(), 3);
        for (token, name) in tokens.iter().zip(["alice", "bob", "carol-3"]) {
            let (before, secret) = token.split_once('.').unwrap();
            assert_eq!(before, name);
            assert_eq!(secret.len(), 32, "{token}");
            assert!(secret.chars().all(|c| c.is_ascii_hexdigit()), "{token}");
        }

        // Each join file: that attendee's token, every host's endpoints, the room's CA.
        let ca = read(&dir.join("tls/ca.crt"));
        let joins = joins(&dir);
        assert_eq!(
            joins.keys().collect::<Vec<_>>(),
            ["alice", "bob", "carol-3"]
        );
        for (name, join) in &joins {
            assert_eq!(&join.attendee, name);
            assert!(
                tokens.contains(&join.token),
                "{name}'s token is in the file"
            );
            assert_eq!(
                join.grpc,
                ["https://192.168.1.20:4317", "https://room.local:4317"]
            );
            assert_eq!(
                join.http,
                ["https://192.168.1.20:4318", "https://room.local:4318"]
            );
            assert_eq!(
                join.otel_exporter_otlp_headers,
                format!("Authorization=Bearer%20{}", join.token)
            );
            assert_eq!(join.ca_certificate, ca);
        }
        assert_ne!(joins["alice"].token, joins["bob"].token);

        let settings: toml::Table = toml::from_str(&read(&dir.join("room.toml"))).unwrap();
        assert_eq!(settings["attendees"].as_array().unwrap().len(), 3);
        assert_eq!(settings["grpc_port"].as_integer(), Some(4317));

        check_certificates(&dir, &["IP Address:192.168.1.20", "DNS:room.local"]);
        #[cfg(unix)]
        check_modes(&dir);
    }

    /// What openssl makes of the certificates: the server's is signed by the room's CA,
    /// names the hosts and serves TLS; the CA may sign servers only, and its key is
    /// nowhere.
    fn check_certificates(dir: &Path, names: &[&str]) {
        let openssl = |args: &[&str]| {
            let output = Command::new("openssl")
                .args(args)
                .current_dir(dir)
                .output()
                .expect("openssl runs (Debian's openssl package)");
            assert!(
                output.status.success(),
                "openssl {args:?}: {}",
                text(&output.stderr)
            );
            text(&output.stdout)
        };
        let verified = openssl(&[
            "verify",
            "-purpose",
            "sslserver",
            "-CAfile",
            "tls/ca.crt",
            "tls/server.crt",
        ]);
        assert_eq!(verified.trim(), "tls/server.crt: OK");
        let server = openssl(&["x509", "-in", "tls/server.crt", "-noout", "-text"]);
        for name in names {
            assert!(server.contains(name), "{name} in:\n{server}");
        }
        assert!(server.contains("TLS Web Server Authentication"), "{server}");
        let ca = openssl(&["x509", "-in", "tls/ca.crt", "-noout", "-text"]);
        assert!(ca.contains("CA:TRUE, pathlen:0"), "{ca}");
        // The server's key matches its certificate.
        let key = openssl(&["pkey", "-in", "tls/server.key", "-pubout"]);
        let public = openssl(&["x509", "-in", "tls/server.crt", "-noout", "-pubkey"]);
        assert_eq!(key, public);
        let keys: Vec<String> = walk(dir)
            .into_iter()
            .filter(|path| read(path).contains("PRIVATE KEY"))
            .map(|path| path.strip_prefix(dir).unwrap().display().to_string())
            .collect();
        assert_eq!(keys, ["tls/server.key"], "the only private key kept");
    }

    fn walk(dir: &Path) -> Vec<PathBuf> {
        let mut files = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                files.extend(walk(&path));
            } else {
                files.push(path);
            }
        }
        files.sort();
        files
    }

    /// Whatever holds a token or a key is its owner's alone.
    #[cfg(unix)]
    fn check_modes(dir: &Path) {
        use std::os::unix::fs::PermissionsExt;
        let mode = |path: &Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
        for secret in [
            "tokens",
            "tls/server.key",
            "join/alice.toml",
            "join/bob.toml",
        ] {
            assert_eq!(mode(&dir.join(secret)), 0o600, "{secret}");
        }
        for private in ["", "join", "tls"] {
            assert_eq!(mode(&dir.join(private)), 0o700, "{private}/");
        }
    }

    #[test]
    fn an_attendees_file_has_one_name_a_line() {
        let scratch = Scratch::new("file");
        std::fs::create_dir_all(&scratch.0).unwrap();
        let list = scratch.0.join("attendees.txt");
        std::fs::write(&list, "# Tuesday\nalice\n\nbob\n").unwrap();
        let output = init(
            &scratch,
            &[
                "--attendees-file",
                list.to_str().unwrap(),
                "--host",
                "10.0.0.2",
            ],
        );
        assert!(output.status.success(), "{}", text(&output.stderr));
        assert_eq!(
            joins(&scratch.room()).keys().collect::<Vec<_>>(),
            ["alice", "bob"]
        );
    }

    #[test]
    fn bad_names_and_hosts_are_refused_and_leave_nothing_behind() {
        let scratch = Scratch::new("bad");
        for (args, reason) in [
            (
                &["--attendees", "alice,Bob", "--host", "10.0.0.2"][..],
                "attendee name `Bob`: `B` is not allowed",
            ),
            (
                &["--attendees", "alice,bob,alice", "--host", "10.0.0.2"],
                "`alice` is listed twice",
            ),
            (
                &["--attendees", "bob.smith", "--host", "10.0.0.2"],
                "`.` is not allowed",
            ),
            (
                &["--attendees", "unknown", "--host", "10.0.0.2"],
                "`unknown`",
            ),
        ] {
            let output = init(&scratch, args);
            assert_eq!(output.status.code(), Some(1), "{args:?}");
            let stderr = text(&output.stderr);
            assert!(stderr.contains(reason), "{args:?}: {stderr}");
            assert!(!scratch.room().exists(), "{args:?} left {}", scratch.arg());
        }
        for (args, reason) in [
            (
                &["--attendees", "alice", "--host", "0.0.0.0"][..],
                "attendees cannot connect to 0.0.0.0",
            ),
            (
                &["--attendees", "alice", "--host", "my_laptop"],
                "neither an IP address nor a DNS name",
            ),
            (&["--attendees", "alice"], "--host"),
            (&["--host", "10.0.0.2"], "--attendees"),
        ] {
            let output = init(&scratch, args);
            assert_eq!(output.status.code(), Some(2), "{args:?}");
            let stderr = text(&output.stderr);
            assert!(stderr.contains(reason), "{args:?}: {stderr}");
            assert!(!scratch.room().exists());
        }
    }

    #[test]
    fn an_existing_room_is_replaced_only_when_asked() {
        let scratch = Scratch::new("again");
        let first = ["--attendees", "alice,bob", "--host", "10.0.0.2"];
        assert!(init(&scratch, &first).status.success());
        let tokens = read(&scratch.room().join("tokens"));

        let again = init(&scratch, &["--attendees", "carol", "--host", "10.0.0.2"]);
        assert_eq!(again.status.code(), Some(1));
        let stderr = text(&again.stderr);
        assert!(stderr.contains("a room is there already"), "{stderr}");
        assert!(stderr.contains("--force"), "{stderr}");
        assert_eq!(read(&scratch.room().join("tokens")), tokens, "untouched");

        let forced = init(
            &scratch,
            &["--attendees", "carol", "--host", "10.0.0.2", "--force"],
        );
        assert!(forced.status.success(), "{}", text(&forced.stderr));
        assert_eq!(joins(&scratch.room()).keys().collect::<Vec<_>>(), ["carol"]);
        assert!(read(&scratch.room().join("tokens")).starts_with("carol."));

        // A directory with other files in it is not taken either.
        let other = Scratch::new("other");
        std::fs::create_dir_all(other.room()).unwrap();
        std::fs::write(other.room().join("notes.txt"), "mine").unwrap();
        let refused = init(&other, &first);
        assert_eq!(refused.status.code(), Some(1));
        assert!(text(&refused.stderr).contains("it is not empty"));
    }

    /// Every `cargo run -p workshop --features room -- …` the docs show is a command the
    /// room's build accepts (run with `--help` appended, which still checks the options).
    #[test]
    fn the_room_commands_shown_exist() {
        const PREFIX: &str = "cargo run -p workshop --features room -- ";
        let mut shown = 0;
        for doc in [
            "workshop/chapters/instructor.md",
            "platform/README.md",
            "README.md",
        ] {
            let markdown = read(&crate::common::workspace().join(doc));
            for (at, _) in markdown.match_indices(PREFIX) {
                let command = markdown[at + PREFIX.len()..]
                    .split(['`', '\n'])
                    .next()
                    .unwrap();
                let mut args: Vec<&str> = command.split_whitespace().collect();
                args.push("--help");
                let output = Command::new(env!("CARGO_BIN_EXE_workshop"))
                    .args(&args)
                    .output()
                    .unwrap();
                assert!(
                    output.status.success(),
                    "{doc}: `workshop {command}`: {}",
                    text(&output.stderr)
                );
                shown += 1;
            }
        }
        assert!(shown >= 4, "the docs show the room's commands: {shown}");
    }

    /// `serve` checks the room before it starts anything: a directory that is no room, and
    /// a token file with a line the collector would take for a token.
    #[test]
    fn serve_refuses_what_is_not_a_room_or_a_token_file_the_collector_would_misread() {
        let scratch = Scratch::new("serve-refuses");
        std::fs::create_dir_all(scratch.room()).unwrap();
        let output = room(&["serve", &scratch.arg()]);
        assert_eq!(output.status.code(), Some(1));
        let stderr = text(&output.stderr);
        assert!(
            stderr.contains("a room? (`workshop room init` makes one)"),
            "{stderr}"
        );

        std::fs::remove_dir_all(scratch.room()).unwrap();
        assert!(
            init(&scratch, &["--attendees", "alice", "--host", "10.0.0.2"])
                .status
                .success()
        );
        let tokens = scratch.room().join("tokens");
        let good = read(&tokens);
        // The collector would let anyone in with `Bearer #`.
        std::fs::remove_file(&tokens).unwrap();
        std::fs::write(&tokens, format!("# latecomers below\n{good}")).unwrap();
        let output = room(&["serve", &scratch.arg()]);
        assert_eq!(output.status.code(), Some(1));
        let stderr = text(&output.stderr);
        assert!(stderr.contains("tokens: line 1: "), "{stderr}");
        assert!(
            stderr.contains("the collector takes the first word"),
            "{stderr}"
        );
    }
}
