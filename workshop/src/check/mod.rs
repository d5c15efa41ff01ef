//! `workshop check N`: is section N done? It builds the services in the working tree, starts
//! them on free ports next to a stub ISS API and an in-process OTLP receiver, drives a fixed
//! scenario (see [`scenario`]), stops them gracefully and checks what arrived against what
//! sections 0..=N promise, as a checklist.
//!
//! - `scenario`: the requests, and every number the checks expect, derived from them;
//! - `relay`: relays between our own services, which record the context of every hop;
//! - `replica`: section 0's second copy of one service, started with the standard resource
//!   variables set;
//! - `evidence`: what a run observed, the one input of every check;
//! - `section0` … `section6`: the checks, pure functions of the evidence;
//! - `span_status`: the semantic conventions' status rules for SERVER and CLIENT spans;
//! - `pipeline` and `section6`: section 6 sends traffic through the real collector on the
//!   attendee's config, after the run above, and checks what leaves it;
//! - `report`: the ✓/✗ checklist.

mod evidence;
#[cfg(test)]
mod fixtures;
mod pipeline;
mod relay;
mod replica;
mod report;
mod scenario;
mod section0;
mod section1;
mod section2;
mod section3;
mod section4;
mod section5;
mod section6;
mod span_status;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use otlp_receiver::{Protocol, Receiver, ReceiverConfig, Store};

use crate::build::{build_services, workspace_root};
use crate::harness::{self, Binaries, Ended, Env, Harness, Options, Services, Sockets, random_hex};
use crate::report::Status;
use crate::stop::StopSignal;

use evidence::Evidence;
use report::{Check, Report};
use scenario::{Scenario, TraceContext};

/// How long the services get to answer `/healthz` after they start.
const HEALTHY: Duration = Duration::from_secs(15);
/// How long the services get to stop and flush after SIGTERM.
const GRACE: Duration = Duration::from_secs(10);
/// How long to wait for late telemetry after the services have stopped.
const LATE: Duration = Duration::from_secs(2);

#[derive(clap::Args)]
pub struct Args {
    /// The section to check (0 to 6); sections before it are checked too.
    #[arg(value_parser = parse_section)]
    section: u8,
    /// The workspace to build and check [default: the one this binary was built from].
    #[arg(long, value_name = "DIR")]
    tree: Option<PathBuf>,
    /// How the services export (OTEL_EXPORTER_OTLP_PROTOCOL).
    #[arg(long, value_enum, default_value = "http/protobuf")]
    protocol: OtlpProtocol,
    /// Also print the services' output and everything that arrived.
    #[arg(long)]
    verbose: bool,
    /// Print the checklist as one JSON object: `sections` (each a `title` and its
    /// `verdicts`: `status`, `what`, `detail`, `hint`), `conclusion`, `failures`.
    #[arg(long, conflicts_with = "verbose")]
    json: bool,
    /// The OpenTelemetry Collector to run for section 6 (a build of
    /// platform/otel-collector/builder.yaml, or the otelcol-contrib release binary)
    /// [default: the one `cargo run -p platform-live --bin build-platform -- otelcol` built].
    #[arg(long, value_name = "PROGRAM", env = "WORKSHOP_OTELCOL")]
    collector: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum OtlpProtocol {
    #[value(name = "grpc")]
    Grpc,
    #[value(name = "http/protobuf")]
    HttpProtobuf,
}

impl OtlpProtocol {
    fn receiver(self) -> Protocol {
        match self {
            OtlpProtocol::Grpc => Protocol::Grpc,
            OtlpProtocol::HttpProtobuf => Protocol::Http,
        }
    }
}

/// One section: its number, its title and its checks.
type Section = (u8, &'static str, fn(&Evidence) -> Vec<Check>);

/// The sections `check` knows, in order. (Their numbers need not be consecutive: each
/// section's patch in `workshop/steps` is numbered in its name.)
const SECTIONS: [Section; 7] = [
    (0, section0::TITLE, section0::check),
    (1, section1::TITLE, section1::check),
    (2, section2::TITLE, section2::check),
    (3, section3::TITLE, section3::check),
    (4, section4::TITLE, section4::check),
    (5, section5::TITLE, section5::check),
    (6, section6::TITLE, section6::check),
];

/// The first section that needs traffic through the real collector.
const COLLECTOR_SECTION: u8 = 6;

/// A section that `check` (and `solve`) knows.
pub fn parse_section(text: &str) -> Result<u8, String> {
    let known: Vec<String> = SECTIONS.iter().map(|(n, ..)| n.to_string()).collect();
    text.trim()
        .parse::<u8>()
        .ok()
        .filter(|n| SECTIONS.iter().any(|(known, ..)| known == n))
        .ok_or_else(|| {
            format!(
                "there is no section {text}: choose {}",
                report::list(&known).replace(" and ", " or ")
            )
        })
}

/// The checks of sections 0..=`section`, titled.
pub fn evaluate(evidence: &Evidence, section: u8) -> Vec<(&'static str, Vec<Check>)> {
    SECTIONS
        .into_iter()
        .filter(|(n, ..)| *n <= section)
        .map(|(_, title, check)| (title, check(evidence)))
        .collect()
}

fn all_pass(evidence: &Evidence, section: u8) -> bool {
    evaluate(evidence, section)
        .iter()
        .all(|(_, checks)| checks.iter().all(Check::passed))
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    let mut stop = StopSignal::listen()?;
    let tree = tree(args.tree.as_deref())?;
    eprintln!("building the services in {} …", tree.display());
    let built = tokio::select! {
        built = build_services(&tree, false) => built,
        () = stop.recv() => bail!("interrupted"),
    };
    let mut report = Report::default();
    let binaries = match built {
        Ok(binaries) => binaries,
        Err(error) => {
            report.add(
                "Setup",
                vec![Check::new(
                    "the services build",
                    "cargo's errors above",
                    Err(format!("{error:#}")),
                )],
            );
            report.write(&mut std::io::stdout().lock(), args.json)?;
            bail!("the services do not build");
        }
    };
    let started = Instant::now();
    eprintln!("checking section {} …", args.section);
    let (setup, evidence) = tokio::select! {
        observed = observe_all(&args, &tree, &binaries) => observed?,
        () = stop.recv() => bail!("interrupted"),
    };
    if args.verbose {
        print!("{}", arrived(&evidence));
    }
    let mut checks = vec![Check::new("the services build", "", Ok(()))];
    checks.extend(setup);
    report.add("Setup", checks);
    for (title, checks) in evaluate(&evidence, args.section) {
        report.add(title, checks);
    }
    let (took, checks) = (started.elapsed().as_secs_f64(), report.verdicts().count());
    report.conclusion = match report.count(Status::Fail) {
        0 => format!(
            "Section {} is done: all {checks} checks pass ({took:.1} s after the build).",
            args.section
        ),
        failures => format!("{failures} of {checks} checks fail ({took:.1} s after the build)."),
    };
    report.write(&mut std::io::stdout().lock(), args.json)?;
    if !report.passed() {
        bail!("section {} is not done yet", args.section)
    }
    Ok(())
}

/// The workspace to check: `--tree`, or the one this binary was built from.
fn tree(given: Option<&Path>) -> anyhow::Result<PathBuf> {
    let tree = match given {
        Some(tree) => tree
            .canonicalize()
            .with_context(|| format!("--tree {}", tree.display()))?,
        None => workspace_root(),
    };
    if !tree.join("Cargo.toml").is_file() {
        bail!("--tree {}: no Cargo.toml there", tree.display());
    }
    Ok(tree)
}

/// The scenario's run, then section 6's through the collector if it is asked for.
async fn observe_all(
    args: &Args,
    tree: &Path,
    binaries: &Binaries,
) -> anyhow::Result<(Vec<Check>, Evidence)> {
    let (setup, mut evidence) = observe(args, binaries).await?;
    if args.section >= COLLECTOR_SECTION {
        eprintln!("sending traffic through the collector on your config …");
        evidence.collector = Some(through_collector(args, tree, binaries).await?);
    }
    Ok((setup, evidence))
}

/// Section 6's run: the same services, through the real collector on the tree's config.
async fn through_collector(
    args: &Args,
    tree: &Path,
    binaries: &Binaries,
) -> anyhow::Result<pipeline::Observed> {
    let collector = match &args.collector {
        Some(path) => Ok(path.clone()),
        None => platform_live::programs::collector_binary(tree),
    };
    match collector {
        Ok(collector) => pipeline::run::observe(&collector, tree, binaries, args.verbose).await,
        Err(why) => Ok(pipeline::Observed::without_collector(
            "platform/otel-collector/config.yaml".into(),
            format!(
                "{why}; or download the otelcol-contrib release binary (0.159.0) and pass it with --collector"
            ),
        )),
    }
}

/// Runs the services through the scenario and collects the evidence, with the setup's
/// own checks (start, answers, stop).
async fn observe(args: &Args, binaries: &Binaries) -> anyhow::Result<(Vec<Check>, Evidence)> {
    let receiver = Receiver::start(ReceiverConfig::ephemeral()).await?;
    let run_id = random_hex(8);
    let protocol = args.protocol.receiver();
    let sockets = Sockets::any()?;
    let relays = relay::Relays::start(&sockets.ports()).await?;
    let mut env = exporting(&receiver, protocol, format!("workshop.check.run={run_id}"));
    // Once per request, whatever the one before got: the stand-in changes its answer from
    // step to step, and the checks count the calls by answer, so no position is kept and no
    // failure pauses the API (iss-distance's defaults for a free public API).
    env.extend(harness::env([
        ("ISS_API_MAX_AGE_MS", "0".into()),
        ("ISS_API_BACKOFF_MS", "0".into()),
    ]));
    env.extend(relays.env());
    let options = Options {
        echo: args.verbose,
        without_our_otel_env: true,
    };
    let mut harness = Harness::start(binaries, sockets, env, options)?;
    let mut replica = replica::Replica::start(binaries, &run_id, protocol, options).await?;
    let scenario = Scenario::standard(TraceContext {
        trace_id: random_hex(16),
        parent_id: random_hex(8),
    });
    let (healthy, ()) = tokio::join!(harness.wait_healthy(HEALTHY), replica.wait_healthy(HEALTHY));
    let outcomes = match &healthy {
        Ok(()) => {
            let pace = scenario::STEP_BY_STEP;
            let context = Some(&scenario.context);
            scenario::drive(&scenario.steps, &harness, context, pace).await?
        }
        Err(_) if !args.verbose => {
            show_the_end(&harness.services);
            Vec::new()
        }
        Err(_) => Vec::new(),
    };
    let (ended, replica) = tokio::join!(harness.stop(GRACE), replica.stop(GRACE));
    let setup = setup_checks(healthy, &scenario, &outcomes, &ended);
    let mut evidence = Evidence {
        run_id,
        protocol,
        scenario,
        outcomes,
        console: console(&harness.services),
        replica,
        stub_url: harness.iss_api.url(),
        stub_calls: harness.iss_api.calls(),
        relayed: relays.calls(),
        server_addresses: server_addresses(&harness, &relays, &receiver),
        upstream_urls: relays.upstream_urls(harness.iss_api.url()),
        spans: Vec::new(),
        logs: Vec::new(),
        metrics: Vec::new(),
        collector: None,
    };
    late_telemetry(&mut evidence, &receiver.store(), args.section).await;
    Ok((setup, evidence))
}

/// The services' output was not shown: show the end of it, which says why they did not
/// start.
fn show_the_end(services: &Services) {
    for (name, output) in services.outputs() {
        let lines = output.lines();
        for line in &lines[lines.len().saturating_sub(15)..] {
            eprintln!("{name:>12} | {line}");
        }
    }
}

/// Each service's console output lines, by name.
fn console(services: &Services) -> BTreeMap<String, Vec<String>> {
    let outputs = services.outputs().into_iter();
    outputs
        .map(|(name, o)| (name.to_owned(), o.lines()))
        .collect()
}

/// The checks of the run itself: the services started, answered as expected, and stopped
/// cleanly.
fn setup_checks(
    healthy: anyhow::Result<()>,
    scenario: &Scenario,
    outcomes: &[scenario::Outcome],
    ended: &Ended,
) -> Vec<Check> {
    let wrong: Vec<String> = outcomes
        .iter()
        .filter(|o| !o.as_expected())
        .map(|o| match &o.answer {
            Ok(status) => format!(
                "{} answered {status}, expected {}",
                o.step.describe(),
                o.step.expected_status()
            ),
            Err(error) => format!("{}: {error}", o.step.describe()),
        })
        .collect();
    let answers = if outcomes.is_empty() {
        Err("not sent: the services did not start".to_owned())
    } else if wrong.is_empty() {
        Ok(())
    } else {
        Err(report::first(&wrong, 2))
    };
    let unclean: Vec<String> = ended
        .iter()
        .filter_map(|(name, status)| match status {
            Some(status) if status.success() => None,
            Some(status) => Some(format!("{name} exited with {status}")),
            None => Some(format!("{name} had to be killed")),
        })
        .collect();
    let output = "the services' output (run with --verbose)";
    let n = scenario.steps.len();
    vec![
        Check::new(
            "the services start and answer /healthz",
            output,
            healthy.map_err(|e| format!("{e:#}")),
        ),
        Check::new(
            format!("the scenario's {n} requests get the expected answers"),
            output,
            answers,
        ),
        Check::new(
            format!(
                "the services stop within {} s of SIGTERM and exit 0",
                GRACE.as_secs()
            ),
            "services/telemetry/src/lib.rs (shutdown)",
            if unclean.is_empty() {
                Ok(())
            } else {
                Err(unclean.join(", "))
            },
        ),
    ]
}

/// `127.0.0.1:<port>` of every server of the run: these may appear in logs.
fn server_addresses(harness: &Harness, relays: &relay::Relays, receiver: &Receiver) -> Vec<String> {
    let services = harness
        .ports
        .all()
        .map(|(_, port)| format!("127.0.0.1:{port}"));
    let others = [
        harness.iss_api.addr(),
        receiver.grpc_addr(),
        receiver.http_addr(),
    ];
    let others = others.into_iter().chain(relays.addrs());
    services
        .into_iter()
        .chain(others.map(|a| a.to_string()))
        .collect()
}

/// The telemetry that arrived. From section 1 on, waits (briefly) for late batches, until
/// everything expected is there; section 6 has a run of its own, later, so only what this
/// run can show is waited for.
async fn late_telemetry(evidence: &mut Evidence, store: &Store, section: u8) {
    if section >= 1 {
        let base = evidence.clone();
        let section = section.min(COLLECTOR_SECTION - 1);
        store
            .wait_until(LATE, |store| {
                let mut now = base.clone();
                now.refresh(store);
                all_pass(&now, section)
            })
            .await;
    }
    evidence.refresh(store);
}

/// How the services export: to `receiver` over `protocol`, metrics every half second, with
/// `resource_attributes` as `OTEL_RESOURCE_ATTRIBUTES`; plain console lines at `info`.
fn exporting(receiver: &Receiver, protocol: Protocol, resource_attributes: String) -> Env {
    let endpoint = match protocol {
        Protocol::Grpc => receiver.grpc_endpoint(),
        Protocol::Http => receiver.http_endpoint(),
    };
    harness::env([
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint),
        (
            "OTEL_EXPORTER_OTLP_PROTOCOL",
            evidence::protocol_name(protocol).to_owned(),
        ),
        ("OTEL_METRIC_EXPORT_INTERVAL", "500".to_owned()),
        ("OTEL_RESOURCE_ATTRIBUTES", resource_attributes),
        ("NO_COLOR", "1".to_owned()),
        ("RUST_LOG", "info".to_owned()),
    ])
}

/// `--verbose`: what arrived, for reading alongside the checklist.
fn arrived(evidence: &Evidence) -> String {
    use crate::inspect::lines;
    use std::fmt::Write;
    let mut out = String::from("What arrived\n");
    for outcome in &evidence.outcomes {
        let _ = writeln!(
            out,
            "  request {} → {}",
            outcome.step.describe(),
            outcome
                .answer
                .as_ref()
                .map_or_else(|e| e.clone(), |s| s.to_string())
        );
    }
    for (service, lines) in &evidence.console {
        let resource = lines
            .iter()
            .find(|l| l.contains(evidence::RESOURCE_MARKER))
            .map_or("(no resource line)", String::as_str);
        let _ = writeln!(out, "  console {service:>12}: {resource}");
    }
    let replica = evidence
        .replica
        .iter()
        .find(|l| l.contains(evidence::RESOURCE_MARKER))
        .map_or("(no resource line)", String::as_str);
    let _ = writeln!(out, "  console {:>12}: {replica}", scenario::REPLICA_NAME);
    for (n, call) in evidence.stub_calls.iter().enumerate() {
        let _ = writeln!(
            out,
            "  ISS API request {}: answered {}, traceparent {:?}, tracestate {:?}",
            n + 1,
            call.answer,
            call.traceparent,
            call.tracestate
        );
    }
    for call in &evidence.relayed {
        let _ = writeln!(
            out,
            "  call to {:>12}: traceparent {:?}, tracestate {:?}, baggage {:?}",
            call.to, call.traceparent, call.tracestate, call.baggage
        );
    }
    let spans = evidence.spans.iter().map(lines::span_line);
    let logs = evidence.logs.iter().map(lines::log_line);
    let metrics = evidence.metrics.iter().flat_map(lines::metric_lines);
    for line in spans.chain(logs).chain(metrics) {
        let _ = writeln!(out, "  {line}");
    }
    out.push('\n');
    out
}
