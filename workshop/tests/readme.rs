//! The README stays true: its links point at files that exist, and every `workshop`
//! command it shows is one the CLI accepts.

use platform_check::repo_root;
use std::process::Command;

fn readme() -> String {
    std::fs::read_to_string(repo_root().join("README.md")).expect("README.md exists")
}

#[test]
fn every_relative_link_resolves() {
    let targets = crate::chapters::links(&readme())
        .into_iter()
        .map(|(_, t)| t);
    let mut checked = 0;
    for target in targets {
        checked += 1;
        if target.starts_with("http://")
            || target.starts_with("https://")
            || target.starts_with('#')
        {
            continue;
        }
        let path = target.split('#').next().unwrap();
        assert!(
            repo_root().join(path).exists(),
            "README links to {target}, which does not exist"
        );
    }
    assert!(checked > 10, "found only {checked} links");
}

#[test]
fn every_workshop_command_exists() {
    let readme = readme();
    let commands: Vec<&str> = readme
        .match_indices("cargo run -p workshop -- ")
        .map(|(at, prefix)| {
            readme[at + prefix.len()..]
                .split(['`', '\n'])
                .next()
                .unwrap()
        })
        .collect();
    assert!(
        !commands.is_empty(),
        "the README shows how to run the workshop"
    );
    for command in commands {
        let mut args: Vec<&str> = command.split_whitespace().collect();
        // Ask for help instead of running it, keeping the options to check they parse.
        args.push("--help");
        let output = Command::new(env!("CARGO_BIN_EXE_workshop"))
            .args(&args)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "`workshop {command}` is not a valid command: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}
