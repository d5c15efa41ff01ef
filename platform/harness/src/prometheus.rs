//! The real Prometheus, started with `platform/prometheus/prometheus.yaml` and the flags
//! `docker-compose.yml` gives it, and its HTTP API.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use platform_live::process::Process;

/// The flags of the `prometheus` service in docker-compose.yml, for a Prometheus on
/// 127.0.0.1:`port` keeping its data in `data` (see [`platform_live::prometheus::flags`]).
pub fn flags(repo: &Path, port: u16, data: &Path) -> Result<Vec<String>, String> {
    platform_live::prometheus::flags(repo, SocketAddr::from(([127, 0, 0, 1], port)), data)
}

/// `promtool check config` on the repository's config: `Err` holds promtool's message.
pub fn check_config(promtool: &Path, repo: &Path) -> Result<String, String> {
    let config = repo.join("platform/prometheus/prometheus.yaml");
    let output = std::process::Command::new(promtool)
        .args(["check", "config"])
        .arg(&config)
        .output()
        .map_err(|e| format!("cannot run {}: {e}", promtool.display()))?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    if output.status.success() {
        Ok(text)
    } else {
        Err(text)
    }
}

/// A running Prometheus; [`Prometheus::stop`] and [`Prometheus::restart`] keep its port and
/// data, as `docker compose stop/start` would.
pub struct Prometheus {
    binary: PathBuf,
    flags: Vec<String>,
    pub port: u16,
    pub process: Process,
}

pub use platform_live::prometheus::COLLECTOR_TARGET;

impl Prometheus {
    pub async fn start(
        binary: &Path,
        repo: &Path,
        port: u16,
        data: &Path,
    ) -> Result<Prometheus, String> {
        Prometheus::start_scraping(binary, repo, port, data, &[]).await
    }

    /// Like [`Prometheus::start`], with scrape targets that are compose addresses (e.g.
    /// [`COLLECTOR_TARGET`]) replaced by where the test runs them. The config is then a
    /// copy, `<data>.yaml`, that differs from the repository's in those addresses only.
    pub async fn start_scraping(
        binary: &Path,
        repo: &Path,
        port: u16,
        data: &Path,
        targets: &[(&str, SocketAddr)],
    ) -> Result<Prometheus, String> {
        let mut flags = flags(repo, port, data)?;
        if !targets.is_empty() {
            platform_live::prometheus::scrape(&mut flags, &data.with_extension("yaml"), targets)?;
        }
        let process = launch(binary, &flags, port).await?;
        Ok(Prometheus {
            binary: binary.to_owned(),
            flags,
            port,
            process,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    pub async fn stop(&mut self) {
        self.process.stop(Duration::from_secs(15)).await;
    }

    pub async fn restart(&mut self) -> Result<(), String> {
        self.stop().await;
        self.process = launch(&self.binary, &self.flags, self.port).await?;
        Ok(())
    }

    /// An instant query: every series with its labels (`__name__` included when the
    /// result keeps it) and its value.
    pub async fn query(&self, expr: &str) -> Result<Vec<Series>, String> {
        self.query_at(expr, None).await
    }

    /// An instant query evaluated at `time` (Unix seconds), or now.
    pub async fn query_at(&self, expr: &str, time: Option<f64>) -> Result<Vec<Series>, String> {
        let mut params = vec![("query", expr.to_owned())];
        if let Some(time) = time {
            params.push(("time", format!("{time:.3}")));
        }
        let body = self.api("query", &params).await?;
        if body["status"] != "success" {
            return Err(format!(
                "Prometheus refused `{expr}`: {}",
                body["error"].as_str().unwrap_or("?")
            ));
        }
        Ok(series(&body["data"]))
    }

    /// `GET /api/v1/<endpoint>?<params>`, as JSON.
    async fn api(
        &self,
        endpoint: &str,
        params: &[(&str, String)],
    ) -> Result<serde_json::Value, String> {
        let url = format!("http://127.0.0.1:{}/api/v1/{endpoint}", self.port);
        let request = platform_live::http::client().get(&url).query(params);
        let body = match request.send().await {
            Ok(response) => response.json().await,
            Err(error) => Err(error),
        };
        body.map_err(|e| format!("{url}: {e}"))
    }

    /// Exemplars of the series `expr` selects over the last `window`: the label sets of
    /// the exemplars (e.g. `trace_id`).
    pub async fn exemplars(
        &self,
        expr: &str,
        window: Duration,
    ) -> Result<Vec<BTreeMap<String, String>>, String> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        let params = [
            ("query", expr.to_owned()),
            ("start", (now - window.as_secs_f64()).to_string()),
            ("end", now.to_string()),
        ];
        let body = self.api("query_exemplars", &params).await?;
        Ok(body["data"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|s| s["exemplars"].as_array().cloned().unwrap_or_default())
            .map(|e| labels(&e["labels"]))
            .collect())
    }
}

async fn launch(binary: &Path, flags: &[String], port: u16) -> Result<Process, String> {
    platform_live::prometheus::launch(binary, flags, port).await
}

/// One series of an instant query's result.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

fn series(data: &serde_json::Value) -> Vec<Series> {
    match data["resultType"].as_str() {
        Some("vector") => data["result"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|s| Series {
                labels: labels(&s["metric"]),
                value: s["value"][1]
                    .as_str()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(f64::NAN),
            })
            .collect(),
        Some("scalar") => vec![Series {
            labels: BTreeMap::new(),
            value: data["result"][1]
                .as_str()
                .and_then(|v| v.parse().ok())
                .unwrap_or(f64::NAN),
        }],
        _ => Vec::new(),
    }
}

fn labels(v: &serde_json::Value) -> BTreeMap<String, String> {
    v.as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
        .collect()
}
