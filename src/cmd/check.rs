//! `umbatch check FILE…`: validate X12 files and print every diagnostic.

use super::Format;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use umbatch::check::check_path;
use umbatch::x12::ReaderOptions;

/// Arguments of `check`. Files are recognised by content: X12 interchanges and fax-queue
/// exports are both validated.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// X12 files and fax-queue CSV exports to validate.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Accept an ISA whose padding is collapsed (not 106 characters) and other explainable
    /// envelope quirks, as warnings instead of errors.
    #[arg(long)]
    lenient: bool,
}

/// Runs `check`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut errors = 0usize;
    for path in &args.files {
        let opts = ReaderOptions {
            lenient: args.lenient,
            ..ReaderOptions::default()
        };
        let diags = check_path(path, opts).diagnostics.into_vec();
        for d in &diags {
            if d.is_error() {
                errors += 1;
            }
            match args.format {
                Format::Text => writeln!(out, "{d}")?,
                Format::Json => writeln!(out, "{}", serde_json::to_string(d)?)?,
            }
        }
    }
    out.flush()?;
    Ok(if errors > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
