//! `workshop bench`: a reproducible load benchmark of `GET /distance` through the gateway.
//!
//! It builds the services (release by default), starts a local stand-in for the open-notify
//! ISS API in this process, starts the four services wired to it (`ISS_SOURCE=api`), and
//! drives closed-loop load: `--connections` keep-alive HTTP/1.1 clients, each sending its
//! next request as soon as the previous answer has arrived, rotating through known places.
//! After `--warmup` (not counted) it measures for `--duration`, then reports the request
//! rate, latency percentiles, each service's peak RSS (`VmHWM`) and the CPU time every
//! process used during the measurement, as a table or (`--json`) one JSON object.
//!
//! Each gateway request is three HTTP exchanges: client → gateway, gateway → geolocator,
//! gateway → iss-distance; iss-distance asks the stub about once a second (a position
//! serves for `ISS_API_MAX_AGE_MS`). `--env ISS_API_MAX_AGE_MS=0 --env ISS_API_BACKOFF_MS=0`
//! makes it ask on every request, a fourth exchange, as it did before. Everything, this load
//! generator included, shares the machine's cores; the report says how the CPU time was split.
//!
//! For the telemetry's overhead, `--tree` benchmarks another checkout (e.g. the workshop's
//! final state), `--receiver` gives the services a live OTLP receiver in this process (on its
//! own thread, so its CPU time is reported apart) and `--blackhole` a collector that accepts
//! connections and never answers.
//!
//! This file holds the command's arguments and the run's order; the parts are modules:
//! - the harness (`crate::harness`): the services, the ISS API stand-in, the blackhole;
//! - `standins`: the OTLP receiver on its own thread;
//! - `measure`: the closed-loop load and what the measurement window saw;
//! - `cpu`: where the CPU time went;
//! - `report`: the typed report, as a table or `--json`.

mod cpu;
mod measure;
mod report;
mod standins;

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::bail;

use crate::build::{build_services, workspace_root};
use crate::harness::{self, Blackhole, Env, Harness, Options, Ports, Sockets};
use crate::stop::StopSignal;
use measure::Measurement;
use report::{BlackholeReport, Received, Report, Setup};
use standins::ReceiverThread;

#[derive(clap::Args)]
pub struct Args {
    /// Concurrent keep-alive connections to the gateway (closed loop: one request in flight
    /// on each).
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u32).range(1..=4096))]
    connections: u32,
    /// How long to measure, after the warm-up: e.g. 20s, 1m, 500ms (a bare number is seconds).
    #[arg(long, default_value = "20s", value_parser = parse_duration)]
    duration: Duration,
    /// How long to load the services before measuring (not counted); 0 for none.
    #[arg(long, default_value = "3s", value_parser = parse_warmup)]
    warmup: Duration,
    /// An environment variable for all four services, as KEY=VALUE; repeat for more
    /// (e.g. --env OTEL_SDK_DISABLED=true --env RUST_LOG=warn).
    #[arg(long = "env", value_name = "KEY=VALUE", value_parser = parse_env)]
    env: Vec<(String, String)>,
    /// The frontend's port; gateway, geolocator and iss-distance use the next three
    /// [default: four free ports].
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=i64::from(u16::MAX - 3)))]
    port: Option<u16>,
    /// Print one JSON object on stdout instead of a table.
    #[arg(long)]
    json: bool,
    /// The workspace whose services are built and benchmarked, e.g. a checkout of the
    /// workshop's final state [default: the one this binary was built from]. Give each
    /// checkout its own CARGO_TARGET_DIR.
    #[arg(long, value_name = "DIR")]
    tree: Option<PathBuf>,
    /// Export the services' telemetry to an OTLP receiver in this process (OTLP/HTTP), and
    /// report what it received.
    #[arg(long, conflicts_with = "blackhole")]
    receiver: bool,
    /// Point the services' OTLP exporters at a port that accepts connections and never
    /// answers (a blackholed collector).
    #[arg(long)]
    blackhole: bool,
    /// Benchmark debug builds (quicker to build; for testing the benchmark itself).
    #[arg(long, hide = true)]
    debug: bool,
}

/// A measured duration: more than 0, at most an hour.
fn parse_duration(text: &str) -> Result<Duration, String> {
    crate::duration::within(
        crate::duration::parse(text)?,
        false,
        Duration::from_secs(3600),
        "the duration",
    )
}

/// A warm-up: from 0 to an hour.
fn parse_warmup(text: &str) -> Result<Duration, String> {
    crate::duration::within(
        crate::duration::parse(text)?,
        true,
        Duration::from_secs(3600),
        "the warm-up",
    )
}

fn parse_env(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.is_empty() && !key.contains(char::is_whitespace) => {
            Ok((key.to_owned(), value.to_owned()))
        }
        _ => Err("must be KEY=VALUE, e.g. OTEL_SDK_DISABLED=true".into()),
    }
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    let mut stop = StopSignal::listen()?;
    let sockets = match args.port {
        Some(port) => Sockets::bind(Ports::from_base(port)?)?,
        None => Sockets::any()?,
    };
    let flag = args.receiver.then_some("--receiver");
    if let Some(flag) = flag.or(args.blackhole.then_some("--blackhole"))
        && let Some((key, _)) = args
            .env
            .iter()
            .find(|(key, _)| key == "OTEL_SDK_DISABLED" || key.starts_with("OTEL_EXPORTER_OTLP_"))
    {
        bail!("{flag} sets where the telemetry goes: leave out --env {key}");
    }
    let workspace = match &args.tree {
        Some(tree) if tree.join("Cargo.toml").is_file() => std::path::absolute(tree)?,
        Some(tree) => bail!("--tree {}: no Cargo.toml there", tree.display()),
        None => workspace_root(),
    };
    let binaries = tokio::select! {
        built = build_services(&workspace, !args.debug) => built?,
        () = stop.recv() => bail!("interrupted"),
    };
    let receiver = args.receiver.then(ReceiverThread::start).transpose()?;
    let blackhole = match args.blackhole {
        true => Some(Blackhole::start().await?),
        false => None,
    };
    let endpoint = receiver.as_ref().map(|r| r.endpoint.clone());
    let mut env = match endpoint
        .clone()
        .or(blackhole.as_ref().map(Blackhole::endpoint))
    {
        Some(endpoint) => harness::env([
            ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf".into()),
        ]),
        None => Env::new(),
    };
    env.extend(args.env.iter().cloned());
    let options = Options {
        echo: true,
        without_our_otel_env: false,
    };
    let mut harness = Harness::start(&binaries, sockets, env, options)?;
    let setup = Setup {
        connections: args.connections,
        warmup_seconds: args.warmup.as_secs_f64(),
        duration_seconds: args.duration.as_secs_f64(),
        release: !args.debug,
        env: &args.env,
        pids: &harness.services.pids(),
        receiver_endpoint: endpoint,
        tree: workspace.display().to_string(),
    };
    let result = tokio::select! {
        result = bench(&args, &mut harness, receiver.as_ref()) => result,
        () = stop.recv() => Err(anyhow::anyhow!("interrupted")),
    };
    // The services flush their telemetry as they stop: the receiver's totals come after.
    harness.stop(Duration::from_secs(10)).await;
    let mut report = Report::new(&setup, &result?);
    if let (Some(receiver), Some(section)) = (receiver, report.receiver.as_mut()) {
        section.total = Some(Received::between(&receiver.stop(), None));
    }
    report.blackhole = blackhole.map(|blackhole| BlackholeReport {
        endpoint: blackhole.endpoint(),
        connections_accepted: blackhole.accepted(),
    });
    let mut stdout = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut stdout, &report)?;
        writeln!(stdout)?;
    } else {
        report.write_table(&mut stdout)?;
    }
    Ok(())
}

/// Once the services are healthy, the measurement; fails if one of them exits meanwhile.
async fn bench(
    args: &Args,
    harness: &mut Harness,
    receiver: Option<&ReceiverThread>,
) -> anyhow::Result<Measurement> {
    harness.wait_healthy(Duration::from_secs(60)).await?;
    let pids = harness.services.pids();
    let measure = measure::measure(
        args.connections,
        args.warmup,
        args.duration,
        &harness.ports,
        &pids,
        &harness.iss_api,
        receiver,
    );
    tokio::select! {
        measured = measure => measured,
        (name, status) = harness.services.first_exit() => {
            bail!("{name} stopped during the benchmark ({status}); see its output above")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("20s"), Ok(Duration::from_secs(20)));
        assert_eq!(parse_duration("2"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("1m"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_warmup("0"), Ok(Duration::ZERO));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("fast").is_err());
        assert!(parse_duration("3h").is_err());
        assert!(parse_duration("-1s").is_err());
        assert!(parse_duration("2h0").is_err());
    }

    #[test]
    fn env_pairs() {
        assert_eq!(
            parse_env("OTEL_SDK_DISABLED=true"),
            Ok(("OTEL_SDK_DISABLED".into(), "true".into()))
        );
        assert_eq!(parse_env("A=b=c"), Ok(("A".into(), "b=c".into())));
        assert_eq!(parse_env("EMPTY="), Ok(("EMPTY".into(), String::new())));
        assert!(parse_env("NOVALUE").is_err());
        assert!(parse_env("=x").is_err());
    }
}
