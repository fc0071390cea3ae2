//! Parsers for X12 simple data types: DT (CCYYMMDD), D8/RD8 periods, TM and R (decimal).
//!
//! Each type is a small, total function: a value either parses completely or is reported as
//! invalid; nothing panics on odd input. Dates and decimals are checked byte by byte: one of
//! each is read for nearly every request, and the nom versions (digit runs, then `str`
//! parses) cost about 1,200 instructions per RD8 and 350 per decimal; tests pin them to those
//! versions.

use chrono::NaiveDate;

/// Eight ASCII digits `CCYYMMDD` as a calendar date.
fn ccyymmdd(bytes: &[u8]) -> Option<NaiveDate> {
    let digits: [u8; 8] = bytes.try_into().ok()?;
    let mut v = [0u32; 8];
    for (slot, &b) in v.iter_mut().zip(&digits) {
        if !b.is_ascii_digit() {
            return None;
        }
        *slot = u32::from(b - b'0');
    }
    let [y1, y2, y3, y4, m1, m2, d1, d2] = v;
    let year = y1 * 1000 + y2 * 100 + y3 * 10 + y4;
    NaiveDate::from_ymd_opt(year as i32, m1 * 10 + m2, d1 * 10 + d2)
}

/// A DT / D8 date `CCYYMMDD`.
pub fn d8(s: &str) -> Option<NaiveDate> {
    ccyymmdd(s.as_bytes())
}

/// An RD8 range `CCYYMMDD-CCYYMMDD` with start ≤ end.
pub fn rd8(s: &str) -> Option<(NaiveDate, NaiveDate)> {
    let (a, rest) = s.as_bytes().split_at_checked(8)?;
    let b = rest.strip_prefix(b"-")?;
    match (ccyymmdd(a), ccyymmdd(b)) {
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

/// Powers of ten a double holds exactly.
const POWERS_OF_TEN: [f64; 16] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
];

/// An R (decimal) value: optional `-`, digits, optional decimal point; no exponent, no `+`.
///
/// Up to 15 digits, the digits as an integer divided by a power of ten is exact: both are
/// doubles exactly, and one IEEE division rounds once, as a full decimal parse does. Longer
/// values (never seen in a 278) go to the general parser.
pub fn decimal(s: &str) -> Option<f64> {
    let bytes = s.as_bytes();
    let (negative, body) = match bytes.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, bytes),
    };
    let mut digits = 0usize;
    let mut mantissa = 0u64;
    let mut fraction_digits: Option<usize> = None;
    for &b in body {
        match b {
            b'0'..=b'9' => {
                if digits < 19 {
                    mantissa = mantissa * 10 + u64::from(b - b'0');
                }
                digits += 1;
                if let Some(f) = fraction_digits.as_mut() {
                    *f += 1;
                }
            }
            b'.' if fraction_digits.is_none() => fraction_digits = Some(0),
            _ => return None,
        }
    }
    if digits == 0 {
        return None;
    }
    match POWERS_OF_TEN.get(fraction_digits.unwrap_or(0)) {
        Some(&power) if digits <= 15 => {
            let v = mantissa as f64 / power;
            Some(if negative { -v } else { v })
        }
        _ => s.parse().ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nom::bytes::complete::{tag, take_while_m_n};
    use nom::character::complete::digit1;
    use nom::combinator::{all_consuming, opt, recognize};
    use nom::sequence::{pair, tuple};
    use nom::IResult;

    /// The nom decimal reader the byte-by-byte one replaced: the reference it must match.
    fn nom_decimal(s: &str) -> Option<f64> {
        fn text(i: &str) -> IResult<&str, &str> {
            recognize(tuple((
                opt(tag("-")),
                nom::branch::alt((
                    recognize(pair(digit1, opt(pair(tag("."), opt(digit1))))),
                    recognize(pair(tag("."), digit1)),
                )),
            )))(i)
        }
        let (_, t) = all_consuming(text)(s).ok()?;
        t.parse().ok()
    }

    /// The nom date parsers the byte-by-byte ones replaced: the reference they must match.
    fn nom_ccyymmdd(i: &str) -> IResult<&str, Option<NaiveDate>> {
        let digits = |n| move |i| take_while_m_n(n, n, |c: char| c.is_ascii_digit())(i);
        let (i, (y, m, d)) = tuple((digits(4), digits(2), digits(2)))(i)?;
        let date = match (y.parse(), m.parse(), d.parse()) {
            (Ok(y), Ok(m), Ok(d)) => NaiveDate::from_ymd_opt(y, m, d),
            _ => None,
        };
        Ok((i, date))
    }

    fn nom_d8(s: &str) -> Option<NaiveDate> {
        all_consuming(nom_ccyymmdd)(s).ok().and_then(|(_, d)| d)
    }

    fn nom_rd8(s: &str) -> Option<(NaiveDate, NaiveDate)> {
        let (_, (a, _, b)) =
            all_consuming(tuple((nom_ccyymmdd, tag("-"), nom_ccyymmdd)))(s).ok()?;
        match (a, b) {
            (Some(a), Some(b)) if a <= b => Some((a, b)),
            _ => None,
        }
    }

    proptest::proptest! {
        #[test]
        fn decimals_read_as_the_nom_parser_reads_them(
            s in "-?[0-9]{0,22}(\\.[0-9]{0,22})?|[-+0-9.e ]{0,8}|-?0*[0-9]{1,3}\\.[0-9]{0,3}",
        ) {
            let (ours, reference) = (decimal(&s), nom_decimal(&s));
            // Bit for bit (-0 included); both None for what is not an R value.
            proptest::prop_assert_eq!(ours.map(f64::to_bits), reference.map(f64::to_bits), "{}", s);
        }

        #[test]
        fn dates_read_as_the_nom_parsers_read_them(
            a in "[0-9]{8}|[0-9]{0,9}|[0-9a\\- é]{0,10}",
            b in "[0-9]{8}|[0-9]{0,9}|[0-9 é]{0,9}",
            cut in 0usize..3,
        ) {
            proptest::prop_assert_eq!(d8(&a), nom_d8(&a), "{}", a);
            let sep = ["-", "", "--"][cut];
            let range = format!("{a}{sep}{b}");
            proptest::prop_assert_eq!(rd8(&range), nom_rd8(&range), "{}", range);
        }
    }

    #[test]
    fn real_dates_agree_with_nom() {
        let mut day = NaiveDate::from_ymd_opt(1999, 12, 25).unwrap();
        while day < NaiveDate::from_ymd_opt(2001, 3, 5).unwrap() {
            let text = day.format("%Y%m%d").to_string();
            assert_eq!(d8(&text), Some(day));
            assert_eq!(nom_d8(&text), Some(day));
            let range = format!("{text}-20010301");
            assert_eq!(rd8(&range), nom_rd8(&range));
            day = day.succ_opt().unwrap();
        }
        assert_eq!(d8("20240229"), nom_d8("20240229"));
        assert_eq!(d8("21000229"), None);
    }

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
        for odd in [".", "-", "-.", "1.2.3", "--1", "1-", " 1"] {
            assert_eq!(decimal(odd), None, "{odd}");
        }
        assert_eq!(decimal("5."), Some(5.0));
        assert_eq!(decimal("-0").map(f64::to_bits), Some((-0.0f64).to_bits()));
        assert_eq!(decimal("0.1"), Some(0.1));
        assert_eq!(decimal("123456789012.345"), Some(123456789012.345));
        assert_eq!(
            decimal("12345678901234567890.5"),
            Some(12345678901234567890.5)
        );
    }
}
