//! Segments: zero-copy views of one X12 segment and the scanner that cuts them out of bytes.
//!
//! A segment borrows the input unless the sender hard-wrapped it (line breaks inside a segment
//! whose terminator is not a line break); only then are the bytes copied without the breaks.
//! Whitespace between segments (CR, LF, spaces, indentation) is skipped, and a CR before a
//! newline terminator is dropped, so the same data reads the same whatever its layout.

use super::isa::Delimiters;
use nom::IResult;
use std::borrow::Cow;

/// How many element separator positions a segment keeps inline; longer segments fall back to
/// scanning for the elements beyond.
const INDEXED: usize = 24;

/// A separator position inside a segment. One byte: nearly every segment of a 278 is shorter
/// than 256 bytes, and a smaller segment is cheaper to build, collect and walk. A longer one
/// (a long MSG text) is not indexed, and its elements are found by scanning.
type SepPos = u8;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Body<'a> {
    /// Valid UTF-8 (the normal case): elements are sliced without re-validation.
    Text(Cow<'a, str>),
    /// Bytes that are not valid UTF-8; elements are validated one by one.
    Bytes(Cow<'a, [u8]>),
}

/// One segment, without its terminator, with its element positions indexed once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment<'a> {
    /// Byte offset of the segment's first byte in the file.
    pub offset: u64,
    body: Body<'a>,
    delims: Delimiters,
    /// Positions of the first `INDEXED` element separators.
    seps: [SepPos; INDEXED],
    /// Number of separators recorded in `seps`.
    count: u8,
    /// True when the segment has more separators than recorded, or is too long to index.
    overflow: bool,
}

impl<'a> Segment<'a> {
    /// Wraps bytes (no terminator) read with the given delimiters.
    pub fn new(offset: u64, bytes: Cow<'a, [u8]>, delims: Delimiters) -> Self {
        let body = match bytes {
            Cow::Borrowed(b) => match std::str::from_utf8(b) {
                Ok(s) => Body::Text(Cow::Borrowed(s)),
                Err(_) => Body::Bytes(Cow::Borrowed(b)),
            },
            Cow::Owned(v) => match String::from_utf8(v) {
                Ok(s) => Body::Text(Cow::Owned(s)),
                Err(e) => Body::Bytes(Cow::Owned(e.into_bytes())),
            },
        };
        Self::index(offset, body, delims)
    }

    /// Wraps text that is already known to be valid UTF-8.
    pub fn from_text(offset: u64, text: Cow<'a, str>, delims: Delimiters) -> Self {
        Self::index(offset, Body::Text(text), delims)
    }

    /// Wraps text that is already known to be valid UTF-8 and is followed in memory by
    /// `window`'s further bytes (`window` starts with the text): the element separators are
    /// found a block at a time without a partial last block.
    #[inline]
    pub fn from_text_in(offset: u64, text: &'a str, window: &[u8], delims: Delimiters) -> Self {
        // The window must be the text's own memory (compared by address, not by content).
        let lends = std::ptr::eq(window.as_ptr(), text.as_ptr()) && window.len() >= text.len();
        let index = if lends {
            separators(window, text.len(), delims.element)
        } else {
            separators(text.as_bytes(), text.len(), delims.element)
        };
        Self::with_index(offset, Body::Text(Cow::Borrowed(text)), delims, index)
    }

    #[inline]
    fn index(offset: u64, body: Body<'a>, delims: Delimiters) -> Self {
        let bytes = match &body {
            Body::Text(s) => s.as_bytes(),
            Body::Bytes(b) => b,
        };
        let index = separators(bytes, bytes.len(), delims.element);
        Self::with_index(offset, body, delims, index)
    }

    #[inline(always)]
    fn with_index(offset: u64, body: Body<'a>, delims: Delimiters, index: Index) -> Self {
        let (seps, count, overflow) = index;
        Segment {
            offset,
            body,
            delims,
            seps,
            count,
            overflow,
        }
    }

    /// The raw bytes of the segment, without terminator.
    pub fn raw(&self) -> &[u8] {
        match &self.body {
            Body::Text(s) => s.as_bytes(),
            Body::Bytes(b) => b,
        }
    }

    /// True when the segment is valid UTF-8 text.
    pub fn is_text(&self) -> bool {
        matches!(self.body, Body::Text(_))
    }

    /// The delimiters the segment was read with.
    pub fn delimiters(&self) -> Delimiters {
        self.delims
    }

    /// Byte range of element `n` (0 = id), or None when absent.
    fn range(&self, n: usize) -> Option<(usize, usize)> {
        self.range_in(n, self.raw().len())
    }

    /// Both ends of element `n` when the index holds them (or they are the body's ends).
    #[inline]
    fn indexed_range(&self, n: usize, len: usize) -> Option<(usize, usize)> {
        let count = usize::from(self.count);
        if n > count || (self.overflow && n == count) {
            return None;
        }
        let start = match n.checked_sub(1) {
            Some(i) => usize::from(*self.seps.get(i)?) + 1,
            None => 0,
        };
        let end = if n < count {
            usize::from(*self.seps.get(n)?)
        } else {
            len
        };
        Some((start, end))
    }

    /// [`Self::range`] for a body of `len` bytes (callers that already hold the body pass its
    /// length rather than matching on it twice).
    fn range_in(&self, n: usize, len: usize) -> Option<(usize, usize)> {
        if let Some(range) = self.indexed_range(n, len) {
            return Some(range);
        }
        let count = usize::from(self.count);
        if !self.overflow {
            return None;
        }
        // Beyond the index: scan from the last indexed separator.
        let (from, skip) = match count.checked_sub(1).and_then(|i| self.seps.get(i)) {
            Some(&p) => (usize::from(p) + 1, n.saturating_sub(count)),
            None => (0, n),
        };
        let rest = self.raw().get(from..)?;
        let mut start = 0;
        let mut it = memchr::memchr_iter(self.delims.element, rest);
        for _ in 0..skip {
            start = it.next()? + 1;
        }
        let end = it.next().unwrap_or(rest.len());
        Some((from + start, from + end))
    }

    /// The segment identifier (`NM1`, `HL`…), the bytes before the first element separator.
    pub fn id(&self) -> &[u8] {
        // The first separator is indexed whenever there is one: no scan, no range arithmetic
        // (the model builder and the response writer ask every segment for its id).
        let raw = self.raw();
        match self.seps.first() {
            Some(&end) if self.count > 0 => raw.get(..usize::from(end)).unwrap_or(raw),
            _ => self.element(0),
        }
    }

    /// The segment identifier as text (empty when it is not ASCII).
    pub fn id_str(&self) -> &str {
        self.get(0)
    }

    /// Element `n` (1-based) as raw bytes; empty when absent. Element 0 is the id.
    pub fn element(&self, n: usize) -> &[u8] {
        self.range(n)
            .and_then(|(a, b)| self.raw().get(a..b))
            .unwrap_or(&[])
    }

    /// Element `n` as text; empty when absent or not valid UTF-8.
    #[inline]
    pub fn get(&self, n: usize) -> &str {
        // The usual case, inlined into the model builder's many element reads: text, and an
        // element whose ends are both indexed.
        let count = usize::from(self.count);
        if n > count && !self.overflow {
            // An absent element (the builder asks for optional ones).
            return "";
        }
        if let Body::Text(text) = &self.body {
            let text: &str = text;
            if let Some((start, end)) = self.indexed_range(n, text.len()) {
                return text.get(start..end).unwrap_or("");
            }
        }
        self.get_general(n)
    }

    /// True when element `n` holds something: `!get(n).is_empty()` without making the slice
    /// (the builder asks this of every required element).
    #[inline]
    pub fn has(&self, n: usize) -> bool {
        if let Body::Text(text) = &self.body {
            if let Some((start, end)) = self.indexed_range(n, text.len()) {
                return start < end;
            }
        }
        !self.get(n).is_empty()
    }

    /// [`Self::get`] for bytes that are not UTF-8 and elements beyond the index.
    #[inline(never)]
    fn get_general(&self, n: usize) -> &str {
        match &self.body {
            Body::Text(s) => {
                let s: &str = s;
                self.range_in(n, s.len())
                    .and_then(|(a, b)| s.get(a..b))
                    .unwrap_or("")
            }
            Body::Bytes(bytes) => self
                .range_in(n, bytes.len())
                .and_then(|(a, b)| bytes.get(a..b))
                .and_then(|e| std::str::from_utf8(e).ok())
                .unwrap_or(""),
        }
    }

    /// Number of elements after the id (trailing empty elements included as sent).
    pub fn element_count(&self) -> usize {
        if self.overflow {
            memchr::memchr_iter(self.delims.element, self.raw()).count()
        } else {
            usize::from(self.count)
        }
    }

    /// Component `c` (1-based) of element `n`, as text. For a single value; to read a
    /// composite's parts, [`Self::components_array`] cuts the element once.
    pub fn component(&self, n: usize, c: usize) -> &str {
        self.components(n).nth(c.saturating_sub(1)).unwrap_or("")
    }

    /// The first `N` components of element `n`, as text, cut in one pass (empty where absent;
    /// components beyond `N` are ignored). Composites such as SV1-01 or HI-01 are read whole,
    /// and asking [`Self::component`] for each part scanned the element again from the start
    /// every time.
    pub fn components_array<const N: usize>(&self, n: usize) -> [&str; N] {
        let mut out = [""; N];
        let element = self.get(n);
        let comp = self.delims.component;
        if !comp.is_ascii() {
            for (slot, part) in out.iter_mut().zip(element.split(char::from(comp))) {
                *slot = part;
            }
            return out;
        }
        let mut rest = element;
        for slot in out.iter_mut() {
            match rest.bytes().position(|b| b == comp) {
                Some(at) => {
                    *slot = rest.get(..at).unwrap_or("");
                    rest = rest.get(at + 1..).unwrap_or("");
                }
                None => {
                    *slot = rest;
                    break;
                }
            }
        }
        out
    }

    /// All components of element `n`, as text.
    pub fn components(&self, n: usize) -> impl Iterator<Item = &str> {
        let comp = self.delims.component as char;
        self.get(n).split(comp)
    }

    /// All elements after the id, as raw bytes.
    pub fn elements(&self) -> impl Iterator<Item = &[u8]> {
        self.raw().split(|&b| b == self.delims.element).skip(1)
    }

    /// Repetitions of element `n` (split on the repetition separator when there is one).
    pub fn repetitions(&self, n: usize) -> Vec<&str> {
        let e = self.get(n);
        match self.delims.repetition {
            Some(r) => e.split(r as char).collect(),
            None => vec![e],
        }
    }

    /// True when the segment id is `id`.
    pub fn is(&self, id: &str) -> bool {
        // Ids are two or three bytes: compare inline rather than through a memcmp call
        // (this runs for every segment the response writer walks).
        let (a, b) = (self.id(), id.as_bytes());
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x == y)
    }

    /// Makes the segment own its bytes so it can outlive the input buffer.
    pub fn into_owned(self) -> Segment<'static> {
        let body = match self.body {
            Body::Text(s) => Body::Text(Cow::Owned(s.into_owned())),
            Body::Bytes(b) => Body::Bytes(Cow::Owned(b.into_owned())),
        };
        Segment {
            offset: self.offset,
            body,
            delims: self.delims,
            seps: self.seps,
            count: self.count,
            overflow: self.overflow,
        }
    }
}

/// What the scanner found next.
#[derive(Debug, PartialEq, Eq)]
pub enum Scanned<'a> {
    /// A complete segment; `end` is the position just after its terminator.
    Segment {
        /// The segment.
        segment: Segment<'a>,
        /// Input position after the terminator.
        end: usize,
    },
    /// Only whitespace remains.
    End,
    /// Bytes remain but no terminator follows them (truncated input, or more bytes needed).
    Unterminated {
        /// Position of the first non-blank byte.
        start: usize,
    },
}

/// A segment's element index: separator positions, how many, and whether there are more.
type Index = ([SepPos; INDEXED], u8, bool);

/// Positions of the first [`INDEXED`] element separators among the first `len` bytes of
/// `window`, how many were kept, and whether there are more (or the segment is too long for
/// [`SepPos`] positions) so that later elements must be found by scanning.
#[inline]
fn separators(window: &[u8], len: usize, element: u8) -> Index {
    let mut seps = [0; INDEXED];
    if len > usize::from(SepPos::MAX) {
        return (seps, 0, true);
    }
    let mut count = 0usize;
    let mut overflow = false;
    super::bytescan::each_position(window, len, element, |at| match seps.get_mut(count) {
        Some(slot) => {
            *slot = at as SepPos;
            count += 1;
            true
        }
        None => {
            overflow = true;
            false
        }
    });
    (seps, count as u8, overflow)
}

/// Bytes skipped between segments: space, tab, CR, LF, vertical tab and form feed.
pub fn is_blank(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n' | 0x0b | 0x0c)
}

/// nom parser for one segment body: everything up to the terminator, terminator consumed.
fn segment_body(term: u8) -> impl Fn(&[u8]) -> IResult<&[u8], &[u8]> {
    move |i: &[u8]| match memchr::memchr(term, i) {
        Some(n) => Ok((i.get(n + 1..).unwrap_or(&[]), i.get(..n).unwrap_or(&[]))),
        None => Err(nom::Err::Incomplete(nom::Needed::Unknown)),
    }
}

/// A segment body found by [`scan_body`], before it is indexed.
#[derive(Debug, PartialEq, Eq)]
pub enum Scan<'a> {
    /// A complete segment body (layout removed) and the position after its terminator.
    Body {
        /// Position of the segment's first byte.
        start: usize,
        /// The bytes without terminator.
        body: Cow<'a, [u8]>,
        /// Position of the terminator.
        term: usize,
        /// Position after the terminator.
        end: usize,
    },
    /// Only whitespace remains.
    End,
    /// Bytes remain but no terminator follows them.
    Unterminated {
        /// Position of the first non-blank byte.
        start: usize,
    },
}

/// Finds the next segment body in `input` starting at `pos`, without indexing it.
// Always inlined: it runs for every segment, and as a call its `Scan` went through memory;
// as a hint, the `umbatch` build did not take it. About 800 instructions a request.
#[inline(always)]
pub fn scan_body(input: &[u8], pos: usize, d: Delimiters) -> Scan<'_> {
    let rest = input.get(pos..).unwrap_or(&[]);
    let Some(skip) = rest.iter().position(|&b| !is_blank(b)) else {
        return Scan::End;
    };
    let start = pos + skip;
    let from = input.get(start..).unwrap_or(&[]);
    let newline_term = d.segment == b'\n' || d.segment == b'\r';
    if !newline_term {
        // The usual case in one pass: the terminator comes before any line break, so the body
        // is the bytes up to it, borrowed.
        if let Some(n) = plain_end(from, d.segment) {
            return Scan::Body {
                start,
                body: Cow::Borrowed(from.get(..n).unwrap_or_default()),
                term: start + n,
                end: start + n + 1,
            };
        }
    }
    match segment_body(d.segment)(from) {
        Ok((after, body)) => {
            let end = input.len() - after.len();
            let body: Cow<'_, [u8]> = if newline_term {
                Cow::Borrowed(body.strip_suffix(b"\r").unwrap_or(body))
            } else if memchr::memchr2(b'\r', b'\n', body).is_some() {
                Cow::Owned(
                    body.iter()
                        .copied()
                        .filter(|&b| b != b'\r' && b != b'\n')
                        .collect(),
                )
            } else {
                Cow::Borrowed(body)
            };
            Scan::Body {
                start,
                body,
                term: end.saturating_sub(1),
                end,
            }
        }
        Err(_) => Scan::Unterminated { start },
    }
}

/// Length of the segment body at the start of `from` when the terminator `term` (not a line
/// break) comes before any line break; None when a line break comes first (a hard-wrapped
/// segment) or there is no terminator yet.
#[inline(always)]
pub(crate) fn plain_end(from: &[u8], term: u8) -> Option<usize> {
    let n = super::bytescan::find_end_or_break(from, term)?;
    (from.get(n) == Some(&term)).then_some(n)
}

/// Finds the next segment in `input` starting at `pos`; `base` is the file offset of `input[0]`.
pub fn scan_segment(input: &[u8], pos: usize, base: u64, d: Delimiters) -> Scanned<'_> {
    match scan_body(input, pos, d) {
        Scan::Body {
            start, body, end, ..
        } => Scanned::Segment {
            segment: Segment::new(base + start as u64, body, d),
            end,
        },
        Scan::End => Scanned::End,
        Scan::Unterminated { start } => Scanned::Unterminated { start },
    }
}

/// Iterates the segments of a byte range that is known to hold whole segments.
///
/// The range is validated as UTF-8 once; segments of a valid range are sliced as text.
pub struct Segments<'a> {
    input: &'a [u8],
    text: Option<&'a str>,
    pos: usize,
    base: u64,
    delims: Delimiters,
}

impl<'a> Segments<'a> {
    /// Segments of `input` (file offset `base`) read with `delims`.
    pub fn new(input: &'a [u8], base: u64, delims: Delimiters) -> Self {
        Segments {
            input,
            text: std::str::from_utf8(input).ok(),
            pos: 0,
            base,
            delims,
        }
    }

    fn make(&self, start: usize, body: Cow<'a, [u8]>) -> Segment<'a> {
        let offset = self.base + start as u64;
        match (self.text, body) {
            (Some(text), Cow::Borrowed(b)) => {
                let from = b.as_ptr() as usize - self.input.as_ptr() as usize;
                match text.get(from..from + b.len()) {
                    Some(s) => Segment::from_text(offset, Cow::Borrowed(s), self.delims),
                    None => Segment::new(offset, Cow::Borrowed(b), self.delims),
                }
            }
            (_, body) => Segment::new(offset, body, self.delims),
        }
    }
}

impl<'a> Iterator for Segments<'a> {
    type Item = Segment<'a>;
    fn next(&mut self) -> Option<Segment<'a>> {
        match scan_body(self.input, self.pos, self.delims) {
            Scan::Body {
                start, body, end, ..
            } => {
                self.pos = end;
                Some(self.make(start, body))
            }
            Scan::End => None,
            Scan::Unterminated { start } => {
                // A final segment without terminator: yield it once so nothing is lost.
                let body = self.input.get(start..).unwrap_or(&[]);
                self.pos = self.input.len();
                let body = body
                    .iter()
                    .rposition(|&b| !is_blank(b))
                    .and_then(|n| body.get(..=n))
                    .unwrap_or(body);
                Some(self.make(start, Cow::Borrowed(body)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_elements_and_components() {
        let s = Segment::new(
            0,
            Cow::Borrowed(b"SV1*HC:73721:RT*1200*UN*1"),
            Delimiters::default(),
        );
        assert_eq!(s.id(), b"SV1");
        assert_eq!(s.get(2), "1200");
        assert_eq!(s.component(1, 2), "73721");
        assert_eq!(s.component(1, 3), "RT");
        assert_eq!(s.component(1, 4), "");
        assert_eq!(s.components_array::<4>(1), ["HC", "73721", "RT", ""]);
        assert_eq!(s.components_array::<2>(1), ["HC", "73721"]);
        assert_eq!(s.components_array::<2>(9), ["", ""]);
        assert_eq!(s.get(9), "");
        assert_eq!(s.element_count(), 4);
    }

    #[test]
    fn segments_too_long_to_index_read_the_same() {
        // Past 255 bytes the separator positions no longer fit the index; elements are then
        // found by scanning, and must read exactly as a plain split does.
        let long = "X".repeat(300);
        for text in [
            format!("MSG*{long}"),
            format!("MSG*{long}*B"),
            format!("NM1*IL*1*{long}*JANE****MI*ID9"),
            format!("NM1*IL*1*SMITH*JANE****MI*{long}"),
        ] {
            let seg = Segment::new(0, Cow::Borrowed(text.as_bytes()), Delimiters::default());
            let parts: Vec<&str> = text.split('*').collect();
            assert_eq!(seg.id_str(), parts[0]);
            assert_eq!(seg.element_count(), parts.len() - 1);
            for n in 0..parts.len() + 2 {
                let want = parts.get(n).copied().unwrap_or("");
                assert_eq!(seg.get(n), want, "element {n}");
                assert_eq!(seg.has(n), !want.is_empty());
            }
        }
    }

    #[test]
    fn a_lent_window_indexes_like_the_text_alone() {
        // The element separators after the segment's end (in the next segment) are not its own.
        let buf = "HL*1**20*1~NM1*X3*2*UMBATCH MEDICAL GROUP*****PI*UMB01~";
        let text = buf.get(..10).unwrap();
        let d = Delimiters::default();
        let lent = Segment::from_text_in(0, text, buf.as_bytes(), d);
        let alone = Segment::from_text(0, Cow::Borrowed(text), d);
        assert_eq!(lent, alone);
        assert_eq!(lent.element_count(), 4);
        assert_eq!((lent.get(3), lent.get(4), lent.get(5)), ("20", "1", ""));
        // A window that is not the text's own memory is not trusted.
        let other = Segment::from_text_in(0, text, b"HL**********************", d);
        assert_eq!(other, alone);
    }

    #[test]
    fn skips_layout_and_unwraps_hard_wrapped_lines() {
        let d = Delimiters::default();
        let input = b"  ST*278*0001~\r\n\tBHT*0007*13*RE\r\nQ1~";
        let segs: Vec<_> = Segments::new(input, 100, d).collect();
        assert_eq!(segs.len(), 2);
        assert_eq!(segs[0].raw(), b"ST*278*0001");
        assert_eq!(segs[0].offset, 102);
        assert_eq!(segs[1].raw(), b"BHT*0007*13*REQ1");
    }

    #[test]
    fn newline_terminator_drops_cr() {
        let d = Delimiters {
            segment: b'\n',
            ..Delimiters::default()
        };
        let segs: Vec<_> = Segments::new(b"ST*278*1\r\nSE*2*1\r\n", 0, d).collect();
        assert_eq!(segs[0].raw(), b"ST*278*1");
        assert_eq!(segs[1].raw(), b"SE*2*1");
    }

    proptest::proptest! {
        #[test]
        fn elements_match_a_plain_split(
            elements in proptest::collection::vec("[A-Z0-9:]{0,9}", 0..40),
        ) {
            let text = std::iter::once("NM1".to_string()).chain(elements).collect::<Vec<_>>().join("*");
            let seg = Segment::new(0, Cow::Borrowed(text.as_bytes()), Delimiters::default());
            let parts: Vec<&str> = text.split('*').collect();
            for n in 0..parts.len() + 3 {
                proptest::prop_assert_eq!(seg.get(n), parts.get(n).copied().unwrap_or(""), "element {}", n);
                proptest::prop_assert_eq!(seg.element(n), parts.get(n).copied().unwrap_or("").as_bytes());
                proptest::prop_assert_eq!(seg.has(n), !seg.get(n).is_empty());
                for c in 0..5 {
                    let want = parts.get(n).copied().unwrap_or("").split(':').nth(c.max(1) - 1).unwrap_or("");
                    proptest::prop_assert_eq!(seg.component(n, c), want, "element {} component {}", n, c);
                }
                // Cut in one pass, the parts are the ones asked for one at a time.
                let three: [&str; 3] = seg.components_array(n);
                let seven: [&str; 7] = seg.components_array(n);
                for c in 1..=7 {
                    if let Some(&got) = three.get(c - 1) {
                        proptest::prop_assert_eq!(got, seg.component(n, c));
                    }
                    proptest::prop_assert_eq!(seven[c - 1], seg.component(n, c), "element {} component {}", n, c);
                }
            }
            proptest::prop_assert_eq!(seg.element_count(), parts.len() - 1);
        }
    }

    #[test]
    fn has_agrees_with_get_on_bytes_that_are_not_text() {
        let s = Segment::new(
            0,
            Cow::Borrowed(b"NM1*IL*\xff\xfe**X"),
            Delimiters::default(),
        );
        assert!(!s.is_text());
        let got: Vec<(bool, &str)> = (0..7).map(|n| (s.has(n), s.get(n))).collect();
        assert_eq!(
            got,
            [
                (true, "NM1"),
                (true, "IL"),
                (false, ""),
                (false, ""),
                (true, "X"),
                (false, ""),
                (false, "")
            ]
        );
    }

    #[test]
    fn repetitions_split_on_repetition_separator() {
        let s = Segment::new(0, Cow::Borrowed(b"HCR*A3*1*0F^0M"), Delimiters::default());
        assert_eq!(s.repetitions(3), vec!["0F", "0M"]);
    }
}
