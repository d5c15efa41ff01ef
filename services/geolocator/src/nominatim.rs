//! The optional online backend: OpenStreetMap's Nominatim (`GEOCODER=nominatim`).
//!
//! Nominatim's usage policy (<https://operations.osmfoundation.org/policies/nominatim/>)
//! asks for an identifying User-Agent and at most one request per second. The User-Agent is
//! set on the client; the rate is enforced by [`Nominatim::wait_for_turn`], which queues
//! callers so that requests start at least a second apart.

use std::time::Duration;

use axum::http::StatusCode;
use serde::Deserialize;
use service_kit::ApiError;
use service_kit::upstream::Upstream;
use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::Coordinates;

/// Nominatim allows one request per second from one application.
pub const MIN_INTERVAL: Duration = Duration::from_secs(1);

pub struct Nominatim {
    upstream: Upstream,
    /// The earliest moment the next request may start.
    next_start: Mutex<Instant>,
}

/// One search result (`format=jsonv2&addressdetails=1`); coordinates arrive as strings.
#[derive(Debug, Deserialize)]
struct Hit {
    lat: String,
    lon: String,
    name: Option<String>,
    display_name: String,
    address: Option<Address>,
}

#[derive(Debug, Deserialize)]
struct Address {
    country_code: Option<String>,
}

impl Nominatim {
    pub fn new(upstream: Upstream) -> Self {
        Self {
            upstream,
            next_start: Mutex::new(Instant::now()),
        }
    }

    pub async fn locate(&self, query: &str) -> Result<Coordinates, ApiError> {
        self.wait_for_turn().await;
        let params = [
            ("q", query),
            ("format", "jsonv2"),
            ("limit", "1"),
            ("addressdetails", "1"),
        ];
        let hits: Vec<Hit> = self.upstream.get_json("search", &params).await?;
        let hit = hits.into_iter().next().ok_or_else(|| {
            ApiError::not_found(format!("no place called {query:?} found by Nominatim"))
        })?;
        hit.into_coordinates().map_err(|problem| {
            ApiError::new(StatusCode::BAD_GATEWAY, problem).from_upstream("nominatim")
        })
    }

    /// Waits until a second has passed since the previous request started. Holding the lock
    /// while sleeping is the point: it makes concurrent callers take turns.
    async fn wait_for_turn(&self) {
        let mut next_start = self.next_start.lock().await;
        tokio::time::sleep_until(*next_start).await;
        *next_start = Instant::now() + MIN_INTERVAL;
    }
}

impl Hit {
    fn into_coordinates(self) -> Result<Coordinates, String> {
        let number = |text: &str, name: &str| {
            text.parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| format!("nominatim sent an invalid {name}: {text:?}"))
        };
        let country = self
            .address
            .and_then(|a| a.country_code)
            .unwrap_or_default();
        Ok(Coordinates {
            name: self
                .name
                .filter(|n| !n.is_empty())
                .unwrap_or(self.display_name),
            country: country.to_ascii_uppercase(),
            latitude: number(&self.lat, "latitude")?,
            longitude: number(&self.lon, "longitude")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use service_kit::config::Timeouts;
    use wiremock::matchers::{header, method, path, query_param};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    fn nominatim(server: &MockServer) -> Nominatim {
        let timeouts = Timeouts {
            connect: Duration::from_millis(500),
            total: Duration::from_secs(2),
        };
        let base = url::Url::parse(&server.uri()).unwrap();
        Nominatim::new(Upstream::new("nominatim", base, timeouts).with_user_agent("test-agent/1.0"))
    }

    #[tokio::test]
    async fn asks_with_our_user_agent_and_maps_the_first_hit() {
        let server = MockServer::start().await;
        let hit = serde_json::json!([{"lat": "52.5170365", "lon": "13.3888599", "name": "Berlin",
            "display_name": "Berlin, Deutschland", "address": {"country_code": "de"}}]);
        Mock::given(method("GET"))
            .and(path("/search"))
            .and(query_param("q", "berlin"))
            .and(query_param("format", "jsonv2"))
            .and(header("user-agent", "test-agent/1.0"))
            .respond_with(ResponseTemplate::new(200).set_body_json(hit))
            .expect(1)
            .mount(&server)
            .await;
        let place = nominatim(&server).locate("berlin").await.unwrap();
        assert_eq!(
            place,
            Coordinates {
                name: "Berlin".into(),
                country: "DE".into(),
                latitude: 52.5170365,
                longitude: 13.3888599
            }
        );
    }

    #[tokio::test]
    async fn no_hit_is_a_404_and_garbage_a_502() {
        let server = MockServer::start().await;
        Mock::given(query_param("q", "narnia"))
            .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!([])))
            .mount(&server)
            .await;
        Mock::given(query_param("q", "garbage"))
            .respond_with(
                ResponseTemplate::new(200).set_body_json(
                    serde_json::json!([{"lat": "x", "lon": "1", "display_name": "?"}]),
                ),
            )
            .mount(&server)
            .await;
        let nominatim = nominatim(&server);
        let missing = nominatim.locate("narnia").await.unwrap_err();
        assert_eq!(missing.status, StatusCode::NOT_FOUND);
        let garbage = nominatim.locate("garbage").await.unwrap_err();
        assert_eq!(garbage.status, StatusCode::BAD_GATEWAY);
        assert_eq!(garbage.message, "nominatim sent an invalid latitude: \"x\"");
    }

    /// Nominatim's policy: at most one request a second, however many callers there are.
    #[tokio::test]
    async fn concurrent_requests_start_at_least_a_second_apart() {
        let server = MockServer::start().await;
        Mock::given(path("/search"))
            .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!([])))
            .mount(&server)
            .await;
        let nominatim = nominatim(&server);
        let started = Instant::now();
        let (a, b, c) = tokio::join!(
            nominatim.locate("a"),
            nominatim.locate("b"),
            nominatim.locate("c")
        );
        assert!(
            a.is_err() && b.is_err() && c.is_err(),
            "all three were answered (404)"
        );
        // Three requests take at least two full intervals between them.
        assert!(
            started.elapsed() >= 2 * MIN_INTERVAL,
            "took only {:?}",
            started.elapsed()
        );
        assert_eq!(server.received_requests().await.unwrap().len(), 3);
    }
}
