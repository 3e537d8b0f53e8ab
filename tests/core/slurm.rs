//! Sweeps on a real Slurm (a single-node cluster `tests/run-all.sh` starts with
//! tests/slurm/start.sh): a grid as one job array, and a cancelled sweep.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

fn exe() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_rl-research"))
}

/// Whether a Slurm cluster answers here; under CI (RL_RESEARCH_SLURM=1) it must.
fn slurm_up() -> bool {
    let up = Command::new("sinfo").args(["-h", "-o", "%t"]).output().is_ok_and(|o| o.status.success() && !o.stdout.is_empty());
    if !up {
        assert!(
            std::env::var_os("RL_RESEARCH_SLURM").is_none(),
            "RL_RESEARCH_SLURM is set but sinfo does not answer (SLURM_CONF={:?})",
            std::env::var_os("SLURM_CONF")
        );
        crate::skipped("the Slurm tests", "no Slurm cluster answers here (tests/slurm/start.sh starts one; tests/run-all.sh does as root)");
    }
    up
}

fn small(dir: &Path) -> Vec<String> {
    [
        "run",
        "--multirun",
        "--yes",
        "experiment.total_timesteps=2048",
        "experiment.eval_freq=1024",
        "experiment.n_eval_episodes=2",
        "experiment.video_episodes=0",
        "sweep.launcher=slurm",
        "sweep.workers=2",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain([format!("experiment.runs_dir={}", dir.display())])
    .collect()
}

#[test]
fn a_grid_runs_as_one_slurm_job_array_and_a_cancelled_sweep_ends_stopped() {
    if !slurm_up() {
        return;
    }
    let dir = crate::temp_dir("slurm");
    let t0 = Instant::now();
    let mut args = small(&dir);
    args.extend(["experiment.name=grid", "algorithm.params.learning_rate=1e-3,3e-4", "algorithm.params.n_epochs=2,4"].map(String::from));
    let out = Command::new(exe()).args(&args).output().unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{stdout}\n{stderr}");
    eprintln!("4-trial grid on Slurm: {:.1} s", t0.elapsed().as_secs_f64());
    assert!(stderr.contains("submitted Slurm job array"), "{stderr}");
    let sweep = dir.join("grid");
    for f in ["slurm_array.sh", "trials.json", "slurm.json", "sweep.csv"] {
        assert!(sweep.join(f).is_file(), "{f}");
    }
    for id in 0..4 {
        let run = sweep.join(format!("trial_{id}"));
        assert!(run.join("models/best_model.zip").is_file() && run.join("logs/metrics.csv").is_file(), "trial {id}");
        let info = rl_research::runs::RunInfo::read(&rl_research::RunDir::at(&run)).unwrap();
        assert_eq!(info.status, rl_research::RunStatus::Completed);
    }
    let csv = std::fs::read_to_string(sweep.join("sweep.csv")).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert!(lines[0].starts_with("trial,status,objective_mean,objective_std,wall_secs,seeds,run_dirs,job_id,slurm_state,"), "{}", lines[0]);
    assert_eq!(lines.len(), 5, "{csv}");
    let job: String = serde_json::from_str::<serde_json::Value>(&std::fs::read_to_string(sweep.join("slurm.json")).unwrap()).unwrap()["jobs"][0]["job_id"].as_str().unwrap().into();
    for (id, line) in lines[1..].iter().enumerate() {
        assert!(line.starts_with(&format!("{id},completed,")), "{line}");
        assert!(line.contains(&format!(",{job}_{id},COMPLETED")), "{line}");
    }
    assert!(stdout.contains("best: trial"), "{stdout}");

    // A long sweep, submitted without waiting, cancelled once a trial trains: it ends stopped, what ran is kept.
    let mut args = small(&dir);
    args.retain(|a| !a.starts_with("experiment.total_timesteps"));
    args.extend(
        [
            "experiment.total_timesteps=3000000",
            "experiment.name=long",
            "algorithm.params.learning_rate=1e-3,3e-4,1e-4",
            "--no-wait",
            "sweep.workers=1",
        ]
        .map(String::from),
    );
    let out = Command::new(exe()).args(&args).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("rl-research sweep status"));
    let long = dir.join("long");
    let t0 = Instant::now();
    while !long.join("trial_0/checkpoints").read_dir().is_ok_and(|mut d| d.next().is_some()) {
        assert!(t0.elapsed() < Duration::from_secs(120), "trial 0 never started training on Slurm");
        std::thread::sleep(Duration::from_millis(200));
    }
    let status = Command::new(exe()).args(["sweep", "status", long.to_str().unwrap()]).output().unwrap();
    assert!(String::from_utf8_lossy(&status.stdout).contains("trial 0: running"), "{}", String::from_utf8_lossy(&status.stdout));
    let cancel = Command::new(exe()).args(["sweep", "cancel", long.to_str().unwrap()]).output().unwrap();
    assert!(cancel.status.success(), "{}", String::from_utf8_lossy(&cancel.stderr));
    let t0 = Instant::now();
    let results = loop {
        let out = Command::new(exe()).args(["sweep", "status", long.to_str().unwrap(), "--json"]).output().unwrap();
        let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        let trials = j["trials"].as_array().cloned().unwrap_or_default();
        if trials.len() == 3 {
            break trials;
        }
        assert!(t0.elapsed() < Duration::from_secs(90), "the cancelled sweep did not end: {j}");
        std::thread::sleep(Duration::from_millis(500));
    };
    assert!(results.iter().all(|r| r["status"] == "stopped"), "{results:?}");
    let info = rl_research::runs::RunInfo::read(&rl_research::RunDir::at(long.join("trial_0"))).unwrap();
    assert_eq!(info.status, rl_research::RunStatus::Stopped, "the running trial stopped gracefully on Slurm's SIGTERM");
    assert!(long.join("trial_0/models/final_model.zip").is_file());
    assert!(!long.join("trial_2").exists(), "a queued trial does not start after scancel");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_gui_sends_a_sweep_to_slurm_and_shows_job_ids() {
    use egui_kittest::kittest::Queryable;
    use rl_research::app::{RlApp, Settings};
    if !slurm_up() {
        return;
    }
    let dir = crate::temp_dir("slurm-gui");
    let mut settings = Settings::default();
    settings.runs_dir = dir.clone();
    settings.config = crate::resume::small_config("cartpole_ppo", &dir, &["experiment.name=gui", "experiment.total_timesteps=2048"]);
    let mut harness = egui_kittest::Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .build_ui_state(|ui, app: &mut RlApp| app.ui(ui), RlApp::new(settings));
    {
        let app = harness.state_mut();
        app.sweep.exe = exe().to_path_buf();
        let row = rl_research::app::sweep_dialog::ParamRow::for_key(&app.settings.config, "algorithm.params.learning_rate");
        app.sweep.rows = vec![rl_research::app::sweep_dialog::ParamRow { values: "1e-3,3e-4".into(), ..row }];
        app.sweep.workers = 2;
    }
    harness.get_by_label("Run Sweep…").click();
    harness.run_steps(3);
    harness.get_by_label("Slurm").click();
    harness.run_steps(2);
    harness.get_by_label("partition");
    harness.get_by_label("Launch sweep").click();
    let t0 = Instant::now();
    while harness.state().sweep.results.len() < 2 {
        assert!(t0.elapsed() < Duration::from_secs(120), "the Slurm sweep did not finish");
        harness.step();
        std::thread::sleep(Duration::from_millis(50));
    }
    harness.run_steps(2);
    let results = harness.state().sweep.results.clone();
    assert!(
        results.iter().all(|r| r.status == rl_research::sweep::TrialStatus::Completed && r.slurm_state.as_deref() == Some("COMPLETED")),
        "{results:?}"
    );
    let job = results[0].job_id.clone().expect("a job id");
    harness.get_by_label("Slurm job");
    harness.get_by_label(&format!("{job} COMPLETED"));
    harness.get_by_label_contains("submitted Slurm job array");
    let _ = std::fs::remove_dir_all(&dir);
}
