//! A stand-in for open-notify's `GET /iss-now.json`, in this process: it answers with a
//! fixed position (or the error status it is switched to) and records the trace headers of
//! every request, so that section 4 can see `traceparent` reach the end of the chain, and
//! nothing else of our context leave for a third party.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::sync::oneshot;

/// The position the stub reports, as open-notify writes it (strings).
pub const LATITUDE: &str = "48.8566";
pub const LONGITUDE: &str = "2.3522";
const TIMESTAMP: i64 = 1_763_800_000;

/// One request the stub answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StubCall {
    /// The status it answered with.
    pub status: u16,
    pub traceparent: Option<String>,
    pub tracestate: Option<String>,
    pub baggage: Option<String>,
}

#[derive(Default)]
struct Shared {
    status: AtomicU16,
    calls: Mutex<Vec<StubCall>>,
}

pub struct IssStub {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
}

impl IssStub {
    /// Listens on a free loopback port, answering 200 until told otherwise.
    pub async fn start() -> std::io::Result<IssStub> {
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::default());
        shared.status.store(200, Ordering::SeqCst);
        let app = Router::new()
            .route("/iss-now.json", get(iss_now))
            .with_state(shared.clone());
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
        });
        Ok(IssStub {
            addr,
            shared,
            stop: Some(stop),
        })
    }

    /// What `ISS_API_URL` must be.
    pub fn url(&self) -> String {
        format!("http://{}/iss-now.json", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// From now on, answer with `status` (200: the position; anything else: an error).
    pub fn answer_with(&self, status: u16) {
        self.shared.status.store(status, Ordering::SeqCst);
    }

    /// Every request so far, in order.
    pub fn calls(&self) -> Vec<StubCall> {
        self.shared
            .calls
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

async fn iss_now(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    let status = shared.status.load(Ordering::SeqCst);
    let header = |name: &str| {
        headers
            .get(name)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
    };
    shared
        .calls
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(StubCall {
            status,
            traceparent: header("traceparent"),
            tracestate: header("tracestate"),
            baggage: header("baggage"),
        });
    if status == 200 {
        let body = serde_json::json!({
            "message": "success",
            "timestamp": TIMESTAMP,
            "iss_position": {"latitude": LATITUDE, "longitude": LONGITUDE},
        });
        return axum::Json(body).into_response();
    }
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, "Internal Server Error").into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn answers_the_position_or_an_error_and_records_trace_headers() {
        let stub = IssStub::start().await.unwrap();
        let client = reqwest::Client::new();
        let ok = client.get(stub.url()).send().await.unwrap();
        assert_eq!(ok.status(), 200);
        let body: serde_json::Value = ok.json().await.unwrap();
        assert_eq!(body["iss_position"]["latitude"], LATITUDE);
        stub.answer_with(500);
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
        assert_eq!(calls.len(), 2);
        assert_eq!(calls[0].traceparent, None);
        assert_eq!(calls[1].status, 500);
        assert_eq!(calls[1].tracestate.as_deref(), Some("workshop=check"));
        stub.stop();
    }
}
