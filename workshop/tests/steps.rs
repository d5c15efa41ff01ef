//! `workshop branches` and `workshop solve`, on a clone of this repository.

use crate::common;
use common::{RepoClone, patches, text, workshop};

/// The section branches, one per patch, in order.
fn branches() -> Vec<String> {
    patches()
        .iter()
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect()
}

#[test]
fn branches_are_one_commit_each_on_top_of_the_previous() {
    let clone = RepoClone::new("branches");
    let repo = clone.dir.to_string_lossy().into_owned();
    let output = workshop(&clone.dir, &["branches", "--repo", &repo]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let mut parent = "main".to_string();
    for branch in branches() {
        let first_parent = text(&clone.git(&["rev-parse", &format!("{branch}~1")]).stdout);
        let expected = text(&clone.git(&["rev-parse", &parent]).stdout);
        assert_eq!(
            first_parent, expected,
            "{branch} is one commit on top of {parent}"
        );
        parent = branch.clone();
    }
    let diff = clone.git(&["diff", "--stat", "section-1-metrics", "section-2-logging"]);
    assert!(text(&diff.stdout).contains("services/telemetry/src/logs.rs"));
    // Running it again moves the branches to the same place.
    assert!(
        workshop(&clone.dir, &["branches", "--repo", &repo])
            .status
            .success()
    );
}

#[test]
fn solve_brings_the_tree_to_the_end_of_a_section() {
    let clone = RepoClone::new("solve");
    let repo = clone.dir.to_string_lossy().into_owned();
    let solve = |n: &str| workshop(&clone.dir, &["solve", n, "--repo", &repo]);

    assert!(solve("3").status.success());
    // Stage everything (new files included) and compare with the branch.
    clone.git(&["add", "--all", "services"]);
    let diff = clone.git(&[
        "diff",
        "--cached",
        "--stat",
        "section-3-tracing",
        "--",
        "services",
    ]);
    let diff = text(&diff.stdout);
    assert!(diff.is_empty(), "services/ as in section 3: {diff}");
    clone.git(&["reset", "--quiet"]);
    let traces = || std::fs::read_to_string(clone.dir.join("services/telemetry/src/traces.rs"));
    assert!(traces().unwrap().contains("SpanExporter"));

    // Going back undoes what later sections wrote; solve's own changes are not "work".
    assert!(solve("0").status.success());
    assert!(traces().unwrap().contains("TODO(section 3)"));
    let resource =
        std::fs::read_to_string(clone.dir.join("services/telemetry/src/resource.rs")).unwrap();
    assert!(resource.contains("DEPLOYMENT_ENVIRONMENT_NAME"));
}

#[test]
fn solve_refuses_to_overwrite_uncommitted_work() {
    let clone = RepoClone::new("solve-refuses");
    let repo = clone.dir.to_string_lossy().into_owned();
    let lib = clone.dir.join("services/telemetry/src/lib.rs");
    let mine = std::fs::read_to_string(&lib).unwrap() + "\n// my own work\n";
    std::fs::write(&lib, &mine).unwrap();

    let output = workshop(&clone.dir, &["solve", "2", "--repo", &repo]);
    assert!(!output.status.success());
    let stderr = text(&output.stderr);
    assert!(
        stderr
            .contains("would overwrite your uncommitted changes to services/telemetry/src/lib.rs"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_to_string(&lib).unwrap(),
        mine,
        "the work is untouched"
    );
}

#[test]
fn solve_rejects_a_section_that_does_not_exist() {
    let output = workshop(&std::env::temp_dir(), &["solve", "9"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        text(&output.stderr).contains("there is no section 9: choose 0, 1, 2, 3, 4, 5 or 6"),
        "{}",
        text(&output.stderr)
    );
}

#[test]
fn solve_6_brings_the_collectors_config_and_solve_4_takes_it_back() {
    let clone = RepoClone::new("solve-collector");
    let repo = clone.dir.to_string_lossy().into_owned();
    let solve = |n: &str| workshop(&clone.dir, &["solve", n, "--repo", &repo]);
    let config =
        || std::fs::read_to_string(clone.dir.join("platform/otel-collector/config.yaml")).unwrap();
    assert!(config().contains("TODO(section 6)"));
    let output = solve("6");
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(config().contains("tail_sampling:"), "{}", config());
    let output = solve("4");
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(config().contains("TODO(section 6)"));
}
