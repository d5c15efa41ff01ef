//! Where the CPU time went, from `/proc` (Linux): each service's, this process's and its
//! threads', the whole machine's, and each service's peak memory. Off Linux every figure is
//! `None` and the report says "n/a".

use std::collections::BTreeMap;

use anyhow::bail;

use crate::build::SERVICES;

/// The four services' pids, by name: our children whose command name is a service's.
pub fn service_pids() -> anyhow::Result<BTreeMap<&'static str, u32>> {
    let mut pids = BTreeMap::new();
    if !cfg!(target_os = "linux") {
        return Ok(pids);
    }
    let me = std::process::id();
    for entry in std::fs::read_dir("/proc")?.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Some((comm, fields)) = proc_stat(&format!("/proc/{pid}/stat")) else {
            continue;
        };
        if fields.get(1).and_then(|f| f.parse::<u32>().ok()) != Some(me) {
            continue;
        }
        if let Some(name) = SERVICES.iter().find(|s| **s == comm) {
            pids.insert(*name, pid);
        }
    }
    if pids.len() != SERVICES.len() {
        bail!("found the processes of {pids:?} only, expected all four services");
    }
    Ok(pids)
}

/// `/proc/<pid>/stat`: the command name and the fields after it (state is the first).
fn proc_stat(path: &str) -> Option<(String, Vec<String>)> {
    let stat = std::fs::read_to_string(path).ok()?;
    let (head, tail) = stat.rsplit_once(')')?;
    let comm = head.split_once('(')?.1.to_owned();
    Some((comm, tail.split_whitespace().map(str::to_owned).collect()))
}

/// User plus system CPU time of a process or thread, in clock ticks.
fn cpu_ticks(path: &str) -> Option<u64> {
    let (_, fields) = proc_stat(path)?;
    // utime and stime are fields 14 and 15 of stat(5); 12 and 13 after the command name.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// A process's CPU time, in clock ticks.
pub fn process_ticks(pid: u32) -> Option<u64> {
    cpu_ticks(&format!("/proc/{pid}/stat"))
}

/// One of this process's threads' CPU time (0: not known), in clock ticks.
pub fn thread_ticks(thread_id: i64) -> Option<u64> {
    match thread_id {
        0 => None,
        tid => cpu_ticks(&format!("/proc/self/task/{tid}/stat")),
    }
}

/// The calling thread's id, for [`thread_ticks`] (0 off Linux).
#[cfg(target_os = "linux")]
pub fn current_thread_id() -> i64 {
    i64::from(nix::unistd::gettid().as_raw())
}

#[cfg(not(target_os = "linux"))]
pub fn current_thread_id() -> i64 {
    0
}

/// The whole machine's CPU time, in clock ticks, from `/proc/stat`.
#[derive(Clone, Copy)]
pub struct MachineTicks {
    pub busy: u64,
    pub total: u64,
    /// Interrupt handling, which no process is charged for: on loopback, most of the
    /// network stack's work runs in softirq context.
    pub interrupts: u64,
}

fn machine_ticks() -> Option<MachineTicks> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().next()?;
    let values: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .take(8)
        .filter_map(|v| v.parse().ok())
        .collect();
    let [user, nice, system, idle, iowait, irq, softirq, steal] = values[..] else {
        return None;
    };
    let busy = user + nice + system + irq + softirq + steal;
    Some(MachineTicks {
        busy,
        total: busy + idle + iowait,
        interrupts: irq + softirq,
    })
}

pub fn ticks_per_second() -> f64 {
    #[cfg(unix)]
    if let Ok(Some(ticks)) = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        && ticks > 0
    {
        return ticks as f64;
    }
    100.0
}

/// A service's peak resident set size in KiB (`VmHWM`), on Linux.
pub fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// CPU time of everything that takes part, read at the start and at the end of the
/// measurement.
pub struct CpuSnapshot {
    pub services: BTreeMap<&'static str, Option<u64>>,
    pub workshop: Option<u64>,
    pub stub: Option<u64>,
    pub receiver: Option<u64>,
    pub machine: Option<MachineTicks>,
}

impl CpuSnapshot {
    /// Now, for the services' `pids` and the stand-ins' threads (their ids, 0 if none).
    pub fn take(
        pids: &BTreeMap<&'static str, u32>,
        stub_thread: i64,
        receiver_thread: i64,
    ) -> Self {
        Self {
            services: pids
                .iter()
                .map(|(name, pid)| (*name, process_ticks(*pid)))
                .collect(),
            workshop: cpu_ticks("/proc/self/stat"),
            stub: thread_ticks(stub_thread),
            receiver: thread_ticks(receiver_thread),
            machine: machine_ticks(),
        }
    }
}
