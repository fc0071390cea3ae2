//! umbatch: a batch processor for X12 278 prior-authorization requests and faxed requests.
//!
//! The library holds the work; the `umbatch` binary is glue. Layers, from bytes to outputs:
//! - [`x12`]: delimiters, zero-copy segments and the streaming envelope reader;
//! - [`model`]: the 278 (and 999) models built from segments, with structure validation;
//! - [`check`]: walking a file and collecting every diagnostic;
//! - [`diag`]: the one diagnostic type, with positions and acknowledgment codes.

pub mod calendar;
pub mod check;
pub mod csvutil;
pub mod diag;
pub mod distinct;
pub mod eval;
pub mod fax;
pub mod gen;
pub mod intake;
pub mod model;
pub mod policy;
pub mod request;
pub mod roster;
pub mod run;
#[doc(hidden)]
pub mod test_support;
pub mod write;
pub mod x12;
