//! Environment details recorded with every run, for reproducibility.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EnvironmentInfo {
    pub crate_version: String,
    pub os: String,
    pub arch: String,
    pub cpu: String,
    pub cpu_cores: usize,
    pub device: String,
    pub seed: u64,
}

impl EnvironmentInfo {
    pub fn collect(device: &str, seed: u64) -> Self {
        Self {
            crate_version: env!("CARGO_PKG_VERSION").to_string(),
            os: os_name(),
            arch: std::env::consts::ARCH.to_string(),
            cpu: cpu_name(),
            cpu_cores: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
            device: device.to_string(),
            seed,
        }
    }
}

fn os_name() -> String {
    std::fs::read_to_string("/etc/os-release")
        .ok()
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("PRETTY_NAME=").map(|v| v.trim_matches('"').to_string()))
        })
        .unwrap_or_else(|| std::env::consts::OS.to_string())
}

fn cpu_name() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| t.lines().find_map(|l| l.strip_prefix("model name").map(|v| v.trim_start_matches([' ', '\t', ':']).to_string())))
        .unwrap_or_else(|| "unknown".into())
}

/// CPU seconds (user + system) of the process or thread whose `stat` file is
/// `stat_path` (`/proc/self/stat`, `/proc/thread-self/stat`); Linux only, in
/// clock ticks of 10 ms.
pub fn proc_cpu_secs(stat_path: &str) -> Option<f64> {
    let s = std::fs::read_to_string(stat_path).ok()?;
    // utime and stime are fields 14 and 15, i.e. 12th and 13th after the ")" ending the command name.
    let f: Vec<&str> = s.rsplit_once(')')?.1.split_whitespace().collect();
    Some((f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?) / 100.0)
}

/// Samples the process's CPU use and memory and the machine's memory, for the
/// `system/…` metrics (Linux `/proc`; elsewhere nothing is reported).
#[derive(Debug, Default)]
pub struct SystemSampler {
    last: Option<(std::time::Instant, f64)>,
}

impl SystemSampler {
    /// `system/cpu_percent` (100 = one core busy, since the last sample),
    /// `system/rss_mib`, `system/mem_used_mib`, `system/mem_total_mib`.
    pub fn sample(&mut self) -> Vec<(&'static str, f64)> {
        let mut out = Vec::new();
        let now = std::time::Instant::now();
        if let Some(cpu) = proc_cpu_secs("/proc/self/stat") {
            if let Some((t, c)) = self.last {
                out.push(("system/cpu_percent", (100.0 * (cpu - c) / now.duration_since(t).as_secs_f64().max(1e-3)).round()));
            }
            self.last = Some((now, cpu));
        }
        if let Some(pages) = std::fs::read_to_string("/proc/self/statm").ok().and_then(|s| s.split_whitespace().nth(1)?.parse::<f64>().ok()) {
            out.push(("system/rss_mib", (pages * 4096.0 / 1048576.0).round()));
        }
        if let Ok(text) = std::fs::read_to_string("/proc/meminfo") {
            let kib = |key: &str| text.lines().find_map(|l| l.strip_prefix(key)?.trim().trim_end_matches("kB").trim().parse::<f64>().ok());
            if let (Some(total), Some(avail)) = (kib("MemTotal:"), kib("MemAvailable:")) {
                out.push(("system/mem_used_mib", ((total - avail) / 1024.0).round()));
                out.push(("system/mem_total_mib", (total / 1024.0).round()));
            }
        }
        out
    }
}
