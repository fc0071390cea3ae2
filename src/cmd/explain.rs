//! `umbatch explain --request ID …`: one request's decision with every rule that fired.

use super::inputs::Common;
use std::io::Write;
use std::process::ExitCode;
use umbatch::intake::{read_file, Intake};

/// Arguments of `explain`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The request id, as reports show it (`<file stem>:<ISA13>:<GS06>:<ST02>` or
    /// `<file stem>:<fax_id>`).
    #[arg(long)]
    request: String,
    #[command(flatten)]
    common: Common,
}

/// Runs `explain`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    // Configuration errors propagate to main, which exits with status 2.
    let ev = args.common.evaluator()?;
    let files = args.common.files()?;
    for f in files {
        let (_, items) = read_file(&f, args.common.lenient)?;
        for it in items {
            let Intake::Request(req) = it else { continue };
            if req.request_id != args.request {
                continue;
            }
            let d = ev.decide(&req);
            let mut out = std::io::stdout().lock();
            writeln!(out, "request {}", req.request_id)?;
            writeln!(
                out,
                "  source: {} {} ({})",
                req.provenance.kind, req.provenance.file, req.provenance.reference
            )?;
            writeln!(
                out,
                "  member: {}  plan: {}  product: {}",
                req.member_id,
                d.plan_id.as_deref().unwrap_or("-"),
                d.product.unwrap_or("-")
            )?;
            writeln!(
                out,
                "  request: {} {} {}  procedures {}  diagnoses {}  service {} to {}",
                req.category.as_str(),
                req.urgency.as_str(),
                if req.post_stabilization {
                    "post-stabilization"
                } else {
                    ""
                },
                req.procedure_codes.join(","),
                req.diagnosis_codes.join(","),
                req.service_from.map(|d| d.to_string()).unwrap_or_default(),
                req.service_to.map(|d| d.to_string()).unwrap_or_default()
            )?;
            writeln!(
                out,
                "  submitted {}  decided {}",
                req.submitted_at, d.decided_at
            )?;
            writeln!(
                out,
                "decision: {} ({})",
                d.outcome,
                d.hcr01.unwrap_or("AAA")
            )?;
            if let Some(code) = d.reason_code {
                writeln!(out, "  reason code: {code}")?;
            }
            writeln!(out, "  reason: {}", d.reason_text)?;
            if let Some(n) = &d.certification_number {
                writeln!(out, "  certification/tracking number: {n}")?;
            }
            if let (Some(a), Some(b)) = (d.valid_from, d.valid_to) {
                writeln!(out, "  valid {a} to {b}")?;
            }
            if let Some(due) = d.due_by {
                writeln!(
                    out,
                    "  due by {due} ({}){}",
                    d.clock_id.unwrap_or(""),
                    if d.past_due { " — PAST DUE" } else { "" }
                )?;
            }
            if !d.missing_items.is_empty() {
                writeln!(out, "  missing: {}", d.missing_items.join(", "))?;
            }
            if let Some(c) = d.denial_category {
                writeln!(
                    out,
                    "  denial category: {}  IMR eligible: {}",
                    c.as_str(),
                    d.imr_eligible
                        .map(|b| if b { "Y" } else { "N" })
                        .unwrap_or("-")
                )?;
            }
            if let Some(a) = &d.appeal_path {
                writeln!(out, "  appeal: {a}")?;
            }
            if let Some(r) = &d.rejection {
                writeln!(
                    out,
                    "  AAA at {}: reason {} follow-up {}",
                    r.loop_id, r.reason, r.follow_up
                )?;
            }
            if !d.flags.is_empty() {
                writeln!(out, "  flags: {}", d.flags.join(", "))?;
            }
            writeln!(out, "rules fired, in order:")?;
            for f in &d.rules_fired {
                writeln!(out, "  [{}] {}: {}", f.id, f.stage, f.effect)?;
            }
            for (l, req_line) in d.lines.iter().zip(&req.lines) {
                writeln!(
                    out,
                    "  line {} {}: {} {}",
                    l.line,
                    req_line.procedure,
                    l.outcome,
                    l.hcr01.unwrap_or("")
                )?;
            }
            return Ok(ExitCode::SUCCESS);
        }
    }
    eprintln!(
        "umbatch: no request with id `{}` in the inputs",
        args.request
    );
    Ok(ExitCode::from(1))
}
