//! Reads 999 implementation acknowledgments (005010X231A1) far enough to validate them.
//!
//! umbatch never decides a 999, but it must read the ones it writes and the ones partners send
//! back. The grammar is small (reference §5.2): `ST AK1 (AK2 (IK3 CTX* (IK4 CTX*)*)* IK5)* AK9 SE`.
//! A state machine checks the order and the element counts and codes of every segment.

use crate::diag::{AckCode, Diagnostic, Location, Severity};
use crate::x12::reader::printable_id;
use crate::x12::segment::Segment;
use std::sync::Arc;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Start,
    Group,
    InTxn { ik5: bool },
    AfterAk9,
}

/// Maximum number of elements of each 999 segment.
fn max_elements(id: &[u8]) -> Option<usize> {
    Some(match id {
        b"AK1" => 3,
        b"AK2" => 3,
        b"IK3" => 4,
        b"CTX" => 6,
        b"IK4" => 4,
        b"IK5" => 6,
        b"AK9" => 9,
        _ => return None,
    })
}

/// Validates one 999 transaction (segments from ST to SE).
pub fn validate_999(segments: &[Segment<'_>], file: &Arc<str>, base: &Location) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let mut state = State::Start;
    let n = segments.len();
    for (i, seg) in segments.iter().enumerate() {
        let pos = (i + 1) as u32;
        if i == 0 || (i + 1 == n && seg.is("SE")) {
            continue;
        }
        let loc = Location {
            byte_offset: Some(seg.offset),
            segment_position: Some(pos),
            segment_id: Some(printable_id(seg.id())),
            ..base.clone()
        };
        let seg_err = |code: &'static str, ik: &'static str, msg: String| {
            Diagnostic::new(file, Severity::Error, code, msg)
                .at(loc.clone())
                .with_ack(AckCode::Ik3 {
                    code: ik,
                    loop_id: None,
                })
        };
        let el_err = |el: u16, ik: &'static str, eref: u16, msg: String| {
            Diagnostic::new(file, Severity::Error, "element-code", msg)
                .at(loc.clone())
                .element(el, None)
                .with_ack(AckCode::Ik4 {
                    code: ik,
                    element_ref: Some(eref),
                    loop_id: None,
                })
        };
        let id = seg.id();
        let Some(max) = max_elements(id) else {
            out.push(seg_err(
                "segment-unknown",
                "1",
                format!(
                    "segment `{}` is not part of the 999 transaction set",
                    printable_id(id)
                ),
            ));
            continue;
        };
        if seg.element_count() > max {
            let shown = printable_id(id);
            out.push(
                Diagnostic::new(
                    file,
                    Severity::Error,
                    "element-count",
                    format!(
                        "{shown} has {} elements; at most {max} are defined",
                        seg.element_count()
                    ),
                )
                .at(loc.clone())
                .element((max + 1) as u16, None)
                .with_ack(AckCode::Ik4 {
                    code: "3",
                    element_ref: None,
                    loop_id: None,
                }),
            );
        }
        let next = match (state, id) {
            (State::Start, b"AK1") => Some(State::Group),
            (State::Group, b"AK2") => Some(State::InTxn { ik5: false }),
            (State::Group, b"AK9") => Some(State::AfterAk9),
            (State::InTxn { ik5: false }, b"IK3" | b"IK4" | b"CTX") => Some(state),
            (State::InTxn { ik5: false }, b"IK5") => Some(State::InTxn { ik5: true }),
            (State::InTxn { ik5: true }, b"AK2") => Some(State::InTxn { ik5: false }),
            (State::InTxn { ik5: true }, b"AK9") => Some(State::AfterAk9),
            (State::InTxn { ik5: false }, b"AK2" | b"AK9") => {
                out.push(seg_err(
                    "segment-missing",
                    "3",
                    "the previous AK2 loop has no IK5 segment".into(),
                ));
                Some(if id == b"AK2" {
                    State::InTxn { ik5: false }
                } else {
                    State::AfterAk9
                })
            }
            (State::InTxn { ik5: true }, b"IK5") => {
                out.push(seg_err(
                    "segment-repeated",
                    "5",
                    "IK5 appears twice in one AK2 loop".into(),
                ));
                None
            }
            (State::Start, _) => {
                out.push(seg_err(
                    "segment-order",
                    "7",
                    format!("{} appears before AK1", printable_id(id)),
                ));
                None
            }
            _ => {
                out.push(seg_err(
                    "segment-unexpected",
                    "2",
                    format!("{} is not expected here", printable_id(id)),
                ));
                None
            }
        };
        if let Some(s) = next {
            state = s;
        }
        match id {
            b"IK5" if !matches!(seg.get(1), "A" | "E" | "M" | "R" | "W" | "X") => out.push(el_err(
                1,
                "7",
                717,
                "IK501 must be A, E, M, R, W or X".into(),
            )),
            b"AK9" if !matches!(seg.get(1), "A" | "E" | "M" | "P" | "R" | "W" | "X") => out.push(
                el_err(1, "7", 715, "AK901 must be A, E, M, P, R, W or X".into()),
            ),
            b"AK1" if seg.get(1).is_empty() || seg.get(2).is_empty() => {
                out.push(el_err(2, "1", 28, "AK101 and AK102 are required".into()))
            }
            b"AK2" if seg.get(1).is_empty() || seg.get(2).is_empty() => {
                out.push(el_err(2, "1", 329, "AK201 and AK202 are required".into()))
            }
            _ => {}
        }
    }
    if state != State::AfterAk9 {
        let last = segments.last();
        let loc = Location {
            segment_position: Some(n as u32),
            segment_id: last.map(|s| printable_id(s.id())),
            byte_offset: last.map(|s| s.offset),
            ..base.clone()
        };
        out.push(
            Diagnostic::new(
                file,
                Severity::Error,
                "segment-missing",
                "the 999 has no AK9 segment",
            )
            .at(loc)
            .with_ack(AckCode::Ik3 {
                code: "3",
                loop_id: None,
            }),
        );
    }
    out
}
