//! Replays Gymnasium's reference episodes and demands exact equality.
//! Reads every `*.jsonl` in `$RL_RESEARCH_GYM_FIXTURES` (default `../shared/fixtures/gym`).

use rl_research::envs::acrobot::Acrobot;
use rl_research::envs::lunar_lander::LunarLander;
use rl_research::envs::mountain_car::{MountainCar, MountainCarContinuous};
use rl_research::envs::pendulum::Pendulum;
use rl_research::envs::{Action, CartPole, Env, TimeLimit};
use serde_json::Value;
use std::path::PathBuf;

fn fixtures_dir() -> PathBuf {
    match std::env::var_os("RL_RESEARCH_GYM_FIXTURES") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/gym"),
    }
}

fn f64s(v: &Value, what: &str) -> Vec<f64> {
    v.as_array()
        .unwrap_or_else(|| panic!("{what} is not an array"))
        .iter()
        .map(|x| x.as_f64().unwrap_or_else(|| panic!("{what}: not a number")))
        .collect()
}

/// Checks one CartPole episode; returns the number of steps checked.
fn replay_cartpole(ep: &Value, where_: &str) -> usize {
    let init = f64s(&ep["initial_state"], "initial_state");
    // Gymnasium's seeding: reset(seed) alone draws the recorded start.
    let mut seeded = CartPole::new();
    seeded.reset(Some(ep["seed"].as_u64().expect("seed")), &mut [0f32; 4]);
    assert_eq!(seeded.state.to_vec(), init, "{where_}: reset(seed) draws another start than Gymnasium");
    let reset_obs = f64s(&ep["reset_obs"], "reset_obs");
    let mut env = TimeLimit::new(CartPole::new(), 500);
    let mut obs = [0f32; 4];
    env.reset_with(|cp| cp.reset_to_state([init[0], init[1], init[2], init[3]], &mut obs));
    for k in 0..4 {
        assert_eq!(obs[k], reset_obs[k] as f32, "{where_}: reset obs[{k}]");
    }
    let steps = ep["steps"].as_array().expect("steps");
    for (i, s) in steps.iter().enumerate() {
        let action = s["action"].as_u64().expect("action") as usize;
        let out = env.step(Action::Discrete(action), &mut obs);
        let at = format!("{where_} step {}", i + 1);
        let state = f64s(&s["state"], "state");
        let want_obs = f64s(&s["obs"], "obs");
        for k in 0..4 {
            assert!(env.inner.state[k] == state[k], "{at}: state[{k}] = {:e}, Gymnasium {:e}", env.inner.state[k], state[k]);
            assert_eq!(obs[k], want_obs[k] as f32, "{at}: obs[{k}]");
        }
        assert_eq!(out.reward, s["reward"].as_f64().expect("reward"), "{at}: reward");
        assert_eq!(out.terminated, s["terminated"].as_bool().expect("terminated"), "{at}: terminated");
        assert_eq!(out.truncated, s["truncated"].as_bool().expect("truncated"), "{at}: truncated");
    }
    assert_eq!(steps.len() as u64, ep["episode_length"].as_u64().expect("episode_length"), "{where_}: length");
    steps.len()
}

/// A classic-control env as the replay drives it: started from the recorded
/// state, its own state read back after every step (`None` where the file
/// records none: MountainCarContinuous's observation is its state).
trait Classic: Env {
    const LIMIT: u32;
    fn start(&mut self, state: &[f64], obs: &mut [f32]);
    fn state(&self) -> Option<Vec<f64>>;
    /// The state right after a reset (every env keeps it, MountainCarContinuous too).
    fn start_state(&self) -> Vec<f64>;
}

impl Classic for Acrobot {
    fn start_state(&self) -> Vec<f64> {
        self.state.to_vec()
    }
    const LIMIT: u32 = 500;
    fn start(&mut self, s: &[f64], obs: &mut [f32]) {
        self.reset_to_state([s[0], s[1], s[2], s[3]], obs)
    }
    fn state(&self) -> Option<Vec<f64>> {
        Some(self.state.to_vec())
    }
}

impl Classic for MountainCar {
    fn start_state(&self) -> Vec<f64> {
        self.state.to_vec()
    }
    const LIMIT: u32 = 200;
    fn start(&mut self, s: &[f64], obs: &mut [f32]) {
        self.reset_to_state([s[0], s[1]], obs)
    }
    fn state(&self) -> Option<Vec<f64>> {
        Some(self.state.to_vec())
    }
}

impl Classic for MountainCarContinuous {
    fn start_state(&self) -> Vec<f64> {
        self.state.to_vec()
    }
    const LIMIT: u32 = 999;
    fn start(&mut self, s: &[f64], obs: &mut [f32]) {
        self.reset_to_state([s[0], s[1]], obs)
    }
    fn state(&self) -> Option<Vec<f64>> {
        None
    }
}

impl Classic for Pendulum {
    fn start_state(&self) -> Vec<f64> {
        self.state.to_vec()
    }
    const LIMIT: u32 = 200;
    fn start(&mut self, s: &[f64], obs: &mut [f32]) {
        self.reset_to_state([s[0], s[1]], obs)
    }
    fn state(&self) -> Option<Vec<f64>> {
        Some(self.state.to_vec())
    }
}

/// Checks one classic-control episode for exact equality at every step; returns the steps checked.
fn replay_classic<E: Classic + Default>(ep: &Value, where_: &str) -> usize {
    let init = f64s(&ep["initial_state"], "initial_state");
    let reset_obs = f64s(&ep["reset_obs"], "reset_obs");
    // Gymnasium's seeding: reset(seed) alone draws the recorded start and observation.
    let mut seeded = E::default();
    let mut seeded_obs = vec![0f32; reset_obs.len()];
    seeded.reset(Some(ep["seed"].as_u64().expect("seed")), &mut seeded_obs);
    assert_eq!(seeded.start_state(), init, "{where_}: reset(seed) draws another start than Gymnasium");
    assert_eq!(seeded_obs, reset_obs.iter().map(|&v| v as f32).collect::<Vec<_>>(), "{where_}: seeded reset obs");
    let mut env = TimeLimit::new(E::default(), E::LIMIT);
    let mut obs = vec![0f32; reset_obs.len()];
    env.reset_with(|e| e.start(&init, &mut obs));
    for (k, want) in reset_obs.iter().enumerate() {
        assert_eq!(obs[k], *want as f32, "{where_}: reset obs[{k}]");
    }
    let steps = ep["steps"].as_array().expect("steps");
    for (i, s) in steps.iter().enumerate() {
        let at = format!("{where_} step {}", i + 1);
        let out = match &s["action"] {
            Value::Array(a) => {
                let a: Vec<f32> = a.iter().map(|x| x.as_f64().expect("action value") as f32).collect();
                env.step(Action::Continuous(&a), &mut obs)
            }
            a => env.step(Action::Discrete(a.as_u64().expect("action") as usize), &mut obs),
        };
        if let Some(state) = env.inner.state() {
            let want = f64s(&s["state"], "state");
            for k in 0..want.len() {
                assert!(state[k] == want[k], "{at}: state[{k}] = {:e}, Gymnasium {:e}", state[k], want[k]);
            }
        }
        let want_obs = f64s(&s["obs"], "obs");
        for k in 0..want_obs.len() {
            assert_eq!(obs[k], want_obs[k] as f32, "{at}: obs[{k}]");
        }
        assert_eq!(out.reward, s["reward"].as_f64().expect("reward"), "{at}: reward");
        assert_eq!(out.terminated, s["terminated"].as_bool().expect("terminated"), "{at}: terminated");
        assert_eq!(out.truncated, s["truncated"].as_bool().expect("truncated"), "{at}: truncated");
    }
    assert_eq!(steps.len() as u64, ep["episode_length"].as_u64().expect("episode_length"), "{where_}: length");
    steps.len()
}

/// Flight-phase tolerance with box2d-rs's Box2D 2.4 revolute joint (Gymnasium runs
/// Box2D 2.3; the fixtures README measured ~8e-3 for a faithful port on 2.4).
const LUNAR_FLIGHT_TOL: f64 = 2e-2;

struct LunarReport {
    max_flight_dev: f64,
    first_over_1e4: Option<usize>,
    flight_steps: usize,
    outcome: (String, String),
    length: (usize, usize),
}

/// Replays one LunarLander episode with the recorded draws and actions.
fn replay_lunar(ep: &Value) -> LunarReport {
    let continuous = ep["continuous"].as_bool().unwrap_or(false);
    let params = rl_research::envs::LunarLanderParams { continuous, ..Default::default() };
    let mut env = TimeLimit::new(LunarLander::new(params), 1000);
    let mut obs = [0f32; 8];
    let terrain = f64s(&ep["terrain_heights"], "terrain_heights");
    env.reset_with(|ll| {
        ll.inject_draws(&terrain);
        ll.inject_draws(&f64s(&ep["initial_force"], "initial_force"));
        ll.inject_draws(&f64s(&ep["reset_dispersion"], "reset_dispersion"));
        ll.reset(None, &mut obs);
    });
    let smooth = f64s(&ep["terrain_smooth_y"], "terrain_smooth_y");
    assert_eq!(env.inner.terrain.smooth_y, smooth, "terrain_smooth_y differs");
    // Gymnasium's seeding: reset(seed) alone draws the recorded terrain.
    let mut seeded = LunarLander::new(params);
    seeded.reset(Some(ep["seed"].as_u64().expect("seed")), &mut [0f32; 8]);
    assert_eq!(seeded.terrain.smooth_y, smooth, "reset(seed) draws another terrain than Gymnasium");
    let dev = |a: &[f32], b: &[f64]| a.iter().zip(b).map(|(x, y)| (*x as f64 - y).abs()).fold(0.0, f64::max);
    let mut max_flight_dev = dev(&obs, &f64s(&ep["reset_obs"], "reset_obs"));
    let mut first_over = (max_flight_dev > 1e-4).then_some(0);
    let steps = ep["steps"].as_array().expect("steps");
    let mut in_flight = true;
    let mut flight_steps = 0;
    let mut ours = ("running".to_string(), 0usize);
    for (i, s) in steps.iter().enumerate() {
        env.inner.inject_draws(&f64s(&s["dispersion"], "dispersion"));
        let out = match &s["action"] {
            Value::Array(a) => {
                let a: Vec<f32> = a.iter().map(|x| x.as_f64().expect("action value") as f32).collect();
                env.step(Action::Continuous(&a), &mut obs)
            }
            a => env.step(Action::Discrete(a.as_u64().expect("action") as usize), &mut obs),
        };
        let want = f64s(&s["obs"], "obs");
        if in_flight && (want[6] != 0.0 || want[7] != 0.0) {
            in_flight = false;
        }
        if in_flight {
            flight_steps += 1;
            let d = dev(&obs, &want);
            max_flight_dev = max_flight_dev.max(d);
            if d > 1e-4 && first_over.is_none() {
                first_over = Some(i + 1);
            }
        }
        if out.terminated || out.truncated {
            ours = (env.inner.outcome(&out).to_string(), i + 1);
            break;
        }
    }
    LunarReport {
        max_flight_dev,
        first_over_1e4: first_over,
        flight_steps,
        outcome: (ours.0, ep["outcome"].as_str().unwrap_or("?").to_string()),
        length: (ours.1, steps.len()),
    }
}

/// Episodes and steps replayed.
#[derive(Default)]
struct Counts(usize, usize);

impl std::ops::AddAssign<(usize, usize)> for Counts {
    fn add_assign(&mut self, (e, s): (usize, usize)) {
        self.0 += e;
        self.1 += s;
    }
}

#[test]
fn gym_parity() {
    let dir = fixtures_dir();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read fixtures dir {} ({e}); set RL_RESEARCH_GYM_FIXTURES", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no *.jsonl fixtures in {}", dir.display());
    let (mut episodes, mut steps, mut skipped) = (0usize, 0usize, std::collections::BTreeMap::<String, usize>::new());
    let (mut lunar_episodes, mut lunar_matches, mut worst) = (0usize, 0usize, 0.0f64);
    let mut classic = std::collections::BTreeMap::<String, Counts>::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        for (line_no, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
            let ep: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{}:{}: {e}", file.display(), line_no + 1));
            let env = ep["env"].as_str().unwrap_or("?").to_string();
            let where_ = format!("{}:{} ({} seed {} {})", file.display(), line_no + 1, env, ep["seed"], ep["policy"]);
            match env.as_str() {
                "CartPole-v1" => {
                    steps += replay_cartpole(&ep, &where_);
                    episodes += 1;
                }
                "Acrobot-v1" | "MountainCar-v0" | "MountainCarContinuous-v0" | "Pendulum-v1" => {
                    let n = match env.as_str() {
                        "Acrobot-v1" => replay_classic::<Acrobot>(&ep, &where_),
                        "MountainCar-v0" => replay_classic::<MountainCar>(&ep, &where_),
                        "MountainCarContinuous-v0" => replay_classic::<MountainCarContinuous>(&ep, &where_),
                        _ => replay_classic::<Pendulum>(&ep, &where_),
                    };
                    *classic.entry(env.clone()).or_default() += (1, n);
                }
                "LunarLander-v3" | "LunarLanderContinuous-v3" => {
                    let r = replay_lunar(&ep);
                    println!(
                        "gym_parity: {where_}: flight {} steps, max |dobs| {:.2e}, first step over 1e-4: {}, outcome {} (Gymnasium {}), length {} (Gymnasium {})",
                        r.flight_steps,
                        r.max_flight_dev,
                        r.first_over_1e4.map(|s| s.to_string()).unwrap_or_else(|| "none".into()),
                        r.outcome.0,
                        r.outcome.1,
                        r.length.0,
                        r.length.1
                    );
                    assert!(
                        r.max_flight_dev <= LUNAR_FLIGHT_TOL,
                        "{where_}: flight-phase deviation {:.3e} > {LUNAR_FLIGHT_TOL}",
                        r.max_flight_dev
                    );
                    worst = worst.max(r.max_flight_dev);
                    lunar_episodes += 1;
                    lunar_matches += usize::from(r.outcome.0 == r.outcome.1 && r.length.0 == r.length.1);
                }
                _ => *skipped.entry(env).or_default() += 1,
            }
        }
    }
    println!("gym_parity: {episodes} episodes, {steps} steps checked exactly (CartPole-v1)");
    for (env, c) in &classic {
        println!("gym_parity: {} episodes, {} steps checked exactly ({env})", c.0, c.1);
    }
    for env in ["Acrobot-v1", "MountainCar-v0", "MountainCarContinuous-v0", "Pendulum-v1"] {
        assert!(classic.get(env).is_some_and(|c| c.0 > 0), "no {env} episode found in {}", dir.display());
    }
    if lunar_episodes > 0 {
        println!(
            "gym_parity: {lunar_episodes} LunarLander-v3 episodes (discrete and continuous), flight phase within {worst:.2e} (tolerance {LUNAR_FLIGHT_TOL:e}); outcome and length match in {lunar_matches}/{lunar_episodes}"
        );
    }
    for (env, n) in &skipped {
        println!("gym_parity: {n} episodes of {env} skipped (env not implemented in this build)");
    }
    assert!(episodes > 0, "no CartPole-v1 episode found in {}", dir.display());
}

/// Every built-in env draws frames of Gymnasium's `rgb_array` size, with
/// something on them, from its registry entry after a few steps; its episodes
/// play at Gymnasium's `render_fps`.
#[test]
fn every_builtin_env_draws_gymnasiums_frame_size() {
    use rl_research::envs::registry;
    use rl_research::envs::render::render;
    let sizes = [
        ("CartPole-v1", (600, 400), 50.0),
        ("Acrobot-v1", (500, 500), 15.0),
        ("MountainCar-v0", (600, 400), 30.0),
        ("MountainCarContinuous-v0", (600, 400), 30.0),
        ("Pendulum-v1", (500, 500), 30.0),
        ("LunarLander-v3", (600, 400), 50.0),
        ("LunarLanderContinuous-v3", (600, 400), 50.0),
    ];
    for (id, (w, h), fps) in sizes {
        assert_eq!(registry::render_fps(id), fps, "{id}");
        let found = registry::find(id).unwrap_or_else(|| panic!("{id} is registered"));
        let mut env = (found.spec.make)(&Default::default(), found.spec.max_episode_steps).unwrap();
        env.set_render(true);
        let mut obs = vec![0f32; found.spec.observation_space.dim()];
        env.reset(Some(3), &mut obs);
        let values = vec![0.5f32; found.spec.action_space.box_dim()];
        for _ in 0..5 {
            let action = if values.is_empty() { Action::Discrete(1) } else { Action::Continuous(&values) };
            env.step(action, &mut obs);
        }
        let frame = render(&env.render_state().unwrap_or_else(|| panic!("{id} renders")));
        assert_eq!((frame.width, frame.height), (w, h), "{id}");
        assert!(frame.rgb.iter().any(|&v| v != 255), "{id}: the frame is blank");
    }
}
