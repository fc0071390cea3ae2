#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    missing_docs
)]
//! Reader tolerance and strictness on layouts a clearinghouse meets in real files.

mod common;

use common::*;
use std::sync::Arc;
use umbatch::check::check_x12;
use umbatch::x12::ReaderOptions;

fn example() -> Vec<u8> {
    let p = shared().join("reference/examples/278-request.x12");
    std::fs::read(p).unwrap_or_else(|_| {
        std::fs::read(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/278-request.x12"),
        )
        .unwrap()
    })
}

fn clean(bytes: &[u8]) -> (Vec<&'static str>, u64) {
    let c = check_bytes(bytes, "t", false);
    let codes = c.diagnostics.items().iter().map(|d| d.code).collect();
    (codes, c.counts.requests)
}

#[test]
fn utf8_bom_crlf_indentation_and_blank_lines_are_tolerated() {
    let base = String::from_utf8(example()).unwrap();
    let mut v = b"\xEF\xBB\xBF".to_vec();
    v.extend_from_slice(base.replace("~\n", "~\r\n    ").as_bytes());
    assert_eq!(clean(&v), (vec![], 1));
    // one long line
    assert_eq!(clean(base.replace("~\n", "~").as_bytes()), (vec![], 1));
    // two interchanges separated by blank lines
    let second = base.replace("000000101", "000000102");
    let two = format!("{base}\n\n\r\n{second}");
    assert_eq!(clean(two.as_bytes()), (vec![], 2));
}

#[test]
fn hard_wrapped_lines_are_unwrapped() {
    let one = String::from_utf8(example()).unwrap().replace("~\n", "~");
    let wrapped: String = one
        .as_bytes()
        .chunks(80)
        .map(|c| String::from_utf8(c.to_vec()).unwrap() + "\n")
        .collect();
    assert_eq!(clean(wrapped.as_bytes()), (vec![], 1));
}

#[test]
fn newline_as_segment_terminator() {
    let base = String::from_utf8(example()).unwrap().replace("~\n", "\n");
    assert_eq!(clean(base.as_bytes()), (vec![], 1));
    let crlf = base.replace('\n', "\r\n");
    // ISA16 followed by CR: CR is the terminator, LF is layout.
    assert_eq!(clean(crlf.as_bytes()), (vec![], 1));
}

#[test]
fn duplicate_control_numbers_are_errors() {
    let base = String::from_utf8(example()).unwrap();
    let twice = format!("{base}{base}");
    let (codes, _) = clean(twice.as_bytes());
    assert!(codes.contains(&"isa-duplicate"), "{codes:?}");
    let st = base
        .replace(
            "SE*21*0001~\n",
            "SE*21*0001~\nST*278*0001*005010X217~\nBHT*0007*13*R*20260115*0930~\nSE*3*0001~\n",
        )
        .replace("GE*1*101", "GE*2*101");
    let (codes, _) = clean(st.as_bytes());
    assert!(codes.contains(&"st-duplicate"), "{codes:?}");
}

#[test]
fn envelope_count_and_trailer_errors() {
    let base = String::from_utf8(example()).unwrap();
    let (codes, _) = clean(base.replace("GE*1*101", "GE*2*101").as_bytes());
    assert_eq!(codes, vec!["ge-count"]);
    let (codes, _) = clean(base.replace("GE*1*101", "GE*1*102").as_bytes());
    assert_eq!(codes, vec!["ge-control-number"]);
    let (codes, _) = clean(base.replace("IEA*1*", "IEA*2*").as_bytes());
    assert_eq!(codes, vec!["iea-count"]);
    let (codes, _) = clean(base.replace("SE*21*0001", "SE*21*0002").as_bytes());
    assert_eq!(codes, vec!["se-control-number"]);
    let (codes, _) = clean(
        base.replace("ST*278*0001*005010X217", "ST*278*0001*005010X216")
            .as_bytes(),
    );
    assert_eq!(codes, vec!["st-version", "passed-over"]);
    let cut = base.split("IEA").next().unwrap();
    let (codes, _) = clean(cut.as_bytes());
    assert_eq!(codes, vec!["iea-missing"]);
    let no_se = base.replace("SE*21*0001~\n", "");
    let (codes, n) = clean(no_se.as_bytes());
    assert_eq!(codes, vec!["se-missing"]);
    assert_eq!(n, 0, "a transaction without SE is never read as a request");
}

#[test]
fn garbage_and_binary_inputs_give_clear_errors() {
    let (codes, _) = clean(b"");
    assert_eq!(codes, vec!["no-isa"]);
    let (codes, _) = clean(b"\x00\x01\x02\xff binary");
    assert_eq!(codes, vec!["no-isa"]);
    let (codes, _) = clean(b"fax_id,received_at\n1,2026-01-01\n");
    assert_eq!(codes, vec!["no-isa"]);
    let (codes, _) = clean(b"ISA*00*bad");
    assert_eq!(codes, vec!["isa-unreadable"]);
}

/// 300 generated requests, 70 to an interchange.
fn generated_300() -> Vec<u8> {
    let mut big = Vec::new();
    umbatch::gen::write_x12(
        &mut big,
        &umbatch::gen::X12GenOptions {
            transactions: 300,
            per_interchange: 70,
            ..Default::default()
        },
    )
    .unwrap();
    big
}

#[test]
fn chunk_size_does_not_change_results() {
    let big = generated_300();
    let run = |chunk: usize| {
        let opts = ReaderOptions {
            chunk_bytes: chunk,
            ..ReaderOptions::default()
        };
        let c = check_x12(&big[..], Arc::from("g"), opts).unwrap();
        (c.counts, c.diagnostics.into_vec())
    };
    let (a, da) = run(1 << 22);
    let (b, db) = run(1);
    assert_eq!(a.requests, 300);
    assert_eq!(a, b);
    assert_eq!(da, db);
}

#[test]
fn oversized_transactions_are_rejected_without_keeping_them() {
    let base = String::from_utf8(example()).unwrap();
    let opts = ReaderOptions {
        max_transaction_bytes: 200,
        chunk_bytes: 64,
        ..ReaderOptions::default()
    };
    let c = check_x12(base.as_bytes(), Arc::from("t"), opts).unwrap();
    let codes: Vec<_> = c.diagnostics.items().iter().map(|d| d.code).collect();
    assert_eq!(codes, vec!["transaction-too-large"]);
}

#[test]
fn recycled_chunks_give_the_same_transactions_and_segments() {
    let big = generated_300();
    // Every transaction as (offset, ST02, its segments' raw bytes), reading in small chunks
    // with or without handing each chunk back to the reader.
    // `burst`: chunks are handed back that many at a time, as a run's writer does when
    // chunks finish out of order (0: never handed back).
    let read = |burst: usize| {
        let opts = ReaderOptions {
            chunk_bytes: 4096,
            ..ReaderOptions::default()
        };
        let mut reader = umbatch::x12::X12Reader::new(&big[..], Arc::from("g"), opts);
        let mut out = Vec::new();
        let mut chunks = 0;
        let mut held = Vec::new();
        while let Some(chunk) = reader.next_chunk().unwrap() {
            chunks += 1;
            for item in &chunk.items {
                if let umbatch::x12::Item::Transaction(u) = item {
                    let segs: Vec<Vec<u8>> = u.segments(&chunk).map(|s| s.raw().to_vec()).collect();
                    out.push((u.offset, u.control_number.clone(), segs));
                }
            }
            if burst > 0 {
                held.push(chunk);
                if held.len() == burst {
                    for c in held.drain(..) {
                        reader.recycle(c);
                    }
                }
            }
        }
        (chunks, out)
    };
    let (n_plain, plain) = read(0);
    assert!(n_plain > 10, "small chunks: {n_plain}");
    assert_eq!(plain.len(), 300);
    for burst in [1, 3, 6] {
        let (n_recycled, recycled) = read(burst);
        assert_eq!(n_plain, n_recycled, "handed back {burst} at a time");
        assert_eq!(plain, recycled, "handed back {burst} at a time");
    }
}

/// A source that hands out at most `step` bytes a read, is interrupted before every third read,
/// and fails for good after `fail_at` bytes when that is set.
struct Trickle<'a> {
    bytes: &'a [u8],
    step: usize,
    calls: usize,
    fail_at: Option<usize>,
    given: usize,
}

impl std::io::Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.calls += 1;
        if self.calls.is_multiple_of(3) {
            return Err(std::io::ErrorKind::Interrupted.into());
        }
        if self.fail_at.is_some_and(|at| self.given >= at) {
            return Err(std::io::Error::other("disk went away"));
        }
        let n = self.step.min(buf.len()).min(self.bytes.len());
        buf[..n].copy_from_slice(&self.bytes[..n]);
        self.bytes = &self.bytes[n..];
        self.given += n;
        Ok(n)
    }
}

#[test]
fn short_and_interrupted_reads_give_the_same_results_and_a_failing_source_is_an_error() {
    let big = generated_300();
    let whole = check_x12(&big[..], Arc::from("g"), ReaderOptions::default()).unwrap();
    let trickle = |fail_at| Trickle {
        bytes: &big,
        step: 7,
        calls: 0,
        fail_at,
        given: 0,
    };
    let opts = ReaderOptions {
        chunk_bytes: 4096,
        ..ReaderOptions::default()
    };
    let slow = check_x12(trickle(None), Arc::from("g"), opts.clone()).unwrap();
    assert_eq!(whole.counts.requests, 300);
    assert_eq!(slow.counts, whole.counts);
    assert_eq!(slow.diagnostics.into_vec(), whole.diagnostics.into_vec());
    let Err(err) = check_x12(trickle(Some(big.len() / 2)), Arc::from("g"), opts) else {
        panic!("a source that fails mid-file is an error, not a short file");
    };
    assert!(err.to_string().contains("disk went away"), "{err}");
}

#[test]
fn separators_recorded_while_reading_index_segments_like_a_fresh_scan() {
    // Generated requests, one PER with more elements than a segment indexes inline, and a
    // hard-wrapped copy: whatever the chunk size, every segment handed out must equal the
    // same bytes indexed from scratch.
    let big = String::from_utf8(generated_300()).unwrap();
    let long = big.replacen("PER*IC*", &format!("PER*IC{}*", "*X".repeat(30)), 1);
    let wrapped: String = long
        .as_bytes()
        .chunks(61)
        .map(|c| String::from_utf8(c.to_vec()).unwrap() + "\r\n")
        .collect();
    for input in [long.as_bytes(), wrapped.as_bytes()] {
        for chunk_bytes in [1, 777, 4096, 1 << 20] {
            let opts = ReaderOptions {
                chunk_bytes,
                ..ReaderOptions::default()
            };
            let mut reader = umbatch::x12::X12Reader::new(input, Arc::from("g"), opts);
            let (mut segments, mut long_ones) = (0, 0);
            while let Some(chunk) = reader.next_chunk().unwrap() {
                for item in &chunk.items {
                    let umbatch::x12::Item::Transaction(u) = item else {
                        continue;
                    };
                    let delims = u.interchange.header.delimiters;
                    for s in u.segments(&chunk) {
                        let fresh = umbatch::x12::Segment::new(
                            s.offset,
                            std::borrow::Cow::Owned(s.raw().to_vec()),
                            delims,
                        );
                        assert_eq!(s, fresh, "chunk {chunk_bytes}, offset {}", s.offset);
                        segments += 1;
                        long_ones += usize::from(s.element_count() > 30);
                    }
                }
                reader.recycle(chunk);
            }
            assert!(segments > 300 * 15, "{segments}");
            assert_eq!(long_ones, 1);
        }
    }
}

/// A transaction as its ST02 and its segments' raw bytes.
type TxnSegments = (String, Vec<Vec<u8>>);

/// Every transaction of `bytes`, and the diagnostics' codes.
fn transactions_and_codes(bytes: &[u8]) -> (Vec<TxnSegments>, Vec<&'static str>) {
    let opts = ReaderOptions {
        chunk_bytes: 4096,
        ..ReaderOptions::default()
    };
    let mut reader = umbatch::x12::X12Reader::new(bytes, Arc::from("w"), opts);
    let mut txns = Vec::new();
    let mut codes = Vec::new();
    while let Some(chunk) = reader.next_chunk().unwrap() {
        for item in &chunk.items {
            match item {
                umbatch::x12::Item::Transaction(u) => {
                    let segs = u.segments(&chunk).map(|s| s.raw().to_vec()).collect();
                    txns.push((u.control_number.to_string(), segs));
                }
                umbatch::x12::Item::Diagnostic(d) => codes.push(d.code),
                _ => {}
            }
        }
    }
    (txns, codes)
}

#[test]
fn hard_wrapped_segments_read_like_unwrapped_ones_between_plain_ones() {
    // Body segments on one line are recorded by the reader's fast loop; a hard-wrapped one
    // sends it back to the general step. Wrapping every third segment interleaves the two
    // ways within each transaction; both must give the same segments and counts.
    let plain = generated_300();
    let mut wrapped = Vec::with_capacity(plain.len() + plain.len() / 8);
    for (i, seg) in plain.split_inclusive(|&b| b == b'~').enumerate() {
        let body_at = seg
            .iter()
            .position(|&b| !b" \r\n".contains(&b))
            .unwrap_or(0);
        let (blank, body) = seg.split_at(body_at);
        wrapped.extend_from_slice(blank);
        if i % 3 == 1 && !body.starts_with(b"ISA") && body.len() > 4 {
            wrapped.extend_from_slice(&body[..2]);
            wrapped.extend_from_slice(b"\r\n");
            wrapped.extend_from_slice(&body[2..]);
        } else {
            wrapped.extend_from_slice(body);
        }
    }
    assert!(wrapped.len() > plain.len() + 1000, "segments were wrapped");
    let (a, codes_a) = transactions_and_codes(&plain);
    let (b, codes_b) = transactions_and_codes(&wrapped);
    assert_eq!(a.len(), 300);
    assert!(codes_a.is_empty(), "{codes_a:?}");
    assert_eq!(a, b);
    assert_eq!(codes_b, Vec::<&str>::new());
}
