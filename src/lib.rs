//! RL Research: run, track and compare reinforcement-learning experiments.
//!
//! Module arrows point one way: `envs` <- `algos` <- `runner` <- `cli`;
//! `config`, `runs`, `stats`, `rng` and `fpmode` are leaves.
//!
//! ```no_run
//! use rl_research::{run_experiment, Config};
//! let summary = run_experiment(&Config::default()).expect("run failed");
//! println!("{}", summary.run_dir.root.display());
//! ```

pub mod algos;
pub mod app;
pub mod cli;
pub mod config;
pub mod envs;
pub mod fpmode;
pub mod rng;
pub mod runner;
pub mod runs;
pub mod stats;
pub mod sweep;
pub mod threads;
pub mod video;

pub use algos::Policy;
pub use config::Config;
pub use runner::{RunEvent, RunOptions, RunSummary, evaluate_policy, run_experiment, run_experiment_with};
pub use runs::{Logger, RunDir, RunStatus, SavedModel};
