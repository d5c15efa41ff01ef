//! Query parameters: extraction that always answers JSON, and validation of each parameter.
//!
//! Handlers take `Query<Params>` where every field is an `Option<String>`, then validate each
//! one here. Parsing numbers ourselves (rather than letting serde do it) is what lets the
//! error name the parameter and the problem, e.g. "latitude must be a number, got \"abc\"".

use axum::extract::FromRequestParts;
use axum::extract::rejection::QueryRejection;

use crate::ApiError;

/// axum's `Query`, but a malformed query string is a JSON 400 instead of a plain-text one.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct Query<T>(pub T);

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        ApiError::bad_request(format!("invalid query string: {}", rejection.body_text()))
    }
}

/// Longest accepted `location`, in characters: no place name is longer, and it bounds the
/// work (and the log lines) a single request can cause.
pub const MAX_LOCATION_CHARS: usize = 200;

/// A place name: present, not blank, at most [`MAX_LOCATION_CHARS`] characters. Trimmed.
pub fn location(raw: Option<&str>) -> Result<&str, ApiError> {
    let value =
        raw.ok_or_else(|| ApiError::bad_request("location is missing: add ?location=<place>"))?;
    let value = value.trim();
    if value.is_empty() {
        return Err(ApiError::bad_request("location must not be empty"));
    }
    let chars = value.chars().count();
    if chars > MAX_LOCATION_CHARS {
        return Err(ApiError::bad_request(format!(
            "location is too long: {chars} characters, at most {MAX_LOCATION_CHARS}"
        )));
    }
    Ok(value)
}

/// A latitude in degrees: a finite number from -90 to 90.
pub fn latitude(raw: Option<&str>) -> Result<f64, ApiError> {
    coordinate("latitude", raw, 90.0)
}

/// A longitude in degrees: a finite number from -180 to 180.
pub fn longitude(raw: Option<&str>) -> Result<f64, ApiError> {
    coordinate("longitude", raw, 180.0)
}

fn coordinate(name: &str, raw: Option<&str>, limit: f64) -> Result<f64, ApiError> {
    let text = raw.ok_or_else(|| ApiError::bad_request(format!("{name} is missing")))?;
    // Rust's f64 parser accepts "NaN" and "inf"; neither is a place on Earth.
    let value: f64 = text
        .trim()
        .parse()
        .ok()
        .filter(|v: &f64| v.is_finite())
        .ok_or_else(|| {
            ApiError::bad_request(format!("{name} must be a finite number, got {text:?}"))
        })?;
    if !(-limit..=limit).contains(&value) {
        return Err(ApiError::bad_request(format!(
            "{name} must be between -{limit} and {limit}, got {value}"
        )));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn location_is_trimmed_and_bounded() {
        assert_eq!(location(Some("  Berlin ")).unwrap(), "Berlin");
        assert!(location(None).unwrap_err().message.contains("missing"));
        assert!(location(Some("   ")).unwrap_err().message.contains("empty"));
        let long = "ä".repeat(MAX_LOCATION_CHARS + 1);
        assert!(
            location(Some(&long))
                .unwrap_err()
                .message
                .contains("201 characters")
        );
        assert!(
            location(Some(&"ä".repeat(MAX_LOCATION_CHARS))).is_ok(),
            "characters, not bytes"
        );
    }

    #[test]
    fn coordinates_are_finite_and_in_range() {
        assert_eq!(latitude(Some("52.52")).unwrap(), 52.52);
        assert_eq!(longitude(Some("-180")).unwrap(), -180.0);
        for bad in ["NaN", "inf", "-infinity", "abc", "", "1e999"] {
            let err = latitude(Some(bad)).unwrap_err();
            assert!(
                err.message.starts_with("latitude must be a finite number"),
                "{bad}: {err}"
            );
        }
        assert!(
            latitude(Some("90.0001"))
                .unwrap_err()
                .message
                .contains("between -90 and 90")
        );
        assert!(
            longitude(Some("181"))
                .unwrap_err()
                .message
                .contains("between -180 and 180")
        );
        assert_eq!(longitude(None).unwrap_err().message, "longitude is missing");
    }
}
