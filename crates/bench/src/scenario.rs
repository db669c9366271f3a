//! The four scenarios, at full size or `--quick` size.

use std::time::Duration;

use serde::Serialize;

use crate::load::{LoadSpec, Pace};

/// One scenario of the comparison.
#[derive(Debug, Clone, Serialize)]
pub struct Scenario {
    /// Short name, used in tags and JSON.
    pub name: &'static str,
    /// What it measures, for the table.
    pub title: String,
    /// What is done.
    pub kind: Kind,
}

/// Traffic or idle connections.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A load run.
    Load(LoadSpec),
    /// This many idle connections.
    Idle(usize),
}

/// The scenarios: full size, or small and short for CI.
#[must_use]
pub fn all(quick: bool) -> Vec<Scenario> {
    let (receivers, senders, warmup, measure, idle, small_rate) = if quick {
        (
            50,
            4,
            Duration::from_millis(200),
            Duration::from_millis(600),
            300,
            500.0,
        )
    } else {
        (
            1000,
            10,
            Duration::from_secs(1),
            Duration::from_secs(5),
            5_000,
            1000.0,
        )
    };
    let rate = |name: &'static str, per_sec: f64| Scenario {
        name,
        title: format!("{per_sec} msg/s × {receivers} receivers"),
        kind: Kind::Load(LoadSpec {
            receivers,
            senders,
            pace: Pace::Rate(if quick { per_sec / 5.0 } else { per_sec }),
            warmup,
            measure,
            latency: true,
        }),
    };
    vec![
        Scenario {
            name: "fanout",
            title: format!("fan-out, {receivers} receivers, {senders} senders × 8 in flight"),
            kind: Kind::Load(LoadSpec {
                receivers,
                senders,
                pace: Pace::Window(8),
                warmup,
                measure,
                latency: false,
            }),
        },
        rate("rate70", 70.0),
        rate("rate100", 100.0),
        Scenario {
            name: "small_room",
            title: format!("small room, 10 receivers, 1 sender at {small_rate} msg/s"),
            kind: Kind::Load(LoadSpec {
                receivers: 10,
                senders: 1,
                pace: Pace::Rate(small_rate),
                warmup,
                measure,
                latency: true,
            }),
        },
        Scenario {
            name: "idle",
            title: format!("{idle} joined idle users"),
            kind: Kind::Idle(idle),
        },
    ]
}
