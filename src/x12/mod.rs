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
