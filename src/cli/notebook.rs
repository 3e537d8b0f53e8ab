//! `rl-research note` (findings into a run's notes.md) and `rl-research clean`
//! (free the disk of finished runs' checkpoints and videos).

use crate::runs::RunDir;
use crate::runs::group::{GroupDir, GroupInfo};
use crate::runs::notebook::{self, CleanWhat, format_bytes};
use crate::sweep::dir::SweepDir;
use std::path::{Path, PathBuf};

/// What kind of directory `dir` is, for notes: a run, a seed group or a sweep.
fn notes_owner(dir: &Path) -> Result<&'static str, String> {
    let run = RunDir::at(dir);
    if GroupDir::is_group(dir) {
        Ok("seed group")
    } else if SweepDir::is_sweep(dir) {
        Ok("sweep")
    } else if run.run_info().exists() || run.config_yaml().exists() {
        Ok("run")
    } else if !dir.is_dir() {
        Err(format!("{} does not exist: give a run, seed group or sweep directory (e.g. runs/my_run)", dir.display()))
    } else {
        Err(format!(
            "{} is not a run, seed group or sweep directory (it has no logs/run_info.json, group.json or sweep files)",
            dir.display()
        ))
    }
}

/// `rl-research note DIR [TEXT...]`: appends a dated paragraph to DIR/notes.md,
/// or prints the notes when no text is given.
pub fn cmd_note(args: &[String]) -> i32 {
    let usage = "usage: rl-research note RUN_OR_GROUP_OR_SWEEP [TEXT ...]  (no text: print its notes)";
    let Some(dir) = args.first().filter(|a| !a.starts_with('-')) else {
        eprintln!("error: give the run, seed group or sweep directory first\n{usage}");
        return 2;
    };
    let dir = PathBuf::from(dir);
    let kind = match notes_owner(&dir) {
        Ok(k) => k,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    let file = notebook::notes_file(&dir);
    if args.len() == 1 {
        return match notebook::read_notes(&file) {
            Ok(t) if t.is_empty() => {
                eprintln!("{} has no notes yet: add some with rl-research note {} \"...\"", dir.display(), dir.display());
                0
            }
            Ok(t) => {
                print!("{t}");
                0
            }
            Err(e) => {
                eprintln!("error: {e}");
                1
            }
        };
    }
    match notebook::append_note(&file, &args[1..].join(" "), crate::runs::unix_now_secs()) {
        Ok(_) => {
            eprintln!("noted in {} ({kind})", file.display());
            0
        }
        Err(e) => {
            eprintln!("error: {e}");
            if e.contains("is empty") { 2 } else { 1 }
        }
    }
}

/// The runs inside `dir`: itself, a seed group's seeds, or a sweep's trials (and their seeds).
fn runs_in(dir: &Path) -> Result<Vec<RunDir>, String> {
    if GroupDir::is_group(dir) {
        let g = GroupDir::at(dir);
        let info = GroupInfo::read(&g).map_err(|e| e.to_string())?;
        return Ok(info.seeds.iter().map(|s| g.seed_run(*s)).filter(|r| r.root.is_dir()).collect());
    }
    let run = RunDir::at(dir);
    if run.run_info().exists() {
        return Ok(vec![run]);
    }
    if SweepDir::is_sweep(dir) {
        let mut out = Vec::new();
        let mut trials: Vec<PathBuf> =
            std::fs::read_dir(dir).map_err(|e| format!("cannot list {}: {e}", dir.display()))?.flatten().map(|e| e.path()).collect();
        trials.sort();
        for t in trials.into_iter().filter(|t| GroupDir::is_group(t) || RunDir::at(t).run_info().exists()) {
            out.extend(runs_in(&t)?);
        }
        return Ok(out);
    }
    Err(notes_owner(dir)
        .err()
        .unwrap_or_else(|| format!("{} has no logs/run_info.json: it is not a run that can be cleaned", dir.display())))
}

/// `rl-research clean DIR... [--checkpoints] [--videos] [--dry-run]`.
pub fn cmd_clean(args: &[String]) -> i32 {
    let usage = "usage: rl-research clean RUN_OR_GROUP_OR_SWEEP ... [--checkpoints] [--videos] [--dry-run]";
    let mut what = CleanWhat::default();
    let mut dry_run = false;
    let mut dirs = Vec::new();
    for a in args {
        match a.as_str() {
            "--checkpoints" => what.checkpoints = true,
            "--videos" => what.videos = true,
            "--dry-run" | "-n" => dry_run = true,
            s if s.starts_with('-') => {
                eprintln!("error: unknown option '{s}'\n{usage}");
                return 2;
            }
            s => dirs.push(PathBuf::from(s)),
        }
    }
    if !what.checkpoints && !what.videos {
        eprintln!(
            "error: say what to remove: --checkpoints (the run can no longer be resumed or forked) and/or --videos; \
             models, metrics, logs, replays and notes always stay\n{usage}"
        );
        return 2;
    }
    if dirs.is_empty() {
        eprintln!("error: give the runs to clean\n{usage}");
        return 2;
    }
    let mut runs = Vec::new();
    for d in &dirs {
        match runs_in(d) {
            Ok(r) => runs.extend(r),
            Err(e) => {
                eprintln!("error: {e}");
                return 2;
            }
        }
    }
    let (mut freed, mut failed) = (0u64, 0usize);
    for run in &runs {
        match notebook::clean_run(run, what, dry_run) {
            Ok(r) if r.files.is_empty() => eprintln!("{}: nothing to remove", run.root.display()),
            Ok(r) => {
                freed += r.bytes;
                let verb = if dry_run { "would remove" } else { "removed" };
                eprintln!("{}: {verb} {} files, {}", run.root.display(), r.files.len(), format_bytes(r.bytes));
            }
            Err(e) => {
                failed += 1;
                eprintln!("{}: {e}", run.root.display());
            }
        }
    }
    let verb = if dry_run { "would free" } else { "freed" };
    println!(
        "{verb} {} in {} run(s){}",
        format_bytes(freed),
        runs.len() - failed,
        if failed > 0 { format!("; {failed} not cleaned (see above)") } else { String::new() }
    );
    if failed > 0 { 1 } else { 0 }
}
