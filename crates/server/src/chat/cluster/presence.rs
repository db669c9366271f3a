//! Presence across nodes (several nodes on one PostgreSQL): once a second, and whenever the
//! store says names were taken or let go somewhere, this node tells the store which names it
//! holds and learns those held on other nodes. Names that appear or vanish elsewhere (and are
//! not held here) are told to everyone here as `user-joined` / `user-left`; `users` lists both.
//! With one node (`SQLite`), the chat's memory is all there is and nothing here runs.

use std::collections::HashMap;

use charla_protocol::chat::ServerEvent;

use crate::chat::state::Chat;
use crate::store::HeldName;

impl Chat {
    /// Writes which names this node holds and reads those held elsewhere (blocking: call it
    /// off the async threads).
    pub fn sync_presence(&self) {
        let Some(cluster) = self.inner.cluster.clone() else {
            return;
        };
        let held: Vec<HeldName> = self
            .lock()
            .names
            .iter()
            .map(|(key, holder)| HeldName {
                key: key.clone(),
                name: holder.name.clone(),
                guest: holder.guest,
            })
            .collect();
        let elsewhere = match cluster.sync_presence(&held) {
            Ok(elsewhere) => elsewhere,
            Err(e) => {
                self.inner.presence_failures.warn(|suppressed| {
                    tracing::warn!(error = %e, suppressed, "could not share presence with other nodes; retrying");
                });
                return;
            }
        };
        let now: HashMap<String, HeldName> = elsewhere
            .into_iter()
            .map(|held| (held.key.clone(), held))
            .collect();
        let mut guard = self.lock();
        let state = &mut *guard;
        let before = std::mem::replace(&mut state.elsewhere, now);
        let mut changes = Vec::new();
        for (key, held) in &before {
            if !state.elsewhere.contains_key(key) && !state.names.contains_key(key) {
                changes.push(ServerEvent::UserLeft(held.name.clone()));
            }
        }
        for (key, held) in &state.elsewhere {
            if !before.contains_key(key) && !state.names.contains_key(key) {
                changes.push(ServerEvent::UserJoined {
                    username: held.name.clone(),
                    guest: held.guest,
                });
            }
        }
        for event in changes {
            state.broadcast(&event, None, &self.inner.cuts);
        }
    }

    /// Forgets this node's names in the store (it is stopping: its users go offline on the
    /// other nodes now, not when it is found silent).
    pub fn leave_presence(&self) {
        if let Some(cluster) = &self.inner.cluster {
            if let Err(e) = cluster.leave_presence() {
                tracing::warn!(error = %e, "could not tell other nodes this one stops");
            }
        }
    }
}
