//! `sweep.launcher=slurm`: a sweep's trials as one Slurm job array.
//!
//! The sweep directory (on storage the nodes share) gets `trials.json` (id,
//! arguments, seed, run dir per trial) and `slurm_array.sh`, a batch script
//! whose tasks each run their trial's `rl-research run`, picked by
//! `SLURM_ARRAY_TASK_ID`, and record its exit code in
//! `trial_logs/trial_<id>.exit`. It is submitted with
//! `sbatch --array=<ids>%<sweep.workers>`; the driver follows it with `squeue`
//! and, for tasks that left the queue, their exit records, run_info.json and
//! Slurm's job-completion log (so no accounting database is needed), filling
//! sweep.csv as trials end. No scheduling of our own: Slurm runs the trials.

use super::{Child, SweepSpec, TrialResult, TrialStatus, load_results, save_results, trial_args, trial_name};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

pub use super::slurm_script::{TrialEntry, batch_script};

/// Where trials run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Launcher {
    /// Child processes on this machine.
    #[default]
    Local,
    /// One Slurm job array.
    Slurm,
}

/// `sweep.slurm.*`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SlurmSettings {
    pub partition: Option<String>,
    /// `--time`, e.g. `2:00:00`.
    pub time: Option<String>,
    /// Cores per trial (its RAYON_NUM_THREADS and parallel seeds); default: sweep.seeds.
    pub cpus_per_task: Option<usize>,
    pub mem_gb: Option<f64>,
    pub gpus_per_task: Option<u32>,
    pub account: Option<String>,
    pub qos: Option<String>,
    /// Extra `#SBATCH` options, one per `sweep.slurm.extra=...` (e.g. `--constraint=a100`).
    pub extra: Vec<String>,
    /// Shell lines run before the trial (e.g. `module load cuda`), one per `sweep.slurm.setup=...`.
    pub setup: Vec<String>,
    /// The `rl-research` executable on the nodes (default: this one).
    pub exe: Option<PathBuf>,
}

impl SlurmSettings {
    /// Applies `sweep.slurm.<key>=<value>`.
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), String> {
        let text = || Some(value.to_string()).filter(|v| !v.is_empty());
        match key {
            "partition" => self.partition = text(),
            "time" => self.time = text(),
            "cpus_per_task" => {
                self.cpus_per_task = Some(
                    value
                        .parse()
                        .ok()
                        .filter(|&n: &usize| n > 0)
                        .ok_or_else(|| format!("sweep.slurm.cpus_per_task: '{value}' is not a positive integer"))?,
                )
            }
            "mem_gb" => {
                self.mem_gb = Some(
                    value
                        .parse()
                        .ok()
                        .filter(|v: &f64| *v > 0.0 && v.is_finite())
                        .ok_or_else(|| format!("sweep.slurm.mem_gb: '{value}' is not a positive number of GB"))?,
                )
            }
            "gpus_per_task" => {
                self.gpus_per_task =
                    Some(value.parse().map_err(|_| format!("sweep.slurm.gpus_per_task: '{value}' is not a non-negative integer"))?)
            }
            "account" => self.account = text(),
            "qos" => self.qos = text(),
            "extra" => self.extra.push(value.to_string()),
            "setup" => self.setup.push(value.to_string()),
            "exe" => self.exe = Some(PathBuf::from(value)),
            _ => {
                return Err(format!(
                    "unknown key 'sweep.slurm.{key}': valid keys are sweep.slurm.partition, time, cpus_per_task, mem_gb, gpus_per_task, account, qos, extra, setup, exe"
                ));
            }
        }
        Ok(())
    }
}

/// A trial's state as the sweep reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TrialState {
    Queued,
    Running,
    Completed,
    Failed(String),
    Stopped(String),
}

/// Slurm's job state (squeue's `%T`, the completion log's `JobState`) as ours.
pub fn map_state(slurm: &str) -> TrialState {
    let s = slurm.trim().to_ascii_uppercase();
    let s = s.split_whitespace().next().unwrap_or("");
    match s {
        "PENDING" | "REQUEUED" | "REQUEUE_HOLD" | "REQUEUE_FED" | "SUSPENDED" | "RESV_DEL_HOLD" => TrialState::Queued,
        "RUNNING" | "CONFIGURING" | "COMPLETING" | "STAGE_OUT" | "SIGNALING" | "RESIZING" => TrialState::Running,
        "COMPLETED" => TrialState::Completed,
        "TIMEOUT" => TrialState::Stopped("Slurm's time limit (sweep.slurm.time) ended it".into()),
        "CANCELLED" => TrialState::Stopped("cancelled (scancel)".into()),
        "PREEMPTED" => TrialState::Stopped("preempted by Slurm".into()),
        "OUT_OF_MEMORY" => TrialState::Failed("out of memory: raise sweep.slurm.mem_gb".into()),
        "NODE_FAIL" => TrialState::Failed("its node failed".into()),
        "BOOT_FAIL" => TrialState::Failed("its node failed to boot".into()),
        "DEADLINE" => TrialState::Failed("it missed its deadline".into()),
        "FAILED" => TrialState::Failed("Slurm reports FAILED".into()),
        other => TrialState::Failed(format!("Slurm state {other}")),
    }
}

/// The submitted array jobs of a sweep (slurm.json), newest last.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Jobs {
    pub jobs: Vec<Job>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Job {
    pub job_id: String,
    pub trials: Vec<usize>,
    /// Set by `cancel`: tasks that left no record never started.
    #[serde(default)]
    pub cancelled: bool,
}

impl Jobs {
    pub fn read(sweep_dir: &Path) -> Self {
        std::fs::read_to_string(super::dir::SweepDir::at(sweep_dir).slurm_jobs())
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or_default()
    }
    fn write(&self, sweep_dir: &Path) -> Result<(), String> {
        let text = serde_json::to_string_pretty(self).map_err(|e| e.to_string())?;
        crate::runs::write_atomic(&super::dir::SweepDir::at(sweep_dir).slurm_jobs(), text.as_bytes()).map_err(|e| e.to_string())
    }
    fn cancelled(&self, job_id: &str) -> bool {
        self.jobs.iter().any(|j| j.job_id == job_id && j.cancelled)
    }
    /// The job that last ran trial `id`.
    pub fn job_of(&self, id: usize) -> Option<&str> {
        self.jobs.iter().rev().find(|j| j.trials.contains(&id)).map(|j| j.job_id.as_str())
    }
}

/// Runs a Slurm client command; its stdout, or an error with its message and what to fix.
fn slurm_cmd(program: &str, args: &[String]) -> Result<String, String> {
    let out = Command::new(program).args(args).output().map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            format!("sweep.launcher=slurm needs Slurm's {program} on PATH (not found): run the sweep on a cluster login node, or install the Slurm client tools")
        } else {
            format!("cannot run {program}: {e}")
        }
    })?;
    if !out.status.success() {
        let msg = String::from_utf8_lossy(&out.stderr).trim().to_string();
        let hint = if msg.contains("invalid partition") { " (check sweep.slurm.partition against `sinfo -s`)" } else { "" };
        return Err(format!("{program} {} failed: {msg}{hint}", args.join(" ")));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Tasks of `job_id` still in the queue: trial id -> Slurm state (pending ranges expanded).
fn queued(job_id: &str) -> Result<BTreeMap<usize, String>, String> {
    let out = slurm_cmd("squeue", &["-h".into(), "-r".into(), "-j".into(), job_id.into(), "-o".into(), "%i|%T".into()])
        .or_else(|e| if e.contains("Invalid job id") { Ok(String::new()) } else { Err(e) })?;
    let mut states = BTreeMap::new();
    for line in out.lines() {
        let Some((id, state)) = line.split_once('|') else { continue };
        if let Some(task) = id.split_once('_').and_then(|(_, t)| t.parse::<usize>().ok()) {
            states.insert(task, state.trim().to_string());
        }
    }
    Ok(states)
}

/// Slurm's job-completion log (`JobCompLoc` with `jobcomp/filetxt`), if this cluster keeps one.
fn jobcomp_log() -> Option<PathBuf> {
    let config = slurm_cmd("scontrol", &["show".into(), "config".into()]).ok()?;
    let ty = config.lines().find(|l| l.trim_start().starts_with("JobCompType"))?;
    if !ty.contains("filetxt") {
        return None;
    }
    let loc = config.lines().find(|l| l.trim_start().starts_with("JobCompLoc"))?;
    loc.split_once('=').map(|(_, v)| PathBuf::from(v.trim()))
}

/// Final states of `job_id`'s tasks from the completion log: task -> JobState.
fn completed_states(log: Option<&Path>, job_id: &str) -> BTreeMap<usize, String> {
    let Some(text) = log.and_then(|p| std::fs::read_to_string(p).ok()) else { return BTreeMap::new() };
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let field = |k: &str| line.split_whitespace().find_map(|f| f.strip_prefix(k)).map(str::to_string);
        if field("ArrayJobId=").as_deref() == Some(job_id) {
            if let (Some(tasks), Some(state)) = (field("ArrayTaskId="), field("JobState=")) {
                for task in task_ids(&tasks) {
                    out.insert(task, state.clone());
                }
            }
        }
    }
    out
}

/// Task ids of `3`, `1-4`, `[1-3,7%2]` (a record for a pending remainder of an array).
fn task_ids(spec: &str) -> Vec<usize> {
    let body = spec.trim_matches(|c| c == '[' || c == ']');
    let body = body.split('%').next().unwrap_or("");
    let mut out = Vec::new();
    for part in body.split(',') {
        match part.split_once('-') {
            Some((a, b)) => {
                if let (Ok(a), Ok(b)) = (a.parse::<usize>(), b.parse::<usize>()) {
                    out.extend(a..=b.min(a + 100_000));
                }
            }
            None => out.extend(part.parse::<usize>().ok()),
        }
    }
    out
}

/// Where trial `id`'s task records its exit code (the script writes `trial_logs/trial_<id>.exit`).
fn exit_record(sweep_dir: &Path, id: usize) -> PathBuf {
    super::dir::SweepDir::at(sweep_dir).exit_record(id)
}

/// What became of a trial that left the queue.
fn finished(
    spec: &SweepSpec,
    sweep_dir: &Path,
    entry: &TrialEntry,
    job: &str,
    slurm_state: Option<&str>,
    pruned: bool,
    cancelled: bool,
) -> TrialResult {
    let exit = std::fs::read_to_string(exit_record(sweep_dir, entry.id)).ok().and_then(|t| t.trim().parse::<i32>().ok());
    let log = super::dir::SweepDir::slurm_log_name(job, entry.id);
    let by_slurm = slurm_state.map(map_state);
    let (status, error) = match (&by_slurm, exit) {
        // Slurm's own verdicts that an exit code cannot tell.
        (Some(TrialState::Stopped(why)), _) => (TrialStatus::Stopped, Some(why.clone())),
        (Some(TrialState::Failed(why)), _) if slurm_state.is_some_and(|s| s != "FAILED") => {
            (TrialStatus::Failed, Some(format!("{why} (see {log})")))
        }
        (_, Some(code)) => super::exit_status(code, pruned, &entry.run_dir, &log),
        (None, None) if cancelled && !entry.run_dir.exists() => (TrialStatus::Stopped, Some("cancelled before it started".into())),
        (Some(TrialState::Completed), None) => (
            TrialStatus::Failed,
            Some(format!(
                "Slurm says COMPLETED but the task left no exit record in {}: is the sweep directory on storage the nodes share?",
                super::dir::SweepDir::at(sweep_dir).trial_logs().display()
            )),
        ),
        (_, None) => (
            TrialStatus::Failed,
            Some(format!("the task ended without an exit record (see {log}); is the sweep directory on storage the nodes share?")),
        ),
    };
    let wall = crate::runs::RunInfo::read(&crate::runs::RunDir::at(&entry.run_dir)).ok().and_then(|i| i.wall_secs).unwrap_or(0.0);
    TrialResult {
        job_id: Some(format!("{job}_{}", entry.id)),
        // Without a completion log, the state Slurm gave it, as far as the exit record tells.
        slurm_state: slurm_state.map(str::to_string).or_else(|| {
            Some(
                match status {
                    TrialStatus::Completed => "COMPLETED",
                    TrialStatus::Stopped | TrialStatus::Pruned => "CANCELLED",
                    TrialStatus::Failed => "FAILED",
                }
                .into(),
            )
        }),
        ..TrialResult::of_trial(spec, entry.id, &entry.run_dir, status, error, wall, vec![entry.seed])
    }
}

/// Submits the trials not yet completed (all, or when resuming those that
/// did not complete) as one array; returns the job id and the trials.
pub fn submit(exe: &Path, spec: &SweepSpec, sweep_dir: &Path, resume: bool) -> Result<(String, Vec<TrialEntry>), String> {
    std::fs::create_dir_all(super::dir::SweepDir::at(sweep_dir).trial_logs())
        .map_err(|e| format!("cannot create {}: {e}", sweep_dir.display()))?;
    let sweep_dir = &std::fs::canonicalize(sweep_dir).map_err(|e| format!("{}: {e}", sweep_dir.display()))?;
    let spec_text = serde_json::to_string_pretty(spec).map_err(|e| e.to_string())?;
    crate::runs::write_atomic(&super::dir::SweepDir::at(sweep_dir).spec_file(), spec_text.as_bytes()).map_err(|e| e.to_string())?;
    let previous: BTreeMap<usize, TrialResult> =
        if resume { load_results(sweep_dir).into_iter().map(|r| (r.id, r)).collect() } else { BTreeMap::new() };
    let mut entries = Vec::new();
    for (id, params) in spec.trials.iter().enumerate() {
        let earlier = previous.get(&id).filter(|p| p.params == *params);
        if earlier.is_some_and(|p| p.status == TrialStatus::Completed) {
            continue;
        }
        let resumable = super::launch::resumable(earlier, params);
        let name = trial_name(sweep_dir, id);
        let child = match &resumable {
            Some(d) => Child::Resume(d),
            None => Child::New { name: &name, params, seed: spec.base_seed, seeds: spec.settings.seeds },
        };
        let resume_if_started = matches!(child, Child::New { .. });
        let (args, run_dir, _) = trial_args(spec, sweep_dir, &child);
        let _ = std::fs::remove_file(exit_record(sweep_dir, id));
        entries.push(TrialEntry { id, args, seed: spec.base_seed, run_dir, resume_if_started });
    }
    if entries.is_empty() {
        return Err(format!("every trial of {} has completed: nothing to submit", sweep_dir.display()));
    }
    let table = serde_json::to_string_pretty(&entries).map_err(|e| e.to_string())?;
    crate::runs::write_atomic(&super::dir::SweepDir::at(sweep_dir).slurm_trials(), table.as_bytes()).map_err(|e| e.to_string())?;
    let s = &spec.settings.slurm;
    let command = match &s.exe {
        Some(e) => vec![e.display().to_string()],
        None => super::trial_command_argv(exe),
    };
    let name = sweep_dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let script = batch_script(&name, sweep_dir, &entries, &command, s, spec.settings.seeds);
    let script_path = super::dir::SweepDir::at(sweep_dir).slurm_script();
    std::fs::write(&script_path, script).map_err(|e| format!("writing {}: {e}", script_path.display()))?;
    let ids: Vec<String> = entries.iter().map(|e| e.id.to_string()).collect();
    let array = format!("{}%{}", ids.join(","), spec.settings.workers.max(1));
    let out = slurm_cmd("sbatch", &["--parsable".into(), format!("--array={array}"), script_path.display().to_string()])?;
    let job_id = out.trim().split(';').next().unwrap_or("").to_string();
    if job_id.is_empty() || !job_id.chars().all(|c| c.is_ascii_digit()) {
        return Err(format!("sbatch printed no job id: '{}'", out.trim()));
    }
    let mut jobs = Jobs::read(sweep_dir);
    jobs.jobs.push(Job { job_id: job_id.clone(), trials: entries.iter().map(|e| e.id).collect(), cancelled: false });
    jobs.write(sweep_dir)?;
    Ok((job_id, entries))
}

/// Cancels every array job of the sweep (`scancel`): running trials stop gracefully, queued ones never start.
pub fn cancel(sweep_dir: &Path) -> Result<Vec<String>, String> {
    let jobs = Jobs::read(sweep_dir);
    if jobs.jobs.is_empty() {
        return Err(format!("{} has no Slurm jobs (slurm.json): was it run with sweep.launcher=slurm?", sweep_dir.display()));
    }
    let ids: Vec<String> = jobs.jobs.iter().map(|j| j.job_id.clone()).collect();
    slurm_cmd("scancel", &ids)?;
    let mut jobs = jobs;
    for j in &mut jobs.jobs {
        j.cancelled = true;
    }
    jobs.write(sweep_dir)?;
    Ok(ids)
}

/// One look at a submitted sweep: each trial's state (queued/running from
/// squeue, the others as they ended); finished ones are written to sweep.csv.
pub fn poll(spec: &SweepSpec, sweep_dir: &Path, pruned: &[usize]) -> Result<(Vec<TrialResult>, BTreeMap<usize, TrialState>), String> {
    let jobs = Jobs::read(sweep_dir);
    let entries: Vec<TrialEntry> = std::fs::read_to_string(super::dir::SweepDir::at(sweep_dir).slurm_trials())
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default();
    let previous: BTreeMap<usize, TrialResult> = load_results(sweep_dir).into_iter().map(|r| (r.id, r)).collect();
    // Each poll asks squeue once per job; the completion log is found and read
    // only for trials that left the queue since the last poll (the others' results are kept).
    let mut log: Option<Option<PathBuf>> = None;
    let mut queue: BTreeMap<String, BTreeMap<usize, String>> = BTreeMap::new();
    let mut ended: BTreeMap<String, BTreeMap<usize, String>> = BTreeMap::new();
    let mut results = Vec::new();
    let mut live = BTreeMap::new();
    for id in 0..spec.trials.len() {
        let Some(entry) = entries.iter().find(|e| e.id == id) else {
            // Not in the latest submission: kept from before (completed when resumed).
            results.extend(previous.get(&id).cloned());
            continue;
        };
        let Some(job) = jobs.job_of(id) else { continue };
        if !queue.contains_key(job) {
            queue.insert(job.to_string(), queued(job)?);
        }
        match queue[job].get(&id) {
            Some(state) => {
                live.insert(id, map_state(state));
            }
            // Kept as found before, unless it looked failed for want of an exit record
            // (shared storage can show a file late): that one is looked at again.
            None => match previous.get(&id).filter(|r| {
                r.job_id.as_deref() == Some(format!("{job}_{id}").as_str())
                    && (r.status != TrialStatus::Failed || exit_record(sweep_dir, id).exists())
            }) {
                Some(known) => results.push(known.clone()),
                None => {
                    let log = log.get_or_insert_with(jobcomp_log);
                    let states = ended.entry(job.to_string()).or_insert_with(|| completed_states(log.as_deref(), job));
                    results.push(finished(
                        spec,
                        sweep_dir,
                        entry,
                        job,
                        states.get(&id).map(String::as_str),
                        pruned.contains(&id),
                        jobs.cancelled(job),
                    ));
                }
            },
        }
    }
    results.sort_by_key(|r| r.id);
    save_results(sweep_dir, spec, &results).map_err(|e| format!("writing sweep.csv in {}: {e}", sweep_dir.display()))?;
    Ok((results, live))
}

/// Submits the sweep and follows it to the end (unless `no_wait`): progress
/// through `on_trial` as trials end, the median pruner through stop files, and
/// `scancel` on `stop` (Ctrl-C). Returns the job id and the results.
pub fn run(
    exe: &Path,
    spec: &SweepSpec,
    sweep_dir: &Path,
    resume: bool,
    no_wait: bool,
    stop: &AtomicBool,
    on_event: &mut dyn FnMut(&str),
    on_trial: &mut dyn FnMut(&TrialResult),
) -> Result<(String, Vec<TrialResult>), String> {
    let (job_id, entries) = submit(exe, spec, sweep_dir, resume)?;
    on_event(&format!(
        "submitted Slurm job array {job_id} ({} trials, {} at a time): {}",
        entries.len(),
        spec.settings.workers,
        super::dir::SweepDir::at(sweep_dir).slurm_script().display()
    ));
    if no_wait {
        return Ok((job_id, Vec::new()));
    }
    let mut cancelled = false;
    let mut pruned: Vec<usize> = Vec::new();
    let mut reported: BTreeMap<usize, String> = BTreeMap::new();
    let mut last_poll = Instant::now() - Duration::from_secs(10);
    loop {
        if stop.load(Ordering::SeqCst) && !cancelled {
            cancelled = true;
            match cancel(sweep_dir) {
                Ok(ids) => on_event(&format!("scancel {}: running trials stop gracefully, queued ones will not start", ids.join(" "))),
                Err(e) => on_event(&format!("warning: {e}")),
            }
        }
        if last_poll.elapsed() < Duration::from_millis(700) {
            std::thread::sleep(Duration::from_millis(100));
            continue;
        }
        last_poll = Instant::now();
        let (results, live) = poll(spec, sweep_dir, &pruned)?;
        for (id, state) in &live {
            let text = format!("{state:?}").to_lowercase();
            if reported.get(id) != Some(&text) {
                on_event(&format!("trial {id}: {text} (job {job_id}_{id})"));
                reported.insert(*id, text);
            }
        }
        for r in &results {
            let text = format!("{:?}", r.status).to_lowercase();
            if reported.get(&r.id) != Some(&text) && entries.iter().any(|e| e.id == r.id) {
                let obj = r.objective_mean.map(|o| format!(" objective {o:.2}")).unwrap_or_default();
                on_event(&format!(
                    "trial {} {text}{obj} (Slurm {}){}",
                    r.id,
                    r.slurm_state.as_deref().unwrap_or("?"),
                    r.error.as_ref().map(|e| format!(": {e}")).unwrap_or_default()
                ));
                reported.insert(r.id, text);
                on_trial(r);
            }
        }
        if spec.settings.pruner {
            let done: Vec<Vec<(u64, f64)>> = results
                .iter()
                .filter(|r| r.status == TrialStatus::Completed)
                .flat_map(|r| r.run_dirs.iter().map(|d| super::evals(d)))
                .collect();
            for id in live.iter().filter(|(_, s)| **s == TrialState::Running).map(|(id, _)| *id) {
                let Some(e) = entries.iter().find(|e| e.id == id) else { continue };
                if pruned.contains(&id) {
                    continue;
                }
                if super::launch::prune_if_below_median(&e.run_dir, &done) {
                    pruned.push(id);
                }
            }
        }
        if live.is_empty() {
            return Ok((job_id, results));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slurm_states_map_to_ours() {
        assert_eq!(map_state("PENDING"), TrialState::Queued);
        assert_eq!(map_state("RUNNING"), TrialState::Running);
        assert_eq!(map_state("COMPLETED"), TrialState::Completed);
        for s in ["FAILED", "NODE_FAIL", "OUT_OF_MEMORY"] {
            assert!(matches!(map_state(s), TrialState::Failed(_)), "{s}");
        }
        for s in ["TIMEOUT", "CANCELLED", "CANCELLED by 0", "PREEMPTED"] {
            assert!(matches!(map_state(s), TrialState::Stopped(_)), "{s}");
        }
        assert!(matches!(map_state("OUT_OF_MEMORY"), TrialState::Failed(m) if m.contains("mem_gb")));
    }

    #[test]
    fn batch_script_selects_trials_by_task_id_and_records_exit_codes() {
        let entries = vec![
            TrialEntry {
                id: 0,
                args: vec!["run".into(), "algorithm.params.learning_rate=1e-3".into()],
                seed: 0,
                run_dir: "/s/trial_0".into(),
                resume_if_started: false,
            },
            TrialEntry {
                id: 3,
                args: vec!["run".into(), "--resume".into(), "/s/it's here".into()],
                seed: 0,
                run_dir: "/s/trial_3".into(),
                resume_if_started: false,
            },
            TrialEntry { id: 4, args: vec!["run".into(), "x=1".into()], seed: 0, run_dir: "/s/trial_4".into(), resume_if_started: true },
        ];
        let mut s = SlurmSettings::default();
        for (k, v) in [
            ("partition", "gpu"),
            ("time", "1:00:00"),
            ("mem_gb", "2.5"),
            ("gpus_per_task", "1"),
            ("account", "lab"),
            ("qos", "high"),
            ("extra", "--constraint=a100"),
            ("setup", "module load cuda"),
        ] {
            s.set(k, v).unwrap();
        }
        assert!(s.set("partitions", "x").unwrap_err().contains("valid keys"));
        assert!(s.set("mem_gb", "-1").is_err());
        let script = batch_script("lr sweep", Path::new("/s"), &entries, &["/opt/rl-research".into()], &s, 2);
        for line in [
            "#SBATCH --job-name=rl-lr_sweep",
            "#SBATCH --output=/s/trial_logs/slurm_%A_%a.log",
            "#SBATCH --cpus-per-task=2",
            "#SBATCH --partition=gpu",
            "#SBATCH --time=1:00:00",
            "#SBATCH --mem=2560M",
            "#SBATCH --gpus-per-task=1",
            "#SBATCH --account=lab",
            "#SBATCH --qos=high",
            "#SBATCH --constraint=a100",
            "module load cuda",
            "    0) args=('run' 'algorithm.params.learning_rate=1e-3') ;;",
            "    3) args=('run' '--resume' '/s/it'\\''s here') ;;",
            "    4) if [ -f '/s/trial_4'/logs/run_info.json ] || [ -f '/s/trial_4'/group.json ]; then args=('run' '--resume' '/s/trial_4'); else args=('run' 'x=1'); fi ;;",
            "'/opt/rl-research' \"${args[@]}\" &",
            "echo \"$code\" > '/s/trial_logs'/trial_\"$SLURM_ARRAY_TASK_ID\".exit",
        ] {
            assert!(script.lines().any(|l| l == line), "missing line {line:?} in\n{script}");
        }
        // The #SBATCH lines come before the first command (sbatch ignores them after it).
        let first_cmd = script.lines().position(|l| l == "set -u").unwrap();
        assert!(script.lines().skip(first_cmd).all(|l| !l.starts_with("#SBATCH")));
    }

    #[test]
    fn completion_log_lines_give_each_tasks_state() {
        let dir = std::env::temp_dir().join(format!("rl-research-jobcomp-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let log = dir.join("jobcomp.log");
        std::fs::write(&log, "JobId=2 UserId=root(0) Name=t JobState=COMPLETED Partition=debug ArrayJobId=1 ArrayTaskId=0 ExitCode=0:0\nJobId=4 JobState=TIMEOUT ArrayJobId=1 ArrayTaskId=2 ExitCode=0:15\nJobId=9 JobState=FAILED ArrayJobId=8 ArrayTaskId=0\n").unwrap();
        let s = completed_states(Some(&log), "1");
        assert_eq!(s.get(&0).map(String::as_str), Some("COMPLETED"));
        assert_eq!(s.get(&2).map(String::as_str), Some("TIMEOUT"));
        assert_eq!(s.len(), 2);
        assert_eq!(task_ids("[1-3,7%2]"), vec![1, 2, 3, 7]);
        assert_eq!(task_ids("5"), vec![5]);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
