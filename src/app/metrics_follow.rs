//! Follows the metrics.csv of the runs selected in the browser on a background
//! thread (a 1M-row file takes a while to parse; the UI must not wait), sending
//! only new rows, so runs training in other processes plot live. The thread is
//! a [`Pending`] task that reports rows as it reads them and ends when the
//! follower is dropped.

use super::pending::{Pending, Reporter};
use super::plots::RunMetrics;
use crate::runs::logger::{MetricsRow, MetricsTail, read_metrics};
use crate::runs::{RunDir, RunInfo};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::time::Duration;

/// How often followed files are checked for new rows.
const POLL: Duration = Duration::from_millis(1000);

pub struct MetricsFollower {
    wanted: Vec<PathBuf>,
    tx: Option<Sender<Vec<PathBuf>>>,
    task: Option<Pending<(), (PathBuf, Vec<MetricsRow>)>>,
    /// Metrics of the followed runs, as far as read.
    pub data: BTreeMap<PathBuf, RunMetrics>,
}

impl Default for MetricsFollower {
    fn default() -> Self {
        Self { wanted: Vec::new(), tx: None, task: None, data: BTreeMap::new() }
    }
}

fn follow_loop(requests: Receiver<Vec<PathBuf>>, out: Reporter<(PathBuf, Vec<MetricsRow>)>) {
    let mut tails: Vec<(PathBuf, MetricsTail)> = Vec::new();
    loop {
        match requests.recv_timeout(POLL) {
            Ok(first) => {
                // Apply every pending request in order (a run deselected and
                // reselected must be read again from the start).
                let mut apply = |list: Vec<PathBuf>| {
                    tails.retain(|(p, _)| list.contains(p));
                    for p in list {
                        if !tails.iter().any(|(q, _)| *q == p) {
                            // A fork's curve starts as its parent's, up to the fork step.
                            let prefix = parent_prefix(&p);
                            if !prefix.is_empty() {
                                out.send((p.clone(), prefix));
                            }
                            let tail = MetricsTail::new(&RunDir::at(&p).metrics_csv());
                            tails.push((p, tail));
                        }
                    }
                };
                apply(first);
                while let Ok(list) = requests.try_recv() {
                    apply(list);
                }
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
        for (p, tail) in &mut tails {
            // An unreadable file is shown as "no data"; it is retried next time.
            if let Ok(rows) = tail.poll() {
                if !rows.is_empty() {
                    out.send((p.clone(), rows));
                }
            }
        }
    }
}

/// For a forked run, its ancestors' rows up to the fork step (the parent's up
/// to the fork, the grandparent's before that, ...), so the fork is drawn as a
/// branch of its parent's curve. Empty for other runs or a missing parent.
pub fn parent_prefix(run_dir: &Path) -> Vec<MetricsRow> {
    let mut chain = Vec::new();
    let mut dir = run_dir.to_path_buf();
    let mut limit = u64::MAX;
    for _ in 0..16 {
        let Some(origin) = RunInfo::read(&RunDir::at(&dir)).ok().and_then(|i| i.forked_from) else { break };
        // The parent as recorded, else a sibling of that name (a moved runs directory).
        let parent = if origin.run_dir.is_dir() { origin.run_dir.clone() } else { dir.with_file_name(&origin.run_name) };
        let Ok(rows) = read_metrics(&RunDir::at(&parent).metrics_csv()) else { break };
        let step = origin.step.min(limit);
        // Up to the fork: everything before its step, and that step's evaluation.
        chain.push(
            rows.into_iter().filter(|r| r.timesteps < step || (r.timesteps == step && r.metric.starts_with("eval/"))).collect::<Vec<_>>(),
        );
        limit = step;
        dir = parent;
    }
    chain.into_iter().rev().flatten().collect()
}

impl MetricsFollower {
    /// Follows exactly `paths` from now on (starting the thread on first use).
    pub fn set(&mut self, paths: &[PathBuf], waker: Arc<dyn Fn() + Send + Sync>) {
        if self.wanted == paths && self.tx.is_some() {
            return;
        }
        self.wanted = paths.to_vec();
        self.data.retain(|p, _| paths.contains(p));
        for p in paths {
            self.data.entry(p.clone()).or_default();
        }
        if self.tx.is_none() {
            let (req_tx, req_rx) = channel();
            let mut task = Pending::spawn_reporting("metrics-follow", waker, move |out| follow_loop(req_rx, out));
            if task.lost() {
                return;
            }
            self.tx = Some(req_tx);
            self.task = Some(task);
        }
        if let Some(tx) = &self.tx {
            let _ = tx.send(paths.to_vec());
        }
    }

    /// Appends what the thread has read so far (never blocks).
    pub fn poll(&mut self) {
        let Some(task) = &mut self.task else { return };
        for (path, rows) in task.updates() {
            let Some(m) = self.data.get_mut(&path) else { continue };
            for r in rows {
                m.entry(r.metric).or_default().push([r.timesteps as f64, r.wall_secs, r.value]);
            }
        }
    }
}
