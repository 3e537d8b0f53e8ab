//! One writer per run directory: `logs/LOCK` holds the writer's pid, host and
//! process start time, created exclusively (`O_EXCL`), removed when the writer
//! is done. A second writer (the GUI and the CLI on the same run, a video export
//! while the run still trains, a later resume of a live run) gets a clear error.
//! A lock left by a killed process on this host is taken over: its pid is gone,
//! or now belongs to a process that started at another time.

use super::{RunDir, host_name};
use serde::{Deserialize, Serialize};
use std::io::{self, Write};
use std::path::PathBuf;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct LockInfo {
    pid: u32,
    host: Option<String>,
    /// The process's start time in clock ticks since boot (Linux), to tell a
    /// reused pid from the writer itself.
    start_ticks: Option<u64>,
    /// What holds it ("training", "video export", ...), for the error message.
    purpose: String,
}

/// Held while a process writes into a run directory; dropping it releases it.
#[derive(Debug)]
pub struct RunLock {
    path: PathBuf,
}

/// Start time of process `pid` (field 22 of `/proc/<pid>/stat`), Linux only.
pub(crate) fn process_start_ticks(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    s.rsplit_once(')')?.1.split_whitespace().nth(19)?.parse().ok()
}

impl LockInfo {
    fn mine(purpose: &str) -> Self {
        let pid = std::process::id();
        Self { pid, host: host_name(), start_ticks: process_start_ticks(pid), purpose: purpose.to_string() }
    }

    /// Whether the holder is certainly gone: same host, and its pid is dead or reused.
    fn is_stale(&self) -> bool {
        if !cfg!(target_os = "linux") || self.host.is_none() || self.host != host_name() {
            return false;
        }
        match (process_start_ticks(self.pid), self.start_ticks) {
            (None, _) => true,
            (Some(now), Some(then)) => now != then,
            (Some(_), None) => false,
        }
    }
}

/// Who holds a lock file that exists.
enum Holder {
    Live(LockInfo),
    /// Its process is gone: the lock can be taken over.
    Gone,
    /// Just created and not yet written by a live process.
    Arriving,
}

/// A lock file is written right after it is created: an empty or partial one
/// is read again for a moment, and taken over only once it has stayed
/// unreadable far longer than any writer takes (its writer was killed in between).
fn read_holder(path: &std::path::Path) -> Holder {
    for _ in 0..20 {
        match std::fs::read_to_string(path).ok().map(|t| serde_json::from_str::<LockInfo>(&t)) {
            Some(Ok(h)) if h.is_stale() => return Holder::Gone,
            Some(Ok(h)) => return Holder::Live(h),
            None => return Holder::Gone,
            Some(Err(_)) => std::thread::sleep(std::time::Duration::from_millis(25)),
        }
    }
    let age = std::fs::metadata(path).and_then(|m| m.modified()).ok().and_then(|m| m.elapsed().ok());
    if age.is_some_and(|a| a.as_secs() >= 10) { Holder::Gone } else { Holder::Arriving }
}

impl RunDir {
    pub fn lock_file(&self) -> PathBuf {
        self.root.join("logs").join("LOCK")
    }

    /// Takes the run directory for writing (`purpose` says what for), or says
    /// who holds it.
    pub fn lock(&self, purpose: &str) -> io::Result<RunLock> {
        if !self.root.is_dir() {
            return Err(io::Error::new(io::ErrorKind::NotFound, format!("{} is not a run directory (runs/<name>)", self.root.display())));
        }
        let path = self.lock_file();
        let logs = self.root.join("logs");
        std::fs::create_dir_all(&logs).map_err(|e| io::Error::new(e.kind(), format!("cannot create {}: {e}", logs.display())))?;
        let text = serde_json::to_string(&LockInfo::mine(purpose)).map_err(io::Error::other)?;
        // Two tries: the second after removing a stale lock.
        for _ in 0..2 {
            match std::fs::OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(mut f) => {
                    if let Err(e) = f.write_all(text.as_bytes()).and_then(|()| f.sync_all()) {
                        let _ = std::fs::remove_file(&path);
                        return Err(io::Error::new(e.kind(), format!("writing {}: {e}", path.display())));
                    }
                    return Ok(RunLock { path });
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => match read_holder(&path) {
                    Holder::Gone => {
                        let _ = std::fs::remove_file(&path);
                    }
                    Holder::Live(h) => {
                        let local = h.host.is_some() && h.host == host_name() && cfg!(target_os = "linux");
                        let host = h.host.as_deref().unwrap_or("an unknown host");
                        // Only a holder on another host cannot be checked from here.
                        let unless = if local {
                            String::new()
                        } else {
                            format!("; if that process is gone (check on {host}), delete {}", path.display())
                        };
                        return Err(io::Error::new(
                            io::ErrorKind::WouldBlock,
                            format!(
                                "{} is in use: process {} on {host} holds it ({}); wait for it to finish or stop it{unless}",
                                self.root.display(),
                                h.pid,
                                h.purpose
                            ),
                        ));
                    }
                    Holder::Arriving => {
                        return Err(io::Error::new(
                            io::ErrorKind::WouldBlock,
                            format!(
                                "{} is being taken by another process right now ({} is still being written); try again in a moment",
                                self.root.display(),
                                path.display()
                            ),
                        ));
                    }
                },
                Err(e) => {
                    return Err(io::Error::new(
                        e.kind(),
                        format!(
                            "cannot lock {}: {e}; the run directory must be writable (check its permissions, mount and free space)",
                            path.display()
                        ),
                    ));
                }
            }
        }
        Err(io::Error::new(
            io::ErrorKind::WouldBlock,
            format!("{} is in use: {} could not be taken over", self.root.display(), path.display()),
        ))
    }
}

impl Drop for RunLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_writer_at_a_time_and_stale_locks_are_taken_over() {
        let dir = std::env::temp_dir().join(format!("rl-research-lock-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let run = RunDir::at(dir.join("run"));
        assert!(run.lock("training").unwrap_err().to_string().contains("is not a run directory"));
        std::fs::create_dir_all(&run.root).unwrap();
        let held = run.lock("training").unwrap();
        let err = run.lock("video export").unwrap_err().to_string();
        assert!(err.contains("is in use") && err.contains(&std::process::id().to_string()) && err.contains("training"), "{err}");
        drop(held);
        assert!(!run.lock_file().exists(), "released on drop");
        let again = run.lock("video export").unwrap();
        drop(again);
        if cfg!(target_os = "linux") {
            // A lock left by a process that has exited (kill -9) is taken over.
            let mut child = std::process::Command::new("true").spawn().unwrap();
            let pid = child.id();
            child.wait().unwrap();
            let stale = LockInfo { pid, host: host_name(), start_ticks: Some(1), purpose: "training".into() };
            std::fs::write(run.lock_file(), serde_json::to_string(&stale).unwrap()).unwrap();
            let taken = run.lock("resume").unwrap();
            drop(taken);
            // Our own pid with another start time is a reused pid: stale too.
            let reused = LockInfo { start_ticks: Some(u64::MAX), ..LockInfo::mine("training") };
            std::fs::write(run.lock_file(), serde_json::to_string(&reused).unwrap()).unwrap();
            drop(run.lock("resume").unwrap());
            // A lock file just created and not yet written: another process is taking it, never "delete it".
            std::fs::write(run.lock_file(), b"").unwrap();
            let err = run.lock("resume").unwrap_err().to_string();
            assert!(err.contains("try again in a moment") && !err.contains("delete"), "{err}");
            // Still empty long after (its writer was killed between create and write): taken over.
            let old = std::time::SystemTime::now() - std::time::Duration::from_secs(60);
            std::fs::File::options().write(true).open(run.lock_file()).unwrap().set_modified(old).unwrap();
            drop(run.lock("resume").unwrap());
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
