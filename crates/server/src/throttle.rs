//! Log lines about a flood, at most one every few seconds, with how many were left out.
//!
//! A peer that hammers a limit must not also fill the operator's disk: the first refusal is
//! logged at once, later ones are counted and reported with the next line.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Time between two lines.
const EVERY: Duration = Duration::from_secs(10);

/// One kind of event whose log lines are rate-limited.
#[derive(Debug, Default)]
pub struct Throttle {
    last: Mutex<Option<Instant>>,
    suppressed: AtomicU64,
}

impl Throttle {
    /// A throttle that has logged nothing yet.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Calls `log` with the number of events left out since the last line, unless a line was
    /// written less than ten seconds ago (then the event is only counted).
    pub fn warn(&self, log: impl FnOnce(u64)) {
        self.warn_at(Instant::now(), log);
    }

    fn warn_at(&self, now: Instant, log: impl FnOnce(u64)) {
        let due = {
            let mut last = self
                .last
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let due = last.is_none_or(|at| now.saturating_duration_since(at) >= EVERY);
            if due {
                *last = Some(now);
            }
            due
        };
        if due {
            log(self.suppressed.swap(0, Ordering::Relaxed));
        } else {
            self.suppressed.fetch_add(1, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_period_with_the_count_left_out() {
        let throttle = Throttle::new();
        let start = Instant::now();
        let mut lines = Vec::new();
        for i in 0..100u64 {
            throttle.warn_at(start + Duration::from_millis(i * 250), |n| lines.push(n));
        }
        // 25 s of events every 250 ms: lines at 0 s, 10 s and 20 s.
        assert_eq!(lines, [0, 39, 39]);
    }
}
