//! The registry's envs for Python: one env (`EnvCore`, behind
//! `rl_research.envs.RustEnv`) and several stepped together (`VecEnvCore`).

use super::{build_config, config_err, f32_bytes, lock};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use rl_research::envs::{Action, ActionSpace, Actions, Env, VecEnv};
use std::sync::Mutex;

/// One of the registry's envs, stepped in Rust.
#[pyclass(module = "rl_research._core")]
pub(crate) struct EnvCore {
    pub(crate) env: Mutex<Box<dyn Env>>,
    obs: Mutex<Vec<f32>>,
    space: ActionSpace,
    #[pyo3(get)]
    id: String,
    /// Discrete actions, or a Box action space's dimension.
    #[pyo3(get)]
    n_actions: usize,
    /// The action space as JSON: {"type": "discrete", "n", "names"} or {"type": "box", "low", "high"}.
    #[pyo3(get)]
    action_space_json: String,
    /// Gymnasium's `metadata["render_fps"]` for this env.
    #[pyo3(get)]
    render_fps: f64,
    #[pyo3(get)]
    obs_low: Vec<f32>,
    #[pyo3(get)]
    obs_high: Vec<f32>,
}

fn env_config(id: &str, pairs: Vec<(String, String)>) -> PyResult<rl_research::config::EnvConfig> {
    let mut all = vec![("env.id".to_string(), serde_json::Value::String(id.to_string()).to_string())];
    all.extend(pairs);
    let config = build_config(None, all)?;
    // Only the env's keys: any env can be made, whatever the default algorithm trains.
    config.env.validate().map_err(config_err)?;
    Ok(config.env)
}

#[pymethods]
impl EnvCore {
    /// `pairs`: env keys (`env.params.gravity`, `env.max_episode_steps`) as JSON values.
    #[new]
    fn new(id: &str, pairs: Vec<(String, String)>) -> PyResult<Self> {
        let cfg = env_config(id, pairs)?;
        let env = cfg.make().map_err(config_err)?;
        let space = env.observation_space();
        let actions = env.action_space();
        Ok(Self {
            n_actions: actions.policy_outputs(),
            action_space_json: serde_json::to_string(&actions).map_err(|e| PyValueError::new_err(e.to_string()))?,
            space: actions,
            obs: Mutex::new(vec![0.0; space.dim()]),
            obs_low: space.low,
            obs_high: space.high,
            render_fps: rl_research::envs::registry::render_fps(&cfg.id),
            id: cfg.id,
            env: Mutex::new(env),
        })
    }

    /// Starts an episode (`seed` reseeds, as Gymnasium's `reset(seed=...)`); the observation as f32 bytes.
    #[pyo3(signature = (seed=None))]
    fn reset<'py>(&self, py: Python<'py>, seed: Option<u64>) -> PyResult<Bound<'py, PyBytes>> {
        let (mut env, mut obs) = (lock(&self.env)?, lock(&self.obs)?);
        env.reset(seed, &mut obs);
        Ok(PyBytes::new(py, &f32_bytes(&obs)))
    }

    /// One step: (observation bytes, reward, terminated, truncated). `action`
    /// is an int (Discrete) or a sequence of floats (Box).
    fn step<'py>(&self, py: Python<'py>, action: &Bound<'py, PyAny>) -> PyResult<(Bound<'py, PyBytes>, f64, bool, bool)> {
        let (mut env, mut obs) = (lock(&self.env)?, lock(&self.obs)?);
        let values: Vec<f32>;
        let action = match &self.space {
            ActionSpace::Discrete { .. } => {
                let a: i64 = action.extract()?;
                let index = usize::try_from(a)
                    .map_err(|_| PyValueError::new_err(format!("action {a} is outside the action space {}", self.space.describe())))?;
                Action::Discrete(index)
            }
            ActionSpace::Box { .. } => {
                values = action.extract()?;
                Action::Continuous(&values)
            }
        };
        self.space.check(action).map_err(PyValueError::new_err)?;
        let out = env.step(action, &mut obs);
        Ok((PyBytes::new(py, &f32_bytes(&obs)), out.reward, out.terminated, out.truncated))
    }

    /// The current frame: (RGB bytes, width, height), or None if the env cannot render.
    fn render<'py>(&self, py: Python<'py>) -> PyResult<Option<(Bound<'py, PyBytes>, u32, u32)>> {
        let env = lock(&self.env)?;
        let Some(state) = env.render_state() else { return Ok(None) };
        drop(env);
        let frame = py.detach(|| rl_research::envs::render::render(&state));
        Ok(Some((PyBytes::new(py, &frame.rgb), frame.width, frame.height)))
    }

    /// CartPole only: starts an episode from `state` (x, x_dot, theta,
    /// theta_dot), as setting Gymnasium's `env.unwrapped.state` after a reset
    /// does; returns the observation. (Our seeds draw other starts than
    /// NumPy's generator, so comparing trajectories starts from one state.)
    fn set_cartpole_state<'py>(&self, py: Python<'py>, state: [f64; 4]) -> PyResult<Bound<'py, PyBytes>> {
        use rl_research::envs::EnvSnapshot;
        let (mut env, mut obs) = (lock(&self.env)?, lock(&self.obs)?);
        let snapshot = env.snapshot().map_err(PyValueError::new_err)?;
        let EnvSnapshot::TimeLimit { inner, .. } = snapshot else { return Err(PyValueError::new_err("this env has no time limit")) };
        let EnvSnapshot::CartPole { rng, .. } = *inner else {
            return Err(PyValueError::new_err(format!("set_cartpole_state: {} is not CartPole", self.id)));
        };
        let fresh =
            EnvSnapshot::TimeLimit { elapsed: 0, inner: Box::new(EnvSnapshot::CartPole { state, rng, steps_beyond_terminated: None }) };
        env.restore(&fresh, &mut obs).map_err(PyValueError::new_err)?;
        Ok(PyBytes::new(py, &f32_bytes(&obs)))
    }

    fn set_render(&self, on: bool) -> PyResult<()> {
        lock(&self.env)?.set_render(on);
        Ok(())
    }
}

/// Several of our envs stepped together in Rust (SB3's auto-reset: a finished
/// env starts its next episode at once; its last observation is kept apart).
#[pyclass(module = "rl_research._core")]
pub(crate) struct VecEnvCore {
    venv: Mutex<VecEnv>,
    #[pyo3(get)]
    num_envs: usize,
    #[pyo3(get)]
    obs_dim: usize,
}

/// A Python batch of actions (ints, or row-major floats for a Box space), checked.
fn batch_actions<'a>(
    space: &ActionSpace,
    n: usize,
    ints: &'a mut Vec<usize>,
    floats: &'a [f32],
    given: &Bound<'_, PyAny>,
) -> PyResult<Actions<'a>> {
    let actions = match space {
        ActionSpace::Discrete { .. } => {
            let raw: Vec<i64> = given.extract()?;
            *ints = raw.iter().map(|&a| usize::try_from(a).unwrap_or(usize::MAX)).collect();
            Actions::Discrete(ints)
        }
        ActionSpace::Box { low, .. } => Actions::Continuous { dim: low.len(), values: floats },
    };
    actions.check_shape(space, n).map_err(PyValueError::new_err)?;
    for i in 0..n {
        space.check(actions.get(i)).map_err(|e| PyValueError::new_err(format!("env {i}: {e}")))?;
    }
    Ok(actions)
}

#[pymethods]
impl VecEnvCore {
    #[new]
    fn new(id: &str, num_envs: usize, pairs: Vec<(String, String)>) -> PyResult<Self> {
        if num_envs == 0 {
            return Err(PyValueError::new_err("num_envs must be at least 1"));
        }
        let cfg = env_config(id, pairs)?;
        let venv = rl_research::config::EnvConfig { n_envs: num_envs, ..cfg }.make_vec().map_err(config_err)?;
        Ok(Self { obs_dim: venv.obs_dim, num_envs, venv: Mutex::new(venv) })
    }

    /// Resets env `i` with `seed + i`; all observations as f32 bytes.
    fn reset<'py>(&self, py: Python<'py>, seed: u64) -> PyResult<Bound<'py, PyBytes>> {
        let mut venv = lock(&self.venv)?;
        venv.reset(seed).map_err(|e| PyValueError::new_err(e))?;
        Ok(PyBytes::new(py, &f32_bytes(&venv.obs)))
    }

    /// Steps every env (GIL released): (observations, rewards, terminated, truncated, final observations of finished envs).
    #[allow(clippy::type_complexity)]
    fn step<'py>(
        &self,
        py: Python<'py>,
        actions: &Bound<'py, PyAny>,
    ) -> PyResult<(Bound<'py, PyBytes>, Vec<f64>, Vec<bool>, Vec<bool>, Bound<'py, PyBytes>)> {
        let count: usize = actions.len()?;
        let mut venv = lock(&self.venv)?;
        let space = venv.action_space.clone();
        let expect = self.num_envs * space.width();
        if count != expect {
            return Err(PyValueError::new_err(format!(
                "got {count} action values for {} envs of the action space {} ({expect} expected)",
                self.num_envs,
                space.describe()
            )));
        }
        let floats: Vec<f32> = if space.kind() == rl_research::envs::ActionKind::Box { actions.extract()? } else { Vec::new() };
        let mut ints = Vec::new();
        let batch = batch_actions(&space, self.num_envs, &mut ints, &floats, actions)?;
        let venv_ref: &mut VecEnv = &mut venv;
        py.detach(|| venv_ref.step(batch)).map_err(PyValueError::new_err)?;
        Ok((
            PyBytes::new(py, &f32_bytes(&venv.obs)),
            venv.rewards.clone(),
            venv.terminated.clone(),
            venv.truncated.clone(),
            PyBytes::new(py, &f32_bytes(&venv.final_obs)),
        ))
    }
}
