use std::process::ExitCode;

use frontend::SERVICE_NAME;
use frontend::config::Config;

#[tokio::main]
async fn main() -> ExitCode {
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(error) => return service_kit::exit_with_error(SERVICE_NAME, error),
    };
    if let Some(code) = service_kit::healthcheck::run_if_requested(config.listen) {
        return code;
    }
    let telemetry = telemetry::init(SERVICE_NAME, env!("CARGO_PKG_VERSION"));
    let app = frontend::app(&config);
    let result = service_kit::serve_public(SERVICE_NAME, config.listen, app).await;
    telemetry.shutdown().await;
    service_kit::exit(SERVICE_NAME, result)
}
