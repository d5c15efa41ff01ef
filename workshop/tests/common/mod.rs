//! Helpers shared by the tests that work on copies of the repository.

#![allow(dead_code)]

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub use platform_check::repo_root as workspace;

/// The section patches, in order, from this workspace: sections 0 to 4, and those after.
pub fn patches() -> Vec<PathBuf> {
    let mut patches: Vec<PathBuf> = std::fs::read_dir(workspace().join("workshop/steps"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "patch"))
        .collect();
    patches.sort_by_key(|p| section_number(p));
    let numbers: Vec<usize> = patches.iter().map(|p| section_number(p)).collect();
    assert_eq!(
        numbers,
        [0, 1, 2, 3, 4, 5, 6],
        "sections 0 to 6: {patches:?}"
    );
    patches
}

/// A patch's section: `section-6-collector.patch` → 6.
pub fn section_number(patch: &Path) -> usize {
    let name = patch.file_stem().unwrap().to_string_lossy();
    name.strip_prefix("section-")
        .and_then(|rest| rest.split('-').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{name}: a section's patch is named section-N-…"))
}

/// The patch of section `n`.
pub fn patch_of(n: usize) -> PathBuf {
    patches()
        .into_iter()
        .find(|p| section_number(p) == n)
        .unwrap_or_else(|| panic!("no patch for section {n}"))
}

/// The last section: the finished workshop is the state after it.
pub fn last_section() -> usize {
    patches().iter().map(|p| section_number(p)).max().unwrap()
}

/// The optional exercises of section `n` (`workshop/steps/optional/section-N-*.patch`),
/// each a patch on top of that section, in name order.
pub fn optional_patches(n: usize) -> Vec<PathBuf> {
    let prefix = format!("section-{n}-");
    let mut patches: Vec<PathBuf> = std::fs::read_dir(workspace().join("workshop/steps/optional"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            path.extension().is_some_and(|ext| ext == "patch")
                && path
                    .file_name()
                    .is_some_and(|name| name.to_string_lossy().starts_with(&prefix))
        })
        .collect();
    patches.sort();
    patches
}

/// A fresh clone of this repository's committed state, in a temporary directory deleted
/// when dropped.
pub struct RepoClone {
    pub dir: PathBuf,
    _temp: tempfile::TempDir,
}

impl RepoClone {
    pub fn new(name: &str) -> RepoClone {
        let temp = tempfile::Builder::new()
            .prefix(&format!("iss-workshop-{name}-"))
            .tempdir()
            .unwrap();
        let dir = temp.path().join("repo");
        clone_repository(&dir);
        RepoClone { dir, _temp: temp }
    }

    pub fn apply(&self, patch: &Path) {
        run(&self.dir, "git", &["apply", &patch.to_string_lossy()]);
    }

    /// Takes `patch` back out.
    pub fn unapply(&self, patch: &Path) {
        run(&self.dir, "git", &["apply", "-R", &patch.to_string_lossy()]);
    }

    pub fn git(&self, args: &[&str]) -> Output {
        git(&self.dir, args)
    }
}

/// `git clone` of this repository (its committed state) into `dir`, with its `main` (the
/// base the sections start from) at the commit cloned: on a branch other than main, in a
/// worktree of it, the tests then test that branch.
fn clone_repository(dir: &Path) {
    let source = workspace();
    let args = [
        "clone",
        "--quiet",
        &source.to_string_lossy(),
        &dir.to_string_lossy(),
    ];
    run(&source, "git", &args);
    run(dir, "git", &["checkout", "--quiet", "-B", "main"]);
}

/// Whether a process runs, from /proc.
pub use platform_live::usage::alive;
/// A process's children, from /proc (the tests that look for them run on Unix).
#[cfg(unix)]
pub use platform_live::usage::children;

pub fn git(dir: &Path, args: &[&str]) -> Output {
    Command::new("git")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("git runs")
}

/// Runs a command that must succeed.
pub fn run(dir: &Path, program: &str, args: &[&str]) -> Output {
    let output = Command::new(program)
        .current_dir(dir)
        .args(args)
        .output()
        .expect("runs");
    assert!(
        output.status.success(),
        "{program} {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// The target directory for one kind of copy of the workspace (`sections`, `final`).
///
/// Each kind gets its own: cargo hashes a workspace's crates relative to its root and
/// records their sources by absolute path, so two copies sharing a target directory would
/// pass for each other, and one would run the other's binaries.
pub fn target_dir(kind: &str) -> PathBuf {
    workspace().join("target/copies").join(kind)
}

/// Runs the workshop binary in `dir`, building into the target directory of `kind`.
pub fn workshop_in(kind: &str, dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_workshop"))
        .current_dir(dir)
        .args(args)
        .env("CARGO_TARGET_DIR", target_dir(kind))
        .output()
        .expect("workshop runs")
}

/// Runs the workshop binary in `dir` for commands that build nothing.
pub fn workshop(dir: &Path, args: &[&str]) -> Output {
    workshop_in("none", dir, args)
}

/// Sends `signal` to process `pid` (a child of ours, not yet reaped); false if it failed.
#[cfg(unix)]
pub fn signal(pid: u32, signal: nix::sys::signal::Signal) -> bool {
    let pid = nix::unistd::Pid::from_raw(i32::try_from(pid).expect("a pid"));
    nix::sys::signal::kill(pid, signal).is_ok()
}

/// Holds an exclusive lock on `file` (another test process waits for it) until the file
/// is closed.
pub fn lock_exclusive(file: &std::fs::File) {
    // fs4, not `File::lock`: that needs Rust 1.89, and the workspace supports 1.88.
    fs4::FileExt::lock(file).expect("can lock a file");
}

/// `up` may start its built-in receiver on 4317/4318, which are the machine's, not one
/// checkout's: one such test at a time on the whole machine (the lock is in the system's
/// temporary directory, so that two clones' test runs wait for each other, not fail).
pub fn otlp_ports() -> std::fs::File {
    let path = std::env::temp_dir().join("iss-workshop-otlp-ports.lock");
    let lock = std::fs::File::create(path).unwrap();
    lock_exclusive(&lock);
    lock
}

/// Whether a service answers `GET /healthz` on `port` with 200. (A port that accepts
/// connections is not enough: a handed-over socket accepts before the service runs.)
pub fn healthy(port: u16) -> bool {
    use std::io::{Read, Write};
    let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(std::time::Duration::from_secs(1)));
    let request = "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    let mut answer = String::new();
    stream.write_all(request.as_bytes()).is_ok()
        && stream.read_to_string(&mut answer).is_ok()
        && answer.starts_with("HTTP/1.1 200")
}

// Ports for tests that need fixed or closed ones. Linux picks the local ports of connections
// and of sockets bound to port 0 from `ip_local_port_range` (32768-60999 by default), where
// they could be taken by any test at any moment; below it only these helpers pick ports:
// `free_base_port` from 20000 up, `closed_port` from just below the range down.

/// The lowest port Linux may pick by itself.
fn ephemeral_low() -> u16 {
    std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|range| range.split_whitespace().next()?.parse().ok())
        .unwrap_or(32768)
}

fn bindable(port: u16) -> bool {
    std::net::TcpListener::bind(("127.0.0.1", port)).is_ok()
}

/// A loopback port where nothing listens, so connecting is refused, and where no test will
/// start listening while this one runs.
pub fn closed_port() -> u16 {
    let low = ephemeral_low();
    (low.saturating_sub(1000)..low)
        .rev()
        .find(|port| bindable(*port))
        .expect("a closed port below the ephemeral range")
}

/// A base port with it and the next three free, for `workshop up --port`. The callers take
/// turns (see `tests/up.rs`), so nothing else wants these ports.
pub fn free_base_port() -> u16 {
    let below = ephemeral_low().saturating_sub(1000);
    (20_000..below.saturating_sub(4))
        .step_by(97)
        .find(|base| (0..4).all(|i| bindable(base + i)))
        .expect("four consecutive free ports")
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}
#[cfg(unix)]
pub mod stack;

/// Exclusive use of the final tree, for as long as it is held: tests that build and run
/// it must not rebuild it under each other's feet.
pub struct TreeLock {
    _file: std::fs::File,
}

fn lock(name: &str) -> TreeLock {
    let dir = workspace().join("target/copies");
    std::fs::create_dir_all(&dir).unwrap();
    let file = std::fs::File::create(dir.join(format!("{name}.lock"))).unwrap();
    lock_exclusive(&file);
    TreeLock { _file: file }
}

/// The lock the live platform tests hold while they pick loopback ports
/// (`platform_live::process::Ports`, which only checks that a port is free now) and run
/// the platform programs on them: a live test that runs them without the final tree
/// holds it too, so that no two hand out the same port.
pub fn live_ports() -> TreeLock {
    lock("final")
}

/// A clone of this repository with every section applied: the reference implementation,
/// to build into `target_dir("final")`, with its lock.
///
/// It lives at a stable path (so its build is incremental) and is made anew only when the
/// patches or HEAD change.
pub fn final_tree() -> (PathBuf, TreeLock) {
    let lock = lock("final");
    let tree = workspace().join("target/copies/final-tree");
    let head = text(&git(&workspace(), &["rev-parse", "HEAD"]).stdout);
    let series: String = patches()
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect();
    let stamp = format!(
        "{head}\n{}",
        series.len() + series.bytes().map(usize::from).sum::<usize>()
    );
    if std::fs::read_to_string(tree.join(".stamp")).ok().as_deref() != Some(stamp.as_str()) {
        let _ = std::fs::remove_dir_all(&tree);
        clone_repository(&tree);
        for patch in patches() {
            run(&tree, "git", &["apply", &patch.to_string_lossy()]);
        }
        std::fs::write(tree.join(".stamp"), stamp).unwrap();
    }
    (tree, lock)
}

/// `workshop <command> <args…>` is refused for each case: exit code 2, nothing on stdout,
/// and a first stderr line `error: …` containing the case's reason.
pub fn assert_refused(command: &str, cases: &[(&[&str], &str)]) {
    for (args, reason) in cases {
        let output = Command::new(env!("CARGO_BIN_EXE_workshop"))
            .arg(command)
            .args(*args)
            .stdin(std::process::Stdio::null())
            .output()
            .expect("workshop runs");
        let stderr = text(&output.stderr);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{command} {args:?}: {stderr}"
        );
        assert!(
            output.stdout.is_empty(),
            "{command} {args:?} printed to stdout"
        );
        let first = stderr.lines().next().unwrap_or_default();
        assert!(
            first.starts_with("error: ") && first.contains(reason),
            "{command} {args:?}: expected {reason:?} in the first line of: {stderr}"
        );
    }
}

/// `workshop <command> --help` succeeds and names every one of `options`.
pub fn assert_help_lists(command: &str, options: &[&str]) {
    let output = Command::new(env!("CARGO_BIN_EXE_workshop"))
        .args([command, "--help"])
        .output()
        .expect("workshop runs");
    assert!(output.status.success(), "{command} --help");
    let help = text(&output.stdout);
    for option in options {
        assert!(
            help.contains(option),
            "{option} is not in `{command} --help`:\n{help}"
        );
    }
}

/// Serves `app` on a free loopback port, on a thread and runtime of its own (so that it
/// keeps answering while the test blocks), for as long as the test runs.
pub fn serve_on_own_thread(app: axum::Router) -> SocketAddr {
    let listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let addr = listener.local_addr().unwrap();
    listener.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            axum::serve(listener, app).await.unwrap();
        });
    });
    addr
}

/// Waits (up to 10 minutes: the first run may build) for `workshop up`, started with its
/// stdout piped and `--port base`, to print the frontend's URL: what a person waits for.
pub fn wait_for_up(up: &mut std::process::Child, base: u16) {
    use std::io::{BufRead, BufReader};
    use std::time::{Duration, Instant};
    let stdout = BufReader::new(up.stdout.take().expect("up's stdout piped"));
    let (lines, printed) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in stdout.lines().map_while(Result::ok) {
            let _ = lines.send(line);
        }
    });
    let expected = format!("open http://127.0.0.1:{base}/");
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let line = printed
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .expect("up prints the frontend URL once the services are ready");
        if line.contains(&expected) {
            break;
        }
    }
}
