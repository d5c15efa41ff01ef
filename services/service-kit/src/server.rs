//! Serving a service: `/healthz`, a JSON 404, and graceful shutdown.
//!
//! On SIGINT (Ctrl-C) or SIGTERM (`docker stop`) the server stops accepting connections and
//! lets in-flight requests finish before `serve` returns, so `main` can then flush telemetry.

use std::future::Future;
use std::io;
use std::net::SocketAddr;

use axum::Router;
use axum::http::{Method, Uri};
use axum::middleware;
use axum::routing::get;
use tokio::net::TcpListener;

use crate::boundary::Boundary;
use crate::{ApiError, faults, spans};

/// Listens on `addr` (or on a socket handed over, see [`crate::listener`]) and serves `app`
/// to our own services until SIGINT or SIGTERM.
pub async fn serve(name: &str, addr: SocketAddr, app: Router) -> io::Result<()> {
    serve_behind(name, addr, app, Boundary::Inside).await
}

/// Like [`serve`], for a service that anyone can call: see [`crate::boundary`].
pub async fn serve_public(name: &str, addr: SocketAddr, app: Router) -> io::Result<()> {
    serve_behind(name, addr, app, Boundary::Outside).await
}

async fn serve_behind(
    name: &str,
    addr: SocketAddr,
    app: Router,
    callers: Boundary,
) -> io::Result<()> {
    let listener = crate::listener::bind(addr).await?;
    tracing::info!("{name} listening on http://{}", listener.local_addr()?);
    faults::switch::watch_from_env(name);
    serve_on(listener, app, callers, shutdown_signal()).await?;
    tracing::info!("{name} stopped");
    Ok(())
}

/// Serves `app` on an already bound listener, to `callers`, until `shutdown` completes
/// (tests use this with port 0 and their own shutdown trigger).
pub async fn serve_on(
    listener: TcpListener,
    app: Router,
    callers: Boundary,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    axum::serve(listener, with_defaults(app, callers))
        .with_graceful_shutdown(shutdown)
        .await
}

/// What every service answers besides its own routes. Every request to the service's own
/// routes gets a SERVER span; health checks do not (they would be most of the traces). The
/// troubleshooting chapter's faults (which do nothing unless on) go around the handlers,
/// inside the span, and lost-context in front of it.
fn with_defaults(app: Router, callers: Boundary) -> Router {
    app.route_layer(middleware::from_fn(faults::in_handlers))
        .route_layer(middleware::from_fn_with_state(
            callers,
            spans::trace_request,
        ))
        .route_layer(middleware::from_fn(faults::context::drop_context))
        .route("/healthz", get(|| async { "ok" }))
        .fallback(no_route)
}

async fn no_route(method: Method, uri: Uri) -> ApiError {
    ApiError::not_found(format!("no route for {method} {}", uri.path()))
}

/// Completes on the first SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = async {
        tokio::signal::ctrl_c()
            .await
            .expect("can listen for Ctrl-C");
    };
    #[cfg(unix)]
    let terminate = async {
        use tokio::signal::unix::{SignalKind, signal};
        signal(SignalKind::terminate())
            .expect("can listen for SIGTERM")
            .recv()
            .await;
    };
    // Windows has no SIGTERM: `workshop up` and `check` start each service in a console
    // process group of its own and ask it to stop with Ctrl-Break.
    #[cfg(windows)]
    let terminate = async {
        tokio::signal::windows::ctrl_break()
            .expect("can listen for Ctrl-Break")
            .recv()
            .await;
    };
    #[cfg(not(any(unix, windows)))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
    tracing::info!("shutting down: finishing in-flight requests");
}
