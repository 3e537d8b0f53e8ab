//! PPO, A2C, DQN, SAC and TD3 on burn. Algorithms see envs and a [`Callback`]; they never touch
//! the filesystem or the GUI. The runner's callback evaluates, logs, saves and
//! answers the Stop button, like SB3's callbacks.

pub mod a2c;
pub mod adam;
mod adam_host;
pub mod batch;
pub mod buffers;
mod clip_host;
pub mod device;
pub mod dqn;
pub mod fused;
pub mod nets;
pub mod off_policy;
pub mod on_policy;
pub mod ppo;
pub mod sac;
pub mod stacked;
pub mod td3;
mod thin_gemm;

use crate::config::AlgorithmConfig;
use crate::envs::normalize::ObsNorm;
use crate::envs::{ActionBatch, ActionSpace, ActionValue, BoxSpace, VecEnv};
use burn::prelude::*;
use nets::{Mlp, MlpWeights};
use serde::{Deserialize, Serialize};

pub use a2c::A2c;
pub use dqn::Dqn;
pub use ppo::Ppo;
pub use sac::Sac;
pub use td3::Td3;

/// What a callback tells the algorithm.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Control {
    Continue,
    Stop,
}

/// Named scalar metrics of one update, in a stable order (`a/b` names nest).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Metrics(pub Vec<(String, f64)>);

impl Metrics {
    pub fn push(&mut self, name: &str, value: f64) {
        self.0.push((name.to_string(), value));
    }
    pub fn get(&self, name: &str) -> Option<f64> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| *v)
    }
}

/// Hooks the training loop calls (SB3's `BaseCallback`).
pub trait Callback {
    /// After every vectorized env step, once the step is fully recorded (so a
    /// checkpoint taken here resumes exactly). `Stop` ends training after this step.
    fn on_step(&mut self, agent: &dyn AgentView, num_timesteps: u64) -> Control;
    /// After every gradient update phase, with its metrics.
    fn on_update(&mut self, metrics: &Metrics);
}

pub use crate::runs::model_file::PolicyHead;

/// What callbacks may read of an agent while it trains.
pub trait AgentView {
    /// What the acting network outputs.
    fn policy_head(&self) -> PolicyHead;
    /// A snapshot of the acting network, on the plain (no autodiff) device.
    fn policy(&self) -> Policy;
    /// Every network's weights, named ("actor", "critic", "q_net", "target_q_net").
    fn networks(&self) -> Result<Vec<(String, MlpWeights)>, String>;
    fn num_timesteps(&self) -> u64;
    /// Episodes (return, length) that finished on the latest env step.
    fn finished_episodes(&self) -> &[(f64, u32)];
    /// Everything needed to continue training exactly from this step: weights,
    /// optimizer state, generators, counters, buffers and the envs. Only the
    /// view a training loop hands to [`Callback::on_step`] can give one.
    fn checkpoint(&self, with_replay_buffer: bool) -> Result<TrainingState, String>;
}

/// One agent of a batch as the training loop drives it: its own envs, seed
/// (env resets) and callbacks (its own run directory).
pub struct Member<'a> {
    pub venv: &'a mut VecEnv,
    pub seed: u64,
    pub callback: &'a mut dyn Callback,
}

impl<T: AgentView> AgentView for &T {
    fn policy_head(&self) -> PolicyHead {
        (**self).policy_head()
    }
    fn policy(&self) -> Policy {
        (**self).policy()
    }
    fn networks(&self) -> Result<Vec<(String, MlpWeights)>, String> {
        (**self).networks()
    }
    fn num_timesteps(&self) -> u64 {
        (**self).num_timesteps()
    }
    fn finished_episodes(&self) -> &[(f64, u32)] {
        (**self).finished_episodes()
    }
    fn checkpoint(&self, with_replay_buffer: bool) -> Result<TrainingState, String> {
        (**self).checkpoint(with_replay_buffer)
    }
}

/// A trained algorithm as the runner sees it: `n_agents()` independent agents
/// of one config trained as one computation (one agent for a plain run).
pub trait Agent: Send {
    fn n_agents(&self) -> usize;
    /// Agent `k` between `learn` calls, or as it was when its callbacks said stop.
    fn view(&self, k: usize) -> Box<dyn AgentView + '_>;
    /// Trains every agent until `total_timesteps` env steps or until its
    /// callbacks say stop (a stopped agent stays as it was; the others go on).
    /// After [`Agent::restore`] each continues from its restored step (its
    /// envs restored by the caller) instead of resetting the envs.
    fn learn(&mut self, members: &mut [Member<'_>], total_timesteps: u64) -> Result<(), String>;
    /// Loads a [`TrainingState`]'s agent part into a one-agent batch (the caller restores the envs).
    fn restore(&mut self, state: &AgentState) -> Result<(), String>;
    fn as_any(&self) -> &dyn std::any::Any;
    fn into_any(self: Box<Self>) -> Box<dyn std::any::Any>;
    /// Its `algorithm.name`, so a batch is only formed of one algorithm's agents.
    fn algorithm(&self) -> &'static str;
    /// One batch of this agent's and `others`' agents (in order), or why not, with every agent
    /// given back (none lost) when they cannot be batched.
    fn merge_with(self: Box<Self>, others: Vec<Box<dyn Agent>>) -> Result<Box<dyn Agent>, (String, Vec<Box<dyn Agent>>)>;
}

/// One batch of the agents of `agents` (in order), or why they cannot be
/// batched (different algorithms, shapes or steps) with the agents given back:
/// the caller then trains them apart.
pub fn merge_agents(agents: Vec<Box<dyn Agent>>) -> Result<Box<dyn Agent>, (String, Vec<Box<dyn Agent>>)> {
    let names: Vec<&'static str> = agents.iter().map(|a| a.algorithm()).collect();
    if let Some(other) = names.iter().find(|&&a| a != names[0]) {
        let why = format!("{} and {other} agents cannot be batched together", names[0]);
        return Err((why, agents));
    }
    let mut agents = agents.into_iter();
    let Some(first) = agents.next() else { return Err(("no agents to batch".into(), Vec::new())) };
    first.merge_with(agents.collect())
}

/// An agent as it was when its callbacks said stop, while the rest of its
/// batch trained on: what its final evaluation and model file see.
pub struct FrozenAgent {
    pub head: PolicyHead,
    pub policy: Policy,
    pub networks: Vec<(String, MlpWeights)>,
    pub num_timesteps: u64,
}

impl AgentView for FrozenAgent {
    fn policy_head(&self) -> PolicyHead {
        self.head
    }
    fn policy(&self) -> Policy {
        self.policy.clone()
    }
    fn networks(&self) -> Result<Vec<(String, MlpWeights)>, String> {
        Ok(self.networks.clone())
    }
    fn num_timesteps(&self) -> u64 {
        self.num_timesteps
    }
    fn finished_episodes(&self) -> &[(f64, u32)] {
        &[]
    }
    fn checkpoint(&self, _with_replay_buffer: bool) -> Result<TrainingState, String> {
        Err("a checkpoint is taken between env steps, inside learn()".into())
    }
}

/// A network as checkpointed: weights plus the parameter ids its optimizer
/// state is keyed by.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NetworkState {
    pub name: String,
    pub weights: MlpWeights,
    pub param_ids: Vec<u64>,
}

/// An agent's part of a checkpoint (host-side, no burn types but the
/// optimizer record's bytes).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AgentState {
    pub networks: Vec<NetworkState>,
    /// Adam's moments and step count, per parameter id.
    pub optimizer: Vec<adam::AdamMoments>,
    pub algo: AlgoState,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum AlgoState {
    Ppo(ppo::PpoState),
    Dqn(dqn::DqnState),
    A2c(on_policy::OnPolicyState),
    Sac(off_policy::OffPolicyState),
    Td3(off_policy::OffPolicyState),
}

impl AlgoState {
    /// What a resume from this state should tell the user (what it could not restore).
    pub fn restore_note(&self) -> Option<String> {
        match self {
            AlgoState::Dqn(d) if d.replay.is_none() => Some(Self::no_replay_note("DQN")),
            AlgoState::Sac(d) if d.replay.is_none() => Some(Self::no_replay_note("SAC")),
            AlgoState::Td3(d) if d.replay.is_none() => Some(Self::no_replay_note("TD3")),
            _ => None,
        }
    }
}

impl AlgoState {
    fn no_replay_note(name: &str) -> String {
        format!(
            "note: the checkpoint has no replay buffer (experiment.checkpoint_replay_buffer=false): {name} continues with an empty one, so this run will differ from an uninterrupted one"
        )
    }
}

/// One training step's complete state: the agent's and the envs'.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainingState {
    pub agent: AgentState,
    pub venv: crate::envs::VecEnvSnapshot,
}

impl AgentState {
    pub fn network(&self, name: &str) -> Result<&NetworkState, String> {
        self.networks.iter().find(|n| n.name == name).ok_or_else(|| format!("the checkpoint has no network '{name}'"))
    }
}

/// Checks a checkpointed network against the shape this config builds.
pub(crate) fn check_network(net: &NetworkState, sizes: &[usize], activation: crate::config::Activation) -> Result<(), String> {
    net.weights.check().map_err(|e| format!("network '{}': {e}", net.name))?;
    if net.weights.activation != activation {
        return Err(format!(
            "network '{}' uses {:?} in the checkpoint, the config {activation:?} (activation cannot change)",
            net.name, net.weights.activation
        ));
    }
    if net.weights.sizes != sizes {
        return Err(format!(
            "network '{}' is {:?} in the checkpoint but the config builds {sizes:?} (net_arch cannot change in a resume or fork)",
            net.name, net.weights.sizes
        ));
    }
    Ok(())
}

/// The one place an algorithm config becomes an agent (a batch of one; see
/// [`merge_agents`]), for envs with these spaces.
pub fn make_agent(
    config: &AlgorithmConfig,
    obs_dim: usize,
    action_space: &ActionSpace,
    seed: u64,
    device: &Device,
) -> Result<Box<dyn Agent>, String> {
    let kinds = config.spec().action_kinds;
    if !kinds.contains(&action_space.kind()) {
        return Err(format!("{} cannot train the action space {}", config.name(), action_space.describe()));
    }
    Ok(match config {
        AlgorithmConfig::Ppo(p) => Box::new(Ppo::agent(p.clone(), obs_dim, action_space, seed, device)),
        AlgorithmConfig::Dqn(p) => Box::new(Dqn::agent(p.clone(), obs_dim, action_space, seed, device)),
        AlgorithmConfig::A2c(p) => Box::new(A2c::agent(p.clone(), obs_dim, action_space, seed, device)),
        AlgorithmConfig::Sac(p) => Box::new(Sac::agent(p.clone(), obs_dim, action_space, seed, device)),
        AlgorithmConfig::Td3(p) => Box::new(Td3::agent(p.clone(), obs_dim, action_space, seed, device)),
    })
}

/// The acting network of a trained agent: maps observations to per-action scores.
#[derive(Clone, Debug)]
pub struct Policy {
    pub net: Mlp,
    pub head: PolicyHead,
    /// PPO's value network, for showing V(s) in replays.
    pub critic: Option<Mlp>,
    /// A Box action space's bounds, which a Gaussian mean is clipped to (as SB3's `predict` clips).
    pub action_bounds: Option<BoxSpace>,
    /// The observation statistics it was trained with (`env.normalize_obs`):
    /// every observation is normalized with them before the networks see it.
    pub obs_norm: Option<ObsNorm>,
    /// A Gaussian policy's exploration noise, for showing its std in replays.
    pub noise: Option<PolicyNoise>,
    /// SAC's and TD3's twin critics `Q(s, a)`, for showing Q-values in replays.
    pub q_nets: Vec<Mlp>,
    /// A tanh-squashed actor's mean is clipped into `[-c, c]` before the tanh (SAC with gSDE).
    pub mean_clip: Option<f32>,
    device: Device,
}

/// How a Gaussian policy's standard deviation is found.
#[derive(Clone, Debug, PartialEq)]
pub enum PolicyNoise {
    /// One std per action dimension (`exp(log_std)`).
    Diagonal(Vec<f32>),
    /// gSDE: `sqrt(latent^2 @ exp(log_std)^2 + 1e-6)` over the actor's last hidden
    /// features; `log_std` is `[latent, dim]` row-major.
    StateDependent { log_std: Vec<f32>, dim: usize },
}

/// What the policy thought at one step (shown in replays).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PolicyView {
    /// Logits (PPO) or Q-values (DQN), one per action; a Gaussian policy's means.
    pub scores: Vec<f32>,
    /// Action probabilities (PPO only).
    pub probs: Option<Vec<f32>>,
    /// V(s) (PPO only).
    pub value: Option<f32>,
    /// A Gaussian policy's standard deviation per action dimension (SAC's before the tanh).
    #[serde(default)]
    pub std: Option<Vec<f32>>,
    /// SAC's and TD3's twin critics' Q(s, a) of the action taken.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub q_values: Option<Vec<f32>>,
}

impl Policy {
    pub fn new(net: Mlp, head: PolicyHead, device: Device) -> Self {
        Self { net, head, critic: None, action_bounds: None, obs_norm: None, noise: None, q_nets: Vec::new(), mean_clip: None, device }
    }

    pub fn from_weights(weights: &MlpWeights, head: PolicyHead, device: &Device) -> Result<Self, String> {
        Ok(Self::new(Mlp::from_weights(weights, device)?, head, device.clone()))
    }

    /// Clips continuous actions into `space`'s bounds (a discrete space sets nothing).
    pub fn with_action_space(mut self, space: &ActionSpace) -> Self {
        if let ActionSpace::Box { low, high } = space {
            self.action_bounds = Some(BoxSpace { low: low.clone(), high: high.clone() });
        }
        self
    }

    /// Normalizes observations with `norm` (the statistics it was trained with).
    pub fn with_obs_norm(mut self, norm: Option<ObsNorm>) -> Self {
        self.obs_norm = norm;
        self
    }

    /// A Gaussian policy's `log_std` network (a PPO model's "log_std"): its std shows in replays.
    pub fn with_log_std(mut self, log_std: &MlpWeights) -> Self {
        let values = log_std.layers.first().map(|l| l.bias.clone()).unwrap_or_default();
        let dim = self.n_outputs();
        self.noise = if values.len() == dim {
            Some(PolicyNoise::Diagonal(values.iter().map(|l| l.exp()).collect()))
        } else if dim > 0 && values.len() % dim == 0 {
            Some(PolicyNoise::StateDependent { log_std: values, dim })
        } else {
            None
        };
        self
    }

    /// `obs` as the networks see it (normalized where the policy normalizes).
    fn prepared<'a>(&self, obs: &'a [f32]) -> std::borrow::Cow<'a, [f32]> {
        match &self.obs_norm {
            Some(n) => {
                let mut v = obs.to_vec();
                n.apply(&mut v);
                std::borrow::Cow::Owned(v)
            }
            None => std::borrow::Cow::Borrowed(obs),
        }
    }

    /// SAC's and TD3's critics (`obs + action -> 1`), whose Q-values show in replays.
    pub fn with_q_nets(mut self, nets: &[&MlpWeights]) -> Result<Self, String> {
        self.q_nets = nets.iter().map(|w| Mlp::from_weights(w, &self.device)).collect::<Result<_, _>>()?;
        Ok(self)
    }

    pub fn with_mean_clip(mut self, clip: Option<f32>) -> Self {
        self.mean_clip = clip;
        self
    }

    /// Values per action: a Box space's dimension (a squashed SAC actor also outputs its log_stds), else the outputs.
    pub fn action_dim(&self) -> usize {
        match (&self.action_bounds, self.head) {
            (Some(b), PolicyHead::TanhSquashed) => b.low.len(),
            _ => self.n_outputs(),
        }
    }

    pub fn with_critic(mut self, critic: &MlpWeights) -> Result<Self, String> {
        self.critic = Some(Mlp::from_weights(critic, &self.device)?);
        Ok(self)
    }

    /// Scores, probabilities and value for one observation.
    pub fn view(&self, obs: &[f32]) -> Result<PolicyView, String> {
        if obs.len() != self.obs_dim() {
            return Err(format!("policy expects 1 observation of {} values, got {} values", self.obs_dim(), obs.len()));
        }
        // One normalization and one actor pass give the scores and gSDE's features.
        let obs = &*self.prepared(obs);
        let x = Tensor::<2>::from_data(TensorData::new(obs.to_vec(), [1, obs.len()]), &self.device);
        let (latent, out) = self.net.forward_latent(x.clone());
        let scores = read_vec(out)?;
        let probs = (self.head == PolicyHead::Logits).then(|| {
            let max = scores.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
            let e: Vec<f32> = scores.iter().map(|&v| (v - max).exp()).collect();
            let z: f32 = e.iter().sum();
            e.iter().map(|v| v / z).collect()
        });
        let value = match &self.critic {
            Some(c) => read_vec(c.forward(x))?.first().copied(),
            None => None,
        };
        let dim = self.action_dim();
        let std = match &self.noise {
            // SAC's actor outputs its log_stds after the means.
            _ if self.head == PolicyHead::TanhSquashed && scores.len() == 2 * dim => {
                Some(scores[dim..].iter().map(|l| l.clamp(-20.0, 2.0).exp()).collect())
            }
            Some(PolicyNoise::Diagonal(std)) => Some(std.clone()),
            Some(PolicyNoise::StateDependent { log_std, dim }) if log_std.len() == dim * latent.dims()[1] => {
                let latent = read_vec(latent)?;
                let std = (0..*dim).map(|j| {
                    let var: f64 = latent.iter().enumerate().map(|(l, &x)| (x as f64 * (log_std[l * dim + j] as f64).exp()).powi(2)).sum();
                    (var + 1e-6).sqrt() as f32
                });
                Some(std.collect())
            }
            _ => None,
        };
        let q_values = if self.q_nets.is_empty() {
            None
        } else {
            let mut sa = obs.to_vec();
            sa.extend(self.squash(&scores[..dim.min(scores.len())]));
            let x = Tensor::<2>::from_data(TensorData::new(sa.clone(), [1, sa.len()]), &self.device);
            let q: Result<Vec<f32>, String> =
                self.q_nets.iter().map(|q| Ok(read_vec(q.forward(x.clone()))?.first().copied().unwrap_or(f32::NAN))).collect();
            Some(q?)
        };
        let scores = if self.head == PolicyHead::TanhSquashed { scores[..dim.min(scores.len())].to_vec() } else { scores };
        Ok(PolicyView { scores, probs, value, std, q_values })
    }

    /// A squashed actor's deterministic action in [-1, 1] from its pre-tanh means.
    fn squash(&self, means: &[f32]) -> Vec<f32> {
        let clip = self.mean_clip.unwrap_or(f32::INFINITY);
        means.iter().map(|m| m.clamp(-clip, clip).tanh()).collect()
    }

    /// Outputs per observation: one score per discrete action, one mean per Box dimension.
    pub fn n_outputs(&self) -> usize {
        self.net.sizes().last().copied().unwrap_or(0)
    }

    /// Whether this policy acts in `space` (kind and size).
    pub fn check_space(&self, space: &ActionSpace) -> Result<(), String> {
        let continuous = matches!(self.head, PolicyHead::GaussianMean | PolicyHead::TanhSquashed);
        let fits = match space {
            ActionSpace::Discrete { n, .. } => !continuous && *n == self.n_outputs(),
            ActionSpace::Box { low, .. } if self.head == PolicyHead::TanhSquashed => {
                continuous && (low.len() == self.n_outputs() || 2 * low.len() == self.n_outputs())
            }
            ActionSpace::Box { low, .. } => continuous && low.len() == self.n_outputs(),
        };
        if fits {
            Ok(())
        } else {
            let what = if continuous {
                format!("continuous actions of dimension {}", self.n_outputs())
            } else {
                format!("{} discrete actions", self.n_outputs())
            };
            Err(format!("the policy outputs {what}, the env's action space is {}", space.describe()))
        }
    }

    /// The greedy action for one observation's scores.
    pub fn choose(&self, scores: &[f32]) -> ActionValue {
        match self.head {
            PolicyHead::Logits | PolicyHead::QValues => ActionValue::Discrete(argmax(scores)),
            PolicyHead::GaussianMean => {
                let mut v = scores.to_vec();
                if let Some(b) = &self.action_bounds {
                    ActionSpace::Box { low: b.low.clone(), high: b.high.clone() }.clip_into(&mut v);
                }
                ActionValue::Continuous(v)
            }
            PolicyHead::TanhSquashed => {
                let squashed = self.squash(&scores[..self.action_dim().min(scores.len())]);
                match &self.action_bounds {
                    Some(b) => {
                        let mut v = Vec::new();
                        ActionSpace::Box { low: b.low.clone(), high: b.high.clone() }.unscale_into(&squashed, &mut v);
                        ActionValue::Continuous(v)
                    }
                    None => ActionValue::Continuous(squashed),
                }
            }
        }
    }

    pub fn obs_dim(&self) -> usize {
        self.net.sizes().first().copied().unwrap_or(0)
    }

    /// Scores for `n` observations packed in `obs` (`n * obs_dim`), row-major `n * n_actions`.
    pub fn scores(&self, obs: &[f32], n: usize) -> Result<Vec<f32>, String> {
        let dim = self.obs_dim();
        if obs.len() != n * dim {
            return Err(format!("policy expects {n} observations of {dim} values, got {} values", obs.len()));
        }
        let x = Tensor::<2>::from_data(TensorData::new(self.prepared(obs).into_owned(), [n, dim]), &self.device);
        read_vec(self.net.forward(x))
    }

    /// Greedy actions (SB3's `deterministic=True`): the argmax of the scores,
    /// or a Gaussian policy's mean clipped into the bounds.
    pub fn act_deterministic(&self, obs: &[f32], n: usize) -> Result<ActionBatch, String> {
        let a = self.n_outputs().max(1);
        let scores = self.scores(obs, n)?;
        Ok(match self.head {
            PolicyHead::Logits | PolicyHead::QValues => ActionBatch::Discrete(scores.chunks(a).map(argmax).collect()),
            PolicyHead::GaussianMean | PolicyHead::TanhSquashed => {
                let values = scores.chunks(a).flat_map(|s| match self.choose(s) {
                    ActionValue::Continuous(v) => v,
                    ActionValue::Discrete(_) => Vec::new(),
                });
                ActionBatch::Continuous { dim: self.action_dim().max(1), values: values.collect() }
            }
        })
    }
}

pub fn argmax(xs: &[f32]) -> usize {
    let mut best = 0;
    for (i, &x) in xs.iter().enumerate() {
        if x > xs[best] {
            best = i;
        }
    }
    best
}

/// Statistics of the last 100 finished episodes (SB3's `ep_info_buffer`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct EpisodeWindow {
    returns: std::collections::VecDeque<(f64, u32)>,
    /// The episodes (return, length) that finished on the latest step, in
    /// order: what monitor.csv records. Not part of a checkpoint.
    #[serde(skip)]
    just_finished: Vec<(f64, u32)>,
}

impl EpisodeWindow {
    pub fn drain_from(&mut self, venv: &mut VecEnv) {
        self.just_finished.clear();
        for ep in venv.finished.drain(..) {
            if self.returns.len() == 100 {
                self.returns.pop_front();
            }
            self.returns.push_back((ep.episode_return, ep.length));
            self.just_finished.push((ep.episode_return, ep.length));
        }
    }
    pub fn just_finished(&self) -> &[(f64, u32)] {
        &self.just_finished
    }
    pub fn mean_return(&self) -> Option<f64> {
        (!self.returns.is_empty()).then(|| self.returns.iter().map(|r| r.0).sum::<f64>() / self.returns.len() as f64)
    }
    pub fn mean_length(&self) -> Option<f64> {
        (!self.returns.is_empty()).then(|| self.returns.iter().map(|r| r.1 as f64).sum::<f64>() / self.returns.len() as f64)
    }
    pub fn check(&self) -> Result<(), String> {
        if self.returns.len() > 100 {
            return Err(format!("the checkpoint's episode window holds {} episodes (at most 100)", self.returns.len()));
        }
        Ok(())
    }
    pub fn push_into(&self, m: &mut Metrics) {
        if let (Some(r), Some(l)) = (self.mean_return(), self.mean_length()) {
            m.push("rollout/ep_rew_mean", r);
            m.push("rollout/ep_len_mean", l);
        }
    }
}

/// Reads a tensor back to the host; an error means the device failed.
pub(crate) fn read_vec<const D: usize>(t: Tensor<D>) -> Result<Vec<f32>, String> {
    t.try_into_vec_as::<f32>().map_err(|e| format!("reading a tensor back from the device failed: {e:?}"))
}
