//! The unread counts and desktop notifications, from the event stream: a burst in one
//! conversation becomes one notification, clicking it opens that conversation, and the counts
//! follow what the user has not read.
//!
//! Given at setup what it needs to know of the rest of the app: whether the window is in front,
//! what to do when the totals change (the tray and the window show them), and how to show a
//! notification (`popup`, which also opens a clicked one's conversation).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use charla_client::ClientEvent;
use charla_protocol::chat::{ChatMessage, RoomInfo, RoomKind, ThreadList, GENERAL_ROOM};

use crate::attention::{self, Attention, Context};
use crate::config_store::ConfigStore;
use crate::counts::{room_of, same_name, Counted, Counts, Totals};
use crate::following::Following;
use crate::popup::Popups;
use crate::whose::{whose, ForWindow};

/// Whether the user is looking at the chat now.
pub type InFront = Box<dyn Fn() -> bool + Send + Sync>;
/// Shows new totals.
pub type ShowTotals = Box<dyn Fn(Totals) + Send + Sync>;
/// Counts unread messages and shows notifications.
pub struct Notifier {
    store: Arc<ConfigStore>,
    state: Mutex<State>,
    in_front: InFront,
    show_totals: ShowTotals,
    popups: Popups,
}

#[derive(Default)]
struct State {
    me: String,
    /// The conversation the window shows.
    showing: String,
    counts: Counts,
    attention: Attention,
    /// For each DM, the other person.
    dm_with: HashMap<String, String>,
    /// The threads the user follows, as far as seen.
    following: Following,
    shown: Totals,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl State {
    fn learn_room(&mut self, room: &str, kind: RoomKind, members: &[String]) {
        if kind == RoomKind::Dm {
            let me = self.me.clone();
            let other = members
                .iter()
                .find(|m| !same_name(m, &me))
                .cloned()
                .unwrap_or_else(|| me.clone());
            self.dm_with.insert(room.to_owned(), other);
        }
    }

    fn room_updated(&mut self, info: &RoomInfo) {
        if info.room != GENERAL_ROOM && !info.members.iter().any(|m| same_name(m, &self.me)) {
            self.forget(&info.room);
            return;
        }
        self.learn_room(&info.room, info.kind, &info.members);
        self.counts.room_updated(info, &self.me);
    }

    /// The user is no longer in `room`.
    fn forget(&mut self, room: &str) {
        self.counts.forget(room);
        self.attention.seen(room);
        self.dm_with.remove(room);
        self.following.forget(Some(room));
    }

    /// A session of another name (or server) started: nothing of the last one counts.
    fn reset(&mut self, me: &str) {
        me.clone_into(&mut self.me);
        self.counts.reset();
        self.attention = Attention::default();
        self.dm_with.clear();
        self.following.forget(None);
    }

    /// Counts a message (a reply only in its thread only when the user follows that thread);
    /// returns the batch's due time when it starts a notification. A reply in a followed
    /// thread notifies like a mention, unless its room is muted.
    fn message(
        &mut self,
        message: &ChatMessage,
        in_front: bool,
        store: &ConfigStore,
        now: Instant,
    ) -> Option<(String, Instant)> {
        let room = room_of(message.room.as_deref()).to_owned();
        let whose = whose(message, &self.me);
        self.following.learn(message, whose);
        let followed = self.following.in_followed(message);
        let only_in_thread = message.thread.is_some() && !message.also_in_room;
        if only_in_thread && !followed {
            return None;
        }
        let own = whose.own;
        let mention = !own && whose.mentions_me;
        let seen = in_front && room == self.showing;
        let counted = self
            .counts
            .on_message(&room, message.seq, own, mention, seen);
        // While the window is in front its sidebar shows what arrived elsewhere: counted, not
        // announced.
        if counted == Counted::Not || in_front {
            return None;
        }
        let context = Context {
            room: &room,
            dm_with: self.dm_with.get(&room).map(String::as_str),
            muted: self.counts.is_muted(&room),
            mention: mention || (followed && !self.counts.is_muted(&room)),
        };
        if !attention::wanted(store.preferences(), context) {
            return None;
        }
        let due = self.attention.on_message(message, context, now)?;
        Some((room, due))
    }
}

impl Notifier {
    /// A notifier that shows notifications with `popups`, reads preferences from `store`, asks
    /// `in_front` whether the user is looking, and hands changed totals to `show_totals`.
    #[must_use]
    pub fn new(
        store: Arc<ConfigStore>,
        in_front: InFront,
        show_totals: ShowTotals,
        popups: Popups,
    ) -> Arc<Self> {
        let mut state = State {
            showing: GENERAL_ROOM.to_owned(),
            ..State::default()
        };
        state.counts.set_muted(store.get().muted_rooms());
        Arc::new(Self {
            store,
            state: Mutex::new(state),
            in_front,
            show_totals,
            popups,
        })
    }

    /// Sees every client event on its way to the window.
    pub fn observe(self: &Arc<Self>, event: &ClientEvent) {
        // Asked before the lock (the window answers from the main thread, which may be waiting
        // for this lock: a command, a focus change), and only where it matters.
        let in_front = matches!(
            event,
            ClientEvent::Message(_) | ClientEvent::ThreadMessage(_) | ClientEvent::ReadMarker(_)
        ) && (self.in_front)();
        let mut due = None;
        {
            let mut state = lock(&self.state);
            match event {
                ClientEvent::Joined {
                    username,
                    history,
                    thread_replies,
                    ..
                } => {
                    if !same_name(username, &state.me) {
                        state.reset(username);
                    }
                    // What was missed is history: the room states that follow count it.
                    let missed = history.iter().chain(thread_replies);
                    let last = missed.clone().filter_map(|m| m.seq).max().unwrap_or(0);
                    state.counts.joined(last);
                    for message in missed {
                        let whose = whose(message, &state.me);
                        state.following.learn(message, whose);
                    }
                }
                ClientEvent::Rooms { rooms } => {
                    for room in rooms {
                        state.learn_room(&room.room, room.kind, &room.members);
                    }
                    state.counts.set_rooms(rooms);
                }
                ClientEvent::RoomEntered(room) => {
                    state.learn_room(&room.room, room.kind, &room.members);
                    state.counts.room_entered(room);
                }
                ClientEvent::RoomUpdated(info) => state.room_updated(info),
                ClientEvent::MemberLeft(change) if same_name(&change.username, &state.me) => {
                    state.forget(&change.room);
                }
                ClientEvent::ReadMarker(marker) => {
                    let seen = in_front && marker.room == state.showing;
                    state.counts.read_marker(marker, seen);
                    if marker.unread == 0 {
                        state.attention.seen(&marker.room);
                    }
                }
                ClientEvent::HistoryReset => state.counts.history_reset(),
                ClientEvent::Message(message) | ClientEvent::ThreadMessage(message) => {
                    due = state.message(message, in_front, &self.store, Instant::now());
                }
                ClientEvent::MessageUpdated(message) => {
                    // Not a new message: neither counted nor announced; one of the user's
                    // answered is a thread it follows.
                    let whose = whose(message, &state.me);
                    state.following.learn(message, whose);
                    return;
                }
                // Nothing else counts: a change to a message (`MessageUpdated`: an edit, a
                // reaction, a pin) is not a new message, so it is neither counted nor announced.
                _ => return,
            }
        }
        self.show_if_changed();
        if let Some((room, due)) = due {
            let notifier = self.clone();
            tauri::async_runtime::spawn(async move {
                tokio::time::sleep_until(due.into()).await;
                notifier.show_due_notification(&room);
            });
        }
    }

    /// Sees `event` (as [`Self::observe`]) and writes what the window receives of it: its
    /// messages marked for the user by the rule that counted them. `None` (logged) when it
    /// cannot be written.
    pub fn observe_for_window(self: &Arc<Self>, event: &ClientEvent) -> Option<serde_json::Value> {
        self.observe(event);
        let followed = match event {
            ClientEvent::Message(m) | ClientEvent::ThreadMessage(m) => {
                lock(&self.state).following.in_followed(m)
            }
            _ => false,
        };
        let mut value = event
            .for_window(&self.me())
            .inspect_err(|e| tracing::warn!(error = %e, "could not write an event for the window"))
            .ok()?;
        if let (true, Some(object)) = (followed, value.as_object_mut()) {
            object.insert("followed".into(), serde_json::Value::Bool(true));
        }
        Some(value)
    }

    /// The server's list of the threads the user follows (the window asked for it): replies
    /// in them count and notify from now on.
    pub fn learn_threads(&self, list: &ThreadList) {
        lock(&self.state).following.learn_list(list);
    }

    /// The name the user joined with (empty before the first join).
    #[must_use]
    pub fn me(&self) -> String {
        lock(&self.state).me.clone()
    }

    /// A new session starts (a new profile, a reloaded window): what the last one counted is
    /// forgotten until its join reports again.
    pub fn reset(&self) {
        {
            let mut state = lock(&self.state);
            let me = state.me.clone();
            state.reset(&me);
        }
        self.show_if_changed();
    }

    /// The window now shows `room`.
    pub fn showing(&self, room: &str) {
        room.clone_into(&mut lock(&self.state).showing);
        if (self.in_front)() {
            self.focused();
        }
    }

    /// The rooms muted changed (the config was saved).
    pub fn set_muted(&self, muted: &[String]) {
        lock(&self.state).counts.set_muted(muted);
        self.show_if_changed();
    }

    /// The window came to the front: the conversation it shows counts as read (the window
    /// moves the server's marker, which other devices follow).
    pub fn focused(&self) {
        {
            let mut state = lock(&self.state);
            let room = state.showing.clone();
            state.counts.clear(&room);
            state.attention.seen(&room);
        }
        self.show_if_changed();
    }

    fn show_if_changed(&self) {
        let totals = {
            let mut state = lock(&self.state);
            let totals = state.counts.totals();
            if totals == state.shown {
                return;
            }
            state.shown = totals;
            totals
        };
        tracing::info!(
            unread = totals.unread,
            mentions = totals.mentions,
            "unread count"
        );
        (self.show_totals)(totals);
    }

    fn show_due_notification(&self, room: &str) {
        let Some(notification) = lock(&self.state).attention.take_due(room, Instant::now()) else {
            return;
        };
        if (self.in_front)() {
            // Brought to the front while the burst gathered: the window shows it.
            return;
        }
        tracing::info!(title = %notification.title, room = %notification.room, "notification");
        self.popups.show(notification);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use charla_client::settings::Paths;
    use charla_protocol::chat::{MemberChange, RoomState};

    fn room(room: &str, kind: RoomKind, members: &[&str]) -> RoomState {
        RoomState {
            room: room.into(),
            kind,
            topic: String::new(),
            members: members.iter().map(|m| (*m).to_owned()).collect(),
            last_seq: 1,
            read: 1,
            unread: 0,
            mentions: 0,
        }
    }

    fn message(room: &str, seq: u64, username: &str, text: &str) -> ChatMessage {
        ChatMessage {
            id: format!("{room}-{seq}"),
            username: username.into(),
            text: text.into(),
            timestamp: charla_protocol::timestamp::now_millis(),
            seq: Some(seq),
            client_id: None,
            guest: false,
            room: (room != GENERAL_ROOM).then(|| room.to_owned()),
            mentions: Vec::new(),
            thread: None,
            also_in_room: false,
            living: charla_protocol::chat::Living::default(),
        }
    }

    fn joined(me: &str) -> State {
        let mut state = State::default();
        state.reset(me);
        state.showing = GENERAL_ROOM.into();
        let rooms = [
            room(GENERAL_ROOM, RoomKind::Room, &[]),
            room("ops", RoomKind::Room, &["ana", "bo"]),
            room("dm:7", RoomKind::Dm, &["Ana", "bo"]),
        ];
        for r in &rooms {
            state.learn_room(&r.room, r.kind, &r.members);
        }
        state.counts.set_rooms(&rooms);
        state
    }

    #[test]
    fn in_front_counts_without_announcing_and_a_dm_names_the_other_person() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = ConfigStore::load(Paths::under(dir.path()));
        let mut state = joined("ana");
        let now = Instant::now();
        assert!(state
            .message(&message("ops", 2, "bo", "hi"), true, &store, now)
            .is_none());
        assert_eq!(state.counts.totals().unread, 1, "counted: ops is not shown");
        assert!(state
            .message(&message(GENERAL_ROOM, 2, "bo", "hi"), true, &store, now)
            .is_none());
        assert_eq!(
            state.counts.totals().unread,
            1,
            "general is shown and in front: read"
        );
        let (room, due) = state
            .message(&message("dm:7", 2, "bo", "psst"), false, &store, now)
            .expect("a DM, window away: announced");
        assert_eq!(room, "dm:7");
        let shown = state.attention.take_due(&room, due).expect("due");
        assert_eq!(shown.title, "bo");
    }

    /// A reply only in a thread the user does not follow neither counts nor notifies; one in a
    /// thread it follows (it wrote the root) counts and notifies, unless the room is muted.
    #[test]
    fn only_replies_in_followed_threads_count_and_notify() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = ConfigStore::load(Paths::under(dir.path()));
        let mut state = joined("ana");
        let now = Instant::now();
        let reply = |seq, root| ChatMessage {
            thread: Some(root),
            ..message("ops", seq, "bo", "yes")
        };
        assert!(state
            .message(&message("ops", 2, "bo", "bo's"), false, &store, now)
            .is_some());
        let before = state.counts.totals().unread;
        assert!(state.message(&reply(3, 2), false, &store, now).is_none());
        assert_eq!(
            state.counts.totals().unread,
            before,
            "not followed: not counted"
        );

        state.message(&message("ops", 4, "ana", "mine"), false, &store, now);
        assert_eq!(
            state.counts.totals().unread,
            0,
            "my own message reads the room"
        );
        state.attention.seen("ops");
        assert!(
            state.message(&reply(5, 4), false, &store, now).is_some(),
            "a reply to my message notifies"
        );
        assert_eq!(state.counts.totals().unread, 1, "and counts");

        state.attention.seen("ops");
        state.counts.set_muted(&["ops".to_owned()]);
        assert!(
            state.message(&reply(6, 4), false, &store, now).is_none(),
            "muted: not announced"
        );
    }

    #[test]
    fn leaving_forgets_a_room_and_another_name_starts_afresh() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = ConfigStore::load(Paths::under(dir.path()));
        let mut state = joined("ana");
        let now = Instant::now();
        state.message(&message("ops", 2, "bo", "one"), false, &store, now);
        assert_eq!(state.counts.totals().unread, 1);
        let left = MemberChange {
            room: "ops".into(),
            username: "ana".into(),
        };
        state.forget(&left.room);
        assert_eq!(state.counts.totals().unread, 0, "left: not counted");
        assert!(state.attention.due_at("ops").is_none(), "nor announced");
        state.message(&message(GENERAL_ROOM, 2, "bo", "x"), false, &store, now);
        state.reset("eve");
        assert_eq!(
            state.counts.totals().unread,
            0,
            "another name: nothing carried over"
        );
        assert!(state.dm_with.is_empty());
    }
}
