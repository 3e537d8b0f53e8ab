//! Typed experiment configuration with documented defaults.
//!
//! A config is loaded from RON or YAML (`--config FILE`), then Hydra-style
//! `a.b.c=value` overrides are applied (see [`overrides`]), then [`Config::validate`]
//! checks ranges and cross-field constraints. Every error names the offending
//! key and what is allowed.

pub mod algorithms;
pub mod batch;
pub mod coef;
pub mod docs;
mod env_config;
pub mod hydra;
mod names;
mod off_policy;
pub mod overrides;
pub mod params;
pub mod reference;
pub mod schedule;

use crate::envs::ParamValues;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

pub use batch::BatchSeeds;
pub use coef::{EntCoef, NoiseType};
pub use overrides::apply_overrides;
pub use params::{A2cParams, Activation, DqnParams, PpoParams, SacParams, Td3Params};
pub use schedule::Schedule;

/// The presets shipped in `configs/`, built in so an installed binary (started
/// anywhere: the app, `bench`) has them too.
pub const BUILTIN_PRESETS: &[(&str, &str)] = &[
    ("acrobot_a2c", include_str!("../../configs/acrobot_a2c.ron")),
    ("acrobot_dqn", include_str!("../../configs/acrobot_dqn.ron")),
    ("acrobot_ppo", include_str!("../../configs/acrobot_ppo.ron")),
    ("cartpole_a2c", include_str!("../../configs/cartpole_a2c.ron")),
    ("cartpole_dqn", include_str!("../../configs/cartpole_dqn.ron")),
    ("cartpole_ppo", include_str!("../../configs/cartpole_ppo.ron")),
    ("lunarlander_dqn", include_str!("../../configs/lunarlander_dqn.ron")),
    ("lunarlander_ppo", include_str!("../../configs/lunarlander_ppo.ron")),
    ("lunarlandercontinuous_ppo", include_str!("../../configs/lunarlandercontinuous_ppo.ron")),
    ("lunarlandercontinuous_sac", include_str!("../../configs/lunarlandercontinuous_sac.ron")),
    ("lunarlandercontinuous_td3", include_str!("../../configs/lunarlandercontinuous_td3.ron")),
    ("mountaincar_dqn", include_str!("../../configs/mountaincar_dqn.ron")),
    ("mountaincar_ppo", include_str!("../../configs/mountaincar_ppo.ron")),
    ("mountaincarcontinuous_ppo", include_str!("../../configs/mountaincarcontinuous_ppo.ron")),
    ("mountaincarcontinuous_sac", include_str!("../../configs/mountaincarcontinuous_sac.ron")),
    ("pendulum_a2c", include_str!("../../configs/pendulum_a2c.ron")),
    ("pendulum_ppo", include_str!("../../configs/pendulum_ppo.ron")),
    ("pendulum_sac", include_str!("../../configs/pendulum_sac.ron")),
    ("pendulum_td3", include_str!("../../configs/pendulum_td3.ron")),
];

/// A built-in preset by name (`cartpole_dqn`, ...).
pub fn builtin_preset(name: &str) -> Result<Config, ConfigError> {
    let Some((_, text)) = BUILTIN_PRESETS.iter().find(|(n, _)| *n == name) else {
        let names: Vec<&str> = BUILTIN_PRESETS.iter().map(|(n, _)| *n).collect();
        return err(format!("no built-in preset '{name}': the presets are {}", names.join(", ")));
    };
    ron::from_str::<Config>(text).map_err(|e| ConfigError(format!("built-in preset {name}: {e}")))
}

/// A configuration error: which key or file, and what is allowed.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigError(pub String);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for ConfigError {}

fn err<T>(msg: impl Into<String>) -> Result<T, ConfigError> {
    Err(ConfigError(msg.into()))
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub experiment: ExperimentConfig,
    #[serde(default)]
    pub env: EnvConfig,
    #[serde(default)]
    pub algorithm: AlgorithmConfig,
    #[serde(default)]
    pub logging: LoggingConfig,
    #[serde(default)]
    pub stats: StatsConfig,
}

/// How a seed group's statistics are computed (see `stats`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StatsConfig {
    /// Bootstrap resamples behind every confidence interval of a seed group
    /// (percentile bootstrap over seeds, seeded: the same runs give the same intervals). Default 2000.
    pub bootstrap_reps: usize,
    /// Coverage of the confidence intervals, strictly between 0 and 1. Default 0.95.
    pub confidence: f64,
    /// The score the optimality gap is measured against; null uses the env's
    /// (CartPole-v1: 500, LunarLander: 200, its "solved" score).
    pub reference_score: Option<f64>,
}

impl Default for StatsConfig {
    fn default() -> Self {
        Self { bootstrap_reps: 2000, confidence: 0.95, reference_score: None }
    }
}

impl StatsConfig {
    /// The reference score for `env_id`: the configured one, else the env's own.
    pub fn reference_for(&self, env_id: &str) -> Option<f64> {
        self.reference_score.or_else(|| crate::envs::registry::find(env_id).and_then(|f| f.spec.reference_score))
    }
}

/// Where a run's metrics go besides logs/metrics.csv (always written).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LoggingConfig {
    /// Write every metric also as TensorBoard events (logs/events.out.tfevents.*),
    /// so `tensorboard --logdir runs` shows the runs live. Default true.
    pub tensorboard: bool,
    /// Write logs/monitor.csv, one row per finished training episode in
    /// Stable-Baselines3's Monitor format (rl-zoo plots, load_results). Default true.
    pub monitor_csv: bool,
    /// Sample system/cpu_percent, system/rss_mib and system/mem_used_mib into the
    /// metrics every this many seconds of training; 0 turns it off. Default 5.
    pub system_metrics_secs: f64,
}

impl Default for LoggingConfig {
    fn default() -> Self {
        Self { tensorboard: true, monitor_csv: true, system_metrics_secs: 5.0 }
    }
}

impl Default for Config {
    /// The "basic run": CartPole-v1 with PPO and rl-baselines3-zoo's hyperparameters.
    fn default() -> Self {
        Self {
            experiment: ExperimentConfig::default(),
            env: EnvConfig::default(),
            algorithm: AlgorithmConfig::default(),
            logging: LoggingConfig::default(),
            stats: StatsConfig::default(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ExperimentConfig {
    /// Run directory name under `runs_dir`. Default "cartpole_ppo".
    pub name: String,
    /// Seeds envs (env i gets seed + i), weight init, exploration and minibatches. Default 0.
    pub seed: u64,
    /// Environment steps over all envs. Default 100_000.
    pub total_timesteps: u64,
    /// Evaluate every this many environment steps (over all envs), like SB3's
    /// EvalCallback with `eval_freq * n_envs`. 0 disables periodic evaluation. Default 10_000.
    pub eval_freq: u64,
    /// Deterministic episodes per evaluation. Default 10.
    pub n_eval_episodes: usize,
    /// Where run directories are created. Default "runs".
    pub runs_dir: PathBuf,
    /// cpu (burn flex backend), gpu (burn wgpu backend) or auto (with a real
    /// GPU present, a short trial run of the batch on both picks the faster). Default cpu.
    pub device: DeviceChoice,
    /// Episodes of the best model recorded into videos/evaluation.mp4 and
    /// logs/eval_episodes.jsonl at the end of training; 0 skips both. Default 1.
    pub video_episodes: usize,
    /// Write checkpoints/step_<n>.ckpt (everything needed to resume exactly)
    /// every this many environment steps; null (the default) checkpoints at each
    /// evaluation (eval_freq), 0 only when stopped and at the last step.
    pub checkpoint_freq: Option<u64>,
    /// How many of the newest checkpoints to keep (at least 1). Default 2.
    pub keep_checkpoints: usize,
    /// Whether DQN checkpoints include the replay buffer. Without it a resume
    /// starts from an empty buffer and is not identical to an uninterrupted run. Default true.
    pub checkpoint_replay_buffer: bool,
    /// Train once per seed in this list as one seed group, e.g. [0,1,2,3,4]:
    /// runs_dir/name/seed_<k>/ per seed, group.json and aggregate.csv beside them. Default null (one run).
    pub seeds: Option<Vec<u64>>,
    /// A seed group of this many seeds counting up from experiment.seed (the
    /// short form of experiment.seeds). Default null (one run).
    pub n_seeds: Option<usize>,
    /// How a seed group's seeds execute: true = as one batched computation
    /// (every network stacked along a seed axis, one forward and one backward
    /// pass for all seeds; each seed still its own envs, generators and run
    /// directory, and on the CPU bit for bit the run it is alone; one batch on
    /// a GPU, one per core on the CPU); false = one thread per seed, one per
    /// core; auto = batched where `bench --seeds` measured it faster: on a GPU,
    /// and PPO on the CPU (DQN on the CPU: threads). Default auto.
    pub batch_seeds: BatchSeeds,
    /// Labels that group related runs across names and sweeps, e.g.
    /// [baseline,lr-study]: the runs browser filters by them and `compare tag:<name>`
    /// takes every run with one. Letters, digits and - _ . + / @. A sweep's trials
    /// get the sweep's name too. Default [].
    pub tags: Vec<String>,
    /// Why this run is started (free text, up to 16 kB), kept in config.yaml,
    /// run_info.json and TensorBoard; findings go into the run's notes.md
    /// afterwards (runs browser, or `rl-research note RUN "..."`). Default "".
    pub notes: String,
}

impl ExperimentConfig {
    /// Whether this names a seed group (experiment.seeds or experiment.n_seeds set).
    pub fn is_group(&self) -> bool {
        self.seeds.is_some() || self.n_seeds.is_some()
    }
}

impl Default for ExperimentConfig {
    fn default() -> Self {
        Self {
            name: "cartpole_ppo".into(),
            seed: 0,
            total_timesteps: 100_000,
            eval_freq: 10_000,
            n_eval_episodes: 10,
            runs_dir: PathBuf::from("runs"),
            device: DeviceChoice::Cpu,
            video_episodes: 1,
            checkpoint_freq: None,
            keep_checkpoints: 2,
            checkpoint_replay_buffer: true,
            seeds: None,
            n_seeds: None,
            batch_seeds: BatchSeeds::Auto,
            tags: Vec::new(),
            notes: String::new(),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeviceChoice {
    Cpu,
    Gpu,
    Auto,
}

impl fmt::Display for DeviceChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DeviceChoice::Cpu => "cpu",
            DeviceChoice::Gpu => "gpu",
            DeviceChoice::Auto => "auto",
        })
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EnvConfig {
    /// Gymnasium id of a built-in env, or gym:<id> for any Gymnasium env
    /// (stepped in Python workers, see env.python). Default "CartPole-v1".
    pub id: String,
    /// Parallel envs in the vectorized env. Default 8.
    pub n_envs: usize,
    /// TimeLimit override; None keeps the env's registered limit (CartPole-v1: 500).
    pub max_episode_steps: Option<u32>,
    /// Env-specific parameters, Gymnasium's make kwargs (`rl-research keys`
    /// lists each env's; unset ones take the env's default, those of other envs are ignored).
    pub params: ParamValues,
    /// Normalize observations by their running mean and std while training
    /// (SB3's VecNormalize, clip 10); the statistics are saved in the model
    /// file and applied wherever it acts. Default false.
    pub normalize_obs: bool,
    /// Scale rewards by the running std of the discounted return (the
    /// algorithm's gamma, clip 10) while training; metrics and evaluations
    /// report the env's own rewards. Default false.
    pub normalize_reward: bool,
    /// The Python interpreter that steps a gym: env (env.id=gym:<Gymnasium id>);
    /// its Gymnasium and packages are the ones used. Default: python3 on PATH.
    pub python: Option<String>,
    /// Keyword arguments to gymnasium.make for a gym: env, e.g. {continuous: true}.
    pub gym_kwargs: BTreeMap<String, serde_json::Value>,
    /// Modules a gym: env's workers import before gymnasium.make (modules that register your own envs).
    pub gym_imports: Vec<String>,
    /// Worker processes stepping a gym: env's n_envs envs. Default: one per CPU core (at most n_envs).
    pub workers: Option<usize>,
    /// Seconds a gym: env's step or reset may take before its worker counts as hung. Default 30.
    pub worker_timeout_secs: f64,
}

impl Default for EnvConfig {
    fn default() -> Self {
        Self {
            id: crate::envs::DEFAULT_ENV_ID.into(),
            n_envs: 8,
            max_episode_steps: None,
            params: ParamValues::default(),
            normalize_obs: false,
            normalize_reward: false,
            python: None,
            gym_kwargs: BTreeMap::new(),
            gym_imports: Vec::new(),
            workers: None,
            worker_timeout_secs: 30.0,
        }
    }
}

/// A one-line remark about the env choice (an alias's note), shown when a run starts.
pub fn env_note(config: &EnvConfig) -> Option<String> {
    crate::envs::registry::find(&config.id).and_then(|f| f.note)
}

/// Algorithm and its hyperparameters; serialised as `{name: ppo, params: {...}}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "name", content = "params", rename_all = "lowercase")]
pub enum AlgorithmConfig {
    Ppo(PpoParams),
    Dqn(DqnParams),
    A2c(A2cParams),
    Sac(SacParams),
    Td3(Td3Params),
}

impl Default for AlgorithmConfig {
    fn default() -> Self {
        AlgorithmConfig::Ppo(PpoParams::default())
    }
}

impl AlgorithmConfig {
    pub fn name(&self) -> &'static str {
        match self {
            AlgorithmConfig::Ppo(_) => "ppo",
            AlgorithmConfig::Dqn(_) => "dqn",
            AlgorithmConfig::A2c(_) => "a2c",
            AlgorithmConfig::Sac(_) => "sac",
            AlgorithmConfig::Td3(_) => "td3",
        }
    }

    /// Default hyperparameters for an algorithm name.
    pub fn defaults_for(name: &str) -> Result<Self, ConfigError> {
        algorithms::spec(name).map(|a| (a.defaults)())
    }

    /// The discount factor (what reward normalization discounts returns with).
    pub fn gamma(&self) -> f64 {
        self.params_json().get("gamma").and_then(|g| g.as_f64()).unwrap_or(0.99)
    }
}

pub use names::{MAX_NAME_BYTES, elide, validate_experiment_name};

/// The largest config file read (`--config`): far above any real one.
pub const MAX_CONFIG_FILE_BYTES: u64 = 4 << 20;

fn check(cond: bool, key: &str, msg: impl fmt::Display) -> Result<(), ConfigError> {
    if cond { Ok(()) } else { err(format!("{key}: {msg}")) }
}

impl Config {
    /// The seeds of a seed group (experiment.seeds or experiment.n_seeds), or
    /// `None` for a single run.
    pub fn group_seeds(&self) -> Result<Option<Vec<u64>>, ConfigError> {
        let e = &self.experiment;
        match (&e.seeds, e.n_seeds) {
            (Some(_), Some(_)) => err(
                "experiment.seeds and experiment.n_seeds are both set: give the list (experiment.seeds=[0,1,2]) or the count (experiment.n_seeds=3), not both",
            ),
            (None, None) => Ok(None),
            (None, Some(n)) => {
                check((1..=1000).contains(&n), "experiment.n_seeds", format!("must be between 1 and 1000, got {n}"))?;
                let seeds: Option<Vec<u64>> = (0..n as u64).map(|k| e.seed.checked_add(k)).collect();
                seeds.map(Some).ok_or_else(|| {
                    ConfigError(format!("experiment.n_seeds={n} from experiment.seed={} runs past the largest seed", e.seed))
                })
            }
            (Some(list), None) => {
                check(
                    !list.is_empty(),
                    "experiment.seeds",
                    "the list is empty: give at least one seed, e.g. experiment.seeds=[0,1,2], or null for a single run",
                )?;
                check(list.len() <= 1000, "experiment.seeds", format!("has {} seeds: at most 1000", list.len()))?;
                let mut seen = std::collections::BTreeSet::new();
                if let Some(dup) = list.iter().find(|s| !seen.insert(**s)) {
                    return err(format!("experiment.seeds lists seed {dup} more than once: each seed must appear once (got {list:?})"));
                }
                Ok(Some(list.clone()))
            }
        }
    }

    /// Range and cross-field checks that types alone cannot express.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let e = &self.experiment;
        validate_experiment_name(&e.name)?;
        check(
            !e.runs_dir.as_os_str().is_empty(),
            "experiment.runs_dir",
            "is empty: give the directory runs are written to, e.g. experiment.runs_dir=runs",
        )?;
        check(e.total_timesteps > 0, "experiment.total_timesteps", "must be at least 1")?;
        check(e.n_eval_episodes > 0, "experiment.n_eval_episodes", "must be at least 1")?;
        check(e.n_eval_episodes <= 10_000, "experiment.n_eval_episodes", format!("must be at most 10000, got {}", e.n_eval_episodes))?;
        check(
            e.video_episodes <= 100,
            "experiment.video_episodes",
            format!("must be at most 100 (0 disables the video), got {}", e.video_episodes),
        )?;
        let s = self.logging.system_metrics_secs;
        check(
            s == 0.0 || (0.01..=86_400.0).contains(&s),
            "logging.system_metrics_secs",
            format!("must be 0 (off) or between 0.01 and 86400 seconds, got {s}"),
        )?;
        check(
            (1..=1000).contains(&e.keep_checkpoints),
            "experiment.keep_checkpoints",
            format!("must be between 1 and 1000, got {}", e.keep_checkpoints),
        )?;
        self.group_seeds()?;
        crate::runs::notebook::check_tags(&e.tags).map_err(|m| ConfigError(format!("experiment.tags: {m}")))?;
        crate::runs::notebook::check_purpose(&e.notes).map_err(|m| ConfigError(format!("experiment.notes {m}")))?;
        let st = &self.stats;
        check(
            (1..=1_000_000).contains(&st.bootstrap_reps),
            "stats.bootstrap_reps",
            format!("must be between 1 and 1000000, got {}", st.bootstrap_reps),
        )?;
        check(
            st.confidence > 0.0 && st.confidence < 1.0,
            "stats.confidence",
            format!("must be strictly between 0 and 1 (e.g. 0.95), got {}", st.confidence),
        )?;
        check(st.reference_score.is_none_or(f64::is_finite), "stats.reference_score", "must be a finite number or null")?;
        self.env.validate()?;
        if let Some(spec) = self.env.known_spec()? {
            self.algorithm.spec().check_action_space(&self.env.id, &spec.action_space_for(&self.env.params))?;
        }
        self.algorithm.spec().check_fields(&self.algorithm)?;
        self.algorithm.spec().check_normalization(&self.env)?;
        (self.algorithm.spec().validate)(&self.algorithm, self)?;
        Ok(())
    }

    /// Loads a RON (`.ron`) or YAML (`.yaml`/`.yml`) config file. A run's own
    /// `configs/config.yaml` is accepted too (its `command_line` key is ignored).
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        // A config is a few KiB: a huge file is a wrong path, and parsing it would cost memory for nothing.
        if let Ok(m) = std::fs::metadata(path) {
            if m.len() > MAX_CONFIG_FILE_BYTES {
                return err(format!(
                    "config file {} is {} bytes: a config file is at most {MAX_CONFIG_FILE_BYTES} bytes; is it the right file?",
                    path.display(),
                    m.len()
                ));
            }
        }
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError(format!("cannot read config file {}: {e}", path.display())))?;
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
        let comment = if ext == "ron" { "//" } else { "#" };
        if text.trim_start_matches('\u{feff}').lines().all(|l| l.trim().is_empty() || l.trim_start().starts_with(comment)) {
            return err(format!(
                "config file {} is empty: it must set at least one key (see `rl-research keys`); to train the defaults, leave out --config",
                path.display()
            ));
        }
        let parsed = match ext.as_str() {
            "ron" => ron::from_str::<Config>(&text)
                .map_err(|e| ConfigError(format!("config file {}:{}:{}: {}", path.display(), e.span.start.line, e.span.start.col, e.code))),
            "yaml" | "yml" => parse_yaml(&text).map_err(|e| ConfigError(format!("config file {}: {e}", path.display()))),
            _ => err(format!("config file {}: unknown extension '{ext}': use .ron, .yaml or .yml", path.display())),
        }?;
        Ok(parsed)
    }

    pub fn to_yaml(&self) -> String {
        serde_saphyr::to_string(self).unwrap_or_else(|e| format!("# could not serialise config: {e}\n"))
    }

    pub fn to_ron(&self) -> String {
        let pretty = ron::ser::PrettyConfig::new().struct_names(false);
        ron::ser::to_string_pretty(self, pretty).unwrap_or_else(|e| format!("// could not serialise config: {e}\n"))
    }
}

fn check_arch(arch: &[usize], key: &str) -> Result<(), ConfigError> {
    check(
        !arch.is_empty() && arch.iter().all(|&w| w > 0 && w <= 65536),
        key,
        format!("must list 1 or more layer widths between 1 and 65536, got {arch:?}"),
    )
}

/// YAML config text, tolerating the `command_line` key that run directories add.
fn parse_yaml(text: &str) -> Result<Config, String> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct RunFile {
        #[serde(default)]
        experiment: ExperimentConfig,
        #[serde(default)]
        env: EnvConfig,
        #[serde(default)]
        algorithm: AlgorithmConfig,
        #[serde(default)]
        logging: LoggingConfig,
        #[serde(default)]
        stats: StatsConfig,
        #[serde(default)]
        #[allow(dead_code)]
        command_line: Option<String>,
    }
    // The parser's hint about its own options means nothing to a user: say what to fix.
    let f: RunFile = serde_saphyr::from_str(text).map_err(|e| {
        e.to_string().replace(", set DuplicateKeyPolicy in Options if acceptable", ": each key may appear once in its section; remove one")
    })?;
    Ok(Config { experiment: f.experiment, env: f.env, algorithm: f.algorithm, logging: f.logging, stats: f.stats })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_validates_and_round_trips_through_yaml_and_ron() {
        let c = Config::default();
        c.validate().unwrap();
        let y: Config = parse_yaml(&c.to_yaml()).unwrap();
        assert_eq!(y, c);
        let r: Config = ron::from_str(&c.to_ron()).unwrap();
        assert_eq!(r, c);
    }

    #[test]
    fn duplicate_yaml_keys_are_named_without_parser_internals() {
        let e = parse_yaml("experiment:\n  seed: 1\n  seed: 2\n").unwrap_err();
        assert!(e.contains("seed") && e.contains("remove one") && !e.contains("DuplicateKeyPolicy"), "{e}");
    }
}
