//! `umbatch inspect FILE`: the parsed transactions as JSON, one object per transaction.

use serde_json::json;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use umbatch::check::context;
use umbatch::model::{classify, read_278, TxnClass};
use umbatch::x12::{Item, ReaderOptions, Segment, X12Reader};

/// Arguments of `inspect`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The X12 file.
    file: PathBuf,
    /// Accept an ISA with collapsed padding.
    #[arg(long)]
    lenient: bool,
    /// One compact JSON object per line instead of a pretty-printed array.
    #[arg(long)]
    lines: bool,
}

/// Runs `inspect`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let name: Arc<str> = Arc::from(args.file.display().to_string());
    let f = std::fs::File::open(&args.file)
        .map_err(|e| anyhow::anyhow!("cannot open `{name}`: {e}"))?;
    let opts = ReaderOptions {
        lenient: args.lenient,
        ..ReaderOptions::default()
    };
    let mut reader = X12Reader::new(std::io::BufReader::new(f), Arc::clone(&name), opts);
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut first = true;
    let mut errors = false;
    if !args.lines {
        writeln!(out, "[")?;
    }
    while let Some(chunk) = reader.next_chunk()? {
        for item in &chunk.items {
            let Item::Transaction(unit) = item else {
                continue;
            };
            let segments: Vec<Segment<'_>> = unit.segments(&chunk).collect();
            let serde_json::Value::Object(mut obj) = json!({
                "file": &*name,
                "interchange": unit.interchange.header.control_number,
                "group": unit.group.as_ref().map(|g| g.control_number.clone()),
                "transaction": unit.control_number,
                "byte_offset": unit.offset,
                "set_id": unit.set_id,
                "version": unit.version(),
            }) else {
                continue;
            };
            let mut diags = unit.diagnostics.clone();
            if unit.interchange.rejected.is_some() {
                obj.insert(
                    "rejected".into(),
                    json!("the interchange header is in error"),
                );
            } else if classify(unit) == TxnClass::Review278 {
                let built = read_278(&segments, &context(&name, unit));
                obj.insert("model".into(), serde_json::to_value(&built.transaction)?);
                diags.extend(built.diagnostics);
            } else {
                obj.insert("passed_over".into(), json!("not a 278 X217 transaction"));
            }
            errors |= diags.iter().any(|d| d.is_error());
            if !diags.is_empty() {
                obj.insert("diagnostics".into(), serde_json::to_value(&diags)?);
            }
            if args.lines {
                writeln!(out, "{}", serde_json::to_string(&obj)?)?;
            } else {
                if !first {
                    writeln!(out, ",")?;
                }
                write!(out, "{}", serde_json::to_string_pretty(&obj)?)?;
            }
            first = false;
        }
    }
    if !args.lines {
        writeln!(out, "\n]")?;
    }
    out.flush()?;
    Ok(if errors {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
