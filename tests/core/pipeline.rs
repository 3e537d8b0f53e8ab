//! GAE, model files, overrides, the runs layout, `eval`, determinism.

use rl_research::algos::buffers::RolloutBuffer;
use rl_research::algos::nets::{Init, Mlp};
use rl_research::algos::{Policy, PolicyHead};
use rl_research::cli;
use rl_research::config::{Activation, AlgorithmConfig, Config};
use rl_research::rng::Rng;
use rl_research::runs::logger::read_metrics;
use rl_research::runs::{RunDir, RunInfo, RunStatus, SavedModel};
use rl_research::{run_experiment, run_experiment_with, runner};

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-12
}

#[test]
fn gae_matches_hand_computed_values_with_a_truncated_episode() {
    // One env, 3 steps, gamma 0.9, lambda 0.8. The first episode is truncated after
    // step 1 with V(final obs) = 2.0, so its reward was bootstrapped: 2 + 0.9 * 2.0.
    let mut b = RolloutBuffer::new(3, 1, 1);
    b.add(&[0.0], rl_research::envs::Actions::Discrete(&[0]), &[1.0], &[true], &[0.5], &[0.0]);
    b.add(&[0.0], rl_research::envs::Actions::Discrete(&[0]), &[2.0 + 0.9 * 2.0], &[false], &[1.0], &[0.0]);
    b.add(&[0.0], rl_research::envs::Actions::Discrete(&[0]), &[3.0], &[true], &[1.5], &[0.0]);
    b.compute_returns_and_advantage(&[4.0], &[false], 0.9, 0.8);
    // t=2: delta = 3 + 0.9*4.0 - 1.5 = 5.1 (last obs is mid-episode)
    // t=1: episode boundary: delta = 3.8 - 1.0 = 2.8, no bootstrap from t=2
    // t=0: delta = 1 + 0.9*1.0 - 0.5 = 1.4; A = 1.4 + 0.9*0.8*2.8 = 3.416
    let want_adv = [3.416, 2.8, 5.1];
    let want_ret = [3.916, 3.8, 6.6];
    for k in 0..3 {
        assert!(close(b.advantages[k], want_adv[k]), "A[{k}] = {} want {}", b.advantages[k], want_adv[k]);
        assert!(close(b.returns[k], want_ret[k]), "R[{k}] = {} want {}", b.returns[k], want_ret[k]);
    }
    // A terminal last step cuts the bootstrap from last_values.
    b.compute_returns_and_advantage(&[4.0], &[true], 0.9, 0.8);
    assert!(close(b.advantages[2], 1.5), "{}", b.advantages[2]);
}

#[test]
fn model_file_round_trip_and_bad_files() {
    let dir = crate::temp_dir("model_file");
    let device = rl_research::algos::device::cpu().device;
    let net = Mlp::new(
        &[4, 8, 2],
        Activation::Tanh,
        Init::Orthogonal { hidden_gain: 2f64.sqrt(), output_gain: 0.01 },
        &mut Rng::seed_from_u64(5),
        &device,
    );
    let weights = net.to_weights().unwrap();
    let config = Config::default();
    let metadata = rl_research::runs::ModelMetadata {
        format_version: 1,
        crate_version: "test".into(),
        algorithm: "ppo".into(),
        env_id: "CartPole-v1".into(),
        obs_dim: 4,
        obs_low: vec![-1.0; 4],
        obs_high: vec![1.0; 4],
        n_actions: 2,
        action_space: None,
        obs_normalization: None,
        policy_network: "actor".into(),
        policy_head: PolicyHead::Logits,
        networks: vec![rl_research::runs::model_file::NetworkInfo {
            name: "actor".into(),
            sizes: weights.sizes.clone(),
            activation: weights.activation,
        }],
        timesteps: 123,
        eval_mean_reward: Some(1.5),
        eval_std_reward: Some(0.5),
        saved_at_unix_secs: 0,
        config,
    };
    let model = SavedModel { metadata, networks: vec![("actor".into(), weights.clone())] };
    let path = dir.join("m.zip");
    model.save(&path).unwrap();
    let loaded = SavedModel::load(&path).unwrap();
    assert_eq!(loaded, model);
    // The reloaded policy computes exactly what the original network did.
    let obs = [0.1f32, -0.2, 0.03, 0.4, 1.0, 2.0, -3.0, 0.5];
    let original = Policy::new(net, PolicyHead::Logits, device.clone()).scores(&obs, 2).unwrap();
    let reloaded = runner::load_policy(&loaded).unwrap().scores(&obs, 2).unwrap();
    assert_eq!(original, reloaded);

    std::fs::write(dir.join("junk.zip"), b"not a zip").unwrap();
    let e = SavedModel::load(&dir.join("junk.zip")).unwrap_err().to_string();
    assert!(e.contains("junk.zip") && e.contains("not a zip"), "{e}");
    let e = SavedModel::load(&dir.join("missing.zip")).unwrap_err().to_string();
    assert!(e.contains("missing.zip"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}

fn args(a: &[&str]) -> Vec<String> {
    a.iter().map(|s| s.to_string()).collect()
}

#[test]
fn bad_cli_input_exits_2_with_a_clear_error() {
    let cases: &[(&[&str], &str)] = &[
        (&["algorithm.params.learning_rat=1e-3"], "algorithm.params.learning_rate"),
        (&["algorithm.params.learning_rate=-1"], "must be positive"),
        (&["algorithm.params.batch_size=1000"], "rollout size"),
        (&["env.n_envs=0"], "env.n_envs"),
        (&["env.id=Pong-v5"], "CartPole-v1"),
        (&["algorithm.name=ddpg"], "ppo, dqn, a2c, sac, td3"),
        // CartPole's discrete actions: SAC says which algorithms can train them.
        (&["algorithm.name=sac"], "trains Box action spaces only"),
        (&["experiment.name=../evil"], "experiment.name"),
        (&["experiment.name=a/b"], "experiment.name"),
        (&["experiment.total_timesteps=many"], "experiment.total_timesteps"),
        (&["--config", "/nonexistent/x.ron"], "/nonexistent/x.ron"),
    ];
    for (a, needle) in cases {
        let e = cli::config_from_args(&args(a)).unwrap_err().0;
        assert!(e.contains(needle), "{a:?}: error '{e}' should mention '{needle}'");
        let mut full = args(&["rl-research", "run"]);
        full.extend(args(a));
        assert_eq!(cli::main(full), 2, "{a:?}");
    }
    // Parse errors point at the line and column.
    let dir = crate::temp_dir("bad_config");
    let f = dir.join("bad.ron");
    std::fs::write(&f, "(\n  experiment: (nme: \"x\"),\n)").unwrap();
    let e = cli::config_from_args(&args(&["--config", f.to_str().unwrap()])).unwrap_err().0;
    assert!(e.contains("bad.ron:2:") && e.contains("nme"), "{e}");
    let y = dir.join("bad.yaml");
    std::fs::write(&y, "env:\n  id: CartPole-v1\n  n_env: 3\n").unwrap();
    let e = cli::config_from_args(&args(&["--config", y.to_str().unwrap()])).unwrap_err().0;
    assert!(e.contains("bad.yaml") && e.contains("n_env"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
    // Presets load.
    for preset in ["configs/cartpole_ppo.ron", "configs/cartpole_dqn.ron"] {
        let c = cli::config_from_args(&args(&["--config", preset])).unwrap();
        assert_eq!(c.env.id, "CartPole-v1");
    }
    assert_eq!(
        cli::config_from_args(&args(&["--config", "configs/cartpole_ppo.ron"])).unwrap(),
        Config {
            experiment: rl_research::config::ExperimentConfig { name: "cartpole_ppo".into(), ..Default::default() },
            ..Config::default()
        }
    );
}

fn small_ppo(runs_dir: &std::path::Path, name: &str) -> Config {
    let mut c = Config::default();
    c.experiment.runs_dir = runs_dir.to_path_buf();
    c.experiment.name = name.into();
    c.experiment.total_timesteps = 2048;
    c.experiment.eval_freq = 1024;
    c.experiment.n_eval_episodes = 3;
    c
}

#[test]
fn runs_layout_and_eval_command() {
    let dir = crate::temp_dir("layout");
    let config = small_ppo(&dir, "layout");
    let s = run_experiment(&config).unwrap();
    let run = &s.run_dir;
    assert_eq!(run.root, dir.join("layout"));
    for f in [run.best_model(), run.final_model(), run.config_yaml(), run.metrics_csv(), run.run_info()] {
        assert!(f.is_file(), "missing {}", f.display());
    }
    assert!(run.videos_dir().is_dir());
    #[cfg(feature = "h264")]
    {
        assert!(run.evaluation_video().is_file(), "videos/evaluation.mp4 missing");
        let eps = rl_research::runner::replay::load_episodes(&run.eval_episodes()).unwrap();
        assert_eq!(eps.len(), 1);
        assert!(eps[0].n_frames() >= 2);
    }
    // config.yaml is the resolved config and loads back as a base config.
    assert_eq!(Config::load(&run.config_yaml()).unwrap(), config);
    let info = RunInfo::read(run).unwrap();
    assert_eq!(info.status, RunStatus::Completed);
    assert_eq!(info.timesteps_done, 2048);
    assert!(!info.environment.cpu.is_empty());
    // Metrics: header, PPO's per-update metrics and the evaluations.
    let text = std::fs::read_to_string(run.metrics_csv()).unwrap();
    assert!(text.starts_with("timesteps,wall_secs,metric,value\n"));
    let rows = read_metrics(&run.metrics_csv()).unwrap();
    for m in [
        "rollout/ep_rew_mean",
        "rollout/ep_len_mean",
        "train/learning_rate",
        "train/policy_gradient_loss",
        "train/value_loss",
        "train/entropy_loss",
        "train/approx_kl",
        "train/clip_fraction",
        "train/explained_variance",
        "time/fps",
        "time/total_timesteps",
        "eval/mean_reward",
        "eval/std_reward",
    ] {
        assert!(rows.iter().any(|r| r.metric == m), "metric {m} missing");
    }
    let evals: Vec<_> = rows.iter().filter(|r| r.metric == "eval/mean_reward").map(|r| r.timesteps).collect();
    assert_eq!(evals, vec![1024, 2048]);
    // The best model carries its own metadata and is loadable without the config.
    let best = SavedModel::load(&run.best_model()).unwrap();
    assert_eq!(best.metadata.env_id, "CartPole-v1");
    assert_eq!(best.metadata.algorithm, "ppo");
    assert_eq!(Some(best.metadata.eval_mean_reward.unwrap()), s.best_mean_reward);
    // A second run with the same name gets a suffix instead of overwriting.
    let s2 = run_experiment(&config).unwrap();
    assert_eq!(s2.run_dir.root, dir.join("layout_1"));
    // `eval` on the run directory.
    assert_eq!(cli::main(args(&["rl-research", "eval", run.root.to_str().unwrap(), "--episodes", "2", "--json"])), 0);
    assert_eq!(cli::main(args(&["rl-research", "eval", dir.join("nope").to_str().unwrap()])), 2);
    // Custom metrics through the logger.
    let mut logger = rl_research::Logger::create(&RunDir::at(dir.join("layout_1")), info.clone()).unwrap();
    logger.log_metrics(9999, &[("custom/nested/value", 42.0)]).unwrap();
    logger.finish(RunStatus::Completed, None).unwrap();
    let rows = read_metrics(&dir.join("layout_1/logs/metrics.csv")).unwrap();
    assert!(rows.iter().any(|r| r.metric == "custom/nested/value" && r.value == 42.0));
    let _ = std::fs::remove_dir_all(&dir);
}

/// metrics.csv without wall-clock data (the wall_secs column, time/fps rows).
fn deterministic_rows(run: &RunDir) -> Vec<(u64, String, String)> {
    read_metrics(&run.metrics_csv())
        .unwrap()
        .into_iter()
        .filter(|r| r.metric != "time/fps" && !r.metric.starts_with("system/"))
        .map(|r| (r.timesteps, r.metric, format!("{:?}", r.value)))
        .collect()
}

#[test]
fn same_seed_same_metrics_ppo_and_dqn() {
    let dir = crate::temp_dir("determinism");
    let ppo = small_ppo(&dir, "ppo");
    let mut dqn = small_ppo(&dir, "dqn");
    dqn.env.n_envs = 2;
    let AlgorithmConfig::Dqn(mut p) = AlgorithmConfig::defaults_for("dqn").unwrap() else { unreachable!() };
    p.learning_starts = 500;
    p.train_freq = 64;
    p.gradient_steps = 16;
    p.net_arch = vec![32, 32];
    dqn.algorithm = AlgorithmConfig::Dqn(p);
    for config in [ppo, dqn] {
        let a = run_experiment(&config).unwrap();
        let b = run_experiment(&config).unwrap();
        let (ra, rb) = (deterministic_rows(&a.run_dir), deterministic_rows(&b.run_dir));
        assert!(ra.len() > 10, "{}: only {} rows", config.experiment.name, ra.len());
        assert_eq!(ra, rb, "{}: metrics differ between two runs with the same seed", config.experiment.name);
        let mut other = config.clone();
        other.experiment.seed = 1;
        let c = run_experiment(&other).unwrap();
        assert_ne!(ra, deterministic_rows(&c.run_dir), "{}: a different seed gave identical metrics", config.experiment.name);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn gui_without_a_display_prints_a_one_line_hint() {
    let dir = crate::temp_dir("nodisplay");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_rl-research"))
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .env("XDG_DATA_HOME", &dir)
        .output()
        .expect("run the binary");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("no display") && stderr.contains("rl-research run"), "{stderr}");
    // Started without a terminal (as here), the session is logged in the data directory.
    let log = std::fs::read_to_string(dir.join("rl-research/rl-research.log")).expect("a log file");
    assert!(log.contains("no display"), "{log}");

    let bad =
        std::process::Command::new(env!("CARGO_BIN_EXE_rl-research")).args(["gui", "--tab", "plots"]).output().expect("run the binary");
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--tab 'plots' is not a tab"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn diverging_training_fails_naming_the_metric_and_keeps_only_finite_models() {
    let dir = crate::temp_dir("nan_guard");
    // A Gaussian policy's NaN mean is caught before an action is drawn from it.
    let cases = [
        ("ppo", "CartPole-v1"),
        ("dqn", "CartPole-v1"),
        ("ppo", "Pendulum-v1"),
        ("a2c", "CartPole-v1"),
        ("sac", "Pendulum-v1"),
        ("td3", "Pendulum-v1"),
    ];
    for (algo, env_id) in cases {
        let mut config = Config::default();
        config.env.id = env_id.into();
        config.algorithm = AlgorithmConfig::defaults_for(algo).unwrap();
        if let AlgorithmConfig::Dqn(d) = &mut config.algorithm {
            d.learning_starts = 200;
            d.train_freq = 4;
            d.gradient_steps = 4;
        }
        config.algorithm = match config.algorithm {
            AlgorithmConfig::Ppo(mut p) => {
                p.learning_rate = rl_research::config::Schedule::Constant(1e30);
                p.max_grad_norm = 1e30;
                AlgorithmConfig::Ppo(p)
            }
            AlgorithmConfig::Dqn(mut d) => {
                d.learning_rate = rl_research::config::Schedule::Constant(1e30);
                d.max_grad_norm = 1e30;
                AlgorithmConfig::Dqn(d)
            }
            AlgorithmConfig::A2c(mut a) => {
                a.learning_rate = rl_research::config::Schedule::Constant(1e30);
                a.max_grad_norm = 1e30;
                AlgorithmConfig::A2c(a)
            }
            AlgorithmConfig::Sac(mut a) => {
                a.learning_rate = rl_research::config::Schedule::Constant(1e30);
                (a.learning_starts, a.net_arch, a.batch_size) = (200, vec![32, 32], 32);
                AlgorithmConfig::Sac(a)
            }
            AlgorithmConfig::Td3(mut a) => {
                a.learning_rate = rl_research::config::Schedule::Constant(1e30);
                (a.learning_starts, a.net_arch, a.batch_size) = (200, vec![32, 32], 32);
                AlgorithmConfig::Td3(a)
            }
        };
        config.env.n_envs = if matches!(algo, "dqn" | "sac" | "td3") { 1 } else { 8 };
        config.experiment.name = format!("diverge_{algo}_{env_id}");
        config.experiment.runs_dir = dir.clone();
        config.experiment.total_timesteps = 20_000;
        config.experiment.eval_freq = 512;
        config.experiment.checkpoint_freq = Some(64);
        config.experiment.n_eval_episodes = 2;
        config.experiment.video_episodes = 0;
        let err = run_experiment(&config).unwrap_err().to_string();
        println!("{algo}: {err}");
        assert!(err.contains("training diverged"), "{algo}: {err}");
        assert!(err.contains("at step"), "{algo}: {err}");
        let run = RunDir::at(dir.join(&config.experiment.name));
        let info = RunInfo::read(&run).unwrap();
        assert_eq!(info.status, RunStatus::Failed);
        assert!(info.error.as_deref().is_some_and(|e| e.contains("diverged")));
        assert!(info.timesteps_done < 20_000, "{algo} stopped early");
        // Whatever model files exist load (the loader rejects NaN weights).
        for m in [run.best_model(), run.final_model()] {
            if m.exists() {
                SavedModel::load(&m).unwrap_or_else(|e| panic!("{algo}: {} holds bad weights: {e}", m.display()));
            }
        }
        // The last good checkpoint is kept; none holds non-finite weights.
        assert!(!run.checkpoints().is_empty(), "{algo}: a checkpoint from before the divergence is kept");
        for c in run.checkpoints() {
            let ckpt = runner::Checkpoint::load(&c.path).unwrap();
            for n in &ckpt.training.agent.networks {
                n.weights.check().unwrap_or_else(|e| panic!("{algo}: checkpoint {} network {}: {e}", c.step, n.name));
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_run_directory_has_one_writer_at_a_time() {
    let dir = crate::temp_dir("lock");
    let mut config = Config::default();
    config.experiment.runs_dir = dir.clone();
    config.experiment.total_timesteps = 10_000_000;
    config.experiment.eval_freq = 2048;
    config.experiment.video_episodes = 0;
    let (tx, rx) = std::sync::mpsc::channel();
    let options = runner::RunOptions { events: Some(tx.into()), ..Default::default() };
    let stop = options.stop.clone();
    let training = std::thread::spawn(move || run_experiment_with(&config, options));
    // Wait until the run has a best model, then try to write into it from "another" writer.
    let mut run_dir = None;
    for event in rx.iter() {
        match event {
            runner::RunEvent::Started { run_dir: d, .. } => run_dir = Some(d),
            runner::RunEvent::Evaluated { .. } => break,
            _ => {}
        }
    }
    let run = RunDir::at(run_dir.unwrap());
    assert!(run.lock_file().exists(), "a training run holds logs/LOCK");
    let err = runner::write_run_video(&run, 1, None, &mut |_, _| {}).unwrap_err();
    assert!(err.contains("is in use") && err.contains("training"), "{err}");
    assert_eq!(cli::main(vec!["rl-research".into(), "video".into(), run.root.display().to_string()]), 1);
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let summary = training.join().unwrap().unwrap();
    assert_eq!(summary.status, RunStatus::Stopped);
    assert!(!run.lock_file().exists(), "released when the run ends");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_unwritable_runs_directory_is_a_clear_error() {
    // sysfs refuses new directories even to root (CI runs as root, so chmod would not do).
    let read_only = std::path::Path::new("/sys/kernel");
    let file = crate::temp_dir("runs_dir_is_a_file").join("a_file");
    std::fs::write(&file, "not a directory").unwrap();
    let mut cases = vec![(file, "File exists")];
    if read_only.is_dir() {
        cases.push((read_only.to_path_buf(), "not permitted"));
    }
    for (dir, why) in cases {
        let args: Vec<String> = ["rl-research", "run", &format!("experiment.runs_dir={}", dir.display()), "experiment.total_timesteps=256"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(cli::main(args), 1, "{}", dir.display());
        let mut config = Config::default();
        config.experiment.runs_dir = dir.clone();
        let e = run_experiment(&config).unwrap_err().to_string();
        assert!(e.contains(why) && e.contains("experiment.runs_dir"), "{}: {e}", dir.display());
    }
}

#[test]
fn a_run_written_by_an_external_loop_is_listed_like_any_other() {
    // What the Python package's ExperimentLogger does around a user's own loop.
    let dir = crate::temp_dir("external-run");
    let mut config = rl_research::Config::default();
    config.experiment.runs_dir = dir.clone();
    config.experiment.name = "my_loop".into();
    let mut run = rl_research::runner::external::ExternalRun::start(&config, Some("Pendulum-v1"), "custom", None).unwrap();
    for step in 1..=3u64 {
        run.log_metrics(
            step * 100,
            &[("train/loss".into(), 1.0 / step as f64), ("eval/mean_reward".into(), [5.0, 9.0, 7.0][step as usize - 1])],
        )
        .unwrap();
    }
    let root = run.run_dir().root.clone();
    assert!(root.join("logs/LOCK").exists(), "one writer while it runs");
    run.finish(rl_research::RunStatus::Completed, 300, None).unwrap();
    let rows = rl_research::app::runs_scan::scan(&dir, &mut Default::default());
    assert_eq!(rows.len(), 1);
    let info = rows[0].info.as_ref().unwrap();
    assert_eq!((info.algorithm.as_str(), info.env_id.as_str(), info.status), ("custom", "Pendulum-v1", rl_research::RunStatus::Completed));
    assert_eq!((info.timesteps_done, info.best_eval_mean_reward), (300, Some(9.0)));
    assert_eq!(rl_research::runs::logger::read_metrics(&root.join("logs/metrics.csv")).unwrap().len(), 6);
    let _ = std::fs::remove_dir_all(&dir);
}
