//! The page, rendered from `templates/index.html` with askama (compiled into the binary and
//! HTML-escaped by default), and the small formatting helpers it uses.

use askama::Template;
use chrono::DateTime;

use crate::Answer;

#[derive(Template)]
#[template(path = "index.html")]
pub struct Page {
    /// What was typed, to keep it in the form.
    pub location: String,
    pub result: Option<Result>,
    pub error: Option<ErrorBox>,
}

/// A successful answer, ready to show.
pub struct Result {
    pub distance: String,
    pub place: String,
    pub iss_position: String,
    pub source: &'static str,
    pub time: String,
}

pub struct ErrorBox {
    pub message: String,
    /// The service that failed, if it was not the one we asked.
    pub upstream: Option<String>,
}

impl From<&Answer> for Result {
    fn from(answer: &Answer) -> Self {
        let place = &answer.location;
        Result {
            distance: format!("{} km", thousands(answer.distance_km.round() as i64)),
            place: format!("{}, {}", place.name, place.country),
            iss_position: degrees(answer.iss.latitude, answer.iss.longitude),
            source: match answer.iss.source.as_str() {
                "open-notify" => "live position from open-notify",
                _ => "estimated by the orbital model (offline fallback)",
            },
            time: DateTime::from_timestamp(answer.iss.timestamp, 0)
                .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
                .unwrap_or_else(|| "unknown time".into()),
        }
    }
}

/// 10921 -> "10,921".
pub fn thousands(value: i64) -> String {
    let digits = value.unsigned_abs().to_string();
    let mut grouped = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    if value < 0 {
        format!("-{grouped}")
    } else {
        grouped
    }
}

/// (-12.345, 45.6) -> "12.35° S, 45.60° E".
pub fn degrees(latitude: f64, longitude: f64) -> String {
    let ns = if latitude < 0.0 { 'S' } else { 'N' };
    let ew = if longitude < 0.0 { 'W' } else { 'E' };
    format!("{:.2}° {ns}, {:.2}° {ew}", latitude.abs(), longitude.abs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_thousands() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(10921), "10,921");
        assert_eq!(thousands(-1234567), "-1,234,567");
    }

    #[test]
    fn formats_hemispheres() {
        assert_eq!(degrees(-12.345, 45.6), "12.35° S, 45.60° E");
        assert_eq!(degrees(51.5, -0.12), "51.50° N, 0.12° W");
    }

    #[test]
    fn escapes_what_people_type() {
        let page = Page {
            location: "<script>alert(1)</script>".into(),
            result: None,
            error: Some(ErrorBox {
                message: "no place called \"<b>x</b>\"".into(),
                upstream: None,
            }),
        };
        let html = page.render().unwrap();
        assert!(!html.contains("<script>alert"), "{html}");
        let escaped = ["&lt;script&gt;", "&#60;script&#62;"];
        assert!(escaped.iter().any(|e| html.contains(e)), "{html}");
        assert!(!html.contains("<b>x</b>"));
    }
}
