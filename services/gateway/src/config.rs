//! gateway's settings, from environment variables (defaults in brackets):
//! `GATEWAY_PORT` [5001], `BIND_ADDR` [127.0.0.1], `GEOLOCATOR_URL`
//! [http://127.0.0.1:5002], `ISS_DISTANCE_URL` [http://127.0.0.1:5003],
//! `UPSTREAM_TIMEOUT_MS` [5000], `HTTP_CONNECT_TIMEOUT_MS` [1000].

use std::net::SocketAddr;
use std::time::Duration;

use service_kit::config::{self, ConfigError, Timeouts};
use url::Url;

pub const DEFAULT_PORT: u16 = 5001;

#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub geolocator: Url,
    pub iss_distance: Url,
    pub timeouts: Timeouts,
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Ok(Self {
            listen: config::listen_addr("GATEWAY_PORT", DEFAULT_PORT)?,
            geolocator: config::url("GEOLOCATOR_URL", "http://127.0.0.1:5002")?,
            iss_distance: config::url("ISS_DISTANCE_URL", "http://127.0.0.1:5003")?,
            // Longer than iss-distance's own ISS API timeout, so that it has time to fall
            // back to its orbital model before we give up on it.
            timeouts: Timeouts::from_env("UPSTREAM_TIMEOUT_MS", Duration::from_secs(5))?,
        })
    }
}
