//! Accounting for every delivery: what one connection received, and the verdict over all.
//!
//! Each connection keeps a [`Ledger`] of its own (no sharing on the hot path). At the end the
//! ledgers are checked against what the senders sent: a message missing anywhere is a drop,
//! one seen twice a duplicate, one sender's messages out of their order a reorder, and two
//! connections that saw the same messages in a different order an order disagreement.

use std::collections::BTreeSet;

use serde::Serialize;

use crate::marker::Marker;

/// One connection's deliveries.
#[derive(Debug, Clone)]
pub struct Ledger {
    /// Per sender: the next message number expected.
    next: Vec<u64>,
    /// Messages skipped over and not seen yet (they may still arrive late).
    missing: BTreeSet<(u32, u64)>,
    /// Deliveries, duplicates included.
    pub delivered: u64,
    /// Messages seen again.
    pub duplicates: u64,
    /// Messages that arrived after a later one from the same sender.
    pub reordered: u64,
    /// A digest of the order in which messages arrived.
    order_digest: u64,
    /// Latencies in microseconds of messages sent at or after `measure_from_us`.
    pub latencies_us: Vec<u32>,
    measure_from_us: u64,
}

impl Ledger {
    /// An empty ledger for `senders` senders; latencies are kept for messages sent at or after
    /// `measure_from_us` (use `u64::MAX` to keep none).
    #[must_use]
    pub fn new(senders: usize, measure_from_us: u64) -> Self {
        Self {
            next: vec![0; senders],
            missing: BTreeSet::new(),
            delivered: 0,
            duplicates: 0,
            reordered: 0,
            order_digest: 0xcbf2_9ce4_8422_2325,
            latencies_us: Vec::new(),
            measure_from_us,
        }
    }

    /// Starts keeping latencies for messages sent from `from_us` on.
    pub fn measure_from(&mut self, from_us: u64) {
        self.measure_from_us = from_us;
    }

    /// Records one delivery, received at `now_us`.
    pub fn record(&mut self, m: Marker, now_us: u64) {
        self.delivered += 1;
        self.order_digest = (self.order_digest ^ (u64::from(m.sender) << 40 ^ m.n))
            .wrapping_mul(0x0100_0000_01b3)
            .rotate_left(7);
        if m.sent_us >= self.measure_from_us {
            let latency = now_us.saturating_sub(m.sent_us);
            self.latencies_us
                .push(u32::try_from(latency).unwrap_or(u32::MAX));
        }
        let Some(next) = self.next.get_mut(m.sender as usize) else {
            // A sender this run does not know: count it as a duplicate of nothing.
            self.duplicates += 1;
            return;
        };
        if m.n == *next {
            *next += 1;
        } else if m.n > *next {
            self.missing.extend((*next..m.n).map(|n| (m.sender, n)));
            *next = m.n + 1;
        } else if self.missing.remove(&(m.sender, m.n)) {
            self.reordered += 1;
        } else {
            self.duplicates += 1;
        }
    }

    /// How many of the `sent` messages (per sender) never arrived.
    #[must_use]
    pub fn dropped(&self, sent: &[u64]) -> u64 {
        let tail: u64 = self
            .next
            .iter()
            .zip(sent)
            .map(|(next, sent)| sent.saturating_sub(*next))
            .sum();
        tail + self.missing.len() as u64
    }
}

/// The verdict over every connection of a run.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Verdict {
    /// Messages the senders sent.
    pub sent: u64,
    /// Deliveries expected (sent × connections).
    pub expected: u64,
    /// Deliveries seen.
    pub delivered: u64,
    /// Deliveries that never happened.
    pub dropped: u64,
    /// Deliveries seen more than once.
    pub duplicated: u64,
    /// Deliveries out of their sender's order.
    pub reordered: u64,
    /// Connections that received everything but in an order other than the majority's.
    pub order_disagreements: u64,
    /// Messages the server refused (negative acks).
    pub refused: u64,
}

impl Verdict {
    /// Checks every ledger against what was sent.
    #[must_use]
    pub fn judge(ledgers: &[Ledger], sent: &[u64], refused: u64) -> Self {
        let total_sent: u64 = sent.iter().sum();
        let mut verdict = Self {
            sent: total_sent,
            expected: total_sent * ledgers.len() as u64,
            refused,
            ..Self::default()
        };
        let mut digests: Vec<u64> = Vec::new();
        for ledger in ledgers {
            let dropped = ledger.dropped(sent);
            verdict.delivered += ledger.delivered;
            verdict.dropped += dropped;
            verdict.duplicated += ledger.duplicates;
            verdict.reordered += ledger.reordered;
            if dropped == 0 && ledger.duplicates == 0 {
                digests.push(ledger.order_digest);
            }
        }
        digests.sort_unstable();
        let majority = most_common(&digests);
        verdict.order_disagreements =
            digests.iter().filter(|d| Some(**d) != majority).count() as u64;
        verdict
    }

    /// Whether nothing was lost, repeated, reordered or refused.
    #[must_use]
    pub fn is_clean(&self) -> bool {
        self.dropped == 0
            && self.duplicated == 0
            && self.reordered == 0
            && self.order_disagreements == 0
            && self.refused == 0
    }
}

/// The most frequent value of a sorted slice.
fn most_common(sorted: &[u64]) -> Option<u64> {
    sorted
        .chunk_by(|a, b| a == b)
        .max_by_key(|run| run.len())
        .and_then(|run| run.first().copied())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(sender: u32, n: u64) -> Marker {
        Marker {
            sender,
            n,
            sent_us: 10,
        }
    }

    fn ledger(arrivals: &[(u32, u64)]) -> Ledger {
        let mut l = Ledger::new(2, 0);
        for &(s, n) in arrivals {
            l.record(m(s, n), 20);
        }
        l
    }

    #[test]
    fn a_clean_run_is_clean() {
        let a = ledger(&[(0, 0), (1, 0), (0, 1), (1, 1)]);
        let v = Verdict::judge(&[a.clone(), a], &[2, 2], 0);
        assert!(v.is_clean(), "{v:?}");
        assert_eq!(v.delivered, 8);
        assert_eq!(v.expected, 8);
    }

    #[test]
    fn drops_duplicates_and_reorders_are_counted() {
        let dropped_tail = ledger(&[(0, 0), (1, 0), (0, 1)]);
        let gap = ledger(&[(0, 0), (0, 2), (1, 0), (1, 1)]);
        let dup = ledger(&[(0, 0), (0, 0), (0, 1), (1, 0), (1, 1)]);
        let late = ledger(&[(0, 1), (0, 0), (1, 0), (1, 1)]);
        let sent = [2, 2];
        assert_eq!(Verdict::judge(&[dropped_tail], &sent, 0).dropped, 1);
        let v = Verdict::judge(&[gap], &[3, 2], 0);
        assert_eq!(v.dropped, 1, "{v:?}");
        let v = Verdict::judge(&[dup], &sent, 0);
        assert_eq!((v.duplicated, v.dropped), (1, 0));
        let v = Verdict::judge(&[late], &sent, 0);
        assert_eq!((v.reordered, v.dropped), (1, 0));
        assert!(!v.is_clean());
    }

    #[test]
    fn receivers_that_disagree_on_order_are_found() {
        let a = ledger(&[(0, 0), (1, 0), (0, 1), (1, 1)]);
        let b = ledger(&[(1, 0), (0, 0), (0, 1), (1, 1)]);
        let v = Verdict::judge(&[a.clone(), a, b], &[2, 2], 0);
        assert_eq!(v.order_disagreements, 1, "{v:?}");
        assert_eq!(v.reordered, 0);
        assert!(!v.is_clean());
    }

    #[test]
    fn latencies_are_kept_from_the_measurement_start() {
        let mut l = Ledger::new(1, 100);
        l.record(
            Marker {
                sender: 0,
                n: 0,
                sent_us: 50,
            },
            70,
        );
        l.record(
            Marker {
                sender: 0,
                n: 1,
                sent_us: 100,
            },
            130,
        );
        assert_eq!(l.latencies_us, vec![30]);
    }
}
