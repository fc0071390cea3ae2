//! Helpers shared by the unit tests.

use crate::eval::Evaluator;
use std::path::Path;
use std::sync::Arc;

/// The bundled default policy and rosters, deciding as of 2026-11-20 17:00.
pub(crate) fn sample_evaluator() -> Evaluator {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
    let policy = crate::policy::load(&root.join("policies/default.toml")).expect("bundled policy");
    let (e, p) = crate::roster::load(
        &root.join("reference/eligibility.csv"),
        &root.join("reference/providers.csv"),
    )
    .expect("bundled rosters");
    let as_of = chrono::NaiveDate::from_ymd_opt(2026, 11, 20)
        .and_then(|d| d.and_hms_opt(17, 0, 0))
        .expect("valid as-of");
    Evaluator::new(Arc::new(policy), Arc::new(e), Arc::new(p), as_of)
}
