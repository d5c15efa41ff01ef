//! Calling another service over HTTP and getting JSON back.
//!
//! Every call has a connect timeout and a total timeout, so no request can hang. Every way
//! a call can fail becomes an [`UpstreamError`] that names the upstream, and then an
//! [`ApiError`] with the status a caller expects: the upstream's own 4xx is passed on (it is
//! the caller's mistake), anything else is a 502, and a timeout is a 504.

use std::error::Error as _;
use std::time::{Duration, Instant, SystemTime};

use axum::http::{HeaderMap, StatusCode};
use serde::de::DeserializeOwned;
use tracing::Instrument;
use url::Url;

use crate::ApiError;
use crate::boundary::Boundary;
use crate::config::Timeouts;
use crate::http_metrics::{self, Call};
use crate::{faults, retry_after, spans};

/// A named HTTP service we depend on.
#[derive(Debug, Clone)]
pub struct Upstream {
    name: &'static str,
    base: Url,
    client: reqwest::Client,
    connect_timeout: Duration,
    timeout: Duration,
    /// Whether it is one of ours or a third party: see [`crate::boundary`].
    boundary: Boundary,
}

const DEFAULT_USER_AGENT: &str = concat!("iss-workshop/", env!("CARGO_PKG_VERSION"));

fn client(timeouts: Timeouts, user_agent: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(timeouts.connect)
        .timeout(timeouts.total)
        .user_agent(user_agent)
        .build()
        .expect("a client with only timeouts and a user agent always builds")
}

/// Why a call to an upstream failed.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    #[error("{upstream} did not answer within {} ms", timeout.as_millis())]
    Timeout {
        upstream: &'static str,
        timeout: Duration,
    },
    #[error("{upstream} is unreachable: {reason}")]
    Unreachable {
        upstream: &'static str,
        reason: String,
    },
    #[error("{message}")]
    Rejected {
        upstream: &'static str,
        status: StatusCode,
        message: String,
        /// How long the upstream asked us to wait (`Retry-After`, e.g. with a 429).
        retry_after: Option<Duration>,
    },
    #[error("{upstream} failed with {status}: {message}")]
    Failed {
        upstream: &'static str,
        status: StatusCode,
        message: String,
        /// How long the upstream asked us to wait (`Retry-After`, e.g. with a 503).
        retry_after: Option<Duration>,
    },
    #[error("{upstream} sent an invalid response: {reason}")]
    InvalidResponse {
        upstream: &'static str,
        /// The status of the response, if one arrived.
        status: Option<StatusCode>,
        reason: String,
    },
}

impl Upstream {
    /// One of our own services. `base` is where it lives; paths given to
    /// [`Upstream::get_json`] are appended to it.
    pub fn new(name: &'static str, base: Url, timeouts: Timeouts) -> Self {
        let client = client(timeouts, DEFAULT_USER_AGENT);
        Self {
            name,
            base,
            client,
            connect_timeout: timeouts.connect,
            timeout: timeouts.total,
            boundary: Boundary::Inside,
        }
    }

    /// A service that is not ours (a public API): our calls carry no more of our context
    /// than `traceparent`.
    pub fn third_party(name: &'static str, base: Url, timeouts: Timeouts) -> Self {
        Self {
            boundary: Boundary::Outside,
            ..Self::new(name, base, timeouts)
        }
    }

    /// The same upstream, identifying itself as `user_agent` (some public APIs ask for it).
    pub fn with_user_agent(self, user_agent: &str) -> Self {
        let timeouts = Timeouts {
            connect: self.connect_timeout,
            total: self.timeout,
        };
        Self {
            client: client(timeouts, user_agent),
            ..self
        }
    }

    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The URL of `path` on this upstream (`""` for the base URL itself).
    pub fn url(&self, path: &str) -> Url {
        let mut url = self.base.clone();
        if !path.is_empty() {
            let joined = format!(
                "{}/{}",
                url.path().trim_end_matches('/'),
                path.trim_start_matches('/')
            );
            url.set_path(&joined);
        }
        url
    }

    /// `GET path?query` and decode the JSON answer, inside a CLIENT span, and record how
    /// long each call took.
    ///
    /// One try, unless the troubleshooting chapter's retry-storm is on (see
    /// [`crate::faults`]): then each try is a call of its own, with its own span.
    pub async fn get_json<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, &str)],
    ) -> Result<T, UpstreamError> {
        let attempts = faults::calls::attempts(self.name);
        let mut attempt = 1;
        loop {
            match self.call(path, query).await {
                Err(error) if attempt < attempts => {
                    attempt += 1;
                    tracing::warn!(
                        "{} call failed ({}); trying again at once, attempt {attempt} of {attempts}",
                        self.name,
                        error.error_type()
                    );
                }
                result => return result,
            }
        }
    }

    /// One call, in a CLIENT span.
    async fn call<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, &str)],
    ) -> Result<T, UpstreamError> {
        let url = self.url(path);
        let span = spans::client_span(&url);
        let started = Instant::now();
        let result = self
            .fetch_unless_faulty(url.clone(), query)
            .instrument(span.clone())
            .await;
        spans::record_outcome(&span, &result);
        http_metrics::record_call(started.elapsed(), Call::to(&url, CallOutcome::of(&result)));
        result
    }

    /// [`Upstream::fetch`], unless one of the troubleshooting chapter's faults stands in the
    /// way (see [`crate::faults`]): a pool with no connection left, or a captive portal that
    /// answers in the upstream's place. Neither does anything unless switched on.
    async fn fetch_unless_faulty<T: DeserializeOwned>(
        &self,
        url: Url,
        query: &[(&str, &str)],
    ) -> Result<T, UpstreamError> {
        if !faults::calls::take_connection(self.name, self.timeout).await {
            return Err(UpstreamError::Timeout {
                upstream: self.name,
                timeout: self.timeout,
            });
        }
        if let Some(page) = faults::calls::portal_answer(self.name) {
            spans::record_status(StatusCode::OK.as_u16());
            return self.decode(StatusCode::OK, page.as_bytes(), None);
        }
        self.fetch(url, query).await
    }

    async fn fetch<T: DeserializeOwned>(
        &self,
        url: Url,
        query: &[(&str, &str)],
    ) -> Result<T, UpstreamError> {
        let mut headers = HeaderMap::new();
        // TODO(section 4): inject the current span's context into the headers, so that the
        // upstream's spans join our trace.
        self.boundary.release(&mut headers);
        let request = self.client.get(url).query(query).headers(headers);
        let response = request.send().await.map_err(|e| self.transport_error(e))?;
        let status = response.status();
        spans::record_status(status.as_u16());
        let retry_after = retry_after::from_headers(response.headers(), SystemTime::now());
        let body = response
            .bytes()
            .await
            .map_err(|e| self.transport_error(e))?;
        self.decode(status, &body, retry_after)
    }

    /// The JSON of a successful answer, or the error that an answer stands for (with how
    /// long the upstream asked us to wait, if it did).
    fn decode<T: DeserializeOwned>(
        &self,
        status: StatusCode,
        body: &[u8],
        retry_after: Option<Duration>,
    ) -> Result<T, UpstreamError> {
        if !status.is_success() {
            return Err(self.status_error(status, body, retry_after));
        }
        serde_json::from_slice(body).map_err(|e| UpstreamError::InvalidResponse {
            upstream: self.name,
            status: Some(status),
            reason: e.to_string(),
        })
    }

    fn transport_error(&self, error: reqwest::Error) -> UpstreamError {
        if error.is_timeout() {
            return UpstreamError::Timeout {
                upstream: self.name,
                timeout: self.timeout,
            };
        }
        let reason = describe(&error);
        if error.is_connect() {
            UpstreamError::Unreachable {
                upstream: self.name,
                reason,
            }
        } else {
            UpstreamError::InvalidResponse {
                upstream: self.name,
                status: None,
                reason,
            }
        }
    }

    fn status_error(
        &self,
        status: StatusCode,
        body: &[u8],
        retry_after: Option<Duration>,
    ) -> UpstreamError {
        // Our services answer {"error": "..."}; anything else is shown as a short excerpt.
        let message = serde_json::from_slice::<ApiError>(body)
            .map(|e| e.message)
            .unwrap_or_else(|_| excerpt(body));
        if status.is_client_error() {
            UpstreamError::Rejected {
                upstream: self.name,
                status,
                message,
                retry_after,
            }
        } else {
            UpstreamError::Failed {
                upstream: self.name,
                status,
                message,
                retry_after,
            }
        }
    }
}

impl UpstreamError {
    pub fn upstream(&self) -> &'static str {
        match self {
            Self::Timeout { upstream, .. }
            | Self::Unreachable { upstream, .. }
            | Self::Rejected { upstream, .. }
            | Self::Failed { upstream, .. }
            | Self::InvalidResponse { upstream, .. } => upstream,
        }
    }

    /// The status the upstream answered with, if it answered at all.
    pub fn upstream_status(&self) -> Option<StatusCode> {
        match self {
            Self::Rejected { status, .. } | Self::Failed { status, .. } => Some(*status),
            Self::InvalidResponse { status, .. } => *status,
            Self::Timeout { .. } | Self::Unreachable { .. } => None,
        }
    }

    /// How long the upstream asked us to wait before the next call, if it said
    /// (`Retry-After`).
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Rejected { retry_after, .. } | Self::Failed { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// A low-cardinality class of the failure, for the semantic conventions' `error.type`:
    /// the status code of an error answer, else `timeout`, `unreachable` or
    /// `invalid_response`.
    pub fn error_type(&self) -> String {
        match self {
            Self::Rejected { status, .. } | Self::Failed { status, .. } => {
                status.as_str().to_owned()
            }
            Self::Timeout { .. } => "timeout".to_owned(),
            Self::Unreachable { .. } => "unreachable".to_owned(),
            Self::InvalidResponse { .. } => "invalid_response".to_owned(),
        }
    }

    /// The status our caller should see.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Timeout { .. } => StatusCode::GATEWAY_TIMEOUT,
            Self::Rejected { status, .. } => *status,
            _ => StatusCode::BAD_GATEWAY,
        }
    }
}

/// How a call ended, in the semantic conventions' terms: what to record as
/// `http.response.status_code` and `error.type`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallOutcome {
    /// The status the upstream answered with, if an answer arrived.
    pub status_code: Option<i64>,
    /// Why the call failed, if it did (see [`UpstreamError::error_type`]).
    pub error_type: Option<String>,
}

impl CallOutcome {
    /// The outcome of a [`Upstream::get_json`] call. It succeeds only on a 2xx answer, and
    /// every upstream of the workshop answers 200 then.
    pub fn of<T>(result: &Result<T, UpstreamError>) -> Self {
        match result {
            Ok(_) => Self {
                status_code: Some(200),
                error_type: None,
            },
            Err(error) => Self {
                status_code: error.upstream_status().map(|s| i64::from(s.as_u16())),
                error_type: Some(error.error_type()),
            },
        }
    }
}

impl From<UpstreamError> for ApiError {
    fn from(error: UpstreamError) -> Self {
        ApiError::new(error.status(), error.to_string()).from_upstream(error.upstream())
    }
}

/// reqwest's own message is "error sending request"; the cause ("connection refused",
/// "dns error: ...") is further down the source chain, and that is what a person needs.
fn describe(error: &reqwest::Error) -> String {
    let mut parts = Vec::new();
    let mut source = error.source();
    while let Some(cause) = source {
        parts.push(cause.to_string());
        source = cause.source();
    }
    parts.dedup();
    parts.last().cloned().unwrap_or_else(|| error.to_string())
}

fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        return "(empty body)".into();
    }
    let mut short: String = text.chars().take(200).collect();
    if short.len() < text.len() {
        short.push('…');
    }
    short
}

#[cfg(test)]
mod tests {
    use super::*;
    use wiremock::matchers::{method, path, query_param};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    fn upstream(base: &str, total_ms: u64) -> Upstream {
        let timeouts = Timeouts {
            connect: Duration::from_millis(500),
            total: Duration::from_millis(total_ms),
        };
        Upstream::new("geolocator", Url::parse(base).unwrap(), timeouts)
    }

    #[derive(Debug, serde::Deserialize, PartialEq)]
    struct Answer {
        ok: bool,
    }

    #[test]
    fn paths_are_appended_to_the_base() {
        let u = upstream("http://h:1/api/", 100);
        assert_eq!(u.url("/coordinates").as_str(), "http://h:1/api/coordinates");
        assert_eq!(
            upstream("http://h:1", 100).url("x").as_str(),
            "http://h:1/x"
        );
        assert_eq!(
            upstream("http://h:1/iss.json", 100).url("").as_str(),
            "http://h:1/iss.json"
        );
    }

    #[tokio::test]
    async fn decodes_json_and_passes_query() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/coordinates"))
            .and(query_param("location", "São Paulo"))
            .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"ok": true})))
            .mount(&server)
            .await;
        let answer: Answer = upstream(&server.uri(), 1000)
            .get_json("coordinates", &[("location", "São Paulo")])
            .await
            .unwrap();
        assert_eq!(answer, Answer { ok: true });
    }

    #[tokio::test]
    async fn client_errors_are_passed_on_with_their_message() {
        let server = MockServer::start().await;
        let body = serde_json::json!({"error": "no place called Atlantis"});
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(404).set_body_json(body))
            .mount(&server)
            .await;
        let err = upstream(&server.uri(), 1000)
            .get_json::<Answer>("x", &[])
            .await
            .unwrap_err();
        let api = ApiError::from(err);
        assert_eq!(api.status, StatusCode::NOT_FOUND);
        assert_eq!(api.message, "no place called Atlantis");
        assert_eq!(api.upstream.as_deref(), Some("geolocator"));
    }

    #[tokio::test]
    async fn server_errors_timeouts_and_garbage_are_gateway_errors() {
        let server = MockServer::start().await;
        Mock::given(path("/boom"))
            .respond_with(ResponseTemplate::new(500).set_body_string("<html>oops</html>"))
            .mount(&server)
            .await;
        Mock::given(path("/slow"))
            .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(5)))
            .mount(&server)
            .await;
        Mock::given(path("/garbage"))
            .respond_with(ResponseTemplate::new(200).set_body_string("{not json"))
            .mount(&server)
            .await;
        let u = upstream(&server.uri(), 300);

        let boom = ApiError::from(u.get_json::<Answer>("boom", &[]).await.unwrap_err());
        assert_eq!(boom.status, StatusCode::BAD_GATEWAY);
        assert!(
            boom.message.contains("geolocator failed with 500"),
            "{}",
            boom.message
        );

        let slow = ApiError::from(u.get_json::<Answer>("slow", &[]).await.unwrap_err());
        assert_eq!(slow.status, StatusCode::GATEWAY_TIMEOUT);
        assert_eq!(slow.message, "geolocator did not answer within 300 ms");

        let garbage = ApiError::from(u.get_json::<Answer>("garbage", &[]).await.unwrap_err());
        assert_eq!(garbage.status, StatusCode::BAD_GATEWAY);
        assert!(
            garbage.message.contains("invalid response"),
            "{}",
            garbage.message
        );
    }

    /// The troubleshooting chapter's faults of calls (see `crate::faults::calls`), on real
    /// calls: each try is a call of its own, the portal answers without a call, and an empty
    /// pool times out without a call.
    #[tokio::test]
    async fn the_faults_of_calls_change_what_reaches_the_upstream() {
        use crate::faults::{Fault, TEST_TURNS, set};
        let _turn = TEST_TURNS.lock().await;
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(
                ResponseTemplate::new(404).set_body_json(serde_json::json!({"error": "no"})),
            )
            .mount(&server)
            .await;
        let calls = || async { server.received_requests().await.unwrap().len() };

        set(Some(Fault::RetryStorm));
        let err = upstream(&server.uri(), 1000)
            .get_json::<Answer>("x", &[])
            .await
            .unwrap_err();
        assert_eq!(err.status(), StatusCode::NOT_FOUND, "the last try's answer");
        assert_eq!(calls().await, 5, "five tries");

        set(Some(Fault::CaptivePortal));
        let portal = Upstream::third_party(
            "open-notify",
            Url::parse(&server.uri()).unwrap(),
            Timeouts {
                connect: Duration::from_millis(500),
                total: Duration::from_millis(1000),
            },
        );
        let err = portal.get_json::<Answer>("", &[]).await.unwrap_err();
        assert!(
            matches!(
                err,
                UpstreamError::InvalidResponse {
                    status: Some(StatusCode::OK),
                    ..
                }
            ),
            "{err:?}"
        );
        assert_eq!(calls().await, 5, "the portal answered: nothing was sent");

        set(Some(Fault::ConnectionLeak));
        let leaky = Upstream::new(
            "iss-distance",
            Url::parse(&server.uri()).unwrap(),
            Timeouts {
                connect: Duration::from_millis(500),
                total: Duration::from_millis(50),
            },
        );
        for _ in 0..crate::faults::calls::POOL_SIZE {
            let _ = leaky.get_json::<Answer>("x", &[]).await;
        }
        let err = leaky.get_json::<Answer>("x", &[]).await.unwrap_err();
        assert!(matches!(err, UpstreamError::Timeout { .. }), "{err:?}");
        assert_eq!(calls().await, 5 + 8, "the ninth call was never sent");

        set(None);
        let _ = upstream(&server.uri(), 1000)
            .get_json::<Answer>("x", &[])
            .await;
        let _ = leaky.get_json::<Answer>("x", &[]).await;
        assert_eq!(calls().await, 5 + 8 + 2, "off: one try each, and sent");
    }

    #[tokio::test]
    async fn retry_after_is_kept_with_the_failure() {
        let server = MockServer::start().await;
        Mock::given(path("/busy"))
            .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "30"))
            .mount(&server)
            .await;
        Mock::given(path("/down"))
            .respond_with(
                ResponseTemplate::new(503)
                    .insert_header("retry-after", "Wed, 21 Oct 2015 07:28:00 GMT"),
            )
            .mount(&server)
            .await;
        Mock::given(path("/boom"))
            .respond_with(ResponseTemplate::new(500))
            .mount(&server)
            .await;
        let u = upstream(&server.uri(), 1000);

        let busy = u.get_json::<Answer>("busy", &[]).await.unwrap_err();
        assert_eq!(
            busy.retry_after(),
            Some(Duration::from_secs(30)),
            "{busy:?}"
        );
        let down = u.get_json::<Answer>("down", &[]).await.unwrap_err();
        assert_eq!(down.retry_after(), Some(Duration::ZERO), "a date long past");
        let boom = u.get_json::<Answer>("boom", &[]).await.unwrap_err();
        assert_eq!(boom.retry_after(), None);
    }

    #[tokio::test]
    async fn a_closed_port_is_unreachable() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let err = upstream(&format!("http://{addr}"), 1000)
            .get_json::<Answer>("x", &[])
            .await
            .unwrap_err();
        assert!(matches!(err, UpstreamError::Unreachable { .. }), "{err:?}");
        assert!(
            err.to_string().starts_with("geolocator is unreachable: "),
            "{err}"
        );
    }
}
