//! Code sets: named lists of procedure or diagnosis codes, compiled once for fast matching.
//!
//! Entries are exact codes (`0042T`), inclusive ranges of same-length codes (`70010-79999`,
//! `E0100-E9999`; compared as text, which orders CPT, HCPCS and CDT codes correctly within one
//! length) or prefixes (`O80*`, `Z3A*`, useful for ICD-10 categories).

/// Longest code a set entry may hold. ICD-10-CM codes have 7 characters, CPT, HCPCS and CDT 5;
/// 15 leaves room and lets a code, with its length, fit in one `u128`.
const MAX_CODE: usize = 15;

/// A code as one integer: its first 15 bytes big-endian, then its length (capped at 255) in
/// the low byte. Among codes of one length, integer order is text order, so ranges and
/// prefixes and exact codes are integer comparisons: a rule's code test costs no string
/// comparison.
fn key(code: &[u8]) -> u128 {
    // Shifted in byte by byte: codes are 5 to 7 bytes, and this compiles to a few register
    // operations per byte (filling a byte array and swapping it cost four times as much).
    let mut k: u128 = 0;
    for &b in code.iter().take(MAX_CODE) {
        k = (k << 8) | u128::from(b);
    }
    let used = code.len().min(MAX_CODE) as u32;
    // An empty code shifts by 128, which only `checked_shl` allows (its key is the length 0).
    let k = k.checked_shl(8 * (MAX_CODE as u32 - used) + 8).unwrap_or(0);
    k | code.len().min(255) as u128
}

/// The length byte of a key.
fn key_len(k: u128) -> u128 {
    k & 0xFF
}

/// Mask over the first `n` bytes of a key (n ≤ 15).
fn prefix_mask(n: usize) -> u128 {
    let bits = (n.min(MAX_CODE) * 8) as u32;
    // All ones over the top `bits` bits of the 128.
    u128::MAX.checked_shl(128 - bits).unwrap_or(0)
}

/// Sorted, with overlapping ranges joined: at most one range can hold a key.
fn merged(mut ranges: Vec<(u128, u128)>) -> Vec<(u128, u128)> {
    ranges.sort_unstable();
    let mut out: Vec<(u128, u128)> = Vec::with_capacity(ranges.len());
    for (lo, hi) in ranges {
        match out.last_mut() {
            Some(last) if lo <= last.1 => last.1 = last.1.max(hi),
            _ => out.push((lo, hi)),
        }
    }
    out
}

/// A compiled code set.
#[derive(Debug, Clone, Default)]
pub struct CodeSet {
    /// By code length: exact codes and ranges as inclusive (low, high) keys, sorted and
    /// merged so that they do not overlap. A lookup is a binary search in a short list:
    /// cheaper than hashing a `u128`, and one step for exact codes and ranges alike.
    by_len: [Vec<(u128, u128)>; MAX_CODE + 1],
    /// (prefix bytes as a key without length, mask over them, prefix length).
    prefixes: Vec<(u128, u128, u128)>,
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
            let too_long = |s: &str| {
                (s.len() > MAX_CODE).then(|| {
                    format!("`{raw}` is longer than {MAX_CODE} characters, longer than any code")
                })
            };
            if let Some(p) = e.strip_suffix('*') {
                if p.is_empty() || !p.bytes().all(|b| b.is_ascii_alphanumeric()) {
                    return Err(format!("`{raw}` is not a valid prefix"));
                }
                if let Some(err) = too_long(p) {
                    return Err(err);
                }
                let mask = prefix_mask(p.len());
                set.prefixes
                    .push((key(p.as_bytes()) & mask, mask, p.len() as u128));
            } else if let Some((lo, hi)) = e.split_once('-') {
                let ok = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric());
                if !ok(lo) || !ok(hi) || lo.len() != hi.len() || lo > hi {
                    return Err(format!(
                        "`{raw}` is not a range of two codes of the same length, low to high"
                    ));
                }
                if let Some(err) = too_long(lo) {
                    return Err(err);
                }
                set.add(key(lo.as_bytes()), key(hi.as_bytes()));
            } else if e.bytes().all(|b| b.is_ascii_alphanumeric()) {
                if let Some(err) = too_long(&e) {
                    return Err(err);
                }
                let k = key(e.as_bytes());
                set.add(k, k);
            } else {
                return Err(format!("`{raw}` is not a code, a range or a prefix"));
            }
        }
        for list in &mut set.by_len {
            *list = merged(std::mem::take(list));
        }
        Ok(set)
    }

    /// Adds the inclusive key range `lo..=hi` (keys of one length).
    fn add(&mut self, lo: u128, hi: u128) {
        if let Some(list) = self.by_len.get_mut(key_len(lo) as usize) {
            list.push((lo, hi));
        }
    }

    /// True when `code` belongs to the set.
    pub fn contains(&self, code: &str) -> bool {
        let k = key(code.as_bytes());
        let listed = self.by_len.get(key_len(k) as usize).is_some_and(|list| {
            let after = list.partition_point(|&(lo, _)| lo <= k);
            after > 0 && list.get(after - 1).is_some_and(|&(_, hi)| k <= hi)
        });
        listed
            || self
                .prefixes
                .iter()
                .any(|&(bits, mask, len)| key_len(k) >= len && k & mask == bits)
    }

    /// True when any of `codes` belongs to the set.
    pub fn any<S: AsRef<str>>(&self, codes: &[S]) -> bool {
        codes.iter().any(|c| self.contains(c.as_ref()))
    }

    /// True when every one of `codes` (at least one) belongs to the set.
    pub fn all<S: AsRef<str>>(&self, codes: &[S]) -> bool {
        !codes.is_empty() && codes.iter().all(|c| self.contains(c.as_ref()))
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
        assert!(!s.contains("O8"), "shorter than the prefix");
        assert!(
            s.contains("O80123456789012345678"),
            "a long code still has its prefix"
        );
        assert!(
            !s.contains("7500"),
            "a shorter code is outside a range of 5-character codes"
        );
        assert!(!s.contains("0042T\0"), "exact codes compare their length");
        assert!(!s.contains(""));
        assert!(CodeSet::compile(&["ABCDEFGHIJKLMNOP".into()]).is_err());
        assert!(CodeSet::compile(&["7-79999".into()]).is_err());
        assert!(CodeSet::compile(&["A*B".into()]).is_err());
    }

    /// The text definition the integer keys must agree with.
    fn naive_contains(entries: &[String], code: &str) -> bool {
        entries.iter().any(|e| {
            if let Some(p) = e.strip_suffix('*') {
                code.starts_with(p)
            } else if let Some((lo, hi)) = e.split_once('-') {
                code.len() == lo.len() && code >= lo && code <= hi
            } else {
                code == e
            }
        })
    }

    proptest::proptest! {
        #[test]
        fn keys_agree_with_text_comparison(
            codes in proptest::collection::vec("[A-C0-2]{1,8}", 1..6),
            lengths in proptest::collection::vec(0usize..3, 1..6),
            probes in proptest::collection::vec("[A-C0-2\\x00]{0,9}", 1..20),
        ) {
            // Exact codes, ranges of two codes cut to one length, and prefixes.
            let mut entries = Vec::new();
            for (i, (c, kind)) in codes.iter().zip(lengths.iter().cycle()).enumerate() {
                match kind {
                    0 => entries.push(c.clone()),
                    1 => {
                        let other = &codes[(i + 1) % codes.len()];
                        let n = c.len().min(other.len());
                        let (a, b) = (&c[..n], &other[..n]);
                        let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
                        entries.push(format!("{lo}-{hi}"));
                    }
                    _ => entries.push(format!("{}*", &c[..c.len().div_ceil(2)])),
                }
            }
            let set = CodeSet::compile(&entries).unwrap();
            for p in probes.iter().chain(&codes) {
                proptest::prop_assert_eq!(set.contains(p), naive_contains(&entries, p), "{} in {:?}", p, entries);
            }
        }
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
