//! The desktop app's command logic and event bridge, without a window: profile checks, drafts,
//! and a session against a real charla-server whose events reach the sink in order.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use charla_client::settings::Paths;
use charla_client::{ChangeOp, ChangeTarget, ClientEvent, ConnectionStatus};
use charla_desktop::bridge::EventSink;
use charla_desktop::error::{AppError, AppErrorKind};
use charla_desktop::session::AppState;
use charla_testkit::TestServer;

#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Vec<ClientEvent>>>);

impl EventSink for Recorder {
    fn deliver(&self, event: &ClientEvent) {
        self.0.lock().expect("lock").push(event.clone());
    }
}

impl Recorder {
    async fn wait_for(&self, what: &str, pick: impl Fn(&ClientEvent) -> bool) {
        for _ in 0..200 {
            if self.0.lock().expect("lock").iter().any(&pick) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("no {what} event; got {:?}", self.0.lock().expect("lock"));
    }
}

#[test]
fn profiles_are_checked_with_the_servers_rules_and_saved() {
    let dir = tempfile::tempdir().expect("temp dir");
    let state = AppState::new(Paths::under(dir.path()));
    assert!(state.settings().config.username.is_none(), "first run");
    assert!(matches!(
        state.save_profile("   ", "ws://localhost:3050", None),
        Err(AppError::InvalidUsername(_))
    ));
    assert!(matches!(
        state.save_profile(&"x".repeat(33), "ws://localhost:3050", None),
        Err(AppError::InvalidUsername(_))
    ));
    assert!(matches!(
        state.save_profile("ana", "ftp://x", None),
        Err(AppError::InvalidServer(_))
    ));
    let saved = state
        .save_profile("  ana ", "http://127.0.0.1:4000", None)
        .expect("valid");
    assert_eq!(saved.username.as_deref(), Some("ana"));
    state
        .save_draft("general", "half a thought")
        .expect("saves");
    state.save_draft("ops", "the ops draft").expect("saves");
    let reloaded = AppState::new(Paths::under(dir.path())).settings();
    assert_eq!(reloaded.config.server_url, "http://127.0.0.1:4000");
    assert_eq!(
        (
            reloaded.drafts.get("general").map(String::as_str),
            reloaded.drafts.get("ops").map(String::as_str)
        ),
        (Some("half a thought"), Some("the ops draft")),
        "drafts are per server and room, and survive"
    );
    let muted = state.set_room_muted("ops", true).expect("saves");
    assert_eq!(muted.muted_rooms(), ["ops"]);
    assert_eq!(
        AppState::new(Paths::under(dir.path()))
            .settings()
            .config
            .muted_rooms(),
        ["ops"],
        "mutes survive"
    );
}

#[tokio::test]
async fn a_session_forwards_every_event_to_the_window() {
    let server = TestServer::open().await;
    let addr = server.addr;

    let dir = tempfile::tempdir().expect("temp dir");
    let state = AppState::new(Paths::under(dir.path()));
    assert!(matches!(
        state.send("general", "too early".into()).await,
        Err(AppError::NoSession)
    ));
    assert!(matches!(
        state.start_session(Recorder::default()).await,
        Err(AppError::NotConfigured)
    ));
    state
        .save_profile("ana", &format!("http://{addr}"), None)
        .expect("profile");

    let sink = Recorder::default();
    state.start_session(sink.clone()).await.expect("starts");
    sink.wait_for("connected", |e| {
        matches!(e, ClientEvent::Status(ConnectionStatus::Connected { .. }))
    })
    .await;
    assert!(matches!(
        state.send("general", "  ".into()).await,
        Err(AppError::EmptyMessage)
    ));
    let entry = state.send("general", "hola".into()).await.expect("queued");
    sink.wait_for("message", |e| matches!(e, ClientEvent::Message(m) if m.client_id.as_deref() == Some(entry.client_id.as_str()))).await;
    sink.wait_for(
        "empty outbox",
        |e| matches!(e, ClientEvent::Outbox { entries, .. } if entries.is_empty()),
    )
    .await;
    assert!(matches!(
        state.retry(&entry.client_id).await,
        Err(AppError::UnknownMessage)
    ));

    // Restarting (a new profile, a reloaded window) replaces the session: one client at a time.
    let second = Recorder::default();
    state.start_session(second.clone()).await.expect("restarts");
    second
        .wait_for(
            "joined again",
            |e| matches!(e, ClientEvent::Joined { history, .. } if history.len() == 1),
        )
        .await;
    sink.wait_for("old session stopped", |e| {
        matches!(
            e,
            ClientEvent::Status(ConnectionStatus::Disconnected { .. })
        )
    })
    .await;
}

/// Changes to messages go through the session: checked before they are queued (an empty edit, a
/// reaction that is not an emoji, an unsent message that is not there), then applied by the
/// server and forwarded to the window as `messageUpdated`; the pinned list is asked for.
#[tokio::test]
async fn changes_to_messages_go_through_the_session() {
    let server = TestServer::open().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let state = AppState::new(Paths::under(dir.path()));
    state
        .save_profile("ana", &server.http_url(), None)
        .expect("profile");
    let sink = Recorder::default();
    state.start_session(sink.clone()).await.expect("starts");
    let entry = state.send("general", "helo".into()).await.expect("queued");
    sink.wait_for("the message", |e| {
        matches!(e, ClientEvent::Message(m) if m.client_id.as_deref() == Some(entry.client_id.as_str()))
    })
    .await;
    let seq = || ChangeTarget::Seq { seq: 1 };
    let refused = [
        (seq(), ChangeOp::Edit { text: " ".into() }),
        (
            seq(),
            ChangeOp::React {
                emoji: "ok".into(),
                on: true,
            },
        ),
        (
            ChangeTarget::Unsent {
                client_id: "gone".into(),
            },
            ChangeOp::Delete,
        ),
    ];
    let mut kinds = Vec::new();
    for (target, change) in refused {
        let refusal = state.change("general", target, change).await.err();
        kinds.push(refusal.map(|e| e.kind()));
    }
    assert_eq!(
        kinds,
        [
            Some(AppErrorKind::EmptyMessage),
            Some(AppErrorKind::InvalidEmoji),
            Some(AppErrorKind::UnknownMessage)
        ]
    );

    for change in [
        ChangeOp::Edit {
            text: "hello".into(),
        },
        ChangeOp::Pin { pinned: true },
    ] {
        state
            .change("general", seq(), change)
            .await
            .expect("queued");
    }
    sink.wait_for("the change", |e| {
        matches!(e, ClientEvent::MessageUpdated(m) if m.text == "hello" && m.living.pinned.is_some())
    })
    .await;
    let pins = state
        .handle()
        .await
        .expect("a session")
        .pins("general")
        .await
        .expect("pins");
    let pinned: Vec<_> = pins.messages.iter().map(|m| m.text.as_str()).collect();
    assert_eq!(pinned, ["hello"]);
}

/// The app claims its name with a key kept in its data folder; a link code from it lets another
/// install in; forgetting that one deletes its key, clears the saved name and stops its session.
#[tokio::test]
async fn names_are_claimed_linked_and_forgotten_with_keys_in_the_data_folder() {
    let server = TestServer::open().await;
    let url = format!("http://{}", server.addr);
    let laptop_dir = tempfile::tempdir().expect("temp dir");
    let laptop = AppState::new(Paths::under(laptop_dir.path()));
    laptop.save_profile("ana", &url, None).expect("profile");
    let laptop_events = Recorder::default();
    laptop
        .start_session(laptop_events.clone())
        .await
        .expect("starts");
    laptop_events
        .wait_for("claimed", |e| {
            matches!(e, ClientEvent::Joined { owned: true, .. })
        })
        .await;
    let keys = laptop_dir.path().join("keys");
    assert_eq!(std::fs::read_dir(&keys).expect("a keys folder").count(), 1);

    let desktop_dir = tempfile::tempdir().expect("temp dir");
    let desktop = AppState::new(Paths::under(desktop_dir.path()));
    assert!(matches!(
        desktop.save_profile("ana", &url, Some("not a code")),
        Err(AppError::InvalidLinkCode)
    ));
    let code = laptop.link_code().await.expect("a code");
    desktop
        .save_profile("ana", &url, Some(&code.code.to_lowercase()))
        .expect("profile with a code");
    let desktop_events = Recorder::default();
    desktop
        .start_session(desktop_events.clone())
        .await
        .expect("starts");
    desktop_events
        .wait_for("linked", |e| {
            matches!(e, ClientEvent::Joined { owned: true, .. })
        })
        .await;

    let config = desktop.forget_device().await.expect("forgotten");
    assert_eq!(config.username, None, "back to choosing a name");
    assert_eq!(
        std::fs::read_dir(desktop_dir.path().join("keys"))
            .expect("the keys folder")
            .count(),
        0,
        "its key is deleted"
    );
    assert!(matches!(
        desktop.link_code().await,
        Err(AppError::NoSession)
    ));
    assert!(
        laptop.link_code().await.is_ok(),
        "the laptop still owns the name"
    );
}
