//! charla-server: the tutorial's Socket.IO chat server, ordered and lossless.
//!
//! [`run`] serves the chat on a listener until `shutdown` completes; the `charla-server` binary
//! parses its arguments and calls it, and so do the tests.

pub mod config;
pub mod error;
pub mod events;
pub mod frame_queue;
pub mod identity;
pub mod link;
pub mod origin;
pub mod owned_head;
pub mod rate_limit;
pub mod room;
pub mod store;
pub mod ws;

use std::future::Future;
use std::sync::Arc;

use axum::http::{HeaderValue, Method};
use axum::routing::get;
use axum::serve::ListenerExt;
use axum::Router;
use serde_json::Value as Json;
use socketioxide::extract::{SocketRef, TryData};
use socketioxide::handler::ConnectHandler;
use socketioxide::SocketIo;
use tokio::net::TcpListener;
use tower_http::cors::{AllowOrigin, CorsLayer};

pub use config::{ServerConfig, Storage, DEFAULT_PORT};
pub use error::{Error, Result};

use events::OrderedEvents;
use room::Room;

/// Initial WebSocket read buffer per connection.
const WS_READ_BUFFER: usize = 1024;

/// A connection refused at the Socket.IO handshake; the text is what the client sees.
#[derive(Debug, thiserror::Error)]
#[error("invalid token")]
struct InvalidToken;

/// Serves the chat on `listener` until `shutdown` completes, then disconnects everyone and
/// waits until every accepted message is stored.
///
/// # Errors
/// When the history store cannot be opened, or serving fails.
pub async fn run(
    listener: TcpListener,
    config: ServerConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    let config = Arc::new(config);
    let (store, loaded) = store::open(&config.storage, config.history_limit)?;
    tracing::info!(
        messages = loaded.history.len(),
        last_seq = loaded.last_seq,
        "history loaded"
    );
    let room = Room::new(loaded, store, config.clone());

    let frame_limit = config.max_frame_bytes();
    let (layer, io) = SocketIo::builder()
        .max_buffer_size(config.client_queue)
        .max_payload(frame_limit as u64)
        .ws_max_message_size(frame_limit)
        .ws_max_frame_size(frame_limit)
        .ping_interval(config.ping_interval)
        .ping_timeout(config.ping_timeout)
        // Chat frames are small; the buffer grows for a larger one. (Default: 4 KiB per socket.)
        .ws_read_buffer_size(WS_READ_BUFFER)
        .build_layer();
    register_namespace(&io, room.clone(), config.token.clone());
    let (stop_ws, ws_shutdown) = tokio::sync::watch::channel(false);
    let ws_context = Arc::new(ws::WsContext::new(
        room.clone(),
        config.clone(),
        ws_shutdown,
    ));

    let app = Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .layer(layer)
        // Only requests that reach socketioxide (which keeps their heads) are copied.
        .layer(axum::middleware::from_fn(owned_head::copy_head))
        // Direct WebSocket connections are served by `ws`; the rest go on to socketioxide.
        .layer(axum::middleware::from_fn_with_state(
            ws_context,
            ws::intercept,
        ))
        .layer(cors(&config))
        .layer(axum::middleware::from_fn_with_state(
            config.clone(),
            origin::guard,
        ));

    let listener = listener.tap_io(|tcp| {
        // Chat packets are small and latency matters: no Nagle (Node's `ws` does the same).
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "could not set TCP_NODELAY");
        }
    });
    let closing = io.clone();
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            shutdown.await;
            tracing::info!("shutting down: disconnecting clients");
            let _ = stop_ws.send(true);
            closing.close().await;
        })
        .await?;
    room.store().flush().await;
    tracing::info!("every accepted message is stored; bye");
    Ok(())
}

/// The main namespace: the token check and the event handlers are installed by a connect
/// middleware, which runs before the client hears `40`, so no event can arrive unhandled.
fn register_namespace(io: &SocketIo, room: Room, token: Option<String>) {
    let on_connect = {
        let room = room.clone();
        move |socket: SocketRef| {
            let room = room.clone();
            async move { room.connect(&link::Link::Sio(socket)) }
        }
    };
    let prepare = move |socket: SocketRef, TryData(auth): TryData<Json>| {
        let room = room.clone();
        let token = token.clone();
        async move {
            if let Some(expected) = &token {
                let given = auth
                    .ok()
                    .and_then(|a| a.get("token").and_then(Json::as_str).map(str::to_owned));
                if given.as_deref() != Some(expected.as_str()) {
                    tracing::info!(sid = %socket.id, "refused a connection with a wrong or missing token");
                    return Err(InvalidToken);
                }
            }
            socket.on_fallback(OrderedEvents::new(room.clone()));
            socket.on_disconnect(move |socket: SocketRef| {
                let room = room.clone();
                async move { room.leave(socket.id) }
            });
            Ok(())
        }
    };
    io.ns("/", on_connect.with(prepare));
}

fn cors(config: &ServerConfig) -> CorsLayer {
    let origins = if config.allowed_origins.iter().any(|o| o == "*") {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(
            config
                .allowed_origins
                .iter()
                .filter_map(|o| HeaderValue::from_str(o).ok()),
        )
    };
    CorsLayer::new()
        .allow_origin(origins)
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([axum::http::header::CONTENT_TYPE])
}
