//! Following a receiver that someone else runs (`workshop up`'s) through its tap, for as
//! long as inspect runs: `up` restarts at every section, and the view must survive that.
//!
//! The tap starts with what the receiver already holds (see `otlp_receiver::tap`), so
//! nothing sent before inspect started, or while it waited, is missing. When the tap ends
//! or breaks, the follower says so and tries again every [`RETRY`]; it sends back the
//! receiver's instance and the number of the last request it saw, so that the same
//! receiver sends only what came after, and a new one (a restarted `up`) all it holds:
//! every request is shown once.

use std::time::Duration;

use anyhow::{Context, bail};
use otlp_receiver::Store;
use otlp_receiver::tap::INSTANCE_HEADER;
use tokio::sync::watch;

/// How often to look for a receiver that went away.
const RETRY: Duration = Duration::from_millis(500);

/// How the follower stands with the receiver, for the view to show.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Link {
    /// Connected, from the start.
    Following,
    /// The tap ended or broke: the receiver stopped (or is restarting); trying again.
    Lost,
    /// Connected again after [`Link::Lost`]: to the same receiver, or to a new one.
    Back { restarted: bool },
}

impl Link {
    /// What to tell the person watching `url`, when there is something to tell.
    pub fn message(self, url: &str) -> Option<String> {
        match self {
            Link::Following => None,
            Link::Lost => Some(format!(
                "the receiver at {url} went away (did `workshop up` stop?); waiting for it to \
                 come back (Ctrl-C to stop)"
            )),
            Link::Back { restarted: true } => Some(format!(
                "a new receiver is at {url} (`workshop up` restarted): following it, from \
                 what it already holds"
            )),
            Link::Back { restarted: false } => {
                Some(format!("the receiver at {url} is back: following it again"))
            }
        }
    }
}

/// Where a follower is: the receiver it follows and the last request it saw there.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Position {
    instance: Option<String>,
    last: u64,
}

/// `http://host:port` (or a full tap URL) to the tap's URL.
pub fn tap_url(base: &str) -> String {
    let base = base.trim_end_matches('/');
    let base = if base.contains("://") {
        base.to_owned()
    } else {
        format!("http://{base}")
    };
    if base.ends_with("/v1/tap") {
        base
    } else {
        format!("{base}/v1/tap")
    }
}

/// Connects to a tap; an answer that is not a tap's is an error.
pub async fn open_tap(url: &str) -> anyhow::Result<reqwest::Response> {
    open_since(url, &Position::default()).await
}

/// Connects to a tap, asking for what came after `position` when it is the same receiver.
async fn open_since(url: &str, position: &Position) -> anyhow::Result<reqwest::Response> {
    let client = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(1))
        .build()?;
    let mut request = client.get(url);
    if let Some(instance) = &position.instance {
        let after = position.last.to_string();
        request = request.query(&[("instance", instance.as_str()), ("after", &after)]);
    }
    // Only the answer's head is awaited: its body never ends.
    let response = tokio::time::timeout(Duration::from_secs(2), request.send())
        .await
        .context("no answer within 2 s")??;
    let ndjson = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/x-ndjson"));
    if !response.status().is_success() || !ndjson {
        bail!("answered {} without a tap", response.status());
    }
    Ok(response)
}

fn instance_of(response: &reqwest::Response) -> Option<String> {
    let value = response.headers().get(INSTANCE_HEADER)?;
    value.to_str().ok().map(str::to_owned)
}

/// Follows the tap at `url` into `store`, starting with `response` (already open), and
/// reconnects whenever it ends; tells `link` how it stands. Never returns: it ends when
/// the caller drops it (Ctrl-C, `q`, `--for`).
pub async fn follow(
    url: String,
    mut response: reqwest::Response,
    store: Store,
    link: watch::Sender<Link>,
) {
    let mut position = Position {
        instance: instance_of(&response),
        last: 0,
    };
    loop {
        read_lines(&mut response, &store, &mut position.last).await;
        link.send_replace(Link::Lost);
        response = loop {
            tokio::time::sleep(RETRY).await;
            if let Ok(response) = open_since(&url, &position).await {
                break response;
            }
        };
        let instance = instance_of(&response);
        let restarted = instance != position.instance;
        if restarted {
            position = Position { instance, last: 0 };
        }
        link.send_replace(Link::Back { restarted });
    }
}

/// Feeds tap lines into `store` until the tap ends or breaks; keeps `last`, the number of
/// the last request read whole.
async fn read_lines(response: &mut reqwest::Response, store: &Store, last: &mut u64) {
    let mut pending: Vec<u8> = Vec::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        pending.extend_from_slice(&chunk);
        while let Some(end) = pending.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = pending.drain(..=end).collect();
            let line = String::from_utf8_lossy(&line);
            if line.trim().is_empty() {
                continue;
            }
            match otlp_receiver::tap::ingest_line(store, &line) {
                Ok(seq) => *last = seq,
                Err(error) => eprintln!("workshop inspect: skipped a tap line: {error}"),
            }
        }
    }
    // A line cut off by the end is dropped: asked for again after `last`, it comes whole.
}
