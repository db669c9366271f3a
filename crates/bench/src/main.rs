//! `charla-bench`: measures charla-server side by side with the tutorial's Node server and a
//! raw tokio-tungstenite broadcast floor, checking every delivery on the way.
//!
//! `charla-bench compare` runs the comparison (see BENCHMARKS.md); `charla-bench rooms`
//! measures Charla's conversations (many rooms at once, a big history's pages and search);
//! `charla-bench cluster` what PostgreSQL costs a node and how long a message takes from one
//! node to another; `charla-bench abuse` what one abusive user (a search flood, room churn)
//! costs everyone else;
//! `charla-bench load` runs one scenario against a server already running (for profiling);
//! `charla-bench raw-server` is the floor server itself.

mod abuse;
mod archive;
mod cluster;
mod compare;
mod conn;
mod error;
mod flavor;
mod idle;
mod ledger;
mod load;
mod marker;
mod proc;
mod raw_server;
mod report;
mod rooms;
mod scenario;
mod servers;
mod stats;
mod storm;

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::error::{BenchError, Result};
use crate::flavor::Flavor;
use crate::servers::{Launcher, Target};

#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Runs every scenario against each server in turn and prints the table.
    Compare(CompareArgs),
    /// Runs one scenario against a server that is already running.
    Load(LoadArgs),
    /// Charla's conversations: many rooms at once, then a page and a search in a big history.
    Rooms(RoomsArgs),
    /// Cluster mode: a node on PostgreSQL against the same node on `SQLite`, and the latency
    /// from one node to another.
    Cluster(ClusterArgs),
    /// A reaction storm on one big room beside the same room's message fan-out.
    Reactions(ReactionsArgs),
    /// What one abusive user costs the others: a search flood beside a chatting bystander and
    /// `/healthz`, and one member's room churn as another member receives it.
    Abuse(AbuseArgs),
    /// The raw tokio-tungstenite broadcast server (the floor).
    RawServer {
        /// Port on 127.0.0.1.
        #[arg(long, env = "PORT")]
        port: u16,
    },
}

#[derive(clap::Args)]
struct CompareArgs {
    /// Rounds over all servers (A B C A B C …).
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Small N and short runs: seconds, for CI.
    #[arg(long)]
    quick: bool,
    /// Servers to run, in this order each round.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "charla,node,raw"
    )]
    targets: Vec<Target>,
    /// The charla-server binary (default: next to this one).
    #[arg(long)]
    charla_server: Option<PathBuf>,
    /// The Node reproduction of the tutorial's server.
    #[arg(long, default_value = "tests/interop/tutorial-server.mjs")]
    node_script: PathBuf,
    /// Logs and databases.
    #[arg(long, default_value = "target/bench")]
    work_dir: PathBuf,
    /// Only these scenarios (fanout, rate70, rate100, `small_room`, idle); all by default.
    #[arg(long, value_delimiter = ',')]
    scenarios: Vec<String>,
    /// Do not pin the servers to CPU 0 and the generator to CPU 1.
    #[arg(long)]
    no_pin: bool,
    /// Where to write the JSON report.
    #[arg(long, default_value = "target/bench/report.json")]
    json: PathBuf,
    /// Where to write the markdown table too.
    #[arg(long, default_value = "target/bench/report.md")]
    markdown: PathBuf,
}

#[derive(clap::Args)]
struct RoomsArgs {
    /// Small sizes and short runs: a check, for CI.
    #[arg(long)]
    quick: bool,
    /// Rooms, each with one sender.
    #[arg(long, default_value_t = 1000)]
    rooms: usize,
    /// Members per room.
    #[arg(long, default_value_t = 10)]
    members: usize,
    /// Messages a second each sender sends.
    #[arg(long, default_value_t = 10.0)]
    rate: f64,
    /// Seconds they send.
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
    /// Messages stored before pages and searches are timed.
    #[arg(long, default_value_t = 1_000_000)]
    messages: u64,
    /// Pages and searches timed (each).
    #[arg(long, default_value_t = 200)]
    queries: usize,
    /// The charla-server binary (default: next to this one).
    #[arg(long)]
    charla_server: Option<PathBuf>,
    /// Logs and databases.
    #[arg(long, default_value = "target/bench")]
    work_dir: PathBuf,
    /// Where to write the JSON report.
    #[arg(long, default_value = "target/bench/rooms.json")]
    json: PathBuf,
    /// Do not pin the server to CPU 0 and the generator to CPU 1.
    #[arg(long)]
    no_pin: bool,
}

#[derive(clap::Args)]
struct ReactionsArgs {
    /// Small sizes and short runs: a check, for CI.
    #[arg(long)]
    quick: bool,
    /// Members of the room.
    #[arg(long, default_value_t = 1000)]
    members: usize,
    /// Members that send (1 to 20).
    #[arg(long, default_value_t = 10)]
    senders: usize,
    /// Messages, then reactions, a second each sender sends.
    #[arg(long, default_value_t = 10.0)]
    rate: f64,
    /// Seconds of each phase.
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
    /// The charla-server binary (default: next to this one).
    #[arg(long)]
    charla_server: Option<PathBuf>,
    /// Logs and databases.
    #[arg(long, default_value = "target/bench")]
    work_dir: PathBuf,
    /// Where to write the JSON report.
    #[arg(long, default_value = "target/bench/reactions.json")]
    json: PathBuf,
    /// Do not pin the server to CPU 0 and the generator to CPU 1.
    #[arg(long)]
    no_pin: bool,
}

#[derive(clap::Args)]
struct ClusterArgs {
    /// The PostgreSQL the nodes share (`scripts/pg.sh` sets `CHARLA_TEST_DB`).
    #[arg(long, env = "CHARLA_TEST_DB")]
    postgres: String,
    /// Rounds of the fan-out pair (`SQLite`, PostgreSQL).
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Messages a second, in all, for the cross-node latency.
    #[arg(long, default_value_t = 100.0)]
    rate: f64,
    /// Small N and short runs: seconds, for CI.
    #[arg(long)]
    quick: bool,
    /// The charla-server binary (default: next to this one).
    #[arg(long)]
    charla_server: Option<PathBuf>,
    /// Logs and databases.
    #[arg(long, default_value = "target/bench")]
    work_dir: PathBuf,
    /// Where to write the JSON report.
    #[arg(long, default_value = "target/bench/cluster.json")]
    json: PathBuf,
    /// Where to write the markdown table too.
    #[arg(long, default_value = "target/bench/cluster.md")]
    markdown: PathBuf,
    /// Do not pin the nodes to CPU 0 and the generator to CPU 1.
    #[arg(long)]
    no_pin: bool,
}

#[derive(clap::Args)]
struct AbuseArgs {
    /// Small sizes and short runs: a check, for CI.
    #[arg(long)]
    quick: bool,
    /// Messages stored before the search flood.
    #[arg(long, default_value_t = 150_000)]
    messages: u64,
    /// Connections of the flooding name.
    #[arg(long, default_value_t = 6)]
    flooders: usize,
    /// Seconds of the bystander alone, then again of the flood, and of the churn.
    #[arg(long, default_value_t = 20.0)]
    seconds: f64,
    /// Messages a second the bystander sends.
    #[arg(long, default_value_t = 20.0)]
    rate: f64,
    /// Members of the churned room.
    #[arg(long, default_value_t = 250)]
    members: usize,
    /// Also run the search flood on this PostgreSQL (`scripts/pg.sh` sets `CHARLA_TEST_DB`).
    #[arg(long, env = "CHARLA_TEST_DB")]
    postgres: Option<String>,
    /// The charla-server binary (default: next to this one).
    #[arg(long)]
    charla_server: Option<PathBuf>,
    /// Logs and databases.
    #[arg(long, default_value = "target/bench")]
    work_dir: PathBuf,
    /// Where to write the JSON report.
    #[arg(long, default_value = "target/bench/abuse.json")]
    json: PathBuf,
    /// Do not pin the server to CPU 0 and the generator to CPU 1.
    #[arg(long)]
    no_pin: bool,
}

#[derive(clap::Args)]
struct LoadArgs {
    /// The server's address.
    #[arg(long, default_value = "127.0.0.1:3050")]
    addr: SocketAddr,
    /// Its dialect.
    #[arg(long, value_enum, default_value_t = Flavor::Charla)]
    flavor: Flavor,
    /// Scenario name (fanout, rate70, rate100, `small_room`).
    #[arg(long, default_value = "fanout")]
    scenario: String,
    /// Small sizes.
    #[arg(long)]
    quick: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::RawServer { port } => serve_raw(port),
        Command::Compare(args) => generator_runtime().and_then(|rt| rt.block_on(compare(args))),
        Command::Load(args) => generator_runtime().and_then(|rt| rt.block_on(load_one(args))),
        Command::Rooms(args) => generator_runtime().and_then(|rt| rt.block_on(conversations(args))),
        Command::Reactions(args) => {
            generator_runtime().and_then(|rt| rt.block_on(reaction_storm(args)))
        }
        Command::Cluster(args) => {
            generator_runtime().and_then(|rt| rt.block_on(cluster_cost(args)))
        }
        Command::Abuse(args) => generator_runtime().and_then(|rt| rt.block_on(abuse_cost(args))),
    };
    match outcome {
        Ok(code) => code,
        Err(e) => {
            eprintln!("charla-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The load generator runs on one thread: it is pinned to one CPU anyway, and a single thread
/// keeps its own overhead low and its measurements free of cross-thread wakeups.
fn generator_runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(BenchError::io("start the runtime"))
}

fn serve_raw(port: u16) -> Result<ExitCode> {
    // A multi-thread runtime, like charla-server's, sized by TOKIO_WORKER_THREADS.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(BenchError::io("start the runtime"))?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .map_err(BenchError::io(format!("listen on 127.0.0.1:{port}")))?;
        raw_server::serve(listener).await
    })?;
    Ok(ExitCode::SUCCESS)
}

/// What both comparisons start with: the open-files limit raised, the work folder made, this
/// binary and the charla-server one found (`given`, or next to this one).
fn prepare(work_dir: &std::path::Path, given: Option<&PathBuf>) -> Result<(u64, PathBuf, PathBuf)> {
    let open_files = proc::raise_open_files()?;
    std::fs::create_dir_all(work_dir)
        .map_err(BenchError::io(format!("create {}", work_dir.display())))?;
    let bench_exe = std::env::current_exe().map_err(BenchError::io("find this binary"))?;
    let charla_server = given
        .cloned()
        .unwrap_or_else(|| bench_exe.with_file_name("charla-server"));
    Ok((open_files, bench_exe, charla_server))
}

/// What the Charla-only benchmarks start with: [`prepare`], this generator pinned to CPU 1
/// when there are two CPUs (and `no_pin` is not set), and a launcher that pins servers to
/// CPU 0 then; the open-files limit, and whether pinning is on.
fn pinned_launcher(
    work_dir: &std::path::Path,
    given: Option<&PathBuf>,
    no_pin: bool,
    postgres: Option<String>,
) -> Result<(Launcher, u64, bool)> {
    let (open_files, bench_exe, charla_server) = prepare(work_dir, given)?;
    let pin = !no_pin && proc::cpu_count() >= 2 && proc::has_taskset();
    if pin {
        proc::pin_self(1)?;
    }
    let launcher = Launcher {
        charla_server,
        node_script: PathBuf::new(),
        bench_exe,
        server_cpu: pin.then_some(0),
        work_dir: work_dir.to_path_buf(),
        postgres,
    };
    Ok((launcher, open_files, pin))
}

async fn compare(args: CompareArgs) -> Result<ExitCode> {
    let (open_files, bench_exe, charla_server) =
        prepare(&args.work_dir, args.charla_server.as_ref())?;
    let pin = !args.no_pin && proc::cpu_count() >= 2 && proc::has_taskset();
    let pinning = if pin {
        proc::pin_self(1)?;
        "server on CPU 0 (taskset), load generator on CPU 1; tokio servers with one worker"
            .to_owned()
    } else {
        "not pinned".to_owned()
    };
    let plan = compare::Plan {
        rounds: args.rounds.max(1),
        quick: args.quick,
        targets: args.targets.clone(),
        only: args.scenarios.clone(),
        launcher: Launcher {
            charla_server,
            node_script: args.node_script.clone(),
            bench_exe,
            server_cpu: pin.then_some(0),
            work_dir: args.work_dir.clone(),
            postgres: None,
        },
        pinning,
    };
    eprintln!(
        "charla-bench compare: {} round(s){}, {}; open-files limit {open_files}",
        plan.rounds,
        if plan.quick { ", quick" } else { "" },
        plan.pinning
    );
    let report = compare::run(&plan).await?;
    let table = report.markdown();
    println!("{table}");
    write_file(&args.markdown, &table)?;
    write_file(&args.json, &serde_json::to_string_pretty(&report)?)?;
    eprintln!(
        "wrote {} and {}",
        args.markdown.display(),
        args.json.display()
    );
    let failures: Vec<_> = report.failures().collect();
    if failures.is_empty() {
        eprintln!("every delivery verified: nothing lost, duplicated or reordered");
        return Ok(ExitCode::SUCCESS);
    }
    eprintln!("\n!!! DELIVERY CHECKS FAILED !!!");
    for f in failures {
        eprintln!(
            "!!! round {} {} {}: {:?}",
            f.round,
            f.target.label(),
            f.scenario,
            f.verdict
        );
    }
    Ok(ExitCode::FAILURE)
}

/// `charla-bench rooms`: both parts, each against a fresh server, reported as a table and JSON;
/// exit status 1 when a delivery check failed.
async fn conversations(args: RoomsArgs) -> Result<ExitCode> {
    // As the comparison does: the server on CPU 0, this generator on CPU 1, when there are two.
    let (launcher, open_files, pin) = pinned_launcher(
        &args.work_dir,
        args.charla_server.as_ref(),
        args.no_pin,
        None,
    )?;
    let (spec, messages, queries) = if args.quick {
        let spec = rooms::Spec {
            rooms: 50,
            members: 5,
            rate: 5.0,
            seconds: 2.0,
        };
        (spec, 5_000, 20)
    } else {
        let spec = rooms::Spec {
            rooms: args.rooms,
            members: args.members.clamp(1, args.rooms.max(1)),
            rate: args.rate,
            seconds: args.seconds,
        };
        (spec, args.messages, args.queries)
    };
    eprintln!(
        "charla-bench rooms: {} rooms × {} members, {} msg/s each for {} s; then {messages} messages stored, {queries} pages and searches timed; {}; open-files limit {open_files}",
        spec.rooms, spec.members, spec.rate, spec.seconds,
        if pin { "server on CPU 0, generator on CPU 1" } else { "not pinned" }
    );
    let server = launcher.start(Target::Charla, "rooms").await?;
    let many = rooms::run(server.addr, spec).await;
    server.stop().await;
    let many = many?;
    eprintln!("{many:?}");
    let server = launcher.start(Target::Charla, "archive").await?;
    let big = archive::run(server.addr, messages, queries).await;
    server.stop().await;
    let big = big?;
    let ms = |us: f64| us / 1000.0;
    let table = format!(
        "| measure | result |\n|---|---|\n\
         | {} rooms × {} members, {} msg/s per room | {:.0} deliveries/s; {} of {} verified, {} crossed rooms, {} out of order; latency p50 {:.1} ms, p99 {:.1} ms |\n\
         | storing {} messages (10 rooms, 64 acks in flight) | {:.1} s, all searchable {:.1} s after the last ack |\n\
         | `history` page of 50, random depth | p50 {:.2} ms, p99 {:.2} ms |\n\
         | `search`, one or two words | p50 {:.2} ms, p99 {:.2} ms ({:.1} results on average) |\n",
        spec.rooms, spec.members, spec.rate, many.deliveries_per_sec, many.verified, many.expected,
        many.crossed, many.out_of_order, ms(many.latency.p50_us), ms(many.latency.p99_us),
        big.messages, big.fill_seconds, big.indexed_after, ms(big.history.p50_us), ms(big.history.p99_us),
        ms(big.search.p50_us), ms(big.search.p99_us), big.mean_results
    );
    println!("{table}");
    write_file(
        &args.json,
        &serde_json::to_string_pretty(&json_report(&spec, &many, &big))?,
    )?;
    if many.is_clean() {
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!("!!! DELIVERY CHECKS FAILED in the rooms scenario");
        Ok(ExitCode::FAILURE)
    }
}

/// `charla-bench reactions`: the storm against a fresh server (`SQLite`), as a table and JSON;
/// exit status 1 when a delivery check failed.
async fn reaction_storm(args: ReactionsArgs) -> Result<ExitCode> {
    let (launcher, open_files, pin) = pinned_launcher(
        &args.work_dir,
        args.charla_server.as_ref(),
        args.no_pin,
        None,
    )?;
    let spec = if args.quick {
        storm::Spec {
            members: 50,
            senders: 5,
            rate: 5.0,
            seconds: 2.0,
        }
    } else {
        storm::Spec {
            members: args.members,
            senders: args.senders,
            rate: args.rate,
            seconds: args.seconds,
        }
    };
    eprintln!(
        "charla-bench reactions: {} members, {} senders at {}/s each, {} s of messages then {} s of reactions; {}; open-files limit {open_files}",
        spec.members, spec.senders, spec.rate, spec.seconds, spec.seconds,
        if pin { "server on CPU 0, generator on CPU 1" } else { "not pinned" }
    );
    let server = launcher.start(Target::Charla, "reactions").await?;
    let outcome = storm::run(server.addr, server.pid, spec).await;
    server.stop().await;
    let outcome = outcome?;
    let row = |what: &str, p: &storm::Phase| {
        format!(
            "| {what} | {} | {:.0} | {} of {} | {} | {:.2} |\n",
            p.sent,
            p.deliveries_per_sec,
            p.delivered,
            p.expected,
            p.out_of_order,
            p.server_cpu_us_per_delivery
        )
    };
    println!(
        "| {} members, {} senders × {}/s, {} s | sent | deliveries/s | delivered | out of order | server CPU µs / delivery |\n|---|---|---|---|---|---|\n{}{}\nreactions / messages: {:.2}× the deliveries a second, {:.2}× the server's CPU per delivery",
        spec.members,
        spec.senders,
        spec.rate,
        spec.seconds,
        row("messages", &outcome.messages),
        row("reactions", &outcome.reactions),
        outcome.ratio(),
        outcome.cpu_ratio()
    );
    write_file(
        &args.json,
        &serde_json::to_string_pretty(&serde_json::json!({"spec": spec, "outcome": outcome}))?,
    )?;
    if outcome.is_clean() {
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!("!!! DELIVERY CHECKS FAILED in the reaction storm");
        Ok(ExitCode::FAILURE)
    }
}

/// `charla-bench cluster`: the table and JSON; exit status 1 when a delivery check failed.
async fn cluster_cost(args: ClusterArgs) -> Result<ExitCode> {
    let (launcher, open_files, pin) = pinned_launcher(
        &args.work_dir,
        args.charla_server.as_ref(),
        args.no_pin,
        Some(args.postgres.clone()),
    )?;
    let pinning = if pin {
        "nodes on CPU 0 (one tokio worker each), load generator on CPU 1"
    } else {
        "not pinned"
    };
    let plan = cluster::Plan {
        rounds: args.rounds,
        quick: args.quick,
        rate: args.rate,
        launcher,
    };
    eprintln!(
        "charla-bench cluster: {} round(s){}, {pinning}; open-files limit {open_files}",
        plan.rounds,
        if plan.quick { ", quick" } else { "" }
    );
    let report = cluster::run(&plan).await?;
    let table = report.markdown(pinning);
    println!("{table}");
    write_file(&args.markdown, &table)?;
    write_file(&args.json, &serde_json::to_string_pretty(&report)?)?;
    if report.failures.is_empty() {
        eprintln!("every delivery verified: nothing lost, duplicated or reordered");
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!("!!! DELIVERY CHECKS FAILED: {:?}", report.failures);
        Ok(ExitCode::FAILURE)
    }
}

/// `charla-bench abuse`: a search flood (on `SQLite`, and on PostgreSQL when given) and a
/// room churn, each against a fresh server; the table and JSON. Exit status 1 when a
/// bystander's message was refused or `/healthz` failed during the flood.
async fn abuse_cost(args: AbuseArgs) -> Result<ExitCode> {
    let (launcher, open_files, pin) = pinned_launcher(
        &args.work_dir,
        args.charla_server.as_ref(),
        args.no_pin,
        args.postgres.clone(),
    )?;
    let (flood, churn) = if args.quick {
        (
            abuse::FloodSpec {
                messages: 3_000,
                flooders: args.flooders,
                seconds: 3.0,
                rate: args.rate,
            },
            abuse::ChurnSpec {
                members: 20,
                seconds: 3.0,
            },
        )
    } else {
        (
            abuse::FloodSpec {
                messages: args.messages,
                flooders: args.flooders,
                seconds: args.seconds,
                rate: args.rate,
            },
            abuse::ChurnSpec {
                members: args.members,
                seconds: args.seconds,
            },
        )
    };
    eprintln!(
        "charla-bench abuse: {} messages, {} flooding connections, bystander at {} msg/s for {} s alone and {} s flooded; churn in a room of {}; {}; open-files limit {open_files}",
        flood.messages, flood.flooders, flood.rate, flood.seconds, flood.seconds, churn.members,
        if pin { "server on CPU 0, generator on CPU 1" } else { "not pinned" }
    );
    let mut targets = vec![Target::Charla];
    if args.postgres.is_some() {
        targets.push(Target::CharlaPostgres);
    }
    let mut floods = Vec::new();
    for target in targets {
        let server = launcher.start(target, "abuse-flood").await?;
        let outcome = abuse::search_flood(server.addr, flood).await;
        server.stop().await;
        let outcome = outcome?;
        eprintln!("{}: {outcome:?}", target.label());
        floods.push((target, outcome));
    }
    let server = launcher.start(Target::Charla, "abuse-churn").await?;
    let churned = abuse::room_churn(server.addr, churn).await;
    server.stop().await;
    let churned = churned?;
    let ms = |us: f64| us / 1000.0;
    let mut table = String::from("| measure | result |\n|---|---|\n");
    let mut healthy = true;
    for (target, f) in &floods {
        healthy &= f.health_failures == 0;
        let _ = write!(
            table,
            "| {}: bystander ack, {} msg/s, alone | p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms |\n\
             | {}: the same beside {} connections flooding searches ({} stored) | p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms |\n\
             | {}: the flood's searches | {} answered, {} refused for now (rate_limited), {} stopped at the budget, {} other |\n\
             | {}: `/healthz` during the flood | {} of {} not 200; slowest {:.0} ms |\n",
            target.label(), flood.rate, ms(f.baseline.p50_us), ms(f.baseline.p99_us), ms(f.baseline.max_us),
            target.label(), flood.flooders, f.messages, ms(f.flooded.p50_us), ms(f.flooded.p99_us), ms(f.flooded.max_us),
            target.label(), f.answered, f.busy, f.too_broad, f.other,
            target.label(), f.health_failures, f.health_checks, f.health_max_ms,
        );
    }
    let _ = writeln!(
        table,
        "| one member's churn in a room of {} (leave, join, topic in a loop) | {} requests, {} refused; another member receives {:.1} events/s, {:.0} bytes/s |",
        churn.members, churned.requests, churned.refused, churned.events_per_sec, churned.bytes_per_sec
    );
    println!("{table}");
    let report = serde_json::json!({
        "flood": floods.iter().map(|(t, f)| serde_json::json!({"target": t, "spec": flood, "outcome": f})).collect::<Vec<_>>(),
        "churn": { "spec": churn, "outcome": churned },
    });
    write_file(&args.json, &serde_json::to_string_pretty(&report)?)?;
    if healthy {
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!("!!! /healthz failed during the search flood");
        Ok(ExitCode::FAILURE)
    }
}

fn json_report(
    spec: &rooms::Spec,
    many: &rooms::Outcome,
    big: &archive::Outcome,
) -> serde_json::Value {
    serde_json::json!({ "rooms": { "spec": spec, "outcome": many }, "archive": big })
}

async fn load_one(args: LoadArgs) -> Result<ExitCode> {
    proc::raise_open_files()?;
    let scenario = scenario::all(args.quick)
        .into_iter()
        .find(|s| s.name == args.scenario)
        .ok_or_else(|| BenchError::Handshake(format!("no load scenario {}", args.scenario)))?;
    let scenario::Kind::Load(spec) = scenario.kind else {
        return Err(BenchError::Handshake(
            "the idle scenario needs `compare`".into(),
        ));
    };
    let result = load::run(args.addr, args.flavor, &spec).await?;
    println!("{}", serde_json::to_string_pretty(&result)?);
    Ok(if result.verdict.is_clean() {
        ExitCode::SUCCESS
    } else {
        eprintln!("!!! DELIVERY CHECKS FAILED: {:?}", result.verdict);
        ExitCode::FAILURE
    })
}

fn write_file(path: &std::path::Path, text: &str) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(BenchError::io(format!("create {}", dir.display())))?;
    }
    std::fs::write(path, text).map_err(BenchError::io(format!("write {}", path.display())))
}
