//! What a resume keeps of the run's append-only CSV logs (metrics.csv,
//! monitor.csv).
//!
//! A checkpoint records how many rows each log held and a hash of them in
//! their canonical text (as the run writes them). A resume keeps exactly those
//! rows, found by content: a file that an editor saved with CRLF line endings,
//! or that a spreadsheet or Python's csv module rewrote (other float spellings,
//! quoted fields), still holds the same rows, so they are kept and the file is
//! written back in the run's own form, the user's version kept beside it. A
//! file whose rows no longer match is refused with nothing changed: cutting it
//! by byte offset is how rows used to be lost and fused.

use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::io;
use std::path::{Path, PathBuf};

/// The rows written to a log so far: their count and a hash of their canonical text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowDigest {
    pub rows: u64,
    pub hash: u64,
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0100_0000_01b3;

/// The digest of no rows (FNV's offset basis, not zero).
impl Default for RowDigest {
    fn default() -> Self {
        Self::new()
    }
}

impl RowDigest {
    pub fn new() -> Self {
        Self { rows: 0, hash: FNV_OFFSET }
    }

    /// Adds one row, given in canonical text without its newline.
    pub fn add(&mut self, canonical_row: &str) {
        // FNV-1a over the row and its newline: order-sensitive, cheap per row.
        for &b in canonical_row.as_bytes().iter().chain(b"\n") {
            self.hash = (self.hash ^ u64::from(b)).wrapping_mul(FNV_PRIME);
        }
        self.rows += 1;
    }

    /// Adds every row of `text` (whole lines as the run writes them).
    pub fn add_lines(&mut self, text: &str) {
        for line in text.lines() {
            self.add(line);
        }
    }
}

/// A log's layout: its header lines and how a row reads back into canonical text.
pub struct LogFormat {
    /// What the file is, for messages ("metrics.csv").
    pub name: &'static str,
    /// Checks the header lines (CR already stripped); says what is wrong.
    pub check_header: fn(&[&str]) -> Result<(), String>,
    pub header_lines: usize,
    /// The row in the run's own spelling, or `None` if it is not a row.
    pub canonical: fn(&str) -> Option<String>,
}

/// What a cut did, for the notes a resume prints.
#[derive(Debug, Default, PartialEq)]
pub struct CutReport {
    /// Rows after the checkpoint that were dropped (the run writes them again).
    pub dropped_rows: usize,
    /// Where the user's edited file was kept, when it differed from the run's own text.
    pub kept_copy: Option<PathBuf>,
}

/// Splits CSV fields, with `"`-quoted fields and `""` escapes; `None` if a
/// quote is unbalanced. Unquoted fields are borrowed: whole metrics.csv files
/// are parsed for the plots.
pub fn csv_fields(line: &str) -> Option<Vec<Cow<'_, str>>> {
    let mut fields = Vec::with_capacity(4);
    let mut rest = line;
    loop {
        if let Some(quoted) = rest.strip_prefix('"') {
            let mut field = String::new();
            let mut tail = quoted;
            loop {
                let end = tail.find('"')?;
                field.push_str(&tail[..end]);
                tail = &tail[end + 1..];
                match tail.strip_prefix('"') {
                    Some(t) => {
                        field.push('"');
                        tail = t;
                    }
                    None => break,
                }
            }
            fields.push(Cow::Owned(field));
            match tail.strip_prefix(',') {
                Some(t) => rest = t,
                None if tail.is_empty() => return Some(fields),
                None => return None,
            }
        } else {
            match rest.find(',') {
                Some(i) => {
                    fields.push(Cow::Borrowed(&rest[..i]));
                    rest = &rest[i + 1..];
                }
                None => {
                    fields.push(Cow::Borrowed(rest));
                    return Some(fields);
                }
            }
        }
    }
}

/// A whole number written as `2048` or `2048.0` (a float column rewritten by pandas).
pub fn parse_count(s: &str) -> Option<u64> {
    let s = s.trim();
    s.parse::<u64>().ok().or_else(|| {
        let f: f64 = s.parse().ok()?;
        (f.fract() == 0.0 && (0.0..9.0e15).contains(&f)).then_some(f as u64)
    })
}

/// What a resume will do to one log, checked before anything is changed.
#[derive(Debug)]
pub struct CutPlan {
    path: PathBuf,
    /// The run's own text of the kept rows, when the file differs from it
    /// (written back, the user's file kept beside it); else `None`.
    rewrite: Option<(Vec<u8>, String)>,
    keep_len: u64,
    report: CutReport,
}

/// Finds the first `digest.rows` rows of the log at `path` and checks they are
/// the rows the checkpoint at `step` recorded; what comes after them (and a
/// torn last line) is to be dropped. Refuses, with the file named, when they
/// are not. Changes nothing: [`CutPlan::apply`] does.
pub fn plan_cut(path: &Path, format: &LogFormat, digest: &RowDigest, step: u64) -> Result<CutPlan, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {} to resume it: {e}", path.display()))?;
    let refuse = |why: String| {
        format!(
            "{} {why}; nothing was changed. Put back the file as the run wrote it, or move it aside to resume with a new {} that starts at step {step}",
            path.display(),
            format.name
        )
    };
    let text = std::str::from_utf8(&bytes).map_err(|e| refuse(format!("is not UTF-8 text (byte {})", e.valid_up_to())))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    // Whole lines only: text after the last newline is a torn row (a kill mid-write).
    let whole = text.rfind('\n').map_or("", |i| &text[..=i]);
    let mut lines = whole.split_inclusive('\n').map(|l| l.trim_end_matches(['\n', '\r']));
    let header: Vec<&str> = lines.by_ref().take(format.header_lines).collect();
    if header.len() < format.header_lines {
        return Err(refuse(format!("has no {} header", format.name)));
    }
    (format.check_header)(&header).map_err(refuse)?;
    let mut out = String::with_capacity(bytes.len());
    for h in &header {
        out.push_str(h);
        out.push('\n');
    }
    let mut seen = RowDigest::new();
    let mut line_no = format.header_lines;
    while seen.rows < digest.rows {
        let Some(line) = lines.next() else {
            return Err(refuse(format!("holds {} rows, fewer than the {} the checkpoint at step {step} recorded", seen.rows, digest.rows)));
        };
        line_no += 1;
        if line.trim().is_empty() {
            continue;
        }
        let row = (format.canonical)(line)
            .ok_or_else(|| refuse(format!("line {line_no} is not a {} row: '{}'", format.name, crate::config::elide(line, 80))))?;
        seen.add(&row);
        out.push_str(&row);
        out.push('\n');
    }
    if seen != *digest {
        return Err(refuse(format!(
            "no longer holds the {} rows the checkpoint at step {step} recorded: a row up to line {line_no} was changed, inserted or removed",
            digest.rows
        )));
    }
    let dropped_rows = lines.filter(|l| !l.trim().is_empty()).count();
    let report = CutReport { dropped_rows, kept_copy: None };
    let keep_len = out.len() as u64;
    let rewrite = (!bytes.starts_with(out.as_bytes())).then(|| (bytes, out));
    Ok(CutPlan { path: path.to_path_buf(), rewrite, keep_len, report })
}

impl CutPlan {
    /// Cuts the file back to the checkpoint's rows. An edited file is written
    /// back in the run's own form, the user's version kept beside it first.
    pub fn apply(self) -> Result<CutReport, String> {
        let CutPlan { path, rewrite, keep_len, mut report } = self;
        match rewrite {
            None => {
                let len = std::fs::metadata(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?.len();
                if len > keep_len {
                    set_len(&path, keep_len)?;
                }
            }
            Some((original, text)) => {
                let copy = free_copy_name(&path);
                std::fs::write(&copy, &original).map_err(|e| {
                    format!("cannot keep a copy of the edited {} as {}: {e}; nothing was changed", path.display(), copy.display())
                })?;
                super::write_atomic(&path, text.as_bytes()).map_err(|e| format!("{e}; the edited file is kept as {}", copy.display()))?;
                report.kept_copy = Some(copy);
            }
        }
        Ok(report)
    }
}

/// The digest of the rows a log holds now (a resumed run continues it).
/// Lines that are not rows are left out.
pub fn digest_of_file(path: &Path, format: &LogFormat) -> io::Result<RowDigest> {
    let mut digest = RowDigest::new();
    let text = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(digest),
        Err(e) => return Err(io::Error::new(e.kind(), format!("cannot read {}: {e}", path.display()))),
    };
    let text = String::from_utf8_lossy(&text);
    for line in text.lines().skip(format.header_lines) {
        if let Some(row) = (format.canonical)(line.trim_end_matches('\r')) {
            digest.add(&row);
        }
    }
    Ok(digest)
}

/// For checkpoints written before row digests: the old byte-length cut, but
/// only where it ends on a line boundary of an unedited (LF-only) file.
pub fn plan_length_cut(path: &Path, len: u64) -> Result<CutPlan, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {} to resume it: {e}", path.display()))?;
    let fits = (bytes.len() as u64) >= len && (len == 0 || bytes[len as usize - 1] == b'\n') && !bytes[..len as usize].contains(&b'\r');
    if !fits {
        return Err(format!(
            "{} was edited since the checkpoint (it is {} bytes; the checkpoint saw {len} bytes of whole rows), and this checkpoint is too old to find its rows by content; nothing was changed: put back the file as the run wrote it",
            path.display(),
            bytes.len()
        ));
    }
    let dropped_rows = bytes[len as usize..].split(|&b| b == b'\n').filter(|l| !l.is_empty()).count();
    Ok(CutPlan { path: path.to_path_buf(), rewrite: None, keep_len: len, report: CutReport { dropped_rows, kept_copy: None } })
}

fn set_len(path: &Path, len: u64) -> Result<(), String> {
    let file = std::fs::OpenOptions::new().write(true).open(path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    file.set_len(len).and_then(|()| file.sync_all()).map_err(|e| format!("cannot cut {} back to the checkpoint: {e}", path.display()))
}

/// Where a user's edited version of a run file is kept: `<file>.edited`, or
/// `<file>.edited_2`, ...: never over an earlier copy.
pub fn free_copy_name(path: &Path) -> PathBuf {
    let base = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    (1..)
        .map(|k| path.with_file_name(if k == 1 { format!("{base}.edited") } else { format!("{base}.edited_{k}") }))
        .find(|p| !p.exists())
        .unwrap_or_else(|| path.with_extension("edited"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_read_quotes_and_escapes() {
        assert_eq!(csv_fields("a,\"b,c\",\"d\"\"e\",").unwrap(), vec!["a", "b,c", "d\"e", ""]);
        assert_eq!(csv_fields("").unwrap(), vec![""]);
        assert_eq!(csv_fields("x,\"\"").unwrap(), vec!["x", ""]);
        assert_eq!(csv_fields("\"\",y").unwrap(), vec!["", "y"]);
        assert!(csv_fields("\"open").is_none());
        assert!(csv_fields("\"a\"b").is_none());
        assert_eq!(parse_count("2048.0"), Some(2048));
        assert_eq!(parse_count("2048.5"), None);
    }
}
