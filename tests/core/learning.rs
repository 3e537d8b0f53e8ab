//! Learning checks with the real presets and fixed seeds (step budgets, not timings).

use rl_research::cli::config_from_args;
use rl_research::run_experiment;

fn learn(preset: &str, name: &str) -> (f64, u64) {
    learn_with(preset, name, &[])
}

fn learn_with(preset: &str, name: &str, overrides: &[&str]) -> (f64, u64) {
    let dir = crate::temp_dir(name);
    let mut args = vec!["--config".to_string(), preset.to_string(), format!("experiment.runs_dir={}", dir.display())];
    args.extend(overrides.iter().map(|o| o.to_string()));
    let config = config_from_args(&args).unwrap();
    let s = run_experiment(&config).unwrap();
    let evals: Vec<String> = s.evaluations.iter().map(|e| format!("{}:{:.1}", e.timesteps, e.mean_reward)).collect();
    println!("{preset}: evaluations {}", evals.join(" "));
    let _ = std::fs::remove_dir_all(&dir);
    (s.best_mean_reward.unwrap_or(f64::NAN), s.timesteps)
}

#[test]
fn ppo_default_config_solves_cartpole_within_1e5_steps() {
    let (best, steps) = learn("configs/cartpole_ppo.ron", "learn_ppo");
    assert_eq!(steps, 100_096); // 391 rollouts of 256 steps, as SB3
    assert!(best >= 475.0, "PPO best eval mean {best} < 475");
}

#[test]
fn dqn_preset_solves_cartpole_within_5e4_steps() {
    let (best, steps) = learn("configs/cartpole_dqn.ron", "learn_dqn");
    assert_eq!(steps, 50_000);
    assert!(best >= 475.0, "DQN best eval mean {best} < 475");
}

/// Gaussian PPO with gSDE swings Pendulum up within a third of the preset's budget
/// (a random policy scores about -1200).
#[test]
fn ppo_gsde_preset_swings_pendulum_up_within_4e4_steps() {
    let (best, steps) =
        learn_with("configs/pendulum_ppo.ron", "learn_pendulum", &["experiment.total_timesteps=40000", "experiment.video_episodes=0"]);
    assert_eq!(steps, 40_960);
    assert!(best >= -400.0, "PPO Pendulum best eval mean {best} < -400");
}
