//! Shared by the benches: the bundled default policy and rosters at a fixed as-of time.

use umbatch::eval::Evaluator;

/// The evaluator every bench uses (the one the unit tests use too).
pub fn evaluator() -> Evaluator {
    umbatch::test_support::sample_evaluator().expect("the bundled samples")
}
