//! The batching layer every algorithm trains through: S agents of one config
//! as one computation (a seed group's seeds, sweep trials that differ only in
//! scalars; a plain run is S = 1).
//!
//! An algorithm writes its rollout/update math and its state; this layer owns
//! what batching needs around it: the stacked networks and their Adam state,
//! each agent's own generator, step count, episode window and hyperparameters,
//! stopping one agent while the rest train on (freezing it), taking one agent
//! out for a checkpoint or a model file, restoring one from a checkpoint, and
//! merging batches. The algorithm's loop is `impl Batch<Self>` code in its
//! own file, so it reads top to bottom.

use super::adam::{AdamMoments, AdamOptimizer, OptimizerKind};
use super::nets::MlpWeights;
use super::stacked::{HostCopy, PerAgent, StackedMlp, acting_policy, member_moments, member_param_ids, stack_moments};
use super::{Agent, AgentState, AgentView, AlgoState, Callback, Control, EpisodeWindow, FrozenAgent, Member, Policy, PolicyHead};
use super::{TrainingState, check_network};
use crate::config::AlgorithmConfig;
use crate::envs::normalize::ObsNorm;
use crate::envs::{ActionSpace, VecEnv};
use crate::rng::Rng;
use burn::module::Module;
use burn::optim::GradientsParams;
use burn::prelude::*;

/// What an algorithm tells the batching layer about itself.
pub trait Algorithm: Sized + Send + 'static {
    /// Its `algorithm.name`.
    const NAME: &'static str;
    /// The networks Adam trains, by checkpoint name, in checkpoint order (may
    /// depend on the action space: a Gaussian policy adds its `log_std`).
    fn trained(&self) -> &'static [&'static str];
    /// Networks kept as plain copies, not trained by the optimizer (DQN's target), after the trained ones.
    const FIXED: &'static [&'static str];
    /// Its hyperparameters (each agent has its own; only scalars may differ within a batch).
    type Params: Clone + Send;
    /// What else is each agent's own while it trains (DQN's epsilon).
    type Own: Send;
    /// Where `learn` continues after a restore: the rollout or replay buffer, the last observations.
    type Resume: Send;

    /// The batch's params (agent 0's) as a config: batches merge only when their shapes agree.
    fn config(&self) -> AlgorithmConfig;
    fn head(&self) -> PolicyHead;
    /// The optimizer its networks train with.
    fn optimizer(&self) -> OptimizerKind;
    /// Whether a squashed actor's mean is clipped before the tanh (SAC with gSDE).
    fn mean_clip(&self) -> Option<f32> {
        None
    }
    /// The loop counters and buffer positions of one agent: agents merge only when these agree.
    fn position(&self, slot: &Slot<Self>) -> Vec<u64>;
    /// A checkpoint's algorithm state checked against this config (and the env's spaces): the
    /// agent it describes. Sets the batch's own counters.
    fn restore(&mut self, state: &AlgoState, obs_dim: usize, action_space: &ActionSpace) -> Result<Restored<Self>, String>;
    /// Trains every agent of `batch` until `total_timesteps` env steps or until its callbacks say stop.
    fn learn(batch: &mut Batch<Self>, members: &mut [Member<'_>], total_timesteps: u64) -> Result<(), String>;
}

/// What is each agent's own in a batch.
pub struct Slot<A: Algorithm> {
    pub params: A::Params,
    pub rng: Rng,
    pub num_timesteps: u64,
    pub episodes: EpisodeWindow,
    pub own: A::Own,
    /// Set by a restore, taken by the next `learn`.
    pub resume: Option<A::Resume>,
    /// Set when its callbacks said stop while others trained on.
    pub frozen: Option<FrozenAgent>,
    /// Its envs' observation statistics after its latest step (`env.normalize_obs`),
    /// which its policy applies.
    pub obs_norm: Option<ObsNorm>,
}

/// One agent as a checkpoint describes it.
pub struct Restored<A: Algorithm> {
    pub rng: Rng,
    pub num_timesteps: u64,
    pub episodes: EpisodeWindow,
    pub own: A::Own,
    pub resume: A::Resume,
}

/// The batch's networks, stacked along the agent axis, and their optimizer.
pub struct Networks {
    /// Trained by Adam on the autodiff device (`Algorithm::trained` order).
    pub trained: Vec<StackedMlp>,
    /// No-autodiff snapshots of `trained`: what acts, refreshed by [`Networks::updated`].
    pub acting: Vec<StackedMlp>,
    /// Plain copies Adam does not train (`Algorithm::FIXED` order).
    pub fixed: Vec<StackedMlp>,
    optimizer: AdamOptimizer,
    /// Host copies of `acting`, then of `fixed`.
    host: Vec<HostCopy>,
}

impl Networks {
    /// One Adam update of every trained network from `grads`, each agent at its own rate.
    pub fn step(&mut self, lr: &PerAgent, grads: GradientsParams) {
        self.trained = self.optimizer.step(lr, std::mem::take(&mut self.trained), grads);
    }

    /// The gradients of `loss` (summed over agents: they share no parameter, so
    /// the gradient of the sum is each agent's own).
    pub fn grads(&self, loss: Tensor<2>) -> GradientsParams {
        GradientsParams::from_grads(loss.sum().backward(), &self.trained)
    }

    /// After an update phase: the acting snapshots follow the trained networks.
    pub fn updated(&mut self) {
        self.acting = self.trained.valid();
        for h in &mut self.host[..self.acting.len()] {
            h.clear();
        }
    }

    /// Fixed network `j` becomes a copy of trained network `i` (a target update).
    pub fn copy_to_fixed(&mut self, i: usize, j: usize) {
        self.fixed[j] = self.trained[i].valid();
        let n = self.acting.len();
        self.host[n + j].clear();
    }

    /// Fixed network `j` moves towards trained network `i` by `tau` (a soft target update).
    pub fn soft_update(&mut self, i: usize, j: usize, tau: &PerAgent) {
        let source = self.trained[i].valid();
        let target = std::mem::replace(&mut self.fixed[j], source.clone());
        self.fixed[j] = target.polyak(&source, tau);
        let n = self.acting.len();
        self.host[n + j].clear();
    }

    /// The gradients of `loss` for the trained networks `nets` only (an actor's
    /// step, whose loss runs through critics that must not move).
    pub fn grads_of(&self, loss: Tensor<2>, nets: &[usize]) -> GradientsParams {
        let own: Vec<StackedMlp> = nets.iter().filter_map(|&i| self.trained.get(i).cloned()).collect();
        GradientsParams::from_grads(loss.sum().backward(), &own)
    }

    /// Agent `k`'s copy of acting network `i` on the host (read back once per update).
    pub fn acting_member(&self, i: usize, k: usize) -> Result<MlpWeights, String> {
        let net = self.acting.get(i).ok_or_else(|| format!("no acting network {i}"))?;
        self.host[i].member(net, k)
    }

    fn all(&self) -> impl Iterator<Item = &StackedMlp> {
        self.acting.iter().chain(&self.fixed)
    }
}

/// S agents of algorithm `A` trained as one computation.
pub struct Batch<A: Algorithm> {
    /// The batch's params and loop counters (agent 0's params).
    pub algo: A,
    pub nets: Networks,
    pub agents: Vec<Slot<A>>,
    pub obs_dim: usize,
    pub action_space: ActionSpace,
    pub device: Device,
    pub ad_device: Device,
}

/// One agent's networks (trained then `FIXED`) and Adam state in checkpoint form.
struct MemberNets {
    networks: Vec<super::NetworkState>,
    optimizer: Vec<AdamMoments>,
}

impl<A: Algorithm> Batch<A> {
    /// A batch of one fresh agent: its networks' weights in trained then `FIXED` order.
    pub fn new(
        algo: A,
        params: A::Params,
        weights: &[MlpWeights],
        own: A::Own,
        rng: Rng,
        obs_dim: usize,
        action_space: &ActionSpace,
        device: &Device,
    ) -> Self {
        let members: Vec<Vec<&MlpWeights>> = weights.iter().map(|w| vec![w]).collect();
        let nets = Self::build(&members, &[], algo.trained().len(), algo.optimizer(), device)
            .unwrap_or_else(|e| unreachable!("fresh networks stack: {e}"));
        let agent =
            Slot { params, rng, num_timesteps: 0, episodes: EpisodeWindow::default(), own, resume: None, frozen: None, obs_norm: None };
        Self {
            algo,
            nets,
            agents: vec![agent],
            obs_dim,
            action_space: action_space.clone(),
            device: device.clone(),
            ad_device: device.clone().autodiff(),
        }
    }

    /// Stacked networks and optimizer of agents with these weights (`members[net][agent]`) and
    /// checkpoint-form Adam states (`moments[agent]`: its moments and, per trained network, its ids).
    fn build(
        members: &[Vec<&MlpWeights>],
        moments: &[(&[AdamMoments], Vec<&[u64]>)],
        n_trained: usize,
        optimizer: OptimizerKind,
        device: &Device,
    ) -> Result<Networks, String> {
        if members.len() != n_trained + A::FIXED.len() {
            return Err(format!("{} networks given, {} has {}", members.len(), A::NAME, n_trained + A::FIXED.len()));
        }
        let ad = device.clone().autodiff();
        let trained = members[..n_trained].iter().map(|m| StackedMlp::from_members(m, &ad)).collect::<Result<Vec<StackedMlp>, String>>()?;
        let fixed = members[n_trained..].iter().map(|m| StackedMlp::from_members(m, device)).collect::<Result<Vec<_>, String>>()?;
        let mut optimizer = AdamOptimizer::new(optimizer);
        if !moments.is_empty() {
            let s = members.first().map_or(0, |m| m.len());
            let (mut stacked, mut shapes) = (Vec::new(), Vec::new());
            for (i, net) in trained.iter().enumerate() {
                let per_agent: Vec<(&[AdamMoments], &[u64])> = moments.iter().map(|(m, ids)| (*m, ids[i])).collect();
                stacked.extend(stack_moments(&per_agent, &net.slots())?);
                for (id, shape) in net.slots() {
                    shapes.push((id.val(), [vec![s], if shape.len() == 1 { vec![1, shape[0]] } else { shape }].concat()));
                }
            }
            optimizer.restore(&stacked, &shapes, device)?;
        }
        let acting = trained.valid();
        let host = (0..acting.len() + fixed.len()).map(|_| HostCopy::default()).collect();
        Ok(Networks { trained, acting, fixed, optimizer, host })
    }

    /// Every agent's slot is active unless its callbacks stopped it.
    pub fn active(&self) -> Vec<bool> {
        self.agents.iter().map(|a| a.frozen.is_none()).collect()
    }

    /// Checks `members` against the batch (one per agent, the same env count) and hands each
    /// agent's restored loop state out (taken: `None` for an agent that starts fresh).
    pub fn begin(&mut self, members: &[Member<'_>]) -> Result<(usize, Vec<Option<A::Resume>>), String> {
        let s = self.agents.len();
        if members.len() != s {
            return Err(format!("{} members for a batch of {s} agents", members.len()));
        }
        let n_envs = members[0].venv.num_envs();
        if members.iter().any(|m| m.venv.num_envs() != n_envs) {
            return Err("every agent of a batch needs the same number of envs".into());
        }
        for (a, m) in self.agents.iter_mut().zip(members) {
            a.obs_norm = m.venv.obs_norm();
        }
        Ok((n_envs, self.agents.iter_mut().map(|a| a.resume.take()).collect()))
    }

    /// Hands agent `k`'s finished env step to its callbacks (`state`: its algorithm state now,
    /// for a checkpoint); freezes the agent when they say stop. Whether it trains on.
    pub fn after_step(
        &mut self,
        k: usize,
        venv: &VecEnv,
        callback: &mut dyn Callback,
        state: &dyn Fn(&Self, bool) -> Result<AlgoState, String>,
    ) -> Result<bool, String> {
        if venv.normalizes_obs() {
            self.agents[k].obs_norm = venv.obs_norm();
        }
        let view = View { batch: self, k, during: Some((venv, state)) };
        if callback.on_step(&view, self.agents[k].num_timesteps) == Control::Stop {
            self.agents[k].frozen = Some(self.freeze(k)?);
            return Ok(false);
        }
        Ok(true)
    }

    /// Agent `k`'s acting policy.
    pub fn policy_of(&self, k: usize) -> Policy {
        acting_policy(&self.nets.acting[0], &self.nets.host[0], k, self.algo.head(), &self.device)
            .with_action_space(&self.action_space)
            .with_obs_norm(self.agents[k].obs_norm.clone())
            .with_mean_clip(self.algo.mean_clip())
    }

    /// Agent `k`'s networks, named.
    pub fn networks_of(&self, k: usize) -> Result<Vec<(String, MlpWeights)>, String> {
        let names = self.algo.trained().iter().chain(A::FIXED);
        names.zip(self.nets.all().zip(&self.nets.host)).map(|(name, (net, host))| Ok((name.to_string(), host.member(net, k)?))).collect()
    }

    fn freeze(&self, k: usize) -> Result<FrozenAgent, String> {
        Ok(FrozenAgent {
            head: self.algo.head(),
            policy: self.policy_of(k),
            networks: self.networks_of(k)?,
            num_timesteps: self.agents[k].num_timesteps,
        })
    }

    /// Agent `k`'s networks and Adam state as a one-agent checkpoint holds them.
    fn member_nets(&self, k: usize) -> Result<MemberNets, String> {
        let s = self.agents.len();
        let stacked = self.nets.optimizer.moments()?;
        let (mut networks, mut optimizer) = (Vec::new(), Vec::new());
        let n_trained = self.algo.trained().len();
        for (i, (name, weights)) in self.networks_of(k)?.into_iter().enumerate() {
            let net = if i < n_trained { &self.nets.trained[i] } else { &self.nets.fixed[i - n_trained] };
            let slots = net.slots();
            let param_ids = member_param_ids(i, slots.len());
            if i < n_trained {
                optimizer.extend(member_moments(&stacked, &slots, &param_ids, k, s)?);
            }
            networks.push(super::NetworkState { name, weights, param_ids });
        }
        Ok(MemberNets { networks, optimizer })
    }

    /// Agent `k`'s complete training state, with `algo` its algorithm's part.
    fn training_state(&self, k: usize, venv: &VecEnv, algo: AlgoState) -> Result<TrainingState, String> {
        let nets = self.member_nets(k)?;
        Ok(TrainingState { agent: AgentState { networks: nets.networks, optimizer: nets.optimizer, algo }, venv: venv.snapshot()? })
    }

    /// Loads a checkpoint into a one-agent batch, checking every network against this config first.
    fn restore(&mut self, state: &AgentState) -> Result<(), String> {
        if self.agents.len() != 1 {
            return Err("a checkpoint restores into a batch of one agent (merge batches after restoring)".into());
        }
        let n_trained = self.algo.trained().len();
        let names: Vec<&str> = self.algo.trained().iter().chain(A::FIXED).copied().collect();
        let saved = names.iter().map(|n| state.network(n)).collect::<Result<Vec<_>, String>>()?;
        for (net, now) in saved.iter().zip(self.nets.all()) {
            check_network(net, &now.sizes(), now.activation())?;
        }
        for net in &saved[..n_trained] {
            if net.param_ids.len() != 2 * (net.weights.sizes.len() - 1) {
                return Err(format!("the checkpoint's network '{}' lists the wrong number of parameter ids", net.name));
            }
        }
        let restored = self.algo.restore(&state.algo, self.obs_dim, &self.action_space)?;
        restored.episodes.check()?;
        let members: Vec<Vec<&MlpWeights>> = saved.iter().map(|n| vec![&n.weights]).collect();
        let ids: Vec<&[u64]> = saved[..n_trained].iter().map(|n| &n.param_ids[..]).collect();
        self.nets = Self::build(&members, &[(&state.optimizer[..], ids)], n_trained, self.algo.optimizer(), &self.device)?;
        let params = self.agents[0].params.clone();
        self.agents[0] = Slot {
            params,
            rng: restored.rng,
            num_timesteps: restored.num_timesteps,
            episodes: restored.episodes,
            own: restored.own,
            resume: Some(restored.resume),
            frozen: None,
            obs_norm: None,
        };
        Ok(())
    }

    /// Why `parts` cannot train as one batch, if they cannot.
    fn check_mergeable(parts: &[Batch<A>]) -> Result<(), String> {
        let first = parts.first().ok_or_else(|| format!("no {} agents to batch", A::NAME))?;
        let lead = first.algo.position(&first.agents[0]);
        for p in parts {
            if p.algo.config().batch_shape() != first.algo.config().batch_shape()
                || p.obs_dim != first.obs_dim
                || p.action_space != first.action_space
            {
                let scalars = first.algo.config().spec().scalar_keys().join(", ");
                return Err(format!(
                    "the agents' algorithm.params differ in more than scalars ({scalars}), or their env spaces differ: they train apart"
                ));
            }
            if p.agents.iter().any(|a| p.algo.position(a) != lead) {
                return Err("the agents are at different steps (from different checkpoints): they train apart".into());
            }
        }
        Ok(())
    }

    /// One batch of several batches' agents (same config and step), in order.
    fn merge(parts: Vec<Batch<A>>) -> Result<Batch<A>, String> {
        Self::check_mergeable(&parts)?;
        let mut nets = Vec::new();
        for p in &parts {
            for k in 0..p.agents.len() {
                nets.push(p.member_nets(k)?);
            }
        }
        let n_trained = parts[0].algo.trained().len();
        let n_nets = n_trained + A::FIXED.len();
        let members: Vec<Vec<&MlpWeights>> = (0..n_nets).map(|i| nets.iter().map(|n| &n.networks[i].weights).collect()).collect();
        let moments: Vec<(&[AdamMoments], Vec<&[u64]>)> =
            nets.iter().map(|n| (&n.optimizer[..], n.networks[..n_trained].iter().map(|w| &w.param_ids[..]).collect())).collect();
        let mut parts = parts.into_iter();
        let first = parts.next().ok_or("no agents to batch")?;
        let networks = Self::build(&members, &moments, n_trained, first.algo.optimizer(), &first.device)?;
        let mut agents = first.agents;
        agents.extend(parts.flat_map(|p| p.agents));
        Ok(Batch { nets: networks, agents, ..first })
    }
}

/// Agent `k` of a batch as its callbacks see it: in the middle of `learn` (with its envs and
/// the algorithm's state now, so it can be checkpointed) or between calls.
type DuringLearn<'a, B> = (&'a VecEnv, &'a dyn Fn(&B, bool) -> Result<AlgoState, String>);

struct View<'a, A: Algorithm> {
    batch: &'a Batch<A>,
    k: usize,
    during: Option<DuringLearn<'a, Batch<A>>>,
}

impl<A: Algorithm> AgentView for View<'_, A> {
    fn policy_head(&self) -> PolicyHead {
        self.batch.algo.head()
    }
    fn policy(&self) -> Policy {
        self.batch.policy_of(self.k)
    }
    fn networks(&self) -> Result<Vec<(String, MlpWeights)>, String> {
        self.batch.networks_of(self.k)
    }
    fn num_timesteps(&self) -> u64 {
        self.batch.agents[self.k].num_timesteps
    }
    fn finished_episodes(&self) -> &[(f64, u32)] {
        self.batch.agents[self.k].episodes.just_finished()
    }
    fn checkpoint(&self, with_replay_buffer: bool) -> Result<TrainingState, String> {
        let Some((venv, state)) = self.during else {
            return Err(format!("a {} checkpoint is taken between env steps, inside learn()", A::NAME));
        };
        self.batch.training_state(self.k, venv, state(self.batch, with_replay_buffer)?)
    }
}

impl<A: Algorithm> Agent for Batch<A> {
    fn n_agents(&self) -> usize {
        self.agents.len()
    }
    fn view(&self, k: usize) -> Box<dyn AgentView + '_> {
        match &self.agents[k].frozen {
            Some(f) => Box::new(f),
            None => Box::new(View { batch: self, k, during: None }),
        }
    }
    fn learn(&mut self, members: &mut [Member<'_>], total_timesteps: u64) -> Result<(), String> {
        A::learn(self, members, total_timesteps)
    }
    fn restore(&mut self, state: &AgentState) -> Result<(), String> {
        Batch::restore(self, state)
    }
    fn algorithm(&self) -> &'static str {
        A::NAME
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
    fn into_any(self: Box<Self>) -> Box<dyn std::any::Any> {
        self
    }
    fn merge_with(self: Box<Self>, others: Vec<Box<dyn Agent>>) -> Result<Box<dyn Agent>, (String, Vec<Box<dyn Agent>>)> {
        if let Some(other) = others.iter().find(|o| !o.as_any().is::<Self>()) {
            let why = format!("{} and {} agents cannot be batched together", A::NAME, other.algorithm());
            return Err((why, std::iter::once(self as Box<dyn Agent>).chain(others).collect()));
        }
        let mut parts = vec![*self];
        parts.extend(others.into_iter().filter_map(|o| o.into_any().downcast::<Self>().ok()).map(|b| *b));
        if let Err(e) = Self::check_mergeable(&parts) {
            return Err((e, parts.into_iter().map(|p| Box::new(p) as Box<dyn Agent>).collect()));
        }
        Self::merge(parts).map(|b| Box::new(b) as Box<dyn Agent>).map_err(|e| (e, Vec::new()))
    }
}
