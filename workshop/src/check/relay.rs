//! Relays between our own services. The check puts one in front of the gateway, geolocator
//! and iss-distance (their callers get the relay's URL), forwards every request as it came
//! and records the context it carried across that hop. So section 4's promises about
//! baggage (a stranger's stops at the frontend, ours travels from service to service) are
//! seen on the wire, hop by hop, as the ISS API stub sees the last one.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{self, HeaderMap, HeaderName, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tokio::task::JoinHandle;

/// Longer than any request the services make to each other (the scenario gives each of its
/// own requests 4 s): a relay never times out first, and never hangs.
const TIMEOUT: Duration = Duration::from_secs(10);

/// The services our own services call, by the variable naming their URL.
const CALLED: [(&str, &str); 3] = [
    ("GATEWAY_URL", "gateway"),
    ("GEOLOCATOR_URL", "geolocator"),
    ("ISS_DISTANCE_URL", "iss-distance"),
];

/// One request that crossed a relay.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Relayed {
    /// The service it went to.
    pub to: String,
    pub traceparent: Option<String>,
    pub tracestate: Option<String>,
    pub baggage: Option<String>,
}

/// The requests every relay saw, in the order they came.
type Calls = Arc<Mutex<Vec<Relayed>>>;

/// One relay: where it forwards to, and where it writes down what crossed it.
struct Hop {
    to: &'static str,
    target: String,
    client: reqwest::Client,
    calls: Calls,
}

/// A relay in front of each service that another one calls.
pub struct Relays {
    addrs: Vec<SocketAddr>,
    servers: Vec<JoinHandle<()>>,
    calls: Calls,
}

impl Relays {
    /// One relay per service in [`CALLED`] on a free loopback port, to the URL `env` gives
    /// it; `env` then gives the relay's instead.
    pub async fn start(env: &mut [(&'static str, String)]) -> anyhow::Result<Relays> {
        // No redirects: a relay passes answers on as they are.
        let client = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        let (mut addrs, mut servers, calls) = (Vec::new(), Vec::new(), Calls::default());
        for (key, to) in CALLED {
            let Some((_, url)) = env.iter_mut().find(|(k, _)| *k == key) else {
                anyhow::bail!("no {key} to put a relay in front of");
            };
            let hop = Hop {
                to,
                target: url.trim_end_matches('/').to_owned(),
                client: client.clone(),
                calls: calls.clone(),
            };
            let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
            let addr = listener.local_addr()?;
            let app = Router::new().fallback(relay).with_state(Arc::new(hop));
            servers.push(tokio::spawn(async move {
                let _ = axum::serve(listener, app).await;
            }));
            addrs.push(addr);
            *url = format!("http://{addr}");
        }
        Ok(Relays {
            addrs,
            servers,
            calls,
        })
    }

    /// Every request that crossed one of them, in the order they came.
    pub fn calls(&self) -> Vec<Relayed> {
        let calls = self.calls.lock().unwrap_or_else(PoisonError::into_inner);
        calls.clone()
    }

    pub fn addrs(&self) -> impl Iterator<Item = SocketAddr> + '_ {
        self.addrs.iter().copied()
    }

    /// Stops them, as dropping them does: their only callers, the services, have stopped.
    pub fn stop(self) {
        drop(self);
    }
}

impl Drop for Relays {
    fn drop(&mut self) {
        for server in &self.servers {
            server.abort();
        }
    }
}

/// Headers that belong to one connection, not to the request (RFC 9110, 7.6.1), and `host`,
/// which names the relay: neither is passed on.
fn hop_by_hop(name: &HeaderName) -> bool {
    [
        header::CONNECTION,
        header::HOST,
        header::PROXY_AUTHENTICATE,
        header::PROXY_AUTHORIZATION,
        header::TE,
        header::TRAILER,
        header::TRANSFER_ENCODING,
        header::UPGRADE,
        header::CONTENT_LENGTH,
    ]
    .contains(name)
        || name.as_str() == "keep-alive"
}

fn passed_on(headers: &HeaderMap) -> HeaderMap {
    headers
        .iter()
        .filter(|(name, _)| !hop_by_hop(name))
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect()
}

async fn relay(State(hop): State<Arc<Hop>>, request: Request) -> Response {
    let headers = request.headers();
    let header = |name: &str| {
        headers
            .get(name)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
    };
    let call = Relayed {
        to: hop.to.to_owned(),
        traceparent: header("traceparent"),
        tracestate: header("tracestate"),
        baggage: header("baggage"),
    };
    hop.calls
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(call);
    let path = request.uri().path_and_query().map_or("/", |p| p.as_str());
    let forwarded = hop
        .client
        .request(request.method().clone(), format!("{}{path}", hop.target))
        .headers(passed_on(headers));
    let body = match axum::body::to_bytes(request.into_body(), 1 << 20).await {
        Ok(body) => body,
        Err(error) => return (StatusCode::BAD_REQUEST, error.to_string()).into_response(),
    };
    match forwarded.body(body).send().await {
        // Passed on as it streams in.
        Ok(answer) => {
            let (mut parts, body) = http::Response::from(answer).into_parts();
            parts.headers = passed_on(&parts.headers);
            Response::from_parts(parts, Body::new(body))
        }
        Err(error) => (
            StatusCode::BAD_GATEWAY,
            format!("the check's relay to {}: {error}", hop.to),
        )
            .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::get;

    /// Each relay answers as the service behind it does, status, headers and body, and
    /// records the context of each request; the services are told the relays' URLs.
    #[tokio::test]
    async fn forwards_as_it_came_and_records_the_context() {
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .unwrap();
        let behind = listener.local_addr().unwrap();
        let app = Router::new().route(
            "/coordinates",
            get(|headers: HeaderMap, uri: axum::http::Uri| async move {
                let seen = format!(
                    "{} baggage={:?} host={:?}",
                    uri,
                    headers.get("baggage"),
                    headers.get("host")
                );
                (StatusCode::NOT_FOUND, [("x-service", "geolocator")], seen)
            }),
        );
        tokio::spawn(async move { axum::serve(listener, app).await });
        // Nothing behind the gateway's.
        let mut env = [
            ("GATEWAY_URL", "http://127.0.0.1:9".to_owned()),
            ("GEOLOCATOR_URL", format!("http://{behind}/")),
            ("ISS_DISTANCE_URL", "http://127.0.0.1:9".to_owned()),
            ("OTHER", "unchanged".to_owned()),
        ];
        let relays = Relays::start(&mut env).await.unwrap();
        let addrs: Vec<String> = relays.addrs().map(|a| format!("http://{a}")).collect();
        let urls: Vec<String> = env[..3].iter().map(|(_, url)| url.clone()).collect();
        assert_eq!(urls, addrs);
        assert_eq!(env[3].1, "unchanged");

        let answer = reqwest::Client::new()
            .get(format!("{}/coordinates?location=S%C3%A3o", env[1].1))
            .header("baggage", "workshop.check.ours=from-inside")
            .header("tracestate", "workshop=check")
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 404);
        assert_eq!(answer.headers()["x-service"], "geolocator");
        let body = answer.text().await.unwrap();
        assert!(
            body.starts_with(
                r#"/coordinates?location=S%C3%A3o baggage=Some("workshop.check.ours=from-inside")"#
            ),
            "{body}"
        );
        assert!(
            body.ends_with(&format!(r#"host=Some("{behind}")"#)),
            "the service sees its own host: {body}"
        );

        // Nothing behind it: a 502 that says so, at once.
        let answer = reqwest::get(format!("{}/distance", env[0].1))
            .await
            .unwrap();
        assert_eq!(answer.status(), 502);
        assert!(
            answer
                .text()
                .await
                .unwrap()
                .starts_with("the check's relay to gateway: ")
        );
        assert_eq!(
            relays.calls(),
            [
                Relayed {
                    to: "geolocator".into(),
                    traceparent: None,
                    tracestate: Some("workshop=check".into()),
                    baggage: Some("workshop.check.ours=from-inside".into()),
                },
                Relayed {
                    to: "gateway".into(),
                    traceparent: None,
                    tracestate: None,
                    baggage: None,
                }
            ]
        );
        relays.stop();
    }

    #[tokio::test]
    async fn a_missing_url_is_an_error() {
        let mut env = [("GATEWAY_URL", "http://127.0.0.1:9".to_owned())];
        let error = Relays::start(&mut env).await.err().unwrap();
        assert_eq!(
            error.to_string(),
            "no GEOLOCATOR_URL to put a relay in front of"
        );
    }
}
