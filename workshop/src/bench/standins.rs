//! The OTLP receiver `bench --receiver` runs in this process, on a thread of its own, so
//! that its CPU time is reported apart from the load generator's. (The ISS API stand-in and
//! the blackhole are the harness's.)

use anyhow::Context;
use otlp_receiver::{Limits, Receiver, ReceiverConfig, Stats};
use platform_live::usage::current_thread_id;

/// How much the `--receiver` keeps. Under load the services send far more than this (about
/// ten spans and a log record per request); the oldest are evicted, which keeps the bench
/// process's memory bounded, and the counts received include what was evicted.
pub const RECEIVER_LIMITS: Limits = Limits {
    max_spans: 10_000,
    max_logs: 10_000,
    max_metric_points: 10_000,
    max_request_bytes: 8 * 1024 * 1024,
};

/// An OTLP receiver on its own thread and single-threaded runtime.
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
