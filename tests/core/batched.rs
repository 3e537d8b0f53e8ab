//! Seeds batched into one computation (experiment.batch_seeds=true; auto on a GPU):
//! seed k trained in a batch is seed k trained alone, bit for bit on the CPU —
//! every logged metric and every weight of its final model and checkpoint.

use rl_research::config::BatchSeeds;
use rl_research::runner::group::run_group;
use rl_research::runs::group::{GroupDir, GroupInfo};
use rl_research::runs::logger::read_metrics;
use rl_research::{Config, RunDir, SavedModel, run_experiment};
use std::path::Path;

/// Every metric row but the clock-dependent ones (fps, CPU and memory use).
fn deterministic_metrics(run: &Path) -> Vec<(u64, String, u64)> {
    read_metrics(&run.join("logs/metrics.csv"))
        .unwrap()
        .into_iter()
        .filter(|r| !r.metric.starts_with("system/") && r.metric != "time/fps")
        .map(|r| (r.timesteps, r.metric, r.value.to_bits()))
        .collect()
}

fn final_weights(run: &Path) -> Vec<(String, Vec<u32>)> {
    let model = SavedModel::load(&run.join("models/final_model.zip")).unwrap();
    model
        .networks
        .iter()
        .map(|(n, w)| (n.clone(), w.layers.iter().flat_map(|l| l.weight.iter().chain(&l.bias)).map(|v| v.to_bits()).collect()))
        .collect()
}

/// `batched` (what it is: `what`) and `alone` logged the same deterministic
/// metrics and ended with the same weights, bit for bit.
fn assert_same_run(batched: &Path, alone: &Path, what: &str) {
    let (a, b) = (deterministic_metrics(batched), deterministic_metrics(alone));
    assert!(a.len() > 10, "too few metrics to compare: {}", a.len());
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x, y, "{what} differs from it alone (metric at step {})", x.0);
    }
    assert_eq!(a.len(), b.len());
    assert_eq!(final_weights(batched), final_weights(alone), "final weights differ");
}

fn small(mut config: Config, dir: &Path, name: &str) -> Config {
    config.experiment.runs_dir = dir.to_path_buf();
    config.experiment.name = name.into();
    config.experiment.video_episodes = 0;
    config.experiment.n_eval_episodes = 2;
    config.logging.system_metrics_secs = 0.0;
    config
}

/// Trains seeds [first, first+1, first+2] as one batch and `first + 1` alone; both must agree exactly.
fn check_batch_equals_alone(config: Config, dir: &Path, first: u64) {
    let mut group = small(config.clone(), dir, "group");
    group.experiment.seed = first;
    group.experiment.n_seeds = Some(3);
    group.experiment.batch_seeds = BatchSeeds::On;
    let summary = run_group(&group, Default::default()).unwrap();
    let info = GroupInfo::read(&GroupDir::at(&summary.group.root)).unwrap();
    assert!(info.batched, "experiment.batch_seeds=true trains the seeds batched");

    let mut alone = small(config, dir, "alone");
    alone.experiment.seed = first + 1;
    let single = run_experiment(&alone).unwrap();

    let in_batch = dir.join("group").join(format!("seed_{}", first + 1));
    assert_same_run(&in_batch, &single.run_dir.root, &format!("seed {} in a batch of 3", first + 1));
    // Its newest checkpoint is a one-agent checkpoint, the same as alone.
    let (ca, cb) = (RunDir::at(&in_batch).checkpoints(), single.run_dir.checkpoints());
    assert_eq!(ca.len(), cb.len());
    let (la, lb) = (ca.last().unwrap(), cb.last().unwrap());
    let load = |p: &Path| rl_research::runner::Checkpoint::load(p).unwrap().training;
    assert_eq!(load(&la.path), load(&lb.path), "checkpoints differ");
    // The other seeds of the batch are different runs.
    assert_ne!(final_weights(&dir.join("group").join(format!("seed_{first}"))), final_weights(&in_batch));
}

#[test]
fn ppo_seed_in_a_batch_is_bit_for_bit_the_seed_alone() {
    let dir = crate::temp_dir("batched-ppo");
    let mut config = Config::default();
    config.experiment.total_timesteps = 4096;
    config.experiment.eval_freq = 2048;
    check_batch_equals_alone(config, &dir, 11);
}

/// A Gaussian policy with gSDE on normalized observations and rewards: the
/// exploration matrices, log_std and each seed's normalizer stay its own.
#[test]
fn gaussian_ppo_seed_in_a_batch_is_bit_for_bit_the_seed_alone() {
    let dir = crate::temp_dir("batched-gaussian");
    let mut config = rl_research::config::builtin_preset("pendulum_ppo").unwrap();
    config.experiment.total_timesteps = 1024;
    config.experiment.eval_freq = 512;
    config.env.n_envs = 2;
    config.env.normalize_obs = true;
    config.env.normalize_reward = true;
    if let rl_research::config::AlgorithmConfig::Ppo(p) = &mut config.algorithm {
        p.n_steps = 128;
        p.n_epochs = 2;
    }
    check_batch_equals_alone(config, &dir, 5);
}

#[test]
fn dqn_seed_in_a_batch_is_bit_for_bit_the_seed_alone() {
    let dir = crate::temp_dir("batched-dqn");
    let mut config = rl_research::config::builtin_preset("cartpole_dqn").unwrap();
    config.experiment.total_timesteps = 3000;
    config.experiment.eval_freq = 1000;
    if let rl_research::config::AlgorithmConfig::Dqn(d) = &mut config.algorithm {
        d.learning_starts = 500;
        d.train_freq = 64;
        d.gradient_steps = 16;
        d.exploration_fraction = 0.5;
    }
    check_batch_equals_alone(config, &dir, 3);
}

#[test]
fn batch_seeds_takes_true_false_or_auto_and_auto_batches_ppo_but_not_dqn_on_the_cpu() {
    use rl_research::config::{apply_overrides, overrides::parse_override};
    let set = |v: &str| apply_overrides(&Config::default(), &[parse_override(&format!("experiment.batch_seeds={v}")).unwrap()]);
    assert_eq!(set("true").unwrap().experiment.batch_seeds, BatchSeeds::On);
    assert_eq!(set("False").unwrap().experiment.batch_seeds, BatchSeeds::Off);
    assert_eq!(set("auto").unwrap().experiment.batch_seeds, BatchSeeds::Auto);
    let err = set("sometimes").unwrap_err().to_string();
    assert!(err.contains("experiment.batch_seeds") && err.contains("true, false or auto"), "{err}");
    // The default (auto) on the CPU, where each measured faster: PPO batched
    // (one batch per core), DQN one thread per seed.
    let dir = crate::temp_dir("batched-auto");
    let mut group = small(Config::default(), &dir, "auto");
    group.experiment.total_timesteps = 512;
    group.experiment.eval_freq = 512;
    group.experiment.n_seeds = Some(4);
    assert_eq!(group.experiment.batch_seeds, BatchSeeds::Auto);
    let summary = run_group(&group, Default::default()).unwrap();
    let info = GroupInfo::read(&GroupDir::at(&summary.group.root)).unwrap();
    assert!(info.batched, "auto on the CPU batches PPO seeds");
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    assert_eq!(info.parallel, cores.min(4), "one batch per core");
    assert!(summary.seeds.iter().all(|s| s.info.as_ref().is_some_and(|i| i.status == rl_research::runs::RunStatus::Completed)));
    let mut dqn = small(rl_research::config::builtin_preset("cartpole_dqn").unwrap(), &dir, "auto_dqn");
    dqn.experiment.total_timesteps = 300;
    dqn.experiment.eval_freq = 300;
    dqn.experiment.n_seeds = Some(2);
    let info = GroupInfo::read(&GroupDir::at(&run_group(&dqn, Default::default()).unwrap().group.root)).unwrap();
    assert!(!info.batched, "auto on the CPU trains DQN seeds one thread each");
    // A saved config says auto the way a user would write it, and reads back.
    let yaml = std::fs::read_to_string(summary.seeds[0].run.root.join("configs/config.yaml")).unwrap();
    assert!(yaml.contains("batch_seeds: auto"), "{yaml}");
}

/// Trains `configs` as one batch (sweep trials differing in scalars only) and
/// `configs[1]` alone; trial 1 must be the same run bit for bit.
fn check_trials_batch_equals_alone(configs: Vec<Config>, dir: &Path) {
    let configs: Vec<Config> = configs.into_iter().enumerate().map(|(i, c)| small(c, dir, &format!("trial_{i}"))).collect();
    assert!(configs.windows(2).all(|w| w[0].batch_key() == w[1].batch_key()), "the trials share shapes");
    let options: Vec<rl_research::runner::RunOptions> = configs.iter().map(|_| Default::default()).collect();
    let batch = rl_research::runner::batch::train_runs(&configs, &options);
    assert_eq!(batch.apart, None, "the trials train as one batch");
    let roots: Vec<std::path::PathBuf> = batch.results.into_iter().map(|r| r.unwrap().run_dir.root).collect();
    let alone = run_experiment(&small(configs[1].clone(), dir, "alone")).unwrap().run_dir.root;
    assert_same_run(&roots[1], &alone, "trial 1 in a batch");
    // Each trial trained with its own hyperparameters.
    let lr_of = |run: &Path| {
        read_metrics(&run.join("logs/metrics.csv")).unwrap().into_iter().find(|r| r.metric == "train/learning_rate").map(|r| r.value)
    };
    let lrs: Vec<Option<f64>> = roots.iter().map(|r| lr_of(r)).collect();
    assert!(lrs[0] != lrs[1] && lrs[1] != lrs[2], "{lrs:?}");
    assert_ne!(final_weights(&roots[0]), final_weights(&roots[1]));
}

#[test]
fn ppo_trials_differing_in_scalars_batch_and_each_is_bit_for_bit_alone() {
    use rl_research::config::{AlgorithmConfig, Schedule};
    let dir = crate::temp_dir("batched-trials-ppo");
    let mut base = Config::default();
    base.experiment.total_timesteps = 4096;
    base.experiment.eval_freq = 2048;
    let trial = |lr: f64, clip: f64, ent: f64, gamma: f64, gae: f64, vf: f64, max_norm: f64| {
        let mut c = base.clone();
        if let AlgorithmConfig::Ppo(p) = &mut c.algorithm {
            p.learning_rate = Schedule::Linear { initial: lr };
            p.clip_range = Schedule::Constant(clip);
            p.ent_coef = ent;
            p.gamma = gamma;
            p.gae_lambda = gae;
            p.vf_coef = vf;
            p.max_grad_norm = max_norm;
        }
        c
    };
    check_trials_batch_equals_alone(
        vec![
            trial(1e-3, 0.2, 0.0, 0.98, 0.8, 0.5, 0.5),
            trial(3e-4, 0.1, 0.01, 0.99, 0.95, 0.25, 1.0),
            trial(2e-3, 0.3, 0.001, 0.95, 0.9, 1.0, 0.3),
        ],
        &dir,
    );
}

/// A2C (RMSprop) trials differing in scalars, one of them a Gaussian policy
/// with gSDE on normalized Pendulum: each trial in the batch is its run alone.
#[test]
fn a2c_trials_differing_in_scalars_batch_and_each_is_bit_for_bit_alone() {
    use rl_research::config::{AlgorithmConfig, Schedule};
    for preset in ["cartpole_a2c", "pendulum_a2c"] {
        let dir = crate::temp_dir(&format!("batched-trials-{preset}"));
        let mut base = rl_research::config::builtin_preset(preset).unwrap();
        base.experiment.total_timesteps = 2000;
        base.experiment.eval_freq = 1000;
        base.env.n_envs = 4;
        let trial = |lr: f64, ent: f64, gamma: f64, vf: f64| {
            let mut c = base.clone();
            if let AlgorithmConfig::A2c(p) = &mut c.algorithm {
                p.learning_rate = Schedule::Linear { initial: lr };
                p.ent_coef = ent;
                p.gamma = gamma;
                p.vf_coef = vf;
            }
            c
        };
        check_trials_batch_equals_alone(
            vec![trial(7e-4, 0.0, 0.99, 0.5), trial(1e-3, 0.01, 0.95, 0.25), trial(3e-4, 0.001, 0.9, 0.4)],
            &dir,
        );
    }
}

/// A2C's seeds batched are each the seed alone (checkpoint included).
#[test]
fn a2c_seed_in_a_batch_is_bit_for_bit_the_seed_alone() {
    let dir = crate::temp_dir("batched-a2c");
    let mut config = rl_research::config::builtin_preset("pendulum_a2c").unwrap();
    config.experiment.total_timesteps = 1024;
    config.experiment.eval_freq = 512;
    config.env.n_envs = 2;
    check_batch_equals_alone(config, &dir, 2);
}

/// SAC's (learned entropy coefficient; gSDE) and TD3's (normal noise) seeds
/// batched are each the seed alone (checkpoint with replay buffer included).
#[test]
fn sac_and_td3_seed_in_a_batch_is_bit_for_bit_the_seed_alone() {
    for (preset, extra) in [
        ("pendulum_sac", &["algorithm.params.learning_starts=100"][..]),
        ("mountaincarcontinuous_sac", &["algorithm.params.train_freq=8", "algorithm.params.gradient_steps=4"][..]),
        ("pendulum_td3", &["algorithm.params.learning_starts=100", "algorithm.params.gradient_steps=3"][..]),
    ] {
        let dir = crate::temp_dir(&format!("batched-{preset}"));
        let config = off_policy_small(preset, extra);
        check_batch_equals_alone(config, &dir, 4);
    }
}

/// A small off-policy config from a preset: narrow networks, small batches and buffer, 600 steps.
fn off_policy_small(preset: &str, extra: &[&str]) -> Config {
    let base = rl_research::config::builtin_preset(preset).unwrap();
    let mut overrides = vec![
        "algorithm.params.buffer_size=1000",
        "algorithm.params.batch_size=32",
        "algorithm.params.net_arch=[32,32]",
        "experiment.total_timesteps=600",
        "experiment.eval_freq=300",
    ];
    overrides.extend_from_slice(extra);
    let parsed: Vec<_> = overrides.iter().map(|o| rl_research::config::overrides::parse_override(o).unwrap()).collect();
    rl_research::config::apply_overrides(&base, &parsed).unwrap()
}

/// SAC and TD3 trials differing in every per-agent scalar: each trial in the batch is its run alone.
#[test]
fn sac_and_td3_trials_differing_in_scalars_batch_and_each_is_bit_for_bit_alone() {
    use rl_research::config::{AlgorithmConfig, Schedule};
    let dir = crate::temp_dir("batched-trials-sac");
    let base = off_policy_small("pendulum_sac", &["algorithm.params.learning_starts=100"]);
    let trial = |lr: f64, tau: f64, gamma: f64| {
        let mut c = base.clone();
        if let AlgorithmConfig::Sac(p) = &mut c.algorithm {
            p.learning_rate = Schedule::Linear { initial: lr };
            p.tau = tau;
            p.gamma = gamma;
        }
        c
    };
    check_trials_batch_equals_alone(vec![trial(1e-3, 0.005, 0.99), trial(3e-4, 0.02, 0.95), trial(2e-3, 0.01, 0.9)], &dir);

    let dir = crate::temp_dir("batched-trials-td3");
    let base = off_policy_small("pendulum_td3", &["algorithm.params.learning_starts=100"]);
    let trial = |lr: f64, tau: f64, noise: f64, clip: f64, std: f64| {
        let mut c = base.clone();
        if let AlgorithmConfig::Td3(p) = &mut c.algorithm {
            p.learning_rate = Schedule::Constant(lr);
            p.tau = tau;
            p.target_policy_noise = noise;
            p.target_noise_clip = clip;
            p.noise_std = std;
        }
        c
    };
    check_trials_batch_equals_alone(
        vec![trial(1e-3, 0.005, 0.2, 0.5, 0.1), trial(5e-4, 0.01, 0.1, 0.3, 0.3), trial(2e-3, 0.02, 0.3, 0.2, 0.2)],
        &dir,
    );
}

#[test]
fn dqn_trials_differing_in_scalars_batch_and_each_is_bit_for_bit_alone() {
    use rl_research::config::{AlgorithmConfig, Schedule};
    let dir = crate::temp_dir("batched-trials-dqn");
    let mut base = rl_research::config::builtin_preset("cartpole_dqn").unwrap();
    base.experiment.total_timesteps = 3000;
    base.experiment.eval_freq = 1000;
    let trial = |lr: f64, gamma: f64, final_eps: f64, fraction: f64, max_norm: f64| {
        let mut c = base.clone();
        if let AlgorithmConfig::Dqn(d) = &mut c.algorithm {
            d.learning_starts = 500;
            d.train_freq = 64;
            d.gradient_steps = 16;
            d.learning_rate = Schedule::Constant(lr);
            d.gamma = gamma;
            d.exploration_final_eps = final_eps;
            d.exploration_fraction = fraction;
            d.max_grad_norm = max_norm;
        }
        c
    };
    check_trials_batch_equals_alone(
        vec![trial(2.3e-3, 0.99, 0.04, 0.5, 10.0), trial(1e-3, 0.95, 0.1, 0.3, 5.0), trial(5e-4, 0.9, 0.02, 0.6, 1.0)],
        &dir,
    );
}

#[test]
fn trials_differing_in_shapes_train_apart_and_say_why() {
    use rl_research::config::AlgorithmConfig;
    let dir = crate::temp_dir("batched-trials-apart");
    let mut a = small(Config::default(), &dir, "narrow");
    a.experiment.total_timesteps = 256;
    a.experiment.eval_freq = 256;
    let mut b = small(a.clone(), &dir, "wide");
    if let AlgorithmConfig::Ppo(p) = &mut b.algorithm {
        p.net_arch = vec![32];
    }
    let out = rl_research::runner::batch::train_runs(&[a, b], &[Default::default(), Default::default()]);
    let why = out.apart.expect("different shapes cannot share a batch");
    assert!(why.contains("algorithm.params differ in more than scalars"), "{why}");
    assert!(out.results.iter().all(|r| r.is_ok()), "both still train, one after another");
}
