//! Every `.rs` file in a crate's `tests/` is declared in its `tests/tests.rs`: with one test
//! binary per crate (`autotests = false`), a file left out would never be compiled or run.

use std::collections::BTreeSet;
use std::path::Path;

use crate::common::workspace;

#[test]
fn every_test_file_of_every_crate_is_a_module_of_its_test_binary() {
    let root = workspace();
    let mut problems = Vec::new();
    let mut crates = 0;
    for entry in walk(&root) {
        let tests = entry.join("tests");
        let list = tests.join("tests.rs");
        if !list.exists() {
            continue;
        }
        crates += 1;
        let text = std::fs::read_to_string(&list).unwrap();
        let declared: BTreeSet<&str> = text
            .lines()
            .filter_map(|l| l.strip_prefix("mod ")?.strip_suffix(';'))
            .collect();
        for file in std::fs::read_dir(&tests).unwrap().flatten() {
            let path = file.path();
            let Some(stem) = path.file_stem().and_then(|s| s.to_str()) else {
                continue;
            };
            let module =
                path.extension().is_some_and(|e| e == "rs") || path.join("mod.rs").exists();
            if module && stem != "tests" && !declared.contains(stem) {
                problems.push(format!(
                    "{}: not declared in {}",
                    path.display(),
                    list.display()
                ));
            }
        }
        let manifest = std::fs::read_to_string(entry.join("Cargo.toml")).unwrap();
        if !manifest.contains("autotests = false") {
            problems.push(format!(
                "{}: has tests/tests.rs but not `autotests = false` (each file would be a binary too)",
                entry.display()
            ));
        }
    }
    assert!(
        crates >= 5,
        "only {crates} crates with tests/tests.rs under {}",
        root.display()
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The workspace's crate directories (those with a Cargo.toml), skipping build output.
fn walk(root: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        if dir.join("Cargo.toml").exists() {
            out.push(dir.clone());
        }
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            let name = entry.file_name();
            let skip = name == "target"
                || name == "node_modules"
                || name.to_string_lossy().starts_with('.');
            if path.is_dir() && !skip {
                stack.push(path);
            }
        }
    }
    out
}
