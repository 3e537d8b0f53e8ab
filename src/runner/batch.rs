//! A seed group's seeds trained as one batch: each seed is begun as the run it
//! would be alone (its directory, config.yaml, envs, callbacks, restored
//! checkpoint), the seeds' one-agent batches are merged into one agent whose
//! networks carry a seed axis, one training loop drives all of them, and
//! each seed is finished as a standard run. Only the computation is shared.

use super::group::{injected_failure, seed_options, SeedJob};
use super::{begin_new, begin_resume, RunEvent, RunOptions, Session};
use crate::algos;
use crate::config::Config;
use crate::runs::group::GroupDir;
use std::sync::mpsc::channel;

/// Trains `jobs` as one batch on this thread; returns the seeds that failed, with why.
pub(crate) fn train_batched(jobs: Vec<(u64, SeedJob)>, options: &RunOptions, first_seed: Option<u64>, send: &(dyn Fn(RunEvent) + Sync), group: &GroupDir) -> Vec<(u64, String)> {
    // Denormals flushed on this thread and the rayon pool for the whole batch, restored after.
    let _fp = crate::fpmode::FlushDenormals::enter();
    let mut errors = Vec::new();
    std::thread::scope(|scope| {
        // Each seed reports on its own channel, forwarded as the group's `Seed` events.
        let mut all_options = Vec::with_capacity(jobs.len());
        for &(seed, _) in &jobs {
            let (tx, rx) = channel::<RunEvent>();
            scope.spawn(move || {
                for event in rx {
                    send(RunEvent::Seed { seed, event: Box::new(event) });
                }
            });
            all_options.push(seed_options(options, seed, first_seed, tx));
        }
        let mut begun = Vec::new();
        for ((seed, job), opts) in jobs.into_iter().zip(&all_options) {
            if let Some(e) = injected_failure(seed, group, send) {
                errors.push(e);
                continue;
            }
            let b = match job {
                SeedJob::New(config) => begin_new(&config, opts),
                SeedJob::Resume(dir) => begin_resume(&dir, opts),
            };
            match b {
                Ok(b) => begun.push((seed, opts, b)),
                Err(e) => errors.push((seed, e.to_string())),
            }
        }
        let configs: Vec<Config> = begun.iter().map(|(_, _, b)| b.config.clone()).collect();
        let (mut sessions, mut agents, mut seeds) = (Vec::new(), Vec::new(), Vec::new());
        for ((seed, opts, b), config) in begun.into_iter().zip(&configs) {
            match Session::start(config, opts, b) {
                Ok((session, agent)) => {
                    sessions.push(session);
                    agents.push(agent);
                    seeds.push(seed);
                }
                Err(e) => errors.push((seed, e.to_string())),
            }
        }
        if sessions.is_empty() {
            return;
        }
        let total_timesteps = configs[0].experiment.total_timesteps;
        match algos::merge_agents(agents) {
            Ok(mut batch) => {
                let trained = {
                    let mut members: Vec<algos::Member<'_>> = sessions.iter_mut().map(|s| s.member()).collect();
                    batch.learn(&mut members, total_timesteps)
                };
                for (k, (session, seed)) in sessions.into_iter().zip(seeds).enumerate() {
                    if let Err(e) = session.finish(batch.view(k).as_ref(), trained.clone()) {
                        errors.push((seed, e.to_string()));
                    }
                }
            }
            // Seeds that cannot share a batch (resumed from different steps) train one after another.
            Err((why, agents)) => {
                if let Some(opts) = all_options.first() {
                    if let Some(tx) = &opts.events {
                        let _ = tx.send(RunEvent::Note { message: format!("note: the seeds train one after another, not batched: {why}") });
                    }
                }
                for ((mut session, mut agent), seed) in sessions.into_iter().zip(agents).zip(seeds) {
                    let trained = agent.learn(&mut [session.member()], total_timesteps);
                    if let Err(e) = session.finish(agent.view(0).as_ref(), trained) {
                        errors.push((seed, e.to_string()));
                    }
                }
            }
        }
        drop(all_options);
    });
    errors
}
