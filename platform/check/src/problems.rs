//! Turning a check's problems into one test failure.
//!
//! The checks return every problem they find instead of stopping at the first, so that one
//! run shows all that is wrong with a file; this is where a test gives up on a non-empty list.

/// Panics with every problem, one per line, if there are any.
pub fn assert_no_problems(what: &str, problems: &[String]) {
    if !problems.is_empty() {
        panic!(
            "{what}: {} problem(s):\n  - {}",
            problems.len(),
            problems.join("\n  - ")
        );
    }
}
