//! `logs/monitor.csv` in Stable-Baselines3's `Monitor` format, so rl-zoo's
//! plotting scripts, `stable_baselines3.common.monitor.load_results` and
//! rliable tooling read our runs unchanged:
//!
//! ```text
//! #{"t_start": 1764633600.25, "env_id": "CartPole-v1"}
//! r,l,t
//! 22.0,22,0.051234
//! ```
//! One row per finished training episode (all envs, in the order they
//! finish): return, length, seconds since the run started. Also the sampler
//! of the `system/…` metrics and what a run's TensorBoard file starts with.

use super::callbacks::{RunCallback, RunContext, write_failed};
use crate::algos::{AgentView, Control};
use crate::runs::row_log::{LogFormat, RowDigest, csv_fields, digest_of_file, parse_count};
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;

pub struct MonitorCallback {
    file: File,
    line: String,
    /// The rows monitor.csv holds, as a checkpoint records them (through the run context).
    rows: RowDigest,
}

/// monitor.csv's layout, for a resume that keeps its rows by content.
pub const MONITOR_FORMAT: LogFormat =
    LogFormat { name: "monitor.csv", header_lines: 2, check_header: check_monitor_header, canonical: canonical_monitor_row };

fn check_monitor_header(lines: &[&str]) -> Result<(), String> {
    let columns = lines.get(1).and_then(|l| csv_fields(l));
    if lines.first().is_some_and(|l| l.starts_with('#')) && columns.is_some_and(|f| f.iter().map(|s| s.trim()).eq(["r", "l", "t"])) {
        Ok(())
    } else {
        Err("does not start with SB3's two header lines ('#{...}' and 'r,l,t')".into())
    }
}

fn canonical_monitor_row(line: &str) -> Option<String> {
    let f = csv_fields(line)?;
    let [r, l, t] = f.as_slice() else { return None };
    let (r, t): (f64, f64) = (r.trim().parse().ok()?, t.trim().parse().ok()?);
    Some(format_monitor_row(r, parse_count(l)?, t))
}

/// One row as SB3 writes it: return and time rounded to 6 decimals.
fn format_monitor_row(r: f64, l: u64, secs: f64) -> String {
    format!("{:?},{l},{:?}", round6(r), round6(secs))
}

impl MonitorCallback {
    /// Opens `path` for appending, writing SB3's two header lines if it is new.
    /// `t_start_unix_secs` is when the run started (a resumed run keeps its own).
    pub fn create(path: &Path, env_id: &str, t_start_unix_secs: f64) -> io::Result<Self> {
        let is_new = std::fs::metadata(path).map(|m| m.len() == 0).unwrap_or(true);
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| io::Error::new(e.kind(), format!("cannot open {}: {e}", path.display())))?;
        if is_new {
            let header = serde_json::json!({ "t_start": t_start_unix_secs, "env_id": env_id });
            write!(file, "#{header}\nr,l,t\n")
                .and_then(|()| file.flush())
                .map_err(|e| io::Error::new(e.kind(), format!("writing {}: {e}", path.display())))?;
        }
        let rows = digest_of_file(path, &MONITOR_FORMAT)?;
        Ok(Self { file, line: String::new(), rows })
    }

    /// The rows written so far (a checkpoint records them).
    pub fn rows(&self) -> RowDigest {
        self.rows
    }
}

impl RunCallback for MonitorCallback {
    fn on_step(&mut self, ctx: &mut RunContext, agent: &dyn AgentView, _t: u64) -> Control {
        let episodes = agent.finished_episodes();
        if episodes.is_empty() {
            return Control::Continue;
        }
        let secs = ctx.wall_secs();
        self.line.clear();
        for (r, l) in episodes {
            self.line.push_str(&format_monitor_row(*r, *l as u64, secs));
            self.line.push('\n');
        }
        if let Err(e) = self.file.write_all(self.line.as_bytes()).and_then(|_| self.file.flush()) {
            ctx.error = Some(write_failed(&ctx.logger.run_dir().monitor_csv(), e));
            return Control::Stop;
        }
        self.rows.add_lines(&self.line);
        ctx.monitor_rows = Some(self.rows);
        Control::Continue
    }
}

/// `system/…` metrics every `every` (CPU %, RSS, machine memory) into the run's
/// metrics, at the step they were sampled: plotted like any other metric.
pub struct SystemMetricsCallback {
    pub every: std::time::Duration,
    pub next: std::time::Instant,
    pub sampler: crate::runs::sysinfo::SystemSampler,
    /// The GPU allocator's bytes (in use, reserved), where the backend reports them.
    pub gpu_memory: Option<Box<dyn Fn() -> Option<(u64, u64)> + Send>>,
}

impl RunCallback for SystemMetricsCallback {
    fn on_step(&mut self, ctx: &mut RunContext, _agent: &dyn AgentView, t: u64) -> Control {
        if std::time::Instant::now() < self.next {
            return Control::Continue;
        }
        self.next = std::time::Instant::now() + self.every;
        let mut rows = self.sampler.sample();
        if let Some((in_use, reserved)) = self.gpu_memory.as_ref().and_then(|f| f()) {
            let mib = |b: u64| (b as f64 / 1048576.0 * 10.0).round() / 10.0;
            rows.extend([("system/gpu_mem_in_use_mib", mib(in_use)), ("system/gpu_mem_reserved_mib", mib(reserved))]);
        }
        if rows.is_empty() {
            return Control::Continue;
        }
        if let Err(e) = ctx.logger.log_metrics(t, &rows) {
            ctx.error = Some(super::callbacks::log_failed(e));
            return Control::Stop;
        }
        ctx.send(super::RunEvent::Metrics {
            timesteps: t,
            wall_secs: ctx.wall_secs(),
            metrics: rows.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
        });
        Control::Continue
    }
}

fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

/// Scalar tags the HPARAMS tab shows per run (TensorBoard takes their last value).
const HPARAM_METRICS: [&str; 3] = ["eval/mean_reward", "eval/best_mean_reward", "rollout/ep_rew_mean"];

/// The HParams session (the config's flattened keys; the experiment's columns
/// cover every algorithm's keys, since TensorBoard takes them from one run of
/// the directory) and the config and environment as text.
pub fn tensorboard_header(
    config: &crate::config::Config,
    environment: &crate::runs::sysinfo::EnvironmentInfo,
    step: u64,
) -> crate::runs::tfevents::EventHeader {
    use crate::config::{Config, overrides::flat_values};
    use crate::runs::tb_plugins::hparams_from_json;
    let hparams = hparams_from_json(&flat_values(config));
    let mut hparam_infos = hparams.clone();
    for algorithm in crate::config::algorithms::ALGORITHMS.iter().map(|a| (a.defaults)()) {
        for (key, value) in hparams_from_json(&flat_values(&Config { algorithm, ..Config::default() })) {
            if !hparam_infos.iter().any(|(k, _)| *k == key) {
                hparam_infos.push((key, value));
            }
        }
    }
    let yaml: String = config.to_yaml().lines().map(|l| format!("    {l}\n")).collect();
    let mut texts = vec![("config".into(), yaml), ("environment".into(), environment.markdown())];
    // The purpose and tags as their own TEXT entries too (the HParams session has them as columns).
    let e = &config.experiment;
    if !e.notes.is_empty() {
        texts.push(("notes".into(), e.notes.clone()));
    }
    if !e.tags.is_empty() {
        texts.push(("tags".into(), e.tags.iter().map(|t| format!("`{t}`")).collect::<Vec<_>>().join(" ")));
    }
    crate::runs::tfevents::EventHeader {
        step,
        hparam_infos,
        hparams,
        metric_tags: HPARAM_METRICS.to_vec(),
        group_name: String::new(),
        texts,
    }
}
