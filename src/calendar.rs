//! Business-day calendar and clock durations.
//!
//! Deadlines in the seed policies and regulations come in three units: hours ("72 hours"),
//! calendar days ("7 calendar days", "90 days") and business days ("2 business days", "5
//! business days"). Business days skip Saturdays, Sundays and the policy's holidays; a
//! business-day deadline keeps the time of day of its start (received Friday 10:00 + 2 business
//! days = Tuesday 10:00, or Wednesday when Monday is a holiday).

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, Timelike};
use serde::Serialize;
use std::fmt;

/// A length of time as policies write it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ClockDuration {
    /// Wall-clock hours.
    Hours(i64),
    /// Calendar days.
    Days(i64),
    /// Business days (weekends and holidays skipped).
    BusinessDays(i64),
}

impl fmt::Display for ClockDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClockDuration::Hours(h) => write!(f, "{h} hours"),
            ClockDuration::Days(d) => write!(f, "{d} calendar days"),
            ClockDuration::BusinessDays(d) => write!(f, "{d} business days"),
        }
    }
}

impl ClockDuration {
    /// Parses `72h`, `7d`, `2bd`, `30m` (minutes are rounded up to whole hours only when
    /// written as hours; minutes are not supported).
    pub fn parse(s: &str) -> Option<ClockDuration> {
        let s = s.trim();
        let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit())?);
        let n: i64 = num.parse().ok()?;
        match unit.trim() {
            "h" | "hours" | "hour" => Some(ClockDuration::Hours(n)),
            "d" | "days" | "day" => Some(ClockDuration::Days(n)),
            "bd" | "business_days" | "business days" => Some(ClockDuration::BusinessDays(n)),
            _ => None,
        }
    }
}

/// Days walked at most by one business-day computation (about 27 years): a bound on bad data,
/// never reached by a real clock.
const WALK_LIMIT: i32 = 10_000;

/// A calendar of non-working days.
///
/// Days are walked as day numbers (days from 0001-01-01, a Monday), so a weekday is a
/// remainder and a holiday check is one comparison against a cursor into the sorted holidays:
/// deadlines are computed for every request, several times.
#[derive(Debug, Clone, Default)]
pub struct Calendar {
    /// Holidays that fall on a weekday, as day numbers, sorted, without duplicates (one on a
    /// weekend changes nothing).
    holidays: Vec<i32>,
}

/// Walks day numbers forward, answering "business day?" with a cursor into the holidays.
struct DayWalk<'c> {
    holidays: &'c [i32],
    /// Index of the first holiday not before the current day.
    next_holiday: usize,
}

impl DayWalk<'_> {
    fn is_business_day(&mut self, day: i32) -> bool {
        while self
            .holidays
            .get(self.next_holiday)
            .is_some_and(|&h| h < day)
        {
            self.next_holiday += 1;
        }
        // Day 1 (0001-01-01) is a Monday: remainders 0..=4 are Monday to Friday.
        is_weekday(day) && self.holidays.get(self.next_holiday) != Some(&day)
    }
}

/// `start` + `secs` seconds: whole days added to the date (chrono's fast path stays within the
/// year, which nearly every deadline does) and the rest to the seconds of the day. A deadline
/// is computed for every request, and chrono's general duration arithmetic costs several
/// times more. Falls back to chrono for a leap-second start; past the representable range it
/// saturates (a deadline beyond year 262143 is never reached) instead of panicking.
fn add_seconds(start: NaiveDateTime, secs: i64) -> NaiveDateTime {
    let time = start.time();
    let of_day = i64::from(time.num_seconds_from_midnight()).saturating_add(secs);
    let days = of_day.div_euclid(86_400);
    let date = if days == 0 {
        Some(start.date())
    } else {
        Duration::try_days(days).and_then(|d| start.date().checked_add_signed(d))
    };
    let fast = date
        .zip(NaiveTime::from_num_seconds_from_midnight_opt(
            of_day.rem_euclid(86_400) as u32,
            time.nanosecond(),
        ))
        .filter(|_| time.nanosecond() < 1_000_000_000);
    match fast {
        Some((date, time)) => date.and_time(time),
        None => Duration::try_seconds(secs)
            .and_then(|d| start.checked_add_signed(d))
            .unwrap_or(if secs < 0 {
                NaiveDateTime::MIN
            } else {
                NaiveDateTime::MAX
            }),
    }
}

/// Monday to Friday (day 1, 0001-01-01, is a Monday).
fn is_weekday(day: i32) -> bool {
    (day - 1).rem_euclid(7) < 5
}

/// The weekday `n` (≥ 0) weekdays after the weekday `day`, as an `i64` (it may lie beyond any
/// date): whole weeks, then the rest, stepping over one weekend when the rest crosses it.
fn add_weekdays(day: i32, n: i64) -> i64 {
    let weekday = i64::from((day - 1).rem_euclid(7));
    let rest = n % 5;
    let weekend = if weekday + rest >= 5 { 2 } else { 0 };
    i64::from(day)
        .saturating_add((n / 5).saturating_mul(7))
        .saturating_add(rest + weekend)
}

impl Calendar {
    /// A calendar with these holidays (weekends are always non-working).
    pub fn new(holidays: impl IntoIterator<Item = NaiveDate>) -> Self {
        let mut days: Vec<i32> = holidays
            .into_iter()
            .map(|d| d.num_days_from_ce())
            .filter(|&d| is_weekday(d))
            .collect();
        days.sort_unstable();
        days.dedup();
        Calendar { holidays: days }
    }

    fn walk_from(&self, day: i32) -> DayWalk<'_> {
        DayWalk {
            holidays: &self.holidays,
            next_holiday: self.holidays.partition_point(|&h| h < day),
        }
    }

    /// True for Monday–Friday that is not a holiday.
    pub fn is_business_day(&self, d: NaiveDate) -> bool {
        let day = d.num_days_from_ce();
        self.walk_from(day).is_business_day(day)
    }

    /// The instant `duration` after `start`.
    pub fn add(&self, start: NaiveDateTime, duration: ClockDuration) -> NaiveDateTime {
        match duration {
            ClockDuration::Hours(h) => add_seconds(start, h.saturating_mul(3600)),
            ClockDuration::Days(d) => add_seconds(start, d.saturating_mul(86_400)),
            ClockDuration::BusinessDays(n) => {
                let first = start.date().num_days_from_ce();
                let mut walk = self.walk_from(first);
                let mut day = first;
                // A start on a non-working day counts from the next business day's start.
                let mut time = start.time();
                if !walk.is_business_day(day) {
                    while !walk.is_business_day(day) && day - first < WALK_LIMIT {
                        day += 1;
                    }
                    time = chrono::NaiveTime::MIN;
                }
                if n > 0 && day - first < WALK_LIMIT {
                    day = self.business_days_after(day, n, first + WALK_LIMIT);
                }
                NaiveDate::from_num_days_from_ce_opt(day)
                    .unwrap_or(start.date())
                    .and_time(time)
            }
        }
    }

    /// The business day `n` (> 0) business days after the business day `day`, or `limit` when
    /// that lies beyond it.
    ///
    /// Counted in weekdays, then once more for each holiday the span stepped over, until a
    /// span steps over none: a few operations per holiday in the span, where walking day by
    /// day costs a few per day.
    fn business_days_after(&self, day: i32, n: i64, limit: i32) -> i32 {
        let holidays_up_to = |d: i32| self.holidays.partition_point(|&h| h <= d);
        let (mut from, mut count) = (day, n);
        loop {
            let to = add_weekdays(from, count);
            let Some(to) = i32::try_from(to).ok().filter(|&to| to < limit) else {
                return limit;
            };
            // Holidays are weekdays: each one in the span is a business day it did not count.
            let stepped_over = holidays_up_to(to) - holidays_up_to(from);
            if stepped_over == 0 {
                return to;
            }
            (from, count) = (to, stepped_over as i64);
        }
    }

    /// Business days strictly between two dates' starts: how many business days separate
    /// `from` and `to` (0 when `to` ≤ `from`).
    pub fn business_days_between(&self, from: NaiveDate, to: NaiveDate) -> i64 {
        let (from, to) = (from.num_days_from_ce(), to.num_days_from_ce());
        let mut walk = self.walk_from(from);
        (from + 1..=to)
            .map(|day| i64::from(walk.is_business_day(day)))
            .sum()
    }

    /// True when `later` is more than `duration` after `earlier`.
    pub fn exceeds(
        &self,
        earlier: NaiveDateTime,
        later: NaiveDateTime,
        duration: ClockDuration,
    ) -> bool {
        later > self.add(earlier, duration)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dt(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap()
    }

    #[test]
    fn business_days_skip_weekend_and_holiday() {
        // 2026-11-26 is Thanksgiving (Thursday); 11-27 is also a holiday in the test calendar.
        let cal = Calendar::new([
            NaiveDate::from_ymd_opt(2026, 11, 26).unwrap(),
            NaiveDate::from_ymd_opt(2026, 11, 27).unwrap(),
        ]);
        // Wednesday 10:00 + 2 business days: Thu, Fri holidays, Sat, Sun weekend -> Mon, Tue.
        assert_eq!(
            cal.add(dt("2026-11-25 10:00"), ClockDuration::BusinessDays(2)),
            dt("2026-12-01 10:00")
        );
        // Saturday counts from Monday 00:00.
        assert_eq!(
            cal.add(dt("2026-11-21 15:00"), ClockDuration::BusinessDays(1)),
            dt("2026-11-24 00:00")
        );
        assert_eq!(
            cal.add(dt("2026-11-20 09:00"), ClockDuration::Hours(72)),
            dt("2026-11-23 09:00")
        );
        assert_eq!(
            cal.add(dt("2026-11-20 09:00"), ClockDuration::Days(7)),
            dt("2026-11-27 09:00")
        );
        assert_eq!(
            cal.business_days_between(
                NaiveDate::from_ymd_opt(2026, 11, 25).unwrap(),
                NaiveDate::from_ymd_opt(2026, 11, 30).unwrap()
            ),
            1
        );
    }

    /// The day-by-day definition, with chrono's weekdays and a set of holidays.
    fn naive_add(holidays: &[NaiveDate], start: NaiveDateTime, n: i64) -> NaiveDateTime {
        use chrono::Weekday;
        let works = |d: NaiveDate| {
            !matches!(d.weekday(), Weekday::Sat | Weekday::Sun) && !holidays.contains(&d)
        };
        let (mut date, mut time) = (start.date(), start.time());
        if !works(date) {
            while !works(date) {
                date = date.succ_opt().unwrap();
            }
            time = chrono::NaiveTime::MIN;
        }
        let mut left = n;
        while left > 0 {
            date = date.succ_opt().unwrap();
            if works(date) {
                left -= 1;
            }
        }
        date.and_time(time)
    }

    #[test]
    fn day_number_walk_matches_the_day_by_day_definition() {
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
        // Consecutive holidays, a holiday on a Saturday, a duplicate, unsorted input.
        let holidays = vec![
            d(2026, 12, 25),
            d(2026, 11, 26),
            d(2026, 11, 27),
            d(2027, 1, 1),
            d(2026, 7, 4),
            d(2026, 11, 26),
            d(2027, 5, 31),
        ];
        let cal = Calendar::new(holidays.clone());
        let mut start = dt("2026-06-01 09:30");
        while start < dt("2027-07-01 00:00") {
            for n in 0..12 {
                assert_eq!(
                    cal.add(start, ClockDuration::BusinessDays(n)),
                    naive_add(&holidays, start, n),
                    "{start} + {n} business days"
                );
            }
            let day = start.date();
            let works = !holidays.contains(&day)
                && !matches!(day.weekday(), chrono::Weekday::Sat | chrono::Weekday::Sun);
            assert_eq!(cal.is_business_day(day), works, "{day}");
            start += Duration::hours(23);
        }
    }

    proptest::proptest! {
        /// Dense holiday clusters (runs of weekdays off, holidays on weekends) and long spans
        /// give the weekday count many spans to redo.
        #[test]
        fn weekday_count_matches_the_day_by_day_definition(
            offsets in proptest::collection::vec(0u32..120, 0..40),
            start_offset in 0u32..100,
            minutes in 0u32..1440,
            n in 0i64..70,
        ) {
            let base = NaiveDate::from_ymd_opt(2026, 10, 1).unwrap();
            let holidays: Vec<NaiveDate> =
                offsets.iter().map(|&o| base + Duration::days(i64::from(o))).collect();
            let cal = Calendar::new(holidays.clone());
            let start = (base + Duration::days(i64::from(start_offset))).and_hms_opt(0, 0, 0)
                .unwrap() + Duration::minutes(i64::from(minutes));
            proptest::prop_assert_eq!(
                cal.add(start, ClockDuration::BusinessDays(n)),
                naive_add(&holidays, start, n)
            );
        }
    }

    #[test]
    fn a_business_day_count_past_the_walk_limit_stops_at_the_limit() {
        let cal = Calendar::new([NaiveDate::from_ymd_opt(2026, 11, 26).unwrap()]);
        let start = dt("2026-11-23 08:00");
        let limit = start + Duration::days(i64::from(WALK_LIMIT));
        for n in [7_143, 100_000, i64::MAX] {
            assert_eq!(cal.add(start, ClockDuration::BusinessDays(n)), limit, "{n}");
        }
        // Just inside the limit: 7,142 weekdays are 1,428 weeks and 2 days, less a holiday.
        let inside = cal.add(start, ClockDuration::BusinessDays(7_141));
        assert_eq!(inside, start + Duration::days(1_428 * 7 + 2));
    }

    #[test]
    fn hours_and_days_add_like_chrono() {
        let cal = Calendar::default();
        let mut start = dt("2026-02-27 23:59") + Duration::milliseconds(1500);
        while start < dt("2026-03-04 00:00") {
            for h in [0, 1, 23, 24, 25, 72, 1000, -5] {
                assert_eq!(
                    cal.add(start, ClockDuration::Hours(h)),
                    start + Duration::hours(h),
                    "{start} + {h}h"
                );
            }
            for d in [0, 1, 7, 14, 30, 366] {
                assert_eq!(
                    cal.add(start, ClockDuration::Days(d)),
                    start + Duration::days(d),
                    "{start} + {d}d"
                );
            }
            start += Duration::minutes(97);
        }
        // Past the representable range: saturated, not a panic.
        let end = NaiveDateTime::MAX;
        assert_eq!(cal.add(end, ClockDuration::Days(1)), end);
        assert_eq!(cal.add(start, ClockDuration::Hours(i64::MAX)), end);
        assert_eq!(
            cal.add(start, ClockDuration::Days(-i64::MAX)),
            NaiveDateTime::MIN
        );
    }

    #[test]
    fn durations_parse() {
        assert_eq!(ClockDuration::parse("72h"), Some(ClockDuration::Hours(72)));
        assert_eq!(
            ClockDuration::parse("2bd"),
            Some(ClockDuration::BusinessDays(2))
        );
        assert_eq!(ClockDuration::parse("30d"), Some(ClockDuration::Days(30)));
        assert_eq!(ClockDuration::parse("x"), None);
        assert_eq!(ClockDuration::parse("5w"), None);
    }
}
