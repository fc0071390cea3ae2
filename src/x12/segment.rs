//! Segments: zero-copy views of one X12 segment and the scanner that cuts them out of bytes.
//!
//! A segment borrows the input unless the sender hard-wrapped it (line breaks inside a segment
//! whose terminator is not a line break); only then are the bytes copied without the breaks.
//! Whitespace between segments (CR, LF, spaces, indentation) is skipped, and a CR before a
//! newline terminator is dropped, so the same data reads the same whatever its layout.

use super::isa::Delimiters;
use nom::IResult;
use std::borrow::Cow;

/// One segment, without its terminator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment<'a> {
    /// Byte offset of the segment's first byte in the file.
    pub offset: u64,
    bytes: Cow<'a, [u8]>,
    delims: Delimiters,
}

impl<'a> Segment<'a> {
    /// Wraps bytes (no terminator) read with the given delimiters.
    pub fn new(offset: u64, bytes: Cow<'a, [u8]>, delims: Delimiters) -> Self {
        Segment {
            offset,
            bytes,
            delims,
        }
    }

    /// The raw bytes of the segment, without terminator.
    pub fn raw(&self) -> &[u8] {
        &self.bytes
    }

    /// The delimiters the segment was read with.
    pub fn delimiters(&self) -> Delimiters {
        self.delims
    }

    /// The segment identifier (`NM1`, `HL`…), the bytes before the first element separator.
    pub fn id(&self) -> &[u8] {
        let b: &[u8] = &self.bytes;
        match memchr::memchr(self.delims.element, b) {
            Some(n) => b.get(..n).unwrap_or(b),
            None => b,
        }
    }

    /// The segment identifier as text (empty when it is not ASCII).
    pub fn id_str(&self) -> &str {
        std::str::from_utf8(self.id()).unwrap_or("")
    }

    /// Element `n` (1-based) as raw bytes; empty when absent. Element 0 is the id.
    pub fn element(&self, n: usize) -> &[u8] {
        let mut it = self.bytes.split(|&b| b == self.delims.element);
        it.nth(n).unwrap_or(&[])
    }

    /// Element `n` as text; empty when absent or not valid UTF-8.
    pub fn get(&self, n: usize) -> &str {
        std::str::from_utf8(self.element(n)).unwrap_or("")
    }

    /// Number of elements after the id (trailing empty elements included as sent).
    pub fn element_count(&self) -> usize {
        memchr::memchr_iter(self.delims.element, &self.bytes).count()
    }

    /// Component `c` (1-based) of element `n`, as text.
    pub fn component(&self, n: usize, c: usize) -> &str {
        let e = self.element(n);
        let part = e
            .split(|&b| b == self.delims.component)
            .nth(c.saturating_sub(1))
            .unwrap_or(&[]);
        std::str::from_utf8(part).unwrap_or("")
    }

    /// All components of element `n`, as text.
    pub fn components(&self, n: usize) -> impl Iterator<Item = &str> {
        let comp = self.delims.component;
        self.element(n)
            .split(move |&b| b == comp)
            .map(|p| std::str::from_utf8(p).unwrap_or(""))
    }

    /// All elements after the id, as raw bytes.
    pub fn elements(&self) -> impl Iterator<Item = &[u8]> {
        self.bytes.split(|&b| b == self.delims.element).skip(1)
    }

    /// Repetitions of element `n` (split on the repetition separator when there is one).
    pub fn repetitions(&self, n: usize) -> Vec<&str> {
        let e = self.element(n);
        match self.delims.repetition {
            Some(r) => e
                .split(|&b| b == r)
                .map(|p| std::str::from_utf8(p).unwrap_or(""))
                .collect(),
            None => vec![std::str::from_utf8(e).unwrap_or("")],
        }
    }

    /// True when the segment id is `id`.
    pub fn is(&self, id: &str) -> bool {
        self.id() == id.as_bytes()
    }

    /// Makes the segment own its bytes so it can outlive the input buffer.
    pub fn into_owned(self) -> Segment<'static> {
        Segment {
            offset: self.offset,
            bytes: Cow::Owned(self.bytes.into_owned()),
            delims: self.delims,
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

/// Finds the next segment in `input` starting at `pos`; `base` is the file offset of `input[0]`.
pub fn scan_segment(input: &[u8], pos: usize, base: u64, d: Delimiters) -> Scanned<'_> {
    let rest = input.get(pos..).unwrap_or(&[]);
    let Some(skip) = rest.iter().position(|&b| !is_blank(b)) else {
        return Scanned::End;
    };
    let start = pos + skip;
    let from = input.get(start..).unwrap_or(&[]);
    match segment_body(d.segment)(from) {
        Ok((after, body)) => {
            let end = input.len() - after.len();
            let newline_term = d.segment == b'\n' || d.segment == b'\r';
            let bytes: Cow<'_, [u8]> = if newline_term {
                Cow::Borrowed(body.strip_suffix(b"\r").unwrap_or(body))
            } else if memchr::memchr2(b'\r', b'\n', body).is_some() {
                Cow::Owned(body.iter().copied().filter(|&b| b != b'\r' && b != b'\n').collect())
            } else {
                Cow::Borrowed(body)
            };
            Scanned::Segment {
                segment: Segment::new(base + start as u64, bytes, d),
                end,
            }
        }
        Err(_) => Scanned::Unterminated { start },
    }
}

/// Iterates the segments of a byte range that is known to hold whole segments.
pub struct Segments<'a> {
    input: &'a [u8],
    pos: usize,
    base: u64,
    delims: Delimiters,
}

impl<'a> Segments<'a> {
    /// Segments of `input` (file offset `base`) read with `delims`.
    pub fn new(input: &'a [u8], base: u64, delims: Delimiters) -> Self {
        Segments {
            input,
            pos: 0,
            base,
            delims,
        }
    }
}

impl<'a> Iterator for Segments<'a> {
    type Item = Segment<'a>;
    fn next(&mut self) -> Option<Segment<'a>> {
        match scan_segment(self.input, self.pos, self.base, self.delims) {
            Scanned::Segment { segment, end } => {
                self.pos = end;
                Some(segment)
            }
            Scanned::End => None,
            Scanned::Unterminated { start } => {
                // A final segment without terminator: yield it once so nothing is lost.
                let body = self.input.get(start..).unwrap_or(&[]);
                self.pos = self.input.len();
                let body = body
                    .iter()
                    .rposition(|&b| !is_blank(b))
                    .and_then(|n| body.get(..=n))
                    .unwrap_or(body);
                Some(Segment::new(
                    self.base + start as u64,
                    Cow::Borrowed(body),
                    self.delims,
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_elements_and_components() {
        let s = Segment::new(0, Cow::Borrowed(b"SV1*HC:73721:RT*1200*UN*1"), Delimiters::default());
        assert_eq!(s.id(), b"SV1");
        assert_eq!(s.get(2), "1200");
        assert_eq!(s.component(1, 2), "73721");
        assert_eq!(s.component(1, 3), "RT");
        assert_eq!(s.component(1, 4), "");
        assert_eq!(s.get(9), "");
        assert_eq!(s.element_count(), 4);
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

    #[test]
    fn repetitions_split_on_repetition_separator() {
        let s = Segment::new(0, Cow::Borrowed(b"HCR*A3*1*0F^0M"), Delimiters::default());
        assert_eq!(s.repetitions(3), vec!["0F", "0M"]);
    }
}
