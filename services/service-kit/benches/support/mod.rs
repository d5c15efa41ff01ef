//! What both telemetry benchmarks share: a local OTLP receiver to export to, and criterion
//! measuring each thread's own CPU time.

use std::sync::mpsc;
use std::time::Duration;

use cpu_time::ThreadTime;
use criterion::measurement::{Measurement, ValueFormatter, WallTime};
use otlp_receiver::{Limits, Receiver, ReceiverConfig};

/// Criterion measuring the benchmark thread's CPU time (`CLOCK_THREAD_CPUTIME_ID`) instead
/// of the wall clock: on a shared machine, the time other processes take from this thread
/// is not counted. Work that the SDK hands to its own threads (the batch processors'
/// export) is not counted either: the export benchmark measures that part.
pub struct ThreadCpu;

impl Measurement for ThreadCpu {
    type Intermediate = ThreadTime;
    type Value = Duration;

    fn start(&self) -> ThreadTime {
        ThreadTime::now()
    }

    fn end(&self, started: ThreadTime) -> Duration {
        started.elapsed()
    }

    fn add(&self, a: &Duration, b: &Duration) -> Duration {
        *a + *b
    }

    fn zero(&self) -> Duration {
        Duration::ZERO
    }

    fn to_f64(&self, value: &Duration) -> f64 {
        value.as_nanos() as f64
    }

    fn formatter(&self) -> &dyn ValueFormatter {
        // Nanoseconds, shown as the wall clock's are (ns, µs, ms).
        static NANOSECONDS: WallTime = WallTime;
        NANOSECONDS.formatter()
    }
}

/// The workshop's OTLP receiver (gRPC and HTTP on free loopback ports), served by a runtime
/// on a thread of its own for as long as the benchmark runs. It keeps little: the
/// benchmarks send millions of spans.
pub struct LocalReceiver {
    #[allow(dead_code, reason = "only telemetry_variants exports over gRPC")]
    pub grpc_endpoint: String,
    pub http_endpoint: String,
}

impl LocalReceiver {
    pub fn start() -> Self {
        let (sender, endpoints) = mpsc::channel();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .expect("a runtime for the receiver");
            runtime.block_on(async move {
                let limits = Limits {
                    max_spans: 1_000,
                    max_logs: 1_000,
                    max_metric_points: 1_000,
                    ..Limits::default()
                };
                let config = ReceiverConfig::ephemeral().with_limits(limits);
                let receiver: Receiver = Receiver::start(config)
                    .await
                    .expect("the receiver binds loopback ports");
                sender
                    .send((receiver.grpc_endpoint(), receiver.http_endpoint()))
                    .expect("the benchmark waits for the endpoints");
                // Serve until the benchmark process exits.
                std::future::pending::<()>().await;
            });
        });
        let (grpc_endpoint, http_endpoint) = endpoints.recv().expect("the receiver starts");
        Self {
            grpc_endpoint,
            http_endpoint,
        }
    }
}
