//! The checklist: one line per check, ✓ or ✗, grouped by section, with a hint naming the
//! file to look at for every ✗.

use std::fmt::Write;

/// One check and how it went.
#[derive(Clone, Debug, PartialEq)]
pub struct Check {
    /// What is promised, e.g. `iss-distance exports incoming.requests = 6`.
    pub what: String,
    /// `None` if it holds, else what was found instead (one line).
    pub problem: Option<String>,
    /// Where to look when it does not hold (a path in the workspace, or a short pointer).
    pub hint: &'static str,
}

impl Check {
    pub fn new(what: impl Into<String>, hint: &'static str, result: Result<(), String>) -> Check {
        Check {
            what: what.into(),
            problem: result.err(),
            hint,
        }
    }

    pub fn passed(&self) -> bool {
        self.problem.is_none()
    }

    /// `✓ what` or `✗ what — problem. Look at hint`.
    pub fn line(&self) -> String {
        match &self.problem {
            None => format!("✓ {}", self.what),
            Some(problem) => {
                let problem = problem.trim().trim_end_matches('.');
                format!("✗ {} — {problem}. Look at {}", self.what, self.hint)
            }
        }
    }
}

/// A titled group of checks: the setup, or one section.
#[derive(Clone, Debug, PartialEq)]
pub struct Group {
    pub title: String,
    pub checks: Vec<Check>,
}

/// Everything checked, in order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Report {
    pub groups: Vec<Group>,
}

impl Report {
    pub fn add(&mut self, title: impl Into<String>, checks: Vec<Check>) {
        self.groups.push(Group {
            title: title.into(),
            checks,
        });
    }

    pub fn checks(&self) -> impl Iterator<Item = &Check> {
        self.groups.iter().flat_map(|g| g.checks.iter())
    }

    pub fn passed(&self) -> bool {
        self.checks().all(Check::passed)
    }

    pub fn failures(&self) -> usize {
        self.checks().filter(|c| !c.passed()).count()
    }

    /// The checklist as printed.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for group in &self.groups {
            let _ = writeln!(out, "{}", group.title);
            for check in &group.checks {
                let _ = writeln!(out, "  {}", check.line());
            }
            out.push('\n');
        }
        out
    }
}

/// "a, b and c".
pub fn list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// At most `n` problems, then "(and k more)".
pub fn first(problems: &[String], n: usize) -> String {
    if problems.len() <= n {
        return problems.join("; ");
    }
    format!(
        "{} (and {} more)",
        problems[..n].join("; "),
        problems.len() - n
    )
}

/// Counted values, e.g. `200 ×4, 502 ×1`, or `none`.
pub fn counted<T: std::fmt::Display>(values: &std::collections::BTreeMap<T, usize>) -> String {
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
    fn lines_have_a_mark_and_a_hint_on_failure() {
        let ok = Check::new("iss-distance exports incoming.requests = 6", "x", Ok(()));
        assert_eq!(ok.line(), "✓ iss-distance exports incoming.requests = 6");
        let bad = Check::new(
            "iss.requests{http.response.status_code=500} = 1",
            "services/iss-distance/src/position.rs",
            Err("got nothing.".into()),
        );
        assert_eq!(
            bad.line(),
            "✗ iss.requests{http.response.status_code=500} = 1 — got nothing. Look at services/iss-distance/src/position.rs"
        );
        let mut report = Report::default();
        report.add("Section 1 · metrics", vec![ok, bad]);
        assert!(!report.passed());
        assert_eq!(report.failures(), 1);
        assert!(report.render().starts_with("Section 1 · metrics\n  ✓ "));
    }

    #[test]
    fn lists_read_naturally() {
        let items: Vec<String> = ["a", "b", "c"].map(String::from).into();
        assert_eq!(list(&items), "a, b and c");
        assert_eq!(first(&items, 2), "a; b (and 1 more)");
    }
}
