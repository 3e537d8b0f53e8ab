//! One entry point for a sweep, whatever runs its trials: local child
//! processes or a Slurm job array. Both share what a trial's outcome means:
//! which trials a resumed sweep reruns or continues, the median pruner's
//! decision, and the trial result (objective, seeds, status).

use super::{SweepSpec, TrialResult, TrialStatus, evals, median_prune, trial_objective, trial_runs};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

/// Where a sweep's trials run (`sweep.launcher`).
pub use super::slurm::Launcher;

/// What [`launch`] needs.
pub struct Launch<'a> {
    /// The `rl-research` executable each trial runs.
    pub exe: &'a Path,
    pub spec: &'a SweepSpec,
    pub dir: &'a Path,
    /// Continue the sweep in `dir` (completed trials are kept, stopped ones continue).
    pub resume: bool,
    /// Slurm only: submit and return at once (`sweep status` follows it).
    pub no_wait: bool,
    pub stop: Arc<AtomicBool>,
}

/// What a sweep did: its Slurm job (if it ran there) and each trial's result.
pub struct Launched {
    pub job_id: Option<String>,
    pub results: Vec<TrialResult>,
}

/// Runs the sweep with its launcher; `on_event` hears progress lines (Slurm
/// states), `on_trial` each trial as it finishes.
pub fn launch(
    l: Launch<'_>,
    on_event: &mut (dyn FnMut(&str) + Send),
    on_trial: &mut (dyn FnMut(&TrialResult) + Send),
) -> Result<Launched, String> {
    match l.spec.settings.launcher {
        Launcher::Slurm => {
            let (job_id, results) = super::slurm::run(l.exe, l.spec, l.dir, l.resume, l.no_wait, &l.stop, on_event, on_trial)?;
            Ok(Launched { job_id: Some(job_id), results })
        }
        Launcher::Local => {
            if l.no_wait {
                return Err("--no-wait needs sweep.launcher=slurm (a local sweep runs its trials in this process)".into());
            }
            let results = super::run_sweep(l.exe, l.spec, l.dir, l.resume, l.stop, on_trial)?;
            Ok(Launched { job_id: None, results })
        }
    }
}

/// A trial of a resumed sweep that should continue from its checkpoints
/// rather than start again: it stopped earlier with the same params and left
/// a checkpoint (or a seed group) behind.
pub fn resumable(previous: Option<&TrialResult>, params: &[(String, String)]) -> Option<PathBuf> {
    let p = previous.filter(|p| p.params == params && p.status != TrialStatus::Completed)?;
    p.run_dirs
        .first()
        .filter(|d| crate::runs::group::GroupDir::is_group(d) || !crate::runs::RunDir::at(d).checkpoints().is_empty())
        .cloned()
}

/// The median pruner on a running trial: below the median of the completed
/// trials at its latest evaluation, it is asked to stop (its stop files), and
/// true is returned once every run of it was asked.
pub fn prune_if_below_median(trial_dir: &Path, completed: &[Vec<(u64, f64)>]) -> bool {
    let Some(&(t, v)) = evals(trial_dir).last() else { return false };
    median_prune(completed, t, v)
        && trial_runs(trial_dir)
            .iter()
            .filter(|r| r.root.exists())
            .all(|r| std::fs::write(r.stop_file(), b"pruned by the median pruner\n").is_ok())
}

impl TrialResult {
    /// Trial `id`'s result from its directory: the objective (for a completed
    /// trial), the seeds it ran (`planned_seeds` when it left none).
    pub fn of_trial(
        spec: &SweepSpec,
        id: usize,
        dir: &Path,
        status: TrialStatus,
        error: Option<String>,
        wall_secs: f64,
        planned_seeds: Vec<u64>,
    ) -> Self {
        let (value, spread, seeds) = trial_objective(dir, spec.settings.objective());
        let completed = status == TrialStatus::Completed;
        TrialResult {
            id,
            params: spec.trials[id].clone(),
            seeds: if seeds.is_empty() { planned_seeds } else { seeds },
            objective_mean: value.filter(|_| completed),
            objective_std: spread.filter(|_| completed),
            status,
            wall_secs,
            run_dirs: vec![dir.to_path_buf()],
            error,
            job_id: None,
            slurm_state: None,
        }
    }
}
