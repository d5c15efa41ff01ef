//! Sending on schedule: the open loop, one request, and the progress line while it runs.
//!
//! Request `i` is due at `start + i / rate`, whatever happened to the ones before (a closed
//! loop would slow down with the service and hide exactly the latency you want to see). At
//! most `max_in_flight` requests wait for an answer; a request that falls due while that many
//! are waiting is not sent and is counted as dropped, so a dead or hung service cannot make
//! this process grow without bound.

use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;

use super::inputs::{Mix, Picker};
use super::report::{Ran, progress_line};
use super::stats::{Outcome, Stats};
use crate::stop::StopSignal;

/// How to send.
pub struct Plan {
    pub client: reqwest::Client,
    pub url: reqwest::Url,
    /// The inputs of each kind, taken in turn.
    pub inputs: [Vec<String>; 3],
    pub mix: Mix,
    pub rate: f64,
    pub duration: Option<Duration>,
    pub timeout: Duration,
    pub max_in_flight: u32,
}

/// Sends until the duration is over or `stop` fires, then waits for the answers in flight:
/// all of them (each has a timeout) after a full run, a moment after Ctrl-C; a further
/// Ctrl-C abandons them.
pub async fn send(plan: Plan, stop: &mut StopSignal) -> (Stats, Ran) {
    let stats = Arc::new(Mutex::new(Stats::new()));
    let in_flight = Arc::new(Semaphore::new(plan.max_in_flight as usize));
    let mut tasks = tokio::task::JoinSet::new();
    let started = Instant::now();
    let progress = std::io::stderr().is_terminal().then(|| {
        let stats = Arc::clone(&stats);
        let in_flight = Arc::clone(&in_flight);
        let max = plan.max_in_flight as usize;
        let duration = plan.duration;
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(250));
            loop {
                tick.tick().await;
                let snapshot = stats.lock().expect("stats lock").clone();
                let waiting = max - in_flight.available_permits();
                let line = progress_line(&snapshot, started.elapsed(), duration, waiting);
                let mut stderr = std::io::stderr().lock();
                let _ = stderr.write_all(line.as_bytes());
                let _ = stderr.flush();
            }
        })
    });

    // The number of requests due within the duration: exactly rate × duration.
    let total = plan
        .duration
        .map(|d| (d.as_secs_f64() * plan.rate + 1e-6).floor() as u64);
    let mut picker = Picker::new(plan.mix);
    let mut next_input = [0usize; 3];
    let mut interrupted = false;
    // The end of the sending window: the last send plus one period, or the Ctrl-C.
    let mut window_end = started;
    let mut i: u64 = 0;
    while total.is_none_or(|total| i < total) {
        let due = started + Duration::from_secs_f64(i as f64 / plan.rate);
        tokio::select! {
            () = tokio::time::sleep_until(due.into()) => {}
            () = stop.recv() => {
                interrupted = true;
                window_end = Instant::now();
                break;
            }
        }
        window_end = Instant::now() + Duration::from_secs_f64(1.0 / plan.rate);
        // Reap finished tasks as we go, so that a run of days keeps no handles around.
        while tasks.try_join_next().is_some() {}
        let kind = picker.next();
        let inputs = &plan.inputs[kind];
        let input = inputs[next_input[kind] % inputs.len()].clone();
        next_input[kind] += 1;
        i += 1;
        let Ok(permit) = Arc::clone(&in_flight).try_acquire_owned() else {
            stats.lock().expect("stats lock").dropped += 1;
            continue;
        };
        {
            let mut stats = stats.lock().expect("stats lock");
            stats.sent += 1;
            stats.sent_by_kind[kind] += 1;
        }
        let client = plan.client.clone();
        let url = plan.url.clone();
        let stats = Arc::clone(&stats);
        tasks.spawn(async move {
            let (outcome, failure) = request(&client, url, &input).await;
            // From when it was due: a late send counts against the latency too.
            let latency = due.elapsed();
            stats
                .lock()
                .expect("stats lock")
                .record(kind, outcome, latency, failure);
            drop(permit);
        });
    }

    let grace = if interrupted {
        Duration::from_secs(1)
    } else {
        plan.timeout + Duration::from_secs(1)
    };
    let all_back = in_flight.acquire_many(plan.max_in_flight);
    tokio::select! {
        _ = all_back => {}
        () = tokio::time::sleep(grace) => {}
        () = stop.recv() => interrupted = true,
    }
    let elapsed = started.elapsed();
    let cancelled = (plan.max_in_flight as usize - in_flight.available_permits()) as u64;
    tasks.abort_all();
    if let Some(progress) = progress {
        progress.abort();
        let _ = progress.await;
        eprint!("\r\x1b[K");
    }
    let stats = stats.lock().expect("stats lock").clone();
    let ran = Ran {
        elapsed,
        window: window_end.saturating_duration_since(started),
        interrupted,
        cancelled,
    };
    (stats, ran)
}

/// One GET, with its body read to the end.
async fn request(
    client: &reqwest::Client,
    url: reqwest::Url,
    place: &str,
) -> (Outcome, Option<String>) {
    let failure = |e: reqwest::Error| {
        let outcome = if e.is_timeout() {
            Outcome::Timeout
        } else if e.is_connect() || e.is_request() || e.is_body() {
            Outcome::Connection
        } else {
            Outcome::Other
        };
        (outcome, Some(error_chain(&e)))
    };
    match client.get(url).query(&[("location", place)]).send().await {
        Ok(response) => {
            let status = response.status().as_u16();
            match response.bytes().await {
                Ok(_) => (Outcome::Status(status), None),
                Err(e) => failure(e),
            }
        }
        Err(e) => failure(e),
    }
}

/// An error with its causes, e.g. "error sending request …: Connection refused (os error 111)".
fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}
