//! Arguments shared by `run` and `explain`: inputs, policy, rosters and the as-of time.

use anyhow::{anyhow, Context};
use chrono::NaiveDateTime;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use umbatch::eval::Evaluator;

/// Inputs, policy, rosters, time.
#[derive(Debug, Clone, clap::Args)]
pub struct Common {
    /// Input files or folders (a folder means every file in it). Default: the bundled samples
    /// (`samples/x12` and `samples/fax`).
    pub inputs: Vec<PathBuf>,
    /// Policy file (TOML). Default: the bundled `samples/policies/default.toml`.
    #[arg(long)]
    pub policy: Option<PathBuf>,
    /// Eligibility roster (CSV). Default: `samples/reference/eligibility.csv`.
    #[arg(long)]
    pub eligibility: Option<PathBuf>,
    /// Provider roster (CSV). Default: `samples/reference/providers.csv`.
    #[arg(long)]
    pub providers: Option<PathBuf>,
    /// Processing time ("now"): `YYYY-MM-DDTHH:MM[:SS]`, `YYYY-MM-DD HH:MM` or a date. Default:
    /// the wall clock. Give it to make a run reproducible.
    #[arg(long)]
    pub as_of: Option<String>,
    /// Accept an ISA whose padding is collapsed, as a warning.
    #[arg(long)]
    pub lenient: bool,
}

/// The folder holding the bundled samples: `./samples` when present, else the source tree's.
pub fn bundled() -> PathBuf {
    let here = Path::new("samples");
    if here.join("policies/default.toml").is_file() {
        here.to_path_buf()
    } else {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("samples")
    }
}

/// Parses `--as-of`.
pub fn parse_as_of(s: Option<&str>) -> anyhow::Result<NaiveDateTime> {
    match s {
        None => Ok(chrono::Local::now().naive_local().with_nanosecond_zero()),
        Some(s) => {
            let t = s.replace('T', " ");
            umbatch::csvutil::parse_timestamp(&t).ok_or_else(|| {
                anyhow!("--as-of `{s}` is not a time: write YYYY-MM-DDTHH:MM[:SS] or YYYY-MM-DD")
            })
        }
    }
}

trait NoNanos {
    fn with_nanosecond_zero(self) -> Self;
}
impl NoNanos for NaiveDateTime {
    fn with_nanosecond_zero(self) -> Self {
        use chrono::Timelike;
        self.with_nanosecond(0).unwrap_or(self)
    }
}

impl Common {
    /// The input files, folders expanded, sorted, in argument order.
    pub fn files(&self) -> anyhow::Result<Vec<PathBuf>> {
        let inputs = if self.inputs.is_empty() {
            let b = bundled();
            vec![b.join("x12"), b.join("fax")]
        } else {
            self.inputs.clone()
        };
        let mut out = Vec::new();
        for i in inputs {
            if i.is_dir() {
                let mut v: Vec<PathBuf> = std::fs::read_dir(&i)
                    .with_context(|| format!("cannot list `{}`", i.display()))?
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.is_file())
                    .collect();
                v.sort();
                out.extend(v);
            } else if i.exists() {
                out.push(i);
            } else {
                return Err(anyhow!("input `{}` does not exist", i.display()));
            }
        }
        Ok(out)
    }

    /// Loads the policy and rosters and builds the evaluator.
    pub fn evaluator(&self) -> anyhow::Result<Evaluator> {
        let b = bundled();
        let policy_path = self
            .policy
            .clone()
            .unwrap_or_else(|| b.join("policies/default.toml"));
        let policy =
            umbatch::policy::load(&policy_path).map_err(|e| anyhow!("policy refused:\n{e}"))?;
        let el = self
            .eligibility
            .clone()
            .unwrap_or_else(|| b.join("reference/eligibility.csv"));
        let pr = self
            .providers
            .clone()
            .unwrap_or_else(|| b.join("reference/providers.csv"));
        let (eligibility, providers) = umbatch::roster::load(&el, &pr)?;
        Ok(Evaluator::new(
            Arc::new(policy),
            Arc::new(eligibility),
            Arc::new(providers),
            parse_as_of(self.as_of.as_deref())?,
        ))
    }
}
