//! Code sets: named lists of procedure or diagnosis codes, compiled once for fast matching.
//!
//! Entries are exact codes (`0042T`), inclusive ranges of same-length codes (`70010-79999`,
//! `E0100-E9999`; compared as text, which orders CPT, HCPCS and CDT codes correctly within one
//! length) or prefixes (`O80*`, `Z3A*`, useful for ICD-10 categories).

use rustc_hash::FxHashSet as HashSet;

/// A compiled code set.
#[derive(Debug, Clone, Default)]
pub struct CodeSet {
    exact: HashSet<String>,
    ranges: Vec<(String, String)>,
    prefixes: Vec<String>,
}

impl CodeSet {
    /// Compiles entries; returns the first entry that cannot be read.
    pub fn compile(entries: &[String]) -> Result<CodeSet, String> {
        let mut set = CodeSet::default();
        for raw in entries {
            let e = raw.trim().to_ascii_uppercase().replace('.', "");
            if e.is_empty() {
                return Err("an empty code".into());
            }
            if let Some(p) = e.strip_suffix('*') {
                if p.is_empty() || !p.bytes().all(|b| b.is_ascii_alphanumeric()) {
                    return Err(format!("`{raw}` is not a valid prefix"));
                }
                set.prefixes.push(p.to_string());
            } else if let Some((lo, hi)) = e.split_once('-') {
                let ok = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric());
                if !ok(lo) || !ok(hi) || lo.len() != hi.len() || lo > hi {
                    return Err(format!(
                        "`{raw}` is not a range of two codes of the same length, low to high"
                    ));
                }
                set.ranges.push((lo.to_string(), hi.to_string()));
            } else if e.bytes().all(|b| b.is_ascii_alphanumeric()) {
                set.exact.insert(e);
            } else {
                return Err(format!("`{raw}` is not a code, a range or a prefix"));
            }
        }
        Ok(set)
    }

    /// True when `code` belongs to the set.
    pub fn contains(&self, code: &str) -> bool {
        if self.exact.contains(code) {
            return true;
        }
        if self
            .ranges
            .iter()
            .any(|(lo, hi)| code.len() == lo.len() && code >= lo.as_str() && code <= hi.as_str())
        {
            return true;
        }
        self.prefixes.iter().any(|p| code.starts_with(p.as_str()))
    }

    /// True when any of `codes` belongs to the set.
    pub fn any(&self, codes: &[String]) -> bool {
        codes.iter().any(|c| self.contains(c))
    }

    /// True when every one of `codes` (at least one) belongs to the set.
    pub fn all(&self, codes: &[String]) -> bool {
        !codes.is_empty() && codes.iter().all(|c| self.contains(c))
    }
}

/// True for a well-formed CPT (5 digits, or 4 digits + F/T/U), HCPCS level II (letter + 4
/// digits) or CDT (`D` + 4 digits) code. Revenue codes are not procedure codes.
pub fn is_procedure_code(c: &str) -> bool {
    let b = c.as_bytes();
    match b.len() {
        5 => {
            let digits4 = b.get(..4).is_some_and(|p| p.iter().all(u8::is_ascii_digit));
            let last = b.get(4).copied().unwrap_or(0);
            let first = b.first().copied().unwrap_or(0);
            let rest4 = b.get(1..).is_some_and(|p| p.iter().all(u8::is_ascii_digit));
            (digits4 && (last.is_ascii_digit() || matches!(last, b'F' | b'T' | b'U')))
                || (first.is_ascii_uppercase() && rest4)
        }
        _ => false,
    }
}

/// True for a well-formed ICD-10-CM code without its dot: a letter, a digit, then 1 to 5
/// alphanumerics (3 to 7 characters in all).
pub fn is_icd10_code(c: &str) -> bool {
    let b = c.as_bytes();
    (3..=7).contains(&b.len())
        && b.first().is_some_and(u8::is_ascii_uppercase)
        && b.get(1).is_some_and(u8::is_ascii_digit)
        && b.iter().skip(2).all(|x| x.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_prefixes_and_exact() {
        let s = CodeSet::compile(&[
            "70010-79999".into(),
            "O80*".into(),
            "0042t".into(),
            "E0100-E9999".into(),
        ])
        .unwrap();
        assert!(s.contains("73721"));
        assert!(!s.contains("80050"));
        assert!(s.contains("O800"));
        assert!(s.contains("0042T"));
        assert!(s.contains("E0601"));
        assert!(!s.contains("7372"));
        assert!(CodeSet::compile(&["7-79999".into()]).is_err());
        assert!(CodeSet::compile(&["A*B".into()]).is_err());
    }

    #[test]
    fn code_shapes() {
        for ok in ["73721", "0042T", "E0601", "D7240", "G0154"] {
            assert!(is_procedure_code(ok), "{ok}");
        }
        for bad in ["7372", "0450", "ABCDE", "737211", "", "7372X"] {
            assert!(!is_procedure_code(bad), "{bad}");
        }
        for ok in ["M25561", "I10", "S72001A", "Z3A39", "O321XX0"] {
            assert!(is_icd10_code(ok), "{ok}");
        }
        for bad in ["M2", "25561", "MM5561", "M25561234"] {
            assert!(!is_icd10_code(bad), "{bad}");
        }
    }
}
