//! One run request for every front end: the CLI, the GUI and the Python
//! binding build a [`RunRequest`] and [`execute`](RunRequest::execute) it, so
//! New / Resume / Fork / Batch are dispatched in one place.

use super::batch::{BatchOutcome, train_runs};
use super::group::{self, Trained};
use super::{RunError, RunOptions, fork_experiment, fork_experiment_with};
use crate::config::Config;
use crate::config::overrides::Override;
use std::path::PathBuf;

/// How a fork changes its parent's config.
#[derive(Clone, Debug)]
pub enum ForkEdit {
    /// `key=value` overrides on the parent's config (the CLI's `--fork DIR k=v`).
    Overrides(Vec<Override>),
    /// The whole config, as edited (the GUI's editor).
    Config(Box<Config>),
}

/// One batch member: its config and the command line recorded in its config.yaml.
#[derive(Clone, Debug)]
pub struct BatchItem {
    pub config: Config,
    pub command_line: Option<String>,
}

/// What to train.
#[derive(Clone, Debug)]
pub enum RunRequest {
    /// A new run, or a seed group when the config names seeds.
    New(Box<Config>),
    /// Continue a run directory or a seed group.
    Resume(PathBuf),
    /// A new run from a parent's checkpoint (`step`: that checkpoint, else the newest).
    Fork { parent: PathBuf, step: Option<u64>, edit: ForkEdit },
    /// New runs trained as one batched computation (sweep trials of one shape).
    Batch(Vec<BatchItem>),
}

/// What a request produced.
pub enum Outcome {
    Trained(Trained),
    Batch(BatchOutcome),
}

impl RunRequest {
    /// The experiment's name and planned steps where the request knows them
    /// before it starts (a resume reads them from the run directory).
    pub fn planned(&self) -> Option<(String, u64)> {
        match self {
            RunRequest::New(c) => Some((c.experiment.name.clone(), c.experiment.total_timesteps)),
            RunRequest::Fork { edit: ForkEdit::Config(c), .. } => Some((c.experiment.name.clone(), c.experiment.total_timesteps)),
            RunRequest::Fork { .. } | RunRequest::Resume(_) => None,
            RunRequest::Batch(items) => items.first().map(|i| (i.config.experiment.name.clone(), i.config.experiment.total_timesteps)),
        }
    }

    /// Trains it. A batch's members share `options`' stop flag and events;
    /// each records its own command line.
    pub fn execute(self, options: RunOptions) -> Result<Outcome, RunError> {
        match self {
            RunRequest::New(config) => group::train(&config, options).map(Outcome::Trained),
            RunRequest::Resume(dir) => group::resume(&dir, options).map(Outcome::Trained),
            RunRequest::Fork { parent, step, edit } => {
                let summary = match edit {
                    ForkEdit::Overrides(overrides) => fork_experiment(&parent, step, &overrides, options)?,
                    ForkEdit::Config(config) => fork_experiment_with(&parent, step, &|_| Ok((*config).clone()), options)?,
                };
                Ok(Outcome::Trained(Trained::Run(Box::new(summary))))
            }
            RunRequest::Batch(items) => {
                let per_run: Vec<RunOptions> =
                    items.iter().map(|i| RunOptions { command_line: i.command_line.clone(), ..options.clone() }).collect();
                let configs: Vec<Config> = items.into_iter().map(|i| i.config).collect();
                Ok(Outcome::Batch(train_runs(&configs, &per_run)))
            }
        }
    }
}

impl Outcome {
    /// The single run or group it trained (a batch gives none).
    pub fn trained(self) -> Option<Trained> {
        match self {
            Outcome::Trained(t) => Some(t),
            Outcome::Batch(_) => None,
        }
    }
}
