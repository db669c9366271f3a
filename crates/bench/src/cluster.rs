//! Cluster mode's cost, against a PostgreSQL the caller runs (`npm run bench:cluster` starts a
//! throwaway one): the fan-out scenario on one node on PostgreSQL against the same node on
//! `SQLite`, in alternating rounds (`SQLite`, PostgreSQL, `SQLite`, …), and the latency of
//! messages sent on one node and received on another at a fixed rate. Every delivery is
//! checked as in the comparison.
//!
//! On a two-core machine PostgreSQL, the node(s) and the generator share the cores: the ratio
//! measures what the shared database costs one node, not how a cluster scales.

use serde::Serialize;

use crate::error::{BenchError, Result};
use crate::ledger::Verdict;
use crate::load::{self, LoadResult, LoadSpec, Pace};
use crate::scenario::{self, Kind};
use crate::servers::{Launcher, Target};
use crate::stats::{Percentiles, Spread};

/// What is measured and how often.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Rounds of the fan-out pair.
    pub rounds: usize,
    /// Small and short (CI).
    pub quick: bool,
    /// Messages a second (in all) for the cross-node latency.
    pub rate: f64,
    /// How to start the nodes.
    pub launcher: Launcher,
}

/// What was seen.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Fan-out deliveries a second of each `SQLite` round.
    pub sqlite_fanout: Vec<f64>,
    /// Fan-out deliveries a second of each PostgreSQL round.
    pub postgres_fanout: Vec<f64>,
    /// Median PostgreSQL over median `SQLite`.
    pub ratio: f64,
    /// The cross-node run: senders on node A, receivers on node B.
    pub cross_node: CrossNode,
    /// Every delivery check that failed (empty when all passed).
    pub failures: Vec<String>,
}

/// The cross-node latency run.
#[derive(Debug, Clone, Serialize)]
pub struct CrossNode {
    /// Messages a second offered.
    pub rate: f64,
    /// Receivers on node B.
    pub receivers: usize,
    /// Send (on A) to receive (on B).
    pub latency: Percentiles,
    /// Messages a second that went through.
    pub messages_per_sec: f64,
}

/// Runs the plan, printing progress to stderr.
///
/// # Errors
/// A node that cannot be started or a load that cannot be set up.
pub async fn run(plan: &Plan) -> Result<Report> {
    let fanout = scenario::all(plan.quick)
        .into_iter()
        .find_map(|s| match (s.name, s.kind) {
            ("fanout", Kind::Load(spec)) => Some(spec),
            _ => None,
        })
        .ok_or_else(|| BenchError::Handshake("no fan-out scenario".into()))?;
    let mut failures = Vec::new();
    let mut sqlite_fanout = Vec::new();
    let mut postgres_fanout = Vec::new();
    for round in 1..=plan.rounds.max(1) {
        for target in [Target::Charla, Target::CharlaPostgres] {
            eprint!("round {round} · {:<18} · fanout … ", target.label());
            let launcher = fresh_database(&plan.launcher, &format!("fanout_{round}"))?;
            let node = launcher.start(target, "cluster-fanout").await?;
            let result = load::run(node.addr, target.flavor(), &fanout).await;
            node.terminate().await;
            let result = result?;
            eprintln!("{:.0} deliveries/s", result.deliveries_per_sec);
            check(
                &result,
                &format!("{} fanout", target.label()),
                &mut failures,
            );
            match target {
                Target::Charla => sqlite_fanout.push(result.deliveries_per_sec),
                _ => postgres_fanout.push(result.deliveries_per_sec),
            }
        }
    }
    let median = |v: &[f64]| Spread::of(v).map_or(0.0, |s| s.median);
    let ratio = median(&postgres_fanout) / median(&sqlite_fanout).max(f64::MIN_POSITIVE);

    let cross = LoadSpec {
        receivers: fanout.receivers,
        senders: fanout.senders,
        pace: Pace::Rate(plan.rate),
        warmup: fanout.warmup,
        measure: fanout.measure,
        latency: true,
    };
    eprint!(
        "cross-node · {} msg/s, senders on A, receivers on B … ",
        plan.rate
    );
    let launcher = fresh_database(&plan.launcher, "cross_node")?;
    let node_a = launcher.start(Target::CharlaPostgres, "cluster-a").await?;
    let node_b = launcher.start(Target::CharlaPostgres, "cluster-b").await?;
    let result = load::run_between(
        node_a.addr,
        node_b.addr,
        Target::CharlaPostgres.flavor(),
        &cross,
    )
    .await;
    node_a.terminate().await;
    node_b.terminate().await;
    let result = result?;
    eprintln!(
        "p50 {:.1} ms, p99 {:.1} ms",
        result.latency.p50_us / 1000.0,
        result.latency.p99_us / 1000.0
    );
    check(&result, "cross-node", &mut failures);
    Ok(Report {
        sqlite_fanout,
        postgres_fanout,
        ratio,
        cross_node: CrossNode {
            rate: plan.rate,
            receivers: cross.receivers,
            latency: result.latency,
            messages_per_sec: result.messages_per_sec,
        },
        failures,
    })
}

/// The launcher with a new, empty database `charla_bench_<name>` on its PostgreSQL (made with
/// `psql`): a run must not find the last one's messages (the load's senders reuse their names
/// and `clientId`s, which the store would take for retries and not store again).
fn fresh_database(launcher: &Launcher, name: &str) -> Result<Launcher> {
    let admin = launcher
        .postgres
        .clone()
        .ok_or_else(|| BenchError::Handshake("no PostgreSQL given (--postgres)".into()))?;
    let database = format!("charla_bench_{name}");
    let psql = std::env::var("CHARLA_TEST_PGBIN")
        .map_or_else(|_| "psql".into(), |bin| format!("{bin}/psql"));
    let out = std::process::Command::new(&psql)
        .arg(&admin)
        .args(["-v", "ON_ERROR_STOP=1", "-qc"])
        .arg(format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)"))
        .arg("-qc")
        .arg(format!("CREATE DATABASE {database}"))
        .output()
        .map_err(BenchError::io(format!("run {psql}")))?;
    if !out.status.success() {
        return Err(BenchError::Handshake(format!(
            "could not make {database}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    let (base, _) = admin
        .rsplit_once('/')
        .ok_or_else(|| BenchError::Handshake(format!("not a database URL: {admin}")))?;
    let mut fresh = launcher.clone();
    fresh.postgres = Some(format!("{base}/{database}"));
    Ok(fresh)
}

fn check(result: &LoadResult, what: &str, failures: &mut Vec<String>) {
    let verdict: &Verdict = &result.verdict;
    if !verdict.is_clean() {
        failures.push(format!("{what}: {verdict:?}"));
    }
}

impl Report {
    /// The table for people.
    #[must_use]
    pub fn markdown(&self, pinning: &str) -> String {
        let spread = |v: &[f64]| {
            Spread::of(v).map_or_else(
                || "—".to_owned(),
                |s| format!("{:.0} ({:.0}–{:.0})", s.median, s.min, s.max),
            )
        };
        format!(
            "| measure | result |\n|---|---|\n\
             | fan-out, one node on SQLite (deliveries/s, median (min–max)) | {} |\n\
             | fan-out, one node on PostgreSQL | {} |\n\
             | PostgreSQL / SQLite | {:.0}% |\n\
             | cross-node latency, {} msg/s, {} receivers on node B | p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms ({:.0} msg/s went through) |\n\n\
             {pinning}; PostgreSQL runs on the same machine, unpinned. On two cores these \
             figures are about overhead, not scaling: the database, the node(s) and the load \
             generator share the cores.\n",
            spread(&self.sqlite_fanout),
            spread(&self.postgres_fanout),
            self.ratio * 100.0,
            self.cross_node.rate,
            self.cross_node.receivers,
            self.cross_node.latency.p50_us / 1000.0,
            self.cross_node.latency.p99_us / 1000.0,
            self.cross_node.latency.max_us / 1000.0,
            self.cross_node.messages_per_sec,
        )
    }
}
