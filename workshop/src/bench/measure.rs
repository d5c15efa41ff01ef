//! The measurement: closed-loop load on the gateway (`--connections` keep-alive clients,
//! each sending its next request as soon as the previous answer has arrived, rotating
//! through known places), with the CPU time of everything read at the start and the end.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use otlp_receiver::Stats;
use serde_json::Value;

use super::cpu::{CpuSnapshot, peak_rss_kib};
use super::standins::ReceiverThread;
use crate::harness::{IssApi, Ports};

/// The places the load rotates through: all in the embedded gazetteer, with spaces and
/// diacritics among them so that the query string needs encoding as it would from a browser.
const PLACES: [&str; 12] = [
    "Berlin",
    "Paris",
    "Tokyo",
    "São Paulo",
    "Zurich",
    "New York City",
    "London",
    "Sydney",
    "Nairobi",
    "Mumbai",
    "Buenos Aires",
    "Reykjavik",
];

/// What one connection saw during the measurement.
#[derive(Default)]
struct Tally {
    /// Latency of each answer that arrived during the measurement, in microseconds.
    latencies_us: Vec<u64>,
    /// Non-200 answers by status, and failed requests by kind.
    errors: BTreeMap<String, u64>,
}

/// What the measurement window saw.
pub struct Measurement {
    /// Latency of each 200 answer, in microseconds, sorted.
    pub latencies_us: Vec<u64>,
    /// Non-200 answers by status, and failed requests by kind.
    pub errors: BTreeMap<String, u64>,
    /// Requests the ISS API stand-in answered.
    pub stub_requests: u64,
    /// Each service's peak resident memory, in KiB.
    pub rss_kib: BTreeMap<&'static str, Option<u64>>,
    pub before: CpuSnapshot,
    pub after: CpuSnapshot,
    /// What the receiver had got at the start and at the end, with `--receiver`.
    pub received: Option<(Stats, Stats)>,
}

/// Loads the gateway for the warm-up and the measured duration.
pub async fn measure(
    connections: u32,
    warmup: Duration,
    duration: Duration,
    ports: &Ports,
    pids: &BTreeMap<&'static str, u32>,
    stub: &IssApi,
    receiver: Option<&ReceiverThread>,
) -> anyhow::Result<Measurement> {
    let base = format!("http://127.0.0.1:{}/distance", ports.gateway);
    let urls: Vec<reqwest::Url> = PLACES
        .iter()
        .map(|place| reqwest::Url::parse_with_params(&base, [("location", place)]))
        .collect::<Result<_, _>>()?;
    preflight(&urls).await?;
    let urls = Arc::new(urls);

    let started = Instant::now();
    let measure_from = started + warmup;
    let measure_until = measure_from + duration;
    let mut tasks = Vec::new();
    for n in 0..connections as usize {
        let urls = Arc::clone(&urls);
        tasks.push(tokio::spawn(async move {
            connection(urls, n, measure_from, measure_until).await
        }));
    }
    let receiver_thread = receiver.map_or(0, |r| r.thread_id);
    tokio::time::sleep_until(measure_from.into()).await;
    let before = CpuSnapshot::take(pids, stub.thread_id(), receiver_thread);
    let stub_before = stub.requests();
    let received_before = receiver.map(ReceiverThread::stats);
    tokio::time::sleep_until(measure_until.into()).await;
    let after = CpuSnapshot::take(pids, stub.thread_id(), receiver_thread);
    let stub_requests = stub.requests() - stub_before;
    let received_after = receiver.map(ReceiverThread::stats);
    let mut latencies_us = Vec::new();
    let mut errors = BTreeMap::new();
    for task in tasks {
        let tally = task.await.context("a load connection panicked")??;
        latencies_us.extend(tally.latencies_us);
        for (kind, count) in tally.errors {
            *errors.entry(kind).or_insert(0) += count;
        }
    }
    latencies_us.sort_unstable();
    // Read after the load: VmHWM is the peak over the process's life so far.
    let rss_kib = pids
        .iter()
        .map(|(n, pid)| (*n, peak_rss_kib(*pid)))
        .collect();
    Ok(Measurement {
        latencies_us,
        errors,
        stub_requests,
        rss_kib,
        before,
        after,
        received: received_before.zip(received_after),
    })
}

/// One request per place before the load: every place must resolve, and the ISS position
/// must come from the stub, or the benchmark would measure error paths.
async fn preflight(urls: &[reqwest::Url]) -> anyhow::Result<()> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()?;
    for url in urls {
        let response = client.get(url.clone()).send().await?;
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            bail!("GET {url} answered {status}: {body}");
        }
        if body["iss"]["source"] != "open-notify" {
            bail!("GET {url}: the ISS position did not come from the stub: {body}");
        }
    }
    Ok(())
}

/// One closed-loop client on its own keep-alive connection.
async fn connection(
    urls: Arc<Vec<reqwest::Url>>,
    first: usize,
    measure_from: Instant,
    measure_until: Instant,
) -> anyhow::Result<Tally> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .pool_max_idle_per_host(1)
        .build()?;
    let mut tally = Tally::default();
    for i in first.. {
        let sent = Instant::now();
        if sent >= measure_until {
            break;
        }
        let url = urls[i % urls.len()].clone();
        let outcome = match client.get(url).send().await {
            Ok(response) => {
                let status = response.status();
                match response.bytes().await {
                    Ok(_) if status == reqwest::StatusCode::OK => None,
                    Ok(_) => Some(status.as_u16().to_string()),
                    Err(_) => Some("body".to_owned()),
                }
            }
            Err(e) if e.is_timeout() => Some("timeout".to_owned()),
            Err(e) if e.is_connect() => Some("connect".to_owned()),
            Err(_) => Some("request".to_owned()),
        };
        let answered = Instant::now();
        if answered < measure_from {
            continue;
        }
        if answered > measure_until {
            break;
        }
        match outcome {
            None => tally
                .latencies_us
                .push((answered - sent).as_micros() as u64),
            Some(kind) => *tally.errors.entry(kind).or_insert(0) += 1,
        }
    }
    Ok(tally)
}
