//! The open-notify "iss-now" API: `{"message": "success", "timestamp": 1700000000,
//! "iss_position": {"latitude": "12.3", "longitude": "-45.6"}}`.
//!
//! Coordinates arrive as strings. Anything that is not a success with two finite, in-range
//! coordinates is rejected while the answer is decoded, so that garbage can never become a
//! position (the original workshop silently turned failures into the point 0, 0), and so
//! that a call answered with garbage fails like any other call that gave nothing usable.

use serde::Deserialize;

#[derive(Debug, Deserialize)]
struct IssNow {
    message: String,
    timestamp: i64,
    iss_position: RawPosition,
}

#[derive(Debug, Deserialize)]
struct RawPosition {
    latitude: Number,
    longitude: Number,
}

/// open-notify sends numbers as strings; accept plain numbers too, as some mirrors do.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Number {
    Text(String),
    Plain(f64),
}

/// A checked position from the API: latitude, longitude (degrees), unix timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(try_from = "IssNow")]
pub struct ApiPosition {
    pub latitude: f64,
    pub longitude: f64,
    pub timestamp: i64,
}

impl TryFrom<IssNow> for ApiPosition {
    type Error = String;

    fn try_from(now: IssNow) -> Result<Self, String> {
        if now.message != "success" {
            return Err(format!("message is {:?}, not \"success\"", now.message));
        }
        Ok(ApiPosition {
            latitude: now.iss_position.latitude.degrees("latitude", 90.0)?,
            longitude: now.iss_position.longitude.degrees("longitude", 180.0)?,
            timestamp: now.timestamp,
        })
    }
}

impl Number {
    fn degrees(&self, name: &str, limit: f64) -> Result<f64, String> {
        let value = match self {
            Number::Text(text) => text
                .trim()
                .parse::<f64>()
                .map_err(|_| format!("{name} {text:?} is not a number"))?,
            Number::Plain(value) => *value,
        };
        if value.is_finite() && value.abs() <= limit {
            Ok(value)
        } else {
            Err(format!("{name} {value} is out of range"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<ApiPosition, String> {
        serde_json::from_str::<ApiPosition>(json).map_err(|e| e.to_string())
    }

    #[test]
    fn reads_the_documented_format() {
        let body = r#"{"message": "success", "timestamp": 1763800000,
                       "iss_position": {"latitude": "-51.2", "longitude": "120.75"}}"#;
        assert_eq!(
            parse(body),
            Ok(ApiPosition {
                latitude: -51.2,
                longitude: 120.75,
                timestamp: 1763800000
            })
        );
    }

    #[test]
    fn accepts_plain_numbers() {
        let body =
            r#"{"message":"success","timestamp":1,"iss_position":{"latitude":1.5,"longitude":2}}"#;
        assert_eq!(parse(body).unwrap().longitude, 2.0);
    }

    #[test]
    fn rejects_garbage() {
        let cases = [
            r#"{"message":"failure","timestamp":1,"iss_position":{"latitude":"1","longitude":"2"}}"#,
            r#"{"message":"success","timestamp":1,"iss_position":{"latitude":"north","longitude":"2"}}"#,
            r#"{"message":"success","timestamp":1,"iss_position":{"latitude":"NaN","longitude":"2"}}"#,
            r#"{"message":"success","timestamp":1,"iss_position":{"latitude":"91","longitude":"2"}}"#,
            r#"{"message":"success","timestamp":1}"#,
            r#"[]"#,
        ];
        for body in cases {
            assert!(parse(body).is_err(), "accepted {body}");
        }
        assert!(
            parse(cases[1])
                .unwrap_err()
                .contains(r#"latitude "north" is not a number"#),
            "the reason is kept"
        );
    }
}
