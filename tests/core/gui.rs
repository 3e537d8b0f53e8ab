//! The desktop app driven through egui_kittest by its accessible labels.

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use rl_research::RunStatus;
use rl_research::app::{RlApp, Settings, Tab};
use std::time::{Duration, Instant};

pub fn wait_until(harness: &mut Harness<'_, RlApp>, what: &str, secs: u64, done: impl Fn(&RlApp) -> bool) {
    let t0 = Instant::now();
    while !done(harness.state()) {
        assert!(t0.elapsed() < Duration::from_secs(secs), "timed out waiting for {what}");
        harness.step();
        std::thread::sleep(Duration::from_millis(30));
    }
    harness.step();
}

#[test]
fn gui_validates_runs_stops_replays_and_exports() {
    let dir = crate::temp_dir("gui");
    let mut settings = Settings::default();
    settings.runs_dir = dir.clone();
    let e = &mut settings.config.experiment;
    e.total_timesteps = 2048;
    e.eval_freq = 1024;
    e.n_eval_episodes = 2;
    e.name = "gui_run".into();
    let mut harness =
        Harness::builder().with_size(egui::vec2(1280.0, 800.0)).build_ui_state(|ui, app: &mut RlApp| app.ui(ui), RlApp::new(settings));
    harness.step();

    // Inline validation: a bad value is reported and Run does nothing.
    // (Drag values clamp to their ranges, so use a cross-field rule.)
    let set_batch = |app: &mut RlApp, b: usize| {
        if let rl_research::config::AlgorithmConfig::Ppo(p) = &mut app.settings.config.algorithm {
            p.batch_size = b;
        }
    };
    set_batch(harness.state_mut(), 1000);
    harness.step();
    harness.get_by_label_contains("algorithm.params.batch_size: must be between 1 and the rollout size");
    // The offending field itself is marked.
    harness.get_by_label("batch_size (!)");
    harness.get_by_label("Run").click();
    harness.step();
    assert!(harness.state().jobs.list.is_empty(), "Run must be disabled while the config is invalid");
    set_batch(harness.state_mut(), 256);
    harness.step();

    // Run a tiny budget to completion.
    harness.get_by_label("Run").click();
    harness.step();
    assert_eq!(harness.state().jobs.list.len(), 1);
    wait_until(&mut harness, "the run to finish", 120, |a| !a.jobs.list[0].running());
    let job = &harness.state().jobs.list[0];
    assert_eq!(job.status, Some(RunStatus::Completed), "{:?}", job.error);
    let run_dir = job.run_dir.clone().expect("run dir");
    assert!(run_dir.join("models/best_model.zip").is_file());
    assert!(!job.metrics.get("eval/mean_reward").map(|v| v.is_empty()).unwrap_or(true));
    // The live view got the evaluation episodes (with frames) while it trained.
    let (at, ep) = job.live_episode.clone().expect("a live evaluation episode");
    assert!(at >= 1024 && ep.n_frames() == ep.length as usize + 1, "{at} {}", ep.n_frames());
    harness.get_by_label("Latest evaluation");

    // Stop a long run.
    harness.state_mut().settings.config.experiment.total_timesteps = 5_000_000;
    harness.state_mut().settings.config.experiment.name = "gui_stop".into();
    harness.step();
    harness.get_by_label("Run").click();
    harness.step();
    assert_eq!(harness.state().jobs.list.len(), 2);
    wait_until(&mut harness, "progress", 60, |a| a.jobs.list[1].timesteps > 0);
    harness.get_by_label("Stop").click();
    harness.step();
    wait_until(&mut harness, "the stop", 60, |a| !a.jobs.list[1].running());
    assert_eq!(harness.state().jobs.list[1].status, Some(RunStatus::Stopped));

    // Runs browser lists both (scanned in the background); focus the first run and open its replay.
    harness.get_by_label("Runs").click();
    wait_until(&mut harness, "the runs scan", 30, |a| a.browser.rows.len() == 2);
    harness.get_by_label("gui_run").click();
    harness.run_steps(2);
    assert_eq!(harness.state().browser.focused.as_deref(), Some(run_dir.as_path()));
    assert_eq!(harness.state().browser.selected, vec![run_dir.clone()]);
    harness.get_by_label("Replay episodes").click();
    harness.run_steps(2);
    assert_eq!(harness.state().settings.tab, Tab::Replay);
    let replay_run = harness.state().replay.run.clone().expect("replay opened");
    wait_until(&mut harness, "the episodes to load", 30, |a| !a.replay.is_loading());
    assert!(!harness.state().replay.episodes.is_empty(), "{:?}", harness.state().replay.message);
    harness.step();
    harness.get_by_label_contains("frame 0 /");
    // The scrubber moves with the arrow keys; the shown frame follows.
    harness.key_press(egui::Key::ArrowRight);
    harness.step();
    assert_eq!(harness.state().replay.frame, 1);
    harness.get_by_label_contains("frame 1 /");
    harness.get_by_label("Step forward").click();
    harness.run_steps(2);
    assert_eq!(harness.state().replay.frame, 2);
    harness.get_by_label_contains("frame 2 /");

    // Export Video writes an MP4 into the run's videos/.
    harness.get_by_label("Export Video").click();
    harness.step();
    wait_until(&mut harness, "the export", 60, |a| a.replay.message.as_deref().is_some_and(|m| !m.starts_with("Exporting")));
    let msg = harness.state().replay.message.clone().unwrap_or_default();
    assert!(msg.starts_with("Exported"), "{msg}");
    assert!(replay_run.join("videos/episode_0.mp4").is_file());

    // Run Sweep: a 2-trial grid through the sweep engine (trials run the built CLI).
    harness.get_by_label("Train").click();
    harness.step();
    {
        let app = harness.state_mut();
        app.settings.config.experiment.total_timesteps = 2048;
        app.settings.config.experiment.video_episodes = 0;
        app.settings.config.experiment.name = "gui".into();
        app.sweep.exe = std::path::PathBuf::from(env!("CARGO_BIN_EXE_rl-research"));
        let row = rl_research::app::sweep_dialog::ParamRow::for_key(&app.settings.config, "algorithm.params.learning_rate");
        app.sweep.rows = vec![rl_research::app::sweep_dialog::ParamRow { values: "1e-3,3e-4".into(), ..row }];
        app.sweep.workers = 2;
    }
    harness.get_by_label("Run Sweep…").click();
    harness.run_steps(3);
    harness.get_by_label_contains("2 trials");
    harness.get_by_label("Launch sweep").click();
    harness.step();
    wait_until(&mut harness, "the sweep", 120, |a| a.sweep.results.len() == 2);
    assert!(harness.state().sweep.results.iter().all(|r| r.status == rl_research::sweep::TrialStatus::Completed));
    assert!(dir.join("gui_sweep/sweep.csv").is_file());
    harness.get_by_label_contains("(best)");
    harness.get_by_label("Load best into editor").click();
    harness.step();
    assert!(harness.state().status_text().starts_with("loaded the best trial"), "{}", harness.state().status_text());

    // Delete moves a run to runs/trash after confirmation.
    harness.state_mut().sweep.open = false;
    harness.step();
    harness.get_by_label("Runs").click();
    wait_until(&mut harness, "the sweep's trials in the browser", 30, |a| a.browser.rows.len() >= 4);
    let labels: Vec<String> = harness.state().browser.rows.iter().map(|r| r.label()).collect();
    assert_eq!(labels.len(), 4, "{labels:?}");
    // Trials are grouped under their sweep, which folds.
    assert!(harness.state().browser.rows.iter().filter(|r| r.group.as_deref() == Some("gui_sweep")).count() == 2);
    harness.get_by_label("gui_sweep");
    harness.get_by_label("trial_0");
    harness.get_by_label("-").click();
    harness.run_steps(2);
    assert!(harness.query_by_label("trial_0").is_none(), "a folded sweep hides its trials");
    let n_before = harness.state().browser.rows.len();
    harness.get_by_label("gui_stop").click();
    harness.run_steps(2);
    harness.get_by_label("Delete…").click();
    harness.run_steps(2);
    harness.get_by_label("Move to trash").click();
    harness.run_steps(2);
    assert_eq!(harness.state().browser.rows.len(), n_before - 1);
    assert!(dir.join("trash").read_dir().unwrap().count() == 1);
    harness.get_by_label("Train").click();
    harness.step();

    // Save the config as YAML and open it back through the file field.
    let yaml = dir.join("saved.yaml");
    harness.state_mut().settings.config.experiment.seed = 42;
    harness.state_mut().buffers_config_path(yaml.display().to_string());
    harness.step();
    harness.get_by_label("Save").click();
    harness.step();
    assert!(yaml.is_file(), "{}", harness.state().status_text());
    harness.state_mut().settings.config.experiment.seed = 7;
    harness.get_by_label("Open").click();
    harness.step();
    assert_eq!(harness.state().settings.config.experiment.seed, 42);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn gui_resumes_a_stopped_run_and_forks_it_from_a_checkpoint() {
    let dir = crate::temp_dir("gui-resume");
    let config = crate::resume::small_config("cartpole_ppo", &dir, &["experiment.name=stopped_run"]);
    let stopped = rl_research::runner::run_experiment_with(&config, crate::resume::stop_after(2048)).unwrap();
    assert_eq!(stopped.status, RunStatus::Stopped);
    let mut settings = Settings::default();
    settings.runs_dir = dir.clone();
    settings.tab = Tab::Runs;
    let mut harness =
        Harness::builder().with_size(egui::vec2(1280.0, 800.0)).build_ui_state(|ui, app: &mut RlApp| app.ui(ui), RlApp::new(settings));
    wait_until(&mut harness, "the runs scan", 30, |a| a.browser.rows.len() == 1);
    harness.get_by_label("stopped_run").click();
    harness.run_steps(2);
    harness.get_by_label("Resume").click();
    harness.run_steps(2);
    assert_eq!(harness.state().settings.tab, Tab::Train);
    assert_eq!(harness.state().jobs.list.len(), 1);
    wait_until(&mut harness, "the resumed run to finish", 120, |a| !a.jobs.list[0].running());
    assert_eq!(harness.state().jobs.list[0].status, Some(RunStatus::Completed), "{:?}", harness.state().jobs.list[0].error);
    let info = rl_research::runs::RunInfo::read(&stopped.run_dir).unwrap();
    assert_eq!((info.status, info.resumed.len()), (RunStatus::Completed, 1));

    // Fork… opens the editor on the run's config and its newest checkpoint.
    harness.get_by_label("Runs").click();
    wait_until(&mut harness, "the rescan", 30, |a| a.browser.rows.first().is_some_and(|r| r.status_text() == "completed"));
    assert_eq!(harness.state().browser.focused.as_deref(), Some(stopped.run_dir.root.as_path()), "still focused");
    assert!(!harness.state().browser.rows[0].resumable(), "a completed run is forked, not resumed");
    harness.get_by_label("Fork…").click();
    harness.run_steps(2);
    assert_eq!(harness.state().settings.tab, Tab::Train);
    let fork = harness.state().fork.clone().expect("a fork is prepared");
    assert_eq!(fork.step, 4096);
    assert_eq!(harness.state().settings.config.experiment.name, "stopped_run_fork");
    harness.get_by_label_contains("Fork of stopped_run from step");
    harness.state_mut().settings.config.experiment.total_timesteps = 6144;
    harness.step();
    harness.get_by_label("Run").click();
    harness.step();
    assert!(harness.state().fork.is_none());
    wait_until(&mut harness, "the fork to finish", 120, |a| a.jobs.list.len() == 2 && !a.jobs.list[1].running());
    assert_eq!(harness.state().jobs.list[1].status, Some(RunStatus::Completed), "{:?}", harness.state().jobs.list[1].error);
    let fork_dir = dir.join("stopped_run_fork");
    let info = rl_research::runs::RunInfo::read(&rl_research::RunDir::at(&fork_dir)).unwrap();
    assert_eq!(info.forked_from.map(|o| (o.run_name, o.step)), Some(("stopped_run".to_string(), 4096)));
    assert_eq!(info.timesteps_done, 6144);

    // Plotted, the fork is a branch: its curve starts with its parent's up to step 4096.
    harness.get_by_label("Runs").click();
    wait_until(&mut harness, "the fork in the browser", 30, |a| a.browser.rows.len() == 2);
    harness.get_by_label("stopped_run_fork").click();
    wait_until(&mut harness, "the fork's curve", 30, |a| {
        a.browser
            .selected
            .first()
            .and_then(|p| a.plotted_series(p, "rollout/ep_rew_mean"))
            .is_some_and(|pts| pts.iter().any(|p| p[0] > 4096.0))
    });
    let app = harness.state();
    let pts = app.plotted_series(&fork_dir, "rollout/ep_rew_mean").unwrap();
    assert!(pts.first().is_some_and(|p| p[0] < 1024.0), "the branch starts at the parent's beginning: {:?}", pts.first());
    assert!(pts.windows(2).all(|w| w[0][0] <= w[1][0]), "one line, in step order");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn gui_trains_a_seed_group_draws_its_band_and_compares_groups() {
    let dir = crate::temp_dir("gui-groups");
    // A second group to compare with, trained through the library: another learning rate.
    let other = crate::resume::small_config(
        "cartpole_ppo",
        &dir,
        &["experiment.name=lr_low", "experiment.n_seeds=3", "algorithm.params.learning_rate=1e-5"],
    );
    let done = rl_research::runner::group::run_group(&other, Default::default()).unwrap();
    assert_eq!(done.info.status, rl_research::runs::group::GroupStatus::Completed);
    let mut settings = Settings::default();
    settings.runs_dir = dir.clone();
    settings.config = crate::resume::small_config("cartpole_ppo", &dir, &["experiment.name=gui_group"]);
    let mut harness =
        Harness::builder().with_size(egui::vec2(1280.0, 800.0)).build_ui_state(|ui, app: &mut RlApp| app.ui(ui), RlApp::new(settings));
    harness.step();
    harness.get_by_label("Seeds");
    harness.get_by_label("Run");
    // The Seeds field beside Run: 3 seeds make Run a seed group.
    harness.state_mut().settings.config.experiment.n_seeds = Some(3);
    harness.step();
    harness.get_by_label("Run 3 seeds").click();
    harness.step();
    wait_until(&mut harness, "the group to finish", 180, |a| a.jobs.list.len() == 1 && !a.jobs.list[0].running());
    let job = &harness.state().jobs.list[0];
    assert_eq!(job.status, Some(RunStatus::Completed), "{:?}", job.error);
    let group = dir.join("gui_group");
    assert_eq!(job.run_dir.as_deref(), Some(group.as_path()));
    let progress = job.group.clone().expect("a group job");
    assert_eq!((progress.seeds.clone(), progress.finished.len()), (vec![0, 1, 2], 3));
    assert!(job.metrics.contains_key("eval/mean_reward"), "the live plots follow the first seed");

    // The runs browser folds each group into one line; selecting it plots its band.
    harness.get_by_label("Runs").click();
    wait_until(&mut harness, "the runs scan", 30, |a| a.browser.rows.len() == 6);
    harness.get_by_label("gui_group (3 seeds)").click();
    wait_until(&mut harness, "the group's statistics", 30, |a| a.group_view.loaded(&group).is_some());
    assert_eq!(harness.state().browser.selected, vec![group.clone()]);
    // Band choice (IQM ± 95% CI by default) and the per-seed lines toggle.
    assert_eq!(harness.state().group_view.band, rl_research::app::group_view::Band::IqmCi);
    harness.get_by_label("seeds").click();
    harness.step();
    assert!(harness.state().group_view.show_seeds);
    let s = harness.state().group_view.loaded(&group).unwrap();
    let eval = &s.aggregate.curves.iter().find(|(m, _)| m == "eval/mean_reward").unwrap().1;
    assert!(eval.len() >= 4 && eval.iter().all(|p| p.n_seeds == 3 && p.iqm_ci.0 <= p.iqm && p.iqm <= p.iqm_ci.1), "{eval:?}");
    // Unfolded, its seeds are listed under it.
    assert!(harness.query_by_label("seed_1").is_none(), "folded by default");
    harness.get_all_by_label("+").next().expect("a fold button").click();
    harness.run_steps(2);
    harness.get_by_label("seed_1");

    // Compare: both groups' final-score intervals, P(X > Y) and the one config key that differs.
    harness.state_mut().browser.selected = vec![group.clone(), dir.join("lr_low")];
    harness.step();
    harness.get_by_label("Compare").click();
    wait_until(&mut harness, "the comparison", 30, |a| a.group_view.comparison().is_some());
    harness.get_by_label("Probability of improvement");
    harness.get_by_label_contains("P(gui_group > lr_low)");
    harness.get_by_label("Config differences (1 keys)");
    harness.get_by_label("algorithm.params.learning_rate");
    assert_eq!(harness.get_all_by_label("Optimality gap").count(), 2, "the interval plot and the table column");
    let c = harness.state().group_view.comparison().unwrap().clone();
    assert_eq!(c.targets.iter().map(|t| t.scores.len()).collect::<Vec<_>>(), vec![3, 3]);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The editor's env form comes from the registry entry: each env shows its
/// own parameters, and one that only matters with a flag shows with it.
#[test]
fn gui_env_form_follows_the_registry() {
    use rl_research::envs::ParamValue;
    let mut settings = Settings::default();
    settings.runs_dir = crate::temp_dir("gui_env_form");
    settings.config.env.id = "LunarLander-v3".into();
    let mut harness =
        Harness::builder().with_size(egui::vec2(1280.0, 800.0)).build_ui_state(|ui, app: &mut RlApp| app.ui(ui), RlApp::new(settings));
    harness.step();
    harness.get_by_label("gravity");
    harness.get_by_label("enable_wind");
    assert!(harness.query_by_label("wind_power").is_none(), "wind power is hidden while the wind is off");
    assert!(harness.query_by_label("sutton_barto_reward").is_none());
    harness.state_mut().settings.config.env.params.set("enable_wind", ParamValue::Bool(true));
    harness.step();
    harness.get_by_label("wind_power");
    harness.get_by_label("turbulence_power");
    harness.state_mut().settings.config.env.id = "CartPole-v1".into();
    harness.step();
    harness.get_by_label("sutton_barto_reward");
    assert!(harness.query_by_label("gravity").is_none());
}

/// The algorithm form is its descriptor's keys: every key of every algorithm
/// has a row, a flag toggles as a checkbox, and a value below a field's bound
/// is marked with the message validation gives.
#[test]
fn gui_algorithm_form_follows_the_descriptor() {
    use rl_research::config::AlgorithmConfig;
    use rl_research::config::algorithms::ALGORITHMS;
    let mut settings = Settings::default();
    settings.runs_dir = crate::temp_dir("gui_algo_form");
    let mut harness =
        Harness::builder().with_size(egui::vec2(1280.0, 1400.0)).build_ui_state(|ui, app: &mut RlApp| app.ui(ui), RlApp::new(settings));
    for spec in ALGORITHMS {
        harness.state_mut().settings.config.algorithm = (spec.defaults)();
        harness.step();
        for key in spec.keys {
            harness.get_by_label(key.name);
        }
    }
    harness.state_mut().settings.config.algorithm = AlgorithmConfig::default();
    harness.step();
    harness.get_by_label("normalize_advantage").click();
    harness.step();
    let AlgorithmConfig::Ppo(p) = &harness.state().settings.config.algorithm else { panic!("PPO expected") };
    assert!(!p.normalize_advantage, "the checkbox turns normalize_advantage off");
    if let AlgorithmConfig::Ppo(p) = &mut harness.state_mut().settings.config.algorithm {
        p.n_epochs = 0;
    }
    harness.step();
    harness.get_by_label_contains("algorithm.params.n_epochs: must be at least 1, got 0");
    harness.get_by_label("n_epochs (!)");
}

/// A continuous action shows in the replay panel as its values against the
/// action space's bounds, with the policy's mean, on a Pendulum frame of
/// Gymnasium's size.
#[test]
fn gui_replay_shows_a_continuous_action_against_its_bounds() {
    use rl_research::algos::PolicyView;
    use rl_research::app::replay::Replay;
    use rl_research::envs::{Action, ActionValue, registry};
    use rl_research::runner::replay::{EpisodeRecord, StepRecord};
    let found = registry::find("Pendulum-v1").expect("registered");
    let mut env = (found.spec.make)(&Default::default(), 200).unwrap();
    env.set_render(true);
    let mut obs = vec![0f32; 3];
    env.reset(Some(0), &mut obs);
    let reset_obs = obs.clone();
    let mut frames = vec![env.render_state().expect("frame")];
    let mut steps = Vec::new();
    for u in [1.5f32, -0.5] {
        let out = env.step(Action::Continuous(&[u]), &mut obs);
        frames.push(env.render_state().expect("frame"));
        let policy = PolicyView { scores: vec![u - 0.1], probs: None, value: None, std: Some(vec![0.5]), q_values: None };
        steps.push(StepRecord {
            action: ActionValue::Continuous(vec![u]),
            reward: out.reward,
            terminated: false,
            truncated: false,
            obs: obs.clone(),
            policy,
        });
    }
    let episode = EpisodeRecord {
        env_id: "Pendulum-v1".into(),
        action_space: Some(env.action_space()),
        seed: 0,
        episode_return: steps.iter().map(|s| s.reward).sum(),
        length: 2,
        reset_obs,
        steps,
        frames,
    };
    let mut replay = Replay::default();
    replay.episodes = vec![episode];
    replay.run = Some(crate::temp_dir("gui_replay_box").join("pendulum_run"));
    let mut harness =
        Harness::builder().with_size(egui::vec2(1280.0, 800.0)).build_ui_state(|ui, r: &mut Replay| r.replay_ui(ui, &[]), replay);
    harness.step();
    harness.get_by_label_contains("a[0] = 1.500 (mean 1.400, std 0.500) in [-2, 2]");
    harness.state_mut().frame = 1;
    harness.step();
    harness.get_by_label_contains("a[0] = -0.500 (mean -0.600, std 0.500) in [-2, 2]");
}
