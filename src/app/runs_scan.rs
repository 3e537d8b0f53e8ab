//! Scanning a runs directory (runs, sweep trials, foreign directories) and the
//! file operations of the runs browser (open folder, move to trash, dates).

use crate::runs::group::{GroupDir, GroupInfo};
use crate::runs::notebook::{DiskUse, disk_use, read_notes};
use crate::runs::{RunDir, RunInfo, RunStatus};
use std::collections::{HashMap, HashSet};
use std::ffi::{OsStr, OsString};
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
    /// Its findings (notes.md), for search and the details; `Err` says why they cannot be read.
    pub notes: Result<String, String>,
    /// What its directory takes on disk.
    pub disk: DiskUse,
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
    /// Whether nothing about the row changes by itself: readable and not training (a
    /// "running" run whose process is gone included). An unreadable directory may be a run
    /// being created.
    pub fn settled(&self) -> bool {
        matches!(&self.info, Ok(i) if i.status != RunStatus::Running || self.dead)
    }
    /// Stopped, failed or interrupted, with a checkpoint to continue from.
    pub fn resumable(&self) -> bool {
        let unfinished = match &self.info {
            Ok(i) => i.status.is_resumable() || (i.status == RunStatus::Running && self.dead),
            Err(_) => false,
        };
        unfinished && !self.checkpoints.is_empty()
    }
    /// Its tags (set at launch), empty for unreadable rows.
    pub fn tags(&self) -> &[String] {
        self.info.as_ref().map(|i| i.tags.as_slice()).unwrap_or(&[])
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
    Tags,
    Disk,
}

/// What a scan read, kept with the modification time it was read at: an unchanged file or
/// directory is not read again (a rescan of unchanged runs is a few `stat`s per run).
#[derive(Default)]
pub struct InfoCache {
    infos: HashMap<OsString, (Option<SystemTime>, Result<RunInfo, String>)>,
    checkpoints: HashMap<OsString, (Option<SystemTime>, Vec<u64>)>,
    groups: HashMap<OsString, (Option<SystemTime>, Result<Arc<GroupInfo>, String>)>,
    /// Rows of runs that no longer change by themselves (not running), by the modification
    /// times of run_info.json (a resume or a clean-up rewrites it), notes.md and checkpoints/.
    settled: HashMap<OsString, (SettledStamp, RunRow)>,
    /// What each directory of the runs root is, by its own modification time (sweep.json
    /// and group.json are created in it).
    kinds: HashMap<OsString, (SystemTime, DirKind)>,
}

/// When a settled row was read: run_info.json's, notes.md's and checkpoints/'s modification times.
type SettledStamp = (SystemTime, Option<SystemTime>, Option<SystemTime>);

#[derive(Clone, Copy, Debug, PartialEq)]
enum DirKind {
    Sweep,
    Group,
    Run,
}

impl InfoCache {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn clear(&mut self) {
        *self = Self::default();
    }

    /// A hash of the modification times of the directories whose listings decide the rows:
    /// the root, and every sweep and seed group in it (a trial or seed is created in them,
    /// their sweep.json and group.json are written by rename).
    pub fn listing_stamp(&self, root: &Path) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        mtime(root).hash(&mut h);
        let mut containers: Vec<&OsString> = self.kinds.iter().filter(|(_, (_, k))| *k != DirKind::Run).map(|(p, _)| p).collect();
        containers.sort();
        for p in containers {
            (p, mtime(Path::new(p))).hash(&mut h);
        }
        h.finish()
    }

    /// Checkpoint steps of a run, read again when its checkpoints directory changed
    /// (checkpoints are written by rename, which changes it).
    fn checkpoints(&mut self, run: &Path) -> Vec<u64> {
        let dir = RunDir::at(run);
        let m = mtime(&dir.checkpoints_dir());
        if let Some((_, steps)) = self.checkpoints.get(run.as_os_str()).filter(|(c, _)| c.is_some() && *c == m) {
            return steps.clone();
        }
        let steps: Vec<u64> = dir.checkpoints().into_iter().map(|c| c.step).collect();
        self.checkpoints.insert(run.as_os_str().to_owned(), (m, steps.clone()));
        steps
    }

    fn kind(&mut self, dir: &Path) -> DirKind {
        let m = mtime(dir);
        if let Some((_, kind)) = self.kinds.get(dir.as_os_str()).filter(|(c, _)| Some(*c) == m) {
            return *kind;
        }
        let kind = if crate::sweep::dir::SweepDir::is_sweep(dir) {
            DirKind::Sweep
        } else if GroupDir::is_group(dir) {
            DirKind::Group
        } else {
            DirKind::Run
        };
        if let Some(m) = m {
            self.kinds.insert(dir.as_os_str().to_owned(), (m, kind));
        }
        kind
    }

    /// A seed group's group.json, parsed again when it changed.
    fn group(&mut self, dir: &Path) -> Result<Arc<GroupInfo>, String> {
        let group = GroupDir::at(dir);
        let m = mtime(&group.group_json());
        if let Some((_, info)) = self.groups.get(dir.as_os_str()).filter(|(c, _)| c.is_some() && *c == m) {
            return info.clone();
        }
        let info = GroupInfo::read(&group).map(Arc::new).map_err(|e| e.to_string());
        self.groups.insert(dir.as_os_str().to_owned(), (m, info.clone()));
        info
    }
}

fn mtime(p: &Path) -> Option<SystemTime> {
    std::fs::metadata(p).and_then(|m| m.modified()).ok()
}

/// Reads a run's info, reusing the cached parse when run_info.json is unchanged.
fn read_info(dir: &Path, cache: &mut InfoCache) -> Result<RunInfo, String> {
    let run = RunDir::at(dir);
    let m = mtime(&run.run_info());
    if let Some((cached_m, info)) = cache.infos.get(dir.as_os_str()) {
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
    cache.infos.insert(dir.as_os_str().to_owned(), (m, info.clone()));
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
    // Siblings: comparing the bytes is the path order, without walking components.
    dirs.sort_by(|a, b| a.as_os_str().cmp(b.as_os_str()));
    dirs
}

/// Lists every directory under `root`: runs, sweep trials (one level deeper,
/// grouped) and foreign/broken directories (as errors).
pub fn scan(root: &Path, cache: &mut InfoCache) -> Vec<RunRow> {
    let mut rows = Vec::new();
    let now = SystemTime::now();
    let mut push = |path: PathBuf, group: Option<String>, seed_group: Option<Arc<GroupInfo>>, cache: &mut InfoCache| {
        // A settled run whose run_info.json, notes.md and checkpoints/ are unchanged: three stats.
        let run = RunDir::at(&path);
        let stamp = mtime(&run.run_info()).map(|m| (m, mtime(&run.notes_md()), mtime(&run.checkpoints_dir())));
        if let Some((_, row)) = cache.settled.get(path.as_os_str()).filter(|(m, _)| Some(*m) == stamp) {
            rows.push(RunRow { group, seed_group, ..row.clone() });
            return;
        }
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
        let checkpoints = if info.is_ok() { cache.checkpoints(&path) } else { Vec::new() };
        let (notes, disk) =
            if info.is_ok() { (read_notes(&run.notes_md()), disk_use(&run)) } else { (Ok(String::new()), DiskUse::default()) };
        let row = RunRow { path, name, group, seed_group, info, idle_secs, dead, checkpoints, notes, disk };
        match (stamp, &row.info) {
            (Some(m), Ok(i)) if i.status != RunStatus::Running => {
                cache.settled.insert(row.path.as_os_str().to_owned(), (m, row.clone()));
            }
            _ => {
                cache.settled.remove(row.path.as_os_str());
            }
        }
        rows.push(row);
    };
    // A seed group's seeds, listed under the group (its label: `prefix/name`).
    let push_group = |d: &Path,
                      prefix: Option<&str>,
                      push: &mut dyn FnMut(PathBuf, Option<String>, Option<Arc<GroupInfo>>, &mut InfoCache),
                      cache: &mut InfoCache| {
        let name = d.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let label = prefix.map(|p| format!("{p}/{name}")).unwrap_or(name);
        match cache.group(d) {
            Ok(info) => {
                for seed in &info.seeds {
                    push(GroupDir::at(d).seed_run(*seed).root, Some(label.clone()), Some(info.clone()), cache);
                }
            }
            // A damaged group.json: the directory shows as unreadable, saying why.
            Err(_) => push(d.to_path_buf(), prefix.map(String::from), None, cache),
        }
    };
    let dirs = subdirs(root);
    for d in dirs.iter().cloned() {
        // A settled run stays a run: its run_info.json's stat (in `push`) is all a rescan needs.
        let kind = if cache.settled.contains_key(d.as_os_str()) { DirKind::Run } else { cache.kind(&d) };
        if kind == DirKind::Sweep {
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
        } else if kind == DirKind::Group {
            push_group(&d, None, &mut push, cache);
        } else {
            push(d, None, None, cache);
        }
    }
    // Forget what is gone (keys are the paths' bytes: hashing a Path walks its components).
    let top: HashSet<&OsStr> = dirs.iter().map(|d| d.as_os_str()).collect();
    cache.kinds.retain(|p, _| top.contains(p.as_os_str()));
    let present: HashSet<&OsStr> = rows.iter().map(|r| r.path.as_os_str()).collect();
    cache.infos.retain(|p, _| present.contains(p.as_os_str()));
    cache.checkpoints.retain(|p, _| present.contains(p.as_os_str()));
    cache.settled.retain(|p, _| present.contains(p.as_os_str()));
    // A group's rows are its seeds (or the group itself when its group.json is damaged).
    let parents: HashSet<&OsStr> = rows.iter().filter_map(|r| r.path.parent()).map(Path::as_os_str).collect();
    cache.groups.retain(|p, _| present.contains(p.as_os_str()) || parents.contains(p.as_os_str()));
    rows
}

pub fn sort_rows(rows: &mut [RunRow], (key, descending): (SortKey, bool)) {
    rows.sort_by(|a, b| {
        let (ia, ib) = (a.info.as_ref().ok(), b.info.as_ref().ok());
        let f = |x: Option<f64>| x.unwrap_or(f64::NEG_INFINITY);
        let o = match key {
            SortKey::Name => natural_cmp(&a.label(), &b.label()),
            SortKey::Env => ia.map(|i| &i.env_id).cmp(&ib.map(|i| &i.env_id)),
            SortKey::Algo => ia.map(|i| &i.algorithm).cmp(&ib.map(|i| &i.algorithm)),
            SortKey::Status => a.status_text().cmp(&b.status_text()),
            SortKey::Timesteps => ia.map(|i| i.timesteps_done).cmp(&ib.map(|i| i.timesteps_done)),
            SortKey::Best => f(ia.and_then(|i| i.best_eval_mean_reward)).total_cmp(&f(ib.and_then(|i| i.best_eval_mean_reward))),
            SortKey::Wall => f(a.wall_secs()).total_cmp(&f(b.wall_secs())),
            SortKey::Started => ia.map(|i| i.started_at_unix_secs).cmp(&ib.map(|i| i.started_at_unix_secs)),
            SortKey::Tags => a.tags().cmp(b.tags()),
            SortKey::Disk => a.disk.total_bytes.cmp(&b.disk.total_bytes),
        };
        let o = o.then_with(|| natural_cmp(&a.label(), &b.label()));
        if descending { o.reverse() } else { o }
    });
}

/// Orders names as people count: `r9` < `r10` < `r100` (digit runs compare as numbers),
/// letters without regard to case (ties broken by the exact text, so the order is total).
pub fn natural_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    fn chunks(s: &str) -> impl Iterator<Item = &str> {
        let mut rest = s;
        std::iter::from_fn(move || {
            let first = rest.chars().next()?;
            let digit = first.is_ascii_digit();
            let end = rest.find(|c: char| c.is_ascii_digit() != digit).unwrap_or(rest.len());
            let (chunk, tail) = rest.split_at(end);
            rest = tail;
            Some(chunk)
        })
    }
    let (mut x, mut y) = (chunks(a), chunks(b));
    loop {
        let o = match (x.next(), y.next()) {
            (None, None) => return a.cmp(b),
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(p), Some(q)) if p.as_bytes()[0].is_ascii_digit() && q.as_bytes()[0].is_ascii_digit() => {
                let (p, q) = (p.trim_start_matches('0'), q.trim_start_matches('0'));
                p.len().cmp(&q.len()).then_with(|| p.cmp(q))
            }
            (Some(p), Some(q)) => p.to_lowercase().cmp(&q.to_lowercase()),
        };
        if o != Ordering::Equal {
            return o;
        }
    }
}

pub use crate::runs::format_utc;

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
    fn names_sort_naturally() {
        let mut names = vec!["r100", "r99", "r990", "r989", "R98", "r9", "lr_1e-3", "lr_1e-4", "trial_10", "trial_2", "a", "r099"];
        names.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(names, ["a", "lr_1e-3", "lr_1e-4", "r9", "R98", "r099", "r99", "r100", "r989", "r990", "trial_2", "trial_10"]);
        assert_eq!(natural_cmp("seed_2/x", "seed_10/x"), std::cmp::Ordering::Less);
        assert_eq!(natural_cmp("run", "run"), std::cmp::Ordering::Equal);
    }

    #[test]
    fn utc_dates() {
        assert_eq!(format_utc(0), "1970-01-01 00:00");
        assert_eq!(format_utc(951_782_400), "2000-02-29 00:00");
        assert_eq!(format_utc(1_795_524_000), "2026-11-24 12:40");
    }
}
