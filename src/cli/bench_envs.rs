//! `bench`'s env step rates: every registered env on one thread with random
//! valid actions, beside Gymnasium's own `gymnasium.make(id)` on the same
//! machine when a Python with gymnasium is found.

use crate::envs::registry::EnvSpec;
use crate::envs::{Action, ActionSpace, ParamValues};
use crate::rng::Rng;
use std::process::{Command, Stdio};
use std::time::Instant;

/// Steps per second of `spec`'s env (default parameters, its time limit) on this thread.
pub fn env_steps_per_sec(spec: &EnvSpec, steps: u64) -> Result<f64, String> {
    let mut env = spec.make(&ParamValues::default(), None)?;
    let mut obs = vec![0f32; spec.observation_space.dim()];
    let space = env.action_space();
    let mut rng = Rng::seed_from_u64(0);
    // Actions drawn up front, so the rate is the env's alone.
    let n_prepared = 4096usize;
    let prepared: Vec<Vec<f32>> = (0..n_prepared)
        .map(|_| match &space {
            ActionSpace::Discrete { n, .. } => vec![rng.below(*n) as f32],
            ActionSpace::Box { low, high } => low.iter().zip(high).map(|(&l, &h)| rng.uniform(l as f64, h as f64) as f32).collect(),
        })
        .collect();
    env.reset(Some(0), &mut obs);
    let t0 = Instant::now();
    for i in 0..steps as usize {
        let a = &prepared[i % n_prepared];
        let action = match space {
            ActionSpace::Discrete { .. } => Action::Discrete(a[0] as usize),
            ActionSpace::Box { .. } => Action::Continuous(a),
        };
        let out = env.step(action, &mut obs);
        if out.terminated || out.truncated {
            env.reset(None, &mut obs);
        }
    }
    std::hint::black_box(&obs);
    Ok(steps as f64 / t0.elapsed().as_secs_f64())
}

const GYM_RATES: &str = r#"
import json, sys, time
import numpy as np, gymnasium as gym
out = {}
for env_id, n in json.loads(sys.argv[1]):
    try:
        env = gym.make(env_id)
    except Exception:
        continue  # e.g. no Box2D in this Python
    env.reset(seed=0)
    space, rng = env.action_space, np.random.default_rng(0)
    if isinstance(space, gym.spaces.Discrete):
        actions = rng.integers(0, space.n, size=n)
    else:
        actions = rng.uniform(space.low, space.high, size=(n,) + space.shape).astype(np.float32)
    t0 = time.perf_counter()
    for a in actions:
        _, _, terminated, truncated, _ = env.step(a)
        if terminated or truncated:
            env.reset()
    out[env_id] = n / (time.perf_counter() - t0)
print(json.dumps(out))
"#;

/// Gymnasium's step rates of `(id, steps)` through `python`, or why not.
fn gymnasium_rates(python: &str, envs: &[(String, u64)]) -> Result<serde_json::Map<String, serde_json::Value>, String> {
    let arg = serde_json::to_string(envs).map_err(|e| e.to_string())?;
    let out = Command::new(python).args(["-c", GYM_RATES, &arg]).stderr(Stdio::piped()).output().map_err(|e| format!("{python}: {e}"))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(format!("{python} failed: {}", err.lines().last().unwrap_or("")));
    }
    match serde_json::from_slice(&out.stdout) {
        Ok(serde_json::Value::Object(m)) => Ok(m),
        _ => Err(format!("{python} printed no rates")),
    }
}

/// A Python with gymnasium: `RL_RESEARCH_SB3_PYTHON`, else python3, else python.
fn find_gymnasium_python() -> Option<String> {
    let candidates = std::env::var("RL_RESEARCH_SB3_PYTHON").ok().into_iter().chain(["python3".to_string(), "python".to_string()]);
    candidates.into_iter().find(|py| {
        Command::new(py).args(["-c", "import gymnasium"]).stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok_and(|s| s.success())
    })
}

/// Prints one line per registered env: our rate and, where measurable, Gymnasium's.
pub fn print_env_rates(quick: bool) {
    let specs = crate::envs::registry::specs();
    // Box2D envs are an order of magnitude slower per step: fewer steps for them.
    let steps = |s: &EnvSpec| match (s.needs_box2d, quick) {
        (true, true) => 5_000,
        (true, false) => 50_000,
        (false, true) => 200_000,
        (false, false) => 2_000_000,
    };
    let python = find_gymnasium_python();
    let gym_envs: Vec<(String, u64)> =
        specs.iter().filter_map(|s| s.gymnasium_id.clone().map(|id| (id, (steps(s) / 20).max(2_000)))).collect();
    let gym = match &python {
        Some(py) => gymnasium_rates(py, &gym_envs),
        None => Err("no Python with gymnasium found (set RL_RESEARCH_SB3_PYTHON)".into()),
    };
    if let Err(e) = &gym {
        println!("Env step rates vs Gymnasium: {e}");
    }
    for spec in &specs {
        let ours = match env_steps_per_sec(spec, steps(spec)) {
            Ok(r) => r,
            Err(e) => {
                println!("{}: {e}", spec.id);
                continue;
            }
        };
        let theirs = gym.as_ref().ok().and_then(|m| spec.gymnasium_id.as_ref().and_then(|id| m.get(id)).and_then(|v| v.as_f64()));
        match theirs {
            Some(g) => println!(
                "{} env, random actions, one thread: {:.3} M steps/s, Gymnasium {:.3} M steps/s ({:.0}x)",
                spec.id,
                ours / 1e6,
                g / 1e6,
                ours / g
            ),
            None => println!("{} env, random actions, one thread: {:.3} M steps/s", spec.id, ours / 1e6),
        }
    }
}
