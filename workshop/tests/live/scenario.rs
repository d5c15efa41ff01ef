//! What the services are put through: requests that succeed, fail as a user would make
//! them fail, and meet an ISS API that hangs; each request starts a trace whose id the
//! test chose (its `traceparent`), so that it can tell later which traces arrived.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use crate::common::stack::{ISS_NOW, serve_on_own_thread};

/// An ISS API stub that can be made to hang (longer than iss-distance waits for it).
#[derive(Clone)]
pub struct IssApi {
    pub addr: SocketAddr,
    hang: Arc<AtomicBool>,
}

impl IssApi {
    pub fn start() -> IssApi {
        let hang = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&hang);
        let app = axum::Router::new().route(
            "/iss-now.json",
            axum::routing::get(move || {
                let hang = flag.load(Ordering::SeqCst);
                async move {
                    if hang {
                        tokio::time::sleep(Duration::from_secs(3)).await;
                    }
                    ([("content-type", "application/json")], ISS_NOW)
                }
            }),
        );
        IssApi {
            addr: serve_on_own_thread(app),
            hang,
        }
    }

    pub fn hang(&self, hang: bool) {
        self.hang.store(hang, Ordering::SeqCst);
    }

    pub fn url(&self) -> String {
        format!("http://{}/iss-now.json", self.addr)
    }
}

/// A W3C `traceparent` starting a sampled trace with a fresh id; returns (header, trace id).
pub fn new_trace() -> (String, String) {
    static COUNTER: AtomicU64 = AtomicU64::new(1);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    let trace_id = format!("{:016x}{:016x}", nanos ^ u64::from(std::process::id()), n);
    let header = format!("00-{trace_id}-{:016x}-01", n | 1 << 63);
    (header, trace_id)
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
