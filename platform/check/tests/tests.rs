//! The platform's files, checked without Docker.
//!
//! One test binary for the crate (as ripgrep's `tests/tests.rs`): each file below is a
//! module, so the dependencies are linked once, not once per file. `cargo nextest run -p
//! platform-check MODULE::` runs one module's tests.

// The checks are only worth something if they can fail.
mod checks_can_fail;
// Grafana provisioning.
mod grafana;
// docker-compose.yml and the configs under platform/, checked without Docker.
mod platform;
// docker-compose.room.yml and the room's collector overlay, checked without Docker.
mod room;
// docker-compose-services.yml and services/Dockerfile, checked without Docker.
mod services_compose;
