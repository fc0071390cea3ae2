//! Builds a [`Transaction278`] from the segments of one ST…SE and validates its structure.
//!
//! The HL tree decides where every segment belongs (reference §2.3): each HL names its parent,
//! and the allowed parent of each level is fixed (`20 → 21 → 22 → (23) → EV → SS`). Inside a
//! level, segments must come in the TR3 order; an NM1 opens a sub-loop whose kind comes from its
//! entity code (NM101), not from its position. Element checks cover the values the decision
//! depends on (codes, dates, quantities). Every problem becomes a diagnostic carrying the 999
//! IK3/IK4 code and loop id, so a 999 can be written without reading the file again.

use super::types::*;
use crate::diag::{AckCode, Diagnostic, Location, Severity};
use crate::x12::segment::Segment;
use crate::x12::values::{d8, decimal, rd8, valid_time};
use crate::x12::TransactionUnit;
use std::sync::Arc;

/// Where a transaction came from, for diagnostics.
#[derive(Debug, Clone)]
pub struct TxnContext<'a> {
    /// The file.
    pub file: &'a Arc<str>,
    /// The transaction unit (its control numbers name the location of every diagnostic).
    pub unit: Option<&'a TransactionUnit>,
    /// The implementation convention (ST03 or GS08).
    pub version: &'a str,
}

impl TxnContext<'_> {
    /// The envelope location (ISA13, GS06, ST02, ST offset); built only when a diagnostic needs it.
    pub fn location(&self) -> Location {
        self.unit.map(TransactionUnit::location).unwrap_or_default()
    }
}

/// The model (when the transaction could be read) and every diagnostic found.
#[derive(Debug)]
pub struct Built<'s> {
    /// The transaction; None when the segments do not start with ST and BHT. Boxed: the model
    /// is about 2 KB, and it is built in place and handed on without being copied.
    pub transaction: Option<Box<Transaction278<'s>>>,
    /// Structure and element problems.
    pub diagnostics: Vec<Diagnostic>,
}

/// Segment ids of the 278, matched once per segment instead of comparing strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sid {
    St,
    Se,
    Bht,
    Hl,
    Nm1,
    Ref,
    N3,
    N4,
    Per,
    Prv,
    Dmg,
    Ins,
    Trn,
    Aaa,
    Um,
    Hcr,
    Dtp,
    Hi,
    Hsd,
    Crc,
    Cl1,
    Cr1,
    Cr2,
    Cr5,
    Cr6,
    Pwk,
    Msg,
    Sv1,
    Sv2,
    Sv3,
    Too,
    Other,
}

impl Sid {
    fn of(id: &[u8]) -> Sid {
        match id {
            b"ST" => Sid::St,
            b"SE" => Sid::Se,
            b"BHT" => Sid::Bht,
            b"HL" => Sid::Hl,
            b"NM1" => Sid::Nm1,
            b"REF" => Sid::Ref,
            b"N3" => Sid::N3,
            b"N4" => Sid::N4,
            b"PER" => Sid::Per,
            b"PRV" => Sid::Prv,
            b"DMG" => Sid::Dmg,
            b"INS" => Sid::Ins,
            b"TRN" => Sid::Trn,
            b"AAA" => Sid::Aaa,
            b"UM" => Sid::Um,
            b"HCR" => Sid::Hcr,
            b"DTP" => Sid::Dtp,
            b"HI" => Sid::Hi,
            b"HSD" => Sid::Hsd,
            b"CRC" => Sid::Crc,
            b"CL1" => Sid::Cl1,
            b"CR1" => Sid::Cr1,
            b"CR2" => Sid::Cr2,
            b"CR5" => Sid::Cr5,
            b"CR6" => Sid::Cr6,
            b"PWK" => Sid::Pwk,
            b"MSG" => Sid::Msg,
            b"SV1" => Sid::Sv1,
            b"SV2" => Sid::Sv2,
            b"SV3" => Sid::Sv3,
            b"TOO" => Sid::Too,
            _ => Sid::Other,
        }
    }
    /// Segments that may appear at most once per level.
    fn single_use(self) -> bool {
        matches!(
            self,
            Sid::Um
                | Sid::Hcr
                | Sid::Hi
                | Sid::Cl1
                | Sid::Cr1
                | Sid::Cr2
                | Sid::Cr5
                | Sid::Cr6
                | Sid::Msg
                | Sid::Sv1
                | Sid::Sv2
                | Sid::Sv3
        )
    }
    fn bit(self) -> u64 {
        1u64 << (self as u8)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Level {
    Umo,
    Requester,
    Subscriber,
    Dependent,
    Event,
    Service,
}

impl Level {
    fn from_code(c: &str) -> Option<Level> {
        Some(match c {
            "20" => Level::Umo,
            "21" => Level::Requester,
            "22" => Level::Subscriber,
            "23" => Level::Dependent,
            "EV" => Level::Event,
            "SS" => Level::Service,
            _ => return None,
        })
    }
    fn name(self) -> &'static str {
        match self {
            Level::Umo => "2000A (UMO, HL03=20)",
            Level::Requester => "2000B (requester, HL03=21)",
            Level::Subscriber => "2000C (subscriber, HL03=22)",
            Level::Dependent => "2000D (dependent, HL03=23)",
            Level::Event => "2000E (patient event, HL03=EV)",
            Level::Service => "2000F (service, HL03=SS)",
        }
    }
    fn allowed_parents(self) -> &'static [Level] {
        match self {
            Level::Umo => &[],
            Level::Requester => &[Level::Umo],
            Level::Subscriber => &[Level::Requester],
            Level::Dependent => &[Level::Subscriber],
            Level::Event => &[Level::Subscriber, Level::Dependent],
            Level::Service => &[Level::Event],
        }
    }
    /// Segments allowed in the level itself (before any NM1 sub-loop), in TR3 order.
    fn header_order(self) -> &'static [Sid] {
        match self {
            Level::Umo => &[Sid::Aaa],
            Level::Requester | Level::Subscriber | Level::Dependent => &[],
            Level::Event => &[
                Sid::Trn,
                Sid::Aaa,
                Sid::Um,
                Sid::Hcr,
                Sid::Ref,
                Sid::Dtp,
                Sid::Hi,
                Sid::Hsd,
                Sid::Crc,
                Sid::Cl1,
                Sid::Cr1,
                Sid::Cr2,
                Sid::Cr5,
                Sid::Cr6,
                Sid::Pwk,
                Sid::Msg,
            ],
            Level::Service => &[
                Sid::Trn,
                Sid::Aaa,
                Sid::Um,
                Sid::Hcr,
                Sid::Ref,
                Sid::Dtp,
                Sid::Hi,
                Sid::Sv1,
                Sid::Sv2,
                Sid::Sv3,
                Sid::Too,
                Sid::Hsd,
                Sid::Pwk,
                Sid::Msg,
            ],
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SubKind {
    Umo,
    Requester,
    Member,
    Provider,
    Transport,
    OtherUmo,
    Contact,
}

impl SubKind {
    fn allowed(self) -> &'static [Sid] {
        match self {
            SubKind::Umo => &[Sid::Ref, Sid::N3, Sid::N4, Sid::Per, Sid::Aaa],
            SubKind::Requester | SubKind::Provider => {
                &[Sid::Ref, Sid::N3, Sid::N4, Sid::Per, Sid::Aaa, Sid::Prv]
            }
            SubKind::Member => &[Sid::Ref, Sid::N3, Sid::N4, Sid::Aaa, Sid::Dmg, Sid::Ins],
            SubKind::Transport => &[Sid::N3, Sid::N4, Sid::Aaa],
            SubKind::OtherUmo => &[Sid::Ref, Sid::Dtp],
            SubKind::Contact => &[Sid::N3, Sid::N4, Sid::Per],
        }
    }
}

/// Order of segments inside any NM1 sub-loop.
const SUBLOOP_ORDER: [Sid; 10] = [
    Sid::Nm1,
    Sid::Ref,
    Sid::N3,
    Sid::N4,
    Sid::Per,
    Sid::Aaa,
    Sid::Prv,
    Sid::Dmg,
    Sid::Ins,
    Sid::Dtp,
];

fn sub_kind_for(level: Level, nm101: &str) -> (SubKind, bool) {
    let provider_ev = [
        "71", "72", "73", "77", "AAJ", "DD", "DK", "DN", "FA", "G3", "P3", "QB", "QV", "SJ",
    ];
    let provider_ss = [
        "1T", "72", "73", "77", "DD", "DK", "DQ", "FA", "G3", "P3", "QB", "QV", "SJ", "71", "DN",
    ];
    match level {
        Level::Umo => (SubKind::Umo, ["X3", "PR", "2B", "36"].contains(&nm101)),
        Level::Requester => (
            SubKind::Requester,
            ["1P", "FA", "2B", "36", "PR", "X3"].contains(&nm101),
        ),
        Level::Subscriber => (SubKind::Member, nm101 == "IL"),
        Level::Dependent => (SubKind::Member, nm101 == "QC"),
        Level::Event => {
            if nm101 == "L5" {
                (SubKind::Contact, true)
            } else if ["45", "FS", "ND", "PW", "R3"].contains(&nm101) {
                (SubKind::Transport, true)
            } else if ["CA", "GG"].contains(&nm101) {
                (SubKind::OtherUmo, true)
            } else {
                (SubKind::Provider, provider_ev.contains(&nm101))
            }
        }
        Level::Service => {
            if nm101 == "L5" {
                (SubKind::Contact, true)
            } else {
                (SubKind::Provider, provider_ss.contains(&nm101))
            }
        }
    }
}

#[derive(Debug)]
struct HlNode<'s> {
    id: &'s str,
    offset: u64,
    level: Option<Level>,
    child_code: &'s str,
    position: u32,
    has_children: bool,
    reported_child_code: bool,
}

#[derive(Debug, Clone, Copy)]
enum EntitySlot {
    Umo,
    Requester,
    Subscriber,
    Dependent,
    EventProvider(usize),
    EventTransport(usize),
    EventOtherUmo(usize),
    EventContact(usize),
    ServiceProvider(usize),
    ServiceContact(usize),
}

#[derive(Debug, Clone, Copy)]
enum Section {
    Header {
        last: usize,
    },
    Sub {
        kind: SubKind,
        last: usize,
        slot: Option<EntitySlot>,
    },
}

struct Builder<'s, 'c> {
    ctx: &'c TxnContext<'c>,
    diags: Vec<Diagnostic>,
    nodes: Vec<HlNode<'s>>,
    level: Option<Level>,
    section: Section,
    used_single: u64,
    txn: Box<Transaction278<'s>>,
    /// Index of the event the current service line belongs to.
    cur_event: Option<usize>,
    /// True after an HL with an unknown level code: its segments are not checked further.
    unknown_level: bool,
}

const LOOP_2000: Option<&str> = Some("2000");
const LOOP_2010: Option<&str> = Some("2010");

/// Builds and validates one 278 transaction from its segments (ST first, SE last).
pub fn build_278<'s>(segments: &'s [Segment<'_>], ctx: &TxnContext<'_>) -> Built<'s> {
    let mut diags = Vec::new();
    let (Some(st), Some(bht)) = (segments.first(), segments.get(1)) else {
        diags.push(
            Diagnostic::new(
                ctx.file,
                Severity::Error,
                "bht-missing",
                "the transaction set has no BHT segment",
            )
            .at(ctx.location())
            .with_ack(AckCode::Ik3 {
                code: "3",
                loop_id: None,
            }),
        );
        return Built {
            transaction: None,
            diagnostics: diags,
        };
    };
    let ctx2 = ctx.clone();
    let txn = Box::new(Transaction278 {
        purpose: Purpose::from_code(bht.get(2)),
        control_number: st.get(2),
        version: "",
        bht: Bht {
            structure: bht.get(1),
            purpose_code: bht.get(2),
            reference: bht.get(3),
            date: d8(bht.get(4)),
            time: bht.get(5),
            transaction_type: bht.get(6),
        },
        umo: None,
        requester: None,
        subscriber: None,
        dependent: None,
        events: Vec::new(),
    });
    let mut b = Builder {
        ctx: &ctx2,
        diags,
        // Five levels in a usual request, seven with a dependent and two services.
        nodes: Vec::with_capacity(8),
        level: None,
        section: Section::Header { last: 0 },
        used_single: 0,
        txn,
        cur_event: None,
        unknown_level: false,
    };
    if !bht.is("BHT") {
        b.seg_err(
            bht,
            2,
            "3",
            "bht-missing",
            "the second segment must be BHT".into(),
            None,
        );
    } else {
        b.check_bht(bht);
    }
    let last = segments.len();
    for (i, seg) in segments.iter().enumerate().skip(2) {
        let pos = (i + 1) as u32;
        if i + 1 == last && seg.is("SE") {
            break;
        }
        b.check_text(seg, pos);
        b.segment(seg, pos);
    }
    b.finish(
        segments.len() as u32,
        segments.last().map(|s| s.offset).unwrap_or(0),
    );
    let Builder { diags, txn, .. } = b;
    Built {
        transaction: Some(txn),
        diagnostics: diags,
    }
}

impl<'s, 'c> Builder<'s, 'c> {
    fn loc(&self, seg: &Segment<'_>, pos: u32) -> Location {
        Location {
            byte_offset: Some(seg.offset),
            segment_position: Some(pos),
            segment_id: Some(crate::x12::reader::printable_id(seg.id())),
            ..self.ctx.location()
        }
    }

    fn seg_err(
        &mut self,
        seg: &Segment<'_>,
        pos: u32,
        ik304: &'static str,
        code: &'static str,
        msg: String,
        loop_id: Option<&'static str>,
    ) {
        let d = Diagnostic::new(self.ctx.file, Severity::Error, code, msg)
            .at(self.loc(seg, pos))
            .with_ack(AckCode::Ik3 {
                code: ik304,
                loop_id,
            });
        self.diags.push(d);
    }

    /// An element (or component) that is not a valid date: IK403 8 (invalid date).
    fn date_err(
        &mut self,
        seg: &Segment<'_>,
        pos: u32,
        element: u16,
        component: Option<u16>,
        element_ref: u16,
        msg: String,
    ) {
        self.el_err(
            seg,
            pos,
            element,
            component,
            "8",
            element_ref,
            "element-date",
            msg,
        );
    }

    #[allow(clippy::too_many_arguments)]
    fn el_err(
        &mut self,
        seg: &Segment<'_>,
        pos: u32,
        element: u16,
        component: Option<u16>,
        ik403: &'static str,
        element_ref: u16,
        code: &'static str,
        msg: String,
    ) {
        let loop_id = self.loop_id();
        let d = Diagnostic::new(self.ctx.file, Severity::Error, code, msg)
            .at(self.loc(seg, pos))
            .element(element, component)
            .with_ack(AckCode::Ik4 {
                code: ik403,
                element_ref: Some(element_ref),
                loop_id,
            });
        self.diags.push(d);
    }

    fn loop_id(&self) -> Option<&'static str> {
        match self.section {
            Section::Header { .. } => LOOP_2000,
            Section::Sub { .. } => LOOP_2010,
        }
    }

    fn id_of(seg: &Segment<'_>) -> String {
        crate::x12::reader::printable_id(seg.id())
    }

    /// Element `n` must be present.
    // Inlined: it runs for about a dozen elements of every request, and nearly always finds
    // the element there; the report of a missing one is kept out of line.
    #[inline]
    fn required(&mut self, seg: &Segment<'_>, pos: u32, n: usize, eref: u16) -> bool {
        if seg.has(n) {
            return true;
        }
        self.missing(seg, pos, n, eref);
        false
    }

    /// Reports required element `n` as missing.
    #[cold]
    #[inline(never)]
    fn missing(&mut self, seg: &Segment<'_>, pos: u32, n: usize, eref: u16) {
        let id = Self::id_of(seg);
        self.el_err(
            seg,
            pos,
            n as u16,
            None,
            "1",
            eref,
            "element-missing",
            format!("{id}{n:02} is required"),
        );
    }

    /// Element `n`, when present, must be one of `codes`.
    // Inlined, with the report of a bad code out of line (see `required`).
    #[inline]
    fn code_in(&mut self, seg: &Segment<'_>, pos: u32, n: usize, codes: &[&str], eref: u16) {
        let v = seg.get(n);
        if !v.is_empty() && !is_one_of(v, codes) {
            self.bad_code(seg, pos, n, v, codes, eref);
        }
    }

    /// Reports element `n`, holding `v`, as not one of `codes`.
    #[cold]
    #[inline(never)]
    fn bad_code(
        &mut self,
        seg: &Segment<'_>,
        pos: u32,
        n: usize,
        v: &str,
        codes: &[&str],
        eref: u16,
    ) {
        let id = Self::id_of(seg);
        let shown = if v.len() <= 3 && v.bytes().all(|b| b.is_ascii_alphanumeric()) {
            format!(" `{v}`")
        } else {
            String::new()
        };
        self.el_err(
            seg,
            pos,
            n as u16,
            None,
            "7",
            eref,
            "element-code",
            format!(
                "{id}{n:02}{shown} is not a valid code here; expected one of {}",
                codes.join(", ")
            ),
        );
    }

    fn number(&mut self, seg: &Segment<'_>, pos: u32, n: usize, eref: u16) -> Option<f64> {
        let v = seg.get(n);
        if v.is_empty() {
            return None;
        }
        let parsed = decimal(v);
        if parsed.is_none() {
            let id = Self::id_of(seg);
            self.el_err(
                seg,
                pos,
                n as u16,
                None,
                "6",
                eref,
                "element-number",
                format!("{id}{n:02} is not a decimal number"),
            );
        }
        parsed
    }

    fn check_text(&mut self, seg: &Segment<'_>, pos: u32) {
        // Segments of a transaction that was valid UTF-8 were validated once, when read.
        if seg.is_text() || std::str::from_utf8(seg.raw()).is_ok() {
            return;
        }
        let bad = seg
            .elements()
            .position(|e| std::str::from_utf8(e).is_err())
            .map(|i| i + 1)
            .unwrap_or(0);
        let id = Self::id_of(seg);
        self.el_err(
            seg,
            pos,
            bad as u16,
            None,
            "6",
            0,
            "element-character",
            format!("{id}{bad:02} holds bytes that are not valid text"),
        );
    }

    fn check_bht(&mut self, bht: &Segment<'_>) {
        self.code_in(bht, 2, 1, &["0007"], 1005);
        if self.required(bht, 2, 2, 353) {
            self.code_in(bht, 2, 2, &["13", "11", "01", "36"], 353);
        }
        self.required(bht, 2, 3, 127);
        if self.required(bht, 2, 4, 373) && d8(bht.get(4)).is_none() {
            self.date_err(
                bht,
                2,
                4,
                None,
                373,
                "BHT04 is not a valid CCYYMMDD date".into(),
            );
        }
        if self.required(bht, 2, 5, 337) && !valid_time(bht.get(5)) {
            self.el_err(
                bht,
                2,
                5,
                None,
                "9",
                337,
                "element-time",
                "BHT05 is not a valid HHMM[SS] time".into(),
            );
        }
    }

    fn segment(&mut self, seg: &'s Segment<'_>, pos: u32) {
        let sid = Sid::of(seg.id());
        if sid == Sid::Hl {
            self.hl(seg, pos);
            return;
        }
        if matches!(sid, Sid::Other | Sid::St | Sid::Se | Sid::Bht) {
            let shown = Self::id_of(seg);
            self.seg_err(
                seg,
                pos,
                if sid == Sid::Other { "1" } else { "2" },
                if sid == Sid::Other {
                    "segment-unknown"
                } else {
                    "segment-unexpected"
                },
                if sid == Sid::Other {
                    format!("segment `{shown}` is not part of the 278 transaction set")
                } else {
                    format!("segment `{shown}` is not expected here")
                },
                self.loop_id(),
            );
            return;
        }
        let Some(level) = self.level else {
            if self.unknown_level {
                // Already reported on the HL whose level code is unknown.
                return;
            }
            let id = Self::id_of(seg);
            self.seg_err(
                seg,
                pos,
                "2",
                "segment-unexpected",
                format!("segment `{id}` appears before the first HL"),
                None,
            );
            return;
        };
        if sid == Sid::Nm1 {
            self.nm1(seg, pos, level);
            return;
        }
        if matches!(sid, Sid::Hcr | Sid::Aaa) && self.txn.purpose.is_request() {
            let id = Self::id_of(seg);
            self.seg_err(
                seg,
                pos,
                "2",
                "segment-unexpected",
                format!(
                    "segment `{id}` belongs to responses, not to a request (BHT02={})",
                    self.txn.bht.purpose_code
                ),
                self.loop_id(),
            );
            return;
        }
        match self.section {
            Section::Header { last } => {
                let order = level.header_order();
                let Some(ord) = order.iter().position(|s| *s == sid) else {
                    let id = Self::id_of(seg);
                    self.seg_err(
                        seg,
                        pos,
                        "2",
                        "segment-unexpected",
                        format!("segment `{id}` is not allowed in loop {}", level.name()),
                        LOOP_2000,
                    );
                    return;
                };
                if ord + 1 < last {
                    let id = Self::id_of(seg);
                    self.seg_err(
                        seg,
                        pos,
                        "7",
                        "segment-order",
                        format!("segment `{id}` is out of order in loop {}", level.name()),
                        LOOP_2000,
                    );
                }
                if sid.single_use() {
                    if self.used_single & sid.bit() != 0 {
                        let id = Self::id_of(seg);
                        self.seg_err(
                            seg,
                            pos,
                            "5",
                            "segment-repeated",
                            format!(
                                "segment `{id}` may appear only once in loop {}",
                                level.name()
                            ),
                            LOOP_2000,
                        );
                    } else {
                        self.used_single |= sid.bit();
                    }
                }
                self.section = Section::Header {
                    last: last.max(ord + 1),
                };
                self.level_segment(seg, pos, level, sid);
            }
            Section::Sub { kind, last, slot } => {
                if !kind.allowed().contains(&sid) {
                    let id = Self::id_of(seg);
                    if level.header_order().contains(&sid) {
                        self.seg_err(
                            seg,
                            pos,
                            "7",
                            "segment-order",
                            format!(
                                "segment `{id}` of loop {} comes after an NM1 sub-loop; it must come before",
                                level.name()
                            ),
                            LOOP_2000,
                        );
                    } else {
                        self.seg_err(
                            seg,
                            pos,
                            "2",
                            "segment-unexpected",
                            format!(
                                "segment `{id}` is not allowed in this NM1 loop of {}",
                                level.name()
                            ),
                            LOOP_2010,
                        );
                    }
                    return;
                }
                let ord = SUBLOOP_ORDER.iter().position(|s| *s == sid).unwrap_or(0);
                if ord < last {
                    let id = Self::id_of(seg);
                    self.seg_err(
                        seg,
                        pos,
                        "7",
                        "segment-order",
                        format!("segment `{id}` is out of order in its NM1 loop"),
                        LOOP_2010,
                    );
                }
                self.section = Section::Sub {
                    kind,
                    last: last.max(ord),
                    slot,
                };
                if let Some(slot) = slot {
                    self.entity_segment(seg, pos, slot, sid);
                }
            }
        }
    }

    fn hl(&mut self, seg: &'s Segment<'_>, pos: u32) {
        // An HL opens a new 2000-level loop: its own errors belong to loop 2000.
        self.section = Section::Header { last: 0 };
        let expected = self.nodes.len() + 1;
        let id = seg.get(1);
        if id.starts_with('0') || id.parse::<usize>() != Ok(expected) {
            self.el_err(
                seg,
                pos,
                1,
                None,
                "7",
                628,
                "hl-sequence",
                format!("HL01 should be {expected}: HL ids start at 1 and increase by 1"),
            );
        }
        let code = seg.get(3);
        let level = Level::from_code(code);
        if level.is_none() {
            let shown = if code.len() <= 3 { code } else { "" };
            self.el_err(
                seg,
                pos,
                3,
                None,
                "7",
                735,
                "hl-level",
                format!("HL03 `{shown}` is not a 278 level (20, 21, 22, 23, EV, SS)"),
            );
        }
        let child_code = seg.get(4);
        if !matches!(child_code, "0" | "1") {
            self.el_err(
                seg,
                pos,
                4,
                None,
                "7",
                736,
                "hl-child-code",
                "HL04 must be 0 or 1".into(),
            );
        }
        let parent_id = seg.get(2);
        let parent = if parent_id.is_empty() {
            None
        } else {
            self.nodes.iter().position(|n| n.id == parent_id)
        };
        if let Some(level) = level {
            let allowed = level.allowed_parents();
            match (parent_id.is_empty(), parent) {
                (true, _) if allowed.is_empty() => {}
                (true, _) => self.el_err(
                    seg,
                    pos,
                    2,
                    None,
                    "1",
                    734,
                    "hl-parent",
                    format!(
                        "HL02 is required: loop {} must name its parent",
                        level.name()
                    ),
                ),
                (false, None) => self.el_err(
                    seg,
                    pos,
                    2,
                    None,
                    "7",
                    734,
                    "hl-parent",
                    "HL02 names no earlier HL01".to_string(),
                ),
                (false, Some(p)) => {
                    let plevel = self.nodes.get(p).and_then(|n| n.level);
                    if !plevel.is_some_and(|pl| allowed.contains(&pl)) {
                        let pname = plevel.map(|l| l.name()).unwrap_or("an unknown level");
                        let want: Vec<&str> = allowed.iter().map(|l| l.name()).collect();
                        let want = if want.is_empty() {
                            "no parent".to_string()
                        } else {
                            want.join(" or ")
                        };
                        self.el_err(
                            seg,
                            pos,
                            2,
                            None,
                            "7",
                            734,
                            "hl-parent",
                            format!(
                                "loop {} has parent {pname}; its parent must be {want}",
                                level.name()
                            ),
                        );
                    }
                }
            }
        }
        if let Some(p) = parent {
            let mut report = None;
            if let Some(node) = self.nodes.get_mut(p) {
                node.has_children = true;
                if node.child_code == "0" && !node.reported_child_code {
                    node.reported_child_code = true;
                    report = Some((node.position, node.offset));
                }
            }
            if let Some((ppos, poff)) = report {
                let d = Diagnostic::new(
                    self.ctx.file,
                    Severity::Error,
                    "hl-child-code",
                    format!("HL04 is 0 (no child levels) but HL at segment {pos} names it as its parent"),
                )
                .at(Location {
                    byte_offset: Some(poff),
                    segment_position: Some(ppos),
                    segment_id: Some("HL".into()),
                    ..self.ctx.location()
                })
                .element(4, None)
                .with_ack(AckCode::Ik4 {
                    code: "7",
                    element_ref: Some(736),
                    loop_id: LOOP_2000,
                });
                self.diags.push(d);
            }
        }
        self.nodes.push(HlNode {
            id,
            offset: seg.offset,
            level,
            child_code,
            position: pos,
            has_children: false,
            reported_child_code: false,
        });
        self.level = level;
        self.unknown_level = level.is_none();
        self.section = Section::Header { last: 0 };
        self.used_single = 0;
        let Some(level) = level else { return };
        let party = |hl_id, position| Party {
            hl_id,
            position,
            rejections: Vec::new(),
            entity: None,
        };
        // A party is written in place: `Option::replace` moved the old one out and the new
        // one in, two copies of a 472-byte struct per level.
        let put_party = |slot: &mut Option<Party<'s>>| {
            let over = slot.is_some();
            *slot = Some(party("", pos));
            over
        };
        let over = match level {
            Level::Umo => put_party(&mut self.txn.umo),
            Level::Requester => put_party(&mut self.txn.requester),
            Level::Subscriber => put_party(&mut self.txn.subscriber),
            Level::Dependent => put_party(&mut self.txn.dependent),
            Level::Event => {
                let many = !self.txn.events.is_empty() && self.txn.purpose.is_request();
                self.txn.events.push(PatientEvent {
                    hl_id: "",
                    position: pos,
                    detail: ReviewDetail::default(),
                    diagnoses: Few::new(),
                    conditions: Vec::new(),
                    institutional: None,
                    clinical: Vec::new(),
                    transport: Vec::new(),
                    other_umo: Vec::new(),
                    services: Vec::new(),
                });
                self.cur_event = Some(self.txn.events.len() - 1);
                many
            }
            Level::Service => {
                let parent_event = parent
                    .and_then(|p| self.nodes.get(p))
                    .filter(|n| n.level == Some(Level::Event))
                    .map(|n| n.position)
                    .and_then(|ppos| self.txn.events.iter().position(|e| e.position == ppos))
                    .or(self.cur_event)
                    .or_else(|| self.txn.events.len().checked_sub(1));
                if parent_event.is_none() {
                    // A service level with no event: keep its data under an implied event.
                    self.txn.events.push(PatientEvent {
                        hl_id: "",
                        position: 0,
                        detail: ReviewDetail::default(),
                        diagnoses: Few::new(),
                        conditions: Vec::new(),
                        institutional: None,
                        clinical: Vec::new(),
                        transport: Vec::new(),
                        other_umo: Vec::new(),
                        services: Vec::new(),
                    });
                }
                let ev = parent_event.unwrap_or(self.txn.events.len() - 1);
                self.cur_event = Some(ev);
                if let Some(e) = self.txn.events.get_mut(ev) {
                    e.services.push(ServiceLine {
                        hl_id: "",
                        position: pos,
                        detail: ReviewDetail::default(),
                        professional: None,
                        institutional: None,
                        dental: None,
                        teeth: Vec::new(),
                        information_requests: Vec::new(),
                    });
                }
                false
            }
        };
        if over {
            self.seg_err(
                seg,
                pos,
                "4",
                "loop-repeated",
                format!("loop {} occurs more than once", level.name()),
                LOOP_2000,
            );
        }
    }

    fn event_mut(&mut self) -> Option<&mut PatientEvent<'s>> {
        let i = self.cur_event?;
        self.txn.events.get_mut(i)
    }

    fn service_mut(&mut self) -> Option<&mut ServiceLine<'s>> {
        self.event_mut()?.services.last_mut()
    }

    fn detail_mut(&mut self, level: Level) -> Option<&mut ReviewDetail<'s>> {
        match level {
            Level::Event => self.event_mut().map(|e| &mut e.detail),
            Level::Service => self.service_mut().map(|s| &mut s.detail),
            _ => None,
        }
    }

    fn entity_mut(&mut self, slot: EntitySlot) -> Option<&mut Entity<'s>> {
        match slot {
            EntitySlot::Umo => self.txn.umo.as_mut()?.entity.as_mut(),
            EntitySlot::Requester => self.txn.requester.as_mut()?.entity.as_mut(),
            EntitySlot::Subscriber => self.txn.subscriber.as_mut()?.entity.as_mut(),
            EntitySlot::Dependent => self.txn.dependent.as_mut()?.entity.as_mut(),
            EntitySlot::EventProvider(i) => self.event_mut()?.detail.providers.get_mut(i),
            EntitySlot::EventTransport(i) => self.event_mut()?.transport.get_mut(i),
            EntitySlot::EventOtherUmo(i) => self.event_mut()?.other_umo.get_mut(i),
            EntitySlot::EventContact(i) => self.event_mut()?.detail.contacts.get_mut(i),
            EntitySlot::ServiceProvider(i) => self.service_mut()?.detail.providers.get_mut(i),
            EntitySlot::ServiceContact(i) => self.service_mut()?.detail.contacts.get_mut(i),
        }
    }

    fn nm1(&mut self, seg: &'s Segment<'_>, pos: u32, level: Level) {
        let code = seg.get(1);
        let (kind, known) = sub_kind_for(level, code);
        // NM1 opens the sub-loop; its elements are checked as part of the sub-loop (loop 2010).
        self.section = Section::Sub {
            kind,
            last: 0,
            slot: None,
        };
        if self.required(seg, pos, 1, 98) && !known {
            let shown = if code.len() <= 3 { code } else { "" };
            self.el_err(
                seg,
                pos,
                1,
                None,
                "7",
                98,
                "element-code",
                format!(
                    "NM101 `{shown}` is not an entity code allowed in loop {}",
                    level.name()
                ),
            );
        }
        self.code_in(seg, pos, 2, &["1", "2"], 1065);
        let (q, idv) = (seg.get(8), seg.get(9));
        if !q.is_empty() && idv.is_empty() {
            self.el_err(
                seg,
                pos,
                9,
                None,
                "2",
                67,
                "element-missing",
                "NM109 is required when NM108 is present".into(),
            );
        } else if q.is_empty() && !idv.is_empty() {
            self.el_err(
                seg,
                pos,
                8,
                None,
                "2",
                66,
                "element-missing",
                "NM108 is required when NM109 is present".into(),
            );
        }
        // Made where it is stored: an entity (424 bytes) built first and then moved in cost a
        // copy per NM1.
        let make = || Entity {
            position: pos,
            entity_code: code,
            entity_type: seg.get(2),
            last_or_org_name: seg.get(3),
            first_name: seg.get(4),
            middle_name: seg.get(5),
            suffix: seg.get(7),
            id_qualifier: q,
            id: idv,
            ..Entity::default()
        };
        let slot = match (level, kind) {
            (Level::Umo, _) => self.put_party_entity(EntitySlot::Umo, make, seg, pos, level),
            (Level::Requester, _) => {
                self.put_party_entity(EntitySlot::Requester, make, seg, pos, level)
            }
            (Level::Subscriber, _) => {
                self.put_party_entity(EntitySlot::Subscriber, make, seg, pos, level)
            }
            (Level::Dependent, _) => {
                self.put_party_entity(EntitySlot::Dependent, make, seg, pos, level)
            }
            (Level::Event, kind) => self.event_mut().map(|e| match kind {
                SubKind::Transport => {
                    e.transport.push(make());
                    EntitySlot::EventTransport(e.transport.len() - 1)
                }
                SubKind::OtherUmo => {
                    e.other_umo.push(make());
                    EntitySlot::EventOtherUmo(e.other_umo.len() - 1)
                }
                SubKind::Contact => {
                    e.detail.contacts.push(make());
                    EntitySlot::EventContact(e.detail.contacts.len() - 1)
                }
                _ => {
                    e.detail.providers.push(make());
                    EntitySlot::EventProvider(e.detail.providers.len() - 1)
                }
            }),
            (Level::Service, kind) => self.service_mut().map(|s| {
                if kind == SubKind::Contact {
                    s.detail.contacts.push(make());
                    EntitySlot::ServiceContact(s.detail.contacts.len() - 1)
                } else {
                    s.detail.providers.push(make());
                    EntitySlot::ServiceProvider(s.detail.providers.len() - 1)
                }
            }),
        };
        self.section = Section::Sub {
            kind,
            last: 0,
            slot,
        };
    }

    fn put_party_entity(
        &mut self,
        slot: EntitySlot,
        make: impl FnOnce() -> Entity<'s>,
        seg: &Segment<'_>,
        pos: u32,
        level: Level,
    ) -> Option<EntitySlot> {
        let party = match slot {
            EntitySlot::Umo => self.txn.umo.as_mut(),
            EntitySlot::Requester => self.txn.requester.as_mut(),
            EntitySlot::Subscriber => self.txn.subscriber.as_mut(),
            EntitySlot::Dependent => self.txn.dependent.as_mut(),
            _ => None,
        }?;
        if party.entity.is_some() {
            self.seg_err(
                seg,
                pos,
                "4",
                "loop-repeated",
                format!("the NM1 loop of {} occurs more than once", level.name()),
                LOOP_2010,
            );
            return None;
        }
        party.entity = Some(make());
        Some(slot)
    }

    fn dtp(&mut self, seg: &'s Segment<'_>, pos: u32) -> DateInfo<'s> {
        self.required(seg, pos, 1, 374);
        let fmt = seg.get(2);
        let raw = seg.get(3);
        let mut value = None;
        if self.required(seg, pos, 2, 1250) {
            let (parsed, expected) = match fmt {
                "D8" => (d8(raw).map(DateValue::Single), "a valid CCYYMMDD date"),
                "RD8" => (
                    rd8(raw).map(|(from, to)| DateValue::Range { from, to }),
                    "a valid CCYYMMDD-CCYYMMDD range (start on or before end)",
                ),
                _ => {
                    self.code_in(seg, pos, 2, &["D8", "RD8"], 1250);
                    (None, "")
                }
            };
            if parsed.is_none() && !expected.is_empty() {
                self.date_err(seg, pos, 3, None, 1251, format!("DTP03 is not {expected}"));
            }
            value = parsed;
        }
        DateInfo {
            qualifier: seg.get(1),
            value,
        }
    }

    fn entity_segment(&mut self, seg: &'s Segment<'_>, pos: u32, slot: EntitySlot, sid: Sid) {
        match sid {
            Sid::Ref => {
                self.required(seg, pos, 1, 128);
                self.required(seg, pos, 2, 127);
                let r = Reference {
                    qualifier: seg.get(1),
                    value: seg.get(2),
                };
                if let Some(e) = self.entity_mut(slot) {
                    e.references.push(r);
                }
            }
            Sid::N3 => {
                let (l1, l2) = (seg.get(1), seg.get(2));
                if let Some(e) = self.entity_mut(slot) {
                    let a = e.address.get_or_insert_with(Address::default);
                    a.line1 = l1;
                    a.line2 = l2;
                }
            }
            Sid::N4 => {
                let (c, s, z, k) = (seg.get(1), seg.get(2), seg.get(3), seg.get(4));
                if let Some(e) = self.entity_mut(slot) {
                    let a = e.address.get_or_insert_with(Address::default);
                    a.city = c;
                    a.state = s;
                    a.postal_code = z;
                    a.country = k;
                }
            }
            Sid::Per => {
                self.required(seg, pos, 1, 366);
                let mut numbers = smallvec::SmallVec::new();
                for i in [3usize, 5, 7] {
                    let (q, n) = (seg.get(i), seg.get(i + 1));
                    if !q.is_empty() || !n.is_empty() {
                        numbers.push((q, n));
                    }
                }
                let c = Contact {
                    function: seg.get(1),
                    name: seg.get(2),
                    numbers,
                };
                if let Some(e) = self.entity_mut(slot) {
                    e.contacts.push(c);
                }
            }
            Sid::Prv => {
                self.required(seg, pos, 1, 1221);
                self.code_in(seg, pos, 2, &["PXC"], 128);
                let p = ProviderInfo {
                    code: seg.get(1),
                    qualifier: seg.get(2),
                    taxonomy: seg.get(3),
                };
                if let Some(e) = self.entity_mut(slot) {
                    e.provider_info = Some(p);
                }
            }
            Sid::Dmg => {
                let mut birth = None;
                if !seg.get(2).is_empty() {
                    self.code_in(seg, pos, 1, &["D8"], 1250);
                    birth = d8(seg.get(2));
                    if birth.is_none() {
                        self.date_err(
                            seg,
                            pos,
                            2,
                            None,
                            1251,
                            "DMG02 is not a valid CCYYMMDD date".into(),
                        );
                    }
                }
                self.code_in(seg, pos, 3, &["F", "M", "U"], 1068);
                let g = seg.get(3);
                if let Some(e) = self.entity_mut(slot) {
                    e.birth_date = birth;
                    e.gender = Some(g).filter(|g| !g.is_empty());
                }
            }
            Sid::Ins => {
                let r = seg.get(2);
                if let Some(e) = self.entity_mut(slot) {
                    e.relationship = Some(r).filter(|r| !r.is_empty());
                }
            }
            Sid::Aaa => {
                let a = self.aaa(seg, pos);
                if let Some(e) = self.entity_mut(slot) {
                    e.rejections.push(a);
                }
            }
            Sid::Dtp => {
                let d = self.dtp(seg, pos);
                if let Some(e) = self.entity_mut(slot) {
                    e.dates.push(d);
                }
            }
            _ => {}
        }
    }

    fn aaa(&mut self, seg: &'s Segment<'_>, pos: u32) -> Rejection<'s> {
        if self.required(seg, pos, 1, 1073) {
            self.code_in(seg, pos, 1, &["Y", "N"], 1073);
        }
        self.required(seg, pos, 3, 901);
        Rejection {
            valid: seg.get(1),
            reason: seg.get(3),
            follow_up: seg.get(4),
        }
    }

    fn procedure(
        &mut self,
        seg: &'s Segment<'_>,
        pos: u32,
        n: usize,
        quals: &[&str],
    ) -> Procedure<'s> {
        let [q, code, m1, m2, m3, m4, description] = seg.components_array(n);
        if q.is_empty() {
            self.el_err(
                seg,
                pos,
                n as u16,
                Some(1),
                "1",
                235,
                "element-missing",
                "the procedure code qualifier is required".into(),
            );
        } else if !is_one_of(q, quals) {
            self.el_err(
                seg,
                pos,
                n as u16,
                Some(1),
                "7",
                235,
                "element-code",
                format!(
                    "the procedure code qualifier must be one of {}",
                    quals.join(", ")
                ),
            );
        }
        if code.is_empty() {
            self.el_err(
                seg,
                pos,
                n as u16,
                Some(2),
                "1",
                234,
                "element-missing",
                "the procedure code is required".into(),
            );
        }
        let modifiers = [m1, m2, m3, m4]
            .into_iter()
            .filter(|m| !m.is_empty())
            .collect();
        Procedure {
            qualifier: q,
            code,
            modifiers,
            description,
        }
    }

    fn level_segment(&mut self, seg: &'s Segment<'_>, pos: u32, level: Level, sid: Sid) {
        match (level, sid) {
            (Level::Umo, Sid::Aaa) => {
                let a = self.aaa(seg, pos);
                if let Some(p) = self.txn.umo.as_mut() {
                    p.rejections.push(a);
                }
            }
            (_, Sid::Trn) => {
                if self.required(seg, pos, 1, 481) {
                    self.code_in(seg, pos, 1, &["1", "2"], 481);
                }
                self.required(seg, pos, 2, 127);
                self.required(seg, pos, 3, 509);
                let t = Trace {
                    kind: seg.get(1),
                    number: seg.get(2),
                    originator: seg.get(3),
                    supplemental: seg.get(4),
                };
                if let Some(d) = self.detail_mut(level) {
                    d.traces.push(t);
                }
            }
            (_, Sid::Aaa) => {
                let a = self.aaa(seg, pos);
                if let Some(d) = self.detail_mut(level) {
                    d.rejections.push(a);
                }
            }
            (_, Sid::Um) => {
                let cats: &[&str] = if level == Level::Event {
                    &["AR", "HS", "SC", "IN"]
                } else {
                    &["HS", "SC", "AR", "IN"]
                };
                if self.required(seg, pos, 1, 1525) {
                    self.code_in(seg, pos, 1, cats, 1525);
                }
                self.code_in(seg, pos, 2, &["I", "1", "2", "3", "4", "N", "R", "S"], 1322);
                let [facility_code, q] = seg.components_array(4);
                if !seg.get(4).is_empty() && !matches!(q, "A" | "B") {
                    self.el_err(
                        seg,
                        pos,
                        4,
                        Some(2),
                        "7",
                        1332,
                        "element-code",
                        "UM04-2 must be A (bill type) or B (place of service)".into(),
                    );
                }
                self.code_in(seg, pos, 6, &["03", "U", "E"], 1338);
                let r = Review {
                    position: pos,
                    category: seg.get(1),
                    certification_type: seg.get(2),
                    service_type: seg.get(3),
                    facility_code,
                    facility_code_qualifier: q,
                    related_causes: seg
                        .components_array::<3>(5)
                        .into_iter()
                        .filter(|c| !c.is_empty())
                        .collect(),
                    level_of_service: seg.get(6),
                    health_condition: seg.get(7),
                    prognosis: seg.get(8),
                    release_of_information: seg.get(9),
                    delay_reason: seg.get(10),
                };
                if let Some(d) = self.detail_mut(level) {
                    d.review = Some(r);
                }
            }
            (_, Sid::Hcr) => {
                let actions: &[&str] = if level == Level::Event {
                    &["A1", "A2", "A3", "A4", "A6", "C", "CT", "NA"]
                } else {
                    &["A1", "A3", "A4", "A6", "C", "CT", "NA"]
                };
                if self.required(seg, pos, 1, 306) {
                    self.code_in(seg, pos, 1, actions, 306);
                }
                let h = ReviewDecision {
                    action: seg.get(1),
                    review_number: seg.get(2),
                    reasons: seg
                        .repetitions(3)
                        .into_iter()
                        .filter(|r| !r.is_empty())
                        .collect(),
                    second_opinion: seg.get(4),
                };
                if let Some(d) = self.detail_mut(level) {
                    d.decision = Some(h);
                }
            }
            (_, Sid::Ref) => {
                self.required(seg, pos, 1, 128);
                self.required(seg, pos, 2, 127);
                let r = Reference {
                    qualifier: seg.get(1),
                    value: seg.get(2),
                };
                if let Some(d) = self.detail_mut(level) {
                    d.references.push(r);
                }
            }
            (_, Sid::Dtp) => {
                let di = self.dtp(seg, pos);
                if let Some(d) = self.detail_mut(level) {
                    d.dates.push(di);
                }
            }
            (_, Sid::Hi) => {
                let mut list = Few::new();
                for n in 1..=12usize {
                    if seg.get(n).is_empty() {
                        continue;
                    }
                    let [q, code, format, when] = seg.components_array(n);
                    let known = [
                        "ABK", "ABF", "ABJ", "APR", "BK", "BF", "BJ", "PR", "DR", "LOI", "ABN",
                        "BN",
                    ];
                    if !is_one_of(q, &known) {
                        self.el_err(
                            seg,
                            pos,
                            n as u16,
                            Some(1),
                            "7",
                            1270,
                            "element-code",
                            format!("HI{n:02}-1 is not a diagnosis code list qualifier (ABK, ABF, ABJ, APR, BK, BF, BJ, PR, DR, LOI)"),
                        );
                    }
                    if code.is_empty() {
                        self.el_err(
                            seg,
                            pos,
                            n as u16,
                            Some(2),
                            "1",
                            1271,
                            "element-missing",
                            format!("HI{n:02}-2 (the code) is required"),
                        );
                    }
                    let mut date = None;
                    if !when.is_empty() {
                        date = d8(when);
                        if format != "D8" || date.is_none() {
                            self.date_err(
                                seg,
                                pos,
                                n as u16,
                                Some(4),
                                1251,
                                format!("HI{n:02}-4 is not a valid D8 date"),
                            );
                        }
                    }
                    list.push(Diagnosis {
                        qualifier: q,
                        code,
                        date,
                    });
                }
                match level {
                    Level::Event => {
                        if let Some(e) = self.event_mut() {
                            e.diagnoses.extend(list);
                        }
                    }
                    _ => {
                        if let Some(s) = self.service_mut() {
                            s.information_requests.extend(list);
                        }
                    }
                }
            }
            (_, Sid::Hsd) => {
                let q = self.number(seg, pos, 2, 380);
                let h = Delivery {
                    quantity_qualifier: seg.get(1),
                    quantity: q,
                    unit: seg.get(3),
                    modulus: seg.get(4),
                    period_qualifier: seg.get(5),
                    periods: seg.get(6),
                    pattern: seg.get(7),
                    time: seg.get(8),
                };
                if let Some(d) = self.detail_mut(level) {
                    d.delivery.push(h);
                }
            }
            (_, Sid::Crc) => {
                self.required(seg, pos, 1, 1136);
                self.required(seg, pos, 2, 1073);
                let c = Condition {
                    category: seg.get(1),
                    applies: seg.get(2),
                    indicators: (3..=7)
                        .map(|i| seg.get(i))
                        .filter(|v| !v.is_empty())
                        .collect(),
                };
                if let Some(e) = self.event_mut() {
                    e.conditions.push(c);
                }
            }
            (_, Sid::Cl1) => {
                self.code_in(seg, pos, 1, &["1", "2", "3", "4", "5", "9"], 1315);
                let c = Institutional {
                    admission_type: seg.get(1),
                    admission_source: seg.get(2),
                    patient_status: seg.get(3),
                    nursing_home_status: seg.get(4),
                };
                if let Some(e) = self.event_mut() {
                    e.institutional = Some(c);
                }
            }
            (_, Sid::Cr1 | Sid::Cr2 | Sid::Cr5 | Sid::Cr6) => {
                let c = ClinicalSegment {
                    segment: seg.id_str(),
                    elements: seg
                        .elements()
                        .map(|e| std::str::from_utf8(e).unwrap_or(""))
                        .collect(),
                };
                if let Some(e) = self.event_mut() {
                    e.clinical.push(c);
                }
            }
            (_, Sid::Pwk) => {
                self.required(seg, pos, 1, 755);
                self.required(seg, pos, 2, 756);
                let a = Attachment {
                    report_type: seg.get(1),
                    transmission: seg.get(2),
                    control_number: seg.get(6),
                    description: seg.get(7),
                };
                if let Some(d) = self.detail_mut(level) {
                    d.attachments.push(a);
                }
            }
            (_, Sid::Msg) => {
                self.required(seg, pos, 1, 933);
                let m = seg.get(1);
                if let Some(d) = self.detail_mut(level) {
                    d.messages.push(m);
                }
            }
            (_, Sid::Sv1) => {
                let procedure = self.procedure(seg, pos, 1, &["HC", "IV", "N4", "WK", "ZZ"]);
                let charge = self.number(seg, pos, 2, 782);
                let quantity = self.number(seg, pos, 4, 380);
                let s = ProfessionalService {
                    procedure,
                    charge,
                    unit_basis: seg.get(3),
                    quantity,
                    place_of_service: seg.get(5),
                    diagnosis_pointers: seg.components(7).filter(|p| !p.is_empty()).collect(),
                };
                if let Some(l) = self.service_mut() {
                    l.professional = Some(s);
                }
            }
            (_, Sid::Sv2) => {
                let procedure = if seg.get(2).is_empty() {
                    None
                } else {
                    Some(self.procedure(seg, pos, 2, &["HC", "ID", "IV", "N4", "WK", "ZZ", "HP"]))
                };
                if procedure.is_none() && seg.get(1).is_empty() {
                    self.el_err(
                        seg,
                        pos,
                        1,
                        None,
                        "2",
                        234,
                        "element-missing",
                        "SV2 needs a revenue code (SV201) or a procedure (SV202)".into(),
                    );
                }
                let charge = self.number(seg, pos, 3, 782);
                let quantity = self.number(seg, pos, 5, 380);
                let s = InstitutionalService {
                    revenue_code: seg.get(1),
                    procedure,
                    charge,
                    unit_basis: seg.get(4),
                    quantity,
                };
                if let Some(l) = self.service_mut() {
                    l.institutional = Some(s);
                }
            }
            (_, Sid::Sv3) => {
                let procedure = self.procedure(seg, pos, 1, &["AD", "CJ"]);
                let charge = self.number(seg, pos, 2, 782);
                let quantity = self.number(seg, pos, 6, 380);
                let s = DentalService {
                    procedure,
                    charge,
                    place_of_service: seg.get(3),
                    oral_cavity: seg.components(4).filter(|p| !p.is_empty()).collect(),
                    prosthesis: seg.get(5),
                    quantity,
                };
                if let Some(l) = self.service_mut() {
                    l.dental = Some(s);
                }
            }
            (_, Sid::Too) => {
                self.required(seg, pos, 1, 1270);
                self.required(seg, pos, 2, 1271);
                let t = Tooth {
                    qualifier: seg.get(1),
                    tooth: seg.get(2),
                    surfaces: seg.components(3).filter(|p| !p.is_empty()).collect(),
                };
                if let Some(l) = self.service_mut() {
                    l.teeth.push(t);
                }
            }
            _ => {}
        }
    }

    fn finish(&mut self, se_pos: u32, se_offset: u64) {
        for i in 0..self.nodes.len() {
            let Some(n) = self.nodes.get(i) else { continue };
            if n.child_code == "1" && !n.has_children {
                let (pos, off) = (n.position, n.offset);
                let d = Diagnostic::new(
                    self.ctx.file,
                    Severity::Error,
                    "hl-child-code",
                    "HL04 is 1 (child levels follow) but no HL names it as its parent",
                )
                .at(Location {
                    byte_offset: Some(off),
                    segment_position: Some(pos),
                    segment_id: Some("HL".into()),
                    ..self.ctx.location()
                })
                .element(4, None)
                .with_ack(AckCode::Ik4 {
                    code: "7",
                    element_ref: Some(736),
                    loop_id: LOOP_2000,
                });
                self.diags.push(d);
            }
        }
        // Built only for a missing loop (a location clones the control numbers).
        let se_loc = || Location {
            byte_offset: Some(se_offset),
            segment_position: Some(se_pos),
            segment_id: Some("SE".into()),
            ..self.ctx.location()
        };
        let missing = |what: &str, ik: &'static str, loop_id: Option<&'static str>| {
            Diagnostic::new(
                self.ctx.file,
                Severity::Error,
                "loop-missing",
                format!("required {what} is missing"),
            )
            .at(se_loc())
            .with_ack(AckCode::Ik3 { code: ik, loop_id })
        };
        let mut found = Vec::new();
        let parties = [
            (&self.txn.umo, "loop 2000A (UMO)", "loop 2010A (UMO name)"),
            (
                &self.txn.requester,
                "loop 2000B (requester)",
                "loop 2010B (requester name)",
            ),
            (
                &self.txn.subscriber,
                "loop 2000C (subscriber)",
                "loop 2010C (subscriber name)",
            ),
        ];
        for (p, level_name, name_loop) in parties {
            match p {
                None => found.push(missing(level_name, "I7", LOOP_2000)),
                Some(p) if p.entity.is_none() => found.push(missing(name_loop, "I7", LOOP_2010)),
                _ => {}
            }
        }
        if let Some(d) = &self.txn.dependent {
            if d.entity.is_none() {
                found.push(missing("loop 2010D (dependent name)", "I7", LOOP_2010));
            }
        }
        if self.txn.events.iter().all(|e| e.position == 0) {
            found.push(missing(
                "loop 2000E (patient event, HL03=EV)",
                "I7",
                LOOP_2000,
            ));
        }
        for e in &self.txn.events {
            if e.position > 0 && e.detail.review.is_none() {
                let off = self
                    .nodes
                    .iter()
                    .find(|n| n.position == e.position)
                    .map(|n| n.offset);
                found.push(
                    Diagnostic::new(
                        self.ctx.file,
                        Severity::Error,
                        "segment-missing",
                        "the patient event (2000E) has no UM segment",
                    )
                    .at(Location {
                        byte_offset: off,
                        segment_position: Some(e.position),
                        segment_id: Some("HL".into()),
                        ..self.ctx.location()
                    })
                    .with_ack(AckCode::Ik3 {
                        code: "3",
                        loop_id: LOOP_2000,
                    }),
                );
            }
        }
        self.diags.extend(found);
    }
}

/// True when `v` is one of `codes`. Codes are a few bytes long: compared in line, byte by
/// byte, where `contains` calls `memcmp` for every code of the same length.
#[inline]
fn is_one_of(v: &str, codes: &[&str]) -> bool {
    let v = v.as_bytes();
    codes.iter().any(|c| {
        let c = c.as_bytes();
        c.len() == v.len() && c.iter().zip(v).all(|(a, b)| a == b)
    })
}

/// Fills the HL01 values of the model from the segments (kept apart so the builder's borrows
/// stay simple).
pub fn fill_hl_ids<'s>(txn: &mut Transaction278<'s>, segments: &'s [Segment<'_>]) {
    let hl_at = |pos: u32| -> &'s str {
        segments
            .get((pos as usize).wrapping_sub(1))
            .filter(|s| s.is("HL"))
            .map(|s| s.get(1))
            .unwrap_or("")
    };
    for p in [
        txn.umo.as_mut(),
        txn.requester.as_mut(),
        txn.subscriber.as_mut(),
        txn.dependent.as_mut(),
    ]
    .into_iter()
    .flatten()
    {
        p.hl_id = hl_at(p.position);
    }
    for e in &mut txn.events {
        e.hl_id = hl_at(e.position);
        for s in &mut e.services {
            s.hl_id = hl_at(s.position);
        }
    }
}

/// Builds, validates and completes a 278 (HL ids and version filled in).
pub fn read_278<'s>(segments: &'s [Segment<'_>], ctx: &TxnContext<'s>) -> Built<'s> {
    let mut built = build_278(segments, ctx);
    if let Some(t) = built.transaction.as_mut() {
        fill_hl_ids(t, segments);
        t.version = ctx.version;
    }
    built
}

#[cfg(test)]
mod tests {
    use super::Sid;

    #[test]
    fn segment_ids_are_told_apart_exactly() {
        let known: [(&[u8], Sid); 6] = [
            (b"ST", Sid::St),
            (b"SE", Sid::Se),
            (b"HL", Sid::Hl),
            (b"NM1", Sid::Nm1),
            (b"SV3", Sid::Sv3),
            (b"TOO", Sid::Too),
        ];
        for (id, sid) in known {
            assert_eq!(Sid::of(id), sid, "{id:?}");
        }
        for other in [
            &b""[..],
            b"S",
            b"ST\0",
            b"HL\0",
            b"NM",
            b"NM1X",
            b"nm1",
            b"ISA",
            b"\0\0\0",
        ] {
            assert_eq!(Sid::of(other), Sid::Other, "{other:?}");
        }
    }
}
