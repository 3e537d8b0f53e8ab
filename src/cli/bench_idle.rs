//! `rl-research bench --idle`: what the desktop app costs while nothing happens. It opens the
//! real app (a child process, on this display) over an empty runs directory and over 2,000
//! runs, leaves it alone, and reads the process's CPU time from /proc over 20 s (the period
//! of the full rescans while every run is settled), as `top` does; then times the scanner's
//! work on the 2,000 unchanged runs.

use crate::app::runs_scan::{InfoCache, SortKey, scan, sort_rows};
use crate::app::runs_scanner::{RESCAN, SETTLED_RESCANS, fingerprint};
use crate::app::usage::{thread_times_in, usage_between};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Left alone this long before measuring (start-up, the first scan and paint).
const SETTLE: Duration = Duration::from_secs(10);
/// Measured this long: one full rescan of settled runs falls in it.
const MEASURE: Duration = Duration::from_secs(RESCAN.as_secs() * SETTLED_RESCANS as u64);
const RUNS: usize = 2_000;

pub fn cmd_idle() -> i32 {
    let env = crate::runs::sysinfo::EnvironmentInfo::collect("cpu (burn flex)", 0);
    println!("rl-research {} bench --idle on {} ({} cores, {})", env.crate_version, env.cpu, env.cpu_cores, env.os);
    if !cfg!(target_os = "linux") {
        eprintln!("error: bench --idle reads /proc: Linux only");
        return 1;
    }
    if std::env::var_os("DISPLAY").is_none() && std::env::var_os("WAYLAND_DISPLAY").is_none() {
        eprintln!(
            "error: bench --idle opens the app and needs a display: run it in a desktop session or as `xvfb-run -a rl-research bench --idle`"
        );
        return 1;
    }
    match run() {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: {e}");
            1
        }
    }
}

fn run() -> Result<(), String> {
    let work = std::env::temp_dir().join(format!("rl-research-idle-bench-{}", std::process::id()));
    let result = (|| {
        let empty = work.join("empty");
        std::fs::create_dir_all(&empty).map_err(|e| format!("cannot create {}: {e}", empty.display()))?;
        let many = work.join("runs");
        super::bench::fake_runs(&many, RUNS)?;
        for (label, dir) in [("empty runs directory", &empty), ("2,000 runs, Runs tab", &many)] {
            let (percent, top) = idle_app(dir, &work)?;
            let busiest: Vec<String> = top.iter().map(|(n, p)| format!("{n} {p:.2}%")).collect();
            println!(
                "app idle, {label}: {percent:.2}% of one core over {} s after {} s (target < 1%); busiest threads: {}",
                MEASURE.as_secs(),
                SETTLE.as_secs(),
                if busiest.is_empty() { "none".to_string() } else { busiest.join(", ") }
            );
        }
        let (first, again, check) = rescan_cost(&many);
        let full_every = RESCAN * SETTLED_RESCANS;
        println!(
            "runs browser scan of {RUNS} runs: first {:.1} ms; with nothing changed, a listing check {:.3} ms every {} s \
             and a full rescan {:.2} ms every {} s ({:.3}% of one core, and no frame drawn)",
            first * 1e3,
            check * 1e3,
            RESCAN.as_secs(),
            again * 1e3,
            full_every.as_secs(),
            100.0 * (check / RESCAN.as_secs_f64() + again / full_every.as_secs_f64())
        );
        Ok(())
    })();
    let _ = std::fs::remove_dir_all(&work);
    result
}

/// Opens the app on `runs_dir`, leaves it alone, and returns its CPU use (percent of one
/// core, every thread) and its busiest threads over [`MEASURE`].
fn idle_app(runs_dir: &Path, work: &Path) -> Result<(f64, Vec<(String, f64)>), String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find this program: {e}"))?;
    // Settings of its own, so the user's persisted window state plays no part.
    let home = work.join(format!("home-{}", runs_dir.file_name().and_then(|n| n.to_str()).unwrap_or("x")));
    let mut child = Command::new(exe)
        .args(["gui", "--tab", "runs", "--runs-dir"])
        .arg(runs_dir)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_DATA_HOME", home.join("data"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start the app: {e}"))?;
    let measured = (|| {
        let proc_dir = format!("/proc/{}", child.id());
        std::thread::sleep(SETTLE);
        alive(&mut child)?;
        let (t0, before) = (Instant::now(), thread_times_in(&proc_dir));
        std::thread::sleep(MEASURE);
        alive(&mut child)?;
        let after = thread_times_in(&proc_dir);
        let mut usage = usage_between(&before, &after, t0.elapsed().as_secs_f64(), 0.0);
        usage.top.truncate(4);
        Ok((usage.cpu_percent, usage.top))
    })();
    // SIGTERM closes the window as its close button does.
    let _ = Command::new("kill").arg(child.id().to_string()).status();
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline && matches!(child.try_wait(), Ok(None)) {
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    measured
}

fn alive(child: &mut Child) -> Result<(), String> {
    match child.try_wait() {
        Ok(None) => Ok(()),
        Ok(Some(status)) => Err(format!("the app exited ({status}) before it could be measured: does `rl-research gui` open here?")),
        Err(e) => Err(format!("cannot watch the app: {e}")),
    }
}

/// Seconds of the first scan (with the sort that hands rows over), the mean of ten full
/// rescans with nothing changed, as the scanner thread does them (scan, fingerprint), and
/// of the listing check that stands in for most of them.
fn rescan_cost(dir: &Path) -> (f64, f64, f64) {
    let mut cache = InfoCache::new();
    let t = Instant::now();
    let mut rows = scan(dir, &mut cache);
    std::hint::black_box(fingerprint(&rows));
    sort_rows(&mut rows, (SortKey::Started, true));
    let first = t.elapsed().as_secs_f64();
    let t = Instant::now();
    for _ in 0..10 {
        let rows = scan(dir, &mut cache);
        std::hint::black_box(fingerprint(&rows));
    }
    let again = t.elapsed().as_secs_f64() / 10.0;
    let t = Instant::now();
    for _ in 0..100 {
        std::hint::black_box(cache.listing_stamp(dir));
    }
    (first, again, t.elapsed().as_secs_f64() / 100.0)
}
