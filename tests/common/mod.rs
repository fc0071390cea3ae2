//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use umbatch::check::{check_x12, FileCheck};
use umbatch::x12::ReaderOptions;

/// `../shared` beside the repository.
pub fn shared() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared")
}

/// The corpus folder, or None (with a message) when it is absent.
pub fn corpus() -> Option<PathBuf> {
    let p = shared().join("corpus");
    if p.is_dir() {
        Some(p)
    } else {
        eprintln!(
            "SKIPPED: {} is absent; corpus tests need ../shared/corpus beside the repository",
            p.display()
        );
        None
    }
}

/// The reference examples folder, or None (with a message).
pub fn examples() -> Option<PathBuf> {
    let p = shared().join("reference/examples");
    if p.is_dir() {
        Some(p)
    } else {
        eprintln!("SKIPPED: {} is absent", p.display());
        None
    }
}

/// Checks a file with the given leniency.
pub fn check_file(path: &Path, lenient: bool) -> FileCheck {
    let bytes = std::fs::read(path).unwrap();
    check_bytes(&bytes, &path.display().to_string(), lenient)
}

/// Checks bytes.
pub fn check_bytes(bytes: &[u8], name: &str, lenient: bool) -> FileCheck {
    let opts = ReaderOptions {
        lenient,
        ..ReaderOptions::default()
    };
    check_x12(bytes, Arc::from(name), opts).unwrap()
}

/// Error codes of a check, in order.
pub fn error_codes(c: &FileCheck) -> Vec<&'static str> {
    c.diagnostics
        .items()
        .iter()
        .filter(|d| d.is_error())
        .map(|d| d.code)
        .collect()
}

/// The files of one corpus folder, sorted.
pub fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    v.sort();
    v
}
