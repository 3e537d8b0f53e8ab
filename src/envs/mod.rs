//! Environments, faithful to Gymnasium. This module knows neither burn nor egui:
//! observations are `f32` slices, frames (later) plain RGB buffers.

pub mod acrobot;
pub mod cartpole;
pub mod classic;
pub mod gym;
pub mod lunar_lander;
mod lunar_lander_entry;
pub mod mountain_car;
pub mod normalize;
pub mod np_random;
pub mod params;
pub mod pendulum;
pub mod registry;
pub mod render;
pub mod spaces;
pub mod vec_env;

pub use cartpole::CartPole;
pub use lunar_lander::{LunarLander, LunarLanderParams};
pub use params::{ParamSpec, ParamValue, ParamValues};
pub use registry::{EnvSpec, Found};
pub use spaces::{Action, ActionBatch, ActionKind, ActionSpace, ActionValue, Actions, BoxSpace};
pub use vec_env::{VecEnv, VecEnvSnapshot};

use np_random::EnvRng;
use serde::{Deserialize, Serialize};

/// The env a config trains when it names none.
pub const DEFAULT_ENV_ID: &str = cartpole::ID;

/// The built-in entries, in the order `env.id`'s list shows them.
pub(crate) fn builtin_specs() -> Vec<EnvSpec> {
    vec![
        cartpole::spec(),
        acrobot::spec(),
        mountain_car::spec(),
        mountain_car::continuous_spec(),
        pendulum::spec(),
        lunar_lander::spec(),
        lunar_lander::continuous_spec(),
    ]
}

/// An env's exact state, so a checkpointed run continues identically.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum EnvSnapshot {
    CartPole {
        state: [f64; 4],
        rng: EnvRng,
        steps_beyond_terminated: Option<u32>,
    },
    /// A Box2D world cannot be serialised, so the episode is replayed on
    /// restore: the generator as the episode began, then its actions.
    LunarLander {
        episode_rng: EnvRng,
        actions: Vec<u8>,
        /// The continuous env's actions (empty for the discrete one).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        continuous_actions: Vec<[f32; 2]>,
    },
    TimeLimit {
        elapsed: u32,
        inner: Box<EnvSnapshot>,
    },
    /// A classic-control env (Acrobot, MountainCar, Pendulum): its state and reset generator.
    Classic {
        env_id: String,
        state: Vec<f64>,
        rng: EnvRng,
    },
    /// An env registered outside this crate, in its own encoding.
    Custom {
        env_id: String,
        state: Vec<u8>,
    },
}

impl EnvSnapshot {
    /// Whether it holds a generator from before Gymnasium's seeding (an older version's checkpoint).
    pub fn uses_legacy_rng(&self) -> bool {
        match self {
            EnvSnapshot::CartPole { rng, .. } | EnvSnapshot::Classic { rng, .. } => matches!(rng, EnvRng::Legacy(_)),
            EnvSnapshot::LunarLander { episode_rng, .. } => matches!(episode_rng, EnvRng::Legacy(_)),
            EnvSnapshot::TimeLimit { inner, .. } => inner.uses_legacy_rng(),
            EnvSnapshot::Custom { .. } => false,
        }
    }

    /// Which env wrote it, for errors.
    pub fn kind(&self) -> &'static str {
        match self {
            EnvSnapshot::CartPole { .. } => "CartPole",
            EnvSnapshot::LunarLander { .. } => "LunarLander",
            EnvSnapshot::TimeLimit { inner, .. } => inner.kind(),
            EnvSnapshot::Classic { .. } => "classic-control",
            EnvSnapshot::Custom { .. } => "custom",
        }
    }
}

/// What one `step` returned besides the observation.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepOutcome {
    pub reward: f64,
    /// The MDP reached a terminal state (no bootstrapping past it).
    pub terminated: bool,
    /// Cut off by a time limit (the value of the next state still counts).
    pub truncated: bool,
}

/// A single environment, Gymnasium's API with the observation written into a
/// caller-owned buffer (no allocation per step).
pub trait Env: Send {
    fn id(&self) -> &str;
    fn observation_space(&self) -> BoxSpace;
    fn action_space(&self) -> ActionSpace;
    /// Starts an episode. `Some(seed)` reseeds the env's generator, as `reset(seed=...)` does.
    fn reset(&mut self, seed: Option<u64>, obs: &mut [f32]);
    /// One step. `action` is always of this env's own action space (callers check).
    fn step(&mut self, action: Action<'_>, obs: &mut [f32]) -> StepOutcome;
    /// Whether a step costs enough (a physics solve) for a vectorized env to
    /// spread envs over threads; a CartPole step is too cheap to be worth it.
    fn prefers_threads(&self) -> bool {
        false
    }
    /// A snapshot to draw the current frame from (None: the env cannot render).
    fn render_state(&self) -> Option<render::RenderState> {
        None
    }
    /// Turns on what only rendering needs (LunarLander's engine particles).
    fn set_render(&mut self, _on: bool) {}
    /// Why the env stopped working (a Python worker that failed): its last
    /// step ended the episode, and whoever steps it fails with this.
    fn fault(&self) -> Option<String> {
        None
    }
    /// Why the last [`render_state`](Env::render_state) gave none, where the env knows.
    fn render_error(&self) -> Option<String> {
        None
    }
    /// Whether [`snapshot`](Env::snapshot) can save it (a Python env cannot:
    /// a restore then starts new episodes).
    fn restorable(&self) -> bool {
        true
    }
    /// The exact state, for checkpoints.
    fn snapshot(&self) -> Result<EnvSnapshot, String>;
    /// Puts the env back into a [`snapshot`](Env::snapshot)'s state and writes
    /// the current observation into `obs`.
    fn restore(&mut self, snapshot: &EnvSnapshot, obs: &mut [f32]) -> Result<(), String>;
}

/// Gymnasium's `TimeLimit` wrapper: truncates after `max_episode_steps` steps.
pub struct TimeLimit<E> {
    pub inner: E,
    pub max_episode_steps: u32,
    elapsed: u32,
}

impl<E: Env> TimeLimit<E> {
    pub fn new(inner: E, max_episode_steps: u32) -> Self {
        Self { inner, max_episode_steps, elapsed: 0 }
    }
    pub fn elapsed_steps(&self) -> u32 {
        self.elapsed
    }
    /// Starts an episode some other way (e.g. from a recorded state) with the
    /// step count reset, as `reset` does.
    pub fn reset_with(&mut self, start: impl FnOnce(&mut E)) {
        self.elapsed = 0;
        start(&mut self.inner);
    }
}

impl<E: Env> Env for TimeLimit<E> {
    fn id(&self) -> &str {
        self.inner.id()
    }
    fn observation_space(&self) -> BoxSpace {
        self.inner.observation_space()
    }
    fn action_space(&self) -> ActionSpace {
        self.inner.action_space()
    }
    fn reset(&mut self, seed: Option<u64>, obs: &mut [f32]) {
        self.elapsed = 0;
        self.inner.reset(seed, obs);
    }
    fn prefers_threads(&self) -> bool {
        self.inner.prefers_threads()
    }
    fn render_state(&self) -> Option<render::RenderState> {
        self.inner.render_state()
    }
    fn set_render(&mut self, on: bool) {
        self.inner.set_render(on)
    }
    fn fault(&self) -> Option<String> {
        self.inner.fault()
    }
    fn render_error(&self) -> Option<String> {
        self.inner.render_error()
    }
    fn restorable(&self) -> bool {
        self.inner.restorable()
    }
    fn snapshot(&self) -> Result<EnvSnapshot, String> {
        Ok(EnvSnapshot::TimeLimit { elapsed: self.elapsed, inner: Box::new(self.inner.snapshot()?) })
    }
    fn restore(&mut self, snapshot: &EnvSnapshot, obs: &mut [f32]) -> Result<(), String> {
        let EnvSnapshot::TimeLimit { elapsed, inner } = snapshot else {
            return Err(format!("the checkpoint holds a {} env without its time limit", snapshot.kind()));
        };
        if *elapsed >= self.max_episode_steps {
            return Err(format!("the checkpointed episode is {elapsed} steps long, past the time limit of {}", self.max_episode_steps));
        }
        self.inner.restore(inner, obs)?;
        self.elapsed = *elapsed;
        Ok(())
    }
    #[inline]
    fn step(&mut self, action: Action<'_>, obs: &mut [f32]) -> StepOutcome {
        let mut out = self.inner.step(action, obs);
        self.elapsed += 1;
        if self.elapsed >= self.max_episode_steps {
            out.truncated = true;
        }
        out
    }
}

/// `env` under a time limit, boxed: what a registry factory returns.
pub fn with_time_limit<E: Env + 'static>(env: E, max_episode_steps: u32) -> Box<dyn Env> {
    Box::new(TimeLimit::new(env, max_episode_steps))
}
