//! The connection loop: accepts connections up to a cap in all and a cap per client address,
//! serves each over HTTP/1.1 with a header-read timeout, an idle timeout, a maximum age and a
//! bounded read buffer, and drains them on shutdown.
//!
//! `axum::serve` has none of these limits, so a client that never finishes its headers held
//! its connection (and a task) forever, and enough such clients exhausted the file limit until
//! even `/health/live` timed out. Here:
//! - a request's headers must arrive within `header_timeout`, counted from when the server
//!   starts waiting for them;
//! - a connection that stays silent for `keep_alive_timeout` (nothing received, no request
//!   being answered) is closed: an idle keep-alive connection, or a new one that sends nothing;
//! - a connection is closed after `max_connection_age`, the request in progress answered
//!   first, so no connection is held for ever by a client that sends a request now and then;
//! - headers larger than [`MAX_HEAD`] are refused, so an unfinished header costs at most that;
//! - past `max_connections` open connections, a new one is closed at once, and so is a new one
//!   from a client address (an IPv6 network of `ipv6_prefix` bits) that already holds
//!   `max_connections_per_ip`: with the global cap alone, one client holding every slot with a
//!   request every few seconds shut everyone else out. Connections from a trusted proxy are not
//!   counted per address: when a connection is accepted only its peer is known, and a proxy
//!   carries many clients (the proxy has to limit those).

use std::{
    collections::HashMap,
    future::Future,
    io,
    net::{IpAddr, SocketAddr},
    pin::Pin,
    sync::{
        atomic::{AtomicU64, Ordering::Relaxed},
        Arc, Mutex, PoisonError,
    },
    task::{Context, Poll},
    time::Duration,
};

use axum::{
    extract::{ConnectInfo, Request},
    response::Response,
    Router,
};
use hyper::{body::Incoming, server::conn::http1, service::HttpService};
use hyper_util::{
    rt::{TokioIo, TokioTimer},
    service::TowerToHyperService,
};
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::{TcpListener, TcpStream},
    sync::{watch, Semaphore},
    time::Instant,
};
use tower::ServiceExt as _;

use crate::client::{self, IpNet};

/// The largest request head (request line and headers) a client may send.
pub const MAX_HEAD: usize = 64 * 1024;

/// How long to wait before accepting again after a failed accept (the file limit reached,
/// say), so the loop does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// Limits on what one client can hold.
#[derive(Debug, Clone)]
pub struct Limits {
    /// How long a connection may take to send a request's headers (idle time included).
    pub header_timeout: Duration,
    /// How long a connection may stay silent before it is closed.
    pub keep_alive_timeout: Duration,
    /// How long a connection may stay open at all.
    pub max_connection_age: Duration,
    /// Connections open at once; past this, new ones are closed at once.
    pub max_connections: usize,
    /// Connections one client address may hold at once; 0 = no such cap.
    pub max_connections_per_ip: usize,
    /// IPv6 addresses count per network of this many bits.
    pub ipv6_prefix: u8,
    /// Peers whose connections are not counted per address.
    pub trusted_proxies: Arc<[IpNet]>,
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
    let per_ip = Arc::new(PerAddress::new(
        limits.max_connections_per_ip,
        limits.ipv6_prefix,
    ));
    let timeouts = Timeouts {
        keep_alive: limits.keep_alive_timeout,
        max_age: limits.max_connection_age,
    };
    let (stop, stopping) = watch::channel(());
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
        let proxy = limits.trusted_proxies.iter().any(|n| n.contains(peer.ip()));
        let slot = if proxy {
            Slot(None)
        } else {
            match per_ip.open(peer.ip()) {
                Some(slot) => slot,
                None => {
                    metrics::counter!("connections_refused_total", "limit" => "per_ip")
                        .increment(1);
                    // Not a warning per connection: a client past its cap may open thousands.
                    tracing::debug!(%peer, limit = limits.max_connections_per_ip, "per-address connection limit reached; closing a new connection");
                    continue;
                }
            }
        };
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            metrics::counter!("connections_refused_total", "limit" => "total").increment(1);
            tracing::warn!(%peer, limit = limits.max_connections, "connection limit reached; closing a new connection");
            continue;
        };
        let _ = stream.set_nodelay(true);
        let activity = Arc::new(Activity::new());
        let connection = http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_timeout)
            .max_buf_size(MAX_HEAD)
            .serve_connection(
                TokioIo::new(Watched {
                    stream,
                    activity: activity.clone(),
                }),
                TowerToHyperService::new(service(&router, peer, &activity)),
            );
        let stopping = stopping.clone();
        tokio::spawn(async move {
            if let Err(error) = drive(connection, &activity, timeouts, stopping).await {
                tracing::debug!(%error, %peer, "connection closed with an error");
            }
            drop(slot);
            drop(permit);
        });
    }
    drop(listener);
    // Every connection closes once idle (at once if it is); each gives its permit back.
    let _ = stop.send(());
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    let _ = permits.acquire_many(all).await;
    Ok(())
}

/// The router as one connection serves it: each request carries the peer address (for the
/// per-IP limits), and requests begun and answered are counted in `activity`.
fn service(
    router: &Router,
    peer: SocketAddr,
    activity: &Arc<Activity>,
) -> impl tower::Service<
    Request<Incoming>,
    Response = Response,
    Error = std::convert::Infallible,
    Future: Send,
> + Clone
       + Send
       + 'static {
    let begun = activity.clone();
    let answered = activity.clone();
    router
        .clone()
        .map_request(move |mut request: Request<Incoming>| {
            begun.request_begun();
            request.extensions_mut().insert(ConnectInfo(peer));
            request
        })
        .map_response(move |response: Response| {
            answered.request_answered();
            response
        })
}

/// How long a connection may be silent, and open at all.
#[derive(Debug, Clone, Copy)]
struct Timeouts {
    keep_alive: Duration,
    max_age: Duration,
}

/// Serves one connection until it ends, or until it has been silent for the keep-alive
/// timeout, reached its maximum age, or the server stops; then closes it: at once if it never
/// began a request (hyper's graceful shutdown leaves such a connection waiting for the header
/// timeout), else once the request in progress is answered (at once if there is none).
async fn drive<S, B>(
    connection: http1::Connection<TokioIo<Watched>, S>,
    activity: &Activity,
    timeouts: Timeouts,
    mut stopping: watch::Receiver<()>,
) -> Result<(), hyper::Error>
where
    S: HttpService<Incoming, ResBody = B>,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    B: hyper::body::Body + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let mut connection = std::pin::pin!(connection);
    // Two timers per connection, made once: this runs at every wake-up of the connection.
    let too_old = tokio::time::sleep_until(activity.born + timeouts.max_age);
    let idle = tokio::time::sleep_until(activity.born + timeouts.keep_alive);
    tokio::pin!(too_old, idle);
    loop {
        tokio::select! {
            // The connection first: it is what woke the task almost every time.
            biased;
            ended = connection.as_mut() => return ended,
            () = &mut idle => match activity.silent_until(timeouts.keep_alive) {
                Some(later) => idle.as_mut().reset(later),
                None => break,
            },
            () = &mut too_old => break,
            _ = stopping.changed() => break,
        }
    }
    if activity.begun.load(Relaxed) == 0 {
        return Ok(());
    }
    connection.as_mut().graceful_shutdown();
    connection.await
}

/// What a connection has been doing, for the keep-alive timeout.
struct Activity {
    /// When it was accepted.
    born: Instant,
    /// Milliseconds after `born` of the last byte received or reply made.
    last: AtomicU64,
    /// Requests begun (their headers read).
    begun: AtomicU64,
    /// Requests answered (their reply made; hyper writes it after).
    answered: AtomicU64,
}

impl Activity {
    fn new() -> Self {
        Self {
            born: Instant::now(),
            last: AtomicU64::new(0),
            begun: AtomicU64::new(0),
            answered: AtomicU64::new(0),
        }
    }

    fn touch(&self) {
        let since = u64::try_from(self.born.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last.store(since, Relaxed);
    }

    fn request_begun(&self) {
        self.begun.fetch_add(1, Relaxed);
    }

    fn request_answered(&self) {
        self.answered.fetch_add(1, Relaxed);
        self.touch();
    }

    /// `None` if the connection has been silent for `limit` (nothing received, no request
    /// being answered); else when it will have been, if nothing happens meanwhile.
    fn silent_until(&self, limit: Duration) -> Option<Instant> {
        let now = Instant::now();
        if self.begun.load(Relaxed) != self.answered.load(Relaxed) {
            return Some(now + limit);
        }
        let end = self.born + Duration::from_millis(self.last.load(Relaxed)) + limit;
        (end > now).then_some(end)
    }
}

/// The socket, noting in [`Activity`] each time bytes arrive.
struct Watched {
    stream: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.stream).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.activity.touch();
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

/// Open connections per client address (IPv6: per network), for `max_connections_per_ip`.
struct PerAddress {
    limit: usize,
    ipv6_prefix: u8,
    open: Mutex<HashMap<IpAddr, usize>>,
}

impl PerAddress {
    fn new(limit: usize, ipv6_prefix: u8) -> Self {
        Self {
            limit,
            ipv6_prefix,
            open: Mutex::new(HashMap::new()),
        }
    }

    /// A place for one more connection from `ip`, or `None` if it holds its limit already.
    fn open(self: &Arc<Self>, ip: IpAddr) -> Option<Slot> {
        if self.limit == 0 {
            return Some(Slot(None));
        }
        let network = client::network(ip, self.ipv6_prefix);
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        let count = open.entry(network).or_insert(0);
        if *count >= self.limit {
            return None;
        }
        *count += 1;
        Some(Slot(Some((self.clone(), network))))
    }

    fn close(&self, network: IpAddr) {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = open.get_mut(&network) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                open.remove(&network);
            }
        }
    }
}

/// One connection's place in [`PerAddress`], given back when dropped (none when not counted).
struct Slot(Option<(Arc<PerAddress>, IpAddr)>);

impl Drop for Slot {
    fn drop(&mut self) {
        if let Some((table, network)) = self.0.take() {
            table.close(network);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn each_address_has_its_own_cap_and_gets_its_places_back() {
        let table = Arc::new(PerAddress::new(2, 64));
        let a1 = table.open(ip("192.0.2.1")).expect("first");
        let _a2 = table.open(ip("192.0.2.1")).expect("second");
        assert!(
            table.open(ip("192.0.2.1")).is_none(),
            "third from one address"
        );
        let _b = table.open(ip("192.0.2.2")).expect("another address");
        drop(a1);
        assert!(table.open(ip("192.0.2.1")).is_some(), "a place given back");
    }

    #[test]
    fn an_ipv6_network_counts_as_one_address() {
        let table = Arc::new(PerAddress::new(1, 64));
        let _one = table.open(ip("2001:db8::1")).expect("first");
        assert!(table.open(ip("2001:db8::2")).is_none(), "same /64");
        assert!(table.open(ip("2001:db8:0:1::1")).is_some(), "another /64");
    }

    #[test]
    fn no_cap_counts_nothing() {
        let table = Arc::new(PerAddress::new(0, 64));
        let slots: Vec<_> = (0..100).map(|_| table.open(ip("192.0.2.1"))).collect();
        assert!(slots.iter().all(Option::is_some));
        assert!(table.open.lock().unwrap().is_empty());
    }

    #[test]
    fn the_table_forgets_addresses_with_nothing_open() {
        let table = Arc::new(PerAddress::new(3, 64));
        let slot = table.open(ip("192.0.2.1"));
        drop(slot);
        assert!(table.open.lock().unwrap().is_empty());
    }
}
