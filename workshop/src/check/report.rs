//! The checklist: one verdict per check, ✓ or ✗, grouped by section, with a hint naming the
//! file to look at for every ✗ (the shared [`crate::report`] model), and how the checks
//! word what they found.

use std::fmt::Display;

pub use crate::report::Report;

/// A check's verdict: `Check::new(what is promised, where to look, whether it holds)`.
pub type Check = crate::report::Verdict;

/// "a, b and c".
pub fn list<T: Display>(items: &[T]) -> String {
    let items: Vec<String> = items.iter().map(T::to_string).collect();
    match items.as_slice() {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// At most `n` problems, then "(and k more)".
pub fn first<T: Display>(problems: &[T], n: usize) -> String {
    let shown: Vec<String> = problems.iter().take(n).map(T::to_string).collect();
    match problems.len() - shown.len() {
        0 => shown.join("; "),
        more => format!("{} (and {more} more)", shown.join("; ")),
    }
}

/// Counted values, e.g. `200 ×4, 502 ×1`, or `none`.
pub fn counted<T: Display>(values: &std::collections::BTreeMap<T, usize>) -> String {
    if values.is_empty() {
        return "none".to_owned();
    }
    values
        .iter()
        .map(|(value, n)| format!("{value} ×{n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_read_naturally() {
        let items: Vec<String> = ["a", "b", "c"].map(String::from).into();
        assert_eq!(list(&items), "a, b and c");
        assert_eq!(first(&items, 2), "a; b (and 1 more)");
    }
}
