//! The status bar's CPU and memory meter: a thread of its own samples every thread of the
//! process once a second (`/proc/self/task`), so the figure is true while the window is idle
//! (an idle egui app draws no frames, and a meter sampled per frame would freeze), and wakes
//! the window only when what it shows is out of date.

use crate::runs::sysinfo::{parse_stat, rss_mib};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How often the meter samples.
const PERIOD: Duration = Duration::from_secs(1);

/// What the status bar shows.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Usage {
    /// Every thread of the process, 100 = one core busy.
    pub cpu_percent: f64,
    /// The share of trainings started here (their threads and the compute pool's).
    pub training_percent: f64,
    pub rss_mib: f64,
    /// The busiest threads, for the tooltip: (name, percent).
    pub top: Vec<(String, f64)>,
    pub threads: usize,
    /// Frames the window drew over the sample.
    pub frames_per_sec: f64,
}

impl Usage {
    /// The status bar's text.
    pub fn text(&self) -> String {
        // Before the first sample (a second after start): nothing measured yet, not zero.
        if self.threads == 0 {
            return "app CPU: measuring…".into();
        }
        if self.training_percent >= 0.5 {
            format!("app CPU {:.0}% (training {:.0}%)  ·  memory {:.0} MiB", self.cpu_percent, self.training_percent, self.rss_mib)
        } else {
            format!("app CPU {:.0}%  ·  memory {:.0} MiB", self.cpu_percent, self.rss_mib)
        }
    }

    pub fn tooltip(&self) -> String {
        let mut out = format!(
            "CPU time of all {} threads of this process over the last second (100% = one core), as top counts it; \
             Python worker processes of gym: envs are not included.\nBusiest threads:",
            self.threads
        );
        for (name, pct) in &self.top {
            out.push_str(&format!("\n  {name}: {pct:.1}%"));
        }
        out.push_str(&format!("\nWindow: {:.1} frames/s", self.frames_per_sec));
        if let Some(cost) = super::pace::frame_cost() {
            out.push_str(&format!(
                ", {:.0} ms of CPU per frame; redraws for background work at most every {:.1} s",
                cost.as_secs_f64() * 1e3,
                super::pace::current().as_secs_f64()
            ));
        }
        out
    }
}

/// One thread's name and CPU seconds.
#[derive(Clone, Debug, PartialEq)]
pub struct ThreadTime {
    pub tid: u32,
    pub name: String,
    pub cpu_secs: f64,
}

/// Every thread of this process with its CPU seconds so far (Linux; empty elsewhere).
pub fn thread_times() -> Vec<ThreadTime> {
    thread_times_in("/proc/self")
}

/// Every thread of the process whose `/proc` directory is `proc_dir` (`/proc/<pid>`),
/// with its CPU time to the nanosecond where the kernel keeps it.
pub fn thread_times_in(proc_dir: &str) -> Vec<ThreadTime> {
    let Ok(entries) = std::fs::read_dir(format!("{proc_dir}/task")) else { return Vec::new() };
    let mut out = Vec::new();
    for e in entries.flatten() {
        let Some(tid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else { continue };
        let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else { continue };
        let Some((name, tick_secs)) = parse_stat(&stat) else { continue };
        // schedstat's first field is the time on a CPU in nanoseconds; stat's is in clock
        // ticks (10 ms), too coarse for threads that wake for a millisecond now and then.
        let exact = std::fs::read_to_string(e.path().join("schedstat"))
            .ok()
            .and_then(|s| s.split_whitespace().next()?.parse::<u64>().ok())
            .map(|ns| ns as f64 * 1e-9);
        out.push(ThreadTime { tid, name: name.to_string(), cpu_secs: exact.unwrap_or(tick_secs) });
    }
    out
}

/// Whether a thread works for a training: the `train-*` threads trainings run on and the
/// threads they start (which inherit the name), the compute pool's `compute-*` workers and
/// the checkpoint writer.
fn is_training(t: &ThreadTime) -> bool {
    ["train-", "compute-", "checkpoint-"].iter().any(|p| t.name.starts_with(p))
}

/// Percentages between two samples of [`thread_times`] taken `secs` apart. Threads that
/// ended in between are not counted (their time is gone from /proc/self/task).
pub fn usage_between(before: &[ThreadTime], after: &[ThreadTime], secs: f64, rss_mib: f64) -> Usage {
    let mut per_thread: Vec<(String, f64, bool)> = after
        .iter()
        .map(|t| {
            let was = before.iter().find(|b| b.tid == t.tid).map_or(0.0, |b| b.cpu_secs);
            (t.name.clone(), 100.0 * (t.cpu_secs - was).max(0.0) / secs.max(1e-3), is_training(t))
        })
        .collect();
    let cpu_percent = per_thread.iter().map(|t| t.1).sum();
    let training_percent = per_thread.iter().filter(|t| t.2).map(|t| t.1).sum();
    per_thread.sort_by(|a, b| b.1.total_cmp(&a.1));
    let top = per_thread.iter().filter(|t| t.1 > 0.0).take(6).map(|t| (t.0.clone(), t.1)).collect();
    Usage { cpu_percent, training_percent, rss_mib, top, threads: after.len(), frames_per_sec: 0.0 }
}

/// Whether two readings show the same thing to a reader (within 2 points of CPU, 32 MiB or
/// 10% of memory): the meter wakes the window only for a change beyond that. Memory is
/// coarse because drawing a frame itself moves it by tens of MiB (a software renderer's
/// buffers are process memory): a finer threshold would wake the window for its own frames.
fn close(a: &Usage, b: &Usage) -> bool {
    (a.cpu_percent - b.cpu_percent).abs() < 2.0
        && (a.training_percent - b.training_percent).abs() < 2.0
        && (a.rss_mib - b.rss_mib).abs() < 32.0_f64.max(0.1 * a.rss_mib)
}

/// The latest reading and the one the window last drew.
#[derive(Default)]
struct Readings {
    latest: Usage,
    shown: Option<Usage>,
}

/// The meter: a sampling thread and the latest figures.
pub struct Meter {
    readings: Arc<Mutex<Readings>>,
}

impl Meter {
    /// Starts the sampling thread; `wake` repaints the window when the figures changed and
    /// the change held for two samples. Drawing a frame costs CPU itself (much of it on a
    /// software renderer): waking for every flicker would keep an idle window drawing.
    pub fn start(wake: Arc<dyn Fn() + Send + Sync>) -> Self {
        let readings = Arc::new(Mutex::new(Readings::default()));
        let shared = readings.clone();
        // The meter is a nicety: without a thread it shows nothing.
        let _ = std::thread::Builder::new().name("cpu-meter".into()).spawn(move || {
            let mut before = (Instant::now(), thread_times(), super::pace::frames());
            let mut previous = Usage::default();
            loop {
                std::thread::sleep(PERIOD);
                // The window is gone once only this thread holds the figures.
                if Arc::strong_count(&shared) == 1 {
                    return;
                }
                let now = (Instant::now(), thread_times(), super::pace::frames());
                let secs = now.0.duration_since(before.0).as_secs_f64();
                let mut usage = usage_between(&before.1, &now.1, secs, rss_mib().unwrap_or(0.0));
                let frames = now.2.saturating_sub(before.2);
                usage.frames_per_sec = frames as f64 / secs.max(1e-3);
                // What the window cost: every thread but the trainings' (this one included).
                super::pace::observe((usage.cpu_percent - usage.training_percent) / 100.0 * secs, frames);
                before = now;
                let stale = {
                    let mut guard = shared.lock().unwrap_or_else(|e| e.into_inner());
                    let stale = close(&previous, &usage) && !guard.shown.as_ref().is_some_and(|s| close(s, &usage));
                    guard.latest = usage.clone();
                    stale
                };
                previous = usage;
                if stale {
                    wake();
                }
            }
        });
        Self { readings }
    }

    /// A meter that never samples (tests drive the window without it).
    pub fn idle() -> Self {
        Self { readings: Arc::new(Mutex::new(Readings::default())) }
    }

    /// The figures to draw now (recorded as shown).
    pub fn latest(&self) -> Usage {
        let mut guard = self.readings.lock().unwrap_or_else(|e| e.into_inner());
        guard.shown = Some(guard.latest.clone());
        guard.latest.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_thread_counts_and_training_threads_are_told_apart() {
        let before = thread_times();
        assert!(before.iter().any(|t| t.tid == std::process::id()), "the main thread is listed: {before:?}");
        // A busy named thread shows up with its share.
        let spin = std::thread::Builder::new()
            .name("train-spin".into())
            .spawn(|| {
                let t = Instant::now();
                let mut x = 0u64;
                while t.elapsed() < Duration::from_millis(300) {
                    x = std::hint::black_box(x.wrapping_add(1));
                }
                x
            })
            .unwrap();
        std::thread::sleep(Duration::from_millis(250));
        let after = thread_times();
        let usage = usage_between(&before, &after, 0.25, 1.0);
        spin.join().unwrap();
        assert!(usage.training_percent > 30.0, "{usage:?}");
        assert!(usage.cpu_percent >= usage.training_percent);
        assert!(usage.top.iter().any(|(n, _)| n == "train-spin"), "{usage:?}");
        assert!(usage.text().contains("training"), "{}", usage.text());
        assert_eq!(Usage::default().text(), "app CPU: measuring…", "not a zero before the first sample");
        let quiet = Usage { cpu_percent: 0.4, rss_mib: 100.0, threads: 9, ..Usage::default() };
        assert_eq!(quiet.text(), "app CPU 0%  ·  memory 100 MiB");
        assert!(close(&quiet, &Usage { cpu_percent: 1.9, rss_mib: 104.0, ..Usage::default() }));
        assert!(!close(&quiet, &Usage { cpu_percent: 15.0, rss_mib: 100.0, ..Usage::default() }));
        assert!(close(&quiet, &Usage { cpu_percent: 0.0, rss_mib: 120.0, ..Usage::default() }));
        assert!(!close(&quiet, &Usage { cpu_percent: 0.0, rss_mib: 140.0, ..Usage::default() }));
    }
}
