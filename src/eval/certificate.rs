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

impl CertificationNumber {
    /// The number for a request id. The prefix is cut to `MAX_PREFIX` bytes (policies longer
    /// than that are refused when loaded).
    pub fn new(prefix: &str, request_id: &str) -> Self {
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
        let mut bytes = [0u8; MAX_PREFIX + 16];
        // Cut at a character boundary so the number stays UTF-8.
        let mut cut = prefix.len().min(MAX_PREFIX);
        while !prefix.is_char_boundary(cut) {
            cut -= 1;
        }
        let prefix = prefix.as_bytes().get(..cut).unwrap_or_default();
        if let Some(to) = bytes.get_mut(..cut) {
            to.copy_from_slice(prefix);
        }
        if let Some(to) = bytes.get_mut(cut..cut + 16) {
            to.copy_from_slice(&upper_hex(h));
        }
        CertificationNumber {
            bytes,
            len: (cut + 16) as u8,
        }
    }

    /// The number as text.
    pub fn as_str(&self) -> &str {
        let bytes = self.bytes.get(..usize::from(self.len)).unwrap_or_default();
        // A prefix cut at a character boundary, then ASCII hex digits.
        std::str::from_utf8(bytes).unwrap_or_default()
    }
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
        let long = "é".repeat(40);
        let cut = CertificationNumber::new(&long, "x");
        assert_eq!(
            cut.as_str().len(),
            34 + 16,
            "cut at a boundary at or under 34"
        );
        assert_eq!(CertificationNumber::new("", "x").as_str().len(), 16);
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
