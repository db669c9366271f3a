//! The comparison: each server in turn (A B C A B C …), every scenario on a fresh process.

use crate::error::Result;
use crate::report::{Check, Report, Sample};
use crate::scenario::{Kind, Scenario};
use crate::servers::{Launcher, Target};
use crate::{idle, load};

/// How a comparison is run.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Rounds over every server.
    pub rounds: usize,
    /// Small and short (CI).
    pub quick: bool,
    /// Servers, in turn.
    pub targets: Vec<Target>,
    /// Only scenarios with these names (all when empty).
    pub only: Vec<String>,
    /// How to start them.
    pub launcher: Launcher,
    /// Where the processes run, for the report.
    pub pinning: String,
}

/// Runs the plan, printing progress to stderr.
///
/// # Errors
/// A server that cannot be started or a load that cannot be set up; lost or reordered messages
/// are not errors here but land in the report's checks.
pub async fn run(plan: &Plan) -> Result<Report> {
    let scenarios: Vec<Scenario> = crate::scenario::all(plan.quick)
        .into_iter()
        .filter(|s| plan.only.is_empty() || plan.only.iter().any(|o| o == s.name))
        .collect();
    let mut report = Report {
        rounds: plan.rounds,
        quick: plan.quick,
        pinning: plan.pinning.clone(),
        scenarios: scenarios.clone(),
        targets: plan.targets.clone(),
        samples: Vec::new(),
        checks: Vec::new(),
    };
    for round in 1..=plan.rounds {
        for &target in &plan.targets {
            for scenario in &scenarios {
                eprint!(
                    "round {round}/{} · {:<13} · {:<10} … ",
                    plan.rounds,
                    target.label(),
                    scenario.name
                );
                let measured = measure(plan, round, target, scenario, &mut report).await;
                match measured {
                    Ok(summary) => eprintln!("{summary}"),
                    Err(e) => {
                        eprintln!("failed");
                        return Err(e);
                    }
                }
            }
        }
    }
    Ok(report)
}

async fn measure(
    plan: &Plan,
    round: usize,
    target: Target,
    scenario: &Scenario,
    report: &mut Report,
) -> Result<String> {
    let tag = format!("r{round}-{target:?}-{}", scenario.name).to_lowercase();
    let server = plan.launcher.start(target, &tag).await?;
    let mut push = |metric: &'static str, value: f64| {
        report.samples.push(Sample {
            round,
            target,
            metric,
            value,
        });
    };
    let outcome = match &scenario.kind {
        Kind::Load(spec) => match load::run(server.addr, target.flavor(), spec).await {
            Ok(result) => {
                let lat = result.latency;
                match scenario.name {
                    "fanout" => push("fanout_deliveries_per_sec", result.deliveries_per_sec),
                    "rate70" => {
                        push("rate70_p50_us", lat.p50_us);
                        push("rate70_p99_us", lat.p99_us);
                    }
                    "rate100" => {
                        push("rate100_p50_us", lat.p50_us);
                        push("rate100_p99_us", lat.p99_us);
                        push("rate100_max_us", lat.max_us);
                    }
                    _ => {
                        push("small_room_p50_us", lat.p50_us);
                        push("small_room_p99_us", lat.p99_us);
                    }
                }
                let summary = format!(
                    "{:.0} deliveries/s, {:.0} msg/s, p50 {} µs p99 {} µs max {} µs; {}",
                    result.deliveries_per_sec,
                    result.messages_per_sec,
                    lat.p50_us,
                    lat.p99_us,
                    lat.max_us,
                    verdict_line(&result.verdict)
                );
                report.checks.push(Check {
                    round,
                    target,
                    scenario: scenario.name,
                    verdict: result.verdict,
                });
                Ok(summary)
            }
            Err(e) => Err(e),
        },
        Kind::Idle(count) => {
            match idle::run(server.addr, server.pid, target.flavor(), *count).await {
                Ok(result) => {
                    push("idle_bytes_per_connection", result.bytes_per_connection);
                    Ok(format!(
                        "{:.0} bytes per connection ({} → {} bytes RSS)",
                        result.bytes_per_connection, result.rss_before, result.rss_after
                    ))
                }
                Err(e) => Err(e),
            }
        }
    };
    server.stop().await;
    outcome
}

fn verdict_line(v: &crate::ledger::Verdict) -> String {
    if v.is_clean() {
        format!(
            "{} deliveries verified, none lost/duplicated/reordered",
            v.delivered
        )
    } else {
        format!(
            "FAILED: {} dropped, {} duplicated, {} reordered, {} order disagreements, {} refused (of {} expected)",
            v.dropped, v.duplicated, v.reordered, v.order_disagreements, v.refused, v.expected
        )
    }
}
