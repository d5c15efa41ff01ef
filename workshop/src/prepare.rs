//! `workshop prepare`: compiles, the day before, everything the workshop's commands run, so
//! that on the day nothing compiles but what you change (chapter 00).
//!
//! That is a plain `cargo build`: the workspace's default members are exactly what the day
//! runs (the workshop, the four services, platform-live), and the `workspace-hack` crate
//! gives each dependency the same features whichever of them a later command selects.
//! Then the finished workshop, for `up --solution`, into the same target directory.

use std::process::Stdio;

use anyhow::{Context, bail};
use tokio::process::Command;

use crate::build::{cargo, target_dir_override, workspace_root};
use crate::solution;

#[derive(clap::Args)]
pub struct Args {
    /// The commit the sections start from, for `up --solution`.
    #[arg(long, default_value = "main")]
    base: String,
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    let repo = workspace_root();
    eprintln!("building the workshop, the services and platform-live (`cargo build`) …");
    let mut command = Command::new(cargo());
    command
        .current_dir(&repo)
        .arg("build")
        .stdin(Stdio::null())
        .kill_on_drop(true);
    if let Some(dir) = target_dir_override() {
        command.env("CARGO_TARGET_DIR", dir);
    }
    if !command
        .status()
        .await
        .context("cannot run cargo")?
        .success()
    {
        bail!("`cargo build` failed (see its errors above)");
    }
    eprintln!("building the finished workshop, for `up --solution` …");
    solution::build(&repo, &args.base, false).await?;
    eprintln!("ready: the workshop's commands will compile only what you change");
    Ok(())
}
