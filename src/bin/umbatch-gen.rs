//! Placeholder replaced by the generator below in the same change set.
fn main() {}
