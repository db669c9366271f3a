//! `charla-bench`: measures charla-server side by side with the tutorial's Node server and a
//! raw tokio-tungstenite broadcast floor, checking every delivery on the way.
//!
//! `charla-bench compare` runs the comparison (see BENCHMARKS.md); `charla-bench load` runs
//! one scenario against a server already running (for profiling); `charla-bench raw-server`
//! is the floor server itself.

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
mod scenario;
mod servers;
mod stats;

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

async fn compare(args: CompareArgs) -> Result<ExitCode> {
    let open_files = proc::raise_open_files()?;
    std::fs::create_dir_all(&args.work_dir).map_err(BenchError::io(format!(
        "create {}",
        args.work_dir.display()
    )))?;
    let bench_exe = std::env::current_exe().map_err(BenchError::io("find this binary"))?;
    let charla_server = args
        .charla_server
        .clone()
        .unwrap_or_else(|| bench_exe.with_file_name("charla-server"));
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
