//! kill -9 at random moments of real training processes (PPO and DQN): every
//! time, the run directory opens in the runs browser, metrics.csv parses, the
//! status reads interrupted, and `run --resume` from the last complete
//! checkpoint finishes exactly as an uninterrupted run does.
//!
//! `RL_RESEARCH_KILL_POINTS` (default 10) kills per algorithm; the counts are printed.

use crate::resume::{metrics_without_clock, networks, small_config};
use rl_research::rng::Rng;
use rl_research::runs::logger::read_metrics;
use rl_research::runs::{RunDir, RunInfo, RunStatus};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

const BIN: &str = env!("CARGO_BIN_EXE_rl-research");

fn train(config_file: &Path, runs_dir: &Path) -> std::process::Child {
    Command::new(BIN)
        .args(["run", "--config"])
        .arg(config_file)
        .arg(format!("experiment.runs_dir={}", runs_dir.display()))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

#[derive(Debug, Default)]
struct Tally {
    before_run_dir: usize,
    before_first_checkpoint: usize,
    during_checkpoint_write: usize,
    after_completion: usize,
    resumed: usize,
    torn_metrics_line: usize,
}

fn kill_and_resume(preset: &str, points: usize, seed: u64) -> Tally {
    let dir = crate::temp_dir(&format!("crash-{preset}"));
    let config = small_config(preset, &dir, &["experiment.checkpoint_freq=128", "experiment.name=run"]);
    let file = dir.join("config.yaml");
    std::fs::write(&file, config.to_yaml()).unwrap();

    // The reference: the same binary, uninterrupted.
    let t0 = Instant::now();
    let status = train(&file, &dir.join("reference")).wait().unwrap();
    let wall = t0.elapsed();
    assert!(status.success(), "{preset}: reference run failed");
    let reference = RunDir::at(dir.join("reference").join("run"));

    let mut rng = Rng::seed_from_u64(seed);
    let mut tally = Tally::default();
    for k in 0..points {
        let runs = dir.join(format!("kill{k}"));
        let mut child = train(&file, &runs);
        // Anywhere from process start to a little past the reference's end.
        std::thread::sleep(wall.mul_f64(rng.uniform(0.0, 1.15)));
        let _ = child.kill(); // SIGKILL (Ok if it already finished)
        child.wait().unwrap();
        let run = RunDir::at(runs.join("run"));
        if !run.root.exists() {
            tally.before_run_dir += 1;
            continue;
        }
        // The runs browser lists it, with its status (or why it has none).
        let rows = rl_research::app::runs_scan::scan(&runs, &mut Default::default());
        assert_eq!(rows.len(), 1, "{preset} kill {k}");
        if std::fs::read_dir(run.checkpoints_dir()).is_ok_and(|d| d.flatten().any(|e| e.file_name().to_string_lossy().ends_with(".tmp"))) {
            tally.during_checkpoint_write += 1;
        }
        let Ok(info) = RunInfo::read(&run) else {
            // Killed between creating the directory and writing run_info.json.
            assert!(rows[0].info.is_err());
            tally.before_run_dir += 1;
            continue;
        };
        if run.metrics_csv().exists() {
            read_metrics(&run.metrics_csv()).unwrap();
            let text = std::fs::read(run.metrics_csv()).unwrap();
            if text.last().is_some_and(|&b| b != b'\n') {
                tally.torn_metrics_line += 1;
            }
        }
        if info.status == RunStatus::Completed {
            tally.after_completion += 1;
        } else {
            assert_eq!(info.status, RunStatus::Interrupted, "{preset} kill {k}: a killed run reads as interrupted");
            assert_eq!(
                RunInfo::read_as_written(&run).unwrap().status,
                RunStatus::Interrupted,
                "{preset} kill {k}: run_info.json says so once read"
            );
            assert_eq!(info.process_alive(), Some(false), "{preset} kill {k}");
            assert!(rows[0].dead, "{preset} kill {k}: the browser shows it interrupted");
            let out = Command::new(BIN).args(["run", "--resume"]).arg(&run.root).output().unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            if run.checkpoints().is_empty() {
                assert_eq!(out.status.code(), Some(2), "{preset} kill {k}: nothing to resume is wrong input: {stderr}");
                assert!(stderr.contains("no checkpoints"), "{stderr}");
                tally.before_first_checkpoint += 1;
                continue;
            }
            assert!(out.status.success(), "{preset} kill {k}: resume failed: {stderr}");
            tally.resumed += 1;
        }
        assert_eq!(
            metrics_without_clock(&run),
            metrics_without_clock(&reference),
            "{preset} kill {k}: metrics differ from the uninterrupted run"
        );
        assert_eq!(networks(&run.final_model()), networks(&reference.final_model()), "{preset} kill {k}: final weights differ");
    }
    let _ = std::fs::remove_dir_all(&dir);
    tally
}

#[test]
fn kill_9_at_random_points_leaves_runs_that_resume_exactly() {
    let points = std::env::var("RL_RESEARCH_KILL_POINTS").ok().and_then(|v| v.parse().ok()).unwrap_or(10);
    let started = Instant::now();
    for (i, preset) in ["cartpole_ppo", "cartpole_dqn"].into_iter().enumerate() {
        let tally = kill_and_resume(preset, points, 100 + i as u64);
        eprintln!("kill -9 {preset}: {points} kill points: {tally:?}");
    }
    eprintln!("kill -9 test took {:.1} s", started.elapsed().as_secs_f64());
}

/// A tmpfs of `bytes` at `dir` (root only); `None` where mounting is not allowed.
pub fn small_disk(dir: &Path, bytes: u64) -> Option<()> {
    std::fs::create_dir_all(dir).ok()?;
    let ok = Command::new("mount").args(["-t", "tmpfs", "-o", &format!("size={bytes}")]).arg("tmpfs").arg(dir).status().ok()?.success();
    ok.then_some(())
}

#[test]
fn a_full_disk_fails_the_run_cleanly_with_what_was_saved_intact() {
    let dir = crate::temp_dir("disk-full");
    let disk = dir.join("disk");
    if small_disk(&disk, 7_000_000).is_none() {
        assert!(std::env::var_os("CI").is_none(), "CI runs as root and must be able to mount a tmpfs for this test");
        crate::skipped("the full-disk crash test", "cannot mount a tmpfs here (needs root)");
        return;
    }
    // The replay buffer grows with every checkpoint until one no longer fits.
    let config = small_config(
        "cartpole_dqn",
        &disk,
        &[
            "experiment.total_timesteps=60000",
            "algorithm.params.buffer_size=60000",
            "experiment.checkpoint_freq=2000",
            "experiment.eval_freq=4000",
        ],
    );
    let result = rl_research::runner::run_experiment(&config);
    let run = RunDir::at(disk.join("cartpole_dqn"));
    let checkpoints = run.checkpoints();
    let leftovers: Vec<_> = std::fs::read_dir(run.checkpoints_dir())
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .filter(|n| n.to_string_lossy().ends_with(".tmp"))
        .collect();
    let info = RunInfo::read(&run);
    // What was saved is intact: every checkpoint and model loads, metrics.csv parses.
    let intact: Vec<String> = checkpoints
        .iter()
        .filter_map(|c| rl_research::runner::Checkpoint::load(&c.path).err())
        .chain(
            [run.best_model()]
                .iter()
                .filter(|p| p.exists())
                .filter_map(|p| rl_research::runs::SavedModel::load(p).err().map(|e| e.to_string())),
        )
        .chain(read_metrics(&run.metrics_csv()).err().map(|e| e.to_string()))
        .collect();
    let _ = Command::new("umount").arg(&disk).status();
    assert!(intact.is_empty(), "{intact:?}");
    let e = result.unwrap_err().to_string();
    // Whichever write meets the full disk first (a checkpoint or metrics.csv) is named.
    assert!(
        e.contains("No space left on device") && (e.contains("checkpoint") || e.contains("metrics.csv")) && e.contains("free disk space"),
        "{e}"
    );
    let info = info.unwrap();
    assert_eq!(info.status, RunStatus::Failed, "{info:?}");
    assert!(info.error.as_deref().is_some_and(|m| m.contains("No space left")));
    assert!(!checkpoints.is_empty() && leftovers.is_empty(), "{checkpoints:?} {leftovers:?}: {e}");
    eprintln!(
        "disk full after step {}: kept checkpoints {:?}",
        info.timesteps_done,
        checkpoints.iter().map(|c| c.step).collect::<Vec<_>>()
    );
    let _ = std::fs::remove_dir_all(&dir);
}
