//! `umbatch-gen`: writes large, realistic, deterministic inputs for benchmarks and soak runs.
//!
//! Example: `cargo run --release --bin umbatch-gen -- x12 --transactions 1000000 --out big.x12`.

use clap::{Parser, Subcommand};
use std::io::BufWriter;
use std::path::PathBuf;
use umbatch::gen::{
    write_eligibility, write_fax, write_providers, write_x12, FaxGenOptions, X12GenOptions,
};

/// Generates benchmark inputs for umbatch.
#[derive(Debug, Parser)]
#[command(name = "umbatch-gen", version, about)]
struct Cli {
    #[command(subcommand)]
    what: What,
}

#[derive(Debug, Subcommand)]
enum What {
    /// A 278 request file: several interchanges, `~`+LF and `~`+CRLF layouts, mixed scenarios.
    X12 {
        /// Number of 278 requests.
        #[arg(long, default_value_t = 50_000)]
        transactions: u64,
        /// Requests per interchange.
        #[arg(long, default_value_t = 5_000)]
        per_interchange: u64,
        /// Random seed (same seed, same bytes).
        #[arg(long, default_value_t = 278)]
        seed: u64,
        /// Output file.
        #[arg(long)]
        out: PathBuf,
    },
    /// A fax-queue CSV export: mixed request types, both date styles, some malformed rows.
    Fax {
        /// Number of rows.
        #[arg(long, default_value_t = 10_000)]
        rows: u64,
        /// Percentage of malformed rows.
        #[arg(long, default_value_t = 1)]
        bad_rows_pct: u64,
        /// Random seed.
        #[arg(long, default_value_t = 1120)]
        seed: u64,
        /// Output file.
        #[arg(long)]
        out: PathBuf,
    },
    /// The sample rosters: `eligibility.csv` and `providers.csv` in a folder.
    Rosters {
        /// Output folder.
        #[arg(long)]
        out_dir: PathBuf,
    },
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().what {
        What::X12 {
            transactions,
            per_interchange,
            seed,
            out,
        } => {
            let f = std::fs::File::create(&out)?;
            let opts = X12GenOptions {
                transactions,
                per_interchange,
                seed,
                ..X12GenOptions::default()
            };
            let bytes = write_x12(BufWriter::with_capacity(1 << 20, f), &opts)?;
            eprintln!(
                "wrote {transactions} requests, {bytes} bytes to {}",
                out.display()
            );
        }
        What::Fax {
            rows,
            bad_rows_pct,
            seed,
            out,
        } => {
            let f = std::fs::File::create(&out)?;
            write_fax(
                BufWriter::with_capacity(1 << 20, f),
                &FaxGenOptions {
                    rows,
                    seed,
                    bad_rows_pct,
                },
            )?;
            eprintln!("wrote {rows} fax rows to {}", out.display());
        }
        What::Rosters { out_dir } => {
            std::fs::create_dir_all(&out_dir)?;
            write_eligibility(std::fs::File::create(out_dir.join("eligibility.csv"))?)?;
            write_providers(std::fs::File::create(out_dir.join("providers.csv"))?)?;
            eprintln!(
                "wrote eligibility.csv and providers.csv to {}",
                out_dir.display()
            );
        }
    }
    Ok(())
}
