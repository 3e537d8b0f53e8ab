//! The experiment notebook: a run's tags and purpose (set at launch, from
//! `experiment.tags` and `experiment.notes`), its findings (`notes.md`, written
//! afterwards, never touching the results), and what its files take on disk.

use super::{RunDir, RunInfo, format_utc, write_atomic};
use serde::{Deserialize, Serialize};
use std::io;
use std::path::{Path, PathBuf};

/// Longest tag, in characters.
pub const MAX_TAG_CHARS: usize = 64;
/// Most tags on one run.
pub const MAX_TAGS: usize = 32;
/// Largest `experiment.notes` (the purpose, copied into config.yaml, run_info.json
/// and TensorBoard): a paragraph or two, not a document.
pub const MAX_PURPOSE_BYTES: usize = 16 * 1024;
/// Largest `notes.md`: prose, not data (results belong in the run's files).
pub const MAX_NOTES_BYTES: usize = 1024 * 1024;

/// What a tag may be made of, for error messages.
pub const TAG_CHARS: &str = "letters, digits and - _ . + / @";

/// Checks one tag: what filters and `tag:<name>` can name exactly, and what an
/// override list (`experiment.tags=[a,b]`) can carry.
pub fn check_tag(tag: &str) -> Result<(), String> {
    if tag.is_empty() {
        return Err("a tag is empty: give it a name, e.g. baseline".into());
    }
    if let Some(c) = tag.chars().find(|c| !(c.is_alphanumeric() || "-_.+/@".contains(*c))) {
        let what = match c {
            ',' => "a comma (tags are separate list items: [baseline,lr-study])".to_string(),
            c if c.is_whitespace() => "whitespace (use - or _ between words)".to_string(),
            c => format!("'{c}'"),
        };
        return Err(format!("tag '{tag}' contains {what}; a tag may use {TAG_CHARS}"));
    }
    let n = tag.chars().count();
    if n > MAX_TAG_CHARS {
        return Err(format!("tag '{tag}' is {n} characters long; at most {MAX_TAG_CHARS}"));
    }
    Ok(())
}

/// Checks a run's tag list: each tag, no repeats, at most [`MAX_TAGS`].
pub fn check_tags(tags: &[String]) -> Result<(), String> {
    if tags.len() > MAX_TAGS {
        return Err(format!("{} tags; at most {MAX_TAGS}", tags.len()));
    }
    for (i, t) in tags.iter().enumerate() {
        check_tag(t)?;
        if tags[..i].contains(t) {
            return Err(format!("tag '{t}' is listed twice"));
        }
    }
    Ok(())
}

/// Checks `experiment.notes` (the purpose written at launch).
pub fn check_purpose(notes: &str) -> Result<(), String> {
    if notes.len() > MAX_PURPOSE_BYTES {
        return Err(format!(
            "is {} bytes long; at most {MAX_PURPOSE_BYTES}: keep the purpose short and write findings into the run's notes.md (rl-research note RUN \"...\")",
            notes.len()
        ));
    }
    Ok(())
}

/// `notes.md` of a run, seed group or sweep directory (each type names its own
/// through this, so the file is the same everywhere).
pub fn notes_file(dir: &Path) -> PathBuf {
    dir.join("notes.md")
}

impl RunDir {
    /// Findings written after launch (Markdown), never read by training.
    pub fn notes_md(&self) -> PathBuf {
        notes_file(&self.root)
    }
}

/// The findings in `path`: empty when there are none yet. A file that is not
/// UTF-8 or too large is an error naming it (and where the bad byte is), and is
/// never overwritten by [`write_notes`] callers that read first.
pub fn read_notes(path: &Path) -> Result<String, String> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(String::new()),
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    };
    if bytes.len() > MAX_NOTES_BYTES {
        return Err(format!(
            "{} is {}; notes are read up to {}: move data out of it (keep it beside, e.g. as findings.csv)",
            path.display(),
            format_bytes(bytes.len() as u64),
            format_bytes(MAX_NOTES_BYTES as u64)
        ));
    }
    String::from_utf8(bytes).map_err(|e| {
        format!(
            "{} is not UTF-8 text (byte {} is invalid): save it as UTF-8 in an editor; it was left as it is",
            path.display(),
            e.utf8_error().valid_up_to()
        )
    })
}

/// Replaces the findings in `path` (atomically: a crash leaves the old or the new text).
pub fn write_notes(path: &Path, text: &str) -> Result<(), String> {
    if text.len() > MAX_NOTES_BYTES {
        return Err(format!(
            "notes of {} are too long for {}; at most {}",
            format_bytes(text.len() as u64),
            path.display(),
            format_bytes(MAX_NOTES_BYTES as u64)
        ));
    }
    let dir = path.parent().unwrap_or(Path::new("."));
    if !dir.is_dir() {
        return Err(format!("{} does not exist: notes go into an existing run, seed group or sweep directory", dir.display()));
    }
    write_atomic(path, text.as_bytes()).map_err(|e| e.to_string())
}

/// Appends a dated paragraph to the findings in `path` (the command line's `note`);
/// returns the whole new text.
pub fn append_note(path: &Path, text: &str, unix_secs: u64) -> Result<String, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("the note is empty: give its text, e.g. rl-research note runs/my_run \"lr 1e-3 diverges after 50k steps\"".into());
    }
    let old = read_notes(path)?;
    let sep = if old.is_empty() {
        ""
    } else if old.ends_with("\n\n") {
        ""
    } else if old.ends_with('\n') {
        "\n"
    } else {
        "\n\n"
    };
    let new = format!("{old}{sep}{} UTC: {text}\n", format_utc(unix_secs));
    write_notes(path, &new)?;
    Ok(new)
}

/// What a run's files take on disk, and how much of it the clean-up can free.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DiskUse {
    pub total_bytes: u64,
    pub checkpoint_bytes: u64,
    pub video_bytes: u64,
}

/// Bytes of every file under `dir` (links not followed).
fn dir_bytes(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    entries
        .flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => dir_bytes(&e.path()),
            Ok(t) if t.is_file() => e.metadata().map(|m| m.len()).unwrap_or(0),
            _ => 0,
        })
        .sum()
}

/// What `run`'s directory takes, with its checkpoints and videos apart (one walk of the tree).
pub fn disk_use(run: &RunDir) -> DiskUse {
    let (checkpoints, videos) = (run.checkpoints_dir(), run.videos_dir());
    let mut d = DiskUse::default();
    let Ok(entries) = std::fs::read_dir(&run.root) else { return d };
    for e in entries.flatten() {
        let bytes = match e.file_type() {
            Ok(t) if t.is_dir() => dir_bytes(&e.path()),
            Ok(t) if t.is_file() => e.metadata().map(|m| m.len()).unwrap_or(0),
            _ => 0,
        };
        d.total_bytes += bytes;
        if e.path() == checkpoints {
            d.checkpoint_bytes = bytes;
        } else if e.path() == videos {
            d.video_bytes = bytes;
        }
    }
    d
}

/// "12.3 MB": decimal units, as file managers show them.
pub fn format_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut v = bytes as f64;
    let mut unit = 0;
    while v >= 1000.0 && unit < UNITS.len() - 1 {
        v /= 1000.0;
        unit += 1;
    }
    match unit {
        0 => format!("{bytes} B"),
        _ if v < 10.0 => format!("{v:.1} {}", UNITS[unit]),
        _ => format!("{v:.0} {}", UNITS[unit]),
    }
}

/// What the clean-up removes from a run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CleanWhat {
    /// `checkpoints/`: the run can no longer be resumed or forked.
    pub checkpoints: bool,
    /// `videos/`: the recorded evaluation episodes (logs/eval_episodes.jsonl) stay for replays.
    pub videos: bool,
}

/// One clean-up of a run, kept in run_info.json so the run says why it cannot resume.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CleanRecord {
    /// "checkpoints" or "videos".
    pub removed: String,
    pub bytes: u64,
    pub at_unix_secs: u64,
}

/// What a clean-up of one run did (or, dry, would do).
#[derive(Clone, Debug, Default)]
pub struct CleanReport {
    pub run: PathBuf,
    pub files: Vec<(PathBuf, u64)>,
    pub bytes: u64,
}

/// Removes what `what` names from a finished run: under its lock, so never from a
/// run still training (or being resumed, recorded or cleaned elsewhere); the models,
/// metrics, logs, replays and notes stay. Recorded in run_info.json.
pub fn clean_run(run: &RunDir, what: CleanWhat, dry_run: bool) -> Result<CleanReport, String> {
    RunInfo::read(run).map_err(|e| format!("{e}: only run directories can be cleaned"))?;
    let _lock = run.lock("clean-up").map_err(|e| format!("not cleaned: {e}"))?;
    // Read again under the lock: what a resume that just ended wrote is kept, not overwritten.
    let mut info = RunInfo::read(run).map_err(|e| format!("{e}: only run directories can be cleaned"))?;
    if info.status == super::RunStatus::Running {
        return Err(format!("not cleaned: {} is still training", run.root.display()));
    }
    let mut report = CleanReport { run: run.root.clone(), ..Default::default() };
    let mut parts = Vec::new();
    if what.checkpoints {
        parts.push(("checkpoints", run.checkpoints_dir()));
    }
    if what.videos {
        parts.push(("videos", run.videos_dir()));
    }
    for (name, dir) in parts {
        let files = files_under(&dir);
        let bytes: u64 = files.iter().map(|(_, b)| b).sum();
        if !dry_run {
            for (f, _) in &files {
                std::fs::remove_file(f).map_err(|e| format!("removing {}: {e} (nothing else of the run was touched)", f.display()))?;
            }
            if !files.is_empty() {
                info.cleaned.push(CleanRecord { removed: name.into(), bytes, at_unix_secs: super::unix_now_secs() });
                info.write(run).map_err(|e| format!("{} removed, but recording it in run_info.json failed: {e}", dir.display()))?;
            }
        }
        report.bytes += bytes;
        report.files.extend(files);
    }
    Ok(report)
}

/// Every file under `dir`, with its size, in a stable order.
fn files_under(dir: &Path) -> Vec<(PathBuf, u64)> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else { return out };
    for e in entries.flatten() {
        match e.file_type() {
            Ok(t) if t.is_dir() => out.extend(files_under(&e.path())),
            Ok(_) => out.push((e.path(), e.metadata().map(|m| m.len()).unwrap_or(0))),
            Err(_) => {}
        }
    }
    out.sort();
    out
}

impl RunInfo {
    /// Why this run has no checkpoints, when a clean-up removed them.
    pub fn checkpoints_removed(&self) -> Option<String> {
        self.cleaned.iter().rev().find(|c| c.removed == "checkpoints").map(|c| {
            format!(
                "its checkpoints were removed by a clean-up on {} UTC ({} freed), so it can no longer be resumed or forked; \
                 its models, metrics and replays are intact; to train on, start a new run from its config (Load into editor, or run --config)",
                format_utc(c.at_unix_secs),
                format_bytes(c.bytes)
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_checked_with_the_reason_named() {
        assert!(check_tag("lr-study").is_ok() && check_tag("sweep/lr_1e-3").is_ok() && check_tag("Größe").is_ok());
        assert!(check_tag("a,b").unwrap_err().contains("comma"));
        assert!(check_tag("two words").unwrap_err().contains("whitespace"));
        assert!(check_tag("").unwrap_err().contains("empty"));
        assert!(check_tag(&"x".repeat(65)).unwrap_err().contains("at most 64"));
        assert!(check_tags(&["a".into(), "a".into()]).unwrap_err().contains("twice"));
    }

    #[test]
    fn sizes_and_dates_read_as_people_write_them() {
        assert_eq!(format_bytes(999), "999 B");
        assert_eq!(format_bytes(1_234_567), "1.2 MB");
        assert_eq!(format_bytes(45_600_000_000), "46 GB");
        assert_eq!(format_utc(0), "1970-01-01 00:00");
        assert_eq!(format_utc(1_796_620_260), "2026-12-07 05:11");
    }

    #[test]
    fn notes_append_and_refuse_what_is_not_text() {
        let dir = std::env::temp_dir().join(format!("rlr-notes-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = notes_file(&dir);
        append_note(&f, "first", 0).unwrap();
        let text = append_note(&f, "second\n", 60).unwrap();
        assert_eq!(text, "1970-01-01 00:00 UTC: first\n\n1970-01-01 00:01 UTC: second\n");
        std::fs::write(&f, b"ok \xff\xfe").unwrap();
        let e = read_notes(&f).unwrap_err();
        assert!(e.contains("not UTF-8") && e.contains("byte 3"), "{e}");
        assert!(append_note(&f, "x", 0).is_err());
        assert_eq!(std::fs::read(&f).unwrap(), b"ok \xff\xfe", "a file that is not text is left as it is");
        assert!(write_notes(&f, &"x".repeat(MAX_NOTES_BYTES + 1)).unwrap_err().contains("too long"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
