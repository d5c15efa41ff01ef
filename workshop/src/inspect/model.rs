//! What the view shows, computed from a store snapshot: traces as span trees, the latest
//! value of every metric stream, and the newest log records, all narrowed by a service
//! filter. Nothing here prints; `render` and `lines` turn it into text.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use otlp_receiver::{
    Attributes, MetricKind, PointValue, ReceivedLog, ReceivedMetric, ReceivedSpan, StatusCode,
};

/// Deeper spans are drawn at this depth, so that a pathological chain of spans cannot
/// push every name off the screen.
const MAX_INDENT: usize = 24;

/// Which services to show; empty means all of them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filter {
    services: Vec<String>,
}

impl Filter {
    pub fn new(services: impl IntoIterator<Item = impl Into<String>>) -> Filter {
        Filter {
            services: services.into_iter().map(Into::into).collect(),
        }
    }

    pub fn is_all(&self) -> bool {
        self.services.is_empty()
    }

    /// Items without a `service.name` only pass when nothing is filtered.
    pub fn matches(&self, service: Option<&str>) -> bool {
        self.is_all() || service.is_some_and(|s| self.services.iter().any(|f| f == s))
    }

    /// `all` or the names, comma-separated.
    pub fn describe(&self) -> String {
        if self.is_all() {
            "all".into()
        } else {
            self.services.join(", ")
        }
    }
}

/// Which traces to show besides the service filter: all of them, or only those with a
/// failed span, or only those that took at least so long (or both). The troubleshooting
/// chapter's first look at a symptom: "show me the failing ones", "show me the slow ones".
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sieve {
    pub errors: bool,
    pub slower_than: Option<Duration>,
}

impl Sieve {
    pub fn keeps(&self, trace: &TraceTree) -> bool {
        self.passes(trace.has_error, trace.duration)
    }

    /// For a single span (one line each, as `--lines` prints them): one that failed, or
    /// that took at least so long.
    pub fn keeps_span(&self, span: &ReceivedSpan) -> bool {
        self.passes(span.status().code == StatusCode::Error, span.duration())
    }

    fn passes(&self, failed: bool, took: Duration) -> bool {
        (failed || !self.errors) && self.slower_than.is_none_or(|at_least| took >= at_least)
    }
}

/// One trace, flattened into rows in depth-first order (children by start time).
#[derive(Clone, Debug)]
pub struct TraceTree {
    pub trace_id: String,
    pub rows: Vec<TreeRow>,
    /// Services in the order their first span starts.
    pub services: Vec<String>,
    pub start: SystemTime,
    /// From the earliest start to the latest end of its spans.
    pub duration: Duration,
    pub has_error: bool,
}

/// One span of a trace, with the tree drawing that goes before its name.
#[derive(Clone, Debug)]
pub struct TreeRow {
    pub span: ReceivedSpan,
    /// `├─ `, `│  └─ ` and so on; empty for roots.
    pub prefix: String,
    /// The span names a parent that has not arrived (yet): it is drawn as a root.
    pub orphan: bool,
}

/// The first 8 hex digits of a trace id: what the view shows to link logs to traces.
pub fn short_id(trace_id: &str) -> &str {
    trace_id.get(..8).unwrap_or(trace_id)
}

/// Every trace that has a span from a filtered service, newest (latest start) first.
/// A matching trace is shown whole, so that a service's spans keep their context.
pub fn traces(spans: &[ReceivedSpan], filter: &Filter) -> Vec<TraceTree> {
    let mut by_trace: HashMap<&[u8], Vec<&ReceivedSpan>> = HashMap::new();
    for span in spans {
        by_trace.entry(&span.span.trace_id).or_default().push(span);
    }
    let mut trees: Vec<TraceTree> = by_trace
        .into_values()
        .filter(|spans| spans.iter().any(|s| filter.matches(s.service_name())))
        .map(build_tree)
        .collect();
    trees.sort_by(|a, b| b.start.cmp(&a.start).then(a.trace_id.cmp(&b.trace_id)));
    trees
}

fn build_tree(spans: Vec<&ReceivedSpan>) -> TraceTree {
    // A span sent twice keeps its last copy.
    let unique: BTreeMap<&[u8], &ReceivedSpan> = spans
        .into_iter()
        .map(|s| (s.span.span_id.as_slice(), s))
        .collect();
    let mut spans: Vec<&ReceivedSpan> = unique.into_values().collect();
    spans.sort_by_key(|s| (s.span.start_time_unix_nano, s.span.end_time_unix_nano));
    let mut services: Vec<String> = Vec::new();
    for name in spans.iter().map(|s| s.service_name().unwrap_or("?")) {
        if !services.iter().any(|s| s == name) {
            services.push(name.to_owned());
        }
    }
    let start = spans
        .iter()
        .map(|s| s.start_time())
        .min()
        .unwrap_or(UNIX_EPOCH);
    let end = spans.iter().map(|s| s.start_time() + s.duration()).max();
    TraceTree {
        trace_id: spans[0].trace_id(),
        services,
        start,
        duration: end
            .and_then(|end| end.duration_since(start).ok())
            .unwrap_or_default(),
        has_error: spans.iter().any(|s| s.status().code == StatusCode::Error),
        rows: rows(&spans),
    }
}

/// The spans (sorted by start) in depth-first order, each with its tree drawing: children
/// under their parent, roots and orphans (a parent that has not arrived) at the left.
fn rows(spans: &[&ReceivedSpan]) -> Vec<TreeRow> {
    let ids: HashSet<&[u8]> = spans.iter().map(|s| s.span.span_id.as_slice()).collect();
    let mut children: HashMap<&[u8], Vec<usize>> = HashMap::new();
    let mut roots = Vec::new();
    for (i, span) in spans.iter().enumerate() {
        let parent = span.span.parent_span_id.as_slice();
        if parent.is_empty() || !ids.contains(parent) || parent == span.span.span_id {
            roots.push(i);
        } else {
            children.entry(parent).or_default().push(i);
        }
    }
    // Spans in a parent cycle are reachable from no root: they come last, as orphans.
    roots.extend(0..spans.len());
    let mut rows = Vec::with_capacity(spans.len());
    let mut visited = vec![false; spans.len()];
    for root in roots {
        // (span, depth, prefix for its children, its own prefix); iterative, so that a
        // pathological chain of spans cannot overflow the stack.
        let mut stack = vec![(root, 0usize, String::new(), String::new())];
        while let Some((i, depth, base, prefix)) = stack.pop() {
            if std::mem::replace(&mut visited[i], true) {
                continue;
            }
            let span = spans[i];
            let orphan = depth == 0 && !span.span.parent_span_id.is_empty();
            let kids = children.get(span.span.span_id.as_slice());
            let kids = kids.map(Vec::as_slice).unwrap_or_default();
            // Pushed in reverse so that the earliest child is drawn first.
            for (n, &kid) in kids.iter().enumerate().rev() {
                let (own, next) = match (depth >= MAX_INDENT, n + 1 == kids.len()) {
                    (true, _) => (base.clone(), base.clone()),
                    (false, true) => (format!("{base}└─ "), format!("{base}   ")),
                    (false, false) => (format!("{base}├─ "), format!("{base}│  ")),
                };
                stack.push((kid, depth + 1, next, own));
            }
            let span = span.clone();
            rows.push(TreeRow {
                span,
                prefix,
                orphan,
            });
        }
    }
    rows
}

/// The newest data point of one metric stream (service, name and attribute set).
#[derive(Clone, Debug, PartialEq)]
pub struct MetricStream {
    pub service: Option<String>,
    pub name: String,
    pub unit: String,
    pub kind: MetricKind,
    pub attributes: Attributes,
    pub value: PointValue,
    pub time_unix_nano: u64,
}

/// The latest value of every stream from a filtered service, sorted by service, name and
/// attributes.
pub fn metric_streams(metrics: &[ReceivedMetric], filter: &Filter) -> Vec<MetricStream> {
    let mut latest: BTreeMap<(Option<String>, String, String), MetricStream> = BTreeMap::new();
    for metric in metrics.iter().filter(|m| filter.matches(m.service_name())) {
        let (service, name) = (metric.service_name().map(str::to_owned), metric.name());
        for point in metric.points() {
            let key = (
                service.clone(),
                name.to_owned(),
                format!("{:?}", point.attributes),
            );
            // Entries arrive oldest first, so the last one seen is the newest; a point
            // with an older timestamp (a late, retried export) does not win.
            if (latest.get(&key)).is_some_and(|old| old.time_unix_nano > point.time_unix_nano) {
                continue;
            }
            let stream = MetricStream {
                service: service.clone(),
                name: name.to_owned(),
                unit: metric.unit().to_owned(),
                kind: metric.kind(),
                attributes: point.attributes,
                value: point.value,
                time_unix_nano: point.time_unix_nano,
            };
            latest.insert(key, stream);
        }
    }
    latest.into_values().collect()
}

/// The quantiles a histogram is summed up by: the median, and two of its tail.
pub const QUANTILES: [f64; 3] = [0.5, 0.9, 0.99];

/// The `q`-quantile (0 to 1) of an explicit-bucket histogram, estimated as Prometheus'
/// `histogram_quantile` does: find the bucket holding the rank `q × count`, and interpolate
/// linearly inside it. The histogram's `min` and `max`, when sent, bound the first and the
/// last (open) bucket, and the estimate. `None` for an empty or malformed histogram.
///
/// `bounds` are the upper bounds of all buckets but the last; `counts` has one more entry.
pub fn quantile(
    bounds: &[f64],
    counts: &[u64],
    min: Option<f64>,
    max: Option<f64>,
    q: f64,
) -> Option<f64> {
    let total: u64 = counts.iter().sum();
    if total == 0 || counts.len() != bounds.len() + 1 || !(0.0..=1.0).contains(&q) {
        return None;
    }
    let rank = q * total as f64;
    let mut below = 0u64;
    for (i, &count) in counts.iter().enumerate() {
        if count == 0 || ((below + count) as f64) < rank {
            below += count;
            continue;
        }
        let lower = match i {
            0 => min.unwrap_or(bounds.first().copied().unwrap_or(0.0).min(0.0)),
            _ => bounds[i - 1],
        };
        let upper = match bounds.get(i) {
            Some(bound) => *bound,
            // The last bucket has no upper bound: its values go up to `max`.
            None => max.unwrap_or(lower),
        };
        let lower = min.map_or(lower, |m| lower.max(m));
        let upper = max.map_or(upper, |m| upper.min(m)).max(lower);
        let within = (rank - below as f64) / count as f64;
        return Some(lower + (upper - lower) * within);
    }
    None
}

/// Log records from filtered services, newest first, at most `limit`.
pub fn latest_logs(logs: &[ReceivedLog], filter: &Filter, limit: usize) -> Vec<ReceivedLog> {
    let mut matching: Vec<&ReceivedLog> = logs
        .iter()
        .filter(|l| filter.matches(l.service_name()))
        .collect();
    // Stable: records with the same timestamp keep their arrival order.
    matching.sort_by_key(|l| std::cmp::Reverse(l.timestamp()));
    matching.into_iter().take(limit).cloned().collect()
}

/// Every service name seen in any signal, sorted.
pub fn services(
    spans: &[ReceivedSpan],
    logs: &[ReceivedLog],
    metrics: &[ReceivedMetric],
) -> Vec<String> {
    let mut names: Vec<String> = spans
        .iter()
        .filter_map(|s| s.service_name())
        .chain(logs.iter().filter_map(|l| l.service_name()))
        .chain(metrics.iter().filter_map(|m| m.service_name()))
        .map(str::to_owned)
        .collect();
    names.sort();
    names.dedup();
    names
}
