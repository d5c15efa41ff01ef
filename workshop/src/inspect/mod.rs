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
//! Other commands holding a [`Store`] can show the same view with [`run_view`]; the
//! pieces are in [`model`] (trees, streams, filter), [`render`] (the screen) and [`lines`]
//! (the one-line forms).

mod follow;
pub mod lines;
pub mod model;
pub mod render;
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

/// How [`run_view`] shows a store.
#[derive(Clone, Debug)]
pub struct ViewOptions {
    /// Where the data comes from, for the view's header.
    pub source: String,
    /// The OTLP/HTTP endpoint to point an SDK at, for the hint while nothing has arrived.
    pub endpoint: String,
    pub filter: Filter,
    /// Which traces (or, in lines, which spans) to show.
    pub sieve: Sieve,
    /// The threshold the `d` key toggles.
    pub slow: Duration,
    /// One line per item instead of the refreshing screen.
    pub lines: bool,
    /// When following a receiver someone else runs: how the follower stands with it.
    pub link: Option<watch::Receiver<Link>>,
}

impl ViewOptions {
    /// `--errors` and `--slower-than`.
    fn sieve_from(&mut self, args: &Args) {
        self.sieve = Sieve {
            errors: args.errors,
            slower_than: args.slower_than,
        };
        self.slow = args.slower_than.unwrap_or(SLOW);
    }

    /// The refreshing screen when stdout is a terminal, lines otherwise.
    pub fn auto(source: impl Into<String>, endpoint: String, filter: Filter) -> ViewOptions {
        ViewOptions {
            source: source.into(),
            endpoint,
            filter,
            sieve: Sieve::default(),
            slow: SLOW,
            lines: !std::io::stdout().is_terminal(),
            link: None,
        }
    }
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    let mut signal = StopSignal::listen()?;
    let filter = Filter::new(args.services.clone());
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

    let source = match &args.from {
        Some(url) => {
            let url = tap_url(url);
            let response = open_tap(&url)
                .await
                .with_context(|| format!("cannot follow the receiver's tap at {url}"))?;
            Source::Tap(url, response)
        }
        None => choose_source(&args).await?,
    };
    match source {
        Source::Listen => {
            let config = ReceiverConfig {
                grpc: args.grpc,
                http: args.http,
                ..ReceiverConfig::default()
            };
            let receiver = Receiver::start(config).await?;
            let source = format!(
                "gRPC {}  HTTP {}",
                receiver.grpc_addr(),
                receiver.http_addr()
            );
            let endpoint = format!("http://{}", receiver.http_addr());
            let mut options = ViewOptions::auto(source, endpoint, filter);
            options.lines |= args.lines;
            options.sieve_from(&args);
            if options.lines {
                eprintln!(
                    "workshop inspect: receiving OTLP/gRPC on {} and OTLP/HTTP on {}",
                    receiver.grpc_addr(),
                    receiver.http_addr()
                );
            }
            let store = receiver.store();
            // The receiver finishes requests in flight before the view prints its last items.
            let stop = async move {
                until.await;
                receiver.shutdown().await;
            };
            run_view(store, options, stop).await
        }
        Source::Tap(url, response) => {
            eprintln!("workshop inspect: following the receiver at {url}");
            let store = Store::default();
            let endpoint = url.trim_end_matches("/v1/tap").to_owned();
            let mut options = ViewOptions::auto(format!("following {url}"), endpoint, filter);
            options.lines |= args.lines;
            options.sieve_from(&args);
            let (link, watched) = watch::channel(Link::Following);
            options.link = Some(watched);
            let feed = follow::follow(url, response, store.clone(), link);
            // The follower never ends by itself: it waits for the receiver to come back.
            let stop = async move {
                tokio::select! {
                    () = until => {}
                    () = feed => {}
                }
            };
            run_view(store, options, stop).await
        }
    }
}

enum Source {
    Listen,
    /// A receiver's tap, already answering.
    Tap(String, reqwest::Response),
}

/// Listen when both ports are free; follow a receiver with a tap that holds the HTTP
/// port; otherwise say which port is taken.
async fn choose_source(args: &Args) -> anyhow::Result<Source> {
    for (addr, what) in [(args.grpc, "gRPC"), (args.http, "HTTP")] {
        let Err(error) = std::net::TcpListener::bind(addr) else {
            continue;
        };
        if error.kind() != std::io::ErrorKind::AddrInUse {
            bail!("cannot listen for OTLP/{what} on {addr}: {error}");
        }
        let url = tap_url(&format!("http://{}", args.http));
        if let Ok(response) = open_tap(&url).await {
            return Ok(Source::Tap(url, response));
        }
        let option = if what == "gRPC" { "--grpc" } else { "--http" };
        bail!(
            "port {} is in use: is a collector or `workshop up` already running? (stop it, or receive elsewhere with e.g. `{option} 127.0.0.1:0`)",
            addr.port()
        );
    }
    Ok(Source::Listen)
}

/// Shows what arrives in `store` until `stop` completes: the refreshing screen, or one
/// line per item (items already in the store first) with `options.lines`.
pub async fn run_view(
    store: Store,
    options: ViewOptions,
    stop: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    if options.lines {
        print_lines(store, &options, stop).await;
        Ok(())
    } else {
        show_screen(store, options, stop).await;
        Ok(())
    }
}

/// The one-line-per-item form: what the store holds, in the order it came, then each
/// batch as it arrives; on stderr, when the receiver followed goes away and comes back.
/// Stops quietly when stdout is closed (e.g. `| head`).
async fn print_lines(store: Store, options: &ViewOptions, stop: impl Future<Output = ()>) {
    let (filter, sieve) = (&options.filter, options.sieve);
    let mut link = options.link.clone();
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
                changed = link_changed(&mut link) => {
                    if let Some(message) = changed.message(&options.endpoint) {
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
                if print_arrival(&batch.arrival, filter, sieve).is_err() {
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

fn print_arrival(arrival: &Arrival, filter: &Filter, sieve: Sieve) -> std::io::Result<()> {
    let mut text = String::new();
    match arrival {
        Arrival::Spans(spans) => {
            let shown = spans
                .iter()
                .filter(|s| filter.matches(s.service_name()) && sieve.keeps_span(s));
            for span in shown {
                text.push_str(&lines::span_line(span));
                text.push('\n');
            }
        }
        Arrival::Metrics(metrics) => {
            for metric in metrics.iter().filter(|m| filter.matches(m.service_name())) {
                for line in lines::metric_lines(metric) {
                    text.push_str(&line);
                    text.push('\n');
                }
            }
        }
        Arrival::Logs(logs) => {
            for log in logs.iter().filter(|l| filter.matches(l.service_name())) {
                text.push_str(&lines::log_line(log));
                text.push('\n');
            }
        }
    }
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()
}

/// The refreshing screen: redrawn when data arrives, a key is pressed or the window
/// changes, at most five times a second.
async fn show_screen(store: Store, options: ViewOptions, stop: impl Future<Output = ()>) {
    let color = std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let mut state = ViewState {
        filter: options.filter.clone(),
        sieve: options.sieve,
        focus: Focus::All,
        source: options.source.clone(),
        endpoint: options.endpoint.clone(),
        link: None,
    };
    let mut link = options.link.clone();
    // Services to cycle through with `s`: all, then each one seen.
    let (screen, mut keys) = term::Screen::enter();
    let mut arrivals = store.subscribe();
    let mut tick = tokio::time::interval(Duration::from_millis(200));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    tokio::pin!(stop);
    let mut dirty = true;
    let mut last_size = (0, 0);
    loop {
        tokio::select! {
            () = &mut stop => break,
            _ = arrivals.recv() => dirty = true,
            changed = link_changed(&mut link) => {
                // Only a receiver that is gone is worth a line: once it is back, the data
                // says so.
                state.link = (changed == Link::Lost)
                    .then(|| changed.message(&options.endpoint))
                    .flatten();
                dirty = true;
            }
            key = keys.recv(), if !keys.is_closed() => {
                match key {
                    Some(Key::Char('q' | 'Q') | Key::Interrupt) => break,
                    Some(Key::Char('s')) => state.filter = next_filter(&store, &state.filter, &options.filter),
                    Some(Key::Char('e')) => state.sieve.errors = !state.sieve.errors,
                    Some(Key::Char('d')) => {
                        state.sieve.slower_than = match state.sieve.slower_than {
                            Some(_) => None,
                            None => Some(options.slow),
                        };
                    }
                    Some(Key::Char('t')) => state.focus = Focus::Traces,
                    Some(Key::Char('m')) => state.focus = Focus::Metrics,
                    Some(Key::Char('l')) => state.focus = Focus::Logs,
                    Some(Key::Char('a')) => state.focus = Focus::All,
                    _ => {}
                }
                dirty = true;
            }
            _ = tick.tick() => {
                let size = term::size();
                if dirty || size != last_size {
                    let (width, height) = size;
                    let lines: Vec<String> = render::screen(&store, &state, width, height)
                        .iter()
                        .take(height)
                        .map(|l| l.render(width, color))
                        .collect();
                    screen.draw(&lines);
                    dirty = false;
                    last_size = size;
                }
            }
        }
    }
    drop(screen);
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
