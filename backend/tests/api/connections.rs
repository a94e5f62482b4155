//! What one client can hold, tried with real sockets against the real server: connections
//! per client address (clients bound to different loopback addresses), idle connections, and
//! connections kept busy for ever. Real time passes here: socket timeouts are the point.

use std::{
    net::SocketAddr,
    time::{Duration, Instant},
};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpSocket, TcpStream},
};

use crate::support::{app::TestApp, Kind};

/// A connection to `server` from the loopback address `source` (127.0.0.0/8 is all loopback).
async fn connect_from(source: &str, server: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(format!("{source}:0").parse().unwrap()).unwrap();
    socket.connect(server).await.unwrap()
}

/// One `GET /health/live` over `stream`, kept alive: the reply's head, or `None` if the
/// server closed the connection instead (or said nothing within two seconds).
async fn exchange(stream: &mut TcpStream) -> Option<String> {
    let request = "GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    stream.write_all(request.as_bytes()).await.ok()?;
    let mut reply = Vec::new();
    let mut buf = [0u8; 1024];
    tokio::time::timeout(Duration::from_secs(2), async {
        loop {
            let n = stream.read(&mut buf).await.ok()?;
            if n == 0 {
                return None;
            }
            reply.extend_from_slice(&buf[..n]);
            let text = String::from_utf8_lossy(&reply);
            if let Some((head, body)) = text.split_once("\r\n\r\n") {
                // /health/live answers a small JSON object.
                if body.ends_with('}') {
                    return Some(head.to_owned());
                }
            }
        }
    })
    .await
    .ok()
    .flatten()
}

/// How long until the server closes `stream` (EOF or reset), reading and discarding whatever
/// it sends; `None` if it is still open after `limit`.
async fn closed_after(stream: &mut TcpStream, limit: Duration) -> Option<Duration> {
    let started = Instant::now();
    let mut buf = [0u8; 1024];
    tokio::time::timeout(limit, async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return started.elapsed(),
                Ok(_) => {}
            }
        }
    })
    .await
    .ok()
}

/// One address holding its share of connections with keep-alive requests: its next
/// connection is closed at once, and another address is still served at once. With only the
/// global cap, the first address took every slot and the second was shut out.
#[tokio::test]
async fn one_address_at_its_cap_does_not_shut_out_another() {
    let app = TestApp::spawn_with(Kind::Sqlite, |c| {
        c.max_connections = 4;
        c.max_connections_per_ip = 2;
    })
    .await;
    // The hoarder tries to take every slot, keeping each connection busy enough to stay open.
    let mut held = Vec::new();
    for _ in 0..4 {
        let mut s = connect_from("127.0.0.2", app.addr).await;
        if exchange(&mut s).await.is_some() {
            held.push(s);
        }
    }
    let mut other = connect_from("127.0.0.3", app.addr).await;
    let started = Instant::now();
    let head = exchange(&mut other).await;
    assert!(
        head.as_deref()
            .is_some_and(|h| h.starts_with("HTTP/1.1 200")),
        "another address was not served: {head:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(1));
    assert_eq!(held.len(), 2, "one address held more than its cap");
    // The held ones still work, and a place given back can be taken again.
    for s in &mut held {
        assert!(exchange(s).await.is_some());
    }
    held.pop();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut again = connect_from("127.0.0.2", app.addr).await;
    assert!(exchange(&mut again).await.is_some(), "the freed place");
}

/// A trusted proxy carries many clients: its connections are not held to one address's cap.
#[tokio::test]
async fn connections_from_a_trusted_proxy_are_not_capped_per_address() {
    let app = TestApp::spawn_with(Kind::Sqlite, |c| {
        c.max_connections_per_ip = 2;
        c.trusted_proxies = vec!["127.0.0.4".parse().unwrap()];
    })
    .await;
    let mut held = Vec::new();
    for _ in 0..4 {
        let mut s = connect_from("127.0.0.4", app.addr).await;
        assert!(exchange(&mut s).await.is_some(), "proxy connection refused");
        held.push(s);
    }
}

/// A keep-alive connection left idle is closed after the keep-alive timeout (well before the
/// header timeout, which used to be the only limit), and so is a new one that sends nothing;
/// one that keeps asking stays open.
#[tokio::test]
async fn idle_connections_are_closed_after_the_keep_alive_timeout() {
    let app = TestApp::spawn_with(Kind::Sqlite, |c| {
        c.keep_alive_timeout = 1;
        c.header_timeout = 10;
    })
    .await;
    let mut idle = connect_from("127.0.0.2", app.addr).await;
    assert!(exchange(&mut idle).await.is_some());
    let mut silent = connect_from("127.0.0.2", app.addr).await;
    let mut busy = connect_from("127.0.0.2", app.addr).await;
    let busy_client = async {
        let started = Instant::now();
        while started.elapsed() < Duration::from_millis(2500) {
            assert!(
                exchange(&mut busy).await.is_some(),
                "a busy connection was closed"
            );
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    };
    let limit = Duration::from_secs(4);
    let (idle_closed, silent_closed, ()) = tokio::join!(
        closed_after(&mut idle, limit),
        closed_after(&mut silent, limit),
        busy_client,
    );
    for (what, closed) in [("idle", idle_closed), ("silent", silent_closed)] {
        let closed = closed.unwrap_or_else(|| panic!("the {what} connection is still open"));
        assert!(
            closed > Duration::from_millis(700) && closed < Duration::from_millis(2500),
            "the {what} connection closed after {closed:?}"
        );
    }
}

/// A connection that never falls silent is still closed at its maximum age, after answering
/// the request in progress; the client connects again and is served.
#[tokio::test]
async fn a_connection_is_closed_at_its_maximum_age() {
    let app = TestApp::spawn_with(Kind::Sqlite, |c| {
        c.keep_alive_timeout = 5;
        c.max_connection_age = 2;
    })
    .await;
    let mut s = connect_from("127.0.0.2", app.addr).await;
    let started = Instant::now();
    let mut answered = 0;
    while let Some(head) = exchange(&mut s).await {
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        answered += 1;
        if head.to_ascii_lowercase().contains("connection: close") {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "still open after 5 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let age = started.elapsed();
    assert!(
        age > Duration::from_millis(1500) && age < Duration::from_millis(3500),
        "closed after {age:?}"
    );
    assert!(answered >= 5, "only {answered} requests answered");
    let mut again = connect_from("127.0.0.2", app.addr).await;
    assert!(exchange(&mut again).await.is_some());
}
