//! The open sessions, by id, and how many the server and each address hold: a session is
//! admitted against the caps, registered so later requests find it, and gives its place back
//! when it ends.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use super::Sid;
use crate::throttle::Throttle;

/// Every open session, by id, and how many each address holds.
pub struct Sessions<S> {
    by_id: Mutex<HashMap<Sid, Arc<S>>>,
    limits: Arc<Limits>,
}

/// How many sessions the server and each address hold, against the caps.
struct Limits {
    counts: Mutex<Counts>,
    max_total: usize,
    max_per_address: usize,
    refusals: Throttle,
}

struct Counts {
    per_address: HashMap<IpAddr, usize>,
    total: usize,
}

/// A session counted against the limits; dropping it (with the session) gives the place back.
pub struct Admitted {
    limits: Arc<Limits>,
    peer: IpAddr,
}

impl Drop for Admitted {
    fn drop(&mut self) {
        self.limits.release(self.peer);
    }
}

impl<S> Sessions<S> {
    /// No sessions yet; at most `max_total` at once, `max_per_address` from one address.
    pub fn new(max_total: usize, max_per_address: usize) -> Self {
        Self {
            by_id: Mutex::new(HashMap::new()),
            limits: Arc::new(Limits {
                counts: Mutex::new(Counts {
                    per_address: HashMap::new(),
                    total: 0,
                }),
                max_total,
                max_per_address,
                refusals: Throttle::new(),
            }),
        }
    }

    fn sessions(&self) -> MutexGuard<'_, HashMap<Sid, Arc<S>>> {
        // A map: nothing a panic could leave half-done.
        self.by_id
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Counts a new session from `peer`, or refuses it (and says so in the log, at most every
    /// few seconds) when the server or that address holds its limit.
    pub fn admit(&self, peer: IpAddr) -> Option<Admitted> {
        let limits = &self.limits;
        let mut counts = limits.lock();
        let from_peer = counts.per_address.get(&peer).copied().unwrap_or(0);
        let full = if counts.total >= limits.max_total {
            Some("sessions on the server")
        } else if from_peer >= limits.max_per_address {
            Some("sessions from one address")
        } else {
            None
        };
        if let Some(limit) = full {
            drop(counts);
            limits.refusals.warn(|suppressed| {
                tracing::warn!(%peer, limit, suppressed, "refused a session: limit reached");
            });
            return None;
        }
        counts.total += 1;
        *counts.per_address.entry(peer).or_insert(0) += 1;
        Some(Admitted {
            limits: limits.clone(),
            peer,
        })
    }

    /// Registers an open session so later requests can find it by id.
    pub fn insert(&self, id: Sid, session: Arc<S>) {
        self.sessions().insert(id, session);
    }

    /// The session with this id, if it is open.
    #[must_use]
    pub fn get(&self, id: Sid) -> Option<Arc<S>> {
        self.sessions().get(&id).cloned()
    }

    /// Every open session, at this moment.
    #[must_use]
    pub fn all(&self) -> Vec<Arc<S>> {
        self.sessions().values().cloned().collect()
    }

    /// Forgets a session that has ended.
    pub fn remove(&self, id: Sid) {
        let removed = self.sessions().remove(&id);
        // Dropped outside the lock: the last reference releases its admission.
        drop(removed);
    }
}

impl Limits {
    fn lock(&self) -> MutexGuard<'_, Counts> {
        // Counters: nothing a panic could leave half-done.
        self.counts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn release(&self, peer: IpAddr) {
        let mut counts = self.lock();
        counts.total = counts.total.saturating_sub(1);
        if let Some(count) = counts.per_address.get_mut(&peer) {
            *count -= 1;
            if *count == 0 {
                counts.per_address.remove(&peer);
            }
        }
    }
}
