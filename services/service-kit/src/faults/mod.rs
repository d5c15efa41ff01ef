//! Faults on demand: what each fault of the [`faults`] catalogue does to the services, for
//! the workshop's troubleshooting chapter (`workshop/chapters/09-find-the-fault.md`).
//!
//! This is plumbing: no section of the workshop touches it, and it is off unless a switch
//! file is given (`WORKSHOP_FAULT_FILE`, which only `workshop up` sets; see [`switch`] and
//! the catalogue for why a file). Off, every hook below reads one atomic and does nothing.
//!
//! Each hook sits where a real bug of its kind would sit, so that the telemetry the
//! sections build shows it as it would show the real one, and nothing in it says "fault":
//!
//! - [`context`]: lost-context, a middleware in front of the SERVER span;
//! - [`lookups`]: slow-lookups and sign-bug, in geolocator's handler;
//! - [`calls`]: retry-storm, connection-leak and captive-portal, in [`crate::upstream`];
//! - [`memory`]: memory-leak, in the gateway's handler.
//!
//! A fault never stops a service or loses telemetry: the requests it touches end in a
//! delay, an error answer or a fallback, all bounded. Switching it off undoes what it kept
//! (the leaked connections, the remembered requests).

pub mod calls;
pub mod context;
pub mod lookups;
pub mod memory;
pub mod switch;

use std::sync::atomic::{AtomicU8, Ordering};

pub use ::faults::Fault;

/// The number of the fault that is on, or 0.
static ACTIVE: AtomicU8 = AtomicU8::new(0);

/// Whether `fault` is on in this process.
pub fn is_on(fault: Fault) -> bool {
    ACTIVE.load(Ordering::Relaxed) == fault.number()
}

/// The fault that is on in this process, if any.
pub fn active() -> Option<Fault> {
    Fault::from_number(ACTIVE.load(Ordering::Relaxed))
}

/// Switches `fault` on (or every fault off). What the fault that was on kept is given
/// back, and the fault that comes on starts afresh.
pub fn set(fault: Option<Fault>) {
    let new = fault.map_or(0, Fault::number);
    if ACTIVE.swap(new, Ordering::SeqCst) != new {
        calls::start_afresh();
        memory::forget();
    }
}

/// The faults are global to the process; tests that switch them take turns.
#[cfg(test)]
pub(crate) static TEST_TURNS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
