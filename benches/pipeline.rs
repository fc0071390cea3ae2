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
use umbatch::write::reports::RowRenderer;
use umbatch::write::response::{render_response_into, ResponseContext};
use umbatch::x12::{Item, ReaderOptions, Segment, X12Reader};

/// Reads and decides every request; with `write`, also renders responses and report rows.
fn pipeline(bytes: &[u8], ev: &Evaluator, write: bool) -> usize {
    let file: Arc<str> = Arc::from("bench.x12");
    let mut reader = X12Reader::new(bytes, Arc::clone(&file), ReaderOptions::default());
    let mut renderer = RowRenderer::default();
    let mut responses = Vec::new();
    let mut out = 0usize;
    while let Ok(Some(chunk)) = reader.next_chunk() {
        // As in a run: a chunk is decided in four splits, and each split's responses and
        // rows fill buffers that earlier splits filled (a run recycles them once written).
        let split_len = chunk.items.len().div_ceil(4).max(1);
        for (i, item) in chunk.items.iter().enumerate() {
            if i % split_len == 0 {
                std::hint::black_box((&responses, &renderer));
                responses.clear();
                renderer = RowRenderer::with_buffers(renderer.take_buffers());
            }
            let Item::Transaction(u) = item else { continue };
            if classify(u) != TxnClass::Review278 {
                continue;
            }
            let segs: Vec<Segment<'_>> = u.segments(&chunk).collect();
            let built = read_278(&segs, &context(&file, u));
            let Some(t) = built.transaction.as_ref() else {
                continue;
            };
            let g = u
                .group
                .as_ref()
                .map(|g| g.control_number.as_str())
                .unwrap_or("");
            let Some(req) = from_278(t, &file, &u.interchange.header.control_number, g, u.offset)
            else {
                continue;
            };
            let d = ev.decide(&req);
            out += d.rules_fired.len();
            if write {
                let ctx = ResponseContext {
                    st02: &u.control_number,
                    created: ev.as_of(),
                    umo_trace_originator: "9UMBATCH01",
                };
                let delims = u.interchange.header.delimiters;
                out += render_response_into(&mut responses, t, &segs, &d, delims, &ctx).len();
                std::hint::black_box(renderer.render_into(&req, &d));
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
