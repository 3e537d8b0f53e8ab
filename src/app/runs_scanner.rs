//! The runs browser's background scanner: one thread that rescans the runs directory every
//! few seconds and hands the UI new rows only when something changed, so an idle window over
//! thousands of runs draws no frames, and runs of other processes still appear and advance
//! without the window being touched. While every run is settled (none training), a rescan
//! waits for a directory listing to change (a new or removed run, seed or trial) and
//! otherwise comes only every [`SETTLED_RESCANS`] periods (a finished run changed in place,
//! e.g. resumed from the command line).

use super::runs_scan::{InfoCache, RunRow, SortKey, scan, sort_rows};
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Rescan period.
pub const RESCAN: Duration = Duration::from_secs(2);
/// While every run is settled and no listing changed, one full rescan per this many periods.
pub const SETTLED_RESCANS: u32 = 10;

/// What to scan and how to order it.
#[derive(Clone, Debug, PartialEq)]
struct Request {
    root: PathBuf,
    sort: (SortKey, bool),
}

/// Rows of one scan, sorted by `sort`.
pub struct Scanned {
    pub root: PathBuf,
    pub sort: (SortKey, bool),
    pub rows: Vec<RunRow>,
}

pub struct Scanner {
    request: Arc<Mutex<Request>>,
    /// Wakes the thread at once (a new directory or order); dropping it ends the thread.
    nudge: Sender<()>,
    results: Receiver<Scanned>,
}

impl Scanner {
    /// Starts the thread; `wake` repaints the window when rows changed. `None` when no
    /// thread could be started.
    pub fn start(root: &Path, sort: (SortKey, bool), wake: Arc<dyn Fn() + Send + Sync>) -> Option<Self> {
        Self::start_every(root, sort, wake, RESCAN)
    }

    /// [`Scanner::start`] with another rescan period (tests).
    pub fn start_every(root: &Path, sort: (SortKey, bool), wake: Arc<dyn Fn() + Send + Sync>, period: Duration) -> Option<Self> {
        let request = Arc::new(Mutex::new(Request { root: root.to_path_buf(), sort }));
        let (nudge, nudged) = channel();
        let (send, results) = channel();
        let shared = request.clone();
        std::thread::Builder::new().name("runs-scan".into()).spawn(move || scan_loop(&shared, &nudged, &send, &*wake, period)).ok()?;
        Some(Self { request, nudge, results })
    }

    /// Scans `root` in `sort` order from now on (at once when either changed).
    pub fn follow(&self, root: &Path, sort: (SortKey, bool)) {
        let wanted = Request { root: root.to_path_buf(), sort };
        let mut request = self.request.lock().unwrap_or_else(|e| e.into_inner());
        if *request != wanted {
            *request = wanted;
            let _ = self.nudge.send(());
        }
    }

    /// Asks for a scan now (the Refresh button, after a change made here).
    pub fn rescan(&self) {
        let _ = self.nudge.send(());
    }

    /// The newest rows handed over since the last call.
    pub fn take(&self) -> Option<Scanned> {
        self.results.try_iter().last()
    }
}

/// What the table shows of the rows, hashed: equal fingerprints, nothing to redraw. A
/// running run changes it on every scan (its wall time), finished ones only when their files
/// do.
pub fn fingerprint(rows: &[RunRow]) -> u64 {
    use crate::runs::RunStatus;
    let mut h = DefaultHasher::new();
    let mut running = false;
    for r in rows {
        r.path.as_os_str().hash(&mut h);
        r.group.hash(&mut h);
        r.checkpoints.hash(&mut h);
        r.dead.hash(&mut h);
        r.idle_secs.is_some_and(|s| s > super::runs_scan::STALE_SECS).hash(&mut h);
        match &r.info {
            Ok(i) => {
                running |= i.status == RunStatus::Running && !r.dead;
                i.status.as_str().hash(&mut h);
                (i.timesteps_done, i.started_at_unix_secs).hash(&mut h);
                i.best_eval_mean_reward.map(f64::to_bits).hash(&mut h);
                i.wall_secs.map(f64::to_bits).hash(&mut h);
                (&i.env_id, &i.algorithm).hash(&mut h);
            }
            Err(e) => e.hash(&mut h),
        }
        if let Some(g) = &r.seed_group {
            (std::mem::discriminant(&g.status), g.seeds.len(), g.wall_secs.map(f64::to_bits)).hash(&mut h);
        }
    }
    // While something trains, its wall time shows it: redraw each scan.
    if running {
        crate::runs::unix_now_secs().hash(&mut h);
    }
    h.finish()
}

fn scan_loop(request: &Mutex<Request>, nudged: &Receiver<()>, send: &Sender<Scanned>, wake: &(dyn Fn() + Send + Sync), period: Duration) {
    let mut cache = InfoCache::new();
    let mut last: Option<(Request, u64)> = None;
    // The listings' stamp when the last full scan found every run settled, and the quiet
    // periods since.
    let mut settled: Option<u64> = None;
    let mut quiet_periods = 0;
    let mut nudge = true;
    loop {
        let wanted = request.lock().unwrap_or_else(|e| e.into_inner()).clone();
        if last.as_ref().is_some_and(|(r, _)| r.root != wanted.root) {
            cache.clear();
        }
        let same_request = last.as_ref().is_some_and(|(r, _)| *r == wanted);
        let stamp = cache.listing_stamp(&wanted.root);
        if !nudge && same_request && settled == Some(stamp) && quiet_periods + 1 < SETTLED_RESCANS {
            quiet_periods += 1;
        } else {
            quiet_periods = 0;
            // Rows come in directory order, so an unchanged directory has an unchanged
            // fingerprint, and only changed rows are sorted and handed over.
            let mut rows = scan(&wanted.root, &mut cache);
            settled = rows.iter().all(RunRow::settled).then_some(stamp);
            let print = fingerprint(&rows);
            if last.as_ref() != Some(&(wanted.clone(), print)) {
                sort_rows(&mut rows, wanted.sort);
                if send.send(Scanned { root: wanted.root.clone(), sort: wanted.sort, rows }).is_err() {
                    return;
                }
                wake();
                last = Some((wanted, print));
            }
        }
        nudge = match nudged.recv_timeout(period) {
            Ok(()) => true,
            Err(RecvTimeoutError::Timeout) => false,
            Err(RecvTimeoutError::Disconnected) => return,
        };
        while nudged.try_recv().is_ok() {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn the_window_is_woken_only_when_a_row_changed() {
        let dir = std::env::temp_dir().join(format!("rl-research-scanner-{}", std::process::id()));
        crate::cli::bench::fake_runs(&dir, 3).unwrap();
        let wakes = Arc::new(AtomicUsize::new(0));
        let counter = wakes.clone();
        let wake: Arc<dyn Fn() + Send + Sync> = Arc::new(move || {
            counter.fetch_add(1, Ordering::SeqCst);
        });
        let period = Duration::from_millis(20);
        let scanner = Scanner::start_every(&dir, (SortKey::Name, false), wake, period).unwrap();
        let wait_for = |n: usize| {
            let t = std::time::Instant::now();
            while wakes.load(Ordering::SeqCst) < n && t.elapsed() < Duration::from_secs(10) {
                std::thread::sleep(Duration::from_millis(5));
            }
        };
        wait_for(1);
        assert_eq!(scanner.take().map(|s| s.rows.len()), Some(3));
        // Many rescans of unchanged runs: no wake, nothing handed over.
        std::thread::sleep(period * 15);
        assert_eq!(wakes.load(Ordering::SeqCst), 1);
        assert!(scanner.take().is_none());
        // A new run appears without anyone touching the window.
        std::fs::rename(dir.join("run_00002"), dir.join("run_00010")).unwrap();
        wait_for(2);
        let names: Vec<String> = scanner.take().unwrap().rows.iter().map(|r| r.name.clone()).collect();
        assert_eq!(names, ["run_00000", "run_00001", "run_00010"]);
        // Another order is scanned at once.
        scanner.follow(&dir, (SortKey::Name, true));
        wait_for(3);
        assert_eq!(scanner.take().unwrap().rows[0].name, "run_00010");
        // A finished run changed in place (no listing changes): seen by a full rescan.
        let run = crate::runs::RunDir::at(dir.join("run_00001"));
        let mut info = crate::runs::RunInfo::read(&run).unwrap();
        info.status = crate::runs::RunStatus::Failed;
        std::thread::sleep(Duration::from_millis(20)); // a new modification time
        info.write(&run).unwrap();
        wait_for(4);
        let rows = scanner.take().unwrap().rows;
        assert!(rows.iter().any(|r| r.name == "run_00001" && r.info.as_ref().is_ok_and(|i| i.status == crate::runs::RunStatus::Failed)));
        drop(scanner);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
