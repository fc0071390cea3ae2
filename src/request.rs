//! `AuthRequest`: one prior-authorization request, whatever its source (278 or faxed form).
//!
//! Policies read only this model, so a rule behaves the same for a 278 and for a fax row. The
//! 278 mapping follows the reference: UM01/UM03/UM04 and CL1 give the category, UM06, CL101 and
//! UM02 the urgency (§6.6), DTP 435/AAH/472 the dates, HI the diagnoses, SV1/SV2/SV3 the
//! procedures and units, PWK the attachments, MSG the justification, REF*BB the previous
//! certification and BHT04/BHT05 the submission time.

use crate::model::{Purpose, Transaction278};
use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use serde::Serialize;
use std::fmt;
use std::sync::Arc;

/// Where a request came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceKind {
    /// An X12 278 transaction.
    X12,
    /// A row of a fax-queue CSV export.
    Fax,
}

impl SourceKind {
    /// The name used in reports and the summary.
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::X12 => "x12",
            SourceKind::Fax => "fax",
        }
    }
}

impl fmt::Display for SourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The kind of service requested; drives which policy rules apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// Inpatient admission (hospital, maternity).
    Inpatient,
    /// Outpatient surgery, procedure, imaging.
    Outpatient,
    /// Office visit.
    OfficeVisit,
    /// Referral / specialty consultation.
    Referral,
    /// Second opinion.
    SecondOpinion,
    /// Home health care / home nursing.
    HomeHealth,
    /// Home infusion therapy.
    HomeInfusion,
    /// Durable medical equipment, prosthetics.
    Dme,
    /// Dialysis.
    Dialysis,
    /// Skilled nursing / extended care facility.
    Snf,
    /// Hospice.
    Hospice,
    /// Rehabilitation facility.
    Rehab,
    /// Transport / evacuation.
    Transport,
    /// Dental.
    Dental,
    /// Anything else.
    Other,
}

impl Category {
    /// Parses the fax `request_type` vocabulary.
    pub fn parse(s: &str) -> Option<Category> {
        Some(
            match s
                .trim()
                .to_ascii_lowercase()
                .replace([' ', '-'], "_")
                .as_str()
            {
                "inpatient" => Category::Inpatient,
                "outpatient" => Category::Outpatient,
                "office_visit" => Category::OfficeVisit,
                "referral" => Category::Referral,
                "second_opinion" => Category::SecondOpinion,
                "home_health" => Category::HomeHealth,
                "home_infusion" => Category::HomeInfusion,
                "dme" => Category::Dme,
                "dialysis" => Category::Dialysis,
                "snf" => Category::Snf,
                "hospice" => Category::Hospice,
                "rehab" => Category::Rehab,
                "transport" => Category::Transport,
                "dental" => Category::Dental,
                "other" => Category::Other,
                _ => return None,
            },
        )
    }
    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Inpatient => "inpatient",
            Category::Outpatient => "outpatient",
            Category::OfficeVisit => "office_visit",
            Category::Referral => "referral",
            Category::SecondOpinion => "second_opinion",
            Category::HomeHealth => "home_health",
            Category::HomeInfusion => "home_infusion",
            Category::Dme => "dme",
            Category::Dialysis => "dialysis",
            Category::Snf => "snf",
            Category::Hospice => "hospice",
            Category::Rehab => "rehab",
            Category::Transport => "transport",
            Category::Dental => "dental",
            Category::Other => "other",
        }
    }
    /// True for facility admissions (inpatient, SNF, hospice, rehab).
    pub fn is_admission(self) -> bool {
        matches!(
            self,
            Category::Inpatient | Category::Snf | Category::Hospice | Category::Rehab
        )
    }
}

/// How urgent the requester says the service is.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Urgency {
    /// Routine / elective (default).
    Routine,
    /// Urgent / expedited.
    Urgent,
    /// Emergent / emergency.
    Emergent,
}

impl Urgency {
    /// Parses the fax vocabulary.
    pub fn parse(s: &str) -> Option<Urgency> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "" | "routine" | "elective" => Urgency::Routine,
            "urgent" | "expedited" => Urgency::Urgent,
            "emergent" | "emergency" => Urgency::Emergent,
            _ => return None,
        })
    }
    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Urgency::Routine => "routine",
            Urgency::Urgent => "urgent",
            Urgency::Emergent => "emergent",
        }
    }
    /// True for urgent and emergent requests (the expedited clocks apply).
    pub fn is_expedited(self) -> bool {
        self != Urgency::Routine
    }
}

/// Type of delivery for maternity admissions (CIG-7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryKind {
    /// Vaginal delivery.
    Vaginal,
    /// Cesarean section.
    Cesarean,
}

/// Short text of a request: codes, ids, names, phone numbers (see [`crate::x12::Text`]); a
/// 278 request carried about twenty such values, and as `String`s about 4,400 instructions a
/// request went into the mapping.
pub use crate::x12::Text;

/// A provider named on a request.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ProviderRef {
    /// NPI (or other id) as sent.
    pub npi: Text,
    /// Name as sent.
    pub name: Text,
    /// Telephone.
    pub phone: Text,
    /// Fax.
    pub fax: Text,
}

/// Documents attached to (or promised by) the request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Attachments {
    /// Clinical or progress notes.
    pub clinical_notes: bool,
    /// Physician's signature (signed order or form).
    pub physician_signature: bool,
    /// Laboratory results.
    pub lab_results: bool,
    /// Radiology results.
    pub radiology_results: bool,
}

/// One requested service line.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ServiceRequest {
    /// Line number (1-based).
    pub line: u32,
    /// Procedure code (CPT/HCPCS/CDT), or revenue code when no procedure was sent.
    pub procedure: Text,
    /// Units, visits or days requested.
    pub units: Option<f64>,
    /// Service dates.
    pub from: Option<NaiveDate>,
    /// Last service date.
    pub to: Option<NaiveDate>,
}

/// Where in the source a request lives.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Provenance {
    /// x12 or fax.
    pub kind: SourceKind,
    /// The input file.
    pub file: Arc<str>,
    /// `ISA13/GS06/ST02 at byte N` or `row N`.
    pub reference: String,
    /// CSV row (fax) or byte offset of the ST (x12).
    pub position: u64,
}

/// A source-independent prior-authorization request.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuthRequest {
    /// Unique in a run: `<file stem>:<ISA13>:<GS06>:<ST02>` or `<file stem>:<fax_id>`.
    pub request_id: String,
    /// Where it came from.
    pub provenance: Provenance,
    /// Plan / IPA (fax column or roster).
    pub plan_id: Option<String>,
    /// Member id (2010C NM109 / fax member_id).
    pub member_id: Text,
    /// Member last name.
    pub member_last_name: Text,
    /// Member first name.
    pub member_first_name: Text,
    /// Member date of birth.
    pub member_dob: Option<NaiveDate>,
    /// Patient is a dependent (2000D) of the subscriber.
    pub dependent: bool,
    /// The certificate (group/policy) number when sent (REF 1L/6P/IG on 2010C).
    pub certificate_number: Text,
    /// Who asks.
    pub requester: ProviderRef,
    /// Who renders the service.
    pub servicing: Option<ProviderRef>,
    /// The facility (admissions).
    pub facility: Option<ProviderRef>,
    /// The attending physician.
    pub attending: Option<ProviderRef>,
    /// Kind of service.
    pub category: Category,
    /// UM02 certification type (`I` initial, `4` extension, `S` revision, `3` cancel…).
    pub certification_type: Text,
    /// UM03 service type code.
    pub service_type: Text,
    /// Place of service (or bill type for admissions).
    pub place_of_service: Text,
    /// All procedure codes, in line order.
    pub procedure_codes: Vec<Text>,
    /// All diagnosis codes (without decimal point), principal first.
    pub diagnosis_codes: Vec<Text>,
    /// Units/visits/days requested (sum over lines, or HSD/fax units).
    pub units: Option<f64>,
    /// First service (or admission) date.
    pub service_from: Option<NaiveDate>,
    /// Last service date.
    pub service_to: Option<NaiveDate>,
    /// Urgency.
    pub urgency: Urgency,
    /// Post-stabilization care after an emergency.
    pub post_stabilization: bool,
    /// Free text explaining urgency or a retro request (MSG / fax).
    pub justification: String,
    /// Attachments present.
    pub attachments: Attachments,
    /// Estimated cost in dollars (fax column, or sum of line charges).
    pub estimated_cost: Option<f64>,
    /// Previous certification number (REF*BB) for follow-ups and transfers.
    pub previous_certification: Option<Text>,
    /// Delivery type for maternity admissions.
    pub delivery: Option<DeliveryKind>,
    /// When the request was received (BHT04/05, fax received_at); clocks start here.
    pub submitted_at: NaiveDateTime,
    /// Requested service lines.
    pub lines: Vec<ServiceRequest>,
    /// Free-text notes (fax).
    pub notes: String,
}

impl AuthRequest {
    /// True when the service started before the request was submitted.
    pub fn is_retro(&self) -> bool {
        self.service_from
            .is_some_and(|d| d < self.submitted_at.date())
    }

    /// Days between the service start and the submission (0 when not retro).
    pub fn days_after_service(&self) -> i64 {
        self.service_from
            .map(|d| (self.submitted_at.date() - d).num_days().max(0))
            .unwrap_or(0)
    }

    /// `Last, First` as a report shows it.
    pub fn member_name(&self) -> String {
        match (
            self.member_last_name.is_empty(),
            self.member_first_name.is_empty(),
        ) {
            (false, false) => format!("{}, {}", self.member_last_name, self.member_first_name),
            (false, true) => self.member_last_name.to_string(),
            (true, false) => self.member_first_name.to_string(),
            (true, true) => String::new(),
        }
    }
}

/// The file stem used in request ids and output names.
pub fn file_stem(path: &str) -> String {
    file_stem_of(path).to_string()
}

/// [`file_stem`], borrowed.
fn file_stem_of(path: &str) -> &str {
    let name = path.rsplit(['/', '\\']).next().unwrap_or(path);
    match name.rsplit_once('.') {
        Some((stem, _)) if !stem.is_empty() => stem,
        _ => name,
    }
}

/// Text made of pieces, built in one allocation (a `format!` per request went through
/// `core::fmt` for what is concatenation).
fn concat(pieces: &[&str]) -> String {
    let mut s = String::with_capacity(pieces.iter().map(|p| p.len()).sum());
    for p in pieces {
        s.push_str(p);
    }
    s
}

/// Which PWK report types count as which attachment (X217 PWK01 list, reference §2.15).
fn attachment_kind(code: &str, a: &mut Attachments) {
    match code {
        "03" | "04" | "05" | "06" | "07" | "08" | "09" | "10" | "15" | "21" | "AS" | "DS"
        | "M1" | "NN" | "OB" | "OE" | "P5" | "PN" | "P4" | "CB" | "PZ" => a.clinical_notes = true,
        "LA" | "11" | "13" | "RT" => a.lab_results = true,
        "RR" | "RB" | "DG" => a.radiology_results = true,
        "B3" | "OD" | "PY" | "B2" | "CK" | "DB" => a.physician_signature = true,
        _ => {}
    }
}

/// CPT codes of vaginal deliveries (global, delivery only, postpartum; VBAC).
const VAGINAL: [&str; 6] = ["59400", "59409", "59410", "59610", "59612", "59614"];
/// CPT codes of cesarean deliveries (including after a failed VBAC).
const CESAREAN: [&str; 6] = ["59510", "59514", "59515", "59618", "59620", "59622"];

/// Maps a 278 request to an `AuthRequest`; None unless it is a request for review (BHT02 13).
pub fn from_278(
    t: &Transaction278<'_>,
    file: &Arc<str>,
    interchange: &str,
    group: &str,
    offset: u64,
) -> Option<AuthRequest> {
    // Only requests for review (BHT02 13) are decided; cancellations (01) and authority to
    // deduct (36) are read and passed over (PRODUCT.md).
    if t.purpose != Purpose::Request {
        return None;
    }
    let stem = file_stem_of(file);
    let request_id = concat(&[stem, ":", interchange, ":", group, ":", t.control_number]);
    let ev = t.events.first();
    let detail = ev.map(|e| &e.detail);
    let um = detail.and_then(|d| d.review.as_ref());
    let subscriber = t.subscriber.as_ref().and_then(|s| s.entity.as_ref());
    let patient = t.patient();
    let dependent = t
        .dependent
        .as_ref()
        .and_then(|d| d.entity.as_ref())
        .is_some();
    // The member id lives on the subscriber; names and birth date are the patient's.
    let member_id = subscriber.map(|s| Text::new(s.id)).unwrap_or_default();
    let certificate_number = subscriber
        .and_then(|s| {
            s.references
                .iter()
                .find(|r| matches!(r.qualifier, "1L" | "6P" | "IG" | "HJ"))
        })
        .map(|r| Text::new(r.value))
        .unwrap_or_default();
    let requester_e = t.requester.as_ref().and_then(|r| r.entity.as_ref());
    let provider_ref = |e: &crate::model::Entity<'_>| {
        let mut p = ProviderRef {
            npi: Text::new(e.id),
            name: join_name(e.last_or_org_name, e.first_name),
            ..ProviderRef::default()
        };
        for c in &e.contacts {
            for (q, n) in &c.numbers {
                match *q {
                    "TE" if p.phone.is_empty() => p.phone = Text::new(n),
                    "FX" if p.fax.is_empty() => p.fax = Text::new(n),
                    _ => {}
                }
            }
        }
        p
    };
    let requester = requester_e.map(provider_ref).unwrap_or_default();
    let ev_providers = detail.map(|d| d.providers.as_slice()).unwrap_or(&[]);
    let line_providers = ev
        .into_iter()
        .flat_map(|e| e.services.iter())
        .flat_map(|s| s.detail.providers.iter());
    let find = |codes: &[&str]| {
        ev_providers
            .iter()
            .chain(line_providers.clone())
            .find(|p| codes.contains(&p.entity_code))
            .map(provider_ref)
    };
    let servicing = find(&["SJ", "1T", "DK", "77", "QV", "G3"]);
    let facility = find(&["FA"]);
    let attending = find(&["71", "72", "AAJ"]);

    let category_code = um.map(|u| u.category).unwrap_or("");
    let service_type = Text::new(um.map(|u| u.service_type).unwrap_or(""));
    let place = Text::new(um.map(|u| u.facility_code).unwrap_or(""));
    let services = ev.map(|e| e.services.as_slice()).unwrap_or(&[]);
    let dental = services.iter().any(|s| s.dental.is_some());
    let infusion = services
        .iter()
        .any(|s| s.procedure().is_some_and(|p| p.qualifier == "IV"));
    let category = match (category_code, service_type.as_str()) {
        ("AR", "AG" | "54") => Category::Snf,
        ("AR", "45") => Category::Hospice,
        ("AR", "A9" | "BG") => Category::Rehab,
        ("AR", _) => Category::Inpatient,
        ("SC", _) => Category::Referral,
        _ if dental => Category::Dental,
        _ if infusion => Category::HomeInfusion,
        (_, "42" | "44") => Category::HomeHealth,
        (_, "12" | "18") => Category::Dme,
        (_, "76") => Category::Dialysis,
        (_, "56") => Category::Transport,
        (_, "35") => Category::Dental,
        (_, "45") => Category::Hospice,
        (_, "AG") => Category::Snf,
        (_, "1" | "3") if place == "11" => Category::OfficeVisit,
        _ => Category::Outpatient,
    };

    let cl1 = ev.and_then(|e| e.institutional.as_ref());
    let level = um.map(|u| u.level_of_service).unwrap_or("");
    let cert_type = Text::new(um.map(|u| u.certification_type).unwrap_or(""));
    let mut urgency = match level {
        "03" => Urgency::Emergent,
        "U" => Urgency::Urgent,
        _ => Urgency::Routine,
    };
    if category_code == "AR" {
        match cl1.map(|c| c.admission_type) {
            Some("1") | Some("5") => urgency = urgency.max(Urgency::Emergent),
            Some("2") => urgency = urgency.max(Urgency::Urgent),
            _ => {}
        }
    }
    if cert_type == "1" {
        urgency = urgency.max(Urgency::Urgent);
    }
    let previous_certification = detail.and_then(|d| d.reference("BB")).map(Text::new);
    // A post-stabilization request is the follow-up of an emergency: emergency level of service
    // (or emergency admission type) on an extension/revision of an earlier certification.
    let post_stabilization = urgency == Urgency::Emergent
        && (matches!(cert_type.as_str(), "4" | "S") || previous_certification.is_some())
        && category_code == "AR";

    let event_dates = detail
        .and_then(|d| d.date("435").or_else(|| d.date("AAH")))
        .or_else(|| services.iter().find_map(|s| s.detail.date("472")));
    let mut lines = Vec::new();
    let mut procedure_codes = Vec::new();
    let mut charges = 0.0;
    let mut any_charge = false;
    let mut units_sum = 0.0;
    let mut any_units = false;
    for (i, s) in services.iter().enumerate() {
        // Revenue codes (SV201) are not procedure codes: a line with only a revenue code has
        // no procedure, which the policy's code checks see.
        let code = s
            .procedure()
            .map(|p| Text::new(p.code))
            .filter(|c| !c.is_empty())
            .unwrap_or_default();
        if !code.is_empty() {
            procedure_codes.push(code.clone());
        }
        let charge = s
            .professional
            .as_ref()
            .and_then(|p| p.charge)
            .or_else(|| s.institutional.as_ref().and_then(|p| p.charge))
            .or_else(|| s.dental.as_ref().and_then(|p| p.charge));
        if let Some(c) = charge {
            charges += c;
            any_charge = true;
        }
        let units = s.quantity();
        if let Some(u) = units {
            units_sum += u;
            any_units = true;
        }
        let dates = s.detail.date("472").or(event_dates);
        lines.push(ServiceRequest {
            line: (i + 1) as u32,
            procedure: code,
            units,
            from: dates.map(|d| d.start()),
            to: dates.map(|d| d.end()),
        });
    }
    let event_units = detail
        .and_then(|d| d.delivery.first())
        .and_then(|h| h.quantity);
    let units = if category.is_admission() {
        event_units.or(any_units.then_some(units_sum))
    } else if any_units {
        Some(units_sum)
    } else {
        event_units
    };
    let delivery = if procedure_codes
        .iter()
        .any(|c| VAGINAL.contains(&c.as_str()))
    {
        Some(DeliveryKind::Vaginal)
    } else if procedure_codes
        .iter()
        .any(|c| CESAREAN.contains(&c.as_str()))
    {
        Some(DeliveryKind::Cesarean)
    } else {
        None
    };
    let mut attachments = Attachments::default();
    for p in detail
        .into_iter()
        .flat_map(|d| d.attachments.iter())
        .chain(services.iter().flat_map(|s| s.detail.attachments.iter()))
    {
        attachment_kind(p.report_type, &mut attachments);
    }
    let justification = detail.map(|d| d.messages.join(" ")).unwrap_or_default();
    let date = t.bht.date.unwrap_or(NaiveDate::MIN);
    let time = parse_tm(t.bht.time);
    let service_from = event_dates.map(|d| d.start());
    let service_to = event_dates.map(|d| d.end()).or_else(|| {
        // An admission with a day count: the last day is the admission plus the days.
        match (category.is_admission(), service_from, units) {
            (true, Some(f), Some(u)) if u >= 1.0 => Some(f + chrono::Duration::days(u as i64)),
            _ => None,
        }
    });
    Some(AuthRequest {
        request_id,
        provenance: Provenance {
            kind: SourceKind::X12,
            file: Arc::clone(file),
            reference: concat(&[
                "ISA13 ",
                interchange,
                " GS06 ",
                group,
                " ST02 ",
                t.control_number,
                " at byte ",
                itoa::Buffer::new().format(offset),
            ]),
            position: offset,
        },
        plan_id: None,
        member_id,
        member_last_name: patient
            .map(|p| Text::new(p.last_or_org_name))
            .unwrap_or_default(),
        member_first_name: patient.map(|p| Text::new(p.first_name)).unwrap_or_default(),
        member_dob: patient.and_then(|p| p.birth_date),
        dependent,
        certificate_number,
        requester,
        servicing,
        facility,
        attending,
        category,
        certification_type: cert_type,
        service_type,
        place_of_service: place,
        procedure_codes,
        diagnosis_codes: ev
            .map(|e| e.diagnoses.iter().map(|d| Text::new(d.code)).collect())
            .unwrap_or_default(),
        units,
        service_from,
        service_to,
        urgency,
        post_stabilization,
        justification,
        attachments,
        estimated_cost: any_charge.then_some(charges),
        previous_certification,
        delivery,
        submitted_at: date.and_time(time),
        lines,
        notes: String::new(),
    })
}

fn join_name(last: &str, first: &str) -> Text {
    match (last.is_empty(), first.is_empty()) {
        (false, false) => {
            let mut name = Text::with_capacity(last.len() + 2 + first.len());
            name.push_str(last);
            name.push_str(", ");
            name.push_str(first);
            name
        }
        (false, true) => Text::new(last),
        (true, false) => Text::new(first),
        (true, true) => Text::default(),
    }
}

fn parse_tm(s: &str) -> NaiveTime {
    let num = |r: std::ops::Range<usize>| s.get(r).and_then(|v| v.parse::<u32>().ok()).unwrap_or(0);
    NaiveTime::from_hms_opt(
        num(0..2),
        num(2..4),
        if s.len() >= 6 { num(4..6) } else { 0 },
    )
    .unwrap_or(NaiveTime::MIN)
}
