#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    missing_docs
)]
//! Property tests: the reader and the 278 model never panic and never loop, whatever the bytes.
//! Every input ends in at least one diagnostic or one model.

mod common;

use proptest::prelude::*;
use std::sync::Arc;
use umbatch::check::check_x12;
use umbatch::x12::ReaderOptions;

fn seeds() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    if let Some(c) = common::corpus() {
        for dir in ["x217", "ack", "defects", "other"] {
            for f in common::files_in(&c.join(dir)) {
                out.push(std::fs::read(f).unwrap());
            }
        }
    }
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    for f in common::files_in(&root.join("samples/x12")) {
        out.push(std::fs::read(f).unwrap());
    }
    out.push(std::fs::read(root.join("tests/data/278-request.x12")).unwrap());
    out
}

fn run(bytes: &[u8], chunk: usize, lenient: bool) {
    let opts = ReaderOptions {
        lenient,
        chunk_bytes: chunk,
        max_transaction_bytes: 1 << 16,
    };
    let c = check_x12(bytes, Arc::from("prop"), opts).expect("reading a slice cannot fail");
    let k = c.counts;
    let models = k.requests + k.other_requests + k.responses + k.acknowledgments + k.passed_over;
    assert!(
        !c.diagnostics.is_empty() || models > 0,
        "no diagnostic and no model for {} bytes",
        bytes.len()
    );
}

#[derive(Debug, Clone)]
enum Mutation {
    Flip(usize, u8),
    DropSegment(usize),
    SwapDelimiters(u8, u8),
    Truncate(usize),
    Insert(usize, Vec<u8>),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(a, b)| Mutation::Flip(a, b)),
        any::<usize>().prop_map(Mutation::DropSegment),
        (
            prop::sample::select(vec![b'*', b'~', b':', b'^', b'\n', b'|']),
            prop::sample::select(vec![b'*', b'~', b':', b'^', b'\n', b'|', b'A', b' '])
        )
            .prop_map(|(a, b)| Mutation::SwapDelimiters(a, b)),
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), prop::collection::vec(any::<u8>(), 1..20))
            .prop_map(|(a, v)| Mutation::Insert(a, v)),
    ]
}

fn apply(mut v: Vec<u8>, m: &Mutation) -> Vec<u8> {
    if v.is_empty() {
        return v;
    }
    match m {
        Mutation::Flip(at, b) => {
            let i = at % v.len();
            v[i] = *b;
        }
        Mutation::DropSegment(k) => {
            let ends: Vec<usize> = v
                .iter()
                .enumerate()
                .filter(|(_, b)| **b == b'~')
                .map(|(i, _)| i)
                .collect();
            if ends.len() > 2 {
                let j = k % (ends.len() - 1);
                let (a, b) = (ends[j] + 1, ends[j + 1] + 1);
                v.drain(a..b);
            }
        }
        Mutation::SwapDelimiters(a, b) => {
            for x in v.iter_mut() {
                if *x == *a {
                    *x = *b;
                } else if *x == *b {
                    *x = *a;
                }
            }
        }
        Mutation::Truncate(at) => v.truncate(at % v.len()),
        Mutation::Insert(at, bytes) => {
            let i = at % v.len();
            v.splice(i..i, bytes.iter().copied());
        }
    }
    v
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1500, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..2048), chunk in 1usize..512, lenient: bool) {
        run(&bytes, chunk, lenient);
    }

    #[test]
    fn isa_prefixed_bytes_never_panic(tail in prop::collection::vec(any::<u8>(), 0..1024), chunk in 1usize..512) {
        let mut v = b"ISA*00*          *00*          *ZZ*A              *ZZ*B              *260115*0930*^*00501*000000101*1*T*:~".to_vec();
        v.extend(tail);
        run(&v, chunk, false);
    }

    #[test]
    fn mutated_corpus_files_never_panic(
        pick in any::<prop::sample::Index>(),
        muts in prop::collection::vec(mutation(), 1..4),
        chunk in 1usize..4096,
        lenient: bool,
    ) {
        let all = seeds();
        let mut v = pick.get(&all).clone();
        for m in &muts {
            v = apply(v, m);
        }
        run(&v, chunk, lenient);
    }
}
