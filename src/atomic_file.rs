//! Writing a file so that a crash never leaves a torn one.
//!
//! Model files (`ppm_fit`, `risk_fit`) are read back by later queries, often
//! by other processes. [`write_atomic`] writes the whole text to a temporary
//! file in the same directory, flushes it to disk, and renames it over the
//! target, so a reader sees the old file, or none, or the complete new one —
//! never part of one. It belongs to no single model kind: both use it.

use crate::error::{Error, Result};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// Writes `text` to `path` atomically: a temporary file in the same
/// directory, flushed to disk, then renamed over `path`. A crash or a full
/// disk leaves the old file (or none), never a torn one. `what` names the
/// content in messages ("model").
pub(crate) fn write_atomic(path: &Path, text: &str, what: &str) -> Result<()> {
    let shown = path.display().to_string();
    let fail = |step: &str, e: std::io::Error| {
        Error::file(
            &shown,
            format!("cannot save the {what} ({step}): {e}"),
            "check that the directory exists and is writable",
        )
    };
    let file_name = path.file_name().ok_or_else(|| {
        Error::file(
            &shown,
            format!("cannot save the {what}: the path names no file"),
            "give a file path such as 'model.json'",
        )
    })?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let nanos = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    let tmp = dir.join(format!(".{}.{}.{nanos}.tmp", file_name.to_string_lossy(), std::process::id()));
    let written = (|| {
        let mut f = std::fs::OpenOptions::new().write(true).create_new(true).open(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(fail("writing a temporary file", e));
    }
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        fail("renaming the temporary file", e)
    })
}
