//! Waiting, bounded in time, for something a test expects to become true: a port that listens,
//! a node that says it is healthy, a name that is free again, a search index that caught up.
//!
//! Written once so that every such wait is bounded, looks again at a pace it states, and says
//! what it waited for when it gives up, instead of a hand-written loop per test with its own
//! deadline arithmetic.

use std::fmt::Debug;
use std::time::Duration;

/// How often a condition is looked at unless [`Deadline::every`] says otherwise.
pub const POLL: Duration = Duration::from_millis(50);

/// How long to wait for a condition, and how often to look at it.
#[derive(Debug, Clone, Copy)]
pub struct Deadline {
    within: Duration,
    every: Duration,
}

impl Deadline {
    /// Waits at most `within`, looking every [`POLL`].
    #[must_use]
    pub const fn within(within: Duration) -> Self {
        Self {
            within,
            every: POLL,
        }
    }

    /// Looks every `every` instead.
    #[must_use]
    pub const fn every(self, every: Duration) -> Self {
        Self { every, ..self }
    }
}

impl From<Duration> for Deadline {
    fn from(within: Duration) -> Self {
        Self::within(within)
    }
}

/// What a look at a condition says: done (with a value), or not yet (with what was seen).
pub trait Check {
    /// What the wait returns once the condition holds.
    type Value;
    /// What the last look saw while it did not.
    type Last: Debug;
    /// `Ok` once the condition holds.
    ///
    /// # Errors
    /// What was seen instead, while it does not.
    fn check(self) -> Result<Self::Value, Self::Last>;
}

impl Check for bool {
    type Value = ();
    type Last = bool;
    fn check(self) -> Result<(), bool> {
        if self {
            Ok(())
        } else {
            Err(false)
        }
    }
}

impl<T> Check for Option<T> {
    type Value = T;
    type Last = ();
    fn check(self) -> Result<T, ()> {
        self.ok_or(())
    }
}

impl<T, E: Debug> Check for Result<T, E> {
    type Value = T;
    type Last = E;
    fn check(self) -> Result<T, E> {
        self
    }
}

/// Looks at `condition` until it holds, for at most the deadline; its value, or what the last
/// look saw once the time is up. A look that has not ended by twice the deadline counts as
/// not holding. For waits whose end the test judges itself (a measurement, an assertion of
/// its own); [`eventually`] panics instead.
///
/// # Errors
/// The last look's [`Check::Last`], when the condition did not hold in time.
pub async fn poll<C: Check>(
    deadline: impl Into<Deadline>,
    mut condition: impl AsyncFnMut() -> C,
) -> Result<C::Value, Option<C::Last>> {
    let Deadline { within, every } = deadline.into();
    let until = tokio::time::Instant::now() + within;
    loop {
        let look = tokio::time::timeout_at(until + within, condition()).await;
        match look.map(Check::check) {
            Ok(Ok(value)) => return Ok(value),
            Ok(Err(_)) if tokio::time::Instant::now() < until => tokio::time::sleep(every).await,
            Ok(Err(last)) => return Err(Some(last)),
            Err(_) => return Err(None),
        }
    }
}

/// Looks at `condition` until it holds, for at most the deadline, and returns its value;
/// panics naming `what` (and what the last look saw) otherwise.
pub async fn eventually<C: Check>(
    deadline: impl Into<Deadline>,
    what: &str,
    condition: impl AsyncFnMut() -> C,
) -> C::Value {
    let deadline = deadline.into();
    match poll(deadline, condition).await {
        Ok(value) => value,
        Err(Some(last)) => panic!("{what}: not within {:?} (last: {last:?})", deadline.within),
        Err(None) => panic!(
            "{what}: a look did not end within {:?}",
            deadline.within * 2
        ),
    }
}

/// [`eventually`] for a condition that blocks the thread (a child process, a `std` socket);
/// the thread sleeps between looks. A look itself is not bounded.
pub fn eventually_blocking<C: Check>(
    deadline: impl Into<Deadline>,
    what: &str,
    mut condition: impl FnMut() -> C,
) -> C::Value {
    let Deadline { within, every } = deadline.into();
    let until = std::time::Instant::now() + within;
    loop {
        match condition().check() {
            Ok(value) => return value,
            Err(_) if std::time::Instant::now() < until => std::thread::sleep(every),
            Err(last) => panic!("{what}: not within {within:?} (last: {last:?})"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn eventually_returns_the_value_once_the_condition_holds() {
        let mut looks = 0;
        let found = eventually(Duration::from_secs(1), "the third look", async || {
            looks += 1;
            (looks == 3).then_some(looks)
        })
        .await;
        assert_eq!(found, 3);
    }

    #[tokio::test(start_paused = true)]
    #[should_panic(expected = "a port: not within 1s (last: \"closed\")")]
    async fn eventually_names_what_it_waited_for() {
        eventually(Duration::from_secs(1), "a port", async || {
            Err::<(), _>("closed")
        })
        .await;
    }

    #[tokio::test(start_paused = true)]
    async fn poll_gives_the_last_look_when_the_time_is_up() {
        let started = tokio::time::Instant::now();
        let mut looks = 0u32;
        let last = poll(
            Deadline::within(Duration::from_secs(1)).every(Duration::from_millis(200)),
            async || {
                looks += 1;
                Err::<(), _>(looks)
            },
        )
        .await;
        assert_eq!(last, Err(Some(6)), "looks at 0, 0.2, … 1.0 s");
        assert_eq!(started.elapsed(), Duration::from_secs(1));
    }

    #[tokio::test(start_paused = true)]
    async fn poll_gives_up_on_a_look_that_never_ends() {
        let last = poll(Duration::from_secs(1), async || {
            std::future::pending::<bool>().await
        })
        .await;
        assert_eq!(last, Err(None));
    }

    #[test]
    fn eventually_blocking_looks_until_it_holds() {
        let mut looks = 0;
        eventually_blocking(
            Deadline::within(Duration::from_secs(5)).every(Duration::from_millis(1)),
            "the second look",
            || {
                looks += 1;
                looks == 2
            },
        );
        assert_eq!(looks, 2);
    }
}
