//! Where is the ISS now? From the open-notify API, from the orbital model, or from the API
//! with the model as a fallback (`ISS_SOURCE=api|model|auto`).
//!
//! The fallback is what keeps the workshop working on conference wifi: when the API is
//! unreachable, slow or answers garbage, the model still gives a plausible position, and
//! the answer says so in `source`.

use chrono::Utc;
use serde::{Deserialize, Serialize};
use service_kit::ApiError;
use service_kit::upstream::{CallOutcome, Upstream, UpstreamError};

use axum::http::StatusCode;

use crate::metrics;
use crate::open_notify::ApiPosition;
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
                // TODO(section 2): log the failure, as an error: someone should know.
                Err(_failure) => self.ask_model(),
            },
        }
    }

    /// The position, from the ISS API.
    // TODO(section 3): in a span of its own, `getting-iss-coordinates`, with the position
    // it got as attributes, or the failure as its status.
    async fn ask_api(&self) -> Result<IssPosition, UpstreamError> {
        let answer = self.api.get_json::<ApiPosition>("", &[]).await;
        metrics::count_iss_request(CallOutcome::of(&answer));
        answer.map(IssPosition::from)
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

// TODO(section 2): log the failure, as an error.
fn api_failure(failure: UpstreamError) -> ApiError {
    ApiError::new(
        StatusCode::BAD_GATEWAY,
        format!("could not get the ISS position: {failure}"),
    )
    .from_upstream("iss-api")
}

impl From<ApiPosition> for IssPosition {
    fn from(position: ApiPosition) -> Self {
        IssPosition {
            latitude: position.latitude,
            longitude: position.longitude,
            source: "open-notify".into(),
            timestamp: position.timestamp,
        }
    }
}
