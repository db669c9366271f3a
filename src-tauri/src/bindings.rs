//! The TypeScript side of the UI↔Rust contract, generated from the Rust types: every type that
//! crosses IPC (command results and errors, the `client-event` payloads, settings) is declared
//! in `ui/src/generated/bindings.ts` from its Rust definition, and this test fails when that
//! file is not what the types say. `CHARLA_BLESS_BINDINGS=1 cargo test -p charla-desktop
//! bindings` rewrites it.

use std::path::PathBuf;

use charla_client::settings::{Config, NotificationSettings, Preferences, TraySettings};
use charla_client::{
    ChangeOp, ChangeTarget, ClientEvent, ConnectionStatus, DisconnectReason, OutboxChange,
    OutboxEntry, OutboxState, ThreadReply,
};
use charla_protocol::chat::{
    Changes, ChatMessage, DeviceLink, Done, ErrorCode, FollowedThread, Gap, HistoryPage,
    MemberChange, PinList, Pinned, Reaction, ReadMarker, Refusal, RoomEntered, RoomInfo, RoomKind,
    RoomList, RoomState, RoomSummary, SearchHit, SearchRequest, SearchResults, ThreadList,
    ThreadPage, TopicChange,
};
use ts_rs::TS;

use crate::error::{AppErrorKind, Body};
use crate::session::Settings;
use crate::whose::Whose;

/// Where the UI reads them.
fn bindings_file() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../ui/src/generated/bindings.ts")
}

/// Every declaration, in an order a reader can follow (each type before those built on it).
fn generate() -> String {
    // `seq`, `retryAfterMs` and the like are JSON numbers: `number`, not `bigint`.
    let cfg = ts_rs::Config::new().with_large_int("number");
    let declarations = [
        Whose::decl(&cfg),
        Reaction::decl(&cfg),
        Pinned::decl(&cfg),
        // Every message the app hands the window is marked (`whose.rs`): the window's
        // `ChatMessage` is the server's and whose it is.
        format!(
            "{} & Whose;",
            ChatMessage::decl(&cfg).trim_end().trim_end_matches(';')
        ),
        Changes::decl(&cfg),
        ErrorCode::decl(&cfg),
        Refusal::decl(&cfg),
        DeviceLink::decl(&cfg),
        OutboxState::decl(&cfg),
        ChangeTarget::decl(&cfg),
        ThreadReply::decl(&cfg),
        OutboxEntry::decl(&cfg),
        ChangeOp::decl(&cfg),
        OutboxChange::decl(&cfg),
        DisconnectReason::decl(&cfg),
        ConnectionStatus::decl(&cfg),
        RoomKind::decl(&cfg),
        RoomInfo::decl(&cfg),
        RoomState::decl(&cfg),
        MemberChange::decl(&cfg),
        TopicChange::decl(&cfg),
        ReadMarker::decl(&cfg),
        Gap::decl(&cfg),
        RoomSummary::decl(&cfg),
        RoomList::decl(&cfg),
        RoomEntered::decl(&cfg),
        Done::decl(&cfg),
        HistoryPage::decl(&cfg),
        PinList::decl(&cfg),
        ThreadPage::decl(&cfg),
        FollowedThread::decl(&cfg),
        ThreadList::decl(&cfg),
        SearchRequest::decl(&cfg),
        SearchHit::decl(&cfg),
        SearchResults::decl(&cfg),
        ClientEvent::decl(&cfg),
        NotificationSettings::decl(&cfg),
        TraySettings::decl(&cfg),
        Config::decl(&cfg),
        Preferences::decl(&cfg),
        Settings::decl(&cfg),
        AppErrorKind::decl(&cfg),
        Body::decl(&cfg),
    ];
    let mut out = String::from(
        "// Generated from the Rust types by `cargo test -p charla-desktop bindings`; do not edit.\n\
         // `CHARLA_BLESS_BINDINGS=1 cargo test -p charla-desktop bindings` rewrites it.\n",
    );
    for declaration in declarations {
        out.push('\n');
        out.push_str("export ");
        out.push_str(&tidy(&declaration));
        out.push('\n');
    }
    out
}

/// A declaration on one line, without the doc comments ts-rs copies in (the Rust types are
/// where they are read).
fn tidy(declaration: &str) -> String {
    let mut text = declaration.to_owned();
    while let Some(start) = text.find("/**") {
        let end = text[start..]
            .find("*/")
            .map_or(text.len(), |e| start + e + 2);
        text.replace_range(start..end, " ");
    }
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn the_ui_s_types_are_generated_from_the_rust_ones() {
    let generated = generate();
    let path = bindings_file();
    if std::env::var_os("CHARLA_BLESS_BINDINGS").is_some() {
        std::fs::write(&path, &generated).expect("write the bindings");
        return;
    }
    let current = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        current == generated,
        "{} is not what the Rust types say: run `CHARLA_BLESS_BINDINGS=1 cargo test -p charla-desktop bindings` and commit it",
        path.display()
    );
}
