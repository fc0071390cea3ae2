//! Small helpers shared by the CSV readers: header matching, dates and code lists.
//!
//! Fax-queue exports come from data entry and OCR: headers vary in case and punctuation, dates
//! come as `YYYY-MM-DD` or `MM/DD/YYYY`, code lists are separated by `;`, `|` or `,`, and
//! ICD-10 codes may carry their dot. These functions accept exactly those variants.

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};

/// Lower case, without spaces, `-` and `_` (so `Member ID`, `member-id` and `member_id` match).
pub fn normalize_header(h: &str) -> String {
    h.trim_start_matches('\u{feff}')
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '_' | '\t'))
        .flat_map(char::to_lowercase)
        .collect()
}

/// Index of the first header matching any of `names` (compared normalized).
pub fn header_index(headers: &[String], names: &[&str]) -> Option<usize> {
    names.iter().find_map(|n| {
        let n = normalize_header(n);
        headers.iter().position(|h| *h == n)
    })
}

/// `YYYY-MM-DD` or `MM/DD/YYYY`.
pub fn parse_date(s: &str) -> Option<NaiveDate> {
    let s = s.trim();
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(s, "%m/%d/%Y"))
        .ok()
}

/// `YYYY-MM-DD HH:MM[:SS]` (or with `T`), `MM/DD/YYYY HH:MM`, or a bare date (midnight).
pub fn parse_timestamp(s: &str) -> Option<NaiveDateTime> {
    let s = s.trim();
    for f in [
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
        "%m/%d/%Y %H:%M:%S",
        "%m/%d/%Y %H:%M",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, f) {
            return Some(t);
        }
    }
    parse_date(s).map(|d| d.and_time(NaiveTime::MIN))
}

/// Splits a code list on `;`, `|` or `,`, trims, upper-cases and drops ICD dots.
pub fn split_codes(s: &str) -> Vec<crate::request::Text> {
    s.split([';', '|', ','])
        .map(|c| {
            c.trim()
                .chars()
                .filter(|&ch| ch != '.')
                .map(|ch| ch.to_ascii_uppercase())
                .collect::<crate::request::Text>()
        })
        .filter(|c| !c.is_empty())
        .collect()
}

/// `Y`/`N` flags as exported (`Y`, `yes`, `true`, `1`; empty is no).
pub fn parse_flag(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "y" | "yes" | "true" | "1" | "x" => Some(true),
        "n" | "no" | "false" | "0" | "" => Some(false),
        _ => None,
    }
}
