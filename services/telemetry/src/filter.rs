//! Which `tracing` spans and events reach which layer: the console, the log bridge
//! (section 2) and the span layer (section 3).
//!
//! Two traps are avoided here, once for all sections. The crates that export telemetry log
//! through `tracing` too; exported as telemetry, each export would cause another one, for
//! ever. And with the collector down, every failed export logs an error, which would drown
//! the console; those are throttled.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use tracing::{Level, Metadata, Subscriber};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::{FilterExt, FilterFn, filter_fn};
use tracing_subscriber::layer::Filter;
use tracing_subscriber::registry::LookupSpan;

/// The crates that send telemetry. Their own log events must not be exported as telemetry:
/// exporting a record makes the HTTP client log, which makes another record, and so on.
const EXPORTER_CRATES: [&str; 10] = [
    "h2",
    "hyper",
    "hyper_util",
    "opentelemetry",
    "opentelemetry_http",
    "opentelemetry_otlp",
    "opentelemetry_sdk",
    "reqwest",
    "tonic",
    "tower",
];

/// Matches a target's crate by exact name. (An `EnvFilter` directive such as `hyper=off`
/// would be a prefix match and silence `hyper_tls` and friends too; we want exactly these.)
/// OpenTelemetry's own events use the package name as target, with dashes
/// (`opentelemetry-otlp`), so dashes and underscores count as the same.
fn from_exporter_crate(target: &str) -> bool {
    let krate = target.split("::").next().unwrap_or(target);
    EXPORTER_CRATES.iter().any(|name| {
        name.len() == krate.len()
            && name
                .bytes()
                .zip(krate.bytes())
                .all(|(a, b)| a == b || (a == b'_' && b == b'-'))
    })
}

/// What the log bridge exports: events at INFO and above, from our own code.
pub fn logs() -> FilterFn<impl Fn(&Metadata<'_>) -> bool> {
    filter_fn(|metadata| {
        *metadata.level() <= Level::INFO && !from_exporter_crate(metadata.target())
    })
}

/// What the tracing-opentelemetry layer turns into spans: spans at INFO and above, from our
/// own code. Events are left out on purpose: they are exported as log records already, and
/// would otherwise be exported twice, also as span events.
pub fn spans() -> FilterFn<impl Fn(&Metadata<'_>) -> bool> {
    filter_fn(|metadata| {
        metadata.is_span()
            && *metadata.level() <= Level::INFO
            && !from_exporter_crate(metadata.target())
    })
}

/// What the console shows: `RUST_LOG` (default `info`), except that the exporters' own
/// warnings and errors are shown at most once every 30 seconds. With the collector down
/// every failed batch logs an error, which would otherwise drown the console.
pub fn console<S: Subscriber + for<'a> LookupSpan<'a>>() -> impl Filter<S> {
    let env = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let throttle = Throttle::every(Duration::from_secs(30));
    let exporter_problem = |metadata: &Metadata<'_>| {
        metadata.is_event()
            && from_exporter_crate(metadata.target())
            && *metadata.level() <= Level::WARN
    };
    env.and(filter_fn(move |metadata| {
        !exporter_problem(metadata) || throttle.allow()
    }))
}

/// Lets one event through per interval.
struct Throttle {
    interval: Duration,
    last: Mutex<Option<Instant>>,
}

impl Throttle {
    fn every(interval: Duration) -> Self {
        Self {
            interval,
            last: Mutex::new(None),
        }
    }

    fn allow(&self) -> bool {
        let mut last = self
            .last
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let now = Instant::now();
        if last.is_some_and(|at| now.duration_since(at) < self.interval) {
            return false;
        }
        *last = Some(now);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exporter_crates_match_by_exact_name() {
        assert!(from_exporter_crate("hyper::proto::h1"));
        assert!(from_exporter_crate("opentelemetry_sdk"));
        assert!(from_exporter_crate("opentelemetry-otlp"));
        assert!(!from_exporter_crate("hyper_tls::client"));
        assert!(!from_exporter_crate("iss_distance::position"));
    }

    #[test]
    fn the_throttle_lets_one_event_through_per_interval() {
        let throttle = Throttle::every(Duration::from_secs(3600));
        assert!(throttle.allow());
        assert!(!throttle.allow());
        assert!(!throttle.allow());
    }
}
