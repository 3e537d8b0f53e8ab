//! CartPole-v1, bit-exact with Gymnasium 1.4's `classic_control/cartpole.py`.
//!
//! Every expression keeps Gymnasium's operation order in f64 and uses the C
//! library's `sin`/`cos` (Rust's `f64::sin` calls libm), so states match the
//! reference trajectories exactly, not just approximately.

use super::np_random::EnvRng;
use super::params::ParamSpec;
use super::registry::EnvSpec;
use super::{Action, ActionSpace, BoxSpace, Env, EnvSnapshot, StepOutcome};

const GRAVITY: f64 = 9.8;
const MASSCART: f64 = 1.0;
const MASSPOLE: f64 = 0.1;
const TOTAL_MASS: f64 = MASSPOLE + MASSCART;
const LENGTH: f64 = 0.5; // half the pole's length
const POLEMASS_LENGTH: f64 = MASSPOLE * LENGTH;
const FORCE_MAG: f64 = 10.0;
const TAU: f64 = 0.02; // seconds between state updates
/// 12 degrees, computed as Gymnasium does: `12 * 2 * math.pi / 360`.
pub const THETA_THRESHOLD_RADIANS: f64 = 12.0 * 2.0 * std::f64::consts::PI / 360.0;
pub const X_THRESHOLD: f64 = 2.4;

pub const ID: &str = "CartPole-v1";

/// CartPole-v1's registry entry.
pub fn spec() -> EnvSpec {
    EnvSpec {
        id: ID.into(),
        aliases: Vec::new(),
        summary: "balance a pole on a cart (2 actions, 4 observations)".into(),
        observation_space: CartPole::new().observation_space(),
        action_space: ActionSpace::discrete(2, &["push left", "push right"]),
        action_switch: None,
        max_episode_steps: 500,
        render_fps: 50.0,
        reference_score: Some(500.0),
        params: vec![ParamSpec::bool(
            "sutton_barto_reward",
            false,
            "CartPole: reward 0 per step and -1 on failure (Sutton & Barto). Default false.",
        )],
        gymnasium_id: Some(ID.into()),
        needs_box2d: false,
        make: std::sync::Arc::new(|p, limit| {
            let mut env = CartPole::new();
            env.sutton_barto_reward = p.bool("sutton_barto_reward");
            Ok(super::with_time_limit(env, limit))
        }),
    }
}

pub struct CartPole {
    /// x (m), x_dot (m/s), theta (rad, 0 = upright), theta_dot (rad/s).
    pub state: [f64; 4],
    pub sutton_barto_reward: bool,
    rng: EnvRng,
    /// Steps taken after termination (Gymnasium warns and returns reward 0).
    steps_beyond_terminated: Option<u32>,
}

impl Default for CartPole {
    fn default() -> Self {
        Self::new()
    }
}

impl CartPole {
    pub fn new() -> Self {
        Self { state: [0.0; 4], sutton_barto_reward: false, rng: EnvRng::seeded(0), steps_beyond_terminated: None }
    }

    /// Starts an episode from a given state, as the reference replays do.
    pub fn reset_to_state(&mut self, state: [f64; 4], obs: &mut [f32]) {
        self.state = state;
        self.steps_beyond_terminated = None;
        self.write_obs(obs);
    }

    #[inline]
    fn write_obs(&self, obs: &mut [f32]) {
        for (o, s) in obs.iter_mut().zip(self.state) {
            *o = s as f32;
        }
    }

    #[inline]
    pub fn is_terminal(state: &[f64; 4]) -> bool {
        let [x, _, theta, _] = *state;
        x < -X_THRESHOLD || x > X_THRESHOLD || theta < -THETA_THRESHOLD_RADIANS || theta > THETA_THRESHOLD_RADIANS
    }
}

impl Env for CartPole {
    fn id(&self) -> &str {
        ID
    }

    fn observation_space(&self) -> BoxSpace {
        let high = [(X_THRESHOLD * 2.0) as f32, f32::MAX, (THETA_THRESHOLD_RADIANS * 2.0) as f32, f32::MAX];
        BoxSpace { low: high.iter().map(|h| -h).collect(), high: high.to_vec() }
    }

    fn action_space(&self) -> ActionSpace {
        ActionSpace::discrete(2, &["push left", "push right"])
    }

    fn render_state(&self) -> Option<super::render::RenderState> {
        Some(super::render::RenderState::CartPole { state: self.state })
    }

    fn snapshot(&self) -> Result<EnvSnapshot, String> {
        Ok(EnvSnapshot::CartPole { state: self.state, rng: self.rng.clone(), steps_beyond_terminated: self.steps_beyond_terminated })
    }

    fn restore(&mut self, snapshot: &EnvSnapshot, obs: &mut [f32]) -> Result<(), String> {
        let EnvSnapshot::CartPole { state, rng, steps_beyond_terminated } = snapshot else {
            return Err(format!("a {} env's state cannot be restored into CartPole", snapshot.kind()));
        };
        if state.iter().any(|v| !v.is_finite()) {
            return Err(format!("the checkpointed CartPole state {state:?} is not finite"));
        }
        self.state = *state;
        self.rng = rng.clone();
        self.steps_beyond_terminated = *steps_beyond_terminated;
        self.write_obs(obs);
        Ok(())
    }

    fn reset(&mut self, seed: Option<u64>, obs: &mut [f32]) {
        self.rng.reseed(seed);
        let mut s = [0.0; 4];
        for v in &mut s {
            *v = self.rng.uniform(-0.05, 0.05);
        }
        self.reset_to_state(s, obs);
    }

    #[inline]
    fn step(&mut self, action: Action<'_>, obs: &mut [f32]) -> StepOutcome {
        let [x, x_dot, theta, theta_dot] = self.state;
        let force = if action.index() == 1 { FORCE_MAG } else { -FORCE_MAG };
        let costheta = theta.cos();
        let sintheta = theta.sin();
        let temp = (force + POLEMASS_LENGTH * (theta_dot * theta_dot) * sintheta) / TOTAL_MASS;
        let thetaacc = (GRAVITY * sintheta - costheta * temp) / (LENGTH * (4.0 / 3.0 - MASSPOLE * (costheta * costheta) / TOTAL_MASS));
        let xacc = temp - POLEMASS_LENGTH * thetaacc * costheta / TOTAL_MASS;
        // Gymnasium's default "euler" integrator.
        self.state = [x + TAU * x_dot, x_dot + TAU * xacc, theta + TAU * theta_dot, theta_dot + TAU * thetaacc];
        self.write_obs(obs);

        let terminated = Self::is_terminal(&self.state);
        let reward = if !terminated {
            if self.sutton_barto_reward { 0.0 } else { 1.0 }
        } else if self.steps_beyond_terminated.is_none() {
            self.steps_beyond_terminated = Some(0);
            if self.sutton_barto_reward { -1.0 } else { 1.0 }
        } else {
            if let Some(n) = self.steps_beyond_terminated.as_mut() {
                *n += 1;
            }
            if self.sutton_barto_reward { -1.0 } else { 0.0 }
        };
        StepOutcome { reward, terminated, truncated: false }
    }
}
