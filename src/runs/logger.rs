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

use super::row_log::{LogFormat, RowDigest, csv_fields, digest_of_file, parse_count};
use super::{RunDir, RunInfo, RunStatus, SavedModel, write_atomic};
use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, Write};
use std::path::Path;
use std::time::Instant;

pub const METRICS_HEADER: &str = "timesteps,wall_secs,metric,value";

/// metrics.csv's layout, for a resume that keeps its rows by content.
pub const METRICS_FORMAT: LogFormat =
    LogFormat { name: "metrics.csv", header_lines: 1, check_header: check_metrics_header, canonical: canonical_metrics_row };

fn check_metrics_header(lines: &[&str]) -> Result<(), String> {
    match lines.first().and_then(|l| csv_fields(l)) {
        Some(f) if f.iter().map(|s| s.trim()).eq(METRICS_HEADER.split(',')) => Ok(()),
        _ => Err(format!("does not start with the header line '{METRICS_HEADER}'")),
    }
}

fn canonical_metrics_row(line: &str) -> Option<String> {
    let r = parse_row(line)?;
    Some(format_row(r.timesteps, r.wall_secs, &r.metric, r.value))
}

/// One row as the logger writes it (without its newline).
fn format_row(timesteps: u64, wall_secs: f64, metric: &str, value: f64) -> String {
    format!("{timesteps},{wall_secs:.3},{},{value}", csv_field(metric))
}

/// Another destination for every row that goes to metrics.csv (TensorBoard
/// events, ...): called with the same step and scalars, after the CSV write.
pub trait MetricsSink: Send {
    fn write(&mut self, timesteps: u64, metrics: &[(&str, f64)]) -> io::Result<()>;
    /// The run ended with `status` (after its last `write`).
    fn finish(&mut self, _status: RunStatus) -> io::Result<()> {
        Ok(())
    }
}

pub struct Logger {
    run: RunDir,
    file: File,
    started: Instant,
    info: RunInfo,
    line: String,
    sinks: Vec<Box<dyn MetricsSink>>,
    /// metrics.csv's length after the last whole write (`None` if unknown).
    len: Option<u64>,
    /// The rows metrics.csv holds, as a checkpoint records them.
    rows: RowDigest,
}

impl Logger {
    /// Opens `logs/metrics.csv` for appending (writing the header if new) and
    /// records the run as running.
    pub fn create(run: &RunDir, info: RunInfo) -> io::Result<Self> {
        let path = run.metrics_csv();
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let named = |e: io::Error| io::Error::new(e.kind(), format!("writing {}: {e}", path.display()));
        let is_new = std::fs::metadata(&path).map_or(true, |m| m.len() == 0);
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| io::Error::new(e.kind(), format!("cannot open {} for appending: {e}", path.display())))?;
        if is_new {
            writeln!(file, "{METRICS_HEADER}").and_then(|()| file.flush()).map_err(named)?;
        }
        let rows = digest_of_file(&path, &METRICS_FORMAT)?;
        let info = RunInfo { status: RunStatus::Running, ..info };
        info.write(run)?;
        let len = file.metadata().ok().map(|m| m.len());
        Ok(Self { run: run.clone(), file, started: Instant::now(), info, line: String::new(), sinks: Vec::new(), len, rows })
    }

    pub fn run_dir(&self) -> &RunDir {
        &self.run
    }

    /// Sends every logged row to `sink` too.
    pub fn add_sink(&mut self, sink: Box<dyn MetricsSink>) {
        self.sinks.push(sink);
    }

    /// Continues the wall clock of a resumed or forked run from `secs`.
    pub fn with_wall_offset(mut self, secs: f64) -> Self {
        self.started = instant_secs_ago(secs);
        self
    }

    /// metrics.csv's length so far (everything logged is flushed).
    pub fn metrics_len(&self) -> io::Result<u64> {
        Ok(self.file.metadata()?.len())
    }

    /// The rows metrics.csv holds: what a checkpoint records so a resume keeps exactly them.
    pub fn metrics_rows(&self) -> RowDigest {
        self.rows
    }

    pub fn wall_secs(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }

    /// Appends one row per metric at `timesteps`, then hands them to the sinks.
    /// Names may nest with `/` (`eval/mean_reward`); they are CSV-quoted if
    /// they need it. An error names the file that could not be written.
    pub fn log_metrics<S: AsRef<str>>(&mut self, timesteps: u64, metrics: &[(S, f64)]) -> io::Result<()> {
        let wall = self.wall_secs();
        self.line.clear();
        for (name, value) in metrics {
            let name = name.as_ref();
            if name.is_empty() {
                return Err(io::Error::new(io::ErrorKind::InvalidInput, "metric name is empty: use a name like train/loss"));
            }
            self.line.push_str(&format_row(timesteps, wall, name, *value));
            self.line.push('\n');
        }
        if let Err(e) = self.file.write_all(self.line.as_bytes()) {
            // Cut a short write (a full disk) back to whole lines, so nothing
            // written later is glued to half a row.
            if let Some(len) = self.len {
                let _ = self.file.set_len(len);
            }
            return Err(io::Error::new(e.kind(), format!("writing {}: {e}", self.run.metrics_csv().display())));
        }
        self.len = self.len.map(|l| l + self.line.len() as u64);
        self.rows.add_lines(&self.line);
        if !self.sinks.is_empty() {
            let rows: Vec<(&str, f64)> = metrics.iter().map(|(n, v)| (n.as_ref(), *v)).collect();
            for sink in &mut self.sinks {
                sink.write(timesteps, &rows)?;
            }
        }
        Ok(())
    }

    /// Saves `models/<name>.zip` (e.g. "best_model", "final_model") atomically.
    pub fn save_model(&self, name: &str, model: &SavedModel) -> io::Result<std::path::PathBuf> {
        if name.is_empty() || name.contains(['/', '\\']) || name.contains("..") {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("model name '{name}' must be a plain file name like best_model"),
            ));
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
        // metrics.csv is the record: a sink that cannot finish costs a warning, not the run.
        for sink in &mut self.sinks {
            if let Err(e) = sink.finish(status) {
                self.info.warnings.push(e.to_string());
            }
        }
        self.info.write(&self.run)?;
        Ok(self.info)
    }
}

/// The instant `secs` ago (now, if the clock cannot go back that far).
pub fn instant_secs_ago(secs: f64) -> Instant {
    let d = std::time::Duration::try_from_secs_f64(secs.max(0.0)).unwrap_or_default();
    Instant::now().checked_sub(d).unwrap_or_else(Instant::now)
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.to_string() }
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
        if let Some(row) = parse_row(line.trim_end_matches('\r')) {
            rows.push(row);
        }
    }
    Ok(rows)
}

/// The last `eval/mean_reward` of a run's metrics.csv: a run's final score once
/// it completed (its evaluation at the end of training). `None` without one.
pub fn last_eval_mean_reward(run: &super::RunDir) -> Option<f64> {
    read_metrics(&run.metrics_csv()).ok()?.into_iter().rev().find(|r| r.metric == "eval/mean_reward").map(|r| r.value)
}

/// Follows a metrics.csv that another thread or process is still appending to:
/// each `poll` returns only the complete rows written since the last one, so a
/// 1M-row file is parsed once, not every refresh.
#[derive(Debug)]
pub struct MetricsTail {
    path: std::path::PathBuf,
    offset: u64,
}

impl MetricsTail {
    pub fn new(path: &Path) -> Self {
        Self { path: path.to_path_buf(), offset: 0 }
    }

    /// New complete rows (none if the file does not exist yet). A file that
    /// shrank (replaced) is read again from the start.
    pub fn poll(&mut self) -> io::Result<Vec<MetricsRow>> {
        use std::io::{Read, Seek, SeekFrom};
        let mut file = match File::open(&self.path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io::Error::new(e.kind(), format!("cannot open {}: {e}", self.path.display()))),
        };
        let len = file.metadata()?.len();
        if len < self.offset {
            self.offset = 0;
        }
        if len == self.offset {
            return Ok(Vec::new());
        }
        file.seek(SeekFrom::Start(self.offset))?;
        let mut bytes = Vec::with_capacity((len - self.offset) as usize);
        file.take(len - self.offset).read_to_end(&mut bytes)?;
        // Only up to the last newline: the writer may be mid-line.
        let Some(end) = bytes.iter().rposition(|&b| b == b'\n') else { return Ok(Vec::new()) };
        self.offset += end as u64 + 1;
        let text = String::from_utf8_lossy(&bytes[..end]);
        Ok(text.lines().filter(|l| !l.is_empty() && *l != METRICS_HEADER).filter_map(parse_row).collect())
    }
}

fn parse_row(line: &str) -> Option<MetricsRow> {
    let fields = csv_fields(line)?;
    let [timesteps, wall_secs, metric, value] = fields.as_slice() else { return None };
    if metric.is_empty() {
        return None;
    }
    Some(MetricsRow {
        timesteps: parse_count(timesteps)?,
        wall_secs: wall_secs.trim().parse().ok()?,
        metric: metric.to_string(),
        value: value.trim().parse().ok()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_returns_only_new_complete_rows() {
        let dir = std::env::temp_dir().join(format!("rl-research-tail-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("metrics.csv");
        let mut tail = MetricsTail::new(&path);
        assert!(tail.poll().unwrap().is_empty(), "a missing file is just empty");
        std::fs::write(&path, format!("{METRICS_HEADER}\n1,0.1,a,1\n2,0.2,a,2\n3,0.3,a,")).unwrap();
        let rows = tail.poll().unwrap();
        assert_eq!(rows.iter().map(|r| r.timesteps).collect::<Vec<_>>(), vec![1, 2]);
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(b"3\n4,0.4,b,4\n").unwrap();
        let rows = tail.poll().unwrap();
        assert_eq!(rows.iter().map(|r| (r.timesteps, r.value)).collect::<Vec<_>>(), vec![(3, 3.0), (4, 4.0)]);
        assert!(tail.poll().unwrap().is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }

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
