//! The floor server the comparison measures against, run as its own process: it speaks enough
//! Socket.IO for a client to connect, and a `chat-message` from one connection reaches every
//! connection, the sender's included, text unchanged.
//!
//! (Being an integration test also makes `cargo test` build the `charla-bench` binary, which
//! the test command's quick benchmark then runs without a build of its own.)

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// The floor server's process, stopped (by its PID, through `Child`) when dropped.
struct Floor(Child);

impl Drop for Floor {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("its address").port()
}

async fn connect(port: u16) -> Socket {
    let url = format!("ws://127.0.0.1:{port}/socket.io/?EIO=4&transport=websocket");
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut socket = loop {
        match tokio_tungstenite::connect_async(url.as_str()).await {
            Ok((socket, _)) => break socket,
            Err(_) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => panic!("the floor server did not accept a connection in 10 s: {e}"),
        }
    };
    let open = next_text(&mut socket).await;
    assert!(
        open.starts_with("0{\"sid\":"),
        "Engine.IO open first, got {open}"
    );
    socket
        .send(Message::text("40"))
        .await
        .expect("send connect");
    let connected = next_text(&mut socket).await;
    assert!(
        connected.starts_with("40{\"sid\":"),
        "Socket.IO connect answered, got {connected}"
    );
    socket
}

async fn next_text(socket: &mut Socket) -> String {
    let frame = tokio::time::timeout(Duration::from_secs(5), socket.next())
        .await
        .expect("a frame within 5 s")
        .expect("the connection stays open")
        .expect("a readable frame");
    match frame {
        Message::Text(text) => text.to_string(),
        other => panic!("a text frame, got {other:?}"),
    }
}

#[tokio::test]
async fn a_chat_message_reaches_every_connection_unchanged() {
    let port = free_port();
    let _floor = Floor(
        Command::new(env!("CARGO_BIN_EXE_charla-bench"))
            .args(["raw-server", "--port", &port.to_string()])
            .stdout(Stdio::null())
            .spawn()
            .expect("start charla-bench raw-server"),
    );
    let mut sender = connect(port).await;
    let mut other = connect(port).await;

    sender
        .send(Message::text(r#"42["chat-message","héllo, \"floor\""]"#))
        .await
        .expect("send");
    let expected = r#"42["message","héllo, \"floor\""]"#;
    assert_eq!(next_text(&mut other).await, expected);
    assert_eq!(next_text(&mut sender).await, expected);

    // Anything else is not repeated: the next frame either side sees is the next message.
    sender
        .send(Message::text(r#"42["typing",true]"#))
        .await
        .expect("send");
    sender
        .send(Message::text(r#"42["chat-message","2"]"#))
        .await
        .expect("send");
    assert_eq!(next_text(&mut other).await, r#"42["message","2"]"#);
    sender.close(None).await.expect("close");
    other.close(None).await.expect("close");
}
