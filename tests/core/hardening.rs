//! Runs that never lose data (issue 28): resume keeps metrics.csv and
//! monitor.csv rows by content whatever an editor did to the file (or refuses
//! with nothing changed), config.yaml always describes the run, a failed
//! start-up leaves nothing behind, dead runs read interrupted, and the CLI's
//! messages and exit codes follow one rule (2 wrong input, 1 failed operation).

use crate::resume::{metrics_without_clock, small_config, stop_after};
use rl_research::runner::{self, RunOptions};
use rl_research::runs::{RunDir, RunInfo, RunStatus};
use std::path::Path;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_rl-research");

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

fn cli(args: &[&str]) -> Output {
    Command::new(BIN).args(args).env("RL_RESEARCH_NO_GUI", "1").output().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// An uninterrupted reference and a run stopped at half whose newest
/// checkpoint is removed, so its logs hold rows written after the checkpoint
/// it resumes from (what a kill -9 leaves).
fn reference_and_cut_run(dir: &Path) -> (RunDir, RunDir) {
    let extra = ["experiment.checkpoint_freq=512", "experiment.keep_checkpoints=10"];
    let straight = runner::run_experiment(&small_config("cartpole_ppo", &dir.join("straight"), &extra)).unwrap();
    let config = small_config("cartpole_ppo", &dir.join("broken"), &extra);
    let stopped = runner::run_experiment_with(&config, stop_after(2048)).unwrap();
    let run = stopped.run_dir;
    let newest = run.checkpoints().pop().unwrap();
    std::fs::remove_file(&newest.path).unwrap();
    (straight.run_dir, run)
}

/// Python's csv module (via pandas) rewriting the file: floats re-spelled,
/// every text field quoted, CRLF line endings.
fn rewrite_like_a_spreadsheet(path: &Path) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut out = String::new();
    for (i, line) in text.lines().enumerate() {
        if i == 0 {
            out.push_str(line);
        } else {
            let (steps, rest) = line.split_once(',').unwrap();
            let (wall, rest) = rest.split_once(',').unwrap();
            let (name, value) = rest.rsplit_once(',').unwrap();
            let wall: f64 = wall.parse().unwrap();
            out.push_str(&format!("{steps}.0,{wall},\"{}\",{value}", name.trim_matches('"')));
        }
        out.push_str("\r\n");
    }
    std::fs::write(path, out).unwrap();
}

#[test]
fn resume_keeps_rows_of_an_edited_log_by_content_or_refuses_with_nothing_changed() {
    let dir = crate::temp_dir("hardening-rows");
    let (straight, cut) = reference_and_cut_run(&dir);
    let expected = metrics_without_clock(&straight);
    let expected_monitor = crate::tracking::monitor_rows(&straight);

    // CRLF line endings (a Windows editor) on both logs; floats re-spelled and fields quoted.
    for (k, edit) in ["crlf", "rewritten"].into_iter().enumerate() {
        let run = RunDir::at(dir.join(format!("{edit}/cartpole_ppo")));
        copy_dir(&cut.root, &run.root);
        if k == 0 {
            for p in [run.metrics_csv(), run.monitor_csv()] {
                let crlf = std::fs::read_to_string(&p).unwrap().replace('\n', "\r\n");
                std::fs::write(&p, crlf).unwrap();
            }
        } else {
            rewrite_like_a_spreadsheet(&run.metrics_csv());
        }
        let edited = std::fs::read(run.metrics_csv()).unwrap();
        let resumed = runner::resume_experiment(&run.root, RunOptions::default()).unwrap();
        assert_eq!(resumed.status, RunStatus::Completed, "{edit}");
        assert_eq!(metrics_without_clock(&run), expected, "{edit}: every row kept, none fused, the rest continued");
        assert_eq!(crate::tracking::monitor_rows(&run), expected_monitor, "{edit}: monitor.csv");
        let kept = run.logs_dir().join("metrics.csv.edited");
        assert_eq!(std::fs::read(&kept).unwrap(), edited, "{edit}: the user's file is kept beside the run's");
    }

    // A row inserted before the checkpoint's rows end, or one removed: refused, the file untouched.
    for (edit, change) in [("inserted", 0usize), ("removed", 1)] {
        let run = RunDir::at(dir.join(format!("{edit}/cartpole_ppo")));
        copy_dir(&cut.root, &run.root);
        let text = std::fs::read_to_string(run.metrics_csv()).unwrap();
        let mut lines: Vec<&str> = text.lines().collect();
        if change == 0 {
            lines.insert(5, "100,0.500,my/note,1");
        } else {
            lines.remove(5);
        }
        let damaged = lines.join("\n") + "\n";
        std::fs::write(run.metrics_csv(), &damaged).unwrap();
        let info_before = std::fs::read(run.run_info()).unwrap();
        let e = runner::resume_experiment(&run.root, RunOptions::default()).unwrap_err().to_string();
        assert!(e.contains("metrics.csv") && e.contains("nothing was changed"), "{edit}: {e}");
        assert_eq!(std::fs::read_to_string(run.metrics_csv()).unwrap(), damaged, "{edit}: metrics.csv untouched");
        assert_eq!(std::fs::read(run.run_info()).unwrap(), info_before, "{edit}: run_info.json untouched");
        assert!(!run.logs_dir().join("metrics.csv.edited").exists());
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn config_yaml_always_describes_the_run_and_dead_runs_read_interrupted() {
    let dir = crate::temp_dir("hardening-config");
    let config = small_config("cartpole_ppo", &dir, &["experiment.total_timesteps=2048", "experiment.eval_freq=512"]);
    let stopped = runner::run_experiment_with(&config, stop_after(512)).unwrap();
    let run = stopped.run_dir;
    let original = std::fs::read_to_string(run.config_yaml()).unwrap();

    // A deleted config.yaml is written again from the checkpoint's config.
    std::fs::remove_file(run.config_yaml()).unwrap();
    assert_eq!(runner::resume_experiment(&run.root, stop_after(1024)).unwrap().status, RunStatus::Stopped);
    assert_eq!(std::fs::read_to_string(run.config_yaml()).unwrap(), original, "config.yaml written again");

    // Recorded as running by a process that is gone (kill -9): it reads interrupted, and the file says so.
    let mut info = RunInfo::read(&run).unwrap();
    let mut child = Command::new("true").spawn().unwrap();
    child.wait().unwrap();
    info.status = RunStatus::Running;
    info.pid = Some(child.id());
    info.start_ticks = Some(1);
    info.write(&run).unwrap();
    if cfg!(target_os = "linux") {
        assert_eq!(RunInfo::read(&run).unwrap().status, RunStatus::Interrupted);
        assert_eq!(RunInfo::read_as_written(&run).unwrap().status, RunStatus::Interrupted, "run_info.json updated");
        let target = rl_research::runs::compare::load_target(&run.root).unwrap();
        assert_eq!(target.status, "interrupted");
        assert!(target.notes.iter().any(|n| n.contains("--resume")), "{:?}", target.notes);
    }

    // An edited config.yaml is put back (the edit kept beside it), with a note naming the key and --fork.
    std::fs::write(run.config_yaml(), original.replace("n_envs: 4", "n_envs: 8")).unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let resumed = runner::resume_experiment(&run.root, RunOptions { events: Some(tx.into()), ..RunOptions::default() }).unwrap();
    assert_eq!(resumed.status, RunStatus::Completed);
    let notes: Vec<String> = rx
        .try_iter()
        .filter_map(|e| match e {
            runner::RunEvent::Note { message } => Some(message),
            _ => None,
        })
        .collect();
    assert!(notes.iter().any(|n| n.contains("env.n_envs: 4 -> 8") && n.contains("--fork")), "{notes:?}");
    assert_eq!(std::fs::read_to_string(run.config_yaml()).unwrap(), original, "config.yaml restored, command line included");
    assert!(std::fs::read_to_string(run.root.join("configs/config.yaml.edited")).unwrap().contains("n_envs: 8"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_full_disk_at_start_up_leaves_nothing_and_names_the_file() {
    let dir = crate::temp_dir("hardening-full");
    let mnt = dir.join("mnt");
    if crate::crash::small_disk(&mnt, 64 * 1024).is_none() {
        assert!(std::env::var_os("CI").is_none(), "CI runs as root and must be able to mount a tmpfs for this test");
        crate::skipped("a full-disk hardening test", "cannot mount a tmpfs here (needs root)");
        return;
    }
    let mut failures = 0;
    for free_kib in [0, 4, 8, 12] {
        let filler = mnt.join("filler");
        let _ = std::fs::remove_file(&filler);
        let _ = std::fs::remove_dir_all(mnt.join("runs"));
        std::fs::write(&filler, vec![0u8; (64 - free_kib) * 1024]).unwrap_or(());
        let runs = mnt.join("runs");
        let o = cli(&[
            "run",
            "experiment.total_timesteps=512",
            "experiment.video_episodes=0",
            "logging.tensorboard=false",
            &format!("experiment.runs_dir={}", runs.display()),
        ]);
        if o.status.success() {
            continue;
        }
        failures += 1;
        let e = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{free_kib} KiB free: {e}");
        let cause = e.split("; the new run directory").next().unwrap_or_default();
        assert!(cause.contains(&*mnt.to_string_lossy()), "{free_kib} KiB free: the error names the file: {e}");
        // Nothing left, or a run that lists as failed with its reason.
        for entry in std::fs::read_dir(&runs).map(|d| d.flatten().collect::<Vec<_>>()).unwrap_or_default() {
            let info = RunInfo::read(&RunDir::at(entry.path()));
            assert!(
                matches!(&info, Ok(i) if i.status == RunStatus::Failed && i.error.is_some()),
                "{free_kib} KiB free: {} left as {info:?}",
                entry.path().display()
            );
        }
    }
    let _ = Command::new("umount").arg(&mnt).status();
    assert!(failures > 0, "a 64 KiB disk with at most 12 KiB free must fail some start-up");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn cli_refuses_wrong_input_with_exit_2_naming_the_key_or_file() {
    let dir = crate::temp_dir("hardening-cli");
    let runs = dir.join("runs");
    let runs_arg = format!("experiment.runs_dir={}", runs.display());
    let path = |p: &Path| p.to_string_lossy().into_owned();
    let expect = |o: Output, code: i32, needles: &[&str]| {
        let e = stderr(&o);
        assert_eq!(o.status.code(), Some(code), "{needles:?}: {e}");
        for n in needles {
            assert!(e.contains(n), "{n:?} missing from: {e}");
        }
        assert!(!e.contains("os error 2)") || e.contains("run_info.json") || e.contains(".zip"), "a bare OS error: {e}");
        e
    };
    // Empty config files, an empty runs_dir, a name past the file system's limit (its echo elided).
    for ext in ["yaml", "ron"] {
        let f = dir.join(format!("empty.{ext}"));
        std::fs::write(&f, if ext == "yaml" { "# nothing\n\n" } else { "// nothing\n\n" }).unwrap();
        expect(cli(&["run", "--config", &path(&f), &runs_arg]), 2, &["is empty"]);
    }
    expect(cli(&["run", "experiment.runs_dir="]), 2, &["experiment.runs_dir"]);
    let e = expect(cli(&["run", &format!("experiment.name={}", "x".repeat(300)), &runs_arg]), 2, &["experiment.name is 300 bytes"]);
    assert!(e.len() < 1000, "a long value is elided: {} bytes", e.len());
    let huge = dir.join("huge.yaml");
    std::fs::write(&huge, format!("experiment:\n  name: {}\n", "x".repeat(5 << 20))).unwrap();
    let e = expect(cli(&["run", "--config", &path(&huge), &runs_arg]), 2, &["huge.yaml", "at most 4194304 bytes"]);
    assert!(e.len() < 1000, "{} bytes", e.len());
    let dup = dir.join("dup.yaml");
    std::fs::write(&dup, "experiment:\n  seed: 1\n  seed: 2\n").unwrap();
    let e = expect(cli(&["run", "--config", &path(&dup), &runs_arg]), 2, &["seed"]);
    assert!(!e.contains("DuplicateKeyPolicy"), "{e}");
    assert!(!runs.exists(), "nothing was created for refused input");

    // Paths that are not runs or models.
    let missing = dir.join("missing");
    expect(cli(&["run", "--resume", &path(&missing)]), 2, &[&path(&missing)]);
    let only_lock = dir.join("only_lock");
    std::fs::create_dir_all(only_lock.join("logs")).unwrap();
    std::fs::write(only_lock.join("logs/LOCK"), "").unwrap();
    expect(cli(&["run", "--resume", &path(&only_lock)]), 2, &["run_info.json"]);
    let empty = dir.join("empty_dir");
    std::fs::create_dir_all(&empty).unwrap();
    expect(cli(&["eval", &path(&empty)]), 2, &["best_model.zip"]);
    expect(cli(&["video", &path(&empty)]), 2, &["best_model.zip"]);
    expect(cli(&["compare", &path(&dup)]), 2, &["is a file"]);
    expect(cli(&["compare", &path(&empty)]), 2, &["run_info.json"]);
    expect(cli(&["run", "--resume", ""]), 2, &["--resume needs a run directory"]);

    // A trained run: a fork step that does not exist, a fixed key, a damaged model.
    let config = small_config("cartpole_ppo", &runs, &["experiment.total_timesteps=512", "experiment.eval_freq=256"]);
    let run = runner::run_experiment(&config).unwrap().run_dir;
    expect(cli(&["run", "--fork", &format!("{}@12345", path(&run.root)), &runs_arg]), 2, &["no checkpoint at step 12345"]);
    expect(cli(&["run", "--fork", &path(&run.root), "env.n_envs=8"]), 2, &["env.n_envs cannot change in a fork"]);
    std::fs::write(run.best_model(), b"PK\x03\x04 damaged").unwrap();
    let o = cli(&["eval", &path(&run.root), "--episodes", "1"]);
    assert_eq!(o.status.code(), Some(0), "falls back to final_model.zip: {}", stderr(&o));
    assert!(stderr(&o).contains("final_model.zip"), "says so: {}", stderr(&o));
    expect(cli(&["eval", &path(&run.best_model())]), 2, &["best_model.zip"]);
    // compare says why a completed run has no final score: its metrics.csv is gone.
    std::fs::remove_file(run.metrics_csv()).unwrap();
    let target = rl_research::runs::compare::load_target(&run.root).unwrap();
    assert!(target.notes.iter().any(|n| n.contains("metrics.csv") && n.contains("completed")), "{:?}", target.notes);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_double_sigterm_names_the_signal_leaves_no_temp_file_and_reads_interrupted() {
    if !cfg!(unix) {
        return;
    }
    let dir = crate::temp_dir("hardening-signal");
    // The final evaluation and video after the first SIGTERM take long enough for the second to land mid-finish.
    let child = Command::new(BIN)
        .args([
            "run",
            "experiment.total_timesteps=1000000",
            "experiment.eval_freq=2048",
            "experiment.checkpoint_freq=2048",
            "experiment.n_eval_episodes=100",
            "experiment.video_episodes=20",
            "experiment.name=sig",
        ])
        .arg(format!("experiment.runs_dir={}", dir.display()))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let run = RunDir::at(dir.join("sig"));
    let t0 = std::time::Instant::now();
    while run.checkpoints().is_empty() && t0.elapsed().as_secs() < 60 {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let kill = |pid: u32| Command::new("kill").args(["-TERM", &pid.to_string()]).status().unwrap();
    kill(child.id());
    std::thread::sleep(std::time::Duration::from_millis(100));
    kill(child.id());
    let out = child.wait_with_output().unwrap();
    let e = stderr(&out);
    assert!(e.contains("SIGTERM: stopping") && e.contains("second SIGTERM") && !e.contains("Ctrl-C"), "{e}");
    let tmp: Vec<_> = walk(&run.root).into_iter().filter(|p| p.to_string_lossy().ends_with(".tmp")).collect();
    assert!(tmp.is_empty(), "temporary files left: {tmp:?}");
    assert_eq!(RunInfo::read(&run).unwrap().status, RunStatus::Interrupted);
    let _ = std::fs::remove_dir_all(&dir);
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            out.extend(walk(&e.path()));
        } else {
            out.push(e.path());
        }
    }
    out
}

#[test]
fn simultaneous_resumes_one_wins_and_no_loser_is_told_to_delete_a_live_lock() {
    let dir = crate::temp_dir("hardening-race");
    let config = small_config("cartpole_ppo", &dir, &["experiment.total_timesteps=1024", "experiment.eval_freq=512"]);
    let run = runner::run_experiment_with(&config, stop_after(512)).unwrap().run_dir;
    let children: Vec<_> = (0..8)
        .map(|_| {
            Command::new(BIN)
                .args(["run", "--resume"])
                .arg(&run.root)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let outs: Vec<Output> = children.into_iter().map(|c| c.wait_with_output().unwrap()).collect();
    let won = outs.iter().filter(|o| o.status.success()).count();
    for o in outs.iter().filter(|o| !o.status.success()) {
        let e = stderr(o);
        // A loser either met the live lock or came after the winner completed the run.
        assert!(e.contains("is in use") || e.contains("is being taken") || e.contains("nothing to resume"), "{e}");
        assert!(!e.contains("delete"), "a live lock is never offered for deletion: {e}");
    }
    eprintln!(
        "{won} of 8 simultaneous resumes ran; the others: {:?}",
        outs.iter()
            .filter(|o| !o.status.success())
            .map(|o| stderr(o).lines().last().unwrap_or_default().chars().take(90).collect::<String>())
            .collect::<Vec<_>>()
    );
    assert!(won >= 1, "one resume finishes the run");
    assert_eq!(RunInfo::read(&run).unwrap().status, RunStatus::Completed);
    assert_eq!(RunInfo::read(&run).unwrap().resumed.len(), won, "each successful resume is recorded");
    let _ = std::fs::remove_dir_all(&dir);
}
