//! The one report model of `check`, `doctor` and `fault`: a [`Verdict`] a line (how it
//! stands, what it is about, what was found, what to do), grouped in titled [`Section`]s
//! into a [`Report`]. The commands build reports; how one looks is decided here alone, as
//! text for a person or as JSON for a script (`--json`), written to any `Write`.

use std::fmt;
use std::io::{self, Write};

use serde::Serialize;

/// How wide a table may be: a fixed width, not the terminal's, so that what the chapters
/// quote is what everyone sees.
const WIDTH: u16 = 92;

/// How a verdict stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    /// Something to know, never a problem (e.g. what differs on this system).
    Info,
    /// Worth fixing, but in nobody's way.
    Warn,
    Fail,
}

impl Status {
    pub fn mark(self) -> &'static str {
        match self {
            Status::Ok => "✓",
            Status::Info => "i",
            Status::Warn => "!",
            Status::Fail => "✗",
        }
    }
}

/// One line of a report: `✓ what`, `✓ what — detail`, `✗ what — detail. Hint`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Verdict {
    pub status: Status,
    /// What is judged: `Rust`, `iss-distance exports incoming.requests = 6`.
    pub what: String,
    /// What was found, in a line; empty when `what` says it all.
    pub detail: String,
    /// What to do about it, as a sentence; shown unless the status is ok.
    pub hint: Option<String>,
}

impl Verdict {
    /// Whether `what` holds, from `result` (`Err` says what was found instead), with where
    /// to look when it does not.
    pub fn new(what: impl Into<String>, look_at: &str, result: Result<(), String>) -> Verdict {
        match result {
            Ok(()) => Verdict::ok(what, ""),
            Err(found) => Verdict::fail(what, found, &format!("Look at {look_at}")),
        }
    }

    pub fn ok(what: impl Into<String>, detail: impl Into<String>) -> Verdict {
        Verdict::of(Status::Ok, what.into(), detail.into(), None)
    }

    pub fn info(what: impl Into<String>, detail: impl Into<String>) -> Verdict {
        Verdict::of(Status::Info, what.into(), detail.into(), None)
    }

    pub fn warn(what: impl Into<String>, detail: impl Into<String>, hint: &str) -> Verdict {
        Verdict::of(Status::Warn, what.into(), detail.into(), Some(hint))
    }

    pub fn fail(what: impl Into<String>, detail: impl Into<String>, hint: &str) -> Verdict {
        Verdict::of(Status::Fail, what.into(), detail.into(), Some(hint))
    }

    pub fn of(status: Status, what: String, detail: String, hint: Option<&str>) -> Verdict {
        let hint = hint.map(str::to_owned);
        Verdict {
            status,
            what,
            detail,
            hint,
        }
    }

    /// Whether it is anything but a failure.
    pub fn passed(&self) -> bool {
        self.status != Status::Fail
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.status.mark(), self.what)?;
        let detail = self.detail.trim();
        if !detail.is_empty() {
            write!(f, " — {detail}")?;
        }
        match self.hint.as_ref().filter(|_| self.status != Status::Ok) {
            // The hint is a sentence of its own.
            Some(hint) if detail.ends_with(['.', '?', '!']) => write!(f, " {hint}"),
            Some(hint) => write!(f, ". {hint}"),
            None => Ok(()),
        }
    }
}

/// A titled group of verdicts, in the order shown. Without verdicts, its title is a
/// paragraph.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Section {
    pub title: String,
    pub verdicts: Vec<Verdict>,
    /// Whether the text shows the verdicts as a table of what and detail, without marks
    /// (for facts rather than judgements), wrapped to [`WIDTH`]; else a line each.
    #[serde(skip)]
    pub table: bool,
}

impl Section {
    pub fn new(title: impl Into<String>, verdicts: Vec<Verdict>) -> Section {
        Section {
            title: title.into(),
            verdicts,
            table: false,
        }
    }

    /// A table of `(what, detail)` rows.
    pub fn table<'a>(
        title: impl Into<String>,
        rows: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Section {
        let verdicts = rows
            .into_iter()
            .map(|(what, detail)| Verdict::info(what, detail));
        Section {
            table: true,
            ..Section::new(title, verdicts.collect())
        }
    }

    fn write_table(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.verdicts.is_empty() {
            return Ok(());
        }
        let mut table = comfy_table::Table::new();
        table
            .load_style(comfy_table::TableStyle::new())
            .set_content_arrangement(comfy_table::ContentArrangement::Dynamic)
            .set_width(WIDTH)
            .add_rows(self.verdicts.iter().map(|v| [&v.what, &v.detail]));
        // Indented as a verdict's line is, and two spaces between the columns.
        for (column, padding) in table.column_iter_mut().zip([(2, 2), (0, 0)]) {
            column.set_padding(padding);
        }
        writeln!(f, "{}", table.trim_fmt())
    }
}

/// Everything a command found, in order, and what it comes to.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    pub sections: Vec<Section>,
    /// Printed last: `Section 2 is done: …`, `You can take path (a) now: …`.
    pub conclusion: String,
}

impl Report {
    pub fn add(&mut self, title: impl Into<String>, verdicts: Vec<Verdict>) {
        self.sections.push(Section::new(title, verdicts));
    }

    pub fn verdicts(&self) -> impl Iterator<Item = &Verdict> {
        self.sections.iter().flat_map(|s| &s.verdicts)
    }

    pub fn count(&self, status: Status) -> usize {
        self.verdicts().filter(|v| v.status == status).count()
    }

    pub fn passed(&self) -> bool {
        self.verdicts().all(Verdict::passed)
    }

    /// Writes the report as text, or as one JSON object: its `sections` (each a `title`
    /// and its `verdicts`: `status`, `what`, `detail`, `hint`), the `conclusion`, and the
    /// number of `failures` and `warnings`.
    pub fn write(&self, out: &mut impl Write, json: bool) -> io::Result<()> {
        if !json {
            return write!(out, "{self}");
        }
        #[derive(Serialize)]
        struct Json<'a> {
            #[serde(flatten)]
            report: &'a Report,
            failures: usize,
            warnings: usize,
        }
        let json = Json {
            report: self,
            failures: self.count(Status::Fail),
            warnings: self.count(Status::Warn),
        };
        serde_json::to_writer_pretty(&mut *out, &json)?;
        writeln!(out)
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for section in &self.sections {
            writeln!(f, "{}", section.title)?;
            if section.table {
                section.write_table(f)?;
            } else {
                for verdict in &section.verdicts {
                    writeln!(f, "  {verdict}")?;
                }
            }
            writeln!(f)?;
        }
        if !self.conclusion.is_empty() {
            writeln!(f, "{}", self.conclusion)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_verdict_is_one_line_with_its_mark_and_a_hint_unless_ok() {
        let passed = Verdict::new("iss-distance exports incoming.requests = 6", "x", Ok(()));
        assert_eq!(
            passed.to_string(),
            "✓ iss-distance exports incoming.requests = 6"
        );
        let failed = Verdict::new(
            "iss.requests{http.response.status_code=500} = 1",
            "services/iss-distance/src/position.rs",
            Err("got nothing.\n".into()),
        );
        assert_eq!(
            failed.to_string(),
            "✗ iss.requests{http.response.status_code=500} = 1 — got nothing. Look at services/iss-distance/src/position.rs"
        );
        assert_eq!(Verdict::ok("Rust", "1.95.0").to_string(), "✓ Rust — 1.95.0");
        let warned = Verdict::warn("cargo-nextest", "not installed", "Install it");
        assert_eq!(
            warned.to_string(),
            "! cargo-nextest — not installed. Install it"
        );
        let bare = Verdict::fail("No: it is not sign-bug", "", "Look again");
        assert_eq!(bare.to_string(), "✗ No: it is not sign-bug. Look again");
    }

    fn report() -> Report {
        let mut report = Report::default();
        report.add(
            "Section 1 · metrics",
            vec![
                Verdict::ok("a", ""),
                Verdict::fail("b", "got 2", "Look at c"),
            ],
        );
        report.add("Section 2 · logs", vec![Verdict::warn("d", "late", "Wait")]);
        report.conclusion = "1 of 3 checks fail.".into();
        report
    }

    #[test]
    fn text_is_titled_sections_of_indented_lines_then_the_conclusion() {
        let mut out = Vec::new();
        report().write(&mut out, false).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "Section 1 · metrics\n  ✓ a\n  ✗ b — got 2. Look at c\n\n\
             Section 2 · logs\n  ! d — late. Wait\n\n1 of 3 checks fail.\n"
        );
        assert!(!report().passed());
        assert_eq!(report().count(Status::Fail), 1);
    }

    #[test]
    fn json_has_every_verdict_and_the_counts() {
        let mut out = Vec::new();
        report().write(&mut out, true).unwrap();
        let json: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(json["failures"], 1);
        assert_eq!(json["warnings"], 1);
        assert_eq!(json["conclusion"], "1 of 3 checks fail.");
        assert_eq!(json["sections"][0]["title"], "Section 1 · metrics");
        assert_eq!(
            json["sections"][0]["verdicts"][1],
            serde_json::json!({"status": "fail", "what": "b", "detail": "got 2", "hint": "Look at c"})
        );
        assert_eq!(json["sections"][1]["verdicts"][0]["status"], "warn");
    }

    #[test]
    fn a_table_aligns_and_wraps_without_marks() {
        let long = "word ".repeat(40);
        let report = Report {
            sections: vec![
                Section::new("A paragraph.", Vec::new()),
                Section::table(
                    "Where:",
                    [("dashboard", long.as_str()), ("logs", "nothing")],
                ),
            ],
            conclusion: String::new(),
        };
        let text = report.to_string();
        assert!(
            text.starts_with("A paragraph.\n\nWhere:\n  dashboard  word word"),
            "{text}"
        );
        assert!(text.contains("\n  logs       nothing\n"), "{text}");
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            lines
                .iter()
                .all(|l| l.chars().count() <= usize::from(WIDTH)),
            "{text}"
        );
        assert!(
            lines[4].starts_with("             word"),
            "under the column: {text}"
        );
        assert_eq!(text.split_whitespace().filter(|w| *w == "word").count(), 40);
    }
}
