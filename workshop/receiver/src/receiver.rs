//! Starting and stopping the two servers around one shared store.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::ReceiverConfig;
use crate::store::Store;
use crate::{grpc, http};

/// How long `shutdown` lets open connections finish before cutting them.
const GRACE: Duration = Duration::from_secs(5);

/// A running OTLP receiver: gRPC and HTTP servers feeding one [`Store`].
///
/// Dropping it also stops both servers (gracefully, in the background); call
/// [`Receiver::shutdown`] to wait until they have stopped.
#[derive(Debug)]
pub struct Receiver {
    grpc_addr: SocketAddr,
    http_addr: SocketAddr,
    store: Store,
    /// Sending `true`, or dropping the sender, tells both servers to stop.
    stop: watch::Sender<bool>,
    servers: Vec<JoinHandle<()>>,
}

impl Receiver {
    /// Binds both listeners, then serves them on the current tokio runtime.
    ///
    /// Binding happens before this returns, so a port already in use (say, a collector
    /// on 4317) is reported here, and with port 0 the chosen ports are known at once.
    pub async fn start(config: ReceiverConfig) -> io::Result<Receiver> {
        let grpc_listener = bind(config.grpc, "OTLP/gRPC").await?;
        let http_listener = bind(config.http, "OTLP/HTTP").await?;
        let grpc_addr = grpc_listener.local_addr()?;
        let http_addr = http_listener.local_addr()?;
        let store = Store::new(config.limits);
        let max_bytes = config.limits.max_request_bytes;
        let (stop, stopped) = watch::channel(false);

        let grpc = grpc::serve(
            grpc_listener,
            store.clone(),
            max_bytes,
            until_stopped(stopped.clone()),
        );
        let grpc = tokio::spawn(async move {
            if let Err(e) = grpc.await {
                tracing::error!(error = %e, "OTLP/gRPC server stopped");
            }
        });
        let router = http::router(
            store.clone(),
            stopped.clone(),
            max_bytes,
            &config.http_path_prefix,
        );
        let http =
            axum::serve(http_listener, router).with_graceful_shutdown(until_stopped(stopped));
        let http = tokio::spawn(async move {
            if let Err(e) = http.await {
                tracing::error!(error = %e, "OTLP/HTTP server stopped");
            }
        });
        tracing::debug!(%grpc_addr, %http_addr, "OTLP receiver listening");
        Ok(Receiver {
            grpc_addr,
            http_addr,
            store,
            stop,
            servers: vec![grpc, http],
        })
    }

    /// The bound gRPC address; exporters want `http://{grpc_addr}`.
    pub fn grpc_addr(&self) -> SocketAddr {
        self.grpc_addr
    }

    /// The bound HTTP address; exporters want `http://{http_addr}/v1/traces` etc.
    pub fn http_addr(&self) -> SocketAddr {
        self.http_addr
    }

    /// `http://host:port` for a gRPC exporter's endpoint.
    pub fn grpc_endpoint(&self) -> String {
        format!("http://{}", self.grpc_addr)
    }

    /// `http://host:port` base for OTLP/HTTP: append `/v1/traces`, `/v1/metrics` or
    /// `/v1/logs` for a programmatic exporter endpoint (only the env var does it for you).
    pub fn http_endpoint(&self) -> String {
        format!("http://{}", self.http_addr)
    }

    /// The shared store; clones are cheap and outlive the receiver.
    pub fn store(&self) -> Store {
        self.store.clone()
    }

    /// Stops accepting, lets in-flight requests finish (up to a few seconds), then
    /// returns. Everything received stays readable through [`Store`] clones.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        for server in self.servers {
            let abort = server.abort_handle();
            if tokio::time::timeout(GRACE, server).await.is_err() {
                abort.abort();
            }
        }
    }
}

async fn bind(addr: SocketAddr, what: &str) -> io::Result<TcpListener> {
    TcpListener::bind(addr)
        .await
        .map_err(|e| io::Error::new(e.kind(), format!("cannot listen for {what} on {addr}: {e}")))
}

/// Resolves once `stop` is set or its sender is gone.
async fn until_stopped(mut stopped: watch::Receiver<bool>) {
    let _ = stopped.wait_for(|stop| *stop).await;
}
