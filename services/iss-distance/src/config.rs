//! iss-distance's settings, from environment variables (defaults in brackets):
//! `ISS_DISTANCE_PORT` [5003], `BIND_ADDR` [127.0.0.1], `ISS_API_URL`
//! [http://api.open-notify.org/iss-now.json], `ISS_SOURCE` [auto], `ISS_API_TIMEOUT_MS`
//! [1500], `HTTP_CONNECT_TIMEOUT_MS` [1000], `ISS_TLE` or `ISS_TLE_FILE` to replace the
//! embedded two-line element set, and how gently the API is asked (see [`crate::memory`]):
//! `ISS_API_MAX_AGE_MS` [1000], `ISS_API_BACKOFF_MS` [1000], `ISS_API_BACKOFF_MAX_MS`
//! [30000], each 0 to turn it off.

use std::net::SocketAddr;
use std::time::Duration;

use service_kit::config::{self, ConfigError, Timeouts};
use url::Url;

use crate::backoff::Backoff;
use crate::memory::Courtesy;
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
    /// How often the API is asked, and how long it is left alone after failures.
    pub courtesy: Courtesy,
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
            courtesy: courtesy_from_env()?,
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

fn courtesy_from_env() -> Result<Courtesy, ConfigError> {
    let defaults = Courtesy::default();
    let first = config::parse_or(
        "ISS_API_BACKOFF_MS",
        defaults.backoff.first,
        parse_millis_or_off,
    )?;
    let max_variable = "ISS_API_BACKOFF_MAX_MS";
    let max = config::parse_or(max_variable, defaults.backoff.max, parse_millis_or_off)?;
    if max < first {
        return Err(ConfigError {
            variable: max_variable,
            value: max.as_millis().to_string(),
            problem: format!(
                "must be at least ISS_API_BACKOFF_MS ({})",
                first.as_millis()
            ),
        });
    }
    Ok(Courtesy {
        max_age: config::parse_or("ISS_API_MAX_AGE_MS", defaults.max_age, parse_millis_or_off)?,
        backoff: Backoff { first, max },
    })
}

/// The longest setting accepted: an hour. Anything longer is surely a typo (seconds
/// for milliseconds is only a factor of 1000).
const LONGEST: Duration = Duration::from_secs(3600);

/// Milliseconds from 0 (off) to an hour.
pub fn parse_millis_or_off(value: &str) -> Result<Duration, String> {
    match value.parse::<u64>().map(Duration::from_millis) {
        Ok(duration) if duration <= LONGEST => Ok(duration),
        _ => Err(format!(
            "expected a whole number of milliseconds from 0 (off) to {}",
            LONGEST.as_millis()
        )),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn courtesy_settings_are_milliseconds_from_zero_to_an_hour() {
        assert_eq!(parse_millis_or_off("0"), Ok(Duration::ZERO));
        assert_eq!(parse_millis_or_off("1000"), Ok(Duration::from_secs(1)));
        assert_eq!(parse_millis_or_off("3600000"), Ok(LONGEST));
        for bad in ["3600001", "-1", "1.5", "1s", "soon"] {
            assert_eq!(
                parse_millis_or_off(bad),
                Err("expected a whole number of milliseconds from 0 (off) to 3600000".into()),
                "{bad}"
            );
        }
    }
}
