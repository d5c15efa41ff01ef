//! Probing by HTTP (and one HTTP/2 handshake): every call has the client's timeout, and an
//! answer is kept as it came, or why none came, for the judgements to read.

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::command::first_line;

pub struct Probe<'a> {
    pub http: &'a reqwest::Client,
}

/// An HTTP answer, or why there is none.
#[derive(Clone, Debug)]
pub enum Answer {
    Got { status: u16, body: String },
    Unreachable(String),
    TimedOut,
}

impl Answer {
    pub fn json(&self) -> Option<Value> {
        match self {
            Answer::Got { body, .. } => serde_json::from_str(body).ok(),
            _ => None,
        }
    }

    /// How to say what came back, for a ✗ line: "503 Service Unavailable: starting".
    pub fn describe(&self) -> String {
        match self {
            Answer::Got { status, body } => {
                let reason = reqwest::StatusCode::from_u16(*status)
                    .ok()
                    .and_then(|s| s.canonical_reason())
                    .unwrap_or("");
                let body = first_line(body);
                format!("{status} {reason}: {body}")
            }
            Answer::Unreachable(why) => format!("not reachable ({why})"),
            Answer::TimedOut => "no answer in time".into(),
        }
    }
}

impl Probe<'_> {
    async fn send(&self, request: reqwest::RequestBuilder) -> Answer {
        let response = match request.send().await {
            Ok(response) => response,
            Err(e) => return failure(&e),
        };
        let status = response.status().as_u16();
        match response.text().await {
            Ok(body) => Answer::Got { status, body },
            Err(e) => failure(&e),
        }
    }

    pub async fn get(&self, url: &reqwest::Url, path: &str, query: &[(&str, &str)]) -> Answer {
        self.send(self.http.get(join(url, path)).query(query)).await
    }

    /// An OTLP/HTTP export of an empty ExportTraceServiceRequest, in its JSON encoding.
    pub async fn otlp_export(&self, base: &reqwest::Url) -> Answer {
        self.send(
            self.http
                .post(join(base, "/v1/traces"))
                .header("content-type", "application/json")
                .body("{}"),
        )
        .await
    }

    /// Whether `base` has the tap of the workshop's own OTLP receiver (`GET /v1/tap`
    /// answering a stream of OTLP/JSON lines), which `workshop up` and `workshop inspect`
    /// run and a collector does not have (it answers 404). Only the answer's head is read:
    /// the stream never ends.
    pub async fn has_tap(&self, base: &reqwest::Url) -> bool {
        match self.http.get(join(base, "/v1/tap")).send().await {
            Ok(response) => {
                response.status().is_success()
                    && response
                        .headers()
                        .get(reqwest::header::CONTENT_TYPE)
                        .is_some_and(|v| v.as_bytes().starts_with(b"application/x-ndjson"))
            }
            Err(_) => false,
        }
    }

    /// Whether the macOS AirPlay Receiver answers at `base` (its server header says
    /// AirTunes).
    pub async fn is_airplay(&self, base: &reqwest::Url) -> bool {
        match self.http.get(join(base, "/")).send().await {
            Ok(response) => response
                .headers()
                .get(reqwest::header::SERVER)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.contains("AirTunes")),
            Err(_) => false,
        }
    }
}

fn failure(error: &reqwest::Error) -> Answer {
    if error.is_timeout() {
        return Answer::TimedOut;
    }
    // The innermost cause says it best: "Connection refused (os error 111)".
    let mut cause: &dyn std::error::Error = error;
    while let Some(inner) = cause.source() {
        cause = inner;
    }
    Answer::Unreachable(cause.to_string())
}

/// A base URL as people write it: without the trailing slash.
pub fn show(url: &reqwest::Url) -> &str {
    url.as_str().trim_end_matches('/')
}

/// `base` with `path` appended to its own path.
pub fn join(base: &reqwest::Url, path: &str) -> reqwest::Url {
    let mut url = base.clone();
    let joined = format!("{}{}", base.path().trim_end_matches('/'), path);
    url.set_path(&joined);
    url
}

/// Whether `addr` speaks HTTP/2 with prior knowledge, as a gRPC server does: it answers the
/// client preface and an empty SETTINGS frame with a SETTINGS frame.
pub async fn speaks_http2(addr: SocketAddr, timeout: Duration) -> Result<bool, String> {
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(addr).await?;
        let mut hello = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
        hello.extend_from_slice(&[0, 0, 0, 4, 0, 0, 0, 0, 0]);
        stream.write_all(&hello).await?;
        let mut header = [0u8; 9];
        stream.read_exact(&mut header).await?;
        Ok::<bool, std::io::Error>(header[3] == 4)
    };
    match tokio::time::timeout(timeout, exchange).await {
        Ok(Ok(answer)) => Ok(answer),
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(false),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("no answer in time".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let base: reqwest::Url = "http://127.0.0.1:3000".parse().unwrap();
        assert_eq!(
            join(&base, "/api/health").as_str(),
            "http://127.0.0.1:3000/api/health"
        );
        let prefixed: reqwest::Url = "http://127.0.0.1:3000/grafana/".parse().unwrap();
        assert_eq!(
            join(&prefixed, "/api/health").as_str(),
            "http://127.0.0.1:3000/grafana/api/health"
        );
        assert_eq!(show(&prefixed), "http://127.0.0.1:3000/grafana");
    }

    #[test]
    fn answers_are_described_for_a_line() {
        let got = Answer::Got {
            status: 503,
            body: "\nstarting\n".into(),
        };
        assert_eq!(got.describe(), "503 Service Unavailable: starting");
        assert_eq!(
            Answer::Unreachable("Connection refused".into()).describe(),
            "not reachable (Connection refused)"
        );
        assert_eq!(Answer::TimedOut.describe(), "no answer in time");
    }
}
