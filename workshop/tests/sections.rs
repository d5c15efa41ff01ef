//! The workshop's promise, section by section: on the tree before section N, `check N`
//! fails; after applying section N's patch, `check N` (which checks sections 0..=N) passes,
//! and still passes with the section's optional exercises (`steps/optional`) applied.
//! The last state is the reference implementation; `check 5` passing on it also proves that
//! an incoming traceparent and tracestate are honoured across all four services, and that
//! every request and call is in the HTTP histograms. Section 6 changes the collector's
//! config instead of the services: its check runs the real collector (built by
//! `cargo run -p platform-live --bin build-platform`).

use crate::common;
use common::{
    RepoClone, final_tree, last_section, optional_patches, patches, section_number, text,
    workshop_in,
};

/// The lines of section `n` in a checklist.
fn section_lines(stdout: &str, n: usize) -> String {
    let header = format!("Section {n} ·");
    let start = stdout
        .find(&header)
        .unwrap_or_else(|| panic!("no {header} in:\n{stdout}"));
    let rest = &stdout[start..];
    let end = rest[header.len()..]
        .find("\nSection ")
        .map_or(rest.len(), |i| i + header.len());
    rest[..end].to_string()
}

#[test]
fn each_section_fails_its_check_before_and_passes_after() {
    let clone = RepoClone::new("sections");
    let tree = clone.dir.to_string_lossy().into_owned();
    for patch in patches() {
        let n = section_number(&patch);
        let section = n.to_string();

        let before = workshop_in(
            "sections",
            &clone.dir,
            &["check", &section, "--tree", &tree],
        );
        let stdout = text(&before.stdout);
        assert!(
            !before.status.success(),
            "check {n} passed before section {n}:\n{stdout}"
        );
        assert!(
            section_lines(&stdout, n).contains('✗'),
            "check {n} before section {n} should fail section {n} itself:\n{stdout}"
        );

        clone.apply(&patch);
        let after = workshop_in(
            "sections",
            &clone.dir,
            &["check", &section, "--tree", &tree],
        );
        let stdout = text(&after.stdout);
        assert!(
            after.status.success(),
            "check {n} failed after section {n}:\n{stdout}\n{}",
            text(&after.stderr)
        );
        assert!(!stdout.contains('✗'), "{stdout}");

        // The chapter's optional exercises build, and break nothing the check sees.
        for optional in optional_patches(n) {
            clone.apply(&optional);
            let with = workshop_in(
                "sections",
                &clone.dir,
                &["check", &section, "--tree", &tree],
            );
            assert!(
                with.status.success(),
                "check {n} failed with {}:\n{}\n{}",
                optional.display(),
                text(&with.stdout),
                text(&with.stderr)
            );
            clone.unapply(&optional);
        }
    }
}

#[test]
fn the_final_state_also_passes_over_grpc() {
    let (tree, _lock) = final_tree();
    let dir = tree.to_string_lossy().into_owned();
    let last = last_section().to_string();
    let output = workshop_in(
        "final",
        &tree,
        &["check", &last, "--tree", &dir, "--protocol", "grpc"],
    );
    assert!(
        output.status.success(),
        "{}\n{}",
        text(&output.stdout),
        text(&output.stderr)
    );
}
