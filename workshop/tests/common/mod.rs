//! Helpers shared by the tests that work on copies of the repository.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The section patches, in order, from this workspace.
pub fn patches() -> Vec<PathBuf> {
    let mut patches: Vec<PathBuf> = std::fs::read_dir(workspace().join("workshop/steps"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "patch"))
        .collect();
    patches.sort();
    assert_eq!(patches.len(), 5, "five sections: {patches:?}");
    patches
}

/// A fresh clone of this repository's committed state, deleted when dropped.
pub struct Clone {
    pub dir: PathBuf,
}

impl Clone {
    pub fn new(name: &str) -> Clone {
        let dir = std::env::temp_dir().join(format!("iss-workshop-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        run(
            &workspace(),
            "git",
            &[
                "clone",
                "--quiet",
                &workspace().to_string_lossy(),
                &dir.to_string_lossy(),
            ],
        );
        Clone { dir }
    }

    pub fn apply(&self, patch: &Path) {
        run(&self.dir, "git", &["apply", &patch.to_string_lossy()]);
    }

    pub fn git(&self, args: &[&str]) -> Output {
        git(&self.dir, args)
    }
}

impl Drop for Clone {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

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

/// One target directory for every copy of the workspace, so dependencies build once.
pub fn shared_target_dir() -> PathBuf {
    workspace().join("target/copies")
}

pub fn workshop(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_workshop"))
        .current_dir(dir)
        .args(args)
        .env("CARGO_TARGET_DIR", shared_target_dir())
        .output()
        .expect("workshop runs")
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}
pub mod stack;

/// A clone of this repository with every section applied: the reference implementation.
/// It lives at a stable path (so its build is incremental) and is made once per change of
/// the patches or of HEAD; a file lock keeps concurrent test processes from racing.
pub fn final_tree() -> PathBuf {
    let copies = shared_target_dir();
    std::fs::create_dir_all(&copies).unwrap();
    let lock = std::fs::File::create(copies.join("final-tree.lock")).unwrap();
    // SAFETY: flock on a file descriptor we own; released when `lock` is dropped.
    unsafe { libc::flock(std::os::fd::AsRawFd::as_raw_fd(&lock), libc::LOCK_EX) };

    let tree = copies.join("final-tree");
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
        run(
            &workspace(),
            "git",
            &[
                "clone",
                "--quiet",
                &workspace().to_string_lossy(),
                &tree.to_string_lossy(),
            ],
        );
        for patch in patches() {
            run(&tree, "git", &["apply", &patch.to_string_lossy()]);
        }
        std::fs::write(tree.join(".stamp"), stamp).unwrap();
    }
    drop(lock);
    tree
}
