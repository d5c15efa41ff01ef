//! `workshop load`: realistic traffic through the frontend or the gateway, so that telemetry
//! keeps flowing while you look at it.
//!
//! This file holds the command's arguments and hands off (as cargo's command files do):
//! - `inputs`: what is asked for (known places, unknown places, bad input) and in what mix;
//! - `traffic`: sending on schedule (an open loop, bounded in flight), with a timeout each;
//! - `stats`: what came back, counted in constant memory (latencies in an HDR histogram);
//! - `report`: the summary, typed, as text or `--json`.
//!
//! Progress goes to stderr (one line, updated in place, only when stderr is a terminal); the
//! summary goes to stdout. Ctrl-C (or SIGTERM) stops sending, waits a moment for the answers
//! in flight and prints the summary; the exit code is then 0.

mod inputs;
mod report;
mod stats;
mod traffic;

use std::io::Write;
use std::time::Duration;

use anyhow::Context;

use crate::stop::StopSignal;
use inputs::{KINDS, Mix, parse_mix};
use report::{Summary, format_rate};

#[derive(clap::Args)]
pub struct Args {
    /// Where to send the requests: frontend (GET /?location=…, the page, which calls all
    /// the other services) or gateway (GET /distance?location=…, JSON).
    #[arg(long, value_enum, default_value_t = Target::Frontend)]
    target: Target,
    /// The target's base URL [default: http://127.0.0.1:5000 for the frontend,
    /// http://127.0.0.1:5001 for the gateway].
    #[arg(long, value_name = "BASE", value_parser = parse_base_url)]
    url: Option<reqwest::Url>,
    /// Requests per second, sent on schedule whatever the response times: e.g. 5, 50/s,
    /// 0.5, 30/m.
    #[arg(long, value_name = "N/s", default_value = "5", value_parser = parse_rate)]
    rate: f64,
    /// How long to run: e.g. 60s, 10m, 1h, 500ms [default: until Ctrl-C].
    #[arg(long, value_parser = parse_duration)]
    duration: Option<Duration>,
    /// Shares of known places, unknown places and bad input (empty, or 201 characters).
    #[arg(
        long,
        value_name = "known=N,unknown=N,bad=N",
        default_value = "known=70,unknown=20,bad=10",
        value_parser = parse_mix
    )]
    mix: Mix,
    /// Timeout of each request.
    #[arg(long, default_value = "15s", value_parser = parse_duration)]
    timeout: Duration,
    /// At most this many requests waiting for an answer; requests due meanwhile are dropped
    /// (not sent) and counted.
    #[arg(long, value_name = "N", default_value_t = 256,
          value_parser = clap::value_parser!(u32).range(1..=100_000))]
    max_in_flight: u32,
    /// Print the summary as one JSON object.
    #[arg(long)]
    json: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug, clap::ValueEnum)]
enum Target {
    Frontend,
    Gateway,
}

impl Target {
    /// Its default base URL and the path the requests go to.
    fn url(self) -> (&'static str, &'static str) {
        match self {
            Target::Frontend => ("http://127.0.0.1:5000", "/"),
            Target::Gateway => ("http://127.0.0.1:5001", "/distance"),
        }
    }
}

fn parse_base_url(text: &str) -> Result<reqwest::Url, String> {
    let why = "the workshop's services speak plain HTTP";
    crate::base_url::parse(text, "http://127.0.0.1:5001", why)
}

/// `5`, `50/s`, `0.5`, `30/m`: requests per second, more than 0 and at most 100,000.
fn parse_rate(text: &str) -> Result<f64, String> {
    let text = text.trim();
    let (number, per_seconds) = if let Some(n) = text.strip_suffix("/s") {
        (n, 1.0)
    } else if let Some(n) = text.strip_suffix("/m") {
        (n, 60.0)
    } else {
        (text, 1.0)
    };
    let number: f64 = number
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a rate: use e.g. 5, 50/s or 30/m"))?;
    let rate = number / per_seconds;
    if !rate.is_finite() || rate <= 0.0 {
        return Err("must be more than 0".into());
    }
    if rate > 100_000.0 {
        return Err("must be at most 100000/s".into());
    }
    Ok(rate)
}

/// More than 0, at most 30 days (leave `--duration` out to run until Ctrl-C).
fn parse_duration(text: &str) -> Result<Duration, String> {
    let month = Duration::from_secs(30 * 86_400);
    crate::duration::within(crate::duration::parse(text)?, false, month, "it")
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    let mut stop = StopSignal::listen()?;
    let (base, path) = args.target.url();
    let mut url = (args.url.clone()).unwrap_or_else(|| base.parse().expect("a valid URL"));
    url.set_path(&format!("{}{path}", url.path().trim_end_matches('/')));
    let client = reqwest::Client::builder()
        .timeout(args.timeout)
        .connect_timeout(args.timeout.min(Duration::from_secs(3)))
        .no_proxy()
        .build()
        .context("cannot build the HTTP client")?;
    eprintln!("{}", announcement(&args, &url));
    let (stats, ran) = traffic::send(&args, &client, &url, &mut stop).await;
    let summary = Summary::new(&args, &url, &ran, &stats);
    let mut stdout = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut stdout, &summary)?;
        writeln!(stdout)?;
    } else {
        summary.write_text(&mut stdout)?;
    }
    Ok(())
}

/// The first line: what will be sent, how fast, for how long, in what mix.
fn announcement(args: &Args, url: &reqwest::Url) -> String {
    let mix = args.mix.0;
    let total_weight: u32 = mix.iter().sum();
    let shares: Vec<String> = KINDS
        .iter()
        .zip(mix)
        .filter(|(_, w)| *w > 0)
        .map(|(k, w)| format!("{k} {:.0}%", 100.0 * f64::from(w) / f64::from(total_weight)))
        .collect();
    format!(
        "load: GET {url}?location=… at {}/s {}; {}",
        format_rate(args.rate),
        match args.duration {
            Some(d) => format!("for {}", crate::duration::human(d)),
            None => "until Ctrl-C".into(),
        },
        shares.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_and_durations() {
        assert_eq!(parse_rate("50"), Ok(50.0));
        assert_eq!(parse_rate("50/s"), Ok(50.0));
        assert_eq!(parse_rate("30/m"), Ok(0.5));
        assert_eq!(parse_rate("0.5"), Ok(0.5));
        assert!(parse_rate("0").is_err());
        assert!(parse_rate("-3").is_err());
        assert!(parse_rate("fast").is_err());
        assert!(parse_rate("NaN").is_err());
        assert!(parse_rate("1e9").is_err());
        assert_eq!(parse_duration("60s"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_duration("2h"), Ok(Duration::from_secs(7200)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("4"), Ok(Duration::from_secs(4)));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("5x").is_err());
        assert!(parse_duration("forever").is_err());
        assert!(parse_duration("90d").is_err());
    }

    #[test]
    fn base_urls() {
        assert!(parse_base_url("http://127.0.0.1:5001").is_ok());
        assert!(parse_base_url("http://localhost:8000/prefix").is_ok());
        assert!(
            parse_base_url("https://example.com")
                .unwrap_err()
                .contains("http://")
        );
        assert!(parse_base_url("localhost:5000").is_err());
        assert!(parse_base_url("http://127.0.0.1:5001/?x=1").is_err());
        assert!(parse_base_url("not a url").is_err());
    }
}
