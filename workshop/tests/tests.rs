//! The `workshop` command's integration tests: each runs the real `workshop` binary, the
//! services or the platform's programs.
//!
//! One test binary for the crate (as ripgrep's `tests/tests.rs`): each file below is a
//! module, so the dependencies are linked once, not once per file. `cargo nextest run -p
//! workshop MODULE::` runs one module's tests, e.g. `cargo nextest run -p workshop sections::`.

// Helpers shared by the modules: the repository, the services' builds, free ports (`common`);
// the live platform's programs and stand-ins (`live`); what the services' telemetry shows
// of a fault (`fault_evidence`).
mod common;
#[cfg(unix)]
mod fault_evidence;
#[cfg(unix)]
mod live;

// `workshop bench` end to end: builds, loads the gateway, reports.
mod bench;
// The chapters stay true to the code and to the repository.
mod chapters;
// `workshop check` for real, on the services and on broken ones.
mod check;
// `workshop doctor` against stand-ins for the platform.
mod doctor;
// What the chapters and the platform's docs say about the tools, held to the pinned versions.
mod facts;
// `workshop fault`: a whole round on a switch file, and with `workshop up`.
mod fault_command;
// Every fault is found by the troubleshooting chapter's route while on, and not before or after.
mod faults;
// The reference implementation (every section applied) under stress.
mod final_state;
// A service listens on the socket it is handed (`LISTEN_FDS`).
mod handover;
// `workshop inspect` as a real process, fed by our services and by Python's SDK.
mod inspect;
// The troubleshooting chapter's worked example through the real collector and Prometheus.
mod live_faults;
// What a collector outage costs the services' exports, and what the SDK's retries save.
mod live_outage;
// The platform, live: the real Collector, Prometheus and Jaeger; every query of the files.
mod live_platform;
// The room, live: `room init` and `room serve`, attendees' exporters over TLS with their tokens.
#[cfg(all(target_os = "linux", feature = "room"))]
mod live_room;
// Section 6's config, live, at the SDK's default export delay: the service graph before
// sampling, and the waits that keep traces whole.
mod live_sampling;
// `workshop load` against a stand-in gateway.
mod load;
// Chapter 00's preparation compiles everything the day runs; the day compiles only edits.
#[cfg(unix)]
mod preparation;
// The README stays true: links and commands.
mod readme;
// `workshop room init`: tokens, join files and certificates, read back as their users read
// them (with `--features room`); and the platform's room settings, statically.
mod room;
// Realistic mistakes in the sections' code: each fails `check N` alone, on the right lines.
mod mistakes;
// The workshop's promise: `check N` fails before section N and passes after it.
mod sections;
// `workshop branches` and `workshop solve`, on a clone of this repository.
mod steps;
// `workshop up` for real: start, serve, stop on Ctrl-C.
mod up;
// This list itself: every file of tests/ is one of the modules above.
mod test_files;
