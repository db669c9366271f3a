//! The outbox on a connection: pending messages and changes to messages sent, their acks (or,
//! on the tutorial's server, a message's echo) marking them delivered, refused, or to be sent
//! again.
//!
//! # Order and refusals that mean *later*
//!
//! Charla's server gives `seq`s in arrival order, and may refuse any message for now
//! (`rate_limited`, `unavailable`). If several messages were in flight when one was refused,
//! a later one could still be accepted (a token comes back in the bucket between the two), and
//! the refused one, sent again, would land after it: the sender's order broken, for good. So on a
//! server that acks, a message goes only once the previous one's ack is in: at most one is in
//! flight, and a refused one is the next to go again. After a refusal that means *later*,
//! nothing goes until the server's `retryAfterMs` (capped, with a little jitter; a second when it
//! gives none) has passed. The cost is one round trip per message when many are queued, which on
//! a rate-limited server is below the rate anyway. The tutorial's server never acks nor refuses:
//! there every pending message goes at once, as before, and a change fails at once (it keeps
//! no changes).
//!
//! Changes to messages take the same line: a change goes in the order it was made, one item in
//! flight at a time, and a change to a message still unsent waits for that message's ack, whose
//! `seq` it then names (`crate::outbox`).

use std::time::Duration;

use charla_protocol::chat::{
    parse_ack, ChatMessage, ClientRequest, ErrorCode, OutgoingMessage, Refusal,
};
use rand::Rng;
use serde::Deserialize;
use serde_json::Value;
use tokio::time::Instant;

use super::{Pending, Session};
use crate::actor::{Actor, Ending};
use crate::outbox::{OutboxChange, OutboxEntry, Queued, ThreadReply};

/// The wait after a refusal that means *later* when the server gives no `retryAfterMs`.
const DEFAULT_RETRY_WAIT: Duration = Duration::from_secs(1);
/// The longest wait a server's hint may impose; a longer one is taken as this.
const MAX_RETRY_WAIT: Duration = Duration::from_secs(60);
/// The shortest wait, so that a hint of 0 cannot make a tight loop of refusals.
const MIN_RETRY_WAIT: Duration = Duration::from_millis(10);

/// What an outbox item's ack says when it is accepted: the `seq` of the message (a message's
/// `SendAck`, or a change's `ChangeAck`).
#[derive(Deserialize)]
struct Accepted {
    seq: u64,
}

/// How long to hold the outbox after a refusal that means *later*: the server's hint (or
/// [`DEFAULT_RETRY_WAIT`]) kept within bounds, plus up to 10 % so that clients refused together
/// do not come back together. `draw` is uniform in `[0, 1)`.
pub(super) fn retry_wait(retry_after_ms: Option<u64>, draw: f64) -> Duration {
    let hint = retry_after_ms
        .map_or(DEFAULT_RETRY_WAIT, Duration::from_millis)
        .clamp(MIN_RETRY_WAIT, MAX_RETRY_WAIT);
    hint + hint.mul_f64(0.1 * draw.clamp(0.0, 1.0))
}

impl Actor {
    /// Sends pending outbox items, oldest first: on a server that acks, the next one only
    /// when no other awaits its ack, and none while a refusal's wait lasts (see the module's
    /// doc); on the tutorial's server, all of them. Reports the outbox when anything was sent or
    /// `changed` says the caller changed it.
    pub(super) async fn flush(&mut self, session: &mut Session, changed: bool) -> Option<Ending> {
        let mut changed = changed;
        let held = self.resend_at.is_some_and(|at| at > Instant::now());
        if session.joined && !held {
            self.resend_at = None;
            while session.compat || !session.outbox_in_flight() {
                let Some(item) = self.outbox.next_ready().cloned() else {
                    break;
                };
                let sent = match item {
                    Queued::Message(entry) => self.send_message(session, &entry).await,
                    Queued::Change(change) => self.send_change(session, &change).await,
                };
                if let Err(e) = sent {
                    return Some(e);
                }
                changed = true;
            }
        }
        if changed {
            self.emit_outbox();
        }
        None
    }

    /// Writes one message (a reply with its root's `seq`); marks it sent. The tutorial's
    /// server keeps no threads: there a reply fails at once.
    async fn send_message(
        &mut self,
        session: &mut Session,
        entry: &OutboxEntry,
    ) -> Result<(), Ending> {
        let thread = entry.thread.as_ref().and_then(ThreadReply::root_seq);
        if entry.thread.is_some() && session.compat {
            self.fail_unknown(&entry.client_id, "this server keeps no threads");
            return Ok(());
        }
        let message = ClientRequest::ChatMessage(OutgoingMessage {
            username: Some(self.options.username.clone()),
            text: entry.text.clone(),
            client_id: Some(entry.client_id.clone()),
            room: entry.room.clone(),
            thread,
            also_in_room: entry.thread.as_ref().is_some_and(|t| t.also_in_room),
        });
        let expect = (!session.compat).then(|| Pending::Outbox(entry.client_id.clone()));
        session.emit(&message, expect).await?;
        self.outbox.mark_sent(&entry.client_id);
        Ok(())
    }

    /// Writes one change; marks it sent. The tutorial's server keeps no changes: there it
    /// fails at once.
    async fn send_change(
        &mut self,
        session: &mut Session,
        change: &OutboxChange,
    ) -> Result<(), Ending> {
        let request = change.request().filter(|_| !session.compat);
        let Some(request) = request else {
            self.fail_unknown(
                &change.client_id,
                "this server keeps no changes to messages",
            );
            return Ok(());
        };
        let expect = Pending::Outbox(change.client_id.clone());
        session
            .emit(&ClientRequest::Change(request), Some(expect))
            .await?;
        self.outbox.mark_sent(&change.client_id);
        Ok(())
    }

    /// Fails an item the server cannot take (the tutorial's server: no changes, no threads).
    fn fail_unknown(&mut self, client_id: &str, message: &str) {
        if let Err(e) = self
            .outbox
            .fail(client_id, ErrorCode::UnknownEvent, message.to_owned())
        {
            tracing::error!(error = %e, "could not update the outbox");
        }
    }

    /// An outbox item's ack: delivered (a message's `seq` given to the changes that waited for
    /// it), refused for now (sent again after the wait), or refused; then the next one goes.
    pub(super) async fn on_sent(
        &mut self,
        session: &mut Session,
        client_id: &str,
        reply: &Value,
    ) -> Option<Ending> {
        let what = if self.outbox.changes().any(|c| c.client_id == client_id) {
            "change"
        } else {
            "message"
        };
        let result = match parse_ack::<Accepted>(reply) {
            // Gone already when it was discarded while in flight; then nothing changes.
            Ok(accepted) => {
                let epoch = self.epoch.as_deref();
                self.outbox.delivered(client_id, Some(accepted.seq), epoch)
            }
            Err(error) if error.is_transient() => {
                // *Later*: pending again, and nothing goes before the wait is over, so
                // that this one is still the next to be accepted.
                let wait = retry_wait(error.retry_after_ms, rand::rng().random());
                tracing::info!(%client_id, code = ?error.code, message = %error.message, wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX), "{what} refused for now; resending after the wait");
                self.resend_at = Some(Instant::now() + wait);
                Ok(self.outbox.unsend(client_id))
            }
            Err(Refusal { code, message, .. }) => {
                tracing::info!(%client_id, ?code, %message, "{what} refused");
                self.outbox.fail(client_id, code, message).map(|()| true)
            }
        };
        let changed = result.unwrap_or_else(|e| {
            tracing::error!(error = %e, "could not update the outbox");
            false
        });
        self.flush(session, changed).await
    }

    /// On the tutorial's server, which has no acks, our own message coming back confirms it (by
    /// author and text, oldest first). On Charla's server only the ack does: the server sends it
    /// once the message is stored, while the echo may come before that, and a message the
    /// server never stored (it crashed in between) must stay in the outbox to be sent again.
    pub(super) fn confirm_echo(&mut self, session: &Session, message: &ChatMessage) {
        if !session.compat {
            return;
        }
        let client_id = match &message.client_id {
            Some(id) => Some(id.clone()),
            None if message.username == self.options.username => self
                .outbox
                .sent_with_text(&message.text)
                .map(|e| e.client_id.clone()),
            None => None,
        };
        if let Some(id) = client_id {
            match self
                .outbox
                .delivered(&id, message.seq, self.epoch.as_deref())
            {
                Ok(true) => self.emit_outbox(),
                Ok(false) => {}
                Err(e) => tracing::error!(error = %e, "could not update the outbox"),
            }
        }
    }
}

impl Session {
    /// Whether an outbox item (a message or a change) awaits its ack.
    fn outbox_in_flight(&self) -> bool {
        self.acks
            .values()
            .any(|(pending, _)| matches!(pending, Pending::Outbox(_)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_waits_follow_the_hint_within_bounds() {
        assert_eq!(retry_wait(Some(99), 0.0), Duration::from_millis(99));
        assert_eq!(retry_wait(None, 0.0), DEFAULT_RETRY_WAIT);
        assert_eq!(retry_wait(Some(0), 0.0), MIN_RETRY_WAIT);
        assert_eq!(retry_wait(Some(u64::MAX), 0.0), MAX_RETRY_WAIT);
        let jittered = retry_wait(Some(1000), 0.999);
        assert!(
            jittered >= Duration::from_secs(1) && jittered < Duration::from_millis(1100),
            "{jittered:?}: never earlier than the hint, at most 10 % later"
        );
    }
}
