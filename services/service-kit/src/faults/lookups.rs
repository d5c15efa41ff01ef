//! geolocator's faults, around its handler: slow-lookups (a name with letters beyond ASCII
//! takes 1.2 s longer to find, and geolocator warns about the slow lookup) and sign-bug (a
//! range check on the answer's latitude that forgot the sign, so every place south of the
//! equator fails).
//!
//! Their log records name geolocator as their target (the instrumentation scope they are
//! exported with), as the handler's own would: nothing in the telemetry says "fault".

use std::time::{Duration, Instant};

use axum::body::{Body, to_bytes};
use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::ApiError;

/// How much longer slow-lookups makes a lookup: well below every caller's timeout.
pub const SLOW_LOOKUP: Duration = Duration::from_millis(1200);

/// The longest answer sign-bug reads: a place's coordinates are a few hundred bytes.
const ANSWER_BYTES: usize = 64 * 1024;

/// slow-lookups: waits [`SLOW_LOOKUP`] before looking up a name with letters beyond ASCII
/// (Zürich, São Paulo), and warns about the slow lookup with what the name looked like
/// rather than the name itself (it is what someone typed).
pub(super) async fn slow_lookup(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let Some(name) = super::location(&request).filter(|name| !name.is_ascii()) else {
        return next.run(request).await;
    };
    tokio::time::sleep(SLOW_LOOKUP).await;
    let response = next.run(request).await;
    let characters = name.chars().count();
    let beyond_ascii = name.chars().filter(|c| !c.is_ascii()).count();
    tracing::warn!(
        target: "geolocator",
        "slow lookup: {} ms for a name of {characters} characters, {beyond_ascii} of them beyond ASCII",
        started.elapsed().as_millis()
    );
    response
}

/// sign-bug: an answer whose latitude is below 0 becomes a 500, "out of range".
pub(super) async fn sign_bug(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    if response.status() != StatusCode::OK {
        return response;
    }
    let (parts, body) = response.into_parts();
    let Ok(answer) = to_bytes(body, ANSWER_BYTES).await else {
        return ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "cannot read the answer")
            .into_response();
    };
    match check_latitude(&answer) {
        Ok(()) => Response::from_parts(parts, Body::from(answer)),
        Err(problem) => {
            tracing::error!(target: "geolocator", "cannot answer: {problem}");
            ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, problem).into_response()
        }
    }
}

/// The range check that forgot the sign, on an answer's `latitude`.
fn check_latitude(answer: &[u8]) -> Result<(), String> {
    #[derive(serde::Deserialize)]
    struct Answer {
        latitude: f64,
    }
    match serde_json::from_slice::<Answer>(answer) {
        Ok(Answer { latitude }) if latitude < 0.0 => Err(format!(
            "latitude {latitude} is out of range: expected 0 to 90"
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{as_service, get};
    use super::super::{Fault, TEST_TURNS, set};
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn only_names_beyond_ascii_are_slow_and_only_while_it_is_on() {
        let _turn = TEST_TURNS.lock().await;
        let app = as_service("geolocator", r#"{"latitude": 47.4}"#);
        let took = |name: &'static str| {
            let app = app.clone();
            async move {
                let started = tokio::time::Instant::now();
                get(app, &format!("/coordinates?location={name}")).await;
                started.elapsed()
            }
        };
        assert_eq!(took("Z%C3%BCrich").await, Duration::ZERO, "off");
        set(Some(Fault::SlowLookups));
        assert_eq!(took("Z%C3%BCrich").await, SLOW_LOOKUP);
        assert_eq!(took("zurich").await, Duration::ZERO);
        set(None);
        assert_eq!(took("S%C3%A3o+Paulo").await, Duration::ZERO, "off again");
    }

    #[tokio::test]
    async fn only_southern_latitudes_fail_and_only_while_it_is_on() {
        let _turn = TEST_TURNS.lock().await;
        let south = as_service("geolocator", r#"{"latitude": -33.86785}"#);
        let north = as_service("geolocator", r#"{"latitude": 52.5}"#);
        assert_eq!(get(south.clone(), "/coordinates").await.0, 200, "off");
        set(Some(Fault::SignBug));
        assert_eq!(
            get(south.clone(), "/coordinates").await,
            (
                500,
                r#"{"error":"latitude -33.86785 is out of range: expected 0 to 90"}"#.into()
            )
        );
        assert_eq!(get(north, "/coordinates").await.0, 200);
        set(None);
        assert_eq!(get(south, "/coordinates").await.0, 200, "off again");
    }
}
