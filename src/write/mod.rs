//! Writers: 278 responses, 999/TA1 acknowledgments, CSV reports, and the file plumbing they
//! share (owner-only permissions, write-aside-then-rename, spreadsheet-safe cells).

pub mod ack;
mod cells;
mod direct;
pub mod reports;
pub mod response;
mod short;

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

/// Writes the ISA of an interchange that answers `input`: sender and receiver swapped, created
/// at `created`, no TA1 requested, the input's usage indicator.
pub fn reply_isa<W: Write>(
    w: &mut crate::x12::write::SegmentWriter<W>,
    input: &crate::x12::IsaHeader,
    created: chrono::NaiveDateTime,
    control: u32,
) -> io::Result<()> {
    w.isa(
        &input.receiver_qualifier,
        &input.receiver_id,
        &input.sender_qualifier,
        &input.sender_id,
        &created.format("%y%m%d").to_string(),
        &created.format("%H%M").to_string(),
        control,
        false,
        &input.usage,
    )
}

/// Writes the GS of a group that answers `input`: application sender and receiver swapped.
pub fn reply_gs<W: Write>(
    w: &mut crate::x12::write::SegmentWriter<W>,
    functional_id: &str,
    input: &crate::x12::Group,
    created: chrono::NaiveDateTime,
    control: u32,
    version: &str,
) -> io::Result<()> {
    w.segment(
        "GS",
        &[
            functional_id,
            &input.receiver,
            &input.sender,
            &created.format("%Y%m%d").to_string(),
            &created.format("%H%M").to_string(),
            &control.to_string(),
            "X",
            version,
        ],
    )
}

/// Creates a folder (and parents) readable by the owner only (0700 on Unix).
pub fn create_private_dir(path: &Path) -> io::Result<()> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(0o700);
    }
    b.create(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

/// Opens a new file readable and writable by the owner only (0600 on Unix).
pub fn create_private_file(path: &Path) -> io::Result<File> {
    let mut o = OpenOptions::new();
    o.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    o.open(path)
}

/// An output file could not be written (a full disk, a file-size limit…).
///
/// Carried inside the `io::Error` an output returns, so the run can tell it from an input that
/// could not be read: a bad input is that input's problem and the run goes on; an output that
/// cannot be written breaks every promise the run makes, whatever the input, so the run stops.
#[derive(Debug, thiserror::Error)]
#[error("{}: {error}", path.display())]
pub struct OutputError {
    /// The output's final name.
    pub path: PathBuf,
    /// What the system said (part of the message, not a separate source, so it shows once).
    pub error: io::Error,
}

/// True when `e` came from writing an output (see [`OutputError`]).
pub fn is_output_error(e: &io::Error) -> bool {
    e.get_ref().is_some_and(|inner| inner.is::<OutputError>())
}

/// A file written under a temporary name and renamed to its final name only when complete,
/// so a killed run never leaves a half file under a final name.
pub struct AtomicFile {
    tmp: PathBuf,
    dest: PathBuf,
    out: Option<Sink>,
    bytes: u64,
    /// Bytes written since the last background sync started.
    unsynced: u64,
    /// A background `fdatasync` of what was written so far (see [`SYNC_EVERY`]).
    syncing: Option<std::thread::JoinHandle<io::Result<()>>>,
    /// False once the file has moved past the page cache or cannot (see [`DIRECT_AFTER`]).
    may_go_direct: bool,
}

/// Where an output's bytes go.
enum Sink {
    /// Through the page cache: every file begins here, and stays here when it is small or
    /// direct I/O is not available (then it is synced in the background as it grows).
    Cached(BufWriter<File>),
    /// Past the page cache, by a writer thread of its own (see [`direct`]): a large file once
    /// it has passed [`DIRECT_AFTER`].
    Direct(direct::DirectFile),
}

/// A file moves past the page cache once it holds this much (a multiple of
/// [`direct::ALIGN`]). Below it the page cache costs little, and a direct file's thread, two
/// buffers and synchronous last write made a run of 200 files of 50 requests about 40% slower.
const DIRECT_AFTER: u64 = 8 << 20;

/// Once a file is past [`SYNC_AFTER`], its data is synced in the background every this many
/// bytes while the run goes on, so the sync that `commit` must do before renaming finds
/// little left to write. (A 1.7 GB output synced only at the end kept the disk busy for
/// seconds after the work was done.)
const SYNC_EVERY: u64 = 16 << 20;

/// Smaller files are synced only at commit: syncing while a file is still being appended
/// stalls its writer, which costs more than it saves on a short run.
const SYNC_AFTER: u64 = 64 << 20;

/// A committed output: where it is and its size (counted while written, never re-read).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Committed {
    /// Final path.
    pub path: PathBuf,
    /// Size in bytes.
    pub bytes: u64,
}

/// Bytes `range` of buffer `buf` among a chunk's buffers (one per worker split), waiting to
/// be written to one output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Run {
    pub(crate) buf: usize,
    pub(crate) range: std::ops::Range<usize>,
}

impl Run {
    /// The run's bytes in `buffers` (`None` when it does not lie there).
    pub(crate) fn bytes<'b, B: AsRef<[u8]>>(&self, buffers: &'b [B]) -> Option<&'b [u8]> {
        buffers.get(self.buf)?.as_ref().get(self.range.clone())
    }
}

/// Adds `range` of buffer `buf` to the run waiting in `open`, joining it when it continues
/// that run, so what one worker rendered request after request reaches the file in one
/// write. Returns the run it could not join, which the caller writes first.
pub(crate) fn join_run(
    open: &mut Option<Run>,
    buf: usize,
    range: std::ops::Range<usize>,
) -> Option<Run> {
    if range.is_empty() {
        return None;
    }
    match open {
        Some(run) if run.buf == buf && run.range.end == range.start => {
            run.range.end = range.end;
            None
        }
        _ => open.replace(Run { buf, range }),
    }
}

/// Writes at least this long go to the file directly, not through the write buffer: they
/// are whole runs of rendered rows or responses, and copying them first would only double
/// the memory traffic.
const DIRECT_WRITE: usize = 32 << 10;

/// Suffix of files being written; a later run removes leftovers of a killed run.
pub const PARTIAL_SUFFIX: &str = ".partial";

impl AtomicFile {
    /// Starts writing `dest` (as `.<name>.partial` in the same folder).
    pub fn create(dest: &Path) -> io::Result<AtomicFile> {
        Self::create_with(dest, true)
    }

    /// [`Self::create`]; `direct` lets the file move past the page cache when it grows.
    fn create_with(dest: &Path, direct: bool) -> io::Result<AtomicFile> {
        let name = dest
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "out".into());
        let tmp = dest.with_file_name(format!(".{name}{PARTIAL_SUFFIX}"));
        let f = create_private_file(&tmp)?;
        Ok(AtomicFile {
            tmp,
            dest: dest.to_path_buf(),
            out: Some(Sink::Cached(BufWriter::with_capacity(256 << 10, f))),
            may_go_direct: direct,
            bytes: 0,
            unsynced: 0,
            syncing: None,
        })
    }

    /// Starts a background sync of the data written so far, unless one is still running.
    fn sync_in_background(&mut self) -> io::Result<()> {
        if let Some(h) = self.syncing.take() {
            if !h.is_finished() {
                self.syncing = Some(h);
                return Ok(());
            }
            join_sync(h)?;
        }
        if let Some(Sink::Cached(w)) = self.out.as_ref() {
            let f = w.get_ref().try_clone()?;
            self.syncing = Some(std::thread::spawn(move || f.sync_data()));
            self.unsynced = 0;
        }
        Ok(())
    }

    /// Moves the file past the page cache (see [`DIRECT_AFTER`]), at a block boundary; it
    /// stays where it is when the platform or the file system cannot do direct I/O.
    fn go_direct(&mut self) -> io::Result<()> {
        self.may_go_direct = false;
        let Some(Sink::Cached(w)) = self.out.as_mut() else {
            return Ok(());
        };
        w.flush()?;
        if let Some(d) = direct::DirectFile::continue_at(&self.tmp, self.bytes)? {
            // The buffered handle is flushed; the final sync covers what it wrote.
            self.out = Some(Sink::Direct(d));
        }
        Ok(())
    }

    /// Flushes, syncs and renames to the final name.
    pub fn commit(mut self) -> io::Result<Committed> {
        self.commit_unmarked().map_err(|e| {
            // Not renamed: leave no partial file behind (`Drop` no longer sees an open file).
            let _ = std::fs::remove_file(&self.tmp);
            self.output_error(e)
        })
    }

    fn commit_unmarked(&mut self) -> io::Result<Committed> {
        if let Some(h) = self.syncing.take() {
            join_sync(h)?;
        }
        match self.out.take() {
            Some(Sink::Cached(mut w)) => {
                w.flush()?;
                let f = w.into_inner().map_err(|e| e.into_error())?;
                f.sync_all()?;
            }
            // The data is on disk already; the sync records the file's length.
            Some(Sink::Direct(d)) => d.finish()?.sync_all()?,
            None => {}
        }
        std::fs::rename(&self.tmp, &self.dest)?;
        Ok(Committed {
            path: self.dest.clone(),
            bytes: self.bytes,
        })
    }

    /// The final path.
    pub fn dest(&self) -> &Path {
        &self.dest
    }
}

impl AtomicFile {
    /// Marks an error as this output's (see [`OutputError`]); an error already marked is kept.
    fn output_error(&self, e: io::Error) -> io::Error {
        if is_output_error(&e) {
            return e;
        }
        io::Error::new(
            e.kind(),
            OutputError {
                path: self.dest.clone(),
                error: e,
            },
        )
    }

    fn write_unmarked(&mut self, buf: &[u8]) -> io::Result<usize> {
        let align = direct::ALIGN as u64;
        let past = self.may_go_direct && self.bytes >= DIRECT_AFTER;
        if past && self.bytes.is_multiple_of(align) {
            self.go_direct()?;
        }
        match self.out.as_mut() {
            Some(Sink::Direct(d)) => {
                d.write_all(buf)?;
                self.bytes += buf.len() as u64;
                Ok(buf.len())
            }
            Some(Sink::Cached(w)) => {
                // A file about to move past the page cache takes bytes up to the next block
                // boundary only, where it moves (`write_all` comes back for the rest).
                let buf = if past && self.may_go_direct {
                    let to_boundary = (align - self.bytes % align) as usize;
                    buf.get(..to_boundary.min(buf.len())).unwrap_or(buf)
                } else {
                    buf
                };
                let n = if buf.len() >= DIRECT_WRITE {
                    w.flush()?;
                    w.get_mut().write_all(buf)?;
                    buf.len()
                } else {
                    w.write(buf)?
                };
                self.bytes += n as u64;
                self.unsynced += n as u64;
                if self.unsynced >= SYNC_EVERY && self.bytes >= SYNC_AFTER {
                    self.sync_in_background()?;
                }
                Ok(n)
            }
            None => Err(io::Error::other("file already committed")),
        }
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_unmarked(buf).map_err(|e| self.output_error(e))
    }

    fn flush(&mut self) -> io::Result<()> {
        // A direct file's bytes are with its writer thread; `commit` waits for them.
        let flushed = match self.out.as_mut() {
            Some(Sink::Cached(w)) => w.flush(),
            Some(Sink::Direct(_)) | None => Ok(()),
        };
        flushed.map_err(|e| self.output_error(e))
    }
}

/// Commits several files at once: each one's final sync runs on its own thread, so the
/// disk takes them together instead of one after the other (half a second at the end of
/// a 1M-request run). The results come back in the order the files were given.
pub fn commit_all(files: Vec<AtomicFile>) -> io::Result<Vec<Committed>> {
    std::thread::scope(|scope| {
        let handles: Vec<_> = files
            .into_iter()
            .map(|f| scope.spawn(move || f.commit()))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(io::Error::other("commit thread failed")))
            })
            .collect()
    })
}

/// Waits for a background sync and returns its result.
fn join_sync(h: std::thread::JoinHandle<io::Result<()>>) -> io::Result<()> {
    h.join()
        .unwrap_or_else(|_| Err(io::Error::other("background sync thread failed")))
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if self.out.take().is_some() {
            // Not committed: leave no partial file behind.
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// True when a spreadsheet might run the cell: it starts with `=`, `+`, `-`, `@`, a tab or CR.
pub(crate) fn starts_like_formula(s: &[u8]) -> bool {
    matches!(s.first(), Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r'))
}

/// Neutralises a cell a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab, CR) by
/// prefixing it with an apostrophe. Numbers such as `-12.5` are left alone.
pub fn safe_cell(s: &str) -> std::borrow::Cow<'_, str> {
    if starts_like_formula(s.as_bytes()) && s.parse::<f64>().is_err() {
        std::borrow::Cow::Owned(format!("'{s}"))
    } else {
        std::borrow::Cow::Borrowed(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_join_only_what_continues_them() {
        let mut open = None;
        assert_eq!(join_run(&mut open, 0, 0..10), None);
        assert_eq!(join_run(&mut open, 0, 10..25), None, "continues: joined");
        assert_eq!(
            join_run(&mut open, 0, 30..30),
            None,
            "empty: nothing to write"
        );
        assert_eq!(
            open,
            Some(Run {
                buf: 0,
                range: 0..25
            })
        );
        // Another buffer, or a gap: the open run comes back, to be written first.
        assert_eq!(
            join_run(&mut open, 1, 25..30),
            Some(Run {
                buf: 0,
                range: 0..25
            })
        );
        assert_eq!(
            join_run(&mut open, 1, 40..41),
            Some(Run {
                buf: 1,
                range: 25..30
            })
        );
        assert_eq!(
            open,
            Some(Run {
                buf: 1,
                range: 40..41
            })
        );
        let buffers = [b"abc".to_vec(), b"0123456789".to_vec()];
        assert_eq!(
            Run {
                buf: 1,
                range: 2..5
            }
            .bytes(&buffers),
            Some(&b"234"[..])
        );
        assert_eq!(
            Run {
                buf: 2,
                range: 0..1
            }
            .bytes(&buffers),
            None
        );
        assert_eq!(
            Run {
                buf: 0,
                range: 2..9
            }
            .bytes(&buffers),
            None
        );
    }

    #[test]
    fn long_writes_bypass_the_buffer_but_keep_their_place() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("out.txt");
        let mut f = AtomicFile::create_with(&dest, false).unwrap();
        let long = vec![b'b'; DIRECT_WRITE + 7];
        f.write_all(b"a").unwrap();
        f.write_all(&long).unwrap();
        f.write_all(b"c").unwrap();
        f.write_all(&long).unwrap();
        let done = f.commit().unwrap();
        let mut expected = b"a".to_vec();
        expected.extend(&long);
        expected.push(b'c');
        expected.extend(&long);
        assert_eq!(std::fs::read(&dest).unwrap(), expected);
        assert_eq!(done.bytes, expected.len() as u64);
    }

    #[test]
    fn direct_outputs_commit_whole_and_vanish_when_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("responses.x12");
        let mut f = AtomicFile::create(&dest).unwrap();
        // Past DIRECT_AFTER and several staging buffers beyond, in writes of every size,
        // ending mid-block.
        let mut expected = Vec::new();
        let mut i = 0usize;
        while expected.len() < DIRECT_AFTER as usize + (3 << 20) {
            let piece: Vec<u8> = (0..(i * 7919) % 60_000 + 1)
                .map(|j| (i + j) as u8)
                .collect();
            f.write_all(&piece).unwrap();
            expected.extend(piece);
            i += 1;
        }
        if !matches!(f.out, Some(Sink::Direct(_))) {
            eprintln!("SKIPPED (direct path): this file system refuses direct I/O");
        }
        assert!(!dest.exists(), "no final name before the commit");
        let done = f.commit().unwrap();
        assert_eq!(done.bytes, expected.len() as u64);
        assert_eq!(std::fs::read(&dest).unwrap(), expected);
        // Dropped with a buffer at the disk and one filling: no file is left behind.
        let mut g = AtomicFile::create(&dir.path().join("acks.x12")).unwrap();
        g.write_all(&vec![b'z'; DIRECT_AFTER as usize + (3 << 20)])
            .unwrap();
        drop(g);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn formulas_are_neutralised_numbers_are_not() {
        assert_eq!(safe_cell("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(safe_cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(safe_cell("+1 408"), "'+1 408");
        assert_eq!(safe_cell("-12.5"), "-12.5");
        assert_eq!(safe_cell("MRI"), "MRI");
    }

    #[test]
    fn atomic_file_appears_only_when_committed() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("a.csv");
        let mut f = AtomicFile::create(&dest).unwrap();
        f.write_all(b"x").unwrap();
        assert!(!dest.exists());
        let c = f.commit().unwrap();
        assert_eq!(std::fs::read(&dest).unwrap(), b"x");
        assert_eq!(c.bytes, 1);
        let g = AtomicFile::create(&dir.path().join("b.csv")).unwrap();
        drop(g);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn large_files_sync_in_the_background_and_still_commit_whole() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("big.x12");
        // Through the page cache (as where direct I/O is not available).
        let mut f = AtomicFile::create_with(&dest, false).unwrap();
        let block = vec![b'x'; 1 << 20];
        let blocks = (SYNC_AFTER >> 20) + 3;
        for _ in 0..blocks {
            f.write_all(&block).unwrap();
        }
        assert!(
            f.syncing.is_some(),
            "a background sync started past SYNC_EVERY"
        );
        assert!(!dest.exists());
        let c = f.commit().unwrap();
        assert_eq!(c.bytes, blocks << 20);
        assert_eq!(std::fs::metadata(&dest).unwrap().len(), blocks << 20);
        // Only the final file is left: no partial name.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn commit_all_commits_every_file_and_keeps_their_order() {
        let dir = tempfile::tempdir().unwrap();
        let names = ["a.csv", "b.csv", "c.csv"];
        let files: Vec<AtomicFile> = names
            .iter()
            .enumerate()
            .map(|(i, n)| {
                let mut f = AtomicFile::create(&dir.path().join(n)).unwrap();
                f.write_all(&vec![b'x'; i + 1]).unwrap();
                f
            })
            .collect();
        let done = commit_all(files).unwrap();
        let got: Vec<(String, u64)> = done
            .iter()
            .map(|c| {
                (
                    c.path.file_name().unwrap().to_string_lossy().into_owned(),
                    c.bytes,
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("a.csv".into(), 1),
                ("b.csv".into(), 2),
                ("c.csv".into(), 3)
            ]
        );
        for n in names {
            assert!(dir.path().join(n).exists());
        }
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 3);
    }
}
