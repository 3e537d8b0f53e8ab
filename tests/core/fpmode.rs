//! Denormals are flushed on the threads that do the math during training, and a
//! library caller's own floating-point mode is given back afterwards.

use burn::prelude::*;
use rl_research::{Config, RunOptions, fpmode, run_experiment_with};
use std::sync::{Arc, Mutex};

/// 1e-30 * 1e-10 on burn's CPU backend, read back: 0 when denormals are flushed.
fn burn_denormal_product() -> f32 {
    let t = Tensor::<1>::from_floats([1e-30f32], &Device::flex());
    t.mul_scalar(1e-10).into_scalar()
}

/// A sum large enough for burn-flex to split it over rayon's pool (>= 4M
/// elements, 64K per task): each task's sum of denormals is 0 when that pool
/// thread flushes them.
fn burn_pool_sum_of_denormals() -> f32 {
    let n = 4 << 20;
    let t = Tensor::<1>::from_data(TensorData::new(vec![1e-39f32; n], [n]), &Device::flex());
    t.sum().into_scalar()
}

#[test]
fn training_flushes_denormals_on_its_threads_and_restores_the_callers_mode() {
    if !fpmode::enabled() {
        return;
    }
    let dir = crate::temp_dir("fpmode");
    let runs_dir = dir.clone();
    std::thread::spawn(move || {
        // The caller (this fresh thread) computes with IEEE gradual underflow.
        assert!(!fpmode::thread_flushes_denormals());
        assert!(burn_denormal_product() > 0.0, "IEEE: 1e-30 * 1e-10 is the denormal 1e-40");
        let before = fpmode::current();

        // The waker runs on the training thread after every event it sends.
        let seen: Arc<Mutex<Vec<(bool, bool)>>> = Arc::default();
        let seen_in_run = seen.clone();
        let (tx, rx) = std::sync::mpsc::channel();
        let mut config = Config::default();
        config.experiment.runs_dir = runs_dir;
        config.experiment.total_timesteps = 2048;
        config.experiment.eval_freq = 1024;
        config.experiment.n_eval_episodes = 2;
        config.experiment.video_episodes = 0;
        let options = RunOptions {
            events: Some(rl_research::runner::EventSender::new(tx).waking(Arc::new(move || {
                let on_thread = fpmode::thread_flushes_denormals() && burn_denormal_product() == 0.0;
                let on_pool = fpmode::pool_flushes_denormals() && burn_pool_sum_of_denormals() == 0.0;
                seen_in_run.lock().unwrap().push((on_thread, on_pool));
            }))),
            ..Default::default()
        };
        let summary = run_experiment_with(&config, options).unwrap();
        drop(rx);
        assert_eq!(summary.timesteps, 2048);
        let seen = seen.lock().unwrap();
        assert!(seen.len() >= 3, "the waker ran {} times", seen.len());
        assert!(seen.iter().all(|&(t, _)| t), "the training thread flushed denormals at every event: {seen:?}");
        assert!(seen.iter().all(|&(_, p)| p), "rayon's pool threads (burn-flex's workers) flushed them: {seen:?}");

        // Given back: the caller's thread computes with IEEE denormals again.
        assert_eq!(fpmode::current(), before);
        assert!(!fpmode::thread_flushes_denormals());
        assert!(burn_denormal_product() > 0.0);
    })
    .join()
    .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}
