//! iss-distance's settings, from environment variables (defaults in brackets):
//! `ISS_DISTANCE_PORT` [5003], `BIND_ADDR` [127.0.0.1], `ISS_API_URL`
//! [http://api.open-notify.org/iss-now.json], `ISS_SOURCE` [auto], `ISS_API_TIMEOUT_MS`
//! [1500], `HTTP_CONNECT_TIMEOUT_MS` [1000], and `ISS_TLE` or `ISS_TLE_FILE` to replace the
//! embedded two-line element set.

use std::net::SocketAddr;
use std::time::Duration;

use service_kit::config::{self, ConfigError, Timeouts};
use url::Url;

use crate::orbit::OrbitalModel;
use crate::position::Source;

pub const DEFAULT_PORT: u16 = 5003;
pub const DEFAULT_ISS_API_URL: &str = "http://api.open-notify.org/iss-now.json";

#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub iss_api: Url,
    pub source: Source,
    pub timeouts: Timeouts,
    /// The orbital model, unless only the API is used.
    pub model: Option<OrbitalModel>,
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        let sources = [
            ("auto", Source::Auto),
            ("api", Source::Api),
            ("model", Source::Model),
        ];
        Self {
            listen: config::listen_addr("ISS_DISTANCE_PORT", DEFAULT_PORT)?,
            iss_api: config::url("ISS_API_URL", DEFAULT_ISS_API_URL)?,
            source: config::choice("ISS_SOURCE", Source::Auto, &sources)?,
            // Short: on bad wifi we would rather answer from the model than keep people waiting.
            timeouts: Timeouts::from_env("ISS_API_TIMEOUT_MS", Duration::from_millis(1500))?,
            model: None,
        }
        .with_model_from_env()
    }

    /// Loads the orbital model, unless only the API is used. A TLE that does not parse is a
    /// configuration error, reported at start-up rather than on the first fallback.
    fn with_model_from_env(mut self) -> Result<Self, ConfigError> {
        if self.source == Source::Api {
            return Ok(self);
        }
        let (variable, tle) = tle_from_env()?;
        let model = match &tle {
            Some(text) => OrbitalModel::from_tle(text),
            None => OrbitalModel::embedded(),
        };
        self.model = Some(model.map_err(|e| ConfigError {
            variable,
            value: tle.unwrap_or_else(|| "(embedded)".into()),
            problem: e.to_string(),
        })?);
        Ok(self)
    }
}

/// `ISS_TLE` holds the lines themselves (a literal `\n` between lines is accepted, for
/// environments that cannot hold newlines); `ISS_TLE_FILE` names a file holding them.
fn tle_from_env() -> Result<(&'static str, Option<String>), ConfigError> {
    if let Some(text) = config::var("ISS_TLE") {
        return Ok(("ISS_TLE", Some(text.replace("\\n", "\n"))));
    }
    let Some(path) = config::var("ISS_TLE_FILE") else {
        return Ok(("ISS_TLE", None));
    };
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok(("ISS_TLE_FILE", Some(text))),
        Err(e) => Err(ConfigError {
            variable: "ISS_TLE_FILE",
            value: path,
            problem: e.to_string(),
        }),
    }
}
