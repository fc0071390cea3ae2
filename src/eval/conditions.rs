//! A rule's conditions compiled to a bit-mask check and the list of other tests it has.
//!
//! A policy's `Conditions` has a slot for every kind of test, and a rule fills one to four of
//! them. Checking all slots for every rule and every request is what the evaluator spent most
//! of its time on. Each rule is compiled once:
//! - its yes/no and one-of conditions (retro, member found, category, urgency, product,
//!   missing items…) into a [`Quick`] check against the request's [`Profile`], a few words of
//!   bits computed once per request; [`super::index::RuleSet`] turns the checks of all rules
//!   into a few table lookups, so most rules are ruled out without being looked at;
//! - the rest (numbers, string lists, code sets, calendar arithmetic) into a short list of
//!   [`Test`]s, cheapest first.
//!
//! Every test is a pure question about the request and its facts, so the order changes the
//! speed, never the answer.

use super::{cat_bit, prod_bit, urg_bit, Base, Deadline, DeadlineSlots, Facts};
use crate::calendar::{Calendar, ClockDuration};
use crate::policy::codes::CodeSet;
use crate::policy::{CodeKind, Conditions, NetworkCond};
use crate::request::{AuthRequest, DeliveryKind, SourceKind, Text};
use chrono::NaiveDateTime;

/// One condition of a rule, with what it compares against.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Test {
    /// Delivery type.
    Delivery(DeliveryKind),
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

/// Bits of [`Profile::flags`]: one per yes/no fact of a request.
pub(super) mod flag_bit {
    pub const RETRO: u32 = 1 << 0;
    pub const POST_STABILIZATION: u32 = 1 << 1;
    pub const MEMBER_FOUND: u32 = 1 << 2;
    pub const ELIGIBLE: u32 = 1 << 3;
    pub const MEDICARE_PRIMARY: u32 = 1 << 4;
    pub const SERVICING_IS_PCP: u32 = 1 << 5;
    pub const PREVIOUS_CERTIFICATION: u32 = 1 << 6;
    pub const JUSTIFICATION: u32 = 1 << 7;
    pub const FAX: u32 = 1 << 8;
    pub const NETWORK_IN: u32 = 1 << 9;
    pub const NETWORK_OUT: u32 = 1 << 10;
    pub const NETWORK_UNKNOWN: u32 = 1 << 11;
    pub const DIAGNOSIS_INVALID: u32 = 1 << 12;
    pub const PROCEDURE_INVALID: u32 = 1 << 13;
}

/// A request's yes/no and one-of facts as bits, computed once per request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Profile {
    /// `flag_bit` bits that are true.
    pub flags: u32,
    /// The category's bit.
    pub category: u32,
    /// The urgency's bit.
    pub urgency: u32,
    /// The member's product bit (0 without coverage).
    pub product: u32,
    /// Missing-item bits.
    pub missing: u32,
}

/// A rule's yes/no and one-of conditions, checked against a [`Profile`] by the tables of
/// [`super::index::RuleSet`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Quick {
    /// Flags the rule looks at.
    pub(super) mask: u32,
    /// Their required values.
    pub(super) want: u32,
    /// Category one of these (0: no condition).
    pub(super) categories: u32,
    /// Category none of these.
    pub(super) not_categories: u32,
    /// Urgency one of these (0: no condition).
    pub(super) urgency: u32,
    /// Product one of these (0: no condition).
    pub(super) products: u32,
    /// Any of these items missing (0: no condition).
    pub(super) missing: u32,
    /// A one-of condition with an empty list: the rule never applies.
    pub(super) never: bool,
}

impl Quick {
    /// The rule-by-rule check that [`super::index::RuleSet`]'s tables replace.
    #[cfg(test)]
    pub(super) fn admits(&self, p: &Profile) -> bool {
        let one_of = |want: u32, have: u32| want == 0 || want & have != 0;
        !self.never
            && p.flags & self.mask == self.want
            && p.category & self.not_categories == 0
            && one_of(self.categories, p.category)
            && one_of(self.urgency, p.urgency)
            && one_of(self.products, p.product)
            && one_of(self.missing, p.missing)
    }
}

/// A rule's conditions, compiled.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Compiled {
    pub(super) quick: Quick,
    tests: Vec<Test>,
}

impl Compiled {
    /// A rule with only yes/no and one-of conditions.
    #[cfg(test)]
    pub(super) fn quick_only(quick: Quick) -> Self {
        Compiled {
            quick,
            tests: Vec::new(),
        }
    }
}

/// The profile of a request and its facts.
pub(super) fn profile(r: &AuthRequest, f: &Facts<'_>) -> Profile {
    let mut flags = 0;
    let mut set = |on: bool, bit: u32| {
        if on {
            flags |= bit;
        }
    };
    set(r.is_retro(), flag_bit::RETRO);
    set(r.post_stabilization, flag_bit::POST_STABILIZATION);
    set(f.member_found, flag_bit::MEMBER_FOUND);
    set(f.eligible, flag_bit::ELIGIBLE);
    set(
        f.coverage.is_some_and(|c| c.medicare_primary),
        flag_bit::MEDICARE_PRIMARY,
    );
    set(f.servicing_is_pcp, flag_bit::SERVICING_IS_PCP);
    set(
        r.previous_certification.is_some(),
        flag_bit::PREVIOUS_CERTIFICATION,
    );
    set(f.has_justification, flag_bit::JUSTIFICATION);
    set(r.provenance.kind == SourceKind::Fax, flag_bit::FAX);
    set(f.servicing_network == NetworkCond::In, flag_bit::NETWORK_IN);
    set(
        f.servicing_network == NetworkCond::Out,
        flag_bit::NETWORK_OUT,
    );
    set(
        f.servicing_network == NetworkCond::Unknown,
        flag_bit::NETWORK_UNKNOWN,
    );
    set(f.diag_invalid, flag_bit::DIAGNOSIS_INVALID);
    set(f.proc_invalid, flag_bit::PROCEDURE_INVALID);
    Profile {
        flags,
        category: cat_bit(r.category),
        urgency: urg_bit(r.urgency),
        product: f.coverage.map_or(0, |c| prod_bit(c.product)),
        missing: f.missing,
    }
}

/// Compiles conditions; deadlines get their memo slots.
pub(super) fn compile(c: &Conditions, slots: &mut DeadlineSlots) -> Compiled {
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
    let mut q = Quick::default();
    let mut flag = |v: Option<bool>, bit: u32| {
        if let Some(v) = v {
            q.mask |= bit;
            if v {
                q.want |= bit;
            }
        }
    };
    flag(*retro, flag_bit::RETRO);
    flag(*post_stabilization, flag_bit::POST_STABILIZATION);
    flag(*member_found, flag_bit::MEMBER_FOUND);
    flag(*eligible, flag_bit::ELIGIBLE);
    flag(*medicare_primary, flag_bit::MEDICARE_PRIMARY);
    flag(*servicing_is_member_pcp, flag_bit::SERVICING_IS_PCP);
    flag(
        *has_previous_certification,
        flag_bit::PREVIOUS_CERTIFICATION,
    );
    flag(*justification, flag_bit::JUSTIFICATION);
    flag(*source_fax, flag_bit::FAX);
    flag(
        servicing_network.map(|_| true),
        match servicing_network {
            Some(NetworkCond::In) => flag_bit::NETWORK_IN,
            Some(NetworkCond::Out) => flag_bit::NETWORK_OUT,
            Some(NetworkCond::Unknown) => flag_bit::NETWORK_UNKNOWN,
            None => 0,
        },
    );
    flag(
        codes_invalid.map(|_| true),
        match codes_invalid {
            Some(CodeKind::Diagnosis) => flag_bit::DIAGNOSIS_INVALID,
            Some(CodeKind::Procedure) => flag_bit::PROCEDURE_INVALID,
            None => 0,
        },
    );
    q.not_categories = not_categories.unwrap_or(0);
    for (set, slot) in [
        (categories, &mut q.categories),
        (urgency, &mut q.urgency),
        (products, &mut q.products),
        (missing, &mut q.missing),
    ] {
        if let Some(bits) = set {
            // An empty one-of list can never hold.
            q.never |= *bits == 0;
            *slot = *bits;
        }
    }
    let mut t = Vec::new();
    // Numbers.
    t.extend(delivery.map(Test::Delivery));
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
    Compiled { quick: q, tests: t }
}

/// What the tests look at: one view of a request (the whole request, or one of its lines).
pub(super) struct View<'a> {
    /// The request.
    pub r: &'a AuthRequest,
    /// Facts computed once for the request.
    pub f: &'a Facts<'a>,
    /// The procedures of the view.
    pub procs: &'a [Text],
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
    /// True when every test of a rule holds, for a rule whose quick conditions the request
    /// meets (see [`super::index::RuleSet::candidates`]).
    pub fn passes(&self, c: &Compiled) -> bool {
        c.tests.iter().all(|t| self.test(t))
    }

    fn set(&self, i: usize) -> Option<&CodeSet> {
        self.code_sets.get(i)
    }

    fn test(&self, t: &Test) -> bool {
        let (r, f) = (self.r, self.f);
        match t {
            Test::Delivery(k) => r.delivery == Some(*k),
            Test::CostAtMost(max) => r.estimated_cost.is_some_and(|x| x <= *max),
            Test::CostOver(min) => r.estimated_cost.is_some_and(|x| x > *min),
            Test::UnitsOver(n) => self.units.is_some_and(|u| u > *n),
            Test::StayOverHours(h) => f.stay_hours.is_some_and(|s| s > *h),
            Test::StayAtMostHours(h) => f.stay_hours.is_some_and(|s| s <= *h),
            Test::ServiceTypes(st) => st.iter().any(|s| s.eq_ignore_ascii_case(&r.service_type)),
            Test::Places(pl) => pl.iter().any(|p| p.as_str() == r.place_of_service.as_str()),
            Test::CertificationTypes(t) => t
                .iter()
                .any(|c| c.as_str() == r.certification_type.as_str()),
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
            Test::LeadTimeUnder(d) => f
                .service_start
                .zip(f.deadline(self.calendar, *d))
                .is_some_and(|(start, due)| start < due),
            Test::NotifiedAfter(d) => f
                .deadline(self.calendar, *d)
                .is_some_and(|due| r.submitted_at > due),
            Test::WaitingOver(d) => f
                .deadline(self.calendar, *d)
                .is_some_and(|due| self.as_of > due),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_and_one_of_lists_go_to_the_mask_the_rest_to_tests_cheapest_first() {
        let mut slots = DeadlineSlots::default();
        let none = compile(&Conditions::default(), &mut slots);
        assert_eq!(none.quick, Quick::default());
        assert!(none.tests.is_empty());
        let c = Conditions {
            waiting_over: Some(ClockDuration::Hours(1)),
            procedures_in: Some(2),
            places: Some(vec!["21".into()]),
            post_stabilization: Some(true),
            member_found: Some(false),
            urgency: Some(0b110),
            stay_over: Some(ClockDuration::Days(14)),
            ..Conditions::default()
        };
        let compiled = compile(&c, &mut slots);
        assert_eq!(
            compiled.tests,
            vec![
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
        let q = compiled.quick;
        let fits = Profile {
            flags: flag_bit::POST_STABILIZATION | flag_bit::ELIGIBLE,
            urgency: 0b100,
            ..Profile::default()
        };
        assert!(q.admits(&fits));
        assert!(!q.admits(&Profile {
            flags: fits.flags | flag_bit::MEMBER_FOUND,
            ..fits
        }));
        assert!(!q.admits(&Profile {
            flags: flag_bit::ELIGIBLE,
            ..fits
        }));
        assert!(!q.admits(&Profile {
            urgency: 0b001,
            ..fits
        }));
        // An empty one-of list never holds, as before compiling.
        let empty = Conditions {
            products: Some(0),
            ..Conditions::default()
        };
        assert!(!compile(&empty, &mut slots).quick.admits(&fits));
    }
}
