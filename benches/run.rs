#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
//! `run` end to end: a generated 278 file (20,000 requests) and fax export (5,000 rows) read,
//! decided and written (responses, acknowledgments, reports, manifest) with --jobs 1 and 2.
//! The 1,000,000-request figure in the README comes from the recipe there, not from here.

mod common;

use common::evaluator;

/// The same allocator as the `umbatch` binary, so the figures match a real run.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use umbatch::gen::{write_fax, write_x12, FaxGenOptions, X12GenOptions};
use umbatch::run::{run, RunConfig, Verbosity};

fn bench_run(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let x12 = dir.path().join("requests.x12");
    write_x12(
        std::io::BufWriter::new(std::fs::File::create(&x12).unwrap()),
        &X12GenOptions {
            transactions: 20_000,
            ..Default::default()
        },
    )
    .unwrap();
    let fax = dir.path().join("fax.csv");
    write_fax(
        std::io::BufWriter::new(std::fs::File::create(&fax).unwrap()),
        &FaxGenOptions {
            rows: 5_000,
            ..Default::default()
        },
    )
    .unwrap();
    let bytes = std::fs::metadata(&x12).unwrap().len() + std::fs::metadata(&fax).unwrap().len();
    let mut g = c.benchmark_group("run");
    g.throughput(Throughput::Bytes(bytes));
    g.sample_size(10);
    for jobs in [1usize, 2] {
        let out = dir.path().join(format!("out{jobs}"));
        let cfg = RunConfig {
            inputs: vec![x12.clone(), fax.clone()],
            out: out.clone(),
            jobs,
            quarantine: None,
            lenient: false,
            verbosity: Verbosity::Quiet,
            progress: false,
            evaluator: evaluator(),
            rosters: Vec::new(),
            chunk_bytes: 4 << 20,
        };
        g.bench_function(format!("end_to_end_jobs_{jobs}"), |b| {
            b.iter(|| run(&cfg).unwrap().summary.decided)
        });
    }
    g.finish();
}

criterion_group!(benches, bench_run);
criterion_main!(benches);
