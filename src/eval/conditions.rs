//! A rule's conditions compiled to the list of tests it actually has.
//!
//! A policy's `Conditions` has a slot for every kind of test, and a rule fills one to four of
//! them. Checking all slots for every rule and every request is what the evaluator spent most
//! of its time on; compiling each rule once into a short list of [`Test`]s, cheapest first,
//! makes a rule cost what it says. Every test is a pure question about the request and its
//! facts, so the order changes the speed, never the answer.

use super::{cat_bit, prod_bit, urg_bit, Base, Deadline, DeadlineSlots, Facts};
use crate::calendar::{Calendar, ClockDuration};
use crate::policy::codes::CodeSet;
use crate::policy::{CodeKind, Conditions, NetworkCond};
use crate::request::{AuthRequest, DeliveryKind, SourceKind};
use chrono::NaiveDateTime;

/// One condition of a rule, with what it compares against.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Test {
    /// Category in this bit set.
    Categories(u32),
    /// Category not in this bit set.
    NotCategories(u32),
    /// Urgency in this bit set.
    Urgency(u32),
    /// Retro request or not.
    Retro(bool),
    /// Post-stabilization request or not.
    PostStabilization(bool),
    /// Member on the roster or not.
    MemberFound(bool),
    /// Member eligible on the service date or not.
    Eligible(bool),
    /// Member's product in this bit set.
    Products(u32),
    /// Medicare primary or not.
    MedicarePrimary(bool),
    /// Servicing provider's network.
    ServicingNetwork(NetworkCond),
    /// Servicing provider is the member's PCP or not.
    ServicingIsMemberPcp(bool),
    /// Any of these items missing.
    Missing(u32),
    /// Codes of this kind missing or malformed.
    CodesInvalid(CodeKind),
    /// Delivery type.
    Delivery(DeliveryKind),
    /// A previous certification is referenced or not.
    HasPreviousCertification(bool),
    /// Justification text present or not.
    Justification(bool),
    /// Came from a fax row or not.
    SourceFax(bool),
    /// Estimated cost at most this.
    CostAtMost(f64),
    /// Estimated cost over this.
    CostOver(f64),
    /// Units (of the request or the line) over this.
    UnitsOver(f64),
    /// Stay longer than this many hours.
    StayOverHours(i64),
    /// Stay at most this many hours.
    StayAtMostHours(i64),
    /// UM03 service type, any of (ASCII case ignored).
    ServiceTypes(Vec<String>),
    /// Place of service, any of.
    Places(Vec<String>),
    /// UM02 certification type, any of.
    CertificationTypes(Vec<String>),
    /// Plan flag on.
    PlanFlag(String),
    /// Plan flag off.
    PlanFlagOff(String),
    /// Servicing provider's specialty, any of.
    ServicingSpecialty(Vec<String>),
    /// Requesting provider's specialty, any of.
    RequesterSpecialty(Vec<String>),
    /// Any procedure in this code set.
    ProceduresIn(usize),
    /// Every procedure (at least one) in this code set.
    AllProceduresIn(usize),
    /// No procedure in this code set.
    NoProcedureIn(usize),
    /// Any diagnosis in this code set.
    DiagnosesIn(usize),
    /// Less than this (counted from the submission) between submission and service start.
    LeadTimeUnder(Deadline),
    /// More than this (counted from the service start) between service start and submission.
    NotifiedAfter(Deadline),
    /// The request has waited more than this (counted from the submission) at decision time.
    WaitingOver(Deadline),
}

/// Hours in a duration, as stay-length conditions count them.
fn hours(d: ClockDuration) -> i64 {
    match d {
        ClockDuration::Hours(h) => h,
        ClockDuration::Days(d) | ClockDuration::BusinessDays(d) => d * 24,
    }
}

/// Compiles conditions into tests, cheapest first; deadlines get their memo slots.
pub(super) fn compile(c: &Conditions, slots: &mut DeadlineSlots) -> Vec<Test> {
    // Destructured in full: a condition added to `Conditions` does not compile until it has
    // its test here.
    let Conditions {
        categories,
        not_categories,
        service_types,
        places,
        procedures_in,
        all_procedures_in,
        no_procedure_in,
        diagnoses_in,
        urgency,
        retro,
        post_stabilization,
        member_found,
        eligible,
        products,
        medicare_primary,
        plan_flag,
        plan_flag_off,
        servicing_network,
        servicing_specialty,
        servicing_is_member_pcp,
        requester_specialty,
        cost_at_most,
        cost_over,
        missing,
        codes_invalid,
        lead_time_under,
        notified_after,
        stay_over,
        stay_at_most,
        delivery,
        has_previous_certification,
        certification_types,
        justification,
        waiting_over,
        units_over,
        source_fax,
    } = c;
    let mut t = Vec::new();
    // Bit sets, flags and numbers.
    t.extend(categories.map(Test::Categories));
    t.extend(not_categories.map(Test::NotCategories));
    t.extend(urgency.map(Test::Urgency));
    t.extend(retro.map(Test::Retro));
    t.extend(post_stabilization.map(Test::PostStabilization));
    t.extend(member_found.map(Test::MemberFound));
    t.extend(eligible.map(Test::Eligible));
    t.extend(products.map(Test::Products));
    t.extend(medicare_primary.map(Test::MedicarePrimary));
    t.extend(servicing_network.map(Test::ServicingNetwork));
    t.extend(servicing_is_member_pcp.map(Test::ServicingIsMemberPcp));
    t.extend(missing.map(Test::Missing));
    t.extend(codes_invalid.map(Test::CodesInvalid));
    t.extend(delivery.map(Test::Delivery));
    t.extend(has_previous_certification.map(Test::HasPreviousCertification));
    t.extend(justification.map(Test::Justification));
    t.extend(source_fax.map(Test::SourceFax));
    t.extend(cost_at_most.map(Test::CostAtMost));
    t.extend(cost_over.map(Test::CostOver));
    t.extend(units_over.map(Test::UnitsOver));
    t.extend(stay_over.map(|d| Test::StayOverHours(hours(d))));
    t.extend(stay_at_most.map(|d| Test::StayAtMostHours(hours(d))));
    // Short string lists.
    t.extend(service_types.clone().map(Test::ServiceTypes));
    t.extend(places.clone().map(Test::Places));
    t.extend(certification_types.clone().map(Test::CertificationTypes));
    t.extend(plan_flag.clone().map(Test::PlanFlag));
    t.extend(plan_flag_off.clone().map(Test::PlanFlagOff));
    t.extend(servicing_specialty.clone().map(Test::ServicingSpecialty));
    t.extend(requester_specialty.clone().map(Test::RequesterSpecialty));
    // Code sets.
    t.extend(procedures_in.map(Test::ProceduresIn));
    t.extend(all_procedures_in.map(Test::AllProceduresIn));
    t.extend(no_procedure_in.map(Test::NoProcedureIn));
    t.extend(diagnoses_in.map(Test::DiagnosesIn));
    // Calendar arithmetic.
    let mut from = |base, d| slots.deadline(base, d);
    t.extend(lead_time_under.map(|d| Test::LeadTimeUnder(from(Base::Submission, d))));
    t.extend(notified_after.map(|d| Test::NotifiedAfter(from(Base::ServiceStart, d))));
    t.extend(waiting_over.map(|d| Test::WaitingOver(from(Base::Submission, d))));
    t
}

/// What the tests look at: one view of a request (the whole request, or one of its lines).
pub(super) struct View<'a> {
    /// The request.
    pub r: &'a AuthRequest,
    /// Facts computed once for the request.
    pub f: &'a Facts<'a>,
    /// The procedures of the view.
    pub procs: &'a [String],
    /// The units of the view.
    pub units: Option<f64>,
    /// The policy's code sets.
    pub code_sets: &'a [CodeSet],
    /// The policy's calendar.
    pub calendar: &'a Calendar,
    /// The decision time.
    pub as_of: NaiveDateTime,
}

impl View<'_> {
    /// True when every test holds.
    pub fn holds(&self, tests: &[Test]) -> bool {
        tests.iter().all(|t| self.test(t))
    }

    fn set(&self, i: usize) -> Option<&CodeSet> {
        self.code_sets.get(i)
    }

    fn test(&self, t: &Test) -> bool {
        let (r, f) = (self.r, self.f);
        match t {
            Test::Categories(b) => b & cat_bit(r.category) != 0,
            Test::NotCategories(b) => b & cat_bit(r.category) == 0,
            Test::Urgency(b) => b & urg_bit(r.urgency) != 0,
            Test::Retro(v) => *v == r.is_retro(),
            Test::PostStabilization(v) => *v == r.post_stabilization,
            Test::MemberFound(v) => *v == f.member_found,
            Test::Eligible(v) => *v == f.eligible,
            Test::Products(b) => f.coverage.is_some_and(|c| b & prod_bit(c.product) != 0),
            Test::MedicarePrimary(v) => *v == f.coverage.is_some_and(|c| c.medicare_primary),
            Test::ServicingNetwork(n) => *n == f.servicing_network,
            Test::ServicingIsMemberPcp(v) => *v == f.servicing_is_pcp,
            Test::Missing(m) => m & f.missing != 0,
            Test::CodesInvalid(CodeKind::Diagnosis) => f.diag_invalid,
            Test::CodesInvalid(CodeKind::Procedure) => f.proc_invalid,
            Test::Delivery(k) => r.delivery == Some(*k),
            Test::HasPreviousCertification(v) => *v == r.previous_certification.is_some(),
            Test::Justification(v) => *v == f.has_justification,
            Test::SourceFax(v) => *v == (r.provenance.kind == SourceKind::Fax),
            Test::CostAtMost(max) => r.estimated_cost.is_some_and(|x| x <= *max),
            Test::CostOver(min) => r.estimated_cost.is_some_and(|x| x > *min),
            Test::UnitsOver(n) => self.units.is_some_and(|u| u > *n),
            Test::StayOverHours(h) => f.stay_hours.is_some_and(|s| s > *h),
            Test::StayAtMostHours(h) => f.stay_hours.is_some_and(|s| s <= *h),
            Test::ServiceTypes(st) => st.iter().any(|s| s.eq_ignore_ascii_case(&r.service_type)),
            Test::Places(pl) => pl.contains(&r.place_of_service),
            Test::CertificationTypes(t) => t.contains(&r.certification_type),
            Test::PlanFlag(flag) => f.plan_flags.contains(flag),
            Test::PlanFlagOff(flag) => !f.plan_flags.contains(flag),
            Test::ServicingSpecialty(specs) => {
                f.servicing.is_some_and(|s| specs.contains(&s.specialty))
            }
            Test::RequesterSpecialty(specs) => {
                f.requester.is_some_and(|s| specs.contains(&s.specialty))
            }
            Test::ProceduresIn(i) => self.set(*i).is_some_and(|s| s.any(self.procs)),
            Test::AllProceduresIn(i) => self.set(*i).is_some_and(|s| s.all(self.procs)),
            Test::NoProcedureIn(i) => !self.set(*i).is_some_and(|s| s.any(self.procs)),
            Test::DiagnosesIn(i) => self.set(*i).is_some_and(|s| s.any(&r.diagnosis_codes)),
            Test::LeadTimeUnder(d) => r.service_from.is_some_and(|from| {
                // The service starts at the beginning of its day.
                let start = from.and_time(chrono::NaiveTime::MIN);
                start < f.deadline(self.calendar, *d, r.submitted_at)
            }),
            Test::NotifiedAfter(d) => r.service_from.is_some_and(|from| {
                let start = from.and_time(chrono::NaiveTime::MIN);
                r.submitted_at > f.deadline(self.calendar, *d, start)
            }),
            Test::WaitingOver(d) => self.as_of > f.deadline(self.calendar, *d, r.submitted_at),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_present_conditions_become_tests_cheapest_first() {
        let mut slots = DeadlineSlots::default();
        assert!(compile(&Conditions::default(), &mut slots).is_empty());
        let c = Conditions {
            waiting_over: Some(ClockDuration::Hours(1)),
            procedures_in: Some(2),
            places: Some(vec!["21".into()]),
            post_stabilization: Some(true),
            stay_over: Some(ClockDuration::Days(14)),
            ..Conditions::default()
        };
        assert_eq!(
            compile(&c, &mut slots),
            vec![
                Test::PostStabilization(true),
                Test::StayOverHours(14 * 24),
                Test::Places(vec!["21".into()]),
                Test::ProceduresIn(2),
                Test::WaitingOver(Deadline {
                    base: Base::Submission,
                    duration: ClockDuration::Hours(1),
                    slot: 0
                }),
            ]
        );
    }
}
