//! Scanning a runs directory (runs, sweep trials, foreign directories) and the
//! file operations of the runs browser (open folder, move to trash, dates).

use crate::runs::group::{GroupDir, GroupInfo};
use crate::runs::{RunDir, RunInfo, RunStatus};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

/// A running run whose files have not changed for this long is marked as
/// possibly dead (its process may have been killed).
pub(super) const STALE_SECS: f64 = 300.0;

#[derive(Clone, Debug)]
pub struct RunRow {
    pub path: PathBuf,
    /// Directory name.
    pub name: String,
    /// The sweep directory it belongs to, for trials; the seed group's label
    /// (`name`, or `sweep/trial_3`) for a group's seeds.
    pub group: Option<String>,
    /// For a seed of a seed group: the group's group.json.
    pub seed_group: Option<Arc<crate::runs::group::GroupInfo>>,
    /// `Err` for broken or foreign directories, saying what is wrong.
    pub info: Result<RunInfo, String>,
    /// Seconds since a running run last wrote anything.
    pub idle_secs: Option<f64>,
    /// A "running" run whose process is gone (killed before it could record an end).
    pub dead: bool,
    /// Steps of its checkpoints, oldest first (what Resume and Fork… start from).
    pub checkpoints: Vec<u64>,
}

impl RunRow {
    /// "sweep/trial_3" for trials.
    pub fn label(&self) -> String {
        match &self.group {
            Some(g) => format!("{g}/{}", self.name),
            None => self.name.clone(),
        }
    }
    pub fn status_text(&self) -> String {
        match &self.info {
            Ok(i) if i.status == RunStatus::Running && self.dead => "interrupted".into(),
            Ok(i) if i.status == RunStatus::Running && self.idle_secs.is_some_and(|s| s > STALE_SECS) => "running?".into(),
            Ok(i) => i.status.as_str().into(),
            Err(_) => "unreadable".into(),
        }
    }
    /// Stopped, failed or interrupted, with a checkpoint to continue from.
    pub fn resumable(&self) -> bool {
        let unfinished = match &self.info {
            Ok(i) => i.status.is_resumable() || (i.status == RunStatus::Running && self.dead),
            Err(_) => false,
        };
        unfinished && !self.checkpoints.is_empty()
    }
    pub fn wall_secs(&self) -> Option<f64> {
        let i = self.info.as_ref().ok()?;
        match (i.status, i.wall_secs) {
            (RunStatus::Running | RunStatus::Interrupted, w) if self.dead => w,
            (RunStatus::Running, _) => Some(crate::runs::unix_now_secs().saturating_sub(i.started_at_unix_secs) as f64),
            (_, w) => w,
        }
    }
}

/// Columns the table can be sorted by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SortKey {
    Name,
    Env,
    Algo,
    Status,
    Timesteps,
    Best,
    Wall,
    Started,
}

pub type InfoCache = HashMap<PathBuf, (Option<SystemTime>, Result<RunInfo, String>)>;

fn mtime(p: &Path) -> Option<SystemTime> {
    std::fs::metadata(p).and_then(|m| m.modified()).ok()
}

/// Reads a run's info, reusing the cached parse when run_info.json is unchanged.
fn read_info(dir: &Path, cache: &mut InfoCache) -> Result<RunInfo, String> {
    let run = RunDir::at(dir);
    let m = mtime(&run.run_info());
    if let Some((cached_m, info)) = cache.get(dir) {
        if *cached_m == m && m.is_some() {
            return info.clone();
        }
    }
    let info = if m.is_none() {
        if GroupDir::is_group(dir) {
            Err(GroupInfo::read(&GroupDir::at(dir))
                .err()
                .map(|e| format!("a seed group that cannot be read: {e}"))
                .unwrap_or_else(|| "a seed group".into()))
        } else if run.config_yaml().exists() {
            Err("no logs/run_info.json (started by an older version, or its process died at once)".to_string())
        } else {
            Err("not a run directory (no logs/run_info.json or configs/config.yaml)".to_string())
        }
    } else {
        RunInfo::read(&run).map_err(|e| e.to_string())
    };
    cache.insert(dir.to_path_buf(), (m, info.clone()));
    info
}

fn subdirs(root: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(root) else { return Vec::new() };
    let mut dirs: Vec<PathBuf> = entries
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.path())
        .filter(|p| p.file_name().is_some_and(|n| !n.to_string_lossy().starts_with('.') && n != "trash"))
        .collect();
    dirs.sort();
    dirs
}

/// Lists every directory under `root`: runs, sweep trials (one level deeper,
/// grouped) and foreign/broken directories (as errors).
pub fn scan(root: &Path, cache: &mut InfoCache) -> Vec<RunRow> {
    let mut rows = Vec::new();
    let now = SystemTime::now();
    let mut push = |path: PathBuf, group: Option<String>, seed_group: Option<Arc<GroupInfo>>, cache: &mut InfoCache| {
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let info = read_info(&path, cache);
        let idle_secs = match &info {
            Ok(i) if i.status == RunStatus::Running => {
                let run = RunDir::at(&path);
                [mtime(&run.run_info()), mtime(&run.metrics_csv())]
                    .into_iter()
                    .flatten()
                    .max()
                    .and_then(|m| now.duration_since(m).ok())
                    .map(|d| d.as_secs_f64())
            }
            _ => None,
        };
        let dead = matches!(&info, Ok(i) if i.status == RunStatus::Interrupted || (i.status == RunStatus::Running && i.process_alive() == Some(false)));
        let checkpoints = if info.is_ok() { RunDir::at(&path).checkpoints().into_iter().map(|c| c.step).collect() } else { Vec::new() };
        rows.push(RunRow { path, name, group, seed_group, info, idle_secs, dead, checkpoints });
    };
    // A seed group's seeds, listed under the group (its label: `prefix/name`).
    let push_group = |d: &Path,
                      prefix: Option<&str>,
                      push: &mut dyn FnMut(PathBuf, Option<String>, Option<Arc<GroupInfo>>, &mut InfoCache),
                      cache: &mut InfoCache| {
        let name = d.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let label = prefix.map(|p| format!("{p}/{name}")).unwrap_or(name);
        match GroupInfo::read(&GroupDir::at(d)) {
            Ok(info) => {
                let info = Arc::new(info);
                for seed in &info.seeds {
                    push(GroupDir::at(d).seed_run(*seed).root, Some(label.clone()), Some(info.clone()), cache);
                }
            }
            // A damaged group.json: the directory shows as unreadable, saying why.
            Err(_) => push(d.to_path_buf(), prefix.map(String::from), None, cache),
        }
    };
    for d in subdirs(root) {
        if crate::sweep::dir::SweepDir::is_sweep(&d) {
            let group = d.file_name().map(|n| n.to_string_lossy().into_owned());
            // Inside a sweep only trials are listed (the engine keeps e.g. trial_logs/ there too).
            for t in subdirs(&d) {
                let run = RunDir::at(&t);
                if GroupDir::is_group(&t) {
                    push_group(&t, group.as_deref(), &mut push, cache);
                } else if run.run_info().exists() || run.config_yaml().exists() {
                    push(t, group.clone(), None, cache);
                }
            }
        } else if GroupDir::is_group(&d) {
            push_group(&d, None, &mut push, cache);
        } else {
            push(d, None, None, cache);
        }
    }
    let present: HashSet<&PathBuf> = rows.iter().map(|r| &r.path).collect();
    cache.retain(|p, _| present.contains(p));
    rows
}

pub fn sort_rows(rows: &mut [RunRow], (key, descending): (SortKey, bool)) {
    rows.sort_by(|a, b| {
        let (ia, ib) = (a.info.as_ref().ok(), b.info.as_ref().ok());
        let f = |x: Option<f64>| x.unwrap_or(f64::NEG_INFINITY);
        let o = match key {
            SortKey::Name => a.label().cmp(&b.label()),
            SortKey::Env => ia.map(|i| &i.env_id).cmp(&ib.map(|i| &i.env_id)),
            SortKey::Algo => ia.map(|i| &i.algorithm).cmp(&ib.map(|i| &i.algorithm)),
            SortKey::Status => a.status_text().cmp(&b.status_text()),
            SortKey::Timesteps => ia.map(|i| i.timesteps_done).cmp(&ib.map(|i| i.timesteps_done)),
            SortKey::Best => f(ia.and_then(|i| i.best_eval_mean_reward)).total_cmp(&f(ib.and_then(|i| i.best_eval_mean_reward))),
            SortKey::Wall => f(a.wall_secs()).total_cmp(&f(b.wall_secs())),
            SortKey::Started => ia.map(|i| i.started_at_unix_secs).cmp(&ib.map(|i| i.started_at_unix_secs)),
        };
        let o = o.then_with(|| a.label().cmp(&b.label()));
        if descending { o.reverse() } else { o }
    });
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

/// Opens a folder in the desktop's file manager.
pub fn open_folder(path: &Path) -> Result<(), String> {
    let opener = if cfg!(target_os = "macos") {
        "open"
    } else if cfg!(target_os = "windows") {
        "explorer"
    } else {
        "xdg-open"
    };
    std::process::Command::new(opener)
        .arg(path)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map(|_| ())
        .map_err(|e| format!("could not start {opener} to open {} ({e}); open it from your file manager", path.display()))
}

/// Moves a run into `<runs root>/trash/` (undo: move it back); never deletes data.
pub fn move_to_trash(runs_root: &Path, run: &Path) -> Result<PathBuf, String> {
    let trash = runs_root.join("trash");
    std::fs::create_dir_all(&trash).map_err(|e| format!("cannot create {}: {e}", trash.display()))?;
    let name = run.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "run".into());
    let dest = (0..)
        .map(|i| trash.join(if i == 0 { name.clone() } else { format!("{name}_{i}") }))
        .find(|d| !d.exists())
        .unwrap_or_else(|| trash.join(&name));
    std::fs::rename(run, &dest).map_err(|e| format!("cannot move {} to the trash: {e}", run.display()))?;
    Ok(dest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_dates() {
        assert_eq!(format_utc(0), "1970-01-01 00:00");
        assert_eq!(format_utc(951_782_400), "2000-02-29 00:00");
        assert_eq!(format_utc(1_795_524_000), "2026-11-24 12:40");
    }
}
