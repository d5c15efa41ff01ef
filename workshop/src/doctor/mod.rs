//! `workshop doctor`: is this machine ready for the workshop, which of its two paths can the
//! attendee take now, and if none, what to do.
//!
//! As `check` does, it collects evidence, judges it, then renders: [`gather`] probes
//! everything at once (commands, HTTP, ports) into an [`Evidence`]; [`judge`] turns that into
//! lines with ✓ (fine), i (differs on this system), ! (a warning) or ✗ (to fix), each not-✓
//! line with its fix, as pure functions tested on fixtures ([`tests`]); [`paths`] judges from
//! those lines which path is ready; [`render`] writes them as text or JSON.
//!
//! One module a concern, each with its probe and its judgement:
//!
//! - [`system`]: which system, and what differs on it from Linux;
//! - [`toolchain`]: `rustc` at least the workspace's `rust-version`, `cargo nextest`;
//! - [`ports`]: the services' (5000-5003) and the platform's (3000, 4317, 4318, 9090): free,
//!   or taken by what should be there (the check asks), or taken by something else;
//! - [`docker`]: the client, the Compose plugin (2.22+ for the all-in-compose `watch`), the
//!   daemon;
//! - [`platform`]: the collector (told from the workshop's own receiver and from a collector
//!   outside Docker), Prometheus, Grafana, and Loki and Tempo through Grafana (they are not
//!   published), ready or not; then [`data`]: whether data arrives in each;
//! - [`otelcol`]: section 6's OpenTelemetry Collector program, which `check 6` and `up
//!   --collector` without Docker run (`WORKSHOP_OTELCOL`, or the `build-platform` build);
//! - under them, [`command`] and [`http`]: how a command and an HTTP call are made and what
//!   is kept of them.
//!
//! Every command and HTTP call has a timeout (`--timeout`); commands run in their own process
//! group (a job object on Windows), which is killed on timeout or Ctrl-C, so nothing is left
//! behind. The exit code is 0 when at least one path is ready, 1 when none is.

use std::time::Duration;

use anyhow::bail;

use crate::stop::StopSignal;
use data::Signal;
use http::{Answer, Probe};
use ports::Expected;
use report::{Need, Section, fail};

mod command;
mod data;
mod docker;
mod http;
mod otelcol;
mod paths;
mod platform;
mod ports;
mod render;
mod report;
mod system;
#[cfg(test)]
mod tests;
mod toolchain;

#[derive(clap::Args)]
pub struct Args {
    /// Prometheus' base URL.
    #[arg(long, value_name = "URL", default_value = "http://127.0.0.1:9090", value_parser = parse_url)]
    prometheus: Box<reqwest::Url>,
    /// Grafana's base URL (Loki and Tempo are checked through it: they are not published).
    #[arg(long, value_name = "URL", default_value = "http://127.0.0.1:3000", value_parser = parse_url)]
    grafana: Box<reqwest::Url>,
    /// The collector's OTLP/HTTP base URL.
    #[arg(long, value_name = "URL", default_value = "http://127.0.0.1:4318", value_parser = parse_url)]
    otlp: Box<reqwest::Url>,
    /// Where a collector running on this machine outside Docker (`up --collector`) answers
    /// its health check; compose does not publish it. Tells that collector from the
    /// platform's.
    #[arg(long, value_name = "URL", default_value = "http://127.0.0.1:13133", value_parser = parse_url)]
    collector_health: Box<reqwest::Url>,
    /// Where such a collector serves its own metrics (`/metrics`).
    #[arg(long, value_name = "URL", default_value = "http://127.0.0.1:8888", value_parser = parse_url)]
    collector_metrics: Box<reqwest::Url>,
    /// The collector's OTLP gRPC address (only checked to speak HTTP/2).
    #[arg(long, value_name = "URL", default_value = "http://127.0.0.1:4317", value_parser = parse_url)]
    otlp_grpc: Box<reqwest::Url>,
    /// The frontend's port, as for `up --port`; gateway, geolocator and iss-distance use the
    /// next three.
    #[arg(long, default_value_t = 5000,
          value_parser = clap::value_parser!(u16).range(1..=i64::from(u16::MAX - 3)))]
    port: u16,
    /// Timeout of each HTTP call and each command (e.g. 3s, 500ms).
    #[arg(long, default_value = "5s", value_parser = parse_timeout)]
    timeout: Duration,
    /// The docker program to run.
    #[arg(
        long,
        value_name = "PROGRAM",
        env = "WORKSHOP_DOCKER",
        default_value = "docker"
    )]
    docker: String,
    /// The rustc program to run.
    #[arg(
        long,
        value_name = "PROGRAM",
        env = "WORKSHOP_RUSTC",
        default_value = "rustc",
        hide = true
    )]
    rustc: String,
    /// The cargo program to run.
    #[arg(
        long,
        value_name = "PROGRAM",
        env = "WORKSHOP_CARGO",
        default_value = "cargo",
        hide = true
    )]
    cargo: String,
    /// Print the checks as one JSON object instead of lines.
    #[arg(long)]
    json: bool,
}

/// Boxed: four URLs inline would make `Command` four times as big as any other command.
fn parse_url(text: &str) -> Result<Box<reqwest::Url>, String> {
    let why = "the platform publishes plain HTTP on 127.0.0.1";
    crate::base_url::parse(text, "http://127.0.0.1:9090", why).map(Box::new)
}

/// From 50 ms to 2 minutes.
fn parse_timeout(text: &str) -> Result<Duration, String> {
    let timeout = crate::duration::parse(text)?;
    if !(Duration::from_millis(50)..=Duration::from_secs(120)).contains(&timeout) {
        return Err("--timeout must be from 50ms to 120s".into());
    }
    Ok(timeout)
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    let mut stop = StopSignal::listen()?;
    let evidence = tokio::select! {
        evidence = gather(&args) => evidence?,
        // Dropping the probes kills the commands they started (see `command`).
        () = stop.recv() => bail!("interrupted"),
    };
    let sections = judge(&evidence);
    let verdicts = paths::judge(sections.iter().flat_map(|s| &s.checks));
    let mut out = std::io::stdout().lock();
    if args.json {
        render::json(&mut out, &sections, &verdicts)?;
    } else {
        render::text(&mut out, &sections, &verdicts)?;
    }
    if paths::recommended(&verdicts).is_none() {
        bail!("no path is ready yet; each ✗ above says how to fix it");
    }
    Ok(())
}

/// Everything the doctor found out, the one input of [`judge`].
#[derive(Clone, Debug)]
pub struct Evidence {
    /// `std::env::consts::OS` and `ARCH`: which system's lines and commands to show.
    pub os: &'static str,
    pub arch: &'static str,
    pub toolchain: toolchain::Seen,
    pub ports: Vec<ports::Seen>,
    pub docker: docker::Seen,
    pub otelcol: otelcol::Seen,
    pub platform: platform::Seen,
    /// Each signal's answer, `None` where its backend was not ready and so not asked.
    pub data: Vec<(Signal, Option<Answer>)>,
}

/// Probes everything at once: the slowest probe, not the sum, is what you wait for.
async fn gather(args: &Args) -> anyhow::Result<Evidence> {
    let http = reqwest::Client::builder()
        .timeout(args.timeout)
        .connect_timeout(args.timeout)
        .no_proxy()
        .build()?;
    let probe = Probe { http: &http };
    let urls = platform::Urls {
        prometheus: (*args.prometheus).clone(),
        grafana: (*args.grafana).clone(),
        otlp: (*args.otlp).clone(),
        collector_health: (*args.collector_health).clone(),
        collector_metrics: (*args.collector_metrics).clone(),
    };
    let wanted = ports::wanted(
        args.port,
        [
            (&args.grafana, Expected::Grafana),
            (&args.otlp_grpc, Expected::OtlpGrpc),
            (&args.otlp, Expected::OtlpHttp),
            (&args.prometheus, Expected::Prometheus),
        ],
    );
    // Data is only asked of a backend that is ready: a line saying "fix it first" tells
    // more than a second timeout would.
    let platform_then_data = async {
        let platform = platform::probe(&probe, &urls).await;
        let ready = platform::judge(&platform);
        let asks = Signal::ALL.map(|signal| {
            let ready = ready
                .iter()
                .any(|c| c.name == signal.backend() && c.status == report::Status::Ok);
            let (probe, urls) = (&probe, &urls);
            async move {
                let answer = if ready {
                    Some(signal.ask(probe, urls).await)
                } else {
                    None
                };
                (signal, answer)
            }
        });
        (platform, futures_util::future::join_all(asks).await)
    };
    let (toolchain, docker, ports, (platform, data), otelcol) = tokio::join!(
        toolchain::probe(&args.rustc, &args.cargo, args.timeout),
        docker::probe(&args.docker, args.timeout),
        ports::probe(&probe, &wanted, args.timeout),
        platform_then_data,
        otelcol::probe(args.timeout),
    );
    Ok(Evidence {
        os: std::env::consts::OS,
        arch: std::env::consts::ARCH,
        toolchain,
        ports,
        docker,
        otelcol,
        platform,
        data,
    })
}

/// The report's sections, in the order shown, from the evidence alone.
pub fn judge(evidence: &Evidence) -> Vec<Section> {
    let mut sections = vec![
        Section::needed_by(
            "System",
            Need::Neither,
            system::notes(evidence.os, evidence.arch),
        ),
        Section {
            title: "Toolchain (both paths)",
            checks: toolchain::judge(&evidence.toolchain),
        },
        Section {
            title: "Ports",
            checks: ports::judge(&evidence.ports, evidence.os),
        },
        Section::needed_by(
            "Docker (path b)",
            Need::Docker,
            docker::judge(&evidence.docker),
        ),
        Section::needed_by(
            "Section 6 (check 6, and up --collector without Docker)",
            Need::Neither,
            vec![otelcol::judge(&evidence.otelcol)],
        ),
    ];
    if !evidence.docker.installed() {
        // Without Docker the platform cannot be running here: one line, not ten red ones.
        sections.push(Section::needed_by(
            "Platform (path b: docker compose up -d)",
            Need::Docker,
            vec![fail(
                "platform",
                "not checked: it runs in Docker, which is not installed",
                "install Docker first (above), or take path (a)",
            )],
        ));
        return sections;
    }
    sections.push(Section::needed_by(
        "Platform (path b: docker compose up -d)",
        Need::Docker,
        platform::judge(&evidence.platform),
    ));
    sections.push(Section::needed_by(
        "Data arriving (path b, last 15 minutes)",
        Need::Neither,
        evidence
            .data
            .iter()
            .map(|(signal, answer)| data::judge(*signal, answer.as_ref()))
            .collect(),
    ));
    sections
}
