//! The four services together: over HTTP, and in a real browser.
//!
//! One test binary for the crate (as ripgrep's `tests/tests.rs`): each file below is a
//! module, so the dependencies are linked once, not once per file. `cargo nextest run -p
//! e2e-tests MODULE::` runs one module's tests.

// The four services together, over real HTTP, with a stub ISS API.
mod api;
// The frontend in a real headless browser.
mod browser;
