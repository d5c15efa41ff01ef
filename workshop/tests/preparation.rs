//! Chapter 00's preparation compiles everything the day runs (issue 21, point 8): after it,
//! no command of the chapters compiles anything, and an edit recompiles only the crates
//! that depend on what changed.
//!
//! On a fresh clone, with a target directory of its own: the commands of chapter 00's
//! first ```sh block under "Download everything ahead of time" run as written; then every
//! `cargo` command of the ```sh blocks of chapters 00 to 09, each once, `solve N` last (it
//! changes the code, as an attendee's edits do). Each command runs until it exits, or until
//! cargo has been quiet for a while after starting it and no build runs below it: every
//! build a command makes (`up` and `check` build the services, `up --solution` the finished
//! workshop) comes first. So
//! that they disturb nothing else on the machine, the services get ports of their own
//! (`FRONTEND_PORT`, `--port`), `load` sends to them (`--base`), and the OTLP ports are
//! held (`common::otlp_ports`). Then an edit in iss-distance, and the sections' own edits
//! (`solve`), must each recompile exactly their crates and those above them.
//!
//! Seen to fail: with reqwest left out of `workspace-hack/Cargo.toml`, chapter 08's `cargo
//! run -p platform-live --bin build-platform -- otelcol` compiled platform-live again.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use crate::chapters::commands;
use crate::common::stack::SERVICES;
use crate::common::{self, RepoClone, free_base_port, otlp_ports};

/// How long cargo may stay quiet, once the command's own `cargo run` is done, before the
/// command is taken to be past its builds (they start within a second or two: `up
/// --collector` starts the collector first, which takes a few).
const QUIET: Duration = Duration::from_secs(8);

/// Longest any one command may take (the preparation builds everything).
const LONGEST: Duration = Duration::from_secs(40 * 60);

#[test]
fn after_the_preparation_the_day_compiles_only_what_you_change() {
    let _ports = otlp_ports();
    let clone = RepoClone::new("preparation");
    let day = Day::new(&clone.dir);
    let chapter_00 = read(&common::workspace().join("workshop/chapters/00-before-you-start.md"));
    let preparation = preparation_commands(&chapter_00);
    assert!(
        preparation.iter().any(|c| c.starts_with("cargo ")),
        "chapter 00's preparation block has cargo commands: {preparation:?}"
    );
    for command in &preparation {
        day.run(command, LONGEST);
    }

    let (edits, others): (Vec<String>, Vec<String>) = day_commands()
        .into_iter()
        .partition(|c| c.contains(" -- solve "));
    assert!(others.len() >= 10, "the chapters' commands: {others:?}");
    let mut problems = Vec::new();
    for command in &others {
        let compiled = day.run(command, LONGEST);
        if !compiled.is_empty() {
            problems.push(format!("`{command}` compiled {compiled:?}"));
        }
    }
    assert!(
        problems.is_empty(),
        "after chapter 00's preparation, these commands compiled again (a package the \
         preparation did not build, or one built with other features: see \
         workspace-hack/Cargo.toml):\n{}",
        problems.join("\n")
    );

    // An attendee's edit in one service recompiles that service alone.
    let up = others
        .iter()
        .find(|c| c.ends_with("-- up"))
        .expect("the chapters run `workshop up`");
    let lib = clone.dir.join("services/iss-distance/src/lib.rs");
    let original = read(&lib);
    std::fs::write(&lib, format!("{original}\n// An attendee was here.\n")).unwrap();
    assert_eq!(
        day.run(up, LONGEST),
        day.depending_on(&["iss-distance"]),
        "an edit in iss-distance"
    );
    // Taken back out: `solve` keeps an attendee's own changes to the files it restores.
    std::fs::write(&lib, original).unwrap();

    // The sections' edits (`solve N`) compile nothing themselves; the next `up` recompiles
    // the crates they changed and those above them, nothing else.
    let before: BTreeSet<String> = day.changed_packages();
    for command in &edits {
        assert_eq!(day.run(command, LONGEST), BTreeSet::new(), "`{command}`");
    }
    let changed = day.changed_packages();
    assert!(
        changed.len() > before.len(),
        "`solve` changed the services' crates: {changed:?}"
    );
    let changed: Vec<&str> = changed.iter().map(String::as_str).collect();
    assert_eq!(
        day.run(up, LONGEST),
        day.depending_on(&changed),
        "after {edits:?}"
    );
}

/// The commands of the first ```sh block of chapter 00's "Download everything ahead of
/// time", in order.
fn preparation_commands(chapter: &str) -> Vec<String> {
    let section = chapter
        .split_once("\n## Download everything ahead of time\n")
        .expect("chapter 00 has a section \"Download everything ahead of time\"")
        .1;
    let section = section.split("\n## ").next().unwrap();
    let start = section
        .find("```sh\n")
        .expect("the section shows its commands");
    let end = start
        + 6
        + section[start + 6..]
            .find("```")
            .expect("the block is closed");
    commands(&section[start..end + 3])
        .into_iter()
        .map(|(_, command)| command)
        .collect()
}

/// Every `cargo` command of the ```sh blocks of chapters 00 to 09, once each, in the order
/// they first appear.
fn day_commands() -> Vec<String> {
    let dir = common::workspace().join("workshop/chapters");
    let mut chapters: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            path.file_name()
                .and_then(|name| name.to_str())
                .and_then(|name| name.get(..2)?.parse::<u8>().ok())
                .is_some_and(|n| n <= 9)
        })
        .collect();
    chapters.sort();
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for chapter in chapters {
        for (_, command) in commands(&read(&chapter)) {
            if program(&command).first() == Some(&"cargo") && seen.insert(command.clone()) {
                out.push(command);
            }
        }
    }
    out
}

/// The command's words after its leading `VAR=value` assignments.
fn program(command: &str) -> Vec<&str> {
    command
        .split_whitespace()
        .skip_while(|word| assignment(word).is_some())
        .collect()
}

fn assignment(word: &str) -> Option<(&str, &str)> {
    word.split_once('=').filter(|(name, _)| {
        !name.is_empty() && name.chars().all(|c| c.is_ascii_uppercase() || c == '_')
    })
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// The clone, its target directory, and the ports its services get.
struct Day {
    dir: PathBuf,
    target: PathBuf,
    base: u16,
}

impl Day {
    fn new(dir: &Path) -> Day {
        Day {
            dir: dir.to_path_buf(),
            // Its own: two clones sharing one would take each other's crates for their own
            // (see `common::target_dir`).
            target: common::target_dir("preparation"),
            base: free_base_port(),
        }
    }

    /// Runs `command` in the clone as a person would (see the module's comment for the
    /// ports) and returns the packages cargo compiled meanwhile.
    fn run(&self, command: &str, longest: Duration) -> BTreeSet<String> {
        let words = self.isolated(command);
        let mut child = Command::new(&words[0]);
        child
            .args(&words[1..])
            .current_dir(&self.dir)
            .env("CARGO_TARGET_DIR", &self.target)
            .env("FRONTEND_PORT", self.base.to_string())
            .envs(program_env(command))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // Its own process group: stopped as Ctrl-C would stop it.
            .process_group(0);
        let child = child.spawn().unwrap_or_else(|e| panic!("`{command}`: {e}"));
        let started = Instant::now();
        let compiled = compiled(&watch(child, longest));
        eprintln!(
            "preparation: `{command}` ({:.0} s): compiled {compiled:?}",
            started.elapsed().as_secs_f64()
        );
        compiled
    }

    /// `command`'s words, with the ports made the test's own.
    fn isolated(&self, command: &str) -> Vec<String> {
        let mut words: Vec<String> = program(command).into_iter().map(String::from).collect();
        if let Some(at) = words.iter().position(|w| w == "--port") {
            words[at + 1] = self.base.to_string();
        }
        if words.iter().any(|w| w == "load") && !words.iter().any(|w| w == "--base") {
            words.push("--base".into());
            words.push(format!("http://127.0.0.1:{}", self.base));
        }
        words
    }

    /// The workspace packages the services' build holds that are among `changed` or depend
    /// on one of them, by `cargo metadata`.
    fn depending_on(&self, changed: &[&str]) -> BTreeSet<String> {
        let metadata = cargo_metadata(&self.dir);
        let names: BTreeMap<&str, &str> = metadata["packages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| (p["id"].as_str().unwrap(), p["name"].as_str().unwrap()))
            .collect();
        let members: BTreeSet<&str> = metadata["workspace_members"]
            .as_array()
            .unwrap()
            .iter()
            .map(|id| names[id.as_str().unwrap()])
            .collect();
        // Normal dependencies between workspace members.
        let mut deps: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        for node in metadata["resolve"]["nodes"].as_array().unwrap() {
            let name = names[node["id"].as_str().unwrap()];
            for dep in node["deps"].as_array().unwrap() {
                let normal = dep["dep_kinds"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|k| k["kind"].is_null());
                let dep = names[dep["pkg"].as_str().unwrap()];
                if normal && members.contains(dep) {
                    deps.entry(name).or_default().insert(dep);
                }
            }
        }
        let built = closure(&deps, &SERVICES);
        built
            .iter()
            .filter(|p| closure(&deps, &[**p]).iter().any(|d| changed.contains(d)))
            .map(|p| p.to_string())
            .collect()
    }

    /// The workspace packages whose files differ from the commit cloned.
    fn changed_packages(&self) -> BTreeSet<String> {
        let diff = common::git(&self.dir, &["diff", "--name-only", "HEAD"]);
        let files = common::text(&diff.stdout);
        let metadata = cargo_metadata(&self.dir);
        let mut out = BTreeSet::new();
        for package in metadata["packages"].as_array().unwrap() {
            let manifest = PathBuf::from(package["manifest_path"].as_str().unwrap());
            let Ok(dir) = manifest.parent().unwrap().strip_prefix(&self.dir) else {
                continue;
            };
            if files
                .lines()
                .any(|file| Path::new(file).starts_with(dir) && !dir.as_os_str().is_empty())
            {
                out.insert(package["name"].as_str().unwrap().to_owned());
            }
        }
        out
    }
}

/// `roots` and every package they depend on, transitively.
fn closure<'a>(
    deps: &BTreeMap<&'a str, BTreeSet<&'a str>>,
    roots: &[&'a str],
) -> BTreeSet<&'a str> {
    let mut seen: BTreeSet<&str> = BTreeSet::new();
    let mut todo: Vec<&str> = roots.to_vec();
    while let Some(package) = todo.pop() {
        if seen.insert(package) {
            todo.extend(deps.get(package).into_iter().flatten());
        }
    }
    seen
}

fn cargo_metadata(dir: &Path) -> serde_json::Value {
    let output = common::run(
        dir,
        env!("CARGO"),
        &["metadata", "--format-version=1", "--offline"],
    );
    serde_json::from_slice(&output.stdout).expect("cargo metadata prints JSON")
}

/// The command's own `VAR=value` assignments.
fn program_env(command: &str) -> Vec<(String, String)> {
    command
        .split_whitespace()
        .map_while(assignment)
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .collect()
}

/// The packages of cargo's `Compiling NAME vX (…)` lines.
fn compiled(output: &str) -> BTreeSet<String> {
    output
        .lines()
        .filter_map(|line| line.trim_start().strip_prefix("Compiling "))
        .filter_map(|rest| rest.split_whitespace().next())
        .map(str::to_owned)
        .collect()
}

/// Cargo's status lines: what says a build is still under way.
fn is_cargo_status(line: &str) -> bool {
    let word = line.split_whitespace().next().unwrap_or("");
    [
        "Compiling",
        "Finished",
        "Blocking",
        "Building",
        "Running",
        "Fresh",
        "Checking",
        "Downloading",
        "Downloaded",
        "Updating",
        "Locking",
    ]
    .contains(&word)
}

/// Everything `child` prints, until it exits or cargo has been quiet for [`QUIET`]; then
/// it is stopped with SIGINT (its whole process group), and killed if it lingers.
fn watch(mut child: Child, longest: Duration) -> String {
    let (lines, printed) = channel();
    for stream in [
        Box::new(child.stdout.take().unwrap()) as Box<dyn Read + Send>,
        Box::new(child.stderr.take().unwrap()),
    ] {
        let lines = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines().map_while(Result::ok) {
                let _ = lines.send(line);
            }
        });
    }
    drop(lines);
    let output = until_quiet(&mut child, &printed, longest);
    stop(&mut child);
    let mut output = output;
    output.extend(printed.try_iter());
    output.join("\n")
}

fn until_quiet(child: &mut Child, printed: &Receiver<String>, longest: Duration) -> Vec<String> {
    let started = Instant::now();
    let mut output = Vec::new();
    let mut last_status = Instant::now();
    loop {
        match printed.recv_timeout(Duration::from_millis(200)) {
            Ok(line) => {
                if is_cargo_status(line.trim_start()) {
                    last_status = Instant::now();
                }
                output.push(line);
            }
            Err(RecvTimeoutError::Disconnected) => break,
            Err(RecvTimeoutError::Timeout) => {}
        }
        if child.try_wait().unwrap().is_some() {
            break;
        }
        let ran = output
            .iter()
            .any(|l| l.trim_start().starts_with("Running `"));
        let quiet = ran && last_status.elapsed() > QUIET && !building(child.id());
        if quiet || started.elapsed() > longest {
            break;
        }
    }
    output
}

/// Whether cargo or rustc runs below `pid` (the command's own `cargo run` aside): a build
/// under way, however long it stays quiet (on a loaded machine, compiling the workshop or
/// linking a service takes longer than [`QUIET`], and stopping it there left the next
/// command to finish the build).
fn building(pid: u32) -> bool {
    let mut below = common::children(pid);
    while let Some(pid) = below.pop() {
        let name = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        if matches!(name.trim(), "cargo" | "rustc") {
            return true;
        }
        below.extend(common::children(pid));
    }
    false
}

/// SIGINT to the child's process group (Ctrl-C), then SIGKILL after 20 s.
fn stop(child: &mut Child) {
    use nix::sys::signal::{Signal, killpg};
    use nix::unistd::Pid;
    let group = Pid::from_raw(i32::try_from(child.id()).unwrap());
    if child.try_wait().unwrap().is_none() {
        let _ = killpg(group, Signal::SIGINT);
        let deadline = Instant::now() + Duration::from_secs(20);
        while child.try_wait().unwrap().is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    let _ = killpg(group, Signal::SIGKILL);
    let _ = child.wait();
}
