//! Payer policies: TOML source → checked, compiled rules (the evaluator never sees TOML).
//!
//! A policy file holds everything that differs between payers: code lists, plans and their
//! flags, the holiday calendar, validity period, decision clocks, appeal wording and an ordered
//! list of rules. Each rule names a stage; stages run in a fixed order (see [`Stage`]) and,
//! inside a stage, rules run in file order. The first rule whose conditions hold and that sets
//! an outcome decides; rules without an outcome only annotate (flags, "authorization
//! required") and evaluation goes on. Every rule that fired is kept in the decision's trace.
//!
//! Loading refuses a policy that cannot be honoured, naming the file and line: an unknown code
//! list, an automatic denial in a category the policy does not allow (IMS-6), a denial without
//! a reason, two rules of one stage with the same conditions but different outcomes (the second
//! could never fire), an unknown field or value.

pub mod codes;

use crate::calendar::{Calendar, ClockDuration};
use crate::csvutil::parse_date;
use crate::request::{Category, DeliveryKind, Urgency};
use crate::roster::Product;
use codes::CodeSet;
use rustc_hash::FxHashMap as HashMap;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use toml::Spanned;

/// The outcome vocabulary of PRODUCT.md.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Certified as requested (HCR A1).
    Approved,
    /// Certified with changes (A6; A2 at event level when only some lines pass).
    Modified,
    /// Needs a person or documents (A4).
    Pended,
    /// Adverse determination (A3).
    Denied,
    /// No authorization needed (NA + 0H).
    NotRequired,
    /// Handled by the health plan or another party (CT).
    ContactPayer,
    /// Invalid request (AAA); no decision.
    Rejected,
}

impl Outcome {
    /// Parses the policy vocabulary.
    pub fn parse(s: &str) -> Option<Outcome> {
        Some(match s {
            "approved" => Outcome::Approved,
            "modified" => Outcome::Modified,
            "pended" => Outcome::Pended,
            "denied" => Outcome::Denied,
            "not_required" => Outcome::NotRequired,
            "contact_payer" => Outcome::ContactPayer,
            "rejected" => Outcome::Rejected,
            _ => return None,
        })
    }
    /// The snake_case name used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Approved => "approved",
            Outcome::Modified => "modified",
            Outcome::Pended => "pended",
            Outcome::Denied => "denied",
            Outcome::NotRequired => "not_required",
            Outcome::ContactPayer => "contact_payer",
            Outcome::Rejected => "rejected",
        }
    }
    /// HCR01 for this outcome (None for rejections, which use AAA).
    pub fn hcr01(self) -> Option<&'static str> {
        match self {
            Outcome::Approved => Some("A1"),
            Outcome::Modified => Some("A6"),
            Outcome::Pended => Some("A4"),
            Outcome::Denied => Some("A3"),
            Outcome::NotRequired => Some("NA"),
            Outcome::ContactPayer => Some("CT"),
            Outcome::Rejected => None,
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a request was denied; decides IMR eligibility (IMR-1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DenialCategory {
    /// Not medically necessary / insufficient medical appropriateness.
    MedicalNecessity,
    /// Experimental or investigational.
    Experimental,
    /// Not a covered benefit.
    Coverage,
    /// Administrative (no prior authorization, time limits).
    Administrative,
}

impl DenialCategory {
    /// Parses the policy vocabulary.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "medical_necessity" => DenialCategory::MedicalNecessity,
            "experimental" => DenialCategory::Experimental,
            "coverage" => DenialCategory::Coverage,
            "administrative" => DenialCategory::Administrative,
            _ => return None,
        })
    }
    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            DenialCategory::MedicalNecessity => "medical_necessity",
            DenialCategory::Experimental => "experimental",
            DenialCategory::Coverage => "coverage",
            DenialCategory::Administrative => "administrative",
        }
    }
}

/// Evaluation stages, in the order they run. The order is the outcome precedence:
/// an invalid request is rejected before anything else is looked at; routing and "no
/// authorization needed" come before any judgement; lateness and retro rules come before the
/// deemed approval of post-stabilization care; coverage denials come before asking for missing
/// documents (no document makes a non-covered service covered); medical review and auto-approval
/// come last, then the policy's default outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Request validity: member, eligibility, codes, required data → rejected.
    Validity,
    /// Routing to another party → contact_payer.
    Routing,
    /// Whether authorization is required → not_required, or mark required.
    Requirement,
    /// Retro and late requests, lead times, notification windows.
    Timeliness,
    /// Deemed approvals (post-stabilization left unanswered).
    Deemed,
    /// Non-covered, experimental, cosmetic services → denied.
    Coverage,
    /// Missing information → pended (0U).
    Completeness,
    /// Medical review triggers → pended (0V).
    Review,
    /// Automatic approvals and unit limits.
    Approval,
}

impl Stage {
    fn parse(s: &str) -> Option<Stage> {
        Some(match s {
            "validity" => Stage::Validity,
            "routing" => Stage::Routing,
            "requirement" => Stage::Requirement,
            "timeliness" => Stage::Timeliness,
            "deemed" => Stage::Deemed,
            "coverage" => Stage::Coverage,
            "completeness" => Stage::Completeness,
            "review" => Stage::Review,
            "approval" => Stage::Approval,
            _ => return None,
        })
    }
    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Validity => "validity",
            Stage::Routing => "routing",
            Stage::Requirement => "requirement",
            Stage::Timeliness => "timeliness",
            Stage::Deemed => "deemed",
            Stage::Coverage => "coverage",
            Stage::Completeness => "completeness",
            Stage::Review => "review",
            Stage::Approval => "approval",
        }
    }
}

/// Items a request may lack (IMG-5, KMG-5), as a bit set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Item {
    /// Patient's name.
    PatientName,
    /// Patient's member id.
    MemberId,
    /// Insurance certificate (group/policy) number.
    CertificateNumber,
    /// Date of birth.
    Dob,
    /// Attending physician's name.
    AttendingName,
    /// Attending physician's phone.
    AttendingPhone,
    /// Attending physician's fax.
    AttendingFax,
    /// Hospital / facility name.
    FacilityName,
    /// Facility phone.
    FacilityPhone,
    /// Facility fax.
    FacilityFax,
    /// Nature of the condition (diagnosis).
    Diagnosis,
    /// Proposed treatment (procedure).
    Procedure,
    /// Clinical information (notes or justification).
    ClinicalInformation,
    /// Progress / clinical notes.
    ClinicalNotes,
    /// Physician's signature.
    PhysicianSignature,
    /// Laboratory results.
    LabResults,
    /// Radiology results.
    RadiologyResults,
    /// Service dates.
    ServiceDates,
}

/// All items, in bit order.
pub const ITEMS: [Item; 18] = [
    Item::PatientName,
    Item::MemberId,
    Item::CertificateNumber,
    Item::Dob,
    Item::AttendingName,
    Item::AttendingPhone,
    Item::AttendingFax,
    Item::FacilityName,
    Item::FacilityPhone,
    Item::FacilityFax,
    Item::Diagnosis,
    Item::Procedure,
    Item::ClinicalInformation,
    Item::ClinicalNotes,
    Item::PhysicianSignature,
    Item::LabResults,
    Item::RadiologyResults,
    Item::ServiceDates,
];

impl Item {
    /// The policy spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Item::PatientName => "patient_name",
            Item::MemberId => "member_id",
            Item::CertificateNumber => "certificate_number",
            Item::Dob => "dob",
            Item::AttendingName => "attending_name",
            Item::AttendingPhone => "attending_phone",
            Item::AttendingFax => "attending_fax",
            Item::FacilityName => "facility_name",
            Item::FacilityPhone => "facility_phone",
            Item::FacilityFax => "facility_fax",
            Item::Diagnosis => "diagnosis",
            Item::Procedure => "procedure",
            Item::ClinicalInformation => "clinical_information",
            Item::ClinicalNotes => "clinical_notes",
            Item::PhysicianSignature => "physician_signature",
            Item::LabResults => "lab_results",
            Item::RadiologyResults => "radiology_results",
            Item::ServiceDates => "service_dates",
        }
    }
    /// The bit of this item.
    pub fn bit(self) -> u32 {
        1 << (self as u32)
    }
    fn parse(s: &str) -> Option<Item> {
        ITEMS.iter().copied().find(|i| i.as_str() == s)
    }
}

/// Names of the items in a bit set, in bit order.
pub fn item_names(bits: u32) -> Vec<&'static str> {
    ITEMS
        .iter()
        .filter(|i| bits & i.bit() != 0)
        .map(|i| i.as_str())
        .collect()
}

/// Which codes a `codes_invalid` condition looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeKind {
    /// ICD-10 diagnoses.
    Diagnosis,
    /// CPT/HCPCS/CDT procedures.
    Procedure,
}

/// Provider network as a condition sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetworkCond {
    /// Contracted for the plan on the service date.
    In,
    /// Known but not contracted (out of network, other plan, contract ended).
    Out,
    /// Not on the roster (or not named).
    Unknown,
}

/// Longest `certification_prefix`: HCR02 holds at most 50 characters, and a certification
/// number adds 16 hex digits to its prefix.
pub const MAX_CERTIFICATION_PREFIX: usize = 34;

/// Compiled conditions of a rule; every present condition must hold.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Conditions {
    /// Category bit set (any of).
    pub categories: Option<u32>,
    /// Category bit set (none of).
    pub not_categories: Option<u32>,
    /// UM03 service types.
    pub service_types: Option<Vec<String>>,
    /// Places of service.
    pub places: Option<Vec<String>>,
    /// Any procedure in this code set.
    pub procedures_in: Option<usize>,
    /// Every procedure in this code set.
    pub all_procedures_in: Option<usize>,
    /// No procedure in this code set.
    pub no_procedure_in: Option<usize>,
    /// Any diagnosis in this code set.
    pub diagnoses_in: Option<usize>,
    /// Urgency bit set.
    pub urgency: Option<u32>,
    /// Retro request.
    pub retro: Option<bool>,
    /// Post-stabilization request.
    pub post_stabilization: Option<bool>,
    /// Member found on the roster.
    pub member_found: Option<bool>,
    /// Member eligible on the service date.
    pub eligible: Option<bool>,
    /// Product bit set.
    pub products: Option<u32>,
    /// Medicare primary.
    pub medicare_primary: Option<bool>,
    /// Plan flag that must be on.
    pub plan_flag: Option<String>,
    /// Plan flag that must be off.
    pub plan_flag_off: Option<String>,
    /// Servicing provider network.
    pub servicing_network: Option<NetworkCond>,
    /// Servicing provider specialties (any of).
    pub servicing_specialty: Option<Vec<String>>,
    /// Servicing provider is the member's PCP.
    pub servicing_is_member_pcp: Option<bool>,
    /// Requesting provider specialties (any of).
    pub requester_specialty: Option<Vec<String>>,
    /// Estimated cost ≤ this.
    pub cost_at_most: Option<f64>,
    /// Estimated cost > this.
    pub cost_over: Option<f64>,
    /// Any of these items missing.
    pub missing: Option<u32>,
    /// Codes of this kind missing or malformed.
    pub codes_invalid: Option<CodeKind>,
    /// Less than this between submission and service start.
    pub lead_time_under: Option<ClockDuration>,
    /// More than this between service start (admission) and submission.
    pub notified_after: Option<ClockDuration>,
    /// Stay longer than this.
    pub stay_over: Option<ClockDuration>,
    /// Stay at most this.
    pub stay_at_most: Option<ClockDuration>,
    /// Delivery type.
    pub delivery: Option<DeliveryKind>,
    /// A previous certification (REF*BB) is referenced.
    pub has_previous_certification: Option<bool>,
    /// UM02 certification types.
    pub certification_types: Option<Vec<String>>,
    /// Justification text present.
    pub justification: Option<bool>,
    /// The request has waited more than this at decision time.
    pub waiting_over: Option<ClockDuration>,
    /// Units requested over this.
    pub units_over: Option<f64>,
    /// Source kind (`x12` or `fax`).
    pub source_fax: Option<bool>,
}

/// What a rule does when its conditions hold.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Effect {
    /// The outcome; None for annotating rules.
    pub outcome: Option<Outcome>,
    /// HCR03 reason code (or AAA03 for rejections).
    pub reason: Option<String>,
    /// AAA loop for rejections (`2010C`, `2000E`…).
    pub aaa_loop: Option<String>,
    /// AAA04 follow-up action.
    pub follow_up: Option<String>,
    /// Denial category.
    pub denial_category: Option<DenialCategory>,
    /// Reason text for nurses and for MSG.
    pub text: String,
    /// Flags recorded on the decision.
    pub flags: Vec<String>,
    /// Marks the service as needing authorization.
    pub require: bool,
    /// Deemed approval.
    pub deemed: bool,
    /// Approve at most this many units (more requested → modified).
    pub approve_units: Option<f64>,
}

/// One compiled rule.
#[derive(Debug, Clone)]
pub struct Rule {
    /// The id (a POLICIES.md id where the rule implements one).
    pub id: String,
    /// The id, shared by every decision's trace (no allocation per decision).
    pub trace_id: Arc<str>,
    /// What the rule does, in words, shared by every decision's trace.
    pub trace_effect: Arc<str>,
    /// The stage.
    pub stage: Stage,
    /// Line in the policy file.
    pub line: usize,
    /// Description for `policy check` and `explain`.
    pub description: String,
    /// Conditions.
    pub when: Conditions,
    /// Effect.
    pub then: Effect,
}

/// A decision clock: the first clock whose conditions hold sets `due_by`.
#[derive(Debug, Clone)]
pub struct Clock {
    /// The id (e.g. `CLK-1`, `KMG-6`).
    pub id: Arc<str>,
    /// The trace text.
    pub trace_effect: Arc<str>,
    /// Conditions (only request/member facts are meaningful here).
    pub when: Conditions,
    /// Time allowed from submission.
    pub due: ClockDuration,
    /// Line in the policy file.
    pub line: usize,
    /// What the clock implements.
    pub description: String,
}

/// Certification validity (IMS-3).
#[derive(Debug, Clone)]
pub struct Validity {
    /// The id.
    pub id: String,
    /// Days from the service start.
    pub days: i64,
    /// Never past the member's coverage end.
    pub cap_at_coverage_end: bool,
}

/// Appeal wording and IMR eligibility (IMR-1, IMR-2).
#[derive(Debug, Clone)]
pub struct Appeals {
    /// Id of the appeal-path rule (IMR-2).
    pub id: String,
    /// Id of the IMR-eligibility rule (IMR-1).
    pub imr_id: String,
    /// Internal appeal text.
    pub internal: String,
    /// IMR text (appended when eligible).
    pub imr: String,
    /// Denial categories eligible for IMR.
    pub imr_categories: Vec<DenialCategory>,
}

/// A plan / IPA of the policy.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// Flags (e.g. `outpatient_management`).
    pub flags: Vec<String>,
    /// What the plan is.
    pub description: String,
}

/// A compiled, immutable policy, shared by all workers.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Policy id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// What the policy implements (seed document, scope).
    pub description: String,
    /// The file it came from.
    pub file: String,
    /// sha256 of the file, for run manifests.
    pub sha256: String,
    /// Outcome when no rule decides.
    pub default_outcome: Outcome,
    /// Reason code and text for the default outcome.
    pub default_reason: Option<String>,
    /// Text of the default outcome.
    pub default_text: String,
    /// Services no rule marks as requiring authorization need none.
    pub unlisted_not_required: bool,
    /// Denial categories rules may use.
    pub allowed_denials: Vec<DenialCategory>,
    /// Prefix of certification numbers.
    pub certification_prefix: String,
    /// Plans by id.
    pub plans: HashMap<String, Plan>,
    /// Plan assumed when the request and roster name none.
    pub default_plan: Option<String>,
    /// Business-day calendar.
    pub calendar: Calendar,
    /// Validity period.
    pub validity: Option<Validity>,
    /// Appeal wording.
    pub appeals: Option<Appeals>,
    /// Decision clocks.
    pub clocks: Vec<Clock>,
    /// Rules in evaluation order.
    pub rules: Vec<Rule>,
    /// Code sets referenced by rules.
    pub code_sets: Vec<CodeSet>,
    /// Code set names, same order.
    pub code_set_names: Vec<String>,
}

/// One problem in a policy file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyProblem {
    /// 1-based line.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

/// A policy that cannot be loaded; lists every problem found.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{}", self.render())]
pub struct PolicyError {
    /// The file.
    pub file: String,
    /// Every problem.
    pub problems: Vec<PolicyProblem>,
}

impl PolicyError {
    fn render(&self) -> String {
        self.problems
            .iter()
            .map(|p| format!("{}:{}: {}", self.file, p.line, p.message))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

// ---------- TOML source ----------

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    policy: Spanned<PolicyMeta>,
    #[serde(default)]
    calendar: Option<Spanned<CalendarSrc>>,
    #[serde(default)]
    codes: BTreeMap<String, Spanned<Vec<String>>>,
    #[serde(default)]
    plans: Vec<Spanned<PlanSrc>>,
    #[serde(default)]
    validity: Option<Spanned<ValiditySrc>>,
    #[serde(default)]
    appeals: Option<Spanned<AppealsSrc>>,
    #[serde(default)]
    clocks: Vec<Spanned<ClockSrc>>,
    #[serde(default)]
    rules: Vec<Spanned<RuleSrc>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyMeta {
    id: String,
    name: String,
    #[serde(default = "default_outcome")]
    default_outcome: String,
    #[serde(default)]
    default_reason: Option<String>,
    #[serde(default)]
    default_text: Option<String>,
    #[serde(default = "default_unlisted")]
    unlisted_services: String,
    #[serde(default = "all_denials")]
    allowed_denial_categories: Vec<String>,
    #[serde(default = "default_prefix")]
    certification_prefix: String,
    #[serde(default)]
    default_plan: Option<String>,
    #[serde(default)]
    description: Option<String>,
}

fn default_outcome() -> String {
    "approved".into()
}
fn default_unlisted() -> String {
    "require".into()
}
fn all_denials() -> Vec<String> {
    [
        "medical_necessity",
        "experimental",
        "coverage",
        "administrative",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}
fn default_prefix() -> String {
    "UMB".into()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CalendarSrc {
    #[serde(default)]
    holidays: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PlanSrc {
    id: String,
    #[serde(default)]
    flags: Vec<String>,
    #[serde(default)]
    description: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ValiditySrc {
    #[serde(default)]
    id: Option<String>,
    days: i64,
    #[serde(default)]
    cap_at_coverage_end: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AppealsSrc {
    id: String,
    imr_id: String,
    internal: String,
    imr: String,
    imr_categories: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClockSrc {
    id: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    when: WhenSrc,
    due: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleSrc {
    id: String,
    stage: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    when: WhenSrc,
    #[serde(default)]
    then: ThenSrc,
}

#[derive(Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
struct WhenSrc {
    category: Option<Vec<String>>,
    not_category: Option<Vec<String>>,
    service_type: Option<Vec<String>>,
    place_of_service: Option<Vec<String>>,
    procedures_in: Option<String>,
    all_procedures_in: Option<String>,
    no_procedure_in: Option<String>,
    diagnoses_in: Option<String>,
    urgency: Option<Vec<String>>,
    retro: Option<bool>,
    post_stabilization: Option<bool>,
    member_found: Option<bool>,
    eligible: Option<bool>,
    product: Option<Vec<String>>,
    medicare_primary: Option<bool>,
    plan_flag: Option<String>,
    plan_flag_off: Option<String>,
    servicing_network: Option<String>,
    servicing_specialty: Option<Vec<String>>,
    servicing_is_member_pcp: Option<bool>,
    requester_specialty: Option<Vec<String>>,
    cost_at_most: Option<f64>,
    cost_over: Option<f64>,
    missing: Option<Vec<String>>,
    codes_invalid: Option<String>,
    lead_time_under: Option<String>,
    notified_after: Option<String>,
    stay_over: Option<String>,
    stay_at_most: Option<String>,
    delivery: Option<String>,
    has_previous_certification: Option<bool>,
    certification_type: Option<Vec<String>>,
    justification: Option<bool>,
    waiting_over: Option<String>,
    units_over: Option<f64>,
    source: Option<String>,
}

#[derive(Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
struct ThenSrc {
    outcome: Option<String>,
    reason: Option<String>,
    aaa: Option<String>,
    #[serde(rename = "loop")]
    aaa_loop: Option<String>,
    follow_up: Option<String>,
    denial_category: Option<String>,
    text: Option<String>,
    #[serde(default)]
    flags: Vec<String>,
    #[serde(default)]
    require: bool,
    #[serde(default)]
    deemed: bool,
    approve_units: Option<f64>,
}

// ---------- compilation ----------

fn line_of(src: &str, offset: usize) -> usize {
    src.get(..offset.min(src.len()))
        .map(|s| s.bytes().filter(|&b| b == b'\n').count() + 1)
        .unwrap_or(1)
}

struct Compiler<'a> {
    src: &'a str,
    problems: Vec<PolicyProblem>,
    code_index: HashMap<String, usize>,
}

impl Compiler<'_> {
    fn err(&mut self, offset: usize, message: String) {
        let line = line_of(self.src, offset);
        self.problems.push(PolicyProblem { line, message });
    }

    fn bits<T: Copy>(
        &mut self,
        at: usize,
        what: &str,
        values: &Option<Vec<String>>,
        parse: impl Fn(&str) -> Option<T>,
        bit: impl Fn(T) -> u32,
    ) -> Option<u32> {
        let values = values.as_ref()?;
        let mut out = 0;
        for v in values {
            match parse(v) {
                Some(t) => out |= bit(t),
                None => self.err(at, format!("unknown {what} `{v}`")),
            }
        }
        Some(out)
    }

    fn code_ref(&mut self, at: usize, name: &Option<String>) -> Option<usize> {
        let name = name.as_ref()?;
        match self.code_index.get(name) {
            Some(i) => Some(*i),
            None => {
                self.err(
                    at,
                    format!("unknown code list `{name}` (define it under [codes])"),
                );
                None
            }
        }
    }

    fn duration(&mut self, at: usize, v: &Option<String>) -> Option<ClockDuration> {
        let v = v.as_ref()?;
        let d = ClockDuration::parse(v);
        if d.is_none() {
            self.err(
                at,
                format!("`{v}` is not a duration (write 72h, 7d or 2bd)"),
            );
        }
        d
    }

    fn when(&mut self, at: usize, w: &WhenSrc) -> Conditions {
        let cat_bit = |c: Category| 1u32 << (c as u32);
        let urg_bit = |u: Urgency| 1u32 << (u as u32);
        let prod_bit = |p: Product| 1u32 << (p as u32);
        let network = match w.servicing_network.as_deref() {
            None => None,
            Some("in") => Some(NetworkCond::In),
            Some("out") => Some(NetworkCond::Out),
            Some("unknown") => Some(NetworkCond::Unknown),
            Some(v) => {
                self.err(
                    at,
                    format!("servicing_network `{v}` must be in, out or unknown"),
                );
                None
            }
        };
        let codes_invalid = match w.codes_invalid.as_deref() {
            None => None,
            Some("diagnosis") => Some(CodeKind::Diagnosis),
            Some("procedure") => Some(CodeKind::Procedure),
            Some(v) => {
                self.err(
                    at,
                    format!("codes_invalid `{v}` must be diagnosis or procedure"),
                );
                None
            }
        };
        let delivery = match w.delivery.as_deref() {
            None => None,
            Some("vaginal") => Some(DeliveryKind::Vaginal),
            Some("cesarean") => Some(DeliveryKind::Cesarean),
            Some(v) => {
                self.err(at, format!("delivery `{v}` must be vaginal or cesarean"));
                None
            }
        };
        let missing = w.missing.as_ref().map(|items| {
            let mut bits = 0;
            for i in items {
                match Item::parse(i) {
                    Some(it) => bits |= it.bit(),
                    None => self.err(
                        at,
                        format!(
                            "unknown missing item `{i}`; known items: {}",
                            ITEMS
                                .iter()
                                .map(|i| i.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    ),
                }
            }
            bits
        });
        let source_fax = match w.source.as_deref() {
            None => None,
            Some("fax") => Some(true),
            Some("x12") => Some(false),
            Some(v) => {
                self.err(at, format!("source `{v}` must be x12 or fax"));
                None
            }
        };
        let upper = |v: &Option<Vec<String>>| {
            v.as_ref()
                .map(|l| l.iter().map(|s| s.to_ascii_uppercase()).collect::<Vec<_>>())
        };
        Conditions {
            categories: self.bits(at, "category", &w.category, Category::parse, cat_bit),
            not_categories: self.bits(at, "category", &w.not_category, Category::parse, cat_bit),
            service_types: upper(&w.service_type),
            places: w.place_of_service.clone(),
            procedures_in: self.code_ref(at, &w.procedures_in),
            all_procedures_in: self.code_ref(at, &w.all_procedures_in),
            no_procedure_in: self.code_ref(at, &w.no_procedure_in),
            diagnoses_in: self.code_ref(at, &w.diagnoses_in),
            urgency: self.bits(at, "urgency", &w.urgency, Urgency::parse, urg_bit),
            retro: w.retro,
            post_stabilization: w.post_stabilization,
            member_found: w.member_found,
            eligible: w.eligible,
            products: self.bits(at, "product", &w.product, Product::parse, prod_bit),
            medicare_primary: w.medicare_primary,
            plan_flag: w.plan_flag.clone(),
            plan_flag_off: w.plan_flag_off.clone(),
            servicing_network: network,
            servicing_specialty: upper(&w.servicing_specialty),
            servicing_is_member_pcp: w.servicing_is_member_pcp,
            requester_specialty: upper(&w.requester_specialty),
            cost_at_most: w.cost_at_most,
            cost_over: w.cost_over,
            missing,
            codes_invalid,
            lead_time_under: self.duration(at, &w.lead_time_under),
            notified_after: self.duration(at, &w.notified_after),
            stay_over: self.duration(at, &w.stay_over),
            stay_at_most: self.duration(at, &w.stay_at_most),
            delivery,
            has_previous_certification: w.has_previous_certification,
            certification_types: w.certification_type.clone(),
            justification: w.justification,
            waiting_over: self.duration(at, &w.waiting_over),
            units_over: w.units_over,
            source_fax,
        }
    }

    fn then(&mut self, at: usize, id: &str, t: &ThenSrc, allowed: &[DenialCategory]) -> Effect {
        let outcome = match t.outcome.as_deref() {
            None => None,
            Some(o) => {
                let parsed = Outcome::parse(o);
                if parsed.is_none() {
                    self.err(at, format!("rule `{id}`: unknown outcome `{o}`"));
                }
                parsed
            }
        };
        let denial_category = match t.denial_category.as_deref() {
            None => None,
            Some(c) => {
                let parsed = DenialCategory::parse(c);
                if parsed.is_none() {
                    self.err(at, format!("rule `{id}`: unknown denial category `{c}`"));
                }
                parsed
            }
        };
        match outcome {
            Some(Outcome::Denied) => {
                match denial_category {
                    None => self.err(at, format!("rule `{id}`: a denial needs a denial_category")),
                    Some(c) if !allowed.contains(&c) => self.err(
                        at,
                        format!(
                            "rule `{id}`: automatic denial in category `{}` is not allowed by this policy (allowed: {})",
                            c.as_str(),
                            allowed.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(", ")
                        ),
                    ),
                    Some(_) => {}
                }
                if t.reason.is_none() {
                    self.err(
                        at,
                        format!("rule `{id}`: a denial needs a reason (HCR03 code)"),
                    );
                }
            }
            Some(Outcome::Pended) if t.reason.is_none() => self.err(
                at,
                format!("rule `{id}`: a pend needs a reason (HCR03 code such as 0U or 0V)"),
            ),
            Some(Outcome::Rejected) if t.aaa.is_none() || t.aaa_loop.is_none() => self.err(
                at,
                format!("rule `{id}`: a rejection needs `aaa` (AAA03) and `loop`"),
            ),
            _ => {}
        }
        if outcome != Some(Outcome::Denied) && denial_category.is_some() {
            self.err(
                at,
                format!("rule `{id}`: denial_category is only for denials"),
            );
        }
        let reason = if outcome == Some(Outcome::Rejected) {
            t.aaa.clone()
        } else {
            t.reason.clone()
        };
        Effect {
            outcome,
            reason,
            aaa_loop: t.aaa_loop.clone(),
            follow_up: t.follow_up.clone(),
            denial_category,
            text: t.text.clone().unwrap_or_default(),
            flags: t.flags.clone(),
            require: t.require,
            deemed: t.deemed,
            approve_units: t.approve_units,
        }
    }
}

/// Compiles policy text; `file` names it in errors.
pub fn compile(src: &str, file: &str) -> Result<Policy, PolicyError> {
    let parsed: PolicyFile = toml::from_str(src).map_err(|e| PolicyError {
        file: file.into(),
        problems: vec![PolicyProblem {
            line: e.span().map(|s| line_of(src, s.start)).unwrap_or(1),
            message: e.message().to_string(),
        }],
    })?;
    let mut c = Compiler {
        src,
        problems: Vec::new(),
        code_index: HashMap::default(),
    };
    let meta_at = parsed.policy.span().start;
    let meta = parsed.policy.into_inner();
    let mut code_sets = Vec::new();
    let mut code_set_names = Vec::new();
    for (name, list) in &parsed.codes {
        let at = list.span().start;
        match CodeSet::compile(list.get_ref()) {
            Ok(set) => {
                c.code_index.insert(name.clone(), code_sets.len());
                code_sets.push(set);
                code_set_names.push(name.clone());
            }
            Err(e) => c.err(at, format!("code list `{name}`: {e}")),
        }
    }
    let mut allowed = Vec::new();
    for a in &meta.allowed_denial_categories {
        match DenialCategory::parse(a) {
            Some(d) => allowed.push(d),
            None => c.err(
                meta_at,
                format!("unknown denial category `{a}` in allowed_denial_categories"),
            ),
        }
    }
    if meta.certification_prefix.len() > MAX_CERTIFICATION_PREFIX {
        c.err(
            meta_at,
            format!(
                "certification_prefix is longer than {MAX_CERTIFICATION_PREFIX} bytes: with its 16 digits a number must fit HCR02 (50 characters)"
            ),
        );
    } else if !crate::eval::is_valid_certification_prefix(&meta.certification_prefix) {
        c.err(
            meta_at,
            "certification_prefix may hold only ASCII letters, digits, `-`, `_` and `.`, and must begin with a letter or a digit: certification numbers are read out over the phone, written into X12 elements and CSV cells".into(),
        );
    }
    let default = Outcome::parse(&meta.default_outcome);
    if !matches!(default, Some(Outcome::Approved) | Some(Outcome::Pended)) {
        c.err(meta_at, "default_outcome must be approved or pended".into());
    }
    if default == Some(Outcome::Pended) && meta.default_reason.is_none() {
        c.err(
            meta_at,
            "a pended default_outcome needs a default_reason (e.g. 0V)".into(),
        );
    }
    let unlisted_not_required = match meta.unlisted_services.as_str() {
        "not_required" => true,
        "require" => false,
        v => {
            c.err(
                meta_at,
                format!("unlisted_services `{v}` must be not_required or require"),
            );
            false
        }
    };
    let mut holidays = Vec::new();
    if let Some(cal) = &parsed.calendar {
        for h in &cal.get_ref().holidays {
            match parse_date(h) {
                Some(d) => holidays.push(d),
                None => c.err(
                    cal.span().start,
                    format!("holiday `{h}` is not a date (YYYY-MM-DD)"),
                ),
            }
        }
    }
    let mut plans = HashMap::default();
    for p in &parsed.plans {
        let p = p.get_ref();
        plans.insert(
            p.id.clone(),
            Plan {
                flags: p.flags.clone(),
                description: p.description.clone().unwrap_or_default(),
            },
        );
    }
    let validity = parsed.validity.as_ref().map(|v| {
        let at = v.span().start;
        let v = v.get_ref();
        if v.days <= 0 {
            c.err(at, "validity days must be positive".into());
        }
        Validity {
            id: v.id.clone().unwrap_or_else(|| "validity".into()),
            days: v.days,
            cap_at_coverage_end: v.cap_at_coverage_end,
        }
    });
    let appeals = parsed.appeals.as_ref().map(|a| {
        let at = a.span().start;
        let a = a.get_ref();
        let mut cats = Vec::new();
        for x in &a.imr_categories {
            match DenialCategory::parse(x) {
                Some(d) => cats.push(d),
                None => c.err(
                    at,
                    format!("unknown denial category `{x}` in imr_categories"),
                ),
            }
        }
        Appeals {
            id: a.id.clone(),
            imr_id: a.imr_id.clone(),
            internal: a.internal.clone(),
            imr: a.imr.clone(),
            imr_categories: cats,
        }
    });
    let mut clocks = Vec::new();
    for k in &parsed.clocks {
        let at = k.span().start;
        let src = k.get_ref();
        let when = c.when(at, &src.when);
        if let Some(due) = c.duration(at, &Some(src.due.clone())) {
            clocks.push(Clock {
                id: Arc::from(src.id.as_str()),
                trace_effect: Arc::from(format!("decision due {due} after receipt")),
                when,
                due,
                line: line_of(src_text(&c), at),
                description: src.description.clone().unwrap_or_default(),
            });
        }
    }
    let mut rules: Vec<Rule> = Vec::new();
    let mut seen: Vec<(Stage, &WhenSrc, &ThenSrc, String, usize)> = Vec::new();
    for r in &parsed.rules {
        let at = r.span().start;
        let line = line_of(src, at);
        let src_rule = r.get_ref();
        let Some(stage) = Stage::parse(&src_rule.stage) else {
            c.err(at, format!(
                "rule `{}`: unknown stage `{}` (validity, routing, requirement, timeliness, deemed, coverage, completeness, review, approval)",
                src_rule.id, src_rule.stage
            ));
            continue;
        };
        if let Some((_, _, _, other, other_line)) = seen.iter().find(|(s, w, t, _, _)| {
            *s == stage
                && **w == src_rule.when
                && t.outcome.is_some()
                && src_rule.then.outcome.is_some()
                && **t != src_rule.then
        }) {
            c.err(at, format!(
                "rule `{}` has the same conditions as rule `{other}` (line {other_line}) in stage {} but a different effect; the second can never fire (give them different conditions)",
                src_rule.id, stage.as_str()
            ));
        }
        seen.push((
            stage,
            &src_rule.when,
            &src_rule.then,
            src_rule.id.clone(),
            line,
        ));
        let when = c.when(at, &src_rule.when);
        let then = c.then(at, &src_rule.id, &src_rule.then, &allowed);
        if then.outcome.is_none() && !then.require && then.flags.is_empty() && !then.deemed {
            c.err(
                at,
                format!(
                    "rule `{}` has no effect (set outcome, require or flags)",
                    src_rule.id
                ),
            );
        }
        rules.push(Rule {
            trace_id: Arc::from(src_rule.id.as_str()),
            trace_effect: Arc::from(describe_effect(&then)),
            id: src_rule.id.clone(),
            stage,
            line,
            description: src_rule.description.clone().unwrap_or_default(),
            when,
            then,
        });
    }
    rules.sort_by_key(|r| r.stage);
    if !c.problems.is_empty() {
        return Err(PolicyError {
            file: file.into(),
            problems: c.problems,
        });
    }
    let sha256 = format!("{:x}", Sha256::digest(src.as_bytes()));
    Ok(Policy {
        id: meta.id,
        name: meta.name,
        description: meta.description.unwrap_or_default(),
        file: file.into(),
        sha256,
        default_outcome: default.unwrap_or(Outcome::Approved),
        default_reason: meta.default_reason,
        default_text: meta.default_text.unwrap_or_default(),
        unlisted_not_required,
        allowed_denials: allowed,
        certification_prefix: meta.certification_prefix,
        plans,
        default_plan: meta.default_plan,
        calendar: Calendar::new(holidays),
        validity,
        appeals,
        clocks,
        rules,
        code_sets,
        code_set_names,
    })
}

/// The trace text of an effect: outcome and reason, "authorization required", flags, text.
fn describe_effect(t: &Effect) -> String {
    let mut parts = Vec::new();
    if let Some(o) = t.outcome {
        let mut s = o.as_str().to_string();
        if let Some(r) = &t.reason {
            s.push_str(&format!(" ({r})"));
        }
        parts.push(s);
    }
    if t.require {
        parts.push("authorization required".into());
    }
    for fl in &t.flags {
        parts.push(format!("flag {fl}"));
    }
    let mut s = parts.join("; ");
    if !t.text.is_empty() {
        s.push_str(": ");
        s.push_str(&t.text);
    }
    s
}

fn src_text<'a>(c: &Compiler<'a>) -> &'a str {
    c.src
}

/// Loads and compiles a policy file.
pub fn load(path: &std::path::Path) -> Result<Policy, PolicyError> {
    let file = path.display().to_string();
    let src = std::fs::read_to_string(path).map_err(|e| PolicyError {
        file: file.clone(),
        problems: vec![PolicyProblem {
            line: 1,
            message: format!("cannot read the policy: {e}"),
        }],
    })?;
    compile(&src, &file)
}
