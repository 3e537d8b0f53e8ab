//! Integration tests, one binary (each test binary links all of burn).

mod batched;
mod crash;
mod fpmode;
mod gpu;
mod groups;
mod gui;
mod gym_parity;
mod gym_workers;
mod hardening;
mod hostile;
mod hydra_grammar;
mod learning;
mod lunar;
mod pipeline;
mod registry;
mod resume;
mod slurm;
mod storage;
mod sweep;
mod tracking;
mod video;

use std::path::PathBuf;

/// A fresh temporary directory for one test.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rl-research-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
