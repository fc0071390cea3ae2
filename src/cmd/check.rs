//! `umbatch check FILE…`: validate X12 files and print every diagnostic.

use super::Format;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use umbatch::check::{check_x12, io_diagnostic};
use umbatch::x12::ReaderOptions;

/// Arguments of `check`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// X12 files to validate.
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
        let name: Arc<str> = Arc::from(path.display().to_string());
        let opts = ReaderOptions {
            lenient: args.lenient,
            ..ReaderOptions::default()
        };
        let diags = match std::fs::File::open(path) {
            Ok(f) => match check_x12(std::io::BufReader::new(f), Arc::clone(&name), opts) {
                Ok(r) => r.diagnostics.into_vec(),
                Err(e) => vec![io_diagnostic(&name, &e)],
            },
            Err(e) => vec![io_diagnostic(&name, &e)],
        };
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
