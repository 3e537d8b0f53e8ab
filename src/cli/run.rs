//! `rl-research run`: a new run, `--resume`, `--fork` or `--batch`, each one
//! [`RunRequest`] executed by the runner, and its exit code.

use super::{compare, progress, shell_quote, signals};
use crate::config::overrides::config_from_args;
use crate::config::{ConfigError, overrides::parse_override};
use crate::runner::request::{BatchItem, ForkEdit, RunRequest};
use crate::runner::{self, RunError, RunOptions};
use crate::runs::RunStatus;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// `run --batch FILE` (a sweep's batched trials, see `sweep::batches`): the
/// file, an error when --batch comes with anything else, None without --batch.
fn batch_file_arg(args: &[String]) -> Option<Result<PathBuf, ConfigError>> {
    let i = args.iter().position(|a| a == "--batch")?;
    Some(match (args.get(i + 1), args.len()) {
        (Some(file), 2) if i == 0 => Ok(PathBuf::from(file)),
        _ => Err(ConfigError(
            "--batch takes one file and nothing else: rl-research run --batch TRIALS.json (what a sweep with sweep.batch_trials writes)"
                .into(),
        )),
    })
}

/// `run [--config FILE] [KEY=VALUE ...]`, `run --resume RUN_DIR` or
/// `run --fork RUN_DIR[@STEP] [KEY=VALUE ...]`.
fn parse_run_mode(args: &[String]) -> Result<RunRequest, ConfigError> {
    let flag = |name: &str| args.iter().position(|a| a == name);
    match (flag("--resume"), flag("--fork")) {
        (Some(_), Some(_)) => {
            Err(ConfigError("--resume and --fork exclude each other: resume continues a run, fork starts a new one from it".into()))
        }
        (Some(i), None) => {
            let dir = args
                .get(i + 1)
                .filter(|a| !a.starts_with("--"))
                .ok_or_else(|| ConfigError("--resume needs a run directory: rl-research run --resume runs/<name>".into()))?;
            if let Some(extra) = args.iter().enumerate().find(|(j, _)| *j != i && *j != i + 1).map(|(_, a)| a) {
                return Err(ConfigError(format!(
                    "'{extra}': --resume continues a run exactly as configured and takes nothing else; to change its config, fork it: rl-research run --fork {dir} {extra}"
                )));
            }
            Ok(RunRequest::Resume(PathBuf::from(dir)))
        }
        (None, Some(i)) => {
            let spec = args.get(i + 1).filter(|a| !a.starts_with("--")).ok_or_else(|| {
                ConfigError("--fork needs a run directory: rl-research run --fork runs/<name>[@STEP] KEY=VALUE ...".into())
            })?;
            let (parent, step) = parse_fork_spec(spec)?;
            let mut overrides = Vec::new();
            for (j, a) in args.iter().enumerate() {
                if j == i || j == i + 1 {
                    continue;
                }
                if a.starts_with("--") {
                    return Err(ConfigError(format!(
                        "unknown option '{a}' with --fork: it takes RUN_DIR[@STEP] and KEY=VALUE overrides of the run's config"
                    )));
                }
                overrides.push(parse_override(a)?);
            }
            Ok(RunRequest::Fork { parent, step, edit: ForkEdit::Overrides(overrides) })
        }
        (None, None) => Ok(RunRequest::New(Box::new(config_from_args(args)?))),
    }
}

/// `runs/name` or `runs/name@12000` (a directory whose name holds an `@` is taken as is).
fn parse_fork_spec(spec: &str) -> Result<(PathBuf, Option<u64>), ConfigError> {
    if Path::new(spec).is_dir() {
        return Ok((PathBuf::from(spec), None));
    }
    match spec.rsplit_once('@') {
        Some((dir, step)) => {
            let step = step
                .parse::<u64>()
                .map_err(|_| ConfigError(format!("--fork {spec}: '{step}' after '@' is not a step number (use RUN_DIR@12000)")))?;
            Ok((PathBuf::from(dir), Some(step)))
        }
        None => Ok((PathBuf::from(spec), None)),
    }
}

pub(super) fn cmd_run(args: &[String]) -> i32 {
    if let Some(file) = batch_file_arg(args) {
        return match file {
            Ok(file) => run_batch_file(&file, &stop_on_ctrl_c()),
            Err(e) => {
                eprintln!("error: {e}");
                2
            }
        };
    }
    let mode = match parse_run_mode(args) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    let stop = stop_on_ctrl_c();
    let (tx, rx) = std::sync::mpsc::channel();
    let options = RunOptions {
        command_line: Some(run_command_line(args)),
        stop: stop.clone(),
        events: Some(runner::EventSender::new(tx)),
        live_episodes: false,
    };
    let printer = std::thread::spawn(move || progress::print_events(rx));
    let result = mode.execute(options).and_then(|o| o.trained().ok_or_else(|| RunError::Training("a batch is run by run --batch".into())));
    let _ = printer.join();
    match result {
        Ok(runner::group::Trained::Group(summary)) => group_exit(summary),
        Ok(runner::group::Trained::Run(summary)) => {
            let best = summary.best_mean_reward.map(|b| format!("{b:.2}")).unwrap_or_else(|| "n/a".into());
            println!(
                "{} after {} timesteps in {:.1} s; best eval mean reward {best}",
                match summary.status {
                    RunStatus::Stopped => "stopped",
                    _ => "completed",
                },
                summary.timesteps,
                summary.wall_secs
            );
            println!("run directory: {}", summary.run_dir.root.display());
            if summary.status == RunStatus::Stopped { 130 } else { 0 }
        }
        Err(e @ (RunError::Config(_) | RunError::Input(_))) => {
            eprintln!("error: {e}");
            2
        }
        Err(e) => {
            eprintln!("error: {e}");
            1
        }
    }
}

/// A stop flag that Ctrl-C, SIGTERM or SIGHUP sets: training stops gracefully;
/// a second signal exits at once, removing the temporary files being written
/// (the run then reads interrupted and resumes from its last checkpoint).
pub(super) fn stop_on_ctrl_c() -> Arc<AtomicBool> {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    signals::on_stop_signals(move |name| {
        if flag.swap(true, Ordering::SeqCst) {
            crate::runs::temp_files::remove_all();
            eprintln!(
                "\nsecond {name}: exiting now; the run is interrupted and resumes from its last checkpoint (rl-research run --resume RUN_DIR)"
            );
            std::process::exit(130);
        }
        let again = if name == "Ctrl-C" { "press Ctrl-C again" } else { "send it again" };
        eprintln!("\n{name}: stopping after this step ({again} to quit at once)...");
    });
    stop
}

/// How `run ARGS` is written in config.yaml, to reproduce the run.
pub(super) fn run_command_line(args: &[String]) -> String {
    std::iter::once("rl-research run".to_string()).chain(args.iter().map(|a| shell_quote(a))).collect::<Vec<_>>().join(" ")
}

/// `run --batch FILE`: trains the trials FILE lists (each `run` arguments) as
/// one batch, each its own run; 0 all completed, 1 any failed, 2 bad input,
/// 130 stopped.
fn run_batch_file(file: &Path, stop: &Arc<AtomicBool>) -> i32 {
    let batch: crate::sweep::batches::BatchFile =
        match std::fs::read_to_string(file).map_err(|e| e.to_string()).and_then(|t| serde_json::from_str(&t).map_err(|e| e.to_string())) {
            Ok(b) => b,
            Err(e) => {
                eprintln!("error: {}: {e} (expected {{\"trials\": [[\"KEY=VALUE\", ...], ...]}})", file.display());
                return 2;
            }
        };
    let mut configs = Vec::new();
    for (i, args) in batch.trials.iter().enumerate() {
        match config_from_args(args) {
            Ok(c) => configs.push(c),
            Err(e) => {
                eprintln!("error: {}: trial {i} [{}]: {e}", file.display(), args.join(" "));
                return 2;
            }
        }
    }
    let items: Vec<BatchItem> = configs
        .iter()
        .zip(&batch.trials)
        .map(|(config, args)| BatchItem { config: config.clone(), command_line: Some(run_command_line(args)) })
        .collect();
    eprintln!("training {} trials as one batch", configs.len());
    let options = RunOptions { stop: stop.clone(), ..RunOptions::default() };
    let outcome = match RunRequest::Batch(items).execute(options) {
        Ok(runner::request::Outcome::Batch(outcome)) => outcome,
        Ok(runner::request::Outcome::Trained(_)) => return 1,
        Err(e) => {
            eprintln!("error: {e}");
            return if matches!(e, RunError::Config(_) | RunError::Input(_)) { 2 } else { 1 };
        }
    };
    if let Some(note) = &outcome.device_note {
        eprintln!("{note}");
    }
    if let Some(why) = &outcome.apart {
        eprintln!("note: the trials trained one after another, not batched: {why}");
    }
    let (mut failed, mut stopped) = (false, false);
    for (config, result) in configs.iter().zip(&outcome.results) {
        match result {
            Ok(s) => {
                stopped |= s.status == RunStatus::Stopped;
                let best = s.best_mean_reward.map(|b| format!("{b:.2}")).unwrap_or_else(|| "n/a".into());
                println!(
                    "{}: {:?} after {} timesteps; best eval mean reward {best}; {}",
                    config.experiment.name,
                    s.status,
                    s.timesteps,
                    s.run_dir.root.display()
                );
            }
            Err(e) => {
                failed = true;
                println!("{}: failed: {e}", config.experiment.name);
            }
        }
    }
    if failed {
        1
    } else if stopped {
        130
    } else {
        0
    }
}

/// Prints a group's table; 0 completed, 1 failed or partial, 130 stopped.
pub(super) fn group_exit(summary: runner::group::GroupSummary) -> i32 {
    use crate::runs::group::GroupStatus;
    print!("{}", compare::group_table(&summary));
    match summary.info.status {
        GroupStatus::Completed => 0,
        GroupStatus::Stopped | GroupStatus::Running => {
            println!("resume with: rl-research run --resume {}", summary.group.root.display());
            130
        }
        GroupStatus::Partial | GroupStatus::Failed => 1,
    }
}
