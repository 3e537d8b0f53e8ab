//! What a run reports while it works, where it sends it, and the options a
//! front end passes beyond the config (how to report, how to be stopped).

use super::EpisodeRecord;
use crate::runs::RunStatus;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::sync::mpsc::Sender;

/// What the runner reports while it works (to the CLI's progress bar or the GUI).
#[derive(Clone, Debug)]
pub enum RunEvent {
    Started {
        run_dir: PathBuf,
        device: String,
        note: Option<String>,
    },
    Progress {
        timesteps: u64,
        total_timesteps: u64,
        steps_per_sec: f64,
        mean_reward: Option<f64>,
    },
    Metrics {
        timesteps: u64,
        wall_secs: f64,
        metrics: Vec<(String, f64)>,
    },
    Evaluated {
        timesteps: u64,
        wall_secs: f64,
        mean_reward: f64,
        std_reward: f64,
        new_best: bool,
    },
    /// The first evaluation episode of each evaluation, with frames (only when
    /// `RunOptions::live_episodes` is set): the GUI's live view of the agent.
    EvalEpisode {
        timesteps: u64,
        episode: Box<EpisodeRecord>,
    },
    Finished {
        status: RunStatus,
        run_dir: PathBuf,
    },
    /// Something to tell the user (a fallback, a warning).
    Note {
        message: String,
    },
    /// A seed group starts (or resumes): its directory, seeds and how many train at once.
    /// `batched`: all of them as one computation (stacked networks), else `parallel` threads.
    GroupStarted {
        group_dir: PathBuf,
        seeds: Vec<u64>,
        parallel: usize,
        batched: bool,
    },
    /// An event of one seed of a group (the group itself ends with `Finished`).
    Seed {
        seed: u64,
        event: Box<RunEvent>,
    },
}

/// Where a run's events go: a channel, and what wakes its reader (the GUI's
/// `request_repaint`). Every event is sent through [`EventSender::send`],
/// which wakes the reader each time, so no event waits unseen.
#[derive(Clone)]
pub struct EventSender {
    tx: Sender<RunEvent>,
    waker: Option<Arc<dyn Fn() + Send + Sync>>,
}

impl From<Sender<RunEvent>> for EventSender {
    fn from(tx: Sender<RunEvent>) -> Self {
        Self::new(tx)
    }
}

impl EventSender {
    pub fn new(tx: Sender<RunEvent>) -> Self {
        Self { tx, waker: None }
    }

    /// Calls `waker` after every event.
    pub fn waking(mut self, waker: Arc<dyn Fn() + Send + Sync>) -> Self {
        self.waker = Some(waker);
        self
    }

    pub fn send(&self, event: RunEvent) {
        // A reader that went away (a closed window) is no error for the run.
        let _ = self.tx.send(event);
        if let Some(w) = &self.waker {
            w();
        }
    }
}

/// Options beyond the config: how to report and how to be stopped.
#[derive(Clone, Default)]
pub struct RunOptions {
    /// Saved in config.yaml so the run can be reproduced.
    pub command_line: Option<String>,
    /// Set it to stop training gracefully (status "stopped", models kept).
    pub stop: Arc<AtomicBool>,
    pub events: Option<EventSender>,
    /// Record one evaluation episode per evaluation and send it as `RunEvent::EvalEpisode`.
    pub live_episodes: bool,
}

impl RunOptions {
    /// Sends an event where these options send them (nowhere without a sender).
    pub fn send(&self, event: RunEvent) {
        if let Some(e) = &self.events {
            e.send(event);
        }
    }
}
