//! `umbatch run`: the nightly job. Reads every input, decides every request, writes every output.
//!
//! Each X12 file is read in chunks of whole transactions; the transactions of a chunk are read,
//! validated, mapped, decided and their 278 responses rendered in parallel (rayon, order kept),
//! then one sequential pass writes envelopes, acknowledgments and report rows in input order.
//! Fax exports go the same way in batches of rows. Outputs are written aside and renamed when
//! complete; a lock keeps two runs out of one folder; a bad file is reported (and quarantined
//! on request) and never stops the others.

use crate::diag::Diagnostic;
use crate::distinct::{DistinctCheck, DEFAULT_BUFFER_KEYS};
use crate::eval::{Decision, Evaluator};
use crate::fax::{FaxReader, FaxRow};
use crate::intake::{decode_278, sniff, Decoded, InputKind};
use crate::model::{classify, TxnClass};
use crate::policy::Outcome;
use crate::request::{file_stem, AuthRequest};
use crate::write::ack::{AckFile, TxnAck};
use crate::write::reports::{RejectRow, Reports, RowBuffers, RowRenderer, RowSpans, Summary};
use crate::write::response::{render_response_into, ControlNumbers, ResponseContext, ResponseFile};
use crate::write::{
    create_private_dir, create_private_file, AtomicFile, Committed, PARTIAL_SUFFIX,
};
use crate::x12::{Chunk, Item, ReaderOptions, Segment, TransactionUnit, X12Reader};
use rayon::prelude::*;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashSet};
use std::fs::File;
use std::io::{self, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

/// How much to say on stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verbosity {
    /// Nothing but errors.
    Quiet,
    /// A line per file and a summary (progress bars on a terminal).
    Normal,
    /// Also each rejected file, transaction and row (positions and codes, never PHI).
    Verbose,
}

/// Everything a run needs.
pub struct RunConfig {
    /// Input files, in processing order.
    pub inputs: Vec<PathBuf>,
    /// Output folder.
    pub out: PathBuf,
    /// Worker threads.
    pub jobs: usize,
    /// Where to move bad files.
    pub quarantine: Option<PathBuf>,
    /// Accept collapsed ISAs.
    pub lenient: bool,
    /// stderr verbosity.
    pub verbosity: Verbosity,
    /// Show progress bars (only when stderr is a terminal).
    pub progress: bool,
    /// The evaluator (policy, rosters, as-of).
    pub evaluator: Evaluator,
    /// Roster files, for the manifest.
    pub rosters: Vec<PathBuf>,
    /// Reader chunk size.
    pub chunk_bytes: usize,
}

/// Errors that stop a run before anything is decided (exit status 2).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// Another run holds the output folder.
    #[error("another umbatch run is using `{0}` (it holds the lock `{1}`); wait for it to finish")]
    Locked(String, String),
    /// The output folder cannot be prepared.
    #[error("cannot prepare the output folder `{0}`: {1}")]
    Output(String, io::Error),
    /// Writing an output failed (the details are the error's source).
    #[error("cannot write outputs")]
    Io(#[from] io::Error),
}

/// What happened to one input.
#[derive(Debug, Default, Clone, Serialize)]
pub struct InputReport {
    /// The file.
    pub file: String,
    /// x12, fax or unknown.
    pub kind: String,
    /// sha256 of its bytes.
    pub sha256: String,
    /// Size in bytes.
    pub bytes: u64,
    /// Requests decided.
    pub decided: u64,
    /// Transactions rejected by their envelope or structure (999/TA1).
    pub rejected_transactions: u64,
    /// Fax rows rejected.
    pub rejected_rows: u64,
    /// Transactions passed over (not 278 X217 requests).
    pub passed_over: u64,
    /// File-level problems.
    pub file_errors: u64,
    /// 278 response transactions written.
    pub responses: u64,
    /// 999 transactions written.
    pub acknowledgments_999: u64,
    /// TA1 segments written.
    pub ta1: u64,
    /// `ok`, `errors` or `quarantined`.
    pub status: String,
    /// Where the file was moved.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quarantined_to: Option<String>,
    /// Outcomes.
    pub outcomes: BTreeMap<String, u64>,
    #[serde(skip)]
    elapsed_ms: u128,
}

/// The result of a run.
#[derive(Debug)]
pub struct RunSummary {
    /// 0, or 1 when some input could not be processed as submitted.
    pub exit_code: u8,
    /// Per input.
    pub inputs: Vec<InputReport>,
    /// Totals.
    pub summary: Summary,
}

enum TxnResult {
    /// A decided request, reduced to what the writer needs: the request and decision are
    /// dropped in the worker that made them (their summary counts go to the worker's
    /// partial summary), so few allocations cross threads and a chunk's results stay small.
    Decided {
        ack: TxnAck,
        outcome: Outcome,
        certificate: Option<crate::eval::CertificationNumber>,
        /// In the split's response buffer.
        response: std::ops::Range<usize>,
        /// In the split's row buffers.
        rows: RowSpans,
    },
    Rejected {
        ack: Option<TxnAck>,
        reason: String,
        code: String,
        ack_code: String,
    },
    PassedOver {
        ack: Option<TxnAck>,
        reason: String,
    },
}

struct HashingReader<R> {
    inner: R,
    hash: Sha256,
    bytes: u64,
}

impl HashingReader<File> {
    /// Opens an input so its sha256 is computed as it is read (one pass over the bytes).
    ///
    /// Unbuffered: the X12 reader asks for 64 KiB and more at a time, and a `BufReader` in
    /// between copied every byte once more (its own buffer, then ours). The fax reader, whose
    /// CSV parser asks for 8 KiB at a time, puts a buffer in front (see `process_fax`).
    fn open(path: &Path) -> io::Result<Self> {
        Ok(HashingReader {
            inner: File::open(path)?,
            hash: Sha256::new(),
            bytes: 0,
        })
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Some(b) = buf.get(..n) {
            self.hash.update(b);
        }
        self.bytes += n as u64;
        Ok(n)
    }
}

/// The lock held for the duration of a run.
pub struct RunLock {
    _file: File,
}

/// Takes the output folder's lock (exit status 2 when another run holds it).
pub fn lock(out: &Path) -> Result<RunLock, RunError> {
    create_private_dir(out).map_err(|e| RunError::Output(out.display().to_string(), e))?;
    let path = out.join(".umbatch.lock");
    let f =
        create_private_file(&path).map_err(|e| RunError::Output(out.display().to_string(), e))?;
    match f.try_lock() {
        Ok(()) => Ok(RunLock { _file: f }),
        Err(_) => Err(RunError::Locked(
            out.display().to_string(),
            path.display().to_string(),
        )),
    }
}

fn clean_partials(dir: &Path) {
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') && name.ends_with(PARTIAL_SUFFIX) {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
}

fn first_error(diags: &[Diagnostic]) -> Option<&Diagnostic> {
    diags.iter().find(|d| d.is_error())
}

/// Where a worker renders the requests it decides: one buffer for all its responses, one
/// row renderer (a buffer per report kind), and its partial summary.
#[derive(Default)]
struct WorkerOut {
    responses: Vec<u8>,
    rows: RowRenderer,
    summary: Summary,
}

/// A split's output buffers, handed back by the writer once written.
type Buffers = (Vec<u8>, RowBuffers);

/// Output buffers the writer has finished with, for the next splits to fill: they keep the
/// capacity they grew to, so a split's output is not copied again and again as its buffers
/// grow from empty, and the writer thread does not free what the workers allocated.
#[derive(Default)]
struct Recycled {
    free: std::sync::Mutex<Vec<Buffers>>,
}

impl Recycled {
    /// Buffers kept at most: enough for every split of the chunks in flight.
    const KEEP: usize = 4 * SPLITS_PER_CHUNK;

    fn take(&self) -> Option<Buffers> {
        self.free.lock().ok()?.pop()
    }

    fn give(&self, buffers: impl IntoIterator<Item = Buffers>) {
        if let Ok(mut free) = self.free.lock() {
            let room = Self::KEEP.saturating_sub(free.len());
            free.extend(buffers.into_iter().take(room));
        }
    }

    /// A worker's outputs, in recycled buffers when there are any.
    fn worker(&self) -> WorkerOut {
        match self.take() {
            Some((mut responses, rows)) => {
                responses.clear();
                WorkerOut {
                    responses,
                    rows: RowRenderer::with_buffers(rows),
                    summary: Summary::default(),
                }
            }
            None => WorkerOut::default(),
        }
    }
}

/// What one worker split of a chunk produced: its results in input order and the buffers
/// its responses and report rows lie in.
struct SplitOutput {
    results: Vec<TxnResult>,
    responses: Vec<u8>,
    rows: RowBuffers,
}

impl WorkerOut {
    /// Hands over the split's results with the buffers they point into, and the summary.
    fn finish(mut self, results: Vec<TxnResult>) -> (SplitOutput, Summary) {
        let split = SplitOutput {
            results,
            responses: self.responses,
            rows: self.rows.take_buffers(),
        };
        (split, self.summary)
    }
}

/// Transactions taken through each step together: all are read, then all decided, then all
/// rendered. Going step by step keeps each step's code in the instruction cache for the whole
/// batch (the steps together are far larger than it); a batch's models stay small enough
/// for the data caches. 16 measured best (pipeline bench: 170 ms -> 142 ms for 20k).
pub const BATCH: usize = 16;

/// A transaction of a batch between steps: settled early, or going on with what the step
/// before made of it.
// A batch holds `BATCH` of these for a moment: their size does not matter, and boxing the
// result would cost an allocation per settled transaction.
#[allow(clippy::large_enum_variant)]
enum InFlight<T> {
    /// Rejected or passed over before a decision: its result.
    Settled(TxnResult),
    /// Still going.
    Going(T),
}

/// A transaction read and mapped to a request.
struct Mapped<'s> {
    unit: &'s TransactionUnit,
    ack: TxnAck,
    transaction: Box<crate::model::Transaction278<'s>>,
    request: Box<AuthRequest>,
}

/// The result of a transaction that is not decided: rejected with the first error.
fn rejected(ack: Option<TxnAck>, d: Option<&Diagnostic>) -> TxnResult {
    TxnResult::Rejected {
        ack,
        reason: d
            .map(|d| d.message.clone())
            .unwrap_or_else(|| "rejected".into()),
        code: d.map(|d| d.code.to_string()).unwrap_or_default(),
        ack_code: d
            .and_then(|d| d.ack.as_ref())
            .map(|a| a.to_string())
            .unwrap_or_default(),
    }
}

/// The result of a transaction settled before its segments are read (rejected interchange,
/// not a 278 request), or `None` when it is to be read.
fn settled_early(unit: &TransactionUnit) -> Option<TxnResult> {
    if unit.interchange.rejected.is_some() {
        return Some(TxnResult::Rejected {
            ack: None,
            reason: "the interchange header (ISA) is in error; nothing in it is processed".into(),
            code: "interchange-rejected".into(),
            ack_code: unit
                .interchange
                .rejected
                .map(|n| format!("TA1 {n}"))
                .unwrap_or_default(),
        });
    }
    match classify(unit) {
        TxnClass::Other => Some(TxnResult::PassedOver {
            ack: None,
            reason: format!(
                "not a 278 X217 request (ST01 `{}`, version `{}`): passed over",
                unit.set_id,
                unit.version()
            ),
        }),
        TxnClass::Ack999 => Some(TxnResult::PassedOver {
            ack: None,
            reason: "a 999 acknowledgment: read, never acknowledged, not decided".into(),
        }),
        TxnClass::Review278 => None,
    }
}

/// Reads, validates and maps one transaction of a batch (not [`settled_early`]).
fn read_unit<'s>(
    file: &'s Arc<str>,
    stem: &str,
    unit: &'s TransactionUnit,
    segs: &'s [Segment<'_>],
) -> InFlight<Mapped<'s>> {
    let (diags, decoded) = decode_278(file, unit, segs);
    let ack = TxnAck::from_diagnostics(unit, &diags);
    let (transaction, mut request) = match decoded {
        Decoded::Rejected => {
            return InFlight::Settled(rejected(Some(ack), first_error(&diags)));
        }
        Decoded::NotDecided { reason } => {
            return InFlight::Settled(TxnResult::PassedOver {
                ack: Some(ack),
                reason,
            })
        }
        Decoded::Request {
            transaction,
            request,
        } => (transaction, request),
    };
    // Ids use the run-unique stem, so two inputs named alike in different folders never share
    // one; the mapping already used the file's own stem, which is the usual case.
    let has_stem = request.request_id.starts_with(stem)
        && request.request_id.as_bytes().get(stem.len()) == Some(&b':');
    if !has_stem {
        let group = unit
            .group
            .as_ref()
            .map(|g| g.control_number.as_str())
            .unwrap_or("");
        request.request_id = format!(
            "{stem}:{}:{group}:{}",
            unit.interchange.header.control_number, unit.control_number
        );
    }
    InFlight::Going(Mapped {
        unit,
        ack,
        transaction,
        request,
    })
}

/// Reads, decides and renders a batch of a chunk's transactions (see [`BATCH`]), appending
/// one result per transaction to `results`, in order.
fn process_batch(
    file: &Arc<str>,
    stem: &str,
    chunk: &Chunk,
    batch: &[&TransactionUnit],
    ev: &Evaluator,
    out: &mut WorkerOut,
    results: &mut Vec<TxnResult>,
) {
    // The batch's segments go into one vector (one allocation, not one per transaction);
    // each transaction's are a range of it.
    let mut flat: Vec<Segment<'_>> = Vec::with_capacity(batch.iter().map(|u| u.spans.len()).sum());
    let (early, ranges): (Vec<Option<TxnResult>>, Vec<std::ops::Range<usize>>) = batch
        .iter()
        .map(|u| match settled_early(u) {
            Some(result) => (Some(result), 0..0),
            None if u.range.is_empty() => (None, 0..0),
            None => {
                let start = flat.len();
                flat.extend(u.segments(chunk));
                (None, start..flat.len())
            }
        })
        .unzip();
    let segs: Vec<&[Segment<'_>]> = ranges
        .into_iter()
        .map(|r| flat.get(r).unwrap_or_default())
        .collect();
    let mapped: Vec<InFlight<Mapped<'_>>> = early
        .into_iter()
        .zip(batch)
        .zip(&segs)
        .map(|((early, u), &s)| match early {
            Some(result) => InFlight::Settled(result),
            None => read_unit(file, stem, u, s),
        })
        .collect();
    let decided: Vec<InFlight<(Mapped<'_>, Decision<'_>)>> = mapped
        .into_iter()
        .map(|f| match f {
            InFlight::Going(m) => {
                let d = ev.decide(&m.request);
                InFlight::Going((m, d))
            }
            InFlight::Settled(r) => InFlight::Settled(r),
        })
        .collect();
    // Rendered into memory: nothing here can fail.
    let responses: Vec<std::ops::Range<usize>> = decided
        .iter()
        .zip(&segs)
        .map(|(f, segs)| match f {
            InFlight::Going((m, d)) => {
                let ctx = ResponseContext {
                    st02: &m.unit.control_number,
                    created: ev.as_of(),
                    umo_trace_originator: "9UMBATCH01",
                };
                let delims = m.unit.interchange.header.delimiters;
                render_response_into(&mut out.responses, &m.transaction, segs, d, delims, &ctx)
            }
            InFlight::Settled(_) => 0..0,
        })
        .collect();
    for (f, response) in decided.into_iter().zip(responses) {
        match f {
            InFlight::Going((m, d)) => {
                let rows = out.rows.render_into(&m.request, &d);
                out.summary.add(&m.request, &d);
                results.push(TxnResult::Decided {
                    ack: m.ack,
                    outcome: d.outcome,
                    certificate: d.certification_number,
                    response,
                    rows,
                });
            }
            InFlight::Settled(result) => results.push(result),
        }
    }
}

/// The certification numbers of a run, checked for repeats in bounded memory.
///
/// A number is the policy's prefix and 16 hex digits of a 64-bit hash, and one policy serves
/// the whole run, so the 64-bit value alone identifies it: those values go to a
/// [`DistinctCheck`], which spills sorted runs to a scratch file in the output folder instead
/// of growing. Anything else (never made by this release) is kept whole.
struct Certificates {
    check: DistinctCheck,
    /// The prefix of the first number seen; numbers with another prefix are kept whole.
    prefix: Option<String>,
    others: HashSet<String>,
    repeated_others: Vec<String>,
}

impl Certificates {
    /// A check whose scratch file (if the run outgrows `buffer_keys`) lies in `dir`.
    fn new(dir: &Path, buffer_keys: usize) -> Self {
        Certificates {
            check: DistinctCheck::new(
                dir.join(format!(".certificates{PARTIAL_SUFFIX}")),
                buffer_keys,
            ),
            prefix: None,
            others: HashSet::new(),
            repeated_others: Vec::new(),
        }
    }

    /// Records `n`; repeats are found by [`Self::finish`].
    fn insert(&mut self, n: &str) -> io::Result<()> {
        let split = n.len().checked_sub(16).filter(|&i| n.is_char_boundary(i));
        let parsed = split.and_then(|i| {
            let (prefix, hex) = (n.get(..i)?, n.get(i..)?);
            let upper = hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'A'..=b'F'));
            let h = u64::from_str_radix(hex, 16).ok().filter(|_| upper)?;
            Some((prefix, h))
        });
        if let Some((prefix, h)) = parsed {
            let first = self.prefix.get_or_insert_with(|| prefix.to_string());
            if first == prefix {
                return match self.check.insert(h) {
                    Ok(()) => Ok(()),
                    Err(e) => Err(scratch_error(self.check.scratch_path(), e)),
                };
            }
        }
        if !self.others.insert(n.to_string()) {
            self.repeated_others.push(n.to_string());
        }
        Ok(())
    }

    /// The numbers given more than once (at most about twenty named) and how many there were.
    fn finish(self) -> io::Result<(Vec<String>, u64)> {
        let path = self.check.scratch_path().to_path_buf();
        let repeats = self.check.finish().map_err(|e| scratch_error(&path, e))?;
        let prefix = self.prefix.unwrap_or_default();
        let mut named: Vec<String> = repeats
            .keys
            .iter()
            .map(|k| format!("{prefix}{k:016X}"))
            .collect();
        let mut others = self.repeated_others;
        others.sort();
        others.dedup();
        let total = repeats.total + others.len() as u64;
        named.extend(others.into_iter().take(20));
        Ok((named, total))
    }
}

/// A failure of the certification scratch file is the output folder's: the run stops (see
/// [`crate::write::OutputError`]).
fn scratch_error(path: &Path, error: io::Error) -> io::Error {
    io::Error::new(
        error.kind(),
        crate::write::OutputError {
            path: path.to_path_buf(),
            error,
        },
    )
}

struct Ctx<'a> {
    cfg: &'a RunConfig,
    pool: &'a rayon::ThreadPool,
    reports: &'a mut Reports,
    numbers: &'a mut ControlNumbers,
    stems: &'a mut HashSet<String>,
    progress: Option<&'a indicatif::ProgressBar>,
    committed: &'a mut Vec<Committed>,
    /// Bytes of the inputs before the current one (progress position).
    progress_base: u64,
    /// Certification numbers given so far (they must be unique in a run).
    certificates: &'a mut Certificates,
    /// Files finished before the current one (progress message).
    files_done: usize,
}

impl Ctx<'_> {
    /// Moves the progress bar (terminal only): bytes, files and requests so far.
    fn progress(&self, bytes_in_file: u64) {
        if let Some(p) = self.progress {
            p.set_position(self.progress_base + bytes_in_file);
            p.set_message(format!(
                "{} of {} files, {} requests",
                self.files_done,
                self.cfg.inputs.len(),
                self.reports.summary.decided
            ));
        }
    }
}

impl Ctx<'_> {
    /// Records a certification number; repeats are reported when the run ends (one would
    /// mean two request ids hash alike, as unique stems keep the ids themselves distinct).
    fn certificate(&mut self, number: Option<&str>) -> io::Result<()> {
        match number {
            Some(n) => self.certificates.insert(n),
            None => Ok(()),
        }
    }
}

/// Counts one outcome without allocating its key once it has been seen.
fn count_outcome(outcomes: &mut BTreeMap<String, u64>, outcome: &str) {
    match outcomes.get_mut(outcome) {
        Some(n) => *n += 1,
        None => {
            outcomes.insert(outcome.to_string(), 1);
        }
    }
}

fn reject_row(
    kind: &str,
    file: &str,
    level: &str,
    position: String,
    code: &str,
    ack: String,
    reason: String,
) -> RejectRow {
    RejectRow {
        source_file: file.to_string(),
        source_kind: kind.to_string(),
        level: level.to_string(),
        position,
        request_id: String::new(),
        code: code.to_string(),
        ack,
        reason,
    }
}

fn diag_position(d: &Diagnostic) -> String {
    d.location.describe()
}

fn diag_level(d: &Diagnostic) -> &'static str {
    match (
        &d.location.transaction,
        &d.location.group,
        &d.location.interchange,
    ) {
        (Some(_), _, _) => "transaction",
        (None, Some(_), _) => "group",
        (None, None, Some(_)) => "interchange",
        _ => "file",
    }
}

/// Passes envelope diagnostics to the acknowledgment writer; errors also become reject rows.
fn envelope_diagnostics(
    c: &mut Ctx<'_>,
    acks: &mut AckFile,
    rep: &mut InputReport,
    name: &str,
    level: Option<&'static str>,
    diags: &[Diagnostic],
    verbose: bool,
) -> io::Result<()> {
    for d in diags {
        acks.diagnostic(d);
        if !d.is_error() {
            continue;
        }
        rep.file_errors += 1;
        if verbose {
            eprintln!("umbatch: {d}");
        }
        let row = reject_row(
            "x12",
            name,
            level.unwrap_or_else(|| diag_level(d)),
            diag_position(d),
            d.code,
            d.ack.as_ref().map(|a| a.to_string()).unwrap_or_default(),
            d.message.clone(),
        );
        c.reports.reject_row(&row)?;
    }
    Ok(())
}

fn unique_stem(stems: &mut HashSet<String>, path: &Path) -> String {
    let base = file_stem(&path.display().to_string());
    let mut stem = base.clone();
    let mut n = 2;
    while !stems.insert(stem.clone()) {
        stem = format!("{base}-{n}");
        n += 1;
    }
    stem
}

/// The transactions of a chunk, in input order.
fn chunk_units(chunk: &Chunk) -> impl Iterator<Item = &TransactionUnit> {
    chunk.items.iter().filter_map(|i| match i {
        Item::Transaction(u) => Some(u),
        _ => None,
    })
}

/// How many parts a chunk's transactions are decided in, at most.
const SPLITS_PER_CHUNK: usize = 4;

/// Decides every transaction of a chunk over the current rayon pool. Each split keeps its
/// own renderer and partial summary; splits are joined in input order.
fn decide_chunk(
    name: &Arc<str>,
    stem: &str,
    chunk: &Chunk,
    ev: &Evaluator,
    recycled: &Recycled,
) -> (ChunkResults, Summary) {
    let units: Vec<&TransactionUnit> = chunk_units(chunk).collect();
    // A few large splits, not the dozens that stealing would cut: each split's responses
    // and rows are written in one piece, and its buffers are recycled whole. Two chunks are
    // decided at once, so four splits each keep both workers busy.
    let batches = units.len().div_ceil(BATCH);
    let min_len = batches.div_ceil(SPLITS_PER_CHUNK).max(1);
    units
        .par_chunks(BATCH)
        .with_min_len(min_len)
        .fold(
            || (Vec::new(), recycled.worker()),
            |(mut v, mut w), batch| {
                process_batch(name, stem, chunk, batch, ev, &mut w, &mut v);
                (v, w)
            },
        )
        .map(|(v, w)| {
            let (split, summary) = w.finish(v);
            (ChunkResults::from([split]), summary)
        })
        .reduce(
            || (ChunkResults::new(), Summary::default()),
            |(mut a, mut sa), (mut b, sb)| {
                // Linking, not copying: results are moved once, when the writer takes them.
                a.append(&mut b);
                sa.merge(sb);
                (a, sa)
            },
        )
}

/// A chunk's results in input order: the per-split outputs, linked.
type ChunkResults = std::collections::LinkedList<SplitOutput>;

/// Where one X12 input's results go: its response and acknowledgment files, its report entry.
struct ChunkOutputs<'o> {
    resp: &'o mut ResponseFile,
    acks: &'o mut AckFile,
    rep: &'o mut InputReport,
    name: &'o Arc<str>,
    verbose: bool,
    /// Where written chunks' output buffers go back to.
    recycled: &'o Recycled,
}

impl ChunkOutputs<'_> {
    /// Writes one chunk: envelopes, acknowledgments, responses and report rows, in input
    /// order (`results` holds one entry per transaction of the chunk, in order).
    fn write(
        &mut self,
        c: &mut Ctx<'_>,
        chunk: &Chunk,
        results: ChunkResults,
        summary: Summary,
    ) -> io::Result<()> {
        let ChunkOutputs {
            resp,
            acks,
            rep,
            name,
            verbose,
            recycled,
        } = self;
        let (name, verbose): (&str, bool) = (name, *verbose);
        // The splits' buffers go to the writers, which write each split's run of responses
        // and rows in a few long writes; results refer to them by split index.
        let (mut lists, mut responses, mut rows) = (Vec::new(), Vec::new(), Vec::new());
        for split in results {
            lists.push(split.results);
            responses.push(split.responses);
            rows.push(split.rows);
        }
        resp.begin_chunk(responses)?;
        c.reports.begin_chunk(rows)?;
        let mut results = lists
            .into_iter()
            .enumerate()
            .flat_map(|(i, v)| v.into_iter().map(move |r| (i, r)));
        for item in &chunk.items {
            match item {
                Item::InterchangeStart(ic) => {
                    resp.interchange(ic, c.numbers);
                    acks.interchange(ic, c.numbers);
                }
                Item::Diagnostic(d) => {
                    envelope_diagnostics(
                        c,
                        acks,
                        rep,
                        name,
                        None,
                        std::slice::from_ref(d),
                        verbose,
                    )?;
                }
                Item::GroupStart(g) => {
                    resp.group(g, c.numbers);
                    acks.group(g);
                }
                Item::Ta1(_) => {}
                Item::Transaction(u) => {
                    let Some((split, result)) = results.next() else {
                        continue;
                    };
                    // Only rejects and pass-overs print it.
                    let position = || {
                        format!(
                            "byte {} ISA13 {} GS06 {} ST02 {}",
                            u.offset,
                            u.interchange.header.control_number,
                            u.group
                                .as_ref()
                                .map(|g| g.control_number.as_str())
                                .unwrap_or(""),
                            u.control_number
                        )
                    };
                    match result {
                        TxnResult::Decided {
                            ack,
                            outcome,
                            certificate,
                            response,
                            rows,
                        } => {
                            acks.transaction(&ack);
                            resp.queue_transaction(split, response)?;
                            c.certificate(certificate.as_deref())?;
                            c.reports.queue_rows(split, outcome, &rows)?;
                            rep.decided += 1;
                            count_outcome(&mut rep.outcomes, outcome.as_str());
                        }
                        TxnResult::Rejected {
                            ack,
                            reason,
                            code,
                            ack_code,
                        } => {
                            if let Some(a) = &ack {
                                acks.transaction(a);
                            }
                            rep.rejected_transactions += 1;
                            if verbose {
                                eprintln!(
                                    "umbatch: {name}: {}: transaction rejected: {reason}",
                                    position()
                                );
                            }
                            let row = reject_row(
                                "x12",
                                name,
                                "transaction",
                                position(),
                                &code,
                                ack_code,
                                reason,
                            );
                            c.reports.reject_row(&row)?;
                        }
                        TxnResult::PassedOver { ack, reason } => {
                            if let Some(a) = &ack {
                                acks.transaction(a);
                            }
                            rep.passed_over += 1;
                            let row = reject_row(
                                "x12",
                                name,
                                "transaction",
                                position(),
                                "passed-over",
                                String::new(),
                                reason,
                            );
                            c.reports.reject_row(&row)?;
                        }
                    }
                }
                Item::GroupEnd(g) => {
                    envelope_diagnostics(
                        c,
                        acks,
                        rep,
                        name,
                        Some("group"),
                        &g.diagnostics,
                        verbose,
                    )?;
                    resp.end_group()?;
                    acks.end_group(g.declared)?;
                }
                Item::InterchangeEnd(e) => {
                    envelope_diagnostics(
                        c,
                        acks,
                        rep,
                        name,
                        Some("interchange"),
                        &e.diagnostics,
                        verbose,
                    )?;
                    resp.end_interchange()?;
                    acks.end_interchange(c.numbers)?;
                }
            }
        }
        let responses = resp.end_chunk()?;
        let rows = c.reports.end_chunk()?;
        recycled.give(responses.into_iter().zip(rows));
        // Counted once its rows are written, so summary.json always matches the reports.
        c.reports.summary.merge(summary);
        c.progress(chunk.base + chunk.bytes.len() as u64);
        Ok(())
    }
}

fn process_x12(c: &mut Ctx<'_>, path: &Path, rep: &mut InputReport) -> io::Result<()> {
    let name: Arc<str> = Arc::from(path.display().to_string());
    let mut hashing = HashingReader::open(path)?;
    let stem = unique_stem(c.stems, path);
    let out = &c.cfg.out;
    let as_of = c.cfg.evaluator.as_of();
    let mut resp = ResponseFile::new(
        &out.join("responses").join(format!("{stem}.278.x12")),
        as_of,
    );
    let mut acks = AckFile::new(&out.join("acks").join(format!("{stem}.999.x12")), as_of);
    let opts = ReaderOptions {
        lenient: c.cfg.lenient,
        chunk_bytes: c.cfg.chunk_bytes,
        ..ReaderOptions::default()
    };
    let recycled = &Recycled::default();
    let mut out = ChunkOutputs {
        resp: &mut resp,
        acks: &mut acks,
        rep,
        name: &name,
        verbose: c.cfg.verbosity == Verbosity::Verbose,
        recycled,
    };
    let ev = &c.cfg.evaluator;
    let pool = c.pool;
    if c.cfg.jobs <= 1 {
        // One thread does everything in turn: `--jobs 1` means one core.
        let mut reader = X12Reader::new(&mut hashing, Arc::clone(&name), opts);
        while let Some(chunk) = reader.next_chunk()? {
            let mut w = recycled.worker();
            let units: Vec<&TransactionUnit> = chunk_units(&chunk).collect();
            let mut results = Vec::with_capacity(units.len());
            for batch in units.chunks(BATCH) {
                process_batch(&name, &stem, &chunk, batch, ev, &mut w, &mut results);
            }
            let (split, summary) = w.finish(results);
            out.write(c, &chunk, ChunkResults::from([split]), summary)?;
            reader.recycle(chunk);
        }
    } else {
        // Three stages overlap: a reader thread cuts chunks; a decider thread hands each chunk
        // to the pool as its own task (no barrier between chunks, so workers never wait for
        // one chunk's slowest split before starting the next); this thread writes results in
        // input order, holding early finishers until their turn. Tokens bound the chunks in
        // flight, so memory stays bounded whatever the input size.
        const IN_FLIGHT: usize = 4;
        let (chunk_tx, chunk_rx) = std::sync::mpsc::sync_channel::<io::Result<Chunk>>(2);
        type Decided = (usize, io::Result<(Chunk, ChunkResults, Summary)>);
        let (done_tx, done_rx) = std::sync::mpsc::channel::<Decided>();
        let (token_tx, token_rx) = std::sync::mpsc::channel::<()>();
        // Written chunks go back to the reader, whose next chunks reuse their buffers.
        let (recycle_tx, recycle_rx) = std::sync::mpsc::channel::<Chunk>();
        for _ in 0..IN_FLIGHT {
            let _ = token_tx.send(());
        }
        let reader_name = Arc::clone(&name);
        let hashing_ref = &mut hashing;
        let (name_ref, stem_ref) = (&name, &stem);
        std::thread::scope(|scope| -> io::Result<()> {
            scope.spawn(move || {
                let mut reader = X12Reader::new(hashing_ref, reader_name, opts);
                loop {
                    while let Ok(done) = recycle_rx.try_recv() {
                        reader.recycle(done);
                    }
                    match reader.next_chunk() {
                        Ok(Some(chunk)) => {
                            if chunk_tx.send(Ok(chunk)).is_err() {
                                break;
                            }
                        }
                        Ok(None) => break,
                        Err(e) => {
                            let _ = chunk_tx.send(Err(e));
                            break;
                        }
                    }
                }
            });
            scope.spawn(move || {
                pool.in_place_scope(|tasks| {
                    for (seq, chunk) in chunk_rx.into_iter().enumerate() {
                        if token_rx.recv().is_err() {
                            break; // the writer stopped
                        }
                        let done_tx = done_tx.clone();
                        tasks.spawn(move |_| {
                            let decided = chunk.map(|chunk| {
                                let (results, summary) =
                                    decide_chunk(name_ref, stem_ref, &chunk, ev, recycled);
                                (chunk, results, summary)
                            });
                            let _ = done_tx.send((seq, decided));
                        });
                    }
                });
            });
            // Owned here so that an early return (a write error) drops them first: the
            // decider then sees no more tokens and stops, and the reader sees no receiver.
            let (token_tx, done_rx) = (token_tx, done_rx);
            let mut waiting = BTreeMap::new();
            let mut next = 0usize;
            for (seq, decided) in done_rx {
                waiting.insert(seq, decided);
                while let Some(decided) = waiting.remove(&next) {
                    let (chunk, results, summary) = decided?;
                    out.write(c, &chunk, results, summary)?;
                    let _ = recycle_tx.send(chunk);
                    next += 1;
                    let _ = token_tx.send(());
                }
            }
            Ok(())
        })?;
    }
    rep.responses = resp.transactions;
    rep.acknowledgments_999 = acks.acks_999;
    rep.ta1 = acks.ta1s;
    // Both files' final syncs at once.
    let (resp_done, acks_done) = std::thread::scope(|scope| {
        let r = scope.spawn(move || resp.commit());
        let a = acks.commit();
        (
            r.join()
                .unwrap_or_else(|_| Err(io::Error::other("commit thread failed"))),
            a,
        )
    });
    c.committed.extend(resp_done?);
    c.committed.extend(acks_done?);
    rep.bytes = hashing.bytes;
    rep.sha256 = format!("{:x}", hashing.hash.finalize());
    Ok(())
}

const FAX_BATCH: usize = 2048;

fn process_fax(c: &mut Ctx<'_>, path: &Path, rep: &mut InputReport) -> io::Result<()> {
    let name: Arc<str> = Arc::from(path.display().to_string());
    let mut hashing = HashingReader::open(path)?;
    let verbose = c.cfg.verbosity == Verbosity::Verbose;
    let stem = unique_stem(c.stems, path);
    let reader_stem = file_stem(&name);
    {
        let buffered = BufReader::with_capacity(1 << 20, &mut hashing);
        let mut rows = match FaxReader::new(buffered, Arc::clone(&name)) {
            Ok(r) => r,
            Err(e) => {
                rep.file_errors += 1;
                let row = reject_row(
                    "fax",
                    &name,
                    "file",
                    "row 1".into(),
                    "fax-header",
                    String::new(),
                    e.reason.clone(),
                );
                c.reports.reject_row(&row)?;
                return Ok(());
            }
        };
        loop {
            let batch: Vec<FaxRow> = rows.by_ref().take(FAX_BATCH).collect();
            if batch.is_empty() {
                break;
            }
            let ev = &c.cfg.evaluator;
            // As for X12: a few splits, each rendering its rows into its own buffers, which
            // the writer sends to the reports in long runs.
            let min_len = batch.len().div_ceil(SPLITS_PER_CHUNK).max(1);
            let (splits, summary) = c.pool.install(|| {
                batch
                    .into_par_iter()
                    .with_min_len(min_len)
                    .fold(
                        || (Vec::new(), WorkerOut::default()),
                        |(mut v, mut w), r| {
                            v.push(r.map(|mut req| {
                                if stem != reader_stem {
                                    let fax_id =
                                        req.request_id.get(reader_stem.len() + 1..).unwrap_or("");
                                    req.request_id = format!("{stem}:{fax_id}");
                                }
                                let d = ev.decide(&req);
                                let rows = w.rows.render_into(&req, &d);
                                w.summary.add(&req, &d);
                                (d.outcome, d.certification_number, rows)
                            }));
                            (v, w)
                        },
                    )
                    .map(|(v, mut w)| {
                        let split = (v, w.rows.take_buffers());
                        (std::collections::LinkedList::from([split]), w.summary)
                    })
                    .reduce(
                        || (std::collections::LinkedList::new(), Summary::default()),
                        |(mut a, mut sa), (mut b, sb)| {
                            a.append(&mut b);
                            sa.merge(sb);
                            (a, sa)
                        },
                    )
            });
            let (lists, buffers): (Vec<_>, Vec<_>) = splits.into_iter().unzip();
            c.reports.begin_chunk(buffers)?;
            for (split, list) in lists.into_iter().enumerate() {
                for r in list {
                    match r {
                        Ok((outcome, certificate, spans)) => {
                            c.certificate(certificate.as_deref())?;
                            c.reports.queue_rows(split, outcome, &spans)?;
                            rep.decided += 1;
                            count_outcome(&mut rep.outcomes, outcome.as_str());
                        }
                        Err(rej) => {
                            rep.rejected_rows += 1;
                            if verbose {
                                eprintln!("umbatch: {name}: row {}: {}", rej.row, rej.reason);
                            }
                            let mut row = reject_row(
                                "fax",
                                &name,
                                "row",
                                format!("row {}", rej.row),
                                "fax-row",
                                String::new(),
                                rej.reason,
                            );
                            row.request_id = if rej.fax_id.is_empty() {
                                String::new()
                            } else {
                                format!("{stem}:{}", rej.fax_id)
                            };
                            c.reports.reject_row(&row)?;
                        }
                    }
                }
            }
            c.reports.end_chunk()?;
            // Counted once its rows are written, as for X12.
            c.reports.summary.merge(summary);
            c.progress(rows.byte_position());
        }
    }
    // Read what the CSV reader left unread (nothing normally) so the hash covers the file;
    // bytes it buffered but did not parse were hashed when they were read.
    io::copy(&mut hashing, &mut io::sink())?;
    rep.bytes = hashing.bytes;
    rep.sha256 = format!("{:x}", hashing.hash.finalize());
    Ok(())
}

fn quarantine(dir: &Path, path: &Path) -> io::Result<PathBuf> {
    create_private_dir(dir)?;
    let name = path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    let mut dest = dir.join(&name);
    let mut n = 2;
    while dest.exists() {
        dest = dir.join(format!("{}.{n}", name.to_string_lossy()));
        n += 1;
    }
    if std::fs::rename(path, &dest).is_err() {
        std::fs::copy(path, &dest)?;
        std::fs::remove_file(path)?;
    }
    Ok(dest)
}

fn file_sha256(path: &Path) -> io::Result<(String, u64)> {
    let mut f = File::open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut n = 0u64;
    loop {
        let k = f.read(&mut buf)?;
        if k == 0 {
            break;
        }
        h.update(buf.get(..k).unwrap_or(&[]));
        n += k as u64;
    }
    Ok((format!("{:x}", h.finalize()), n))
}

#[derive(Serialize)]
struct FileRef {
    file: String,
    sha256: String,
    bytes: u64,
}

#[derive(Serialize)]
struct OutputRef {
    file: String,
    bytes: u64,
}

#[derive(Serialize)]
struct Manifest<'a> {
    umbatch_version: &'static str,
    as_of: String,
    jobs: usize,
    exit_status: u8,
    policy: serde_json::Value,
    rosters: Vec<FileRef>,
    inputs: &'a [InputReport],
    outputs: Vec<OutputRef>,
    timings_ms: BTreeMap<String, u128>,
}

/// Runs the job. The caller holds the lock (see [`lock`]).
pub fn run(cfg: &RunConfig) -> Result<RunSummary, RunError> {
    let started = Instant::now();
    let out = &cfg.out;
    for d in [
        out.clone(),
        out.join("responses"),
        out.join("acks"),
        out.join("reports"),
    ] {
        create_private_dir(&d).map_err(|e| RunError::Output(d.display().to_string(), e))?;
        clean_partials(&d);
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(cfg.jobs.max(1))
        .build()
        .map_err(|e| RunError::Io(io::Error::other(e.to_string())))?;
    let mut reports = Reports::create(&out.join("reports"))?;
    let mut committed: Vec<Committed> = Vec::new();
    let mut numbers = ControlNumbers::new(cfg.evaluator.as_of());
    let mut stems = HashSet::new();
    let mut certificates = Certificates::new(out, DEFAULT_BUFFER_KEYS);
    let mut inputs = Vec::new();
    let total_bytes: u64 = cfg
        .inputs
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok().map(|m| m.len()))
        .sum();
    let bar = (cfg.progress && cfg.verbosity != Verbosity::Quiet).then(|| {
        let b = indicatif::ProgressBar::new(total_bytes);
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {bar:30} {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta} {msg}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        b
    });
    let mut exit = 0u8;
    let mut done_bytes = 0u64;
    for path in &cfg.inputs {
        let t0 = Instant::now();
        let mut rep = InputReport {
            file: path.display().to_string(),
            ..InputReport::default()
        };
        let kind = sniff(path).unwrap_or(InputKind::Unknown);
        rep.kind = match kind {
            InputKind::X12 => "x12",
            InputKind::Fax => "fax",
            InputKind::Unknown => "unknown",
        }
        .into();
        let mut ctx = Ctx {
            cfg,
            pool: &pool,
            reports: &mut reports,
            committed: &mut committed,
            numbers: &mut numbers,
            stems: &mut stems,
            certificates: &mut certificates,
            files_done: inputs.len(),
            progress: bar.as_ref(),
            progress_base: done_bytes,
        };
        let result = match kind {
            InputKind::X12 => process_x12(&mut ctx, path, &mut rep),
            InputKind::Fax => process_fax(&mut ctx, path, &mut rep),
            InputKind::Unknown => {
                rep.file_errors += 1;
                let (sha, bytes) = file_sha256(path).unwrap_or_default();
                rep.sha256 = sha;
                rep.bytes = bytes;
                let reason = if bytes == 0 {
                    "the file is empty".to_string()
                } else {
                    "not recognised: neither an X12 interchange (no ISA) nor a fax-queue export (no fax header row)".to_string()
                };
                let row = reject_row(
                    "unknown",
                    &rep.file,
                    "file",
                    "byte 0".into(),
                    "unrecognised",
                    String::new(),
                    reason,
                );
                ctx.reports.reject_row(&row).map(|_| ())
            }
        };
        if let Err(e) = result {
            if crate::write::is_output_error(&e) {
                // Not this input's fault, and no later input could be written either: stop.
                // Uncommitted outputs (this input's, the reports, run.json) are removed as
                // they drop; the outputs of inputs already finished stay.
                return Err(RunError::Io(e));
            }
            rep.file_errors += 1;
            let row = reject_row(
                &rep.kind.clone(),
                &rep.file,
                "file",
                String::new(),
                "io",
                String::new(),
                format!("the file could not be read: {e}"),
            );
            reports.reject_row(&row)?;
        }
        // A file is bad when nothing in it could be used as submitted.
        let unusable = rep.decided == 0
            && rep.passed_over == 0
            && rep.file_errors + rep.rejected_transactions + rep.rejected_rows > 0;
        let has_errors = rep.file_errors + rep.rejected_transactions + rep.rejected_rows > 0;
        rep.status = if has_errors {
            "errors".into()
        } else {
            "ok".into()
        };
        if has_errors {
            exit = 1;
        }
        if unusable {
            if let Some(q) = &cfg.quarantine {
                match quarantine(q, path) {
                    Ok(dest) => {
                        rep.quarantined_to = Some(dest.display().to_string());
                        rep.status = "quarantined".into();
                    }
                    Err(e) => eprintln!("umbatch: cannot quarantine `{}`: {e}", path.display()),
                }
            }
        }
        done_bytes += rep.bytes;
        if let Some(b) = &bar {
            b.set_position(done_bytes);
        }
        rep.elapsed_ms = t0.elapsed().as_millis();
        if cfg.verbosity != Verbosity::Quiet {
            let outcomes: Vec<String> = rep
                .outcomes
                .iter()
                .map(|(k, v)| format!("{v} {k}"))
                .collect();
            let line = format!(
                "umbatch: {}: {}, {} decided ({}), {} transactions and {} rows rejected, {} passed over, {} file errors{}",
                rep.file,
                rep.kind,
                rep.decided,
                if outcomes.is_empty() { "none".to_string() } else { outcomes.join(", ") },
                rep.rejected_transactions,
                rep.rejected_rows,
                rep.passed_over,
                rep.file_errors,
                if rep.status == "quarantined" { ", quarantined" } else { "" }
            );
            match &bar {
                Some(b) => b.println(line),
                None => eprintln!("{line}"),
            }
        }
        inputs.push(rep);
    }
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    let (repeated, repeats) = certificates.finish()?;
    for n in &repeated {
        eprintln!(
            "umbatch: error: certification number {n} was given to more than one request in this run (see decisions.csv)"
        );
    }
    if repeats > repeated.len() as u64 {
        eprintln!(
            "umbatch: error: {} more certification numbers were given more than once",
            repeats - repeated.len() as u64
        );
    }
    let (report_files, summary) = reports.commit()?;
    let summary_path = out.join("summary.json");
    let mut sf = AtomicFile::create(&summary_path)?;
    serde_json::to_writer_pretty(&mut sf, &summary).map_err(io::Error::other)?;
    sf.write_all(b"\n")?;
    let mut all = report_files;
    all.push(sf.commit()?);
    all.extend(committed);
    let outputs: Vec<OutputRef> = all
        .iter()
        .map(|c| OutputRef {
            file: c
                .path
                .strip_prefix(out)
                .unwrap_or(&c.path)
                .display()
                .to_string(),
            bytes: c.bytes,
        })
        .collect();
    let mut timings = BTreeMap::new();
    for i in &inputs {
        timings.insert(i.file.clone(), i.elapsed_ms);
    }
    timings.insert("total".to_string(), started.elapsed().as_millis());
    let policy = cfg.evaluator.policy();
    let mut rosters = Vec::new();
    for r in &cfg.rosters {
        let (sha256, bytes) = file_sha256(r).unwrap_or_default();
        rosters.push(FileRef {
            file: r.display().to_string(),
            sha256,
            bytes,
        });
    }
    let manifest = Manifest {
        umbatch_version: env!("CARGO_PKG_VERSION"),
        as_of: cfg
            .evaluator
            .as_of()
            .format("%Y-%m-%dT%H:%M:%S")
            .to_string(),
        jobs: cfg.jobs,
        exit_status: exit,
        policy: serde_json::json!({ "id": policy.id, "name": policy.name, "file": policy.file, "sha256": policy.sha256 }),
        rosters,
        inputs: &inputs,
        outputs,
        timings_ms: timings,
    };
    let mut mf = AtomicFile::create(&out.join("run.json"))?;
    serde_json::to_writer_pretty(&mut mf, &manifest).map_err(io::Error::other)?;
    mf.write_all(b"\n")?;
    mf.commit()?;
    if cfg.verbosity != Verbosity::Quiet {
        let outcomes: Vec<String> = summary
            .by_outcome
            .iter()
            .map(|(k, v)| format!("{v} {k}"))
            .collect();
        eprintln!(
            "umbatch: {} files, {} requests decided ({}), {} rejects; outputs in {} ({} ms)",
            inputs.len(),
            summary.decided,
            if outcomes.is_empty() {
                "none".to_string()
            } else {
                outcomes.join(", ")
            },
            summary.rejects_by_level.values().sum::<u64>(),
            out.display(),
            started.elapsed().as_millis()
        );
    }
    Ok(RunSummary {
        exit_code: exit,
        inputs,
        summary,
    })
}

#[cfg(test)]
mod tests {
    use super::{process_batch, Certificates, TxnResult, WorkerOut, BATCH};
    use crate::x12::{Item, ReaderOptions, TransactionUnit, X12Reader};
    use std::sync::Arc;

    /// What a result says, with the bytes it points to, comparable across runs.
    fn described(r: &TxnResult, out: &WorkerOut) -> String {
        match r {
            TxnResult::Decided {
                outcome, response, ..
            } => format!(
                "decided {} {}",
                outcome.as_str(),
                String::from_utf8_lossy(out.responses.get(response.clone()).unwrap())
            ),
            TxnResult::Rejected { code, .. } => format!("rejected {code}"),
            TxnResult::PassedOver { reason, .. } => format!("passed over: {reason}"),
        }
    }

    #[test]
    fn batches_of_any_size_give_one_result_per_transaction_in_order() {
        let mut bytes = Vec::new();
        crate::gen::write_x12(
            &mut bytes,
            &crate::gen::X12GenOptions {
                transactions: 2 * BATCH as u64 + 5,
                ..Default::default()
            },
        )
        .unwrap();
        // Among good requests: a transaction that is not a 278, and one with a broken HL
        // tree (rejected), inside what will be the first and second batches.
        let text = String::from_utf8(bytes).unwrap();
        let text = text.replacen("ST*278*0004*005010X217", "ST*837*0004*005010X222A1", 1);
        let bad_at = text.match_indices("HL*3*2*22*1").nth(BATCH + 2).unwrap().0;
        let text = format!("{}HL*3*9*22*1{}", &text[..bad_at], &text[bad_at + 11..]);
        let file: Arc<str> = Arc::from("batches.x12");
        let opts = ReaderOptions {
            chunk_bytes: 1 << 30,
            ..ReaderOptions::default()
        };
        let mut reader = X12Reader::new(text.as_bytes(), Arc::clone(&file), opts);
        let chunk = reader.next_chunk().unwrap().unwrap();
        let units: Vec<&TransactionUnit> = chunk
            .items
            .iter()
            .filter_map(|i| match i {
                Item::Transaction(u) => Some(u),
                _ => None,
            })
            .collect();
        assert_eq!(units.len(), 2 * BATCH + 5);
        let ev = crate::test_support::sample_evaluator().unwrap();
        let run = |size: usize| {
            let mut out = WorkerOut::default();
            let mut results = Vec::new();
            for batch in units.chunks(size) {
                process_batch(&file, "batches", &chunk, batch, &ev, &mut out, &mut results);
            }
            results
                .iter()
                .map(|r| described(r, &out))
                .collect::<Vec<_>>()
        };
        let one_by_one = run(1);
        assert_eq!(one_by_one.len(), units.len());
        assert!(one_by_one[3].starts_with("passed over: not a 278 X217 request"));
        assert!(
            one_by_one[BATCH + 2].starts_with("rejected "),
            "{}",
            one_by_one[BATCH + 2]
        );
        assert_eq!(
            one_by_one
                .iter()
                .filter(|d| d.starts_with("decided "))
                .count(),
            units.len() - 2
        );
        for size in [3, BATCH, units.len()] {
            assert_eq!(run(size), one_by_one, "batches of {size}");
        }
    }

    #[test]
    fn certificates_notice_a_repeat_by_hash_or_whole_number() {
        let dir = tempfile::tempdir().unwrap();
        // A buffer of two keys, so the repeat is found across spilled runs.
        let mut c = Certificates::new(dir.path(), 2);
        for n in [
            "UMB00000000DEADBEEF",
            "UMB00000000DEADBEF0",
            "UMB0000000000000001",
            "UMB00000000DEADBEEF",
            // Not a prefix + 16 upper-case hex digits: kept whole.
            "short-1",
            "short-1",
            "UMB00000000deadbeef",
            // Another prefix: kept whole, not confused with the first prefix's number.
            "XYZ00000000DEADBEF0",
        ] {
            c.insert(n).unwrap();
        }
        assert!(dir.path().join(".certificates.partial").exists());
        let (named, total) = c.finish().unwrap();
        assert_eq!(named, ["UMB00000000DEADBEEF", "short-1"]);
        assert_eq!(total, 2);
        assert!(!dir.path().join(".certificates.partial").exists());
    }
}
