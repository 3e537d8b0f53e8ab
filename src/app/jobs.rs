//! Trainings started from the GUI: each a background task ([`Pending`]) that
//! reports the runner's events as it goes, each waking the UI.

use super::pending::Pending;
use super::plots::RunMetrics;
use crate::config::Config;
use crate::runner::group::GroupProgress;
use crate::runner::request::RunRequest;
use crate::runner::{self, EpisodeRecord, RunEvent, RunOptions};
use crate::runs::RunStatus;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

pub struct Job {
    pub name: String,
    pub run_dir: Option<PathBuf>,
    pub stop: Arc<AtomicBool>,
    /// The training: its runner events as it goes, its result at the end.
    task: Pending<Result<(), String>, RunEvent>,
    pub timesteps: u64,
    pub total_timesteps: u64,
    pub steps_per_sec: f64,
    pub metrics: RunMetrics,
    /// e.g. "cpu (burn flex)", once the run has started.
    pub device: Option<String>,
    /// The latest evaluation episode (timesteps it was recorded at), for the live view.
    pub live_episode: Option<(u64, EpisodeRecord)>,
    pub status: Option<RunStatus>,
    pub error: Option<String>,
    pub notes: Vec<String>,
    /// Set for a seed group: its seeds' progress (the live plots follow its first seed).
    pub group: Option<GroupProgress>,
}

impl Job {
    fn apply(&mut self, ev: RunEvent) {
        let job = self;
        match ev {
            RunEvent::Started { run_dir, note, device } => {
                job.device = Some(device);
                job.name = run_dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                job.run_dir = Some(run_dir);
                job.notes.extend(note);
            }
            RunEvent::Progress { timesteps, total_timesteps, steps_per_sec, .. } => {
                job.timesteps = timesteps;
                job.total_timesteps = total_timesteps;
                job.steps_per_sec = steps_per_sec;
            }
            RunEvent::Metrics { timesteps, .. } => {
                job.timesteps = job.timesteps.max(timesteps);
                job.record(ev);
            }
            ev @ (RunEvent::Evaluated { .. } | RunEvent::EvalEpisode { .. }) => job.record(ev),
            RunEvent::Finished { status, run_dir } => {
                log::info!("training {} ended: {status:?}", run_dir.display());
                job.status = Some(status);
            }
            RunEvent::Note { message } => job.notes.push(message),
            RunEvent::GroupStarted { group_dir, seeds, parallel, batched } => {
                job.name = group_dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                job.run_dir = Some(group_dir);
                job.group = Some(GroupProgress::new(seeds, parallel, batched));
            }
            RunEvent::Seed { seed, event } => job.apply_seed(seed, *event),
        }
    }

    /// The metrics, evaluations and live episode of an event (not its progress).
    fn record(&mut self, ev: RunEvent) {
        match ev {
            RunEvent::Metrics { timesteps, wall_secs, metrics } => {
                for (k, v) in metrics {
                    self.metrics.entry(k).or_default().push([timesteps as f64, wall_secs, v]);
                }
            }
            RunEvent::Evaluated { timesteps, wall_secs, mean_reward, std_reward, .. } => {
                self.metrics.entry("eval/mean_reward".into()).or_default().push([timesteps as f64, wall_secs, mean_reward]);
                self.metrics.entry("eval/std_reward".into()).or_default().push([timesteps as f64, wall_secs, std_reward]);
                // As the runner logs it (the fork's own best, for a fork: its series starts empty).
                let best = self.metrics.get("eval/best_mean_reward").and_then(|s| s.last()).map_or(mean_reward, |p| p[2].max(mean_reward));
                self.metrics.entry("eval/best_mean_reward".into()).or_default().push([timesteps as f64, wall_secs, best]);
            }
            RunEvent::EvalEpisode { timesteps, episode } => self.live_episode = Some((timesteps, *episode)),
            _ => {}
        }
    }

    /// A seed's event: progress sums over seeds; the live plots and episode follow the first seed.
    fn apply_seed(&mut self, seed: u64, ev: RunEvent) {
        let Some(g) = &mut self.group else { return };
        g.seed_event(seed, &ev);
        let first = g.seeds.first() == Some(&seed);
        let t = g.totals();
        (self.timesteps, self.total_timesteps, self.steps_per_sec) = (t.timesteps, t.total_timesteps, t.steps_per_sec);
        match ev {
            RunEvent::Started { device, .. } => self.device = Some(device),
            RunEvent::Note { message } => self.notes.push(format!("seed {seed}: {message}")),
            ev @ (RunEvent::Metrics { .. } | RunEvent::Evaluated { .. } | RunEvent::EvalEpisode { .. }) if first => self.record(ev),
            _ => {}
        }
    }

    pub fn running(&self) -> bool {
        self.status.is_none() && self.error.is_none()
    }
    pub fn request_stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
    }
    pub fn eta_secs(&self) -> f64 {
        self.total_timesteps.saturating_sub(self.timesteps) as f64 / self.steps_per_sec.max(1e-9)
    }
}

#[derive(Default)]
pub struct Jobs {
    pub list: Vec<Job>,
}

impl Jobs {
    /// Starts `config` on a background thread.
    pub fn start(&mut self, config: Config, waker: Arc<dyn Fn() + Send + Sync>) {
        self.start_request(RunRequest::New(Box::new(config)), waker)
    }

    /// Starts any run request (new, resume, fork) on a background thread.
    pub fn start_request(&mut self, request: RunRequest, waker: Arc<dyn Fn() + Send + Sync>) {
        let stop = Arc::new(AtomicBool::new(false));
        let stop_flag = stop.clone();
        let (name, total) = match (request.planned(), &request) {
            (Some(planned), _) => planned,
            (None, RunRequest::Resume(dir) | RunRequest::Fork { parent: dir, .. }) => {
                let total = crate::runs::RunInfo::read(&crate::runs::RunDir::at(dir)).map(|i| i.total_timesteps).unwrap_or(0);
                (dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(), total)
            }
            (None, _) => (String::new(), 0),
        };
        log::info!("training {name} started from the GUI");
        let mut task = Pending::spawn_reporting(&format!("train-{name}"), waker, move |events| {
            let (tx, waker) = events.into_parts();
            let options = RunOptions {
                command_line: Some("rl-research (GUI)".into()),
                stop: stop_flag,
                events: Some(runner::EventSender::new(tx).waking(waker)),
                live_episodes: true,
            };
            request.execute(options).map(|_| ()).map_err(|e| e.to_string())
        });
        let error = task.lost().then(|| "could not start a training thread".to_string());
        self.list.push(Job {
            name,
            run_dir: None,
            stop,
            task,
            timesteps: 0,
            total_timesteps: total,
            steps_per_sec: 0.0,
            metrics: RunMetrics::new(),
            device: None,
            live_episode: None,
            status: None,
            error,
            notes: Vec::new(),
            group: None,
        });
    }

    /// Drains every job's events (never blocks).
    pub fn poll(&mut self) {
        let gpu_before = self.gpu_running();
        for job in &mut self.list {
            for ev in job.task.updates() {
                job.apply(ev);
            }
            match job.task.take() {
                Some(Err(e)) => {
                    log::error!("training {} failed: {e}", job.name);
                    job.error = Some(e);
                }
                Some(Ok(())) if job.status.is_none() => job.status = Some(RunStatus::Completed),
                None if job.task.lost() && job.running() => job.error = Some("the training thread crashed".into()),
                _ => {}
            }
        }
        // The last GPU training ended: stop the device's polling service thread.
        if gpu_before && !self.gpu_running() {
            let _ = std::thread::Builder::new().name("gpu-release".into()).spawn(runner::release_gpu);
        }
    }

    /// Whether a running training uses a GPU.
    fn gpu_running(&self) -> bool {
        self.list.iter().any(|j| j.running() && j.device.as_deref().is_some_and(|d| d.starts_with("gpu")))
    }

    /// Stops every training gracefully and waits up to `timeout` for them to
    /// write their final models and status (closing the window does this).
    pub fn stop_all_and_wait(&mut self, timeout: std::time::Duration) {
        for job in &self.list {
            job.request_stop();
        }
        let t0 = std::time::Instant::now();
        while self.list.iter_mut().any(|j| j.task.busy()) && t0.elapsed() < timeout {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        self.poll();
    }

    pub fn running(&self) -> usize {
        self.list.iter().filter(|j| j.running()).count()
    }
}
