//! The on-disk layout of a run, its metrics logger and its model files.
//!
//! ```text
//! runs/<name>/models/best_model.zip     best periodic evaluation so far
//! runs/<name>/models/final_model.zip    weights at the end (completed or stopped)
//! runs/<name>/configs/config.yaml       resolved config + the command line
//! runs/<name>/logs/metrics.csv          long-format metrics, append-only
//! runs/<name>/logs/events.out.tfevents.* the same scalars + HParams for TensorBoard
//! runs/<name>/logs/monitor.csv          finished training episodes (SB3's Monitor format)
//! runs/<name>/logs/run_info.json        status, timings, environment details
//! runs/<name>/logs/LOCK                 while a process writes into the run (see `lock`)
//! runs/<name>/checkpoints/step_<n>.ckpt training state to resume or fork from
//! runs/<name>/videos/                   evaluation videos
//! runs/<group>/{group.json, aggregate.csv, seed_<k>/}  a seed group (see `group`)
//! ```

pub mod checkpoint_file;
pub mod compare;
pub mod group;
pub mod lock;
pub mod logger;
pub mod model_file;
pub mod notebook;
pub mod row_log;
pub mod sysinfo;
pub mod tb_plugins;
pub mod temp_files;
pub mod tfevents;

pub use lock::RunLock;
pub use logger::{Logger, MetricsRow};
pub use model_file::{LayerWeights, MlpWeights, ModelMetadata, SavedModel};

use serde::{Deserialize, Serialize};
use std::io;
use std::path::{Path, PathBuf};

/// Paths of one run directory.
#[derive(Clone, Debug, PartialEq)]
pub struct RunDir {
    pub root: PathBuf,
}

impl RunDir {
    pub fn at(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }
    pub fn name(&self) -> String {
        self.root.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
    }
    pub fn models_dir(&self) -> PathBuf {
        self.root.join("models")
    }
    pub fn best_model(&self) -> PathBuf {
        self.models_dir().join("best_model.zip")
    }
    pub fn final_model(&self) -> PathBuf {
        self.models_dir().join("final_model.zip")
    }
    pub fn config_yaml(&self) -> PathBuf {
        self.root.join("configs").join("config.yaml")
    }
    pub fn logs_dir(&self) -> PathBuf {
        self.root.join("logs")
    }
    /// Finished training episodes in Stable-Baselines3's Monitor format.
    pub fn monitor_csv(&self) -> PathBuf {
        self.logs_dir().join("monitor.csv")
    }
    pub fn metrics_csv(&self) -> PathBuf {
        self.root.join("logs").join("metrics.csv")
    }
    /// Recorded evaluation episodes of the final video (see `runner::replay`).
    pub fn eval_episodes(&self) -> PathBuf {
        self.root.join("logs").join("eval_episodes.jsonl")
    }
    pub fn run_info(&self) -> PathBuf {
        self.root.join("logs").join("run_info.json")
    }
    pub fn videos_dir(&self) -> PathBuf {
        self.root.join("videos")
    }
    pub fn evaluation_video(&self) -> PathBuf {
        self.videos_dir().join("evaluation.mp4")
    }
    /// Once this file exists the run stops gracefully: how another process (a
    /// sweep's pruner, a scheduler) stops a trial.
    pub fn stop_file(&self) -> PathBuf {
        self.root.join("logs").join("STOP")
    }
    /// The model to evaluate or record: best_model.zip, else final_model.zip
    /// (a run stopped before its first evaluation); `None` if neither exists.
    pub fn preferred_model(&self) -> Option<PathBuf> {
        [self.best_model(), self.final_model()].into_iter().find(|p| p.exists())
    }

    /// The model to evaluate or record, loaded: best_model.zip, or
    /// final_model.zip when best is missing or damaged (the note says so).
    pub fn load_preferred_model(&self) -> Result<(SavedModel, PathBuf, Option<String>), String> {
        let (best, last) = (self.best_model(), self.final_model());
        let mut damaged = None;
        if best.exists() {
            match SavedModel::load(&best) {
                Ok(m) => return Ok((m, best, None)),
                Err(e) => damaged = Some(e.to_string()),
            }
        }
        if last.exists() {
            let model = SavedModel::load(&last).map_err(|e| damaged.as_ref().map_or(e.to_string(), |d| format!("{d}; and {e}")))?;
            let note = damaged.map(|d| format!("note: {d}: using {} instead", last.display()));
            return Ok((model, last, note));
        }
        Err(damaged.unwrap_or_else(|| self.no_models_message()))
    }

    /// What to say of a directory with neither model.
    pub fn no_models_message(&self) -> String {
        format!(
            "{} has no models/best_model.zip or final_model.zip: is it a run directory (runs/<name>)? A run has them once it trained (rl-research run)",
            self.root.display()
        )
    }

    /// Creates `runs_dir/name`, or `name_1`, `name_2`, ... if taken: an existing
    /// run is never overwritten. Safe against concurrent sweeps (create_dir is atomic).
    pub fn create_unique(runs_dir: &Path, name: &str) -> io::Result<Self> {
        let run = Self::at(create_unique_dir(runs_dir, name)?);
        for dir in [run.models_dir(), run.root.join("configs"), run.root.join("logs"), run.videos_dir()] {
            if let Err(e) = std::fs::create_dir_all(&dir) {
                return Err(run.discard_new(io::Error::new(e.kind(), format!("cannot create {}: {e}", dir.display()))));
            }
        }
        Ok(run)
    }

    /// Removes a run directory this process just created and could not start,
    /// so a failed start-up leaves nothing behind; returns `e` saying so.
    pub fn discard_new(&self, e: io::Error) -> io::Error {
        let _ = std::fs::remove_dir_all(&self.root);
        io::Error::new(e.kind(), format!("{e}; the new run directory {} was removed", self.root.display()))
    }
}

/// Creates `runs_dir/name`, or `name_1`, `name_2`, ... if taken (create_dir is
/// atomic, so concurrent sweeps never share one): a run or group is never overwritten.
pub fn create_unique_dir(runs_dir: &Path, name: &str) -> io::Result<PathBuf> {
    std::fs::create_dir_all(runs_dir).map_err(|e| {
        io::Error::new(
            e.kind(),
            format!("cannot create runs directory {}: {e}; set experiment.runs_dir to a writable directory", runs_dir.display()),
        )
    })?;
    for i in 0..10_000u32 {
        let candidate = if i == 0 { name.to_string() } else { format!("{name}_{i}") };
        let root = runs_dir.join(&candidate);
        match std::fs::create_dir(&root) {
            Ok(()) => return Ok(root),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => {
                return Err(io::Error::new(
                    e.kind(),
                    format!("cannot create run directory {}: {e}; set experiment.runs_dir to a writable directory", root.display()),
                ));
            }
        }
    }
    Err(io::Error::other(format!("no free run name for '{name}' in {} after 10000 tries", runs_dir.display())))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    Running,
    Completed,
    Failed,
    Stopped,
    /// Recorded as running by a process that is gone (killed, a crash, a
    /// second Ctrl-C): resumable from its last checkpoint.
    Interrupted,
}

impl RunStatus {
    /// The word run_info.json and every view use.
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Completed => "completed",
            RunStatus::Failed => "failed",
            RunStatus::Stopped => "stopped",
            RunStatus::Interrupted => "interrupted",
        }
    }

    /// Whether `run --resume` can continue a run that ended so.
    pub fn is_resumable(self) -> bool {
        matches!(self, RunStatus::Stopped | RunStatus::Failed | RunStatus::Interrupted)
    }
}

/// `logs/run_info.json`: what happened and where, for the runs browser.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunInfo {
    pub status: RunStatus,
    pub name: String,
    pub algorithm: String,
    pub env_id: String,
    pub seed: u64,
    pub started_at_unix_secs: u64,
    pub finished_at_unix_secs: Option<u64>,
    pub wall_secs: Option<f64>,
    /// Wall seconds in training alone: evaluations and best-model saves excluded.
    #[serde(default)]
    pub train_secs: Option<f64>,
    pub total_timesteps: u64,
    pub timesteps_done: u64,
    pub best_eval_mean_reward: Option<f64>,
    pub error: Option<String>,
    /// Problems that did not fail the run (e.g. the video could not be written).
    #[serde(default)]
    pub warnings: Vec<String>,
    pub environment: sysinfo::EnvironmentInfo,
    /// The training process and its host, so a browser on the same host can
    /// tell a run that is still training from one whose process was killed.
    #[serde(default)]
    pub pid: Option<u32>,
    #[serde(default)]
    pub host: Option<String>,
    /// The process's start time in clock ticks since boot (Linux), so a
    /// reused pid is not taken for the training process.
    #[serde(default)]
    pub start_ticks: Option<u64>,
    /// Set on a run started with `--fork`: its parent and the parent's step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forked_from: Option<ForkOrigin>,
    /// Each `--resume` of this run: the step it continued from and when.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resumed: Vec<ResumeRecord>,
    /// `experiment.tags` at launch: what the runs browser filters by.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// `experiment.notes` at launch: why the run was started.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub notes: String,
    /// Each clean-up (`rl-research clean`, Remove checkpoints): what was removed and when.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cleaned: Vec<notebook::CleanRecord>,
}

/// Where a forked run branched off.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ForkOrigin {
    /// The parent's directory name and path (as given; the name finds it in the same runs dir).
    pub run_name: String,
    pub run_dir: PathBuf,
    pub step: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ResumeRecord {
    pub from_step: u64,
    pub at_unix_secs: u64,
}

/// This machine's host name (Linux; `None` elsewhere).
pub fn host_name() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/hostname").ok().map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

impl RunInfo {
    /// Whether the process that wrote this "running" run still exists: `None`
    /// when that cannot be known here (another host, not Linux, no pid).
    pub fn process_alive(&self) -> Option<bool> {
        let (pid, host) = (self.pid?, self.host.as_ref()?);
        if !cfg!(target_os = "linux") || host_name().as_ref() != Some(host) {
            return None;
        }
        Some(match (lock::process_start_ticks(pid), self.start_ticks) {
            (None, _) => false,
            (Some(now), Some(then)) => now == then,
            (Some(_), None) => true,
        })
    }

    /// Marks this process as the run's writer (pid, host, start time).
    pub fn claim_for_this_process(&mut self) {
        self.pid = Some(std::process::id());
        self.host = host_name();
        self.start_ticks = lock::process_start_ticks(std::process::id());
    }

    pub fn write(&self, run: &RunDir) -> io::Result<()> {
        let text = serde_json::to_string_pretty(self).map_err(io::Error::other)?;
        write_status_file(&run.run_info(), text.as_bytes())
    }
    /// Reads run_info.json. A run recorded as running whose process is
    /// certainly gone (same host; its pid dead or reused, and no live process
    /// holds its lock) reads `interrupted`, and the file is updated to say so.
    pub fn read(run: &RunDir) -> io::Result<Self> {
        let info = Self::read_as_written(run)?;
        if info.status != RunStatus::Running || info.process_alive() != Some(false) {
            return Ok(info);
        }
        // Taking the lock proves no live writer holds it (a resume that just
        // started does); then the file is checked again under it. A copy that
        // cannot be locked (read-only) still reads interrupted, unchanged on disk.
        let lock = match run.lock("status update") {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Self::read_as_written(run),
            lock => lock.ok(),
        };
        let mut info = Self::read_as_written(run)?;
        if info.status == RunStatus::Running && info.process_alive() == Some(false) {
            info.status = RunStatus::Interrupted;
            if lock.is_some() {
                let _ = info.write(run);
            }
        }
        Ok(info)
    }

    /// run_info.json exactly as written (no check of the writer's process).
    pub fn read_as_written(run: &RunDir) -> io::Result<Self> {
        let path = run.run_info();
        let text = std::fs::read_to_string(&path).map_err(|e| {
            if e.kind() == io::ErrorKind::NotFound {
                let why = if run.root.is_dir() {
                    format!("{} is not a run directory, or its process was stopped before it recorded the run", run.root.display())
                } else {
                    format!("{} does not exist", run.root.display())
                };
                io::Error::new(e.kind(), format!("{} is missing: {why}", path.display()))
            } else {
                io::Error::new(e.kind(), format!("cannot read {}: {e}", path.display()))
            }
        })?;
        serde_json::from_str(&text).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("{} is damaged: {e}", path.display())))
    }

    /// How to continue this run, for messages about an interrupted one.
    pub fn resume_hint(run: &RunDir) -> String {
        format!("resume it with: rl-research run --resume {}", run.root.display())
    }
}

/// Writes through a temporary file and a rename, so readers never see half a file
/// and a crash mid-write never loses the previous version. The error names the file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let tmp = path.with_extension(format!("{}.tmp", path.extension().and_then(|e| e.to_str()).unwrap_or("")));
    let _pending = temp_files::Pending::new(&tmp);
    std::fs::write(&tmp, bytes).and_then(|()| std::fs::rename(&tmp, path)).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        io::Error::new(e.kind(), format!("writing {}: {e}", path.display()))
    })
}

/// [`write_atomic`] for small status files (run_info.json) that must say how a
/// run ended even on a full disk: when there is no room for a second copy,
/// the file is rewritten in place, in the blocks it already holds (only if
/// the new text fits in them, so the old text is never traded for nothing).
pub fn write_status_file(path: &Path, bytes: &[u8]) -> io::Result<()> {
    match write_atomic(path, bytes) {
        Err(e) if is_out_of_space(&e) => {
            let held = std::fs::metadata(path).map(|m| m.len().div_ceil(4096) * 4096).unwrap_or(0);
            if bytes.len() as u64 > held {
                return Err(e);
            }
            std::fs::write(path, bytes).map_err(|_| e)
        }
        other => other,
    }
}

/// ENOSPC or EDQUOT: the disk (or the quota) is full.
pub fn is_out_of_space(e: &io::Error) -> bool {
    matches!(e.kind(), io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded)
}

/// Seconds since the Unix epoch, with fractions (TensorBoard's wall_time, monitor.csv's t_start).
pub fn unix_now_f64() -> f64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0)
}

/// "2026-11-24 12:40" (UTC) from Unix seconds.
pub fn format_utc(unix_secs: u64) -> String {
    let days = (unix_secs / 86_400) as i64;
    let secs = unix_secs % 86_400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02}", secs / 3600, secs % 3600 / 60)
}

pub fn unix_now_secs() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_words_are_the_ones_run_info_json_holds() {
        for s in [RunStatus::Running, RunStatus::Completed, RunStatus::Failed, RunStatus::Stopped, RunStatus::Interrupted] {
            assert_eq!(serde_json::to_string(&s).unwrap(), format!("\"{}\"", s.as_str()));
        }
    }
}
