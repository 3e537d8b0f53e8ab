//! The descriptors of the off-policy actor-critic algorithms (SAC, TD3): see
//! `algorithms.rs` for what a descriptor says.

use super::algorithms::{
    ACTIVATION, AlgorithmSpec, Field, Key, KeyRole, LOG_STD_INIT, NET_ARCH, SDE_SAMPLE_FREQ, UNIT, USE_SDE, check_replay, check_sde, count,
    key, mlp_flops, real,
};
use super::{AlgorithmConfig, Config, ConfigError, SacParams, Td3Params, check};
use crate::envs::ActionKind;

const LEARNING_RATE: Key = key("learning_rate", KeyRole::Scalar, Field::Schedule);
const BUFFER_SIZE: Key = key("buffer_size", KeyRole::Shape("the checkpoint holds a replay buffer of this size"), count(1, " transitions"));
const LEARNING_STARTS: Key = key("learning_starts", KeyRole::Shared, count(0, " steps"));
const BATCH_SIZE: Key = key("batch_size", KeyRole::Shared, count(1, ""));
const TAU: Key = key("tau", KeyRole::Scalar, real(0.0, true, Some(1.0)));
const GAMMA: Key = key("gamma", KeyRole::Scalar, UNIT);
const TRAIN_FREQ: Key = key("train_freq", KeyRole::Shared, count(1, " steps"));
// -1: as many as env steps collected (checked in check_replay).
const GRADIENT_STEPS: Key = key("gradient_steps", KeyRole::Shared, count(-1, ""));

/// FLOPs of an actor-critic off-policy run's gradient steps: per sample, the
/// actor forward on obs and next obs, twin critics and twin targets forward,
/// backward of the critics and of the actor through one or two critics.
fn actor_critic_flops(
    net_arch: &[usize],
    actor_outputs: usize,
    (train_freq, gradient_steps, learning_starts, batch_size): (u64, i64, u64, usize),
    actor_share: f64,
    n_envs: usize,
    obs_dim: usize,
    n_actions: usize,
    timesteps: u64,
) -> f64 {
    let actor = mlp_flops(&[vec![obs_dim], net_arch.to_vec(), vec![actor_outputs]].concat());
    let critic = mlp_flops(&[vec![obs_dim + n_actions], net_arch.to_vec(), vec![1]].concat());
    let per_phase = train_freq * n_envs as u64;
    let phases = (timesteps.saturating_sub(learning_starts) / per_phase) as f64;
    let steps = if gradient_steps < 0 { phases * per_phase as f64 } else { phases * gradient_steps as f64 };
    // next-obs actor + 2 target critics; 2 critics fwd+bwd; actor fwd+bwd through the critic(s).
    let per_sample = actor + 2.0 * critic + 2.0 * 3.0 * critic + actor_share * 3.0 * (actor + 2.0 * critic);
    steps * batch_size as f64 * per_sample
}

fn sac_flops(algorithm: &AlgorithmConfig, n_envs: usize, obs_dim: usize, n_actions: usize, timesteps: u64) -> f64 {
    let AlgorithmConfig::Sac(p) = algorithm else { return f64::NAN };
    let phase = (p.train_freq, p.gradient_steps, p.learning_starts, p.batch_size);
    actor_critic_flops(&p.net_arch, 2 * n_actions, phase, 1.0, n_envs, obs_dim, n_actions, timesteps)
}

fn td3_flops(algorithm: &AlgorithmConfig, n_envs: usize, obs_dim: usize, n_actions: usize, timesteps: u64) -> f64 {
    let AlgorithmConfig::Td3(p) = algorithm else { return f64::NAN };
    let phase = (p.train_freq, p.gradient_steps, p.learning_starts, p.batch_size);
    // The actor learns through one critic, every policy_delay-th step.
    actor_critic_flops(&p.net_arch, n_actions, phase, 0.5 / p.policy_delay.max(1) as f64, n_envs, obs_dim, n_actions, timesteps)
}

pub const SAC: AlgorithmSpec = AlgorithmSpec {
    name: "sac",
    summary: "Soft Actor-Critic (off-policy, entropy-regularised, twin critics; Box actions)",
    action_kinds: &[ActionKind::Box],
    keys: &[
        LEARNING_RATE,
        BUFFER_SIZE,
        LEARNING_STARTS,
        BATCH_SIZE,
        TAU,
        GAMMA,
        TRAIN_FREQ,
        GRADIENT_STEPS,
        // A learned coefficient is a network of its own (with optimizer state) that a fixed one has not.
        key("ent_coef", KeyRole::Shape("a learned coefficient is a trained parameter a fixed one has not"), Field::EntCoef),
        key("target_update_interval", KeyRole::Shared, count(1, " steps")),
        NET_ARCH,
        ACTIVATION,
        USE_SDE,
        SDE_SAMPLE_FREQ,
        LOG_STD_INIT,
    ],
    defaults: || AlgorithmConfig::Sac(SacParams::default()),
    // bench --seeds: 3 seeds batched and one thread each took the same time (wide layers run near the matmul rate alone).
    batch_seeds_on_cpu: false,
    env_normalization: false,
    validate: validate_sac,
    for_timing: |a| {
        if let AlgorithmConfig::Sac(p) = a {
            p.learning_starts = p.learning_starts.min(p.batch_size as u64);
        }
    },
    bench_preset: Some("pendulum_sac"),
    bench_quick_timesteps: 2_000,
    training_flops: sac_flops,
};

pub const TD3: AlgorithmSpec = AlgorithmSpec {
    name: "td3",
    summary: "Twin Delayed DDPG (off-policy, deterministic actor, twin critics; Box actions)",
    action_kinds: &[ActionKind::Box],
    keys: &[
        LEARNING_RATE,
        BUFFER_SIZE,
        LEARNING_STARTS,
        BATCH_SIZE,
        TAU,
        GAMMA,
        TRAIN_FREQ,
        GRADIENT_STEPS,
        key("policy_delay", KeyRole::Shared, count(1, " critic updates")),
        key("target_policy_noise", KeyRole::Scalar, real(0.0, false, None)),
        key("target_noise_clip", KeyRole::Scalar, real(0.0, false, None)),
        key("noise_type", KeyRole::Shared, Field::Choice(&["none", "normal", "ornstein-uhlenbeck"])),
        key("noise_std", KeyRole::Scalar, real(0.0, false, None)),
        NET_ARCH,
        ACTIVATION,
    ],
    defaults: || AlgorithmConfig::Td3(Td3Params::default()),
    // bench --seeds: 3 seeds batched and one thread each took the same time (wide layers run near the matmul rate alone).
    batch_seeds_on_cpu: false,
    env_normalization: false,
    validate: validate_td3,
    for_timing: |a| {
        if let AlgorithmConfig::Td3(p) = a {
            p.learning_starts = p.learning_starts.min(p.batch_size as u64);
        }
    },
    bench_preset: Some("pendulum_td3"),
    // The preset's learning_starts is 10000: 2000 updates after it.
    bench_quick_timesteps: 12_000,
    training_flops: td3_flops,
};

fn validate_sac(algorithm: &AlgorithmConfig, config: &Config) -> Result<(), ConfigError> {
    let AlgorithmConfig::Sac(p) = algorithm else { return Ok(()) };
    check_replay(p.buffer_size, p.batch_size, p.gradient_steps)?;
    check_sde(p.use_sde, p.sde_sample_freq, config)
}

fn validate_td3(algorithm: &AlgorithmConfig, _config: &Config) -> Result<(), ConfigError> {
    let AlgorithmConfig::Td3(p) = algorithm else { return Ok(()) };
    check_replay(p.buffer_size, p.batch_size, p.gradient_steps)?;
    check(p.noise_std.is_finite(), "algorithm.params.noise_std", "must be a finite number")?;
    Ok(())
}
