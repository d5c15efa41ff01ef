//! What processes used, from `/proc` (Linux): CPU time in the system's clock ticks (its
//! rate read with `sysconf`, never assumed), peak memory, and which processes are whose
//! children. Off Linux every figure is `None`.
//!
//! Hand-written rather than the procfs crate: these few fields of `stat`, `status` and
//! `/proc/stat` take a page, and procfs would add itself, procfs-core and more of rustix to
//! the build that `workshop prepare` makes on every attendee's machine.

use std::time::Duration;

/// `/proc/<pid>/stat` (or a thread's): the command name and the fields after it, the state
/// first. The name may hold spaces and parentheses; it ends at the last `)`.
fn stat(path: &str) -> Option<(String, Vec<String>)> {
    let stat = std::fs::read_to_string(path).ok()?;
    let (head, tail) = stat.rsplit_once(')')?;
    let comm = head.split_once('(')?.1.to_owned();
    Some((comm, tail.split_whitespace().map(str::to_owned).collect()))
}

/// User plus system CPU time of a process or thread, in clock ticks: `utime` and `stime`,
/// fields 14 and 15 of proc(5), so 12 and 13 after the command name.
fn ticks(path: &str) -> Option<u64> {
    let (_, fields) = stat(path)?;
    let field = |n: usize| fields.get(n)?.parse::<u64>().ok();
    Some(field(11)? + field(12)?)
}

/// The system's clock ticks per second (`_SC_CLK_TCK`).
pub fn ticks_per_second() -> f64 {
    #[cfg(unix)]
    if let Ok(Some(ticks)) = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        && ticks > 0
    {
        return ticks as f64;
    }
    100.0
}

/// A process's CPU time so far, in clock ticks.
pub fn cpu_ticks(pid: u32) -> Option<u64> {
    ticks(&format!("/proc/{pid}/stat"))
}

/// A process's CPU time so far.
pub fn cpu_time(pid: u32) -> Option<Duration> {
    cpu_ticks(pid).map(|t| Duration::from_secs_f64(t as f64 / ticks_per_second()))
}

/// The CPU time of one of this process's threads (0: not known), in clock ticks.
pub fn thread_ticks(thread_id: i64) -> Option<u64> {
    match thread_id {
        0 => None,
        tid => ticks(&format!("/proc/self/task/{tid}/stat")),
    }
}

/// The calling thread's id, for [`thread_ticks`] (0 off Linux).
pub fn current_thread_id() -> i64 {
    #[cfg(target_os = "linux")]
    return i64::from(nix::unistd::gettid().as_raw());
    #[cfg(not(target_os = "linux"))]
    0
}

/// The whole machine's CPU time, in clock ticks, from `/proc/stat`.
#[derive(Clone, Copy, Debug)]
pub struct MachineTicks {
    pub busy: u64,
    pub total: u64,
    /// Interrupt handling, which no process is charged for: on loopback, most of the
    /// network stack's work runs in softirq context.
    pub interrupts: u64,
}

pub fn machine_ticks() -> Option<MachineTicks> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let values: Vec<u64> = (stat.lines().next()?.split_whitespace().skip(1))
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

/// A process's peak resident set size in KiB (`VmHWM`).
pub fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Whether `pid` runs: it exists and is not a zombie waiting to be reaped.
pub fn alive(pid: u32) -> bool {
    stat(&format!("/proc/{pid}/stat"))
        .is_some_and(|(_, fields)| fields.first().is_some_and(|s| s != "Z"))
}

/// The pids of `parent`'s children.
pub fn children(parent: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let pids = entries
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse().ok());
    pids.filter(|pid: &u32| {
        stat(&format!("/proc/{pid}/stat"))
            .is_some_and(|(_, fields)| fields.get(1) == Some(&parent.to_string()))
    })
    .collect()
}
