//! The experiment logger: `logs/metrics.csv`, model files and the run status.
//!
//! metrics.csv is in long ("tidy") format so that a metric name first seen
//! mid-run is just another row: the file is only ever appended to, each
//! `log_metrics` call is flushed, and `pandas.read_csv` reads it as is:
//!
//! ```text
//! timesteps,wall_secs,metric,value
//! 2048,1.532,rollout/ep_rew_mean,22.5
//! ```
//! Wide view: `df.pivot_table(index="timesteps", columns="metric", values="value")`.

use super::{write_atomic, RunDir, RunInfo, RunStatus, SavedModel};
use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, Write};
use std::path::Path;
use std::time::Instant;

pub const METRICS_HEADER: &str = "timesteps,wall_secs,metric,value";

pub struct Logger {
    run: RunDir,
    file: File,
    started: Instant,
    info: RunInfo,
    line: String,
}

impl Logger {
    /// Opens `logs/metrics.csv` for appending (writing the header if new) and
    /// records the run as running.
    pub fn create(run: &RunDir, info: RunInfo) -> io::Result<Self> {
        let path = run.metrics_csv();
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let is_new = !path.exists() || std::fs::metadata(&path)?.len() == 0;
        let mut file = OpenOptions::new().create(true).append(true).open(&path).map_err(|e| {
            io::Error::new(e.kind(), format!("cannot open {} for appending: {e}", path.display()))
        })?;
        if is_new {
            writeln!(file, "{METRICS_HEADER}")?;
            file.flush()?;
        }
        let info = RunInfo { status: RunStatus::Running, ..info };
        info.write(run)?;
        Ok(Self { run: run.clone(), file, started: Instant::now(), info, line: String::new() })
    }

    pub fn run_dir(&self) -> &RunDir {
        &self.run
    }

    pub fn wall_secs(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }

    /// Appends one row per metric at `timesteps`. Names may nest with `/`
    /// (`eval/mean_reward`); they are CSV-quoted if they need it.
    pub fn log_metrics<S: AsRef<str>>(&mut self, timesteps: u64, metrics: &[(S, f64)]) -> io::Result<()> {
        let wall = self.wall_secs();
        self.line.clear();
        for (name, value) in metrics {
            let name = name.as_ref();
            if name.is_empty() {
                return Err(io::Error::new(io::ErrorKind::InvalidInput, "metric name is empty: use a name like train/loss"));
            }
            use std::fmt::Write as _;
            let _ = writeln!(self.line, "{timesteps},{wall:.3},{},{value}", csv_field(name));
        }
        self.file.write_all(self.line.as_bytes())?;
        self.file.flush()
    }

    /// Saves `models/<name>.zip` (e.g. "best_model", "final_model") atomically.
    pub fn save_model(&self, name: &str, model: &SavedModel) -> io::Result<std::path::PathBuf> {
        if name.is_empty() || name.contains(['/', '\\']) || name.contains("..") {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, format!("model name '{name}' must be a plain file name like best_model")));
        }
        let path = self.run.models_dir().join(format!("{name}.zip"));
        let bytes = model.to_zip_bytes()?;
        write_atomic(&path, &bytes)?;
        Ok(path)
    }

    pub fn info_mut(&mut self) -> &mut RunInfo {
        &mut self.info
    }

    /// Writes the current run info (e.g. progress) without finishing.
    pub fn update_info(&self) -> io::Result<()> {
        self.info.write(&self.run)
    }

    /// Records the final status and wall time.
    pub fn finish(mut self, status: RunStatus, error: Option<String>) -> io::Result<RunInfo> {
        self.info.status = status;
        self.info.error = error;
        self.info.finished_at_unix_secs = Some(super::unix_now_secs());
        self.info.wall_secs = Some(self.wall_secs());
        self.file.flush()?;
        self.info.write(&self.run)?;
        Ok(self.info)
    }
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// One row of metrics.csv.
#[derive(Clone, Debug, PartialEq)]
pub struct MetricsRow {
    pub timesteps: u64,
    pub wall_secs: f64,
    pub metric: String,
    pub value: f64,
}

/// Reads metrics.csv back (for the GUI, sweeps and tests). A torn last line
/// (a crash mid-write) is skipped.
pub fn read_metrics(path: &Path) -> io::Result<Vec<MetricsRow>> {
    let file = File::open(path).map_err(|e| io::Error::new(e.kind(), format!("cannot open {}: {e}", path.display())))?;
    let mut rows = Vec::new();
    for (i, line) in io::BufReader::new(file).lines().enumerate() {
        let line = line?;
        if i == 0 || line.is_empty() {
            continue;
        }
        if let Some(row) = parse_row(&line) {
            rows.push(row);
        }
    }
    Ok(rows)
}

fn parse_row(line: &str) -> Option<MetricsRow> {
    let mut it = line.splitn(3, ',');
    let timesteps = it.next()?.parse().ok()?;
    let wall_secs = it.next()?.parse().ok()?;
    let rest = it.next()?;
    let (metric, value) = if let Some(quoted) = rest.strip_prefix('"') {
        let end = quoted.rfind("\",")?;
        (quoted[..end].replace("\"\"", "\""), &quoted[end + 2..])
    } else {
        let (m, v) = rest.rsplit_once(',')?;
        (m.to_string(), v)
    };
    Some(MetricsRow { timesteps, wall_secs, metric, value: value.parse().ok()? })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_round_trip_including_quoted_names() {
        for (name, v) in [("a/b", 1.5), ("we,ird\"name", -2.0), ("nan_metric", f64::NAN)] {
            let line = format!("10,0.500,{},{v}", csv_field(name));
            let row = parse_row(&line).unwrap();
            assert_eq!(row.metric, name);
            assert!(row.value == v || (v.is_nan() && row.value.is_nan()));
        }
    }
}
