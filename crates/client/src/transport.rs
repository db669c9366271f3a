//! Opening the WebSocket (plain or TLS with the platform's roots) and the Socket.IO handshake.

use std::sync::Arc;
use std::time::Duration;

use charla_protocol::chat::INVALID_TOKEN;
use charla_protocol::{EnginePacket, OpenPayload, SocketKind, SocketPacket};
use futures_util::{SinkExt, StreamExt};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use serde_json::Value;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};

/// The socket type.
pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Why a connection attempt ended.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConnectError {
    /// Network, TLS or WebSocket failure, or a timeout: worth retrying.
    #[error("{0}")]
    Transient(String),
    /// The server refused the namespace connection (`connect_error`): retrying won't help.
    #[error("the server refused the connection: {0}")]
    Refused(String),
    /// The server refused the connection for a missing or wrong access token.
    #[error("the server refused the connection: {INVALID_TOKEN}")]
    InvalidToken,
}

/// The environment variable naming a PEM file of certificate authorities to trust besides the
/// platform's (a private CA in front of a server; the platform's trust store works too).
pub const CA_FILE_VARIABLE: &str = "CHARLA_CA_FILE";

/// TLS with the platform's roots, and those of [`CA_FILE_VARIABLE`]'s file when it is set.
fn tls() -> Result<Connector, ConnectError> {
    let mut roots = rustls::RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    for cert in native.certs {
        // A certificate the platform has but rustls cannot parse is skipped, not fatal.
        let _ = roots.add(cert);
    }
    if let Some(path) = std::env::var_os(CA_FILE_VARIABLE).filter(|p| !p.is_empty()) {
        let path = std::path::PathBuf::from(path);
        let unusable = |why: String| {
            ConnectError::Transient(format!("{CA_FILE_VARIABLE}={}: {why}", path.display()))
        };
        let certs = CertificateDer::pem_file_iter(&path)
            .map_err(|e| unusable(e.to_string()))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| unusable(e.to_string()))?;
        if certs.is_empty() {
            return Err(unusable("no certificate in the file".into()));
        }
        for cert in certs {
            roots.add(cert).map_err(|e| unusable(e.to_string()))?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ConnectError::Transient(format!("TLS: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Connector::Rustls(Arc::new(config)))
}

/// Opens `url` and completes the handshake: the Engine.IO open packet, then `40` (with the
/// token, if any) answered by `40`. Pings that arrive before `40` (socketioxide sends one) are
/// answered.
///
/// # Errors
/// [`ConnectError::InvalidToken`] or [`ConnectError::Refused`] for a `connect_error`,
/// [`ConnectError::Transient`] otherwise.
pub async fn connect(
    url: &str,
    token: Option<&str>,
    within: Duration,
) -> Result<(Ws, OpenPayload), ConnectError> {
    tokio::time::timeout(within, handshake(url, token))
        .await
        .map_err(|_| ConnectError::Transient("the server did not answer in time".into()))?
}

async fn handshake(url: &str, token: Option<&str>) -> Result<(Ws, OpenPayload), ConnectError> {
    let transient = |e: &dyn std::fmt::Display| ConnectError::Transient(e.to_string());
    let connector = if url.starts_with("wss://") {
        Some(tls()?)
    } else {
        None
    };
    let (mut ws, _) = tokio_tungstenite::connect_async_tls_with_config(url, None, true, connector)
        .await
        .map_err(|e| ConnectError::Transient(describe(&e)))?;
    let open = match next_engine_packet(&mut ws).await? {
        packet @ EnginePacket::Open(_) => packet.open_payload().map_err(|e| transient(&e))?,
        other => {
            return Err(ConnectError::Transient(format!(
                "expected the open packet, got {other:?}"
            )))
        }
    };
    let auth = token.map(|t| serde_json::json!({ "token": t }));
    send_packet(&mut ws, &SocketPacket::connect(auth))
        .await
        .map_err(|e| transient(&e))?;
    loop {
        match next_engine_packet(&mut ws).await? {
            EnginePacket::Ping(body) => send(&mut ws, EnginePacket::Pong(body).encode())
                .await
                .map_err(|e| transient(&e))?,
            EnginePacket::Message(body) => {
                let packet = SocketPacket::decode(&body).map_err(|e| transient(&e))?;
                match packet.kind {
                    SocketKind::Connect => return Ok((ws, open)),
                    SocketKind::ConnectError => {
                        let reason = packet
                            .data
                            .as_ref()
                            .and_then(|d| {
                                d.get("message")
                                    .and_then(Value::as_str)
                                    .map(str::to_owned)
                                    .or_else(|| d.as_str().map(str::to_owned))
                            })
                            .unwrap_or_else(|| "refused".into());
                        return Err(if reason == INVALID_TOKEN {
                            ConnectError::InvalidToken
                        } else {
                            ConnectError::Refused(reason)
                        });
                    }
                    _ => {}
                }
            }
            EnginePacket::Close => {
                return Err(ConnectError::Transient(
                    "the server closed the session".into(),
                ))
            }
            _ => {}
        }
    }
}

/// A short reason people understand, for the banner.
fn describe(error: &tokio_tungstenite::tungstenite::Error) -> String {
    use std::io::ErrorKind;
    use tokio_tungstenite::tungstenite::Error as E;
    match error {
        E::Io(e) if e.kind() == ErrorKind::ConnectionRefused => {
            "the server is not reachable".into()
        }
        E::Io(e) if e.kind() == ErrorKind::TimedOut => "the server did not answer in time".into(),
        E::Io(e) if e.kind() == ErrorKind::NotFound || e.to_string().contains("lookup") => {
            "the server's address could not be found".into()
        }
        E::Http(response) => format!(
            "the server refused the connection (HTTP {})",
            response.status()
        ),
        E::Tls(e) => format!("secure connection failed: {e}"),
        other => format!("could not connect: {other}"),
    }
}

async fn next_engine_packet(ws: &mut Ws) -> Result<EnginePacket, ConnectError> {
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(text))) => {
                return EnginePacket::decode(&text)
                    .map_err(|e| ConnectError::Transient(e.to_string()));
            }
            Some(Ok(Message::Close(_))) | None => {
                return Err(ConnectError::Transient("the connection closed".into()))
            }
            Some(Err(e)) => return Err(ConnectError::Transient(e.to_string())),
            Some(Ok(_)) => {}
        }
    }
}

/// Sends one Socket.IO packet.
///
/// # Errors
/// The WebSocket's.
pub async fn send_packet(
    ws: &mut Ws,
    packet: &SocketPacket,
) -> Result<(), tokio_tungstenite::tungstenite::Error> {
    send(ws, EnginePacket::Message(packet.encode()).encode()).await
}

/// Sends one text frame.
///
/// # Errors
/// The WebSocket's.
pub async fn send(ws: &mut Ws, text: String) -> Result<(), tokio_tungstenite::tungstenite::Error> {
    ws.send(Message::text(text)).await
}
