//! `workshop inspect`: a live terminal view of the telemetry an OTLP receiver gets, from
//! our services or any other OpenTelemetry SDK.
//!
//! It starts a receiver on the standard OTLP ports (or follows the tap of one that
//! `workshop up` already runs there, from what that one already holds, and through `up`'s
//! restarts: [`follow`]) and shows what arrives: traces as indented span trees,
//! the latest value of every metric stream, and log records linked to their traces by
//! trace id. On a terminal the view refreshes in place; otherwise (or with `--lines`) it
//! prints one line per item, for scripts and tests.
//!
//! The pieces are in [`model`] (trees, streams, filter), [`render`] (the screen) and
//! [`lines`] (the one-line forms, which `check --verbose` and `up` use too).

mod follow;
pub mod lines;
pub mod model;
mod render;
mod term;
#[cfg(test)]
mod tests;

use std::collections::VecDeque;
use std::future::Future;
use std::io::{IsTerminal, Write};
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context, bail};
use otlp_receiver::{Arrival, Batch, Receiver, ReceiverConfig, Store};
use tokio::sync::broadcast::error::{RecvError, TryRecvError};
use tokio::sync::watch;

use crate::stop::StopSignal;
use follow::{Link, open_tap, tap_url};
use model::{Filter, Sieve};
use render::{Focus, ViewState};
use term::Key;

#[derive(clap::Args)]
pub struct Args {
    /// Where to receive OTLP/gRPC.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:4317")]
    grpc: SocketAddr,
    /// Where to receive OTLP/HTTP (protobuf or JSON).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:4318")]
    http: SocketAddr,
    /// Instead of receiving, follow the receiver of a running `workshop up` through its tap
    /// (its OTLP/HTTP address, e.g. http://127.0.0.1:4318), from what it already holds; when
    /// it stops, wait for it to come back. This happens by itself when the HTTP port is
    /// taken by such a receiver.
    #[arg(long, value_name = "URL", conflicts_with_all = ["grpc", "http"])]
    from: Option<String>,
    /// Show only this service (repeat for several); traces that touch it are shown whole.
    #[arg(long = "service", value_name = "NAME", value_parser = parse_service)]
    services: Vec<String>,
    /// Print one line per span, metric data point and log record instead of a refreshing
    /// view (the default when stdout is not a terminal).
    #[arg(long)]
    lines: bool,
    /// Stop after this long (e.g. 10s, 500ms, 2m) instead of at Ctrl-C.
    #[arg(long = "for", value_name = "DURATION", value_parser = parse_duration)]
    duration: Option<Duration>,
    /// Show only traces with a failed span (the key `e` toggles it); with `--lines`, only
    /// failed spans.
    #[arg(long)]
    errors: bool,
    /// Show only traces that took at least this long, e.g. 500ms or 1s (the key `d` toggles
    /// it, at 1 s unless given here); with `--lines`, only spans that did.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    slower_than: Option<Duration>,
}

/// What `d` shows without `--slower-than`: a second is slow for any of these requests.
const SLOW: Duration = Duration::from_secs(1);

pub async fn run(args: Args) -> anyhow::Result<()> {
    let mut signal = StopSignal::listen()?;
    let deadline = args.duration;
    let until = async move {
        match deadline {
            Some(d) => tokio::select! {
                () = signal.recv() => {}
                () = tokio::time::sleep(d) => {}
            },
            None => signal.recv().await,
        }
    };
    let tap = match &args.from {
        Some(url) => {
            let url = tap_url(url);
            let response = open_tap(&url)
                .await
                .with_context(|| format!("cannot follow the receiver's tap at {url}"))?;
            Some((url, response))
        }
        None => find_tap(&args).await?,
    };
    let mut view = View {
        state: ViewState {
            filter: Filter::new(args.services),
            sieve: Sieve {
                errors: args.errors,
                slower_than: args.slower_than,
            },
            focus: Focus::All,
            source: String::new(),
            endpoint: String::new(),
            link: None,
        },
        slow: args.slower_than.unwrap_or(SLOW),
        lines: args.lines || !std::io::stdout().is_terminal(),
        link: None,
    };
    let Some((url, response)) = tap else {
        let config = ReceiverConfig {
            grpc: args.grpc,
            http: args.http,
            ..ReceiverConfig::default()
        };
        let receiver = Receiver::start(config).await?;
        let (grpc, http) = (receiver.grpc_addr(), receiver.http_addr());
        if view.lines {
            eprintln!("workshop inspect: receiving OTLP/gRPC on {grpc} and OTLP/HTTP on {http}");
        }
        view.state.source = format!("gRPC {grpc}  HTTP {http}");
        view.state.endpoint = format!("http://{http}");
        let store = receiver.store();
        // The receiver finishes requests in flight before the view prints its last items.
        let stop = async move {
            until.await;
            receiver.shutdown().await;
        };
        view.show(store, stop).await;
        return Ok(());
    };
    eprintln!("workshop inspect: following the receiver at {url}");
    view.state.source = format!("following {url}");
    view.state.endpoint = url.trim_end_matches("/v1/tap").to_owned();
    let store = Store::default();
    let (link, watched) = watch::channel(Link::Following);
    view.link = Some(watched);
    let feed = follow::follow(url, response, store.clone(), link);
    // The follower never ends by itself: it waits for the receiver to come back.
    let stop = async move {
        tokio::select! {
            () = until => {}
            () = feed => {}
        }
    };
    view.show(store, stop).await;
    Ok(())
}

/// None when both ports are free (inspect listens); a receiver's tap when one with a tap
/// holds the HTTP port (inspect follows it); otherwise says which port is taken.
async fn find_tap(args: &Args) -> anyhow::Result<Option<(String, reqwest::Response)>> {
    for (addr, what) in [(args.grpc, "gRPC"), (args.http, "HTTP")] {
        let Err(error) = std::net::TcpListener::bind(addr) else {
            continue;
        };
        if error.kind() != std::io::ErrorKind::AddrInUse {
            bail!("cannot listen for OTLP/{what} on {addr}: {error}");
        }
        let url = tap_url(&format!("http://{}", args.http));
        if let Ok(response) = open_tap(&url).await {
            return Ok(Some((url, response)));
        }
        let option = if what == "gRPC" { "--grpc" } else { "--http" };
        bail!(
            "port {} is in use: is a collector or `workshop up` already running? (stop it, or receive elsewhere with e.g. `{option} 127.0.0.1:0`)",
            addr.port()
        );
    }
    Ok(None)
}

/// How to show a store.
struct View {
    state: ViewState,
    /// The threshold the `d` key toggles.
    slow: Duration,
    /// One line per item instead of the refreshing screen.
    lines: bool,
    /// When following a receiver someone else runs: how the follower stands with it.
    link: Option<watch::Receiver<Link>>,
}

impl View {
    /// Shows what arrives in `store` until `stop` completes: the refreshing screen, or one
    /// line per item (items already in the store first).
    async fn show(self, store: Store, stop: impl Future<Output = ()>) {
        if self.lines {
            self.print_lines(store, stop).await;
        } else {
            self.show_screen(store, stop).await;
        }
    }

    /// The one-line-per-item form: what the store holds, in the order it came, then each
    /// batch as it arrives; on stderr, when the receiver followed goes away and comes back.
    /// Stops quietly when stdout is closed (e.g. `| head`).
    async fn print_lines(mut self, store: Store, stop: impl Future<Output = ()>) {
        let follow = store.follow(0);
        let mut pending: VecDeque<Batch> = follow.backlog.into();
        let mut live = follow.live;
        // The number of the last batch printed: none is printed twice.
        let mut last = 0;
        tokio::pin!(stop);
        let mut stopping = false;
        loop {
            let received = if let Some(batch) = pending.pop_front() {
                Ok(batch)
            } else if stopping {
                // Stopped: print what is still queued, then end.
                match live.try_recv() {
                    Ok(batch) => Ok(batch),
                    Err(TryRecvError::Lagged(n)) => Err(RecvError::Lagged(n)),
                    Err(_) => return,
                }
            } else {
                tokio::select! {
                    () = &mut stop => { stopping = true; continue; }
                    changed = link_changed(&mut self.link) => {
                        if let Some(message) = changed.message(&self.state.endpoint) {
                            eprintln!("workshop inspect: {message}");
                        }
                        continue;
                    }
                    received = live.recv() => received,
                }
            };
            match received {
                Ok(batch) if batch.seq <= last => {}
                Ok(batch) => {
                    last = batch.seq;
                    if self.print_arrival(&batch.arrival).is_err() {
                        return;
                    }
                }
                // Fell behind the live feed: what was missed is still in the store (unless
                // evicted by then), so go on from the last batch printed.
                Err(RecvError::Lagged(_)) => {
                    let again = store.follow(last);
                    pending = again.backlog.into();
                    live = again.live;
                }
                Err(RecvError::Closed) => return,
            }
        }
    }

    fn print_arrival(&self, arrival: &Arrival) -> std::io::Result<()> {
        let (filter, sieve) = (&self.state.filter, self.state.sieve);
        let lines: Vec<String> = match arrival {
            Arrival::Spans(spans) => (spans.iter())
                .filter(|s| filter.matches(s.service_name()) && sieve.keeps_span(s))
                .map(lines::span_line)
                .collect(),
            Arrival::Metrics(metrics) => (metrics.iter())
                .filter(|m| filter.matches(m.service_name()))
                .flat_map(lines::metric_lines)
                .collect(),
            Arrival::Logs(logs) => (logs.iter())
                .filter(|l| filter.matches(l.service_name()))
                .map(lines::log_line)
                .collect(),
        };
        let mut out = std::io::stdout().lock();
        for line in lines {
            writeln!(out, "{line}")?;
        }
        out.flush()
    }

    /// The refreshing screen: redrawn when data arrives, a key is pressed or the window
    /// changes, at most five times a second.
    async fn show_screen(mut self, store: Store, stop: impl Future<Output = ()>) {
        let color = std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
        let initial = self.state.filter.clone();
        let mut screen = term::Screen::enter();
        let mut arrivals = store.subscribe();
        let mut tick = tokio::time::interval(Duration::from_millis(200));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        tokio::pin!(stop);
        let (mut dirty, mut last_size) = (true, (0, 0));
        loop {
            tokio::select! {
                () = &mut stop => break,
                _ = arrivals.recv() => dirty = true,
                changed = link_changed(&mut self.link) => {
                    // Only a receiver that is gone is worth a line: once it is back, the
                    // data says so.
                    let endpoint = &self.state.endpoint;
                    self.state.link = (changed == Link::Lost).then(|| changed.message(endpoint)).flatten();
                    dirty = true;
                }
                key = screen.key() => {
                    let state = &mut self.state;
                    match key {
                        Key::Char('q' | 'Q') | Key::Interrupt => break,
                        Key::Char('s') => state.filter = next_filter(&store, &state.filter, &initial),
                        Key::Char('e') => state.sieve.errors = !state.sieve.errors,
                        // Toggles between every trace and the slow ones.
                        Key::Char('d') => state.sieve.slower_than = state.sieve.slower_than.xor(Some(self.slow)),
                        Key::Char('t') => state.focus = Focus::Traces,
                        Key::Char('m') => state.focus = Focus::Metrics,
                        Key::Char('l') => state.focus = Focus::Logs,
                        Key::Char('a') => state.focus = Focus::All,
                        _ => {}
                    }
                    dirty = true;
                }
                _ = tick.tick() => {
                    let (width, height) = term::size();
                    if dirty || (width, height) != last_size {
                        let lines = render::screen(&store, &self.state, width, height);
                        let lines = lines.iter().take(height).map(|l| l.render(width, color));
                        screen.draw(&lines.collect::<Vec<_>>());
                        (dirty, last_size) = (false, (width, height));
                    }
                }
            }
        }
    }
}

/// The next change of the link, if there is a link; otherwise (or once its follower is
/// gone) never.
async fn link_changed(link: &mut Option<watch::Receiver<Link>>) -> Link {
    if let Some(watched) = link {
        if watched.changed().await.is_ok() {
            return *watched.borrow_and_update();
        }
        *link = None;
    }
    std::future::pending().await
}

/// The filter after `current` when pressing `s`: the command line's choice, then every
/// service seen, one at a time, then back.
fn next_filter(store: &Store, current: &Filter, initial: &Filter) -> Filter {
    let services = model::services(&store.spans(), &store.logs(), &store.metrics());
    let mut cycle = vec![initial.clone()];
    cycle.extend(
        services
            .into_iter()
            .map(|s| Filter::new([s]))
            .filter(|f| f != initial),
    );
    let at = cycle.iter().position(|f| f == current).unwrap_or(0);
    cycle[(at + 1) % cycle.len()].clone()
}

fn parse_service(text: &str) -> Result<String, String> {
    if text.trim().is_empty() {
        return Err("a service name cannot be empty".into());
    }
    Ok(text.to_owned())
}

/// More than 0, at most a week.
fn parse_duration(text: &str) -> Result<Duration, String> {
    crate::duration::within(
        crate::duration::parse(text)?,
        false,
        Duration::from_secs(7 * 86_400),
        "--for",
    )
}
