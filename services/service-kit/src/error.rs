//! The one error type every handler returns.
//!
//! Clients always get JSON, `{"error": "..."}`, with a status code that says whose fault it
//! was: 4xx for the caller's mistakes, 502/504 when something we depend on failed. Errors
//! from an upstream service also name it in `"upstream"`, so the frontend can say which
//! service failed.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, thiserror::Error)]
#[error("{message}")]
pub struct ApiError {
    #[serde(skip, default = "internal")]
    pub status: StatusCode,
    #[serde(rename = "error")]
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub upstream: Option<String>,
}

fn internal() -> StatusCode {
    StatusCode::INTERNAL_SERVER_ERROR
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            upstream: None,
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }

    /// Marks the error as coming from (or caused by) the named upstream service.
    pub fn from_upstream(mut self, upstream: &str) -> Self {
        self.upstream = Some(upstream.to_owned());
        self
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(&self)).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialises_as_error_with_optional_upstream() {
        let plain = ApiError::bad_request("location is missing");
        assert_eq!(
            serde_json::to_value(&plain).unwrap(),
            serde_json::json!({"error": "location is missing"})
        );
        let upstream = ApiError::new(StatusCode::BAD_GATEWAY, "down").from_upstream("geolocator");
        assert_eq!(
            serde_json::to_value(&upstream).unwrap(),
            serde_json::json!({"error": "down", "upstream": "geolocator"})
        );
    }
}
