//! The non-interactive form: one line per span, metric data point and log record, as they
//! arrive. Lines are `key=value` pairs after a leading word (`span`, `metric`, `log`), with
//! strings quoted and escaped as Rust debug strings, so each item is exactly one line that
//! `grep` and tests can rely on.

use std::fmt::Write;
use std::time::Duration;

use otlp_receiver::{
    AttrValue, Attributes, Level, MetricKind, PointValue, ReceivedLog, ReceivedMetric,
    ReceivedSpan, SpanKind, StatusCode, Temporality,
};

use super::model;

/// `span trace=… span=… parent=…|- service=… kind=server name="GET /distance"
/// duration_ms=1.234 status=ok attrs={…}`, plus `status_message="…"` when there is one.
pub fn span_line(span: &ReceivedSpan) -> String {
    let status = span.status();
    let mut line = format!(
        "span trace={} span={} parent={} service={} kind={} name={:?} duration_ms={} status={}",
        span.trace_id(),
        span.span_id(),
        span.parent_span_id().as_deref().unwrap_or("-"),
        word(span.service_name()),
        kind_name(span.kind()),
        span.name(),
        millis(span.duration()),
        status_name(status.code),
    );
    if !status.message.is_empty() {
        let _ = write!(line, " status_message={:?}", status.message);
    }
    let _ = write!(line, " attrs={}", attrs(&span.attributes()));
    line
}

/// One line per data point: `metric service=… name=… kind=sum value=4 attrs={…}`.
/// Distributions give `count=… sum=…` (and `min`/`max` when sent, and a histogram's
/// quantiles) instead of `value`.
pub fn metric_lines(metric: &ReceivedMetric) -> Vec<String> {
    let kind = metric.kind();
    metric
        .points()
        .into_iter()
        .map(|point| {
            let mut line = format!(
                "metric service={} name={} kind={}",
                word(metric.service_name()),
                word(Some(metric.name())),
                metric_kind_name(kind),
            );
            if let Some(temporality) = temporality(kind) {
                let _ = write!(line, " temporality={temporality}");
            }
            if !metric.unit().is_empty() {
                let _ = write!(line, " unit={}", word(Some(metric.unit())));
            }
            let _ = write!(
                line,
                " {} attrs={}",
                point_value(&point.value),
                attrs(&point.attributes)
            );
            line
        })
        .collect()
}

/// `log service=… severity=WARN trace=…|- span=…|- body="…" attrs={…}`.
pub fn log_line(log: &ReceivedLog) -> String {
    format!(
        "log service={} severity={} trace={} span={} body={:?} attrs={}",
        word(log.service_name()),
        severity(log),
        log.trace_id().as_deref().unwrap_or("-"),
        log.span_id().as_deref().unwrap_or("-"),
        log.body_text(),
        attrs(&log.attributes()),
    )
}

/// The severity range (`INFO`, `WARN`…), or the SDK's text when it sent no number.
pub fn severity(log: &ReceivedLog) -> String {
    match (log.level(), log.severity_text()) {
        (Level::Unspecified, "") => "-".into(),
        (Level::Unspecified, text) => word(Some(text)),
        (level, _) => level.to_string(),
    }
}

pub fn kind_name(kind: SpanKind) -> &'static str {
    match kind {
        SpanKind::Unspecified => "unspecified",
        SpanKind::Internal => "internal",
        SpanKind::Server => "server",
        SpanKind::Client => "client",
        SpanKind::Producer => "producer",
        SpanKind::Consumer => "consumer",
    }
}

pub fn status_name(code: StatusCode) -> &'static str {
    match code {
        StatusCode::Unset => "unset",
        StatusCode::Ok => "ok",
        StatusCode::Error => "error",
    }
}

/// The OTLP data type: `gauge`, `sum`, `histogram`, `exponential_histogram`, `summary`.
pub fn metric_kind_name(kind: MetricKind) -> &'static str {
    match kind {
        MetricKind::Gauge => "gauge",
        MetricKind::Sum { .. } => "sum",
        MetricKind::Histogram { .. } => "histogram",
        MetricKind::ExponentialHistogram { .. } => "exponential_histogram",
        MetricKind::Summary => "summary",
        MetricKind::Empty => "empty",
    }
}

fn temporality(kind: MetricKind) -> Option<&'static str> {
    let temporality = match kind {
        MetricKind::Sum { temporality, .. }
        | MetricKind::Histogram { temporality }
        | MetricKind::ExponentialHistogram { temporality } => temporality,
        _ => return None,
    };
    Some(match temporality {
        Temporality::Cumulative => "cumulative",
        Temporality::Delta => "delta",
        Temporality::Unspecified => "unspecified",
    })
}

/// `value=4`, or `count=3 sum=12.5 min=1 max=7` for distributions, and for histograms with
/// buckets the estimated quantiles `p50=… p90=… p99=…` (see [`model::quantile`]).
pub fn point_value(value: &PointValue) -> String {
    match value {
        PointValue::Int(i) => format!("value={i}"),
        PointValue::Double(d) => format!("value={}", number(*d)),
        PointValue::Histogram {
            count,
            sum,
            min,
            max,
            bounds,
            bucket_counts,
        } => {
            let mut out = format!("count={count}");
            for (name, v) in [("sum", sum), ("min", min), ("max", max)] {
                if let Some(v) = v {
                    let _ = write!(out, " {name}={}", number(*v));
                }
            }
            for q in model::QUANTILES {
                if let Some(v) = model::quantile(bounds, bucket_counts, *min, *max, q) {
                    let _ = write!(out, " p{}={}", number(q * 100.0), number(v));
                }
            }
            out
        }
        PointValue::ExponentialHistogram { count, sum, .. } => match sum {
            Some(sum) => format!("count={count} sum={}", number(*sum)),
            None => format!("count={count}"),
        },
        PointValue::Summary { count, sum } => format!("count={count} sum={}", number(*sum)),
        PointValue::Missing => "value=-".into(),
    }
}

/// Up to 6 significant decimals, without trailing zeros: `12.5`, `0.000123`, `3`.
pub fn number(value: f64) -> String {
    if value.is_finite() && value == value.trunc() && value.abs() < 1e15 {
        return format!("{}", value as i64);
    }
    let text = format!("{value:.6}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "0" || text == "-0" {
        format!("{value:e}")
    } else {
        text.to_owned()
    }
}

/// Milliseconds with three decimals (microsecond precision).
pub fn millis(duration: Duration) -> String {
    format!("{:.3}", duration.as_secs_f64() * 1e3)
}

/// `{key=value, key2="a string"}`: numbers and booleans bare, everything else quoted.
pub fn attrs(attributes: &Attributes) -> String {
    let pairs: Vec<String> = attributes
        .iter()
        .map(|(k, v)| format!("{}={}", word(Some(k)), value(v)))
        .collect();
    format!("{{{}}}", pairs.join(", "))
}

/// One attribute value for a line: numbers and booleans bare, strings quoted.
pub fn value(value: &AttrValue) -> String {
    match value {
        AttrValue::Int(i) => i.to_string(),
        AttrValue::Double(d) => number(*d),
        AttrValue::Bool(b) => b.to_string(),
        AttrValue::String(s) => format!("{s:?}"),
        other => format!("{:?}", other.to_string()),
    }
}

/// A name printed bare when it is one plain word, quoted otherwise; `-` when missing.
pub fn word(text: Option<&str>) -> String {
    match text {
        None => "-".into(),
        Some(t)
            if !t.is_empty()
                && t.chars()
                    .all(|c| c.is_alphanumeric() || "._-:/@+".contains(c)) =>
        {
            t.to_owned()
        }
        Some(t) => format!("{t:?}"),
    }
}
