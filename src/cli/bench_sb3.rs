//! `rl-research bench --vs-sb3`: our presets and Stable-Baselines3 with the
//! same hyperparameters, back to back on this machine, each as its own process.
//!
//! Ours runs as `rl-research run --config <preset>` (whole process timed from
//! outside; training-only time from `run_info.json`). SB3 runs
//! `benches/sb3_side.py` (built into the binary) with a spec translated from
//! the same preset; it reports its training-only time (learn minus EvalCallback
//! evaluations). Both evaluate `n_eval_episodes` greedy episodes every
//! `eval_freq` env steps and once at the end.

use crate::config::Config;
use crate::runs::logger::read_metrics;
use crate::runs::{RunDir, RunInfo};
use serde_json::{Value, json};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

const SB3_SIDE_PY: &str = include_str!("../../benches/sb3_side.py");

/// How to get the comparison, printed when no usable Python is found.
pub const SB3_HOWTO: &str = "python3 -m venv ~/.venvs/sb3 && ~/.venvs/sb3/bin/pip install stable-baselines3 'gymnasium[box2d]'; \
then: rl-research bench --vs-sb3 --python ~/.venvs/sb3/bin/python (or set RL_RESEARCH_SB3_PYTHON)";

/// One benchmarked workload: a preset, optionally cut to fewer steps.
pub struct Workload {
    pub key: &'static str,
    pub label: &'static str,
    pub preset: &'static str,
    pub total_timesteps: Option<u64>,
    /// Ours steps the env as `gym:<id>` in Python workers (that Python's
    /// Gymnasium), SB3 in a `SubprocVecEnv`: both sides step Gymnasium's env.
    pub gym: bool,
}

pub const WORKLOADS: &[Workload] = &[
    Workload { key: "ppo_cartpole", label: "PPO, default run (1e5 steps)", preset: "cartpole_ppo", total_timesteps: None, gym: false },
    Workload { key: "dqn_cartpole", label: "DQN preset (5e4 steps)", preset: "cartpole_dqn", total_timesteps: None, gym: false },
    Workload {
        key: "ppo_lunar",
        label: "PPO preset, first 1e5 steps",
        preset: "lunarlander_ppo",
        total_timesteps: Some(100_000),
        gym: false,
    },
    Workload {
        key: "ppo_acrobot",
        label: "PPO preset (VecNormalize), first 1e5 steps",
        preset: "acrobot_ppo",
        total_timesteps: Some(100_000),
        gym: false,
    },
    Workload { key: "ppo_pendulum", label: "PPO preset (gSDE, 1e5 steps)", preset: "pendulum_ppo", total_timesteps: None, gym: false },
    Workload {
        key: "a2c_cartpole",
        label: "A2C preset, first 1e5 steps",
        preset: "cartpole_a2c",
        total_timesteps: Some(100_000),
        gym: false,
    },
    Workload { key: "sac_pendulum", label: "SAC preset (2e4 steps)", preset: "pendulum_sac", total_timesteps: None, gym: false },
    Workload { key: "td3_pendulum", label: "TD3 preset (2e4 steps)", preset: "pendulum_td3", total_timesteps: None, gym: false },
    Workload {
        key: "ppo_gym_cartpole",
        label: "PPO, default run (1e5 steps), Gymnasium's CartPole in worker processes (SB3: SubprocVecEnv)",
        preset: "cartpole_ppo",
        total_timesteps: None,
        gym: true,
    },
];

/// One side's result.
#[derive(Clone, Debug, Default)]
pub struct SideResult {
    pub whole_secs: f64,
    pub train_secs: Option<f64>,
    pub final_eval: Option<(f64, f64)>,
    pub best_eval: Option<f64>,
    /// Env steps trained (ours: from run_info.json).
    pub timesteps: Option<u64>,
}

/// The SB3 spec for a config. Our hyperparameter names are SB3's (and rl-zoo's),
/// schedules serialise as rl-zoo writes them (a number or `lin_<x>`), so the
/// params go over as they are: nothing to translate, nothing to drift apart.
pub fn sb3_spec(config: &Config) -> Value {
    let params = config.algorithm.params_json();
    let e = &config.env;
    let found = crate::envs::registry::find(&e.id);
    let gym_id = crate::envs::gym::gym_id(&e.id).map(str::to_string);
    // Our parameters are named as Gymnasium's make kwargs: they go over as resolved.
    let resolved = found.as_ref().and_then(|f| f.spec.resolve_params(&e.params).ok()).unwrap_or_default();
    let mut env_kwargs: serde_json::Map<String, Value> =
        resolved.0.iter().map(|(k, v)| (k.clone(), serde_json::to_value(v).unwrap_or(Value::Null))).collect();
    if let Some(steps) = e.max_episode_steps {
        env_kwargs.insert("max_episode_steps".into(), json!(steps));
    }
    json!({
        "algo": config.algorithm.name(),
        // The id Gymnasium knows (1.x has no LunarLander-v2 any more: v3 is the same with wind off).
        "env_id": gym_id.clone().or_else(|| found.as_ref().and_then(|f| f.spec.gymnasium_id.clone())).unwrap_or_else(|| e.id.clone()),
        "env_kwargs_gym": e.gym_kwargs,
        "vec_env": if gym_id.is_some() { "subproc" } else { "dummy" },
        "env_kwargs": env_kwargs,
        "n_envs": e.n_envs,
        "normalize_obs": e.normalize_obs,
        "normalize_reward": e.normalize_reward,
        "seed": config.experiment.seed,
        "total_timesteps": config.experiment.total_timesteps,
        "eval_freq": config.experiment.eval_freq,
        "n_eval_episodes": config.experiment.n_eval_episodes,
        "params": params,
    })
}

/// A Python with stable-baselines3, gymnasium and torch, or why there is none.
pub fn find_python(explicit: Option<&str>) -> Result<(String, String), String> {
    let candidates: Vec<String> = match explicit {
        Some(p) => vec![p.to_string()],
        None => std::env::var("RL_RESEARCH_SB3_PYTHON").ok().into_iter().chain(["python3".to_string(), "python".to_string()]).collect(),
    };
    let probe =
        "import stable_baselines3, gymnasium, torch; print(stable_baselines3.__version__, torch.__version__, gymnasium.__version__)";
    let mut tried = Vec::new();
    for py in candidates {
        match Command::new(&py).args(["-c", probe]).stderr(Stdio::null()).output() {
            Ok(out) if out.status.success() => {
                let v = String::from_utf8_lossy(&out.stdout).trim().to_string();
                let mut parts = v.split_whitespace();
                let versions = format!(
                    "SB3 {}, torch {}, gymnasium {}",
                    parts.next().unwrap_or("?"),
                    parts.next().unwrap_or("?"),
                    parts.next().unwrap_or("?")
                );
                return Ok((py, versions));
            }
            Ok(_) => tried.push(format!("{py}: no stable_baselines3/gymnasium/torch")),
            Err(e) => tried.push(format!("{py}: {e}")),
        }
    }
    Err(tried.join("; "))
}

/// Whether that Python can make LunarLander (needs gymnasium[box2d]).
fn python_has_box2d(py: &str) -> bool {
    Command::new(py).args(["-c", "import Box2D"]).stderr(Stdio::null()).stdout(Stdio::null()).status().is_ok_and(|s| s.success())
}

/// Last `eval/mean_reward` and `eval/std_reward` of a run (its final evaluation).
fn final_eval(run: &RunDir) -> Option<(f64, f64)> {
    let rows = read_metrics(&run.metrics_csv()).ok()?;
    let last = |name: &str| rows.iter().rev().find(|r| r.metric == name).map(|r| r.value);
    Some((last("eval/mean_reward")?, last("eval/std_reward")?))
}

/// Runs a child process to the end with no input and its output discarded;
/// returns its wall seconds, or the last lines of its stderr when it fails.
fn run_timed(cmd: &mut Command, what: &str) -> Result<f64, String> {
    let t0 = Instant::now();
    let out = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| format!("starting {what} ({:?}): {e}", cmd.get_program()))?;
    let secs = t0.elapsed().as_secs_f64();
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = err.lines().rev().take(6).collect();
        return Err(format!("{what} failed ({}): {}", out.status, tail.into_iter().rev().collect::<Vec<_>>().join(" | ")));
    }
    Ok(secs)
}

/// Our side: `rl-research run --config <preset.yaml>` as a child process.
pub fn run_ours(config: &Config, work: &Path) -> Result<SideResult, String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find this executable: {e}"))?;
    let cfg_path = work.join(format!("{}.yaml", config.experiment.name));
    std::fs::write(&cfg_path, config.to_yaml()).map_err(|e| format!("writing {}: {e}", cfg_path.display()))?;
    let whole_secs = run_timed(Command::new(&exe).args(["run", "--config"]).arg(&cfg_path), "rl-research run")?;
    let run = RunDir::at(config.experiment.runs_dir.join(&config.experiment.name));
    let info = RunInfo::read(&run).map_err(|e| format!("reading {}: {e}", run.run_info().display()))?;
    Ok(SideResult {
        whole_secs,
        train_secs: info.train_secs,
        final_eval: final_eval(&run),
        best_eval: info.best_eval_mean_reward,
        timesteps: Some(info.timesteps_done),
    })
}

/// SB3's side: `python sb3_side.py spec.json out.json` as a child process.
pub fn run_sb3(python: &str, config: &Config, work: &Path) -> Result<SideResult, String> {
    let script = work.join("sb3_side.py");
    std::fs::write(&script, SB3_SIDE_PY).map_err(|e| format!("writing {}: {e}", script.display()))?;
    let spec_path = work.join(format!("{}.sb3.json", config.experiment.name));
    let out_path = work.join(format!("{}.sb3.out.json", config.experiment.name));
    std::fs::write(&spec_path, sb3_spec(config).to_string()).map_err(|e| format!("writing {}: {e}", spec_path.display()))?;
    let whole_secs = run_timed(Command::new(python).arg(&script).arg(&spec_path).arg(&out_path), "the SB3 side")?;
    let text = std::fs::read_to_string(&out_path).map_err(|e| format!("reading {}: {e}", out_path.display()))?;
    let v: Value = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", out_path.display()))?;
    let f = |k: &str| v.get(k).and_then(Value::as_f64);
    Ok(SideResult {
        whole_secs,
        train_secs: f("train_secs"),
        final_eval: f("final_mean_reward").zip(f("final_std_reward")),
        best_eval: f("best_mean_reward"),
        timesteps: None,
    })
}

fn secs(s: Option<f64>) -> String {
    s.map(|s| format!("{s:.1} s")).unwrap_or_else(|| "-".into())
}

fn evals(r: &SideResult) -> String {
    let fin = r.final_eval.map(|(m, s)| format!("{m:.1} ± {s:.1}")).unwrap_or_else(|| "-".into());
    let best = r.best_eval.map(|b| format!("{b:.1}")).unwrap_or_else(|| "-".into());
    format!("final {fin}, best {best}")
}

fn ratio(sb3: Option<f64>, ours: Option<f64>) -> String {
    match (sb3, ours) {
        (Some(a), Some(b)) if b > 0.0 => format!("{:.2}x", a / b),
        _ => "-".into(),
    }
}

/// `bench --vs-sb3 [--python PY] [--only KEY,KEY]`.
pub fn cmd_vs_sb3(python: Option<&str>, only: Option<&str>) -> i32 {
    let selected: Vec<&Workload> = match only {
        Some(list) => {
            let keys: Vec<&str> = list.split(',').map(str::trim).collect();
            if let Some(bad) = keys.iter().find(|k| !WORKLOADS.iter().any(|w| w.key == **k)) {
                let valid: Vec<&str> = WORKLOADS.iter().map(|w| w.key).collect();
                eprintln!("error: --only: unknown workload '{bad}': valid ones are {}", valid.join(", "));
                return 2;
            }
            WORKLOADS.iter().filter(|w| keys.contains(&w.key)).collect()
        }
        None => WORKLOADS.iter().collect(),
    };
    let env = crate::runs::sysinfo::EnvironmentInfo::collect("cpu (burn flex)", 0);
    println!("rl-research {} vs Stable-Baselines3 on {} ({} cores, {} {})", env.crate_version, env.cpu, env.cpu_cores, env.os, env.arch);
    let sb3 = find_python(python);
    match &sb3 {
        Ok((py, versions)) => println!("SB3 side: {py} ({versions}); both on the CPU, each process with every core"),
        Err(why) => {
            println!("SB3 side: not available ({why})");
            println!("  to compare: {SB3_HOWTO}");
            println!("  ours alone below.");
        }
    }
    let work = std::env::temp_dir().join(format!("rl-research-vs-sb3-{}", std::process::id()));
    if let Err(e) = std::fs::create_dir_all(&work) {
        eprintln!("error: creating {}: {e}", work.display());
        return 1;
    }
    // The ceiling each of our training jobs is read against (a run trains on one thread).
    let peak = super::bench_peak::fma_peak();
    println!("{}", peak.describe());
    let mut failed = false;
    for w in selected {
        let mut config = match crate::config::builtin_preset(w.preset) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("error: {e}");
                return 1;
            }
        };
        config.experiment.name = format!("vs_sb3_{}", w.key);
        config.experiment.runs_dir = work.join("runs");
        config.experiment.video_episodes = 0;
        if let Some(t) = w.total_timesteps {
            config.experiment.total_timesteps = t;
        }
        if w.gym {
            let Ok((py, _)) = &sb3 else {
                println!("\n{}: skipped: it needs a Python with Gymnasium (the SB3 side's)", w.key);
                continue;
            };
            let native = config.env.id.clone();
            config.env.id = format!("{}{native}", crate::envs::gym::PREFIX);
            config.env.python = Some(py.clone());
            println!("\n{} {}:", config.env.id, w.label);
            match super::bench_gym::stepping(py, &native, config.env.n_envs) {
                Ok(lines) => lines.iter().for_each(|l| println!("  {l}")),
                Err(e) => println!("  env stepping: {e}"),
            }
        } else {
            println!("\n{} {}:", config.env.id, w.label);
        }
        let ours = match run_ours(&config, &work) {
            Ok(r) => r,
            Err(e) => {
                println!("  ours: {e}");
                failed = true;
                continue;
            }
        };
        println!("  ours: whole process {:.1} s, training {}, eval {}", ours.whole_secs, secs(ours.train_secs), evals(&ours));
        if let (Some(t), Some(steps)) = (ours.train_secs.filter(|t| *t > 0.0), ours.timesteps) {
            let gflops = super::bench::training_flops(&config, steps) / 1e9 / t;
            if gflops.is_finite() {
                println!(
                    "  ours: {gflops:.1} GFLOP/s training, {:.1}% of one core's FMA peak, {:.1}% of all cores'",
                    100.0 * gflops / peak.one_core_gflops,
                    100.0 * gflops / peak.all_cores_gflops
                );
            }
        }
        let Ok((py, _)) = &sb3 else { continue };
        if crate::envs::registry::find(&config.env.id).is_some_and(|f| f.spec.needs_box2d) && !python_has_box2d(py) {
            println!("  SB3:  skipped: {py} cannot import Box2D (pip install 'gymnasium[box2d]')");
            continue;
        }
        match run_sb3(py, &config, &work) {
            Ok(theirs) => {
                println!("  SB3:  whole process {:.1} s, training {}, eval {}", theirs.whole_secs, secs(theirs.train_secs), evals(&theirs));
                println!(
                    "  speed-up: whole process {}, training only {}",
                    ratio(Some(theirs.whole_secs), Some(ours.whole_secs)),
                    ratio(theirs.train_secs, ours.train_secs)
                );
            }
            Err(e) => {
                println!("  SB3:  {e}");
                failed = true;
            }
        }
    }
    let _ = std::fs::remove_dir_all(&work);
    if failed { 1 } else { 0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Keyword arguments of SB3 2.x's `PPO(...)` / `DQN(...)`, plus the policy
    /// settings sb3_side.py turns into `policy_kwargs`.
    const SB3_PPO: &[&str] = &[
        "learning_rate",
        "n_steps",
        "batch_size",
        "n_epochs",
        "gamma",
        "gae_lambda",
        "clip_range",
        "ent_coef",
        "vf_coef",
        "max_grad_norm",
        "normalize_advantage",
        "use_sde",
        "sde_sample_freq",
    ];
    const SB3_A2C: &[&str] = &[
        "learning_rate",
        "n_steps",
        "gamma",
        "gae_lambda",
        "ent_coef",
        "vf_coef",
        "max_grad_norm",
        "use_rms_prop",
        "rms_prop_eps",
        "normalize_advantage",
        "use_sde",
        "sde_sample_freq",
    ];
    const SB3_DQN: &[&str] = &[
        "learning_rate",
        "buffer_size",
        "learning_starts",
        "batch_size",
        "gamma",
        "target_update_interval",
        "train_freq",
        "gradient_steps",
        "exploration_fraction",
        "exploration_initial_eps",
        "exploration_final_eps",
        "max_grad_norm",
    ];
    const SB3_SAC: &[&str] = &[
        "learning_rate",
        "buffer_size",
        "learning_starts",
        "batch_size",
        "tau",
        "gamma",
        "train_freq",
        "gradient_steps",
        "ent_coef",
        "target_update_interval",
        "use_sde",
        "sde_sample_freq",
    ];
    const SB3_TD3: &[&str] = &[
        "learning_rate",
        "buffer_size",
        "learning_starts",
        "batch_size",
        "tau",
        "gamma",
        "train_freq",
        "gradient_steps",
        "policy_delay",
        "target_policy_noise",
        "target_noise_clip",
    ];
    /// Mapped by sb3_side.py: into policy_kwargs, or (TD3's noise) into an action_noise object.
    const POLICY: &[&str] = &["net_arch", "activation", "ortho_init", "adam_eps", "log_std_init", "noise_type", "noise_std"];

    fn keys(spec: &Value) -> Vec<String> {
        spec["params"].as_object().map(|o| o.keys().cloned().collect()).unwrap_or_default()
    }

    #[test]
    fn sb3_spec_sends_only_arguments_sb3_takes() {
        let c = crate::config::builtin_preset("cartpole_ppo").unwrap();
        let s = sb3_spec(&c);
        assert_eq!(s["algo"], "ppo");
        assert_eq!(s["n_envs"], 8);
        assert_eq!(s["params"]["learning_rate"], "lin_0.001");
        assert_eq!(s["params"]["clip_range"], "lin_0.2");
        assert_eq!(s["params"]["n_epochs"], 20);
        assert_eq!(s["params"]["activation"], "tanh");
        // A new PPO/DQN field without an SB3 counterpart must be mapped in sb3_side.py first.
        for k in keys(&s) {
            assert!(SB3_PPO.contains(&k.as_str()) || POLICY.contains(&k.as_str()), "PPO param {k} is no SB3 PPO argument");
        }
        let d = sb3_spec(&crate::config::builtin_preset("cartpole_dqn").unwrap());
        assert_eq!(d["params"]["learning_rate"], 2.3e-3);
        assert_eq!(d["params"]["gradient_steps"], 128);
        for k in keys(&d) {
            assert!(SB3_DQN.contains(&k.as_str()) || POLICY.contains(&k.as_str()), "DQN param {k} is no SB3 DQN argument");
        }
        let a = sb3_spec(&crate::config::builtin_preset("pendulum_a2c").unwrap());
        assert_eq!(a["params"]["learning_rate"], "lin_0.0007");
        for k in keys(&a) {
            assert!(SB3_A2C.contains(&k.as_str()) || POLICY.contains(&k.as_str()), "A2C param {k} is no SB3 A2C argument");
        }
        for (preset, allowed) in [("mountaincarcontinuous_sac", SB3_SAC), ("pendulum_td3", SB3_TD3)] {
            let o = sb3_spec(&crate::config::builtin_preset(preset).unwrap());
            for k in keys(&o) {
                assert!(allowed.contains(&k.as_str()) || POLICY.contains(&k.as_str()), "{preset} param {k} is no SB3 argument");
            }
        }
        let l = sb3_spec(&crate::config::builtin_preset("lunarlander_ppo").unwrap());
        assert_eq!(l["env_id"], crate::envs::lunar_lander::ID);
        assert_eq!(l["env_kwargs"]["gravity"], -10.0);
        assert_eq!(l["n_envs"], 16);
    }
}
