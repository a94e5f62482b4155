//! A route-level middleware without axum's `from_fn` wrapping: `from_fn` boxes the inner
//! service again for its `Next` and boxes the inner future too, on every request. Here the
//! middleware is a plain async function of the request and the inner service, and the only
//! allocation is its own future. Used by the middlewares every request passes through.

use std::{
    convert::Infallible,
    future::Future,
    pin::Pin,
    task::{Context, Poll},
};

use axum::{extract::Request, response::Response};
use tower::{Layer, Service};

/// The inner service a middleware calls: the route it wraps.
pub trait Inner:
    Service<Request, Response = Response, Error = Infallible, Future: Send + 'static>
    + Clone
    + Send
    + 'static
{
}

impl<S> Inner for S where
    S: Service<Request, Response = Response, Error = Infallible, Future: Send + 'static>
        + Clone
        + Send
        + 'static
{
}

/// What a middleware does with a request: `M` is its own state (cheap to clone).
pub trait Middleware: Clone + Send + Sync + 'static {
    /// Serves `req`, calling `inner` (at most once) for the wrapped route's answer.
    fn call<S: Inner>(self, req: Request, inner: S) -> impl Future<Output = Response> + Send;
}

/// The wrapped route's answer to `req` (routes never fail: their errors are responses).
pub async fn run<S: Inner>(inner: S, req: Request) -> Response {
    use tower::ServiceExt as _;
    match inner.oneshot(req).await {
        Ok(response) => response,
        Err(never) => match never {},
    }
}

/// Wraps routes in `M` (`Router::layer(Wrap(m))`).
#[derive(Clone)]
pub struct Wrap<M>(pub M);

impl<M: Middleware, S> Layer<S> for Wrap<M> {
    type Service = Wrapped<M, S>;

    fn layer(&self, inner: S) -> Self::Service {
        Wrapped {
            middleware: self.0.clone(),
            inner,
        }
    }
}

/// A route wrapped in `M`.
#[derive(Clone)]
pub struct Wrapped<M, S> {
    middleware: M,
    inner: S,
}

impl<M: Middleware, S: Inner> Service<Request> for Wrapped<M, S> {
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        // The service that was polled ready serves this request; its clone waits for the next.
        let next = self.inner.clone();
        let ready = std::mem::replace(&mut self.inner, next);
        let middleware = self.middleware.clone();
        Box::pin(async move { Ok(middleware.call(req, ready).await) })
    }
}
