//! Finding delimiter bytes sixteen at a time.
//!
//! Segments are short (about 28 bytes in a typical 278), so the reader's searches are short
//! too, and a general search such as `memchr3` spends more on setting up than on searching.
//! These searches compare a whole 16-byte block with each wanted byte at once and read the
//! answer as a bit mask (SSE2 `pcmpeqb` and `pmovmskb` on x86-64, through the safe `wide`
//! crate; plain loops elsewhere), so a segment costs a block or two whatever its content.

use wide::u8x16;

/// Bytes in one block.
const BLOCK: usize = 16;

/// The 16 bytes at `at`, or None when fewer than 16 remain.
#[inline(always)]
fn block(hay: &[u8], at: usize) -> Option<u8x16> {
    let bytes: [u8; BLOCK] = hay.get(at..at + BLOCK)?.try_into().ok()?;
    Some(u8x16::from(bytes))
}

/// The mask of bytes from `at` to the end of `hay` when fewer than 16 remain: the last 16
/// bytes of `hay` are compared and the bits before `at` shifted out, so nothing is copied.
/// None when `hay` is shorter than a block.
#[inline(always)]
fn last_block_mask(hay: &[u8], at: usize, mask: impl Fn(u8x16) -> u32) -> Option<u32> {
    let start = hay.len().checked_sub(BLOCK)?;
    Some(mask(block(hay, start)?) >> (at.checked_sub(start)? as u32))
}

/// Position of the first byte of `hay` that is `term`, a carriage return or a line feed: where
/// a segment ends, or where a line break shows it was hard-wrapped.
#[inline]
pub fn find_end_or_break(hay: &[u8], term: u8) -> Option<usize> {
    let (t, cr, lf) = (u8x16::splat(term), u8x16::splat(b'\r'), u8x16::splat(b'\n'));
    let mask = |v: u8x16| (v.simd_eq(t) | v.simd_eq(cr) | v.simd_eq(lf)).to_bitmask();
    let mut at = 0;
    while let Some(v) = block(hay, at) {
        let m = mask(v);
        if m != 0 {
            return Some(at + m.trailing_zeros() as usize);
        }
        at += BLOCK;
    }
    if at >= hay.len() {
        return None;
    }
    match last_block_mask(hay, at, mask) {
        Some(m) => (m != 0).then(|| at + m.trailing_zeros() as usize),
        None => hay
            .iter()
            .position(|&b| b == term || b == b'\r' || b == b'\n'),
    }
}

/// Calls `found` with the position of each `byte` among the first `len` bytes of `hay`, in
/// order, until it returns false. Bytes of `hay` beyond `len` are read (a whole block at a
/// time) but never reported: a caller that can lend the bytes after its data saves the work
/// of a partial last block.
// Always inlined: its caller indexes every segment, and as a call (which codegen-unit
// partitioning sometimes makes it) it cost about 35 instructions a segment more.
#[inline(always)]
pub fn each_position(hay: &[u8], len: usize, byte: u8, mut found: impl FnMut(usize) -> bool) {
    let len = len.min(hay.len());
    let wanted = u8x16::splat(byte);
    let mask = |v: u8x16| v.simd_eq(wanted).to_bitmask();
    let mut at = 0;
    while at < len {
        let m = match block(hay, at) {
            Some(v) => mask(v),
            None => match last_block_mask(hay, at, mask) {
                Some(m) => m,
                None => {
                    // Shorter than a block altogether.
                    let rest = hay.get(at..len).unwrap_or_default();
                    for (i, _) in rest.iter().enumerate().filter(|(_, &b)| b == byte) {
                        if !found(at + i) {
                            return;
                        }
                    }
                    return;
                }
            },
        };
        let left = len - at;
        let mut m = if left < BLOCK {
            m & ((1u32 << left) - 1)
        } else {
            m
        };
        while m != 0 {
            if !found(at + m.trailing_zeros() as usize) {
                return;
            }
            m &= m - 1;
        }
        at += BLOCK;
    }
}

/// A small set of bytes to look for in one pass: up to four given bytes and, optionally, every
/// control byte (below 0x20, and 0x7F). Writers ask it whether a value holds anything they
/// must quote or clean; nearly every value holds nothing, and is then copied whole.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ByteClass {
    bytes: [u8; 4],
    controls: bool,
}

impl ByteClass {
    /// The class of exactly these four bytes (repeat one to want fewer), usable in constants.
    pub(crate) const fn of4(bytes: [u8; 4], controls: bool) -> Self {
        ByteClass { bytes, controls }
    }

    /// True when `b` is in the class (the definition the block search must agree with).
    #[cfg(test)]
    pub(crate) fn contains(&self, b: u8) -> bool {
        self.bytes.contains(&b) || (self.controls && (b < 0x20 || b == 0x7f))
    }

    #[inline(always)]
    fn mask(&self, v: u8x16) -> u32 {
        let [a, b, c, d] = self.bytes;
        let mut m = v.simd_eq(u8x16::splat(a))
            | v.simd_eq(u8x16::splat(b))
            | v.simd_eq(u8x16::splat(c))
            | v.simd_eq(u8x16::splat(d));
        if self.controls {
            m = m | v.min(u8x16::splat(0x1f)).simd_eq(v) | v.simd_eq(u8x16::splat(0x7f));
        }
        m.to_bitmask()
    }

    /// True when any byte of `hay` is in the class.
    ///
    /// Short values (most are) are packed into one block with a fixed number of loads: bytes
    /// may be read twice and the rest of the block filled with a byte of the value, which
    /// changes nothing for a question of "any".
    #[inline]
    pub(crate) fn any_in(&self, hay: &[u8]) -> bool {
        let len = hay.len();
        let Some(&first) = hay.first() else {
            return false;
        };
        if len >= BLOCK {
            let mut at = 0;
            while let Some(v) = block(hay, at) {
                if self.mask(v) != 0 {
                    return true;
                }
                at += BLOCK;
            }
            return at < len && last_block_mask(hay, len - BLOCK, |v| self.mask(v)) != Some(0);
        }
        let mut packed = [first; BLOCK];
        if len >= 8 {
            copy_ends::<8>(hay, &mut packed);
        } else if len >= 4 {
            copy_ends::<4>(hay, &mut packed);
        } else {
            // One to three bytes: the first, the middle and the last cover them all.
            for (slot, at) in packed.iter_mut().zip([0, len / 2, len - 1]) {
                *slot = hay.get(at).copied().unwrap_or(first);
            }
        }
        self.mask(u8x16::from(packed)) != 0
    }
}

/// Copies the first `N` and the last `N` bytes of `hay` (`N <= hay.len() < 2N`, so together
/// they cover it) to the front of `packed`.
#[inline(always)]
fn copy_ends<const N: usize>(hay: &[u8], packed: &mut [u8; BLOCK]) {
    let tail = hay.len() - N;
    if let (Some(head), Some(end), Some(to)) =
        (hay.get(..N), hay.get(tail..), packed.get_mut(..2 * N))
    {
        let (a, b) = to.split_at_mut(N);
        a.copy_from_slice(head);
        b.copy_from_slice(end);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn positions(hay: &[u8], byte: u8) -> Vec<usize> {
        positions_within(hay, hay.len(), byte)
    }

    fn positions_within(hay: &[u8], len: usize, byte: u8) -> Vec<usize> {
        let mut v = Vec::new();
        each_position(hay, len, byte, |p| {
            v.push(p);
            true
        });
        v
    }

    #[test]
    fn finds_the_terminator_or_a_line_break_in_blocks_and_tails() {
        assert_eq!(find_end_or_break(b"NM1*IL*1~", b'~'), Some(8));
        assert_eq!(
            find_end_or_break(b"NM1*IL*1*NGUYEN*DAVID****MI~", b'~'),
            Some(27)
        );
        assert_eq!(
            find_end_or_break(b"NM1*IL*1*NGUYEN*\r\nDAVID~", b'~'),
            Some(16)
        );
        assert_eq!(find_end_or_break(b"no end here", b'~'), None);
        assert_eq!(find_end_or_break(b"", b'~'), None);
        // A NUL terminator is not confused with padding.
        assert_eq!(find_end_or_break(b"abc", 0), None);
        assert_eq!(find_end_or_break(b"ab\0", 0), Some(2));
    }

    #[test]
    fn lists_positions_and_stops_when_asked() {
        assert_eq!(positions(b"HL*1**20*1", b'*'), vec![2, 4, 5, 8]);
        assert_eq!(positions(&[0u8; 3], 0), vec![0, 1, 2]);
        let mut first = None;
        each_position(b"a*b*c", 5, b'*', |p| {
            first = Some(p);
            false
        });
        assert_eq!(first, Some(1));
    }

    #[test]
    fn a_class_finds_its_bytes_and_the_control_bytes() {
        let quoted = ByteClass::of4(*b",\"\r\n", false);
        assert!(!quoted.any_in(b""));
        assert!(!quoted.any_in(b"plain text of more than sixteen bytes"));
        assert!(quoted.any_in(b"a,b"));
        assert!(quoted.any_in(b"more than sixteen bytes, then a comma"));
        let unsafe_x12 = ByteClass::of4(*b"*:~^", true);
        assert!(unsafe_x12.any_in(b"tab\there"));
        assert!(unsafe_x12.any_in(b"\x7f"));
        assert!(!unsafe_x12.any_in(b"UMB00000000DEADBEEF"));
        assert!(unsafe_x12.any_in(b"UMB0000000*DEADBEEF"));
        assert!(unsafe_x12.contains(0x1f) && !unsafe_x12.contains(b' '));
    }

    proptest! {
        #[test]
        fn a_class_agrees_with_a_byte_loop(
            hay in proptest::collection::vec(
                prop_oneof![Just(b','), Just(b'~'), Just(0x7fu8), Just(0x1fu8), 0x20u8..0x7f, any::<u8>()],
                0..48,
            ),
            bytes in any::<[u8; 4]>(),
            controls in any::<bool>(),
        ) {
            let class = ByteClass::of4(bytes, controls);
            let expected = hay.iter().any(|&b| class.contains(b));
            prop_assert_eq!(class.any_in(&hay), expected);
            for b in 0..=255u8 {
                let listed = bytes.contains(&b);
                prop_assert_eq!(class.contains(b), listed || (controls && (b < 0x20 || b == 0x7f)));
            }
        }

        #[test]
        fn agrees_with_a_byte_loop(hay in proptest::collection::vec(
            prop_oneof![Just(b'~'), Just(b'*'), Just(b'\r'), Just(b'\n'), Just(0u8), any::<u8>()],
            0..80,
        ), byte in prop_oneof![Just(b'~'), Just(b'*'), Just(0u8), any::<u8>()]) {
            let expected = hay.iter().position(|&b| b == byte || b == b'\r' || b == b'\n');
            prop_assert_eq!(find_end_or_break(&hay, byte), expected);
            let all: Vec<usize> = hay.iter().enumerate().filter(|(_, &b)| b == byte).map(|(i, _)| i).collect();
            prop_assert_eq!(positions(&hay, byte), all.clone());
            // Only the first `len` bytes count, whatever follows them.
            for len in 0..=hay.len() {
                let within: Vec<usize> = all.iter().copied().filter(|&p| p < len).collect();
                prop_assert_eq!(positions_within(&hay, len, byte), within);
            }
        }
    }
}
