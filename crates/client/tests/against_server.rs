//! charla-client against a real charla-server on 127.0.0.1: chat, presence, typing, acks,
//! refused messages with retry/discard, and sending while the server is down.

use std::net::SocketAddr;
use std::time::Duration;

use charla_client::{
    spawn, ClientEvent, ClientHandle, ClientOptions, ConnectionStatus, DisconnectReason,
    OutboxState,
};
use charla_protocol::chat::ErrorCode;
use charla_server::ServerConfig;
use charla_testkit::TestServer;
use tokio::sync::mpsc;

const WAIT: Duration = Duration::from_secs(10);

struct Client {
    handle: ClientHandle,
    events: mpsc::UnboundedReceiver<ClientEvent>,
    _dir: tempfile::TempDir,
}

impl Client {
    fn start(addr: SocketAddr, name: &str) -> Self {
        Self::start_with(addr, name, |_| {})
    }

    /// A client as `name`, its options changed by `configure` before it starts.
    fn start_with(
        addr: SocketAddr,
        name: &str,
        configure: impl FnOnce(&mut ClientOptions),
    ) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut options = ClientOptions::new(
            &format!("http://{addr}"),
            name,
            dir.path().join("outbox.json"),
        )
        .expect("options");
        options.backoff =
            charla_client::Backoff::new(Duration::from_millis(50), Duration::from_millis(200), 0.5);
        configure(&mut options);
        let (tx, events) = mpsc::unbounded_channel();
        Self {
            handle: spawn(options, tx),
            events,
            _dir: dir,
        }
    }

    /// The first event for which `pick` returns something.
    async fn until<T>(&mut self, mut pick: impl FnMut(&ClientEvent) -> Option<T>) -> T {
        tokio::time::timeout(WAIT, async {
            loop {
                let event = self.events.recv().await.expect("client running");
                if let Some(found) = pick(&event) {
                    return found;
                }
            }
        })
        .await
        .expect("the expected event came in time")
    }

    async fn connected(&mut self) {
        self.until(|e| {
            matches!(e, ClientEvent::Status(ConnectionStatus::Connected { .. })).then_some(())
        })
        .await;
    }

    async fn message(&mut self) -> charla_protocol::chat::ChatMessage {
        self.until(|e| match e {
            ClientEvent::Message(m) => Some(m.clone()),
            _ => None,
        })
        .await
    }

    async fn outbox_empty(&mut self) {
        self.until(|e| {
            matches!(e, ClientEvent::Outbox { entries, .. } if entries.is_empty()).then_some(())
        })
        .await;
    }
}

fn open() -> ServerConfig {
    ServerConfig {
        rate_limit_per_sec: 0,
        rate_limit_per_address_per_sec: 0,
        ..Default::default()
    }
}

/// Two clients chat; presence and typing flow; the sender's outbox empties on the ack.
#[tokio::test]
async fn two_clients_chat_with_presence_typing_and_acks() {
    let server = TestServer::start(open()).await;
    let mut alice = Client::start(server.addr, "alice");
    alice.connected().await;
    let mut bob = Client::start(server.addr, "bob");
    bob.connected().await;
    let joined = alice.until(|e| match e {
        ClientEvent::UserJoined { username, .. } => Some(username.clone()),
        _ => None,
    });
    assert_eq!(joined.await, "bob");

    let entry = alice.handle.send("hola bob").await.expect("queued");
    assert_eq!(entry.state, OutboxState::Pending);
    let got = bob.message().await;
    assert_eq!(
        (got.username.as_str(), got.text.as_str()),
        ("alice", "hola bob")
    );
    assert_eq!(got.client_id.as_deref(), Some(entry.client_id.as_str()));
    assert_eq!(
        alice.message().await.seq,
        got.seq,
        "the sender sees its own message"
    );
    alice.outbox_empty().await;

    bob.handle.typing(true);
    let typing = alice.until(|e| match e {
        ClientEvent::Typing {
            username, typing, ..
        } => Some((username.clone(), *typing)),
        _ => None,
    });
    assert_eq!(typing.await, ("bob".to_owned(), true));

    bob.handle.disconnect().await;
    let left = alice.until(|e| match e {
        ClientEvent::UserLeft { username } => Some(username.clone()),
        _ => None,
    });
    assert_eq!(left.await, "bob");
}

/// Refused messages stay in the outbox as failed with the server's reason; retry and discard.
#[tokio::test]
async fn refused_messages_fail_and_can_be_retried_or_discarded() {
    let server = TestServer::start(ServerConfig {
        max_message_chars: 5,
        rate_limit_per_sec: 0,
        rate_limit_per_address_per_sec: 0,
        ..Default::default()
    })
    .await;
    let mut alice = Client::start(server.addr, "alice");
    alice.connected().await;
    let long = alice.handle.send("much too long").await.expect("queued");
    let failed = alice.until(|e| match e {
        ClientEvent::Outbox { entries, .. } => entries.iter().find_map(|x| match &x.state {
            OutboxState::Failed { code, .. } if x.client_id == long.client_id => Some(*code),
            _ => None,
        }),
        _ => None,
    });
    assert_eq!(failed.await, ErrorCode::MessageTooLong);
    alice.handle.retry(&long.client_id).await.expect("retry");
    alice
        .until(|e| match e {
            ClientEvent::Outbox { entries, .. } => entries
                .iter()
                .any(|x| matches!(x.state, OutboxState::Failed { .. }))
                .then_some(()),
            _ => None,
        })
        .await;
    alice
        .handle
        .discard(&long.client_id)
        .await
        .expect("discard");
    alice.outbox_empty().await;
    assert!(matches!(
        alice.handle.discard(&long.client_id).await,
        Err(charla_client::Error::UnknownMessage(_))
    ));
    assert!(matches!(
        alice.handle.send("   ").await,
        Err(charla_client::Error::EmptyMessage)
    ));
}

/// A message sent while the server is down waits as pending and is delivered once it is up.
#[tokio::test]
async fn sending_while_offline_delivers_on_reconnect() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port");
    let mut alice = Client::start(port, "alice");
    alice
        .until(|e| {
            matches!(
                e,
                ClientEvent::Status(ConnectionStatus::Reconnecting { .. })
            )
            .then_some(())
        })
        .await;
    let entry = alice
        .handle
        .send("written offline")
        .await
        .expect("queued offline");
    assert_eq!(entry.state, OutboxState::Pending);

    let server = TestServer::start_on(port, open()).await;
    alice.handle.reconnect_now();
    alice.connected().await;
    let mut bob = Client::start(server.addr, "bob");
    let joined = bob.until(|e| match e {
        ClientEvent::Joined { history, .. } => Some(history.clone()),
        _ => None,
    });
    let history = joined.await;
    alice.outbox_empty().await;
    let mut texts: Vec<String> = history.into_iter().map(|m| m.text).collect();
    if texts.is_empty() {
        texts.push(bob.message().await.text);
    }
    assert_eq!(texts, ["written offline"], "delivered exactly once");
}

/// A private server: without the token the client reports why and waits (no retry loop); with
/// it, it connects.
#[tokio::test]
async fn a_wrong_token_is_reported_and_the_right_one_connects() {
    let server = TestServer::start(ServerConfig {
        token: Some("s3cret".into()),
        ..Default::default()
    })
    .await;
    let dir = tempfile::tempdir().expect("temp dir");
    for (token, expect_connected) in [
        (None, false),
        (Some("wrong"), false),
        (Some("s3cret"), true),
    ] {
        let mut options = ClientOptions::new(
            &format!("http://{}", server.addr),
            "carol",
            dir.path().join("outbox.json"),
        )
        .expect("options");
        options.token = token.map(str::to_owned);
        let (tx, mut events) = mpsc::unbounded_channel();
        let handle = spawn(options, tx);
        let outcome = tokio::time::timeout(WAIT, async {
            loop {
                match events.recv().await.expect("running") {
                    ClientEvent::Status(ConnectionStatus::Connected { .. }) => return Ok(()),
                    ClientEvent::Status(ConnectionStatus::Disconnected { reason, cause }) => {
                        return Err((reason, cause))
                    }
                    _ => {}
                }
            }
        })
        .await
        .expect("an outcome in time");
        match (outcome, expect_connected) {
            (Ok(()), true) => {}
            (Err((reason, cause)), false) => {
                assert!(reason.contains("invalid token"), "{reason}");
                assert_eq!(cause, DisconnectReason::InvalidToken);
            }
            (other, _) => panic!("token {token:?}: unexpected {other:?}"),
        }
        handle.disconnect().await;
    }
}

/// A client with a device key.
fn keyed(addr: SocketAddr, name: &str, key: &str, link: Option<String>) -> Client {
    Client::start_with(addr, name, |options| {
        options.device_key = Some(key.to_owned());
        options.link_code = link;
    })
}

/// Through the client core: a key claims the name, a link code from it lets a second key in,
/// both are joined as the owner at once, a key that is not the name's is refused for good
/// (`name_owned`, no reconnect loop), and forgetting a device stops its client.
#[tokio::test]
async fn devices_claim_link_and_forget_through_the_client() {
    let server = TestServer::open().await;
    let mut laptop = keyed(server.addr, "alice", &"1".repeat(64), None);
    let owned = laptop
        .until(|e| match e {
            ClientEvent::Joined { owned, .. } => Some(*owned),
            _ => None,
        })
        .await;
    assert!(owned, "the free name is claimed");
    let code = laptop.handle.link_code().await.expect("a code");

    let mut desktop = keyed(server.addr, "alice", &"2".repeat(64), Some(code.code));
    let (owned, users) = desktop
        .until(|e| match e {
            ClientEvent::Joined { owned, users, .. } => Some((*owned, users.clone())),
            _ => None,
        })
        .await;
    assert!(owned, "linked");
    assert_eq!(users, ["alice"], "one person, two devices");

    let mut impostor = keyed(server.addr, "alice", &"3".repeat(64), None);
    let cause = impostor
        .until(|e| match e {
            ClientEvent::Status(ConnectionStatus::Disconnected { cause, .. }) => Some(*cause),
            _ => None,
        })
        .await;
    assert_eq!(
        cause,
        DisconnectReason::JoinRefused {
            code: ErrorCode::NameOwned
        }
    );

    let forgotten = desktop.handle.forget_device().await.expect("forgotten");
    assert!(!forgotten.released, "the laptop still owns it");
    let cause = desktop
        .until(|e| match e {
            ClientEvent::Status(ConnectionStatus::Disconnected { cause, .. }) => Some(*cause),
            _ => None,
        })
        .await;
    assert_eq!(cause, DisconnectReason::Stopped);
    assert!(
        desktop.handle.link_code().await.is_err(),
        "a stopped client asks nothing"
    );
    server.stop().await;
}
