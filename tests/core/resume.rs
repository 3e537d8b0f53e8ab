//! Checkpoints, exact resume and fork: a run stopped halfway and resumed ends
//! bit for bit where an uninterrupted run ends (CPU), for PPO and DQN on
//! CartPole and LunarLander, Gaussian PPO with gSDE and normalization on Pendulum, A2C.

use rl_research::config::overrides::parse_override;
use rl_research::config::{Config, apply_overrides};
use rl_research::runner::{self, RunEvent, RunOptions};
use rl_research::runs::logger::read_metrics;
use rl_research::runs::{RunDir, RunInfo, RunStatus, SavedModel};

use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, mpsc};

/// A small but complete config: evaluations and checkpoints before and after
/// the halfway point, no video.
pub fn small_config(preset: &str, runs_dir: &Path, extra: &[&str]) -> Config {
    let base = rl_research::config::builtin_preset(preset).unwrap();
    let mut overrides: Vec<String> = match preset {
        "cartpole_ppo" => vec![
            "env.n_envs=4",
            "algorithm.params.n_steps=64",
            "algorithm.params.batch_size=64",
            "algorithm.params.n_epochs=4",
            "experiment.total_timesteps=4096",
            "experiment.eval_freq=1024",
        ],
        "cartpole_dqn" => vec![
            "env.n_envs=4",
            "algorithm.params.learning_starts=500",
            "algorithm.params.buffer_size=3000",
            "algorithm.params.train_freq=4",
            "experiment.total_timesteps=4000",
            "experiment.eval_freq=1000",
        ],
        "lunarlander_ppo" => vec![
            "env.n_envs=4",
            "algorithm.params.n_steps=64",
            "algorithm.params.batch_size=64",
            "algorithm.params.n_epochs=2",
            "experiment.total_timesteps=2048",
            "experiment.eval_freq=512",
        ],
        "lunarlander_dqn" => vec![
            "env.n_envs=4",
            "algorithm.params.learning_starts=400",
            "algorithm.params.buffer_size=2000",
            "algorithm.params.train_freq=4",
            "experiment.total_timesteps=2400",
            "experiment.eval_freq=800",
        ],
        // gSDE (new noise every 4 steps) on normalized observations and rewards.
        "pendulum_ppo" => vec![
            "env.n_envs=2",
            "env.normalize_obs=true",
            "env.normalize_reward=true",
            "algorithm.params.n_steps=64",
            "algorithm.params.n_epochs=2",
            "experiment.total_timesteps=1024",
            "experiment.eval_freq=256",
        ],
        "cartpole_a2c" => vec!["env.n_envs=4", "experiment.total_timesteps=2000", "experiment.eval_freq=500"],
        // RMSprop, gSDE and normalization.
        "pendulum_a2c" => vec!["env.n_envs=2", "experiment.total_timesteps=1024", "experiment.eval_freq=256"],
        // Learned entropy coefficient, 2 envs, phases of 4 steps with 2 gradient steps.
        "pendulum_sac" => vec![
            "env.n_envs=2",
            "algorithm.params.learning_starts=200",
            "algorithm.params.buffer_size=2000",
            "algorithm.params.batch_size=64",
            "algorithm.params.net_arch=[32,32]",
            "algorithm.params.train_freq=4",
            "algorithm.params.gradient_steps=2",
            "experiment.total_timesteps=1000",
            "experiment.eval_freq=500",
        ],
        // gSDE (new exploration matrices every 3 steps), a fixed entropy coefficient.
        "mountaincarcontinuous_sac" => vec![
            "algorithm.params.buffer_size=2000",
            "algorithm.params.batch_size=64",
            "algorithm.params.net_arch=[32,32]",
            "algorithm.params.train_freq=8",
            "algorithm.params.gradient_steps=4",
            "algorithm.params.sde_sample_freq=3",
            "experiment.total_timesteps=800",
            "experiment.eval_freq=400",
        ],
        // Ornstein-Uhlenbeck noise (its state in the checkpoint); the policy delay spans phases.
        "pendulum_td3" => vec![
            "env.n_envs=2",
            "algorithm.params.noise_type=ornstein-uhlenbeck",
            "algorithm.params.learning_starts=200",
            "algorithm.params.buffer_size=2000",
            "algorithm.params.batch_size=64",
            "algorithm.params.net_arch=[32,32]",
            "algorithm.params.train_freq=2",
            "algorithm.params.gradient_steps=3",
            "experiment.total_timesteps=1000",
            "experiment.eval_freq=500",
        ],
        other => panic!("no small config for {other}"),
    }
    .into_iter()
    .map(String::from)
    .collect();
    overrides.extend([
        "experiment.n_eval_episodes=2".to_string(),
        "experiment.video_episodes=0".to_string(),
        "env.max_episode_steps=300".to_string(),
    ]);
    overrides.push(format!("experiment.runs_dir={}", runs_dir.display()));
    overrides.push(format!("experiment.name={preset}"));
    overrides.extend(extra.iter().map(|s| s.to_string()));
    let parsed: Vec<_> = overrides.iter().map(|o| parse_override(o).unwrap()).collect();
    let config = apply_overrides(&base, &parsed).unwrap();
    config.validate().unwrap();
    config
}

/// Options that stop the run on the first step after an update at or past
/// `at` timesteps. The waker runs on the training thread right after each
/// event, so the stop lands on a deterministic step.
pub fn stop_after(at: u64) -> RunOptions {
    let (tx, rx) = mpsc::channel::<RunEvent>();
    let options = RunOptions::default();
    let stop = options.stop.clone();
    let rx = Mutex::new(rx);
    let waker = Arc::new(move || {
        let Ok(rx) = rx.lock() else { return };
        while let Ok(ev) = rx.try_recv() {
            if let RunEvent::Metrics { timesteps, .. } = ev {
                if timesteps >= at {
                    stop.store(true, Ordering::SeqCst);
                }
            }
        }
    });
    RunOptions { events: Some(rl_research::runner::EventSender::new(tx).waking(waker)), ..options }
}

/// metrics.csv without its wall-clock parts (the wall_secs column, time/fps rows).
pub fn metrics_without_clock(run: &RunDir) -> Vec<(u64, String, u64)> {
    read_metrics(&run.metrics_csv())
        .unwrap()
        .into_iter()
        .filter(|r| r.metric != "time/fps" && !r.metric.starts_with("system/"))
        .map(|r| (r.timesteps, r.metric, r.value.to_bits()))
        .collect()
}

pub fn networks(path: &Path) -> Vec<(String, Vec<u32>)> {
    let m = SavedModel::load(path).unwrap();
    m.networks
        .iter()
        .map(|(n, w)| (n.clone(), w.layers.iter().flat_map(|l| l.weight.iter().chain(&l.bias)).map(|v| v.to_bits()).collect()))
        .collect()
}

fn assert_same_run(a: &RunDir, b: &RunDir, what: &str) {
    let (ma, mb) = (metrics_without_clock(a), metrics_without_clock(b));
    assert!(!ma.is_empty());
    if ma != mb {
        let first = ma.iter().zip(&mb).position(|(x, y)| x != y).unwrap_or(ma.len().min(mb.len()));
        panic!("{what}: metrics.csv differ at row {first} ({} vs {} rows): {:?} vs {:?}", ma.len(), mb.len(), ma.get(first), mb.get(first));
    }
    assert_eq!(crate::tracking::monitor_rows(a), crate::tracking::monitor_rows(b), "{what}: monitor.csv episodes differ");
    assert_eq!(networks(&a.final_model()), networks(&b.final_model()), "{what}: final weights differ");
    assert_eq!(networks(&a.best_model()), networks(&b.best_model()), "{what}: best models differ");
}

fn resume_equals_uninterrupted(preset: &str) {
    let dir = crate::temp_dir(&format!("resume-{preset}"));
    let straight = runner::run_experiment(&small_config(preset, &dir.join("straight"), &[])).unwrap();
    assert_eq!(straight.status, RunStatus::Completed);

    let config = small_config(preset, &dir.join("broken"), &[]);
    let half = config.experiment.total_timesteps / 2;
    let stopped = runner::run_experiment_with(&config, stop_after(half)).unwrap();
    assert_eq!(stopped.status, RunStatus::Stopped, "{preset}");
    assert!(
        stopped.timesteps >= half && stopped.timesteps < config.experiment.total_timesteps,
        "{preset}: stopped at {}",
        stopped.timesteps
    );
    // The stop wrote a checkpoint at the step it stopped on.
    assert_eq!(stopped.run_dir.checkpoints().last().map(|c| c.step), Some(stopped.timesteps));
    assert!(stopped.run_dir.checkpoints().len() <= config.experiment.keep_checkpoints);

    let resumed = runner::resume_experiment(&stopped.run_dir.root, RunOptions::default()).unwrap();
    assert_eq!(resumed.status, RunStatus::Completed);
    assert_eq!(resumed.run_dir, stopped.run_dir, "a resume continues in the same directory");
    assert_same_run(&straight.run_dir, &resumed.run_dir, preset);
    assert_eq!(
        straight.evaluations.iter().map(|e| (e.timesteps, e.mean_reward.to_bits())).collect::<Vec<_>>(),
        resumed.evaluations.iter().map(|e| (e.timesteps, e.mean_reward.to_bits())).collect::<Vec<_>>(),
        "{preset}: evaluation history"
    );
    let info = RunInfo::read(&resumed.run_dir).unwrap();
    assert_eq!(info.status, RunStatus::Completed);
    assert_eq!(info.resumed.len(), 1);
    assert_eq!(info.resumed[0].from_step, stopped.timesteps);
    assert_eq!(info.best_eval_mean_reward, straight.best_mean_reward);
    // Nothing left to resume once complete; the error says how to train further.
    let e = runner::resume_experiment(&resumed.run_dir.root, RunOptions::default()).unwrap_err().to_string();
    assert!(e.contains("completed") && e.contains("--fork"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn ppo_cartpole_resume_equals_uninterrupted() {
    resume_equals_uninterrupted("cartpole_ppo");
}

#[test]
fn dqn_cartpole_resume_equals_uninterrupted() {
    resume_equals_uninterrupted("cartpole_dqn");
}

#[test]
fn ppo_lunarlander_resume_equals_uninterrupted() {
    resume_equals_uninterrupted("lunarlander_ppo");
}

#[test]
fn gaussian_ppo_with_gsde_and_normalization_resume_equals_uninterrupted() {
    resume_equals_uninterrupted("pendulum_ppo");
}

#[test]
fn a2c_resume_equals_uninterrupted() {
    resume_equals_uninterrupted("cartpole_a2c");
    resume_equals_uninterrupted("pendulum_a2c");
}

#[test]
fn sac_and_td3_resume_equals_uninterrupted() {
    resume_equals_uninterrupted("pendulum_sac");
    resume_equals_uninterrupted("mountaincarcontinuous_sac");
    resume_equals_uninterrupted("pendulum_td3");
}

#[test]
fn dqn_lunarlander_resume_equals_uninterrupted() {
    resume_equals_uninterrupted("lunarlander_dqn");
}

#[test]
fn fork_continues_from_a_checkpoint_with_an_edited_config_and_refuses_fixed_keys() {
    let dir = crate::temp_dir("fork");
    let parent = runner::run_experiment(&small_config("cartpole_ppo", &dir, &["experiment.keep_checkpoints=10"])).unwrap();
    let steps: Vec<u64> = parent.run_dir.checkpoints().iter().map(|c| c.step).collect();
    assert_eq!(steps, vec![1024, 2048, 3072, 4096], "a checkpoint at each evaluation and at the last step");

    // A fork that changes nothing continues exactly as the parent went on.
    let same = runner::fork_experiment(&parent.run_dir.root, Some(2048), &[], RunOptions::default()).unwrap();
    assert_eq!(same.run_dir.name(), "cartpole_ppo_fork");
    let info = RunInfo::read(&same.run_dir).unwrap();
    let origin = info.forked_from.unwrap();
    assert_eq!((origin.run_name.as_str(), origin.step), ("cartpole_ppo", 2048));
    // The parent's rows written after that checkpoint are exactly the fork's rows.
    let ckpt = runner::Checkpoint::load(&parent.run_dir.checkpoint_path(2048)).unwrap();
    let text = std::fs::read_to_string(parent.run_dir.metrics_csv()).unwrap();
    let after = RunDir::create_unique(&dir, "after").unwrap();
    std::fs::write(
        after.metrics_csv(),
        format!("{}\n{}", rl_research::runs::logger::METRICS_HEADER, &text[ckpt.metrics_csv_len as usize..]),
    )
    .unwrap();
    let fork_rows = metrics_without_clock(&same.run_dir);
    assert!(fork_rows.iter().all(|r| r.0 >= 2048), "a fork's metrics.csv holds only its own steps");
    // Except the best evaluation so far: a fork's best counts only its own evaluations (like its best_model.zip).
    let own_best = |rows: Vec<(u64, String, u64)>| rows.into_iter().filter(|r| r.1 != "eval/best_mean_reward").collect::<Vec<_>>();
    assert_eq!(own_best(fork_rows.clone()), own_best(metrics_without_clock(&after)));
    let fork_best: Vec<f64> = fork_rows.iter().filter(|r| r.1 == "eval/best_mean_reward").map(|r| f64::from_bits(r.2)).collect();
    let fork_evals: Vec<f64> = fork_rows.iter().filter(|r| r.1 == "eval/mean_reward").map(|r| f64::from_bits(r.2)).collect();
    assert_eq!(
        fork_best,
        fork_evals
            .iter()
            .scan(f64::MIN, |b, &e| {
                *b = b.max(e);
                Some(*b)
            })
            .collect::<Vec<_>>()
    );
    assert_eq!(networks(&same.run_dir.final_model()), networks(&parent.run_dir.final_model()));

    // A lower learning rate and more timesteps: a new branch from step 2048.
    let edits: Vec<_> = ["algorithm.params.learning_rate=1e-5", "experiment.total_timesteps=5120", "experiment.name=lowlr"]
        .iter()
        .map(|o| parse_override(o).unwrap())
        .collect();
    let branch = runner::fork_experiment(&parent.run_dir.root, Some(2048), &edits, RunOptions::default()).unwrap();
    assert_eq!((branch.run_dir.name().as_str(), branch.timesteps), ("lowlr", 5120));
    let lr = read_metrics(&branch.run_dir.metrics_csv()).unwrap().into_iter().find(|r| r.metric == "train/learning_rate").unwrap();
    assert!((lr.value - 1e-5).abs() < 1e-12 && lr.timesteps >= 2048, "{lr:?}");
    let yaml = std::fs::read_to_string(branch.run_dir.config_yaml()).unwrap();
    assert!(yaml.contains("total_timesteps: 5120"), "{yaml}");

    // Keys that cannot change mid-run are refused by name; so are missing steps.
    for (edit, key) in [
        ("env.n_envs=8", "env.n_envs"),
        ("algorithm.params.net_arch=[32,32]", "algorithm.params.net_arch"),
        ("algorithm.name=dqn", "algorithm.name"),
        ("env.id=LunarLander-v3", "env.id"),
        ("experiment.seed=3", "experiment.seed"),
    ] {
        let e = runner::fork_experiment(&parent.run_dir.root, None, &[parse_override(edit).unwrap()], RunOptions::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains(key) && e.contains("cannot change"), "{edit}: {e}");
    }
    let e = runner::fork_experiment(&parent.run_dir.root, Some(1000), &[], RunOptions::default()).unwrap_err().to_string();
    assert!(e.contains("no checkpoint at step 1000") && e.contains("1024, 2048"), "{e}");
    let e = runner::fork_experiment(&parent.run_dir.root, Some(4096), &[], RunOptions::default()).unwrap_err().to_string();
    assert!(e.contains("experiment.total_timesteps") && e.contains("4096"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn damaged_checkpoints_are_skipped_or_refused_with_the_file_named() {
    let dir = crate::temp_dir("damaged-ckpt");
    let config = small_config("cartpole_dqn", &dir, &["experiment.keep_checkpoints=3"]);
    let stopped = runner::run_experiment_with(&config, stop_after(config.experiment.total_timesteps / 2)).unwrap();
    let ckpts = stopped.run_dir.checkpoints();
    assert!(ckpts.len() >= 2, "{ckpts:?}");
    // A stopped run without any checkpoint cannot be resumed, and says why.
    let bare = RunDir::create_unique(&dir, "bare").unwrap();
    std::fs::copy(stopped.run_dir.run_info(), bare.run_info()).unwrap();
    // The newest is damaged: the resume falls back to the one before and says so.
    let newest = ckpts.last().unwrap();
    let mut bytes = std::fs::read(&newest.path).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x55;
    std::fs::write(&newest.path, &bytes).unwrap();
    let (tx, rx) = mpsc::channel();
    let resumed =
        runner::resume_experiment(&stopped.run_dir.root, RunOptions { events: Some(tx.into()), ..RunOptions::default() }).unwrap();
    assert_eq!(resumed.status, RunStatus::Completed);
    let notes: Vec<String> = rx.try_iter().filter_map(|e| if let RunEvent::Note { message } = e { Some(message) } else { None }).collect();
    assert!(notes.iter().any(|n| n.contains("skipped damaged") && n.contains(&newest.path.display().to_string())), "{notes:?}");
    let e = runner::resume_experiment(&bare.root, RunOptions::default()).unwrap_err().to_string();
    assert!(e.contains("no checkpoints"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_budget_that_ends_mid_rollout_checkpoints_once_at_the_end() {
    let dir = crate::temp_dir("ckpt-end");
    // 4 envs x 64 steps = 256 per rollout: 1000 ends inside the fourth rollout (at 1024).
    let run = runner::run_experiment(&small_config(
        "cartpole_ppo",
        &dir,
        &["experiment.total_timesteps=1000", "experiment.eval_freq=500", "experiment.keep_checkpoints=10"],
    ))
    .unwrap();
    let steps: Vec<u64> = run.run_dir.checkpoints().iter().map(|c| c.step).collect();
    assert_eq!(steps, vec![500, 1000], "periodic ones and one at the first step past the budget");
    let _ = std::fs::remove_dir_all(&dir);
}
