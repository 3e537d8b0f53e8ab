//! MountainCar-v0 and MountainCarContinuous-v0, bit-exact with Gymnasium 1.4's
//! `mountain_car.py` and `continuous_mountain_car.py`.
//!
//! The discrete one is f64 throughout. The continuous one is mixed precision,
//! as NumPy 2 computes it with a float32 action: Gymnasium stores its state as
//! float32 after every step, so the first step works on the f64 reset state
//! and every later one in f32 (NumPy rounds a Python float meeting a float32
//! to float32 first).

use super::classic::ClassicState;
use super::np_random::EnvRng;
use super::params::ParamSpec;
use super::registry::EnvSpec;
use super::render::{RenderState, Shape};
use super::{Action, ActionSpace, BoxSpace, Env, EnvSnapshot, StepOutcome};

pub const ID: &str = "MountainCar-v0";
pub const CONTINUOUS_ID: &str = "MountainCarContinuous-v0";
const MIN_POSITION: f64 = -1.2;
const MAX_POSITION: f64 = 0.6;
const MAX_SPEED: f64 = 0.07;
const GOAL_POSITION: f64 = 0.5;
const CONTINUOUS_GOAL_POSITION: f64 = 0.45;

fn goal_velocity_param() -> ParamSpec {
    ParamSpec::float(
        "goal_velocity",
        0.0,
        None,
        None,
        "MountainCar: the velocity the car must have at the goal (Gymnasium's goal_velocity). Default 0.",
    )
}

fn observation_space() -> BoxSpace {
    BoxSpace { low: vec![MIN_POSITION as f32, -MAX_SPEED as f32], high: vec![MAX_POSITION as f32, MAX_SPEED as f32] }
}

/// MountainCar-v0's registry entry.
pub fn spec() -> EnvSpec {
    EnvSpec {
        id: ID.into(),
        aliases: Vec::new(),
        summary: "drive an underpowered car up a hill (3 actions, 2 observations)".into(),
        observation_space: observation_space(),
        action_space: MountainCar::default().action_space(),
        action_switch: None,
        max_episode_steps: 200,
        render_fps: 30.0,
        // Gymnasium's reward_threshold.
        reference_score: Some(-110.0),
        params: vec![goal_velocity_param()],
        gymnasium_id: Some(ID.into()),
        needs_box2d: false,
        make: std::sync::Arc::new(|p, limit| {
            let env = MountainCar { goal_velocity: p.f64("goal_velocity"), ..MountainCar::default() };
            Ok(super::with_time_limit(env, limit))
        }),
    }
}

/// MountainCarContinuous-v0's registry entry.
pub fn continuous_spec() -> EnvSpec {
    EnvSpec {
        id: CONTINUOUS_ID.into(),
        aliases: Vec::new(),
        summary: "drive an underpowered car up a hill with a throttle in [-1, 1] (2 observations)".into(),
        observation_space: observation_space(),
        action_space: MountainCarContinuous::default().action_space(),
        action_switch: None,
        max_episode_steps: 999,
        render_fps: 30.0,
        // Gymnasium's reward_threshold.
        reference_score: Some(90.0),
        params: vec![goal_velocity_param()],
        gymnasium_id: Some(CONTINUOUS_ID.into()),
        needs_box2d: false,
        make: std::sync::Arc::new(|p, limit| {
            let env = MountainCarContinuous { goal_velocity: p.f64("goal_velocity"), ..MountainCarContinuous::default() };
            Ok(super::with_time_limit(env, limit))
        }),
    }
}

/// Gymnasium's reset: position uniform in [-0.6, -0.4), velocity 0.
fn reset_state(rng: &mut EnvRng) -> [f64; 2] {
    [rng.uniform(-0.6, -0.4), 0.0]
}

#[derive(Clone)]
pub struct MountainCar {
    /// Position (x) and velocity (x per step).
    pub state: [f64; 2],
    pub goal_velocity: f64,
    rng: EnvRng,
}

impl Default for MountainCar {
    fn default() -> Self {
        Self { state: [0.0; 2], goal_velocity: 0.0, rng: EnvRng::seeded(0) }
    }
}

impl MountainCar {
    pub fn reset_to_state(&mut self, state: [f64; 2], obs: &mut [f32]) {
        self.state = state;
        write_obs(&self.state, obs);
    }
}

fn write_obs(state: &[f64; 2], obs: &mut [f32]) {
    obs[0] = state[0] as f32;
    obs[1] = state[1] as f32;
}

impl Env for MountainCar {
    fn id(&self) -> &str {
        ID
    }
    fn observation_space(&self) -> BoxSpace {
        observation_space()
    }
    fn action_space(&self) -> ActionSpace {
        ActionSpace::discrete(3, &["push left", "no push", "push right"])
    }

    fn reset(&mut self, seed: Option<u64>, obs: &mut [f32]) {
        self.rng.reseed(seed);
        let s = reset_state(&mut self.rng);
        self.reset_to_state(s, obs);
    }

    fn step(&mut self, action: Action<'_>, obs: &mut [f32]) -> StepOutcome {
        let [mut position, mut velocity] = self.state;
        // The force and gravity terms are summed first, then added (as the source groups them).
        velocity += (action.index().min(2) as f64 - 1.0) * 0.001 + (3.0 * position).cos() * (-0.0025);
        velocity = velocity.max(-MAX_SPEED).min(MAX_SPEED);
        position += velocity;
        position = position.max(MIN_POSITION).min(MAX_POSITION);
        if position == MIN_POSITION && velocity < 0.0 {
            velocity = 0.0;
        }
        let terminated = position >= GOAL_POSITION && velocity >= self.goal_velocity;
        self.state = [position, velocity];
        write_obs(&self.state, obs);
        StepOutcome { reward: -1.0, terminated, truncated: false }
    }

    fn render_state(&self) -> Option<RenderState> {
        Some(render(self.state[0], GOAL_POSITION))
    }

    fn snapshot(&self) -> Result<EnvSnapshot, String> {
        Ok(ClassicState { env_id: ID.into(), state: self.state.to_vec(), rng: self.rng.clone() }.into())
    }

    fn restore(&mut self, snapshot: &EnvSnapshot, obs: &mut [f32]) -> Result<(), String> {
        let c = ClassicState::from_snapshot(snapshot, ID, 2)?;
        self.state = [c.state[0], c.state[1]];
        self.rng = c.rng;
        write_obs(&self.state, obs);
        Ok(())
    }
}

#[derive(Clone)]
pub struct MountainCarContinuous {
    /// Position and velocity: the f64 reset state until the first step, float32 values after it.
    pub state: [f64; 2],
    /// Whether the state is Gymnasium's float32 array (after a step) rather than the f64 reset one.
    stepped: bool,
    pub goal_velocity: f64,
    rng: EnvRng,
}

impl Default for MountainCarContinuous {
    fn default() -> Self {
        Self { state: [0.0; 2], stepped: false, goal_velocity: 0.0, rng: EnvRng::seeded(0) }
    }
}

impl MountainCarContinuous {
    pub fn reset_to_state(&mut self, state: [f64; 2], obs: &mut [f32]) {
        self.state = state;
        self.stepped = false;
        write_obs(&self.state, obs);
    }

    /// The velocity change `force * power - 0.0025 * cos(3 * position)` as NumPy
    /// evaluates it: float32 when the action is a float32 inside [-1, 1], double
    /// when clipping made it a Python float.
    fn velocity_change(a: f32, cos_term: f64) -> f64 {
        let t2 = 0.0025 * cos_term;
        if (-1.0..=1.0).contains(&a) {
            let t1 = a * 0.0015f32;
            (t1 - t2 as f32) as f64
        } else {
            a.clamp(-1.0, 1.0) as f64 * 0.0015 - t2
        }
    }
}

impl Env for MountainCarContinuous {
    fn id(&self) -> &str {
        CONTINUOUS_ID
    }
    fn observation_space(&self) -> BoxSpace {
        observation_space()
    }
    fn action_space(&self) -> ActionSpace {
        ActionSpace::Box { low: vec![-1.0], high: vec![1.0] }
    }

    fn reset(&mut self, seed: Option<u64>, obs: &mut [f32]) {
        self.rng.reseed(seed);
        let s = reset_state(&mut self.rng);
        self.reset_to_state(s, obs);
    }

    fn step(&mut self, action: Action<'_>, obs: &mut [f32]) -> StepOutcome {
        let a = action.values().first().copied().unwrap_or(0.0);
        let [p, v] = self.state;
        let (position, velocity, terminated) = if !self.stepped {
            // Step 1: the reset state is a float64 array, so everything but the action term is double.
            let mut velocity = v + Self::velocity_change(a, (3.0 * p).cos());
            velocity = velocity.clamp(-MAX_SPEED, MAX_SPEED);
            let position = (p + velocity).clamp(MIN_POSITION, MAX_POSITION);
            if position == MIN_POSITION && velocity < 0.0 {
                velocity = 0.0;
            }
            let terminated = position >= CONTINUOUS_GOAL_POSITION && velocity >= self.goal_velocity;
            (position as f32, velocity as f32, terminated)
        } else {
            // Later steps: the state is float32, and so is every operation on it.
            let (p, v) = (p as f32, v as f32);
            let dv = Self::velocity_change(a, ((3.0f32 * p) as f64).cos());
            let velocity = (v + dv as f32).clamp(-MAX_SPEED as f32, MAX_SPEED as f32);
            let position = (p + velocity).clamp(MIN_POSITION as f32, MAX_POSITION as f32);
            let velocity = if position == MIN_POSITION as f32 && velocity < 0.0 { 0.0 } else { velocity };
            let terminated = position >= CONTINUOUS_GOAL_POSITION as f32 && velocity >= self.goal_velocity as f32;
            (position, velocity, terminated)
        };
        self.state = [position as f64, velocity as f64];
        self.stepped = true;
        write_obs(&self.state, obs);
        let a = a as f64;
        let reward = if terminated { 100.0 } else { 0.0 } - (a * a) * 0.1;
        StepOutcome { reward, terminated, truncated: false }
    }

    fn render_state(&self) -> Option<RenderState> {
        Some(render(self.state[0], CONTINUOUS_GOAL_POSITION))
    }

    fn snapshot(&self) -> Result<EnvSnapshot, String> {
        let state = vec![self.state[0], self.state[1], if self.stepped { 1.0 } else { 0.0 }];
        Ok(ClassicState { env_id: CONTINUOUS_ID.into(), state, rng: self.rng.clone() }.into())
    }

    fn restore(&mut self, snapshot: &EnvSnapshot, obs: &mut [f32]) -> Result<(), String> {
        let c = ClassicState::from_snapshot(snapshot, CONTINUOUS_ID, 3)?;
        self.state = [c.state[0], c.state[1]];
        self.stepped = c.state[2] != 0.0;
        self.rng = c.rng;
        write_obs(&self.state, obs);
        Ok(())
    }
}

fn height(x: f64) -> f64 {
    (3.0 * x).sin() * 0.45 + 0.55
}

/// Gymnasium's MountainCar render (600x400): the hill, the car and its wheels, the goal flag.
fn render(pos: f64, goal: f64) -> RenderState {
    let scale = 600.0 / (MAX_POSITION - MIN_POSITION);
    let (carwidth, carheight, clearance) = (40.0, 20.0, 10.0);
    let mut shapes = Vec::new();
    let xs: Vec<f64> = (0..100).map(|i| MIN_POSITION + (MAX_POSITION - MIN_POSITION) * i as f64 / 99.0).collect();
    for w in xs.windows(2) {
        let pt = |x: f64| (((x - MIN_POSITION) * scale) as f32, (height(x) * scale) as f32);
        shapes.push(Shape::Line { from: pt(w[0]), to: pt(w[1]), rgb: [0, 0, 0] });
    }
    let (sn, cs) = (3.0 * pos).cos().sin_cos();
    let rot = |(x, y): (f64, f64)| (x * cs - y * sn, x * sn + y * cs);
    let base = ((pos - MIN_POSITION) * scale, clearance + height(pos) * scale);
    let (l, r, t, b) = (-carwidth / 2.0, carwidth / 2.0, carheight, 0.0);
    let car = [(l, b), (l, t), (r, t), (r, b)].map(|c| {
        let (x, y) = rot(c);
        ((x + base.0) as f32, (y + base.1) as f32)
    });
    shapes.push(Shape::Polygon { points: car.to_vec(), rgb: [0, 0, 0] });
    for c in [(carwidth / 4.0, 0.0), (-carwidth / 4.0, 0.0)] {
        let (x, y) = rot(c);
        let radius = (carheight / 2.5f64).trunc() as f32;
        shapes.push(Shape::Circle { x: (x + base.0).trunc() as f32, y: (y + base.1).trunc() as f32, radius, rgb: [128, 128, 128] });
    }
    let flagx = ((goal - MIN_POSITION) * scale).trunc() as f32;
    let flagy1 = (height(goal) * scale).trunc() as f32;
    let flagy2 = flagy1 + 50.0;
    shapes.push(Shape::Line { from: (flagx, flagy1), to: (flagx, flagy2), rgb: [0, 0, 0] });
    shapes.push(Shape::Polygon { points: vec![(flagx, flagy2), (flagx, flagy2 - 10.0), (flagx + 25.0, flagy2 - 5.0)], rgb: [204, 204, 0] });
    RenderState::Scene(shapes)
}
