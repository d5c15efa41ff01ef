//! What the services are put through: requests that succeed, fail as a user would make
//! them fail, and meet an ISS API that hangs; each request starts a trace whose id the
//! test chose (its `traceparent`), so that it can tell later which traces arrived.

use std::time::{Duration, Instant};

use crate::common::stack::{Harness, IssAnswer};
use workshop::harness::random_hex;

/// Makes the ISS API stand-in hang (longer than iss-distance waits for it), or answer again.
pub fn hang(stack: &Harness, hang: bool) {
    let answer = match hang {
        true => IssAnswer::Slow(3_000),
        false => IssAnswer::Position,
    };
    stack.iss_api.answer_with(answer);
}

/// A W3C `traceparent` starting a sampled trace with a fresh id; returns (header, trace id).
pub fn new_trace() -> (String, String) {
    let trace_id = random_hex(16);
    (format!("00-{trace_id}-{}-01", random_hex(8)), trace_id)
}

/// One request the scenario made.
#[derive(Clone, Debug)]
pub struct Sent {
    pub trace_id: String,
    pub status: u16,
    pub at: Instant,
}

/// GET `url` as the start of a new trace.
pub async fn get(client: &reqwest::Client, url: &str) -> Sent {
    let (traceparent, trace_id) = new_trace();
    let at = Instant::now();
    let status = client
        .get(url)
        .header("traceparent", traceparent)
        .send()
        .await
        .map(|r| r.status().as_u16())
        .unwrap_or(0);
    Sent {
        trace_id,
        status,
        at,
    }
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(15))
        .build()
        .unwrap()
}
