//! Checkpoint files on disk: `runs/<name>/checkpoints/step_<n>.ckpt`.
//!
//! ```text
//! 8 bytes   magic "RLRCKPT1"
//! 4 bytes   CRC32C of the payload, little-endian
//! 8 bytes   payload length, little-endian
//! payload   MessagePack (named fields) of the runner's checkpoint struct
//! ```
//! Written to `step_<n>.ckpt.tmp`, fsynced, renamed over, then the directory
//! fsynced: a crash at any moment leaves the previous checkpoints complete and
//! at worst a `.tmp` that readers ignore. What is inside is the runner's
//! business; this module only frames, checks and lists the files.

use super::RunDir;
use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

const MAGIC: &[u8; 8] = b"RLRCKPT1";
const HEADER_LEN: u64 = 20;
/// A checkpoint larger than this is refused before anything is allocated.
pub const MAX_CHECKPOINT_BYTES: u64 = 8 << 30;

/// One checkpoint file of a run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckpointFile {
    pub step: u64,
    pub path: PathBuf,
}

impl RunDir {
    pub fn checkpoints_dir(&self) -> PathBuf {
        self.root.join("checkpoints")
    }

    pub fn checkpoint_path(&self, step: u64) -> PathBuf {
        self.checkpoints_dir().join(format!("step_{step}.ckpt"))
    }

    /// The run's complete checkpoint files, oldest step first (temporary files
    /// of an interrupted write are not listed).
    pub fn checkpoints(&self) -> Vec<CheckpointFile> {
        let Ok(entries) = std::fs::read_dir(self.checkpoints_dir()) else { return Vec::new() };
        let mut found: Vec<CheckpointFile> = entries
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                let name = e.file_name().into_string().ok()?;
                let step = name.strip_prefix("step_")?.strip_suffix(".ckpt")?.parse().ok()?;
                Some(CheckpointFile { step, path: e.path() })
            })
            .collect();
        found.sort_by_key(|c| c.step);
        found
    }

    /// The checkpoint at `step`, or the latest one when `step` is `None`.
    pub fn find_checkpoint(&self, step: Option<u64>) -> Result<CheckpointFile, String> {
        let all = self.checkpoints();
        let steps = || all.iter().map(|c| c.step.to_string()).collect::<Vec<_>>().join(", ");
        match step {
            None => all.last().cloned().ok_or_else(|| {
                format!(
                    "{} has no checkpoints (checkpoints/step_<n>.ckpt): it stopped before its first one, so it cannot be resumed",
                    self.root.display()
                )
            }),
            Some(s) => all.iter().find(|c| c.step == s).cloned().ok_or_else(|| {
                if all.is_empty() {
                    format!("{} has no checkpoints", self.root.display())
                } else {
                    format!("{} has no checkpoint at step {s}; it has steps {}", self.root.display(), steps())
                }
            }),
        }
    }
}

/// Writes `payload` as `path` atomically and durably (temp, fsync, rename,
/// fsync of the directory). On error the temporary file is removed, so a full
/// disk gets its space back and the previous file is untouched.
pub fn write_checkpoint(path: &Path, payload: &[u8]) -> io::Result<()> {
    let dir = path.parent().ok_or_else(|| io::Error::other(format!("{} has no parent directory", path.display())))?;
    std::fs::create_dir_all(dir)?;
    let tmp = path.with_extension("ckpt.tmp");
    let _pending = super::temp_files::Pending::new(&tmp);
    let result = (|| {
        let mut f = File::create(&tmp)?;
        let mut header = Vec::with_capacity(HEADER_LEN as usize);
        header.extend_from_slice(MAGIC);
        header.extend_from_slice(&crc32c::crc32c(payload).to_le_bytes());
        header.extend_from_slice(&(payload.len() as u64).to_le_bytes());
        f.write_all(&header)?;
        f.write_all(payload)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path)?;
        File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(|e| io::Error::new(e.kind(), format!("writing checkpoint {}: {e}", path.display())))
}

/// Reads and checks a checkpoint file: magic, a length that matches the file
/// (checked before allocating) and the CRC.
pub fn read_checkpoint(path: &Path) -> Result<Vec<u8>, String> {
    let bad = |what: &str| format!("{} is not a usable checkpoint: {what}", path.display());
    let mut f = File::open(path).map_err(|e| format!("cannot open checkpoint {}: {e}", path.display()))?;
    let file_len = f.metadata().map_err(|e| format!("{}: {e}", path.display()))?.len();
    let mut header = [0u8; HEADER_LEN as usize];
    f.read_exact(&mut header).map_err(|_| bad("shorter than its header"))?;
    if &header[..8] != MAGIC {
        return Err(bad("wrong magic bytes (not an rl-research checkpoint, or another format version)"));
    }
    let crc = u32::from_le_bytes([header[8], header[9], header[10], header[11]]);
    let mut len_bytes = [0u8; 8];
    len_bytes.copy_from_slice(&header[12..20]);
    let len = u64::from_le_bytes(len_bytes);
    if len > MAX_CHECKPOINT_BYTES {
        return Err(bad(&format!("it claims {len} bytes, over the {MAX_CHECKPOINT_BYTES}-byte limit")));
    }
    if file_len != HEADER_LEN + len {
        return Err(bad(&format!("it claims {len} payload bytes but the file holds {}", file_len.saturating_sub(HEADER_LEN))));
    }
    let mut payload = Vec::with_capacity(len as usize);
    f.take(len).read_to_end(&mut payload).map_err(|e| format!("reading {}: {e}", path.display()))?;
    if payload.len() as u64 != len || crc32c::crc32c(&payload) != crc {
        return Err(bad("its checksum does not match (the file is damaged)"));
    }
    Ok(payload)
}

/// Removes all but the newest `keep` checkpoints and any leftover temporary files.
pub fn prune_checkpoints(run: &RunDir, keep: usize) -> io::Result<()> {
    let all = run.checkpoints();
    for old in all.iter().take(all.len().saturating_sub(keep.max(1))) {
        std::fs::remove_file(&old.path)?;
    }
    if let Ok(entries) = std::fs::read_dir(run.checkpoints_dir()) {
        for e in entries.flatten() {
            if e.file_name().to_string_lossy().ends_with(".ckpt.tmp") {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_listing_pruning_and_damage() {
        let dir = std::env::temp_dir().join(format!("rl-research-ckpt-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let run = RunDir::at(&dir);
        for step in [30u64, 10, 20] {
            write_checkpoint(&run.checkpoint_path(step), format!("payload {step}").as_bytes()).unwrap();
        }
        std::fs::write(run.checkpoints_dir().join("step_40.ckpt.tmp"), b"torn").unwrap();
        assert_eq!(run.checkpoints().iter().map(|c| c.step).collect::<Vec<_>>(), vec![10, 20, 30]);
        assert_eq!(read_checkpoint(&run.find_checkpoint(None).unwrap().path).unwrap(), b"payload 30");
        assert!(run.find_checkpoint(Some(15)).unwrap_err().contains("10, 20, 30"));
        prune_checkpoints(&run, 2).unwrap();
        assert_eq!(run.checkpoints().iter().map(|c| c.step).collect::<Vec<_>>(), vec![20, 30]);
        assert!(!run.checkpoints_dir().join("step_40.ckpt.tmp").exists());
        // One flipped byte, a truncation and a claimed huge length are all refused.
        let path = run.checkpoint_path(30);
        let mut bytes = std::fs::read(&path).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        std::fs::write(&path, &bytes).unwrap();
        assert!(read_checkpoint(&path).unwrap_err().contains("checksum"));
        std::fs::write(&path, &bytes[..bytes.len() - 3]).unwrap();
        assert!(read_checkpoint(&path).unwrap_err().contains("claims"));
        bytes[12..20].copy_from_slice(&(u64::MAX / 2).to_le_bytes());
        std::fs::write(&path, &bytes).unwrap();
        assert!(read_checkpoint(&path).unwrap_err().contains("limit"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
