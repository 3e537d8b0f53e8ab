//! Resume (a stopped, failed or interrupted run continues in place) and fork
//! (a new run from a checkpoint, with an edited config): both restore the
//! checkpoint's state in memory before anything on disk is changed.

use super::{
    Begun, Prepared, Restored, RunError, RunOptions, RunSummary, checkpoint, create_run_dir, environment, new_run_info, send_notes, train,
    write_config_file,
};
use crate::config::{Config, ConfigError, apply_overrides, overrides::Override};
use crate::runs::{ForkOrigin, ResumeRecord, RunDir, RunInfo, RunStatus, unix_now_secs};
use checkpoint::Checkpoint;
use std::path::Path;

/// Continues a stopped, failed or interrupted (killed) run from its newest
/// readable checkpoint, in the same directory: metrics.csv is cut back to the
/// checkpoint's length and continues, best model and evaluation history carry
/// on. On the CPU the result is identical to a run that was never interrupted.
pub fn resume_experiment(run_dir: &Path, options: RunOptions) -> Result<RunSummary, RunError> {
    crate::threads::own_share_of_budget(1);
    let _fp = crate::fpmode::FlushDenormals::enter();
    let begun = begin_resume(run_dir, &options)?;
    train(begun, options)
}

/// A stopped or interrupted run restored from its newest checkpoint, its logs cut back to it.
pub(crate) fn begin_resume(run_dir: &Path, options: &RunOptions) -> Result<Begun, RunError> {
    let run = RunDir::at(run_dir);
    if run_dir.as_os_str().is_empty() {
        return Err(RunError::Input("--resume needs a run directory: rl-research run --resume runs/<name>".into()));
    }
    let mut info = RunInfo::read(&run).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => RunError::Input(format!("{} cannot be resumed: {e}", run.root.display())),
        _ => RunError::Checkpoint(format!("{} cannot be resumed: {e}", run.root.display())),
    })?;
    // Before anything is changed: a live run keeps its directory.
    let lock = run.lock("resume")?;
    if info.status == RunStatus::Completed {
        let how = match run.checkpoints().last() {
            Some(c) => format!(
                "to train it further, fork it: rl-research run --fork {}@{} experiment.total_timesteps=N",
                run.root.display(),
                c.step
            ),
            None => info.checkpoints_removed().unwrap_or_else(|| "it has no checkpoint to fork from either".into()),
        };
        return Err(RunError::Input(format!(
            "{} completed all {} timesteps: there is nothing to resume; {how}",
            run.root.display(),
            info.total_timesteps
        )));
    }
    let mut notes = Vec::new();
    if run.checkpoints().is_empty() {
        let why = match info.checkpoints_removed() {
            Some(removed) => format!("{} cannot be resumed: {removed}", run.root.display()),
            None => run.find_checkpoint(None).err().unwrap_or_default(),
        };
        return Err(RunError::Input(why));
    }
    let ckpt = checkpoint::latest_checkpoint(&run, &mut notes).map_err(RunError::Checkpoint)?;
    // The stop request that ended the last session (a sweep's, a scheduler's) is spent.
    match std::fs::remove_file(run.stop_file()) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e.into()),
        _ => {}
    }
    let config = ckpt.config().map_err(RunError::Checkpoint)?;
    // Everything is restored in memory first: a bad checkpoint leaves the run untouched.
    let prepared = Prepared::new(&config, Some(&ckpt))?;
    notes.extend(restore_config_yaml(&run, &config)?);
    notes.extend(checkpoint::cut_logs(&run, &ckpt)?);
    match &ckpt.best_model_zip {
        Some(bytes) => crate::runs::write_atomic(&run.best_model(), bytes)?,
        None => match std::fs::remove_file(run.best_model()) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e.into()),
            _ => {}
        },
    }
    info.resumed.push(ResumeRecord { from_step: ckpt.timesteps, at_unix_secs: unix_now_secs() });
    info.error = None;
    info.warnings.clear();
    info.finished_at_unix_secs = None;
    info.timesteps_done = ckpt.timesteps;
    info.best_eval_mean_reward = ckpt.eval.best_mean_reward;
    // Where it continues (the machine or device may differ from the first session's).
    info.environment = environment(&prepared.device, config.experiment.seed);
    info.claim_for_this_process();
    notes.push(format!("resuming {} from its checkpoint at step {}", run.root.display(), ckpt.timesteps));
    send_notes(options, notes);
    Ok(Begun { config, prepared, run, lock, info, restored: Some(Restored { ckpt, fork: false }) })
}

/// Starts a new run from a checkpoint of `parent` (the newest, or the one at
/// `step`) with `overrides` applied to its config (a lower learning rate, more
/// timesteps, ...). Keys that cannot change mid-run are refused by name.
pub fn fork_experiment(parent: &Path, step: Option<u64>, overrides: &[Override], options: RunOptions) -> Result<RunSummary, RunError> {
    let name = fork_name(parent);
    let edit = |base: &Config| -> Result<Config, ConfigError> {
        let mut config = apply_overrides(base, overrides)?;
        if !overrides.iter().any(|o| o.key == "experiment.name") {
            config.experiment.name = name.clone();
        }
        Ok(config)
    };
    fork_experiment_with(parent, step, &edit, options)
}

/// A fork's default name: `<parent>_fork`.
pub fn fork_name(parent: &Path) -> String {
    format!("{}_fork", RunDir::at(parent).name())
}

/// [`fork_experiment`] with the config made by `edit` from the checkpoint's
/// (the GUI passes the config edited in its editor).
pub fn fork_experiment_with(
    parent: &Path,
    step: Option<u64>,
    edit: &dyn Fn(&Config) -> Result<Config, ConfigError>,
    options: RunOptions,
) -> Result<RunSummary, RunError> {
    crate::threads::own_share_of_budget(1);
    let _fp = crate::fpmode::FlushDenormals::enter();
    let parent_run = RunDir::at(parent);
    if crate::runs::group::GroupDir::is_group(parent) {
        return Err(RunError::Config(ConfigError(format!(
            "{} is a seed group: fork one of its seeds (rl-research run --fork {}/seed_<k> ...)",
            parent.display(),
            parent.display()
        ))));
    }
    if !parent_run.root.is_dir() {
        return Err(RunError::Input(format!("{} is not a run directory (runs/<name>)", parent.display())));
    }
    let file = parent_run.find_checkpoint(step).map_err(|e| {
        let removed = RunInfo::read_as_written(&parent_run).ok().and_then(|i| i.checkpoints_removed());
        RunError::Input(removed.map(|r| format!("{} cannot be forked: {r}", parent.display())).unwrap_or(e))
    })?;
    let ckpt = Checkpoint::load(&file.path).map_err(RunError::Checkpoint)?;
    let base = ckpt.config().map_err(RunError::Checkpoint)?;
    let config = edit(&base)?;
    // Keys a fork cannot change are named before checks that follow from them (env.n_envs -> batch_size).
    checkpoint::check_fork_config(&base, &config).map_err(ConfigError)?;
    config.validate()?;
    if config.group_seeds()?.is_some() {
        return Err(RunError::Config(ConfigError(
            "a fork is one run from one checkpoint: experiment.n_seeds / experiment.seeds cannot be set on a fork; fork each seed of a group (runs/<group>/seed_<k>)".into(),
        )));
    }
    if config.experiment.total_timesteps <= ckpt.timesteps {
        return Err(RunError::Config(ConfigError(format!(
            "experiment.total_timesteps={} is not past the fork's step {}: give a larger value",
            config.experiment.total_timesteps, ckpt.timesteps
        ))));
    }
    let prepared = Prepared::new(&config, Some(&ckpt))?;
    let (run, lock) = create_run_dir(&config, options.command_line.as_deref(), "training")?;
    let mut info = new_run_info(&run, &config, &prepared.device);
    info.forked_from = Some(ForkOrigin { run_name: parent_run.name(), run_dir: parent_run.root.clone(), step: ckpt.timesteps });
    info.timesteps_done = ckpt.timesteps;
    send_notes(&options, vec![format!("forking {} at step {} into {}", parent_run.root.display(), ckpt.timesteps, run.root.display())]);
    train(Begun { config, prepared, run, lock, info, restored: Some(Restored { ckpt, fork: true }) }, options)
}

/// config.yaml always describes the run: a resume continues the checkpoint's
/// config, so a missing, damaged or edited config.yaml is written again from
/// it (an edited or damaged one kept beside it first), with a note saying
/// that changed keys need `--fork`.
fn restore_config_yaml(run: &RunDir, config: &Config) -> Result<Vec<String>, RunError> {
    let path = run.config_yaml();
    let text = match std::fs::read(&path) {
        Ok(t) => Some(t),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(RunError::Io(std::io::Error::new(e.kind(), format!("cannot read {}: {e}", path.display())))),
    };
    let fork_hint =
        format!("to train with other values, fork the run instead: rl-research run --fork {} KEY=VALUE ...", run.root.display());
    let Some(text) = text else {
        write_config_file(run, config, None)?;
        return Ok(vec![format!("note: {} was missing: written again from the checkpoint's config", path.display())]);
    };
    let why = match Config::load(&path) {
        Ok(on_disk) => {
            let show = |v: &Option<String>| v.as_deref().map_or("unset".to_string(), |v| crate::config::elide(v, 60));
            let changed: Vec<String> = crate::config::overrides::differing_keys(&[Some(config), Some(&on_disk)])
                .iter()
                .map(|(key, v)| format!("{key}: {} -> {}", show(&v[0]), show(&v[1])))
                .collect();
            if changed.is_empty() {
                return Ok(Vec::new());
            }
            format!("was edited ({}), but a resume continues the checkpoint's config", changed.join(", "))
        }
        Err(e) => format!("does not load ({}), so it no longer describes the run", crate::config::elide(&e.0, 200)),
    };
    let command_line = String::from_utf8_lossy(&text)
        .lines()
        .find_map(|l| l.strip_prefix("command_line: ").and_then(|q| serde_json::from_str::<String>(q).ok()));
    let copy = crate::runs::row_log::free_copy_name(&path);
    std::fs::write(&copy, &text).map_err(|e| {
        RunError::Io(std::io::Error::new(e.kind(), format!("cannot keep the edited {} as {}: {e}", path.display(), copy.display())))
    })?;
    write_config_file(run, config, command_line.as_deref())?;
    Ok(vec![format!(
        "note: {} {why}: written again from the checkpoint, your version kept as {}; {fork_hint}",
        path.display(),
        copy.display()
    )])
}
