//! Sweep trials batched into one computation (`sweep.batch_trials`): trials
//! whose configs differ only in scalar hyperparameters (learning rate, clip
//! range, gamma, ...; `Config::batch_key`) train in one child process as one
//! batch of stacked networks (`rl-research run --batch FILE`), each trial
//! still its own run directory, metrics and objective. Trials that change a
//! shape form their own batches; a trial whose config does not parse runs
//! alone (and fails there, as it would unbatched).

use super::{Child, SweepSpec, TrialStatus, trial_args, watch_child};
use crate::config::{BatchSeeds, overrides::config_from_args};
use crate::runs::{RunDir, RunInfo, RunStatus};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::AtomicBool;

/// Which trials train together.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    /// Trial ids per child process, in trial order: one id, or a batch.
    pub units: Vec<Vec<usize>>,
    /// Why no trial is batched, where that is a setting's doing.
    pub why_not: Option<String>,
}

impl Plan {
    pub fn batches(&self) -> usize {
        self.units.iter().filter(|u| u.len() > 1).count()
    }
}

/// The batches of trials `ids` of `spec`. `sweep.batch_trials=auto` batches
/// where it measured faster, as `experiment.batch_seeds` does: on a GPU, and
/// PPO on the CPU (8 PPO trials of 20k steps, 2 workers: 6.0 s in two batches
/// vs 9.2 s as eight processes, on a 2-core Xeon). On a GPU all compatible
/// trials form one batch; on the CPU they are split into `sweep.workers`
/// batches so every worker has one.
pub fn plan(spec: &SweepSpec, ids: &[usize]) -> Plan {
    let s = &spec.settings;
    let alone = |why: Option<&str>| Plan { units: ids.iter().map(|&id| vec![id]).collect(), why_not: why.map(String::from) };
    if s.batch_trials == BatchSeeds::Off {
        return alone(Some("sweep.batch_trials=false"));
    }
    if s.seeds > 1 {
        return alone(Some("each trial is a seed group (sweep.seeds > 1), whose seeds batch as experiment.batch_seeds says"));
    }
    if s.launcher == super::slurm::Launcher::Slurm {
        return alone(Some("Slurm runs one trial per array task"));
    }
    // A batch's trials finish together, so the median pruner would have few
    // finished trials to compare with: auto leaves pruned sweeps unbatched.
    if s.pruner && s.batch_trials == BatchSeeds::Auto {
        return alone(Some(
            "sweep.pruner=median compares with finished trials, and a batch's trials finish together (sweep.batch_trials=true batches anyway)",
        ));
    }
    let configs: Vec<Option<crate::config::Config>> = ids
        .iter()
        .map(|&id| {
            let mut args = spec.base_args.clone();
            args.extend(spec.trials[id].iter().map(|(k, v)| format!("{k}={v}")));
            config_from_args(&args).ok()
        })
        .collect();
    let units = group(&configs, s.batch_trials, s.workers).into_iter().map(|u| u.into_iter().map(|i| ids[i]).collect()).collect();
    Plan { units, why_not: None }
}

/// Indices of `configs` that train together (`mode`: `sweep.batch_trials`),
/// in order of their first member: configs of one `Config::batch_key`, all of
/// them in one batch on a GPU, split into `workers` batches on the CPU (one
/// per worker); a config that is `None` (did not parse) or a seed group
/// (which batches its own seeds) alone.
pub fn group(configs: &[Option<crate::config::Config>], mode: BatchSeeds, workers: usize) -> Vec<Vec<usize>> {
    let mut classes: Vec<(crate::config::Config, bool, Vec<usize>)> = Vec::new();
    let mut units = Vec::new();
    for (i, config) in configs.iter().enumerate() {
        let Some(config) = config.as_ref().filter(|c| mode != BatchSeeds::Off && matches!(c.group_seeds(), Ok(None))) else {
            units.push(vec![i]);
            continue;
        };
        let on_gpu = crate::algos::device::trains_on_gpu(config.experiment.device);
        let key = config.batch_key();
        match classes.iter_mut().find(|(k, _, _)| *k == key) {
            Some((_, _, members)) => members.push(i),
            None => classes.push((key, on_gpu, vec![i])),
        }
    }
    for (key, on_gpu, members) in classes {
        if !mode.batches(members.len(), on_gpu, &key.algorithm) {
            units.extend(members.into_iter().map(|i| vec![i]));
        } else if on_gpu {
            units.push(members);
        } else {
            let chunks = workers.clamp(1, members.len());
            let size = members.len().div_ceil(chunks);
            units.extend(members.chunks(size).map(|c| c.to_vec()));
        }
    }
    units.sort_by_key(|u| u.first().copied());
    units
}

/// `rl-research run --batch FILE`: the trials' `run` arguments.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct BatchFile {
    pub trials: Vec<Vec<String>>,
}

/// Trains trials `ids` (named `names`) as one batch in one child process;
/// per trial its status, run directory and error, from its own run_info.json.
#[allow(clippy::too_many_arguments)]
pub(crate) fn run_batch(
    exe: &Path,
    spec: &SweepSpec,
    sweep_dir: &Path,
    ids: &[usize],
    names: &[String],
    threads: usize,
    stop: &AtomicBool,
    completed: &Mutex<Vec<Vec<(u64, f64)>>>,
) -> Vec<(TrialStatus, PathBuf, Option<String>)> {
    let tag = format!("batch_{}_of_{}", ids[0], ids.len());
    let log = super::dir::SweepDir::trial_log_name(&tag);
    let (mut trials, mut dirs) = (Vec::new(), Vec::new());
    for (&id, name) in ids.iter().zip(names) {
        let (args, dir, _) = trial_args(spec, sweep_dir, &Child::New { name, params: &spec.trials[id], seed: spec.base_seed, seeds: 1 });
        trials.push(args[1..].to_vec());
        dirs.push(dir);
    }
    let fail_all = |why: String| dirs.iter().map(|d| (TrialStatus::Failed, d.clone(), Some(why.clone()))).collect();
    let layout = super::dir::SweepDir::at(sweep_dir);
    let file = layout.batch_file(&tag);
    let text = match serde_json::to_string_pretty(&BatchFile { trials }) {
        Ok(t) => t,
        Err(e) => return fail_all(format!("cannot write the batch file: {e}")),
    };
    if let Err(e) = std::fs::create_dir_all(layout.trial_logs()).and_then(|()| crate::runs::write_atomic(&file, text.as_bytes())) {
        return fail_all(format!("cannot write {}: {e}", file.display()));
    }
    let args = vec!["run".to_string(), "--batch".to_string(), file.display().to_string()];
    let (code, pruned) = match watch_child(exe, &args, sweep_dir, &log, threads, &dirs, spec.settings.pruner, stop, completed) {
        Ok(r) => r,
        Err(e) => return fail_all(e),
    };
    let ended = match code {
        Some(2) => format!("bad configuration (see {log})"),
        Some(c) => format!("exit code {c} (see {log})"),
        None => format!("killed by a signal (see {log})"),
    };
    dirs.into_iter()
        .zip(pruned)
        .map(|(dir, pruned)| {
            let (status, error) = match RunInfo::read(&RunDir::at(&dir)) {
                Ok(info) => match info.status {
                    RunStatus::Completed => (TrialStatus::Completed, None),
                    RunStatus::Stopped if pruned => (TrialStatus::Pruned, None),
                    RunStatus::Stopped => (TrialStatus::Stopped, None),
                    RunStatus::Failed => {
                        (TrialStatus::Failed, Some(info.error.map(|e| format!("{e} (see {log})")).unwrap_or_else(|| ended.clone())))
                    }
                    RunStatus::Running | RunStatus::Interrupted => {
                        (TrialStatus::Failed, Some(format!("its batch ended while it was running: {ended}")))
                    }
                },
                Err(_) => (TrialStatus::Failed, Some(ended.clone())),
            };
            (status, dir, error)
        })
        .collect()
}
