//! The ISA interchange header: delimiter detection and the fixed-width check.
//!
//! ISA is the only X12 segment with fixed-width elements; its byte 3 is the element separator,
//! ISA11 the repetition separator (5010), ISA16 the component separator and the byte after ISA16
//! the segment terminator (reference §1.2–1.3). Strict mode requires the 106-byte layout; lenient
//! mode accepts collapsed padding (seen in real files) and reports it as a warning.
//! Line breaks inside the ISA (hard-wrapped files) are skipped before the layout is checked.

use nom::bytes::complete::{tag, take};
use nom::combinator::verify;
use nom::sequence::terminated;
use nom::IResult;
use serde::Serialize;

/// The four X12 delimiters of one interchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Delimiters {
    /// Element separator (ISA byte 3), usually `*`.
    pub element: u8,
    /// Repetition separator (ISA11) when ISA12 ≥ 00501 and it is not alphanumeric.
    pub repetition: Option<u8>,
    /// Component element separator (ISA16), usually `:`.
    pub component: u8,
    /// Segment terminator (byte after ISA16), usually `~`.
    pub segment: u8,
}

impl Default for Delimiters {
    fn default() -> Self {
        Delimiters {
            element: b'*',
            repetition: Some(b'^'),
            component: b':',
            segment: b'~',
        }
    }
}

impl Delimiters {
    /// True when `b` is one of the delimiters (data containing it cannot be written raw).
    pub fn is_delimiter(&self, b: u8) -> bool {
        b == self.element || b == self.component || b == self.segment || Some(b) == self.repetition
    }
}

/// The sixteen ISA elements, trimmed of padding where padding is not significant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IsaHeader {
    /// ISA01 authorization information qualifier.
    pub auth_qualifier: String,
    /// ISA03 security information qualifier.
    pub security_qualifier: String,
    /// ISA05 sender id qualifier.
    pub sender_qualifier: String,
    /// ISA06 sender id, trailing padding removed.
    pub sender_id: String,
    /// ISA07 receiver id qualifier.
    pub receiver_qualifier: String,
    /// ISA08 receiver id, trailing padding removed.
    pub receiver_id: String,
    /// ISA09 date, YYMMDD.
    pub date: String,
    /// ISA10 time, HHMM.
    pub time: String,
    /// ISA12 control version number (`00501`).
    pub version: String,
    /// ISA13 control number, as sent.
    pub control_number: String,
    /// ISA14 acknowledgment requested (`0`/`1`).
    pub ack_requested: String,
    /// ISA15 usage indicator (`P`/`T`/`I`).
    pub usage: String,
    /// The delimiters this interchange uses.
    pub delimiters: Delimiters,
    /// True when the ISA was not fixed width and was read by splitting (lenient).
    pub collapsed: bool,
}

/// Outcome of reading an ISA at the start of `input`.
#[derive(Debug)]
pub enum IsaRead {
    /// The header and the number of input bytes it used (terminator included).
    Ok {
        /// The parsed header.
        header: Box<IsaHeader>,
        /// Bytes consumed, including any line breaks inside the ISA.
        consumed: usize,
    },
    /// Fewer bytes than an ISA needs are available.
    Incomplete,
    /// The ISA cannot be read at all; TA1 note and explanation.
    Unreadable {
        /// TA1 note code (004, 022, 026, 027).
        note: &'static str,
        /// What was wrong.
        reason: String,
    },
}

/// Byte offsets of the 16 element separators in a fixed-width ISA.
const SEP_AT: [usize; 16] = [
    3, 6, 17, 20, 31, 34, 50, 53, 69, 76, 81, 83, 89, 99, 101, 103,
];
/// Widths of ISA01..ISA15.
const WIDTHS: [usize; 15] = [2, 10, 2, 10, 2, 15, 2, 15, 6, 4, 1, 5, 9, 1, 1];
/// Length of an ISA including its terminator.
pub const ISA_LEN: usize = 106;

fn is_line_break(b: u8) -> bool {
    b == b'\r' || b == b'\n'
}

/// Copies the first 105 ISA bytes skipping line breaks, then the raw terminator byte.
/// Returns the unwrapped bytes and how many input bytes they came from.
fn unwrap_fixed(input: &[u8]) -> Option<(Vec<u8>, usize)> {
    let mut out = Vec::with_capacity(ISA_LEN);
    let mut used = 0;
    for &b in input {
        used += 1;
        if out.len() < ISA_LEN - 1 {
            if !is_line_break(b) {
                out.push(b);
            }
        } else {
            out.push(b);
            return Some((out, used));
        }
    }
    None
}

fn sep_byte(s: u8) -> impl Fn(&[u8]) -> IResult<&[u8], &[u8]> {
    move |i| verify(take(1usize), |b: &[u8]| b.first() == Some(&s))(i)
}

/// nom parser for the fixed-width layout: `ISA` + 15 fixed elements + ISA16 + terminator.
/// The 15 fixed ISA elements, then element separator, component separator and terminator.
type IsaFields<'a> = ([&'a [u8]; 15], u8, u8, u8);

fn isa_fixed(i: &[u8]) -> IResult<&[u8], IsaFields<'_>> {
    let (i, _) = tag("ISA")(i)?;
    let (i, sep) = take(1usize)(i)?;
    let s = sep.first().copied().unwrap_or(b'*');
    let mut fields: [&[u8]; 15] = [&[]; 15];
    let mut rest = i;
    for (slot, width) in fields.iter_mut().zip(WIDTHS) {
        let (r, v) = terminated(take(width), sep_byte(s))(rest)?;
        *slot = v;
        rest = r;
    }
    let (rest, comp) = take(1usize)(rest)?;
    let (rest, term) = take(1usize)(rest)?;
    let comp = comp.first().copied().unwrap_or(b':');
    let term = term.first().copied().unwrap_or(b'~');
    Ok((rest, (fields, s, comp, term)))
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn header_from(
    fields: &[&[u8]; 15],
    element: u8,
    component: u8,
    segment: u8,
    collapsed: bool,
) -> IsaHeader {
    let f = |i: usize| fields.get(i).copied().unwrap_or(&[]);
    let version = text(f(11)).trim().to_string();
    let rep_raw = f(10).first().copied();
    let repetition = match rep_raw {
        Some(r) if version.as_str() >= "00501" && !r.is_ascii_alphanumeric() && r != b' ' => {
            Some(r)
        }
        _ => None,
    };
    IsaHeader {
        auth_qualifier: text(f(0)).trim().to_string(),
        security_qualifier: text(f(2)).trim().to_string(),
        sender_qualifier: text(f(4)).trim().to_string(),
        sender_id: text(f(5)).trim_end().to_string(),
        receiver_qualifier: text(f(6)).trim().to_string(),
        receiver_id: text(f(7)).trim_end().to_string(),
        date: text(f(8)).trim().to_string(),
        time: text(f(9)).trim().to_string(),
        version,
        control_number: text(f(12)).trim().to_string(),
        ack_requested: text(f(13)).trim().to_string(),
        usage: text(f(14)).trim().to_string(),
        delimiters: Delimiters {
            element,
            repetition,
            component,
            segment,
        },
        collapsed,
    }
}

fn check_delimiters(d: &Delimiters) -> Result<(), (&'static str, String)> {
    if d.element.is_ascii_alphanumeric() || d.element == b' ' {
        return Err((
            "026",
            "the element separator (ISA byte 3) is a letter, digit or space".into(),
        ));
    }
    if d.component.is_ascii_alphanumeric() || d.component == b' ' {
        return Err((
            "027",
            "the component separator (ISA16) is a letter, digit or space".into(),
        ));
    }
    if d.segment.is_ascii_alphanumeric() || d.segment == b' ' {
        return Err((
            "004",
            "the segment terminator (byte after ISA16) is a letter, digit or space".into(),
        ));
    }
    let all = [
        Some(d.element),
        Some(d.component),
        Some(d.segment),
        d.repetition,
    ];
    for (i, a) in all.iter().enumerate() {
        if a.is_some() && all.iter().skip(i + 1).any(|b| b == a) {
            return Err(("022", "two ISA delimiters are the same character".into()));
        }
    }
    Ok(())
}

/// Reads the ISA at the start of `input` (which must begin with `ISA`).
///
/// `at_eof` says whether more bytes may still arrive; without it a short buffer is `Incomplete`.
pub fn read_isa(input: &[u8], at_eof: bool) -> IsaRead {
    if let Some((fixed, used)) = unwrap_fixed(input) {
        let aligned = fixed.get(3).is_some_and(|&s| {
            SEP_AT.iter().all(|&p| fixed.get(p) == Some(&s)) && !s.is_ascii_alphanumeric()
        });
        if aligned {
            if let Ok((_, (fields, el, comp, term))) = isa_fixed(&fixed) {
                let header = header_from(&fields, el, comp, term, false);
                return match check_delimiters(&header.delimiters) {
                    Ok(()) => IsaRead::Ok {
                        header: Box::new(header),
                        consumed: used,
                    },
                    Err((note, reason)) => IsaRead::Unreadable { note, reason },
                };
            }
        }
    } else if !at_eof {
        return IsaRead::Incomplete;
    }
    read_collapsed(input, at_eof)
}

/// Lenient reading: split on the element separator; ISA16 is one byte followed by the terminator.
fn read_collapsed(input: &[u8], at_eof: bool) -> IsaRead {
    let Some(&el) = input.get(3) else {
        return if at_eof {
            IsaRead::Unreadable {
                note: "023",
                reason: "the file ends inside the ISA segment".into(),
            }
        } else {
            IsaRead::Incomplete
        };
    };
    if el.is_ascii_alphanumeric() || el == b' ' || is_line_break(el) {
        return IsaRead::Unreadable {
            note: "026",
            reason: "the element separator (ISA byte 3) is a letter, digit or space".into(),
        };
    }
    let mut fields: [&[u8]; 15] = [&[]; 15];
    let mut pos = 4;
    for slot in fields.iter_mut() {
        let rest = input.get(pos..).unwrap_or(&[]);
        // An ISA element never spans more than a few dozen bytes; stop looking early.
        let window = rest.get(..rest.len().min(64)).unwrap_or(rest);
        match memchr::memchr(el, window) {
            Some(n) => {
                *slot = rest.get(..n).unwrap_or(&[]);
                pos += n + 1;
            }
            None if !at_eof && rest.len() < 64 => return IsaRead::Incomplete,
            None => {
                return IsaRead::Unreadable {
                    note: "022",
                    reason: "the ISA does not have 16 elements separated by its element separator"
                        .into(),
                }
            }
        }
    }
    let (Some(&comp), Some(&term)) = (input.get(pos), input.get(pos + 1)) else {
        return if at_eof {
            IsaRead::Unreadable {
                note: "023",
                reason: "the file ends inside the ISA segment".into(),
            }
        } else {
            IsaRead::Incomplete
        };
    };
    // Line breaks inside elements of a wrapped, collapsed ISA are not supported: refuse clearly.
    if fields.iter().any(|f| f.iter().any(|&b| is_line_break(b))) {
        return IsaRead::Unreadable {
            note: "022",
            reason: "the ISA is neither fixed width nor on one line".into(),
        };
    }
    let header = header_from(&fields, el, comp, term, true);
    if let Err((note, reason)) = check_delimiters(&header.delimiters) {
        return IsaRead::Unreadable { note, reason };
    }
    IsaRead::Ok {
        header: Box::new(header),
        consumed: pos + 2,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ISA: &[u8] = b"ISA*00*          *00*          *ZZ*SUBMITTER01    *ZZ*UMO0001        *260115*0930*^*00501*000000101*1*T*:~";

    #[test]
    fn fixed_isa_gives_delimiters() {
        assert_eq!(ISA.len(), ISA_LEN);
        match read_isa(ISA, true) {
            IsaRead::Ok { header, consumed } => {
                assert_eq!(consumed, 106);
                assert_eq!(header.delimiters, Delimiters::default());
                assert_eq!(header.control_number, "000000101");
                assert_eq!(header.sender_id, "SUBMITTER01");
                assert!(!header.collapsed);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn wrapped_isa_is_unwrapped() {
        let mut wrapped = ISA[..60].to_vec();
        wrapped.extend_from_slice(b"\r\n");
        wrapped.extend_from_slice(&ISA[60..]);
        match read_isa(&wrapped, true) {
            IsaRead::Ok { header, consumed } => {
                assert_eq!(consumed, 108);
                assert_eq!(header.receiver_id, "UMO0001");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn collapsed_isa_is_read_and_flagged() {
        let c =
            b"ISA*00* *00* *ZZ*123456789 *ZZ*987654321 *041117*1024*^*00501*000000286*0*P*:~\nGS";
        match read_isa(c, true) {
            IsaRead::Ok { header, consumed } => {
                assert!(header.collapsed);
                assert_eq!(&c[consumed..consumed + 1], b"\n");
                assert_eq!(header.control_number, "000000286");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn version_4010_has_no_repetition_separator() {
        let c = b"ISA*00* *00* *30*560891234 *30*566012345*030813*1505*U*00401*000000007*1*P*:~";
        match read_isa(c, true) {
            IsaRead::Ok { header, .. } => assert_eq!(header.delimiters.repetition, None),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn short_input_is_incomplete_until_eof() {
        assert!(matches!(read_isa(&ISA[..50], false), IsaRead::Incomplete));
        assert!(matches!(
            read_isa(&ISA[..50], true),
            IsaRead::Unreadable { .. }
        ));
    }
}
