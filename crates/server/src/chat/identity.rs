//! Who a connection is: `join` (a name, proved or claimed, and what the client lacks of every
//! room it is in), the devices of an owned name (`device-link`, `device-forget`), and names an
//! operator released.
//!
//! A name is held by the connections joined under it. A guest's name (nobody owns it) by one
//! connection; an owned name by any number, one or more per device of its owner, and it is
//! listed once: `user-joined` when the first of them joins, `user-left` when the last leaves.
//! Whether a join may take a name is the [`NameBook`](crate::names::NameBook)'s answer, asked
//! under the lock, so a claim and the presence it makes are one step. A name claimed afresh
//! belongs to someone new: the rooms, DMs and read markers of whoever had it are forgotten.

use std::collections::{hash_map::Entry, BTreeMap, HashSet};
use std::time::{Duration, Instant};

use charla_protocol::chat::{
    DeviceForgotten, ErrorCode, JoinAck, JoinRequest, MemberChange, Refusal, RoomReplay, RoomState,
    ServerEvent, TypingNotice, GENERAL_ROOM,
};
use charla_protocol::rules::{normalize_username, username_key};
use smallvec::smallvec;

use super::reply::Reply;
use super::state::{Chat, ChatState, Fanout, Holder};
use super::{gone, not_joined, too_many, wait_ms};
use crate::names::{Became, Credential, DeviceId, Standing};
use crate::store::{RoomId, GENERAL};
use crate::transport::{Link, Sid};

impl Chat {
    /// Binds a username to the connection, answers with the users and what the client lacks
    /// of each room (when an answer is wanted), tells everyone else (unless another device of
    /// the same owner holds the name already).
    ///
    /// # Errors
    /// A bad name, a guest's name in use, an owned name without its key (`name_owned`), a bad
    /// link code, too many of those, or a connection that has joined already.
    pub fn join(
        &self,
        link: &Link,
        request: JoinRequest,
        answer_wanted: bool,
    ) -> Result<Reply, Refusal> {
        let sid = link.id();
        let mut guard = self.lock();
        let state = &mut *guard;
        let (name, key, held_by_owner) = Self::name_to_join(state, sid, &request.username)?;
        let standing = self.authorize(state, link, &key, &name, &request, held_by_owner)?;
        let device = match standing {
            Standing::Owner { device, .. } => Some(device),
            // Released by an operator a moment ago, its devices not yet told.
            Standing::Guest if held_by_owner => return Err(taken(sid, &name)),
            Standing::Guest => None,
        };
        let claimed = matches!(
            standing,
            Standing::Owner {
                how: Became::Claimed,
                ..
            }
        );
        // A device is its name as claimed: `BEATRIX` typed for the owned `beatrix` joins as
        // `beatrix`, in the ack, in `users` and on every message.
        let name = if device.is_some() && !claimed {
            match state.names.get(&key) {
                Some(holder) => holder.name.clone(),
                None => state.book.owner(&key)?.unwrap_or(name),
            }
        } else {
            name
        };
        if claimed && held_by_owner {
            // Free in the book, yet held: by devices an operator released a moment ago. They
            // lose it now, before it is someone else's.
            let released: HashSet<DeviceId> = state
                .names
                .get(&key)
                .into_iter()
                .flat_map(|holder| holder.connections.iter())
                .filter_map(|held| state.conns.get(held).and_then(|c| c.device))
                .collect();
            state.unjoin_devices(&released, Some(name_released()), &self.inner.cuts);
        }
        if claimed {
            self.forget_rooms_of(state, &key);
        }
        let guest = device.is_none();
        if !held_by_owner {
            self.hold_in_cluster(sid, &key, &name, guest)?;
        }
        let first = state.hold(sid, &key, &name, device)?;
        link.mark_joined();

        let (users, guests) = state.users();
        let joined = Joined { name, key, guest };
        let reply = if answer_wanted {
            self.join_ack(state, link, request, &joined, users.clone())?
        } else {
            Reply::Nothing
        };
        let Joined { name, key, guest } = joined;
        if let Err(e) = link.emit(&ServerEvent::Users { users, guests }) {
            tracing::debug!(sid = %sid, error = %e, "could not send users");
        }
        tracing::info!(sid = %sid, username = ?name, ?standing, "joined");
        if first && !state.elsewhere.contains_key(&key) {
            state.broadcast(
                &ServerEvent::UserJoined {
                    username: name,
                    guest,
                },
                Some(sid),
                &self.inner.cuts,
            );
        }
        Ok(reply)
    }

    /// The answer to a join: `general`'s newest messages (after the client's `since`), and an
    /// owner's rooms with their states and what each missed.
    fn join_ack(
        &self,
        state: &mut ChatState,
        link: &Link,
        request: JoinRequest,
        joined: &Joined,
        users: Vec<String>,
    ) -> Result<Reply, Refusal> {
        let Joined { name, key, guest } = joined;
        let guest = *guest;
        // A `since` from another epoch counts for nothing here: the client starts over.
        let same_epoch = request
            .epoch
            .as_deref()
            .is_none_or(|e| e == self.inner.epoch);
        let since = request.since.filter(|s| *s > 0 && same_epoch);
        let budget = self.inner.config.history_bytes();
        let general_rev = request.revs.get(GENERAL_ROOM).copied();
        let mut general = state.rooms.general().map_or_else(
            || RoomReplay {
                messages: Vec::new(),
                more: false,
                gap: None,
                changes: None,
            },
            |g| g.replay((since, general_rev), budget, true),
        );
        if guest {
            // A guest (the tutorial's page among them) reads no thread: a reply only in its
            // thread is not a message of the room for it.
            general
                .messages
                .retain(|m| !crate::store::only_in_thread(m));
        }
        let (rooms, replay) = if guest {
            (Vec::new(), BTreeMap::new())
        } else {
            let rooms = self.room_states(state, key);
            let wanted = if same_epoch {
                request.rooms
            } else {
                BTreeMap::new()
            };
            (
                rooms,
                Self::replay_rooms(state, key, (&wanted, &request.revs), budget),
            )
        };
        Reply::now(
            link,
            &JoinAck {
                ok: true,
                username: name.clone(),
                users,
                history: general.messages,
                epoch: Some(self.inner.epoch.clone()),
                more: general.more,
                gap: general.gap,
                owned: !guest,
                rooms,
                replay,
                changes: general.changes,
            },
        )
    }

    /// The name a join asks for, its key, and whether an owner's devices hold it now: refused
    /// when this connection joined already (before anything is built: repeating `join` costs
    /// the server nothing), the name is invalid, or a guest holds it here or on another node.
    fn name_to_join(
        state: &ChatState,
        sid: Sid,
        typed: &str,
    ) -> Result<(String, String, bool), Refusal> {
        let conn = state.conns.get(&sid).ok_or_else(gone)?;
        if let Some(current) = &conn.username {
            return Err(Refusal::new(
                ErrorCode::AlreadyJoined,
                format!("this connection already joined as {current}"),
            ));
        }
        let name = normalize_username(typed)?;
        let key = username_key(&name);
        let held_by_owner = match state.names.get(&key) {
            Some(holder) if holder.guest => return Err(taken(sid, &name)),
            Some(_) => true,
            None => false,
        };
        if state.elsewhere.get(&key).is_some_and(|held| held.guest) {
            return Err(taken(sid, &name));
        }
        Ok((name, key, held_by_owner))
    }

    /// Asks the cluster whether the name may be held here, when other nodes serve the same
    /// users: a guest's name is held once in the cluster, and a guest cannot take a name held
    /// anywhere.
    fn hold_in_cluster(&self, sid: Sid, key: &str, name: &str, guest: bool) -> Result<(), Refusal> {
        let Some(cluster) = &self.inner.cluster else {
            return Ok(());
        };
        let held = crate::store::HeldName {
            key: key.to_owned(),
            name: name.to_owned(),
            guest,
        };
        match cluster.hold_name(&held) {
            Ok(true) => Ok(()),
            Ok(false) => Err(taken(sid, name)),
            Err(e) => {
                tracing::error!(error = %e, "could not record a name's presence; refusing the join");
                Err(Refusal::later(
                    ErrorCode::Unavailable,
                    "the server could not check the name; try again",
                    1000,
                ))
            }
        }
    }

    /// Every room `key` is in, `general` first, with the read markers and counts.
    fn room_states(&self, state: &mut ChatState, key: &str) -> Vec<RoomState> {
        let ids: Vec<RoomId> = std::iter::once(GENERAL)
            .chain(state.rooms.of(key))
            .collect();
        ids.into_iter()
            .filter_map(|id| {
                let log = state.rooms.get_mut(id)?;
                let read = if let Some(read) = log.markers.get(key) {
                    *read
                } else {
                    // A member seen for the first time has read what was there.
                    log.markers.insert(key.to_owned(), log.last_seq);
                    state.markers_due.insert((key.to_owned(), id));
                    log.last_seq
                };
                let log = state.rooms.get(id)?;
                Some(log.state(read, self.counts_for(log, key, read)))
            })
            .collect()
    }

    /// What a join replays of the rooms it named (`room → last seq`), those `key` is a member
    /// of: the budget is shared, each room getting an even part (and none when it is spent;
    /// `more` then says to page).
    fn replay_rooms(
        state: &ChatState,
        key: &str,
        (wanted, revs): (&BTreeMap<String, u64>, &BTreeMap<String, u64>),
        budget: usize,
    ) -> BTreeMap<String, RoomReplay> {
        let rooms: Vec<(&String, RoomId, u64)> = wanted
            .iter()
            .filter_map(|(name, since)| {
                let id = state.rooms.named(name).filter(|id| *id != GENERAL)?;
                let log = state.rooms.get(id)?;
                log.has_member(key).then_some((name, id, *since))
            })
            .collect();
        let share = budget / (rooms.len() + 1);
        rooms
            .into_iter()
            .filter_map(|(name, id, since)| {
                let log = state.rooms.get(id)?;
                let since = (since > 0).then_some(since);
                let rev = revs.get(name).copied();
                Some((name.clone(), log.replay((since, rev), share, false)))
            })
            .collect()
    }

    /// Forgets the rooms, DMs and markers of a name being claimed afresh (telling those rooms'
    /// members it left them).
    fn forget_rooms_of(&self, state: &mut ChatState, key: &str) {
        let rooms: Vec<RoomId> = state.rooms.of(key).collect();
        if let Some(general) = state.rooms.get_mut(GENERAL) {
            general.markers.remove(key);
        }
        let now = self.inner.config.clock.now();
        if let Err(e) = self.inner.store.forget_name(key, now) {
            tracing::error!(error = %e, "could not forget the rooms of a name claimed afresh");
        }
        for room in rooms {
            let Some(name) = state
                .rooms
                .get(room)
                .and_then(|log| log.members.get(key).cloned())
            else {
                continue;
            };
            state.rooms.remove_member(room, key, now);
            self.announce_member_change(state, room, name, false, None);
        }
    }

    /// Asks the name book who a join is. Refused attempts at an owned name (a wrong key or
    /// link code) are counted per name and per address, and logged; past those limits they
    /// are answered `rate_limited` instead of `name_owned`. Wrong guesses cost the guesser
    /// only: a session's first join is always put to the book, so the right key of an owned
    /// name, a guest's join of a free name and a claim get in from an address others guess
    /// from (behind one proxy, everyone's); only a session that has guessed wrong (also after
    /// leaving and connecting again) is refused before the book is asked while a limit holds,
    /// so a guesser gets one look at the book per connection it opens.
    fn authorize(
        &self,
        state: &mut ChatState,
        link: &Link,
        key: &str,
        name: &str,
        request: &JoinRequest,
        in_use: bool,
    ) -> Result<Standing, Refusal> {
        let now = Instant::now();
        let peer = super::rate_limit::address_bucket(link.peer());
        if link.guessed_wrong() {
            state
                .limits
                .refused_by_address
                .check(&peer, now)
                .and(state.limits.refused_by_name.check(&key.to_owned(), now))
                .map_err(|wait| too_many("refused joins", wait))?;
        }
        let credential = match (&request.key, &request.link) {
            (Some(device_key), Some(code)) => Credential::Link {
                key: device_key,
                code,
            },
            (Some(device_key), None) => Credential::Key(device_key),
            (None, _) => Credential::Nothing,
        };
        let may_claim = state.limits.claims_by_address.check(&peer, now);
        match state
            .book
            .authorize(key, name, credential, in_use, may_claim.is_ok())
        {
            Ok(
                claimed @ Standing::Owner {
                    how: Became::Claimed,
                    ..
                },
            ) => {
                let _ = state.limits.claims_by_address.take(&peer, now);
                Ok(claimed)
            }
            Err(refused) if refused.code == ErrorCode::RateLimited => {
                let wait = may_claim.err().unwrap_or(Duration::from_secs(60));
                tracing::warn!(sid = %link.id(), peer = %peer, username = ?name, "too many names claimed from one address");
                Err(Refusal::later(
                    ErrorCode::RateLimited,
                    refused.message,
                    wait_ms(wait),
                ))
            }
            Err(refused)
                if matches!(refused.code, ErrorCode::NameOwned | ErrorCode::InvalidLink) =>
            {
                link.note_wrong_guess();
                let by_name = state.limits.refused_by_name.take(&key.to_owned(), now);
                let by_address = state.limits.refused_by_address.take(&peer, now);
                self.inner.refused_joins.warn(|suppressed| {
                    tracing::warn!(sid = %link.id(), peer = %peer, username = ?name, code = ?refused.code, suppressed, "refused a join of an owned name");
                });
                Err(match by_name.and(by_address) {
                    Ok(()) => refused,
                    Err(wait) => too_many("refused joins", wait),
                })
            }
            other => other,
        }
    }

    /// Answers `device-link`: a code another device of this name's owner joins with, once,
    /// within ten minutes.
    ///
    /// # Errors
    /// Not joined; joined as a guest; the book cannot be written.
    pub fn device_link(&self, link: &Link, answer_wanted: bool) -> Result<Reply, Refusal> {
        let device = self.device_of(link)?;
        if !answer_wanted {
            // A code nobody would see.
            return Ok(Reply::Nothing);
        }
        let book = {
            let mut guard = self.lock();
            let state = &mut *guard;
            let key = state
                .conns
                .get(&link.id())
                .map(|c| c.key.clone())
                .ok_or_else(not_joined)?;
            state
                .limits
                .link_codes_by_name
                .take(&key, Instant::now())
                .map_err(|wait| too_many("link codes", wait))?;
            state.book.clone()
        };
        let code = book.link_code(device)?;
        Reply::now(link, &code)
    }

    /// Answers `device-forget`: revokes this connection's device; every connection of it leaves
    /// the name (the name is free when it was its last device).
    ///
    /// # Errors
    /// Not joined; joined as a guest; the book cannot be written.
    pub fn device_forget(&self, link: &Link, answer_wanted: bool) -> Result<Reply, Refusal> {
        let device = self.device_of(link)?;
        let mut guard = self.lock();
        let state = &mut *guard;
        let released = state.book.forget(device)?;
        let reply = if answer_wanted {
            Reply::now(link, &DeviceForgotten { ok: true, released })?
        } else {
            Reply::Nothing
        };
        let revoked = [device].into_iter().collect();
        state.unjoin_devices(&revoked, None, &self.inner.cuts);
        Ok(reply)
    }

    /// Takes names away from connections whose device an operator removed from the book
    /// (`charla-server names release`): each is told why (`error` `name_released`) and is no
    /// longer joined. Called once a second; does nothing unless another process wrote the book.
    pub fn drop_revoked(&self) {
        let mut guard = self.lock();
        let state = &mut *guard;
        let conns = &state.conns;
        let connected = || conns.values().filter_map(|c| c.device).collect();
        let revoked: HashSet<DeviceId> = match state.book.revoked(connected) {
            Ok(revoked) => revoked.into_iter().collect(),
            Err(e) => {
                tracing::warn!(error = %e, "could not check the name book for released names");
                return;
            }
        };
        if !revoked.is_empty() {
            tracing::info!(
                devices = revoked.len(),
                "names released by an operator: their connections are told"
            );
            state.unjoin_devices(&revoked, Some(name_released()), &self.inner.cuts);
        }
    }

    /// Notes every connected device as seen now (a device connected for months is not idle).
    pub fn touch_connected(&self) {
        let state = self.lock();
        for device in state.conns.values().filter_map(|c| c.device) {
            state.book.mark_seen(device);
        }
    }

    /// Writes the last-seen times of devices that left since the last call.
    pub fn flush_seen(&self) {
        let book = self.lock().book.clone();
        if let Err(e) = book.flush_seen() {
            tracing::warn!(error = %e, "could not record when devices were last seen; retrying");
        }
    }

    /// The device a joined connection proved its name with.
    fn device_of(&self, link: &Link) -> Result<DeviceId, Refusal> {
        let state = self.lock();
        let conn = state.conns.get(&link.id()).ok_or_else(not_joined)?;
        conn.username.as_ref().ok_or_else(not_joined)?;
        conn.device.ok_or_else(|| {
            Refusal::new(
                ErrorCode::NotOwned,
                "this connection joined as a guest: join with a device key to own the name",
            )
        })
    }

    /// Tells a room that `name` joined or left it, as the delta it is: `member-joined` or
    /// `member-left` (a few dozen bytes to each member, never the member list). The name's own
    /// other connections (but `except`, the one that asked) learn the whole room when it joined
    /// (`room-updated`: they may not know the room yet), and that it left.
    pub(super) fn announce_member_change(
        &self,
        state: &mut ChatState,
        room: RoomId,
        name: String,
        joined: bool,
        except: Option<Sid>,
    ) {
        let Some(log) = state.rooms.get(room) else {
            return;
        };
        let change = MemberChange {
            room: log.name.clone(),
            username: name.clone(),
        };
        let key = username_key(&name);
        let cuts = &self.inner.cuts;
        if joined {
            let info = ServerEvent::RoomUpdated(log.info());
            let others: Vec<Sid> = state
                .connections_of(&key)
                .filter(|sid| Some(*sid) != except)
                .collect();
            state.broadcast_room(room, &ServerEvent::MemberJoined(change), except, cuts);
            for sid in others {
                state.tell_connection(sid, &info, cuts);
            }
        } else {
            let event = ServerEvent::MemberLeft(change);
            state.broadcast_room(room, &event, except, cuts);
            state.tell_name(&key, &event, except, cuts);
        }
    }
}

impl ChatState {
    /// Takes the name away from every connection of `devices` (they stay connected, not
    /// joined), telling each `notice` first when there is one, and everyone else of the names
    /// nobody holds any more.
    pub(super) fn unjoin_devices(
        &mut self,
        devices: &HashSet<DeviceId>,
        notice: Option<Refusal>,
        cuts: &Fanout,
    ) {
        let sids: Vec<Sid> = self
            .conns
            .iter()
            .filter(|(_, c)| c.device.is_some_and(|d| devices.contains(&d)))
            .map(|(sid, _)| *sid)
            .collect();
        let mut left = Vec::new();
        let mut stopped_typing = Vec::new();
        for sid in sids {
            let Some(conn) = self.conns.get_mut(&sid) else {
                continue;
            };
            let (name, key, device, typing) = (
                conn.username.take(),
                std::mem::take(&mut conn.key),
                conn.device.take(),
                conn.typing.take(),
            );
            if let Some(notice) = &notice {
                if let Err(e) = conn.link.emit(&ServerEvent::Error(notice.clone())) {
                    tracing::debug!(sid = %sid, error = %e, "could not tell a connection its name is gone");
                }
            }
            let last = self.release_hold(sid, &key, device);
            if let (Some(room), Some(name)) = (typing, &name) {
                if !last || room != GENERAL {
                    stopped_typing.push((room, name.clone()));
                }
            }
            if last {
                left.extend(name);
            }
        }
        for (room, username) in stopped_typing {
            let stopped = self.stopped_typing(username, room);
            self.broadcast_room(room, &stopped, None, cuts);
        }
        for name in left {
            self.broadcast(&ServerEvent::UserLeft(name), None, cuts);
        }
    }
}

/// `typing` as relayed: `room` is absent for `general`.
pub(super) fn typing_notice(username: String, typing: bool, room: Option<String>) -> ServerEvent {
    ServerEvent::Typing(TypingNotice {
        username,
        typing,
        room,
    })
}

fn name_released() -> Refusal {
    Refusal::new(
        ErrorCode::NameReleased,
        "an operator released this name; pick a name to join again",
    )
}

fn taken(sid: Sid, name: &str) -> Refusal {
    tracing::debug!(sid = %sid, username = ?name, "username taken");
    Refusal::new(
        ErrorCode::UsernameTaken,
        format!("{name} is already in the chat"),
    )
}

/// Who a join made of a connection.
struct Joined {
    /// The name as shown.
    name: String,
    /// Its uniqueness key.
    key: String,
    /// Nobody owns it.
    guest: bool,
}

impl ChatState {
    /// Gives connection `sid` the name (held by `device`, or a guest's); true when it is the
    /// name's first connection here.
    fn hold(
        &mut self,
        sid: Sid,
        key: &str,
        name: &str,
        device: Option<DeviceId>,
    ) -> Result<bool, Refusal> {
        let conn = self.conns.get_mut(&sid).ok_or_else(gone)?;
        conn.username = Some(name.to_owned());
        key.clone_into(&mut conn.key);
        conn.device = device;
        Ok(match self.names.entry(key.to_owned()) {
            Entry::Occupied(mut holder) => {
                holder.get_mut().connections.push(sid);
                false
            }
            Entry::Vacant(free) => {
                free.insert(Holder {
                    name: name.to_owned(),
                    connections: smallvec![sid],
                    guest: device.is_none(),
                });
                true
            }
        })
    }
}
