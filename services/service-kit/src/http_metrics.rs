//! HTTP metrics, by the semantic conventions: how long each request a service answers took
//! (`http.server.request.duration`) and each call it makes (`http.client.request.duration`),
//! as histograms in seconds.
//!
//! With [`crate::spans`] this is an instrumentation library in miniature: what a library for
//! axum and reqwest records, the same way in every service. Dashboards and alerting rules
//! expect these two metrics by name; unlike metrics derived from spans, no sampling thins
//! them.
//!
//! [`crate::spans`] and [`crate::upstream`] time every request and call and describe it
//! here ([`Served`], [`Call`]); recording it is OpenTelemetry, which section 5 of the
//! workshop adds.

use std::time::Duration;

use axum::http::Method;
use url::Url;

use crate::upstream::CallOutcome;

/// A request this service answered, as the server's metric describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Served<'a> {
    /// The method, or `_OTHER` for one the conventions do not know (see [`known_method`]).
    pub method: &'static str,
    /// The route that matched (`/distance`), never the path itself.
    pub route: &'a str,
    /// The status code answered.
    pub status: u16,
}

impl Served<'_> {
    /// `error.type` for a server: the status code of a 5xx, its own failure. A 4xx is the
    /// caller's mistake, not an error of the server (the span follows the same rule).
    pub fn error_type(&self) -> Option<String> {
        (self.status >= 500).then(|| self.status.to_string())
    }
}

/// A call this service made, as the client's metric describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Call<'a> {
    /// `http` or `https`.
    pub scheme: &'a str,
    /// The host called (`server.address`), as the URL names it.
    pub host: &'a str,
    /// The port called (`server.port`), given or the scheme's default.
    pub port: u16,
    /// The status code of the answer, if one arrived.
    pub status_code: Option<i64>,
    /// Why the call failed, if it did (see [`crate::upstream::UpstreamError::error_type`]).
    pub error_type: Option<String>,
}

impl<'a> Call<'a> {
    /// A call to `url` that ended with `outcome`.
    pub fn to(url: &'a Url, outcome: CallOutcome) -> Self {
        Call {
            scheme: url.scheme(),
            host: url.host_str().unwrap_or_default(),
            port: url.port_or_known_default().unwrap_or_default(),
            status_code: outcome.status_code,
            error_type: outcome.error_type,
        }
    }
}

/// Records how long a request this service answered took.
// TODO(section 5): record `elapsed`, in seconds, in the histogram
// `http.server.request.duration`, with the request's method, route, status code, scheme and
// error type.
pub fn record_served(_elapsed: Duration, _request: Served<'_>) {}

/// Records how long a call this service made took.
// TODO(section 5): record `elapsed`, in seconds, in the histogram
// `http.client.request.duration`, with the call's method, server address and port, scheme,
// status code and error type.
pub fn record_call(_elapsed: Duration, _call: Call<'_>) {}

/// The method as `http.request.method` names it: one of the methods the conventions know,
/// or `_OTHER`, so that a client inventing methods cannot create a series for each.
pub fn known_method(method: &Method) -> &'static str {
    match *method {
        Method::CONNECT => "CONNECT",
        Method::DELETE => "DELETE",
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::PATCH => "PATCH",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::TRACE => "TRACE",
        _ => "_OTHER",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_5xx_is_a_server_error() {
        let served = |status| Served {
            method: "GET",
            route: "/distance",
            status,
        };
        assert_eq!(served(502).error_type().as_deref(), Some("502"));
        assert_eq!(served(404).error_type(), None);
        assert_eq!(served(200).error_type(), None);
    }

    #[test]
    fn a_call_names_its_server_with_the_default_port_of_its_scheme() {
        let failed = CallOutcome {
            status_code: Some(500),
            error_type: Some("500".into()),
        };
        let plain = Url::parse("http://api.open-notify.org/iss-now.json").unwrap();
        let call = Call::to(&plain, failed.clone());
        assert_eq!(
            (call.scheme, call.host, call.port),
            ("http", "api.open-notify.org", 80)
        );
        assert_eq!(
            (call.status_code, call.error_type.as_deref()),
            (Some(500), Some("500"))
        );
        let local = Url::parse("https://127.0.0.1:5002/coordinates").unwrap();
        let call = Call::to(&local, failed);
        assert_eq!(
            (call.scheme, call.host, call.port),
            ("https", "127.0.0.1", 5002)
        );
    }

    #[test]
    fn unknown_methods_are_other() {
        assert_eq!(known_method(&Method::GET), "GET");
        assert_eq!(known_method(&Method::PATCH), "PATCH");
        assert_eq!(known_method(&Method::TRACE), "TRACE");
        let invented = Method::from_bytes(b"BREW").unwrap();
        assert_eq!(known_method(&invented), "_OTHER");
    }
}
