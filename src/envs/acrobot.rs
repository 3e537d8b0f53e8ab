//! Acrobot-v1, bit-exact with Gymnasium 1.4's `classic_control/acrobot.py`
//! ("book" dynamics, no torque noise): RK4 over one 0.2 s step in f64, in the
//! source's operation order, glibc `pow` where the source writes `**2`, the
//! wrap loop for the angles (a modulo gives other doubles).

use super::classic::{ClassicState, pow2};
use super::np_random::EnvRng;
use super::registry::EnvSpec;
use super::render::{RenderState, Shape};
use super::{Action, ActionSpace, BoxSpace, Env, EnvSnapshot, StepOutcome};
use std::f64::consts::PI;

pub const ID: &str = "Acrobot-v1";
const DT: f64 = 0.2;
const MAX_VEL_1: f64 = 4.0 * PI;
const MAX_VEL_2: f64 = 9.0 * PI;
const SCREEN_DIM: u32 = 500;

/// Acrobot-v1's registry entry.
pub fn spec() -> EnvSpec {
    EnvSpec {
        id: ID.into(),
        aliases: Vec::new(),
        summary: "swing a two-link arm's tip above the bar (3 torques, 6 observations)".into(),
        observation_space: Acrobot::default().observation_space(),
        action_space: Acrobot::default().action_space(),
        action_switch: None,
        max_episode_steps: 500,
        render_fps: 15.0,
        // Gymnasium's reward_threshold for Acrobot-v1.
        reference_score: Some(-100.0),
        params: Vec::new(),
        gymnasium_id: Some(ID.into()),
        needs_box2d: false,
        make: std::sync::Arc::new(|_, limit| Ok(super::with_time_limit(Acrobot::default(), limit))),
    }
}

#[derive(Clone)]
pub struct Acrobot {
    /// θ1 (rad, 0 = hanging down), θ2 (rad, relative to link 1), θ̇1, θ̇2 (rad/s).
    pub state: [f64; 4],
    rng: EnvRng,
}

impl Default for Acrobot {
    fn default() -> Self {
        Self { state: [0.0; 4], rng: EnvRng::seeded(0) }
    }
}

impl Acrobot {
    /// Starts an episode from a given state, as the reference replays do.
    pub fn reset_to_state(&mut self, state: [f64; 4], obs: &mut [f32]) {
        self.state = state;
        self.write_obs(obs);
    }

    fn write_obs(&self, obs: &mut [f32]) {
        let [t1, t2, d1, d2] = self.state;
        let v = [t1.cos(), t1.sin(), t2.cos(), t2.sin(), d1, d2];
        for (o, x) in obs.iter_mut().zip(v) {
            *o = x as f32;
        }
    }

    /// The time derivative of `(θ1, θ2, θ̇1, θ̇2)` under torque `a`.
    fn dsdt(s: [f64; 4], a: f64) -> [f64; 4] {
        let [theta1, theta2, dtheta1, dtheta2] = s;
        let d1 = ((0.25 + (1.25 + theta2.cos())) + 1.0) + 1.0;
        let d2 = (0.25 + 0.5 * theta2.cos()) + 1.0;
        let phi2 = 4.9 * ((theta1 + theta2) - PI / 2.0).cos();
        let phi1 = (((-0.5 * pow2(dtheta2)) * theta2.sin() - (dtheta2 * dtheta1) * theta2.sin())
            + 14.700000000000001 * (theta1 - PI / 2.0).cos())
            + phi2;
        let ddtheta2 = (((a + (d2 / d1) * phi1) - (0.5 * pow2(dtheta1)) * theta2.sin()) - phi2) / (1.25 - pow2(d2) / d1);
        let ddtheta1 = -(d2 * ddtheta2 + phi1) / d1;
        [dtheta1, dtheta2, ddtheta1, ddtheta2]
    }

    fn rk4(y0: [f64; 4], a: f64) -> [f64; 4] {
        let dt2 = DT / 2.0;
        let add = |y: [f64; 4], h: f64, k: [f64; 4]| std::array::from_fn(|i| y[i] + h * k[i]);
        let k1 = Self::dsdt(y0, a);
        let k2 = Self::dsdt(add(y0, dt2, k1), a);
        let k3 = Self::dsdt(add(y0, dt2, k2), a);
        let k4 = Self::dsdt(add(y0, DT, k3), a);
        std::array::from_fn(|i| y0[i] + DT / 6.0 * (((k1[i] + 2.0 * k2[i]) + 2.0 * k3[i]) + k4[i]))
    }

    fn terminal(&self) -> bool {
        let [t1, t2, ..] = self.state;
        -t1.cos() - (t2 + t1).cos() > 1.0
    }
}

/// Gymnasium's `wrap`: the loop, not a modulo (the two differ in the last bit).
fn wrap(mut x: f64, m: f64, big_m: f64) -> f64 {
    let diff = big_m - m;
    while x > big_m {
        x -= diff;
    }
    while x < m {
        x += diff;
    }
    x
}

impl Env for Acrobot {
    fn id(&self) -> &str {
        ID
    }

    fn observation_space(&self) -> BoxSpace {
        let high = [1.0, 1.0, 1.0, 1.0, MAX_VEL_1 as f32, MAX_VEL_2 as f32];
        BoxSpace { low: high.iter().map(|h| -h).collect(), high: high.to_vec() }
    }

    fn action_space(&self) -> ActionSpace {
        ActionSpace::discrete(3, &["torque -1", "no torque", "torque +1"])
    }

    fn reset(&mut self, seed: Option<u64>, obs: &mut [f32]) {
        self.rng.reseed(seed);
        // Drawn in f64, then cast to float32 as Gymnasium does.
        let s: [f64; 4] = std::array::from_fn(|_| self.rng.uniform(-0.1, 0.1) as f32 as f64);
        self.reset_to_state(s, obs);
    }

    fn step(&mut self, action: Action<'_>, obs: &mut [f32]) -> StepOutcome {
        let torque = [-1.0, 0.0, 1.0][action.index().min(2)];
        let [t1, t2, d1, d2] = Self::rk4(self.state, torque);
        self.state = [wrap(t1, -PI, PI), wrap(t2, -PI, PI), d1.max(-MAX_VEL_1).min(MAX_VEL_1), d2.max(-MAX_VEL_2).min(MAX_VEL_2)];
        self.write_obs(obs);
        let terminated = self.terminal();
        StepOutcome { reward: if terminated { 0.0 } else { -1.0 }, terminated, truncated: false }
    }

    fn render_state(&self) -> Option<RenderState> {
        let s = self.state;
        let dim = SCREEN_DIM as f64;
        let scale = dim / (2.2 * 2.0);
        let offset = dim / 2.0;
        let p1 = (-s[0].cos() * scale, s[0].sin() * scale);
        // Gymnasium swaps each point's coordinates (`[:, ::-1]`) before drawing.
        let joints = [(0.0, 0.0), (p1.1, p1.0)];
        let thetas = [s[0] - PI / 2.0, s[0] + s[1] - PI / 2.0];
        let mut shapes = vec![Shape::Line {
            from: ((-2.2 * scale + offset) as f32, (scale + offset) as f32),
            to: ((2.2 * scale + offset) as f32, (scale + offset) as f32),
            rgb: [0, 0, 0],
        }];
        for ((x, y), th) in joints.into_iter().zip(thetas) {
            let (x, y) = (x + offset, y + offset);
            let (l, r, t, b) = (0.0, scale, 0.1 * scale, -0.1 * scale);
            let (sn, cs) = th.sin_cos();
            let points = [(l, b), (l, t), (r, t), (r, b)].map(|(px, py)| ((px * cs - py * sn + x) as f32, (px * sn + py * cs + y) as f32));
            shapes.push(Shape::Polygon { points: points.to_vec(), rgb: [0, 204, 204] });
            shapes.push(Shape::Circle {
                x: x.trunc() as f32,
                y: y.trunc() as f32,
                radius: (0.1 * scale).trunc() as f32,
                rgb: [204, 204, 0],
            });
        }
        Some(RenderState::Sized { width: SCREEN_DIM, height: SCREEN_DIM, shapes })
    }

    fn snapshot(&self) -> Result<EnvSnapshot, String> {
        Ok(ClassicState { env_id: ID.into(), state: self.state.to_vec(), rng: self.rng.clone() }.into())
    }

    fn restore(&mut self, snapshot: &EnvSnapshot, obs: &mut [f32]) -> Result<(), String> {
        let c = ClassicState::from_snapshot(snapshot, ID, 4)?;
        self.state = std::array::from_fn(|i| c.state[i]);
        self.rng = c.rng;
        self.write_obs(obs);
        Ok(())
    }
}
