//! frontend: the web page. `GET /` shows a form; `GET /?location=Berlin` also shows how far
//! the ISS is from Berlin right now, or, if something went wrong, an error box with the
//! message of the service that failed.
//!
//! The form uses GET so that results can be shared as links. Everything the page needs is
//! inlined in the HTML (no fonts, scripts or stylesheets from elsewhere), so it renders on
//! a conference network with no internet.

pub mod config;
pub mod page;

use std::sync::Arc;

use askama::Template;
use axum::extract::State;
use axum::extract::rejection::QueryRejection;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Router, extract::Query};
use serde::Deserialize;
use service_kit::ApiError;
use service_kit::upstream::Upstream;
use tower_http::set_header::SetResponseHeaderLayer;

use crate::config::Config;
use crate::page::{ErrorBox, Page};

pub const SERVICE_NAME: &str = "frontend";

/// The service's routes, ready to serve.
pub fn app(config: &Config) -> Router {
    let gateway = Upstream::new("gateway", config.gateway.clone(), config.timeouts);
    Router::new()
        .route("/", get(index))
        .route("/style.css", get(style))
        .with_state(Arc::new(gateway))
        // The page loads nothing from elsewhere, so its Content-Security-Policy allows only
        // the frontend itself: no frames, no `<base>`, forms only to itself. `nosniff` makes
        // browsers trust our content types; no `Referer` leaves with the page's links.
        .layer(protective_header(
            "content-security-policy",
            CONTENT_SECURITY_POLICY,
        ))
        .layer(protective_header("x-content-type-options", "nosniff"))
        .layer(protective_header("referrer-policy", "no-referrer"))
}

pub const CONTENT_SECURITY_POLICY: &str =
    "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

fn protective_header(
    name: &'static str,
    value: &'static str,
) -> SetResponseHeaderLayer<HeaderValue> {
    SetResponseHeaderLayer::if_not_present(
        HeaderName::from_static(name),
        HeaderValue::from_static(value),
    )
}

/// The page's stylesheet, from the binary.
async fn style() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../templates/style.css"),
    )
}

#[derive(Debug, Deserialize)]
pub struct IndexParams {
    location: Option<String>,
}

/// The gateway's answer; only the fields the page shows.
#[derive(Debug, Deserialize)]
pub struct Answer {
    pub location: Place,
    pub iss: Iss,
    pub distance_km: f64,
}

#[derive(Debug, Deserialize)]
pub struct Place {
    pub name: String,
    pub country: String,
}

#[derive(Debug, Deserialize)]
pub struct Iss {
    pub latitude: f64,
    pub longitude: f64,
    pub source: String,
    pub timestamp: i64,
}

async fn index(
    State(gateway): State<Arc<Upstream>>,
    params: Result<Query<IndexParams>, QueryRejection>,
) -> Response {
    let location = match params {
        Ok(Query(params)) => params.location,
        // A malformed query string is shown in the page too, never as a bare error.
        Err(rejection) => return render(String::new(), Err(ApiError::from(rejection))),
    };
    let Some(location) = location else {
        return render(String::new(), Ok(None));
    };
    let answer = gateway
        .get_json::<Answer>("distance", &[("location", &location)])
        .await;
    render(location, answer.map(Some).map_err(ApiError::from))
}

/// The page with the form, and the answer or the error. The status code is the error's, so
/// that scripts and load tests see failures without parsing HTML.
fn render(location: String, outcome: Result<Option<Answer>, ApiError>) -> Response {
    let (status, page) = match outcome {
        Ok(answer) => (
            StatusCode::OK,
            Page {
                location,
                result: answer.as_ref().map(Into::into),
                error: None,
            },
        ),
        Err(error) => (
            error.status,
            Page {
                location,
                result: None,
                error: Some(ErrorBox {
                    message: error.message,
                    upstream: error.upstream,
                }),
            },
        ),
    };
    match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(error) => ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("cannot render the page: {error}"),
        )
        .into_response(),
    }
}
