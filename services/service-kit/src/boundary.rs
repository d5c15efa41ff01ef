//! Trust boundaries: which trace context crosses where.
//!
//! Propagation carries data from process to process: `traceparent` (which trace, which
//! span, sampled or not), `tracestate` (vendors' entries) and `baggage` (whatever our code
//! put there). Between our own services all of it travels. Where the other side is not ours,
//! OpenTelemetry's guidance applies: context from outside is untrusted, and nothing private
//! leaves through propagation.
//!
//! - Coming in from the public (the frontend): a stranger's `baggage` is dropped before the
//!   context is extracted, so it never reaches our services. `traceparent` and `tracestate`
//!   are kept: a browser or a caller that traces can start the trace, and they only name it.
//! - Going out to a third party (the ISS API, Nominatim): `traceparent` only, which holds
//!   random ids. Never our `baggage` or our `tracestate`.
//! - Nowhere an empty `tracestate`: the SDK's propagator writes one when there is nothing to
//!   say, and the header is then noise.

use axum::http::HeaderMap;

const TRACESTATE: &str = "tracestate";
const BAGGAGE: &str = "baggage";

/// Who is on the other side of a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Boundary {
    /// One of our own services: all of the context crosses.
    Inside,
    /// Anyone (for requests we serve) or a third party (for calls we make).
    Outside,
}

impl Boundary {
    /// Keeps of an incoming request's headers what may come in from the other side.
    pub fn admit(self, headers: &mut HeaderMap) {
        if self == Boundary::Outside {
            headers.remove(BAGGAGE);
        }
    }

    /// Keeps of an outgoing request's headers what may go out to the other side.
    pub fn release(self, headers: &mut HeaderMap) {
        if self == Boundary::Outside {
            headers.remove(BAGGAGE);
            headers.remove(TRACESTATE);
        }
        let empty = headers
            .get(TRACESTATE)
            .is_some_and(|value| value.as_bytes().trim_ascii().is_empty());
        if empty {
            headers.remove(TRACESTATE);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(k, v)| (k.parse().unwrap(), v.parse().unwrap()))
            .collect()
    }

    const TRACEPARENT: &str = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

    #[test]
    fn from_outside_only_the_trace_context_comes_in() {
        let mut h = headers(&[
            ("traceparent", TRACEPARENT),
            ("tracestate", "a=b"),
            ("baggage", "user.email=alice@example.com"),
        ]);
        Boundary::Outside.admit(&mut h);
        assert_eq!(h.get("traceparent").unwrap(), TRACEPARENT);
        assert_eq!(h.get("tracestate").unwrap(), "a=b");
        assert!(h.get("baggage").is_none());

        let mut inside = headers(&[("baggage", "session=abc")]);
        Boundary::Inside.admit(&mut inside);
        assert_eq!(inside.get("baggage").unwrap(), "session=abc");
    }

    #[test]
    fn to_outside_only_traceparent_goes_out() {
        let mut h = headers(&[
            ("traceparent", TRACEPARENT),
            ("tracestate", "a=b"),
            ("baggage", "session=abc"),
        ]);
        Boundary::Outside.release(&mut h);
        assert_eq!(h.get("traceparent").unwrap(), TRACEPARENT);
        assert!(h.get("tracestate").is_none());
        assert!(h.get("baggage").is_none());
    }

    #[test]
    fn inside_everything_goes_out_but_an_empty_tracestate() {
        let mut h = headers(&[
            ("traceparent", TRACEPARENT),
            ("tracestate", "a=b"),
            ("baggage", "session=abc"),
        ]);
        Boundary::Inside.release(&mut h);
        assert_eq!(h.len(), 3);

        let mut empty = headers(&[("traceparent", TRACEPARENT), ("tracestate", "")]);
        Boundary::Inside.release(&mut empty);
        assert!(empty.get("tracestate").is_none());
        assert_eq!(empty.get("traceparent").unwrap(), TRACEPARENT);
    }
}
