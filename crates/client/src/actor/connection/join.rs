//! The join's answer and what it brings: accepted (a history that started over is forgotten, a
//! gap the server names is reported, older pages of what was missed are fetched first),
//! refused (again later, or not until the person says), or never given (the tutorial's
//! server: compatibility mode). Then the join is reported, with its rooms, their replays (and
//! the changes to messages each brought) and what came before the answer, and the outbox goes.
//!
//! Apart from the connection's loop because catching up is a small conversation of its own
//! (page after page, each answer asking for the next) whose end is the join's report.

use std::collections::BTreeMap;

use charla_protocol::chat::{
    parse_ack, ChatMessage, ClientRequest, ErrorCode, HistoryPage, HistoryRequest, JoinAck,
    GENERAL_ROOM, MAX_HISTORY_PAGE,
};
use rand::Rng;
use serde_json::Value;

use super::incoming::only_in_thread;
use super::sending::retry_wait;
use super::{Early, Pending, Session};
use crate::actor::{Actor, Ending};
use crate::report::{ClientEvent, ConnectionStatus, DisconnectReason};

/// Pages of history fetched at most while catching up after a reconnect; what lies beyond is
/// reported as a gap of messages not loaded (they stay on the server).
const MAX_CATCH_UP_PAGES: usize = 200;

/// A join answered with only the newest part of what was missed: older pages are being
/// fetched, back to `since`, before the join is reported.
pub(super) struct CatchUp {
    ack: JoinAck,
    since: u64,
    /// Older messages fetched so far, oldest first.
    older: Vec<ChatMessage>,
    pages: usize,
}

impl Actor {
    /// The join was answered: accepted, or refused for now (a taken name is often our own
    /// previous connection, not yet timed out; a busy server is asked again later) or for good.
    pub(super) async fn on_join_answer(
        &mut self,
        session: &mut Session,
        reply: &Value,
    ) -> Option<Ending> {
        let error = match parse_ack::<JoinAck>(reply) {
            Ok(ack) => return self.on_join_ack(session, ack).await,
            Err(error) => error,
        };
        let reason = error.message.clone();
        let code = error.code;
        let retryable = code == ErrorCode::UsernameTaken || error.is_transient();
        self.emit(ClientEvent::Error(error));
        Some(if retryable {
            Ending::Lost(reason)
        } else {
            Ending::Refused {
                reason,
                cause: DisconnectReason::JoinRefused { code },
            }
        })
    }

    /// No answer to the join in time: the tutorial's server never acks, so the chat goes on
    /// without Charla's additions, the join reported with no history.
    pub(super) async fn on_no_join_answer(&mut self, session: &mut Session) -> Option<Ending> {
        tracing::info!("no join ack; the server is the tutorial's (compatibility mode)");
        session.acks.clear();
        session.compat = true;
        let presence = JoinAck {
            ok: true,
            username: self.options.username.clone(),
            users: Vec::new(),
            history: Vec::new(),
            epoch: None,
            more: false,
            gap: None,
            owned: false,
            rooms: Vec::new(),
            replay: BTreeMap::new(),
            changes: None,
        };
        self.on_joined(session, presence, Vec::new()).await
    }

    /// A join was accepted: forget the old numbering if the server's history started over,
    /// report a gap the server names, and either report the join now or first fetch the older
    /// messages it left out (down to `since`).
    async fn on_join_ack(&mut self, session: &mut Session, ack: JoinAck) -> Option<Ending> {
        session.join_answered = true;
        let since = self.last_seq;
        let started_over = match (&self.epoch, &ack.epoch) {
            (Some(known), Some(now)) => known != now,
            _ => false,
        };
        if let Some(epoch) = &ack.epoch {
            self.epoch = Some(epoch.clone());
            match self.outbox.fail_other_epochs(epoch) {
                Ok(true) => self.emit_outbox(),
                Ok(false) => {}
                Err(e) => tracing::error!(error = %e, "could not update the outbox"),
            }
        }
        if started_over {
            tracing::info!("the server's history started over; forgetting what we knew");
            self.last_seq = 0;
            self.room_seqs.clear();
            self.revs.clear();
            self.reported.clear();
            self.emit(ClientEvent::HistoryReset);
            return self.finish_join(session, ack, Vec::new()).await;
        }
        if let Some(gap) = ack.gap {
            self.emit(ClientEvent::Gap {
                room: None,
                from: gap.from,
                to: gap.to,
                kept: false,
            });
        }
        if ack.more && since > 0 {
            session.catch_up = Some(CatchUp {
                ack,
                since,
                older: Vec::new(),
                pages: 0,
            });
            return self.next_page(session).await;
        }
        self.finish_join(session, ack, Vec::new()).await
    }

    /// Asks for the page before the oldest message of the catch-up so far.
    async fn next_page(&mut self, session: &mut Session) -> Option<Ending> {
        let catch_up = session.catch_up.as_ref()?;
        let before = catch_up
            .older
            .first()
            .or(catch_up.ack.history.first())
            .and_then(|m| m.seq)
            .unwrap_or(self.last_seq + 1);
        let request = ClientRequest::History(HistoryRequest {
            room: None,
            before,
            limit: MAX_HISTORY_PAGE,
        });
        session.emit(&request, Some(Pending::History)).await.err()
    }

    /// A page of the catch-up arrived: keep it and ask for the next, or report the join.
    pub(super) async fn on_history(
        &mut self,
        session: &mut Session,
        reply: &Value,
    ) -> Option<Ending> {
        let mut catch_up = session.catch_up.take()?;
        let page = match parse_ack::<HistoryPage>(reply) {
            Ok(page) => page,
            Err(error) if error.is_transient() => {
                // Asked again after the wait the server gives (short: a busy reader).
                let wait = retry_wait(error.retry_after_ms, rand::rng().random());
                tokio::time::sleep(wait).await;
                session.catch_up = Some(catch_up);
                return self.next_page(session).await;
            }
            Err(error) => {
                tracing::warn!(code = ?error.code, message = %error.message, "history refused; reporting what came");
                let older = std::mem::take(&mut catch_up.older);
                self.report_not_loaded(&catch_up, &older);
                return self.finish_join(session, catch_up.ack, older).await;
            }
        };
        let since = catch_up.since;
        let reached = page
            .messages
            .first()
            .and_then(|m| m.seq)
            .is_none_or(|first| first <= since + 1);
        let mut older: Vec<ChatMessage> = page
            .messages
            .into_iter()
            .filter(|m| m.seq.is_some_and(|seq| seq > since))
            .collect();
        older.append(&mut catch_up.older);
        catch_up.older = older;
        catch_up.pages += 1;
        if reached || !page.more {
            let older = std::mem::take(&mut catch_up.older);
            return self.finish_join(session, catch_up.ack, older).await;
        }
        if catch_up.pages >= MAX_CATCH_UP_PAGES {
            let older = std::mem::take(&mut catch_up.older);
            self.report_not_loaded(&catch_up, &older);
            return self.finish_join(session, catch_up.ack, older).await;
        }
        session.catch_up = Some(catch_up);
        self.next_page(session).await
    }

    /// Says which missed messages were not fetched (they are still on the server).
    fn report_not_loaded(&self, catch_up: &CatchUp, older: &[ChatMessage]) {
        let first = older
            .first()
            .or(catch_up.ack.history.first())
            .and_then(|m| m.seq);
        if let Some(first) = first.filter(|f| *f > catch_up.since + 1) {
            self.emit(ClientEvent::Gap {
                room: None,
                from: catch_up.since + 1,
                to: first - 1,
                kept: true,
            });
        }
    }

    /// Reports the join with the history it brought, older pages first.
    async fn finish_join(
        &mut self,
        session: &mut Session,
        mut ack: JoinAck,
        mut older: Vec<ChatMessage>,
    ) -> Option<Ending> {
        older.append(&mut ack.history);
        self.on_joined(session, ack, older).await
    }

    /// Reports a join: `presence` is the ack's (its history is in `history`), then the changes
    /// to `general`'s messages, its rooms and what it replayed of them, then what came before
    /// the answer; then the outbox goes.
    async fn on_joined(
        &mut self,
        session: &mut Session,
        mut presence: JoinAck,
        history: Vec<ChatMessage>,
    ) -> Option<Ending> {
        session.joined = true;
        self.backoff.reset();
        self.failures_in_row = 0;
        if presence.owned && self.options.link_code.take().is_some() {
            tracing::info!("this device is linked to the name; its key proves it from now on");
        }
        // What the join named: `general`'s changes are of the messages up to it.
        let since = self.last_seq;
        let fresh: Vec<ChatMessage> = history.into_iter().filter(|m| self.is_new(m)).collect();
        // Replies only in their threads are the threads', not the timeline's.
        let (thread_replies, fresh): (Vec<ChatMessage>, Vec<ChatMessage>) =
            fresh.into_iter().partition(only_in_thread);
        self.emit(ClientEvent::Status(ConnectionStatus::Connected {
            compat: session.compat,
        }));
        let rooms = std::mem::take(&mut presence.rooms);
        let replay = std::mem::take(&mut presence.replay);
        let changes = presence.changes.take();
        self.emit(ClientEvent::Joined {
            username: presence.username,
            users: presence.users,
            owned: presence.owned,
            history: fresh,
            thread_replies,
        });
        if let Some(changes) = changes {
            if let Some(ending) = self.on_changes(session, GENERAL_ROOM, since, changes).await {
                return Some(ending);
            }
        }
        if !rooms.is_empty() {
            // Rooms this name left (on another device, while this one was away) are no longer
            // asked for.
            let left: Vec<String> = self
                .room_seqs
                .keys()
                .chain(self.revs.keys())
                .filter(|name| {
                    name.as_str() != GENERAL_ROOM && !rooms.iter().any(|r| &r.room == *name)
                })
                .cloned()
                .collect();
            for room in left {
                self.forget_room(&room);
            }
            self.emit(ClientEvent::Rooms { rooms });
        }
        for (room, replayed) in replay {
            if let Some(ending) = self.report_replay(session, &room, replayed).await {
                return Some(ending);
            }
        }
        for early in std::mem::take(&mut session.early) {
            match early {
                Early::Message(message) => self.on_message(session, message),
                Early::Updated(message) => self.on_updated(session, message),
            }
        }
        self.flush(session, false).await
    }
}
