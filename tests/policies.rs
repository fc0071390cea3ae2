#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    missing_docs
)]
//! One test (at least) per row of ../shared/POLICIES.md, named after its id: a real request
//! (a fax row read by the real fax reader, or a 278 from `samples/x12`) decided by the real
//! sample policy and rosters, asserting outcome, codes and clock.

use chrono::{NaiveDate, NaiveDateTime};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use umbatch::eval::{Decision, Evaluator};
use umbatch::fax::FaxReader;
use umbatch::intake::{read_file, Intake};
use umbatch::policy::{DenialCategory, Outcome};
use umbatch::request::AuthRequest;
use umbatch::roster::{Coverage, Eligibility, Network, Product, Provider, Providers};

const AS_OF: &str = "2026-11-20 17:00";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn dt(s: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap()
}

fn rosters() -> (Eligibility, Providers) {
    umbatch::roster::load(
        &root().join("samples/reference/eligibility.csv"),
        &root().join("samples/reference/providers.csv"),
    )
    .unwrap()
}

/// The evaluator for a sample policy at an as-of time, built once per test binary: decisions
/// borrow their texts from it, so it lives as long as the tests do.
fn evaluator_at(policy: &str, as_of: &str) -> &'static Evaluator {
    type Cache = Mutex<HashMap<(String, String), &'static Evaluator>>;
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let mut cache = CACHE.get_or_init(Cache::default).lock().unwrap();
    cache
        .entry((policy.to_string(), as_of.to_string()))
        .or_insert_with(|| {
            let p = umbatch::policy::load(&root().join(format!("samples/policies/{policy}.toml")))
                .unwrap();
            let (e, pr) = rosters();
            let ev = Evaluator::new(Arc::new(p), Arc::new(e), Arc::new(pr), dt(as_of));
            Box::leak(Box::new(ev))
        })
}

fn evaluator(policy: &str) -> &'static Evaluator {
    evaluator_at(policy, AS_OF)
}

/// A member of the sample roster matching `pred`, covered on 2026-12-31.
fn member(pred: impl Fn(&Coverage) -> bool) -> String {
    let (e, _) = rosters();
    let mut v: Vec<&Coverage> = e.all().filter(|c| pred(c)).collect();
    v.sort_by(|a, b| a.member_id.cmp(&b.member_id));
    v.first()
        .expect("a roster member matching the test")
        .member_id
        .clone()
}

fn active(c: &Coverage) -> bool {
    c.coverage_end.is_none()
}

fn coverage(id: &str) -> Coverage {
    let (e, _) = rosters();
    e.member(id)[0].clone()
}

/// A provider of the sample roster matching `pred`.
fn npi(pred: impl Fn(&Provider) -> bool) -> String {
    let (_, p) = rosters();
    let mut v: Vec<&Provider> = p.all().filter(|x| pred(x)).collect();
    v.sort_by(|a, b| a.npi.cmp(&b.npi));
    v.first()
        .expect("a roster provider matching the test")
        .npi
        .clone()
}

fn in_net(spec: &'static str) -> impl Fn(&Provider) -> bool {
    move |p| {
        p.specialty == spec
            && p.network == Network::In
            && p.plan_ids.is_empty()
            && p.contract_end.is_none()
    }
}

fn out_net(spec: &'static str) -> impl Fn(&Provider) -> bool {
    move |p| p.specialty == spec && p.network == Network::Out
}

/// One fax row with sensible defaults; fields are CSV cells.
#[derive(Clone)]
struct Fax {
    cells: Vec<(&'static str, String)>,
}

impl Fax {
    fn new(member: &str, request_type: &str, procedures: &str, from: &str) -> Fax {
        let mut f = Fax { cells: Vec::new() };
        f.set("fax_id", "T-1")
            .set("received_at", "2026-11-20 09:00")
            .set("member_id", member)
            .set("member_last_name", "TESTER")
            .set("member_first_name", "PAT")
            .set("member_dob", "1970-01-01")
            .set("requesting_npi", &npi(in_net("PCP")))
            .set("requesting_name", "TEST CLINIC")
            .set("requesting_phone", "4085550100")
            .set("requesting_fax", "4085550101")
            .set("request_type", request_type)
            .set("procedure_codes", procedures)
            .set("diagnosis_codes", "M25.561")
            .set("service_from", from)
            .set("clinical_notes_attached", "Y")
            .set("physician_signature", "Y")
            .set("lab_results_attached", "Y")
            .set("radiology_results_attached", "Y");
        f
    }
    fn set(&mut self, k: &'static str, v: &str) -> &mut Fax {
        self.cells.retain(|(x, _)| *x != k);
        self.cells.push((k, v.to_string()));
        self
    }
    fn request(&self) -> AuthRequest {
        let header: Vec<&str> = self.cells.iter().map(|(k, _)| *k).collect();
        let row: Vec<String> = self
            .cells
            .iter()
            .map(|(_, v)| format!("\"{}\"", v.replace('"', "\"\"")))
            .collect();
        let text = format!("{}\n{}\n", header.join(","), row.join(","));
        let mut r = FaxReader::new(text.as_bytes(), Arc::from("tests/fax.csv")).unwrap();
        r.next_row().unwrap().unwrap()
    }
}

fn decide(policy: &str, f: &Fax) -> Decision<'static> {
    evaluator(policy).decide(&f.request())
}

/// The requests of a sample 278 file, by BHT03 reference order.
fn sample_278(file: &str) -> Vec<AuthRequest> {
    let (_, items) = read_file(&root().join("samples/x12").join(file), false).unwrap();
    items
        .into_iter()
        .map(|i| match i {
            Intake::Request(r) => *r,
            other => panic!("unexpected {other:?}"),
        })
        .collect()
}

fn has_flag(d: &Decision, f: &str) -> bool {
    d.flags.contains(&f)
}

// ---------------- IMG ----------------

#[test]
fn img_1_inpatient_admissions_need_precertification() {
    let m = member(|c| active(c) && c.plan_id == "IMG-GLOBAL");
    let mut f = Fax::new(&m, "inpatient", "27447", "2026-12-08");
    f.set("facility_npi", &npi(in_net("HOSPITAL")))
        .set("facility_name", "MERCY GENERAL")
        .set("service_to", "2026-12-11");
    let d = decide("img", &f);
    assert!(d.fired("IMG-1"), "{:?}", d.rules_fired);
    assert_ne!(d.outcome, Outcome::NotRequired);
    // Delivery is a hospitalization too.
    let mut m2 = Fax::new(&m, "inpatient", "59400", "2026-12-03");
    m2.set("delivery", "vaginal");
    let d2 = decide("img", &m2);
    assert!(d2.fired("IMG-1"));
    assert_ne!(d2.outcome, Outcome::NotRequired);
}

#[test]
fn img_2_outpatient_surgery_or_procedure_needs_precertification() {
    let m = member(|c| active(c) && c.plan_id == "IMG-GLOBAL");
    let d = decide("img", &Fax::new(&m, "outpatient", "29881", "2026-12-10"));
    assert!(d.fired("IMG-2"));
    assert_eq!(d.outcome, Outcome::Pended, "IMG reviews medical necessity");
    assert_eq!(d.reason_code, Some("0V"));
    // A service on none of IMG's lists needs nothing.
    let lab = decide("img", &Fax::new(&m, "outpatient", "80053", "2026-12-10"));
    assert_eq!(lab.outcome, Outcome::NotRequired);
    assert_eq!(lab.hcr01, Some("NA"));
    assert_eq!(lab.reason_code, Some("0H"));
}

#[test]
fn img_3_emergency_admission_called_after_48_hours_is_late() {
    let m = member(|c| active(c) && c.plan_id == "IMG-GLOBAL");
    let mut f = Fax::new(&m, "inpatient", "99223", "2026-11-17");
    f.set("urgency", "emergent")
        .set("urgency_justification", "admitted through the ED")
        .set("facility_name", "MERCY")
        .set("received_at", "2026-11-20 09:00");
    let d = decide("img", &f);
    assert!(d.fired("IMG-3"));
    assert_eq!(d.outcome, Outcome::Pended);
    assert_eq!(d.reason_code, Some("17"), "time limits not met");
    assert!(has_flag(&d, "late_notification"));
    // Called within 48 hours: not late.
    f.set("service_from", "2026-11-19");
    let ok = decide("img", &f);
    assert!(!ok.fired("IMG-3"));
    assert!(!has_flag(&ok, "late_notification"));
}

#[test]
fn img_4_extended_care_home_nursing_infusion_dme_limbs_evacuation_need_precertification() {
    let m = member(|c| active(c) && c.plan_id == "IMG-GLOBAL");
    for (t, code) in [
        ("snf", "99304"),
        ("home_health", "G0299"),
        ("home_infusion", "J1100"),
        ("dme", "E0601"),
        ("transport", "A0428"),
    ] {
        let d = decide("img", &Fax::new(&m, t, code, "2026-12-01"));
        assert!(d.fired("IMG-4"), "{t}: {:?}", d.rules_fired);
        assert_ne!(d.outcome, Outcome::NotRequired, "{t}");
    }
    // Artificial limbs whatever the request type says.
    let d = decide("img", &Fax::new(&m, "other", "L5301", "2026-12-01"));
    assert!(d.fired("IMG-4"));
}

#[test]
fn img_5_missing_required_information_pends_with_the_exact_list() {
    let m = member(|c| active(c) && c.plan_id == "IMG-GLOBAL");
    let mut f = Fax::new(&m, "outpatient", "29881", "2026-12-10");
    f.set("requesting_fax", "")
        .set("clinical_notes_attached", "N");
    let d = decide("img", &f);
    assert!(d.fired("IMG-5"));
    assert_eq!(d.outcome, Outcome::Pended);
    assert_eq!(d.reason_code, Some("0U"));
    assert_eq!(
        d.missing_items,
        vec!["attending_fax", "clinical_information"]
    );
    assert!(
        d.reason_text
            .ends_with(" (missing: attending_fax, clinical_information)"),
        "{}",
        d.reason_text
    );
    // Hospital name/phone/fax for hospitalizations.
    let mut h = Fax::new(&m, "inpatient", "27447", "2026-12-10");
    h.set("facility_name", "MERCY GENERAL");
    let dh = decide("img", &h);
    assert_eq!(dh.missing_items, vec!["facility_phone", "facility_fax"]);
}

#[test]
fn img_5_a_278_whose_subscriber_loop_has_no_id_is_rejected_with_aaa() {
    let text = std::fs::read_to_string(root().join("samples/x12/valley-clinic-batch.x12")).unwrap();
    let first_st = text.split("ST*278*0002").next().unwrap();
    let body = first_st
        .replace(
            "NM1*IL*1*ALVAREZ*ROSA****MI*MBR000017~",
            "NM1*IL*1*ALVAREZ*ROSA~",
        )
        .replace("GE*4*101", "GE*1*101");
    let body = format!("{body}GE*1*101~\nIEA*1*000000101~\n");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("no-member-id.x12");
    std::fs::write(&path, body).unwrap();
    let (_, items) = read_file(&path, false).unwrap();
    let Intake::Request(r) = &items[0] else {
        panic!("{items:?}")
    };
    let d = evaluator("img").decide(r);
    assert_eq!(d.outcome, Outcome::Rejected);
    assert!(d.fired("IMG-5"));
    let rej = d.rejection.unwrap();
    assert_eq!(
        (rej.loop_id, rej.reason, rej.follow_up),
        ("2010C", "72", "C")
    );
    assert_eq!(d.hcr01, None, "a rejection has no HCR");
}

#[test]
fn img_6_non_urgent_requests_are_answered_within_2_business_days() {
    let m = member(|c| active(c) && c.plan_id == "IMG-GLOBAL");
    // Wednesday before Thanksgiving: Thu/Fri are policy holidays, then the weekend.
    let mut f = Fax::new(&m, "outpatient", "29881", "2026-12-10");
    f.set("received_at", "2026-11-25 10:30");
    let d = decide("img", &f);
    assert_eq!(d.clock_id, Some("IMG-6"));
    assert_eq!(d.due_by, Some(dt("2026-12-01 10:30")));
    // Urgent requests take the 72-hour clock instead.
    f.set("urgency", "urgent");
    let u = decide("img", &f);
    assert_eq!(u.due_by, Some(dt("2026-11-28 10:30")));
}

// ---------------- IMS ----------------

fn ims_member() -> String {
    member(|c| active(c) && c.plan_id == "IMS-IPA")
}

#[test]
fn ims_1_service_without_prior_authorization_is_denied_hold_harmless() {
    let mut f = Fax::new(&ims_member(), "outpatient", "97110", "2026-11-10");
    f.set("service_to", "2026-11-19").set("units", "8");
    let d = decide("ims", &f);
    assert!(d.fired("IMS-1"));
    assert_eq!(d.outcome, Outcome::Denied);
    assert_eq!(d.hcr01, Some("A3"));
    assert_eq!(d.reason_code, Some("0N"));
    // IMS-6 allows no administrative category: the IPA's non-payment is a non-covered benefit.
    assert_eq!(d.denial_category, Some(DenialCategory::Coverage));
    assert!(has_flag(&d, "hold_harmless"));
    assert!(d.retro);
}

#[test]
fn ims_2_member_not_eligible_on_the_date_of_service_is_never_approved() {
    let ended = member(|c| {
        c.plan_id == "IMS-IPA" && c.coverage_end == NaiveDate::from_ymd_opt(2026, 6, 30)
    });
    let d = decide(
        "ims",
        &Fax::new(&ended, "outpatient", "73721", "2026-12-03"),
    );
    assert_eq!(d.outcome, Outcome::Rejected);
    assert!(d.fired("IMS-2"));
    assert_eq!(d.rejection.as_ref().unwrap().reason, "95");
    assert_eq!(d.rejection.as_ref().unwrap().loop_id, "2010C");
    let unknown = decide(
        "ims",
        &Fax::new("NOPE0001", "outpatient", "73721", "2026-12-03"),
    );
    assert_eq!(unknown.outcome, Outcome::Rejected);
    assert_eq!(unknown.rejection.as_ref().unwrap().reason, "75");
    // Coverage ending mid-window: a service after the end date is not eligible either.
    let ending = member(|c| {
        c.plan_id == "IMS-IPA" && c.coverage_end == NaiveDate::from_ymd_opt(2026, 12, 15)
    });
    let after = decide(
        "ims",
        &Fax::new(&ending, "outpatient", "73721", "2026-12-20"),
    );
    assert_eq!(after.outcome, Outcome::Rejected);
}

#[test]
fn ims_3_authorizations_are_valid_90_days_capped_at_coverage_end() {
    let d = decide(
        "ims",
        &Fax::new(&ims_member(), "outpatient", "73721", "2026-12-03"),
    );
    assert_eq!(d.outcome, Outcome::Approved);
    assert!(d.fired("IMS-3"));
    assert_eq!(d.valid_from, NaiveDate::from_ymd_opt(2026, 12, 3));
    assert_eq!(d.valid_to, NaiveDate::from_ymd_opt(2027, 3, 3));
    let ending = member(|c| {
        c.plan_id == "IMS-IPA" && c.coverage_end == NaiveDate::from_ymd_opt(2026, 12, 15)
    });
    let capped = decide(
        "ims",
        &Fax::new(&ending, "outpatient", "73721", "2026-12-03"),
    );
    assert_eq!(capped.valid_to, NaiveDate::from_ymd_opt(2026, 12, 15));
}

#[test]
fn ims_4_post_stabilization_unanswered_for_an_hour_is_deemed_approved() {
    let mut f = Fax::new(&ims_member(), "inpatient", "99223", "2026-11-20");
    f.set("urgency", "emergent")
        .set("post_stabilization", "Y")
        .set("urgency_justification", "stabilized in the ED")
        .set("received_at", "2026-11-20 15:30");
    let d = evaluator_at("ims", "2026-11-20 16:31").decide(&f.request());
    assert!(d.fired("IMS-4"));
    assert_eq!(d.outcome, Outcome::Approved);
    assert!(d.deemed);
    assert!(has_flag(&d, "deemed_approved"));
    // Exactly one hour later is not yet "no answer within 1 hour".
    let early = evaluator_at("ims", "2026-11-20 16:30").decide(&f.request());
    assert!(!early.deemed);
    assert!(!early.fired("IMS-4"));
}

#[test]
fn ims_5_inpatient_notification_later_than_24_hours_is_flagged() {
    let mut f = Fax::new(&ims_member(), "inpatient", "99223", "2026-11-18");
    f.set("urgency", "urgent")
        .set("urgency_justification", "admitted for sepsis");
    let d = decide("ims", &f);
    assert!(d.fired("IMS-5"));
    assert!(has_flag(&d, "late_notification"));
    f.set("service_from", "2026-11-20");
    assert!(!has_flag(&decide("ims", &f), "late_notification"));
}

#[test]
fn ims_6_automatic_denials_outside_allowed_categories_are_refused_at_load() {
    let src = std::fs::read_to_string(root().join("samples/policies/ims.toml")).unwrap();
    let bad = format!(
        "{src}\n[[rules]]\nid = \"BAD-EXP\"\nstage = \"coverage\"\nwhen = {{ procedures_in = \"experimental\" }}\nthen = {{ outcome = \"denied\", reason = \"0T\", denial_category = \"experimental\" }}\n"
    );
    let err = umbatch::policy::compile(&bad, "ims-bad.toml").unwrap_err();
    let line = bad.lines().position(|l| l.contains("BAD-EXP")).unwrap(); // 0-based line of `id`
    assert_eq!(err.problems.len(), 1, "{err}");
    assert_eq!(err.problems[0].line, line, "{err}");
    let msg = err.to_string();
    assert!(msg.starts_with(&format!("ims-bad.toml:{line}:")), "{msg}");
    assert!(
        msg.contains("automatic denial in category `experimental` is not allowed"),
        "{msg}"
    );
    // The shipped policy: medical appropriateness pends for review instead.
    let d = decide(
        "ims",
        &Fax::new(&ims_member(), "outpatient", "0042T", "2026-12-02"),
    );
    assert_eq!(d.outcome, Outcome::Pended);
    assert_eq!(d.reason_code, Some("0V"));
    assert!(d.fired("IMS-6"));
}

// ---------------- Key Medical Group ----------------

fn kmg_member() -> String {
    member(|c| active(c) && c.plan_id == "KMG-HMO")
}

#[test]
fn kmg_1_missing_or_malformed_codes_are_rejected() {
    let mut f = Fax::new(&kmg_member(), "outpatient", "7372", "2026-12-03");
    let d = decide("keymg", &f);
    assert_eq!(d.outcome, Outcome::Rejected);
    assert!(d.fired("KMG-1"));
    assert_eq!(d.rejection.as_ref().unwrap().reason, "AG");
    f.set("procedure_codes", "73721")
        .set("diagnosis_codes", "25561");
    let dx = decide("keymg", &f);
    assert_eq!(dx.rejection.as_ref().unwrap().reason, "AF");
    assert_eq!(dx.rejection.as_ref().unwrap().loop_id, "2000E");
}

#[test]
fn kmg_2_inpatient_and_most_outpatient_services_require_authorization() {
    let m = kmg_member();
    let d = decide("keymg", &Fax::new(&m, "outpatient", "73721", "2026-12-03"));
    assert!(d.fired("KMG-2"));
    assert_ne!(d.outcome, Outcome::NotRequired);
    let lab = decide(
        "keymg",
        &Fax::new(&m, "outpatient", "80053;85025", "2026-12-03"),
    );
    assert_eq!(lab.outcome, Outcome::NotRequired);
    assert!(lab.fired("KMG-2"));
}

#[test]
fn kmg_3_initial_consultation_with_an_in_panel_provider_is_approved() {
    let mut f = Fax::new(&kmg_member(), "referral", "99243", "2026-12-01");
    f.set("servicing_npi", &npi(in_net("NEUROLOGY")))
        .set("clinical_notes_attached", "N")
        .set("physician_signature", "N");
    let d = decide("keymg", &f);
    assert!(d.fired("KMG-3"), "{:?}", d.rules_fired);
    assert_eq!(d.outcome, Outcome::Approved);
    assert_eq!(d.hcr01, Some("A1"));
    assert!(d.certification_number.is_some());
}

#[test]
fn kmg_4_out_of_network_provider_is_not_auto_approved() {
    // The sample 278 (valley-clinic-batch, ST02 0003): consult with an out-of-network ENT.
    let reqs = sample_278("valley-clinic-batch.x12");
    let d = evaluator("keymg").decide(&reqs[2]);
    assert!(d.fired("KMG-4"));
    assert!(!d.fired("KMG-3"));
    assert_eq!(d.outcome, Outcome::Pended);
    assert_eq!(d.reason_code, Some("0V"));
    // Off-contract (contract ended) is treated the same way.
    let mut f = Fax::new(&kmg_member(), "referral", "99243", "2026-12-01");
    f.set("servicing_npi", &npi(|p| p.contract_end.is_some()));
    assert_eq!(decide("keymg", &f).outcome, Outcome::Pended);
}

#[test]
fn kmg_5_missing_attachments_pend_with_the_missing_list() {
    let mut f = Fax::new(&kmg_member(), "outpatient", "45378", "2026-12-03");
    f.set("servicing_npi", &npi(in_net("GASTROENTEROLOGY")))
        .set("clinical_notes_attached", "N")
        .set("physician_signature", "N");
    let d = decide("keymg", &f);
    assert!(d.fired("KMG-5"));
    assert_eq!(d.outcome, Outcome::Pended);
    assert_eq!(d.reason_code, Some("0U"));
    assert_eq!(
        d.missing_items,
        vec!["clinical_notes", "physician_signature"]
    );
    f.set("clinical_notes_attached", "Y")
        .set("physician_signature", "Y")
        .set("lab_results_attached", "N");
    assert_eq!(decide("keymg", &f).missing_items, vec!["lab_results"]);
}

#[test]
fn kmg_6_routine_in_5_business_days_retro_in_30_business_days() {
    let mut f = Fax::new(&kmg_member(), "outpatient", "73721", "2026-12-03");
    f.set("received_at", "2026-11-20 09:00");
    let d = decide("keymg", &f);
    assert_eq!(d.clock_id, Some("KMG-6"));
    // Fri 11/20 + 5 business days: Mon 23, Tue 24, Wed 25, (Thu 26, Fri 27 holidays), Mon 30, Tue 1.
    assert_eq!(d.due_by, Some(dt("2026-12-01 09:00")));
    f.set("service_from", "2026-11-10")
        .set("urgency", "urgent")
        .set("urgency_justification", "acute");
    let r = decide("keymg", &f);
    assert_eq!(r.clock_id, Some("KMG-6"));
    // 30 business days skipping Thanksgiving (2), Christmas and New Year's Day.
    assert_eq!(r.due_by, Some(dt("2027-01-07 09:00")));
}

#[test]
fn kmg_7_out_of_area_second_opinion_is_routed_to_the_health_plan() {
    let mut f = Fax::new(&kmg_member(), "second_opinion", "99244", "2026-12-04");
    f.set("servicing_npi", &npi(out_net("CARDIOLOGY")));
    let d = decide("keymg", &f);
    assert!(d.fired("KMG-7"));
    assert_eq!(d.outcome, Outcome::ContactPayer);
    assert_eq!(d.hcr01, Some("CT"));
    f.set("servicing_npi", "9999999999");
    assert_eq!(decide("keymg", &f).outcome, Outcome::ContactPayer);
}

#[test]
fn kmg_8_direct_access_to_in_panel_obgyn_for_evaluation_and_management() {
    let mut f = Fax::new(&kmg_member(), "outpatient", "99214", "2026-11-24");
    f.set("servicing_npi", &npi(in_net("OBGYN")));
    let d = decide("keymg", &f);
    assert!(d.fired("KMG-8"));
    assert_eq!(d.outcome, Outcome::NotRequired);
    assert_eq!(d.reason_code, Some("0H"));
    // An out-of-panel OB/GYN has no direct access.
    f.set("servicing_npi", &npi(out_net("OBGYN")));
    assert_ne!(decide("keymg", &f).outcome, Outcome::NotRequired);
}

#[test]
fn kmg_9_obgyn_up_to_500_dollars_without_authorization() {
    let mut f = Fax::new(&kmg_member(), "outpatient", "58558", "2026-12-07");
    f.set("servicing_npi", &npi(in_net("OBGYN")))
        .set("estimated_cost", "420");
    let d = decide("keymg", &f);
    assert!(d.fired("KMG-9"));
    assert_eq!(d.outcome, Outcome::NotRequired);
    f.set("estimated_cost", "$7,200.00")
        .set("procedure_codes", "58571");
    let over = decide("keymg", &f);
    assert!(over.fired("KMG-9"));
    assert!(has_flag(&over, "obgyn_over_500"));
    assert_ne!(
        over.outcome,
        Outcome::NotRequired,
        "over 500 dollars: authorization rules apply"
    );
}

#[test]
fn kmg_10_retro_without_urgency_is_denied() {
    let mut f = Fax::new(&kmg_member(), "outpatient", "97110", "2026-11-10");
    f.set("servicing_npi", &npi(in_net("PHYSICAL THERAPY")));
    let d = decide("keymg", &f);
    assert!(d.fired("KMG-10"));
    assert_eq!(d.outcome, Outcome::Denied);
    assert_eq!(d.denial_category, Some(DenialCategory::Administrative));
    let rr = d.retro_report.as_ref().expect("in the retro report");
    assert_eq!(rr.days_after_service, 10);
    assert!(!rr.urgency_indicated);
    assert_eq!(rr.missing, "urgency indication; urgency justification");
}

#[test]
fn kmg_10_retro_with_urgency_but_no_justification_is_pended() {
    let mut f = Fax::new(&kmg_member(), "outpatient", "70553", "2026-11-12");
    f.set("servicing_npi", &npi(in_net("RADIOLOGY")))
        .set("urgency", "urgent");
    let d = decide("keymg", &f);
    assert!(d.fired("KMG-10"));
    assert_eq!(d.outcome, Outcome::Pended);
    assert_eq!(d.reason_code, Some("0U"));
    let rr = d.retro_report.as_ref().expect("in the retro report");
    assert!(rr.urgency_indicated);
    assert_eq!(rr.missing, "urgency justification");
    // With the justification it is neither pended by KMG-10 nor in the report.
    f.set(
        "urgency_justification",
        "progressive weakness, imaging done the same day",
    );
    let ok = decide("keymg", &f);
    assert!(!ok.fired("KMG-10"));
    assert!(ok.retro_report.is_none());
}

#[test]
fn kmg_11_office_visits_with_pcp_or_obgyn_need_no_authorization() {
    let m = kmg_member();
    let pcp = coverage(&m).pcp_npi;
    let mut f = Fax::new(&m, "office_visit", "99214", "2026-11-25");
    f.set("servicing_npi", &pcp);
    let d = decide("keymg", &f);
    assert!(d.fired("KMG-11"));
    assert_eq!(d.outcome, Outcome::NotRequired);
    f.set("servicing_npi", &npi(in_net("OBGYN")))
        .set("procedure_codes", "99385");
    assert_eq!(decide("keymg", &f).outcome, Outcome::NotRequired);
    f.set("servicing_npi", &npi(in_net("DERMATOLOGY")))
        .set("procedure_codes", "99214");
    let other = decide("keymg", &f);
    assert!(!other.fired("KMG-11"));
    assert_ne!(other.outcome, Outcome::NotRequired);
}

// ---------------- California IMR ----------------

#[test]
fn imr_1_only_medical_necessity_and_experimental_denials_are_imr_eligible() {
    let mut f = Fax::new(&kmg_member(), "outpatient", "0042T", "2026-12-02");
    f.set("servicing_npi", &npi(in_net("RADIOLOGY")));
    let exp = decide("keymg", &f);
    assert_eq!(exp.outcome, Outcome::Denied);
    assert_eq!(exp.denial_category, Some(DenialCategory::Experimental));
    assert_eq!(exp.imr_eligible, Some(true));
    assert!(exp.fired("IMR-1"));
    f.set("procedure_codes", "97110")
        .set("service_from", "2026-11-10");
    let admin = decide("keymg", &f);
    assert_eq!(admin.denial_category, Some(DenialCategory::Administrative));
    assert_eq!(admin.imr_eligible, Some(false));
    let cosmetic = decide(
        "default",
        &Fax::new(
            &member(|c| active(c) && c.plan_id == "UMB-COMM"),
            "outpatient",
            "15823",
            "2026-12-15",
        ),
    );
    assert_eq!(cosmetic.denial_category, Some(DenialCategory::Coverage));
    assert_eq!(cosmetic.imr_eligible, Some(false));
}

#[test]
fn imr_2_appeal_path_is_internal_appeal_first_then_imr() {
    let mut f = Fax::new(&kmg_member(), "outpatient", "0042T", "2026-12-02");
    f.set("servicing_npi", &npi(in_net("RADIOLOGY")));
    let d = decide("keymg", &f);
    let path = d.appeal_path.unwrap();
    assert!(path.starts_with("Internal appeal first"), "{path}");
    assert!(path.contains("Independent Medical Review"), "{path}");
    assert!(d.fired("IMR-2"));
    f.set("procedure_codes", "97110")
        .set("service_from", "2026-11-10");
    let admin = decide("keymg", &f).appeal_path.unwrap();
    assert!(admin.starts_with("Internal appeal first"));
    assert!(
        admin.contains("Not eligible for Independent Medical Review"),
        "{admin}"
    );
}

// ---------------- CIGNA ----------------

fn cigna_member(plan: &str) -> String {
    member(|c| active(c) && c.plan_id == plan && !c.medicare_primary)
}

#[test]
fn cig_1_dialysis_less_than_2_business_days_ahead_is_late() {
    // three-interchanges.x12, second interchange: dialysis sent 11/18 09:30 for 11/19.
    let reqs = sample_278("three-interchanges.x12");
    let d = evaluator("cigna").decide(&reqs[1]);
    assert!(d.fired("CIG-1"), "{:?}", d.rules_fired);
    assert!(has_flag(&d, "late_notification"));
    assert_ne!(d.outcome, Outcome::NotRequired);
    let mut f = Fax::new(
        &cigna_member("CIGNA-OAP"),
        "dialysis",
        "90935",
        "2026-12-01",
    );
    f.set("servicing_npi", &npi(in_net("DIALYSIS")));
    let early = decide("cigna", &f);
    assert!(early.fired("CIG-1"));
    assert!(!has_flag(&early, "late_notification"));
}

#[test]
fn cig_2_medicare_primary_needs_no_precertification_except_listed() {
    let mp = member(|c| active(c) && c.medicare_primary && c.product == Product::Commercial);
    let mut f = Fax::new(&mp, "inpatient", "27447", "2026-12-08");
    f.set("facility_npi", &npi(in_net("HOSPITAL")));
    let d = decide("cigna", &f);
    assert!(d.fired("CIG-2"));
    assert_eq!(d.outcome, Outcome::NotRequired);
    f.set("procedure_codes", "50360");
    let transplant = decide("cigna", &f);
    assert!(!transplant.fired("CIG-2"));
    assert_ne!(transplant.outcome, Outcome::NotRequired);
}

#[test]
fn cig_3_requests_less_than_72_hours_ahead_are_late() {
    let mut f = Fax::new(
        &cigna_member("CIGNA-PHS"),
        "outpatient",
        "70553",
        "2026-11-22",
    );
    f.set("servicing_npi", &npi(in_net("RADIOLOGY")));
    let d = decide("cigna", &f);
    assert!(d.fired("CIG-3"));
    assert!(has_flag(&d, "late_request"));
    f.set("service_from", "2026-11-24");
    assert!(!has_flag(&decide("cigna", &f), "late_request"));
}

#[test]
fn cig_4_every_answer_has_a_tracking_number_pends_a_reason_denials_reason_and_appeal() {
    let m = cigna_member("CIGNA-PHS");
    let mut f = Fax::new(&m, "outpatient", "70553", "2026-12-02");
    f.set("servicing_npi", &npi(in_net("RADIOLOGY")));
    let approved = decide("cigna", &f);
    assert_eq!(approved.outcome, Outcome::Approved);
    let mut pend = f.clone();
    pend.set("urgency", "emergent")
        .set("service_from", "2026-11-16")
        .set("request_type", "inpatient");
    let pended = decide("cigna", &pend);
    assert_eq!(pended.outcome, Outcome::Pended);
    assert!(pended.reason_code.is_some() && !pended.reason_text.is_empty());
    // A participating provider that did not precertify (CIG-13).
    f.set("service_from", "2026-11-10");
    let denied = decide("cigna", &f);
    assert_eq!(denied.outcome, Outcome::Denied);
    assert!(denied.reason_code.is_some());
    assert!(denied.appeal_path.is_some());
    let numbers: Vec<_> = [&approved, &pended, &denied]
        .iter()
        .map(|d| d.certification_number.unwrap())
        .collect();
    assert!(
        numbers
            .iter()
            .all(|n| n.starts_with("CIG") && n.len() == 19),
        "{numbers:?}"
    );
}

#[test]
fn cig_5_elective_admission_less_than_2_business_days_ahead_is_late() {
    let mut f = Fax::new(
        &cigna_member("CIGNA-OAP"),
        "inpatient",
        "27447",
        "2026-11-23",
    );
    f.set("facility_npi", &npi(in_net("HOSPITAL")));
    let d = decide("cigna", &f);
    assert!(d.fired("CIG-5"));
    assert!(has_flag(&d, "late_precertification"));
    f.set("service_from", "2026-11-25");
    assert!(!has_flag(&decide("cigna", &f), "late_precertification"));
}

#[test]
fn cig_6_emergent_admission_notified_after_one_business_day_is_late() {
    // three-interchanges.x12, first interchange: emergency admission 11/14 notified 11/18.
    let reqs = sample_278("three-interchanges.x12");
    let d = evaluator("cigna").decide(&reqs[0]);
    assert!(d.fired("CIG-6"), "{:?}", d.rules_fired);
    assert_eq!(d.outcome, Outcome::Pended);
    assert_eq!(d.reason_code, Some("17"));
    assert!(has_flag(&d, "late_notification"));
}

#[test]
fn cig_7_maternity_stays_within_48_or_96_hours_need_no_precertification() {
    // three-interchanges.x12, third interchange: vaginal delivery (59400), 2-day stay.
    let reqs = sample_278("three-interchanges.x12");
    let d = evaluator("cigna").decide(&reqs[2]);
    assert!(d.fired("CIG-7"), "{:?}", d.rules_fired);
    assert_eq!(d.outcome, Outcome::NotRequired);
    let m = cigna_member("CIGNA-OAP");
    let mut c = Fax::new(&m, "inpatient", "59510", "2026-12-14");
    c.set("delivery", "cesarean")
        .set("service_to", "2026-12-18");
    assert_eq!(decide("cigna", &c).outcome, Outcome::NotRequired);
    c.set("service_to", "2026-12-19");
    let long = decide("cigna", &c);
    assert!(!long.fired("CIG-7"));
    assert_ne!(
        long.outcome,
        Outcome::NotRequired,
        "longer stays follow the authorization rules"
    );
}

#[test]
fn cig_8_snf_hospice_and_rehab_admissions_need_precertification() {
    let reqs = sample_278("facility-and-dental.x12");
    let snf = evaluator("cigna").decide(&reqs[0]);
    assert!(snf.fired("CIG-8"));
    assert_ne!(snf.outcome, Outcome::NotRequired);
    let m = cigna_member("CIGNA-OAP");
    for t in ["hospice", "rehab"] {
        let d = decide("cigna", &Fax::new(&m, t, "99304", "2026-12-01"));
        assert!(d.fired("CIG-8"), "{t}");
        assert_ne!(d.outcome, Outcome::NotRequired);
    }
}

#[test]
fn cig_9_transfer_to_another_facility_gets_a_new_decision_and_number() {
    let mut f = Fax::new(
        &cigna_member("CIGNA-OAP"),
        "inpatient",
        "99223",
        "2026-12-02",
    );
    f.set("facility_npi", &npi(in_net("HOSPITAL")))
        .set("previous_authorization", "CIG0000000000000ABC");
    let d = decide("cigna", &f);
    assert!(d.fired("CIG-9"));
    assert!(has_flag(&d, "transfer_separate_approval"));
    let n = d.certification_number.unwrap();
    assert_ne!(
        n.as_str(),
        "CIG0000000000000ABC",
        "never reuses the old number"
    );
}

#[test]
fn cig_10_outpatient_list_applies_only_with_outpatient_management() {
    let mut f = Fax::new(
        &cigna_member("CIGNA-PHS"),
        "outpatient",
        "70553",
        "2026-12-02",
    );
    f.set("servicing_npi", &npi(in_net("RADIOLOGY")));
    let phs = decide("cigna", &f);
    assert!(phs.fired("CIG-10"));
    assert_ne!(phs.outcome, Outcome::NotRequired);
    f.set("member_id", &cigna_member("CIGNA-OAP"));
    let oap = decide("cigna", &f);
    assert!(!oap.fired("CIG-10"));
    assert_eq!(oap.outcome, Outcome::NotRequired);
}

#[test]
fn cig_11_dental_in_a_facility_needs_precertification() {
    let reqs = sample_278("facility-and-dental.x12");
    let dental = evaluator("cigna").decide(&reqs[2]);
    assert!(dental.fired("CIG-11"));
    assert_ne!(dental.outcome, Outcome::NotRequired);
    let mut office = Fax::new(&cigna_member("CIGNA-OAP"), "dental", "D7240", "2026-12-09");
    office.set("place_of_service", "11");
    assert_eq!(decide("cigna", &office).outcome, Outcome::NotRequired);
}

#[test]
fn cig_12_home_health_and_infusion_need_precertification_with_phs_plus() {
    let mut f = Fax::new(
        &cigna_member("CIGNA-PHS"),
        "home_health",
        "G0299",
        "2026-11-30",
    );
    f.set("servicing_npi", &npi(in_net("HOME_HEALTH")));
    let d = decide("cigna", &f);
    assert!(d.fired("CIG-12"));
    assert_ne!(d.outcome, Outcome::NotRequired);
    f.set("request_type", "home_infusion")
        .set("procedure_codes", "J1100");
    assert!(decide("cigna", &f).fired("CIG-12"));
    f.set("member_id", &cigna_member("CIGNA-OAP"));
    assert_eq!(decide("cigna", &f).outcome, Outcome::NotRequired);
}

#[test]
fn cig_13_failure_to_precertify_denied_in_network_benefit_reduction_out() {
    let mut f = Fax::new(
        &cigna_member("CIGNA-OAP"),
        "inpatient",
        "27447",
        "2026-11-10",
    );
    f.set("facility_npi", &npi(in_net("HOSPITAL")))
        .set("service_to", "2026-11-13");
    let d = decide("cigna", &f);
    assert!(d.fired("CIG-13"));
    assert_eq!(d.outcome, Outcome::Denied);
    assert_eq!(d.denial_category, Some(DenialCategory::Administrative));
    assert!(has_flag(&d, "hold_harmless"));
    f.set(
        "facility_npi",
        &npi(|p| p.specialty == "HOSPITAL" && p.network == Network::Out),
    );
    let out = decide("cigna", &f);
    assert!(out.fired("CIG-13"));
    assert!(has_flag(&out, "benefit_reduction"));
    assert_ne!(out.outcome, Outcome::Denied);
}

// ---------------- Clocks (default policy) ----------------

#[test]
fn clk_1_cms_0057_f_expedited_72_hours_standard_7_calendar_days() {
    let ma = member(|c| active(c) && c.product == Product::Ma);
    let mut f = Fax::new(&ma, "outpatient", "73721", "2026-12-03");
    f.set("received_at", "2026-11-20 09:00");
    let d = decide("default", &f);
    assert_eq!(d.clock_id, Some("CLK-1"));
    assert_eq!(
        d.due_by,
        Some(dt("2026-11-27 09:00")),
        "calendar days, holidays included"
    );
    f.set("urgency", "urgent");
    let u = decide("default", &f);
    assert_eq!(u.clock_id, Some("CLK-1"));
    assert_eq!(u.due_by, Some(dt("2026-11-23 09:00")));
    assert!(u.expedited);
}

#[test]
fn clk_2_knox_keene_routine_5_business_days_urgent_72_hours() {
    let comm = member(|c| active(c) && c.product == Product::Commercial && c.plan_id == "UMB-COMM");
    let mut f = Fax::new(&comm, "outpatient", "73721", "2026-12-03");
    f.set("received_at", "2026-11-25 14:00");
    let d = decide("default", &f);
    assert_eq!(d.clock_id, Some("CLK-2"));
    // Wed 11/25 + 5 business days skipping Thanksgiving, the Friday holiday and the weekend.
    assert_eq!(d.due_by, Some(dt("2026-12-04 14:00")));
    f.set("urgency", "emergent");
    assert_eq!(decide("default", &f).due_by, Some(dt("2026-11-28 14:00")));
}

#[test]
fn clk_3_retrospective_review_30_days() {
    let comm = member(|c| active(c) && c.product == Product::Commercial && c.plan_id == "UMB-COMM");
    let d = decide(
        "default",
        &Fax::new(&comm, "outpatient", "97110", "2026-11-02"),
    );
    assert!(d.retro);
    assert_eq!(d.clock_id, Some("CLK-3"));
    assert_eq!(d.due_by, Some(dt("2026-12-20 09:00")));
}

#[test]
fn past_due_requests_are_flagged() {
    let comm = member(|c| active(c) && c.product == Product::Commercial && c.plan_id == "UMB-COMM");
    let mut f = Fax::new(&comm, "outpatient", "73721", "2026-12-03");
    f.set("received_at", "2026-11-01 09:00");
    let d = decide("default", &f);
    assert!(d.past_due);
    assert!(has_flag(&d, "past_due"));
}

#[test]
fn partial_certification_when_only_some_lines_pass() {
    let comm = member(|c| active(c) && c.product == Product::Commercial && c.plan_id == "UMB-COMM");
    let d = decide(
        "default",
        &Fax::new(&comm, "outpatient", "73721;0042T", "2026-12-03"),
    );
    assert_eq!(d.outcome, Outcome::Modified);
    assert_eq!(d.hcr01, Some("A2"));
    assert_eq!(d.lines.len(), 2);
    assert_eq!(d.lines[0].outcome, Outcome::Approved);
    assert_eq!(d.lines[1].outcome, Outcome::Denied);
    assert_eq!(d.lines[1].hcr01, Some("A3"));
    assert_eq!(
        d.reason_text,
        "certified in part: line 1 (73721) approved, line 2 (0042T) denied"
    );
}

// ---------------- both sources, counts ----------------

#[test]
fn a_278_and_its_fax_twin_get_the_same_decision() {
    let reqs = sample_278("valley-clinic-batch.x12");
    let x12 = &reqs[0];
    let mut f = Fax::new(&x12.member_id, "outpatient", "73721", "2026-12-01");
    f.set("received_at", "2026-11-18 08:15")
        .set("member_last_name", &x12.member_last_name)
        .set("member_first_name", &x12.member_first_name)
        .set("member_dob", "1962-03-14")
        .set("requesting_npi", &x12.requester.npi)
        .set("servicing_npi", &x12.servicing.as_ref().unwrap().npi)
        .set("servicing_name", &x12.servicing.as_ref().unwrap().name)
        .set("service_type_code", "62")
        .set("place_of_service", "22")
        .set("diagnosis_codes", "M25.561;M23.41")
        .set("service_to", "2026-12-31")
        .set("units", "1")
        .set("estimated_cost", "1450")
        .set("lab_results_attached", "N")
        .set("radiology_results_attached", "N")
        .set("physician_signature", "N");
    let fax = f.request();
    assert_eq!(fax.diagnosis_codes, x12.diagnosis_codes);
    for policy in ["default", "img", "ims", "keymg", "cigna"] {
        let ev = evaluator(policy);
        let a = ev.decide(x12);
        let mut b = ev.decide(&fax);
        // Only the identity differs: the request id and the number derived from it.
        assert_ne!(x12.request_id, fax.request_id);
        if a.certification_number.is_some() {
            assert_ne!(a.certification_number, b.certification_number);
        }
        b.certification_number = b
            .certification_number
            .as_ref()
            .map(|_| a.certification_number.unwrap());
        assert_eq!(a, b, "{policy}");
    }
}

#[test]
fn every_sample_request_gets_exactly_one_outcome() {
    let ev = evaluator("default");
    let mut rows = 0;
    let mut outcomes = 0;
    let mut rejected_rows = 0;
    for dir in ["samples/x12", "samples/fax"] {
        let mut files: Vec<_> = std::fs::read_dir(root().join(dir))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        for f in files {
            let (_, items) = read_file(&f, false).unwrap();
            for it in items {
                rows += 1;
                match it {
                    Intake::Request(r) => {
                        let d = ev.decide(&r);
                        assert!(!d.rules_fired.is_empty(), "{}", r.request_id);
                        outcomes += 1;
                    }
                    Intake::Row(_) | Intake::Transaction { .. } => rejected_rows += 1,
                }
            }
        }
    }
    let fax_rows =
        std::fs::read_to_string(root().join("samples/fax/valley-fax-queue-2026-11-20.csv"))
            .unwrap()
            .lines()
            .count()
            - 1;
    assert_eq!(rows, 10 + fax_rows, "count in = count out");
    assert_eq!(outcomes + rejected_rows, rows);
    assert!(rejected_rows >= 2, "the sample holds bad rows");
}

#[test]
fn fax_rows_with_problems_are_rejected_with_row_number_and_reason() {
    let (_, items) = read_file(
        &root().join("samples/fax/valley-fax-queue-2026-11-20.csv"),
        false,
    )
    .unwrap();
    let rejects: Vec<_> = items
        .iter()
        .filter_map(|i| match i {
            Intake::Row(r) => Some(r.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(rejects.len(), 2, "{rejects:?}");
    assert_eq!(rejects[0].row, 39);
    assert!(
        rejects[0]
            .reason
            .contains("unknown `request_type` `weight_loss_program`"),
        "{}",
        rejects[0].reason
    );
    assert_eq!(rejects[1].row, 40);
    assert!(
        rejects[1].reason.contains("unparseable `member_dob`"),
        "{}",
        rejects[1].reason
    );
    assert!(
        !rejects[1].reason.contains("31/12/1970"),
        "no PHI in reasons"
    );
}

#[test]
fn all_sample_policies_load_and_unknown_code_lists_are_refused() {
    for p in ["default", "img", "ims", "keymg", "cigna"] {
        umbatch::policy::load(&root().join(format!("samples/policies/{p}.toml"))).unwrap();
    }
    let src = std::fs::read_to_string(root().join("samples/policies/default.toml")).unwrap();
    let bad = src.replace(
        "procedures_in = \"cosmetic\"",
        "procedures_in = \"cosmetics\"",
    );
    let err = umbatch::policy::compile(&bad, "d.toml").unwrap_err();
    assert!(
        err.to_string().contains("unknown code list `cosmetics`"),
        "{err}"
    );
    let dup = format!(
        "{src}\n[[rules]]\nid = \"DUP\"\nstage = \"coverage\"\nwhen = {{ procedures_in = \"cosmetic\" }}\nthen = {{ outcome = \"pended\", reason = \"0V\" }}\n"
    );
    let err = umbatch::policy::compile(&dup, "d.toml").unwrap_err();
    assert!(
        err.to_string()
            .contains("same conditions as rule `DEF-COSMETIC`"),
        "{err}"
    );
    // A prefix too long for HCR02 once the 16 digits are added.
    let with_prefix = |len: usize| {
        src.replace(
            "certification_prefix = \"UMB\"",
            &format!("certification_prefix = \"{}\"", "U".repeat(len)),
        )
    };
    let err = umbatch::policy::compile(&with_prefix(35), "d.toml").unwrap_err();
    assert!(
        err.to_string()
            .contains("certification_prefix is longer than 34"),
        "{err}"
    );
    umbatch::policy::compile(&with_prefix(34), "d.toml").unwrap();
    // A prefix a spreadsheet would run, or with bytes that need quoting or cleaning.
    for bad in ["=UMB", "UM B", "UM,B", "UMÉ"] {
        let err = umbatch::policy::compile(
            &src.replace(
                "certification_prefix = \"UMB\"",
                &format!("certification_prefix = \"{bad}\""),
            ),
            "d.toml",
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("certification_prefix may hold only ASCII letters"),
            "{bad}: {err}"
        );
    }
}

#[test]
fn x12_requests_are_named_by_file_stem_and_control_numbers() {
    // The request id joins the file stem, ISA13, GS06 and ST02; the reference names the same
    // and the ST's byte offset, so an analyst can find the transaction in the file.
    let requests = sample_278("facility-and-dental.x12");
    let first = &requests[0];
    assert_eq!(first.request_id, "facility-and-dental:000000201:201:0001");
    let st = std::fs::read_to_string(root().join("samples/x12/facility-and-dental.x12"))
        .unwrap()
        .find("ST*278*0001")
        .unwrap();
    assert_eq!(
        first.provenance.reference,
        format!("ISA13 000000201 GS06 201 ST02 0001 at byte {st}")
    );
    assert_eq!(first.provenance.position, st as u64);
}
