//! Policy evaluation, SB3's `evaluate_policy`: deterministic episodes, mean and
//! std of the undiscounted return.

use crate::algos::Policy;
use crate::envs::{ActionBatch, ActionSpace, Env};

/// Per-episode results of an evaluation.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EvalResult {
    pub returns: Vec<f64>,
    pub lengths: Vec<u32>,
}

impl EvalResult {
    pub fn mean_std(&self) -> (f64, f64) {
        mean_std(&self.returns)
    }
    pub fn mean_length(&self) -> f64 {
        self.lengths.iter().map(|&l| l as f64).sum::<f64>() / self.lengths.len().max(1) as f64
    }
}

/// Population mean and std (numpy's default, as SB3 reports).
pub fn mean_std(xs: &[f64]) -> (f64, f64) {
    if xs.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
    (mean, var.sqrt())
}

/// Runs `n_episodes` greedy episodes on `env` one after another (each starts
/// with `env.reset(None)`: seed the env first for reproducible starts) and
/// returns the mean and std of the returns.
pub fn evaluate_policy(policy: &Policy, env: &mut dyn Env, n_episodes: usize) -> Result<(f64, f64), String> {
    Ok(evaluate_episodes(policy, env, n_episodes)?.mean_std())
}

pub fn evaluate_episodes(policy: &Policy, env: &mut dyn Env, n_episodes: usize) -> Result<EvalResult, String> {
    evaluate_episodes_from(policy, env, n_episodes, None)
}

/// [`evaluate_episodes`] whose first episode starts with `reset(first_seed)`,
/// as a Gymnasium loop does with `env.reset(seed=s)` and then `env.reset()`.
pub fn evaluate_episodes_from(
    policy: &Policy,
    env: &mut dyn Env,
    n_episodes: usize,
    first_seed: Option<u64>,
) -> Result<EvalResult, String> {
    let _fp = crate::fpmode::FlushDenormals::enter();
    let space = check_shapes(policy, env)?;
    let mut obs = vec![0.0f32; env.observation_space().dim()];
    let mut result = EvalResult::default();
    for i in 0..n_episodes {
        env.reset(if i == 0 { first_seed } else { None }, &mut obs);
        let (mut ret, mut len) = (0.0, 0u32);
        loop {
            let mut actions = policy.act_deterministic(&obs, 1)?;
            clip_batch(&space, &mut actions);
            let out = env.step(actions.get(0), &mut obs);
            ret += out.reward;
            len += 1;
            if out.terminated || out.truncated {
                break;
            }
        }
        if let Some(fault) = env.fault() {
            return Err(fault);
        }
        result.returns.push(ret);
        result.lengths.push(len);
    }
    Ok(result)
}

/// One episode per env, all stepped together so the policy runs once per step
/// on a batch (much cheaper than one call per env). Env `i` is reset with `seed + i`.
pub fn evaluate_batched(policy: &Policy, envs: &mut [Box<dyn Env>], seed: u64) -> Result<EvalResult, String> {
    let _fp = crate::fpmode::FlushDenormals::enter();
    let n = envs.len();
    let Some(first) = envs.first() else { return Ok(EvalResult::default()) };
    let space = check_shapes(policy, first.as_ref())?;
    let d = first.observation_space().dim();
    let mut obs = vec![0.0f32; n * d];
    for (i, env) in envs.iter_mut().enumerate() {
        env.reset(Some(seed.wrapping_add(i as u64)), &mut obs[i * d..(i + 1) * d]);
    }
    let mut returns = vec![0.0; n];
    let mut lengths = vec![0u32; n];
    let mut active: Vec<usize> = (0..n).collect();
    let mut batch = Vec::with_capacity(n * d);
    while !active.is_empty() {
        batch.clear();
        for &i in &active {
            batch.extend_from_slice(&obs[i * d..(i + 1) * d]);
        }
        let mut actions = policy.act_deterministic(&batch, active.len())?;
        clip_batch(&space, &mut actions);
        let mut still = Vec::with_capacity(active.len());
        for (j, &i) in active.iter().enumerate() {
            let out = envs[i].step(actions.get(j), &mut obs[i * d..(i + 1) * d]);
            returns[i] += out.reward;
            lengths[i] += 1;
            if !(out.terminated || out.truncated) {
                still.push(i);
            }
        }
        active = still;
    }
    if let Some(fault) = envs.iter().find_map(|e| e.fault()) {
        return Err(fault);
    }
    Ok(EvalResult { returns, lengths })
}

/// Checks that `policy` fits `env`'s spaces and returns the action space.
pub(crate) fn check_shapes(policy: &Policy, env: &dyn Env) -> Result<ActionSpace, String> {
    let (d, space) = (env.observation_space().dim(), env.action_space());
    if policy.obs_dim() != d {
        return Err(format!("the policy takes {} observations, but {} has {d}", policy.obs_dim(), env.id()));
    }
    policy.check_space(&space).map_err(|e| format!("{e} ({})", env.id()))?;
    Ok(space)
}

/// Keeps continuous actions inside the env's bounds (a discrete argmax always is).
pub(crate) fn clip_batch(space: &ActionSpace, actions: &mut ActionBatch) {
    if let ActionBatch::Continuous { values, dim } = actions {
        for v in values.chunks_mut((*dim).max(1)) {
            space.clip_into(v);
        }
    }
}
