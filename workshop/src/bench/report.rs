//! The benchmark's report: typed, serialised as one JSON object (`--json`, which the runs in
//! BENCHMARKS.md read) or written as a table, to any `Write`.

use std::collections::BTreeMap;
use std::io::{self, Write};

use otlp_receiver::{SignalStats, Stats};
use serde::Serialize;

use super::cpu::{CpuSnapshot, ticks_per_second};
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
        let ok = m.latencies_us.len() as u64;
        let error_count: u64 = m.errors.values().sum();
        let seconds = setup.duration_seconds;
        let hz = ticks_per_second();
        let cpu = |b: Option<u64>, a: Option<u64>| match (b, a) {
            (Some(b), Some(a)) => Some(round2(a.saturating_sub(b) as f64 / hz)),
            _ => None,
        };
        let (before, after): (&CpuSnapshot, &CpuSnapshot) = (&m.before, &m.after);
        let mut ours = 0.0;
        let services = ["gateway", "geolocator", "iss-distance", "frontend"]
            .into_iter()
            .map(|name| {
                let cpu_seconds = cpu(
                    before.services.get(name).copied().flatten(),
                    after.services.get(name).copied().flatten(),
                );
                ours += cpu_seconds.unwrap_or(0.0);
                Service {
                    name,
                    pid: setup.pids.get(name).copied().unwrap_or(0),
                    peak_rss_kib: m.rss_kib.get(name).copied().flatten(),
                    cpu_seconds,
                }
            })
            .collect();
        let workshop = cpu(before.workshop, after.workshop);
        let stub = cpu(before.stub, after.stub);
        let receiver = cpu(before.receiver, after.receiver);
        ours += workshop.unwrap_or(0.0);
        let busy = before.machine.zip(after.machine).map(|(b, a)| {
            let busy = a.busy.saturating_sub(b.busy) as f64 / hz;
            let total = a.total.saturating_sub(b.total) as f64 / hz;
            let interrupts = a.interrupts.saturating_sub(b.interrupts) as f64 / hz;
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
        });
        let latencies = &m.latencies_us;
        Report {
            target: "GET /distance?location=<place> through the gateway",
            connections: setup.connections,
            warmup_seconds: setup.warmup_seconds,
            duration_seconds: seconds,
            release: setup.release,
            env: setup.env.iter().cloned().collect(),
            requests: ok + error_count,
            errors: error_count,
            errors_by_kind: m.errors.clone(),
            requests_per_second: round2((ok + error_count) as f64 / seconds),
            latency_ms: Latency::from_micros(
                |q| quantile(latencies, q),
                latencies.last().copied().unwrap_or(0),
            ),
            services,
            workshop_cpu_seconds: WorkshopCpu {
                total: workshop,
                iss_stub: stub,
                receiver,
                load_generator: workshop
                    .zip(stub)
                    .map(|(w, s)| round2((w - s - receiver.unwrap_or(0.0)).max(0.0))),
            },
            iss_stub_requests: m.stub_requests,
            machine: Machine {
                cpus: std::thread::available_parallelism().map_or(0, |n| n.get()),
                busy,
            },
            receiver: setup
                .receiver_endpoint
                .clone()
                .map(|endpoint| ReceiverReport {
                    endpoint,
                    protocol: "http/protobuf",
                    limits: ReceiverLimits {
                        max_spans: RECEIVER_LIMITS.max_spans,
                        max_logs: RECEIVER_LIMITS.max_logs,
                        max_metric_points: RECEIVER_LIMITS.max_metric_points,
                    },
                    measured: m
                        .received
                        .as_ref()
                        .map(|(before, after)| Received::between(after, Some(before))),
                    total: None,
                }),
            blackhole: None,
            tree: setup.tree.clone(),
        }
    }

    /// The report as a table.
    pub fn write_table(&self, out: &mut impl Write) -> io::Result<()> {
        let cpu = |v: Option<f64>| v.map_or("n/a".to_owned(), |s| format!("{s:.2} s"));
        writeln!(
            out,
            "\nGET /distance through the gateway: {} connections, {} s measured after {} s warm-up{}",
            self.connections,
            self.duration_seconds,
            self.warmup_seconds,
            if self.release { "" } else { " (debug builds)" }
        )?;
        if !self.env.is_empty() {
            let pairs: Vec<String> = self.env.iter().map(|(k, v)| format!("{k}={v}")).collect();
            writeln!(out, "services' extra environment: {}", pairs.join(" "))?;
        }
        writeln!(out)?;
        writeln!(out, "  requests      {}", self.requests)?;
        let errors_by_kind = if self.errors == 0 {
            String::new()
        } else {
            serde_json::to_string(&self.errors_by_kind).unwrap_or_default()
        };
        writeln!(out, "  errors        {} {errors_by_kind}", self.errors)?;
        writeln!(out, "  requests/s    {:.1}", self.requests_per_second)?;
        let l = &self.latency_ms;
        writeln!(
            out,
            "  latency       p50 {:.2} ms   p90 {:.2} ms   p99 {:.2} ms   max {:.2} ms",
            l.p50, l.p90, l.p99, l.max
        )?;
        writeln!(out)?;
        writeln!(
            out,
            "  {:<16} {:>12} {:>14}",
            "process", "peak RSS", "CPU (measured)"
        )?;
        for service in &self.services {
            let rss = service.peak_rss_kib.map_or("n/a".to_owned(), |kib| {
                format!("{:.1} MiB", kib as f64 / 1024.0)
            });
            writeln!(
                out,
                "  {:<16} {:>12} {:>14}",
                service.name,
                rss,
                cpu(service.cpu_seconds)
            )?;
        }
        let w = &self.workshop_cpu_seconds;
        writeln!(
            out,
            "  {:<16} {:>12} {:>14}",
            "load generator",
            "",
            cpu(w.load_generator)
        )?;
        writeln!(
            out,
            "  {:<16} {:>12} {:>14}",
            "ISS stub",
            "",
            cpu(w.iss_stub)
        )?;
        if w.receiver.is_some() {
            writeln!(
                out,
                "  {:<16} {:>12} {:>14}",
                "OTLP receiver",
                "",
                cpu(w.receiver)
            )?;
        }
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

/// The `q` quantile (0 to 1) of sorted values, by nearest rank.
fn quantile(sorted: &[u64], q: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::super::cpu::MachineTicks;
    use super::*;

    #[test]
    fn quantiles_by_nearest_rank() {
        let values: Vec<u64> = (1..=100).collect();
        assert_eq!(quantile(&values, 0.5), 50);
        assert_eq!(quantile(&values, 0.99), 99);
        assert_eq!(quantile(&values, 1.0), 100);
        assert_eq!(quantile(&[7], 0.99), 7);
        assert_eq!(quantile(&[], 0.5), 0);
    }

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
        assert_eq!(json["latency_ms"]["p50"], 50.0);
        assert_eq!(json["latency_ms"]["max"], 100.0);
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
        for line in [
            "4 connections, 10 s measured after 1 s warm-up",
            "services' extra environment: RUST_LOG=warn",
            "requests      102",
            "errors        2 {\"503\":2}",
            "p50 50.00 ms",
            "gateway               2.0 MiB         2.00 s",
            "geolocator                n/a            n/a",
            "machine: ",
        ] {
            assert!(text.contains(line), "{line:?} in\n{text}");
        }
    }
}
