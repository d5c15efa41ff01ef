//! What the instrumentation libraries for axum/tower and reqwest really do next to this
//! workspace's OpenTelemetry (0.33.1, tracing-opentelemetry 0.34): the tests in `tests/`
//! back every claim that section 5 of the workshop makes about them
//! (`workshop/chapters/07-section-5-instrumentation-libraries.md`).
//!
//! Each test serves a small axum app (or calls a local server) with one library in place,
//! exports what the SDK records over real OTLP to the in-process receiver, and asserts on
//! what arrives, exactly as `workshop check` judges the services.
//!
//! This crate is the only one that links the libraries; the services never do.

use std::net::SocketAddr;

use axum::Router;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{MetricExporter, SpanExporter, WithExportConfig as _};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::metrics::{SdkMeterProvider, Temporality};
use opentelemetry_sdk::trace::SdkTracerProvider;
use otlp_receiver::{Receiver, ReceiverConfig, Store};
use tokio::runtime::Runtime;
use tracing::Subscriber;
use tracing_subscriber::Layer;
use tracing_subscriber::registry::LookupSpan;

/// The semantic conventions' bucket boundaries for HTTP durations, in seconds.
pub const CONVENTION_BOUNDARIES: [f64; 14] = [
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
];

/// The OTLP receiver, on a runtime of its own: the app under test runs on the test's
/// runtime, and the SDK's exports (blocking HTTP, from the SDK's threads) must be answered
/// while the test thread waits for them in `force_flush`.
pub struct Backend {
    runtime: Runtime,
    receiver: Option<Receiver>,
}

impl Backend {
    pub fn start() -> Backend {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("a runtime for the receiver");
        let receiver = runtime
            .block_on(Receiver::start(ReceiverConfig::ephemeral()))
            .expect("the receiver starts on free ports");
        Backend {
            runtime,
            receiver: Some(receiver),
        }
    }

    pub fn store(&self) -> Store {
        self.receiver().store()
    }

    fn receiver(&self) -> &Receiver {
        self.receiver.as_ref().expect("running until dropped")
    }

    fn endpoint(&self, signal: &str) -> String {
        format!("{}/v1/{signal}", self.receiver().http_endpoint())
    }

    /// A tracer provider of `service` 0.33 exporting to the receiver, as the services'.
    pub fn tracer_provider(&self, service: &'static str) -> SdkTracerProvider {
        let exporter = SpanExporter::builder()
            .with_http()
            .with_endpoint(self.endpoint("traces"))
            .build()
            .expect("an OTLP/HTTP span exporter");
        SdkTracerProvider::builder()
            .with_resource(resource(service))
            .with_batch_exporter(exporter)
            .build()
    }

    /// A meter provider of `service` exporting to the receiver, cumulative, as the services'.
    pub fn meter_provider(&self, service: &'static str) -> SdkMeterProvider {
        let exporter = MetricExporter::builder()
            .with_http()
            .with_endpoint(self.endpoint("metrics"))
            .with_temporality(Temporality::Cumulative)
            .build()
            .expect("an OTLP/HTTP metric exporter");
        SdkMeterProvider::builder()
            .with_resource(resource(service))
            .with_periodic_exporter(exporter)
            .build()
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        if let Some(receiver) = self.receiver.take() {
            self.runtime.block_on(receiver.shutdown());
        }
    }
}

fn resource(service: &'static str) -> Resource {
    Resource::builder_empty().with_service_name(service).build()
}

/// The span layer of the services (section 3): `tracing` spans become OpenTelemetry spans
/// of `provider`, through the services' own span filter (INFO and above).
pub fn span_layer_as_the_services_have_it<S>(provider: &SdkTracerProvider) -> impl Layer<S>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    tracing_opentelemetry::layer()
        .with_tracer(provider.tracer("library-evaluation"))
        .with_filter(telemetry::filter::spans())
}

/// A span layer that keeps every span, whatever its level and target.
pub fn span_layer_for_everything<S>(provider: &SdkTracerProvider) -> impl Layer<S>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    tracing_opentelemetry::layer()
        .with_tracer(provider.tracer("library-evaluation"))
        .with_filter(tracing_subscriber::filter::LevelFilter::TRACE)
}

/// A current-thread runtime for the app under test: its tasks run on the test's thread, so
/// a subscriber set with `tracing::subscriber::set_default` sees their spans.
pub fn app_runtime() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime for the app")
}

/// Serves `app` on a free loopback port, on the current runtime, until the runtime stops.
pub async fn serve(app: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a free port");
    let addr = listener.local_addr().expect("a bound port");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    addr
}

/// `GET url`, returning the status; a failed request fails the test.
pub async fn get(url: &str) -> u16 {
    get_with(url, &[]).await
}

/// `GET url` with extra headers, returning the status.
pub async fn get_with(url: &str, headers: &[(&str, &str)]) -> u16 {
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(5))
        .build()
        .expect("a client");
    let mut request = client.get(url);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {e}"))
        .status()
        .as_u16()
}
