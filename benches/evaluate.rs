#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
//! Evaluator throughput: 1,000,000 decisions with the bundled default policy and rosters, on one
//! core. Requests come from a generated 278 file, cycled (holding a million requests in memory
//! would measure the allocator, not the evaluator):
//! - `decide_1m`: 1,000 distinct requests, cycled 1,000 times. They stay in the CPU caches, as a
//!   request does in a run, where it is decided right after it is built;
//! - `decide_1m_cold`: 10,000 distinct requests, cycled 100 times: a request's fields are mostly
//!   out of cache when it is decided, which no run does, but it shows the cost of a cache miss.

mod common;

use common::evaluator;

/// The same allocator as the `umbatch` binary, so the figures match a real run.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use umbatch::gen::{write_x12, X12GenOptions};
use umbatch::intake::{read_file, Intake};
use umbatch::request::AuthRequest;

fn requests(n: u64) -> Vec<AuthRequest> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gen.x12");
    let f = std::fs::File::create(&path).unwrap();
    write_x12(
        std::io::BufWriter::new(f),
        &X12GenOptions {
            transactions: n,
            ..Default::default()
        },
    )
    .unwrap();
    let (_, items) = read_file(&path, false).unwrap();
    items
        .into_iter()
        .filter_map(|i| match i {
            Intake::Request(r) => Some(*r),
            _ => None,
        })
        .collect()
}

/// Decides every request `rounds` times; returns the number approved.
fn decide_all(ev: &umbatch::eval::Evaluator, reqs: &[AuthRequest], rounds: usize) -> usize {
    let mut approved = 0usize;
    for _ in 0..rounds {
        for r in reqs {
            let d = ev.decide(std::hint::black_box(r));
            approved += usize::from(d.outcome == umbatch::policy::Outcome::Approved);
        }
    }
    approved
}

fn bench_evaluate(c: &mut Criterion) {
    let cold = requests(10_000);
    assert_eq!(cold.len(), 10_000);
    let hot = cold.get(..1_000).expect("10,000 requests");
    let ev = evaluator();
    let mut g = c.benchmark_group("evaluate");
    g.throughput(Throughput::Elements(1_000_000));
    g.sample_size(10);
    g.bench_function("decide_1m", |b| b.iter(|| decide_all(&ev, hot, 1_000)));
    g.bench_function("decide_1m_cold", |b| b.iter(|| decide_all(&ev, &cold, 100)));
    g.finish();
}

criterion_group!(benches, bench_evaluate);
criterion_main!(benches);
