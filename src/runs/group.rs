//! A seed group: the same config trained once per seed.
//!
//! ```text
//! runs/<name>/group.json         config, seeds, status, final-score statistics
//! runs/<name>/aggregate.csv      per-step statistics over seeds + the final score
//! runs/<name>/seed_<k>/...       seed k's standard run directory
//! ```
//!
//! This module owns the layout and the statistics' inputs (read from each
//! seed's metrics.csv and run_info.json); how seeds are executed (threads,
//! processes, one batched computation) is the runner's business.

use super::logger::read_metrics;
use super::{RunDir, RunInfo, RunStatus, write_atomic};
use crate::config::Config;
use crate::stats::curves::{self, CurvePoint, SeedCurve};
use crate::stats::{Bootstrap, FinalScores};
use serde::{Deserialize, Serialize};
use std::io;
use std::path::{Path, PathBuf};

/// The metrics summarized step by step in aggregate.csv.
pub const CURVE_METRICS: &[&str] = &["eval/mean_reward", "rollout/ep_rew_mean"];
/// Points of the common grid training curves are put on.
pub const GRID_POINTS: u64 = 100;

/// Paths of one seed group.
#[derive(Clone, Debug, PartialEq)]
pub struct GroupDir {
    pub root: PathBuf,
}

impl GroupDir {
    pub fn at(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }
    pub fn name(&self) -> String {
        self.root.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
    }
    pub fn group_json(&self) -> PathBuf {
        self.root.join("group.json")
    }
    pub fn aggregate_csv(&self) -> PathBuf {
        self.root.join("aggregate.csv")
    }
    /// The directory name of seed `seed`: `seed_<seed>`.
    pub fn seed_name(seed: u64) -> String {
        format!("seed_{seed}")
    }
    pub fn seed_run(&self, seed: u64) -> RunDir {
        RunDir::at(self.root.join(Self::seed_name(seed)))
    }
    /// Whether `dir` holds a seed group (its group.json).
    pub fn is_group(dir: &Path) -> bool {
        dir.join("group.json").is_file()
    }
    /// Creates `runs_dir/name` (or `name_1`, ... if taken: nothing is overwritten).
    pub fn create_unique(runs_dir: &Path, name: &str) -> io::Result<Self> {
        super::create_unique_dir(runs_dir, name).map(Self::at)
    }

    /// Entries of the group directory that are not its files or its seeds'
    /// directories: left untouched and out of the statistics, but reported.
    pub fn foreign_entries(&self, info: &GroupInfo) -> Vec<PathBuf> {
        let Ok(entries) = std::fs::read_dir(&self.root) else { return Vec::new() };
        let mut out: Vec<PathBuf> = entries
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| {
                let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                let ours = matches!(name.as_str(), "group.json" | "aggregate.csv" | "group.json.tmp" | "aggregate.csv.tmp" | "trial_logs")
                    || info.seeds.iter().any(|s| Self::seed_name(*s) == name);
                !ours
            })
            .collect();
        out.sort();
        out
    }
}

/// How a group ended (or that it is still running).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GroupStatus {
    Running,
    /// Every seed completed.
    Completed,
    /// Some seeds failed, the others completed: statistics cover the completed ones.
    Partial,
    /// Every seed failed.
    Failed,
    /// Stopped (Ctrl-C, Stop): resumable with `run --resume`.
    Stopped,
}

impl GroupStatus {
    /// From the seeds' statuses.
    pub fn of(seeds: &[RunStatus]) -> Self {
        let count = |s: RunStatus| seeds.iter().filter(|x| **x == s).count();
        if count(RunStatus::Running) > 0 {
            GroupStatus::Running
        } else if count(RunStatus::Stopped) + count(RunStatus::Interrupted) > 0 {
            GroupStatus::Stopped
        } else if count(RunStatus::Failed) == seeds.len() {
            GroupStatus::Failed
        } else if count(RunStatus::Failed) > 0 {
            GroupStatus::Partial
        } else {
            GroupStatus::Completed
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            GroupStatus::Running => "running",
            GroupStatus::Completed => "completed",
            GroupStatus::Partial => "partial",
            GroupStatus::Failed => "failed",
            GroupStatus::Stopped => "stopped",
        }
    }
}

/// One seed's entry in group.json.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SeedEntry {
    pub seed: u64,
    /// The seed's run directory name (`seed_<k>`).
    pub dir: String,
    pub status: RunStatus,
    pub final_score: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// `group.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GroupInfo {
    /// Always "seed_group": tells a group from other directories.
    pub kind: String,
    pub name: String,
    pub algorithm: String,
    pub env_id: String,
    pub seeds: Vec<u64>,
    pub status: GroupStatus,
    /// The group's config (with its seeds); each seed's own config.yaml has one seed.
    pub config: Config,
    #[serde(default)]
    pub command_line: Option<String>,
    pub started_at_unix_secs: u64,
    pub finished_at_unix_secs: Option<u64>,
    pub wall_secs: Option<f64>,
    /// Seeds trained at the same time, one thread each; batched: batches of seeds trained at the same time.
    pub parallel: usize,
    /// Whether the seeds train as one batched computation (else one thread each).
    #[serde(default)]
    pub batched: bool,
    pub seed_runs: Vec<SeedEntry>,
    /// Statistics of the completed seeds' final scores.
    pub final_score: Option<FinalScores>,
}

impl GroupInfo {
    pub fn write(&self, group: &GroupDir) -> io::Result<()> {
        let text = serde_json::to_string_pretty(self).map_err(io::Error::other)?;
        super::write_status_file(&group.group_json(), text.as_bytes())
    }
    pub fn read(group: &GroupDir) -> io::Result<Self> {
        let path = group.group_json();
        let text = std::fs::read_to_string(&path).map_err(|e| io::Error::new(e.kind(), format!("cannot read {}: {e}", path.display())))?;
        let info: Self = serde_json::from_str(&text)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("{} is not a seed group's group.json: {e}", path.display())))?;
        if info.kind != "seed_group" {
            return Err(io::Error::new(io::ErrorKind::InvalidData, format!("{}: kind '{}' is not seed_group", path.display(), info.kind)));
        }
        Ok(info)
    }
}

/// What the group's seeds say now, read from their directories.
#[derive(Clone, Debug)]
pub struct SeedState {
    pub seed: u64,
    pub run: RunDir,
    /// `None` when the seed's run_info.json is missing or unreadable (not started, or damaged).
    pub info: Option<RunInfo>,
    /// `(timesteps, value)` per curve metric.
    pub curves: Vec<Vec<(u64, f64)>>,
}

impl SeedState {
    pub fn read(group: &GroupDir, seed: u64) -> Self {
        let run = group.seed_run(seed);
        let info = RunInfo::read(&run).ok();
        let rows = read_metrics(&run.metrics_csv()).unwrap_or_default();
        let curves =
            CURVE_METRICS.iter().map(|m| rows.iter().filter(|r| r.metric == *m).map(|r| (r.timesteps, r.value)).collect()).collect();
        Self { seed, run, info, curves }
    }
    pub fn status(&self) -> RunStatus {
        self.info.as_ref().map(|i| i.status).unwrap_or(RunStatus::Failed)
    }
    /// The mean reward of the last evaluation of a completed seed (the one at the end of training).
    pub fn final_score(&self) -> Option<f64> {
        (self.status() == RunStatus::Completed).then(|| self.curves[0].last().map(|(_, v)| *v)).flatten()
    }
}

/// The group's statistics: per-step curves and the final score.
#[derive(Clone, Debug)]
pub struct Aggregate {
    /// One curve per [`CURVE_METRICS`] entry.
    pub curves: Vec<(String, Vec<CurvePoint>)>,
    pub final_score: Option<FinalScores>,
}

/// The bootstrap settings of a config's `stats.*`.
pub fn bootstrap_of(config: &Config) -> Bootstrap {
    Bootstrap { reps: config.stats.bootstrap_reps, confidence: config.stats.confidence, seed: 0 }
}

/// Computes the statistics of `seeds` (all of them, finished or not: a running
/// seed's curve counts up to where it is; the final score only counts completed seeds).
pub fn aggregate(config: &Config, seeds: &[SeedState]) -> Aggregate {
    let b = bootstrap_of(config);
    let total = config.experiment.total_timesteps;
    let mut curves_out = Vec::new();
    for (i, metric) in CURVE_METRICS.iter().enumerate() {
        let per_seed: Vec<Vec<(u64, f64)>> = seeds.iter().map(|s| s.curves[i].clone()).collect();
        let points = if *metric == "eval/mean_reward" {
            curves::on_exact_steps(&per_seed, b)
        } else {
            let seed_curves: Vec<SeedCurve> = seeds
                .iter()
                .zip(per_seed)
                .map(|(s, values)| {
                    let done = s
                        .info
                        .as_ref()
                        .map(|i| if i.status == RunStatus::Completed { total.max(i.timesteps_done) } else { i.timesteps_done })
                        .unwrap_or(0);
                    SeedCurve { end: done.max(values.last().map(|(t, _)| *t).unwrap_or(0)), values }
                })
                .collect();
            curves::on_grid(&seed_curves, &curves::grid(total, GRID_POINTS), b)
        };
        curves_out.push((metric.to_string(), points));
    }
    let finals: Vec<f64> = seeds.iter().filter_map(|s| s.final_score()).collect();
    let final_score = FinalScores::of(&finals, config.stats.reference_for(&config.env.id), b);
    Aggregate { curves: curves_out, final_score }
}

/// aggregate.csv: one row per metric and step (wide, pandas-friendly), then the
/// final score as metric `final_score` at the last step.
pub fn write_aggregate_csv(group: &GroupDir, agg: &Aggregate, total_timesteps: u64) -> io::Result<()> {
    let mut csv = String::from("metric,timesteps,n_seeds,mean,mean_ci_low,mean_ci_high,median,iqm,iqm_ci_low,iqm_ci_high,std,min,max\n");
    for (metric, points) in &agg.curves {
        for p in points {
            csv.push_str(&format!(
                "{metric},{},{},{},{},{},{},{},{},{},{},{},{}\n",
                p.timesteps, p.n_seeds, p.mean, p.mean_ci.0, p.mean_ci.1, p.median, p.iqm, p.iqm_ci.0, p.iqm_ci.1, p.std, p.min, p.max
            ));
        }
    }
    if let Some(f) = &agg.final_score {
        csv.push_str(&format!(
            "final_score,{total_timesteps},{},{},{},{},{},{},{},{},{},{},{}\n",
            f.n_seeds, f.mean.value, f.mean.low, f.mean.high, f.median.value, f.iqm.value, f.iqm.low, f.iqm.high, f.std, f.min, f.max
        ));
    }
    write_atomic(&group.aggregate_csv(), csv.as_bytes())
}

/// Reads a seed group (its group.json and every listed seed's directory).
pub fn read_group(dir: &Path) -> io::Result<(GroupInfo, Vec<SeedState>)> {
    let group = GroupDir::at(dir);
    let info = GroupInfo::read(&group)?;
    let seeds = info.seeds.iter().map(|s| SeedState::read(&group, *s)).collect();
    Ok((info, seeds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_of_seeds() {
        use RunStatus::*;
        assert_eq!(GroupStatus::of(&[Completed, Completed]), GroupStatus::Completed);
        assert_eq!(GroupStatus::of(&[Completed, Failed]), GroupStatus::Partial);
        assert_eq!(GroupStatus::of(&[Failed, Failed]), GroupStatus::Failed);
        assert_eq!(GroupStatus::of(&[Completed, Stopped, Failed]), GroupStatus::Stopped);
        assert_eq!(GroupStatus::of(&[Running, Completed]), GroupStatus::Running);
    }
}
