//! Where the CPU time went: each service's, this process's and its stand-ins' threads', and
//! the whole machine's, read from `/proc` by `platform_live::usage`. Off Linux every figure
//! is `None` and the report says "n/a".

use std::collections::BTreeMap;

pub use platform_live::usage::{MachineTicks, peak_rss_kib, ticks_per_second};
use platform_live::usage::{cpu_ticks, machine_ticks, thread_ticks};

/// CPU time of everything that takes part, in clock ticks, read at the start and at the
/// end of the measurement.
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
                .map(|(name, pid)| (*name, cpu_ticks(*pid)))
                .collect(),
            workshop: cpu_ticks(std::process::id()),
            stub: thread_ticks(stub_thread),
            receiver: thread_ticks(receiver_thread),
            machine: machine_ticks(),
        }
    }
}
