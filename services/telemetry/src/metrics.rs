//! Metrics: a MeterProvider that exports over OTLP.
//!
//! The provider gives out meters; a meter creates instruments (counters, histograms...); a
//! periodic reader collects every instrument's value every `OTEL_METRIC_EXPORT_INTERVAL`
//! milliseconds (default 60 s) and hands it to the OTLP exporter.

use opentelemetry_otlp::ExporterBuildError;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::metrics::SdkMeterProvider;

/// The service's meter provider, or `None` while it exports no metrics.
// TODO(section 1): build a meter provider that exports over OTLP, with the service's
// resource, and install it as the global one.
pub fn provider(_resource: &Resource) -> Result<Option<SdkMeterProvider>, ExporterBuildError> {
    Ok(None)
}
