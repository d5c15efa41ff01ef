//! The interactive screen as lines of styled text: a header, then Traces, Metrics and Logs
//! sections that share the terminal's height. Pure functions of a store snapshot, so they
//! can be unit-tested. The rows are columns for the eye; their pieces (names, values,
//! durations) are those of the one-line forms in [`super::lines`].

use std::time::SystemTime;

use otlp_receiver::{AttrValue, Level, ReceivedLog, ReceivedSpan, StatusCode, Store};

use super::lines::{duration, lower, point_value, received, severity};
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

/// A segment's look: its ANSI code, written only when colours are on.
pub type Style = &'static str;
pub const PLAIN: Style = "";
pub const BOLD: Style = "\x1b[1m";
pub const DIM: Style = "\x1b[2m";
pub const RED: Style = "\x1b[31m";
pub const GREEN: Style = "\x1b[32m";
pub const YELLOW: Style = "\x1b[33m";
pub const CYAN: Style = "\x1b[36m";

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
        self.push(text, PLAIN)
    }

    /// Every segment dimmed, errors excepted (for context outside the filter).
    pub fn dimmed(mut self) -> Line {
        for (_, style) in &mut self.segments {
            if *style != RED {
                *style = DIM;
            }
        }
        self
    }

    /// The line cut to `width` characters (with an ellipsis, so it is clear there is
    /// more), with ANSI colours when `color`.
    pub fn render(&self, width: usize, color: bool) -> String {
        let mut out = String::new();
        let mut left = width;
        for (text, style) in &self.segments {
            if left == 0 {
                break;
            }
            let count = text.chars().count();
            let piece = if count > left {
                cut(text, left)
            } else {
                text.clone()
            };
            left -= count.min(left);
            if color && !style.is_empty() {
                out.push_str(&format!("{style}{piece}\x1b[0m"));
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
    let (spans, logs, metrics) = (store.spans(), store.logs(), store.metrics());
    let services = model::services(&spans, &logs, &metrics);
    let mut out = header(state, store, &services);
    if spans.is_empty() && logs.is_empty() && metrics.is_empty() {
        let hint = format!(
            "Point an OpenTelemetry SDK here, e.g. OTEL_EXPORTER_OTLP_ENDPOINT={}",
            state.endpoint
        );
        out.push(Line::new());
        out.push(Line::new().push("Waiting for telemetry…", BOLD));
        out.push(Line::new().push(hint, DIM));
        return out;
    }
    let filter = &state.filter;
    let mut traces = model::traces(&spans, filter);
    traces.retain(|trace| state.sieve.keeps(trace));
    let streams = model::metric_streams(&metrics, filter);
    let log_count = logs.iter().filter(|l| filter.matches(l.service_name()));
    let log_count = log_count.count();
    let logs = model::latest_logs(&logs, filter, MAX_LOGS);
    let trees = traces.iter().take(MAX_TRACES);
    let sections = [
        (Focus::Traces, format!("Traces ({})", traces.len()), 2),
        (
            Focus::Metrics,
            format!("Metrics ({} streams)", streams.len()),
            1,
        ),
        (Focus::Logs, format!("Logs ({log_count})"), 1),
    ];
    let lines: [Vec<Line>; 3] = [
        trees
            .flat_map(|t| trace_lines(t, &logs, filter, width))
            .collect(),
        streams.iter().map(|s| metric_line(s, width)).collect(),
        logs.iter().map(log_line).collect(),
    ];
    let shown = |(focus, ..): &(_, _, _)| state.focus == Focus::All || state.focus == *focus;
    let sections: Vec<_> = sections
        .into_iter()
        .zip(lines)
        .filter(|(s, _)| shown(s))
        .collect();
    let room = height.saturating_sub(out.len() + sections.len());
    let wants: Vec<(usize, usize)> = sections.iter().map(|(s, l)| (l.len(), s.2)).collect();
    for (((_, title, _), mut lines), size) in sections.into_iter().zip(share(room, &wants)) {
        let rule = "─".repeat(width.saturating_sub(title.chars().count() + 4));
        out.push(
            Line::new()
                .push(format!("── {title} "), BOLD)
                .push(rule, DIM),
        );
        let total = lines.len();
        if total > size {
            lines.truncate(size.saturating_sub(1));
            let more = total - lines.len();
            let more = format!("  … {more} more lines (t/m/l shows one section)");
            lines.extend((size > 0).then(|| Line::new().push(more, DIM)));
        }
        out.extend(lines);
    }
    out
}

/// The name, source, filter and sieve; what arrived; the keys; and a receiver that is gone.
fn header(state: &ViewState, store: &Store, services: &[String]) -> Vec<Line> {
    let mut first = Line::new()
        .push("workshop inspect", BOLD)
        .plain("  ")
        .push(state.source.clone(), DIM)
        .plain("  service: ");
    first = match state.filter.is_all() {
        true => first.plain("all"),
        false => first.push(state.filter.describe(), YELLOW),
    };
    if let Some(only) = describe_sieve(&state.sieve) {
        first = first.plain("  traces: ").push(only, YELLOW);
    }
    let stats = store.stats();
    let mut counts = format!("{} received", received(&stats));
    let dropped = stats.spans.dropped + stats.logs.dropped + stats.metric_points.dropped;
    if dropped > 0 {
        counts.push_str(&format!(" ({dropped} oldest forgotten)"));
    }
    if stats.http_rejected > 0 {
        counts.push_str(&format!(" · {} bad requests", stats.http_rejected));
    }
    let from = match services {
        [] => String::new(),
        _ => format!("   from {}", services.join(", ")),
    };
    let keys = "   q quit · s service · e errors · d slow · t m l a sections";
    let second = (Line::new().plain(counts)).push(keys, DIM).push(from, DIM);
    let link = (state.link.iter()).map(|link| Line::new().push(link.clone(), RED));
    [first, second].into_iter().chain(link).collect()
}

/// `with an error, 1.00 s or longer`; `None` when every trace is shown.
pub fn describe_sieve(sieve: &Sieve) -> Option<String> {
    let errors = sieve.errors.then(|| "with an error".to_owned());
    let slow = (sieve.slower_than).map(|at_least| format!("{} or longer", duration(at_least)));
    let parts: Vec<String> = errors.into_iter().chain(slow).collect();
    (!parts.is_empty()).then(|| parts.join(", "))
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
    let in_trace = |l: &&ReceivedLog| l.trace_id().as_deref() == Some(trace.trace_id.as_str());
    let log_count = logs.iter().filter(in_trace).count();
    let root = trace.rows.first().map_or("?", |r| r.span.name());
    let about = format!(
        "  {} · {} spans · {}",
        trace.services.join(" → "),
        trace.rows.len(),
        duration(trace.duration)
    );
    let mut summary = Line::new()
        .push(format!("{} ", clock(trace.start)), DIM)
        .push(short_id(&trace.trace_id).to_owned(), CYAN)
        .plain("  ")
        .push(root.to_owned(), BOLD)
        .push(about, DIM);
    if log_count > 0 {
        let s = if log_count == 1 { "" } else { "s" };
        summary = summary.push(format!(" · {log_count} log{s}"), DIM);
    }
    if trace.has_error {
        summary = summary.push("  ERROR", RED);
    }
    let name_width = (width * 2 / 5).clamp(24, 48);
    let rows = trace.rows.iter().map(|row| {
        let line = span_line(&row.span, &row.prefix, row.orphan, name_width);
        match filter.matches(row.span.service_name()) {
            true => line,
            false => line.dimmed(),
        }
    });
    std::iter::once(summary).chain(rows).collect()
}

/// `  ├─ GET /distance      gateway      server    12.3 ms  ✓  http.route=/distance …`
pub fn span_line(span: &ReceivedSpan, prefix: &str, orphan: bool, name_width: usize) -> Line {
    let status = span.status();
    let name = match orphan {
        true => format!("  ⤷ {}", span.name()),
        false => format!("  {prefix}{}", span.name()),
    };
    let error = status.code == StatusCode::Error;
    let outcome = match status.code {
        StatusCode::Error if status.message.is_empty() => "  ✗ ERROR".to_owned(),
        StatusCode::Error => format!("  ✗ ERROR {}", status.message),
        StatusCode::Ok => "  ✓ ok".to_owned(),
        StatusCode::Unset => "  ✓".to_owned(),
    };
    let attributes = span.attributes();
    let key = KEY_ATTRIBUTES
        .iter()
        .filter_map(|k| Some((*k, attributes.get(*k)?)));
    let rest = (attributes.iter())
        .filter(|(k, _)| !KEY_ATTRIBUTES.contains(&k.as_str()) && !noisy(k))
        .map(|(k, v)| (k.as_str(), v));
    let mut shown: Vec<String> = key.chain(rest).map(|(k, v)| pair(k, v)).collect();
    if orphan {
        shown.insert(0, "(parent not received)".into());
    }
    let service = span.service_name().unwrap_or("?");
    let line = Line::new()
        .push(pad(&name, name_width), if error { RED } else { PLAIN })
        .push(format!(" {service:<14}"), CYAN)
        .push(format!(" {:<8}", lower(span.kind())), DIM)
        .plain(format!("{:>10}", duration(span.duration())))
        .push(outcome, if error { RED } else { GREEN });
    match shown.is_empty() {
        true => line,
        false => line.push(format!("  {}", shown.join(" ")), DIM),
    }
}

/// `iss.requests  {http.response.status_code=200}  4  sum · gateway`
pub fn metric_line(stream: &MetricStream, width: usize) -> Line {
    let name_width = (width / 4).clamp(20, 36);
    let attrs: Vec<String> = stream.attributes.iter().map(|(k, v)| pair(k, v)).collect();
    let attrs = match attrs.is_empty() {
        true => String::new(),
        false => format!("  {{{}}}", attrs.join(", ")),
    };
    let unit = match stream.unit.as_str() {
        "" | "1" => String::new(),
        unit => format!(" {unit}"),
    };
    let service = stream.service.as_deref().unwrap_or("?");
    Line::new()
        .push(pad(&format!("  {}", stream.name), name_width), BOLD)
        .push(format!(" {service:<14}"), CYAN)
        .push(format!(" {:<10}", stream.kind.to_string()), DIM)
        .plain(format!(" {}{unit}", point_value(&stream.value)))
        .push(attrs, DIM)
}

/// `12:03:04.567 WARN  gateway  a4f2c1d0  ISS API slow`
pub fn log_line(log: &ReceivedLog) -> Line {
    let style = match log.level() {
        Level::Error | Level::Fatal => RED,
        Level::Warn => YELLOW,
        Level::Debug | Level::Trace => DIM,
        _ => PLAIN,
    };
    let trace = log.trace_id().map(|t| short_id(&t).to_owned());
    let body = log.body_text().replace(['\n', '\r'], " ");
    Line::new()
        .push(format!("  {} ", clock(log.timestamp())), DIM)
        .push(format!("{:<5}", severity(log)), style)
        .push(format!(" {:<14}", log.service_name().unwrap_or("?")), CYAN)
        .push(format!(" {:<8}", trace.as_deref().unwrap_or("-")), CYAN)
        .plain(format!("  {body}"))
}

/// Local wall-clock time `HH:MM:SS.mmm`.
pub fn clock(time: SystemTime) -> String {
    chrono::DateTime::<chrono::Local>::from(time)
        .format("%H:%M:%S%.3f")
        .to_string()
}

/// `key=value` on one line, the value cut at 60 characters.
fn pair(key: &str, value: &AttrValue) -> String {
    let text = value.to_string().replace(['\n', '\r'], " ");
    match text.chars().count() > 60 {
        true => format!("{key}={}", cut(&text, 60)),
        false => format!("{key}={text}"),
    }
}

/// The first `width` characters of `text`, the last of them an ellipsis.
fn cut(text: &str, width: usize) -> String {
    let kept: String = text.chars().take(width.saturating_sub(1)).collect();
    kept + "…"
}

/// Pads (or cuts, with an ellipsis) to exactly `width` characters.
fn pad(text: &str, width: usize) -> String {
    match text.chars().count() {
        count if count > width => cut(text, width),
        count => format!("{text}{}", " ".repeat(width - count)),
    }
}
