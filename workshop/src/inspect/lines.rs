//! The one-line forms of what arrived: one line per span, metric data point and log record,
//! as `inspect --lines` prints them and `check --verbose` lists them. Lines are `key=value`
//! pairs after a leading word (`span`, `metric`, `log`), with strings quoted and escaped as
//! Rust debug strings, so each item is exactly one line that `grep` and tests can rely on.
//! The pieces (names, values, numbers) are the screen's too.

use std::fmt::Write;
use std::time::Duration;

use otlp_receiver::{
    AttrValue, Attributes, Level, MetricKind, PointValue, ReceivedLog, ReceivedMetric,
    ReceivedSpan, Stats,
};

use super::model;

/// `span trace=… span=… parent=…|- service=… kind=server name="GET /distance"
/// duration_ms=1.234 status=ok attrs={…}`, plus `status_message="…"` when there is one.
pub fn span_line(span: &ReceivedSpan) -> String {
    let status = span.status();
    let mut line = format!(
        "span trace={} span={} parent={} service={} kind={} name={:?} duration_ms={:.3} status={}",
        span.trace_id(),
        span.span_id(),
        span.parent_span_id().as_deref().unwrap_or("-"),
        word(span.service_name()),
        lower(span.kind()),
        span.name(),
        span.duration().as_secs_f64() * 1e3,
        lower(status.code),
    );
    if !status.message.is_empty() {
        let _ = write!(line, " status_message={:?}", status.message);
    }
    let _ = write!(line, " attrs={}", attrs(&span.attributes()));
    line
}

/// One line per data point: `metric service=… scope=… name=… kind=sum monotonic=true
/// temporality=cumulative value=4 attrs={…}` (`scope`: the meter's name). Distributions give `count=… sum=…` (and `min`/`max` when
/// sent, and a histogram's quantiles) instead of `value`.
pub fn metric_lines(metric: &ReceivedMetric) -> Vec<String> {
    let kind = metric.kind();
    let mut head = format!(
        "metric service={} scope={} name={} kind={}",
        word(metric.service_name()),
        word(Some(metric.origin.scope.name.as_str()).filter(|name| !name.is_empty())),
        word(Some(metric.name())),
        metric_kind_name(kind),
    );
    if let MetricKind::Sum { monotonic, .. } = kind {
        let _ = write!(head, " monotonic={monotonic}");
    }
    if let MetricKind::Sum { temporality, .. }
    | MetricKind::Histogram { temporality }
    | MetricKind::ExponentialHistogram { temporality } = kind
    {
        let _ = write!(head, " temporality={}", lower(temporality));
    }
    if !metric.unit().is_empty() {
        let _ = write!(head, " unit={}", word(Some(metric.unit())));
    }
    let point = |p: otlp_receiver::DataPoint| {
        let value = match p.value {
            PointValue::Int(_) | PointValue::Double(_) | PointValue::Missing => "value=",
            _ => "",
        };
        let attributes = attrs(&p.attributes);
        format!("{head} {value}{} attrs={attributes}", point_value(&p.value))
    };
    metric.points().into_iter().map(point).collect()
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

/// `42 spans, 18 log records, 6 metric points`: what a receiver got, whichever protocol.
pub fn received(stats: &Stats) -> String {
    format!(
        "{} spans, {} log records, {} metric points",
        stats.spans.received.total(),
        stats.logs.received.total(),
        stats.metric_points.received.total()
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

/// A unit variant's name in lower case: `server`, `error`, `cumulative`.
pub fn lower(variant: impl std::fmt::Debug) -> String {
    format!("{variant:?}").to_lowercase()
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

/// `4` for a number, `-` for a missing one, `count=3 sum=12.5 min=1 max=7` for
/// distributions, and for histograms with buckets the estimated quantiles `p50=… p90=…
/// p99=…` (see [`model::quantile`]).
pub fn point_value(value: &PointValue) -> String {
    let (count, sum, min, max) = match value {
        PointValue::Int(i) => return i.to_string(),
        PointValue::Double(d) => return number(*d),
        PointValue::Missing => return "-".into(),
        PointValue::Histogram {
            count,
            sum,
            min,
            max,
            ..
        } => (count, *sum, *min, *max),
        PointValue::ExponentialHistogram { count, sum, .. } => (count, *sum, None, None),
        PointValue::Summary { count, sum } => (count, Some(*sum), None, None),
    };
    let mut out = format!("count={count}");
    for (name, v) in [("sum", sum), ("min", min), ("max", max)] {
        if let Some(v) = v {
            let _ = write!(out, " {name}={}", number(v));
        }
    }
    if let PointValue::Histogram {
        bounds,
        bucket_counts,
        ..
    } = value
    {
        for q in model::QUANTILES {
            if let Some(v) = model::quantile(bounds, bucket_counts, min, max, q) {
                let _ = write!(out, " p{}={}", number(q * 100.0), number(v));
            }
        }
    }
    out
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

/// `412 µs`, `12.3 ms`, `1.25 s`: span latencies to three significant digits or so.
pub fn duration(d: Duration) -> String {
    let micros = d.as_secs_f64() * 1e6;
    if micros < 1_000.0 {
        format!("{micros:.0} µs")
    } else if micros < 1_000_000.0 {
        format!("{:.1} ms", micros / 1e3)
    } else {
        format!("{:.2} s", micros / 1e6)
    }
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
    let plain = |c: char| c.is_alphanumeric() || "._-:/@+".contains(c);
    match text {
        None => "-".into(),
        Some(t) if !t.is_empty() && t.chars().all(plain) => t.to_owned(),
        Some(t) => format!("{t:?}"),
    }
}
