//! Every limit the chat keeps per name and per address, in one place: what each allows and
//! why, built from the server's settings. The token buckets themselves are [`super::rate_limit`].

use std::net::IpAddr;
use std::time::{Duration, Instant};

use charla_protocol::chat::RoomKind;

use super::rate_limit::Limiters;
use crate::config::ServerConfig;

/// Typing starts one name may announce: one a second, three at once.
const TYPING_PER_SEC: u32 = 1;
const TYPING_BURST: u32 = 3;
/// Refused joins of owned names (a wrong key or link code) one name, and one address, may
/// have: one a second, ten at once. Past that, a session that guessed wrong is answered
/// `rate_limited` without the book being asked; nobody else is (see [`super::identity`]).
const REFUSED_JOINS_PER_SEC: u32 = 1;
const REFUSED_JOINS_BURST: u32 = 10;
/// Names one address may claim: twenty at once (an office starting Charla on its first
/// morning), then `ServerConfig::claims_per_minute` (two). Claims are kept for months:
/// unbounded, one script could squat every common name.
const CLAIMS_BURST: u32 = 20;
/// Link codes one name may ask for: five at once, then two a minute.
const LINK_CODES_PER_MINUTE: u32 = 2;
const LINK_CODES_BURST: u32 = 5;
/// Rooms and DMs one name may make: ten at once, then two a minute.
const CREATIONS_PER_MINUTE: u32 = 2;
const CREATIONS_BURST: u32 = 10;
/// Changes of rooms one name may make (joining, leaving, a topic, a new room or DM): ten at
/// once, then one a second. Each is told to every member of the room: unbounded, one member
/// looping `room-leave`/`room-join` sent each member of a big room thousands of events a
/// second.
const ROOM_CHANGES_PER_SEC: u32 = 1;
const ROOM_CHANGES_BURST: u32 = 10;

/// The chat's limits. Addresses are counted by [`super::rate_limit::address_bucket`].
pub(super) struct Limits {
    /// Messages per name (`ServerConfig::rate_limit_per_sec`).
    pub(super) messages_by_name: Limiters<String>,
    /// Messages per address, all names together.
    pub(super) messages_by_address: Limiters<IpAddr>,
    /// Reactions and pins per name, at the rate of messages: each is sent to the whole room.
    pub(super) reactions_by_name: Limiters<String>,
    /// Typing starts per name.
    pub(super) typing_by_name: Limiters<String>,
    /// Refused joins of an owned name, per name and per address.
    pub(super) refused_by_name: Limiters<String>,
    pub(super) refused_by_address: Limiters<IpAddr>,
    /// Names claimed per address.
    pub(super) claims_by_address: Limiters<IpAddr>,
    /// Link codes asked for per name.
    pub(super) link_codes_by_name: Limiters<String>,
    /// Rooms and DMs made per name.
    pub(super) creations_by_name: Limiters<String>,
    /// Room changes (join, leave, topic, a new room) per name.
    pub(super) room_changes_by_name: Limiters<String>,
    /// New rooms, and new DMs, per address for the day.
    rooms_by_address: Limiters<IpAddr>,
    dms_by_address: Limiters<IpAddr>,
}

impl Limits {
    /// The limits `config` sets, and the fixed ones.
    pub(super) fn new(config: &ServerConfig) -> Self {
        Self {
            messages_by_name: Limiters::new(config.rate_limit_per_sec),
            messages_by_address: Limiters::new(config.rate_limit_per_address_per_sec),
            reactions_by_name: Limiters::new(config.rate_limit_per_sec),
            typing_by_name: Limiters::with_burst(TYPING_PER_SEC, TYPING_BURST),
            refused_by_name: Limiters::with_burst(REFUSED_JOINS_PER_SEC, REFUSED_JOINS_BURST),
            refused_by_address: Limiters::with_burst(REFUSED_JOINS_PER_SEC, REFUSED_JOINS_BURST),
            claims_by_address: Limiters::per_minute(config.claims_per_minute, CLAIMS_BURST),
            link_codes_by_name: Limiters::per_minute(LINK_CODES_PER_MINUTE, LINK_CODES_BURST),
            creations_by_name: Limiters::per_minute(CREATIONS_PER_MINUTE, CREATIONS_BURST),
            room_changes_by_name: Limiters::with_burst(ROOM_CHANGES_PER_SEC, ROOM_CHANGES_BURST),
            rooms_by_address: Limiters::per_day(config.rooms_per_address_per_day),
            dms_by_address: Limiters::per_day(config.dms_per_address_per_day),
        }
    }

    /// Takes a message's token from its author's bucket and its address's, only when both have
    /// one; else how long until they do.
    pub(super) fn take_message(
        &mut self,
        name_key: &String,
        address: IpAddr,
        now: Instant,
    ) -> Result<(), Duration> {
        self.messages_by_name
            .check(name_key, now)
            .and(self.messages_by_address.check(&address, now))?;
        let _ = self.messages_by_name.take(name_key, now);
        let _ = self.messages_by_address.take(&address, now);
        Ok(())
    }

    /// The allowance per address for the day of new rooms of `kind`.
    pub(super) fn new_rooms_today(&mut self, kind: RoomKind) -> &mut Limiters<IpAddr> {
        match kind {
            RoomKind::Room => &mut self.rooms_by_address,
            RoomKind::Dm => &mut self.dms_by_address,
        }
    }
}
