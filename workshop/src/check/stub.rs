//! A stand-in for open-notify's `GET /iss-now.json`, in this process: it answers with a
//! fixed position (or the error status, or the unusable position, it is switched to) and
//! records the trace headers of every request, so that section 4 can see `traceparent`
//! reach the end of the chain, and nothing else of our context leave for a third party.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::sync::oneshot;

use super::scenario::IssAnswer;

/// The position the stub reports, as open-notify writes it (strings).
pub const LATITUDE: &str = "48.8566";
pub const LONGITUDE: &str = "2.3522";
/// The longitude of the unusable answer: a string, as open-notify sends, but no number.
/// (Not the latitude: iss-distance's WARN about a rejected request names the latitude, and
/// section 2 looks for that word.)
pub const GARBAGE_LONGITUDE: &str = "east";
const TIMESTAMP: i64 = 1_763_800_000;

/// One request the stub answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StubCall {
    /// What it answered with.
    pub answer: IssAnswer,
    pub traceparent: Option<String>,
    pub tracestate: Option<String>,
    pub baggage: Option<String>,
}

struct Shared {
    answer: Mutex<IssAnswer>,
    calls: Mutex<Vec<StubCall>>,
}

pub struct IssStub {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
}

impl IssStub {
    /// Listens on a free loopback port, answering the position until told otherwise.
    pub async fn start() -> std::io::Result<IssStub> {
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            answer: Mutex::new(IssAnswer::Position),
            calls: Mutex::default(),
        });
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

    /// The services' environment for asking this stub, strictly (`ISS_SOURCE=api`), once per
    /// request whatever the one before got: the stub changes its answer from step to step,
    /// and the checks count the calls by answer, so no position is kept and no failure
    /// pauses the API (iss-distance's defaults for a free public API).
    pub fn services_env(&self) -> [(&'static str, String); 4] {
        [
            ("ISS_SOURCE", "api".to_owned()),
            ("ISS_API_URL", self.url()),
            ("ISS_API_MAX_AGE_MS", "0".to_owned()),
            ("ISS_API_BACKOFF_MS", "0".to_owned()),
        ]
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// From now on, answer with `answer`.
    pub fn answer_with(&self, answer: IssAnswer) {
        *self
            .shared
            .answer
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = answer;
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
    let answer = *shared.answer.lock().unwrap_or_else(PoisonError::into_inner);
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
            answer,
            traceparent: header("traceparent"),
            tracestate: header("tracestate"),
            baggage: header("baggage"),
        });
    match answer {
        IssAnswer::Position => axum::Json(body(LONGITUDE)).into_response(),
        IssAnswer::Slow(ms) => {
            tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
            axum::Json(body(LONGITUDE)).into_response()
        }
        IssAnswer::Garbage => axum::Json(body(GARBAGE_LONGITUDE)).into_response(),
        IssAnswer::Status(status) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            (status, "Internal Server Error").into_response()
        }
    }
}

/// open-notify's answer, with `longitude`.
fn body(longitude: &str) -> serde_json::Value {
    serde_json::json!({
        "message": "success",
        "timestamp": TIMESTAMP,
        "iss_position": {"latitude": LATITUDE, "longitude": longitude},
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use iss_distance::open_notify::ApiPosition;

    #[tokio::test]
    async fn answers_as_told_and_records_trace_headers() {
        let stub = IssStub::start().await.unwrap();
        let client = reqwest::Client::new();
        let ok = client.get(stub.url()).send().await.unwrap();
        assert_eq!(ok.status(), 200);
        let position: ApiPosition = ok.json().await.unwrap();
        assert_eq!(position.latitude, LATITUDE.parse::<f64>().unwrap());
        assert_eq!(position.longitude, LONGITUDE.parse::<f64>().unwrap());

        // iss-distance's own decoding rejects the unusable answer, as the scenario expects.
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
        stub.stop();
    }
}
