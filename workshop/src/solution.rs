//! `up --solution`: the finished workshop (the base commit with every section applied),
//! checked out and built apart from the attendee's working tree, so that they can see where
//! they are heading without touching their own code.

use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::steps::{self, steps};

/// A worktree of `base` with every section applied, under `target/solution/`, made anew
/// when the base or the patches change. Returns the tree and the target directory to build
/// it into (its own: two copies of the workspace must never share one).
pub fn prepare(repo: &Path, base: &str) -> anyhow::Result<(PathBuf, PathBuf)> {
    let dir = repo.join("target/solution");
    let tree = dir.join("tree");
    let steps = steps(repo)?;
    let stamp = format!(
        "{}\n{}",
        git(repo, &["rev-parse", base])?,
        patches_digest(&steps)?
    );
    if std::fs::read_to_string(dir.join("stamp")).ok().as_deref() != Some(stamp.as_str()) {
        eprintln!("preparing the solution in {}…", tree.display());
        std::fs::create_dir_all(&dir)?;
        if tree.exists() {
            let _ = git(
                repo,
                &["worktree", "remove", "--force", &tree.to_string_lossy()],
            );
            let _ = std::fs::remove_dir_all(&tree);
        }
        git(
            repo,
            &[
                "worktree",
                "add",
                "--detach",
                "--force",
                &tree.to_string_lossy(),
                base,
            ],
        )
        .with_context(|| format!("cannot check out {base}"))?;
        for step in &steps {
            git(&tree, &["apply", &step.patch.to_string_lossy()])
                .with_context(|| format!("{} does not apply", step.branch))?;
        }
        std::fs::write(dir.join("stamp"), stamp)?;
    }
    Ok((tree, dir.join("target")))
}

/// Changes whenever any patch changes (length and a simple checksum of every byte).
fn patches_digest(steps: &[crate::steps::Step]) -> anyhow::Result<String> {
    let mut digest = Vec::new();
    for step in steps {
        let bytes = std::fs::read(&step.patch)?;
        let sum = bytes.iter().fold(0u64, |acc, b| {
            acc.wrapping_mul(31).wrapping_add(u64::from(*b))
        });
        digest.push(format!("{}:{}:{sum:x}", step.branch, bytes.len()));
    }
    Ok(digest.join(","))
}

/// git's standard output, trimmed; fails with git's own message.
fn git(dir: &Path, args: &[&str]) -> anyhow::Result<String> {
    Ok(steps::stdout(steps::git(dir, args, None)?))
}
