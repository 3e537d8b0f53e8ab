//! Env stepping alone for `bench --vs-sb3 --only ppo_gym_cartpole`: our
//! native env, the same Gymnasium env through our worker processes, and SB3's
//! `DummyVecEnv` and `SubprocVecEnv` stepping it, random actions, same machine.

use crate::config::EnvConfig;
use crate::envs::{ActionSpace, Actions, VecEnv};
use crate::rng::Rng;
use std::process::Command;
use std::time::Instant;

const STEPS: usize = 100_000;

/// SB3's vector envs stepped with random actions; prints "dummy subproc" steps/s.
const SB3_STEPPING_PY: &str = r#"
import sys, time
import numpy as np
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv
def rate(cls):
    env = make_vec_env(sys.argv[1], n_envs=int(sys.argv[2]), seed=0, vec_env_cls=cls)
    env.reset()
    rng = np.random.default_rng(0)
    n, steps = env.num_envs, int(sys.argv[3])
    t0 = time.perf_counter()
    for _ in range(steps // n):
        env.step(np.array([env.action_space.sample() for _ in range(n)]))
    secs = time.perf_counter() - t0
    env.close()
    return steps // n * n / secs
if __name__ == "__main__":
    print(rate(DummyVecEnv), rate(SubprocVecEnv))
"#;

fn steps_per_sec(venv: &mut VecEnv) -> Result<f64, String> {
    venv.reset(0)?;
    let n = venv.num_envs();
    let mut rng = Rng::seed_from_u64(0);
    let (mut discrete, mut values) = (vec![0usize; n], Vec::new());
    let t0 = Instant::now();
    for _ in 0..STEPS / n {
        match venv.action_space.clone() {
            ActionSpace::Discrete { n: k, .. } => {
                discrete.iter_mut().for_each(|a| *a = rng.below(k));
                venv.step(Actions::Discrete(&discrete))?;
            }
            ActionSpace::Box { low, high } => {
                values.clear();
                for _ in 0..n {
                    values.extend(low.iter().zip(&high).map(|(&l, &h)| rng.uniform(l as f64, h as f64) as f32));
                }
                venv.step(Actions::Continuous { dim: low.len(), values: &values })?;
            }
        }
    }
    Ok((STEPS / n * n) as f64 / t0.elapsed().as_secs_f64())
}

/// One line per way of stepping `native_id` (and its Gymnasium twin) with `n_envs` envs.
pub fn stepping(python: &str, native_id: &str, n_envs: usize) -> Result<Vec<String>, String> {
    let native = EnvConfig { id: native_id.to_string(), n_envs, ..EnvConfig::default() };
    let ours = steps_per_sec(&mut native.make_vec().map_err(|e| e.to_string())?)?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let gym = EnvConfig {
        id: format!("{}{native_id}", crate::envs::gym::PREFIX),
        python: Some(python.to_string()),
        workers: Some(cores),
        ..native.clone()
    };
    let workers = steps_per_sec(&mut gym.make_vec().map_err(|e| e.to_string())?)?;
    let mut lines = vec![
        format!("env stepping, {n_envs} envs, random actions, {STEPS} steps:"),
        format!("  ours, native {native_id}:            {ours:>10.0} steps/s"),
        format!("  ours, {} in {} workers: {workers:>10.0} steps/s", gym.id, cores.min(n_envs)),
    ];
    let out = Command::new(python)
        .args(["-c", SB3_STEPPING_PY, native_id, &n_envs.to_string(), &STEPS.to_string()])
        .output()
        .map_err(|e| format!("starting {python}: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let rates: Vec<f64> = text.split_whitespace().filter_map(|x| x.parse().ok()).collect();
    match rates[..] {
        [dummy, subproc] => {
            lines.push(format!("  SB3 DummyVecEnv:                  {dummy:>10.0} steps/s"));
            lines.push(format!("  SB3 SubprocVecEnv ({n_envs} processes):  {subproc:>10.0} steps/s"));
            lines.push(format!("  our workers vs SubprocVecEnv: {:.2}x, vs DummyVecEnv: {:.2}x", workers / subproc, workers / dummy));
        }
        _ => lines.push(format!("  SB3 stepping failed: {}", String::from_utf8_lossy(&out.stderr).lines().last().unwrap_or(""))),
    }
    Ok(lines)
}
