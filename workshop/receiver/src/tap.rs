//! The tap: what a receiver holds and everything it gets from then on, as lines of
//! OTLP/JSON on `GET /v1/tap`.
//!
//! `workshop up` runs a receiver on the standard OTLP ports; the tap lets another process
//! (`workshop inspect`) watch what it gets without needing ports of its own. Each line is
//! `{"seq": N, "signal": "traces" | "metrics" | "logs", "protocol": "grpc" | "http",
//! "request": <an export request in OTLP/JSON>}`, one per export request the receiver took,
//! `seq` its number there (see [`Batch`]). [`ingest_line`] turns a line back into store
//! contents.
//!
//! A follower that connects late misses nothing the receiver still holds: the tap starts
//! with the stored items (the backlog), request by request in the order they came, then goes
//! on live. The answer's [`INSTANCE_HEADER`] names the receiver's store; a follower that
//! reconnects sends it back with the last `seq` it saw (`?instance=…&after=N`): the same
//! receiver then sends only what came after, while a new one (a restarted `workshop up`)
//! sends all it holds. So a follower sees every request once, across reconnections. When
//! the receiver shuts down, the tap's answer ends, and the follower knows it went away.

use std::collections::VecDeque;
use std::convert::Infallible;

use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, watch};

use crate::origin::Protocol;
use crate::repack;
use crate::store::{Arrival, Batch, Store};

/// The response header that names the receiver's store (see [`Store::instance`]).
pub const INSTANCE_HEADER: &str = "otlp-receiver-instance";

#[derive(Serialize, Deserialize)]
struct Line<T> {
    /// Missing in lines of older receivers: 0.
    #[serde(default)]
    seq: u64,
    signal: String,
    protocol: String,
    request: T,
}

fn protocol_name(protocol: Protocol) -> &'static str {
    match protocol {
        Protocol::Grpc => "grpc",
        Protocol::Http => "http",
    }
}

/// The line for one batch: the export request that carried its items.
pub fn to_line(batch: &Batch) -> String {
    fn line<T: Serialize>(seq: u64, signal: &str, protocol: Protocol, request: &T) -> String {
        let line = Line {
            seq,
            signal: signal.into(),
            protocol: protocol_name(protocol).into(),
            request,
        };
        serde_json::to_string(&line).expect("OTLP requests serialise") + "\n"
    }
    let seq = batch.seq;
    match &batch.arrival {
        Arrival::Spans(spans) => {
            let protocol = spans.first().map_or(Protocol::Http, |s| s.origin.protocol);
            line(seq, "traces", protocol, &repack::traces(spans))
        }
        Arrival::Metrics(metrics) => {
            let protocol = metrics
                .first()
                .map_or(Protocol::Http, |m| m.origin.protocol);
            line(seq, "metrics", protocol, &repack::metrics(metrics))
        }
        Arrival::Logs(logs) => {
            let protocol = logs.first().map_or(Protocol::Http, |l| l.origin.protocol);
            line(seq, "logs", protocol, &repack::logs(logs))
        }
    }
}

/// Records what one tap line carries in `store`, as if it had arrived there; returns the
/// request's number at the receiver it came from (its `seq`).
pub fn ingest_line(store: &Store, line: &str) -> Result<u64, String> {
    let head: Line<serde_json::Value> =
        serde_json::from_str(line).map_err(|e| format!("not a tap line: {e}"))?;
    let protocol = match head.protocol.as_str() {
        "grpc" => Protocol::Grpc,
        _ => Protocol::Http,
    };
    let invalid = |e: serde_json::Error| format!("invalid {} request: {e}", head.signal);
    match head.signal.as_str() {
        "traces" => store.ingest_traces(
            serde_json::from_value(head.request).map_err(invalid)?,
            protocol,
        ),
        "metrics" => store.ingest_metrics(
            serde_json::from_value(head.request).map_err(invalid)?,
            protocol,
        ),
        "logs" => store.ingest_logs(
            serde_json::from_value(head.request).map_err(invalid)?,
            protocol,
        ),
        other => return Err(format!("unknown signal {other:?}")),
    }
    Ok(head.seq)
}

/// What `GET /v1/tap` needs: the store, and the receiver's stop signal, which ends every
/// tap's answer (or a graceful shutdown would wait for answers that never end).
#[derive(Clone)]
pub(crate) struct Tap {
    pub store: Store,
    pub stopped: watch::Receiver<bool>,
}

/// Where a reconnecting follower left off.
#[derive(Deserialize)]
pub(crate) struct Since {
    instance: Option<u64>,
    after: Option<u64>,
}

/// `GET /v1/tap[?instance=I&after=N]`: the backlog, then every batch as it arrives, until
/// the receiver stops.
pub(crate) async fn stream(State(tap): State<Tap>, Query(since): Query<Since>) -> Response {
    let Tap { store, stopped } = tap;
    let instance = store.instance();
    let after = match since {
        Since {
            instance: Some(seen),
            after: Some(after),
        } if seen == instance => after,
        _ => 0,
    };
    let follow = store.follow(after);
    let feed = Feed {
        store,
        pending: follow.backlog.into(),
        live: follow.live,
        last: after,
        stopped,
    };
    let lines = futures_util::stream::unfold(feed, |mut feed| async move {
        let batch = feed.next().await?;
        Some((Ok::<_, Infallible>(to_line(&batch)), feed))
    });
    (
        [
            (header::CONTENT_TYPE, "application/x-ndjson".to_owned()),
            (
                header::HeaderName::from_static(INSTANCE_HEADER),
                instance.to_string(),
            ),
        ],
        Body::from_stream(lines),
    )
        .into_response()
}

/// One tap's position: the backlog still to send, the live feed, and the number of the
/// last batch sent.
struct Feed {
    store: Store,
    pending: VecDeque<Batch>,
    live: broadcast::Receiver<Batch>,
    last: u64,
    stopped: watch::Receiver<bool>,
}

impl Feed {
    /// The next batch to send, or `None` once the receiver stops.
    async fn next(&mut self) -> Option<Batch> {
        loop {
            if *self.stopped.borrow() {
                return None;
            }
            if let Some(batch) = self.pending.pop_front() {
                self.last = batch.seq;
                return Some(batch);
            }
            let received = tokio::select! {
                // Also when the stop signal's sender is gone: the receiver was dropped.
                _ = self.stopped.wait_for(|stop| *stop) => return None,
                received = self.live.recv() => received,
            };
            match received {
                // Never sent twice (a safety net: `follow` already keeps them apart).
                Ok(batch) if batch.seq <= self.last => {}
                Ok(batch) => {
                    self.last = batch.seq;
                    return Some(batch);
                }
                // A slow reader fell more than the channel's backlog behind: what it missed
                // is still in the store (unless evicted), so start again from there rather
                // than skip it.
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    let follow = self.store.follow(self.last);
                    self.pending = follow.backlog.into();
                    self.live = follow.live;
                }
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }
}
