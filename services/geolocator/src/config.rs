//! geolocator's settings, from environment variables (defaults in brackets):
//! `GEOLOCATOR_PORT` [5002], `BIND_ADDR` [127.0.0.1], `GEOCODER` [gazetteer] or
//! `nominatim`, `NOMINATIM_URL` [https://nominatim.openstreetmap.org],
//! `NOMINATIM_USER_AGENT`, `NOMINATIM_TIMEOUT_MS` [5000], `HTTP_CONNECT_TIMEOUT_MS` [1000].

use std::net::SocketAddr;
use std::time::Duration;

use service_kit::config::{self, ConfigError, Timeouts};
use url::Url;

pub const DEFAULT_PORT: u16 = 5002;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// The embedded GeoNames gazetteer: offline, instant.
    Gazetteer,
    /// OpenStreetMap Nominatim: online, any address, one request a second.
    Nominatim,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub backend: Backend,
    pub nominatim_url: Url,
    pub nominatim_user_agent: String,
    pub timeouts: Timeouts,
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        let backends = [
            ("gazetteer", Backend::Gazetteer),
            ("nominatim", Backend::Nominatim),
        ];
        Self {
            listen: config::listen_addr("GEOLOCATOR_PORT", DEFAULT_PORT)?,
            backend: config::choice("GEOCODER", Backend::Gazetteer, &backends)?,
            nominatim_url: config::url("NOMINATIM_URL", "https://nominatim.openstreetmap.org")?,
            nominatim_user_agent: config::var("NOMINATIM_USER_AGENT")
                .unwrap_or_else(default_user_agent),
            timeouts: Timeouts::from_env("NOMINATIM_TIMEOUT_MS", Duration::from_secs(5))?,
        }
        .check_tls()
    }

    /// An https:// Nominatim needs the `tls` feature; say so at start-up, not on the first
    /// request.
    fn check_tls(self) -> Result<Self, ConfigError> {
        let needs_tls =
            self.backend == Backend::Nominatim && self.nominatim_url.scheme() == "https";
        if needs_tls && !cfg!(feature = "tls") {
            return Err(ConfigError {
                variable: "NOMINATIM_URL",
                value: self.nominatim_url.to_string(),
                problem: "https needs TLS: build geolocator with `--features geolocator/tls`"
                    .into(),
            });
        }
        Ok(self)
    }
}

/// Nominatim wants to know who is calling; name the application and where it comes from.
fn default_user_agent() -> String {
    format!(
        "iss-workshop-geolocator/{} (OpenTelemetry workshop for Rust)",
        env!("CARGO_PKG_VERSION")
    )
}
