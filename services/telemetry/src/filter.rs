//! Which `tracing` spans and events reach which layer: the console, the log bridge
//! (section 2) and the span layer (section 3).
//!
//! Two traps are avoided here, once for all sections. The crates that export telemetry log
//! through `tracing` too; exported as telemetry, each export would cause another one, for
//! ever. And with the collector down, every failed export logs an error, which would drown
//! the console; those are throttled.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use tracing::subscriber::Interest;
use tracing::{Level, Metadata, Subscriber};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::{FilterExt, FilterFn, dynamic_filter_fn, filter_fn};
use tracing_subscriber::layer::{Context, Filter};
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

/// What the console shows: the events `RUST_LOG` (default `info`) allows, except that the
/// exporters' own warnings and errors are shown at most once every 30 seconds. With the
/// collector down every failed batch logs an error, which would otherwise drown the console.
pub fn console<S: Subscriber + for<'a> LookupSpan<'a>>() -> impl Filter<S> {
    let env = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let throttle = Throttle::every(Duration::from_secs(30));
    // Events only: a line is then just its message, without the fields of every span it
    // is in (the HTTP spans have eight). Spans are for the span layer.
    let shown = move |metadata: &Metadata<'_>, _: &Context<'_, S>| {
        metadata.is_event() && (!exporter_problem(metadata) || throttle.allow())
    };
    // The decision for an exporter's problem changes from one event to the next: tell
    // `tracing` not to cache it per call site, as it does for the others.
    let cached = |metadata: &'static Metadata<'static>| {
        if !metadata.is_event() {
            Interest::never()
        } else if exporter_problem(metadata) {
            Interest::sometimes()
        } else {
            Interest::always()
        }
    };
    env.and(dynamic_filter_fn(shown).with_callsite_filter(cached))
}

fn exporter_problem(metadata: &Metadata<'_>) -> bool {
    metadata.is_event()
        && from_exporter_crate(metadata.target())
        && *metadata.level() <= Level::WARN
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

    /// What the console layer prints while `emit` runs.
    fn console_output(emit: impl FnOnce()) -> String {
        use std::sync::{Arc, Mutex};
        use tracing_subscriber::layer::SubscriberExt;
        use tracing_subscriber::{Layer, fmt};

        let buffer = Arc::new(Mutex::new(Vec::<u8>::new()));
        let writer = buffer.clone();
        let console = fmt::layer()
            .with_ansi(false)
            .with_writer(move || Writer(writer.clone()))
            .with_filter(console());
        tracing::subscriber::with_default(tracing_subscriber::registry().with(console), emit);
        let bytes = buffer.lock().unwrap().clone();
        String::from_utf8(bytes).unwrap()
    }

    struct Writer(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl std::io::Write for Writer {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn the_console_shows_events_without_the_fields_of_their_spans() {
        let output = console_output(|| {
            let span = tracing::info_span!("request", http.route = "/distance");
            span.in_scope(|| tracing::info!("calculating the ISS distance"));
            tracing::debug!("not at the default level");
        });
        assert!(output.contains("calculating the ISS distance"), "{output}");
        assert!(!output.contains("http.route"), "{output}");
        assert!(!output.contains("not at the default level"), "{output}");
    }

    #[test]
    fn the_console_throttles_the_exporters_complaints() {
        let output = console_output(|| {
            for _ in 0..3 {
                tracing::error!(target: "opentelemetry_otlp", "export failed");
            }
            tracing::error!(target: "iss_distance", "ours");
            tracing::error!(target: "iss_distance", "ours");
        });
        assert_eq!(output.matches("export failed").count(), 1, "{output}");
        assert_eq!(output.matches("ours").count(), 2, "{output}");
    }

    #[test]
    fn the_throttle_lets_one_event_through_per_interval() {
        let throttle = Throttle::every(Duration::from_secs(3600));
        assert!(throttle.allow());
        assert!(!throttle.allow());
        assert!(!throttle.allow());
    }
}
