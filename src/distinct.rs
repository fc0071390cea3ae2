//! A check that the 64-bit keys of a run are all distinct, in bounded memory.
//!
//! Every certification number of a run must be unique, and a run may hold any number of
//! requests. A hash set of every key made a run's memory grow with its input (about 27 bytes a
//! request). Here keys gather in a buffer of fixed size; a full buffer is sorted and written to
//! a scratch file as one sorted run, and the runs are merged once, at the end, where repeats
//! are found. Memory is the buffer plus a small read buffer per spilled run; the file holds
//! 8 bytes a key, and is removed when the check ends.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::PathBuf;

/// Keys held in memory before a sorted run is written out (4 MiB).
pub const DEFAULT_BUFFER_KEYS: usize = 1 << 19;

/// Keys read at a time from each spilled run while merging (32 KiB per run).
const READ_KEYS: usize = 4096;

/// Repeated keys kept to be named; the rest are only counted.
const NAMED_REPEATS: usize = 20;

/// Repeated keys found by [`DistinctCheck::finish`].
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Repeats {
    /// The first repeated keys, in ascending order (at most 20).
    pub keys: Vec<u64>,
    /// How many distinct keys were given more than once.
    pub total: u64,
}

impl Repeats {
    fn note(&mut self, key: u64) {
        self.total += 1;
        if self.keys.len() < NAMED_REPEATS {
            self.keys.push(key);
        }
    }
}

/// A sorted run written to the scratch file: where it starts and how many keys it holds.
#[derive(Debug, Clone, Copy)]
struct SpilledRun {
    offset: u64,
    keys: u64,
}

/// Collects keys and reports those given more than once (see the module documentation).
pub struct DistinctCheck {
    pending: Vec<u64>,
    buffer_keys: usize,
    scratch_path: PathBuf,
    scratch: Option<BufWriter<File>>,
    /// True once the scratch file exists (it is removed when the check ends).
    created: bool,
    written: u64,
    runs: Vec<SpilledRun>,
    /// Repeats found inside one buffer when it was sorted.
    repeats_in_runs: Vec<u64>,
}

impl DistinctCheck {
    /// A check that spills to `scratch_path` (created, owner-only, only if the keys outgrow
    /// `buffer_keys`).
    pub fn new(scratch_path: PathBuf, buffer_keys: usize) -> Self {
        DistinctCheck {
            pending: Vec::new(),
            buffer_keys: buffer_keys.max(1),
            scratch_path,
            scratch: None,
            created: false,
            written: 0,
            runs: Vec::new(),
            repeats_in_runs: Vec::new(),
        }
    }

    /// Where the scratch file is (or would be) written.
    pub fn scratch_path(&self) -> &std::path::Path {
        &self.scratch_path
    }

    /// Adds a key. Fails only when a full buffer cannot be written to the scratch file.
    pub fn insert(&mut self, key: u64) -> io::Result<()> {
        self.pending.push(key);
        if self.pending.len() >= self.buffer_keys {
            self.spill()?;
        }
        Ok(())
    }

    /// Sorts the buffer, keeps one of each key (noting repeats) and leaves it sorted.
    fn sort_pending(&mut self) {
        self.pending.sort_unstable();
        // A key met three times is pushed twice; `finish` keeps one of each.
        for pair in self.pending.windows(2) {
            if let [a, b] = pair {
                if a == b {
                    self.repeats_in_runs.push(*a);
                }
            }
        }
        self.pending.dedup();
    }

    fn spill(&mut self) -> io::Result<()> {
        self.sort_pending();
        let out = match &mut self.scratch {
            Some(out) => out,
            None => {
                let file = open_scratch(&self.scratch_path)?;
                self.created = true;
                self.scratch.insert(BufWriter::with_capacity(1 << 16, file))
            }
        };
        for &k in &self.pending {
            out.write_all(&k.to_le_bytes())?;
        }
        let keys = self.pending.len() as u64;
        self.runs.push(SpilledRun {
            offset: self.written,
            keys,
        });
        self.written += keys * 8;
        self.pending.clear();
        Ok(())
    }

    /// Merges everything seen and returns the keys given more than once.
    pub fn finish(mut self) -> io::Result<Repeats> {
        self.sort_pending();
        let mut found: Vec<u64> = std::mem::take(&mut self.repeats_in_runs);
        let mut file = match self.scratch.take() {
            Some(out) => Some(out.into_inner().map_err(|e| e.into_error())?),
            None => None,
        };
        if let Some(file) = file.as_mut() {
            self.merge(file, &mut found)?;
        }
        drop(file);
        found.sort_unstable();
        found.dedup();
        let mut repeats = Repeats::default();
        for k in found {
            repeats.note(k);
        }
        Ok(repeats)
    }

    /// K-way merge of the spilled runs and the buffer; every key met twice is pushed to `found`.
    fn merge(&mut self, file: &mut File, found: &mut Vec<u64>) -> io::Result<()> {
        let mut readers: Vec<RunReader> = self.runs.iter().map(|r| RunReader::new(*r)).collect();
        let in_memory = readers.len();
        let mut heap = BinaryHeap::new();
        for (i, r) in readers.iter_mut().enumerate() {
            if let Some(k) = r.next(file)? {
                heap.push(Reverse((k, i)));
            }
        }
        let mut memory = self.pending.iter().copied();
        if let Some(k) = memory.next() {
            heap.push(Reverse((k, in_memory)));
        }
        let mut last: Option<u64> = None;
        while let Some(Reverse((k, i))) = heap.pop() {
            if last == Some(k) {
                found.push(k);
            }
            last = Some(k);
            let next = match readers.get_mut(i) {
                Some(r) => r.next(file)?,
                None => memory.next(),
            };
            if let Some(n) = next {
                heap.push(Reverse((n, i)));
            }
        }
        Ok(())
    }
}

impl Drop for DistinctCheck {
    fn drop(&mut self) {
        self.scratch = None;
        if self.created {
            let _ = std::fs::remove_file(&self.scratch_path);
        }
    }
}

/// Opens the scratch file for writing and reading back, owner-only.
fn open_scratch(path: &PathBuf) -> io::Result<File> {
    let mut o = std::fs::OpenOptions::new();
    o.read(true).write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    o.open(path)
}

/// Reads one spilled run back, a block at a time.
struct RunReader {
    offset: u64,
    left: u64,
    block: Vec<u64>,
    /// The bytes of the last block read (kept to be refilled, not reallocated).
    bytes: Vec<u8>,
    at: usize,
}

impl RunReader {
    fn new(run: SpilledRun) -> Self {
        RunReader {
            offset: run.offset,
            left: run.keys,
            block: Vec::new(),
            bytes: Vec::new(),
            at: 0,
        }
    }

    fn next(&mut self, file: &mut File) -> io::Result<Option<u64>> {
        if self.at == self.block.len() {
            if self.left == 0 {
                return Ok(None);
            }
            let n = self.left.min(READ_KEYS as u64) as usize;
            self.bytes.resize(n * 8, 0);
            file.seek(SeekFrom::Start(self.offset))?;
            file.read_exact(&mut self.bytes)?;
            self.block.clear();
            self.block.extend(self.bytes.chunks_exact(8).map(|c| {
                let mut b = [0u8; 8];
                b.copy_from_slice(c);
                u64::from_le_bytes(b)
            }));
            self.offset += (n * 8) as u64;
            self.left -= n as u64;
            self.at = 0;
        }
        let k = self.block.get(self.at).copied();
        self.at += 1;
        Ok(k)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashMap;

    /// A check with a buffer of `buffer` keys that has been given `keys`.
    fn filled(
        dir: &tempfile::TempDir,
        buffer: usize,
        keys: impl IntoIterator<Item = u64>,
    ) -> (DistinctCheck, PathBuf) {
        let path = dir.path().join(".keys.partial");
        let mut c = DistinctCheck::new(path.clone(), buffer);
        for k in keys {
            c.insert(k).unwrap();
        }
        (c, path)
    }

    fn expected(keys: &[u64]) -> Repeats {
        let mut counts: HashMap<u64, u32> = HashMap::new();
        for &k in keys {
            *counts.entry(k).or_default() += 1;
        }
        let mut rep: Vec<u64> = counts
            .into_iter()
            .filter(|&(_, n)| n > 1)
            .map(|(k, _)| k)
            .collect();
        rep.sort_unstable();
        let total = rep.len() as u64;
        rep.truncate(NAMED_REPEATS);
        Repeats { keys: rep, total }
    }

    #[test]
    fn finds_repeats_inside_a_run_across_runs_and_in_the_buffer() {
        let dir = tempfile::tempdir().unwrap();
        // Run 1: 5 twice. Run 2: 9, repeated later from the buffer. Run 3 holds 1 again.
        let (c, path) = filled(&dir, 4, [5, 1, 5, 3, 9, 2, 8, 7, 1, 10, 11, 12, 9]);
        assert!(path.exists(), "a full buffer is spilled");
        let r = c.finish().unwrap();
        assert_eq!(
            r,
            Repeats {
                keys: vec![1, 5, 9],
                total: 3
            }
        );
        assert!(!path.exists(), "the scratch file is removed");
    }

    #[test]
    fn no_file_while_the_keys_fit_in_memory() {
        let dir = tempfile::tempdir().unwrap();
        let (c, path) = filled(&dir, 100, 0..99);
        assert!(!path.exists());
        assert_eq!(c.finish().unwrap(), Repeats::default());
    }

    #[test]
    fn a_dropped_check_removes_its_scratch_file() {
        let dir = tempfile::tempdir().unwrap();
        let (c, path) = filled(&dir, 2, 0..10);
        assert!(path.exists());
        drop(c);
        assert!(!path.exists());
    }

    #[cfg(unix)]
    #[test]
    fn the_scratch_file_is_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let (_c, path) = filled(&dir, 2, 0..3);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn names_twenty_repeats_and_counts_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let (c, _) = filled(&dir, 7, (0..30u64).chain(0..30));
        let r = c.finish().unwrap();
        assert_eq!(r.total, 30);
        assert_eq!(r.keys, (0..20).collect::<Vec<u64>>());
    }

    proptest! {
        #[test]
        fn agrees_with_counting_every_key(
            keys in proptest::collection::vec(0u64..64, 0..200),
            buffer in 1usize..40,
        ) {
            let dir = tempfile::tempdir().unwrap();
            let (c, path) = filled(&dir, buffer, keys.iter().copied());
            prop_assert_eq!(c.finish().unwrap(), expected(&keys));
            prop_assert!(!path.exists());
        }
    }
}
