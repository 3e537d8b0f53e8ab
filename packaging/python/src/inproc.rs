//! A Python env stepped in this process (`run_experiment(config, env=...)`,
//! or a Gymnasium id that is not one of ours): `rl_research._inproc.Adapter`
//! wraps the env with the worker's codecs (flat f32 observations, actions
//! decoded into the env's space), and [`PyEnv`] steps it holding the GIL only
//! for the call. It is registered under its id like any other env.

use pyo3::prelude::*;
use pyo3::types::PyBytes;
use rl_research::envs::gym::{Hello, RenderErrors, spec_from_hello};
use rl_research::envs::render::{Frame, RenderState};
use rl_research::envs::{Action, ActionSpace, BoxSpace, Env, EnvSnapshot, StepOutcome, registry};
use std::sync::Arc;

pub(crate) struct PyEnv {
    adapter: Py<PyAny>,
    id: String,
    hello: Hello,
    fault: Option<String>,
    render_error: RenderErrors,
}

/// A Python exception as text, with its traceback (what the run's error shows).
fn describe(py: Python<'_>, e: PyErr) -> String {
    let tb = e.traceback(py).and_then(|t| t.format().ok()).unwrap_or_default();
    format!("{tb}{e}").trim_end().to_string()
}

impl PyEnv {
    fn new(factory: &Py<PyAny>, id: &str) -> Result<Self, String> {
        Python::attach(|py| {
            let adapter = factory.call0(py).map_err(|e| describe(py, e))?;
            let json: String = adapter.call_method0(py, "describe").and_then(|d| d.extract(py)).map_err(|e| describe(py, e))?;
            let hello: Hello = serde_json::from_str(&json).map_err(|e| format!("{id}: a bad description ({e}): {json}"))?;
            Ok(Self { adapter, id: id.to_string(), hello, fault: None, render_error: RenderErrors::default() })
        })
    }

    fn read(&mut self, got: PyResult<Vec<u8>>, py: Python<'_>, obs: &mut [f32]) -> bool {
        match got {
            Ok(bytes) if bytes.len() == 4 * obs.len() => {
                for (o, b) in obs.iter_mut().zip(bytes.chunks_exact(4)) {
                    *o = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
                }
                true
            }
            Ok(bytes) => {
                self.fault = Some(format!("{}: an observation of {} bytes, expected {}", self.id, bytes.len(), 4 * obs.len()));
                false
            }
            Err(e) => {
                self.fault = Some(format!("{}: {}", self.id, describe(py, e)));
                false
            }
        }
    }
}

impl Env for PyEnv {
    fn id(&self) -> &str {
        &self.id
    }
    fn observation_space(&self) -> BoxSpace {
        BoxSpace { low: self.hello.obs_low.clone(), high: self.hello.obs_high.clone() }
    }
    fn action_space(&self) -> ActionSpace {
        self.hello.action_space.clone()
    }
    fn reset(&mut self, seed: Option<u64>, obs: &mut [f32]) {
        if self.fault.is_some() {
            return obs.fill(0.0);
        }
        Python::attach(|py| {
            let got = self.adapter.call_method1(py, "reset", (seed,)).and_then(|b| b.extract::<Vec<u8>>(py));
            if !self.read(got, py, obs) {
                obs.fill(0.0);
            }
        })
    }
    fn step(&mut self, action: Action<'_>, obs: &mut [f32]) -> StepOutcome {
        let ended = StepOutcome { reward: 0.0, terminated: true, truncated: false };
        if self.fault.is_some() {
            return ended;
        }
        let values: Vec<f32> = match action {
            Action::Discrete(a) => vec![a as f32],
            Action::Continuous(v) => v.to_vec(),
        };
        Python::attach(|py| {
            let got = self.adapter.call_method1(py, "step", (values,)).and_then(|r| r.extract::<(Vec<u8>, f64, bool, bool)>(py));
            match got {
                Ok((bytes, reward, terminated, truncated)) => {
                    if self.read(Ok(bytes), py, obs) {
                        StepOutcome { reward, terminated, truncated }
                    } else {
                        ended
                    }
                }
                Err(e) => {
                    self.read(Err(e), py, obs);
                    ended
                }
            }
        })
    }
    fn render_state(&self) -> Option<RenderState> {
        let got = Python::attach(|py| {
            self.adapter
                .call_method0(py, "render")
                .and_then(|r| r.extract::<(u32, u32, Vec<u8>)>(py))
                .map_err(|e| format!("{}: it cannot render frames: {}", self.id, describe(py, e)))
        });
        self.render_error.state(got.and_then(|(h, w, rgb)| match rgb.len() == (h * w * 3) as usize {
            true => Ok(Frame { width: w, height: h, rgb }),
            false => Err(format!("{}: a frame of {} bytes, not {h}x{w} RGB", self.id, rgb.len())),
        }))
    }
    fn fault(&self) -> Option<String> {
        self.fault.clone()
    }
    fn render_error(&self) -> Option<String> {
        self.render_error.last()
    }
    fn restorable(&self) -> bool {
        false
    }
    fn snapshot(&self) -> Result<EnvSnapshot, String> {
        Err(format!("{}: a Python env's state cannot be saved", self.id))
    }
    fn restore(&mut self, _snapshot: &EnvSnapshot, _obs: &mut [f32]) -> Result<(), String> {
        Err(format!("{}: a Python env's state cannot be restored", self.id))
    }
}

/// Registers `id` as the envs `factory` makes (a callable returning an `Adapter`).
pub(crate) fn register(factory: Py<PyAny>, id: &str) -> Result<(), String> {
    let probe = PyEnv::new(&factory, id)?;
    let factory = Arc::new(factory);
    let name = id.to_string();
    // env.max_episode_steps puts our TimeLimit around the env (its own, if any, stays).
    let make: registry::EnvFactory = Arc::new(move |_params, limit| {
        let env = PyEnv::new(&factory, &name)?;
        Ok(if limit < u32::MAX { rl_research::envs::with_time_limit(env, limit) } else { Box::new(env) as Box<dyn Env> })
    });
    let spec = spec_from_hello(id, format!("{id} (a Python env, stepped in this process)"), &probe.hello, make)?;
    registry::replace(spec)
}

/// The worker's source, for `rl_research._inproc` to take its codecs from.
#[pyfunction]
pub(crate) fn gym_worker_source(py: Python<'_>) -> Bound<'_, PyBytes> {
    PyBytes::new(py, rl_research::envs::gym::WORKER_SOURCE.as_bytes())
}
