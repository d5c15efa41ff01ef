//! iss-distance: `GET /distance?latitude=..&longitude=..` answers how far the ISS is from
//! that point right now.
//!
//! ```json
//! {"distance_km": 1234.56, "iss": {"latitude": -12.3, "longitude": 45.6,
//!  "source": "open-notify", "timestamp": 1763800000}}
//! ```

pub mod backoff;
pub mod config;
pub mod distance;
pub mod memory;
pub mod metrics;
pub mod open_notify;
pub mod orbit;
pub mod position;

use std::sync::Arc;

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use service_kit::upstream::Upstream;
use service_kit::{ApiError, Query, params};

use crate::config::Config;
use crate::distance::{Point, great_circle_km};
use crate::position::{IssPosition, Locator};

pub const SERVICE_NAME: &str = "iss-distance";

/// The service's routes, ready to serve.
pub fn app(config: &Config) -> Router {
    let api = Upstream::third_party("open-notify", config.iss_api.clone(), config.timeouts);
    let locator = Locator::new(config.source, api, config.model.clone(), config.courtesy);
    Router::new()
        .route("/distance", get(distance))
        .with_state(Arc::new(locator))
}

#[derive(Debug, Deserialize)]
pub struct DistanceParams {
    latitude: Option<String>,
    longitude: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct DistanceResponse {
    pub distance_km: f64,
    pub iss: IssPosition,
}

// TODO(section 3): serve each request in a span of its own, `calculating-iss-distance`,
// whose status says when it failed.
async fn distance(
    State(locator): State<Arc<Locator>>,
    Query(params): Query<DistanceParams>,
) -> Result<Json<DistanceResponse>, ApiError> {
    metrics::count_incoming_request();
    // TODO(section 2): log that the distance is being calculated (nothing more: coordinates
    // can identify a person).
    calculate(&locator, &params).await.map(Json)
}

async fn calculate(
    locator: &Locator,
    params: &DistanceParams,
) -> Result<DistanceResponse, ApiError> {
    // TODO(section 2): log why a request is rejected, as a warning.
    let here = point(params)?;
    let iss = locator.locate().await?;
    let below_iss = Point {
        latitude: iss.latitude,
        longitude: iss.longitude,
    };
    let distance_km = round_to_10_metres(great_circle_km(here, below_iss));
    Ok(DistanceResponse { distance_km, iss })
}

fn point(params: &DistanceParams) -> Result<Point, ApiError> {
    Ok(Point {
        latitude: params::latitude(params.latitude.as_deref())?,
        longitude: params::longitude(params.longitude.as_deref())?,
    })
}

/// Two decimals: more would be noise (the ISS moves 7.7 km a second).
fn round_to_10_metres(km: f64) -> f64 {
    (km * 100.0).round() / 100.0
}
