//! `workshop doctor`: is this machine ready for the workshop, which of its two paths can the
//! attendee take now, and if none, what to do.
//!
//! As `check` does, it collects evidence, judges it, then renders: [`gather`] probes
//! everything at once (commands, HTTP, ports) into an [`Evidence`]; [`judge`] turns that into
//! verdicts (the shared [`crate::report`] model) with ✓ (fine), i (differs on this system),
//! ! (a warning) or ✗ (to fix), each not-✓ one with its fix, as pure functions tested on
//! fixtures ([`tests`]); [`paths`] judges from them which path is ready and makes the report.
//!
//! One module a concern, each with its probe and its judgement: [`system`], [`toolchain`],
//! [`ports`], [`docker`], [`otelcol`], [`platform`] and then [`data`]; under them,
//! [`command`] and [`http`]: how a command and an HTTP call are made and what is kept of
//! them.
//!
//! Every command and HTTP call has a timeout (`--timeout`); commands run in their own process
//! group (a job object on Windows), which is killed on timeout or Ctrl-C, so nothing is left
//! behind. The exit code is 0 when at least one path is ready, 1 when none is.

use std::time::Duration;

use anyhow::bail;

use crate::ports::Ports;
use crate::report::{Section, Status, Verdict};
use crate::stop::StopSignal;
use data::Signal;
use http::{Answer, Probe};
use paths::Need;
use ports::Expected;

mod command;
mod data;
mod docker;
mod http;
mod otelcol;
mod paths;
mod platform;
mod ports;
mod system;
#[cfg(test)]
mod tests;
mod toolchain;

#[derive(clap::Args)]
pub struct Args {
    /// Boxed: six URLs inline would make `Command` four times as big as any other command.
    #[command(flatten)]
    urls: Box<platform::Urls>,
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
    #[arg(long, env = "WORKSHOP_RUSTC", default_value = "rustc", hide = true)]
    rustc: String,
    /// The cargo program to run.
    #[arg(long, env = "WORKSHOP_CARGO", default_value = "cargo", hide = true)]
    cargo: String,
    /// Print the report as one JSON object: `sections` (each a `title` and its `verdicts`:
    /// `status`, `what`, `detail`, `hint`; the last one, "Paths", a verdict per path),
    /// `conclusion`, `failures`, `warnings`.
    #[arg(long)]
    json: bool,
}

fn parse_url(text: &str) -> Result<reqwest::Url, String> {
    let why = "the platform publishes plain HTTP on 127.0.0.1";
    crate::base_url::parse(text, "http://127.0.0.1:9090", why)
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
    let (report, take) = paths::report(judge(&evidence));
    report.write(&mut std::io::stdout().lock(), args.json)?;
    if take.is_none() {
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
    let urls = &*args.urls;
    let wanted = ports::wanted(
        Ports::from_base(args.port)?,
        [
            (&urls.grafana, Expected::Grafana),
            (&urls.otlp_grpc, Expected::OtlpGrpc),
            (&urls.otlp, Expected::OtlpHttp),
            (&urls.prometheus, Expected::Prometheus),
        ],
    );
    // Data is only asked of a backend that is ready: a line saying "fix it first" tells
    // more than a second timeout would.
    let platform_then_data = async {
        let platform = platform::probe(&probe, urls).await;
        let ready = platform::judge(&platform);
        let asks = Signal::ALL.map(|signal| {
            let ready = ready
                .iter()
                .any(|v| v.what == signal.backend() && v.status == Status::Ok);
            let probe = &probe;
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

/// The report's sections, in the order shown, from the evidence alone, each with the paths
/// that need its verdicts to pass.
pub fn judge(evidence: &Evidence) -> Vec<(Need, Section)> {
    let section = |need, title: &str, verdicts| (need, Section::new(title, verdicts));
    let ports = |need| ports::judge(&evidence.ports, evidence.os, need);
    let toolchain = toolchain::judge(&evidence.toolchain);
    let otelcol = vec![otelcol::judge(&evidence.otelcol)];
    let mut sections = vec![
        section(
            Need::Neither,
            "System",
            system::notes(evidence.os, evidence.arch),
        ),
        section(Need::Both, "Toolchain (both paths)", toolchain),
        section(Need::Both, "Ports (both paths)", ports(Need::Both)),
        section(Need::Docker, "Ports (path b)", ports(Need::Docker)),
        section(
            Need::Docker,
            "Docker (path b)",
            docker::judge(&evidence.docker),
        ),
        section(
            Need::Neither,
            "Section 6 (check 6, and up --collector without Docker)",
            otelcol,
        ),
    ];
    let platform = "Platform (path b: docker compose up -d)";
    if evidence.docker.installed() {
        let data = evidence.data.iter();
        let data = data.map(|(signal, answer)| data::judge(*signal, answer.as_ref()));
        sections.extend([
            section(Need::Docker, platform, platform::judge(&evidence.platform)),
            section(
                Need::Neither,
                "Data arriving (path b, last 15 minutes)",
                data.collect(),
            ),
        ]);
    } else {
        // Without Docker the platform cannot be running here: one line, not ten red ones.
        let not_checked = Verdict::fail(
            "platform",
            "not checked: it runs in Docker, which is not installed",
            "Install Docker first (above), or take path (a)",
        );
        sections.push(section(Need::Docker, platform, vec![not_checked]));
    }
    // The platform's ports are looked at only where it runs on this machine.
    sections.retain(|(_, section)| !section.verdicts.is_empty());
    sections
}
