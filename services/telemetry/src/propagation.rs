//! Context propagation: how a trace crosses from one service to the next.
//!
//! The caller writes its current span's context into the request's headers (W3C Trace
//! Context: `traceparent` and `tracestate`, plus W3C `baggage`); the callee reads them and
//! makes its own span a child of the caller's. That is all it takes for one trace to span
//! frontend -> gateway -> geolocator and iss-distance.

use std::borrow::Cow;

use http::HeaderMap;
use opentelemetry::Context;

/// Installs the propagators, as the global one.
// TODO(section 4): W3C Trace Context and W3C Baggage. Without them, the global propagator
// does nothing, and every service starts a trace of its own.
pub fn install() {}

/// The caller's context, from an incoming request's headers. Malformed or missing headers
/// give an empty context: the request is served anyway, as the start of a new trace.
pub fn extract(headers: &HeaderMap) -> Context {
    let _headers = without_malformed_traceparent(headers);
    // TODO(section 4): extract the context from `_headers` with the global propagator.
    Context::new()
}

/// Writes the current span's context into an outgoing request's headers.
// TODO(section 4): inject the current span's context with the global propagator.
pub fn inject_current(_headers: &mut HeaderMap) {}

/// The headers, without `traceparent` and `tracestate` if `traceparent` is malformed.
///
/// The SDK's propagator reads the ids as numbers, and so accepts ids shorter than the
/// standard's 32 and 16 digits; the standard says to ignore such a header. Without it (and
/// its `tracestate`) the request starts a new trace. Baggage still counts.
fn without_malformed_traceparent(headers: &HeaderMap) -> Cow<'_, HeaderMap> {
    let malformed = headers
        .get("traceparent")
        .is_some_and(|value| !well_formed_traceparent(value.as_bytes()));
    if !malformed {
        return Cow::Borrowed(headers);
    }
    let mut headers = headers.clone();
    headers.remove("traceparent");
    headers.remove("tracestate");
    Cow::Owned(headers)
}

/// `version-traceid-parentid-flags`: 2, 32, 16 and 2 lowercase hex digits (later versions
/// may append fields, which the propagator judges).
fn well_formed_traceparent(value: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(value) else {
        return false;
    };
    let lowercase_hex = |field: &str| {
        field
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    };
    // Every request that continues a trace comes through here: no allocation.
    let mut fields = text.trim().split('-');
    [2, 32, 16, 2].iter().all(|length| {
        fields
            .next()
            .is_some_and(|field| field.len() == *length && lowercase_hex(field))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_full_length_lowercase_ids_are_well_formed() {
        assert!(well_formed_traceparent(
            b"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
        ));
        assert!(!well_formed_traceparent(
            b"00-0af7651916cd43dd8448eb211c80319-b7ad6b7169203331-01"
        ));
        assert!(!well_formed_traceparent(
            b"00-0af7651916cd43dd8448eb211c80319c-b7ad6b71692033-01"
        ));
        assert!(!well_formed_traceparent(
            b"00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01"
        ));
        assert!(!well_formed_traceparent(b"garbage"));
        assert!(!well_formed_traceparent(b"\xff\xfe"));
    }

    #[test]
    fn a_malformed_traceparent_is_dropped_with_its_tracestate_and_baggage_stays() {
        let mut headers = HeaderMap::new();
        headers.insert("traceparent", "00-abc-def-01".parse().unwrap());
        headers.insert("tracestate", "a=b".parse().unwrap());
        headers.insert("baggage", "k=v".parse().unwrap());
        let kept = without_malformed_traceparent(&headers);
        assert!(kept.get("traceparent").is_none());
        assert!(kept.get("tracestate").is_none());
        assert_eq!(kept.get("baggage").unwrap(), "k=v");

        headers.insert(
            "traceparent",
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
                .parse()
                .unwrap(),
        );
        assert!(matches!(
            without_malformed_traceparent(&headers),
            Cow::Borrowed(_)
        ));
    }
}
