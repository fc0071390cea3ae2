//! Checking X12 files: every diagnostic the reader and validators find, plus counts.
//!
//! `check` reads a file the way `run` does (same reader, same validators) but decides nothing.
//! Transactions that are not 278 X217 are passed over with a note; a 999 is validated.

use crate::diag::{Diagnostic, Diagnostics, Location, Severity};
use crate::model::{ack999::validate_999, classify, read_278, Purpose, TxnClass, TxnContext};
use crate::x12::{Chunk, Item, ReaderOptions, Segment, TransactionUnit, X12Reader};
use serde::Serialize;
use std::io::{self, Read};
use std::sync::Arc;

/// What a file held.
#[derive(Debug, Default, Clone, Copy, Serialize, PartialEq, Eq)]
pub struct Counts {
    /// Interchanges (ISA…IEA).
    pub interchanges: u64,
    /// Functional groups (GS…GE).
    pub groups: u64,
    /// Transaction sets (ST…SE).
    pub transactions: u64,
    /// 278 X217 requests for review (BHT02 13): what `run` decides.
    pub requests: u64,
    /// Other 278 X217 requests (BHT02 36 authority to deduct, 01 cancellation): read, not decided.
    pub other_requests: u64,
    /// 278 X217 responses (BHT02 11).
    pub responses: u64,
    /// 999 acknowledgments.
    pub acknowledgments: u64,
    /// Transactions of another kind, passed over.
    pub passed_over: u64,
    /// Transactions rejected by their envelope or structure.
    pub rejected: u64,
}

/// The result of checking one file.
#[derive(Debug, Default)]
pub struct FileCheck {
    /// Every diagnostic, in file order.
    pub diagnostics: Diagnostics,
    /// What the file held.
    pub counts: Counts,
}

/// A note for a transaction that is not decided.
pub fn passed_over_note(file: &Arc<str>, unit: &TransactionUnit, what: &str) -> Diagnostic {
    Diagnostic::new(
        file,
        Severity::Note,
        "passed-over",
        format!(
            "{what} (ST01 `{}`, version `{}`): passed over, not decided",
            unit.set_id,
            unit.version()
        ),
    )
    .at(unit.location())
}

/// The context the 278 builder needs for one unit.
pub fn context<'a>(file: &'a Arc<str>, unit: &'a TransactionUnit) -> TxnContext<'a> {
    TxnContext {
        file,
        unit: Some(unit),
        version: unit.version(),
    }
}

/// Checks one transaction unit; returns its diagnostics and updates the counts.
pub fn check_unit(
    file: &Arc<str>,
    chunk: &Chunk,
    unit: &TransactionUnit,
    counts: &mut Counts,
) -> Vec<Diagnostic> {
    counts.transactions += 1;
    let mut out = unit.diagnostics.clone();
    if unit.interchange.rejected.is_some() || unit.range.is_empty() {
        // Rejected by its envelope, or its bytes were not kept (no SE, too large).
        counts.rejected += 1;
        return out;
    }
    let segments: Vec<Segment<'_>> = unit.segments(chunk).collect();
    match classify(unit) {
        TxnClass::Review278 => {
            let built = read_278(&segments, &context(file, unit));
            match built.transaction.as_ref().map(|t| t.purpose) {
                Some(Purpose::Response) => counts.responses += 1,
                Some(Purpose::Request) => counts.requests += 1,
                Some(p) if p.is_request() => counts.other_requests += 1,
                _ => {}
            }
            out.extend(built.diagnostics);
        }
        TxnClass::Ack999 => {
            counts.acknowledgments += 1;
            out.extend(validate_999(&segments, file, &unit.location()));
        }
        TxnClass::Other => {
            counts.passed_over += 1;
            let what = match (unit.set_id.as_str(), unit.version()) {
                ("278", "005010X216") => "a 278 notification (X216), not a 278 X217 request",
                ("278", "005010X215") => "a 278 inquiry (X215), not a 278 X217 request",
                ("278", v) if v.starts_with("004010") => "a 4010 278, not a 278 X217 request",
                _ => "not a 278 X217 request",
            };
            out.push(passed_over_note(file, unit, what));
        }
    }
    if out.iter().any(|d| d.is_error()) {
        counts.rejected += 1;
    }
    out
}

/// Checks an X12 stream.
pub fn check_x12<R: Read>(src: R, file: Arc<str>, opts: ReaderOptions) -> io::Result<FileCheck> {
    let mut reader = X12Reader::new(src, Arc::clone(&file), opts);
    let mut result = FileCheck::default();
    while let Some(chunk) = reader.next_chunk()? {
        for item in &chunk.items {
            match item {
                Item::Diagnostic(d) => result.diagnostics.push(d.clone()),
                Item::InterchangeStart(_) => result.counts.interchanges += 1,
                Item::GroupStart(_) => result.counts.groups += 1,
                Item::Ta1(_) => {}
                Item::Transaction(unit) => {
                    let ds = check_unit(&file, &chunk, unit, &mut result.counts);
                    result.diagnostics.extend(ds);
                }
                Item::GroupEnd(g) => result.diagnostics.extend(g.diagnostics.iter().cloned()),
                Item::InterchangeEnd(e) => result.diagnostics.extend(e.diagnostics.iter().cloned()),
            }
        }
        // Its buffers hold the next chunk.
        reader.recycle(chunk);
    }
    Ok(result)
}

/// Checks a fax-queue export: every row that would be rejected, with its row number.
pub fn check_fax<R: Read>(src: R, file: Arc<str>) -> FileCheck {
    let mut result = FileCheck::default();
    let rows = match crate::fax::FaxReader::new(src, Arc::clone(&file)) {
        Ok(r) => r,
        Err(e) => {
            result.diagnostics.push(
                Diagnostic::new(&file, Severity::Error, "fax-header", e.reason).at(Location {
                    row: Some(1),
                    ..Location::default()
                }),
            );
            return result;
        }
    };
    for row in rows {
        match row {
            Ok(_) => result.counts.requests += 1,
            Err(rej) => {
                result.counts.rejected += 1;
                result.diagnostics.push(
                    Diagnostic::new(&file, Severity::Error, "fax-row", rej.reason).at(Location {
                        row: Some(rej.row),
                        ..Location::default()
                    }),
                );
            }
        }
    }
    result
}

/// Checks any input, recognised by its content: X12, fax export, or an error for anything else.
pub fn check_path(path: &std::path::Path, opts: ReaderOptions) -> FileCheck {
    let name: Arc<str> = Arc::from(path.display().to_string());
    let open = || std::fs::File::open(path).map(std::io::BufReader::new);
    let kind = match crate::intake::sniff(path) {
        Ok(k) => k,
        Err(e) => {
            let mut r = FileCheck::default();
            r.diagnostics.push(io_diagnostic(&name, &e));
            return r;
        }
    };
    let result = match kind {
        crate::intake::InputKind::X12 => open().and_then(|f| check_x12(f, Arc::clone(&name), opts)),
        crate::intake::InputKind::Fax => open().map(|f| check_fax(f, Arc::clone(&name))),
        crate::intake::InputKind::Unknown => {
            let mut r = FileCheck::default();
            r.diagnostics.push(
                Diagnostic::new(
                    &name,
                    Severity::Error,
                    "unrecognised",
                    "not recognised: neither an X12 interchange (no ISA) nor a fax-queue export (no fax header row)",
                )
                .at(Location {
                    byte_offset: Some(0),
                    ..Location::default()
                }),
            );
            Ok(r)
        }
    };
    result.unwrap_or_else(|e| {
        let mut r = FileCheck::default();
        r.diagnostics.push(io_diagnostic(&name, &e));
        r
    })
}

/// A diagnostic for a file that could not be opened or read.
pub fn io_diagnostic(file: &Arc<str>, err: &io::Error) -> Diagnostic {
    Diagnostic::new(
        file,
        Severity::Error,
        "io",
        format!("cannot read the file: {err}"),
    )
    .at(Location::default())
}
