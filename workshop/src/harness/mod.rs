//! What a run of the services starts, in one place for `check`, `check 6`, `bench`, `up`
//! and the integration tests:
//!
//! - [`Services`]: the four services as child processes, on sockets held from the start,
//!   wired to each other, their output kept (and shown, if asked);
//! - [`IssApi`]: a stand-in for the ISS API, scriptable and recording; [`Blackhole`]: a
//!   collector that never answers;
//! - [`Harness`]: the services wired to the stand-in, as `check`, `bench` and the tests run
//!   them (`up` runs [`Services`] against the real ISS API).
//!
//! Everything stops when dropped: the services are killed, the stand-ins stop serving.
//! [`Harness::stop`] stops the services gracefully instead and says how each ended. Where
//! their telemetry goes (an OTLP receiver, the real collector, a blackhole) is the caller's:
//! declared before the harness, it is dropped after it, and receives what the services flush
//! as they stop.

mod services;
mod standins;

use std::time::Duration;

pub use crate::build::{Binaries, build_services_with};
pub use crate::ports::{Ports, Sockets};
pub use platform_live::process::Output;
pub use services::{Ended, Options, Services};
pub use standins::{Blackhole, GARBAGE_LONGITUDE, IssAnswer, IssApi, IssCall, LATITUDE, LONGITUDE};

/// A process's environment: names and values, a later pair winning over an earlier one.
pub type Env = Vec<(String, String)>;

/// `pairs` as an [`Env`].
pub fn env<'a>(pairs: impl IntoIterator<Item = (&'a str, String)>) -> Env {
    pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

/// The environment that wires the services to each other on `ports`.
pub fn wiring(ports: &Ports) -> Env {
    let url = |port: u16| format!("http://127.0.0.1:{port}");
    env([
        ("BIND_ADDR", "127.0.0.1".into()),
        ("FRONTEND_PORT", ports.frontend.to_string()),
        ("GATEWAY_PORT", ports.gateway.to_string()),
        ("GEOLOCATOR_PORT", ports.geolocator.to_string()),
        ("ISS_DISTANCE_PORT", ports.iss_distance.to_string()),
        ("GATEWAY_URL", url(ports.gateway)),
        ("GEOLOCATOR_URL", url(ports.geolocator)),
        ("ISS_DISTANCE_URL", url(ports.iss_distance)),
    ])
}

/// The four services, wired to each other and to a stand-in for the ISS API.
pub struct Harness {
    pub ports: Ports,
    /// Declared before the stand-in, so dropped (killed) first.
    pub services: Services,
    pub iss_api: IssApi,
}

impl Harness {
    /// Starts the ISS API stand-in, then the services on `sockets`, with the wiring, the
    /// stand-in's variables and `env` (which wins over both), without waiting for them.
    pub fn start(
        binaries: &Binaries,
        sockets: Sockets,
        env: Env,
        options: Options,
    ) -> anyhow::Result<Harness> {
        let ports = sockets.ports();
        let iss_api = IssApi::start()?;
        let mut all = wiring(&ports);
        all.extend(iss_api.env());
        all.extend(env);
        let services = Services::start(binaries, sockets, &all, options)?;
        Ok(Harness {
            ports,
            services,
            iss_api,
        })
    }

    /// `http://127.0.0.1:<port of service><path>`.
    pub fn url(&self, service: &str, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.ports.of(service))
    }

    pub async fn wait_healthy(&mut self, timeout: Duration) -> anyhow::Result<()> {
        self.services.wait_healthy(timeout).await
    }

    /// Stops the services gracefully (see [`Services::stop`]); the stand-in serves until
    /// the harness is dropped.
    pub async fn stop(&mut self, grace: Duration) -> Ended {
        self.services.stop(grace).await
    }
}

/// `bytes` (7 to 16) random bytes as lower-case hex, never all zeros: a W3C trace id (16
/// bytes) or span id (8). From a version-4 UUID, whose seventh byte holds the version, 4
/// (uuid is on the attendee's build already, for section 0).
pub fn random_hex(bytes: usize) -> String {
    let hex = uuid::Uuid::new_v4().simple().to_string();
    hex[..bytes.clamp(7, 16) * 2].to_owned()
}
