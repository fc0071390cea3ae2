//! The analysts' CSV reports and the run summary.
//!
//! Reports are streamed row by row in input order (csv + serde); list cells are joined with
//! `;`; dates are ISO 8601; cells a spreadsheet would run as formulas are neutralised.

use super::{safe_cell, AtomicFile};
use crate::eval::Decision;
use crate::policy::Outcome;
use crate::request::AuthRequest;
use serde::Serialize;
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::Path;

/// One row of decisions.csv (and of the per-outcome reports).
#[derive(Debug, Serialize)]
pub struct DecisionRow<'a> {
    request_id: Cow<'a, str>,
    source_file: Cow<'a, str>,
    source_kind: &'static str,
    source_ref: Cow<'a, str>,
    plan_id: Cow<'a, str>,
    member_id: Cow<'a, str>,
    member_name: Cow<'a, str>,
    member_dob: Cow<'a, str>,
    requesting_npi: Cow<'a, str>,
    servicing_npi: Cow<'a, str>,
    request_category: &'static str,
    urgency: &'static str,
    expedited: &'static str,
    retro: &'static str,
    service_from: Cow<'a, str>,
    service_to: Cow<'a, str>,
    procedure_codes: Cow<'a, str>,
    diagnosis_codes: Cow<'a, str>,
    units: Cow<'a, str>,
    submitted_at: Cow<'a, str>,
    decided_at: Cow<'a, str>,
    outcome: &'static str,
    hcr01: &'static str,
    reason_codes: Cow<'a, str>,
    reason_text: Cow<'a, str>,
    rules_fired: Cow<'a, str>,
    certification_number: Cow<'a, str>,
    valid_from: Cow<'a, str>,
    valid_to: Cow<'a, str>,
    due_by: Cow<'a, str>,
    past_due: &'static str,
    missing_items: Cow<'a, str>,
    denial_category: &'static str,
    appeal_path: Cow<'a, str>,
    imr_eligible: &'static str,
    deemed: &'static str,
    flags: Cow<'a, str>,
    aaa_loop: Cow<'a, str>,
    aaa_reason: Cow<'a, str>,
    aaa_follow_up: Cow<'a, str>,
    approved_units: Cow<'a, str>,
}

/// A cell made spreadsheet-safe; borrowed unless it had to change.
trait Cell<'a> {
    fn cell(self) -> Cow<'a, str>;
}
impl<'a, T: AsRef<str> + ?Sized> Cell<'a> for &'a T {
    fn cell(self) -> Cow<'a, str> {
        safe_cell(self.as_ref())
    }
}
impl<'a> Cell<'a> for String {
    fn cell(self) -> Cow<'a, str> {
        match safe_cell(&self) {
            Cow::Borrowed(_) => Cow::Owned(self),
            Cow::Owned(o) => Cow::Owned(o),
        }
    }
}
fn sc<'a, T: Cell<'a>>(v: T) -> Cow<'a, str> {
    v.cell()
}

fn yn(b: bool) -> &'static str {
    if b {
        "Y"
    } else {
        "N"
    }
}

fn iso_date(d: Option<chrono::NaiveDate>) -> String {
    use chrono::Datelike;
    d.map(|d| format!("{:04}-{:02}-{:02}", d.year(), d.month(), d.day()))
        .unwrap_or_default()
}

fn iso_time(t: chrono::NaiveDateTime) -> String {
    use chrono::{Datelike, Timelike};
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

fn num(v: Option<f64>) -> String {
    v.map(|x| {
        if x.fract() == 0.0 {
            format!("{x:.0}")
        } else {
            format!("{x}")
        }
    })
    .unwrap_or_default()
}

impl<'a> DecisionRow<'a> {
    /// Builds the row for a request and its decision.
    pub fn new(r: &'a AuthRequest, d: &'a Decision) -> DecisionRow<'a> {
        let rej = d.rejection.as_ref();
        DecisionRow {
            request_id: sc(&r.request_id),
            source_file: sc(&r.provenance.file),
            source_kind: match r.provenance.kind {
                crate::request::SourceKind::X12 => "x12",
                crate::request::SourceKind::Fax => "fax",
            },
            source_ref: sc(&r.provenance.reference),
            plan_id: sc(d.plan_id.as_deref().unwrap_or("")),
            member_id: sc(&r.member_id),
            member_name: sc(r.member_name()),
            member_dob: sc(iso_date(r.member_dob)),
            requesting_npi: sc(&r.requester.npi),
            servicing_npi: sc(r
                .servicing
                .as_ref()
                .or(r.facility.as_ref())
                .map(|p| p.npi.as_str())
                .unwrap_or("")),
            request_category: r.category.as_str(),
            urgency: r.urgency.as_str(),
            expedited: yn(d.expedited),
            retro: yn(d.retro),
            service_from: sc(iso_date(r.service_from)),
            service_to: sc(iso_date(r.service_to)),
            procedure_codes: sc(r.procedure_codes.join(";")),
            diagnosis_codes: sc(r.diagnosis_codes.join(";")),
            units: sc(num(r.units)),
            submitted_at: sc(iso_time(r.submitted_at)),
            decided_at: sc(iso_time(d.decided_at)),
            outcome: d.outcome.as_str(),
            hcr01: d.hcr01.unwrap_or(""),
            reason_codes: sc(d.reason_codes.join(";")),
            reason_text: sc(&d.reason_text),
            rules_fired: sc(d.rules_fired_ids()),
            certification_number: sc(d.certification_number.as_deref().unwrap_or("")),
            valid_from: sc(iso_date(d.valid_from)),
            valid_to: sc(iso_date(d.valid_to)),
            due_by: sc(d.due_by.map(iso_time).unwrap_or_default()),
            past_due: yn(d.past_due),
            missing_items: sc(d.missing_items.join(";")),
            denial_category: d.denial_category.map(|c| c.as_str()).unwrap_or(""),
            appeal_path: sc(d.appeal_path.as_deref().unwrap_or("")),
            imr_eligible: match d.imr_eligible {
                Some(true) => "Y",
                Some(false) => "N",
                None => "",
            },
            deemed: yn(d.deemed),
            flags: sc(d.flags.join(";")),
            aaa_loop: sc(rej.map(|x| x.loop_id.as_str()).unwrap_or("")),
            aaa_reason: sc(rej.map(|x| x.reason.as_str()).unwrap_or("")),
            aaa_follow_up: sc(rej.map(|x| x.follow_up.as_str()).unwrap_or("")),
            approved_units: sc(num(d.approved_units)),
        }
    }
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

#[derive(Serialize)]
struct LineRow<'a> {
    request_id: Cow<'a, str>,
    source_file: Cow<'a, str>,
    line: u32,
    procedure: Cow<'a, str>,
    units: String,
    service_from: String,
    service_to: String,
    outcome: &'static str,
    hcr01: &'static str,
    reason_codes: String,
    approved_units: String,
    request_outcome: &'static str,
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
#[derive(Debug, Default, Clone)]
struct MinuteHistogram {
    counts: BTreeMap<u32, u64>,
    n: u64,
    total: u64,
}

impl MinuteHistogram {
    fn push(&mut self, minutes: u32) {
        *self.counts.entry(minutes).or_default() += 1;
        self.n += 1;
        self.total += u64::from(minutes);
    }

    /// The value at 0-based rank `k` in sorted order.
    fn nth(&self, k: u64) -> u32 {
        let mut seen = 0;
        for (&m, &c) in &self.counts {
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
        let avg = self.total as f64 / self.n as f64 / 60.0;
        let mid = self.n / 2;
        let med = if self.n.is_multiple_of(2) {
            (f64::from(self.nth(mid - 1)) + f64::from(self.nth(mid))) / 2.0
        } else {
            f64::from(self.nth(mid))
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
    fn add(&mut self, r: &AuthRequest, d: &Decision) {
        bump(&mut self.by_outcome, d.outcome.as_str());
        bump(&mut self.by_plan, d.plan_id.as_deref().unwrap_or("(none)"));
        bump(&mut self.by_source, r.provenance.kind.as_str());
        for c in &d.reason_codes {
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

/// The report rows of one decided request, rendered to CSV bytes (in a worker thread).
#[derive(Debug, Default, Clone)]
pub struct Rendered {
    decision: Vec<u8>,
    retro: Vec<u8>,
    lines: Vec<u8>,
    reject: Vec<u8>,
}

/// A buffer the CSV writer fills and the renderer drains after each row.
#[derive(Clone, Default)]
struct Shared(std::rc::Rc<std::cell::RefCell<Vec<u8>>>);

impl Write for Shared {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A reusable CSV row renderer (one per worker thread).
pub struct RowRenderer {
    w: csv::Writer<Shared>,
    buf: Shared,
}

impl Default for RowRenderer {
    fn default() -> Self {
        let buf = Shared::default();
        RowRenderer {
            w: csv::WriterBuilder::new()
                .has_headers(false)
                .flexible(true)
                .from_writer(buf.clone()),
            buf,
        }
    }
}

impl RowRenderer {
    fn take(&mut self) -> io::Result<Vec<u8>> {
        self.w.flush()?;
        Ok(std::mem::take(&mut *self.buf.0.borrow_mut()))
    }

    fn row<T: Serialize>(&mut self, row: &T) -> io::Result<Vec<u8>> {
        self.w.serialize(row).map_err(io::Error::other)?;
        self.take()
    }

    fn record(&mut self, rec: &[&str]) -> io::Result<Vec<u8>> {
        self.w.write_record(rec).map_err(io::Error::other)?;
        self.take()
    }

    /// Renders every report row of a decided request.
    pub fn render(&mut self, r: &AuthRequest, d: &Decision) -> io::Result<Rendered> {
        let row = DecisionRow::new(r, d);
        let decision = self.row(&row)?;
        let mut out = Rendered {
            decision,
            ..Rendered::default()
        };
        if let Some(rr) = &d.retro_report {
            // The decision columns, then the retro columns.
            let mut line = out.decision.clone();
            while matches!(line.last(), Some(b'\n' | b'\r')) {
                line.pop();
            }
            line.push(b',');
            let days = rr.days_after_service.to_string();
            let missing = safe_cell(&rr.missing);
            line.extend(self.record(&[
                &days,
                yn(rr.urgency_indicated),
                yn(rr.justification_present),
                &missing,
            ])?);
            out.retro = line;
        }
        for l in &d.lines {
            let req_line = r.lines.iter().find(|x| x.line == l.line);
            let lr = LineRow {
                request_id: sc(&r.request_id),
                source_file: sc(&r.provenance.file),
                line: l.line,
                procedure: sc(&l.procedure),
                units: num(l.units),
                service_from: iso_date(req_line.and_then(|x| x.from)),
                service_to: iso_date(req_line.and_then(|x| x.to)),
                outcome: l.outcome.as_str(),
                hcr01: l.hcr01.unwrap_or(""),
                reason_codes: l.reason_codes.join(";"),
                approved_units: num(l.approved_units),
                request_outcome: d.outcome.as_str(),
            };
            let bytes = self.row(&lr)?;
            out.lines.extend(bytes);
        }
        if d.outcome == Outcome::Rejected {
            let rej = d.rejection.as_ref();
            let rr = RejectRow {
                source_file: r.provenance.file.to_string(),
                source_kind: r.provenance.kind.to_string(),
                level: "request".into(),
                position: r.provenance.reference.clone(),
                request_id: r.request_id.clone(),
                code: rej.map(|x| x.reason.clone()).unwrap_or_default(),
                ack: rej
                    .map(|x| format!("AAA {} at {}", x.reason, x.loop_id))
                    .unwrap_or_default(),
                reason: d.reason_text.clone(),
            };
            out.reject = self.row(&rr.neutralized())?;
        }
        Ok(out)
    }
}

impl RejectRow {
    fn neutralized(&self) -> RejectRow {
        RejectRow {
            source_file: safe_cell(&self.source_file).into_owned(),
            source_kind: self.source_kind.clone(),
            level: self.level.clone(),
            position: safe_cell(&self.position).into_owned(),
            request_id: safe_cell(&self.request_id).into_owned(),
            code: safe_cell(&self.code).into_owned(),
            ack: safe_cell(&self.ack).into_owned(),
            reason: safe_cell(&self.reason).into_owned(),
        }
    }
}

/// All report files of one run; rows arrive pre-rendered, in input order.
pub struct Reports {
    files: Vec<AtomicFile>,
    renderer: RowRenderer,
    /// Running totals for summary.json.
    pub summary: Summary,
}

const DECISIONS: usize = 0;
const APPROVALS: usize = 1;
const PENDS: usize = 2;
const DENIALS: usize = 3;
const NOT_REQUIRED: usize = 4;
const REJECTS: usize = 5;
const RETRO: usize = 6;
const LINES: usize = 7;

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
            f.write_all(&renderer.record(h)?)?;
            files.push(f);
        }
        Ok(Reports {
            files,
            renderer,
            summary: Summary::default(),
        })
    }

    fn put(&mut self, i: usize, bytes: &[u8]) -> io::Result<()> {
        if bytes.is_empty() {
            return Ok(());
        }
        match self.files.get_mut(i) {
            Some(f) => f.write_all(bytes),
            None => Err(io::Error::other("report file missing")),
        }
    }

    /// Writes the pre-rendered rows of one decided request.
    pub fn write_rendered(
        &mut self,
        r: &AuthRequest,
        d: &Decision,
        rows: &Rendered,
    ) -> io::Result<()> {
        self.put(DECISIONS, &rows.decision)?;
        let target = match d.outcome {
            Outcome::Approved | Outcome::Modified => Some(APPROVALS),
            Outcome::Pended | Outcome::ContactPayer => Some(PENDS),
            Outcome::Denied => Some(DENIALS),
            Outcome::NotRequired => Some(NOT_REQUIRED),
            Outcome::Rejected => None,
        };
        if let Some(t) = target {
            self.put(t, &rows.decision)?;
        }
        if !rows.reject.is_empty() {
            *self
                .summary
                .rejects_by_level
                .entry("request".into())
                .or_default() += 1;
            self.put(REJECTS, &rows.reject)?;
        }
        self.put(RETRO, &rows.retro)?;
        self.put(LINES, &rows.lines)?;
        self.summary.add(r, d);
        Ok(())
    }

    /// Writes one reject row.
    pub fn reject_row(&mut self, row: &RejectRow) -> io::Result<()> {
        *self
            .summary
            .rejects_by_level
            .entry(row.level.clone())
            .or_default() += 1;
        let bytes = self.renderer.row(&row.neutralized())?;
        self.put(REJECTS, &bytes)
    }

    /// Renames every report to its final name.
    pub fn commit(mut self) -> io::Result<(Vec<super::Committed>, Summary)> {
        let mut out = Vec::new();
        for f in self.files {
            out.push(f.commit()?);
        }
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
    use super::MinuteHistogram;

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
}
