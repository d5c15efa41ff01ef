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
