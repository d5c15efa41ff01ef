//! The workshop's chapters (`workshop/chapters/*.md`, table of contents `workshop/README.md`)
//! stay true to the code and to the repository:
//!
//! - every ```rust block is annotated with the file it comes from (`<!-- file: PATH -->` on
//!   the line before it) and appears, line for line, in that file as it is after the
//!   chapter's section (patches `0..=N` applied to a clone of this repository); so does
//!   every ```yaml block annotated that way (section 6 is typed in the collector's config);
//! - every relative link and image resolves, `#anchors` included;
//! - every Grafana Explore link decodes to valid JSON, names a provisioned datasource uid,
//!   and queries exactly a query shown in a code block of the same chapter;
//! - every command in a ```sh block is one that exists: `cargo run -p workshop -- ...` is run
//!   with `--help` appended, `git checkout`/`git diff` name the section branches, compose
//!   and other files named exist, packages named are workspace members;
//! - every ```sh block that sets an environment variable is followed by its PowerShell form.

use crate::common;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{
    RepoClone, last_section, optional_patches, patch_of, patches, section_number, workspace,
};

/// The section each chapter belongs to; the others show the finished code (the last
/// section).
const CHAPTERS: [(&str, Option<usize>); 11] = [
    ("00-before-you-start.md", None),
    ("01-introduction.md", None),
    ("02-section-0-resources.md", Some(0)),
    ("03-section-1-metrics.md", Some(1)),
    ("04-section-2-logs.md", Some(2)),
    ("05-section-3-traces.md", Some(3)),
    ("06-section-4-distributed-tracing.md", Some(4)),
    ("07-section-5-instrumentation-libraries.md", Some(5)),
    ("08-section-6-collector.md", Some(6)),
    ("09-find-the-fault.md", None),
    ("10-wrap-up.md", None),
];

/// The instructor's chapter: no part of an attendee's day (no time, no row in the table of
/// contents), its links and commands checked like the others'. Its `room` commands need
/// the workshop's `room` feature: `room::the_room_commands_shown_exist` runs them.
const INSTRUCTOR: &str = "instructor.md";

/// The chapter read at home, before the day: not part of the day's time.
const AT_HOME: &str = "00-before-you-start.md";
const WRAP_UP: &str = "10-wrap-up.md";
/// The sections that make up the core of the workshop, 0 to 4; section 5 comes after.
const CORE_SECTIONS: usize = 5;
/// The sections of the day, 0 to 5; later ones (the collector, 6) extend it for a longer
/// slot, each with its own time.
const DAY_SECTIONS: usize = 6;
/// Chapters of no section that extend the day too, with their own time: the troubleshooting
/// capstone.
const EXTENSIONS: [&str; 1] = ["09-find-the-fault.md"];

/// The languages of the blocks that show what an attendee types, and each one's line
/// comment: Rust in the services, YAML in the collector's config (section 6).
const TYPED: [(&str, &str, &str); 2] = [("rust", ".rs", "//"), ("yaml", ".yaml", "#")];

fn shows_typed_code(block: &Block) -> bool {
    TYPED.iter().any(|(lang, ..)| block.lang == *lang)
}

fn chapters_dir() -> PathBuf {
    workspace().join("workshop/chapters")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// Every Markdown file the tests look at: the table of contents and the chapters.
fn documents() -> Vec<(PathBuf, String)> {
    let mut docs = vec![workspace().join("workshop/README.md")];
    docs.extend(CHAPTERS.iter().map(|(name, _)| chapters_dir().join(name)));
    docs.push(chapters_dir().join(INSTRUCTOR));
    docs.into_iter()
        .map(|path| {
            let text = read(&path);
            (path, text)
        })
        .collect()
}

fn display(path: &Path) -> String {
    path.strip_prefix(workspace())
        .unwrap_or(path)
        .display()
        .to_string()
}

// ---------------------------------------------------------------------------------------
// Markdown parsing: just enough for fenced code blocks, links and headings.

/// A fenced code block.
#[derive(Debug)]
struct Block {
    /// The info string after the opening fence (`rust`, `sh`, ...).
    lang: String,
    /// Line number (1-based) of the opening fence.
    line: usize,
    /// The block's lines, without the fences.
    body: Vec<String>,
    /// `<!-- file: PATH -->` on the line before the fence: `PATH`; or
    /// `<!-- optional: PATH -->`: `optional: PATH`.
    annotation: Option<String>,
}

fn blocks(markdown: &str) -> Vec<Block> {
    let lines: Vec<&str> = markdown.lines().collect();
    let mut blocks = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let trimmed = lines[i].trim_start();
        if let Some(info) = trimmed.strip_prefix("```") {
            let indent = lines[i].len() - trimmed.len();
            let annotation = (i > 0)
                .then(|| lines[i - 1].trim())
                .and_then(|prev| prev.strip_prefix("<!--"))
                .and_then(|rest| rest.strip_suffix("-->"))
                .map(str::trim)
                .and_then(|inner| {
                    inner
                        .strip_prefix("file:")
                        .map(|path| path.trim().to_string())
                        .or_else(|| inner.starts_with("optional:").then(|| inner.to_string()))
                });
            let start = i;
            let mut body = Vec::new();
            i += 1;
            while i < lines.len() && !lines[i].trim_start().starts_with("```") {
                // Blocks inside list items are indented; the indent is not part of the code.
                let line = lines[i];
                let cut = line.len() - line.trim_start().len();
                body.push(line[indent.min(cut)..].to_string());
                i += 1;
            }
            blocks.push(Block {
                lang: info.trim().to_string(),
                line: start + 1,
                body,
                annotation,
            });
        }
        i += 1;
    }
    blocks
}

/// The Markdown outside fenced code blocks, with inline code removed, line by line.
fn prose(markdown: &str) -> Vec<(usize, String)> {
    let mut in_block = false;
    let mut out = Vec::new();
    for (n, line) in markdown.lines().enumerate() {
        if line.trim_start().starts_with("```") {
            in_block = !in_block;
            continue;
        }
        if in_block {
            continue;
        }
        // Drop `inline code` so that `[x](y)` written as code is not a link.
        let mut text = String::new();
        let mut in_code = false;
        for c in line.chars() {
            if c == '`' {
                in_code = !in_code;
            } else if !in_code {
                text.push(c);
            }
        }
        out.push((n + 1, text));
    }
    out
}

/// Targets of the links and images of a Markdown text (`[text](target)`, `![alt](target)`,
/// references and autolinks, none in code), with their line numbers.
pub fn links(markdown: &str) -> Vec<(usize, String)> {
    use pulldown_cmark::{Event, Parser, Tag};
    Parser::new(markdown)
        .into_offset_iter()
        .filter_map(|(event, at)| match event {
            Event::Start(Tag::Link { dest_url, .. } | Tag::Image { dest_url, .. }) => {
                let line = markdown[..at.start].matches('\n').count() + 1;
                Some((line, dest_url.into_string()))
            }
            _ => None,
        })
        .collect()
}

/// GitHub's anchors for the headings of a Markdown file.
fn anchors(markdown: &str) -> BTreeSet<String> {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut out = BTreeSet::new();
    for (_, text) in prose(markdown) {
        let Some(heading) = text.strip_prefix('#') else {
            continue;
        };
        let heading = heading.trim_start_matches('#').trim();
        let slug: String = heading
            .to_lowercase()
            .chars()
            .filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '-' || *c == '_')
            .map(|c| if c == ' ' { '-' } else { c })
            .collect();
        let count = seen.entry(slug.clone()).or_insert(0);
        out.insert(if *count == 0 {
            slug.clone()
        } else {
            format!("{slug}-{count}")
        });
        *count += 1;
    }
    out
}

// ---------------------------------------------------------------------------------------
// 1. Snippets are the patches' code.

/// Where a snippet's file is to be read: on `main`, after section N, or after section N
/// and its optional exercise (`workshop/steps/optional/section-N-*.patch`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum State {
    Main,
    Section(usize),
    Optional(usize),
}

/// `PATH`, `PATH at main` or `PATH at section N`.
fn parse_annotation(annotation: &str, default: State) -> (String, State) {
    if let Some(path) = annotation.strip_prefix("optional:") {
        let State::Section(n) = default else {
            panic!("`optional:` blocks belong to a section's chapter: `{annotation}`");
        };
        return (path.trim().to_string(), State::Optional(n));
    }
    match annotation.split_once(" at ") {
        None => (annotation.to_string(), default),
        Some((path, "main")) => (path.trim().to_string(), State::Main),
        Some((path, state)) => {
            let n = state
                .strip_prefix("section ")
                .and_then(|n| n.trim().parse().ok())
                .unwrap_or_else(|| {
                    panic!(
                        "bad annotation `{annotation}`: use `PATH at section N` or `PATH at main`"
                    )
                });
            (path.trim().to_string(), State::Section(n))
        }
    }
}

/// Where in `file` the snippet is, or a description of the closest miss.
fn find_snippet(snippet: &[String], file: &str) -> Result<usize, String> {
    let lines: Vec<&str> = file.lines().collect();
    if snippet.is_empty() {
        return Err("the block is empty".into());
    }
    let mut best: Option<(usize, usize)> = None; // (start, matching lines)
    for start in 0..lines.len() {
        let matching = snippet
            .iter()
            .zip(&lines[start..])
            .take_while(|(a, b)| a.as_str() == **b)
            .count();
        if matching == snippet.len() {
            return Ok(start + 1);
        }
        if matching > 0 && best.is_none_or(|(_, m)| matching > m) {
            best = Some((start, matching));
        }
    }
    Err(match best {
        None => format!(
            "its first line does not occur in the file:\n    block: {:?}",
            snippet[0]
        ),
        Some((start, matching)) => format!(
            "the closest match starts at line {} of the file and differs at the block's line {}:\n    block: {:?}\n    file:  {:?}",
            start + 1,
            matching + 1,
            snippet[matching],
            lines
                .get(start + matching)
                .copied()
                .unwrap_or("<end of file>"),
        ),
    })
}

/// ```rust blocks, and ```yaml blocks annotated with their file (section 6's config).
#[test]
fn every_rust_snippet_is_the_code_of_its_section() {
    // Which (state, path) pairs are needed, and which blocks want them.
    let mut wanted: Vec<(String, Block, String, State)> = Vec::new();
    let mut problems = Vec::new();
    for (chapter, section) in CHAPTERS {
        let default = State::Section(section.unwrap_or_else(last_section));
        for block in blocks(&read(&chapters_dir().join(chapter))) {
            if !shows_typed_code(&block) {
                continue;
            }
            match &block.annotation {
                // YAML shown for other reasons (a compose excerpt) need not be a file's.
                None if block.lang == "yaml" => {}
                None => problems.push(format!(
                    "{chapter}:{}: a ```rust block without `<!-- file: PATH -->` on the line before it",
                    block.line
                )),
                Some(annotation) => {
                    let (path, state) = parse_annotation(annotation, default);
                    wanted.push((chapter.to_string(), block, path, state));
                }
            }
        }
    }
    assert!(
        wanted.len() >= 15,
        "only {} annotated rust blocks: the chapters show the code",
        wanted.len()
    );

    // The files in each state, from one clone with the patches applied in turn.
    let clone = RepoClone::new("chapters");
    let mut files: BTreeMap<(State, String), Option<String>> = BTreeMap::new();
    let record = |state: State, files: &mut BTreeMap<_, _>| {
        for (_, _, path, wanted_state) in &wanted {
            if *wanted_state == state {
                let content = std::fs::read_to_string(clone.dir.join(path)).ok();
                files.insert((state, path.clone()), content);
            }
        }
    };
    record(State::Main, &mut files);
    for patch in patches() {
        let n = section_number(&patch);
        clone.apply(&patch);
        record(State::Section(n), &mut files);
        let optional = optional_patches(n);
        for patch in &optional {
            clone.apply(patch);
        }
        record(State::Optional(n), &mut files);
        for patch in optional.iter().rev() {
            clone.unapply(patch);
        }
    }

    for (chapter, block, path, state) in &wanted {
        let where_ = format!(
            "{chapter}:{} (```{} block from {path}, {state:?})",
            block.line, block.lang
        );
        match &files[&(*state, path.clone())] {
            None => problems.push(format!("{where_}: {path} does not exist in that state")),
            Some(content) => {
                if let Err(miss) = find_snippet(&block.body, content) {
                    problems.push(format!("{where_}: not in the file: {miss}"));
                }
            }
        }
    }
    assert!(problems.is_empty(), "\n{}\n", problems.join("\n"));
}

// ---------------------------------------------------------------------------------------
// 1b. Every line an attendee types is shown, in order, with its file.

/// The lines a patch adds that an attendee types, by file, in order: code only (not blank,
/// not comments, not tests), in `.rs` files, and config lines in `.yaml` files. For Rust,
/// the same rules as the project's `attendee-lines` tool, which counts them against each
/// section's budget.
fn typed_lines(patch: &str) -> BTreeMap<String, Vec<String>> {
    let mut files = BTreeMap::new();
    for chunk in patch.split("\ndiff --git ").skip(1) {
        let header = chunk.lines().next().unwrap_or("");
        let name = header.rsplit(" b/").next().unwrap_or("").to_string();
        let Some((_, _, comment)) = TYPED.iter().find(|(_, ext, _)| name.ends_with(ext)) else {
            continue;
        };
        if name.contains("/tests/") {
            continue;
        }
        let mut lines = Vec::new();
        let mut in_tests = false;
        for line in chunk.lines().skip(1) {
            if line.starts_with("+++") || line.starts_with("---") {
                continue;
            }
            let body = line.get(1..).unwrap_or("");
            if body.trim_start().starts_with("#[cfg(test)]") {
                in_tests = true;
            }
            let code = body.trim();
            if !line.starts_with('+') || in_tests || code.is_empty() || code.starts_with(comment) {
                continue;
            }
            lines.push(body.to_string());
        }
        if !lines.is_empty() {
            files.insert(name, lines);
        }
    }
    files
}

/// The blocks of a chapter annotated with `path`, for one kind of annotation, concatenated
/// in the order they appear.
fn shown_lines(chapter: &str, path: &str, optional: bool) -> Vec<String> {
    blocks(chapter)
        .into_iter()
        .filter(shows_typed_code)
        .filter(|b| {
            let annotation = b.annotation.as_deref().unwrap_or("");
            match annotation.strip_prefix("optional:") {
                Some(file) => optional && file.trim() == path,
                None => !optional && annotation.split(" at ").next() == Some(path),
            }
        })
        .flat_map(|b| b.body)
        .collect()
}

/// The typed lines that are missing from `shown` (kept in order: each must come after the
/// one before it).
fn missing_in_order(typed: &[String], shown: &[String]) -> Vec<String> {
    let mut missing = Vec::new();
    let mut at = 0;
    for line in typed {
        match shown[at..].iter().position(|s| s == line) {
            Some(found) => at += found + 1,
            None => missing.push(line.clone()),
        }
    }
    missing
}

#[test]
fn every_typed_line_is_shown_in_its_chapter_in_order_with_its_file() {
    let mut problems = Vec::new();
    let mut checked = 0;
    for (chapter, section) in CHAPTERS {
        let Some(n) = section else { continue };
        let text = read(&chapters_dir().join(chapter));
        let mut patches = vec![(patch_of(n), false)];
        patches.extend(optional_patches(n).into_iter().map(|p| (p, true)));
        for (patch, optional) in patches {
            for (file, typed) in typed_lines(&read(&patch)) {
                checked += typed.len();
                let shown = shown_lines(&text, &file, optional);
                for line in missing_in_order(&typed, &shown) {
                    problems.push(format!(
                        "{chapter}: {} types `{}` in {file}, which no {} block shows (in order)",
                        display(&patch),
                        line.trim(),
                        if optional {
                            "`<!-- optional: FILE -->`"
                        } else {
                            "`<!-- file: FILE -->`"
                        },
                    ));
                }
            }
        }
    }
    assert!(checked > 100, "only {checked} typed lines");
    assert!(problems.is_empty(), "\n{}\n", problems.join("\n"));
}

#[test]
fn the_typed_lines_are_found_even_when_a_block_misses_one() {
    let typed = vec!["a".to_string(), "b".to_string(), "c".to_string()];
    let shown = vec!["a".to_string(), "x".to_string(), "c".to_string()];
    assert_eq!(missing_in_order(&typed, &shown), ["b"]);
    let reversed = vec!["c".to_string(), "b".to_string(), "a".to_string()];
    assert_eq!(missing_in_order(&typed, &reversed), ["b", "c"]);
    let patch = "x\ndiff --git a/s/x.rs b/s/x.rs\n--- a/s/x.rs\n+++ b/s/x.rs\n@@ -1 +1,4 @@\n+// no\n+\n+let a = 1;\n-let b = 2;\n #[cfg(test)]\n+let c = 3;\n";
    assert_eq!(
        typed_lines(patch),
        BTreeMap::from([("s/x.rs".to_string(), vec!["let a = 1;".to_string()])])
    );
}

// ---------------------------------------------------------------------------------------
// 1c. Each section reads in ten minutes, and its time is stated from what it asks.

/// Words of prose: outside code blocks, inline code, HTML comments and link targets.
fn prose_words(markdown: &str) -> usize {
    prose(markdown)
        .into_iter()
        .map(|(_, line)| {
            let mut text = line.clone();
            while let (Some(a), Some(b)) = (text.find("]("), text.find(')')) {
                if b < a {
                    break;
                }
                text.replace_range(a + 1..=b, "");
            }
            text
        })
        .filter(|line| !line.trim_start().starts_with("<!--"))
        .map(|line| {
            line.split_whitespace()
                .filter(|w| w.chars().any(char::is_alphanumeric))
                .count()
        })
        .sum()
}

/// At most this many words of prose in a section's chapter: ten minutes of reading.
const SECTION_WORDS: usize = 1500;

#[test]
fn every_section_chapter_reads_in_ten_minutes() {
    let mut problems = Vec::new();
    for (chapter, section) in CHAPTERS {
        if section.is_none() {
            continue;
        }
        let words = prose_words(&read(&chapters_dir().join(chapter)));
        eprintln!("{chapter}: {words} words of prose");
        if words > SECTION_WORDS {
            problems.push(format!(
                "{chapter}: {words} words of prose, more than {SECTION_WORDS}"
            ));
        }
    }
    assert!(problems.is_empty(), "\n{}\n", problems.join("\n"));
}

/// The minutes a chapter says it takes: `*Estimated time: N minutes…`.
fn estimated_minutes(chapter: &str) -> usize {
    let line = chapter
        .lines()
        .find(|l| l.starts_with("*Estimated time: "))
        .unwrap_or_else(|| panic!("no `*Estimated time: N minutes` line"));
    line["*Estimated time: ".len()..]
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no number of minutes in {line:?}"))
}

/// From "before you start" to the end of section 4, at most this long.
const CORE_MINUTES: usize = 150;
/// The day itself (introduction to wrap-up, section 5 included), at most this long: three
/// hours with twenty minutes of breaks.
const DAY_MINUTES: usize = 160;

#[test]
fn each_section_states_its_time_from_the_lines_it_asks_for_and_all_fits_in_two_and_a_half_hours() {
    let toc = read(&workspace().join("workshop/README.md"));
    let mut total = 0;
    let mut day = 0;
    let mut problems = Vec::new();
    for (chapter, section) in CHAPTERS {
        let text = read(&chapters_dir().join(chapter));
        let minutes = estimated_minutes(&text);
        // The table of contents says the same.
        let row = toc
            .lines()
            .find(|l| l.contains(&format!("(chapters/{chapter})")))
            .unwrap_or_else(|| panic!("no row for {chapter} in workshop/README.md"));
        if !row.contains(&format!("| {minutes} min")) {
            problems.push(format!(
                "{chapter} says {minutes} minutes, its row in workshop/README.md does not: {row}"
            ));
        }
        let core = section.is_none_or(|n| n < CORE_SECTIONS);
        if chapter != WRAP_UP && !EXTENSIONS.contains(&chapter) && core {
            total += minutes;
        }
        if chapter != AT_HOME
            && !EXTENSIONS.contains(&chapter)
            && section.is_none_or(|n| n < DAY_SECTIONS)
        {
            day += minutes;
        }
        let Some(n) = section else { continue };
        let typed: usize = typed_lines(&read(&patch_of(n)))
            .values()
            .map(Vec::len)
            .sum();
        let stated = format!("{typed} lines to type");
        if !text
            .lines()
            .find(|l| l.starts_with("*Estimated time: "))
            .unwrap()
            .contains(&stated)
        {
            problems.push(format!(
                "{chapter}: its time must say `{stated}` (the patch's count)"
            ));
        }
    }
    if total > CORE_MINUTES {
        problems.push(format!(
            "before you start to the end of section 4 takes {total} minutes, more than {CORE_MINUTES}"
        ));
    }
    if day > DAY_MINUTES {
        problems.push(format!(
            "the day (introduction to wrap-up, section 5 included) takes {day} minutes, more than {DAY_MINUTES}"
        ));
    }
    assert!(problems.is_empty(), "\n{}\n", problems.join("\n"));
}

// ---------------------------------------------------------------------------------------
// 2. Links resolve.

#[test]
fn every_relative_link_resolves() {
    let mut problems = Vec::new();
    let mut checked = 0;
    for (path, text) in documents() {
        let dir = path.parent().unwrap();
        for (line, target) in links(&text) {
            if target.starts_with("http://") || target.starts_with("https://") {
                continue;
            }
            checked += 1;
            let (file, anchor) = match target.split_once('#') {
                Some((file, anchor)) => (file, Some(anchor)),
                None => (target.as_str(), None),
            };
            let resolved = if file.is_empty() {
                path.clone()
            } else {
                dir.join(file)
            };
            if !resolved.exists() {
                problems.push(format!(
                    "{}:{line}: link to {target}: {} does not exist",
                    display(&path),
                    display(&resolved)
                ));
                continue;
            }
            if let Some(anchor) = anchor
                && resolved.extension().is_some_and(|e| e == "md")
            {
                let known = anchors(&read(&resolved));
                if !known.contains(anchor) {
                    problems.push(format!(
                        "{}:{line}: link to {target}: no heading with anchor #{anchor} in {} (anchors: {known:?})",
                        display(&path),
                        display(&resolved)
                    ));
                }
            }
        }
    }
    assert!(checked > 30, "only {checked} relative links checked");
    assert!(problems.is_empty(), "\n{}\n", problems.join("\n"));
}

#[test]
fn the_table_of_contents_lists_every_chapter_and_the_readme_links_to_it() {
    let toc = read(&workspace().join("workshop/README.md"));
    let targets: BTreeSet<String> = links(&toc).into_iter().map(|(_, t)| t).collect();
    for (chapter, _) in CHAPTERS {
        assert!(
            targets.contains(&format!("chapters/{chapter}")),
            "workshop/README.md does not link to chapters/{chapter}"
        );
    }
    let readme = read(&workspace().join("README.md"));
    let top: String = readme.lines().take(3).collect::<Vec<_>>().join("\n");
    assert!(
        top.contains("](workshop/README.md)"),
        "README.md links to workshop/README.md in its first lines: {top:?}"
    );
}

#[test]
fn every_section_chapter_has_its_parts() {
    for (chapter, section) in CHAPTERS {
        let Some(n) = section else { continue };
        let text = read(&chapters_dir().join(chapter));
        let headings: Vec<String> = prose(&text)
            .into_iter()
            .filter(|(_, l)| l.starts_with('#'))
            .map(|(_, l)| l)
            .collect();
        for part in ["Goal", "Check your work", "Explore", "No data?", "Stuck?"] {
            assert!(
                headings.iter().any(|h| h.contains(part)),
                "{chapter} has no heading containing {part:?}: {headings:?}"
            );
        }
        assert!(
            text.contains(&format!("cargo run -p workshop -- check {n}")),
            "{chapter} shows `cargo run -p workshop -- check {n}`"
        );
        assert!(
            text.contains(&format!("cargo run -p workshop -- solve {n}")),
            "{chapter} shows `cargo run -p workshop -- solve {n}`"
        );
        // Section 0 exports nothing yet: there is nothing to explore in Grafana.
        assert!(
            n == 0 || text.contains("http://localhost:3000/explore?"),
            "{chapter} has a pre-filled Grafana Explore link"
        );
        assert!(
            text.to_lowercase().contains("estimated time"),
            "{chapter} says how long it takes"
        );
    }
}

// ---------------------------------------------------------------------------------------
// 2b. Grafana Explore links are valid and query what the chapter shows.

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
            out.push(u8::from_str_radix(hex, 16).unwrap_or_else(|_| panic!("bad escape %{hex}")));
            i += 3;
        } else {
            out.push(if bytes[i] == b'+' { b' ' } else { bytes[i] });
            i += 1;
        }
    }
    String::from_utf8(out).expect("UTF-8 after decoding")
}

fn datasource_uids() -> BTreeSet<String> {
    let yaml =
        read(&workspace().join("platform/grafana/provisioning/datasources/datasources.yaml"));
    yaml.lines()
        .filter_map(|l| l.trim().strip_prefix("uid:"))
        .map(|uid| uid.trim().to_string())
        .collect()
}

#[test]
fn every_grafana_explore_link_queries_what_the_chapter_shows() {
    let uids = datasource_uids();
    assert!(uids.contains("prometheus") && uids.contains("loki") && uids.contains("tempo"));
    let mut problems = Vec::new();
    let mut checked = 0;
    for (path, text) in documents() {
        let shown: BTreeSet<String> = blocks(&text)
            .iter()
            .filter(|b| ["promql", "logql", "traceql"].contains(&b.lang.as_str()))
            .map(|b| b.body.join("\n").trim().to_string())
            .collect();
        for (line, target) in links(&text) {
            let Some(query) = target.strip_prefix("http://localhost:3000/explore?") else {
                continue;
            };
            checked += 1;
            let at = format!("{}:{line}", display(&path));
            let params: BTreeMap<&str, &str> = query
                .split('&')
                .filter_map(|kv| kv.split_once('='))
                .collect();
            if params.get("schemaVersion") != Some(&"1") {
                problems.push(format!("{at}: the Explore link lacks schemaVersion=1"));
            }
            let Some(panes) = params.get("panes") else {
                problems.push(format!("{at}: the Explore link has no panes="));
                continue;
            };
            let json: serde_json::Value = match serde_json::from_str(&percent_decode(panes)) {
                Ok(json) => json,
                Err(e) => {
                    problems.push(format!("{at}: panes is not JSON: {e}"));
                    continue;
                }
            };
            for (_, pane) in json.as_object().into_iter().flatten() {
                let uid = pane["datasource"].as_str().unwrap_or("");
                if !uids.contains(uid) {
                    problems.push(format!(
                        "{at}: datasource uid {uid:?} is not provisioned ({uids:?})"
                    ));
                }
                for q in pane["queries"].as_array().into_iter().flatten() {
                    let q_uid = q["datasource"]["uid"].as_str().unwrap_or("");
                    if q_uid != uid {
                        problems.push(format!(
                            "{at}: query datasource {q_uid:?} differs from the pane's {uid:?}"
                        ));
                    }
                    let text = q["expr"].as_str().or(q["query"].as_str()).unwrap_or("");
                    if !shown.contains(text.trim()) {
                        problems.push(format!(
                            "{at}: the link queries {text:?}, which no promql/logql/traceql block of the chapter shows"
                        ));
                    }
                }
                if pane["range"]["from"].as_str().is_none() {
                    problems.push(format!("{at}: the link has no time range"));
                }
            }
        }
    }
    assert!(checked >= 8, "only {checked} Explore links");
    assert!(problems.is_empty(), "\n{}\n", problems.join("\n"));
}

// ---------------------------------------------------------------------------------------
// 3. Commands exist.

/// The commands of the ```sh blocks: one per line, without prompts and comments.
pub(crate) fn commands(markdown: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for block in blocks(markdown) {
        if block.lang != "sh" {
            continue;
        }
        for (i, line) in block.body.iter().enumerate() {
            let line = line.trim().trim_start_matches("$ ");
            let line = match line.find(" #") {
                Some(at) => &line[..at],
                None => line,
            };
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            for command in line.split("&&") {
                out.push((block.line + 1 + i, command.trim().to_string()));
            }
        }
    }
    out
}

fn workspace_packages() -> BTreeSet<String> {
    let manifest = read(&workspace().join("Cargo.toml"));
    let members = manifest
        .split_once("members = [")
        .and_then(|(_, rest)| rest.split_once(']'))
        .map(|(list, _)| list)
        .expect("workspace members");
    members
        .split(',')
        .map(|m| m.trim().trim_matches('"'))
        .filter(|m| !m.is_empty())
        .map(|member| {
            let package = read(&workspace().join(member).join("Cargo.toml"));
            package
                .lines()
                .find_map(|l| l.strip_prefix("name = "))
                .map(|n| n.trim_matches('"').to_string())
                .unwrap()
        })
        .collect()
}

fn branch_names() -> BTreeSet<String> {
    patches()
        .iter()
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect()
}

/// Programs a chapter may tell attendees to run.
const PROGRAMS: [&str; 11] = [
    "cargo", "git", "docker", "curl", "dot", "rustup", "rustc", "open", "xdg-open", "grep", "sudo",
];

#[test]
fn every_command_shown_exists() {
    let packages = workspace_packages();
    let branches = branch_names();
    let mut problems = Vec::new();
    let mut workshop_commands: BTreeMap<String, String> = BTreeMap::new();
    let mut checked = 0;
    for (path, text) in documents() {
        for (line, command) in commands(&text) {
            checked += 1;
            let at = format!("{}:{line}: `{command}`", display(&path));
            // Leading VAR=value assignments are the environment, not the program.
            let words: Vec<&str> = command
                .split_whitespace()
                .skip_while(|w| {
                    w.split_once('=').is_some_and(|(k, _)| {
                        !k.is_empty() && k.chars().all(|c| c.is_ascii_uppercase() || c == '_')
                    })
                })
                .collect();
            let program = words[0];
            if !PROGRAMS.contains(&program) {
                problems.push(format!("{at}: unknown program {program:?}"));
                continue;
            }
            // Packages named with -p exist.
            for pair in words.windows(2) {
                if pair[0] == "-p" && !packages.contains(pair[1]) {
                    problems.push(format!("{at}: no package {:?} in the workspace", pair[1]));
                }
                // Files named with -f (compose) or --manifest-path exist.
                if (pair[0] == "-f" || pair[0] == "--manifest-path")
                    && !workspace().join(pair[1]).exists()
                {
                    problems.push(format!("{at}: {} does not exist", pair[1]));
                }
                // One test binary per crate: tests are chosen by module (`MODULE::`).
                if pair[0] == "--test" {
                    problems.push(format!(
                        "{at}: `--test {}`: each crate has one test binary; filter by module (`{}::`)",
                        pair[1], pair[1]
                    ));
                }
            }
            // Modules named as a filter (`sections::`) are modules of a crate's test binary.
            if words.starts_with(&["cargo", "nextest", "run"]) {
                for module in words.iter().filter_map(|w| w.strip_suffix("::")) {
                    let exists = [
                        "workshop/tests",
                        "services/e2e/tests",
                        "platform/check/tests",
                        "workshop/receiver/tests",
                    ]
                    .iter()
                    .any(|dir| workspace().join(dir).join(format!("{module}.rs")).exists());
                    if !exists {
                        problems.push(format!("{at}: no test module {module:?}"));
                    }
                }
            }
            match words.as_slice() {
                // The instructor's `room` (room::the_room_commands_shown_exist runs them,
                // with the feature): here, the feature must be the workshop's.
                [
                    "cargo",
                    "run",
                    "-p",
                    "workshop",
                    "--features",
                    feature,
                    "--",
                    ..,
                ] => {
                    let manifest = read(&workspace().join("workshop/Cargo.toml"));
                    if !manifest.contains(&format!("\n{feature} = [")) {
                        problems.push(format!("{at}: the workshop has no feature {feature:?}"));
                    }
                }
                ["cargo", "run", "-p", "workshop", "--", rest @ ..] => {
                    workshop_commands.insert(rest.join(" "), at.clone());
                }
                ["git", "checkout" | "diff" | "switch", args @ ..] => {
                    for arg in args.iter().filter(|a| a.starts_with("section-")) {
                        if !branches.contains(*arg) {
                            problems
                                .push(format!("{at}: no section branch {arg:?} ({branches:?})"));
                        }
                    }
                }
                ["docker", "compose", ..] if !workspace().join("docker-compose.yml").exists() => {
                    problems.push(format!("{at}: docker-compose.yml is missing"));
                }
                ["docker", "compose", ..] => {}
                ["dot", .., "-o", output] => {
                    let source = words.iter().find(|w| w.ends_with(".dot")).unwrap_or(&"");
                    if !workspace().join(source).exists() || !workspace().join(output).exists() {
                        problems.push(format!("{at}: {source} or {output} does not exist"));
                    }
                }
                _ => {}
            }
        }
        // `cargo run -p workshop -- ...` written anywhere else must exist too.
        for (at, _) in text.match_indices("cargo run -p workshop -- ") {
            let rest = &text[at + "cargo run -p workshop -- ".len()..];
            let command = rest
                .split(['`', '\n', '#'])
                .next()
                .unwrap()
                .trim()
                .to_string();
            workshop_commands
                .entry(command)
                .or_insert_with(|| format!("{}: `cargo run -p workshop -- ...`", display(&path)));
        }
    }
    assert!(checked > 20, "only {checked} commands in sh blocks");
    assert!(
        workshop_commands.len() >= 8,
        "only {} workshop commands",
        workshop_commands.len()
    );
    for (command, at) in &workshop_commands {
        // `N` in prose stands for a section number, `NAME` for a fault's name.
        let mut args: Vec<&str> = command
            .split_whitespace()
            .map(|arg| match arg {
                "N" => "0",
                "NAME" => faults::Fault::ALL[0].name(),
                _ => arg,
            })
            .collect();
        // Ask for help instead of running it, keeping the options to check they parse.
        args.push("--help");
        let output = Command::new(env!("CARGO_BIN_EXE_workshop"))
            .args(&args)
            .output()
            .unwrap();
        if !output.status.success() {
            problems.push(format!(
                "{at}: `workshop {command}` is not a valid command: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            ));
        }
    }
    assert!(problems.is_empty(), "\n{}\n", problems.join("\n"));
}

// ---------------------------------------------------------------------------------------
// 4. Both shells.

/// Environment variables a ```sh block sets for a command (`VAR=value cmd`, `export VAR=`).
fn variables_set(block: &Block) -> BTreeSet<String> {
    let is_name = |k: &str| !k.is_empty() && k.chars().all(|c| c.is_ascii_uppercase() || c == '_');
    let mut names = BTreeSet::new();
    for line in &block.body {
        let line = line.trim().trim_start_matches("$ ");
        let line = line.strip_prefix("export ").unwrap_or(line);
        for word in line.split_whitespace() {
            match word.split_once('=') {
                Some((name, _)) if is_name(name) => {
                    names.insert(name.to_owned());
                }
                _ => break,
            }
        }
    }
    names
}

/// Windows attendees use PowerShell, where `VAR=value cmd` does not work: every ```sh block
/// that sets an environment variable is followed by a ```powershell block that sets it with
/// `$env:VAR = ...` (in the README too).
#[test]
fn every_command_that_sets_a_variable_shows_powershell_too() {
    let mut docs = documents();
    let readme = workspace().join("README.md");
    docs.push((readme.clone(), read(&readme)));
    let mut problems = Vec::new();
    let mut checked = 0;
    for (path, text) in &docs {
        let blocks = blocks(text);
        for (i, block) in blocks.iter().enumerate() {
            if block.lang != "sh" {
                continue;
            }
            let next = blocks.get(i + 1).filter(|b| b.lang == "powershell");
            for name in variables_set(block) {
                checked += 1;
                let shown = next.is_some_and(|ps| {
                    ps.body
                        .iter()
                        .any(|l| l.trim_start().starts_with(&format!("$env:{name} = ")))
                });
                if !shown {
                    problems.push(format!(
                        "{}:{}: sets {name} in bash; the next block should be ```powershell \
                         with `$env:{name} = \"...\"`",
                        display(path),
                        block.line
                    ));
                }
            }
        }
    }
    assert!(checked >= 3, "only {checked} variables set in sh blocks");
    assert!(problems.is_empty(), "\n{}\n", problems.join("\n"));
}

// ---------------------------------------------------------------------------------------
// 5. What the prose says about the sections is true of the patches.

/// The documents that speak of the section branches: the chapters and both READMEs of the
/// workshop, and the repository's.
fn documents_about_branches() -> Vec<(PathBuf, String)> {
    let mut docs = documents();
    for extra in ["README.md", "workshop/steps/README.md"] {
        let path = workspace().join(extra);
        let text = read(&path);
        docs.push((path, text));
    }
    docs
}

/// `section-6-collector.patch` → `section-6-collector`.
fn branch_of(patch: &Path) -> String {
    patch.file_stem().unwrap().to_string_lossy().into_owned()
}

const NUMBER_WORDS: [&str; 11] = [
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
];

/// `workshop branches` makes one branch per patch: a range written `section-0-… …
/// section-N-…` runs from the first to the last, and "the N branches" counts them all.
#[test]
fn the_branches_named_are_the_ones_branches_makes() {
    let patches = patches();
    let first = branch_of(&patches[0]);
    let last = branch_of(patches.last().unwrap());
    let count = NUMBER_WORDS[patches.len()];
    let mut problems = Vec::new();
    let mut ranges = 0;
    for (path, text) in documents_about_branches() {
        for (n, line) in text.lines().enumerate() {
            let at = format!("{}:{}", display(&path), n + 1);
            let words: Vec<&str> = line
                .split(|c: char| c.is_whitespace() || "`,;:()".contains(c))
                .filter(|w| !w.is_empty())
                .collect();
            for (i, word) in words.iter().enumerate() {
                if matches!(*word, "…" | "...")
                    && let (Some(from), Some(to)) =
                        (i.checked_sub(1).map(|j| words[j]), words.get(i + 1))
                    && from.starts_with("section-")
                    && to.starts_with("section-")
                {
                    ranges += 1;
                    if (from, *to) != (first.as_str(), last.as_str()) {
                        problems.push(format!(
                            "{at}: `{from} … {to}`, but the branches are {first} … {last}"
                        ));
                    }
                }
                if *word == "branches"
                    && i >= 1
                    && let Some(number) = NUMBER_WORDS.iter().find(|w| **w == words[i - 1])
                    && *number != count
                {
                    problems.push(format!(
                        "{at}: \"{number} branches\", but `branches` makes {count}"
                    ));
                }
            }
        }
    }
    assert!(ranges >= 1, "no range of branches is named anywhere");
    assert!(problems.is_empty(), "\n{}\n", problems.join("\n"));
}

/// Chapter 00's list of "the code you will touch": each item names a directory and the
/// sections that change it (`Sections 0 to 4`, `section 5`), and those are exactly the
/// sections whose patches change files in it; every directory a patch changes is there.
#[test]
fn chapter_00_names_the_sections_that_change_each_part_of_the_code() {
    let text = read(&chapters_dir().join(AT_HOME));
    let list = text
        .split_once("The code you will touch:")
        .expect("chapter 00 lists the code you will touch")
        .1;
    // The list's items: from each `- ` to the next, until the first line that is neither.
    let mut items: Vec<String> = Vec::new();
    for line in list.lines().skip_while(|l| l.trim().is_empty()) {
        if let Some(item) = line.strip_prefix("- ") {
            items.push(item.to_owned());
        } else if line.starts_with("  ") && !items.is_empty() {
            let last = items.last_mut().unwrap();
            last.push(' ');
            last.push_str(line.trim());
        } else {
            break;
        }
    }
    let mut changed: BTreeMap<String, BTreeSet<usize>> = BTreeMap::new();
    for patch in patches() {
        for file in typed_lines(&read(&patch)).keys() {
            let dir = file.split('/').take(2).collect::<Vec<_>>().join("/");
            changed
                .entry(dir)
                .or_default()
                .insert(section_number(&patch));
        }
    }
    let mut problems = Vec::new();
    let mut listed = BTreeSet::new();
    for item in &items {
        let path = item
            .split('`')
            .nth(1)
            .unwrap_or_else(|| panic!("an item without a `path`: {item}"));
        let dir = path.split('/').take(2).collect::<Vec<_>>().join("/");
        listed.insert(dir.clone());
        let said = sections_named(item);
        let really = changed.get(&dir).cloned().unwrap_or_default();
        if said != really {
            problems.push(format!(
                "{dir}: the chapter names sections {said:?}, the patches that change it are {really:?}: {item}"
            ));
        }
    }
    for dir in changed.keys().filter(|d| !listed.contains(*d)) {
        problems.push(format!(
            "{dir} is changed by {:?} but not listed",
            changed[dir]
        ));
    }
    assert!(problems.is_empty(), "\n{}\n", problems.join("\n"));
}

/// The section numbers a sentence names: `Section 4`, `sections 1 to 3`, `section 5`.
fn sections_named(text: &str) -> BTreeSet<usize> {
    let words: Vec<&str> = text
        .split(|c: char| c.is_whitespace() || ",.;:()".contains(c))
        .filter(|w| !w.is_empty())
        .collect();
    let mut out = BTreeSet::new();
    for (i, word) in words.iter().enumerate() {
        if !matches!(word.to_lowercase().as_str(), "section" | "sections") {
            continue;
        }
        let number = |j: usize| words.get(j).and_then(|w| w.parse::<usize>().ok());
        let Some(from) = number(i + 1) else { continue };
        match (words.get(i + 2), number(i + 3)) {
            (Some(&"to"), Some(to)) => out.extend(from..=to),
            _ => {
                out.insert(from);
            }
        }
    }
    out
}

/// The paragraph just before a block (before its annotation): what tells the reader what
/// to do with it.
fn introduction(markdown: &str, block: &Block) -> String {
    let lines: Vec<&str> = markdown.lines().collect();
    // `block.line` is the fence's 1-based number; the annotation is the line above it.
    let mut at = block.line.saturating_sub(2);
    let mut paragraph = Vec::new();
    while at > 0 && lines[at - 1].trim().is_empty() {
        at -= 1;
    }
    while at > 0 && !lines[at - 1].trim().is_empty() && !lines[at - 1].starts_with("```") {
        paragraph.push(lines[at - 1].trim());
        at -= 1;
    }
    paragraph.reverse();
    paragraph.join(" ")
}

/// The lines every `+` of a patch adds, by file, as a multiset (a line added twice counts
/// twice).
fn added_lines(patch: &str) -> BTreeMap<String, BTreeMap<String, usize>> {
    let mut files: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
    for chunk in patch.split("\ndiff --git ").skip(1) {
        let name = chunk
            .lines()
            .next()
            .unwrap_or("")
            .rsplit(" b/")
            .next()
            .unwrap_or("");
        let added = files.entry(name.to_owned()).or_default();
        for line in chunk.lines().skip(1) {
            if let Some(body) = line.strip_prefix('+')
                && !line.starts_with("+++")
            {
                *added.entry(body.to_owned()).or_default() += 1;
            }
        }
    }
    files
}

/// A block that shows what to type, and lines that are there already: taken literally, an
/// instruction "replace the comment by:" would type those twice. So the paragraph before
/// such a block either says the block shows how the code reads afterwards ("… reads:"), or
/// replaces a whole item that holds those lines (a function, the `use` lines, a pipeline, a
/// line it quotes).
#[test]
fn a_block_with_lines_already_there_says_it_shows_the_result() {
    let mut problems = Vec::new();
    let mut with_kept = 0;
    for (chapter, section) in CHAPTERS {
        let Some(n) = section else { continue };
        let text = read(&chapters_dir().join(chapter));
        for block in blocks(&text).into_iter().filter(shows_typed_code) {
            let Some(annotation) = &block.annotation else {
                continue;
            };
            let (path, state) = parse_annotation(annotation, State::Section(n));
            let patches = match state {
                State::Main => continue,
                State::Section(m) => vec![patch_of(m)],
                State::Optional(m) => optional_patches(m),
            };
            let mut added: BTreeMap<String, usize> = BTreeMap::new();
            for patch in &patches {
                for (line, count) in added_lines(&read(patch)).remove(&path).unwrap_or_default() {
                    *added.entry(line).or_default() += count;
                }
            }
            let mut kept = Vec::new();
            let mut typed = 0;
            for line in block.body.iter().filter(|l| !l.trim().is_empty()) {
                match added.get_mut(line) {
                    Some(count) if *count > 0 => {
                        *count -= 1;
                        typed += 1;
                    }
                    _ => kept.push(line.trim().to_owned()),
                }
            }
            if kept.is_empty() || typed == 0 {
                continue;
            }
            with_kept += 1;
            let intro = introduction(&text, &block);
            let quoted: Vec<&str> = intro.split('`').skip(1).step_by(2).collect();
            let lower = intro.to_lowercase();
            let shows_result = intro.contains(" reads:") || intro.contains(" read:");
            let whole_item = [
                "replace the function",
                "replace the two empty functions",
                "replace its `use` line",
            ]
            .iter()
            .any(|item| lower.contains(item))
                // "replace the `traces` pipeline"
                || lower.split("replace the `").skip(1).any(|rest| {
                    rest.split_once('`')
                        .is_some_and(|(_, after)| after.starts_with(" pipeline"))
                })
                // "Replace `ask_api`", and the block is that function.
                || quoted.iter().any(|q| {
                    lower.contains(&format!("replace `{}`", q.to_lowercase()))
                        && block.body.iter().any(|l| l.contains(&format!("fn {q}(")))
                })
                // "Replace the line `use std::time::Duration;`"
                || kept.iter().all(|k| quoted.contains(&k.as_str()));
            let names_item = shows_result || whole_item;
            if !names_item {
                problems.push(format!(
                    "{chapter}:{}: the block shows {} line(s) already in {path} ({:?}…), but \
                     the paragraph before it neither says the code then reads so nor replaces \
                     a whole item: {intro:?}",
                    block.line,
                    kept.len(),
                    kept[0]
                ));
            }
        }
    }
    assert!(
        with_kept >= 5,
        "only {with_kept} blocks show lines already there"
    );
    assert!(problems.is_empty(), "\n{}\n", problems.join("\n"));
}
