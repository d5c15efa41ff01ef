//! The shared, bounded record of everything received, built for assertions and viewers.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use tokio::sync::{broadcast, watch};

use crate::buffer::SignalBuffer;
use crate::config::Limits;
use crate::ingest;
use crate::log::ReceivedLog;
use crate::metric::ReceivedMetric;
use crate::origin::Protocol;
use crate::span::ReceivedSpan;
use crate::stats::Stats;

/// How many batches a slow follower ([`Store::follow`], [`Store::subscribe`]) may fall
/// behind before it sees `RecvError::Lagged` (it can then follow again from the last batch
/// it saw: the store still holds what it missed, unless that was evicted).
const ARRIVAL_BACKLOG: usize = 1024;

/// One decoded export request's worth of items, announced to subscribers.
///
/// Items are behind an `Arc` so that every subscriber shares one copy.
#[derive(Clone, Debug)]
pub enum Arrival {
    Spans(Arc<[ReceivedSpan]>),
    Logs(Arc<[ReceivedLog]>),
    Metrics(Arc<[ReceivedMetric]>),
}

impl Arrival {
    /// Number of items in the batch (metrics: number of metrics, not points).
    pub fn len(&self) -> usize {
        match self {
            Arrival::Spans(s) => s.len(),
            Arrival::Logs(l) => l.len(),
            Arrival::Metrics(m) => m.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The items of one export request, with the request's number in this store: 1 for the
/// first, and one more for each request after it, whichever its signal or transport.
#[derive(Clone, Debug)]
pub struct Batch {
    pub seq: u64,
    pub arrival: Arrival,
}

/// What a follower starts from: the stored items of the requests after the one it asked
/// for, oldest first, then every batch that arrives from then on. Taken at one instant,
/// so nothing is in both and nothing falls between them.
#[derive(Debug)]
pub struct Follow {
    pub backlog: Vec<Batch>,
    pub live: broadcast::Receiver<Batch>,
}

/// Handle to the received telemetry. Cloning is cheap and every clone sees the same data.
///
/// Reads return copies (`Vec`s of clones) so callers never hold the lock while asserting
/// or rendering.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    /// Which store this is, to followers: a follower that reconnects can tell whether it
    /// is the store it followed before (then it asks for what came after the last batch it
    /// saw) or a new one, say of a restarted `workshop up` (then everything is new).
    instance: u64,
    state: Mutex<State>,
    /// Every batch, sent while the state's lock is held: see [`Store::follow`].
    batches: broadcast::Sender<Batch>,
    /// Bumped after every change; `wait_until` re-checks its predicate on each bump.
    /// A `watch` never lags, unlike the broadcast channel.
    version: watch::Sender<u64>,
}

struct State {
    spans: SignalBuffer<ReceivedSpan>,
    logs: SignalBuffer<ReceivedLog>,
    metrics: SignalBuffer<ReceivedMetric>,
    requests: crate::stats::ByProtocol,
    http_rejected: u64,
    /// The number of the last export request taken (0 before the first).
    seq: u64,
}

impl Store {
    pub fn new(limits: Limits) -> Store {
        let state = State {
            spans: SignalBuffer::new(limits.max_spans, |_| 1),
            logs: SignalBuffer::new(limits.max_logs, |_| 1),
            // An empty metric still weighs 1, or it could never be evicted.
            metrics: SignalBuffer::new(limits.max_metric_points, |m| m.point_count().max(1)),
            requests: Default::default(),
            http_rejected: 0,
            seq: 0,
        };
        Store {
            inner: Arc::new(Inner {
                instance: random_instance(),
                state: Mutex::new(state),
                batches: broadcast::channel(ARRIVAL_BACKLOG).0,
                version: watch::channel(0).0,
            }),
        }
    }

    /// Records a trace export. The servers call this; tests can too, to seed a store.
    pub fn ingest_traces(&self, request: ExportTraceServiceRequest, protocol: Protocol) {
        let spans = ingest::spans(request, protocol);
        self.take(protocol, Arrival::Spans(spans.into()));
    }

    pub fn ingest_logs(&self, request: ExportLogsServiceRequest, protocol: Protocol) {
        let logs = ingest::logs(request, protocol);
        self.take(protocol, Arrival::Logs(logs.into()));
    }

    pub fn ingest_metrics(&self, request: ExportMetricsServiceRequest, protocol: Protocol) {
        let metrics = ingest::metrics(request, protocol);
        self.take(protocol, Arrival::Metrics(metrics.into()));
    }

    /// Numbers one request's items, stores them and tells the followers, all under the
    /// lock: a [`Store::follow`] sees a batch either in its backlog or live, never both.
    fn take(&self, protocol: Protocol, arrival: Arrival) {
        let mut state = self.state();
        state.requests.add(protocol, 1);
        state.seq += 1;
        let seq = state.seq;
        match &arrival {
            Arrival::Spans(spans) => state.spans.push(protocol, seq, spans),
            Arrival::Logs(logs) => state.logs.push(protocol, seq, logs),
            Arrival::Metrics(metrics) => state.metrics.push(protocol, seq, metrics),
        }
        if !arrival.is_empty() {
            // An error only means nobody follows right now.
            let _ = self.inner.batches.send(Batch { seq, arrival });
        }
        drop(state);
        self.changed();
    }

    /// All stored spans, oldest first.
    pub fn spans(&self) -> Vec<ReceivedSpan> {
        self.state().spans.iter().cloned().collect()
    }

    /// All stored log records, oldest first.
    pub fn logs(&self) -> Vec<ReceivedLog> {
        self.state().logs.iter().cloned().collect()
    }

    /// All stored metric entries (one per metric per export), oldest first.
    pub fn metrics(&self) -> Vec<ReceivedMetric> {
        self.state().metrics.iter().cloned().collect()
    }

    /// The most recent span with this name.
    pub fn find_span(&self, name: &str) -> Option<ReceivedSpan> {
        self.state()
            .spans
            .iter()
            .rev()
            .find(|s| s.name() == name)
            .cloned()
    }

    /// The most recent entry of a metric: for cumulative metrics, its current value.
    pub fn latest_metric(&self, name: &str) -> Option<ReceivedMetric> {
        self.state()
            .metrics
            .iter()
            .rev()
            .find(|m| m.name() == name)
            .cloned()
    }

    /// Live feed of every decoded request, for a viewer. Only arrivals after this call
    /// are delivered; [`Store::follow`] gives what is already there too.
    pub fn subscribe(&self) -> broadcast::Receiver<Batch> {
        self.follow(u64::MAX).live
    }

    /// What is stored of the requests after number `after` (0: everything), and every
    /// batch from then on: see [`Follow`]. The tap and the viewers start here.
    pub fn follow(&self, after: u64) -> Follow {
        let state = self.state();
        let live = self.inner.batches.subscribe();
        let backlog = if after >= state.seq {
            Vec::new()
        } else {
            state.batches_after(after)
        };
        drop(state);
        // Waiters on `followers` re-check.
        self.changed();
        Follow { backlog, live }
    }

    /// How many follow this store live (the tap's connections and viewers), so that a
    /// test can wait until one is.
    pub fn followers(&self) -> usize {
        self.inner.batches.receiver_count()
    }

    /// This store's identity for followers (see `Inner::instance`).
    pub fn instance(&self) -> u64 {
        self.inner.instance
    }

    /// Waits until `pred` holds, re-checking after every change; false on timeout.
    ///
    /// Exporters flush asynchronously, so checks should wait for what they expect
    /// rather than sleep a fixed time.
    pub async fn wait_until(&self, timeout: Duration, pred: impl Fn(&Store) -> bool) -> bool {
        let mut changes = self.inner.version.subscribe();
        let wait = async {
            while !pred(self) {
                // Cannot fail: `self` keeps the sender alive.
                let _ = changes.changed().await;
            }
        };
        tokio::time::timeout(timeout, wait).await.is_ok()
    }

    pub fn stats(&self) -> Stats {
        let state = self.state();
        Stats {
            spans: state.spans.stats(),
            logs: state.logs.stats(),
            metric_points: state.metrics.stats(),
            requests: state.requests,
            http_rejected: state.http_rejected,
        }
    }

    /// Forgets everything stored (counters keep counting), e.g. between check steps.
    pub fn clear(&self) {
        let mut state = self.state();
        state.spans.clear();
        state.logs.clear();
        state.metrics.clear();
        drop(state);
        self.changed();
    }

    pub(crate) fn record_http_rejection(&self) {
        self.state().http_rejected += 1;
        self.changed();
    }

    fn changed(&self) {
        self.inner.version.send_modify(|v| *v += 1);
    }

    /// A panic while holding the lock cannot leave the buffers half-updated in a way
    /// that matters, so a poisoned lock is simply taken over.
    fn state(&self) -> MutexGuard<'_, State> {
        self.inner
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl State {
    /// The stored items of the requests after number `after`, one batch per request, in
    /// the order the requests came.
    fn batches_after(&self, after: u64) -> Vec<Batch> {
        fn batches<T>(
            buffer: &SignalBuffer<T>,
            after: u64,
            arrival: impl Fn(Arc<[T]>) -> Arrival,
        ) -> impl Iterator<Item = Batch>
        where
            T: Clone,
        {
            let found = buffer.batches_after(after);
            found.into_iter().map(move |(seq, items)| Batch {
                seq,
                arrival: arrival(items.into()),
            })
        }
        let mut all: Vec<Batch> = batches(&self.spans, after, Arrival::Spans)
            .chain(batches(&self.logs, after, Arrival::Logs))
            .chain(batches(&self.metrics, after, Arrival::Metrics))
            .collect();
        // Each request is one signal, so its number is in one of the three lists only.
        all.sort_by_key(|batch| batch.seq);
        all
    }
}

/// A number that tells this store from any other a follower may have followed: the
/// standard library's per-process random hash keys (no dependency needed for 64 random
/// bits that only have to differ), mixed with the time and a count within this process.
fn random_instance() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static MADE: AtomicU64 = AtomicU64::new(0);
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(MADE.fetch_add(1, Ordering::Relaxed));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    hasher.write_u128(now.as_nanos());
    // 0 is what a follower sends when it has followed nothing yet.
    hasher.finish().max(1)
}

impl Default for Store {
    fn default() -> Self {
        Store::new(Limits::default())
    }
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("stats", &self.stats())
            .finish()
    }
}
