//! Noticing that the machine slept: the wall clock jumps while the monotonic clock does not.
//! The app then reconnects at once rather than waiting out a dead socket's heartbeat.

use std::future::Future;
use std::time::{Duration, Instant, SystemTime};

/// How often the clocks are compared.
const TICK: Duration = Duration::from_secs(5);
/// A difference smaller than this is clock adjustment, not sleep.
const THRESHOLD: Duration = Duration::from_secs(10);

/// How long the machine slept, if the wall clock ran `wall` while the monotonic one ran `mono`.
#[must_use]
pub fn slept(wall: Duration, mono: Duration) -> Option<Duration> {
    let gap = wall.saturating_sub(mono);
    (gap > THRESHOLD).then_some(gap)
}

/// Calls `on_wake` after every sleep, for as long as the app runs.
pub fn watch<F, Fut>(on_wake: F)
where
    F: Fn() -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send,
{
    tauri::async_runtime::spawn(async move {
        let mut wall = SystemTime::now();
        let mut mono = Instant::now();
        loop {
            tokio::time::sleep(TICK).await;
            let wall_elapsed = SystemTime::now().duration_since(wall).unwrap_or_default();
            if let Some(asleep) = slept(wall_elapsed, mono.elapsed()) {
                tracing::info!(asleep_s = asleep.as_secs(), "woke up; reconnecting");
                on_wake().await;
            }
            wall = SystemTime::now();
            mono = Instant::now();
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_jump_of_the_wall_clock_counts_as_sleep() {
        let five = Duration::from_secs(5);
        assert_eq!(slept(five, five), None);
        assert_eq!(slept(Duration::from_secs(14), five), None, "an adjustment");
        assert_eq!(
            slept(Duration::from_secs(605), five),
            Some(Duration::from_secs(600))
        );
        assert_eq!(slept(Duration::ZERO, five), None, "the clock went back");
    }
}
