//! Sweeps: a grid (`--multirun`) or random search over config overrides. Every
//! trial is a plain `rl-research run` process (so the same trials can be sent to
//! a cluster scheduler), `sweep.workers` of them at a time. Results land in
//! `runs/<sweep>/sweep.csv` as trials finish; a median pruner can stop hopeless
//! trials through the runner's stop file.

pub mod batches;
pub mod dir;
pub mod launch;
pub mod slurm;
mod slurm_script;
pub mod space;

use crate::runs::logger::read_metrics;
use crate::runs::{RunDir, RunInfo, write_atomic};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub use space::{Dimension, Param, grid, parse_param, random_trials};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Objective {
    /// The last evaluation of the run (at the end of training).
    Final,
    /// The best periodic evaluation.
    Best,
    /// The interquartile mean of the seeds' final evaluations (the default with 3 or more seeds).
    Iqm,
    /// The mean of the seeds' final evaluations.
    Mean,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TrialStatus {
    Completed,
    Failed,
    Pruned,
    Stopped,
}

/// `sweep.*` settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SweepSettings {
    pub workers: usize,
    /// Seeds per trial: with more than one, each trial is a seed group.
    pub seeds: usize,
    /// `None`: `iqm` with 3 or more seeds, else `final`.
    #[serde(default)]
    pub objective: Option<Objective>,
    /// Median pruner on (`sweep.pruner=median`).
    pub pruner: bool,
    /// Where trials run: here (`local`) or as a Slurm job array (`slurm`).
    #[serde(default)]
    pub launcher: slurm::Launcher,
    /// `sweep.slurm.*`, for `sweep.launcher=slurm`.
    #[serde(default)]
    pub slurm: slurm::SlurmSettings,
    /// Trials that differ only in scalar hyperparameters train as one batched
    /// computation (one process, stacked networks; each trial still its own
    /// run): true, false, or auto = where measured faster (see `batches`).
    #[serde(default)]
    pub batch_trials: crate::config::BatchSeeds,
}

impl Default for SweepSettings {
    fn default() -> Self {
        Self {
            workers: cores(),
            seeds: 1,
            objective: None,
            pruner: false,
            launcher: slurm::Launcher::Local,
            slurm: slurm::SlurmSettings::default(),
            batch_trials: Default::default(),
        }
    }
}

impl SweepSettings {
    /// The objective in effect: the one given, else `iqm` with 3 or more seeds, else `final`.
    pub fn objective(&self) -> Objective {
        self.objective.unwrap_or(if self.seeds >= 3 { Objective::Iqm } else { Objective::Final })
    }
}

pub fn cores() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
}

impl SweepSettings {
    /// Applies one `sweep.key=value` argument.
    pub fn set(&mut self, arg: &str) -> Result<(), String> {
        let (key, value) = arg.split_once('=').ok_or_else(|| format!("'{arg}' is not sweep.key=value"))?;
        let positive =
            |v: &str| v.parse::<usize>().ok().filter(|&n| n > 0).ok_or_else(|| format!("{key}: '{v}' is not a positive integer"));
        match key {
            "sweep.workers" => self.workers = positive(value)?,
            "sweep.seeds" => self.seeds = positive(value)?,
            "sweep.objective" => {
                self.objective = Some(match value {
                    "final" => Objective::Final,
                    "best" => Objective::Best,
                    "iqm" => Objective::Iqm,
                    "mean" => Objective::Mean,
                    _ => return Err(format!("sweep.objective: '{value}' is not final, best, iqm or mean")),
                })
            }
            "sweep.pruner" => {
                self.pruner = match value {
                    "median" => true,
                    "none" => false,
                    _ => return Err(format!("sweep.pruner: '{value}' is not median or none")),
                }
            }
            "sweep.launcher" => {
                self.launcher = match value {
                    "local" => slurm::Launcher::Local,
                    "slurm" => slurm::Launcher::Slurm,
                    _ => return Err(format!("sweep.launcher: '{value}' is not local or slurm")),
                }
            }
            "sweep.batch_trials" => {
                self.batch_trials = value.parse().map_err(|()| format!("sweep.batch_trials: '{value}' is not true, false or auto"))?
            }
            k if k.starts_with("sweep.slurm.") => self.slurm.set(&k["sweep.slurm.".len()..], value)?,
            _ => {
                return Err(format!(
                    "unknown sweep key '{key}': valid keys are sweep.workers, sweep.seeds, sweep.objective, sweep.pruner, sweep.launcher, sweep.batch_trials, sweep.slurm.*"
                ));
            }
        }
        Ok(())
    }
}

/// Everything a sweep needs; saved as `sweep.json`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SweepSpec {
    pub kind: String,
    pub command_line: String,
    /// `--config FILE` and fixed overrides given to every trial.
    pub base_args: Vec<String>,
    pub trials: Vec<Vec<(String, String)>>,
    pub settings: SweepSettings,
    pub base_seed: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrialResult {
    pub id: usize,
    pub params: Vec<(String, String)>,
    pub seeds: Vec<u64>,
    pub objective_mean: Option<f64>,
    pub objective_std: Option<f64>,
    pub status: TrialStatus,
    pub wall_secs: f64,
    pub run_dirs: Vec<PathBuf>,
    pub error: Option<String>,
    /// With `sweep.launcher=slurm`: the job (`<array job>_<task>`) and its Slurm state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slurm_state: Option<String>,
}

/// Where trial `id` runs (a run, or a seed group with several seeds): the
/// first free name, so reruns never overwrite.
pub(crate) fn trial_name(sweep_dir: &Path, id: usize) -> String {
    dir::SweepDir::at(sweep_dir).trial_name(id)
}

/// The run directories of a trial: itself, or its seeds' for a seed group.
pub(crate) fn trial_runs(dir: &Path) -> Vec<RunDir> {
    match crate::runs::group::GroupInfo::read(&crate::runs::group::GroupDir::at(dir)) {
        Ok(info) => info.seeds.iter().map(|s| crate::runs::group::GroupDir::at(dir).seed_run(*s)).collect(),
        Err(_) => vec![RunDir::at(dir)],
    }
}

/// Objective of one finished run (for `iqm`/`mean`: its final evaluation).
pub fn run_objective(run: &RunDir, objective: Objective) -> Option<f64> {
    match objective {
        Objective::Best => RunInfo::read(run).ok()?.best_eval_mean_reward,
        Objective::Final | Objective::Iqm | Objective::Mean => crate::runs::logger::last_eval_mean_reward(run),
    }
}

/// A trial's objective over its seeds: (value, spread) — IQM or mean of the
/// per-seed values, with their sample std; `None` without values.
pub fn trial_objective(dir: &Path, objective: Objective) -> (Option<f64>, Option<f64>, Vec<u64>) {
    let runs = trial_runs(dir);
    let seeds = runs.iter().filter_map(|r| RunInfo::read(r).ok().map(|i| i.seed)).collect();
    let values: Vec<f64> = runs.iter().filter_map(|r| run_objective(r, objective)).collect();
    if values.is_empty() {
        return (None, None, seeds);
    }
    let value = match objective {
        Objective::Iqm => crate::stats::iqm(&values),
        _ => crate::stats::mean(&values),
    };
    (Some(value), Some(if values.len() > 1 { crate::stats::sample_std(&values) } else { 0.0 }), seeds)
}

/// A trial's evaluation curve: its run's, or the mean over its seeds at each step.
pub(crate) fn evals(run: &Path) -> Vec<(u64, f64)> {
    let per_run: Vec<Vec<(u64, f64)>> = trial_runs(run)
        .iter()
        .map(|r| {
            read_metrics(&r.metrics_csv())
                .map(|rows| rows.into_iter().filter(|r| r.metric == "eval/mean_reward").map(|r| (r.timesteps, r.value)).collect())
                .unwrap_or_default()
        })
        .collect();
    if per_run.len() == 1 {
        return per_run.into_iter().next().unwrap_or_default();
    }
    // Steps every seed has reached, averaged.
    let Some(shortest) = per_run.iter().min_by_key(|c| c.len()) else { return Vec::new() };
    shortest
        .iter()
        .map(|(t, _)| {
            let vals: Vec<f64> = per_run.iter().filter_map(|c| c.iter().find(|(ct, _)| ct == t).map(|(_, v)| *v)).collect();
            (*t, crate::stats::mean(&vals))
        })
        .collect()
}

/// The median pruner's verdict: prune if `value` at `t` is below the median of
/// the completed trials' latest evaluations at or before `t` (needs 2 of them).
pub fn median_prune(completed: &[Vec<(u64, f64)>], t: u64, value: f64) -> bool {
    let mut at_t: Vec<f64> = completed.iter().filter_map(|c| c.iter().rev().find(|(ct, _)| *ct <= t).map(|(_, v)| *v)).collect();
    if at_t.len() < 2 {
        return false;
    }
    at_t.sort_by(|a, b| a.total_cmp(b));
    let n = at_t.len();
    let median = if n % 2 == 1 { at_t[n / 2] } else { 0.5 * (at_t[n / 2 - 1] + at_t[n / 2]) };
    value < median
}

/// Runs one seed of one trial as a child process; returns (status, run dir, error).
/// A seed of a trial to run: a new run, or a stopped one continued from its checkpoint.
pub(crate) enum Child<'a> {
    /// `seeds` > 1: a seed group of that many seeds from `seed`.
    New {
        name: &'a str,
        params: &'a [(String, String)],
        seed: u64,
        seeds: usize,
    },
    Resume(&'a Path),
}

/// The command a trial runs: `exe` (this binary), or, inside another program
/// that embeds the core (the Python package), the command it names in
/// `RL_RESEARCH_TRIAL_COMMAND` (a JSON list, e.g. `["python", "-m", "rl_research._trial"]`).
pub(crate) fn trial_command_argv(exe: &Path) -> Vec<String> {
    named_trial_command().unwrap_or_else(|| vec![exe.display().to_string()])
}

/// `RL_RESEARCH_TRIAL_COMMAND`, when set to a non-empty JSON list.
fn named_trial_command() -> Option<Vec<String>> {
    std::env::var("RL_RESEARCH_TRIAL_COMMAND").ok().and_then(|v| serde_json::from_str(&v).ok()).filter(|v: &Vec<String>| !v.is_empty())
}

fn trial_command(exe: &Path) -> Command {
    match named_trial_command() {
        Some(argv) => {
            let mut cmd = Command::new(&argv[0]);
            cmd.args(&argv[1..]);
            cmd
        }
        None => Command::new(exe),
    }
}

/// The `rl-research` arguments of a trial, its run directory and name.
pub(crate) fn trial_args(spec: &SweepSpec, sweep_dir: &Path, child: &Child) -> (Vec<String>, PathBuf, String) {
    match child {
        Child::New { name, params, seed, seeds } => {
            let mut a = vec!["run".to_string()];
            a.extend(spec.base_args.iter().cloned());
            a.extend(params.iter().map(|(k, v)| format!("{k}={v}")));
            a.push(format!("experiment.runs_dir={}", sweep_dir.display()));
            a.push(format!("experiment.name={name}"));
            a.push(format!("experiment.seed={seed}"));
            if *seeds > 1 {
                a.push(format!("experiment.n_seeds={seeds}"));
            }
            (a, dir::SweepDir::at(sweep_dir).trial_run(name), name.to_string())
        }
        Child::Resume(dir) => {
            let a = vec!["run".to_string(), "--resume".to_string(), dir.display().to_string()];
            (a, dir.to_path_buf(), dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default())
        }
    }
}

fn run_child(
    exe: &Path,
    spec: &SweepSpec,
    sweep_dir: &Path,
    child_run: Child,
    threads: usize,
    stop: &AtomicBool,
    completed: &Mutex<Vec<Vec<(u64, f64)>>>,
) -> (TrialStatus, PathBuf, Option<String>) {
    let (args, run_dir, name) = trial_args(spec, sweep_dir, &child_run);
    let log = dir::SweepDir::trial_log_name(&name);
    let (code, pruned) =
        match watch_child(exe, &args, sweep_dir, &log, threads, std::slice::from_ref(&run_dir), spec.settings.pruner, stop, completed) {
            Ok(r) => r,
            Err(e) => return (TrialStatus::Failed, run_dir, Some(e)),
        };
    let (status, error) = match code {
        Some(code) => exit_status(code, pruned[0], &run_dir, &log),
        None => (TrialStatus::Failed, Some(format!("killed by a signal (see {log})"))),
    };
    (status, run_dir, error)
}

/// Runs `rl-research <args>` (its output to `sweep_dir/<log>`) and watches the
/// trial directories `dirs` it trains until it exits: asks them to stop when
/// the sweep stops, prunes them with the median pruner. Its exit code (None:
/// killed by a signal) and which trials were pruned.
pub(crate) fn watch_child(
    exe: &Path,
    args: &[String],
    sweep_dir: &Path,
    log: &str,
    threads: usize,
    dirs: &[PathBuf],
    pruner: bool,
    stop: &AtomicBool,
    completed: &Mutex<Vec<Vec<(u64, f64)>>>,
) -> Result<(Option<i32>, Vec<bool>), String> {
    let mut cmd = trial_command(exe);
    cmd.args(args);
    let _ = std::fs::create_dir_all(dir::SweepDir::at(sweep_dir).trial_logs());
    let log = std::fs::OpenOptions::new().create(true).append(true).open(sweep_dir.join(log));
    cmd.env("RAYON_NUM_THREADS", threads.to_string()).stdin(Stdio::null());
    match log.and_then(|f| Ok((f.try_clone()?, f))) {
        Ok((a, b)) => {
            cmd.stdout(a).stderr(b);
        }
        Err(_) => {
            cmd.stdout(Stdio::null()).stderr(Stdio::null());
        }
    }
    let mut child = cmd.spawn().map_err(|e| format!("cannot start {}: {e}", exe.display()))?;
    let mut pruned = vec![false; dirs.len()];
    let code = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status.code(),
            Ok(None) => {}
            Err(e) => return Err(format!("waiting for trial: {e}")),
        }
        for (dir, pruned) in dirs.iter().zip(pruned.iter_mut()) {
            if stop.load(Ordering::SeqCst) && dir.exists() {
                for r in trial_runs(dir) {
                    let _ = std::fs::write(r.stop_file(), b"sweep stopped\n");
                }
            }
            if pruner && !*pruned {
                let done = completed.lock().map(|c| c.clone()).unwrap_or_default();
                *pruned = launch::prune_if_below_median(dir, &done);
            }
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    Ok((code, pruned))
}

/// A trial's status from its `rl-research run` exit code (0 ok, 1 failed or a
/// partial seed group, 2 bad input, 130 stopped), locally or on Slurm; `log` is its log file.
pub(crate) fn exit_status(code: i32, pruned: bool, run_dir: &Path, log: &str) -> (TrialStatus, Option<String>) {
    match code {
        0 => (TrialStatus::Completed, None),
        130 if pruned => (TrialStatus::Pruned, None),
        130 => (TrialStatus::Stopped, None),
        1 if crate::runs::group::GroupDir::is_group(run_dir) => (TrialStatus::Failed, Some(format!("some seeds failed (see {log})"))),
        2 => (TrialStatus::Failed, Some(format!("bad configuration (see {log})"))),
        other => (TrialStatus::Failed, Some(format!("exit code {other} (see {log})"))),
    }
}

/// Runs every trial not already completed in `sweep_dir/sweep.csv` (when
/// resuming; trials the sweep had stopped continue from their checkpoints).
/// `on_trial` is called as each trial finishes.
pub fn run_sweep(
    exe: &Path,
    spec: &SweepSpec,
    sweep_dir: &Path,
    resume: bool,
    stop: Arc<AtomicBool>,
    on_trial: &mut (dyn FnMut(&TrialResult) + Send),
) -> Result<Vec<TrialResult>, String> {
    std::fs::create_dir_all(sweep_dir).map_err(|e| format!("cannot create {}: {e}", sweep_dir.display()))?;
    let spec_text = serde_json::to_string_pretty(spec).map_err(|e| e.to_string())?;
    write_atomic(&dir::SweepDir::at(sweep_dir).spec_file(), spec_text.as_bytes()).map_err(|e| e.to_string())?;
    let previous: BTreeMap<usize, TrialResult> =
        if resume { load_results(sweep_dir).into_iter().map(|r| (r.id, r)).collect() } else { BTreeMap::new() };
    let results: Mutex<Vec<TrialResult>> = Mutex::new(Vec::new());
    let mut queue: Vec<usize> = Vec::new();
    let stopped_before = |id: usize| previous.get(&id).is_some_and(|p| p.status == TrialStatus::Stopped && p.params == spec.trials[id]);
    for (id, params) in spec.trials.iter().enumerate() {
        match previous.get(&id) {
            Some(r) if r.status == TrialStatus::Completed && r.params == *params => {
                results.lock().map_err(|e| e.to_string())?.push(r.clone())
            }
            _ => queue.push(id),
        }
    }
    let completed_curves: Mutex<Vec<Vec<(u64, f64)>>> =
        Mutex::new(results.lock().map_err(|e| e.to_string())?.iter().flat_map(|r| r.run_dirs.iter().map(|d| evals(d))).collect());
    // Trials that share a batch train in one child; stopped ones resume alone.
    let (resumed, fresh): (Vec<usize>, Vec<usize>) = queue.into_iter().partition(|&id| stopped_before(id));
    let mut units: Vec<Vec<usize>> = resumed.into_iter().map(|id| vec![id]).collect();
    let plan = batches::plan(spec, &fresh);
    units.extend(plan.units);
    units.sort_by_key(|u| u.first().copied());
    let queue = Mutex::new(units.into_iter());
    let workers = spec.settings.workers.max(1);
    let threads = (cores() / workers).max(1);
    let on_trial = Mutex::new(on_trial);
    let write_csv = |rs: &mut Vec<TrialResult>| {
        rs.sort_by_key(|r| r.id);
        let _ = save_results(sweep_dir, spec, rs);
    };
    // One finished trial: its objective into sweep.csv, its curve to the pruner.
    let record = |id: usize, (status, dir, error): (TrialStatus, PathBuf, Option<String>), wall_secs: f64| {
        if status == TrialStatus::Completed {
            if let Ok(mut c) = completed_curves.lock() {
                c.push(evals(&dir));
            }
        }
        let planned = (0..spec.settings.seeds as u64).map(|k| spec.base_seed + k).collect();
        let r = TrialResult::of_trial(spec, id, &dir, status, error, wall_secs, planned);
        if let Ok(mut cb) = on_trial.lock() {
            (*cb)(&r);
        }
        if let Ok(mut rs) = results.lock() {
            rs.push(r);
            write_csv(&mut rs);
        }
    };
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    if stop.load(Ordering::SeqCst) {
                        return;
                    }
                    let Some(unit) = queue.lock().ok().and_then(|mut q| q.next()) else { return };
                    let t0 = Instant::now();
                    let seeds = spec.settings.seeds;
                    let ran: Vec<(usize, (TrialStatus, PathBuf, Option<String>))> = if unit.len() > 1 {
                        let names: Vec<String> = unit.iter().map(|&id| trial_name(sweep_dir, id)).collect();
                        unit.iter()
                            .copied()
                            .zip(batches::run_batch(exe, spec, sweep_dir, &unit, &names, threads, &stop, &completed_curves))
                            .collect()
                    } else {
                        let id = unit[0];
                        let params = &spec.trials[id];
                        // A trial the sweep stopped continues from its checkpoints (a seed group: its unfinished seeds).
                        let earlier = if stopped_before(id) { launch::resumable(previous.get(&id), params) } else { None };
                        let name = trial_name(sweep_dir, id);
                        vec![(
                            id,
                            match earlier {
                                Some(d) => run_child(exe, spec, sweep_dir, Child::Resume(&d), threads, &stop, &completed_curves),
                                _ => run_child(
                                    exe,
                                    spec,
                                    sweep_dir,
                                    Child::New { name: &name, params, seed: spec.base_seed, seeds },
                                    threads,
                                    &stop,
                                    &completed_curves,
                                ),
                            },
                        )]
                    };
                    for (id, outcome) in ran {
                        record(id, outcome, t0.elapsed().as_secs_f64());
                    }
                }
            });
        }
    });
    let mut rs = results.into_inner().map_err(|e| e.to_string())?;
    write_csv(&mut rs);
    Ok(rs)
}

fn csv_escape(s: &str) -> String {
    if s.contains([',', '"', '\n']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.to_string() }
}

/// `sweep.csv`: one row per finished trial; `results.json` keeps the same for resuming.
pub(crate) fn save_results(sweep_dir: &Path, spec: &SweepSpec, results: &[TrialResult]) -> std::io::Result<()> {
    let keys: Vec<String> = spec.trials.first().map(|t| t.iter().map(|(k, _)| k.clone()).collect()).unwrap_or_default();
    let slurm = results.iter().any(|r| r.job_id.is_some());
    let mut csv = String::from("trial,status,objective_mean,objective_std,wall_secs,seeds,run_dirs");
    if slurm {
        csv.push_str(",job_id,slurm_state");
    }
    for k in &keys {
        csv.push(',');
        csv.push_str(&csv_escape(k));
    }
    csv.push('\n');
    let opt = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
    for r in results {
        let status = serde_json::to_value(r.status).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default();
        let seeds = r.seeds.iter().map(|s| s.to_string()).collect::<Vec<_>>().join(" ");
        let dirs = r
            .run_dirs
            .iter()
            .map(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default())
            .collect::<Vec<_>>()
            .join(" ");
        csv.push_str(&format!(
            "{},{status},{},{},{:.2},{seeds},{}",
            r.id,
            opt(r.objective_mean),
            opt(r.objective_std),
            r.wall_secs,
            csv_escape(&dirs)
        ));
        if slurm {
            csv.push_str(&format!(",{},{}", r.job_id.as_deref().unwrap_or(""), r.slurm_state.as_deref().unwrap_or("")));
        }
        for (_, v) in &r.params {
            csv.push(',');
            csv.push_str(&csv_escape(v));
        }
        csv.push('\n');
    }
    let layout = dir::SweepDir::at(sweep_dir);
    write_atomic(&layout.results_csv(), csv.as_bytes())?;
    let json = serde_json::to_string_pretty(results).map_err(std::io::Error::other)?;
    write_atomic(&layout.results_json(), json.as_bytes())
}

pub fn load_results(sweep_dir: &Path) -> Vec<TrialResult> {
    std::fs::read_to_string(dir::SweepDir::at(sweep_dir).results_json())
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default()
}

/// Random search in-process, as the seed's Python example: samples `n_trials`
/// points of `space` and returns the best `(params, score)` of `evaluate`
/// (higher is better). Failing evaluations are skipped.
pub fn random_search<F>(space: &[Param], n_trials: usize, seed: u64, mut evaluate: F) -> Option<(Vec<(String, String)>, f64)>
where
    F: FnMut(&[(String, String)]) -> Result<f64, String>,
{
    random_trials(space, n_trials, seed)
        .into_iter()
        .filter_map(|p| evaluate(&p).ok().filter(|s| s.is_finite()).map(|s| (p, s)))
        .max_by(|a, b| a.1.total_cmp(&b.1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_pruner_on_synthetic_curves() {
        let done = vec![vec![(1000, 10.0), (2000, 50.0)], vec![(1000, 20.0), (2000, 80.0)], vec![(1000, 30.0), (2000, 90.0)]];
        assert!(median_prune(&done, 2000, 40.0));
        assert!(!median_prune(&done, 2000, 85.0));
        assert!(median_prune(&done, 1500, 15.0)); // compares with the evals at 1000: median 20
        assert!(!median_prune(&done[..1], 2000, 0.0)); // too few completed trials
    }

    #[test]
    fn random_search_finds_the_peak() {
        let space = vec![parse_param("x=interval(-3,3)").unwrap()];
        let (best, score) = random_search(&space, 200, 1, |p| Ok(-(p[0].1.parse::<f64>().unwrap() - 1.0).powi(2))).unwrap();
        assert!(score > -0.01, "{best:?} {score}");
    }
}
