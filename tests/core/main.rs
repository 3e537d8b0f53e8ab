//! Integration tests, one binary (each test binary links all of burn).

mod batched;
mod crash;
mod docs;
mod fpmode;
mod gpu;
mod groups;
mod gui;
mod gui_notebook;
mod gym_parity;
mod gym_workers;
mod hardening;
mod hostile;
mod hydra_grammar;
mod learning;
mod lunar;
mod notebook;
mod pipeline;
mod registry;
mod resume;
mod slurm;
mod storage;
mod sweep;
mod tracking;
mod video;

use std::path::PathBuf;

/// Says that a test (or a part of one) was skipped and why: on stderr, and appended to
/// `$RL_RESEARCH_SKIP_LOG`, from which `tests/run-all.sh` lists the skips in its summary
/// (libtest hides a passing test's output).
pub fn skipped(what: &str, why: &str) {
    eprintln!("skipped {what}: {why}");
    if let Some(path) = std::env::var_os("RL_RESEARCH_SKIP_LOG") {
        use std::io::Write;
        // One write per line: tests running at once append whole lines.
        if let Ok(mut f) = std::fs::OpenOptions::new().create(true).append(true).open(path) {
            let _ = f.write_all(format!("{what}: {why}\n").as_bytes());
        }
    }
}

/// A fresh temporary directory for one test.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rl-research-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
