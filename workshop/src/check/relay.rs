//! Relays between our own services. The check puts one in front of the gateway, geolocator
//! and iss-distance (their callers get the relay's URL), forwards every request as it came
//! and records the context it carried across that hop. So section 4's promises about
//! baggage (a stranger's stops at the frontend, ours travels from service to service) are
//! seen on the wire, hop by hop, as the ISS API stub sees the last one.

use std::collections::BTreeMap;
use std::future::IntoFuture;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tokio::sync::oneshot;

use super::scenario::ISS_API;
use crate::harness::{Env, Ports};

/// Longer than any request the services make to each other (the scenario gives each of its
/// own requests 4 s): a relay never times out first, and never hangs.
const TIMEOUT: Duration = Duration::from_secs(10);

/// One request that crossed a relay.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Relayed {
    /// The service it went to.
    pub to: String,
    pub traceparent: Option<String>,
    pub tracestate: Option<String>,
    pub baggage: Option<String>,
}

struct Shared {
    to: &'static str,
    target: String,
    client: reqwest::Client,
    calls: Mutex<Vec<Relayed>>,
}

/// One relay; dropping it stops it.
pub struct Relay {
    addr: SocketAddr,
    shared: Arc<Shared>,
    _stop: oneshot::Sender<()>,
}

impl Relay {
    /// Listens on a free loopback port and forwards everything to `target` (`http://host:port`,
    /// the service `to`).
    pub async fn start(to: &'static str, target: String) -> anyhow::Result<Relay> {
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            to,
            target: target.trim_end_matches('/').to_owned(),
            // No redirects: a relay passes answers on as they are.
            client: reqwest::Client::builder()
                .timeout(TIMEOUT)
                .redirect(reqwest::redirect::Policy::none())
                .build()?,
            calls: Mutex::default(),
        });
        let app = Router::new().fallback(relay).with_state(shared.clone());
        let (stop, stopped) = oneshot::channel::<()>();
        let stopped = async {
            let _ = stopped.await;
        };
        tokio::spawn(
            axum::serve(listener, app)
                .with_graceful_shutdown(stopped)
                .into_future(),
        );
        Ok(Relay {
            addr,
            shared,
            _stop: stop,
        })
    }

    /// What the service's callers are told its URL is.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every request so far, in order.
    pub fn calls(&self) -> Vec<Relayed> {
        self.shared
            .calls
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// A relay in front of each service that another one calls, with the variable that tells
/// the callers where it is.
pub struct Relays(Vec<(&'static str, Relay)>);

/// The services our own services call, by the variable naming their URL.
const CALLED: [(&str, &str); 3] = [
    ("GATEWAY_URL", "gateway"),
    ("GEOLOCATOR_URL", "geolocator"),
    ("ISS_DISTANCE_URL", "iss-distance"),
];

impl Relays {
    /// One relay per service in [`CALLED`], to its port in `ports`.
    pub async fn start(ports: &Ports) -> anyhow::Result<Relays> {
        let mut relays = Vec::new();
        for (key, service) in CALLED {
            let target = format!("http://127.0.0.1:{}", ports.of(service));
            relays.push((key, Relay::start(service, target).await?));
        }
        Ok(Relays(relays))
    }

    /// The variables that send the services' callers to the relays instead.
    pub fn env(&self) -> Env {
        self.0
            .iter()
            .map(|(key, relay)| (key.to_string(), relay.url()))
            .collect()
    }

    /// Where each upstream is, as the services are told, by its name: the relays, and the
    /// ISS API at `iss_api_url`.
    pub fn upstream_urls(&self, iss_api_url: String) -> BTreeMap<String, String> {
        let relays = self
            .0
            .iter()
            .map(|(_, r)| (r.shared.to.to_owned(), r.url()));
        relays.chain([(ISS_API.to_owned(), iss_api_url)]).collect()
    }

    /// Every request that crossed one of them, by relay (then in order).
    pub fn calls(&self) -> Vec<Relayed> {
        self.0.iter().flat_map(|(_, relay)| relay.calls()).collect()
    }

    pub fn addrs(&self) -> impl Iterator<Item = SocketAddr> + '_ {
        self.0.iter().map(|(_, relay)| relay.addr)
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

async fn relay(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let headers = request.headers();
    let header = |name: &str| {
        headers
            .get(name)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
    };
    shared
        .calls
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(Relayed {
            to: shared.to.to_owned(),
            traceparent: header("traceparent"),
            tracestate: header("tracestate"),
            baggage: header("baggage"),
        });
    let path = request
        .uri()
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_owned();
    let forwarded = shared
        .client
        .request(request.method().clone(), format!("{}{path}", shared.target))
        .headers(passed_on(headers));
    let body = match axum::body::to_bytes(request.into_body(), 1 << 20).await {
        Ok(body) => body,
        Err(error) => return (StatusCode::BAD_REQUEST, error.to_string()).into_response(),
    };
    match forwarded.body(body).send().await {
        Ok(answer) => {
            let status = answer.status();
            let headers = passed_on(answer.headers());
            match answer.bytes().await {
                Ok(body) => (status, headers, Body::from(body)).into_response(),
                Err(error) => (StatusCode::BAD_GATEWAY, error.to_string()).into_response(),
            }
        }
        Err(error) => (
            StatusCode::BAD_GATEWAY,
            format!("the check's relay to {}: {error}", shared.to),
        )
            .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::get;

    /// The relay answers as the service behind it does, status, headers and body, and records
    /// the context of each request.
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
        let relay = Relay::start("geolocator", format!("http://{behind}/"))
            .await
            .unwrap();

        let answer = reqwest::Client::new()
            .get(format!("{}/coordinates?location=S%C3%A3o", relay.url()))
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
        assert_eq!(
            relay.calls(),
            [Relayed {
                to: "geolocator".into(),
                traceparent: None,
                tracestate: Some("workshop=check".into()),
                baggage: Some("workshop.check.ours=from-inside".into()),
            }]
        );

        // Nothing behind it: a 502 that says so, at once.
        let nowhere = Relay::start("gateway", "http://127.0.0.1:9".into())
            .await
            .unwrap();
        let answer = reqwest::get(format!("{}/distance", nowhere.url()))
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
    }
}
