//! What the server counts for its operators, and the Prometheus text format it is read in
//! (`GET /metrics`).
//!
//! Counters are atomics the chat bumps on its way (a fan-out adds its deliveries once, not
//! one by one); the gauges (connections by transport, joined users) are read when scraped.
//! Nothing here takes a lock on the message path but the refusal table's, which only refused
//! requests reach.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// Upper bounds of the latency buckets (store commits, cluster lag), in seconds.
const COMMIT_BUCKETS: [f64; 12] = [
    0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0,
];

/// The server's counters. One per server; shared by the chat and the HTTP routes.
#[derive(Default)]
pub struct Metrics {
    accepted: AtomicU64,
    retried: AtomicU64,
    /// Refused `chat-message`s by error code (the protocol's `snake_case` names).
    refused: Mutex<BTreeMap<String, u64>>,
    deliveries: AtomicU64,
    cutoffs: AtomicU64,
    commits: Histogram,
    cluster_lag: Histogram,
}

/// What is read at the moment of a scrape.
#[derive(Debug, Clone, Copy, Default)]
pub struct Gauges {
    /// Sessions carried by a WebSocket (upgraded ones included).
    pub websocket: usize,
    /// Sessions carried by HTTP long-polling (one upgrading included).
    pub polling: usize,
    /// Distinct names joined.
    pub joined_users: usize,
}

impl Metrics {
    /// A message was stored and published.
    pub fn accepted(&self) {
        self.accepted.fetch_add(1, Ordering::Relaxed);
    }

    /// A message's retry (its `clientId` already stored) was acked again.
    pub fn retried(&self) {
        self.retried.fetch_add(1, Ordering::Relaxed);
    }

    /// A message was refused with `code` (its wire name).
    pub fn refused(&self, code: &str) {
        let mut refused = self
            .refused
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match refused.get_mut(code) {
            Some(count) => *count += 1,
            None => {
                refused.insert(code.to_owned(), 1);
            }
        }
    }

    /// `count` messages were queued to receivers.
    pub fn delivered(&self, count: usize) {
        self.deliveries
            .fetch_add(u64::try_from(count).unwrap_or(u64::MAX), Ordering::Relaxed);
    }

    /// A client was cut off: its queue was full.
    pub fn cut_off(&self) {
        self.cutoffs.fetch_add(1, Ordering::Relaxed);
    }

    /// A message's store commit took `took`.
    pub fn committed(&self, took: Duration) {
        self.commits.observe(took);
    }

    /// A message read from the store after its announcement (several nodes) was delivered here
    /// `lag` after a node accepted it.
    pub fn heard_late(&self, lag: Duration) {
        self.cluster_lag.observe(lag);
    }

    /// Everything, in the Prometheus text exposition format (version 0.0.4).
    #[must_use]
    pub fn render(&self, gauges: Gauges) -> String {
        let mut out = String::with_capacity(2048);
        family(
            &mut out,
            "charla_connections",
            "gauge",
            "Open sessions by transport.",
        );
        sample(
            &mut out,
            "charla_connections{transport=\"websocket\"}",
            gauges.websocket,
        );
        sample(
            &mut out,
            "charla_connections{transport=\"polling\"}",
            gauges.polling,
        );
        single(
            &mut out,
            "charla_joined_users",
            "gauge",
            "Distinct names joined.",
            gauges.joined_users,
        );
        single(
            &mut out,
            "charla_messages_accepted_total",
            "counter",
            "Messages stored and published.",
            self.accepted.load(Ordering::Relaxed),
        );
        single(
            &mut out,
            "charla_messages_retried_total",
            "counter",
            "Retries of stored messages, acked again.",
            self.retried.load(Ordering::Relaxed),
        );
        family(
            &mut out,
            "charla_messages_refused_total",
            "counter",
            "Messages refused, by error code.",
        );
        let refused = self
            .refused
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        for (code, count) in refused {
            sample(
                &mut out,
                &format!("charla_messages_refused_total{{code=\"{code}\"}}"),
                count,
            );
        }
        single(
            &mut out,
            "charla_deliveries_total",
            "counter",
            "Messages queued to receivers.",
            self.deliveries.load(Ordering::Relaxed),
        );
        single(
            &mut out,
            "charla_queue_cutoffs_total",
            "counter",
            "Clients disconnected because their queue was full.",
            self.cutoffs.load(Ordering::Relaxed),
        );
        family(
            &mut out,
            "charla_store_commit_seconds",
            "histogram",
            "How long storing a message took.",
        );
        self.commits
            .render(&mut out, "charla_store_commit_seconds", &COMMIT_BUCKETS);
        family(
            &mut out,
            "charla_cluster_notify_lag_seconds",
            "histogram",
            "From a message's acceptance on another node to its delivery here, for every \
             message read back from the store (several nodes on PostgreSQL; empty otherwise). \
             Across machines it includes their clocks' difference.",
        );
        self.cluster_lag.render(
            &mut out,
            "charla_cluster_notify_lag_seconds",
            &COMMIT_BUCKETS,
        );
        out
    }
}

/// A family of one series.
fn single(out: &mut String, name: &str, kind: &str, help: &str, value: impl std::fmt::Display) {
    family(out, name, kind, help);
    sample(out, name, value);
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

fn sample(out: &mut String, series: &str, value: impl std::fmt::Display) {
    let _ = writeln!(out, "{series} {value}");
}

/// Observations counted into [`COMMIT_BUCKETS`], with their sum in microseconds.
#[derive(Default)]
struct Histogram {
    /// Per bucket (not cumulative; summed when rendered), the last one for `+Inf`.
    buckets: [AtomicU64; COMMIT_BUCKETS.len() + 1],
    sum_micros: AtomicU64,
    count: AtomicU64,
}

impl Histogram {
    fn observe(&self, took: Duration) {
        let seconds = took.as_secs_f64();
        let bucket = COMMIT_BUCKETS
            .iter()
            .position(|bound| seconds <= *bound)
            .unwrap_or(COMMIT_BUCKETS.len());
        self.buckets[bucket].fetch_add(1, Ordering::Relaxed);
        self.sum_micros.fetch_add(
            u64::try_from(took.as_micros()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
        self.count.fetch_add(1, Ordering::Relaxed);
    }

    fn render(&self, out: &mut String, name: &str, bounds: &[f64]) {
        let mut cumulative = 0u64;
        for (index, bound) in bounds.iter().enumerate() {
            cumulative += self.buckets[index].load(Ordering::Relaxed);
            sample(out, &format!("{name}_bucket{{le=\"{bound}\"}}"), cumulative);
        }
        cumulative += self.buckets[bounds.len()].load(Ordering::Relaxed);
        sample(out, &format!("{name}_bucket{{le=\"+Inf\"}}"), cumulative);
        #[allow(clippy::cast_precision_loss)] // microseconds: exact far beyond any uptime
        let sum = self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
        sample(out, &format!("{name}_sum"), sum);
        sample(out, &format!("{name}_count"), cumulative);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(text: &str, series: &str) -> Option<String> {
        text.lines()
            .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
            .map(str::to_owned)
    }

    #[test]
    fn counters_and_gauges_are_rendered_as_prometheus_text() {
        let metrics = Metrics::default();
        metrics.accepted();
        metrics.accepted();
        metrics.retried();
        metrics.refused("rate_limited");
        metrics.refused("rate_limited");
        metrics.refused("message_too_long");
        metrics.delivered(120);
        metrics.cut_off();
        let text = metrics.render(Gauges {
            websocket: 3,
            polling: 1,
            joined_users: 2,
        });
        assert_eq!(
            value(&text, "charla_connections{transport=\"websocket\"}").as_deref(),
            Some("3")
        );
        assert_eq!(
            value(&text, "charla_connections{transport=\"polling\"}").as_deref(),
            Some("1")
        );
        assert_eq!(value(&text, "charla_joined_users").as_deref(), Some("2"));
        assert_eq!(
            value(&text, "charla_messages_accepted_total").as_deref(),
            Some("2")
        );
        assert_eq!(
            value(&text, "charla_messages_retried_total").as_deref(),
            Some("1")
        );
        assert_eq!(
            value(
                &text,
                "charla_messages_refused_total{code=\"rate_limited\"}"
            )
            .as_deref(),
            Some("2")
        );
        assert_eq!(
            value(
                &text,
                "charla_messages_refused_total{code=\"message_too_long\"}"
            )
            .as_deref(),
            Some("1")
        );
        assert_eq!(
            value(&text, "charla_deliveries_total").as_deref(),
            Some("120")
        );
        assert_eq!(
            value(&text, "charla_queue_cutoffs_total").as_deref(),
            Some("1")
        );
        // Every family is declared once, before its samples.
        let mut declared = std::collections::HashSet::new();
        for line in text.lines().filter(|l| l.starts_with("# TYPE ")) {
            assert!(declared.insert(line.to_owned()), "{line} twice");
        }
    }

    #[test]
    fn the_commit_histogram_is_cumulative_with_sum_and_count() {
        let metrics = Metrics::default();
        metrics.committed(Duration::from_micros(50));
        metrics.committed(Duration::from_micros(700));
        metrics.committed(Duration::from_secs(3));
        let text = metrics.render(Gauges::default());
        let bucket = |le: &str| {
            value(
                &text,
                &format!("charla_store_commit_seconds_bucket{{le=\"{le}\"}}"),
            )
        };
        assert_eq!(bucket("0.0001").as_deref(), Some("1"));
        assert_eq!(bucket("0.0005").as_deref(), Some("1"));
        assert_eq!(bucket("0.001").as_deref(), Some("2"));
        assert_eq!(bucket("1").as_deref(), Some("2"));
        assert_eq!(bucket("+Inf").as_deref(), Some("3"));
        assert_eq!(
            value(&text, "charla_store_commit_seconds_count").as_deref(),
            Some("3")
        );
        assert_eq!(
            value(&text, "charla_store_commit_seconds_sum").as_deref(),
            Some("3.00075")
        );
    }
}
