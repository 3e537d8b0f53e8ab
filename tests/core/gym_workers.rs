//! `env.id=gym:<id>`: Gymnasium envs stepped in real Python worker processes
//! (`$RL_RESEARCH_TEST_PYTHON`, which `tests/run-all.sh` creates with Gymnasium),
//! trained through the real CLI: learning, a custom env registered through
//! `env.gym_imports` (training, replay, video), and every fault the user can
//! meet, each with its clear error and the run's files kept.

use rl_research::runner::EpisodeRecord;
use rl_research::runs::{RunDir, RunInfo, RunStatus};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_rl-research");

/// The interpreter with Gymnasium; None (test skipped) outside CI without one.
fn python() -> Option<String> {
    match std::env::var("RL_RESEARCH_TEST_PYTHON") {
        Ok(p) => Some(p),
        Err(_) => {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI must set RL_RESEARCH_TEST_PYTHON to a Python with Gymnasium (tests/run-all.sh does)"
            );
            crate::skipped("the gym: worker tests", "set RL_RESEARCH_TEST_PYTHON to a Python with Gymnasium");
            None
        }
    }
}

/// The directory of `rlr_test_envs.py`, for PYTHONPATH.
fn test_envs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/core/gym")
}

fn cli(dir: &Path, args: &[String], fault_file: Option<&Path>) -> Command {
    let mut c = Command::new(BIN);
    c.current_dir(dir).args(args).env("PYTHONPATH", test_envs_dir());
    if let Some(f) = fault_file {
        c.env("RLR_FAULT_FILE", f);
    }
    c
}

fn run_args(python: &str, name: &str, extra: &[&str]) -> Vec<String> {
    let mut a: Vec<String> = vec!["run".into(), format!("env.python={python}"), format!("experiment.name={name}")];
    a.extend(extra.iter().map(|s| s.to_string()));
    a
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

#[test]
fn ppo_learns_gym_cartpole_through_two_workers() {
    let Some(py) = python() else { return };
    let dir = crate::temp_dir("gym-cartpole");
    let args = run_args(&py, "g", &["env.id=gym:CartPole-v1", "env.workers=2", "experiment.total_timesteps=20000"]);
    let out = cli(&dir, &args, None).output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let run = RunDir::at(dir.join("runs/g"));
    let info = RunInfo::read(&run).unwrap();
    assert_eq!(info.status, RunStatus::Completed);
    let best = info.best_eval_mean_reward.unwrap();
    assert!(best >= 475.0, "PPO through gym: workers reached only {best}");
    // The run reproduces: what made the env is in its config.yaml.
    let yaml = std::fs::read_to_string(run.config_yaml()).unwrap();
    assert!(yaml.contains("gym:CartPole-v1") && yaml.contains(&py) && yaml.contains("workers: 2"), "{yaml}");
}

#[test]
fn ppo_learns_gym_pendulum_with_normalization_at_its_preset_budget() {
    let Some(py) = python() else { return };
    let dir = crate::temp_dir("gym-pendulum");
    let preset = Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/pendulum_ppo.ron");
    let mut args = vec!["run".to_string(), "--config".into(), preset.display().to_string()];
    args.extend(run_args(&py, "p", &["env.id=gym:Pendulum-v1", "env.normalize_obs=true", "env.normalize_reward=true"]).into_iter().skip(1));
    let out = cli(&dir, &args, None).output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let best = RunInfo::read(&RunDir::at(dir.join("runs/p"))).unwrap().best_eval_mean_reward.unwrap();
    assert!(best > -400.0, "PPO on gym:Pendulum-v1 with VecNormalize reached only {best}");
}

#[test]
fn custom_env_from_gym_imports_trains_replays_and_exports_a_video() {
    let Some(py) = python() else { return };
    let dir = crate::temp_dir("gym-custom");
    let args = run_args(
        &py,
        "c",
        &[
            "env.id=gym:rlr_test/Corridor-v0",
            "env.gym_imports=[rlr_test_envs]",
            "env.gym_kwargs.length=5",
            "env.n_envs=4",
            "experiment.total_timesteps=4096",
            "experiment.eval_freq=2048",
            "experiment.n_eval_episodes=3",
            "algorithm.params.n_steps=128",
        ],
    );
    let out = cli(&dir, &args, None).output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let run = RunDir::at(dir.join("runs/c"));
    // Discrete(5) observations arrive one-hot; the walk to the goal is learned.
    let best = RunInfo::read(&run).unwrap().best_eval_mean_reward.unwrap();
    assert!(best > 0.0, "the corridor was not learned: best eval {best}");
    let out = cli(&dir, &["video".into(), run.root.display().to_string()], None).output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert!(std::fs::metadata(run.evaluation_video()).unwrap().len() > 1000);
    let replay = std::fs::read_to_string(run.eval_episodes()).unwrap();
    let episode: EpisodeRecord = serde_json::from_str(replay.lines().next().unwrap()).unwrap();
    assert_eq!(episode.env_id, "gym:rlr_test/Corridor-v0");
    assert_eq!(episode.reset_obs.len(), 5);
    assert_eq!(episode.reset_obs.iter().sum::<f32>(), 1.0, "one-hot: {:?}", episode.reset_obs);
    // The env's own frame (5 cells of 40 px), drawn as it drew it: the goal cell is green-tinted.
    let frame = episode.frame(0).unwrap();
    assert_eq!((frame.width, frame.height), (200, 40));
    assert_eq!(frame.pixel(190, 2), [255, 200, 255]);
}

#[test]
fn setup_faults_are_named_before_any_run_directory_is_made() {
    let Some(py) = python() else { return };
    let dir = crate::temp_dir("gym-setup-faults");
    let expect = |args: Vec<String>, envs: &[(&str, String)], wanted: &[&str]| {
        let mut c = cli(&dir, &args, None);
        c.envs(envs.iter().map(|(k, v)| (*k, v.as_str())));
        let out = c.output().unwrap();
        let t = text(&out);
        assert!(!out.status.success(), "{args:?} succeeded: {t}");
        for w in wanted {
            assert!(t.contains(w), "{args:?}: the error does not say '{w}':\n{t}");
        }
        assert!(!t.contains("panicked"), "{t}");
    };
    // No such interpreter.
    expect(
        run_args("/nonexistent/python3", "a", &["env.id=gym:CartPole-v1"]),
        &[],
        &["env.python", "/nonexistent/python3", "was not found"],
    );
    // An interpreter without Gymnasium (site-packages off).
    let bare = dir.join("bare-python");
    std::fs::write(&bare, format!("#!/bin/sh\nexec {py} -S \"$@\"\n")).unwrap();
    std::fs::set_permissions(&bare, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    expect(run_args(bare.to_str().unwrap(), "b", &["env.id=gym:CartPole-v1"]), &[], &["pip install gymnasium"]);
    // A Gymnasium too old for terminated/truncated.
    let old = dir.join("old");
    std::fs::create_dir_all(old.join("gymnasium")).unwrap();
    std::fs::write(old.join("gymnasium/__init__.py"), "__version__ = '0.21.0'\n").unwrap();
    let path = format!("{}:{}", old.display(), test_envs_dir().display());
    expect(run_args(&py, "c", &["env.id=gym:CartPole-v1"]), &[("PYTHONPATH", path)], &["0.21.0", "too old", "pip install -U gymnasium"]);
    // A misspelt id: Gymnasium's own suggestion.
    expect(run_args(&py, "d", &["env.id=gym:CartPol-v1"]), &[], &["CartPol", "Did you mean", "CartPole"]);
    // A module that does not import.
    expect(
        run_args(&py, "e", &["env.id=gym:CartPole-v1", "env.gym_imports=[no_such_module_xyz]"]),
        &[],
        &["env.gym_imports", "no_such_module_xyz"],
    );
    // Spaces no algorithm takes.
    expect(run_args(&py, "f", &["env.id=gym:Blackjack-v1"]), &[], &["Tuple", "not supported", "FlattenObservation"]);
    assert!(
        !dir.join("runs").exists() || std::fs::read_dir(dir.join("runs")).unwrap().next().is_none(),
        "a failed setup left a run directory"
    );
}

#[test]
fn check_env_passes_a_good_env_and_names_what_is_wrong_with_a_bad_one() {
    let Some(py) = python() else { return };
    let dir = crate::temp_dir("gym-check-env");
    let check = |id: &str| {
        let args: Vec<String> =
            ["check-env", id, "--steps", "300", &format!("env.python={py}"), "env.gym_imports=[rlr_test_envs]"].map(String::from).to_vec();
        cli(&dir, &args, None).output().unwrap()
    };
    let out = check("gym:CartPole-v1");
    assert!(out.status.success(), "{}", text(&out));
    for w in ["env_checker", "deterministic", "render: 600x400", "passed"] {
        assert!(text(&out).contains(w), "{w}: {}", text(&out));
    }
    let out = check("gym:rlr_test/Sloppy-v0");
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    for w in ["FAIL  outside the observation space: value 1 is 2", "FAIL  reset(seed=0) differs", "FAIL  not deterministic"] {
        assert!(t.contains(w), "{w}: {t}");
    }
    // Ours too.
    let out = cli(&dir, &["check-env".into(), "Pendulum-v1".into(), "--steps".into(), "300".into()], None).output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
}

/// Starts a Faulty-v0 run, waits for its first checkpoint and best model,
/// then makes the env misbehave with `fault`; returns the finished process's output and its run.
fn fail_mid_run(name: &str, fault: &str, extra: &[&str]) -> Option<(Output, RunDir, PathBuf, f64)> {
    let py = python()?;
    let dir = crate::temp_dir(&format!("gym-fault-{name}"));
    let fault_file = dir.join("fault");
    let mut a = vec![
        "env.id=gym:rlr_test/Faulty-v0",
        "env.gym_imports=[rlr_test_envs]",
        "env.n_envs=2",
        "env.workers=2",
        "experiment.total_timesteps=30000",
        "experiment.eval_freq=1000",
        "experiment.n_eval_episodes=2",
        "experiment.checkpoint_freq=1000",
        "algorithm.params.n_steps=64",
        "algorithm.params.batch_size=64",
    ];
    a.extend_from_slice(extra);
    let mut child = cli(&dir, &run_args(&py, name, &a), Some(&fault_file)).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let run = RunDir::at(dir.join("runs").join(name));
    let t0 = Instant::now();
    while !(run.best_model().exists() && !run.checkpoints().is_empty()) {
        assert!(t0.elapsed() < Duration::from_secs(120), "no checkpoint after 2 minutes");
        assert!(child.try_wait().unwrap().is_none(), "the run ended before its first checkpoint");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::fs::write(&fault_file, fault).unwrap();
    let t_fault = Instant::now();
    let out = child.wait_with_output().unwrap();
    Some((out, run, fault_file, t_fault.elapsed().as_secs_f64()))
}

fn assert_failed_with(out: &Output, run: &RunDir, wanted: &[&str]) {
    let t = text(out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    let info = RunInfo::read(run).unwrap();
    assert_eq!(info.status, RunStatus::Failed, "{t}");
    let error = info.error.clone().unwrap_or_default();
    for w in wanted {
        assert!(t.contains(w), "the CLI's error does not say '{w}':\n{t}");
        assert!(error.contains(w), "run_info.json's error does not say '{w}':\n{error}");
    }
    assert!(run.best_model().exists(), "the best model was not kept");
    assert!(!t.contains("panicked"), "{t}");
}

#[test]
fn an_env_that_raises_fails_the_run_with_its_traceback() {
    let Some((out, run, _, _)) = fail_mid_run("raise", "raise", &[]) else { return };
    assert_failed_with(&out, &run, &["Traceback", "ValueError: boom: the test env failed on purpose", "rlr_test_envs.py"]);
}

#[test]
fn a_killed_worker_fails_the_run_with_its_last_words_and_resume_continues() {
    let Some((out, run, fault_file, secs)) = fail_mid_run("kill", "kill", &[]) else { return };
    assert_failed_with(&out, &run, &["last words", "worker about to be killed by the test env"]);
    assert!(!run.checkpoints().is_empty(), "the checkpoint was not kept");
    assert!(secs < 30.0, "the dead worker was noticed only after {secs:.1} s");
    // Once the env works again, --resume finishes the run from its checkpoint.
    std::fs::remove_file(&fault_file).unwrap();
    let out = cli(run.root.parent().unwrap().parent().unwrap(), &["run".into(), "--resume".into(), run.root.display().to_string()], None)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let info = RunInfo::read(&run).unwrap();
    assert_eq!(info.status, RunStatus::Completed);
    assert!(info.timesteps_done >= 30000);
}

#[test]
fn a_hung_worker_is_detected_within_its_timeout() {
    let Some((out, run, _, secs)) = fail_mid_run("hang", "hang", &["env.worker_timeout_secs=2"]) else { return };
    assert_failed_with(&out, &run, &["did not answer within 2 s", "worker hanging on purpose"]);
    assert!(secs < 20.0, "the hung worker was noticed only after {secs:.1} s");
}

#[test]
fn the_gui_checks_and_trains_a_gym_env() {
    use egui_kittest::Harness;
    use egui_kittest::kittest::Queryable;
    use rl_research::app::{RlApp, Settings};
    let Some(py) = python() else { return };
    let dir = crate::temp_dir("gym-gui");
    let mut settings = Settings::default();
    settings.runs_dir = dir.clone();
    let e = &mut settings.config.experiment;
    (e.total_timesteps, e.eval_freq, e.n_eval_episodes, e.name) = (2048, 1024, 2, "gui_gym".into());
    let mut harness =
        Harness::builder().with_size(egui::vec2(1280.0, 800.0)).build_ui_state(|ui, app: &mut RlApp| app.ui(ui), RlApp::new(settings));
    harness.step();
    // The env list's last entry turns the env rows into the Gymnasium ones.
    harness.get_by_label("id").click();
    harness.run();
    harness.get_by_label("Gymnasium environment…").click();
    harness.run();
    assert_eq!(harness.state().settings.config.env.id, "gym:CartPole-v1");
    harness.state_mut().settings.config.env.python = Some(py);
    harness.step();
    harness.get_by_label_contains("not checked yet");
    harness.get_by_label("Check").click();
    let t0 = Instant::now();
    while harness.query_by_label_contains("Found: observations").is_none() {
        assert!(t0.elapsed() < Duration::from_secs(60), "the check did not answer");
        harness.step();
        std::thread::sleep(Duration::from_millis(30));
    }
    harness.get_by_label_contains("actions Discrete(2)");
    harness.get_by_label("Run").click();
    harness.step();
    let t0 = Instant::now();
    while harness.state().jobs.list[0].running() {
        assert!(t0.elapsed() < Duration::from_secs(120), "the run did not finish");
        harness.step();
        std::thread::sleep(Duration::from_millis(30));
    }
    let job = &harness.state().jobs.list[0];
    assert_eq!(job.status, Some(RunStatus::Completed), "{:?}", job.error);
    assert!(job.run_dir.as_ref().unwrap().join("models/best_model.zip").is_file());
}
