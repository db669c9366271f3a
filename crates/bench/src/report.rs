//! The comparison's results: every sample, medians with their spread, and the markdown table.

use std::fmt::Write as _;

use serde::Serialize;

use crate::ledger::Verdict;
use crate::servers::Target;
use crate::stats::Spread;

/// One measured number of one run.
#[derive(Debug, Clone, Serialize)]
pub struct Sample {
    /// Round number, from 1.
    pub round: usize,
    /// Which server.
    pub target: Target,
    /// Which metric (see [`METRICS`]).
    pub metric: &'static str,
    /// Its value.
    pub value: f64,
}

/// A run's correctness check.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    /// Round number.
    pub round: usize,
    /// Which server.
    pub target: Target,
    /// Which scenario.
    pub scenario: &'static str,
    /// What the ledgers said.
    pub verdict: Verdict,
}

/// Metric key, table label, unit, and whether larger is better.
pub const METRICS: &[(&str, &str, Unit)] = &[
    (
        "fanout_deliveries_per_sec",
        "fan-out deliveries/s",
        Unit::PerSec,
    ),
    ("rate70_p50_us", "p50 at 70 msg/s × N", Unit::Micros),
    ("rate70_p99_us", "p99 at 70 msg/s × N", Unit::Micros),
    ("rate100_p50_us", "p50 at 100 msg/s × N", Unit::Micros),
    ("rate100_p99_us", "p99 at 100 msg/s × N", Unit::Micros),
    ("rate100_max_us", "max at 100 msg/s × N", Unit::Micros),
    ("small_room_p50_us", "small room p50", Unit::Micros),
    ("small_room_p99_us", "small room p99", Unit::Micros),
    (
        "idle_bytes_per_connection",
        "idle memory per connection",
        Unit::Bytes,
    ),
];

/// How a metric is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// A rate.
    PerSec,
    /// A duration in microseconds.
    Micros,
    /// A size in bytes.
    Bytes,
}

impl Unit {
    fn show(self, v: f64) -> String {
        match self {
            Self::PerSec if v >= 1e6 => format!("{:.2} M", v / 1e6),
            Self::PerSec if v >= 1e3 => format!("{:.1} k", v / 1e3),
            Self::PerSec => format!("{v:.0}"),
            Self::Micros if v >= 1000.0 => format!("{:.1} ms", v / 1000.0),
            Self::Micros => format!("{v:.0} µs"),
            Self::Bytes => format!("{:.1} KB", v / 1000.0),
        }
    }
}

/// Everything a comparison produced.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Rounds run.
    pub rounds: usize,
    /// Whether this was the `--quick` mode.
    pub quick: bool,
    /// Where the servers and the generator ran.
    pub pinning: String,
    /// What was measured, per scenario.
    pub scenarios: Vec<crate::scenario::Scenario>,
    /// Servers, in the order they were run each round.
    pub targets: Vec<Target>,
    /// Every measured value.
    pub samples: Vec<Sample>,
    /// Every correctness check.
    pub checks: Vec<Check>,
}

impl Report {
    /// The spread of one metric for one server.
    #[must_use]
    pub fn spread(&self, target: Target, metric: &str) -> Option<Spread> {
        let values: Vec<f64> = self
            .samples
            .iter()
            .filter(|s| s.target == target && s.metric == metric)
            .map(|s| s.value)
            .collect();
        Spread::of(&values)
    }

    /// Checks that lost, repeated or reordered something.
    pub fn failures(&self) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(|c| !c.verdict.is_clean())
    }

    /// The markdown table: medians (min–max) per server, and Charla's ratios.
    #[must_use]
    pub fn markdown(&self) -> String {
        let mut out = String::new();
        let mut header = String::from("| metric |");
        let mut rule = String::from("|---|");
        for t in &self.targets {
            let _ = write!(header, " {} |", t.label());
            rule.push_str("---|");
        }
        let ratios: Vec<Target> = [Target::Node, Target::Raw]
            .into_iter()
            .filter(|t| self.targets.contains(t) && self.targets.contains(&Target::Charla))
            .collect();
        for t in &ratios {
            let _ = write!(header, " Charla / {} |", t.label());
            rule.push_str("---|");
        }
        let _ = writeln!(out, "{header}\n{rule}");
        for (key, label, unit) in METRICS {
            let mut row = format!("| {label} |");
            for t in &self.targets {
                match self.spread(*t, key) {
                    Some(s) if self.rounds > 1 => {
                        let _ = write!(
                            row,
                            " {} ({}–{}) |",
                            unit.show(s.median),
                            unit.show(s.min),
                            unit.show(s.max)
                        );
                    }
                    Some(s) => {
                        let _ = write!(row, " {} |", unit.show(s.median));
                    }
                    None => row.push_str(" – |"),
                }
            }
            for t in &ratios {
                let ratio = self
                    .spread(Target::Charla, key)
                    .zip(self.spread(*t, key))
                    .filter(|(_, other)| other.median > 0.0)
                    .map(|(c, other)| c.median / other.median);
                match ratio {
                    Some(r) => {
                        let _ = write!(row, " {r:.2}× |");
                    }
                    None => row.push_str(" – |"),
                }
            }
            let _ = writeln!(out, "{row}");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(round: usize, target: Target, value: f64) -> Sample {
        Sample {
            round,
            target,
            metric: "fanout_deliveries_per_sec",
            value,
        }
    }

    #[test]
    fn table_has_medians_spreads_and_ratios() {
        let report = Report {
            rounds: 3,
            quick: false,
            pinning: String::new(),
            scenarios: Vec::new(),
            targets: vec![Target::Charla, Target::Node, Target::Raw],
            samples: vec![
                sample(1, Target::Charla, 2.0e6),
                sample(2, Target::Charla, 1.8e6),
                sample(3, Target::Charla, 2.2e6),
                sample(1, Target::Node, 1.0e5),
                sample(2, Target::Node, 1.0e5),
                sample(3, Target::Node, 1.0e5),
                sample(1, Target::Raw, 4.0e6),
                sample(2, Target::Raw, 4.0e6),
                sample(3, Target::Raw, 4.0e6),
            ],
            checks: Vec::new(),
        };
        let table = report.markdown();
        let row = table
            .lines()
            .find(|l| l.starts_with("| fan-out"))
            .expect("fan-out row");
        assert!(row.contains("2.00 M (1.80 M–2.20 M)"), "{row}");
        assert!(row.contains("20.00×"), "{row}");
        assert!(row.contains("0.50×"), "{row}");
        assert!(table.contains("| p99 at 70 msg/s × N | – |"), "{table}");
    }
}
