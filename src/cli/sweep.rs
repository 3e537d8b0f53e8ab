//! `rl-research run --multirun ...` (grid) and `rl-research search ...` (random).

use super::config_from_args;
use crate::sweep::{self, Dimension, SweepSettings, SweepSpec, TrialResult, TrialStatus, space};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

const MAX_TRIALS_WITHOUT_YES: u128 = 10_000;

struct Parsed {
    base_args: Vec<String>,
    params: Vec<sweep::Param>,
    settings: SweepSettings,
    resume: bool,
    yes: bool,
    json: bool,
    /// With sweep.launcher=slurm: submit and return.
    no_wait: bool,
    trials: Option<usize>,
    sampler_seed: u64,
}

fn parse(args: &[String], random: bool) -> Result<Parsed, String> {
    let mut p = Parsed {
        base_args: vec![],
        params: vec![],
        settings: SweepSettings::default(),
        resume: false,
        yes: false,
        json: false,
        no_wait: false,
        trials: None,
        sampler_seed: 0,
    };
    let mut i = 0;
    while i < args.len() {
        let a = args[i].as_str();
        let value = || args.get(i + 1).cloned().ok_or_else(|| format!("{a} needs a value"));
        match a {
            "--multirun" | "-m" => {}
            "--resume" => p.resume = true,
            "--yes" | "-y" => p.yes = true,
            "--json" => p.json = true,
            "--no-wait" => p.no_wait = true,
            "--config" | "-c" => {
                p.base_args.push("--config".into());
                p.base_args.push(value()?);
                i += 1;
            }
            "--trials" if random => {
                let v = value()?;
                p.trials =
                    Some(v.parse().ok().filter(|&n: &usize| n > 0).ok_or_else(|| format!("--trials: '{v}' is not a positive integer"))?);
                i += 1;
            }
            "--seed" if random => {
                let v = value()?;
                p.sampler_seed = v.parse().map_err(|_| format!("--seed: '{v}' is not a non-negative integer"))?;
                i += 1;
            }
            s if s.starts_with("--config=") => p.base_args.push(s.to_string()),
            s if s.starts_with('-') => return Err(format!("unknown option '{s}'")),
            s if s.starts_with("sweep.") => p.settings.set(s)?,
            s => {
                let param = space::parse_param(s).map_err(|e| e.0)?;
                match &param.dim {
                    Dimension::Values(v) if v.len() == 1 => p.base_args.push(format!("{}={}", param.key, v[0])),
                    _ => p.params.push(param),
                }
            }
        }
        i += 1;
    }
    Ok(p)
}

pub fn cmd_multirun(args: &[String]) -> i32 {
    run_cli(args, false)
}

pub fn cmd_search(args: &[String]) -> i32 {
    run_cli(args, true)
}

fn run_cli(args: &[String], random: bool) -> i32 {
    let mut p = match parse(args, random) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    let trials = if random {
        let Some(n) = p.trials else {
            eprintln!("error: search needs --trials N");
            return 2;
        };
        if p.params.is_empty() {
            eprintln!("error: search needs at least one distribution, e.g. 'algorithm.params.learning_rate=tag(log,interval(1e-5,1e-2))'");
            return 2;
        }
        space::random_trials(&p.params, n, p.sampler_seed)
    } else {
        let slurm_single = p.params.is_empty()
            && p.settings.launcher == sweep::slurm::Launcher::Slurm
            && !args.iter().any(|a| a == "--multirun" || a == "-m");
        if p.params.is_empty() && !slurm_single {
            eprintln!("error: --multirun needs at least one swept key, e.g. algorithm.params.batch_size=32,64");
            return 2;
        }
        let size = space::grid_size(&p.params);
        if size > MAX_TRIALS_WITHOUT_YES && !p.yes {
            eprintln!("error: the grid has {size} trials (more than {MAX_TRIALS_WITHOUT_YES}); pass --yes if you mean it");
            return 2;
        }
        match space::grid(&p.params) {
            Ok(t) if t.is_empty() && slurm_single => vec![vec![]],
            Ok(t) => t,
            Err(e) => {
                eprintln!("error: {e}");
                return 2;
            }
        }
    };
    // Every trial's config must be valid before anything runs.
    let mut base_config = None;
    for t in &trials {
        let mut a = p.base_args.clone();
        a.extend(t.iter().map(|(k, v)| format!("{k}={v}")));
        match config_from_args(&a) {
            Ok(c) => {
                base_config.get_or_insert(c);
            }
            Err(e) => {
                let desc = t.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(" ");
                eprintln!("error: trial [{desc}]: {e}");
                return 2;
            }
        }
    }
    let Some(config) = base_config else {
        eprintln!("error: no trials");
        return 2;
    };
    let sweep_dir = sweep::dir::SweepDir::for_name(&config.experiment.runs_dir, &config.experiment.name, p.resume).root;
    // Trials carry the sweep's name as a tag.
    p.base_args.extend(sweep::dir::SweepDir::at(&sweep_dir).tag_override(&config));
    let spec = SweepSpec {
        kind: if random { "random".into() } else { "grid".into() },
        command_line: std::iter::once("rl-research".to_string()).chain(std::env::args().skip(1)).collect::<Vec<_>>().join(" "),
        base_args: p.base_args.clone(),
        trials,
        settings: p.settings.clone(),
        base_seed: config.experiment.seed,
    };
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    super::signals::on_stop_signals(move |name| {
        flag.store(true, Ordering::SeqCst);
        eprintln!("\n{name}: stopping all trials gracefully...");
    });
    let exe = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("rl-research"));
    if p.no_wait && spec.settings.launcher != sweep::slurm::Launcher::Slurm {
        eprintln!("error: --no-wait needs sweep.launcher=slurm (a local sweep runs its trials in this process)");
        return 2;
    }
    let total = spec.trials.len();
    let slurm = spec.settings.launcher == sweep::slurm::Launcher::Slurm;
    if slurm && spec.trials.len() == 1 && spec.trials[0].is_empty() {
        eprintln!("one run on Slurm: its run directory will be {}", sweep::dir::SweepDir::at(&sweep_dir).trial_run("trial_0").display());
    } else if slurm {
        eprintln!(
            "sweep: {total} trials ({}) on Slurm, {} at a time, {} seed(s) each -> {}",
            spec.kind,
            spec.settings.workers,
            spec.settings.seeds,
            sweep_dir.display()
        );
    } else {
        eprintln!(
            "sweep: {total} trials ({}), {} workers, {} seed(s) each -> {}",
            spec.kind,
            spec.settings.workers,
            spec.settings.seeds,
            sweep_dir.display()
        );
        let plan = sweep::batches::plan(&spec, &(0..total).collect::<Vec<_>>());
        if plan.batches() > 0 {
            let sizes: Vec<String> = plan.units.iter().filter(|u| u.len() > 1).map(|u| u.len().to_string()).collect();
            eprintln!(
                "batched: trials differing only in scalar hyperparameters train as {} batch(es) of {} trials (sweep.batch_trials={})",
                sizes.len(),
                sizes.join(", "),
                spec.settings.batch_trials
            );
        } else if let Some(why) = plan.why_not.as_deref().filter(|_| spec.settings.batch_trials != crate::config::BatchSeeds::Off) {
            eprintln!("not batched: {why}");
        }
    }
    let mut done = 0;
    // Slurm's own progress lines already report each trial.
    let mut on_trial = |r: &TrialResult| {
        if !slurm {
            done += 1;
            eprintln!(
                "[{done}/{total}] trial {} {}: objective {} ({:.1} s) {}",
                r.id,
                status_name(r.status),
                fmt_obj(r),
                r.wall_secs,
                fmt_params(&r.params)
            );
        }
    };
    let l = sweep::launch::Launch { exe: &exe, spec: &spec, dir: &sweep_dir, resume: p.resume, no_wait: p.no_wait, stop: stop.clone() };
    let launched = match sweep::launch::launch(l, &mut |m| eprintln!("{m}"), &mut on_trial) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: {e}");
            return 1;
        }
    };
    if let (true, Some(job_id)) = (p.no_wait, &launched.job_id) {
        println!(
            "Slurm job {job_id}: follow it with `rl-research sweep status {}`, stop it with `rl-research sweep cancel {}`",
            sweep_dir.display(),
            sweep_dir.display()
        );
        return 0;
    }
    print_summary(&launched.results, &sweep_dir, p.json);
    let stopped = slurm && launched.results.iter().any(|r| r.status == TrialStatus::Stopped);
    if stop.load(Ordering::SeqCst) || stopped { 130 } else { 0 }
}

/// `rl-research sweep status DIR [--json]` and `rl-research sweep cancel DIR`.
pub fn cmd_sweep(args: &[String]) -> i32 {
    let usage = "usage: rl-research sweep status SWEEP_DIR [--json] | rl-research sweep cancel SWEEP_DIR";
    let json = args.iter().any(|a| a == "--json");
    let rest: Vec<&String> = args.iter().filter(|a| *a != "--json").collect();
    let (verb, dir) = match rest.as_slice() {
        [v, d] => (v.as_str(), PathBuf::from(d.as_str())),
        _ => {
            eprintln!("error: {usage}");
            return 2;
        }
    };
    let spec: SweepSpec = match sweep::dir::SweepDir::at(&dir).load_spec() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    match verb {
        "cancel" => match sweep::slurm::cancel(&dir) {
            Ok(ids) => {
                println!(
                    "cancelled Slurm job(s) {}: running trials stop gracefully (resumable with --resume), queued ones will not start",
                    ids.join(" ")
                );
                0
            }
            Err(e) => {
                eprintln!("error: {e}");
                1
            }
        },
        "status" => {
            if spec.settings.launcher != sweep::slurm::Launcher::Slurm {
                print_summary(&sweep::load_results(&dir), &dir, json);
                return 0;
            }
            match sweep::slurm::poll(&spec, &dir, &[]) {
                Ok((results, live)) => {
                    if !json {
                        for (id, state) in &live {
                            println!(
                                "trial {id}: {} (Slurm job {})",
                                format!("{state:?}").to_lowercase(),
                                sweep::slurm::Jobs::read(&dir).job_of(*id).unwrap_or("?")
                            );
                        }
                    }
                    print_summary(&results, &dir, json);
                    0
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    1
                }
            }
        }
        other => {
            eprintln!("error: unknown sweep command '{other}'\n{usage}");
            2
        }
    }
}

fn status_name(s: TrialStatus) -> &'static str {
    match s {
        TrialStatus::Completed => "completed",
        TrialStatus::Failed => "failed",
        TrialStatus::Pruned => "pruned",
        TrialStatus::Stopped => "stopped",
    }
}

fn fmt_obj(r: &TrialResult) -> String {
    match (r.objective_mean, r.objective_std) {
        (Some(m), Some(s)) if r.seeds.len() > 1 => format!("{m:.2} +/- {s:.2}"),
        (Some(m), _) => format!("{m:.2}"),
        _ => "-".into(),
    }
}

fn fmt_params(p: &[(String, String)]) -> String {
    p.iter().map(|(k, v)| format!("{}={v}", k.rsplit('.').next().unwrap_or(k))).collect::<Vec<_>>().join(" ")
}

fn print_summary(results: &[TrialResult], sweep_dir: &Path, json: bool) {
    let mut sorted: Vec<&TrialResult> = results.iter().collect();
    sorted.sort_by(|a, b| b.objective_mean.unwrap_or(f64::NEG_INFINITY).total_cmp(&a.objective_mean.unwrap_or(f64::NEG_INFINITY)));
    let best = sorted.first().filter(|r| r.objective_mean.is_some());
    if json {
        let o = serde_json::json!({
            "sweep_dir": sweep_dir.display().to_string(),
            "trials": results,
            "best": best,
        });
        println!("{o}");
        return;
    }
    println!("{:>4}  {:>6}  {:>18}  {:>10}  {:>8}  params", "rank", "trial", "objective", "status", "secs");
    for (rank, r) in sorted.iter().enumerate() {
        println!(
            "{:>4}  {:>6}  {:>18}  {:>10}  {:>8.1}  {}",
            rank + 1,
            r.id,
            fmt_obj(r),
            status_name(r.status),
            r.wall_secs,
            fmt_params(&r.params)
        );
    }
    match best {
        Some(b) => println!(
            "best: trial {} objective {} with {}",
            b.id,
            fmt_obj(b),
            b.params.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(" ")
        ),
        None => println!("best: none (no trial completed)"),
    }
    println!("sweep directory: {}  (sweep.csv, sweep.json)", sweep_dir.display());
}
