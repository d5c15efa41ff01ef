//! geolocator: `GET /coordinates?location=Berlin` answers where a place is.
//!
//! ```json
//! {"name": "Berlin", "country": "DE", "latitude": 52.52437, "longitude": 13.41053}
//! ```
//!
//! By default places come from an embedded gazetteer (GeoNames cities15000), so the service
//! works offline; `GEOCODER=nominatim` asks OpenStreetMap's Nominatim instead.

pub mod config;
pub mod gazetteer;
pub mod nominatim;

use std::sync::Arc;

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use service_kit::upstream::Upstream;
use service_kit::{ApiError, Query, params};

use crate::config::{Backend, Config};
use crate::gazetteer::{Gazetteer, Place};
use crate::nominatim::Nominatim;

pub const SERVICE_NAME: &str = "geolocator";

/// Where a place is, as we answer it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Coordinates {
    pub name: String,
    /// ISO 3166-1 alpha-2 country code.
    pub country: String,
    pub latitude: f64,
    pub longitude: f64,
}

/// Something that turns a place name into coordinates.
pub enum Geocoder {
    Gazetteer(&'static Gazetteer),
    // Boxed: a client with its settings is far larger than a reference, and the gazetteer
    // is the common case.
    Nominatim(Box<Nominatim>),
}

impl Geocoder {
    pub fn from_config(config: &Config) -> Self {
        match config.backend {
            // Parsing the embedded data here, at start-up, keeps it off the first request.
            Backend::Gazetteer => Geocoder::Gazetteer(Gazetteer::embedded()),
            Backend::Nominatim => {
                let upstream = Upstream::third_party(
                    "nominatim",
                    config.nominatim_url.clone(),
                    config.timeouts,
                )
                .with_user_agent(&config.nominatim_user_agent);
                Geocoder::Nominatim(Box::new(Nominatim::new(upstream)))
            }
        }
    }

    pub async fn locate(&self, query: &str) -> Result<Coordinates, ApiError> {
        match self {
            Geocoder::Gazetteer(gazetteer) => gazetteer
                .lookup(query)
                .map(Coordinates::from)
                .ok_or_else(|| {
                    ApiError::not_found(format!("no place called {query:?} in the gazetteer"))
                }),
            Geocoder::Nominatim(nominatim) => nominatim.locate(query).await,
        }
    }
}

impl From<&Place> for Coordinates {
    fn from(place: &Place) -> Self {
        Coordinates {
            name: place.name.clone(),
            country: place.country.clone(),
            latitude: place.latitude,
            longitude: place.longitude,
        }
    }
}

/// The service's routes, ready to serve.
pub fn app(geocoder: Geocoder) -> Router {
    Router::new()
        .route("/coordinates", get(coordinates))
        .with_state(Arc::new(geocoder))
}

#[derive(Debug, Deserialize)]
pub struct CoordinatesParams {
    location: Option<String>,
}

async fn coordinates(
    State(geocoder): State<Arc<Geocoder>>,
    Query(params): Query<CoordinatesParams>,
) -> Result<Json<Coordinates>, ApiError> {
    let location = params::location(params.location.as_deref())?;
    Ok(Json(geocoder.locate(location).await?))
}
