//! The operators' endpoints: `GET /healthz` (is the store reachable? for load balancers) and
//! `GET /metrics` (Prometheus text), on the chat's port or, with `--metrics-addr`, on an
//! address of their own.
//!
//! Metrics are not for web pages: a request that carries an `Origin` header (every
//! cross-origin `fetch` does) is refused, whatever origins the chat allows.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::chat::Chat;
use crate::metrics::{Gauges, Metrics};
use crate::transport::route::Context;

/// How long the store may take to answer a health check.
const HEALTH_DEADLINE: Duration = Duration::from_secs(2);

/// What the endpoints read.
pub struct Ops {
    pub(crate) chat: Chat,
    pub(crate) sessions: Arc<Context>,
    pub(crate) metrics: Arc<Metrics>,
}

/// `/healthz`, and `/metrics` when `with_metrics`.
pub fn routes(ops: Arc<Ops>, with_metrics: bool) -> Router {
    let router = Router::new().route("/healthz", get(healthz));
    let router = if with_metrics {
        router.route("/metrics", get(metrics))
    } else {
        router
    };
    router.with_state(ops)
}

async fn healthz(State(ops): State<Arc<Ops>>) -> Response {
    let chat = ops.chat.clone();
    let checked = tokio::task::spawn_blocking(move || chat.check_store(HEALTH_DEADLINE)).await;
    match checked {
        Ok(Ok(())) => (StatusCode::OK, "ok\n").into_response(),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "health check: the store is unreachable");
            (StatusCode::SERVICE_UNAVAILABLE, format!("{e}\n")).into_response()
        }
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("the health check failed: {e}\n"),
        )
            .into_response(),
    }
}

async fn metrics(State(ops): State<Arc<Ops>>, headers: HeaderMap) -> Response {
    if headers.contains_key(header::ORIGIN) {
        return (
            StatusCode::FORBIDDEN,
            "metrics are not served to web pages\n",
        )
            .into_response();
    }
    let (websocket, polling) = ops.sessions.sessions_by_carrier();
    let chat = ops.chat.clone();
    let joined_users = tokio::task::spawn_blocking(move || chat.joined_users())
        .await
        .unwrap_or(0);
    let text = ops.metrics.render(Gauges {
        websocket,
        polling,
        joined_users,
    });
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response()
}
