//! Configuration from environment variables.
//!
//! Every setting has a default that works natively on a laptop, and can be overridden by an
//! environment variable (the README lists them all). A bad value stops the service at start-up
//! with one line that names the variable, rather than failing later on the first request.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use url::Url;

/// A setting that could not be used, with the variable it came from.
#[derive(Debug, thiserror::Error)]
#[error("invalid {variable}={value:?}: {problem}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub value: String,
    pub problem: String,
}

/// The raw value of `variable`, or `None` when it is unset or blank.
pub fn var(variable: &str) -> Option<String> {
    std::env::var(variable)
        .ok()
        .filter(|v| !v.trim().is_empty())
}

/// Reads `variable` with `parse`, or returns `default` when it is unset.
pub fn parse_or<T>(
    variable: &'static str,
    default: T,
    parse: impl FnOnce(&str) -> Result<T, String>,
) -> Result<T, ConfigError> {
    let Some(value) = var(variable) else {
        return Ok(default);
    };
    parse(value.trim()).map_err(|problem| ConfigError {
        variable,
        value,
        problem,
    })
}

/// A TCP port from `variable`.
pub fn port(variable: &'static str, default: u16) -> Result<u16, ConfigError> {
    parse_or(variable, default, parse_port)
}

/// The address to listen on: `BIND_ADDR` (default 127.0.0.1, so nothing is exposed to the
/// conference wifi; containers set 0.0.0.0) and the port in `port_variable`.
pub fn listen_addr(
    port_variable: &'static str,
    default_port: u16,
) -> Result<SocketAddr, ConfigError> {
    let ip = parse_or("BIND_ADDR", IpAddr::V4(Ipv4Addr::LOCALHOST), parse_ip)?;
    Ok(SocketAddr::new(ip, port(port_variable, default_port)?))
}

/// An absolute `http://` or `https://` URL from `variable`.
pub fn url(variable: &'static str, default: &str) -> Result<Url, ConfigError> {
    let default = parse_url(default).expect("defaults are valid URLs");
    parse_or(variable, default, parse_url)
}

/// A duration in milliseconds from `variable`.
pub fn millis(variable: &'static str, default: Duration) -> Result<Duration, ConfigError> {
    parse_or(variable, default, parse_millis)
}

/// One of a fixed set of words from `variable`, case-insensitively.
pub fn choice<T: Copy>(
    variable: &'static str,
    default: T,
    choices: &[(&str, T)],
) -> Result<T, ConfigError> {
    parse_or(variable, default, |value| parse_choice(value, choices))
}

/// 1-65535: port 0 would pick a random port, which nobody could find.
pub fn parse_port(value: &str) -> Result<u16, String> {
    match value.parse::<u16>() {
        Ok(0) | Err(_) => Err("expected a port number from 1 to 65535".into()),
        Ok(port) => Ok(port),
    }
}

pub fn parse_ip(value: &str) -> Result<IpAddr, String> {
    value
        .parse()
        .map_err(|_| "expected an IP address such as 127.0.0.1 or 0.0.0.0".into())
}

/// Only absolute http(s) URLs with a host: anything else is a typo that would fail later.
pub fn parse_url(value: &str) -> Result<Url, String> {
    let url = Url::parse(value).map_err(|e| e.to_string())?;
    match url.scheme() {
        "http" | "https" if url.host().is_some() => Ok(url),
        _ => Err("expected an http:// or https:// URL with a host".into()),
    }
}

/// At least 1 ms: a zero timeout would fail every call.
pub fn parse_millis(value: &str) -> Result<Duration, String> {
    match value.parse::<u64>() {
        Ok(0) | Err(_) => Err("expected a whole number of milliseconds, at least 1".into()),
        Ok(ms) => Ok(Duration::from_millis(ms)),
    }
}

pub fn parse_choice<T: Copy>(value: &str, choices: &[(&str, T)]) -> Result<T, String> {
    let found = choices
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(value));
    found.map(|(_, choice)| *choice).ok_or_else(|| {
        let names: Vec<_> = choices.iter().map(|(name, _)| *name).collect();
        format!("expected one of: {}", names.join(", "))
    })
}

/// Connect and total timeouts for outgoing HTTP calls.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    pub connect: Duration,
    pub total: Duration,
}

impl Timeouts {
    /// `HTTP_CONNECT_TIMEOUT_MS` (default 1 s) and `total_variable`.
    pub fn from_env(
        total_variable: &'static str,
        default_total: Duration,
    ) -> Result<Self, ConfigError> {
        Ok(Self {
            connect: millis("HTTP_CONNECT_TIMEOUT_MS", Duration::from_millis(1000))?,
            total: millis(total_variable, default_total)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_error_names_the_variable_the_value_and_the_problem() {
        let err = ConfigError {
            variable: "GATEWAY_PORT",
            value: "abc".into(),
            problem: parse_port("abc").unwrap_err(),
        };
        assert_eq!(
            err.to_string(),
            r#"invalid GATEWAY_PORT="abc": expected a port number from 1 to 65535"#
        );
    }

    #[test]
    fn ports() {
        assert_eq!(parse_port("5000"), Ok(5000));
        assert!(parse_port("0").is_err());
        assert!(parse_port("65536").is_err());
        assert!(parse_port("-1").is_err());
        assert!(parse_port("http").is_err());
    }

    #[test]
    fn urls_must_be_absolute_http() {
        assert!(parse_url("http://127.0.0.1:5001").is_ok());
        assert!(parse_url("https://nominatim.openstreetmap.org").is_ok());
        assert!(parse_url("127.0.0.1:5001").is_err());
        assert!(
            parse_url("localhost:5001").is_err(),
            "parses as scheme 'localhost'"
        );
        assert!(parse_url("ftp://example.org").is_err());
        assert!(parse_url("not a url").is_err());
    }

    #[test]
    fn millis_must_be_positive_whole_numbers() {
        assert_eq!(parse_millis("250"), Ok(Duration::from_millis(250)));
        assert!(parse_millis("0").is_err());
        assert!(parse_millis("1.5").is_err());
    }

    #[test]
    fn choices_are_case_insensitive_and_listed_on_error() {
        let choices = [("api", 1), ("model", 2)];
        assert_eq!(parse_choice("API", &choices), Ok(1));
        assert_eq!(
            parse_choice("x", &choices),
            Err("expected one of: api, model".into())
        );
    }
}
