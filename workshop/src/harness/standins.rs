//! What stands in for the services' third parties: open-notify's ISS API, and a collector
//! that accepts connections and never answers.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use platform_live::usage::current_thread_id;
use tokio::sync::oneshot;

use super::{Env, env};

/// The position the stand-in reports, as open-notify writes it (strings).
pub const LATITUDE: &str = "48.8566";
pub const LONGITUDE: &str = "2.3522";
/// The longitude of the unusable answer: a string, as open-notify sends, but no number.
/// (Not the latitude: iss-distance's WARN about a rejected request names the latitude, and
/// section 2 of `check` looks for that word.)
pub const GARBAGE_LONGITUDE: &str = "east";
const TIMESTAMP: i64 = 1_763_800_000;
/// Calls beyond this many are counted, not recorded: `bench` makes hundreds of thousands.
const MAX_CALLS: usize = 10_000;

/// What the stand-in answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IssAnswer {
    /// 200 with the position.
    Position,
    /// An error status, e.g. 500.
    Status(u16),
    /// 200 with a position iss-distance cannot use (longitude "east").
    Garbage,
    /// 200 with the position, after this many milliseconds.
    Slow(u64),
}

impl std::fmt::Display for IssAnswer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            IssAnswer::Position => f.write_str("200 with the position"),
            IssAnswer::Status(status) => write!(f, "{status}"),
            IssAnswer::Garbage => f.write_str("200 with an unusable position"),
            IssAnswer::Slow(ms) => write!(f, "200 with the position after {ms} ms"),
        }
    }
}

/// One request the stand-in answered: how, and the trace context it carried.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IssCall {
    pub answer: IssAnswer,
    pub traceparent: Option<String>,
    pub tracestate: Option<String>,
    pub baggage: Option<String>,
}

struct Shared {
    answer: Mutex<IssAnswer>,
    calls: Mutex<Vec<IssCall>>,
    requests: AtomicU64,
}

/// A stand-in for open-notify's `GET /iss-now.json`: it answers as it is told (the
/// position until then) and records the trace headers of every request, so that `check`
/// sees `traceparent` reach the end of the chain and nothing else of our context leave for
/// a third party. It serves on a thread and runtime of its own, so that its CPU time can be
/// told apart from the caller's (`bench`), and so that it keeps answering while a test
/// blocks. Dropping it stops it.
pub struct IssApi {
    addr: SocketAddr,
    shared: Arc<Shared>,
    thread_id: i64,
    _stop: oneshot::Sender<()>,
}

impl IssApi {
    /// Listens on a free loopback port.
    pub fn start() -> std::io::Result<IssApi> {
        let listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            answer: Mutex::new(IssAnswer::Position),
            calls: Mutex::default(),
            requests: AtomicU64::new(0),
        });
        let app = Router::new()
            .route("/iss-now.json", get(iss_now))
            .with_state(Arc::clone(&shared));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let (stop, stopped) = oneshot::channel::<()>();
        let (started, thread_id) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("iss-api".into())
            .spawn(move || {
                let _ = started.send(current_thread_id());
                runtime.block_on(async move {
                    let listener = tokio::net::TcpListener::from_std(listener)?;
                    let stopped = async {
                        let _ = stopped.await;
                    };
                    axum::serve(listener, app)
                        .with_graceful_shutdown(stopped)
                        .await
                })
            })?;
        Ok(IssApi {
            addr,
            shared,
            thread_id: thread_id.recv().unwrap_or(0),
            _stop: stop,
        })
    }

    /// What `ISS_API_URL` must be.
    pub fn url(&self) -> String {
        format!("http://{}/iss-now.json", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The services' environment for asking it (and nothing else) for the position.
    pub fn env(&self) -> Env {
        env([("ISS_SOURCE", "api".into()), ("ISS_API_URL", self.url())])
    }

    /// From now on, answer with `answer`.
    pub fn answer_with(&self, answer: IssAnswer) {
        *lock(&self.shared.answer) = answer;
    }

    /// The requests so far, in order (the first [`MAX_CALLS`]).
    pub fn calls(&self) -> Vec<IssCall> {
        lock(&self.shared.calls).clone()
    }

    /// How many requests it answered.
    pub fn requests(&self) -> u64 {
        self.shared.requests.load(Ordering::Relaxed)
    }

    /// Its thread's id, for its CPU time (0 off Linux).
    pub fn thread_id(&self) -> i64 {
        self.thread_id
    }
}

impl Shared {
    /// Counts and records a request; returns the answer it gets.
    fn record(&self, headers: &HeaderMap) -> IssAnswer {
        self.requests.fetch_add(1, Ordering::Relaxed);
        let answer = *lock(&self.answer);
        let header = |name: &str| {
            let value = headers.get(name)?;
            Some(String::from_utf8_lossy(value.as_bytes()).into_owned())
        };
        let mut calls = lock(&self.calls);
        if calls.len() < MAX_CALLS {
            calls.push(IssCall {
                answer,
                traceparent: header("traceparent"),
                tracestate: header("tracestate"),
                baggage: header("baggage"),
            });
        }
        answer
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

async fn iss_now(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    let answer = shared.record(&headers);
    let longitude = match answer {
        IssAnswer::Position => LONGITUDE,
        IssAnswer::Slow(ms) => {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            LONGITUDE
        }
        IssAnswer::Garbage => GARBAGE_LONGITUDE,
        IssAnswer::Status(status) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            return (status, "Internal Server Error").into_response();
        }
    };
    axum::Json(serde_json::json!({
        "message": "success",
        "timestamp": TIMESTAMP,
        "iss_position": {"latitude": LATITUDE, "longitude": longitude},
    }))
    .into_response()
}

/// A collector that is up but blackholed: it accepts TCP connections and holds them open,
/// never reading or answering, so that every export waits for the exporter's timeout.
/// Dropping it closes the listener and every connection.
pub struct Blackhole {
    addr: SocketAddr,
    accepted: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl Blackhole {
    pub async fn start() -> std::io::Result<Blackhole> {
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
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
        Ok(Blackhole {
            addr,
            accepted,
            task,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:<port>`, for `OTEL_EXPORTER_OTLP_ENDPOINT`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// How many connections it accepted so far.
    pub fn accepted(&self) -> u64 {
        self.accepted.load(Ordering::Relaxed)
    }
}

impl Drop for Blackhole {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use iss_distance::open_notify::ApiPosition;

    #[tokio::test]
    async fn answers_as_told_and_records_trace_headers() {
        let stub = IssApi::start().unwrap();
        let client = reqwest::Client::new();
        let ok = client.get(stub.url()).send().await.unwrap();
        assert_eq!(ok.status(), 200);
        let position: ApiPosition = ok.json().await.unwrap();
        assert_eq!(position.latitude, LATITUDE.parse::<f64>().unwrap());
        assert_eq!(position.longitude, LONGITUDE.parse::<f64>().unwrap());

        // iss-distance's own decoding rejects the unusable answer, as `check` expects.
        stub.answer_with(IssAnswer::Garbage);
        let garbage = client.get(stub.url()).send().await.unwrap();
        assert_eq!(garbage.status(), 200);
        let error = serde_json::from_slice::<ApiPosition>(&garbage.bytes().await.unwrap())
            .unwrap_err()
            .to_string();
        assert!(
            error.contains(r#"longitude "east" is not a number"#),
            "{error}"
        );

        stub.answer_with(IssAnswer::Status(500));
        let failed = client
            .get(stub.url())
            .header(
                "traceparent",
                "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            )
            .header("tracestate", "workshop=check")
            .send()
            .await
            .unwrap();
        assert_eq!(failed.status(), 500);
        let calls = stub.calls();
        let answers: Vec<IssAnswer> = calls.iter().map(|c| c.answer).collect();
        assert_eq!(
            answers,
            [
                IssAnswer::Position,
                IssAnswer::Garbage,
                IssAnswer::Status(500)
            ]
        );
        assert_eq!(calls[0].traceparent, None);
        assert_eq!(calls[2].tracestate.as_deref(), Some("workshop=check"));
        assert_eq!(stub.requests(), 3);
        if cfg!(target_os = "linux") {
            assert_ne!(stub.thread_id(), 0, "its own thread, for bench's CPU time");
        }
    }

    #[tokio::test]
    async fn the_blackhole_accepts_and_never_answers() {
        let blackhole = Blackhole::start().await.unwrap();
        let answer = reqwest::Client::builder()
            .timeout(Duration::from_millis(300))
            .build()
            .unwrap()
            .post(format!("{}/v1/traces", blackhole.endpoint()))
            .send()
            .await;
        assert!(answer.is_err_and(|e| e.is_timeout()));
        assert_eq!(blackhole.accepted(), 1);
    }
}
