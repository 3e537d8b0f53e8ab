//! Runs trained as one batch: each is begun as the run it would be alone (its
//! directory, config.yaml, envs, callbacks, restored checkpoint), their
//! one-agent batches are merged into one agent whose networks carry an agent
//! axis, one training loop drives all of them, and each is finished as a
//! standard run. Only the computation is shared. The agents are a seed
//! group's seeds ([`train_batched`]) or sweep trials that differ only in
//! scalar hyperparameters ([`train_runs`]).

use super::group::{SeedJob, injected_failure, seed_options};
use super::{Begun, RunError, RunEvent, RunOptions, RunSummary, Session, begin_new, begin_resume};
use crate::algos;
use crate::config::Config;
use crate::runs::group::GroupDir;
use std::sync::mpsc::channel;

/// Trains `begun` (each with its own options) as one batch on this thread, or
/// one after another when they cannot share one (resumed at different steps,
/// different shapes or lengths; `apart(why)` is told before they train). One
/// result per run, in order, and why they trained apart, if they did.
fn train_begun(begun: Vec<(Begun, &RunOptions)>, apart_note: &dyn Fn(&str)) -> (Vec<Result<RunSummary, RunError>>, Option<String>) {
    let configs: Vec<Config> = begun.iter().map(|(b, _)| b.config.clone()).collect();
    let mut results: Vec<Option<Result<RunSummary, RunError>>> = (0..begun.len()).map(|_| None).collect();
    let (mut sessions, mut agents, mut index) = (Vec::new(), Vec::new(), Vec::new());
    for (i, ((b, opts), config)) in begun.into_iter().zip(&configs).enumerate() {
        match Session::start(config, opts, b) {
            Ok((session, agent)) => {
                sessions.push(session);
                agents.push(agent);
                index.push(i);
            }
            Err(e) => results[i] = Some(Err(e)),
        }
    }
    let totals: Vec<u64> = index.iter().map(|&i| configs[i].experiment.total_timesteps).collect();
    let merged = if totals.windows(2).all(|w| w[0] == w[1]) {
        algos::merge_agents(agents)
    } else {
        Err(("their experiment.total_timesteps differ".to_string(), agents))
    };
    let mut apart = None;
    match merged {
        Ok(mut batch) => {
            let total_timesteps = totals.first().copied().unwrap_or(0);
            let trained = {
                let mut members: Vec<algos::Member<'_>> = sessions.iter_mut().map(|s| s.member()).collect();
                batch.learn(&mut members, total_timesteps)
            };
            for (k, (session, &i)) in sessions.into_iter().zip(&index).enumerate() {
                results[i] = Some(session.finish(batch.view(k).as_ref(), trained.clone()));
            }
        }
        Err((why, agents)) => {
            if !agents.is_empty() {
                apart_note(&why);
            }
            apart = Some(why);
            for (((mut session, mut agent), &i), total) in sessions.into_iter().zip(agents).zip(&index).zip(totals) {
                let trained = agent.learn(&mut [session.member()], total);
                results[i] = Some(session.finish(agent.view(0).as_ref(), trained));
            }
        }
    }
    (
        results
            .into_iter()
            .map(|r| r.unwrap_or_else(|| Err(RunError::Training("the batch ended before this run was trained".into()))))
            .collect(),
        apart,
    )
}

/// What [`train_runs`] did.
pub struct BatchOutcome {
    /// One per config, in order.
    pub results: Vec<Result<RunSummary, RunError>>,
    /// Why the runs trained one after another instead of as one batch, if they did.
    pub apart: Option<String>,
    /// What `experiment.device=auto` measured for the batch, if it measured.
    pub device_note: Option<String>,
}

/// Trains new runs of `configs` as one batch (sweep trials whose configs share
/// a [`Config::batch_key`]: shapes equal, scalars free): each its own run
/// directory, with `options` each. One result per config, in order.
pub fn train_runs(configs: &[Config], options: &[RunOptions]) -> BatchOutcome {
    if configs.len() != options.len() {
        let why = format!("{} configs for {} run options", configs.len(), options.len());
        return BatchOutcome {
            results: configs.iter().map(|_| Err(RunError::Training(why.clone()))).collect(),
            apart: Some(why),
            device_note: None,
        };
    }
    crate::threads::own_share_of_budget(1);
    let _fp = crate::fpmode::FlushDenormals::enter();
    // `auto` decided once for the whole batch (one batch on either device).
    let mut configs = configs.to_vec();
    let mut device_note = None;
    if let Some(first) = configs.first() {
        let whole = super::device_choice::Layout { per_batch: configs.len(), rounds: 1 };
        let choice = super::device_choice::for_batch(first, configs.len(), whole, whole);
        if let (Some(message), Some(first)) = (choice.note.clone(), options.first()) {
            first.send(RunEvent::Note { message });
        }
        device_note = choice.note;
        for c in configs.iter_mut().filter(|c| c.experiment.device == crate::config::DeviceChoice::Auto) {
            c.experiment.device = choice.device;
        }
    }
    let mut results: Vec<Option<Result<RunSummary, RunError>>> = (0..configs.len()).map(|_| None).collect();
    let (mut begun, mut index) = (Vec::new(), Vec::new());
    for (i, (config, opts)) in configs.iter().zip(options).enumerate() {
        match begin_new(config, opts) {
            Ok(b) => {
                begun.push((b, opts));
                index.push(i);
            }
            Err(e) => results[i] = Some(Err(e)),
        }
    }
    let note = |why: &str| {
        if let Some(first) = options.first() {
            first.send(RunEvent::Note { message: format!("note: these runs train one after another, not batched: {why}") });
        }
    };
    let (trained, apart) = train_begun(begun, &note);
    for (r, i) in trained.into_iter().zip(index) {
        results[i] = Some(r);
    }
    BatchOutcome {
        results: results.into_iter().map(|r| r.unwrap_or_else(|| Err(RunError::Training("not trained".into())))).collect(),
        apart,
        device_note,
    }
}

/// Trains a seed group's `jobs` as one batch on this thread; returns the seeds that failed, with why.
pub(crate) fn train_batched(
    jobs: Vec<(u64, SeedJob)>,
    options: &RunOptions,
    first_seed: Option<u64>,
    send: &(dyn Fn(RunEvent) + Sync),
    group: &GroupDir,
) -> Vec<(u64, String)> {
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
        let (mut begun, mut seeds) = (Vec::new(), Vec::new());
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
                Ok(b) => {
                    begun.push((b, opts));
                    seeds.push(seed);
                }
                Err(e) => errors.push((seed, e.to_string())),
            }
        }
        let note = |why: &str| {
            if let Some(first) = all_options.first() {
                first.send(RunEvent::Note { message: format!("note: the seeds train one after another, not batched: {why}") });
            }
        };
        for (r, seed) in train_begun(begun, &note).0.into_iter().zip(seeds) {
            if let Err(e) = r {
                errors.push((seed, e.to_string()));
            }
        }
        drop(all_options);
    });
    errors
}
