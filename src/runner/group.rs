//! Seed groups: one config trained once per seed (`experiment.seeds` /
//! `experiment.n_seeds`), each seed a standard run in `runs/<name>/seed_<k>/`,
//! then the group's statistics (`runs::group`).
//!
//! Seeds run as threads of this process, as many at once as there are cores
//! (each seed is one `run_experiment_with`: its own envs, RNG streams and run
//! directory, so seed k gives the same run in a group as alone). The layout
//! and statistics do not depend on how seeds execute.

use super::{RunError, RunEvent, RunOptions, RunSummary, resume_experiment, run_experiment_with, send_notes};
use crate::config::{Config, ConfigError};
use crate::runs::group::{self, Aggregate, GroupDir, GroupInfo, GroupStatus, SeedEntry, SeedState};
use crate::runs::{RunStatus, unix_now_secs};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::Ordering;
use std::sync::mpsc::Sender;
use std::time::Instant;

/// A finished (or stopped) group: its record, statistics and what else is in its directory.
#[derive(Clone, Debug)]
pub struct GroupSummary {
    pub group: GroupDir,
    pub info: GroupInfo,
    pub aggregate: Aggregate,
    /// Each seed as its directory says (curves included).
    pub seeds: Vec<SeedState>,
    /// Directories or files in the group that are not its own (left alone, reported).
    pub foreign: Vec<PathBuf>,
}

/// What [`train`] or [`resume`] produced: one run, or a seed group.
pub enum Trained {
    Run(Box<RunSummary>),
    Group(GroupSummary),
}

/// Trains `config`: a seed group when it names seeds (experiment.seeds /
/// n_seeds), else one run. The CLI, the GUI and the Python package start here.
pub fn train(config: &Config, options: RunOptions) -> Result<Trained, RunError> {
    if config.experiment.is_group() {
        run_group(config, options).map(Trained::Group)
    } else {
        run_experiment_with(config, options).map(|s| Trained::Run(Box::new(s)))
    }
}

/// Continues a run directory or a seed group (by its group.json).
pub fn resume(dir: &Path, options: RunOptions) -> Result<Trained, RunError> {
    if GroupDir::is_group(dir) {
        resume_group(dir, options).map(Trained::Group)
    } else {
        resume_experiment(dir, options).map(|s| Trained::Run(Box::new(s)))
    }
}

/// A seed group's progress, from its `GroupStarted` and `Seed` events: what
/// the CLI's bar and the GUI's job line both draw.
#[derive(Clone, Debug, Default)]
pub struct GroupProgress {
    pub seeds: Vec<u64>,
    pub parallel: usize,
    /// The seeds train as one batched computation.
    pub batched: bool,
    /// seed -> (timesteps, total, steps/s); a finished seed counts as done.
    pub progress: std::collections::BTreeMap<u64, (u64, u64, f64)>,
    pub finished: Vec<(u64, RunStatus)>,
}

/// [`GroupProgress::totals`]: the group's steps done and planned, its steps/s and seeds training now.
pub struct GroupTotals {
    pub timesteps: u64,
    pub total_timesteps: u64,
    pub steps_per_sec: f64,
    pub running: usize,
}

impl GroupProgress {
    pub fn new(seeds: Vec<u64>, parallel: usize, batched: bool) -> Self {
        Self { seeds, parallel, batched, ..Self::default() }
    }

    /// "8 agents batched", "8 agents in 2 batches" or "2 at a time": how the seeds execute.
    pub fn execution(&self) -> String {
        match (self.batched, self.parallel) {
            (true, 1) => format!("{} agents batched", self.seeds.len()),
            (true, b) => format!("{} agents in {b} batches", self.seeds.len()),
            (false, p) => format!("{p} at a time"),
        }
    }

    /// Takes seed `seed`'s progress and end from `event` (its other events are the caller's).
    pub fn seed_event(&mut self, seed: u64, event: &RunEvent) {
        match event {
            RunEvent::Progress { timesteps, total_timesteps, steps_per_sec, .. } => {
                self.progress.insert(seed, (*timesteps, *total_timesteps, *steps_per_sec));
            }
            RunEvent::Finished { status, .. } => {
                self.finished.push((seed, *status));
                if let Some(p) = self.progress.get_mut(&seed) {
                    p.0 = p.1.max(p.0);
                }
            }
            _ => {}
        }
    }

    pub fn totals(&self) -> GroupTotals {
        let running: Vec<&(u64, u64, f64)> = self.progress.values().filter(|p| p.0 < p.1).collect();
        GroupTotals {
            timesteps: self.progress.values().map(|p| p.0).sum(),
            total_timesteps: self.progress.values().map(|p| p.1).max().unwrap_or(0) * self.seeds.len() as u64,
            steps_per_sec: running.iter().map(|p| p.2).sum(),
            running: running.len(),
        }
    }
}

/// Seeds trained at once: one per core of the budget (each seed's own work is
/// mostly serial). The budget is `RAYON_NUM_THREADS` where set (a sweep gives
/// each trial its share that way), else the cores this process may use.
pub fn parallel_seeds(n_seeds: usize) -> usize {
    crate::threads::budget().min(n_seeds).max(1)
}

/// How a group's seeds execute.
pub(crate) struct Execution {
    /// One computation per batch of seeds, else one thread per seed.
    batched: bool,
    /// Batches (or one-seed threads) at once.
    parallel: usize,
    /// `Cpu` or `Gpu`: `experiment.device=auto` measured for this group.
    device: crate::config::DeviceChoice,
    note: Option<String>,
}

/// How `n_seeds` seeds of `config` execute. Batched (experiment.batch_seeds
/// on the device they get): `parallel` batches at once, one on a GPU (where
/// one big batch pays most), one per core of the budget on the CPU (each
/// batch steps its envs on its own thread). Else `parallel` threads of one
/// seed each. `auto` times both devices as they would lay the seeds out.
fn execution(config: &Config, n_seeds: usize) -> Execution {
    use super::device_choice::{Layout, for_batch};
    use crate::config::DeviceChoice;
    let parallel = parallel_seeds(n_seeds);
    let rounds = n_seeds.div_ceil(parallel);
    let layout = |on_gpu: bool| match config.experiment.batch_seeds.batches(n_seeds, on_gpu, &config.algorithm) {
        true if on_gpu => Layout { per_batch: n_seeds, rounds: 1 },
        true => Layout { per_batch: rounds, rounds: 1 },
        false => Layout { per_batch: 1, rounds },
    };
    let choice = for_batch(config, n_seeds, layout(true), layout(false));
    let on_gpu = choice.device == DeviceChoice::Gpu;
    let batched = config.experiment.batch_seeds.batches(n_seeds, on_gpu, &config.algorithm);
    Execution { batched, parallel: if batched && on_gpu { 1 } else { parallel }, device: choice.device, note: choice.note }
}

/// Seed `seed`'s config: the group's with one seed, written into the group directory.
pub fn seed_config(config: &Config, group: &GroupDir, seed: u64) -> Config {
    let mut c = config.clone();
    c.experiment.seeds = None;
    c.experiment.n_seeds = None;
    c.experiment.seed = seed;
    c.experiment.runs_dir = group.root.clone();
    c.experiment.name = GroupDir::seed_name(seed);
    c
}

/// Seeds listed in `RL_RESEARCH_FAULT_SEEDS` (comma-separated) fail at once
/// without training: how the tests check what a group does with a failed seed.
fn fault_injected(seed: u64) -> bool {
    std::env::var("RL_RESEARCH_FAULT_SEEDS").is_ok_and(|v| v.split(',').any(|s| s.trim().parse::<u64>().ok() == Some(seed)))
}

/// What to do for one seed.
pub(crate) enum SeedJob {
    New(Box<Config>),
    Resume(PathBuf),
}

/// Trains a new seed group of `config` (which must name its seeds).
pub fn run_group(config: &Config, options: RunOptions) -> Result<GroupSummary, RunError> {
    config.validate()?;
    let seeds = config
        .group_seeds()?
        .ok_or_else(|| ConfigError("not a seed group: set experiment.seeds=[0,1,2] or experiment.n_seeds=3".into()))?;
    let group = GroupDir::create_unique(&config.experiment.runs_dir, &config.experiment.name)?;
    let exec = execution(config, seeds.len());
    let (batched, parallel) = (exec.batched, exec.parallel);
    let info = GroupInfo {
        kind: "seed_group".into(),
        name: group.name(),
        algorithm: config.algorithm.name().into(),
        env_id: config.env.id.clone(),
        seeds: seeds.clone(),
        status: GroupStatus::Running,
        config: config.clone(),
        command_line: options.command_line.clone(),
        started_at_unix_secs: unix_now_secs(),
        finished_at_unix_secs: None,
        wall_secs: None,
        parallel,
        batched,
        seed_runs: seeds
            .iter()
            .map(|&s| SeedEntry { seed: s, dir: GroupDir::seed_name(s), status: RunStatus::Running, final_score: None, error: None })
            .collect(),
        final_score: None,
    };
    info.write(&group)?;
    let jobs = seeds.iter().map(|&s| (s, SeedJob::New(Box::new(seed_config(config, &group, s))))).collect();
    send_notes(&options, exec.note.into_iter().collect());
    execute(group, info, with_device(jobs, exec.device), options, 0.0)
}

/// Continues a stopped or interrupted group: completed seeds are kept, stopped
/// or killed ones resume from their checkpoints, seeds never started start.
pub fn resume_group(dir: &Path, options: RunOptions) -> Result<GroupSummary, RunError> {
    let group = GroupDir::at(dir);
    let mut info = GroupInfo::read(&group).map_err(|e| RunError::Checkpoint(e.to_string()))?;
    let mut jobs = Vec::new();
    let mut notes = Vec::new();
    for &seed in &info.seeds {
        let state = SeedState::read(&group, seed);
        match state.info.as_ref().map(|i| i.status) {
            Some(RunStatus::Completed) => {}
            Some(_) if !state.run.checkpoints().is_empty() => jobs.push((seed, SeedJob::Resume(state.run.root.clone()))),
            Some(status) => notes.push(format!(
                "seed {seed} ({}) has no checkpoint to resume from: it stays as it is; {} keeps its logs",
                status.as_str(),
                state.run.root.display()
            )),
            None if !state.run.root.exists() => jobs.push((seed, SeedJob::New(Box::new(seed_config(&info.config, &group, seed))))),
            None => notes.push(format!("seed {seed}: {} has no readable logs/run_info.json: left as it is", state.run.root.display())),
        }
    }
    if jobs.is_empty() {
        return Err(RunError::Checkpoint(format!(
            "{}: no seed left to resume ({}){}",
            dir.display(),
            info.status.label(),
            if notes.is_empty() { String::new() } else { format!("; {}", notes.join("; ")) }
        )));
    }
    send_notes(&options, notes);
    info.status = GroupStatus::Running;
    info.finished_at_unix_secs = None;
    let exec = execution(&info.config, jobs.len());
    (info.batched, info.parallel) = (exec.batched, exec.parallel);
    send_notes(&options, exec.note.into_iter().collect());
    let wall0 = info.wall_secs.unwrap_or(0.0);
    info.write(&group)?;
    execute(group, info, with_device(jobs, exec.device), options, wall0)
}

/// New seeds' configs set to the device chosen for their group (`auto`
/// resolved once for the batch, not per seed); resumed seeds keep the device
/// their config.yaml names.
fn with_device(jobs: Vec<(u64, SeedJob)>, device: crate::config::DeviceChoice) -> Vec<(u64, SeedJob)> {
    jobs.into_iter()
        .map(|(seed, job)| match job {
            SeedJob::New(mut c) => {
                c.experiment.device = device;
                (seed, SeedJob::New(c))
            }
            resume => (seed, resume),
        })
        .collect()
}

/// Trains `jobs` (in `info.parallel` batches at once, or `info.parallel` threads
/// of one seed each at a time), then writes the statistics.
fn execute(
    group: GroupDir,
    mut info: GroupInfo,
    jobs: Vec<(u64, SeedJob)>,
    options: RunOptions,
    wall0: f64,
) -> Result<GroupSummary, RunError> {
    let t0 = Instant::now();
    let send = |ev: RunEvent| options.send(ev);
    send(RunEvent::GroupStarted {
        group_dir: group.root.clone(),
        seeds: info.seeds.clone(),
        parallel: info.parallel,
        batched: info.batched,
    });
    // Seeds a resume keeps as they are count as done, so the group's progress
    // and ETA cover only the steps still to train.
    let total = info.config.experiment.total_timesteps;
    for &seed in info.seeds.iter().filter(|s| !jobs.iter().any(|(j, _)| j == *s)) {
        if SeedState::read(&group, seed).info.is_some_and(|i| i.status == RunStatus::Completed) {
            let done = RunEvent::Progress { timesteps: total, total_timesteps: total, steps_per_sec: 0.0, mean_reward: None };
            send(RunEvent::Seed { seed, event: Box::new(done) });
        }
    }
    let first_seed = info.seeds.first().copied();
    let errors = if info.batched {
        // `parallel` batches of consecutive seeds, all at once.
        let size = jobs.len().div_ceil(info.parallel.max(1)).max(1);
        train_units(jobs, size, info.parallel, &options, first_seed, &send, &group)
    } else {
        // Batches of one, `parallel` at a time.
        train_units(jobs, 1, info.parallel, &options, first_seed, &send, &group)
    };
    let seeds: Vec<SeedState> = info.seeds.iter().map(|&s| SeedState::read(&group, s)).collect();
    let aggregate = group::aggregate(&info.config, &seeds);
    let mut statuses = Vec::new();
    for (entry, state) in info.seed_runs.iter_mut().zip(&seeds) {
        // A seed the stop kept from starting is stopped, not failed: resume starts it.
        let status = match &state.info {
            Some(i) => i.status,
            None if !state.run.root.exists() && options.stop.load(Ordering::SeqCst) => RunStatus::Stopped,
            None => RunStatus::Failed,
        };
        entry.status = status;
        entry.final_score = state.final_score();
        entry.error = errors
            .iter()
            .find(|(s, _)| *s == entry.seed)
            .map(|(_, e)| e.clone())
            .or_else(|| state.info.as_ref().and_then(|i| i.error.clone()));
        statuses.push(status);
    }
    info.status = GroupStatus::of(&statuses);
    info.final_score = aggregate.final_score.clone();
    info.finished_at_unix_secs = Some(unix_now_secs());
    info.wall_secs = Some(wall0 + t0.elapsed().as_secs_f64());
    let written = group::write_aggregate_csv(&group, &aggregate, info.config.experiment.total_timesteps).and_then(|()| info.write(&group));
    let foreign = group.foreign_entries(&info);
    let status = match info.status {
        GroupStatus::Completed => RunStatus::Completed,
        GroupStatus::Stopped | GroupStatus::Running => RunStatus::Stopped,
        GroupStatus::Partial | GroupStatus::Failed => RunStatus::Failed,
    };
    send(RunEvent::Finished { status, run_dir: group.root.clone() });
    written?;
    Ok(GroupSummary { group, info, aggregate, seeds, foreign })
}

/// The one seed-group executor: `jobs` in units of consecutive seeds (one
/// batch each; a threaded group's units are single seeds), `workers` units
/// training at once, each on its own thread. A unit not yet started when a
/// stop comes is left for a resume.
fn train_units(
    jobs: Vec<(u64, SeedJob)>,
    unit_size: usize,
    workers: usize,
    options: &RunOptions,
    first_seed: Option<u64>,
    send: &(dyn Fn(RunEvent) + Sync),
    group: &GroupDir,
) -> Vec<(u64, String)> {
    let mut units: Vec<Vec<(u64, SeedJob)>> = Vec::new();
    for job in jobs {
        match units.last_mut() {
            Some(u) if u.len() < unit_size.max(1) => u.push(job),
            _ => units.push(vec![job]),
        }
    }
    let errors: Mutex<Vec<(u64, String)>> = Mutex::new(Vec::new());
    let queue = Mutex::new(units.into_iter());
    std::thread::scope(|scope| {
        for _ in 0..workers.max(1) {
            scope.spawn(|| {
                // Each unit's thread works in a pool of its share of the cores.
                crate::threads::own_share_of_budget(workers.max(1));
                loop {
                    if options.stop.load(Ordering::SeqCst) {
                        return;
                    }
                    let Some(unit) = queue.lock().ok().and_then(|mut q| q.next()) else { return };
                    let first = unit.first().map(|(s, _)| *s).unwrap_or(0);
                    let errs = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        super::batch::train_batched(unit, options, first_seed, send, group)
                    }))
                    .unwrap_or_else(|_| vec![(first, "a batch of seeds panicked".to_string())]);
                    if let Ok(mut all) = errors.lock() {
                        all.extend(errs);
                    }
                }
            });
        }
    });
    errors.into_inner().unwrap_or_default()
}

/// Seed `seed`'s run options: the group's command line and stop flag, its own event channel.
pub(crate) fn seed_options(options: &RunOptions, seed: u64, first_seed: Option<u64>, events: Sender<RunEvent>) -> RunOptions {
    RunOptions {
        command_line: options.command_line.clone(),
        stop: options.stop.clone(),
        // The group reads this channel and forwards to its own sender, which wakes the UI.
        events: Some(super::EventSender::new(events)),
        live_episodes: options.live_episodes && Some(seed) == first_seed,
    }
}

/// A seed that `RL_RESEARCH_FAULT_SEEDS` fails: says it finished failed and returns the error to record.
pub(crate) fn injected_failure(seed: u64, group: &GroupDir, send: &(dyn Fn(RunEvent) + Sync)) -> Option<(u64, String)> {
    if !fault_injected(seed) {
        return None;
    }
    send(RunEvent::Seed { seed, event: Box::new(RunEvent::Finished { status: RunStatus::Failed, run_dir: group.seed_run(seed).root }) });
    Some((seed, format!("injected failure (RL_RESEARCH_FAULT_SEEDS lists seed {seed})")))
}

/// Reads a group and computes its statistics from its seeds' directories as
/// they are now (a running group's so far): what `compare` and the GUI show.
pub fn load_group(dir: &Path) -> Result<GroupSummary, String> {
    let (mut info, seeds) = group::read_group(dir).map_err(|e| e.to_string())?;
    let group = GroupDir::at(dir);
    let aggregate = group::aggregate(&info.config, &seeds);
    info.final_score = aggregate.final_score.clone();
    let foreign = group.foreign_entries(&info);
    Ok(GroupSummary { group, info, aggregate, seeds, foreign })
}
