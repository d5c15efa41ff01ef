//! HTTP spans, by the semantic conventions: a SERVER span around every request a service
//! answers, and a CLIENT span around every call it makes.
//!
//! This is what an instrumentation library for a web framework and an HTTP client does:
//! spans named and described the same way in every service, with the attributes every
//! backend understands (`http.request.method`, `http.route`, `url.full`,
//! `http.response.status_code`, ...) and a status that follows the conventions' rules.
//!
//! They are plain `tracing` spans: until the services export traces (section 3 of the
//! workshop) nobody sees them; from then on each service's spans form traces of their own;
//! and once the context travels with every call (section 4), one trace spans all four. The
//! same middleware times every request for the HTTP metrics of [`crate::http_metrics`]
//! (section 5).

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use telemetry::OpenTelemetrySpanExt;
use telemetry::opentelemetry::trace::Status;
use tracing::{Instrument, Span};
use url::Url;

use crate::boundary::Boundary;
use crate::http_metrics::{self, Served};
use crate::upstream::UpstreamError;

/// Middleware: serves the request inside a SERVER span, and records how long it took. What
/// the caller's headers may bring in depends on who `callers` are (see [`crate::boundary`]).
pub async fn trace_request(
    State(callers): State<Boundary>,
    mut request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    callers.admit(request.headers_mut());
    let method = http_metrics::known_method(request.method());
    let route = route(&request).to_owned();
    let span = server_span(method, &route, &request);
    // TODO(section 4): continue the caller's trace: make the span a child of the context
    // extracted from the request's headers (before the span is first entered, below).
    let response = next.run(request).instrument(span.clone()).await;
    let status = response.status();
    // As i64: OpenTelemetry attributes have no unsigned integers.
    span.record("http.response.status_code", i64::from(status.as_u16()));
    let served = Served {
        method,
        route: &route,
        status: status.as_u16(),
    };
    // For a server, only 5xx are its own failures; a 4xx is the caller's mistake, and its
    // span stays unset.
    if let Some(error_type) = served.error_type() {
        span.record("error.type", &error_type);
        span.set_status(Status::error(status.to_string()));
    }
    http_metrics::record_served(started.elapsed(), served);
    response
}

/// The route that matched, as axum knows it (`/distance`); the path if none did.
fn route(request: &Request) -> &str {
    request
        .extensions()
        .get::<MatchedPath>()
        .map_or(request.uri().path(), |path| path.as_str())
}

/// A span named like `GET /distance`: the method and the route, never the path itself (the
/// conventions keep names low-cardinality). The query string is left out everywhere: it
/// holds what people typed. (Public for `benches/telemetry_cost.rs`.)
pub fn server_span(method: &str, route: &str, request: &Request) -> Span {
    tracing::info_span!(
        "request",
        otel.name = format!("{method} {route}"),
        otel.kind = "server",
        http.request.method = method,
        http.route = route,
        url.path = request.uri().path(),
        url.scheme = "http",
        http.response.status_code = tracing::field::Empty,
        error.type = tracing::field::Empty,
    )
}

/// A CLIENT span for a `GET` of `url` (given without its query string: it holds what
/// people typed). Named after the method alone, as the conventions say.
pub fn client_span(url: &Url) -> Span {
    tracing::info_span!(
        "GET",
        otel.kind = "client",
        http.request.method = "GET",
        // The URL's own text: formatting it (`%url`) would build the same string again.
        url.full = url.as_str(),
        server.address = url.host_str(),
        server.port = url.port_or_known_default(),
        http.response.status_code = tracing::field::Empty,
        error.type = tracing::field::Empty,
    )
}

/// Records how a call ended on its CLIENT span. For a client, every failure is an error:
/// no answer, an error status (4xx included: our request was refused), or an answer we
/// cannot use.
pub fn record_outcome<T>(span: &Span, result: &Result<T, UpstreamError>) {
    if let Err(error) = result {
        span.record("error.type", error.error_type());
        span.set_status(Status::error(error.to_string()));
    }
}

/// Records the status an upstream answered with, on the current CLIENT span.
pub fn record_status(status: u16) {
    Span::current().record("http.response.status_code", i64::from(status));
}
