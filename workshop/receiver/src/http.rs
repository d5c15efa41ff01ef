//! OTLP/HTTP: `POST /v1/{traces,metrics,logs}` with protobuf or JSON bodies, via axum.
//!
//! Follows the OTLP/HTTP spec's answers: 200 with an (empty) export response on success,
//! otherwise an error status whose body is a `google.rpc.Status` in the request's
//! encoding (JSON when the encoding itself was the problem).

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceResponse;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceResponse;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse;
use prost::Message;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::watch;
use tower_http::cors::CorsLayer;
use tower_http::decompression::RequestDecompressionLayer;

use crate::origin::Protocol;
use crate::store::Store;
use crate::tap::Tap;

/// The OTLP/HTTP routes, and the tap (which ends when `stopped` turns true). Layers,
/// outermost first:
/// - CORS open to any origin, so browser SDKs on any workshop page can post here;
/// - gzip request decompression (other encodings get 415 from tower-http);
/// - a body limit applied to the *decompressed* body, answered with 413.
pub(crate) fn router(
    store: Store,
    stopped: watch::Receiver<bool>,
    max_bytes: usize,
    prefix: &str,
) -> Router {
    let tap = Router::new()
        .route("/v1/tap", get(crate::tap::stream))
        .with_state(Tap {
            store: store.clone(),
            stopped,
        });
    let routes = Router::new()
        .route("/v1/traces", post(traces))
        .route("/v1/metrics", post(metrics))
        .route("/v1/logs", post(logs))
        .with_state(store)
        .merge(tap);
    let routes = if prefix.is_empty() {
        routes
    } else {
        Router::new().nest(prefix, routes)
    };
    routes
        .layer(DefaultBodyLimit::max(max_bytes))
        .layer(RequestDecompressionLayer::new())
        .layer(CorsLayer::permissive())
}

/// The body is taken as a `Result` so that size and read errors are answered in the
/// OTLP error format rather than axum's plain-text one.
type Body = Result<Bytes, BytesRejection>;

async fn traces(State(store): State<Store>, headers: HeaderMap, body: Body) -> Response {
    export::<_, ExportTraceServiceResponse>(&store, &headers, body, |request| {
        store.ingest_traces(request, Protocol::Http)
    })
}

async fn metrics(State(store): State<Store>, headers: HeaderMap, body: Body) -> Response {
    export::<_, ExportMetricsServiceResponse>(&store, &headers, body, |request| {
        store.ingest_metrics(request, Protocol::Http)
    })
}

async fn logs(State(store): State<Store>, headers: HeaderMap, body: Body) -> Response {
    export::<_, ExportLogsServiceResponse>(&store, &headers, body, |request| {
        store.ingest_logs(request, Protocol::Http)
    })
}

/// Decodes one export request, hands it to `ingest` and answers in the same encoding.
fn export<Req, Resp>(
    store: &Store,
    headers: &HeaderMap,
    body: Body,
    ingest: impl FnOnce(Req),
) -> Response
where
    Req: Message + Default + DeserializeOwned,
    Resp: Message + Default + Serialize,
{
    match decode::<Req>(headers, body) {
        Ok((request, encoding)) => {
            ingest(request);
            encoding.respond(StatusCode::OK, &Resp::default())
        }
        Err(rejection) => {
            store.record_http_rejection();
            let (status, message) = (rejection.status, &rejection.message);
            tracing::debug!(%status, %message, "rejected OTLP/HTTP request");
            rejection.into_response()
        }
    }
}

fn decode<Req>(headers: &HeaderMap, body: Body) -> Result<(Req, Encoding), Rejection>
where
    Req: Message + Default + DeserializeOwned,
{
    let encoding = Encoding::from_headers(headers)?;
    let bytes = body.map_err(|e| Rejection::new(e.status(), e.body_text(), encoding))?;
    let request = encoding.decode(&bytes)?;
    Ok((request, encoding))
}

/// The two body encodings OTLP/HTTP defines.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Encoding {
    Protobuf,
    Json,
}

impl Encoding {
    /// Reads `Content-Type`, ignoring parameters such as `charset`.
    fn from_headers(headers: &HeaderMap) -> Result<Encoding, Rejection> {
        let content_type = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let media_type = content_type.split(';').next().unwrap_or_default().trim();
        match media_type.to_ascii_lowercase().as_str() {
            "application/x-protobuf" => Ok(Encoding::Protobuf),
            "application/json" => Ok(Encoding::Json),
            _ => Err(Rejection::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!(
                    "unsupported content type {content_type:?}: \
                     OTLP/HTTP accepts application/x-protobuf or application/json"
                ),
                Encoding::Json,
            )),
        }
    }

    fn content_type(self) -> &'static str {
        match self {
            Encoding::Protobuf => "application/x-protobuf",
            Encoding::Json => "application/json",
        }
    }

    fn decode<Req>(self, bytes: &[u8]) -> Result<Req, Rejection>
    where
        Req: Message + Default + DeserializeOwned,
    {
        let result = match self {
            Encoding::Protobuf => Req::decode(bytes).map_err(|e| e.to_string()),
            Encoding::Json => {
                serde_json::from_slice(bytes).map_err(|e| format!("invalid OTLP/JSON: {e}"))
            }
        };
        result.map_err(|message| Rejection::new(StatusCode::BAD_REQUEST, message, self))
    }

    fn respond<M: Message + Serialize>(self, status: StatusCode, message: &M) -> Response {
        let body = match self {
            Encoding::Protobuf => message.encode_to_vec(),
            // Serializing the proto types to JSON cannot fail: no maps with non-string keys.
            Encoding::Json => serde_json::to_vec(message).unwrap_or_default(),
        };
        (status, [(header::CONTENT_TYPE, self.content_type())], body).into_response()
    }
}

/// An error answer: HTTP status plus a message for the `google.rpc.Status` body.
#[derive(Debug)]
struct Rejection {
    status: StatusCode,
    message: String,
    encoding: Encoding,
}

impl Rejection {
    fn new(status: StatusCode, message: impl Into<String>, encoding: Encoding) -> Self {
        Rejection {
            status,
            message: message.into(),
            encoding,
        }
    }
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        let body = RpcStatus {
            code: grpc_code(self.status) as i32,
            message: self.message,
        };
        self.encoding.respond(self.status, &body)
    }
}

/// `google.rpc.Status` without `details`, which OTLP receivers may leave empty.
#[derive(Clone, PartialEq, Message, Serialize)]
struct RpcStatus {
    #[prost(int32, tag = "1")]
    code: i32,
    #[prost(string, tag = "2")]
    message: String,
}

/// The gRPC code matching an HTTP error, so both transports report the same thing.
fn grpc_code(status: StatusCode) -> tonic::Code {
    match status {
        StatusCode::PAYLOAD_TOO_LARGE => tonic::Code::ResourceExhausted,
        StatusCode::BAD_REQUEST | StatusCode::UNSUPPORTED_MEDIA_TYPE => {
            tonic::Code::InvalidArgument
        }
        _ => tonic::Code::Internal,
    }
}
