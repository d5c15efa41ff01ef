//! The tap: every export request a receiver gets, re-published as one line of OTLP/JSON on
//! `GET /v1/tap`.
//!
//! `workshop up` runs a receiver on the standard OTLP ports; the tap lets another process
//! (`workshop inspect`) watch what it gets without needing ports of its own. Each line is
//! `{"signal": "traces" | "metrics" | "logs", "protocol": "grpc" | "http", "request": <the
//! export request in OTLP/JSON>}`; [`ingest_line`] turns a line back into store contents.

use std::convert::Infallible;

use axum::body::Body;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

use crate::origin::Protocol;
// The store publishes what it gets (`Tapped`); the tap only reads it: one direction, no cycle.
use crate::store::Store;
pub use crate::store::Tapped;

#[derive(Serialize, Deserialize)]
struct Line<T> {
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

/// The line for one tapped request.
pub fn to_line(tapped: &Tapped) -> String {
    fn line<T: Serialize>(signal: &str, protocol: Protocol, request: &T) -> String {
        let line = Line {
            signal: signal.into(),
            protocol: protocol_name(protocol).into(),
            request,
        };
        serde_json::to_string(&line).expect("OTLP requests serialise") + "\n"
    }
    match tapped {
        Tapped::Traces(request, protocol) => line("traces", *protocol, request.as_ref()),
        Tapped::Metrics(request, protocol) => line("metrics", *protocol, request.as_ref()),
        Tapped::Logs(request, protocol) => line("logs", *protocol, request.as_ref()),
    }
}

/// Records what one tap line carries in `store`, as if it had arrived there.
pub fn ingest_line(store: &Store, line: &str) -> Result<(), String> {
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
    Ok(())
}

/// `GET /v1/tap`: a never-ending stream of tap lines, from now on.
pub(crate) async fn stream(State(store): State<Store>) -> Response {
    let lines = futures_util::stream::unfold(store.tap(), |mut tapped| async move {
        loop {
            match tapped.recv().await {
                Ok(request) => return Some((Ok::<_, Infallible>(to_line(&request)), tapped)),
                // A slow reader misses what it could not keep up with, rather than
                // making the receiver hold on to it.
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    });
    (
        [(header::CONTENT_TYPE, "application/x-ndjson")],
        Body::from_stream(lines),
    )
        .into_response()
}
