//! frontend's settings, from environment variables (defaults in brackets):
//! `FRONTEND_PORT` [5000], `BIND_ADDR` [127.0.0.1], `GATEWAY_URL` [http://127.0.0.1:5001],
//! `GATEWAY_TIMEOUT_MS` [12000], `HTTP_CONNECT_TIMEOUT_MS` [1000].

use std::net::SocketAddr;
use std::time::Duration;

use service_kit::config::{self, ConfigError, Timeouts};
use url::Url;

pub const DEFAULT_PORT: u16 = 5000;

#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub gateway: Url,
    pub timeouts: Timeouts,
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Ok(Self {
            listen: config::listen_addr("FRONTEND_PORT", DEFAULT_PORT)?,
            gateway: config::url("GATEWAY_URL", "http://127.0.0.1:5001")?,
            // The gateway makes two calls of up to 5 s each; give it time to report which
            // one failed rather than timing out first.
            timeouts: Timeouts::from_env("GATEWAY_TIMEOUT_MS", Duration::from_secs(12))?,
        })
    }
}
