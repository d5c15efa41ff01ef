//! Reading PromQL: the metric names an expression selects, and whether its
//! `histogram_quantile` calls keep the buckets.
//!
//! Scanned by hand, not with a PromQL parser: the expressions come from dashboards, where
//! Grafana's variables (`$__rate_interval`, `${ds}`) and `label_values(metric, label)` stand
//! in them, and those are not PromQL.

use std::collections::BTreeSet;

const PROMQL_KEYWORDS: &[&str] = &[
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "bool",
    "and",
    "or",
    "unless",
    "offset",
    "atan2",
    "inf",
    "nan",
    "start",
    "end",
];

/// The metric names a PromQL expression selects (`foo{...}`, `foo[5m]`, bare `foo`),
/// skipping functions, keywords, label names in `by (...)`, strings, label matchers,
/// ranges and Grafana variables. Grafana's `label_values(metric, label)` yields `metric`.
pub fn promql_metric_names(expr: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let chars: Vec<char> = expr.chars().collect();
    let mut i = 0;
    let is_start = |c: char| c.is_ascii_alphabetic() || c == '_' || c == ':';
    let is_part = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == ':';
    let skip_ws = |mut j: usize| {
        while j < chars.len() && chars[j].is_whitespace() {
            j += 1;
        }
        j
    };
    let skip_group = |j: usize, open: char, close: char| {
        let mut depth = 0;
        let mut k = j;
        while k < chars.len() {
            if chars[k] == open {
                depth += 1;
            } else if chars[k] == close {
                depth -= 1;
                if depth == 0 {
                    return k + 1;
                }
            }
            k += 1;
        }
        k
    };
    let mut label_values_arg = false;
    while i < chars.len() {
        let c = chars[i];
        if c == '"' || c == '\'' || c == '`' {
            i += 1;
            while i < chars.len() && chars[i] != c {
                if chars[i] == '\\' {
                    i += 1;
                }
                i += 1;
            }
            i += 1;
        } else if c == '{' {
            i = skip_group(i, '{', '}');
        } else if c == '[' {
            i = skip_group(i, '[', ']');
        } else if c == '$' {
            // Grafana variable: $name, ${name}, ${name:format}, $__rate_interval
            i += 1;
            if i < chars.len() && chars[i] == '{' {
                i = skip_group(i, '{', '}');
            } else {
                while i < chars.len() && is_part(chars[i]) {
                    i += 1;
                }
            }
        } else if c.is_ascii_digit()
            || (c == '.' && i + 1 < chars.len() && chars[i + 1].is_ascii_digit())
        {
            // number or duration (5m, 1e3)
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '.') {
                i += 1;
            }
        } else if is_start(c) {
            let start = i;
            while i < chars.len() && is_part(chars[i]) {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            let next = skip_ws(i);
            let lower = word.to_ascii_lowercase();
            // `sum by (x) (...)`: an aggregation followed by its grouping clause.
            let next_word: String = chars[next..]
                .iter()
                .take_while(|c| is_part(**c))
                .collect::<String>()
                .to_ascii_lowercase();
            if matches!(next_word.as_str(), "by" | "without") {
                // the aggregation's name; the clause is skipped when reached
            } else if next < chars.len() && chars[next] == '(' {
                if matches!(
                    lower.as_str(),
                    "by" | "without" | "on" | "ignoring" | "group_left" | "group_right"
                ) {
                    i = skip_group(next, '(', ')');
                } else if word == "label_values" {
                    label_values_arg = true;
                    i = next + 1;
                }
                // a function call: its arguments are scanned normally
            } else if PROMQL_KEYWORDS.contains(&lower.as_str()) {
                // keyword without a list
            } else if label_values_arg {
                // label_values(metric, label): the first word is the metric, the
                // second a label name.
                names.insert(word);
                let mut k = next;
                while k < chars.len() && chars[k] != ')' {
                    k += 1;
                }
                i = k;
                label_values_arg = false;
            } else {
                names.insert(word);
            }
        } else {
            i += 1;
        }
    }
    names
}

/// Problems of the `histogram_quantile(q, …)` calls in a PromQL expression: what it reads
/// must be a histogram's `_bucket` series, and every aggregation inside must keep the `le`
/// label (`sum by (le, service_name) (…)`): without `le` there are no buckets left, and
/// the quantile is NaN or nothing.
pub fn histogram_quantile_problems(expr: &str) -> Vec<String> {
    const CALL: &str = "histogram_quantile(";
    const AGGREGATIONS: [&str; 6] = ["sum", "avg", "min", "max", "count", "group"];
    let mut problems = Vec::new();
    let mut rest = expr;
    while let Some(at) = rest.find(CALL) {
        let inside = &rest[at + CALL.len()..];
        let end = closing_paren(inside).unwrap_or(inside.len());
        let argument = &inside[..end];
        for name in promql_metric_names(argument) {
            if !name.ends_with("_bucket") {
                problems.push(format!(
                    "histogram_quantile reads `{name}`, not a histogram's `_bucket` series"
                ));
            }
        }
        let words: Vec<(usize, &str)> = promql_words(argument);
        for (i, (position, word)) in words.iter().enumerate() {
            if !AGGREGATIONS.contains(word) {
                continue;
            }
            let after = argument[position + word.len()..].trim_start();
            // `sum by (…) (…)`, or `sum (…) by (…)`.
            let grouping = if after.starts_with("by") || after.starts_with("without") {
                Some(after)
            } else if let Some(group) = after.strip_prefix('(') {
                let body = closing_paren(group).map_or(group.len(), |e| e + 1);
                let tail = group[body.min(group.len())..].trim_start();
                (tail.starts_with("by") || tail.starts_with("without")).then_some(tail)
            } else {
                // `sum` as a label or metric name, not the aggregation.
                continue;
            };
            let keeps_le = grouping.is_some_and(|g| {
                let without = g.starts_with("without");
                let list = g
                    .find('(')
                    .and_then(|open| {
                        let l = &g[open + 1..];
                        closing_paren(l).map(|close| &l[..close])
                    })
                    .unwrap_or("");
                let has_le = list.split(',').any(|label| label.trim() == "le");
                has_le != without
            });
            if !keeps_le {
                problems.push(format!(
                    "`{}` inside histogram_quantile drops the `le` label: group by (le, …)",
                    words[i].1
                ));
            }
        }
        rest = &inside[end..];
    }
    problems
}

/// The index of the `)` that closes a group whose `(` was just before `text`.
fn closing_paren(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' if depth == 0 => return Some(i),
            ')' => depth -= 1,
            _ => {}
        }
    }
    None
}

/// The identifiers of a PromQL expression outside strings and label matchers, with their
/// byte positions.
fn promql_words(expr: &str) -> Vec<(usize, &str)> {
    let mut words = Vec::new();
    let bytes = expr.as_bytes();
    let mut i = 0;
    let mut braces = 0usize;
    while i < bytes.len() {
        let c = bytes[i];
        if c == b'"' {
            i += 1;
            while i < bytes.len() && bytes[i] != b'"' {
                i += if bytes[i] == b'\\' { 2 } else { 1 };
            }
            i += 1;
            continue;
        }
        if c == b'{' {
            braces += 1;
        } else if c == b'}' {
            braces = braces.saturating_sub(1);
        }
        if braces == 0 && (c.is_ascii_alphabetic() || c == b'_') {
            let start = i;
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                i += 1;
            }
            let preceded = start > 0 && (bytes[start - 1] == b'$' || bytes[start - 1] == b':');
            if !preceded {
                words.push((start, &expr[start..i]));
            }
            continue;
        }
        i += 1;
    }
    words
}
