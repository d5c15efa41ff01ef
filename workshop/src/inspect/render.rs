//! The interactive screen as lines of styled text: a header, then Traces, Metrics and Logs
//! sections that share the terminal's height. Pure functions of a store snapshot, so they
//! can be unit-tested and reused by any command that holds a [`Store`].

use std::time::{Duration, SystemTime};

use otlp_receiver::{AttrValue, Level, ReceivedLog, ReceivedSpan, Stats, StatusCode, Store};

use super::lines::{kind_name, number, point_value, severity};
use super::model::{self, Filter, MetricStream, Sieve, TraceTree, short_id};

/// How many traces and logs the screen looks at (the rest would not fit anyway).
const MAX_TRACES: usize = 50;
const MAX_LOGS: usize = 200;

/// Attributes shown first on a span row, when present.
const KEY_ATTRIBUTES: [&str; 7] = [
    "http.route",
    "url.full",
    "http.response.status_code",
    "server.address",
    "error.type",
    "iss.latitude",
    "iss.longitude",
];

/// Attributes the tracing bridge adds to every span, which say little in a tree.
fn noisy(key: &str) -> bool {
    key.starts_with("code.")
        || key.starts_with("thread.")
        // Span names carry the method already.
        || matches!(key, "busy_ns" | "idle_ns" | "target" | "http.request.method")
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    Plain,
    Bold,
    Dim,
    Red,
    Green,
    Yellow,
    Cyan,
}

/// One screen line: styled segments, cut to the terminal width when written.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Line {
    pub segments: Vec<(String, Style)>,
}

impl Line {
    pub fn new() -> Line {
        Line::default()
    }

    pub fn push(mut self, text: impl Into<String>, style: Style) -> Line {
        self.segments.push((text.into(), style));
        self
    }

    pub fn plain(self, text: impl Into<String>) -> Line {
        self.push(text, Style::Plain)
    }

    /// Every segment dimmed, errors excepted (for context outside the filter).
    pub fn dimmed(mut self) -> Line {
        for (_, style) in &mut self.segments {
            if *style != Style::Red {
                *style = Style::Dim;
            }
        }
        self
    }

    /// The text without styles.
    #[cfg(test)]
    pub fn text(&self) -> String {
        self.segments.iter().map(|(t, _)| t.as_str()).collect()
    }

    /// The line cut to `width` characters, with ANSI colours when `color`.
    pub fn render(&self, width: usize, color: bool) -> String {
        let mut out = String::new();
        let mut left = width;
        for (text, style) in &self.segments {
            if left == 0 {
                break;
            }
            let count = text.chars().count();
            let piece: String = if count > left {
                // Cut with an ellipsis, so it is clear there is more.
                let mut cut: String = text.chars().take(left.saturating_sub(1)).collect();
                cut.push('…');
                cut
            } else {
                text.clone()
            };
            left = left.saturating_sub(count.min(left));
            let code = match style {
                Style::Plain => "",
                Style::Bold => "\x1b[1m",
                Style::Dim => "\x1b[2m",
                Style::Red => "\x1b[31m",
                Style::Green => "\x1b[32m",
                Style::Yellow => "\x1b[33m",
                Style::Cyan => "\x1b[36m",
            };
            if color && !code.is_empty() {
                out.push_str(code);
                out.push_str(&piece);
                out.push_str("\x1b[0m");
            } else {
                out.push_str(&piece);
            }
        }
        out
    }
}

/// Which sections take the screen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Focus {
    All,
    Traces,
    Metrics,
    Logs,
}

/// What the person looking at the screen chose.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ViewState {
    pub filter: Filter,
    /// Which of those traces: failed or slow ones only (keys `e` and `d`).
    pub sieve: Sieve,
    pub focus: Focus,
    /// Where the data comes from, for the header (e.g. the listening addresses).
    pub source: String,
    /// The OTLP/HTTP endpoint to point an SDK at, for the hint while nothing has arrived.
    pub endpoint: String,
    /// What to say about the receiver followed, when it is gone (see `follow::Link`).
    pub link: Option<String>,
}

/// The whole screen for a `width` × `height` terminal.
pub fn screen(store: &Store, state: &ViewState, width: usize, height: usize) -> Vec<Line> {
    let spans = store.spans();
    let all_logs = store.logs();
    let metrics = store.metrics();
    let services = model::services(&spans, &all_logs, &metrics);
    let mut traces = model::traces(&spans, &state.filter);
    traces.retain(|trace| state.sieve.keeps(trace));
    let streams = model::metric_streams(&metrics, &state.filter);
    let log_count = all_logs
        .iter()
        .filter(|l| state.filter.matches(l.service_name()))
        .count();
    let logs = model::latest_logs(&all_logs, &state.filter, MAX_LOGS);

    let mut out = header(state, &store.stats(), &services);
    if spans.is_empty() && all_logs.is_empty() && metrics.is_empty() {
        out.push(Line::new());
        out.push(Line::new().push("Waiting for telemetry…", Style::Bold));
        out.push(Line::new().push(
            format!(
                "Point an OpenTelemetry SDK here, e.g. OTEL_EXPORTER_OTLP_ENDPOINT={}",
                state.endpoint
            ),
            Style::Dim,
        ));
        return out;
    }
    let trace_count = traces.len();
    let traces: Vec<Line> = traces
        .iter()
        .take(MAX_TRACES)
        .flat_map(|t| trace_lines(t, &logs, &state.filter, width))
        .collect();
    let metrics: Vec<Line> = streams.iter().map(|s| metric_line(s, width)).collect();
    let log_lines: Vec<Line> = logs.iter().map(log_line).collect();

    let mut sections = Vec::new();
    let shown = |focus| state.focus == Focus::All || state.focus == focus;
    if shown(Focus::Traces) {
        let title = format!("Traces ({trace_count})");
        sections.push((title, traces, 2));
    }
    if shown(Focus::Metrics) {
        sections.push((format!("Metrics ({} streams)", streams.len()), metrics, 1));
    }
    if shown(Focus::Logs) {
        let title = format!("Logs ({log_count})");
        sections.push((title, log_lines, 1));
    }
    let room = height.saturating_sub(out.len() + sections.len());
    let sizes = share(
        room,
        &sections
            .iter()
            .map(|(_, lines, weight)| (lines.len(), *weight))
            .collect::<Vec<_>>(),
    );
    for ((title, lines, _), size) in sections.into_iter().zip(sizes) {
        out.push(section_title(&title, width));
        let total = lines.len();
        let mut lines = lines;
        if total > size {
            lines.truncate(size.saturating_sub(1));
            if size > 0 {
                lines.push(Line::new().push(
                    format!(
                        "  … {} more lines (t/m/l shows one section)",
                        total - lines.len()
                    ),
                    Style::Dim,
                ));
            }
        }
        out.extend(lines);
    }
    out
}

fn header(state: &ViewState, stats: &Stats, services: &[String]) -> Vec<Line> {
    let filter = if state.filter.is_all() {
        Line::new().plain("all")
    } else {
        Line::new().push(state.filter.describe(), Style::Yellow)
    };
    let mut first = Line::new()
        .push("workshop inspect", Style::Bold)
        .plain("  ")
        .push(state.source.clone(), Style::Dim)
        .plain("  service: ");
    first.segments.extend(filter.segments);
    if let Some(only) = describe_sieve(&state.sieve) {
        first = first.plain("  traces: ").push(only, Style::Yellow);
    }
    let total = |s: otlp_receiver::SignalStats| s.received.total();
    let dropped = stats.spans.dropped + stats.logs.dropped + stats.metric_points.dropped;
    let mut counts = format!(
        "{} spans · {} logs · {} metric points received",
        total(stats.spans),
        total(stats.logs),
        total(stats.metric_points)
    );
    if dropped > 0 {
        counts.push_str(&format!(" ({dropped} oldest forgotten)"));
    }
    if stats.http_rejected > 0 {
        counts.push_str(&format!(" · {} bad requests", stats.http_rejected));
    }
    let services = if services.is_empty() {
        String::new()
    } else {
        format!("  from {}", services.join(", "))
    };
    let second = Line::new().plain(counts).push(services, Style::Dim).push(
        "   q quit · s service · e errors · d slow · t m l a sections",
        Style::Dim,
    );
    let mut lines = vec![first, second];
    if let Some(link) = &state.link {
        lines.push(Line::new().push(link.clone(), Style::Red));
    }
    lines
}

/// `with an error, 1.00 s or longer`; `None` when every trace is shown.
pub fn describe_sieve(sieve: &Sieve) -> Option<String> {
    let mut parts = Vec::new();
    if sieve.errors {
        parts.push("with an error".to_owned());
    }
    if let Some(at_least) = sieve.slower_than {
        parts.push(format!("{} or longer", duration(at_least)));
    }
    (!parts.is_empty()).then(|| parts.join(", "))
}

fn section_title(title: &str, width: usize) -> Line {
    let rule = width.saturating_sub(title.chars().count() + 4);
    Line::new()
        .push(format!("── {title} "), Style::Bold)
        .push("─".repeat(rule), Style::Dim)
}

/// Splits `room` lines between sections that want `(lines, weight)`: each gets its
/// weighted share, and what one does not need goes to the others.
pub fn share(room: usize, wants: &[(usize, usize)]) -> Vec<usize> {
    let mut sizes = vec![0; wants.len()];
    let mut left = room;
    let mut open: Vec<usize> = (0..wants.len()).filter(|&i| wants[i].0 > 0).collect();
    while left > 0 && !open.is_empty() {
        let weights: usize = open.iter().map(|&i| wants[i].1.max(1)).sum();
        let mut given = 0;
        for &i in &open {
            let portion = (left * wants[i].1.max(1) / weights).max(1);
            let take = portion.min(wants[i].0 - sizes[i]).min(left - given);
            sizes[i] += take;
            given += take;
        }
        left -= given;
        open.retain(|&i| sizes[i] < wants[i].0);
        if given == 0 {
            break;
        }
    }
    sizes
}

/// A trace: a summary line, then one line per span, indented as a tree.
/// Spans of services outside `filter` are dimmed.
pub fn trace_lines(
    trace: &TraceTree,
    logs: &[ReceivedLog],
    filter: &Filter,
    width: usize,
) -> Vec<Line> {
    let log_count = logs
        .iter()
        .filter(|l| l.trace_id().as_deref() == Some(trace.trace_id.as_str()))
        .count();
    let root = trace.root().map(|s| s.name()).unwrap_or("?");
    let mut summary = Line::new()
        .push(format!("{} ", clock(trace.start)), Style::Dim)
        .push(short_id(&trace.trace_id).to_owned(), Style::Cyan)
        .plain("  ")
        .push(root.to_owned(), Style::Bold)
        .push(
            format!(
                "  {} · {} spans · {}",
                trace.services.join(" → "),
                trace.rows.len(),
                duration(trace.duration())
            ),
            Style::Dim,
        );
    if log_count > 0 {
        let s = if log_count == 1 { "" } else { "s" };
        summary = summary.push(format!(" · {log_count} log{s}"), Style::Dim);
    }
    if trace.has_error {
        summary = summary.push("  ERROR", Style::Red);
    }
    let mut out = vec![summary];
    let name_width = (width * 2 / 5).clamp(24, 48);
    for row in &trace.rows {
        let line = span_line(&row.span, &row.prefix, row.orphan, name_width);
        out.push(if filter.matches(row.span.service_name()) {
            line
        } else {
            line.dimmed()
        });
    }
    out
}

/// `  ├─ GET /distance      gateway      server    12.3 ms  ✓  http.route=/distance …`
pub fn span_line(span: &ReceivedSpan, prefix: &str, orphan: bool, name_width: usize) -> Line {
    let status = span.status();
    let error = status.code == StatusCode::Error;
    let mut name = format!("  {prefix}{}", span.name());
    if orphan {
        name = format!("  ⤷ {}", span.name());
    }
    let name = pad(&name, name_width);
    let mut line = Line::new()
        .push(name, if error { Style::Red } else { Style::Plain })
        .push(
            format!(" {:<14}", span.service_name().unwrap_or("?")),
            Style::Cyan,
        )
        .push(format!(" {:<8}", kind_name(span.kind())), Style::Dim)
        .plain(format!("{:>10}", duration(span.duration())));
    line = match status.code {
        StatusCode::Error if status.message.is_empty() => line.push("  ✗ ERROR", Style::Red),
        StatusCode::Error => line.push(format!("  ✗ ERROR {}", status.message), Style::Red),
        StatusCode::Ok => line.push("  ✓ ok", Style::Green),
        StatusCode::Unset => line.push("  ✓", Style::Green),
    };
    let attributes = span.attributes();
    let mut shown: Vec<String> = KEY_ATTRIBUTES
        .iter()
        .filter_map(|k| {
            attributes
                .get(*k)
                .map(|v| format!("{k}={}", short_value(v)))
        })
        .collect();
    shown.extend(
        attributes
            .iter()
            .filter(|(k, _)| !KEY_ATTRIBUTES.contains(&k.as_str()) && !noisy(k))
            .map(|(k, v)| format!("{k}={}", short_value(v))),
    );
    if orphan {
        shown.insert(0, "(parent not received)".into());
    }
    if !shown.is_empty() {
        line = line.push(format!("  {}", shown.join(" ")), Style::Dim);
    }
    line
}

/// `iss.requests  {http.response.status_code=200}  4  sum · gateway`
pub fn metric_line(stream: &MetricStream, width: usize) -> Line {
    let name_width = (width / 4).clamp(20, 36);
    let attrs: Vec<String> = stream
        .attributes
        .iter()
        .map(|(k, v)| format!("{k}={}", short_value(v)))
        .collect();
    let value = match &stream.value {
        otlp_receiver::PointValue::Int(i) => i.to_string(),
        otlp_receiver::PointValue::Double(d) => number(*d),
        other => point_value(other),
    };
    let unit = if stream.unit.is_empty() || stream.unit == "1" {
        String::new()
    } else {
        format!(" {}", stream.unit)
    };
    Line::new()
        .push(pad(&format!("  {}", stream.name), name_width), Style::Bold)
        .push(
            format!(" {:<14}", stream.service.as_deref().unwrap_or("?")),
            Style::Cyan,
        )
        .push(format!(" {:<10}", stream.kind.to_string()), Style::Dim)
        .plain(format!(" {value}{unit}"))
        .push(
            if attrs.is_empty() {
                String::new()
            } else {
                format!("  {{{}}}", attrs.join(", "))
            },
            Style::Dim,
        )
}

/// `12:03:04.567 WARN  gateway  a4f2c1d0  ISS API slow`
pub fn log_line(log: &ReceivedLog) -> Line {
    let style = match log.level() {
        Level::Error | Level::Fatal => Style::Red,
        Level::Warn => Style::Yellow,
        Level::Debug | Level::Trace => Style::Dim,
        _ => Style::Plain,
    };
    let trace = log
        .trace_id()
        .map(|t| short_id(&t).to_owned())
        .unwrap_or_else(|| "-".into());
    let body = log.body_text().replace(['\n', '\r'], " ");
    Line::new()
        .push(format!("  {} ", clock(log.timestamp())), Style::Dim)
        .push(format!("{:<5}", severity(log)), style)
        .push(
            format!(" {:<14}", log.service_name().unwrap_or("?")),
            Style::Cyan,
        )
        .push(format!(" {trace:<8}"), Style::Cyan)
        .plain(format!("  {body}"))
}

/// `412 µs`, `12.3 ms`, `1.25 s`.
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

/// Local wall-clock time `HH:MM:SS.mmm`.
pub fn clock(time: SystemTime) -> String {
    chrono::DateTime::<chrono::Local>::from(time)
        .format("%H:%M:%S%.3f")
        .to_string()
}

fn short_value(value: &AttrValue) -> String {
    let text = value.to_string().replace(['\n', '\r'], " ");
    if text.chars().count() > 60 {
        text.chars().take(59).collect::<String>() + "…"
    } else {
        text
    }
}

/// Pads (or cuts, with an ellipsis) to exactly `width` characters.
fn pad(text: &str, width: usize) -> String {
    let count = text.chars().count();
    if count > width {
        text.chars()
            .take(width.saturating_sub(1))
            .collect::<String>()
            + "…"
    } else {
        format!("{text}{}", " ".repeat(width - count))
    }
}
