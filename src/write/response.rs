//! 278 responses (BHT02 = 11): the request's HL skeleton echoed, decisions added.
//!
//! Rendering happens per transaction (in parallel) into bytes; [`ResponseFile`] then wraps the
//! transactions of each input interchange in one response interchange, in input order, with
//! sender and receiver swapped, the input's delimiters and run-deterministic control numbers.
//! Counts (SE01, GE01, IEA01) are computed from what was written, never maintained by hand.

use super::short::{decimal, Short};
use super::{join_run, AtomicFile, Run};
use crate::eval::Decision;
use crate::model::{Entity, Transaction278};
use crate::policy::Outcome;
use crate::x12::write::{LineEnding, SegmentWriter};
use crate::x12::{Delimiters, Group, Interchange, Segment};
use chrono::NaiveDateTime;
use std::io::{self, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};

/// Values a response needs beyond the request and its decision.
#[derive(Debug, Clone)]
pub struct ResponseContext<'a> {
    /// ST02 of the response: the request's, echoed.
    pub st02: &'a str,
    /// When the response is created (the as-of time).
    pub created: NaiveDateTime,
    /// TRN03 of the UMO's own trace number (`9` + 9 letters or digits).
    pub umo_trace_originator: &'a str,
}

fn ymd(d: chrono::NaiveDate) -> Short {
    let mut s = Short::new();
    s.ymd(d);
    s
}

/// `CCYYMMDD-CCYYMMDD` (RD8).
fn ymd_range(from: chrono::NaiveDate, to: chrono::NaiveDate) -> Short {
    let mut s = Short::new();
    s.ymd(from).push(b'-').ymd(to);
    s
}

fn hhmm(t: NaiveDateTime) -> Short {
    let mut s = Short::new();
    s.hhmm(t);
    s
}

/// At most `n` characters of `text`, cut on a character boundary.
fn first_chars(text: &str, n: usize) -> &str {
    // A character is at least one byte: a text of at most `n` bytes is whole (the usual case,
    // found without walking the characters).
    if text.len() <= n {
        return text;
    }
    match text.char_indices().nth(n) {
        Some((i, _)) => text.get(..i).unwrap_or(text),
        None => text,
    }
}

/// PWK report types to ask for, by missing item.
fn pwk_for(item: &str) -> Option<&'static str> {
    Some(match item {
        "clinical_notes" | "clinical_information" => "09",
        "lab_results" => "LA",
        "radiology_results" => "RR",
        "physician_signature" => "B3",
        _ => return None,
    })
}

struct Out<'w> {
    w: SegmentWriter<&'w mut Vec<u8>>,
}

impl Out<'_> {
    fn raw(&mut self, seg: &Segment<'_>) {
        self.w.raw_segment_in_place(seg.raw());
    }
    fn seg(&mut self, id: &str, els: &[&[u8]]) {
        self.w.segment_in_place(id, els);
    }
}

/// `o.seg(id, &[values…])` with values of any byte-like type side by side: text from the
/// request, and our dates, counts and certification number as bytes (a UTF-8 check on each
/// of those cost more than writing it).
macro_rules! seg {
    ($o:expr, $id:expr, [$($v:expr),* $(,)?]) => {
        $o.seg($id, &[$(AsRef::<[u8]>::as_ref($v)),*])
    };
}

fn entity_raw<'s>(segs: &'s [Segment<'_>], e: &Entity<'_>) -> Option<&'s Segment<'s>> {
    segs.get((e.position as usize).wrapping_sub(1))
}

/// The segments after position `pos`, up to the next segment whose id is in `stop`: the
/// segments of one loop, found in one pass and then filtered by id as often as needed.
fn loop_after<'s, 'i>(segs: &'s [Segment<'i>], pos: u32, stop: &[&str]) -> &'s [Segment<'i>] {
    let rest = segs.get(pos as usize..).unwrap_or_default();
    let end = rest
        .iter()
        .position(|s| stop.iter().any(|x| s.is(x)))
        .unwrap_or(rest.len());
    rest.get(..end).unwrap_or_default()
}

/// The segments of `run` with id `id`.
fn with_id<'s, 'i>(run: &'s [Segment<'i>], id: &'s str) -> impl Iterator<Item = &'s Segment<'i>> {
    run.iter().filter(move |s| s.is(id))
}

/// Renders the 278 response transaction (ST…SE) for a decided request after what `buf`
/// holds, and returns where it lies: a worker renders all its responses into one buffer,
/// which the writer sends to the file in long writes.
pub fn render_response_into(
    buf: &mut Vec<u8>,
    t: &Transaction278<'_>,
    segs: &[Segment<'_>],
    d: &Decision,
    delims: Delimiters,
    ctx: &ResponseContext<'_>,
) -> std::ops::Range<usize> {
    let start = buf.len();
    let mut o = Out {
        w: SegmentWriter::new(buf, delims, LineEnding::Lf),
    };
    let rejected_at = d.rejection.as_ref().map(|r| r.loop_id);
    let aaa = |o: &mut Out<'_>| {
        if let Some(r) = &d.rejection {
            seg!(o, "AAA", ["N", "", r.reason, r.follow_up]);
        }
    };
    // ST02 echoes the request's, which the reader checks only for length: written directly
    // when it is letters and digits (as control numbers are), else through the cleaning
    // encoder, at ST and at SE alike.
    let st02_plain = ctx.st02.bytes().all(|b| b.is_ascii_alphanumeric());
    if st02_plain {
        o.w.ours_in_place("ST", &[b"278", ctx.st02.as_bytes(), b"005010X217"]);
    } else {
        seg!(o, "ST", ["278", ctx.st02, "005010X217"]);
    }
    let date = ymd(ctx.created.date());
    let date = date.as_bytes();
    let time = hhmm(ctx.created);
    seg!(o, "BHT", ["0007", "11", t.bht.reference, date, &time]);
    let mut hl = 0u32;
    let mut next_hl = |parent: u32, code: &str, children: bool, o: &mut Out<'_>| -> u32 {
        hl += 1;
        o.w.hl_in_place(hl, Some(parent).filter(|&p| p > 0), code, children);
        hl
    };
    let stop = ["HL", "NM1", "SE"];
    // 2000A / 2010A
    let a = next_hl(0, "20", true, &mut o);
    if rejected_at == Some("2000A") {
        aaa(&mut o);
    }
    if let Some(e) = t.umo.as_ref().and_then(|p| p.entity.as_ref()) {
        if let Some(s) = entity_raw(segs, e) {
            o.raw(s);
        }
    }
    if rejected_at == Some("2010A") {
        aaa(&mut o);
    }
    // 2000B / 2010B
    let b = next_hl(a, "21", true, &mut o);
    if let Some(e) = t.requester.as_ref().and_then(|p| p.entity.as_ref()) {
        if let Some(s) = entity_raw(segs, e) {
            o.raw(s);
        }
    }
    if rejected_at == Some("2010B") {
        aaa(&mut o);
    }
    // 2000C / 2010C
    let c = next_hl(b, "22", true, &mut o);
    let member_loop = |o: &mut Out<'_>, e: &Entity<'_>, loop_id: &str| {
        if let Some(s) = entity_raw(segs, e) {
            o.raw(s);
        }
        if rejected_at == Some(loop_id) {
            aaa(o);
        }
        let run = loop_after(segs, e.position, &stop);
        for id in ["DMG", "INS"] {
            for s in with_id(run, id) {
                o.raw(s);
            }
        }
    };
    if let Some(e) = t.subscriber.as_ref().and_then(|p| p.entity.as_ref()) {
        member_loop(&mut o, e, "2010C");
    }
    let mut parent = c;
    if let Some(e) = t.dependent.as_ref().and_then(|p| p.entity.as_ref()) {
        parent = next_hl(c, "23", true, &mut o);
        member_loop(&mut o, e, "2010D");
    }
    let cert: &[u8] = d
        .certification_number
        .as_ref()
        .map_or(&[], |c| c.as_bytes());
    let reasons = d.reason_code.as_slice();
    for ev in &t.events {
        let e_hl = next_hl(parent, "EV", !ev.services.is_empty(), &mut o);
        for tr in &ev.detail.traces {
            if tr.kind == "1" {
                seg!(o, "TRN", ["2", tr.number, tr.originator, tr.supplemental]);
            }
        }
        if !cert.is_empty() {
            o.w.ours_in_place("TRN", &[b"1", cert, ctx.umo_trace_originator.as_bytes()]);
        }
        if rejected_at == Some("2000E") {
            aaa(&mut o);
        }
        if let Some(um) = &ev.detail.review {
            if let Some(s) = segs.get((um.position as usize).wrapping_sub(1)) {
                o.raw(s);
            }
        }
        if d.rejection.is_none() {
            if let Some(h) = d.hcr01 {
                o.w.hcr_in_place(h, cert, reasons);
            }
            if d.outcome == Outcome::Pended && !cert.is_empty() {
                o.w.ours_in_place("REF", &[b"NT", cert]);
            }
        }
        if let Some(bb) = ev.detail.reference("BB") {
            seg!(o, "REF", ["BB", bb]);
        }
        if let Some(di) = ev.detail.dates.iter().find(|x| x.qualifier == "435") {
            if let Some(v) = di.value {
                o.w.ours_in_place("DTP", &[b"435", b"D8", ymd(v.start()).as_bytes()]);
            }
        }
        match (d.valid_from, d.valid_to) {
            (Some(from), Some(to)) if d.rejection.is_none() => {
                o.w.ours_in_place("DTP", &[b"AAH", b"RD8", ymd_range(from, to).as_bytes()]);
            }
            _ => {
                if let Some(di) = ev.detail.dates.iter().find(|x| x.qualifier == "AAH") {
                    if let Some(v) = di.value {
                        let range = ymd_range(v.start(), v.end());
                        o.w.ours_in_place("DTP", &[b"AAH", b"RD8", range.as_bytes()]);
                    }
                }
            }
        }
        if matches!(
            d.outcome,
            Outcome::Approved | Outcome::Modified | Outcome::Denied
        ) {
            o.w.ours_in_place("DTP", &[b"102", b"D8", date]);
        }
        for s in with_id(loop_after(segs, ev.position, &stop), "HI") {
            o.raw(s);
        }
        if d.outcome == Outcome::Modified {
            if let Some(u) = d.approved_units {
                let q = if ev.institutional.is_some() {
                    "DY"
                } else {
                    "VS"
                };
                seg!(o, "HSD", [q, &format!("{u}")]);
            }
        }
        if d.outcome == Outcome::Pended {
            let mut asked: Vec<&str> = Vec::new();
            for m in &d.missing_items {
                if let Some(code) = pwk_for(m) {
                    if !asked.contains(&code) {
                        asked.push(code);
                        seg!(o, "PWK", [code, "FX"]);
                    }
                }
            }
        }
        if d.outcome != Outcome::Approved && !d.reason_text.is_empty() {
            seg!(o, "MSG", [first_chars(&d.reason_text, 264)]);
        }
        for p in ev.detail.providers.iter().chain(ev.transport.iter()) {
            if let Some(s) = entity_raw(segs, p) {
                o.raw(s);
            }
            let run = loop_after(segs, p.position, &stop);
            for id in ["N3", "N4"] {
                for s in with_id(run, id) {
                    o.raw(s);
                }
            }
        }
        for (i, line) in ev.services.iter().enumerate() {
            next_hl(e_hl, "SS", false, &mut o);
            for tr in &line.detail.traces {
                if tr.kind == "1" {
                    seg!(o, "TRN", ["2", tr.number, tr.originator, tr.supplemental]);
                }
            }
            if let Some(um) = &line.detail.review {
                if let Some(s) = segs.get((um.position as usize).wrapping_sub(1)) {
                    o.raw(s);
                }
            }
            let ld = d.lines.get(i);
            if d.rejection.is_none() {
                let (h, lr): (Option<&str>, &[&str]) = match ld {
                    Some(l) => (l.hcr01, l.reason_code.as_slice()),
                    None => (d.hcr01.filter(|h| *h != "A2"), reasons),
                };
                if let Some(h) = h {
                    o.w.hcr_in_place(h, cert, lr);
                }
            }
            let run = loop_after(segs, line.position, &stop);
            for id in ["DTP", "SV1", "SV2", "SV3", "TOO"] {
                for s in with_id(run, id) {
                    o.raw(s);
                }
            }
            if let Some(u) = ld.and_then(|l| l.approved_units) {
                seg!(o, "HSD", ["VS", &format!("{u}")]);
            }
            for p in &line.detail.providers {
                if let Some(s) = entity_raw(segs, p) {
                    o.raw(s);
                }
            }
        }
    }
    let count = o.w.segments_since_st() + 1;
    let mut count_text = Short::new();
    let count_text = decimal(count, &mut count_text);
    if st02_plain {
        o.w.ours_in_place("SE", &[count_text.as_bytes(), ctx.st02.as_bytes()]);
    } else {
        seg!(o, "SE", [count_text, ctx.st02]);
    }
    drop(o);
    start..buf.len()
}

/// Control numbers of one run, deterministic for the same inputs and `--as-of`.
#[derive(Debug, Clone)]
pub struct ControlNumbers {
    base: u32,
    next: u32,
}

impl ControlNumbers {
    /// Numbers for a run at `as_of`: a day-based prefix keeps runs on different days apart.
    pub fn new(as_of: NaiveDateTime) -> Self {
        let epoch = chrono::NaiveDate::from_ymd_opt(2000, 1, 1).unwrap_or(chrono::NaiveDate::MIN);
        let day = (as_of.date() - epoch).num_days().rem_euclid(1000) as u32;
        ControlNumbers {
            base: day * 1_000_000,
            next: 0,
        }
    }
    /// The next number (1–999,999,999).
    pub fn take(&mut self) -> u32 {
        self.next += 1;
        (self.base + self.next % 1_000_000).max(1)
    }
}

struct OpenIc {
    input: std::sync::Arc<Interchange>,
    written: bool,
    control: u32,
    groups: u32,
    group: Option<OpenGs>,
}

struct OpenGs {
    input: std::sync::Arc<Group>,
    written: bool,
    control: u32,
    txns: u32,
}

/// Streams the 278 responses of one input file.
pub struct ResponseFile {
    path: PathBuf,
    out: Option<AtomicFile>,
    ic: Option<OpenIc>,
    created: NaiveDateTime,
    /// Response transactions written.
    pub transactions: u64,
    /// The current chunk's response buffers (one per worker split); see [`Self::begin_chunk`].
    chunk: Vec<Vec<u8>>,
    /// Responses queued from `chunk`, not yet written.
    open: Option<Run>,
}

impl ResponseFile {
    /// A response file for an input; nothing is created until a response is written.
    pub fn new(path: &Path, created: NaiveDateTime) -> Self {
        ResponseFile {
            path: path.to_path_buf(),
            out: None,
            ic: None,
            created,
            transactions: 0,
            chunk: Vec::new(),
            open: None,
        }
    }

    /// An input interchange begins.
    pub fn interchange(&mut self, ic: &std::sync::Arc<Interchange>, numbers: &mut ControlNumbers) {
        self.ic = Some(OpenIc {
            input: std::sync::Arc::clone(ic),
            written: false,
            control: numbers.take(),
            groups: 0,
            group: None,
        });
    }

    /// An input group begins.
    pub fn group(&mut self, g: &std::sync::Arc<Group>, numbers: &mut ControlNumbers) {
        if let Some(ic) = self.ic.as_mut() {
            ic.group = Some(OpenGs {
                input: std::sync::Arc::clone(g),
                written: false,
                control: numbers.take(),
                txns: 0,
            });
        }
    }

    fn writer(&mut self) -> io::Result<&mut AtomicFile> {
        if self.out.is_none() {
            self.out = Some(AtomicFile::create(&self.path)?);
        }
        self.out
            .as_mut()
            .ok_or_else(|| io::Error::other("response file not open"))
    }

    /// The ISA and GS that must precede the next response transaction, if not yet written;
    /// counts the transaction in its group.
    fn head(&mut self) -> io::Result<Vec<u8>> {
        let created = self.created;
        let Some(ic) = self.ic.as_mut() else {
            return Err(io::Error::other("response outside an interchange"));
        };
        let d = ic.input.header.delimiters;
        let mut head = Vec::new();
        let mut w = SegmentWriter::new(&mut head, d, LineEnding::Lf);
        if !ic.written {
            let h = &ic.input.header;
            super::reply_isa(&mut w, h, created, ic.control)?;
            ic.written = true;
        }
        if let Some(g) = ic.group.as_mut() {
            if !g.written {
                super::reply_gs(&mut w, "HI", &g.input, created, g.control, "005010X217")?;
                g.written = true;
                ic.groups += 1;
            }
            g.txns += 1;
        }
        drop(w);
        Ok(head)
    }

    /// Writes what must come before the next transaction: queued responses, then the
    /// ISA and GS when not yet written.
    fn before_transaction(&mut self) -> io::Result<()> {
        let head = self.head()?;
        if !head.is_empty() {
            self.flush_open()?;
            self.writer()?.write_all(&head)?;
        }
        self.transactions += 1;
        Ok(())
    }

    /// Takes the response buffers of the chunk about to be written (one per worker split),
    /// so that [`Self::queue_transaction`] can refer to them by index and range. Responses
    /// still queued from the previous chunk are written first.
    pub fn begin_chunk(&mut self, buffers: Vec<Vec<u8>>) -> io::Result<()> {
        self.flush_open()?;
        self.chunk = buffers;
        Ok(())
    }

    /// Writes the response at `range` of the chunk's buffer `split` (opening ISA/GS when
    /// needed). Responses that follow each other in one buffer are written together, at
    /// the latest by [`Self::end_chunk`].
    pub fn queue_transaction(&mut self, split: usize, range: Range<usize>) -> io::Result<()> {
        self.before_transaction()?;
        match join_run(&mut self.open, split, range) {
            Some(done) => self.write_run(&done),
            None => Ok(()),
        }
    }

    /// Writes every queued response and hands the chunk's buffers back (for reuse).
    pub fn end_chunk(&mut self) -> io::Result<Vec<Vec<u8>>> {
        self.flush_open()?;
        Ok(std::mem::take(&mut self.chunk))
    }

    fn flush_open(&mut self) -> io::Result<()> {
        match self.open.take() {
            Some(run) => self.write_run(&run),
            None => Ok(()),
        }
    }

    fn write_run(&mut self, run: &Run) -> io::Result<()> {
        if self.out.is_none() {
            self.out = Some(AtomicFile::create(&self.path)?);
        }
        let (Some(out), Some(bytes)) = (self.out.as_mut(), run.bytes(&self.chunk)) else {
            return Err(io::Error::other("queued response out of range"));
        };
        out.write_all(bytes)
    }

    /// The input group ended.
    pub fn end_group(&mut self) -> io::Result<()> {
        self.flush_open()?;
        let Some(ic) = self.ic.as_mut() else {
            return Ok(());
        };
        let Some(g) = ic.group.take() else {
            return Ok(());
        };
        if g.written {
            let d = ic.input.header.delimiters;
            let mut buf = Vec::new();
            SegmentWriter::new(&mut buf, d, LineEnding::Lf)
                .segment("GE", &[&g.txns.to_string(), &g.control.to_string()])?;
            self.writer()?.write_all(&buf)?;
        }
        Ok(())
    }

    /// The input interchange ended.
    pub fn end_interchange(&mut self) -> io::Result<()> {
        self.end_group()?;
        let Some(ic) = self.ic.take() else {
            return Ok(());
        };
        if ic.written {
            let d = ic.input.header.delimiters;
            let mut buf = Vec::new();
            SegmentWriter::new(&mut buf, d, LineEnding::Lf).segment(
                "IEA",
                &[&ic.groups.to_string(), &format!("{:09}", ic.control)],
            )?;
            self.writer()?.write_all(&buf)?;
        }
        Ok(())
    }

    /// Renames the file to its final name (when anything was written).
    pub fn commit(mut self) -> io::Result<Option<super::Committed>> {
        self.end_interchange()?;
        match self.out.take() {
            Some(f) => Ok(Some(f.commit()?)),
            None => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::first_chars;

    #[test]
    fn first_chars_cuts_on_characters_not_bytes() {
        assert_eq!(first_chars("short", 264), "short");
        assert_eq!(first_chars("abcdef", 3), "abc");
        // Five characters, ten bytes: whole at n = 5, cut after the third character at n = 3.
        assert_eq!(first_chars("ééééé", 5), "ééééé");
        assert_eq!(first_chars("ééééé", 3), "ééé");
        assert_eq!(first_chars("", 0), "");
    }
}
