//! Several PPO agents as one batch: merging agents of one shape, and taking
//! one agent out (its networks and Adam state, or frozen as it is).

use super::*;

impl Ppo {
    /// Why `parts` cannot train as one batch, if they cannot.
    pub fn check_mergeable(parts: &[Ppo]) -> Result<(), String> {
        let first = parts.first().ok_or("no PPO agents to batch")?;
        for p in parts {
            if p.config().batch_shape() != first.config().batch_shape() || p.obs_dim != first.obs_dim || p.n_actions != first.n_actions {
                return Err("the agents' algorithm.params differ in more than scalars (learning rate, clip range, gamma, GAE lambda, loss coefficients, gradient clip), or their env spaces differ: they train apart".into());
            }
            if p.n_updates != first.n_updates || p.agents.iter().any(|a| a.num_timesteps != first.agents[0].num_timesteps) {
                return Err("the agents are at different steps (from different checkpoints): they train apart".into());
            }
            let pos = |a: &PpoAgent| a.resume.as_ref().map(|r| r.0.pos);
            if p.agents.iter().any(|a| pos(a) != pos(&first.agents[0])) {
                return Err("the agents' rollouts are at different positions: they train apart".into());
            }
        }
        Ok(())
    }

    /// One batch of several batches' agents (same config and step), in order.
    pub fn merge(parts: Vec<Ppo>) -> Result<Ppo, String> {
        Self::check_mergeable(&parts)?;
        let first = &parts[0];
        let mut nets = Vec::new();
        for p in &parts {
            for k in 0..p.agents.len() {
                nets.push(p.member_nets(k)?);
            }
        }
        let actors: Vec<&MlpWeights> = nets.iter().map(|n| &n.actor.weights).collect();
        let critics: Vec<&MlpWeights> = nets.iter().map(|n| &n.critic.weights).collect();
        let moments: Vec<(&[AdamMoments], &[u64], &[u64])> =
            nets.iter().map(|n| (&n.optimizer[..], &n.actor.param_ids[..], &n.critic.param_ids[..])).collect();
        let (model, optimizer) = Self::build(&actors, &critics, &moments, first.params.adam_eps, &first.device)?;
        let (params, device, ad_device, obs_dim, n_actions, n_updates) =
            (first.params.clone(), first.device.clone(), first.ad_device.clone(), first.obs_dim, first.n_actions, first.n_updates);
        let agents = parts.into_iter().flat_map(|p| p.agents).collect();
        Ok(Ppo {
            params,
            acting: model.valid(),
            model,
            optimizer,
            device,
            ad_device,
            obs_dim,
            n_actions,
            n_updates,
            agents,
            host: Default::default(),
        })
    }

    /// Agent `k` as it is now, kept while the rest of the batch trains on.
    pub(super) fn freeze(&self, k: usize) -> Result<FrozenAgent, String> {
        Ok(FrozenAgent {
            head: PolicyHead::Logits,
            policy: self.policy_of(k),
            networks: self.networks_of(k)?,
            num_timesteps: self.agents[k].num_timesteps,
        })
    }

    /// Agent `k`'s networks and Adam state as a one-agent checkpoint holds them.
    pub(super) fn member_nets(&self, k: usize) -> Result<MemberNets, String> {
        let s = self.agents.len();
        let (actor_slots, critic_slots) = (self.model.actor.slots(), self.model.critic.slots());
        let (actor_ids, critic_ids) = (member_param_ids(0, actor_slots.len()), member_param_ids(1, critic_slots.len()));
        let stacked = self.optimizer.moments()?;
        let optimizer =
            [member_moments(&stacked, &actor_slots, &actor_ids, k, s)?, member_moments(&stacked, &critic_slots, &critic_ids, k, s)?]
                .concat();
        Ok(MemberNets {
            actor: NetworkState { name: "actor".into(), weights: self.host.0.member(&self.acting.actor, k)?, param_ids: actor_ids },
            critic: NetworkState { name: "critic".into(), weights: self.host.1.member(&self.acting.critic, k)?, param_ids: critic_ids },
            optimizer,
        })
    }
}
