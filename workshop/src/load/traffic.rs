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

use super::Args;
use super::inputs::{KNOWN, Picker, UNKNOWN, bad_inputs};
use super::report::{Ran, progress_line};
use super::stats::{Outcome, Stats};
use crate::stop::StopSignal;

/// Sends until the duration is over or `stop` fires, then waits for the answers in flight:
/// all of them (each has a timeout) after a full run, a moment after Ctrl-C; a further
/// Ctrl-C abandons them.
pub async fn send(
    args: &Args,
    client: &reqwest::Client,
    url: &reqwest::Url,
    stop: &mut StopSignal,
) -> (Stats, Ran) {
    let max = args.max_in_flight;
    let shared = Shared {
        stats: Arc::new(Mutex::new(Stats::new())),
        in_flight: Arc::new(Semaphore::new(max as usize)),
        started: Instant::now(),
    };
    let progress = (std::io::stderr().is_terminal()).then(|| shared.show_progress(args));
    let mut tasks = JoinSet::new();
    let (mut interrupted, window_end) = shared
        .send_on_schedule(args, client, url, &mut tasks, stop)
        .await;
    let grace = Duration::from_secs(1)
        + if interrupted {
            Duration::ZERO
        } else {
            args.timeout
        };
    tokio::select! {
        _ = shared.in_flight.acquire_many(max) => {}
        () = tokio::time::sleep(grace) => {}
        () = stop.recv() => interrupted = true,
    }
    let elapsed = shared.started.elapsed();
    let cancelled = shared.waiting(max) as u64;
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
    fn show_progress(&self, args: &Args) -> JoinHandle<()> {
        let (shared, max, duration) = (self.clone(), args.max_in_flight, args.duration);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(250));
            loop {
                tick.tick().await;
                let (waiting, elapsed) = (shared.waiting(max), shared.started.elapsed());
                let line = progress_line(&shared.lock(), elapsed, duration, waiting);
                let mut stderr = std::io::stderr().lock();
                let _ = stderr.write_all(line.as_bytes());
                let _ = stderr.flush();
            }
        })
    }

    /// The open loop: request `i` at `start + i / rate`, with the inputs of each kind in
    /// turn. Returns whether Ctrl-C stopped it, and the end of the sending window (the last
    /// send plus one period, or the Ctrl-C).
    async fn send_on_schedule(
        &self,
        args: &Args,
        client: &reqwest::Client,
        url: &reqwest::Url,
        tasks: &mut JoinSet<()>,
        stop: &mut StopSignal,
    ) -> (bool, Instant) {
        let inputs: [Vec<String>; 3] = [
            KNOWN.map(str::to_owned).to_vec(),
            UNKNOWN.map(str::to_owned).to_vec(),
            bad_inputs().to_vec(),
        ];
        // The number of requests due within the duration: exactly rate × duration.
        let total = (args.duration).map(|d| (d.as_secs_f64() * args.rate + 1e-6).floor() as u64);
        let (mut picker, mut next_input) = (Picker::new(args.mix), [0usize; 3]);
        let mut window_end = self.started;
        let mut i: u64 = 0;
        while total.is_none_or(|total| i < total) {
            let due = self.started + Duration::from_secs_f64(i as f64 / args.rate);
            tokio::select! {
                () = tokio::time::sleep_until(due.into()) => {}
                () = stop.recv() => return (true, Instant::now()),
            }
            window_end = Instant::now() + Duration::from_secs_f64(1.0 / args.rate);
            // Reap finished tasks as we go, so that a run of days keeps no handles around.
            while tasks.try_join_next().is_some() {}
            let kind = picker.next();
            let input = inputs[kind][next_input[kind] % inputs[kind].len()].clone();
            next_input[kind] += 1;
            i += 1;
            let Ok(permit) = Arc::clone(&self.in_flight).try_acquire_owned() else {
                self.lock().dropped += 1;
                continue;
            };
            self.lock().sent(kind);
            let (client, url, shared) = (client.clone(), url.clone(), self.clone());
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
