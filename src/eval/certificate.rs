//! Certification (tracking) numbers: deterministic from the request id, held inline.

use crate::policy::MAX_CERTIFICATION_PREFIX as MAX_PREFIX;
use serde::{Serialize, Serializer};
use std::fmt;

/// A certification number: the policy's prefix and 16 hex digits of a hash of the request id.
///
/// Held inline (no allocation): one is made for nearly every decision.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct CertificationNumber {
    bytes: [u8; MAX_PREFIX + 16],
    len: u8,
}

/// A policy's prefix, cleaned once, from which its numbers are made.
#[derive(Clone, Copy, Debug)]
pub struct CertificationPrefix(CertificationNumber);

impl CertificationPrefix {
    /// `prefix` cut to `MAX_PREFIX` bytes and to the bytes [`is_valid_prefix`] allows
    /// (policies with anything else are refused when loaded).
    pub fn new(prefix: &str) -> Self {
        let mut bytes = [0u8; MAX_PREFIX + 16];
        let mut len = 0;
        for (slot, b) in bytes.iter_mut().zip(usable_prefix(prefix)) {
            *slot = b;
            len += 1;
        }
        CertificationPrefix(CertificationNumber { bytes, len })
    }

    /// The number for a request id: the prefix, then 16 hex digits of a hash of the id.
    pub fn number(&self, request_id: &str) -> CertificationNumber {
        // FNV-1a over the id, then the SplitMix64 finaliser: stable across releases and
        // platforms; 64 bits keep collisions negligible in a run (the run checks anyway).
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in request_id.bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        h ^= h >> 31;
        let mut n = self.0;
        let at = usize::from(n.len);
        if let Some(to) = n.bytes.get_mut(at..at + 16) {
            to.copy_from_slice(&upper_hex(h));
            n.len += 16;
        }
        n
    }
}

impl CertificationNumber {
    /// The number for a request id with `prefix` (see [`CertificationPrefix`], which cleans
    /// the prefix once for a run's numbers).
    pub fn new(prefix: &str, request_id: &str) -> Self {
        CertificationPrefix::new(prefix).number(request_id)
    }

    /// The number's bytes, for writers: no UTF-8 check (which cost more than writing it).
    pub fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..usize::from(self.len)).unwrap_or_default()
    }

    /// The number as text.
    pub fn as_str(&self) -> &str {
        let bytes = self.bytes.get(..usize::from(self.len)).unwrap_or_default();
        // A prefix cut at a character boundary, then ASCII hex digits.
        std::str::from_utf8(bytes).unwrap_or_default()
    }
}

/// Whether `prefix` can begin certification numbers as it is: ASCII letters, digits, `-`, `_`
/// and `.`, beginning with a letter or a digit, at most `MAX_PREFIX` bytes. A number is read out
/// over the phone and typed into portals; it then never needs quotes or neutralising in a CSV
/// cell, so the report writer copies it as it is.
pub fn is_valid_prefix(prefix: &str) -> bool {
    prefix.len() <= MAX_PREFIX && usable_prefix(prefix).eq(prefix.bytes())
}

/// The bytes of `prefix` that [`is_valid_prefix`] allows, leading punctuation dropped, at most
/// `MAX_PREFIX` of them.
fn usable_prefix(prefix: &str) -> impl Iterator<Item = u8> + '_ {
    prefix
        .bytes()
        .filter(|&b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        .skip_while(|b| !b.is_ascii_alphanumeric())
        .take(MAX_PREFIX)
}

/// `h` as 16 upper-case hex digits, all at once in a `u128`: each nibble is spread into its
/// own byte, then turned into its digit with the bytes side by side (a digit per loop turn
/// cost a third of the time of deciding a request's number).
fn upper_hex(h: u64) -> [u8; 16] {
    const ONES: u128 = u128::MAX / 0xFF;
    let mut x = u128::from(h);
    // Halves, quarters, bytes and nibbles each move up into a lane twice their width.
    x = (x | (x << 32)) & 0x0000_0000_FFFF_FFFF_0000_0000_FFFF_FFFF;
    x = (x | (x << 16)) & 0x0000_FFFF_0000_FFFF_0000_FFFF_0000_FFFF;
    x = (x | (x << 8)) & 0x00FF_00FF_00FF_00FF_00FF_00FF_00FF_00FF;
    x = (x | (x << 4)) & (ONES * 0x0F);
    // 1 in the bytes holding 10..=15: those skip the 7 characters between `9` and `A`.
    let letters = ((x + ONES * 6) >> 4) & ONES;
    (x + ONES * u128::from(b'0') + letters * 7).to_be_bytes()
}

impl std::ops::Deref for CertificationNumber {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<[u8]> for CertificationNumber {
    fn as_ref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl fmt::Display for CertificationNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for CertificationNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl Serialize for CertificationNumber {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_then_sixteen_hex_digits_stable_across_releases() {
        // The number earlier releases wrote in decisions.csv for this fax row: a number
        // given to a provider never changes with an upgrade.
        let n = CertificationNumber::new("UMB", "f20k:FX-00000000");
        assert_eq!(n.as_str(), "UMB97CB978C11027D35");
        assert_eq!(n.to_string(), "UMB97CB978C11027D35");
        assert_ne!(n, CertificationNumber::new("UMB", "f20k:FX-00000001"));
        let long = "U".repeat(40);
        let cut = CertificationNumber::new(&long, "x");
        assert_eq!(cut.as_str().len(), 34 + 16, "cut at 34");
        assert_eq!(CertificationNumber::new("", "x").as_str().len(), 16);
    }

    #[test]
    fn a_prefix_keeps_only_what_reads_safely_everywhere() {
        for ok in ["", "UMB", "UM-2026.", "A_1", &"U".repeat(34)] {
            assert!(is_valid_prefix(ok), "{ok}");
        }
        for bad in [
            "=UMB",
            "-UM",
            "UM B",
            "UMÉ",
            "U*M",
            "U,M",
            "U\"M",
            &"U".repeat(35),
        ] {
            assert!(!is_valid_prefix(bad), "{bad}");
        }
        // Made anyway (not through a policy): what is not allowed is dropped.
        let n = CertificationNumber::new("=é U-M", "x");
        assert_eq!(&n.as_str()[..3], "U-M");
        assert_eq!(n.as_str().len(), 3 + 16);
        assert_eq!(n.as_bytes(), n.as_str().as_bytes());
    }

    proptest::proptest! {
        #[test]
        fn hex_digits_match_the_formatter(h: u64) {
            let digits = upper_hex(h);
            proptest::prop_assert_eq!(std::str::from_utf8(&digits).unwrap(), format!("{h:016X}"));
        }
    }

    #[test]
    fn hex_digits_at_the_edges() {
        for h in [0, u64::MAX, 0x0123_4567_89AB_CDEF, 0xA000_0000_0000_0009] {
            assert_eq!(upper_hex(h), format!("{h:016X}").as_bytes(), "{h:x}");
        }
    }
}
