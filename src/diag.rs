//! Diagnostics: one type for every problem the reader, the 278 validator and the fax reader find.
//!
//! A diagnostic is built so that nobody has to re-read the input to act on it: it names the file,
//! the byte offset, the envelope control numbers, the segment position as a 999 counts it (ST = 1),
//! the segment id and element position, and the acknowledgment code it maps to (TA1 note, 999
//! IK3/IK4/IK5/AK9). The acknowledgment writer turns these into 999/TA1 segments directly.
//!
//! Messages never quote member data (names, dates of birth, ids): they name positions and codes.

use serde::Serialize;
use std::fmt;
use std::sync::Arc;

/// How bad a diagnostic is; decides `check`'s exit status and the acknowledgment codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Information, e.g. a transaction that is not a 278 request and was passed over.
    Note,
    /// Something tolerated (prose before the ISA, lenient ISA); the data is still used.
    Warning,
    /// The data cannot be used as submitted.
    Error,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Note => "note",
            Severity::Warning => "warning",
            Severity::Error => "error",
        })
    }
}

/// The acknowledgment a diagnostic maps to, so 999/TA1 writers need no re-parsing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum AckCode {
    /// TA1 interchange note code (TA105, element I18), e.g. `001`.
    Ta1 {
        /// The three-digit note code.
        note: &'static str,
    },
    /// 999 functional-group error (AK905..AK909, element 716).
    Ak9 {
        /// The group syntax error code.
        code: &'static str,
    },
    /// 999 transaction-set error (IK502..IK506, element 618).
    Ik5 {
        /// The transaction-set syntax error code.
        code: &'static str,
    },
    /// 999 segment error (IK304, element 620) with the loop id (IK303, at most 4 characters).
    Ik3 {
        /// The segment syntax error code.
        code: &'static str,
        /// Loop identifier, e.g. `2010`.
        #[serde(skip_serializing_if = "Option::is_none")]
        loop_id: Option<&'static str>,
    },
    /// 999 element error (IK403, element 621) inside a segment error (IK304 = 8).
    Ik4 {
        /// The element syntax error code.
        code: &'static str,
        /// X12 data element reference number (IK402), when known.
        #[serde(skip_serializing_if = "Option::is_none")]
        element_ref: Option<u16>,
        /// Loop identifier of the segment that holds the element.
        #[serde(skip_serializing_if = "Option::is_none")]
        loop_id: Option<&'static str>,
    },
}

impl fmt::Display for AckCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AckCode::Ta1 { note } => write!(f, "TA1 {note}"),
            AckCode::Ak9 { code } => write!(f, "AK9 {code}"),
            AckCode::Ik5 { code } => write!(f, "IK5 {code}"),
            AckCode::Ik3 { code, .. } => write!(f, "IK3 {code}"),
            AckCode::Ik4 { code, .. } => write!(f, "IK4 {code}"),
        }
    }
}

/// Element position inside a segment (IK401): element, optional component and repetition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ElementPos {
    /// 1-based element position (`NM109` → 9).
    pub element: u16,
    /// 1-based component position inside a composite.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub component: Option<u16>,
}

impl fmt::Display for ElementPos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.component {
            Some(c) => write!(f, "{:02}-{}", self.element, c),
            None => write!(f, "{:02}", self.element),
        }
    }
}

/// Where a diagnostic points.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Location {
    /// Byte offset in the file of the segment (or row) in question.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub byte_offset: Option<u64>,
    /// Interchange control number (ISA13).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interchange: Option<String>,
    /// Functional group control number (GS06).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Transaction set control number (ST02).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transaction: Option<String>,
    /// Segment position counted from ST = 1 (as 999 IK302 counts).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub segment_position: Option<u32>,
    /// Segment identifier (`NM1`, `SE`…).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub segment_id: Option<String>,
    /// Element position inside the segment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub element: Option<ElementPos>,
    /// 1-based CSV row number (header = row 1), for fax-queue and roster files.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub row: Option<u64>,
}

impl Location {
    /// The position in words: `row N byte N ISA13 … GS06 … ST02 … segment N ID`.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(r) = self.row {
            parts.push(format!("row {r}"));
        }
        if let Some(b) = self.byte_offset {
            parts.push(format!("byte {b}"));
        }
        if let Some(v) = &self.interchange {
            parts.push(format!("ISA13 {v}"));
        }
        if let Some(v) = &self.group {
            parts.push(format!("GS06 {v}"));
        }
        if let Some(v) = &self.transaction {
            parts.push(format!("ST02 {v}"));
        }
        match (&self.segment_position, &self.segment_id) {
            (Some(p), Some(id)) => parts.push(format!("segment {p} {id}")),
            (None, Some(id)) => parts.push(format!("segment {id}")),
            (Some(p), None) => parts.push(format!("segment {p}")),
            (None, None) => {}
        }
        parts.join(" ")
    }
}

/// One problem (or note) found in an input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// The input file.
    pub file: Arc<str>,
    /// Error, warning or note.
    pub severity: Severity,
    /// Stable machine-readable code, e.g. `se-count`, `hl-parent`.
    pub code: &'static str,
    /// What is wrong and what was expected, without member data.
    pub message: String,
    /// Where it is.
    #[serde(flatten)]
    pub location: Location,
    /// The acknowledgment code it maps to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ack: Option<AckCode>,
}

impl Diagnostic {
    /// A diagnostic with no position yet; positions are added by the caller that knows them.
    pub fn new(
        file: &Arc<str>,
        severity: Severity,
        code: &'static str,
        message: impl Into<String>,
    ) -> Self {
        Diagnostic {
            file: Arc::clone(file),
            severity,
            code,
            message: message.into(),
            location: Location::default(),
            ack: None,
        }
    }

    /// Sets the acknowledgment code.
    pub fn with_ack(mut self, ack: AckCode) -> Self {
        self.ack = Some(ack);
        self
    }

    /// Sets the location.
    pub fn at(mut self, location: Location) -> Self {
        self.location = location;
        self
    }

    /// Sets the element position.
    pub fn element(mut self, element: u16, component: Option<u16>) -> Self {
        self.location.element = Some(ElementPos { element, component });
        self
    }

    /// Sets the element position when there is one: 0 means the segment as a whole, as the
    /// envelope checks report a problem with no element of its own.
    pub fn element_if_any(self, element: u16) -> Self {
        if element > 0 {
            self.element(element, None)
        } else {
            self
        }
    }

    /// True for errors.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    /// One line: `file:byte N: severity[code]: message (ISA13 …, GS06 …, ST02 …, segment N ID, element; ack)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let l = &self.location;
        write!(f, "{}", self.file)?;
        if let Some(row) = l.row {
            write!(f, ":row {row}")?;
        }
        if let Some(b) = l.byte_offset {
            write!(f, ":byte {b}")?;
        }
        write!(f, ": {}[{}]: {}", self.severity, self.code, self.message)?;
        let mut parts: Vec<String> = Vec::new();
        if let Some(v) = &l.interchange {
            parts.push(format!("ISA13 {v}"));
        }
        if let Some(v) = &l.group {
            parts.push(format!("GS06 {v}"));
        }
        if let Some(v) = &l.transaction {
            parts.push(format!("ST02 {v}"));
        }
        match (&l.segment_position, &l.segment_id) {
            (Some(p), Some(id)) => parts.push(format!("segment {p} {id}")),
            (None, Some(id)) => parts.push(format!("segment {id}")),
            (Some(p), None) => parts.push(format!("segment {p}")),
            (None, None) => {}
        }
        if let (Some(e), Some(id)) = (&l.element, &l.segment_id) {
            parts.push(format!("element {id}{e}"));
        }
        if let Some(a) = &self.ack {
            parts.push(a.to_string());
        }
        if !parts.is_empty() {
            write!(f, " ({})", parts.join(", "))?;
        }
        Ok(())
    }
}

/// Collects diagnostics; keeps counts so callers can decide exit status cheaply.
#[derive(Debug, Default, Clone)]
pub struct Diagnostics {
    items: Vec<Diagnostic>,
    errors: usize,
}

impl Diagnostics {
    /// Adds one diagnostic.
    pub fn push(&mut self, d: Diagnostic) {
        if d.is_error() {
            self.errors += 1;
        }
        self.items.push(d);
    }
    /// Adds all of another collection.
    pub fn extend(&mut self, ds: impl IntoIterator<Item = Diagnostic>) {
        for d in ds {
            self.push(d);
        }
    }
    /// Number of errors.
    pub fn error_count(&self) -> usize {
        self.errors
    }
    /// All diagnostics in the order found.
    pub fn items(&self) -> &[Diagnostic] {
        &self.items
    }
    /// Takes the diagnostics out.
    pub fn into_vec(self) -> Vec<Diagnostic> {
        self.items
    }
    /// True when nothing was collected.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}
