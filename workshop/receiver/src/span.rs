//! Received spans and readable forms of their kind and status.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use opentelemetry_proto::tonic::trace::v1::{Span, span, status};

use crate::origin::{Origin, Protocol};
use crate::time::system_time;
use crate::value::{AttrValue, Attributes, attribute, attributes, hex, optional_hex};

/// One span as it arrived, with the resource and scope it was sent under.
#[derive(Clone, Debug, PartialEq)]
pub struct ReceivedSpan {
    pub origin: Arc<Origin>,
    /// The untouched proto span, for anything the helpers below do not cover.
    pub span: Span,
}

/// What role the span plays in a request (`SpanKind` in the OTel API).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SpanKind {
    Unspecified,
    Internal,
    Server,
    Client,
    Producer,
    Consumer,
}

/// The span status code. `Unset` is what most successful spans carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StatusCode {
    Unset,
    Ok,
    Error,
}

/// Status code plus the description, which SDKs only send for `Error`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpanStatus {
    pub code: StatusCode,
    pub message: String,
}

impl ReceivedSpan {
    pub fn name(&self) -> &str {
        &self.span.name
    }

    /// The trace id as 32 lower-case hex digits.
    pub fn trace_id(&self) -> String {
        hex(&self.span.trace_id)
    }

    /// The span id as 16 lower-case hex digits.
    pub fn span_id(&self) -> String {
        hex(&self.span.span_id)
    }

    /// The parent's span id in hex, or `None` for a root span.
    /// The W3C `tracestate` of the span's context (empty when there is none).
    pub fn trace_state(&self) -> &str {
        &self.span.trace_state
    }

    pub fn parent_span_id(&self) -> Option<String> {
        optional_hex(&self.span.parent_span_id)
    }

    pub fn is_root(&self) -> bool {
        self.span.parent_span_id.is_empty()
    }

    /// True if `other` is this span's direct parent (same trace, matching id).
    pub fn is_child_of(&self, other: &ReceivedSpan) -> bool {
        self.span.trace_id == other.span.trace_id && self.span.parent_span_id == other.span.span_id
    }

    pub fn kind(&self) -> SpanKind {
        match span::SpanKind::try_from(self.span.kind) {
            Ok(span::SpanKind::Internal) => SpanKind::Internal,
            Ok(span::SpanKind::Server) => SpanKind::Server,
            Ok(span::SpanKind::Client) => SpanKind::Client,
            Ok(span::SpanKind::Producer) => SpanKind::Producer,
            Ok(span::SpanKind::Consumer) => SpanKind::Consumer,
            Ok(span::SpanKind::Unspecified) | Err(_) => SpanKind::Unspecified,
        }
    }

    pub fn status(&self) -> SpanStatus {
        let Some(proto) = &self.span.status else {
            return SpanStatus {
                code: StatusCode::Unset,
                message: String::new(),
            };
        };
        let code = match status::StatusCode::try_from(proto.code) {
            Ok(status::StatusCode::Ok) => StatusCode::Ok,
            Ok(status::StatusCode::Error) => StatusCode::Error,
            Ok(status::StatusCode::Unset) | Err(_) => StatusCode::Unset,
        };
        SpanStatus {
            code,
            message: proto.message.clone(),
        }
    }

    /// One span attribute by key, e.g. `span.attribute("http.route")`.
    pub fn attribute(&self, key: &str) -> Option<AttrValue> {
        attribute(&self.span.attributes, key)
    }

    pub fn attributes(&self) -> Attributes {
        attributes(&self.span.attributes)
    }

    /// Names of the span's events, in the order they were recorded.
    pub fn event_names(&self) -> Vec<&str> {
        self.span.events.iter().map(|e| e.name.as_str()).collect()
    }

    pub fn start_time(&self) -> SystemTime {
        system_time(self.span.start_time_unix_nano)
    }

    /// End minus start; zero if the SDK sent them out of order.
    pub fn duration(&self) -> Duration {
        let nanos = self
            .span
            .end_time_unix_nano
            .saturating_sub(self.span.start_time_unix_nano);
        Duration::from_nanos(nanos)
    }

    pub fn service_name(&self) -> Option<&str> {
        self.origin.service_name()
    }

    pub fn protocol(&self) -> Protocol {
        self.origin.protocol
    }
}

impl fmt::Display for SpanKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

impl fmt::Display for StatusCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}
