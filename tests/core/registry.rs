//! The env registry is open: envs defined here, in the test file, are
//! registered at run time and then used like the built-in ones, with no edit
//! anywhere else. A discrete one is trained with PPO and DQN through an
//! ordinary config, evaluated and replayed; a Box-action one is driven through
//! the env API, the vec env, both buffers and a model file round trip.

use rl_research::algos::buffers::{ReplayBuffer, ReplaySample, RolloutBuffer};
use rl_research::algos::nets::{Init, Mlp};
use rl_research::algos::{Policy, PolicyHead};
use rl_research::config::Activation;
use rl_research::config::overrides::config_from_args;
use rl_research::envs::params::{ParamSpec, excl, incl};
use rl_research::envs::registry::{self, EnvSpec};
use rl_research::envs::render::{RenderState, Shape};
use rl_research::envs::{Action, ActionBatch, ActionSpace, ActionValue, Actions, BoxSpace, Env, EnvSnapshot, StepOutcome, VecEnv};
use rl_research::rng::Rng;
use rl_research::runs::{ModelMetadata, RunDir, RunStatus, SavedModel};
use std::sync::{Arc, Once};

const CORRIDOR: &str = "TestCorridor-v0";
const SLIDER: &str = "TestSlider-v0";

/// Walk right along a corridor of `length` cells to its end (+1, terminated);
/// every step costs 0.01. Observation: (position / length, 1).
struct Corridor {
    length: f64,
    pos: f64,
    rng: Rng,
}

impl Corridor {
    fn write(&self, obs: &mut [f32]) {
        obs[0] = (self.pos / self.length) as f32;
        obs[1] = 1.0;
    }
}

impl Env for Corridor {
    fn id(&self) -> &str {
        CORRIDOR
    }
    fn observation_space(&self) -> BoxSpace {
        BoxSpace { low: vec![0.0, 0.0], high: vec![1.0, 1.0] }
    }
    fn action_space(&self) -> ActionSpace {
        ActionSpace::discrete(2, &["left", "right"])
    }
    fn reset(&mut self, seed: Option<u64>, obs: &mut [f32]) {
        if let Some(s) = seed {
            self.rng = Rng::seed_from_u64(s);
        }
        self.pos = self.rng.below(2) as f64;
        self.write(obs);
    }
    fn step(&mut self, action: Action<'_>, obs: &mut [f32]) -> StepOutcome {
        self.pos = if action.index() == 1 { self.pos + 1.0 } else { (self.pos - 1.0).max(0.0) };
        self.write(obs);
        let terminated = self.pos >= self.length;
        StepOutcome { reward: if terminated { 1.0 } else { -0.01 }, terminated, truncated: false }
    }
    fn render_state(&self) -> Option<RenderState> {
        let x = 50.0 + 500.0 * (self.pos / self.length) as f32;
        Some(RenderState::Scene(vec![
            Shape::Line { from: (50.0, 100.0), to: (550.0, 100.0), rgb: [0, 0, 0] },
            Shape::Circle { x, y: 120.0, radius: 15.0, rgb: [200, 30, 30] },
        ]))
    }
    fn snapshot(&self) -> Result<EnvSnapshot, String> {
        let state = serde_json::to_vec(&(self.pos, &self.rng)).map_err(|e| e.to_string())?;
        Ok(EnvSnapshot::Custom { env_id: CORRIDOR.into(), state })
    }
    fn restore(&mut self, snapshot: &EnvSnapshot, obs: &mut [f32]) -> Result<(), String> {
        let EnvSnapshot::Custom { state, .. } = snapshot else { return Err("not a corridor snapshot".into()) };
        (self.pos, self.rng) = serde_json::from_slice(state).map_err(|e| e.to_string())?;
        self.write(obs);
        Ok(())
    }
}

/// A cart on a line pushed by a force in [-1, 1]; reward -x^2, x starts in [-1, 1].
struct Slider {
    x: f32,
    v: f32,
    rng: Rng,
}

impl Env for Slider {
    fn id(&self) -> &str {
        SLIDER
    }
    fn observation_space(&self) -> BoxSpace {
        BoxSpace { low: vec![-10.0, -10.0], high: vec![10.0, 10.0] }
    }
    fn action_space(&self) -> ActionSpace {
        ActionSpace::Box { low: vec![-1.0], high: vec![1.0] }
    }
    fn reset(&mut self, seed: Option<u64>, obs: &mut [f32]) {
        if let Some(s) = seed {
            self.rng = Rng::seed_from_u64(s);
        }
        (self.x, self.v) = (self.rng.uniform(-1.0, 1.0) as f32, 0.0);
        obs.copy_from_slice(&[self.x, self.v]);
    }
    fn step(&mut self, action: Action<'_>, obs: &mut [f32]) -> StepOutcome {
        let force = action.values()[0];
        self.v = (self.v + 0.1 * force).clamp(-10.0, 10.0);
        self.x = (self.x + 0.1 * self.v).clamp(-10.0, 10.0);
        obs.copy_from_slice(&[self.x, self.v]);
        StepOutcome { reward: -(self.x as f64).powi(2), terminated: false, truncated: false }
    }
    fn render_state(&self) -> Option<RenderState> {
        Some(RenderState::Scene(vec![Shape::Circle { x: 300.0 + 25.0 * self.x, y: 200.0, radius: 10.0, rgb: [30, 30, 200] }]))
    }
    fn snapshot(&self) -> Result<EnvSnapshot, String> {
        Err("the slider is not checkpointed".into())
    }
    fn restore(&mut self, _: &EnvSnapshot, _: &mut [f32]) -> Result<(), String> {
        Err("the slider is not checkpointed".into())
    }
}

/// Registers both test envs once per test process.
fn register_test_envs() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        registry::register(EnvSpec {
            id: CORRIDOR.into(),
            aliases: vec![],
            summary: "walk right to the end of a corridor".into(),
            observation_space: BoxSpace { low: vec![0.0, 0.0], high: vec![1.0, 1.0] },
            action_space: ActionSpace::discrete(2, &["left", "right"]),
            action_switch: None,
            max_episode_steps: 40,
            render_fps: 50.0,
            reference_score: Some(0.97),
            params: vec![ParamSpec::float("corridor_length", 3.0, excl(0.0), incl(20.0), "Corridor: cells to the goal. Default 3.")],
            gymnasium_id: None,
            needs_box2d: false,
            make: Arc::new(|p, limit| {
                Ok(rl_research::envs::with_time_limit(
                    Corridor { length: p.f64("corridor_length"), pos: 0.0, rng: Rng::seed_from_u64(0) },
                    limit,
                ))
            }),
        })
        .unwrap();
        registry::register(EnvSpec {
            id: SLIDER.into(),
            aliases: vec![],
            summary: "push a cart to the origin".into(),
            observation_space: BoxSpace { low: vec![-10.0, -10.0], high: vec![10.0, 10.0] },
            action_space: ActionSpace::Box { low: vec![-1.0], high: vec![1.0] },
            action_switch: None,
            max_episode_steps: 20,
            render_fps: 50.0,
            reference_score: None,
            params: vec![],
            gymnasium_id: None,
            needs_box2d: false,
            make: Arc::new(|_, limit| Ok(rl_research::envs::with_time_limit(Slider { x: 0.0, v: 0.0, rng: Rng::seed_from_u64(0) }, limit))),
        })
        .unwrap();
    });
}

fn config(args: &[&str]) -> Result<rl_research::config::Config, String> {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    config_from_args(&args).map_err(|e| e.0)
}

#[test]
fn a_discrete_env_defined_here_trains_with_ppo_and_dqn_evaluates_and_replays() {
    register_test_envs();
    let dir = crate::temp_dir("registry_discrete");
    let runs = format!("experiment.runs_dir={}", dir.display());
    assert!(registry::all_ids().contains(&CORRIDOR.to_string()));
    // A second registration of the same id is refused.
    let again = registry::find(CORRIDOR).unwrap().spec.as_ref().clone();
    assert!(registry::register(again).unwrap_err().contains("already registered"));
    // Its parameter is checked with its own range and listed as a key.
    let e = config(&["env.id=TestCorridor-v0", "env.params.corridor_length=50"]).unwrap_err();
    assert!(e.contains("env.params.corridor_length") && e.contains("between 0 and 20"), "{e}");
    let e = config(&["env.id=TestCorridor-v0", "env.params.corridor_lenght=5"]).unwrap_err();
    assert!(e.contains("env.params.corridor_length"), "a typo is answered with the right key: {e}");
    let c = config(&["env.id=TestCorridor-v0"]).unwrap();
    assert!(rl_research::config::overrides::all_keys(&c).contains(&"env.params.corridor_length".to_string()));
    assert_eq!(c.stats.reference_for(CORRIDOR), Some(0.97));

    let common = [
        "env.id=TestCorridor-v0",
        "env.params.corridor_length=3",
        "env.n_envs=2",
        "experiment.total_timesteps=1024",
        "experiment.eval_freq=512",
        "experiment.n_eval_episodes=2",
        &runs,
    ];
    for (algo, extra) in [
        ("ppo", vec!["algorithm.params.n_steps=64", "algorithm.params.batch_size=64"]),
        ("dqn", vec!["algorithm.params.learning_starts=64", "algorithm.params.train_freq=16", "algorithm.params.gradient_steps=8"]),
    ] {
        let name = format!("experiment.name=corridor_{algo}");
        let alg = format!("algorithm.name={algo}");
        let mut args: Vec<&str> = common.to_vec();
        args.extend([name.as_str(), alg.as_str()]);
        args.extend(extra.iter().copied());
        let cfg = config(&args).unwrap();
        let summary = rl_research::runner::run_experiment(&cfg).unwrap_or_else(|e| panic!("{algo}: {e}"));
        assert_eq!(summary.status, RunStatus::Completed, "{algo}");
        assert_eq!(summary.timesteps, 1024, "{algo}");
        assert_eq!(summary.evaluations.len(), 2, "{algo}");
        let run = RunDir::at(summary.run_dir.root.clone());
        // The model file knows the env; evaluating it again gives real returns.
        let (model, _, _) = run.load_preferred_model().unwrap();
        assert_eq!(model.metadata.env_id, CORRIDOR);
        assert_eq!(model.metadata.action_space().action_name(1), Some("right"));
        let policy = rl_research::runner::load_policy(&model).unwrap();
        let mut env = cfg.env.make().unwrap();
        let eval = rl_research::runner::eval::evaluate_episodes(&policy, env.as_mut(), 3).unwrap();
        assert_eq!(eval.returns.len(), 3);
        assert!(eval.returns.iter().all(|r| r.is_finite() && *r >= -0.41 && *r <= 1.0), "{algo}: {:?}", eval.returns);
        // The replay recorded at the end of training draws its frames from the env's scene.
        let episodes = rl_research::runner::replay::load_episodes(&run.eval_episodes()).unwrap();
        let ep = &episodes[0];
        assert_eq!(ep.env_id, CORRIDOR);
        assert!(matches!(ep.steps[0].action, ActionValue::Discrete(a) if a < 2));
        let frame = ep.frame(0).unwrap();
        assert_eq!((frame.width, frame.height), (600, 400));
        let red = frame.rgb.chunks(3).filter(|p| p[0] > 150 && p[1] < 80 && p[2] < 80).count();
        assert!(red > 200, "{algo}: the agent's disc is drawn ({red} red pixels)");
        assert!(run.evaluation_video().exists(), "{algo}: the evaluation video was written");
    }
}

#[test]
fn a_box_action_env_goes_through_env_vec_env_buffers_and_a_model_file() {
    register_test_envs();
    let spec = registry::lookup(SLIDER).unwrap().spec;
    let space = spec.action_space.clone();
    assert_eq!(space.describe(), "Box(-1.0, 1.0, (1,))");

    // Env API: a continuous action steps it; the space refuses what is outside it.
    let mut env = spec.make(&Default::default(), None).unwrap();
    let mut obs = [0.0f32; 2];
    env.reset(Some(3), &mut obs);
    let out = env.step(Action::Continuous(&[0.5]), &mut obs);
    assert!(obs[1] > 0.0 && out.reward <= 0.0);
    assert!(space.check(Action::Continuous(&[1.5])).is_err());
    assert!(space.check(Action::Discrete(0)).is_err());

    // Vec env: n * dim floats, the wrong kind or count is an error, the time limit applies.
    let mut venv = VecEnv::new((0..3).map(|_| spec.make(&Default::default(), None).unwrap()).collect());
    venv.reset(7).unwrap();
    assert!(venv.step(Actions::Discrete(&[0, 1, 0])).unwrap_err().contains("Box(-1.0, 1.0, (1,))"));
    assert!(venv.step(Actions::Continuous { dim: 1, values: &[0.1, 0.2] }).is_err());
    let mut rollout = RolloutBuffer::for_space(4, 3, 2, &space);
    let mut replay = ReplayBuffer::for_space(16, 2, &space);
    let mut episodes = 0;
    for step in 0..20 {
        let values = [0.25 * (step % 4) as f32, -0.5, 1.0];
        let before = venv.obs.clone();
        venv.step(Actions::Continuous { dim: 1, values: &values }).unwrap();
        if step < 4 {
            rollout.add(&before, Actions::Continuous { dim: 1, values: &values }, &venv.rewards, &[step == 0; 3], &[0.0; 3], &[0.0; 3]);
        }
        for i in 0..3 {
            replay.add(
                &before[i * 2..i * 2 + 2],
                &venv.obs[i * 2..i * 2 + 2],
                Action::Continuous(&values[i..i + 1]),
                venv.rewards[i],
                venv.terminated[i],
            );
        }
        episodes += venv.finished.drain(..).count();
    }
    assert_eq!(episodes, 3, "each env is truncated at its registered time limit of 20 steps");
    assert!(rollout.full());
    assert_eq!(rollout.action(3 * 3 + 1), Action::Continuous(&[-0.5]));
    assert!(rollout.actions.is_empty());
    let mut sample = ReplaySample::default();
    replay.sample_into(8, &mut Rng::seed_from_u64(0), &mut sample);
    assert_eq!(sample.continuous_actions.len(), 8);
    assert!(sample.actions.is_empty());
    let restored = replay.stored().expanded(16, 2, 0).unwrap();
    assert_eq!(restored, replay);
    // Buffers round-trip through a checkpoint's encoding.
    let bytes = rmp_serde::to_vec_named(&rollout).unwrap();
    assert_eq!(rmp_serde::from_slice::<RolloutBuffer>(&bytes).unwrap(), rollout);

    // Model file: a Gaussian-mean head over the Box space, saved and loaded.
    let dir = crate::temp_dir("registry_box");
    let device = rl_research::algos::device::cpu().device;
    let net = Mlp::new(&[2, 8, 1], Activation::Tanh, Init::TorchDefault, &mut Rng::seed_from_u64(5), &device);
    let weights = net.to_weights().unwrap();
    let mut cfg = rl_research::config::Config::default();
    cfg.env.id = SLIDER.into();
    let metadata = ModelMetadata {
        format_version: ModelMetadata::format_for(&space, false, PolicyHead::GaussianMean),
        obs_normalization: None,
        crate_version: "test".into(),
        algorithm: "test".into(),
        env_id: SLIDER.into(),
        obs_dim: 2,
        obs_low: spec.observation_space.low.clone(),
        obs_high: spec.observation_space.high.clone(),
        n_actions: 1,
        action_space: Some(space.clone()),
        policy_network: "actor".into(),
        policy_head: PolicyHead::GaussianMean,
        networks: vec![rl_research::runs::model_file::NetworkInfo {
            name: "actor".into(),
            sizes: weights.sizes.clone(),
            activation: weights.activation,
        }],
        timesteps: 0,
        eval_mean_reward: None,
        eval_std_reward: None,
        saved_at_unix_secs: 0,
        config: cfg,
    };
    let model = SavedModel { metadata, networks: vec![("actor".into(), weights)] };
    let path = dir.join("slider.zip");
    model.save(&path).unwrap();
    let loaded = SavedModel::load(&path).unwrap();
    assert_eq!(loaded, model);
    assert_eq!(loaded.metadata.format_version, 2, "a Box model is format 2 (older builds refuse it: they do not know its head)");
    let policy = rl_research::runner::load_policy(&loaded).unwrap();
    let ActionBatch::Continuous { dim: 1, values } = policy.act_deterministic(&[0.3, -0.2, 5.0, 5.0], 2).unwrap() else {
        panic!("continuous actions expected")
    };
    assert!(values.iter().all(|v| (-1.0..=1.0).contains(v)), "actions are clipped into the bounds: {values:?}");
    // A discrete policy does not fit the Box env, and says why.
    let discrete = Policy::new(
        Mlp::new(&[2, 4, 2], Activation::Tanh, Init::TorchDefault, &mut Rng::seed_from_u64(1), &device),
        PolicyHead::Logits,
        device.clone(),
    );
    let e = rl_research::runner::eval::evaluate_episodes(&discrete, env.as_mut(), 1).unwrap_err();
    assert!(e.contains("Box(-1.0, 1.0, (1,))"), "{e}");
    // Evaluation and a replay with the loaded policy: 20-step episodes, continuous actions recorded.
    let eval = rl_research::runner::eval::evaluate_episodes(&policy, env.as_mut(), 2).unwrap();
    assert_eq!(eval.lengths, vec![20, 20]);
    let recorded = rl_research::runner::record_episodes(&policy, env.as_mut(), 1, 0).unwrap();
    let step = &recorded[0].steps[0];
    assert!(matches!(&step.action, ActionValue::Continuous(v) if v.len() == 1));
    let line = serde_json::to_string(&recorded[0]).unwrap();
    let back: rl_research::runner::EpisodeRecord = serde_json::from_str(&line).unwrap();
    assert_eq!(back, recorded[0]);
    assert!(back.frame(20).is_some());

    // DQN refuses it by name and points at PPO, which trains it (and refuses gSDE on a discrete env).
    let e = config(&["env.id=TestSlider-v0", "algorithm.name=dqn"]).unwrap_err();
    assert!(
        e.contains("dqn") && e.contains("Box(-1.0, 1.0, (1,))") && e.contains("TestSlider-v0") && e.contains("algorithm.name=ppo"),
        "{e}"
    );
    config(&["env.id=TestSlider-v0", "algorithm.name=ppo", "algorithm.params.use_sde=true"]).unwrap();
    let e = config(&["algorithm.params.use_sde=true"]).unwrap_err();
    assert!(e.contains("algorithm.params.use_sde") && e.contains("Discrete(2)"), "{e}");
    let e = config(&["algorithm.name=dqn", "env.normalize_obs=true"]).unwrap_err();
    assert!(e.contains("env.normalize_obs") && e.contains("algorithm.name=ppo"), "{e}");
}

/// An env is known by its registry entry alone: no env id is written as a
/// string literal in `src/` outside `src/envs/` (comments aside).
#[test]
fn no_env_id_is_spelled_outside_the_env_registry() {
    let ids = registry::all_ids();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut stack = vec![root.clone()];
    let mut found = Vec::new();
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                if path != root.join("envs") {
                    stack.push(path);
                }
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            for (i, line) in std::fs::read_to_string(&path).unwrap().lines().enumerate() {
                let code = line.split("//").next().unwrap_or("");
                for id in &ids {
                    if code.contains(&format!("\"{id}\"")) || code.contains(&format!("{id},")) && code.contains('"') {
                        found.push(format!("{}:{}: {id}", path.display(), i + 1));
                    }
                }
            }
        }
    }
    assert!(found.is_empty(), "env ids spelled outside src/envs: {found:#?}");
}

/// `env.params.continuous` switches LunarLander's action space as
/// `gymnasium.make(..., continuous=True)` does, and validation follows it.
#[test]
fn a_parameter_switches_lunar_landers_action_space() {
    use rl_research::envs::{ActionSpace, ParamValue, ParamValues};
    let spec = registry::find("LunarLander-v3").expect("registered").spec;
    let mut on = ParamValues::default();
    assert!(matches!(spec.action_space_for(&on), ActionSpace::Discrete { n: 4, .. }));
    on.set("continuous", ParamValue::Bool(true));
    assert_eq!(spec.action_space_for(&on).box_dim(), 2);
    assert_eq!(spec.make(&on, None).expect("continuous LunarLander").action_space().box_dim(), 2);
    let continuous = registry::find("LunarLanderContinuous-v3").expect("registered").spec;
    assert_eq!(continuous.action_space_for(&ParamValues::default()).box_dim(), 2);
    let mut off = ParamValues::default();
    off.set("continuous", ParamValue::Bool(false));
    assert!(matches!(continuous.make(&off, None).expect("discrete").action_space(), ActionSpace::Discrete { n: 4, .. }));

    let mut config = rl_research::config::builtin_preset("lunarlander_dqn").expect("preset");
    config.validate().expect("the discrete preset is valid");
    config.env.params = on;
    let e = config.validate().expect_err("DQN cannot train Box actions").0;
    assert!(e.contains("dqn") && e.contains("LunarLander-v3") && e.contains("Box"), "{e}");
}
