//! The benchmark's report: typed, serialised as one JSON object (`--json`, which the runs in
//! BENCHMARKS.md read) or written as a table, to any `Write`.

use std::collections::BTreeMap;
use std::io::{self, Write};

use otlp_receiver::{SignalStats, Stats};
use serde::Serialize;

use comfy_table::{CellAlignment, Table};

use super::cpu::{CpuSnapshot, MachineTicks, ticks_per_second};
use super::measure::Measurement;
use super::standins::RECEIVER_LIMITS;
use crate::latency::Latency;

#[derive(Serialize, Debug)]
pub struct Report {
    pub target: &'static str,
    pub connections: u32,
    pub warmup_seconds: f64,
    pub duration_seconds: f64,
    pub release: bool,
    /// The services' extra environment (`--env`).
    pub env: BTreeMap<String, String>,
    pub requests: u64,
    pub errors: u64,
    pub errors_by_kind: BTreeMap<String, u64>,
    pub requests_per_second: f64,
    pub latency_ms: Latency,
    /// In the order a request goes through them; the frontend is not on the path.
    pub services: Vec<Service>,
    pub workshop_cpu_seconds: WorkshopCpu,
    pub iss_stub_requests: u64,
    pub machine: Machine,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub receiver: Option<ReceiverReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blackhole: Option<BlackholeReport>,
    /// The workspace benchmarked.
    pub tree: String,
}

#[derive(Serialize, Debug)]
pub struct Service {
    pub name: &'static str,
    pub pid: u32,
    pub peak_rss_kib: Option<u64>,
    pub cpu_seconds: Option<f64>,
}

/// This process's CPU time, split: the stand-ins' threads, and the rest (the load).
#[derive(Serialize, Debug)]
pub struct WorkshopCpu {
    pub total: Option<f64>,
    pub iss_stub: Option<f64>,
    pub receiver: Option<f64>,
    pub load_generator: Option<f64>,
}

#[derive(Serialize, Debug)]
pub struct Machine {
    pub cpus: usize,
    #[serde(flatten)]
    pub busy: Option<MachineBusy>,
}

#[derive(Serialize, Debug)]
pub struct MachineBusy {
    pub busy_cpu_seconds: f64,
    pub busy_percent: f64,
    pub interrupts_cpu_seconds: f64,
    /// What processes other than the services and this one used meanwhile.
    pub other_processes_cpu_seconds: f64,
}

#[derive(Serialize, Debug)]
pub struct ReceiverReport {
    pub endpoint: String,
    pub protocol: &'static str,
    pub limits: ReceiverLimits,
    /// During the measurement.
    pub measured: Option<Received>,
    /// From the start to the services' stop (they flush as they stop).
    pub total: Option<Received>,
}

#[derive(Serialize, Debug)]
pub struct ReceiverLimits {
    pub max_spans: usize,
    pub max_logs: usize,
    pub max_metric_points: usize,
}

/// What a receiver got: counts since it started, or between two snapshots.
#[derive(Serialize, Debug, PartialEq)]
pub struct Received {
    pub export_requests: u64,
    pub spans: u64,
    pub logs: u64,
    pub metric_points: u64,
    pub evicted: u64,
    pub http_rejected: u64,
}

impl Received {
    pub fn between(after: &Stats, before: Option<&Stats>) -> Self {
        let zero = Stats::default();
        let before = before.unwrap_or(&zero);
        let signal = |a: &SignalStats, b: &SignalStats| a.received.total() - b.received.total();
        let evicted = |s: &Stats| s.spans.dropped + s.logs.dropped + s.metric_points.dropped;
        Received {
            export_requests: after.requests.total() - before.requests.total(),
            spans: signal(&after.spans, &before.spans),
            logs: signal(&after.logs, &before.logs),
            metric_points: signal(&after.metric_points, &before.metric_points),
            evicted: evicted(after) - evicted(before),
            http_rejected: after.http_rejected - before.http_rejected,
        }
    }
}

#[derive(Serialize, Debug)]
pub struct BlackholeReport {
    pub endpoint: String,
    pub connections_accepted: u64,
}

/// How the run was set up, for the report.
pub struct Setup<'a> {
    pub connections: u32,
    pub warmup_seconds: f64,
    pub duration_seconds: f64,
    pub release: bool,
    pub env: &'a [(String, String)],
    pub pids: &'a BTreeMap<&'static str, u32>,
    pub receiver_endpoint: Option<String>,
    pub tree: String,
}

impl Report {
    pub fn new(setup: &Setup, m: &Measurement) -> Self {
        let mut latencies = crate::latency::histogram();
        for latency in &m.latencies_us {
            latencies.saturating_record(*latency);
        }
        let requests = m.latencies_us.len() as u64 + m.errors.values().sum::<u64>();
        let services: Vec<Service> = ["gateway", "geolocator", "iss-distance", "frontend"]
            .into_iter()
            .map(|name| Service {
                name,
                pid: setup.pids.get(name).copied().unwrap_or(0),
                peak_rss_kib: m.rss_kib.get(name).copied().flatten(),
                cpu_seconds: cpu_seconds(
                    m.before.services.get(name).copied().flatten(),
                    m.after.services.get(name).copied().flatten(),
                ),
            })
            .collect();
        let workshop = WorkshopCpu::between(&m.before, &m.after);
        let ours = services.iter().filter_map(|s| s.cpu_seconds).sum::<f64>()
            + workshop.total.unwrap_or(0.0);
        Report {
            target: "GET /distance?location=<place> through the gateway",
            connections: setup.connections,
            warmup_seconds: setup.warmup_seconds,
            duration_seconds: setup.duration_seconds,
            release: setup.release,
            env: setup.env.iter().cloned().collect(),
            requests,
            errors: m.errors.values().sum(),
            errors_by_kind: m.errors.clone(),
            requests_per_second: round2(requests as f64 / setup.duration_seconds),
            latency_ms: Latency::of(&latencies),
            services,
            workshop_cpu_seconds: workshop,
            iss_stub_requests: m.stub_requests,
            machine: Machine {
                cpus: std::thread::available_parallelism().map_or(0, |n| n.get()),
                busy: (m.before.machine.zip(m.after.machine))
                    .map(|(before, after)| MachineBusy::between(before, after, ours)),
            },
            receiver: setup.receiver_endpoint.clone().map(|endpoint| {
                let measured = m.received.as_ref();
                ReceiverReport {
                    endpoint,
                    protocol: "http/protobuf",
                    limits: ReceiverLimits {
                        max_spans: RECEIVER_LIMITS.max_spans,
                        max_logs: RECEIVER_LIMITS.max_logs,
                        max_metric_points: RECEIVER_LIMITS.max_metric_points,
                    },
                    measured: measured
                        .map(|(before, after)| Received::between(after, Some(before))),
                    total: None,
                }
            }),
            blackhole: None,
            tree: setup.tree.clone(),
        }
    }

    /// The report as people read it: the figures, then a table of the processes.
    pub fn write_table(&self, out: &mut impl Write) -> io::Result<()> {
        let debug = if self.release { "" } else { " (debug builds)" };
        writeln!(
            out,
            "\nGET /distance through the gateway: {} connections, {} s measured after {} s warm-up{debug}",
            self.connections, self.duration_seconds, self.warmup_seconds,
        )?;
        if !self.env.is_empty() {
            let pairs: Vec<String> = self.env.iter().map(|(k, v)| format!("{k}={v}")).collect();
            writeln!(out, "services' extra environment: {}", pairs.join(" "))?;
        }
        let mut errors = self.errors.to_string();
        if self.errors > 0 {
            errors += &format!(" {}", serde_json::to_string(&self.errors_by_kind)?);
        }
        let l = &self.latency_ms;
        let latency = format!(
            "p50 {:.2} ms   p90 {:.2} ms   p99 {:.2} ms   max {:.2} ms",
            l.p50, l.p90, l.p99, l.max
        );
        let mut figures = table();
        figures.add_row(["requests", &self.requests.to_string()]);
        figures.add_row(["errors", &errors]);
        figures.add_row(["requests/s", &format!("{:.1}", self.requests_per_second)]);
        figures.add_row(["latency", &latency]);
        writeln!(
            out,
            "\n{}\n\n{}",
            indented(figures),
            indented(self.processes())
        )?;
        self.write_notes(out)
    }

    /// Each service's peak RSS and CPU time, then the CPU time of this process's parts.
    fn processes(&self) -> Table {
        let cpu = |v: Option<f64>| v.map_or("n/a".to_owned(), |s| format!("{s:.2} s"));
        let mut processes = table();
        processes.set_header(["process", "peak RSS", "CPU (measured)"]);
        for service in &self.services {
            let rss = (service.peak_rss_kib).map_or("n/a".to_owned(), |kib| {
                format!("{:.1} MiB", kib as f64 / 1024.0)
            });
            processes.add_row([service.name, &rss, &cpu(service.cpu_seconds)]);
        }
        let w = &self.workshop_cpu_seconds;
        processes.add_row(["load generator", "", &cpu(w.load_generator)]);
        processes.add_row(["ISS stub", "", &cpu(w.iss_stub)]);
        if w.receiver.is_some() {
            processes.add_row(["OTLP receiver", "", &cpu(w.receiver)]);
        }
        for column in 1..3 {
            if let Some(column) = processes.column_mut(column) {
                column.set_cell_alignment(CellAlignment::Right);
            }
        }
        processes
    }

    /// What the receiver got, what the blackhole took, and how busy the machine was.
    fn write_notes(&self, out: &mut impl Write) -> io::Result<()> {
        if let Some(r) = &self.receiver {
            for (what, counts) in [("measured", &r.measured), ("in all", &r.total)] {
                if let Some(c) = counts {
                    writeln!(
                        out,
                        "\n  receiver got ({what}): {} spans, {} log records, {} metric points in \
                         {} export requests",
                        c.spans, c.logs, c.metric_points, c.export_requests
                    )?;
                }
            }
        }
        if let Some(b) = &self.blackhole {
            writeln!(
                out,
                "\n  blackhole {}: accepted {} connections, answered none",
                b.endpoint, b.connections_accepted
            )?;
        }
        if let Some(busy) = &self.machine.busy {
            writeln!(
                out,
                "\n  machine: {} CPUs, {:.0}% busy during the measurement; interrupts (loopback \
                 networking) {:.2} CPU s, other processes {:.2} CPU s",
                self.machine.cpus,
                busy.busy_percent,
                busy.interrupts_cpu_seconds,
                busy.other_processes_cpu_seconds
            )?;
        }
        Ok(())
    }
}

impl WorkshopCpu {
    fn between(before: &CpuSnapshot, after: &CpuSnapshot) -> Self {
        let total = cpu_seconds(before.workshop, after.workshop);
        let iss_stub = cpu_seconds(before.stub, after.stub);
        let receiver = cpu_seconds(before.receiver, after.receiver);
        let rest = |(w, s): (f64, f64)| round2((w - s - receiver.unwrap_or(0.0)).max(0.0));
        WorkshopCpu {
            total,
            iss_stub,
            receiver,
            load_generator: total.zip(iss_stub).map(rest),
        }
    }
}

impl MachineBusy {
    /// `ours`: the CPU seconds of the services and of this process meanwhile.
    fn between(before: MachineTicks, after: MachineTicks, ours: f64) -> Self {
        let hz = ticks_per_second();
        let busy = after.busy.saturating_sub(before.busy) as f64 / hz;
        let total = after.total.saturating_sub(before.total) as f64 / hz;
        let interrupts = after.interrupts.saturating_sub(before.interrupts) as f64 / hz;
        MachineBusy {
            busy_cpu_seconds: round2(busy),
            busy_percent: if total > 0.0 {
                round2(100.0 * busy / total)
            } else {
                0.0
            },
            interrupts_cpu_seconds: round2(interrupts),
            other_processes_cpu_seconds: round2((busy - interrupts - ours).max(0.0)),
        }
    }
}

/// The CPU seconds between two tick counts, when both were read.
fn cpu_seconds(before: Option<u64>, after: Option<u64>) -> Option<f64> {
    Some(round2(
        after?.saturating_sub(before?) as f64 / ticks_per_second(),
    ))
}

/// A table without borders.
fn table() -> Table {
    let mut table = Table::new();
    table.load_style(comfy_table::presets::NOTHING);
    table
}

/// The table indented under its title, as the rest of the workshop's output.
fn indented(mut table: Table) -> String {
    if let Some(first) = table.column_mut(0) {
        first.set_padding((2, 1));
    }
    table.trim_fmt()
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::super::cpu::MachineTicks;
    use super::*;

    /// A measurement of 100 answers of 1 to 100 ms and two 503s, with the CPU snapshots
    /// 2 s of ticks apart for the gateway.
    fn measurement(machine: bool) -> Measurement {
        let hz = ticks_per_second() as u64;
        let snapshot = |gateway: u64, workshop: u64, busy: u64| CpuSnapshot {
            services: BTreeMap::from([("gateway", Some(gateway))]),
            workshop: Some(workshop),
            stub: Some(0),
            receiver: None,
            machine: machine.then_some(MachineTicks {
                busy,
                total: busy * 2,
                interrupts: 0,
            }),
        };
        Measurement {
            latencies_us: (1..=100).map(|ms| ms * 1000).collect(),
            errors: BTreeMap::from([("503".to_owned(), 2)]),
            stub_requests: 7,
            rss_kib: BTreeMap::from([("gateway", Some(2048))]),
            before: snapshot(0, 0, 0),
            after: snapshot(2 * hz, hz, 4 * hz),
            received: None,
        }
    }

    fn report(machine: bool) -> Report {
        let pids = BTreeMap::from([("gateway", 42)]);
        let env = [("RUST_LOG".to_owned(), "warn".to_owned())];
        let setup = Setup {
            connections: 4,
            warmup_seconds: 1.0,
            duration_seconds: 10.0,
            release: true,
            env: &env,
            pids: &pids,
            receiver_endpoint: None,
            tree: "/tmp/tree".into(),
        };
        Report::new(&setup, &measurement(machine))
    }

    #[test]
    fn the_json_keeps_the_names_the_benchmark_scripts_read() {
        let json = serde_json::to_value(report(true)).unwrap();
        assert_eq!(json["requests"], 102);
        assert_eq!(json["errors"], 2);
        assert_eq!(json["errors_by_kind"]["503"], 2);
        assert_eq!(json["requests_per_second"], 10.2);
        // By nearest rank, to three significant digits.
        assert_eq!(json["latency_ms"]["p50"], 50.02);
        assert_eq!(json["latency_ms"]["max"], 100.03);
        assert_eq!(json["env"]["RUST_LOG"], "warn");
        assert_eq!(json["services"][0]["name"], "gateway");
        assert_eq!(json["services"][0]["cpu_seconds"], 2.0);
        assert_eq!(json["services"][0]["peak_rss_kib"], 2048);
        assert_eq!(json["services"][1]["cpu_seconds"], serde_json::Value::Null);
        assert_eq!(json["workshop_cpu_seconds"]["load_generator"], 1.0);
        assert_eq!(json["machine"]["busy_percent"], 50.0);
        assert_eq!(json["machine"]["other_processes_cpu_seconds"], 1.0);
        assert!(json.get("receiver").is_none() && json.get("blackhole").is_none());
        // Without /proc/stat the machine says only how many CPUs it has.
        let json = serde_json::to_value(report(false)).unwrap();
        assert!(json["machine"]["cpus"].is_number());
        assert!(json["machine"].get("busy_percent").is_none(), "{json}");
    }

    #[test]
    fn the_table_reads_the_same_figures() {
        let mut out = Vec::new();
        report(true).write_table(&mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        // The number of CPUs is this machine's.
        let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
        let text = text.replace(&format!("machine: {cpus} CPUs"), "machine: N CPUs");
        insta::assert_snapshot!(text);
    }
}
