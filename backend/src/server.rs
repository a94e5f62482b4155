//! The connection loop: accepts connections up to a cap, serves each over HTTP/1.1 with a
//! header-read timeout and a bounded read buffer, and drains them on shutdown.
//!
//! `axum::serve` has none of these limits, so a client that never finishes its headers held
//! its connection (and a task) forever, and enough such clients exhausted the file limit until
//! even `/health/live` timed out. Here:
//! - a request's headers must arrive within `header_timeout`, counted from when the server
//!   starts waiting for them, so the same timeout also closes idle keep-alive connections;
//! - headers larger than [`MAX_HEAD`] are refused, so an unfinished header costs at most that;
//! - past `max_connections` open connections, a new one is closed at once.

use std::{future::Future, io, sync::Arc, time::Duration};

use axum::{
    extract::{ConnectInfo, Request},
    Router,
};
use hyper::{body::Incoming, server::conn::http1};
use hyper_util::{
    rt::{TokioIo, TokioTimer},
    server::graceful::GracefulShutdown,
    service::TowerToHyperService,
};
use tokio::{net::TcpListener, sync::Semaphore};
use tower::ServiceExt as _;

/// The largest request head (request line and headers) a client may send.
pub const MAX_HEAD: usize = 64 * 1024;

/// How long to wait before accepting again after a failed accept (the file limit reached,
/// say), so the loop does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// Limits on what one client can hold.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// How long a connection may take to send a request's headers (idle time included).
    pub header_timeout: Duration,
    /// Connections open at once; past this, new ones are closed at once.
    pub max_connections: usize,
}

/// Serves `router` on `listener` until `shutdown` completes, then stops accepting, closes idle
/// connections and returns once in-flight requests have finished.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    tracing::warn!(%error, "cannot accept a connection");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            metrics::counter!("connections_refused_total").increment(1);
            tracing::warn!(%peer, limit = limits.max_connections, "connection limit reached; closing a new connection");
            continue;
        };
        let _ = stream.set_nodelay(true);
        // Requests carry the peer address, for the per-IP limits.
        let service = router
            .clone()
            .map_request(move |mut request: Request<Incoming>| {
                request.extensions_mut().insert(ConnectInfo(peer));
                request
            });
        let connection = http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_timeout)
            .max_buf_size(MAX_HEAD)
            .serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, %peer, "connection closed with an error");
            }
            drop(permit);
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}
