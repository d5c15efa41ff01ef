//! Faults on demand: what each fault of the [`faults`] catalogue does to the services, for
//! the workshop's troubleshooting chapter (`workshop/chapters/09-find-the-fault.md`).
//!
//! This is plumbing: no section of the workshop touches it, and it is off unless a switch
//! file is given (`WORKSHOP_FAULT_FILE`, which only `workshop up` sets; see [`switch`] and
//! the catalogue for why a file). Off, every hook below reads one atomic and does nothing.
//!
//! Each hook acts where a real bug of its kind would, so that the telemetry the sections
//! build shows it as it would show the real one, and nothing in it says "fault"; none sits
//! in a service's own code, which is only about its job:
//!
//! - [`context`]: lost-context, a middleware in front of the SERVER span;
//! - [`in_handlers`], a middleware around the handlers, inside the SERVER span:
//!   [`memory`] (memory-leak, the gateway's) and [`lookups`] (slow-lookups and sign-bug,
//!   geolocator's);
//! - [`calls`]: retry-storm, connection-leak and captive-portal, in [`crate::upstream`].
//!
//! A fault never stops a service or loses telemetry: the requests it touches end in a
//! delay, an error answer or a fallback, all bounded. Switching it off undoes what it kept
//! (the leaked connections, the remembered requests).

pub mod calls;
pub mod context;
pub mod lookups;
pub mod memory;
pub mod switch;

use std::sync::atomic::{AtomicU8, Ordering};

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;

pub use ::faults::Fault;

/// The number of the fault that is on, or 0.
static ACTIVE: AtomicU8 = AtomicU8::new(0);

/// Whether `fault` is on in this process.
pub fn is_on(fault: Fault) -> bool {
    ACTIVE.load(Ordering::Relaxed) == fault.number()
}

/// The fault that is on in this process, if any.
pub fn active() -> Option<Fault> {
    Fault::from_number(ACTIVE.load(Ordering::Relaxed))
}

/// Switches `fault` on (or every fault off). What the fault that was on kept is given
/// back, and the fault that comes on starts afresh.
pub fn set(fault: Option<Fault>) {
    let new = fault.map_or(0, Fault::number);
    if ACTIVE.swap(new, Ordering::SeqCst) != new {
        calls::start_afresh();
        memory::forget();
    }
}

/// Middleware around the service's handlers, inside its SERVER span: the fault that is on,
/// if it is one of this service's handler.
pub async fn in_handlers(request: Request, next: Next) -> Response {
    around_handler(switch::service(), request, next).await
}

async fn around_handler(service: Option<&str>, request: Request, next: Next) -> Response {
    match (active(), service) {
        (Some(Fault::MemoryLeak), Some("gateway")) => memory::remember_request(request, next).await,
        (Some(Fault::SlowLookups), Some("geolocator")) => lookups::slow_lookup(request, next).await,
        (Some(Fault::SignBug), Some("geolocator")) => lookups::sign_bug(request, next).await,
        _ => next.run(request).await,
    }
}

/// The place a request asks for (`?location=`), as the handlers accept it; `None` for a
/// request they refuse.
fn location(request: &Request) -> Option<String> {
    let query = request.uri().query()?;
    let (_, raw) = url::form_urlencoded::parse(query.as_bytes()).find(|(k, _)| k == "location")?;
    crate::params::location(Some(&raw)).ok().map(str::to_owned)
}

/// The faults are global to the process; tests that switch them take turns.
#[cfg(test)]
pub(crate) static TEST_TURNS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[cfg(test)]
pub(crate) mod tests {
    use axum::Router;
    use axum::body::to_bytes;
    use axum::middleware::from_fn;
    use axum::routing::get as route;
    use tower::ServiceExt;

    use super::*;

    /// A handler that answers `answer` as JSON, behind [`around_handler`] as in `service`.
    pub fn as_service(service: &'static str, answer: &'static str) -> Router {
        let handler = move || async move { ([("content-type", "application/json")], answer) };
        Router::new()
            .route("/coordinates", route(handler))
            .route("/distance", route(handler))
            .route_layer(from_fn(move |request, next| {
                around_handler(Some(service), request, next)
            }))
    }

    /// `GET uri`: the status and the body.
    pub async fn get(app: Router, uri: &str) -> (u16, String) {
        let request = Request::get(uri).body(axum::body::Body::empty()).unwrap();
        let response = app.oneshot(request).await.unwrap();
        let status = response.status().as_u16();
        let body = to_bytes(response.into_body(), 1 << 20).await.unwrap();
        (status, String::from_utf8(body.to_vec()).unwrap())
    }
}
