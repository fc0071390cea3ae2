//! The streaming envelope reader: bytes in, chunks of whole transactions out.
//!
//! The reader walks a file once, segment by segment, keeping only the envelope state (open
//! interchange, group and transaction) and the bytes of the transaction being read. It hands out
//! [`Chunk`]s: an owned byte buffer plus the envelope events found in it, in file order, each
//! transaction referring to its byte range. Memory therefore stays near `chunk_bytes` whatever the
//! file size, and chunks can be decided in parallel while the next one is read.
//!
//! Envelope rules (reference §1.5, §5.6) are checked here and attached to the event they concern,
//! each with the TA1 note or 999 code it maps to. Problems found in the trailer of a group or an
//! interchange (count or control-number mismatch, missing trailer) are reported as "accepted with
//! errors" (TA1/AK9 `E`): the transactions inside were complete and have already been passed on.
//! Problems in the ISA itself reject the whole interchange.

use super::isa::{read_isa, Delimiters, IsaHeader, IsaRead};
use super::segment::{is_blank, plain_end, scan_body, Scan, Segment};
use super::Text;
use crate::diag::{AckCode, Diagnostic, Location, Severity};
use std::borrow::Cow;
use std::collections::HashSet;
use std::hash::{Hash, Hasher};
use std::io::{self, Read};
use std::ops::Range;
use std::sync::Arc;

/// How the reader behaves.
#[derive(Debug, Clone)]
pub struct ReaderOptions {
    /// Accept an ISA with collapsed padding (warning instead of error).
    pub lenient: bool,
    /// Target size of a chunk in bytes; a chunk always ends on a transaction boundary.
    pub chunk_bytes: usize,
    /// A transaction larger than this is rejected without keeping its bytes.
    pub max_transaction_bytes: usize,
}

impl Default for ReaderOptions {
    fn default() -> Self {
        ReaderOptions {
            lenient: false,
            chunk_bytes: 1 << 20,
            max_transaction_bytes: 16 << 20,
        }
    }
}

/// One interchange header as read, shared by everything inside it.
#[derive(Debug, Clone)]
pub struct Interchange {
    /// The ISA elements and delimiters.
    pub header: IsaHeader,
    /// Byte offset of the ISA.
    pub offset: u64,
    /// 0-based index of the interchange in its file.
    pub index: u32,
    /// TA1 note when the ISA itself is in error: the whole interchange is rejected.
    pub rejected: Option<&'static str>,
}

/// One functional group header (GS).
#[derive(Debug, Clone)]
pub struct Group {
    /// GS01 functional identifier code (`HI` for 278, `FA` for 999).
    pub functional_id: String,
    /// GS02 application sender code.
    pub sender: String,
    /// GS03 application receiver code.
    pub receiver: String,
    /// GS04 date.
    pub date: String,
    /// GS05 time.
    pub time: String,
    /// GS06 group control number.
    pub control_number: String,
    /// GS08 version / release / industry identifier code.
    pub version: String,
    /// Byte offset of the GS.
    pub offset: u64,
    /// True when GS06 repeats an earlier group of the same interchange (AK905 19).
    pub duplicate: bool,
}

/// One transaction set (ST…SE) found by the reader.
#[derive(Debug, Clone)]
pub struct TransactionUnit {
    /// The interchange it belongs to.
    pub interchange: Arc<Interchange>,
    /// The group it belongs to (None when an ST appeared outside any group).
    pub group: Option<Arc<Group>>,
    /// ST01 transaction set identifier code.
    pub set_id: Text,
    /// ST02 control number.
    pub control_number: Text,
    /// ST03 implementation convention reference, when sent.
    pub convention: Option<Text>,
    /// Byte offset of the ST.
    pub offset: u64,
    /// Byte range of ST…SE inside the chunk.
    pub range: Range<usize>,
    /// Indices of this transaction's segment spans in [`Chunk::spans`].
    pub spans: Range<usize>,
    /// Segments counted from ST to SE inclusive.
    pub segment_count: u32,
    /// Envelope problems of this transaction (SE01, SE02, ST03, missing SE…).
    pub diagnostics: Vec<Diagnostic>,
    /// True when the transaction exceeded the size cap and its bytes were not kept.
    pub oversized: bool,
}

impl TransactionUnit {
    /// The implementation convention that applies: ST03, else GS08.
    pub fn version(&self) -> &str {
        match &self.convention {
            Some(v) if !v.is_empty() => v,
            _ => self
                .group
                .as_ref()
                .map(|g| g.version.as_str())
                .unwrap_or(""),
        }
    }

    /// The segments of the transaction, from the spans the reader recorded.
    pub fn segments<'c>(&self, chunk: &'c Chunk) -> UnitSegments<'c> {
        let bytes = chunk.bytes.get(self.range.clone()).unwrap_or(&[]);
        UnitSegments {
            bytes: &chunk.bytes,
            // Validated once a transaction; simdutf8 checks ASCII (nearly all of a 278) many
            // bytes at a time, where std's check was 2% of reading.
            text: simdutf8::basic::from_utf8(bytes).ok(),
            from: self.range.start,
            base: chunk.base,
            spans: chunk.spans.get(self.spans.clone()).unwrap_or(&[]).iter(),
            delims: self.interchange.header.delimiters,
        }
    }

    /// True when the envelope of this transaction holds no error (it may be processed).
    pub fn envelope_ok(&self) -> bool {
        self.interchange.rejected.is_none()
            && self.group.is_some()
            && !self.oversized
            && !self.diagnostics.iter().any(|d| d.is_error())
    }

    /// A location naming this transaction's control numbers.
    pub fn location(&self) -> Location {
        Location {
            byte_offset: Some(self.offset),
            interchange: Some(self.interchange.header.control_number.clone()),
            group: self.group.as_ref().map(|g| g.control_number.clone()),
            transaction: Some(self.control_number.to_string()),
            ..Location::default()
        }
    }
}

/// Iterator over the segments of one transaction (see [`TransactionUnit::segments`]).
pub struct UnitSegments<'c> {
    bytes: &'c [u8],
    /// The transaction's bytes as text, when they are valid UTF-8 (validated once).
    text: Option<&'c str>,
    /// Chunk position of the transaction's first byte (`text` starts there).
    from: usize,
    base: u64,
    spans: std::slice::Iter<'c, Span>,
    delims: Delimiters,
}

impl<'c> Iterator for UnitSegments<'c> {
    type Item = Segment<'c>;
    fn next(&mut self) -> Option<Segment<'c>> {
        let sp = self.spans.next()?;
        let (a, b) = (sp.start as usize, sp.end as usize);
        let offset = self.base + a as u64;
        let raw = self.bytes.get(a..b).unwrap_or(&[]);
        if sp.wrapped {
            let owned: Vec<u8> = raw
                .iter()
                .copied()
                .filter(|&c| c != b'\r' && c != b'\n')
                .collect();
            return Some(Segment::new(offset, Cow::Owned(owned), self.delims));
        }
        if let Some(t) = self.text {
            let rel = (a.saturating_sub(self.from), b.saturating_sub(self.from));
            if let Some(s) = t.get(rel.0..rel.1) {
                let window = self.bytes.get(a..).unwrap_or_default();
                return Some(Segment::from_text_in(offset, s, window, self.delims));
            }
        }
        Some(Segment::new(offset, Cow::Borrowed(raw), self.delims))
    }

    /// Exact: one segment per span, so `collect` allocates once instead of growing.
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.spans.size_hint()
    }
}

impl ExactSizeIterator for UnitSegments<'_> {}

/// A TA1 segment found inside an interchange (an acknowledgment being read).
#[derive(Debug, Clone)]
pub struct Ta1Seen {
    /// The interchange that carries it.
    pub interchange: Arc<Interchange>,
    /// Byte offset of the TA1.
    pub offset: u64,
    /// TA101 acknowledged control number.
    pub control_number: String,
    /// TA104 acknowledgment code.
    pub ack_code: String,
    /// TA105 note code.
    pub note: String,
}

/// The end of a functional group with what its trailer said.
#[derive(Debug, Clone)]
pub struct GroupEnd {
    /// The interchange.
    pub interchange: Arc<Interchange>,
    /// The group.
    pub group: Arc<Group>,
    /// GE01 as sent (None when the GE was missing).
    pub declared: Option<u32>,
    /// Transactions actually found.
    pub received: u32,
    /// Group-level problems (AK905 codes).
    pub diagnostics: Vec<Diagnostic>,
}

/// The end of an interchange with what its trailer said.
#[derive(Debug, Clone)]
pub struct InterchangeEnd {
    /// The interchange.
    pub interchange: Arc<Interchange>,
    /// Groups found.
    pub groups: u32,
    /// Interchange-level problems (TA1 notes).
    pub diagnostics: Vec<Diagnostic>,
}

/// One envelope event, in file order.
#[derive(Debug, Clone)]
pub enum Item {
    /// An ISA was read.
    InterchangeStart(Arc<Interchange>),
    /// A TA1 segment.
    Ta1(Ta1Seen),
    /// A GS was read.
    GroupStart(Arc<Group>),
    /// A complete (or broken) transaction set.
    Transaction(TransactionUnit),
    /// A group ended (GE, or a missing GE detected).
    GroupEnd(GroupEnd),
    /// An interchange ended (IEA, or a missing IEA detected).
    InterchangeEnd(InterchangeEnd),
    /// A file-level diagnostic (prose before the ISA, unreadable ISA, stray data).
    Diagnostic(Diagnostic),
}

/// Where one segment of a transaction lies in its chunk, recorded by the reader so the
/// transaction is not scanned a second time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    /// First byte of the segment (chunk-relative).
    pub start: u32,
    /// Byte after the segment's last data byte (the terminator, or a CR before a newline).
    pub end: u32,
    /// True when the segment holds line breaks to remove (hard-wrapped input).
    pub wrapped: bool,
}

/// Chunks kept for reuse (see [`X12Reader::recycle`]).
const MAX_SPARE_CHUNKS: usize = 4;

/// Owned bytes holding whole transactions, and the events found in them.
#[derive(Debug)]
pub struct Chunk {
    /// The bytes; transaction ranges index into them.
    pub bytes: Vec<u8>,
    /// Segment spans of the transactions in this chunk.
    pub spans: Vec<Span>,
    /// File offset of `bytes[0]`.
    pub base: u64,
    /// Events in file order.
    pub items: Vec<Item>,
}

struct OpenTxn {
    start: usize,
    span_start: usize,
    offset: u64,
    set_id: Text,
    control_number: Text,
    convention: Option<Text>,
    count: u32,
    diagnostics: Vec<Diagnostic>,
    oversized: bool,
}

impl OpenTxn {
    /// Stops keeping the bytes of a transaction larger than `cap` and records why (once).
    #[cold]
    fn mark_oversized(&mut self, file: &Arc<str>, cap: usize) {
        if self.oversized {
            return;
        }
        self.oversized = true;
        self.diagnostics.push(
            Diagnostic::new(
                file,
                Severity::Error,
                "transaction-too-large",
                format!("the transaction set is larger than {cap} bytes and was not read"),
            )
            .at(Location {
                byte_offset: Some(self.offset),
                transaction: Some(self.control_number.to_string()),
                ..Location::default()
            })
            .with_ack(AckCode::Ik5 { code: "5" }),
        );
    }
}

struct OpenGroup {
    group: Arc<Group>,
    txns: u32,
    /// ST02s seen in the group, keyed by [`control_key`].
    st02_seen: rustc_hash::FxHashSet<u128>,
}

struct OpenInterchange {
    ic: Arc<Interchange>,
    groups: u32,
    ta1s: u32,
    group: Option<OpenGroup>,
    txn: Option<OpenTxn>,
    gs06_seen: HashSet<String>,
}

enum Progress {
    NeedMore,
    ChunkFull,
}

/// Streaming X12 reader over any `Read`.
pub struct X12Reader<R> {
    src: R,
    file: Arc<str>,
    opts: ReaderOptions,
    buf: Vec<u8>,
    base: u64,
    pos: usize,
    eof: bool,
    done: bool,
    open: Option<OpenInterchange>,
    items: Vec<Item>,
    spans: Vec<Span>,
    /// Buffers of chunks the caller has finished with (see [`X12Reader::recycle`]).
    spare: Vec<Chunk>,
    interchanges: u32,
    isa13_seen: HashSet<String>,
    skipped_from: Option<u64>,
    skipped_nonblank: bool,
    bom_checked: bool,
    /// True after an unreadable ISA until its IEA (or the next ISA): those bytes are not stray.
    broken: bool,
}

/// The key under which a group remembers an ST02. A control number is at most nine
/// characters, so the usual one is packed whole into the key (exact, no collision) and the set
/// hashes a plain integer. The top byte of a packed key holds its length; a longer control
/// number (already an error) is hashed into a key whose top byte is zero and whose low byte is
/// 0xFF, so it never equals a packed key.
fn control_key(s: &str) -> u128 {
    let bytes = s.as_bytes();
    if bytes.len() <= 15 {
        let mut key = [0u8; 16];
        if let Some(head) = key.get_mut(..bytes.len()) {
            head.copy_from_slice(bytes);
        }
        if let Some(top) = key.last_mut() {
            *top = bytes.len() as u8;
        }
        return u128::from_le_bytes(key);
    }
    let mut h = std::collections::hash_map::DefaultHasher::new();
    s.hash(&mut h);
    (u128::from(h.finish()) << 8) | 0xff
}

fn all_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

fn parse_count(s: &str) -> Option<u32> {
    if all_digits(s) {
        s.parse().ok()
    } else {
        None
    }
}

fn valid_yymmdd(s: &str) -> bool {
    s.len() == 6
        && all_digits(s)
        && chrono::NaiveDate::parse_from_str(&format!("20{s}"), "%Y%m%d").is_ok()
}

fn valid_hhmm(s: &str) -> bool {
    s.len() == 4
        && all_digits(s)
        && s.get(..2)
            .and_then(|h| h.parse::<u32>().ok())
            .is_some_and(|h| h < 24)
        && s.get(2..)
            .and_then(|m| m.parse::<u32>().ok())
            .is_some_and(|m| m < 60)
}

impl<R: Read> X12Reader<R> {
    /// A reader of `src`; `file` names it in diagnostics.
    pub fn new(src: R, file: Arc<str>, opts: ReaderOptions) -> Self {
        X12Reader {
            src,
            file,
            opts,
            buf: Vec::new(),
            base: 0,
            pos: 0,
            eof: false,
            done: false,
            open: None,
            items: Vec::new(),
            spans: Vec::new(),
            spare: Vec::new(),
            interchanges: 0,
            isa13_seen: HashSet::new(),
            skipped_from: None,
            skipped_nonblank: false,
            bom_checked: false,
            broken: false,
        }
    }

    /// The next chunk, or None at the end of the input.
    pub fn next_chunk(&mut self) -> io::Result<Option<Chunk>> {
        if self.done {
            return Ok(None);
        }
        loop {
            let progress = self.parse_available();
            match progress {
                Progress::ChunkFull => return Ok(Some(self.cut_chunk())),
                Progress::NeedMore => {
                    if self.eof {
                        self.finish();
                        self.done = true;
                        let chunk = self.cut_chunk();
                        return Ok(if chunk.items.is_empty() {
                            None
                        } else {
                            Some(chunk)
                        });
                    }
                    self.read_more()?;
                }
            }
        }
    }

    /// Appends the next block of input to the buffer.
    ///
    /// Blocks are small next to a chunk: when a chunk is cut, the bytes read but not yet parsed
    /// move to the next buffer, and a small block keeps that copy small. `read_to_end` on a
    /// limited reader fills the buffer's spare capacity without zeroing it first.
    fn read_more(&mut self) -> io::Result<()> {
        let block = (self.opts.chunk_bytes / 16).clamp(64 << 10, 1 << 20);
        let got = (&mut self.src)
            .take(block as u64)
            .read_to_end(&mut self.buf)?;
        if got < block {
            // `read_to_end` stops early only at the end of the input.
            self.eof = true;
        }
        Ok(())
    }

    /// Moves everything before the open transaction into a chunk.
    fn cut_chunk(&mut self) -> Chunk {
        let keep_from = match self.open.as_ref().and_then(|o| o.txn.as_ref()) {
            Some(t) if !t.oversized => t.start.min(self.pos),
            _ => self.pos,
        };
        let keep_from = keep_from.min(self.buf.len());
        // The next chunk's buffers: a returned chunk's, else new ones sized like this chunk
        // (growing them by doubling means copies and freshly faulted pages every chunk).
        let (mut next_bytes, mut next_spans, next_items) = match self.spare.pop() {
            Some(c) => (c.bytes, c.spans, c.items),
            None => (
                Vec::with_capacity(self.buf.len()),
                Vec::with_capacity(self.spans.len()),
                Vec::with_capacity(self.items.len()),
            ),
        };
        next_bytes.clear();
        next_bytes.extend_from_slice(self.buf.get(keep_from..).unwrap_or_default());
        self.buf.truncate(keep_from);
        let bytes = std::mem::replace(&mut self.buf, next_bytes);
        let open_from = self
            .open
            .as_ref()
            .and_then(|o| o.txn.as_ref())
            .map(|t| t.span_start.min(self.spans.len()))
            .unwrap_or(self.spans.len());
        let shift = keep_from as u32;
        next_spans.clear();
        next_spans.extend(
            self.spans
                .get(open_from..)
                .unwrap_or_default()
                .iter()
                .map(|sp| {
                    let mut sp = *sp;
                    sp.start = sp.start.saturating_sub(shift);
                    sp.end = sp.end.saturating_sub(shift);
                    sp
                }),
        );
        self.spans.truncate(open_from);
        let mut next_items = next_items;
        next_items.clear();
        let chunk = Chunk {
            bytes,
            spans: std::mem::replace(&mut self.spans, next_spans),
            base: self.base,
            items: std::mem::replace(&mut self.items, next_items),
        };
        self.base += keep_from as u64;
        self.pos -= keep_from;
        if let Some(t) = self.open.as_mut().and_then(|o| o.txn.as_mut()) {
            t.start = t.start.saturating_sub(keep_from);
            t.span_start = 0;
        }
        chunk
    }

    /// Gives back a chunk the caller is done with, so its buffers hold a later chunk: a long
    /// run then reuses the same few megabytes instead of faulting in fresh pages per chunk.
    /// A few are kept: chunks come back in bursts (a run writes them in input order, holding
    /// early finishers), and one kept spare let a tenth of a run's chunks be freed and made
    /// again from fresh pages.
    pub fn recycle(&mut self, chunk: Chunk) {
        if self.spare.len() < MAX_SPARE_CHUNKS {
            self.spare.push(chunk);
        }
    }

    fn diag(&self, severity: Severity, code: &'static str, msg: impl Into<String>) -> Diagnostic {
        Diagnostic::new(&self.file, severity, code, msg)
    }

    fn parsed_len(&self) -> usize {
        match self.open.as_ref().and_then(|o| o.txn.as_ref()) {
            Some(t) if !t.oversized => t.start,
            _ => self.pos,
        }
    }

    fn parse_available(&mut self) -> Progress {
        if !self.bom_checked {
            if self.buf.len() < 3 && !self.eof {
                return Progress::NeedMore;
            }
            self.bom_checked = true;
            if self.base == 0 && self.buf.starts_with(&[0xEF, 0xBB, 0xBF]) {
                self.pos = 3;
            }
        }
        loop {
            if self.chunk_full() {
                return Progress::ChunkFull;
            }
            if self.open.is_some() {
                // The buffer is lent out while the interchange's segments are read, so an
                // envelope segment read from it can be handed to the methods that update
                // `self` without being copied out first. Nothing they call reads `self.buf`.
                let buf = std::mem::take(&mut self.buf);
                let progress = self.segments_in(&buf);
                self.buf = buf;
                match progress {
                    Some(p) => return p,
                    None => continue,
                }
            }
            if !self.step_seek_isa() {
                return Progress::NeedMore;
            }
        }
    }

    fn chunk_full(&self) -> bool {
        !self.items.is_empty() && self.parsed_len() >= self.opts.chunk_bytes
    }

    /// Reads segments of the open interchange from the lent buffer `buf` until the chunk is
    /// full or more bytes are needed (`Some`), or the interchange has ended (`None`).
    fn segments_in(&mut self, buf: &[u8]) -> Option<Progress> {
        loop {
            if self.body_run(buf) && self.chunk_full() {
                return Some(Progress::ChunkFull);
            }
            if !self.step_segment(buf) {
                return Some(Progress::NeedMore);
            }
            // None once the interchange has ended.
            self.open.as_ref()?;
            if self.chunk_full() {
                return Some(Progress::ChunkFull);
            }
        }
    }

    /// Looks for the next ISA; returns false when more bytes are needed.
    fn step_seek_isa(&mut self) -> bool {
        let rest = self.buf.get(self.pos..).unwrap_or(&[]);
        let Some(skip) = rest.iter().position(|&b| !is_blank(b)) else {
            self.pos = self.buf.len();
            return false;
        };
        let start = self.pos + skip;
        if let Some(found) = self.find_isa(start) {
            if found > start {
                self.note_skipped(start, found);
            }
            self.flush_skipped();
            self.broken = false;
            self.pos = found;
            return self.read_interchange_header();
        }
        // No ISA in what we have: everything but the last 3 bytes is skipped data.
        let keep = self.buf.len().saturating_sub(3).max(start);
        if self.eof {
            self.note_skipped(start, self.buf.len());
            self.pos = self.buf.len();
        } else {
            if keep > start {
                self.note_skipped(start, keep);
            }
            self.pos = keep;
        }
        false
    }

    fn find_isa(&self, start: usize) -> Option<usize> {
        let hay = self.buf.get(start..)?;
        for i in memchr::memmem::find_iter(hay, b"ISA") {
            let at = start + i;
            let after = self.buf.get(at + 3).copied();
            let before_ok = at == start || self.buf.get(at - 1).is_some_and(|&b| is_blank(b));
            match after {
                Some(a) if before_ok && !a.is_ascii_alphanumeric() && a != b' ' => return Some(at),
                None if before_ok && !self.eof => return None,
                _ => {}
            }
        }
        None
    }

    fn note_skipped(&mut self, from: usize, to: usize) {
        if self.skipped_from.is_none() {
            self.skipped_from = Some(self.base + from as u64);
        }
        if !self.broken
            && self
                .buf
                .get(from..to)
                .is_some_and(|s| s.iter().any(|&b| !is_blank(b)))
        {
            self.skipped_nonblank = true;
        }
    }

    fn flush_skipped(&mut self) {
        if let Some(at) = self.skipped_from.take() {
            if std::mem::take(&mut self.skipped_nonblank) {
                let d = if self.interchanges == 0 {
                    self.diag(
                        Severity::Warning,
                        "preamble",
                        "text before the first ISA segment was skipped",
                    )
                } else {
                    self.diag(
                        Severity::Warning,
                        "stray-data",
                        "data between interchanges (after an IEA, before the next ISA) was skipped",
                    )
                };
                self.items.push(Item::Diagnostic(d.at(Location {
                    byte_offset: Some(at),
                    ..Location::default()
                })));
            }
        }
    }

    fn read_interchange_header(&mut self) -> bool {
        let input = self.buf.get(self.pos..).unwrap_or(&[]);
        let offset = self.base + self.pos as u64;
        match read_isa(input, self.eof) {
            IsaRead::Incomplete => false,
            IsaRead::Unreadable { note, reason } => {
                let d = self
                    .diag(
                        Severity::Error,
                        "isa-unreadable",
                        format!(
                            "the ISA segment cannot be read: {reason}; the interchange is skipped"
                        ),
                    )
                    .at(Location {
                        byte_offset: Some(offset),
                        segment_id: Some("ISA".into()),
                        ..Location::default()
                    })
                    .with_ack(AckCode::Ta1 { note });
                self.items.push(Item::Diagnostic(d));
                self.interchanges += 1;
                self.pos += 3;
                self.broken = true;
                self.skip_to_iea();
                true
            }
            IsaRead::Ok { header, consumed } => {
                self.pos += consumed;
                self.start_interchange(*header, offset);
                true
            }
        }
    }

    /// After an unreadable ISA, skips to just after the next `IEA` so its content is not misread.
    fn skip_to_iea(&mut self) {
        let hay = self.buf.get(self.pos..).unwrap_or(&[]);
        let next_isa = memchr::memmem::find(hay, b"ISA");
        if let Some(i) = memchr::memmem::find(hay, b"IEA") {
            if next_isa.is_none_or(|n| i < n) {
                let after = hay.get(i..).unwrap_or(&[]);
                let line_end = after
                    .iter()
                    .position(|&b| b == b'\n')
                    .map(|n| n + 1)
                    .unwrap_or(after.len());
                self.pos += i + line_end;
                self.broken = false;
                return;
            }
        }
        if let Some(n) = next_isa {
            self.pos += n;
        }
    }

    fn start_interchange(&mut self, header: IsaHeader, offset: u64) {
        let loc = Location {
            byte_offset: Some(offset),
            interchange: Some(header.control_number.clone()),
            segment_id: Some("ISA".into()),
            ..Location::default()
        };
        let mut rejected: Option<&'static str> = None;
        let mut diags = Vec::new();
        let mut err = |note: &'static str, code: &'static str, el: u16, msg: String| {
            if rejected.is_none() {
                rejected = Some(note);
            }
            let d = Diagnostic::new(&self.file, Severity::Error, code, msg)
                .at(loc.clone())
                .with_ack(AckCode::Ta1 { note })
                .element_if_any(el);
            diags.push(d);
        };
        if header.collapsed && !self.opts.lenient {
            err(
                "022",
                "isa-not-fixed-width",
                0,
                "the ISA segment is not fixed width (106 characters; its padding is collapsed); \
                 run with --lenient to read it"
                    .into(),
            );
        }
        if !(header.version.len() == 5 && all_digits(&header.version)) {
            err(
                "017",
                "isa-version",
                12,
                "ISA12 is not a 5-digit control version number".into(),
            );
        }
        if !(header.control_number.len() == 9 && all_digits(&header.control_number)) {
            err(
                "018",
                "isa-control-number",
                13,
                "ISA13 is not a 9-digit control number".into(),
            );
        }
        if !matches!(header.ack_requested.as_str(), "0" | "1") {
            err(
                "019",
                "isa-ack-requested",
                14,
                "ISA14 must be 0 or 1".into(),
            );
        }
        if !matches!(header.usage.as_str(), "P" | "T" | "I") {
            err("020", "isa-usage", 15, "ISA15 must be P, T or I".into());
        }
        if !valid_yymmdd(&header.date) {
            err(
                "014",
                "isa-date",
                9,
                "ISA09 is not a valid YYMMDD date".into(),
            );
        }
        if !valid_hhmm(&header.time) {
            err(
                "015",
                "isa-time",
                10,
                "ISA10 is not a valid HHMM time".into(),
            );
        }
        if !self.isa13_seen.insert(header.control_number.clone()) {
            err(
                "025",
                "isa-duplicate",
                13,
                "ISA13 repeats the control number of an earlier interchange in this file".into(),
            );
        }
        if header.collapsed && self.opts.lenient {
            diags.push(
                self.diag(
                    Severity::Warning,
                    "isa-not-fixed-width",
                    "the ISA segment is not fixed width (collapsed padding); read leniently",
                )
                .at(loc.clone())
                .with_ack(AckCode::Ta1 { note: "022" }),
            );
        }
        let ic = Arc::new(Interchange {
            header,
            offset,
            index: self.interchanges,
            rejected,
        });
        self.interchanges += 1;
        self.items.push(Item::InterchangeStart(Arc::clone(&ic)));
        self.items.extend(diags.into_iter().map(Item::Diagnostic));
        self.open = Some(OpenInterchange {
            ic,
            groups: 0,
            ta1s: 0,
            group: None,
            txn: None,
            gs06_seen: HashSet::new(),
        });
    }

    /// Records the body segments of the open transaction that need nothing but a span and a
    /// count: nearly every segment between ST and SE. It stops, with `self.pos` just after the
    /// last segment it took, at anything else (an envelope segment, a hard-wrapped segment,
    /// the end of the bytes read so far, a newline terminator, a transaction past the size
    /// cap), which [`Self::step_segment`] then reads the general way. Both ways record the same
    /// spans, counts and diagnostics; this one does none of the general way's per-segment
    /// work (whose result does not change between ST and SE), which was about a quarter of
    /// the reader's first pass. True when it marked the transaction oversized, which may
    /// fill the chunk just as the general way would.
    fn body_run(&mut self, buf: &[u8]) -> bool {
        let cap = self.opts.max_transaction_bytes;
        let Some(open) = self.open.as_mut() else {
            return false;
        };
        let d = open.ic.header.delimiters;
        if d.segment == b'\n' || d.segment == b'\r' {
            return false;
        }
        let Some(t) = open.txn.as_mut() else {
            return false;
        };
        if t.oversized {
            return false;
        }
        let mut marked = false;
        let limit = t.start.saturating_add(cap);
        let mut pos = self.pos;
        loop {
            let mut at = pos;
            while buf.get(at).is_some_and(|&b| is_blank(b)) {
                at += 1;
            }
            let Some(from) = buf.get(at..) else { break };
            // None also for a hard-wrapped segment, read the general way.
            let Some(n) = plain_end(from, d.segment) else {
                break;
            };
            if is_envelope_body(from.get(..n).unwrap_or_default(), d.element) {
                break;
            }
            let end = at + n + 1;
            t.count += 1;
            self.spans.push(Span {
                start: at as u32,
                end: (at + n) as u32,
                wrapped: false,
            });
            pos = end;
            if end > limit {
                t.mark_oversized(&self.file, cap);
                marked = true;
                break;
            }
        }
        self.pos = pos;
        marked
    }

    /// Reads one segment of the open interchange from `buf` (the reader's own buffer, lent);
    /// false when more bytes are needed.
    fn step_segment(&mut self, buf: &[u8]) -> bool {
        let Some(delims) = self.open.as_ref().map(|o| o.ic.header.delimiters) else {
            return false;
        };
        let scanned = scan_body(buf, self.pos, delims);
        let (segment, end, unterminated, span) = match scanned {
            Scan::Body {
                start,
                body,
                term,
                end,
            } => {
                let span = Span {
                    start: start as u32,
                    end: match &body {
                        Cow::Borrowed(b) => (start + b.len()) as u32,
                        Cow::Owned(_) => term as u32,
                    },
                    wrapped: matches!(body, Cow::Owned(_)),
                };
                let id = segment_id(&body, delims.element);
                if !is_envelope_id(id) {
                    // Body segments are only counted here; they are read again from the chunk.
                    let offset = self.base + start as u64;
                    let in_txn = self.open.as_ref().is_some_and(|o| o.txn.is_some());
                    let shown = if in_txn { None } else { Some(printable_id(id)) };
                    self.pos = end;
                    self.other_segment(offset, shown, span);
                    return true;
                }
                let seg = Segment::new(self.base + start as u64, body, delims);
                (seg, end, false, span)
            }
            Scan::End => {
                self.pos = buf.len().max(self.pos);
                return false;
            }
            Scan::Unterminated { start } => {
                if !self.eof {
                    return self.check_oversized_and_wait(buf.len());
                }
                let body = buf.get(start..).unwrap_or(&[]);
                let body = body
                    .iter()
                    .rposition(|&b| !is_blank(b))
                    .and_then(|n| body.get(..=n))
                    .unwrap_or(body)
                    .to_vec();
                let span = Span {
                    start: start as u32,
                    end: (start + body.len()) as u32,
                    wrapped: memchr::memchr2(b'\r', b'\n', &body).is_some(),
                };
                let seg = Segment::new(self.base + start as u64, Cow::Owned(body), delims);
                (seg, buf.len(), true, span)
            }
        };
        let seg_start = (segment.offset - self.base) as usize;
        if unterminated {
            let d = self
                .diag(
                    Severity::Warning,
                    "unterminated-segment",
                    "the last segment of the file has no segment terminator",
                )
                .at(Location {
                    byte_offset: Some(segment.offset),
                    segment_id: Some(segment.id_str().to_string()),
                    ..Location::default()
                });
            self.items.push(Item::Diagnostic(d));
        }
        match segment.id() {
            b"ISA" => {
                // A new interchange begins before this one ended.
                self.close_interchange(None, segment.offset);
                self.pos = seg_start;
                return true;
            }
            b"IEA" => {
                self.pos = end;
                self.close_interchange(Some(&segment), segment.offset);
            }
            b"GS" => {
                self.pos = end;
                self.open_group(&segment);
            }
            b"GE" => {
                self.pos = end;
                self.close_group(Some(&segment), segment.offset);
            }
            b"ST" => {
                self.pos = end;
                self.open_txn(&segment, seg_start, span);
            }
            b"SE" => {
                self.pos = end;
                self.close_txn(Some(&segment), end, segment.offset, Some(span));
            }
            b"TA1" => {
                self.pos = end;
                self.ta1(&segment);
            }
            _ => {
                self.pos = end;
                self.other_segment(segment.offset, Some(printable_id(segment.id())), span);
            }
        }
        true
    }

    /// `buffered` is the length of the (lent) buffer.
    fn check_oversized_and_wait(&mut self, buffered: usize) -> bool {
        let cap = self.opts.max_transaction_bytes;
        let file = Arc::clone(&self.file);
        let pos = self.pos;
        if let Some(t) = self.open.as_mut().and_then(|o| o.txn.as_mut()) {
            if buffered.saturating_sub(t.start) > cap {
                t.mark_oversized(&file, cap);
            }
        }
        // A single segment larger than the cap: drop what we have of it.
        if buffered.saturating_sub(pos) > cap {
            self.pos = buffered;
        }
        false
    }

    fn loc(&self, seg: &Segment<'_>, position: Option<u32>) -> Location {
        let o = self.open.as_ref();
        Location {
            byte_offset: Some(seg.offset),
            interchange: o.map(|o| o.ic.header.control_number.clone()),
            group: o
                .and_then(|o| o.group.as_ref())
                .map(|g| g.group.control_number.clone()),
            transaction: o
                .and_then(|o| o.txn.as_ref())
                .map(|t| t.control_number.to_string()),
            segment_position: position,
            segment_id: Some(seg.id_str().to_string()),
            element: None,
            row: None,
        }
    }

    fn ta1(&mut self, seg: &Segment<'_>) {
        let loc = self.loc(seg, None);
        let in_group = self
            .open
            .as_ref()
            .is_some_and(|o| o.group.is_some() || o.txn.is_some());
        let mut diags = Vec::new();
        if in_group {
            diags.push(
                self.diag(
                    Severity::Error,
                    "ta1-misplaced",
                    "a TA1 segment must come before the first GS of its interchange",
                )
                .at(loc.clone())
                .with_ack(AckCode::Ta1 { note: "022" }),
            );
        }
        if !matches!(seg.get(4), "A" | "E" | "R") {
            diags.push(
                self.diag(Severity::Error, "ta1-code", "TA104 must be A, E or R")
                    .at(loc.clone())
                    .element(4, None),
            );
        }
        if !(seg.get(5).len() == 3 && all_digits(seg.get(5))) {
            diags.push(
                self.diag(
                    Severity::Error,
                    "ta1-note",
                    "TA105 must be a 3-digit note code",
                )
                .at(loc)
                .element(5, None),
            );
        }
        let Some(o) = self.open.as_mut() else { return };
        o.ta1s += 1;
        let seen = Ta1Seen {
            interchange: Arc::clone(&o.ic),
            offset: seg.offset,
            control_number: seg.get(1).to_string(),
            ack_code: seg.get(4).to_string(),
            note: seg.get(5).to_string(),
        };
        self.items.push(Item::Ta1(seen));
        self.items.extend(diags.into_iter().map(Item::Diagnostic));
    }

    fn open_group(&mut self, seg: &Segment<'_>) {
        if self.open.as_ref().is_some_and(|o| o.txn.is_some()) {
            self.close_txn(None, 0, seg.offset, None);
        }
        if self.open.as_ref().is_some_and(|o| o.group.is_some()) {
            self.close_group(None, seg.offset);
        }
        let control = seg.get(6).to_string();
        let mut diags = Vec::new();
        let loc = self.loc(seg, None);
        let mut group_err = |code: &'static str, ak9: &'static str, el: u16, msg: &str| {
            diags.push(
                Diagnostic::new(&self.file, Severity::Error, code, msg)
                    .at(Location {
                        group: Some(control.clone()),
                        ..loc.clone()
                    })
                    .element(el, None)
                    .with_ack(AckCode::Ak9 { code: ak9 }),
            );
        };
        if !(all_digits(&control) && control.len() <= 9) {
            group_err(
                "gs-control-number",
                "6",
                6,
                "GS06 must be a control number of 1 to 9 digits",
            );
        }
        if seg.get(8).is_empty() {
            group_err(
                "gs-version",
                "2",
                8,
                "GS08 (version/release/industry identifier) is missing",
            );
        }
        if seg.get(1).is_empty() {
            group_err(
                "gs-functional-id",
                "1",
                1,
                "GS01 (functional identifier code) is missing",
            );
        }
        let Some(o) = self.open.as_mut() else { return };
        let duplicate = !o.gs06_seen.insert(control.clone());
        if duplicate {
            group_err(
                "gs-duplicate",
                "19",
                6,
                "GS06 repeats the control number of an earlier group in this interchange",
            );
        }
        let group = Arc::new(Group {
            functional_id: seg.get(1).to_string(),
            sender: seg.get(2).to_string(),
            receiver: seg.get(3).to_string(),
            date: seg.get(4).to_string(),
            time: seg.get(5).to_string(),
            control_number: control,
            version: seg.get(8).to_string(),
            offset: seg.offset,
            duplicate,
        });
        o.groups += 1;
        o.group = Some(OpenGroup {
            group: Arc::clone(&group),
            txns: 0,
            st02_seen: rustc_hash::FxHashSet::default(),
        });
        self.items.push(Item::GroupStart(group));
        self.items.extend(diags.into_iter().map(Item::Diagnostic));
    }

    fn close_group(&mut self, ge: Option<&Segment<'_>>, offset: u64) {
        if self.open.as_ref().is_some_and(|o| o.txn.is_some()) {
            self.close_txn(None, 0, offset, None);
        }
        let file = Arc::clone(&self.file);
        let Some(o) = self.open.as_mut() else { return };
        let Some(g) = o.group.take() else {
            if let Some(seg) = ge {
                let loc = Location {
                    byte_offset: Some(seg.offset),
                    interchange: Some(o.ic.header.control_number.clone()),
                    segment_id: Some("GE".into()),
                    ..Location::default()
                };
                self.items.push(Item::Diagnostic(
                    Diagnostic::new(
                        &file,
                        Severity::Error,
                        "ge-without-gs",
                        "GE without a matching GS",
                    )
                    .at(loc)
                    .with_ack(AckCode::Ta1 { note: "024" }),
                ));
            }
            return;
        };
        let loc = Location {
            byte_offset: Some(offset),
            interchange: Some(o.ic.header.control_number.clone()),
            group: Some(g.group.control_number.clone()),
            segment_id: Some("GE".into()),
            ..Location::default()
        };
        let mut diags = Vec::new();
        let mut declared = None;
        let mut gerr = |code: &'static str, ak9: &'static str, el: u16, msg: String| {
            let d = Diagnostic::new(&file, Severity::Error, code, msg)
                .at(loc.clone())
                .with_ack(AckCode::Ak9 { code: ak9 })
                .element_if_any(el);
            diags.push(d);
        };
        match ge {
            None => gerr(
                "ge-missing",
                "3",
                0,
                "the functional group has no GE trailer".into(),
            ),
            Some(seg) => {
                declared = parse_count(seg.get(1));
                match declared {
                    Some(n) if n == g.txns => {}
                    Some(n) => gerr(
                        "ge-count",
                        "5",
                        1,
                        format!("GE01 says {n} transaction sets, the group has {}", g.txns),
                    ),
                    None => gerr("ge-count", "5", 1, "GE01 is not a number".into()),
                }
                if seg.get(2) != g.group.control_number {
                    gerr(
                        "ge-control-number",
                        "4",
                        2,
                        "GE02 does not match GS06".into(),
                    );
                }
            }
        }
        self.items.push(Item::GroupEnd(GroupEnd {
            interchange: Arc::clone(&o.ic),
            group: g.group,
            declared,
            received: g.txns,
            diagnostics: diags,
        }));
    }

    fn close_interchange(&mut self, iea: Option<&Segment<'_>>, offset: u64) {
        if self
            .open
            .as_ref()
            .is_some_and(|o| o.group.is_some() || o.txn.is_some())
        {
            self.close_group(None, offset);
        }
        let Some(o) = self.open.take() else { return };
        let loc = Location {
            byte_offset: Some(offset),
            interchange: Some(o.ic.header.control_number.clone()),
            segment_id: Some("IEA".into()),
            ..Location::default()
        };
        let mut diags = Vec::new();
        let file = Arc::clone(&self.file);
        let mk = |sev: Severity, code: &'static str, note: &'static str, el: u16, msg: String| {
            Diagnostic::new(&file, sev, code, msg)
                .at(loc.clone())
                .with_ack(AckCode::Ta1 { note })
                .element_if_any(el)
        };
        match iea {
            None => diags.push(mk(
                Severity::Error,
                "iea-missing",
                "023",
                0,
                "the interchange has no IEA trailer (premature end)".into(),
            )),
            Some(seg) => {
                match parse_count(seg.get(1)) {
                    Some(n) if n == o.groups => {}
                    Some(n) if o.groups == 0 && n == o.ta1s => diags.push(mk(
                        Severity::Warning,
                        "iea-count",
                        "021",
                        1,
                        format!(
                            "IEA01 says {n} but the interchange holds no functional group; \
                             the sender counted its TA1 segments"
                        ),
                    )),
                    Some(n) => diags.push(mk(
                        Severity::Error,
                        "iea-count",
                        "021",
                        1,
                        format!(
                            "IEA01 says {n} functional groups, the interchange has {}",
                            o.groups
                        ),
                    )),
                    None => diags.push(mk(
                        Severity::Error,
                        "iea-count",
                        "021",
                        1,
                        "IEA01 is not a number".into(),
                    )),
                }
                if seg.get(2) != o.ic.header.control_number {
                    diags.push(mk(
                        Severity::Error,
                        "iea-control-number",
                        "001",
                        2,
                        "IEA02 does not match ISA13 (interchange control numbers differ)".into(),
                    ));
                }
            }
        }
        self.items.push(Item::InterchangeEnd(InterchangeEnd {
            interchange: o.ic,
            groups: o.groups,
            diagnostics: diags,
        }));
    }

    fn open_txn(&mut self, seg: &Segment<'_>, start: usize, span: Span) {
        if self.open.as_ref().is_some_and(|o| o.txn.is_some()) {
            self.close_txn(None, 0, seg.offset, None);
        }
        let file = Arc::clone(&self.file);
        let span_start = self.spans.len();
        self.spans.push(span);
        let control = Text::from(seg.get(2));
        // Problems first, as (code, IK5 code, element, message); the location (five strings)
        // is built only when there is one.
        let mut problems: Vec<(&'static str, &'static str, u16, String)> = Vec::new();
        let mut terr = |code: &'static str, ik5: &'static str, el: u16, msg: String| {
            problems.push((code, ik5, el, msg));
        };
        let Some(o) = self.open.as_mut() else { return };
        match o.group.as_mut() {
            None => terr(
                "st-outside-group",
                "18",
                0,
                "ST appears outside a functional group (no GS before it)".into(),
            ),
            Some(g) => {
                g.txns += 1;
                if !g.st02_seen.insert(control_key(&control)) {
                    terr(
                        "st-duplicate",
                        "23",
                        2,
                        "ST02 repeats the control number of an earlier transaction set in this group"
                            .into(),
                    );
                }
                let st03 = seg.get(3);
                if !st03.is_empty() && st03 != g.group.version {
                    terr(
                        "st-version",
                        "19",
                        3,
                        format!("ST03 `{st03}` differs from GS08 `{}`", g.group.version),
                    );
                }
            }
        }
        if seg.get(1).is_empty() {
            terr(
                "st-id",
                "6",
                1,
                "ST01 (transaction set identifier) is missing".into(),
            );
        }
        if !(4..=9).contains(&control.len()) {
            terr(
                "st-control-number",
                "7",
                2,
                "ST02 must be a control number of 4 to 9 characters".into(),
            );
        }
        let mut diags = Vec::new();
        if !problems.is_empty() {
            let mut loc = self.loc(seg, Some(1));
            loc.transaction = Some(control.to_string());
            for (code, ik5, el, msg) in problems {
                let d = Diagnostic::new(&file, Severity::Error, code, msg)
                    .at(loc.clone())
                    .with_ack(AckCode::Ik5 { code: ik5 })
                    .element_if_any(el);
                diags.push(d);
            }
        }
        let Some(o) = self.open.as_mut() else { return };
        let convention = Some(Text::from(seg.get(3))).filter(|s| !s.is_empty());
        o.txn = Some(OpenTxn {
            start,
            span_start,
            offset: seg.offset,
            set_id: Text::from(seg.get(1)),
            control_number: control,
            convention,
            count: 1,
            diagnostics: diags,
            oversized: false,
        });
    }

    fn close_txn(&mut self, se: Option<&Segment<'_>>, end: usize, offset: u64, span: Option<Span>) {
        let file = Arc::clone(&self.file);
        let Some(o) = self.open.as_mut() else { return };
        let Some(mut t) = o.txn.take() else {
            if let Some(seg) = se {
                let loc = Location {
                    byte_offset: Some(seg.offset),
                    interchange: Some(o.ic.header.control_number.clone()),
                    group: o.group.as_ref().map(|g| g.group.control_number.clone()),
                    segment_id: Some("SE".into()),
                    ..Location::default()
                };
                self.items.push(Item::Diagnostic(
                    Diagnostic::new(
                        &file,
                        Severity::Error,
                        "se-without-st",
                        "SE without a matching ST",
                    )
                    .at(loc)
                    .with_ack(AckCode::Ta1 { note: "024" }),
                ));
            }
            return;
        };
        // The location (five strings) is built only for a diagnostic.
        let ic_control = &o.ic.header.control_number;
        let group_control = o.group.as_ref().map(|g| &g.group.control_number);
        let loc_at = |position: u32| Location {
            byte_offset: Some(offset),
            interchange: Some(ic_control.clone()),
            group: group_control.cloned(),
            transaction: Some(t.control_number.to_string()),
            segment_id: Some("SE".into()),
            segment_position: Some(position),
            ..Location::default()
        };
        let range = match se {
            None => {
                t.diagnostics.push(
                    Diagnostic::new(
                        &file,
                        Severity::Error,
                        "se-missing",
                        "the transaction set has no SE trailer",
                    )
                    .at(loc_at(t.count))
                    .with_ack(AckCode::Ik5 { code: "2" }),
                );
                t.start..t.start
            }
            Some(seg) => {
                t.count += 1;
                match parse_count(seg.get(1)) {
                    Some(n) if n == t.count => {}
                    Some(n) => t.diagnostics.push(
                        Diagnostic::new(
                            &file,
                            Severity::Error,
                            "se-count",
                            format!(
                                "SE01 says {n} segments, the transaction set has {} (ST to SE inclusive)",
                                t.count
                            ),
                        )
                        .at(loc_at(t.count))
                        .element(1, None)
                        .with_ack(AckCode::Ik5 { code: "4" }),
                    ),
                    None => t.diagnostics.push(
                        Diagnostic::new(&file, Severity::Error, "se-count", "SE01 is not a number")
                            .at(loc_at(t.count))
                            .element(1, None)
                            .with_ack(AckCode::Ik5 { code: "4" }),
                    ),
                }
                if seg.get(2) != t.control_number {
                    t.diagnostics.push(
                        Diagnostic::new(
                            &file,
                            Severity::Error,
                            "se-control-number",
                            "SE02 does not match ST02",
                        )
                        .at(loc_at(t.count))
                        .element(2, None)
                        .with_ack(AckCode::Ik5 { code: "3" }),
                    );
                }
                if t.oversized {
                    t.start..t.start
                } else {
                    t.start..end
                }
            }
        };
        let span_range = if range.is_empty() {
            self.spans.truncate(t.span_start.min(self.spans.len()));
            self.spans.len()..self.spans.len()
        } else {
            if let Some(sp) = span {
                self.spans.push(sp);
            }
            t.span_start.min(self.spans.len())..self.spans.len()
        };
        let unit = TransactionUnit {
            spans: span_range,
            interchange: Arc::clone(&o.ic),
            group: o.group.as_ref().map(|g| Arc::clone(&g.group)),
            set_id: t.set_id,
            control_number: t.control_number,
            convention: t.convention,
            offset: t.offset,
            range,
            segment_count: t.count,
            diagnostics: t.diagnostics,
            oversized: t.oversized,
        };
        self.items.push(Item::Transaction(unit));
    }

    /// Counts a body segment; `id` is given only when it must be shown (errors).
    // Inlined: it runs for every body segment, nearly always inside a transaction; the report
    // of a segment outside one is kept out of line. Always: as a hint, the `umbatch` build
    // did not take it (the bench build did).
    #[inline(always)]
    fn other_segment(&mut self, offset: u64, id: Option<String>, span: Span) {
        let cap = self.opts.max_transaction_bytes;
        match self.open.as_mut().and_then(|o| o.txn.as_mut()) {
            Some(t) => {
                t.count += 1;
                if !t.oversized {
                    self.spans.push(span);
                }
                if self.pos.saturating_sub(t.start) > cap {
                    // The file name is shared by reference count: touched only here, not
                    // for every segment (an atomic add and subtract each time).
                    t.mark_oversized(&self.file, cap);
                }
            }
            None => self.segment_outside_transaction(offset, id),
        }
    }

    /// Reports a body segment found outside any transaction set.
    #[cold]
    #[inline(never)]
    fn segment_outside_transaction(&mut self, offset: u64, id: Option<String>) {
        let id = id.unwrap_or_default();
        let o = self.open.as_ref();
        let loc = Location {
            byte_offset: Some(offset),
            interchange: o.map(|o| o.ic.header.control_number.clone()),
            group: o
                .and_then(|o| o.group.as_ref())
                .map(|g| g.group.control_number.clone()),
            segment_id: Some(id.clone()),
            ..Location::default()
        };
        let d = self
            .diag(
                Severity::Error,
                "segment-outside-transaction",
                format!(
                    "segment `{id}` appears outside a transaction set (expected GS, ST, GE or IEA)"
                ),
            )
            .at(loc)
            .with_ack(AckCode::Ta1 { note: "024" });
        self.items.push(Item::Diagnostic(d));
    }

    fn finish(&mut self) {
        if self.interchanges == 0 {
            // A file with no ISA at all gets one clear error, not a preamble warning too.
            self.skipped_from = None;
            self.skipped_nonblank = false;
        }
        self.flush_skipped();
        if self.open.is_some() {
            let offset = self.base + self.buf.len() as u64;
            self.close_interchange(None, offset);
        }
        if self.interchanges == 0 {
            let d = self
                .diag(
                    Severity::Error,
                    "no-isa",
                    "no ISA segment found: this is not an X12 interchange",
                )
                .at(Location {
                    byte_offset: Some(0),
                    ..Location::default()
                })
                .with_ack(AckCode::Ta1 { note: "022" });
            self.items.push(Item::Diagnostic(d));
        }
    }
}

fn is_envelope_id(id: &[u8]) -> bool {
    matches!(id, b"ISA" | b"IEA" | b"GS" | b"GE" | b"ST" | b"SE" | b"TA1")
}

/// True when the segment `body` (element separator `e`) has an envelope id. Every envelope id
/// starts with I, G, S or T, so most bodies are answered by their first byte.
#[inline(always)]
fn is_envelope_body(body: &[u8], e: u8) -> bool {
    if !matches!(body.first(), Some(b'I' | b'G' | b'S' | b'T')) {
        return false;
    }
    is_envelope_id(segment_id(body, e))
}

/// The id of the segment `body`: the bytes before its first element separator `e` (the whole
/// body when it has none).
#[inline(always)]
fn segment_id(body: &[u8], e: u8) -> &[u8] {
    // Ids are two or three bytes: look there before searching.
    let id_len = match body.iter().take(4).position(|&b| b == e) {
        Some(n) => Some(n),
        None => memchr::memchr(e, body),
    };
    match id_len {
        Some(n) => body.get(..n).unwrap_or_default(),
        None => body,
    }
}

/// A segment id safe to print: ASCII alphanumerics only, at most 3 characters.
pub fn printable_id(id: &[u8]) -> String {
    let s: String = id
        .iter()
        .take(3)
        .map(|&b| {
            if b.is_ascii_alphanumeric() {
                b as char
            } else {
                '?'
            }
        })
        .collect();
    if id.len() > 3 {
        format!("{s}…")
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::control_key;

    #[test]
    fn control_keys_are_equal_only_for_equal_control_numbers() {
        let numbers = [
            "",
            "0",
            "00",
            "0001",
            "00010",
            "1000",
            "000000001",
            "ABCDEFGHIJKLMNO",
            "ABCDEFGHIJKLMNOP",
            "ABCDEFGHIJKLMNOQ",
        ];
        for (i, a) in numbers.iter().enumerate() {
            // Equal text from another allocation gives the same key.
            let copy: String = a.chars().collect();
            assert_eq!(control_key(a), control_key(&copy));
            for b in numbers.iter().skip(i + 1) {
                assert_ne!(control_key(a), control_key(b), "{a:?} and {b:?}");
            }
        }
    }
}
