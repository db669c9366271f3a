//! Owned names against a real server on 127.0.0.1: claiming, refusing, linking a second device,
//! both online as one person, revoking, idle expiry (with a clock the test moves), the
//! tutorial's join refused an owned name, look-alikes, guesses limited, guests marked, and
//! `charla-server names list / release` on the book of a running server.

mod common;

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use charla_protocol::chat::{DeviceLink, ErrorCode, JoinAck, Refusal};
use charla_server::{Clock, ServerConfig};
use chrono::{TimeDelta, Utc};
use common::{code_of, ServerChild, TestClient, TestServer, KEY_A, KEY_B, KEY_C};
use serde_json::{json, Value};

fn accepted(ack: Value) -> JoinAck {
    serde_json::from_value(ack.clone()).unwrap_or_else(|_| panic!("joined, got {ack}"))
}

/// Joins `name` with `extra` (`{key, link}`) as the second argument, the way Charla's
/// clients do; returns the client and the ack.
async fn join(server: &TestServer, name: &str, extra: Value) -> (TestClient, Value) {
    let mut client = TestClient::connect(server).await;
    let ack = client.emit_ack("join", vec![json!(name), extra]).await;
    (client, ack)
}

async fn owner(server: &TestServer, name: &str, key: &str) -> (TestClient, JoinAck) {
    let (client, ack) = join(server, name, json!({ "key": key })).await;
    let ack = accepted(ack);
    assert!(ack.owned, "{name} owned with its key");
    (client, ack)
}

/// A clock the test moves forward.
fn movable_clock() -> (Clock, Arc<AtomicI64>) {
    let offset_ms = Arc::new(AtomicI64::new(0));
    let read = offset_ms.clone();
    let clock =
        Clock::from_fn(move || Utc::now() + TimeDelta::milliseconds(read.load(Ordering::Relaxed)));
    (clock, offset_ms)
}

fn days_ms(days: i64) -> i64 {
    days * 24 * 3600 * 1000
}

/// A free name is claimed by the first key; it stays owned while its owner is away: another
/// key, no key, and the tutorial's plain `join "alice"` are all refused `name_owned`.
#[tokio::test]
async fn the_first_key_claims_a_free_name_and_keeps_it_while_away() {
    let server = TestServer::open().await;
    let (alice, _) = owner(&server, "alice", KEY_A).await;
    drop(alice);
    tokio::time::sleep(Duration::from_millis(300)).await;

    let (_, wrong) = join(&server, "alice", json!({ "key": KEY_B })).await;
    assert_eq!(code_of(&wrong), ErrorCode::NameOwned);
    let mut tutorial = TestClient::connect(&server).await;
    let plain = tutorial.emit_ack("join", vec![json!("alice")]).await;
    assert_eq!(code_of(&plain), ErrorCode::NameOwned, "{plain}");
    assert!(
        Refusal::from_ack(&plain)
            .expect("refusal")
            .message
            .contains("belongs to someone else"),
        "{plain}"
    );
    let object = tutorial
        .emit_ack("join", vec![json!({"username": "alice", "since": 0})])
        .await;
    assert_eq!(code_of(&object), ErrorCode::NameOwned);

    let (_, back) = owner(&server, "alice", KEY_A).await;
    assert_eq!(back.username, "alice", "the owner's key still works");
    server.stop().await;
}

/// Ownership compares names as joins do: case, width and compatibility forms are one name,
/// and script-mixing look-alikes are refused outright.
#[tokio::test]
async fn look_alikes_of_an_owned_name_are_refused() {
    let server = TestServer::open().await;
    let (_alice, _) = owner(&server, "Alice", KEY_A).await;
    for same in ["alice", "ALICE", "ａｌｉｃｅ", " Alice "] {
        let (_, ack) = join(&server, same, json!({ "key": KEY_B })).await;
        assert_eq!(code_of(&ack), ErrorCode::NameOwned, "{same:?}");
    }
    // Cyrillic а in a Latin name, a zero-width space: not a name at all.
    for fake in ["\u{430}lice", "al\u{200b}ice"] {
        let (_, ack) = join(&server, fake, json!({ "key": KEY_B })).await;
        assert_eq!(code_of(&ack), ErrorCode::InvalidUsername, "{fake:?}");
    }
    // The owner's other spelling is the owner.
    let (_, ack) = owner(&server, "ALICE", KEY_A).await;
    assert_eq!(ack.users, ["Alice"], "listed once, as first joined");
    server.stop().await;
}

/// `username_taken` is only for names nobody owns: a guest holds a name while connected, and
/// a key cannot claim a name a guest is using.
#[tokio::test]
async fn guests_hold_names_only_while_connected_and_are_marked() {
    let server = TestServer::open().await;
    let (mut watcher, _) = owner(&server, "watcher", KEY_C).await;
    let (mut bob, bob_ack) = TestClient::joined(&server, "bob").await;
    assert!(!bob_ack.owned);
    assert_eq!(
        bob.event("users").await,
        [json!(["bob", "watcher"]), json!({"guests": ["bob"]})]
    );
    assert_eq!(
        watcher.event("user-joined").await,
        [json!("bob"), json!({"guest": true})]
    );

    let (_, taken) = join(&server, "bob", json!({ "key": KEY_A })).await;
    assert_eq!(code_of(&taken), ErrorCode::UsernameTaken);
    let (_, plain) = join(&server, "bob", json!({})).await;
    assert_eq!(code_of(&plain), ErrorCode::UsernameTaken);

    bob.emit_ack("chat-message", vec![json!({"text": "guest here"})])
        .await;
    let message = watcher.event("message").await;
    assert_eq!(message[0]["guest"], json!(true), "{message:?}");
    watcher
        .emit_ack("chat-message", vec![json!({"text": "owner here"})])
        .await;
    let message = bob.event("message").await;
    assert_eq!(message[0]["text"], json!("guest here"));
    let message = bob.event("message").await;
    assert_eq!(
        message[0].get("guest"),
        None,
        "owned names carry no mark: {message:?}"
    );

    drop(bob);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (mut owned_bob, _) = owner(&server, "bob", KEY_A).await;
    assert_eq!(
        owned_bob.event("users").await,
        [json!(["bob", "watcher"])],
        "bob is owned now: no guests to name"
    );
    server.stop().await;
}

/// A second device: the first asks for a link code, the second joins with it and its own key;
/// both are online at once, listed once, and see each other's messages as the same person's.
/// The code works once; the second device then proves the name with its key alone.
#[tokio::test]
async fn a_second_device_links_with_a_code_and_both_are_one_person() {
    let server = TestServer::open().await;
    let (mut laptop, _) = owner(&server, "alice", KEY_A).await;
    let (mut bob, _) = owner(&server, "bob", KEY_C).await;
    let code: DeviceLink =
        serde_json::from_value(laptop.emit_ack("device-link", vec![]).await).expect("a code");
    assert_eq!(code.code.len(), 19, "{}", code.code);
    let minutes = (code.expires_at - Utc::now()).num_seconds();
    assert!(
        (590..=600).contains(&minutes),
        "about ten minutes: {minutes} s"
    );

    // Typed sloppily on the other computer: lower case, spaces instead of dashes.
    let typed = code.code.to_lowercase().replace('-', " ");
    let (mut desktop, ack) = join(&server, "alice", json!({"key": KEY_B, "link": typed})).await;
    let ack = accepted(ack);
    assert!(ack.owned);
    assert_eq!(ack.users, ["alice", "bob"], "alice is listed once");
    assert!(
        !bob.gets_within("user-joined", Duration::from_millis(300))
            .await,
        "a second device of someone already here is not a new arrival"
    );

    desktop
        .emit_ack("chat-message", vec![json!({"text": "from the desktop"})])
        .await;
    for device in [&mut laptop, &mut desktop, &mut bob] {
        let message = device.event("message").await;
        assert_eq!(
            (message[0]["username"].clone(), message[0]["text"].clone()),
            (json!("alice"), json!("from the desktop"))
        );
    }

    // Used once: a third device cannot reuse it.
    let (_, reused) = join(&server, "alice", json!({"key": KEY_C, "link": code.code})).await;
    assert_eq!(code_of(&reused), ErrorCode::InvalidLink);

    // One device leaving is not alice leaving; its typing stops, though.
    desktop.emit("typing", vec![json!(true)]).await;
    assert_eq!(
        bob.event("typing").await,
        [json!({"username": "alice", "typing": true})]
    );
    drop(desktop);
    assert_eq!(
        bob.event("typing").await,
        [json!({"username": "alice", "typing": false})]
    );
    assert!(
        !bob.gets_within("user-left", Duration::from_millis(500))
            .await,
        "alice is still here on her laptop"
    );
    let (_, again) = owner(&server, "alice", KEY_B).await;
    assert!(again.owned, "the linked key proves the name by itself");
    drop(laptop);
    server.stop().await;
}

/// Link codes expire after ten minutes, belong to one name, and guests cannot make them.
#[tokio::test]
async fn link_codes_expire_and_belong_to_their_name() {
    let (clock, offset) = movable_clock();
    let server = TestServer::start(ServerConfig {
        clock,
        ..TestServer::unlimited()
    })
    .await;
    let (mut alice, _) = owner(&server, "alice", KEY_A).await;
    let (_bob, _) = owner(&server, "bob", KEY_C).await;
    let code: DeviceLink =
        serde_json::from_value(alice.emit_ack("device-link", vec![]).await).expect("a code");
    let (_, other_name) = join(&server, "bob", json!({"key": KEY_B, "link": code.code})).await;
    assert_eq!(
        code_of(&other_name),
        ErrorCode::InvalidLink,
        "a code for alice does nothing for bob: {other_name}"
    );

    offset.store(11 * 60 * 1000, Ordering::Relaxed);
    let (_, late) = join(&server, "alice", json!({"key": KEY_B, "link": code.code})).await;
    assert_eq!(code_of(&late), ErrorCode::InvalidLink);

    let (mut guest, _) = TestClient::joined(&server, "carol").await;
    let refused = guest.emit_ack("device-link", vec![]).await;
    assert_eq!(code_of(&refused), ErrorCode::NotOwned);
    let mut stranger = TestClient::connect(&server).await;
    let refused = stranger.emit_ack("device-link", vec![]).await;
    assert_eq!(code_of(&refused), ErrorCode::NotJoined);
    server.stop().await;
}

/// `device-forget` revokes one device: it leaves the name, its key no longer works, the other
/// device keeps the name; forgetting the last one frees it.
#[tokio::test]
async fn forgetting_devices_revokes_them_and_the_last_frees_the_name() {
    let server = TestServer::open().await;
    let (mut laptop, _) = owner(&server, "alice", KEY_A).await;
    let (mut watcher, _) = owner(&server, "watcher", KEY_C).await;
    let code: DeviceLink =
        serde_json::from_value(laptop.emit_ack("device-link", vec![]).await).expect("a code");
    let (mut desktop, ack) = join(&server, "alice", json!({"key": KEY_B, "link": code.code})).await;
    accepted(ack);

    let forgotten = desktop.emit_ack("device-forget", vec![]).await;
    assert_eq!(forgotten, json!({"ok": true, "released": false}));
    let refused = desktop
        .emit_ack("chat-message", vec![json!({"text": "still me?"})])
        .await;
    assert_eq!(
        code_of(&refused),
        ErrorCode::NotJoined,
        "the forgotten device left the name"
    );
    assert!(
        !watcher
            .gets_within("user-left", Duration::from_millis(300))
            .await,
        "alice is still here on her laptop"
    );
    let (_, revoked) = join(&server, "alice", json!({ "key": KEY_B })).await;
    assert_eq!(
        code_of(&revoked),
        ErrorCode::NameOwned,
        "a forgotten key proves nothing"
    );

    let last = laptop.emit_ack("device-forget", vec![]).await;
    assert_eq!(last, json!({"ok": true, "released": true}));
    assert_eq!(watcher.event("user-left").await, [json!("alice")]);
    let (_, claimed) = owner(&server, "alice", KEY_B).await;
    assert!(claimed.owned, "free again, so a new key claims it");
    server.stop().await;
}

/// A name whose devices were all away longer than `name_idle` is free again; one day less and
/// it is not. The time is the server's injected clock.
#[tokio::test]
async fn idle_names_are_free_again_after_the_configured_days() {
    let (clock, offset) = movable_clock();
    let server = TestServer::start(ServerConfig {
        clock,
        name_idle: Duration::from_secs(30 * 24 * 3600),
        ..TestServer::unlimited()
    })
    .await;
    let (alice, _) = owner(&server, "alice", KEY_A).await;
    drop(alice);
    // The last-seen time is written within a second of leaving.
    tokio::time::sleep(Duration::from_millis(1500)).await;

    offset.store(days_ms(29), Ordering::Relaxed);
    let (_, early) = join(&server, "alice", json!({ "key": KEY_B })).await;
    assert_eq!(
        code_of(&early),
        ErrorCode::NameOwned,
        "29 days away: still hers"
    );

    offset.store(days_ms(31), Ordering::Relaxed);
    let (_, taken_over) = owner(&server, "alice", KEY_B).await;
    assert!(taken_over.owned, "31 days away: claimed by a new key");
    let (_, old) = join(&server, "alice", json!({ "key": KEY_A })).await;
    assert_eq!(code_of(&old), ErrorCode::NameOwned, "the old key lost it");
    server.stop().await;
}

/// Wrong keys for an owned name are counted per name and per address: past ten, they are
/// refused as `rate_limited` with a wait; after the wait, the right key gets in.
#[tokio::test]
async fn guessing_keys_is_rate_limited() {
    let server = TestServer::open().await;
    let (alice, _) = owner(&server, "alice", KEY_A).await;
    drop(alice);
    let mut guesser = TestClient::connect(&server).await;
    let mut codes = Vec::new();
    for n in 0..14 {
        let guess = format!("{n:064x}");
        let ack = guesser
            .emit_ack("join", vec![json!("alice"), json!({ "key": guess })])
            .await;
        codes.push(code_of(&ack));
        if codes.last() == Some(&ErrorCode::RateLimited) {
            let refusal = Refusal::from_ack(&ack).expect("refusal");
            assert!(refusal.retry_after_ms.is_some_and(|ms| ms <= 1000), "{ack}");
        }
    }
    assert_eq!(&codes[..10], [ErrorCode::NameOwned; 10]);
    assert!(
        codes[10..].iter().all(|c| *c == ErrorCode::RateLimited),
        "{codes:?}"
    );

    tokio::time::sleep(Duration::from_millis(1100)).await;
    let ack = guesser
        .emit_ack("join", vec![json!("alice"), json!({ "key": KEY_A })])
        .await;
    assert!(accepted(ack).owned, "the right key after the wait");
    server.stop().await;
}

/// `charla-server names list` and `names release` work on the book of a running server; the
/// released name's connected device is told (`error` `name_released`) and leaves the name,
/// which a new key can then claim. Both also work with the server stopped.
#[tokio::test]
async fn operators_list_and_release_names_while_the_server_runs() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = charla_testkit::db_arg_in(dir.path());
    let db_arg = db.as_str();
    let mut child = ServerChild::spawn(&["--db", db_arg], &[]);
    let server = child.ready().await;
    let (mut alice, _) = owner(&server, "alice", KEY_A).await;
    let (mut watcher, _) = owner(&server, "watcher", KEY_C).await;
    let (_guest, _) = TestClient::joined(&server, "guest").await;
    assert_eq!(watcher.event("user-joined").await[0], json!("guest"));

    let names = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_charla-server"))
            .args(["names"])
            .args(args)
            .args(["--db", db_arg])
            .output()
            .expect("runs");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (ok, listed, err) = names(&["list"]);
    assert!(ok, "{err}");
    assert!(
        listed
            .lines()
            .any(|l| l.starts_with("alice ") && l.contains(" 1 ") && l.ends_with("owned")),
        "{listed}"
    );
    assert!(listed.contains("2 owned name(s)"), "{listed}");
    assert!(!listed.contains("guest"), "guests own nothing: {listed}");

    let (ok, released, err) = names(&["release", "ALICE"]);
    assert!(ok, "{err}");
    assert!(
        released.contains("released ALICE (1 device(s))"),
        "{released}"
    );
    // Claimed again at once, perhaps before the server's next look at the book: the released
    // device loses the name either way, before the new owner has it.
    let (_, claimed) = owner(&server, "alice", KEY_B).await;
    assert!(claimed.owned);
    let notice = alice.event("error").await;
    assert_eq!(notice[0]["code"], json!("name_released"), "{notice:?}");
    assert_eq!(watcher.event("user-left").await, [json!("alice")]);
    assert_eq!(watcher.event("user-joined").await, [json!("alice")]);
    let refused = alice
        .emit_ack("chat-message", vec![json!({"text": "still alice?"})])
        .await;
    assert_eq!(
        code_of(&refused),
        ErrorCode::NotJoined,
        "the released device speaks for nobody"
    );

    child.terminate();
    let (ok, listed, err) = names(&["list"]);
    assert!(ok, "{err}");
    assert!(listed.contains("2 owned name(s)"), "{listed}");
    let (ok, nothing, _) = names(&["release", "nobody"]);
    assert!(ok);
    assert!(nothing.contains("was not owned"), "{nothing}");
    let missing = std::process::Command::new(env!("CARGO_BIN_EXE_charla-server"))
        .args(["names", "list", "--db"])
        .arg(dir.path().join("other.db"))
        .output()
        .expect("runs");
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no name book"));
}

/// Claims are kept for months, so one address may make twenty at once and then two a minute;
/// a name may ask for five link codes at once, then two a minute. Past that: `rate_limited`
/// with the wait, and nothing is claimed or made.
#[tokio::test]
async fn claims_and_link_codes_are_limited() {
    let server = TestServer::open().await;
    let mut owners = Vec::new();
    for n in 0..20 {
        let (client, _) = owner(&server, &format!("name{n}"), &format!("{n:064x}")).await;
        owners.push(client);
    }
    let (_, refused) = join(&server, "one-too-many", json!({ "key": KEY_A })).await;
    let refusal = Refusal::from_ack(&refused).expect("refused");
    assert_eq!(refusal.code, ErrorCode::RateLimited, "{refused}");
    assert!(
        refusal
            .retry_after_ms
            .is_some_and(|ms| ms > 1000 && ms <= 30_000),
        "{refused}"
    );
    let (_, guest) = join(&server, "one-too-many", json!({})).await;
    assert!(
        !accepted(guest).owned,
        "not claimed: still free for a guest"
    );

    let first = &mut owners[0];
    for _ in 0..5 {
        let code = first.emit_ack("device-link", vec![]).await;
        assert!(code["code"].is_string(), "{code}");
    }
    let sixth = first.emit_ack("device-link", vec![]).await;
    assert_eq!(code_of(&sixth), ErrorCode::RateLimited, "{sixth}");
    server.stop().await;
}

/// Wrong guesses cost the guesser, not the others behind its address: while a stranger keeps
/// offering wrong keys for `alice` (a burst, then one every 0.9 s, on one connection and on
/// new ones), the owner's right key, a guest's join of a free name and a new claim, all from
/// the same address, get in every time.
#[tokio::test]
async fn a_guesser_does_not_lock_out_the_others_behind_its_address() {
    let server = TestServer::open().await;
    let (alice, _) = owner(&server, "alice", KEY_A).await;
    drop(alice);
    let mut guesser = TestClient::connect(&server).await;
    let mut guess = 0u64;
    let mut wrong_key = || {
        guess += 1;
        json!({ "key": format!("{guess:064x}") })
    };
    // Ten at once, then one a second: the guesser is slowed within a few more.
    let mut slowed = false;
    for _ in 0..30 {
        let ack = guesser
            .emit_ack("join", vec![json!("alice"), wrong_key()])
            .await;
        match code_of(&ack) {
            ErrorCode::RateLimited => {
                slowed = true;
                break;
            }
            code => assert_eq!(code, ErrorCode::NameOwned, "{ack}"),
        }
    }
    assert!(slowed, "the guesser is slowed");
    for round in 0..3 {
        tokio::time::sleep(Duration::from_millis(900)).await;
        let ack = guesser
            .emit_ack("join", vec![json!("alice"), wrong_key()])
            .await;
        assert!(Refusal::from_ack(&ack).is_some(), "{ack}");
        let (_, fresh) = join(&server, "alice", wrong_key()).await;
        assert!(Refusal::from_ack(&fresh).is_some(), "{fresh}");

        let (_, back) = owner(&server, "alice", KEY_A).await;
        assert_eq!(
            back.username, "alice",
            "round {round}: the owner's key gets in"
        );
        let (_, guest) = join(&server, &format!("visitor{round}"), json!({})).await;
        assert!(
            !accepted(guest).owned,
            "round {round}: a guest joins a free name"
        );
        let (_, claim) = owner(
            &server,
            &format!("newcomer{round}"),
            &format!("{:064x}", 900 + round),
        )
        .await;
        assert!(claim.owned, "round {round}: a new name is claimed");
    }
    server.stop().await;
}

/// A device joins as the spelling its name was claimed with, whatever case it typed: the
/// ack, `users`, and every message from the connection say `beatrix`, never `BEATRIX`.
#[tokio::test]
async fn a_device_joins_as_the_spelling_that_was_claimed() {
    let server = TestServer::open().await;
    let (mut watcher, _) = owner(&server, "watcher", KEY_C).await;
    let (first, _) = owner(&server, "beatrix", KEY_A).await;
    drop(first);
    // Gone from the server: the next join finds no connection of the name to take it from.
    assert_eq!(watcher.event("user-left").await[0], json!("beatrix"));
    let (mut loud, ack) = owner(&server, "BEATRIX", KEY_A).await;
    assert_eq!(ack.username, "beatrix", "alone on the server");
    assert_eq!(ack.users, ["beatrix", "watcher"]);
    let (mut other, ack) = owner(&server, "Beatrix", KEY_A).await;
    assert_eq!(
        ack.username, "beatrix",
        "beside another connection of the name"
    );
    let sent = loud
        .emit_ack("chat-message", vec![json!({"text": "hello"})])
        .await;
    assert_eq!(sent["ok"], true, "{sent}");
    let seen = watcher.event("message").await;
    assert_eq!(seen[0]["username"], "beatrix");
    let echoed = other.event("message").await;
    assert_eq!(echoed[0]["username"], "beatrix");
    server.stop().await;
}
