//! CSV rows written cell by cell into a byte buffer, exactly as the csv crate writes them.
//!
//! The report rows of every request go through here (about 60 cells per request). Through
//! `csv::Writer::write_field` each cell crossed csv_core's streaming state machine, built for
//! output buffers of any size; that was 40% of rendering. Our output buffer grows, so the rule
//! left to apply is small: a cell holding a comma, a quote, CR or LF is quoted with its quotes
//! doubled; a row of one empty cell is `""`; rows end with `\n`. A property test pins the bytes
//! to the csv crate's for arbitrary cells, so the two can never drift apart.

use crate::x12::bytescan::ByteClass;

/// Bytes that make the csv crate quote a cell (its `QuoteStyle::Necessary` with the default
/// comma delimiter, `"` quote and `\n` terminator), looked for 16 bytes at a time.
const QUOTED: ByteClass = ByteClass::of4(*b",\"\r\n", false);

fn needs_quotes(cell: &[u8]) -> bool {
    QUOTED.any_in(cell)
}

/// Where a cell built in place begins: see [`CsvRows::begin_cell`].
pub(crate) struct CellMark {
    /// The row's length before the cell (and its separator).
    before: usize,
    /// Where the cell's own bytes start.
    start: usize,
}

/// A growing buffer of CSV rows.
#[derive(Debug, Default)]
pub(crate) struct CsvRows {
    out: Vec<u8>,
    /// Cells written in the current row.
    cells_in_row: usize,
    /// Where the current row starts in `out`.
    row_start: usize,
}

impl CsvRows {
    /// Rows written into `out` (emptied first), reusing its capacity.
    pub(crate) fn from_vec(mut out: Vec<u8>) -> Self {
        out.clear();
        CsvRows {
            out,
            cells_in_row: 0,
            row_start: 0,
        }
    }

    /// Appends a cell to the current row.
    pub(crate) fn cell(&mut self, cell: &[u8]) {
        self.next_cell();
        if needs_quotes(cell) {
            self.out.push(b'"');
            for part in cell.split_inclusive(|&b| b == b'"') {
                self.out.extend_from_slice(part);
                if part.last() == Some(&b'"') {
                    self.out.push(b'"');
                }
            }
            self.out.push(b'"');
        } else {
            self.out.extend_from_slice(cell);
        }
    }

    /// Appends a cell known to need no quotes: the dates, times and numbers we format, our
    /// codes, and certification numbers (letters, digits, `-`, `_`, `.`).
    pub(crate) fn formatted(&mut self, cell: &[u8]) {
        debug_assert!(!needs_quotes(cell));
        self.next_cell();
        self.out.extend_from_slice(cell);
    }

    /// Starts a cell whose bytes the caller appends with [`Self::extend_cell`]: a cell built
    /// from parts goes straight into the row, with no buffer of its own to copy from.
    pub(crate) fn begin_cell(&mut self) -> CellMark {
        let before = self.out.len();
        self.next_cell();
        CellMark {
            before,
            start: self.out.len(),
        }
    }

    /// Appends bytes to the cell begun last.
    pub(crate) fn extend_cell(&mut self, bytes: &[u8]) {
        self.out.extend_from_slice(bytes);
    }

    /// The bytes of the cell begun at `mark`.
    pub(crate) fn cell_bytes(&self, mark: &CellMark) -> &[u8] {
        self.out.get(mark.start..).unwrap_or_default()
    }

    /// Whether the cell begun at `mark` must be quoted.
    pub(crate) fn cell_needs_quotes(&self, mark: &CellMark) -> bool {
        needs_quotes(self.cell_bytes(mark))
    }

    /// Takes the cell begun at `mark` back out of the row, as if it had never begun, and
    /// returns its bytes (for a cell that turned out to need quotes or neutralising).
    pub(crate) fn cancel_cell(&mut self, mark: CellMark) -> Vec<u8> {
        let bytes = self.out.split_off(mark.start.min(self.out.len()));
        self.out.truncate(mark.before);
        self.cells_in_row = self.cells_in_row.saturating_sub(1);
        bytes
    }

    /// The separator before every cell but a row's first.
    fn next_cell(&mut self) {
        if self.cells_in_row > 0 {
            self.out.push(b',');
        }
        self.cells_in_row += 1;
    }

    /// Starts a row as a copy of `row`, a complete row (its `\n` included) of `cells` cells
    /// from another buffer, and leaves it open for more: a longer row that begins like an
    /// earlier one is not rendered twice.
    pub(crate) fn reopen_copy_of(&mut self, row: &[u8], cells: usize) {
        debug_assert_eq!(self.cells_in_row, 0, "a copy starts a row");
        let row = row.strip_suffix(b"\n").unwrap_or(row);
        self.out.extend_from_slice(row);
        self.cells_in_row = cells;
    }

    /// The bytes at `range` (empty when out of bounds).
    pub(crate) fn get(&self, range: std::ops::Range<usize>) -> &[u8] {
        self.out.get(range).unwrap_or_default()
    }

    /// Ends the current row.
    pub(crate) fn end_row(&mut self) {
        if self.cells_in_row == 1 && self.out.len() == self.row_start {
            // The csv crate writes a row of one empty cell as `""`, so it is not a blank line.
            self.out.extend_from_slice(b"\"\"");
        }
        self.out.push(b'\n');
        self.cells_in_row = 0;
        self.row_start = self.out.len();
    }

    /// Bytes written so far.
    pub(crate) fn len(&self) -> usize {
        self.out.len()
    }

    /// Takes every byte written so far; the buffer starts again empty.
    pub(crate) fn take(&mut self) -> Vec<u8> {
        self.cells_in_row = 0;
        self.row_start = 0;
        std::mem::take(&mut self.out)
    }
}

#[cfg(test)]
mod tests {
    use super::CsvRows;
    use proptest::prelude::*;

    fn with_csv_crate(rows: &[Vec<Vec<u8>>]) -> Vec<u8> {
        let mut w = csv::WriterBuilder::new()
            .flexible(true)
            .has_headers(false)
            .from_writer(Vec::new());
        for row in rows {
            w.write_record(row).unwrap();
        }
        w.into_inner().unwrap()
    }

    fn with_cells(rows: &[Vec<Vec<u8>>]) -> Vec<u8> {
        let mut c = CsvRows::default();
        for row in rows {
            for cell in row {
                c.cell(cell);
            }
            c.end_row();
        }
        c.take()
    }

    #[test]
    fn quotes_only_what_needs_quoting() {
        let rows = vec![
            vec![b"plain".to_vec(), b"a,b".to_vec(), b"say \"hi\"".to_vec()],
            vec![b"two\nlines".to_vec(), b"".to_vec(), b"cr\r".to_vec()],
            vec![b"".to_vec()],
        ];
        let out = with_cells(&rows);
        assert_eq!(
            out,
            b"plain,\"a,b\",\"say \"\"hi\"\"\"\n\"two\nlines\",,\"cr\r\"\n\"\"\n".to_vec()
        );
        assert_eq!(out, with_csv_crate(&rows));
    }

    #[test]
    fn a_reopened_copy_continues_the_row() {
        let mut c = CsvRows::default();
        for cell in [&b"a,b"[..], b"", b"c"] {
            c.cell(cell);
        }
        c.end_row();
        let first = c.take();
        c.reopen_copy_of(&first, 3);
        c.cell(b"d");
        c.end_row();
        let rows = vec![
            vec![b"a,b".to_vec(), b"".to_vec(), b"c".to_vec()],
            vec![b"a,b".to_vec(), b"".to_vec(), b"c".to_vec(), b"d".to_vec()],
        ];
        let mut both = first;
        both.extend(c.take());
        assert_eq!(both, with_csv_crate(&rows));
    }

    proptest! {
        #[test]
        fn writes_the_same_bytes_as_the_csv_crate(
            rows in prop::collection::vec(
                prop::collection::vec(
                    prop::collection::vec(
                        prop::sample::select(vec![b'a', b',', b'"', b'\r', b'\n', b' ', b'=', 0xC3, 0xA9]),
                        0..6,
                    ),
                    1..5,
                ),
                0..5,
            )
        ) {
            prop_assert_eq!(with_cells(&rows), with_csv_crate(&rows));
        }
    }
}
