//! The headless command line: `run`, `eval`, `bench`.
//! Exit codes: 0 success, 1 an operation failed, 2 wrong input (usage, config, a
//! path that is not a run or model, a step with no checkpoint), 130 stopped by a signal.

pub mod bench;
mod bench_envs;
mod bench_gym;
mod bench_idle;
mod bench_peak;
mod bench_sb3;
mod bench_seeds;
mod check_env;
pub mod compare;
mod notebook;
pub mod progress;
mod run;
mod signals;
mod sweep;

use crate::config::Config;
use crate::runner::{self, EVAL_SEED_OFFSET, evaluate_episodes};
use crate::runs::{RunDir, SavedModel};
use std::path::{Path, PathBuf};

pub const USAGE: &str = "\
rl-research: run, track and compare reinforcement-learning experiments

USAGE:
  rl-research
      Open the desktop app (config editor, runs browser, live plots, replays).
  rl-research run [--config FILE] [KEY=VALUE ...]
      Train. FILE is RON or YAML (see configs/); overrides use Hydra's syntax:
        rl-research run experiment.name=my_exp env.id=CartPole-v1 algorithm.params.learning_rate=3e-4
      Schedules: a number (constant) or lin_<number> (linear decay to 0).
      Any Gymnasium env: env.id=gym:<id> (e.g. gym:Acrobot-v1), stepped in Python
      worker processes: env.python, env.gym_kwargs.<kwarg>=..., env.gym_imports=[my_pkg.envs].
      Prints the run directory; Ctrl-C or SIGTERM stops gracefully (models, logs
      and a checkpoint kept). Checkpoints: experiment.checkpoint_freq, keep_checkpoints.
  rl-research run experiment.n_seeds=5 | experiment.seeds=[0,1,2,3,4] [KEY=VALUE ...]
      A seed group: the config once per seed (experiment.batch_seeds=true: seeds
      batched into one computation, one batch on a GPU, one per core on the CPU;
      false: one thread per seed, one per core; auto, the default: batched on a GPU
      and for PPO on the CPU, threads for DQN on the CPU) into
      runs/<name>/seed_<k>/, then group.json and aggregate.csv (IQM, mean, median,
      95% bootstrap CIs over seeds); ends with a table. stats.bootstrap_reps, stats.confidence,
      stats.reference_score. --resume GROUP_DIR continues its unfinished seeds.
  rl-research compare RUN_OR_GROUP|tag:NAME ... [--runs-dir DIR] [--json]
      Final scores side by side (IQM, mean, median, optimality gap with CIs), the
      probability of improvement P(X > Y) of each pair and the config keys that differ.
      tag:NAME: every run and seed group tagged NAME (experiment.tags) under DIR (default runs).
  rl-research note RUN_OR_GROUP_OR_SWEEP [TEXT ...]
      Append a dated finding to its notes.md (Markdown; the runs browser shows and edits
      it); without TEXT, print the notes. The run's results are never touched.
  rl-research clean RUN_OR_GROUP_OR_SWEEP ... [--checkpoints] [--videos] [--dry-run]
      Free disk space of finished runs: remove their checkpoints (they can no longer be
      resumed or forked, and say so) and/or videos; models, metrics, replays and notes
      stay. Never a run that is still training. Prints the space freed.
  rl-research run --resume RUN_DIR
      Continue a stopped, failed or killed run from its last checkpoint, in place
      (metrics.csv continues without duplicates; identical to an unbroken run on CPU).
  rl-research run --fork RUN_DIR[@STEP] [KEY=VALUE ...]
      Start a new run from a checkpoint (the newest, or the one at STEP) with an
      edited config, e.g. algorithm.params.learning_rate=1e-4 experiment.total_timesteps=200000.
  rl-research run --multirun [--config FILE] [--resume] [--yes] [--json] [--no-wait] KEY=V1,V2 KEY=range(a,b[,s]) ... [sweep.*=...]
      Grid search: one trial per combination, sweep.workers at a time (default: cores).
      sweep.seeds=N (each trial a seed group of N seeds), sweep.objective=final|best|iqm|mean
      (default iqm with 3+ seeds, else final), sweep.pruner=median|none,
      sweep.batch_trials=auto|true|false (trials differing only in scalar hyperparameters
      train as one batched computation; auto = on a GPU, and PPO on the CPU).
      sweep.launcher=slurm: the trials as one Slurm job array (sbatch --array=...%workers),
      followed with squeue; sweep.slurm.partition|time|cpus_per_task|mem_gb|gpus_per_task|
      account|qos|extra|setup|exe; --no-wait submits and returns.
  rl-research run sweep.launcher=slurm [sweep.slurm.*=...] [KEY=VALUE ...]
      One run as a Slurm job: its run directory is runs/<experiment.name>/trial_0.
  rl-research sweep status SWEEP_DIR [--json] | rl-research sweep cancel SWEEP_DIR
      A Slurm sweep's trials (queued, running, finished; fills sweep.csv), or scancel it.
  rl-research search --trials N [--seed S] [--config FILE] [--resume] [--json] 'KEY=tag(log,interval(1e-5,1e-2))' 'KEY=choice(32,64)' 'KEY=int(interval(1,8))' ...
      Random search with Hydra/Optuna's grammar. Results: runs/<experiment.name>/sweep.csv.
  rl-research eval RUN_DIR|MODEL.zip [--episodes N] [--seed S] [--json]
      Evaluate models/best_model.zip greedily; prints mean and std of the return.
  rl-research video RUN_DIR [--episodes N] [--out FILE] [--json]
      Record N greedy episodes (default 1) of the best model to an MP4 (default
      RUN_DIR/videos/evaluation.mp4) and RUN_DIR/logs/eval_episodes.jsonl.
  rl-research bench [--quick | --ui | --idle | --peak | --seeds 1,8,32 [--algo ppo,dqn] [--device cpu|gpu] | --vs-sb3 [--python PY] [--only ppo_cartpole,ppo_gym_cartpole,...]]
      Speed benchmark: env steps/s, time to solve CartPole with PPO and DQN, GFLOP/s,
      UI frame times (--ui: only those), the CPU's FP32 FMA peak and sgemm rates that each
      job's GFLOP/s is a fraction of (--peak: only those). --idle: the app's CPU use while left alone
      (empty runs directory and 2,000 runs; needs a display) and a rescan's cost. --vs-sb3: our presets and Stable-Baselines3
      with the same hyperparameters back to back (needs a Python with
      stable-baselines3 and gymnasium; prints ours alone otherwise). --seeds: seed
      groups of S seeds trained batched vs S runs alone and one thread per seed,
      GFLOP/s and the ratio to the compute floor (--quick: shorter runs).
  rl-research gui [--tab train|runs|replay] [--runs-dir DIR] [--replay RUN_DIR] [--config FILE] [--start] [--select RUN_DIR ...] [--compare]
      Open the desktop app on a tab, runs directory, run's replay or config
      (--start: train that config at once; --select: plot these runs or seed
      groups; --compare: open the Compare view of the selected ones).
  rl-research check-env ID [--steps N] [env.KEY=VALUE ...]
      Check an env before training on it: spaces, Gymnasium's env_checker (gym: ids),
      random steps (finite, within bounds, episodes that end), the same trajectory
      twice under one seed, frames. Exit 1 if a check fails.
  rl-research keys [algorithm.name=dqn] [env.id=ID]
      List every config key with its default value and documentation.
  rl-research keys --markdown
      The whole key reference (every algorithm and env) as Markdown: docs/configuration-keys.md.

EXIT CODES: 0 ok; 1 an operation failed (I/O, training); 2 wrong input (a key or value, a path
that is not a run or model, a step with no checkpoint); 130 stopped by Ctrl-C, SIGTERM or SIGHUP
";

/// Entry point shared by `main.rs`; returns the process exit code.
pub fn main(args: Vec<String>) -> i32 {
    let rest: Vec<String> = args.into_iter().skip(1).collect();
    let Some(cmd) = rest.first() else {
        // No arguments (a double-click): the desktop app.
        return crate::app::launch::launch(crate::app::GuiOptions::default());
    };
    let tail = &rest[1..];
    match cmd.as_str() {
        "run" if tail.iter().any(|a| a == "--multirun" || a == "-m") => sweep::cmd_multirun(tail),
        // One run as a one-task Slurm job: the sweep machinery with a single trial.
        "run" if tail.iter().any(|a| a == "sweep.launcher=slurm") => sweep::cmd_multirun(tail),
        "run" => run::cmd_run(tail),
        "search" => sweep::cmd_search(tail),
        "compare" => compare::cmd_compare(tail),
        "note" => notebook::cmd_note(tail),
        "clean" => notebook::cmd_clean(tail),
        "sweep" => sweep::cmd_sweep(tail),
        "eval" => cmd_eval(tail),
        "video" => cmd_video(tail),
        "bench" => bench::cmd_bench(tail),
        "check-env" => check_env::cmd_check_env(tail),
        "keys" => cmd_keys(tail),
        "gui" => {
            let opts = match parse_gui_args(tail) {
                Ok(o) => o,
                Err(e) => {
                    eprintln!("error: {e}\n\n{USAGE}");
                    return 2;
                }
            };
            crate::app::launch::launch(opts)
        }
        "-h" | "--help" | "help" => {
            print!("{USAGE}");
            0
        }
        "-V" | "--version" => {
            println!("rl-research {}", env!("CARGO_PKG_VERSION"));
            0
        }
        other => {
            eprintln!(
                "error: unknown command '{other}': expected run, search, compare, note, clean, sweep, eval, video, bench, check-env, gui or keys\n\n{USAGE}"
            );
            2
        }
    }
}

/// `keys [--markdown] [KEY=VALUE ...]`: `keys algorithm.name=dqn` lists DQN's keys and defaults;
/// `--markdown` prints the whole reference (every algorithm and env), docs/configuration-keys.md.
fn cmd_keys(args: &[String]) -> i32 {
    if args.iter().any(|a| a == "--markdown") {
        if args.len() > 1 {
            eprintln!("error: keys --markdown prints every algorithm's and env's keys: it takes no KEY=VALUE");
            return 2;
        }
        print!("{}", crate::config::reference::markdown());
        return 0;
    }
    if let Some(flag) = args.iter().find(|a| a.starts_with("--")) {
        eprintln!("error: unknown keys option '{flag}': expected --markdown or KEY=VALUE overrides");
        return 2;
    }
    let overrides: Result<Vec<_>, _> = args.iter().map(|a| crate::config::overrides::parse_override(a)).collect();
    match overrides.and_then(|o| crate::config::apply_overrides(&Config::default(), &o)) {
        Ok(c) => {
            print!("{}", crate::config::reference::plain(&c));
            0
        }
        Err(e) => {
            eprintln!("error: {e}");
            2
        }
    }
}

/// `gui [--tab train|runs|replay] [--runs-dir DIR] [--replay RUN_DIR] [--config FILE]`.
fn parse_gui_args(args: &[String]) -> Result<crate::app::GuiOptions, String> {
    use crate::app::Tab;
    let mut o = crate::app::GuiOptions::default();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = |name: &str| it.next().cloned().ok_or_else(|| format!("{name} needs a value"));
        match a.as_str() {
            "--tab" => {
                o.tab = Some(match value("--tab")?.as_str() {
                    "train" => Tab::Train,
                    "runs" => Tab::Runs,
                    "replay" => Tab::Replay,
                    other => return Err(format!("--tab '{other}' is not a tab: use train, runs or replay")),
                })
            }
            "--start" => o.start = true,
            "--compare" => o.compare = true,
            "--select" => o.select.push(PathBuf::from(value("--select")?)),
            "--runs-dir" => o.runs_dir = Some(PathBuf::from(value("--runs-dir")?)),
            "--replay" => o.replay = Some(PathBuf::from(value("--replay")?)),
            "--config" => {
                let path = PathBuf::from(value("--config")?);
                o.config = Some(Config::load(&path).map_err(|e| e.to_string())?);
            }
            other => {
                return Err(format!(
                    "unknown gui option '{other}': expected --tab, --runs-dir, --replay, --config, --select, --compare or --start"
                ));
            }
        }
    }
    Ok(o)
}

pub use crate::config::overrides::config_from_args;

pub(super) fn shell_quote(s: &str) -> String {
    if s.chars().all(|c| c.is_ascii_alphanumeric() || "-_./=:,+[]".contains(c)) {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// `--episodes N` for `eval` and `video`: a positive integer.
fn parse_episodes(v: &str) -> Result<usize, String> {
    match v.parse::<usize>() {
        Ok(0) => Err("--episodes must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(_) => Err(format!("--episodes: '{v}' is not a positive integer")),
    }
}

/// `TARGET [--option VALUE ...] [--json]`, as `eval` and `video` take it.
struct TargetArgs {
    target: PathBuf,
    /// (long option name, value), in the order given.
    values: Vec<(&'static str, String)>,
    json: bool,
}

impl TargetArgs {
    /// The last value given for `long`.
    fn value(&self, long: &str) -> Option<&str> {
        self.values.iter().rev().find(|(k, _)| *k == long).map(|(_, v)| v.as_str())
    }
}

/// Parses one positional TARGET, the value `options` (long name, short alias or
/// "") and `--json`; anything else is a usage error (exit 2) naming it.
fn parse_target_args(
    args: &[String],
    options: &[(&'static str, &'static str)],
    one_target: &str,
    usage: &dyn Fn(String) -> (i32, String),
) -> Result<TargetArgs, (i32, String)> {
    let (mut target, mut values, mut json) = (None, Vec::new(), false);
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if let Some((long, _)) = options.iter().find(|(long, short)| a == long || (!short.is_empty() && a == short)) {
            let v = it.next().cloned().ok_or_else(|| usage(format!("{a} needs a value")))?;
            values.push((*long, v));
        } else if a == "--json" {
            json = true;
        } else if a.starts_with('-') {
            return Err(usage(format!("unknown option '{a}'")));
        } else if target.replace(PathBuf::from(a)).is_some() {
            return Err(usage(one_target.into()));
        }
    }
    let target = target.ok_or_else(|| usage("missing RUN_DIR".into()))?;
    Ok(TargetArgs { target, values, json })
}

/// Prints a command's error and turns it into its exit code.
fn exit_code(result: Result<(), (i32, String)>) -> i32 {
    match result {
        Ok(()) => 0,
        Err((code, msg)) => {
            eprintln!("error: {msg}");
            code
        }
    }
}

fn cmd_eval(args: &[String]) -> i32 {
    exit_code(eval_inner(args))
}

fn eval_inner(args: &[String]) -> Result<(), (i32, String)> {
    let usage = |m: String| (2, format!("{m}\nusage: rl-research eval RUN_DIR|MODEL.zip [--episodes N] [--seed S] [--json]"));
    let parsed = parse_target_args(args, &[("--episodes", "-n"), ("--seed", "")], "give one run directory or model file", &usage)?;
    let (target, json) = (parsed.target.clone(), parsed.json);
    let episodes = parsed.value("--episodes").map(|v| parse_episodes(v).map_err(usage)).transpose()?;
    let seed = match parsed.value("--seed") {
        Some(v) => Some(v.parse::<u64>().map_err(|_| usage(format!("--seed: '{v}' is not a non-negative integer")))?),
        None => None,
    };
    // A damaged or missing model is wrong input like a wrong path (exit 2).
    let (model, model_path) = model_for(&target).map_err(|m| (2, m))?;
    let policy = runner::load_policy(&model).map_err(|e| (1, format!("{}: {e}", model_path.display())))?;
    let config = &model.metadata.config;
    let n = episodes.unwrap_or(config.experiment.n_eval_episodes);
    let seed = seed.unwrap_or(config.experiment.seed.wrapping_add(EVAL_SEED_OFFSET));
    let mut env = config.env.make().map_err(|e| (1, e.to_string()))?;
    let mut obs = vec![0.0; env.observation_space().dim()];
    env.reset(Some(seed), &mut obs);
    let result = evaluate_episodes(&policy, env.as_mut(), n).map_err(|e| (1, e))?;
    let (mean, std) = result.mean_std();
    if json {
        let out = serde_json::json!({
            "model": model_path.display().to_string(),
            "algorithm": model.metadata.algorithm,
            "env_id": model.metadata.env_id,
            "episodes": n,
            "seed": seed,
            "mean_reward": mean,
            "std_reward": std,
            "mean_ep_length": result.mean_length(),
            "returns": result.returns,
            "lengths": result.lengths,
            "trained_timesteps": model.metadata.timesteps,
        });
        println!("{out}");
    } else {
        println!("{}: {} on {}, {} episodes", model_path.display(), model.metadata.algorithm, model.metadata.env_id, n);
        println!("mean_reward={mean:.2} +/- {std:.2} (mean episode length {:.1})", result.mean_length());
    }
    Ok(())
}

/// A run directory means its best model (its final model when best is
/// damaged, said on stderr); a .zip path is loaded as is.
fn model_for(target: &Path) -> Result<(SavedModel, PathBuf), String> {
    if crate::runs::group::GroupDir::is_group(target) {
        return Err(format!(
            "{} is a seed group: evaluate one of its seeds ({}/seed_<k>), or compare groups with rl-research compare",
            target.display(),
            target.display()
        ));
    }
    if target.is_dir() {
        let (model, path, note) = RunDir::at(target).load_preferred_model()?;
        if let Some(n) = note {
            eprintln!("{n}");
        }
        return Ok((model, path));
    }
    if target.exists() {
        return SavedModel::load(target).map(|m| (m, target.to_path_buf())).map_err(|e| e.to_string());
    }
    Err(format!("{} does not exist: give a run directory (runs/<name>) or a model .zip", target.display()))
}

pub use progress::format_duration;

fn cmd_video(args: &[String]) -> i32 {
    exit_code(video_inner(args))
}

fn video_inner(args: &[String]) -> Result<(), (i32, String)> {
    use std::io::{IsTerminal, Write};
    let usage = |m: String| (2, format!("{m}\nusage: rl-research video RUN_DIR [--episodes N] [--out FILE] [--json]"));
    let parsed = parse_target_args(args, &[("--episodes", "-n"), ("--out", "-o")], "give one run directory", &usage)?;
    let (run_dir, json) = (parsed.target.clone(), parsed.json);
    let episodes = parsed.value("--episodes").map(|v| parse_episodes(v).map_err(usage)).transpose()?.unwrap_or(1);
    let out = parsed.value("--out").map(PathBuf::from);
    if !run_dir.is_dir() {
        return Err((2, format!("{} is not a run directory (runs/<name>)", run_dir.display())));
    }
    if crate::runs::group::GroupDir::is_group(&run_dir) {
        return Err((2, format!("{} is a seed group: record one of its seeds ({}/seed_<k>)", run_dir.display(), run_dir.display())));
    }
    if let Some(o) = &out {
        if o.extension().and_then(|e| e.to_str()).map(|e| e.eq_ignore_ascii_case("mp4")) != Some(true) {
            return Err((2, format!("--out {}: the file name must end in .mp4", o.display())));
        }
    }
    let tty = std::io::stderr().is_terminal() && !json;
    let mut last = 0u64;
    let mut progress = |done: u64, total: u64| {
        if tty && (done == total || done >= last + 25) {
            last = done;
            let _ = write!(std::io::stderr(), "\rencoding frame {done}/{total} ({:.0}%)\x1b[K", done as f64 * 100.0 / total as f64);
        }
    };
    let run = RunDir::at(&run_dir);
    if run.preferred_model().is_none() {
        return Err((2, run.no_models_message()));
    }
    let stats = runner::write_run_video(&run, episodes, out.as_deref(), &mut progress).map_err(|e| (1, e))?;
    if tty {
        eprintln!();
    }
    for note in &stats.notes {
        eprintln!("{note}");
    }
    if json {
        let o = serde_json::json!({
            "path": stats.path.display().to_string(),
            "frames": stats.frames,
            "episodes": episodes,
            "mean_return": stats.mean_return,
            "wall_secs": stats.wall_secs,
            "eval_episodes": RunDir::at(&run_dir).eval_episodes().display().to_string(),
        });
        println!("{o}");
    } else {
        println!(
            "wrote {} ({} frames, {} episode(s), mean return {:.2}) in {:.2} s",
            stats.path.display(),
            stats.frames,
            episodes,
            stats.mean_return,
            stats.wall_secs
        );
    }
    Ok(())
}
