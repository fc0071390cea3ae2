//! 999 implementation acknowledgments and TA1 interchange acknowledgments.
//!
//! One 999 per functional group of 278 requests (GS01 = HI, GS08 = 005010X217), written as the
//! input is read: AK1 at the group, AK2…IK5 per transaction from the reader's and validator's
//! diagnostics (IK3/IK4 positions and codes come with them), AK9 at the group's end (§5.4: A,
//! E, P or R). The 999s of one input interchange travel in one acknowledgment interchange. A
//! TA1 is sent when the input asked for one (ISA14 = 1) or its envelope is in error; it travels
//! in its own interchange (IEA01 = 0). 999s and TA1s themselves are never acknowledged.

use super::response::ControlNumbers;
use super::AtomicFile;
use crate::diag::{AckCode, Diagnostic};
use crate::x12::write::{LineEnding, SegmentWriter};
use crate::x12::{Group, Interchange, Text, TransactionUnit};
use chrono::NaiveDateTime;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// What a transaction's acknowledgment says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TxnAck {
    /// ST01.
    pub set_id: Text,
    /// ST02.
    pub control_number: Text,
    /// ST03 when sent.
    pub convention: Option<Text>,
    /// IK3 loops: (segment id, position, loop id, IK304, IK4s: (element, component, ref, code)).
    pub segments: Vec<SegmentAck>,
    /// IK502.. codes (transaction-level).
    pub ik5_codes: Vec<&'static str>,
}

/// One IK3 loop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentAck {
    /// IK301.
    pub segment_id: String,
    /// IK302.
    pub position: u32,
    /// IK303.
    pub loop_id: Option<&'static str>,
    /// IK304.
    pub code: &'static str,
    /// IK4s: element, component, data element reference, IK403.
    pub elements: Vec<(u16, Option<u16>, Option<u16>, &'static str)>,
}

impl TxnAck {
    /// Builds the acknowledgment of a transaction from its diagnostics.
    pub fn from_diagnostics(unit: &TransactionUnit, diags: &[Diagnostic]) -> TxnAck {
        let mut ack = TxnAck {
            set_id: unit.set_id.clone(),
            control_number: unit.control_number.clone(),
            convention: unit.convention.clone(),
            ..TxnAck::default()
        };
        for d in diags.iter().filter(|d| d.is_error()) {
            let pos = d.location.segment_position.unwrap_or(0);
            let sid = d.location.segment_id.clone().unwrap_or_default();
            match &d.ack {
                Some(AckCode::Ik5 { code }) if !ack.ik5_codes.contains(code) => {
                    ack.ik5_codes.push(code);
                }
                Some(AckCode::Ik3 { code, loop_id }) => ack.segments.push(SegmentAck {
                    segment_id: sid,
                    position: pos,
                    loop_id: *loop_id,
                    code,
                    elements: Vec::new(),
                }),
                Some(AckCode::Ik4 {
                    code,
                    element_ref,
                    loop_id,
                }) => {
                    let el = d
                        .location
                        .element
                        .map(|e| (e.element, e.component))
                        .unwrap_or((0, None));
                    match ack
                        .segments
                        .iter_mut()
                        .find(|s| s.position == pos && s.code == "8")
                    {
                        Some(s) => s.elements.push((el.0, el.1, *element_ref, code)),
                        None => ack.segments.push(SegmentAck {
                            segment_id: sid,
                            position: pos,
                            loop_id: *loop_id,
                            code: "8",
                            elements: vec![(el.0, el.1, *element_ref, code)],
                        }),
                    }
                }
                _ => {}
            }
        }
        ack.segments.sort_by_key(|s| s.position);
        if !ack.segments.is_empty() && ack.ik5_codes.is_empty() {
            ack.ik5_codes.push("5");
        }
        ack
    }

    /// True when IK501 is A.
    pub fn accepted(&self) -> bool {
        self.ik5_codes.is_empty()
    }
}

struct Open999 {
    group: Arc<Group>,
    body: Vec<u8>,
    segments: u32,
    received: u32,
    accepted: u32,
    ak9_codes: Vec<&'static str>,
}

struct OpenIc {
    input: Arc<Interchange>,
    control: u32,
    written: bool,
    gs_control: u32,
    acks: u32,
    current: Option<Open999>,
    ta1_errors: Vec<(&'static str, bool)>,
    only_acks: bool,
}

/// Streams the acknowledgments of one input file.
pub struct AckFile {
    path: PathBuf,
    out: Option<AtomicFile>,
    ic: Option<OpenIc>,
    created: NaiveDateTime,
    /// 999 transactions written.
    pub acks_999: u64,
    /// TA1 segments written.
    pub ta1s: u64,
    /// Transactions rejected by a 999.
    pub rejected: u64,
}

impl AckFile {
    /// An acknowledgment file; nothing is created until something is written.
    pub fn new(path: &Path, created: NaiveDateTime) -> Self {
        AckFile {
            path: path.to_path_buf(),
            out: None,
            ic: None,
            created,
            acks_999: 0,
            ta1s: 0,
            rejected: 0,
        }
    }

    fn writer(&mut self) -> io::Result<&mut AtomicFile> {
        if self.out.is_none() {
            self.out = Some(AtomicFile::create(&self.path)?);
        }
        self.out
            .as_mut()
            .ok_or_else(|| io::Error::other("acknowledgment file not open"))
    }

    /// An input interchange begins.
    pub fn interchange(&mut self, ic: &Arc<Interchange>, numbers: &mut ControlNumbers) {
        let mut ta1_errors = Vec::new();
        if let Some(note) = ic.rejected {
            ta1_errors.push((note, true));
        }
        self.ic = Some(OpenIc {
            input: Arc::clone(ic),
            control: numbers.take(),
            written: false,
            gs_control: numbers.take(),
            acks: 0,
            current: None,
            ta1_errors,
            only_acks: true,
        });
    }

    /// A diagnostic found at interchange or group level.
    pub fn diagnostic(&mut self, d: &Diagnostic) {
        let Some(ic) = self.ic.as_mut() else { return };
        match d.ack {
            Some(AckCode::Ak9 { code }) => {
                if let Some(c) = ic.current.as_mut() {
                    if !c.ak9_codes.contains(&code) {
                        c.ak9_codes.push(code);
                    }
                }
            }
            Some(AckCode::Ta1 { note }) if d.is_error() => ic.ta1_errors.push((note, false)),
            _ => {}
        }
    }

    /// An input group begins; 278 groups get a 999.
    pub fn group(&mut self, g: &Arc<Group>) {
        let Some(ic) = self.ic.as_mut() else { return };
        if g.functional_id != "FA" {
            ic.only_acks = false;
        }
        if ic.input.rejected.is_some() || g.functional_id != "HI" || g.version != crate::model::X217
        {
            return;
        }
        let d = ic.input.header.delimiters;
        let mut body = Vec::new();
        let mut w = SegmentWriter::new(&mut body, d, LineEnding::Lf);
        let st02 = format!("{:04}", ic.acks + 1);
        let _ = w.segment("ST", &["999", &st02, "005010X231A1"]);
        let _ = w.segment("AK1", &[&g.functional_id, &g.control_number, &g.version]);
        let segments = w.segments_since_st();
        ic.current = Some(Open999 {
            group: Arc::clone(g),
            body,
            segments,
            received: 0,
            accepted: 0,
            ak9_codes: Vec::new(),
        });
    }

    /// One transaction of the current group.
    pub fn transaction(&mut self, ack: &TxnAck) {
        let Some(ic) = self.ic.as_mut() else { return };
        let d = ic.input.header.delimiters;
        let Some(c) = ic.current.as_mut() else { return };
        c.received += 1;
        // Encoded straight into the 999's body (no scratch buffer and copy per segment).
        let mut w = SegmentWriter::new(&mut c.body, d, LineEnding::Lf);
        let conv = ack.convention.as_deref().unwrap_or("");
        w.segment_in_place(
            "AK2",
            &[ack.set_id.as_str(), ack.control_number.as_str(), conv],
        );
        for s in &ack.segments {
            w.segment_in_place(
                "IK3",
                &[
                    &s.segment_id,
                    &s.position.to_string(),
                    s.loop_id.unwrap_or(""),
                    s.code,
                ],
            );
            for (el, comp, eref, code) in &s.elements {
                let pos = match comp {
                    Some(cp) => w.composite(&[&el.to_string(), &cp.to_string()]),
                    None => el.to_string(),
                };
                let r = eref.map(|x| x.to_string()).unwrap_or_default();
                w.segment_composite_in_place("IK4", &[pos.as_str(), r.as_str(), code]);
            }
        }
        if ack.accepted() {
            c.accepted += 1;
            w.segment_in_place("IK5", &["A"]);
        } else {
            self.rejected += 1;
            let mut els: Vec<&str> = vec!["R"];
            els.extend(ack.ik5_codes.iter().take(5));
            w.segment_in_place("IK5", &els);
        }
        c.segments += w.segments_since_st();
    }

    /// The input group ended (its GE01 as declared, when there was one).
    pub fn end_group(&mut self, declared: Option<u32>) -> io::Result<()> {
        let created = self.created;
        let Some(ic) = self.ic.as_mut() else {
            return Ok(());
        };
        let Some(mut c) = ic.current.take() else {
            return Ok(());
        };
        let d = ic.input.header.delimiters;
        let code = if c.accepted == 0 {
            "R"
        } else if c.accepted < c.received {
            "P"
        } else if !c.ak9_codes.is_empty() {
            "E"
        } else {
            "A"
        };
        let mut head = Vec::new();
        {
            let mut w = SegmentWriter::new(&mut c.body, d, LineEnding::Lf);
            let included = declared.unwrap_or(c.received).to_string();
            let mut els: Vec<String> = vec![
                code.to_string(),
                included,
                c.received.to_string(),
                c.accepted.to_string(),
            ];
            els.extend(c.ak9_codes.iter().take(5).map(|s| s.to_string()));
            let refs: Vec<&str> = els.iter().map(String::as_str).collect();
            w.segment("AK9", &refs)?;
            let count = c.segments + 2;
            w.segment("SE", &[&count.to_string(), &format!("{:04}", ic.acks + 1)])?;
        }
        let mut w = SegmentWriter::new(&mut head, d, LineEnding::Lf);
        if !ic.written {
            let h = &ic.input.header;
            super::reply_isa(&mut w, h, created, ic.control)?;
            super::reply_gs(
                &mut w,
                "FA",
                &c.group,
                created,
                ic.gs_control,
                "005010X231A1",
            )?;
            ic.written = true;
        }
        ic.acks += 1;
        let body = std::mem::take(&mut c.body);
        let out = self.writer()?;
        out.write_all(&head)?;
        out.write_all(&body)?;
        self.acks_999 += 1;
        Ok(())
    }

    /// The input interchange ended: close the 999 interchange, then send a TA1 if needed.
    pub fn end_interchange(&mut self, numbers: &mut ControlNumbers) -> io::Result<()> {
        self.end_group(None)?;
        let created = self.created;
        let Some(ic) = self.ic.take() else {
            return Ok(());
        };
        let d = ic.input.header.delimiters;
        let mut buf = Vec::new();
        let mut w = SegmentWriter::new(&mut buf, d, LineEnding::Lf);
        if ic.written {
            w.segment("GE", &[&ic.acks.to_string(), &ic.gs_control.to_string()])?;
            w.segment("IEA", &["1", &format!("{:09}", ic.control)])?;
        }
        let h = &ic.input.header;
        // Never acknowledge acknowledgments: an interchange of TA1s or 999s gets no TA1.
        let wants = (h.ack_requested == "1" || !ic.ta1_errors.is_empty()) && !ic.only_acks;
        if wants {
            let rejected = ic.ta1_errors.iter().any(|(_, r)| *r);
            let code = if rejected {
                "R"
            } else if ic.ta1_errors.is_empty() {
                "A"
            } else {
                "E"
            };
            let note = ic.ta1_errors.first().map(|(n, _)| *n).unwrap_or("000");
            let control = numbers.take();
            super::reply_isa(&mut w, h, created, control)?;
            w.segment("TA1", &[&h.control_number, &h.date, &h.time, code, note])?;
            w.segment("IEA", &["0", &format!("{control:09}")])?;
            self.ta1s += 1;
        }
        if !buf.is_empty() {
            self.writer()?.write_all(&buf)?;
        }
        Ok(())
    }

    /// Renames the file to its final name (when anything was written).
    pub fn commit(mut self) -> io::Result<Option<super::Committed>> {
        match self.out.take() {
            Some(f) => Ok(Some(f.commit()?)),
            None => Ok(None),
        }
    }
}
