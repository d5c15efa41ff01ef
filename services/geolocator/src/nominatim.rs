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
