//! Command-line definition (clap derive) and dispatch to one module per subcommand.

mod check;
mod explain;
mod inputs;
mod inspect;
mod policy;
mod run;

use clap::{Parser, Subcommand, ValueEnum};
use std::process::ExitCode;

/// Batch processor for X12 278 prior-authorization requests and faxed authorization forms.
///
/// Exit status: 0 when every input was processed as submitted; 1 when some input could not be
/// (a malformed file, interchange, group, transaction or CSV row); 2 on a usage or configuration
/// error, before anything is written.
#[derive(Debug, Parser)]
#[command(name = "umbatch", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Output format of diagnostics.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum Format {
    /// One line per diagnostic: `file:byte N: severity[code]: message (positions; ack code)`.
    Text,
    /// One JSON object per diagnostic, one per line.
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// The main job: read every input (files or folders; default: the bundled samples), decide
    /// every request, write 278 responses, 999/TA1 acknowledgments, reports, summary.json and
    /// run.json under --out.
    ///
    /// Exit status: 0 when every input was processed as submitted (denials, pends and AAA
    /// rejections are normal business); 1 when some file, interchange, group, transaction or
    /// CSV row was malformed, rejected by a 999/TA1 or quarantined; 2 on a usage or
    /// configuration error (bad policy or roster, output folder locked by another run), before
    /// anything is written; 2 also when an output cannot be written (a full disk): the run stops
    /// at once, the outputs of inputs already finished stay, and run.json, summary.json and the
    /// reports are not written.
    Run(run::Args),
    /// Validate X12 files and fax-queue CSV exports without deciding anything: one line per
    /// diagnostic.
    ///
    /// Exits 0 when no file holds an error (warnings and notes, such as a 999 or an X216
    /// notification that is passed over, are not errors), 1 when any error was found.
    Check(check::Args),
    /// Print the parsed 278 transactions of a file as JSON, one object per transaction.
    Inspect(inspect::Args),
    /// The decision for one request with every rule that fired and why.
    Explain(explain::Args),
    /// Policy files: `umbatch policy check P` validates one and summarises it.
    Policy(policy::Args),
}

/// Runs the chosen subcommand.
pub fn dispatch(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Run(a) => run::run_cmd(a),
        Command::Check(a) => check::run(a),
        Command::Inspect(a) => inspect::run(a),
        Command::Policy(a) => policy::run(a),
        Command::Explain(a) => explain::run(a),
    }
}
