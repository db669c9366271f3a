//! Reconnection delays as socket.io-client computes them: start at 1 s, double up to 5 s, each
//! randomized by ±50 %, reset after a successful connect.

use std::time::Duration;

/// The delay schedule. `next_delay` is pure given the random draw, so it is testable.
#[derive(Debug, Clone)]
pub struct Backoff {
    min: Duration,
    max: Duration,
    jitter: f64,
    attempt: u32,
}

impl Default for Backoff {
    fn default() -> Self {
        Self::new(Duration::from_secs(1), Duration::from_secs(5), 0.5)
    }
}

impl Backoff {
    /// A schedule from `min` doubling to `max`, randomized by `±jitter` (0.0–1.0).
    #[must_use]
    pub fn new(min: Duration, max: Duration, jitter: f64) -> Self {
        Self {
            min,
            max,
            jitter: jitter.clamp(0.0, 1.0),
            attempt: 0,
        }
    }

    /// How many delays were handed out since the last reset.
    #[must_use]
    pub fn attempts(&self) -> u32 {
        self.attempt
    }

    /// The next delay, given a uniform draw in `[0, 1)`.
    pub fn next_delay_with(&mut self, draw: f64) -> Duration {
        let base =
            self.min.as_secs_f64() * 2f64.powi(i32::try_from(self.attempt.min(30)).unwrap_or(30));
        self.attempt = self.attempt.saturating_add(1);
        let deviation = base * self.jitter;
        // Spread uniformly over [base - deviation, base + deviation], like socket.io-client.
        let randomized = base + deviation * (2.0 * draw - 1.0);
        Duration::from_secs_f64(randomized.min(self.max.as_secs_f64()).max(0.0))
    }

    /// The next delay, randomized.
    pub fn next_delay(&mut self) -> Duration {
        self.next_delay_with(rand::random::<f64>())
    }

    /// Back to the first delay (after a successful connect).
    pub fn reset(&mut self) {
        self.attempt = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_from_one_second_capped_at_five() {
        let mut backoff = Backoff::default();
        let middle: Vec<_> = (0..5).map(|_| backoff.next_delay_with(0.5)).collect();
        let secs: Vec<_> = middle.iter().map(Duration::as_secs_f64).collect();
        assert_eq!(secs, [1.0, 2.0, 4.0, 5.0, 5.0]);
        backoff.reset();
        assert_eq!(backoff.next_delay_with(0.5), Duration::from_secs(1));
    }

    #[test]
    fn jitter_stays_within_half() {
        let mut low = Backoff::default();
        let mut high = Backoff::default();
        assert_eq!(low.next_delay_with(0.0), Duration::from_millis(500));
        assert!(high.next_delay_with(0.999_999) <= Duration::from_millis(1500));
        for _ in 0..100 {
            let mut random = Backoff::default();
            let d = random.next_delay();
            assert!(d >= Duration::from_millis(500) && d <= Duration::from_millis(1500));
        }
    }
}
