//! `up --solution`: the finished workshop (the base commit with every section applied),
//! checked out and built apart from the attendee's working tree, so that they can see where
//! they are heading without touching their own code.
//!
//! It is built into the attendee's target directory, so that it reuses every dependency
//! already compiled there (`workshop prepare` builds it with them, the day before). Its own
//! crates have the same names and the same paths inside their workspace as the attendee's,
//! which cargo takes for the same crates (it hashes a member by its path relative to the
//! workspace root): each build would replace the other's, or worse, find the other's fresh
//! and hand it over. So they are built with one codegen unit fewer than cargo's default
//! (a profile override for the solution's own packages, which cargo counts in their hash
//! and which changes nothing else: a build of the services compiles no other member), and
//! without incremental compilation (a tree nobody edits gains nothing
//! from it). The executables are then copied out of `target/debug/`, where the next build
//! of the attendee's code puts its own.

use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::build::{Binaries, build_services_with, metadata};
use crate::steps::{self, steps};

/// Builds the finished workshop (see the module's comment) and returns each service's
/// executable, by name: copies under `target/solution/bin/`.
pub async fn build(repo: &Path, base: &str, release: bool) -> anyhow::Result<Binaries> {
    let tree = prepare(repo, base)?;
    let target = metadata(repo).await?.target_directory;
    let profile = if release { "release" } else { "dev" };
    let codegen_units = if release { 15 } else { 255 };
    let apart: Vec<String> = metadata(&tree)
        .await?
        .packages
        .iter()
        .flat_map(|package| {
            let name = &package.name;
            [
                "--config".to_owned(),
                format!("profile.{profile}.package.{name}.codegen-units={codegen_units}"),
            ]
        })
        .collect();
    let built = build_services_with(
        &tree,
        release,
        &[
            ("CARGO_TARGET_DIR", target.into_os_string()),
            ("CARGO_INCREMENTAL", "0".into()),
        ],
        &apart,
    )
    .await?;
    let bin = repo.join("target/solution/bin");
    std::fs::create_dir_all(&bin).with_context(|| format!("cannot create {}", bin.display()))?;
    let mut copies = Binaries::new();
    for (name, executable) in built {
        let copy = bin.join(executable.file_name().context("an executable has a name")?);
        copy_if_changed(&executable, &copy)?;
        copies.insert(name, copy);
    }
    Ok(copies)
}

/// Copies `from` to `to` unless `to` is already the same build (same length, not older).
fn copy_if_changed(from: &Path, to: &Path) -> anyhow::Result<()> {
    let source = std::fs::metadata(from).with_context(|| format!("{}", from.display()))?;
    if let Ok(copy) = std::fs::metadata(to)
        && copy.len() == source.len()
        && copy.modified()? >= source.modified()?
    {
        return Ok(());
    }
    std::fs::copy(from, to)
        .with_context(|| format!("cannot copy {} to {}", from.display(), to.display()))?;
    Ok(())
}

/// A worktree of `base` with every section applied, under `target/solution/tree`, made
/// anew when the base or the patches change.
pub fn prepare(repo: &Path, base: &str) -> anyhow::Result<PathBuf> {
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
    Ok(tree)
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
