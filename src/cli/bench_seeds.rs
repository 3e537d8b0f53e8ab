//! `rl-research bench --seeds 1,8,32`: seeds batched into one computation.
//! For each S, the default PPO CartPole run and the DQN preset trained as a
//! batched seed group of S seeds (one batch on a GPU, one per core on the
//! CPU, as `experiment.batch_seeds=true` trains them), against S single-seed runs one after
//! another (measured once, times S) and S seeds one thread each (2 at a time
//! on 2 cores); GFLOP/s and the ratio to the compute floor (the FLOPs at this
//! machine's own batched-matmul rate for these layer shapes).

use super::bench::training_flops;
use crate::config::{BatchSeeds, Config, DeviceChoice};
use crate::runner::group::run_group;
use crate::runner::run_experiment;
use std::path::Path;
use std::time::Instant;

/// What `--seeds` asked for.
#[derive(Debug, PartialEq)]
pub struct SeedsBench {
    pub seeds: Vec<usize>,
    pub algos: Vec<String>,
    pub device: DeviceChoice,
    pub quick: bool,
}

/// Parses `1,8,32` (each 1..=1000).
pub fn parse_seed_counts(v: &str) -> Result<Vec<usize>, String> {
    v.split(',')
        .map(|s| match s.trim().parse::<usize>() {
            Ok(n) if (1..=1000).contains(&n) => Ok(n),
            _ => Err(format!("--seeds takes seed counts between 1 and 1000 separated by commas (e.g. 1,8,32), got '{s}'")),
        })
        .collect()
}

/// GFLOP/s of burn's batched matmul on `[s, m, k] x [s, k, n]` on this device:
/// the rate a perfectly batched training step of these shapes could reach.
pub fn matmul_gflops(s: usize, m: usize, k: usize, n: usize, device: &burn::tensor::Device) -> f64 {
    use burn::prelude::*;
    let a = Tensor::<3>::ones([s, m, k], device).mul_scalar(0.5);
    let b = Tensor::<3>::ones([s, k, n], device).mul_scalar(0.25);
    let reps = (4e9 / (2.0 * (s * m * k * n) as f64)).clamp(3.0, 2000.0) as usize;
    let _ = a.clone().matmul(b.clone()).into_data(); // warm-up
    let t0 = Instant::now();
    let mut acc = a.clone().matmul(b.clone());
    for _ in 1..reps {
        acc = a.clone().matmul(b.clone()) + acc.mul_scalar(0.0);
    }
    let _ = acc.into_data();
    2.0 * (s * m * k * n) as f64 * reps as f64 / t0.elapsed().as_secs_f64() / 1e9
}

fn preset(algo: &str, dir: &Path, quick: bool, device: DeviceChoice) -> Result<Config, String> {
    let spec = crate::config::algorithms::spec(algo).map_err(|e| e.to_string())?;
    let mut c = match spec.bench_preset {
        None => Config::default(),
        Some(preset) => crate::config::builtin_preset(preset).map_err(|e| e.to_string())?,
    };
    c.experiment.runs_dir = dir.to_path_buf();
    c.experiment.video_episodes = 0;
    c.experiment.device = device;
    c.logging.system_metrics_secs = 0.0;
    if quick {
        c.experiment.total_timesteps = spec.bench_quick_timesteps;
    }
    Ok(c)
}

/// Runs the benchmark, printing one table per algorithm.
pub fn run(b: &SeedsBench) -> Result<(), String> {
    let dir = std::env::temp_dir().join(format!("rl-research-bench-seeds-{}", std::process::id()));
    let out = run_in(b, &dir);
    let _ = std::fs::remove_dir_all(&dir);
    out
}

fn run_in(b: &SeedsBench, dir: &Path) -> Result<(), String> {
    let resolved = crate::algos::device::resolve(b.device)?;
    let flex = crate::algos::device::cpu().device;
    let fma = super::bench_peak::print_ceiling();
    for algo in &b.algos {
        let config = preset(algo, dir, b.quick, b.device)?;
        // The floor: this machine's batched matmul rate at the widest layer's shape, for the biggest S.
        let params = config.algorithm.params_json();
        let batch = params.get("batch_size").and_then(|v| v.as_u64()).unwrap_or(64) as usize;
        let width = params.get("net_arch").and_then(|v| v.as_array()).and_then(|a| a.iter().filter_map(|w| w.as_u64()).max()).unwrap_or(64)
            as usize;
        let s_max = b.seeds.iter().copied().max().unwrap_or(1);
        let peak = matmul_gflops(s_max, batch, width, width, if resolved.is_gpu { &resolved.device } else { &flex });
        println!(
            "\n{} {}, {} steps per seed, on {} (batched matmul [{s_max}, {batch}, {width}] x [{s_max}, {width}, {width}]: {peak:.1} GFLOP/s = the compute floor's rate)",
            algo.to_uppercase(),
            config.env.id,
            config.experiment.total_timesteps,
            resolved.description
        );
        // A short warm-up first, so that "alone" is not the process's cold start.
        let mut warm = config.clone();
        warm.experiment.name = format!("{algo}_warmup");
        warm.experiment.total_timesteps = (config.experiment.total_timesteps / 10).max(1);
        warm.experiment.eval_freq = warm.experiment.total_timesteps;
        run_experiment(&warm).map_err(|e| e.to_string())?;
        let mut alone_cfg = config.clone();
        alone_cfg.experiment.name = format!("{algo}_alone");
        let alone = run_experiment(&alone_cfg).map_err(|e| e.to_string())?;
        let flops_one = training_flops(&config, alone.timesteps);
        println!(
            "  1 seed alone: {:.2} s wall, {:.2} s training, {:.2} GFLOP/s ({:.1}% of one core's FMA peak)",
            alone.wall_secs,
            alone.train_secs,
            flops_one / 1e9 / alone.train_secs,
            100.0 * flops_one / 1e9 / alone.train_secs / fma.one_core_gflops
        );
        println!(
            "  {:>5} | {:>9} | {:>9} | {:>14} | {:>12} | {:>14} | {:>11} | {:>8} | {:>9} | {:>9} | {:>9}",
            "seeds",
            "wall s",
            "per seed",
            "S alone (est.)",
            "vs S alone",
            "thread/seed s",
            "vs 1 alone",
            "GFLOP/s",
            "vs floor",
            "% FMA pk",
            "mean eval"
        );
        for &s in &b.seeds {
            let mut g = config.clone();
            g.experiment.name = format!("{algo}_batch_{s}");
            g.experiment.seed = 0;
            g.experiment.n_seeds = Some(s);
            g.experiment.batch_seeds = BatchSeeds::On;
            let t0 = Instant::now();
            let summary = run_group(&g, Default::default()).map_err(|e| e.to_string())?;
            let wall = t0.elapsed().as_secs_f64();
            let train: f64 = summary.seeds.iter().filter_map(|st| st.info.as_ref().and_then(|i| i.train_secs)).fold(0.0, f64::max);
            let flops = flops_one * s as f64;
            let floor_secs = flops / (peak * 1e9);
            let finals: Vec<f64> = summary.seeds.iter().filter_map(|st| st.final_score()).collect();
            // The alternative this replaces: one thread per seed, as many at once as cores (up to 8 seeds, it is slow).
            let threaded = if (2..=8).contains(&s) {
                let mut t = g.clone();
                t.experiment.name = format!("{algo}_threads_{s}");
                t.experiment.batch_seeds = BatchSeeds::Off;
                let t0 = Instant::now();
                run_group(&t, Default::default()).map_err(|e| e.to_string())?;
                format!("{:.2}", t0.elapsed().as_secs_f64())
            } else {
                "-".into()
            };
            let mean_eval = finals.iter().sum::<f64>() / finals.len().max(1) as f64;
            println!(
                "  {s:>5} | {wall:>9.2} | {:>9.3} | {:>14.2} | {:>11.2}x | {threaded:>14} | {:>10.2}x | {:>8.2} | {:>8.2}x | {:>8.1}% | {mean_eval:>9.1}",
                wall / s as f64,
                alone.wall_secs * s as f64,
                alone.wall_secs * s as f64 / wall,
                wall / alone.wall_secs,
                flops / 1e9 / train.max(1e-9),
                train / floor_secs,
                100.0 * flops / 1e9 / train.max(1e-9) / fma.all_cores_gflops,
            );
        }
    }
    println!(
        "\n(vs S alone: S single-seed runs one after another, estimated as S x the one measured; batched = one batch on a GPU, one per core on the CPU; vs 1 alone: the batch's wall time over one seed's; vs floor: batch training time over its FLOPs at the rate above; % FMA pk: its GFLOP/s over all cores' FMA peak)"
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_counts_parse_and_bad_ones_are_named() {
        assert_eq!(parse_seed_counts("1,8,32").unwrap(), vec![1, 8, 32]);
        assert!(parse_seed_counts("0").unwrap_err().contains("'0'"));
        assert!(parse_seed_counts("8,x").unwrap_err().contains("'x'"));
    }
}
