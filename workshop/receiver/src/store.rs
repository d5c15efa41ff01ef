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

/// One export request as it arrived, as the store publishes it to followers (the tap).
#[derive(Clone, Debug)]
pub enum Tapped {
    Traces(Arc<ExportTraceServiceRequest>, Protocol),
    Metrics(Arc<ExportMetricsServiceRequest>, Protocol),
    Logs(Arc<ExportLogsServiceRequest>, Protocol),
}

/// How many batches a slow [`Store::subscribe`]r may fall behind before it sees
/// `RecvError::Lagged` (it can then re-read the store).
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

/// Handle to the received telemetry. Cloning is cheap and every clone sees the same data.
///
/// Reads return copies (`Vec`s of clones) so callers never hold the lock while asserting
/// or rendering.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    state: Mutex<State>,
    arrivals: broadcast::Sender<Arrival>,
    /// The raw requests, for the tap (see `crate::tap`); cloned only while someone listens.
    tap: broadcast::Sender<Tapped>,
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
        };
        Store {
            inner: Arc::new(Inner {
                state: Mutex::new(state),
                arrivals: broadcast::channel(ARRIVAL_BACKLOG).0,
                tap: broadcast::channel(ARRIVAL_BACKLOG).0,
                version: watch::channel(0).0,
            }),
        }
    }

    /// Records a trace export. The servers call this; tests can too, to seed a store.
    pub fn ingest_traces(&self, request: ExportTraceServiceRequest, protocol: Protocol) {
        self.publish(|| Tapped::Traces(Arc::new(request.clone()), protocol));
        let spans: Arc<[ReceivedSpan]> = ingest::spans(request, protocol).into();
        self.update(protocol, |state| state.spans.push(protocol, &spans));
        self.announce(Arrival::Spans(spans));
    }

    pub fn ingest_logs(&self, request: ExportLogsServiceRequest, protocol: Protocol) {
        self.publish(|| Tapped::Logs(Arc::new(request.clone()), protocol));
        let logs: Arc<[ReceivedLog]> = ingest::logs(request, protocol).into();
        self.update(protocol, |state| state.logs.push(protocol, &logs));
        self.announce(Arrival::Logs(logs));
    }

    pub fn ingest_metrics(&self, request: ExportMetricsServiceRequest, protocol: Protocol) {
        self.publish(|| Tapped::Metrics(Arc::new(request.clone()), protocol));
        let metrics: Arc<[ReceivedMetric]> = ingest::metrics(request, protocol).into();
        self.update(protocol, |state| state.metrics.push(protocol, &metrics));
        self.announce(Arrival::Metrics(metrics));
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
    /// are delivered; read the store first for what is already there.
    pub fn subscribe(&self) -> broadcast::Receiver<Arrival> {
        self.inner.arrivals.subscribe()
    }

    /// Live feed of every raw export request, for the tap. Only requests after this call
    /// are delivered.
    pub fn tap(&self) -> broadcast::Receiver<Tapped> {
        let listener = self.inner.tap.subscribe();
        // Waiters on `tap_listeners` re-check.
        self.changed();
        listener
    }

    /// How many tap listeners there are (a follower can wait until it is one).
    pub fn tap_listeners(&self) -> usize {
        self.inner.tap.receiver_count()
    }

    /// Sends a request to the tap's listeners, if there are any (no copy otherwise).
    fn publish(&self, tapped: impl FnOnce() -> Tapped) {
        if self.inner.tap.receiver_count() > 0 {
            let _ = self.inner.tap.send(tapped());
        }
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

    fn update(&self, protocol: Protocol, change: impl FnOnce(&mut State)) {
        let mut state = self.state();
        state.requests.add(protocol, 1);
        change(&mut state);
        drop(state);
        self.changed();
    }

    fn announce(&self, arrival: Arrival) {
        if !arrival.is_empty() {
            // An error only means nobody is subscribed right now.
            let _ = self.inner.arrivals.send(arrival);
        }
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
