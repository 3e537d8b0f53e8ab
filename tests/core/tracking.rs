//! Tracking in other tools: every scalar of metrics.csv is also in the run's
//! TensorBoard event file, read back by our reader and by TensorBoard's own
//! `EventAccumulator` (the Python package, in the venv `tests/run-all.sh` makes).

use rl_research::runs::logger::read_metrics;
use rl_research::runs::tfevents::read_events;
use std::collections::BTreeMap;

/// Runs `tests/tb/<script> <arg>` with the checkers' Python; its stdout, or
/// `None` (printed) where that Python lacks the package — an error under CI.
fn python_checker(script: &str, arg: &std::path::Path, what: &str) -> Option<Vec<u8>> {
    python_checker_in("tests/tb", script, arg, what)
}

/// [`python_checker`] for a script in `dir` (relative to the crate).
pub fn python_checker_in(dir: &str, script: &str, arg: &std::path::Path, what: &str) -> Option<Vec<u8>> {
    let python = std::env::var("RL_RESEARCH_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(dir).join(script);
    let why = match std::process::Command::new(&python).arg(&script).arg(arg).output() {
        Ok(o) if o.status.success() => return Some(o.stdout),
        Ok(o) => String::from_utf8_lossy(&o.stderr).lines().last().unwrap_or("").to_string(),
        Err(e) => e.to_string(),
    };
    assert!(std::env::var_os("CI").is_none(), "CI must run the {what} check with {python}: {why}");
    crate::skipped(&format!("the {what} check"), &format!("{python}: {why} (tests/run-all.sh installs what it needs)"));
    None
}

#[test]
fn every_metric_is_a_tensorboard_scalar_that_tensorboard_reads() {
    let dir = crate::temp_dir("tensorboard");
    let config = crate::resume::small_config(
        "cartpole_ppo",
        &dir,
        &["experiment.total_timesteps=2048", "experiment.eval_freq=1024", "experiment.tags=[baseline,tb]", "experiment.notes=why: a check"],
    );
    let run = rl_research::runner::run_experiment(&config).unwrap().run_dir;
    let rows = read_metrics(&run.metrics_csv()).unwrap();
    let events: Vec<_> = std::fs::read_dir(run.logs_dir())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("events.out.tfevents.")))
        .collect();
    assert_eq!(events.len(), 1, "{events:?}");
    let (version, scalars) = read_events(&events[0]).unwrap();
    assert_eq!(version, "brain.Event:2");
    // Same tags, steps and values (as f32, TensorBoard's simple_value) in the same order.
    let want: Vec<(i64, &str, f32)> = rows.iter().map(|r| (r.timesteps as i64, r.metric.as_str(), r.value as f32)).collect();
    let got: Vec<(i64, &str, f32)> = scalars.iter().map(|s| (s.step, s.tag.as_str(), s.value)).collect();
    assert_eq!(got.len(), want.len());
    assert!(
        got.iter().zip(&want).all(|(a, b)| a.0 == b.0 && a.1 == b.1 && (a.2 == b.2 || (a.2.is_nan() && b.2.is_nan()))),
        "event file differs from metrics.csv"
    );

    // Our own reader: the HParams session, the config and environment texts, the session's end.
    let file = rl_research::runs::tfevents::read_event_file(&events[0]).unwrap();
    let plugins: Vec<(&str, &str)> = file.plugins.iter().map(|p| (p.tag.as_str(), p.plugin.as_str())).collect();
    assert_eq!(
        plugins,
        [
            ("_hparams_/experiment", "hparams"),
            ("_hparams_/session_start_info", "hparams"),
            ("config", "text"),
            ("environment", "text"),
            ("notes", "text"),
            ("tags", "text"),
            ("_hparams_/session_end_info", "hparams")
        ]
    );
    let info = rl_research::runs::RunInfo::read(&run).unwrap();
    let env = &info.environment;
    assert!(env.kernel.is_some() && env.memory_total_mib.is_some_and(|m| m > 0) && env.cpu_cores > 0, "{env:?}");
    let head = std::process::Command::new("git").args(["rev-parse", "HEAD"]).output().ok().filter(|o| o.status.success());
    match head {
        Some(o) => {
            assert_eq!(env.git_commit.as_deref(), Some(String::from_utf8_lossy(&o.stdout).trim()), "the working directory's commit");
            assert!(env.git_dirty.is_some());
        }
        None => assert_eq!(env.git_commit, None),
    }

    // TensorBoard itself.
    let Some(out) = python_checker("read_events.py", &run.logs_dir(), "TensorBoard's EventAccumulator") else { return };
    let read: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let tb: BTreeMap<String, Vec<(i64, f64)>> = serde_json::from_value(read["scalars"].clone()).unwrap();
    let mut from_csv: BTreeMap<String, Vec<(i64, f64)>> = BTreeMap::new();
    for r in &rows {
        from_csv.entry(r.metric.clone()).or_default().push((r.timesteps as i64, r.value as f32 as f64));
    }
    assert_eq!(tb.keys().collect::<Vec<_>>(), from_csv.keys().collect::<Vec<_>>(), "TensorBoard's tags");
    for (tag, points) in &from_csv {
        let seen = &tb[tag];
        assert_eq!(seen.len(), points.len(), "{tag}");
        for (a, b) in seen.iter().zip(points) {
            assert!(a.0 == b.0 && (a.1 == b.1 || (a.1.is_nan() && b.1.is_nan())), "{tag}: TensorBoard read {a:?}, metrics.csv has {b:?}");
        }
    }
    // The HParams plugin's parse of the run: every algorithm's keys as columns,
    // this run's values, the final and best evaluation as metrics, its status.
    let hp = &read["hparams"];
    let columns = &hp["experiment"]["hparams"];
    assert_eq!(columns["algorithm.params.gamma"], "DATA_TYPE_FLOAT64", "{hp}");
    assert_eq!(columns["algorithm.params.buffer_size"], "DATA_TYPE_FLOAT64", "DQN's keys too: {hp}");
    assert_eq!(columns["algorithm.name"], "DATA_TYPE_STRING");
    assert_eq!(hp["experiment"]["metrics"], serde_json::json!(["eval/mean_reward", "eval/best_mean_reward", "rollout/ep_rew_mean"]));
    let values = &hp["session_start"]["hparams"];
    assert_eq!(values["algorithm.name"], "ppo");
    assert_eq!(values["experiment.total_timesteps"], 2048.0);
    let rl_research::config::AlgorithmConfig::Ppo(ppo) = &config.algorithm else { panic!("a PPO preset") };
    assert_eq!(values["algorithm.params.n_steps"].as_f64(), Some(ppo.n_steps as f64));
    assert!(values.get("algorithm.params.buffer_size").is_none(), "a PPO session has no DQN values");
    assert_eq!(hp["session_end"]["status"], "STATUS_SUCCESS");
    // The purpose and tags, as HParams columns (what W&B's sync reads) and as texts.
    assert_eq!(
        (&values["experiment.notes"], &values["experiment.tags"]),
        (&serde_json::json!("why: a check"), &serde_json::json!("[\"baseline\",\"tb\"]"))
    );
    for metric in ["eval/mean_reward", "eval/best_mean_reward", "rollout/ep_rew_mean"] {
        assert!(tb.contains_key(metric), "the HPARAMS metric {metric} is a scalar of the run");
    }
    let texts = &read["texts"];
    assert!(texts["config"].as_str().is_some_and(|t| t.contains("total_timesteps: 2048")), "{texts}");
    assert!(texts["environment"].as_str().is_some_and(|t| t.contains(&env.cpu) && t.contains("| kernel |")), "{texts}");
    assert_eq!((&texts["notes"], &texts["tags"]), (&serde_json::json!("why: a check"), &serde_json::json!("`baseline` `tb`")));
    let _ = std::fs::remove_dir_all(&dir);
}

/// monitor.csv's (return, length) rows, after SB3's two header lines.
pub fn monitor_rows(run: &rl_research::RunDir) -> Vec<(f64, u32)> {
    let text = std::fs::read_to_string(run.monitor_csv()).unwrap();
    let mut lines = text.lines();
    assert!(lines.next().is_some_and(|l| l.starts_with("#{") && l.contains("\"t_start\"") && l.contains("\"env_id\"")));
    assert_eq!(lines.next(), Some("r,l,t"));
    lines
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            assert_eq!(f.len(), 3, "{l}");
            (f[0].parse().unwrap(), f[1].parse().unwrap())
        })
        .collect()
}

#[test]
fn monitor_csv_has_every_training_episode_and_loads_as_sb3_loads_it() {
    let dir = crate::temp_dir("monitor");
    let config = crate::resume::small_config("cartpole_ppo", &dir, &["experiment.total_timesteps=4096", "experiment.eval_freq=2048"]);
    let run = rl_research::runner::run_experiment(&config).unwrap().run_dir;
    let episodes = monitor_rows(&run);
    assert!(episodes.len() > 20, "{}", episodes.len());
    // The training returns: the last 100 episodes' mean is the final rollout/ep_rew_mean.
    let rows = read_metrics(&run.metrics_csv()).unwrap();
    let final_mean = rows.iter().rev().find(|r| r.metric == "rollout/ep_rew_mean").unwrap().value;
    let last: Vec<f64> = episodes.iter().rev().take(100).map(|e| e.0).collect();
    assert!((last.iter().sum::<f64>() / last.len() as f64 - final_mean).abs() < 1e-9, "{final_mean}");
    assert!(episodes.iter().all(|e| e.0 == e.1 as f64), "a CartPole return is its length");
    assert!(episodes.iter().map(|e| e.1 as u64).sum::<u64>() <= 4096);

    let Some(out) = python_checker("load_monitor.py", &run.monitor_csv(), "SB3's load_results steps (pandas)") else { return };
    let loaded: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(loaded["env_id"], "CartPole-v1");
    let r: Vec<f64> = serde_json::from_value(loaded["r"].clone()).unwrap();
    let l: Vec<u32> = serde_json::from_value(loaded["l"].clone()).unwrap();
    assert_eq!(r, episodes.iter().map(|e| e.0).collect::<Vec<_>>());
    assert_eq!(l, episodes.iter().map(|e| e.1).collect::<Vec<_>>());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn system_metrics_are_sampled_into_the_run_and_can_be_turned_off() {
    let dir = crate::temp_dir("system-metrics");
    let config = crate::resume::small_config(
        "cartpole_ppo",
        &dir,
        &["logging.system_metrics_secs=0.05", "experiment.total_timesteps=16384", "experiment.eval_freq=4096"],
    );
    let run = rl_research::runner::run_experiment(&config).unwrap().run_dir;
    let rows = read_metrics(&run.metrics_csv()).unwrap();
    let rss: Vec<f64> = rows.iter().filter(|r| r.metric == "system/rss_mib").map(|r| r.value).collect();
    assert!(!rss.is_empty() && rss.iter().all(|&v| v > 1.0), "{rss:?}");
    assert!(rows.iter().any(|r| r.metric == "system/cpu_percent" && r.value >= 0.0));
    assert!(rows.iter().any(|r| r.metric == "system/mem_used_mib" && r.value > 0.0));
    let off = crate::resume::small_config(
        "cartpole_ppo",
        &dir,
        &["logging.system_metrics_secs=0", "experiment.total_timesteps=4096", "experiment.name=off"],
    );
    let run = rl_research::runner::run_experiment(&off).unwrap().run_dir;
    assert!(read_metrics(&run.metrics_csv()).unwrap().iter().all(|r| !r.metric.starts_with("system/")));
    let e = rl_research::cli::main(["rl-research", "run", "logging.system_metrics_secs=-1"].iter().map(|s| s.to_string()).collect());
    assert_eq!(e, 2, "a negative period is refused");
    let _ = std::fs::remove_dir_all(&dir);
}
