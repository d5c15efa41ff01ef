//! Received log records and a readable severity.

use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use opentelemetry_proto::tonic::logs::v1::LogRecord;

use crate::origin::{Origin, Protocol};
use crate::time::system_time;
use crate::value::{AttrValue, Attributes, attribute, attributes, optional_hex};

/// One log record as it arrived, with the resource and scope it was sent under.
#[derive(Clone, Debug, PartialEq)]
pub struct ReceivedLog {
    pub origin: Arc<Origin>,
    /// The untouched proto record, for anything the helpers below do not cover.
    pub record: LogRecord,
}

/// The six severity ranges of the OTel log data model.
///
/// The wire carries a number from 1 to 24 (four per range, e.g. 9-12 is `Info`); checks
/// usually care about the range, not the exact number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    Unspecified,
    Trace,
    Debug,
    Info,
    Warn,
    Error,
    Fatal,
}

impl Level {
    /// Maps a `SeverityNumber` to its range; out-of-range numbers are `Unspecified`.
    pub fn from_severity_number(number: i32) -> Level {
        match number {
            1..=4 => Level::Trace,
            5..=8 => Level::Debug,
            9..=12 => Level::Info,
            13..=16 => Level::Warn,
            17..=20 => Level::Error,
            21..=24 => Level::Fatal,
            _ => Level::Unspecified,
        }
    }
}

impl ReceivedLog {
    /// The severity range derived from `severity_number`.
    pub fn level(&self) -> Level {
        Level::from_severity_number(self.record.severity_number)
    }

    pub fn severity_number(&self) -> i32 {
        self.record.severity_number
    }

    /// The severity as the source named it (e.g. `WARN`), possibly empty.
    pub fn severity_text(&self) -> &str {
        &self.record.severity_text
    }

    pub fn body(&self) -> Option<AttrValue> {
        self.record.body.as_ref().map(AttrValue::from)
    }

    /// The body printed as text; empty if there is none.
    pub fn body_text(&self) -> String {
        self.body().map(|b| b.to_string()).unwrap_or_default()
    }

    /// The `event_name` field, set for structured events.
    pub fn event_name(&self) -> &str {
        &self.record.event_name
    }

    /// Hex trace id of the span that was active when the log was emitted, if any.
    pub fn trace_id(&self) -> Option<String> {
        optional_hex(&self.record.trace_id)
    }

    pub fn span_id(&self) -> Option<String> {
        optional_hex(&self.record.span_id)
    }

    pub fn attribute(&self, key: &str) -> Option<AttrValue> {
        attribute(&self.record.attributes, key)
    }

    pub fn attributes(&self) -> Attributes {
        attributes(&self.record.attributes)
    }

    /// When the event happened, falling back to when the SDK observed it
    /// (bridged logs often only set the latter).
    pub fn timestamp(&self) -> SystemTime {
        let nanos = match self.record.time_unix_nano {
            0 => self.record.observed_time_unix_nano,
            t => t,
        };
        system_time(nanos)
    }

    pub fn service_name(&self) -> Option<&str> {
        self.origin.service_name()
    }

    pub fn protocol(&self) -> Protocol {
        self.origin.protocol
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Level::Unspecified => "UNSPECIFIED",
            Level::Trace => "TRACE",
            Level::Debug => "DEBUG",
            Level::Info => "INFO",
            Level::Warn => "WARN",
            Level::Error => "ERROR",
            Level::Fatal => "FATAL",
        })
    }
}
