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
#[inline]
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

    proptest! {
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
