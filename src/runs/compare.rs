//! Comparing runs and seed groups: final-score statistics side by side, the
//! probability of improvement of each pair, and the config keys that differ.
//! `rl-research compare` prints it; the GUI's Compare view draws it.

use super::group::{self, GroupDir, GroupInfo, GroupStatus, bootstrap_of};
use super::{RunDir, RunInfo, RunStatus};
use crate::config::Config;
use crate::stats::{Bootstrap, FinalScores, Interval, improvement};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// One side of a comparison: a seed group, or a single run (a group of one).
#[derive(Clone, Debug, Serialize)]
pub struct Target {
    pub path: PathBuf,
    /// The directory name.
    pub label: String,
    pub is_group: bool,
    pub algorithm: String,
    pub env_id: String,
    /// "completed", "partial", ...
    pub status: String,
    /// Seeds in the group (1 for a run).
    pub n_seeds: usize,
    /// Final scores of its completed seeds.
    pub scores: Vec<f64>,
    pub final_score: Option<FinalScores>,
    #[serde(skip)]
    pub config: Option<Config>,
    /// What the statistics leave out, e.g. "2 of 5 seeds failed".
    pub notes: Vec<String>,
}

/// Reads a seed group or a run directory as a comparison target.
pub fn load_target(path: &Path) -> Result<Target, String> {
    let label = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| path.display().to_string());
    if GroupDir::is_group(path) {
        let (info, seeds) = group::read_group(path).map_err(|e| e.to_string())?;
        let agg = group::aggregate(&info.config, &seeds);
        let scores: Vec<f64> = seeds.iter().filter_map(|s| s.final_score()).collect();
        let statuses: Vec<RunStatus> = seeds.iter().map(|s| s.status()).collect();
        let mut notes = Vec::new();
        if scores.len() < seeds.len() {
            notes.push(format!("statistics cover {} of {} seeds (the others did not complete)", scores.len(), seeds.len()));
        }
        let foreign = GroupDir::at(path).foreign_entries(&info);
        if !foreign.is_empty() {
            notes.push(format!(
                "not part of the group, ignored: {}",
                foreign
                    .iter()
                    .map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        return Ok(Target {
            path: path.to_path_buf(),
            label,
            is_group: true,
            algorithm: info.algorithm.clone(),
            env_id: info.env_id.clone(),
            status: GroupStatus::of(&statuses).label().into(),
            n_seeds: seeds.len(),
            scores,
            final_score: agg.final_score,
            config: Some(info.config),
            notes,
        });
    }
    let run = RunDir::at(path);
    let info = RunInfo::read(&run).map_err(|e| {
        if path.is_dir() {
            format!("{} is neither a seed group (no group.json) nor a run directory: {e}", path.display())
        } else if path.exists() {
            format!("{} is a file: compare takes run directories and seed groups (runs/<name>)", path.display())
        } else {
            format!("{} does not exist: give a run directory or a seed group (runs/<name>)", path.display())
        }
    })?;
    let config = Config::load(&run.config_yaml()).ok();
    // A completed run's final score: its last evaluation's mean reward.
    let scores: Vec<f64> =
        if info.status == RunStatus::Completed { super::logger::last_eval_mean_reward(&run).into_iter().collect() } else { Vec::new() };
    let reference = config.as_ref().and_then(|c| c.stats.reference_for(&c.env.id));
    let b = config.as_ref().map(bootstrap_of).unwrap_or_default();
    let mut notes = vec![
        "a single run: one seed, so its interval has no width; run it as a seed group (experiment.n_seeds=5) for honest intervals"
            .to_string(),
    ];
    if scores.is_empty() {
        let why = match info.status {
            RunStatus::Completed => match super::logger::read_metrics(&run.metrics_csv()) {
                Err(e) => format!("it completed, but {e}"),
                Ok(_) => format!(
                    "it completed, but {} has no eval/mean_reward row (evaluation off, or the file was edited)",
                    run.metrics_csv().display()
                ),
            },
            RunStatus::Interrupted => format!("its process is gone before it finished; {}", RunInfo::resume_hint(&run)),
            status => format!("it is {}", status.as_str()),
        };
        notes.push(format!("it has no final score: {why}"));
    }
    Ok(Target {
        path: path.to_path_buf(),
        label,
        is_group: false,
        algorithm: info.algorithm.clone(),
        env_id: info.env_id.clone(),
        status: info.status.as_str().into(),
        n_seeds: 1,
        final_score: FinalScores::of(&scores, reference, b),
        scores,
        config,
        notes,
    })
}

/// P(a > b) of targets `a` and `b` (indices into the comparison's targets).
#[derive(Clone, Debug, Serialize)]
pub struct Improvement {
    pub a: usize,
    pub b: usize,
    pub probability: Interval,
}

#[derive(Clone, Debug, Serialize)]
pub struct Comparison {
    pub targets: Vec<Target>,
    pub improvements: Vec<Improvement>,
    /// Config keys whose values differ, with each target's value (as JSON text; "-" where unset).
    pub config_diff: Vec<(String, Vec<String>)>,
}

/// Keys that always differ between runs and say nothing about them.
/// Not hyperparameters: where a run went and why it was started.
const NOT_COMPARED: &[&str] = &["experiment.name", "experiment.runs_dir", "experiment.notes"];

/// The config keys whose values differ between `configs` (a missing config counts as no values).
pub fn config_diff(configs: &[Option<&Config>]) -> Vec<(String, Vec<String>)> {
    crate::config::overrides::differing_keys(configs)
        .into_iter()
        .filter(|(k, _)| !NOT_COMPARED.contains(&k.as_str()))
        .map(|(k, values)| (k, values.into_iter().map(|v| v.unwrap_or_else(|| "-".into())).collect()))
        .collect()
}

/// Loads every target and compares each pair.
pub fn compare(paths: &[PathBuf]) -> Result<Comparison, String> {
    let targets: Vec<Target> = paths.iter().map(|p| load_target(p)).collect::<Result<_, _>>()?;
    let b: Bootstrap = targets.iter().find_map(|t| t.config.as_ref().map(bootstrap_of)).unwrap_or_default();
    let mut improvements = Vec::new();
    for a in 0..targets.len() {
        for c in a + 1..targets.len() {
            if !targets[a].scores.is_empty() && !targets[c].scores.is_empty() {
                improvements.push(Improvement { a, b: c, probability: improvement(&targets[a].scores, &targets[c].scores, b) });
            }
        }
    }
    let configs: Vec<Option<&Config>> = targets.iter().map(|t| t.config.as_ref()).collect();
    let config_diff = config_diff(&configs);
    Ok(Comparison { targets, improvements, config_diff })
}

/// Every run and seed group under `runs_dir` tagged `tag` (sweeps' trials
/// included, the trash folder not), in name order: what `tag:<name>` stands for.
/// A seed group counts once, as a group, when its config has the tag.
pub fn tagged(runs_dir: &Path, tag: &str) -> Result<Vec<PathBuf>, String> {
    crate::runs::notebook::check_tag(tag).map_err(|e| format!("tag:{tag}: {e}"))?;
    if !runs_dir.is_dir() {
        return Err(format!("tag:{tag}: the runs directory {} does not exist (give it with --runs-dir DIR)", runs_dir.display()));
    }
    let mut out = Vec::new();
    collect_tagged(runs_dir, tag, 0, &mut out);
    out.sort();
    if out.is_empty() {
        return Err(format!(
            "tag:{tag}: no run or seed group under {} has this tag (set with experiment.tags=[{tag}])",
            runs_dir.display()
        ));
    }
    Ok(out)
}

fn collect_tagged(dir: &Path, tag: &str, depth: usize, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for d in entries.flatten().map(|e| e.path()).filter(|p| p.is_dir()) {
        if depth == 0 && d.file_name().is_some_and(|n| n == "trash") {
            continue;
        }
        if GroupDir::is_group(&d) {
            if GroupInfo::read(&GroupDir::at(&d)).is_ok_and(|g| g.config.experiment.tags.iter().any(|t| t == tag)) {
                out.push(d);
            }
        } else if RunDir::at(&d).run_info().exists() {
            if RunInfo::read_as_written(&RunDir::at(&d)).is_ok_and(|i| i.tags.iter().any(|t| t == tag)) {
                out.push(d);
            }
        } else if depth == 0 {
            // A sweep (or any folder of runs): its trials.
            collect_tagged(&d, tag, 1, out);
        }
    }
}
