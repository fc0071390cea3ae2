#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    missing_docs
)]
//! Reader throughput: envelope reading, envelope checks and the 278 model on a generated file
//! of 50,000 requests (about 33 MB), on one core.

/// The same allocator as the `umbatch` binary, so the figures match a real run.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::sync::Arc;
use umbatch::check::context;
use umbatch::gen::{write_x12, X12GenOptions};
use umbatch::model::{classify, read_278, TxnClass};
use umbatch::x12::{Item, ReaderOptions, Segment, X12Reader};

fn generated(transactions: u64) -> Vec<u8> {
    let mut v = Vec::new();
    let opts = X12GenOptions {
        transactions,
        per_interchange: 5_000,
        ..X12GenOptions::default()
    };
    write_x12(&mut v, &opts).expect("generate");
    v
}

/// Reads every chunk, builds every 278 model; returns the number of models.
fn read_and_model(bytes: &[u8]) -> usize {
    let file: Arc<str> = Arc::from("bench");
    let mut reader = X12Reader::new(bytes, Arc::clone(&file), ReaderOptions::default());
    let mut models = 0;
    while let Ok(Some(chunk)) = reader.next_chunk() {
        for item in &chunk.items {
            if let Item::Transaction(u) = item {
                if classify(u) == TxnClass::Review278 {
                    let segs: Vec<Segment<'_>> = u.segments(&chunk).collect();
                    let built = read_278(&segs, &context(&file, u));
                    if built.transaction.is_some() && built.diagnostics.is_empty() {
                        models += 1;
                    }
                }
            }
        }
    }
    models
}

fn bench_reader(c: &mut Criterion) {
    let bytes = generated(50_000);
    assert_eq!(read_and_model(&bytes), 50_000);
    let mut g = c.benchmark_group("reader");
    g.throughput(Throughput::Bytes(bytes.len() as u64));
    g.sample_size(10);
    g.bench_function("read_envelope_model_50k", |b| {
        b.iter(|| read_and_model(std::hint::black_box(&bytes)))
    });
    g.finish();
}

criterion_group!(benches, bench_reader);
criterion_main!(benches);
