//! The wgpu path of batched seeds and of `experiment.device=auto`'s measurement,
//! on whatever Vulkan adapter this machine has. CI installs Mesa's llvmpipe (a
//! software Vulkan driver) and sets RL_RESEARCH_REQUIRE_WGPU=1, so these run
//! there on the same kernels and code paths a GPU runs, only slower; on a
//! machine with no adapter at all they say so and pass.

use rl_research::algos::device::probe_gpu;
use rl_research::config::{BatchSeeds, DeviceChoice};
use rl_research::runner::group::run_group;
use rl_research::runs::group::{GroupDir, GroupInfo};
use rl_research::runs::logger::read_metrics;
use rl_research::{Config, SavedModel, run_experiment};
use std::path::Path;

/// Whether a wgpu adapter answers; without one the test is skipped unless CI requires it.
fn have_wgpu(test: &str) -> bool {
    match probe_gpu() {
        Ok(_) => true,
        Err(e) if std::env::var_os("RL_RESEARCH_REQUIRE_WGPU").is_some() => {
            panic!("{test}: RL_RESEARCH_REQUIRE_WGPU is set but no wgpu adapter opened: {e}")
        }
        Err(e) => {
            crate::skipped(test, &format!("no wgpu adapter ({e}); Debian's mesa-vulkan-drivers gives a software one"));
            false
        }
    }
}

/// The in-process GPU tests, one at a time: releasing the device waits for every handle on it.
static DEVICE: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// The device for `test` alone while the guard lives, or `None` (skipped) without an adapter.
fn device_turn(test: &str) -> Option<std::sync::MutexGuard<'static, ()>> {
    let turn = DEVICE.lock().unwrap_or_else(|e| e.into_inner());
    have_wgpu(test).then_some(turn)
}

fn small(dir: &Path, name: &str) -> Config {
    let mut c = Config::default();
    c.experiment.runs_dir = dir.to_path_buf();
    c.experiment.name = name.into();
    c.experiment.total_timesteps = 1024;
    c.experiment.eval_freq = 512;
    c.experiment.n_eval_episodes = 2;
    c.experiment.video_episodes = 0;
    c.logging.system_metrics_secs = 0.0;
    c
}

/// Deterministic metrics (no clocks, no system use) of a run, by step and name.
fn metrics(run: &Path) -> Vec<(u64, String, f64)> {
    read_metrics(&run.join("logs/metrics.csv"))
        .unwrap()
        .into_iter()
        .filter(|r| !r.metric.starts_with("system/") && r.metric != "time/fps")
        .map(|r| (r.timesteps, r.metric, r.value))
        .collect()
}

fn weights(run: &Path) -> Vec<f32> {
    let model = SavedModel::load(&run.join("models/final_model.zip")).unwrap();
    model
        .networks
        .iter()
        .flat_map(|(_, w)| w.layers.iter().flat_map(|l| l.weight.iter().chain(&l.bias).copied()).collect::<Vec<_>>())
        .collect()
}

/// On wgpu a batched matmul and a single one may sum in different orders, so a
/// seed in a batch is the seed alone up to f32 rounding, not bit for bit: the
/// episodes (sampled on the host from the same generator) are the same, the
/// losses agree to 1e-4 relative, the clipped fraction to 1% and the weights to 1e-4.
#[test]
fn wgpu_batch_trains_each_seed_as_it_trains_alone_up_to_rounding() {
    let Some(_turn) = device_turn("wgpu_batch_trains_each_seed_as_it_trains_alone_up_to_rounding") else { return };
    let dir = crate::temp_dir("gpu-batch");
    let mut group = small(&dir, "group");
    group.experiment.device = DeviceChoice::Gpu;
    group.experiment.n_seeds = Some(2);
    group.experiment.batch_seeds = BatchSeeds::On;
    let summary = run_group(&group, Default::default()).unwrap();
    let info = GroupInfo::read(&GroupDir::at(&summary.group.root)).unwrap();
    assert!(info.batched && info.parallel == 1, "on a GPU the seeds form one batch: {:?} {}", info.batched, info.parallel);

    let mut alone = small(&dir, "alone");
    alone.experiment.device = DeviceChoice::Gpu;
    alone.experiment.seed = 1;
    let single = run_experiment(&alone).unwrap();

    let in_batch = dir.join("group/seed_1");
    let (a, b) = (metrics(&in_batch), metrics(&single.run_dir.root));
    assert_eq!(a.len(), b.len());
    assert!(a.len() > 20, "too few metrics: {}", a.len());
    for ((sa, na, va), (sb, nb, vb)) in a.iter().zip(&b) {
        assert_eq!((sa, na), (sb, nb));
        let exact = na.starts_with("rollout/") || na.starts_with("eval/") || na.starts_with("time/") || na == "train/n_updates";
        if exact {
            assert_eq!(va, vb, "{na} at step {sa}: {va} batched, {vb} alone");
        } else if na == "train/clip_fraction" {
            // A count: a ratio within rounding of the clip bound may fall on
            // either side. At a clip range of 0 (the linear schedule's last
            // update) it counts ratios that rounding moved off 1.0: nothing to compare.
            let clip_range = a.iter().find(|(s, n, _)| s == sa && n == "train/clip_range").map(|(_, _, v)| *v);
            if clip_range != Some(0.0) {
                assert!((va - vb).abs() <= 0.01, "{na} at step {sa}: {va} batched, {vb} alone");
            }
        } else {
            assert!((va - vb).abs() <= 1e-4 * va.abs().max(vb.abs()).max(1e-3), "{na} at step {sa}: {va} batched, {vb} alone");
        }
    }
    let (wa, wb) = (weights(&in_batch), weights(&single.run_dir.root));
    assert_eq!(wa.len(), wb.len());
    let worst = wa.iter().zip(&wb).map(|(x, y)| (x - y).abs()).fold(0.0f32, f32::max);
    assert!(worst <= 1e-4, "final weights differ by up to {worst}");
    // Really trained on the adapter.
    let run_info = std::fs::read_to_string(in_batch.join("logs/run_info.json")).unwrap();
    assert!(run_info.contains("burn wgpu"), "{run_info}");
}

/// `auto` times both devices for the group's batch and trains where it measured faster,
/// saying so; the seeds' configs record the device it picked.
#[test]
fn auto_measures_the_gpu_against_the_cpu_for_the_batch_and_says_which_won() {
    if !have_wgpu("auto_measures_the_gpu_against_the_cpu_for_the_batch_and_says_which_won") {
        return;
    }
    let dir = crate::temp_dir("gpu-auto");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_rl-research"))
        .current_dir(&dir)
        // A software adapter counts as a GPU for the probe only with this set.
        .env("RL_RESEARCH_AUTO_SOFTWARE_GPU", "1")
        .args([
            "run",
            "experiment.device=auto",
            "experiment.n_seeds=2",
            "experiment.total_timesteps=512",
            "experiment.eval_freq=512",
            "experiment.n_eval_episodes=2",
            "experiment.video_episodes=0",
            "experiment.name=auto",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}");
    let note = text
        .lines()
        .find(|l| l.starts_with("experiment.device=auto: measured 2 agents: GPU '"))
        .unwrap_or_else(|| panic!("no measurement note in:\n{text}"));
    let picked = if note.contains("training on the GPU") {
        "gpu"
    } else if note.contains("training on the CPU") {
        "cpu"
    } else {
        panic!("{note}")
    };
    for seed in 0..2 {
        let yaml = std::fs::read_to_string(dir.join(format!("runs/auto/seed_{seed}/configs/config.yaml"))).unwrap();
        assert!(yaml.contains(&format!("device: {picked}")), "seed {seed} should record device {picked} ({note}):\n{yaml}");
    }
    // The group keeps the choice as asked, so a rerun measures again.
    let group = std::fs::read_to_string(dir.join("runs/auto/group.json")).unwrap();
    assert!(group.contains("\"device\": \"auto\""), "{group}");
}

/// Threads of this process whose name starts with `prefix`.
fn threads_named(prefix: &str) -> usize {
    let tasks = std::fs::read_dir("/proc/self/task").unwrap();
    tasks.flatten().filter(|t| std::fs::read_to_string(t.path().join("comm")).is_ok_and(|n| n.starts_with(prefix))).count()
}

#[test]
fn releasing_the_gpu_stops_its_polling_service_thread_and_a_later_training_starts_it_again() {
    let Some(_turn) = device_turn("releasing_the_gpu_stops_its_polling_service_thread_and_a_later_training_starts_it_again") else {
        return;
    };
    let dir = crate::temp_dir("gpu-release");
    for name in ["first", "second"] {
        let mut c = small(&dir, name);
        c.experiment.device = DeviceChoice::Gpu;
        c.experiment.total_timesteps = 256;
        c.experiment.eval_freq = 0;
        let summary = run_experiment(&c).unwrap();
        assert!(summary.device.starts_with("gpu"), "{}", summary.device);
        if cfg!(target_os = "linux") {
            assert!(threads_named("DSU-") >= 1, "the device's service thread runs after a GPU training");
        }
        rl_research::runner::release_gpu();
        if cfg!(target_os = "linux") {
            assert_eq!(threads_named("DSU-"), 0, "released: the service thread ended");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}
