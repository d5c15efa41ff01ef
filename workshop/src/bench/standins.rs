//! The stand-ins `bench` runs in this process: the ISS API, an OTLP receiver and a
//! blackholed collector. The first two run on threads of their own, so that their CPU time
//! is reported apart from the load generator's.

use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context;
use otlp_receiver::{Limits, Receiver, ReceiverConfig, Stats};

use super::cpu::current_thread_id;

/// A stand-in for open-notify's `iss-now.json`, on its own thread and single-threaded
/// runtime, so that its CPU time can be told apart from the load generator's.
pub struct IssApiStandIn {
    addr: SocketAddr,
    requests: Arc<AtomicU64>,
    /// The stub thread's id, for its CPU time (0 until known, or off Linux).
    thread_id: Arc<AtomicI64>,
    shutdown: tokio::sync::oneshot::Sender<()>,
    thread: std::thread::JoinHandle<()>,
}

impl IssApiStandIn {
    pub fn start() -> anyhow::Result<Self> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .context("cannot listen for the ISS API stub")?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let requests = Arc::new(AtomicU64::new(0));
        let thread_id = Arc::new(AtomicI64::new(0));
        let (shutdown, stopped) = tokio::sync::oneshot::channel::<()>();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let app = {
            let requests = Arc::clone(&requests);
            axum::Router::new().route(
                "/iss-now.json",
                axum::routing::get(move || {
                    requests.fetch_add(1, Ordering::Relaxed);
                    std::future::ready(iss_now())
                }),
            )
        };
        let tid = Arc::clone(&thread_id);
        let thread = std::thread::Builder::new()
            .name("iss-stub".into())
            .spawn(move || {
                tid.store(current_thread_id(), Ordering::Relaxed);
                runtime.block_on(async move {
                    let listener = tokio::net::TcpListener::from_std(listener)
                        .expect("a non-blocking listener");
                    let _ = axum::serve(listener, app)
                        .with_graceful_shutdown(async move {
                            let _ = stopped.await;
                        })
                        .await;
                });
            })?;
        Ok(Self {
            addr,
            requests,
            thread_id,
            shutdown,
            thread,
        })
    }

    pub fn url(&self) -> String {
        format!("http://{}/iss-now.json", self.addr)
    }

    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// Its thread's id, for its CPU time (0 until known, or off Linux).
    pub fn thread_id(&self) -> i64 {
        self.thread_id.load(Ordering::Relaxed)
    }

    /// Stops serving. The services are stopped first, so no connection holds it open.
    pub fn stop(self) {
        let _ = self.shutdown.send(());
        let _ = self.thread.join();
    }
}

/// How much the `--receiver` keeps. Under load the services send far more than this (about
/// ten spans and a log record per request); the oldest are evicted, which keeps the bench
/// process's memory bounded, and the counts received include what was evicted.
pub const RECEIVER_LIMITS: Limits = Limits {
    max_spans: 10_000,
    max_logs: 10_000,
    max_metric_points: 10_000,
    max_request_bytes: 8 * 1024 * 1024,
};

/// An OTLP receiver on its own thread and single-threaded runtime, like the ISS stub, so
/// that its CPU time is reported apart from the load generator's.
pub struct ReceiverThread {
    pub endpoint: String,
    store: otlp_receiver::Store,
    pub thread_id: i64,
    shutdown: tokio::sync::oneshot::Sender<()>,
    thread: std::thread::JoinHandle<()>,
}

impl ReceiverThread {
    pub fn start() -> anyhow::Result<Self> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let (started, receiver) = std::sync::mpsc::channel();
        let (shutdown, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("otlp-receiver".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let config = ReceiverConfig::ephemeral().with_limits(RECEIVER_LIMITS);
                    match Receiver::start(config).await {
                        Ok(receiver) => {
                            let _ = started.send(Ok((
                                receiver.http_endpoint(),
                                receiver.store(),
                                current_thread_id(),
                            )));
                            let _ = stopped.await;
                            receiver.shutdown().await;
                        }
                        Err(e) => {
                            let _ = started.send(Err(e));
                        }
                    }
                });
            })?;
        let (endpoint, store, thread_id) = receiver
            .recv()
            .context("the OTLP receiver's thread ended")?
            .context("cannot start the OTLP receiver")?;
        Ok(Self {
            endpoint,
            store,
            thread_id,
            shutdown,
            thread,
        })
    }

    pub fn stats(&self) -> Stats {
        self.store.stats()
    }

    /// Stops the receiver (after the services, which flush as they stop) and returns what
    /// it received in all.
    pub fn stop(self) -> Stats {
        let _ = self.shutdown.send(());
        let _ = self.thread.join();
        self.store.stats()
    }
}

/// A collector that is up but blackholed: it accepts TCP connections and holds them open,
/// never reading or answering, so every export waits for the exporter's timeout.
pub struct Blackhole {
    addr: SocketAddr,
    accepted: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl Blackhole {
    pub async fn start() -> anyhow::Result<Self> {
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .context("cannot listen for the blackhole")?;
        let addr = listener.local_addr()?;
        let accepted = Arc::new(AtomicU64::new(0));
        let count = Arc::clone(&accepted);
        let task = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                count.fetch_add(1, Ordering::Relaxed);
                held.push(socket);
            }
        });
        Ok(Self {
            addr,
            accepted,
            task,
        })
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Closes the listener and every held connection; returns how many it accepted.
    pub fn stop(self) -> u64 {
        self.task.abort();
        self.accepted.load(Ordering::Relaxed)
    }
}

/// open-notify's answer, for a station circling at 51.6° inclination once every 92.9 min
/// (close enough to the real orbit for distances to look right; nobody checks it here).
fn iss_now() -> ([(axum::http::HeaderName, &'static str); 1], String) {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let t = now.as_secs_f64();
    let phase = t / 5574.0 * std::f64::consts::TAU;
    let latitude = 51.64 * phase.sin();
    // The ground track drifts west as the Earth turns underneath.
    let longitude = (t / 5574.0 * 360.0 - t / 86_164.0 * 360.0).rem_euclid(360.0) - 180.0;
    let body = format!(
        r#"{{"message": "success", "timestamp": {}, "iss_position": {{"latitude": "{latitude:.4}", "longitude": "{longitude:.4}"}}}}"#,
        now.as_secs()
    );
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        body,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stand_in_answers_like_open_notify() {
        let (_, body) = iss_now();
        let value: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(value["message"], "success");
        assert!(value["timestamp"].as_i64().unwrap() > 1_700_000_000);
        let latitude: f64 = value["iss_position"]["latitude"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        let longitude: f64 = value["iss_position"]["longitude"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!(latitude.abs() <= 51.64 && longitude.abs() <= 180.0);
    }
}
