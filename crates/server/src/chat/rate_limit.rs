//! Token buckets: a sustained rate with a burst of five seconds' worth, so a client flushing its
//! offline outbox is not refused, while a flood is. Buckets are kept per user name and per
//! address ([`Limiters`]), not per connection, so leaving and joining again refills nothing.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::{IpAddr, Ipv6Addr};
use std::time::{Duration, Instant};

/// The address a limit per address counts `peer` under: an IPv6 address by its /64 (one
/// network's share: a host is given a whole /64 and may use any address in it), an IPv4
/// address (mapped into IPv6 or not) as itself.
#[must_use]
pub fn address_bucket(peer: IpAddr) -> IpAddr {
    match peer {
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                IpAddr::V4(v4)
            } else {
                let network = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(Ipv6Addr::from(network))
            }
        }
        v4 @ IpAddr::V4(_) => v4,
    }
}

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
    #[cfg(test)]
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

impl RateLimiter {
    /// A bucket with its own burst size (`capacity` tokens), refilled at `per_sec` (which may be
    /// below one).
    #[must_use]
    pub fn with_capacity(per_sec: f64, capacity: u32, now: Instant) -> Self {
        Self {
            per_sec,
            capacity: f64::from(capacity),
            tokens: f64::from(capacity),
            last: now,
        }
    }

    /// Whether the bucket would be full at `now`: then it is no different from a new one and
    /// need not be kept.
    #[must_use]
    pub fn is_full(&self, now: Instant) -> bool {
        self.per_sec == 0.0
            || self.tokens + now.saturating_duration_since(self.last).as_secs_f64() * self.per_sec
                >= self.capacity
    }
}

/// One bucket per key, made on first use; full buckets are dropped now and then, so the map
/// holds only keys that used some of their allowance lately.
#[derive(Debug)]
pub struct Limiters<K> {
    buckets: HashMap<K, RateLimiter>,
    per_sec: f64,
    capacity: u32,
    prune_at: usize,
}

/// Entries a map may reach before it drops its full buckets.
const PRUNE_FROM: usize = 1024;

impl<K: Hash + Eq + Clone> Limiters<K> {
    /// Buckets of `per_sec` a second with a burst of five seconds' worth (`0`: no limit).
    #[must_use]
    pub fn new(per_sec: u32) -> Self {
        Self::with_burst(per_sec, per_sec.saturating_mul(BURST_SECONDS))
    }

    /// Buckets of `per_sec` a second with a burst of `capacity`.
    #[must_use]
    pub fn with_burst(per_sec: u32, capacity: u32) -> Self {
        Self {
            buckets: HashMap::new(),
            per_sec: f64::from(per_sec),
            capacity,
            prune_at: PRUNE_FROM,
        }
    }

    /// Buckets of `per_minute` a minute with a burst of `capacity`: for what a person does now
    /// and then (claiming a name, asking for a link code), not message by message.
    #[must_use]
    pub fn per_minute(per_minute: u32, capacity: u32) -> Self {
        Self {
            per_sec: f64::from(per_minute) / 60.0,
            ..Self::with_burst(0, capacity)
        }
    }

    /// Buckets of `per_day` a day, all of them at once: an allowance that refills evenly
    /// over the day (`0`: no limit).
    #[must_use]
    pub fn per_day(per_day: u32) -> Self {
        Self {
            per_sec: f64::from(per_day) / 86_400.0,
            ..Self::with_burst(0, per_day)
        }
    }

    /// Whether `key` may act now.
    ///
    /// # Errors
    /// The wait until it may.
    pub fn check(&self, key: &K, now: Instant) -> Result<(), Duration> {
        match self.buckets.get(key) {
            Some(bucket) if self.per_sec > 0.0 => {
                let mut probe = RateLimiter {
                    per_sec: bucket.per_sec,
                    capacity: bucket.capacity,
                    tokens: bucket.tokens,
                    last: bucket.last,
                };
                probe.try_take(now)
            }
            _ => Ok(()),
        }
    }

    /// Takes one token for `key`.
    ///
    /// # Errors
    /// The wait until a token is there.
    pub fn take(&mut self, key: &K, now: Instant) -> Result<(), Duration> {
        if self.per_sec == 0.0 {
            return Ok(());
        }
        if self.buckets.len() >= self.prune_at && !self.buckets.contains_key(key) {
            self.buckets.retain(|_, bucket| !bucket.is_full(now));
            self.prune_at = (self.buckets.len() * 2).max(PRUNE_FROM);
        }
        let (per_sec, capacity) = (self.per_sec, self.capacity);
        self.buckets
            .entry(key.clone())
            .or_insert_with(|| RateLimiter::with_capacity(per_sec, capacity, now))
            .try_take(now)
    }

    /// Keys with a bucket now.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.buckets.len()
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
    fn a_key_keeps_its_bucket_and_idle_buckets_are_dropped() {
        let start = Instant::now();
        let mut limiters: Limiters<String> = Limiters::new(1);
        let alice = "alice".to_owned();
        for _ in 0..5 {
            assert!(limiters.take(&alice, start).is_ok());
        }
        assert!(
            limiters.take(&alice, start).is_err(),
            "the same key, the same bucket"
        );
        assert!(limiters.check(&alice, start).is_err());
        assert!(
            limiters.take(&"bob".to_owned(), start).is_ok(),
            "another key has its own"
        );
        // Thousands of one-off keys, a second apart: buckets refill and are dropped.
        for n in 0..5000u64 {
            let _ = limiters.take(&format!("k{n}"), start + Duration::from_secs(n));
        }
        assert!(limiters.len() <= 2048, "bounded: {}", limiters.len());
    }

    #[test]
    fn an_ipv6_network_is_one_address_for_the_limits() {
        let a: IpAddr = "2001:db8:1:2::1".parse().expect("an address");
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse().expect("an address");
        let c: IpAddr = "2001:db8:1:3::1".parse().expect("an address");
        assert_eq!(address_bucket(a), address_bucket(b));
        assert_ne!(address_bucket(a), address_bucket(c));
        let v4: IpAddr = "203.0.113.7".parse().expect("an address");
        let mapped: IpAddr = "::ffff:203.0.113.7".parse().expect("an address");
        assert_eq!(address_bucket(mapped), v4);
        assert_eq!(address_bucket(v4), v4);
    }

    #[test]
    fn zero_means_unlimited() {
        let now = Instant::now();
        let mut limiter = RateLimiter::new(0, now);
        assert!((0..10_000).all(|_| limiter.try_take(now).is_ok()));
    }
}
