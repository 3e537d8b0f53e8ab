//! Storage that fails under a run: a disk that fills while metrics.csv and the
//! TensorBoard file grow, and a logs directory that cannot be written. Every
//! time the run stops with an error naming the file, and what was written
//! stays readable; metrics.csv is the record the event file never runs ahead of.
//! (Root only, like `crash.rs`: they mount file systems; CI runs as root.)

use crate::crash::small_disk;
use crate::resume::{small_config, stop_after};
use rl_research::runs::logger::read_metrics;
use rl_research::runs::tfevents::read_event_file;
use rl_research::runs::{RunDir, RunInfo, RunStatus};
use std::process::Command;

fn mounted_or_skip(dir: &std::path::Path, bytes: u64) -> bool {
    if small_disk(dir, bytes).is_some() {
        return true;
    }
    assert!(std::env::var_os("CI").is_none(), "CI runs as root and must be able to mount a tmpfs for this test");
    crate::skipped("a full-disk storage test", "cannot mount a tmpfs here (needs root)");
    false
}

#[test]
fn a_disk_filled_by_metrics_and_events_stops_the_run_with_both_files_whole() {
    let dir = crate::temp_dir("disk-full-events");
    let disk = dir.join("disk");
    if !mounted_or_skip(&disk, 256 * 1024) {
        return;
    }
    // No checkpoints, models or monitor.csv: the metrics rows alone fill the disk.
    let config = small_config(
        "cartpole_ppo",
        &disk,
        &[
            "experiment.total_timesteps=5000000",
            "experiment.eval_freq=0",
            "experiment.checkpoint_freq=0",
            "logging.monitor_csv=false",
            "logging.system_metrics_secs=0.01",
        ],
    );
    let result = rl_research::runner::run_experiment(&config);
    let run = RunDir::at(disk.join("cartpole_ppo"));
    let info = RunInfo::read(&run);
    let rows = read_metrics(&run.metrics_csv());
    let events: Vec<_> = std::fs::read_dir(run.logs_dir())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().contains("tfevents"))
        .collect();
    let file = read_event_file(&events[0]);
    let _ = Command::new("umount").arg(&disk).status();
    let e = result.unwrap_err().to_string();
    assert!(
        e.contains("No space left on device")
            && (e.contains("metrics.csv") || e.contains("events.out.tfevents"))
            && e.contains("free disk space"),
        "{e}"
    );
    // The status made it to run_info.json although the disk is full.
    let info = info.unwrap();
    assert_eq!(info.status, RunStatus::Failed, "{info:?}");
    assert!(info.error.as_deref().is_some_and(|m| m.contains("No space left")), "{info:?}");
    // Both files parse to the end (no torn record before a later one), and the
    // event file holds the first rows of metrics.csv, never more.
    let rows = rows.unwrap();
    let file = file.unwrap();
    assert!(rows.len() > 100, "{} rows", rows.len());
    assert!(
        file.scalars.len() <= rows.len() && file.scalars.len() + 20 >= rows.len(),
        "{} scalars, {} rows",
        file.scalars.len(),
        rows.len()
    );
    for (s, r) in file.scalars.iter().zip(&rows) {
        assert!(s.step == r.timesteps as i64 && s.tag == r.metric && (s.value == r.value as f32 || s.value.is_nan()), "{s:?} vs {r:?}");
    }
    let last = file.plugins.last().map(|p| p.tag.as_str());
    assert!(matches!(last, Some("_hparams_/session_end_info") | Some("environment")), "{last:?}");
    eprintln!("disk full at step {}: {} metrics rows, {} event scalars", info.timesteps_done, rows.len(), file.scalars.len());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_unwritable_logs_directory_refuses_to_resume_and_changes_nothing() {
    let dir = crate::temp_dir("logs-readonly");
    let config = small_config("cartpole_ppo", &dir, &["experiment.total_timesteps=4096", "experiment.checkpoint_freq=1024"]);
    let stopped = rl_research::runner::run_experiment_with(&config, stop_after(1024)).unwrap();
    assert_eq!(stopped.status, RunStatus::Stopped);
    let run = stopped.run_dir;
    let logs = run.logs_dir();
    let before: Vec<(std::ffi::OsString, Vec<u8>)> = {
        let mut v: Vec<_> =
            std::fs::read_dir(&logs).unwrap().flatten().map(|e| (e.file_name(), std::fs::read(e.path()).unwrap())).collect();
        v.sort();
        v
    };
    // A read-only bind mount: unwritable even for root.
    let bound = Command::new("mount").arg("--bind").arg(&logs).arg(&logs).status().is_ok_and(|s| s.success())
        && Command::new("mount").args(["-o", "remount,bind,ro"]).arg(&logs).status().is_ok_and(|s| s.success());
    if !bound {
        let _ = Command::new("umount").arg(&logs).status();
        assert!(std::env::var_os("CI").is_none(), "CI runs as root and must be able to bind-mount for this test");
        crate::skipped("the unwritable-logs storage test", "cannot bind-mount here (needs root)");
        return;
    }
    let code = rl_research::cli::main(
        ["rl-research", "run", "--resume"].iter().map(|s| s.to_string()).chain([run.root.display().to_string()]).collect(),
    );
    let direct = rl_research::runner::resume_experiment(&run.root, Default::default()).map(|_| ()).unwrap_err().to_string();
    let after: Vec<(std::ffi::OsString, Vec<u8>)> = {
        let mut v: Vec<_> =
            std::fs::read_dir(&logs).unwrap().flatten().map(|e| (e.file_name(), std::fs::read(e.path()).unwrap())).collect();
        v.sort();
        v
    };
    let _ = Command::new("umount").arg(&logs).status();
    assert_eq!(code, 1, "a storage error is exit code 1");
    assert!(direct.contains("Read-only file system") && direct.contains("logs"), "{direct}");
    assert!(before == after, "the unwritable logs directory was changed");
    // Writable again, the same run resumes and completes.
    let done = rl_research::runner::resume_experiment(&run.root, Default::default()).unwrap();
    assert_eq!(done.status, RunStatus::Completed);
    let _ = std::fs::remove_dir_all(&dir);
}
