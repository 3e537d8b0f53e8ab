//! One descriptor per algorithm: its name, defaults, the action spaces it
//! trains, and the role of every hyperparameter in batches and forks. Config
//! validation, sweep batching, the fork rules, the editor and `rl-research
//! keys` read it instead of matching on algorithm names.

use super::{AlgorithmConfig, Config, ConfigError, DqnParams, PpoParams, check, check_arch, check_schedule, check_unit};
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

/// Everything the rest of the program knows about one algorithm.
pub struct AlgorithmSpec {
    /// `algorithm.name`.
    pub name: &'static str,
    /// One line for menus and messages.
    pub summary: &'static str,
    /// The action spaces it trains on.
    pub action_kinds: &'static [ActionKind],
    /// Each key of `algorithm.params` with its role (every key appears once).
    pub keys: &'static [(&'static str, KeyRole)],
    pub defaults: fn() -> AlgorithmConfig,
    /// Whether seeds train faster batched than one thread each on the CPU
    /// (`batch_seeds: auto`), as `bench --seeds` measured: PPO's many small
    /// minibatch ops are overhead-bound and the batch amortises them; DQN's
    /// wide layers already run near the matmul rate alone.
    pub batch_seeds_on_cpu: bool,
    /// Range and cross-field checks of its params (messages name the key).
    pub validate: fn(&AlgorithmConfig, &Config) -> Result<(), ConfigError>,
    /// Adjusts a config for `device=auto`'s short timing run, so that it
    /// measures the work of training (DQN: updates start at once).
    pub for_timing: fn(&mut AlgorithmConfig),
}

impl AlgorithmSpec {
    /// The keys each agent of a batch may set on its own.
    pub fn scalar_keys(&self) -> Vec<&'static str> {
        self.keys.iter().filter(|(_, role)| *role == KeyRole::Scalar).map(|(key, _)| *key).collect()
    }
}

/// The algorithms of this build, in menu order.
pub const ALGORITHMS: &[AlgorithmSpec] = &[
    AlgorithmSpec {
        name: "ppo",
        summary: "Proximal Policy Optimization (on-policy, clipped surrogate)",
        action_kinds: &[ActionKind::Discrete],
        keys: &[
            ("learning_rate", KeyRole::Scalar),
            ("n_steps", KeyRole::Shape("the checkpoint holds a rollout of this length")),
            ("batch_size", KeyRole::Shared),
            ("n_epochs", KeyRole::Shared),
            ("gamma", KeyRole::Scalar),
            ("gae_lambda", KeyRole::Scalar),
            ("clip_range", KeyRole::Scalar),
            ("ent_coef", KeyRole::Scalar),
            ("vf_coef", KeyRole::Scalar),
            ("max_grad_norm", KeyRole::Scalar),
            ("normalize_advantage", KeyRole::Shared),
            ("net_arch", KeyRole::Shape("the network's shape is fixed by its weights")),
            ("activation", KeyRole::Shape("the weights were trained with it")),
            // Only the initial weights depend on it, and each agent initialises its own.
            ("ortho_init", KeyRole::Scalar),
            ("adam_eps", KeyRole::Shared),
        ],
        defaults: || AlgorithmConfig::Ppo(PpoParams::default()),
        batch_seeds_on_cpu: true,
        validate: validate_ppo,
        for_timing: |_| {},
    },
    AlgorithmSpec {
        name: "dqn",
        summary: "Deep Q-Network (off-policy, replay buffer, target network)",
        action_kinds: &[ActionKind::Discrete],
        keys: &[
            ("learning_rate", KeyRole::Scalar),
            ("buffer_size", KeyRole::Shape("the checkpoint holds a replay buffer of this size")),
            ("learning_starts", KeyRole::Shared),
            ("batch_size", KeyRole::Shared),
            ("gamma", KeyRole::Scalar),
            ("target_update_interval", KeyRole::Shared),
            ("train_freq", KeyRole::Shared),
            ("gradient_steps", KeyRole::Shared),
            ("exploration_fraction", KeyRole::Scalar),
            ("exploration_initial_eps", KeyRole::Scalar),
            ("exploration_final_eps", KeyRole::Scalar),
            ("max_grad_norm", KeyRole::Scalar),
            ("net_arch", KeyRole::Shape("the network's shape is fixed by its weights")),
            ("activation", KeyRole::Shape("the weights were trained with it")),
            ("adam_eps", KeyRole::Shared),
        ],
        defaults: || AlgorithmConfig::Dqn(DqnParams::default()),
        batch_seeds_on_cpu: false,
        validate: validate_dqn,
        for_timing: |a| {
            if let AlgorithmConfig::Dqn(p) = a {
                // What one update costs does not depend on when it happens.
                p.learning_starts = p.learning_starts.min(p.batch_size as u64);
            }
        },
    },
];

/// PPO's range and cross-field checks (the rollout size depends on env.n_envs).
fn validate_ppo(algorithm: &AlgorithmConfig, config: &Config) -> Result<(), ConfigError> {
    let AlgorithmConfig::Ppo(p) = algorithm else { return Ok(()) };
    let k = |s: &str| format!("algorithm.params.{s}");
    check_schedule(&p.learning_rate, &k("learning_rate"))?;
    check_schedule(&p.clip_range, &k("clip_range"))?;
    check(p.n_steps > 0, &k("n_steps"), "must be at least 1")?;
    check(
        p.n_steps.saturating_mul(config.env.n_envs) <= 10_000_000,
        &k("n_steps"),
        format!("n_steps * n_envs must be at most 10000000 transitions (memory), got {} * {}", p.n_steps, config.env.n_envs),
    )?;
    check(p.n_epochs > 0, &k("n_epochs"), "must be at least 1")?;
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
    check_unit(p.gamma, &k("gamma"), false)?;
    check_unit(p.gae_lambda, &k("gae_lambda"), false)?;
    check(p.ent_coef >= 0.0, &k("ent_coef"), format!("must be >= 0, got {}", p.ent_coef))?;
    check(p.vf_coef >= 0.0, &k("vf_coef"), format!("must be >= 0, got {}", p.vf_coef))?;
    check(p.max_grad_norm > 0.0, &k("max_grad_norm"), format!("must be > 0, got {}", p.max_grad_norm))?;
    check(p.adam_eps > 0.0, &k("adam_eps"), format!("must be > 0, got {}", p.adam_eps))?;
    check_arch(&p.net_arch, &k("net_arch"))?;
    Ok(())
}

/// DQN's range and cross-field checks.
fn validate_dqn(algorithm: &AlgorithmConfig, _config: &Config) -> Result<(), ConfigError> {
    let AlgorithmConfig::Dqn(d) = algorithm else { return Ok(()) };
    let k = |s: &str| format!("algorithm.params.{s}");
    check_schedule(&d.learning_rate, &k("learning_rate"))?;
    check(d.buffer_size > 0, &k("buffer_size"), "must be at least 1")?;
    check(d.buffer_size <= 10_000_000, &k("buffer_size"), format!("must be at most 10000000 transitions (memory), got {}", d.buffer_size))?;
    check(d.batch_size > 0, &k("batch_size"), "must be at least 1")?;
    check(
        d.batch_size <= d.buffer_size,
        &k("batch_size"),
        format!("must not exceed buffer_size ({}), got {}", d.buffer_size, d.batch_size),
    )?;
    check_unit(d.gamma, &k("gamma"), false)?;
    check(d.target_update_interval > 0, &k("target_update_interval"), "must be at least 1")?;
    check(d.train_freq > 0, &k("train_freq"), "must be at least 1")?;
    check(
        d.gradient_steps == -1 || d.gradient_steps > 0,
        &k("gradient_steps"),
        format!("must be -1 (as many as env steps collected) or at least 1, got {}", d.gradient_steps),
    )?;
    check_unit(d.exploration_fraction, &k("exploration_fraction"), true)?;
    check_unit(d.exploration_initial_eps, &k("exploration_initial_eps"), false)?;
    check_unit(d.exploration_final_eps, &k("exploration_final_eps"), false)?;
    check(d.max_grad_norm > 0.0, &k("max_grad_norm"), format!("must be > 0, got {}", d.max_grad_norm))?;
    check(d.adam_eps > 0.0, &k("adam_eps"), format!("must be > 0, got {}", d.adam_eps))?;
    check_arch(&d.net_arch, &k("net_arch"))?;
    Ok(())
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
    pub fn role(&self, key: &str) -> Option<KeyRole> {
        self.keys.iter().find(|(k, _)| *k == key).map(|(_, r)| *r)
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
            for (key, role) in spec.keys {
                if *role == KeyRole::Scalar {
                    if let Some(v) = d.get(*key) {
                        p.insert(key.to_string(), v.clone());
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
                assert_eq!(spec.keys.iter().filter(|(n, _)| n == k).count(), 1, "{}: {k}", spec.name);
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
