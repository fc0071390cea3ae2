//! The 278 model (requests and responses), its builder/validator and the 999 validator.

pub mod ack999;
pub mod build;
pub mod types;

pub use build::{read_278, Built, TxnContext};
pub use types::*;

use crate::x12::TransactionUnit;

/// The implementation convention umbatch decides.
pub const X217: &str = "005010X217";

/// What kind of transaction set a unit is, from ST01 and its convention.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxnClass {
    /// A 278 under 005010X217 (request or response; BHT02 tells which).
    Review278,
    /// A 999 under 005010X231A1 (or the older X231).
    Ack999,
    /// Anything else (X215, X216, 4010 X094, 275, 837…): passed over.
    Other,
}

/// Classifies a transaction unit by ST01 and ST03/GS08.
pub fn classify(unit: &TransactionUnit) -> TxnClass {
    match (unit.set_id.as_str(), unit.version()) {
        ("278", X217) => TxnClass::Review278,
        ("999", "005010X231A1" | "005010X231") => TxnClass::Ack999,
        _ => TxnClass::Other,
    }
}
