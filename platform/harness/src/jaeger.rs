//! The real Jaeger v2 on `platform/jaeger/config.yaml` (the file `platform/jaeger/compose.yml`
//! mounts), and its query API.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use platform_check::{command_args, compose_services, flag_values, host_path_of, load_yaml};

use platform_live::process::{Ports, Process};
use tokio::process::Command;

pub struct Jaeger {
    pub otlp_grpc: u16,
    pub query_http: u16,
    pub process: Process,
}

impl Jaeger {
    pub async fn start(binary: &Path, repo: &Path, ports: &mut Ports) -> Result<Jaeger, String> {
        let compose = load_yaml("platform/jaeger/compose.yml");
        let service = compose_services(&compose)
            .remove("jaeger")
            .ok_or("platform/jaeger/compose.yml: no jaeger service")?;
        let config = flag_values(&command_args(&service), "config")
            .pop()
            .and_then(|path| host_path_of(&service, &path, repo))
            .ok_or("platform/jaeger/compose.yml: the jaeger config is not mounted")?;
        let (otlp_grpc, query_http) = (ports.take(), ports.take());
        let mut command = Command::new(binary);
        command
            .arg(format!("--config={}", config.display()))
            .env(
                "JAEGER_OTLP_GRPC_ENDPOINT",
                format!("127.0.0.1:{otlp_grpc}"),
            )
            .env(
                "JAEGER_QUERY_HTTP_ENDPOINT",
                format!("127.0.0.1:{query_http}"),
            )
            .env(
                "JAEGER_QUERY_GRPC_ENDPOINT",
                format!("127.0.0.1:{}", ports.take()),
            )
            .env(
                "JAEGER_HEALTH_ENDPOINT",
                format!("127.0.0.1:{}", ports.take()),
            )
            .env("JAEGER_TELEMETRY_HOST", "127.0.0.1")
            .env("JAEGER_TELEMETRY_PORT", ports.take().to_string());
        let mut process = Process::spawn("jaeger", command, false)
            .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
        let ready = format!("http://127.0.0.1:{query_http}/api/services");
        if let Err(why) = process.ready(&ready, Duration::from_secs(30)).await {
            let output = process.output().tail(30);
            return Err(format!("Jaeger did not start ({why}):\n{output}"));
        }
        Ok(Jaeger {
            otlp_grpc,
            query_http,
            process,
        })
    }

    pub fn otlp_addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.otlp_grpc))
    }

    /// The services that have spans in a trace, from `GET /api/traces/<id>`; empty when
    /// Jaeger does not know the trace (yet).
    pub async fn trace_services(&self, trace_id: &str) -> Result<BTreeSet<String>, String> {
        let url = format!("http://127.0.0.1:{}/api/traces/{trace_id}", self.query_http);
        let response = platform_live::http::client()
            .get(&url)
            .send()
            .await
            .map_err(|e| format!("{url}: {e}"))?;
        if response.status() == 404 {
            return Ok(BTreeSet::new());
        }
        let body: serde_json::Value = response.json().await.map_err(|e| format!("{url}: {e}"))?;
        Ok(services_of(&body))
    }
}

/// The service names of the processes that spans of the answer refer to.
fn services_of(body: &serde_json::Value) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for trace in body["data"].as_array().into_iter().flatten() {
        for span in trace["spans"].as_array().into_iter().flatten() {
            let process = span["processID"].as_str().unwrap_or_default();
            if let Some(name) = trace["processes"][process]["serviceName"].as_str() {
                out.insert(name.to_owned());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_services_are_those_of_the_spans_processes() {
        let body = serde_json::json!({"data": [{
            "traceID": "ab",
            "spans": [{"processID": "p1"}, {"processID": "p2"}, {"processID": "p1"}],
            "processes": {
                "p1": {"serviceName": "gateway"},
                "p2": {"serviceName": "frontend"},
                "p3": {"serviceName": "unused"}
            }
        }]});
        let services: Vec<_> = super::services_of(&body).into_iter().collect();
        assert_eq!(services, ["frontend", "gateway"]);
    }
}
