//! The evaluator: one `AuthRequest` + policy + rosters + "now" → one `Decision`, explained.
//!
//! Pure and deterministic: the as-of time is an input, the policy and rosters are shared
//! read-only (`Arc`), so rayon workers can call [`Evaluator::decide`] concurrently. Facts about
//! a request (coverage, network, missing items, code validity) are computed once, then the
//! compiled rules run stage by stage (see [`Stage`]); the first rule that sets an outcome
//! decides. Every rule that fired is kept, in order, with what it did.

mod certificate;
mod conditions;
mod index;

pub use certificate::{
    is_valid_prefix as is_valid_certification_prefix, CertificationNumber, CertificationPrefix,
};

use crate::calendar::{Calendar, ClockDuration};
use crate::policy::codes::{is_icd10_code, is_procedure_code};
use crate::policy::{item_names, DenialCategory, Item, NetworkCond, Outcome, Policy, Stage};
use crate::request::{AuthRequest, Category, Text, Urgency};
use crate::roster::{Coverage, Eligibility, Product, Provider, Providers};
use chrono::{NaiveDate, NaiveDateTime};
use conditions::{Profile, View};
use index::RuleSet;
use serde::Serialize;
use std::borrow::Cow;
use std::cell::Cell;
use std::sync::Arc;

/// A rule that fired, in evaluation order.
///
/// Borrowed from the evaluator's compiled policy: a trace costs no allocation and no shared
/// reference count, so workers deciding in parallel never touch each other's cache lines.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Fired<'e> {
    /// The rule id (POLICIES.md id where it implements one).
    pub id: &'e str,
    /// The stage it ran in.
    pub stage: &'static str,
    /// What it did, in words.
    pub effect: &'e str,
}

/// A trace entry that does not come from a policy rule, with its text built once.
struct BuiltInFired {
    id: String,
    stage: &'static str,
    effect: String,
}

impl BuiltInFired {
    fn new(id: &str, stage: &'static str, effect: String) -> Self {
        BuiltInFired {
            id: id.to_string(),
            stage,
            effect,
        }
    }
    fn get(&self) -> Fired<'_> {
        Fired {
            id: &self.id,
            stage: self.stage,
            effect: &self.effect,
        }
    }
}

/// Trace entries and texts that do not come from a policy rule, built once.
struct BuiltIn {
    unlisted: BuiltInFired,
    default_approved: BuiltInFired,
    default_pended: BuiltInFired,
    validity: Option<BuiltInFired>,
    imr_yes: Option<BuiltInFired>,
    imr_no: Option<BuiltInFired>,
    appeal: Option<BuiltInFired>,
    /// Appeal path of an IMR-eligible denial.
    appeal_imr: String,
    /// Appeal path of a denial not eligible for IMR, by denial category (last: no category).
    appeal_no_imr: [String; 5],
}

/// Why a request was rejected (278 AAA).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RejectionInfo<'e> {
    /// Loop in error (`2010C`, `2000E`…).
    pub loop_id: &'e str,
    /// AAA03 reject reason.
    pub reason: &'e str,
    /// AAA04 follow-up action.
    pub follow_up: &'e str,
}

/// Data for the retro-missing-justification report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RetroReport {
    /// Days between the service start and the submission.
    pub days_after_service: i64,
    /// The request said it was urgent or emergent.
    pub urgency_indicated: bool,
    /// A justification text or document was sent.
    pub justification_present: bool,
    /// What is missing, in words.
    pub missing: &'static str,
}

/// The decision for one service line: `Decision::lines[i]` is the decision for the request's
/// `lines[i]`, whose procedure code and units it does not repeat.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LineDecision<'e> {
    /// Line number.
    pub line: u32,
    /// Outcome of the line.
    pub outcome: Outcome,
    /// HCR01 of the line (A2 is never used at line level).
    pub hcr01: Option<&'static str>,
    /// HCR03 reason code.
    pub reason_code: Option<&'e str>,
    /// Units approved, when limited.
    pub approved_units: Option<f64>,
}

/// One decision, with everything the writers and reports need.
///
/// Texts and codes that come from the policy are borrowed from the evaluator (`'e`), so a
/// decision allocates only what is its own: the trace and the line list. A decision travels
/// with its request, which holds the request id.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Decision<'e> {
    /// The outcome.
    pub outcome: Outcome,
    /// HCR01 at the event level (A2 when only some lines are certified).
    pub hcr01: Option<&'static str>,
    /// HCR03 reason code (or AAA03 for rejections): X12 carries one per HCR / AAA.
    pub reason_code: Option<&'e str>,
    /// Reason a nurse can read.
    pub reason_text: Cow<'e, str>,
    /// Rules that fired, in order.
    pub rules_fired: Vec<Fired<'e>>,
    /// Certification / tracking number (approved, modified, pended, denied, contact payer).
    pub certification_number: Option<CertificationNumber>,
    /// First day of the certification.
    pub valid_from: Option<NaiveDate>,
    /// Last day of the certification.
    pub valid_to: Option<NaiveDate>,
    /// When the decision is due.
    pub due_by: Option<NaiveDateTime>,
    /// The clock that set `due_by`.
    pub clock_id: Option<&'e str>,
    /// The decision time is past `due_by`.
    pub past_due: bool,
    /// Items missing (pends for information).
    pub missing_items: Vec<&'static str>,
    /// Denial category.
    pub denial_category: Option<DenialCategory>,
    /// Appeal path (denials).
    pub appeal_path: Option<&'e str>,
    /// Eligible for Independent Medical Review (denials).
    pub imr_eligible: Option<bool>,
    /// Service started before the request.
    pub retro: bool,
    /// Urgent or emergent (expedited clocks).
    pub expedited: bool,
    /// Approved because the plan did not answer in time.
    pub deemed: bool,
    /// Flags set by rules (late_notification, benefit_reduction…).
    pub flags: Vec<&'e str>,
    /// Rejection details.
    pub rejection: Option<RejectionInfo<'e>>,
    /// Units approved when fewer than requested.
    pub approved_units: Option<f64>,
    /// Retro request lacking urgency or justification.
    pub retro_report: Option<RetroReport>,
    /// Line-level decisions, one per request line, in the same order.
    pub lines: Vec<LineDecision<'e>>,
    /// The plan that applied.
    pub plan_id: Option<Cow<'e, str>>,
    /// The member's product.
    pub product: Option<&'static str>,
    /// When the decision was made (the as-of time).
    pub decided_at: NaiveDateTime,
}

/// How many deadlines one request keeps once computed; a policy asking for more distinct ones
/// computes the others each time.
const DEADLINE_SLOTS: usize = 8;

/// What a deadline is counted from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Base {
    /// The request's submission time.
    Submission,
    /// The start of the request's first service day.
    ServiceStart,
}

/// A deadline a rule or clock asks for, with the memo slot it was given when compiled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Deadline {
    base: Base,
    duration: ClockDuration,
    slot: usize,
}

/// Gives each distinct (base, duration) of a policy its own slot.
#[derive(Debug, Default)]
struct DeadlineSlots(Vec<(Base, ClockDuration)>);

impl DeadlineSlots {
    fn deadline(&mut self, base: Base, duration: ClockDuration) -> Deadline {
        let slot = match self.0.iter().position(|&k| k == (base, duration)) {
            Some(i) => i,
            None => {
                self.0.push((base, duration));
                self.0.len() - 1
            }
        };
        Deadline {
            base,
            duration,
            slot,
        }
    }
}

/// Facts computed once per request.
struct Facts<'a> {
    coverage: Option<&'a Coverage>,
    member_found: bool,
    eligible: bool,
    plan_id: Option<Cow<'a, str>>,
    plan_flags: &'a [String],
    servicing: Option<&'a Provider>,
    servicing_network: NetworkCond,
    servicing_is_pcp: bool,
    requester: Option<&'a Provider>,
    missing: u32,
    diag_invalid: bool,
    proc_invalid: bool,
    has_justification: bool,
    /// The yes/no and one-of facts as bits, for the rules' mask checks.
    profile: Profile,
    /// When the request was submitted.
    submitted_at: NaiveDateTime,
    /// The start of the first service day (a service starts at the beginning of its day).
    service_start: Option<NaiveDateTime>,
    /// Length of the stay in hours (service dates, else units as days).
    stay_hours: Option<i64>,
    /// Deadlines by slot: lead-time rules, waiting rules and the decision clock ask for the
    /// same few, and each costs a date addition or a calendar walk.
    deadlines: [Cell<Option<NaiveDateTime>>; DEADLINE_SLOTS],
}

impl Facts<'_> {
    /// The deadline on the policy's calendar, counted from the submission or the service start
    /// as its base says (None for a service-start deadline of a request without dates).
    fn deadline(&self, calendar: &Calendar, dl: Deadline) -> Option<NaiveDateTime> {
        let from = match dl.base {
            Base::Submission => self.submitted_at,
            Base::ServiceStart => self.service_start?,
        };
        let Some(cell) = self.deadlines.get(dl.slot) else {
            return Some(calendar.add(from, dl.duration));
        };
        Some(match cell.get() {
            Some(at) => at,
            None => {
                let at = calendar.add(from, dl.duration);
                cell.set(Some(at));
                at
            }
        })
    }
}

/// The evaluator: a compiled policy, rosters and the decision time.
///
/// Fields are private so the compiled rules always match the policy they came from.
#[derive(Debug, Clone)]
pub struct Evaluator {
    policy: Arc<Policy>,
    eligibility: Arc<Eligibility>,
    providers: Arc<Providers>,
    as_of: NaiveDateTime,
    builtin: Arc<BuiltIn>,
    /// Each policy rule's conditions, compiled (same order as `policy.rules`).
    rule_tests: Arc<RuleSet>,
    /// Each clock's conditions, compiled (same order as `policy.clocks`).
    clock_tests: Arc<RuleSet>,
    /// Each clock's due time, counted from the submission (same order as `policy.clocks`).
    clock_due: Arc<[Deadline]>,
    /// The policy's certification prefix, cleaned once.
    certification: CertificationPrefix,
}

impl std::fmt::Debug for BuiltIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BuiltIn")
    }
}

fn fired(id: &str, stage: &'static str, effect: String) -> BuiltInFired {
    BuiltInFired::new(id, stage, effect)
}

/// A pend's reason with what it is missing: `… (missing: a, b)`, in one allocation.
fn with_missing(reason: &str, missing: &[&str]) -> String {
    let items: usize = missing.iter().map(|m| m.len() + 2).sum();
    let mut text = String::with_capacity(reason.len() + " (missing: )".len() + items);
    text.push_str(reason);
    text.push_str(" (missing: ");
    for (i, m) in missing.iter().enumerate() {
        if i > 0 {
            text.push_str(", ");
        }
        text.push_str(m);
    }
    text.push(')');
    text
}

/// The reason of a request certified in part: each line, its procedure and its outcome.
fn certified_in_part(decided: &[LineDecision], lines: &[crate::request::ServiceRequest]) -> String {
    use std::fmt::Write;
    let mut text = String::with_capacity(24 + 32 * decided.len());
    text.push_str("certified in part: ");
    for (i, (d, l)) in decided.iter().zip(lines).enumerate() {
        if i > 0 {
            text.push_str(", ");
        }
        // Writing to a String cannot fail.
        let _ = write!(
            text,
            "line {} ({}) {}",
            d.line,
            l.procedure,
            d.outcome.as_str()
        );
    }
    text
}

/// Drops each entry from `start` on whose rule id appears earlier in `fired`: a rule that
/// fires for the request and for its lines shows once in the trace, where it first fired.
fn keep_first_of_each_id(fired: &mut Vec<Fired<'_>>, start: usize) {
    let mut kept = start;
    for i in start..fired.len() {
        let Some(&x) = fired.get(i) else { break };
        let earlier = fired.get(..kept).unwrap_or_default();
        if !earlier.iter().any(|y| y.id == x.id) {
            fired.swap(kept, i);
            kept += 1;
        }
    }
    fired.truncate(kept);
}

/// Index of a denial category in `BuiltIn::appeal_no_imr` (the last slot: no category).
fn category_slot(c: Option<DenialCategory>) -> usize {
    match c {
        Some(DenialCategory::MedicalNecessity) => 0,
        Some(DenialCategory::Experimental) => 1,
        Some(DenialCategory::Coverage) => 2,
        Some(DenialCategory::Administrative) => 3,
        None => 4,
    }
}

impl BuiltIn {
    fn new(p: &Policy) -> BuiltIn {
        let (appeal_imr, appeal_no_imr) = match &p.appeals {
            Some(a) => {
                let not_eligible = |c: &str| {
                    format!(
                        "{} Not eligible for Independent Medical Review: {c} decisions are not disputed medical decisions.",
                        a.internal
                    )
                };
                (
                    format!("{} {}", a.internal, a.imr),
                    [
                        not_eligible(DenialCategory::MedicalNecessity.as_str()),
                        not_eligible(DenialCategory::Experimental.as_str()),
                        not_eligible(DenialCategory::Coverage.as_str()),
                        not_eligible(DenialCategory::Administrative.as_str()),
                        not_eligible("this"),
                    ],
                )
            }
            None => Default::default(),
        };
        BuiltIn {
            appeal_imr,
            appeal_no_imr,
            unlisted: fired(
                "unlisted-not-required",
                Stage::Requirement.as_str(),
                "not_required (0H): the service is on none of the policy's authorization lists"
                    .into(),
            ),
            default_approved: fired(
                "default",
                Stage::Approval.as_str(),
                "approved by the policy default: no rule objected".into(),
            ),
            default_pended: fired(
                "default",
                Stage::Approval.as_str(),
                "pended by the policy default: queued for review".into(),
            ),
            validity: p.validity.as_ref().map(|v| {
                fired(
                    &v.id,
                    "validity_period",
                    format!(
                        "valid {} days from the service start{}",
                        v.days,
                        if v.cap_at_coverage_end {
                            ", never past the coverage end"
                        } else {
                            ""
                        }
                    ),
                )
            }),
            imr_yes: p.appeals.as_ref().map(|a| {
                fired(
                    &a.imr_id,
                    "appeal",
                    "IMR eligible: disputed medical decision".into(),
                )
            }),
            imr_no: p.appeals.as_ref().map(|a| {
                fired(
                    &a.imr_id,
                    "appeal",
                    "IMR not eligible: coverage or administrative decision".into(),
                )
            }),
            appeal: p.appeals.as_ref().map(|a| {
                fired(
                    &a.id,
                    "appeal",
                    "internal appeal first, then IMR when eligible".into(),
                )
            }),
        }
    }
}

const NO_FLAGS: &[String] = &[];

fn cat_bit(c: Category) -> u32 {
    1 << (c as u32)
}
fn urg_bit(u: Urgency) -> u32 {
    1 << (u as u32)
}
fn prod_bit(p: Product) -> u32 {
    1 << (p as u32)
}

/// The outcome of running the rules on one view of a request.
struct Core<'e> {
    outcome: Outcome,
    reason: Option<&'e str>,
    text: &'e str,
    missing: u32,
    denial: Option<DenialCategory>,
    rejection: Option<RejectionInfo<'e>>,
    deemed: bool,
    approved_units: Option<f64>,
}

impl Evaluator {
    /// An evaluator for one run.
    pub fn new(
        policy: Arc<Policy>,
        eligibility: Arc<Eligibility>,
        providers: Arc<Providers>,
        as_of: NaiveDateTime,
    ) -> Self {
        let builtin = Arc::new(BuiltIn::new(&policy));
        let mut slots = DeadlineSlots::default();
        let rule_tests = policy
            .rules
            .iter()
            .map(|r| conditions::compile(&r.when, &mut slots))
            .collect();
        let rule_tests = Arc::new(RuleSet::new(rule_tests));
        let clock_tests = policy
            .clocks
            .iter()
            .map(|k| conditions::compile(&k.when, &mut slots))
            .collect();
        let clock_tests = Arc::new(RuleSet::new(clock_tests));
        let clock_due = policy
            .clocks
            .iter()
            .map(|k| slots.deadline(Base::Submission, k.due))
            .collect();
        Evaluator {
            certification: CertificationPrefix::new(&policy.certification_prefix),
            rule_tests,
            clock_tests,
            clock_due,
            policy,
            eligibility,
            providers,
            as_of,
            builtin,
        }
    }

    /// The policy decisions follow.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// "Now": the decision time of every decision.
    pub fn as_of(&self) -> NaiveDateTime {
        self.as_of
    }

    fn facts<'e>(&'e self, r: &AuthRequest) -> Facts<'e> {
        let on = r.service_from.or(Some(r.submitted_at.date()));
        let all = self.eligibility.member(&r.member_id);
        let coverage = on
            .and_then(|d| all.iter().find(|c| c.covers(d)))
            .or_else(|| all.iter().max_by_key(|c| c.coverage_start));
        let member_found = !all.is_empty();
        let eligible = on.is_some_and(|d| all.iter().any(|c| c.covers(d)));
        // Borrowed from the policy or the roster; only a plan the policy does not know is copied.
        let plan_id = match &r.plan_id {
            Some(p) => Some(match self.policy.plans.get_key_value(p.as_str()) {
                Some((known, _)) => Cow::Borrowed(known.as_str()),
                None => Cow::Owned(p.clone()),
            }),
            None => coverage
                .map(|c| Cow::Borrowed(c.plan_id.as_str()))
                .or_else(|| self.policy.default_plan.as_deref().map(Cow::Borrowed)),
        };
        let plan_flags = plan_id
            .as_deref()
            .and_then(|p| self.policy.plans.get(p))
            .map(|p| p.flags.as_slice())
            .unwrap_or(NO_FLAGS);
        // The provider who renders the service: servicing, else facility, else the requester.
        let who = r
            .servicing
            .as_ref()
            .or(r.facility.as_ref())
            .unwrap_or(&r.requester);
        let servicing = self.providers.get(&who.npi);
        let servicing_network = match servicing {
            None => NetworkCond::Unknown,
            Some(p) if p.contracted(plan_id.as_deref(), r.service_from) => NetworkCond::In,
            Some(_) => NetworkCond::Out,
        };
        let servicing_is_pcp =
            coverage.is_some_and(|c| !c.pcp_npi.is_empty() && c.pcp_npi == who.npi);
        let requester = if std::ptr::eq(who, &r.requester) {
            servicing
        } else {
            self.providers.get(&r.requester.npi)
        };
        let mut missing = 0u32;
        let mut miss = |cond: bool, item: Item| {
            if cond {
                missing |= item.bit();
            }
        };
        let attending = r
            .attending
            .as_ref()
            .or(r.servicing.as_ref())
            .unwrap_or(&r.requester);
        let phone = if attending.phone.is_empty() {
            &r.requester.phone
        } else {
            &attending.phone
        };
        let fax = if attending.fax.is_empty() {
            &r.requester.fax
        } else {
            &attending.fax
        };
        miss(r.member_last_name.is_empty(), Item::PatientName);
        miss(r.member_id.is_empty(), Item::MemberId);
        miss(
            r.certificate_number.is_empty() && r.member_id.is_empty(),
            Item::CertificateNumber,
        );
        miss(r.member_dob.is_none(), Item::Dob);
        miss(attending.name.is_empty(), Item::AttendingName);
        miss(phone.is_empty(), Item::AttendingPhone);
        miss(fax.is_empty(), Item::AttendingFax);
        let facility = r.facility.as_ref();
        miss(
            facility.is_none_or(|f| f.name.is_empty()),
            Item::FacilityName,
        );
        miss(
            facility.is_none_or(|f| f.phone.is_empty()),
            Item::FacilityPhone,
        );
        miss(facility.is_none_or(|f| f.fax.is_empty()), Item::FacilityFax);
        miss(r.diagnosis_codes.is_empty(), Item::Diagnosis);
        miss(r.procedure_codes.is_empty(), Item::Procedure);
        let has_justification = !r.justification.trim().is_empty();
        miss(
            !r.attachments.clinical_notes && !has_justification && r.notes.trim().is_empty(),
            Item::ClinicalInformation,
        );
        miss(!r.attachments.clinical_notes, Item::ClinicalNotes);
        miss(!r.attachments.physician_signature, Item::PhysicianSignature);
        miss(!r.attachments.lab_results, Item::LabResults);
        miss(!r.attachments.radiology_results, Item::RadiologyResults);
        miss(r.service_from.is_none(), Item::ServiceDates);
        let diag_invalid =
            r.diagnosis_codes.is_empty() || r.diagnosis_codes.iter().any(|c| !is_icd10_code(c));
        let proc_invalid =
            r.procedure_codes.is_empty() || r.procedure_codes.iter().any(|c| !is_procedure_code(c));
        let stay_hours = match (r.service_from, r.service_to) {
            (Some(a), Some(b)) => Some((b - a).num_days() * 24),
            (Some(_), None) => r.units.map(|u| (u * 24.0) as i64),
            _ => None,
        };
        let mut facts = Facts {
            profile: Profile::default(),
            submitted_at: r.submitted_at,
            service_start: r.service_from.map(|d| d.and_time(chrono::NaiveTime::MIN)),
            stay_hours,
            has_justification,
            coverage,
            member_found,
            eligible,
            plan_id,
            plan_flags,
            servicing,
            servicing_network,
            servicing_is_pcp,
            requester,
            missing,
            diag_invalid,
            proc_invalid,
            deadlines: Default::default(),
        };
        facts.profile = conditions::profile(r, &facts);
        facts
    }

    /// What a rule's tests look at: the request, or one of its lines (`procs`, `units`).
    fn view<'a>(
        &'a self,
        r: &'a AuthRequest,
        f: &'a Facts<'a>,
        procs: &'a [Text],
        units: Option<f64>,
    ) -> View<'a> {
        View {
            r,
            f,
            procs,
            units,
            code_sets: &self.policy.code_sets,
            calendar: &self.policy.calendar,
            as_of: self.as_of,
        }
    }

    /// Runs the policy's rules on one view of a request (the whole request, or one line).
    ///
    /// The rules that fire are appended to `fired` and their flags to `flags`: the caller owns
    /// both, so a line's run allocates nothing.
    fn run<'e>(
        &'e self,
        view: &View<'_>,
        fired: &mut Vec<Fired<'e>>,
        flags: &mut Vec<&'e str>,
    ) -> Core<'e> {
        let (f, units) = (view.f, view.units);
        const NOT_REQUIRED_TEXT: &str = "no prior authorization is required for this service";
        let p = &self.policy;
        let mut core = Core {
            outcome: p.default_outcome,
            reason: p.default_reason.as_deref(),
            text: &p.default_text,
            missing: 0,
            denial: None,
            rejection: None,
            deemed: false,
            approved_units: None,
        };
        let mut required = false;
        let mut decided = false;
        let mut stage = Stage::Validity;
        for (i, tests) in self.rule_tests.candidates(&f.profile) {
            let Some(rule) = p.rules.get(i) else { break };
            if rule.stage > Stage::Requirement
                && stage <= Stage::Requirement
                && !required
                && p.unlisted_not_required
            {
                // No rule says this service needs authorization, and the policy lists what does.
                core.outcome = Outcome::NotRequired;
                core.reason = Some("0H");
                core.text = NOT_REQUIRED_TEXT;
                fired.push(self.builtin.unlisted.get());
                decided = true;
                break;
            }
            stage = rule.stage;
            if !view.passes(tests) {
                continue;
            }
            let t = &rule.then;
            fired.push(Fired {
                id: &rule.trace_id,
                stage: rule.stage.as_str(),
                effect: &rule.trace_effect,
            });
            if t.require {
                required = true;
            }
            for fl in &t.flags {
                if !flags.contains(&fl.as_str()) {
                    flags.push(fl);
                }
            }
            if let Some(m) = rule.when.missing {
                core.missing |= m & f.missing;
            }
            let Some(mut outcome) = t.outcome else {
                continue;
            };
            if let (Some(limit), Some(u)) = (t.approve_units, units) {
                if outcome == Outcome::Approved || outcome == Outcome::Modified {
                    if u > limit {
                        outcome = Outcome::Modified;
                        core.approved_units = Some(limit);
                    } else {
                        outcome = Outcome::Approved;
                    }
                }
            }
            core.outcome = outcome;
            core.reason = t.reason.as_deref();
            core.text = &t.text;
            core.denial = t.denial_category;
            core.deemed = t.deemed;
            if outcome == Outcome::Rejected {
                core.rejection = Some(RejectionInfo {
                    loop_id: t.aaa_loop.as_deref().unwrap_or_default(),
                    reason: t.reason.as_deref().unwrap_or_default(),
                    follow_up: t.follow_up.as_deref().unwrap_or("C"),
                });
            }
            decided = true;
            break;
        }
        if !decided {
            if !required && p.unlisted_not_required {
                core.outcome = Outcome::NotRequired;
                core.reason = Some("0H");
                core.text = NOT_REQUIRED_TEXT;
                fired.push(self.builtin.unlisted.get());
            } else {
                fired.push(if p.default_outcome == Outcome::Approved {
                    self.builtin.default_approved.get()
                } else {
                    self.builtin.default_pended.get()
                });
                if core.text.is_empty() {
                    core.text = match p.default_outcome {
                        Outcome::Approved => "meets the policy's criteria for authorization",
                        _ => "queued for clinical review",
                    };
                }
            }
        }
        core
    }

    /// Certification / tracking number: deterministic from the request id.
    pub fn certification_number(&self, request_id: &str) -> CertificationNumber {
        self.certification.number(request_id)
    }

    /// Decides one request.
    pub fn decide(&self, r: &AuthRequest) -> Decision<'_> {
        let f = self.facts(r);
        let mut fired = Vec::with_capacity(8);
        let mut flags = Vec::new();
        let whole = self.view(r, &f, &r.procedure_codes, r.units);
        let core = self.run(&whole, &mut fired, &mut flags);
        let p = &self.policy;
        let mut outcome = core.outcome;
        let mut hcr01 = outcome.hcr01();
        let mut reason_text = Cow::Borrowed(core.text);
        let mut lines = Vec::with_capacity(r.lines.len());
        if r.lines.len() > 1 && outcome != Outcome::Rejected {
            for l in &r.lines {
                let procs = if l.procedure.is_empty() {
                    &[]
                } else {
                    std::slice::from_ref(&l.procedure)
                };
                // A line's rules join the trace once each; its flags are not the request's.
                let start = fired.len();
                let line = self.view(r, &f, procs, l.units);
                let c = self.run(&line, &mut fired, &mut Vec::new());
                keep_first_of_each_id(&mut fired, start);
                lines.push(LineDecision {
                    line: l.line,
                    outcome: c.outcome,
                    hcr01: c.outcome.hcr01(),
                    reason_code: c.reason,
                    approved_units: c.approved_units,
                });
            }
            let first = lines.first().map(|l| l.outcome);
            let mixed = lines.iter().any(|l| Some(l.outcome) != first);
            let some_certified = lines.iter().any(|l| {
                matches!(
                    l.outcome,
                    Outcome::Approved | Outcome::Modified | Outcome::NotRequired
                )
            });
            if mixed && some_certified {
                outcome = Outcome::Modified;
                hcr01 = Some("A2");
                reason_text = Cow::Owned(certified_in_part(&lines, &r.lines));
            } else if mixed {
                // No line certified: the request keeps the whole-request outcome.
            } else if let Some(o) = first {
                if o != outcome {
                    outcome = o;
                    hcr01 = o.hcr01();
                }
            }
        } else {
            for l in &r.lines {
                lines.push(LineDecision {
                    line: l.line,
                    outcome,
                    hcr01: outcome.hcr01(),
                    reason_code: core.reason,
                    approved_units: core.approved_units,
                });
            }
        }
        let numbered = matches!(
            outcome,
            Outcome::Approved
                | Outcome::Modified
                | Outcome::Pended
                | Outcome::Denied
                | Outcome::ContactPayer
        );
        let certification_number = numbered.then(|| self.certification_number(&r.request_id));
        let (mut valid_from, mut valid_to) = (None, None);
        if matches!(outcome, Outcome::Approved | Outcome::Modified) {
            let from = r.service_from.unwrap_or(r.submitted_at.date());
            valid_from = Some(from);
            match &p.validity {
                Some(v) => {
                    let mut to = from + chrono::Duration::days(v.days);
                    if v.cap_at_coverage_end {
                        if let Some(end) = f.coverage.and_then(|c| c.coverage_end) {
                            to = to.min(end);
                        }
                    }
                    valid_to = Some(to);
                    if let Some(fv) = &self.builtin.validity {
                        fired.push(fv.get());
                    }
                }
                None => valid_to = r.service_to.or(Some(from)),
            }
        }
        let mut due_by = None;
        let mut clock_id = None;
        for (i, tests) in self.clock_tests.candidates(&f.profile) {
            let (Some(k), Some(due)) = (p.clocks.get(i), self.clock_due.get(i)) else {
                break;
            };
            if whole.passes(tests) {
                due_by = f.deadline(&p.calendar, *due);
                clock_id = Some(&*k.id);
                fired.push(Fired {
                    id: &k.id,
                    stage: "clock",
                    effect: &k.trace_effect,
                });
                break;
            }
        }
        let past_due = due_by.is_some_and(|d| self.as_of > d);
        if past_due {
            flags.push("past_due");
        }
        let (mut appeal_path, mut imr_eligible) = (None, None);
        if outcome == Outcome::Denied {
            if let Some(a) = &p.appeals {
                let eligible = core.denial.is_some_and(|c| a.imr_categories.contains(&c));
                imr_eligible = Some(eligible);
                let b = &self.builtin;
                appeal_path = Some(if eligible {
                    b.appeal_imr.as_str()
                } else {
                    b.appeal_no_imr
                        .get(category_slot(core.denial))
                        .map_or("", String::as_str)
                });
                let imr = if eligible { &b.imr_yes } else { &b.imr_no };
                fired.extend(imr.iter().map(BuiltInFired::get));
                fired.extend(b.appeal.iter().map(BuiltInFired::get));
            }
        }
        let retro = r.is_retro();
        let justification_present = f.has_justification || r.attachments.clinical_notes;
        let urgency_indicated = r.urgency.is_expedited() || r.post_stabilization;
        let retro_report =
            (retro && (!urgency_indicated || !f.has_justification)).then(|| RetroReport {
                days_after_service: r.days_after_service(),
                urgency_indicated,
                justification_present,
                missing: match (urgency_indicated, f.has_justification) {
                    (false, false) => "urgency indication; urgency justification",
                    (false, true) => "urgency indication",
                    _ => "urgency justification",
                },
            });
        let missing_items = if outcome == Outcome::Pended {
            item_names(core.missing)
        } else {
            Vec::new()
        };
        if !missing_items.is_empty() {
            reason_text = Cow::Owned(with_missing(&reason_text, &missing_items));
        }
        Decision {
            outcome,
            hcr01,
            reason_code: core.reason,
            reason_text,
            rules_fired: fired,
            certification_number,
            valid_from,
            valid_to,
            due_by,
            clock_id,
            past_due,
            missing_items,
            denial_category: if outcome == Outcome::Denied {
                core.denial
            } else {
                None
            },
            appeal_path,
            imr_eligible,
            retro,
            expedited: r.urgency.is_expedited() || r.post_stabilization,
            deemed: core.deemed,
            flags,
            rejection: core.rejection,
            approved_units: core.approved_units,
            retro_report,
            lines,
            plan_id: f.plan_id,
            product: f.coverage.map(|c| c.product.as_str()),
            decided_at: self.as_of,
        }
    }
}

impl Decision<'_> {
    /// Rule ids joined with `;`, as reports show them.
    pub fn rules_fired_ids(&self) -> String {
        self.rules_fired
            .iter()
            .map(|f| f.id)
            .collect::<Vec<_>>()
            .join(";")
    }
    /// True when a rule with this id fired.
    pub fn fired(&self, id: &str) -> bool {
        self.rules_fired.iter().any(|f| f.id == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_adds_only_the_rules_not_yet_in_the_trace_in_order() {
        let f = |id| Fired {
            id,
            stage: "requirement",
            effect: "",
        };
        let mut fired = vec![f("A"), f("B"), f("B"), f("C"), f("A"), f("D"), f("C")];
        keep_first_of_each_id(&mut fired, 2);
        let ids: Vec<&str> = fired.iter().map(|x| x.id).collect();
        assert_eq!(ids, ["A", "B", "C", "D"]);
        let mut whole = vec![f("A"), f("A")];
        keep_first_of_each_id(&mut whole, 2);
        assert_eq!(whole.len(), 2, "entries before `start` are left alone");
    }
}
