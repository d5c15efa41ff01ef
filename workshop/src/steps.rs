//! The workshop's sections as checkpoints: `branches` turns the patch series in
//! `workshop/steps/` into git branches, and `solve N` brings the working tree to the end of
//! section N.
//!
//! The patches are the source of truth (they travel with `main`); the branches are made from
//! them on each attendee's machine, so `git checkout section-2-logging` and
//! `git diff section-1-metrics section-2-logging` work offline.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use anyhow::{Context, bail};

use platform_check::repo_root;

/// One section: its number, its branch name (the patch's file name, `section-N-…`) and
/// its patch.
#[derive(Debug, Clone)]
pub struct Step {
    pub number: u8,
    pub branch: String,
    pub patch: PathBuf,
}

#[derive(clap::Args)]
pub struct BranchesArgs {
    /// The commit the sections start from.
    #[arg(long, default_value = "main")]
    base: String,
    /// The repository (default: the one this workshop was built from).
    #[arg(long, value_name = "DIR")]
    repo: Option<PathBuf>,
}

#[derive(clap::Args)]
pub struct SolveArgs {
    /// The section to jump to the end of: 0 (resources) to 6 (the collector).
    #[arg(value_parser = crate::check::parse_section)]
    section: u8,
    /// The commit the sections start from.
    #[arg(long, default_value = "main")]
    base: String,
    /// The repository (default: the one this workshop was built from).
    #[arg(long, value_name = "DIR")]
    repo: Option<PathBuf>,
}

/// The sections, in order, from `workshop/steps/*.patch`.
pub fn steps(repo: &Path) -> anyhow::Result<Vec<Step>> {
    let dir = repo.join("workshop/steps");
    let mut steps = Vec::new();
    for entry in
        std::fs::read_dir(&dir).with_context(|| format!("cannot read {}", dir.display()))?
    {
        let patch = entry?.path();
        if !path_is_patch(&patch) {
            continue;
        }
        let branch = patch.file_stem().unwrap().to_string_lossy().into_owned();
        let number = section_number(&branch).with_context(|| {
            format!(
                "{}: a section's patch is named section-N-…",
                patch.display()
            )
        })?;
        steps.push(Step {
            number,
            branch,
            patch,
        });
    }
    steps.sort_by_key(|step| step.number);
    if steps.is_empty() {
        bail!("no patches in {}", dir.display());
    }
    Ok(steps)
}

fn path_is_patch(path: &Path) -> bool {
    path.extension().is_some_and(|ext| ext == "patch")
}

/// `section-6-collector` → 6.
pub fn section_number(branch: &str) -> Option<u8> {
    branch
        .strip_prefix("section-")?
        .split('-')
        .next()?
        .parse()
        .ok()
}

pub fn branches(args: BranchesArgs) -> anyhow::Result<()> {
    let repo = args.repo.unwrap_or_else(repo_root);
    for step in make_branches(&repo, &args.base)? {
        println!("✓ {}", step.branch);
    }
    println!("\nSwitch with `git checkout <branch>`; compare with `git diff <branch> <branch>`.");
    Ok(())
}

/// Applies the patches one after another on `base`, in a temporary worktree (the attendee's
/// working tree is not touched), and points one branch at each result.
fn make_branches(repo: &Path, base: &str) -> anyhow::Result<Vec<Step>> {
    let steps = steps(repo)?;
    let worktree = TempWorktree::new(repo, base)?;
    for step in &steps {
        git(
            &worktree.path,
            &["am", "--keep-cr", "--quiet"],
            Some(&step.patch),
        )
        .with_context(|| {
            format!(
                "{} does not apply on top of the sections before it",
                step.patch.display()
            )
        })?;
        git(
            repo,
            &["branch", "--force", &step.branch, &worktree.head()?],
            None,
        )
        .with_context(|| {
            format!(
                "cannot update branch {} (is it checked out? switch to another branch first)",
                step.branch
            )
        })?;
    }
    Ok(steps)
}

pub fn solve(args: SolveArgs) -> anyhow::Result<()> {
    let repo = args.repo.unwrap_or_else(repo_root);
    let steps = make_branches(&repo, &args.base)?;
    let touched = touched_files(&repo, &steps)?;
    refuse_to_lose_work(&repo, &args.base, &steps, &touched)?;
    let target = &steps
        .iter()
        .find(|step| step.number == args.section)
        .with_context(|| format!("no patch for section {} in workshop/steps", args.section))?
        .branch;
    for file in &touched {
        if exists_in(&repo, target, file) {
            git(
                &repo,
                &["restore", "--source", target, "--worktree", "--", file],
                None,
            )?;
        } else {
            // Created by a later section: not part of the code at the end of this one.
            let _ = std::fs::remove_file(repo.join(file));
        }
    }
    println!("✓ the working tree now holds the code at the end of {target}");
    println!("  See what changed with `git diff`; go back with `git restore .`");
    Ok(())
}

/// Every file a section changes.
fn touched_files(repo: &Path, steps: &[Step]) -> anyhow::Result<Vec<String>> {
    let mut files = Vec::new();
    for step in steps {
        let numstat = git(
            repo,
            &["apply", "--numstat", &step.patch.to_string_lossy()],
            None,
        )?;
        for line in String::from_utf8_lossy(&numstat.stdout).lines() {
            if let Some(path) = line.split('\t').nth(2) {
                files.push(path.to_owned());
            }
        }
    }
    files.sort();
    files.dedup();
    Ok(files)
}

/// `solve` rewrites these files. A changed file whose content is that of the base or of
/// some section (say, from an earlier `solve`) loses nothing; any other change is the
/// attendee's own work, and we refuse to overwrite it.
fn refuse_to_lose_work(
    repo: &Path,
    base: &str,
    steps: &[Step],
    files: &[String],
) -> anyhow::Result<()> {
    let mut args = vec!["status", "--porcelain", "--untracked-files=all", "--"];
    args.extend(files.iter().map(String::as_str));
    let status = git(repo, &args, None)?;
    let checkpoints: Vec<&str> = std::iter::once(base)
        .chain(steps.iter().map(|s| s.branch.as_str()))
        .collect();
    let mut own_work = Vec::new();
    for line in String::from_utf8_lossy(&status.stdout).lines() {
        let file = line.get(3..).unwrap_or(line);
        if !matches_a_checkpoint(repo, file, &checkpoints)? {
            own_work.push(file.to_owned());
        }
    }
    if !own_work.is_empty() {
        bail!(
            "solve would overwrite your uncommitted changes to {}; commit them (git commit -am 'my work') or stash them (git stash) first",
            own_work.join(", ")
        );
    }
    Ok(())
}

/// Whether `file` in the working tree is exactly as some checkpoint has it (or absent where
/// that checkpoint has no such file).
fn matches_a_checkpoint(repo: &Path, file: &str, checkpoints: &[&str]) -> anyhow::Result<bool> {
    let current = match repo.join(file).exists() {
        true => Some(stdout(git(repo, &["hash-object", "--", file], None)?)),
        false => None,
    };
    Ok(checkpoints.iter().any(|checkpoint| {
        let spec = format!("{checkpoint}:{file}");
        let theirs = git(repo, &["rev-parse", "--verify", "--quiet", &spec], None);
        theirs.ok().map(stdout) == current
    }))
}

pub(crate) fn stdout(output: Output) -> String {
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

fn exists_in(repo: &Path, branch: &str, file: &str) -> bool {
    git(repo, &["cat-file", "-e", &format!("{branch}:{file}")], None).is_ok()
}

/// Runs git in `dir`, with `stdin` fed from a file if given; fails with git's own message.
pub(crate) fn git(dir: &Path, args: &[&str], stdin: Option<&Path>) -> anyhow::Result<Output> {
    let mut command = Command::new("git");
    // An identity for the commits `git am` makes, in case the attendee has none configured.
    command
        .current_dir(dir)
        .args([
            "-c",
            "user.name=ISS workshop",
            "-c",
            "user.email=workshop@localhost",
        ])
        .args(args);
    if let Some(path) = stdin {
        command.stdin(
            std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?,
        );
    }
    let output = command
        .output()
        .context("cannot run git: is it installed?")?;
    if !output.status.success() {
        bail!(
            "git {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(output)
}

/// A detached worktree at `base`, in a temporary directory: removed again when dropped.
struct TempWorktree {
    repo: PathBuf,
    path: PathBuf,
    /// Deleted after git has let go of the worktree.
    _dir: tempfile::TempDir,
}

impl TempWorktree {
    fn new(repo: &Path, base: &str) -> anyhow::Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix("iss-workshop-steps-")
            .tempdir()
            .context("cannot make a temporary directory")?;
        let path = dir.path().join("tree");
        let args = ["worktree", "add", "--detach", "--quiet"];
        git(
            repo,
            &[&args[..], &[&path.to_string_lossy(), base]].concat(),
            None,
        )
        .with_context(|| format!("cannot check out {base}"))?;
        Ok(Self {
            repo: repo.to_owned(),
            path,
            _dir: dir,
        })
    }

    fn head(&self) -> anyhow::Result<String> {
        Ok(stdout(git(&self.path, &["rev-parse", "HEAD"], None)?))
    }
}

impl Drop for TempWorktree {
    fn drop(&mut self) {
        let path = self.path.to_string_lossy().into_owned();
        let _ = git(&self.repo, &["worktree", "remove", "--force", &path], None);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_section_is_numbered_in_its_name() {
        assert_eq!(section_number("section-0-resources"), Some(0));
        assert_eq!(section_number("section-6-collector"), Some(6));
        assert_eq!(section_number("section-12-more"), Some(12));
        assert_eq!(section_number("resources"), None);
        assert_eq!(section_number("section-x-y"), None);
    }
}
