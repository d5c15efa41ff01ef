//! lost-context: iss-distance ignores the trace context it is sent, as it would behind a
//! proxy that passes on only the headers it knows. Its SERVER span then starts a trace of
//! its own: the gateway's call to it has no child, and iss-distance's spans and logs sit
//! in traces nobody asked for.

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;

use super::{Fault, is_on, switch};

/// The headers that carry the context (W3C Trace Context and Baggage).
const CONTEXT_HEADERS: [&str; 3] = ["traceparent", "tracestate", "baggage"];

/// The service that loses the context.
const SERVICE: &str = "iss-distance";

/// Middleware, in front of the SERVER span (which reads the headers): with lost-context
/// on, the request loses its context headers first.
pub async fn drop_context(mut request: Request, next: Next) -> Response {
    if is_on(Fault::LostContext) && switch::service() == Some(SERVICE) {
        for name in CONTEXT_HEADERS {
            request.headers_mut().remove(name);
        }
    }
    next.run(request).await
}
