//! `umbatch run`: the main job.

use super::inputs::{bundled, Common};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use umbatch::run::{lock, run, RunConfig, Verbosity};

/// Arguments of `run`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    common: Common,
    /// Output folder (created owner-only). Default: `out`.
    #[arg(long, default_value = "out")]
    out: PathBuf,
    /// Threads deciding requests (default: all cores). With 1 everything runs on one thread,
    /// in turn; with more, reading and writing also get a thread each and overlap with
    /// deciding. Outputs are identical whatever the number.
    #[arg(long)]
    jobs: Option<usize>,
    /// Move files that could not be used at all (unrecognised, empty, unreadable envelope)
    /// into this folder.
    #[arg(long)]
    quarantine: Option<PathBuf>,
    /// Only errors on stderr.
    #[arg(long, short, conflicts_with = "verbose")]
    quiet: bool,
    /// Also report each rejected transaction and row (positions and codes, never member data).
    #[arg(long, short)]
    verbose: bool,
    /// Reader chunk size in bytes. Decided results take about ten times the chunk, and a few
    /// chunks are in flight, so memory stays near 100x this whatever the input size.
    #[arg(long, default_value_t = 1 << 20, hide = true)]
    chunk_bytes: usize,
}

/// Runs `run`.
pub fn run_cmd(args: Args) -> anyhow::Result<ExitCode> {
    let usage = |e: anyhow::Error| -> anyhow::Result<ExitCode> {
        eprintln!("umbatch: error: {e:#}");
        Ok(ExitCode::from(2))
    };
    let evaluator = match args.common.evaluator() {
        Ok(e) => e,
        Err(e) => return usage(e),
    };
    let inputs = match args.common.files() {
        Ok(f) => f,
        Err(e) => return usage(e),
    };
    let b = bundled();
    let rosters = vec![
        args.common
            .eligibility
            .clone()
            .unwrap_or_else(|| b.join("reference/eligibility.csv")),
        args.common
            .providers
            .clone()
            .unwrap_or_else(|| b.join("reference/providers.csv")),
    ];
    let _lock = match lock(&args.out) {
        Ok(l) => l,
        Err(e) => return usage(e.into()),
    };
    let verbosity = if args.quiet {
        Verbosity::Quiet
    } else if args.verbose {
        Verbosity::Verbose
    } else {
        Verbosity::Normal
    };
    let jobs = args.jobs.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    });
    let cfg = RunConfig {
        inputs,
        out: args.out,
        jobs,
        quarantine: args.quarantine,
        lenient: args.common.lenient,
        verbosity,
        progress: std::io::stderr().is_terminal(),
        evaluator,
        rosters,
        chunk_bytes: args.chunk_bytes,
    };
    let summary = run(&cfg)?;
    Ok(ExitCode::from(summary.exit_code))
}
