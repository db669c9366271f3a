//! A token bucket per connection: a sustained rate with a burst of five seconds' worth, so a
//! client flushing its offline outbox is not refused, while a flood is.

use std::time::{Duration, Instant};

/// Seconds of sustained rate a client may send at once.
const BURST_SECONDS: u32 = 5;

/// One connection's allowance.
#[derive(Debug)]
pub struct RateLimiter {
    per_sec: f64,
    capacity: f64,
    tokens: f64,
    last: Instant,
}

impl RateLimiter {
    /// A full bucket for `per_sec` messages a second; `0` never limits.
    #[must_use]
    pub fn new(per_sec: u32, now: Instant) -> Self {
        let capacity = f64::from(per_sec.saturating_mul(BURST_SECONDS));
        Self {
            per_sec: f64::from(per_sec),
            capacity,
            tokens: capacity,
            last: now,
        }
    }

    /// Takes one token, or says how long until one is there.
    ///
    /// # Errors
    /// The wait until the next token when the bucket is empty.
    pub fn try_take(&mut self, now: Instant) -> Result<(), Duration> {
        if self.per_sec == 0.0 {
            return Ok(());
        }
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.per_sec).min(self.capacity);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - self.tokens) / self.per_sec))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allows_a_burst_then_the_sustained_rate() {
        let start = Instant::now();
        let mut limiter = RateLimiter::new(2, start);
        for _ in 0..10 {
            assert!(limiter.try_take(start).is_ok());
        }
        let wait = limiter.try_take(start).expect_err("bucket empty");
        assert_eq!(wait, Duration::from_millis(500));
        assert!(limiter.try_take(start + Duration::from_millis(500)).is_ok());
        assert!(limiter
            .try_take(start + Duration::from_millis(500))
            .is_err());
    }

    #[test]
    fn zero_means_unlimited() {
        let now = Instant::now();
        let mut limiter = RateLimiter::new(0, now);
        assert!((0..10_000).all(|_| limiter.try_take(now).is_ok()));
    }
}
