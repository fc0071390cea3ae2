//! Helpers shared by the unit tests and the benches (hidden from the documentation: not part
//! of the library's interface).

use crate::eval::Evaluator;
use std::path::Path;
use std::sync::Arc;

/// The bundled default policy and rosters, deciding as of 2026-11-20 17:00. Fails only
/// when the checkout lacks its samples.
pub fn sample_evaluator() -> Result<Evaluator, Box<dyn std::error::Error + Send + Sync>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
    let policy = crate::policy::load(&root.join("policies/default.toml"))?;
    let (e, p) = crate::roster::load(
        &root.join("reference/eligibility.csv"),
        &root.join("reference/providers.csv"),
    )?;
    let as_of = chrono::NaiveDate::from_ymd_opt(2026, 11, 20)
        .and_then(|d| d.and_hms_opt(17, 0, 0))
        .ok_or("the fixed as-of time is a valid date")?;
    Ok(Evaluator::new(
        Arc::new(policy),
        Arc::new(e),
        Arc::new(p),
        as_of,
    ))
}
