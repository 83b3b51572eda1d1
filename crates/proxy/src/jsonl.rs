//! JSON Lines files in the data dir (the idempotency ledger, the ticket state): created
//! owner-only (they hold customer messages), appended a line at a time, and rewritten
//! atomically (temp file, fsync, rename) when compacted.

use std::{
    fs::{File, OpenOptions},
    io::{self, BufWriter, Write},
    path::Path,
};

use serde::Serialize;

/// Create-if-missing options; owner-only on unix.
pub fn private_options() -> OpenOptions {
    let mut options = OpenOptions::new();
    options.create(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
}

/// Opens `path` for appending lines (created if missing).
pub fn open_append(path: &Path) -> io::Result<File> {
    private_options().append(true).open(path)
}

/// [`open_append`], logging a failure as a warning about `what` (the caller keeps
/// working in memory and tries again on its next write).
pub fn open_append_or_warn(path: &Path, what: &str) -> Option<File> {
    match open_append(path) {
        Ok(file) => Some(file),
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "could not open {what}");
            None
        }
    }
}

/// Appends `value` as one line.
pub fn append<T: Serialize>(file: &mut File, value: &T) -> io::Result<()> {
    let mut line = serde_json::to_vec(value).map_err(io::Error::other)?;
    line.push(b'\n');
    file.write_all(&line)
}

/// Replaces the file at `path` with `header` (if any) and then `lines`, one per line:
/// written to a temp file beside it, synced, then renamed over it.
pub fn rewrite<H: Serialize, T: Serialize>(
    path: &Path,
    header: Option<&H>,
    lines: impl IntoIterator<Item = T>,
) -> io::Result<()> {
    let tmp = path.with_extension("jsonl.tmp");
    let file = private_options().write(true).truncate(true).open(&tmp)?;
    let mut out = BufWriter::new(file);
    if let Some(header) = header {
        serde_json::to_writer(&mut out, header)?;
        out.write_all(b"\n")?;
    }
    for line in lines {
        serde_json::to_writer(&mut out, &line)?;
        out.write_all(b"\n")?;
    }
    out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    std::fs::rename(tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewrite_then_append_reads_back_line_by_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.jsonl");
        rewrite(&path, Some(&"head"), [1, 2]).unwrap();
        let mut file = open_append(&path).unwrap();
        append(&mut file, &3).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text, "\"head\"\n1\n2\n3\n");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
