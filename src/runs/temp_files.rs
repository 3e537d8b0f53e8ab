//! Temporary files being written right now (`*.tmp` of atomic writes and
//! checkpoints), so a process that must exit at once (a second Ctrl-C or
//! SIGTERM) removes them instead of leaving them in the run directory.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

static PENDING: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// Registers a temporary file for as long as it lives.
pub struct Pending {
    path: PathBuf,
}

impl Pending {
    pub fn new(path: &Path) -> Self {
        let mut pending = PENDING.lock().unwrap_or_else(|p| p.into_inner());
        pending.push(path.to_path_buf());
        Self { path: path.to_path_buf() }
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        let mut pending = PENDING.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(i) = pending.iter().rposition(|p| *p == self.path) {
            pending.swap_remove(i);
        }
    }
}

/// Removes every temporary file still being written: called right before the
/// process exits without finishing them. Returns how many were removed.
pub fn remove_all() -> usize {
    let pending = PENDING.lock().unwrap_or_else(|p| p.into_inner());
    pending.iter().filter(|p| std::fs::remove_file(p).is_ok()).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pending_files_are_removed_by_remove_all_and_forgotten_when_done() {
        let dir = std::env::temp_dir().join(format!("rl-research-tempfiles-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (a, b) = (dir.join("a.tmp"), dir.join("b.tmp"));
        let done = Pending::new(&a);
        drop(done);
        std::fs::write(&a, b"kept: no longer pending").unwrap();
        let _live = Pending::new(&b);
        std::fs::write(&b, b"half").unwrap();
        assert!(remove_all() >= 1);
        assert!(a.exists() && !b.exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
