//! The analysts' CSV reports and the run summary.
//!
//! Reports are streamed row by row in input order; list cells are joined with `;`; dates are
//! ISO 8601; cells a spreadsheet would run as formulas are neutralised. Rows are written cell
//! by cell with the csv crate's quoting rule (`cells.rs`, pinned to the csv crate by a
//! proptest); the csv crate and serde read them back in the tests.

use super::cells::CsvRows;
use super::short::{iso_date_array, iso_time_array, Short};
use super::{join_run, safe_cell, starts_like_formula, AtomicFile, Run};
use crate::eval::Decision;
use crate::policy::Outcome;
use crate::request::{AuthRequest, Text};
use serde::Serialize;
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::io::{self, Write};
use std::ops::Range;
use std::path::Path;

fn yn(b: bool) -> &'static str {
    if b {
        "Y"
    } else {
        "N"
    }
}

/// A quantity written as an integer: whole, not negative (nor -0), below 10^15.
fn is_whole(x: f64) -> bool {
    x.fract() == 0.0 && (0.0..1e15).contains(&x) && !(x == 0.0 && x.is_sign_negative())
}

/// Appends a quantity that is not [`is_whole`] (negative, huge or fractional) as Rust prints
/// it, without a decimal point when it has no fraction.
fn push_num(out: &mut String, x: f64) {
    use std::fmt::Write as _;
    let _ = if x.fract() == 0.0 {
        write!(out, "{x:.0}")
    } else {
        write!(out, "{x}")
    };
}

/// A row of rejects.csv: anything that kept a request from being decided as submitted.
#[derive(Debug, Clone, Serialize)]
pub struct RejectRow {
    /// The input file.
    pub source_file: String,
    /// x12, fax or unknown.
    pub source_kind: String,
    /// file, interchange, group, transaction, row or request.
    pub level: String,
    /// Position: byte offset and control numbers, or CSV row.
    pub position: String,
    /// The request id when there is one.
    pub request_id: String,
    /// Machine code (diagnostic code, AAA03…).
    pub code: String,
    /// Acknowledgment code it maps to (TA1 note, IK5/AK9/IK3/IK4 code, AAA).
    pub ack: String,
    /// What is wrong.
    pub reason: String,
}

/// Counters for summary.json.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Summary {
    /// Requests decided, by outcome.
    pub by_outcome: BTreeMap<String, u64>,
    /// By plan.
    pub by_plan: BTreeMap<String, u64>,
    /// By source (x12, fax).
    pub by_source: BTreeMap<String, u64>,
    /// By reason code (HCR03 / AAA03).
    pub by_reason: BTreeMap<String, u64>,
    /// Rejects (file, transaction, row, request) by level.
    pub rejects_by_level: BTreeMap<String, u64>,
    /// Decisions made before their due time.
    pub clocks_met: u64,
    /// Decisions past their due time.
    pub clocks_missed: u64,
    /// Requests decided.
    pub decided: u64,
    /// CMS-0057-F style figures.
    pub metrics: Metrics,
    #[serde(skip)]
    standard_minutes: MinuteHistogram,
    #[serde(skip)]
    expedited_minutes: MinuteHistogram,
}

/// Minutes from receipt to decision, counted per distinct value: the exact median in memory
/// bounded by the span of the times, not by the number of requests.
///
/// Every split of every chunk keeps one, and they are merged up to the run's: a hash map
/// takes a merge in one cheap step per distinct value (a B-tree cost a search per value, and
/// about 1% of a two-thread run); the values are sorted once, when the median is asked for.
#[derive(Debug, Default, Clone)]
struct MinuteHistogram {
    counts: rustc_hash::FxHashMap<u32, u64>,
    n: u64,
    total: u64,
}

impl MinuteHistogram {
    fn push(&mut self, minutes: u32) {
        *self.counts.entry(minutes).or_default() += 1;
        self.n += 1;
        self.total += u64::from(minutes);
    }

    fn merge(&mut self, mut other: MinuteHistogram) {
        // The larger map takes in the smaller one.
        if other.counts.len() > self.counts.len() {
            std::mem::swap(&mut self.counts, &mut other.counts);
        }
        for (m, c) in other.counts {
            *self.counts.entry(m).or_default() += c;
        }
        self.n += other.n;
        self.total += other.total;
    }

    /// The value at 0-based rank `k` of `sorted` (distinct values and their counts, in
    /// increasing order).
    fn nth(sorted: &[(u32, u64)], k: u64) -> u32 {
        let mut seen = 0;
        for &(m, c) in sorted {
            seen += c;
            if k < seen {
                return m;
            }
        }
        0
    }

    /// (average, median) in hours, rounded as the summary prints them.
    fn hours(&self) -> (f64, f64) {
        if self.n == 0 {
            return (0.0, 0.0);
        }
        let mut sorted: Vec<(u32, u64)> = self.counts.iter().map(|(&m, &c)| (m, c)).collect();
        sorted.sort_unstable();
        let nth = |k| f64::from(Self::nth(&sorted, k));
        let avg = self.total as f64 / self.n as f64 / 60.0;
        let mid = self.n / 2;
        let med = if self.n.is_multiple_of(2) {
            (nth(mid - 1) + nth(mid)) / 2.0
        } else {
            nth(mid)
        } / 60.0;
        (round(avg), round(med))
    }
}

/// Approval/denial rates and time to decision, standard vs expedited.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Metrics {
    /// Approved or modified / decided (excluding rejections and not-required).
    pub approval_rate: f64,
    /// Denied / decided (same base).
    pub denial_rate: f64,
    /// Standard requests: average hours from receipt to decision.
    pub standard_average_hours: f64,
    /// Standard requests: median hours.
    pub standard_median_hours: f64,
    /// Expedited requests: average hours.
    pub expedited_average_hours: f64,
    /// Expedited requests: median hours.
    pub expedited_median_hours: f64,
    /// Requests counted in the standard figures.
    pub standard_count: u64,
    /// Requests counted in the expedited figures.
    pub expedited_count: u64,
}

impl Summary {
    /// Counts one decided request. Workers count into their own summary and the writer
    /// merges them ([`Summary::merge`]): every figure is a sum, so the order does not matter.
    pub fn add(&mut self, r: &AuthRequest, d: &Decision) {
        bump(&mut self.by_outcome, d.outcome.as_str());
        bump(&mut self.by_plan, d.plan_id.as_deref().unwrap_or("(none)"));
        bump(&mut self.by_source, r.provenance.kind.as_str());
        if let Some(c) = d.reason_code {
            bump(&mut self.by_reason, c);
        }
        if d.due_by.is_some() {
            if d.past_due {
                self.clocks_missed += 1;
            } else {
                self.clocks_met += 1;
            }
        }
        self.decided += 1;
        let minutes = (d.decided_at - r.submitted_at)
            .num_minutes()
            .clamp(0, i64::from(u32::MAX)) as u32;
        if d.expedited {
            self.expedited_minutes.push(minutes);
        } else {
            self.standard_minutes.push(minutes);
        }
    }

    /// Adds another summary's counts to this one.
    pub fn merge(&mut self, other: Summary) {
        let maps = [
            (&mut self.by_outcome, other.by_outcome),
            (&mut self.by_plan, other.by_plan),
            (&mut self.by_source, other.by_source),
            (&mut self.by_reason, other.by_reason),
            (&mut self.rejects_by_level, other.rejects_by_level),
        ];
        for (mine, theirs) in maps {
            for (k, n) in theirs {
                *mine.entry(k).or_default() += n;
            }
        }
        self.clocks_met += other.clocks_met;
        self.clocks_missed += other.clocks_missed;
        self.decided += other.decided;
        self.standard_minutes.merge(other.standard_minutes);
        self.expedited_minutes.merge(other.expedited_minutes);
    }

    fn finish(&mut self) {
        let decided = [
            Outcome::Approved,
            Outcome::Modified,
            Outcome::Denied,
            Outcome::Pended,
            Outcome::ContactPayer,
        ]
        .iter()
        .map(|o| self.by_outcome.get(o.as_str()).copied().unwrap_or(0))
        .sum::<u64>();
        let get = |o: Outcome| self.by_outcome.get(o.as_str()).copied().unwrap_or(0) as f64;
        let rate = |n: f64| {
            if decided == 0 {
                0.0
            } else {
                round(n / decided as f64)
            }
        };
        let (sa, sm) = self.standard_minutes.hours();
        let (ea, em) = self.expedited_minutes.hours();
        self.metrics = Metrics {
            approval_rate: rate(get(Outcome::Approved) + get(Outcome::Modified)),
            denial_rate: rate(get(Outcome::Denied)),
            standard_average_hours: sa,
            standard_median_hours: sm,
            expedited_average_hours: ea,
            expedited_median_hours: em,
            standard_count: self.standard_minutes.n,
            expedited_count: self.expedited_minutes.n,
        };
    }
}

/// Counts `key`, allocating it only the first time it is seen (this runs once per request).
fn bump(map: &mut BTreeMap<String, u64>, key: &str) {
    match map.get_mut(key) {
        Some(n) => *n += 1,
        None => {
            map.insert(key.to_string(), 1);
        }
    }
}

fn round(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

/// The report files, in the order they are written.
pub const REPORT_FILES: [&str; 8] = [
    "decisions.csv",
    "approvals.csv",
    "pends.csv",
    "denials.csv",
    "not_required.csv",
    "rejects.csv",
    "retro_missing_justification.csv",
    "service_lines.csv",
];

/// Where one decided request's report rows lie in a renderer's buffers ([`RowBuffers`]):
/// its decision row, its retro row (maybe empty), its service-line rows and its reject row
/// (empty unless the request was rejected).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RowSpans {
    /// In [`RowBuffers::decisions`].
    pub decision: Range<usize>,
    /// In [`RowBuffers::retro`].
    pub retro: Range<usize>,
    /// In [`RowBuffers::lines`].
    pub lines: Range<usize>,
    /// In [`RowBuffers::rejects`].
    pub reject: Range<usize>,
}

/// The rows a renderer wrote, one buffer per kind of row. Requests rendered one after the
/// other lie side by side in each buffer, so the writer can send a worker's whole run of
/// decision rows (or service lines…) to its file in one write.
#[derive(Debug, Default, Clone)]
pub struct RowBuffers {
    /// Decision rows (decisions.csv, and the outcome's own report).
    pub decisions: Vec<u8>,
    /// retro_missing_justification.csv rows.
    pub retro: Vec<u8>,
    /// service_lines.csv rows.
    pub lines: Vec<u8>,
    /// rejects.csv rows of requests rejected by the policy (AAA).
    pub rejects: Vec<u8>,
}

impl RowBuffers {
    /// Empties every buffer, keeping its capacity.
    pub fn clear(&mut self) {
        for b in [
            &mut self.decisions,
            &mut self.retro,
            &mut self.lines,
            &mut self.rejects,
        ] {
            b.clear();
        }
    }
}

/// A reusable CSV row renderer (one per worker thread). Cells go straight from the request
/// and decision into the row buffers: no row struct, no `String` per cell; numbers and dates
/// are formatted into one scratch buffer.
#[derive(Default)]
pub struct RowRenderer {
    /// Where cells go: the decision rows, except while another kind of row is written
    /// (that kind's buffer is swapped in, so every cell helper writes to `rows`).
    rows: CsvRows,
    retro: CsvRows,
    lines: CsvRows,
    rejects: CsvRows,
    scratch: String,
    /// The last decision time and its text: the same for a whole run (the as-of time).
    decided_at: Option<(chrono::NaiveDateTime, Vec<u8>)>,
}

/// Selects one of the renderer's other buffers.
type Part = fn(&mut RowRenderer) -> &mut CsvRows;

impl RowRenderer {
    /// One row of the given cells, as bytes.
    fn record(&mut self, rec: &[&str]) -> Vec<u8> {
        for cell in rec {
            self.plain(cell);
        }
        self.end_row();
        self.rows.take()
    }

    /// A rejects.csv row from its cells in `REJECT_HEADER` order. Cells from the input are
    /// neutralised; the source kind and the level are ours.
    fn reject(&mut self, cells: [&str; 8]) {
        let [file, kind, level, position, request_id, code, ack, reason] = cells;
        self.text(file);
        self.plain(kind);
        self.plain(level);
        for cell in [position, request_id, code, ack, reason] {
            self.text(cell);
        }
        self.end_row();
    }

    /// A cell that needs no neutralising (codes we produce, dates, numbers, Y/N).
    fn plain(&mut self, s: &str) {
        self.rows.cell(s.as_bytes());
    }

    /// A cell from our own vocabulary (outcomes, categories, HCR01 codes, Y/N): words of
    /// letters, digits and `_`, which never need quotes or neutralising.
    fn code(&mut self, s: &'static str) {
        self.rows.formatted(s.as_bytes());
    }

    /// A cell from the input, neutralised if a spreadsheet would run it.
    fn text(&mut self, s: &str) {
        // Most cells start harmlessly: no `Cow` to build and match for them.
        if !starts_like_formula(s.as_bytes()) {
            return self.plain(s);
        }
        match safe_cell(s) {
            Cow::Borrowed(b) => self.plain(b),
            Cow::Owned(o) => self.plain(&o),
        }
    }

    /// Writes the scratch buffer as a cell (neutralised when `from_input`) and empties it.
    fn scratch_cell(&mut self, from_input: bool) {
        let s = std::mem::take(&mut self.scratch);
        if from_input {
            self.text(&s)
        } else {
            self.plain(&s)
        }
        self.scratch = s;
        self.scratch.clear();
    }

    fn date(&mut self, d: Option<chrono::NaiveDate>) {
        match d {
            Some(d) => match iso_date_array(d) {
                Some(text) => self.rows.formatted(&text),
                None => self.rows.formatted(Short::new().iso_date(d).as_bytes()),
            },
            None => self.rows.formatted(b""),
        }
    }

    fn time(&mut self, t: Option<chrono::NaiveDateTime>) {
        match t {
            Some(t) => match iso_time_array(t) {
                Some(text) => self.rows.formatted(&text),
                None => self.rows.formatted(Short::new().iso_time(t).as_bytes()),
            },
            None => self.rows.formatted(b""),
        }
    }

    /// [`Self::time`] for the decision time, formatted once per renderer: every decision of
    /// a run is made at its as-of time.
    fn decided_at(&mut self, t: chrono::NaiveDateTime) {
        match &self.decided_at {
            Some((at, text)) if *at == t => self.rows.formatted(text),
            _ => {
                let text = Short::new().iso_time(t).as_bytes().to_vec();
                self.rows.formatted(&text);
                self.decided_at = Some((t, text));
            }
        }
    }

    fn num(&mut self, v: Option<f64>) {
        match v {
            None => self.rows.formatted(b""),
            // Whole quantities, the usual case, straight into the row.
            Some(x) if is_whole(x) => self
                .rows
                .formatted(Short::new().number(x as u64).as_bytes()),
            Some(x) => {
                push_num(&mut self.scratch, x);
                self.scratch_cell(false)
            }
        }
    }

    /// A list cell, `;`-joined.
    ///
    /// Written straight into the row: the usual list (codes, rule ids) needs no quotes and
    /// no neutralising; one that does is taken back out and written again through
    /// [`Self::text`].
    fn joined<'s>(&mut self, items: impl IntoIterator<Item = &'s str>) {
        let mark = self.rows.begin_cell();
        for (i, s) in items.into_iter().enumerate() {
            if i > 0 {
                self.rows.extend_cell(b";");
            }
            self.rows.extend_cell(s.as_bytes());
        }
        if !starts_like_formula(self.rows.cell_bytes(&mark)) && !self.rows.cell_needs_quotes(&mark)
        {
            return;
        }
        let bytes = self.rows.cancel_cell(mark);
        // Joined from `str`s: valid UTF-8 (the lossy form never changes anything).
        self.text(&String::from_utf8_lossy(&bytes));
    }

    fn end_row(&mut self) {
        self.rows.end_row();
    }

    /// The columns of decisions.csv (`DECISION_HEADER`) after the first two (request id and file, which
    /// [`Self::render_into`] writes because service-line rows start with them too).
    fn decision_cells(&mut self, r: &AuthRequest, d: &Decision) {
        let rej = d.rejection.as_ref();
        self.code(r.provenance.kind.as_str());
        self.text(&r.provenance.reference);
        self.text(d.plan_id.as_deref().unwrap_or(""));
        self.text(&r.member_id);
        // `Last, First` (always quoted, for its comma), or whichever of the two is there.
        match (
            r.member_last_name.is_empty(),
            r.member_first_name.is_empty(),
        ) {
            (false, false) => {
                self.scratch.push_str(&r.member_last_name);
                self.scratch.push_str(", ");
                self.scratch.push_str(&r.member_first_name);
            }
            (false, true) => self.scratch.push_str(&r.member_last_name),
            (true, false) => self.scratch.push_str(&r.member_first_name),
            (true, true) => {}
        }
        self.scratch_cell(true);
        self.date(r.member_dob);
        self.text(&r.requester.npi);
        self.text(
            r.servicing
                .as_ref()
                .or(r.facility.as_ref())
                .map(|p| p.npi.as_str())
                .unwrap_or(""),
        );
        self.code(r.category.as_str());
        self.code(r.urgency.as_str());
        self.code(yn(d.expedited));
        self.code(yn(d.retro));
        self.date(r.service_from);
        self.date(r.service_to);
        self.joined(r.procedure_codes.iter().map(Text::as_str));
        self.joined(r.diagnosis_codes.iter().map(Text::as_str));
        self.num(r.units);
        self.time(Some(r.submitted_at));
        self.decided_at(d.decided_at);
        self.code(d.outcome.as_str());
        self.code(d.hcr01.unwrap_or(""));
        self.text(d.reason_code.unwrap_or(""));
        self.text(&d.reason_text);
        self.joined(d.rules_fired.iter().map(|f| f.id));
        // Letters, digits, `-`, `_` and `.`, beginning with a letter or digit (the policy
        // refuses other prefixes): never quoted or neutralised, so copied as it is.
        self.rows.formatted(
            d.certification_number
                .as_ref()
                .map_or(&[], |c| c.as_bytes()),
        );
        self.date(d.valid_from);
        self.date(d.valid_to);
        self.time(d.due_by);
        self.code(yn(d.past_due));
        self.joined(d.missing_items.iter().copied());
        self.code(d.denial_category.map(|c| c.as_str()).unwrap_or(""));
        self.text(d.appeal_path.unwrap_or(""));
        self.code(match d.imr_eligible {
            Some(true) => "Y",
            Some(false) => "N",
            None => "",
        });
        self.code(yn(d.deemed));
        self.joined(d.flags.iter().copied());
        self.text(rej.map_or("", |x| x.loop_id));
        self.text(rej.map_or("", |x| x.reason));
        self.text(rej.map_or("", |x| x.follow_up));
        self.num(d.approved_units)
    }

    /// Runs `write` with `part`'s buffer as the one cells go to; `write` also sees the
    /// decision rows. Returns where the rows it wrote lie in `part`'s buffer.
    fn in_part(&mut self, part: Part, write: impl FnOnce(&mut Self, &CsvRows)) -> Range<usize> {
        let taken = std::mem::take(part(self));
        let decisions = std::mem::replace(&mut self.rows, taken);
        let start = self.rows.len();
        write(self, &decisions);
        let end = self.rows.len();
        *part(self) = std::mem::replace(&mut self.rows, decisions);
        start..end
    }

    /// Renders every report row of a decided request after the rows already in the buffers;
    /// [`RowRenderer::take_buffers`] hands them over.
    pub fn render_into(&mut self, r: &AuthRequest, d: &Decision) -> RowSpans {
        let start = self.rows.len();
        self.text(&r.request_id);
        self.text(&r.provenance.file);
        // Service-line rows begin with the same two cells: copied, not checked again.
        let id_and_file = start..self.rows.len();
        self.decision_cells(r, d);
        self.end_row();
        let decision = start..self.rows.len();
        let retro = self.in_part(
            |s| &mut s.retro,
            |s, decisions| {
                if let Some(rr) = &d.retro_report {
                    // The decision columns (the row just written), then the retro columns.
                    s.rows
                        .reopen_copy_of(decisions.get(decision.clone()), DECISION_HEADER.len());
                    s.rows
                        .formatted(Short::new().signed(rr.days_after_service).as_bytes());
                    s.code(yn(rr.urgency_indicated));
                    s.code(yn(rr.justification_present));
                    s.text(rr.missing);
                    s.end_row();
                }
            },
        );
        let lines = self.in_part(
            |s| &mut s.lines,
            |s, decisions| {
                // `d.lines[i]` decides `r.lines[i]`.
                for (l, req_line) in d.lines.iter().zip(&r.lines) {
                    s.rows.reopen_copy_of(decisions.get(id_and_file.clone()), 2);
                    s.rows
                        .formatted(Short::new().number(u64::from(l.line)).as_bytes());
                    s.text(&req_line.procedure);
                    s.num(req_line.units);
                    s.date(req_line.from);
                    s.date(req_line.to);
                    s.code(l.outcome.as_str());
                    s.code(l.hcr01.unwrap_or(""));
                    s.text(l.reason_code.unwrap_or(""));
                    s.num(l.approved_units);
                    s.code(d.outcome.as_str());
                    s.end_row();
                }
            },
        );
        let reject = self.in_part(
            |s| &mut s.rejects,
            |s, _| {
                if d.outcome == Outcome::Rejected {
                    let rej = d.rejection.as_ref();
                    let ack = rej
                        .map(|x| format!("AAA {} at {}", x.reason, x.loop_id))
                        .unwrap_or_default();
                    s.reject([
                        &r.provenance.file,
                        r.provenance.kind.as_str(),
                        "request",
                        &r.provenance.reference,
                        &r.request_id,
                        rej.map_or("", |x| x.reason),
                        &ack,
                        &d.reason_text,
                    ]);
                }
            },
        );
        RowSpans {
            decision,
            retro,
            lines,
            reject,
        }
    }

    /// A renderer that writes into `buffers` (emptied first), reusing their capacity.
    pub fn with_buffers(mut buffers: RowBuffers) -> Self {
        buffers.clear();
        RowRenderer {
            rows: CsvRows::from_vec(buffers.decisions),
            retro: CsvRows::from_vec(buffers.retro),
            lines: CsvRows::from_vec(buffers.lines),
            rejects: CsvRows::from_vec(buffers.rejects),
            scratch: String::new(),
            decided_at: None,
        }
    }

    /// Takes every row rendered so far; the buffers start again empty.
    pub fn take_buffers(&mut self) -> RowBuffers {
        RowBuffers {
            decisions: self.rows.take(),
            retro: self.retro.take(),
            lines: self.lines.take(),
            rejects: self.rejects.take(),
        }
    }
}

impl RejectRow {
    /// The cells in `REJECT_HEADER` order (the field order, which serde would follow too).
    fn cells(&self) -> [&str; 8] {
        [
            &self.source_file,
            &self.source_kind,
            &self.level,
            &self.position,
            &self.request_id,
            &self.code,
            &self.ack,
            &self.reason,
        ]
    }
}

/// All report files of one run; rows arrive pre-rendered, in input order.
pub struct Reports {
    files: Vec<AtomicFile>,
    renderer: RowRenderer,
    /// Running totals for summary.json.
    pub summary: Summary,
    /// The current chunk's row buffers (one per worker split); see [`Self::begin_chunk`].
    chunk: Vec<RowBuffers>,
    /// Per report, rows queued from `chunk`, not yet written.
    open: [Option<Run>; REPORT_FILES.len()],
}

const DECISIONS: usize = 0;
const APPROVALS: usize = 1;
const PENDS: usize = 2;
const DENIALS: usize = 3;
const NOT_REQUIRED: usize = 4;
const REJECTS: usize = 5;
const RETRO: usize = 6;
const LINES: usize = 7;

/// The report that a decision row goes to besides decisions.csv.
fn outcome_report(outcome: Outcome) -> Option<usize> {
    match outcome {
        Outcome::Approved | Outcome::Modified => Some(APPROVALS),
        Outcome::Pended | Outcome::ContactPayer => Some(PENDS),
        Outcome::Denied => Some(DENIALS),
        Outcome::NotRequired => Some(NOT_REQUIRED),
        Outcome::Rejected => None,
    }
}

impl Reports {
    /// Opens every report under `dir` (written aside, renamed at `commit`), headers first.
    pub fn create(dir: &Path) -> io::Result<Reports> {
        let retro: Vec<&str> = DECISION_HEADER.iter().chain(RETRO_EXTRA).copied().collect();
        let headers: [&[&str]; 8] = [
            DECISION_HEADER,
            DECISION_HEADER,
            DECISION_HEADER,
            DECISION_HEADER,
            DECISION_HEADER,
            REJECT_HEADER,
            &retro,
            LINE_HEADER,
        ];
        let mut renderer = RowRenderer::default();
        let mut files = Vec::new();
        for (name, h) in REPORT_FILES.iter().zip(headers) {
            let mut f = AtomicFile::create(&dir.join(name))?;
            f.write_all(&renderer.record(h))?;
            files.push(f);
        }
        Ok(Reports {
            files,
            renderer,
            summary: Summary::default(),
            chunk: Vec::new(),
            open: Default::default(),
        })
    }

    /// Writes `bytes` to report `i`, after the rows queued for it.
    fn put(&mut self, i: usize, bytes: &[u8]) -> io::Result<()> {
        if bytes.is_empty() {
            return Ok(());
        }
        self.flush_open(i)?;
        match self.files.get_mut(i) {
            Some(f) => f.write_all(bytes),
            None => Err(io::Error::other("report file missing")),
        }
    }

    /// Takes the row buffers of the chunk about to be written (one per worker split), so
    /// that [`Self::queue_rows`] can refer to them by index and span. Rows still queued from
    /// the previous chunk are written first.
    pub fn begin_chunk(&mut self, buffers: Vec<RowBuffers>) -> io::Result<()> {
        self.flush_all()?;
        self.chunk = buffers;
        Ok(())
    }

    /// Writes the rows of one decided request, rendered into the chunk's buffers `split`
    /// at `spans`; the caller counts it. Rows that follow each other in one buffer are
    /// written together, at the latest by [`Self::end_chunk`].
    pub fn queue_rows(
        &mut self,
        split: usize,
        outcome: Outcome,
        spans: &RowSpans,
    ) -> io::Result<()> {
        self.queue(DECISIONS, split, &spans.decision)?;
        if let Some(t) = outcome_report(outcome) {
            self.queue(t, split, &spans.decision)?;
        }
        if !spans.reject.is_empty() {
            bump(&mut self.summary.rejects_by_level, "request");
            self.queue(REJECTS, split, &spans.reject)?;
        }
        self.queue(RETRO, split, &spans.retro)?;
        self.queue(LINES, split, &spans.lines)
    }

    /// Writes every queued row and hands the chunk's buffers back (for reuse).
    pub fn end_chunk(&mut self) -> io::Result<Vec<RowBuffers>> {
        self.flush_all()?;
        Ok(std::mem::take(&mut self.chunk))
    }

    fn flush_all(&mut self) -> io::Result<()> {
        (0..REPORT_FILES.len()).try_for_each(|i| self.flush_open(i))
    }

    fn queue(&mut self, report: usize, split: usize, span: &Range<usize>) -> io::Result<()> {
        let Some(open) = self.open.get_mut(report) else {
            return Err(io::Error::other("report file missing"));
        };
        match join_run(open, split, span.clone()) {
            Some(done) => self.write_run(report, &done),
            None => Ok(()),
        }
    }

    fn flush_open(&mut self, report: usize) -> io::Result<()> {
        match self.open.get_mut(report).and_then(Option::take) {
            Some(run) => self.write_run(report, &run),
            None => Ok(()),
        }
    }

    fn write_run(&mut self, report: usize, run: &Run) -> io::Result<()> {
        let source = self.chunk.get(run.buf).map(|b| match report {
            REJECTS => &b.rejects,
            RETRO => &b.retro,
            LINES => &b.lines,
            _ => &b.decisions,
        });
        let bytes = source.and_then(|b| b.get(run.range.clone()));
        match (bytes, self.files.get_mut(report)) {
            (Some(bytes), Some(f)) => f.write_all(bytes),
            _ => Err(io::Error::other("queued report rows out of range")),
        }
    }

    /// Writes one reject row.
    pub fn reject_row(&mut self, row: &RejectRow) -> io::Result<()> {
        *self
            .summary
            .rejects_by_level
            .entry(row.level.clone())
            .or_default() += 1;
        self.renderer.reject(row.cells());
        let bytes = self.renderer.rows.take();
        self.put(REJECTS, &bytes)
    }

    /// Renames every report to its final name.
    pub fn commit(mut self) -> io::Result<(Vec<super::Committed>, Summary)> {
        self.flush_all()?;
        let out = super::commit_all(self.files)?;
        self.summary.finish();
        Ok((out, self.summary))
    }
}

/// Columns of decisions.csv and the per-outcome reports.
pub const DECISION_HEADER: &[&str] = &[
    "request_id",
    "source_file",
    "source_kind",
    "source_ref",
    "plan_id",
    "member_id",
    "member_name",
    "member_dob",
    "requesting_npi",
    "servicing_npi",
    "request_category",
    "urgency",
    "expedited",
    "retro",
    "service_from",
    "service_to",
    "procedure_codes",
    "diagnosis_codes",
    "units",
    "submitted_at",
    "decided_at",
    "outcome",
    "hcr01",
    "reason_codes",
    "reason_text",
    "rules_fired",
    "certification_number",
    "valid_from",
    "valid_to",
    "due_by",
    "past_due",
    "missing_items",
    "denial_category",
    "appeal_path",
    "imr_eligible",
    "deemed",
    "flags",
    "aaa_loop",
    "aaa_reason",
    "aaa_follow_up",
    "approved_units",
];

const REJECT_HEADER: &[&str] = &[
    "source_file",
    "source_kind",
    "level",
    "position",
    "request_id",
    "code",
    "ack",
    "reason",
];

/// Columns the retro report adds after the decision columns.
const RETRO_EXTRA: &[&str] = &[
    "days_after_service",
    "urgency_indicated",
    "justification_present",
    "missing",
];

const LINE_HEADER: &[&str] = &[
    "request_id",
    "source_file",
    "line",
    "procedure",
    "units",
    "service_from",
    "service_to",
    "outcome",
    "hcr01",
    "reason_codes",
    "approved_units",
    "request_outcome",
];

#[cfg(test)]
mod tests {
    use super::{
        safe_cell, AuthRequest, Decision, MinuteHistogram, Outcome, Range, RejectRow, Reports,
        RowBuffers, RowRenderer, RowSpans, Summary, REJECT_HEADER,
    };

    /// The row as it must come out: what the renderer neutralises, neutralised.
    fn neutralized(row: &RejectRow) -> RejectRow {
        RejectRow {
            source_file: safe_cell(&row.source_file).into_owned(),
            source_kind: row.source_kind.clone(),
            level: row.level.clone(),
            position: safe_cell(&row.position).into_owned(),
            request_id: safe_cell(&row.request_id).into_owned(),
            code: safe_cell(&row.code).into_owned(),
            ack: safe_cell(&row.ack).into_owned(),
            reason: safe_cell(&row.reason).into_owned(),
        }
    }

    #[test]
    fn reject_rows_match_their_header_and_what_serde_would_write() {
        let row = RejectRow {
            source_file: "in,box/a.x12".into(),
            source_kind: "x12".into(),
            level: "transaction".into(),
            position: "byte 120, ST 0002".into(),
            request_id: "=REQ\"1\"".into(),
            code: "IK5-5".into(),
            ack: "IK502 5".into(),
            reason: "two\nlines".into(),
        };
        let mut header = csv::WriterBuilder::new().from_writer(Vec::new());
        header.serialize(neutralized(&row)).unwrap();
        let serde_bytes = header.into_inner().unwrap();
        let mut r = RowRenderer::default();
        let mut expected = r.record(REJECT_HEADER);
        r.reject(row.cells());
        expected.extend(r.rows.take());
        assert_eq!(
            String::from_utf8(expected).unwrap(),
            String::from_utf8(serde_bytes).unwrap()
        );
    }

    #[test]
    fn joined_cells_are_the_joined_text_written_as_one_cell() {
        let cases: &[&[&str]] = &[
            &[],
            &["A"],
            &["99213", "J1100"],
            &["=1+1", "B"],
            &["a,b", "c"],
            &["q\"t"],
            &["-12.5"],
            &["-x"],
            &["", ""],
            &["@x", "line\nbreak"],
        ];
        for items in cases {
            let joined = items.join(";");
            let mut w = csv::WriterBuilder::new()
                .flexible(true)
                .from_writer(Vec::new());
            w.write_record(["before", &safe_cell(&joined), "after"])
                .unwrap();
            w.write_record([safe_cell(&joined).as_ref(), "after"])
                .unwrap();
            let expected = w.into_inner().unwrap();
            let mut r = RowRenderer::default();
            r.plain("before");
            r.joined(items.iter().copied());
            r.plain("after");
            r.end_row();
            // First in its row: no separator to take back.
            r.joined(items.iter().copied());
            r.plain("after");
            r.end_row();
            assert_eq!(
                String::from_utf8(r.rows.take()).unwrap(),
                String::from_utf8(expected).unwrap(),
                "{items:?}"
            );
        }
    }

    /// The bundled sample fax requests, decided under the bundled default policy.
    fn sample_decisions(ev: &crate::eval::Evaluator) -> Vec<(AuthRequest, Decision<'_>)> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
        let file = std::fs::File::open(root.join("fax/valley-fax-queue-2026-11-20.csv")).unwrap();
        crate::fax::FaxReader::new(file, "fax.csv".into())
            .unwrap()
            .filter_map(Result::ok)
            .map(|r| {
                let d = ev.decide(&r);
                (r, d)
            })
            .collect()
    }

    #[test]
    fn rows_rendered_side_by_side_are_the_rows_rendered_alone() {
        let ev = crate::test_support::sample_evaluator().unwrap();
        let decided = sample_decisions(&ev);
        // Recycled buffers with old rows in them: they must come back empty.
        let old = RowBuffers {
            decisions: b"old decision\n".to_vec(),
            retro: b"old retro\n".to_vec(),
            lines: b"old line\n".to_vec(),
            rejects: b"old reject\n".to_vec(),
        };
        let mut shared = RowRenderer::with_buffers(old);
        let spans: Vec<RowSpans> = decided
            .iter()
            .map(|(r, d)| shared.render_into(r, d))
            .collect();
        let buffers = shared.take_buffers();
        let mut ends = RowSpans::default();
        let (mut retro_rows, mut line_rows) = (0, 0);
        for ((r, d), at) in decided.iter().zip(&spans) {
            let mut single = RowRenderer::default();
            let one = single.render_into(r, d);
            let alone = single.take_buffers();
            let part = |b: &Vec<u8>, range: &Range<usize>| b.get(range.clone()).unwrap().to_vec();
            assert_eq!(part(&buffers.decisions, &at.decision), alone.decisions);
            assert_eq!(part(&buffers.retro, &at.retro), alone.retro);
            assert_eq!(part(&buffers.lines, &at.lines), alone.lines);
            assert_eq!(part(&buffers.rejects, &at.reject), alone.rejects);
            assert_eq!(one.decision, 0..alone.decisions.len());
            // Each request's rows follow the previous request's, in every buffer.
            assert_eq!(at.decision.start, ends.decision.end);
            assert_eq!(at.retro.start, ends.retro.end);
            assert_eq!(at.lines.start, ends.lines.end);
            assert_eq!(at.reject.start, ends.reject.end);
            ends = at.clone();
            retro_rows += usize::from(!at.retro.is_empty());
            line_rows += usize::from(!at.lines.is_empty());
        }
        assert_eq!(ends.decision.end, buffers.decisions.len());
        assert_eq!(ends.retro.end, buffers.retro.len());
        assert!(
            retro_rows > 0 && line_rows > 0,
            "the sample has retro and line rows"
        );
    }

    #[test]
    fn the_remembered_decision_time_follows_a_change() {
        let at = |h| {
            chrono::NaiveDate::from_ymd_opt(2026, 11, 20)
                .and_then(|d| d.and_hms_opt(h, 5, 9))
                .unwrap()
        };
        let mut r = RowRenderer::default();
        for h in [17, 17, 8, 17] {
            r.decided_at(at(h));
        }
        r.end_row();
        assert_eq!(
            String::from_utf8(r.rows.take()).unwrap(),
            "2026-11-20T17:05:09,2026-11-20T17:05:09,2026-11-20T08:05:09,2026-11-20T17:05:09\n"
        );
    }

    #[test]
    fn quantities_are_written_as_before_whole_or_not() {
        let mut r = RowRenderer::default();
        let values = [
            Some(3.0),
            Some(0.0),
            Some(2.5),
            Some(-1.0),
            Some(-0.0),
            Some(1e16),
            Some(999_999_999_999_999.0),
            None,
        ];
        for v in values {
            r.num(v);
        }
        r.end_row();
        let row = String::from_utf8(r.rows.take()).unwrap();
        assert_eq!(row, "3,0,2.5,-1,-0,10000000000000000,999999999999999,\n");
    }

    #[test]
    fn queued_rows_keep_input_order_around_rows_written_directly() {
        let dir = tempfile::tempdir().unwrap();
        let mut reports = Reports::create(dir.path()).unwrap();
        // Two worker splits: split 0 rendered requests 1 and 2, split 1 request 3.
        let split0 = RowBuffers {
            decisions: b"d1\nd2\n".to_vec(),
            retro: Vec::new(),
            lines: b"l1\nl2\n".to_vec(),
            rejects: b"r1\nr2\n".to_vec(),
        };
        let split1 = RowBuffers {
            decisions: b"d3\n".to_vec(),
            retro: b"t3\n".to_vec(),
            lines: Vec::new(),
            rejects: Vec::new(),
        };
        let spans = |d: Range<usize>, t: Range<usize>, l: Range<usize>, r: Range<usize>| RowSpans {
            decision: d,
            retro: t,
            lines: l,
            reject: r,
        };
        reports.begin_chunk(vec![split0, split1]).unwrap();
        reports
            .queue_rows(0, Outcome::Approved, &spans(0..3, 0..0, 0..3, 0..3))
            .unwrap();
        // A transaction-level reject between requests 1 and 2 goes between their rows.
        let direct = RejectRow {
            source_file: "in.x12".into(),
            source_kind: "x12".into(),
            level: "transaction".into(),
            position: "byte 9".into(),
            request_id: String::new(),
            code: "c".into(),
            ack: String::new(),
            reason: "bad".into(),
        };
        reports.reject_row(&direct).unwrap();
        reports
            .queue_rows(0, Outcome::Approved, &spans(3..6, 0..0, 3..6, 3..6))
            .unwrap();
        reports
            .queue_rows(1, Outcome::Denied, &spans(0..3, 0..3, 0..0, 0..0))
            .unwrap();
        let back = reports.end_chunk().unwrap();
        assert_eq!(back.len(), 2, "the buffers come back for reuse");
        let (_, summary) = reports.commit().unwrap();
        let read = |name: &str| {
            let text = std::fs::read_to_string(dir.path().join(name)).unwrap();
            text.lines().skip(1).map(str::to_string).collect::<Vec<_>>()
        };
        assert_eq!(read("decisions.csv"), ["d1", "d2", "d3"]);
        assert_eq!(read("approvals.csv"), ["d1", "d2"]);
        assert_eq!(read("denials.csv"), ["d3"]);
        assert_eq!(read("service_lines.csv"), ["l1", "l2"]);
        assert_eq!(read("retro_missing_justification.csv"), ["t3"]);
        assert_eq!(
            read("rejects.csv"),
            ["r1", "in.x12,x12,transaction,byte 9,,c,,bad", "r2"]
        );
        assert_eq!(summary.rejects_by_level.get("request"), Some(&2));
        assert_eq!(summary.rejects_by_level.get("transaction"), Some(&1));
    }

    #[test]
    fn partial_summaries_merge_to_the_same_figures_in_any_order() {
        let part = |outcome: &str, minutes: &[u32]| {
            let mut s = Summary::default();
            s.by_outcome.insert(outcome.into(), minutes.len() as u64);
            s.decided = minutes.len() as u64;
            s.clocks_met = 1;
            for &m in minutes {
                s.standard_minutes.push(m);
            }
            s
        };
        let merged = |order: [usize; 3]| {
            let parts = [
                part("approved", &[60, 120]),
                part("denied", &[600]),
                part("approved", &[180]),
            ];
            let mut all = Summary::default();
            let mut parts: Vec<Option<Summary>> = parts.into_iter().map(Some).collect();
            for i in order {
                all.merge(parts[i].take().unwrap());
            }
            all.finish();
            all
        };
        for order in [[0, 1, 2], [2, 0, 1], [1, 2, 0]] {
            let s = merged(order);
            assert_eq!(s.by_outcome.get("approved"), Some(&3));
            assert_eq!(s.by_outcome.get("denied"), Some(&1));
            assert_eq!((s.decided, s.clocks_met), (4, 3));
            // Minutes 60, 120, 180, 600: median 150 min, average 240 min.
            assert_eq!(s.metrics.standard_median_hours, 2.5);
            assert_eq!(s.metrics.standard_average_hours, 4.0);
            assert_eq!(s.metrics.standard_count, 4);
        }
    }

    fn of(values: &[u32]) -> MinuteHistogram {
        let mut h = MinuteHistogram::default();
        for &v in values {
            h.push(v);
        }
        h
    }

    #[test]
    fn histogram_gives_the_exact_median_and_average() {
        // Odd count: the middle value (120 min = 2 h); average (60+120+600)/3 = 260 min.
        assert_eq!(of(&[600, 60, 120]).hours(), (4.3333, 2.0));
        // Even count with repeats: (120 + 180) / 2 = 150 min = 2.5 h.
        assert_eq!(of(&[60, 120, 180, 180, 120, 240]).hours(), (2.5, 2.5));
        assert_eq!(of(&[]).hours(), (0.0, 0.0));
    }

    #[test]
    fn merged_histograms_give_what_one_histogram_of_all_values_gives() {
        let values: Vec<u32> = (0..500u32).map(|i| (i * 7919) % 311).collect();
        let whole = of(&values);
        // Merged in pieces of every size, small into large and large into small.
        for cut in [0, 1, 37, 250, 499, 500] {
            let (a, b) = values.split_at(cut);
            for (mut into, from) in [(of(a), of(b)), (of(b), of(a))] {
                into.merge(from);
                assert_eq!(into.hours(), whole.hours(), "cut at {cut}");
                assert_eq!((into.n, into.total), (whole.n, whole.total));
            }
        }
    }
}
