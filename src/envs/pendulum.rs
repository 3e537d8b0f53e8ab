//! Pendulum-v1, bit-exact with Gymnasium 1.4's `classic_control/pendulum.py`
//! fed float32 actions: the action terms are float32 arithmetic (NumPy 2
//! rounds the Python constants to float32 first), the rest double, glibc `pow`
//! for the source's `**2`.

use super::classic::{ClassicState, pow2, pow2f};
use super::np_random::EnvRng;
use super::params::{Limit, ParamSpec};
use super::registry::EnvSpec;
use super::render::{RenderState, Shape};
use super::{Action, ActionSpace, BoxSpace, Env, EnvSnapshot, StepOutcome};
use std::f64::consts::PI;

pub const ID: &str = "Pendulum-v1";
const MAX_SPEED: f64 = 8.0;
const MAX_TORQUE: f32 = 2.0;
const DT: f64 = 0.05;
const SCREEN_DIM: u32 = 500;

/// Pendulum-v1's registry entry.
pub fn spec() -> EnvSpec {
    EnvSpec {
        id: ID.into(),
        aliases: Vec::new(),
        summary: "swing a pendulum up and hold it upright with a torque in [-2, 2] (3 observations)".into(),
        observation_space: Pendulum::default().observation_space(),
        action_space: Pendulum::default().action_space(),
        action_switch: None,
        max_episode_steps: 200,
        render_fps: 30.0,
        // rl-zoo's tuned agents reach about -150; Gymnasium sets no threshold.
        reference_score: Some(-150.0),
        params: vec![
            ParamSpec::float(
                "g",
                10.0,
                Some(Limit { value: 0.0, inclusive: true }),
                None,
                "Pendulum: gravitational acceleration (Gymnasium's g). Default 10.0.",
            )
            .unit(" m/s²"),
        ],
        gymnasium_id: Some(ID.into()),
        needs_box2d: false,
        make: std::sync::Arc::new(|p, limit| Ok(super::with_time_limit(Pendulum { g: p.f64("g"), ..Pendulum::default() }, limit))),
    }
}

#[derive(Clone)]
pub struct Pendulum {
    /// θ (rad, 0 = upright, not wrapped) and θ̇ (rad/s).
    pub state: [f64; 2],
    pub g: f64,
    /// The last clipped torque, for the frame's arrow.
    last_u: Option<f32>,
    rng: EnvRng,
}

impl Default for Pendulum {
    fn default() -> Self {
        Self { state: [0.0; 2], g: 10.0, last_u: None, rng: EnvRng::seeded(0) }
    }
}

impl Pendulum {
    pub fn reset_to_state(&mut self, state: [f64; 2], obs: &mut [f32]) {
        self.state = state;
        self.last_u = None;
        self.write_obs(obs);
    }

    fn write_obs(&self, obs: &mut [f32]) {
        let [th, thdot] = self.state;
        obs[0] = th.cos() as f32;
        obs[1] = th.sin() as f32;
        obs[2] = thdot as f32;
    }
}

/// Gymnasium's `angle_normalize`: `((x + π) % 2π) - π` with Python's floor modulo.
fn angle_normalize(x: f64) -> f64 {
    (x + PI).rem_euclid(2.0 * PI) - PI
}

impl Env for Pendulum {
    fn id(&self) -> &str {
        ID
    }

    fn observation_space(&self) -> BoxSpace {
        BoxSpace { low: vec![-1.0, -1.0, -MAX_SPEED as f32], high: vec![1.0, 1.0, MAX_SPEED as f32] }
    }

    fn action_space(&self) -> ActionSpace {
        ActionSpace::Box { low: vec![-MAX_TORQUE], high: vec![MAX_TORQUE] }
    }

    fn reset(&mut self, seed: Option<u64>, obs: &mut [f32]) {
        self.rng.reseed(seed);
        let th = self.rng.uniform(-PI, PI);
        let thdot = self.rng.uniform(-1.0, 1.0);
        self.reset_to_state([th, thdot], obs);
    }

    fn step(&mut self, action: Action<'_>, obs: &mut [f32]) -> StepOutcome {
        let [th, thdot] = self.state;
        let u = action.values().first().copied().unwrap_or(0.0).clamp(-MAX_TORQUE, MAX_TORQUE);
        self.last_u = Some(u);
        let costs = (pow2(angle_normalize(th)) + 0.1 * pow2(thdot)) + (0.001f32 * pow2f(u)) as f64;
        let newthdot = thdot + (3.0 * self.g / 2.0 * th.sin() + (3.0f32 * u) as f64) * DT;
        let newthdot = newthdot.max(-MAX_SPEED).min(MAX_SPEED);
        self.state = [th + newthdot * DT, newthdot];
        self.write_obs(obs);
        StepOutcome { reward: -costs, terminated: false, truncated: false }
    }

    fn render_state(&self) -> Option<RenderState> {
        let dim = SCREEN_DIM as f64;
        let scale = dim / (2.2 * 2.0);
        let offset = (SCREEN_DIM / 2) as f64;
        let (rod_length, rod_width) = (scale, 0.2 * scale);
        let red = [204, 77, 77];
        let (sn, cs) = (self.state[0] + PI / 2.0).sin_cos();
        let rot = |(x, y): (f64, f64)| (x * cs - y * sn + offset, x * sn + y * cs + offset);
        let (l, r, t, b) = (0.0, rod_length, rod_width / 2.0, -rod_width / 2.0);
        let rod = [(l, b), (l, t), (r, t), (r, b)].map(|c| {
            let (x, y) = rot(c);
            (x as f32, y as f32)
        });
        let radius = (rod_width / 2.0).trunc() as f32;
        let end = rot((rod_length, 0.0));
        let mut shapes = vec![
            Shape::Polygon { points: rod.to_vec(), rgb: red },
            Shape::Circle { x: offset as f32, y: offset as f32, radius, rgb: red },
            Shape::Circle { x: end.0.trunc() as f32, y: end.1.trunc() as f32, radius, rgb: red },
        ];
        // Gymnasium blits an arrow image sized by |u|; drawn here as an arc with an arrowhead.
        if let Some(u) = self.last_u.filter(|u| *u != 0.0) {
            let radius = scale * (u.abs() as f64) / 4.0;
            let sign = if u > 0.0 { 1.0 } else { -1.0 };
            let arc: Vec<(f32, f32)> = (0..=24)
                .map(|i| {
                    let a = sign * (-PI / 2.0 + 1.5 * PI * i as f64 / 24.0);
                    ((offset + radius * a.cos()) as f32, (offset + radius * a.sin()) as f32)
                })
                .collect();
            for w in arc.windows(2) {
                shapes.push(Shape::Line { from: w[0], to: w[1], rgb: [0, 0, 0] });
            }
            if let (Some(&tip), Some(&before)) = (arc.last(), arc.get(arc.len().saturating_sub(3))) {
                let (dx, dy) = (tip.0 - before.0, tip.1 - before.1);
                let n = (dx * dx + dy * dy).sqrt().max(1e-6);
                let (ux, uy) = (dx / n * 8.0, dy / n * 8.0);
                shapes.push(Shape::Polygon {
                    points: vec![(tip.0 + ux, tip.1 + uy), (tip.0 - uy * 0.6, tip.1 + ux * 0.6), (tip.0 + uy * 0.6, tip.1 - ux * 0.6)],
                    rgb: [0, 0, 0],
                });
            }
        }
        shapes.push(Shape::Circle { x: offset as f32, y: offset as f32, radius: (0.05 * scale).trunc() as f32, rgb: [0, 0, 0] });
        Some(RenderState::Sized { width: SCREEN_DIM, height: SCREEN_DIM, shapes })
    }

    fn snapshot(&self) -> Result<EnvSnapshot, String> {
        Ok(ClassicState { env_id: ID.into(), state: self.state.to_vec(), rng: self.rng.clone() }.into())
    }

    fn restore(&mut self, snapshot: &EnvSnapshot, obs: &mut [f32]) -> Result<(), String> {
        let c = ClassicState::from_snapshot(snapshot, ID, 2)?;
        self.state = [c.state[0], c.state[1]];
        self.rng = c.rng;
        self.last_u = None;
        self.write_obs(obs);
        Ok(())
    }
}
