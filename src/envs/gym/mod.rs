//! Any Gymnasium environment, `env.id = "gym:<id>"`, stepped in Python worker
//! processes (SB3's SubprocVecEnv model, driven from Rust). The first use of
//! a source (id, interpreter, kwargs, imports) starts one worker to read its
//! spaces, time limit, reward threshold and frame rate, and registers a
//! registry entry under the `gym:` id, so evaluation, replays, videos and
//! model files treat it as any other env. Training steps a [`pool::GymPool`];
//! evaluation and replays step [`GymEnv`] handles of one shared worker.

pub mod pool;
mod worker;

use super::registry::{self, EnvSpec};
use super::render::{FRAME_H, FRAME_W, Frame, RenderState};
use super::{Action, ActionSpace, BoxSpace, Env, EnvSnapshot, StepOutcome};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, OnceLock};
use worker::Worker;
pub use worker::{Hello, SCRIPT as WORKER_SOURCE};

/// The prefix that marks a Gymnasium id in `env.id`.
pub const PREFIX: &str = "gym:";
/// The interpreter when `env.python` is unset.
pub const DEFAULT_PYTHON: &str = "python3";

/// The Gymnasium id in `env_id` (`gym:Acrobot-v1` -> `Acrobot-v1`), if it is one.
pub fn gym_id(env_id: &str) -> Option<&str> {
    env_id.strip_prefix(PREFIX)
}

/// Everything that decides which Python env a `gym:` id makes.
#[derive(Clone, Debug, PartialEq)]
pub struct GymSource {
    /// The Gymnasium id, without the `gym:` prefix.
    pub id: String,
    /// `env.python`; None runs [`DEFAULT_PYTHON`].
    pub python: Option<String>,
    pub kwargs: BTreeMap<String, Value>,
    pub imports: Vec<String>,
    /// `env.max_episode_steps`, passed to `gymnasium.make` (None: the env's own).
    pub max_episode_steps: Option<u32>,
    /// How long a step or reset may take before the worker counts as hung.
    pub timeout_secs: f64,
}

impl GymSource {
    pub fn python(&self) -> String {
        self.python.clone().filter(|p| !p.trim().is_empty()).unwrap_or_else(|| DEFAULT_PYTHON.to_string())
    }
    pub fn env_id(&self) -> String {
        format!("{PREFIX}{}", self.id)
    }
    /// What the probe cache is keyed by (the timeout does not change the env).
    fn key(&self) -> String {
        serde_json::json!([self.id, self.python(), self.kwargs, self.imports, self.max_episode_steps]).to_string()
    }
}

type Cache = Mutex<HashMap<String, Result<(Arc<EnvSpec>, Hello), String>>>;

fn cache() -> &'static Cache {
    static CACHE: OnceLock<Cache> = OnceLock::new();
    CACHE.get_or_init(Default::default)
}

/// The registry entry of `source` if it was probed before (never starts Python:
/// what config validation and the GUI's frame loop may call).
pub fn known_spec(source: &GymSource) -> Option<Result<Arc<EnvSpec>, String>> {
    let c = cache().lock().unwrap_or_else(|e| e.into_inner());
    c.get(&source.key()).map(|r| r.clone().map(|(s, _)| s))
}

/// What the probe of `source` found, if it ran (never starts Python).
pub fn known(source: &GymSource) -> Option<Result<Hello, String>> {
    let c = cache().lock().unwrap_or_else(|e| e.into_inner());
    c.get(&source.key()).map(|r| r.clone().map(|(_, h)| h))
}

/// Probes `source` once (a worker with one env), registers its entry and
/// returns it with what the worker said; later calls answer from the cache.
pub fn probe(source: &GymSource) -> Result<(Arc<EnvSpec>, Hello), String> {
    if let Some(r) = cache().lock().unwrap_or_else(|e| e.into_inner()).get(&source.key()) {
        return r.clone();
    }
    let result = Worker::spawn(source, 1, false)
        .and_then(|w| spec_of(source, &w.hello).map(|s| (s, w.hello.clone())))
        .and_then(|(spec, hello)| registry::replace(spec.as_ref().clone()).map(|_| (spec, hello)));
    cache().lock().unwrap_or_else(|e| e.into_inner()).insert(source.key(), result.clone());
    result
}

/// Probes `source` afresh (the GUI's Check button, after the user fixed something).
pub fn recheck(source: &GymSource) -> Result<(Arc<EnvSpec>, Hello), String> {
    cache().lock().unwrap_or_else(|e| e.into_inner()).remove(&source.key());
    probe(source)
}

/// Gymnasium's `env_checker` run on `source` in a worker of its own: its warnings.
pub fn gymnasium_check(source: &GymSource) -> Result<Vec<String>, String> {
    Worker::spawn(source, 1, false)?.gymnasium_check()
}

/// A registry entry for envs described by `hello` (a worker's, or an
/// in-process Python env's) and made by `make`.
pub fn spec_from_hello(id: &str, summary: String, hello: &Hello, make: super::registry::EnvFactory) -> Result<EnvSpec, String> {
    if hello.obs_dim == 0 {
        return Err(format!("{id}: its observation space {} has no values", hello.observation_space));
    }
    Ok(EnvSpec {
        id: id.to_string(),
        aliases: Vec::new(),
        summary,
        observation_space: BoxSpace { low: hello.obs_low.clone(), high: hello.obs_high.clone() },
        action_space: hello.action_space.clone(),
        action_switch: None,
        max_episode_steps: hello.max_episode_steps.map_or(u32::MAX, |m| m.min(u32::MAX as u64) as u32),
        render_fps: hello.render_fps.filter(|f| f.is_finite()).unwrap_or(30.0).clamp(1.0, 240.0),
        reference_score: hello.reward_threshold,
        params: Vec::new(),
        gymnasium_id: None,
        needs_box2d: false,
        make,
    })
}

fn spec_of(source: &GymSource, hello: &Hello) -> Result<Arc<EnvSpec>, String> {
    let registered_limit = hello.max_episode_steps.map(|m| m.min(u32::MAX as u64) as u32);
    let factory_source = GymSource { max_episode_steps: None, ..source.clone() };
    let make: super::registry::EnvFactory = Arc::new(move |_params, max_steps| {
        let mut s = factory_source.clone();
        s.max_episode_steps = (Some(max_steps) != registered_limit && max_steps != u32::MAX).then_some(max_steps);
        Ok(Box::new(GymEnv::spawn_many(&s, 1)?.remove(0)) as Box<dyn Env>)
    });
    let summary = format!("Gymnasium's {} (Python worker, {})", source.id, source.python());
    let mut spec = spec_from_hello(&source.env_id(), summary, hello, make)?;
    // No TimeLimit registered: episodes run until the env ends them.
    spec.max_episode_steps = source.max_episode_steps.or(registered_limit).unwrap_or(u32::MAX);
    spec.gymnasium_id = Some(source.id.clone());
    Ok(Arc::new(spec))
}

/// One env of a worker shared with its siblings (evaluation and replay envs):
/// each call is one round trip to the worker.
pub struct GymEnv {
    worker: Arc<Mutex<Worker>>,
    j: usize,
    id: String,
    observation_space: BoxSpace,
    action_space: ActionSpace,
    fault: Option<String>,
    render_error: RenderErrors,
}

impl GymEnv {
    /// `n` envs in one worker that renders frames.
    pub fn spawn_many(source: &GymSource, n: usize) -> Result<Vec<GymEnv>, String> {
        let w = Worker::spawn(source, n, true)?;
        let observation_space = BoxSpace { low: w.hello.obs_low.clone(), high: w.hello.obs_high.clone() };
        let action_space = w.hello.action_space.clone();
        let worker = Arc::new(Mutex::new(w));
        Ok((0..n)
            .map(|j| GymEnv {
                worker: worker.clone(),
                j,
                id: source.env_id(),
                observation_space: observation_space.clone(),
                action_space: action_space.clone(),
                fault: None,
                render_error: RenderErrors::default(),
            })
            .collect())
    }

    fn with_worker<T>(&mut self, f: impl FnOnce(&mut Worker, usize) -> Result<T, String>) -> Option<T> {
        if self.fault.is_some() {
            return None;
        }
        let mut w = self.worker.lock().unwrap_or_else(|e| e.into_inner());
        match f(&mut w, self.j) {
            Ok(v) => Some(v),
            Err(e) => {
                self.fault = Some(e);
                None
            }
        }
    }
}

impl Env for GymEnv {
    fn id(&self) -> &str {
        &self.id
    }
    fn observation_space(&self) -> BoxSpace {
        self.observation_space.clone()
    }
    fn action_space(&self) -> ActionSpace {
        self.action_space.clone()
    }
    fn reset(&mut self, seed: Option<u64>, obs: &mut [f32]) {
        let cmd = format!("reset {} {}", self.j, seed.map_or("none".to_string(), |s| s.to_string()));
        let got = self.with_worker(|w, j| {
            w.command(&cmd)?;
            let d = w.hello.obs_dim;
            Ok(w.obs()[j * d..(j + 1) * d].to_vec())
        });
        match got {
            Some(o) => obs.copy_from_slice(&o),
            None => obs.fill(0.0),
        }
    }
    fn step(&mut self, action: Action<'_>, obs: &mut [f32]) -> StepOutcome {
        let got = self.with_worker(|w, j| {
            let width = w.hello.action_space.width();
            let row = &mut w.actions_mut()[j * width..(j + 1) * width];
            match action {
                Action::Discrete(a) => row[0] = a as f32,
                Action::Continuous(v) => row.copy_from_slice(v),
            }
            w.command(&format!("step {j}"))?;
            let d = w.hello.obs_dim;
            let (terminated, truncated) = w.flags(j);
            Ok((w.obs()[j * d..(j + 1) * d].to_vec(), StepOutcome { reward: w.reward(j), terminated, truncated }))
        });
        match got {
            Some((o, out)) => {
                obs.copy_from_slice(&o);
                out
            }
            // The episode ends; the caller reads `fault` and fails.
            None => StepOutcome { reward: 0.0, terminated: true, truncated: false },
        }
    }
    fn render_state(&self) -> Option<RenderState> {
        self.render_error.state(self.worker.lock().unwrap_or_else(|e| e.into_inner()).render(self.j))
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

/// Why a Python env's last render gave no frame (what `Env::render_error` says).
#[derive(Default)]
pub struct RenderErrors(Mutex<Option<String>>);

impl RenderErrors {
    /// The frame the env drew, scaled to fit our frame size; None with the reason kept.
    pub fn state(&self, got: Result<Frame, String>) -> Option<RenderState> {
        let mut error = self.0.lock().unwrap_or_else(|e| e.into_inner());
        match got {
            Ok(f) => {
                *error = None;
                Some(RenderState::from_frame(&fit_frame(&f)))
            }
            Err(e) => {
                *error = Some(e);
                None
            }
        }
    }

    pub fn last(&self) -> Option<String> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// A frame scaled (nearest pixel) to fit our frame size, aspect kept; smaller ones stay as they are.
pub fn fit_frame(f: &Frame) -> Frame {
    let scale = (FRAME_W as f64 / f.width as f64).min(FRAME_H as f64 / f.height as f64);
    if scale >= 1.0 || f.width == 0 || f.height == 0 {
        return f.clone();
    }
    let (w, h) = (((f.width as f64 * scale).round() as u32).max(1), ((f.height as f64 * scale).round() as u32).max(1));
    let mut rgb = Vec::with_capacity((w * h * 3) as usize);
    for y in 0..h {
        let sy = ((y as f64 + 0.5) / scale) as u32;
        for x in 0..w {
            let sx = ((x as f64 + 0.5) / scale) as u32;
            let i = ((sy.min(f.height - 1) * f.width + sx.min(f.width - 1)) * 3) as usize;
            rgb.extend_from_slice(&f.rgb[i..i + 3]);
        }
    }
    Frame { width: w, height: h, rgb }
}
