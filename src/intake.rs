//! Intake: recognise an input file by its content and turn it into requests.
//!
//! A file is X12 when an `ISA` segment starts it (after an optional BOM, blank lines or a prose
//! preamble), a fax-queue export when its first line is a header with the fax columns, and
//! unrecognised otherwise — never guessed from its extension.

use crate::check::context;
use crate::diag::Diagnostic;
use crate::fax::{looks_like_fax_header, FaxReader, RowReject};
use crate::model::{classify, read_278, Purpose, Transaction278, TxnClass};
use crate::request::{from_278, AuthRequest};
use crate::x12::{Item, ReaderOptions, Segment, TransactionUnit, X12Reader};
use std::io::{self, BufReader, Read};
use std::path::Path;
use std::sync::Arc;

/// What an input file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum InputKind {
    /// X12 interchanges.
    X12,
    /// A fax-queue CSV export.
    Fax,
    /// Neither (empty, binary, another CSV…).
    Unknown,
}

/// Recognises a file from its first bytes.
pub fn sniff_bytes(head: &[u8]) -> InputKind {
    let head = head.strip_prefix(&[0xEF, 0xBB, 0xBF][..]).unwrap_or(head);
    let start = head
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(head.len());
    let rest = head.get(start..).unwrap_or(&[]);
    let isa_at_line_start = |h: &[u8]| {
        memchr::memmem::find_iter(h, b"ISA").any(|i| {
            let before_ok = i == 0 || h.get(i - 1).is_some_and(|b| *b == b'\n' || *b == b'\r');
            let after_ok = h
                .get(i + 3)
                .is_some_and(|b| !b.is_ascii_alphanumeric() && *b != b' ');
            before_ok && after_ok
        })
    };
    if rest.starts_with(b"ISA") && rest.get(3).is_some_and(|b| !b.is_ascii_alphanumeric()) {
        return InputKind::X12;
    }
    let first_line_end = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
    if let Ok(line) = std::str::from_utf8(rest.get(..first_line_end).unwrap_or(&[])) {
        if looks_like_fax_header(line.trim_end_matches('\r')) {
            return InputKind::Fax;
        }
    }
    // Prose before the ISA: text only, then an ISA at the start of a line.
    let texty = rest
        .iter()
        .take(4096)
        .all(|b| b.is_ascii_graphic() || b.is_ascii_whitespace() || *b >= 0x80);
    if texty && isa_at_line_start(rest) {
        return InputKind::X12;
    }
    InputKind::Unknown
}

/// Recognises a file from its content.
pub fn sniff(path: &Path) -> io::Result<InputKind> {
    let mut f = std::fs::File::open(path)?;
    let mut head = vec![0u8; 64 << 10];
    let mut n = 0;
    while n < head.len() {
        let k = f.read(head.get_mut(n..).unwrap_or(&mut []))?;
        if k == 0 {
            break;
        }
        n += k;
    }
    head.truncate(n);
    Ok(sniff_bytes(&head))
}

/// What one 278 X217 transaction holds once read and validated.
pub enum Decoded<'s> {
    /// Envelope or structure errors: the transaction is rejected (999 IK5 R).
    Rejected,
    /// Valid but not decided: a response, or BHT02 36/01.
    NotDecided {
        /// Why, in words.
        reason: String,
    },
    /// A request for review (BHT02 13) to decide.
    Request {
        /// The model (borrows the segments).
        transaction: Box<Transaction278<'s>>,
        /// The request.
        request: Box<AuthRequest>,
    },
}

/// Reads, validates and maps one 278 X217 transaction: the one path from segments to a
/// request, shared by `run` and [`read_file`]. `segments` are the unit's segments (empty when
/// its bytes were not kept); the caller handles a rejected interchange.
pub fn decode_278<'s>(
    file: &'s Arc<str>,
    unit: &'s TransactionUnit,
    segments: &'s [Segment<'_>],
) -> (Vec<Diagnostic>, Decoded<'s>) {
    let mut diagnostics = unit.diagnostics.clone();
    if unit.range.is_empty() {
        return (diagnostics, Decoded::Rejected);
    }
    let built = read_278(segments, &context(file, unit));
    diagnostics.extend(built.diagnostics);
    let transaction = match built.transaction {
        Some(t) if !diagnostics.iter().any(Diagnostic::is_error) => t,
        _ => return (diagnostics, Decoded::Rejected),
    };
    if transaction.purpose == Purpose::Response {
        let reason = "a 278 response (BHT02 = 11): read, not decided".to_string();
        return (diagnostics, Decoded::NotDecided { reason });
    }
    let group = unit
        .group
        .as_ref()
        .map(|g| g.control_number.as_str())
        .unwrap_or("");
    let interchange = &unit.interchange.header.control_number;
    match from_278(&transaction, file, interchange, group, unit.offset) {
        Some(request) => (
            diagnostics,
            Decoded::Request {
                transaction,
                request: Box::new(request),
            },
        ),
        None => {
            let reason = format!(
                "BHT02 `{}` is not a request for review (BHT02 13): read, passed over, not decided",
                transaction.bht.purpose_code
            );
            (diagnostics, Decoded::NotDecided { reason })
        }
    }
}

/// One thing read from an input: a request, or a problem that keeps a request from existing.
#[derive(Debug, Clone)]
pub enum Intake {
    /// A request to decide.
    Request(Box<AuthRequest>),
    /// A fax row that could not be read.
    Row(RowReject),
    /// An X12 transaction rejected by its envelope or structure (reference and reason).
    Transaction {
        /// `ISA13/GS06/ST02 at byte N`.
        reference: String,
        /// Why.
        reason: String,
    },
}

/// Reads every request of a file (small inputs, `explain`, tests). `run` streams instead.
pub fn read_file(path: &Path, lenient: bool) -> io::Result<(InputKind, Vec<Intake>)> {
    let kind = sniff(path)?;
    let name: Arc<str> = Arc::from(path.display().to_string());
    let f = BufReader::new(std::fs::File::open(path)?);
    let mut out = Vec::new();
    match kind {
        InputKind::Fax => match FaxReader::new(f, Arc::clone(&name)) {
            Ok(rows) => {
                for r in rows {
                    out.push(match r {
                        Ok(req) => Intake::Request(Box::new(req)),
                        Err(rej) => Intake::Row(rej),
                    });
                }
            }
            Err(e) => out.push(Intake::Transaction {
                reference: "row 1".into(),
                reason: e.reason,
            }),
        },
        InputKind::X12 => {
            let opts = ReaderOptions {
                lenient,
                ..ReaderOptions::default()
            };
            let mut reader = X12Reader::new(f, Arc::clone(&name), opts);
            while let Some(chunk) = reader.next_chunk()? {
                for item in &chunk.items {
                    let Item::Transaction(unit) = item else {
                        continue;
                    };
                    if classify(unit) != TxnClass::Review278 {
                        continue;
                    }
                    let reference = format!(
                        "ISA13 {} GS06 {} ST02 {} at byte {}",
                        unit.interchange.header.control_number,
                        unit.group
                            .as_ref()
                            .map(|g| g.control_number.as_str())
                            .unwrap_or(""),
                        unit.control_number,
                        unit.offset
                    );
                    if unit.interchange.rejected.is_some() {
                        let reason = "the interchange header is in error".to_string();
                        out.push(Intake::Transaction { reference, reason });
                        continue;
                    }
                    let segs: Vec<Segment<'_>> = if unit.range.is_empty() {
                        Vec::new()
                    } else {
                        unit.segments(&chunk).collect()
                    };
                    // A statement (note the `;`), so the decoded model, which borrows `segs`, is
                    // dropped before `segs`: the model's small lists have a Drop of their own.
                    match decode_278(&name, unit, &segs) {
                        (diags, Decoded::Rejected) => {
                            let reason = diags
                                .iter()
                                .find(|d| d.is_error())
                                .map(|d| d.message.clone())
                                .unwrap_or_else(|| "the transaction set is in error".into());
                            out.push(Intake::Transaction { reference, reason });
                        }
                        (_, Decoded::NotDecided { .. }) => {}
                        (_, Decoded::Request { request, .. }) => out.push(Intake::Request(request)),
                    };
                }
            }
        }
        InputKind::Unknown => {}
    }
    Ok((kind, out))
}
