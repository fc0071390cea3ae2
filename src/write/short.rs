//! Short ASCII values (dates, times, counters) formatted on the stack.
//!
//! The response writer and the report renderer run once per request; `format!` there cost an
//! allocation and a trip through `core::fmt` for every date and counter.

use chrono::{Datelike, NaiveDate, NaiveDateTime, Timelike};

/// Up to 32 ASCII bytes; pushes beyond that are dropped (nothing we format is that long).
pub(crate) struct Short {
    buf: [u8; 32],
    len: usize,
}

impl Short {
    pub(crate) fn new() -> Self {
        Short {
            buf: [0; 32],
            len: 0,
        }
    }

    pub(crate) fn push(&mut self, b: u8) -> &mut Self {
        if let Some(slot) = self.buf.get_mut(self.len) {
            *slot = b;
            self.len += 1;
        }
        self
    }

    /// `v` as exactly `width` digits, zero-padded (higher digits dropped). Digits are written
    /// from the right into their slots (a division by the constant 10 is a multiply); a value
    /// that does not fit in what is left of the buffer is dropped whole.
    pub(crate) fn padded(&mut self, v: u64, width: u32) -> &mut Self {
        let end = self.len + width as usize;
        if width == 2 {
            // Months, days, hours, minutes: two bytes from the table.
            if let Some(slots) = self.buf.get_mut(self.len..end) {
                slots.copy_from_slice(&pair((v % 100) as u32));
                self.len = end;
            }
            return self;
        }
        if let Some(slots) = self.buf.get_mut(self.len..end) {
            let mut rest = v;
            for slot in slots.iter_mut().rev() {
                *slot = b'0' + (rest % 10) as u8;
                rest /= 10;
            }
            self.len = end;
        }
        self
    }

    /// `v` in decimal, as many digits as it needs.
    pub(crate) fn number(&mut self, v: u64) -> &mut Self {
        let mut width = 1;
        while width < 20 && v >= 10u64.pow(width) {
            width += 1;
        }
        self.padded(v, width)
    }

    /// A signed number.
    pub(crate) fn signed(&mut self, v: i64) -> &mut Self {
        if v < 0 {
            self.push(b'-');
        }
        self.number(v.unsigned_abs())
    }

    /// The year: four digits, more when it needs them (dates before year 0 print as 0000).
    /// Only the rare dates that [`date_pairs`] leaves out come here.
    fn year(&mut self, d: NaiveDate) -> &mut Self {
        match u64::try_from(d.year()) {
            Ok(y) if y > 9999 => self.number(y),
            Ok(y) => self.padded(y, 4),
            Err(_) => self.padded(0, 4),
        }
    }

    /// Appends `bytes` whole, or nothing when they do not fit.
    fn extend(&mut self, bytes: &[u8]) -> &mut Self {
        let end = self.len + bytes.len();
        if let Some(slots) = self.buf.get_mut(self.len..end) {
            slots.copy_from_slice(bytes);
            self.len = end;
        }
        self
    }

    /// `CCYYMMDD` (X12 D8).
    pub(crate) fn ymd(&mut self, d: NaiveDate) -> &mut Self {
        if let Some(text) = ymd_array(d) {
            return self.extend(&text);
        }
        self.year(d)
            .padded(u64::from(d.month()), 2)
            .padded(u64::from(d.day()), 2)
    }

    /// `YYYY-MM-DD` (ISO 8601).
    pub(crate) fn iso_date(&mut self, d: NaiveDate) -> &mut Self {
        if let Some(text) = iso_date_array(d) {
            return self.extend(&text);
        }
        self.year(d)
            .push(b'-')
            .padded(u64::from(d.month()), 2)
            .push(b'-')
            .padded(u64::from(d.day()), 2)
    }

    /// `YYYY-MM-DDTHH:MM:SS` (ISO 8601).
    pub(crate) fn iso_time(&mut self, t: NaiveDateTime) -> &mut Self {
        if let Some(text) = iso_time_array(t) {
            return self.extend(&text);
        }
        self.iso_date(t.date())
            .push(b'T')
            .padded(u64::from(t.hour()), 2)
            .push(b':')
            .padded(u64::from(t.minute()), 2)
            .push(b':')
            .padded(u64::from(t.second()), 2)
    }

    /// `HHMM` (X12 TM).
    pub(crate) fn hhmm(&mut self, t: NaiveDateTime) -> &mut Self {
        self.padded(u64::from(t.hour()), 2)
            .padded(u64::from(t.minute()), 2)
    }

    /// The bytes (ASCII), for writers that take bytes: no UTF-8 check.
    pub(crate) fn as_bytes(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or_default()
    }

    /// The text, checked as UTF-8: for callers that need a `str` (writers take bytes).
    pub(crate) fn as_str(&self) -> &str {
        self.buf
            .get(..self.len)
            .and_then(|b| std::str::from_utf8(b).ok())
            .unwrap_or("")
    }
}

impl AsRef<[u8]> for Short {
    fn as_ref(&self) -> &[u8] {
        self.as_bytes()
    }
}

/// `v % 100` as two ASCII digits.
fn pair(v: u32) -> [u8; 2] {
    // The index is below 100: `get` never fails and its check is optimised away.
    TWO_DIGIT_PAIRS
        .get((v % 100) as usize)
        .copied()
        .unwrap_or([b'0'; 2])
}

/// "00" to "99" as pairs.
#[allow(clippy::indexing_slicing)] // constant indices below 100, evaluated at compile time
const TWO_DIGIT_PAIRS: [[u8; 2]; 100] = {
    let mut t = [[0u8; 2]; 100];
    let mut i = 0;
    while i < 100 {
        t[i] = [b'0' + (i / 10) as u8, b'0' + (i % 10) as u8];
        i += 1;
    }
    t
};

/// Year, month and day as digit pairs, when the year has four digits (every date a request
/// can hold; others go through [`Short`]).
fn date_pairs(d: NaiveDate) -> Option<[[u8; 2]; 4]> {
    let y = u32::try_from(d.year()).ok().filter(|&y| y <= 9999)?;
    Some([pair(y / 100), pair(y), pair(d.month()), pair(d.day())])
}

/// `YYYY-MM-DD` in a fixed-size array: a report row copies it with no length to look at
/// (through [`Short`], each date cost a call to `memcpy` and a bounds check per byte).
pub(crate) fn iso_date_array(d: NaiveDate) -> Option<[u8; 10]> {
    let [[y1, y2], [y3, y4], [m1, m2], [d1, d2]] = date_pairs(d)?;
    Some([y1, y2, y3, y4, b'-', m1, m2, b'-', d1, d2])
}

/// `YYYY-MM-DDTHH:MM:SS` in a fixed-size array (see [`iso_date_array`]).
pub(crate) fn iso_time_array(t: NaiveDateTime) -> Option<[u8; 19]> {
    let [[y1, y2], [y3, y4], [m1, m2], [d1, d2]] = date_pairs(t.date())?;
    let ([h1, h2], [n1, n2], [s1, s2]) = (pair(t.hour()), pair(t.minute()), pair(t.second()));
    Some([
        y1, y2, y3, y4, b'-', m1, m2, b'-', d1, d2, b'T', h1, h2, b':', n1, n2, b':', s1, s2,
    ])
}

/// `CCYYMMDD` (X12 D8) in a fixed-size array (see [`iso_date_array`]).
pub(crate) fn ymd_array(d: NaiveDate) -> Option<[u8; 8]> {
    let [[y1, y2], [y3, y4], [m1, m2], [d1, d2]] = date_pairs(d)?;
    Some([y1, y2, y3, y4, m1, m2, d1, d2])
}

/// The bytes of "00" to "99", one after the other (the pairs, laid end to end).
#[allow(clippy::indexing_slicing)] // constant indices below 200, evaluated at compile time
const TWO_DIGIT_BYTES: [u8; 200] = {
    let mut b = [0u8; 200];
    let mut i = 0;
    while i < 200 {
        b[i] = TWO_DIGIT_PAIRS[i / 2][i % 2];
        i += 1;
    }
    b
};

/// The same as text, checked once at compile time.
const TWO_DIGITS: &str = match std::str::from_utf8(&TWO_DIGIT_BYTES) {
    Ok(s) => s,
    Err(_) => panic!("digits are ASCII"),
};

/// `v` in decimal: from the two-digit table below 100, else formatted into `buf`.
pub(crate) fn decimal(v: u32, buf: &mut Short) -> &str {
    match small_number(v) {
        Some(s) => s,
        None => buf.number(u64::from(v)).as_str(),
    }
}

/// `v` in decimal when it is below 100, with no formatting and no UTF-8 check (slicing ASCII
/// text only checks the two ends): the HL numbers and counts of a response.
fn small_number(v: u32) -> Option<&'static str> {
    let v = usize::try_from(v).ok().filter(|&v| v < 100)?;
    let from = if v < 10 { 2 * v + 1 } else { 2 * v };
    TWO_DIGITS.get(from..2 * v + 2)
}

#[cfg(test)]
mod tests {
    use super::Short;
    use chrono::{Datelike, NaiveDate};

    #[test]
    fn formats_like_format_would() {
        let d = NaiveDate::from_ymd_opt(2026, 3, 7).unwrap();
        let t = d.and_hms_opt(9, 5, 30).unwrap();
        assert_eq!(Short::new().ymd(d).as_str(), "20260307");
        assert_eq!(Short::new().iso_date(d).as_str(), "2026-03-07");
        assert_eq!(Short::new().iso_time(t).as_str(), "2026-03-07T09:05:30");
        assert_eq!(Short::new().hhmm(t).as_str(), "0905");
        assert_eq!(Short::new().number(0).as_str(), "0");
        assert_eq!(Short::new().number(1_000_000_007).as_str(), "1000000007");
        assert_eq!(Short::new().signed(-42).as_str(), "-42");
        assert_eq!(Short::new().number(u64::MAX).as_str(), u64::MAX.to_string());
    }

    #[test]
    fn padded_matches_format_at_every_width() {
        for v in [0u64, 5, 9, 10, 42, 99, 100, 123, 2026, 99_999] {
            for width in 1..=6u32 {
                let expected = format!("{v:0w$}", w = width as usize);
                let cut = expected.len() - width as usize;
                assert_eq!(
                    Short::new().padded(v, width).as_str(),
                    &expected[cut..],
                    "{v} in {width} digits"
                );
            }
        }
        // A value that does not fit in what is left of the buffer is dropped whole.
        let mut s = Short::new();
        s.padded(1, 20).padded(2, 10).padded(3, 2).padded(4, 2);
        assert_eq!(s.as_str(), "00000000000000000001000000000203");
    }

    #[test]
    fn fixed_size_dates_are_what_short_writes() {
        let mut days = vec![
            NaiveDate::from_ymd_opt(2026, 3, 7).unwrap(),
            NaiveDate::from_ymd_opt(1, 1, 1).unwrap(),
            NaiveDate::from_ymd_opt(9999, 12, 31).unwrap(),
            NaiveDate::from_ymd_opt(2024, 2, 29).unwrap(),
        ];
        let mut d = NaiveDate::from_ymd_opt(1899, 12, 25).unwrap();
        while d.year() < 2101 {
            days.push(d);
            d += chrono::Duration::days(37);
        }
        for d in days {
            let t = d.and_hms_opt(23, 59, 7).unwrap();
            let iso = d.format("%Y-%m-%d").to_string();
            assert_eq!(&super::iso_date_array(d).unwrap(), iso.as_bytes());
            assert_eq!(Short::new().iso_date(d).as_str(), iso);
            let time = t.format("%Y-%m-%dT%H:%M:%S").to_string();
            assert_eq!(&super::iso_time_array(t).unwrap(), time.as_bytes());
            assert_eq!(Short::new().iso_time(t).as_str(), time);
            let d8 = d.format("%Y%m%d").to_string();
            assert_eq!(&super::ymd_array(d).unwrap(), d8.as_bytes());
            assert_eq!(Short::new().ymd(d).as_str(), d8);
        }
        // Years without four digits are left to `Short`.
        let far = NaiveDate::from_ymd_opt(10000, 1, 1).unwrap();
        assert_eq!(super::iso_date_array(far), None);
        assert_eq!(Short::new().iso_date(far).as_str(), "10000-01-01");
        assert_eq!(Short::new().ymd(far).as_str(), "100000101");
        let t = far.and_hms_opt(1, 2, 3).unwrap();
        assert_eq!(super::iso_time_array(t), None);
        assert_eq!(Short::new().iso_time(t).as_str(), "10000-01-01T01:02:03");
        let bc = NaiveDate::from_ymd_opt(-1, 1, 1).unwrap();
        assert_eq!(super::ymd_array(bc), None);
        assert_eq!(Short::new().ymd(bc).as_str(), "00000101");
    }

    #[test]
    fn small_numbers_read_as_numbers() {
        for v in 0..100u32 {
            assert_eq!(super::small_number(v), Some(v.to_string().as_str()));
        }
        assert_eq!(super::small_number(100), None);
        assert_eq!(super::decimal(7, &mut Short::new()), "7");
        assert_eq!(super::decimal(1234, &mut Short::new()), "1234");
    }
}
