//! The X12 reader: ISA delimiters, zero-copy segments, the streaming envelope reader and the
//! parsers for X12 simple data types. Nothing here knows about the 278; see `model` for that.

pub(crate) mod bytescan;
pub mod isa;
pub mod reader;
pub mod segment;
pub mod values;
pub mod write;

pub use isa::{Delimiters, IsaHeader};
pub use reader::{
    Chunk, Group, GroupEnd, Interchange, InterchangeEnd, Item, ReaderOptions, Ta1Seen,
    TransactionUnit, X12Reader,
};
pub use segment::{Segment, Segments};

/// Short text: codes, ids, names, control numbers. Up to 24 bytes are kept inline, without an
/// allocation. A transaction's ST01/ST02/ST03 and about twenty values of a 278 request are
/// this short, and as `String`s each cost an allocation and a free per request.
pub type Text = compact_str::CompactString;
