//! gateway: `GET /distance?location=Berlin` asks geolocator where the place is, then asks
//! iss-distance how far the ISS is from there, and answers both in one JSON document:
//!
//! ```json
//! {"location": {"query": "berlin", "name": "Berlin", "country": "DE",
//!               "latitude": 52.52437, "longitude": 13.41053},
//!  "iss": {"latitude": -12.3, "longitude": 45.6, "source": "open-notify", "timestamp": 1763800000},
//!  "distance_km": 1234.56}
//! ```
//!
//! Errors from the upstreams keep their meaning: their 4xx (an unknown place, a bad
//! parameter) are passed on with their message; their failures become 502, their timeouts
//! 504, and the JSON error names the upstream.

pub mod config;

use std::sync::Arc;

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use service_kit::upstream::Upstream;
use service_kit::{ApiError, Query, params};

use crate::config::Config;

pub const SERVICE_NAME: &str = "gateway";

/// The two services we call.
pub struct Upstreams {
    geolocator: Upstream,
    iss_distance: Upstream,
}

impl Upstreams {
    pub fn from_config(config: &Config) -> Self {
        Self {
            geolocator: Upstream::new("geolocator", config.geolocator.clone(), config.timeouts),
            iss_distance: Upstream::new(
                "iss-distance",
                config.iss_distance.clone(),
                config.timeouts,
            ),
        }
    }
}

/// The service's routes, ready to serve.
pub fn app(upstreams: Upstreams) -> Router {
    Router::new()
        .route("/distance", get(distance))
        .with_state(Arc::new(upstreams))
}

#[derive(Debug, Deserialize)]
pub struct DistanceParams {
    location: Option<String>,
}

/// geolocator's answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Place {
    pub name: String,
    pub country: String,
    pub latitude: f64,
    pub longitude: f64,
}

/// iss-distance's answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IssDistance {
    pub distance_km: f64,
    pub iss: IssPosition,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IssPosition {
    pub latitude: f64,
    pub longitude: f64,
    pub source: String,
    pub timestamp: i64,
}

/// Our answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DistanceResponse {
    pub location: Location,
    pub iss: IssPosition,
    pub distance_km: f64,
}

/// The place, with what was asked for: "berlin" may resolve to "Berlin".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Location {
    pub query: String,
    #[serde(flatten)]
    pub place: Place,
}

async fn distance(
    State(upstreams): State<Arc<Upstreams>>,
    Query(params): Query<DistanceParams>,
) -> Result<Json<DistanceResponse>, ApiError> {
    let query = params::location(params.location.as_deref())?;
    let place: Place = upstreams
        .geolocator
        .get_json("coordinates", &[("location", query)])
        .await?;
    let (latitude, longitude) = (place.latitude.to_string(), place.longitude.to_string());
    let answer: IssDistance = upstreams
        .iss_distance
        .get_json(
            "distance",
            &[("latitude", &latitude), ("longitude", &longitude)],
        )
        .await?;
    Ok(Json(DistanceResponse {
        location: Location {
            query: query.to_owned(),
            place,
        },
        iss: answer.iss,
        distance_km: answer.distance_km,
    }))
}
