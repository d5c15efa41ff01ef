//! Where is the ISS now? From the open-notify API, from the orbital model, or from the API
//! with the model as a fallback (`ISS_SOURCE=api|model|auto`).
//!
//! The fallback is what keeps the workshop working on conference wifi: when the API is
//! unreachable, slow or answers garbage, the model still gives a plausible position, and
//! the answer says so in `source`.

use chrono::Utc;
use serde::{Deserialize, Serialize};
use service_kit::ApiError;
use service_kit::upstream::Upstream;

use axum::http::StatusCode;

use crate::open_notify::IssNow;
use crate::orbit::OrbitalModel;

/// Where positions come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Only the API: its failures are errors (502).
    Api,
    /// Only the orbital model: works offline.
    Model,
    /// The API, falling back to the model when it fails.
    Auto,
}

/// The ISS's position as we answer it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IssPosition {
    pub latitude: f64,
    pub longitude: f64,
    /// `"open-notify"` or `"orbital-model"`.
    pub source: String,
    /// When the position was valid, in seconds since the Unix epoch.
    pub timestamp: i64,
}

pub struct Locator {
    source: Source,
    api: Upstream,
    model: Option<OrbitalModel>,
}

impl Locator {
    /// `model` may be `None` only when `source` is [`Source::Api`].
    pub fn new(source: Source, api: Upstream, model: Option<OrbitalModel>) -> Self {
        assert!(
            source == Source::Api || model.is_some(),
            "{source:?} needs an orbital model"
        );
        Self { source, api, model }
    }

    pub async fn locate(&self) -> Result<IssPosition, ApiError> {
        match self.source {
            Source::Model => self.ask_model(),
            Source::Api => self.ask_api().await.map_err(api_failure),
            Source::Auto => match self.ask_api().await {
                Ok(position) => Ok(position),
                Err(_problem) => self.ask_model(),
            },
        }
    }

    async fn ask_api(&self) -> Result<IssPosition, String> {
        let now: IssNow = self
            .api
            .get_json("", &[])
            .await
            .map_err(|e| e.to_string())?;
        let position = now
            .position()
            .map_err(|e| format!("{} sent an unusable position: {e}", self.api.name()))?;
        Ok(IssPosition {
            latitude: position.latitude,
            longitude: position.longitude,
            source: "open-notify".into(),
            timestamp: position.timestamp,
        })
    }

    fn ask_model(&self) -> Result<IssPosition, ApiError> {
        let model = self.model.as_ref().expect("checked in Locator::new");
        let now = Utc::now();
        let point = model.position_at(now).map_err(|e| {
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("orbital model unavailable: {e}"),
            )
        })?;
        Ok(IssPosition {
            latitude: point.latitude,
            longitude: point.longitude,
            source: "orbital-model".into(),
            timestamp: now.timestamp(),
        })
    }
}

fn api_failure(problem: String) -> ApiError {
    ApiError::new(
        StatusCode::BAD_GATEWAY,
        format!("could not get the ISS position: {problem}"),
    )
    .from_upstream("iss-api")
}
