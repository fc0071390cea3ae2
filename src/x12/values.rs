//! Parsers for X12 simple data types: DT (CCYYMMDD), D8/RD8 periods, TM and R (decimal).
//!
//! Written with nom so each type is a small, total function over bytes: a value either parses
//! completely or is reported as invalid; nothing panics on odd input.

use chrono::NaiveDate;
use nom::bytes::complete::{tag, take_while_m_n};
use nom::character::complete::digit1;
use nom::combinator::{all_consuming, opt, recognize};
use nom::sequence::{pair, tuple};
use nom::IResult;

fn digits(n: usize) -> impl Fn(&str) -> IResult<&str, &str> {
    move |i| take_while_m_n(n, n, |c: char| c.is_ascii_digit())(i)
}

fn ccyymmdd(i: &str) -> IResult<&str, Option<NaiveDate>> {
    let (i, (y, m, d)) = tuple((digits(4), digits(2), digits(2)))(i)?;
    let date = match (y.parse(), m.parse(), d.parse()) {
        (Ok(y), Ok(m), Ok(d)) => NaiveDate::from_ymd_opt(y, m, d),
        _ => None,
    };
    Ok((i, date))
}

/// A DT / D8 date `CCYYMMDD`.
pub fn d8(s: &str) -> Option<NaiveDate> {
    all_consuming(ccyymmdd)(s).ok().and_then(|(_, d)| d)
}

/// An RD8 range `CCYYMMDD-CCYYMMDD` with start ≤ end.
pub fn rd8(s: &str) -> Option<(NaiveDate, NaiveDate)> {
    let (_, (a, _, b)) = all_consuming(tuple((ccyymmdd, tag("-"), ccyymmdd)))(s).ok()?;
    match (a, b) {
        (Some(a), Some(b)) if a <= b => Some((a, b)),
        _ => None,
    }
}

/// A TM time: HHMM, HHMMSS, HHMMSSD or HHMMSSDD.
pub fn valid_time(s: &str) -> bool {
    if !matches!(s.len(), 4 | 6 | 7 | 8) || !s.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let num = |r: std::ops::Range<usize>| s.get(r).and_then(|v| v.parse::<u32>().ok());
    let h_ok = num(0..2).is_some_and(|h| h < 24);
    let m_ok = num(2..4).is_some_and(|m| m < 60);
    let s_ok = s.len() < 6 || num(4..6).is_some_and(|v| v < 60);
    h_ok && m_ok && s_ok
}

fn decimal_text(i: &str) -> IResult<&str, &str> {
    recognize(tuple((
        opt(tag("-")),
        nom::branch::alt((
            recognize(pair(digit1, opt(pair(tag("."), opt(digit1))))),
            recognize(pair(tag("."), digit1)),
        )),
    )))(i)
}

/// An R (decimal) value: optional `-`, digits, optional decimal point; no exponent, no `+`.
pub fn decimal(s: &str) -> Option<f64> {
    let (_, t) = all_consuming(decimal_text)(s).ok()?;
    t.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(d8("20260201"), NaiveDate::from_ymd_opt(2026, 2, 1));
        assert_eq!(d8("20260230"), None);
        assert_eq!(d8("2026020"), None);
        assert_eq!(d8("202602011"), None);
        let (a, b) = rd8("20260201-20260228").unwrap();
        assert!(a < b);
        assert_eq!(rd8("20260228-20260201"), None);
    }

    #[test]
    fn times_and_decimals() {
        assert!(valid_time("0930"));
        assert!(valid_time("093015"));
        assert!(!valid_time("2560"));
        assert_eq!(decimal("1200"), Some(1200.0));
        assert_eq!(decimal("-12.5"), Some(-12.5));
        assert_eq!(decimal(".5"), Some(0.5));
        assert_eq!(decimal("1e3"), None);
        assert_eq!(decimal("+1"), None);
        assert_eq!(decimal(""), None);
    }
}
