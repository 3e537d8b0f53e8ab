//! Sweeps with real `rl-research run` child processes and tiny budgets.

use rl_research::sweep::{SweepSettings, SweepSpec, TrialStatus, run_sweep};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

fn exe() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_rl-research"))
}

fn base(dir: &Path) -> Vec<String> {
    ["experiment.total_timesteps=2048", "experiment.eval_freq=1024", "experiment.n_eval_episodes=2", "experiment.video_episodes=0"]
        .iter()
        .map(|s| s.to_string())
        .chain([format!("experiment.runs_dir={}", dir.display())])
        .collect()
}

#[test]
fn grid_runs_every_trial_survives_a_failure_and_resumes() {
    let dir = crate::temp_dir("sweep");
    let sweep_dir = dir.join("study");
    let kv = |k: &str, v: &str| (k.to_string(), v.to_string());
    let spec = SweepSpec {
        kind: "grid".into(),
        command_line: "test".into(),
        base_args: base(&dir),
        trials: vec![
            vec![kv("algorithm.params.learning_rate", "1e-3"), kv("algorithm.params.n_epochs", "2")],
            vec![kv("algorithm.params.learning_rate", "3e-4"), kv("algorithm.params.n_epochs", "2")],
            vec![kv("algorithm.params.learning_rate", "1e-3"), kv("algorithm.params.n_epochs", "0")], // invalid: fails
            vec![kv("algorithm.params.learning_rate", "3e-4"), kv("algorithm.params.n_epochs", "4")],
        ],
        settings: SweepSettings { workers: 2, ..SweepSettings::default() },
        base_seed: 0,
    };
    let mut seen = 0;
    let results = run_sweep(exe(), &spec, &sweep_dir, false, Arc::new(AtomicBool::new(false)), &mut |_| seen += 1).unwrap();
    assert_eq!(seen, 4);
    let statuses: Vec<TrialStatus> = results.iter().map(|r| r.status).collect();
    assert_eq!(statuses, vec![TrialStatus::Completed, TrialStatus::Completed, TrialStatus::Failed, TrialStatus::Completed]);
    for id in [0, 1, 3] {
        let run = sweep_dir.join(format!("trial_{id}"));
        assert!(run.join("models/best_model.zip").is_file() && run.join("logs/metrics.csv").is_file(), "trial {id}");
        assert!(results[id].objective_mean.is_some());
    }
    let csv = std::fs::read_to_string(sweep_dir.join("sweep.csv")).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "trial,status,objective_mean,objective_std,wall_secs,seeds,run_dirs,algorithm.params.learning_rate,algorithm.params.n_epochs"
    );
    assert_eq!(lines.len(), 5);
    assert!(lines[3].starts_with("2,failed,"), "{}", lines[3]);
    assert!(lines[4].starts_with("3,completed,") && lines[4].ends_with(",3e-4,4"), "{}", lines[4]);
    // Objective = the final evaluation in the trial's own metrics.
    let obj = rl_research::sweep::run_objective(&rl_research::RunDir::at(sweep_dir.join("trial_0")), rl_research::sweep::Objective::Final);
    assert_eq!(obj, results[0].objective_mean);

    // Resume: completed trials are skipped, only the failed one runs again.
    let mut rerun = Vec::new();
    let again = run_sweep(exe(), &spec, &sweep_dir, true, Arc::new(AtomicBool::new(false)), &mut |r| rerun.push(r.id)).unwrap();
    assert_eq!(rerun, vec![2]);
    assert_eq!(again.len(), 4);
    assert!(!sweep_dir.join("trial_0_1").exists(), "a completed trial ran again");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn search_cli_runs_sampled_trials_and_rejects_bad_specs() {
    let dir = crate::temp_dir("search");
    let mut args: Vec<String> =
        ["rl-research", "search", "--trials", "2", "--seed", "3", "experiment.name=rs"].iter().map(|s| s.to_string()).collect();
    args.extend(base(&dir));
    args.push("algorithm.params.learning_rate=tag(log,interval(1e-4,1e-2))".into());
    args.push("algorithm.params.n_epochs=choice(1,2)".into());
    // The CLI re-executes its own binary; in a test that is the test harness, so
    // drive the engine through the real executable instead.
    let bad: &[&[&str]] = &[
        &["rl-research", "search", "--trials", "2", "a.b=choice()"],
        &["rl-research", "search", "--trials", "2", "algorithm.params.learning_rate=interval(1,0.1)"],
        &["rl-research", "search", "--trials", "2", "algorithm.params.learning_rate=tag(log,interval(0,1))"],
        &["rl-research", "search", "algorithm.params.learning_rate=interval(0.1,1)"],
        &["rl-research", "run", "--multirun", "algorithm.params.learning_rat=1,2"],
        &["rl-research", "run", "--multirun", "a=range(0,200)", "b=range(0,200)"],
    ];
    for b in bad {
        let a: Vec<String> = b.iter().map(|s| s.to_string()).collect();
        assert_eq!(rl_research::cli::main(a), 2, "{b:?}");
    }
    let out = std::process::Command::new(exe()).args(&args[1..]).arg("--json").output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let trials = summary["trials"].as_array().unwrap();
    assert_eq!(trials.len(), 2);
    for t in trials {
        let lr: f64 = t["params"][0][1].as_str().unwrap().parse().unwrap();
        assert!((1e-4..1e-2).contains(&lr));
        assert_eq!(t["status"], "completed");
    }
    assert!(dir.join("rs/sweep.csv").is_file() && dir.join("rs/trial_1/logs/metrics.csv").is_file());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_stopped_sweep_resumes_its_trials_from_their_checkpoints() {
    let dir = crate::temp_dir("sweep-ckpt");
    let sweep_dir = dir.join("study");
    let kv = |k: &str, v: &str| (k.to_string(), v.to_string());
    let mut base_args = base(&dir);
    base_args.retain(|a| !a.starts_with("experiment.total_timesteps") && !a.starts_with("experiment.eval_freq"));
    base_args.extend(["experiment.total_timesteps=60000".to_string(), "experiment.eval_freq=2048".to_string()]);
    let spec = SweepSpec {
        kind: "grid".into(),
        command_line: "test".into(),
        base_args,
        trials: vec![vec![kv("algorithm.params.learning_rate", "1e-3")], vec![kv("algorithm.params.learning_rate", "3e-4")]],
        settings: SweepSettings { workers: 2, pruner: false, ..SweepSettings::default() },
        base_seed: 0,
    };
    // Stop the sweep once both trials have a checkpoint.
    let stop = Arc::new(AtomicBool::new(false));
    let watcher = {
        let (stop, sweep_dir) = (stop.clone(), sweep_dir.clone());
        std::thread::spawn(move || {
            let has = |t: &str| !rl_research::RunDir::at(sweep_dir.join(t)).checkpoints().is_empty();
            while !(has("trial_0") && has("trial_1")) {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            stop.store(true, std::sync::atomic::Ordering::SeqCst);
        })
    };
    let first = run_sweep(exe(), &spec, &sweep_dir, false, stop, &mut |_| {}).unwrap();
    watcher.join().unwrap();
    assert!(first.iter().all(|r| r.status == TrialStatus::Stopped), "{:?}", first.iter().map(|r| r.status).collect::<Vec<_>>());
    let again = run_sweep(exe(), &spec, &sweep_dir, true, Arc::new(AtomicBool::new(false)), &mut |_| {}).unwrap();
    assert!(again.iter().all(|r| r.status == TrialStatus::Completed));
    for t in ["trial_0", "trial_1"] {
        let info = rl_research::runs::RunInfo::read(&rl_research::RunDir::at(sweep_dir.join(t))).unwrap();
        assert_eq!((info.resumed.len(), info.timesteps_done >= 60000), (1, true), "{t} continued in place");
    }
    assert!(!sweep_dir.join("trial_0_1").exists(), "a stopped trial is continued, not run again from scratch");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn with_several_seeds_each_trial_is_a_seed_group_ranked_by_iqm() {
    let dir = crate::temp_dir("sweep-groups");
    let sweep_dir = dir.join("study");
    let kv = |k: &str, v: &str| (k.to_string(), v.to_string());
    let mut settings = SweepSettings { workers: 1, seeds: 3, ..SweepSettings::default() };
    settings.set("sweep.pruner=none").unwrap();
    assert_eq!(settings.objective(), rl_research::sweep::Objective::Iqm, "iqm is the default from 3 seeds on");
    let spec = SweepSpec {
        kind: "grid".into(),
        command_line: "test".into(),
        base_args: base(&dir),
        trials: vec![vec![kv("algorithm.params.learning_rate", "1e-3")], vec![kv("algorithm.params.learning_rate", "1e-5")]],
        settings,
        base_seed: 10,
    };
    let results = run_sweep(exe(), &spec, &sweep_dir, false, Arc::new(AtomicBool::new(false)), &mut |_| {}).unwrap();
    assert!(results.iter().all(|r| r.status == TrialStatus::Completed), "{results:?}");
    for r in &results {
        let group = sweep_dir.join(format!("trial_{}", r.id));
        let info = rl_research::runs::group::GroupInfo::read(&rl_research::runs::group::GroupDir::at(&group)).unwrap();
        assert_eq!(info.seeds, vec![10, 11, 12]);
        assert_eq!(r.seeds, vec![10, 11, 12]);
        let finals: Vec<f64> = info.seed_runs.iter().map(|e| e.final_score.unwrap()).collect();
        assert!(
            (r.objective_mean.unwrap() - rl_research::stats::iqm(&finals)).abs() < 1e-9,
            "objective = IQM of the seeds' final evaluations"
        );
        assert_eq!(r.run_dirs, vec![group.clone()]);
    }
    let csv = std::fs::read_to_string(sweep_dir.join("sweep.csv")).unwrap();
    assert!(csv.lines().nth(1).unwrap().contains(",10 11 12,trial_0,"), "{csv}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn trials_differing_only_in_scalars_train_as_one_batch_with_the_results_of_unbatched_trials() {
    use rl_research::config::BatchSeeds;
    use rl_research::sweep::batches::plan;
    let dir = crate::temp_dir("sweep-batched");
    let kv = |k: &str, v: &str| vec![(k.to_string(), v.to_string())];
    let trials = vec![
        kv("algorithm.params.learning_rate", "1e-3"),
        kv("algorithm.params.learning_rate", "3e-4"),
        kv("algorithm.params.gamma", "0.95"),
        kv("algorithm.params.net_arch", "[32]"), // another shape: its own batch
        kv("algorithm.params.n_epochs", "0"),    // invalid: fails alone
    ];
    let spec = |batch_trials: BatchSeeds| SweepSpec {
        kind: "grid".into(),
        command_line: "test".into(),
        base_args: base(&dir),
        trials: trials.clone(),
        settings: SweepSettings { workers: 1, batch_trials, ..SweepSettings::default() },
        base_seed: 0,
    };
    let all: Vec<usize> = (0..trials.len()).collect();
    assert_eq!(plan(&spec(BatchSeeds::On), &all).units, vec![vec![0, 1, 2], vec![3], vec![4]]);
    assert_eq!(plan(&spec(BatchSeeds::Auto), &all).units, vec![vec![0, 1, 2], vec![3], vec![4]], "auto batches PPO trials on the CPU");
    assert_eq!(plan(&spec(BatchSeeds::Off), &all).batches(), 0);
    let pruned = |batch_trials| SweepSpec {
        settings: SweepSettings { workers: 1, pruner: true, batch_trials, ..SweepSettings::default() },
        ..spec(BatchSeeds::On)
    };
    let p = plan(&pruned(BatchSeeds::Auto), &all);
    assert!(p.batches() == 0 && p.why_not.as_deref().is_some_and(|w| w.contains("sweep.pruner")), "{p:?}");
    assert_eq!(plan(&pruned(BatchSeeds::On), &all).batches(), 1, "true batches a pruned sweep anyway");
    let two_workers = SweepSpec {
        settings: SweepSettings { workers: 2, batch_trials: BatchSeeds::On, ..SweepSettings::default() },
        ..spec(BatchSeeds::On)
    };
    assert_eq!(plan(&two_workers, &all).units, vec![vec![0, 1], vec![2], vec![3], vec![4]], "on the CPU one batch per worker");
    let mut settings = SweepSettings::default();
    let err = settings.set("sweep.batch_trials=maybe").unwrap_err();
    assert!(err.contains("sweep.batch_trials") && err.contains("true, false or auto"), "{err}");

    let batched =
        run_sweep(exe(), &spec(BatchSeeds::On), &dir.join("batched"), false, Arc::new(AtomicBool::new(false)), &mut |_| {}).unwrap();
    let apart = run_sweep(exe(), &spec(BatchSeeds::Off), &dir.join("apart"), false, Arc::new(AtomicBool::new(false)), &mut |_| {}).unwrap();
    let statuses: Vec<TrialStatus> = batched.iter().map(|r| r.status).collect();
    assert_eq!(
        statuses,
        vec![TrialStatus::Completed, TrialStatus::Completed, TrialStatus::Completed, TrialStatus::Completed, TrialStatus::Failed]
    );
    assert!(dir.join("batched/trial_logs/batch_0_of_3.log").is_file(), "trials 0-2 trained in one child");
    let log = std::fs::read_to_string(dir.join("batched/trial_logs/batch_0_of_3.log")).unwrap();
    assert!(log.contains("training 3 trials as one batch") && !log.contains("not batched"), "{log}");
    for (b, a) in batched.iter().zip(&apart) {
        assert_eq!((b.id, b.status), (a.id, a.status));
        assert_eq!(b.objective_mean, a.objective_mean, "trial {}: batched and alone give the same objective", b.id);
        if b.status == TrialStatus::Completed {
            let run = dir.join("batched").join(format!("trial_{}", b.id));
            assert!(
                run.join("models/best_model.zip").is_file() && run.join("logs/metrics.csv").is_file(),
                "trial {} has the standard layout",
                b.id
            );
        }
    }
    // Each batched trial's config.yaml records a command that reruns it alone.
    let yaml = std::fs::read_to_string(dir.join("batched/trial_1/configs/config.yaml")).unwrap();
    assert!(yaml.contains("rl-research run") && yaml.contains("algorithm.params.learning_rate=3e-4"), "{yaml}");
    let _ = std::fs::remove_dir_all(&dir);
}
