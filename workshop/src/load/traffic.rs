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
use tokio::task::{JoinHandle, JoinSet};

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
    let shared = Shared {
        stats: Arc::new(Mutex::new(Stats::new())),
        in_flight: Arc::new(Semaphore::new(plan.max_in_flight as usize)),
        started: Instant::now(),
    };
    let progress = std::io::stderr()
        .is_terminal()
        .then(|| shared.show_progress(plan.max_in_flight, plan.duration));
    let mut tasks = JoinSet::new();
    let (mut interrupted, window_end) = shared.send_on_schedule(&plan, &mut tasks, stop).await;

    let grace = if interrupted {
        Duration::from_secs(1)
    } else {
        plan.timeout + Duration::from_secs(1)
    };
    tokio::select! {
        _ = shared.in_flight.acquire_many(plan.max_in_flight) => {}
        () = tokio::time::sleep(grace) => {}
        () = stop.recv() => interrupted = true,
    }
    let elapsed = shared.started.elapsed();
    let cancelled = shared.waiting(plan.max_in_flight) as u64;
    tasks.abort_all();
    if let Some(progress) = progress {
        progress.abort();
        let _ = progress.await;
        eprint!("\r\x1b[K");
    }
    let ran = Ran {
        elapsed,
        window: window_end.saturating_duration_since(shared.started),
        interrupted,
        cancelled,
    };
    (shared.lock().clone(), ran)
}

/// What the sender, the requests in flight and the progress line share.
#[derive(Clone)]
struct Shared {
    stats: Arc<Mutex<Stats>>,
    in_flight: Arc<Semaphore>,
    started: Instant,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, Stats> {
        self.stats.lock().expect("stats lock")
    }

    /// How many requests wait for an answer.
    fn waiting(&self, max_in_flight: u32) -> usize {
        max_in_flight as usize - self.in_flight.available_permits()
    }

    /// Rewrites the progress line four times a second, until aborted.
    fn show_progress(&self, max_in_flight: u32, duration: Option<Duration>) -> JoinHandle<()> {
        let shared = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(250));
            loop {
                tick.tick().await;
                let waiting = shared.waiting(max_in_flight);
                let elapsed = shared.started.elapsed();
                let line = progress_line(&shared.lock(), elapsed, duration, waiting);
                let mut stderr = std::io::stderr().lock();
                let _ = stderr.write_all(line.as_bytes());
                let _ = stderr.flush();
            }
        })
    }

    /// The open loop: request `i` at `start + i / rate`. Returns whether Ctrl-C stopped it,
    /// and the end of the sending window (the last send plus one period, or the Ctrl-C).
    async fn send_on_schedule(
        &self,
        plan: &Plan,
        tasks: &mut JoinSet<()>,
        stop: &mut StopSignal,
    ) -> (bool, Instant) {
        // The number of requests due within the duration: exactly rate × duration.
        let total = plan
            .duration
            .map(|d| (d.as_secs_f64() * plan.rate + 1e-6).floor() as u64);
        let mut picker = Picker::new(plan.mix);
        let mut next_input = [0usize; 3];
        let mut window_end = self.started;
        let mut i: u64 = 0;
        while total.is_none_or(|total| i < total) {
            let due = self.started + Duration::from_secs_f64(i as f64 / plan.rate);
            tokio::select! {
                () = tokio::time::sleep_until(due.into()) => {}
                () = stop.recv() => return (true, Instant::now()),
            }
            window_end = Instant::now() + Duration::from_secs_f64(1.0 / plan.rate);
            // Reap finished tasks as we go, so that a run of days keeps no handles around.
            while tasks.try_join_next().is_some() {}
            let kind = picker.next();
            let inputs = &plan.inputs[kind];
            let input = inputs[next_input[kind] % inputs.len()].clone();
            next_input[kind] += 1;
            i += 1;
            let Ok(permit) = Arc::clone(&self.in_flight).try_acquire_owned() else {
                self.lock().dropped += 1;
                continue;
            };
            {
                let mut stats = self.lock();
                stats.sent += 1;
                stats.sent_by_kind[kind] += 1;
            }
            let (client, url, shared) = (plan.client.clone(), plan.url.clone(), self.clone());
            tasks.spawn(async move {
                let (outcome, failure) = request(&client, url, &input).await;
                // From when it was due: a late send counts against the latency too.
                let latency = due.elapsed();
                shared.lock().record(kind, outcome, latency, failure);
                drop(permit);
            });
        }
        (false, window_end)
    }
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
