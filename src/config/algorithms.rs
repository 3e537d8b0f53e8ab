//! One descriptor per algorithm: its name, defaults, the action spaces it
//! trains, and the role of every hyperparameter in batches and forks. Config
//! validation, sweep batching, the fork rules, the editor and `rl-research
//! keys` read it instead of matching on algorithm names.

use super::{A2cParams, AlgorithmConfig, Config, ConfigError, DqnParams, PpoParams, Schedule, check, check_arch};
use crate::envs::{ActionKind, ActionSpace};
use serde_json::Value;

/// What a hyperparameter does to a batch of agents and to a fork.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyRole {
    /// Each agent of a batch may have its own value (a per-agent scalar); a fork may change it.
    Scalar,
    /// Decides the computation's shape: agents of a batch must agree, and a
    /// fork may not change it (the checkpoint's tensors have that shape); says why.
    Shape(&'static str),
    /// Agents of a batch must agree (they share one loop), a fork may change it.
    Shared,
}

/// How a hyperparameter is entered and what it may be: validation and the
/// editor read the same bounds (cross-field rules stay in `validate`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Field {
    /// A positive number, or `lin_<number>` (linear decay to 0).
    Schedule,
    /// A whole number of at least `min`, in `unit`s.
    Count {
        min: i64,
        unit: &'static str,
    },
    /// A real number above `lo` (or at it, unless `lo_open`) and at most `hi`.
    Real {
        lo: f64,
        lo_open: bool,
        hi: Option<f64>,
    },
    Flag,
    /// Hidden layer widths.
    Widths,
    /// The hidden activation's name.
    Activation,
    /// SAC's entropy coefficient: `auto`, `auto_<initial>` or a positive number.
    EntCoef,
    /// One of these names.
    Choice(&'static [&'static str]),
}

/// One key of `algorithm.params`.
pub struct Key {
    pub name: &'static str,
    pub role: KeyRole,
    pub field: Field,
}

impl Field {
    /// Checks `value` (its JSON form), `full_key` naming it in the message.
    pub fn check(&self, full_key: &str, value: &Value) -> Result<(), ConfigError> {
        match *self {
            Field::Schedule => {
                let s: Schedule = serde_json::from_value(value.clone())
                    .map_err(|_| ConfigError(format!("{full_key}: expected a number or lin_<number>, got {value}")))?;
                check(s.initial() > 0.0 && s.initial().is_finite(), full_key, format!("must be positive, got {s}"))
            }
            Field::Count { min, .. } => {
                // Beyond i64, a u64 is at least any minimum.
                let ok = value.as_i64().map_or(value.as_u64().is_some(), |x| x >= min);
                check(ok, full_key, format!("must be at least {min}, got {value}"))
            }
            Field::Real { lo, lo_open, hi } => {
                let v = value.as_f64().unwrap_or(f64::NAN);
                let ok = (if lo_open { v > lo } else { v >= lo }) && hi.is_none_or(|hi| v <= hi) && v.is_finite();
                let range = match hi {
                    Some(hi) => format!("in {}{lo}, {hi}]", if lo_open { "(" } else { "[" }),
                    None => format!("{} {lo}", if lo_open { ">" } else { ">=" }),
                };
                check(ok, full_key, format!("must be {range}, got {v}"))
            }
            Field::Widths => {
                let widths: Vec<usize> = serde_json::from_value(value.clone()).unwrap_or_default();
                check_arch(&widths, full_key)
            }
            // Their types are checked when the config is read.
            Field::Flag | Field::Activation | Field::EntCoef | Field::Choice(_) => Ok(()),
        }
    }
}

pub(super) const fn key(name: &'static str, role: KeyRole, field: Field) -> Key {
    Key { name, role, field }
}

pub(super) const fn count(min: i64, unit: &'static str) -> Field {
    Field::Count { min, unit }
}

/// `[lo, hi]`, `(lo, hi]`, `>= lo` or `> lo`.
pub(super) const fn real(lo: f64, lo_open: bool, hi: Option<f64>) -> Field {
    Field::Real { lo, lo_open, hi }
}

pub(super) const UNIT: Field = real(0.0, false, Some(1.0));
pub(super) const POSITIVE: Field = real(0.0, true, None);
pub(super) const NON_NEGATIVE: Field = real(0.0, false, None);
pub(super) const NET_ARCH: Key = key("net_arch", KeyRole::Shape("the network's shape is fixed by its weights"), Field::Widths);
pub(super) const ACTIVATION: Key = key("activation", KeyRole::Shape("the weights were trained with it"), Field::Activation);
/// The on-policy algorithms' rollout length and Gaussian-policy keys.
const ROLLOUT_STEPS: Key = key("n_steps", KeyRole::Shape("the checkpoint holds a rollout of this length"), count(1, " steps"));
// Like ortho_init, it only sets each agent's initial weights.
pub(super) const LOG_STD_INIT: Key = key("log_std_init", KeyRole::Scalar, real(-20.0, false, Some(2.0)));
pub(super) const USE_SDE: Key = key("use_sde", KeyRole::Shape("the log_std parameter's shape depends on it"), Field::Flag);
// -1: once per rollout (checked in check_sde).
pub(super) const SDE_SAMPLE_FREQ: Key = key("sde_sample_freq", KeyRole::Shared, count(-1, " steps"));

/// Everything the rest of the program knows about one algorithm.
pub struct AlgorithmSpec {
    /// `algorithm.name`.
    pub name: &'static str,
    /// One line for menus and messages.
    pub summary: &'static str,
    /// The action spaces it trains on.
    pub action_kinds: &'static [ActionKind],
    /// Each key of `algorithm.params` with its role and field (every key once, in the editor's order).
    pub keys: &'static [Key],
    pub defaults: fn() -> AlgorithmConfig,
    /// Whether seeds train faster batched than one thread each on the CPU
    /// (`batch_seeds: auto`), as `bench --seeds` measured: PPO's many small
    /// minibatch ops are overhead-bound and the batch amortises them; DQN's
    /// wide layers already run near the matmul rate alone.
    pub batch_seeds_on_cpu: bool,
    /// Whether it trains with `env.normalize_obs` / `env.normalize_reward`
    /// (an off-policy algorithm would have to normalize its replay samples
    /// with the current statistics, as SB3 does; ours does not yet).
    pub env_normalization: bool,
    /// Range and cross-field checks of its params (messages name the key).
    pub validate: fn(&AlgorithmConfig, &Config) -> Result<(), ConfigError>,
    /// Adjusts a config for `device=auto`'s short timing run, so that it
    /// measures the work of training (DQN: updates start at once).
    pub for_timing: fn(&mut AlgorithmConfig),
    /// What `bench --seeds` trains: a built-in preset (`None`: the default
    /// config) and the env steps of its `--quick` form.
    pub bench_preset: Option<&'static str>,
    pub bench_quick_timesteps: u64,
    /// FLOPs of all gradient steps of a run (forward + backward ~ 3x forward),
    /// for benchmarks' GFLOP/s: `(params, n_envs, obs_dim, n_actions, timesteps)`.
    pub training_flops: fn(&AlgorithmConfig, usize, usize, usize, u64) -> f64,
}

/// Multiply-adds of one forward pass of an MLP, times 2 = FLOPs per sample.
pub(super) fn mlp_flops(sizes: &[usize]) -> f64 {
    sizes.windows(2).map(|w| 2.0 * (w[0] * w[1]) as f64).sum()
}

fn ppo_flops(algorithm: &AlgorithmConfig, n_envs: usize, obs_dim: usize, n_actions: usize, timesteps: u64) -> f64 {
    let AlgorithmConfig::Ppo(p) = algorithm else { return f64::NAN };
    let actor = mlp_flops(&[vec![obs_dim], p.net_arch.clone(), vec![n_actions]].concat());
    let critic = mlp_flops(&[vec![obs_dim], p.net_arch.clone(), vec![1]].concat());
    let rollout = (p.n_steps * n_envs) as f64;
    let updates = (timesteps as f64 / rollout).floor();
    updates * p.n_epochs as f64 * rollout * 3.0 * (actor + critic)
}

fn a2c_flops(algorithm: &AlgorithmConfig, n_envs: usize, obs_dim: usize, n_actions: usize, timesteps: u64) -> f64 {
    let AlgorithmConfig::A2c(p) = algorithm else { return f64::NAN };
    let actor = mlp_flops(&[vec![obs_dim], p.net_arch.clone(), vec![n_actions]].concat());
    let critic = mlp_flops(&[vec![obs_dim], p.net_arch.clone(), vec![1]].concat());
    let rollout = (p.n_steps * n_envs) as f64;
    // One gradient step on the whole rollout per update.
    (timesteps as f64 / rollout).floor() * rollout * 3.0 * (actor + critic)
}

fn dqn_flops(algorithm: &AlgorithmConfig, n_envs: usize, obs_dim: usize, n_actions: usize, timesteps: u64) -> f64 {
    let AlgorithmConfig::Dqn(d) = algorithm else { return f64::NAN };
    let q = mlp_flops(&[vec![obs_dim], d.net_arch.clone(), vec![n_actions]].concat());
    let per_phase = d.train_freq * n_envs as u64;
    let phases = (timesteps.saturating_sub(d.learning_starts) / per_phase) as f64;
    let steps = if d.gradient_steps < 0 { phases * per_phase as f64 } else { phases * d.gradient_steps as f64 };
    // online forward + backward, target forward
    steps * d.batch_size as f64 * (3.0 * q + q)
}

impl AlgorithmSpec {
    /// The keys each agent of a batch may set on its own.
    pub fn scalar_keys(&self) -> Vec<&'static str> {
        self.keys.iter().filter(|k| k.role == KeyRole::Scalar).map(|k| k.name).collect()
    }
}

/// The algorithms of this build, in menu order.
pub const ALGORITHMS: &[AlgorithmSpec] = &[
    AlgorithmSpec {
        name: "ppo",
        summary: "Proximal Policy Optimization (on-policy, clipped surrogate)",
        action_kinds: &[ActionKind::Discrete, ActionKind::Box],
        keys: &[
            key("learning_rate", KeyRole::Scalar, Field::Schedule),
            ROLLOUT_STEPS,
            key("batch_size", KeyRole::Shared, count(1, "")),
            key("n_epochs", KeyRole::Shared, count(1, "")),
            key("gamma", KeyRole::Scalar, UNIT),
            key("gae_lambda", KeyRole::Scalar, UNIT),
            key("clip_range", KeyRole::Scalar, Field::Schedule),
            key("ent_coef", KeyRole::Scalar, NON_NEGATIVE),
            key("vf_coef", KeyRole::Scalar, NON_NEGATIVE),
            key("max_grad_norm", KeyRole::Scalar, POSITIVE),
            key("normalize_advantage", KeyRole::Shared, Field::Flag),
            NET_ARCH,
            ACTIVATION,
            // Only the initial weights depend on it, and each agent initialises its own.
            key("ortho_init", KeyRole::Scalar, Field::Flag),
            key("adam_eps", KeyRole::Shared, POSITIVE),
            LOG_STD_INIT,
            USE_SDE,
            SDE_SAMPLE_FREQ,
        ],
        defaults: || AlgorithmConfig::Ppo(PpoParams::default()),
        batch_seeds_on_cpu: true,
        env_normalization: true,
        validate: validate_ppo,
        for_timing: |_| {},
        bench_preset: None,
        bench_quick_timesteps: 20_000,
        training_flops: ppo_flops,
    },
    AlgorithmSpec {
        name: "dqn",
        summary: "Deep Q-Network (off-policy, replay buffer, target network)",
        action_kinds: &[ActionKind::Discrete],
        keys: &[
            key("learning_rate", KeyRole::Scalar, Field::Schedule),
            key("buffer_size", KeyRole::Shape("the checkpoint holds a replay buffer of this size"), count(1, " transitions")),
            key("learning_starts", KeyRole::Shared, count(0, " steps")),
            key("batch_size", KeyRole::Shared, count(1, "")),
            key("gamma", KeyRole::Scalar, UNIT),
            key("target_update_interval", KeyRole::Shared, count(1, " steps")),
            key("train_freq", KeyRole::Shared, count(1, " steps")),
            // -1: as many as env steps collected (checked in validate_dqn).
            key("gradient_steps", KeyRole::Shared, count(-1, "")),
            key("exploration_fraction", KeyRole::Scalar, real(0.0, true, Some(1.0))),
            key("exploration_initial_eps", KeyRole::Scalar, UNIT),
            key("exploration_final_eps", KeyRole::Scalar, UNIT),
            key("max_grad_norm", KeyRole::Scalar, POSITIVE),
            NET_ARCH,
            ACTIVATION,
            key("adam_eps", KeyRole::Shared, POSITIVE),
        ],
        defaults: || AlgorithmConfig::Dqn(DqnParams::default()),
        batch_seeds_on_cpu: false,
        env_normalization: false,
        validate: validate_dqn,
        for_timing: |a| {
            if let AlgorithmConfig::Dqn(p) = a {
                // What one update costs does not depend on when it happens.
                p.learning_starts = p.learning_starts.min(p.batch_size as u64);
            }
        },
        bench_preset: Some("cartpole_dqn"),
        bench_quick_timesteps: 5_000,
        training_flops: dqn_flops,
    },
    AlgorithmSpec {
        name: "a2c",
        summary: "Advantage Actor-Critic (on-policy, one update per short rollout)",
        action_kinds: &[ActionKind::Discrete, ActionKind::Box],
        keys: &[
            key("learning_rate", KeyRole::Scalar, Field::Schedule),
            ROLLOUT_STEPS,
            key("gamma", KeyRole::Scalar, UNIT),
            key("gae_lambda", KeyRole::Scalar, UNIT),
            key("ent_coef", KeyRole::Scalar, NON_NEGATIVE),
            key("vf_coef", KeyRole::Scalar, NON_NEGATIVE),
            key("max_grad_norm", KeyRole::Scalar, POSITIVE),
            // The optimizer's state differs between the two (a checkpoint holds one).
            key("use_rms_prop", KeyRole::Shape("the checkpoint holds that optimizer's state"), Field::Flag),
            key("rms_prop_eps", KeyRole::Shared, POSITIVE),
            key("normalize_advantage", KeyRole::Shared, Field::Flag),
            NET_ARCH,
            ACTIVATION,
            key("ortho_init", KeyRole::Scalar, Field::Flag),
            LOG_STD_INIT,
            USE_SDE,
            SDE_SAMPLE_FREQ,
        ],
        defaults: || AlgorithmConfig::A2c(A2cParams::default()),
        batch_seeds_on_cpu: true,
        env_normalization: true,
        validate: validate_a2c,
        for_timing: |_| {},
        bench_preset: Some("cartpole_a2c"),
        bench_quick_timesteps: 20_000,
        training_flops: a2c_flops,
    },
    super::off_policy::SAC,
    super::off_policy::TD3,
];

/// PPO's range and cross-field checks (the rollout size depends on env.n_envs).
fn validate_ppo(algorithm: &AlgorithmConfig, config: &Config) -> Result<(), ConfigError> {
    let AlgorithmConfig::Ppo(p) = algorithm else { return Ok(()) };
    let k = |s: &str| format!("algorithm.params.{s}");
    check_rollout_size(p.n_steps, config)?;
    let rollout = p.n_steps * config.env.n_envs;
    check(
        p.batch_size > 0 && p.batch_size <= rollout,
        &k("batch_size"),
        format!(
            "must be between 1 and the rollout size n_steps * n_envs = {} * {} = {rollout}, got {}",
            p.n_steps, config.env.n_envs, p.batch_size
        ),
    )?;
    check(
        !(rollout > 1 && p.normalize_advantage && p.batch_size == 1),
        &k("batch_size"),
        "must be at least 2 when normalize_advantage is true",
    )?;
    check_sde(p.use_sde, p.sde_sample_freq, config)
}

/// An on-policy rollout's memory bound.
fn check_rollout_size(n_steps: usize, config: &Config) -> Result<(), ConfigError> {
    check(
        n_steps.saturating_mul(config.env.n_envs) <= 10_000_000,
        "algorithm.params.n_steps",
        format!("n_steps * n_envs must be at most 10000000 transitions (memory), got {} * {}", n_steps, config.env.n_envs),
    )
}

/// gSDE's checks, shared by the on-policy algorithms.
pub(super) fn check_sde(use_sde: bool, sde_sample_freq: i64, config: &Config) -> Result<(), ConfigError> {
    let k = |s: &str| format!("algorithm.params.{s}");
    check(
        sde_sample_freq == -1 || sde_sample_freq > 0,
        &k("sde_sample_freq"),
        format!("must be -1 (once per rollout) or at least 1, got {sde_sample_freq}"),
    )?;
    if use_sde {
        let space = config.env.known_spec().ok().flatten().map(|s| s.action_space_for(&config.env.params));
        if let Some(space) = space.filter(|s| s.kind() != ActionKind::Box) {
            return Err(ConfigError(format!(
                "{}: gSDE explores with Gaussian noise, so it needs a Box action space; {} has {}: set use_sde=false",
                k("use_sde"),
                config.env.id,
                space.describe()
            )));
        }
    }
    Ok(())
}

/// A2C's range and cross-field checks.
fn validate_a2c(algorithm: &AlgorithmConfig, config: &Config) -> Result<(), ConfigError> {
    let AlgorithmConfig::A2c(p) = algorithm else { return Ok(()) };
    check_rollout_size(p.n_steps, config)?;
    check(
        !(p.normalize_advantage && p.n_steps * config.env.n_envs < 2),
        "algorithm.params.normalize_advantage",
        "needs a rollout of at least 2 transitions (n_steps * n_envs)",
    )?;
    check_sde(p.use_sde, p.sde_sample_freq, config)
}

/// DQN's range and cross-field checks.
fn validate_dqn(algorithm: &AlgorithmConfig, _config: &Config) -> Result<(), ConfigError> {
    let AlgorithmConfig::Dqn(d) = algorithm else { return Ok(()) };
    check_replay(d.buffer_size, d.batch_size, d.gradient_steps)
}

/// The off-policy algorithms' replay buffer and update-count checks.
pub(super) fn check_replay(buffer_size: usize, batch_size: usize, gradient_steps: i64) -> Result<(), ConfigError> {
    let k = |s: &str| format!("algorithm.params.{s}");
    check(buffer_size <= 10_000_000, &k("buffer_size"), format!("must be at most 10000000 transitions (memory), got {buffer_size}"))?;
    check(batch_size <= buffer_size, &k("batch_size"), format!("must not exceed buffer_size ({buffer_size}), got {batch_size}"))?;
    check(
        gradient_steps == -1 || gradient_steps > 0,
        &k("gradient_steps"),
        format!("must be -1 (as many as env steps collected) or at least 1, got {gradient_steps}"),
    )
}

/// The names `algorithm.name` accepts.
pub fn names() -> Vec<&'static str> {
    ALGORITHMS.iter().map(|a| a.name).collect()
}

/// The descriptor of `name`, or an error listing the valid names.
pub fn spec(name: &str) -> Result<&'static AlgorithmSpec, ConfigError> {
    ALGORITHMS.iter().find(|a| a.name == name).ok_or_else(|| {
        ConfigError(format!("unknown algorithm '{name}' for key algorithm.name: valid algorithms are {}", names().join(", ")))
    })
}

impl AlgorithmSpec {
    /// Checks every key's value against its field (the ranges; `validate` adds the cross-field rules).
    pub fn check_fields(&self, algorithm: &AlgorithmConfig) -> Result<(), ConfigError> {
        let value = serde_json::to_value(algorithm).map_err(|e| ConfigError(format!("algorithm.params: {e}")))?;
        for key in self.keys {
            if let Some(v) = value.get("params").and_then(|p| p.get(key.name)) {
                key.field.check(&format!("algorithm.params.{}", key.name), v)?;
            }
        }
        Ok(())
    }

    pub fn role(&self, key: &str) -> Option<KeyRole> {
        self.keys.iter().find(|k| k.name == key).map(|k| k.role)
    }

    /// Refuses `env.normalize_*` for an algorithm that does not train with it.
    pub fn check_normalization(&self, env: &super::EnvConfig) -> Result<(), ConfigError> {
        if self.env_normalization || !(env.normalize_obs || env.normalize_reward) {
            return Ok(());
        }
        let able: Vec<&str> = ALGORITHMS.iter().filter(|a| a.env_normalization).map(|a| a.name).collect();
        Err(ConfigError(format!(
            "env.normalize_obs / env.normalize_reward: {} does not train with normalization yet (it would have to normalize replay samples with the current statistics); set both to false, or use algorithm.name={}",
            self.name,
            able.join(" or algorithm.name=")
        )))
    }

    /// Refuses an action space this algorithm cannot train, saying which can.
    pub fn check_action_space(&self, env_id: &str, space: &ActionSpace) -> Result<(), ConfigError> {
        let kind = space.kind();
        if self.action_kinds.contains(&kind) {
            return Ok(());
        }
        let able: Vec<&str> = ALGORITHMS.iter().filter(|a| a.action_kinds.contains(&kind)).map(|a| a.name).collect();
        let instead = if able.is_empty() {
            format!("no algorithm of this build trains a {} action space yet", kind.as_str())
        } else {
            format!("use algorithm.name={} instead", able.join(" or algorithm.name="))
        };
        Err(ConfigError(format!(
            "algorithm.name: {} trains {} action spaces only, and {env_id} has the action space {}: {instead}",
            self.name,
            self.action_kinds.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(" and "),
            space.describe()
        )))
    }
}

impl AlgorithmConfig {
    pub fn spec(&self) -> &'static AlgorithmSpec {
        // Every variant has a descriptor (a test checks); PPO's is the fallback type-wise only.
        ALGORITHMS.iter().find(|a| a.name == self.name()).unwrap_or(&ALGORITHMS[0])
    }

    /// `algorithm.params` as JSON (the keys of its descriptor).
    pub fn params_json(&self) -> Value {
        serde_json::to_value(self).ok().and_then(|v| v.get("params").cloned()).unwrap_or(Value::Null)
    }

    /// These params with every per-agent scalar at its default: two configs
    /// with equal shapes train as one batch.
    pub fn batch_shape(&self) -> Self {
        let spec = self.spec();
        let (Ok(Value::Object(mut mine)), Ok(Value::Object(defaults))) =
            (serde_json::to_value(self), serde_json::to_value((spec.defaults)()))
        else {
            return self.clone();
        };
        if let (Some(Value::Object(p)), Some(Value::Object(d))) = (mine.get_mut("params"), defaults.get("params")) {
            for key in spec.keys {
                if key.role == KeyRole::Scalar {
                    if let Some(v) = d.get(key.name) {
                        p.insert(key.name.to_string(), v.clone());
                    }
                }
            }
        }
        serde_json::from_value(Value::Object(mine)).unwrap_or_else(|_| self.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_param_has_exactly_one_role() {
        for spec in ALGORITHMS {
            let d = (spec.defaults)();
            assert_eq!(d.name(), spec.name);
            let Value::Object(v) = serde_json::to_value(&d).unwrap() else { panic!() };
            let Some(Value::Object(p)) = v.get("params") else { panic!() };
            let keys: Vec<&String> = p.keys().collect();
            assert_eq!(keys.len(), spec.keys.len(), "{}: {keys:?}", spec.name);
            for k in keys {
                assert_eq!(spec.keys.iter().filter(|n| n.name == k).count(), 1, "{}: {k}", spec.name);
            }
        }
    }

    #[test]
    fn a_box_action_space_is_refused_by_name() {
        let space = ActionSpace::Box { low: vec![-2.0], high: vec![2.0] };
        let e = spec("dqn").unwrap().check_action_space("MyBoxEnv-v0", &space).unwrap_err().0;
        assert!(e.contains("dqn") && e.contains("Box(-2.0, 2.0, (1,))") && e.contains("MyBoxEnv-v0"), "{e}");
    }
}
