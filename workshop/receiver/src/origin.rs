//! Where a received item came from: resource, instrumentation scope and protocol.
//!
//! OTLP groups items by resource and then by scope. Every item keeps a shared pointer to
//! its group's [`Origin`], so a batch of 512 spans stores the resource once, not 512 times.

use std::fmt;
use std::time::SystemTime;

use opentelemetry_proto::tonic::common::v1::InstrumentationScope;
use opentelemetry_proto::tonic::resource::v1::Resource;

use crate::value::{AttrValue, Attributes, attributes};

/// The transport an item arrived through.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// OTLP/gRPC (port 4317 by default).
    Grpc,
    /// OTLP/HTTP with protobuf or JSON bodies (port 4318 by default).
    Http,
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Protocol::Grpc => "grpc",
            Protocol::Http => "http",
        })
    }
}

/// The instrumentation scope (the library or module that produced the item).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Scope {
    pub name: String,
    pub version: String,
    pub attributes: Attributes,
}

/// Resource, scope and arrival details shared by every item of one OTLP group.
#[derive(Clone, Debug, PartialEq)]
pub struct Origin {
    /// Resource attributes such as `service.name`, flattened.
    pub resource: Attributes,
    pub scope: Scope,
    pub protocol: Protocol,
    /// When the receiver decoded the request (the receiver's clock, not the SDK's).
    pub received_at: SystemTime,
    /// The group's resource and scope as they came, for the tap to send on unchanged.
    pub(crate) sent: Sent,
}

/// A group's resource and scope in their proto form, schema URLs included: what the tap
/// needs to rebuild an export request (see `crate::repack`) that says what the SDK said.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Sent {
    pub resource: Option<Resource>,
    pub resource_schema_url: String,
    pub scope: Option<InstrumentationScope>,
    pub scope_schema_url: String,
}

impl Origin {
    pub(crate) fn new(sent: Sent, protocol: Protocol, received_at: SystemTime) -> Self {
        Origin {
            resource: sent
                .resource
                .as_ref()
                .map(|r| attributes(&r.attributes))
                .unwrap_or_default(),
            scope: sent.scope.as_ref().map(scope_of).unwrap_or_default(),
            protocol,
            received_at,
            sent,
        }
    }

    /// The `service.name` resource attribute, if the SDK set one.
    ///
    /// SDKs fall back to `unknown_service[:exe]` when it is missing, so a value starting
    /// with `unknown_service` usually means the attendee forgot to configure it.
    pub fn service_name(&self) -> Option<&str> {
        self.resource
            .get("service.name")
            .and_then(AttrValue::as_str)
    }
}

fn scope_of(scope: &InstrumentationScope) -> Scope {
    Scope {
        name: scope.name.clone(),
        version: scope.version.clone(),
        attributes: attributes(&scope.attributes),
    }
}
