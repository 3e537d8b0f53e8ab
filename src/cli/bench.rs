//! `rl-research bench`: the speed numbers we track against SB3/Gymnasium.
//! Prints env throughput, wall time to first reach eval mean >= 475 on CartPole
//! with the default PPO run and the DQN preset, and achieved training GFLOP/s
//! (analytic FLOP count of the gradient steps / training wall time).

use crate::config::Config;
use crate::envs::{Action, CartPole, Env, TimeLimit};
use crate::rng::Rng;
use crate::runner::{RunSummary, run_experiment};
use std::time::Instant;

/// FLOPs of all gradient steps of a run, from its algorithm's descriptor.
pub fn training_flops(config: &Config, timesteps: u64) -> f64 {
    // The env's own observation and action sizes (CartPole's when the id is unknown).
    let (obs_dim, n_actions) = config
        .env
        .spec()
        .map(|s| (s.observation_space.low.len(), s.action_space_for(&config.env.params).policy_outputs()))
        .unwrap_or((4, 2));
    (config.algorithm.spec().training_flops)(&config.algorithm, config.env.n_envs, obs_dim, n_actions, timesteps)
}

pub fn cartpole_steps_per_sec(steps: u64) -> f64 {
    let mut env = TimeLimit::new(CartPole::new(), 500);
    let mut obs = [0f32; 4];
    let mut rng = Rng::seed_from_u64(0);
    env.reset(Some(0), &mut obs);
    let t0 = Instant::now();
    let mut bits = 0u64;
    let mut acc = 0.0f32;
    for i in 0..steps {
        if i % 64 == 0 {
            bits = rng.next_u64();
        }
        let out = env.step(Action::Discrete((bits & 1) as usize), &mut obs);
        bits >>= 1;
        acc += obs[0];
        if out.terminated || out.truncated {
            env.reset(None, &mut obs);
        }
    }
    std::hint::black_box(acc);
    steps as f64 / t0.elapsed().as_secs_f64()
}

/// How much slower arithmetic on denormal floats is than on normal ones on
/// this CPU, with IEEE denormals and with them flushed (the mode training
/// runs in). Returns (IEEE slowdown, flushed slowdown).
pub fn denormal_penalty() -> (f64, f64) {
    fn ns_per_element(mode: crate::fpmode::FpMode, value: f32) -> f64 {
        crate::fpmode::set(mode);
        let x = vec![value; 4096];
        let mut y = vec![0f32; 4096];
        let mut best = f64::INFINITY;
        for _ in 0..5 {
            let t0 = Instant::now();
            for _ in 0..200 {
                for (o, &v) in y.iter_mut().zip(std::hint::black_box(&x)) {
                    *o = v * 0.75 + v; // a denormal input makes both ops denormal
                }
                std::hint::black_box(&mut y);
            }
            best = best.min(t0.elapsed().as_secs_f64() * 1e9 / (200.0 * 4096.0));
        }
        best
    }
    // A fresh thread, so the caller's mode stays as it is.
    std::thread::spawn(|| {
        let base = crate::fpmode::current();
        let ratio = |mode| ns_per_element(mode, 1e-39) / ns_per_element(mode, 1.0);
        (ratio(base.ieee()), ratio(base.flushing()))
    })
    .join()
    .unwrap_or((f64::NAN, f64::NAN))
}

/// LunarLander with random actions: single env on this thread, and a 16-env
/// vectorized env stepping on all cores. Returns (single, vectorized) steps/s.
pub fn lunar_steps_per_sec(steps: u64) -> (f64, f64) {
    use crate::envs::{LunarLander, VecEnv};
    let mut env = TimeLimit::new(LunarLander::default(), 1000);
    let mut obs = [0f32; 8];
    let mut rng = Rng::seed_from_u64(0);
    env.reset(Some(0), &mut obs);
    let t0 = Instant::now();
    for _ in 0..steps {
        let out = env.step(Action::Discrete(rng.below(4)), &mut obs);
        if out.terminated || out.truncated {
            env.reset(None, &mut obs);
        }
    }
    let single = steps as f64 / t0.elapsed().as_secs_f64();
    let n = 16;
    let envs: Vec<Box<dyn Env>> = (0..n).map(|_| Box::new(TimeLimit::new(LunarLander::default(), 1000)) as Box<dyn Env>).collect();
    let mut venv = VecEnv::new(envs);
    let _ = venv.reset(0);
    let mut actions = vec![0usize; n];
    let t0 = Instant::now();
    for _ in 0..steps / n as u64 {
        for a in &mut actions {
            *a = rng.below(4);
        }
        let _ = venv.step(crate::envs::Actions::Discrete(&actions));
        venv.finished.clear();
    }
    (single, (steps / n as u64 * n as u64) as f64 / t0.elapsed().as_secs_f64())
}

/// Render + encode of `n` LunarLander frames (heuristic episodes, particles on):
/// returns fps of rendering alone, encoding alone and the two pipelined.
pub fn video_fps(n: usize) -> Result<(f64, f64, f64), String> {
    use crate::envs::lunar_lander::{LunarLander, heuristic};
    use crate::envs::render::{Frame, canvas, render_into};
    use crate::runner::replay::{EpisodeRecord, write_episodes_video};
    let mut env = TimeLimit::new(LunarLander::default(), 1000);
    env.set_render(true);
    let mut obs = [0f32; 8];
    let mut episodes = Vec::new();
    let mut total = 0;
    let mut seed = 0;
    while total < n {
        env.reset(Some(seed), &mut obs);
        let mut frames = vec![env.render_state().ok_or("no render state")?];
        loop {
            let out = env.step(Action::Discrete(heuristic(&obs)), &mut obs);
            frames.push(env.render_state().ok_or("no render state")?);
            if out.terminated || out.truncated || total + frames.len() >= n {
                break;
            }
        }
        total += frames.len();
        episodes.push(EpisodeRecord {
            env_id: crate::envs::lunar_lander::ID.into(),
            action_space: None,
            seed,
            episode_return: 0.0,
            length: 0,
            reset_obs: vec![],
            steps: vec![],
            frames,
        });
        seed += 1;
    }
    let states: Vec<_> = episodes.iter().flat_map(|e| e.frames.iter()).collect();
    let mut pix = canvas().ok_or("no canvas")?;
    let mut frame = Frame { width: 0, height: 0, rgb: vec![] };
    let t0 = Instant::now();
    let mut ring: Vec<Frame> = Vec::new();
    for (i, s) in states.iter().enumerate() {
        render_into(s, &mut pix, &mut frame);
        if i % 10 == 0 && ring.len() < 100 {
            ring.push(frame.clone());
        }
    }
    let render_fps = states.len() as f64 / t0.elapsed().as_secs_f64();
    let dir = std::env::temp_dir().join(format!("rl-research-video-bench-{}", std::process::id()));
    let path = dir.join("bench.mp4");
    let mut w = crate::video::Mp4Writer::create(&path, 600, 400, 50.0).map_err(|e| e.to_string())?;
    let t0 = Instant::now();
    for i in 0..states.len() {
        w.push_rgb(&ring[i % ring.len()].rgb).map_err(|e| e.to_string())?;
    }
    w.finish().map_err(|e| e.to_string())?;
    let encode_fps = states.len() as f64 / t0.elapsed().as_secs_f64();
    let stats = write_episodes_video(&episodes, &path, 50.0, &mut |_, _| {})?;
    let _ = std::fs::remove_dir_all(&dir);
    Ok((render_fps, encode_fps, stats.frames as f64 / stats.wall_secs))
}

/// This thread's CPU seconds so far (10 ms ticks: only meaningful summed over many frames).
fn thread_cpu_secs() -> Option<f64> {
    crate::runs::sysinfo::proc_cpu_secs("/proc/thread-self/stat")
}

/// Per-frame UI cost: (wall ms mean, wall ms worst, CPU ms per frame, layout share).
pub struct FrameStats {
    pub mean_ms: f64,
    pub worst_ms: f64,
    pub cpu_ms: Option<f64>,
    /// Fraction of the wall time in `App::ui` (the rest is tessellation).
    pub layout_share: f64,
}

fn time_frames(ctx: &egui::Context, app: &mut crate::app::RlApp, frames: usize) -> FrameStats {
    let input = || egui::RawInput {
        screen_rect: Some(egui::Rect::from_min_size(egui::Pos2::ZERO, egui::vec2(1280.0, 800.0))),
        ..Default::default()
    };
    let (mut total, mut worst, mut layout) = (0.0f64, 0.0f64, 0.0f64);
    let cpu0 = thread_cpu_secs();
    for _ in 0..frames {
        let t0 = Instant::now();
        let out = ctx.run_ui(input(), |ui| app.ui(ui));
        let t1 = Instant::now();
        let _ = ctx.tessellate(out.shapes, out.pixels_per_point);
        let ms = t0.elapsed().as_secs_f64() * 1e3;
        layout += (t1 - t0).as_secs_f64() * 1e3;
        total += ms;
        worst = worst.max(ms);
    }
    let cpu_ms = cpu0.zip(thread_cpu_secs()).map(|(a, b)| (b - a) * 1e3 / frames as f64);
    FrameStats { mean_ms: total / frames as f64, worst_ms: worst, cpu_ms, layout_share: layout / total.max(1e-9) }
}

/// Runs frames (without timing) until `done` or `timeout`; returns the wall time taken.
fn frames_until(
    ctx: &egui::Context,
    app: &mut crate::app::RlApp,
    timeout: std::time::Duration,
    done: impl Fn(&crate::app::RlApp) -> bool,
) -> Result<f64, String> {
    let input = || egui::RawInput {
        screen_rect: Some(egui::Rect::from_min_size(egui::Pos2::ZERO, egui::vec2(1280.0, 800.0))),
        ..Default::default()
    };
    let t0 = Instant::now();
    loop {
        let out = ctx.run_ui(input(), |ui| app.ui(ui));
        let _ = ctx.tessellate(out.shapes, out.pixels_per_point);
        if done(app) {
            return Ok(t0.elapsed().as_secs_f64());
        }
        if t0.elapsed() > timeout {
            return Err("timed out".into());
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
}

/// UI frame cost (egui layout + tessellation on the CPU; no rasterizer) on the
/// Runs tab with a `points`-row curve plotted, while a CartPole PPO run trains
/// in the same app.
pub fn ui_frame_ms(points: usize, frames: usize) -> Result<(FrameStats, FrameStats), String> {
    use crate::app::{RlApp, Settings, Tab};
    let dir = std::env::temp_dir().join(format!("rl-research-ui-bench-{}", std::process::id()));
    let run = crate::runs::RunDir::at(dir.join("big"));
    std::fs::create_dir_all(run.root.join("logs")).map_err(|e| e.to_string())?;
    let mut csv = String::from("timesteps,wall_secs,metric,value\n");
    for i in 0..points {
        csv.push_str(&format!("{i},{:.3},rollout/ep_rew_mean,{}\n", i as f64 * 1e-3, (i as f64 * 1e-4).sin() * 100.0));
    }
    std::fs::write(run.metrics_csv(), csv).map_err(|e| e.to_string())?;
    let settings = Settings { runs_dir: dir.clone(), tab: Tab::Runs, ..Settings::default() };
    let mut app = RlApp::new(settings);
    app.browser.selected.push(run.root.clone());
    let ctx = egui::Context::default();
    let loaded = |a: &RlApp| a.plotted_points() >= points;
    let result = (|| {
        frames_until(&ctx, &mut app, std::time::Duration::from_secs(60), loaded)?;
        let mut train = Config::default();
        train.experiment.runs_dir = dir.join("train");
        train.experiment.total_timesteps = 10_000_000;
        train.experiment.video_episodes = 0;
        app.jobs.start(train, std::sync::Arc::new(|| {}));
        frames_until(&ctx, &mut app, std::time::Duration::from_secs(60), |a| a.jobs.list.first().is_some_and(|j| j.timesteps > 0))?;
        let runs_tab = time_frames(&ctx, &mut app, frames);
        // The Train tab of that run: its live curves and the live evaluation view
        // (which draws an env frame into a texture every UI frame).
        app.settings.tab = Tab::Train;
        frames_until(&ctx, &mut app, std::time::Duration::from_secs(120), |a| {
            a.jobs.list.first().is_some_and(|j| j.live_episode.is_some())
        })?;
        Ok((runs_tab, time_frames(&ctx, &mut app, frames)))
    })();
    app.jobs.stop_all_and_wait(std::time::Duration::from_secs(30));
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// Runs browser over `n` generated run directories: (seconds from opening the
/// app to the first frame that shows every row, steady frame stats).
pub fn runs_browser_first_paint(n: usize) -> Result<(f64, FrameStats), String> {
    use crate::app::{RlApp, Settings, Tab};
    let dir = std::env::temp_dir().join(format!("rl-research-browser-bench-{}", std::process::id()));
    fake_runs(&dir, n)?;
    let result = (|| {
        let ctx = egui::Context::default();
        let t0 = Instant::now();
        let mut app = RlApp::new(Settings { runs_dir: dir.clone(), tab: Tab::Runs, ..Settings::default() });
        frames_until(&ctx, &mut app, std::time::Duration::from_secs(60), |a| a.browser.rows.len() == n)?;
        let first_paint = t0.elapsed().as_secs_f64();
        Ok((first_paint, time_frames(&ctx, &mut app, 60)))
    })();
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// `n` completed CartPole runs (their run_info.json) under a fresh `dir`, for the runs
/// browser's benchmarks.
pub fn fake_runs(dir: &std::path::Path, n: usize) -> Result<(), String> {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let template = crate::runs::RunInfo {
        status: crate::runs::RunStatus::Completed,
        name: String::new(),
        algorithm: "ppo".into(),
        env_id: crate::envs::DEFAULT_ENV_ID.into(),
        seed: 0,
        started_at_unix_secs: 1_795_000_000,
        finished_at_unix_secs: Some(1_795_000_006),
        wall_secs: Some(6.0),
        train_secs: Some(5.5),
        total_timesteps: 100_000,
        timesteps_done: 100_000,
        best_eval_mean_reward: Some(500.0),
        error: None,
        warnings: Vec::new(),
        environment: crate::runs::sysinfo::EnvironmentInfo::collect("cpu (burn flex)", 0),
        pid: None,
        host: None,
        start_ticks: None,
        forked_from: None,
        resumed: Vec::new(),
        tags: Vec::new(),
        notes: String::new(),
        cleaned: Vec::new(),
    };
    for i in 0..n {
        let run = crate::runs::RunDir::at(dir.join(format!("run_{i:05}")));
        std::fs::create_dir_all(run.root.join("logs")).map_err(|e| e.to_string())?;
        let info =
            crate::runs::RunInfo { name: run.name(), seed: i as u64, best_eval_mean_reward: Some((i % 500) as f64), ..template.clone() };
        info.write(&run).map_err(|e| e.to_string())?;
    }
    Ok(())
}

fn print_frames(label: &str, f: &FrameStats) {
    let cpu = f.cpu_ms.map(|c| format!(", thread CPU {c:.2} ms/frame")).unwrap_or_default();
    println!(
        "{label}: mean {:.2} ms, worst {:.2} ms{cpu}; {:.0}% layout, {:.0}% tessellation (target <= 16 ms)",
        f.mean_ms,
        f.worst_ms,
        f.layout_share * 100.0,
        (1.0 - f.layout_share) * 100.0
    );
}

/// The GUI benchmarks alone (`bench --ui`).
fn bench_ui() {
    match ui_frame_ms(1_000_000, 120) {
        Ok((runs, train)) => {
            print_frames("UI frame, Runs tab with a 1M-point curve while CartPole PPO trains", &runs);
            print_frames("UI frame, Train tab of that run (live curves + live evaluation view)", &train);
        }
        Err(e) => println!("UI frame: {e}"),
    }
    match runs_browser_first_paint(10_000) {
        Ok((secs, f)) => {
            println!("Runs browser, 10,000 run directories: first paint with all rows {:.0} ms (target <= 1000)", secs * 1e3);
            print_frames("  then per frame", &f);
        }
        Err(e) => println!("Runs browser: {e}"),
    }
}

fn report(label: &str, config: &Config, s: &RunSummary, floor_secs: f64, peak: &super::bench_peak::Peak) {
    let flops = training_flops(config, s.timesteps);
    let reach =
        s.first_reaching(475.0).map(|e| format!("{:.2} s (at {} steps)", e.wall_secs, e.timesteps)).unwrap_or_else(|| "not reached".into());
    println!("{label}:");
    println!("  time to first eval mean >= 475: {reach}");
    println!(
        "  whole budget ({} steps):        {:.2} s wall, {:.2} s training, best eval {:.1}",
        s.timesteps,
        s.wall_secs,
        s.train_secs,
        s.best_mean_reward.unwrap_or(f64::NAN)
    );
    let rate = flops / 1e9 / s.train_secs;
    println!(
        "  training compute:               {:.0} GFLOP, {rate:.2} GFLOP/s = {:.1}% of one core's FMA peak, {:.1}% of all cores'",
        flops / 1e9,
        100.0 * rate / peak.one_core_gflops,
        100.0 * rate / peak.all_cores_gflops
    );
    println!(
        "  vs compute floor ({floor_secs:.1} s):        {:.2}x (at one core's FMA peak: {:.2} s)",
        s.train_secs / floor_secs,
        flops / 1e9 / peak.one_core_gflops
    );
}

/// Options of `rl-research bench`.
#[derive(Debug, Default, PartialEq)]
struct BenchArgs {
    quick: bool,
    ui: bool,
    idle: bool,
    peak: bool,
    vs_sb3: bool,
    python: Option<String>,
    only: Option<String>,
    seeds: Option<super::bench_seeds::SeedsBench>,
}

fn parse_bench_args(args: &[String]) -> Result<BenchArgs, String> {
    let mut b = BenchArgs::default();
    let (mut algos, mut device) = (None, None);
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--seeds" | "--algo" | "--device" => {
                let v = it.next().ok_or_else(|| format!("{a} needs a value"))?.clone();
                match a.as_str() {
                    "--seeds" => {
                        let seeds = super::bench_seeds::parse_seed_counts(&v)?;
                        b.seeds = Some(super::bench_seeds::SeedsBench {
                            seeds,
                            algos: crate::config::algorithms::names().into_iter().map(String::from).collect(),
                            device: crate::config::DeviceChoice::Cpu,
                            quick: false,
                        });
                    }
                    "--algo" => algos = Some(v.split(',').map(|s| s.trim().to_string()).collect::<Vec<_>>()),
                    _ => device = Some(v),
                }
            }
            "--quick" => b.quick = true,
            "--ui" => b.ui = true,
            "--idle" => b.idle = true,
            "--peak" => b.peak = true,
            "--vs-sb3" => b.vs_sb3 = true,
            "--python" | "--only" => {
                let v = it.next().ok_or_else(|| format!("{a} needs a value"))?.clone();
                if a == "--python" { b.python = Some(v) } else { b.only = Some(v) }
            }
            other => {
                return Err(format!(
                    "unknown bench option '{other}': use --quick, --ui, --idle, --peak, --seeds 1,8,32 [--algo NAME,...] [--device cpu|gpu] or --vs-sb3 [--python PY] [--only KEY,...]"
                ));
            }
        }
    }
    match (&mut b.seeds, algos, device) {
        (Some(s), algos, device) => {
            if let Some(a) = algos {
                let names = crate::config::algorithms::names();
                if let Some(bad) = a.iter().find(|x| !names.contains(&x.as_str())) {
                    return Err(format!("--algo takes algorithm names separated by commas ({}), got '{bad}'", names.join(", ")));
                }
                s.algos = a;
            }
            if let Some(d) = device {
                s.device = match d.as_str() {
                    "cpu" => crate::config::DeviceChoice::Cpu,
                    "gpu" => crate::config::DeviceChoice::Gpu,
                    "auto" => crate::config::DeviceChoice::Auto,
                    other => return Err(format!("--device takes cpu, gpu or auto, got '{other}'")),
                };
            }
            s.quick = b.quick;
        }
        (None, None, None) => {}
        _ => return Err("--algo and --device go with --seeds".into()),
    }
    if (b.python.is_some() || b.only.is_some()) && !b.vs_sb3 {
        return Err("--python and --only go with --vs-sb3".into());
    }
    Ok(b)
}

pub fn cmd_bench(args: &[String]) -> i32 {
    let args = match parse_bench_args(args) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    if args.vs_sb3 {
        return super::bench_sb3::cmd_vs_sb3(args.python.as_deref(), args.only.as_deref());
    }
    if args.ui {
        bench_ui();
        return 0;
    }
    if args.idle {
        return super::bench_idle::cmd_idle();
    }
    if args.peak {
        let env = crate::runs::sysinfo::EnvironmentInfo::collect("cpu (burn flex)", 0);
        println!("rl-research {} bench --peak on {} ({} cores, {})", env.crate_version, env.cpu, env.cpu_cores, env.arch);
        super::bench_peak::print_ceiling();
        return 0;
    }
    if let Some(seeds) = &args.seeds {
        let env = crate::runs::sysinfo::EnvironmentInfo::collect("cpu (burn flex)", 0);
        println!(
            "rl-research {} bench --seeds on {} ({} cores, {}), denormals {}",
            env.crate_version,
            env.cpu,
            env.cpu_cores,
            env.arch,
            if crate::fpmode::thread_flushes_denormals() { "flushed" } else { "IEEE" }
        );
        return match super::bench_seeds::run(seeds) {
            Ok(()) => 0,
            Err(e) => {
                eprintln!("error: {e}");
                1
            }
        };
    }
    let quick = args.quick;
    let dir = std::env::temp_dir().join(format!("rl-research-bench-{}", std::process::id()));
    let env = crate::runs::sysinfo::EnvironmentInfo::collect("cpu (burn flex)", 0);
    println!(
        "rl-research {} bench on {} ({} cores, {}), denormals {} ({})",
        env.crate_version,
        env.cpu,
        env.cpu_cores,
        env.arch,
        if crate::fpmode::thread_flushes_denormals() { "flushed to zero" } else { "IEEE (not flushed)" },
        if quick { "quick" } else { "full" }
    );
    let (ieee, flushed) = denormal_penalty();
    println!(
        "Denormal floats on this CPU: {ieee:.1}x slower than normal ones with IEEE gradual underflow, {flushed:.1}x flushed (training flushes them)"
    );
    let peak = super::bench_peak::print_ceiling();
    let sps = cartpole_steps_per_sec(if quick { 2_000_000 } else { 20_000_000 });
    println!("{} env, single thread: {:.2} M steps/s (target >= 10; Gymnasium ~0.14)", crate::envs::cartpole::ID, sps / 1e6);
    let (single, vec) = lunar_steps_per_sec(if quick { 20_000 } else { 200_000 });
    println!(
        "{} env, random actions: {:.1} k steps/s single thread (target >= 60; Gymnasium ~30), {:.1} k steps/s with 16 envs on {} cores ({:.2}x)",
        crate::envs::lunar_lander::ID,
        single / 1e3,
        vec / 1e3,
        env.cpu_cores,
        vec / single
    );

    super::bench_envs::print_env_rates(quick);

    match video_fps(1000) {
        Ok((r, e, both)) => println!(
            "Video, 1000 LunarLander frames 600x400: render {r:.0} fps, H.264 encode {e:.0} fps ({}), render+encode pipelined {both:.0} fps (target >= 250)",
            if cfg!(feature = "h264") { "openh264 built from source" } else { "no encoder in this build" }
        ),
        Err(e) => println!("Video: {e}"),
    }
    bench_ui();
    let code = (|| -> Result<(), String> {
        let mut ppo = Config::default();
        ppo.experiment.runs_dir = dir.clone();
        ppo.experiment.name = "bench_ppo".into();
        ppo.experiment.video_episodes = 0; // time training, not the video export
        if quick {
            ppo.experiment.total_timesteps = 20_000;
        }
        let s = run_experiment(&ppo).map_err(|e| e.to_string())?;
        // Floors from the issue: ~110 GFLOP ≈ 3 s, ~850 GFLOP ≈ 23 s at 2 cores' realistic rate.
        report(&format!("PPO, default config ({}, 1e5 steps; SB3: 22-39 s)", ppo.env.id), &ppo, &s, 3.0 * s.timesteps as f64 / 1e5, &peak);

        let mut dqn = crate::config::builtin_preset("cartpole_dqn").map_err(|e| e.to_string())?;
        dqn.experiment.runs_dir = dir.clone();
        dqn.experiment.name = "bench_dqn".into();
        dqn.experiment.video_episodes = 0;
        if quick {
            dqn.experiment.total_timesteps = 5_000;
        }
        let s = run_experiment(&dqn).map_err(|e| e.to_string())?;
        report("DQN, configs/cartpole_dqn.ron (5e4 steps; SB3: 56-90 s)", &dqn, &s, 23.0 * s.timesteps as f64 / 5e4, &peak);
        Ok(())
    })();
    let _ = std::fs::remove_dir_all(&dir);
    match code {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: {e}");
            1
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn bench_options_parse_and_bad_ones_are_named() {
        assert_eq!(parse_bench_args(&args(&["--quick"])).unwrap(), BenchArgs { quick: true, ..Default::default() });
        let b = parse_bench_args(&args(&["--vs-sb3", "--python", "/v/bin/python", "--only", "dqn_cartpole"])).unwrap();
        assert!(b.vs_sb3);
        assert_eq!(b.python.as_deref(), Some("/v/bin/python"));
        assert_eq!(b.only.as_deref(), Some("dqn_cartpole"));
        assert!(parse_bench_args(&args(&["--fast"])).unwrap_err().contains("'--fast'"));
        assert!(parse_bench_args(&args(&["--vs-sb3", "--python"])).unwrap_err().contains("--python needs a value"));
        assert!(parse_bench_args(&args(&["--only", "ppo_cartpole"])).unwrap_err().contains("--vs-sb3"));
        let s = parse_bench_args(&args(&["--seeds", "1,8", "--algo", "ppo", "--device", "gpu", "--quick"])).unwrap().seeds.unwrap();
        assert_eq!((s.seeds, s.algos, s.device, s.quick), (vec![1, 8], vec!["ppo".to_string()], crate::config::DeviceChoice::Gpu, true));
        assert!(parse_bench_args(&args(&["--seeds", "8", "--algo", "ddpg"])).unwrap_err().contains("'ddpg'"));
        assert!(parse_bench_args(&args(&["--seeds", "8", "--device", "tpu"])).unwrap_err().contains("'tpu'"));
        assert!(parse_bench_args(&args(&["--algo", "ppo"])).unwrap_err().contains("--seeds"));
    }
}
