//! Seed groups end to end (real short runs through the CLI) and the
//! statistics against the real `rliable` package.

use rl_research::runs::RunStatus;
use rl_research::runs::group::{GroupDir, GroupInfo, GroupStatus};
use rl_research::runs::logger::read_metrics;
use rl_research::stats::{self, Bootstrap, ScoreMatrix};
use std::path::Path;
use std::process::Command;

fn exe() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_rl-research"))
}

fn small(dir: &Path, extra: &[&str]) -> Vec<String> {
    let mut a: Vec<String> = [
        "run",
        "experiment.total_timesteps=2048",
        "experiment.eval_freq=1024",
        "experiment.n_eval_episodes=2",
        "experiment.video_episodes=0",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    a.push(format!("experiment.runs_dir={}", dir.display()));
    a.extend(extra.iter().map(|s| s.to_string()));
    a
}

fn evals(run: &Path) -> Vec<(u64, f64)> {
    read_metrics(&run.join("logs/metrics.csv"))
        .unwrap()
        .into_iter()
        .filter(|r| r.metric == "eval/mean_reward")
        .map(|r| (r.timesteps, r.value))
        .collect()
}

#[test]
fn a_three_seed_group_runs_aggregates_and_prints_its_table() {
    let dir = crate::temp_dir("groups");
    let out = Command::new(exe()).args(small(&dir, &["experiment.n_seeds=3", "experiment.seed=4", "experiment.name=g"])).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let g = dir.join("g");
    for seed in [4, 5, 6] {
        let run = g.join(format!("seed_{seed}"));
        for f in ["models/best_model.zip", "configs/config.yaml", "logs/metrics.csv", "logs/run_info.json"] {
            assert!(run.join(f).is_file(), "{}/{f}", run.display());
        }
        let info = rl_research::runs::RunInfo::read(&rl_research::RunDir::at(&run)).unwrap();
        assert_eq!((info.seed, info.status), (seed, RunStatus::Completed));
        // Each seed's config reproduces it alone.
        let c = rl_research::Config::load(&run.join("configs/config.yaml")).unwrap();
        assert_eq!((c.experiment.seed, c.experiment.n_seeds, c.experiment.seeds.clone()), (seed, None, None));
    }
    let info = GroupInfo::read(&GroupDir::at(&g)).unwrap();
    assert_eq!((info.seeds.clone(), info.status), (vec![4, 5, 6], GroupStatus::Completed));
    let finals: Vec<f64> = [4, 5, 6].iter().map(|s| evals(&g.join(format!("seed_{s}"))).last().unwrap().1).collect();
    let f = info.final_score.clone().expect("final-score statistics");
    assert_eq!(f.n_seeds, 3);
    assert_eq!(f.scores, finals);
    assert!((f.iqm.value - stats::iqm(&finals)).abs() < 1e-12 && f.iqm.low <= f.iqm.value && f.iqm.value <= f.iqm.high);
    assert_eq!(f.reference_score, Some(500.0));

    // aggregate.csv: every evaluation step over the 3 seeds, the training curve on its grid, the final score.
    let csv = std::fs::read_to_string(g.join("aggregate.csv")).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "metric,timesteps,n_seeds,mean,mean_ci_low,mean_ci_high,median,iqm,iqm_ci_low,iqm_ci_high,std,min,max");
    let at_1024: Vec<f64> = [4, 5, 6].iter().map(|s| evals(&g.join(format!("seed_{s}")))[0].1).collect();
    let row = lines.iter().find(|l| l.starts_with("eval/mean_reward,1024,")).expect("eval row at 1024");
    let cells: Vec<&str> = row.split(',').collect();
    assert_eq!(cells[2], "3");
    assert!((cells[3].parse::<f64>().unwrap() - stats::mean(&at_1024)).abs() < 1e-9, "{row}");
    assert!(lines.iter().any(|l| l.starts_with("rollout/ep_rew_mean,")));
    assert!(lines.last().unwrap().starts_with("final_score,2048,3,"), "{}", lines.last().unwrap());

    // The table the run ends with.
    assert!(stdout.contains("seed group") && stdout.contains("completed, 3 of 3 seeds"), "{stdout}");
    assert!(stdout.contains("IQM [95% CI]") && stdout.contains("final eval/mean_reward (IQM)"), "{stdout}");
    assert!(stdout.contains(&format!("{:.2} [{:.2}, {:.2}]", f.iqm.value, f.iqm.low, f.iqm.high)), "{stdout}");

    // Seed 5 in the group is seed 5 alone (the group only decides where and when seeds run).
    let alone = Command::new(exe()).args(small(&dir, &["experiment.seed=5", "experiment.name=alone"])).output().unwrap();
    assert!(alone.status.success());
    assert_eq!(evals(&g.join("seed_5")), evals(&dir.join("alone")), "seed 5 trained in a group differs from seed 5 alone");

    // A failing seed: the group is partial and its statistics say how many seeds they cover.
    let out = Command::new(exe())
        .args(small(&dir, &["experiment.seeds=[4,5,6]", "experiment.name=p"]))
        .env("RL_RESEARCH_FAULT_SEEDS", "5")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    let p = GroupInfo::read(&GroupDir::at(dir.join("p"))).unwrap();
    assert_eq!(p.status, GroupStatus::Partial);
    assert_eq!(p.final_score.as_ref().map(|f| f.n_seeds), Some(2));
    assert_eq!(p.seed_runs[1].status, RunStatus::Failed);
    assert!(p.seed_runs[1].error.as_deref().is_some_and(|e| e.contains("injected failure")), "{:?}", p.seed_runs[1]);
    assert!(stdout.contains("partial: the statistics cover the 2 completed seed(s) of 3"), "{stdout}");
    assert!(stdout.contains("seed 5: failed"), "{stdout}");

    // A foreign directory inside a group is reported, ignored and left alone.
    std::fs::create_dir_all(g.join("notes")).unwrap();
    std::fs::write(g.join("notes/keep.txt"), "mine").unwrap();
    let out = Command::new(exe())
        .args(["compare", g.to_str().unwrap(), dir.join("p").to_str().unwrap(), dir.join("alone").to_str().unwrap(), "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let targets = j["targets"].as_array().unwrap();
    assert_eq!(targets.len(), 3);
    assert_eq!(targets[0]["final_score"]["n_seeds"], 3);
    assert_eq!(targets[1]["status"], "partial");
    assert!(targets[0]["notes"].to_string().contains("not part of the group, ignored: notes"), "{}", targets[0]["notes"]);
    assert_eq!(std::fs::read_to_string(g.join("notes/keep.txt")).unwrap(), "mine");
    let pairs = j["probability_of_improvement"].as_array().unwrap();
    assert_eq!(pairs.len(), 3);
    let expect = stats::prob_greater(&finals, &p.final_score.as_ref().unwrap().scores);
    assert!((pairs[0]["value"].as_f64().unwrap() - expect).abs() < 1e-12);
    // Same config besides seeds: the diff lists only the seed keys.
    let keys: Vec<&str> = j["config_diff"].as_array().unwrap().iter().map(|d| d["key"].as_str().unwrap()).collect();
    assert!(keys.iter().all(|k| k.starts_with("experiment.seed") || *k == "experiment.n_seeds"), "{keys:?}");
    let text = Command::new(exe()).args(["compare", g.to_str().unwrap(), dir.join("p").to_str().unwrap()]).output().unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("P(g > p) = ") && text.contains("final IQM [95% CI]"), "{text}");
    let bad = Command::new(exe()).args(["compare", dir.join("missing").to_str().unwrap()]).output().unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("does not exist"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_seed_lists_are_refused_by_name_and_nothing_is_created() {
    let dir = crate::temp_dir("groups-bad");
    for (arg, expect) in [
        ("experiment.seeds=[1,2,1]", "experiment.seeds lists seed 1 more than once"),
        ("experiment.seeds=[]", "experiment.seeds: the list is empty"),
        ("experiment.n_seeds=0", "experiment.n_seeds: must be between 1 and 1000, got 0"),
        ("experiment.seeds=[a]", "experiment.seeds"),
        ("stats.bootstrap_reps=0", "stats.bootstrap_reps"),
        ("stats.confidence=1.5", "stats.confidence"),
    ] {
        let out = Command::new(exe()).args(small(&dir, &[arg])).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{arg}: {err}");
        assert!(err.contains(expect), "{arg}: {err}");
    }
    let both = Command::new(exe()).args(small(&dir, &["experiment.seeds=[1,2]", "experiment.n_seeds=2"])).output().unwrap();
    assert!(String::from_utf8_lossy(&both.stderr).contains("both set"));
    assert_eq!(std::fs::read_dir(&dir).map(|d| d.count()).unwrap_or(0), 0, "a refused group created something");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A small deterministic score generator for the rliable comparison.
fn scores(runs: usize, tasks: usize, seed: u64, scale: f64) -> Vec<Vec<f64>> {
    let mut rng = rl_research::rng::Rng::seed_from_u64(seed);
    (0..runs).map(|_| (0..tasks).map(|t| scale * (rng.next_f64() + 0.3 * t as f64)).collect()).collect()
}

#[test]
fn statistics_match_rliable() {
    let matrices = [
        ("group", vec![vec![480.0], vec![500.0], vec![350.0], vec![500.0], vec![420.0]]),
        ("multi", scores(10, 3, 1, 1.0)),
        ("x", scores(6, 1, 2, 400.0)),
        ("y", scores(5, 1, 3, 380.0)),
    ];
    // Reference scores near each matrix's range, so the gap is not trivially 0.
    let gammas = [("group", 500.0), ("multi", 1.0), ("x", 300.0), ("y", 300.0)];
    let reps = 2000;
    let spec = serde_json::json!({
        "gammas": gammas.iter().map(|(n, g)| (n.to_string(), serde_json::json!(g))).collect::<serde_json::Map<_, _>>(),
        "reps": reps,
        "matrices": matrices.iter().map(|(n, m)| (n.to_string(), serde_json::json!(m))).collect::<serde_json::Map<_, _>>(),
        "pairs": [["x", "y"], ["group", "x"]],
    });
    let dir = crate::temp_dir("rliable");
    let file = dir.join("scores.json");
    std::fs::write(&file, spec.to_string()).unwrap();
    let Some(out) = crate::tracking::python_checker_in("tests/stats", "rliable_check.py", &file, "rliable") else { return };
    let r: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let b = Bootstrap { reps, confidence: 0.95, seed: 0 };
    // Our interval bound must fall where rliable's bootstrap puts it up to Monte-Carlo noise: the
    // 2.5% (97.5%) quantile of 2000 replicates has a standard error of about 0.35 percentile
    // points, so our bound must lie between rliable's replicate quantiles 0.5%-4.5% (95.5%-99.5%),
    // i.e. more than 5 standard errors either side of rliable's own bound.
    let check_ci = |what: &str, ci: (f64, f64), q: &serde_json::Value| {
        let qv = |k: &str| q[k].as_f64().unwrap();
        let eps = 1e-9;
        assert!(
            qv("0.5") - eps <= ci.0 && ci.0 <= qv("4.5") + eps,
            "{what}: our low {} outside rliable's [{}, {}]",
            ci.0,
            qv("0.5"),
            qv("4.5")
        );
        assert!(
            qv("95.5") - eps <= ci.1 && ci.1 <= qv("99.5") + eps,
            "{what}: our high {} outside rliable's [{}, {}]",
            ci.1,
            qv("95.5"),
            qv("99.5")
        );
    };
    for (name, rows) in &matrices {
        let m = ScoreMatrix::from_rows(rows).unwrap();
        let gamma = gammas.iter().find(|(n, _)| n == name).unwrap().1;
        let theirs = &r["matrices"][name];
        let ours: [(&str, Box<dyn Fn(&ScoreMatrix) -> f64>); 4] = [
            ("mean", Box::new(stats::aggregate_mean)),
            ("median", Box::new(stats::aggregate_median)),
            ("iqm", Box::new(stats::aggregate_iqm)),
            ("optimality_gap", Box::new(move |m: &ScoreMatrix| stats::aggregate_optimality_gap(m, gamma))),
        ];
        for (key, f) in ours {
            let point = theirs[key]["point"].as_f64().unwrap();
            assert!((f(&m) - point).abs() <= 1e-9, "{name} {key}: ours {} rliable {point}", f(&m));
            let ci = stats::stratified_bootstrap_ci(&m, &*f, b);
            eprintln!("{name} {key}: ours {:.4} [{:.4}, {:.4}], rliable {point:.4} {}", ci.value, ci.low, ci.high, theirs[key]["ci"]);
            check_ci(&format!("{name} {key}"), (ci.low, ci.high), &theirs[key]["quantiles"]);
        }
    }
    for pair in r["pairs"].as_array().unwrap() {
        let get = |k: &str| ScoreMatrix::from_rows(&matrices.iter().find(|(n, _)| *n == pair[k].as_str().unwrap()).unwrap().1).unwrap();
        let (x, y) = (get("x"), get("y"));
        let point = pair["point"].as_f64().unwrap();
        assert!((stats::probability_of_improvement(&x, &y) - point).abs() <= 1e-9, "P(x > y): {point}");
        let ci = stats::independent_bootstrap_ci(&x, &y, &stats::probability_of_improvement, b);
        check_ci("probability of improvement", (ci.low, ci.high), &pair["quantiles"]);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_stopped_group_resumes_its_unfinished_seeds() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let dir = crate::temp_dir("groups-resume");
    let config = crate::resume::small_config(
        "cartpole_ppo",
        &dir,
        &["experiment.name=g", "experiment.n_seeds=3", "experiment.total_timesteps=40000"],
    );
    let stop = std::sync::Arc::new(AtomicBool::new(false));
    let watcher = {
        let (stop, seed0) = (stop.clone(), dir.join("g/seed_0"));
        std::thread::spawn(move || {
            while rl_research::RunDir::at(&seed0).checkpoints().is_empty() {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            stop.store(true, Ordering::SeqCst);
        })
    };
    let options = rl_research::RunOptions { stop, ..Default::default() };
    let first = rl_research::runner::group::run_group(&config, options).unwrap();
    watcher.join().unwrap();
    assert_eq!(first.info.status, GroupStatus::Stopped, "{:?}", first.info.seed_runs);
    let out = Command::new(exe()).args(["run", "--resume", dir.join("g").to_str().unwrap()]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let info = GroupInfo::read(&GroupDir::at(dir.join("g"))).unwrap();
    assert_eq!(info.status, GroupStatus::Completed);
    assert_eq!(info.final_score.map(|f| f.n_seeds), Some(3));
    // Seeds that had started continued in place; none was run twice.
    let names: Vec<String> =
        std::fs::read_dir(dir.join("g")).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert!(!names.iter().any(|n| n.matches('_').count() > 1), "{names:?}");
    let s0 = rl_research::runs::RunInfo::read(&rl_research::RunDir::at(dir.join("g/seed_0"))).unwrap();
    assert_eq!((s0.resumed.len(), s0.timesteps_done >= 40000), (1, true));
    let _ = std::fs::remove_dir_all(&dir);
}
