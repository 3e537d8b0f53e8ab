//! Seed groups on the command line: the statistics table a group run ends
//! with, and `rl-research compare RUN_A RUN_B ...`.

use crate::runner::group::GroupSummary;
use crate::runs::compare::{Comparison, compare};
use crate::runs::group::GroupStatus;
use crate::stats::Interval;
use std::fmt::Write;
use std::path::PathBuf;

fn ci(i: &Interval) -> String {
    format!("{:.2} [{:.2}, {:.2}]", i.value, i.low, i.high)
}

/// The table printed at the end of a group run: per metric IQM [CI], mean ± std, seeds.
pub fn group_table(s: &GroupSummary) -> String {
    let info = &s.info;
    let cfg = &info.config.stats;
    let mut out = String::new();
    let completed = info.seed_runs.iter().filter(|e| e.status == crate::runs::RunStatus::Completed).count();
    let _ = writeln!(
        out,
        "seed group {}: {}, {completed} of {} seeds completed ({})",
        s.group.root.display(),
        info.status.label(),
        info.seeds.len(),
        info.seeds.iter().map(|s| s.to_string()).collect::<Vec<_>>().join(", ")
    );
    for e in info.seed_runs.iter().filter(|e| e.status != crate::runs::RunStatus::Completed) {
        let _ = writeln!(out, "  seed {}: {}{}", e.seed, e.status.as_str(), e.error.as_ref().map(|m| format!(": {m}")).unwrap_or_default());
    }
    let _ = writeln!(out, "{:<34} {:<28} {:<20} {}", "metric", format!("IQM [{:.0}% CI]", cfg.confidence * 100.0), "mean ± std", "seeds");
    if let Some(f) = &info.final_score {
        let _ = writeln!(
            out,
            "{:<34} {:<28} {:<20} {}",
            "final eval/mean_reward (IQM)",
            ci(&f.iqm),
            format!("{:.2} ± {:.2}", f.mean.value, f.std),
            f.n_seeds
        );
    } else {
        let _ = writeln!(out, "{:<34} {:<28} {:<20} 0", "final eval/mean_reward (IQM)", "-", "-");
    }
    for (metric, points) in &s.aggregate.curves {
        if let Some(p) = points.last() {
            let label = format!("{metric} @ {}", p.timesteps);
            let _ = writeln!(
                out,
                "{:<34} {:<28} {:<20} {}",
                label,
                format!("{:.2} [{:.2}, {:.2}]", p.iqm, p.iqm_ci.0, p.iqm_ci.1),
                format!("{:.2} ± {:.2}", p.mean, p.std),
                p.n_seeds
            );
        }
    }
    if let Some(f) = &info.final_score {
        if let (Some(g), Some(r)) = (&f.optimality_gap, f.reference_score) {
            let _ = writeln!(out, "{:<34} {:<28}", format!("optimality gap (vs {r})"), ci(g));
        }
        let _ = writeln!(out, "median of final scores {}; {} bootstrap resamples over seeds", ci(&f.median), cfg.bootstrap_reps);
    }
    if info.status == GroupStatus::Partial {
        let n = info.final_score.as_ref().map(|f| f.n_seeds).unwrap_or(0);
        let _ = writeln!(out, "partial: the statistics cover the {n} completed seed(s) of {}", info.seeds.len());
    }
    for f in &s.foreign {
        let _ = writeln!(out, "note: {} is not part of the group: left as it is and out of the statistics", f.display());
    }
    let _ = writeln!(out, "statistics: {}  ({})", s.group.aggregate_csv().display(), s.group.group_json().display());
    out
}

/// `compare`'s table.
pub fn comparison_table(c: &Comparison) -> String {
    let mut out = String::new();
    let w = c.targets.iter().map(|t| t.label.len()).max().unwrap_or(8).clamp(12, 40);
    let row = |out: &mut String, name: &str, cells: Vec<String>| {
        let _ = write!(out, "{name:<24}");
        for cell in cells {
            let _ = write!(out, " {cell:<w$}", w = w.max(28));
        }
        out.push('\n');
    };
    row(&mut out, "", c.targets.iter().map(|t| t.label.clone()).collect());
    row(&mut out, "algorithm / env", c.targets.iter().map(|t| format!("{} {}", t.algorithm, t.env_id)).collect());
    row(&mut out, "status", c.targets.iter().map(|t| t.status.clone()).collect());
    row(&mut out, "seeds (with a score)", c.targets.iter().map(|t| format!("{} ({})", t.n_seeds, t.scores.len())).collect());
    let stat = |f: &dyn Fn(&crate::stats::FinalScores) -> Option<String>| -> Vec<String> {
        c.targets.iter().map(|t| t.final_score.as_ref().and_then(f).unwrap_or_else(|| "-".into())).collect()
    };
    row(&mut out, "final IQM [95% CI]", stat(&|f| Some(ci(&f.iqm))));
    row(&mut out, "final mean ± std", stat(&|f| Some(format!("{:.2} ± {:.2}", f.mean.value, f.std))));
    row(&mut out, "final median", stat(&|f| Some(ci(&f.median))));
    row(&mut out, "optimality gap", stat(&|f| f.optimality_gap.as_ref().map(ci)));
    for i in &c.improvements {
        let _ = writeln!(out, "P({} > {}) = {}", c.targets[i.a].label, c.targets[i.b].label, ci(&i.probability));
    }
    for t in &c.targets {
        for n in &t.notes {
            let _ = writeln!(out, "note: {}: {n}", t.label);
        }
    }
    if c.config_diff.is_empty() {
        out.push_str("config: no differences (besides names and seeds of the runs)\n");
    } else {
        out.push_str("config differences:\n");
        for (key, values) in &c.config_diff {
            let _ = writeln!(out, "  {key:<40} {}", values.join("  |  "));
        }
    }
    out
}

/// `rl-research compare RUN_A RUN_B ... [--json]`.
pub fn cmd_compare(args: &[String]) -> i32 {
    let usage = "usage: rl-research compare RUN_OR_GROUP|tag:NAME ... [--runs-dir DIR] [--json]";
    let mut json = false;
    let mut runs_dir = PathBuf::from("runs");
    let mut items: Vec<&str> = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--json" => json = true,
            "--runs-dir" => match it.next() {
                Some(d) => runs_dir = PathBuf::from(d),
                None => {
                    eprintln!("error: --runs-dir needs a directory\n{usage}");
                    return 2;
                }
            },
            s if s.starts_with('-') => {
                eprintln!("error: unknown option '{s}'\n{usage}");
                return 2;
            }
            s => items.push(s),
        }
    }
    // tag:NAME stands for every run and seed group with that tag under the runs directory.
    let mut paths: Vec<PathBuf> = Vec::new();
    for item in items {
        match item.strip_prefix("tag:") {
            Some(tag) => match crate::runs::compare::tagged(&runs_dir, tag) {
                Ok(found) => paths.extend(found.into_iter().filter(|p| !paths.contains(p)).collect::<Vec<_>>()),
                Err(e) => {
                    eprintln!("error: {e}");
                    return 2;
                }
            },
            None => paths.push(PathBuf::from(item)),
        }
    }
    if paths.is_empty() {
        eprintln!("error: give at least one run directory or seed group (two or more to compare)\n{usage}");
        return 2;
    }
    let c = match compare(&paths) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    if json {
        let diff: Vec<serde_json::Value> = c.config_diff.iter().map(|(k, v)| serde_json::json!({"key": k, "values": v})).collect();
        let out = serde_json::json!({
            "targets": c.targets,
            "probability_of_improvement": c.improvements.iter().map(|i| serde_json::json!({
                "x": c.targets[i.a].label, "y": c.targets[i.b].label,
                "x_path": c.targets[i.a].path, "y_path": c.targets[i.b].path,
                "value": i.probability.value, "ci_low": i.probability.low, "ci_high": i.probability.high,
            })).collect::<Vec<_>>(),
            "config_diff": diff,
        });
        println!("{out}");
    } else {
        print!("{}", comparison_table(&c));
    }
    0
}
