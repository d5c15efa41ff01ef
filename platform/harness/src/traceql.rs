//! The part of TraceQL the workshop's trace queries use, evaluated on spans as Tempo
//! would store them. Tempo does not run here (AGPL): the collector sends to a stand-in
//! receiver, and these queries are asked of what it received.
//!
//! Supported: one spanset filter `{ cond && cond … }`, a condition being
//! `<field> <op> <value>` with the intrinsics `name`, `status`, `kind`, `duration`, the
//! attributes `resource.x`, `span.x` and `.x` (either), the operators `=`, `!=`, `>`, `>=`,
//! `<`, `<=`, and string, number, bare-word (`error`, `server`) or duration (`1s`,
//! `500ms`) values. Anything else is an error that names it.

use std::collections::BTreeMap;

/// An attribute value, as far as the queries compare them.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Str(String),
    Num(f64),
    Bool(bool),
}

/// A span as the queries see it.
#[derive(Clone, Debug, PartialEq)]
pub struct SpanView {
    pub name: String,
    /// `server`, `client`, `internal`, `producer`, `consumer`, `unspecified`.
    pub kind: String,
    /// `error`, `ok`, `unset`.
    pub status: String,
    /// How long the span took, in seconds.
    pub duration: f64,
    pub resource: BTreeMap<String, Value>,
    pub attributes: BTreeMap<String, Value>,
}

#[derive(Clone, Debug, PartialEq)]
enum Field {
    Name,
    Status,
    Kind,
    Duration,
    Resource(String),
    Span(String),
    Either(String),
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Op {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
}

#[derive(Clone, Debug, PartialEq)]
struct Condition {
    field: Field,
    op: Op,
    value: Value,
}

/// A parsed spanset filter: a span matches when every condition holds.
#[derive(Clone, Debug, PartialEq)]
pub struct SpanFilter {
    conditions: Vec<Condition>,
}

impl SpanFilter {
    pub fn parse(text: &str) -> Result<SpanFilter, String> {
        let inner = text
            .trim()
            .strip_prefix('{')
            .and_then(|t| t.strip_suffix('}'))
            .ok_or_else(|| format!("unsupported TraceQL `{text}`: one `{{ … }}` filter only"))?;
        if inner.contains("||") {
            return Err(format!("unsupported TraceQL `{text}`: `||`"));
        }
        let conditions = inner
            .split("&&")
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(condition)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(SpanFilter { conditions })
    }

    pub fn matches(&self, span: &SpanView) -> bool {
        self.conditions.iter().all(|c| c.holds(span))
    }
}

fn condition(text: &str) -> Result<Condition, String> {
    const OPS: [(&str, Op); 6] = [
        (">=", Op::Ge),
        ("<=", Op::Le),
        ("!=", Op::Ne),
        ("=", Op::Eq),
        (">", Op::Gt),
        ("<", Op::Lt),
    ];
    let (at, token, op) = OPS
        .iter()
        .filter_map(|(token, op)| text.find(token).map(|at| (at, *token, *op)))
        .min_by_key(|(at, token, _)| (*at, std::cmp::Reverse(token.len())))
        .ok_or_else(|| format!("unsupported TraceQL condition `{text}`"))?;
    let field = match text[..at].trim() {
        "name" => Field::Name,
        "status" => Field::Status,
        "kind" => Field::Kind,
        "duration" => Field::Duration,
        f => {
            if let Some(key) = f.strip_prefix("resource.") {
                Field::Resource(key.to_owned())
            } else if let Some(key) = f.strip_prefix("span.") {
                Field::Span(key.to_owned())
            } else if let Some(key) = f.strip_prefix('.') {
                Field::Either(key.to_owned())
            } else {
                return Err(format!("unsupported TraceQL field `{f}` in `{text}`"));
            }
        }
    };
    let raw = text[at + token.len()..].trim();
    if field == Field::Duration {
        let seconds = duration_seconds(raw)
            .ok_or_else(|| format!("unsupported TraceQL duration `{raw}` in `{text}`"))?;
        return Ok(Condition {
            field,
            op,
            value: Value::Num(seconds),
        });
    }
    let value = if let Some(s) = raw.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
        Value::Str(s.to_owned())
    } else if let Ok(n) = raw.parse::<f64>() {
        Value::Num(n)
    } else if raw == "true" || raw == "false" {
        Value::Bool(raw == "true")
    } else if raw.chars().all(|c| c.is_ascii_alphabetic()) && !raw.is_empty() {
        // status = error, kind = server
        Value::Str(raw.to_owned())
    } else {
        return Err(format!("unsupported TraceQL value `{raw}` in `{text}`"));
    };
    Ok(Condition { field, op, value })
}

/// A TraceQL duration (`1s`, `500ms`, `1.5m`) in seconds.
fn duration_seconds(raw: &str) -> Option<f64> {
    const UNITS: [(&str, f64); 7] = [
        ("ns", 1e-9),
        ("us", 1e-6),
        ("µs", 1e-6),
        ("ms", 1e-3),
        ("s", 1.0),
        ("m", 60.0),
        ("h", 3600.0),
    ];
    UNITS.iter().find_map(|(unit, seconds)| {
        let number: f64 = raw.strip_suffix(unit)?.parse().ok()?;
        (number.is_finite() && number >= 0.0).then_some(number * seconds)
    })
}

impl Condition {
    fn holds(&self, span: &SpanView) -> bool {
        let actual = match &self.field {
            Field::Name => Some(Value::Str(span.name.clone())),
            Field::Status => Some(Value::Str(span.status.clone())),
            Field::Kind => Some(Value::Str(span.kind.clone())),
            Field::Duration => Some(Value::Num(span.duration)),
            Field::Resource(k) => span.resource.get(k).cloned(),
            Field::Span(k) => span.attributes.get(k).cloned(),
            Field::Either(k) => span.attributes.get(k).or(span.resource.get(k)).cloned(),
        };
        let Some(actual) = actual else {
            return false;
        };
        let ordering = match (&actual, &self.value) {
            (Value::Str(a), Value::Str(b)) => a.partial_cmp(b),
            (Value::Num(a), Value::Num(b)) => a.partial_cmp(b),
            (Value::Bool(a), Value::Bool(b)) => a.partial_cmp(b),
            _ => None,
        };
        let Some(ordering) = ordering else {
            return false;
        };
        use std::cmp::Ordering::*;
        match self.op {
            Op::Eq => ordering == Equal,
            Op::Ne => ordering != Equal,
            Op::Gt => ordering == Greater,
            Op::Ge => ordering != Less,
            Op::Lt => ordering == Less,
            Op::Le => ordering != Greater,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span() -> SpanView {
        SpanView {
            name: "calculating-iss-distance".into(),
            kind: "server".into(),
            status: "error".into(),
            duration: 1.25,
            resource: [(
                "service.name".to_string(),
                Value::Str("iss-distance".into()),
            )]
            .into(),
            attributes: [("http.response.status_code".to_string(), Value::Num(502.0))].into(),
        }
    }

    #[test]
    fn the_chapters_kinds_of_filter_match_what_they_should() {
        let hit = |q: &str| SpanFilter::parse(q).unwrap().matches(&span());
        assert!(hit(
            r#"{ resource.service.name = "iss-distance" && name = "calculating-iss-distance" }"#
        ));
        assert!(!hit(
            r#"{ resource.service.name = "frontend" && name = "calculating-iss-distance" }"#
        ));
        assert!(hit("{ status = error }"));
        assert!(!hit("{ status = ok }"));
        assert!(hit(
            r#"{ resource.service.name = "iss-distance" && kind = server }"#
        ));
        assert!(hit("{ span.http.response.status_code >= 500 }"));
        assert!(!hit("{ span.http.response.status_code < 500 }"));
        assert!(hit("{ .http.response.status_code = 502 }"));
        // A resource attribute is not a span attribute.
        assert!(!hit(r#"{ span.service.name = "iss-distance" }"#));
        // An attribute that is missing matches nothing.
        assert!(!hit("{ span.peer.service != \"x\" }"));
        // The span took 1.25 s.
        assert!(hit("{ duration > 1s }"));
        assert!(hit("{ kind = server && duration >= 1250ms }"));
        assert!(!hit("{ duration > 1.5s }"));
        assert!(hit("{ duration < 0.1m }"));
    }

    #[test]
    fn what_it_cannot_evaluate_is_an_error_not_a_silent_miss() {
        assert!(SpanFilter::parse("{ a = 1 } >> { b = 2 }").is_err());
        assert!(SpanFilter::parse("{ status = error || kind = client }").is_err());
        assert!(SpanFilter::parse("{ duration > 2 }").is_err(), "no unit");
        assert!(SpanFilter::parse("{ traceDuration > 2s }").is_err());
        assert!(SpanFilter::parse("{ resource.service.name =~ \"a.*\" }").is_err());
    }
}
