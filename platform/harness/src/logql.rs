//! The part of LogQL the workshop's log queries use, evaluated on log records as Loki
//! would store them from OTLP. Loki does not run here (AGPL): the collector sends to a
//! stand-in receiver, and these queries are asked of what it received.
//!
//! Supported: a stream selector `{label op "value", …}` with `=`, `!=`, `=~`, `!~`
//! (regexes: alternatives of literals, `.*` and `.+`), then line filters `|= "text"`,
//! `!= "text"` and label filters `| key="value"`, `| key!="value"`. Anything else is an
//! error that names it, so a new kind of query in a chapter is noticed, not skipped.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use platform_check::{Value, get, load_yaml, strings};

/// A log record as Loki keeps it: index labels, structured metadata, the line.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LogLine {
    pub labels: BTreeMap<String, String>,
    pub metadata: BTreeMap<String, String>,
    pub line: String,
}

/// Where the platform's Loki config is, from the repository root.
pub const LOKI_CONFIG: &str = "platform/loki/loki.yaml";

/// The index labels of the platform's Loki: its config's list, else Loki's default.
pub fn index_labels(loki_config: &Value) -> Vec<String> {
    let listed = get(
        loki_config,
        &[
            "distributor",
            "otlp_config",
            "default_resource_attributes_as_index_labels",
        ],
    );
    match listed {
        Some(list) => strings(Some(list)),
        None => platform_check::LOKI_DEFAULT_INDEX_LABELS
            .iter()
            .map(|s| s.to_string())
            .collect(),
    }
}

/// [`index_labels`] of platform/loki/loki.yaml, read once.
static INDEX_LABELS: LazyLock<Vec<String>> =
    LazyLock::new(|| index_labels(&load_yaml(LOKI_CONFIG)));

/// An OTLP log record as Loki's OTLP ingestion stores it: dots become underscores, the
/// listed resource attributes are index labels, the rest (other resource attributes, the
/// record's attributes, trace and span ids, severity) structured metadata.
pub fn from_otlp(
    resource: &BTreeMap<String, String>,
    attributes: &BTreeMap<String, String>,
    body: &str,
    severity_text: &str,
    trace_id: Option<&str>,
    span_id: Option<&str>,
) -> LogLine {
    let underscore = |k: &str| k.replace('.', "_");
    let mut line = LogLine {
        line: body.to_owned(),
        ..LogLine::default()
    };
    for (k, v) in resource {
        if INDEX_LABELS.iter().any(|label| label == k) {
            line.labels.insert(underscore(k), v.clone());
        } else {
            line.metadata.insert(underscore(k), v.clone());
        }
    }
    for (k, v) in attributes {
        line.metadata.insert(underscore(k), v.clone());
    }
    if !severity_text.is_empty() {
        line.metadata
            .insert("severity_text".into(), severity_text.to_owned());
    }
    for (key, id) in [("trace_id", trace_id), ("span_id", span_id)] {
        if let Some(id) = id {
            line.metadata.insert(key.into(), id.to_owned());
        }
    }
    line
}

#[derive(Clone, Debug, PartialEq)]
enum Op {
    Eq,
    Ne,
    Re,
    NotRe,
}

#[derive(Clone, Debug, PartialEq)]
struct Matcher {
    key: String,
    op: Op,
    value: String,
}

#[derive(Clone, Debug, PartialEq)]
enum Stage {
    Contains(String),
    NotContains(String),
    Label(Matcher),
}

/// A parsed log query.
#[derive(Clone, Debug, PartialEq)]
pub struct LogQuery {
    selector: Vec<Matcher>,
    stages: Vec<Stage>,
}

impl LogQuery {
    pub fn parse(text: &str) -> Result<LogQuery, String> {
        let mut p = Parser { rest: text.trim() };
        p.expect("{")?;
        let mut selector = Vec::new();
        while !p.eat("}") {
            selector.push(p.matcher()?);
            p.eat(",");
        }
        let mut stages = Vec::new();
        while !p.rest.is_empty() {
            if p.eat("|=") {
                stages.push(Stage::Contains(p.string()?));
            } else if p.eat("!=") {
                stages.push(Stage::NotContains(p.string()?));
            } else if p.eat("|") {
                let m = p.matcher()?;
                if matches!(m.op, Op::Re | Op::NotRe) {
                    check_regex(&m.value)?;
                }
                stages.push(Stage::Label(m));
            } else {
                return Err(format!("unsupported LogQL at `{}`", p.rest));
            }
        }
        for m in &selector {
            if matches!(m.op, Op::Re | Op::NotRe) {
                check_regex(&m.value)?;
            }
        }
        Ok(LogQuery { selector, stages })
    }

    pub fn matches(&self, line: &LogLine) -> bool {
        self.selector
            .iter()
            .all(|m| m.holds(line.labels.get(&m.key)))
            && self.stages.iter().all(|stage| match stage {
                Stage::Contains(s) => line.line.contains(s.as_str()),
                Stage::NotContains(s) => !line.line.contains(s.as_str()),
                // A filter sees index labels and structured metadata alike.
                Stage::Label(m) => m.holds(line.metadata.get(&m.key).or(line.labels.get(&m.key))),
            })
    }
}

impl Matcher {
    fn holds(&self, value: Option<&String>) -> bool {
        let value = value.map(String::as_str).unwrap_or("");
        match self.op {
            Op::Eq => value == self.value,
            Op::Ne => value != self.value,
            Op::Re => regex_matches(&self.value, value),
            Op::NotRe => !regex_matches(&self.value, value),
        }
    }
}

/// The regexes the queries use: `a|b|c` of literals, `.*` or `.+` (anchored, as in Loki).
fn check_regex(re: &str) -> Result<(), String> {
    for alternative in re.split('|') {
        let literal = alternative
            .chars()
            .all(|c| c.is_alphanumeric() || "-_ /:".contains(c));
        if !(literal || alternative == ".*" || alternative == ".+") {
            return Err(format!(
                "unsupported regex `{re}` (literals, `.*` or `.+` only)"
            ));
        }
    }
    Ok(())
}

fn regex_matches(re: &str, value: &str) -> bool {
    re.split('|').any(|alternative| match alternative {
        ".*" => true,
        ".+" => !value.is_empty(),
        literal => literal == value,
    })
}

struct Parser<'a> {
    rest: &'a str,
}

impl Parser<'_> {
    fn eat(&mut self, token: &str) -> bool {
        match self.rest.strip_prefix(token) {
            Some(rest) => {
                self.rest = rest.trim_start();
                true
            }
            None => false,
        }
    }

    fn expect(&mut self, token: &str) -> Result<(), String> {
        if self.eat(token) {
            Ok(())
        } else {
            Err(format!("expected `{token}` at `{}`", self.rest))
        }
    }

    fn matcher(&mut self) -> Result<Matcher, String> {
        let end = self
            .rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(self.rest.len());
        if end == 0 {
            return Err(format!("expected a label name at `{}`", self.rest));
        }
        let key = self.rest[..end].to_owned();
        self.rest = self.rest[end..].trim_start();
        let op = if self.eat("=~") {
            Op::Re
        } else if self.eat("!~") {
            Op::NotRe
        } else if self.eat("!=") {
            Op::Ne
        } else if self.eat("=") {
            Op::Eq
        } else {
            return Err(format!("unsupported label operator at `{}`", self.rest));
        };
        Ok(Matcher {
            key,
            op,
            value: self.string()?,
        })
    }

    fn string(&mut self) -> Result<String, String> {
        let quote = self
            .rest
            .chars()
            .next()
            .filter(|c| *c == '"' || *c == '`')
            .ok_or_else(|| format!("expected a string at `{}`", self.rest))?;
        let body = &self.rest[1..];
        let end = body
            .find(quote)
            .ok_or_else(|| format!("unterminated string at `{}`", self.rest))?;
        let value = body[..end].replace("\\\"", "\"");
        self.rest = body[end + 1..].trim_start();
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn warning() -> LogLine {
        from_otlp(
            &map(&[
                ("service.name", "iss-distance"),
                ("service.version", "0.1.0"),
            ]),
            &map(&[("code.function", "distance")]),
            "rejected request: latitude must be a number",
            "WARN",
            Some("4bf92f3577b34da6a3ce929d0e0e4736"),
            Some("00f067aa0ba902b7"),
        )
    }

    #[test]
    fn otlp_records_are_stored_as_loki_does() {
        let line = warning();
        assert_eq!(line.labels, map(&[("service_name", "iss-distance")]));
        assert_eq!(line.metadata["service_version"], "0.1.0");
        assert_eq!(line.metadata["code_function"], "distance");
        assert_eq!(
            line.metadata["trace_id"],
            "4bf92f3577b34da6a3ce929d0e0e4736"
        );
        assert_eq!(line.metadata["severity_text"], "WARN");
    }

    #[test]
    fn a_new_instance_id_at_every_start_is_no_index_label() {
        let line = from_otlp(
            &map(&[
                ("service.name", "gateway"),
                (
                    "service.instance.id",
                    "5f2c0c1e-9f0a-4d5b-8a43-0d1e2f3a4b5c",
                ),
            ]),
            &BTreeMap::new(),
            "started",
            "INFO",
            None,
            None,
        );
        assert_eq!(line.labels, map(&[("service_name", "gateway")]));
        assert_eq!(
            line.metadata["service_instance_id"],
            "5f2c0c1e-9f0a-4d5b-8a43-0d1e2f3a4b5c"
        );
    }

    #[test]
    fn without_a_list_in_its_config_loki_indexes_its_default_labels() {
        let labels = index_labels(&Value::Null);
        assert!(labels.iter().any(|l| l == "service.instance.id"));
        assert_eq!(
            labels.len(),
            platform_check::LOKI_DEFAULT_INDEX_LABELS.len()
        );
    }

    #[test]
    fn the_chapters_kinds_of_query_match_what_they_should() {
        let line = warning();
        let hit = |q: &str| LogQuery::parse(q).unwrap().matches(&line);
        assert!(hit(r#"{service_name="iss-distance"}"#));
        assert!(!hit(r#"{service_name="gateway"}"#));
        assert!(hit(r#"{service_name=~".+"}"#));
        assert!(hit(r#"{service_name=~"gateway|iss-distance"}"#));
        assert!(hit(
            r#"{service_name="iss-distance"} | severity_text="WARN""#
        ));
        assert!(!hit(
            r#"{service_name="iss-distance"} | severity_text="ERROR""#
        ));
        assert!(hit(r#"{service_name="iss-distance"} |= "latitude""#));
        assert!(!hit(r#"{service_name="iss-distance"} |= "orbital model""#));
        assert!(hit(
            r#"{service_name="iss-distance"} != "orbital model" | trace_id="4bf92f3577b34da6a3ce929d0e0e4736""#
        ));
        // A label of the structured metadata is not a stream label.
        assert!(!hit(r#"{trace_id="4bf92f3577b34da6a3ce929d0e0e4736"}"#));
    }

    #[test]
    fn what_it_cannot_evaluate_is_an_error_not_a_silent_miss() {
        assert!(
            LogQuery::parse(r#"{service_name="a"} | json"#)
                .unwrap_err()
                .contains("unsupported")
        );
        assert!(
            LogQuery::parse(r#"{service_name=~"ga.*way"}"#)
                .unwrap_err()
                .contains("regex")
        );
        assert!(LogQuery::parse(r#"sum(rate({a="b"}[1m]))"#).is_err());
    }
}
