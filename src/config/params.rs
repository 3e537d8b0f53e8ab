//! Each algorithm's hyperparameters, with rl-baselines3-zoo's defaults. The
//! doc comments are the keys' documentation (`rl-research keys`, the editor's
//! tooltips; build.rs collects them); each algorithm's validation and key
//! roles live in its descriptor (`algorithms.rs`).

use super::Schedule;
use super::coef::{EntCoef, NoiseType};
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Activation {
    Tanh,
    Relu,
}

impl Activation {
    pub const ALL: [Activation; 2] = [Activation::Tanh, Activation::Relu];

    /// Its name in configs.
    pub fn as_str(self) -> &'static str {
        match self {
            Activation::Tanh => "tanh",
            Activation::Relu => "relu",
        }
    }
}

/// PPO hyperparameters; defaults are rl-baselines3-zoo's for CartPole-v1
/// (SB3's defaults where the zoo sets nothing).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PpoParams {
    /// Adam step size; zoo: lin_1e-3.
    pub learning_rate: Schedule,
    /// Steps per env per rollout; zoo: 32.
    pub n_steps: usize,
    /// Minibatch size; zoo: 256 (= one minibatch per epoch with 8 envs).
    pub batch_size: usize,
    /// Passes over each rollout; zoo: 20.
    pub n_epochs: usize,
    /// Discount; zoo: 0.98.
    pub gamma: f64,
    /// GAE lambda; zoo: 0.8.
    pub gae_lambda: f64,
    /// Surrogate clipping; zoo: lin_0.2.
    pub clip_range: Schedule,
    /// Entropy bonus coefficient; zoo: 0.0.
    pub ent_coef: f64,
    /// Value loss coefficient; SB3: 0.5.
    pub vf_coef: f64,
    /// Global gradient norm clip; SB3: 0.5.
    pub max_grad_norm: f64,
    /// Normalise advantages per minibatch; SB3: true.
    pub normalize_advantage: bool,
    /// Hidden layers of both actor and critic; SB3: [64, 64].
    pub net_arch: Vec<usize>,
    /// Hidden activation; SB3: tanh.
    pub activation: Activation,
    /// SB3's orthogonal init (gain sqrt 2, 0.01 for the policy head, 1 for the value head).
    pub ortho_init: bool,
    /// Adam epsilon; SB3 sets 1e-5 for PPO.
    pub adam_eps: f64,
    /// Initial log standard deviation of a Gaussian policy (Box action
    /// spaces; ignored for discrete ones); SB3: 0.0.
    pub log_std_init: f64,
    /// Generalized State-Dependent Exploration (gSDE) instead of independent
    /// Gaussian noise per step (Box action spaces only); SB3: false.
    pub use_sde: bool,
    /// With use_sde: draw new exploration weights every this many steps;
    /// -1 = once per rollout; SB3: -1.
    pub sde_sample_freq: i64,
}

impl Default for PpoParams {
    fn default() -> Self {
        Self {
            learning_rate: Schedule::Linear { initial: 1e-3 },
            n_steps: 32,
            batch_size: 256,
            n_epochs: 20,
            gamma: 0.98,
            gae_lambda: 0.8,
            clip_range: Schedule::Linear { initial: 0.2 },
            ent_coef: 0.0,
            vf_coef: 0.5,
            max_grad_norm: 0.5,
            normalize_advantage: true,
            net_arch: vec![64, 64],
            activation: Activation::Tanh,
            ortho_init: true,
            adam_eps: 1e-5,
            log_std_init: 0.0,
            use_sde: false,
            sde_sample_freq: -1,
        }
    }
}

/// DQN hyperparameters; defaults are rl-baselines3-zoo's for CartPole-v1.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DqnParams {
    /// Adam step size; zoo: 2.3e-3.
    pub learning_rate: Schedule,
    /// Replay capacity in transitions; zoo: 100_000.
    pub buffer_size: usize,
    /// Env steps of random actions before learning; zoo: 1000.
    pub learning_starts: u64,
    /// Minibatch size; zoo: 64.
    pub batch_size: usize,
    /// Discount; zoo: 0.99.
    pub gamma: f64,
    /// Copy the online net into the target net every this many env steps; zoo: 10.
    pub target_update_interval: u64,
    /// Env steps (per env) between training phases; zoo: 256.
    pub train_freq: u64,
    /// Gradient steps per training phase; -1 = as many as env steps collected; zoo: 128.
    pub gradient_steps: i64,
    /// Fraction of training over which epsilon decays; zoo: 0.16.
    pub exploration_fraction: f64,
    /// Epsilon at the start; SB3: 1.0.
    pub exploration_initial_eps: f64,
    /// Epsilon after the decay; zoo: 0.04.
    pub exploration_final_eps: f64,
    /// Global gradient norm clip; SB3: 10.
    pub max_grad_norm: f64,
    /// Hidden layers; zoo: [256, 256].
    pub net_arch: Vec<usize>,
    /// Hidden activation; SB3: relu.
    pub activation: Activation,
    /// Adam epsilon; SB3/torch default 1e-8.
    pub adam_eps: f64,
}

impl Default for DqnParams {
    fn default() -> Self {
        Self {
            learning_rate: Schedule::Constant(2.3e-3),
            buffer_size: 100_000,
            learning_starts: 1000,
            batch_size: 64,
            gamma: 0.99,
            target_update_interval: 10,
            train_freq: 256,
            gradient_steps: 128,
            exploration_fraction: 0.16,
            exploration_initial_eps: 1.0,
            exploration_final_eps: 0.04,
            max_grad_norm: 10.0,
            net_arch: vec![256, 256],
            activation: Activation::Relu,
            adam_eps: 1e-8,
        }
    }
}

/// A2C hyperparameters; defaults are SB3's (the zoo's CartPole-v1 preset sets
/// only `ent_coef: 0.0` and 8 envs).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct A2cParams {
    /// Step size; SB3: 7e-4.
    pub learning_rate: Schedule,
    /// Steps per env per rollout (one update per rollout); SB3: 5.
    pub n_steps: usize,
    /// Discount; SB3: 0.99.
    pub gamma: f64,
    /// GAE lambda (1.0 = plain n-step returns); SB3: 1.0.
    pub gae_lambda: f64,
    /// Entropy bonus coefficient; SB3: 0.0.
    pub ent_coef: f64,
    /// Value loss coefficient; SB3: 0.5.
    pub vf_coef: f64,
    /// Global gradient norm clip; SB3: 0.5.
    pub max_grad_norm: f64,
    /// RMSprop (alpha 0.99) instead of Adam; SB3: true.
    pub use_rms_prop: bool,
    /// RMSprop's epsilon (Adam's too when use_rms_prop is false); SB3: 1e-5.
    pub rms_prop_eps: f64,
    /// Normalise the rollout's advantages; SB3: false.
    pub normalize_advantage: bool,
    /// Hidden layers of both actor and critic; SB3: [64, 64].
    pub net_arch: Vec<usize>,
    /// Hidden activation; SB3: tanh.
    pub activation: Activation,
    /// SB3's orthogonal init (gain sqrt 2, 0.01 for the policy head, 1 for the value head).
    pub ortho_init: bool,
    /// Initial log standard deviation of a Gaussian policy (Box action spaces); SB3: 0.0.
    pub log_std_init: f64,
    /// Generalized State-Dependent Exploration (Box action spaces only); SB3: false.
    pub use_sde: bool,
    /// With use_sde: new exploration weights every this many steps; -1 = once per rollout; SB3: -1.
    pub sde_sample_freq: i64,
}

impl Default for A2cParams {
    fn default() -> Self {
        Self {
            learning_rate: Schedule::Constant(7e-4),
            n_steps: 5,
            gamma: 0.99,
            gae_lambda: 1.0,
            ent_coef: 0.0,
            vf_coef: 0.5,
            max_grad_norm: 0.5,
            use_rms_prop: true,
            rms_prop_eps: 1e-5,
            normalize_advantage: false,
            net_arch: vec![64, 64],
            activation: Activation::Tanh,
            ortho_init: true,
            log_std_init: 0.0,
            use_sde: false,
            sde_sample_freq: -1,
        }
    }
}

/// SAC hyperparameters; defaults are SB3's (the zoo's Pendulum-v1 preset sets
/// only learning_rate 1e-3).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SacParams {
    /// Adam step size of the actor, the critics and the entropy coefficient; SB3: 3e-4.
    pub learning_rate: Schedule,
    /// Replay capacity in transitions; SB3: 1_000_000.
    pub buffer_size: usize,
    /// Env steps of uniformly random actions before learning; SB3: 100.
    pub learning_starts: u64,
    /// Minibatch size; SB3: 256.
    pub batch_size: usize,
    /// Polyak coefficient of the target critics' soft update; SB3: 0.005.
    pub tau: f64,
    /// Discount; SB3: 0.99.
    pub gamma: f64,
    /// Env steps (per env) between training phases; SB3: 1.
    pub train_freq: u64,
    /// Gradient steps per training phase; -1 = as many as env steps collected; SB3: 1.
    pub gradient_steps: i64,
    /// Entropy coefficient: auto (learned, starting at 1.0, towards the target entropy -dim(A)), auto_<initial> (e.g. auto_0.1), or a fixed number; SB3: auto.
    pub ent_coef: EntCoef,
    /// Soft-update the target critics every this many gradient steps of a phase; SB3: 1.
    pub target_update_interval: u64,
    /// Hidden layers of the actor and of each critic; SB3: [256, 256].
    pub net_arch: Vec<usize>,
    /// Hidden activation; SB3: relu.
    pub activation: Activation,
    /// Generalized State-Dependent Exploration (gSDE) instead of a state-dependent log_std head; SB3: false.
    pub use_sde: bool,
    /// With use_sde: draw new exploration weights every this many steps; -1 = once per training phase; SB3: -1.
    pub sde_sample_freq: i64,
    /// With use_sde: initial log standard deviation of the exploration weights; SB3: -3.0.
    pub log_std_init: f64,
}

impl Default for SacParams {
    fn default() -> Self {
        Self {
            learning_rate: Schedule::Constant(3e-4),
            buffer_size: 1_000_000,
            learning_starts: 100,
            batch_size: 256,
            tau: 0.005,
            gamma: 0.99,
            train_freq: 1,
            gradient_steps: 1,
            ent_coef: EntCoef::Auto { initial: 1.0 },
            target_update_interval: 1,
            net_arch: vec![256, 256],
            activation: Activation::Relu,
            use_sde: false,
            sde_sample_freq: -1,
            log_std_init: -3.0,
        }
    }
}

/// TD3 hyperparameters; defaults are SB3's.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Td3Params {
    /// Adam step size of the actor and the critics; SB3: 1e-3.
    pub learning_rate: Schedule,
    /// Replay capacity in transitions; SB3: 1_000_000.
    pub buffer_size: usize,
    /// Env steps of uniformly random actions before learning; SB3: 100.
    pub learning_starts: u64,
    /// Minibatch size; SB3: 256.
    pub batch_size: usize,
    /// Polyak coefficient of the target networks' soft update; SB3: 0.005.
    pub tau: f64,
    /// Discount; SB3: 0.99.
    pub gamma: f64,
    /// Env steps (per env) between training phases; SB3: 1.
    pub train_freq: u64,
    /// Gradient steps per training phase; -1 = as many as env steps collected; SB3: 1.
    pub gradient_steps: i64,
    /// Update the actor and the targets once every this many critic updates; SB3: 2.
    pub policy_delay: u64,
    /// Std of the Gaussian noise added to the target actor's actions (target policy smoothing); SB3: 0.2.
    pub target_policy_noise: f64,
    /// Clip of the target policy smoothing noise; SB3: 0.5.
    pub target_noise_clip: f64,
    /// Exploration noise on the actions: none, normal or ornstein-uhlenbeck; the zoo sets normal for Pendulum.
    pub noise_type: NoiseType,
    /// Std of the exploration noise (in the [-1, 1] action scale); zoo: 0.1.
    pub noise_std: f64,
    /// Hidden layers of the actor and of each critic; SB3: [400, 300].
    pub net_arch: Vec<usize>,
    /// Hidden activation; SB3: relu.
    pub activation: Activation,
}

impl Default for Td3Params {
    fn default() -> Self {
        Self {
            learning_rate: Schedule::Constant(1e-3),
            buffer_size: 1_000_000,
            learning_starts: 100,
            batch_size: 256,
            tau: 0.005,
            gamma: 0.99,
            train_freq: 1,
            gradient_steps: 1,
            policy_delay: 2,
            target_policy_noise: 0.2,
            target_noise_clip: 0.5,
            noise_type: NoiseType::None,
            noise_std: 0.1,
            net_arch: vec![400, 300],
            activation: Activation::Relu,
        }
    }
}
