//! The `Caller` extractor: who is asking, as the rules see it: the client's address (see
//! [`crate::client`]) and the device key of its browser, if it sent one.

use std::{convert::Infallible, net::SocketAddr};

use axum::{
    extract::{ConnectInfo, FromRequestParts},
    http::request::Parts,
};

use super::AppState;
use crate::{
    accounts::Client,
    client::{client_ip, Browser},
    token::DeviceKey,
};

/// The caller of a route, for rate limits, lockouts and audit lines.
pub struct Caller(pub Client);

impl FromRequestParts<AppState> for Caller {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Infallible> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip());
        let forwarded: Vec<&str> = parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        let ip = peer.map(|peer| client_ip(peer, &forwarded, &state.trusted_proxies));
        let device = state
            .cookies
            .read_device(&parts.headers)
            .map(|token| DeviceKey::of(&token));
        let browser = parts
            .headers
            .get(axum::http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(Browser::from_user_agent)
            .unwrap_or_default();
        Ok(Self(Client {
            ip,
            device,
            browser,
        }))
    }
}
