//! Writing X12: segments with trailing empties trimmed, data never containing a delimiter, and
//! counts kept by the writer so SE01/GE01/IEA01 are computed from what was really written.
//!
//! X12 5010 has no escape character (reference §1.3): a data value holding a delimiter cannot be
//! sent. The writer replaces such characters (and control characters) with a space, so a value
//! from a fax or a policy message can never break the envelope.

use super::isa::Delimiters;
use std::io::{self, Write};

/// What follows each segment terminator, for readability.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineEnding {
    /// Nothing: one long line.
    None,
    /// `\n` after each terminator.
    Lf,
    /// `\r\n` after each terminator.
    CrLf,
}

impl LineEnding {
    fn bytes(self) -> &'static [u8] {
        match self {
            LineEnding::None => b"",
            LineEnding::Lf => b"\n",
            LineEnding::CrLf => b"\r\n",
        }
    }
}

/// Streams segments to any `Write`, counting them since the last ST.
pub struct SegmentWriter<W: Write> {
    out: W,
    delims: Delimiters,
    ending: LineEnding,
    since_st: u32,
    written: u64,
    scratch: Vec<u8>,
    /// What the delimiters forbid in values, shared by the writers of this thread that use
    /// the same delimiters (see [`Tables::for_delimiters`]).
    tables: std::sync::Arc<Tables>,
}

/// Writers into memory (a response is rendered into a `Vec` per transaction): segments are
/// encoded straight into the vector, without the scratch buffer and the copy out of it that a
/// general `Write` needs.
impl SegmentWriter<&mut Vec<u8>> {
    /// [`Self::segment`], encoded in place. Values are any bytes (text from the request, or
    /// our own dates and numbers formatted on the stack, which need no UTF-8 check).
    pub fn segment_in_place<E: AsRef<[u8]>>(&mut self, id: &str, elements: &[E]) {
        self.encode_in_place(id, elements, false);
    }

    /// [`Self::segment_composite`], encoded in place.
    pub fn segment_composite_in_place<E: AsRef<[u8]>>(&mut self, id: &str, elements: &[E]) {
        self.encode_in_place(id, elements, true);
    }

    /// [`Self::raw_segment`], appended in place: the terminator and line ending are pushed
    /// byte by byte (through `write_all` each was a `memcpy` call of one byte).
    pub fn raw_segment_in_place(&mut self, raw: &[u8]) {
        let start = self.out.len();
        self.out.extend_from_slice(raw);
        self.out.push(self.delims.segment);
        push_bytes(self.out, self.ending.bytes());
        let len = self.out.len() - start;
        self.count_raw(raw, len);
    }

    /// An HL segment (`HL*id*parent*level*children`), appended in place. Every value is
    /// ours: numbers, a level code and `0`/`1`, all alphanumeric, and delimiters never are
    /// (the ISA reader refuses them), so nothing needs cleaning. A response has five to
    /// seven of these; through the general encoder each cost a table scan per byte.
    pub fn hl_in_place(&mut self, id: u32, parent: Option<u32>, level: &str, children: bool) {
        debug_assert!(level.bytes().all(|b| b.is_ascii_alphanumeric()));
        let e = self.delims.element;
        let out = &mut *self.out;
        let start = out.len();
        let mut digits = itoa::Buffer::new();
        push_bytes(out, b"HL");
        out.push(e);
        push_bytes(out, digits.format(id).as_bytes());
        out.push(e);
        if let Some(p) = parent {
            push_bytes(out, digits.format(p).as_bytes());
        }
        out.push(e);
        push_bytes(out, level.as_bytes());
        out.push(e);
        out.push(if children { b'1' } else { b'0' });
        out.push(self.delims.segment);
        push_bytes(out, self.ending.bytes());
        let len = out.len() - start;
        self.count_segment("HL", len);
    }

    /// `HCR*action*certification*reasons`, appended in place: the same bytes as
    /// [`Self::segment_composite_in_place`] with the reasons joined by [`Self::repeated`],
    /// without building that joined value as a `String` first.
    pub fn hcr_in_place(&mut self, action: &str, certification: &[u8], reasons: &[&str]) {
        let mut out = std::mem::take(&mut *self.out);
        let start = out.len();
        let e = self.delims.element;
        push_bytes(&mut out, b"HCR");
        // Trailing empty elements are dropped: `keep` ends the last non-empty one.
        let mut keep = out.len();
        for value in [action.as_bytes(), certification] {
            out.push(e);
            self.tables
                .unsafe_in_composite
                .copy_cleaned(value, &mut out);
            if !value.is_empty() {
                keep = out.len();
            }
        }
        out.push(e);
        let joined = out.len();
        self.push_repeated(reasons, &mut out);
        if out.len() > joined {
            keep = out.len();
        }
        out.truncate(keep);
        out.push(self.delims.segment);
        push_bytes(&mut out, self.ending.bytes());
        let len = out.len() - start;
        *self.out = out;
        self.count_segment("HCR", len);
    }

    /// A segment whose values are all ours and made of ASCII letters, digits, `-`, `_` and `.`
    /// (our qualifiers, codes, dates, control numbers and certification numbers), appended
    /// without cleaning each byte: no delimiter is alphanumeric (the ISA reader refuses them),
    /// and when one of `-`, `_` or `.` is, this falls back to the general encoder. Trailing
    /// empty elements are dropped as there.
    pub fn ours_in_place(&mut self, id: &str, elements: &[&[u8]]) {
        debug_assert!(elements.iter().all(|e| e
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))));
        if !self.tables.ours_are_safe {
            return self.encode_in_place(id, elements, false);
        }
        let e = self.delims.element;
        let out = &mut *self.out;
        let start = out.len();
        push_bytes(out, id.as_bytes());
        if let Some(last) = elements.iter().rposition(|v| !v.is_empty()) {
            for v in elements.iter().take(last + 1) {
                out.push(e);
                out.extend_from_slice(v);
            }
        }
        out.push(self.delims.segment);
        push_bytes(out, self.ending.bytes());
        let len = out.len() - start;
        self.count_segment(id, len);
    }

    fn encode_in_place<E: AsRef<[u8]>>(&mut self, id: &str, elements: &[E], composite: bool) {
        // The vector's contents are moved out and back (three words), so the encoder can
        // borrow the writer's settings while it writes.
        let mut out = std::mem::take(&mut *self.out);
        let start = out.len();
        self.encode_segment(&mut out, id, elements, composite);
        let len = out.len() - start;
        *self.out = out;
        self.count_segment(id, len);
    }
}

/// Appends a few bytes (a segment id, a line ending) one at a time: `extend_from_slice` calls
/// `memcpy`, whose size dispatch costs more than two or three pushes, and whose branches
/// the processor mispredicts when the sizes vary.
#[inline]
fn push_bytes(buf: &mut Vec<u8>, bytes: &[u8]) {
    for &b in bytes {
        buf.push(b);
    }
}

/// A set of bytes, kept as the byte each one is written as: itself, or a space when it is in
/// the set. Cleaning is then one table load per byte, with no comparison and no branch
/// (indexing by a `u8` needs no bounds check).
#[derive(Debug, Clone, Copy)]
struct ByteSet([u8; 256]);

impl ByteSet {
    /// Bytes 0x00 to 0x1F (a copy of a table computed at compile time: a writer is made per
    /// response).
    fn controls() -> ByteSet {
        // Evaluated while compiling: an index out of range would fail the build, not a run.
        #[allow(clippy::indexing_slicing)]
        const CONTROLS: [u8; 256] = {
            let mut t = [0u8; 256];
            let mut i = 0;
            while i < 256 {
                t[i] = if i < 0x20 { b' ' } else { i as u8 };
                i += 1;
            }
            t
        };
        ByteSet(CONTROLS)
    }

    /// Puts `bytes` in the set (`member`) or takes them out. A space is never a member (no
    /// delimiter is a space), so "written as a space" means "in the set" for every other byte.
    fn set(&mut self, bytes: impl IntoIterator<Item = u8>, member: bool) {
        for b in bytes {
            if let Some(slot) = self.0.get_mut(usize::from(b)) {
                *slot = if member && b != b' ' { b' ' } else { b };
            }
        }
    }

    fn contains(&self, b: u8) -> bool {
        self.0.get(usize::from(b)).is_some_and(|&w| w != b)
    }

    /// Appends `value` to `buf`, each byte of the set replaced by a space: one pass, one
    /// table load per byte (values are short; a scan then a `memcpy` call cost more).
    fn copy_cleaned(&self, value: &[u8], buf: &mut Vec<u8>) {
        // `get` of a `u8` index in 256 entries never fails; the compiler drops the check.
        buf.extend(
            value
                .iter()
                .map(|&b| self.0.get(usize::from(b)).copied().unwrap_or(b' ')),
        );
    }
}

/// What a writer derives from its delimiters: which bytes a value may not hold.
struct Tables {
    /// Bytes never written raw in a value: delimiters and control characters.
    unsafe_bytes: ByteSet,
    /// The same, less the component and repetition separators (composite values).
    unsafe_in_composite: ByteSet,
    /// Whether none of `-`, `_` and `.` is a delimiter: see [`SegmentWriter::ours_in_place`].
    ours_are_safe: bool,
}

thread_local! {
    /// The tables of the delimiters last asked for on this thread. A writer is made per
    /// response, nearly always with the delimiters of the one before (an interchange holds
    /// thousands of requests); building and copying the two tables cost about 320
    /// instructions a response, a shared reference about 40.
    static LAST_TABLES: std::cell::RefCell<Option<(Delimiters, std::sync::Arc<Tables>)>> =
        const { std::cell::RefCell::new(None) };
}

impl Tables {
    /// The tables for `delims`, shared with the last writer of this thread when it used the
    /// same delimiters.
    fn for_delimiters(delims: Delimiters) -> std::sync::Arc<Tables> {
        LAST_TABLES.with(|last| {
            let mut last = last.borrow_mut();
            match last.as_ref() {
                Some((d, t)) if *d == delims => std::sync::Arc::clone(t),
                _ => {
                    let t = std::sync::Arc::new(Tables::build(delims));
                    *last = Some((delims, std::sync::Arc::clone(&t)));
                    t
                }
            }
        })
    }

    fn build(delims: Delimiters) -> Tables {
        let mut unsafe_bytes = ByteSet::controls();
        unsafe_bytes.set(
            [0x7f, delims.element, delims.component, delims.segment],
            true,
        );
        unsafe_bytes.set(delims.repetition, true);
        // Separators may be control characters; in a composite they are kept.
        let mut unsafe_in_composite = ByteSet::controls();
        unsafe_in_composite.set([delims.element, delims.segment], true);
        unsafe_in_composite.set(
            [delims.component].into_iter().chain(delims.repetition),
            false,
        );
        let ours_are_safe = ![b'-', b'_', b'.'].iter().any(|&b| unsafe_bytes.contains(b));
        Tables {
            unsafe_bytes,
            unsafe_in_composite,
            ours_are_safe,
        }
    }
}

impl<W: Write> SegmentWriter<W> {
    /// A writer with the given delimiters and line ending.
    pub fn new(out: W, delims: Delimiters, ending: LineEnding) -> Self {
        // A line-break terminator already ends the line.
        let ending = if delims.segment == b'\n' || delims.segment == b'\r' {
            LineEnding::None
        } else {
            ending
        };
        SegmentWriter {
            out,
            delims,
            ending,
            since_st: 0,
            written: 0,
            // Grown on first use: a writer into memory (one per response) never needs it.
            scratch: Vec::new(),
            tables: Tables::for_delimiters(delims),
        }
    }

    /// The delimiters in use.
    pub fn delimiters(&self) -> Delimiters {
        self.delims
    }

    /// Segments written since (and including) the last ST.
    pub fn segments_since_st(&self) -> u32 {
        self.since_st
    }

    /// Bytes written so far.
    pub fn bytes_written(&self) -> u64 {
        self.written
    }

    /// Makes a value safe: delimiters and control characters become spaces; trailing spaces go.
    pub fn clean_into(&self, value: &str, buf: &mut Vec<u8>) {
        self.clean_bytes_into(value.as_bytes(), buf);
    }

    /// [`Self::clean_into`] for bytes.
    fn clean_bytes_into(&self, value: &[u8], buf: &mut Vec<u8>) {
        let start = buf.len();
        self.tables.unsafe_bytes.copy_cleaned(value, buf);
        while buf.len() > start && buf.last() == Some(&b' ') {
            buf.pop();
        }
    }

    /// A composite value from components (cleaned, trailing empty components dropped).
    pub fn composite(&self, parts: &[&str]) -> String {
        let mut buf = Vec::new();
        let last = parts.iter().rposition(|p| !p.trim().is_empty());
        if let Some(last) = last {
            for (i, p) in parts.iter().take(last + 1).enumerate() {
                if i > 0 {
                    buf.push(self.delims.component);
                }
                self.clean_into(p, &mut buf);
            }
        }
        String::from_utf8_lossy(&buf).into_owned()
    }

    /// A repeated value (cleaned), joined with the repetition separator when there is one.
    pub fn repeated(&self, parts: &[&str]) -> String {
        let mut buf = Vec::new();
        self.push_repeated(parts, &mut buf);
        String::from_utf8_lossy(&buf).into_owned()
    }

    /// Appends [`Self::repeated`]'s bytes to `buf`.
    fn push_repeated(&self, parts: &[&str], buf: &mut Vec<u8>) {
        let sep = self.delims.repetition;
        for (i, p) in parts.iter().filter(|p| !p.is_empty()).enumerate() {
            match (i, sep) {
                (0, _) => {}
                (_, Some(r)) => buf.push(r),
                (_, None) => break,
            }
            self.clean_into(p, buf);
        }
    }

    /// Writes one segment. Elements are cleaned, except those passed through `raw_elements`
    /// (composites already built with [`Self::composite`]); trailing empty elements are dropped.
    pub fn segment(&mut self, id: &str, elements: &[&str]) -> io::Result<()> {
        self.write_segment(id, elements, false)
    }

    /// Writes a segment whose elements may hold component or repetition separators on purpose
    /// (built with [`Self::composite`] / [`Self::repeated`]); other delimiters are still cleaned.
    pub fn segment_composite(&mut self, id: &str, elements: &[&str]) -> io::Result<()> {
        self.write_segment(id, elements, true)
    }

    fn write_segment(&mut self, id: &str, elements: &[&str], composite: bool) -> io::Result<()> {
        let mut buf = std::mem::take(&mut self.scratch);
        buf.clear();
        self.encode_segment(&mut buf, id, elements, composite);
        let result = self.out.write_all(&buf);
        self.count_segment(id, buf.len());
        self.scratch = buf;
        result
    }

    /// Appends the segment's bytes (terminator and line ending included) to `buf`.
    fn encode_segment<E: AsRef<[u8]>>(
        &self,
        buf: &mut Vec<u8>,
        id: &str,
        elements: &[E],
        composite: bool,
    ) {
        push_bytes(buf, id.as_bytes());
        let last = elements.iter().rposition(|e| !e.as_ref().is_empty());
        if let Some(last) = last {
            for e in elements.iter().take(last + 1) {
                buf.push(self.delims.element);
                if composite {
                    self.tables
                        .unsafe_in_composite
                        .copy_cleaned(e.as_ref(), buf);
                } else {
                    self.clean_bytes_into(e.as_ref(), buf);
                }
            }
        }
        buf.push(self.delims.segment);
        push_bytes(buf, self.ending.bytes());
    }

    /// Counts a written segment of `len` bytes (an ST restarts the count for SE01).
    fn count_segment(&mut self, id: &str, len: usize) {
        self.written += len as u64;
        if id == "ST" {
            self.since_st = 1;
        } else {
            self.since_st += 1;
        }
    }

    /// Writes a segment read from input as is (it was read with the same delimiters), counting it.
    pub fn raw_segment(&mut self, raw: &[u8], _terminator: u8) -> io::Result<()> {
        self.out.write_all(raw)?;
        self.out.write_all(&[self.delims.segment])?;
        self.out.write_all(self.ending.bytes())?;
        self.count_raw(raw, raw.len() + 1 + self.ending.bytes().len());
        Ok(())
    }

    /// Counts a raw segment written as `len` bytes (an ST restarts the count for SE01).
    fn count_raw(&mut self, raw: &[u8], len: usize) {
        self.written += len as u64;
        if raw.starts_with(b"ST") && raw.get(2) == Some(&self.delims.element) {
            self.since_st = 1;
        } else {
            self.since_st += 1;
        }
    }

    /// Writes a fixed-width ISA (106 characters) for the given values.
    #[allow(clippy::too_many_arguments)]
    pub fn isa(
        &mut self,
        sender_qualifier: &str,
        sender_id: &str,
        receiver_qualifier: &str,
        receiver_id: &str,
        date_yymmdd: &str,
        time_hhmm: &str,
        control_number: u32,
        ack_requested: bool,
        usage: &str,
    ) -> io::Result<()> {
        let d = self.delims;
        let pad = |s: &str, w: usize| -> String {
            let mut buf = Vec::new();
            self.clean_into(s, &mut buf);
            let mut t = String::from_utf8_lossy(&buf).into_owned();
            t.truncate(w);
            format!("{t:<w$}")
        };
        let e = d.element as char;
        let rep = d.repetition.map(|r| r as char).unwrap_or('^');
        let line = format!(
            "ISA{e}00{e}{}{e}00{e}{}{e}{}{e}{}{e}{}{e}{}{e}{}{e}{}{e}{rep}{e}00501{e}{:09}{e}{}{e}{}{e}{}{}",
            pad("", 10),
            pad("", 10),
            pad(sender_qualifier, 2),
            pad(sender_id, 15),
            pad(receiver_qualifier, 2),
            pad(receiver_id, 15),
            pad(date_yymmdd, 6),
            pad(time_hhmm, 4),
            control_number % 1_000_000_000,
            if ack_requested { '1' } else { '0' },
            pad(usage, 1),
            d.component as char,
            d.segment as char,
        );
        self.out.write_all(line.as_bytes())?;
        self.out.write_all(self.ending.bytes())?;
        self.written += (line.len() + self.ending.bytes().len()) as u64;
        Ok(())
    }

    /// Flushes and returns the inner writer.
    pub fn into_inner(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }

    /// Flushes the inner writer.
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_trailing_empties_and_cleans_delimiters() {
        let mut w = SegmentWriter::new(Vec::new(), Delimiters::default(), LineEnding::None);
        w.segment("UM", &["HS", "I", "", "", ""]).unwrap();
        w.segment("MSG", &["A*B:C~D^E"]).unwrap();
        let comp = w.composite(&["HC", "73721", "", ""]);
        w.segment_composite("SV1", &[&comp, "1200"]).unwrap();
        let out = String::from_utf8(w.into_inner().unwrap()).unwrap();
        assert_eq!(out, "UM*HS*I~MSG*A B C D E~SV1*HC:73721*1200~");
    }

    #[test]
    fn writers_in_turn_with_other_delimiters_clean_for_their_own() {
        // Writers on one thread share the tables of the delimiters last used; a writer with
        // other delimiters must get its own, and the first ones must come back intact.
        let pipes = Delimiters {
            element: b'|',
            repetition: None,
            component: b'!',
            segment: b'\n',
        };
        let value = "A*B|C:D!E~F";
        let write = |d: Delimiters| {
            let mut w = SegmentWriter::new(Vec::new(), d, LineEnding::None);
            w.segment("MSG", &[value]).unwrap();
            String::from_utf8(w.into_inner().unwrap()).unwrap()
        };
        for _ in 0..2 {
            assert_eq!(write(Delimiters::default()), "MSG*A B|C D!E F~");
            assert_eq!(write(pipes), "MSG|A*B C:D E~F\n");
        }
        // A writer made on another thread builds its own tables.
        let other = std::thread::spawn(move || write(pipes)).join().unwrap();
        assert_eq!(other, "MSG|A*B C:D E~F\n");
    }

    #[test]
    fn control_character_separators_survive_in_composites_only() {
        let d = Delimiters {
            element: 0x1d,
            repetition: Some(0x1e),
            component: 0x1f,
            segment: b'\n',
        };
        let mut w = SegmentWriter::new(Vec::new(), d, LineEnding::None);
        let comp = w.composite(&["HC", "73721"]);
        w.segment_composite("SV1", &[&comp, "1\u{1f}2"]).unwrap();
        w.segment("MSG", &["tab\there\u{7f}"]).unwrap();
        let out = w.into_inner().unwrap();
        assert_eq!(
            out,
            b"SV1\x1dHC\x1f73721\x1d1\x1f2\nMSG\x1dtab here\n".to_vec()
        );
    }

    #[test]
    fn raw_segments_in_place_write_and_count_as_through_write() {
        let d = Delimiters::default();
        let segs: [&[u8]; 3] = [b"ST*278*0001*005010X217", b"UM*HS*I*2", b"STX*1"];
        let mut general = SegmentWriter::new(Vec::new(), d, LineEnding::CrLf);
        let mut bytes = Vec::new();
        let mut in_place = SegmentWriter::new(&mut bytes, d, LineEnding::CrLf);
        for raw in segs {
            general.raw_segment(raw, b'~').unwrap();
            in_place.raw_segment_in_place(raw);
            assert_eq!(in_place.segments_since_st(), general.segments_since_st());
            assert_eq!(in_place.bytes_written(), general.bytes_written());
        }
        // STX is not an ST: the count goes on.
        assert_eq!(general.segments_since_st(), 3);
        drop(in_place);
        assert_eq!(bytes, general.into_inner().unwrap());
        assert!(bytes.ends_with(b"STX*1~\r\n"));
    }

    #[test]
    fn hl_in_place_writes_and_counts_as_the_general_encoder() {
        // Default delimiters, and a newline terminator with `|` and `^` separators.
        let newline = Delimiters {
            element: b'|',
            component: b'^',
            repetition: None,
            segment: b'\n',
        };
        for d in [Delimiters::default(), newline] {
            let mut general = SegmentWriter::new(Vec::new(), d, LineEnding::CrLf);
            let mut bytes = Vec::new();
            let mut fast = SegmentWriter::new(&mut bytes, d, LineEnding::CrLf);
            let levels = [
                (1, None, "20", true),
                (2, Some(1), "21", true),
                (12, Some(9), "EV", false),
                (1_000_000, Some(4_294_967_295), "SS", false),
            ];
            for (id, parent, level, children) in levels {
                let (id_text, parent_text) = (id.to_string(), parent.map(|p: u32| p.to_string()));
                let els = [
                    id_text.as_str(),
                    parent_text.as_deref().unwrap_or(""),
                    level,
                    if children { "1" } else { "0" },
                ];
                general.segment("HL", &els).unwrap();
                fast.hl_in_place(id, parent, level, children);
                assert_eq!(fast.segments_since_st(), general.segments_since_st());
                assert_eq!(fast.bytes_written(), general.bytes_written());
            }
            drop(fast);
            assert_eq!(bytes, general.into_inner().unwrap());
        }
    }

    /// HCR written directly against the general composite encoder with `repeated`.
    fn hcr_both_ways(
        d: Delimiters,
        action: &str,
        cert: &str,
        reasons: &[&str],
    ) -> (Vec<u8>, Vec<u8>) {
        let mut general = Vec::new();
        let mut w = SegmentWriter::new(&mut general, d, LineEnding::Lf);
        let joined = w.repeated(reasons);
        w.segment_composite_in_place("HCR", &[action, cert, &joined]);
        let (count, bytes) = (w.segments_since_st(), w.bytes_written());
        drop(w);
        let mut direct = Vec::new();
        let mut w = SegmentWriter::new(&mut direct, d, LineEnding::Lf);
        w.hcr_in_place(action, cert.as_bytes(), reasons);
        assert_eq!((w.segments_since_st(), w.bytes_written()), (count, bytes));
        drop(w);
        (direct, general)
    }

    #[test]
    fn hcr_in_place_writes_what_the_composite_encoder_writes() {
        let d = Delimiters::default();
        let (direct, general) = hcr_both_ways(d, "A3", "UMB1F", &["CO", "", "N4"]);
        assert_eq!(direct, b"HCR*A3*UMB1F*CO^N4~\n");
        assert_eq!(direct, general);
        // Trailing empty elements are dropped, inner ones kept.
        assert_eq!(hcr_both_ways(d, "A1", "", &[]).0, b"HCR*A1~\n");
        assert_eq!(hcr_both_ways(d, "A1", "", &["X"]).0, b"HCR*A1**X~\n");
        // A reason that cleans down to nothing counts as empty.
        assert_eq!(hcr_both_ways(d, "A1", "C", &[" "]).0, b"HCR*A1*C~\n");
    }

    proptest::proptest! {
        #[test]
        fn hcr_in_place_matches_the_composite_encoder_on_any_values(
            action in "[A1*:^~ \n]{0,3}",
            cert in "[A1*:^~ \n]{0,3}",
            reasons in proptest::collection::vec("[A1*:^~ \n]{0,3}", 0..4),
            with_repetition in proptest::bool::ANY,
        ) {
            let mut d = Delimiters::default();
            if !with_repetition {
                d.repetition = None;
            }
            let reasons: Vec<&str> = reasons.iter().map(String::as_str).collect();
            let (direct, general) = hcr_both_ways(d, &action, &cert, &reasons);
            proptest::prop_assert_eq!(direct, general);
        }
    }

    #[test]
    fn ours_in_place_writes_what_the_general_encoder_writes() {
        let dash = Delimiters {
            element: b'-',
            ..Delimiters::default()
        };
        let dot = Delimiters {
            component: b'.',
            ..Delimiters::default()
        };
        let underscore = Delimiters {
            repetition: Some(b'_'),
            ..Delimiters::default()
        };
        for d in [Delimiters::default(), dash, dot, underscore] {
            for els in [
                &["AAH", "RD8", "20261110-20261111"][..],
                &["102", "D8", "20261120"],
                &["435", "", "20261120", "", ""],
                &["", ""],
                &["1", "UM_B.1-X", "9UMBATCH01"],
            ] {
                let mut general = SegmentWriter::new(Vec::new(), d, LineEnding::CrLf);
                general.segment("DTP", els).unwrap();
                let mut bytes = Vec::new();
                let mut ours = SegmentWriter::new(&mut bytes, d, LineEnding::CrLf);
                let els: Vec<&[u8]> = els.iter().map(|e| e.as_bytes()).collect();
                ours.ours_in_place("DTP", &els);
                assert_eq!(ours.segments_since_st(), general.segments_since_st());
                assert_eq!(ours.bytes_written(), general.bytes_written());
                drop(ours);
                assert_eq!(bytes, general.into_inner().unwrap(), "{els:?}");
            }
        }
    }

    #[test]
    fn isa_is_fixed_width() {
        let mut w = SegmentWriter::new(Vec::new(), Delimiters::default(), LineEnding::None);
        w.isa(
            "ZZ",
            "UMO0001",
            "ZZ",
            "SUBMITTER01",
            "260115",
            "0931",
            501,
            false,
            "T",
        )
        .unwrap();
        let out = w.into_inner().unwrap();
        assert_eq!(out.len(), 106);
        assert_eq!(
            &out[..],
            &b"ISA*00*          *00*          *ZZ*UMO0001        *ZZ*SUBMITTER01    *260115*0931*^*00501*000000501*0*T*:~"[..]
        );
    }
}
