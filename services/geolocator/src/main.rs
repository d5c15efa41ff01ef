use std::process::ExitCode;

use geolocator::config::{Backend, Config};
use geolocator::gazetteer::Gazetteer;
use geolocator::{Geocoder, SERVICE_NAME};

#[tokio::main]
async fn main() -> ExitCode {
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(error) => return service_kit::exit_with_error(SERVICE_NAME, error),
    };
    if let Some(code) = service_kit::healthcheck::run_if_requested(config.listen) {
        return code;
    }
    let telemetry = telemetry::init(SERVICE_NAME);
    let result = run(&config).await;
    telemetry.shutdown();
    service_kit::exit(SERVICE_NAME, result)
}

async fn run(config: &Config) -> std::io::Result<()> {
    if config.backend == Backend::Gazetteer {
        // Parse the embedded data now rather than on the first request.
        let places = Gazetteer::embedded().len();
        tracing::info!("gazetteer loaded: {places} places");
    }
    let app = geolocator::app(Geocoder::from_config(config));
    service_kit::serve(SERVICE_NAME, config.listen, app).await
}
