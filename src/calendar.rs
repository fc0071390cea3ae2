//! Business-day calendar and clock durations.
//!
//! Deadlines in the seed policies and regulations come in three units: hours ("72 hours"),
//! calendar days ("7 calendar days", "90 days") and business days ("2 business days", "5
//! business days"). Business days skip Saturdays, Sundays and the policy's holidays; a
//! business-day deadline keeps the time of day of its start (received Friday 10:00 + 2 business
//! days = Tuesday 10:00, or Wednesday when Monday is a holiday).

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, Weekday};
use serde::Serialize;
use std::collections::BTreeSet;
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

/// A calendar of non-working days.
#[derive(Debug, Clone, Default)]
pub struct Calendar {
    holidays: BTreeSet<NaiveDate>,
}

impl Calendar {
    /// A calendar with these holidays (weekends are always non-working).
    pub fn new(holidays: impl IntoIterator<Item = NaiveDate>) -> Self {
        Calendar {
            holidays: holidays.into_iter().collect(),
        }
    }

    /// True for Monday–Friday that is not a holiday.
    pub fn is_business_day(&self, d: NaiveDate) -> bool {
        !matches!(d.weekday(), Weekday::Sat | Weekday::Sun) && !self.holidays.contains(&d)
    }

    /// The instant `duration` after `start`.
    pub fn add(&self, start: NaiveDateTime, duration: ClockDuration) -> NaiveDateTime {
        match duration {
            ClockDuration::Hours(h) => start + Duration::hours(h),
            ClockDuration::Days(d) => start + Duration::days(d),
            ClockDuration::BusinessDays(n) => {
                let mut date = start.date();
                let mut left = n;
                // A start on a non-working day counts from the next business day's start.
                let mut time = start.time();
                if !self.is_business_day(date) {
                    while !self.is_business_day(date) {
                        date = date.succ_opt().unwrap_or(date);
                    }
                    time = chrono::NaiveTime::MIN;
                }
                let mut guard = 0;
                while left > 0 && guard < 10_000 {
                    date = date.succ_opt().unwrap_or(date);
                    if self.is_business_day(date) {
                        left -= 1;
                    }
                    guard += 1;
                }
                date.and_time(time)
            }
        }
    }

    /// Business days strictly between two dates' starts: how many business days separate
    /// `from` and `to` (0 when `to` ≤ `from`).
    pub fn business_days_between(&self, from: NaiveDate, to: NaiveDate) -> i64 {
        if to <= from {
            return 0;
        }
        let mut n = 0;
        let mut d = from;
        while d < to {
            d = d.succ_opt().unwrap_or(to);
            if self.is_business_day(d) {
                n += 1;
            }
        }
        n
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
