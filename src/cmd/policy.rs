//! `umbatch policy check P`: validate a policy and print what it requires, exempts,
//! auto-approves, denies and routes.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use umbatch::policy::{item_names, Outcome, Rule};

/// Arguments of `policy`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    action: Action,
}

#[derive(Debug, clap::Subcommand)]
enum Action {
    /// Validate a policy file; exit 0 when it can be used, 2 (with file:line: reason) when not.
    Check {
        /// The policy file (TOML).
        policy: PathBuf,
    },
}

fn effect(r: &Rule) -> String {
    let t = &r.then;
    let mut s = match t.outcome {
        Some(Outcome::NotRequired) => "exempts (not_required)".to_string(),
        Some(Outcome::Approved) if t.deemed => "deems approved".to_string(),
        Some(Outcome::Approved) => "auto-approves".to_string(),
        Some(Outcome::Modified) => "approves with changes".to_string(),
        Some(Outcome::Denied) => format!(
            "denies ({}, {})",
            t.reason.as_deref().unwrap_or("?"),
            t.denial_category.map(|c| c.as_str()).unwrap_or("?")
        ),
        Some(Outcome::Pended) => format!("pends ({})", t.reason.as_deref().unwrap_or("?")),
        Some(Outcome::Rejected) => format!(
            "rejects (AAA {} at {})",
            t.reason.as_deref().unwrap_or("?"),
            t.aaa_loop.as_deref().unwrap_or("?")
        ),
        Some(Outcome::ContactPayer) => "routes to the health plan (CT)".to_string(),
        None if t.require => "requires authorization".to_string(),
        None => String::new(),
    };
    if !t.flags.is_empty() {
        if !s.is_empty() {
            s.push_str("; ");
        }
        s.push_str(&format!("flags {}", t.flags.join(", ")));
    }
    if let Some(m) = r.when.missing {
        s.push_str(&format!(
            " when missing any of {}",
            item_names(m).join(", ")
        ));
    }
    s
}

/// Runs `policy`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let Action::Check { policy } = args.action;
    let p = match umbatch::policy::load(&policy) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("{e}");
            eprintln!("umbatch: policy refused: {} problem(s)", e.problems.len());
            return Ok(ExitCode::from(2));
        }
    };
    let mut out = std::io::stdout().lock();
    writeln!(out, "policy `{}`: {} ({})", p.id, p.name, p.file)?;
    if !p.description.is_empty() {
        writeln!(out, "  {}", p.description)?;
    }
    writeln!(out, "  sha256 {}", p.sha256)?;
    writeln!(
        out,
        "  services on no list: {}; default outcome: {}",
        if p.unlisted_not_required {
            "no authorization required"
        } else {
            "authorization required"
        },
        p.default_outcome
    )?;
    writeln!(
        out,
        "  automatic denials allowed for: {}",
        p.allowed_denials
            .iter()
            .map(|c| c.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    )?;
    let mut plans: Vec<_> = p.plans.iter().collect();
    plans.sort_by(|a, b| a.0.cmp(b.0));
    for (id, plan) in plans {
        writeln!(
            out,
            "  plan {id}: flags [{}] {}",
            plan.flags.join(", "),
            plan.description
        )?;
    }
    if let Some(v) = &p.validity {
        writeln!(
            out,
            "  [{}] certifications valid {} days{}",
            v.id,
            v.days,
            if v.cap_at_coverage_end {
                ", never past coverage end"
            } else {
                ""
            }
        )?;
    }
    for (name, _) in p.code_set_names.iter().zip(&p.code_sets) {
        writeln!(out, "  code list `{name}`")?;
    }
    writeln!(out, "clocks (first match sets due_by):")?;
    for k in &p.clocks {
        writeln!(
            out,
            "  [{}] line {}: {} {}",
            k.id, k.line, k.due, k.description
        )?;
    }
    writeln!(
        out,
        "rules (by stage, then file order; the first rule with an outcome decides):"
    )?;
    for r in &p.rules {
        writeln!(
            out,
            "  {:<12} [{}] line {}: {}{}",
            r.stage.as_str(),
            r.id,
            r.line,
            effect(r),
            if r.description.is_empty() {
                String::new()
            } else {
                format!(" — {}", r.description)
            }
        )?;
    }
    writeln!(
        out,
        "{} rules, {} clocks: ok",
        p.rules.len(),
        p.clocks.len()
    )?;
    Ok(ExitCode::SUCCESS)
}
