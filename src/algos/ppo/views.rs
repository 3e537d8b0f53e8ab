//! PPO as the runner and its callbacks see it: the `Agent` interface and the
//! views of one agent of a batch, in the middle of `learn` or between calls.

use super::*;

impl Agent for Ppo {
    fn n_agents(&self) -> usize {
        self.agents.len()
    }
    fn view(&self, k: usize) -> Box<dyn AgentView + '_> {
        match &self.agents[k].frozen {
            Some(f) => Box::new(f),
            None => Box::new(PpoView { ppo: self, k }),
        }
    }
    fn learn(&mut self, members: &mut [Member<'_>], total_timesteps: u64) -> Result<(), String> {
        Ppo::learn(self, members, total_timesteps)
    }
    fn restore(&mut self, state: &AgentState) -> Result<(), String> {
        Ppo::restore(self, state)
    }
    fn algorithm(&self) -> &'static str {
        Self::NAME
    }
    fn into_any(self: Box<Self>) -> Box<dyn std::any::Any> {
        self
    }
}

/// Agent `k` in the middle of `learn`, as its callbacks see it: with its rollout and envs.
pub(super) struct PpoAt<'a> {
    pub(super) ppo: &'a Ppo,
    pub(super) k: usize,
    pub(super) venv: &'a VecEnv,
    pub(super) buffer: &'a RolloutBuffer,
    pub(super) last_obs: &'a [f32],
    pub(super) last_episode_starts: &'a [bool],
}

impl AgentView for PpoAt<'_> {
    fn policy_head(&self) -> PolicyHead {
        PolicyHead::Logits
    }
    fn policy(&self) -> Policy {
        self.ppo.policy_of(self.k)
    }
    fn networks(&self) -> Result<Vec<(String, MlpWeights)>, String> {
        self.ppo.networks_of(self.k)
    }
    fn num_timesteps(&self) -> u64 {
        self.ppo.agents[self.k].num_timesteps
    }
    fn finished_episodes(&self) -> &[(f64, u32)] {
        self.ppo.agents[self.k].episodes.just_finished()
    }
    fn checkpoint(&self, _with_replay_buffer: bool) -> Result<TrainingState, String> {
        self.ppo.training_state(self.k, self.venv, self.buffer, self.last_obs, self.last_episode_starts)
    }
}

/// Agent `k` between `learn` calls.
struct PpoView<'a> {
    pub(super) ppo: &'a Ppo,
    pub(super) k: usize,
}

impl AgentView for PpoView<'_> {
    fn checkpoint(&self, _with_replay_buffer: bool) -> Result<TrainingState, String> {
        Err("a PPO checkpoint is taken between env steps, inside learn()".into())
    }
    fn policy_head(&self) -> PolicyHead {
        PolicyHead::Logits
    }
    fn policy(&self) -> Policy {
        self.ppo.policy_of(self.k)
    }
    fn networks(&self) -> Result<Vec<(String, MlpWeights)>, String> {
        self.ppo.networks_of(self.k)
    }
    fn num_timesteps(&self) -> u64 {
        self.ppo.agents[self.k].num_timesteps
    }
    fn finished_episodes(&self) -> &[(f64, u32)] {
        self.ppo.agents[self.k].episodes.just_finished()
    }
}
