//! charla-server: the tutorial's Socket.IO chat server, ordered and lossless.
//!
//! [`run`] serves the chat on a listener until `shutdown` completes; the `charla-server` binary
//! parses its arguments and calls it, and so do the tests. [`ServerConfig`] is the rest of the
//! public surface.
//!
//! Layers, each importing only the ones below it:
//! - `chat`: the rooms, their rules and the dispatcher that answers requests;
//! - `names`: owned names (the name book: devices, link codes, idle expiry);
//! - `transport`: Engine.IO / Socket.IO sessions over WebSocket and long-polling, handing
//!   events up through `transport::Application`;
//! - `ops`: the operators' endpoints (`/healthz`, `/metrics`), reading the chat and the
//!   sessions;
//! - `listener` (connections, caps, request-head deadline), `origin` (the browser origin
//!   guard), `proxy` (the client's address behind a trusted reverse proxy), `store` (history,
//!   rooms and markers: an `SQLite` file, or PostgreSQL for several nodes), `metrics` (the
//!   counters), `throttle` (rate-limited log lines), `clock`, `config`, `error`.

mod chat;
mod clock;
mod config;
pub mod config_file;
mod error;
mod listener;
mod metrics;
pub mod names;
mod ops;
mod origin;
pub mod proxy;
mod store;
mod throttle;
mod transport;

use std::future::Future;
use std::sync::Arc;

use axum::http::{HeaderValue, Method};
use tokio::net::TcpListener;
use tokio_util::task::TaskTracker;
use tower_http::cors::{AllowOrigin, CorsLayer};

pub use clock::Clock;
pub use config::{ServerConfig, Storage, DEFAULT_NAME_IDLE_DAYS, DEFAULT_PORT};
pub use error::{Error, Result};

use chat::{Chat, MIN_REMEMBERED_CLIENT_IDS};
use metrics::Metrics;
use store::ClusterHandle;
use transport::route::Context;

/// File descriptors kept free for the database, logs and the listener itself.
const SPARE_DESCRIPTORS: u64 = 64;

/// Serves the chat on `listener` until `shutdown` completes, then disconnects everyone and
/// waits until every accepted message is stored.
///
/// # Errors
/// When the history store cannot be opened.
pub async fn run(
    listener: TcpListener,
    config: ServerConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    let config = Arc::new(config);
    let (chat, cluster, metrics) = open_chat(&config)?;
    let (stop_sessions, sessions_stop) = tokio::sync::watch::channel(false);
    let tasks = TaskTracker::new();
    let context = Arc::new(Context::new(
        Arc::new(chat.clone()),
        config.clone(),
        sessions_stop,
        tasks.clone(),
    ));
    let ops = Arc::new(ops::Ops {
        chat: chat.clone(),
        sessions: context.clone(),
        metrics,
    });
    // Metrics on the chat's port unless they have an address of their own.
    let metrics_listener = match config.metrics_addr {
        Some(addr) => Some(
            TcpListener::bind(addr)
                .await
                .map_err(|source| Error::Bind { addr, source })?,
        ),
        None => None,
    };
    let app = ops::routes(ops.clone(), metrics_listener.is_none())
        .layer(axum::middleware::from_fn_with_state(
            context.clone(),
            transport::route::route,
        ))
        .layer(cors(&config))
        .layer(axum::middleware::from_fn_with_state(
            config.clone(),
            origin::guard,
        ));

    let upkeep = tokio::spawn(upkeep(chat.clone()));
    let database_watch = tokio::spawn(watch_database(chat.clone()));
    let (heard, hearing) = tokio::sync::mpsc::channel(HEARD_QUEUE);
    let cluster = match cluster {
        Some(cluster) => {
            cluster.listen(heard)?;
            Some(tokio::spawn(follow_other_nodes(chat.clone(), hearing)))
        }
        None => None,
    };
    let (stop_metrics, metrics_stop) = tokio::sync::watch::channel(false);
    if let Some(listener) = metrics_listener {
        tracing::info!(address = ?listener.local_addr().ok(), "metrics listening");
        tokio::spawn(serve_metrics(listener, ops, tasks.clone(), metrics_stop));
    }

    let limits = listener::Limits {
        total: connection_cap(config.max_connections),
        per_address: config.max_connections_per_address,
        header_timeout: config.header_timeout,
        proxies: config.trusted_proxies.clone(),
    };
    listener::serve(listener, app, limits, tasks.clone(), async move {
        shutdown.await;
        tracing::info!("shutting down: disconnecting clients");
    })
    .await;
    let _ = stop_sessions.send(true);
    let _ = stop_metrics.send(true);
    upkeep.abort();
    database_watch.abort();
    if let Some(cluster) = cluster {
        cluster.abort();
    }
    drain(chat, tasks).await;
    Ok(())
}

/// Opens the store and the name book `config` names and builds the chat over them; the
/// cluster, when other nodes share the store.
fn open_chat(config: &Arc<ServerConfig>) -> Result<(Chat, Option<ClusterHandle>, Arc<Metrics>)> {
    let options = store::StoreOptions {
        recent: config.history_limit,
        room_recent: chat::ROOM_WINDOW_MESSAGES,
        room_recent_bytes: chat::ROOM_WINDOW_BYTES,
        remembered_ids: config.history_limit.max(MIN_REMEMBERED_CLIENT_IDS),
        retention: config.retention_messages,
        max_bytes: config.db_max_bytes,
        searches: config.max_searches,
    };
    let opened = store::open(&config.storage, options)?;
    let cluster = opened.cluster.clone();
    tracing::info!(
        recent = opened.loaded.recent.len(),
        last_seq = opened.loaded.last_seq,
        oldest_seq = opened.loaded.oldest_seq,
        epoch = %opened.loaded.epoch,
        "history loaded"
    );
    let book = match &config.storage {
        Storage::Postgres(url) => {
            names::NameBook::open_postgres(url, config.name_idle, config.clock.clone())?
        }
        storage => names::NameBook::open(
            storage.names_path().as_deref(),
            config.name_idle,
            config.clock.clone(),
        )?,
    };
    let metrics = Arc::new(Metrics::default());
    let chat = Chat::new(opened, Arc::new(book), Arc::clone(config), metrics.clone());

    Ok((chat, cluster, metrics))
}

/// Waits for the connections to close (10 s at most), then writes what is left: when the last
/// devices were seen, read markers, and this node's leaving.
async fn drain(chat: Chat, tasks: TaskTracker) {
    tasks.close();
    if tokio::time::timeout(std::time::Duration::from_secs(10), tasks.wait())
        .await
        .is_err()
    {
        tracing::warn!("some connections did not close within 10 s");
    }
    // Messages are stored before they are acked: nothing is left to write but when the last
    // devices were seen.
    let flushing = chat.clone();
    let flushed = tokio::task::spawn_blocking(move || {
        flushing.flush_seen();
        flushing.flush_markers();
        flushing.leave_presence();
    })
    .await;
    if let Err(e) = flushed {
        tracing::error!(error = %e, "the last writes failed");
    }
    drop(chat);
    tracing::info!("every accepted message is stored; bye");
}

/// Announcements from the store waiting for the chat (the listener waits when it is full).
const HEARD_QUEUE: usize = 4096;

/// Delivers what other nodes store: each round takes every announcement waiting (so a burst
/// costs one read per room) and catches those rooms up off the async threads.
async fn follow_other_nodes(chat: Chat, mut hearing: tokio::sync::mpsc::Receiver<store::Heard>) {
    while let Some(first) = hearing.recv().await {
        let mut heard = vec![first];
        while let Ok(more) = hearing.try_recv() {
            heard.push(more);
        }
        let chat = chat.clone();
        if let Err(e) = tokio::task::spawn_blocking(move || chat.heard(&heard)).await {
            tracing::error!(error = %e, "catching up with other nodes failed");
        }
    }
}

/// The operators' endpoints on an address of their own (`--metrics-addr`), until `stop`.
async fn serve_metrics(
    listener: TcpListener,
    ops: Arc<ops::Ops>,
    tasks: TaskTracker,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let limits = listener::Limits {
        total: 64,
        per_address: 16,
        header_timeout: std::time::Duration::from_secs(10),
        proxies: proxy::TrustedProxies::default(),
    };
    let stopped = async move {
        let _ = stop.wait_for(|stopped| *stopped).await;
    };
    listener::serve(listener, ops::routes(ops, true), limits, tasks, stopped).await;
}

/// Once a second: writes when devices were last seen (and, once a minute, notes every connected
/// one as seen), takes names an operator released (with `charla-server names release`, another
/// process) from their connections, writes the read markers that moved, removes messages past
/// the retention age, and retires rooms nobody was in for the idle time.
async fn upkeep(chat: Chat) {
    let mut every = tokio::time::interval(std::time::Duration::from_secs(1));
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    for tick in 0u64.. {
        every.tick().await;
        let chat = chat.clone();
        let done = tokio::task::spawn_blocking(move || {
            // Once a minute, devices connected all along count as seen.
            if tick % 60 == 59 {
                chat.touch_connected();
            }
            chat.retire_idle_rooms();
            chat.purge_retired();
            chat.flush_seen();
            chat.sync_presence();
            chat.flush_markers();
            chat.drop_revoked();
            chat.expire_old();
        })
        .await;
        if let Err(e) = done {
            tracing::error!(error = %e, "upkeep failed");
        }
    }
}

/// Four times a second: when the database stops answering (a store over the network), every
/// client is sent away at once, so those that know other nodes move to one.
async fn watch_database(chat: Chat) {
    let mut every = tokio::time::interval(std::time::Duration::from_millis(250));
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        chat.follow_database();
    }
}

/// The connection cap, lowered to what the open-files limit allows (each connection is a file
/// descriptor; running out of them refuses everyone, with nothing logged).
fn connection_cap(configured: usize) -> usize {
    match rlimit::getrlimit(rlimit::Resource::NOFILE) {
        Ok((soft, _)) => {
            let fits =
                usize::try_from(soft.saturating_sub(SPARE_DESCRIPTORS)).unwrap_or(usize::MAX);
            if fits < configured {
                tracing::warn!(
                    configured,
                    open_files_limit = soft,
                    cap = fits,
                    "connection cap lowered to what the open-files limit allows"
                );
            }
            configured.min(fits.max(1))
        }
        Err(_) => configured,
    }
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
