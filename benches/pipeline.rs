#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
//! The cost of writing: read + decide, against read + decide + render the 278 response and the
//! report rows (what `run` does per transaction, without the disk), on 20,000 generated requests.

mod common;

use common::evaluator;

/// The same allocator as the `umbatch` binary, so the figures match a real run.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::sync::Arc;
use umbatch::check::context;
use umbatch::eval::Evaluator;
use umbatch::gen::{write_x12, X12GenOptions};
use umbatch::model::{classify, read_278, TxnClass};
use umbatch::request::from_278;
use umbatch::run::BATCH;
use umbatch::write::reports::RowRenderer;
use umbatch::write::response::{render_response_into, ResponseContext};
use umbatch::x12::{Item, ReaderOptions, Segment, TransactionUnit, X12Reader};

/// Reads and decides every request; with `write`, also renders responses and report rows.
/// As in a run: transactions go through each step in batches of `BATCH`, and a chunk is
/// decided in four splits whose responses and rows fill buffers that earlier splits filled
/// (a run recycles them once written).
fn pipeline(bytes: &[u8], ev: &Evaluator, write: bool) -> usize {
    let file: Arc<str> = Arc::from("bench.x12");
    let mut reader = X12Reader::new(bytes, Arc::clone(&file), ReaderOptions::default());
    let mut renderer = RowRenderer::default();
    let mut responses = Vec::new();
    let mut out = 0usize;
    while let Ok(Some(chunk)) = reader.next_chunk() {
        let units: Vec<&TransactionUnit> = chunk
            .items
            .iter()
            .filter_map(|i| match i {
                Item::Transaction(u) if classify(u) == TxnClass::Review278 => Some(u),
                _ => None,
            })
            .collect();
        let batches_per_split = units.len().div_ceil(BATCH).div_ceil(4).max(1);
        for (i, batch) in units.chunks(BATCH).enumerate() {
            if i % batches_per_split == 0 {
                std::hint::black_box((&responses, &renderer));
                responses.clear();
                renderer = RowRenderer::with_buffers(renderer.take_buffers());
            }
            let segs: Vec<Vec<Segment<'_>>> =
                batch.iter().map(|u| u.segments(&chunk).collect()).collect();
            let built: Vec<_> = segs
                .iter()
                .zip(batch)
                .map(|(s, u)| read_278(s, &context(&file, u)))
                .collect();
            let requests: Vec<_> = built
                .iter()
                .zip(batch)
                .map(|(b, u)| {
                    let group = u.group.as_ref().map(|g| g.control_number.as_str());
                    let ic = &u.interchange.header.control_number;
                    let t = b.transaction.as_ref()?;
                    from_278(t, &file, ic, group.unwrap_or(""), u.offset)
                })
                .collect();
            let decisions: Vec<_> = requests
                .iter()
                .map(|r| r.as_ref().map(|r| ev.decide(r)))
                .collect();
            out += decisions
                .iter()
                .flatten()
                .map(|d| d.rules_fired.len())
                .sum::<usize>();
            if !write {
                continue;
            }
            for (((b, s), u), d) in built.iter().zip(&segs).zip(batch).zip(&decisions) {
                let (Some(t), Some(d)) = (b.transaction.as_ref(), d) else {
                    continue;
                };
                let ctx = ResponseContext {
                    st02: &u.control_number,
                    created: ev.as_of(),
                    umo_trace_originator: "9UMBATCH01",
                };
                let delims = u.interchange.header.delimiters;
                out += render_response_into(&mut responses, t, s, d, delims, &ctx).len();
            }
            for (r, d) in requests.iter().zip(&decisions) {
                if let (Some(r), Some(d)) = (r, d) {
                    std::hint::black_box(renderer.render_into(r, d));
                }
            }
        }
    }
    out
}

fn bench_pipeline(c: &mut Criterion) {
    let mut bytes = Vec::new();
    write_x12(
        &mut bytes,
        &X12GenOptions {
            transactions: 20_000,
            ..Default::default()
        },
    )
    .unwrap();
    let ev = evaluator();
    let mut g = c.benchmark_group("pipeline");
    g.throughput(Throughput::Bytes(bytes.len() as u64));
    g.sample_size(10);
    g.bench_function("read_decide_20k", |b| {
        b.iter(|| pipeline(std::hint::black_box(&bytes), &ev, false))
    });
    g.bench_function("read_decide_write_20k", |b| {
        b.iter(|| pipeline(std::hint::black_box(&bytes), &ev, true))
    });
    g.finish();
}

criterion_group!(benches, bench_pipeline);
criterion_main!(benches);
