//! Intake: recognise an input file by its content and turn it into requests.
//!
//! A file is X12 when an `ISA` segment starts it (after an optional BOM, blank lines or a prose
//! preamble), a fax-queue export when its first line is a header with the fax columns, and
//! unrecognised otherwise — never guessed from its extension.

use crate::check::context;
use crate::fax::{looks_like_fax_header, FaxReader, RowReject};
use crate::model::{classify, read_278, TxnClass};
use crate::request::{from_278, AuthRequest};
use crate::x12::{Item, ReaderOptions, Segment, X12Reader};
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
                    if !unit.envelope_ok() || unit.range.is_empty() {
                        let reason = unit
                            .diagnostics
                            .iter()
                            .find(|d| d.is_error())
                            .map(|d| d.message.clone())
                            .unwrap_or_else(|| "the interchange header is in error".into());
                        out.push(Intake::Transaction { reference, reason });
                        continue;
                    }
                    let segs: Vec<Segment<'_>> = unit.segments(&chunk).collect();
                    let built = read_278(&segs, &context(&name, unit));
                    if let Some(d) = built.diagnostics.iter().find(|d| d.is_error()) {
                        out.push(Intake::Transaction {
                            reference,
                            reason: d.message.clone(),
                        });
                        continue;
                    }
                    let Some(t) = built.transaction.as_ref() else {
                        continue;
                    };
                    let group = unit
                        .group
                        .as_ref()
                        .map(|g| g.control_number.as_str())
                        .unwrap_or("");
                    if let Some(req) = from_278(
                        t,
                        &name,
                        &unit.interchange.header.control_number,
                        group,
                        unit.offset,
                    ) {
                        out.push(Intake::Request(Box::new(req)));
                    }
                }
            }
        }
        InputKind::Unknown => {}
    }
    Ok((kind, out))
}
