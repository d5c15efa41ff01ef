//! The Resource: which service the telemetry comes from.
//!
//! Every span, metric and log record a service sends carries its resource, so that a
//! backend can say "this came from gateway 0.1.0, in dev". The attribute names come from the
//! semantic conventions, so every backend understands them.

use opentelemetry::{KeyValue, Value};
use opentelemetry_sdk::Resource;
use opentelemetry_semantic_conventions::resource::SERVICE_NAME;

/// The resource of `service_name` at `version`.
// TODO(section 0): build the resource: the SDK's own attributes, then the service's name,
// version, environment and instance id, then what `OTEL_RESOURCE_ATTRIBUTES` and
// `OTEL_SERVICE_NAME` say.
pub fn build(_service_name: &'static str, _version: &'static str) -> Resource {
    Resource::builder_empty().build()
}

/// `OTEL_SERVICE_NAME`, which wins over the name a service gives itself. (The SDK's
/// `SdkProvidedResourceDetector` reads it too, but without it falls back to
/// `unknown_service`, which would win over our name.)
pub fn service_name_from_env() -> Option<KeyValue> {
    let name = std::env::var("OTEL_SERVICE_NAME").ok()?;
    (!name.is_empty()).then(|| KeyValue::new(SERVICE_NAME, name))
}

/// The resource's attributes as a JSON object, to print at start-up.
pub fn to_json(resource: &Resource) -> String {
    let attributes: serde_json::Map<String, serde_json::Value> = resource
        .iter()
        .map(|(key, value)| (key.to_string(), json(value)))
        .collect();
    serde_json::Value::Object(attributes).to_string()
}

fn json(value: &Value) -> serde_json::Value {
    match value {
        Value::Bool(b) => (*b).into(),
        Value::I64(i) => (*i).into(),
        Value::F64(f) => (*f).into(),
        other => other.to_string().into(),
    }
}
