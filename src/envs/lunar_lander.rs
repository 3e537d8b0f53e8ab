//! LunarLander-v3 (discrete), following Gymnasium 1.4's `box2d/lunar_lander.py`
//! on box2d-rs (a pure-Rust port of Box2D 2.4).
//!
//! Everything Python computes in double is computed in f64 here and rounded to
//! f32 where it enters Box2D, as pybox2d does. Every random number goes through
//! [`LunarLander::draw`], so reference episodes can be replayed by injecting the
//! recorded draws. Known difference: Box2D 2.4 solves revolute-joint limits
//! differently from the 2.3 engine Gymnasium uses, which moves the legs
//! slightly (flight-phase observations agree to ~1e-2, see the parity test).
//! Engine particles are decoration in Gymnasium (separate islands that never
//! touch the lander) and are not simulated.

use super::np_random::EnvRng;
use super::{Action, ActionSpace, BoxSpace, Env, EnvSnapshot, StepOutcome};
use box2d_rs::b2_body::{B2body, B2bodyDef, B2bodyType, BodyPtr};
use box2d_rs::b2_contact::B2contactDynTrait;
use box2d_rs::b2_fixture::B2fixtureDef;
use box2d_rs::b2_joint::B2JointDefEnum;
use box2d_rs::b2_math::B2vec2;
use box2d_rs::b2_world::{B2world, B2worldPtr};
use box2d_rs::b2_world_callbacks::B2contactListener;
use box2d_rs::b2rs_common::UserDataType;
use box2d_rs::joints::b2_revolute_joint::B2revoluteJointDef;
use box2d_rs::shapes::b2_edge_shape::B2edgeShape;
use box2d_rs::shapes::b2_polygon_shape::B2polygonShape;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

pub const FPS: f64 = 50.0;
pub const SCALE: f64 = 30.0;
const MAIN_ENGINE_POWER: f64 = 13.0;
const SIDE_ENGINE_POWER: f64 = 0.6;
const INITIAL_RANDOM: f64 = 1000.0;
const LANDER_POLY: [(f64, f64); 6] = [(-14.0, 17.0), (-17.0, 0.0), (-17.0, -10.0), (17.0, -10.0), (17.0, 0.0), (14.0, 17.0)];
const LEG_AWAY: f64 = 20.0;
const LEG_DOWN: f64 = 18.0;
const LEG_W: f64 = 2.0;
const LEG_H: f64 = 8.0;
const LEG_SPRING_TORQUE: f64 = 40.0;
const SIDE_ENGINE_HEIGHT: f64 = 14.0;
const SIDE_ENGINE_AWAY: f64 = 12.0;
pub const VIEWPORT_W: f64 = 600.0;
pub const VIEWPORT_H: f64 = 400.0;
pub const W: f64 = VIEWPORT_W / SCALE;
pub const H: f64 = VIEWPORT_H / SCALE;
pub const CHUNKS: usize = 11;

/// Which part of the scene a fixture belongs to (Box2D user data).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Part {
    #[default]
    Ground,
    Lander,
    Leg0,
    Leg1,
}

#[derive(Clone, Debug, Default)]
pub struct LanderData;
impl UserDataType for LanderData {
    type Fixture = Part;
    type Body = Part;
    type Joint = ();
}

#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct Contacts {
    game_over: bool,
    legs: [bool; 2],
}

/// Gymnasium's `ContactDetector`.
struct ContactDetector {
    state: Rc<RefCell<Contacts>>,
}

fn parts(contact: &dyn B2contactDynTrait<LanderData>) -> (Part, Part) {
    let base = contact.get_base();
    let a = base.get_fixture_a().borrow().get_user_data().unwrap_or_default();
    let b = base.get_fixture_b().borrow().get_user_data().unwrap_or_default();
    (a, b)
}

impl B2contactListener<LanderData> for ContactDetector {
    fn begin_contact(&mut self, contact: &mut dyn B2contactDynTrait<LanderData>) {
        let (a, b) = parts(contact);
        let mut s = self.state.borrow_mut();
        if a == Part::Lander || b == Part::Lander {
            s.game_over = true;
        }
        for (i, leg) in [Part::Leg0, Part::Leg1].into_iter().enumerate() {
            if a == leg || b == leg {
                s.legs[i] = true;
            }
        }
    }
    fn end_contact(&mut self, contact: &mut dyn B2contactDynTrait<LanderData>) {
        let (a, b) = parts(contact);
        let mut s = self.state.borrow_mut();
        for (i, leg) in [Part::Leg0, Part::Leg1].into_iter().enumerate() {
            if a == leg || b == leg {
                s.legs[i] = false;
            }
        }
    }
}

use super::lunar_lander_entry::Engines;
pub use super::lunar_lander_entry::{ACTION_NAMES, CONTINUOUS_ID, ID, LunarLanderParams, continuous_spec, heuristic, spec};

/// The scene, as needed to draw it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Terrain {
    pub chunk_x: Vec<f64>,
    pub smooth_y: Vec<f64>,
    pub helipad_x1: f64,
    pub helipad_x2: f64,
    pub helipad_y: f64,
}

struct Scene {
    world: B2worldPtr<LanderData>,
    lander: BodyPtr<LanderData>,
    legs: [BodyPtr<LanderData>; 2],
}

pub struct LunarLander {
    pub params: LunarLanderParams,
    rng: EnvRng,
    /// Recorded draws to use before the generator (reference replays).
    injected: VecDeque<f64>,
    scene: Option<Scene>,
    contacts: Rc<RefCell<Contacts>>,
    prev_shaping: Option<f64>,
    pub terrain: Terrain,
    wind_idx: i64,
    torque_idx: i64,
    /// The unrounded state of the last step (rewards are computed from it).
    pub last_state: [f64; 8],
    /// Engine particles, simulated only while rendering (decoration).
    render: bool,
    particles: Vec<SimParticle>,
    /// The generator as the current episode began and the actions since:
    /// enough to replay the episode exactly (a checkpoint of the env).
    episode_rng: EnvRng,
    episode_actions: Vec<u8>,
    episode_continuous_actions: Vec<[f32; 2]>,
}

/// A decorative particle: ballistic flight under gravity, fading with `ttl`.
#[derive(Clone, Copy, Debug)]
struct SimParticle {
    x: f64,
    y: f64,
    vx: f64,
    vy: f64,
    ttl: f64,
}

// SAFETY: box2d-rs links its world, bodies, fixtures and joints with `Rc`/`RefCell`.
// Every one of those pointers is created by and stays inside this struct (no
// `Rc` is ever handed out), so moving the whole env to another thread moves all
// clones of every `Rc` together and no two threads can touch a reference count
// or a `RefCell` at once; `&mut self` is needed for any access.
unsafe impl Send for LunarLander {}

impl Default for LunarLander {
    fn default() -> Self {
        Self::new(LunarLanderParams::default())
    }
}

impl LunarLander {
    pub fn new(params: LunarLanderParams) -> Self {
        Self {
            params,
            rng: EnvRng::seeded(0),
            injected: VecDeque::new(),
            scene: None,
            contacts: Rc::new(RefCell::new(Contacts::default())),
            prev_shaping: None,
            terrain: Terrain::default(),
            wind_idx: 0,
            torque_idx: 0,
            last_state: [0.0; 8],
            render: false,
            particles: Vec::new(),
            episode_rng: EnvRng::seeded(0),
            episode_actions: Vec::new(),
            episode_continuous_actions: Vec::new(),
        }
    }

    /// Gymnasium's `_create_particle`: a circle of radius 2/SCALE and the given
    /// density, pushed by the engine's opposite impulse.
    fn spawn_particle(&mut self, density: f64, pos: (f64, f64), impulse: (f64, f64), ttl: f64) {
        if !self.render {
            return;
        }
        let mass = density * std::f64::consts::PI * (2.0 / SCALE).powi(2);
        self.particles.push(SimParticle { x: pos.0, y: pos.1, vx: impulse.0 / mass, vy: impulse.1 / mass, ttl });
    }

    fn advance_particles(&mut self) {
        let dt = 1.0 / FPS;
        for p in &mut self.particles {
            p.vy += self.params.gravity * dt;
            p.x += p.vx * dt;
            p.y += p.vy * dt;
            if p.y < 0.0 {
                p.y = 0.0;
                p.vy = -0.3 * p.vy;
            }
            p.ttl -= 0.15; // Gymnasium ages particles by 0.15 per rendered frame
        }
        self.particles.retain(|p| p.ttl >= 0.0);
    }

    /// Queues values that the next `uniform` draws return instead of fresh
    /// random numbers, in Gymnasium's order (terrain 12, force 2, then 2 per step).
    pub fn inject_draws(&mut self, draws: &[f64]) {
        self.injected.extend(draws.iter().copied());
    }

    /// `np_random.uniform(low, high)`, or the next injected value.
    fn draw(&mut self, low: f64, high: f64) -> f64 {
        match self.injected.pop_front() {
            Some(v) => v,
            None => self.rng.uniform(low, high),
        }
    }

    pub fn leg_contacts(&self) -> [bool; 2] {
        self.contacts.borrow().legs
    }

    /// Lander and leg polygons in world coordinates (for drawing frames).
    pub fn body_polygons(&self) -> Vec<(Part, Vec<(f64, f64)>)> {
        let Some(scene) = &self.scene else { return Vec::new() };
        let mut out = Vec::new();
        let lander_local: Vec<(f64, f64)> = LANDER_POLY.iter().map(|&(x, y)| (x / SCALE, y / SCALE)).collect();
        let leg_local = vec![
            (-LEG_W / SCALE, -LEG_H / SCALE),
            (LEG_W / SCALE, -LEG_H / SCALE),
            (LEG_W / SCALE, LEG_H / SCALE),
            (-LEG_W / SCALE, LEG_H / SCALE),
        ];
        for (part, body, local) in [
            (Part::Lander, &scene.lander, &lander_local),
            (Part::Leg0, &scene.legs[0], &leg_local),
            (Part::Leg1, &scene.legs[1], &leg_local),
        ] {
            let b = body.borrow();
            let p = b.get_position();
            let (s, c) = (b.get_angle() as f64).sin_cos();
            let pts = local.iter().map(|&(x, y)| (p.x as f64 + c * x - s * y, p.y as f64 + s * x + c * y)).collect();
            out.push((part, pts));
        }
        out
    }

    fn build_scene(&mut self) -> Scene {
        let world = B2world::<LanderData>::new(B2vec2::new(0.0, self.params.gravity as f32));
        self.contacts.replace(Contacts::default());
        world.borrow_mut().set_contact_listener(Rc::new(RefCell::new(ContactDetector { state: self.contacts.clone() })));

        // Terrain: 12 draws, the helipad chunks flattened, then smoothed (with
        // Python's wrap-around index -1 for the first chunk).
        let mut height: Vec<f64> = (0..=CHUNKS).map(|_| self.draw(0.0, H / 2.0)).collect();
        let chunk_x: Vec<f64> = (0..CHUNKS).map(|i| W / (CHUNKS - 1) as f64 * i as f64).collect();
        let helipad_y = H / 4.0;
        for h in &mut height[CHUNKS / 2 - 2..=CHUNKS / 2 + 2] {
            *h = helipad_y;
        }
        let smooth_y: Vec<f64> = (0..CHUNKS)
            .map(|i| {
                let prev = if i == 0 { height[CHUNKS] } else { height[i - 1] };
                0.33 * (prev + height[i] + height[i + 1])
            })
            .collect();

        let moon = B2world::create_body(world.clone(), &B2bodyDef::default());
        let edge = |p1: (f64, f64), p2: (f64, f64), friction: f32| {
            let mut shape = B2edgeShape::default();
            shape.set_two_sided(B2vec2::new(p1.0 as f32, p1.1 as f32), B2vec2::new(p2.0 as f32, p2.1 as f32));
            let mut fd = B2fixtureDef::<LanderData>::default();
            fd.shape = Some(Rc::new(RefCell::new(shape)));
            fd.density = 0.0;
            fd.friction = friction;
            fd.user_data = Some(Part::Ground);
            fd
        };
        B2body::create_fixture(moon.clone(), &edge((0.0, 0.0), (W, 0.0), 0.2));
        for i in 0..CHUNKS - 1 {
            B2body::create_fixture(moon.clone(), &edge((chunk_x[i], smooth_y[i]), (chunk_x[i + 1], smooth_y[i + 1]), 0.1));
        }
        self.terrain = Terrain { helipad_x1: chunk_x[CHUNKS / 2 - 1], helipad_x2: chunk_x[CHUNKS / 2 + 1], helipad_y, chunk_x, smooth_y };

        let initial_x = VIEWPORT_W / SCALE / 2.0;
        let initial_y = VIEWPORT_H / SCALE;
        let mut bd = B2bodyDef::<LanderData>::default();
        bd.body_type = B2bodyType::B2DynamicBody;
        bd.position = B2vec2::new(initial_x as f32, initial_y as f32);
        bd.angle = 0.0;
        bd.user_data = Some(Part::Lander);
        let lander = B2world::create_body(world.clone(), &bd);
        let mut poly = B2polygonShape::default();
        let verts: Vec<B2vec2> = LANDER_POLY.iter().map(|&(x, y)| B2vec2::new((x / SCALE) as f32, (y / SCALE) as f32)).collect();
        poly.set(&verts);
        let mut fd = B2fixtureDef::<LanderData>::default();
        fd.shape = Some(Rc::new(RefCell::new(poly)));
        fd.density = 5.0;
        fd.friction = 0.1;
        fd.filter.category_bits = 0x0010;
        fd.filter.mask_bits = 0x001;
        fd.restitution = 0.0;
        fd.user_data = Some(Part::Lander);
        B2body::create_fixture(lander.clone(), &fd);
        let fx = self.draw(-INITIAL_RANDOM, INITIAL_RANDOM);
        let fy = self.draw(-INITIAL_RANDOM, INITIAL_RANDOM);
        lander.borrow_mut().apply_force_to_center(B2vec2::new(fx as f32, fy as f32), true);

        let mut legs = Vec::with_capacity(2);
        for (k, i) in [-1.0f64, 1.0].into_iter().enumerate() {
            let part = if k == 0 { Part::Leg0 } else { Part::Leg1 };
            let mut bd = B2bodyDef::<LanderData>::default();
            bd.body_type = B2bodyType::B2DynamicBody;
            bd.position = B2vec2::new((initial_x - i * LEG_AWAY / SCALE) as f32, initial_y as f32);
            bd.angle = (i * 0.05) as f32;
            bd.user_data = Some(part);
            let leg = B2world::create_body(world.clone(), &bd);
            let mut shape = B2polygonShape::default();
            shape.set_as_box((LEG_W / SCALE) as f32, (LEG_H / SCALE) as f32);
            let mut fd = B2fixtureDef::<LanderData>::default();
            fd.shape = Some(Rc::new(RefCell::new(shape)));
            fd.density = 1.0;
            fd.restitution = 0.0;
            fd.filter.category_bits = 0x0020;
            fd.filter.mask_bits = 0x001;
            fd.user_data = Some(part);
            B2body::create_fixture(leg.clone(), &fd);

            let mut rjd = B2revoluteJointDef::<LanderData>::default();
            rjd.base.body_a = Some(lander.clone());
            rjd.base.body_b = Some(leg.clone());
            rjd.local_anchor_a = B2vec2::new(0.0, 0.0);
            rjd.local_anchor_b = B2vec2::new((i * LEG_AWAY / SCALE) as f32, (LEG_DOWN / SCALE) as f32);
            // pybox2d's revoluteJointDef(bodyA, bodyB) sets referenceAngle = angleB - angleA.
            rjd.reference_angle = (i * 0.05) as f32 - 0.0;
            rjd.enable_motor = true;
            rjd.enable_limit = true;
            rjd.max_motor_torque = LEG_SPRING_TORQUE as f32;
            rjd.motor_speed = (0.3 * i) as f32;
            if i < 0.0 {
                rjd.lower_angle = (0.9 - 0.5) as f32;
                rjd.upper_angle = 0.9;
            } else {
                rjd.lower_angle = -0.9;
                rjd.upper_angle = (-0.9 + 0.5) as f32;
            }
            world.borrow_mut().create_joint(&B2JointDefEnum::RevoluteJoint(rjd));
            legs.push(leg);
        }
        let legs: [BodyPtr<LanderData>; 2] = [legs[0].clone(), legs[1].clone()];
        Scene { world, lander, legs }
    }

    /// One Gymnasium step with these engines firing.
    fn step_physics(&mut self, engines: Engines, obs: &mut [f32]) -> StepOutcome {
        let Some(scene) = self.scene.as_ref() else {
            obs.fill(0.0);
            return StepOutcome { reward: 0.0, terminated: true, truncated: false };
        };
        let (lander, world) = (scene.lander.clone(), scene.world.clone());
        let legs_touch = {
            let c = self.contacts.borrow();
            c.legs[0] || c.legs[1]
        };
        if self.params.enable_wind && !legs_touch {
            let wi = self.wind_idx as f64;
            let wind_mag = ((0.02 * wi).sin() + (std::f64::consts::PI * 0.01 * wi).sin()).tanh() * self.params.wind_power;
            self.wind_idx += 1;
            lander.borrow_mut().apply_force_to_center(B2vec2::new(wind_mag as f32, 0.0), true);
            let ti = self.torque_idx as f64;
            let torque_mag = ((0.02 * ti).sin() + (std::f64::consts::PI * 0.01 * ti).sin()).tanh() * self.params.turbulence_power;
            self.torque_idx += 1;
            lander.borrow_mut().apply_torque(torque_mag as f32, true);
        }

        let (angle, pos) = {
            let b = lander.borrow();
            (b.get_angle() as f64, b.get_position())
        };
        let tip = (angle.sin(), angle.cos());
        let side = (-tip.1, tip.0);
        let dispersion = [self.draw(-1.0, 1.0) / SCALE, self.draw(-1.0, 1.0) / SCALE];

        let mut m_power = 0.0;
        if let Some(power) = engines.main {
            m_power = power;
            let ox = tip.0 * (4.0 / SCALE + 2.0 * dispersion[0]) + side.0 * dispersion[1];
            let oy = -tip.1 * (4.0 / SCALE + 2.0 * dispersion[0]) - side.1 * dispersion[1];
            let impulse_pos = B2vec2::new((pos.x as f64 + ox) as f32, (pos.y as f64 + oy) as f32);
            let impulse = B2vec2::new((-ox * MAIN_ENGINE_POWER * m_power) as f32, (-oy * MAIN_ENGINE_POWER * m_power) as f32);
            lander.borrow_mut().apply_linear_impulse(impulse, impulse_pos, true);
            let p = (impulse_pos.x as f64, impulse_pos.y as f64);
            self.spawn_particle(3.5, p, (ox * MAIN_ENGINE_POWER * m_power, oy * MAIN_ENGINE_POWER * m_power), m_power);
        }
        let mut s_power = 0.0;
        if let Some((direction, power)) = engines.side {
            s_power = power;
            let ox = tip.0 * dispersion[0] + side.0 * (3.0 * dispersion[1] + direction * SIDE_ENGINE_AWAY / SCALE);
            let oy = -tip.1 * dispersion[0] - side.1 * (3.0 * dispersion[1] + direction * SIDE_ENGINE_AWAY / SCALE);
            // Gymnasium's quirk kept: -tip.x * 17 in x but +tip.y * SIDE_ENGINE_HEIGHT in y.
            let impulse_pos = B2vec2::new(
                (pos.x as f64 + ox - tip.0 * 17.0 / SCALE) as f32,
                (pos.y as f64 + oy + tip.1 * SIDE_ENGINE_HEIGHT / SCALE) as f32,
            );
            let impulse = B2vec2::new((-ox * SIDE_ENGINE_POWER * s_power) as f32, (-oy * SIDE_ENGINE_POWER * s_power) as f32);
            lander.borrow_mut().apply_linear_impulse(impulse, impulse_pos, true);
            let p = (impulse_pos.x as f64, impulse_pos.y as f64);
            self.spawn_particle(0.7, p, (ox * SIDE_ENGINE_POWER * s_power, oy * SIDE_ENGINE_POWER * s_power), s_power);
        }
        if self.render {
            self.advance_particles();
        }

        world.borrow_mut().step((1.0 / FPS) as f32, 6 * 30, 2 * 30);

        let (pos, vel, angle, omega, awake) = {
            let b = lander.borrow();
            (b.get_position(), b.get_linear_velocity(), b.get_angle() as f64, b.get_angular_velocity() as f64, b.is_awake())
        };
        let contacts = *self.contacts.borrow();
        let state = [
            (pos.x as f64 - VIEWPORT_W / SCALE / 2.0) / (VIEWPORT_W / SCALE / 2.0),
            (pos.y as f64 - (self.terrain.helipad_y + LEG_DOWN / SCALE)) / (VIEWPORT_H / SCALE / 2.0),
            vel.x as f64 * (VIEWPORT_W / SCALE / 2.0) / FPS,
            vel.y as f64 * (VIEWPORT_H / SCALE / 2.0) / FPS,
            angle,
            20.0 * omega / FPS,
            if contacts.legs[0] { 1.0 } else { 0.0 },
            if contacts.legs[1] { 1.0 } else { 0.0 },
        ];
        self.last_state = state;
        for (o, s) in obs.iter_mut().zip(state) {
            *o = s as f32;
        }

        let shaping = -100.0 * (state[0] * state[0] + state[1] * state[1]).sqrt()
            - 100.0 * (state[2] * state[2] + state[3] * state[3]).sqrt()
            - 100.0 * state[4].abs()
            + 10.0 * state[6]
            + 10.0 * state[7];
        let mut reward = match self.prev_shaping {
            Some(prev) => shaping - prev,
            None => 0.0,
        };
        self.prev_shaping = Some(shaping);
        reward -= m_power * 0.30;
        reward -= s_power * 0.03;

        let mut terminated = false;
        if contacts.game_over || state[0].abs() >= 1.0 {
            terminated = true;
            reward = -100.0;
        }
        if !awake {
            terminated = true;
            reward = 100.0;
        }
        StepOutcome { reward, terminated, truncated: false }
    }

    /// Why the last episode ended, as the reference fixtures name it.
    pub fn outcome(&self, out: &StepOutcome) -> &'static str {
        if out.truncated && !out.terminated {
            "truncated"
        } else if out.reward == 100.0 && out.terminated {
            "landed"
        } else if self.contacts.borrow().game_over {
            "crashed"
        } else if out.terminated {
            "out_of_bounds"
        } else {
            "running"
        }
    }
}

impl Env for LunarLander {
    fn id(&self) -> &str {
        ID
    }

    fn observation_space(&self) -> BoxSpace {
        let pi = std::f32::consts::PI;
        BoxSpace {
            low: vec![-2.5, -2.5, -10.0, -10.0, -2.0 * pi, -10.0, 0.0, 0.0],
            high: vec![2.5, 2.5, 10.0, 10.0, 2.0 * pi, 10.0, 1.0, 1.0],
        }
    }

    fn action_space(&self) -> ActionSpace {
        if self.params.continuous { super::lunar_lander_entry::continuous_action_space() } else { ActionSpace::discrete(4, &ACTION_NAMES) }
    }

    fn reset(&mut self, seed: Option<u64>, obs: &mut [f32]) {
        self.rng.reseed(seed);
        self.episode_rng = self.rng.clone();
        self.episode_actions.clear();
        self.episode_continuous_actions.clear();
        if self.params.enable_wind {
            // v3 draws the wind and turbulence phases at every reset.
            self.wind_idx = self.rng.integers(-9_999, 9_999);
            self.torque_idx = self.rng.integers(-9_999, 9_999);
        }
        self.scene = None;
        self.prev_shaping = None;
        self.particles.clear();
        let scene = self.build_scene();
        self.scene = Some(scene);
        // Gymnasium's reset ends with a step firing no engine: it sets prev_shaping and draws dispersion.
        self.step_physics(Engines::default(), obs);
    }

    fn step(&mut self, action: Action<'_>, obs: &mut [f32]) -> StepOutcome {
        let engines = if self.params.continuous {
            let v = action.values();
            let a = [v.first().copied().unwrap_or(0.0), v.get(1).copied().unwrap_or(0.0)];
            self.episode_continuous_actions.push(a);
            Engines::continuous(a)
        } else {
            let action = action.index();
            self.episode_actions.push(action.min(u8::MAX as usize) as u8);
            Engines::discrete(action)
        };
        self.step_physics(engines, obs)
    }

    fn snapshot(&self) -> Result<EnvSnapshot, String> {
        if !self.injected.is_empty() {
            return Err("a LunarLander replaying recorded draws cannot be checkpointed".into());
        }
        Ok(EnvSnapshot::LunarLander {
            episode_rng: self.episode_rng.clone(),
            actions: self.episode_actions.clone(),
            continuous_actions: self.episode_continuous_actions.clone(),
        })
    }

    /// Replays the episode: Box2D is deterministic, so the same generator and
    /// actions rebuild the same world, bit for bit.
    fn restore(&mut self, snapshot: &EnvSnapshot, obs: &mut [f32]) -> Result<(), String> {
        let EnvSnapshot::LunarLander { episode_rng, actions, continuous_actions } = snapshot else {
            return Err(format!("a {} env's state cannot be restored into LunarLander", snapshot.kind()));
        };
        if self.params.continuous != actions.is_empty() && !(actions.is_empty() && continuous_actions.is_empty()) {
            let (mine, theirs) = if self.params.continuous { ("continuous", "discrete") } else { ("discrete", "continuous") };
            return Err(format!("the checkpointed LunarLander episode is a {theirs} one; this env is {mine} (env.params.continuous)"));
        }
        if continuous_actions.iter().flatten().any(|v| !v.is_finite()) {
            return Err("the checkpointed LunarLander episode holds a non-finite action".into());
        }
        if let Some(a) = actions.iter().find(|&&a| a as usize >= ACTION_NAMES.len()) {
            return Err(format!("the checkpointed LunarLander episode holds action {a}; actions are 0..=3"));
        }
        self.injected.clear();
        self.rng = episode_rng.clone();
        self.reset(None, obs);
        for &a in actions {
            self.step(Action::Discrete(a as usize), obs);
        }
        for a in continuous_actions {
            self.step(Action::Continuous(a), obs);
        }
        Ok(())
    }

    fn prefers_threads(&self) -> bool {
        true
    }

    fn set_render(&mut self, on: bool) {
        self.render = on;
        if !on {
            self.particles.clear();
        }
    }

    fn render_state(&self) -> Option<super::render::RenderState> {
        let t = &self.terrain;
        let f = |v: &[f64]| v.iter().map(|&x| x as f32).collect::<Vec<f32>>();
        Some(super::render::RenderState::LunarLander {
            chunk_x: f(&t.chunk_x),
            smooth_y: f(&t.smooth_y),
            helipad_x1: t.helipad_x1 as f32,
            helipad_x2: t.helipad_x2 as f32,
            helipad_y: t.helipad_y as f32,
            bodies: self.body_polygons().into_iter().map(|(_, pts)| pts.into_iter().map(|(x, y)| (x as f32, y as f32)).collect()).collect(),
            particles: self.particles.iter().map(|p| super::render::Particle { x: p.x as f32, y: p.y as f32, ttl: p.ttl as f32 }).collect(),
        })
    }
}
